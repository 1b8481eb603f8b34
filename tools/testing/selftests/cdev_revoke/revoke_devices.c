// SPDX-License-Identifier: GPL-2.0
/*
 * cdev_revoke on real devices: the test_cdev_revoke driver (lib/) bound to
 * QEMU's edu PCI device and to platform devices, unbound and removed while
 * userspace holds its files open, sleeps in it and has io_uring requests
 * in flight.
 *
 * Environment: TCR_KO=path of test_cdev_revoke.ko (loaded if needed),
 * TCR_CYCLES=unbind/bind cycles of the stress test (default 500; make stress
 * runs 10000).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../kselftest_harness.h"

#define DBG		"/sys/kernel/debug/test_cdev_revoke/"
#define PLAT_DRV	"/sys/bus/platform/drivers/test-cdev-revoke/"
#define PCI_DRV		"/sys/bus/pci/drivers/test-cdev-revoke/"
#define PLAT_ID		0x7c7c7c7c
#define EDU_ID_MASK	0x0000ffff	/* 0xRRrr00ed: major, minor, 0x00ed */
#define EDU_ID		0x000000ed

#define TCR_IOC_ID	_IOR('R', 1, __u32)
#define TCR_IOC_SLEEP	_IOW('R', 2, __u32)
#define TCR_IOC_EVENT	_IO('R', 3)
#define TCR_URING_ID	1
#define TCR_URING_WAIT	2

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	n = n < 0 ? -errno : 0;
	close(fd);
	return n;
}

static long read_long(const char *path)
{
	char buf[32] = "";
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return -1;
	if (read(fd, buf, sizeof(buf) - 1) < 0)
		buf[0] = 0;
	close(fd);
	return strtol(buf, NULL, 0);
}

static long counter(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), DBG "%s", name);
	return read_long(path);
}

static bool optin(void)
{
	char c = 0;
	int fd = open(DBG "optin", O_RDONLY);

	if (fd < 0)
		return false;
	if (read(fd, &c, 1) != 1)
		c = 0;
	close(fd);
	return c == 'Y';
}

static int load_module(void)
{
	const char *ko = getenv("TCR_KO");
	int fd, ret;

	if (access(DBG, F_OK) == 0)
		return 0;
	if (!ko)
		return -ENOENT;
	fd = open(ko, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, "", 0);
	close(fd);
	return ret ? -errno : 0;
}

/* The /dev node of the device bound at sysfs @devdir, or -1. */
static int find_node(const char *devdir, char *node, size_t len)
{
	char path[256];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "%.200s/test_cdev_revoke", devdir);
	d = opendir(path);
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		if (!strncmp(de->d_name, "tcr", 3)) {
			snprintf(node, len, "/dev/%s", de->d_name);
			closedir(d);
			return 0;
		}
	}
	closedir(d);
	return -1;
}

/* Wait until the node of @devdir exists (bind) and can be opened. */
static int wait_node(const char *devdir, char *node, size_t len)
{
	int i;

	for (i = 0; i < 500; i++) {
		if (!find_node(devdir, node, len) && access(node, F_OK) == 0)
			return 0;
		usleep(10000);
	}
	return -1;
}

static char *edu_address(void)
{
	static char addr[256];
	struct dirent *de;
	DIR *d = opendir("/sys/bus/pci/devices");
	char path[400];

	if (!d)
		return NULL;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vendor",
			 de->d_name);
		if (read_long(path) != 0x1234)
			continue;
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/device",
			 de->d_name);
		if (read_long(path) != 0x11e8)
			continue;
		snprintf(addr, sizeof(addr), "%s", de->d_name);
		closedir(d);
		return addr;
	}
	closedir(d);
	return NULL;
}

FIXTURE(dev) {
	char name[256];		/* sysfs device name */
	char devdir[320];
	char drv[128];
	char node[300];
	bool pci;
	long opens, releases;
};

FIXTURE_VARIANT(dev) {
	bool pci;
};

