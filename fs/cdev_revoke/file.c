// SPDX-License-Identifier: GPL-2.0
/*
 * cdev_revoke: the file operation shims, and the tracking of open files
 * from ->open to the last ->release.
 */

#include <linux/anon_inodes.h>
#include <linux/compat.h>
#include <linux/file.h>
#include <linux/filelock.h>
#include <linux/fs.h>
#include <linux/io_uring/cmd.h>
#include <linux/seq_file.h>
#include <linux/slab.h>

#include "internal.h"

/*
 * The records are only reached through their file (file->f_revoke)
 * and the lists of their device, never locklessly once freed: a plain
 * cache, freed at once at the last close, so that a close queues no RCU
 * callback and the next open reuses a warm object.
 */
static struct kmem_cache *cdev_revoke_file_cache;

static loff_t cdev_revoke_llseek(struct file *file, loff_t offset, int whence)
{
	const struct cdev_revoke_fops *t = file_table(file);
	struct cdev_revoke *rv = t->rv;

	if (!cdev_revoke_enter(rv))
		return rv->error;
	return cdev_revoke_done(rv, t->drv->llseek(file, offset, whence),
				RV_ERR);
}

static ssize_t cdev_revoke_read(struct file *file, char __user *buf, size_t len,
				loff_t *ppos)
{
	const struct cdev_revoke_fops *t = file_table(file);
	struct cdev_revoke *rv = t->rv;

	if (!cdev_revoke_enter(rv))
		return cdev_revoke_read_error(rv);
	return cdev_revoke_done(rv, t->drv->read(file, buf, len, ppos),
				RV_READ);
}

static ssize_t cdev_revoke_write(struct file *file, const char __user *buf,
				 size_t len, loff_t *ppos)
{
	const struct cdev_revoke_fops *t = file_table(file);
	struct cdev_revoke *rv = t->rv;

	if (!cdev_revoke_enter(rv))
		return rv->error;
	return cdev_revoke_done(rv, t->drv->write(file, buf, len, ppos),
				RV_ERR);
}

static ssize_t cdev_revoke_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	const struct cdev_revoke_fops *t = file_table(iocb->ki_filp);
	struct cdev_revoke *rv = t->rv;

	if (!cdev_revoke_enter(rv))
		return cdev_revoke_read_error(rv);
	return cdev_revoke_done(rv, t->drv->read_iter(iocb, to),
				RV_READ);
}

static ssize_t cdev_revoke_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	const struct cdev_revoke_fops *t = file_table(iocb->ki_filp);
	struct cdev_revoke *rv = t->rv;

	if (!cdev_revoke_enter(rv))
		return rv->error;
	return cdev_revoke_done(rv, t->drv->write_iter(iocb, from), RV_ERR);
}

static int cdev_revoke_iopoll(struct kiocb *iocb, struct io_comp_batch *iob,
			      unsigned int flags)
{
	const struct cdev_revoke_fops *t = file_table(iocb->ki_filp);
	struct cdev_revoke *rv = t->rv;

	if (!cdev_revoke_enter(rv))
		return 0;
	return cdev_revoke_done(rv, t->drv->iopoll(iocb, iob, flags), RV_ZERO);
}

static long cdev_revoke_unlocked_ioctl(struct file *file, unsigned int cmd,
				       unsigned long arg)
{
	const struct cdev_revoke_fops *t = file_table(file);
	struct cdev_revoke *rv = t->rv;

	if (!cdev_revoke_enter(rv))
		return rv->error;
	return cdev_revoke_done(rv, t->drv->unlocked_ioctl(file, cmd, arg),
				RV_ERR);
}

static long cdev_revoke_compat_ioctl(struct file *file, unsigned int cmd,
				     unsigned long arg)
{
	const struct cdev_revoke_fops *t = file_table(file);
	struct cdev_revoke *rv = t->rv;

	if (!cdev_revoke_enter(rv))
		return rv->error;
	return cdev_revoke_done(rv, t->drv->compat_ioctl(file, cmd, arg),
				RV_ERR);
}

