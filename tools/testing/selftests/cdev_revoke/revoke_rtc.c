// SPDX-License-Identifier: GPL-2.0
/*
 * RTC on cdev_revoke: /dev/rtcN held open, and slept in, while its RTC is
 * unregistered.
 *
 * The RTCs are the rtc-test platform devices (CONFIG_RTC_DRV_TEST; rtc-test.1
 * and rtc-test.2 have alarms, so RTC_UIE_ON works on them) unbound and bound
 * again through sysfs, and QEMU's CMOS RTC unbound from rtc_cmos.  After the
 * unbind every call on a held file fails with ENODEV, poll reports
 * POLLIN | POLLERR | POLLHUP, a reader blocked after RTC_UIE_ON is woken with
 * ENODEV, the file has been released (its update interrupts are off before
 * the driver's data is freed), and the RTC bound again works.  The real
 * client is hwclock (util-linux), also while it waits for a clock tick.
 *
 * With CDEV_STOCK=1 in the environment (make controls) the tests assert what a kernel whose
 * drivers/rtc/dev.c is not converted does instead (the control run): the
 * blocked reader is never woken, RTC_RD_TIME fails with ENODEV but
 * RTC_IRQP_READ and RTC_PARAM_GET(RTC_PARAM_FEATURES) still succeed, poll
 * reports nothing, and RTC_PARAM_GET of a driver parameter dereferences the
 * NULL ops (the process is killed by the oops).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <liburing.h>
#include <linux/rtc.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "util.h"

#define RTC_TEST_DRV	"/sys/bus/platform/drivers/rtc-test/"
#define RTC_CMOS_DRV	"/sys/bus/platform/drivers/rtc_cmos/"
#define RTC_CMOS_PNP	"/sys/bus/pnp/drivers/rtc_cmos/"
#define REVOKED_POLL	(POLLIN | POLLRDNORM | POLLERR | POLLHUP)

static void on_sigusr1(int sig)
{
	(void)sig;
}

/* No SA_RESTART: a signal ends a blocked read with EINTR. */
static void catch_sigusr1(void)
{
	struct sigaction sa = { .sa_handler = on_sigusr1 };

	sigaction(SIGUSR1, &sa, NULL);
}

/* rtcN of the device at sysfs @devdir, as /dev/rtcN: 0, or -1 if unbound. */
static int rtc_find_node(const char *devdir, char *node, size_t len)
{
	char path[256];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "%.200s/rtc", devdir);
	d = opendir(path);
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		if (!strncmp(de->d_name, "rtc", 3)) {
			snprintf(node, len, "/dev/%.32s", de->d_name);
			closedir(d);
			return 0;
		}
	}
	closedir(d);
	return -1;
}

static int rtc_wait_node(const char *devdir, char *node, size_t len)
{
	int i;

	for (i = 0; i < 500; i++) {
		if (!rtc_find_node(devdir, node, len) && !access(node, F_OK))
			return 0;
		usleep(10000);
	}
	return -1;
}

/* Open @node, waiting up to 5 s while a closing file still holds it. */
static int rtc_open(const char *node, int flags)
{
	int i, fd = -1;

	for (i = 0; i < 500; i++) {
		fd = open(node, flags);
		if (fd >= 0 || errno != EBUSY)
			break;
		usleep(10000);
	}
	return fd;
}

/* An RTC, its driver and its node */
struct rtc {
	char devdir[PATH_MAX];
	char drv[128];
	char name[32];
	char node[64];
	int bound;
};

FIXTURE(rtc) {
	struct rtc r;
};

/* Bind the RTC to its driver and wait for its node: 0 or -1. */
static int rtc_bind(struct rtc *r)
{
	char path[256];

	snprintf(path, sizeof(path), "%sbind", r->drv);
	if (write_str(path, r->name))
		return -1;
	r->bound = 1;
	return rtc_wait_node(r->devdir, r->node, sizeof(r->node));
}

static int rtc_unbind(struct rtc *r)
{
	char path[256];
	int ret;

	snprintf(path, sizeof(path), "%sunbind", r->drv);
	ret = write_str(path, r->name);
	if (!ret)
		r->bound = 0;
	return ret;
}

