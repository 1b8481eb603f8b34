// SPDX-License-Identifier: GPL-2.0
/*
 * i2c-dev on cdev_revoke: /dev/i2c-N of q35's ICH9 SMBus (i2c-i801 bound to
 * PCI 0000:00:1f.3; QEMU puts SPD EEPROMs at 0x50-0x57 on it) held open, and
 * used, while the adapter is deleted by an unbind of i801_smbus or an rmmod
 * of i2c_i801.
 *
 * Every open file of /dev/i2c-N pins the adapter (i2c_get_adapter()), and
 * i2c_del_adapter() waits until the adapter's last reference is dropped.  On
 * stock 6.12 the unbind therefore blocks until userspace closes the file,
 * while the held file goes on doing SMBus transfers on the adapter being
 * deleted.  With i2c-dev opted in to cdev_revoke the unbind revokes the
 * files: it completes at once, the held files get ENODEV, each was released
 * once (its adapter and module references dropped: the i2c_i801 module
 * refcount is back where it was without the files, and the completion the
 * unbind waits for fired), and the adapter bound again is never reached
 * through a stale file.  The clients are i2c-tools' i2cdetect and i2cget.
 *
 * The "stock" fixture loads the stock i2c-dev.ko (built from the base
 * commit's source against the same kernel by scripts/vm-test.sh) in place of
 * the converted module and asserts the stock behaviour: the control.
 *
 * Environment: TCR_KO=path of test_cdev_revoke.ko; i2c-smbus.ko, i2c-i801.ko
 * and i2c-dev.ko are found relative to it in the same build tree (the guest
 * has no modprobe), the stock i2c-dev.ko in ../../i2c-stock/ relative to
 * its directory.  TCR_CYCLES: unbind/bind cycles of the load test times 10
 * (default 250: 25 cycles).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <liburing.h>
#include <linux/i2c-dev.h>
#include <linux/i2c.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "util.h"

#define I801_PCI	"0000:00:1f.3"
#define I801_DEV	"/sys/bus/pci/devices/" I801_PCI
#define I801_DRV	"/sys/bus/pci/drivers/i801_smbus/"
#define I801_REFCNT	"/sys/module/i2c_i801/refcnt"
#define SPD		0x50	/* the first SPD EEPROM */
#define SPD_LAST	0x57	/* the EEPROM the write tests use */
#define SPD_OFF		0x80	/* an unused byte of it */
#define UNBIND_MS	10000	/* "at once", on a loaded TCG host */

/* The adapter of the SMBus controller: its number, or -1 if it has none. */
static int bus_find(char *node, size_t len)
{
	char path[256];
	struct dirent *de;
	int nr = -1;
	DIR *d;

	d = opendir(I801_DEV);
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		if (sscanf(de->d_name, "i2c-%d", &nr) != 1)
			continue;
		snprintf(path, sizeof(path), I801_DEV "/i2c-%d/i2c-dev/i2c-%d",
			 nr, nr);
		if (!access(path, F_OK))
			break;
		nr = -1;
	}
	closedir(d);
	if (nr >= 0)
		snprintf(node, len, "/dev/i2c-%d", nr);
	return nr;
}

/* Wait up to 10 s for the adapter's node: its number, or -1. */
static int bus_wait(char *node, size_t len)
{
	int i, nr;

	for (i = 0; i < 1000; i++) {
		nr = bus_find(node, len);
		if (nr >= 0 && !access(node, F_OK))
			return nr;
		usleep(10000);
	}
	return -1;
}

static int bus_bound(void)
{
	return !access(I801_DEV "/driver", F_OK);
}

static int bus_bind(void)
{
	return write_str(I801_DRV "bind", I801_PCI);
}

