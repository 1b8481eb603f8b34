// SPDX-License-Identifier: GPL-2.0
/*
 * cdev_revoke on real devices: the test_cdev_revoke driver (lib/) bound to
 * QEMU's edu PCI device and to platform devices, unbound and removed while
 * userspace holds its files open, sleeps in it and has io_uring requests
 * in flight.
 *
 * Environment: TCR_KO=path of test_cdev_revoke.ko (loaded if needed),
 * TCR_CYCLES=unbind/bind cycles of the stress test (default 250; make stress
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "util.h"

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

FIXTURE(dev) {
	char name[256];		/* sysfs device name */
	char devdir[320];
	char drv[128];
	char node[300];
	bool pci;
	long opens, releases, fasync_left;
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
	int ret = tcr_load_module();

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
	if (tcr_find_node(self->devdir, self->node, sizeof(self->node)))
		write_str(self->pci ? PCI_DRV "bind" : PLAT_DRV "bind", self->name);
	ASSERT_EQ(0, tcr_wait_node(self->devdir, self->node, sizeof(self->node)));
	self->opens = tcr_counter("opens");
	self->releases = tcr_counter("releases");
	self->fasync_left = tcr_counter("fasync_left");
}

FIXTURE_TEARDOWN(dev)
{
	char path[400];

	/* Leave the device bound for the next test. */
	snprintf(path, sizeof(path), "%s/driver", self->devdir);
	if (self->name[0] && access(path, F_OK))
		write_str(self->pci ? PCI_DRV "bind" : PLAT_DRV "bind", self->name);
	EXPECT_EQ(0, tcr_counter("fops_after_revoke"));
	/* fasync entries left on the driver's list after revocation */
	EXPECT_EQ(self->fasync_left, tcr_counter("fasync_left"));
}

static int dev_unbind(struct _test_data_dev *self)
{
	char path[200];

	snprintf(path, sizeof(path), "%sunbind", self->drv);
	return write_str(path, self->name);
}

static int dev_bind(struct _test_data_dev *self)
{
	char path[200];

	snprintf(path, sizeof(path), "%sbind", self->drv);
	return write_str(path, self->name);
}

static sigjmp_buf bus_jmp;
static int bus_hits, io_hits, io_code;

static void on_sigbus(int sig)
{
	tcr_store(bus_hits, tcr_load(bus_hits) + 1);
	siglongjmp(bus_jmp, 1);
}

static void on_sigio(int sig, siginfo_t *si, void *uc)
{
	tcr_store(io_hits, tcr_load(io_hits) + 1);
	tcr_store(io_code, si->si_code);
}

static bool id_ok(struct _test_data_dev *self, unsigned int id)
{
	return self->pci ? (id & EDU_ID_MASK) == EDU_ID : id == PLAT_ID;
}

/*
 * Everything a file can do fails cleanly once @remove made the device go
 * away: the errno, the hang-up poll mask, SIGBUS on the old mapping, SIGIO
 * with POLL_HUP; the driver released the file exactly once.
 */
static void check_revoke(struct __test_metadata *_metadata,
			 struct _test_data_dev *self,
			 int (*remove)(struct __test_metadata *_metadata,
				       struct _test_data_dev *self))
{
	struct sigaction sa = { .sa_sigaction = on_sigio, .sa_flags = SA_SIGINFO };
	long opens = tcr_counter("opens"), releases = tcr_counter("releases");
	struct pollfd pfd;
	unsigned int id = 0;
	unsigned int *map;
	char buf[8];
	int fd;

	fd = open(self->node, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(fd, TCR_IOC_ID, &id));
	ASSERT_TRUE(id_ok(self, id)) TH_LOG("id %#x", id);
	map = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	id = tcr_load(map[0]);
	ASSERT_TRUE(id_ok(self, id)) TH_LOG("mapped id %#x", id);

	tcr_store(io_hits, 0);
	tcr_store(io_code, 0);
	ASSERT_EQ(0, sigaction(SIGRTMIN + 1, &sa, NULL));
	ASSERT_EQ(0, fcntl(fd, F_SETOWN, getpid()));
	ASSERT_EQ(0, fcntl(fd, F_SETSIG, SIGRTMIN + 1));
	ASSERT_EQ(0, fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_ASYNC));

	ASSERT_EQ(0, remove(_metadata, self));
	EXPECT_EQ(1, tcr_counter("revokes") > 0);

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
	tcr_store(bus_hits, 0);
	if (!sigsetjmp(bus_jmp, 1))
		(void)tcr_load(map[0]);
	EXPECT_EQ(1, tcr_load(bus_hits));
	signal(SIGBUS, SIG_DFL);

	/* SIGIO with POLL_HUP was sent at revocation. */
	EXPECT_EQ(1, tcr_load(io_hits) >= 1);
	EXPECT_EQ(POLL_HUP, tcr_load(io_code));

	munmap(map, 4096);
	EXPECT_EQ(0, close(fd));
	EXPECT_EQ(tcr_counter("opens") - opens, tcr_counter("releases") - releases);
}

