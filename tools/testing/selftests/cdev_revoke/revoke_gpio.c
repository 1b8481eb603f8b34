// SPDX-License-Identifier: GPL-2.0
/*
 * gpiolib on cdev_revoke: /dev/gpiochipN and its line request files (child
 * files: v2 line requests, v1 line handles and line events) held open, and
 * slept in, while the chip is removed.
 *
 * The chips are gpio-sim devices (CONFIG_GPIO_SIM, configfs), removed with
 * "echo 0 > live" and made again with "echo 1 > live"; edges come from the
 * simulator's sim_gpioN/pull attributes.  After the removal every call on a
 * held file fails with ENODEV, poll reports POLLHUP | POLLERR, sleepers in
 * read() (also io_uring's) are woken with ENODEV, the removal itself
 * returns at once, and each request has been released exactly once, by its
 * owner, while the chip was still there: its lines can be requested again
 * on the new chip, and nothing frees its interrupt twice.  The real clients
 * are gpiomon, gpioset and gpioget (Debian gpiod) and python3-libgpiod.
 *
 * With CDEV_STOCK=1 in the environment (make controls) the tests assert what a kernel whose
 * drivers/gpio/gpiolib-cdev.c is not converted does instead (the control
 * run): the removal hangs in synchronize_srcu() as long as a reader sleeps
 * in read() of a line request or of the chip (until a signal ends the read).
 * GPIO_HANG_MS=ms sets how long the stock hang is watched (default 3000; more
 * than the hung-task timeout gets the kernel's report of the hang).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <linux/gpio.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "util.h"

#define SIM_CFS		"/sys/kernel/config/"
#define SIM_DIR		SIM_CFS "gpio-sim/"
#define SIM_NAME	"revoke_gpio"
#define SIM_LINES	8
#define REVOKED_POLL	(POLLHUP | POLLERR)
/* how long a removal may take on the converted kernel (TCG, loaded host) */
#define REMOVE_MS	5000
/* how long a stock removal is watched hanging: $GPIO_HANG_MS, default 3 s */
#define HANG_MS		hang_ms()
#define PYTHON		"/usr/bin/python3"

static int hang_ms(void)
{
	const char *s = getenv("GPIO_HANG_MS");

	return s ? atoi(s) : 3000;
}

static void on_sigusr1(int sig)
{
	(void)sig;
}

/* No SA_RESTART: a signal ends a blocked read with EINTR. */
static void catch_sigusr1(void)
{
	struct sigaction sa = { .sa_handler = on_sigusr1 };

	sigaction(SIGUSR1, &sa, NULL);
}

/* A gpio-sim device with one bank */
struct sim {
	char dev[64];		/* gpio-sim.N */
	char chip[32];		/* gpiochipM */
	char node[64];		/* /dev/gpiochipM */
	int live;
};

