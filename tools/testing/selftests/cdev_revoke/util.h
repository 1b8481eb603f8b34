/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the cdev_revoke selftests: sysfs and debugfs files,
 * the test driver's module, its platform devices and their nodes, time.
 */
#ifndef CDEV_REVOKE_SELFTEST_UTIL_H
#define CDEV_REVOKE_SELFTEST_UTIL_H

#include <assert.h>
#include <dirent.h>
#include <linux/types.h>
#include <linux/uhid.h>
#include <linux/input.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../kselftest.h"

/* debugfs directory of lib/test_cdev_revoke.c */
/*
 * Loads through a mapping of the device, and flags that a signal handler
 * sets: done where they are written, never merged or moved by the compiler.
 */
#define tcr_load(x)		__atomic_load_n(&(x), __ATOMIC_RELAXED)
#define tcr_store(x, v)		__atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

#define DBG		"/sys/kernel/debug/test_cdev_revoke/"

/* The userspace interface of lib/test_cdev_revoke.c. */
#define TCR_PLAT_DRV		"/sys/bus/platform/drivers/test-cdev-revoke/"
#define TCR_PLAT_DEVS		"/sys/bus/platform/devices/test-cdev-revoke."
#define TCR_PLAT_ID		0x7c7c7c7c	/* TCR_IOC_ID, mapped page 0 */
#define TCR_IOC_ID		_IOR('R', 1, __u32)
#define TCR_IOC_SLEEP		_IOW('R', 2, __u32)
#define TCR_IOC_EVENT		_IO('R', 3)
#define TCR_IOC_CHILD		_IO('R', 4)
#define TCR_IOC_CHILD_LATE	_IO('R', 5)

/*
 * The stock control of a conversion (make controls): with CDEV_STOCK=1 in the
 * environment, a converted driver's test asserts what the driver without its
 * conversion does instead, on a kernel built without the series.
 */
static inline int cdev_stock(void)
{
	const char *s = getenv("CDEV_STOCK");

	return s && *s == '1';
}

/*
 * Whether this is the control boot (cdev_mode=control, scripts/control-check.sh):
 * where a stock variant whose failure is a use-after-free runs, its console
 * kept out of the splat gate.
 */
static inline bool tcr_control_boot(void)
{
	const char *m = getenv("cdev_mode");

	return m && !strcmp(m, "control");
}

static inline long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Write @s to the sysfs or debugfs file @path: 0 or -errno. */
static inline int write_str(const char *path, const char *s)
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

/* The number in the file @path, or -1 if it cannot be opened. */
static inline long read_long(const char *path)
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

/* A counter the test driver keeps in debugfs (opens, releases, ...). */
static inline long tcr_counter(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), DBG "%s", name);
	return read_long(path);
}

/* Load the module in the file @ko with @params: 0 or -errno (-EEXIST if loaded). */
static inline int tcr_finit(const char *ko, const char *params)
{
	int fd, ret;

	fd = open(ko, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, params, 0);
	ret = ret ? -errno : 0;
	close(fd);
	return ret;
}

static inline int tcr_insmod(const char *ko)
{
	return tcr_finit(ko, "");
}

/* Unload the module @name: 0 or -errno (-ENOENT if not loaded). */
static inline int tcr_rmmod(const char *name)
{
	return syscall(SYS_delete_module, name, O_NONBLOCK) ? -errno : 0;
}

static inline bool tcr_module_loaded(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/module/%s", name);
	return !access(path, F_OK);
}

/*
 * The loaded module @name is an out-of-tree build (taint O): the stock
 * module of a control (scripts/stock-module.sh).
 */
