// SPDX-License-Identifier: GPL-2.0
/*
 * mtdchar on cdev_revoke: MTD devices deleted while userspace holds their
 * /dev/mtdN open and uses it.
 *
 * - physmap-flash on QEMU's pflash, unbound and rebound in a loop under
 *   pread, ioctl and io_uring load (the scenario that used to oops in
 *   mtdchar_read);
 * - mtdram partitions deleted with BLKPG while they are read, erased and
 *   held open, while ioctls on the partition wait for the master's lock;
 * - nandsim with erase delays: a long MEMERASE does not hold up the
 *   deletion of its partition;
 * - mtd-utils on the converted driver.
 *
 * Environment: TCR_KO=path of test_cdev_revoke.ko (nandsim.ko is found
 * relative to it, in the same build tree), TCR_CYCLES=unbind/bind cycles of
 * the test driver's stress test: physmap-flash does a tenth of them (default
 * 50).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <liburing.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/blkpg.h>
#include <mtd/mtd-user.h>

#include "../kselftest_harness.h"
#include "util.h"

#define PHYSMAP_DRV	"/sys/bus/platform/drivers/physmap-flash/"
#define PHYSMAP		"physmap-flash.0"
#define MTDRAM		"mtdram test device"
#define NANDSIM_PART	"NAND simulator partition 0"

/* Index of the MTD device called @name, or -1. */
static int mtd_find(const char *name)
{
	char path[300], buf[128];
	struct dirent *de;
	int idx = -1, fd;
	ssize_t n;
	DIR *d;

	d = opendir("/sys/class/mtd");
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		int i;
		char end;

		if (sscanf(de->d_name, "mtd%d%c", &i, &end) != 1)
			continue;	/* mtdNro, ., .. */
		snprintf(path, sizeof(path), "/sys/class/mtd/%s/name", de->d_name);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = 0;
		buf[strcspn(buf, "\n")] = 0;
		if (!strcmp(buf, name) && (idx < 0 || i < idx))
			idx = i;
	}
	closedir(d);
	return idx;
}

static bool mtd_exists(int idx)
{
	char path[64];

	snprintf(path, sizeof(path), "/sys/class/mtd/mtd%d", idx);
	return access(path, F_OK) == 0;
}

/* Wait up to @ms for MTD device @name and its node; its index or -1. */
static int mtd_wait(const char *name, int ms)
{
	char node[32];
	long end = now_ms() + ms;
	int idx;

	do {
		idx = mtd_find(name);
		if (idx >= 0) {
			snprintf(node, sizeof(node), "/dev/mtd%d", idx);
			if (access(node, F_OK) == 0)
				return idx;
		}
		usleep(1000);
	} while (now_ms() < end);
	return -1;
}

static int mtd_open(int idx, int flags)
{
	char node[32];

	snprintf(node, sizeof(node), "/dev/mtd%d", idx);
	return open(node, flags | O_CLOEXEC);
}

static int blkpg(int fd, int op, int pno, long long start, long long len,
		 const char *name)
{
	struct blkpg_partition p = {
		.start = start, .length = len, .pno = pno,
	};
	struct blkpg_ioctl_arg a = {
		.op = op, .datalen = sizeof(p), .data = &p,
	};

	if (name)
		snprintf(p.devname, sizeof(p.devname), "%s", name);
	return ioctl(fd, BLKPG, &a);
}

/*
 * A load thread: one kind of operation in a loop on one MTD device.  With
 * a name, the thread reopens the device whenever it was revoked; with an
 * fd, it stops at the first -ENODEV.
 */
enum load_kind { LOAD_PREAD, LOAD_IOCTL, LOAD_ERASE, LOAD_URING };

struct load {
	enum load_kind kind;
	const char *name;
	int fd;
	int pace_us;
	atomic_bool stop;
	atomic_long ok, enodev, refused, unexpected;
	int bad_errno;
	const char *bad_op;
	pthread_t thread;
};

static const char * const load_names[] = {
	[LOAD_PREAD] = "pread", [LOAD_IOCTL] = "ioctl",
	[LOAD_ERASE] = "erase", [LOAD_URING] = "io_uring",
};

static void load_bad(struct load *l, const char *op, int err)
{
	if (!atomic_fetch_add(&l->unexpected, 1)) {
		l->bad_op = op;
		l->bad_errno = err;
	}
}