static int read_str(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

/*
 * gpio-sim.ko (and configfs.ko, which GPIO_SIM=m makes a module too) from
 * the kernel build of the test driver ($TCR_KO), configfs mounted: 0 or
 * -errno.
 */
static int sim_load(void)
{
	int ret;

	if (access(SIM_DIR, F_OK) == 0)
		return 0;
	if (access(SIM_CFS, F_OK)) {
		ret = tcr_load_module_at("../fs/configfs/configfs.ko", "");
		if (ret)
			return ret;
	}
	ret = tcr_load_module_at("../drivers/gpio/gpio-sim.ko", "");
	if (ret)
		return ret;
	if (access(SIM_DIR, F_OK))
		mount("none", SIM_CFS, "configfs", 0, NULL);
	return access(SIM_DIR, F_OK) ? -errno : 0;
}

/* Make the chip live, find its names and wait for its node: 0 or -1. */
static int sim_up(struct sim *s)
{
	int i;

	if (write_str(SIM_DIR SIM_NAME "/live", "1"))
		return -1;
	s->live = 1;
	if (read_str(SIM_DIR SIM_NAME "/dev_name", s->dev, sizeof(s->dev)) ||
	    read_str(SIM_DIR SIM_NAME "/bank0/chip_name", s->chip,
		     sizeof(s->chip)))
		return -1;
	snprintf(s->node, sizeof(s->node), "/dev/%.32s", s->chip);
	for (i = 0; i < 500; i++) {
		if (!access(s->node, F_OK))
			return 0;
		usleep(10000);
	}
	return -1;
}

static int sim_create(struct sim *s)
{
	if (mkdir(SIM_DIR SIM_NAME, 0755) && errno != EEXIST)
		return -1;
	if (mkdir(SIM_DIR SIM_NAME "/bank0", 0755) && errno != EEXIST)
		return -1;
	if (write_str(SIM_DIR SIM_NAME "/bank0/num_lines", "8"))
		return -1;
	return sim_up(s);
}

static void sim_destroy(struct sim *s)
{
	if (s->live)
		write_str(SIM_DIR SIM_NAME "/live", "0");
	rmdir(SIM_DIR SIM_NAME "/bank0");
	rmdir(SIM_DIR SIM_NAME);
}

/* Pull line @offset up or down: an edge if it is an input. */
static int sim_pull(struct sim *s, int offset, int up)
{
	char path[256];

	snprintf(path, sizeof(path), "/sys/devices/platform/%s/%s/sim_gpio%d/pull",
		 s->dev, s->chip, offset);
	return write_str(path, up ? "pull-up" : "pull-down");
}

/* "echo 0 > live" in a thread of its own, timed */
struct remover {
	pthread_t th;
	long t0, ms;
	int ret;
	int done;
};

static void *remover_fn(void *arg)
{
	struct remover *r = arg;

	r->ret = write_str(SIM_DIR SIM_NAME "/live", "0");
	r->ms = now_ms() - r->t0;
	tcr_store(r->done, 1);
	return NULL;
}

static void remove_start(struct sim *s, struct remover *r)
{
	r->done = 0;
	r->t0 = now_ms();
	s->live = 0;
	pthread_create(&r->th, NULL, remover_fn, r);
}

/* Wait up to @ms for the removal: 1 if it has returned. */
static int remove_wait(struct remover *r, long ms)
{
	long end = now_ms() + ms;

	while (!tcr_load(r->done) && now_ms() < end)
		usleep(5000);
	return tcr_load(r->done);
}

static void remove_join(struct remover *r)
{
	pthread_join(r->th, NULL);
}

/* A v2 line request of @n lines from 0, inputs with both edges: its fd. */
static int req_v2(int chip, unsigned int n)
{
	struct gpio_v2_line_request req;
	unsigned int i;

	memset(&req, 0, sizeof(req));
	for (i = 0; i < n; i++)
		req.offsets[i] = i;
	req.num_lines = n;
	req.config.flags = GPIO_V2_LINE_FLAG_INPUT |
			   GPIO_V2_LINE_FLAG_EDGE_RISING |
			   GPIO_V2_LINE_FLAG_EDGE_FALLING;
	snprintf(req.consumer, sizeof(req.consumer), "revoke_gpio");
	if (ioctl(chip, GPIO_V2_GET_LINE_IOCTL, &req))
		return -1;
	return req.fd;
}

/* A v1 line handle of line @offset, an input: its fd. */
static int req_handle(int chip, unsigned int offset)
{
	struct gpiohandle_request req;

	memset(&req, 0, sizeof(req));
	req.lineoffsets[0] = offset;
	req.lines = 1;
	req.flags = GPIOHANDLE_REQUEST_INPUT;
	snprintf(req.consumer_label, sizeof(req.consumer_label), "revoke_gpio");
	if (ioctl(chip, GPIO_GET_LINEHANDLE_IOCTL, &req))
		return -1;
	return req.fd;
}

/* A v1 line event of line @offset, both edges: its fd. */
static int req_event(int chip, unsigned int offset)
{
	struct gpioevent_request req;

	memset(&req, 0, sizeof(req));
	req.lineoffset = offset;
	req.handleflags = GPIOHANDLE_REQUEST_INPUT;
	req.eventflags = GPIOEVENT_REQUEST_BOTH_EDGES;
	snprintf(req.consumer_label, sizeof(req.consumer_label), "revoke_gpio");
	if (ioctl(chip, GPIO_GET_LINEEVENT_IOCTL, &req))
		return -1;
	return req.fd;
}

/* Watch line @offset's info on the chip file: 0 or -1. */
static int watch_line(int chip, unsigned int offset)
{
	struct gpio_v2_line_info info;

	memset(&info, 0, sizeof(info));
	info.offset = offset;
	return ioctl(chip, GPIO_V2_GET_LINEINFO_WATCH_IOCTL, &info);
}

/* Wait up to @ms for line @offset to be requested (by a client): 0 or -1. */
static int wait_line_used(int chip, unsigned int offset, long ms)
{
	struct gpio_v2_line_info info;
	long end = now_ms() + ms;

	do {
		memset(&info, 0, sizeof(info));
		info.offset = offset;
		if (!ioctl(chip, GPIO_V2_GET_LINEINFO_IOCTL, &info) &&
		    (info.flags & GPIO_V2_LINE_FLAG_USED))
			return 0;
		usleep(20000);
	} while (now_ms() < end);
	return -1;
}

/* what a waiter's read() asks for: room for two records of any kind */
#define READ_LEN	(2 * sizeof(struct gpio_v2_line_info_changed))

/* /dev/kmsg from its end: a record that contains @needle since then? */
static int kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd >= 0)
		lseek(fd, 0, SEEK_END);
	return fd;
}

