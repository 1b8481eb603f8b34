// SPDX-License-Identifier: GPL-2.0
/*
 * hiddev (/dev/usb/hiddevN, a usb_register_dev() minor of usbhid) on
 * cdev_revoke, with a real hot-unplug: QEMU's usb-kbd (0627:0001) on port 7
 * of the VM's qemu-xhci, plugged with QMP device_add and unplugged with
 * device_del (a cable pull) while files of the hiddev are held with reads,
 * ioctls, polls and io_uring reads in flight, then plugged again at the
 * same port.
 *
 * A keyboard gets no hiddev by default (its only application collection is
 * an input one); the kernel command line forces one with
 * usbhid.quirks=0x0627:0x0001:0x10 (HID_QUIRK_HIDDEV_FORCE,
 * scripts/vm-run.sh).  The keyboard NAKs its interrupt endpoint until the
 * host presses a key (QMP input-send-event, tcr_usb_key()): a read really
 * blocks.  A key press gives one input report, which hiddev turns into
 * events (struct hiddev_event: the usage, its value) for each usage of the
 * report: the eight modifiers, then the key.
 *
 * What the converted hiddev gives after the unplug: read -ENODEV (blocked
 * readers woken), ioctls, write -ENODEV, poll EPOLLERR | EPOLLHUP (pollers
 * woken), io_uring reads -ENODEV, every file released at the unplug, the
 * same /dev/usb/hiddevN for the re-plugged keyboard.  With CDEV_STOCK=1
 * (the stock kernel: hiddev is built in with usbhid, so no stock module
 * can stand in for it) the cases assert what stock hiddev does instead:
 * read -EIO, write -EINVAL.
 *
 * Release exactly once: hiddev is built in, so there is no module
 * reference to count.  The converted driver frees struct hiddev at the end
 * of its disconnect: a release after the unplug (or a second one) would be
 * a KASAN use-after-free in hiddev_release(), and a release that never
 * runs leaks the file's 48 KiB event queue (kmemleak, at the end of the
 * run).  What is checked here: every call on a held file answers the
 * revoked errno at once after the unplug, and its close returns 0.
 *
 * Environment: TCR_HOTPLUG (the host's QMP helper), CDEV_STOCK, TCR_CYCLES
 * (make stress: the unplug/re-plug cycles under load are TCR_CYCLES / 50;
 * default 20).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <linux/hiddev.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "util.h"

#define KBD_VID		0x0627
#define KBD_PID		0x0001
#define KBD_PORT	7
#define WAKE_MS		10000	/* "at once", on a loaded TCG host */

/* HID usages of the keyboard page */
#define USAGE_A		0x00070004
#define USAGE_LSHIFT	0x000700e1

/* what a revoked file answers: stock hiddev's read gives -EIO */
#define READ_GONE	(cdev_stock() ? EIO : ENODEV)
#define POLL_GONE	(POLLERR | POLLHUP)

static struct hiddev_event scratch[64];

FIXTURE(hiddev) {
	struct tcr_usb u;
	char node[64];		/* /dev/usb/hiddev0 */
	int minor;
};

/* Wait up to @ms for the hiddev node of the keyboard: 0 or -1. */
static int hiddev_wait(struct _test_data_hiddev *self, long ms)
{
	char dir[300], name[64];
	long end = now_ms() + ms;

	snprintf(dir, sizeof(dir), TCR_USBDEVS "%s/usbmisc", self->u.intf);
	do {
		if (!tcr_class_dev(dir, "hiddev", name, sizeof(name))) {
			self->minor = atoi(name + 6);
			snprintf(self->node, sizeof(self->node), "/dev/usb/%.40s",
				 name);
			if (!access(self->node, F_OK))
				return 0;
		}
		usleep(20000);
	} while (now_ms() < end);
	return -1;
}

static int kbd_plug(struct _test_data_hiddev *self)
{
	int ret = tcr_usb_plug(&self->u);

	return ret ? ret : hiddev_wait(self, TCR_USB_BIND_MS);
}