static int remove_unbind(struct __test_metadata *_metadata,
			 struct _test_data_dev *self)
{
	return dev_unbind(self);
}

TEST_F(dev, after_unbind)
{
	check_revoke(_metadata, self, remove_unbind);
	EXPECT_EQ(0, dev_bind(self));
}

/* Sleepers in the driver are woken by revocation and fail cleanly. */
TEST_F(dev, sleepers_woken)
{
	struct tcr_waiter w[4];
	pthread_t t[4];
	struct timespec t0, t1;
	int fd, i;

	fd = open(self->node, O_RDWR);
	ASSERT_LE(0, fd);
	for (i = 0; i < 4; i++) {
		w[i] = (struct tcr_waiter){ .fd = fd, .kind = i };
		ASSERT_EQ(0, pthread_create(&t[i], NULL, tcr_waiter_fn, &w[i]));
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

/*
 * A SIGIO user that closes its file as soon as POLL_HUP arrives: the
 * revocation sends POLL_HUP before it detaches the files, so the close
 * races with the detach.  Either way the driver's fasync entry for the
 * file must be gone after revocation (debugfs fasync_left, checked by
 * the fixture too); a leftover one points at a freed file.
 */
struct hup_closer {
	int fd;
	pid_t tid;
	int got;
};

static void *hup_closer_fn(void *arg)
{
	struct hup_closer *h = arg;
	struct timespec ts = { .tv_sec = 20 };
	sigset_t set;
	siginfo_t si;

	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN + 3);
	__atomic_store_n(&h->tid, gettid(), __ATOMIC_RELEASE);
	while (sigtimedwait(&set, &si, &ts) == SIGRTMIN + 3) {
		if (si.si_code == POLL_HUP) {
			close(h->fd);
			h->got = 1;
			break;
		}
	}
	return NULL;
}

TEST_F(dev, sigio_close_at_hangup)
{
	long left = tcr_counter("fasync_left");
	struct f_owner_ex owner = { .type = F_OWNER_TID };
	struct hup_closer h;
	sigset_t set, old;
	pthread_t t;
	int i, hups = 0;

	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN + 3);
	ASSERT_EQ(0, pthread_sigmask(SIG_BLOCK, &set, &old));
	for (i = 0; i < 30; i++) {
		ASSERT_EQ(0, tcr_wait_node(self->devdir, self->node, sizeof(self->node)));
		h = (struct hup_closer){ .fd = open(self->node, O_RDWR) };
		ASSERT_LE(0, h.fd);
		ASSERT_EQ(0, pthread_create(&t, NULL, hup_closer_fn, &h));
		while (!__atomic_load_n(&h.tid, __ATOMIC_ACQUIRE))
			usleep(1000);
		owner.pid = h.tid;
		ASSERT_EQ(0, fcntl(h.fd, F_SETOWN_EX, &owner));
		ASSERT_EQ(0, fcntl(h.fd, F_SETSIG, SIGRTMIN + 3));
		ASSERT_EQ(0, fcntl(h.fd, F_SETFL,
				   fcntl(h.fd, F_GETFL) | O_ASYNC));
		ASSERT_EQ(0, dev_unbind(self));
		pthread_join(t, NULL);
		hups += h.got;
		if (!h.got)
			close(h.fd);
		ASSERT_EQ(0, dev_bind(self));
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	EXPECT_EQ(30, hups);
	EXPECT_EQ(left, tcr_counter("fasync_left"))
		TH_LOG("%ld fasync entries left on the driver's list",
		       tcr_counter("fasync_left") - left);
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
	ASSERT_EQ(0, tcr_wait_node(self->devdir, node, sizeof(node)));
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

/*
 * mknod nodes that outlive the device: an unprivileged holder of a file
 * on a 0666 node that has been unlinked cannot reach the device bound
 * again at its dev_t by reopening it through /proc/self/fd (the new
 * device's own node is root-only); a node that is still linked can.
 */
TEST_F(dev, unlinked_node_after_rebind)
{
	const char *gone = "/tmp/tcr_unlinked", *kept = "/tmp/tcr_linked";
	int to_child[2], to_parent[2], res[2] = { -1, -1 }, status;
	struct stat st, st_new;
	char node[300], c;
	pid_t pid;

	ASSERT_EQ(0, stat(self->node, &st));
	unlink(gone);
	unlink(kept);
	ASSERT_EQ(0, mknod(gone, S_IFCHR | 0666, st.st_rdev));
	ASSERT_EQ(0, mknod(kept, S_IFCHR | 0666, st.st_rdev));
	ASSERT_EQ(0, chmod(gone, 0666));	/* past the umask */
	ASSERT_EQ(0, chmod(kept, 0666));
	ASSERT_EQ(0, pipe(to_child));
	ASSERT_EQ(0, pipe(to_parent));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		char path[64];
		int fds[2], i;

		if (setgid(65534) || setuid(65534))
			_exit(2);
		fds[0] = open(gone, O_RDONLY);
		fds[1] = open(kept, O_RDONLY);
		if (fds[0] < 0 || fds[1] < 0)
			_exit(3);
		if (write(to_parent[1], "o", 1) != 1 || read(to_child[0], &c, 1) != 1)
			_exit(4);
		for (i = 0; i < 2; i++) {
			unsigned int id;
			int fd;

			snprintf(path, sizeof(path), "/proc/self/fd/%d", fds[i]);
			fd = open(path, O_RDONLY);
			res[i] = fd < 0 ? errno : ioctl(fd, TCR_IOC_ID, &id) ? -errno : 0;
		}
		_exit(write(to_parent[1], res, sizeof(res)) == sizeof(res) ? 0 : 5);
	}
	ASSERT_EQ(1, read(to_parent[0], &c, 1));
	ASSERT_EQ(0, unlink(gone));
	ASSERT_EQ(0, dev_unbind(self));
	ASSERT_EQ(0, dev_bind(self));
	ASSERT_EQ(0, tcr_wait_node(self->devdir, node, sizeof(node)));
	ASSERT_EQ(0, stat(node, &st_new));
	ASSERT_EQ(1, write(to_child[1], "g", 1));
	ASSERT_EQ(sizeof(res), read(to_parent[0], res, sizeof(res)));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, WEXITSTATUS(status));
	unlink(kept);
	if (st_new.st_rdev != st.st_rdev)
		SKIP(return, "rebound at another dev_t");
	EXPECT_EQ(0, st_new.st_mode & 0077) TH_LOG("new node mode %o", st_new.st_mode);
	/* The unlinked node: refused. */
	EXPECT_EQ(ENXIO, res[0]);
	/* The linked one reaches the new device (its ioctl works). */
	EXPECT_EQ(0, res[1]);
}

