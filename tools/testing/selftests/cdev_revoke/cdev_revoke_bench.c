// SPDX-License-Identifier: GPL-2.0
/*
 * cdev_revoke benchmark driver (make bench), run as root in the benchmark
 * VM with lib/test_cdev_revoke_bench.ko loaded.  Writes raw samples as
 * JSON; scripts/bench-report.py turns them into medians, ratios and plots.
 *
 *  ops:     pread of 1 byte, no-op ioctl, poll, and batched io_uring reads
 *           (inline with FMODE_NOWAIT, without it, and forced to io-wq with
 *           IOSQE_ASYNC), 1 and 2 threads pinned to the CPUs, on identical
 *           devices protected by each mechanism.  Interleaved: every
 *           repetition runs every mechanism once, raw included, so each
 *           ratio comes from measurements made side by side; and
 *           open(2) + close(2) of the node, raw and cdev_revoke only (the
 *           other mechanisms open and release as raw does).
 *  revoke:  one revocable device with F open files and B readers blocked
 *           in ->read; the module times cdev_revoke() and its phases.
 *  mass:    1000 revocable devices revoked one after another, and from a
 *           workqueue, with 0 or 1 open file each.
 *  memory:  /proc/slabinfo deltas over 1000 devices and 1000 open files,
 *           cdev_revoke minus raw.
 *  gpio:    (-G, alone) GPIO_V2_LINE_GET_VALUES_IOCTL on a line request of
 *           a gpio-sim chip and GPIO_V2_GET_LINEINFO_IOCTL on the chip,
 *           interleaved with the raw device's no-op ioctl as the floor of a
 *           system call; scripts/bench-gpio.sh runs it in boots that
 *           alternate a kernel with stock gpiolib and ours.
 *  stock:   (-S, alone) the ops of the raw device only, for boots that
 *           alternate the stock kernel and ours (a cdev that does not opt
 *           in must cost the same on both).
 *
 * Usage: cdev_revoke_bench [-o out.json] [-d ms] [-r reps] [-R revoke_reps]
 *        [-q] [-G] [-S]   (-q: a quick run, for testing the program)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/gpio.h>
#include <liburing.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#define DBG_DIR		"/sys/kernel/debug/cdev_revoke_bench"
#define NODE_DIR	"/tmp/cdev_revoke_bench"
#define BENCH_IOC_NOP	_IO('B', 0)
#define BLOCK_POS	1
#define URING_BATCH	32
#define MASS_DEVICES	1000
#define MEM_N		1000	/* devices */
#define MEM_FILES	10000	/* open files (-m) */

static const char *const mechs[] = {
	"raw", "cdev_revoke", "mutex", "rwsem", "refcount", "srcu", "percpu_ref",
	"indirect",
};

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define NMECH		((int)ARRAY_SIZE(mechs))

enum workload {
	W_PREAD, W_IOCTL, W_POLL, W_URING, W_URING_NONOWAIT, W_URING_ASYNC,
	NWORK,
	/* -G only: on gpiolib's files, not on the module's devices */
	W_GPIO_GET = NWORK, W_GPIO_INFO,
	/* open(2) + close(2) of the device node (raw and cdev_revoke) */
	W_OPEN,
	NWORK_ALL,
};

static const char *const wnames[NWORK_ALL] = {
	"pread1", "ioctl", "poll", "uring_read", "uring_read_no_nowait",
	"uring_read_async", "gpio_get_values", "gpio_lineinfo", "open_close",
};

