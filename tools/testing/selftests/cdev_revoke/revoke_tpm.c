// SPDX-License-Identifier: GPL-2.0
/*
 * TPM on cdev_revoke: /dev/tpmN and /dev/tpmrmN held open and used while
 * their chip is unregistered.
 *
 * The chip is a vTPM: swtpm (Debian package swtpm) behind the vTPM proxy
 * (/dev/vtpmx).  Killing swtpm closes the proxy's server file, which
 * unregisters the chip.  Held files must then fail every operation with
 * EPIPE, pollers must be woken with EPOLLERR | EPOLLHUP, and commands in
 * flight must end instead of waiting for a TPM timeout.
 *
 * A real TPM driver as well: QEMU's tpm-crb, backed by swtpm on the host,
 * unbound from tpm_crb while its nodes are open and busy, then bound again.
 *
 * The vTPM tests are skipped without /dev/vtpmx or swtpm, the tpm_crb test
 * without a bound MSFT0101:00.  tpm2_getrandom (tpm2-tools) is used when
 * installed.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "util.h"

/* TPM2_GetRandom(8), no sessions */
static const unsigned char getrandom_cmd[] = {
	0x80, 0x01, 0x00, 0x00, 0x00, 0x0c,	/* tag, size */
	0x00, 0x00, 0x01, 0x7b,			/* TPM2_CC_GetRandom */
	0x00, 0x08,				/* bytesRequested */
};

#define GETRANDOM_RSP_LEN	20	/* header 10 + TPM2B size 2 + 8 bytes */

#define ERRHUP	(POLLERR | POLLHUP)

static bool in_path(const char *prog)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", prog);
	return system(cmd) == 0;
}

/* Check a TPM2_GetRandom(8) response: 0, or a description of what is wrong */
static const char *check_getrandom_rsp(const unsigned char *r, ssize_t n)
{
	if (n != GETRANDOM_RSP_LEN)
		return "wrong response length";
	if (r[0] != 0x80 || r[1] != 0x01)
		return "wrong tag";
	if (r[2] || r[3] || r[4] || r[5] != GETRANDOM_RSP_LEN)
		return "wrong size field";
	if (r[6] || r[7] || r[8] || r[9])
		return "TPM error code";
	if (r[10] || r[11] != 8)
		return "wrong TPM2B size";
	return NULL;
}

/* One raw TPM2_GetRandom(8): 0 or -errno (-EPROTO: bad response) */
static int tpm_getrandom(int fd)
{
	unsigned char rsp[64];
	ssize_t n;

	n = write(fd, getrandom_cmd, sizeof(getrandom_cmd));
	if (n < 0)
		return -errno;
	if (n != sizeof(getrandom_cmd))
		return -EPROTO;
	n = read(fd, rsp, sizeof(rsp));
	if (n < 0)
		return -errno;
	return check_getrandom_rsp(rsp, n) ? -EPROTO : 0;
}

/* Set of tpmN numbers present in /sys/class/tpm, as a bitmap */
static unsigned long tpm_chips(void)
{
	unsigned long set = 0;
	struct dirent *de;
	DIR *d;
	int n;

	d = opendir("/sys/class/tpm");
	if (!d)
		return 0;
	while ((de = readdir(d)))
		if (sscanf(de->d_name, "tpm%d", &n) == 1 && n >= 0 && n < 64)
			set |= 1UL << n;
	closedir(d);
	return set;
}

struct vtpm {
	pid_t pid;
	int num;
	char dir[64];
	char tpm[32];
	char tpmrm[32];
};

/*
 * Start swtpm behind the vTPM proxy and wait for its chip: 0, or -errno.
 * The new chip is the tpmN that appears in /sys/class/tpm.
 */