struct ep_waiter {
	int epfd;
	int woke;
};

static void *ep_wait_fn(void *arg)
{
	struct ep_waiter *w = arg;
	struct epoll_event ev;

	w->woke = epoll_wait(w->epfd, &ev, 1, 3000) == 1 && (ev.events & EPOLLIN);
	return NULL;
}

/*
 * The driver's wake-ups reach epoll through the core's forwarding as they
 * would directly: one event wakes every epoll instance waiting without
 * EPOLLEXCLUSIVE, and at least one of those waiting with it.
 */
TEST_F(dev, epoll_exclusive_forwarding)
{
	struct ep_waiter w[4];
	pthread_t t[4];
	char node[300];
	int fd, i, excl;

	/* A freshly bound device: no event pending, not readable. */
	ASSERT_EQ(0, dev_unbind(self));
	ASSERT_EQ(0, dev_bind(self));
	ASSERT_EQ(0, tcr_wait_node(self->devdir, node, sizeof(node)));
	fd = open(node, O_RDWR | O_NONBLOCK);
	ASSERT_LE(0, fd);
	for (i = 0; i < 4; i++) {
		struct epoll_event ev = {
			.events = EPOLLIN | (i >= 2 ? EPOLLEXCLUSIVE : 0),
		};

		w[i].woke = 0;
		w[i].epfd = epoll_create1(0);
		ASSERT_LE(0, w[i].epfd);
		ASSERT_EQ(0, epoll_ctl(w[i].epfd, EPOLL_CTL_ADD, fd, &ev));
	}
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, ep_wait_fn, &w[i]));
	usleep(300000);		/* all four asleep in epoll_wait() */
	/* write() raises one event, woken with wake_up_interruptible_poll() */
	ASSERT_EQ(1, write(fd, "e", 1));
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	EXPECT_EQ(1, w[0].woke);
	EXPECT_EQ(1, w[1].woke);
	excl = w[2].woke + w[3].woke;
	EXPECT_LE(1, excl);
	TH_LOG("EPOLLEXCLUSIVE waiters woken: %d of 2", excl);
	for (i = 0; i < 4; i++)
		close(w[i].epfd);
	close(fd);
}