/* Load what the tests need, the stock i2c-dev.ko if @stock; NULL or why not. */
static const char *bus_setup(int stock, char *node, size_t len)
{
	static char why[128];
	int ret;

	if (access(I801_DEV, F_OK))
		return "no ICH9 SMBus at " I801_PCI;
	/* i2c-dev: the one asked for */
	ret = tcr_load_kind("i2c_dev", "../drivers/i2c/i2c-dev.ko",
			    "../../i2c-stock/i2c-dev.ko", stock);
	if (ret == -ENOENT)
		return stock ? "no stock i2c-dev.ko (build/out/i2c-stock)" :
			       "no i2c-dev.ko next to TCR_KO";
	if (ret) {
		snprintf(why, sizeof(why), "load i2c-dev: %s", strerror(-ret));
		return why;
	}
	/* not a module if nothing selects it as one */
	tcr_load_module_at("../drivers/i2c/i2c-smbus.ko", "");
	ret = tcr_load_module_at("../drivers/i2c/busses/i2c-i801.ko", "");
	if (ret) {
		snprintf(why, sizeof(why), "load i2c-i801: %s", strerror(-ret));
		return why;
	}
	if (!bus_bound())
		bus_bind();
	if (bus_wait(node, len) < 0)
		return "no /dev/i2c-N for " I801_PCI;
	return NULL;
}

/* Leave the bus bound to i801_smbus, with the converted i2c-dev loaded. */
static void bus_teardown(void)
{
	char node[64];

	tcr_load_module_at("../drivers/i2c/i2c-smbus.ko", "");
	tcr_load_module_at("../drivers/i2c/busses/i2c-i801.ko", "");
	if (!bus_bound())
		bus_bind();
	if (tcr_module_stock("i2c_dev") && !tcr_rmmod("i2c_dev"))
		tcr_load_module_at("../drivers/i2c/i2c-dev.ko", "");
	bus_wait(node, sizeof(node));
}