static inline int tcr_module_stock(const char *name)
{
	char path[128], buf[16] = "";
	int fd;

	snprintf(path, sizeof(path), "/sys/module/%s/taint", name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	if (read(fd, buf, sizeof(buf) - 1) < 0)
		buf[0] = 0;
	close(fd);
	return !!strchr(buf, 'O');
}

/*
 * A module file: $@var if @var is set in the environment, else @rel
 * relative to the directory of $TCR_KO (the kernel build's lib/); NULL
 * without either. The string lives until the fourth call after this one.
 */
static inline const char *tcr_ko_path(const char *var, const char *rel)
{
	static char buf[4][512];
	static unsigned int n;
	const char *ko = getenv("TCR_KO");
	const char *slash = ko ? strrchr(ko, '/') : NULL;
	char *p = buf[n++ % 4];

	if (var && getenv(var))
		return getenv(var);
	if (!slash)
		return NULL;
	snprintf(p, sizeof(buf[0]), "%.*s/%s", (int)(slash - ko), ko, rel);
	return p;
}

/*
 * Load the test driver from $TCR_KO unless it is there already (the
 * guest has no modprobe): 0 or -errno.
 */
static inline int tcr_load_module(void)
{
	const char *ko = getenv("TCR_KO");

	if (access(DBG, F_OK) == 0)
		return 0;
	return ko ? tcr_finit(ko, "") : -ENOENT;
}

/*
 * Load the module at @rel (see tcr_ko_path()) with @params: 0 (also if it
 * is loaded already) or -errno.
 */
static inline int tcr_load_module_at(const char *rel, const char *params)
{
	const char *path = tcr_ko_path(NULL, rel);
	int ret;

	if (!path)
		return -ENOENT;
	ret = tcr_finit(path, params);
	return ret == -EEXIST ? 0 : ret;
}

/*
 * Make the module @name the converted build (@ours_rel) or, if @stock, the
 * stock one (@stock_rel; both as in tcr_ko_path()): the other kind is
 * unloaded first.  0, or -errno: -EBUSY if the other kind cannot be
 * unloaded, -EPROTO if the loaded module is still not the kind asked for.
 */
static inline int tcr_load_kind(const char *name, const char *ours_rel,
				const char *stock_rel, bool stock)
{
	int ret;

	if (tcr_module_loaded(name) && tcr_module_stock(name) != stock &&
	    tcr_rmmod(name))
		return -EBUSY;
	ret = tcr_load_module_at(stock ? stock_rel : ours_rel, "");
	if (ret)
		return ret;
	return tcr_module_stock(name) == stock ? 0 : -EPROTO;
}

/*
 * The variants of a fixture whose cases run on the converted driver
 * ("ours") and on the stock one ("stock"): variant->stock.
 */
#define TCR_STOCK_VARIANTS(fixture)		\
	FIXTURE_VARIANT(fixture) {		\
		bool stock;			\
	};					\
	FIXTURE_VARIANT_ADD(fixture, ours) {	\
		.stock = false,			\
	};					\
	FIXTURE_VARIANT_ADD(fixture, stock) {	\
		.stock = true,			\
	}

/*
 * The /dev node of the test driver's device bound at sysfs @devdir, a
 * cdev (class test_cdev_revoke, /dev/tcrN) or a misc device (class misc,
 * /dev/tcr-miscN): 0, or -1 if it has none (not bound).
 */
static inline int tcr_find_node(const char *devdir, char *node, size_t len)
{
	static const char *const classes[] = { "test_cdev_revoke", "misc" };
	char path[256];
	struct dirent *de;
	unsigned int i;
	DIR *d;

	for (i = 0; i < ARRAY_SIZE(classes); i++) {
		snprintf(path, sizeof(path), "%.200s/%s", devdir, classes[i]);
		d = opendir(path);
		if (!d)
			continue;
		while ((de = readdir(d))) {
			if (!strncmp(de->d_name, "tcr", 3)) {
				snprintf(node, len, "/dev/%s", de->d_name);
				closedir(d);
				return 0;
			}
		}
		closedir(d);
	}
	return -1;
}

/* Wait up to 5 s until @devdir has a node (bind) and it exists: 0 or -1. */
static inline int tcr_wait_node(const char *devdir, char *node, size_t len)
{
	int i;

	for (i = 0; i < 500; i++) {
		if (!tcr_find_node(devdir, node, len) && access(node, F_OK) == 0)
			return 0;
		usleep(10000);
	}
	return -1;
}

/*
 * Create the test driver's platform device test-cdev-revoke.@id, with a
 * cdev or as a misc device (@misc): 0 or -errno.
 */
static inline int tcr_platform_add(int id, int misc)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%d", id);
	return write_str(misc ? DBG "platform_add_misc" : DBG "platform_add",
			 buf);
}

/* Remove the platform device test-cdev-revoke.@id: 0 or -errno. */
static inline int tcr_platform_del(int id)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%d", id);
	return write_str(DBG "platform_del", buf);
}

/* The sysfs name of the first PCI device @vendor:@device, or NULL. */
static inline char *tcr_pci_address(long vendor, long device)
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
		if (read_long(path) != vendor)
			continue;
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/device",
			 de->d_name);
		if (read_long(path) != device)
			continue;
		snprintf(addr, sizeof(addr), "%s", de->d_name);
		closedir(d);
		return addr;
	}
	closedir(d);
	return NULL;
}

/* The sysfs name of QEMU's edu PCI device (1234:11e8), or NULL. */
static inline char *edu_address(void)
{
	return tcr_pci_address(0x1234, 0x11e8);
}

/*
 * PCIe hot-plug of the edu device behind the q35 root port: the host
 * (scripts/qmp-hotplug.py) does device_del (@op "del", answered once QEMU
 * reports DEVICE_DELETED) or device_add (@op "add") when asked through the
 * results share ($TCR_HOTPLUG/hotplug-req, answered in hotplug-ack): 0 or
 * -errno.
 */
static inline int tcr_hotplug(const char *op)
{
	const char *dir = getenv("TCR_HOTPLUG");
	char path[400], tmp[400], want[64], buf[256];
	static int seq;
	int fd, i;
	ssize_t n;

	snprintf(want, sizeof(want), "%d-%d", getpid(), ++seq);
	snprintf(tmp, sizeof(tmp), "%.300s/hotplug-req.tmp", dir);
	snprintf(path, sizeof(path), "%.300s/hotplug-req", dir);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return -errno;
	n = dprintf(fd, "%s %s\n", want, op);
	close(fd);
	if (n < 0 || rename(tmp, path))
		return -EIO;
	snprintf(path, sizeof(path), "%.300s/hotplug-ack", dir);
	for (i = 0; i < 1200; i++) {		/* 120 s */
		fd = open(path, O_RDONLY);
		if (fd >= 0) {
			n = read(fd, buf, sizeof(buf) - 1);
			close(fd);
			buf[n > 0 ? n : 0] = 0;
			if (!strncmp(buf, want, strlen(want)) &&
			    buf[strlen(want)] == ' ') {
				if (!strncmp(buf + strlen(want) + 1, "ok", 2))
					return 0;
				ksft_print_msg("hot-plug %s: %s\n", op, buf);
				return -EIO;
			}
		}
		usleep(100000);
	}
	ksft_print_msg("hot-plug %s: no answer from the host in 120 s\n", op);
	return -ETIMEDOUT;
}