/* PCI remove and rescan instead of unbind. */
TEST_F(dev, pci_remove_rescan)
{
	char path[400], buf[8];
	int fd, i;

	if (!self->pci)
		SKIP(return, "PCI only");
	for (i = 0; i < 5; i++) {
		ASSERT_EQ(0, tcr_wait_node(self->devdir, self->node, sizeof(self->node)));
		fd = open(self->node, O_RDWR);
		ASSERT_LE(0, fd);
		snprintf(path, sizeof(path), "%s/remove", self->devdir);
		ASSERT_EQ(0, write_str(path, "1"));
		EXPECT_EQ(-1, read(fd, buf, sizeof(buf)));
		EXPECT_EQ(ENODEV, errno);
		close(fd);
		ASSERT_EQ(0, write_str("/sys/bus/pci/rescan", "1"));
	}
	ASSERT_EQ(0, tcr_wait_node(self->devdir, self->node, sizeof(self->node)));
}

/*
 * Load while the device goes and comes back, many times: threads doing
 * plain calls, blocking reads, sleeping ioctls, poll and epoll waits, mmap
 * touches and SIGIO, and io_uring rings with many requests in flight.
 * Every operation must give success or the documented outcome of a
 * revoked device (ENODEV; ENOENT/ENXIO for opens; POLLERR|POLLHUP;
 * SIGBUS; SIGIO with POLL_HUP).  Counted by kind.
 */
enum op_kind {
	K_OPEN, K_IOCTL, K_WRITE, K_READ_NB, K_READ, K_SLEEP, K_POLL, K_EPOLL,
	K_MMAP, K_TOUCH, K_SIGIO, K_U_READ, K_U_READ_WQ, K_U_READV, K_U_WRITE,
	K_U_POLL, K_U_CMD, K_U_WAIT, K_NR
};

static const char *const kind_name[K_NR] = {
	"open", "ioctl", "write", "read-nonblock", "read-blocking",
	"ioctl-sleep", "poll", "epoll", "mmap", "mmap-touch", "sigio",
	"uring-read", "uring-read-iowq", "uring-readv", "uring-write",
	"uring-poll", "uring-cmd", "uring-cmd-wait",
};

struct stress {
	atomic_bool stop;
	bool pci;
	pthread_mutex_t lock;		/* node */
	char node[300];
	atomic_long ops[K_NR], ok[K_NR], gone[K_NR], other[K_NR];
	atomic_int last_other[K_NR];
	atomic_long hup;		/* poll results with POLLERR|POLLHUP */
	atomic_long sig_in, sig_hup, sig_overflow, sig_bad;
	atomic_long uring_stuck;
};

static struct stress *S;

static void tally(enum op_kind k, long r, int err)
{
	atomic_fetch_add(&S->ops[k], 1);
	if (r >= 0) {
		atomic_fetch_add(&S->ok[k], 1);
	} else if (err == ENODEV || (k == K_OPEN && (err == ENXIO ||
						     err == ENOENT))) {
		atomic_fetch_add(&S->gone[k], 1);
	} else {
		atomic_store(&S->last_other[k], err);
		atomic_fetch_add(&S->other[k], 1);
	}
}

/* A poll mask is fine if it is a normal one or the revoked one. */
static void tally_mask(enum op_kind k, unsigned int mask)
{
	if (mask & (POLLNVAL | EPOLLRDHUP) ||
	    ((mask & POLLERR) && !(mask & POLLHUP))) {
		atomic_store(&S->last_other[k], mask);
		atomic_fetch_add(&S->ops[k], 1);
		atomic_fetch_add(&S->other[k], 1);
		return;
	}
	if (mask & POLLHUP) {
		atomic_fetch_add(&S->hup, 1);
		tally(k, -1, ENODEV);
	} else {
		tally(k, 0, 0);
	}
}

static bool stopped(void)
{
	return atomic_load(&S->stop);
}