FIXTURE_VARIANT(rtc) {
	const char *drv;
	const char *name;
};

FIXTURE_VARIANT_ADD(rtc, test) {
	.drv = RTC_TEST_DRV,
	.name = "rtc-test.1",
};

/* QEMU's CMOS RTC: a PNP device (PNPACPI), else the platform device */
FIXTURE_VARIANT_ADD(rtc, cmos) {
	.drv = NULL,
	.name = NULL,
};

/* The device of rtc_cmos: its driver and device directories, 0 or -1. */
static int cmos_find(char *drv, size_t dlen, char *name, size_t nlen)
{
	static const char *const drvs[] = { RTC_CMOS_PNP, RTC_CMOS_DRV };
	struct dirent *de;
	unsigned int i;
	DIR *d;

	for (i = 0; i < ARRAY_SIZE(drvs); i++) {
		d = opendir(drvs[i]);
		if (!d)
			continue;
		while ((de = readdir(d))) {
			if (de->d_type == DT_LNK && strcmp(de->d_name, "module")) {
				snprintf(drv, dlen, "%s", drvs[i]);
				snprintf(name, nlen, "%.24s", de->d_name);
				closedir(d);
				return 0;
			}
		}
		closedir(d);
	}
	return -1;
}

FIXTURE_SETUP(rtc)
{
	char path[PATH_MAX];

	if (variant->drv) {
		snprintf(self->r.drv, sizeof(self->r.drv), "%s", variant->drv);
		snprintf(self->r.name, sizeof(self->r.name), "%s", variant->name);
	} else if (cmos_find(self->r.drv, sizeof(self->r.drv), self->r.name,
			     sizeof(self->r.name))) {
		SKIP(return, "no device bound to rtc_cmos");
	}
	snprintf(self->r.devdir, sizeof(self->r.devdir), "%s%s",
		 variant->drv ? "/sys/bus/platform/devices/" : self->r.drv,
		 self->r.name);
	if (access(self->r.devdir, F_OK))
		SKIP(return, "no device %.200s", self->r.devdir);
	/* the device itself, not the driver's link to it (gone at unbind) */
	if (!realpath(self->r.devdir, path))
		SKIP(return, "no device %s", self->r.name);
	snprintf(self->r.devdir, sizeof(self->r.devdir), "%s", path);
	self->r.bound = !rtc_find_node(self->r.devdir, self->r.node,
				     sizeof(self->r.node));
	if (!self->r.bound)
		ASSERT_EQ(0, rtc_bind(&self->r));
	ASSERT_EQ(0, rtc_wait_node(self->r.devdir, self->r.node,
				   sizeof(self->r.node)));
	catch_sigusr1();
}

FIXTURE_TEARDOWN(rtc)
{
	char node[64];

	if (rtc_find_node(self->r.devdir, node, sizeof(node)))
		rtc_bind(&self->r);
}

/*
 * A reader blocked in read() after RTC_UIE_ON is woken by the unbind and
 * gets ENODEV; a poll and an epoll waiter wake with the revoked mask.
 * Stock: all three are still asleep 3 s later.
 */
