// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for cdev_revoke.  Built in, so that they can reach the
 * internals (internal.h) and inject delays at the interesting points of a
 * revocation.
 *
 * The mock driver keeps its private data in a structure that each test
 * frees right after cdev_revoke() returns, like a real driver would at
 * unbind, so a method called after revocation is a KASAN report.  Its
 * counters live in test memory and survive the driver.
 */

#include <kunit/test.h>
#include <linux/uaccess.h>
#include <linux/completion.h>
#include <linux/debug_locks.h>
#include <linux/delay.h>
#include <linux/fs.h>
#include <linux/eventpoll.h>
#include <linux/file.h>
#include <linux/filelock.h>
#include <linux/kthread.h>
#include <linux/miscdevice.h>
#include <linux/mman.h>
#include <linux/moduleparam.h>
#include <linux/mmu_context.h>
#include <linux/namei.h>
#include <linux/pagemap.h>
#include <linux/random.h>
#include <linux/uio.h>
#include <linux/usb.h>

#include "../internal.h"
#include "internal.h"

#define KT_PATH		"/cdev_revoke_kunit"
#define KT_IOC_PLAIN	0x4b01
#define KT_IOC_PARK	0x4b02
#define KT_IOC_SELF	0x4b03
#define KT_IOC_BREAK	0x4b04
#define KT_IOC_LOCK	0x4b05
#define KT_IOC_CHILD	0x4b06	/* park, then create a child file */
#define KT_PLAIN_RET	42
#define KT_TIMEOUT	(10 * HZ)
#define KT_MAGIC	0x5a17c0deU

enum kt_park {
	KT_PARK_NONE,
	KT_PARK_GATE,	/* wait for the test; ignores kicks */
	KT_PARK_KICK,	/* sleep until the kick hook says the device is gone */
};

/* Test memory: survives the driver. */
struct kt_counts {
	atomic_t seq;
	atomic_t opens;
	atomic_t releases;
	atomic_t calls;
	atomic_t after_revoke;
	atomic_t fasync_off;
	atomic_t kicks;
	atomic_t kick_files;
	int kick_seq;
	int kick_file_seq;
	int fasync_off_seq;
	int release_seq;
	int park_exit_seq;
	bool revoked;
	struct task_struct *revoker;
	atomic_t released_by_revoke;
	atomic_t faults;
	atomic_t mkwrites;
	/* i_cdev as seen by a parked ->open (kt_open_icdev) */
	atomic_t icdev_reads;
	atomic_t icdev_null;
	atomic_t icdev_other;
	/* one-shot rendezvous of tests whose driver data is gone meanwhile */
	struct completion at;
	struct completion go;
	atomic_t hook_hits;
	long unbroken;
	/* registrars, child files, vm_ops->open/close */
	void *open_pd;
	atomic_t child_releases;
	atomic_t vm_opens;
	atomic_t vm_closes;
	struct file *child;
};

/* The driver's private data: freed when the device is revoked. */
struct kt_drv {
	wait_queue_head_t wq;
	struct completion gate;
	struct completion parked;
	enum kt_park park;
	bool gone;
	__poll_t mask;
	struct fasync_struct *fasync;
	struct cdev *cdev;
	struct page *page;
	bool mmap_by_fault;
	bool mkwrite;		/* its vm_ops have ->page_mkwrite */
	bool probe_icdev;	/* ->open reads inode->i_cdev after its park */
	bool open_self;		/* ->open revokes its own device */
	bool vm_close;		/* its vm_ops have ->open and ->close */
	wait_queue_head_t *wq2;	/* a second queue ->poll waits on, if set */
};

static struct kt_counts *kt_c;
static struct kt_drv *kt_d;

static int kt_seq(void)
{
	return atomic_inc_return(&kt_c->seq);
}

static void kt_hit(void)
{
	atomic_inc(&kt_c->calls);
	if (READ_ONCE(kt_c->revoked))
		atomic_inc(&kt_c->after_revoke);
}

/*
 * Park the calling method as the test asked; returns what to return.
 * The exit is stamped here, inside the driver: a stamp taken by the
 * caller after the shim returned could legitimately come after revoke's.
 */
static int kt_park(struct kt_drv *d)
{
	int ret;

	switch (d->park) {
	case KT_PARK_GATE:
		complete(&d->parked);
		wait_for_completion(&d->gate);
		ret = 0;
		break;
	case KT_PARK_KICK:
		complete(&d->parked);
		ret = wait_event_interruptible(d->wq, READ_ONCE(d->gone)) ?
		      -ERESTARTSYS : -EIO;
		break;
	default:
		return 0;
	}
	kt_c->park_exit_seq = kt_seq();
	return ret;
}

static int kt_open(struct inode *inode, struct file *file)
{
	struct kt_drv *d = READ_ONCE(kt_d);

	unsigned long end;
	int ret;

	kt_hit();
	file->private_data = d;
	atomic_inc(&kt_c->opens);
	if (d->open_self) {
		cdev_revoke_break_active_protection(file);
		cdev_revoke(d->cdev);
		WRITE_ONCE(kt_c->revoked, true);
		/* Wrong on purpose: must fail the open instead. */
		if (!cdev_revoke_unbreak_active_protection(file))
			return 0;
		return -EINVAL;
	}
	ret = kt_park(d);
	if (!d->probe_icdev)
		return ret;
	/* What container_of(inode->i_cdev, ...) in a driver's ->open reads. */
	end = jiffies + HZ / 5;
	while (time_before(jiffies, end)) {
		struct cdev *c = READ_ONCE(inode->i_cdev);

		atomic_inc(&kt_c->icdev_reads);
		if (!c)
			atomic_inc(&kt_c->icdev_null);
		else if (c != d->cdev)
			atomic_inc(&kt_c->icdev_other);
		cpu_relax();
	}
	return ret;
}

static int kt_release(struct inode *inode, struct file *file)
{
	struct kt_drv *d = file->private_data;

	kt_hit();
	kt_c->release_seq = kt_seq();
	atomic_inc(&kt_c->releases);
	if (current == READ_ONCE(kt_c->revoker))
		atomic_inc(&kt_c->released_by_revoke);
	kt_park(d);
	return 0;
}

static ssize_t kt_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	struct kt_drv *d = iocb->ki_filp->private_data;
	size_t n = iov_iter_count(to);
	int ret;

	kt_hit();
	ret = kt_park(d);
	if (ret)
		return ret;
	return iov_iter_zero(n, to);
}

static ssize_t kt_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	struct kt_drv *d = iocb->ki_filp->private_data;
	size_t n = iov_iter_count(from);
	int ret;

	kt_hit();
	ret = kt_park(d);
	if (ret)
		return ret;
	iov_iter_advance(from, n);
	return n;
}

/* Child files: what a line request or an event queue fd would be. */
static ssize_t kt_child_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	kt_hit();
	return iov_iter_zero(iov_iter_count(to), to);
}

static __poll_t kt_child_poll(struct file *file, poll_table *pt)
{
	struct kt_drv *d = file->private_data;

	kt_hit();
	poll_wait(file, &d->wq, pt);
	return EPOLLOUT;
}

static int kt_child_release(struct inode *inode, struct file *file)
{
	kt_hit();
	atomic_inc(&kt_c->child_releases);
	if (current == READ_ONCE(kt_c->revoker))
		atomic_inc(&kt_c->released_by_revoke);
	return 0;
}

static const struct file_operations kt_child_fops = {
	.owner		= THIS_MODULE,
	.read_iter	= kt_child_read_iter,
	.poll		= kt_child_poll,
	.release	= kt_child_release,
};

/* Taken by a method and held by a revoker in the lockdep cases. */
static DEFINE_MUTEX(kt_lockdep_mutex);

static long kt_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct kt_drv *d = file->private_data;

	kt_hit();
	switch (cmd) {
	case KT_IOC_PLAIN:
		return KT_PLAIN_RET + arg;
	case KT_IOC_PARK:
		return kt_park(d);
	case KT_IOC_SELF:
		cdev_revoke_break_active_protection(file);
		cdev_revoke(d->cdev);
		if (cdev_revoke_unbreak_active_protection(file))
			return -EINVAL;		/* still live? */
		return 7;
	case KT_IOC_BREAK:
		/* Sleeps unprotected; @d may be freed meanwhile. */
		cdev_revoke_break_active_protection(file);
		complete(&kt_c->at);
		wait_for_completion_timeout(&kt_c->go, KT_TIMEOUT);
		if (!cdev_revoke_unbreak_active_protection(file))
			return -EIO;
		/* Back in the driver: its data must still be there. */
		kt_hit();
		return 5;
	case KT_IOC_LOCK:
		mutex_lock(&kt_lockdep_mutex);
		mutex_unlock(&kt_lockdep_mutex);
		return 0;
	case KT_IOC_CHILD:
		kt_park(d);
		kt_c->child = cdev_revoke_anon_getfile(file, "kt_child",
						       &kt_child_fops, d,
						       O_RDWR);
		return PTR_ERR_OR_ZERO(kt_c->child);
	}
	return -ENOTTY;
}

static __poll_t kt_poll(struct file *file, poll_table *pt)
{
	struct kt_drv *d = file->private_data;

	kt_hit();
	poll_wait(file, &d->wq, pt);
	if (d->wq2)
		poll_wait(file, d->wq2, pt);
	if (kt_park(d))
		return EPOLLERR;
	return READ_ONCE(d->mask);
}

static loff_t kt_llseek(struct file *file, loff_t off, int whence)
{
	struct kt_drv *d = file->private_data;
	int ret;

	kt_hit();
	ret = kt_park(d);
	return ret ?: off;
}

static int kt_fsync(struct file *file, loff_t start, loff_t end, int datasync)
{
	kt_hit();
	return kt_park(file->private_data);
}

/* A device may list entries to getdents(2); this one lists none. */
static int kt_iterate(struct file *file, struct dir_context *ctx)
{
	kt_hit();
	return 0;
}

static int kt_flush(struct file *file, fl_owner_t id)
{
	kt_hit();
	return -EIO;
}

static int kt_fasync(int fd, struct file *file, int on)
{
	struct kt_drv *d = file->private_data;

	kt_hit();
	if (!on) {
		atomic_inc(&kt_c->fasync_off);
		kt_c->fasync_off_seq = kt_seq();
	}
	return fasync_helper(fd, file, on, &d->fasync);
}

static int kt_lock(struct file *file, int cmd, struct file_lock *fl)
{
	kt_hit();
	return posix_lock_file(file, fl, NULL);
}

static vm_fault_t kt_vm_fault(struct vm_fault *vmf)
{
	struct kt_drv *d = vmf->vma->vm_file->private_data;

	kt_hit();
	atomic_inc(&kt_c->faults);
	get_page(d->page);
	vmf->page = d->page;
	return 0;
}

/* As fb_deferred_io does: lock the page, note the write. */
static vm_fault_t kt_vm_page_mkwrite(struct vm_fault *vmf)
{
	kt_hit();
	atomic_inc(&kt_c->mkwrites);
	lock_page(vmf->page);
	return VM_FAULT_LOCKED;
}

static void kt_vm_open(struct vm_area_struct *vma)
{
	kt_hit();
	atomic_inc(&kt_c->vm_opens);
}

static void kt_vm_close(struct vm_area_struct *vma)
{
	kt_hit();
	atomic_inc(&kt_c->vm_closes);
}

static const struct vm_operations_struct kt_vm_ops = {
	.fault = kt_vm_fault,
};

static const struct vm_operations_struct kt_vm_close_ops = {
	.open = kt_vm_open,
	.close = kt_vm_close,
	.fault = kt_vm_fault,
};

static const struct vm_operations_struct kt_vm_mkwrite_ops = {
	.fault = kt_vm_fault,
	.page_mkwrite = kt_vm_page_mkwrite,
};

/* Map the driver's page: PTEs set up in ->mmap, or by faults later. */
static int kt_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct kt_drv *d = file->private_data;

	kt_hit();
	if (d->vm_close) {
		/* Every page of the mapping faults in the driver's page. */
		vma->vm_ops = &kt_vm_close_ops;
		return 0;
	}
	if (vma->vm_end - vma->vm_start != PAGE_SIZE || vma->vm_pgoff)
		return -EINVAL;
	if (d->mmap_by_fault) {
		vma->vm_ops = d->mkwrite ? &kt_vm_mkwrite_ops : &kt_vm_ops;
		return 0;
	}
	return remap_pfn_range(vma, vma->vm_start, page_to_pfn(d->page),
			       PAGE_SIZE, vma->vm_page_prot);
}

static const struct file_operations kt_fops = {
	.owner		= THIS_MODULE,
	.fop_flags	= FOP_UNSIGNED_OFFSET,
	.open		= kt_open,
	.release	= kt_release,
	.read_iter	= kt_read_iter,
	.write_iter	= kt_write_iter,
	.unlocked_ioctl	= kt_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.poll		= kt_poll,
	.llseek		= kt_llseek,
	.fsync		= kt_fsync,
	.iterate_shared	= kt_iterate,
	.flush		= kt_flush,
	.fasync		= kt_fasync,
	.lock		= kt_lock,
	.mmap		= kt_mmap,
};

static void kt_kick(struct cdev *cdev)
{
	struct kt_drv *d = READ_ONCE(kt_d);

	atomic_inc(&kt_c->kicks);
	kt_c->kick_seq = kt_seq();
	WRITE_ONCE(d->gone, true);
	wake_up_all(&d->wq);
}

static void kt_kick_file(struct file *file)
{
	atomic_inc(&kt_c->kick_files);
	kt_c->kick_file_seq = kt_seq();
}

static const struct cdev_revoke_info kt_info = {
	.kick = kt_kick,
	.kick_file = kt_kick_file,
};

/* Per-test fixture: one dev_t and a device node for it. */
struct kt_ctx {
	dev_t devt;
	struct cdev *cdev;
	struct kt_counts counts;
};

