// SPDX-License-Identifier: GPL-2.0
/*
 * A revocable character device driver for the cdev_revoke selftests
 * (tools/testing/selftests/cdev_revoke/).
 *
 * It binds QEMU's "edu" PCI device (1234:11e8) and "test-cdev-revoke"
 * platform devices, which the module creates and destroys on request, and
 * gives each a /dev/tcrN node, or a misc device /dev/tcr-miscN for the
 * platform devices added through "platform_add_misc".  Its private data is
 * devres-managed, as in real drivers, so a method that runs after unbind
 * is a KASAN report.  Its mappings count their VMAs (vm_ops ->open and
 * ->close), and an ioctl hands out child files (anon inodes) of the
 * device.
 *
 * What the tests watch lives in module memory: the counters in debugfs
 * (test_cdev_revoke/), and one struct tcr_file per open file, kept until
 * the module is unloaded, so that a method reached after revocation is
 * counted (fops_after_revoke) instead of only crashing.
 *
 * optin=0 builds the same driver without cdev_revoke: the control that
 * shows the use-after-free the layer prevents.
 */

#include <linux/cdev.h>
#include <linux/anon_inodes.h>
#include <linux/cdev_revoke.h>
#include <linux/debugfs.h>
#include <linux/device.h>
#include <linux/fs.h>
#include <linux/idr.h>
#include <linux/interrupt.h>
#include <linux/io.h>
#include <linux/io_uring/cmd.h>
#include <linux/list.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/platform_device.h>
#include <linux/poll.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uio.h>
#include <linux/workqueue.h>
#include <uapi/linux/ioctl.h>

#define TCR_NAME		"test-cdev-revoke"
#define TCR_MINORS		64
#define TCR_PLAT_ID		0x7c7c7c7c

#define EDU_ID			0x00
#define EDU_IRQ_STATUS		0x24
#define EDU_IRQ_RAISE		0x60
#define EDU_IRQ_ACK		0x64

/* Userspace interface, mirrored in the selftests. */
#define TCR_IOC_ID		_IOR('R', 1, __u32)
#define TCR_IOC_SLEEP		_IOW('R', 2, __u32)	/* milliseconds */
#define TCR_IOC_EVENT		_IO('R', 3)		/* raise an event */
#define TCR_IOC_CHILD		_IO('R', 4)		/* a child file: its fd */
#define TCR_IOC_CHILD_LATE	_IO('R', 5)		/* one once revoked */
#define TCR_URING_ID		1
#define TCR_URING_WAIT		2			/* complete at next event */

static bool optin = true;
module_param(optin, bool, 0444);
MODULE_PARM_DESC(optin, "opt the devices in to cdev_revoke (0: the unsafe control)");

static unsigned int async_ms = 50;
module_param(async_ms, uint, 0644);
MODULE_PARM_DESC(async_ms, "delay before an async read_iter completes");

/* Counters, in module memory. */
static atomic_t tcr_opens, tcr_releases, tcr_calls, tcr_after_revoke;
static atomic_t tcr_revokes, tcr_kicks, tcr_irqs, tcr_async_done;
static atomic_t tcr_compat_ioctls, tcr_fasync_left;
static atomic_t tcr_vmas, tcr_vma_opens, tcr_vma_closes;
static atomic_t tcr_child_opens, tcr_child_releases, tcr_child_refused;
static atomic_t tcr_child_late;

/* Private data of one bound device: devres, freed at unbind. */
struct tcr_dev {
	struct device *parent;
	struct cdev *cdev;
	struct miscdevice misc;		/* instead of the cdev if is_misc */
	char misc_name[24];		/* "tcr-misc" and an unsigned int */
	bool is_misc;
	unsigned int idx;		/* in tcr_ida */
	dev_t devt;
	u32 id;
	void __iomem *regs;
	phys_addr_t mmio_start;
	size_t mmio_len;
	void *page;
	wait_queue_head_t wq;
	spinlock_t lock;		/* protects all below */
	u64 events;
	bool gone;
	struct list_head files;
	struct list_head iocbs;
	struct list_head cmds;
	struct delayed_work async_work;
	struct work_struct event_work;
	struct fasync_struct *fasync;
};

/* One open file: module memory, lives until the module is unloaded. */
struct tcr_file {
	struct list_head node;		/* in tcr_dev.files */
	struct list_head all;		/* in tcr_all_files */
	struct tcr_dev *td;
	bool child;			/* a child file (TCR_IOC_CHILD) */
	bool released;
	bool revoked;
};

