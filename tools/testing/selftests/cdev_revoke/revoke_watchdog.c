// SPDX-License-Identifier: GPL-2.0
/*
 * The watchdog core on cdev_revoke: /dev/watchdog0 (a cdev) and /dev/watchdog
 * (the misc device of watchdog 0) of QEMU's i6300esb, held open and used by
 * a keep-alive loop, ioctls, io_uring and wdctl (util-linux) while the PCI
 * device is unbound from i6300esb and bound again.  QEMU runs with
 * "-action watchdog=none": a watchdog that fires only resets the i6300esb,
 * whose next probe reports it as bootstatus WDIOF_CARDRESET (and QEMU sends
 * the QMP event WATCHDOG, which scripts/qmp-hotplug.py logs).
 *
 * Stock 6.12 NULLs wd_data->wdd under wd_data->lock at unregister and tests
 * it in write, ioctl and release: held files get ENODEV, and their release
 * drops the file's references without looking at its magic close state.
 * The conversion keeps all of that (these cases pass on both) and drops
 * the tests; what changes is that each held file is released at the
 * unregister (its module reference on the driver is dropped then, not at
 * the last close), and that open runs inside the fence: stock's open tests
 * nothing and can race with the unregister.
 *
 * The "stock" variant loads the stock watchdog.ko (watchdog_core.c and
 * watchdog_dev.c of the base commit, built by scripts/vm-test.sh through
 * scripts/stock-module.sh) in place of the converted one and asserts the
 * stock behaviour.  Its open race case runs only with TCR_WDT_STOCK_RACE=1:
 * if it hits, it oopses.
 *
 * Environment: TCR_KO (test_cdev_revoke.ko: drivers/watchdog/watchdog.ko,
 * drivers/watchdog/i6300esb.ko and ../watchdog-stock/watchdog.ko are found
 * relative to it), TCR_HOTPLUG (the results share, for qmp-hotplug.log),
 * TCR_CYCLES (unbind/bind cycles of the race times 10; default 200: 20),
 * TCR_WDT_RACE, TCR_WDT_BIND_RACE, TCR_WDT_STOCK_RACE (see open_race).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <linux/watchdog.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "util.h"

#define ESB_DRV		"/sys/bus/pci/drivers/i6300ESB timer/"
#define WDT_SYS		"/sys/class/watchdog/watchdog0/"
#define WDT_NODE	"/dev/watchdog0"
#define WDT_MISC	"/dev/watchdog"
#define CORE_KO		"../drivers/watchdog/watchdog.ko"
#define STOCK_KO	"../../watchdog-stock/watchdog.ko"
#define ESB_KO		"../drivers/watchdog/i6300esb.ko"
#define HEARTBEAT	2	/* s: the i6300esb fires ~2 s after a ping */
#define ESB_PARAMS	"heartbeat=2"
#define FIRE_WAIT_US	3500000	/* long enough for it to fire */

FIXTURE(wdt) {
	char addr[256];		/* PCI name of the i6300esb */
	bool stock;
	long esb_refs;		/* module refcounts with no file open */
	long core_refs;
	int kmsg;		/* /dev/kmsg, read from the end */
};

TCR_STOCK_VARIANTS(wdt);

static int esb_bound(void)
{
	return !access(WDT_SYS, F_OK) && !access(WDT_NODE, F_OK) &&
	       !access(WDT_MISC, F_OK);
}

/* Wait up to 10 s for watchdog0 and both nodes: 0 or -1. */
static int esb_wait(void)
{
	int i;

	for (i = 0; i < 1000; i++) {
		if (esb_bound())
			return 0;
		usleep(10000);
	}
	return -1;
}

static int esb_unbind(struct _test_data_wdt *self)
{
	return write_str(ESB_DRV "unbind", self->addr);
}

static int esb_bind(struct _test_data_wdt *self)
{
	int ret = write_str(ESB_DRV "bind", self->addr);

	return ret ? ret : esb_wait();
}

/*
 * Load the watchdog core asked for (the stock one if @stock) and i6300esb
 * with @params, bound: 0 or -errno.
 */
static int esb_load(struct _test_data_wdt *self, bool stock,
		    const char *params)
{
	int ret;

	tcr_rmmod("i6300esb");
	ret = tcr_load_kind("watchdog", CORE_KO, STOCK_KO, stock);
	if (ret)
		return ret;
	ret = tcr_load_module_at(ESB_KO, params);
	if (ret)
		return ret;
	if (!esb_bound() && access(ESB_DRV "unbind", F_OK) == 0) {
		char path[400];

		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver",
			 self->addr);
		if (access(path, F_OK))
			write_str(ESB_DRV "bind", self->addr);
	}
	return esb_wait() ? -ENODEV : 0;
}