static int kt_mknod(dev_t devt)
{
	struct path parent;
	struct dentry *dentry;
	int err;

	dentry = kern_path_create(AT_FDCWD, KT_PATH, &parent, 0);
	if (IS_ERR(dentry))
		return PTR_ERR(dentry);
	err = vfs_mknod(mnt_idmap(parent.mnt), d_inode(parent.dentry), dentry,
			S_IFCHR | 0600, devt);
	done_path_create(&parent, dentry);
	return err;
}

static int kt_init(struct kunit *test)
{
	struct kt_ctx *ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);
	int err;

	if (!ctx)
		return -ENOMEM;
	err = alloc_chrdev_region(&ctx->devt, 0, 1, "cdev_revoke_kunit");
	if (err)
		return err;
	do_unlinkat(AT_FDCWD, getname_kernel(KT_PATH));
	err = kt_mknod(ctx->devt);
	if (err) {
		unregister_chrdev_region(ctx->devt, 1);
		return err;
	}
	kt_c = &ctx->counts;
	init_completion(&kt_c->at);
	init_completion(&kt_c->go);
	test->priv = ctx;
	return 0;
}

/* Register a fresh revocable device at the fixture's dev_t. */
static struct kt_drv *kt_register_nested(struct kunit *test,
					 const struct cdev_revoke_info *info,
					 unsigned int subclass)
{
	struct kt_ctx *ctx = test->priv;
	struct kt_drv *d;
	struct cdev *cdev;

	d = kzalloc(sizeof(*d), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, d);
	init_waitqueue_head(&d->wq);
	init_completion(&d->gate);
	init_completion(&d->parked);
	d->page = alloc_page(GFP_KERNEL | __GFP_ZERO);
	KUNIT_ASSERT_NOT_NULL(test, d->page);
	*(u32 *)page_address(d->page) = KT_MAGIC;

	cdev = cdev_alloc();
	KUNIT_ASSERT_NOT_NULL(test, cdev);
	cdev->ops = &kt_fops;
	KUNIT_ASSERT_EQ(test, cdev_revoke_init_nested(cdev, info, subclass), 0);
	KUNIT_ASSERT_EQ(test, cdev_add(cdev, ctx->devt, 1), 0);
	d->cdev = cdev;
	ctx->cdev = cdev;
	kt_c->revoked = false;
	WRITE_ONCE(kt_d, d);
	return d;
}

static struct kt_drv *kt_register(struct kunit *test,
				  const struct cdev_revoke_info *info)
{
	return kt_register_nested(test, info, 0);
}

/* What a driver's remove does: revoke, delete, free private data. */
static void kt_unregister(struct kunit *test, struct kt_drv *d)
{
	struct kt_ctx *ctx = test->priv;

	cdev_revoke(d->cdev);
	WRITE_ONCE(kt_c->revoked, true);
	cdev_del(d->cdev);
	ctx->cdev = NULL;
	WRITE_ONCE(kt_d, NULL);
	__free_page(d->page);
	kfree(d);
}

static void kt_exit(struct kunit *test)
{
	struct kt_ctx *ctx = test->priv;

	WRITE_ONCE(cdev_revoke_test_hook, NULL);
	if (ctx->cdev) {
		cdev_revoke(ctx->cdev);
		cdev_del(ctx->cdev);
	}
	do_unlinkat(AT_FDCWD, getname_kernel(KT_PATH));
	unregister_chrdev_region(ctx->devt, 1);
	kt_c = NULL;
}

static struct file *kt_open_file(struct kunit *test)
{
	struct file *file = filp_open(KT_PATH, O_RDWR, 0);

	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(file), "open: %ld", PTR_ERR(file));
	return file;
}

/* close(2) in a kthread, made synchronous. */
static void kt_close(struct file *file)
{
	if (file->f_op->flush)
		file->f_op->flush(file, NULL);
	__fput_sync(file);
}

/* sparse: __poll_t is a bitwise type; KUnit compares plain integers. */
static unsigned int kt_poll_mask(struct file *file, poll_table *pt)
{
	return (__force unsigned int)vfs_poll(file, pt);
}

#define KT_MASK(mask)	((__force unsigned int)(mask))

static ssize_t kt_read(struct file *file)
{
	char buf[8];
	loff_t pos = 0;

	return kernel_read(file, buf, sizeof(buf), &pos);
}

static ssize_t kt_write(struct file *file)
{
	char buf[8] = "revoke";
	loff_t pos = 0;

	return kernel_write(file, buf, sizeof(buf), &pos);
}

/* getdents(2)'s path into the device: -ENOTDIR if it has no method. */
static int kt_iterate_dir(struct file *file)
{
	struct dir_context ctx = {};

	return iterate_dir(file, &ctx);
}

/* The shim keeps the NULL-ness of every method, and the driver's flags. */
static void kt_shim_table(struct kunit *test)
{
	struct kt_drv *d = kt_register(test, NULL);
	struct file *file = kt_open_file(test);
	const struct file_operations *f = file->f_op;

	KUNIT_EXPECT_PTR_NE(test, f, &kt_fops);
	KUNIT_EXPECT_TRUE(test, cdev_revoke_file_is(file, &kt_fops));
	KUNIT_EXPECT_PTR_EQ(test, cdev_revoke_real_fops(file), &kt_fops);
	KUNIT_EXPECT_EQ(test, (__force unsigned int)f->fop_flags,
			(__force unsigned int)kt_fops.fop_flags);
	KUNIT_EXPECT_PTR_EQ(test, f->owner, kt_fops.owner);
	KUNIT_EXPECT_NOT_NULL(test, f->read_iter);
	KUNIT_EXPECT_NOT_NULL(test, f->write_iter);
	KUNIT_EXPECT_NOT_NULL(test, f->poll);
	KUNIT_EXPECT_NOT_NULL(test, f->fasync);
	KUNIT_EXPECT_NOT_NULL(test, f->lock);
	KUNIT_EXPECT_NULL(test, f->read);
	KUNIT_EXPECT_NULL(test, f->write);
	KUNIT_EXPECT_NOT_NULL(test, f->mmap);
	KUNIT_EXPECT_NULL(test, f->get_unmapped_area);
	KUNIT_EXPECT_NULL(test, f->splice_read);
	KUNIT_EXPECT_NULL(test, f->uring_cmd);
	KUNIT_EXPECT_NULL(test, f->flock);
	KUNIT_EXPECT_NULL(test, f->setlease);
	KUNIT_EXPECT_NULL(test, f->check_flags);
	/* The VFS derives these from the table, as before. */
	KUNIT_EXPECT_TRUE(test, file->f_mode & FMODE_CAN_READ);
	KUNIT_EXPECT_TRUE(test, file->f_mode & FMODE_LSEEK);

	/* Calls pass through, results too. */
	KUNIT_EXPECT_EQ(test, kt_read(file), 8);
	KUNIT_EXPECT_EQ(test, kt_write(file), 8);
	KUNIT_EXPECT_EQ(test, f->unlocked_ioctl(file, KT_IOC_PLAIN, 1),
			KT_PLAIN_RET + 1);
	KUNIT_EXPECT_EQ(test, !f->compat_ioctl, !kt_fops.compat_ioctl);
	if (f->compat_ioctl)
		KUNIT_EXPECT_EQ(test, f->compat_ioctl(file, KT_IOC_PLAIN, 2),
				KT_PLAIN_RET + 2);
	KUNIT_EXPECT_EQ(test, vfs_llseek(file, 5, SEEK_SET), 5);
	KUNIT_EXPECT_EQ(test, kt_iterate_dir(file), 0);
	KUNIT_EXPECT_EQ(test, f->flush(file, NULL), -EIO);
	KUNIT_EXPECT_FALSE(test, cdev_revoke_pending(file));

	kt_close(file);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->releases), 1);
	kt_unregister(test, d);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->releases), 1);
}

/*
 * Every method of struct file_operations has a shim: a table with all of
 * them gets one with all of them, none the driver's own (but
 * ->check_flags, which gets no file).  A method added to the struct and
 * not to cdev_revoke_build_fops() fails here rather than bypassing the
 * fence unnoticed.
 */
static void kt_shim_every_method(struct kunit *test)
{
	struct cdev_revoke_fops *t;
	const size_t n = sizeof(t->fops);
	const size_t flags = ALIGN_DOWN(offsetof(typeof(t->fops), fop_flags),
					sizeof(void *));
	size_t off;
	char *drv;

	drv = kunit_kmalloc(test, n, GFP_KERNEL);
	t = kunit_kzalloc(test, sizeof(*t), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, drv);
	KUNIT_ASSERT_NOT_NULL(test, t);
	KUNIT_ASSERT_EQ(test, n % sizeof(void *), 0);
	/* The methods are never called: they are only tested for NULL. */
	memset(drv, 0x5a, n);
	memset(drv + offsetof(typeof(t->fops), owner), 0, sizeof(void *));
	memset(drv + flags, 0, sizeof(void *));
	cdev_revoke_build_fops(t, (const void *)drv, NULL);

	for (off = 0; off < n; off += sizeof(void *)) {
		const void *d = *(const void **)(drv + off);
		const void *m = *(const void **)((const char *)&t->fops + off);

		if (off == offsetof(typeof(t->fops), owner) || off == flags)
			continue;
		if (off == offsetof(typeof(t->fops), check_flags)) {
			KUNIT_EXPECT_PTR_EQ(test, m, d);
			continue;
		}
		KUNIT_EXPECT_NOT_NULL_MSG(test, m, "no shim at offset %zu", off);
		KUNIT_EXPECT_PTR_NE_MSG(test, m, d,
					"the driver's method at offset %zu", off);
	}
}

/* After revoke: the device's errno, no driver call, release ran once. */
static void kt_after_revoke(struct kunit *test)
{
	struct kt_drv *d = kt_register(test, &kt_info);
	struct file *file = kt_open_file(test);
	const struct file_operations *f = file->f_op;
	int calls;

	kt_unregister(test, d);		/* frees d */
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->releases), 1);
	KUNIT_EXPECT_TRUE(test, cdev_revoke_pending(file));
	calls = atomic_read(&kt_c->calls);

	KUNIT_EXPECT_EQ(test, kt_read(file), -ENODEV);
	KUNIT_EXPECT_EQ(test, kt_write(file), -ENODEV);
	KUNIT_EXPECT_EQ(test, f->unlocked_ioctl(file, KT_IOC_PLAIN, 0), -ENODEV);
	if (f->compat_ioctl)
		KUNIT_EXPECT_EQ(test, f->compat_ioctl(file, KT_IOC_PLAIN, 0),
				-ENODEV);
	KUNIT_EXPECT_EQ(test, vfs_llseek(file, 0, SEEK_SET), -ENODEV);
	KUNIT_EXPECT_EQ(test, vfs_fsync(file, 0), -ENODEV);
	KUNIT_EXPECT_EQ(test, kt_iterate_dir(file), -ENODEV);
	KUNIT_EXPECT_EQ(test, kt_poll_mask(file, NULL),
			KT_MASK(EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP |
				EPOLLRDNORM | EPOLLWRNORM));
	KUNIT_EXPECT_EQ(test, f->flush(file, NULL), 0);
	KUNIT_EXPECT_EQ(test, f->fasync(-1, file, 1), -ENODEV);
	KUNIT_EXPECT_EQ(test, f->fasync(-1, file, 0), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->calls), calls);

	kt_close(file);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->releases), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->after_revoke), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->calls), calls);
}

/* The per-device options: errno, EOF on read, poll mask. */
static void kt_options(struct kunit *test)
{
	static const struct cdev_revoke_info info = {
		.error = -EPIPE,
		.flags = CDEV_REVOKE_READ_EOF,
		.poll_mask = EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP |
			     EPOLLRDNORM | EPOLLWRNORM | EPOLLRDHUP,
	};
	struct kt_drv *d = kt_register(test, &info);
	struct file *file = kt_open_file(test);

	kt_unregister(test, d);
	KUNIT_EXPECT_EQ(test, kt_read(file), 0);
	KUNIT_EXPECT_EQ(test, kt_write(file), -EPIPE);
	KUNIT_EXPECT_EQ(test, file->f_op->unlocked_ioctl(file, 0, 0), -EPIPE);
	KUNIT_EXPECT_EQ(test, kt_poll_mask(file, NULL), KT_MASK(info.poll_mask));
	kt_close(file);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->after_revoke), 0);
}

/* A method to run in a kthread while the test revokes. */
enum kt_op {
	KT_OP_READ,
	KT_OP_WRITE,
	KT_OP_IOCTL,
	KT_OP_COMPAT_IOCTL,
	KT_OP_POLL,
	KT_OP_LLSEEK,
	KT_OP_FSYNC,
	KT_OP_OPEN,
	KT_OP_CLOSE,
	KT_OP_REVOKE,
	KT_OP_CHILD,
};

static const char * const kt_op_names[] = {
	"read", "write", "ioctl", "compat_ioctl", "poll", "llseek", "fsync",
	"open", "close", "revoke", "child",
};

struct kt_call {
	enum kt_op op;
	struct file *file;
	struct cdev *cdev;
	long ret;
	int seq;
	struct completion done;
};

static int kt_call_fn(void *arg)
{
	struct kt_call *c = arg;
	struct file *file = c->file;

	switch (c->op) {
	case KT_OP_READ:
		c->ret = kt_read(file);
		break;
	case KT_OP_WRITE:
		c->ret = kt_write(file);
		break;
	case KT_OP_IOCTL:
		c->ret = file->f_op->unlocked_ioctl(file, KT_IOC_PARK, 0);
		break;
	case KT_OP_COMPAT_IOCTL:
		c->ret = file->f_op->compat_ioctl(file, KT_IOC_PARK, 0);
		break;
	case KT_OP_POLL:
		c->ret = kt_poll_mask(file, NULL);
		break;
	case KT_OP_LLSEEK:
		c->ret = vfs_llseek(file, 3, SEEK_SET);
		break;
	case KT_OP_FSYNC:
		c->ret = vfs_fsync(file, 0);
		break;
	case KT_OP_OPEN:
		file = filp_open(KT_PATH, O_RDWR, 0);
		c->ret = PTR_ERR_OR_ZERO(file);
		c->file = IS_ERR(file) ? NULL : file;
		break;
	case KT_OP_CLOSE:
		kt_close(file);
		c->ret = 0;
		break;
	case KT_OP_REVOKE:
		cdev_revoke(c->cdev);
		c->ret = 0;
		break;
	case KT_OP_CHILD:
		c->ret = file->f_op->unlocked_ioctl(file, KT_IOC_CHILD, 0);
		break;
	}
	c->seq = kt_seq();
	complete(&c->done);
	return 0;
}

