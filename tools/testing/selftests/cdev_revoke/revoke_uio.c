// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/uioN on cdev_revoke: uio_pci_generic bound to QEMU's edu PCI device
 * (behind the q35 pcie-root-port), its BAR0 mapped, a reader waiting for
 * an interrupt, pollers and io_uring requests in flight, while the device
 * is unbound through sysfs or hot-unplugged through the QEMU monitor.
 *
 * The "stock" variant runs the same cases on the stock 6.12 uio core
 * (uio.ko built from the base commit's source, $UIO_STOCK_KO), loaded in
 * place of the converted one, and asserts what stock does: the BAR mapping
 * outlives the unbind and drives the device under its next driver, and
 * poll reports -EIO as a mask.  It skips when that module is not there.
 *
 * Environment: TCR_KO (test_cdev_revoke.ko: the modules are found next to
 * it in the kernel build: drivers/uio/uio.ko, drivers/uio/uio_pci_generic.ko,
 * ../uio-stock/uio.ko from scripts/stock-module.sh; or UIO_KO, UIO_PCI_KO,
 * UIO_STOCK_KO), TCR_HOTPLUG (the host's QMP helper for the hot-unplug
 * cases).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "util.h"

#define UIO_PCI_DRV	"/sys/bus/pci/drivers/uio_pci_generic/"
#define TCR_PCI_DRV	"/sys/bus/pci/drivers/test-cdev-revoke/"
#define EDU_ID		0x010000ed	/* register 0x00: version 1.0, 0xed */
#define EDU_LIVE	(0x04 / 4)	/* liveness: reads back ~written */
#define EDU_BAR_SIZE	0x100000	/* BAR0: 1 MiB */

FIXTURE(uio) {
	char addr[256];		/* PCI name of the edu */
	char devdir[320];
	char node[64];		/* /dev/uioN */
	bool stock;
	bool irq;
};

TCR_STOCK_VARIANTS(uio);

/* Unload both uio modules and load @core then uio_pci_generic: 0 or -errno. */
static int load_uio(const char *core)
{
	const char *pci = tcr_ko_path("UIO_PCI_KO", "../drivers/uio/uio_pci_generic.ko");
	int ret;

	tcr_rmmod("uio_pci_generic");
	tcr_rmmod("uio");
	if (!core || !pci)
		return -ENOENT;
	ret = tcr_insmod(core);
	if (ret)
		return ret;
	return tcr_insmod(pci);
}

/* The uioN of the edu bound to uio_pci_generic, in @node: 0 or -1. */
static int find_uio(struct _test_data_uio *self)
{
	char path[400];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "%s/uio", self->devdir);
	d = opendir(path);
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		if (!strncmp(de->d_name, "uio", 3)) {
			snprintf(self->node, sizeof(self->node), "/dev/%.32s",
				 de->d_name);
			closedir(d);
			return access(self->node, F_OK) ? -1 : 0;
		}
	}
	closedir(d);
	return -1;
}

/* Bind the edu to uio_pci_generic (whatever had it before): 0 or -1. */
static int bind_uio(struct _test_data_uio *self)
{
	char path[400], unbind[400];
	int i;

	snprintf(unbind, sizeof(unbind), "%s/driver/unbind", self->devdir);
	snprintf(path, sizeof(path), "%s/driver_override", self->devdir);
	if (write_str(path, "uio_pci_generic"))
		return -1;
	/*
	 * A device just plugged in may still be probed by another driver
	 * (test_cdev_revoke binds the edu) after the first unbind: unbind
	 * and probe again every half second.
	 */
	for (i = 0; i < 500; i++) {
		if (!(i % 50)) {
			write_str(unbind, self->addr);
			write_str("/sys/bus/pci/drivers_probe", self->addr);
		}
		if (!find_uio(self))
			return 0;
		usleep(10000);
	}
	return -1;
}

static int unbind_uio(struct _test_data_uio *self)
{
	return write_str(UIO_PCI_DRV "unbind", self->addr);
}