static unsigned int major_nr, first_minor, pool_first;
static bool stock_only;		/* -S: the raw device alone */
static int nmech = NMECH;	/* the first nmech of mechs[]: 1 (raw) with -S */
static FILE *out;
static bool first_rec;
static int ncpus;

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "cdev_revoke_bench: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* Write a command to the module, return its answer in @res. */
static int module_cmd(char *res, size_t len, const char *fmt, ...)
{
	char cmd[64];
	va_list ap;
	ssize_t n;
	int fd, ret = 0;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	fd = open(DBG_DIR "/ctl", O_RDWR);
	if (fd < 0)
		die("open the control file: %s", strerror(errno));
	if (write(fd, cmd, strlen(cmd)) < 0)
		ret = -errno;
	if (!ret && res) {
		n = pread(fd, res, len - 1, 0);
		res[n > 0 ? n : 0] = '\0';
	}
	close(fd);
	if (ret)
		die("command '%s': %s", cmd, strerror(-ret));
	return ret;
}

static unsigned long long keyval(const char *s, const char *key)
{
	char k[64];
	const char *p;

	snprintf(k, sizeof(k), "%s=", key);
	p = strstr(s, k);
	if (!p)
		die("no %s in '%s'", key, s);
	return strtoull(p + strlen(k), NULL, 10);
}

static long read_long(const char *path)
{
	char buf[32] = "";
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		die("%s: %s", path, strerror(errno));
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? atol(buf) : -1;
}

static void node(char *path, size_t len, const char *name, unsigned int minor)
{
	snprintf(path, len, NODE_DIR "/%s", name);
	unlink(path);
	if (mknod(path, S_IFCHR | 0600, makedev(major_nr, minor)))
		die("mknod %s: %s", path, strerror(errno));
}

static void op_path(char *path, size_t len, int mech, int nowait)
{
	char name[32];

	snprintf(name, sizeof(name), "op-%d-%d", mech, nowait);
	snprintf(path, len, NODE_DIR "/%s", name);
	if (access(path, F_OK))
		node(path, len, name, first_minor + 2 * mech + nowait);
}

static int op_open(int mech, int nowait)
{
	char path[128];
	int fd;

	op_path(path, sizeof(path), mech, nowait);
	fd = open(path, O_RDWR);
	if (fd < 0)
		die("open %s: %s", path, strerror(errno));
	return fd;
}

static void pool_path(char *path, size_t len, unsigned int i)
{
	char name[32];

	snprintf(name, sizeof(name), "pool-%u", i);
	snprintf(path, len, NODE_DIR "/%s", name);
	if (access(path, F_OK))
		node(path, len, name, pool_first + i);
}

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu % ncpus, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		die("sched_setaffinity: %s", strerror(errno));
}

static int nfields;

/* JSON output: one object per sample, in arrays by section */
static void rec_begin(const char *section)
{
	static const char *cur;

	if (cur != section) {
		fprintf(out, "%s,\n \"%s\": [\n", cur ? "\n ]" : "", section);
		cur = section;
		first_rec = true;
	}
	fprintf(out, "%s  {", first_rec ? "" : ",\n");
	first_rec = false;
	nfields = 0;
}

static void rec_end(void)
{
	fprintf(out, "}");
	fflush(out);
}

static void jkey(const char *key)
{
	fprintf(out, "%s\"%s\": ", nfields++ ? ", " : "", key);
}

static void jint(const char *key, long long v)
{
	jkey(key);
	fprintf(out, "%lld", v);
}

static void jdbl(const char *key, double v)
{
	jkey(key);
	fprintf(out, "%.2f", v);
}

static void jstr(const char *key, const char *v)
{
	jkey(key);
	fprintf(out, "\"%s\"", v);
}

/* ---- file operations ---- */

struct worker {
	pthread_t tid;
	int cpu, fd;
	enum workload w;
	uint64_t dur_ns, ops, elapsed;
	long errors;
	pthread_barrier_t *bar;
	uint32_t *lat;			/* duration of each batch, ns */
	size_t nlat;
	char path[128];			/* the device node, for W_OPEN */
	double batch_ns;		/* median batch / operations per batch */
};

