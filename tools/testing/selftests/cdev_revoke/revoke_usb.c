// SPDX-License-Identifier: GPL-2.0
/*
 * USB class drivers (usb_register_dev() minors: ldusb, iowarrior, yurex and
 * cdc-wdm) on cdev_revoke, with a real hot-unplug: QEMU's usb-wacom-tablet
 * (056a:0000) on port 2 of the VM's qemu-xhci, unplugged with QMP
 * device_del (a cable pull: the guest sees the port disconnect, hub_wq runs
 * the driver's disconnect) and plugged again with device_add at the same
 * port, while files of the driver are held, with readers, pollers, writers
 * and io_uring requests in flight.
 *
 * The kernel command line has usbhid.quirks=0x056a:0x0000:0x4
 * (HID_QUIRK_IGNORE, scripts/vm-run.sh), so usbhid leaves the tablet alone
 * and the class driver takes it through its new_id file.  The tablet has one
 * interrupt-in endpoint, sends one report after it is plugged, then NAKs
 * until the host moves the mouse (QMP input-send-event): a read really
 * blocks.
 *
 * The "stock" variants load the unconverted module (the base commit's
 * source built against the same kernel by scripts/stock-module.sh) in place
 * of the converted one and assert what it does.  Stock ldusb and iowarrior
 * hold their mutex across a blocking read, and their disconnect takes that
 * mutex: the unplug does not complete while a reader sleeps
 * (blocked_read_holds_unplug, which signals the reader after 5 s, before the
 * 20 s hung-task timeout).  yurex is memory-safe on stock, but a write that
 * waits for the device's acknowledgment holds its io_mutex, which stock's
 * disconnect takes: the unplug waits out the write's 2 s timeout
 * (writer_asleep_at_unplug).  Its reads never block (they return the
 * counter the driver cached, as text) and it has no ->poll.  cdc-wdm takes
 * the tablet too, but no response ever comes: its blocked reads, poll,
 * ioctl and the write of a command the tablet stalls are what is tested;
 * stock wakes its sleepers at disconnect as ours does, keeps answering the
 * ioctl from the memory it keeps for the open files, and fails close().
 *
 * Release exactly once: the converted drivers free their device in
 * disconnect, so a release after the unplug would be a KASAN use-after-free
 * (a second one too); every file's module reference comes back when it is
 * closed (refcnt).
 *
 * Environment: TCR_KO (the converted modules are found in the same kernel
 * build, the stock ones in ../../{ldusb,iowarrior,yurex,cdc-wdm}-stock/
 * relative to its directory), TCR_HOTPLUG (the host's QMP helper), TCR_CYCLES (make stress:
 * the unplug/re-plug cycles under load are TCR_CYCLES / 50; default 20).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/usb/cdc-wdm.h>

#include "../kselftest_harness.h"
#include "util.h"

#define WAC_VID		0x056a
#define WAC_PID		0x0000
#define WAC_IDS		"056a 0000"
#define WAC_PORT	2
#define WAC_ADD		"add wac2 usb-wacom-tablet xhci0.0 port=2"
#define WAC_DEL		"del wac2"
#define WAKE_MS		10000	/* "at once", on a loaded TCG host */
#define GONE_MS		20000	/* the guest handles the port's disconnect */
#define BIND_MS		60000	/* enumeration, then the probe */
#define STOCK_HOLD_MS	5000	/* stock: the unplug still stuck after this */

/* A class driver bound to the tablet through new_id. */
struct usbcls {
	const char *mod;	/* module and USB driver name */
	const char *ours_ko;	/* relative to $TCR_KO's directory */
	const char *stock_ko;
	const char *prefix;	/* of its usbmisc class devices */
	const char *devdir;	/* where its nodes are */
	size_t rlen;		/* the size of a read */
	bool reports;		/* a read returns the tablet's next report */
	bool stock_read_hangs;	/* stock: a sleeping read holds the unplug */
	bool writes;		/* write() sends a report to the tablet */
	unsigned long ioctl;	/* an ioctl that answers (0: it has none) */
	bool (*ioctl_ok)(int fd);	/* it answers as it should */
	bool stock_ioctl_lives;	/* stock answers it after the unplug too */
	int sig_errno;		/* of a read interrupted by a signal */
	bool shared;		/* more than one open file at a time */
	const char *text;	/* a read returns this text, never blocks */
	const char *cmd;	/* what a write sends (NULL: "\1", HID mode) */
	int write_errno;	/* of a write the tablet took (0: none) */
	bool ack_wait;		/* a write waits for the device's answer */
	int stall_errno;	/* of the write after one the tablet stalled */
	short gone_revents;	/* poll (POLLIN | POLLOUT) after the unplug */
	int stock_close_errno;	/* stock: of close() after the unplug */
	bool fasync;		/* it sends SIGIO */
};

static const struct usbcls ldusb = {
	.mod = "ldusb",
	.ours_ko = "../drivers/usb/misc/ldusb.ko",
	.stock_ko = "../../ldusb-stock/ldusb.ko",
	.prefix = "ldusb",
	.devdir = "/dev/",
	.rlen = 8,
	.reports = true,
	.stock_read_hangs = true,
	.writes = true,	/* a HID SET_REPORT on ep0: no interrupt-out */
	.sig_errno = EINTR,
	.gone_revents = POLLERR | POLLHUP,
};

/* include/linux/usb/iowarrior.h (not a uapi header) */
struct iowarrior_info {
	__u32 vendor;
	__u32 product;
	__u8 serial[9];
	__u32 revision;
	__u32 speed;
	__u32 power;
	__u32 if_num;
	__u32 report_size;
};

#define IOW_GETINFO	_IOR(0xC0, 3, struct iowarrior_info)

static bool iow_info_ok(int fd)
{
	struct iowarrior_info info = { 0 };

	return !ioctl(fd, IOW_GETINFO, &info) && info.vendor == WAC_VID &&
	       info.report_size == 8;
}

static const struct usbcls iowarrior = {
	.mod = "iowarrior",
	.ours_ko = "../drivers/usb/misc/iowarrior.ko",
	.stock_ko = "../../iowarrior-stock/iowarrior.ko",
	.prefix = "iowarrior",
	.devdir = "/dev/usb/",
	.rlen = 8,		/* reads of exactly one report */
	.reports = true,
	.stock_read_hangs = true,
	.writes = false,	/* EFAULT: not for this product id */
	.ioctl = IOW_GETINFO,
	.ioctl_ok = iow_info_ok,
	.sig_errno = ERESTART,	/* what its read returns */
	.gone_revents = POLLERR | POLLHUP,
};