static void kt_start(struct kunit *test, struct kt_call *c)
{
	struct task_struct *t;

	init_completion(&c->done);
	t = kthread_run(kt_call_fn, c, "kt_%s", kt_op_names[c->op]);
	KUNIT_ASSERT_FALSE(test, IS_ERR(t));
}

static bool kt_parked(struct kt_drv *d)
{
	return wait_for_completion_timeout(&d->parked, KT_TIMEOUT);
}

static bool kt_wait(struct kt_call *c, unsigned long timeout)
{
	return wait_for_completion_timeout(&c->done, timeout);
}

static const enum kt_op kt_fence_ops[] = {
	KT_OP_READ, KT_OP_WRITE, KT_OP_IOCTL, KT_OP_COMPAT_IOCTL, KT_OP_POLL,
	KT_OP_LLSEEK, KT_OP_FSYNC, KT_OP_OPEN, KT_OP_CLOSE,
};

static void kt_op_desc(const enum kt_op *op, char *desc)
{
	strscpy(desc, kt_op_names[*op], KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(kt_fence, kt_fence_ops, kt_op_desc);

/*
 * A method parked in the driver keeps revoke waiting until it leaves, even
 * past the kick hooks; revoke returns only after the method returned.
 */
static void kt_fence_waits(struct kunit *test)
{
	enum kt_op op = *(const enum kt_op *)test->param_value;
	struct kt_drv *d = kt_register(test, &kt_info);
	struct kt_call call = { .op = op }, rev = { .op = KT_OP_REVOKE };
	struct file *file = NULL;
	int i;

	if (op == KT_OP_COMPAT_IOCTL && !IS_ENABLED(CONFIG_COMPAT))
		kunit_skip(test, "needs CONFIG_COMPAT");
	if (op != KT_OP_OPEN)
		file = kt_open_file(test);
	call.file = file;
	d->park = KT_PARK_GATE;
	kt_start(test, &call);
	KUNIT_ASSERT_TRUE(test, kt_parked(d));

	rev.cdev = d->cdev;
	kt_start(test, &rev);
	/* Revoke kicks, then must not get past a method still running. */
	for (i = 0; i < 500 && !atomic_read(&kt_c->kicks); i++)
		msleep(20);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->kicks), 1);
	KUNIT_EXPECT_FALSE(test, kt_wait(&rev, HZ / 5));

	complete_all(&d->gate);
	KUNIT_ASSERT_TRUE(test, kt_wait(&call, KT_TIMEOUT));
	KUNIT_ASSERT_TRUE(test, kt_wait(&rev, KT_TIMEOUT));
	KUNIT_EXPECT_LT(test, kt_c->park_exit_seq, rev.seq);
	/* A method that ran to completion keeps its own result. */
	if (op == KT_OP_READ || op == KT_OP_WRITE)
		KUNIT_EXPECT_EQ(test, call.ret, 8);
	if (op == KT_OP_LLSEEK)
		KUNIT_EXPECT_EQ(test, call.ret, 3);
	if (op == KT_OP_OPEN) {
		/* An open that won the race is detached like the others. */
		KUNIT_EXPECT_EQ(test, call.ret, 0);
		file = call.file;
	}
	if (op == KT_OP_CLOSE)
		file = NULL;
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->releases), 1);
	KUNIT_EXPECT_LT(test, kt_c->release_seq, rev.seq);

	WRITE_ONCE(kt_c->revoked, true);
	cdev_del(d->cdev);
	((struct kt_ctx *)test->priv)->cdev = NULL;
	WRITE_ONCE(kt_d, NULL);
	__free_page(d->page);
	kfree(d);
	if (file) {
		KUNIT_EXPECT_EQ(test, kt_read(file), -ENODEV);
		kt_close(file);
	}
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->releases), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->after_revoke), 0);
}

/*
 * Sleepers are woken by the kick hooks, which run after new calls are
 * refused and before the fence, device hook first.  The interrupted call
 * returns the device's errno, not the driver's.
 */
static void kt_kick_wakes(struct kunit *test)
{
	struct kt_drv *d = kt_register(test, &kt_info);
	struct file *file = kt_open_file(test);
	struct file *idle = kt_open_file(test);
	struct kt_call call = { .op = KT_OP_READ, .file = file };
	int done_seq;

	d->park = KT_PARK_KICK;
	kt_start(test, &call);
	KUNIT_ASSERT_TRUE(test, kt_parked(d));
	kt_unregister(test, d);
	done_seq = kt_seq();
	KUNIT_ASSERT_TRUE(test, kt_wait(&call, KT_TIMEOUT));
	KUNIT_EXPECT_EQ(test, call.ret, -ENODEV);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->kicks), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->kick_files), 2);
	KUNIT_EXPECT_LT(test, kt_c->kick_seq, kt_c->kick_file_seq);
	KUNIT_EXPECT_LT(test, kt_c->kick_seq, kt_c->park_exit_seq);
	KUNIT_EXPECT_LT(test, kt_c->park_exit_seq, done_seq);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->releases), 2);
	kt_close(file);
	kt_close(idle);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->releases), 2);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->after_revoke), 0);
}

/*
 * The per-CPU counters only mean something as a sum: a method that enters
 * on one CPU and leaves on another leaves +1 on the first and -1 on the
 * second, and revoke waits for it all the same.
 */
static void kt_fence_migrates(struct kunit *test)
{
	struct kt_call call = { .op = KT_OP_IOCTL }, rev = { .op = KT_OP_REVOKE };
	unsigned long on0, on1;
	struct cdev_revoke *rv;
	struct task_struct *t;
	struct kt_drv *d;
	int cpu0, cpu1;

	if (num_online_cpus() < 2)
		kunit_skip(test, "needs two CPUs");
	cpu0 = cpumask_first(cpu_online_mask);
	cpu1 = cpumask_next(cpu0, cpu_online_mask);
	d = kt_register(test, &kt_info);
	call.file = kt_open_file(test);
	rv = file_rv(call.file);
	on0 = READ_ONCE(*per_cpu_ptr(rv->users, cpu0));
	on1 = READ_ONCE(*per_cpu_ptr(rv->users, cpu1));

	/* Enter on cpu0 and park there. */
	d->park = KT_PARK_GATE;
	init_completion(&call.done);
	t = kthread_create(kt_call_fn, &call, "kt_migrate");
	KUNIT_ASSERT_FALSE(test, IS_ERR(t));
	KUNIT_ASSERT_EQ(test, set_cpus_allowed_ptr(t, cpumask_of(cpu0)), 0);
	wake_up_process(t);
	KUNIT_ASSERT_TRUE(test, kt_parked(d));
	KUNIT_EXPECT_EQ(test, READ_ONCE(*per_cpu_ptr(rv->users, cpu0)) - on0,
			1UL);
	KUNIT_EXPECT_EQ(test, cdev_revoke_users(rv), 1L);

	/* Wake up on cpu1: the method leaves there. */
	KUNIT_ASSERT_EQ(test, set_cpus_allowed_ptr(t, cpumask_of(cpu1)), 0);
	rev.cdev = d->cdev;
	kt_start(test, &rev);
	KUNIT_EXPECT_FALSE(test, kt_wait(&rev, HZ / 5));
	complete_all(&d->gate);
	KUNIT_ASSERT_TRUE(test, kt_wait(&call, KT_TIMEOUT));
	KUNIT_ASSERT_TRUE(test, kt_wait(&rev, KT_TIMEOUT));
	KUNIT_EXPECT_LT(test, kt_c->park_exit_seq, rev.seq);

	KUNIT_EXPECT_EQ(test, READ_ONCE(*per_cpu_ptr(rv->users, cpu0)) - on0,
			1UL);
	KUNIT_EXPECT_EQ(test, READ_ONCE(*per_cpu_ptr(rv->users, cpu1)) - on1,
			-1UL);
	KUNIT_EXPECT_EQ(test, cdev_revoke_users(rv), 0L);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->releases), 1);
	kt_unregister(test, d);		/* already revoked: a no-op */
	KUNIT_EXPECT_EQ(test, kt_read(call.file), -ENODEV);
	kt_close(call.file);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->releases), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->after_revoke), 0);
}

/*
 * Delay injection for the race below.  Mode 1 holds the close at the
 * door of ->release so that revoke gets there first; mode 2 holds revoke
 * before it starts so that the close gets there first; mode 0 jitters.
 */
static int kt_race_mode;

static void kt_race_hook(struct cdev_revoke *rv, enum cdev_revoke_point pt)
{
	switch (READ_ONCE(kt_race_mode)) {
	case 1:
		if (pt == CDEV_REVOKE_PT_RELEASE)
			usleep_range(2000, 3000);
		break;
	case 2:
		if (pt == CDEV_REVOKE_PT_START)
			usleep_range(2000, 3000);
		break;
	default:
		udelay(get_random_u32_below(40));
		if (!get_random_u32_below(4))
			cond_resched();
	}
}

/*
 * close() against revoke: ->release runs exactly once per file whoever
 * wins, every time, and both winners are seen.  Each round re-plugs a new
 * device at the same dev_t through the same inode.
 */
static void kt_release_race(struct kunit *test)
{
	const int rounds = 1000;
	int i, by_revoke;

	kt_c->revoker = current;
	WRITE_ONCE(cdev_revoke_test_hook, kt_race_hook);
	for (i = 0; i < rounds; i++) {
		struct kt_drv *d = kt_register(test, &kt_info);
		struct kt_call cl = { .op = KT_OP_CLOSE };
		int before = atomic_read(&kt_c->releases);

		WRITE_ONCE(kt_race_mode, i % 3);
		cl.file = kt_open_file(test);
		kt_start(test, &cl);
		if (i % 3 == 0)
			udelay(get_random_u32_below(100));
		kt_unregister(test, d);
		KUNIT_ASSERT_TRUE(test, kt_wait(&cl, KT_TIMEOUT));
		KUNIT_ASSERT_EQ(test, atomic_read(&kt_c->releases), before + 1);
	}
	WRITE_ONCE(cdev_revoke_test_hook, NULL);
	by_revoke = atomic_read(&kt_c->released_by_revoke);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->opens), rounds);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->releases), rounds);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->after_revoke), 0);
	KUNIT_EXPECT_GT(test, by_revoke, 0);
	KUNIT_EXPECT_GT(test, rounds - by_revoke, 0);
	kunit_info(test, "%d rounds: released by revoke %d, by close %d\n",
		   rounds, by_revoke, rounds - by_revoke);
}

/* A poller of ours: what select's and epoll's entries do. */
struct kt_poller {
	poll_table pt;
	wait_queue_entry_t wait;
	wait_queue_head_t *whead;
	bool exclusive;		/* queued as EPOLLEXCLUSIVE does */
	int wakes;
	int sync;		/* wake flags seen */
	__poll_t key;
};

static int kt_poller_wake(wait_queue_entry_t *wait, unsigned int mode,
			  int sync, void *key)
{
	struct kt_poller *p = container_of(wait, struct kt_poller, wait);

	p->wakes++;
	p->sync |= sync;
	p->key |= key_to_poll(key);
	return 1;
}

static void kt_poller_queue(struct file *file, wait_queue_head_t *whead,
			    poll_table *pt)
{
	struct kt_poller *p = container_of(pt, struct kt_poller, pt);

	if (p->whead)		/* polled again: queued already */
		return;
	p->whead = whead;
	init_waitqueue_func_entry(&p->wait, kt_poller_wake);
	if (p->exclusive)
		add_wait_queue_exclusive(whead, &p->wait);
	else
		add_wait_queue(whead, &p->wait);
}

/*
 * Pollers sleep on a queue of the core, never on the driver's: after
 * revoke the driver frees its queue and the poller is still valid, woken
 * with the hang-up mask; driver wake-ups are forwarded before that.
 */
static void kt_pollers(struct kunit *test)
{
	struct kt_drv *d = kt_register(test, &kt_info);
	struct file *file = kt_open_file(test);
	struct kt_poller p = {};

	init_poll_funcptr(&p.pt, kt_poller_queue);
	d->mask = 0;
	KUNIT_EXPECT_EQ(test, kt_poll_mask(file, &p.pt), 0);
	KUNIT_ASSERT_NOT_NULL(test, p.whead);
	KUNIT_EXPECT_PTR_NE(test, p.whead, &d->wq);
	/* The driver's queue has our forwarder on it. */
	/* Single-threaded here: no barrier needed. */
	KUNIT_EXPECT_TRUE(test, waitqueue_active(&d->wq));

	d->mask = EPOLLIN;
	wake_up_poll(&d->wq, EPOLLIN);
	KUNIT_EXPECT_EQ(test, p.wakes, 1);
	KUNIT_EXPECT_TRUE(test, p.key & EPOLLIN);

	/* A second poll of the same file does not stack forwarders. */
	KUNIT_EXPECT_EQ(test, kt_poll_mask(file, NULL), KT_MASK(EPOLLIN));

	p.wakes = 0;
	p.key = 0;
	cdev_revoke(d->cdev);
	/* Nothing can add to the queue now: no barrier needed. */
	KUNIT_EXPECT_FALSE(test, waitqueue_active(&d->wq));
	/* Woken by the kick (forwarded) and by the detach. */
	KUNIT_EXPECT_GE(test, p.wakes, 1);
	KUNIT_EXPECT_TRUE(test, p.key & EPOLLHUP);
	kt_unregister(test, d);		/* frees the driver's queue */

	/* What free_poll_entry() does later: the queue must still exist. */
	remove_wait_queue(p.whead, &p.wait);
	KUNIT_EXPECT_TRUE(test, vfs_poll(file, NULL) & EPOLLHUP);
	kt_close(file);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->after_revoke), 0);
}