#define MAX_BATCHES	1048576

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static void *worker_fn(void *arg)
{
	struct worker *w = arg;
	struct io_uring ring;
	bool uring = w->w >= W_URING && w->w <= W_URING_ASYNC;
	char buf[URING_BATCH];
	uint64_t t0, t, tb;
	int i;

	pin(w->cpu);
	if (uring && io_uring_queue_init(2 * URING_BATCH, &ring, 0))
		die("io_uring_queue_init");
	pthread_barrier_wait(w->bar);
	t0 = now_ns();
	tb = t0;
	do {
		switch (w->w) {
		case W_PREAD:
			for (i = 0; i < 64; i++)
				w->errors += pread(w->fd, buf, 1, 0) != 1;
			w->ops += 64;
			break;
		case W_IOCTL:
			for (i = 0; i < 64; i++)
				w->errors += ioctl(w->fd, BENCH_IOC_NOP) != 0;
			w->ops += 64;
			break;
		case W_POLL:
			for (i = 0; i < 64; i++) {
				struct pollfd p = { .fd = w->fd, .events = POLLIN };

				w->errors += poll(&p, 1, 1000) != 1 ||
					     p.revents != POLLIN;
			}
			w->ops += 64;
			break;
		case W_GPIO_GET:
			for (i = 0; i < 64; i++) {
				struct gpio_v2_line_values v = { .mask = 0xff };

				w->errors += ioctl(w->fd, GPIO_V2_LINE_GET_VALUES_IOCTL,
						   &v) != 0;
			}
			w->ops += 64;
			break;
		case W_OPEN:
			for (i = 0; i < 64; i++) {
				int fd = open(w->path, O_RDWR);

				w->errors += fd < 0 || close(fd);
			}
			w->ops += 64;
			break;
		case W_GPIO_INFO:
			for (i = 0; i < 64; i++) {
				struct gpio_v2_line_info li = { .offset = i % 8 };

				w->errors += ioctl(w->fd, GPIO_V2_GET_LINEINFO_IOCTL,
						   &li) != 0;
			}
			w->ops += 64;
			break;
		default: {
			struct io_uring_cqe *cqe;

			for (i = 0; i < URING_BATCH; i++) {
				struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

				io_uring_prep_read(sqe, w->fd, buf + i, 1, 0);
				if (w->w == W_URING_ASYNC)
					sqe->flags |= IOSQE_ASYNC;
			}
			if (io_uring_submit_and_wait(&ring, URING_BATCH) != URING_BATCH)
				die("io_uring_submit_and_wait");
			for (i = 0; i < URING_BATCH; i++) {
				if (io_uring_wait_cqe(&ring, &cqe))
					die("io_uring_wait_cqe");
				w->errors += cqe->res != 1;
				io_uring_cqe_seen(&ring, cqe);
			}
			w->ops += URING_BATCH;
		}
		}
		t = now_ns();
		if (w->nlat < MAX_BATCHES)
			w->lat[w->nlat++] = t - tb > UINT32_MAX ? UINT32_MAX : t - tb;
		tb = t;
	} while (t - t0 < w->dur_ns);
	w->elapsed = t - t0;
	/*
	 * The median batch: a batch during which the host descheduled the
	 * vCPU is an outlier, whereas the mean (elapsed / ops) includes it.
	 */
	qsort(w->lat, w->nlat, sizeof(*w->lat), cmp_u32);
	w->batch_ns = (double)w->lat[w->nlat / 2] /
		      (uring ? URING_BATCH : 64);
	if (uring)
		io_uring_queue_exit(&ring);
	return NULL;
}

/*
 * ns per operation and thread, averaged over the threads: the median batch
 * (returned), and the mean over the whole sample (*mean).
 */