FIXTURE_SETUP(wdt)
{
	char *addr = tcr_pci_address(0x8086, 0x25ab);
	char path[512];
	const char *ko = getenv("TCR_KO");
	int ret;

	self->kmsg = -1;
	self->stock = variant->stock;
	if (!addr)
		SKIP(return, "no i6300esb PCI device (-device i6300esb)");
	snprintf(self->addr, sizeof(self->addr), "%s", addr);
	snprintf(path, sizeof(path), "%.*s/" STOCK_KO,
		 ko && strrchr(ko, '/') ? (int)(strrchr(ko, '/') - ko) : 1,
		 ko ? ko : ".");
	if (self->stock && access(path, R_OK))
		SKIP(return, "no stock watchdog.ko (%s)", path);
	ret = esb_load(self, self->stock, ESB_PARAMS);
	ASSERT_EQ(0, ret) TH_LOG("load the watchdog modules: %s",
				 strerror(-ret));
	ASSERT_EQ(self->stock, tcr_module_stock("watchdog"));
	self->esb_refs = read_long("/sys/module/i6300esb/refcnt");
	self->core_refs = read_long("/sys/module/watchdog/refcnt");
	ASSERT_LE(0, self->esb_refs);
	EXPECT_EQ(0, read_long(WDT_SYS "bootstatus"));
	self->kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (self->kmsg >= 0)
		lseek(self->kmsg, 0, SEEK_END);
}

FIXTURE_TEARDOWN(wdt)
{
	if (self->kmsg >= 0)
		close(self->kmsg);
	if (!self->addr[0])
		return;
	/* ours loaded and bound again for the next case */
	esb_load(self, false, ESB_PARAMS);
}

/* The kernel said @what since the fixture's setup (or the last call). */
static int kmsg_seen(struct _test_data_wdt *self, const char *what)
{
	char rec[1024];
	int seen = 0;
	ssize_t n;

	if (self->kmsg < 0)
		return -1;
	for (;;) {
		n = read(self->kmsg, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;	/* overwritten records */
		if (n <= 0)
			break;
		rec[n] = 0;
		if (strstr(rec, what))
			seen = 1;
	}
	return seen;
}

static void read_sys(const char *name, char *buf, size_t len)
{
	char path[128];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), WDT_SYS "%s", name);
	buf[0] = 0;
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return;
	n = read(fd, buf, len - 1);
	buf[n > 0 ? n : 0] = 0;
	buf[strcspn(buf, "\n")] = 0;
	close(fd);
}

/* The number of WATCHDOG events the host's QMP helper logged, or -1. */
static int qmp_watchdog_events(void)
{
	const char *dir = getenv("TCR_HOTPLUG");
	char path[400], line[512];
	int n = 0;
	FILE *f;

	if (!dir)
		return -1;
	snprintf(path, sizeof(path), "%.300s/qmp-hotplug.log", dir);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		n += !!strstr(line, "event WATCHDOG");
	fclose(f);
	return n;
}

static int wdt_write(int fd, const char *s)
{
	ssize_t n = write(fd, s, strlen(s));

	return n < 0 ? -errno : (int)n;
}

/* A keep-alive loop (a write every 100 ms) on @fd, in a thread. */
struct keepalive {
	pthread_t th;
	int fd;
	int stop;
	long ok;
	int err;	/* the first error */
	long err_ms;	/* when */
};

static void *keepalive_fn(void *arg)
{
	struct keepalive *k = arg;
	int ret;

	while (!tcr_load(k->stop)) {
		ret = wdt_write(k->fd, ".");
		if (ret < 0) {
			k->err = ret;
			k->err_ms = now_ms();
			break;
		}
		k->ok++;
		usleep(100000);
	}
	return NULL;
}

/*
 * The keep-alive loop across the unbind: its write fails with ENODEV; the
 * released file printed nothing ("watchdog did not stop!" would be its
 * magic close processing) and the watchdog, stopped by the unregister
 * (i6300esb sets WDOG_STOP_ON_UNREGISTER), did not fire.
 */
