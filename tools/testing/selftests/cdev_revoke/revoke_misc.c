// SPDX-License-Identifier: GPL-2.0
/*
 * What hangs off a revocable device besides its own files, on the test
 * driver (lib/test_cdev_revoke.c) with platform devices of its own, as a
 * cdev and as a misc device (misc_register() with revoke_info):
 *
 *  - a misc device removed or unbound while readers, pollers, epoll and
 *    io_uring wait in it: every waiter fails cleanly, then every call;
 *  - the driver's vm_operations ->open and ->close, which count its VMAs:
 *    before revocation every split, fork, mremap and munmap calls them as
 *    mm does, after it none does (the mappings SIGBUS);
 *  - child files (cdev_revoke_anon_getfd() in an ioctl): handed to another
 *    process over a UNIX socket, they outlive the device's file and are
 *    detached by the revocation like it;
 *  - tables without .owner in a module: refused for the device and for
 *    child files.
 *
 * Environment: TCR_KO=path of test_cdev_revoke.ko (loaded if needed).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/types.h>

#include "../kselftest_harness.h"
#include "util.h"

#define PG		4096
#define MISC_MAJOR	10
/* what poll() reports for POLLIN | POLLOUT on a revoked device */
#define REVOKED_MASK	(POLLIN | POLLOUT | POLLERR | POLLHUP)

FIXTURE(tcr) {
	int id;
	long after_revoke;	/* fops_after_revoke at the start */
	char devdir[128];
	char name[64];
	char node[300];
};

FIXTURE_VARIANT(tcr) {
	int id;
	bool misc;
};

FIXTURE_VARIANT_ADD(tcr, cdev) {
	.id = 20,
	.misc = false,
};

FIXTURE_VARIANT_ADD(tcr, misc) {
	.id = 21,
	.misc = true,
};

/* A fresh device for each test: no event pending, no file open. */
FIXTURE_SETUP(tcr)
{
	char c = 0;
	int ret = tcr_load_module(), fd;

	if (ret)
		SKIP(return, "test_cdev_revoke not loaded (TCR_KO): %s",
		     strerror(-ret));
	fd = open(DBG "optin", O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(1, read(fd, &c, 1));
	close(fd);
	ASSERT_EQ('Y', c);
	self->id = variant->id;
	self->after_revoke = tcr_counter("fops_after_revoke");
	snprintf(self->name, sizeof(self->name), "test-cdev-revoke.%d",
		 self->id);
	snprintf(self->devdir, sizeof(self->devdir), TCR_PLAT_DEVS "%d",
		 self->id);
	if (access(self->devdir, F_OK) == 0)
		ASSERT_EQ(0, tcr_platform_del(self->id));
	ASSERT_EQ(0, tcr_platform_add(self->id, variant->misc));
	ASSERT_EQ(0, tcr_wait_node(self->devdir, self->node,
				   sizeof(self->node)));
}

FIXTURE_TEARDOWN(tcr)
{
	write_str(DBG "noowner", "0");
	if (self->devdir[0] && access(self->devdir, F_OK) == 0)
		tcr_platform_del(self->id);
	/* no method of a revoked file reached the driver in this test */
	EXPECT_EQ(self->after_revoke, tcr_counter("fops_after_revoke"));
}

static int tcr_unbind(struct _test_data_tcr *self)
{
	return write_str(TCR_PLAT_DRV "unbind", self->name);
}

static int tcr_bind(struct _test_data_tcr *self)
{
	return write_str(TCR_PLAT_DRV "bind", self->name);
}

/* The file is on the kind of device the variant asked for. */
static void check_kind(struct __test_metadata *_metadata,
		       const struct _fixture_variant_tcr *variant, int fd)
{
	struct stat st;

	ASSERT_EQ(0, fstat(fd, &st));
	ASSERT_EQ(variant->misc, major(st.st_rdev) == MISC_MAJOR);
}

/* Every call on a revoked file fails cleanly, poll gives the hang-up. */
static void check_revoked_fd(struct __test_metadata *_metadata, int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN | POLLOUT };
	unsigned int id;
	char buf[8];

	EXPECT_EQ(-1, read(fd, buf, sizeof(buf)));
	EXPECT_EQ(ENODEV, errno);
	EXPECT_EQ(-1, ioctl(fd, TCR_IOC_ID, &id));
	EXPECT_EQ(ENODEV, errno);
	EXPECT_EQ(1, poll(&pfd, 1, 1000));
	EXPECT_EQ(REVOKED_MASK, pfd.revents);
}