/* One operation: 0, or a negative errno. */
static int load_op(struct load *l, struct io_uring *ring)
{
	struct erase_info_user ei = { .start = 0, .length = 65536 };
	struct mtd_info_user info;
	struct io_uring_cqe *cqe;
	char buf[8][512];
	int i, err = 0;

	switch (l->kind) {
	case LOAD_PREAD:
		return pread(l->fd, buf[0], sizeof(buf[0]),
			     (random() % 64) * 512) < 0 ? -errno : 0;
	case LOAD_IOCTL:
		return ioctl(l->fd, MEMGETINFO, &info) ? -errno : 0;
	case LOAD_ERASE:
		if (ioctl(l->fd, MEMGETINFO, &info))
			return -errno;
		return ioctl(l->fd, MEMERASE, &ei) ? -errno : 0;
	case LOAD_URING:
		for (i = 0; i < 8; i++) {
			struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

			io_uring_prep_read(sqe, l->fd, buf[i], sizeof(buf[i]),
					   i * 4096);
			/* half inline (or punted on -EAGAIN), half on io-wq */
			if (i & 1)
				sqe->flags |= IOSQE_ASYNC;
		}
		if (io_uring_submit(ring) != 8)
			return -EIO;
		for (i = 0; i < 8; i++) {
			if (io_uring_wait_cqe(ring, &cqe))
				return -EIO;
			/* report anything but ENODEV first */
			if (cqe->res < 0 && (!err || err == -ENODEV))
				err = cqe->res;
			io_uring_cqe_seen(ring, cqe);
		}
		return err;
	}
	return -EINVAL;
}

static void *load_thread(void *arg)
{
	struct load *l = arg;
	struct io_uring ring;
	bool reopen = l->name;
	int err;

	if (l->kind == LOAD_URING && io_uring_queue_init(16, &ring, 0)) {
		load_bad(l, "io_uring_queue_init", errno);
		return NULL;
	}
	while (!atomic_load(&l->stop)) {
		if (l->fd < 0) {
			int idx = mtd_find(l->name);

			l->fd = idx < 0 ? -1 : mtd_open(idx, O_RDWR);
			if (l->fd < 0) {
				/* between unbind and bind: no node, no cdev */
				if (idx >= 0 && errno != ENOENT &&
				    errno != ENXIO && errno != ENODEV)
					load_bad(l, "open", errno);
				atomic_fetch_add(&l->refused, 1);
				usleep(200);
				continue;
			}
		}
		err = -load_op(l, &ring);
		if (l->pace_us)
			usleep(l->pace_us);
		if (!err) {
			atomic_fetch_add(&l->ok, 1);
			continue;
		}
		if (err != ENODEV) {
			load_bad(l, load_names[l->kind], err);
			continue;
		}
		atomic_fetch_add(&l->enodev, 1);
		if (!reopen)
			break;
		close(l->fd);
		l->fd = -1;
	}
	if (l->kind == LOAD_URING)
		io_uring_queue_exit(&ring);
	return NULL;
}

static void load_start(struct load *l, enum load_kind kind, const char *name,
		       int fd, int pace_us)
{
	memset(l, 0, sizeof(*l));
	l->kind = kind;
	l->name = name;
	l->fd = fd;
	l->pace_us = pace_us;
	pthread_create(&l->thread, NULL, load_thread, l);
}

/* Wait until every thread of @load has done an operation. */
static bool load_running(struct load *load, int n)
{
	long end = now_ms() + 5000;
	int i;

	for (i = 0; i < n; i++)
		while (!atomic_load(&load[i].ok)) {
			if (now_ms() > end)
				return false;
			usleep(1000);
		}
	return true;
}

static void load_stop(struct load *l)
{
	atomic_store(&l->stop, true);
	pthread_join(l->thread, NULL);
	if (l->name && l->fd >= 0)
		close(l->fd);
}

FIXTURE(mtd) {
	int unused;
};

FIXTURE_SETUP(mtd)
{
}

FIXTURE_TEARDOWN(mtd)
{
}

/*
 * The seed scenario: physmap-flash unbound and rebound while threads read,
 * ioctl and io_uring-read /dev/mtdN and reopen it after each rebind.  Every
 * operation succeeds or fails with ENODEV; a file kept open from before the
 * first unbind never reaches a later binding of the same /dev/mtdN.
 */