static int kmsg_has(int fd, const char *needle)
{
	char rec[2048];
	ssize_t n;
	int found = 0;

	while ((n = read(fd, rec, sizeof(rec) - 1)) > 0 || (n < 0 && errno == EPIPE)) {
		if (n <= 0)
			continue;
		rec[n] = 0;
		if (strstr(rec, needle))
			found = 1;
	}
	return found;
}

/* A client still running when a test fails: killed by the teardown. */
static pid_t client_pid;

FIXTURE(gpio) {
	struct sim s;
	int chip;
};

FIXTURE_SETUP(gpio)
{
	int ret;

	self->chip = -1;
	memset(&self->s, 0, sizeof(self->s));
	ret = sim_load();
	if (ret == -ENOENT)
		SKIP(return, "gpio-sim.ko not found next to TCR_KO");
	ASSERT_EQ(0, ret) TH_LOG("gpio-sim: %s", strerror(-ret));
	ASSERT_EQ(0, sim_create(&self->s)) TH_LOG("gpio-sim chip: %s", strerror(errno));
	self->chip = open(self->s.node, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->chip) TH_LOG("open %s: %s", self->s.node, strerror(errno));
	catch_sigusr1();
}

FIXTURE_TEARDOWN(gpio)
{
	if (client_pid > 0) {
		kill(client_pid, SIGKILL);
		waitpid(client_pid, NULL, 0);
		client_pid = 0;
	}
	if (self->chip >= 0)
		close(self->chip);
	sim_destroy(&self->s);
}

/*
 * One reader asleep in read() of @fd across the removal.  Converted: the
 * removal returns at once and the reader gets ENODEV.  Stock: the removal
 * and the reader are both still asleep HANG_MS later; a signal ends the
 * read (EINTR), and only then does the removal return.
 */
static void reader_across_removal(struct __test_metadata *_metadata,
				  struct sim *s, int fd, const char *what)
{
	struct remover r;
	struct tcr_waiter w;

	tcr_waiter_start(&w, fd, TCR_W_READ, READ_LEN);
	usleep(200000);
	ASSERT_EQ(0, tcr_load(w.done)) TH_LOG("%s: read returned early: %zd", what, w.ret);
	remove_start(s, &r);
	if (cdev_stock()) {
		EXPECT_EQ(0, remove_wait(&r, HANG_MS));
		EXPECT_EQ(0, tcr_load(w.done));
		TH_LOG("stock: %s: removal and reader still asleep after %d ms",
		       what, HANG_MS);
		pthread_kill(w.th, SIGUSR1);
		ASSERT_EQ(1, tcr_waiter_wait(&w, 5000));
		EXPECT_EQ(-1, w.ret);
		EXPECT_EQ(EINTR, w.err);
		ASSERT_EQ(1, remove_wait(&r, 60000));
		TH_LOG("stock: %s: removal returned %ld ms after it started",
		       what, r.ms);
		TH_LOG("(the reader was signalled at %d ms)", HANG_MS);
	} else {
		ASSERT_EQ(1, remove_wait(&r, REMOVE_MS)) TH_LOG("%s: removal hangs", what);
		ASSERT_EQ(1, tcr_waiter_wait(&w, 2000));
		EXPECT_EQ(-1, w.ret);
		EXPECT_EQ(ENODEV, w.err) TH_LOG("%s: read: %s", what, strerror(w.err));
		TH_LOG("%s: removal returned after %ld ms; read: %zd %s",
		       what, r.ms, w.ret, strerror(w.err));
	}
	EXPECT_EQ(0, r.ret);
	remove_join(&r);
	pthread_join(w.th, NULL);
}

/* A v2 line request's reader (GPIO_V2_GET_LINE_IOCTL) */
TEST_F_TIMEOUT(gpio, v2_request_read_across_removal, 180)
{
	int fd = req_v2(self->chip, 1);

	ASSERT_LE(0, fd) TH_LOG("line request: %s", strerror(errno));
	reader_across_removal(_metadata, &self->s, fd, "v2 line request");
	EXPECT_EQ(0, close(fd));
}