FIXTURE_VARIANT_ADD(dev, platform) {
	.pci = false,
};

FIXTURE_VARIANT_ADD(dev, edu) {
	.pci = true,
};

FIXTURE_SETUP(dev)
{
	int ret = load_module();

	if (ret)
		SKIP(return, "test_cdev_revoke not loaded (TCR_KO): %s",
		     strerror(-ret));
	ASSERT_TRUE(optin());
	self->pci = variant->pci;
	if (self->pci) {
		char *addr = edu_address();

		if (!addr)
			SKIP(return, "no edu PCI device (-device edu)");
		snprintf(self->name, sizeof(self->name), "%s", addr);
		snprintf(self->drv, sizeof(self->drv), "%s", PCI_DRV);
		snprintf(self->devdir, sizeof(self->devdir),
			 "/sys/bus/pci/devices/%s", addr);
	} else {
		snprintf(self->name, sizeof(self->name), "test-cdev-revoke.1");
		snprintf(self->drv, sizeof(self->drv), "%s", PLAT_DRV);
		snprintf(self->devdir, sizeof(self->devdir),
			 "/sys/bus/platform/devices/%s", self->name);
		if (access(self->devdir, F_OK))
			ASSERT_EQ(0, write_str(DBG "platform_add", "1"));
	}
	if (find_node(self->devdir, self->node, sizeof(self->node)))
		write_str(self->pci ? PCI_DRV "bind" : PLAT_DRV "bind", self->name);
	ASSERT_EQ(0, wait_node(self->devdir, self->node, sizeof(self->node)));
	self->opens = counter("opens");
	self->releases = counter("releases");
}

FIXTURE_TEARDOWN(dev)
{
	char path[400];

	/* Leave the device bound for the next test. */
	snprintf(path, sizeof(path), "%s/driver", self->devdir);
	if (self->name[0] && access(path, F_OK))
		write_str(self->pci ? PCI_DRV "bind" : PLAT_DRV "bind", self->name);
	EXPECT_EQ(0, counter("fops_after_revoke"));
}

static int dev_unbind(FIXTURE_DATA(dev) *self)
{
	char path[200];

	snprintf(path, sizeof(path), "%sunbind", self->drv);
	return write_str(path, self->name);
}

static int dev_bind(FIXTURE_DATA(dev) *self)
{
	char path[200];

	snprintf(path, sizeof(path), "%sbind", self->drv);
	return write_str(path, self->name);
}

static sigjmp_buf bus_jmp;
static volatile sig_atomic_t bus_hits, io_hits, io_code;

static void on_sigbus(int sig)
{
	bus_hits++;
	siglongjmp(bus_jmp, 1);
}

static void on_sigio(int sig, siginfo_t *si, void *uc)
{
	io_hits++;
	io_code = si->si_code;
}

static bool id_ok(FIXTURE_DATA(dev) *self, unsigned int id)
{
	return self->pci ? (id & EDU_ID_MASK) == EDU_ID : id == PLAT_ID;
}

/*
 * Everything a file can do fails cleanly after unbind: the errno, the
 * hang-up poll mask, SIGBUS on the old mapping, SIGIO with POLL_HUP.
 */
