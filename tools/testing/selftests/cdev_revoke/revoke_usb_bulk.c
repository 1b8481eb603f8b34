// SPDX-License-Identifier: GPL-2.0
/*
 * USB class drivers with bulk endpoints on cdev_revoke (usblcd, usbtmc,
 * usb-skeleton),
 * with a real hot-unplug: QEMU devices plugged into the VM's qemu-xhci,
 * bound to the driver through its new_id file, unplugged with QMP
 * device_del (the guest sees the port disconnect, hub_wq runs the driver's
 * disconnect) and plugged again at the same port while files are held,
 * with reads, writes, polls and io_uring requests in flight.
 *
 * - usbtmc on usb-serial (QEMU's FTDI, 0403:6001: vendor class, bulk IN
 *   and OUT) on port 4.  Its bulk IN NAKs until the host writes into the
 *   socket chardev behind it (qmp-hotplug.py "chr cser0 HEX"), so a read
 *   really blocks; the bytes that end it are an FTDI packet, not a USBTMC
 *   header, so that read returns 0 (usbtmc logs the short packet).
 * - usbtmc on usb-ccid (08e6:4433: bulk IN and OUT and an interrupt IN)
 *   on port 5: USBTMC488_IOCTL_WAIT_SRQ needs the interrupt endpoint.
 * - usblcd on usb-storage (46f4:0001, a null block device) on port 3:
 *   usblcd's probe takes product id 0x0001 only, which rules QEMU's FTDI
 *   out.  A read before a command STALLs; a Bulk-Only command block written
 *   to the node is answered on the bulk IN, and the status of a WRITE(10)
 *   waits there, since the block device's writes are throttled
 *   (scripts/vm-run.sh): after the first one, each waits until the device
 *   is unplugged.
 * - usb-skeleton on usb-braille (QEMU's other FTDI, 0403:fe72) on port 1,
 *   with the socket chardev cser1 behind it: the FTDI of usbtmc, with a
 *   product id of its own, so that the two drivers' new_id never match the
 *   same device.  The skeleton has no Kconfig symbol: both of its builds
 *   are external modules, the stock one named skel_stock.
 *
 * The "stock" variants load the unconverted module (scripts/stock-module.sh)
 * in place of the converted one and assert what it does: stock usbtmc's
 * SRQ wait sleeps through the unplug until its timeout; stock usblcd
 * answers an ioctl of an unplugged device.  (Its release calls
 * usb_autopm_put_interface() on the interface freed by the unplug, but
 * that is an empty inline without CONFIG_PM, as in the VM kernel.)
 *
 * Environment: TCR_KO (the converted modules are found in the same kernel
 * build, the stock ones in ../../{usblcd,usbtmc,skel}-stock/ relative to its
 * directory), TCR_HOTPLUG (the host's QMP helper), TCR_CYCLES (make stress:
 * the unplug/re-plug cycles under load are TCR_CYCLES / 50; default 20).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <linux/usb/tmc.h>
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

#define WAKE_MS		10000	/* "at once", on a loaded TCG host */
#define GONE_MS		20000	/* the guest handles the port's disconnect */
#define BIND_MS		60000	/* enumeration, then the probe */
#define SRQ_MS		15000	/* the SRQ wait's timeout */
#define STOCK_HOLD_MS	5000	/* stock: the SRQ wait still asleep after this */

/* usblcd's ioctls (drivers/usb/misc/usblcd.c, no uapi header) */
#define LCD_GET_HARD_VERSION	1

enum kind { LCD, TMC, SRQ, SKEL };

/* A QEMU device and the class driver bound to it through new_id. */
struct bulkdev {
	enum kind kind;
	const char *mod;	/* module and USB driver name */
	const char *drv;	/* the USB driver's name, if not @mod */
	const char *stock_mod;	/* the stock module's name, if not @mod */
	const char *ours_ko;	/* relative to $TCR_KO's directory */
	const char *stock_ko;
	const char *prefix;	/* of its usbmisc class devices */
	long vid, pid;
	const char *ids;	/* for new_id */
	const char *chardev;	/* the socket chardev of its bulk IN data */
	const char *add, *del;	/* tcr_hotplug() requests */
};

static const char *drv(const struct bulkdev *d)
{
	return d->drv ?: d->mod;
}

static const struct bulkdev lcd = {
	.kind = LCD,
	.mod = "usblcd",
	.ours_ko = "../drivers/usb/misc/usblcd.ko",
	.stock_ko = "../../usblcd-stock/usblcd.ko",
	.prefix = "lcd",
	.vid = 0x46f4,
	.pid = 0x0001,
	.ids = "46f4 0001",
	.add = "add lcd3 usb-storage xhci0.0 port=3 drive=lcdblk",
	.del = "del lcd3",
};

