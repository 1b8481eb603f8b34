// SPDX-License-Identifier: GPL-2.0
/*
 * usbfs (/dev/bus/usb/BBB/DDD, drivers/usb/core/devio.c) across a real USB
 * hot-unplug, through libusb-1.0 (Debian libusb-1.0-0-dev) and through raw
 * usbfs ioctls.  usbfs is not on cdev_revoke: this is the baseline that pins
 * down what userspace sees today, which a conversion must keep.
 *
 * The device is QEMU's usb-wacom-tablet (056a:0000) on port 8 of the VM's
 * qemu-xhci, plugged and unplugged through QMP (device_add, device_del: a
 * cable pull; scripts/qmp-hotplug.py).  usbhid ignores it
 * (usbhid.quirks=0x056a:0x0000:0x4 on the command line); a class driver
 * bound to it through new_id by another program is detached by libusb
 * (auto-detach) or USBDEVFS_DISCONNECT_CLAIM.  Its interrupt-in endpoint
 * 0x81 answers once after the plug, then NAKs until the host moves the
 * mouse ("rel DX DY": a report whose bytes 1 and 2 are DX and DY), so a
 * transfer really stays in flight.
 *
 * libusb is used as applications use it where there is no udev: the node is
 * opened by the program and wrapped (LIBUSB_OPTION_NO_DEVICE_DISCOVERY,
 * libusb_wrap_sys_device()).  Its Linux backend polls the usbfs file for
 * POLLOUT; on POLLERR it drops the file from its event sources and, as the
 * kernel reports USBDEVFS_CAP_REAP_AFTER_DISCONNECT, reaps with
 * USBDEVFS_REAPURBNDELAY until ENODEV before it fails the transfers left
 * with LIBUSB_TRANSFER_NO_DEVICE.
 *
 * Environment: TCR_HOTPLUG (the host's QMP helper), TCR_CYCLES (the
 * plug/unplug cycles with lsusb -v running are TCR_CYCLES / 50; default 20).
 */
#define _GNU_SOURCE
#include <libusb-1.0/libusb.h>
#include <linux/usb/ch9.h>
#include <linux/usbdevice_fs.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "../kselftest_harness.h"
#include "util.h"

#define WAC_VID		0x056a
#define WAC_PID		0x0000
#define WAC_PORT	8
#define WAC_ADD		"add wac8 usb-wacom-tablet xhci0.0 port=8"
#define WAC_DEL		"del wac8"
#define EP_IN		0x81
#define RLEN		8	/* the endpoint's wMaxPacketSize */
#define WAKE_MS		10000	/* "at once", on a loaded TCG host */
#define GONE_MS		20000	/* the guest handles the port's disconnect */
#define PLUG_MS		60000	/* enumeration */
#define LSUSB_MS	60000	/* one lsusb -v, at most */

FIXTURE(usbfs) {
	char dev[32];		/* the tablet in sysfs: "1-8" */
	char dev_path[256];	/* its real sysfs directory */
	char node[64];		/* /dev/bus/usb/001/NNN */
	libusb_context *ctx;
	libusb_device_handle *h;	/* wrapped around fd */
	int fd;			/* a usbfs file of the tablet */
};

/* Wait up to @ms until the tablet is enumerated and configured. */
static int wait_plugged(struct _test_data_usbfs *self, long ms)
{
	long end = now_ms() + ms;
	char path[300];

	do {
		if (!tcr_usb_find(WAC_VID, WAC_PID, WAC_PORT, self->dev,
				  sizeof(self->dev)) &&
		    !tcr_usbfs_node(self->dev, self->node, sizeof(self->node)) &&
		    !access(self->node, F_OK)) {
			snprintf(path, sizeof(path), TCR_USBDEVS "%s:1.0",
				 self->dev);
			if (!access(path, F_OK)) {
				snprintf(path, sizeof(path), TCR_USBDEVS "%s",
					 self->dev);
				if (realpath(path, self->dev_path))
					return 0;
			}
		}
		usleep(20000);
	} while (now_ms() < end);
	return -1;
}

/* Plug the tablet into port 8 unless it is there. */
static int plug(struct _test_data_usbfs *self)
{
	if (tcr_usb_find(WAC_VID, WAC_PID, WAC_PORT, self->dev,
			 sizeof(self->dev)) && tcr_hotplug(WAC_ADD))
		return -1;
	return wait_plugged(self, PLUG_MS);
}

/* Unplug it and wait until the guest has removed the device. */
static int unplug(struct _test_data_usbfs *self)
{
	if (tcr_hotplug(WAC_DEL))
		return -1;
	return tcr_wait_gone(self->dev_path, GONE_MS);
}

/* A usbfs file of the tablet, wrapped by libusb, interface 0 claimed. */
static int open_libusb(struct _test_data_usbfs *self)
{
	int r;

	self->fd = open(self->node, O_RDWR | O_CLOEXEC);
	if (self->fd < 0)
		return -errno;
	r = libusb_wrap_sys_device(self->ctx, self->fd, &self->h);
	if (r)
		return r;
	libusb_set_auto_detach_kernel_driver(self->h, 1);
	return libusb_claim_interface(self->h, 0);
}