/*
 * The device works as a device: ioctl, poll, read (an event raised by a
 * write), mapping.  Removed with the file open, the file is revoked and
 * released at once; a new device added under the same id opens.
 */
TEST_F(tcr, ops_remove_readd)
{
	long opens = tcr_counter("opens"), rels = tcr_counter("releases");
	struct pollfd pfd;
	unsigned int id = 0;
	unsigned int *map;
	struct stat st, st_new;
	__u64 events = 0;
	char node[300];
	int fd, fresh;

	fd = open(self->node, O_RDWR | O_NONBLOCK);
	ASSERT_LE(0, fd);
	check_kind(_metadata, variant, fd);
	ASSERT_EQ(0, fstat(fd, &st));
	ASSERT_EQ(0, ioctl(fd, TCR_IOC_ID, &id));
	EXPECT_EQ(TCR_PLAT_ID, id);
	EXPECT_EQ(-1, read(fd, &events, sizeof(events)));
	EXPECT_EQ(EAGAIN, errno);
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN | POLLOUT };
	EXPECT_EQ(1, poll(&pfd, 1, 1000));
	EXPECT_EQ(POLLOUT, pfd.revents);
	EXPECT_EQ(1, write(fd, "e", 1));
	EXPECT_EQ(1, poll(&pfd, 1, 1000));
	EXPECT_EQ(POLLIN | POLLOUT, pfd.revents);
	EXPECT_EQ(sizeof(events), read(fd, &events, sizeof(events)));
	EXPECT_EQ(1, events);
	map = mmap(NULL, PG, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	EXPECT_EQ(TCR_PLAT_ID, tcr_load(map[0]));
	munmap(map, PG);
	EXPECT_EQ(1, tcr_counter("opens") - opens);

	ASSERT_EQ(0, tcr_platform_del(self->id));
	/* released by the revocation, before the close */
	EXPECT_EQ(1, tcr_counter("releases") - rels);
	check_revoked_fd(_metadata, fd);
	EXPECT_EQ(-1, write(fd, "e", 1));
	EXPECT_EQ(ENODEV, errno);
	EXPECT_EQ(0, close(fd));
	EXPECT_EQ(1, tcr_counter("releases") - rels);

	ASSERT_EQ(0, tcr_platform_add(self->id, variant->misc));
	ASSERT_EQ(0, tcr_wait_node(self->devdir, node, sizeof(node)));
	fresh = open(node, O_RDWR);
	ASSERT_LE(0, fresh);
	check_kind(_metadata, variant, fresh);
	ASSERT_EQ(0, fstat(fresh, &st_new));
	if (st_new.st_rdev != st.st_rdev)
		TH_LOG("re-added at another dev_t: %u:%u, was %u:%u",
		       major(st_new.st_rdev), minor(st_new.st_rdev),
		       major(st.st_rdev), minor(st.st_rdev));
	EXPECT_EQ(0, ioctl(fresh, TCR_IOC_ID, &id));
	EXPECT_EQ(TCR_PLAT_ID, id);
	EXPECT_EQ(0, close(fresh));
	EXPECT_EQ(tcr_counter("opens") - opens,
		  tcr_counter("releases") - rels);
}

