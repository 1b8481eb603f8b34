// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/cros_ec on cdev_revoke: cros_ec_chardev bound to a fake ChromeOS EC
 * (drivers/platform/chrome/cros_ec_fake.c: transfers answered from memory;
 * QEMU has no EC), with CROS_EC_DEV_IOCXCMD and CROS_EC_DEV_IOCRDMEM
 * loops, MKBP event readers, pollers and io_uring requests on open files
 * while the EC is removed (the fake's debugfs "del": its cros_ec_device is
 * unregistered and freed, and cros-ec-dev and the chardev go with it).
 *
 * No Debian package ships a ChromeOS EC client (ectool is a ChromiumOS
 * tool): the clients are coreutils' cat (the legacy read of the version
 * block) and this program, which issues the ioctls ectool issues.
 *
 * The "stock" variant loads the stock cros_ec_chardev.ko (the base
 * commit's source, built by scripts/stock-module.sh) and asserts what it
 * does: the files outlive the EC, the dead EC is still called, blocked
 * readers and pollers are never woken, the files are released after the
 * EC is freed, and the module unloads with files open.  Those are
 * use-after-free bugs (KASAN reports): the variant runs only in the
 * control boot (cdev_mode=control, scripts/control-check.sh, which also
 * looks for the reports), and skips elsewhere.
 *
 * Environment: TCR_KO (the modules are found relative to it in the kernel
 * build), TCR_CYCLES (removal cycles, default 20).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
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

/*
 * include/linux/platform_data/cros_ec_chardev.h is not a uapi header: its
 * struct cros_ec_command (the ioctl's size) and a buffer for its data.
 */
struct ec_cmd_hdr {
	__u32 version;
	__u32 command;
	__u32 outsize;
	__u32 insize;
	__u32 result;
};

struct ec_cmd {
	struct ec_cmd_hdr h;
	__u8 data[64];
};

#define EC_MEMMAP_SIZE		255
struct ec_readmem {
	__u32 offset;
	__u32 bytes;
	__u8 buffer[EC_MEMMAP_SIZE];
};

#define CROS_EC_DEV_IOCXCMD	_IOWR(0xEC, 0, struct ec_cmd_hdr)
#define CROS_EC_DEV_IOCRDMEM	_IOWR(0xEC, 1, struct ec_readmem)
#define CROS_EC_DEV_IOCEVENTMASK _IO(0xEC, 2)
#define EC_CMD_HELLO		0x0001
#define EC_MEMMAP_ID		0x20
#define EC_MKBP_EVENT_HOST	1
#define FAKE_HELLO_ADD		0x01020304

#define NODE		"/dev/cros_ec"
#define FAKE		"/sys/kernel/debug/cros_ec_fake/"
#define CHARDEV_KO	"../drivers/platform/chrome/cros_ec_chardev.ko"
#define STOCK_KO	"../../crosec-stock/cros_ec_chardev.ko"
#define FAKE_KO		"../drivers/platform/chrome/cros_ec_fake.ko"
/* what poll(2) reports for POLLIN once revoked: the default mask */
#define GONE_REVENTS	(POLLIN | POLLERR | POLLHUP)

/* A counter of the fake EC (xfers, xfers_dead, frees, notifiers). */
static long fake(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), FAKE "%s", name);
	return read_long(path);
}

static int fake_write(const char *name, const char *val)
{
	char path[128];

	snprintf(path, sizeof(path), FAKE "%s", name);
	return write_str(path, val);
}

/* Wait up to 5 s for /dev/cros_ec: 0 or -1. */
static int node_wait(void)
{
	int i;

	for (i = 0; i < 500; i++) {
		if (!access(NODE, F_OK))
			return 0;
		usleep(10000);
	}
	return -1;
}

/* Remove the fake EC (and with it cros-ec-dev, the chardev and the node). */
static int ec_del(void)
{
	return fake_write("del", "1");
}

static int ec_add(void)
{
	int ret = fake_write("add", "1");

	return ret ? ret : node_wait();
}

