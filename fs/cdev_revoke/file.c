// SPDX-License-Identifier: GPL-2.0
/*
 * cdev_revoke: the file operation shims, and the tracking of open files
 * from ->open to the last ->release.
 */

#include <linux/compat.h>
#include <linux/filelock.h>
#include <linux/fs.h>
#include <linux/io_uring/cmd.h>
#include <linux/rhashtable.h>
#include <linux/seq_file.h>
#include <linux/slab.h>

#include "internal.h"

/*
 * All tracked files of all devices, by struct file pointer: the shims only
 * get the file, whose ->private_data is the driver's.  One table rather
 * than one per device, so that neither the lookup nor the size of struct
 * cdev_revoke depends on how many files a device has open.
 */
static struct rhashtable cdev_revoke_files;

static const struct rhashtable_params cdev_revoke_files_params = {
	.key_len = sizeof_field(struct cdev_revoke_file, file),
	.key_offset = offsetof(struct cdev_revoke_file, file),
	.head_offset = offsetof(struct cdev_revoke_file, hnode),
	.automatic_shrinking = true,
};


static loff_t cdev_revoke_llseek(struct file *file, loff_t offset, int whence)
{
	struct cdev_revoke *rv = file_rv(file);

	if (!cdev_revoke_enter(rv))
		return rv->error;
	return cdev_revoke_done(rv, rv->drv->llseek(file, offset, whence),
				RV_ERR);
}

static ssize_t cdev_revoke_read(struct file *file, char __user *buf, size_t len,
				loff_t *ppos)
{
	struct cdev_revoke *rv = file_rv(file);

	if (!cdev_revoke_enter(rv))
		return cdev_revoke_read_error(rv);
	return cdev_revoke_done(rv, rv->drv->read(file, buf, len, ppos),
				RV_READ);
}

static ssize_t cdev_revoke_write(struct file *file, const char __user *buf,
				 size_t len, loff_t *ppos)
{
	struct cdev_revoke *rv = file_rv(file);

	if (!cdev_revoke_enter(rv))
		return rv->error;
	return cdev_revoke_done(rv, rv->drv->write(file, buf, len, ppos),
				RV_ERR);
}

static ssize_t cdev_revoke_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	struct cdev_revoke *rv = file_rv(iocb->ki_filp);

	if (!cdev_revoke_enter(rv))
		return cdev_revoke_read_error(rv);
	return cdev_revoke_done(rv, rv->drv->read_iter(iocb, to),
				RV_READ);
}

static ssize_t cdev_revoke_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	struct cdev_revoke *rv = file_rv(iocb->ki_filp);

	if (!cdev_revoke_enter(rv))
		return rv->error;
	return cdev_revoke_done(rv, rv->drv->write_iter(iocb, from), RV_ERR);
}

static int cdev_revoke_iopoll(struct kiocb *iocb, struct io_comp_batch *iob,
			      unsigned int flags)
{
	struct cdev_revoke *rv = file_rv(iocb->ki_filp);

	if (!cdev_revoke_enter(rv))
		return 0;
	return cdev_revoke_done(rv, rv->drv->iopoll(iocb, iob, flags), RV_ZERO);
}

static long cdev_revoke_unlocked_ioctl(struct file *file, unsigned int cmd,
				       unsigned long arg)
{
	struct cdev_revoke *rv = file_rv(file);

	if (!cdev_revoke_enter(rv))
		return rv->error;
	return cdev_revoke_done(rv, rv->drv->unlocked_ioctl(file, cmd, arg),
				RV_ERR);
}

static long cdev_revoke_compat_ioctl(struct file *file, unsigned int cmd,
				     unsigned long arg)
{
	struct cdev_revoke *rv = file_rv(file);

	if (!cdev_revoke_enter(rv))
		return rv->error;
	return cdev_revoke_done(rv, rv->drv->compat_ioctl(file, cmd, arg),
				RV_ERR);
}