TEST_F_TIMEOUT(mtd, physmap_unbind_under_load, 900)
{
	const char *env = getenv("TCR_CYCLES");
	/* a physmap rebind probes the chip: ten times slower than the test driver's */
	int cycles = env ? atoi(env) / 10 : 50;
	long ok = 0, enodev = 0, refused = 0, t0;
	struct load load[4];
	int i, idx, stale;
	char buf[16];

	if (access(PHYSMAP_DRV PHYSMAP, F_OK))
		SKIP(return, "%s is not bound to physmap-flash", PHYSMAP);
	idx = mtd_wait(PHYSMAP, 1000);
	ASSERT_LE(0, idx);
	t0 = now_ms();
	ASSERT_EQ(0, write_str(PHYSMAP_DRV "unbind", PHYSMAP));
	TH_LOG("unbind without load: %ld ms", now_ms() - t0);
	t0 = now_ms();
	ASSERT_EQ(0, write_str(PHYSMAP_DRV "bind", PHYSMAP));
	TH_LOG("bind without load: %ld ms", now_ms() - t0);
	idx = mtd_wait(PHYSMAP, 1000);
	ASSERT_LE(0, idx);
	stale = mtd_open(idx, O_RDONLY);
	ASSERT_LE(0, stale);
	ASSERT_EQ((ssize_t)sizeof(buf), pread(stale, buf, sizeof(buf), 0));

	/*
	 * Paced: a pflash read is emulated MMIO, one byte at a time, under
	 * the chip's lock; unpaced readers starve the driver's probe.
	 */
	load_start(&load[0], LOAD_PREAD, PHYSMAP, -1, 200);
	load_start(&load[1], LOAD_PREAD, PHYSMAP, -1, 200);
	load_start(&load[2], LOAD_IOCTL, PHYSMAP, -1, 100);
	load_start(&load[3], LOAD_URING, PHYSMAP, -1, 1000);
	ASSERT_TRUE(load_running(load, 4));

	t0 = now_ms();
	for (i = 0; i < cycles; i++) {
		long t1 = now_ms(), t2, t3;

		ASSERT_EQ(0, write_str(PHYSMAP_DRV "unbind", PHYSMAP));
		t2 = now_ms();
		usleep(random() % 2000);
		ASSERT_EQ(0, write_str(PHYSMAP_DRV "bind", PHYSMAP));
		t3 = now_ms();
		ASSERT_LE(0, mtd_wait(PHYSMAP, 5000));
		if (now_ms() - t1 > 1000)
			TH_LOG("cycle %d: unbind %ld ms, bind %ld ms, node %ld ms",
			       i, t2 - t1, t3 - t2, now_ms() - t3);
		/* the stale file stays revoked, whatever is bound now */
		EXPECT_EQ(-1, pread(stale, buf, sizeof(buf), 0));
		EXPECT_EQ(ENODEV, errno);
		usleep(random() % 3000);
	}

	for (i = 0; i < 4; i++) {
		load_stop(&load[i]);
		EXPECT_EQ(0, load[i].unexpected) {
			TH_LOG("%s: %ld unexpected results, first: %s -> %s",
			       load_names[load[i].kind], load[i].unexpected,
			       load[i].bad_op, strerror(load[i].bad_errno));
		}
		ok += load[i].ok;
		enodev += load[i].enodev;
		refused += load[i].refused;
	}
	TH_LOG("physmap: %d cycles in %ld ms, %ld ops ok, %ld ENODEV, %ld opens refused",
	       cycles, now_ms() - t0, ok, enodev, refused);
	/* the load really ran into revoked files, and really worked */
	EXPECT_LT(0, enodev);
	EXPECT_LT(0, ok);
	close(stale);
}

/*
 * BLKPG deletion of an mtdram partition that is being read, erased and
 * queried (those ioctls take the master's chrdev_lock), with more files
 * held open: the deletion returns, every file sees ENODEV, and the device
 * is gone at once (every file was released, nobody holds it).
 */