static const struct bulkdev tmc = {
	.kind = TMC,
	.mod = "usbtmc",
	.ours_ko = "../drivers/usb/class/usbtmc.ko",
	.stock_ko = "../../usbtmc-stock/usbtmc.ko",
	.prefix = "usbtmc",
	.vid = 0x0403,
	.pid = 0x6001,
	.ids = "0403 6001",
	.chardev = "cser0",
	.add = "add ser4 usb-serial xhci0.0 port=4 chardev=cser0 always-plugged=on",
	.del = "del ser4",
};

static const struct bulkdev srq = {
	.kind = SRQ,
	.mod = "usbtmc",
	.ours_ko = "../drivers/usb/class/usbtmc.ko",
	.stock_ko = "../../usbtmc-stock/usbtmc.ko",
	.prefix = "usbtmc",
	.vid = 0x08e6,
	.pid = 0x4433,
	.ids = "08e6 4433",
	.add = "add ccid5 usb-ccid xhci0.0 port=5",
	.del = "del ccid5",
};

static const struct bulkdev skel = {
	.kind = SKEL,
	.mod = "usb_skeleton",
	.drv = "skeleton",
	.stock_mod = "skel_stock",
	.ours_ko = "../../skel/usb-skeleton.ko",
	.stock_ko = "../../skel-stock/skel_stock.ko",
	.prefix = "skel",
	.vid = 0x0403,
	.pid = 0xfe72,
	.ids = "0403 fe72",
	.chardev = "cser1",
	.add = "add brl1 usb-braille xhci0.0 port=1 chardev=cser1",
	.del = "del brl1",
};

FIXTURE(bulk) {
	const char *mod;	/* the loaded module */
	char dev[32];		/* the device: "1-4" */
	char intf[48];		/* its interface: "1-4:1.0" */
	char dev_path[256];	/* the device's real sysfs directory */
	char node[64];		/* /dev/usbtmc0 */
	int fd;
	long refcnt;		/* of the module without files */
};

FIXTURE_VARIANT(bulk) {
	const struct bulkdev *d;
	bool stock;
};

FIXTURE_VARIANT_ADD(bulk, usblcd_ours) {
	.d = &lcd,
	.stock = false,
};

FIXTURE_VARIANT_ADD(bulk, usblcd_stock) {
	.d = &lcd,
	.stock = true,
};

FIXTURE_VARIANT_ADD(bulk, usbtmc_ours) {
	.d = &tmc,
	.stock = false,
};

FIXTURE_VARIANT_ADD(bulk, usbtmc_stock) {
	.d = &tmc,
	.stock = true,
};

FIXTURE_VARIANT_ADD(bulk, usbtmc_srq_ours) {
	.d = &srq,
	.stock = false,
};

FIXTURE_VARIANT_ADD(bulk, usbtmc_srq_stock) {
	.d = &srq,
	.stock = true,
};

FIXTURE_VARIANT_ADD(bulk, skeleton_ours) {
	.d = &skel,
};

FIXTURE_VARIANT_ADD(bulk, skeleton_stock) {
	.d = &skel,
	.stock = true,
};

/*
 * Wait up to @ms until the device is plugged, bound to its driver and its
 * node exists; fill @self's names: 0 or -1.
 */
static int wait_bound(struct _test_data_bulk *self, const struct bulkdev *d,
		      long ms)
{
	long end = now_ms() + ms;
	char path[300];

	do {
		if (!tcr_usb_find(d->vid, d->pid, 0, self->dev,
				  sizeof(self->dev))) {
			snprintf(self->intf, sizeof(self->intf), "%s:1.0",
				 self->dev);
			/*
			 * The bus's links go before the driver's disconnect
			 * runs; the device's own directory after it.
			 */
			snprintf(path, sizeof(path), TCR_USBDEVS "%s",
				 self->dev);
			if (!realpath(path, self->dev_path))
				continue;
			snprintf(path, sizeof(path), TCR_USBDRVS "%s/%s",
				 drv(d), self->intf);
			if (tcr_present(path) &&
			    !tcr_usb_node(self->intf, d->prefix, "/dev/",
					  self->node, sizeof(self->node)) &&
			    tcr_present(self->node))
				return 0;
		}
		usleep(20000);
	} while (now_ms() < end);
	return -1;
}

/* Unplug the device and wait until the guest has removed it: 0 or -1. */
static int unplug(struct _test_data_bulk *self, const struct bulkdev *d)
{
	if (tcr_hotplug(d->del))
		return -1;
	return tcr_wait_gone(self->dev_path, GONE_MS);
}