TEST_F_TIMEOUT(rtc, sleepers_woken_by_unbind, 60)
{
	struct tcr_waiter w[3] = {
		{ .kind = TCR_W_READ }, { .kind = TCR_W_POLL },
		{ .kind = TCR_W_EPOLL },
	};
	unsigned long data;
	int fd, i, done, joined[3] = { 0 };
	pthread_t th[3];
	long t0;

	fd = rtc_open(self->r.node, O_RDONLY);
	ASSERT_LE(0, fd) TH_LOG("open %s: %s", self->r.node, strerror(errno));
	ASSERT_EQ(0, ioctl(fd, RTC_UIE_ON, 0));
	/* update interrupts arrive: one read returns */
	ASSERT_EQ(sizeof(data), read(fd, &data, sizeof(data)));
	ASSERT_NE(0, data & RTC_UF);
	/* turn them off again, so that the sleepers below stay asleep */
	ASSERT_EQ(0, ioctl(fd, RTC_UIE_OFF, 0));
	for (i = 0; i < 3; i++) {
		w[i].fd = fd;
		ASSERT_EQ(0, pthread_create(&th[i], NULL, tcr_waiter_fn,
					    &w[i]));
	}
	usleep(500000);
	ASSERT_EQ(0, rtc_unbind(&self->r));
	t0 = now_ms();
	done = 0;
	while (done < 3 && now_ms() - t0 < 3000) {
		for (i = 0; i < 3; i++) {
			if (!joined[i] && !pthread_tryjoin_np(th[i], NULL)) {
				joined[i] = 1;
				done++;
				TH_LOG("waiter %d woken (%ld ms): %zd %d (%s) 0x%x",
				       w[i].kind, now_ms() - t0, w[i].ret,
				       w[i].ret < 0 ? w[i].err : 0,
				       w[i].ret < 0 ? strerror(w[i].err) : "-",
				       w[i].revents);
			}
		}
		usleep(10000);
	}
	for (i = 0; i < 3; i++) {
		if (joined[i])
			continue;
		TH_LOG("waiter %d still asleep %ld ms after the unbind",
		       w[i].kind, now_ms() - t0);
		pthread_kill(th[i], SIGUSR1);
		pthread_join(th[i], NULL);
		TH_LOG("  ... ended by a signal: ret %zd errno %d (%s)",
		       w[i].ret, w[i].err, strerror(w[i].err));
	}
	if (cdev_stock()) {
		/* poll/epoll may be woken by the last update interrupt */
		EXPECT_EQ(EINTR, w[0].err) TH_LOG("stock: reader not hung?");
	} else {
		EXPECT_EQ(3, done);
		EXPECT_EQ(-1, w[0].ret);
		EXPECT_EQ(ENODEV, w[0].err);
		EXPECT_EQ(1, w[1].ret);
		EXPECT_EQ(REVOKED_POLL & (POLLIN | POLLERR | POLLHUP),
			  w[1].revents);
		EXPECT_EQ(1, w[2].ret);
		EXPECT_EQ(EPOLLIN | EPOLLERR | EPOLLHUP, w[2].revents);
	}
	EXPECT_EQ(0, close(fd));
}

/*
 * A reader blocked while update interrupts are on (the hwclock pattern):
 * woken with ENODEV.  Stock: the reader sleeps on (the interrupts stop
 * with the driver) and the rtc-test alarm timer stays armed while the
 * driver's data is freed.
 */
TEST_F_TIMEOUT(rtc, uie_reader_woken_by_unbind, 60)
{
	struct tcr_waiter w = { .kind = TCR_W_READ };
	unsigned long data;
	pthread_t th;
	long t0;
	int fd;

	fd = rtc_open(self->r.node, O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(fd, RTC_UIE_ON, 0));
	ASSERT_EQ(sizeof(data), read(fd, &data, sizeof(data)));
	w.fd = fd;
	ASSERT_EQ(0, pthread_create(&th, NULL, tcr_waiter_fn, &w));
	usleep(100000);
	ASSERT_EQ(0, rtc_unbind(&self->r));
	t0 = now_ms();
	while (pthread_tryjoin_np(th, NULL)) {
		if (now_ms() - t0 > 3000) {
			TH_LOG("reader still asleep 3 s after the unbind");
			pthread_kill(th, SIGUSR1);
			pthread_join(th, NULL);
			break;
		}
		usleep(10000);
	}
	/* a read may have got the last update before the unbind: once more */
	if (w.ret > 0 && now_ms() - t0 <= 3000) {
		w.ret = read(fd, &data, sizeof(data));
		w.err = errno;
	}
	TH_LOG("reader: ret %zd errno %d (%s) after %ld ms", w.ret, w.err,
	       strerror(w.err), now_ms() - t0);
	if (cdev_stock()) {
		EXPECT_EQ(EINTR, w.err);
	} else {
		EXPECT_EQ(-1, w.ret);
		EXPECT_EQ(ENODEV, w.err);
		EXPECT_GT(3000, now_ms() - t0);
	}
	EXPECT_EQ(0, close(fd));
}

