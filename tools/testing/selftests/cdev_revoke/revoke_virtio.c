// SPDX-License-Identifier: GPL-2.0
/*
 * virtio_console on cdev_revoke: /dev/vportNpM of QEMU's virtio-serial-pci
 * (behind its own q35 pcie-root-port, rp2) held open, with readers, writers,
 * pollers and io_uring requests waiting in it, while a port is unplugged
 * (QMP device_del of a virtserialport: the host's PORT_REMOVE, handled by
 * the driver's control work) or the whole controller is (device_del of the
 * virtio-serial-pci device: pciehp, virtcons_remove()).
 *
 * The ports (scripts/vm-run.sh): vp0 "org.cdev-revoke.0" on a file chardev,
 * always connected (what the guest writes lands in $TCR_HOTPLUG/vport0.out,
 * on the results share), and vp1 "org.cdev-revoke.1" on a socket no one
 * connects to: the host side is closed, so writes block.
 *
 * The "stock" variants load the stock virtio_console.ko (the base commit's
 * source built against the same kernel by scripts/stock-module.sh) in place
 * of the converted one and assert what stock does.  The visible difference
 * for these cases is the SIGIO si_code (POLL_OUT on stock, POLL_HUP
 * converted).  Fixture "parked" parks a write in copy_from_user() on a
 * userfaultfd page and removes the controller meanwhile: stock goes on into
 * the freed virtqueues (KASAN), so its variant runs only in the control
 * boot (scripts/control-check.sh checks the console); the converted driver
 * holds the removal until the write returns.
 *
 * Fixture "port" runs first (no pciehp); "ctrl" and "parked" unplug the
 * controller through pciehp, whose known lockdep report turns lockdep off.
 *
 * Environment: TCR_KO (test_cdev_revoke.ko; virtio_console.ko is found in
 * the same kernel build, the stock one in ../../virtio-stock/ relative to
 * its directory), TCR_HOTPLUG (the host's QMP helper), TCR_CYCLES (port
 * unplug cycles, default 20).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "util.h"

#define VPORTS		"/sys/class/virtio-ports/"
#define VP0_NAME	"org.cdev-revoke.0"
#define VP1_NAME	"org.cdev-revoke.1"
#define VP0_ADD		"add vp0 virtserialport vser0.0 nr=1 chardev=vpc0 name=" VP0_NAME
#define VP1_ADD		"add vp1 virtserialport vser0.0 nr=2 chardev=vpc1 name=" VP1_NAME
#define CTRL_ADD	"add vser0 virtio-serial-pci rp2"
#define OURS_KO		"../drivers/char/virtio_console.ko"
#define STOCK_KO	"../../virtio-stock/virtio_console.ko"
#define WAKE_MS		10000	/* "at once", on a loaded TCG host */

/* The /dev node of the port named @name: 0, or -1 if there is none. */
static int vport_find(const char *name, char *node, size_t len)
{
	char path[300], buf[64];
	struct dirent *de;
	int fd, ret = -1;
	ssize_t n;
	DIR *d;

	d = opendir(VPORTS);
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, "vport", 5))
			continue;
		snprintf(path, sizeof(path), VPORTS "%s/name", de->d_name);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		buf[n > 0 ? n : 0] = 0;
		if (!strncmp(buf, name, strlen(name)) &&
		    (buf[strlen(name)] == '\n' || !buf[strlen(name)])) {
			snprintf(node, len, "/dev/%.40s", de->d_name);
			ret = 0;
			break;
		}
	}
	closedir(d);
	return ret;
}

/* Wait up to 10 s until the port's node exists (@present) or is gone. */
static int vport_wait(const char *name, char *node, size_t len, int present)
{
	char tmp[64];
	int i;

	for (i = 0; i < 1000; i++) {
		int found = !vport_find(name, tmp, sizeof(tmp)) &&
			    !access(tmp, F_OK);

		if (found == present) {
			if (present && node)
				snprintf(node, len, "%s", tmp);
			return 0;
		}
		usleep(10000);
	}
	return -1;
}

/* The loaded virtio_console is an out-of-tree build: the stock one. */
static int stock_loaded(void)
{
	return tcr_module_stock("virtio_console");
}

