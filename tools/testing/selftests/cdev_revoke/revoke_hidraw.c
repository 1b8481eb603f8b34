// SPDX-License-Identifier: GPL-2.0
/*
 * hidraw on cdev_revoke: /dev/hidrawN held open, with readers, pollers,
 * ioctls, writes and io_uring reads in it, while the HID device goes away.
 *
 * Provider uhid: the HID device is made by a provider process through
 * /dev/uhid (util.h: tcr_uhid_plug()), which then goes away in one of three
 * ways, the variants of fixture "hidraw":
 *  - destroy: it writes UHID_DESTROY (and can still tell what it saw);
 *  - close: it closes /dev/uhid;
 *  - kill: it is killed with SIGKILL (the hostile provider: it may be in
 *    the middle of a report, or owe the kernel an answer).
 *
 * Provider usb-kbd (variant usb_kbd): QEMU's USB keyboard on port 6 of the
 * VM's qemu-xhci, plugged with QMP device_add, unplugged with device_del (a
 * cable pull: the guest sees the port's disconnect, hub_wq unbinds usbhid,
 * which removes the HID device) and plugged again at the same port
 * (util.h: tcr_usb_hid_plug()).  Its input reports come from keys pressed
 * through QMP (one report per press or release: hid_input() presses and
 * releases a key); its output report is the LEDs, written through ep0 (a
 * SET_REPORT: it has no interrupt-out endpoint).  The cases that need the
 * provider's own view (.stat), a uhid provider (.uhid: the feature report,
 * an unanswered GET_REPORT, a flood of reports) skip for it.
 *
 * What the converted hidraw gives after the unplug: read -ENODEV (blocked
 * readers woken), write and ioctl -ENODEV, poll EPOLLOUT | EPOLLWRNORM |
 * EPOLLERR | EPOLLHUP, io_uring reads -ENODEV, every file released once at
 * the unplug (the provider sees one UHID_CLOSE before UHID_STOP), and the
 * minor free at once: a new device gets the same /dev/hidrawN while the old
 * file is still open.  With CDEV_STOCK=1 (make controls, stock kernel) the
 * cases assert what stock hidraw does instead: read -EIO, reports queued
 * before the unplug still read, the minor kept until the last close (the
 * new device gets another one).
 *
 * Environment: CDEV_STOCK, TCR_HOTPLUG (the host's QMP helper, for usb_kbd),
 * TCR_HID_CYCLES (cycles of cycles_under_load,
 * default 20; with TCR_CYCLES set, as make stress does, TCR_CYCLES / 50).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <linux/hidraw.h>
#include <linux/input.h>
#include <linux/uhid.h>
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

/* where reads that must fail would put their data */
static char scratch[64];

/* what a revoked file answers: stock hidraw's read gives -EIO */
#define READ_GONE	(cdev_stock() ? EIO : ENODEV)
#define POLL_GONE	(POLLOUT | POLLWRNORM | POLLERR | POLLHUP)
#define POLL_ALL	(POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM)

enum hid_how { HID_UHID_DESTROY, HID_UHID_CLOSE, HID_UHID_KILL, HID_USB_KBD };

#define KBD_PORT	6	/* of xhci0.0: QMP id kbd6, guest device 1-6 */

static int hid_seq;

/* Make a new HID device: 0 or -errno. */
static int hid_plug(int how, struct tcr_hid *h)
{
	char name[64];

	if (how == HID_USB_KBD) {
		h->usb = (struct tcr_usb){ .qdev = "usb-kbd", .port = KBD_PORT,
					   .vid = 0x0627, .pid = 0x0001 };
		return tcr_usb_hid_plug(h);
	}
	snprintf(name, sizeof(name), "tcr-hidraw-%d-%d", getpid(), ++hid_seq);
	return tcr_uhid_plug(h, name);
}

/*
 * Make it go away; returns once its node is gone: 0 or -errno.  *@st gets
 * what the provider saw, if it can tell (destroy), else is zeroed.
 */
static int hid_unplug(int how, struct tcr_hid *h, struct tcr_uhid_stat *st)
{
	struct tcr_uhid_stat tmp;
	int ret = 0;

	memset(st ? st : &tmp, 0, sizeof(tmp));
	switch (how) {
	case HID_UHID_DESTROY:
		ret = tcr_uhid_cmd(h, TCR_UHID_DESTROY, NULL, st ? st : &tmp);
		break;
	case HID_UHID_CLOSE:
		ret = tcr_uhid_cmd(h, TCR_UHID_CLOSE, NULL, &tmp);
		memset(&tmp, 0, sizeof(tmp));
		break;
	case HID_UHID_KILL:
		kill(h->pid, SIGKILL);
		waitpid(h->pid, NULL, 0);
		close(h->sock);
		h->pid = 0;
		break;
	case HID_USB_KBD:
		return tcr_usb_hid_unplug(h);
	}
	return ret ? ret : tcr_hidraw_gone(h, 5000);
}