static int cdev_revoke_flush(struct file *file, fl_owner_t id)
{
	const struct cdev_revoke_fops *t = file_table(file);
	struct cdev_revoke *rv = t->rv;

	if (!cdev_revoke_enter(rv))
		return 0;
	return cdev_revoke_done(rv, t->drv->flush(file, id), RV_ZERO);
}

static int cdev_revoke_fsync(struct file *file, loff_t start, loff_t end,
			     int datasync)
{
	const struct cdev_revoke_fops *t = file_table(file);
	struct cdev_revoke *rv = t->rv;

	if (!cdev_revoke_enter(rv))
		return rv->error;
	return cdev_revoke_done(rv, t->drv->fsync(file, start, end, datasync),
				RV_ERR);
}

/* A device may list entries to getdents(2): iterate_dir() calls this. */
static int cdev_revoke_iterate_shared(struct file *file,
				      struct dir_context *ctx)
{
	const struct cdev_revoke_fops *t = file_table(file);
	struct cdev_revoke *rv = t->rv;

	if (!cdev_revoke_enter(rv))
		return rv->error;
	return cdev_revoke_done(rv, t->drv->iterate_shared(file, ctx), RV_ERR);
}

static ssize_t cdev_revoke_splice_write(struct pipe_inode_info *pipe,
					struct file *out, loff_t *ppos,
					size_t len, unsigned int flags)
{
	const struct cdev_revoke_fops *t = file_table(out);
	struct cdev_revoke *rv = t->rv;

	if (!cdev_revoke_enter(rv))
		return rv->error;
	return cdev_revoke_done(rv, t->drv->splice_write(pipe, out, ppos, len, flags),
				RV_ERR);
}

static ssize_t cdev_revoke_splice_read(struct file *in, loff_t *ppos,
				       struct pipe_inode_info *pipe, size_t len,
				       unsigned int flags)
{
	const struct cdev_revoke_fops *t = file_table(in);
	struct cdev_revoke *rv = t->rv;

	if (!cdev_revoke_enter(rv))
		return cdev_revoke_read_error(rv);
	return cdev_revoke_done(rv, t->drv->splice_read(in, ppos, pipe, len, flags),
				RV_READ);
}

static long cdev_revoke_fallocate(struct file *file, int mode, loff_t offset,
				  loff_t len)
{
	const struct cdev_revoke_fops *t = file_table(file);
	struct cdev_revoke *rv = t->rv;

	if (!cdev_revoke_enter(rv))
		return rv->error;
	return cdev_revoke_done(rv, t->drv->fallocate(file, mode, offset, len),
				RV_ERR);
}

static int cdev_revoke_fadvise(struct file *file, loff_t offset, loff_t len,
			       int advice)
{
	const struct cdev_revoke_fops *t = file_table(file);
	struct cdev_revoke *rv = t->rv;

	if (!cdev_revoke_enter(rv))
		return rv->error;
	return cdev_revoke_done(rv, t->drv->fadvise(file, offset, len, advice),
				RV_ERR);
}

static int cdev_revoke_uring_cmd_iopoll(struct io_uring_cmd *ioucmd,
					struct io_comp_batch *iob,
					unsigned int poll_flags)
{
	const struct cdev_revoke_fops *t = file_table(ioucmd->file);
	struct cdev_revoke *rv = t->rv;

	if (!cdev_revoke_enter(rv))
		return 0;
	return cdev_revoke_done(rv, t->drv->uring_cmd_iopoll(ioucmd, iob, poll_flags),
				RV_ZERO);
}

#ifndef CONFIG_MMU
static unsigned int cdev_revoke_mmap_capabilities(struct file *file)
{
	const struct cdev_revoke_fops *t = file_table(file);
	struct cdev_revoke *rv = t->rv;

	if (!cdev_revoke_enter(rv))
		return 0;
	return cdev_revoke_done(rv, t->drv->mmap_capabilities(file), RV_ZERO);
}
#endif

