// SPDX-License-Identifier: GPL-2.0
/*
 * cdev_revoke - revocation of character devices with open files
 *
 * A driver opts its cdev in with cdev_revoke_init().  chrdev_open() then
 * installs a per-device table of shim file operations instead of the
 * driver's.  Every shim runs the driver's method inside an active-users
 * section of the device: entering and leaving only test a flag and write
 * a per-CPU counter, and sections nest freely.
 *
 * cdev_revoke() sets the flag, which refuses new sections once an
 * expedited RCU grace period has made it visible on every CPU, lets the
 * driver wake its sleepers, then waits for the counters to sum to zero.
 * From that point on no driver method runs or will run again, and the
 * open files are detached: the driver's ->release is called for each, and
 * the shims answer on the driver's behalf until the file is finally closed.
 *
 * The tracking structures (struct cdev_revoke and one struct
 * cdev_revoke_file per open file) belong to the core and live until the
 * cdev is released, that is after the last file opened through it is gone,
 * so nothing the shims touch is freed by the driver.
 *
 * See Documentation/driver-api/cdev_revoke.rst.
 */

#include <linux/cdev.h>
#include <linux/cdev_revoke.h>
#include <linux/compat.h>
#include <linux/export.h>
#include <linux/filelock.h>
#include <linux/fs.h>
#include <linux/highmem.h>
#include <linux/io_uring/cmd.h>
#include <linux/lockdep.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/percpu.h>
#include <linux/poll.h>
#include <linux/rcupdate.h>
#include <linux/rhashtable.h>
#include <linux/sched/mm.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/writeback.h>

#define CDEV_REVOKE_DEFAULT_POLL_MASK	(EPOLLIN | EPOLLOUT | EPOLLERR | \
					 EPOLLHUP | EPOLLRDNORM | EPOLLWRNORM)
#define CDEV_REVOKE_DEFAULT_TIMEOUT	(10 * HZ)

/**
 * struct cdev_revoke - revocation state of one cdev
 * @fops: shim table installed in the files of the device
 * @drv: the driver's file operations (cdev->ops at opt-in time)
 * @cdev: the cdev this belongs to
 * @info: the driver's options
 * @users: per-CPU counts of the sections entered minus those left on
 *	that CPU; only their sum means anything
 * @error: errno returned once revoked
 * @poll_mask: poll mask reported once revoked
 * @dead: no new section may start; never cleared
 * @closing: set when a %CDEV_REVOKE_WAIT_CLOSE revocation refuses opens
 * @revoked: cdev_revoke() has completed
 * @all_detached: cdev_revoke() has detached the files; no file may be
 *	tracked after this
 * @revoking: cdev_revoke() has started; later callers wait for @revoked
 * @subclass: lockdep subclass of the fence, for sections and revocation
 * @revoker: the task running cdev_revoke(), for the unbreak check
 * @wq: waits for @users to drain, for files to close or be detached, for
 *	a concurrent cdev_revoke() to complete
 * @lock: protects the lists; taken around a file's entry in cdev_revoke_files
 * @files: open files not yet detached
 * @detached: detached files not yet closed
 * @vm_shims: vm_operations shims, one per driver vm_operations table
 * @mms: mms which may be linking a VMA of the device (see cdev_revoke_mmap())
 * @fasync: the core's own SIGIO list, for POLL_HUP at revocation
 * @dep_map: lockdep map of the fence
 */
struct cdev_revoke {
	const struct file_operations fops;
	const struct file_operations *drv;
	struct cdev *cdev;
	const struct cdev_revoke_info *info;
	unsigned long __percpu *users;
	int error;
	__poll_t poll_mask;
	bool dead;
	bool closing;
	bool revoked;
	bool all_detached;
	bool revoking;
	unsigned int subclass;
	struct task_struct *revoker;
	wait_queue_head_t wq;
	spinlock_t lock;		/* protects the lists */
	struct list_head files;
	struct list_head detached;
	struct list_head vm_shims;
	struct list_head mms;
	struct fasync_struct *fasync;
#ifdef CONFIG_DEBUG_LOCK_ALLOC
	struct lockdep_map dep_map;
#endif
};

/**
 * struct cdev_revoke_file - one open file of a revocable cdev
 * @file: the file; valid while this structure is on a list
 * @node: entry in &cdev_revoke.files or &cdev_revoke.detached
 * @hnode: entry in cdev_revoke_files
 * @rcu: for kfree_rcu()
 * @kicking: cdev_revoke() is running the driver's kick_file hook on @file
 * @detached: the driver's ->release for @file has been called by revoke
 * @lock: serialises additions to @pollers
 * @pollers: forwarding entries on the driver's wait queues; added to under
 *	@lock from inside an active section, read locklessly there, emptied
 *	only once no operation can run on @file (close, or revocation after
 *	the fence)
 * @wqh: the queue pollers of @file really sleep on; lives until the file's
 *	last reference is dropped
 */
struct cdev_revoke_file {
	struct file *file;
	struct list_head node;
	struct rhash_head hnode;
	struct rcu_head rcu;
	bool kicking;
	bool detached;
	spinlock_t lock;		/* serialises additions to @pollers */
	struct list_head pollers;
	wait_queue_head_t wqh;
};

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

/* A forwarding entry on a wait queue of the driver. */
struct cdev_revoke_poller {
	wait_queue_entry_t wait;
	wait_queue_head_t *whead;
	struct cdev_revoke_file *cf;
	struct list_head node;
	struct rcu_head rcu;
};

/* The poll_table the driver's ->poll sees. */
struct cdev_revoke_pt {
	poll_table pt;
	poll_table *outer;
	struct cdev_revoke_file *cf;
	bool queued;
	bool nomem;		/* a forwarding entry could not be allocated */
};

/* Shim for one vm_operations_struct of the driver. */
struct cdev_revoke_vm_shim {
	const struct vm_operations_struct ops;
	const struct vm_operations_struct *drv;
	struct cdev_revoke *rv;
	struct list_head node;
};

/* An mm that may be linking a VMA whose ->mmap has returned. */
struct cdev_revoke_mm {
	struct mm_struct *mm;
	struct list_head node;
};