/* An unplugged USB provider's device that a failed case left behind. */
static void hid_cleanup(int how, struct tcr_hid *h)
{
	if (how == HID_USB_KBD && h->usb.dev_path[0] &&
	    !access(h->usb.dev_path, F_OK))
		tcr_usb_hid_unplug(h);
}

/*
 * Input from the device, chosen by @b: how many reports it makes (a uhid
 * report; the press and the release of a key), or -errno.
 */
static int hid_input(int how, struct tcr_hid *h, __u8 b)
{
	__u8 data[4] = { b, b + 1, b + 2, b + 3 };
	char key[2] = { 'a' + b % 26, 0 };
	int ret;

	if (how == HID_USB_KBD) {
		ret = tcr_usb_key(key);
		return ret ? ret : 2;
	}
	ret = tcr_uhid_cmd(h, TCR_UHID_INPUT, data, NULL);
	return ret ? ret : 1;
}

/* The first report of hid_input(@b) into @buf: its size. */
static int hid_report(int how, __u8 b, __u8 *buf)
{
	int i;

	if (how == HID_USB_KBD) {
		/* boot keyboard: modifiers, reserved, the keys pressed */
		memset(buf, 0, 8);
		buf[2] = 0x04 + b % 26;	/* usage of key 'a' + b */
		return 8;
	}
	for (i = 0; i < 4; i++)
		buf[i] = b + i;
	return 4;
}

/*
 * An output report to write, for @how: a uhid report (the report number 0,
 * two bytes), or the keyboard's LEDs (report number 0, Caps Lock on).
 */
static const __u8 uhid_out[] = { 0, 0x12, 0x34 };
static const __u8 kbd_out[] = { 0, 0x02 };
#define OUT(how)	((how) == HID_USB_KBD ? kbd_out : uhid_out)
#define OUT_LEN(how)	((how) == HID_USB_KBD ? sizeof(kbd_out) : sizeof(uhid_out))

static int hid_stat(struct tcr_hid *h, struct tcr_uhid_stat *st)
{
	return tcr_uhid_cmd(h, TCR_UHID_STAT, NULL, st);
}

FIXTURE(hidraw) {
	struct tcr_hid h;
	struct tcr_hid h2;	/* a second device, for re-plug */
};

FIXTURE_VARIANT(hidraw) {
	int how;
	bool stat;	/* the provider can tell what it saw after the unplug */
	bool uhid;	/* a uhid provider: it counts what it saw, answers a
			 * feature report, can leave a GET_REPORT unanswered
			 * and flood input reports
			 */
	int cycle_inputs;	/* input per cycle of cycles_under_load */
};

FIXTURE_VARIANT_ADD(hidraw, uhid_destroy) {
	.how = HID_UHID_DESTROY,
	.stat = true,
	.uhid = true,
	.cycle_inputs = 10,
};

FIXTURE_VARIANT_ADD(hidraw, uhid_close) {
	.how = HID_UHID_CLOSE,
	.uhid = true,
	.cycle_inputs = 10,
};

FIXTURE_VARIANT_ADD(hidraw, uhid_kill) {
	.how = HID_UHID_KILL,
	.uhid = true,
	.cycle_inputs = 10,
};

/* one QMP request per key: fewer of them */
FIXTURE_VARIANT_ADD(hidraw, usb_kbd) {
	.how = HID_USB_KBD,
	.cycle_inputs = 2,
};

FIXTURE_SETUP(hidraw)
{
	int ret;

	if (variant->how == HID_USB_KBD) {
		if (!getenv("TCR_HOTPLUG"))
			SKIP(return, "no TCR_HOTPLUG (the host's QMP helper)");
		if (access(TCR_USBDEVS "usb1", F_OK))
			SKIP(return, "no USB host controller (qemu-xhci)");
		if (tcr_control_boot())
			SKIP(return, "runs in the main boot");
	} else if (access("/dev/uhid", F_OK)) {
		SKIP(return, "no /dev/uhid (CONFIG_UHID)");
	}
	ret = hid_plug(variant->how, &self->h);
	ASSERT_EQ(0, ret) TH_LOG("plug: %s", strerror(-ret));
}