static void cdev_revoke_splice_eof(struct file *file)
{
	const struct cdev_revoke_fops *t = file_table(file);
	struct cdev_revoke *rv = t->rv;

	if (!cdev_revoke_enter(rv))
		return;
	t->drv->splice_eof(file);
	cdev_revoke_leave(rv);
}

static void cdev_revoke_show_fdinfo(struct seq_file *m, struct file *file)
{
	const struct cdev_revoke_fops *t = file_table(file);
	struct cdev_revoke *rv = t->rv;

	if (!cdev_revoke_enter(rv))
		return;
	t->drv->show_fdinfo(m, file);
	cdev_revoke_leave(rv);
}

static unsigned long cdev_revoke_get_unmapped_area(struct file *file,
						   unsigned long addr,
						   unsigned long len,
						   unsigned long pgoff,
						   unsigned long flags)
{
	const struct cdev_revoke_fops *t = file_table(file);
	struct cdev_revoke *rv = t->rv;
	unsigned long ret;

	if (!cdev_revoke_enter(rv))
		return (unsigned long)rv->error;
	ret = t->drv->get_unmapped_area(file, addr, len, pgoff, flags);
	cdev_revoke_leave(rv);
	if (IS_ERR_VALUE(ret) && READ_ONCE(rv->dead))
		ret = (unsigned long)rv->error;
	return ret;
}

/*
 * Once revoked, lock requests fail, but the unlock requests that
 * locks_remove_posix() and locks_remove_flock() make at close must still
 * remove the locks from the inode, or they would be leaked.
 */
static int cdev_revoke_lock(struct file *file, int cmd, struct file_lock *fl)
{
	const struct cdev_revoke_fops *t = file_table(file);
	struct cdev_revoke *rv = t->rv;
	int ret;

	if (!cdev_revoke_enter(rv))
		return lock_is_unlock(fl) ? posix_lock_file(file, fl, NULL) :
					    rv->error;
	ret = t->drv->lock(file, cmd, fl);
	cdev_revoke_leave(rv);
	return cdev_revoke_result(rv, ret, RV_ERR);
}

static int cdev_revoke_flock(struct file *file, int cmd, struct file_lock *fl)
{
	const struct cdev_revoke_fops *t = file_table(file);
	struct cdev_revoke *rv = t->rv;
	int ret;

	if (!cdev_revoke_enter(rv))
		return lock_is_unlock(fl) ? locks_lock_file_wait(file, fl) :
					    rv->error;
	ret = t->drv->flock(file, cmd, fl);
	cdev_revoke_leave(rv);
	return cdev_revoke_result(rv, ret, RV_ERR);
}

static int cdev_revoke_setlease(struct file *file, int arg,
				struct file_lease **lease, void **priv)
{
	const struct cdev_revoke_fops *t = file_table(file);
	struct cdev_revoke *rv = t->rv;
	int ret;

	if (!cdev_revoke_enter(rv))
		return arg == F_UNLCK ? generic_setlease(file, arg, lease, priv) :
					rv->error;
	ret = t->drv->setlease(file, arg, lease, priv);
	cdev_revoke_leave(rv);
	return cdev_revoke_result(rv, ret, RV_ERR);
}

/*
 * copy_file_range and remap_file_range are reached through either file
 * (the VFS only calls them for regular files today): enter every
 * revocable device involved.
 */
static bool cdev_revoke_enter2(struct file *a, struct file *b,
			       struct cdev_revoke **rva, struct cdev_revoke **rvb)
{
	*rva = cdev_revoke_is_shim(a) ? file_rv(a) : NULL;
	*rvb = cdev_revoke_is_shim(b) ? file_rv(b) : NULL;
	if (*rvb == *rva)
		*rvb = NULL;
	if (*rva && !cdev_revoke_enter(*rva))
		return false;
	if (*rvb && !cdev_revoke_enter(*rvb)) {
		if (*rva)
			cdev_revoke_leave(*rva);
		return false;
	}
	return true;
}