/* Plug the device in again (the same port) and wait for the driver. */
static int replug(struct _test_data_bulk *self, const struct bulkdev *d)
{
	if (tcr_hotplug(d->add))
		return -1;
	return wait_bound(self, d, BIND_MS);
}

FIXTURE_SETUP(bulk)
{
	const struct bulkdev *d = variant->d;
	char path[128];
	int ret;

	self->fd = -1;
	if (!getenv("TCR_HOTPLUG"))
		SKIP(return, "no TCR_HOTPLUG (the host's QMP helper)");
	if (!tcr_present(TCR_USBDEVS "usb1"))
		SKIP(return, "no USB host controller (qemu-xhci)");
	if (tcr_control_boot())
		SKIP(return, "runs in the main boot");
	self->mod = variant->stock && d->stock_mod ? d->stock_mod : d->mod;
	if (d->stock_mod) {
		/* two modules that register the same USB driver */
		const char *other = variant->stock ? d->mod : d->stock_mod;

		if (tcr_module_loaded(other))
			ASSERT_EQ(0, tcr_rmmod(other));
		ret = tcr_load_module_at(variant->stock ? d->stock_ko :
					 d->ours_ko, "");
	} else {
		ret = tcr_load_kind(d->mod, d->ours_ko, d->stock_ko,
				    variant->stock);
	}
	if (ret)
		SKIP(return, "load %s: %s",
		     variant->stock ? d->stock_ko : d->ours_ko,
		     strerror(-ret));
	if (d->chardev) {
		/* connect: usb-braille is attached only while it is */
		snprintf(path, sizeof(path), "chr %s", d->chardev);
		ASSERT_EQ(0, tcr_hotplug(path));
	}
	snprintf(path, sizeof(path), TCR_USBDRVS "%s/new_id", drv(d));
	ret = tcr_usb_has_id(drv(d), d->ids) ? 0 : write_str(path, d->ids);
	ASSERT_TRUE(!ret || ret == -EEXIST) {
		TH_LOG("%s: %s", path, strerror(-ret));
	}
	if (tcr_usb_find(d->vid, d->pid, 0, self->dev, sizeof(self->dev))) {
		ASSERT_EQ(0, tcr_hotplug(d->add));
	} else if (wait_bound(self, d, 2000)) {
		/* its ids were known already: new_id probed nothing */
		snprintf(path, sizeof(path), TCR_USBDRVS "%s/bind", drv(d));
		write_str(path, self->intf);
	}
	ASSERT_EQ(0, wait_bound(self, d, BIND_MS)) {
		TH_LOG("the device is not bound to %s", self->mod);
	}
	self->refcnt = tcr_mod_refcnt(self->mod);
}

FIXTURE_TEARDOWN(bulk)
{
	char name[32];

	if (self->fd >= 0)
		close(self->fd);
	/* a case that failed half-way may have left the device unplugged */
	if (tcr_usb_find(variant->d->vid, variant->d->pid, 0, name,
			 sizeof(name)))
		tcr_hotplug(variant->d->add);
}

/*
 * USB mass storage Bulk-Only transport: a command block wrapper (31 bytes:
 * signature, tag, data length, flags, LUN, command length, command) and
 * the status wrapper (13 bytes: signature, tag, residue, status), little
 * endian like the host.
 */
#define CBW_SIZE	31
#define CSW_SIZE	13

/*
 * Write a command block: TEST UNIT READY, or WRITE(10) of one block and
 * the block (@write10): 0 or -1.
 */
static int lcd_cmd(int fd, __u32 tag, bool write10)
{
	static const char block[512];
	__u32 sig = 0x43425355, len = write10 ? sizeof(block) : 0;
	__u8 c[CBW_SIZE] = { 0 };

	memcpy(c, &sig, 4);		/* "USBC" */
	memcpy(c + 4, &tag, 4);
	memcpy(c + 8, &len, 4);		/* c[12]: flags 0, data out */
	c[14] = write10 ? 10 : 6;	/* TEST UNIT READY is all zero */
	if (write10) {
		c[15] = 0x2a;		/* WRITE(10) of one block at LBA 0 */
		c[15 + 8] = 1;
	}
	if (write(fd, c, sizeof(c)) != sizeof(c))
		return -1;
	if (write10 && write(fd, block, sizeof(block)) != sizeof(block))
		return -1;
	return 0;
}

/*
 * Read the status of command @tag: 0 if it is there, passed or failed (the
 * first command after a plug fails with a unit attention).
 */