/* Points where the KUnit suite injects delays. */
enum cdev_revoke_point {
	CDEV_REVOKE_PT_START,
	CDEV_REVOKE_PT_REFUSED,
	CDEV_REVOKE_PT_DRAINED,
	CDEV_REVOKE_PT_RELEASE,
	CDEV_REVOKE_PT_FAULT,
	CDEV_REVOKE_PT_PUBLISHED,
};

#ifdef CONFIG_CDEV_REVOKE_KUNIT_TEST
static void (*cdev_revoke_test_hook)(struct cdev_revoke *rv,
				     enum cdev_revoke_point point);
/* The number of forwarding-entry allocations still to fail. */
static atomic_t cdev_revoke_test_nomem = ATOMIC_INIT(0);

static void cdev_revoke_inject(struct cdev_revoke *rv,
			       enum cdev_revoke_point point)
{
	typeof(cdev_revoke_test_hook) hook = READ_ONCE(cdev_revoke_test_hook);

	if (hook)
		hook(rv, point);
}

static bool cdev_revoke_inject_nomem(void)
{
	return atomic_dec_if_positive(&cdev_revoke_test_nomem) >= 0;
}
#else
static inline void cdev_revoke_inject(struct cdev_revoke *rv,
				      enum cdev_revoke_point point)
{
}

static inline bool cdev_revoke_inject_nomem(void)
{
	return false;
}
#endif

static int cdev_revoke_open(struct inode *inode, struct file *file);

/*
 * Misuse by a driver is reported once, without a WARN: it is refused and
 * harmless, and the KUnit suite exercises it on purpose.
 */
static bool cdev_revoke_misuse(bool cond, const char *what, struct cdev *cdev)
{
	static bool warned;

	if (likely(!cond))
		return false;
	if (!xchg(&warned, true)) {
		pr_warn("cdev_revoke: %d:%d: %s\n", MAJOR(cdev->dev),
			MINOR(cdev->dev), what);
		dump_stack();
	}
	return true;
}

static inline bool cdev_revoke_is_shim(const struct file *file)
{
	return file->f_op && file->f_op->open == cdev_revoke_open;
}

static inline struct cdev_revoke *file_rv(const struct file *file)
{
	return container_of(file->f_op, struct cdev_revoke, fops);
}

/*
 * The active-users section.
 *
 * Entering tests @rv->dead and increments this CPU's counter; leaving
 * decrements the counter of whatever CPU the task is on then, and wakes
 * the revoker if @rv->dead is set.  Both run with preemption disabled,
 * which makes them RCU read-side critical sections.  cdev_revoke() sets
 * @rv->dead, then waits for an RCU grace period, after which:
 *
 *  - every section that saw @rv->dead clear has made its increment
 *    visible, and every later attempt sees it set: the counters can only
 *    go down, and only an increment can be missed by a sum;
 *  - a leave that saw @rv->dead clear has made its decrement visible too,
 *    and one that saw it set wakes the revoker after its decrement.
 *
 * So one sum of zero means the section is empty for good, with no
 * barrier on the fast path.  Sections nest (the counters just count) and
 * may sleep between enter and leave.  A leave may touch @rv after its
 * decrement: the file the operation runs on pins the cdev, which frees
 * @rv only when released.
 *
 * For lockdep a section is a read trylock of the fence, as kernfs does for
 * its active references, so that revoking while holding a lock that a
 * method takes is reported.
 */
static __always_inline bool cdev_revoke_enter(struct cdev_revoke *rv)
{
	bool live;

	preempt_disable();
	live = !READ_ONCE(rv->dead);
	if (likely(live))
		this_cpu_inc(*rv->users);
	preempt_enable();
	if (likely(live))
		rwsem_acquire_read(&rv->dep_map, rv->subclass, 1, _RET_IP_);
	return live;
}

static __always_inline void cdev_revoke_leave(struct cdev_revoke *rv)
{
	bool dead;

	rwsem_release(&rv->dep_map, _RET_IP_);
	preempt_disable();
	this_cpu_dec(*rv->users);
	dead = READ_ONCE(rv->dead);
	preempt_enable();
	if (unlikely(dead))
		wake_up(&rv->wq);
}

/* The number of running sections; exact once new ones are refused. */
static long cdev_revoke_users(struct cdev_revoke *rv)
{
	long sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += (long)READ_ONCE(*per_cpu_ptr(rv->users, cpu));
	return sum;
}

static __always_inline int cdev_revoke_read_error(struct cdev_revoke *rv)
{
	return rv->info->flags & CDEV_REVOKE_READ_EOF ? 0 : rv->error;
}

/* What a method that revocation interrupted returns. */
enum cdev_revoke_ret {
	RV_ERR,			/* the device's error */
	RV_READ,		/* the device's error, or 0 (EOF) */
	RV_ZERO,		/* 0 */
};

/*
 * A method that fails because revoke interrupted it (its sleeper was
 * kicked, its hardware vanished) reports the device's error instead of
 * whatever the driver chose.  Success and queued async work pass through.
 * @kind is a constant: the error is only looked up on that slow path.
 */
static __always_inline s64 cdev_revoke_result(struct cdev_revoke *rv, s64 ret,
					      enum cdev_revoke_ret kind)
{
	if (likely(ret >= 0) || ret == -EIOCBQUEUED || !READ_ONCE(rv->dead))
		return ret;
	switch (kind) {
	case RV_ERR:
		return rv->error;
	case RV_READ:
		return cdev_revoke_read_error(rv);
	default:
		return 0;
	}
}

/*
 * Every shim: enter the section or answer for a revoked device, call the
 * driver, leave.
 */
static __always_inline s64 cdev_revoke_done(struct cdev_revoke *rv, s64 ret,
					    enum cdev_revoke_ret kind)
{
	cdev_revoke_leave(rv);
	return cdev_revoke_result(rv, ret, kind);
}

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
static struct cdev_revoke_file *cdev_revoke_lookup(const struct file *file)
{
	return rhashtable_lookup_fast(&cdev_revoke_files, &file,
				      cdev_revoke_files_params);
}