FIXTURE_SETUP(hiddev)
{
	int ret;

	self->u = (struct tcr_usb){ .qdev = "usb-kbd", .port = KBD_PORT,
				    .vid = KBD_VID, .pid = KBD_PID };
	self->u.dev_path[0] = 0;
	if (!getenv("TCR_HOTPLUG"))
		SKIP(return, "no TCR_HOTPLUG (the host's QMP helper)");
	if (access(TCR_USBDEVS "usb1", F_OK))
		SKIP(return, "no USB host controller (qemu-xhci)");
	if (tcr_control_boot())
		SKIP(return, "runs in the main boot");
	ret = kbd_plug(self);
	ASSERT_EQ(0, ret) TH_LOG("plug the keyboard: %s (no hiddev: quirk?)",
				 strerror(ret < 0 ? -ret : ETIMEDOUT));
}

FIXTURE_TEARDOWN(hiddev)
{
	if (self->u.dev_path[0] && !access(self->u.dev_path, F_OK))
		tcr_usb_unplug(&self->u);
}

static int hd_open(struct _test_data_hiddev *self)
{
	return open(self->node, O_RDWR | O_CLOEXEC);
}

/*
 * Read events from @fd until one of @usage with @value arrives, up to
 * @ms: 1 if it did, 0 if not, -errno on a read error.
 */
static int wait_event(int fd, unsigned int usage, int value, long ms)
{
	struct hiddev_event ev[64];
	long end = now_ms() + ms;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;
	int i;

	while (now_ms() < end) {
		if (poll(&p, 1, 200) != 1)
			continue;
		n = read(fd, ev, sizeof(ev));
		if (n < 0)
			return -errno;
		for (i = 0; i < n / (int)sizeof(ev[0]); i++)
			if (ev[i].hid == usage && ev[i].value == value)
				return 1;
	}
	return 0;
}

/* Read the events queued on @fd, without waiting. */
static void drain(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	while (read(fd, scratch, sizeof(scratch)) > 0)
		;
	fcntl(fd, F_SETFL, fl);
}

/* HIDIOCGUSAGE of @usage in the input report: its value, or -errno. */
static int get_usage(int fd, unsigned int usage)
{
	struct hiddev_usage_ref u = {
		.report_type = HID_REPORT_TYPE_INPUT,
		.report_id = HID_REPORT_ID_UNKNOWN,
		.usage_code = usage,
	};

	if (ioctl(fd, HIDIOCGUSAGE, &u))
		return -errno;
	return u.value;
}

/*
 * Calls on a file, then the unplug: the device answers (devinfo, name, a
 * key press read as events, the live value of a usage), then every call
 * gets the revoked answer and the node is gone.
 */
TEST_F_TIMEOUT(hiddev, calls_then_unplug, 120)
{
	struct hiddev_devinfo info;
	struct pollfd p;
	char name[128] = "";
	int fd = hd_open(self), v;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(fd, HIDIOCGVERSION, &v));
	EXPECT_EQ(HID_VERSION, v);
	ASSERT_EQ(0, ioctl(fd, HIDIOCGDEVINFO, &info));
	EXPECT_EQ(BUS_USB, info.bustype);
	EXPECT_EQ(KBD_VID, (__u16)info.vendor);
	EXPECT_EQ(KBD_PID, (__u16)info.product);
	EXPECT_EQ(1, info.num_applications);
	ASSERT_LT(0, ioctl(fd, HIDIOCGNAME(sizeof(name)), name));
	TH_LOG("%s: %s, bus %u device %u", self->node, name, info.busnum,
	       info.devnum);
	ASSERT_EQ(0, tcr_usb_key("a"));
	EXPECT_EQ(1, wait_event(fd, USAGE_A, 1, 5000));
	ASSERT_EQ(0, tcr_usb_key_state("shift", true));
	EXPECT_EQ(1, wait_event(fd, USAGE_LSHIFT, 1, 5000));
	EXPECT_EQ(1, get_usage(fd, USAGE_LSHIFT));
	ASSERT_EQ(0, tcr_usb_key_state("shift", false));
	EXPECT_EQ(1, wait_event(fd, USAGE_LSHIFT, 0, 5000));
	EXPECT_EQ(0, get_usage(fd, USAGE_LSHIFT));
	drain(fd);	/* stock: read would give what is queued first */

	ASSERT_EQ(0, tcr_usb_unplug(&self->u));
	EXPECT_EQ(-1, read(fd, scratch, sizeof(scratch)));
	EXPECT_EQ(READ_GONE, errno);
	EXPECT_EQ(-1, ioctl(fd, HIDIOCGDEVINFO, &info));
	EXPECT_EQ(ENODEV, errno);
	EXPECT_EQ(-ENODEV, get_usage(fd, USAGE_LSHIFT));
	EXPECT_EQ(-1, ioctl(fd, HIDIOCGVERSION, &v));
	EXPECT_EQ(ENODEV, errno);
	EXPECT_EQ(-1, write(fd, "x", 1));
	EXPECT_EQ(cdev_stock() ? EINVAL : ENODEV, errno);
	p = (struct pollfd){ .fd = fd, .events = POLLIN | POLLOUT };
	ASSERT_EQ(1, poll(&p, 1, 0));
	EXPECT_EQ(POLL_GONE, p.revents);
	EXPECT_EQ(-1, open(self->node, O_RDONLY));
	EXPECT_EQ(ENOENT, errno);
	EXPECT_EQ(0, close(fd));
}