/* A v1 line event's reader (GPIO_GET_LINEEVENT_IOCTL, libgpiod 1.6) */
TEST_F_TIMEOUT(gpio, v1_event_read_across_removal, 180)
{
	int fd = req_event(self->chip, 0);

	ASSERT_LE(0, fd) TH_LOG("line event: %s", strerror(errno));
	reader_across_removal(_metadata, &self->s, fd, "v1 line event");
	EXPECT_EQ(0, close(fd));
}

/* The chip file's reader of line info changes */
TEST_F_TIMEOUT(gpio, lineinfo_read_across_removal, 180)
{
	ASSERT_EQ(0, watch_line(self->chip, 0)) TH_LOG("watch: %s", strerror(errno));
	reader_across_removal(_metadata, &self->s, self->chip, "chip lineinfo watch");
}

/*
 * poll() and epoll_wait() asleep on a v2 request, a v1 event and the chip:
 * woken by the removal with POLLHUP | POLLERR (stock too: the notifiers
 * wake them once the removal gets that far, which it does without readers).
 */
TEST_F_TIMEOUT(gpio, pollers_woken_by_removal, 180)
{
	int fds[3], i, k, n = 0;
	struct tcr_waiter w[6];
	struct remover r;

	fds[0] = req_v2(self->chip, 1);
	fds[1] = req_event(self->chip, 1);
	fds[2] = self->chip;
	ASSERT_LE(0, fds[0]);
	ASSERT_LE(0, fds[1]);
	ASSERT_EQ(0, watch_line(self->chip, 2));
	for (i = 0; i < 3; i++)
		for (k = 0; k < 2; k++)
			tcr_waiter_start(&w[n++], fds[i],
					 k ? TCR_W_EPOLL : TCR_W_POLL, 0);
	usleep(200000);
	for (i = 0; i < n; i++)
		ASSERT_EQ(0, tcr_load(w[i].done));
	remove_start(&self->s, &r);
	ASSERT_EQ(1, remove_wait(&r, REMOVE_MS)) TH_LOG("removal hangs");
	for (i = 0; i < n; i++) {
		ASSERT_EQ(1, tcr_waiter_wait(&w[i], 2000)) TH_LOG("waiter %d asleep", i);
		EXPECT_EQ(1, w[i].ret);
		EXPECT_EQ(REVOKED_POLL, w[i].revents & REVOKED_POLL)
			TH_LOG("waiter %d: revents 0x%x", i, w[i].revents);
		pthread_join(w[i].th, NULL);
	}
	TH_LOG("removal returned after %ld ms; poll revents 0x%x 0x%x 0x%x, epoll 0x%x 0x%x 0x%x",
	       r.ms, w[0].revents, w[2].revents, w[4].revents, w[1].revents,
	       w[3].revents, w[5].revents);
	remove_join(&r);
	EXPECT_EQ(0, close(fds[0]));
	EXPECT_EQ(0, close(fds[1]));
}

/*
 * Every call on every held file after the removal: ENODEV; poll:
 * POLLHUP | POLLERR; close: 0.  (Stock gives the same, through its
 * per-call checks of the chip pointer.)
 */