TEST_F_TIMEOUT(mtd, partition_delete_while_used, 300)
{
	struct load load[4];
	int master, m, round;
	long t0, worst = 0;

	m = mtd_find(MTDRAM);
	if (m < 0)
		SKIP(return, "no %s", MTDRAM);
	master = mtd_open(m, O_RDWR);
	ASSERT_LE(0, master);

	for (round = 0; round < 20; round++) {
		int p, held, held_ro, i;
		char node[32], buf[16];
		struct mtd_info_user info;

		ASSERT_EQ(0, blkpg(master, BLKPG_ADD_PARTITION, 0, 0, 262144,
				   "tcr-part")) TH_LOG("add: %s", strerror(errno));
		p = mtd_wait("tcr-part", 1000);
		ASSERT_LE(0, p);
		held = mtd_open(p, O_RDWR);
		ASSERT_LE(0, held);
		snprintf(node, sizeof(node), "/dev/mtd%dro", p);
		held_ro = open(node, O_RDONLY);
		ASSERT_LE(0, held_ro);

		load_start(&load[0], LOAD_PREAD, NULL, mtd_open(p, O_RDWR), 0);
		load_start(&load[1], LOAD_IOCTL, NULL, mtd_open(p, O_RDWR), 0);
		load_start(&load[2], LOAD_ERASE, NULL, mtd_open(p, O_RDWR), 0);
		load_start(&load[3], LOAD_IOCTL, NULL, mtd_open(p, O_RDWR), 0);
		ASSERT_TRUE(load_running(load, 4));
		usleep(random() % 20000);

		t0 = now_ms();
		ASSERT_EQ(0, blkpg(master, BLKPG_DEL_PARTITION, p, 0, 0, NULL))
			TH_LOG("del: %s", strerror(errno));
		t0 = now_ms() - t0;
		if (t0 > worst)
			worst = t0;
		/* every file was released: nothing holds the partition */
		EXPECT_FALSE(mtd_exists(p));

		for (i = 0; i < 4; i++) {
			pthread_join(load[i].thread, NULL);
			EXPECT_EQ(0, load[i].unexpected) {
				TH_LOG("%s: %s -> %s", load_names[load[i].kind],
				       load[i].bad_op,
				       strerror(load[i].bad_errno));
			}
			EXPECT_EQ(1, load[i].enodev);
			EXPECT_LT(0, load[i].ok);
			close(load[i].fd);
		}

		EXPECT_EQ(-1, pread(held, buf, sizeof(buf), 0));
		EXPECT_EQ(ENODEV, errno);
		EXPECT_EQ(-1, write(held, buf, sizeof(buf)));
		EXPECT_EQ(ENODEV, errno);
		EXPECT_EQ(-1, ioctl(held, MEMGETINFO, &info));
		EXPECT_EQ(ENODEV, errno);
		EXPECT_EQ(-1, lseek(held, 0, SEEK_SET));
		EXPECT_EQ(ENODEV, errno);
		EXPECT_EQ(-1, read(held_ro, buf, sizeof(buf)));
		EXPECT_EQ(ENODEV, errno);
		EXPECT_EQ(0, close(held));
		EXPECT_EQ(0, close(held_ro));
		/* the master is untouched */
		ASSERT_EQ(0, ioctl(master, MEMGETINFO, &info));
		EXPECT_EQ(1048576U, info.size);
	}
	TH_LOG("20 partitions deleted under load, slowest deletion %ld ms", worst);
	close(master);
}

static int nandsim_load(void)
{
	const char *ko = getenv("TCR_KO");
	char path[512], dir[512];
	int fd, ret;

	if (!ko)
		return -ENOENT;
	snprintf(dir, sizeof(dir), "%s", ko);
	snprintf(path, sizeof(path), "%s/../drivers/mtd/nand/raw/nandsim.ko",
		 dirname(dir));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* 20 ms per erased block, no other delay */
	ret = syscall(SYS_finit_module, fd,
		      "do_delays=1 erase_delay=20 access_delay=0 programm_delay=0 output_cycle=0 input_cycle=0",
		      0);
	close(fd);
	return ret ? -errno : 0;
}

struct eraser {
	int fd;
	unsigned int len;
	int ret, err;
	long ms;
};

static void *erase_thread(void *arg)
{
	struct eraser *e = arg;
	struct erase_info_user ei = { .start = 0, .length = e->len };
	long t0 = now_ms();

	e->ret = ioctl(e->fd, MEMERASE, &ei);
	e->err = errno;
	e->ms = now_ms() - t0;
	return NULL;
}

/*
 * nandsim with 20 ms per erased block: a MEMERASE of 200 blocks (4 s) is
 * running when its partition is deleted.  The erase stops at the next
 * block with ENODEV and the deletion does not wait for the rest of it.
 */