TEST_F_TIMEOUT(wdt, keepalive_unbind, 60)
{
	struct keepalive k = { .fd = open(WDT_NODE, O_WRONLY | O_CLOEXEC) };
	char state[32];
	long t0;

	ASSERT_LE(0, k.fd);
	read_sys("state", state, sizeof(state));
	EXPECT_STREQ("active", state);
	ASSERT_EQ(0, pthread_create(&k.th, NULL, keepalive_fn, &k));
	usleep(500000);
	t0 = now_ms();
	ASSERT_EQ(0, esb_unbind(self));
	TH_LOG("unbind with the keep-alive loop running: %ld ms",
	       now_ms() - t0);
	pthread_join(k.th, NULL);
	TH_LOG("keep-alive: %ld writes, then %s %ld ms after the unbind began",
	       k.ok, strerror(-k.err), k.err_ms - t0);
	EXPECT_EQ(-ENODEV, k.err);
	EXPECT_LT(0, k.ok);
	EXPECT_EQ(-ENODEV, wdt_write(k.fd, "V"));
	EXPECT_EQ(0, kmsg_seen(self, "did not stop"));
	usleep(FIRE_WAIT_US);
	EXPECT_EQ(0, close(k.fd));
	EXPECT_EQ(0, kmsg_seen(self, "did not stop"));
	ASSERT_EQ(0, esb_bind(self));
	EXPECT_EQ(0, read_long(WDT_SYS "bootstatus"));
	read_sys("state", state, sizeof(state));
	EXPECT_STREQ("inactive", state);
}

/* Every ioctl of a held file fails with ENODEV after the unbind. */
TEST_F_TIMEOUT(wdt, ioctl_after_unbind, 60)
{
	struct watchdog_info info;
	int fd = open(WDT_NODE, O_WRONLY | O_CLOEXEC), val = 0;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(fd, WDIOC_KEEPALIVE, 0));
	ASSERT_EQ(0, ioctl(fd, WDIOC_GETTIMEOUT, &val));
	EXPECT_EQ(HEARTBEAT, val);
	ASSERT_EQ(0, ioctl(fd, WDIOC_GETSUPPORT, &info));
	EXPECT_STREQ("i6300ESB timer", (char *)info.identity);
	ASSERT_EQ(0, esb_unbind(self));
	EXPECT_EQ(-1, ioctl(fd, WDIOC_KEEPALIVE, 0));
	EXPECT_EQ(ENODEV, errno);
	EXPECT_EQ(-1, ioctl(fd, WDIOC_GETTIMEOUT, &val));
	EXPECT_EQ(ENODEV, errno);
	EXPECT_EQ(-1, ioctl(fd, WDIOC_GETSUPPORT, &info));
	EXPECT_EQ(ENODEV, errno);
	val = WDIOS_DISABLECARD;
	EXPECT_EQ(-1, ioctl(fd, WDIOC_SETOPTIONS, &val));
	EXPECT_EQ(ENODEV, errno);
	val = 10;
	EXPECT_EQ(-1, ioctl(fd, WDIOC_SETTIMEOUT, &val));
	EXPECT_EQ(ENODEV, errno);
	EXPECT_EQ(0, close(fd));
}

/* io_uring writes (keep-alive pings) of a held file: -ENODEV after. */
TEST_F_TIMEOUT(wdt, io_uring_write, 60)
{
	struct io_uring_cqe *cqe;
	struct io_uring ring;
	int fd = open(WDT_MISC, O_WRONLY | O_CLOEXEC), i;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, io_uring_queue_init(4, &ring, 0));
	for (i = 0; i < 2; i++) {
		if (i)
			ASSERT_EQ(0, esb_unbind(self));
		io_uring_prep_write(io_uring_get_sqe(&ring), fd, "..", 2, 0);
		ASSERT_EQ(1, io_uring_submit(&ring));
		ASSERT_EQ(0, io_uring_wait_cqe(&ring, &cqe));
		EXPECT_EQ(i ? -ENODEV : 2, cqe->res);
		io_uring_cqe_seen(&ring, cqe);
	}
	io_uring_queue_exit(&ring);
	EXPECT_EQ(0, close(fd));
}