TEST_F_TIMEOUT(gpio, calls_after_removal, 180)
{
	struct gpio_v2_line_values vals = { .mask = 1 };
	struct gpio_v2_line_request req;
	struct gpiochip_info ci;
	struct gpiohandle_data hd;
	struct pollfd pfd[3];
	struct remover r;
	int v2, h, ev, i;
	char buf[64];

	v2 = req_v2(self->chip, 2);
	h = req_handle(self->chip, 2);
	ev = req_event(self->chip, 3);
	ASSERT_LE(0, v2);
	ASSERT_LE(0, h);
	ASSERT_LE(0, ev);
	ASSERT_EQ(0, ioctl(v2, GPIO_V2_LINE_GET_VALUES_IOCTL, &vals));
	remove_start(&self->s, &r);
	ASSERT_EQ(1, remove_wait(&r, REMOVE_MS));
	remove_join(&r);

	errno = 0;
	EXPECT_EQ(-1, ioctl(v2, GPIO_V2_LINE_GET_VALUES_IOCTL, &vals));
	EXPECT_EQ(ENODEV, errno);
	errno = 0;
	EXPECT_EQ(-1, ioctl(h, GPIOHANDLE_GET_LINE_VALUES_IOCTL, &hd));
	EXPECT_EQ(ENODEV, errno);
	errno = 0;
	EXPECT_EQ(-1, ioctl(ev, GPIOHANDLE_GET_LINE_VALUES_IOCTL, &hd));
	EXPECT_EQ(ENODEV, errno);
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->chip, GPIO_GET_CHIPINFO_IOCTL, &ci));
	EXPECT_EQ(ENODEV, errno);
	memset(&req, 0, sizeof(req));
	req.num_lines = 1;
	req.offsets[0] = 5;
	req.config.flags = GPIO_V2_LINE_FLAG_INPUT;
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->chip, GPIO_V2_GET_LINE_IOCTL, &req));
	EXPECT_EQ(ENODEV, errno);
	fcntl(v2, F_SETFL, O_NONBLOCK);
	errno = 0;
	EXPECT_EQ(-1, read(v2, buf, sizeof(buf)));
	EXPECT_EQ(ENODEV, errno);
	errno = 0;
	EXPECT_EQ(-1, read(ev, buf, sizeof(buf)));
	EXPECT_EQ(ENODEV, errno);
	pfd[0].fd = v2;
	pfd[1].fd = ev;
	pfd[2].fd = self->chip;
	for (i = 0; i < 3; i++)
		pfd[i].events = POLLIN;
	EXPECT_EQ(3, poll(pfd, 3, 0));
	for (i = 0; i < 3; i++) {
		EXPECT_EQ(REVOKED_POLL, pfd[i].revents & REVOKED_POLL)
			TH_LOG("poll %d: revents 0x%x", i, pfd[i].revents);
	}
	TH_LOG("poll after the removal: 0x%x 0x%x 0x%x",
	       pfd[0].revents, pfd[1].revents, pfd[2].revents);
	EXPECT_EQ(0, close(v2));
	EXPECT_EQ(0, close(h));
	EXPECT_EQ(0, close(ev));
}

/* GET_VALUES ioctls in a loop on one file until told to stop */
struct looper {
	pthread_t th;
	int fd, v1, stop;
	long ok, enodev, other;
};

static void *looper_fn(void *arg)
{
	struct looper *l = arg;
	struct gpio_v2_line_values vals = { .mask = 0xf };
	struct gpiohandle_data hd;
	int ret;

	while (!tcr_load(l->stop)) {
		if (l->v1)
			ret = ioctl(l->fd, GPIOHANDLE_GET_LINE_VALUES_IOCTL, &hd);
		else
			ret = ioctl(l->fd, GPIO_V2_LINE_GET_VALUES_IOCTL, &vals);
		if (!ret)
			l->ok++;
		else if (errno == ENODEV)
			l->enodev++;
		else
			l->other++;
	}
	return NULL;
}

/*
 * The removal under load: GET_VALUES ioctl loops on a v2 request and a v1
 * handle, edges on line 0, and 8 io_uring reads queued on the v2 request
 * (io-wq: the file has no ->read_iter).  Converted: the removal returns at
 * once; every ioctl is 0 or ENODEV; each read completes, with an event or
 * ENODEV.  Stock: io-wq's readers hold the removal until the ring is torn
 * down (which cancels them).
 */