static double run_ops(int mech, enum workload wl, int threads, uint64_t dur_ns,
		      double *mean)
{
	struct worker w[2];
	pthread_barrier_t bar;
	int nowait = wl == W_URING_NONOWAIT ? 0 : 1;
	double ns = 0, ns_mean = 0;
	long errors = 0;
	int t;

	pthread_barrier_init(&bar, NULL, threads);
	for (t = 0; t < threads; t++) {
		memset(&w[t], 0, sizeof(w[t]));
		w[t].cpu = t;
		w[t].fd = op_open(mech, nowait);
		op_path(w[t].path, sizeof(w[t].path), mech, nowait);
		w[t].w = wl;
		w[t].dur_ns = dur_ns;
		w[t].bar = &bar;
		w[t].lat = malloc(MAX_BATCHES * sizeof(*w[t].lat));
		if (!w[t].lat)
			die("out of memory");
		if (pthread_create(&w[t].tid, NULL, worker_fn, &w[t]))
			die("pthread_create");
	}
	for (t = 0; t < threads; t++) {
		pthread_join(w[t].tid, NULL);
		close(w[t].fd);
		ns_mean += (double)w[t].elapsed / w[t].ops / threads;
		ns += w[t].batch_ns / threads;
		errors += w[t].errors;
		free(w[t].lat);
	}
	pthread_barrier_destroy(&bar);
	if (errors)
		die("%s %s: %ld operations failed", mechs[mech], wnames[wl], errors);
	if (mean)
		*mean = ns_mean;
	return ns;
}

static void bench_ops(int reps, uint64_t dur_ns)
{
	int wl, threads, rep, i, m, nm;
	double ns, mean;

	for (wl = 0; wl < NWORK_ALL; wl++) {
		/* the gpiolib workloads are -G's */
		if (wl >= NWORK && wl != W_OPEN)
			continue;
		/*
		 * The other mechanisms open and release as raw does: open +
		 * close compares raw and cdev_revoke only.
		 */
		nm = wl == W_OPEN && nmech > 2 ? 2 : nmech;
		for (threads = 1; threads <= 2; threads++) {
			/* warm-up: every mechanism once, not recorded */
			for (m = 0; m < nm; m++)
				run_ops(m, wl, threads, dur_ns / 4, NULL);
			for (rep = 0; rep < reps; rep++) {
				/* A B C ... A B C ..., starting point rotated */
				for (i = 0; i < nm; i++) {
					m = (i + rep) % nm;
					ns = run_ops(m, wl, threads, dur_ns, &mean);
					rec_begin("ops");
					jstr("mechanism", mechs[m]);
					jstr("workload", wnames[wl]);
					jint("threads", threads);
					jint("rep", rep);
					jdbl("ns_per_op", ns);
					jdbl("ns_per_op_mean", mean);
					rec_end();
				}
			}
			fprintf(stderr, "ops: %s, %d thread(s) done\n", wnames[wl], threads);
		}
	}
}

/* ---- revocation ---- */

struct reader {
	pthread_t tid;
	int fd, err;
};

static void *reader_fn(void *arg)
{
	struct reader *r = arg;
	char c;

	r->err = pread(r->fd, &c, 1, BLOCK_POS) < 0 ? errno : 0;
	return NULL;
}

static void wait_sleepers(long n)
{
	uint64_t t0 = now_ns();

	while (read_long(DBG_DIR "/sleepers") < n) {
		if (now_ns() - t0 > 60000000000ull)
			die("readers did not block");
		usleep(1000);
	}
	/* let the last ones reach their wait queue */
	usleep(20000);
}