FIXTURE_SETUP(usbfs)
{
	self->fd = -1;
	if (!getenv("TCR_HOTPLUG"))
		SKIP(return, "no TCR_HOTPLUG (the host's QMP helper)");
	if (access(TCR_USBDEVS "usb1", F_OK))
		SKIP(return, "no USB host controller (qemu-xhci)");
	if (tcr_control_boot())
		SKIP(return, "runs in the main boot");
	/* no scan of the devices: the test opens the node itself */
	ASSERT_EQ(0, libusb_set_option(NULL, LIBUSB_OPTION_NO_DEVICE_DISCOVERY));
	ASSERT_EQ(0, libusb_init(&self->ctx));
	ASSERT_EQ(0, plug(self)) {
		TH_LOG("the tablet did not appear at port %d", WAC_PORT);
	}
}

FIXTURE_TEARDOWN(usbfs)
{
	char name[32];

	if (self->h)
		libusb_close(self->h);
	if (self->fd >= 0)
		close(self->fd);
	if (self->ctx)
		libusb_exit(self->ctx);
	/* leave nothing plugged at port 8 for other programs */
	if (!tcr_usb_find(WAC_VID, WAC_PID, WAC_PORT, name, sizeof(name)))
		unplug(self);
}

/*
 * Read the reports the tablet has queued (the one after the plug, unless a
 * class driver took it before libusb detached it): how many.
 */
static int drain(struct _test_data_usbfs *self)
{
	unsigned char buf[RLEN];
	int n = 0, len;

	while (n < 10 && !libusb_interrupt_transfer(self->h, EP_IN, buf, RLEN,
						    &len, 1000))
		n++;
	return n;
}

/* Ask the host for a mouse motion of @dx, @dy: the tablet's next report. */
static int motion(int dx, int dy)
{
	char req[32];

	snprintf(req, sizeof(req), "rel %d %d", dx, dy);
	return tcr_hotplug(req);
}

/* An asynchronous transfer and what its callback saw. */
struct xfer {
	struct libusb_transfer *t;
	unsigned char *buf;
	unsigned char own[RLEN];
	int done;
	int status;
	int actual;
	long t_done;
};

static void LIBUSB_CALL xfer_cb(struct libusb_transfer *t)
{
	struct xfer *x = t->user_data;

	x->status = t->status;
	x->actual = t->actual_length;
	x->t_done = now_ms();
	tcr_store(x->done, 1);
}

/* Submit an interrupt-in transfer into @buf (NULL: its own buffer). */
static int xfer_submit(struct _test_data_usbfs *self, struct xfer *x,
		       unsigned char *buf)
{
	memset(x, 0, sizeof(*x));
	x->buf = buf ?: x->own;
	x->t = libusb_alloc_transfer(0);
	if (!x->t)
		return LIBUSB_ERROR_NO_MEM;
	libusb_fill_interrupt_transfer(x->t, self->h, EP_IN, x->buf, RLEN,
				       xfer_cb, x, 0);
	return libusb_submit_transfer(x->t);
}

/* Handle events until the @n transfers of @x are done or @ms passed. */
static int events_until(libusb_context *ctx, struct xfer *x, int n, long ms)
{
	long end = now_ms() + ms;
	int i, k;

	for (;;) {
		struct timeval tv = { 0, 100000 };

		for (k = i = 0; i < n; i++)
			k += tcr_load(x[i].done);
		if (k == n || now_ms() > end)
			return k;
		libusb_handle_events_timeout_completed(ctx, &tv, NULL);
	}
}

/* Whether libusb's event loop still polls @fd. */
static bool fd_polled(libusb_context *ctx, int fd)
{
	const struct libusb_pollfd **p = libusb_get_pollfds(ctx), **q;
	bool found = false;

	for (q = p; q && *q; q++)
		if ((*q)->fd == fd)
			found = true;
	libusb_free_pollfds(p);
	return found;
}

/* The libusb calls of a handle whose device is gone. */
static void assert_gone_libusb(struct __test_metadata *_metadata,
			       struct _test_data_usbfs *self)
{
	unsigned char buf[64];
	struct xfer x;
	int len;

	EXPECT_EQ(LIBUSB_ERROR_NO_DEVICE,
		  libusb_control_transfer(self->h, LIBUSB_ENDPOINT_IN,
					  LIBUSB_REQUEST_GET_DESCRIPTOR,
					  LIBUSB_DT_DEVICE << 8, 0, buf, 18,
					  1000));
	EXPECT_EQ(LIBUSB_ERROR_NO_DEVICE,
		  libusb_interrupt_transfer(self->h, EP_IN, buf, RLEN, &len,
					    1000));
	EXPECT_EQ(LIBUSB_ERROR_NO_DEVICE, libusb_clear_halt(self->h, EP_IN));
	EXPECT_EQ(LIBUSB_ERROR_NO_DEVICE, xfer_submit(self, &x, NULL));
	libusb_free_transfer(x.t);
}