/* Open the current node; -1 (counted) while the device is away. */
static int s_open(int flags)
{
	char node[300];
	int fd;

	pthread_mutex_lock(&S->lock);
	memcpy(node, S->node, sizeof(node));
	pthread_mutex_unlock(&S->lock);
	fd = open(node, flags);
	tally(K_OPEN, fd, errno);
	if (fd < 0)		/* the device is away: do not spin */
		usleep(5000);
	return fd;
}

static void *syscall_fn(void *arg)
{
	unsigned int id;
	__u32 ms = 5;
	char buf[8];
	long r;
	int fd;

	while (!stopped()) {
		fd = s_open(O_RDWR | O_NONBLOCK);
		if (fd < 0)
			continue;
		for (int i = 0; i < 20; i++) {
			switch (i % 4) {
			case 0:
				r = ioctl(fd, TCR_IOC_ID, &id);
				tally(K_IOCTL, r, errno);
				break;
			case 1:
				r = write(fd, buf, sizeof(buf));
				tally(K_WRITE, r, errno);
				break;
			case 2:
				r = read(fd, buf, sizeof(buf));
				if (r < 0 && errno == EAGAIN)
					r = 0;
				tally(K_READ_NB, r, errno);
				break;
			default:
				r = ioctl(fd, TCR_IOC_SLEEP, &ms);
				tally(K_SLEEP, r, errno);
				break;
			}
		}
		close(fd);
	}
	return NULL;
}

/* Blocks until an event (the writers) or the revocation. */
static void *reader_fn(void *arg)
{
	char buf[8];
	long r;
	int fd;

	while (!stopped()) {
		fd = s_open(O_RDWR);
		if (fd < 0)
			continue;
		do {
			r = read(fd, buf, sizeof(buf));
			tally(K_READ, r, errno);
			if (r >= 0)	/* no event to wait for: yield */
				usleep(500);
		} while (r >= 0 && !stopped());
		close(fd);
	}
	return NULL;
}

/* Sleeps in the driver; the revocation wakes it. */
static void *sleeper_fn(void *arg)
{
	__u32 ms = 30;
	long r;
	int fd;

	while (!stopped()) {
		fd = s_open(O_RDWR);
		if (fd < 0)
			continue;
		do {
			r = ioctl(fd, TCR_IOC_SLEEP, &ms);
			tally(K_SLEEP, r, errno);
		} while (r >= 0 && !stopped());
		close(fd);
	}
	return NULL;
}

static void *poller_fn(void *arg)
{
	struct pollfd pfd;
	int fd, r;

	while (!stopped()) {
		fd = s_open(O_RDWR);
		if (fd < 0)
			continue;
		do {
			pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
			r = poll(&pfd, 1, 50);
			if (r < 0)
				tally(K_POLL, r, errno);
			else
				tally_mask(K_POLL, r ? pfd.revents : 0);
			usleep(500);
		} while (r >= 0 && !(pfd.revents & POLLHUP) && !stopped());
		close(fd);
	}
	return NULL;
}

static void *epoller_fn(void *arg)
{
	struct epoll_event ev;
	int ep = epoll_create1(0), fd, r;

	while (!stopped()) {
		fd = s_open(O_RDWR);
		if (fd < 0)
			continue;
		ev = (struct epoll_event){ .events = EPOLLIN };
		r = epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
		tally(K_EPOLL, r, errno);
		while (!r && !stopped()) {
			ev.events = 0;
			r = epoll_wait(ep, &ev, 1, 50);
			if (r < 0) {
				tally(K_EPOLL, r, errno);
				break;
			}
			tally_mask(K_EPOLL, r ? ev.events : 0);
			if (ev.events & EPOLLHUP)
				break;
			usleep(500);
			r = 0;
		}
		close(fd);
	}
	close(ep);
	return NULL;
}

static __thread sigjmp_buf touch_jmp;
static __thread int touch_armed;

static void on_touch_sigbus(int sig)
{
	if (!tcr_load(touch_armed)) {
		signal(SIGBUS, SIG_DFL);
		raise(SIGBUS);
	}
	siglongjmp(touch_jmp, 1);
}