static void cdev_revoke_leave2(struct cdev_revoke *rva, struct cdev_revoke *rvb)
{
	if (rvb)
		cdev_revoke_leave(rvb);
	if (rva)
		cdev_revoke_leave(rva);
}

static ssize_t cdev_revoke_copy_file_range(struct file *file_in, loff_t pos_in,
					   struct file *file_out,
					   loff_t pos_out, size_t len,
					   unsigned int flags)
{
	const struct cdev_revoke_fops *t = file_table(file_out);
	struct cdev_revoke *rv = t->rv, *rva, *rvb;
	ssize_t ret;

	if (!cdev_revoke_enter2(file_in, file_out, &rva, &rvb))
		return rv->error;
	ret = t->drv->copy_file_range(file_in, pos_in, file_out, pos_out,
				       len, flags);
	cdev_revoke_leave2(rva, rvb);
	return cdev_revoke_result(rv, ret, RV_ERR);
}

static loff_t cdev_revoke_remap_file_range(struct file *file_in, loff_t pos_in,
					   struct file *file_out,
					   loff_t pos_out, loff_t len,
					   unsigned int remap_flags)
{
	struct file *file = cdev_revoke_is_shim(file_in) ? file_in : file_out;
	const struct cdev_revoke_fops *t = file_table(file);
	struct cdev_revoke *rv = t->rv, *rva, *rvb;
	loff_t ret;

	if (!cdev_revoke_enter2(file_in, file_out, &rva, &rvb))
		return rv->error;
	ret = t->drv->remap_file_range(file_in, pos_in, file_out, pos_out,
					len, remap_flags);
	cdev_revoke_leave2(rva, rvb);
	return cdev_revoke_result(rv, ret, RV_ERR);
}

/*
 * io_uring cancels cancelable commands at ring exit by calling ->uring_cmd
 * with IO_URING_F_CANCEL.  After revocation the driver's kick hooks have
 * completed every command, so none should be left; a command that still is
 * would make io_uring retry forever, so complete it here.
 */
static int cdev_revoke_uring_cmd(struct io_uring_cmd *ioucmd,
				 unsigned int issue_flags)
{
	const struct cdev_revoke_fops *t = file_table(ioucmd->file);
	struct cdev_revoke *rv = t->rv;
	int ret;

	if (!cdev_revoke_enter(rv)) {
		if (!(issue_flags & IO_URING_F_CANCEL))
			return rv->error;
		WARN_ONCE(1, "cdev_revoke: %d:%d left a uring_cmd pending\n",
			  MAJOR(cdev_revoke_devt(rv)),
			      MINOR(cdev_revoke_devt(rv)));
		io_uring_cmd_done(ioucmd, rv->error, 0, issue_flags);
		return 0;
	}
	ret = t->drv->uring_cmd(ioucmd, issue_flags);
	cdev_revoke_leave(rv);
	return cdev_revoke_result(rv, ret, RV_ERR);
}

/*
 * The core keeps its own fasync list so that revocation can send SIGIO
 * with POLL_HUP after the driver's list is gone.
 */
static int cdev_revoke_fasync(int fd, struct file *file, int on)
{
	const struct cdev_revoke_fops *t = file_table(file);
	struct cdev_revoke *rv = t->rv;
	int ret;

	if (!cdev_revoke_enter(rv)) {
		if (on)
			return rv->error;
		fasync_helper(fd, file, 0, &rv->fasync);
		return 0;
	}
	ret = t->drv->fasync(fd, file, on);
	if (ret >= 0) {
		int err = fasync_helper(fd, file, on, &rv->fasync);

		if (err < 0) {
			t->drv->fasync(fd, file, 0);
			ret = err;
		}
	}
	cdev_revoke_leave(rv);
	return cdev_revoke_result(rv, ret, on ? RV_ERR : RV_ZERO);
}