/*
 * yurex: a write sends a command with a HID SET_REPORT control URB and
 * waits up to 2 s for the device's acknowledgment in an interrupt-in
 * report; the tablet takes the request (it sets its mode) and never sends
 * one, so the write fails with EIO after 2 s.  A read returns the count
 * the device last reported, -1 until it does (never, here).  No ->poll:
 * always ready, before and after the unplug, on both kernels.
 */
static const struct usbcls yurex = {
	.mod = "yurex",
	.ours_ko = "../drivers/usb/misc/yurex.ko",
	.stock_ko = "../../yurex-stock/yurex.ko",
	.prefix = "yurex",
	.devdir = "/dev/",
	.rlen = 20,
	.writes = true,
	.shared = true,
	.text = "-1\n",
	.cmd = "R",		/* CMD_READ: ask the device for its count */
	.write_errno = EIO,
	.ack_wait = true,
	.gone_revents = POLLIN | POLLOUT,
	.fasync = true,
};

#define YUREX_ACK_MS	2000	/* YUREX_WRITE_TIMEOUT */

static bool wdm_max_command_ok(int fd)
{
	__u16 max = 0;

	/* the default: the tablet has no CDC DMM descriptor */
	return !ioctl(fd, IOCTL_WDM_MAX_COMMAND, &max) && max == 256;
}

/*
 * cdc-wdm: the tablet's interface has a class descriptor (its HID one)
 * and one interrupt-in endpoint, which is all its probe asks for.  A write
 * sends SEND_ENCAPSULATED_COMMAND on ep0, which the tablet stalls: the
 * write returns its count, the next one reports the stall (EIO).  No
 * RESPONSE_AVAILABLE notification ever comes, so a read sleeps until the
 * unplug.  Stock wakes its sleepers at disconnect too, and keeps its
 * device for the open files: IOCTL_WDM_MAX_COMMAND still answers there,
 * and close() fails with ENODEV (->flush reports the unplug; the file is
 * closed all the same).
 */
static const struct usbcls cdcwdm = {
	.mod = "cdc_wdm",
	.ours_ko = "../drivers/usb/class/cdc-wdm.ko",
	.stock_ko = "../../cdc-wdm-stock/cdc-wdm.ko",
	.prefix = "cdc-wdm",
	.devdir = "/dev/",
	.rlen = 64,
	.writes = true,
	.ioctl = IOCTL_WDM_MAX_COMMAND,
	.ioctl_ok = wdm_max_command_ok,
	.stock_ioctl_lives = true,
	.sig_errno = ERESTART,	/* not run: stock's read does not hang */
	.shared = true,
	.cmd = "AT\r",
	.stall_errno = EIO,
	.gone_revents = POLLERR | POLLHUP,
	.stock_close_errno = ENODEV,
};

/* The sysfs name of the tablet at its port ("1-2"): 0, or -1 if unplugged. */
static int wac_find(char *name, size_t len)
{
	return tcr_usb_find(WAC_VID, WAC_PID, WAC_PORT, name, len);
}

FIXTURE(usb) {
	char dev[32];		/* the tablet: "1-2" */
	char intf[48];		/* its interface: "1-2:1.0" */
	char intf_path[256];	/* its real sysfs directory */
	char dev_path[256];	/* the tablet's real sysfs directory */
	char node[64];		/* /dev/ldusb0 */
	int fd;
	long refcnt;		/* of the module without files */
};

FIXTURE_VARIANT(usb) {
	const struct usbcls *cls;
	bool stock;
};

FIXTURE_VARIANT_ADD(usb, ldusb_ours) {
	.cls = &ldusb,
	.stock = false,
};

FIXTURE_VARIANT_ADD(usb, ldusb_stock) {
	.cls = &ldusb,
	.stock = true,
};

FIXTURE_VARIANT_ADD(usb, iowarrior_ours) {
	.cls = &iowarrior,
	.stock = false,
};

FIXTURE_VARIANT_ADD(usb, iowarrior_stock) {
	.cls = &iowarrior,
	.stock = true,
};

FIXTURE_VARIANT_ADD(usb, yurex_ours) {
	.cls = &yurex,
	.stock = false,
};

FIXTURE_VARIANT_ADD(usb, yurex_stock) {
	.cls = &yurex,
	.stock = true,
};

FIXTURE_VARIANT_ADD(usb, cdc_wdm_ours) {
	.cls = &cdcwdm,
	.stock = false,
};

FIXTURE_VARIANT_ADD(usb, cdc_wdm_stock) {
	.cls = &cdcwdm,
	.stock = true,
};

/*
 * Wait up to @ms until the tablet is plugged, bound to @cls and its node
 * exists; fill @self's names: 0 or -1.
 */
static int wait_bound(struct _test_data_usb *self, const struct usbcls *cls,
		      long ms)
{
	long end = now_ms() + ms;
	char path[300];

	do {
		if (!wac_find(self->dev, sizeof(self->dev))) {
			snprintf(self->intf, sizeof(self->intf), "%s:1.0",
				 self->dev);
			/*
			 * The bus's links go before the driver's disconnect
			 * runs; the devices' own directories after it.
			 */
			snprintf(path, sizeof(path), TCR_USBDEVS "%s", self->intf);
			if (!realpath(path, self->intf_path))
				continue;
			snprintf(path, sizeof(path), TCR_USBDEVS "%s", self->dev);
			if (!realpath(path, self->dev_path))
				continue;
			snprintf(path, sizeof(path), TCR_USBDRVS "%s/%s", cls->mod,
				 self->intf);
			if (tcr_present(path) &&
			    !tcr_usb_node(self->intf, cls->prefix, cls->devdir,
					  self->node, sizeof(self->node)) &&
			    tcr_present(self->node))
				return 0;
		}
		usleep(20000);
	} while (now_ms() < end);
	return -1;
}

/* Unplug the tablet and wait until the guest has removed it: 0 or -1. */
static int unplug(struct _test_data_usb *self)
{
	if (tcr_hotplug(WAC_DEL))
		return -1;
	return tcr_wait_gone(self->dev_path, GONE_MS);
}

/* Plug the tablet in again (the same port) and wait for the driver. */
static int replug(struct _test_data_usb *self, const struct usbcls *cls)
{
	if (tcr_hotplug(WAC_ADD))
		return -1;
	return wait_bound(self, cls, BIND_MS);
}

/*
 * Read the pending reports of @fd (the one the tablet sends when plugged):
 * the number read within @ms for the first, then until the ring is empty.
 */
static int drain(const struct usbcls *cls, int fd, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int fl = fcntl(fd, F_GETFL), n = 0;
	char buf[64];

	if (poll(&pfd, 1, ms) != 1)
		return 0;
	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	while (read(fd, buf, cls->rlen) > 0)
		n++;
	fcntl(fd, F_SETFL, fl);
	return n;
}