/*
 * Sleepers woken by the unplug: two blocking reads, a poll, an epoll and
 * an io_uring read (hiddev has no ->read_iter: io-wq) on the same file.
 */
TEST_F_TIMEOUT(hiddev, sleepers_woken, 120)
{
	struct __kernel_timespec ts = { .tv_sec = WAKE_MS / 1000 };
	struct tcr_waiter r1, r2, wp, we;
	struct io_uring_cqe *cqe;
	struct io_uring ring;
	long t0, t;
	int fd = hd_open(self), fd2 = hd_open(self);

	ASSERT_LE(0, fd);
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, io_uring_queue_init(4, &ring, 0));
	io_uring_prep_read(io_uring_get_sqe(&ring), fd2, scratch,
			   sizeof(scratch), 0);
	ASSERT_EQ(1, io_uring_submit(&ring));
	ASSERT_EQ(0, tcr_waiter_start(&r1, fd, TCR_W_READ, sizeof(scratch)));
	ASSERT_EQ(0, tcr_waiter_start(&r2, fd2, TCR_W_READ, sizeof(scratch)));
	ASSERT_EQ(0, tcr_waiter_start(&wp, fd, TCR_W_POLL, 0));
	ASSERT_EQ(0, tcr_waiter_start(&we, fd2, TCR_W_EPOLL, 0));
	usleep(300000);
	ASSERT_FALSE(tcr_load(r1.done));
	ASSERT_FALSE(tcr_load(r2.done));
	ASSERT_FALSE(tcr_load(wp.done));
	ASSERT_FALSE(tcr_load(we.done));
	t0 = now_ms();
	ASSERT_EQ(0, tcr_usb_unplug(&self->u));
	t = now_ms() - t0;
	ASSERT_TRUE(tcr_waiter_wait(&r1, WAKE_MS));
	ASSERT_TRUE(tcr_waiter_wait(&r2, WAKE_MS));
	ASSERT_TRUE(tcr_waiter_wait(&wp, WAKE_MS));
	ASSERT_TRUE(tcr_waiter_wait(&we, WAKE_MS));
	TH_LOG("unplug with 5 sleepers: the keyboard gone %ld ms after device_del",
	       t);
	pthread_join(r1.th, NULL);
	pthread_join(r2.th, NULL);
	pthread_join(wp.th, NULL);
	pthread_join(we.th, NULL);
	EXPECT_EQ(-1, r1.ret);
	EXPECT_EQ(READ_GONE, r1.err);
	EXPECT_EQ(-1, r2.ret);
	EXPECT_EQ(READ_GONE, r2.err);
	EXPECT_EQ(1, wp.ret);
	EXPECT_EQ(POLLERR | POLLHUP, wp.revents);
	EXPECT_EQ(1, we.ret);
	EXPECT_EQ(EPOLLERR | EPOLLHUP, we.revents);
	ASSERT_EQ(0, io_uring_wait_cqe_timeout(&ring, &cqe, &ts));
	EXPECT_EQ(-READ_GONE, cqe->res);
	io_uring_cqe_seen(&ring, cqe);
	io_uring_queue_exit(&ring);
	EXPECT_EQ(0, close(fd));
	EXPECT_EQ(0, close(fd2));
}

