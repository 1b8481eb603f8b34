// SPDX-License-Identifier: GPL-2.0
/*
 * A fake ChromeOS EC for the cdev_revoke selftests (revoke_cros_ec).
 *
 * QEMU has no ChromeOS EC.  This module registers one platform device,
 * cros-ec-fake, whose driver registers a struct cros_ec_device with
 * cros_ec_register() like the real transports do, so cros-ec-dev (MFD) and
 * its cros-ec-chardev cell bind to it and /dev/cros_ec appears.  The
 * transfer callbacks answer from memory: the probe-time queries
 * (protocol info, command versions, features), EC_CMD_GET_VERSION (the
 * legacy read() of /dev/cros_ec), EC_CMD_HELLO (out = in + 0x01020304, for
 * CROS_EC_DEV_IOCXCMD) and the memory map (CROS_EC_DEV_IOCRDMEM).
 * Everything else is EC_RES_INVALID_COMMAND.  The cros_ec_device is devm
 * memory of the platform device: removing the device frees it.
 *
 * debugfs, /sys/kernel/debug/cros_ec_fake/:
 *   add, del         write anything: register / unregister the device
 *   event            write a number N: queue an MKBP event of type N (4
 *                    bytes of payload, a sequence number) to the EC's
 *                    event notifier, as the interrupt thread does
 *   hello_delay_ms   EC_CMD_HELLO sleeps this long in the transfer
 *   xfers            transfers (and memory map reads) so far
 *   xfers_dead       transfers entered after the device was unregistered
 *   frees            cros_ec_device structures freed
 *   notifiers        event notifiers still registered when the device was
 *                    last unregistered (open files that never released)
 *
 * The device can also be unbound through sysfs or removed by unloading
 * the module.
 */
#include <linux/atomic.h>
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/device.h>
#include <linux/err.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/notifier.h>
#include <linux/platform_data/cros_ec_commands.h>
#include <linux/platform_data/cros_ec_proto.h>
#include <linux/platform_device.h>
#include <linux/string.h>

#include "cros_ec.h"

#define DRV_NAME	"cros-ec-fake"
#define FAKE_PKT_SIZE	256
#define FAKE_HELLO_ADD	0x01020304

struct fake_ec {
	struct cros_ec_device ec;
	u8 memmap[EC_MEMMAP_SIZE];
};

static DEFINE_MUTEX(fake_lock);		/* fake_pdev, event injection */
static struct platform_device *fake_pdev;
static bool fake_dead;
static u32 hello_delay_ms;
static atomic_t xfers, xfers_dead, frees, notifiers;
static atomic_t event_seq;
static struct dentry *fake_dir;

static int fake_result(struct cros_ec_command *msg, u32 result, int len)
{
	msg->result = result;
	return len;
}

static int fake_xfer(struct cros_ec_device *ec, struct cros_ec_command *msg)
{
	struct ec_response_get_protocol_info *info = (void *)msg->data;
	struct ec_response_get_version *ver = (void *)msg->data;
	struct ec_params_hello *hello = (void *)msg->data;
	u32 in;

	atomic_inc(&xfers);
	if (READ_ONCE(fake_dead))
		atomic_inc(&xfers_dead);

	switch (msg->command) {
	case EC_CMD_GET_PROTOCOL_INFO:
		if (msg->insize < sizeof(*info))
			break;
		memset(info, 0, sizeof(*info));
		info->protocol_versions = BIT(3);
		info->max_request_packet_size = FAKE_PKT_SIZE +
			sizeof(struct ec_host_request);
		info->max_response_packet_size = FAKE_PKT_SIZE +
			sizeof(struct ec_host_response);
		return fake_result(msg, EC_RES_SUCCESS, sizeof(*info));
	case EC_CMD_GET_FEATURES:
		/* no optional sub-devices: only the platform cells */
		memset(msg->data, 0, msg->insize);
		return fake_result(msg, EC_RES_SUCCESS, msg->insize);
	case EC_CMD_GET_VERSION:
		if (msg->insize < sizeof(*ver))
			break;
		memset(ver, 0, sizeof(*ver));
		strscpy(ver->version_string_ro, "fake-ec-ro-1.0",
			sizeof(ver->version_string_ro));
		strscpy(ver->version_string_rw, "fake-ec-rw-1.0",
			sizeof(ver->version_string_rw));
		ver->current_image = EC_IMAGE_RW;
		return fake_result(msg, EC_RES_SUCCESS, sizeof(*ver));
	case EC_CMD_HELLO:
		if (msg->outsize < sizeof(*hello) ||
		    msg->insize < sizeof(struct ec_response_hello))
			break;
		in = hello->in_data;
		if (READ_ONCE(hello_delay_ms))
			msleep(READ_ONCE(hello_delay_ms));
		((struct ec_response_hello *)msg->data)->out_data =
			in + FAKE_HELLO_ADD;
		return fake_result(msg, EC_RES_SUCCESS,
				   sizeof(struct ec_response_hello));
	}
	return fake_result(msg, EC_RES_INVALID_COMMAND, 0);
}

static int fake_readmem(struct cros_ec_device *ec, unsigned int offset,
			unsigned int bytes, void *dest)
{
	struct fake_ec *fe = container_of(ec, struct fake_ec, ec);

	atomic_inc(&xfers);
	if (READ_ONCE(fake_dead))
		atomic_inc(&xfers_dead);
	if (offset >= EC_MEMMAP_SIZE || bytes > EC_MEMMAP_SIZE - offset)
		return -EINVAL;
	memcpy(dest, fe->memmap + offset, bytes);
	return bytes;
}

static void fake_freed(void *data)
{
	atomic_inc(&frees);
}