/*
 * Synchronous transfers (control GET_DESCRIPTOR, interrupt in) work, the
 * tablet is unplugged with none in flight: every libusb call then fails
 * with LIBUSB_ERROR_NO_DEVICE.
 */
TEST_F_TIMEOUT(usbfs, sync_then_unplug, 120)
{
	unsigned char buf[64];
	int len, r;

	ASSERT_EQ(0, open_libusb(self));
	r = libusb_control_transfer(self->h, LIBUSB_ENDPOINT_IN,
				    LIBUSB_REQUEST_GET_DESCRIPTOR,
				    LIBUSB_DT_DEVICE << 8, 0, buf, 18, 2000);
	ASSERT_EQ(18, r);
	EXPECT_EQ(WAC_VID, buf[8] | buf[9] << 8);
	drain(self);
	ASSERT_EQ(0, motion(2, 3));
	ASSERT_EQ(0, libusb_interrupt_transfer(self->h, EP_IN, buf, RLEN, &len,
					       5000));
	EXPECT_LE(3, len);
	EXPECT_EQ(2, buf[1]);
	EXPECT_EQ(3, buf[2]);
	ASSERT_EQ(0, unplug(self));
	assert_gone_libusb(_metadata, self);
	EXPECT_EQ(LIBUSB_ERROR_NO_DEVICE, libusb_release_interface(self->h, 0));
}

struct sync_in {
	libusb_device_handle *h;
	int r, len, done;
	long t_done;
};

static void *sync_in_fn(void *arg)
{
	struct sync_in *s = arg;
	unsigned char buf[RLEN];

	s->r = libusb_interrupt_transfer(s->h, EP_IN, buf, RLEN, &s->len, 0);
	s->t_done = now_ms();
	tcr_store(s->done, 1);
	return NULL;
}

/*
 * A synchronous interrupt-in transfer without a timeout in flight at the
 * unplug: it returns LIBUSB_ERROR_NO_DEVICE at once.
 */
TEST_F_TIMEOUT(usbfs, sync_in_flight, 120)
{
	struct sync_in s = { 0 };
	pthread_t th;
	long t0;

	ASSERT_EQ(0, open_libusb(self));
	drain(self);
	s.h = self->h;
	ASSERT_EQ(0, pthread_create(&th, NULL, sync_in_fn, &s));
	usleep(500000);
	ASSERT_FALSE(tcr_load(s.done));
	t0 = now_ms();
	ASSERT_EQ(0, tcr_hotplug(WAC_DEL));
	for (int i = 0; i < WAKE_MS / 10 && !tcr_load(s.done); i++)
		usleep(10000);
	ASSERT_TRUE(tcr_load(s.done));
	pthread_join(th, NULL);
	ksft_print_msg("sync interrupt in: %s (%d bytes) %ld ms after device_del\n",
		       libusb_error_name(s.r), s.len, s.t_done - t0);
	EXPECT_EQ(LIBUSB_ERROR_NO_DEVICE, s.r);
	ASSERT_EQ(0, tcr_wait_gone(self->dev_path, GONE_MS));
	assert_gone_libusb(_metadata, self);
}

struct evloop {
	libusb_context *ctx;
	int stop;
	long rounds;
};

static void *evloop_fn(void *arg)
{
	struct evloop *e = arg;

	while (!tcr_load(e->stop)) {
		struct timeval tv = { 30, 0 };

		libusb_handle_events_timeout_completed(e->ctx, &tv, NULL);
		e->rounds++;
	}
	return NULL;
}

/*
 * Two asynchronous interrupt-in transfers in flight at the unplug, with an
 * event thread asleep in libusb_handle_events: the unplug wakes it, their
 * callbacks come with LIBUSB_TRANSFER_NO_DEVICE (or CANCELLED), libusb
 * soon stops polling the file (POLLERR), and a new submission fails with
 * NO_DEVICE.
 */