static void cdev_revoke_file_free(struct cdev_revoke_file *cf)
{
	if (cf)
		kmem_cache_free(cdev_revoke_file_cache, cf);
}

static struct cdev_revoke_file *cdev_revoke_file_alloc(struct file *file)
{
	struct cdev_revoke_file *cf;

	cf = kmem_cache_alloc(cdev_revoke_file_cache, GFP_KERNEL);
	if (!cf)
		return NULL;
	cf->file = file;
	INIT_LIST_HEAD(&cf->node);
	cf->kicking = false;
	cf->detached = false;
	spin_lock_init(&cf->lock);
	INIT_LIST_HEAD(&cf->pollers);
	init_waitqueue_head(&cf->wqh);
	return cf;
}

/*
 * Track an open file, from inside a section: revocation then detaches it
 * after the fence, unless the section was broken and the device revoked
 * meanwhile (see cdev_revoke_break_active_protection()): then the driver
 * must not be called again for it, not even for ->release.  The file
 * holds a reference to @rv, whose tables it points to, until released, and
 * its record in itself (file->f_revoke).
 */
static int cdev_revoke_track(struct cdev_revoke *rv,
			     struct cdev_revoke_file *cf)
{
	int ret = 0;

	spin_lock(&rv->lock);
	if (likely(!rv->all_detached)) {
		list_add_tail(&cf->node, &rv->files);
		cdev_revoke_get(rv);
	} else {
		ret = -ENXIO;
	}
	spin_unlock(&rv->lock);
	if (likely(!ret))
		cf->file->f_revoke = cf;
	return ret;
}

int cdev_revoke_open(struct inode *inode, struct file *file)
{
	const struct cdev_revoke_fops *t = file_table(file);
	struct cdev_revoke *rv = t->rv;
	struct cdev_revoke_file *cf;
	int ret = 0;

	cf = cdev_revoke_file_alloc(file);
	if (!cf)
		return -ENOMEM;
	if (!cdev_revoke_enter(rv)) {
		cdev_revoke_file_free(cf);
		return -ENXIO;
	}
	if (READ_ONCE(rv->closing)) {
		ret = -ENXIO;
		goto out;
	}
	/* Never for a char device or an anonymous inode: see file_record(). */
	if (cdev_revoke_misuse(file->f_mode & FMODE_ATOMIC_POS,
			       "a file with FMODE_ATOMIC_POS: open refused",
			       cdev_revoke_devt(rv))) {
		ret = -EINVAL;
		goto out;
	}

	if (t->drv->open)
		ret = t->drv->open(inode, file);
	if (!ret && cdev_revoke_misuse(file->f_op != &t->fops,
				       "->open replaced f_op: open refused",
				       cdev_revoke_devt(rv))) {
		/* The file escaped the shim: undo the open and refuse it. */
		if (file->f_op->release)
			file->f_op->release(inode, file);
		ret = -EINVAL;
	}
	if (ret)
		goto out;

	/* Tracked only once open: kick_file never sees a half-open file. */
	ret = cdev_revoke_track(rv, cf);
	if (likely(!ret))
		cf = NULL;
	else
		__cdev_revoke_misuse("->open succeeded on a device revoked meanwhile",
				     cdev_revoke_devt(rv));
out:
	cdev_revoke_leave(rv);
	cdev_revoke_file_free(cf);
	return ret;
}

/**
 * cdev_revoke_open_file - open a file of a device a registrar opens
 * @rv: the device's state, from cdev_revoke_alloc()
 * @inode: as passed to the registrar's ->open
 * @file: as passed to the registrar's ->open
 *
 * Installs the device's shim table in @file and opens it, in place of the
 * registrar's replace_fops() and call to the driver's ->open, which the
 * shim makes inside the fence.  Whatever the registrar sets up in @file
 * before (misc_open() sets ->private_data) the driver sees as before.
 *
 * Context: Process context, from the registrar's ->open.
 * Return: what the driver's ->open returned; -ENXIO if the device is
 * being revoked; -ENODEV if the driver's module is going away.
 */
