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
 * cdev_revoke_file per open file) belong to the core.  The state of a
 * device is reference counted by its owner (the cdev, or the registrar of
 * a device opened through a shared cdev) and by each open file, so
 * nothing the shims touch is freed by the driver.
 *
 * This file holds the section's accounting and the revocation; file.c the
 * file operation shims and the tracking of open files, child files
 * included; poll.c the forwarding of wake-ups; mmap.c the vm_operations
 * shims and the zap of mappings.
 *
 * See Documentation/driver-api/cdev_revoke.rst.
 */

#include <linux/export.h>
#include <linux/kobject.h>
#include <linux/module.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/slab.h>

#include "internal.h"

#ifdef CONFIG_CDEV_REVOKE_KUNIT_TEST
void (*cdev_revoke_test_hook)(struct cdev_revoke *rv,
			      enum cdev_revoke_point point);
/* The number of forwarding-entry allocations still to fail. */
atomic_t cdev_revoke_test_nomem = ATOMIC_INIT(0);
#endif

/*
 * Misuse by a driver is reported once, without a WARN: it is refused and
 * harmless, and the KUnit suite exercises it on purpose.
 */
bool __cdev_revoke_misuse(const char *what, dev_t devt)
{
	static bool warned;

	if (!xchg(&warned, true)) {
		pr_warn("cdev_revoke: %d:%d: %s\n", MAJOR(devt), MINOR(devt),
			what);
		dump_stack();
	}
	return true;
}

/*
 * A table in a module must name the module in ->owner.  It is the only
 * reference an open file holds on the module (misc and usbcore swap the
 * table in; a child file has nothing else), and the core reads the table,
 * the module's cdev_revoke_info and its lockdep key until the file's last
 * close, which may come long after revocation and the module's unload.
 */
bool cdev_revoke_ownerless(const struct file_operations *fops, dev_t devt)
{
	return cdev_revoke_misuse(!fops->owner &&
				  is_module_address((unsigned long)fops),
				  "a file_operations table in a module needs .owner",
				  devt);
}

/* The number of running sections; exact once new ones are refused. */
long cdev_revoke_users(struct cdev_revoke *rv)
{
	long sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += (long)READ_ONCE(*per_cpu_ptr(rv->users, cpu));
	return sum;
}

static const struct cdev_revoke_info cdev_revoke_defaults;

static struct cdev_revoke *cdev_revoke_new(const struct file_operations *fops,
					   const struct cdev_revoke_info *info,
					   unsigned int subclass,
					   const char *name,
					   struct lock_class_key *key)
{
	struct cdev_revoke *rv;

	rv = kzalloc(sizeof(*rv), GFP_KERNEL);
	if (!rv)
		return NULL;
	rv->users = alloc_percpu(unsigned long);
	if (!rv->users) {
		kfree(rv);
		return NULL;
	}

	kref_init(&rv->ref);
	rv->info = info ?: &cdev_revoke_defaults;
	rv->error = rv->info->error ?: -ENODEV;
	rv->poll_mask = rv->info->poll_mask ?: CDEV_REVOKE_DEFAULT_POLL_MASK;
	rv->subclass = min_t(unsigned int, subclass, MAX_LOCKDEP_SUBCLASSES - 1);
	init_waitqueue_head(&rv->wq);
	spin_lock_init(&rv->lock);
	INIT_LIST_HEAD(&rv->files);
	INIT_LIST_HEAD(&rv->detached);
	INIT_LIST_HEAD(&rv->children);
	INIT_LIST_HEAD(&rv->vm_shims);
	INIT_LIST_HEAD(&rv->mms);
#ifdef CONFIG_DEBUG_LOCK_ALLOC
	lockdep_init_map(&rv->dep_map, name, key, 0);
#endif
	cdev_revoke_build_fops(&rv->main, fops, rv);
	return rv;
}

int __cdev_revoke_init(struct cdev *cdev, const struct cdev_revoke_info *info,
		       unsigned int subclass, const char *name,
		       struct lock_class_key *key)
{
	struct cdev_revoke *rv;

	if (cdev_revoke_misuse(cdev->revoke || cdev->count || !cdev->ops,
			       "opt in once, after cdev_init() and before cdev_add()",
			       cdev->dev))
		return -EBUSY;
	/* A cdev's files pin cdev->owner too. */
	if (!cdev->owner && cdev_revoke_ownerless(cdev->ops, cdev->dev))
		return -EINVAL;

	rv = cdev_revoke_new(cdev->ops, info, subclass, name, key);
	if (!rv)
		return -ENOMEM;
	rv->cdev = cdev;
	cdev->revoke = rv;
	return 0;
}
EXPORT_SYMBOL_GPL(__cdev_revoke_init);

/**
 * cdev_revoke_alloc - revocation state for a device a registrar opens
 * @fops: the driver's file operations of the device
 * @info: the driver's options, required; its @key is the lockdep class of
 *	the fence
 * @devt: the device number, for messages
 * @kick: the registrar's device-wide kick hook, or %NULL
 * @arg: what @kick gets: the registrar's device
 * @name: lockdep name of the fence, a string that lives forever
 *
 * For registrars (misc, usbcore) that open many devices through one cdev
 * and give each file the device's own file_operations: they open the
 * files of an opted-in device with cdev_revoke_open_file() instead, and
 * revoke it with __cdev_revoke() when it is deregistered.  Everything
 * else is as for cdev_revoke_init().
 *
 * Context: Process context.
 * Return: the state, which holds the caller's reference, or an ERR_PTR():
 * -ENOMEM, or -EINVAL if @fops is in a module and has no ->owner.
 */