TEST_F_TIMEOUT(usbfs, async_in_flight, 120)
{
	struct evloop e = { .ctx = self->ctx };
	struct xfer x[2];
	pthread_t th;
	long t0;
	int i;

	ASSERT_EQ(0, open_libusb(self));
	drain(self);
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, xfer_submit(self, &x[i], NULL));
	EXPECT_TRUE(fd_polled(self->ctx, self->fd));
	ASSERT_EQ(0, pthread_create(&th, NULL, evloop_fn, &e));
	usleep(500000);
	ASSERT_FALSE(tcr_load(x[0].done));
	ASSERT_FALSE(tcr_load(x[1].done));
	t0 = now_ms();
	ASSERT_EQ(0, tcr_hotplug(WAC_DEL));
	for (i = 0; i < WAKE_MS / 10 &&
	     !(tcr_load(x[0].done) && tcr_load(x[1].done)); i++)
		usleep(10000);
	/*
	 * The callbacks may come first, from the reap of the URBs the unplug
	 * gave back (POLLOUT, with POLLHUP: the device is not attached), and
	 * the POLLERR of the file's disconnect in a later round.
	 */
	for (i = 0; i < WAKE_MS / 10 && fd_polled(self->ctx, self->fd); i++)
		usleep(10000);
	ksft_print_msg("libusb stopped polling the file %ld ms after device_del\n",
		       now_ms() - t0);
	tcr_store(e.stop, 1);
	libusb_interrupt_event_handler(self->ctx);
	pthread_join(th, NULL);
	for (i = 0; i < 2; i++) {
		ASSERT_TRUE(x[i].done);
		ksft_print_msg("transfer %d: %s, %d bytes, %ld ms after device_del\n",
			       i, libusb_error_name(x[i].status), x[i].actual,
			       x[i].t_done - t0);
		EXPECT_TRUE(x[i].status == LIBUSB_TRANSFER_NO_DEVICE ||
			    x[i].status == LIBUSB_TRANSFER_CANCELLED);
		EXPECT_EQ(0, x[i].actual);
		libusb_free_transfer(x[i].t);
	}
	EXPECT_FALSE(fd_polled(self->ctx, self->fd));
	ASSERT_EQ(0, tcr_wait_gone(self->dev_path, GONE_MS));
	assert_gone_libusb(_metadata, self);
}

/*
 * A transfer that completed before the unplug and was not reaped yet (the
 * program had not handled events): it is delivered after the unplug with
 * LIBUSB_TRANSFER_COMPLETED and its data, because usbfs lets libusb reap
 * after the disconnect (USBDEVFS_CAP_REAP_AFTER_DISCONNECT).  A second one
 * still in flight ends with NO_DEVICE.
 */
TEST_F_TIMEOUT(usbfs, completed_then_unplug, 120)
{
	struct pollfd pfd;
	struct xfer x[2];
	long t0;
	int i;

	ASSERT_EQ(0, open_libusb(self));
	drain(self);
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, xfer_submit(self, &x[i], NULL));
	ASSERT_EQ(0, motion(5, 7));
	/* the first URB completes in the kernel; libusb has not reaped it */
	pfd = (struct pollfd){ .fd = self->fd, .events = POLLOUT };
	ASSERT_EQ(1, poll(&pfd, 1, 5000));
	EXPECT_EQ(POLLOUT, pfd.revents);
	usleep(200000);
	ASSERT_FALSE(tcr_load(x[0].done));
	t0 = now_ms();
	ASSERT_EQ(0, unplug(self));
	ksft_print_msg("the tablet gone %ld ms after device_del\n",
		       now_ms() - t0);
	ASSERT_EQ(2, events_until(self->ctx, x, 2, WAKE_MS));
	for (i = 0; i < 2; i++)
		ksft_print_msg("transfer %d: %s, %d bytes %02x %02x %02x\n", i,
			       libusb_error_name(x[i].status), x[i].actual,
			       x[i].buf[0], x[i].buf[1], x[i].buf[2]);
	EXPECT_EQ(LIBUSB_TRANSFER_COMPLETED, x[0].status);
	EXPECT_LE(3, x[0].actual);
	EXPECT_EQ(5, x[0].buf[1]);
	EXPECT_EQ(7, x[0].buf[2]);
	EXPECT_EQ(LIBUSB_TRANSFER_NO_DEVICE, x[1].status);
	EXPECT_FALSE(fd_polled(self->ctx, self->fd));
	for (i = 0; i < 2; i++)
		libusb_free_transfer(x[i].t);
	assert_gone_libusb(_metadata, self);
}

/* Whether the mapping of @node is in this process's address space. */
static bool node_mapped(const char *node)
{
	char line[512];
	bool found = false;
	FILE *f = fopen("/proc/self/maps", "r");

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, node))
			found = true;
	fclose(f);
	return found;
}

/*
 * Transfers into a buffer of libusb_dev_mem_alloc() (a mapping of the usbfs
 * file: the controller writes into it directly): one completed before the
 * unplug, one in flight.  After the unplug the mapping stays: the data of
 * the completed one is there, the rest of the buffer is intact, reads and
 * writes work (no SIGBUS), and libusb_dev_mem_free() unmaps it.
 */