static int vtpm_start_once(struct vtpm *v)
{
	unsigned long before = tpm_chips(), after;
	char state[96];
	long end;

	v->num = -1;
	snprintf(v->dir, sizeof(v->dir), "/tmp/revoke_tpm.XXXXXX");
	if (!mkdtemp(v->dir))
		return -errno;
	snprintf(state, sizeof(state), "dir=%s", v->dir);
	v->pid = fork();
	if (v->pid < 0)
		return -errno;
	if (!v->pid) {
		char log[96];
		int fd;

		snprintf(log, sizeof(log), "%s/swtpm.log", v->dir);
		fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execlp("swtpm", "swtpm", "chardev", "--vtpm-proxy", "--tpm2",
		       "--tpmstate", state, "--flags", "startup-clear",
		       "--seccomp", "action=none", NULL);
		_exit(127);
	}
	/*
	 * swtpm is the host's program over 9p, under TCG: with the host
	 * loaded, its start and the commands the kernel sends a new chip
	 * took more than 20 s (three times on 2026-12-02, load 5-10).
	 */
	end = now_ms() + 60000;
	do {
		after = tpm_chips() & ~before;
		if (after) {
			v->num = __builtin_ctzl(after);
			snprintf(v->tpm, sizeof(v->tpm), "/dev/tpm%d", v->num);
			snprintf(v->tpmrm, sizeof(v->tpmrm), "/dev/tpmrm%d", v->num);
			if (!access(v->tpm, F_OK) && !access(v->tpmrm, F_OK))
				return 0;
		}
		if (waitpid(v->pid, NULL, WNOHANG) == v->pid) {
			v->pid = 0;
			return -ECHILD;
		}
		usleep(20000);
	} while (now_ms() < end);
	return -ETIMEDOUT;
}

/*
 * The kernel gives the commands it sends a new chip fixed durations; a
 * loaded TCG host can make swtpm miss them ("tpm tpmN: Operation Timed
 * out"), and then the chip is not registered and swtpm exits.  That is
 * the host's speed, not what the tests look at: try again, twice.
 */
static int vtpm_start(struct vtpm *v)
{
	int ret, i;

	for (i = 0; i < 3; i++) {
		ret = vtpm_start_once(v);
		if (ret != -ECHILD)
			break;
		ksft_print_msg("swtpm exited before its chip was there (try %d)\n",
			       i + 1);
	}
	return ret;
}

/*
 * Kill swtpm and reap it; the chip is unregistered by the release of the
 * proxy's server file, which the exiting process runs.  Return how long it
 * took (ms), -1 on error.
 */
static long vtpm_kill(struct vtpm *v)
{
	long t0 = now_ms();

	if (v->pid <= 0)
		return -1;
	kill(v->pid, SIGKILL);
	if (waitpid(v->pid, NULL, 0) != v->pid)
		return -1;
	v->pid = 0;
	return now_ms() - t0;
}

static void vtpm_cleanup(struct vtpm *v)
{
	char cmd[128];

	if (v->pid > 0)
		vtpm_kill(v);
	if (v->dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", v->dir);
		if (system(cmd))
			fprintf(stderr, "# could not remove %s\n", v->dir);
	}
}

static bool chip_gone(int num)
{
	char path[64];

	snprintf(path, sizeof(path), "/sys/class/tpm/tpm%d", num);
	return access(path, F_OK) != 0;
}

/* One io_uring read or write on @fd: the cqe result */
static int uring_rw(struct io_uring *ring, int fd, bool wr, void *buf,
		    size_t len, unsigned int sqe_flags)
{
	struct io_uring_cqe *cqe;
	struct io_uring_sqe *sqe;
	int res;

	sqe = io_uring_get_sqe(ring);
	if (!sqe)
		return -ENOSPC;
	if (wr)
		io_uring_prep_write(sqe, fd, buf, len, 0);
	else
		io_uring_prep_read(sqe, fd, buf, len, 0);
	sqe->flags |= sqe_flags;
	if (io_uring_submit(ring) != 1)
		return -EAGAIN;
	res = io_uring_wait_cqe(ring, &cqe);
	if (res)
		return res;
	res = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	return res;
}