static void bench_revoke_one(int files, int readers, int rep)
{
	static const char *const phases[] = {
		"total_ns", "grace_ns", "kick_ns", "drain_ns", "release_ns",
		"tail_ns",
	};
	struct reader *r = calloc(readers ? readers : 1, sizeof(*r));
	int *fds = calloc(files, sizeof(int));
	pthread_attr_t attr;
	char path[128], res[512], c;
	int i, enodev = 0;

	if (!r || !fds)
		die("out of memory");
	module_cmd(NULL, 0, "pool 1 cdev_revoke");
	pool_path(path, sizeof(path), 0);
	for (i = 0; i < files; i++) {
		fds[i] = open(path, O_RDWR);
		if (fds[i] < 0)
			die("open %s (file %d): %s", path, i, strerror(errno));
	}
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	for (i = 0; i < readers; i++) {
		r[i].fd = fds[i % files];
		if (pthread_create(&r[i].tid, &attr, reader_fn, &r[i]))
			die("pthread_create");
	}
	wait_sleepers(readers);
	module_cmd(res, sizeof(res), "revoke 0");
	for (i = 0; i < readers; i++) {
		pthread_join(r[i].tid, NULL);
		enodev += r[i].err == ENODEV;
	}
	if (enodev != readers)
		die("%d of %d blocked readers got ENODEV", enodev, readers);
	if (pread(fds[0], &c, 1, 0) != -1 || errno != ENODEV)
		die("read after revoke did not fail with ENODEV");
	if (keyval(res, "releases") != (unsigned long long)files)
		die("%llu releases for %d files", keyval(res, "releases"), files);
	for (i = 0; i < files; i++)
		close(fds[i]);
	module_cmd(NULL, 0, "poolfree");
	rec_begin("revoke");
	jint("open_files", files);
	jint("blocked_readers", readers);
	jint("rep", rep);
	for (i = 0; i < 6; i++)
		jint(phases[i], keyval(res, phases[i]));
	rec_end();
	pthread_attr_destroy(&attr);
	free(r);
	free(fds);
}

/* -b: a thread spinning in userspace on the last CPU during revocations. */
static bool spin_stop;

static void *spinner_fn(void *arg)
{
	pin(ncpus - 1);
	while (!__atomic_load_n(&spin_stop, __ATOMIC_RELAXED))
		;
	return NULL;
}

static void bench_revoke(int reps, bool quick, bool busy)
{
	static const int files[] = { 1, 100, 1000, 10000 };
	static const int readers[] = { 0, 10, 100 };
	unsigned int f, b;
	pthread_t spinner;
	int rep;

	if (busy && pthread_create(&spinner, NULL, spinner_fn, NULL))
		die("pthread_create");

	for (rep = 0; rep < reps; rep++)
		for (f = 0; f < 4; f++)
			for (b = 0; b < 3; b++) {
				if (quick && (files[f] > 100 || readers[b] > 10))
					continue;
				bench_revoke_one(files[f], readers[b], rep);
			}
	if (busy) {
		__atomic_store_n(&spin_stop, true, __ATOMIC_RELAXED);
		pthread_join(spinner, NULL);
	}
	fprintf(stderr, "revoke: done\n");
}

static void bench_mass(int reps, int ndev)
{
	int *fds = calloc(ndev, sizeof(int));
	char path[128], res[256];
	int rep, conc, withfile, i;

	for (rep = 0; rep < reps; rep++)
		for (conc = 0; conc < 2; conc++)
			for (withfile = 0; withfile < 2; withfile++) {
				module_cmd(NULL, 0, "pool %d cdev_revoke", ndev);
				for (i = 0; withfile && i < ndev; i++) {
					pool_path(path, sizeof(path), i);
					fds[i] = open(path, O_RDWR);
					if (fds[i] < 0)
						die("open %s: %s", path, strerror(errno));
				}
				module_cmd(res, sizeof(res),
					   conc ? "massrevoke_conc" : "massrevoke");
				for (i = 0; withfile && i < ndev; i++)
					close(fds[i]);
				module_cmd(NULL, 0, "poolfree");
				rec_begin("mass_revoke");
				jint("devices", ndev);
				jint("concurrent", conc);
				jint("open_files_per_device", withfile);
				jint("rep", rep);
				jint("total_ns", keyval(res, "total_ns"));
				rec_end();
			}
	free(fds);
	fprintf(stderr, "mass revoke: done\n");
}

/* ---- memory ---- */