TEST_F_TIMEOUT(usbfs, dev_mem_in_flight, 120)
{
	const size_t size = 4096;
	unsigned char *mem;
	struct xfer x[2];
	__u32 word;
	size_t i;

	ASSERT_EQ(0, open_libusb(self));
	drain(self);
	mem = libusb_dev_mem_alloc(self->h, size);
	ASSERT_NE(NULL, mem);
	ASSERT_TRUE(node_mapped(self->node));
	for (i = 1024; i < size; i++)
		mem[i] = i & 0xff;
	ASSERT_EQ(0, xfer_submit(self, &x[0], mem));
	ASSERT_EQ(0, xfer_submit(self, &x[1], mem + 512));
	ASSERT_EQ(0, motion(6, 1));
	usleep(1000000);
	ASSERT_EQ(0, unplug(self));
	ASSERT_EQ(2, events_until(self->ctx, x, 2, WAKE_MS));
	ksft_print_msg("dev_mem transfers: %s %d bytes, %s %d bytes\n",
		       libusb_error_name(x[0].status), x[0].actual,
		       libusb_error_name(x[1].status), x[1].actual);
	EXPECT_EQ(LIBUSB_TRANSFER_COMPLETED, x[0].status);
	EXPECT_EQ(LIBUSB_TRANSFER_NO_DEVICE, x[1].status);
	for (i = 0; i < 2; i++)
		libusb_free_transfer(x[i].t);
	/* the mapping after the unplug */
	ASSERT_EQ(0, tcr_touch((__u32 *)mem, &word)) {
		TH_LOG("SIGBUS on the dev_mem buffer after the unplug");
	}
	ASSERT_EQ(0, tcr_touch((__u32 *)(mem + size - 4), &word));
	EXPECT_EQ(6, mem[1]);
	EXPECT_EQ(1, mem[2]);
	for (i = 1024; i < size; i++)
		if (mem[i] != (i & 0xff))
			break;
	EXPECT_EQ(size, i);
	memset(mem, 0x5a, size);
	EXPECT_EQ(0x5a, mem[size - 1]);
	EXPECT_TRUE(node_mapped(self->node));
	EXPECT_EQ(0, libusb_dev_mem_free(self->h, mem, size));
	EXPECT_FALSE(node_mapped(self->node));
	assert_gone_libusb(_metadata, self);
}

/* Raw usbfs: a file with interface 0 claimed (a class driver detached). */
static int raw_open(struct _test_data_usbfs *self)
{
	struct usbdevfs_disconnect_claim dc = { .interface = 0 };

	self->fd = open(self->node, O_RDWR | O_CLOEXEC);
	if (self->fd < 0)
		return -errno;
	return ioctl(self->fd, USBDEVFS_DISCONNECT_CLAIM, &dc) ? -errno : 0;
}

static int raw_submit(int fd, struct usbdevfs_urb *u, unsigned char *buf)
{
	memset(u, 0, sizeof(*u));
	u->type = USBDEVFS_URB_TYPE_INTERRUPT;
	u->endpoint = EP_IN;
	u->buffer = buf;
	u->buffer_length = RLEN;
	u->usercontext = u;
	return ioctl(fd, USBDEVFS_SUBMITURB, u) ? -errno : 0;
}

/* Reap one URB (@req: REAPURB or REAPURBNDELAY): it, or NULL and errno. */
static struct usbdevfs_urb *raw_reap(int fd, unsigned long req)
{
	struct usbdevfs_urb *u = NULL;

	if (ioctl(fd, req, &u))
		return NULL;
	return u;
}

/* Take the report queued after the plug, if any, with a raw URB. */
static void raw_drain(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	struct usbdevfs_urb u;
	unsigned char buf[RLEN];

	if (raw_submit(fd, &u, buf))
		return;
	if (poll(&pfd, 1, 1500) != 1)
		ioctl(fd, USBDEVFS_DISCARDURB, &u);
	raw_reap(fd, USBDEVFS_REAPURB);
}

static int disc_sig, disc_errno, disc_code;
static void *disc_addr;

static void on_disc(int sig, siginfo_t *si, void *uc)
{
	disc_errno = si->si_errno;
	disc_code = si->si_code;
	disc_addr = si->si_addr;
	tcr_store(disc_sig, sig);
}

/*
 * Raw usbfs after the unplug, with one URB completed and one in flight at
 * the unplug: the disconnect signal arrives (USBDEVFS_DISCSIGNAL), poll
 * reports POLLOUT (completions queued) with POLLERR | POLLHUP, both URBs are
 * reaped (the completed one with its data), then REAPURBNDELAY and REAPURB
 * fail with ENODEV at once, poll says POLLERR | POLLHUP, every other ioctl
 * and read fail with ENODEV.
 */