/* Every operation of a revoked TPM file: EPIPE (ERR|HUP for poll) */
static void check_revoked(struct __test_metadata *_metadata, int fd,
			  const char *what)
{
	unsigned char buf[64];
	struct pollfd pfd = { .fd = fd, .events = POLLIN | POLLOUT };
	struct io_uring ring;

	TH_LOG("%s: checking the held file", what);
	errno = 0;
	EXPECT_EQ(-1, read(fd, buf, sizeof(buf)));
	EXPECT_EQ(EPIPE, errno);
	errno = 0;
	EXPECT_EQ(-1, write(fd, getrandom_cmd, sizeof(getrandom_cmd)));
	EXPECT_EQ(EPIPE, errno);
	EXPECT_EQ(1, poll(&pfd, 1, 0));
	EXPECT_EQ(ERRHUP, pfd.revents & ERRHUP);

	ASSERT_EQ(0, io_uring_queue_init(4, &ring, 0));
	memcpy(buf, getrandom_cmd, sizeof(getrandom_cmd));
	EXPECT_EQ(-EPIPE, uring_rw(&ring, fd, true, buf,
				   sizeof(getrandom_cmd), 0));
	EXPECT_EQ(-EPIPE, uring_rw(&ring, fd, false, buf, sizeof(buf), 0));
	EXPECT_EQ(-EPIPE, uring_rw(&ring, fd, false, buf, sizeof(buf),
				   IOSQE_ASYNC));
	io_uring_queue_exit(&ring);
}

FIXTURE(vtpm) {
	struct vtpm v;
};

FIXTURE_SETUP(vtpm)
{
	int ret;

	memset(&self->v, 0, sizeof(self->v));
	if (access("/dev/vtpmx", F_OK))
		SKIP(return, "no /dev/vtpmx (CONFIG_TCG_VTPM_PROXY)");
	if (!in_path("swtpm"))
		SKIP(return, "swtpm not installed");
	ret = vtpm_start(&self->v);
	ASSERT_EQ(0, ret) TH_LOG("swtpm did not create a TPM: %s",
				 strerror(-ret));
	TH_LOG("swtpm %d: %s %s", self->v.pid, self->v.tpm, self->v.tpmrm);
}

FIXTURE_TEARDOWN(vtpm)
{
	vtpm_cleanup(&self->v);
}

/*
 * Real commands on both nodes, then the unplug: every operation on the held
 * files fails with EPIPE, including a read of a response that arrived before
 * the unplug (stock Linux returned it, or 0 bytes when there was none).
 */
TEST_F_TIMEOUT(vtpm, commands_then_unplug, 120)
{
	unsigned char rsp[64];
	int fd_tpm, fd_rm, fd_stale;
	long ms;

	fd_tpm = open(self->v.tpm, O_RDWR);
	ASSERT_LE(0, fd_tpm);
	fd_rm = open(self->v.tpmrm, O_RDWR);
	ASSERT_LE(0, fd_rm);
	fd_stale = open(self->v.tpmrm, O_RDWR);
	ASSERT_LE(0, fd_stale);

	/* /dev/tpmN is exclusive */
	errno = 0;
	EXPECT_EQ(-1, open(self->v.tpm, O_RDWR));
	EXPECT_EQ(EBUSY, errno);

	ASSERT_EQ(0, tpm_getrandom(fd_tpm));
	ASSERT_EQ(0, tpm_getrandom(fd_rm));

	if (in_path("tpm2_getrandom")) {
		char cmd[160];

		snprintf(cmd, sizeof(cmd),
			 "TPM2TOOLS_TCTI=device:%s tpm2_getrandom --hex 8 >/dev/null",
			 self->v.tpmrm);
		ASSERT_EQ(0, system(cmd));
	} else {
		TH_LOG("tpm2-tools not installed: raw commands only");
	}

	/* A response that arrived before the unplug and is never read */
	ASSERT_EQ(sizeof(getrandom_cmd),
		  write(fd_stale, getrandom_cmd, sizeof(getrandom_cmd)));

	ms = vtpm_kill(&self->v);
	ASSERT_LE(0, ms);
	TH_LOG("swtpm killed, chip unregistered in %ld ms", ms);
	EXPECT_TRUE(chip_gone(self->v.num));

	check_revoked(_metadata, fd_tpm, "/dev/tpmN");
	check_revoked(_metadata, fd_rm, "/dev/tpmrmN");
	errno = 0;
	EXPECT_EQ(-1, read(fd_stale, rsp, sizeof(rsp)));
	EXPECT_EQ(EPIPE, errno);

	EXPECT_EQ(0, close(fd_tpm));
	EXPECT_EQ(0, close(fd_rm));
	EXPECT_EQ(0, close(fd_stale));
}