/* Waiters in the driver, then the device goes (@del: removed, else unbound). */
static void sleepers_woken(struct __test_metadata *_metadata,
			   struct _test_data_tcr *self,
			   const struct _fixture_variant_tcr *variant, bool del)
{
	long opens = tcr_counter("opens"), rels = tcr_counter("releases");
	struct __kernel_timespec ts = { .tv_sec = 20 };
	struct io_uring_cqe *cqe;
	struct io_uring_sqe *sqe;
	struct io_uring ring;
	struct tcr_waiter w[2 * TCR_W_NR];
	pthread_t t[2 * TCR_W_NR];
	long t0, waited;
	char bufs[4][8];
	int fd, fd2, i, n = 0;

	fd = open(self->node, O_RDWR);
	ASSERT_LE(0, fd);
	fd2 = open(self->node, O_RDWR);
	ASSERT_LE(0, fd2);
	check_kind(_metadata, variant, fd);
	for (i = 0; i < 2 * TCR_W_NR; i++) {
		w[i] = (struct tcr_waiter){ .fd = i < TCR_W_NR ? fd : fd2,
					.kind = i % TCR_W_NR };
		ASSERT_EQ(0, pthread_create(&t[i], NULL, tcr_waiter_fn, &w[i]));
	}

	/* uring_cmds waiting for an event, a poll; reads the driver queues */
	ASSERT_EQ(0, io_uring_queue_init(16, &ring, 0));
	for (i = 0; i < 3; i++, n++) {
		sqe = io_uring_get_sqe(&ring);
		io_uring_prep_rw(IORING_OP_URING_CMD, sqe, fd, NULL, 0, 0);
		sqe->cmd_op = 2;	/* TCR_URING_WAIT */
		io_uring_sqe_set_data64(sqe, 1);
	}
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_poll_add(sqe, fd, POLLIN);
	io_uring_sqe_set_data64(sqe, 2);
	n++;
	for (i = 0; i < 4; i++, n++) {
		sqe = io_uring_get_sqe(&ring);
		io_uring_prep_read(sqe, fd2, bufs[i], 8, 0);
		if (i & 1)
			sqe->flags |= IOSQE_ASYNC;
		io_uring_sqe_set_data64(sqe, 3);
	}
	ASSERT_EQ(n, io_uring_submit(&ring));
	usleep(300000);		/* every waiter asleep */
	for (i = 0; i < 2 * TCR_W_NR; i++)
		EXPECT_EQ(0, w[i].ret) TH_LOG("waiter %d returned early", i);

	t0 = now_ms();
	ASSERT_EQ(0, del ? tcr_platform_del(self->id) : tcr_unbind(self));
	for (i = 0; i < 2 * TCR_W_NR; i++)
		pthread_join(t[i], NULL);
	waited = now_ms() - t0;
	EXPECT_GT(20000, waited);
	for (i = 0; i < 2 * TCR_W_NR; i++) {
		switch (w[i].kind) {
		case TCR_W_READ:
		case TCR_W_SLEEP:
			EXPECT_EQ(-1, w[i].ret);
			EXPECT_EQ(ENODEV, w[i].err);
			break;
		default:
			EXPECT_EQ(1, w[i].ret);
			EXPECT_EQ(POLLERR | POLLHUP,
				  w[i].revents & (POLLERR | POLLHUP))
				TH_LOG("waiter %d revents %#x", i, w[i].revents);
		}
	}
	for (i = 0; i < n; i++) {
		__u64 kind;

		ASSERT_EQ(0, io_uring_wait_cqe_timeout(&ring, &cqe, &ts));
		kind = io_uring_cqe_get_data64(cqe);
		if (kind == 1) {	/* completed by the kick */
			EXPECT_EQ(-ENODEV, cqe->res);
		} else if (kind == 2) {
			EXPECT_EQ(POLLERR | POLLHUP,
				  cqe->res & (POLLERR | POLLHUP))
				TH_LOG("poll_add res %#x", cqe->res);
		} else {
			EXPECT_TRUE(cqe->res == 8 || cqe->res == -ENODEV)
				TH_LOG("read res %d", cqe->res);
		}
		io_uring_cqe_seen(&ring, cqe);
	}
	io_uring_queue_exit(&ring);

	/* both files released by the revocation, exactly once */
	EXPECT_EQ(2, tcr_counter("opens") - opens);
	EXPECT_EQ(2, tcr_counter("releases") - rels);
	check_revoked_fd(_metadata, fd);
	check_revoked_fd(_metadata, fd2);
	EXPECT_EQ(0, close(fd));
	EXPECT_EQ(0, close(fd2));
	EXPECT_EQ(2, tcr_counter("releases") - rels);

	/* back: a new file works */
	ASSERT_EQ(0, del ? tcr_platform_add(self->id, variant->misc) : tcr_bind(self));
	ASSERT_EQ(0, tcr_wait_node(self->devdir, self->node,
				   sizeof(self->node)));
	fd = open(self->node, O_RDWR);
	ASSERT_LE(0, fd);
	check_kind(_metadata, variant, fd);
	EXPECT_EQ(0, ioctl(fd, TCR_IOC_EVENT));
	EXPECT_EQ(0, close(fd));
}