/* Pollers: see "Pollers" in Documentation/driver-api/cdev_revoke.rst. */
static int cdev_revoke_poll_wake(wait_queue_entry_t *wait, unsigned int mode,
				 int sync, void *key)
{
	struct cdev_revoke_poller *p =
		container_of(wait, struct cdev_revoke_poller, wait);
	__poll_t mask = key_to_poll(key);

	/*
	 * The callback does not learn how many exclusive waiters the driver
	 * meant to wake: wake one, which is what EPOLLEXCLUSIVE promises
	 * ("one or more"); non-exclusive waiters all wake anyway.
	 */
	if (sync)
		__wake_up_sync_key(&p->cf->wqh, mode,
				   poll_to_key(mask & ~POLLFREE));
	else
		__wake_up(&p->cf->wqh, mode, 1, poll_to_key(mask & ~POLLFREE));
	if (mask & POLLFREE) {
		/*
		 * The driver is freeing this queue after an RCU grace period
		 * (see wake_up_pollfree()).  Unhook, and make it the last
		 * access to @p: cdev_revoke_unhook() may free it as soon as
		 * it sees @whead cleared.
		 */
		list_del_init(&wait->entry);
		/* Pairs with smp_load_acquire() in cdev_revoke_unhook(). */
		smp_store_release(&p->whead, NULL);
	}
	return 0;
}

/*
 * Without the lock: every poll() of a file looks its queues up, and
 * entries are only removed when no operation can run on the file.
 */
static bool cdev_revoke_poller_find(struct cdev_revoke_file *cf,
				    wait_queue_head_t *whead)
{
	struct cdev_revoke_poller *p;
	bool found = false;

	rcu_read_lock();
	list_for_each_entry_rcu(p, &cf->pollers, node) {
		if (READ_ONCE(p->whead) == whead) {
			found = true;
			break;
		}
	}
	rcu_read_unlock();
	return found;
}

static void cdev_revoke_queue_proc(struct file *file, wait_queue_head_t *whead,
				   poll_table *pt)
{
	struct cdev_revoke_pt *wpt = container_of(pt, struct cdev_revoke_pt, pt);
	struct cdev_revoke_file *cf = wpt->cf;
	struct cdev_revoke_poller *p, *n, *new;

	if (!wpt->queued) {
		wpt->queued = true;
		poll_wait(file, &cf->wqh, wpt->outer);
	}

	/* Polled before: the forwarding entry is already on @whead. */
	if (cdev_revoke_poller_find(cf, whead))
		return;

	new = cdev_revoke_inject_nomem() ? NULL :
	      kmalloc(sizeof(*new), GFP_KERNEL);
	spin_lock(&cf->lock);
	list_for_each_entry_safe(p, n, &cf->pollers, node) {
		wait_queue_head_t *cur = READ_ONCE(p->whead);

		if (cur == whead) {
			spin_unlock(&cf->lock);
			kfree(new);
			return;
		}
		/*
		 * Unhooked by POLLFREE: its queue is gone, and nothing but
		 * lockless lookups (under RCU) can still reach it.
		 */
		if (!cur) {
			list_del_rcu(&p->node);
			kfree_rcu(p, rcu);
		}
	}
	if (new) {
		init_waitqueue_func_entry(&new->wait, cdev_revoke_poll_wake);
		new->whead = whead;
		new->cf = cf;
		add_wait_queue(whead, &new->wait);
		list_add_rcu(&new->node, &cf->pollers);
	} else {
		/* The poll must not sleep: nothing would wake it. */
		wpt->nomem = true;
	}
	spin_unlock(&cf->lock);
}

/* Take the file's pollers off the driver's queues, which are still alive. */
static void cdev_revoke_unhook(struct cdev_revoke_file *cf)
{
	struct cdev_revoke_poller *p, *n;
	LIST_HEAD(list);

	spin_lock(&cf->lock);
	list_splice_init(&cf->pollers, &list);
	spin_unlock(&cf->lock);

	list_for_each_entry_safe(p, n, &list, node) {
		wait_queue_head_t *whead;

		rcu_read_lock();
		/* Pairs with smp_store_release() on POLLFREE. */
		whead = smp_load_acquire(&p->whead);
		if (whead)
			remove_wait_queue(whead, &p->wait);
		rcu_read_unlock();
		kfree(p);
	}
}

/*
 * The driver's ->poll sees a poll_table of ours: the wait queues it
 * registers get a forwarding entry, and the real poller sleeps on a queue
 * of the core that outlives the driver, so no poll, select, epoll or
 * io_uring entry is left on driver memory after revocation.
 */
static __poll_t cdev_revoke_poll(struct file *file, poll_table *pt)
{
	struct cdev_revoke *rv = file_rv(file);
	struct cdev_revoke_pt wpt;
	__poll_t mask;

	if (!cdev_revoke_enter(rv))
		return rv->poll_mask;
	if (pt && pt->_qproc) {
		wpt.cf = cdev_revoke_lookup(file);
		if (wpt.cf) {
			init_poll_funcptr(&wpt.pt, cdev_revoke_queue_proc);
			wpt.pt._key = pt->_key;
			wpt.outer = pt;
			wpt.queued = false;
			wpt.nomem = false;
			pt = &wpt.pt;
		}
	}
	mask = rv->drv->poll(file, pt);
	cdev_revoke_leave(rv);
	if (READ_ONCE(rv->dead))
		mask = rv->poll_mask;
	else if (unlikely(pt == &wpt.pt && wpt.nomem))
		/*
		 * A queue of the driver has no forwarding entry, so its
		 * wake-ups would not reach this poller: report an error
		 * condition rather than let it sleep (select() fails with
		 * -ENOMEM in that case).  The next poll tries again.
		 */
		mask |= EPOLLERR;
	return mask;
}

/*
 * vm_operations.  ->close cannot be wrapped: the driver would expect it
 * for every VMA it set up, and after revocation it must not be called, so
 * drivers with ->close are refused (as kernfs does).  Everything else is
 * wrapped; a fault after revocation is a SIGBUS.
 */
static inline struct cdev_revoke_vm_shim *vma_shim(struct vm_area_struct *vma)
{
	return container_of(vma->vm_ops, struct cdev_revoke_vm_shim, ops);
}

/*
 * The vm_operations shims.  They do not substitute results: a fault that
 * revocation interrupted is zapped anyway.
 */