FIXTURE_TEARDOWN(hidraw)
{
	hid_cleanup(variant->how, &self->h);
	hid_cleanup(variant->how, &self->h2);
	tcr_uhid_reap(&self->h);
	tcr_uhid_reap(&self->h2);
}

static int hid_open(struct tcr_hid *h)
{
	return open(h->node, O_RDWR | O_CLOEXEC);
}

/* A blocked read is woken by the unplug with the revoked error. */
TEST_F_TIMEOUT(hidraw, read_woken, 60)
{
	struct tcr_waiter w;
	int fd = hid_open(&self->h);

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, tcr_waiter_start(&w, fd, TCR_W_READ, 64));
	usleep(200000);
	ASSERT_FALSE(tcr_load(w.done));
	ASSERT_EQ(0, hid_unplug(variant->how, &self->h, NULL));
	ASSERT_TRUE(tcr_waiter_wait(&w, 5000));
	pthread_join(w.th, NULL);
	EXPECT_EQ(-1, w.ret);
	EXPECT_EQ(READ_GONE, w.err);
	EXPECT_EQ(-1, read(fd, scratch, sizeof(scratch)));
	EXPECT_EQ(READ_GONE, errno);
	EXPECT_EQ(0, close(fd));
}

/*
 * Input reports reach the reader; one queued and not read at the unplug is
 * dropped with the file (stock: still read, then -EIO).
 */
TEST_F_TIMEOUT(hidraw, queued_report_after_unplug, 60)
{
	__u8 buf[64], want[64];
	int fd = hid_open(&self->h), n, len, i;

	ASSERT_LE(0, fd);
	n = hid_input(variant->how, &self->h, 0x10);
	ASSERT_LT(0, n);
	len = hid_report(variant->how, 0x10, want);
	ASSERT_EQ(len, read(fd, buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(want, buf, len));
	for (i = 1; i < n; i++)		/* the key's release */
		ASSERT_EQ(len, read(fd, buf, sizeof(buf)));
	n = hid_input(variant->how, &self->h, 0x11);
	ASSERT_LT(0, n);
	/* the device sent the reports before it goes */
	usleep(300000);
	ASSERT_EQ(0, hid_unplug(variant->how, &self->h, NULL));
	if (cdev_stock()) {
		len = hid_report(variant->how, 0x11, want);
		EXPECT_EQ(len, read(fd, buf, sizeof(buf)));
		EXPECT_EQ(0, memcmp(want, buf, len));
		for (i = 1; i < n; i++)
			EXPECT_EQ(len, read(fd, buf, sizeof(buf)));
	}
	EXPECT_EQ(-1, read(fd, buf, sizeof(buf)));
	EXPECT_EQ(READ_GONE, errno);
	close(fd);
}

/* Pollers are woken with a hang-up; the file then polls as gone. */
TEST_F_TIMEOUT(hidraw, poll_hangup, 60)
{
	struct tcr_waiter wp, we;
	struct pollfd p;
	int fd = hid_open(&self->h);

	ASSERT_LE(0, fd);
	p = (struct pollfd){ .fd = fd, .events = POLL_ALL };
	ASSERT_EQ(1, poll(&p, 1, 0));
	EXPECT_EQ(POLLOUT | POLLWRNORM, p.revents);
	ASSERT_EQ(0, tcr_waiter_start(&wp, fd, TCR_W_POLL, 0));
	ASSERT_EQ(0, tcr_waiter_start(&we, fd, TCR_W_EPOLL, 0));
	usleep(200000);
	ASSERT_FALSE(tcr_load(wp.done));
	ASSERT_FALSE(tcr_load(we.done));
	ASSERT_EQ(0, hid_unplug(variant->how, &self->h, NULL));
	ASSERT_TRUE(tcr_waiter_wait(&wp, 5000));
	ASSERT_TRUE(tcr_waiter_wait(&we, 5000));
	pthread_join(wp.th, NULL);
	pthread_join(we.th, NULL);
	EXPECT_EQ(1, wp.ret);
	EXPECT_EQ(POLLERR | POLLHUP, wp.revents);
	EXPECT_EQ(1, we.ret);
	EXPECT_EQ(EPOLLERR | EPOLLHUP, we.revents);
	p = (struct pollfd){ .fd = fd, .events = POLL_ALL };
	ASSERT_EQ(1, poll(&p, 1, 0));
	EXPECT_EQ(POLL_GONE, p.revents);
	close(fd);
}

/* The info ioctls answer from the device, then -ENODEV. */
TEST_F_TIMEOUT(hidraw, ioctls, 60)
{
	struct hidraw_devinfo info;
	char name[128] = "";
	int size = 0;
	int fd = hid_open(&self->h);

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(fd, HIDIOCGRDESCSIZE, &size));
	EXPECT_EQ(self->h.rdesc_size, size);
	ASSERT_EQ(0, ioctl(fd, HIDIOCGRAWINFO, &info));
	EXPECT_EQ(self->h.bus, info.bustype);
	EXPECT_EQ(self->h.vendor, (__u16)info.vendor);
	EXPECT_EQ(self->h.product, (__u16)info.product);
	ASSERT_LT(0, ioctl(fd, HIDIOCGRAWNAME(sizeof(name)), name));
	EXPECT_STREQ(self->h.name, name);
	ASSERT_EQ(0, hid_unplug(variant->how, &self->h, NULL));
	EXPECT_EQ(-1, ioctl(fd, HIDIOCGRDESCSIZE, &size));
	EXPECT_EQ(ENODEV, errno);
	EXPECT_EQ(-1, ioctl(fd, HIDIOCGRAWINFO, &info));
	EXPECT_EQ(ENODEV, errno);
	EXPECT_EQ(-1, ioctl(fd, HIDIOCGRAWNAME(sizeof(name)), name));
	EXPECT_EQ(ENODEV, errno);
	close(fd);
}