TEST_F_TIMEOUT(gpio, load_across_removal, 180)
{
	struct gpio_v2_line_event bufs[8];
	struct looper l[2] = { 0 };
	struct io_uring_cqe *cqe;
	struct io_uring ring;
	int v2, h, i, done = 0, data = 0, enodev = 0, other = 0;
	struct remover r;

	v2 = req_v2(self->chip, 4);
	h = req_handle(self->chip, 5);
	ASSERT_LE(0, v2);
	ASSERT_LE(0, h);
	l[0].fd = v2;
	l[1].fd = h;
	l[1].v1 = 1;
	for (i = 0; i < 2; i++)
		pthread_create(&l[i].th, NULL, looper_fn, &l[i]);
	ASSERT_EQ(0, io_uring_queue_init(8, &ring, 0));
	for (i = 0; i < 8; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

		io_uring_prep_read(sqe, v2, &bufs[i], sizeof(bufs[i]), 0);
		sqe->user_data = i;
	}
	ASSERT_EQ(8, io_uring_submit(&ring));
	for (i = 0; i < 6; i++) {
		sim_pull(&self->s, 0, !(i & 1));
		usleep(20000);
	}
	usleep(300000);
	remove_start(&self->s, &r);
	if (cdev_stock()) {
		EXPECT_EQ(0, remove_wait(&r, HANG_MS));
		TH_LOG("stock: removal still asleep after %d ms under io_uring reads", HANG_MS);
	} else {
		ASSERT_EQ(1, remove_wait(&r, REMOVE_MS)) TH_LOG("removal hangs");
	}
	while (done < 8) {
		struct __kernel_timespec ts = { .tv_sec = cdev_stock() ? 0 : 5 };

		if (io_uring_wait_cqe_timeout(&ring, &cqe, &ts))
			break;
		done++;
		if (cqe->res == (int)sizeof(bufs[0]))
			data++;
		else if (cqe->res == -ENODEV)
			enodev++;
		else
			other++;
		io_uring_cqe_seen(&ring, cqe);
	}
	TH_LOG("io_uring reads: %d of 8 completed: %d events, %d ENODEV, %d other",
	       done, data, enodev, other);
	if (!cdev_stock()) {
		EXPECT_EQ(8, done);
		EXPECT_EQ(0, other);
	}
	io_uring_queue_exit(&ring);
	ASSERT_EQ(1, remove_wait(&r, 60000));
	usleep(100000);
	for (i = 0; i < 2; i++) {
		tcr_store(l[i].stop, 1);
		pthread_join(l[i].th, NULL);
		TH_LOG("%s GET_VALUES loop: %ld ok, %ld ENODEV, %ld other",
		       i ? "v1 handle" : "v2 request", l[i].ok, l[i].enodev, l[i].other);
		EXPECT_EQ(0, l[i].other);
		EXPECT_LT(0, l[i].ok);
		EXPECT_LT(0, l[i].enodev);
	}
	TH_LOG("removal returned after %ld ms", r.ms);
	remove_join(&r);
	EXPECT_EQ(0, close(v2));
	EXPECT_EQ(0, close(h));
}

/*
 * Each request is released once, by its owner, while the chip is there:
 * with the old files still held, the chip made live again gives the same
 * lines to new requests (which see edges), and closing the old files after
 * that frees nothing twice (no "Trying to free already-free IRQ").
 */
TEST_F_TIMEOUT(gpio, released_once_at_removal, 180)
{
	struct gpio_v2_line_event le;
	struct gpio_v2_line_values vals = { .mask = 1 };
	int v2, ev, h, chip2, n2, kmsg, warned;
	struct pollfd pfd;
	struct remover r;

	kmsg = kmsg_open();
	v2 = req_v2(self->chip, 2);
	ev = req_event(self->chip, 2);
	h = req_handle(self->chip, 3);
	ASSERT_LE(0, v2);
	ASSERT_LE(0, ev);
	ASSERT_LE(0, h);
	remove_start(&self->s, &r);
	ASSERT_EQ(1, remove_wait(&r, REMOVE_MS));
	remove_join(&r);

	ASSERT_EQ(0, sim_up(&self->s));
	chip2 = open(self->s.node, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, chip2);
	n2 = req_v2(chip2, 3);
	ASSERT_LE(0, n2) TH_LOG("request of lines 0-2 on the new %s: %s",
				self->s.chip, strerror(errno));
	EXPECT_EQ(0, ioctl(n2, GPIO_V2_LINE_GET_VALUES_IOCTL, &vals));
	ASSERT_EQ(0, sim_pull(&self->s, 0, 1));
	pfd.fd = n2;
	pfd.events = POLLIN;
	EXPECT_EQ(1, poll(&pfd, 1, 5000));
	EXPECT_EQ((ssize_t)sizeof(le), read(n2, &le, sizeof(le)));
	EXPECT_EQ(0, le.offset);
	/* the old files never reach the new chip */
	errno = 0;
	EXPECT_EQ(-1, ioctl(v2, GPIO_V2_LINE_GET_VALUES_IOCTL, &vals));
	EXPECT_EQ(ENODEV, errno);
	EXPECT_EQ(0, close(v2));
	EXPECT_EQ(0, close(ev));
	EXPECT_EQ(0, close(h));
	usleep(100000);
	warned = kmsg >= 0 && kmsg_has(kmsg, "already-free IRQ");
	TH_LOG("lines 0-2 requested again on the new %s; old files closed; free_irq warning: %s",
	       self->s.chip, warned ? "yes" : "no");
	if (cdev_stock())
		TH_LOG("stock: the removal force-freed the requests' IRQs");
	else
		EXPECT_EQ(0, warned);
	EXPECT_EQ(0, close(n2));
	EXPECT_EQ(0, close(chip2));
	if (kmsg >= 0)
		close(kmsg);
}