static int lcd_csw(int fd, __u32 tag)
{
	__u32 sig, got;
	char buf[512];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n != CSW_SIZE) {
		ksft_print_msg("usblcd: status read %zd (%s)\n", n,
			       n < 0 ? strerror(errno) : "");
		return -1;
	}
	memcpy(&sig, buf, 4);
	memcpy(&got, buf + 4, 4);
	if (sig != 0x53425355 || got != tag || buf[12] > 1) {	/* "USBS" */
		ksft_print_msg("usblcd: status %08x tag %u (of %u) status %d\n",
			       sig, got, tag, buf[12]);
		return -1;
	}
	return 0;
}

/*
 * The device works: usblcd a command and its status; usbtmc and the
 * skeleton a write (to the chardev) and a read that waits for the device's
 * bulk IN, ended by bytes the host sends: 0 or -1.
 */
static int works(struct __test_metadata *_metadata, const struct bulkdev *d,
		 int fd)
{
	struct tcr_waiter r;
	char req[64];
	__u32 ms = 20000;
	static __u32 tag = 100;
	int ret;

	if (d->kind == LCD) {
		tag++;
		EXPECT_EQ(0, lcd_cmd(fd, tag, false));
		ret = lcd_csw(fd, tag);
		EXPECT_EQ(0, ret);
		return ret;
	}
	if (d->kind == SRQ) {
		unsigned char caps = 0xff;

		ret = ioctl(fd, USBTMC488_IOCTL_GET_CAPS, &caps);
		EXPECT_EQ(0, ret);
		return ret;
	}
	if (d->kind == TMC)
		EXPECT_EQ(0, ioctl(fd, USBTMC_IOCTL_SET_TIMEOUT, &ms));
	EXPECT_EQ(6, write(fd, "*IDN?\n", 6));
	EXPECT_EQ(0, tcr_waiter_start(&r, fd, TCR_W_READ, 64));
	usleep(300000);
	EXPECT_FALSE(tcr_load(r.done));
	snprintf(req, sizeof(req), "chr %s 4142434445", d->chardev);
	EXPECT_EQ(0, tcr_hotplug(req));
	EXPECT_TRUE(tcr_waiter_wait(&r, WAKE_MS));
	pthread_join(r.th, NULL);
	ksft_print_msg("%s: the read ended by the device's bytes: %zd %s\n",
		       d->mod, r.ret, r.ret < 0 ? strerror(r.err) : "");
	/* the skeleton passes the FTDI's two status bytes on */
	EXPECT_TRUE(d->kind == SKEL ? r.ret == 7 : r.ret >= 0);
	return r.ret < 0 ? -1 : 0;
}

/*
 * The held file of an unplugged device: ENODEV for read, write and ioctl
 * (stock usblcd answers its ioctl; the skeleton has none: ENOTTY from the
 * VFS), the poll mask (usblcd and the skeleton have no poll: the default
 * mask of files without one).
 */
/*
 * close() of @fd: 0, or, if @may_fail, the skeleton's EIO.  The skeleton's
 * flush kills the read URB it may have left in flight (a read shorter than
 * asked starts the next one), and reports the kill's -ENOENT, which its
 * read callback records like any other status, as EIO: on stock and ours,
 * on a file of a live device, and on stock's after the unplug.  A revoked
 * file is not flushed any more: ours closes with 0.
 */
static bool closed(const struct bulkdev *d, int fd, bool may_fail)
{
	return !close(fd) || (may_fail && d->kind == SKEL && errno == EIO);
}

static bool no_poll(const struct bulkdev *d)
{
	return d->kind == LCD || d->kind == SKEL;
}

static void assert_gone(struct __test_metadata *_metadata,
			const struct bulkdev *d, bool stock, int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN | POLLOUT };
	char c[64] = { 1 };
	__u32 ms;
	int ret;

	errno = 0;
	EXPECT_EQ(-1, read(fd, c, sizeof(c)));
	EXPECT_EQ(ENODEV, errno);
	errno = 0;
	EXPECT_EQ(-1, write(fd, c, 31));
	if (stock && d->kind == SKEL && errno == EIO) {
		/*
		 * stock's write reports the error of the read the unplug cut
		 * (recorded by its callback) before it tests the unplug
		 */
		ksft_print_msg("stock skeleton: the first write after the unplug: EIO\n");
		errno = 0;
		EXPECT_EQ(-1, write(fd, c, 31));
	}
	EXPECT_EQ(ENODEV, errno);
	errno = 0;
	if (d->kind == LCD) {
		ret = ioctl(fd, LCD_GET_HARD_VERSION, c);
		if (stock) {
			ksft_print_msg("stock usblcd: ioctl of the unplugged device: %d\n",
				       ret);
			EXPECT_EQ(0, ret);
		} else {
			EXPECT_EQ(-1, ret);
			EXPECT_EQ(ENODEV, errno);
		}
	} else {
		EXPECT_EQ(-1, ioctl(fd, USBTMC_IOCTL_GET_TIMEOUT, &ms));
		EXPECT_EQ(d->kind == SKEL ? ENOTTY : ENODEV, errno);
	}
	EXPECT_EQ(1, poll(&pfd, 1, 0));
	/* usblcd and the skeleton have no poll method: the default mask */
	EXPECT_EQ(no_poll(d) ? POLLIN | POLLOUT : POLLERR | POLLHUP,
		  pfd.revents);
}