static int fake_probe(struct platform_device *pdev)
{
	struct device *dev = &pdev->dev;
	struct fake_ec *fe;
	int ret, i;

	fe = devm_kzalloc(dev, sizeof(*fe), GFP_KERNEL);
	if (!fe)
		return -ENOMEM;
	/* devres runs this just before it frees fe */
	ret = devm_add_action_or_reset(dev, fake_freed, NULL);
	if (ret)
		return ret;

	for (i = 0; i < EC_MEMMAP_SIZE; i++)
		fe->memmap[i] = i;
	memcpy(fe->memmap + EC_MEMMAP_ID, "EC", 2);

	fe->ec.dev = dev;
	fe->ec.phys_name = dev_name(dev);
	fe->ec.priv = fe;
	fe->ec.irq = 0;
	fe->ec.din_size = FAKE_PKT_SIZE + EC_MAX_RESPONSE_OVERHEAD;
	fe->ec.dout_size = FAKE_PKT_SIZE + EC_MAX_REQUEST_OVERHEAD;
	fe->ec.cmd_xfer = fake_xfer;
	fe->ec.pkt_xfer = fake_xfer;
	fe->ec.cmd_readmem = fake_readmem;
	platform_set_drvdata(pdev, &fe->ec);

	WRITE_ONCE(fake_dead, false);
	return cros_ec_register(&fe->ec);
}

static void fake_remove(struct platform_device *pdev)
{
	struct cros_ec_device *ec = platform_get_drvdata(pdev);
	struct notifier_block *nb;
	int n = 0;

	cros_ec_unregister(ec);
	WRITE_ONCE(fake_dead, true);

	down_read(&ec->event_notifier.rwsem);
	for (nb = rcu_dereference_raw(ec->event_notifier.head); nb;
	     nb = rcu_dereference_raw(nb->next))
		n++;
	up_read(&ec->event_notifier.rwsem);
	atomic_set(&notifiers, n);
	if (n)
		dev_info(&pdev->dev,
			 "%d event notifiers still registered at removal\n", n);
}

static struct platform_driver fake_driver = {
	.driver = {
		.name = DRV_NAME,
	},
	.probe = fake_probe,
	.remove_new = fake_remove,
};

static int fake_add(void)
{
	struct platform_device *pdev;

	guard(mutex)(&fake_lock);
	if (fake_pdev)
		return -EBUSY;
	pdev = platform_device_register_simple(DRV_NAME, PLATFORM_DEVID_NONE,
					       NULL, 0);
	if (IS_ERR(pdev))
		return PTR_ERR(pdev);
	fake_pdev = pdev;
	return 0;
}

static int fake_del(void)
{
	guard(mutex)(&fake_lock);
	if (!fake_pdev)
		return -ENODEV;
	platform_device_unregister(fake_pdev);
	fake_pdev = NULL;
	return 0;
}

static int fake_event(u8 type)
{
	struct cros_ec_device *ec;
	u32 seq;

	guard(mutex)(&fake_lock);
	if (!fake_pdev)
		return -ENODEV;
	/* not unbound through sysfs meanwhile */
	guard(device)(&fake_pdev->dev);
	ec = platform_get_drvdata(fake_pdev);
	if (!ec || !fake_pdev->dev.driver)
		return -ENODEV;
	seq = atomic_inc_return(&event_seq);
	ec->event_data.event_type = type;
	memcpy(&ec->event_data.data, &seq, sizeof(seq));
	ec->event_size = sizeof(seq);
	blocking_notifier_call_chain(&ec->event_notifier, 0, ec);
	return 0;
}

static ssize_t fake_cmd_write(struct file *file, const char __user *buf,
			      size_t len, loff_t *ppos)
{
	const char *name = file->f_path.dentry->d_name.name;
	u8 type;
	int ret;

	if (!strcmp(name, "add")) {
		ret = fake_add();
	} else if (!strcmp(name, "del")) {
		ret = fake_del();
	} else {
		ret = kstrtou8_from_user(buf, len, 0, &type);
		if (!ret)
			ret = fake_event(type);
	}
	return ret ? ret : len;
}

static const struct file_operations fake_cmd_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.write = fake_cmd_write,
	.llseek = noop_llseek,
};

static int __init fake_init(void)
{
	int ret;

	ret = platform_driver_register(&fake_driver);
	if (ret)
		return ret;
	fake_dir = debugfs_create_dir("cros_ec_fake", NULL);
	debugfs_create_file("add", 0200, fake_dir, NULL, &fake_cmd_fops);
	debugfs_create_file("del", 0200, fake_dir, NULL, &fake_cmd_fops);
	debugfs_create_file("event", 0200, fake_dir, NULL, &fake_cmd_fops);
	debugfs_create_u32("hello_delay_ms", 0600, fake_dir, &hello_delay_ms);
	debugfs_create_atomic_t("xfers", 0400, fake_dir, &xfers);
	debugfs_create_atomic_t("xfers_dead", 0400, fake_dir, &xfers_dead);
	debugfs_create_atomic_t("frees", 0400, fake_dir, &frees);
	debugfs_create_atomic_t("notifiers", 0400, fake_dir, &notifiers);
	ret = fake_add();
	if (ret) {
		debugfs_remove_recursive(fake_dir);
		platform_driver_unregister(&fake_driver);
	}
	return ret;
}
module_init(fake_init);

static void __exit fake_exit(void)
{
	debugfs_remove_recursive(fake_dir);
	fake_del();
	platform_driver_unregister(&fake_driver);
}
module_exit(fake_exit);

MODULE_DESCRIPTION("Fake ChromeOS EC for the cdev_revoke selftests");
MODULE_LICENSE("GPL");