TEST_F(tcr, sleepers_woken_at_remove)
{
	sleepers_woken(_metadata, self, variant, true);
}

TEST_F(tcr, sleepers_woken_at_unbind)
{
	sleepers_woken(_metadata, self, variant, false);
}

/*
 * VMAs and the driver's vm_operations.  A child process touches a page
 * on request and answers with what it read (or 0 for a SIGBUS).
 */
static sigjmp_buf bus_jmp;

static void on_sigbus(int sig)
{
	siglongjmp(bus_jmp, 1);
}

/* *@p, or 0 if reading it is a SIGBUS. */
static unsigned int touch(unsigned int *p)
{
	struct sigaction sa = { .sa_handler = on_sigbus }, old;
	unsigned int v = 0;

	sigaction(SIGBUS, &sa, &old);
	if (!sigsetjmp(bus_jmp, 1))
		v = tcr_load(*p);
	sigaction(SIGBUS, &old, NULL);
	return v;
}

struct vma_counts {
	long live, opens, closes, fops;
};

static struct vma_counts vma_counts(void)
{
	return (struct vma_counts){
		.live = tcr_counter("vmas"),
		.opens = tcr_counter("vma_opens"),
		.closes = tcr_counter("vma_closes"),
		.fops = tcr_counter("fops"),
	};
}

/* The child's side: 't' touch both pages, 's' split, 'q' exit. */
static void vma_child(int sk, unsigned int *map)
{
	unsigned int v[2];
	char c;

	while (read(sk, &c, 1) == 1) {
		switch (c) {
		case 't':
			v[0] = touch(map);
			v[1] = touch(map + PG / 4);
			if (write(sk, v, sizeof(v)) != sizeof(v))
				_exit(1);
			break;
		case 's':	/* split the VMA, unmap its first page */
			c = munmap(map, PG) ? 'E' : 'k';
			if (write(sk, &c, 1) != 1)
				_exit(1);
			break;
		case 'q':
			_exit(0);
		}
	}
	_exit(2);
}

static void child_touch(struct __test_metadata *_metadata, int sk,
			unsigned int v[2])
{
	ASSERT_EQ(1, write(sk, "t", 1));
	ASSERT_EQ(2 * sizeof(v[0]), read(sk, v, 2 * sizeof(v[0])));
}

/*
 * Before revocation every VMA operation reaches the driver, and munmap
 * and exit close each VMA exactly once: a fork copies the VMA (->open),
 * munmap of one page splits it (->open of the new part) and closes the
 * part, munmap of the rest closes it.
 */