static int cdev_revoke_flush(struct file *file, fl_owner_t id)
{
	struct cdev_revoke *rv = file_rv(file);

	if (!cdev_revoke_enter(rv))
		return 0;
	return cdev_revoke_done(rv, rv->drv->flush(file, id), RV_ZERO);
}

static int cdev_revoke_fsync(struct file *file, loff_t start, loff_t end,
			     int datasync)
{
	struct cdev_revoke *rv = file_rv(file);

	if (!cdev_revoke_enter(rv))
		return rv->error;
	return cdev_revoke_done(rv, rv->drv->fsync(file, start, end, datasync),
				RV_ERR);
}

static ssize_t cdev_revoke_splice_write(struct pipe_inode_info *pipe,
					struct file *out, loff_t *ppos,
					size_t len, unsigned int flags)
{
	struct cdev_revoke *rv = file_rv(out);

	if (!cdev_revoke_enter(rv))
		return rv->error;
	return cdev_revoke_done(rv, rv->drv->splice_write(pipe, out, ppos, len, flags),
				RV_ERR);
}

static ssize_t cdev_revoke_splice_read(struct file *in, loff_t *ppos,
				       struct pipe_inode_info *pipe, size_t len,
				       unsigned int flags)
{
	struct cdev_revoke *rv = file_rv(in);

	if (!cdev_revoke_enter(rv))
		return cdev_revoke_read_error(rv);
	return cdev_revoke_done(rv, rv->drv->splice_read(in, ppos, pipe, len, flags),
				RV_READ);
}

static long cdev_revoke_fallocate(struct file *file, int mode, loff_t offset,
				  loff_t len)
{
	struct cdev_revoke *rv = file_rv(file);

	if (!cdev_revoke_enter(rv))
		return rv->error;
	return cdev_revoke_done(rv, rv->drv->fallocate(file, mode, offset, len),
				RV_ERR);
}

static int cdev_revoke_fadvise(struct file *file, loff_t offset, loff_t len,
			       int advice)
{
	struct cdev_revoke *rv = file_rv(file);

	if (!cdev_revoke_enter(rv))
		return rv->error;
	return cdev_revoke_done(rv, rv->drv->fadvise(file, offset, len, advice),
				RV_ERR);
}

static int cdev_revoke_uring_cmd_iopoll(struct io_uring_cmd *ioucmd,
					struct io_comp_batch *iob,
					unsigned int poll_flags)
{
	struct cdev_revoke *rv = file_rv(ioucmd->file);

	if (!cdev_revoke_enter(rv))
		return 0;
	return cdev_revoke_done(rv, rv->drv->uring_cmd_iopoll(ioucmd, iob, poll_flags),
				RV_ZERO);
}

#ifndef CONFIG_MMU
static unsigned int cdev_revoke_mmap_capabilities(struct file *file)
{
	struct cdev_revoke *rv = file_rv(file);

	if (!cdev_revoke_enter(rv))
		return 0;
	return cdev_revoke_done(rv, rv->drv->mmap_capabilities(file), RV_ZERO);
}
#endif

static void cdev_revoke_splice_eof(struct file *file)
{
	struct cdev_revoke *rv = file_rv(file);

	if (!cdev_revoke_enter(rv))
		return;
	rv->drv->splice_eof(file);
	cdev_revoke_leave(rv);
}

static void cdev_revoke_show_fdinfo(struct seq_file *m, struct file *file)
{
	struct cdev_revoke *rv = file_rv(file);

	if (!cdev_revoke_enter(rv))
		return;
	rv->drv->show_fdinfo(m, file);
	cdev_revoke_leave(rv);
}

static unsigned long cdev_revoke_get_unmapped_area(struct file *file,
						   unsigned long addr,
						   unsigned long len,
						   unsigned long pgoff,
						   unsigned long flags)
{
	struct cdev_revoke *rv = file_rv(file);
	unsigned long ret;

	if (!cdev_revoke_enter(rv))
		return (unsigned long)rv->error;
	ret = rv->drv->get_unmapped_area(file, addr, len, pgoff, flags);
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
	struct cdev_revoke *rv = file_rv(file);
	int ret;

	if (!cdev_revoke_enter(rv))
		return lock_is_unlock(fl) ? posix_lock_file(file, fl, NULL) :
					    rv->error;
	ret = rv->drv->lock(file, cmd, fl);
	cdev_revoke_leave(rv);
	return cdev_revoke_result(rv, ret, RV_ERR);
}