/* Maps the device, touches the mapping until SIGBUS, maps it again. */
static void *toucher_fn(void *arg)
{
	unsigned int *map;
	unsigned int v;
	bool ok;
	int fd;

	while (!stopped()) {
		fd = s_open(O_RDWR);
		if (fd < 0)
			continue;
		map = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
		tally(K_MMAP, map == MAP_FAILED ? -1 : 0, errno);
		while (map != MAP_FAILED && !stopped()) {
			tcr_store(touch_armed, 1);
			if (sigsetjmp(touch_jmp, 1)) {
				tcr_store(touch_armed, 0);
				tally(K_TOUCH, -1, ENODEV);	/* SIGBUS */
				break;
			}
			v = tcr_load(map[0]);
			tcr_store(touch_armed, 0);
			ok = S->pci ? (v & EDU_ID_MASK) == EDU_ID : v == PLAT_ID;
			tally(K_TOUCH, ok ? 0 : -1, ok ? 0 : EILSEQ);
			usleep(200);
		}
		if (map != MAP_FAILED)
			munmap(map, 4096);
		close(fd);
	}
	return NULL;
}

/* Owns its file's SIGIO (F_SETOWN_EX to this thread, F_SETSIG). */
static void *sigio_fn(void *arg)
{
	struct f_owner_ex owner = { .type = F_OWNER_TID, .pid = gettid() };
	struct timespec ts = { .tv_nsec = 50 * 1000 * 1000 };
	sigset_t set;
	siginfo_t si;
	int fd, sig;

	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN + 2);
	sigaddset(&set, SIGIO);
	while (!stopped()) {
		fd = s_open(O_RDWR);
		if (fd < 0)
			continue;
		if (fcntl(fd, F_SETOWN_EX, &owner) ||
		    fcntl(fd, F_SETSIG, SIGRTMIN + 2) ||
		    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_ASYNC)) {
			tally(K_SIGIO, -1, errno);
			close(fd);
			continue;
		}
		while (!stopped()) {
			sig = sigtimedwait(&set, &si, &ts);
			if (sig < 0) {
				/* revoked before O_ASYNC took: no POLL_HUP */
				struct pollfd pfd = { .fd = fd };

				if (poll(&pfd, 1, 0) == 1 &&
				    pfd.revents & POLLHUP)
					break;
				continue;
			}
			if (sig == SIGIO) {	/* the RT queue overflowed */
				atomic_fetch_add(&S->sig_overflow, 1);
				continue;
			}
			if (si.si_code == POLL_IN) {
				atomic_fetch_add(&S->sig_in, 1);
				tally(K_SIGIO, 0, 0);
			} else if (si.si_code == POLL_HUP) {
				atomic_fetch_add(&S->sig_hup, 1);
				tally(K_SIGIO, -1, ENODEV);
				if (si.si_fd == fd)
					break;
			} else {
				atomic_fetch_add(&S->sig_bad, 1);
				tally(K_SIGIO, -1, EBADMSG);
			}
		}
		close(fd);
	}
	return NULL;
}

#define RING_BATCH	32

/*
 * A batch of RING_BATCH requests of every kind in flight on one file,
 * drained before the next; a nudge (an event) every 100 ms completes the
 * ones that wait for an event.  A batch that does not drain in 30 s is a
 * hang.
 */