TEST_F(tcr, vma_close_balanced)
{
	struct vma_counts a, b;
	unsigned int *map;
	int sk[2], status, fd;
	unsigned int v[2];
	pid_t pid;

	fd = open(self->node, O_RDWR);
	ASSERT_LE(0, fd);
	a = vma_counts();
	map = mmap(NULL, 2 * PG, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	EXPECT_EQ(TCR_PLAT_ID, tcr_load(map[0]));
	EXPECT_EQ(TCR_PLAT_ID + 1, tcr_load(map[PG / 4]));
	b = vma_counts();
	EXPECT_EQ(1, b.live - a.live);		/* ->mmap */
	EXPECT_EQ(0, b.opens - a.opens);

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sk));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		close(sk[0]);
		vma_child(sk[1], map);
	}
	close(sk[1]);
	b = vma_counts();
	EXPECT_EQ(2, b.live - a.live);		/* the child's copy */
	EXPECT_EQ(1, b.opens - a.opens);
	child_touch(_metadata, sk[0], v);
	EXPECT_EQ(TCR_PLAT_ID, v[0]);
	EXPECT_EQ(TCR_PLAT_ID + 1, v[1]);
	ASSERT_EQ(1, write(sk[0], "q", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, status);
	b = vma_counts();
	EXPECT_EQ(1, b.live - a.live);
	EXPECT_EQ(1, b.closes - a.closes);	/* at the child's exit */

	ASSERT_EQ(0, munmap(map, PG));	/* split, close one */
	b = vma_counts();
	EXPECT_EQ(1, b.live - a.live);
	EXPECT_EQ(2, b.opens - a.opens);
	EXPECT_EQ(2, b.closes - a.closes);
	EXPECT_EQ(TCR_PLAT_ID + 1, tcr_load(map[PG / 4]));
	ASSERT_EQ(0, munmap(map + PG / 4, PG));
	b = vma_counts();
	EXPECT_EQ(0, b.live - a.live);
	EXPECT_EQ(2, b.opens - a.opens);
	EXPECT_EQ(3, b.closes - a.closes);
	close(sk[0]);
	EXPECT_EQ(0, close(fd));
}

/*
 * A mapping forked, split and moved (mremap) before revocation, then
 * revoked: every copy SIGBUSes, in the parent and in the child, and no
 * vm_operation reaches the driver any more: not the munmap, mremap, fork
 * and split after revocation, not the child's exit.
 */
TEST_F(tcr, vma_fork_split_mremap_revoke)
{
	unsigned int *map, *moved, *again;
	struct vma_counts a, b;
	long rels = tcr_counter("releases");
	int sk[2], status, fd;
	unsigned int v[2];
	void *hole;
	char c;
	pid_t pid, pid2;

	fd = open(self->node, O_RDWR);
	ASSERT_LE(0, fd);
	map = mmap(NULL, 2 * PG, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sk));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		close(sk[0]);
		vma_child(sk[1], map);
	}
	close(sk[1]);

	/* parent: unmap page 0 (a split), move page 1 elsewhere */
	a = vma_counts();
	ASSERT_EQ(0, munmap(map, PG));
	hole = mmap(NULL, 2 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
		    -1, 0);
	ASSERT_NE(MAP_FAILED, hole);
	moved = mremap(map + PG / 4, PG, PG,
		       MREMAP_MAYMOVE | MREMAP_FIXED, hole);
	ASSERT_EQ(hole, moved);
	EXPECT_EQ(TCR_PLAT_ID + 1, tcr_load(moved[0]));
	b = vma_counts();
	/* split: open + close; move: open of the new VMA, close of the old */
	EXPECT_EQ(2, b.opens - a.opens);
	EXPECT_EQ(2, b.closes - a.closes);
	EXPECT_EQ(0, b.live - a.live);
	child_touch(_metadata, sk[0], v);
	EXPECT_EQ(TCR_PLAT_ID, v[0]);
	EXPECT_EQ(TCR_PLAT_ID + 1, v[1]);

	a = vma_counts();
	ASSERT_EQ(0, tcr_unbind(self));
	EXPECT_EQ(1, tcr_counter("releases") - rels);

	/* every copy of the mapping is gone */
	EXPECT_EQ(0, touch(moved));
	child_touch(_metadata, sk[0], v);
	EXPECT_EQ(0, v[0]);
	EXPECT_EQ(0, v[1]);

	/* and no VMA operation reaches the driver */
	ASSERT_EQ(1, write(sk[0], "s", 1));	/* the child splits */
	ASSERT_EQ(1, read(sk[0], &c, 1));
	EXPECT_EQ('k', c);
	again = mremap(moved, PG, PG, MREMAP_MAYMOVE | MREMAP_FIXED,
		       (char *)hole + PG);
	EXPECT_EQ((char *)hole + PG, (void *)again);
	if (again == MAP_FAILED)
		again = moved;
	pid2 = fork();			/* copies the revoked VMA */
	ASSERT_LE(0, pid2);
	if (!pid2)
		_exit(touch(again) ? 1 : 0);
	ASSERT_EQ(pid2, waitpid(pid2, &status, 0));
	EXPECT_EQ(0, status);		/* SIGBUS in the second child too */
	EXPECT_EQ(0, munmap(again, PG));
	munmap(hole, 2 * PG);
	ASSERT_EQ(1, write(sk[0], "q", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, status);
	close(sk[0]);
	b = vma_counts();
	EXPECT_EQ(0, b.opens - a.opens);
	EXPECT_EQ(0, b.closes - a.closes);
	EXPECT_EQ(0, b.live - a.live);
	EXPECT_EQ(self->after_revoke, tcr_counter("fops_after_revoke"));
	EXPECT_EQ(0, close(fd));
	EXPECT_EQ(1, tcr_counter("releases") - rels);
	EXPECT_EQ(0, tcr_bind(self));
}