static const struct usbcls *const all_cls[] = {
	&ldusb, &iowarrior, &yurex, &cdcwdm,
};

/*
 * Give the tablet to @cls alone: the other drivers forget its ids (a
 * re-plugged tablet goes to @cls) and let it go.
 */
static void take_tablet(const struct usbcls *cls)
{
	char path[128], dev[32], intf[48];
	unsigned int i;
	int k;

	for (i = 0; i < ARRAY_SIZE(all_cls); i++) {
		if (all_cls[i] == cls || !tcr_module_loaded(all_cls[i]->mod))
			continue;
		snprintf(path, sizeof(path), TCR_USBDRVS "%s/remove_id",
			 all_cls[i]->mod);
		for (k = 0; k < 100 && tcr_usb_has_id(all_cls[i]->mod, WAC_IDS); k++)
			write_str(path, WAC_IDS);
		if (wac_find(dev, sizeof(dev)))
			continue;
		snprintf(intf, sizeof(intf), "%s:1.0", dev);
		snprintf(path, sizeof(path), TCR_USBDRVS "%s/%s", all_cls[i]->mod,
			 intf);
		if (!tcr_present(path))
			continue;
		snprintf(path, sizeof(path), TCR_USBDRVS "%s/unbind",
			 all_cls[i]->mod);
		write_str(path, intf);
	}
}

/*
 * A fresh report: the one the tablet sends when plugged, or if an earlier
 * file took it, one for a mouse motion: how many were read.
 */
static int fresh_report(const struct usbcls *cls, int fd)
{
	int n = drain(cls, fd, 2000);

	if (n || tcr_hotplug("rel 1 1"))
		return n;
	return drain(cls, fd, 5000);
}

/* The setup of every case: the module asked for bound to the tablet. */
FIXTURE_SETUP(usb)
{
	const struct usbcls *cls = variant->cls;
	char path[128];
	int ret;

	self->fd = -1;
	if (!getenv("TCR_HOTPLUG"))
		SKIP(return, "no TCR_HOTPLUG (the host's QMP helper)");
	if (!tcr_present(TCR_USBDEVS "usb1"))
		SKIP(return, "no USB host controller (qemu-xhci)");
	if (tcr_control_boot())
		SKIP(return, "runs in the main boot");
	ret = tcr_load_kind(cls->mod, cls->ours_ko, cls->stock_ko,
			    variant->stock);
	if (ret)
		SKIP(return, "load %s: %s",
		     variant->stock ? cls->stock_ko : cls->ours_ko,
		     strerror(-ret));
	take_tablet(cls);
	snprintf(path, sizeof(path), TCR_USBDRVS "%s/new_id", cls->mod);
	ret = tcr_usb_has_id(cls->mod, WAC_IDS) ? 0 : write_str(path, WAC_IDS);
	ASSERT_TRUE(!ret || ret == -EEXIST) {
		TH_LOG("%s: %s", path, strerror(-ret));
	}
	if (wac_find(self->dev, sizeof(self->dev))) {
		ASSERT_EQ(0, tcr_hotplug(WAC_ADD));
	} else if (wait_bound(self, cls, 2000)) {
		/* its ids were known already: new_id probed nothing */
		snprintf(path, sizeof(path), TCR_USBDRVS "%s/bind", cls->mod);
		write_str(path, self->intf);
	}
	ASSERT_EQ(0, wait_bound(self, cls, BIND_MS)) {
		TH_LOG("the tablet is not bound to %s", cls->mod);
	}
	self->refcnt = tcr_mod_refcnt(cls->mod);
}

FIXTURE_TEARDOWN(usb)
{
	char name[32];

	if (self->fd >= 0)
		close(self->fd);
	/* a case that failed half-way may have left the tablet unplugged */
	if (wac_find(name, sizeof(name)))
		tcr_hotplug(WAC_ADD);
}

/*
 * The held file of an unplugged tablet: ENODEV (ENOTTY for an ioctl of a
 * driver that has none), a hang-up.
 */
static void assert_gone(struct __test_metadata *_metadata,
			const struct usbcls *cls, bool stock, int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN | POLLOUT };
	char c[64] = { 1 };

	errno = 0;
	EXPECT_EQ(-1, read(fd, c, cls->rlen));
	EXPECT_EQ(ENODEV, errno);
	errno = 0;
	EXPECT_EQ(-1, write(fd, c, cls->rlen));
	EXPECT_EQ(ENODEV, errno);
	errno = 0;
	if (stock && cls->stock_ioctl_lives) {
		EXPECT_TRUE(cls->ioctl_ok(fd));
	} else {
		EXPECT_EQ(-1, ioctl(fd, cls->ioctl ?: _IO('U', 1), c));
		EXPECT_EQ(cls->ioctl ? ENODEV : ENOTTY, errno);
	}
	EXPECT_EQ(1, poll(&pfd, 1, 0));
	EXPECT_EQ(cls->gone_revents, pfd.revents);
}

/* The close of the held file of an unplugged tablet: 0 (stock cdc-wdm ENODEV). */
static void close_gone(struct __test_metadata *_metadata,
		       const struct usbcls *cls, bool stock, int fd)
{
	int err = stock ? cls->stock_close_errno : 0;

	errno = 0;
	EXPECT_EQ(err ? -1 : 0, close(fd));
	EXPECT_EQ(err, errno);
}

/* Whether a read at offset 0 of @fd gives @cls's text (if not: the log). */
static bool read_text(struct __test_metadata *_metadata,
		      const struct usbcls *cls, int fd)
{
	char buf[64] = "";
	ssize_t n = pread(fd, buf, cls->rlen, 0);

	if (n == (ssize_t)strlen(cls->text) && !strcmp(cls->text, buf))
		return true;
	TH_LOG("pread: %zd %s", n, n < 0 ? strerror(errno) : buf);
	return false;
}

/*
 * A write of @cls's command to the tablet: what a live device answers
 * (the count written, or @cls->write_errno).  cdc-wdm: the count, then
 * the tablet stalls the command (poll: POLLERR once it has), and the next
 * write reports that.
 */