struct tcr_iocb {
	struct list_head node;
	struct kiocb *iocb;
	ssize_t len;
};

struct tcr_cmd {
	struct list_head node;
};

static dev_t tcr_base;
static DEFINE_IDA(tcr_ida);
static DEFINE_MUTEX(tcr_lock);		/* tcr_devs, tcr_all_files */
static DEFINE_MUTEX(tcr_pdev_lock);	/* tcr_pdevs; held across their probe */
static struct tcr_dev *tcr_devs[TCR_MINORS];
static LIST_HEAD(tcr_all_files);
static struct platform_device *tcr_pdevs[TCR_MINORS];
static struct dentry *tcr_debugfs;

static const struct class tcr_class = {
	.name = "test_cdev_revoke",
};

/*
 * Every method starts here.  A method of a file whose device was revoked
 * must never be reached: count it.  Then carry on like a real driver
 * would, into the freed device, so that KASAN reports it too.
 */
static struct tcr_dev *tcr_enter(struct file *file)
{
	struct tcr_file *tf = file->private_data;

	atomic_inc(&tcr_calls);
	if (READ_ONCE(tf->revoked) || READ_ONCE(tf->released))
		atomic_inc(&tcr_after_revoke);
	return tf->td;
}

static struct io_uring_cmd *tcr_cmd_of(struct tcr_cmd *c)
{
	return container_of((void *)c, struct io_uring_cmd, pdu);
}

/*
 * Complete the uring_cmds of @td with @res, one at a time: a command
 * off the list is being completed, and IO_URING_F_CANCEL leaves it alone.
 * Never from a method: an io_uring write on the ring of a waiting command
 * holds that ring's lock, which io_uring_cmd_done() takes.
 */
static void tcr_complete_cmds(struct tcr_dev *td, int res)
{
	struct tcr_cmd *c;

	for (;;) {
		spin_lock(&td->lock);
		c = list_first_entry_or_null(&td->cmds, struct tcr_cmd, node);
		if (c)
			list_del_init(&c->node);
		spin_unlock(&td->lock);
		if (!c)
			return;
		io_uring_cmd_done(tcr_cmd_of(c), res, 0, IO_URING_F_UNLOCKED);
	}
}

static void tcr_event_work(struct work_struct *work)
{
	tcr_complete_cmds(container_of(work, struct tcr_dev, event_work), 0);
}

/* Process context only (td->lock is not irq-safe). */
static void tcr_event(struct tcr_dev *td)
{
	spin_lock(&td->lock);
	td->events++;
	if (!list_empty(&td->cmds) && !td->gone)
		schedule_work(&td->event_work);
	spin_unlock(&td->lock);
	wake_up_interruptible_poll(&td->wq, EPOLLIN | EPOLLRDNORM);
	kill_fasync(&td->fasync, SIGIO, POLL_IN);
}

static int tcr_open(struct inode *inode, struct file *file)
{
	unsigned int minor = iminor(inode) - MINOR(tcr_base);
	struct tcr_file *tf;
	struct tcr_dev *td;

	atomic_inc(&tcr_calls);
	tf = kzalloc(sizeof(*tf), GFP_KERNEL);
	if (!tf)
		return -ENOMEM;
	mutex_lock(&tcr_lock);
	if (imajor(inode) == MISC_MAJOR)	/* misc_open() set it */
		td = container_of(file->private_data, struct tcr_dev, misc);
	else
		td = minor < TCR_MINORS ? tcr_devs[minor] : NULL;
	if (!td) {
		mutex_unlock(&tcr_lock);
		kfree(tf);
		return -ENXIO;
	}
	tf->td = td;
	list_add(&tf->all, &tcr_all_files);
	spin_lock(&td->lock);
	list_add(&tf->node, &td->files);
	spin_unlock(&td->lock);
	mutex_unlock(&tcr_lock);

	file->private_data = tf;
	file->f_mode |= FMODE_NOWAIT;
	atomic_inc(&tcr_opens);
	return 0;
}

static int tcr_release(struct inode *inode, struct file *file)
{
	struct tcr_file *tf = file->private_data;
	struct tcr_dev *td = tcr_enter(file);

	spin_lock(&td->lock);
	list_del_init(&tf->node);
	spin_unlock(&td->lock);
	WRITE_ONCE(tf->released, true);
	atomic_inc(tf->child ? &tcr_child_releases : &tcr_releases);
	return 0;
}