/* Whether the guest has the virtio-serial PCI device (1af4:1003/1043). */
static int ctrl_present(void)
{
	DIR *d = opendir("/sys/bus/pci/devices");
	struct dirent *de;
	char path[400];
	long dev;
	int found = 0;

	if (!d)
		return 0;
	while (!found && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vendor",
			 de->d_name);
		if (read_long(path) != 0x1af4)
			continue;
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/device",
			 de->d_name);
		dev = read_long(path);
		found = dev == 0x1003 || dev == 0x1043;
	}
	closedir(d);
	return found;
}

/* Re-add what an earlier case unplugged: 0 or -1. */
static int vport_restore(void)
{
	int i, added = 0;
	char node[64];

	if (!ctrl_present()) {
		tcr_hotplug(CTRL_ADD);
		added = 1;
		for (i = 0; i < 300 && !ctrl_present(); i++)
			usleep(100000);
	}
	if (added || vport_find(VP0_NAME, node, sizeof(node)))
		tcr_hotplug(VP0_ADD);
	if (added || vport_find(VP1_NAME, node, sizeof(node)))
		tcr_hotplug(VP1_ADD);
	if (vport_wait(VP0_NAME, NULL, 0, 1) || vport_wait(VP1_NAME, NULL, 0, 1))
		return -1;
	return 0;
}

/* Load the module asked for and wait for both ports: NULL or why not. */
static const char *vport_setup(int stock, char *vp0, char *vp1, size_t len)
{
	static char why[128];
	int ret, loaded;

	if (!getenv("TCR_HOTPLUG"))
		return "no TCR_HOTPLUG (the host's QMP helper)";
	loaded = tcr_module_loaded("virtio_console") &&
		 stock_loaded() == stock;
	ret = tcr_load_kind("virtio_console", OURS_KO, STOCK_KO, stock);
	if (ret) {
		snprintf(why, sizeof(why), "load %s: %s",
			 stock ? STOCK_KO : OURS_KO, strerror(-ret));
		return why;
	}
	if (!loaded) {	/* the probe announces the ports */
		vport_wait(VP0_NAME, NULL, 0, 1);
		vport_wait(VP1_NAME, NULL, 0, 1);
	}
	if (vport_restore())
		return "no virtio-serial ports " VP0_NAME ", " VP1_NAME;
	if (vport_wait(VP0_NAME, vp0, len, 1) ||
	    vport_wait(VP1_NAME, vp1, len, 1))
		return "no /dev/vport nodes";
	return NULL;
}

/*
 * The setup of every fixture: a stock variant runs in the boot its fixture
 * belongs to (@control: the control boot, for a use-after-free by design),
 * the converted one in the main boot.
 */
static void fixture_setup(struct __test_metadata *_metadata, int stock,
			  bool control, char *vp0, char *vp1, size_t len)
{
	const char *why;

	if (stock && control && !tcr_control_boot())
		SKIP(return, "stock: use-after-free by design; runs in the control boot");
	if (stock && !control && tcr_control_boot())
		SKIP(return, "stock: runs in the main boot");
	if (!stock && tcr_control_boot())
		SKIP(return, "ours: runs in the main boot");
	why = vport_setup(stock, vp0, vp1, len);
	if (why)
		SKIP(return, "%s", why);
}

/* A thread blocked in write(), on a port whose host side is closed. */
struct writer {
	int fd;
	int ret;
	int err;
};

static void *writer_fn(void *arg)
{
	struct writer *w = arg;

	w->ret = write(w->fd, "0123456789abcdef", 16);
	w->err = errno;
	return NULL;
}

/* Whether @path (on the results share) contains @s, within 5 s. */
static int file_has(const char *path, const char *s)
{
	static char buf[1 << 16];
	int i, fd;
	ssize_t n;

	for (i = 0; i < 50; i++) {
		fd = open(path, O_RDONLY);
		if (fd >= 0) {
			n = read(fd, buf, sizeof(buf) - 1);
			close(fd);
			buf[n > 0 ? n : 0] = 0;
			if (n > 0 && memmem(buf, n, s, strlen(s)))
				return 1;
		}
		usleep(100000);
	}
	return 0;
}