/*
 * Re-plug at the same port while a file of the gone keyboard is held: the
 * same /dev/usb/hiddevN (usbcore frees the minor at the unplug on stock
 * too), new opens reach the new keyboard, the stale file never does.
 */
TEST_F_TIMEOUT(hiddev, replug_same_port, 120)
{
	struct hiddev_devinfo info, info2;
	int minor = self->minor;
	int fd = hd_open(self), fd2;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(fd, HIDIOCGDEVINFO, &info));
	ASSERT_EQ(0, tcr_usb_unplug(&self->u));
	ASSERT_EQ(0, kbd_plug(self));
	TH_LOG("gone: hiddev%d (usb device %u), re-plugged with a file held: hiddev%d",
	       minor, info.devnum, self->minor);
	EXPECT_EQ(minor, self->minor);
	fd2 = hd_open(self);
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, ioctl(fd2, HIDIOCGDEVINFO, &info2));
	EXPECT_NE(info.devnum, info2.devnum);
	ASSERT_EQ(0, tcr_usb_key("a"));
	EXPECT_EQ(1, wait_event(fd2, USAGE_A, 1, 5000));
	EXPECT_EQ(-1, read(fd, scratch, sizeof(scratch)));
	EXPECT_EQ(READ_GONE, errno);
	EXPECT_EQ(-1, ioctl(fd, HIDIOCGDEVINFO, &info));
	EXPECT_EQ(ENODEV, errno);
	EXPECT_EQ(0, close(fd));
	/* closing the stale file did nothing to the new device */
	ASSERT_EQ(0, tcr_usb_key("a"));
	EXPECT_EQ(1, wait_event(fd2, USAGE_A, 1, 5000));
	EXPECT_EQ(0, close(fd2));
}

static void sig_nop(int sig)
{
}

/*
 * A blocking read on one file while a report request on another gets its
 * answer: hid_report_raw_event() then sends a report event, which wakes
 * every reader, but queues nothing for a file without HIDDEV_FLAG_REPORT.
 * Stock hiddev_read() went back to sleep off the wait queue after such a
 * wake-up and slept through every event after it, and through the unplug
 * (until a signal); fixed, the next key press ends the read.
 */
TEST_F_TIMEOUT(hiddev, read_after_report_request, 120)
{
	struct hiddev_report_info ri = {
		.report_type = HID_REPORT_TYPE_INPUT,
		.report_id = HID_REPORT_ID_FIRST,
	};
	struct sigaction sa = { .sa_handler = sig_nop };
	struct tcr_waiter w;
	int fd = hd_open(self), fd2 = hd_open(self);

	ASSERT_LE(0, fd);
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));	/* no SA_RESTART */
	ASSERT_EQ(0, tcr_waiter_start(&w, fd, TCR_W_READ, sizeof(scratch)));
	usleep(300000);
	ASSERT_FALSE(tcr_load(w.done));
	ASSERT_EQ(0, ioctl(fd2, HIDIOCGREPORT, &ri));
	usleep(300000);
	ASSERT_FALSE(tcr_load(w.done));
	ASSERT_EQ(0, tcr_usb_key("a"));
	if (cdev_stock()) {
		EXPECT_FALSE(tcr_waiter_wait(&w, 3000))
			TH_LOG("stock: the read returned after the key press");
		ASSERT_EQ(0, tcr_usb_unplug(&self->u));
		EXPECT_FALSE(tcr_waiter_wait(&w, 2000))
			TH_LOG("stock: the read returned after the unplug");
		TH_LOG("stock: the read still asleep after a key press and the unplug");
		pthread_kill(w.th, SIGUSR1);
	}
	ASSERT_TRUE(tcr_waiter_wait(&w, WAKE_MS));
	pthread_join(w.th, NULL);
	if (cdev_stock()) {
		EXPECT_EQ(-1, w.ret);
		EXPECT_EQ(EINTR, w.err);
	} else {
		EXPECT_LT(0, w.ret);
		EXPECT_EQ(0, w.ret % (int)sizeof(struct hiddev_event));
	}
	EXPECT_EQ(0, close(fd));
	EXPECT_EQ(0, close(fd2));
}