static void tcr_async_work(struct work_struct *work)
{
	struct tcr_dev *td = container_of(work, struct tcr_dev,
					  async_work.work);
	struct tcr_iocb *ti, *n;
	LIST_HEAD(done);

	spin_lock(&td->lock);
	list_splice_init(&td->iocbs, &done);
	spin_unlock(&td->lock);
	list_for_each_entry_safe(ti, n, &done, node) {
		ti->iocb->ki_complete(ti->iocb, ti->len);
		atomic_inc(&tcr_async_done);
		kfree(ti);
	}
}

/*
 * Synchronous reads wait for an event (write(), TCR_IOC_EVENT, the edu
 * interrupt) and return the event count.  Asynchronous ones (io_uring,
 * aio) fill the buffer at once and complete from a work item later.
 */
static ssize_t tcr_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	struct tcr_dev *td = tcr_enter(iocb->ki_filp);
	size_t len = min_t(size_t, iov_iter_count(to), sizeof(u64));
	struct tcr_iocb *ti;
	u64 events;
	int ret;

	if (!is_sync_kiocb(iocb)) {
		ti = kmalloc(sizeof(*ti), GFP_KERNEL);
		if (!ti)
			return -ENOMEM;
		ti->iocb = iocb;
		ti->len = iov_iter_zero(len, to);
		spin_lock(&td->lock);
		if (td->gone) {
			spin_unlock(&td->lock);
			kfree(ti);
			return -EIO;
		}
		list_add_tail(&ti->node, &td->iocbs);
		spin_unlock(&td->lock);
		schedule_delayed_work(&td->async_work,
				      msecs_to_jiffies(READ_ONCE(async_ms)));
		return -EIOCBQUEUED;
	}

	if (iocb->ki_flags & IOCB_NOWAIT || iocb->ki_filp->f_flags & O_NONBLOCK) {
		if (!READ_ONCE(td->events))
			return -EAGAIN;
	} else {
		ret = wait_event_interruptible(td->wq, READ_ONCE(td->events) ||
					       READ_ONCE(td->gone));
		if (ret)
			return ret;
		if (READ_ONCE(td->gone))
			return -EIO;
	}
	spin_lock(&td->lock);
	events = td->events;
	spin_unlock(&td->lock);
	return copy_to_iter(&events, len, to);
}

static ssize_t tcr_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	struct tcr_dev *td = tcr_enter(iocb->ki_filp);
	size_t len = iov_iter_count(from);

	iov_iter_advance(from, len);
	tcr_event(td);
	return len;
}

static __poll_t tcr_poll(struct file *file, poll_table *pt)
{
	struct tcr_dev *td = tcr_enter(file);
	__poll_t mask = EPOLLOUT | EPOLLWRNORM;

	poll_wait(file, &td->wq, pt);
	if (READ_ONCE(td->events))
		mask |= EPOLLIN | EPOLLRDNORM;
	if (READ_ONCE(td->gone))
		mask |= EPOLLHUP;
	return mask;
}

static long tcr_child_create(struct file *file, struct tcr_dev *td, bool late);

static long tcr_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct tcr_dev *td = tcr_enter(file);
	u32 ms;
	long left;

	switch (cmd) {
	case TCR_IOC_ID:
		return put_user(td->regs ? readl(td->regs + EDU_ID) : td->id,
				(u32 __user *)arg);
	case TCR_IOC_SLEEP:
		if (get_user(ms, (u32 __user *)arg))
			return -EFAULT;
		left = wait_event_interruptible_timeout(td->wq,
							READ_ONCE(td->gone),
							msecs_to_jiffies(ms));
		if (left < 0)
			return left;
		return READ_ONCE(td->gone) ? -EIO : 0;
	case TCR_IOC_EVENT:
		if (td->regs)		/* the edu interrupt raises the event */
			writel(1, td->regs + EDU_IRQ_RAISE);
		else
			tcr_event(td);
		return 0;
	case TCR_IOC_CHILD:
		return tcr_child_create(file, td, false);
	case TCR_IOC_CHILD_LATE:
		return tcr_child_create(file, td, true);
	}
	return -ENOTTY;
}

#ifdef CONFIG_COMPAT
/* Counted, so that a 32-bit test can tell it came this way. */
static long tcr_compat_ioctl(struct file *file, unsigned int cmd,
			     unsigned long arg)
{
	atomic_inc(&tcr_compat_ioctls);
	return compat_ptr_ioctl(file, cmd, arg);
}
#else
#define tcr_compat_ioctl NULL
#endif