/* Write a unique line to the port at @node and find it on the host side. */
static int reaches_host(const char *node)
{
	char tok[64], out[400];
	int fd, ok;

	snprintf(tok, sizeof(tok), "revoke_virtio %d %ld\n", getpid(),
		 now_ms());
	snprintf(out, sizeof(out), "%.300s/vport0.out", getenv("TCR_HOTPLUG"));
	fd = open(node, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ok = write(fd, tok, strlen(tok)) == (ssize_t)strlen(tok);
	close(fd);
	return ok && file_has(out, tok) ? 0 : -EIO;
}

/* The held file of a port that is gone: ENODEV, and a hang-up. */
static void assert_gone(struct __test_metadata *_metadata, int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN | POLLOUT };
	char c;

	errno = 0;
	EXPECT_EQ(-1, read(fd, &c, 1));
	EXPECT_EQ(ENODEV, errno);
	errno = 0;
	EXPECT_EQ(-1, write(fd, "x", 1));
	EXPECT_EQ(ENODEV, errno);
	EXPECT_EQ(1, poll(&pfd, 1, 0));
	EXPECT_EQ(POLLHUP, pfd.revents);
}

/* Port unplug: QMP device_del of a virtserialport. */
FIXTURE(port) {
	char vp0[64];
	char vp1[64];
};

TCR_STOCK_VARIANTS(port);

FIXTURE_SETUP(port)
{
	fixture_setup(_metadata, variant->stock, false, self->vp0, self->vp1,
		      sizeof(self->vp0));
}

FIXTURE_TEARDOWN(port)
{
	vport_restore();
}

/*
 * A reader, a poller and an epoll waiter on the connected port are woken
 * by the unplug: ENODEV, POLLHUP; the held file then answers ENODEV/POLLHUP.
 * Stock does the same (its unplug_port() wakes them and clears
 * guest_connected).
 */