/*
 * The pid of a task sleeping with @func in its kernel stack
 * (/proc/PID/stack, root and CONFIG_STACKTRACE), or 0 if there is none:
 * how a test sees that a removal has reached the revocation and waits in
 * it, which no file of the device can tell while the fence holds.
 */
static inline pid_t tcr_task_in(const char *func)
{
	char path[64], buf[4096];
	struct dirent *de;
	pid_t pid = 0;
	ssize_t n;
	DIR *d;
	int fd;

	d = opendir("/proc");
	if (!d)
		return 0;
	while (!pid && (de = readdir(d))) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%.20s/stack", de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		buf[n > 0 ? n : 0] = 0;
		/* "[<0>] func+0x../0x.." */
		for (char *p = buf; (p = strstr(p, func)); p++)
			if (p > buf && p[-1] == ' ' && p[strlen(func)] == '+') {
				pid = atoi(de->d_name);
				break;
			}
	}
	closedir(d);
	return pid;
}

/*
 * Print the kernel stack of every task (threads included) whose stack
 * names one of the words of @words (space-separated: "usb hid"): what a
 * test shows when something it waits for does not happen.
 */
static inline void tcr_dump_stacks(const char *words)
{
	char path[300], buf[4096], w[64];
	struct dirent *de, *te;
	const char *q;
	ssize_t n;
	DIR *d, *td;
	int fd;

	d = opendir("/proc");
	if (!d)
		return;
	while ((de = readdir(d))) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%.20s/task", de->d_name);
		td = opendir(path);
		if (!td)
			continue;
		while ((te = readdir(td))) {
			if (te->d_name[0] < '1' || te->d_name[0] > '9')
				continue;
			snprintf(path, sizeof(path), "/proc/%.20s/task/%.20s/stack",
				 de->d_name, te->d_name);
			fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				continue;
			n = read(fd, buf, sizeof(buf) - 1);
			close(fd);
			buf[n > 0 ? n : 0] = 0;
			for (q = words; sscanf(q, "%63s", w) == 1;
			     q = strchr(q, ' ') ? strchr(q, ' ') + 1 : "") {
				if (strstr(buf, w)) {
					ksft_print_msg("task %s/%s:\n%s",
						       de->d_name, te->d_name,
						       buf);
					break;
				}
			}
		}
		closedir(td);
	}
	closedir(d);
}

/*
 * Load a word of a mapping: 0 and the word in *@val, or -1 if the load
 * raised SIGBUS.
 */
static sigjmp_buf tcr_touch_jmp;

static inline void tcr_touch_sigbus(int sig)
{
	siglongjmp(tcr_touch_jmp, 1);
}

static inline int tcr_touch(const __u32 *p, __u32 *val)
{
	struct sigaction sa = { .sa_handler = tcr_touch_sigbus }, old;
	int ret = 0;

	sigaction(SIGBUS, &sa, &old);
	if (!sigsetjmp(tcr_touch_jmp, 1))
		*val = tcr_load(*p);
	else
		ret = -1;
	sigaction(SIGBUS, &old, NULL);
	return ret;
}

/* A thread that sleeps in the driver one way (@kind), for the revoke cases. */
struct tcr_waiter {
	pthread_t th;	/* tcr_waiter_start() */
	int fd;
	int kind;
	size_t len;	/* of a TCR_W_READ; 0: 8 bytes; at most 1024 */
	ssize_t ret;
	int err;
	short revents;
	int done;	/* set when the call returned */
};

enum { TCR_W_READ, TCR_W_SLEEP, TCR_W_POLL, TCR_W_EPOLL, TCR_W_NR };

static inline void *tcr_waiter_fn(void *arg)
{
	struct tcr_waiter *w = arg;
	struct pollfd pfd = { .fd = w->fd, .events = POLLIN };
	struct epoll_event ev = { .events = EPOLLIN };
	__u32 ms = 60000;
	char buf[1024];
	size_t len = w->len && w->len <= sizeof(buf) ? w->len : 8;
	int ep;

	switch (w->kind) {
	case TCR_W_READ:
		w->ret = read(w->fd, buf, len);
		break;
	case TCR_W_SLEEP:
		w->ret = ioctl(w->fd, TCR_IOC_SLEEP, &ms);
		break;
	case TCR_W_POLL:
		w->ret = poll(&pfd, 1, 60000);
		w->revents = pfd.revents;
		break;
	case TCR_W_EPOLL:
		ep = epoll_create1(0);
		epoll_ctl(ep, EPOLL_CTL_ADD, w->fd, &ev);
		w->ret = epoll_wait(ep, &ev, 1, 60000);
		w->revents = ev.events;
		close(ep);
		break;
	}
	w->err = errno;
	tcr_store(w->done, 1);
	return NULL;
}

/* A waiter of @kind on @fd in a thread of its own. */
static inline int tcr_waiter_start(struct tcr_waiter *w, int fd, int kind,
				   size_t len)
{
	memset(w, 0, sizeof(*w));
	w->fd = fd;
	w->kind = kind;
	w->len = len;
	return pthread_create(&w->th, NULL, tcr_waiter_fn, w);
}

/* Whether the waiter's call returned within @ms. */
static inline int tcr_waiter_wait(struct tcr_waiter *w, long ms)
{
	long end = now_ms() + ms;

	while (!tcr_load(w->done) && now_ms() < end)
		usleep(5000);
	return tcr_load(w->done);
}