/* SCM_RIGHTS */
static int send_fd(int sk, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = "f", .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sk, &msg, 0) == 1 ? 0 : -1;
}

static int recv_fd(int sk)
{
	char cbuf[CMSG_SPACE(sizeof(int))], c;
	struct iovec iov = { .iov_base = &c, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm;
	int fd;

	if (recvmsg(sk, &msg, 0) != 1)
		return -1;
	cm = CMSG_FIRSTHDR(&msg);
	if (!cm || cm->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

/* What the receiving process saw, sent back to the test. */
struct child_report {
	int recv_ok;		/* got the fd, ioctl and read worked */
	int sleep_ret, sleep_err;	/* the ioctl asleep across revocation */
	int read_ret, read_err;
	int ioctl_ret, ioctl_err;
	int poll_ret, revents;
	int close_ret;
};

struct sleeper {
	int fd, ret, err;
};

static void *child_sleep_fn(void *arg)
{
	struct sleeper *s = arg;
	__u32 ms = 60000;

	s->ret = ioctl(s->fd, TCR_IOC_SLEEP, &ms);
	s->err = errno;
	return NULL;
}

/*
 * The receiving process: gets the child fd, uses it, sleeps in it
 * (an ioctl) across the revocation, then reports ('g' from the test).
 */
static void child_receiver(int sk)
{
	struct child_report r = { 0 };
	struct sleeper s;
	struct pollfd pfd;
	unsigned int id = 0;
	pthread_t t;
	__u64 ev;
	char c;
	int cfd;

	cfd = recv_fd(sk);
	if (cfd < 0)
		_exit(1);
	r.recv_ok = !ioctl(cfd, TCR_IOC_ID, &id) && id == TCR_PLAT_ID &&
		    read(cfd, &ev, sizeof(ev)) == sizeof(ev) && ev == 1;
	s = (struct sleeper){ .fd = cfd };
	if (pthread_create(&t, NULL, child_sleep_fn, &s))
		_exit(1);
	usleep(200000);
	if (write(sk, "r", 1) != 1 || read(sk, &c, 1) != 1)
		_exit(1);
	pthread_join(t, NULL);
	r.sleep_ret = s.ret;
	r.sleep_err = s.err;
	r.read_ret = read(cfd, &ev, sizeof(ev));
	r.read_err = errno;
	r.ioctl_ret = ioctl(cfd, TCR_IOC_ID, &id);
	r.ioctl_err = errno;
	pfd = (struct pollfd){ .fd = cfd, .events = POLLIN | POLLOUT };
	r.poll_ret = poll(&pfd, 1, 1000);
	r.revents = pfd.revents;
	r.close_ret = close(cfd);
	_exit(write(sk, &r, sizeof(r)) == sizeof(r) ? 0 : 1);
}

/*
 * A child file works like the device's file (read, poll, ioctl), and so
 * do a dup() of it and fcntl(F_SETFL).  Handed to another process over a
 * UNIX socket, it outlives the device's file, which is closed; the
 * revocation wakes the receiver's ioctl asleep in it, releases it once,
 * and the receiver sees the revoked device.
 */
TEST_F(tcr, child_fd_scm_rights)
{
	long copens = tcr_counter("child_opens");
	long crels = tcr_counter("child_releases");
	long rels = tcr_counter("releases");
	struct child_report r;
	struct pollfd pfd;
	unsigned int id = 0;
	int sk[2], fd, cfd, dfd, fl, status;
	__u64 ev;
	pid_t pid;
	char c;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sk));
	pid = fork();		/* before any file of the device is open */
	ASSERT_LE(0, pid);
	if (!pid) {
		close(sk[0]);
		child_receiver(sk[1]);
	}
	close(sk[1]);

	fd = open(self->node, O_RDWR);
	ASSERT_LE(0, fd);
	cfd = ioctl(fd, TCR_IOC_CHILD);
	ASSERT_LE(0, cfd) TH_LOG("TCR_IOC_CHILD: %s", strerror(errno));
	EXPECT_EQ(1, tcr_counter("child_opens") - copens);
	EXPECT_EQ(FD_CLOEXEC, fcntl(cfd, F_GETFD));

	/* the child and a dup of it: ioctl, F_SETFL, read, poll */
	EXPECT_EQ(0, ioctl(cfd, TCR_IOC_ID, &id));
	EXPECT_EQ(TCR_PLAT_ID, id);
	dfd = dup(cfd);
	ASSERT_LE(0, dfd);
	fl = fcntl(dfd, F_GETFL);
	ASSERT_LE(0, fl);
	EXPECT_EQ(0, fcntl(dfd, F_SETFL, fl | O_NONBLOCK));
	EXPECT_EQ(O_NONBLOCK, fcntl(cfd, F_GETFL) & O_NONBLOCK);
	EXPECT_EQ(-1, read(cfd, &ev, sizeof(ev)));	/* no event yet */
	EXPECT_EQ(EAGAIN, errno);
	pfd = (struct pollfd){ .fd = dfd, .events = POLLIN | POLLOUT };
	EXPECT_EQ(1, poll(&pfd, 1, 1000));
	EXPECT_EQ(POLLOUT, pfd.revents);
	EXPECT_EQ(0, ioctl(fd, TCR_IOC_EVENT));		/* on the parent */
	EXPECT_EQ(1, poll(&pfd, 1, 1000));
	EXPECT_EQ(POLLIN | POLLOUT, pfd.revents);
	EXPECT_EQ(0, fcntl(dfd, F_SETFL, fl));
	EXPECT_EQ(0, ioctl(dfd, TCR_IOC_ID, &id));
	EXPECT_EQ(0, close(dfd));
	EXPECT_EQ(0, tcr_counter("child_releases") - crels);

	/* to the other process; the parent's copies go */
	ASSERT_EQ(0, send_fd(sk[0], cfd));
	EXPECT_EQ(0, close(cfd));
	EXPECT_EQ(0, close(fd));
	EXPECT_EQ(1, tcr_counter("releases") - rels);
	EXPECT_EQ(0, tcr_counter("child_releases") - crels);
	ASSERT_EQ(1, read(sk[0], &c, 1));	/* used it, asleep in it */

	ASSERT_EQ(0, tcr_platform_del(self->id));
	EXPECT_EQ(1, tcr_counter("child_releases") - crels);
	ASSERT_EQ(1, write(sk[0], "g", 1));
	ASSERT_EQ(sizeof(r), read(sk[0], &r, sizeof(r)));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, status);
	EXPECT_EQ(1, r.recv_ok);
	EXPECT_EQ(-1, r.sleep_ret);
	EXPECT_EQ(ENODEV, r.sleep_err);
	EXPECT_EQ(-1, r.read_ret);
	EXPECT_EQ(ENODEV, r.read_err);
	EXPECT_EQ(-1, r.ioctl_ret);
	EXPECT_EQ(ENODEV, r.ioctl_err);
	EXPECT_EQ(1, r.poll_ret);
	EXPECT_EQ(REVOKED_MASK, r.revents);
	EXPECT_EQ(0, r.close_ret);
	close(sk[0]);
	/* exactly once: not again at the receiver's close */
	EXPECT_EQ(1, tcr_counter("child_releases") - crels);
	EXPECT_EQ(1, tcr_counter("child_opens") - copens);
	EXPECT_EQ(1, tcr_counter("releases") - rels);
}