TEST_F(dev, after_unbind)
{
	struct sigaction sa = { .sa_sigaction = on_sigio, .sa_flags = SA_SIGINFO };
	struct pollfd pfd;
	unsigned int id = 0;
	volatile unsigned int *map;
	char buf[8];
	int fd;

	fd = open(self->node, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(fd, TCR_IOC_ID, &id));
	ASSERT_TRUE(id_ok(self, id)) TH_LOG("id %#x", id);
	map = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	ASSERT_TRUE(id_ok(self, map[0])) TH_LOG("mapped id %#x", map[0]);

	io_hits = 0;
	ASSERT_EQ(0, sigaction(SIGRTMIN + 1, &sa, NULL));
	ASSERT_EQ(0, fcntl(fd, F_SETOWN, getpid()));
	ASSERT_EQ(0, fcntl(fd, F_SETSIG, SIGRTMIN + 1));
	ASSERT_EQ(0, fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_ASYNC));

	ASSERT_EQ(0, dev_unbind(self));
	EXPECT_EQ(1, counter("revokes") > 0);

	EXPECT_EQ(-1, read(fd, buf, sizeof(buf)));
	EXPECT_EQ(ENODEV, errno);
	EXPECT_EQ(-1, write(fd, buf, sizeof(buf)));
	EXPECT_EQ(ENODEV, errno);
	EXPECT_EQ(-1, ioctl(fd, TCR_IOC_ID, &id));
	EXPECT_EQ(ENODEV, errno);
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN | POLLOUT };
	EXPECT_EQ(1, poll(&pfd, 1, 1000));
	EXPECT_EQ(POLLERR | POLLHUP, pfd.revents & (POLLERR | POLLHUP));
	EXPECT_EQ(MAP_FAILED, mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0));

	/* The old mapping is gone: a touch is a SIGBUS. */
	signal(SIGBUS, on_sigbus);
	bus_hits = 0;
	if (!sigsetjmp(bus_jmp, 1))
		(void)map[0];
	EXPECT_EQ(1, bus_hits);
	signal(SIGBUS, SIG_DFL);

	/* SIGIO with POLL_HUP was sent at revocation. */
	EXPECT_EQ(1, io_hits >= 1);
	EXPECT_EQ(POLL_HUP, io_code);

	munmap((void *)map, 4096);
	EXPECT_EQ(0, close(fd));
	EXPECT_EQ(counter("opens") - self->opens,
		  counter("releases") - self->releases);
	EXPECT_EQ(0, dev_bind(self));
}

struct waiter {
	int fd;
	int kind;
	int ret;
	int err;
	short revents;
};

static void *waiter_fn(void *arg)
{
	struct waiter *w = arg;
	struct pollfd pfd = { .fd = w->fd, .events = POLLIN };
	struct epoll_event ev = { .events = EPOLLIN };
	__u32 ms = 60000;
	char buf[8];
	int ep;

	switch (w->kind) {
	case 0:
		w->ret = read(w->fd, buf, sizeof(buf));
		break;
	case 1:
		w->ret = ioctl(w->fd, TCR_IOC_SLEEP, &ms);
		break;
	case 2:
		w->ret = poll(&pfd, 1, 60000);
		w->revents = pfd.revents;
		break;
	case 3:
		ep = epoll_create1(0);
		epoll_ctl(ep, EPOLL_CTL_ADD, w->fd, &ev);
		w->ret = epoll_wait(ep, &ev, 1, 60000);
		w->revents = ev.events;
		close(ep);
		break;
	}
	w->err = errno;
	return NULL;
}

/* Sleepers in the driver are woken by revocation and fail cleanly. */
TEST_F(dev, sleepers_woken)
{
	struct waiter w[4];
	pthread_t t[4];
	struct timespec t0, t1;
	int fd, i;

	fd = open(self->node, O_RDWR);
	ASSERT_LE(0, fd);
	for (i = 0; i < 4; i++) {
		w[i] = (struct waiter){ .fd = fd, .kind = i };
		ASSERT_EQ(0, pthread_create(&t[i], NULL, waiter_fn, &w[i]));
	}
	usleep(300000);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ASSERT_EQ(0, dev_unbind(self));
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	EXPECT_GT(20, t1.tv_sec - t0.tv_sec);
	EXPECT_EQ(-1, w[0].ret);
	EXPECT_EQ(ENODEV, w[0].err);
	EXPECT_EQ(-1, w[1].ret);
	EXPECT_EQ(ENODEV, w[1].err);
	EXPECT_EQ(1, w[2].ret);
	EXPECT_EQ(POLLERR | POLLHUP, w[2].revents & (POLLERR | POLLHUP));
	EXPECT_EQ(1, w[3].ret);
	EXPECT_EQ(EPOLLERR | EPOLLHUP, w[3].revents & (EPOLLERR | EPOLLHUP));
	close(fd);
	EXPECT_EQ(0, dev_bind(self));
}