/*
 * USB devices on the VM's qemu-xhci (scripts/vm-run.sh): plugged at a port
 * with QMP device_add and unplugged with device_del (a cable pull: QEMU's
 * DEVICE_DELETED comes at once, the guest then handles the port's
 * disconnect), through tcr_hotplug().
 */
#define TCR_USBDEVS		"/sys/bus/usb/devices/"
/*
 * The guest handles the disconnect.  A control transfer in flight (a hidraw
 * write: SET_REPORT on ep0) waits for its 5 s timeout first: QEMU drops the
 * transfers of a device it detaches; seen up to 19 s under load.
 */
#define TCR_USB_GONE_MS		30000
#define TCR_USB_BIND_MS		60000	/* enumeration, then the probe */

struct tcr_usb {
	const char *qdev;	/* QEMU device: "usb-kbd" */
	int port;		/* of xhci0.0 */
	long vid, pid;		/* its idVendor, idProduct */
	char id[16];		/* QMP id: "kbd3" */
	char dev[32];		/* guest name: "1-3" */
	char intf[48];		/* its first interface: "1-3:1.0" */
	char dev_path[256];	/* the device's real sysfs directory */
};

/* The hexadecimal number in sysfs @path ("0627"), or -1. */
static inline long tcr_read_hex(const char *path)
{
	char buf[32] = "";
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return -1;
	if (read(fd, buf, sizeof(buf) - 1) < 0)
		buf[0] = 0;
	close(fd);
	return buf[0] ? strtol(buf, NULL, 16) : -1;
}

/*
 * The sysfs name ("1-3") of the USB device @vid:@pid plugged into root hub
 * port @port (its devpath is "@port"), or at any port if @port is 0: 0, or
 * -1 if there is none.
 */
static inline int tcr_usb_find(long vid, long pid, int port, char *name,
			       size_t len)
{
	char path[300];
	struct dirent *de;
	DIR *d = opendir(TCR_USBDEVS);
	int ret = -1;

	if (!d)
		return -1;
	while (ret && (de = readdir(d))) {
		if (de->d_name[0] == '.' || strchr(de->d_name, ':'))
			continue;
		snprintf(path, sizeof(path), TCR_USBDEVS "%.200s/idVendor",
			 de->d_name);
		if (tcr_read_hex(path) != vid)
			continue;
		snprintf(path, sizeof(path), TCR_USBDEVS "%.200s/idProduct",
			 de->d_name);
		if (tcr_read_hex(path) != pid)
			continue;
		snprintf(path, sizeof(path), TCR_USBDEVS "%.200s/devpath",
			 de->d_name);
		if (port && read_long(path) != port)
			continue;
		snprintf(name, len, "%.31s", de->d_name);
		ret = 0;
	}
	closedir(d);
	return ret;
}

/* Wait up to @ms until @path is gone: 0 or -ETIMEDOUT. */
static inline int tcr_wait_gone(const char *path, long ms)
{
	long end = now_ms() + ms;

	while (!access(path, F_OK)) {
		if (now_ms() > end)
			return -ETIMEDOUT;
		usleep(20000);
	}
	return 0;
}

/*
 * Plug @u->qdev at @u->port and wait until the guest has enumerated it and
 * a driver is bound to its first interface: 0 or -errno.
 */
static inline int tcr_usb_plug(struct tcr_usb *u)
{
	char op[128], path[300];
	long end;
	int ret;

	/* "usb-kbd" at port 3: "kbd3" */
	snprintf(u->id, sizeof(u->id), "%.8s%d", u->qdev + 4, u->port);
	snprintf(op, sizeof(op), "add %s %s xhci0.0 port=%d", u->id, u->qdev,
		 u->port);
	ret = tcr_hotplug(op);
	if (ret)
		return ret;
	end = now_ms() + TCR_USB_BIND_MS;
	do {
		if (!tcr_usb_find(u->vid, u->pid, u->port, u->dev,
				  sizeof(u->dev))) {
			snprintf(u->intf, sizeof(u->intf), "%s:1.0", u->dev);
			snprintf(path, sizeof(path), TCR_USBDEVS "%s", u->dev);
			snprintf(op, sizeof(op), TCR_USBDEVS "%s/driver",
				 u->intf);
			if (realpath(path, u->dev_path) && !access(op, F_OK))
				return 0;
		}
		usleep(20000);
	} while (now_ms() < end);
	/* a plug succeeds or leaves nothing behind */
	snprintf(op, sizeof(op), "del %s", u->id);
	tcr_hotplug(op);
	return -ETIMEDOUT;
}

/*
 * Unplug @u and wait until the guest has removed it: 0 or -errno.  The
 * bus's links go before the drivers' disconnect runs, the device's own
 * directory only after it.
 */
static inline int tcr_usb_unplug(struct tcr_usb *u)
{
	char op[64];
	int ret;

	snprintf(op, sizeof(op), "del %s", u->id);
	ret = tcr_hotplug(op);
	return ret ? ret : tcr_wait_gone(u->dev_path, TCR_USB_GONE_MS);
}

/*
 * Press and release key @qcode (QEMU's name: "a", "shift") on the active
 * keyboard, a USB keyboard once it is plugged: two input reports.
 */
static inline int tcr_usb_key(const char *qcode)
{
	char op[64];

	snprintf(op, sizeof(op), "key %s", qcode);
	return tcr_hotplug(op);
}