struct waiter {
	pthread_t thread;
	int fd;
	int epfd;
	atomic_bool done;
	int ret;
	int err;
	unsigned int events;
	long ms;
};

static void *poll_waiter(void *arg)
{
	struct waiter *w = arg;
	struct pollfd pfd = { .fd = w->fd, .events = POLLIN };

	w->ret = poll(&pfd, 1, -1);
	w->err = errno;
	w->events = pfd.revents;
	w->ms = now_ms();
	atomic_store(&w->done, true);
	return NULL;
}

static void *epoll_waiter(void *arg)
{
	struct waiter *w = arg;
	struct epoll_event ev;

	w->ret = epoll_wait(w->epfd, &ev, 1, -1);
	w->err = errno;
	w->events = w->ret == 1 ? ev.events : 0;
	w->ms = now_ms();
	atomic_store(&w->done, true);
	return NULL;
}

static void *blocking_writer(void *arg)
{
	struct waiter *w = arg;

	w->ret = write(w->fd, getrandom_cmd, sizeof(getrandom_cmd));
	w->err = errno;
	w->ms = now_ms();
	atomic_store(&w->done, true);
	return NULL;
}

static bool wait_done(struct waiter *w, int ms)
{
	long end = now_ms() + ms;

	while (!atomic_load(&w->done) && now_ms() < end)
		usleep(5000);
	return atomic_load(&w->done);
}

/*
 * Sleepers and commands in flight at the unplug.  swtpm is stopped
 * (SIGSTOP) so that commands sent to it stay in flight, then killed:
 * - a poll() and an epoll_wait() waiting for a response on /dev/tpmrmN
 *   wake up with EPOLLERR | EPOLLHUP (stock Linux never woke them);
 * - a blocking write on /dev/tpmrmN fails (the proxy aborts the transfer:
 *   ECANCELED if it returns before revocation starts, else EPIPE);
 * - an O_NONBLOCK write on /dev/tpmN, accepted before the unplug, ends
 *   with EPIPE on read (stock Linux: EIO or ECANCELED);
 * - unregistering does not wait for a TPM command timeout.
 */
TEST_F_TIMEOUT(vtpm, sleepers_and_inflight, 120)
{
	struct waiter pw = { .fd = -1 }, ew = { .fd = -1 }, bw = { .fd = -1 };
	struct epoll_event ev = { .events = EPOLLIN };
	unsigned char rsp[64];
	int fd_nb;
	long t0, ms;

	fd_nb = open(self->v.tpm, O_RDWR | O_NONBLOCK);
	ASSERT_LE(0, fd_nb);
	pw.fd = open(self->v.tpmrm, O_RDWR);
	ASSERT_LE(0, pw.fd);
	ew.fd = open(self->v.tpmrm, O_RDWR);
	ASSERT_LE(0, ew.fd);
	bw.fd = open(self->v.tpmrm, O_RDWR);
	ASSERT_LE(0, bw.fd);
	ASSERT_EQ(0, tpm_getrandom(bw.fd));

	ew.epfd = epoll_create1(0);
	ASSERT_LE(0, ew.epfd);
	ASSERT_EQ(0, epoll_ctl(ew.epfd, EPOLL_CTL_ADD, ew.fd, &ev));
	ASSERT_EQ(0, pthread_create(&pw.thread, NULL, poll_waiter, &pw));
	ASSERT_EQ(0, pthread_create(&ew.thread, NULL, epoll_waiter, &ew));

	ASSERT_EQ(0, kill(self->v.pid, SIGSTOP));
	ASSERT_EQ(sizeof(getrandom_cmd),
		  write(fd_nb, getrandom_cmd, sizeof(getrandom_cmd)));
	ASSERT_EQ(0, pthread_create(&bw.thread, NULL, blocking_writer, &bw));

	usleep(500000);
	ASSERT_FALSE(atomic_load(&pw.done)) TH_LOG("poll returned %#x", pw.events);
	ASSERT_FALSE(atomic_load(&ew.done));
	ASSERT_FALSE(atomic_load(&bw.done)) TH_LOG("write returned %d", bw.ret);
	/*
	 * Not read(fd_nb) here: the queued command holds the file's buffer
	 * lock while swtpm is stopped, a read would wait for it.
	 */

	t0 = now_ms();
	ms = vtpm_kill(&self->v);
	ASSERT_LE(0, ms);
	TH_LOG("stopped swtpm killed, chip unregistered in %ld ms", ms);
	EXPECT_GT(10000, ms);
	EXPECT_TRUE(chip_gone(self->v.num));

	ASSERT_TRUE(wait_done(&pw, 5000));
	ASSERT_TRUE(wait_done(&ew, 5000));
	ASSERT_TRUE(wait_done(&bw, 5000));
	pthread_join(pw.thread, NULL);
	pthread_join(ew.thread, NULL);
	pthread_join(bw.thread, NULL);

	EXPECT_EQ(1, pw.ret);
	EXPECT_EQ(ERRHUP, pw.events & ERRHUP);
	EXPECT_EQ(1, ew.ret);
	EXPECT_EQ(EPOLLERR | EPOLLHUP, ew.events & (EPOLLERR | EPOLLHUP));
	TH_LOG("poller woke after %ld ms (%#x), epoll waiter after %ld ms (%#x)",
	       pw.ms - t0, pw.events, ew.ms - t0, ew.events);

	EXPECT_EQ(-1, bw.ret);
	EXPECT_TRUE(bw.err == EPIPE || bw.err == ECANCELED)
		TH_LOG("blocked writer: %s", strerror(bw.err));
	TH_LOG("blocked writer: %s after %ld ms", strerror(bw.err), bw.ms - t0);

	errno = 0;
	EXPECT_EQ(-1, read(fd_nb, rsp, sizeof(rsp)));
	EXPECT_EQ(EPIPE, errno);

	check_revoked(_metadata, fd_nb, "O_NONBLOCK /dev/tpmN");
	check_revoked(_metadata, pw.fd, "polled /dev/tpmrmN");
	close(ew.epfd);
	close(fd_nb);
	close(pw.fd);
	close(ew.fd);
	close(bw.fd);
}