static int cdev_revoke_flock(struct file *file, int cmd, struct file_lock *fl)
{
	struct cdev_revoke *rv = file_rv(file);
	int ret;

	if (!cdev_revoke_enter(rv))
		return lock_is_unlock(fl) ? locks_lock_file_wait(file, fl) :
					    rv->error;
	ret = rv->drv->flock(file, cmd, fl);
	cdev_revoke_leave(rv);
	return cdev_revoke_result(rv, ret, RV_ERR);
}

static int cdev_revoke_setlease(struct file *file, int arg,
				struct file_lease **lease, void **priv)
{
	struct cdev_revoke *rv = file_rv(file);
	int ret;

	if (!cdev_revoke_enter(rv))
		return arg == F_UNLCK ? generic_setlease(file, arg, lease, priv) :
					rv->error;
	ret = rv->drv->setlease(file, arg, lease, priv);
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
	struct cdev_revoke *rv = file_rv(file_out), *rva, *rvb;
	ssize_t ret;

	if (!cdev_revoke_enter2(file_in, file_out, &rva, &rvb))
		return rv->error;
	ret = rv->drv->copy_file_range(file_in, pos_in, file_out, pos_out,
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
	struct cdev_revoke *rv = file_rv(file), *rva, *rvb;
	loff_t ret;

	if (!cdev_revoke_enter2(file_in, file_out, &rva, &rvb))
		return rv->error;
	ret = rv->drv->remap_file_range(file_in, pos_in, file_out, pos_out,
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
	struct cdev_revoke *rv = file_rv(ioucmd->file);
	int ret;

	if (!cdev_revoke_enter(rv)) {
		if (!(issue_flags & IO_URING_F_CANCEL))
			return rv->error;
		WARN_ONCE(1, "cdev_revoke: %d:%d left a uring_cmd pending\n",
			  MAJOR(rv->cdev->dev), MINOR(rv->cdev->dev));
		io_uring_cmd_done(ioucmd, rv->error, 0, issue_flags);
		return 0;
	}
	ret = rv->drv->uring_cmd(ioucmd, issue_flags);
	cdev_revoke_leave(rv);
	return cdev_revoke_result(rv, ret, RV_ERR);
}

/*
 * The core keeps its own fasync list so that revocation can send SIGIO
 * with POLL_HUP after the driver's list is gone.
 */
static int cdev_revoke_fasync(int fd, struct file *file, int on)
{
	struct cdev_revoke *rv = file_rv(file);
	int ret;

	if (!cdev_revoke_enter(rv)) {
		if (on)
			return rv->error;
		fasync_helper(fd, file, 0, &rv->fasync);
		return 0;
	}
	ret = rv->drv->fasync(fd, file, on);
	if (ret >= 0) {
		int err = fasync_helper(fd, file, on, &rv->fasync);

		if (err < 0) {
			rv->drv->fasync(fd, file, 0);
			ret = err;
		}
	}
	cdev_revoke_leave(rv);
	return cdev_revoke_result(rv, ret, on ? RV_ERR : RV_ZERO);
}

/* The tracking record of an open file, which keeps it until released. */
struct cdev_revoke_file *cdev_revoke_lookup(const struct file *file)
{
	return rhashtable_lookup_fast(&cdev_revoke_files, &file,
				      cdev_revoke_files_params);
}


int cdev_revoke_open(struct inode *inode, struct file *file)
{
	struct cdev_revoke *rv = file_rv(file);
	struct cdev_revoke_file *cf;
	bool revoked;
	int ret = 0;

	cf = kzalloc(sizeof(*cf), GFP_KERNEL);
	if (!cf)
		return -ENOMEM;
	cf->file = file;
	spin_lock_init(&cf->lock);
	INIT_LIST_HEAD(&cf->pollers);
	init_waitqueue_head(&cf->wqh);

	if (!cdev_revoke_enter(rv)) {
		kfree(cf);
		return -ENXIO;
	}
	if (READ_ONCE(rv->closing)) {
		ret = -ENXIO;
		goto out;
	}

	if (rv->drv->open)
		ret = rv->drv->open(inode, file);
	if (!ret && WARN_ONCE(file->f_op != &rv->fops,
			      "cdev_revoke: %d:%d: ->open replaced f_op\n",
			      MAJOR(rv->cdev->dev), MINOR(rv->cdev->dev))) {
		/* The file escaped the shim: undo the open and refuse it. */
		if (file->f_op->release)
			file->f_op->release(inode, file);
		ret = -EINVAL;
	}
	if (ret)
		goto out;

	/*
	 * Tracked only once open: kick_file never sees a half-open file.
	 * The fence waits for this section, so revocation detaches the file
	 * later, unless this ->open broke its protection and the device was
	 * revoked meanwhile (see cdev_revoke_break_active_protection()): then
	 * the driver must not be called again, not even for ->release.
	 */
	spin_lock(&rv->lock);
	revoked = rv->all_detached;
	ret = revoked ? -ENXIO :
	      rhashtable_insert_fast(&cdev_revoke_files, &cf->hnode,
				     cdev_revoke_files_params);
	if (likely(!ret)) {
		list_add_tail(&cf->node, &rv->files);
		cf = NULL;
	}
	spin_unlock(&rv->lock);
	if (unlikely(revoked))
		cdev_revoke_misuse(true,
				   "->open succeeded on a device revoked meanwhile",
				   rv->cdev);
	else if (unlikely(ret) && rv->drv->release)
		rv->drv->release(inode, file);
out:
	cdev_revoke_leave(rv);
	kfree(cf);
	return ret;
}

/*
 * ->release runs exactly once per open file.  If the close gets into the
 * active section, revocation cannot have detached the file yet (it only
 * detaches after the fence), so the close releases it.  Otherwise
 * revocation owns the file: wait until it has released it.
 */
static int cdev_revoke_release(struct inode *inode, struct file *file)
{
	struct cdev_revoke *rv = file_rv(file);
	struct cdev_revoke_file *cf = cdev_revoke_lookup(file);
	int ret = 0;

	if (WARN_ON_ONCE(!cf))
		return 0;

	cdev_revoke_inject(rv, CDEV_REVOKE_PT_RELEASE);
	if (cdev_revoke_enter(rv)) {
		spin_lock(&rv->lock);
		list_del_init(&cf->node);
		spin_unlock(&rv->lock);
		/* A kick_file hook may be running on this file. */
		wait_event(rv->wq, !READ_ONCE(cf->kicking));
		cdev_revoke_unhook(cf);
		if (rv->drv->release)
			ret = rv->drv->release(inode, file);
		cdev_revoke_leave(rv);
	} else {
		wait_event(rv->wq, READ_ONCE(cf->detached));
	}

	spin_lock(&rv->lock);
	list_del_init(&cf->node);
	rhashtable_remove_fast(&cdev_revoke_files, &cf->hnode,
			       cdev_revoke_files_params);
	spin_unlock(&rv->lock);
	/* For cdev_revoke()'s wait-for-close flavour. */
	wake_up_all(&rv->wq);
	kfree_rcu(cf, rcu);
	return ret;
}

void cdev_revoke_build_fops(struct cdev_revoke *rv)
{
	const struct file_operations *drv = rv->drv;
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
	memcpy((void *)&rv->fops, &fops, sizeof(fops));
}

static int __init cdev_revoke_files_init(void)
{
	/* Before any driver can opt in; a boot without it cannot go on. */
	if (rhashtable_init(&cdev_revoke_files, &cdev_revoke_files_params))
		panic("cdev_revoke: cannot allocate the table of open files\n");
	return 0;
}
fs_initcall(cdev_revoke_files_init);

