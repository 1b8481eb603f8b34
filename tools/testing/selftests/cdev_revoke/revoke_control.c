// SPDX-License-Identifier: GPL-2.0
/*
 * The expected-failure control of the device selftests: the same test
 * driver loaded with optin=0 (no cdev_revoke), on the same kernel, in a
 * deterministic sequence: open the device, unbind it, then an ioctl on
 * the file still open.  The driver's devres data is gone, so the ioctl is
 * a use-after-free that KASAN reports (in tcr_ioctl).  Not a kselftest:
 * the guest runs it in a separate boot (cdev_mode=control) whose console
 * the host checks for that report (scripts/vm-test.sh).
 *
 * Usage: revoke_control (TCR_KO=path of test_cdev_revoke.ko)
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/types.h>
#include "util.h"

#define PLAT_DRV	"/sys/bus/platform/drivers/test-cdev-revoke/"
#define PLAT_NAME	"test-cdev-revoke.3"
#define PLAT_DIR	"/sys/bus/platform/devices/" PLAT_NAME
#define TCR_IOC_ID	_IOR('R', 1, __u32)

/* One write per line: the console interleaves the kernel's reports. */
static void say(const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	dprintf(STDOUT_FILENO, "CONTROL: %s\n", buf);
}

static int fail(const char *what, int err)
{
	say("%s: %s", what, strerror(err));
	return 1;
}

int main(void)
{
	const char *ko = getenv("TCR_KO");
	char node[300] = "", optin = 0;
	struct dirent *de;
	__u32 id = 0;
	DIR *d;
	int fd, ret;

	if (!ko)
		return fail("TCR_KO not set", EINVAL);
	fd = open(ko, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || syscall(SYS_finit_module, fd, "optin=0", 0))
		return fail("loading test_cdev_revoke optin=0", errno);
	close(fd);
	fd = open(DBG "optin", O_RDONLY);
	if (fd < 0 || read(fd, &optin, 1) != 1 || optin != 'N')
		return fail("the module did not take optin=0", EINVAL);
	close(fd);
	ret = write_str(DBG "platform_add", "3");
	if (ret)
		return fail("platform_add", -ret);
	d = opendir(PLAT_DIR "/test_cdev_revoke");
	while (d && (de = readdir(d)))
		if (!strncmp(de->d_name, "tcr", 3))
			snprintf(node, sizeof(node), "/dev/%s", de->d_name);
	if (d)
		closedir(d);
	if (!node[0])
		return fail("no device node", ENOENT);

	fd = open(node, O_RDWR);
	if (fd < 0)
		return fail(node, errno);
	ret = ioctl(fd, TCR_IOC_ID, &id);
	say("%s open, ioctl before unbind: %d, id %#x", node, ret, id);
	ret = write_str(PLAT_DRV "unbind", PLAT_NAME);
	if (ret)
		return fail("unbind", -ret);
	say("unbound %s with the file open; ioctl on it now", PLAT_NAME);
	id = 0;
	ret = ioctl(fd, TCR_IOC_ID, &id);
	say("ioctl after unbind: %d (%s), id %#x", ret,
	    ret ? strerror(errno) : "no error", id);
	close(fd);
	say("done");
	return 0;
}