static int cdev_revoke_vm_may_split(struct vm_area_struct *vma,
				    unsigned long addr)
{
	struct cdev_revoke_vm_shim *s = vma_shim(vma);
	int ret;

	if (!cdev_revoke_enter(s->rv))
		return 0;
	ret = s->drv->may_split(vma, addr);
	cdev_revoke_leave(s->rv);
	return ret;
}

static int cdev_revoke_vm_mremap(struct vm_area_struct *vma)
{
	struct cdev_revoke_vm_shim *s = vma_shim(vma);
	int ret;

	if (!cdev_revoke_enter(s->rv))
		return s->rv->error;
	ret = s->drv->mremap(vma);
	cdev_revoke_leave(s->rv);
	return ret;
}

static int cdev_revoke_vm_mprotect(struct vm_area_struct *vma,
				   unsigned long start, unsigned long end,
				   unsigned long newflags)
{
	struct cdev_revoke_vm_shim *s = vma_shim(vma);
	int ret;

	if (!cdev_revoke_enter(s->rv))
		return 0;
	ret = s->drv->mprotect(vma, start, end, newflags);
	cdev_revoke_leave(s->rv);
	return ret;
}

/*
 * The page a driver's ->fault returns is mapped by the caller once ->fault
 * has returned, that is after the section: a revocation could drain, zap
 * nothing and let the driver free the page before it is mapped.  So map
 * it here, inside the section, as do_read_fault(), do_cow_fault() and
 * do_shared_fault() would, and tell the caller it is done
 * (%VM_FAULT_NOPAGE, or %VM_FAULT_DONE_COW for a private copy, as DAX
 * does).  Revocation then either waits for the PTE to be set up and zaps
 * it, or the fault sees the device dead.
 */
static vm_fault_t cdev_revoke_finish_fault(struct cdev_revoke_vm_shim *s,
					   struct vm_fault *vmf, vm_fault_t ret)
{
	struct vm_area_struct *vma = vmf->vma;
	struct folio *folio = page_folio(vmf->page);
	bool write = vmf->flags & FAULT_FLAG_WRITE;
	vm_fault_t err;

	/* __do_fault() handles a poisoned page without mapping it. */
	if (unlikely(PageHWPoison(vmf->page)))
		return ret;
	if (!(ret & VM_FAULT_LOCKED))
		folio_lock(folio);

	if (write && !(vma->vm_flags & VM_SHARED)) {
		/* A private copy; the driver's page is never mapped. */
		if (copy_mc_user_highpage(vmf->cow_page, vmf->page,
					  vmf->address, vma)) {
			err = VM_FAULT_HWPOISON;
		} else {
			__folio_mark_uptodate(page_folio(vmf->cow_page));
			err = finish_fault(vmf);
		}
		folio_unlock(folio);
		folio_put(folio);
		return err ?: VM_FAULT_DONE_COW;
	}

	if (write && s->drv->page_mkwrite) {
		/* As do_page_mkwrite() does. */
		unsigned int flags = vmf->flags;

		folio_unlock(folio);
		vmf->flags = FAULT_FLAG_WRITE | FAULT_FLAG_MKWRITE;
		err = s->drv->page_mkwrite(vmf);
		vmf->flags = flags;
		if (unlikely(err & (VM_FAULT_ERROR | VM_FAULT_NOPAGE))) {
			folio_put(folio);
			return err;
		}
		if (!(err & VM_FAULT_LOCKED)) {
			folio_lock(folio);
			if (!folio->mapping) {
				/* Truncated meanwhile: retry the fault. */
				folio_unlock(folio);
				folio_put(folio);
				return VM_FAULT_NOPAGE;
			}
		}
	}

	err = finish_fault(vmf);
	if (unlikely(err)) {
		folio_unlock(folio);
		folio_put(folio);
		return err;
	}
	if (write) {
		/* What fault_dirty_shared_page() does for such a page. */
		struct address_space *mapping = folio_mapping(folio);
		bool dirtied = folio_mark_dirty(folio);

		folio_unlock(folio);
		if (!s->drv->page_mkwrite)
			file_update_time(vma->vm_file);
		if ((dirtied || s->drv->page_mkwrite) && mapping)
			balance_dirty_pages_ratelimited(mapping);
	} else {
		folio_unlock(folio);
	}
	return VM_FAULT_NOPAGE | (ret & VM_FAULT_MAJOR);
}

static vm_fault_t cdev_revoke_vm_fault(struct vm_fault *vmf)
{
	struct cdev_revoke_vm_shim *s = vma_shim(vmf->vma);
	vm_fault_t ret;

	if (!cdev_revoke_enter(s->rv))
		return VM_FAULT_SIGBUS;
	ret = s->drv->fault(vmf);
	if (!(ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE | VM_FAULT_RETRY |
		     VM_FAULT_DONE_COW)))
		ret = cdev_revoke_finish_fault(s, vmf, ret);
	cdev_revoke_leave(s->rv);
	cdev_revoke_inject(s->rv, CDEV_REVOKE_PT_FAULT);
	return ret;
}

static vm_fault_t cdev_revoke_vm_huge_fault(struct vm_fault *vmf,
					    unsigned int order)
{
	struct cdev_revoke_vm_shim *s = vma_shim(vmf->vma);
	vm_fault_t ret;

	if (!cdev_revoke_enter(s->rv))
		return VM_FAULT_SIGBUS;
	ret = s->drv->huge_fault(vmf, order);
	cdev_revoke_leave(s->rv);
	return ret;
}

static vm_fault_t cdev_revoke_vm_map_pages(struct vm_fault *vmf, pgoff_t start,
					   pgoff_t end)
{
	struct cdev_revoke_vm_shim *s = vma_shim(vmf->vma);
	vm_fault_t ret;

	if (!cdev_revoke_enter(s->rv))
		return 0;
	ret = s->drv->map_pages(vmf, start, end);
	cdev_revoke_leave(s->rv);
	return ret;
}

static unsigned long cdev_revoke_vm_pagesize(struct vm_area_struct *vma)
{
	struct cdev_revoke_vm_shim *s = vma_shim(vma);
	unsigned long ret;

	if (!cdev_revoke_enter(s->rv))
		return PAGE_SIZE;
	ret = s->drv->pagesize(vma);
	cdev_revoke_leave(s->rv);
	return ret;
}