/*
 * fasync: the driver's entry and the core's are removed at revoke, before
 * the driver's release.  Removing an entry clears FASYNC (as setfl()
 * would see it), so __fput() would not remove the core's entry later.
 */
static void kt_fasync_removed(struct kunit *test)
{
	struct kt_drv *d = kt_register(test, &kt_info);
	struct file *file = kt_open_file(test);
	struct cdev_revoke *rv = file_rv(file);

	/* What setfl() does for F_SETFL O_ASYNC. */
	KUNIT_ASSERT_EQ(test, file->f_op->fasync(-1, file, 1), 1);
	file->f_flags |= FASYNC;
	KUNIT_EXPECT_NOT_NULL(test, d->fasync);
	KUNIT_EXPECT_NOT_NULL(test, rv->fasync);

	cdev_revoke(d->cdev);
	KUNIT_EXPECT_NULL(test, d->fasync);
	KUNIT_EXPECT_NULL(test, rv->fasync);
	KUNIT_EXPECT_FALSE(test, file->f_flags & FASYNC);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->fasync_off), 1);
	KUNIT_EXPECT_LT(test, kt_c->fasync_off_seq, kt_c->release_seq);
	kt_unregister(test, d);

	/* Turning it on again fails; off succeeds without the driver. */
	KUNIT_EXPECT_EQ(test, file->f_op->fasync(-1, file, 1), -ENODEV);
	KUNIT_EXPECT_EQ(test, file->f_op->fasync(-1, file, 0), 0);
	kt_close(file);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->fasync_off), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->after_revoke), 0);
}

/* A lock taken before revoke is removed at close, without the driver. */
static void kt_locks(struct kunit *test)
{
	struct kt_drv *d = kt_register(test, &kt_info);
	struct file *file = kt_open_file(test);
	struct inode *inode = file_inode(file);
	struct file_lock fl;

	if (!IS_ENABLED(CONFIG_FILE_LOCKING)) {
		kt_close(file);
		kunit_skip(test, "needs CONFIG_FILE_LOCKING");
	}
	locks_init_lock(&fl);
	fl.c.flc_flags = FL_OFDLCK;
	fl.c.flc_type = F_WRLCK;
	fl.c.flc_owner = file;
	fl.c.flc_file = file;
	fl.c.flc_pid = -1;
	fl.fl_start = 0;
	fl.fl_end = OFFSET_MAX;
	KUNIT_ASSERT_EQ(test, vfs_lock_file(file, F_SETLK, &fl, NULL), 0);
	KUNIT_EXPECT_TRUE(test, vfs_inode_has_locks(inode));

	kt_unregister(test, d);
	fl.c.flc_type = F_WRLCK;
	KUNIT_EXPECT_EQ(test, vfs_lock_file(file, F_SETLK, &fl, NULL), -ENODEV);

	ihold(inode);
	kt_close(file);
	KUNIT_EXPECT_FALSE(test, vfs_inode_has_locks(inode));
	iput(inode);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->after_revoke), 0);
}

/* New opens fail once revoke has started, and after. */
static void kt_open_after(struct kunit *test)
{
	struct kt_drv *d = kt_register(test, &kt_info);
	struct file *file;

	cdev_revoke(d->cdev);
	file = filp_open(KT_PATH, O_RDWR, 0);
	KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(file), -ENXIO);
	if (!IS_ERR(file))
		kt_close(file);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->opens), 0);
	kt_unregister(test, d);
	file = filp_open(KT_PATH, O_RDWR, 0);
	KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(file), -ENXIO);
	if (!IS_ERR(file))
		kt_close(file);
}

/*
 * A device registered again at the same dev_t is reached through the
 * same inode; stale files never reach it and put the cdev they pinned.
 */
static void kt_replug(struct kunit *test)
{
	struct kt_drv *d1 = kt_register(test, &kt_info), *d2;
	struct file *stale = kt_open_file(test), *fresh;
	struct cdev *old = d1->cdev;
	unsigned int refs;

	kobject_get(&old->kobj);
	kt_unregister(test, d1);
	d2 = kt_register(test, &kt_info);
	fresh = kt_open_file(test);
	KUNIT_EXPECT_PTR_EQ(test, file_inode(fresh), file_inode(stale));
	KUNIT_EXPECT_PTR_EQ(test, file_inode(fresh)->i_cdev, d2->cdev);
	KUNIT_EXPECT_PTR_EQ(test, fresh->private_data, d2);
	KUNIT_EXPECT_EQ(test, kt_read(fresh), 8);
	KUNIT_EXPECT_EQ(test, kt_read(stale), -ENODEV);

	refs = kref_read(&d2->cdev->kobj.kref);
	KUNIT_EXPECT_EQ(test, kref_read(&old->kobj.kref), 2);
	kt_close(stale);
	KUNIT_EXPECT_EQ(test, kref_read(&old->kobj.kref), 1);
	KUNIT_EXPECT_EQ(test, kref_read(&d2->cdev->kobj.kref), refs);
	kobject_put(&old->kobj);

	kt_close(fresh);
	kt_unregister(test, d2);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->opens), 2);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->releases), 2);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->after_revoke), 0);
}

/*
 * compat_ptr_ioctl() re-enters ->unlocked_ioctl through the shim: the
 * section nests, and revoke still drains both levels.
 */
static void kt_nested_compat(struct kunit *test)
{
	struct kt_drv *d = kt_register(test, &kt_info);
	struct file *file = kt_open_file(test);
	struct kt_call call = { .op = KT_OP_COMPAT_IOCTL, .file = file };

	if (!file->f_op->compat_ioctl) {
		kt_close(file);
		kt_unregister(test, d);
		kunit_skip(test, "needs CONFIG_COMPAT");
	}
	KUNIT_EXPECT_EQ(test, file->f_op->compat_ioctl(file, KT_IOC_PLAIN, 3),
			KT_PLAIN_RET + 3);
	d->park = KT_PARK_KICK;
	kt_start(test, &call);
	KUNIT_ASSERT_TRUE(test, kt_parked(d));
	kt_unregister(test, d);
	KUNIT_ASSERT_TRUE(test, kt_wait(&call, KT_TIMEOUT));
	KUNIT_EXPECT_EQ(test, call.ret, -ENODEV);
	KUNIT_EXPECT_EQ(test, cdev_revoke_users(file_rv(file)), 0L);
	kt_close(file);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->after_revoke), 0);
}

/* A method may revoke its own device after breaking its protection. */
static void kt_revoke_self(struct kunit *test)
{
	struct kt_drv *d = kt_register(test, &kt_info);
	struct file *file = kt_open_file(test);
	struct file *other = kt_open_file(test);
	struct cdev_revoke *rv = file_rv(file);

	KUNIT_EXPECT_EQ(test, file->f_op->unlocked_ioctl(file, KT_IOC_SELF, 0), 7);
	KUNIT_EXPECT_TRUE(test, rv->revoked);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->releases), 2);
	KUNIT_EXPECT_EQ(test, cdev_revoke_users(rv), 0L);
	kt_unregister(test, d);		/* second revoke: a no-op */
	KUNIT_EXPECT_EQ(test, kt_read(file), -ENODEV);
	kt_close(file);
	kt_close(other);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->releases), 2);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->after_revoke), 0);
}

/* Misuse is refused and harmless. */
static void kt_misuse(struct kunit *test)
{
	struct kt_ctx *ctx = test->priv;
	struct cdev *plain = cdev_alloc();
	struct kt_drv *d;

	KUNIT_ASSERT_NOT_NULL(test, plain);
	plain->ops = &kt_fops;
	/* Revoking a cdev that never opted in does nothing. */
	cdev_revoke(plain);
	KUNIT_EXPECT_NULL(test, plain->revoke);
	KUNIT_ASSERT_EQ(test, cdev_add(plain, ctx->devt, 1), 0);
	/* Opting in after cdev_add() is refused. */
	KUNIT_EXPECT_EQ(test, cdev_revoke_init(plain, NULL), -EBUSY);
	KUNIT_EXPECT_NULL(test, plain->revoke);
	cdev_del(plain);

	d = kt_register(test, &kt_info);
	/* Opting in twice is refused. */
	KUNIT_EXPECT_EQ(test, cdev_revoke_init(d->cdev, NULL), -EBUSY);
	kt_unregister(test, d);
}

/*
 * Wait-for-close flavour: files keep working while revoke waits, new
 * opens fail, and the last close lets revoke finish.
 */
static void kt_wait_close(struct kunit *test)
{
	static const struct cdev_revoke_info info = {
		.flags = CDEV_REVOKE_WAIT_CLOSE,
		.close_timeout = 30 * HZ,
		.kick = kt_kick,
	};
	struct kt_drv *d = kt_register(test, &info);
	struct file *file = kt_open_file(test), *again;
	struct kt_call rev = { .op = KT_OP_REVOKE, .cdev = d->cdev };
	int close_seq;

	kt_start(test, &rev);
	KUNIT_EXPECT_FALSE(test, kt_wait(&rev, HZ / 5));
	KUNIT_EXPECT_EQ(test, kt_read(file), 8);
	again = filp_open(KT_PATH, O_RDWR, 0);
	KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(again), -ENXIO);
	if (!IS_ERR(again))
		kt_close(again);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->kicks), 0);

	close_seq = kt_seq();
	kt_close(file);
	KUNIT_ASSERT_TRUE(test, kt_wait(&rev, KT_TIMEOUT));
	KUNIT_EXPECT_LT(test, close_seq, rev.seq);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->releases), 1);
	kt_unregister(test, d);
}

/* Wait-for-close flavour: after the timeout the rest is detached. */
static void kt_wait_timeout(struct kunit *test)
{
	static const struct cdev_revoke_info info = {
		.flags = CDEV_REVOKE_WAIT_CLOSE,
		.close_timeout = HZ / 5,
	};
	struct kt_drv *d = kt_register(test, &info);
	struct file *file = kt_open_file(test);

	kt_unregister(test, d);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->releases), 1);
	KUNIT_EXPECT_EQ(test, kt_read(file), -ENODEV);
	kt_close(file);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->releases), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->after_revoke), 0);
}

/*
 * Mappings of the device are zapped by revoke, both PTEs that ->mmap set
 * up with remap_pfn_range() and PTEs from faults; later faults do not
 * reach the driver.  The test thread gets a user mm from kunit_vm_mmap().
 */
static void kt_mmap_zap(struct kunit *test)
{
	bool by_fault = *(const bool *)test->param_value;
	struct kt_drv *d = kt_register(test, &kt_info);
	struct file *file = kt_open_file(test);
	unsigned long addr;
	u32 v = 0;

	d->mmap_by_fault = by_fault;
	addr = kunit_vm_mmap(test, file, 0, PAGE_SIZE, PROT_READ, MAP_SHARED, 0);
	KUNIT_ASSERT_NE_MSG(test, addr, 0, "mmap of the device failed");
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	KUNIT_EXPECT_EQ(test, copy_from_user(&v, (void __user *)addr, sizeof(v)), 0);
	KUNIT_EXPECT_EQ(test, v, KT_MAGIC);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->faults), by_fault ? 1 : 0);

	kt_unregister(test, d);		/* frees the page */
	v = 0;
	KUNIT_EXPECT_NE(test, copy_from_user(&v, (void __user *)addr, sizeof(v)), 0);
	KUNIT_EXPECT_NE(test, v, KT_MAGIC);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->faults), by_fault ? 1 : 0);
	/* A new mapping is refused. */
	KUNIT_EXPECT_TRUE(test, IS_ERR_VALUE(vm_mmap(file, 0, PAGE_SIZE, PROT_READ,
						     MAP_SHARED, 0)));
	vm_munmap(addr, PAGE_SIZE);
	kt_close(file);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->after_revoke), 0);
}

static const bool kt_mmap_kinds[] = { false, true };

static void kt_mmap_desc(const bool *by_fault, char *desc)
{
	strscpy(desc, *by_fault ? "fault" : "remap_pfn_range",
		KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(kt_mmap, kt_mmap_kinds, kt_mmap_desc);

/*
 * Hardening cases.  Each reproduces a hole found by review; see
 * Documentation/driver-api/cdev_revoke.rst for the rule it checks.
 */

/* Loops opens of the node until told to stop (kt_open_icdev). */
struct kt_opener {
	bool stop;
	int opens;
	int refused;
	struct completion done;
};

static int kt_opener_fn(void *arg)
{
	struct kt_opener *o = arg;

	while (!READ_ONCE(o->stop)) {
		struct file *file = filp_open(KT_PATH, O_RDWR, 0);

		o->opens++;
		if (IS_ERR(file))
			o->refused += PTR_ERR(file) == -ENXIO;
		else
			kt_close(file);
		cond_resched();
	}
	complete(&o->done);
	return 0;
}

static bool kt_rv_dead(struct cdev *cdev)
{
	int i;

	for (i = 0; i < 500 && !READ_ONCE(cdev->revoke->dead); i++)
		msleep(20);
	return READ_ONCE(cdev->revoke->dead);
}

/*
 * A driver's ->open that is still running when its device is revoked
 * reads inode->i_cdev (container_of() of it, as TPM and switchtec do)
 * while other tasks open the same node: it must never see NULL.
 */
static void kt_open_icdev(struct kunit *test)
{
	struct kt_call call = { .op = KT_OP_OPEN }, rev = { .op = KT_OP_REVOKE };
	struct kt_opener o = {};
	struct task_struct *t;
	struct kt_drv *d;

	if (num_online_cpus() < 2)
		kunit_skip(test, "needs two CPUs");
	d = kt_register(test, &kt_info);
	d->park = KT_PARK_GATE;
	d->probe_icdev = true;
	kt_start(test, &call);
	KUNIT_ASSERT_TRUE(test, kt_parked(d));
	rev.cdev = d->cdev;
	kt_start(test, &rev);
	KUNIT_ASSERT_TRUE(test, kt_rv_dead(d->cdev));

	init_completion(&o.done);
	t = kthread_run(kt_opener_fn, &o, "kt_opener");
	KUNIT_ASSERT_FALSE(test, IS_ERR(t));
	complete_all(&d->gate);		/* the parked ->open reads i_cdev */
	KUNIT_ASSERT_TRUE(test, kt_wait(&call, KT_TIMEOUT));
	KUNIT_ASSERT_TRUE(test, kt_wait(&rev, KT_TIMEOUT));
	WRITE_ONCE(o.stop, true);
	wait_for_completion(&o.done);

	kunit_info(test, "%d i_cdev reads during %d opens: %d NULL, %d other\n",
		   atomic_read(&kt_c->icdev_reads), o.opens,
		   atomic_read(&kt_c->icdev_null),
		   atomic_read(&kt_c->icdev_other));
	KUNIT_EXPECT_GT(test, o.opens, 0);
	KUNIT_EXPECT_EQ(test, o.refused, o.opens);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->icdev_null), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->icdev_other), 0);
	KUNIT_EXPECT_EQ(test, call.ret, 0);
	kt_unregister(test, d);
	kt_close(call.file);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->releases), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->after_revoke), 0);
}