int cdev_revoke_open_file(struct cdev_revoke *rv, struct inode *inode,
			  struct file *file)
{
	const struct file_operations *fops = fops_get(&rv->main.fops);
	int ret;

	if (!fops)
		return -ENODEV;
	replace_fops(file, fops);
	ret = cdev_revoke_open(inode, file);
	if (ret)
		/*
		 * A failed open holds no reference to @rv, whose table the
		 * VFS would read to put the module: give it one of its own.
		 */
		replace_fops(file, &def_chr_fops);
	return ret;
}
EXPORT_SYMBOL_GPL(cdev_revoke_open_file);

/*
 * ->release runs exactly once per open file.  If the close gets into the
 * active section, revocation cannot have detached the file yet (it only
 * detaches after the fence), so the close releases it.  Otherwise
 * revocation owns the file: wait until it has released it.
 *
 * The file's reference to the device is dropped last.  The VFS reads
 * ->owner of the file's table after ->release to put the module: a file
 * of a cdev still pins the cdev, and with it the device and the table,
 * until chrdev_shim_file_put(); the other files get the driver's own table,
 * which names the same module.
 */
static int cdev_revoke_release(struct inode *inode, struct file *file)
{
	const struct cdev_revoke_fops *t = file_table(file);
	struct cdev_revoke *rv = t->rv;
	struct cdev_revoke_file *cf = file_record(file);
	int ret = 0;

	if (WARN_ON_ONCE(!cf))
		return 0;

	cdev_revoke_inject(rv, CDEV_REVOKE_PT_RELEASE);
	if (cdev_revoke_enter(rv)) {
		/*
		 * Off the device's lists for good: only revocation puts a
		 * record back, and it has not detached this one.
		 */
		spin_lock(&rv->lock);
		list_del_init(&cf->node);
		spin_unlock(&rv->lock);
		/* A kick_file hook may be running on this file. */
		wait_event(rv->wq, !READ_ONCE(cf->kicking));
		cdev_revoke_unhook(cf);
		if (t->drv->release)
			ret = t->drv->release(inode, file);
		cdev_revoke_leave(rv);
	} else {
		wait_event(rv->wq, READ_ONCE(cf->detached));
		spin_lock(&rv->lock);
		list_del_init(&cf->node);
		spin_unlock(&rv->lock);
	}

	/* For cdev_revoke()'s wait-for-close flavour; pairs with its wait. */
	if (wq_has_sleeper(&rv->wq))
		wake_up_all(&rv->wq);
	cdev_revoke_file_free(cf);
	if (t != &rv->main || !rv->cdev)
		file->f_op = t->drv;
	cdev_revoke_put(rv);
	return ret;
}

/*
 * The shim table for child files of @rv run by @drv, made on first use.
 * Called from inside a section of @rv, so @rv->children only grows.
 */
static const struct cdev_revoke_fops *
cdev_revoke_child_fops(struct cdev_revoke *rv,
		       const struct file_operations *drv)
{
	struct cdev_revoke_fops *t, *new;

	spin_lock(&rv->lock);
	list_for_each_entry(t, &rv->children, node) {
		if (t->drv == drv) {
			spin_unlock(&rv->lock);
			return t;
		}
	}
	spin_unlock(&rv->lock);

	new = kzalloc(sizeof(*new), GFP_KERNEL);
	if (!new)
		return NULL;
	cdev_revoke_build_fops(new, drv, rv);

	spin_lock(&rv->lock);
	list_for_each_entry(t, &rv->children, node) {
		if (t->drv == drv) {
			spin_unlock(&rv->lock);
			kfree(new);
			return t;
		}
	}
	list_add(&new->node, &rv->children);
	spin_unlock(&rv->lock);
	return new;
}

void cdev_revoke_free_children(struct cdev_revoke *rv)
{
	struct cdev_revoke_fops *t, *n;

	list_for_each_entry_safe(t, n, &rv->children, node)
		kfree(t);
}