/*
 * VMAs are counted: ->mmap and ->open add one, ->close takes one away.
 * Neither touches the device: a call after revocation is only counted.
 */
static void tcr_vm_open(struct vm_area_struct *vma)
{
	tcr_enter(vma->vm_file);
	atomic_inc(&tcr_vmas);
	atomic_inc(&tcr_vma_opens);
}

static void tcr_vm_close(struct vm_area_struct *vma)
{
	tcr_enter(vma->vm_file);
	atomic_dec(&tcr_vmas);
	atomic_inc(&tcr_vma_closes);
}

static const struct vm_operations_struct tcr_vm_ops = {
	.open	= tcr_vm_open,
	.close	= tcr_vm_close,
};

/* The edu BAR, or the two pages of a platform device. */
static int tcr_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct tcr_dev *td = tcr_enter(file);
	unsigned long size = vma->vm_end - vma->vm_start;
	int ret;

	if (td->regs) {
		ret = vm_iomap_memory(vma, td->mmio_start, td->mmio_len);
	} else if (size > 2 * PAGE_SIZE) {
		ret = -EINVAL;
	} else {
		ret = remap_pfn_range(vma, vma->vm_start,
				      virt_to_phys(td->page) >> PAGE_SHIFT,
				      size, vma->vm_page_prot);
	}
	if (ret)
		return ret;
	vma->vm_ops = &tcr_vm_ops;
	atomic_inc(&tcr_vmas);
	return 0;
}

static int tcr_uring_cmd(struct io_uring_cmd *cmd, unsigned int issue_flags)
{
	struct tcr_cmd *c = io_uring_cmd_to_pdu(cmd, struct tcr_cmd);
	struct tcr_dev *td = tcr_enter(cmd->file);

	if (issue_flags & IO_URING_F_CANCEL) {
		spin_lock(&td->lock);
		if (list_empty(&c->node)) {	/* being completed */
			spin_unlock(&td->lock);
			return 0;
		}
		list_del_init(&c->node);
		spin_unlock(&td->lock);
		io_uring_cmd_done(cmd, -ECANCELED, 0, issue_flags);
		return 0;
	}
	switch (cmd->cmd_op) {
	case TCR_URING_ID:
		return td->regs ? readl(td->regs + EDU_ID) & 0xffff : 0x7c7c;
	case TCR_URING_WAIT:
		/* cancelable before anyone can complete it */
		io_uring_cmd_mark_cancelable(cmd, issue_flags);
		spin_lock(&td->lock);
		if (td->gone) {
			spin_unlock(&td->lock);
			io_uring_cmd_done(cmd, -ENODEV, 0, issue_flags);
			return -EIOCBQUEUED;
		}
		list_add_tail(&c->node, &td->cmds);
		spin_unlock(&td->lock);
		return -EIOCBQUEUED;
	}
	return -ENOTTY;
}

static int tcr_fasync(int fd, struct file *file, int on)
{
	struct tcr_dev *td = tcr_enter(file);

	return fasync_helper(fd, file, on, &td->fasync);
}

/*
 * The methods of the device's files and of child files (read, poll and
 * ioctl as the device's files; no open), each in a table with ->owner and
 * in one without: debugfs "noowner" makes the devices added next, and the
 * child files made next, use the latter, which cdev_revoke must refuse in
 * a module.
 */
#define TCR_FOPS_METHODS				\
	.open		= tcr_open,			\
	.release	= tcr_release,			\
	.read_iter	= tcr_read_iter,		\
	.write_iter	= tcr_write_iter,		\
	.poll		= tcr_poll,			\
	.unlocked_ioctl	= tcr_ioctl,			\
	.compat_ioctl	= tcr_compat_ioctl,		\
	.mmap		= tcr_mmap,			\
	.uring_cmd	= tcr_uring_cmd,		\
	.fasync		= tcr_fasync,			\
	.llseek		= noop_llseek

#define TCR_CHILD_FOPS_METHODS				\
	.release	= tcr_release,			\
	.read_iter	= tcr_read_iter,		\
	.poll		= tcr_poll,			\
	.unlocked_ioctl	= tcr_ioctl,			\
	.llseek		= noop_llseek

static const struct file_operations tcr_fops = {
	.owner		= THIS_MODULE,
	TCR_FOPS_METHODS,
};