static void *uring_fn(void *arg)
{
	static const enum op_kind kinds[] = {
		K_U_READ, K_U_READ_WQ, K_U_READV, K_U_WRITE, K_U_POLL,
		K_U_CMD, K_U_WAIT, K_U_READ,
	};
	struct __kernel_timespec ts = { .tv_nsec = 100 * 1000 * 1000 };
	char bufs[RING_BATCH][8], wbuf[8] = "x";
	struct iovec iov[RING_BATCH][2];
	struct io_uring ring;
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	int fd = -1, i, n, done, waits;
	bool revoked;
	long r;

	i = io_uring_queue_init(2 * RING_BATCH, &ring, 0);
	if (i) {
		tally(K_U_READ, -1, -i);
		return NULL;
	}
	while (!stopped()) {
		if (fd < 0)
			fd = s_open(O_RDWR);
		if (fd < 0)
			continue;
		for (i = 0; i < RING_BATCH; i++) {
			enum op_kind k = kinds[i % 8];

			sqe = io_uring_get_sqe(&ring);
			switch (k) {
			case K_U_READ:
			case K_U_READ_WQ:
				io_uring_prep_read(sqe, fd, bufs[i], 8, 0);
				if (k == K_U_READ_WQ)
					sqe->flags |= IOSQE_ASYNC;
				break;
			case K_U_READV:
				iov[i][0] = (struct iovec){ bufs[i], 4 };
				iov[i][1] = (struct iovec){ bufs[i] + 4, 4 };
				io_uring_prep_readv(sqe, fd, iov[i], 2, 0);
				break;
			case K_U_WRITE:
				io_uring_prep_write(sqe, fd, wbuf, 1, 0);
				break;
			case K_U_POLL:
				io_uring_prep_poll_add(sqe, fd, POLLIN);
				break;
			default:
				io_uring_prep_rw(IORING_OP_URING_CMD, sqe, fd,
						 NULL, 0, 0);
				sqe->cmd_op = k == K_U_CMD ? TCR_URING_ID :
							     TCR_URING_WAIT;
				break;
			}
			io_uring_sqe_set_data64(sqe, k);
		}
		n = io_uring_submit(&ring);
		if (n != RING_BATCH) {
			tally(K_U_READ, -1, n < 0 ? -n : EPROTO);
			if (n <= 0)
				break;
		}
		revoked = false;
		for (done = 0, waits = 0; done < n && waits < 300;) {
			if (io_uring_wait_cqe_timeout(&ring, &cqe, &ts)) {
				/* complete the requests waiting for an event */
				r = write(fd, wbuf, 1);
				tally(K_WRITE, r, errno);
				waits++;
				continue;
			}
			enum op_kind k = io_uring_cqe_get_data64(cqe);

			if (k == K_U_POLL && cqe->res >= 0)
				tally_mask(k, cqe->res);
			else
				tally(k, cqe->res, -cqe->res);
			if (cqe->res == -ENODEV ||
			    (k == K_U_POLL && cqe->res > 0 && cqe->res & POLLHUP))
				revoked = true;
			io_uring_cqe_seen(&ring, cqe);
			done++;
		}
		if (done < n) {
			atomic_fetch_add(&S->uring_stuck, n - done);
			break;		/* not safe to reuse the buffers */
		}
		if (revoked) {
			close(fd);
			fd = -1;
		}
	}
	if (fd >= 0)
		close(fd);
	io_uring_queue_exit(&ring);
	return NULL;
}

static void *(*const load_fns[])(void *) = {
	syscall_fn, syscall_fn, reader_fn, sleeper_fn, poller_fn, epoller_fn,
	toucher_fn, sigio_fn, uring_fn, uring_fn,
};

#define N_LOAD	ARRAY_SIZE(load_fns)

TEST_F_TIMEOUT(dev, stress_unbind_bind, 4 * 3600)
{
	const char *c = getenv("TCR_CYCLES");
	int cycles = c ? atoi(c) : 250;
	struct sigaction sa = { .sa_handler = on_touch_sigbus }, old_sa;
	long ops = 0, ok = 0, gone = 0, opens_failed, other = 0;
	sigset_t set, old_set;
	pthread_t t[N_LOAD];
	struct timespec t0, t1;
	unsigned int i;
	int fd;

	S = calloc(1, sizeof(*S));
	ASSERT_NE(NULL, S);
	S->pci = self->pci;
	pthread_mutex_init(&S->lock, NULL);
	memcpy(S->node, self->node, sizeof(S->node));
	ASSERT_EQ(0, sigaction(SIGBUS, &sa, &old_sa));
	/* the SIGIO listener takes its signals with sigtimedwait() */
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN + 2);
	sigaddset(&set, SIGIO);
	ASSERT_EQ(0, pthread_sigmask(SIG_BLOCK, &set, &old_set));
	for (i = 0; i < N_LOAD; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, load_fns[i], NULL));

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < cycles; i++) {
		usleep(2000);
		ASSERT_EQ(0, dev_unbind(self));
		ASSERT_EQ(0, dev_bind(self));
		ASSERT_EQ(0, tcr_wait_node(self->devdir, self->node, sizeof(self->node)));
		pthread_mutex_lock(&S->lock);
		memcpy(S->node, self->node, sizeof(S->node));
		pthread_mutex_unlock(&S->lock);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);

	/*
	 * Stop: one more revocation wakes every sleeper, and an event on the
	 * device bound after it keeps a reader that opened it from blocking.
	 */
	atomic_store(&S->stop, true);
	ASSERT_EQ(0, dev_unbind(self));
	ASSERT_EQ(0, dev_bind(self));
	ASSERT_EQ(0, tcr_wait_node(self->devdir, self->node, sizeof(self->node)));
	fd = open(self->node, O_RDWR);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, ioctl(fd, TCR_IOC_EVENT));
	close(fd);
	for (i = 0; i < N_LOAD; i++)
		pthread_join(t[i], NULL);
	pthread_sigmask(SIG_SETMASK, &old_set, NULL);
	sigaction(SIGBUS, &old_sa, NULL);

	for (i = 0; i < K_NR; i++) {
		TH_LOG("op %-16s %9ld ops: %9ld ok, %8ld revoked, %ld other%s%.0d",
		       kind_name[i], S->ops[i], S->ok[i], S->gone[i],
		       S->other[i], S->other[i] ? ", last " : "",
		       S->other[i] ? S->last_other[i] : 0);
		EXPECT_LT(0, S->ops[i]) TH_LOG("%s never ran", kind_name[i]);
		EXPECT_EQ(0, S->other[i]);
		ops += S->ops[i];
		ok += S->ok[i];
		other += S->other[i];
		if (i != K_OPEN)
			gone += S->gone[i];
	}
	opens_failed = S->gone[K_OPEN];
	TH_LOG("signals: SIGIO POLL_IN %ld, POLL_HUP %ld, queue overflow %ld, other %ld;",
	       S->sig_in, S->sig_hup, S->sig_overflow, S->sig_bad);
	TH_LOG("poll hang-ups %ld", S->hup);
	TH_LOG("%d cycles in %ld s, %ld operations: %ld ok, %ld ENODEV,",
	       cycles, (long)(t1.tv_sec - t0.tv_sec), ops, ok, gone);
	TH_LOG("failed opens %ld, other %ld", opens_failed, other);
	EXPECT_EQ(0, other);
	EXPECT_EQ(0, S->uring_stuck);
	EXPECT_EQ(0, S->sig_bad);
	if (cycles >= 50) {
		/* each way of seeing the revocation was seen */
		EXPECT_LT(0, S->gone[K_TOUCH]);		/* SIGBUS */
		EXPECT_LT(0, S->sig_hup);
		EXPECT_LT(0, S->hup);
		EXPECT_LT(0, S->gone[K_READ]);
		EXPECT_LT(0, S->gone[K_U_WAIT]);
	}
	EXPECT_EQ(tcr_counter("opens") - self->opens,
		  tcr_counter("releases") - self->releases);
	free(S);
}

