// SPDX-License-Identifier: GPL-2.0
/*
 * Regression guard: character devices that do NOT opt in to cdev_revoke must behave exactly as
 * in stock Linux (mem devices, file locking, fasync, mmap, poll, and mtdchar on physmap
 * /dev/mtd0 through read(2) and io_uring).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <mtd/mtd-user.h>

#include "../kselftest_harness.h"

#define MTD_DEV "/dev/mtd0"

TEST(zero_read_fills_zeros)
{
	char buf[8192];
	ssize_t n;
	int fd, i;

	fd = open("/dev/zero", O_RDONLY);
	ASSERT_LE(0, fd);
	memset(buf, 0xaa, sizeof(buf));
	n = read(fd, buf, sizeof(buf));
	ASSERT_EQ((ssize_t)sizeof(buf), n);
	for (i = 0; i < (int)sizeof(buf); i++)
		ASSERT_EQ(0, buf[i]);
	/* pread at an arbitrary offset also works and fills zeros */
	memset(buf, 0x55, 100);
	ASSERT_EQ(100, pread(fd, buf, 100, 123456));
	ASSERT_EQ(0, buf[99]);
	ASSERT_EQ(0, close(fd));
}

TEST(null_write_returns_count)
{
	char buf[1234];
	int fd;

	fd = open("/dev/null", O_RDWR);
	ASSERT_LE(0, fd);
	memset(buf, 1, sizeof(buf));
	ASSERT_EQ((ssize_t)sizeof(buf), write(fd, buf, sizeof(buf)));
	/* read from /dev/null is EOF */
	ASSERT_EQ(0, read(fd, buf, sizeof(buf)));
	ASSERT_EQ(0, close(fd));
}

TEST(null_poll_in_out)
{
	struct pollfd p;
	int fd;

	fd = open("/dev/null", O_RDWR);
	ASSERT_LE(0, fd);
	p.fd = fd;
	p.events = POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM;
	p.revents = 0;
	ASSERT_EQ(1, poll(&p, 1, 1000));
	/* no ->poll: DEFAULT_POLLMASK */
	ASSERT_EQ(POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM, p.revents);
	ASSERT_EQ(0, close(fd));
}

TEST(zero_mmap_gives_zero_pages)
{
	long pg = sysconf(_SC_PAGESIZE);
	unsigned char *p, *s;
	int fd, i;

	fd = open("/dev/zero", O_RDWR);
	ASSERT_LE(0, fd);
	p = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	for (i = 0; i < 4 * pg; i++)
		ASSERT_EQ(0, p[i]);
	p[pg + 1] = 0x42;	/* private pages are writable */
	ASSERT_EQ(0x42, p[pg + 1]);
	ASSERT_EQ(0, munmap(p, 4 * pg));
	/* MAP_SHARED of /dev/zero is anonymous shared memory */
	s = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, s);
	ASSERT_EQ(0, s[0]);
	s[0] = 7;
	ASSERT_EQ(7, s[0]);
	ASSERT_EQ(0, munmap(s, 2 * pg));
	ASSERT_EQ(0, close(fd));
}

/*
 * F_SETFL O_ASYNC: FASYNC is not in SETFL_MASK, only ->fasync() sets it. /dev/null has no
 * ->fasync, so the call succeeds and the flag is not reported; a tty (/dev/ptmx) has one.
 */
TEST(null_fasync_flag)
{
	int fd, fl;

	fd = open("/dev/null", O_RDWR);
	ASSERT_LE(0, fd);
	fl = fcntl(fd, F_GETFL);
	ASSERT_LE(0, fl);
	ASSERT_EQ(0, fl & O_ASYNC);
	ASSERT_EQ(0, fcntl(fd, F_SETOWN, getpid()));
	ASSERT_EQ(0, fcntl(fd, F_SETFL, fl | O_ASYNC | O_NONBLOCK));
	fl = fcntl(fd, F_GETFL);
	ASSERT_EQ(0, fl & O_ASYNC);
	ASSERT_EQ(O_NONBLOCK, fl & O_NONBLOCK);
	ASSERT_EQ(getpid(), fcntl(fd, F_GETOWN));
	ASSERT_EQ(0, close(fd));
}

TEST(ptmx_fasync_flag)
{
	int fd, fl;

	fd = open("/dev/ptmx", O_RDWR | O_NOCTTY);
	ASSERT_LE(0, fd);
	fl = fcntl(fd, F_GETFL);
	ASSERT_LE(0, fl);
	ASSERT_EQ(0, fcntl(fd, F_SETOWN, getpid()));
	ASSERT_EQ(0, fcntl(fd, F_SETFL, fl | O_ASYNC));
	ASSERT_EQ(O_ASYNC, fcntl(fd, F_GETFL) & O_ASYNC);
	ASSERT_EQ(0, fcntl(fd, F_SETFL, fl & ~O_ASYNC));
	ASSERT_EQ(0, fcntl(fd, F_GETFL) & O_ASYNC);
	ASSERT_EQ(0, close(fd));
}