/* An output report written reaches the provider; after the unplug -ENODEV. */
TEST_F_TIMEOUT(hidraw, write_output, 60)
{
	const __u8 *out = OUT(variant->how);
	struct tcr_uhid_stat st;
	int fd = hid_open(&self->h);

	ASSERT_LE(0, fd);
	ASSERT_EQ(OUT_LEN(variant->how), write(fd, out, OUT_LEN(variant->how)));
	if (variant->uhid) {
		ASSERT_EQ(0, hid_stat(&self->h, &st));
		EXPECT_EQ(1, st.outputs);
		EXPECT_EQ(3, st.output_size);
		EXPECT_EQ(0x12, st.output[1]);
		EXPECT_EQ(0x34, st.output[2]);
	}
	ASSERT_EQ(0, hid_unplug(variant->how, &self->h, NULL));
	EXPECT_EQ(-1, write(fd, out, OUT_LEN(variant->how)));
	EXPECT_EQ(ENODEV, errno);
	close(fd);
}

/*
 * Output reports written in a loop, until one fails other than as a
 * transfer cut by the unplug (@cut).
 */
struct write_loop {
	int fd, how;
	long ok, cut, max_ms;
	int err;	/* of the write that ended the loop */
};

static void *write_loop_fn(void *arg)
{
	struct write_loop *w = arg;
	long t;
	ssize_t n;

	for (;;) {
		t = now_ms();
		n = write(w->fd, OUT(w->how), OUT_LEN(w->how));
		t = now_ms() - t;
		if (t > w->max_ms)
			w->max_ms = t;
		if (n >= 0) {
			w->ok++;
		} else if (tcr_usb_cut(errno)) {
			w->cut++;
			usleep(1000);
		} else {
			break;
		}
	}
	w->err = errno;
	return NULL;
}

/*
 * Output reports written in a loop across the unplug, three times.  On
 * usb-kbd each is a synchronous SET_REPORT on ep0; QEMU's xHCI drops the
 * transfers of a device it detaches without completing them, so a write
 * in flight then ends only when the device's ep0 is flushed, or at its
 * timeout (USB_CTRL_SET_TIMEOUT, 5 s), and hidraw's removal waits for it.
 * usbcore flushes ep0 before the drivers' disconnect: no write lasts
 * anywhere near the timeout; the one in flight then fails with that
 * flush's ESHUTDOWN (hidraw's removal has not begun yet), and the next one
 * with ENODEV.  Stock: the write's timeout, reported.
 */
TEST_F_TIMEOUT(hidraw, writes_across_unplug, 120)
{
	long t0, gone;
	pthread_t t;
	int i;

	if (variant->how != HID_USB_KBD)
		SKIP(return, "uhid answers an output report at once");
	for (i = 0; i < 3; i++) {
		struct write_loop w = { .how = variant->how };

		if (i)
			ASSERT_EQ(0, hid_plug(variant->how, &self->h));
		w.fd = hid_open(&self->h);
		ASSERT_LE(0, w.fd);
		ASSERT_EQ(0, pthread_create(&t, NULL, write_loop_fn, &w));
		usleep(300000);
		t0 = now_ms();
		ASSERT_EQ(0, hid_unplug(variant->how, &self->h, NULL));
		gone = now_ms() - t0;
		pthread_join(t, NULL);
		ksft_print_msg("unplug %d: %ld ms; writes %ld, cut %ld, longest %ld ms; then %s\n",
			       i, gone, w.ok, w.cut, w.max_ms, strerror(w.err));
		EXPECT_LT(0, w.ok);
		EXPECT_GE(1, w.cut);
		EXPECT_EQ(ENODEV, w.err);
		/* the stock kernel flushes ep0 after the disconnect */
		if (!cdev_stock())
			EXPECT_GT(4000, w.max_ms);
		close(w.fd);
	}
}