static vm_fault_t cdev_revoke_vm_page_mkwrite(struct vm_fault *vmf)
{
	struct cdev_revoke_vm_shim *s = vma_shim(vmf->vma);
	vm_fault_t ret;

	if (!cdev_revoke_enter(s->rv))
		return VM_FAULT_SIGBUS;
	ret = s->drv->page_mkwrite(vmf);
	cdev_revoke_leave(s->rv);
	return ret;
}

static vm_fault_t cdev_revoke_vm_pfn_mkwrite(struct vm_fault *vmf)
{
	struct cdev_revoke_vm_shim *s = vma_shim(vmf->vma);
	vm_fault_t ret;

	if (!cdev_revoke_enter(s->rv))
		return VM_FAULT_SIGBUS;
	ret = s->drv->pfn_mkwrite(vmf);
	cdev_revoke_leave(s->rv);
	return ret;
}

static int cdev_revoke_vm_access(struct vm_area_struct *vma, unsigned long addr,
				 void *buf, int len, int write)
{
	struct cdev_revoke_vm_shim *s = vma_shim(vma);
	int ret;

	if (!cdev_revoke_enter(s->rv))
		return s->rv->error;
	ret = s->drv->access(vma, addr, buf, len, write);
	cdev_revoke_leave(s->rv);
	return ret;
}

static const char *cdev_revoke_vm_name(struct vm_area_struct *vma)
{
	struct cdev_revoke_vm_shim *s = vma_shim(vma);
	const char *ret;

	if (!cdev_revoke_enter(s->rv))
		return NULL;
	ret = s->drv->name(vma);
	cdev_revoke_leave(s->rv);
	return ret;
}

#ifdef CONFIG_NUMA
static int cdev_revoke_vm_set_policy(struct vm_area_struct *vma,
				     struct mempolicy *new)
{
	struct cdev_revoke_vm_shim *s = vma_shim(vma);
	int ret;

	if (!cdev_revoke_enter(s->rv))
		return s->rv->error;
	ret = s->drv->set_policy(vma, new);
	cdev_revoke_leave(s->rv);
	return ret;
}
#endif

#ifdef CONFIG_NUMA
static struct mempolicy *cdev_revoke_vm_get_policy(struct vm_area_struct *vma,
						   unsigned long addr,
						   pgoff_t *ilx)
{
	struct cdev_revoke_vm_shim *s = vma_shim(vma);
	struct mempolicy *ret;

	if (!cdev_revoke_enter(s->rv))
		return NULL;
	ret = s->drv->get_policy(vma, addr, ilx);
	cdev_revoke_leave(s->rv);
	return ret;
}
#endif

static struct page *cdev_revoke_vm_find_special_page(struct vm_area_struct *vma,
						     unsigned long addr)
{
	struct cdev_revoke_vm_shim *s = vma_shim(vma);
	struct page *ret;

	if (!cdev_revoke_enter(s->rv))
		return NULL;
	ret = s->drv->find_special_page(vma, addr);
	cdev_revoke_leave(s->rv);
	return ret;
}

static void cdev_revoke_vm_open(struct vm_area_struct *vma)
{
	struct cdev_revoke_vm_shim *s = vma_shim(vma);

	if (!cdev_revoke_enter(s->rv))
		return;
	s->drv->open(vma);
	cdev_revoke_leave(s->rv);
}

static const struct vm_operations_struct *
cdev_revoke_vm_ops(struct cdev_revoke *rv, const struct vm_operations_struct *drv)
{
	const struct vm_operations_struct ops = {
		.open = drv->open ? cdev_revoke_vm_open : NULL,
		.may_split = drv->may_split ? cdev_revoke_vm_may_split : NULL,
		.mremap = drv->mremap ? cdev_revoke_vm_mremap : NULL,
		.mprotect = drv->mprotect ? cdev_revoke_vm_mprotect : NULL,
		.fault = drv->fault ? cdev_revoke_vm_fault : NULL,
		.huge_fault = drv->huge_fault ?
			      cdev_revoke_vm_huge_fault : NULL,
		.map_pages = drv->map_pages ? cdev_revoke_vm_map_pages : NULL,
		.pagesize = drv->pagesize ? cdev_revoke_vm_pagesize : NULL,
		.page_mkwrite = drv->page_mkwrite ?
				cdev_revoke_vm_page_mkwrite : NULL,
		.pfn_mkwrite = drv->pfn_mkwrite ?
			       cdev_revoke_vm_pfn_mkwrite : NULL,
		.access = drv->access ? cdev_revoke_vm_access : NULL,
		.name = drv->name ? cdev_revoke_vm_name : NULL,
#ifdef CONFIG_NUMA
		.set_policy = drv->set_policy ?
			      cdev_revoke_vm_set_policy : NULL,
		.get_policy = drv->get_policy ?
			      cdev_revoke_vm_get_policy : NULL,
#endif
		.find_special_page = drv->find_special_page ?
				     cdev_revoke_vm_find_special_page : NULL,
	};
	struct cdev_revoke_vm_shim *s, *new;

	spin_lock(&rv->lock);
	list_for_each_entry(s, &rv->vm_shims, node) {
		if (s->drv == drv) {
			spin_unlock(&rv->lock);
			return &s->ops;
		}
	}
	spin_unlock(&rv->lock);

	new = kzalloc(sizeof(*new), GFP_KERNEL);
	if (!new)
		return NULL;
	new->drv = drv;
	new->rv = rv;
	/* The table is written once, here, before anybody can see it. */
	memcpy((void *)&new->ops, &ops, sizeof(ops));

	spin_lock(&rv->lock);
	list_for_each_entry(s, &rv->vm_shims, node) {
		if (s->drv == drv) {
			spin_unlock(&rv->lock);
			kfree(new);
			return &s->ops;
		}
	}
	list_add(&new->node, &rv->vm_shims);
	spin_unlock(&rv->lock);
	return &new->ops;
}

/*
 * Record @mm, whose mmap_lock the caller holds for writing, once: then
 * drop the records of other mms that are no longer in mmap_region(), as
 * their mmap_lock is free, so their VMA is linked and revocation will find
 * it in the file's mapping.  A record of @mm itself cannot be told from
 * the one being made and is kept: so an mmap() and munmap() loop keeps
 * one record, not one per call.  Called with rv->lock held; trylocks
 * never sleep.  Return: true if @rec was used.
 */