/* Press (@down) or release key @qcode: one input report. */
static inline int tcr_usb_key_state(const char *qcode, bool down)
{
	char op[64];

	snprintf(op, sizeof(op), "key %s %s", qcode, down ? "down" : "up");
	return tcr_hotplug(op);
}

/*
 * The name of the first entry of the sysfs directory @dir that starts with
 * @prefix (a class device: "hiddev" in .../usbmisc): 0, or -1 if none.
 */
static inline int tcr_class_dev(const char *dir, const char *prefix,
				char *name, size_t len)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int ret = -1;

	if (!d)
		return -1;
	while (ret && (de = readdir(d))) {
		if (!strncmp(de->d_name, prefix, strlen(prefix))) {
			snprintf(name, len, "%.40s", de->d_name);
			ret = 0;
		}
	}
	closedir(d);
	return ret;
}

/*
 * HID devices for the hidraw tests.  A provider makes a HID device appear
 * (plug) and disappear (unplug); its hidraw node is found by the device's
 * name.  The uhid provider is a child process that owns /dev/uhid and
 * creates the device with UHID_CREATE2 (a vendor page: a 4-byte input, a
 * 2-byte output and a 2-byte feature report, no report ids); the test
 * drives it through a socket (struct tcr_uhid_cmd) and it answers each
 * command with its counters (struct tcr_uhid_stat) once it is done.  A
 * second provider (a USB HID device plugged through QMP) can fill the same
 * struct tcr_hid.
 */
#define TCR_HID_VENDOR		0x7c7c
#define TCR_HID_PRODUCT		0x0001
#define TCR_HID_FEATURE		{ 0x00, 0xab, 0xcd }	/* GET_REPORT answer */
#define TCR_HID_RDESC_SIZE	33

enum tcr_uhid_op {
	TCR_UHID_CREATE = 1,	/* UHID_CREATE2 */
	TCR_UHID_DESTROY,	/* UHID_DESTROY */
	TCR_UHID_CLOSE,		/* close /dev/uhid */
	TCR_UHID_INPUT,		/* UHID_INPUT2 of cmd.data (4 bytes) */
	TCR_UHID_MUTE,		/* from now on, leave UHID_GET_REPORT unanswered */
	TCR_UHID_FLOOD,		/* from now on, UHID_INPUT2 as fast as it can */
	TCR_UHID_STAT,		/* only the counters */
};

struct tcr_uhid_cmd {
	int op;
	char name[64];
	__u8 data[4];
};

/* What the provider saw from the kernel, and the last command's result. */
struct tcr_uhid_stat {
	int ret;		/* 0 or -errno of the last command */
	int starts, stops, opens, closes, outputs, get_reports;
	int seq_close, seq_stop;	/* event number of the last CLOSE, STOP */
	int events;
	long inputs;		/* UHID_INPUT2 of the flood */
	__u8 output[8];		/* the last UHID_OUTPUT's data */
	int output_size;
};

struct tcr_hid {
	pid_t pid;		/* the provider process */
	int sock;		/* its command socket */
	char name[64];		/* HID_NAME of the device */
	char node[64];		/* /dev/hidrawN */
	int minor;		/* N */
	int bus;		/* what HIDIOCGRAWINFO gives */
	__u16 vendor, product;
	int rdesc_size;		/* what HIDIOCGRDESCSIZE gives */
	struct tcr_usb usb;	/* a USB provider: the device */
};

static inline void tcr_uhid_event(int ufd, struct tcr_uhid_stat *st, bool mute)
{
	static const __u8 feature[] = TCR_HID_FEATURE;
	struct uhid_event ev, rep;

	if (read(ufd, &ev, sizeof(ev)) <= 0)
		return;
	st->events++;
	switch (ev.type) {
	case UHID_START:
		st->starts++;
		break;
	case UHID_STOP:
		st->stops++;
		st->seq_stop = st->events;
		break;
	case UHID_OPEN:
		st->opens++;
		break;
	case UHID_CLOSE:
		st->closes++;
		st->seq_close = st->events;
		break;
	case UHID_OUTPUT:
		st->outputs++;
		st->output_size = ev.u.output.size;
		memcpy(st->output, ev.u.output.data, sizeof(st->output));
		break;
	case UHID_GET_REPORT:
		st->get_reports++;
		if (mute)
			break;
		memset(&rep, 0, sizeof(rep));
		rep.type = UHID_GET_REPORT_REPLY;
		rep.u.get_report_reply.id = ev.u.get_report.id;
		rep.u.get_report_reply.size = sizeof(feature);
		memcpy(rep.u.get_report_reply.data, feature, sizeof(feature));
		if (write(ufd, &rep, sizeof(rep)) < 0)
			st->ret = -errno;
		break;
	case UHID_SET_REPORT:
		memset(&rep, 0, sizeof(rep));
		rep.type = UHID_SET_REPORT_REPLY;
		rep.u.set_report_reply.id = ev.u.set_report.id;
		if (write(ufd, &rep, sizeof(rep)) < 0)
			st->ret = -errno;
		break;
	}
}