/*
 * The file works, then the device is unplugged with no call in flight:
 * every call on the held file fails cleanly, the node is gone, the close
 * works, the device comes back at the same port.
 */
TEST_F_TIMEOUT(bulk, calls_then_unplug, 120)
{
	const struct bulkdev *d = variant->d;

	self->fd = open(self->node, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd);
	works(_metadata, d, self->fd);
	if (d->kind == LCD) {
		char v[32] = "";

		EXPECT_EQ(0, ioctl(self->fd, LCD_GET_HARD_VERSION, v));
		ksft_print_msg("usblcd: version %.5s\n", v);
	}
	ASSERT_EQ(0, unplug(self, d));
	assert_gone(_metadata, d, variant->stock, self->fd);
	errno = 0;
	EXPECT_EQ(-1, open(self->node, O_RDWR | O_CLOEXEC));
	EXPECT_EQ(ENOENT, errno);
	EXPECT_TRUE(closed(d, self->fd, variant->stock));
	self->fd = -1;
	ASSERT_EQ(0, replug(self, d));
	EXPECT_EQ(self->refcnt, tcr_mod_refcnt(self->mod));
}

/*
 * Re-plug at the same port: a new open of the node reaches the new device,
 * while the file held across the unplug stays dead.
 */
TEST_F_TIMEOUT(bulk, replug_same_port, 120)
{
	const struct bulkdev *d = variant->d;
	char old[64];
	int fd2;

	self->fd = open(self->node, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd);
	snprintf(old, sizeof(old), "%s", self->node);
	ASSERT_EQ(0, unplug(self, d));
	ASSERT_EQ(0, replug(self, d));
	ksft_print_msg("%s: re-plugged as %s (%s), was %s\n",
		       variant->stock ? "stock" : "ours", self->node,
		       self->dev, old);
	fd2 = open(self->node, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd2);
	EXPECT_EQ(0, works(_metadata, d, fd2));
	assert_gone(_metadata, d, variant->stock, self->fd);
	EXPECT_TRUE(closed(d, fd2, true));
	EXPECT_TRUE(closed(d, self->fd, variant->stock));
	self->fd = -1;
	EXPECT_EQ(self->refcnt, tcr_mod_refcnt(self->mod));
}

/*
 * The errors of a bulk transfer cut by the unplug, before revocation; the
 * skeleton reports them all as EIO (@eio), except EPIPE.
 */
static bool usb_err(int err, bool eio)
{
	return (eio && err == EIO) || tcr_usb_cut(err);
}

/*
 * Make a usblcd read wait: the read of the status of a WRITE(10) that the
 * throttled block device holds back.  The first write of the boot passes
 * (the throttle lets one burst through): its status is checked and a
 * second one is sent.  Starts the waiting read in @r: 0 or -1.
 */
static int lcd_blocked_read(int fd, struct tcr_waiter *r)
{
	static __u32 tag = 1000;
	int i;

	for (i = 0; i < 2; i++) {
		if (lcd_cmd(fd, ++tag, true))
			return -1;
		if (tcr_waiter_start(r, fd, TCR_W_READ, 512))
			return -1;
		usleep(500000);
		if (!tcr_load(r->done))
			return 0;
		pthread_join(r->th, NULL);
		ksft_print_msg("usblcd: WRITE(10) %u not held back (read %zd): the boot's first\n",
			       tag, r->ret);
		if (r->ret != CSW_SIZE)
			return -1;
	}
	return -1;
}

/*
 * Sleepers on the held file woken by the unplug.  usbtmc: two blocking
 * reads (the second waits for the first one's mutex), poll, epoll, an
 * io_uring read (in io-wq) and an io_uring poll.  The skeleton: the two
 * reads and the io_uring read (it has no poll).  usblcd: one blocking
 * read.  A read whose transfer the unplug cut before
 * revocation started returns the USB error (the interface's endpoints are
 * flushed before ->disconnect): counted, not failed.
 */