static bool cdev_revoke_record_mm(struct cdev_revoke *rv, struct mm_struct *mm,
				  struct cdev_revoke_mm *rec,
				  struct list_head *done)
{
	struct cdev_revoke_mm *m, *n;
	bool found = false;

	list_for_each_entry_safe(m, n, &rv->mms, node) {
		if (m->mm == mm) {
			found = true;
		} else if (mmap_read_trylock(m->mm)) {
			mmap_read_unlock(m->mm);
			list_move(&m->node, done);
		}
	}
	if (found)
		return false;
	mmgrab(mm);
	rec->mm = mm;
	list_add(&rec->node, &rv->mms);
	return true;
}

static void cdev_revoke_drop_mms(struct list_head *list)
{
	struct cdev_revoke_mm *m, *n;

	list_for_each_entry_safe(m, n, list, node) {
		mmdrop(m->mm);
		kfree(m);
	}
}

/*
 * A VMA whose ->mmap filled it with remap_pfn_range() is linked into the
 * file's mapping only after ->mmap has returned, still under the mm's
 * mmap_lock held for writing.  A revocation that zaps the mapping in
 * between would miss it, so the shim records the mm, and revocation waits
 * for the mmap_lock of every recorded mm before it zaps.
 */
static int cdev_revoke_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct cdev_revoke *rv = file_rv(file);
	const struct vm_operations_struct *ops;
	struct cdev_revoke_mm *rec;
	LIST_HEAD(done);
	int ret;

	rec = kmalloc(sizeof(*rec), GFP_KERNEL);
	if (!rec)
		return -ENOMEM;
	if (!cdev_revoke_enter(rv)) {
		kfree(rec);
		return rv->error;
	}
	ret = rv->drv->mmap(file, vma);
	if (ret || vma->vm_file != file)
		goto out;

	if (vma->vm_ops && vma->vm_ops != &vma_dummy_vm_ops) {
		ret = -EINVAL;
		if (WARN_ONCE(vma->vm_ops->close,
			      "cdev_revoke: %d:%d: vm_ops->close is not supported\n",
			      MAJOR(rv->cdev->dev), MINOR(rv->cdev->dev)))
			goto out;
		ret = -ENOMEM;
		ops = cdev_revoke_vm_ops(rv, vma->vm_ops);
		if (!ops)
			goto out;
		vma->vm_ops = ops;
		ret = 0;
	}

	spin_lock(&rv->lock);
	if (cdev_revoke_record_mm(rv, vma->vm_mm, rec, &done))
		rec = NULL;
	spin_unlock(&rv->lock);
	cdev_revoke_drop_mms(&done);
out:
	cdev_revoke_leave(rv);
	kfree(rec);
	return cdev_revoke_result(rv, ret, RV_ERR);
}

static int cdev_revoke_open(struct inode *inode, struct file *file)
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

static void cdev_revoke_build_fops(struct cdev_revoke *rv)
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

int __cdev_revoke_init(struct cdev *cdev, const struct cdev_revoke_info *info,
		       unsigned int subclass, const char *name,
		       struct lock_class_key *key)
{
	static const struct cdev_revoke_info defaults;
	struct cdev_revoke *rv;

	if (cdev_revoke_misuse(cdev->revoke || cdev->count || !cdev->ops,
			       "opt in once, after cdev_init() and before cdev_add()",
			       cdev))
		return -EBUSY;

	rv = kzalloc(sizeof(*rv), GFP_KERNEL);
	if (!rv)
		return -ENOMEM;
	rv->users = alloc_percpu(unsigned long);
	if (!rv->users) {
		kfree(rv);
		return -ENOMEM;
	}

	rv->info = info ?: &defaults;
	rv->error = rv->info->error ?: -ENODEV;
	rv->poll_mask = rv->info->poll_mask ?: CDEV_REVOKE_DEFAULT_POLL_MASK;
	rv->drv = cdev->ops;
	rv->cdev = cdev;
	rv->subclass = min_t(unsigned int, subclass, MAX_LOCKDEP_SUBCLASSES - 1);
	init_waitqueue_head(&rv->wq);
	spin_lock_init(&rv->lock);
	INIT_LIST_HEAD(&rv->files);
	INIT_LIST_HEAD(&rv->detached);
	INIT_LIST_HEAD(&rv->vm_shims);
	INIT_LIST_HEAD(&rv->mms);
#ifdef CONFIG_DEBUG_LOCK_ALLOC
	lockdep_init_map(&rv->dep_map, name, key, 0);
#endif
	cdev_revoke_build_fops(rv);
	cdev->revoke = rv;
	return 0;
}
EXPORT_SYMBOL_GPL(__cdev_revoke_init);

/* Run the per-file kick hook on every open file, off the lock. */
static void cdev_revoke_kick_files(struct cdev_revoke *rv)
{
	void (*kick_file)(struct file *file) = rv->info->kick_file;
	struct cdev_revoke_file *cf;
	LIST_HEAD(kicked);

	if (!kick_file)
		return;

	spin_lock(&rv->lock);
	while ((cf = list_first_entry_or_null(&rv->files,
					      struct cdev_revoke_file, node))) {
		list_move_tail(&cf->node, &kicked);
		WRITE_ONCE(cf->kicking, true);
		spin_unlock(&rv->lock);

		kick_file(cf->file);

		spin_lock(&rv->lock);
		WRITE_ONCE(cf->kicking, false);
		wake_up_all(&rv->wq);
	}
	list_splice(&kicked, &rv->files);
	spin_unlock(&rv->lock);
}

/*
 * Remove every PTE that maps the device.  VMAs pin their file, so each is
 * in the mapping of a tracked file; wait first for mms that may still be
 * linking a VMA whose ->mmap has returned.
 */
static void cdev_revoke_zap(struct cdev_revoke *rv)
{
	struct cdev_revoke_file *cf;
	struct cdev_revoke_mm *m;
	LIST_HEAD(mms);

	spin_lock(&rv->lock);
	list_splice_init(&rv->mms, &mms);
	spin_unlock(&rv->lock);

	list_for_each_entry(m, &mms, node) {
		mmap_read_lock(m->mm);
		mmap_read_unlock(m->mm);
	}
	cdev_revoke_drop_mms(&mms);

	/* The fence is up: nothing adds to or removes from rv->files now. */
	list_for_each_entry(cf, &rv->files, node)
		unmap_mapping_range(cf->file->f_mapping, 0, 0, 1);
}