enum { R_OK_, R_EPIPE, R_ECANCELED, R_OTHER, R_NR };

struct uload {
	pthread_t thread;
	const char *node;
	int fd;
	unsigned int sqe_flags;
	atomic_bool *stop;
	unsigned long res[2][R_NR];	/* [write][kind], [read][kind] */
	int other;
	bool bad_rsp;
};

static int kind_of(int res)
{
	if (res >= 0)
		return R_OK_;
	if (res == -EPIPE)
		return R_EPIPE;
	if (res == -ECANCELED)
		return R_ECANCELED;
	return R_OTHER;
}

/* TPM2_GetRandom through io_uring, write then read, until told to stop */
static void *uring_load(void *arg)
{
	struct uload *l = arg;
	unsigned char cmd[sizeof(getrandom_cmd)], rsp[64];
	struct io_uring ring;
	int res, k;

	if (io_uring_queue_init(4, &ring, 0)) {
		l->other = -ENOMEM;
		return NULL;
	}
	memcpy(cmd, getrandom_cmd, sizeof(cmd));
	while (!atomic_load(l->stop)) {
		res = uring_rw(&ring, l->fd, true, cmd, sizeof(cmd),
			       l->sqe_flags);
		k = kind_of(res);
		l->res[0][k]++;
		if (k == R_OTHER)
			l->other = res;
		if (res < 0)
			continue;	/* no response to read */
		res = uring_rw(&ring, l->fd, false, rsp, sizeof(rsp),
			       l->sqe_flags);
		k = kind_of(res);
		l->res[1][k]++;
		if (k == R_OTHER || k == R_ECANCELED)
			l->other = res;
		if (res >= 0 && check_getrandom_rsp(rsp, res))
			l->bad_rsp = true;
	}
	io_uring_queue_exit(&ring);
	return NULL;
}

/*
 * Results of the io_uring load: some successes before the unplug, EPIPE
 * after it, nothing else but at most @max_ecanceled ECANCELED per file for
 * a write in flight; then every operation on the held file fails.
 */