/* EC_CMD_HELLO through CROS_EC_DEV_IOCXCMD: the ioctl's result, *out. */
static int xcmd_hello(int fd, __u32 in, __u32 *out)
{
	struct ec_cmd c = {
		.h = { .command = EC_CMD_HELLO, .outsize = 4, .insize = 4 },
	};
	int ret;

	memcpy(c.data, &in, 4);
	ret = ioctl(fd, CROS_EC_DEV_IOCXCMD, &c);
	if (ret >= 0 && out)
		memcpy(out, c.data, 4);
	return ret;
}

static int rdmem(int fd, __u32 off, __u32 bytes, void *buf)
{
	struct ec_readmem m = { .offset = off, .bytes = bytes };
	int ret = ioctl(fd, CROS_EC_DEV_IOCRDMEM, &m);

	if (ret > 0)
		memcpy(buf, m.buffer, bytes);
	return ret;
}

/* A file of /dev/cros_ec that receives MKBP host events. */
static int open_events(int flags)
{
	int fd = open(NODE, O_RDONLY | flags);

	if (fd >= 0 && ioctl(fd, CROS_EC_DEV_IOCEVENTMASK,
			     1UL << EC_MKBP_EVENT_HOST)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The loaded cros_ec_chardev is an out-of-tree build: the stock one. */
static int stock_loaded(void)
{
	return tcr_module_stock("cros_ec_chardev");
}

/* The chardev module asked for loaded, the fake EC up: NULL or why not. */
static const char *ec_setup(int stock)
{
	static char why[160];
	int ret;

	ret = tcr_load_kind("cros_ec_chardev", CHARDEV_KO, STOCK_KO, stock);
	if (ret) {
		snprintf(why, sizeof(why), "load %s: %s",
			 stock ? STOCK_KO : CHARDEV_KO, strerror(-ret));
		return why;
	}
	ret = tcr_load_module_at(FAKE_KO, "");
	if (ret) {
		snprintf(why, sizeof(why), "load %s: %s", FAKE_KO,
			 strerror(-ret));
		return why;
	}
	fake_write("hello_delay_ms", "0");
	if (access(NODE, F_OK))
		ec_add();
	if (node_wait())
		return "no " NODE " after adding the fake EC";
	return NULL;
}

/* A thread calling one ioctl (or open + read) in a loop until it fails. */
struct loop {
	pthread_t th;
	int fd;
	int kind;		/* LOOP_XCMD, LOOP_RDMEM, LOOP_CAT */
	int stop;
	long ok;
	int err;		/* errno of the call that failed */
	int bad;		/* a wrong answer */
};

enum { LOOP_XCMD, LOOP_RDMEM, LOOP_CAT };

static void *loop_fn(void *arg)
{
	struct loop *l = arg;
	char buf[160];
	__u32 out, i;
	int fd, ret;

	for (i = 0; !tcr_load(l->stop); i++) {
		switch (l->kind) {
		case LOOP_XCMD:
			ret = xcmd_hello(l->fd, i, &out);
			if (ret == 4 && out != i + FAKE_HELLO_ADD)
				l->bad = 1;
			break;
		case LOOP_RDMEM:
			ret = rdmem(l->fd, EC_MEMMAP_ID, 2, buf);
			if (ret == 2 && memcmp(buf, "EC", 2))
				l->bad = 1;
			break;
		default:
			/* what cat does: a new file for each read */
			fd = open(NODE, O_RDONLY);
			if (fd < 0) {
				ret = -1;
				break;
			}
			ret = read(fd, buf, sizeof(buf) - 1);
			if (ret > 0 && !memmem(buf, ret, "fake-ec-rw", 10))
				l->bad = 1;
			close(fd);
			break;
		}
		if (ret < 0) {
			l->err = errno;
			break;
		}
		l->ok++;
	}
	return NULL;
}

static void loop_start(struct loop *l, int kind, int fd)
{
	memset(l, 0, sizeof(*l));
	l->kind = kind;
	l->fd = fd;
	pthread_create(&l->th, NULL, loop_fn, l);
}

static void loop_stop(struct loop *l)
{
	tcr_store(l->stop, 1);
	pthread_join(l->th, NULL);
}

/* Has the waiter thread returned within @ms? */
static int waiter_done(pthread_t th, int ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return !pthread_timedjoin_np(th, NULL, &ts);
}

static void on_usr1(int sig)
{
}

/* Interrupt a waiter that was never woken (stock): it returns EINTR. */
static void waiter_interrupt(pthread_t th)
{
	struct sigaction sa = { .sa_handler = on_usr1 };

	sigaction(SIGUSR1, &sa, NULL);
	pthread_kill(th, SIGUSR1);
	pthread_join(th, NULL);
}

FIXTURE(crosec) {
	int stock;
};

TCR_STOCK_VARIANTS(crosec);

FIXTURE_SETUP(crosec)
{
	const char *why;

	self->stock = variant->stock;
	if (self->stock && !tcr_control_boot())
		SKIP(return, "stock: use-after-free by design; runs in the control boot");
	why = ec_setup(self->stock);
	if (why)
		SKIP(return, "%s", why);
	ASSERT_EQ(self->stock, stock_loaded());
}

FIXTURE_TEARDOWN(crosec)
{
	fake_write("hello_delay_ms", "0");
	if (access(NODE, F_OK))
		ec_add();
	/* leave ours loaded */
	if (stock_loaded())
		tcr_rmmod("cros_ec_chardev");
	if (!tcr_module_loaded("cros_ec_chardev"))
		tcr_load_module_at(CHARDEV_KO, "");
	node_wait();
}

/* The live device: what cat, the ioctls, MKBP events and poll get. */
TEST_F(crosec, live)
{
	struct pollfd pfd = { .events = POLLIN };
	char buf[160] = "", cmd[64];
	__u32 out = 0;
	int fd, n;

	/* a Debian client: coreutils' cat reads the version block */
	snprintf(cmd, sizeof(cmd), "cat %s >/tmp/cros_ec.txt", NODE);
	ASSERT_EQ(0, system(cmd));
	fd = open("/tmp/cros_ec.txt", O_RDONLY);
	ASSERT_LE(0, fd);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	ASSERT_LT(0, n);
	EXPECT_NE(NULL, strstr(buf, "1.0.0\nfake-ec-ro-1.0\nfake-ec-rw-1.0\nread-write\n"))
		TH_LOG("cat " NODE ": %s", buf);

	fd = open(NODE, O_RDONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ(4, xcmd_hello(fd, 0x10, &out));
	EXPECT_EQ(0x10 + FAKE_HELLO_ADD, out);
	EXPECT_EQ(2, rdmem(fd, EC_MEMMAP_ID, 2, buf));
	EXPECT_EQ(0, memcmp(buf, "EC", 2));
	close(fd);

	fd = open_events(O_NONBLOCK);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, read(fd, buf, sizeof(buf)));
	EXPECT_EQ(EAGAIN, errno);
	pfd.fd = fd;
	EXPECT_EQ(0, poll(&pfd, 1, 0));
	ASSERT_EQ(0, fake_write("event", "1"));
	EXPECT_EQ(1, poll(&pfd, 1, 1000));
	EXPECT_EQ(POLLIN, pfd.revents);
	/* one byte of type, four of payload */
	EXPECT_EQ(5, read(fd, buf, sizeof(buf)));
	EXPECT_EQ(EC_MKBP_EVENT_HOST, buf[0]);
	close(fd);
}

/*
 * An XCMD in flight when the EC goes: ours lets it finish (the removal
 * waits for it), then every ioctl gets ENODEV and the dead EC is never
 * called.  Stock: the ioctls go on calling the freed EC (KASAN, in the
 * control boot's console) and it still answers.
 */
TEST_F(crosec, ioctl_load_then_removal)
{
	struct loop x, r, c;
	__u32 out = 0;
	int fd, fd2, dead0;
	long t0, t1;

	fd = open(NODE, O_RDONLY);
	fd2 = open(NODE, O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_LE(0, fd2);
	dead0 = fake("xfers_dead");
	loop_start(&x, LOOP_XCMD, fd);
	loop_start(&r, LOOP_RDMEM, fd2);
	loop_start(&c, LOOP_CAT, -1);
	usleep(200000);
	if (self->stock) {
		/*
		 * One call after the removal is enough: every call into
		 * the freed EC is a KASAN report on the console.
		 */
		loop_stop(&x);
		loop_stop(&r);
		loop_stop(&c);
	}
	/* the next HELLO sleeps in the EC: the removal meets it */
	fake_write("hello_delay_ms", "300");
	usleep(100000);
	t0 = now_ms();
	ASSERT_EQ(0, ec_del());
	t1 = now_ms();
	ksft_print_msg("removal under XCMD/RDMEM/cat load: %ld ms (a 300 ms HELLO in flight)\n",
		       t1 - t0);
	if (!self->stock) {
		/* the loops end by themselves */
		pthread_join(x.th, NULL);
		pthread_join(r.th, NULL);
		pthread_join(c.th, NULL);
		ksft_print_msg("xcmd %ld ok then %s; rdmem %ld ok then %s; cat %ld ok then %s\n",
			       x.ok, strerror(x.err), r.ok, strerror(r.err),
			       c.ok, strerror(c.err));
		EXPECT_EQ(ENODEV, x.err);
		EXPECT_EQ(ENODEV, r.err);
		EXPECT_TRUE(c.err == ENOENT || c.err == ENODEV || c.err == ENXIO)
			TH_LOG("cat loop: %s", strerror(c.err));
		EXPECT_LT(0, x.ok);
		EXPECT_LT(0, r.ok);
		EXPECT_EQ(0, x.bad + r.bad + c.bad);
		EXPECT_EQ(-1, xcmd_hello(fd, 1, &out));
		EXPECT_EQ(ENODEV, errno);
		EXPECT_EQ(-1, rdmem(fd2, EC_MEMMAP_ID, 2, &out));
		EXPECT_EQ(ENODEV, errno);
		EXPECT_EQ(dead0, fake("xfers_dead"));
		/* it waited for the HELLO in flight (~200 ms of it left) */
		EXPECT_LE(150, t1 - t0);
	} else {
		fake_write("hello_delay_ms", "0");
		/* the freed EC answers */
		EXPECT_EQ(4, xcmd_hello(fd, 7, &out));
		EXPECT_EQ(7 + FAKE_HELLO_ADD, out);
		EXPECT_LT(dead0, fake("xfers_dead"));
		ksft_print_msg("stock: XCMD after removal: %#x from the freed EC (%ld calls)\n",
			       out, fake("xfers_dead") - dead0);
	}
	close(fd);
	close(fd2);
}

/*
 * A read() blocked for an MKBP event: woken with ENODEV (ours); never
 * woken (stock).
 */
TEST_F(crosec, blocked_reader_woken)
{
	struct tcr_waiter w = { .kind = TCR_W_READ, .len = 64 };
	pthread_t th;
	long t0;

	w.fd = open_events(0);
	ASSERT_LE(0, w.fd);
	pthread_create(&th, NULL, tcr_waiter_fn, &w);
	usleep(300000);
	t0 = now_ms();
	ASSERT_EQ(0, ec_del());
	if (self->stock) {
		EXPECT_FALSE(waiter_done(th, 3000));
		ksft_print_msg("stock: the MKBP reader still sleeps 3 s after the removal\n");
		waiter_interrupt(th);
		EXPECT_EQ(-1, w.ret);
		EXPECT_EQ(EINTR, w.err);
	} else {
		ASSERT_TRUE(waiter_done(th, 5000));
		ksft_print_msg("MKBP reader woken %ld ms after the removal started: %zd, %s\n",
			       now_ms() - t0, w.ret, strerror(w.err));
		EXPECT_EQ(-1, w.ret);
		EXPECT_EQ(ENODEV, w.err);
	}
	close(w.fd);
}

/* poll and epoll sleepers: woken with the revoked mask (ours), or not. */
TEST_F(crosec, pollers_woken)
{
	struct tcr_waiter p = { .kind = TCR_W_POLL }, e = { .kind = TCR_W_EPOLL };
	pthread_t tp, te;
	int fd;

	fd = open_events(0);
	ASSERT_LE(0, fd);
	p.fd = fd;
	e.fd = fd;
	pthread_create(&tp, NULL, tcr_waiter_fn, &p);
	pthread_create(&te, NULL, tcr_waiter_fn, &e);
	usleep(300000);
	ASSERT_EQ(0, ec_del());
	if (self->stock) {
		EXPECT_FALSE(waiter_done(tp, 3000));
		EXPECT_FALSE(waiter_done(te, 10));
		ksft_print_msg("stock: poll and epoll still sleep 3 s after the removal\n");
		waiter_interrupt(tp);
		waiter_interrupt(te);
	} else {
		ASSERT_TRUE(waiter_done(tp, 5000));
		ASSERT_TRUE(waiter_done(te, 5000));
		EXPECT_EQ(1, p.ret);
		EXPECT_EQ(GONE_REVENTS, p.revents);
		EXPECT_EQ(1, e.ret);
		EXPECT_EQ(GONE_REVENTS, e.revents);
		ksft_print_msg("poll revents %#x, epoll events %#x\n", p.revents,
			       e.revents);
	}
	close(fd);
}

/* io_uring: a read parked in io-wq and a poll_add across the removal. */
TEST_F(crosec, io_uring_inflight)
{
	struct io_uring_cqe *cqe;
	struct __kernel_timespec ts = { .tv_sec = 5 };
	struct io_uring_sqe *sqe;
	struct io_uring ring;
	char buf[64];
	int fd, i, res[2] = { 1, 1 };

	if (self->stock)
		SKIP(return, "ours only (stock: the blocked_reader and pollers cases)");
	fd = open_events(0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, io_uring_queue_init(4, &ring, 0));
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_read(sqe, fd, buf, sizeof(buf), 0);
	sqe->user_data = 0;
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_poll_add(sqe, fd, POLLIN);
	sqe->user_data = 1;
	ASSERT_EQ(2, io_uring_submit(&ring));
	usleep(300000);
	ASSERT_EQ(0, ec_del());
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, io_uring_wait_cqe_timeout(&ring, &cqe, &ts));
		res[cqe->user_data & 1] = cqe->res;
		io_uring_cqe_seen(&ring, cqe);
	}
	ksft_print_msg("io_uring: read %d, poll_add %#x\n", res[0], res[1]);
	EXPECT_EQ(-ENODEV, res[0]);
	EXPECT_EQ(GONE_REVENTS, res[1]);
	io_uring_queue_exit(&ring);
	close(fd);
}

/*
 * Every open file is released once, while the EC is alive: no event
 * notifier is left on the EC when it is unregistered, and it is freed.
 * Queued events are freed with their file (kmemleak at the end of the
 * run).  Stock: the files' notifiers stay on the freed EC, and their
 * release (at close) runs after the EC was freed.
 */
TEST_F(crosec, release_once_before_ec_freed)
{
	int fd[4], i, frees0;

	for (i = 0; i < 4; i++) {
		fd[i] = i ? open_events(O_NONBLOCK) : open(NODE, O_RDONLY);
		ASSERT_LE(0, fd[i]);
	}
	/* events queued on the files, never read */
	ASSERT_EQ(0, fake_write("event", "1"));
	ASSERT_EQ(0, fake_write("event", "1"));
	frees0 = fake("frees");
	ASSERT_EQ(0, ec_del());
	EXPECT_EQ(frees0 + 1, fake("frees"));
	if (self->stock) {
		EXPECT_EQ(4, fake("notifiers"));
		ksft_print_msg("stock: %ld event notifiers on the EC when it was freed\n",
			       fake("notifiers"));
	} else {
		EXPECT_EQ(0, fake("notifiers"));
	}
	for (i = 0; i < 4; i++) {
		if (!self->stock) {
			char b[8];

			EXPECT_EQ(-1, read(fd[i], b, sizeof(b)));
			EXPECT_EQ(ENODEV, errno);
		}
		EXPECT_EQ(0, close(fd[i]));
	}
}

/* The EC comes back at the same node; the old file stays dead. */
TEST_F(crosec, readd)
{
	__u32 out = 0;
	int old, fd;

	old = open(NODE, O_RDONLY);
	ASSERT_LE(0, old);
	ASSERT_EQ(0, ec_del());
	EXPECT_NE(0, access(NODE, F_OK));
	ASSERT_EQ(0, ec_add());
	fd = open(NODE, O_RDONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ(4, xcmd_hello(fd, 3, &out));
	EXPECT_EQ(3 + FAKE_HELLO_ADD, out);
	if (!self->stock) {
		EXPECT_EQ(-1, xcmd_hello(old, 3, &out));
		EXPECT_EQ(ENODEV, errno);
	}
	close(fd);
	close(old);
}

/* Removal cycles under XCMD load and an MKBP reader, each one clean. */
TEST_F(crosec, cycles)
{
	const char *s = getenv("TCR_CYCLES");
	int n = s ? atoi(s) : 20, i, fd;
	struct tcr_waiter w = { .kind = TCR_W_READ, .len = 64 };
	struct loop x;
	pthread_t th;
	long t0 = now_ms();

	if (self->stock)
		SKIP(return, "ours only");
	for (i = 0; i < n; i++) {
		fd = open(NODE, O_RDONLY);
		ASSERT_LE(0, fd);
		w.fd = open_events(0);
		ASSERT_LE(0, w.fd);
		pthread_create(&th, NULL, tcr_waiter_fn, &w);
		loop_start(&x, LOOP_XCMD, fd);
		usleep(20000);
		ASSERT_EQ(0, ec_del());
		pthread_join(x.th, NULL);
		ASSERT_TRUE(waiter_done(th, 5000));
		EXPECT_EQ(ENODEV, x.err);
		EXPECT_EQ(ENODEV, w.err);
		EXPECT_EQ(0, fake("notifiers"));
		close(fd);
		close(w.fd);
		ASSERT_EQ(0, ec_add());
	}
	ksft_print_msg("%d removal cycles in %ld ms\n", n, now_ms() - t0);
}

/*
 * rmmod cros_ec_chardev with a file open.  Ours: refused while the file
 * is open (.owner), also after the EC is gone; fine after the close.
 * Stock: the module unloads (its fops have no owner) and the file is left
 * pointing into the freed module: this case leaves such a file open in a
 * process of its own (its close would jump into freed module text), so it
 * runs last.
 */
TEST_F(crosec, rmmod_with_file_open)
{
	int fd, ret;
	pid_t pid;

	if (self->stock) {
		pid = fork();
		ASSERT_LE(0, pid);
		if (!pid) {
			fd = open(NODE, O_RDONLY);
			if (fd < 0)
				_exit(1);
			pause();	/* never closes it */
			_exit(0);
		}
		usleep(300000);
		ret = tcr_rmmod("cros_ec_chardev");
		EXPECT_EQ(0, ret) TH_LOG("stock rmmod: %s", strerror(-ret));
		ksft_print_msg("stock: rmmod with %s open: %s (pid %d keeps it open)\n",
			       NODE, ret ? strerror(-ret) : "unloaded", pid);
		return;
	}
	fd = open(NODE, O_RDONLY);
	ASSERT_LE(0, fd);
	ret = tcr_rmmod("cros_ec_chardev");
	EXPECT_TRUE(ret == -EWOULDBLOCK || ret == -EBUSY) TH_LOG("rmmod: %d", ret);
	ASSERT_EQ(0, ec_del());
	ret = tcr_rmmod("cros_ec_chardev");
	EXPECT_TRUE(ret == -EWOULDBLOCK || ret == -EBUSY) TH_LOG("rmmod: %d", ret);
	EXPECT_EQ(-1, xcmd_hello(fd, 1, NULL));
	EXPECT_EQ(ENODEV, errno);
	close(fd);
	EXPECT_EQ(0, tcr_rmmod("cros_ec_chardev"));
	EXPECT_EQ(0, tcr_load_module_at(CHARDEV_KO, ""));
}

TEST_HARNESS_MAIN