static const struct file_operations tcr_fops_noowner = {
	TCR_FOPS_METHODS,
};

static const struct file_operations tcr_child_fops = {
	.owner		= THIS_MODULE,
	TCR_CHILD_FOPS_METHODS,
};

static const struct file_operations tcr_child_fops_noowner = {
	TCR_CHILD_FOPS_METHODS,
};

static bool noowner;

static const struct file_operations *tcr_dev_fops(void)
{
	return READ_ONCE(noowner) ? &tcr_fops_noowner : &tcr_fops;
}

/*
 * A child file of @file's device, as its fd.  @late: first wait until the
 * device is being revoked (the kick hook sets td->gone): creating the
 * child must then fail.  Counted either way.
 */
static long tcr_child_create(struct file *file, struct tcr_dev *td, bool late)
{
	struct tcr_file *tf;
	int fd, ret;

	if (late) {
		ret = wait_event_interruptible(td->wq, READ_ONCE(td->gone));
		if (ret)
			return ret;
	}
	tf = kzalloc(sizeof(*tf), GFP_KERNEL);
	if (!tf)
		return -ENOMEM;
	tf->td = td;
	tf->child = true;
	mutex_lock(&tcr_lock);
	list_add(&tf->all, &tcr_all_files);
	mutex_unlock(&tcr_lock);
	spin_lock(&td->lock);
	list_add(&tf->node, &td->files);
	spin_unlock(&td->lock);

	atomic_inc(&tcr_child_opens);
	if (optin)
		fd = cdev_revoke_anon_getfd(file, "tcr-child",
					    READ_ONCE(noowner) ?
					    &tcr_child_fops_noowner :
					    &tcr_child_fops,
					    tf, O_RDWR | O_CLOEXEC);
	else
		fd = anon_inode_getfd("tcr-child", &tcr_child_fops, tf,
				      O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		/* never opened; tf stays on tcr_all_files, unused */
		atomic_dec(&tcr_child_opens);
		atomic_inc(&tcr_child_refused);
		spin_lock(&td->lock);
		list_del_init(&tf->node);
		spin_unlock(&td->lock);
		WRITE_ONCE(tf->released, true);
		return fd;
	}
	if (late)		/* a child of a device being revoked */
		atomic_inc(&tcr_child_late);
	return fd;
}

static struct tcr_dev *tcr_of_cdev(struct cdev *cdev)
{
	return tcr_devs[MINOR(cdev->dev) - MINOR(tcr_base)];
}

/* Wake every sleeper, complete every queued request: nothing waits on us. */
static void tcr_kick_dev(struct tcr_dev *td)
{
	struct tcr_iocb *ti, *tn;
	LIST_HEAD(iocbs);

	atomic_inc(&tcr_kicks);
	spin_lock(&td->lock);
	td->gone = true;		/* no new event work */
	list_splice_init(&td->iocbs, &iocbs);
	spin_unlock(&td->lock);
	wake_up_all(&td->wq);
	cancel_delayed_work_sync(&td->async_work);
	cancel_work_sync(&td->event_work);
	list_for_each_entry_safe(ti, tn, &iocbs, node) {
		ti->iocb->ki_complete(ti->iocb, -ENODEV);
		kfree(ti);
	}
	tcr_complete_cmds(td, -ENODEV);
}

static void tcr_kick(struct cdev *cdev)
{
	tcr_kick_dev(tcr_of_cdev(cdev));
}

static void tcr_kick_misc(struct miscdevice *misc)
{
	tcr_kick_dev(container_of(misc, struct tcr_dev, misc));
}

static const struct cdev_revoke_info tcr_revoke_info = {
	.kick = tcr_kick,
};

/* Static, not on the stack or heap: it holds the misc fences' lockdep key. */
static const struct cdev_revoke_info tcr_misc_revoke_info = {
	.kick_misc = tcr_kick_misc,
};

/*
 * The device was revoked (or, with optin=0, is going): from now on a
 * method of one of its files is a method after revocation.
 */
static void tcr_revoked(struct tcr_dev *td)
{
	struct tcr_file *tf;

	if (optin) {
		struct fasync_struct *fa;

		atomic_inc(&tcr_revokes);
		/* revocation turned fasync off for every file: none is left */
		rcu_read_lock();
		for (fa = READ_ONCE(td->fasync); fa;
		     fa = READ_ONCE(fa->fa_next))
			atomic_inc(&tcr_fasync_left);
		rcu_read_unlock();
	}
	mutex_lock(&tcr_lock);
	spin_lock(&td->lock);
	list_for_each_entry(tf, &td->files, node)
		WRITE_ONCE(tf->revoked, true);
	spin_unlock(&td->lock);
	if (!td->is_misc)
		tcr_devs[td->idx] = NULL;
	mutex_unlock(&tcr_lock);
}