static void uload_check(struct __test_metadata *_metadata, struct uload *l,
			int n, unsigned long max_ecanceled)
{
	int i;

	for (i = 0; i < n; i++) {
		TH_LOG("%s%s: write ok %lu EPIPE %lu ECANCELED %lu other %lu; "
		       "read ok %lu EPIPE %lu ECANCELED %lu other %lu",
		       l[i].node, l[i].sqe_flags ? " (io-wq)" : "",
		       l[i].res[0][R_OK_], l[i].res[0][R_EPIPE],
		       l[i].res[0][R_ECANCELED], l[i].res[0][R_OTHER],
		       l[i].res[1][R_OK_], l[i].res[1][R_EPIPE],
		       l[i].res[1][R_ECANCELED], l[i].res[1][R_OTHER]);
		EXPECT_LT(0, l[i].res[1][R_OK_]);
		EXPECT_LT(0, l[i].res[0][R_EPIPE]);
		EXPECT_GE(max_ecanceled, l[i].res[0][R_ECANCELED]);
		EXPECT_EQ(0, l[i].res[0][R_OTHER]);
		EXPECT_EQ(0, l[i].res[1][R_ECANCELED]);
		EXPECT_EQ(0, l[i].res[1][R_OTHER]);
		EXPECT_EQ(0, l[i].other)
			TH_LOG("unexpected result %d (%s)", l[i].other,
			       strerror(-l[i].other));
		EXPECT_FALSE(l[i].bad_rsp);
		check_revoked(_metadata, l[i].fd, l[i].node);
		close(l[i].fd);
	}
}

/*
 * io_uring load on both nodes across the unplug (inline and through
 * io-wq): every request succeeds with a valid response or fails with
 * EPIPE.  The one write per file that may be in flight when swtpm dies may
 * see the proxy's ECANCELED instead, if it returns before revocation.
 */
TEST_F_TIMEOUT(vtpm, io_uring_load_during_unplug, 120)
{
	struct uload l[4] = {};
	atomic_bool stop = false;
	long ms;
	int i;

	l[0].node = self->v.tpm;
	l[1].node = self->v.tpmrm;
	l[2].node = self->v.tpmrm;
	l[2].sqe_flags = IOSQE_ASYNC;
	l[3].node = self->v.tpmrm;
	for (i = 0; i < 4; i++) {
		l[i].fd = open(l[i].node, O_RDWR);
		ASSERT_LE(0, l[i].fd);
		l[i].stop = &stop;
	}
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, pthread_create(&l[i].thread, NULL, uring_load, &l[i]));

	usleep(1000000);
	ms = vtpm_kill(&self->v);
	ASSERT_LE(0, ms);
	TH_LOG("swtpm killed under load, chip unregistered in %ld ms", ms);
	EXPECT_GT(10000, ms);
	usleep(300000);
	atomic_store(&stop, true);
	for (i = 0; i < 4; i++)
		pthread_join(l[i].thread, NULL);

	uload_check(_metadata, l, 4, 1);
}

#define CRB_DRV		"/sys/bus/acpi/drivers/tpm_crb/"
#define CRB_DEV		"MSFT0101:00"

/* The tpmN of the chip bound to the ACPI TPM device, or -1 */
static int crb_chip(void)
{
	struct dirent *de;
	int num = -1, n;
	DIR *d;

	d = opendir("/sys/bus/acpi/devices/" CRB_DEV "/tpm");
	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (sscanf(de->d_name, "tpm%d", &n) == 1)
			num = n;
	closedir(d);
	return num;
}

/* Wait up to @ms for the chip bound to the ACPI TPM and its nodes */
static int crb_wait(int ms)
{
	long end = now_ms() + ms;
	char tpm[32], tpmrm[32];
	int num;

	do {
		num = crb_chip();
		if (num >= 0) {
			snprintf(tpm, sizeof(tpm), "/dev/tpm%d", num);
			snprintf(tpmrm, sizeof(tpmrm), "/dev/tpmrm%d", num);
			if (!access(tpm, F_OK) && !access(tpmrm, F_OK))
				return num;
		}
		usleep(20000);
	} while (now_ms() < end);
	return -1;
}

/*
 * A real TPM driver: QEMU's tpm-crb (backed by swtpm on the host) bound to
 * tpm_crb.  Unbinding it while /dev/tpmN and /dev/tpmrmN are open and busy
 * (io_uring load, a buffered response) gives clean EPIPE (stock Linux: EIO
 * on write, 0 or the stale response on read); binding it again gives a
 * working TPM, found through sysfs (the old chip may keep its minor until
 * its files are closed).
 */