FIXTURE_SETUP(uio)
{
	const char *core;
	char *addr = edu_address();
	char buf[4];
	int fd, ret;

	self->stock = variant->stock;
	if (!addr)
		SKIP(return, "no edu PCI device (-device edu)");
	snprintf(self->addr, sizeof(self->addr), "%s", addr);
	snprintf(self->devdir, sizeof(self->devdir), "/sys/bus/pci/devices/%s",
		 addr);
	core = self->stock ? tcr_ko_path("UIO_STOCK_KO", "../../uio-stock/uio.ko") :
			     tcr_ko_path("UIO_KO", "../drivers/uio/uio.ko");
	if (self->stock && (!core || access(core, R_OK)))
		SKIP(return, "no stock uio.ko (%s)", core ? core : "UIO_STOCK_KO");
	/*
	 * The stock variant loads the stock core for each case, and its
	 * teardown loads ours again: ours is loaded unless no case ran yet.
	 */
	if (self->stock || access("/sys/module/uio_pci_generic", F_OK)) {
		ret = load_uio(core);
		if (ret)
			SKIP(return, "cannot load %s: %s", core, strerror(-ret));
	}
	ASSERT_EQ(0, bind_uio(self)) TH_LOG("no /dev/uioN for %s", self->addr);
	/* uio_pci_generic registers without an interrupt if there is no INTx */
	fd = open(self->node, O_RDWR | O_NONBLOCK);
	ASSERT_LE(0, fd);
	ret = read(fd, buf, 4);
	self->irq = ret < 0 && errno == EAGAIN;
	close(fd);
}

FIXTURE_TEARDOWN(uio)
{
	char path[400];

	if (!self->addr[0])
		return;
	/* the edu back on uio_pci_generic, ours: the next case finds it */
	if (self->stock) {
		write_str(UIO_PCI_DRV "unbind", self->addr);
		if (access("/sys/bus/pci/drivers/test-cdev-revoke", F_OK) == 0)
			write_str(TCR_PCI_DRV "unbind", self->addr);
		load_uio(tcr_ko_path("UIO_KO", "../drivers/uio/uio.ko"));
	}
	snprintf(path, sizeof(path), "%s/driver", self->devdir);
	if (access(self->devdir, F_OK) == 0 && access(path, F_OK))
		bind_uio(self);
}

/* Hot-unplug of the edu, with DEVICE_DELETED: 0 or -errno. */
static int unplug(struct _test_data_uio *self)
{
	int ret = tcr_hotplug("del");

	if (!ret && access(self->devdir, F_OK) == 0)
		ret = -EBUSY;
	return ret;
}

/* Plug a new edu in and bind it to uio_pci_generic: 0 or -1. */
static int replug(struct _test_data_uio *self)
{
	int i;

	if (tcr_hotplug("add"))
		return -1;
	for (i = 0; i < 3000 && access(self->devdir, F_OK); i++)
		usleep(10000);
	return bind_uio(self);
}