TEST_F_TIMEOUT(bulk, sleepers_woken, 120)
{
	const struct bulkdev *d = variant->d;
	struct __kernel_timespec ts = { .tv_sec = 20 };
	struct tcr_waiter w[4];
	int kinds[4] = { TCR_W_READ, TCR_W_READ, TCR_W_POLL, TCR_W_EPOLL };
	int nw = d->kind == LCD ? 1 : d->kind == SKEL ? 2 : 4;
	int nu = d->kind == LCD ? 0 : d->kind == SKEL ? 1 : 2;
	bool eio = d->kind == SKEL;
	int i, res[2] = { 1, 1 };
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	struct io_uring ring;
	__u32 ms = 60000;
	char buf[64];
	long t0, t1;

	if (d->kind == SRQ)
		SKIP(return, "usb-ccid: see srq_wait");
	self->fd = open(self->node, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, io_uring_queue_init(8, &ring, 0));
	if (d->kind == LCD) {
		ASSERT_EQ(0, lcd_blocked_read(self->fd, &w[0]));
	} else {
		/*
		 * usbtmc's poll takes the mutex a read holds while it waits:
		 * the io_uring poll (armed by the submitter) goes first.
		 */
		if (d->kind == TMC) {
			ASSERT_EQ(0, ioctl(self->fd, USBTMC_IOCTL_SET_TIMEOUT,
					   &ms));
			sqe = io_uring_get_sqe(&ring);
			io_uring_prep_poll_add(sqe, self->fd, POLLIN);
			sqe->user_data = 1;
			ASSERT_EQ(1, io_uring_submit(&ring));
		}
		sqe = io_uring_get_sqe(&ring);
		io_uring_prep_read(sqe, self->fd, buf, sizeof(buf), -1);
		sqe->user_data = 0;
		ASSERT_EQ(1, io_uring_submit(&ring));
		for (i = 0; i < nw; i++)
			ASSERT_EQ(0, tcr_waiter_start(&w[i], self->fd,
						      kinds[i], 64));
	}
	usleep(500000);
	for (i = 0; i < nw; i++)
		ASSERT_FALSE(tcr_load(w[i].done));
	ASSERT_EQ(-EAGAIN, io_uring_peek_cqe(&ring, &cqe));
	t0 = now_ms();
	ASSERT_EQ(0, tcr_hotplug(d->del));
	for (i = 0; i < nw; i++)
		ASSERT_TRUE(tcr_waiter_wait(&w[i], GONE_MS));
	t1 = now_ms();
	for (i = 0; i < nu; i++) {
		ASSERT_EQ(0, io_uring_wait_cqe_timeout(&ring, &cqe, &ts));
		res[cqe->user_data & 1] = cqe->res;
		io_uring_cqe_seen(&ring, cqe);
	}
	ksft_print_msg("%s: sleepers woken %ld ms after device_del\n",
		       variant->stock ? "stock" : "ours", t1 - t0);
	for (i = 0; i < (d->kind == LCD ? 1 : 2); i++) {
		ksft_print_msg("read %d: %zd %s\n", i, w[i].ret,
			       strerror(w[i].err));
		EXPECT_EQ(-1, w[i].ret);
		EXPECT_TRUE(w[i].err == ENODEV || usb_err(w[i].err, eio));
	}
	if (d->kind == SKEL) {
		ksft_print_msg("io_uring read %d\n", res[0]);
		EXPECT_TRUE(res[0] == -ENODEV || usb_err(-res[0], eio));
	}
	if (d->kind == TMC) {
		ksft_print_msg("poll 0x%x, epoll 0x%x, io_uring read %d, io_uring poll 0x%x\n",
			       w[2].revents, w[3].revents, res[0], res[1]);
		EXPECT_EQ(1, w[2].ret);
		EXPECT_EQ(POLLERR | POLLHUP, w[2].revents);
		EXPECT_EQ(1, w[3].ret);
		EXPECT_EQ(EPOLLERR | EPOLLHUP, w[3].revents);
		EXPECT_TRUE(res[0] == -ENODEV || usb_err(-res[0], eio));
		EXPECT_EQ(POLLERR | POLLHUP, res[1]);
	}
	for (i = 0; i < nw; i++)
		pthread_join(w[i].th, NULL);
	io_uring_queue_exit(&ring);
	ASSERT_EQ(0, tcr_wait_gone(self->dev_path, GONE_MS));
	ksft_print_msg("%s: the device gone %ld ms after device_del\n",
		       variant->stock ? "stock" : "ours", now_ms() - t0);
	assert_gone(_metadata, d, variant->stock, self->fd);
	EXPECT_TRUE(closed(d, self->fd, variant->stock));
	self->fd = -1;
	ASSERT_EQ(0, replug(self, d));
	EXPECT_EQ(self->refcnt, tcr_mod_refcnt(self->mod));
}