/*
 * Real PCIe hot-unplug: the edu device sits behind a pcie-root-port of a
 * q35 machine; the host (scripts/qmp-hotplug.py) does device_del and
 * device_add through the QEMU monitor when asked through the results share
 * ($TCR_HOTPLUG/hotplug-req, answered in hotplug-ack).  pciehp removes the
 * device after its 5 s attention-button delay.  The last test of the
 * file: lockdep reports a lock order inside pciehp at the first unplug
 * (scripts/splat-known) and is off from then on.
 */
static int remove_hotplug(struct __test_metadata *_metadata,
			  struct _test_data_dev *self)
{
	int ret = tcr_hotplug("del");

	/* DEVICE_DELETED: the guest has removed it and powered the slot off */
	if (!ret && access(self->devdir, F_OK) == 0) {
		TH_LOG("%s still present after device_del", self->devdir);
		ret = -EBUSY;
	}
	return ret;
}

TEST_F_TIMEOUT(dev, pcie_hot_unplug, 900)
{
	unsigned int id, *map;
	int fd, i, cycle;

	if (!self->pci)
		SKIP(return, "PCI only");
	if (!getenv("TCR_HOTPLUG"))
		SKIP(return, "no host helper for device_del/device_add (TCR_HOTPLUG)");
	for (cycle = 0; cycle < 3; cycle++) {
		check_revoke(_metadata, self, remove_hotplug);
		ASSERT_EQ(0, tcr_hotplug("add"));
		/* pciehp enumerates the slot, the driver binds: a new node */
		for (i = 0; i < 60; i++)
			if (!tcr_wait_node(self->devdir, self->node, sizeof(self->node)))
				break;
		ASSERT_GT(60, i) TH_LOG("no node for %s after device_add", self->devdir);
		fd = open(self->node, O_RDWR);
		ASSERT_LE(0, fd);
		id = 0;
		EXPECT_EQ(0, ioctl(fd, TCR_IOC_ID, &id));
		EXPECT_TRUE(id_ok(self, id)) TH_LOG("id %#x after device_add", id);
		map = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
		ASSERT_NE(MAP_FAILED, map);
		id = tcr_load(map[0]);
		EXPECT_TRUE(id_ok(self, id)) TH_LOG("mapped id %#x", id);
		munmap(map, 4096);
		close(fd);
	}
}

TEST_HARNESS_MAIN