/* bytes in use in all slab caches, as /proc/slabinfo counts them */
static long long slab_bytes(void)
{
	FILE *f = fopen("/proc/slabinfo", "r");
	char line[512], name[64];
	long long total = 0, active, num, size;

	if (!f)
		die("/proc/slabinfo: %s", strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#' || !strncmp(line, "slabinfo", 8))
			continue;
		if (sscanf(line, "%63s %lld %lld %lld", name, &active, &num, &size) == 4)
			total += active * size;
	}
	fclose(f);
	return total;
}

static void mem_rec(const char *what, int rep, int n, long long raw, long long rv)
{
	rec_begin("memory");
	jstr("what", what);
	jint("rep", rep);
	jint("n", n);
	jint("raw_bytes", raw);
	jint("cdev_revoke_bytes", rv);
}

static void settle(void)
{
	/* let RCU-deferred frees (kfree_rcu, file closes) happen */
	usleep(200000);
}

static void bench_memory(int reps, int nfiles)
{
	int *fds = calloc(nfiles, sizeof(int));
	long long s0, s1, s2, s3, cdev_raw, cdev_rv;
	long long file_raw = 0, file_rv = 0;
	long long poll_raw = 0, poll_rv = 0;
	char res[256];
	int rep, i, mech;

	pin(0);
	for (rep = 0; rep < reps; rep++) {
		settle();
		s0 = slab_bytes();
		module_cmd(res, sizeof(res), "pool %d raw", MEM_N);
		s1 = slab_bytes();
		module_cmd(NULL, 0, "poolfree");
		settle();
		s2 = slab_bytes();
		module_cmd(res, sizeof(res), "pool %d cdev_revoke", MEM_N);
		s3 = slab_bytes();
		module_cmd(NULL, 0, "poolfree");
		cdev_raw = s1 - s0;
		cdev_rv = s3 - s2;
		mem_rec("cdev", rep, MEM_N, cdev_raw, cdev_rv);
		jint("core_ksize_total", keyval(res, "core_ksize_total"));
		rec_end();

		for (mech = 0; mech < 2; mech++) {
			settle();
			s0 = slab_bytes();
			for (i = 0; i < nfiles; i++)
				fds[i] = op_open(mech, 0);
			s1 = slab_bytes();
			for (i = 0; i < nfiles; i++) {
				struct pollfd p = { .fd = fds[i], .events = POLLIN };

				if (poll(&p, 1, 1000) != 1)
					die("poll");
			}
			s2 = slab_bytes();
			for (i = 0; i < nfiles; i++)
				close(fds[i]);
			if (mech) {
				file_rv = s1 - s0;
				poll_rv = s2 - s1;
			} else {
				file_raw = s1 - s0;
				poll_raw = s2 - s1;
			}
		}
		mem_rec("open_file", rep, nfiles, file_raw, file_rv);
		rec_end();
		mem_rec("polled_file", rep, nfiles, poll_raw, poll_rv);
		rec_end();
	}
	free(fds);
	fprintf(stderr, "memory: done\n");
}

/* CPUs the percpu allocator provides for ("0-1", "0", "0-3,5") */
/* ---- gpiolib (-G) ---- */

#define GPIO_CFS	"/sys/kernel/config"
#define GPIO_SIM	GPIO_CFS "/gpio-sim/cdev_revoke_bench"
#define GPIO_LINES	8

static void write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);

	if (fd < 0 || write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		die("%s: %s", path, strerror(errno));
	close(fd);
}

/*
 * A gpio-sim chip of 8 lines (configfs) and a v2 request of all of them as
 * inputs: the chip's fd in *@chip, the request's returned.
 */