struct report_loop {
	int fd;
	long ok, gone, other;
	int last_err;
	int done;
};

/* HIDIOCGREPORT: a GET_REPORT control transfer, then usbhid_wait_io(). */
static void *report_fn(void *arg)
{
	struct hiddev_report_info ri = {
		.report_type = HID_REPORT_TYPE_INPUT,
		.report_id = HID_REPORT_ID_FIRST,
	};
	struct report_loop *l = arg;

	for (;;) {
		if (!ioctl(l->fd, HIDIOCGREPORT, &ri)) {
			l->ok++;
			ri.report_id = HID_REPORT_ID_FIRST;
			continue;
		}
		l->last_err = errno;
		if (errno == ENODEV)
			l->gone++;
		else
			l->other++;
		break;
	}
	tcr_store(l->done, 1);
	return NULL;
}

/*
 * Report requests on ep0 in a loop across the unplug: each ends with
 * success or -ENODEV.  QEMU drops the transfers of a device it detaches
 * without completing them, so the request in flight at the unplug would
 * wait for usbhid_wait_io()'s 10 s timeout (as it does on stock, whose
 * disconnect waits for the ioctl's existancelock); the converted hiddev's
 * kick ends it at once.
 */
TEST_F_TIMEOUT(hiddev, report_requests_across_unplug, 120)
{
	struct report_loop l = { 0 };
	pthread_t th;
	long t0, t;

	l.fd = hd_open(self);
	ASSERT_LE(0, l.fd);
	ASSERT_EQ(0, pthread_create(&th, NULL, report_fn, &l));
	usleep(500000);
	t0 = now_ms();
	ASSERT_EQ(0, tcr_usb_unplug(&self->u));
	t = now_ms() - t0;
	while (!tcr_load(l.done) && now_ms() - t0 < WAKE_MS + 15000)
		usleep(10000);
	ASSERT_TRUE(tcr_load(l.done));
	pthread_join(th, NULL);
	TH_LOG("HIDIOCGREPORT: %ld ok, %ld ENODEV, %ld other (last %s)",
	       l.ok, l.gone, l.other, strerror(l.last_err));
	TH_LOG("the keyboard gone %ld ms after device_del", t);
	/* the kick ends the request in flight: not usbhid's 10 s wait */
	if (!cdev_stock())
		EXPECT_GT(5000, t);
	EXPECT_LT(0, l.ok);
	EXPECT_EQ(1, l.gone);
	EXPECT_EQ(0, l.other);
	EXPECT_EQ(0, close(l.fd));
}

/* The load of cycles_under_load: one kind of call in a loop until it fails. */
enum { L_READ, L_POLL, L_IOCTL, L_URING, L_NR };
static const char *const load_names[L_NR] = {
	"read", "poll", "ioctl", "io_uring read",
};

struct load {
	pthread_t th;
	int fd, kind;
	long ok, gone, other;
	int last_err;
};