static inline int tcr_uhid_do(int *ufd, const struct tcr_uhid_cmd *c)
{
	static const __u8 rdesc[] = {
		0x06, 0x00, 0xff,	/* Usage Page (Vendor 0xff00) */
		0x09, 0x01,		/* Usage (1) */
		0xa1, 0x01,		/* Collection (Application) */
		0x15, 0x00,		/*   Logical Minimum (0) */
		0x26, 0xff, 0x00,	/*   Logical Maximum (255) */
		0x75, 0x08,		/*   Report Size (8) */
		0x95, 0x04,		/*   Report Count (4) */
		0x09, 0x02,		/*   Usage (2) */
		0x81, 0x02,		/*   Input (Data,Var,Abs) */
		0x95, 0x02,		/*   Report Count (2) */
		0x09, 0x03,		/*   Usage (3) */
		0x91, 0x02,		/*   Output (Data,Var,Abs) */
		0x95, 0x02,		/*   Report Count (2) */
		0x09, 0x04,		/*   Usage (4) */
		0xb1, 0x02,		/*   Feature (Data,Var,Abs) */
		0xc0,			/* End Collection */
	};
	struct uhid_event ev;

	static_assert(sizeof(rdesc) == TCR_HID_RDESC_SIZE, "rdesc size");
	memset(&ev, 0, sizeof(ev));
	switch (c->op) {
	case TCR_UHID_CREATE:
		ev.type = UHID_CREATE2;
		snprintf((char *)ev.u.create2.name, sizeof(ev.u.create2.name),
			 "%s", c->name);
		snprintf((char *)ev.u.create2.uniq, sizeof(ev.u.create2.uniq),
			 "%s", c->name);
		ev.u.create2.rd_size = sizeof(rdesc);
		memcpy(ev.u.create2.rd_data, rdesc, sizeof(rdesc));
		ev.u.create2.bus = BUS_VIRTUAL;
		ev.u.create2.vendor = TCR_HID_VENDOR;
		ev.u.create2.product = TCR_HID_PRODUCT;
		break;
	case TCR_UHID_DESTROY:
		ev.type = UHID_DESTROY;
		break;
	case TCR_UHID_CLOSE:
		close(*ufd);
		*ufd = -1;
		return 0;
	case TCR_UHID_INPUT:
		ev.type = UHID_INPUT2;
		ev.u.input2.size = sizeof(c->data);
		memcpy(ev.u.input2.data, c->data, sizeof(c->data));
		break;
	default:
		return 0;
	}
	return write(*ufd, &ev, sizeof(ev)) < 0 ? -errno : 0;
}

/* The provider process: serves the kernel's events and the test's commands. */
static inline void tcr_uhid_child(int sock)
{
	struct tcr_uhid_stat st = { 0 };
	struct tcr_uhid_cmd c;
	bool mute = false, flood = false;
	int ufd, fd;

	/* no file of the test (a hidraw node) held here */
	for (fd = 3; fd < 1024; fd++)
		if (fd != sock)
			close(fd);
	ufd = open("/dev/uhid", O_RDWR | O_CLOEXEC);
	if (ufd < 0)
		_exit(2);
	for (;;) {
		struct pollfd p[2] = {
			{ .fd = sock, .events = POLLIN },
			{ .fd = ufd, .events = POLLIN },
		};

		if (flood && ufd >= 0) {
			struct tcr_uhid_cmd in = { .op = TCR_UHID_INPUT };

			memcpy(in.data, &st.inputs, sizeof(in.data));
			if (!tcr_uhid_do(&ufd, &in))
				st.inputs++;
			else
				flood = false;	/* the device is gone */
		}
		if (poll(p, ufd >= 0 ? 2 : 1, flood ? 0 : -1) < 0)
			continue;
		if (p[1].revents & POLLIN)
			tcr_uhid_event(ufd, &st, mute);
		if (!(p[0].revents & (POLLIN | POLLHUP)))
			continue;
		if (read(sock, &c, sizeof(c)) != sizeof(c))
			_exit(0);
		if (c.op == TCR_UHID_MUTE)
			mute = true;
		if (c.op == TCR_UHID_FLOOD)
			flood = true;
		/*
		 * UHID_DESTROY sleeps until hidraw has let go of the device:
		 * the kernel's events queued meanwhile are read afterwards.
		 */
		st.ret = tcr_uhid_do(&ufd, &c);
		while (ufd >= 0) {
			struct pollfd q = { .fd = ufd, .events = POLLIN };

			if (poll(&q, 1, 0) <= 0 || !(q.revents & POLLIN))
				break;
			tcr_uhid_event(ufd, &st, mute);
		}
		if (write(sock, &st, sizeof(st)) != sizeof(st))
			_exit(0);
	}
}

/* Send @op to the provider and wait for its counters: 0 or -errno. */
static inline int tcr_uhid_cmd(struct tcr_hid *h, int op, const __u8 *data,
			       struct tcr_uhid_stat *st)
{
	struct tcr_uhid_cmd c = { .op = op };
	struct tcr_uhid_stat tmp;
	struct pollfd p = { .fd = h->sock, .events = POLLIN };

	snprintf(c.name, sizeof(c.name), "%s", h->name);
	if (data)
		memcpy(c.data, data, sizeof(c.data));
	if (write(h->sock, &c, sizeof(c)) != sizeof(c))
		return -EPIPE;
	if (poll(&p, 1, 20000) != 1 ||
	    read(h->sock, st ? st : &tmp, sizeof(tmp)) != sizeof(tmp))
		return -ETIMEDOUT;
	return st ? st->ret : tmp.ret;
}