/* The driver lets go of @cf->file: it will never see it again. */
static void cdev_revoke_detach(struct cdev_revoke *rv,
			       struct cdev_revoke_file *cf)
{
	struct file *file = cf->file;

	/*
	 * Removing a fasync entry clears FASYNC, so __fput() will not turn
	 * fasync off again: drop the core's entry along with the driver's.
	 * Not only when FASYNC is set: a close or an F_SETFL that turned
	 * fasync off while the fence was up removed the core's entry (and
	 * the flag) but could not reach the driver.  Both removals are no-ops
	 * for a file without an entry.
	 */
	if (rv->drv->fasync) {
		rv->drv->fasync(-1, file, 0);
		fasync_helper(-1, file, 0, &rv->fasync);
	}
	cdev_revoke_unhook(cf);
	if (rv->drv->release)
		rv->drv->release(file_inode(file), file);
	wake_up_poll(&cf->wqh, rv->poll_mask);
}

static void cdev_revoke_detach_files(struct cdev_revoke *rv)
{
	struct cdev_revoke_file *cf;

	spin_lock(&rv->lock);
	while ((cf = list_first_entry_or_null(&rv->files,
					      struct cdev_revoke_file, node))) {
		list_move_tail(&cf->node, &rv->detached);
		spin_unlock(&rv->lock);

		cdev_revoke_detach(rv, cf);

		spin_lock(&rv->lock);
		/* A close waiting for us frees @cf as soon as it sees this. */
		WRITE_ONCE(cf->detached, true);
	}
	rv->all_detached = true;
	spin_unlock(&rv->lock);
	wake_up_all(&rv->wq);
}

static bool cdev_revoke_all_closed(struct cdev_revoke *rv)
{
	bool empty;

	spin_lock(&rv->lock);
	empty = list_empty(&rv->files);
	spin_unlock(&rv->lock);
	return empty;
}

/**
 * cdev_revoke - fence the driver off a character device
 * @cdev: a cdev that opted in with cdev_revoke_init()
 *
 * Refuses new opens and new file operations, calls the driver's kick
 * hooks so that sleeping operations return, and waits for every running
 * operation of @cdev to leave.  When it returns, no method of the driver's
 * file_operations or vm_operations is running for @cdev and none will be
 * called again: every mapping of the device has been zapped, SIGIO users
 * have been sent POLL_HUP, and every open file has been detached, its
 * ->release called (the driver's ->fasync first, to remove it from the
 * driver's list).  Pollers are woken with the device's poll mask.  The
 * driver may then free what its file operations use.
 *
 * With %CDEV_REVOKE_WAIT_CLOSE, open files keep working and
 * cdev_revoke() first waits for them to be closed, up to the device's
 * close timeout, before it detaches the ones left.
 *
 * Open files stay open and their operations fail with the device's
 * error, except close, unlock requests and turning fasync off, which
 * succeed; poll reports the device's poll mask.
 *
 * Call it from the remove path before cdev_del() or cdev_device_del(),
 * not from a file operation of @cdev (see
 * cdev_revoke_break_active_protection()).  Concurrent and later calls wait
 * for the first one to complete, then return.
 *
 * Context: Process context; sleeps.  Must not hold a lock that a file
 * operation of @cdev takes.
 */
void cdev_revoke(struct cdev *cdev)
{
	struct cdev_revoke *rv = cdev->revoke;
	unsigned long timeout;

	if (cdev_revoke_misuse(!rv, "revoked without cdev_revoke_init()", cdev))
		return;
	might_sleep();

	/*
	 * Not a mutex held across the fence: lockdep would tie every lock
	 * the revoker and the driver's hooks take to every device's fence.
	 */
	spin_lock(&rv->lock);
	if (rv->revoking) {
		spin_unlock(&rv->lock);
		/* Pairs with the release below: the revocation is complete. */
		wait_event(rv->wq, smp_load_acquire(&rv->revoked));
		return;
	}
	rv->revoking = true;
	WRITE_ONCE(rv->revoker, current);
	spin_unlock(&rv->lock);
	/*
	 * A concurrent caller returns as soon as it sees @rv->revoked, and
	 * may then drop the last reference to @cdev, which frees @rv: keep
	 * both until this caller is done with them.
	 */
	kobject_get(&cdev->kobj);
	cdev_revoke_inject(rv, CDEV_REVOKE_PT_START);

	if (rv->info->flags & CDEV_REVOKE_WAIT_CLOSE) {
		timeout = rv->info->close_timeout ?: CDEV_REVOKE_DEFAULT_TIMEOUT;
		WRITE_ONCE(rv->closing, true);
		wait_event_timeout(rv->wq, cdev_revoke_all_closed(rv), timeout);
	}

	/*
	 * Refuse new sections.  Expedited: a user is waiting for the unbind
	 * or the unplug to finish, and a normal grace period would make each
	 * revocation take milliseconds even with no file open.
	 */
	WRITE_ONCE(rv->dead, true);
	synchronize_rcu_expedited();
	cdev_revoke_inject(rv, CDEV_REVOKE_PT_REFUSED);

	/* Let sleepers in the driver return. */
	if (rv->info->kick)
		rv->info->kick(cdev);
	cdev_revoke_kick_files(rv);

	/* The fence. */
	rwsem_acquire(&rv->dep_map, rv->subclass, 0, _RET_IP_);
	if (cdev_revoke_users(rv))
		lock_contended(&rv->dep_map, _RET_IP_);
	wait_event(rv->wq, !cdev_revoke_users(rv));
	lock_acquired(&rv->dep_map, _RET_IP_);
	rwsem_release(&rv->dep_map, _RET_IP_);
	cdev_revoke_inject(rv, CDEV_REVOKE_PT_DRAINED);

	cdev_revoke_zap(rv);
	kill_fasync(&rv->fasync, SIGIO, POLL_HUP);
	cdev_revoke_detach_files(rv);
	/* Concurrent callers return once they see this; pairs with above. */
	smp_store_release(&rv->revoked, true);
	cdev_revoke_inject(rv, CDEV_REVOKE_PT_PUBLISHED);
	wake_up_all(&rv->wq);
	kobject_put(&cdev->kobj);
}
EXPORT_SYMBOL_GPL(cdev_revoke);