static void *load_fn(void *arg)
{
	struct hiddev_devinfo info;
	struct load *l = arg;
	struct io_uring ring;
	struct hiddev_event ev[16];
	int err;

	if (l->kind == L_URING && io_uring_queue_init(4, &ring, 0)) {
		l->other++;
		return NULL;
	}
	for (;;) {
		struct pollfd p = { .fd = l->fd, .events = POLLIN };
		struct io_uring_cqe *cqe;
		long r;

		errno = 0;
		switch (l->kind) {
		case L_READ:
			r = read(l->fd, ev, sizeof(ev));
			break;
		case L_POLL:
			r = poll(&p, 1, 30000);
			if (r == 1 && (p.revents & (POLLERR | POLLHUP))) {
				l->gone++;
				return NULL;
			}
			usleep(2000);	/* the reader takes the events */
			break;
		case L_IOCTL:
			r = ioctl(l->fd, HIDIOCGDEVINFO, &info);
			if (!r)
				r = get_usage(l->fd, USAGE_LSHIFT);
			if (r < -1) {	/* get_usage()'s -errno */
				errno = -r;
				r = -1;
			}
			usleep(1000);
			break;
		default:
			io_uring_prep_read(io_uring_get_sqe(&ring), l->fd, ev,
					   sizeof(ev), 0);
			io_uring_submit(&ring);
			r = io_uring_wait_cqe(&ring, &cqe);
			if (!r) {
				r = cqe->res;
				io_uring_cqe_seen(&ring, cqe);
			}
			if (r < 0) {
				errno = -r;
				r = -1;
			}
			break;
		}
		if (r >= 0) {
			l->ok++;
			continue;
		}
		err = errno;
		l->last_err = err;
		if (err == ENODEV ||
		    ((l->kind == L_READ || l->kind == L_URING) &&
		     err == READ_GONE))
			l->gone++;
		else
			l->other++;
		break;
	}
	if (l->kind == L_URING)
		io_uring_queue_exit(&ring);
	return NULL;
}

/*
 * Plug, load, unplug, 20 times (TCR_CYCLES / 50: 200 in make stress): four
 * threads read, poll, ioctl and io_uring-read one file (two of them on a
 * second one) while keys are pressed, then the keyboard is unplugged.
 * Every call succeeds or gets the revoked answer, every thread ends, each
 * cycle's keyboard gets the first cycle's minor.
 */
TEST_F_TIMEOUT(hiddev, cycles_under_load, 3600)
{
	int n = tcr_cycles(50, 20);
	long tot[L_NR][3] = { { 0 } };
	long t, tmax = 0, tsum = 0, t0 = now_ms();
	int minor = self->minor;
	int i, k, ret;

	if (cdev_stock())
		SKIP(return, "stock: a reader may sleep through the unplug");
	for (i = 0; i < n; i++) {
		struct load l[L_NR];
		int fd[2];

		if (i) {
			ASSERT_EQ(0, kbd_plug(self));
			EXPECT_EQ(minor, self->minor);
		}
		fd[0] = hd_open(self);
		fd[1] = hd_open(self);
		ASSERT_LE(0, fd[0]);
		ASSERT_LE(0, fd[1]);
		for (k = 0; k < L_NR; k++) {
			l[k] = (struct load){ .fd = fd[k & 1], .kind = k };
			ASSERT_EQ(0, pthread_create(&l[k].th, NULL, load_fn,
						    &l[k]));
		}
		ASSERT_EQ(0, tcr_usb_key(i & 1 ? "b" : "a"));
		ASSERT_EQ(0, tcr_usb_key("shift"));
		t = now_ms();
		ret = tcr_usb_unplug(&self->u);
		if (ret)
			tcr_dump_stacks("usb hid cdev_revoke io_");
		ASSERT_EQ(0, ret)
			TH_LOG("cycle %d: unplug: %s", i, strerror(-ret));
		t = now_ms() - t;
		tsum += t;
		if (t > tmax)
			tmax = t;
		for (k = 0; k < L_NR; k++) {
			pthread_join(l[k].th, NULL);
			tot[k][0] += l[k].ok;
			tot[k][1] += l[k].gone;
			tot[k][2] += l[k].other;
			if (l[k].other)
				TH_LOG("cycle %d: %s: %s", i, load_names[k],
				       strerror(l[k].last_err));
		}
		EXPECT_EQ(0, close(fd[0]));
		EXPECT_EQ(0, close(fd[1]));
	}
	TH_LOG("%d cycles in %ld s, unplug %ld ms on average, %ld ms at most",
	       n, (now_ms() - t0) / 1000, n ? tsum / n : 0, tmax);
	for (k = 0; k < L_NR; k++) {
		TH_LOG("%s: %ld ok, %ld revoked, %ld other", load_names[k],
		       tot[k][0], tot[k][1], tot[k][2]);
		EXPECT_EQ(0, tot[k][2]);
		EXPECT_EQ(n, tot[k][1]);
	}
}

TEST_HARNESS_MAIN