static void tcr_remove_cdev(void *data)
{
	struct tcr_dev *td = data;

	device_destroy(&tcr_class, td->devt);
	if (optin)
		cdev_revoke(td->cdev);
	tcr_revoked(td);
	cdev_del(td->cdev);
	cancel_delayed_work_sync(&td->async_work);
	cancel_work_sync(&td->event_work);
	ida_free(&tcr_ida, td->idx);
}

static void tcr_remove_misc(void *data)
{
	struct tcr_dev *td = data;

	misc_deregister(&td->misc);	/* revokes the open files first */
	tcr_revoked(td);
	cancel_delayed_work_sync(&td->async_work);
	cancel_work_sync(&td->event_work);
	ida_free(&tcr_ida, td->idx);
}

static void tcr_init_dev(struct device *parent, struct tcr_dev *td)
{
	td->parent = parent;
	init_waitqueue_head(&td->wq);
	spin_lock_init(&td->lock);
	INIT_LIST_HEAD(&td->files);
	INIT_LIST_HEAD(&td->iocbs);
	INIT_LIST_HEAD(&td->cmds);
	INIT_DELAYED_WORK(&td->async_work, tcr_async_work);
	INIT_WORK(&td->event_work, tcr_event_work);
}

/* A misc device with a dynamic minor, /dev/tcr-miscN, instead of the cdev. */
static int tcr_register_misc(struct device *parent, struct tcr_dev *td)
{
	int ret;

	snprintf(td->misc_name, sizeof(td->misc_name), "tcr-misc%u", td->idx);
	td->misc.minor = MISC_DYNAMIC_MINOR;
	td->misc.name = td->misc_name;
	td->misc.fops = tcr_dev_fops();
	td->misc.parent = parent;
	if (optin)
		td->misc.revoke_info = &tcr_misc_revoke_info;
	ret = misc_register(&td->misc);
	if (ret) {
		ida_free(&tcr_ida, td->idx);
		return ret;
	}
	return devm_add_action_or_reset(parent, tcr_remove_misc, td);
}

/* Register /dev/tcrN for @parent; undone by devres, before what came first. */
static int tcr_register(struct device *parent, struct tcr_dev *td)
{
	struct device *node;
	int minor, ret;

	minor = ida_alloc_max(&tcr_ida, TCR_MINORS - 1, GFP_KERNEL);
	if (minor < 0)
		return minor;
	td->idx = minor;
	if (td->is_misc)
		return tcr_register_misc(parent, td);
	td->devt = MKDEV(MAJOR(tcr_base), MINOR(tcr_base) + minor);
	td->cdev = cdev_alloc();
	if (!td->cdev) {
		ret = -ENOMEM;
		goto err_ida;
	}
	td->cdev->ops = tcr_dev_fops();
	td->cdev->owner = td->cdev->ops->owner;
	if (optin) {
		ret = cdev_revoke_init(td->cdev, &tcr_revoke_info);
		if (ret)
			goto err_cdev;
	}
	mutex_lock(&tcr_lock);
	tcr_devs[minor] = td;
	mutex_unlock(&tcr_lock);
	ret = cdev_add(td->cdev, td->devt, 1);
	if (ret)
		goto err_map;
	node = device_create(&tcr_class, parent, td->devt, td, "tcr%d", minor);
	if (IS_ERR(node)) {
		ret = PTR_ERR(node);
		cdev_del(td->cdev);
		goto err_map_only;
	}
	return devm_add_action_or_reset(parent, tcr_remove_cdev, td);

err_map:
	kobject_put(&td->cdev->kobj);
err_map_only:
	mutex_lock(&tcr_lock);
	tcr_devs[minor] = NULL;
	mutex_unlock(&tcr_lock);
	goto err_ida;
err_cdev:
	kobject_put(&td->cdev->kobj);
err_ida:
	ida_free(&tcr_ida, minor);
	return ret;
}

