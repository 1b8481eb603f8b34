/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cdev_revoke internals shared by the files of fs/cdev_revoke/: the
 * tracking structures, the active-users section and the result rules of
 * the shims.  Nothing here is for drivers: include/linux/cdev_revoke.h is
 * the whole contract.
 */
#ifndef _FS_CDEV_REVOKE_INTERNAL_H
#define _FS_CDEV_REVOKE_INTERNAL_H

#include <linux/cdev.h>
#include <linux/cdev_revoke.h>
#include <linux/fs.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/lockdep.h>
#include <linux/mm.h>
#include <linux/percpu.h>
#include <linux/poll.h>
#include <linux/spinlock.h>
#include <linux/wait.h>

#define CDEV_REVOKE_DEFAULT_POLL_MASK	(EPOLLIN | EPOLLOUT | EPOLLERR | \
					 EPOLLHUP | EPOLLRDNORM | EPOLLWRNORM)
#define CDEV_REVOKE_DEFAULT_TIMEOUT	(10 * HZ)

/**
 * struct cdev_revoke_fops - a shim table
 * @fops: what the files point to; @fops.open is cdev_revoke_open() in
 *	every shim table, which is how a shim file is recognised
 * @drv: the driver's table whose methods the shims call
 * @rv: the device whose fence the shims enter
 * @node: entry in &cdev_revoke.children, for child tables
 *
 * Each device has one table for the files opened through its device node
 * (&cdev_revoke.main), and one per driver table of the files created by
 * cdev_revoke_anon_getfile().  They are written once, before any file can
 * see them, and freed with the device.
 */
struct cdev_revoke_fops {
	const struct file_operations fops;
	const struct file_operations *drv;
	struct cdev_revoke *rv;
	struct list_head node;
};

/**
 * struct cdev_revoke - revocation state of one device
 * @main: shim table of the files opened through the device node
 * @ref: one for the owner (the cdev, or the registrar until it
 *	deregisters the device), one for each tracked file
 * @cdev: the cdev this belongs to, or %NULL for a device a registrar
 *	opens through a shared cdev (and once the cdev is released)
 * @devt: the device number, for messages
 * @kick: the registrar's device-wide kick, called with @kick_arg
 * @kick_arg: the registrar's device (the miscdevice, say)
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
 * @children: shim tables of child files, one per driver table
 * @vm_shims: vm_operations shims, one per driver vm_operations table
 * @mms: mms which may be linking a VMA of the device (see cdev_revoke_mmap())
 * @fasync: the core's own SIGIO list, for POLL_HUP at revocation
 * @dep_map: lockdep map of the fence
 */
struct cdev_revoke {
	struct cdev_revoke_fops main;
	struct kref ref;
	struct cdev *cdev;
	dev_t devt;
	void (*kick)(void *arg);
	void *kick_arg;
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
	struct list_head children;
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
	bool kicking;
	bool detached;
	spinlock_t lock;		/* serialises additions to @pollers */
	struct list_head pollers;
	wait_queue_head_t wqh;
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
extern void (*cdev_revoke_test_hook)(struct cdev_revoke *rv,
				     enum cdev_revoke_point point);
extern atomic_t cdev_revoke_test_nomem;

static inline void cdev_revoke_inject(struct cdev_revoke *rv,
				      enum cdev_revoke_point point)
{
	typeof(cdev_revoke_test_hook) hook = READ_ONCE(cdev_revoke_test_hook);

	if (hook)
		hook(rv, point);
}

/* Whether the next forwarding-entry allocation fails. */
static inline bool cdev_revoke_inject_nomem(void)
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

static inline bool cdev_revoke_is_shim(const struct file *file)
{
	return file->f_op && file->f_op->open == cdev_revoke_open;
}

static inline const struct cdev_revoke_fops *file_table(const struct file *file)
{
	return container_of(file->f_op, struct cdev_revoke_fops, fops);
}

/*
 * The tracking record of an open file is kept in the file itself
 * (@f_revoke), so that open, close and poll find it with one load instead
 * of a lookup.  It shares its storage with @f_pos_lock, which a character
 * device file never uses: only regular files and directories get
 * FMODE_ATOMIC_POS (see do_dentry_open()), the one user of the lock, and
 * neither the node of a device nor an anonymous inode is one; pipes keep
 * their counter in the same union the same way.  cdev_revoke_open()
 * refuses a file that has FMODE_ATOMIC_POS all the same.  Set once the
 * file is tracked, before any operation can run on it; valid until its
 * release.
 */
static inline struct cdev_revoke_file *file_record(const struct file *file)
{
	return file->f_revoke;
}

/* The device of a shim file. */
static inline struct cdev_revoke *file_rv(const struct file *file)
{
	return file_table(file)->rv;
}

/* The driver's file operations of a shim file. */
static inline const struct file_operations *file_drv(const struct file *file)
{
	return file_table(file)->drv;
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
 * Sections are only entered in process context (every shim is a file or
 * VMA operation), so the counters need no protection against interrupts:
 * the __this_cpu forms, one instruction on x86 like the IRQ-safe ones, and
 * no interrupt save and restore around each update where an architecture
 * has no per-CPU read-modify-write instruction (the generic fallback).
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
		__this_cpu_inc(*rv->users);
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
	__this_cpu_dec(*rv->users);
	dead = READ_ONCE(rv->dead);
	preempt_enable();
	if (unlikely(dead))
		wake_up(&rv->wq);
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

/* fence.c */
bool __cdev_revoke_misuse(const char *what, dev_t devt);
bool cdev_revoke_ownerless(const struct file_operations *fops, dev_t devt);
long cdev_revoke_users(struct cdev_revoke *rv);

/* A reference to @rv, which holds one already. */
static inline void cdev_revoke_get(struct cdev_revoke *rv)
{
	kref_get(&rv->ref);
}

/* The device number of @rv, for messages. */
static inline dev_t cdev_revoke_devt(const struct cdev_revoke *rv)
{
	struct cdev *cdev = READ_ONCE(rv->cdev);

	return cdev ? cdev->dev : rv->devt;
}

/*
 * Report a misuse by a driver if @cond; true if so.  A macro, so that the
 * checks made on every open cost a test rather than a call, and @devt is
 * only computed for the report.
 */
#define cdev_revoke_misuse(cond, what, devt)				\
	(unlikely(cond) ? __cdev_revoke_misuse(what, devt) : false)

/* file.c */
void cdev_revoke_build_fops(struct cdev_revoke_fops *t,
			    const struct file_operations *drv,
			    struct cdev_revoke *rv);
void cdev_revoke_free_children(struct cdev_revoke *rv);

/* poll.c */
__poll_t cdev_revoke_poll(struct file *file, poll_table *pt);
void cdev_revoke_unhook(struct cdev_revoke_file *cf);

/* mmap.c */
int cdev_revoke_mmap(struct file *file, struct vm_area_struct *vma);
void cdev_revoke_zap(struct cdev_revoke *rv);
void cdev_revoke_drop_mms(struct list_head *list);

#endif /* _FS_CDEV_REVOKE_INTERNAL_H */