static void write_live(struct __test_metadata *_metadata,
		       const struct usbcls *cls, int fd)
{
	const char *cmd = cls->cmd ?: "\1";	/* ldusb: the tablet's HID mode */
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	ssize_t n;

	errno = 0;
	n = write(fd, cmd, strlen(cmd));
	if (cls->write_errno) {
		EXPECT_EQ(-1, n);
		EXPECT_EQ(cls->write_errno, errno);
	} else {
		EXPECT_EQ((ssize_t)strlen(cmd), n);
	}
	if (!cls->stall_errno)
		return;
	EXPECT_EQ(1, poll(&pfd, 1, 5000));
	EXPECT_EQ(POLLERR, pfd.revents & POLLERR);
	errno = 0;
	EXPECT_EQ(-1, write(fd, cmd, strlen(cmd)));
	EXPECT_EQ(cls->stall_errno, errno);
}

/*
 * The file of a driver that does not read reports reaches a live tablet:
 * the text (yurex) or a read that would block (cdc-wdm), the ioctl, a
 * write the tablet answers.
 */
static void assert_live(struct __test_metadata *_metadata,
			const struct usbcls *cls, int fd)
{
	char buf[64];
	int fl;

	if (cls->text) {
		EXPECT_TRUE(read_text(_metadata, cls, fd));
	} else {
		fl = fcntl(fd, F_GETFL);
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
		errno = 0;
		EXPECT_EQ(-1, read(fd, buf, cls->rlen));
		EXPECT_EQ(EAGAIN, errno);
		fcntl(fd, F_SETFL, fl);
	}
	if (cls->ioctl_ok)
		EXPECT_TRUE(cls->ioctl_ok(fd));
	if (cls->writes)
		write_live(_metadata, cls, fd);
}

/*
 * The file works, then the tablet is unplugged with no call in flight:
 * every call on the held file fails cleanly, the node is gone, the close
 * works.  Stock answers the same, but for cdc-wdm's ioctl and close.
 */
TEST_F_TIMEOUT(usb, calls_then_unplug, 120)
{
	const struct usbcls *cls = variant->cls;
	char buf[64] = { 1 };
	int fd2;

	self->fd = open(self->node, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd);
	if (cls->text) {
		/* the text, then its end */
		EXPECT_TRUE(read_text(_metadata, cls, self->fd));
		EXPECT_EQ((ssize_t)strlen(cls->text),
			  read(self->fd, buf, cls->rlen));
		EXPECT_EQ(0, read(self->fd, buf, cls->rlen));
	} else {
		if (cls->reports)
			EXPECT_LE(1, fresh_report(cls, self->fd));
		fcntl(self->fd, F_SETFL, O_NONBLOCK);
		errno = 0;
		EXPECT_EQ(-1, read(self->fd, buf, cls->rlen));
		EXPECT_EQ(EAGAIN, errno);
		fcntl(self->fd, F_SETFL, 0);
	}
	fd2 = open(self->node, O_RDWR | O_CLOEXEC);
	if (cls->shared) {
		EXPECT_LE(0, fd2);
		assert_live(_metadata, cls, fd2);
		close(fd2);
	} else {
		/* one open at a time */
		EXPECT_EQ(-1, fd2);
		EXPECT_EQ(EBUSY, errno);
	}
	errno = 0;
	if (cls->ioctl) {
		EXPECT_TRUE(cls->ioctl_ok(self->fd));
	} else {
		EXPECT_EQ(-1, ioctl(self->fd, _IO('U', 1)));
		EXPECT_EQ(ENOTTY, errno);
	}
	if (cls->writes) {
		write_live(_metadata, cls, self->fd);
	} else {
		EXPECT_EQ(-1, write(self->fd, buf, cls->rlen));
		EXPECT_EQ(EFAULT, errno);	/* not for this product */
	}
	ASSERT_EQ(0, unplug(self));
	assert_gone(_metadata, variant->cls, variant->stock, self->fd);
	errno = 0;
	EXPECT_EQ(-1, open(self->node, O_RDWR | O_CLOEXEC));
	EXPECT_EQ(ENOENT, errno);
	close_gone(_metadata, variant->cls, variant->stock, self->fd);
	self->fd = -1;
	ASSERT_EQ(0, replug(self, variant->cls));
	EXPECT_EQ(self->refcnt, tcr_mod_refcnt(variant->cls->mod));
}

/*
 * Re-plug at the same port: a new open of the node reaches the new tablet
 * (its report after the plug, then a mouse motion sent by the host; yurex:
 * its text, and a write that the tablet takes), while the file held across
 * the unplug stays dead.
 */
TEST_F_TIMEOUT(usb, replug_same_port, 120)
{
	const struct usbcls *cls = variant->cls;
	char old[64], buf[64];
	struct pollfd pfd;
	int fd2, n;

	self->fd = open(self->node, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd);
	if (cls->reports)
		drain(cls, self->fd, 5000);
	snprintf(old, sizeof(old), "%s", self->node);
	ASSERT_EQ(0, unplug(self));
	ASSERT_EQ(0, replug(self, variant->cls));
	ksft_print_msg("%s: re-plugged as %s (%s), was %s\n",
		       variant->stock ? "stock" : "ours", self->node,
		       self->dev, old);
	fd2 = open(self->node, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd2);
	if (!cls->reports) {
		assert_live(_metadata, cls, fd2);
		goto stale;
	}
	EXPECT_EQ(1, drain(variant->cls, fd2, 5000));
	ASSERT_EQ(0, tcr_hotplug("rel 3 4"));
	pfd.fd = fd2;
	pfd.events = POLLIN;
	EXPECT_EQ(1, poll(&pfd, 1, 5000));
	memset(buf, 0, sizeof(buf));
	n = read(fd2, buf, variant->cls->rlen);
	ksft_print_msg("after rel 3 4: %d bytes %02x %02x %02x %02x\n", n,
		       buf[0] & 0xff, buf[1] & 0xff, buf[2] & 0xff,
		       buf[3] & 0xff);
	EXPECT_LE(3, n);
	EXPECT_EQ(3, buf[1]);
	EXPECT_EQ(4, buf[2]);
stale:
	assert_gone(_metadata, variant->cls, variant->stock, self->fd);
	EXPECT_EQ(0, close(fd2));
	close_gone(_metadata, variant->cls, variant->stock, self->fd);
	self->fd = -1;
	EXPECT_EQ(self->refcnt, tcr_mod_refcnt(variant->cls->mod));
}

/*
 * Sleepers on the held file woken by the unplug: two blocking reads (the
 * second one waits for the first one's mutex), poll, epoll, an io_uring
 * read (in io-wq) and an io_uring poll.  Stock ldusb and iowarrior: poll
 * and epoll only, since a sleeping read holds their disconnect
 * (blocked_read_holds_unplug); stock cdc-wdm wakes them all.
 */