/* HIDIOCGFEATURE answered by the provider. */
TEST_F_TIMEOUT(hidraw, get_feature, 60)
{
	__u8 buf[3] = { 0 };
	int fd;

	if (!variant->uhid)
		SKIP(return, "no feature report");
	fd = hid_open(&self->h);
	ASSERT_LE(0, fd);
	ASSERT_EQ(3, ioctl(fd, HIDIOCGFEATURE(sizeof(buf)), buf));
	EXPECT_EQ(0xab, buf[1]);
	EXPECT_EQ(0xcd, buf[2]);
	close(fd);
}

struct feature_call {
	int fd;
	int ret, err;
	long t_end;
	int done;
};

static void *feature_fn(void *arg)
{
	struct feature_call *c = arg;
	__u8 buf[3] = { 0 };

	c->ret = ioctl(c->fd, HIDIOCGFEATURE(sizeof(buf)), buf);
	c->err = errno;
	c->t_end = now_ms();
	tcr_store(c->done, 1);
	return NULL;
}

/*
 * A HIDIOCGFEATURE waits for the provider's answer, which does not come:
 * the provider goes away instead.  The ioctl returns at the unplug, not at
 * uhid's 5 s timeout: uhid wakes it with -EIO before it destroys the HID
 * device, so it usually returns uhid's -EIO before hidraw's removal has
 * begun, or -ENODEV if it gets back into the fence after that (seen with
 * the killed provider).
 */
TEST_F_TIMEOUT(hidraw, get_feature_in_flight, 60)
{
	struct feature_call c = { 0 };
	struct tcr_uhid_stat st;
	pthread_t t;
	long t0;
	int i;

	if (!variant->uhid)
		SKIP(return, "the provider always answers");
	c.fd = hid_open(&self->h);
	ASSERT_LE(0, c.fd);
	ASSERT_EQ(0, tcr_uhid_cmd(&self->h, TCR_UHID_MUTE, NULL, NULL));
	ASSERT_EQ(0, pthread_create(&t, NULL, feature_fn, &c));
	for (i = 0; i < 200; i++) {
		ASSERT_EQ(0, hid_stat(&self->h, &st));
		if (st.get_reports)
			break;
		usleep(10000);
	}
	ASSERT_EQ(1, st.get_reports);
	ASSERT_FALSE(tcr_load(c.done));
	t0 = now_ms();
	ASSERT_EQ(0, hid_unplug(variant->how, &self->h, NULL));
	for (i = 0; i < 500 && !tcr_load(c.done); i++)
		usleep(10000);
	ASSERT_TRUE(tcr_load(c.done));
	pthread_join(t, NULL);
	TH_LOG("HIDIOCGFEATURE returned %ld ms after the unplug began: %d %s",
	       c.t_end - t0, c.ret, strerror(c.err));
	EXPECT_EQ(-1, c.ret);
	if (cdev_stock() || c.err != ENODEV)
		EXPECT_EQ(EIO, c.err);
	EXPECT_GT(2000, c.t_end - t0);
	close(c.fd);
}

/* A provider that stays and never answers: uhid gives up after 5 s, -EIO. */
TEST_F_TIMEOUT(hidraw, get_feature_unanswered, 60)
{
	struct feature_call c = { 0 };
	long t0;

	if (variant->how != HID_UHID_DESTROY)
		SKIP(return, "uhid's timeout: run once, in uhid_destroy");
	c.fd = hid_open(&self->h);
	ASSERT_LE(0, c.fd);
	ASSERT_EQ(0, tcr_uhid_cmd(&self->h, TCR_UHID_MUTE, NULL, NULL));
	t0 = now_ms();
	feature_fn(&c);
	TH_LOG("unanswered HIDIOCGFEATURE: %d %s after %ld ms", c.ret,
	       strerror(c.err), c.t_end - t0);
	EXPECT_EQ(-1, c.ret);
	EXPECT_EQ(EIO, c.err);
	EXPECT_LE(4500, c.t_end - t0);
	EXPECT_GT(8000, c.t_end - t0);
	close(c.fd);
}