/*
 * A child asked for once revocation has started (the ioctl sleeps until
 * the driver's kick hook ran) is refused with the device's error, and
 * the driver never saw a child file of a revoked device.
 */
struct late {
	int fd, ret, err;
};

static void *late_fn(void *arg)
{
	struct late *l = arg;

	l->ret = ioctl(l->fd, TCR_IOC_CHILD_LATE);
	l->err = errno;
	return NULL;
}

TEST_F(tcr, child_refused_once_revoking)
{
	long copens = tcr_counter("child_opens");
	long crels = tcr_counter("child_releases");
	long refused = tcr_counter("child_refused");
	long late = tcr_counter("child_late");
	long rels = tcr_counter("releases");
	struct late l;
	pthread_t t;
	int cfd;

	l = (struct late){ .fd = open(self->node, O_RDWR) };
	ASSERT_LE(0, l.fd);
	/* before revocation: a child, released at its close */
	cfd = ioctl(l.fd, TCR_IOC_CHILD);
	ASSERT_LE(0, cfd);
	EXPECT_EQ(0, close(cfd));
	EXPECT_EQ(1, tcr_counter("child_opens") - copens);
	EXPECT_EQ(1, tcr_counter("child_releases") - crels);
	ASSERT_EQ(0, pthread_create(&t, NULL, late_fn, &l));
	usleep(200000);
	ASSERT_EQ(0, tcr_unbind(self));
	pthread_join(t, NULL);
	EXPECT_EQ(-1, l.ret) TH_LOG("got a child fd %d", l.ret);
	EXPECT_EQ(ENODEV, l.err);
	EXPECT_EQ(1, tcr_counter("child_refused") - refused);
	EXPECT_EQ(0, tcr_counter("child_late") - late);
	EXPECT_EQ(1, tcr_counter("child_opens") - copens);
	EXPECT_EQ(1, tcr_counter("releases") - rels);
	EXPECT_EQ(0, close(l.fd));
	EXPECT_EQ(0, tcr_bind(self));
}