/* ioctls and reads on the held file after the unbind: ENODEV. */
TEST_F_TIMEOUT(rtc, calls_after_unbind, 60)
{
	struct rtc_param param = { .param = RTC_PARAM_FEATURES };
	struct rtc_wkalrm alm;
	unsigned long freq;
	struct rtc_time tm;
	int fd, nb, ret;
	char buf[8];

	fd = rtc_open(self->r.node, O_RDONLY);
	ASSERT_LE(0, fd);
	nb = open(self->r.node, O_RDONLY | O_NONBLOCK);
	/* one opener at a time (RTC_DEV_BUSY) */
	ASSERT_EQ(-1, nb);
	ASSERT_EQ(EBUSY, errno);
	ASSERT_EQ(0, ioctl(fd, RTC_RD_TIME, &tm));
	ASSERT_EQ(0, ioctl(fd, RTC_PARAM_GET, &param));
	ASSERT_EQ(0, ioctl(fd, RTC_IRQP_READ, &freq));
	ASSERT_EQ(0, rtc_unbind(&self->r));

	ret = ioctl(fd, RTC_RD_TIME, &tm);
	TH_LOG("RTC_RD_TIME: %d %s", ret, ret ? strerror(errno) : "");
	EXPECT_EQ(-1, ret);
	EXPECT_EQ(ENODEV, errno);
	ret = ioctl(fd, RTC_WKALM_RD, &alm);
	TH_LOG("RTC_WKALM_RD: %d %s", ret, ret ? strerror(errno) : "");
	EXPECT_EQ(-1, ret);
	EXPECT_EQ(ENODEV, errno);
	ret = ioctl(fd, RTC_IRQP_READ, &freq);
	TH_LOG("RTC_IRQP_READ: %d %s", ret, ret ? strerror(errno) : "");
	if (cdev_stock()) {
		EXPECT_EQ(0, ret);
	} else {
		EXPECT_EQ(-1, ret);
		EXPECT_EQ(ENODEV, errno);
	}
	param.param = RTC_PARAM_FEATURES;
	ret = ioctl(fd, RTC_PARAM_GET, &param);
	TH_LOG("RTC_PARAM_GET(FEATURES): %d %s", ret,
	       ret ? strerror(errno) : "");
	if (cdev_stock()) {
		EXPECT_EQ(0, ret);
	} else {
		EXPECT_EQ(-1, ret);
		EXPECT_EQ(ENODEV, errno);
	}
	ret = fcntl(fd, F_SETFL, O_NONBLOCK);
	ret = read(fd, buf, sizeof(buf));
	TH_LOG("read (O_NONBLOCK): %d %s", ret, strerror(errno));
	EXPECT_EQ(-1, ret);
	EXPECT_EQ(cdev_stock() ? EAGAIN : ENODEV, errno);
	EXPECT_EQ(0, close(fd));
}

/* poll on the held file after the unbind: the revoked mask at once. */
TEST_F_TIMEOUT(rtc, poll_after_unbind, 60)
{
	struct pollfd pfd = { .events = POLLIN | POLLRDNORM };
	int ret;

	pfd.fd = rtc_open(self->r.node, O_RDONLY);
	ASSERT_LE(0, pfd.fd);
	ASSERT_EQ(0, poll(&pfd, 1, 0));
	ASSERT_EQ(0, rtc_unbind(&self->r));
	ret = poll(&pfd, 1, 1000);
	TH_LOG("poll: %d revents 0x%x", ret, pfd.revents);
	if (cdev_stock()) {
		EXPECT_EQ(0, ret);
	} else {
		EXPECT_EQ(1, ret);
		EXPECT_EQ(REVOKED_POLL, pfd.revents);
	}
	EXPECT_EQ(0, close(pfd.fd));
}

/*
 * The file was released at the unbind (so the RTC bound again can be
 * opened, RTC_DEV_BUSY is clear), the new /dev/rtcM works while the old
 * file is still held, and once the old file is closed the old RTC is
 * freed: its number is given out again (nothing leaked).
 */