/* A USBTMC488_IOCTL_WAIT_SRQ call in a thread of its own. */
struct srq_call {
	int fd;
	int ret, err, done;
};

static void *srq_fn(void *arg)
{
	struct srq_call *p = arg;
	__u32 ms = SRQ_MS;

	p->ret = ioctl(p->fd, USBTMC488_IOCTL_WAIT_SRQ, &ms);
	p->err = errno;
	tcr_store(p->done, 1);
	return NULL;
}

/*
 * USBTMC488_IOCTL_WAIT_SRQ in flight when the device (usb-ccid: it has the
 * interrupt endpoint the ioctl needs, and never signals an SRQ) is
 * unplugged.  Ours: the kick ends it, ENODEV at once.  Stock: the wait
 * tests the disconnect only once it wakes, so it sleeps through the unplug
 * until its own timeout (15 s) and only then returns ENODEV; the unplug
 * itself completes (the file keeps a reference to the device).
 */
TEST_F_TIMEOUT(bulk, srq_wait, 120)
{
	const struct bulkdev *d = variant->d;
	struct srq_call c = { 0 };
	pthread_t th;
	long t0, t1;

	if (d->kind != SRQ)
		SKIP(return, "needs an interrupt IN endpoint (usb-ccid)");
	self->fd = open(self->node, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd);
	c.fd = self->fd;
	ASSERT_EQ(0, pthread_create(&th, NULL, srq_fn, &c));
	usleep(500000);
	ASSERT_FALSE(tcr_load(c.done));
	t0 = now_ms();
	ASSERT_EQ(0, tcr_hotplug(d->del));
	ASSERT_EQ(0, tcr_wait_gone(self->dev_path, GONE_MS));
	t1 = now_ms();
	if (variant->stock) {
		while (!tcr_load(c.done) && now_ms() - t0 < STOCK_HOLD_MS)
			usleep(20000);
		ksft_print_msg("stock: %ld ms after device_del (gone after %ld): the SRQ wait %s\n",
			       now_ms() - t0, t1 - t0,
			       tcr_load(c.done) ? "returned" : "still asleep");
		EXPECT_FALSE(tcr_load(c.done));
	}
	while (!tcr_load(c.done) && now_ms() - t0 < SRQ_MS + WAKE_MS)
		usleep(20000);
	ASSERT_TRUE(tcr_load(c.done));
	pthread_join(th, NULL);
	ksft_print_msg("%s: SRQ wait %d %s, %ld ms after device_del (the device gone after %ld)\n",
		       variant->stock ? "stock" : "ours", c.ret, strerror(c.err),
		       now_ms() - t0, t1 - t0);
	EXPECT_EQ(-1, c.ret);
	EXPECT_EQ(ENODEV, c.err);
	if (!variant->stock)
		EXPECT_GT(WAKE_MS, now_ms() - t0);
	assert_gone(_metadata, d, variant->stock, self->fd);
	EXPECT_EQ(0, close(self->fd));
	self->fd = -1;
	ASSERT_EQ(0, replug(self, d));
	EXPECT_EQ(self->refcnt, tcr_mod_refcnt(self->mod));
}

/* Outcomes of a loop of calls, by kind. */
struct tally {
	int fd;
	bool eio;	/* EIO is a USB error (the skeleton) */
	long ok, enodev, usb, other;
	int last_err;
};

/*
 * Blocking reads in a loop until one fails with ENODEV; the USB stack's
 * errors (a transfer cut by the unplug, usblcd's STALL of a read with no
 * command) do not end it.
 */
static void *reader_fn(void *arg)
{
	struct tally *t = arg;
	char buf[512];

	for (;;) {
		if (read(t->fd, buf, sizeof(buf)) >= 0) {
			t->ok++;
			continue;
		}
		t->last_err = errno;
		if (errno == ENODEV) {
			t->enodev++;
			break;
		}
		if (usb_err(errno, t->eio))
			t->usb++;
		else
			t->other++;
		usleep(10000);
	}
	return NULL;
}

/*
 * Unplug/re-plug cycles under load: each time a file with two blocking
 * readers, a poller (usbtmc) and an io_uring read in flight, usblcd with a
 * WRITE(10) outstanding, and a thread that opens the node in a loop; every
 * call succeeds or fails as an unplugged device does, every sleeper is
 * woken, the module references come back, and the device works at the end.
 */