TEST_F_TIMEOUT(usb, sleepers_woken, 120)
{
	struct __kernel_timespec ts = { .tv_sec = 20 };
	struct tcr_waiter w[4];
	int kinds[4] = { TCR_W_POLL, TCR_W_EPOLL, TCR_W_READ, TCR_W_READ };
	/* stock ldusb and iowarrior: a sleeping read holds the unplug */
	bool reads = !(variant->stock && variant->cls->stock_read_hangs);
	int nw = reads ? 4 : 2, i, res[2] = { 1, 1 };
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	struct io_uring ring;
	char buf[64];
	long t0, t1;

	if (variant->cls->text)
		SKIP(return, "%s: only a write sleeps (writer_asleep_at_unplug)",
		     variant->cls->mod);
	self->fd = open(self->node, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd);
	if (variant->cls->reports)
		drain(variant->cls, self->fd, 5000);
	ASSERT_EQ(0, io_uring_queue_init(8, &ring, 0));
	if (reads) {
		sqe = io_uring_get_sqe(&ring);
		io_uring_prep_read(sqe, self->fd, buf, variant->cls->rlen, -1);
		sqe->user_data = 0;
	}
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_poll_add(sqe, self->fd, POLLIN);
	sqe->user_data = 1;
	ASSERT_EQ(reads ? 2 : 1, io_uring_submit(&ring));
	for (i = 0; i < nw; i++)
		ASSERT_EQ(0, tcr_waiter_start(&w[i], self->fd, kinds[i],
					      variant->cls->rlen));
	usleep(500000);
	for (i = 0; i < nw; i++)
		ASSERT_FALSE(tcr_load(w[i].done));
	ASSERT_EQ(-EAGAIN, io_uring_peek_cqe(&ring, &cqe));
	t0 = now_ms();
	ASSERT_EQ(0, tcr_hotplug(WAC_DEL));
	for (i = 0; i < nw; i++)
		ASSERT_TRUE(tcr_waiter_wait(&w[i], GONE_MS));
	t1 = now_ms();
	for (i = 0; i < (reads ? 2 : 1); i++) {
		ASSERT_EQ(0, io_uring_wait_cqe_timeout(&ring, &cqe, &ts));
		res[cqe->user_data & 1] = cqe->res;
		io_uring_cqe_seen(&ring, cqe);
	}
	ksft_print_msg("%s: sleepers woken %ld ms after device_del\n",
		       variant->stock ? "stock" : "ours", t1 - t0);
	ksft_print_msg("poll 0x%x, epoll 0x%x, io_uring poll 0x%x\n",
		       w[0].revents, w[1].revents, res[1]);
	EXPECT_EQ(1, w[0].ret);
	EXPECT_EQ(POLLERR | POLLHUP, w[0].revents);
	EXPECT_EQ(1, w[1].ret);
	EXPECT_EQ(EPOLLERR | EPOLLHUP, w[1].revents);
	EXPECT_EQ(POLLERR | POLLHUP, res[1]);
	if (reads) {
		ksft_print_msg("%s: reads %zd %s, %zd %s, io_uring read %d\n",
			       variant->stock ? "stock" : "ours", w[2].ret,
			       strerror(w[2].err), w[3].ret, strerror(w[3].err),
			       res[0]);
		EXPECT_EQ(-1, w[2].ret);
		EXPECT_EQ(ENODEV, w[2].err);
		EXPECT_EQ(-1, w[3].ret);
		EXPECT_EQ(ENODEV, w[3].err);
		EXPECT_EQ(-ENODEV, res[0]);
	}
	for (i = 0; i < nw; i++)
		pthread_join(w[i].th, NULL);
	io_uring_queue_exit(&ring);
	ASSERT_EQ(0, tcr_wait_gone(self->dev_path, GONE_MS));
	ksft_print_msg("%s: the tablet gone %ld ms after device_del\n",
		       variant->stock ? "stock" : "ours", now_ms() - t0);
	assert_gone(_metadata, variant->cls, variant->stock, self->fd);
	close_gone(_metadata, variant->cls, variant->stock, self->fd);
	self->fd = -1;
	ASSERT_EQ(0, replug(self, variant->cls));
	EXPECT_EQ(self->refcnt, tcr_mod_refcnt(variant->cls->mod));
}

static void on_usr1(int sig)
{
}

/*
 * A blocking read in flight when the tablet is unplugged.  Ours: it
 * returns ENODEV and the disconnect completes.  Stock: the read sleeps
 * with ld_usb->mutex held, waiting for an interrupt-in URB that the unplug
 * killed, and ld_usb_disconnect() blocks on that mutex: 5 s after
 * device_del the interface is still there.  A signal then ends the read
 * (EINTR), and only then does the disconnect complete.  Stock cdc-wdm
 * wakes the read (ENODEV) before it waits for its read lock.
 */
TEST_F_TIMEOUT(usb, blocked_read_holds_unplug, 120)
{
	struct sigaction sa = { .sa_handler = on_usr1 };	/* no SA_RESTART */
	struct tcr_waiter r;
	long t0, t1;
	int stuck;

	if (variant->cls->text)
		SKIP(return, "%s: a read never blocks", variant->cls->mod);
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	self->fd = open(self->node, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd);
	if (variant->cls->reports)
		drain(variant->cls, self->fd, 5000);
	ASSERT_EQ(0, tcr_waiter_start(&r, self->fd, TCR_W_READ,
				      variant->cls->rlen));
	usleep(300000);
	ASSERT_FALSE(tcr_load(r.done));
	t0 = now_ms();
	ASSERT_EQ(0, tcr_hotplug(WAC_DEL));
	if (variant->stock && variant->cls->stock_read_hangs) {
		stuck = tcr_wait_gone(self->dev_path, STOCK_HOLD_MS) &&
			tcr_present(self->intf_path) && !tcr_load(r.done);
		ksft_print_msg("stock: %ld ms after device_del: the interface %s, the read %s\n",
			       now_ms() - t0,
			       tcr_present(self->intf_path) ? "still there" : "gone",
			       tcr_load(r.done) ? "returned" : "still asleep");
		EXPECT_TRUE(stuck);
		pthread_kill(r.th, SIGUSR1);
		t1 = now_ms();
		ASSERT_TRUE(tcr_waiter_wait(&r, WAKE_MS));
		ASSERT_EQ(0, tcr_wait_gone(self->dev_path, GONE_MS));
		ksft_print_msg("stock: read %zd %s; the tablet gone %ld ms after the signal\n",
			       r.ret, strerror(r.err), now_ms() - t1);
		EXPECT_EQ(-1, r.ret);
		EXPECT_EQ(variant->cls->sig_errno, r.err);
	} else {
		ASSERT_TRUE(tcr_waiter_wait(&r, WAKE_MS));
		t1 = now_ms();
		ASSERT_EQ(0, tcr_wait_gone(self->dev_path, GONE_MS));
		ksft_print_msg("%s: read %zd %s %ld ms after device_del\n",
			       variant->stock ? "stock" : "ours", r.ret,
			       strerror(r.err), t1 - t0);
		ksft_print_msg("%s: the tablet gone %ld ms after it\n",
			       variant->stock ? "stock" : "ours", now_ms() - t0);
		EXPECT_EQ(-1, r.ret);
		EXPECT_EQ(ENODEV, r.err);
	}
	pthread_join(r.th, NULL);
	assert_gone(_metadata, variant->cls, variant->stock, self->fd);
	close_gone(_metadata, variant->cls, variant->stock, self->fd);
	self->fd = -1;
	ASSERT_EQ(0, replug(self, variant->cls));
	EXPECT_EQ(self->refcnt, tcr_mod_refcnt(variant->cls->mod));
}