static int gpio_setup(int *chip)
{
	struct gpio_v2_line_request req;
	char name[64] = "", path[96];
	unsigned int i;
	ssize_t n;
	int fd;

	if (access(GPIO_CFS "/gpio-sim", F_OK) &&
	    mount("none", GPIO_CFS, "configfs", 0, NULL))
		die("mount configfs: %s", strerror(errno));
	if ((mkdir(GPIO_SIM, 0755) && errno != EEXIST) ||
	    (mkdir(GPIO_SIM "/bank0", 0755) && errno != EEXIST))
		die("mkdir " GPIO_SIM ": %s", strerror(errno));
	write_file(GPIO_SIM "/bank0/num_lines", "8");
	write_file(GPIO_SIM "/live", "1");
	fd = open(GPIO_SIM "/bank0/chip_name", O_RDONLY);
	n = fd < 0 ? -1 : read(fd, name, sizeof(name) - 1);
	if (n <= 0)
		die("gpio-sim chip_name: %s", strerror(errno));
	close(fd);
	name[strcspn(name, "\n")] = '\0';
	snprintf(path, sizeof(path), "/dev/%s", name);
	for (i = 0; i < 500 && access(path, F_OK); i++)
		usleep(10000);
	*chip = open(path, O_RDWR);
	if (*chip < 0)
		die("open %s: %s", path, strerror(errno));
	memset(&req, 0, sizeof(req));
	for (i = 0; i < GPIO_LINES; i++)
		req.offsets[i] = i;
	req.num_lines = GPIO_LINES;
	req.config.flags = GPIO_V2_LINE_FLAG_INPUT;
	snprintf(req.consumer, sizeof(req.consumer), "cdev_revoke_bench");
	if (ioctl(*chip, GPIO_V2_GET_LINE_IOCTL, &req))
		die("GPIO_V2_GET_LINE_IOCTL: %s", strerror(errno));
	return req.fd;
}

/* ns per operation of @wl on @fd in this thread: the median batch. */
static double run_fd(int fd, enum workload wl, uint64_t dur_ns)
{
	pthread_barrier_t bar;
	struct worker w;

	memset(&w, 0, sizeof(w));
	pthread_barrier_init(&bar, NULL, 1);
	w.fd = fd;
	w.w = wl;
	w.dur_ns = dur_ns;
	w.bar = &bar;
	w.lat = malloc(MAX_BATCHES * sizeof(*w.lat));
	if (!w.lat)
		die("out of memory");
	worker_fn(&w);
	free(w.lat);
	pthread_barrier_destroy(&bar);
	if (w.errors)
		die("%s: %ld operations failed", wnames[wl], w.errors);
	return w.batch_ns;
}

/*
 * Interleaved repetitions of GET_VALUES on the request, LINEINFO on the
 * chip and the raw device's no-op ioctl, the order rotated every time.
 */
static void bench_gpio(int reps, uint64_t dur_ns)
{
	static const enum workload wl[] = { W_GPIO_GET, W_GPIO_INFO, W_IOCTL };
	int chip, req = gpio_setup(&chip), raw = op_open(0, 1);
	int fds[] = { req, chip, raw };
	int rep, i, k;

	for (i = 0; i < 3; i++)
		run_fd(fds[i], wl[i], dur_ns / 4);
	for (rep = 0; rep < reps; rep++) {
		for (i = 0; i < 3; i++) {
			k = (i + rep) % 3;
			rec_begin("gpio");
			jstr("workload", k == 2 ? "raw_ioctl" : wnames[wl[k]]);
			jint("rep", rep);
			jdbl("ns_per_op", run_fd(fds[k], wl[k], dur_ns));
			rec_end();
		}
	}
	close(raw);
	close(req);
	close(chip);
	write_file(GPIO_SIM "/live", "0");
	rmdir(GPIO_SIM "/bank0");
	rmdir(GPIO_SIM);
	fprintf(stderr, "gpio: done\n");
}

static int possible_cpus(void)
{
	FILE *f = fopen("/sys/devices/system/cpu/possible", "r");
	int a, b, n = 0;
	char sep;

	if (!f)
		return -1;
	while (fscanf(f, "%d", &a) == 1) {
		b = a;
		if (fscanf(f, "%c", &sep) == 1 && sep == '-' &&
		    fscanf(f, "%d", &b) == 1)
			fscanf(f, "%c", &sep);
		n += b - a + 1;
	}
	fclose(f);
	return n;
}