TEST_F_TIMEOUT(rtc, rebind_new_node, 60)
{
	char old[64], node2[64];
	struct rtc_time tm;
	int fd, fd2;

	fd = rtc_open(self->r.node, O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(fd, RTC_UIE_ON, 0));
	snprintf(old, sizeof(old), "%s", self->r.node);
	ASSERT_EQ(0, rtc_unbind(&self->r));
	ASSERT_EQ(0, rtc_bind(&self->r));
	TH_LOG("held %s, bound again as %s", old, self->r.node);
	fd2 = rtc_open(self->r.node, O_RDONLY);
	ASSERT_LE(0, fd2);
	EXPECT_EQ(0, ioctl(fd2, RTC_RD_TIME, &tm));
	EXPECT_EQ(-1, ioctl(fd, RTC_RD_TIME, &tm));
	EXPECT_EQ(ENODEV, errno);
	EXPECT_EQ(0, close(fd));
	EXPECT_EQ(0, close(fd2));
	/* the old device is freed with its last file: rtc_device_release */
	ASSERT_EQ(0, rtc_unbind(&self->r));
	ASSERT_EQ(0, rtc_bind(&self->r));
	snprintf(node2, sizeof(node2), "%s", self->r.node);
	TH_LOG("after close and rebind: %s", node2);
	EXPECT_STREQ(old, node2);
}

/* io_uring reads (through io-wq: rtc has no ->read_iter) across the unbind. */
TEST_F_TIMEOUT(rtc, io_uring_reads, 60)
{
	struct __kernel_timespec ts = { .tv_sec = 5 };
	unsigned long bufs[8];
	struct io_uring_cqe *cqe;
	struct io_uring ring;
	int fd, i, n = 0, ok = 0, nodev = 0, other = 0;

	fd = rtc_open(self->r.node, O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(fd, RTC_UIE_ON, 0));
	ASSERT_EQ(0, io_uring_queue_init(8, &ring, 0));
	for (i = 0; i < 8; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

		io_uring_prep_read(sqe, fd, &bufs[i], sizeof(bufs[i]), 0);
	}
	ASSERT_EQ(8, io_uring_submit(&ring));
	usleep(1500000);
	ASSERT_EQ(0, rtc_unbind(&self->r));
	for (i = 0; i < 8; i++) {
		if (io_uring_wait_cqe_timeout(&ring, &cqe, &ts))
			break;
		n++;
		if (cqe->res == sizeof(unsigned long))
			ok++;
		else if (cqe->res == -ENODEV)
			nodev++;
		else
			other++;
		io_uring_cqe_seen(&ring, cqe);
	}
	TH_LOG("io_uring reads: %d completed: %d ok, %d ENODEV, %d other",
	       n, ok, nodev, other);
	if (!cdev_stock()) {
		EXPECT_EQ(8, n);
		EXPECT_LT(0, nodev);
		EXPECT_EQ(0, other);
	} else {
		EXPECT_GT(8, n);
	}
	/* stock: exit cancels the reads still asleep in io-wq */
	io_uring_queue_exit(&ring);
	EXPECT_EQ(0, close(fd));
}