TEST_F_TIMEOUT(bulk, cycles_under_load, 1800)
{
	const struct bulkdev *d = variant->d;
	struct __kernel_timespec ts = { .tv_sec = 20 };
	struct tcr_opener o = { 0 };
	long t0 = now_ms(), tmax = 0, tsum = 0, t1, reads = 0, usb = 0;
	int n = tcr_cycles(50, 20), i, k, np = d->kind == TMC;
	pthread_t oth;

	if (d->kind == SRQ)
		SKIP(return, "usb-ccid: see srq_wait");
	if (variant->stock)
		SKIP(return, "ours only: the figures of the conversion");
	snprintf(o.node, sizeof(o.node), "%s", self->node);
	ASSERT_EQ(0, pthread_create(&oth, NULL, tcr_opener_fn, &o));
	for (i = 0; i < n; i++) {
		struct tally r[2] = { 0 };
		struct tcr_poller p = { 0 };
		struct io_uring_sqe *sqe;
		struct io_uring_cqe *cqe;
		struct io_uring ring;
		/*
		 * usbtmc holds its mutex across a read: a short timeout, so
		 * that the opener, the poller (and io_uring's poll of the
		 * read, in this thread) wait less than the hung-task timeout
		 */
		__u32 ms = 3000;
		pthread_t th[3];
		char buf[512];

		self->fd = open(self->node, O_RDWR | O_CLOEXEC);
		ASSERT_LE(0, self->fd);
		if (d->kind == LCD) {
			EXPECT_EQ(0, lcd_cmd(self->fd, 5000 + i, true));
		} else if (d->kind == TMC) {
			EXPECT_EQ(0, ioctl(self->fd, USBTMC_IOCTL_SET_TIMEOUT,
					   &ms));
		}
		ASSERT_EQ(0, io_uring_queue_init(4, &ring, 0));
		sqe = io_uring_get_sqe(&ring);
		io_uring_prep_read(sqe, self->fd, buf, sizeof(buf), -1);
		ASSERT_EQ(1, io_uring_submit(&ring));
		r[0].fd = self->fd;
		r[1].fd = self->fd;
		r[0].eio = d->kind == SKEL;
		r[1].eio = d->kind == SKEL;
		p.fd = self->fd;
		ASSERT_EQ(0, pthread_create(&th[0], NULL, reader_fn, &r[0]));
		ASSERT_EQ(0, pthread_create(&th[1], NULL, reader_fn, &r[1]));
		if (np)
			ASSERT_EQ(0, pthread_create(&th[2], NULL, tcr_poller_fn,
						    &p));
		usleep(100000 + (i % 4) * 100000);
		t1 = now_ms();
		ASSERT_EQ(0, tcr_hotplug(d->del));
		for (k = 0; k < 2 + np; k++)
			pthread_join(th[k], NULL);
		ASSERT_EQ(0, io_uring_wait_cqe_timeout(&ring, &cqe, &ts));
		EXPECT_TRUE(cqe->res >= 0 || cqe->res == -ENODEV ||
			    usb_err(-cqe->res, d->kind == SKEL)) {
			TH_LOG("cycle %d: io_uring read %d", i, cqe->res);
		}
		io_uring_cqe_seen(&ring, cqe);
		io_uring_queue_exit(&ring);
		ASSERT_EQ(0, tcr_wait_gone(self->dev_path, GONE_MS));
		t1 = now_ms() - t1;
		tsum += t1;
		if (t1 > tmax)
			tmax = t1;
		for (k = 0; k < 2; k++) {
			EXPECT_EQ(1, r[k].enodev);
			EXPECT_EQ(0, r[k].other) {
				TH_LOG("cycle %d: reader %d: %s", i, k,
				       strerror(r[k].last_err));
			}
			reads += r[k].ok;
			usb += r[k].usb;
		}
		if (np) {
			EXPECT_EQ(1, p.hup);
			EXPECT_EQ(0, p.other);
		}
		EXPECT_EQ(0, close(self->fd));
		self->fd = -1;
		ASSERT_EQ(0, replug(self, d));
	}
	tcr_store(o.stop, 1);
	pthread_join(oth, NULL);
	ksft_print_msg("ours: %d unplug/re-plug cycles in %ld ms\n", n,
		       now_ms() - t0);
	ksft_print_msg("unplug %ld ms on average, %ld at most; reads: %ld ok, %ld USB errors\n",
		       tsum / n, tmax, reads, usb);
	ksft_print_msg("opens: %ld ok, %ld EBUSY, %ld gone, %ld other\n", o.ok,
		       o.ebusy, o.gone, o.other);
	EXPECT_EQ(0, o.other + o.ebusy) {
		TH_LOG("open: %s", strerror(o.last_err));
	}
	self->fd = open(self->node, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd);
	EXPECT_EQ(0, works(_metadata, d, self->fd));
	EXPECT_TRUE(closed(d, self->fd, true));
	self->fd = -1;
	EXPECT_EQ(self->refcnt, tcr_mod_refcnt(self->mod));
}

TEST_HARNESS_MAIN