static __u32 *map_bar0(int fd)
{
	void *p = mmap(NULL, EDU_BAR_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		       fd, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* The edu answers through @bar: its id, and the liveness register. */
static bool edu_alive(__u32 *bar)
{
	__u32 id, live;

	if (tcr_touch(&bar[0], &id) || id != EDU_ID)
		return false;
	tcr_store(bar[EDU_LIVE], 0x12345678);
	return !tcr_touch(&bar[EDU_LIVE], &live) && live == 0xedcba987;
}

/* What a held file and its mapping see once the device is gone. */
static void check_gone(struct __test_metadata *_metadata,
		       struct _test_data_uio *self, int fd,
		       __u32 *bar)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	__u32 v = 0, on = 1;
	char buf[4];

	EXPECT_EQ(-1, tcr_touch(&bar[0], &v)) TH_LOG("read %#x", v);
	EXPECT_EQ(-1, read(fd, buf, 4));
	EXPECT_EQ(ENODEV, errno);
	EXPECT_EQ(-1, write(fd, &on, 4));
	EXPECT_EQ(ENODEV, errno);
	EXPECT_EQ(NULL, map_bar0(fd));
	EXPECT_EQ(ENODEV, errno);
	EXPECT_EQ(1, poll(&pfd, 1, 0));
	EXPECT_EQ(POLLERR | POLLHUP, pfd.revents);
}

/*
 * The BAR mapping after the unbind: ours SIGBUSes; stock still reads the
 * id and drives the device under the next driver (test_cdev_revoke).
 */
TEST_F(uio, mapping_after_unbind)
{
	__u32 *bar, *other;
	char node[300], path[400];
	__u32 v = 0;
	int fd, fd2;

	fd = open(self->node, O_RDWR);
	ASSERT_LE(0, fd);
	bar = map_bar0(fd);
	ASSERT_NE(NULL, bar);
	ASSERT_TRUE(edu_alive(bar));

	ASSERT_EQ(0, unbind_uio(self));
	if (!self->stock) {
		check_gone(_metadata, self, fd, bar);
		munmap(bar, EDU_BAR_SIZE);
		EXPECT_EQ(0, close(fd));
		return;
	}
	/* stock: the mapping of a device without a driver still works */
	EXPECT_EQ(0, tcr_touch(&bar[0], &v));
	EXPECT_EQ(EDU_ID, v);
	EXPECT_TRUE(edu_alive(bar));
	TH_LOG("stock: id %#x through the mapping after the unbind", v);
	if (tcr_load_module() == 0) {
		/* another driver binds: the old mapping drives its device */
		snprintf(path, sizeof(path), "%s/driver_override", self->devdir);
		write_str(path, "\n");
		write_str(TCR_PCI_DRV "bind", self->addr);
		ASSERT_EQ(0, tcr_wait_node(self->devdir, node, sizeof(node)));
		fd2 = open(node, O_RDWR);
		ASSERT_LE(0, fd2);
		other = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd2, 0);
		ASSERT_NE(MAP_FAILED, other);
		tcr_store(bar[EDU_LIVE], 0x0badcafe);
		EXPECT_EQ(~0x0badcafeU, tcr_load(other[EDU_LIVE]));
		TH_LOG("stock: wrote %#x through the stale uio mapping, %s reads %#x",
		       0x0badcafe, node, tcr_load(other[EDU_LIVE]));
		munmap(other, 4096);
		close(fd2);
	}
	munmap(bar, EDU_BAR_SIZE);
	close(fd);
}

/* poll: ours EPOLLERR | EPOLLHUP; stock the bits of (__poll_t)-EIO. */
TEST_F(uio, poll_after_unbind)
{
	struct pollfd pfd;
	int fd;

	fd = open(self->node, O_RDWR);
	ASSERT_LE(0, fd);
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	if (self->irq) {
		EXPECT_EQ(0, poll(&pfd, 1, 0));
	} else {
		EXPECT_EQ(1, poll(&pfd, 1, 0));
		TH_LOG("no interrupt: revents %#x live", pfd.revents);
	}
	ASSERT_EQ(0, unbind_uio(self));
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN | POLLOUT };
	EXPECT_EQ(1, poll(&pfd, 1, 0));
	TH_LOG("%s: revents %#x after the unbind", self->stock ? "stock" : "ours",
	       pfd.revents);
	if (self->stock) {
		/* 0xfffffffb filtered by poll(2): all it asked but POLLOUT */
		EXPECT_EQ(POLLIN | POLLERR | POLLHUP, pfd.revents);
	} else {
		EXPECT_EQ(POLLERR | POLLHUP, pfd.revents);
	}
	EXPECT_EQ(0, close(fd));
}