/* io_uring reads: answered by input reports, the rest ended by the unplug. */
TEST_F_TIMEOUT(hidraw, io_uring_reads, 60)
{
	static char bufs[8][64];
	struct __kernel_timespec ts = { .tv_sec = 5 };
	struct io_uring_cqe *cqe;
	struct io_uring ring;
	int i, ok = 0, gone = 0, other = 0, reports = 0, n;
	__u8 want[64];
	int len = hid_report(variant->how, 1, want);
	int fd = hid_open(&self->h);

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, io_uring_queue_init(8, &ring, 0));
	for (i = 0; i < 8; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

		io_uring_prep_read(sqe, fd, bufs[i], sizeof(bufs[i]), 0);
		if (i & 1)
			sqe->flags |= IOSQE_ASYNC;
	}
	ASSERT_EQ(8, io_uring_submit(&ring));
	usleep(200000);
	for (i = 1; i <= 2; i++) {
		n = hid_input(variant->how, &self->h, i);
		ASSERT_LT(0, n);
		reports += n;
	}
	usleep(300000);
	ASSERT_EQ(0, hid_unplug(variant->how, &self->h, NULL));
	for (i = 0; i < 8; i++) {
		ASSERT_EQ(0, io_uring_wait_cqe_timeout(&ring, &cqe, &ts));
		if (cqe->res == len) {
			ok++;
		} else if (cqe->res == -READ_GONE) {
			gone++;
		} else {
			other++;
			TH_LOG("io_uring read: %d", cqe->res);
		}
		io_uring_cqe_seen(&ring, cqe);
	}
	TH_LOG("io_uring reads: %d with a report, %d revoked", ok, gone);
	EXPECT_EQ(reports, ok);
	EXPECT_EQ(8 - reports, gone);
	EXPECT_EQ(0, other);
	io_uring_queue_exit(&ring);
	close(fd);
}

/*
 * Every file is released at the unplug, once: the provider sees the one
 * UHID_CLOSE of hidraw's last release before UHID_STOP, while the test
 * still holds its three files, and nothing after they are closed.
 */
TEST_F_TIMEOUT(hidraw, released_once_at_unplug, 60)
{
	struct tcr_uhid_stat st, st2;
	struct tcr_waiter w;
	int fd[3], i;

	if (!variant->stat)
		SKIP(return, "the provider cannot tell after the unplug");
	for (i = 0; i < 3; i++) {
		fd[i] = hid_open(&self->h);
		ASSERT_LE(0, fd[i]);
	}
	ASSERT_EQ(0, tcr_waiter_start(&w, fd[0], TCR_W_READ, 64));
	ASSERT_EQ(0, hid_stat(&self->h, &st));
	EXPECT_EQ(1, st.opens);
	EXPECT_EQ(0, st.closes);
	ASSERT_EQ(0, hid_unplug(variant->how, &self->h, &st));
	EXPECT_EQ(1, st.closes);
	EXPECT_EQ(1, st.stops);
	EXPECT_LT(st.seq_close, st.seq_stop);
	ASSERT_TRUE(tcr_waiter_wait(&w, 5000));
	pthread_join(w.th, NULL);
	for (i = 0; i < 3; i++)
		EXPECT_EQ(0, close(fd[i]));
	ASSERT_EQ(0, hid_stat(&self->h, &st2));
	EXPECT_EQ(st.events, st2.events);
	EXPECT_EQ(1, st2.closes);
}

/*
 * A device made while a file of the gone one is still open gets the same
 * minor (stock: another one, the old minor is held until the last close);
 * the stale file never reaches the new device.
 */