/* Open @node with the client address @addr: the fd or -errno. */
static int open_client(const char *node, int addr)
{
	int fd = open(node, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (ioctl(fd, I2C_SLAVE, addr)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

static int smbus_access(int fd, char rw, __u8 cmd, int size,
			union i2c_smbus_data *data)
{
	struct i2c_smbus_ioctl_data args = {
		.read_write = rw, .command = cmd, .size = size, .data = data,
	};

	return ioctl(fd, I2C_SMBUS, &args) ? -errno : 0;
}

/* SMBus "read byte data" of @cmd: the byte or -errno. */
static int smbus_read(int fd, __u8 cmd)
{
	union i2c_smbus_data data;
	int ret = smbus_access(fd, I2C_SMBUS_READ, cmd, I2C_SMBUS_BYTE_DATA,
			       &data);

	return ret ? ret : data.byte;
}

static int smbus_write(int fd, __u8 cmd, __u8 val)
{
	union i2c_smbus_data data = { .byte = val };

	return smbus_access(fd, I2C_SMBUS_WRITE, cmd, I2C_SMBUS_BYTE_DATA,
			    &data);
}

/* An unbind of the SMBus controller (or an rmmod of i2c_i801), in a child. */
struct unbind {
	pid_t pid;
	long t0;
	long ms;	/* how long it took, once done */
	int err;	/* its errno, once done */
};

static int unbind_start(struct unbind *u, int rmmod)
{
	u->t0 = now_ms();
	u->ms = -1;
	u->pid = fork();
	if (u->pid < 0)
		return -1;
	if (!u->pid) {
		/* not a copy of the caller's files: they would hold the unbind */
		syscall(SYS_close_range, 3, ~0U, 0);
		_exit(rmmod ? -tcr_rmmod("i2c_i801") :
			      -write_str(I801_DRV "unbind", I801_PCI));
	}
	return 0;
}

/* Wait up to @ms for the unbind: 1 if it is done, 0 if it still runs. */
static int unbind_wait(struct unbind *u, long ms)
{
	long t0 = now_ms();
	int st;

	if (u->ms >= 0)
		return 1;
	for (;;) {
		if (waitpid(u->pid, &st, WNOHANG) == u->pid) {
			u->ms = now_ms() - u->t0;
			u->err = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
			return 1;
		}
		if (now_ms() - t0 >= ms)
			return 0;
		usleep(2000);
	}
}

/* Unbind (or rmmod) and wait up to 60 s: its errno, -1 if it hangs. */
static int unbind_now(struct unbind *u, int rmmod)
{
	if (unbind_start(u, rmmod))
		return -1;
	return unbind_wait(u, 60000) ? u->err : -1;
}

/* Run i2cdetect -y @nr: 0x50-0x57 answered (bit per address), or -1. */
static int run_i2cdetect(int nr)
{
	char cmd[64], line[256];
	int found = 0, row, i;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "i2cdetect -y %d 2>&1", nr);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	while (fgets(line, sizeof(line), p)) {
		char *s, *tok;

		if (sscanf(line, "%x:", &row) != 1 || row != SPD)
			continue;
		s = strchr(line, ':') + 1;
		for (i = 0; i < 8 && (tok = strtok(i ? NULL : s, "\n ")); i++)
			if (strtol(tok, NULL, 16) == SPD + i)
				found |= 1 << i;
	}
	return pclose(p) ? -1 : found;
}

/* Run i2cget -y @nr 0x50 0: its exit status (128 + signal if killed). */
static int run_i2cget(int nr)
{
	char bus[16];
	pid_t pid;
	int st;

	snprintf(bus, sizeof(bus), "%d", nr);
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		dup2(null, 2);
		execlp("i2cget", "i2cget", "-y", bus, "0x50", "0", NULL);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

FIXTURE(i2c) {
	char node[64];
	int nr;
	long refs;	/* i2c_i801's module refcount with no file open */
};

FIXTURE_SETUP(i2c)
{
	const char *why = bus_setup(0, self->node, sizeof(self->node));

	if (why)
		SKIP(return, "%s", why);
	self->nr = bus_find(self->node, sizeof(self->node));
	self->refs = read_long(I801_REFCNT);
	ASSERT_LE(0, self->refs);
}

FIXTURE_TEARDOWN(i2c)
{
	bus_teardown();
}

/* QEMU's SPD EEPROMs answer i2cdetect and i2cget on the adapter. */
TEST_F_TIMEOUT(i2c, eeproms, 120)
{
	int found = run_i2cdetect(self->nr);

	TH_LOG("i2cdetect -y %d: 0x50-0x57 mask 0x%x", self->nr, found);
	EXPECT_EQ(0xff, found);
	EXPECT_EQ(0, run_i2cget(self->nr));
}

/*
 * Two held files, one of them in use by SMBus transfers: the unbind
 * completes at once, the files get ENODEV for every call, both were
 * released (the adapter and module references of each dropped once).
 */
TEST_F_TIMEOUT(i2c, unbind_with_held_files, 60)
{
	struct i2c_smbus_ioctl_data args = { 0 };
	unsigned long funcs;
	struct unbind u;
	char buf[1] = { 0 };
	int fd[2], i, ret;

	/* for comparison: an unbind and bind with no file open */
	ASSERT_EQ(0, unbind_now(&u, 0));
	TH_LOG("unbind with no file open: %ld ms", u.ms);
	ASSERT_EQ(0, bus_bind());
	ASSERT_LE(0, bus_wait(self->node, sizeof(self->node)));
	for (i = 0; i < 2; i++) {
		fd[i] = open_client(self->node, SPD);
		ASSERT_LE(0, fd[i]) TH_LOG("open %s: %s", self->node,
					   strerror(-fd[i]));
	}
	ASSERT_LE(0, smbus_read(fd[0], 0));
	ASSERT_EQ(self->refs + 2, read_long(I801_REFCNT));
	ASSERT_EQ(0, unbind_now(&u, 0));
	TH_LOG("unbind with 2 files open: %ld ms", u.ms);
	EXPECT_GT(UNBIND_MS, u.ms);
	/* each file's i2c_put_adapter() ran: the module references are back */
	EXPECT_EQ(self->refs, read_long(I801_REFCNT));
	EXPECT_NE(0, access(self->node, F_OK));
	for (i = 0; i < 2; i++) {
		ret = smbus_read(fd[i], 0);
		EXPECT_EQ(-ENODEV, ret) TH_LOG("I2C_SMBUS: %d", ret);
		EXPECT_EQ(-1, ioctl(fd[i], I2C_FUNCS, &funcs));
		EXPECT_EQ(ENODEV, errno);
		EXPECT_EQ(-1, ioctl(fd[i], I2C_SLAVE, SPD + 1));
		EXPECT_EQ(ENODEV, errno);
		args.size = I2C_SMBUS_QUICK;
		EXPECT_EQ(-1, ioctl(fd[i], I2C_SMBUS, &args));
		EXPECT_EQ(ENODEV, errno);
		EXPECT_EQ(-1, read(fd[i], buf, 1));
		EXPECT_EQ(ENODEV, errno);
		EXPECT_EQ(-1, write(fd[i], buf, 1));
		EXPECT_EQ(ENODEV, errno);
		EXPECT_EQ(0, close(fd[i]));
	}
	/* the close released nothing more */
	EXPECT_EQ(self->refs, read_long(I801_REFCNT));
}

/*
 * A held file across unbind and bind: the adapter bound again (the same
 * /dev/i2c-N) works for a new file and i2cdetect, the stale file gets
 * ENODEV and never reaches it: its SMBus write to an EEPROM does not land.
 */
TEST_F_TIMEOUT(i2c, rebind_stale_file, 120)
{
	char old[64];
	struct unbind u;
	int fd, fd2, ret;

	fd = open_client(self->node, SPD_LAST);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, smbus_write(fd, SPD_OFF, 0x11));
	ASSERT_EQ(0x11, smbus_read(fd, SPD_OFF));
	snprintf(old, sizeof(old), "%s", self->node);
	ASSERT_EQ(0, unbind_now(&u, 0));
	ASSERT_EQ(0, bus_bind());
	self->nr = bus_wait(self->node, sizeof(self->node));
	ASSERT_LE(0, self->nr);
	TH_LOG("held %s across the unbind (%ld ms), bound again as %s", old,
	       u.ms, self->node);
	fd2 = open_client(self->node, SPD_LAST);
	ASSERT_LE(0, fd2);
	EXPECT_EQ(self->refs + 1, read_long(I801_REFCNT));
	ret = smbus_write(fd, SPD_OFF, 0xa5);
	EXPECT_EQ(-ENODEV, ret) TH_LOG("stale I2C_SMBUS write: %d", ret);
	EXPECT_EQ(-ENODEV, smbus_read(fd, SPD_OFF));
	/* the EEPROM (QEMU's, it survives the unbind) has the old value */
	EXPECT_EQ(0x11, smbus_read(fd2, SPD_OFF));
	EXPECT_EQ(0, smbus_write(fd2, SPD_OFF, 0));
	EXPECT_EQ(0, close(fd));
	EXPECT_EQ(self->refs + 1, read_long(I801_REFCNT));
	EXPECT_EQ(0xff, run_i2cdetect(self->nr));
	EXPECT_EQ(0, close(fd2));
	EXPECT_EQ(self->refs, read_long(I801_REFCNT));
}

/*
 * rmmod i2c_i801 with a file open: refused (EAGAIN: the open file holds
 * the module, as on stock); after the unbind revoked the file, the module
 * unloads with the stale file still open, and loads and binds again.
 */
TEST_F_TIMEOUT(i2c, rmmod_adapter_driver, 120)
{
	struct unbind u;
	int fd, ret;

	fd = open_client(self->node, SPD);
	ASSERT_LE(0, fd);
	ret = unbind_now(&u, 1);
	TH_LOG("rmmod i2c_i801 with a file open: %s (%ld ms)", strerror(ret),
	       u.ms);
	EXPECT_EQ(EAGAIN, ret);
	ASSERT_EQ(0, unbind_now(&u, 0));
	TH_LOG("unbind: %ld ms", u.ms);
	ret = unbind_now(&u, 1);
	TH_LOG("rmmod i2c_i801 with the revoked file open: %s (%ld ms)",
	       strerror(ret), u.ms);
	EXPECT_EQ(0, ret);
	EXPECT_FALSE(tcr_module_loaded("i2c_i801"));
	EXPECT_EQ(-ENODEV, smbus_read(fd, 0));
	ASSERT_EQ(0, tcr_load_module_at("../drivers/i2c/busses/i2c-i801.ko", ""));
	self->nr = bus_wait(self->node, sizeof(self->node));
	ASSERT_LE(0, self->nr);
	EXPECT_EQ(0, run_i2cget(self->nr));
	EXPECT_EQ(-ENODEV, smbus_read(fd, 0));
	EXPECT_EQ(0, close(fd));
}

/*
 * The load: threads with files of their own doing SMBus transfers,
 * read()/write() (EOPNOTSUPP on the SMBus-only i801 while it is bound) and
 * io_uring reads; processes running i2cget and i2cdetect in loops.  A file
 * that got ENODEV is closed and opened again (ENOENT or ENXIO while the
 * adapter is gone).  Outcomes are counted by kind; anything else is
 * "other", which must stay 0.
 */
enum { K_SMBUS, K_RW, K_URING, K_OPEN, K_I2CGET, K_I2CDETECT, K_NR };
static const char *const kind_name[K_NR] = {
	"I2C_SMBUS", "read/write", "io_uring read", "open", "i2cget",
	"i2cdetect",
};

struct load {
	int stop;
	int nr;			/* the adapter's number, for the tools */
	char node[64];
	long ok[K_NR], gone[K_NR], other[K_NR];
	int last_other[K_NR];
};

static struct load *L;	/* shared with the tool processes */

static void count(int kind, int err)
{
	long *c;

	if (!err || (err == -EOPNOTSUPP && (kind == K_RW || kind == K_URING))) {
		c = &L->ok[kind];
	} else if (err == -ENODEV || (kind == K_OPEN && (err == -ENOENT ||
							 err == -ENXIO))) {
		c = &L->gone[kind];
	} else {
		c = &L->other[kind];
		tcr_store(L->last_other[kind], err);
	}
	__atomic_add_fetch(c, 1, __ATOMIC_RELAXED);
}

/* A file of the adapter: the open one, or a new one once it was revoked. */
static int load_reopen(int fd)
{
	char node[64];

	if (fd >= 0)
		close(fd);
	while (!tcr_load(L->stop)) {
		memcpy(node, L->node, sizeof(node));
		fd = open_client(node, SPD);
		count(K_OPEN, fd < 0 ? fd : 0);
		if (fd >= 0)
			return fd;
		usleep(5000);
	}
	return -1;
}

static void *smbus_fn(void *arg)
{
	int fd = load_reopen(-1), ret;

	(void)arg;
	while (fd >= 0 && !tcr_load(L->stop)) {
		ret = smbus_read(fd, 0);
		count(K_SMBUS, ret < 0 ? ret : 0);
		if (ret == -ENODEV)
			fd = load_reopen(fd);
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

static void *rw_fn(void *arg)
{
	int fd = load_reopen(-1), ret, i = 0;
	char buf[1] = { 0 };

	(void)arg;
	while (fd >= 0 && !tcr_load(L->stop)) {
		ret = i++ & 1 ? write(fd, buf, 1) : read(fd, buf, 1);
		ret = ret < 0 ? -errno : -EIO;	/* i801: never succeeds */
		count(K_RW, ret);
		if (ret == -ENODEV)
			fd = load_reopen(fd);
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

static void *uring_fn(void *arg)
{
	struct io_uring_cqe *cqe;
	struct io_uring ring;
	char buf[8];
	int fd, i, gone;

	(void)arg;
	if (io_uring_queue_init(8, &ring, 0)) {
		count(K_URING, -EINVAL);
		return NULL;
	}
	fd = load_reopen(-1);
	while (fd >= 0 && !tcr_load(L->stop)) {
		for (i = 0; i < 8; i++)
			io_uring_prep_read(io_uring_get_sqe(&ring), fd,
					   &buf[i], 1, 0);
		io_uring_submit(&ring);
		gone = 0;
		for (i = 0; i < 8; i++) {
			if (io_uring_wait_cqe(&ring, &cqe))
				break;
			count(K_URING, cqe->res < 0 ? cqe->res : -EIO);
			gone |= cqe->res == -ENODEV;
			io_uring_cqe_seen(&ring, cqe);
		}
		if (gone)
			fd = load_reopen(fd);
	}
	if (fd >= 0)
		close(fd);
	io_uring_queue_exit(&ring);
	return NULL;
}

/* i2cget or i2cdetect in a loop: exit 0 ok, 1 or 2 (no adapter) gone. */
static void tool_loop(int kind)
{
	int st;

	while (!tcr_load(L->stop)) {
		if (kind == K_I2CGET) {
			st = run_i2cget(tcr_load(L->nr));
		} else {
			st = run_i2cdetect(tcr_load(L->nr));
			st = st < 0 ? 1 : 0;
		}
		if (st == 1 || st == 2)
			st = -ENODEV;
		count(kind, st);
	}
}

#define N_THREADS	4
static void *(*const load_fns[N_THREADS])(void *) = {
	smbus_fn, smbus_fn, rw_fn, uring_fn,
};

struct load_run {
	pthread_t th[N_THREADS];
	pid_t tools[2];
};

static int load_start(struct load_run *r, const char *node, int nr)
{
	int i;

	L = mmap(NULL, sizeof(*L), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (L == MAP_FAILED)
		return -1;
	memset(L, 0, sizeof(*L));
	snprintf(L->node, sizeof(L->node), "%s", node);
	L->nr = nr;
	for (i = 0; i < 2; i++) {
		r->tools[i] = fork();
		if (!r->tools[i]) {
			tool_loop(i ? K_I2CDETECT : K_I2CGET);
			_exit(0);
		}
	}
	for (i = 0; i < N_THREADS; i++)
		if (pthread_create(&r->th[i], NULL, load_fns[i], NULL))
			return -1;
	return 0;
}

/* Stop the load; 0, or -1 if a tool loop did not exit cleanly. */
static int load_stop(struct load_run *r)
{
	int i, st, ret = 0;

	tcr_store(L->stop, 1);
	for (i = 0; i < N_THREADS; i++)
		pthread_join(r->th[i], NULL);
	for (i = 0; i < 2; i++)
		if (waitpid(r->tools[i], &st, 0) != r->tools[i] ||
		    !WIFEXITED(st) || WEXITSTATUS(st))
			ret = -1;
	return ret;
}

static void load_report(struct __test_metadata *_metadata)
{
	int k;

	for (k = 0; k < K_NR; k++)
		TH_LOG("%-14s ok %6ld  gone %6ld  other %ld%s%s", kind_name[k],
		       L->ok[k], L->gone[k], L->other[k],
		       L->other[k] ? " last: " : "",
		       L->other[k] ? strerror(-L->last_other[k]) : "");
}

static long load_other(void)
{
	long n = 0;
	int k;

	for (k = 0; k < K_NR; k++)
		n += L->other[k];
	return n;
}

/* Wait up to @ms until every load thread's file has been revoked. */
static long load_wait_gone(long before[K_NR], long ms)
{
	long t0 = now_ms();

	while (now_ms() - t0 < ms) {
		if (L->gone[K_SMBUS] > before[K_SMBUS] &&
		    L->gone[K_RW] > before[K_RW] &&
		    L->gone[K_URING] > before[K_URING])
			return now_ms() - t0;
		usleep(2000);
	}
	return -1;
}

/*
 * One unbind under the load: completes at once, every loaded file gets
 * ENODEV, nothing else fails; bound again, i2cdetect sees the EEPROMs.
 */
TEST_F_TIMEOUT(i2c, unbind_under_load, 180)
{
	long before[K_NR] = { 0 }, gone_ms;
	struct load_run r;
	struct unbind u;
	int k;

	ASSERT_EQ(0, load_start(&r, self->node, self->nr));
	usleep(1500000);
	for (k = 0; k < K_NR; k++)
		before[k] = L->gone[k];
	ASSERT_EQ(0, unbind_start(&u, 0));
	EXPECT_EQ(1, unbind_wait(&u, 60000));
	gone_ms = load_wait_gone(before, 5000);
	TH_LOG("unbind under load: %ld ms (errno %d); all files revoked %ld ms later",
	       u.ms, u.err, gone_ms);
	EXPECT_EQ(0, u.err);
	EXPECT_GT(UNBIND_MS, u.ms);
	EXPECT_LE(0, gone_ms);
	usleep(300000);
	EXPECT_EQ(0, bus_bind());
	self->nr = bus_wait(self->node, sizeof(self->node));
	ASSERT_LE(0, self->nr);
	snprintf(L->node, sizeof(L->node), "%s", self->node);
	tcr_store(L->nr, self->nr);
	usleep(1500000);
	EXPECT_EQ(0, load_stop(&r));
	load_report(_metadata);
	EXPECT_EQ(0, load_other());
	EXPECT_LT(0, L->ok[K_SMBUS]);
	EXPECT_LT(0, L->gone[K_SMBUS]);
	EXPECT_EQ(0xff, run_i2cdetect(self->nr));
	EXPECT_EQ(self->refs, read_long(I801_REFCNT));
}

/*
 * TCR_CYCLES / 10 unbind/bind cycles under the load, every fifth an rmmod
 * and insmod of i2c_i801: every unbind completes at once, nothing but
 * ENODEV (held files), ENOENT/ENXIO (opens meanwhile) fails.
 */
TEST_F_TIMEOUT(i2c, cycles_under_load, 3600)
{
	const char *c = getenv("TCR_CYCLES");
	int cycles = (c ? atoi(c) : 250) / 10, i, rmmods = 0;
	long max_ms = 0, sum_ms = 0, t0 = now_ms();
	struct load_run r;
	struct unbind u;

	if (cycles < 1)
		cycles = 1;
	ASSERT_EQ(0, load_start(&r, self->node, self->nr));
	for (i = 0; i < cycles; i++) {
		int rmmod = i % 5 == 4;

		usleep(100000);
		ASSERT_EQ(0, unbind_now(&u, 0)) TH_LOG("cycle %d", i);
		if (u.ms > max_ms)
			max_ms = u.ms;
		sum_ms += u.ms;
		if (rmmod) {
			ASSERT_EQ(0, unbind_now(&u, 1)) TH_LOG("cycle %d", i);
			ASSERT_EQ(0, tcr_load_module_at("../drivers/i2c/busses/i2c-i801.ko", ""));
			rmmods++;
		} else {
			usleep(20000);
			ASSERT_EQ(0, bus_bind()) TH_LOG("cycle %d", i);
		}
		self->nr = bus_wait(self->node, sizeof(self->node));
		ASSERT_LE(0, self->nr) TH_LOG("cycle %d: no node", i);
		snprintf(L->node, sizeof(L->node), "%s", self->node);
		tcr_store(L->nr, self->nr);
	}
	usleep(1000000);
	EXPECT_EQ(0, load_stop(&r));
	TH_LOG("%d cycles (%d with rmmod) in %ld s: unbind max %ld ms, mean %ld ms",
	       cycles, rmmods, (now_ms() - t0) / 1000, max_ms,
	       sum_ms / cycles);
	load_report(_metadata);
	EXPECT_GT(UNBIND_MS, max_ms);
	EXPECT_EQ(0, load_other());
	EXPECT_LE(cycles, L->gone[K_SMBUS]);
	EXPECT_EQ(0xff, run_i2cdetect(self->nr));
	EXPECT_EQ(self->refs, read_long(I801_REFCNT));
}

/* The control: the stock i2c-dev.ko loaded in place of the converted one. */
FIXTURE(stock) {
	char node[64];
	int nr;
	long refs;
};

FIXTURE_SETUP(stock)
{
	const char *why = bus_setup(1, self->node, sizeof(self->node));

	if (why)
		SKIP(return, "%s", why);
	ASSERT_TRUE(tcr_module_stock("i2c_dev"));
	self->nr = bus_find(self->node, sizeof(self->node));
	self->refs = read_long(I801_REFCNT);
}

FIXTURE_TEARDOWN(stock)
{
	bus_teardown();
}

/*
 * Stock: the unbind blocks while a file is open (i2c_del_adapter() waits
 * for the file's adapter reference), the held file still does SMBus
 * transfers on the adapter being deleted, and the unbind completes when
 * the file is closed.
 */
TEST_F_TIMEOUT(stock, unbind_waits_for_close, 60)
{
	struct unbind u;
	long t_close;
	int fd, ret;

	fd = open_client(self->node, SPD);
	ASSERT_LE(0, fd);
	ASSERT_LE(0, smbus_read(fd, 0));
	ASSERT_EQ(self->refs + 1, read_long(I801_REFCNT));
	ASSERT_EQ(0, unbind_start(&u, 0));
	EXPECT_EQ(0, unbind_wait(&u, 3000));
	/* the adapter's device is deleted (its node is gone), but ... */
	EXPECT_NE(0, access(self->node, F_OK));
	/* ... the held file still reaches it */
	ret = smbus_read(fd, 0);
	TH_LOG("unbind still blocked after %ld ms; I2C_SMBUS on the held file: %d%s",
	       now_ms() - u.t0, ret, ret < 0 ? strerror(-ret) : "");
	EXPECT_LE(0, ret);
	EXPECT_EQ(self->refs + 1, read_long(I801_REFCNT));
	t_close = now_ms();
	EXPECT_EQ(0, close(fd));
	EXPECT_EQ(1, unbind_wait(&u, 10000));
	TH_LOG("unbind completed %ld ms after the close (%ld ms in all)",
	       now_ms() - t_close, u.ms);
	EXPECT_EQ(0, u.err);
	EXPECT_LE(3000, u.ms);
}

TEST_HARNESS_MAIN