/* hidraw's minor of the HID device named @name, or -1. */
static inline int tcr_hidraw_find(const char *name)
{
	char path[300], buf[1024], want[200];
	struct dirent *de;
	int fd, minor = -1;
	ssize_t n;
	DIR *d = opendir("/sys/class/hidraw");

	if (!d)
		return -1;
	snprintf(want, sizeof(want), "HID_NAME=%s\n", name);
	while (minor < 0 && (de = readdir(d))) {
		if (strncmp(de->d_name, "hidraw", 6))
			continue;
		snprintf(path, sizeof(path), "/sys/class/hidraw/%.60s/device/uevent",
			 de->d_name);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		buf[n > 0 ? n : 0] = 0;
		if (strstr(buf, want))
			minor = atoi(de->d_name + 6);
	}
	closedir(d);
	return minor;
}

/* Wait up to @ms for hidraw node of @h->name: 0 or -ETIMEDOUT. */
static inline int tcr_hidraw_wait(struct tcr_hid *h, long ms)
{
	long end = now_ms() + ms;

	do {
		h->minor = tcr_hidraw_find(h->name);
		snprintf(h->node, sizeof(h->node), "/dev/hidraw%d", h->minor);
		if (h->minor >= 0 && !access(h->node, F_OK))
			return 0;
		usleep(10000);
	} while (now_ms() < end);
	return -ETIMEDOUT;
}

/* Start a uhid provider and create its device @name: 0 or -errno. */
static inline int tcr_uhid_plug(struct tcr_hid *h, const char *name)
{
	int sv[2], ret;

	memset(h, 0, sizeof(*h));
	h->minor = -1;
	h->bus = BUS_VIRTUAL;
	h->vendor = TCR_HID_VENDOR;
	h->product = TCR_HID_PRODUCT;
	h->rdesc_size = TCR_HID_RDESC_SIZE;
	snprintf(h->name, sizeof(h->name), "%s", name);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		return -errno;
	h->pid = fork();
	if (h->pid < 0)
		return -errno;
	if (!h->pid) {
		close(sv[0]);
		tcr_uhid_child(sv[1]);
		_exit(0);
	}
	close(sv[1]);
	h->sock = sv[0];
	ret = tcr_uhid_cmd(h, TCR_UHID_CREATE, NULL, NULL);
	return ret ? ret : tcr_hidraw_wait(h, 10000);
}

/* End the provider process (SIGKILL if it is still there). */
static inline void tcr_uhid_reap(struct tcr_hid *h)
{
	if (h->pid > 0) {
		close(h->sock);
		kill(h->pid, SIGKILL);
		waitpid(h->pid, NULL, 0);
		h->pid = 0;
	}
}

/* Wait up to @ms for the node of @h to be gone: 0 or -ETIMEDOUT. */
static inline int tcr_hidraw_gone(struct tcr_hid *h, long ms)
{
	long end = now_ms() + ms;

	while (tcr_hidraw_find(h->name) >= 0 || !access(h->node, F_OK)) {
		if (now_ms() > end)
			return -ETIMEDOUT;
		usleep(10000);
	}
	return 0;
}

/*
 * The USB provider: plug @h->usb (qdev, port, vid and pid set), bound by
 * usbhid, and fill @h from its HID device (the first one on its first
 * interface): 0 or -errno.
 */
static inline int tcr_usb_hid_plug(struct tcr_hid *h)
{
	char dir[300], hid[64], buf[1024], rdesc[4096];
	int fd = -1, rfd = -1, ret;
	long end;
	ssize_t n;

	h->pid = 0;
	h->minor = -1;
	h->name[0] = 0;
	ret = tcr_usb_plug(&h->usb);
	if (ret)
		return ret;
	/* the HID device usbhid adds, with its attributes */
	end = now_ms() + TCR_USB_BIND_MS;
	for (;;) {
		snprintf(dir, sizeof(dir), TCR_USBDEVS "%s", h->usb.intf);
		if (!tcr_class_dev(dir, "0003:", hid, sizeof(hid))) {
			snprintf(dir, sizeof(dir), TCR_USBDEVS "%s/%s/uevent",
				 h->usb.intf, hid);
			fd = open(dir, O_RDONLY);
			snprintf(dir, sizeof(dir),
				 TCR_USBDEVS "%s/%s/report_descriptor",
				 h->usb.intf, hid);
			rfd = open(dir, O_RDONLY);
			if (fd >= 0 && rfd >= 0)
				break;
			if (fd >= 0)
				close(fd);
			if (rfd >= 0)
				close(rfd);
		}
		if (now_ms() > end) {
			tcr_usb_unplug(&h->usb);
			return -ETIMEDOUT;
		}
		usleep(20000);
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	/* the report descriptor's size is that of its sysfs file */
	h->rdesc_size = read(rfd, rdesc, sizeof(rdesc));
	close(rfd);
	h->bus = BUS_USB;
	h->vendor = h->usb.vid;
	h->product = h->usb.pid;
	if (!strstr(buf, "HID_NAME=") ||
	    sscanf(strstr(buf, "HID_NAME=") + 9, "%63[^\n]", h->name) != 1)
		ret = -EINVAL;
	else
		ret = tcr_hidraw_wait(h, TCR_USB_BIND_MS);
	if (ret)
		tcr_usb_unplug(&h->usb);
	return ret;
}

/* Unplug the USB provider's device; returns once it is gone: 0 or -errno. */
static inline int tcr_usb_hid_unplug(struct tcr_hid *h)
{
	int ret = tcr_usb_unplug(&h->usb);

	return ret ? ret : tcr_hidraw_gone(h, TCR_USB_GONE_MS);
}

/*
 * The usbfs node (/dev/bus/usb/BBB/DDD) of the USB device named @name in
 * sysfs: 0, or -1 if it has none (gone).
 */
static inline int tcr_usbfs_node(const char *name, char *node, size_t len)
{
	char path[300];
	long bus, dev;

	snprintf(path, sizeof(path), TCR_USBDEVS "%.200s/busnum", name);
	bus = read_long(path);
	snprintf(path, sizeof(path), TCR_USBDEVS "%.200s/devnum", name);
	dev = read_long(path);
	if (bus <= 0 || dev <= 0)
		return -1;
	snprintf(node, len, "/dev/bus/usb/%03ld/%03ld", bus, dev);
	return 0;
}

/*
 * USB devices the tests plug into the VM's qemu-xhci (tcr_hotplug()) and
 * bind to a class driver through its new_id file.
 */
#define TCR_USBDRVS	"/sys/bus/usb/drivers/"

/* Whether the file or directory @path exists. */
static inline bool tcr_present(const char *path)
{
	return !access(path, F_OK);
}

/*
 * The node /dev/@devdir@prefixN of the usb_register_dev() minor on the
 * interface @intf ("1-3:1.0"), from its usbmisc class device: 0, or -1 if
 * it has none (no class driver bound).
 */
static inline int tcr_usb_node(const char *intf, const char *prefix,
			       const char *devdir, char *node, size_t len)
{
	char path[300];
	struct dirent *de;
	int ret = -1;
	DIR *d;

	snprintf(path, sizeof(path), TCR_USBDEVS "%.100s/usbmisc", intf);
	d = opendir(path);
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		if (!strncmp(de->d_name, prefix, strlen(prefix))) {
			snprintf(node, len, "%s%.40s", devdir, de->d_name);
			ret = 0;
			break;
		}
	}
	closedir(d);
	return ret;
}