TEST_F_TIMEOUT(hidraw, replug_same_minor, 60)
{
	const __u8 *out = OUT(variant->how);
	size_t olen = OUT_LEN(variant->how);
	__u8 buf[64], want[64];
	struct tcr_uhid_stat st;
	int minor = self->h.minor;
	int fd = hid_open(&self->h), fd2, len;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, hid_unplug(variant->how, &self->h, NULL));
	ASSERT_EQ(0, hid_plug(variant->how, &self->h2));
	TH_LOG("gone: hidraw%d, re-plugged with a file held: hidraw%d",
	       minor, self->h2.minor);
	/* stock keeps the minor until the last close: the new device gets another */
	EXPECT_EQ(cdev_stock(), minor != self->h2.minor);
	EXPECT_EQ(-1, write(fd, out, olen));
	EXPECT_EQ(ENODEV, errno);
	EXPECT_EQ(-1, read(fd, scratch, sizeof(scratch)));
	EXPECT_EQ(READ_GONE, errno);
	if (variant->uhid) {
		ASSERT_EQ(0, hid_stat(&self->h2, &st));
		EXPECT_EQ(0, st.outputs);
	}
	fd2 = hid_open(&self->h2);
	ASSERT_LE(0, fd2);
	EXPECT_EQ(olen, write(fd2, out, olen));
	if (variant->uhid) {
		ASSERT_EQ(0, hid_stat(&self->h2, &st));
		EXPECT_EQ(1, st.outputs);
	}
	/* the new device's reports reach the new file, not the stale one */
	ASSERT_LT(0, hid_input(variant->how, &self->h2, 5));
	len = hid_report(variant->how, 5, want);
	EXPECT_EQ(len, read(fd2, buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(want, buf, len));
	EXPECT_EQ(-1, read(fd, scratch, sizeof(scratch)));
	EXPECT_EQ(READ_GONE, errno);
	close(fd);
	close(fd2);
}

/*
 * HIDIOCREVOKE (in the 6.12 base) still cuts one file off while the
 * others work; the unplug then releases both.
 */
TEST_F_TIMEOUT(hidraw, hidiocrevoke_then_unplug, 60)
{
	struct hidraw_devinfo info;
	struct tcr_uhid_stat st;
	struct pollfd p;
	int fd1 = hid_open(&self->h), fd2 = hid_open(&self->h);

	ASSERT_LE(0, fd1);
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, ioctl(fd1, HIDIOCREVOKE, NULL));
	EXPECT_EQ(-1, read(fd1, scratch, sizeof(scratch)));
	EXPECT_EQ(ENODEV, errno);
	EXPECT_EQ(-1, ioctl(fd1, HIDIOCGRAWINFO, &info));
	EXPECT_EQ(ENODEV, errno);
	p = (struct pollfd){ .fd = fd1, .events = POLLIN };
	ASSERT_EQ(1, poll(&p, 1, 0));
	EXPECT_EQ(POLLERR | POLLHUP, p.revents);
	EXPECT_EQ(0, ioctl(fd2, HIDIOCGRAWINFO, &info));
	ASSERT_EQ(0, hid_unplug(variant->how, &self->h, &st));
	if (variant->stat)
		EXPECT_EQ(1, st.closes);
	EXPECT_EQ(-1, ioctl(fd2, HIDIOCGRAWINFO, &info));
	EXPECT_EQ(ENODEV, errno);
	EXPECT_EQ(0, close(fd1));
	EXPECT_EQ(0, close(fd2));
}

struct flood_reader {
	int fd;
	long reads;
	int err;
	int done;
};

static void *flood_fn(void *arg)
{
	struct flood_reader *r = arg;
	char buf[64];

	while (read(r->fd, buf, sizeof(buf)) > 0)
		r->reads++;
	r->err = errno;
	tcr_store(r->done, 1);
	return NULL;
}

/*
 * The provider floods input reports and goes away in the middle of it
 * (killed between two UHID_INPUT2 writes, for the hostile one) while a
 * reader takes them: the reader ends with the revoked error.
 */
TEST_F_TIMEOUT(hidraw, unplug_mid_input_flood, 60)
{
	struct flood_reader r = { 0 };
	struct tcr_uhid_stat st;
	pthread_t t;
	int i;

	if (!variant->uhid)
		SKIP(return, "a flood needs a uhid provider");
	r.fd = hid_open(&self->h);
	ASSERT_LE(0, r.fd);
	ASSERT_EQ(0, pthread_create(&t, NULL, flood_fn, &r));
	ASSERT_EQ(0, tcr_uhid_cmd(&self->h, TCR_UHID_FLOOD, NULL, NULL));
	for (i = 0; i < 300 && tcr_load(r.reads) < 200; i++)
		usleep(10000);
	ASSERT_EQ(0, hid_stat(&self->h, &st));
	ASSERT_EQ(0, hid_unplug(variant->how, &self->h, NULL));
	for (i = 0; i < 500 && !tcr_load(r.done); i++)
		usleep(10000);
	ASSERT_TRUE(tcr_load(r.done));
	pthread_join(t, NULL);
	TH_LOG("%ld reports sent before the last stat, %ld read, then %s",
	       st.inputs, r.reads, strerror(r.err));
	EXPECT_LT(0, r.reads);
	EXPECT_EQ(READ_GONE, r.err);
	close(r.fd);
}