/*
 * A module's table without .owner is refused: cdev_revoke_init() and
 * misc_register() fail with EINVAL, so the device does not probe, and a
 * child file of such a table is not made.  Nothing else would pin the
 * module while the file is open, and the core reads the table, the
 * driver's cdev_revoke_info and its lockdep key at the file's last close.
 */
TEST_F(tcr, ownerless_table_refused)
{
	long refused = tcr_counter("child_refused");
	char devdir[128], drv[160], node[300];
	int id = self->id + 20, fd, cfd;

	fd = open(self->node, O_RDWR);
	ASSERT_LE(0, fd);
	snprintf(devdir, sizeof(devdir), TCR_PLAT_DEVS "%d", id);
	snprintf(drv, sizeof(drv), "%s/driver", devdir);
	if (access(devdir, F_OK) == 0)
		ASSERT_EQ(0, tcr_platform_del(id));
	ASSERT_EQ(0, write_str(DBG "noowner", "1"));
	/* the device is added, its probe (synchronous) fails */
	ASSERT_EQ(0, tcr_platform_add(id, variant->misc));
	EXPECT_NE(0, access(drv, F_OK)) TH_LOG("bound without .owner");
	EXPECT_NE(0, tcr_find_node(devdir, node, sizeof(node)))
		TH_LOG("a node without .owner: %s", node);
	cfd = ioctl(fd, TCR_IOC_CHILD);
	EXPECT_EQ(-1, cfd) TH_LOG("a child file without .owner: fd %d", cfd);
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(1, tcr_counter("child_refused") - refused);
	if (cfd >= 0)
		close(cfd);
	ASSERT_EQ(0, write_str(DBG "noowner", "0"));
	EXPECT_EQ(0, tcr_platform_del(id));
	/* the tables with .owner work as before */
	cfd = ioctl(fd, TCR_IOC_CHILD);
	EXPECT_LE(0, cfd);
	EXPECT_EQ(0, close(cfd));
	EXPECT_EQ(0, close(fd));
}

TEST_HARNESS_MAIN