/* A write of a command in a thread of its own: its outcome, and when. */
struct wcall {
	pthread_t th;
	int fd;
	const char *cmd;
	ssize_t ret;
	int err;
	long t_end;	/* now_ms() when it returned */
	int done;
};

static void *wcall_fn(void *arg)
{
	struct wcall *w = arg;

	w->ret = write(w->fd, w->cmd, strlen(w->cmd));
	w->err = errno;
	w->t_end = now_ms();
	tcr_store(w->done, 1);
	return NULL;
}

static int wcall_start(struct wcall *w, int fd, const char *cmd)
{
	memset(w, 0, sizeof(*w));
	w->fd = fd;
	w->cmd = cmd;
	return pthread_create(&w->th, NULL, wcall_fn, w);
}

/*
 * Writes asleep when the tablet is unplugged (yurex): the first one waits
 * for the device's acknowledgment with io_mutex held, a second one and an
 * io_uring write (in io-wq) wait for that mutex.  Ours: the kick wakes the
 * first one before its 2 s are over; all three fail with ENODEV.  Stock:
 * its disconnect takes io_mutex, so the unplug completes only after the
 * first write has timed out (EIO, 2 s after it began); the writes queued
 * behind it reach the control URB that disconnect has poisoned.
 */
TEST_F_TIMEOUT(usb, writer_asleep_at_unplug, 120)
{
	const struct usbcls *cls = variant->cls;
	struct __kernel_timespec ts = { .tv_sec = 20 };
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	struct io_uring ring;
	long t0, tdel, tgone;
	struct wcall w[2];
	int i, res;

	if (!cls->ack_wait)
		SKIP(return, "%s: no write waits for the device (writes_across_unplug)",
		     cls->mod);
	self->fd = open(self->node, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, io_uring_queue_init(4, &ring, 0));
	t0 = now_ms();
	ASSERT_EQ(0, wcall_start(&w[0], self->fd, cls->cmd));
	usleep(100000);
	ASSERT_EQ(0, wcall_start(&w[1], self->fd, cls->cmd));
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_write(sqe, self->fd, cls->cmd, strlen(cls->cmd), -1);
	ASSERT_EQ(1, io_uring_submit(&ring));
	usleep(200000);
	ASSERT_FALSE(tcr_load(w[0].done));
	ASSERT_FALSE(tcr_load(w[1].done));
	ASSERT_EQ(-EAGAIN, io_uring_peek_cqe(&ring, &cqe));
	tdel = now_ms();
	ASSERT_EQ(0, tcr_hotplug(WAC_DEL));
	ASSERT_EQ(0, tcr_wait_gone(self->dev_path, GONE_MS));
	tgone = now_ms();
	for (i = 0; i < 2; i++) {
		long end = now_ms() + WAKE_MS;

		while (!tcr_load(w[i].done) && now_ms() < end)
			usleep(5000);
		ASSERT_TRUE(tcr_load(w[i].done));
		pthread_join(w[i].th, NULL);
	}
	ASSERT_EQ(0, io_uring_wait_cqe_timeout(&ring, &cqe, &ts));
	res = cqe->res;
	io_uring_cqe_seen(&ring, cqe);
	io_uring_queue_exit(&ring);
	ksft_print_msg("%s: device_del %ld ms after the first write began\n",
		       variant->stock ? "stock" : "ours", tdel - t0);
	ksft_print_msg("%s: the tablet gone %ld ms after device_del\n",
		       variant->stock ? "stock" : "ours", tgone - tdel);
	ksft_print_msg("%s: writes %zd %s (%ld ms after it began), %zd %s; io_uring write %d\n",
		       variant->stock ? "stock" : "ours", w[0].ret,
		       strerror(w[0].err), w[0].t_end - t0, w[1].ret,
		       strerror(w[1].err), res);
	EXPECT_EQ(-1, w[0].ret);
	EXPECT_EQ(-1, w[1].ret);
	if (variant->stock) {
		/* its wait ran its course, and disconnect waited for it */
		EXPECT_EQ(EIO, w[0].err);
		EXPECT_LE(YUREX_ACK_MS - 20, w[0].t_end - t0);
		EXPECT_LE(w[0].t_end, tgone);
	} else {
		EXPECT_EQ(ENODEV, w[0].err);
		EXPECT_GT(YUREX_ACK_MS, w[0].t_end - t0) {
			TH_LOG("the first write was not woken by the unplug");
		}
		EXPECT_EQ(ENODEV, w[1].err);
		EXPECT_EQ(-ENODEV, res);
	}
	assert_gone(_metadata, cls, variant->stock, self->fd);
	close_gone(_metadata, variant->cls, variant->stock, self->fd);
	self->fd = -1;
	ASSERT_EQ(0, replug(self, cls));
	EXPECT_EQ(self->refcnt, tcr_mod_refcnt(cls->mod));
}

/*
 * SIGIO at unplug (yurex: the one with ->fasync): stock's disconnect sends
 * POLL_IN, as if a count had come; converted, the core sends POLL_HUP.
 */