TEST_F_TIMEOUT(usbfs, raw_reap_after_unplug, 120)
{
	struct sigaction sa = { .sa_sigaction = on_disc, .sa_flags = SA_SIGINFO };
	struct usbdevfs_disconnectsignal ds = { .signr = SIGUSR2,
						.context = (void *)0x5ab };
	struct usbdevfs_ctrltransfer ct = { 0 };
	struct usbdevfs_urb ua, ub, *u;
	unsigned char a[RLEN], b[RLEN], desc[18];
	struct pollfd pfd;
	__u32 caps = 0;
	void *map;
	long t0;

	ASSERT_EQ(0, sigaction(SIGUSR2, &sa, NULL));
	ASSERT_EQ(0, raw_open(self));
	ASSERT_EQ(0, ioctl(self->fd, USBDEVFS_GET_CAPABILITIES, &caps));
	ksft_print_msg("usbfs capabilities 0x%x\n", caps);
	EXPECT_TRUE(caps & USBDEVFS_CAP_REAP_AFTER_DISCONNECT);
	EXPECT_TRUE(caps & USBDEVFS_CAP_MMAP);
	ASSERT_EQ(0, ioctl(self->fd, USBDEVFS_DISCSIGNAL, &ds));
	raw_drain(self->fd);
	ASSERT_EQ(0, raw_submit(self->fd, &ua, a));
	ASSERT_EQ(0, motion(4, 9));
	pfd = (struct pollfd){ .fd = self->fd, .events = POLLOUT };
	ASSERT_EQ(1, poll(&pfd, 1, 5000));
	ASSERT_EQ(0, raw_submit(self->fd, &ub, b));
	t0 = now_ms();
	ASSERT_EQ(0, unplug(self));
	ksft_print_msg("the tablet gone %ld ms after device_del\n",
		       now_ms() - t0);
	for (int i = 0; i < 100 && !tcr_load(disc_sig); i++)
		usleep(10000);
	ksft_print_msg("disconnect signal %d, si_errno %d, si_code %d, si_addr %p\n",
		       disc_sig, disc_errno, disc_code, disc_addr);
	EXPECT_EQ(SIGUSR2, disc_sig);
	EXPECT_EQ(EPIPE, disc_errno);
	EXPECT_EQ(SI_ASYNCIO, disc_code);
	EXPECT_EQ((void *)0x5ab, disc_addr);

	pfd = (struct pollfd){ .fd = self->fd, .events = POLLIN | POLLOUT };
	EXPECT_EQ(1, poll(&pfd, 1, 0));
	ksft_print_msg("poll with both URBs unreaped: 0x%x\n", pfd.revents);
	EXPECT_EQ(POLLOUT | POLLERR | POLLHUP, pfd.revents);

	u = raw_reap(self->fd, USBDEVFS_REAPURBNDELAY);
	ASSERT_EQ(&ua, u) {
		TH_LOG("first reap: %p (%s)", u, strerror(errno));
	}
	ksft_print_msg("reaped the completed URB: status %d, %d bytes %02x %02x %02x\n",
		       ua.status, ua.actual_length, a[0], a[1], a[2]);
	EXPECT_EQ(0, ua.status);
	EXPECT_LE(3, ua.actual_length);
	EXPECT_EQ(4, a[1]);
	EXPECT_EQ(9, a[2]);
	u = raw_reap(self->fd, USBDEVFS_REAPURBNDELAY);
	ASSERT_EQ(&ub, u) {
		TH_LOG("second reap: %p (%s)", u, strerror(errno));
	}
	ksft_print_msg("reaped the URB in flight: status %d (%s), %d bytes\n",
		       ub.status, strerror(-ub.status), ub.actual_length);
	EXPECT_TRUE(ub.status == -ESHUTDOWN || ub.status == -ENOENT ||
		    ub.status == -ENODEV);
	EXPECT_EQ(0, ub.actual_length);

	errno = 0;
	EXPECT_EQ(NULL, raw_reap(self->fd, USBDEVFS_REAPURBNDELAY));
	EXPECT_EQ(ENODEV, errno);
	errno = 0;
	EXPECT_EQ(NULL, raw_reap(self->fd, USBDEVFS_REAPURB));
	EXPECT_EQ(ENODEV, errno);
	pfd = (struct pollfd){ .fd = self->fd, .events = POLLIN | POLLOUT };
	EXPECT_EQ(1, poll(&pfd, 1, 0));
	EXPECT_EQ(POLLERR | POLLHUP, pfd.revents);

	EXPECT_EQ(-ENODEV, raw_submit(self->fd, &ua, a));
	ct.bRequestType = USB_DIR_IN;
	ct.bRequest = USB_REQ_GET_DESCRIPTOR;
	ct.wValue = USB_DT_DEVICE << 8;
	ct.wLength = sizeof(desc);
	ct.timeout = 1000;
	ct.data = desc;
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->fd, USBDEVFS_CONTROL, &ct));
	EXPECT_EQ(ENODEV, errno);
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->fd, USBDEVFS_GET_CAPABILITIES, &caps));
	EXPECT_EQ(ENODEV, errno);
	errno = 0;
	EXPECT_EQ(-1, pread(self->fd, desc, sizeof(desc), 0));
	EXPECT_EQ(ENODEV, errno);
	/* usbfs's mmap does not look at the device: it still allocates */
	map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);
	ksft_print_msg("mmap after the unplug: %s\n",
		       map == MAP_FAILED ? strerror(errno) : "mapped");
	if (map != MAP_FAILED)
		EXPECT_EQ(0, munmap(map, 4096));
	EXPECT_EQ(0, close(self->fd));
	self->fd = -1;
}