TEST(flock_on_dev_node_released_at_close)
{
	int a, b;

	a = open("/dev/null", O_RDONLY);
	ASSERT_LE(0, a);
	b = open("/dev/null", O_RDONLY);
	ASSERT_LE(0, b);
	ASSERT_EQ(0, flock(a, LOCK_EX | LOCK_NB));
	ASSERT_EQ(-1, flock(b, LOCK_EX | LOCK_NB));
	ASSERT_EQ(EWOULDBLOCK, errno);
	/* shared lock conflicts with the exclusive one as well */
	ASSERT_EQ(-1, flock(b, LOCK_SH | LOCK_NB));
	ASSERT_EQ(EWOULDBLOCK, errno);
	ASSERT_EQ(0, close(a));		/* close releases the lock */
	ASSERT_EQ(0, flock(b, LOCK_EX | LOCK_NB));
	ASSERT_EQ(0, flock(b, LOCK_UN));
	ASSERT_EQ(0, close(b));
}

TEST(null_fstat_is_chardev_1_3)
{
	struct stat st;
	int fd;

	fd = open("/dev/null", O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, fstat(fd, &st));
	ASSERT_TRUE(S_ISCHR(st.st_mode));
	ASSERT_EQ(1, major(st.st_rdev));
	ASSERT_EQ(3, minor(st.st_rdev));
	ASSERT_EQ(0, close(fd));
}

FIXTURE(mtd) {
	int fd;
	struct mtd_info_user info;
};

FIXTURE_SETUP(mtd)
{
	self->fd = open(MTD_DEV, O_RDONLY);
	if (self->fd < 0 && (errno == ENOENT || errno == ENXIO || errno == ENODEV))
		SKIP(return, MTD_DEV " not present (needs physmap-flash, QEMU second pflash unit)");
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ioctl(self->fd, MEMGETINFO, &self->info));
}

FIXTURE_TEARDOWN(mtd)
{
	if (self->fd >= 0)
		close(self->fd);
}

TEST_F(mtd, memgetinfo)
{
	/* physmap compat window: 0x40000 bytes of CFI NOR flash */
	ASSERT_EQ(MTD_NORFLASH, self->info.type);
	ASSERT_EQ(0x40000, self->info.size);
	ASSERT_NE(0, self->info.erasesize);
	ASSERT_EQ(0, self->info.size % self->info.erasesize);
	ASSERT_NE(0, self->info.flags & MTD_WRITEABLE);
}

TEST_F(mtd, pread_consistent)
{
	char a[4096], b[4096];

	memset(a, 0, sizeof(a));
	memset(b, 0xff, sizeof(b));
	ASSERT_EQ((ssize_t)sizeof(a), pread(self->fd, a, sizeof(a), 4096));
	ASSERT_EQ((ssize_t)sizeof(b), pread(self->fd, b, sizeof(b), 4096));
	ASSERT_EQ(0, memcmp(a, b, sizeof(a)));
	/* a short read at the end of the device, then EOF */
	ASSERT_EQ(100, pread(self->fd, a, sizeof(a), self->info.size - 100));
	ASSERT_EQ(0, pread(self->fd, a, sizeof(a), self->info.size));
	/* read(2) advances the file position */
	ASSERT_EQ(512, lseek(self->fd, 512, SEEK_SET));
	ASSERT_EQ(16, read(self->fd, a, 16));
	ASSERT_EQ(528, lseek(self->fd, 0, SEEK_CUR));
}

TEST_F(mtd, io_uring_read_matches_pread)
{
	struct io_uring ring;
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	char a[4096], b[4096];
	int ret;

	ASSERT_EQ((ssize_t)sizeof(a), pread(self->fd, a, sizeof(a), 8192));
	ASSERT_EQ(0, io_uring_queue_init(8, &ring, 0));
	memset(b, 0, sizeof(b));
	sqe = io_uring_get_sqe(&ring);
	ASSERT_NE(NULL, sqe);
	io_uring_prep_read(sqe, self->fd, b, sizeof(b), 8192);
	ASSERT_EQ(1, io_uring_submit(&ring));
	ret = io_uring_wait_cqe(&ring, &cqe);
	ASSERT_EQ(0, ret);
	ASSERT_EQ((int)sizeof(b), cqe->res);
	io_uring_cqe_seen(&ring, cqe);
	ASSERT_EQ(0, memcmp(a, b, sizeof(a)));
	io_uring_queue_exit(&ring);
}

TEST_HARNESS_MAIN