/**
 * cdev_revoke_anon_getfile - create a child file of a revocable device
 * @parent: the file whose operation is running
 * @name: as for anon_inode_getfile()
 * @fops: the driver's file operations of the new file
 * @priv: its ->private_data
 * @flags: as for anon_inode_getfile()
 *
 * Like anon_inode_getfile(), for a driver that hands out new files from
 * an operation of @parent (a line request, an event queue, a buffer).
 * The file's operations run inside the fence of @parent's device, and
 * revocation detaches it like the device's own files: its ->release
 * (@fops->release) is called exactly once, then its operations fail with
 * the device's error, poll reports the device's poll mask, SIGIO users
 * get POLL_HUP and its mappings are zapped.  It has an inode of its own,
 * so that zapping its mappings touches no other file.  It may outlive
 * @parent and the device.  The kick_file hook sees it too.
 *
 * Context: Process context, from inside an operation of @parent.
 * Return: the file, or an ERR_PTR(): the device's error if it is being
 * revoked, -EINVAL if @parent is not a file of a revocable device or if
 * @fops is in a module and has no ->owner.
 */
struct file *cdev_revoke_anon_getfile(struct file *parent, const char *name,
				      const struct file_operations *fops,
				      void *priv, int flags)
{
	const struct cdev_revoke_fops *t;
	struct cdev_revoke_file *cf;
	struct cdev_revoke *rv;
	struct file *file;
	int ret;

	if (WARN_ON_ONCE(!cdev_revoke_is_shim(parent)))
		return ERR_PTR(-EINVAL);
	rv = file_rv(parent);
	if (cdev_revoke_ownerless(fops, cdev_revoke_devt(rv)))
		return ERR_PTR(-EINVAL);
	if (!cdev_revoke_enter(rv))
		return ERR_PTR(rv->error);

	ret = -ENOMEM;
	t = cdev_revoke_child_fops(rv, fops);
	cf = t ? cdev_revoke_file_alloc(NULL) : NULL;
	if (!cf)
		goto out;
	file = anon_inode_create_getfile(name, &t->fops, priv, flags, NULL);
	if (IS_ERR(file)) {
		ret = PTR_ERR(file);
		goto out;
	}
	WRITE_ONCE(cf->file, file);
	ret = cdev_revoke_track(rv, cf);
	if (unlikely(ret)) {
		/* Never opened for the driver: let the file go silently. */
		replace_fops(file, &def_chr_fops);
		fput(file);
		goto out;
	}
	cf = NULL;
out:
	cdev_revoke_leave(rv);
	cdev_revoke_file_free(cf);
	return ret ? ERR_PTR(ret) : file;
}
EXPORT_SYMBOL_GPL(cdev_revoke_anon_getfile);

/**
 * cdev_revoke_anon_getfd - create a child file of a revocable device and
 *	install it in a new file descriptor
 * @parent: as for cdev_revoke_anon_getfile()
 * @name: as for cdev_revoke_anon_getfile()
 * @fops: as for cdev_revoke_anon_getfile()
 * @priv: as for cdev_revoke_anon_getfile()
 * @flags: as for anon_inode_getfd(): O_CLOEXEC, plus the file's flags
 *
 * cdev_revoke_anon_getfile() for drivers that return the descriptor, as
 * anon_inode_getfd() does.
 *
 * Context: as for cdev_revoke_anon_getfile().
 * Return: the descriptor, or a negative errno.
 */
int cdev_revoke_anon_getfd(struct file *parent, const char *name,
			   const struct file_operations *fops, void *priv,
			   int flags)
{
	struct file *file;
	int fd;

	fd = get_unused_fd_flags(flags);
	if (fd < 0)
		return fd;
	file = cdev_revoke_anon_getfile(parent, name, fops, priv, flags);
	if (IS_ERR(file)) {
		put_unused_fd(fd);
		return PTR_ERR(file);
	}
	fd_install(fd, file);
	return fd;
}
EXPORT_SYMBOL_GPL(cdev_revoke_anon_getfd);