struct reaper {
	int fd;
	struct usbdevfs_urb *u;
	int err;
	int done;
	long t_done;
};

static void *reaper_fn(void *arg)
{
	struct reaper *r = arg;

	r->u = raw_reap(r->fd, USBDEVFS_REAPURB);
	r->err = errno;
	r->t_done = now_ms();
	tcr_store(r->done, 1);
	return NULL;
}

/*
 * A blocking USBDEVFS_REAPURB and a poll asleep on the file at the unplug:
 * the reap returns the URB that was in flight, the poll wakes and soon
 * reports POLLERR | POLLHUP (the file is off the device's list), the next
 * REAPURB fails with ENODEV at once.
 */
TEST_F_TIMEOUT(usbfs, raw_blocking_reap_woken, 120)
{
	struct pollfd pfd = { .events = POLLOUT };
	struct usbdevfs_urb ua;
	struct reaper r = { 0 };
	unsigned char a[RLEN];
	short first = 0;
	long t0, t1 = 0, t2 = 0;
	pthread_t th;

	ASSERT_EQ(0, raw_open(self));
	raw_drain(self->fd);
	ASSERT_EQ(0, raw_submit(self->fd, &ua, a));
	r.fd = self->fd;
	ASSERT_EQ(0, pthread_create(&th, NULL, reaper_fn, &r));
	usleep(500000);
	ASSERT_FALSE(tcr_load(r.done));
	pfd.fd = self->fd;
	EXPECT_EQ(0, poll(&pfd, 1, 0));
	t0 = now_ms();
	ASSERT_EQ(0, tcr_hotplug(WAC_DEL));
	/* woken by the URB's completion or by the disconnect of the file */
	while (now_ms() - t0 < WAKE_MS) {
		pfd.revents = 0;
		if (poll(&pfd, 1, WAKE_MS) < 0)
			break;
		if (!first) {
			first = pfd.revents;
			t1 = now_ms();
		}
		if (pfd.revents & POLLERR) {
			t2 = now_ms();
			break;
		}
		usleep(10000);
	}
	for (int i = 0; i < WAKE_MS / 10 && !tcr_load(r.done); i++)
		usleep(10000);
	ASSERT_TRUE(tcr_load(r.done));
	pthread_join(th, NULL);
	ksft_print_msg("poll woken with 0x%x %ld ms, POLLERR %ld ms after device_del\n",
		       first, t1 - t0, t2 - t0);
	ksft_print_msg("REAPURB: %s %ld ms after device_del\n",
		       r.u ? "the URB" : strerror(r.err), r.t_done - t0);
	EXPECT_TRUE(first & POLLHUP);
	EXPECT_EQ(POLLERR | POLLHUP, pfd.revents & (POLLERR | POLLHUP));
	ASSERT_EQ(&ua, r.u);
	ksft_print_msg("its status %d (%s)\n", ua.status, strerror(-ua.status));
	EXPECT_TRUE(ua.status == -ESHUTDOWN || ua.status == -ENOENT ||
		    ua.status == -ENODEV);
	ASSERT_EQ(0, tcr_wait_gone(self->dev_path, GONE_MS));
	errno = 0;
	EXPECT_EQ(NULL, raw_reap(self->fd, USBDEVFS_REAPURB));
	EXPECT_EQ(ENODEV, errno);
}

/* What the lsusb -v loop saw, in memory shared with the test. */
struct lsusb_stat {
	int stop;
	long runs, ok, failed, signalled, hung, saw_tablet;
	int last_status;
	long max_ms;
};

/* One lsusb -v, its output in @out: its wait status, or -1 if it hung. */
static int lsusb_once(const char *out, long *ms)
{
	long t0 = now_ms();
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return -2;
	if (!pid) {
		int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl("/usr/bin/lsusb", "lsusb", "-v", (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (now_ms() - t0 > LSUSB_MS) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -1;
		}
		usleep(20000);
	}
	*ms = now_ms() - t0;
	return status;
}

static bool file_has(const char *path, const char *s)
{
	char line[512];
	bool found = false;
	FILE *f = fopen(path, "r");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, s);
	fclose(f);
	return found;
}

static void lsusb_loop(struct lsusb_stat *st)
{
	const char *out = "/tmp/revoke_usbfs-lsusb.txt";
	long ms = 0;
	int s;

	while (!tcr_load(st->stop)) {
		s = lsusb_once(out, &ms);
		st->runs++;
		if (s == -1) {
			st->hung++;
			continue;
		}
		st->last_status = s;
		if (ms > st->max_ms)
			st->max_ms = ms;
		if (s >= 0 && WIFSIGNALED(s))
			st->signalled++;
		else if (s >= 0 && WIFEXITED(s) && !WEXITSTATUS(s))
			st->ok++;
		else
			st->failed++;
		if (file_has(out, "idVendor           0x056a"))
			st->saw_tablet++;
	}
}