struct cdev_revoke *cdev_revoke_alloc(const struct file_operations *fops,
				      const struct cdev_revoke_info *info,
				      dev_t devt, void (*kick)(void *arg),
				      void *arg, const char *name)
{
	struct cdev_revoke *rv;

	if (cdev_revoke_ownerless(fops, devt))
		return ERR_PTR(-EINVAL);
	rv = cdev_revoke_new(fops, info, 0, name,
			     (struct lock_class_key *)&info->key);
	if (!rv)
		return ERR_PTR(-ENOMEM);
	rv->devt = devt;
	rv->kick = kick;
	rv->kick_arg = arg;
	return rv;
}
EXPORT_SYMBOL_GPL(cdev_revoke_alloc);

static void cdev_revoke_release_rv(struct kref *ref)
{
	struct cdev_revoke *rv = container_of(ref, struct cdev_revoke, ref);
	struct cdev_revoke_vm_shim *s, *n;

	WARN_ON(!list_empty(&rv->files) || !list_empty(&rv->detached) ||
		rv->fasync);
	free_percpu(rv->users);
	cdev_revoke_drop_mms(&rv->mms);
	list_for_each_entry_safe(s, n, &rv->vm_shims, node)
		kfree(s);
	cdev_revoke_free_children(rv);
	kfree(rv);
}

/**
 * cdev_revoke_put - drop a reference to revocation state
 * @rv: from cdev_revoke_alloc()
 *
 * The registrar drops its reference once it has revoked the device; the
 * state lives on until the last file of the device is released.
 */
void cdev_revoke_put(struct cdev_revoke *rv)
{
	if (rv)
		kref_put(&rv->ref, cdev_revoke_release_rv);
}
EXPORT_SYMBOL_GPL(cdev_revoke_put);

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
	const struct file_operations *drv = file_drv(file);

	if (drv->fasync) {
		drv->fasync(-1, file, 0);
		fasync_helper(-1, file, 0, &rv->fasync);
	}
	cdev_revoke_unhook(cf);
	if (drv->release)
		drv->release(file_inode(file), file);
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
 * cdev_revoke_break_active_protection()).  cdev_del() and
 * cdev_device_del() call it if the driver has not, so a driver whose
 * remove path deletes the cdev before it frees anything the file
 * operations use need not call it at all.  Concurrent and later calls
 * wait for the first one to complete, then return.
 *
 * Context: Process context; sleeps.  Must not hold a lock that a file
 * operation of @cdev takes.
 */
void cdev_revoke(struct cdev *cdev)
{
	if (cdev_revoke_misuse(!cdev->revoke,
			       "revoked without cdev_revoke_init()", cdev->dev))
		return;
	__cdev_revoke(cdev->revoke);
}
EXPORT_SYMBOL_GPL(cdev_revoke);

/*
 * cdev_del() and cdev_device_del() of a revocable cdev: revoke it unless
 * the driver did already, which costs nothing then (no might_sleep():
 * some drivers delete their cdev from a release callback once revoked).
 */
void cdev_revoke_del(struct cdev *cdev)
{
	struct cdev_revoke *rv = cdev->revoke;

	/* Pairs with the release in __cdev_revoke(). */
	if (!smp_load_acquire(&rv->revoked))
		__cdev_revoke(rv);
}

/**
 * __cdev_revoke - fence the driver off a device, given its state
 * @rv: from cdev_revoke_alloc(), or a cdev's
 *
 * What cdev_revoke() does, for registrars.
 *
 * Context: as for cdev_revoke().
 */
void __cdev_revoke(struct cdev_revoke *rv)
{
	unsigned long timeout;

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
	 * may then drop the owner's reference: keep @rv until this caller is
	 * done with it.
	 */
	cdev_revoke_get(rv);
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
	if (rv->cdev && rv->info->kick)
		rv->info->kick(rv->cdev);
	else if (rv->kick)
		rv->kick(rv->kick_arg);
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
	cdev_revoke_put(rv);
}
EXPORT_SYMBOL_GPL(__cdev_revoke);

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
	__this_cpu_inc(*rv->users);
	live = !READ_ONCE(rv->dead);
	preempt_enable();
	rwsem_acquire_read(&rv->dep_map, rv->subclass, 1, _RET_IP_);
	if (likely(live))
		return true;
	if (READ_ONCE(rv->revoker) != current)
		__cdev_revoke_misuse("revoked by another task while its protection was broken",
				     cdev_revoke_devt(rv));
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
	return cdev_revoke_is_shim(file) ? file_drv(file) : file->f_op;
}
EXPORT_SYMBOL_GPL(cdev_revoke_real_fops);

/* The shim table chrdev_open() installs for a revocable @cdev. */
const struct file_operations *cdev_revoke_fops(struct cdev *cdev)
{
	return &cdev->revoke->main.fops;
}

/*
 * True if @cdev refuses opens for good: chrdev_open() then forgets an
 * inode's cached i_cdev, so that a device registered again at the same
 * dev_t is found.
 */
bool __cdev_revoke_stale(struct cdev *cdev)
{
	struct cdev_revoke *rv = cdev->revoke;

	return READ_ONCE(rv->dead) || READ_ONCE(rv->closing);
}

/* The cdev a file running the main shim table pins, for chrdev_shim_file_put(). */
struct cdev *__cdev_revoke_file_cdev(const struct file *file)
{
	return file_rv(file)->cdev;
}

/*
 * Called when @cdev is released: every file opened through it is gone,
 * but files it created (cdev_revoke_anon_getfile()) may live on.
 */
void cdev_revoke_free(struct cdev *cdev)
{
	struct cdev_revoke *rv = cdev->revoke;

	if (!rv)
		return;
	cdev->revoke = NULL;
	rv->devt = cdev->dev;
	WRITE_ONCE(rv->cdev, NULL);
	cdev_revoke_put(rv);
}