/* Parks the first fault that gets past the section until told to go. */
static void kt_fault_hook(struct cdev_revoke *rv, enum cdev_revoke_point pt)
{
	if (pt != CDEV_REVOKE_PT_FAULT || atomic_inc_return(&kt_c->hook_hits) > 1)
		return;
	complete(&kt_c->at);
	wait_for_completion_timeout(&kt_c->go, KT_TIMEOUT);
}

struct kt_fault {
	struct mm_struct *mm;
	unsigned long addr;
	u32 val;
	unsigned long left;
	struct completion done;
};

/* A user access to the mapping from a kthread on the test's mm. */
static int kt_fault_fn(void *arg)
{
	struct kt_fault *f = arg;

	kthread_use_mm(f->mm);
	f->left = copy_from_user(&f->val, (void __user *)f->addr,
				 sizeof(f->val));
	kthread_unuse_mm(f->mm);
	complete(&f->done);
	return 0;
}

/*
 * A fault whose ->fault returned its page before revoke drained must not
 * map it after revoke returned: the access gets SIGBUS (here: the copy
 * fails), never the page of a driver that has freed it.
 */
static void kt_fault_after_drain(struct kunit *test)
{
	struct kt_drv *d = kt_register(test, &kt_info);
	struct file *file = kt_open_file(test);
	struct kt_fault f = {};
	struct task_struct *t;
	u32 v = 0;

	d->mmap_by_fault = true;
	f.addr = kunit_vm_mmap(test, file, 0, PAGE_SIZE, PROT_READ, MAP_SHARED, 0);
	KUNIT_ASSERT_NE_MSG(test, f.addr, 0, "mmap of the device failed");
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(f.addr));
	f.mm = current->mm;
	init_completion(&f.done);
	WRITE_ONCE(cdev_revoke_test_hook, kt_fault_hook);
	t = kthread_run(kt_fault_fn, &f, "kt_fault");
	KUNIT_ASSERT_FALSE(test, IS_ERR(t));
	KUNIT_ASSERT_TRUE(test, wait_for_completion_timeout(&kt_c->at, KT_TIMEOUT));

	kt_unregister(test, d);		/* frees the driver's page */
	complete(&kt_c->go);
	KUNIT_ASSERT_TRUE(test, wait_for_completion_timeout(&f.done, KT_TIMEOUT));
	WRITE_ONCE(cdev_revoke_test_hook, NULL);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->faults), 1);
	KUNIT_EXPECT_NE_MSG(test, f.left, 0UL,
			    "the fault mapped the page after revoke returned");
	/* Nothing maps the page now, and no fault reaches the driver. */
	KUNIT_EXPECT_NE(test, copy_from_user(&v, (void __user *)f.addr, sizeof(v)), 0);
	KUNIT_EXPECT_NE(test, v, KT_MAGIC);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->faults), 1);
	vm_munmap(f.addr, PAGE_SIZE);
	kt_close(file);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->after_revoke), 0);
}

/* How the mapping of kt_fault_kinds is made and first touched. */
enum kt_fault_kind {
	KT_FAULT_READ,		/* a read of a shared mapping */
	KT_FAULT_SHARED,	/* a write to a shared mapping */
	KT_FAULT_MKWRITE,	/* the same, with ->page_mkwrite */
	KT_FAULT_COW,		/* a write to a private mapping */
};

static const enum kt_fault_kind kt_fault_kinds_list[] = {
	KT_FAULT_READ, KT_FAULT_SHARED, KT_FAULT_MKWRITE, KT_FAULT_COW,
};

static void kt_fault_desc(const enum kt_fault_kind *kind, char *desc)
{
	static const char * const names[] = {
		"read", "shared_write", "page_mkwrite", "private_write",
	};

	strscpy(desc, names[*kind], KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(kt_fault_kinds, kt_fault_kinds_list, kt_fault_desc);

/*
 * The fault shim maps the page itself, the way each kind of fault would:
 * what the access sees and what the driver's page holds afterwards are
 * those of the stock fault paths, ->page_mkwrite runs for a shared write,
 * and a private write copies.  After revoke nothing maps the page.
 */
static void kt_fault_kinds(struct kunit *test)
{
	enum kt_fault_kind kind = *(const enum kt_fault_kind *)test->param_value;
	bool write = kind != KT_FAULT_READ, cow = kind == KT_FAULT_COW;
	struct kt_drv *d = kt_register(test, &kt_info);
	struct file *file = kt_open_file(test);
	u32 v = 0, *page;
	unsigned long addr;

	d->mmap_by_fault = true;
	d->mkwrite = kind == KT_FAULT_MKWRITE;
	page = page_address(d->page);
	addr = kunit_vm_mmap(test, file, 0, PAGE_SIZE,
			     write ? PROT_READ | PROT_WRITE : PROT_READ,
			     cow ? MAP_PRIVATE : MAP_SHARED, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	if (write) {
		v = 0x600df00d;
		KUNIT_EXPECT_EQ(test, copy_to_user((void __user *)addr, &v, sizeof(v)), 0);
		/* A private write changes a copy, a shared one the page. */
		KUNIT_EXPECT_EQ(test, *page, cow ? KT_MAGIC : v);
		v = 0;
	}
	KUNIT_EXPECT_EQ(test, copy_from_user(&v, (void __user *)addr, sizeof(v)), 0);
	KUNIT_EXPECT_EQ(test, v, write ? 0x600df00dU : KT_MAGIC);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->faults), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->mkwrites),
			kind == KT_FAULT_MKWRITE ? 1 : 0);

	/* Private copies go too: revocation zaps them, as truncation does. */
	kt_unregister(test, d);		/* frees the page */
	v = 0;
	KUNIT_EXPECT_NE(test, copy_from_user(&v, (void __user *)addr, sizeof(v)), 0);
	KUNIT_EXPECT_EQ(test, v, 0U);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->faults), 1);
	kt_close(file);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->after_revoke), 0);
}

/* The length of a list of the core, under its lock. */
static long kt_listed(spinlock_t *lock, struct list_head *list)
{
	long n;

	spin_lock(lock);
	n = list_count_nodes(list);
	spin_unlock(lock);
	return n;
}

static long kt_mms(struct cdev_revoke *rv)
{
	return kt_listed(&rv->lock, &rv->mms);
}

/* One mmap() and munmap() of @file (anonymous memory if NULL): ns, or 0. */
static u64 kt_mmap_cycle(struct file *file)
{
	unsigned long flags = file ? MAP_SHARED : MAP_PRIVATE | MAP_ANONYMOUS;
	u64 t = ktime_get_ns();
	unsigned long addr;

	addr = vm_mmap(file, 0, PAGE_SIZE, PROT_READ, flags, 0);
	if (IS_ERR_VALUE(addr))
		return 0;
	vm_munmap(addr, PAGE_SIZE);
	return ktime_get_ns() - t ?: 1;
}

/*
 * mmap() and munmap() in a loop by one process keep at most one record of
 * its mm.  The cost of a cycle in the first and the last 1000 of 10,000 is
 * reported (not asserted) next to that of an anonymous mapping timed in
 * the same windows, which a debug kernel slows down over time by itself.
 */
static void kt_mmap_records(struct kunit *test)
{
	const int cycles = 10000, window = 1000;
	struct kt_drv *d = kt_register(test, &kt_info);
	struct file *file = kt_open_file(test);
	struct cdev_revoke *rv = file_rv(file);
	u64 dev[2] = {}, anon[2] = {}, t;
	unsigned long addr;
	int i, w, failed = 0;

	d->mmap_by_fault = true;
	/* Gives the test a user mm. */
	addr = kunit_vm_mmap(test, file, 0, PAGE_SIZE, PROT_READ, MAP_SHARED, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	for (i = 0; i < cycles; i++) {
		/* Seconds of work under emulation: no soft lockup report. */
		cond_resched();
		w = i < window ? 0 : i >= cycles - window ? 1 : -1;
		t = kt_mmap_cycle(file);
		failed += !t;
		if (w < 0)
			continue;
		dev[w] += t;
		t = kt_mmap_cycle(NULL);
		failed += !t;
		anon[w] += t;
	}
	KUNIT_EXPECT_EQ(test, failed, 0);
	dev[0] += !dev[0];	/* no division by zero if all failed */
	anon[0] += !anon[0];
	kunit_info(test, "%d cycles: %ld mm records; ns per mmap+munmap, first and last %d: device %llu, %llu (x%llu.%02llu); anonymous %llu, %llu (x%llu.%02llu)\n",
		   cycles, kt_mms(rv), window,
		   div_u64(dev[0], window), div_u64(dev[1], window),
		   div64_u64(dev[1], dev[0]), div64_u64(dev[1] * 100, dev[0]) % 100,
		   div_u64(anon[0], window), div_u64(anon[1], window),
		   div64_u64(anon[1], anon[0]), div64_u64(anon[1] * 100, anon[0]) % 100);
	KUNIT_EXPECT_LE(test, kt_mms(rv), 1L);
	kt_unregister(test, d);
	KUNIT_EXPECT_EQ(test, kt_mms(rv), 0L);
	kt_close(file);
}

/*
 * Re-plug through an unlinked node: a file of the old device reopened
 * through its path (what /proc/self/fd/N or an O_PATH fd does) must not
 * reach the new device at that dev_t.  A node that is still linked does.
 */
#define KT_PATH2	"/cdev_revoke_kunit_2"

static void kt_replug_unlinked(struct kunit *test)
{
	struct kt_ctx *ctx = test->priv;
	struct kt_drv *d1, *d2;
	struct file *gone, *linked, *re;
	struct path parent;
	struct dentry *dentry;
	int err;

	d1 = kt_register(test, &kt_info);
	dentry = kern_path_create(AT_FDCWD, KT_PATH2, &parent, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR(dentry));
	err = vfs_mknod(mnt_idmap(parent.mnt), d_inode(parent.dentry), dentry,
			S_IFCHR | 0666, ctx->devt);
	done_path_create(&parent, dentry);
	KUNIT_ASSERT_EQ(test, err, 0);
	gone = filp_open(KT_PATH2, O_RDWR, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR(gone));
	linked = kt_open_file(test);
	KUNIT_ASSERT_EQ(test, do_unlinkat(AT_FDCWD, getname_kernel(KT_PATH2)), 0);
	KUNIT_EXPECT_EQ(test, file_inode(gone)->i_nlink, 0U);

	kt_unregister(test, d1);
	d2 = kt_register(test, &kt_info);
	re = dentry_open(&gone->f_path, O_RDWR, current_cred());
	KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(re), -ENXIO);
	if (!IS_ERR(re)) {
		KUNIT_EXPECT_PTR_NE(test, re->private_data, d2);
		kt_close(re);
	}
	re = dentry_open(&linked->f_path, O_RDWR, current_cred());
	KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(re), 0);
	if (!IS_ERR(re)) {
		KUNIT_EXPECT_PTR_EQ(test, re->private_data, d2);
		kt_close(re);
	}
	kt_close(gone);
	kt_close(linked);
	kt_unregister(test, d2);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->after_revoke), 0);
}

/* An ioctl that breaks its protection and sleeps (KT_IOC_BREAK). */
static int kt_break_fn(void *arg)
{
	struct kt_call *c = arg;

	c->ret = c->file->f_op->unlocked_ioctl(c->file, KT_IOC_BREAK, 0);
	c->seq = kt_seq();
	complete(&c->done);
	return 0;
}

/*
 * A method that broke its protection and slept while its device was
 * revoked by somebody else learns it at unbreak and does not touch the
 * driver's data again.
 */
static void kt_unbreak_revoked(struct kunit *test)
{
	struct kt_drv *d = kt_register(test, &kt_info);
	struct file *file = kt_open_file(test);
	struct kt_call call = { .op = KT_OP_IOCTL, .file = file };

	init_completion(&call.done);
	KUNIT_ASSERT_FALSE(test, IS_ERR(kthread_run(kt_break_fn, &call, "kt_break")));
	KUNIT_ASSERT_TRUE(test, wait_for_completion_timeout(&kt_c->at, KT_TIMEOUT));
	kt_unregister(test, d);		/* does not wait for the broken ioctl */
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->releases), 1);
	complete(&kt_c->go);
	KUNIT_ASSERT_TRUE(test, kt_wait(&call, KT_TIMEOUT));
	KUNIT_EXPECT_EQ(test, call.ret, -ENODEV);
	KUNIT_EXPECT_EQ(test, cdev_revoke_users(file_rv(file)), 0L);
	kt_close(file);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->releases), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->after_revoke), 0);
}

/*
 * An ->open that revokes its own device gets no ->release after the
 * revocation: the open fails, and the driver is not called again.
 */
static void kt_open_revokes_self(struct kunit *test)
{
	struct kt_drv *d = kt_register(test, &kt_info);
	struct file *file;

	d->open_self = true;
	file = filp_open(KT_PATH, O_RDWR, 0);
	KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(file), -ENXIO);
	if (!IS_ERR(file))
		kt_close(file);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->opens), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->releases), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->after_revoke), 0);
	kt_unregister(test, d);
}