/*
 * lsusb -v (usbutils: libusb opens every device and reads its descriptors
 * through usbfs) in a loop while the tablet is unplugged and plugged again
 * TCR_CYCLES / 50 times: no run hangs or dies of a signal, and the
 * re-plugged tablet works.
 */
TEST_F_TIMEOUT(usbfs, lsusb_during_cycles, 1800)
{
	struct lsusb_stat *st;
	int n = tcr_cycles(50, 20), i, status;
	unsigned char buf[64];
	char first[64];
	long t0 = now_ms(), tu, umax = 0, pmax = 0;
	pid_t pid;

	if (access("/usr/bin/lsusb", X_OK))
		SKIP(return, "no lsusb (Debian usbutils)");
	st = mmap(NULL, sizeof(*st), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, st);
	memset(st, 0, sizeof(*st));
	snprintf(first, sizeof(first), "%s", self->node);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		lsusb_loop(st);
		_exit(0);
	}
	for (i = 0; i < n; i++) {
		usleep((i % 4) * 150000);
		tu = now_ms();
		ASSERT_EQ(0, unplug(self));
		tu = now_ms() - tu;
		if (tu > umax)
			umax = tu;
		usleep((i % 3) * 150000);
		tu = now_ms();
		ASSERT_EQ(0, tcr_hotplug(WAC_ADD));
		ASSERT_EQ(0, wait_plugged(self, PLUG_MS));
		tu = now_ms() - tu;
		if (tu > pmax)
			pmax = tu;
	}
	/* one more lsusb run with the tablet plugged */
	usleep(2000000);
	tcr_store(st->stop, 1);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ksft_print_msg("%d cycles in %ld ms (unplug at most %ld ms, plug %ld ms)\n",
		       n, now_ms() - t0, umax, pmax);
	ksft_print_msg("nodes %s to %s\n", first, self->node);
	ksft_print_msg("lsusb -v: %ld runs, %ld ok, %ld failed, %ld signalled, %ld hung\n",
		       st->runs, st->ok, st->failed, st->signalled, st->hung);
	ksft_print_msg("lsusb -v: %ld listed the tablet, one run took %ld ms at most\n",
		       st->saw_tablet, st->max_ms);
	EXPECT_LT(0, st->runs);
	EXPECT_EQ(0, st->signalled);
	EXPECT_EQ(0, st->hung);
	EXPECT_LT(0, st->saw_tablet);
	munmap(st, sizeof(*st));
	/* the tablet at its last node works */
	ASSERT_EQ(0, open_libusb(self));
	EXPECT_EQ(18, libusb_control_transfer(self->h, LIBUSB_ENDPOINT_IN,
					      LIBUSB_REQUEST_GET_DESCRIPTOR,
					      LIBUSB_DT_DEVICE << 8, 0, buf,
					      18, 2000));
}

/*
 * Re-plug: the tablet comes back under a new device number, so a new node;
 * the node of the old one is gone.  The new node reaches the new tablet,
 * while the handle held across the unplug still fails with NO_DEVICE.
 */
TEST_F_TIMEOUT(usbfs, replug_new_device, 120)
{
	libusb_device_handle *h2 = NULL;
	unsigned char buf[64];
	char old[64];
	int fd2, len;

	ASSERT_EQ(0, open_libusb(self));
	drain(self);
	snprintf(old, sizeof(old), "%s", self->node);
	ASSERT_EQ(0, unplug(self));
	errno = 0;
	EXPECT_EQ(-1, open(old, O_RDWR | O_CLOEXEC));
	EXPECT_EQ(ENOENT, errno);
	ASSERT_EQ(0, tcr_hotplug(WAC_ADD));
	ASSERT_EQ(0, wait_plugged(self, PLUG_MS));
	ksft_print_msg("re-plugged as %s, was %s\n", self->node, old);
	EXPECT_STRNE(old, self->node);
	fd2 = open(self->node, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, libusb_wrap_sys_device(self->ctx, fd2, &h2));
	libusb_set_auto_detach_kernel_driver(h2, 1);
	ASSERT_EQ(0, libusb_claim_interface(h2, 0));
	EXPECT_EQ(18, libusb_control_transfer(h2, LIBUSB_ENDPOINT_IN,
					      LIBUSB_REQUEST_GET_DESCRIPTOR,
					      LIBUSB_DT_DEVICE << 8, 0, buf,
					      18, 2000));
	for (int i = 0; i < 10 &&
	     !libusb_interrupt_transfer(h2, EP_IN, buf, RLEN, &len, 1000); i++)
		;
	ASSERT_EQ(0, motion(3, 4));
	EXPECT_EQ(0, libusb_interrupt_transfer(h2, EP_IN, buf, RLEN, &len,
					       5000));
	EXPECT_EQ(3, buf[1]);
	EXPECT_EQ(4, buf[2]);
	assert_gone_libusb(_metadata, self);
	libusb_close(h2);
	EXPECT_EQ(0, close(fd2));
}

TEST_HARNESS_MAIN