/* Run hwclock -r -f @node with stdout and stderr into @out: its exit status. */
static int run_hwclock(const char *node, char *out, size_t len)
{
	char cmd[256];
	FILE *p;
	size_t n;
	int st;

	snprintf(cmd, sizeof(cmd), "hwclock -r -f %s 2>&1", node);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	n = fread(out, 1, len - 1, p);
	out[n] = 0;
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/*
 * hwclock (util-linux) reads the clock, waiting for a clock tick with
 * RTC_UIE_ON and a blocking read: before the unbind it works; an unbind
 * while it waits ends it with an error; afterwards it fails cleanly; after
 * rebind it works on the new node.
 */
TEST_F_TIMEOUT(rtc, hwclock, 90)
{
	char out[4096], cmd[256];
	int pfd[2], st, ret;
	long t0;
	pid_t pid;
	FILE *f;

	if (access("/usr/sbin/hwclock", X_OK) && access("/sbin/hwclock", X_OK))
		SKIP(return, "hwclock (util-linux-extra) not installed");
	ret = run_hwclock(self->r.node, out, sizeof(out));
	TH_LOG("hwclock -r -f %s: %d: %s", self->r.node, ret, out);
	ASSERT_EQ(0, ret);

	/* hwclock --verbose prints "Waiting for clock tick..." and sleeps */
	ASSERT_EQ(0, pipe(pfd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		close(pfd[0]);
		/* line-buffered: the line comes before hwclock sleeps */
		execlp("stdbuf", "stdbuf", "-oL", "hwclock", "-r", "--verbose",
		       "-f", self->r.node, NULL);
		_exit(127);
	}
	close(pfd[1]);
	f = fdopen(pfd[0], "r");
	ASSERT_NE(NULL, f);
	ret = 0;
	while (fgets(cmd, sizeof(cmd), f)) {
		if (strstr(cmd, "Waiting for clock tick")) {
			ret = 1;
			break;
		}
	}
	ASSERT_EQ(1, ret);
	ASSERT_EQ(0, rtc_unbind(&self->r));
	t0 = now_ms();
	out[0] = 0;
	while (fgets(cmd, sizeof(cmd), f))
		strncat(out, cmd, sizeof(out) - strlen(out) - 1);
	fclose(f);
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	TH_LOG("hwclock waiting for a tick, unbound: exit %d after %ld ms: %s",
	       WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st),
	       now_ms() - t0, out);
	EXPECT_TRUE(WIFEXITED(st));

	ret = run_hwclock(self->r.node, out, sizeof(out));
	TH_LOG("hwclock after the unbind: %d: %s", ret, out);
	EXPECT_NE(0, ret);
	EXPECT_GT(128, ret);

	ASSERT_EQ(0, rtc_bind(&self->r));
	ret = run_hwclock(self->r.node, out, sizeof(out));
	TH_LOG("hwclock -r -f %s after rebind: %d: %s", self->r.node, ret, out);
	EXPECT_EQ(0, ret);
}

/*
 * hwclock on a file held across the unbind (its /proc/self/fd link):
 * the reopen fails cleanly.
 */
TEST_F_TIMEOUT(rtc, hwclock_held_file, 60)
{
	char out[4096], path[64];
	int fd, ret;

	if (access("/usr/sbin/hwclock", X_OK) && access("/sbin/hwclock", X_OK))
		SKIP(return, "hwclock (util-linux-extra) not installed");
	fd = rtc_open(self->r.node, O_RDONLY);
	ASSERT_LE(0, fd);
	/* hwclock's own open of the busy RTC */
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", getpid(), fd);
	ASSERT_EQ(0, rtc_unbind(&self->r));
	ret = run_hwclock(path, out, sizeof(out));
	TH_LOG("hwclock -r -f %s (held, unbound): %d: %s", path, ret, out);
	EXPECT_NE(0, ret);
	EXPECT_GT(128, ret);
	EXPECT_EQ(0, close(fd));
}

/*
 * RTC_PARAM_GET and RTC_PARAM_SET of a driver parameter after the unbind:
 * ENODEV.  Stock: rtc->ops is NULL and dereferenced (NULL pointer oops in
 * rtc_dev_ioctl, with ops_lock held); the test runs the ioctl in a child
 * and reports how the child ended.
 */
TEST_F_TIMEOUT(rtc, param_after_unbind, 60)
{
	struct rtc_param param = { .param = RTC_PARAM_BACKUP_SWITCH_MODE };
	int fd, status, ret;
	pid_t pid;

	fd = rtc_open(self->r.node, O_RDONLY);
	ASSERT_LE(0, fd);
	ret = ioctl(fd, RTC_PARAM_GET, &param);
	/* no driver here implements it */
	ASSERT_EQ(-1, ret);
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(0, rtc_unbind(&self->r));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		if (ioctl(fd, RTC_PARAM_GET, &param) != -1 || errno != ENODEV)
			_exit(1);
		if (ioctl(fd, RTC_PARAM_SET, &param) != -1 || errno != ENODEV)
			_exit(2);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	TH_LOG("child: %s %d", WIFSIGNALED(status) ? "killed by signal" :
	       "exit", WIFSIGNALED(status) ? WTERMSIG(status) :
	       WEXITSTATUS(status));
	if (cdev_stock()) {
		EXPECT_TRUE(WIFSIGNALED(status));
		/*
		 * The last close would hang: ops_lock is held by the dead
		 * child.  A sleeping holder keeps the file, so the test ends.
		 */
		if (!fork()) {
			for (;;)
				pause();
		}
		EXPECT_EQ(0, close(fd));
		return;
	}
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(0, close(fd));
}

TEST_HARNESS_MAIN