/*
 * io_uring requests in flight at unbind: async reads queued by the
 * driver, uring_cmds waiting for an event, a poll.  Every one completes,
 * with success or the device's errno.
 */
TEST_F(dev, io_uring_inflight)
{
	struct io_uring ring;
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	struct __kernel_timespec ts = { .tv_sec = 20 };
	char bufs[8][8];
	int fd, i, n = 0, done = 0;

	ASSERT_EQ(0, io_uring_queue_init(32, &ring, 0));
	fd = open(self->node, O_RDWR);
	ASSERT_LE(0, fd);

	/* A command that completes at once. */
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_rw(IORING_OP_URING_CMD, sqe, fd, NULL, 0, 0);
	sqe->cmd_op = TCR_URING_ID;
	ASSERT_EQ(1, io_uring_submit(&ring));
	ASSERT_EQ(0, io_uring_wait_cqe_timeout(&ring, &cqe, &ts));
	EXPECT_LE(0, cqe->res);
	io_uring_cqe_seen(&ring, cqe);

	/*
	 * Reads issued inline (the driver sets FMODE_NOWAIT) and reads
	 * forced onto io-wq workers; the driver queues both.
	 */
	for (i = 0; i < 6; i++, n++) {
		sqe = io_uring_get_sqe(&ring);
		io_uring_prep_read(sqe, fd, bufs[i], 8, 0);
		if (i >= 3)
			sqe->flags |= IOSQE_ASYNC;
	}
	for (i = 0; i < 3; i++, n++) {
		sqe = io_uring_get_sqe(&ring);
		io_uring_prep_rw(IORING_OP_URING_CMD, sqe, fd, NULL, 0, 0);
		sqe->cmd_op = TCR_URING_WAIT;
	}
	io_uring_prep_poll_add(io_uring_get_sqe(&ring), fd, POLLIN);
	n++;
	ASSERT_EQ(n, io_uring_submit(&ring));
	usleep(10000);
	ASSERT_EQ(0, dev_unbind(self));

	while (done < n) {
		ASSERT_EQ(0, io_uring_wait_cqe_timeout(&ring, &cqe, &ts));
		EXPECT_TRUE(cqe->res >= 0 || cqe->res == -ENODEV)
			TH_LOG("cqe res %d", cqe->res);
		io_uring_cqe_seen(&ring, cqe);
		done++;
	}
	close(fd);
	io_uring_queue_exit(&ring);
	EXPECT_EQ(0, dev_bind(self));
}

/* A stale fd never reaches the device bound again at the same dev_t. */
TEST_F(dev, stale_fd_after_rebind)
{
	struct stat st_old, st_new;
	char node[300];
	unsigned int id;
	int old, fresh;

	old = open(self->node, O_RDWR);
	ASSERT_LE(0, old);
	ASSERT_EQ(0, fstat(old, &st_old));
	ASSERT_EQ(0, dev_unbind(self));
	ASSERT_EQ(0, dev_bind(self));
	ASSERT_EQ(0, wait_node(self->devdir, node, sizeof(node)));
	fresh = open(node, O_RDWR);
	ASSERT_LE(0, fresh);
	ASSERT_EQ(0, fstat(fresh, &st_new));
	if (st_new.st_rdev != st_old.st_rdev)
		TH_LOG("rebound at another dev_t");
	EXPECT_EQ(0, ioctl(fresh, TCR_IOC_ID, &id));
	EXPECT_EQ(-1, ioctl(old, TCR_IOC_ID, &id));
	EXPECT_EQ(ENODEV, errno);
	close(old);
	close(fresh);
}