/* A reader waiting for an interrupt, a poller and an epoller are woken. */
TEST_F(uio, sleepers_woken)
{
	struct tcr_waiter w[3] = {
		{ .kind = TCR_W_READ, .len = 4 }, { .kind = TCR_W_POLL },
		{ .kind = TCR_W_EPOLL },
	};
	pthread_t th[3];
	long t0;
	int fd, i;

	if (!self->irq)
		SKIP(return, "uio_pci_generic has no interrupt for the edu");
	fd = open(self->node, O_RDWR);
	ASSERT_LE(0, fd);
	for (i = 0; i < 3; i++) {
		w[i].fd = fd;
		ASSERT_EQ(0, pthread_create(&th[i], NULL, tcr_waiter_fn, &w[i]));
	}
	usleep(300000);
	t0 = now_ms();
	ASSERT_EQ(0, unbind_uio(self));
	for (i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	TH_LOG("woken after %ld ms: read %zd (%s), poll %#x, epoll %#x",
	       now_ms() - t0, w[0].ret, strerror(w[0].err), w[1].revents,
	       w[2].revents);
	EXPECT_EQ(-1, w[0].ret);
	EXPECT_EQ(self->stock ? EIO : ENODEV, w[0].err);
	EXPECT_EQ(1, w[1].ret);
	EXPECT_EQ(1, w[2].ret);
	if (!self->stock) {
		EXPECT_EQ(POLLERR | POLLHUP, w[1].revents);
		EXPECT_EQ(EPOLLERR | EPOLLHUP, w[2].revents);
	}
	EXPECT_EQ(0, close(fd));
}

/* io_uring: a read waiting for an interrupt and a poll complete. */
TEST_F(uio, io_uring_inflight)
{
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	struct __kernel_timespec ts = { .tv_sec = 10 };
	struct io_uring ring;
	__u32 ev = 0;
	int fd, i, res[2] = { 1, 1 };

	if (self->stock)
		SKIP(return, "ours only");
	fd = open(self->node, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, io_uring_queue_init(8, &ring, 0));
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_poll_add(sqe, fd, POLLIN);
	sqe->user_data = 1;
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_read(sqe, fd, &ev, 4, 0);
	sqe->user_data = 2;
	ASSERT_EQ(2, io_uring_submit(&ring));
	usleep(300000);
	if (!self->irq) {
		/* both complete at once: poll EPOLLERR, read EIO */
		for (i = 0; i < 2; i++) {
			ASSERT_EQ(0, io_uring_wait_cqe_timeout(&ring, &cqe, &ts));
			io_uring_cqe_seen(&ring, cqe);
		}
	}
	ASSERT_EQ(0, unbind_uio(self));
	if (self->irq) {
		for (i = 0; i < 2; i++) {
			ASSERT_EQ(0, io_uring_wait_cqe_timeout(&ring, &cqe, &ts));
			res[cqe->user_data - 1] = cqe->res;
			io_uring_cqe_seen(&ring, cqe);
		}
		EXPECT_EQ(POLLERR | POLLHUP, res[0]);
		EXPECT_EQ(-ENODEV, res[1]);
	}
	/* and afterwards */
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_read(sqe, fd, &ev, 4, 0);
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_poll_add(sqe, fd, POLLIN);
	ASSERT_EQ(2, io_uring_submit(&ring));
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, io_uring_wait_cqe_timeout(&ring, &cqe, &ts));
		/* the read, or the poll */
		EXPECT_EQ(cqe->res < 0 ? -ENODEV : POLLERR | POLLHUP, cqe->res);
		io_uring_cqe_seen(&ring, cqe);
	}
	io_uring_queue_exit(&ring);
	EXPECT_EQ(0, close(fd));
}

/*
 * Two files and a mapping held across unbind and bind: the edu comes back
 * as the same /dev/uioN, the held files never reach it, new ones do; the
 * stale files do not pin uio_pci_generic.
 */
TEST_F(uio, stale_fd_after_rebind)
{
	__u32 *bar, *bar2;
	__u32 v = 0;
	int fd, fd2, fd3;
	char node[64];

	if (self->stock)
		SKIP(return, "ours only");
	fd = open(self->node, O_RDWR);
	ASSERT_LE(0, fd);
	fd2 = open(self->node, O_RDONLY);
	ASSERT_LE(0, fd2);
	bar = map_bar0(fd);
	ASSERT_NE(NULL, bar);
	ASSERT_EQ(0, unbind_uio(self));
	snprintf(node, sizeof(node), "%s", self->node);
	/* files do not pin the driver module: the fence keeps it out */
	EXPECT_EQ(0, read_long("/sys/module/uio_pci_generic/refcnt"));
	ASSERT_EQ(0, bind_uio(self));
	EXPECT_STREQ(node, self->node);
	check_gone(_metadata, self, fd, bar);
	EXPECT_EQ(-1, read(fd2, &v, 4));
	EXPECT_EQ(ENODEV, errno);
	fd3 = open(self->node, O_RDWR);
	ASSERT_LE(0, fd3);
	bar2 = map_bar0(fd3);
	ASSERT_NE(NULL, bar2);
	EXPECT_TRUE(edu_alive(bar2));
	/* the old mapping stays dead, at the same BAR */
	EXPECT_EQ(-1, tcr_touch(&bar[0], &v));
	munmap(bar2, EDU_BAR_SIZE);
	munmap(bar, EDU_BAR_SIZE);
	EXPECT_EQ(0, close(fd3));
	EXPECT_EQ(0, close(fd2));
	EXPECT_EQ(0, close(fd));
}

