/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the cdev_revoke selftests: sysfs and debugfs files,
 * the test driver's module, time.
 */
#ifndef CDEV_REVOKE_SELFTEST_UTIL_H
#define CDEV_REVOKE_SELFTEST_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* debugfs directory of lib/test_cdev_revoke.c */
#define DBG		"/sys/kernel/debug/test_cdev_revoke/"

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

/*
 * Load the test driver from $TCR_KO unless it is there already (the
 * guest has no modprobe): 0 or -errno.
 */
static inline int tcr_load_module(void)
{
	const char *ko = getenv("TCR_KO");
	int fd, ret;

	if (access(DBG, F_OK) == 0)
		return 0;
	if (!ko)
		return -ENOENT;
	fd = open(ko, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, "", 0);
	close(fd);
	return ret ? -errno : 0;
}

#endif /* CDEV_REVOKE_SELFTEST_UTIL_H */