int main(int argc, char **argv)
{
	struct rlimit rl = { 16384, 16384 };
	int reps = 9, rreps = 5, mem_files = MEM_FILES, opt;
	uint64_t dur_ns = 250000000;
	const char *path = NULL;
	struct utsname u;
	bool quick = false, busy = false, revoke_only = false, mem_only = false;
	bool gpio_only = false;
	char res[256];

	while ((opt = getopt(argc, argv, "o:d:r:R:qbxm:MGS")) != -1) {
		switch (opt) {
		case 'o':
			path = optarg;
			break;
		case 'd':
			dur_ns = strtoull(optarg, NULL, 10) * 1000000;
			break;
		case 'r':
			reps = atoi(optarg);
			break;
		case 'R':
			rreps = atoi(optarg);
			break;
		case 'q':
			quick = true;
			break;
		case 'b':
			busy = true;
			break;
		case 'x':
			revoke_only = true;
			break;
		case 'm':
			mem_files = atoi(optarg);
			break;
		case 'M':
			mem_only = true;
			break;
		case 'G':
			gpio_only = true;
			break;
		case 'S':
			stock_only = true;
			nmech = 1;
			break;
		default:
			die("usage: %s [-o out.json] [-d ms] [-r reps] [-R rreps] [-q] [opts]\n"
			    "  -b: keep the last CPU busy in userspace during the revocations\n"
			    "  -x: only the revocations of one device\n"
			    "  -m: open files of the memory measurement (default %d)\n"
			    "  -M: only the memory measurement\n"
			    "  -G: only gpiolib's ioctls (a gpio-sim chip)\n"
			    "  -S: only the raw device's ops (stock kernel vs ours)",
			    argv[0], MEM_FILES);
		}
	}
	if (quick) {
		reps = 2;
		rreps = 1;
		dur_ns = 20000000;
	}
	out = path ? fopen(path, "w") : stdout;
	if (!out)
		die("%s: %s", path, strerror(errno));
	if (mem_files + 1024 > (int)rl.rlim_cur) {
		rl.rlim_cur = mem_files + 1024;
		rl.rlim_max = rl.rlim_cur;
	}
	if (setrlimit(RLIMIT_NOFILE, &rl))
		die("setrlimit: %s", strerror(errno));
	ncpus = sysconf(_SC_NPROCESSORS_ONLN);
	mkdir(NODE_DIR, 0700);
	module_cmd(res, sizeof(res), "info");
	if (!strstr(res, "mechs=raw,cdev_revoke,mutex,rwsem,refcount,srcu,percpu_ref,indirect\n"))
		die("the module's mechanisms differ: %s", res);
	major_nr = keyval(res, "major");
	first_minor = keyval(res, "first_minor");
	pool_first = keyval(res, "pool_first");
	uname(&u);

	fprintf(out, "{");
	jstr("kernel", u.release);
	jint("cpus", ncpus);
	jint("possible_cpus", possible_cpus());
	jint("duration_ms", dur_ns / 1000000);
	jint("reps", reps);
	jint("revoke_reps", rreps);
	jint("uring_batch", URING_BATCH);
	jint("busy_cpu", busy);
	jint("stock_only", stock_only);
	if (gpio_only) {
		bench_gpio(reps, dur_ns);
	} else if (stock_only) {
		bench_ops(reps, dur_ns);
	} else {
		if (!revoke_only && !mem_only)
			bench_ops(reps, dur_ns);
		if (!mem_only)
			bench_revoke(rreps, quick, busy);
		if (!revoke_only && !mem_only)
			bench_mass(quick ? 1 : 3, quick ? 100 : MASS_DEVICES);
		if (!revoke_only)
			bench_memory(quick ? 1 : 5, mem_files);
	}
	fprintf(out, "\n ]\n}\n");
	if (path)
		fclose(out);
	return 0;
}