FIXTURE(crb) {
	int unused;
};

FIXTURE_SETUP(crb)
{
	if (access(CRB_DRV CRB_DEV, F_OK))
		SKIP(return, "no %s bound to tpm_crb (QEMU -device tpm-crb)", CRB_DEV);
}

/* Leave the TPM bound, whatever happened */
FIXTURE_TEARDOWN(crb)
{
	if (access(CRB_DRV CRB_DEV, F_OK) &&
	    !access("/sys/bus/acpi/devices/" CRB_DEV, F_OK))
		write_str(CRB_DRV "bind", CRB_DEV);
}

TEST_F_TIMEOUT(crb, unbind_busy, 300)
{
	unsigned char rsp[64];
	struct uload l[4] = {};
	atomic_bool stop = false;
	char tpm[32], tpmrm[32];
	int num, num2, fd, fd_stale, i;
	long t0, ms;

	num = crb_wait(5000);
	ASSERT_LE(0, num);
	snprintf(tpm, sizeof(tpm), "/dev/tpm%d", num);
	snprintf(tpmrm, sizeof(tpmrm), "/dev/tpmrm%d", num);
	TH_LOG("tpm_crb: %s %s", tpm, tpmrm);

	l[0].node = tpm;
	l[1].node = tpmrm;
	l[2].node = tpmrm;
	l[2].sqe_flags = IOSQE_ASYNC;
	l[3].node = tpmrm;
	for (i = 0; i < 4; i++) {
		l[i].fd = open(l[i].node, O_RDWR);
		ASSERT_LE(0, l[i].fd);
		l[i].stop = &stop;
	}
	ASSERT_EQ(0, tpm_getrandom(l[0].fd));
	ASSERT_EQ(0, tpm_getrandom(l[1].fd));
	if (in_path("tpm2_getrandom")) {
		char cmd[160];

		snprintf(cmd, sizeof(cmd),
			 "TPM2TOOLS_TCTI=device:%s tpm2_getrandom --hex 8 >/dev/null",
			 tpmrm);
		ASSERT_EQ(0, system(cmd));
	}
	fd_stale = open(tpmrm, O_RDWR);
	ASSERT_LE(0, fd_stale);
	ASSERT_EQ(sizeof(getrandom_cmd),
		  write(fd_stale, getrandom_cmd, sizeof(getrandom_cmd)));

	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, pthread_create(&l[i].thread, NULL, uring_load, &l[i]));
	usleep(1000000);
	t0 = now_ms();
	ASSERT_EQ(0, write_str(CRB_DRV "unbind", CRB_DEV));
	ms = now_ms() - t0;
	TH_LOG("tpm_crb unbound under load in %ld ms", ms);
	EXPECT_GT(10000, ms);
	EXPECT_TRUE(chip_gone(num));
	usleep(300000);
	atomic_store(&stop, true);
	for (i = 0; i < 4; i++)
		pthread_join(l[i].thread, NULL);
	/* A real TPM finishes the command in flight: no ECANCELED */
	uload_check(_metadata, l, 4, 0);
	errno = 0;
	EXPECT_EQ(-1, read(fd_stale, rsp, sizeof(rsp)));
	EXPECT_EQ(EPIPE, errno);

	/* Rebind while a revoked file of the old chip is still open */
	ASSERT_EQ(0, write_str(CRB_DRV "bind", CRB_DEV));
	num2 = crb_wait(10000);
	ASSERT_LE(0, num2);
	snprintf(tpm, sizeof(tpm), "/dev/tpm%d", num2);
	snprintf(tpmrm, sizeof(tpmrm), "/dev/tpmrm%d", num2);
	TH_LOG("rebound: %s %s", tpm, tpmrm);
	fd = open(tpmrm, O_RDWR);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, tpm_getrandom(fd));
	close(fd);
	fd = open(tpm, O_RDWR);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, tpm_getrandom(fd));
	close(fd);
	/* The old file stays revoked */
	errno = 0;
	EXPECT_EQ(-1, write(fd_stale, getrandom_cmd, sizeof(getrandom_cmd)));
	EXPECT_EQ(EPIPE, errno);
	close(fd_stale);
}

TEST_HARNESS_MAIN