static irqreturn_t tcr_edu_irq(int irq, void *data)
{
	struct tcr_dev *td = data;
	u32 status = readl(td->regs + EDU_IRQ_STATUS);

	if (!status)
		return IRQ_NONE;
	writel(status, td->regs + EDU_IRQ_ACK);
	atomic_inc(&tcr_irqs);
	return IRQ_WAKE_THREAD;
}

static irqreturn_t tcr_edu_irq_thread(int irq, void *data)
{
	tcr_event(data);
	return IRQ_HANDLED;
}

static int tcr_edu_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct tcr_dev *td;
	int ret;

	td = devm_kzalloc(&pdev->dev, sizeof(*td), GFP_KERNEL);
	if (!td)
		return -ENOMEM;
	ret = pcim_enable_device(pdev);
	if (ret)
		return ret;
	ret = pcim_iomap_regions(pdev, BIT(0), TCR_NAME);
	if (ret)
		return ret;
	td->regs = pcim_iomap_table(pdev)[0];
	td->mmio_start = pci_resource_start(pdev, 0);
	td->mmio_len = pci_resource_len(pdev, 0);
	td->id = readl(td->regs + EDU_ID);
	tcr_init_dev(&pdev->dev, td);
	/*
	 * MSI where the platform has it (an edu behind a PCIe root port
	 * needs no INTx routing); managed, since the device is (pcim).
	 */
	ret = pci_alloc_irq_vectors(pdev, 1, 1, PCI_IRQ_ALL_TYPES);
	if (ret < 0)
		return ret;
	/* Before the cdev: devres frees the IRQ after the revocation. */
	ret = devm_request_threaded_irq(&pdev->dev, pci_irq_vector(pdev, 0),
					tcr_edu_irq, tcr_edu_irq_thread,
					IRQF_SHARED, TCR_NAME, td);
	if (ret)
		return ret;
	return tcr_register(&pdev->dev, td);
}

static const struct pci_device_id tcr_edu_ids[] = {
	{ PCI_DEVICE(0x1234, 0x11e8) },
	{ }
};
MODULE_DEVICE_TABLE(pci, tcr_edu_ids);

static struct pci_driver tcr_edu_driver = {
	.name = TCR_NAME,
	.id_table = tcr_edu_ids,
	.probe = tcr_edu_probe,
};

static int tcr_plat_probe(struct platform_device *pdev)
{
	const bool *misc = dev_get_platdata(&pdev->dev);
	struct tcr_dev *td;

	td = devm_kzalloc(&pdev->dev, sizeof(*td), GFP_KERNEL);
	if (!td)
		return -ENOMEM;
	/* two pages, for mappings that are split and moved */
	td->page = (void *)devm_get_free_pages(&pdev->dev,
					       GFP_KERNEL | __GFP_ZERO, 1);
	if (!td->page)
		return -ENOMEM;
	td->id = TCR_PLAT_ID;
	td->is_misc = misc && *misc;
	*(u32 *)td->page = TCR_PLAT_ID;
	*(u32 *)(td->page + PAGE_SIZE) = TCR_PLAT_ID + 1;
	tcr_init_dev(&pdev->dev, td);
	return tcr_register(&pdev->dev, td);
}

static struct platform_driver tcr_plat_driver = {
	.driver.name = TCR_NAME,
	.probe = tcr_plat_probe,
};

/*
 * debugfs "platform_add" / "platform_add_misc" / "platform_del": write an
 * id (0..63).  The device of "platform_add_misc" is a misc device.
 */
static int tcr_plat_add_kind(u64 id, bool misc)
{
	struct platform_device *pdev;

	if (id >= TCR_MINORS)
		return -EINVAL;
	mutex_lock(&tcr_pdev_lock);
	if (tcr_pdevs[id]) {
		mutex_unlock(&tcr_pdev_lock);
		return -EEXIST;
	}
	pdev = platform_device_register_data(NULL, TCR_NAME, id, &misc,
					     sizeof(misc));
	if (!IS_ERR(pdev))
		tcr_pdevs[id] = pdev;
	mutex_unlock(&tcr_pdev_lock);
	return PTR_ERR_OR_ZERO(pdev);
}

static int tcr_plat_add(void *data, u64 id)
{
	return tcr_plat_add_kind(id, false);
}

static int tcr_plat_add_misc(void *data, u64 id)
{
	return tcr_plat_add_kind(id, true);
}