TEST_F_TIMEOUT(port, sleepers_woken, 60)
{
	struct tcr_waiter w[3] = {
		{ .kind = TCR_W_READ }, { .kind = TCR_W_POLL },
		{ .kind = TCR_W_EPOLL },
	};
	pthread_t t[3];
	long t0;
	int fd, i;

	fd = open(self->vp0, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd);
	for (i = 0; i < 3; i++) {
		w[i].fd = fd;
		ASSERT_EQ(0, pthread_create(&t[i], NULL, tcr_waiter_fn, &w[i]));
	}
	usleep(300000);
	t0 = now_ms();
	ASSERT_EQ(0, tcr_hotplug("del vp0"));
	for (i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	ksft_print_msg("%s: woken %ld ms after device_del\n",
		       variant->stock ? "stock" : "ours", now_ms() - t0);
	EXPECT_LT(now_ms() - t0, WAKE_MS);
	EXPECT_EQ(-1, w[0].ret);
	EXPECT_EQ(ENODEV, w[0].err);
	EXPECT_EQ(1, w[1].ret);
	EXPECT_EQ(POLLHUP, w[1].revents);
	EXPECT_EQ(1, w[2].ret);
	EXPECT_EQ(EPOLLHUP, w[2].revents);
	ASSERT_EQ(0, vport_wait(VP0_NAME, NULL, 0, 0));
	assert_gone(_metadata, fd);
	EXPECT_EQ(0, close(fd));
}

/* A write blocked on the port whose host side is closed: woken, ENODEV. */
TEST_F_TIMEOUT(port, writer_woken, 60)
{
	struct writer w;
	pthread_t t;
	long t0;

	w.fd = open(self->vp1, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, w.fd);
	ASSERT_EQ(0, pthread_create(&t, NULL, writer_fn, &w));
	usleep(300000);
	ASSERT_EQ(0, pthread_tryjoin_np(t, NULL) == 0);	/* still blocked */
	t0 = now_ms();
	ASSERT_EQ(0, tcr_hotplug("del vp1"));
	pthread_join(t, NULL);
	ksft_print_msg("%s: writer woken %ld ms after device_del: %d %s\n",
		       variant->stock ? "stock" : "ours", now_ms() - t0,
		       w.ret, strerror(w.err));
	EXPECT_EQ(-1, w.ret);
	EXPECT_EQ(ENODEV, w.err);
	ASSERT_EQ(0, vport_wait(VP1_NAME, NULL, 0, 0));
	assert_gone(_metadata, w.fd);
	EXPECT_EQ(0, close(w.fd));
}

/*
 * SIGIO at unplug: stock sends POLL_OUT (send_sigio_to_port()), the
 * converted driver leaves it to the core, which sends POLL_HUP.
 */
TEST_F_TIMEOUT(port, sigio, 60)
{
	struct timespec ts = { .tv_sec = 20 };
	int sig = SIGRTMIN + 1;
	siginfo_t si;
	sigset_t set;
	int fd;

	sigemptyset(&set);
	sigaddset(&set, sig);
	ASSERT_EQ(0, pthread_sigmask(SIG_BLOCK, &set, NULL));
	fd = open(self->vp0, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, fcntl(fd, F_SETOWN, getpid()));
	ASSERT_EQ(0, fcntl(fd, F_SETSIG, sig));
	ASSERT_EQ(0, fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_ASYNC));
	ASSERT_EQ(0, tcr_hotplug("del vp0"));
	ASSERT_EQ(sig, sigtimedwait(&set, &si, &ts));
	ksft_print_msg("%s: SIGIO si_code %d (POLL_OUT %d, POLL_HUP %d), si_fd %d\n",
		       variant->stock ? "stock" : "ours", si.si_code, POLL_OUT,
		       POLL_HUP, si.si_fd);
	EXPECT_EQ(variant->stock ? POLL_OUT : POLL_HUP, si.si_code);
	EXPECT_EQ(fd, si.si_fd);
	ASSERT_EQ(0, vport_wait(VP0_NAME, NULL, 0, 0));
	EXPECT_EQ(0, close(fd));
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

/*
 * io_uring: a read parked in io-wq and a poll on the connected port
 * complete at unplug with -ENODEV and POLLHUP; a write after it: -ENODEV.
 */
TEST_F_TIMEOUT(port, io_uring_inflight, 60)
{
	struct __kernel_timespec ts = { .tv_sec = 20 };
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	struct io_uring ring;
	char buf[16];
	int fd, i, res[2] = { 1, 1 };

	fd = open(self->vp0, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, io_uring_queue_init(8, &ring, 0));
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_read(sqe, fd, buf, sizeof(buf), 0);
	sqe->user_data = 0;
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_poll_add(sqe, fd, POLLIN);
	sqe->user_data = 1;
	ASSERT_EQ(2, io_uring_submit(&ring));
	usleep(300000);
	ASSERT_EQ(-EAGAIN, io_uring_peek_cqe(&ring, &cqe));
	ASSERT_EQ(0, tcr_hotplug("del vp0"));
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, io_uring_wait_cqe_timeout(&ring, &cqe, &ts));
		res[cqe->user_data & 1] = cqe->res;
		io_uring_cqe_seen(&ring, cqe);
	}
	ksft_print_msg("%s: io_uring read %d, poll 0x%x\n",
		       variant->stock ? "stock" : "ours", res[0], res[1]);
	EXPECT_EQ(-ENODEV, res[0]);
	EXPECT_EQ(POLLHUP, res[1]);
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_write(sqe, fd, "x", 1, 0);
	ASSERT_EQ(1, io_uring_submit(&ring));
	ASSERT_EQ(0, io_uring_wait_cqe_timeout(&ring, &cqe, &ts));
	EXPECT_EQ(-ENODEV, cqe->res);
	io_uring_cqe_seen(&ring, cqe);
	io_uring_queue_exit(&ring);
	EXPECT_EQ(0, close(fd));
}

/*
 * Re-plug: the port added again with device_add gets a node a new open
 * reaches (what it writes arrives on the host), while the file held across
 * the unplug stays dead.
 */