TEST_F_TIMEOUT(mtd, erase_does_not_hold_up_removal, 120)
{
	char link[256] = "", path[64], *base;
	struct mtd_info_user info;
	struct eraser e = { 0 };
	int p, m, n, master, ret;
	pthread_t t;
	long t0, del_ms, block_ms, full_ms;

	ret = nandsim_load();
	if (ret == -ENOENT)
		SKIP(return, "nandsim.ko not found next to TCR_KO");
	ASSERT_EQ(0, ret) TH_LOG("nandsim: %s", strerror(-ret));
	p = mtd_wait(NANDSIM_PART, 5000);
	ASSERT_LE(0, p);
	snprintf(path, sizeof(path), "/sys/class/mtd/mtd%d/device", p);
	ASSERT_LT(0, readlink(path, link, sizeof(link) - 1));
	base = strrchr(link, '/');
	ASSERT_NE(NULL, base);
	n = sscanf(base, "/mtd%d", &m);
	ASSERT_EQ(1, n) TH_LOG("parent of mtd%d: %s", p, link);
	master = mtd_open(m, O_RDWR);
	ASSERT_LE(0, master);

	e.fd = mtd_open(p, O_RDWR);
	ASSERT_LE(0, e.fd);
	ASSERT_EQ(0, ioctl(e.fd, MEMGETINFO, &info));

	/*
	 * What a block costs here: nominally 20 ms, but mdelay() runs on the
	 * delay loop calibrated at boot, which host load can skew under TCG.
	 * The thresholds below are relative to it.
	 */
	e.len = 10 * info.erasesize;
	erase_thread(&e);
	TH_LOG("10 blocks of %u bytes erased in %ld ms", info.erasesize, e.ms);
	ASSERT_EQ(0, e.ret);
	block_ms = e.ms / 10;
	ASSERT_LE(5, block_ms) TH_LOG("nandsim's erase_delay has no effect");
	full_ms = 200 * block_ms;

	e.len = 200 * info.erasesize;
	ASSERT_LE(e.len, info.size);
	pthread_create(&t, NULL, erase_thread, &e);
	usleep(500000);
	t0 = now_ms();
	EXPECT_EQ(0, blkpg(master, BLKPG_DEL_PARTITION, p, 0, 0, NULL))
		TH_LOG("del: %s", strerror(errno));
	del_ms = now_ms() - t0;
	pthread_join(t, NULL);
	TH_LOG("erase stopped after %ld ms of %ld, deletion took %ld ms",
	       e.ms, full_ms, del_ms);
	EXPECT_EQ(-1, e.ret);
	EXPECT_EQ(ENODEV, e.err);
	/* deletion must not wait for the rest of the erase */
	EXPECT_GT(full_ms / 2, del_ms);
	EXPECT_GT(full_ms * 3 / 4, e.ms);
	EXPECT_FALSE(mtd_exists(p));

	close(e.fd);
	close(master);
	EXPECT_EQ(0, syscall(SYS_delete_module, "nandsim", O_NONBLOCK))
		TH_LOG("rmmod nandsim: %s", strerror(errno));
}

static int run(const char *cmd)
{
	int st = system(cmd);

	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* mtd-utils on the converted driver: info, erase, write/read, mtdpart. */
TEST_F_TIMEOUT(mtd, mtd_utils, 120)
{
	char cmd[512];
	int m, p;

	if (run("command -v mtdinfo flash_erase mtd_debug mtdpart >/dev/null"))
		SKIP(return, "mtd-utils not installed");
	m = mtd_find(MTDRAM);
	if (m < 0)
		SKIP(return, "no %s", MTDRAM);

	snprintf(cmd, sizeof(cmd), "mtdinfo /dev/mtd%d | grep -q '%s'", m, MTDRAM);
	EXPECT_EQ(0, run(cmd));
	snprintf(cmd, sizeof(cmd), "flash_erase -q /dev/mtd%d 0 4", m);
	EXPECT_EQ(0, run(cmd));
	ASSERT_EQ(0, run("head -c 8192 /dev/urandom >/tmp/mtdw"));
	snprintf(cmd, sizeof(cmd), "mtd_debug write /dev/mtd%d 4096 8192 /tmp/mtdw >/dev/null", m);
	EXPECT_EQ(0, run(cmd));
	snprintf(cmd, sizeof(cmd), "mtd_debug read /dev/mtd%d 4096 8192 /tmp/mtdr >/dev/null", m);
	EXPECT_EQ(0, run(cmd));
	EXPECT_EQ(0, run("cmp /tmp/mtdw /tmp/mtdr"));
	snprintf(cmd, sizeof(cmd), "mtdpart add /dev/mtd%d tcr-utils 524288 262144", m);
	ASSERT_EQ(0, run(cmd));
	p = mtd_wait("tcr-utils", 1000);
	ASSERT_LE(0, p);
	snprintf(cmd, sizeof(cmd), "mtdinfo /dev/mtd%d | grep -q 'Amount of eraseblocks: *4 '", p);
	EXPECT_EQ(0, run(cmd));
	snprintf(cmd, sizeof(cmd), "mtdpart del /dev/mtd%d %d", m, p);
	EXPECT_EQ(0, run(cmd));
	EXPECT_FALSE(mtd_exists(p));
}

TEST_HARNESS_MAIN