/*
 * Run @path with the arguments that follow it (up to 6, then NULL), stdout
 * and stderr into a pipe: its pid, the pipe in *@out.
 */
static pid_t spawn(int *out, const char *path, ...)
{
	const char *argv[8];
	int p[2], n = 0;
	va_list ap;
	pid_t pid;

	argv[n++] = path;
	va_start(ap, path);
	while (n < 7 && (argv[n] = va_arg(ap, const char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	if (pipe2(p, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	*out = p[0];
	return pid;
}

/* Wait up to @ms for @pid: its wait status, or -1 if it still runs. */
static int wait_ms(pid_t pid, long ms)
{
	long end = now_ms() + ms;
	int st;

	do {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return st;
		usleep(10000);
	} while (now_ms() < end);
	return -1;
}

/* The rest of @fd's output after the @off bytes in @buf, on one line. */
static void slurp(int fd, char *buf, size_t len, ssize_t off)
{
	ssize_t n;

	fcntl(fd, F_SETFL, O_NONBLOCK);
	while (off < (ssize_t)len - 1 && (n = read(fd, buf + off, len - 1 - off)) > 0)
		off += n;
	buf[off] = 0;
	for (n = 0; n < off; n++)
		if (buf[n] == '\n' && n + 1 < off)
			buf[n] = '|';
}

/*
 * Read what @fd has into @buf (which holds *@off bytes) until it contains
 * @marker, for up to @ms: 0 if it does.
 */
static int wait_output(int fd, char *buf, size_t len, size_t *off,
		       const char *marker, long ms)
{
	long end = now_ms() + ms;
	ssize_t n;

	fcntl(fd, F_SETFL, O_NONBLOCK);
	do {
		while (*off < len - 1 &&
		       (n = read(fd, buf + *off, len - 1 - *off)) > 0)
			*off += n;
		buf[*off] = 0;
		if (strstr(buf, marker))
			return 0;
		usleep(20000);
	} while (now_ms() < end);
	return -1;
}

/*
 * A client across the removal: started; once it has requested line 0
 * (150 s at most: a Python start-up on a loaded TCG host is slow), line 0
 * gets edges until the client has printed @marker (if any; one edge
 * otherwise), then the chip is removed.  Converted: the removal returns
 * at once and the client exits on its own within 5 s, with an error.
 * Stock: logged, and for @stock_hangs the hang is asserted and the client
 * is interrupted.
 */
static void client_across_removal(struct __test_metadata *_metadata,
				  struct sim *s, int chip, int stock_hangs,
				  const char *marker, const char *path,
				  const char *a1, const char *a2,
				  const char *a3)
{
	char out[1024];
	size_t off = 0;
	struct remover r;
	int fd, st, i;
	pid_t pid;

	if (access(path, X_OK))
		SKIP(return, "%s not installed", path);
	pid = spawn(&fd, path, a1, a2, a3, NULL);
	ASSERT_LT(0, pid);
	client_pid = pid;
	if (wait_line_used(chip, 0, 150000)) {
		slurp(fd, out, sizeof(out), 0);
		ASSERT_TRUE(0) TH_LOG("%s did not request line 0: %s", path, out);
	}
	usleep(300000);
	/* its interrupt may come after the request: edges until it reports one */
	for (i = 0; i < 30; i++) {
		sim_pull(s, 0, !(i & 1));
		if (!marker ||
		    !wait_output(fd, out, sizeof(out), &off, marker, 1000))
			break;
	}
	ASSERT_GT(30, i) TH_LOG("%s did not print '%s': %s", path, marker, out);
	usleep(300000);
	ASSERT_EQ(-1, wait_ms(pid, 0)) TH_LOG("%s exited early", path);
	remove_start(s, &r);
	if (cdev_stock() && stock_hangs) {
		EXPECT_EQ(0, remove_wait(&r, HANG_MS));
		TH_LOG("stock: removal still asleep after %d ms under %s", HANG_MS, path);
		kill(pid, SIGINT);
		ASSERT_EQ(1, remove_wait(&r, 60000));
		st = wait_ms(pid, 5000);
	} else {
		st = wait_ms(pid, 5000);
		if (!cdev_stock())
			ASSERT_EQ(1, remove_wait(&r, REMOVE_MS)) TH_LOG("removal hangs");
	}
	if (st == -1) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		remove_wait(&r, 60000);
		slurp(fd, out, sizeof(out), off);
		TH_LOG("%s still running 5 s after the removal: %s", path, out);
		EXPECT_EQ(1, cdev_stock());
	} else {
		slurp(fd, out, sizeof(out), off);
		TH_LOG("%s: removal returned after %ld ms; client %s %d: %s", path, r.ms,
		       WIFEXITED(st) ? "exit" : "signal",
		       WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st), out);
		if (!cdev_stock())
			EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) != 0);
	}
	close(fd);
	client_pid = 0;
	remove_join(&r);
}

/* gpiomon (libgpiod 1.6: a v1 line event, poll()) */
TEST_F_TIMEOUT(gpio, gpiomon, 300)
{
	client_across_removal(_metadata, &self->s, self->chip, 0, NULL,
			      "/usr/bin/gpiomon", self->s.chip, "0", NULL);
}

/* python3-libgpiod's module (gpiod.cpython-*.so) in dist-packages? */
static int have_pygpiod(void)
{
	DIR *d = opendir("/usr/lib/python3/dist-packages");
	struct dirent *de;
	int found = 0;

	if (!d)
		return 0;
	while (!found && (de = readdir(d)))
		found = !strncmp(de->d_name, "gpiod.cpython-", 14);
	closedir(d);
	return found && !access(PYTHON, X_OK);
}

/*
 * python3-libgpiod: line.event_read() is a blocking read() of a v1 line
 * event; the plan's stock hang, and ENODEV (OSError) once converted.
 */
TEST_F_TIMEOUT(gpio, python_event_read, 300)
{
	char prog[512];

	snprintf(prog, sizeof(prog),
		 "import sys\n"
		 "sys.path.append('/usr/lib/python3/dist-packages')\n"
		 "import gpiod\n"
		 "line = gpiod.Chip('%s').get_line(0)\n"
		 "line.request(consumer='revoke_gpio', type=gpiod.LINE_REQ_EV_BOTH_EDGES)\n"
		 "print('event', line.event_read().type, flush=True)\n"
		 "try:\n"
		 "    line.event_read()\n"
		 "except OSError as e:\n"
		 "    print('OSError', e.errno, e.strerror); sys.exit(3)\n",
		 self->s.chip);
	if (!have_pygpiod())
		SKIP(return, "python3-libgpiod not installed");
	/* -S: no site module, which halves a start-up of ~45 s here */
	client_across_removal(_metadata, &self->s, self->chip, 1, "event",
			      PYTHON, "-S", "-c", prog);
}

/*
 * gpioset --mode=signal holds a v1 line handle across the removal and is
 * then told to stop; gpioget on the removed chip fails cleanly.
 */
TEST_F_TIMEOUT(gpio, gpioset_gpioget, 180)
{
	char out[1024];
	struct remover r;
	int fd, st;
	pid_t pid;

	if (access("/usr/bin/gpioset", X_OK) || access("/usr/bin/gpioget", X_OK))
		SKIP(return, "gpiod not installed");
	pid = spawn(&fd, "/usr/bin/gpioset", "--mode=signal", self->s.chip,
		    "4=1", NULL);
	ASSERT_LT(0, pid);
	client_pid = pid;
	ASSERT_EQ(0, wait_line_used(self->chip, 4, 60000))
		TH_LOG("gpioset did not request line 4");
	/* its signalfd is set up after the request */
	usleep(500000);
	ASSERT_EQ(-1, wait_ms(pid, 0)) TH_LOG("gpioset exited early");
	remove_start(&self->s, &r);
	ASSERT_EQ(1, remove_wait(&r, REMOVE_MS)) TH_LOG("removal hangs");
	remove_join(&r);
	kill(pid, SIGTERM);
	st = wait_ms(pid, 5000);
	ASSERT_NE(-1, st);
	client_pid = 0;
	slurp(fd, out, sizeof(out), 0);
	close(fd);
	TH_LOG("gpioset after the removal, SIGTERM: %s %d: %s",
	       WIFEXITED(st) ? "exit" : "signal",
	       WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st), out);
	EXPECT_TRUE(WIFEXITED(st));

	pid = spawn(&fd, "/usr/bin/gpioget", self->s.chip, "4", NULL);
	ASSERT_LT(0, pid);
	st = wait_ms(pid, 5000);
	ASSERT_NE(-1, st);
	slurp(fd, out, sizeof(out), 0);
	close(fd);
	TH_LOG("gpioget %s after the removal: exit %d: %s", self->s.chip,
	       WEXITSTATUS(st), out);
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) != 0);
}

TEST_HARNESS_MAIN