TEST_F_TIMEOUT(port, replug_new_port, 60)
{
	char node[64];
	int fd;

	ASSERT_EQ(0, reaches_host(self->vp0));
	fd = open(self->vp0, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, tcr_hotplug("del vp0"));
	ASSERT_EQ(0, vport_wait(VP0_NAME, NULL, 0, 0));
	ASSERT_EQ(0, tcr_hotplug(VP0_ADD));
	ASSERT_EQ(0, vport_wait(VP0_NAME, node, sizeof(node), 1));
	ksft_print_msg("re-plugged as %s (was %s)\n", node, self->vp0);
	EXPECT_EQ(0, reaches_host(node));
	assert_gone(_metadata, fd);
	EXPECT_EQ(0, close(fd));
}

/* Whether process @pid has a file of @node open. */
static int holds_node(pid_t pid, const char *node)
{
	char path[64], link[128];
	struct dirent *de;
	int found = 0;
	ssize_t n;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	d = opendir(path);
	if (!d)
		return 0;
	while (!found && (de = readdir(d))) {
		snprintf(path, sizeof(path), "/proc/%d/fd/%.20s", pid,
			 de->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		link[n > 0 ? n : 0] = 0;
		found = !strncmp(link, node, strlen(node));
	}
	closedir(d);
	return found;
}

/* Clock ticks of CPU time process @pid has used, or -1. */
static long cpu_ticks(pid_t pid)
{
	unsigned long ut, st;
	char path[64], buf[1024], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	p = strrchr(buf, ')');
	/* after "pid (comm)": state and 10 more fields, then utime stime */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
			 &ut, &st) != 2)
		return -1;
	return ut + st;
}

/*
 * Debian's QEMU guest agent (qemu-ga -m virtio-serial -r) on vp0 across the
 * port's unplug and re-plug: it lets go of the dead port at once (no file
 * of the unplugged port stays open in it), does not spin meanwhile, and
 * opens the re-plugged port again by itself (-r, --retry-path, meant for
 * exactly this).
 */
TEST_F_TIMEOUT(port, qemu_ga, 120)
{
	static const char qga[] = "/usr/sbin/qemu-ga";
	long t0, t_gone = -1, t_back = -1, ticks0, ticks1, ms;
	int status, i;
	pid_t pid;

	if (access(qga, X_OK))
		SKIP(return, "no %s (Debian package qemu-guest-agent)", qga);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, 0);
		execl(qga, qga, "-m", "virtio-serial", "-p", self->vp0, "-r",
		      "-l", "/tmp/revoke_virtio-qga.log",
		      "-f", "/tmp/revoke_virtio-qga.pid",
		      "-t", "/tmp", (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 200 && !holds_node(pid, self->vp0); i++)
		usleep(50000);
	ASSERT_TRUE(holds_node(pid, self->vp0)) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	ASSERT_EQ(0, tcr_hotplug("del vp0"));
	t0 = now_ms();
	ticks0 = cpu_ticks(pid);
	for (i = 0; i < WAKE_MS / 20; i++) {
		if (!holds_node(pid, self->vp0)) {
			t_gone = now_ms() - t0;
			break;
		}
		usleep(20000);
	}
	EXPECT_EQ(0, vport_wait(VP0_NAME, NULL, 0, 0));
	usleep(2000000);	/* a client spinning on the hang-up shows here */
	ticks1 = cpu_ticks(pid);
	ms = now_ms() - t0;
	EXPECT_EQ(0, waitpid(pid, &status, WNOHANG));	/* -r: it waits */
	ASSERT_EQ(0, tcr_hotplug(VP0_ADD));
	EXPECT_EQ(0, vport_wait(VP0_NAME, NULL, 0, 1));
	t0 = now_ms();
	for (i = 0; i < 600; i++) {
		if (holds_node(pid, self->vp0)) {
			t_back = now_ms() - t0;
			break;
		}
		usleep(50000);
	}
	ksft_print_msg("%s: qemu-ga let go of the port %ld ms after device_del\n",
		       variant->stock ? "stock" : "ours", t_gone);
	ksft_print_msg("%ld ticks in %ld ms unplugged; re-plugged port opened after %ld ms\n",
		       ticks1 - ticks0, ms, t_back);
	EXPECT_LE(0, t_gone);
	EXPECT_LE(0, ticks0);
	EXPECT_LT((ticks1 - ticks0) * 1000 / sysconf(_SC_CLK_TCK), ms / 2);
	EXPECT_LE(0, t_back);
	kill(pid, SIGTERM);
	for (i = 0; i < 100 && waitpid(pid, &status, WNOHANG) != pid; i++)
		usleep(50000);
	if (i == 100) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	EXPECT_TRUE(WIFEXITED(status));
}