/* PCI remove and rescan instead of unbind. */
TEST_F(dev, pci_remove_rescan)
{
	char path[400], buf[8];
	int fd, i;

	if (!self->pci)
		SKIP(return, "PCI only");
	for (i = 0; i < 5; i++) {
		ASSERT_EQ(0, wait_node(self->devdir, self->node,
				       sizeof(self->node)));
		fd = open(self->node, O_RDWR);
		ASSERT_LE(0, fd);
		snprintf(path, sizeof(path), "%s/remove", self->devdir);
		ASSERT_EQ(0, write_str(path, "1"));
		EXPECT_EQ(-1, read(fd, buf, sizeof(buf)));
		EXPECT_EQ(ENODEV, errno);
		close(fd);
		ASSERT_EQ(0, write_str("/sys/bus/pci/rescan", "1"));
	}
	ASSERT_EQ(0, wait_node(self->devdir, self->node, sizeof(self->node)));
}

/* Load while the device goes and comes back, many times. */
struct loader {
	const char *node;
	atomic_bool *stop;
	atomic_long ops, ok, enodev, enxio, other;
	int last_other;
};

static void *loader_fn(void *arg)
{
	struct loader *l = arg;
	unsigned int id;
	__u32 ms = 5;
	char buf[8];
	int fd;

	while (!atomic_load(l->stop)) {
		fd = open(l->node, O_RDWR | O_NONBLOCK);
		if (fd < 0) {
			if (errno == ENXIO || errno == ENOENT || errno == ENODEV)
				atomic_fetch_add(&l->enxio, 1);
			else
				atomic_fetch_add(&l->other, 1);
			usleep(1000);
			continue;
		}
		for (int i = 0; i < 20; i++) {
			long r;

			switch (i % 4) {
			case 0:
				r = ioctl(fd, TCR_IOC_ID, &id);
				break;
			case 1:
				r = write(fd, buf, sizeof(buf));
				break;
			case 2:
				r = read(fd, buf, sizeof(buf));
				if (r < 0 && errno == EAGAIN)
					r = 0;
				break;
			default:
				r = ioctl(fd, TCR_IOC_SLEEP, &ms);
				break;
			}
			atomic_fetch_add(&l->ops, 1);
			if (r >= 0) {
				atomic_fetch_add(&l->ok, 1);
			} else if (errno == ENODEV) {
				atomic_fetch_add(&l->enodev, 1);
			} else {
				l->last_other = errno;
				atomic_fetch_add(&l->other, 1);
			}
		}
		close(fd);
	}
	return NULL;
}

TEST_F_TIMEOUT(dev, stress_unbind_bind, 4 * 3600)
{
	const char *c = getenv("TCR_CYCLES");
	int cycles = c ? atoi(c) : 500;
	atomic_bool stop = false;
	struct loader l[3];
	pthread_t t[3];
	long ops = 0, ok = 0, enodev = 0, enxio = 0, other = 0;
	int i;

	for (i = 0; i < 3; i++) {
		memset(&l[i], 0, sizeof(l[i]));
		l[i].node = self->node;
		l[i].stop = &stop;
		ASSERT_EQ(0, pthread_create(&t[i], NULL, loader_fn, &l[i]));
	}
	for (i = 0; i < cycles; i++) {
		usleep(2000);
		ASSERT_EQ(0, dev_unbind(self));
		ASSERT_EQ(0, dev_bind(self));
		ASSERT_EQ(0, wait_node(self->devdir, self->node,
				       sizeof(self->node)));
	}
	atomic_store(&stop, true);
	for (i = 0; i < 3; i++) {
		pthread_join(t[i], NULL);
		ops += l[i].ops;
		ok += l[i].ok;
		enodev += l[i].enodev;
		enxio += l[i].enxio;
		other += l[i].other;
		if (l[i].other)
			TH_LOG("unexpected errno %d", l[i].last_other);
	}
	TH_LOG("%d cycles, %ld operations: %ld ok, %ld ENODEV, %ld failed opens, %ld other",
	       cycles, ops, ok, enodev, enxio, other);
	EXPECT_EQ(0, other);
	EXPECT_LT(0, ok);
	EXPECT_EQ(counter("opens") - self->opens,
		  counter("releases") - self->releases);
}

TEST_HARNESS_MAIN