/*
 * A forwarding entry that cannot be allocated must not leave the poller
 * asleep for good: the poll reports an error condition at once.
 */
static void kt_poll_nomem(struct kunit *test)
{
	struct kt_drv *d = kt_register(test, &kt_info);
	struct file *file = kt_open_file(test);
	struct kt_poller p = {};
	wait_queue_head_t wq2;
	unsigned int mask;

	init_waitqueue_head(&wq2);
	d->wq2 = &wq2;
	d->mask = 0;
	init_poll_funcptr(&p.pt, kt_poller_queue);
	atomic_set(&cdev_revoke_test_nomem, 1);	/* d->wq's forwarder */
	mask = kt_poll_mask(file, &p.pt);
	atomic_set(&cdev_revoke_test_nomem, 0);
	KUNIT_ASSERT_NOT_NULL(test, p.whead);
	/* Would not be woken through d->wq: must not go to sleep. */
	KUNIT_EXPECT_TRUE_MSG(test, mask & KT_MASK(EPOLLERR),
			      "poll mask %#x without a forwarder on one queue", mask);
	/* The next poll gets both forwarders and reports the driver's mask. */
	KUNIT_EXPECT_EQ(test, kt_poll_mask(file, &p.pt), 0U);
	wake_up_poll(&d->wq, EPOLLIN);
	KUNIT_EXPECT_EQ(test, p.wakes, 1);
	kt_unregister(test, d);
	remove_wait_queue(p.whead, &p.wait);
	kt_close(file);
}

static long kt_pollers_listed(struct file *file)
{
	struct cdev_revoke_file *cf = file_record(file);

	return kt_listed(&cf->lock, &cf->pollers);
}

/*
 * A driver that frees a polled queue while the device lives calls
 * wake_up_pollfree(): the forwarding entry goes, and is not kept listed
 * until the file is closed.
 */
static void kt_poll_pollfree(struct kunit *test)
{
	struct kt_drv *d = kt_register(test, &kt_info);
	struct file *file = kt_open_file(test);
	struct kt_poller p = {};
	int i;

	init_poll_funcptr(&p.pt, kt_poller_queue);
	for (i = 0; i < 100; i++) {
		wait_queue_head_t *q = kmalloc(sizeof(*q), GFP_KERNEL);

		KUNIT_ASSERT_NOT_NULL(test, q);
		init_waitqueue_head(q);
		d->wq2 = q;
		kt_poll_mask(file, &p.pt);
		d->wq2 = NULL;
		wake_up_pollfree(q);
		kfree_rcu_mightsleep(q);
	}
	KUNIT_EXPECT_GE(test, p.wakes, 100);
	KUNIT_EXPECT_LE(test, kt_pollers_listed(file), 2L);
	kt_unregister(test, d);
	remove_wait_queue(p.whead, &p.wait);
	kt_close(file);
}

/*
 * Forwarded wake-ups keep the driver's meaning: every non-exclusive
 * waiter wakes on a wake_up_all(), at least one EPOLLEXCLUSIVE waiter does,
 * and a sync wake-up stays a sync wake-up.
 */
static void kt_poll_forwarding(struct kunit *test)
{
	struct kt_drv *d = kt_register(test, &kt_info);
	struct file *file = kt_open_file(test);
	struct kt_poller p[4] = {};
	int i, excl = 0;

	d->mask = 0;
	for (i = 0; i < 4; i++) {
		p[i].exclusive = i >= 2;
		init_poll_funcptr(&p[i].pt, kt_poller_queue);
		KUNIT_EXPECT_EQ(test, kt_poll_mask(file, &p[i].pt), 0U);
	}
	wake_up_all(&d->wq);
	for (i = 0; i < 2; i++)
		KUNIT_EXPECT_EQ(test, p[i].wakes, 1);
	for (i = 2; i < 4; i++)
		excl += p[i].wakes;
	KUNIT_EXPECT_GE(test, excl, 1);

	p[0].sync = 0;
	wake_up_interruptible_sync_poll(&d->wq, EPOLLIN);
	KUNIT_EXPECT_NE_MSG(test, p[0].sync, 0, "a sync wake-up lost its hint");
	kt_unregister(test, d);
	for (i = 0; i < 4; i++)
		remove_wait_queue(p[i].whead, &p[i].wait);
	kt_close(file);
}

/*
 * The record of an open file lives in the file, in the storage of the
 * position lock that only FMODE_ATOMIC_POS files take: such a file is
 * refused before the driver sees it, and a tracked file points to its
 * own record.
 */
static void kt_record_in_file(struct kunit *test)
{
	struct kt_drv *d = kt_register(test, &kt_info);
	struct file *file = kt_open_file(test);
	struct cdev_revoke *rv = file_rv(file);
	int opens = atomic_read(&kt_c->opens);
	struct file *f;

	KUNIT_ASSERT_NOT_NULL(test, file_record(file));
	KUNIT_EXPECT_PTR_EQ(test, file_record(file)->file, file);
	KUNIT_EXPECT_FALSE(test, file->f_mode & FMODE_ATOMIC_POS);

	f = alloc_empty_file(O_RDWR, current_cred());
	KUNIT_ASSERT_FALSE(test, IS_ERR(f));
	f->f_op = file->f_op;
	f->f_mode |= FMODE_ATOMIC_POS;
	KUNIT_EXPECT_EQ(test, f->f_op->open(file_inode(file), f), -EINVAL);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->opens), opens);
	KUNIT_EXPECT_EQ(test, kt_listed(&rv->lock, &rv->files), 1L);
	f->f_op = NULL;
	fput(f);		/* never opened: freed without ->release */

	kt_close(file);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->releases), 1);
	kt_unregister(test, d);
}

/*
 * Each file keeps its own record, which poll finds in the file: each
 * poller sleeps on its own file's queue.  A file opened after another one
 * closed (which may reuse both its struct file and its record) gets a
 * record of its own and polls correctly.
 */
static void kt_poll_two_files(struct kunit *test)
{
	struct kt_drv *d = kt_register(test, &kt_info);
	struct file *a = kt_open_file(test), *b = kt_open_file(test), *c;
	struct kt_poller pa = {}, pb = {}, pc = {};
	struct cdev_revoke *rv = file_rv(a);
	struct cdev_revoke_file *rec;

	d->mask = 0;
	init_poll_funcptr(&pa.pt, kt_poller_queue);
	init_poll_funcptr(&pb.pt, kt_poller_queue);
	init_poll_funcptr(&pc.pt, kt_poller_queue);
	KUNIT_EXPECT_EQ(test, kt_poll_mask(a, &pa.pt), 0U);
	rec = file_record(a);
	KUNIT_ASSERT_NOT_NULL(test, rec);
	KUNIT_EXPECT_PTR_EQ(test, rec->file, a);
	KUNIT_EXPECT_EQ(test, kt_poll_mask(b, &pb.pt), 0U);
	KUNIT_ASSERT_NOT_NULL(test, file_record(b));
	KUNIT_EXPECT_PTR_NE(test, file_record(b), rec);
	KUNIT_EXPECT_PTR_EQ(test, file_record(b)->file, b);
	/* Single-threaded: plain reads of the device's list. */
	KUNIT_EXPECT_EQ(test, kt_listed(&rv->lock, &rv->files), 2L);
	KUNIT_ASSERT_NOT_NULL(test, pa.whead);
	KUNIT_ASSERT_NOT_NULL(test, pb.whead);
	KUNIT_EXPECT_PTR_NE(test, pa.whead, pb.whead);
	wake_up_poll(&d->wq, EPOLLIN);
	KUNIT_EXPECT_EQ(test, pa.wakes, 1);
	KUNIT_EXPECT_EQ(test, pb.wakes, 1);

	remove_wait_queue(pa.whead, &pa.wait);
	kt_close(a);
	KUNIT_EXPECT_EQ(test, kt_listed(&rv->lock, &rv->files), 1L);
	c = kt_open_file(test);
	KUNIT_EXPECT_EQ(test, kt_poll_mask(c, &pc.pt), 0U);
	KUNIT_ASSERT_NOT_NULL(test, file_record(c));
	KUNIT_EXPECT_PTR_EQ(test, file_record(c)->file, c);
	KUNIT_ASSERT_NOT_NULL(test, pc.whead);
	KUNIT_EXPECT_PTR_NE(test, pc.whead, pb.whead);
	wake_up_poll(&d->wq, EPOLLIN);
	KUNIT_EXPECT_EQ(test, pb.wakes, 2);
	KUNIT_EXPECT_EQ(test, pc.wakes, 1);

	cdev_revoke(d->cdev);
	KUNIT_EXPECT_TRUE(test, pb.key & EPOLLHUP);
	KUNIT_EXPECT_TRUE(test, pc.key & EPOLLHUP);
	kt_unregister(test, d);
	remove_wait_queue(pb.whead, &pb.wait);
	remove_wait_queue(pc.whead, &pc.wait);
	kt_close(b);
	kt_close(c);
}

/*
 * The second revoker, run from inside the first one between its "revoked"
 * and its wake-up: it returns at once, and the remove path goes on to
 * delete the cdev, whose last reference that is.
 */
static int kt_tail_fn(void *arg)
{
	struct kt_drv *d = READ_ONCE(kt_d);

	cdev_revoke(d->cdev);
	WRITE_ONCE(kt_c->revoked, true);
	cdev_del(d->cdev);
	WRITE_ONCE(kt_d, NULL);
	__free_page(d->page);
	kfree(d);
	complete(&kt_c->go);
	return 0;
}

static void kt_tail_hook(struct cdev_revoke *rv, enum cdev_revoke_point pt)
{
	struct task_struct *t;

	if (pt != CDEV_REVOKE_PT_PUBLISHED || atomic_inc_return(&kt_c->hook_hits) > 1)
		return;
	t = kthread_run(kt_tail_fn, NULL, "kt_tail");
	if (!IS_ERR(t))
		wait_for_completion_timeout(&kt_c->go, KT_TIMEOUT);
}

/*
 * A concurrent revoker returns as soon as the first one has published its
 * result, and may then let the cdev go, revocation state and all: the
 * first one must not touch that state after it published (KASAN reports
 * the access here, in the test's own thread, if it does).
 */
static void kt_revoke_tail(struct kunit *test)
{
	struct kt_ctx *ctx = test->priv;
	struct kt_drv *d = kt_register(test, &kt_info);

	WRITE_ONCE(cdev_revoke_test_hook, kt_tail_hook);
	cdev_revoke(d->cdev);
	WRITE_ONCE(cdev_revoke_test_hook, NULL);
	ctx->cdev = NULL;
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->hook_hits), 1);
	KUNIT_EXPECT_NULL(test, READ_ONCE(kt_d));
}

/*
 * Lockdep: revoking while holding a lock that a method of the device
 * takes is a deadlock, for a plain and for a nested revocation alike.
 * Lockdep reports once per boot and is off after that, so these cases
 * only run in boots of their own (scripts/lockdep-check.sh), which expect
 * exactly this report.
 */
static bool kt_lockdep_boot;
/* The boot parameter keeps the name the suite had inside the core. */
#undef MODULE_PARAM_PREFIX
#define MODULE_PARAM_PREFIX "cdev_revoke."
module_param_named(lockdep_test, kt_lockdep_boot, bool, 0444);

static void kt_lockdep_case(struct kunit *test, unsigned int subclass)
{
	struct kt_drv *d;
	struct file *file;

	if (!IS_ENABLED(CONFIG_PROVE_LOCKING))
		kunit_skip(test, "needs CONFIG_PROVE_LOCKING");
	if (!kt_lockdep_boot)
		kunit_skip(test, "run by boots of their own (cdev_revoke.lockdep_test=1)");
	KUNIT_ASSERT_TRUE_MSG(test, debug_locks, "lockdep is already off");
	d = kt_register_nested(test, &kt_info, subclass);
	file = kt_open_file(test);
	/* A method takes the mutex inside the fence... */
	KUNIT_EXPECT_EQ(test, file->f_op->unlocked_ioctl(file, KT_IOC_LOCK, 0), 0L);
	pr_info("cdev_revoke_kunit: revoking (subclass %u) under kt_lockdep_mutex: lockdep must report it\n",
		subclass);
	/* ...and the revoker holds it while it waits for the fence. */
	mutex_lock(&kt_lockdep_mutex);
	cdev_revoke(d->cdev);
	mutex_unlock(&kt_lockdep_mutex);
	KUNIT_EXPECT_FALSE_MSG(test, debug_locks,
			       "no lockdep report for a revocation under a lock its methods take");
	kt_unregister(test, d);
	kt_close(file);
}

static void kt_lockdep_plain(struct kunit *test)
{
	kt_lockdep_case(test, 0);
}

static void kt_lockdep_nested(struct kunit *test)
{
	kt_lockdep_case(test, 1);
}

/*
 * Reach: misc devices, child files, vm_ops->open/close.
 */

#define KT_MISC_PATH	"/cdev_revoke_kunit_misc"

/* A misc device's driver data: freed once misc_deregister() returns. */
struct kt_misc {
	struct miscdevice misc;
	wait_queue_head_t wq;
	bool gone;
	bool park;
	struct completion parked;
};

static struct kt_misc *kt_misc_of(struct file *file)
{
	return container_of(file->private_data, struct kt_misc, misc);
}

static int kt_misc_open(struct inode *inode, struct file *file)
{
	kt_hit();
	atomic_inc(&kt_c->opens);
	/* misc_open() placed the miscdevice there, as without the shim. */
	kt_c->open_pd = file->private_data;
	return 0;
}

static int kt_misc_release(struct inode *inode, struct file *file)
{
	kt_hit();
	atomic_inc(&kt_c->releases);
	if (current == READ_ONCE(kt_c->revoker))
		atomic_inc(&kt_c->released_by_revoke);
	return 0;
}

static ssize_t kt_misc_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	struct kt_misc *m = kt_misc_of(iocb->ki_filp);

	kt_hit();
	if (READ_ONCE(m->park)) {
		complete(&m->parked);
		if (wait_event_interruptible(m->wq, READ_ONCE(m->gone)))
			return -ERESTARTSYS;
		return -EIO;
	}
	return iov_iter_zero(iov_iter_count(to), to);
}