/**
 * cdev_revoke_pending - tell a long-running operation to give up
 * @file: a file of a revocable cdev, from inside one of its operations
 *
 * Operations that loop for long without sleeping on something the kick
 * hooks wake can poll this and return early.  Cheap: one load.
 *
 * Return: true once cdev_revoke() has started refusing operations.
 */
bool cdev_revoke_pending(const struct file *file)
{
	if (WARN_ON_ONCE(!cdev_revoke_is_shim(file)))
		return false;
	return READ_ONCE(file_rv(file)->dead);
}
EXPORT_SYMBOL_GPL(cdev_revoke_pending);

/**
 * cdev_revoke_break_active_protection - let an operation revoke its device
 * @file: the file whose operation is running
 *
 * cdev_revoke() waits for running operations, so an operation calling it
 * for its own device would wait for itself (and lockdep says so).  Such an
 * operation calls this first; it then no longer counts as running, and
 * must not rely on anything cdev_revoke() lets the driver free until
 * cdev_revoke_unbreak_active_protection() says it may.  Meanwhile the
 * device may be revoked, by this operation or by anybody else, and @file
 * detached like the other files of the device, so its ->release may run
 * before this operation returns.  Only the innermost level of nested
 * operations is dropped: an ->unlocked_ioctl reached through
 * compat_ptr_ioctl() cannot revoke its own device.  Pair with
 * cdev_revoke_unbreak_active_protection() before returning.
 *
 * An ->open may break too (@file is then not tracked yet): if the device
 * is revoked before the ->open returns, the open fails with -ENXIO and
 * ->release is not called for @file, so the ->open must undo what it set
 * up itself.
 */
void cdev_revoke_break_active_protection(struct file *file)
{
	struct cdev_revoke *rv = file_rv(file);

	if (WARN_ON_ONCE(!cdev_revoke_is_shim(file)))
		return;
	cdev_revoke_leave(rv);
}
EXPORT_SYMBOL_GPL(cdev_revoke_break_active_protection);

/**
 * cdev_revoke_unbreak_active_protection - undo the break before returning
 * @file: the file passed to cdev_revoke_break_active_protection()
 *
 * Restores the reference the shim drops when the operation returns, and
 * tells whether the operation is protected again.  If the device was
 * revoked since the break, it is not: the driver may have freed its data,
 * and the operation must return without touching it; the error it returns
 * is replaced by the device's, as for any operation that revocation
 * interrupted.  That is expected if the operation revoked the device
 * itself; a revocation by another task while the protection was broken is
 * reported once, as the driver has to be written for it.
 *
 * Return: true if the operation may go on using the driver's data; false
 * if the device has been revoked.
 */
bool cdev_revoke_unbreak_active_protection(struct file *file)
{
	struct cdev_revoke *rv = file_rv(file);
	bool live;

	if (WARN_ON_ONCE(!cdev_revoke_is_shim(file)))
		return false;
	/*
	 * Counted whatever happened meanwhile, to balance the shim's leave;
	 * otherwise as cdev_revoke_enter(): either a revocation that starts
	 * now waits for this section, or the section sees the device dead.
	 */
	preempt_disable();
	this_cpu_inc(*rv->users);
	live = !READ_ONCE(rv->dead);
	preempt_enable();
	rwsem_acquire_read(&rv->dep_map, rv->subclass, 1, _RET_IP_);
	if (likely(live))
		return true;
	cdev_revoke_misuse(READ_ONCE(rv->revoker) != current,
			   "revoked by another task while its protection was broken",
			   rv->cdev);
	return false;
}
EXPORT_SYMBOL_GPL(cdev_revoke_unbreak_active_protection);

/**
 * cdev_revoke_real_fops - the driver's file operations of a file
 * @file: any file
 *
 * Return: the driver's table for a file of a revocable cdev, @file->f_op
 * otherwise.
 */
const struct file_operations *cdev_revoke_real_fops(const struct file *file)
{
	return cdev_revoke_is_shim(file) ? file_rv(file)->drv : file->f_op;
}
EXPORT_SYMBOL_GPL(cdev_revoke_real_fops);

/* The shim table chrdev_open() installs for a revocable @cdev. */
const struct file_operations *cdev_revoke_fops(struct cdev *cdev)
{
	return &cdev->revoke->fops;
}

/*
 * True if @cdev refuses opens for good: chrdev_open() then forgets an
 * inode's cached i_cdev, so that a device registered again at the same
 * dev_t is found.
 */
bool cdev_revoke_stale(struct cdev *cdev)
{
	struct cdev_revoke *rv = cdev->revoke;

	return rv && (READ_ONCE(rv->dead) || READ_ONCE(rv->closing));
}

/*
 * The cdev a file of a revocable device pins, which is no longer
 * necessarily its inode's i_cdev; NULL for other files.
 */
struct cdev *cdev_revoke_file_cdev(const struct file *file)
{
	return cdev_revoke_is_shim(file) ? file_rv(file)->cdev : NULL;
}

/* Called when @cdev is released: every file opened through it is gone. */
void cdev_revoke_free(struct cdev *cdev)
{
	struct cdev_revoke *rv = cdev->revoke;
	struct cdev_revoke_vm_shim *s, *n;

	if (!rv)
		return;
	cdev->revoke = NULL;
	WARN_ON(!list_empty(&rv->files) || !list_empty(&rv->detached) ||
		rv->fasync);
	free_percpu(rv->users);
	cdev_revoke_drop_mms(&rv->mms);
	list_for_each_entry_safe(s, n, &rv->vm_shims, node)
		kfree(s);
	kfree(rv);
}

static int __init cdev_revoke_files_init(void)
{
	/* Before any driver can opt in; a boot without it cannot go on. */
	if (rhashtable_init(&cdev_revoke_files, &cdev_revoke_files_params))
		panic("cdev_revoke: cannot allocate the table of open files\n");
	return 0;
}
fs_initcall(cdev_revoke_files_init);

#ifdef CONFIG_CDEV_REVOKE_KUNIT_TEST
#include "cdev_revoke_kunit.c"
#endif