TEST_F_TIMEOUT(usb, sigio_at_unplug, 120)
{
	struct timespec ts = { .tv_sec = 20 }, zero = { 0 };
	int sig = SIGRTMIN + 1;
	siginfo_t si;
	sigset_t set;

	if (!variant->cls->fasync)
		SKIP(return, "%s: no fasync", variant->cls->mod);
	sigemptyset(&set);
	sigaddset(&set, sig);
	ASSERT_EQ(0, pthread_sigmask(SIG_BLOCK, &set, NULL));
	self->fd = open(self->node, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, fcntl(self->fd, F_SETOWN, getpid()));
	ASSERT_EQ(0, fcntl(self->fd, F_SETSIG, sig));
	ASSERT_EQ(0, fcntl(self->fd, F_SETFL,
			   fcntl(self->fd, F_GETFL) | O_ASYNC));
	EXPECT_EQ(-1, sigtimedwait(&set, &si, &zero));
	ASSERT_EQ(0, unplug(self));
	ASSERT_EQ(sig, sigtimedwait(&set, &si, &ts));
	ksft_print_msg("%s: SIGIO si_code %d (POLL_IN %d, POLL_HUP %d), si_fd %d\n",
		       variant->stock ? "stock" : "ours", si.si_code, POLL_IN,
		       POLL_HUP, si.si_fd);
	EXPECT_EQ(variant->stock ? POLL_IN : POLL_HUP, si.si_code);
	EXPECT_EQ(self->fd, si.si_fd);
	EXPECT_EQ(-1, sigtimedwait(&set, &si, &zero));	/* one signal */
	assert_gone(_metadata, variant->cls, variant->stock, self->fd);
	close_gone(_metadata, variant->cls, variant->stock, self->fd);
	self->fd = -1;
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	ASSERT_EQ(0, replug(self, variant->cls));
	EXPECT_EQ(self->refcnt, tcr_mod_refcnt(variant->cls->mod));
}

/* Outcomes of a loop of calls, by kind. */
struct tally {
	int fd;
	size_t rlen;
	const struct usbcls *cls;	/* for the text reads and the writes */
	int stop;
	long ok, enodev, usb, other;
	int last_err;
};

/*
 * Writes (HID SET_REPORT on ep0) in a loop until one fails with ENODEV.
 * The ones that race the unplug before the guest has seen the port's
 * disconnect get the USB stack's error of a gone device (EPROTO, EPIPE,
 * ETIMEDOUT, ESHUTDOWN, EILSEQ): counted as "usb"; anything else "other".
 */
static void *writer_fn(void *arg)
{
	struct tally *t = arg;
	const char *cmd = t->cls->cmd ?: "\1";
	ssize_t len = strlen(cmd);

	while (!tcr_load(t->stop)) {
		if (write(t->fd, cmd, len) == len) {
			t->ok++;
			continue;
		}
		t->last_err = errno;
		if (errno == ENODEV) {
			t->enodev++;
			break;
		}
		if ((t->cls->write_errno && errno == t->cls->write_errno) ||
		    (t->cls->stall_errno && errno == t->cls->stall_errno)) {
			/* the tablet's answer: yurex no ack, cdc-wdm a stall */
			t->ok++;
			continue;
		}
		if (errno == EPROTO || errno == EPIPE || errno == ETIMEDOUT ||
		    errno == ESHUTDOWN || errno == EILSEQ)
			t->usb++;
		else
			t->other++;
		usleep(10000);
	}
	return NULL;
}

/*
 * A loop of writes across the unplug: they succeed, then fail with ENODEV.
 * Stock the same, except for cdc-wdm.  Its disconnect waits for its write
 * lock, which a write holds while it sleeps until the previous command (a
 * control URB) completes; QEMU's xHCI never completes the transfers of a
 * device it detaches, so the unplug stayed stuck until a signal ended the
 * write (EINTR), as long as usbcore flushed ep0 only after the drivers'
 * disconnect.  It flushes it first now: the killed command frees the
 * write, the unplug completes, and the next write reports the killed
 * command's EIO, once.  A stuck unplug is still signalled, and fails.
 */
TEST_F_TIMEOUT(usb, writes_across_unplug, 120)
{
	struct sigaction sa = { .sa_handler = on_usr1 };	/* no SA_RESTART */
	struct tally t = { 0 };
	int gone, stuck = 0;
	pthread_t th;
	long t0;

	if (!variant->cls->writes)
		SKIP(return, "%s: no write to this tablet", variant->cls->mod);
	if (variant->cls->ack_wait)
		SKIP(return, "%s: each write waits %d ms for an answer (writer_asleep_at_unplug)",
		     variant->cls->mod, YUREX_ACK_MS);
	self->fd = open(self->node, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd);
	t.fd = self->fd;
	t.cls = variant->cls;
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	ASSERT_EQ(0, pthread_create(&th, NULL, writer_fn, &t));
	usleep(500000);
	t0 = now_ms();
	ASSERT_EQ(0, tcr_hotplug(WAC_DEL));
	gone = tcr_wait_gone(self->dev_path, variant->stock ? GONE_MS / 2 : GONE_MS);
	if (gone && variant->stock) {
		stuck = 1;
		ksft_print_msg("stock: the unplug still pending %ld ms after device_del\n",
			       now_ms() - t0);
		ksft_print_msg("stock: a write in flight: signalled\n");
		pthread_kill(th, SIGUSR1);
		gone = tcr_wait_gone(self->dev_path, GONE_MS);
	}
	ASSERT_EQ(0, gone);
	usleep(200000);
	tcr_store(t.stop, 1);
	pthread_join(th, NULL);
	ksft_print_msg("%s: writes: %ld ok, %ld ENODEV, %ld USB errors, %ld other (last %s)\n",
		       variant->stock ? "stock" : "ours", t.ok, t.enodev,
		       t.usb, t.other, strerror(t.last_err));
	ksft_print_msg("the tablet gone %ld ms after device_del\n",
		       now_ms() - t0);
	EXPECT_LT(0, t.ok);
	EXPECT_EQ(1, t.enodev);
	EXPECT_FALSE(stuck);
	/* the signalled write's EINTR, if the signal found it asleep */
	EXPECT_GE(stuck, t.other);
	if (variant->stock && variant->cls == &cdcwdm) {
		char c = 1;

		/* stock cdc-wdm reports the killed command's error once */
		errno = 0;
		EXPECT_EQ(-1, write(self->fd, &c, 1));
		ksft_print_msg("stock: the next write: %s\n", strerror(errno));
		EXPECT_TRUE(errno == EIO || errno == ENODEV);
	}
	assert_gone(_metadata, variant->cls, variant->stock, self->fd);
	close_gone(_metadata, variant->cls, variant->stock, self->fd);
	self->fd = -1;
	ASSERT_EQ(0, replug(self, variant->cls));
	EXPECT_EQ(self->refcnt, tcr_mod_refcnt(variant->cls->mod));
}

/*
 * Blocking reads in a loop until one fails (the tablet's reports: ok);
 * yurex: reads of its text, 2 ms apart.
 */
static void *reader_fn(void *arg)
{
	struct tally *t = arg;
	const char *text = t->cls->text;
	char buf[64];

	for (;;) {
		if ((text ? pread(t->fd, buf, t->rlen, 0) :
			    read(t->fd, buf, t->rlen)) > 0) {
			t->ok++;
			if (text)
				usleep(2000);
			continue;
		}
		t->last_err = errno;
		if (errno == ENODEV)
			t->enodev++;
		else
			t->other++;
		break;
	}
	return NULL;
}