/*
 * Unplug/re-plug cycles with a reader waiting each time (release once per
 * file: a second release would be a KASAN report, a missing one a kmemleak
 * leak of the port).
 */
TEST_F_TIMEOUT(port, cycles, 600)
{
	/* the stock control needs only a few */
	int n = getenv("TCR_CYCLES") ? atoi(getenv("TCR_CYCLES")) :
		variant->stock ? 5 : 20;
	long t0 = now_ms();
	char node[64];
	int i;

	snprintf(node, sizeof(node), "%s", self->vp0);
	for (i = 0; i < n; i++) {
		struct tcr_waiter w = { .kind = TCR_W_READ };
		pthread_t t;

		w.fd = open(node, O_RDWR | O_CLOEXEC);
		ASSERT_LE(0, w.fd);
		ASSERT_EQ(0, pthread_create(&t, NULL, tcr_waiter_fn, &w));
		usleep(50000);
		ASSERT_EQ(0, tcr_hotplug("del vp0"));
		pthread_join(t, NULL);
		EXPECT_EQ(-1, w.ret);
		EXPECT_EQ(ENODEV, w.err);
		ASSERT_EQ(0, vport_wait(VP0_NAME, NULL, 0, 0));
		EXPECT_EQ(0, close(w.fd));
		ASSERT_EQ(0, tcr_hotplug(VP0_ADD));
		ASSERT_EQ(0, vport_wait(VP0_NAME, node, sizeof(node), 1));
	}
	EXPECT_EQ(0, reaches_host(node));
	ksft_print_msg("%s: %d unplug/re-plug cycles in %ld ms\n",
		       variant->stock ? "stock" : "ours", n, now_ms() - t0);
}

/* Controller unplug: QMP device_del of the virtio-serial-pci device. */
FIXTURE(ctrl) {
	char vp0[64];
	char vp1[64];
};

TCR_STOCK_VARIANTS(ctrl);

FIXTURE_SETUP(ctrl)
{
	fixture_setup(_metadata, variant->stock, false, self->vp0, self->vp1,
		      sizeof(self->vp0));
}

FIXTURE_TEARDOWN(ctrl)
{
	vport_restore();
}

/*
 * A reader and a poller on vp0, a writer on vp1, while the controller is
 * hot-unplugged: woken with ENODEV/POLLHUP, the held files dead; the
 * controller and its ports plugged in again work for new opens.
 */
TEST_F_TIMEOUT(ctrl, unplug_with_held_files, 300)
{
	struct tcr_waiter r = { .kind = TCR_W_READ }, p = { .kind = TCR_W_POLL };
	struct writer w;
	pthread_t t[3];
	char node[64];
	long t0;
	int fd;

	fd = open(self->vp0, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd);
	w.fd = open(self->vp1, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, w.fd);
	r.fd = fd;
	p.fd = fd;
	ASSERT_EQ(0, pthread_create(&t[0], NULL, tcr_waiter_fn, &r));
	ASSERT_EQ(0, pthread_create(&t[1], NULL, tcr_waiter_fn, &p));
	ASSERT_EQ(0, pthread_create(&t[2], NULL, writer_fn, &w));
	usleep(300000);
	t0 = now_ms();
	ASSERT_EQ(0, tcr_hotplug("del vser0"));
	pthread_join(t[0], NULL);
	pthread_join(t[1], NULL);
	pthread_join(t[2], NULL);
	ksft_print_msg("%s: controller gone in %ld ms; read %zd %s, poll 0x%x, write %d %s\n",
		       variant->stock ? "stock" : "ours", now_ms() - t0,
		       r.ret, strerror(r.err), p.revents, w.ret,
		       strerror(w.err));
	EXPECT_EQ(-1, r.ret);
	EXPECT_EQ(ENODEV, r.err);
	EXPECT_EQ(POLLHUP, p.revents);
	EXPECT_EQ(-1, w.ret);
	EXPECT_EQ(ENODEV, w.err);
	assert_gone(_metadata, fd);
	assert_gone(_metadata, w.fd);
	ASSERT_EQ(0, tcr_hotplug(CTRL_ADD));
	ASSERT_EQ(0, tcr_hotplug(VP0_ADD));
	ASSERT_EQ(0, tcr_hotplug(VP1_ADD));
	ASSERT_EQ(0, vport_wait(VP0_NAME, node, sizeof(node), 1));
	ksft_print_msg("re-plugged controller: %s\n", node);
	EXPECT_EQ(0, reaches_host(node));
	assert_gone(_metadata, fd);
	EXPECT_EQ(0, close(fd));
	EXPECT_EQ(0, close(w.fd));
}