/*
 * Whether the dynamic ids of the USB driver @drv include @ids ("0403
 * 6001"): each write to its new_id adds one more, each write to remove_id
 * removes one.
 */
static inline bool tcr_usb_has_id(const char *drv, const char *ids)
{
	char path[128], buf[512] = "";
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), TCR_USBDRVS "%s/new_id", drv);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	return strstr(buf, ids);
}

/* The reference count of the module @mod, or -1 if it is not loaded. */
static inline long tcr_mod_refcnt(const char *mod)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/module/%s/refcnt", mod);
	return read_long(path);
}

/*
 * The errors of a USB transfer that an unplug cut before the revocation
 * began (usbcore's flush of the endpoints, ESHUTDOWN; a timeout; the host
 * controller's report of a gone device): what a call in flight returns.
 */
static inline bool tcr_usb_cut(int err)
{
	return err == ESHUTDOWN || err == ETIMEDOUT || err == EPROTO ||
	       err == EPIPE || err == EILSEQ || err == ENOENT ||
	       err == ECONNRESET || err == EOVERFLOW;
}

/*
 * The cycles of a stress case: $TCR_CYCLES / @div (make stress sets
 * TCR_CYCLES), else @dflt; at least one.
 */
static inline int tcr_cycles(int div, int dflt)
{
	const char *c = getenv("TCR_CYCLES");
	int n = c ? atoi(c) / div : dflt;

	return n > 0 ? n : 1;
}

/*
 * A thread that opens a node in a loop while its device comes and goes
 * (tcr_opener_fn): each open succeeds (and the file is closed at once),
 * fails with EBUSY (a driver with one open file at a time), or as an
 * unplugged device's open does (ENOENT: the node is gone; ENXIO, ENODEV:
 * the device is being revoked); anything else is "other".
 */
struct tcr_opener {
	char node[64];
	int stop;
	long ok, ebusy, gone, other;
	int last_err;
};

static inline void *tcr_opener_fn(void *arg)
{
	struct tcr_opener *o = arg;
	int fd;

	while (!tcr_load(o->stop)) {
		fd = open(o->node, O_RDWR | O_CLOEXEC);
		if (fd >= 0) {
			o->ok++;
			close(fd);
		} else if (errno == EBUSY) {
			o->ebusy++;
		} else if (errno == ENOENT || errno == ENXIO ||
			   errno == ENODEV) {
			o->gone++;
		} else {
			o->other++;
			o->last_err = errno;
		}
		usleep(20000);
	}
	return NULL;
}

/*
 * A thread that polls a file for POLLIN in a loop (tcr_poller_fn) until the
 * hang-up (POLLERR | POLLHUP: @hup) or @stop; @ready counts the polls that
 * returned another event, @other a failed poll.
 */
struct tcr_poller {
	int fd;
	int stop;
	long ready, hup, other;
};

static inline void *tcr_poller_fn(void *arg)
{
	struct tcr_poller *p = arg;
	struct pollfd pfd = { .fd = p->fd, .events = POLLIN };

	while (!tcr_load(p->stop)) {
		if (poll(&pfd, 1, 1000) < 0) {
			p->other++;
			break;
		}
		if ((pfd.revents & (POLLERR | POLLHUP)) == (POLLERR | POLLHUP)) {
			p->hup++;
			break;
		}
		if (pfd.revents)
			p->ready++;
		usleep(10000);
	}
	return NULL;
}

#endif /* CDEV_REVOKE_SELFTEST_UTIL_H */