/* Open the node, retrying while the opener thread has it: the fd or -1. */
static int open_retry(const char *node)
{
	int i, fd = -1;

	for (i = 0; i < 200; i++) {
		fd = open(node, O_RDWR | O_CLOEXEC);
		if (fd >= 0 || errno != EBUSY)
			break;
		usleep(5000);
	}
	return fd;
}

/*
 * Unplug/re-plug cycles under load: each time a file with two blocking
 * readers, a poller and an io_uring read in flight, and a thread that opens
 * the node in a loop (yurex: two readers of its text, a writer and an
 * io_uring write, since nothing else sleeps); every call succeeds or fails
 * as an unplugged device does, every sleeper is woken, and the module
 * references come back.
 */
TEST_F_TIMEOUT(usb, cycles_under_load, 1800)
{
	struct __kernel_timespec ts = { .tv_sec = 20 };
	const struct usbcls *cls = variant->cls;
	struct tcr_opener o = { 0 };
	long t0 = now_ms(), tmax = 0, tsum = 0, t1, reads = 0, writes = 0;
	int n = tcr_cycles(50, 20), i, k;
	pthread_t oth;

	if (variant->stock && cls->ack_wait)
		SKIP(return, "ours only: a sleeping write holds stock's disconnect");
	if (variant->stock && cls->stock_read_hangs)
		SKIP(return, "ours only: a sleeping read holds stock's disconnect");
	if (variant->stock)
		SKIP(return, "ours only: stock wakes these sleepers as ours does (sleepers_woken)");
	snprintf(o.node, sizeof(o.node), "%s", self->node);
	ASSERT_EQ(0, pthread_create(&oth, NULL, tcr_opener_fn, &o));
	for (i = 0; i < n; i++) {
		struct tally r[2] = { 0 }, p = { 0 };
		struct tcr_poller pl = { 0 };
		struct io_uring_sqe *sqe;
		struct io_uring_cqe *cqe;
		struct io_uring ring;
		pthread_t th[3];
		char buf[64];

		self->fd = open_retry(self->node);
		ASSERT_LE(0, self->fd);
		ASSERT_EQ(0, io_uring_queue_init(4, &ring, 0));
		sqe = io_uring_get_sqe(&ring);
		if (cls->text)
			io_uring_prep_write(sqe, self->fd, cls->cmd,
					    strlen(cls->cmd), -1);
		else
			io_uring_prep_read(sqe, self->fd, buf, cls->rlen, -1);
		ASSERT_EQ(1, io_uring_submit(&ring));
		for (k = 0; k < 2; k++) {
			r[k].fd = self->fd;
			r[k].rlen = cls->rlen;
			r[k].cls = cls;
		}
		p.fd = self->fd;
		p.cls = cls;
		pl.fd = self->fd;
		ASSERT_EQ(0, pthread_create(&th[0], NULL, reader_fn, &r[0]));
		ASSERT_EQ(0, pthread_create(&th[1], NULL, reader_fn, &r[1]));
		ASSERT_EQ(0, pthread_create(&th[2], NULL,
					    cls->text ? writer_fn : tcr_poller_fn,
					    cls->text ? (void *)&p : &pl));
		usleep(100000 + (i % 4) * 100000);
		t1 = now_ms();
		ASSERT_EQ(0, tcr_hotplug(WAC_DEL));
		for (k = 0; k < 3; k++)
			pthread_join(th[k], NULL);
		ASSERT_EQ(0, io_uring_wait_cqe_timeout(&ring, &cqe, &ts));
		/*
		 * A report read first, or the unplug; yurex: a write that
		 * timed out waiting for the ack, or the unplug.
		 */
		EXPECT_TRUE(cqe->res == -ENODEV ||
			    (cls->text ? cqe->res == -cls->write_errno :
					 cqe->res > 0)) {
			TH_LOG("cycle %d: io_uring %s %d", i,
			       cls->text ? "write" : "read", cqe->res);
		}
		io_uring_cqe_seen(&ring, cqe);
		io_uring_queue_exit(&ring);
		ASSERT_EQ(0, tcr_wait_gone(self->dev_path, GONE_MS));
		t1 = now_ms() - t1;
		tsum += t1;
		if (t1 > tmax)
			tmax = t1;
		for (k = 0; k < 2; k++) {
			EXPECT_EQ(1, r[k].enodev) {
				TH_LOG("cycle %d: reader %d ended with %s", i,
				       k, strerror(r[k].last_err));
			}
			reads += r[k].ok;
		}
		EXPECT_EQ(1, cls->text ? p.enodev : pl.hup);
		EXPECT_EQ(0, cls->text ? p.other : pl.other) {
			TH_LOG("cycle %d: %s: %s", i,
			       cls->text ? "writer" : "poller",
			       strerror(p.last_err));
		}
		writes += cls->text ? p.ok : 0;
		close_gone(_metadata, variant->cls, variant->stock, self->fd);
		self->fd = -1;
		ASSERT_EQ(0, replug(self, variant->cls));
	}
	tcr_store(o.stop, 1);
	pthread_join(oth, NULL);
	ksft_print_msg("ours: %d unplug/re-plug cycles in %ld ms\n", n,
		       now_ms() - t0);
	ksft_print_msg("unplug %ld ms on average, %ld at most; %ld %s read, %ld writes answered\n",
		       tsum / n, tmax, reads, cls->text ? "texts" : "reports",
		       writes);
	ksft_print_msg("opens: %ld ok, %ld EBUSY, %ld gone, %ld other\n",
		       o.ok, o.ebusy, o.gone, o.other);
	EXPECT_EQ(0, o.other) {
		TH_LOG("open: %s", strerror(o.last_err));
	}
	/*
	 * The re-plugged tablet works.  Its report after the plug may have
	 * gone to the opener thread: a mouse motion sends another one.
	 */
	self->fd = open_retry(self->node);
	ASSERT_LE(0, self->fd);
	if (!cls->reports) {
		assert_live(_metadata, cls, self->fd);
	} else {
		drain(cls, self->fd, 2000);
		ASSERT_EQ(0, tcr_hotplug("rel 1 2"));
		EXPECT_LE(1, drain(cls, self->fd, 5000));
	}
	EXPECT_EQ(0, close(self->fd));
	self->fd = -1;
	EXPECT_EQ(self->refcnt, tcr_mod_refcnt(variant->cls->mod));
}

TEST_HARNESS_MAIN