/*
 * A write parked in copy_from_user(): a child process writes to vp0 from a
 * page registered with userfaultfd and never populated, and its fault
 * handler thread resolves the fault only when the parent says so.  The
 * child reports "fault taken" (one byte), then the write's result and a
 * second write's, on @res_fd.
 */
struct parked_res {
	ssize_t ret;
	int err;
	ssize_t ret2;
	int err2;
};

struct parked_handler {
	int uffd;
	int res_fd;
	int go_fd;
	long page;
	char *src;
};

static void *parked_handler_fn(void *arg)
{
	struct parked_handler *h = arg;
	struct uffd_msg msg;
	struct uffdio_copy copy;
	char c;

	if (read(h->uffd, &msg, sizeof(msg)) != sizeof(msg) ||
	    msg.event != UFFD_EVENT_PAGEFAULT)
		return NULL;
	if (write(h->res_fd, "f", 1) != 1 || read(h->go_fd, &c, 1) != 1)
		return NULL;
	copy.dst = msg.arg.pagefault.address & ~(h->page - 1);
	copy.src = (unsigned long)h->src;
	copy.len = h->page;
	copy.mode = 0;
	ioctl(h->uffd, UFFDIO_COPY, &copy);
	return NULL;
}

static void parked_child(const char *node, int res_fd, int go_fd)
{
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
	struct uffdio_api api = { .api = UFFD_API };
	struct parked_handler h = { .res_fd = res_fd, .go_fd = go_fd };
	struct parked_res r;
	pthread_t t;
	char *area;
	int fd;

	h.page = sysconf(_SC_PAGESIZE);
	fd = open(node, O_RDWR | O_CLOEXEC);
	h.uffd = syscall(__NR_userfaultfd, O_CLOEXEC);
	if (fd < 0 || h.uffd < 0 || ioctl(h.uffd, UFFDIO_API, &api))
		_exit(2);
	area = mmap(NULL, h.page, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	h.src = mmap(NULL, h.page, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED || h.src == MAP_FAILED)
		_exit(3);
	memset(h.src, 'p', h.page);
	reg.range.start = (unsigned long)area;
	reg.range.len = h.page;
	if (ioctl(h.uffd, UFFDIO_REGISTER, &reg) ||
	    pthread_create(&t, NULL, parked_handler_fn, &h))
		_exit(4);
	r.ret = write(fd, area, 16);
	r.err = errno;
	r.ret2 = write(fd, "x", 1);
	r.err2 = errno;
	if (write(res_fd, &r, sizeof(r)) != sizeof(r))
		_exit(5);
	pthread_join(t, NULL);
	_exit(0);
}

/* Wait up to @ms for @fd to become readable: 1, or 0 on timeout. */
static int readable(int fd, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	return poll(&pfd, 1, ms) == 1;
}

struct hotplug_call {
	const char *op;
	int ret;
};

static void *hotplug_fn(void *arg)
{
	struct hotplug_call *c = arg;

	c->ret = tcr_hotplug(c->op);
	return NULL;
}

FIXTURE(parked) {
	char vp0[64];
	char vp1[64];
	pid_t child;
};

TCR_STOCK_VARIANTS(parked);

FIXTURE_SETUP(parked)
{
	fixture_setup(_metadata, variant->stock, true, self->vp0, self->vp1,
		      sizeof(self->vp0));
}

FIXTURE_TEARDOWN(parked)
{
	/* a child left parked holds the converted driver's removal */
	if (self->child > 0) {
		kill(self->child, SIGKILL);
		waitpid(self->child, NULL, 0);
	}
	vport_restore();
}

/*
 * The controller removed while a write to vp0 sleeps in copy_from_user()
 * (after wait_port_writable() and alloc_buf()).  Stock: the removal
 * completes under the parked write, which then goes on into the freed
 * out_vq (the KASAN report the control boot's console must show).
 * Converted: the removal waits for the write; the write returns without an
 * error, and the file is dead afterwards.
 */
TEST_F_TIMEOUT(parked, write_across_removal, 300)
{
	struct hotplug_call del = { .op = "del vser0", .ret = 1 };
	struct parked_res r = { .ret = -2, .ret2 = -2 };
	int res[2], go[2], status = 0, parked, i;
	pthread_t t;
	long t0;
	char c;

	ASSERT_EQ(0, pipe2(res, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(go, O_CLOEXEC));
	self->child = fork();
	ASSERT_LE(0, self->child);
	if (!self->child)
		parked_child(self->vp0, res[1], go[0]);
	close(res[1]);
	close(go[0]);
	ASSERT_EQ(1, readable(res[0], 10000));	/* the fault is taken */
	ASSERT_EQ(1, read(res[0], &c, 1));
	ASSERT_EQ('f', c);
	t0 = now_ms();
	ASSERT_EQ(0, pthread_create(&t, NULL, hotplug_fn, &del));
	if (variant->stock) {
		/* nothing waits for the write: the controller goes */
		pthread_join(t, NULL);
		parked = !readable(res[0], 0);
		ksft_print_msg("stock: controller removed in %ld ms, the write %s\n",
			       now_ms() - t0, parked ? "still parked" : "done");
		ASSERT_EQ(0, del.ret);
		EXPECT_TRUE(parked);
		EXPECT_FALSE(ctrl_present());
	} else {
		/*
		 * pciehp powers the slot off 5 s after the button press:
		 * wait until the removal has reached the revocation and
		 * sleeps there, for the write in flight.
		 */
		for (i = 0; i < 600 && !tcr_task_in("__cdev_revoke"); i++)
			usleep(100000);
		usleep(500000);
		parked = pthread_tryjoin_np(t, NULL) != 0;
		ksft_print_msg("ours: removal %s in the revocation %ld ms after device_del\n",
			       i < 600 ? "waiting" : "never", now_ms() - t0);
		ksft_print_msg("ours: the write still parked\n");
		EXPECT_LT(i, 600);
		EXPECT_TRUE(parked);
		EXPECT_TRUE(ctrl_present());
		EXPECT_FALSE(readable(res[0], 0));
	}
	ASSERT_EQ(1, write(go[1], "g", 1));	/* resolve the fault */
	if (readable(res[0], 60000) &&
	    read(res[0], &r, sizeof(r)) != sizeof(r))
		r.ret = -2;
	if (!variant->stock) {
		if (parked)
			pthread_join(t, NULL);
		ksft_print_msg("ours: controller removed %ld ms after device_del\n",
			       now_ms() - t0);
		EXPECT_EQ(0, del.ret);
	}
	/* stock may oops in the child's write: do not wait for it forever */
	for (i = 0; i < 100; i++) {
		if (waitpid(self->child, &status, WNOHANG) == self->child)
			break;
		usleep(100000);
	}
	if (i == 100) {
		kill(self->child, SIGKILL);
		waitpid(self->child, &status, 0);
	}
	self->child = 0;
	ksft_print_msg("%s: parked write %zd %s, then %zd %s; child %s %d\n",
		       variant->stock ? "stock" : "ours", r.ret,
		       r.ret < 0 ? strerror(r.err) : "", r.ret2,
		       r.ret2 < 0 ? strerror(r.err2) : "",
		       WIFSIGNALED(status) ? "killed by signal" : "exit",
		       WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	if (!variant->stock) {
		EXPECT_LE(0, r.ret);
		EXPECT_EQ(-1, r.ret2);
		EXPECT_EQ(ENODEV, r.err2);
		EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	}
	close(res[0]);
	close(go[1]);
}

TEST_HARNESS_MAIN