static __poll_t kt_misc_poll(struct file *file, poll_table *pt)
{
	struct kt_misc *m = kt_misc_of(file);

	kt_hit();
	poll_wait(file, &m->wq, pt);
	return EPOLLOUT;
}

static long kt_misc_ioctl(struct file *file, unsigned int cmd,
			  unsigned long arg)
{
	kt_hit();
	return cmd == KT_IOC_PLAIN ? KT_PLAIN_RET : -ENOTTY;
}

static const struct file_operations kt_misc_fops = {
	.owner		= THIS_MODULE,
	.open		= kt_misc_open,
	.release	= kt_misc_release,
	.read_iter	= kt_misc_read_iter,
	.poll		= kt_misc_poll,
	.unlocked_ioctl	= kt_misc_ioctl,
};

/* A driver whose ->open hands the file to another table, as some do. */
static int kt_other_release(struct inode *inode, struct file *file)
{
	atomic_inc(&kt_c->child_releases);
	return 0;
}

static const struct file_operations kt_other_fops = {
	.owner		= THIS_MODULE,
	.release	= kt_other_release,
};

static int kt_misc_swap_open(struct inode *inode, struct file *file)
{
	kt_hit();
	atomic_inc(&kt_c->opens);
	replace_fops(file, fops_get(&kt_other_fops));
	return 0;
}

static const struct file_operations kt_misc_swap_fops = {
	.owner		= THIS_MODULE,
	.open		= kt_misc_swap_open,
	.release	= kt_misc_release,
	.read_iter	= kt_misc_read_iter,
};

static void kt_misc_kick(struct miscdevice *misc)
{
	struct kt_misc *m = container_of(misc, struct kt_misc, misc);

	atomic_inc(&kt_c->kicks);
	WRITE_ONCE(m->gone, true);
	wake_up_all(&m->wq);
}

static const struct cdev_revoke_info kt_misc_info = {
	.kick_misc = kt_misc_kick,
	.kick_file = kt_kick_file,
};

static struct kt_misc *kt_misc_alloc(struct kunit *test,
				     const struct cdev_revoke_info *info)
{
	struct kt_misc *m = kzalloc(sizeof(*m), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, m);
	m->misc.minor = MISC_DYNAMIC_MINOR;
	m->misc.name = "cdev_revoke_kunit";
	m->misc.fops = &kt_misc_fops;
	m->misc.revoke_info = info;
	init_waitqueue_head(&m->wq);
	init_completion(&m->parked);
	return m;
}

/* Register @m and make a node for its (dynamic) minor. */
static void kt_misc_register(struct kunit *test, struct kt_misc *m)
{
	struct dentry *dentry;
	struct path parent;

	KUNIT_ASSERT_EQ(test, misc_register(&m->misc), 0);
	do_unlinkat(AT_FDCWD, getname_kernel(KT_MISC_PATH));
	dentry = kern_path_create(AT_FDCWD, KT_MISC_PATH, &parent, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR(dentry));
	KUNIT_EXPECT_EQ(test, vfs_mknod(mnt_idmap(parent.mnt),
					d_inode(parent.dentry), dentry,
					S_IFCHR | 0600,
					MKDEV(MISC_MAJOR, m->misc.minor)), 0);
	done_path_create(&parent, dentry);
}

static struct file *kt_misc_open_file(struct kunit *test)
{
	struct file *file = filp_open(KT_MISC_PATH, O_RDWR, 0);

	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(file), "open: %ld", PTR_ERR(file));
	return file;
}

static void kt_misc_unlink(void)
{
	do_unlinkat(AT_FDCWD, getname_kernel(KT_MISC_PATH));
}

/*
 * A misc device that opts in: its files run through the shim with the
 * miscdevice in ->private_data, and misc_deregister() fences the driver
 * off them (kick, drain, release once) before the driver frees its data.
 */
static void kt_misc_revoke(struct kunit *test)
{
	struct kt_misc *m = kt_misc_alloc(test, &kt_misc_info);
	struct kt_call rd = { .op = KT_OP_READ };
	struct file *file, *idle;

	kt_misc_register(test, m);
	file = kt_misc_open_file(test);
	idle = kt_misc_open_file(test);
	KUNIT_EXPECT_PTR_EQ(test, kt_c->open_pd, (void *)&m->misc);
	KUNIT_EXPECT_PTR_EQ(test, file->private_data, (void *)&m->misc);
	KUNIT_EXPECT_TRUE(test, cdev_revoke_file_is(file, &kt_misc_fops));
	KUNIT_EXPECT_PTR_NE(test, file->f_op, &kt_misc_fops);
	KUNIT_EXPECT_EQ(test, kt_read(file), 8);
	KUNIT_EXPECT_EQ(test, file->f_op->unlocked_ioctl(file, KT_IOC_PLAIN, 0),
			KT_PLAIN_RET);

	WRITE_ONCE(m->park, true);
	rd.file = file;
	kt_start(test, &rd);
	KUNIT_ASSERT_TRUE(test, wait_for_completion_timeout(&m->parked,
							    KT_TIMEOUT));

	kt_c->revoker = current;
	misc_deregister(&m->misc);
	WRITE_ONCE(kt_c->revoked, true);
	kfree(m);

	KUNIT_ASSERT_TRUE(test, kt_wait(&rd, KT_TIMEOUT));
	KUNIT_EXPECT_EQ(test, rd.ret, -ENODEV);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->kicks), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->kick_files), 2);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->releases), 2);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->released_by_revoke), 2);
	KUNIT_EXPECT_EQ(test, kt_read(file), -ENODEV);
	KUNIT_EXPECT_EQ(test, file->f_op->unlocked_ioctl(file, KT_IOC_PLAIN, 0),
			-ENODEV);
	KUNIT_EXPECT_EQ(test, kt_poll_mask(file, NULL),
			KT_MASK(CDEV_REVOKE_DEFAULT_POLL_MASK));
	KUNIT_EXPECT_TRUE(test, IS_ERR(filp_open(KT_MISC_PATH, O_RDWR, 0)));
	kt_close(file);
	kt_close(idle);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->releases), 2);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->after_revoke), 0);
	kt_misc_unlink();
}

/*
 * The same miscdevice registered again (a driver bound again): new opens
 * reach it, the file of the old registration stays revoked, and each
 * file is released once.
 */
static void kt_misc_replug(struct kunit *test)
{
	struct kt_misc *m = kt_misc_alloc(test, &kt_misc_info);
	struct file *old, *new;

	kt_misc_register(test, m);
	old = kt_misc_open_file(test);
	misc_deregister(&m->misc);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->releases), 1);

	WRITE_ONCE(m->gone, false);
	kt_misc_register(test, m);
	new = kt_misc_open_file(test);
	KUNIT_EXPECT_EQ(test, kt_read(new), 8);
	KUNIT_EXPECT_EQ(test, kt_read(old), -ENODEV);
	misc_deregister(&m->misc);
	kfree(m);
	WRITE_ONCE(kt_c->revoked, true);
	KUNIT_EXPECT_EQ(test, kt_read(new), -ENODEV);
	kt_close(old);
	kt_close(new);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->opens), 2);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->releases), 2);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->after_revoke), 0);
	kt_misc_unlink();
}

/*
 * misc_revoke() fences early: opens fail while the device stays
 * registered, and misc_deregister() then has nothing left to wait for.
 * Revoking a misc device that did not opt in, or was never registered,
 * is refused and changes nothing.
 */
static void kt_misc_early(struct kunit *test)
{
	struct kt_misc *m = kt_misc_alloc(test, &kt_misc_info);
	struct kt_misc *plain = kt_misc_alloc(test, NULL);
	struct file *file;

	misc_revoke(&plain->misc);		/* never registered */

	kt_misc_register(test, plain);
	file = kt_misc_open_file(test);
	KUNIT_EXPECT_PTR_EQ(test, file->f_op, &kt_misc_fops);
	misc_revoke(&plain->misc);		/* did not opt in */
	KUNIT_EXPECT_EQ(test, kt_read(file), 8);
	kt_close(file);
	misc_deregister(&plain->misc);
	kfree(plain);

	kt_misc_register(test, m);
	file = kt_misc_open_file(test);
	misc_revoke(&m->misc);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->releases), 2);
	KUNIT_EXPECT_EQ(test, kt_read(file), -ENODEV);
	KUNIT_EXPECT_EQ(test, PTR_ERR(filp_open(KT_MISC_PATH, O_RDWR, 0)),
			-ENXIO);
	misc_deregister(&m->misc);
	kfree(m);
	WRITE_ONCE(kt_c->revoked, true);
	kt_close(file);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->kicks), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->releases), 2);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->after_revoke), 0);
	kt_misc_unlink();
}

/*
 * A revocable device whose ->open swaps in the table of another driver
 * would escape the fence: the open is undone (the other table's
 * ->release) and refused, and the driver's own ->release is not called.
 */
static void kt_misc_swap(struct kunit *test)
{
	struct kt_misc *m = kt_misc_alloc(test, &kt_misc_info);

	m->misc.fops = &kt_misc_swap_fops;
	kt_misc_register(test, m);
	KUNIT_EXPECT_EQ(test, PTR_ERR(filp_open(KT_MISC_PATH, O_RDWR, 0)),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->opens), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->child_releases), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->releases), 0);
	misc_deregister(&m->misc);
	kfree(m);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->releases), 0);
	kt_misc_unlink();
}

/*
 * close() against misc_deregister(), both winners forced as in
 * kt_release_race(): each file of the misc device is released once.
 */
static void kt_misc_release_race(struct kunit *test)
{
	const int rounds = 150;
	struct kt_misc *m = kt_misc_alloc(test, &kt_misc_info);
	int i, by_revoke;

	kt_c->revoker = current;
	WRITE_ONCE(cdev_revoke_test_hook, kt_race_hook);
	for (i = 0; i < rounds; i++) {
		struct kt_call cl = { .op = KT_OP_CLOSE };
		int before = atomic_read(&kt_c->releases);

		WRITE_ONCE(kt_race_mode, i % 3);
		WRITE_ONCE(m->gone, false);
		kt_misc_register(test, m);
		cl.file = kt_misc_open_file(test);
		kt_start(test, &cl);
		misc_deregister(&m->misc);
		KUNIT_ASSERT_TRUE(test, kt_wait(&cl, KT_TIMEOUT));
		KUNIT_ASSERT_EQ(test, atomic_read(&kt_c->releases), before + 1);
	}
	WRITE_ONCE(cdev_revoke_test_hook, NULL);
	kfree(m);
	by_revoke = atomic_read(&kt_c->released_by_revoke);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->releases), rounds);
	KUNIT_EXPECT_GT(test, by_revoke, 0);
	KUNIT_EXPECT_GT(test, rounds - by_revoke, 0);
	kunit_info(test, "%d rounds: released by revoke %d, by close %d\n",
		   rounds, by_revoke, rounds - by_revoke);
	kt_misc_unlink();
}

/* The same for a child file whose parent file is closed already. */
static void kt_child_release_race(struct kunit *test)
{
	const int rounds = 150;
	int i, by_revoke;

	WRITE_ONCE(cdev_revoke_test_hook, kt_race_hook);
	for (i = 0; i < rounds; i++) {
		struct kt_drv *d = kt_register(test, &kt_info);
		struct kt_call cl = { .op = KT_OP_CLOSE };
		int before = atomic_read(&kt_c->child_releases);
		struct file *parent = kt_open_file(test);

		WRITE_ONCE(kt_race_mode, i % 3);
		KUNIT_ASSERT_EQ(test, parent->f_op->unlocked_ioctl(parent,
								   KT_IOC_CHILD,
								   0), 0);
		kt_close(parent);
		cl.file = kt_c->child;
		kt_start(test, &cl);
		kt_c->revoker = current;	/* not for the parent's release */
		kt_unregister(test, d);
		kt_c->revoker = NULL;
		KUNIT_ASSERT_TRUE(test, kt_wait(&cl, KT_TIMEOUT));
		KUNIT_ASSERT_EQ(test, atomic_read(&kt_c->child_releases),
				before + 1);
	}
	WRITE_ONCE(cdev_revoke_test_hook, NULL);
	by_revoke = atomic_read(&kt_c->released_by_revoke);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->child_releases), rounds);
	KUNIT_EXPECT_GT(test, by_revoke, 0);
	KUNIT_EXPECT_GT(test, rounds - by_revoke, 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->after_revoke), 0);
	kunit_info(test, "%d rounds: released by revoke %d, by close %d\n",
		   rounds, by_revoke, rounds - by_revoke);
}

/*
 * A child file created by an operation of the device runs in the
 * device's fence, outlives the file that created it, has an inode of its
 * own, and is detached by revocation: released once, then the device's
 * errno and poll mask.
 */
static void kt_child_files(struct kunit *test)
{
	struct kt_drv *d = kt_register(test, &kt_info);
	struct file *parent = kt_open_file(test);
	struct file *child, *child2;

	KUNIT_ASSERT_EQ(test, parent->f_op->unlocked_ioctl(parent, KT_IOC_CHILD,
							   0), 0);
	child = kt_c->child;
	KUNIT_ASSERT_EQ(test, parent->f_op->unlocked_ioctl(parent, KT_IOC_CHILD,
							   0), 0);
	child2 = kt_c->child;
	KUNIT_EXPECT_TRUE(test, cdev_revoke_file_is(child, &kt_child_fops));
	KUNIT_EXPECT_PTR_NE(test, child->f_op, &kt_child_fops);
	KUNIT_EXPECT_PTR_EQ(test, child->f_op, child2->f_op);
	KUNIT_EXPECT_PTR_NE(test, file_inode(child), file_inode(child2));
	KUNIT_EXPECT_PTR_EQ(test, child->private_data, (void *)d);
	KUNIT_EXPECT_EQ(test, kt_read(child), 8);
	KUNIT_EXPECT_EQ(test, kt_poll_mask(child, NULL), KT_MASK(EPOLLOUT));

	/* Closed before revocation: released at close, in the fence. */
	kt_close(child2);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->child_releases), 1);
	/* The child outlives the file that made it. */
	kt_close(parent);
	KUNIT_EXPECT_EQ(test, kt_read(child), 8);

	kt_c->revoker = current;
	kt_unregister(test, d);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->child_releases), 2);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->released_by_revoke), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->kick_files), 1);
	KUNIT_EXPECT_EQ(test, kt_read(child), -ENODEV);
	KUNIT_EXPECT_EQ(test, kt_poll_mask(child, NULL),
			KT_MASK(CDEV_REVOKE_DEFAULT_POLL_MASK));
	kt_close(child);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->child_releases), 2);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->after_revoke), 0);
}