void cdev_revoke_build_fops(struct cdev_revoke_fops *t,
			    const struct file_operations *drv,
			    struct cdev_revoke *rv)
{
	const struct file_operations fops = {
		.owner = drv->owner,
		.fop_flags = drv->fop_flags,
		.open = cdev_revoke_open,
		.release = cdev_revoke_release,
		.llseek = drv->llseek ? cdev_revoke_llseek : NULL,
		.read = drv->read ? cdev_revoke_read : NULL,
		.write = drv->write ? cdev_revoke_write : NULL,
		.read_iter = drv->read_iter ? cdev_revoke_read_iter : NULL,
		.write_iter = drv->write_iter ? cdev_revoke_write_iter : NULL,
		.iopoll = drv->iopoll ? cdev_revoke_iopoll : NULL,
		.iterate_shared = drv->iterate_shared ?
				  cdev_revoke_iterate_shared : NULL,
		.poll = drv->poll ? cdev_revoke_poll : NULL,
		.unlocked_ioctl = drv->unlocked_ioctl ?
				  cdev_revoke_unlocked_ioctl : NULL,
		.compat_ioctl = drv->compat_ioctl ?
				cdev_revoke_compat_ioctl : NULL,
		.mmap = drv->mmap ? cdev_revoke_mmap : NULL,
		.flush = drv->flush ? cdev_revoke_flush : NULL,
		.fsync = drv->fsync ? cdev_revoke_fsync : NULL,
		.fasync = drv->fasync ? cdev_revoke_fasync : NULL,
		.lock = drv->lock ? cdev_revoke_lock : NULL,
		.get_unmapped_area = drv->get_unmapped_area ?
				     cdev_revoke_get_unmapped_area : NULL,
		.flock = drv->flock ? cdev_revoke_flock : NULL,
		.splice_write = drv->splice_write ?
				cdev_revoke_splice_write : NULL,
		.splice_read = drv->splice_read ?
			       cdev_revoke_splice_read : NULL,
		.splice_eof = drv->splice_eof ? cdev_revoke_splice_eof : NULL,
		.setlease = drv->setlease ? cdev_revoke_setlease : NULL,
		.fallocate = drv->fallocate ? cdev_revoke_fallocate : NULL,
		.show_fdinfo = drv->show_fdinfo ?
			       cdev_revoke_show_fdinfo : NULL,
#ifndef CONFIG_MMU
		.mmap_capabilities = drv->mmap_capabilities ?
				     cdev_revoke_mmap_capabilities : NULL,
#endif
		.copy_file_range = drv->copy_file_range ?
				   cdev_revoke_copy_file_range : NULL,
		.remap_file_range = drv->remap_file_range ?
				    cdev_revoke_remap_file_range : NULL,
		.fadvise = drv->fadvise ? cdev_revoke_fadvise : NULL,
		.uring_cmd = drv->uring_cmd ? cdev_revoke_uring_cmd : NULL,
		.uring_cmd_iopoll = drv->uring_cmd_iopoll ?
				    cdev_revoke_uring_cmd_iopoll : NULL,
		/*
		 * ->check_flags gets no file, so it cannot tell which device
		 * it serves.  It is a predicate on the flags (only NFS has
		 * one) and is passed through as is.
		 */
		.check_flags = drv->check_flags,
	};

	/* The table is written once, here, before any file can see it. */
	memcpy((void *)&t->fops, &fops, sizeof(fops));
	t->drv = drv;
	t->rv = rv;
}

static int __init cdev_revoke_files_init(void)
{
	/* Before any driver can opt in; a boot without it cannot go on. */
	cdev_revoke_file_cache = KMEM_CACHE(cdev_revoke_file,
					    SLAB_ACCOUNT | SLAB_PANIC);
	return 0;
}
fs_initcall(cdev_revoke_files_init);