static int tcr_plat_del(void *data, u64 id)
{
	struct platform_device *pdev;

	if (id >= TCR_MINORS)
		return -EINVAL;
	mutex_lock(&tcr_pdev_lock);
	pdev = tcr_pdevs[id];
	tcr_pdevs[id] = NULL;
	mutex_unlock(&tcr_pdev_lock);
	if (!pdev)
		return -ENOENT;
	platform_device_unregister(pdev);
	return 0;
}

DEFINE_DEBUGFS_ATTRIBUTE(tcr_plat_add_fops, NULL, tcr_plat_add, "%llu\n");
DEFINE_DEBUGFS_ATTRIBUTE(tcr_plat_add_misc_fops, NULL, tcr_plat_add_misc,
			 "%llu\n");
DEFINE_DEBUGFS_ATTRIBUTE(tcr_plat_del_fops, NULL, tcr_plat_del, "%llu\n");

static void tcr_debugfs_init(void)
{
	struct dentry *d = debugfs_create_dir("test_cdev_revoke", NULL);

	tcr_debugfs = d;
	debugfs_create_atomic_t("opens", 0444, d, &tcr_opens);
	debugfs_create_atomic_t("releases", 0444, d, &tcr_releases);
	debugfs_create_atomic_t("fops", 0444, d, &tcr_calls);
	debugfs_create_atomic_t("fops_after_revoke", 0444, d, &tcr_after_revoke);
	debugfs_create_atomic_t("revokes", 0444, d, &tcr_revokes);
	debugfs_create_atomic_t("kicks", 0444, d, &tcr_kicks);
	debugfs_create_atomic_t("irqs", 0444, d, &tcr_irqs);
	debugfs_create_atomic_t("async_done", 0444, d, &tcr_async_done);
	debugfs_create_atomic_t("compat_ioctls", 0444, d, &tcr_compat_ioctls);
	debugfs_create_atomic_t("fasync_left", 0444, d, &tcr_fasync_left);
	debugfs_create_atomic_t("vmas", 0444, d, &tcr_vmas);
	debugfs_create_atomic_t("vma_opens", 0444, d, &tcr_vma_opens);
	debugfs_create_atomic_t("vma_closes", 0444, d, &tcr_vma_closes);
	debugfs_create_atomic_t("child_opens", 0444, d, &tcr_child_opens);
	debugfs_create_atomic_t("child_releases", 0444, d, &tcr_child_releases);
	debugfs_create_atomic_t("child_refused", 0444, d, &tcr_child_refused);
	debugfs_create_atomic_t("child_late", 0444, d, &tcr_child_late);
	debugfs_create_bool("optin", 0444, d, &optin);
	debugfs_create_bool("noowner", 0644, d, &noowner);
	debugfs_create_file_unsafe("platform_add", 0200, d, NULL,
				   &tcr_plat_add_fops);
	debugfs_create_file_unsafe("platform_add_misc", 0200, d, NULL,
				   &tcr_plat_add_misc_fops);
	debugfs_create_file_unsafe("platform_del", 0200, d, NULL,
				   &tcr_plat_del_fops);
}

static int __init tcr_init(void)
{
	int ret;

	ret = alloc_chrdev_region(&tcr_base, 0, TCR_MINORS, TCR_NAME);
	if (ret)
		return ret;
	ret = class_register(&tcr_class);
	if (ret)
		goto err_region;
	ret = platform_driver_register(&tcr_plat_driver);
	if (ret)
		goto err_class;
	ret = pci_register_driver(&tcr_edu_driver);
	if (ret)
		goto err_plat;
	tcr_debugfs_init();
	return 0;

err_plat:
	platform_driver_unregister(&tcr_plat_driver);
err_class:
	class_unregister(&tcr_class);
err_region:
	unregister_chrdev_region(tcr_base, TCR_MINORS);
	return ret;
}

static void __exit tcr_exit(void)
{
	struct tcr_file *tf, *n;
	int i;

	debugfs_remove(tcr_debugfs);
	for (i = 0; i < TCR_MINORS; i++)
		tcr_plat_del(NULL, i);
	pci_unregister_driver(&tcr_edu_driver);
	platform_driver_unregister(&tcr_plat_driver);
	class_unregister(&tcr_class);
	unregister_chrdev_region(tcr_base, TCR_MINORS);
	list_for_each_entry_safe(tf, n, &tcr_all_files, all)
		kfree(tf);
}

module_init(tcr_init);
module_exit(tcr_exit);
MODULE_DESCRIPTION("Revocable character device driver for the cdev_revoke selftests");
MODULE_LICENSE("GPL");