/* rmmod uio_pci_generic with a file and a mapping held (stock: EBUSY). */
TEST_F(uio, rmmod_driver_with_file_open)
{
	__u32 *bar;
	int fd, ret;

	fd = open(self->node, O_RDWR);
	ASSERT_LE(0, fd);
	bar = map_bar0(fd);
	ASSERT_NE(NULL, bar);
	ret = tcr_rmmod("uio_pci_generic");
	if (self->stock) {
		EXPECT_EQ(-EWOULDBLOCK, ret);
	} else {
		const char *ko = tcr_ko_path("UIO_PCI_KO",
					     "../drivers/uio/uio_pci_generic.ko");

		EXPECT_EQ(0, ret);
		check_gone(_metadata, self, fd, bar);
		EXPECT_EQ(0, tcr_insmod(ko));
	}
	munmap(bar, EDU_BAR_SIZE);
	EXPECT_EQ(0, close(fd));
}

/* Stock: the mapping outlives the unplug and reaches the new device. */
static void stock_hot_unplug(struct __test_metadata *_metadata,
			     struct _test_data_uio *self)
{
	__u32 *bar;
	__u32 v = 0;
	int fd;

	fd = open(self->node, O_RDWR);
	ASSERT_LE(0, fd);
	bar = map_bar0(fd);
	ASSERT_NE(NULL, bar);
	ASSERT_TRUE(edu_alive(bar));
	ASSERT_EQ(0, unplug(self));
	EXPECT_EQ(0, tcr_touch(&bar[0], &v));
	TH_LOG("stock: %#x through the mapping while unplugged", v);
	ASSERT_EQ(0, replug(self));
	v = 0;
	EXPECT_EQ(0, tcr_touch(&bar[0], &v));
	EXPECT_EQ(EDU_ID, v);
	EXPECT_TRUE(edu_alive(bar));
	TH_LOG("stock: %#x through the old mapping after the re-plug", v);
	munmap(bar, EDU_BAR_SIZE);
	EXPECT_EQ(0, close(fd));
}

/*
 * PCIe hot-unplug (QMP device_del) with a file, its mapping and a waiting
 * reader, three times; each time a new edu is plugged in at the same
 * address and bound: the held file and mapping never reach it.
 */
TEST_F_TIMEOUT(uio, hot_unplug, 900)
{
	struct tcr_waiter w = { .kind = TCR_W_READ, .len = 4 };
	__u32 *bar, *bar2;
	pthread_t th;
	__u32 v;
	int fd, fd2, cycle;

	if (!getenv("TCR_HOTPLUG"))
		SKIP(return, "no host helper for device_del/device_add (TCR_HOTPLUG)");
	if (self->stock) {
		stock_hot_unplug(_metadata, self);
		return;
	}
	for (cycle = 0; cycle < 3; cycle++) {
		fd = open(self->node, O_RDWR);
		ASSERT_LE(0, fd);
		bar = map_bar0(fd);
		ASSERT_NE(NULL, bar);
		ASSERT_TRUE(edu_alive(bar));
		w.fd = fd;
		if (self->irq)
			ASSERT_EQ(0, pthread_create(&th, NULL, tcr_waiter_fn, &w));
		ASSERT_EQ(0, unplug(self));
		if (self->irq) {
			pthread_join(th, NULL);
			EXPECT_EQ(-1, w.ret);
			EXPECT_EQ(ENODEV, w.err);
		}
		check_gone(_metadata, self, fd, bar);
		ASSERT_EQ(0, replug(self));
		fd2 = open(self->node, O_RDWR);
		ASSERT_LE(0, fd2);
		bar2 = map_bar0(fd2);
		ASSERT_NE(NULL, bar2);
		EXPECT_TRUE(edu_alive(bar2));
		v = 0;
		EXPECT_EQ(-1, tcr_touch(&bar[0], &v)) TH_LOG("stale read %#x", v);
		munmap(bar2, EDU_BAR_SIZE);
		munmap(bar, EDU_BAR_SIZE);
		EXPECT_EQ(0, close(fd2));
		EXPECT_EQ(0, close(fd));
	}
}

TEST_HARNESS_MAIN
