// SPDX-License-Identifier: GPL-2.0
/*
 * Compat ioctls of a revocable device, for real: built as a static 32-bit
 * (-m32) program when the compiler can (Debian: gcc-multilib,
 * libc6-dev-i386), run on the x86_64 kernel through IA32_EMULATION.  Its
 * ioctls reach the test driver's ->compat_ioctl (compat_ptr_ioctl(), which
 * calls ->unlocked_ioctl again); the driver counts them in debugfs
 * (compat_ioctls), so the test knows they came that way.  After unbind
 * they fail with ENODEV without reaching the driver, and a compat ioctl
 * asleep in the driver is woken.
 *
 * Environment: TCR_KO=path of test_cdev_revoke.ko (loaded if needed).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "util.h"

#define PLAT_DRV	"/sys/bus/platform/drivers/test-cdev-revoke/"
#define PLAT_NAME	"test-cdev-revoke.2"
#define PLAT_DIR	"/sys/bus/platform/devices/" PLAT_NAME
#define PLAT_ID		0x7c7c7c7c

#define TCR_IOC_ID	_IOR('R', 1, __u32)
#define TCR_IOC_SLEEP	_IOW('R', 2, __u32)

#ifdef TCR_NO_M32
TEST(compat_ioctl)
{
	SKIP(return,
	     "the compiler cannot build -m32 -static programs (Debian: gcc-multilib libc6-dev-i386)");
}
#else
static int find_node(char *node, size_t len)
{
	struct dirent *de;
	DIR *d;
	int i;

	for (i = 0; i < 500; i++) {
		d = opendir(PLAT_DIR "/test_cdev_revoke");
		while (d && (de = readdir(d))) {
			if (!strncmp(de->d_name, "tcr", 3)) {
				snprintf(node, len, "/dev/%s", de->d_name);
				closedir(d);
				if (access(node, F_OK) == 0)
					return 0;
				d = NULL;
				break;
			}
		}
		if (d)
			closedir(d);
		usleep(10000);
	}
	return -1;
}

struct sleeper {
	int fd, ret, err;
};

static void *sleeper_fn(void *arg)
{
	struct sleeper *s = arg;
	__u32 ms = 60000;

	s->ret = ioctl(s->fd, TCR_IOC_SLEEP, &ms);
	s->err = errno;
	return NULL;
}

FIXTURE(compat) {
	char node[300];
};

FIXTURE_SETUP(compat)
{
	int ret = tcr_load_module();

	if (ret)
		SKIP(return, "test_cdev_revoke not loaded (TCR_KO): %s",
		     strerror(-ret));
	if (access(PLAT_DIR, F_OK))
		ASSERT_EQ(0, write_str(DBG "platform_add", "2"));
	if (access(PLAT_DIR "/driver", F_OK))
		write_str(PLAT_DRV "bind", PLAT_NAME);
	ASSERT_EQ(0, find_node(self->node, sizeof(self->node)));
}

FIXTURE_TEARDOWN(compat)
{
	if (access(PLAT_DIR "/driver", F_OK))
		write_str(PLAT_DRV "bind", PLAT_NAME);
	EXPECT_EQ(0, tcr_counter("fops_after_revoke"));
}

TEST_F_TIMEOUT(compat, ioctl_before_after_revoke, 120)
{
	long opens = tcr_counter("opens"), releases = tcr_counter("releases");
	struct timespec t0, t1;
	struct sleeper s;
	pthread_t t;
	__u32 ms = 1, id = 0;
	long n;
	int fd;

	/* a 32-bit process: its ioctls go through the compat path */
	ASSERT_EQ(4, sizeof(long));
	fd = open(self->node, O_RDWR);
	ASSERT_LE(0, fd);
	n = tcr_counter("compat_ioctls");
	ASSERT_LE(0, n) TH_LOG("no compat_ioctls counter");
	EXPECT_EQ(0, ioctl(fd, TCR_IOC_ID, &id));
	EXPECT_EQ(PLAT_ID, id);
	EXPECT_EQ(0, ioctl(fd, TCR_IOC_SLEEP, &ms));
	EXPECT_EQ(-1, ioctl(fd, _IO('R', 99)));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(n + 3, tcr_counter("compat_ioctls"));

	/* a compat ioctl asleep in the driver when the device goes */
	s = (struct sleeper){ .fd = fd };
	ASSERT_EQ(0, pthread_create(&t, NULL, sleeper_fn, &s));
	usleep(300000);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ASSERT_EQ(0, write_str(PLAT_DRV "unbind", PLAT_NAME));
	pthread_join(t, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	EXPECT_GT(20, t1.tv_sec - t0.tv_sec);
	EXPECT_EQ(-1, s.ret);
	EXPECT_EQ(ENODEV, s.err);
	n = tcr_counter("compat_ioctls");

	/* after revocation: ENODEV, and the driver is not entered */
	id = 0;
	EXPECT_EQ(-1, ioctl(fd, TCR_IOC_ID, &id));
	EXPECT_EQ(ENODEV, errno);
	EXPECT_EQ(0, id);
	EXPECT_EQ(-1, ioctl(fd, TCR_IOC_SLEEP, &ms));
	EXPECT_EQ(ENODEV, errno);
	EXPECT_EQ(n, tcr_counter("compat_ioctls"));
	EXPECT_EQ(0, close(fd));
	EXPECT_EQ(tcr_counter("opens") - opens, tcr_counter("releases") - releases);

	/* the device bound again answers compat ioctls */
	ASSERT_EQ(0, write_str(PLAT_DRV "bind", PLAT_NAME));
	ASSERT_EQ(0, find_node(self->node, sizeof(self->node)));
	fd = open(self->node, O_RDWR);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, ioctl(fd, TCR_IOC_ID, &id));
	EXPECT_EQ(PLAT_ID, id);
	EXPECT_EQ(n + 1, tcr_counter("compat_ioctls"));
	close(fd);
}
#endif

TEST_HARNESS_MAIN