/* Open @node, write @s and close it: 0 and the watchdog's state, or -errno. */
static int write_close(const char *node, const char *s, char *state,
		       size_t len)
{
	int fd = open(node, O_WRONLY | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return -errno;
	ret = wdt_write(fd, s);
	if (close(fd) && ret >= 0)
		ret = -errno;
	if (ret < 0)
		return ret;
	read_sys("state", state, len);
	return ret == (int)strlen(s) ? 0 : -EIO;
}

/*
 * Magic close, with the device bound: a close after 'V' stops the
 * watchdog; a close without it leaves it running ("watchdog did not
 * stop!").
 */
TEST_F_TIMEOUT(wdt, magic_close, 60)
{
	char state[32];

	ASSERT_EQ(0, write_close(WDT_NODE, "V", state, sizeof(state)));
	EXPECT_STREQ("inactive", state);
	EXPECT_EQ(0, kmsg_seen(self, "did not stop"));

	ASSERT_EQ(0, write_close(WDT_MISC, "x", state, sizeof(state)));
	EXPECT_STREQ("active", state);
	EXPECT_EQ(1, kmsg_seen(self, "watchdog0: watchdog did not stop!"));

	/* stop it: open again (the close cleared the single-open bit), 'V' */
	ASSERT_EQ(0, write_close(WDT_NODE, "V", state, sizeof(state)));
	EXPECT_STREQ("inactive", state);
}

/*
 * 'V' written, then the unbind with the file still open: the file's magic
 * close state is not acted upon (no stop, no ping, no message: the
 * unregister stopped the watchdog), the close is a no-op.
 */
TEST_F_TIMEOUT(wdt, magic_close_then_unbind, 60)
{
	char state[32];
	int fd = open(WDT_MISC, O_WRONLY | O_CLOEXEC);

	ASSERT_LE(0, fd);
	ASSERT_EQ(1, wdt_write(fd, "V"));
	ASSERT_EQ(0, esb_unbind(self));
	EXPECT_EQ(-ENODEV, wdt_write(fd, "V"));
	EXPECT_EQ(0, close(fd));
	EXPECT_EQ(0, kmsg_seen(self, "did not stop"));
	ASSERT_EQ(0, esb_bind(self));
	read_sys("state", state, sizeof(state));
	EXPECT_STREQ("inactive", state);
	EXPECT_EQ(0, read_long(WDT_SYS "bootstatus"));
}

/*
 * nowayout: the unregister cannot stop the watchdog, which fires with
 * nobody pinging it, 'V' or not; the held file is released all the same
 * (the driver unloads once the file is closed).
 */
TEST_F_TIMEOUT(wdt, nowayout_fires, 60)
{
	int fd, ev0 = qmp_watchdog_events(), ev1;

	ASSERT_EQ(0, esb_load(self, self->stock, ESB_PARAMS " nowayout=1"));
	fd = open(WDT_NODE, O_WRONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_EQ(1, wdt_write(fd, "V"));
	ASSERT_EQ(0, esb_unbind(self));
	EXPECT_EQ(-ENODEV, wdt_write(fd, "V"));
	usleep(FIRE_WAIT_US);
	EXPECT_EQ(0, close(fd));
	EXPECT_EQ(0, kmsg_seen(self, "did not stop"));
	ev1 = qmp_watchdog_events();
	TH_LOG("QMP WATCHDOG events: %d before, %d after", ev0, ev1);
	if (ev0 >= 0)
		EXPECT_LT(ev0, ev1);
	EXPECT_EQ(self->esb_refs, read_long("/sys/module/i6300esb/refcnt"));
	/* reloaded without nowayout: the probe finds the timeout flag */
	ASSERT_EQ(0, esb_load(self, self->stock,
			      ESB_PARAMS));
	EXPECT_EQ(WDIOF_CARDRESET, read_long(WDT_SYS "bootstatus"));
}

/* Run wdctl (util-linux) with @args: its exit status, its output in @out. */
static int run_wdctl(const char *args, char *out, size_t len)
{
	char cmd[256];
	size_t n = 0;
	FILE *p;
	int st;

	snprintf(cmd, sizeof(cmd), "wdctl %s 2>&1", args);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	out[0] = 0;
	while (n < len - 1 && fgets(out + n, len - n, p))
		n += strlen(out + n);
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/*
 * wdctl: reads the held watchdog (sysfs) and sets its timeout (ioctl,
 * 'V'); with the device unbound it fails cleanly; bound again it works.
 */
TEST_F_TIMEOUT(wdt, wdctl, 60)
{
	char out[2048];
	int fd, st;

	if (system("wdctl --version >/dev/null 2>&1"))
		SKIP(return, "no wdctl (util-linux)");
	st = run_wdctl(WDT_NODE, out, sizeof(out));
	EXPECT_EQ(0, st) TH_LOG("wdctl: %s", out);
	EXPECT_NE(NULL, strstr(out, "i6300ESB timer"));
	st = run_wdctl("-s 5 " WDT_NODE, out, sizeof(out));
	EXPECT_EQ(0, st) TH_LOG("wdctl -s 5: %s", out);
	EXPECT_EQ(5, read_long(WDT_SYS "timeout"));
	fd = open(WDT_NODE, O_WRONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, esb_unbind(self));
	st = run_wdctl(WDT_NODE, out, sizeof(out));
	TH_LOG("wdctl with the device unbound: exit %d: %s", st, out);
	EXPECT_EQ(1, st);
	st = run_wdctl("-s 5 " WDT_NODE, out, sizeof(out));
	EXPECT_EQ(1, st) TH_LOG("wdctl -s 5: %s", out);
	ASSERT_EQ(0, esb_bind(self));
	st = run_wdctl("-s 7 " WDT_NODE, out, sizeof(out));
	EXPECT_EQ(0, st) TH_LOG("wdctl -s 7 bound again: %s", out);
	EXPECT_EQ(7, read_long(WDT_SYS "timeout"));
	EXPECT_EQ(-ENODEV, wdt_write(fd, "V"));
	EXPECT_EQ(0, close(fd));
}

/*
 * A file held across unbind and bind: new opens of both nodes reach the
 * new device (they share its single-open bit), the stale file never does.
 */
TEST_F_TIMEOUT(wdt, rebind, 60)
{
	int fd = open(WDT_NODE, O_WRONLY | O_CLOEXEC), fd2, val = 0;

	ASSERT_LE(0, fd);
	ASSERT_EQ(-1, open(WDT_MISC, O_WRONLY | O_CLOEXEC));
	EXPECT_EQ(EBUSY, errno);
	ASSERT_EQ(0, esb_unbind(self));
	ASSERT_EQ(0, esb_bind(self));
	fd2 = open(WDT_MISC, O_WRONLY | O_CLOEXEC);
	ASSERT_LE(0, fd2) TH_LOG("open %s: %s", WDT_MISC, strerror(errno));
	EXPECT_EQ(-1, open(WDT_NODE, O_WRONLY | O_CLOEXEC));
	EXPECT_EQ(EBUSY, errno);
	EXPECT_EQ(0, ioctl(fd2, WDIOC_GETTIMEOUT, &val));
	EXPECT_EQ(HEARTBEAT, val);
	EXPECT_EQ(-1, ioctl(fd, WDIOC_GETTIMEOUT, &val));
	EXPECT_EQ(ENODEV, errno);
	EXPECT_EQ(-ENODEV, wdt_write(fd, "V"));
	EXPECT_EQ(0, close(fd));
	/* the stale close did not touch the new device */
	EXPECT_EQ(-1, open(WDT_NODE, O_WRONLY | O_CLOEXEC));
	EXPECT_EQ(EBUSY, errno);
	EXPECT_EQ(1, wdt_write(fd2, "V"));
	EXPECT_EQ(0, close(fd2));
	fd = open(WDT_NODE, O_WRONLY | O_CLOEXEC);
	EXPECT_LE(0, fd);
	EXPECT_EQ(1, wdt_write(fd, "V"));
	EXPECT_EQ(0, close(fd));
}

/*
 * Each held file is released once: the module references its open took
 * come back, exactly (a second release would put them twice).  Ours
 * releases it at the unbind, so a held /dev/watchdog no longer pins
 * i6300esb, which unloads; stock keeps the reference until the close.  A
 * file of /dev/watchdog0 also pins the cdev's owner (i6300esb) until its
 * last close, on both.
 */
TEST_F_TIMEOUT(wdt, release_once, 60)
{
	long esb, core;
	int fd, ret;

	fd = open(WDT_MISC, O_WRONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_EQ(self->esb_refs + 1, read_long("/sys/module/i6300esb/refcnt"));
	ASSERT_EQ(0, esb_unbind(self));
	esb = read_long("/sys/module/i6300esb/refcnt");
	core = read_long("/sys/module/watchdog/refcnt");
	TH_LOG("/dev/watchdog held, unbound: i6300esb %ld (base %ld), watchdog %ld (%ld)",
	       esb, self->esb_refs, core, self->core_refs);
	EXPECT_EQ(self->esb_refs + (self->stock ? 1 : 0), esb);
	ret = tcr_rmmod("i6300esb");
	TH_LOG("rmmod i6300esb with /dev/watchdog held: %s",
	       ret ? strerror(-ret) : "ok");
	EXPECT_EQ(self->stock ? -EAGAIN : 0, ret);
	EXPECT_EQ(0, close(fd));
	/* ours unloaded it: load it again */
	ret = self->stock ? esb_bind(self) : esb_load(self, false, ESB_PARAMS);
	ASSERT_EQ(0, ret);
	EXPECT_EQ(self->esb_refs, read_long("/sys/module/i6300esb/refcnt"));
	EXPECT_EQ(self->core_refs, read_long("/sys/module/watchdog/refcnt"));

	fd = open(WDT_NODE, O_WRONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_EQ(self->esb_refs + 2, read_long("/sys/module/i6300esb/refcnt"));
	ASSERT_EQ(0, esb_unbind(self));
	esb = read_long("/sys/module/i6300esb/refcnt");
	TH_LOG("/dev/watchdog0 held, unbound: i6300esb refcnt %ld (base %ld)",
	       esb, self->esb_refs);
	EXPECT_EQ(self->esb_refs + (self->stock ? 2 : 1), esb);
	EXPECT_EQ(-EAGAIN, tcr_rmmod("i6300esb"));
	EXPECT_EQ(0, close(fd));
	EXPECT_EQ(self->esb_refs, read_long("/sys/module/i6300esb/refcnt"));
	EXPECT_EQ(self->core_refs, read_long("/sys/module/watchdog/refcnt"));
	ASSERT_EQ(0, esb_bind(self));
}

/*
 * The race of open with the unregister: threads open /dev/watchdog0 (two)
 * and /dev/watchdog (one), ping, write 'V' and close, while the i6300esb is
 * unbound and bound TCR_CYCLES / 10 times (TCR_WDT_RACE: which of them run,
 * "ccm" by default; "w" adds a process running wdctl -s in a loop, which
 * makes each cycle as slow as wdctl).  Opens
 * may fail with EBUSY (single open), ENOENT (no node), ENODEV (no misc
 * device) or ENXIO (the device being revoked); a write or ioctl of a file
 * that was revoked meanwhile with ENODEV; nothing else.  Every file is
 * released once: the module references come back.
 *
 * The openers pause while the device registers (from the bind until both
 * nodes exist): an open then races with watchdog_cdev_register(), which
 * publishes the nodes before it tests whether the watchdog runs, and
 * takes the references of a running watchdog a second time if an open
 * started it meanwhile; they are never dropped (stock and ours: the
 * conversion does not touch it).  TCR_WDT_BIND_RACE=1 lets them run on,
 * to count that leak.
 */
enum { K_OPEN, K_WRITE, K_IOCTL, K_WDCTL, K_NR };
static const char *const kind_name[K_NR] = {
	"open", "write", "ioctl", "wdctl -s",
};

struct race {
	int stop;
	int binding;	/* openers wait while set ... */
	int opening;	/* ... and the binder until none is opening */
	long ok[K_NR], gone[K_NR], other[K_NR];
	int last_other[K_NR];
};

static struct race *R;	/* shared with the wdctl process */

static void race_count(int kind, int err)
{
	long *c = &R->ok[kind];

	if (err == -ENODEV || err == -ENOENT || err == -ENXIO ||
	    (kind == K_OPEN && err == -EBUSY)) {
		c = &R->gone[kind];
	} else if (err) {
		c = &R->other[kind];
		tcr_store(R->last_other[kind], err);
	}
	__atomic_add_fetch(c, 1, __ATOMIC_RELAXED);
}

/* Enter an open (0), or -1 while the device is being bound. */
static int race_enter(void)
{
	__atomic_add_fetch(&R->opening, 1, __ATOMIC_SEQ_CST);
	if (!__atomic_load_n(&R->binding, __ATOMIC_SEQ_CST))
		return 0;
	__atomic_sub_fetch(&R->opening, 1, __ATOMIC_SEQ_CST);
	usleep(1000);
	return -1;
}

static void race_leave(void)
{
	__atomic_sub_fetch(&R->opening, 1, __ATOMIC_SEQ_CST);
}

static void *race_fn(void *arg)
{
	const char *node = arg;
	int fd, val;

	while (!tcr_load(R->stop)) {
		if (race_enter())
			continue;
		fd = open(node, O_WRONLY | O_CLOEXEC);
		race_leave();
		race_count(K_OPEN, fd < 0 ? -errno : 0);
		if (fd < 0) {
			usleep(1000);
			continue;
		}
		race_count(K_IOCTL, ioctl(fd, WDIOC_GETTIMEOUT, &val) ?
				    -errno : 0);
		val = wdt_write(fd, "V");
		race_count(K_WRITE, val < 0 ? val : 0);
		close(fd);
	}
	return NULL;
}

static void race_wdctl(void)
{
	char out[2048];
	int st;

	while (!tcr_load(R->stop)) {
		if (race_enter())
			continue;
		st = run_wdctl("-s 2 " WDT_NODE, out, sizeof(out));
		race_leave();
		/* 1: the node, or the device, is not there (or busy) */
		race_count(K_WDCTL, !st ? 0 : st == 1 ? -ENODEV : -EIO);
	}
}

/* Bind, with the openers paused unless TCR_WDT_BIND_RACE is set. */
static int race_bind(struct _test_data_wdt *self)
{
	int ret;

	if (getenv("TCR_WDT_BIND_RACE"))
		return esb_bind(self);
	__atomic_store_n(&R->binding, 1, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&R->opening, __ATOMIC_SEQ_CST))
		usleep(1000);
	ret = esb_bind(self);
	__atomic_store_n(&R->binding, 0, __ATOMIC_SEQ_CST);
	return ret;
}

TEST_F_TIMEOUT(wdt, open_race, 600)
{
	const char *c = getenv("TCR_CYCLES");
	const char *which = getenv("TCR_WDT_RACE") ?: "ccm";
	int cycles = (c ? atoi(c) : 200) / 10, i, k, st;
	static const char *const nodes[] = { WDT_NODE, WDT_NODE, WDT_MISC };
	long t0 = now_ms(), max_ms = 0, ms;
	pthread_t th[3];
	pid_t tool;

	if (self->stock && !getenv("TCR_WDT_STOCK_RACE"))
		SKIP(return, "stock: set TCR_WDT_STOCK_RACE=1 (it may oops)");
	if (cycles < 1)
		cycles = 1;
	R = mmap(NULL, sizeof(*R), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, R);
	tool = fork();
	ASSERT_LE(0, tool);
	if (!tool) {
		if (strchr(which, 'w'))
			race_wdctl();
		_exit(0);
	}
	for (i = 0; i < 3; i++)
		if (strchr(which, "ccm"[i]))
			ASSERT_EQ(0, pthread_create(&th[i], NULL, race_fn,
						    (void *)nodes[i]));
	for (i = 0; i < cycles; i++) {
		usleep(50000);
		ms = now_ms();
		ASSERT_EQ(0, esb_unbind(self)) TH_LOG("cycle %d", i);
		ms = now_ms() - ms;
		if (ms > max_ms)
			max_ms = ms;
		usleep(10000);
		ASSERT_EQ(0, race_bind(self)) TH_LOG("cycle %d", i);
	}
	usleep(200000);
	tcr_store(R->stop, 1);
	for (i = 0; i < 3; i++)
		if (strchr(which, "ccm"[i]))
			pthread_join(th[i], NULL);
	EXPECT_EQ(tool, waitpid(tool, &st, 0));
	EXPECT_TRUE(WIFEXITED(st) && !WEXITSTATUS(st));
	TH_LOG("%d unbind/bind cycles in %ld ms, unbind at most %ld ms",
	       cycles, now_ms() - t0, max_ms);
	for (k = 0; k < K_NR; k++) {
		TH_LOG("%-9s ok %6ld  gone/busy %6ld  other %ld%s%s",
		       kind_name[k], R->ok[k], R->gone[k], R->other[k],
		       R->other[k] ? " last: " : "",
		       R->other[k] ? strerror(-R->last_other[k]) : "");
		EXPECT_EQ(0, R->other[k]);
	}
	EXPECT_LT(0, R->ok[K_OPEN]);
	if (strchr(which, 'w'))
		EXPECT_LT(0, R->ok[K_WDCTL]);
	/* every file was released once: the module references are back */
	EXPECT_EQ(self->esb_refs, read_long("/sys/module/i6300esb/refcnt"));
	EXPECT_EQ(self->core_refs, read_long("/sys/module/watchdog/refcnt"));
}

TEST_HARNESS_MAIN