/* A child requested once revocation has started is refused. */
static void kt_child_late(struct kunit *test)
{
	struct kt_drv *d = kt_register(test, &kt_info);
	struct file *file = kt_open_file(test);
	struct kt_call ch = { .op = KT_OP_CHILD, .file = file };
	struct kt_call rev = { .op = KT_OP_REVOKE, .cdev = d->cdev };

	kt_c->child = NULL;
	d->park = KT_PARK_GATE;
	kt_start(test, &ch);
	KUNIT_ASSERT_TRUE(test, kt_parked(d));
	kt_start(test, &rev);
	KUNIT_ASSERT_TRUE(test, kt_rv_dead(d->cdev));
	d->park = KT_PARK_NONE;		/* for ->release */
	complete(&d->gate);
	KUNIT_ASSERT_TRUE(test, kt_wait(&ch, KT_TIMEOUT));
	KUNIT_ASSERT_TRUE(test, kt_wait(&rev, KT_TIMEOUT));
	KUNIT_EXPECT_EQ(test, ch.ret, -ENODEV);
	KUNIT_EXPECT_TRUE(test, IS_ERR(kt_c->child));
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->child_releases), 0);
	kt_unregister(test, d);
	kt_close(file);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->after_revoke), 0);
}

/*
 * vm_ops->open and ->close run in the fence before revocation, in pairs
 * as mm calls them (a split opens the new VMA, an unmap closes each
 * piece), and never after it: unmapping the rest of the mapping after
 * revocation, and the exit of the mm, call nothing.
 */
static void kt_vm_open_close(struct kunit *test)
{
	struct kt_drv *d = kt_register(test, &kt_info);
	struct file *file = kt_open_file(test);
	unsigned long addr;
	u32 v = 0;

	d->vm_close = true;
	addr = kunit_vm_mmap(test, file, 0, 3 * PAGE_SIZE,
			     PROT_READ, MAP_SHARED, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	KUNIT_ASSERT_NE(test, addr, 0);
	KUNIT_EXPECT_EQ(test, copy_from_user(&v, (void __user *)addr,
					     sizeof(v)), 0);
	KUNIT_EXPECT_EQ(test, v, KT_MAGIC);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->vm_opens), 0);

	/* The middle page: two splits, each opening the new VMA. */
	KUNIT_EXPECT_EQ(test, vm_munmap(addr + PAGE_SIZE, PAGE_SIZE), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->vm_opens), 2);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->vm_closes), 1);
	KUNIT_EXPECT_EQ(test, vm_munmap(addr, PAGE_SIZE), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->vm_closes), 2);

	kt_unregister(test, d);
	KUNIT_EXPECT_NE(test, copy_from_user(&v, (void __user *)addr +
					     2 * PAGE_SIZE, sizeof(v)), 0);
	KUNIT_EXPECT_EQ(test, vm_munmap(addr + 2 * PAGE_SIZE, PAGE_SIZE), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->vm_closes), 2);
	kt_close(file);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->after_revoke), 0);
}

/*
 * One-line conversions: cdev_del() of a cdev the driver did not revoke
 * revokes it (kick, drain, release) before the driver frees its data;
 * of one it did revoke, it returns at once.
 */
static void kt_del_revokes(struct kunit *test)
{
	struct kt_ctx *ctx = test->priv;
	struct kt_drv *d = kt_register(test, &kt_info);
	struct file *file = kt_open_file(test);
	struct kt_call rd = { .op = KT_OP_READ, .file = file };

	d->park = KT_PARK_KICK;
	kt_start(test, &rd);
	KUNIT_ASSERT_TRUE(test, kt_parked(d));
	kt_c->revoker = current;
	cdev_del(d->cdev);
	ctx->cdev = NULL;
	WRITE_ONCE(kt_c->revoked, true);
	WRITE_ONCE(kt_d, NULL);
	__free_page(d->page);
	kfree(d);

	KUNIT_ASSERT_TRUE(test, kt_wait(&rd, KT_TIMEOUT));
	KUNIT_EXPECT_EQ(test, rd.ret, -ENODEV);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->kicks), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->releases), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->released_by_revoke), 1);
	KUNIT_EXPECT_EQ(test, kt_read(file), -ENODEV);
	KUNIT_EXPECT_TRUE(test, IS_ERR(filp_open(KT_PATH, O_RDWR, 0)));
	kt_close(file);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->releases), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->after_revoke), 0);

	/* Revoked by the driver first: cdev_del() only deletes. */
	d = kt_register(test, &kt_info);
	cdev_revoke(d->cdev);
	cdev_del(d->cdev);
	ctx->cdev = NULL;
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->kicks), 2);
	WRITE_ONCE(kt_d, NULL);
	__free_page(d->page);
	kfree(d);
}

/*
 * usb_register_dev(): the minor of a class driver that opts in is
 * revoked by usb_deregister_dev(), as a disconnect does.  The interface
 * is a stand-in (a plain device as the parent of the usbmisc device): the
 * glue in usbcore only needs its minor and its struct device.
 */
#if IS_BUILTIN(CONFIG_USB)

#define KT_USB_PATH	"/cdev_revoke_kunit_usb"

struct kt_usb {
	struct usb_interface intf;
	wait_queue_head_t wq;
	bool gone;
	bool park;
	struct completion parked;
};

static struct kt_usb *kt_usb_dev;

static int kt_usb_open(struct inode *inode, struct file *file)
{
	kt_hit();
	atomic_inc(&kt_c->opens);
	file->private_data = READ_ONCE(kt_usb_dev);
	return 0;
}

static int kt_usb_release(struct inode *inode, struct file *file)
{
	kt_hit();
	atomic_inc(&kt_c->releases);
	if (current == READ_ONCE(kt_c->revoker))
		atomic_inc(&kt_c->released_by_revoke);
	return 0;
}

static ssize_t kt_usb_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	struct kt_usb *u = iocb->ki_filp->private_data;

	kt_hit();
	if (READ_ONCE(u->park)) {
		complete(&u->parked);
		if (wait_event_interruptible(u->wq, READ_ONCE(u->gone)))
			return -ERESTARTSYS;
		return -EIO;	/* what a killed URB would give */
	}
	return iov_iter_zero(iov_iter_count(to), to);
}

static const struct file_operations kt_usb_fops = {
	.owner		= THIS_MODULE,
	.open		= kt_usb_open,
	.release	= kt_usb_release,
	.read_iter	= kt_usb_read_iter,
};

static void kt_usb_kick(struct usb_interface *intf)
{
	struct kt_usb *u = container_of(intf, struct kt_usb, intf);

	atomic_inc(&kt_c->kicks);
	WRITE_ONCE(u->gone, true);
	wake_up_all(&u->wq);
}

static const struct cdev_revoke_info kt_usb_info = {
	.kick_usb = kt_usb_kick,
	.error = -ESHUTDOWN,
};

static struct usb_class_driver kt_usb_class = {
	.name		= "kt_usb%d",
	.fops		= &kt_usb_fops,
	.revoke_info	= &kt_usb_info,
};

static void kt_usb_dev_release(struct device *dev)
{
	kfree(container_of(dev, struct kt_usb, intf.dev));
}

static void kt_usb_revoke(struct kunit *test)
{
	struct kt_call rd = { .op = KT_OP_READ };
	struct dentry *dentry;
	struct file *file;
	struct path parent;
	struct kt_usb *u;
	dev_t devt;

	u = kzalloc(sizeof(*u), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, u);
	init_waitqueue_head(&u->wq);
	init_completion(&u->parked);
	u->intf.minor = -1;
	device_initialize(&u->intf.dev);
	u->intf.dev.release = kt_usb_dev_release;
	dev_set_name(&u->intf.dev, "cdev_revoke_kunit_usb");
	KUNIT_ASSERT_EQ(test, device_add(&u->intf.dev), 0);
	KUNIT_ASSERT_EQ(test, usb_register_dev(&u->intf, &kt_usb_class), 0);
	WRITE_ONCE(kt_usb_dev, u);
	devt = MKDEV(USB_MAJOR, u->intf.minor);

	do_unlinkat(AT_FDCWD, getname_kernel(KT_USB_PATH));
	dentry = kern_path_create(AT_FDCWD, KT_USB_PATH, &parent, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR(dentry));
	KUNIT_EXPECT_EQ(test, vfs_mknod(mnt_idmap(parent.mnt),
					d_inode(parent.dentry), dentry,
					S_IFCHR | 0600, devt), 0);
	done_path_create(&parent, dentry);

	file = filp_open(KT_USB_PATH, O_RDWR, 0);
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(file), "open: %ld", PTR_ERR(file));
	KUNIT_EXPECT_TRUE(test, cdev_revoke_file_is(file, &kt_usb_fops));
	KUNIT_EXPECT_PTR_NE(test, file->f_op, &kt_usb_fops);
	KUNIT_EXPECT_EQ(test, kt_read(file), 8);

	WRITE_ONCE(u->park, true);
	rd.file = file;
	kt_start(test, &rd);
	KUNIT_ASSERT_TRUE(test, wait_for_completion_timeout(&u->parked,
							    KT_TIMEOUT));
	/* What a class driver's disconnect does, then its data is gone. */
	kt_c->revoker = current;
	usb_deregister_dev(&u->intf, &kt_usb_class);
	WRITE_ONCE(kt_c->revoked, true);
	WRITE_ONCE(kt_usb_dev, NULL);
	KUNIT_EXPECT_EQ(test, u->intf.minor, -1);
	device_unregister(&u->intf.dev);

	KUNIT_ASSERT_TRUE(test, kt_wait(&rd, KT_TIMEOUT));
	KUNIT_EXPECT_EQ(test, rd.ret, -ESHUTDOWN);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->kicks), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->releases), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->released_by_revoke), 1);
	KUNIT_EXPECT_EQ(test, kt_read(file), -ESHUTDOWN);
	KUNIT_EXPECT_TRUE(test, IS_ERR(filp_open(KT_USB_PATH, O_RDWR, 0)));
	kt_close(file);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->releases), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_c->after_revoke), 0);
	do_unlinkat(AT_FDCWD, getname_kernel(KT_USB_PATH));
}
#else
static void kt_usb_revoke(struct kunit *test)
{
	kunit_skip(test, "needs CONFIG_USB=y");
}
#endif

static struct kunit_case cdev_revoke_test_cases[] = {
	KUNIT_CASE(kt_shim_table),
	KUNIT_CASE(kt_shim_every_method),
	KUNIT_CASE(kt_after_revoke),
	KUNIT_CASE(kt_options),
	KUNIT_CASE_PARAM(kt_fence_waits, kt_fence_gen_params),
	KUNIT_CASE(kt_fence_migrates),
	KUNIT_CASE(kt_kick_wakes),
	KUNIT_CASE_SLOW(kt_release_race),
	KUNIT_CASE(kt_pollers),
	KUNIT_CASE(kt_fasync_removed),
	KUNIT_CASE(kt_locks),
	KUNIT_CASE(kt_open_after),
	KUNIT_CASE(kt_replug),
	KUNIT_CASE(kt_nested_compat),
	KUNIT_CASE(kt_revoke_self),
	KUNIT_CASE(kt_misuse),
	KUNIT_CASE(kt_wait_close),
	KUNIT_CASE(kt_wait_timeout),
	KUNIT_CASE_PARAM(kt_mmap_zap, kt_mmap_gen_params),
	KUNIT_CASE(kt_open_icdev),
	KUNIT_CASE(kt_fault_after_drain),
	KUNIT_CASE_PARAM(kt_fault_kinds, kt_fault_kinds_gen_params),
	KUNIT_CASE_SLOW(kt_mmap_records),
	KUNIT_CASE(kt_replug_unlinked),
	KUNIT_CASE(kt_unbreak_revoked),
	KUNIT_CASE(kt_open_revokes_self),
	KUNIT_CASE(kt_poll_nomem),
	KUNIT_CASE(kt_poll_pollfree),
	KUNIT_CASE(kt_poll_forwarding),
	KUNIT_CASE(kt_poll_two_files),
	KUNIT_CASE(kt_record_in_file),
	KUNIT_CASE(kt_revoke_tail),
	KUNIT_CASE(kt_misc_revoke),
	KUNIT_CASE(kt_misc_replug),
	KUNIT_CASE(kt_misc_early),
	KUNIT_CASE(kt_misc_swap),
	KUNIT_CASE_SLOW(kt_misc_release_race),
	KUNIT_CASE(kt_child_files),
	KUNIT_CASE(kt_child_late),
	KUNIT_CASE_SLOW(kt_child_release_race),
	KUNIT_CASE(kt_vm_open_close),
	KUNIT_CASE(kt_del_revokes),
	KUNIT_CASE(kt_usb_revoke),
	{}
};

static struct kunit_suite cdev_revoke_test_suite = {
	.name = "cdev_revoke",
	.init = kt_init,
	.exit = kt_exit,
	.test_cases = cdev_revoke_test_cases,
};

static struct kunit_case cdev_revoke_lockdep_cases[] = {
	KUNIT_CASE(kt_lockdep_plain),
	KUNIT_CASE(kt_lockdep_nested),
	{}
};

static struct kunit_suite cdev_revoke_lockdep_suite = {
	.name = "cdev_revoke_lockdep",
	.init = kt_init,
	.exit = kt_exit,
	.test_cases = cdev_revoke_lockdep_cases,
};

kunit_test_suites(&cdev_revoke_test_suite, &cdev_revoke_lockdep_suite);