/* The load of cycles_under_load: one kind of call in a loop until it fails. */
enum { L_READ, L_POLL, L_IOCTL, L_WRITE, L_URING, L_NR };
static const char *const load_names[L_NR] = {
	"read", "poll", "ioctl", "write", "io_uring read",
};

struct load {
	pthread_t th;
	int fd, kind, how;
	long ok, gone, other, cut;
	int last_err;
};

static void *load_fn(void *arg)
{
	struct load *l = arg;
	struct hidraw_devinfo info;
	struct io_uring ring;
	char buf[64];
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
			r = read(l->fd, buf, sizeof(buf));
			break;
		case L_POLL:
			r = poll(&p, 1, 10000);
			if (r == 1 && (p.revents & (POLLERR | POLLHUP))) {
				l->gone++;
				return NULL;
			}
			usleep(1000);	/* the reader takes the report */
			break;
		case L_IOCTL:
			r = ioctl(l->fd, HIDIOCGRAWINFO, &info);
			usleep(1000);
			break;
		case L_WRITE:
			r = write(l->fd, OUT(l->how), OUT_LEN(l->how));
			usleep(1000);
			break;
		default:
			io_uring_prep_read(io_uring_get_sqe(&ring), l->fd, buf,
					   sizeof(buf), 0);
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
		/* a write whose control transfer the unplug cut: go on */
		if (l->kind == L_WRITE && tcr_usb_cut(err)) {
			l->cut++;
			continue;
		}
		if (err == ENODEV || ((l->kind == L_READ || l->kind == L_URING) &&
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
 * Plug, load, unplug, 20 times (TCR_HID_CYCLES): five threads read, poll,
 * ioctl, write and io_uring-read one file while the provider sends input
 * reports, then the device goes away.  Every call succeeds or gets the
 * revoked answer (or, for a write whose control transfer the unplug cut
 * before the revocation began, the USB error: counted, and the writes go
 * on), every thread ends, and each cycle's device gets the first cycle's
 * minor.
 */
TEST_F_TIMEOUT(hidraw, cycles_under_load, 1800)
{
	const char *cy = getenv("TCR_HID_CYCLES");
	int n = cy ? atoi(cy) : getenv("TCR_CYCLES") ?
		atoi(getenv("TCR_CYCLES")) / 50 : 20;
	long tot[L_NR][4] = { { 0 } };
	long t, tmax = 0, tsum = 0;
	int minor = self->h.minor;
	int i, k, j;

	for (i = 0; i < n; i++) {
		struct load l[L_NR];
		int fd;

		if (i) {
			ASSERT_EQ(0, hid_plug(variant->how, &self->h));
			EXPECT_EQ(minor, self->h.minor);
		}
		fd = hid_open(&self->h);
		ASSERT_LE(0, fd);
		for (k = 0; k < L_NR; k++) {
			l[k] = (struct load){ .fd = fd, .kind = k,
					      .how = variant->how };
			ASSERT_EQ(0, pthread_create(&l[k].th, NULL, load_fn,
						    &l[k]));
		}
		for (j = 0; j < variant->cycle_inputs; j++) {
			ASSERT_LT(0, hid_input(variant->how, &self->h, j));
			usleep(5000);
		}
		t = now_ms();
		ASSERT_EQ(0, hid_unplug(variant->how, &self->h, NULL));
		t = now_ms() - t;
		tsum += t;
		if (t > tmax)
			tmax = t;
		for (k = 0; k < L_NR; k++) {
			pthread_join(l[k].th, NULL);
			tot[k][0] += l[k].ok;
			tot[k][1] += l[k].gone;
			tot[k][2] += l[k].other;
			tot[k][3] += l[k].cut;
			if (l[k].other)
				TH_LOG("cycle %d: %s: %s", i, load_names[k],
				       strerror(l[k].last_err));
		}
		EXPECT_EQ(0, close(fd));
		tcr_uhid_reap(&self->h);
	}
	TH_LOG("%d cycles, unplug %ld ms on average, %ld ms at most", n,
	       n ? tsum / n : 0, tmax);
	for (k = 0; k < L_NR; k++) {
		TH_LOG("%s: %ld ok, %ld revoked, %ld other, %ld cut by the unplug",
		       load_names[k], tot[k][0], tot[k][1], tot[k][2],
		       tot[k][3]);
		EXPECT_EQ(0, tot[k][2]);
		EXPECT_EQ(n, tot[k][1]);
	}
}

TEST_HARNESS_MAIN
