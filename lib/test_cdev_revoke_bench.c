// SPDX-License-Identifier: GPL-2.0
/*
 * Benchmark devices for cdev_revoke (make bench).
 *
 * Identical trivial character devices (a read of one byte, a no-op ioctl,
 * poll) protected against removal in the ways drivers do it today, so that
 * a userspace program can compare the cost per file operation:
 *
 *   raw		no protection: the physical limit
 *   cdev_revoke	the driver opts in; the core's shims do the rest
 *   mutex		mutex + alive flag, checked by every method (switchtec)
 *   rwsem		device reference + rwsem + ops pointer (TPM ops_sem)
 *   refcount		active-users refcount + completion around a call
 *			through the real methods (debugfs file proxy)
 *   srcu		srcu_read_lock() + unplugged flag (DRM drm_dev_enter())
 *   percpu_ref		percpu_ref_tryget_live()/percpu_ref_put() called by
 *			the driver's methods themselves (blk-mq's queue usage
 *			counter): a per-CPU fence without a shim's extra call
 *   indirect		no protection, the methods called through a pointer:
 *			the extra indirect call of a shim, without a fence
 *
 * Each mechanism has two devices, one whose files have FMODE_NOWAIT (io_uring
 * issues reads inline) and one without it.  Minor 2 * mechanism + nowait.
 *
 * For the cost of revocation, a pool of revocable devices (minors from
 * BENCH_POOL_FIRST on) is created and revoked on request through debugfs
 * (cdev_revoke_bench/ctl).  A read at offset BENCH_BLOCK_POS of a pool
 * device sleeps until the device is revoked: userspace parks readers there.
 * The kick hook and ->release stamp the time, which splits a revocation into
 * the phases the core lets a driver see: refusing new operations (marking
 * the device dead and its RCU grace period), the kick (wake-ups),
 * draining the running operations, and the releases of the open files.
 *
 * Commands written to ctl (the answer is read back from ctl):
 *   info			major, first pool minor, mechanisms
 *   pool N raw|cdev_revoke	create N pool devices
 *   revoke I			revoke pool device I, report the phases
 *   massrevoke			revoke every pool device, one after another
 *   massrevoke_conc		revoke every pool device from a workqueue
 *   poolfree			delete the pool (its files must be closed)
 *
 * With KUnit, the module also carries the native benchmark: the suite at
 * the end of this file, which make bench runs on UML.
 */

#include <kunit/test.h>
#include <linux/cdev.h>
#include <linux/cdev_revoke.h>
#include <linux/completion.h>
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/kref.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/mount.h>
#include <linux/mutex.h>
#include <linux/namei.h>
#include <linux/percpu-refcount.h>
#include <linux/poll.h>
#include <linux/refcount.h>
#include <linux/rwsem.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/srcu.h>
#include <linux/uaccess.h>
#include <linux/uio.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <uapi/linux/ioctl.h>

#define BENCH_NAME		"cdev_revoke_bench"
#define BENCH_POOL_FIRST	16
#define BENCH_POOL_MAX		10000
#define BENCH_MINORS		(BENCH_POOL_FIRST + BENCH_POOL_MAX)
#define BENCH_BLOCK_POS		1

/* Userspace interface, mirrored in cdev_revoke_bench.c. */
#define BENCH_IOC_NOP		_IO('B', 0)

enum bench_mech {
	BENCH_RAW,
	BENCH_REVOKE,
	BENCH_MUTEX,
	BENCH_RWSEM,
	BENCH_REFCOUNT,
	BENCH_SRCU,
	BENCH_PCPU,
	BENCH_INDIRECT,
	BENCH_NR_MECH,
};

static const char * const bench_mech_names[BENCH_NR_MECH] = {
	[BENCH_RAW] = "raw",
	[BENCH_REVOKE] = "cdev_revoke",
	[BENCH_MUTEX] = "mutex",
	[BENCH_RWSEM] = "rwsem",
	[BENCH_REFCOUNT] = "refcount",
	[BENCH_SRCU] = "srcu",
	[BENCH_PCPU] = "percpu_ref",
	[BENCH_INDIRECT] = "indirect",
};

/* Two fixed devices per mechanism, below the pool. */
static_assert(2 * BENCH_NR_MECH <= BENCH_POOL_FIRST);

struct bench_dev;

/* What the device does: called through a pointer by rwsem and refcount. */
struct bench_hw_ops {
	ssize_t (*read)(struct bench_dev *d, char __user *buf, size_t len,
			loff_t pos);
	ssize_t (*read_iter)(struct bench_dev *d, struct iov_iter *to,
			     loff_t pos);
	long (*ioctl)(struct bench_dev *d, unsigned int cmd);
	__poll_t (*poll)(struct bench_dev *d, struct file *file,
			 poll_table *pt);
};

/**
 * struct bench_dev - one benchmark device
 * @cdev: its cdev (cdev_alloc(): it may outlive this structure)
 * @devt: device number
 * @mech: protection mechanism
 * @nowait: its files get FMODE_NOWAIT
 * @pool: a pool device (reads at BENCH_BLOCK_POS sleep until revoked)
 * @open_files: files open and not yet released
 * @wq: sleepers of the device
 * @dead: set by the kick hook
 * @lock: mutex mechanism: serialises the methods
 * @alive: mutex mechanism: cleared at removal
 * @kref: rwsem mechanism: the device reference each method takes
 * @ops_sem: rwsem mechanism: protects @ops
 * @ops: rwsem mechanism: the device's methods, NULL once removed
 * @active_users: refcount mechanism: 1 + running methods, 0 once removed
 * @active_users_drained: refcount mechanism: the last method has left
 * @real: refcount and indirect mechanisms: the methods called through a pointer
 * @unplugged: srcu mechanism: set at removal
 * @pref: percpu_ref mechanism: active users
 * @pref_done: percpu_ref mechanism: the last user has left a killed @pref
 * @revoking: pool: a timed revocation is running
 * @revoked: pool: cdev_revoke() has returned
 * @t_kick: pool: when the kick hook was entered (ns)
 * @t_kicked: pool: when it returned (ns)
 * @t_rel_first: pool: first ->release during the revocation (ns)
 * @t_rel_last: pool: last ->release during the revocation (ns)
 * @releases: pool: number of ->release calls during the revocation
 * @work: pool: concurrent mass revocation
 * @node: pool: entry in bench_retired
 */
struct bench_dev {
	struct cdev *cdev;
	dev_t devt;
	enum bench_mech mech;
	bool nowait;
	bool pool;
	atomic_t open_files;
	wait_queue_head_t wq;
	bool dead;
	struct mutex lock;		/* mutex mechanism */
	bool alive;
	struct kref kref;
	struct rw_semaphore ops_sem;
	const struct bench_hw_ops *ops;
	refcount_t active_users;
	struct completion active_users_drained;
	const struct bench_hw_ops *real;
	bool unplugged;
	struct percpu_ref pref;
	struct completion pref_done;
	bool revoking;
	bool revoked;
	u64 t_kick, t_kicked, t_rel_first, t_rel_last;
	unsigned int releases;
	struct work_struct work;
	struct list_head node;
};

static dev_t bench_base;
static DEFINE_MUTEX(bench_lock);	/* the pool, bench_result */
static struct bench_dev *bench_devs[BENCH_MINORS];
static unsigned int bench_pool_size;
/* Pool devices are freed at module exit: opens may look them up until then. */
static LIST_HEAD(bench_retired);
static atomic_t bench_sleepers;
static char bench_result[512];
static struct dentry *bench_debugfs;
static struct workqueue_struct *bench_wq;
DEFINE_STATIC_SRCU(bench_srcu);

/* The device itself: the same for every mechanism. */

static ssize_t bench_block(struct bench_dev *d)
{
	int ret;

	if (!d->pool)
		return -EINVAL;
	atomic_inc(&bench_sleepers);
	ret = wait_event_interruptible(d->wq, READ_ONCE(d->dead));
	atomic_dec(&bench_sleepers);
	return ret ?: -ENODEV;
}

static ssize_t bench_hw_read(struct bench_dev *d, char __user *buf, size_t len,
			     loff_t pos)
{
	if (unlikely(pos == BENCH_BLOCK_POS))
		return bench_block(d);
	if (!len)
		return 0;
	if (put_user('x', buf))
		return -EFAULT;
	return 1;
}

static ssize_t bench_hw_read_iter(struct bench_dev *d, struct iov_iter *to,
				  loff_t pos)
{
	static const char byte = 'x';

	if (unlikely(pos == BENCH_BLOCK_POS))
		return bench_block(d);
	if (!iov_iter_count(to))
		return 0;
	if (copy_to_iter(&byte, 1, to) != 1)
		return -EFAULT;
	return 1;
}

static long bench_hw_ioctl(struct bench_dev *d, unsigned int cmd)
{
	return cmd == BENCH_IOC_NOP ? 0 : -ENOTTY;
}

static __poll_t bench_hw_poll(struct bench_dev *d, struct file *file,
			      poll_table *pt)
{
	poll_wait(file, &d->wq, pt);
	return EPOLLIN | EPOLLRDNORM;
}

static const struct bench_hw_ops bench_hw = {
	.read = bench_hw_read,
	.read_iter = bench_hw_read_iter,
	.ioctl = bench_hw_ioctl,
	.poll = bench_hw_poll,
};

/* Methods common to all mechanisms. */

static int bench_open(struct inode *inode, struct file *file)
{
	unsigned int minor = iminor(inode) - MINOR(bench_base);
	struct bench_dev *d;

	if (minor >= BENCH_MINORS)
		return -ENXIO;
	d = READ_ONCE(bench_devs[minor]);
	if (!d || d->cdev != inode->i_cdev)
		return -ENXIO;
	file->private_data = d;
	if (d->nowait)
		file->f_mode |= FMODE_NOWAIT;
	atomic_inc(&d->open_files);
	return 0;
}

static int bench_release(struct inode *inode, struct file *file)
{
	struct bench_dev *d = file->private_data;
	u64 now;

	atomic_dec(&d->open_files);
	if (d->revoking) {
		/* Revocation releases the files one after another. */
		now = ktime_get_ns();
		if (!d->releases++)
			d->t_rel_first = now;
		d->t_rel_last = now;
	}
	return 0;
}

/* raw, and cdev_revoke: the driver does nothing, the core's shims do. */

static ssize_t bench_raw_read(struct file *file, char __user *buf, size_t len,
			      loff_t *ppos)
{
	return bench_hw_read(file->private_data, buf, len, *ppos);
}

static ssize_t bench_raw_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	return bench_hw_read_iter(iocb->ki_filp->private_data, to,
				  iocb->ki_pos);
}

static long bench_raw_ioctl(struct file *file, unsigned int cmd,
			    unsigned long arg)
{
	return bench_hw_ioctl(file->private_data, cmd);
}

static __poll_t bench_raw_poll(struct file *file, poll_table *pt)
{
	return bench_hw_poll(file->private_data, file, pt);
}

static const struct file_operations bench_raw_fops = {
	.owner = THIS_MODULE,
	.open = bench_open,
	.release = bench_release,
	.read = bench_raw_read,
	.read_iter = bench_raw_read_iter,
	.unlocked_ioctl = bench_raw_ioctl,
	.poll = bench_raw_poll,
	.llseek = noop_llseek,
};

/* mutex: every method takes the device mutex and tests the alive flag. */

static int bench_mutex_enter(struct bench_dev *d, int *unused)
{
	if (mutex_lock_interruptible(&d->lock))
		return -EINTR;
	if (!d->alive) {
		mutex_unlock(&d->lock);
		return -ENODEV;
	}
	return 0;
}

static void bench_mutex_leave(struct bench_dev *d, int unused)
{
	mutex_unlock(&d->lock);
}

static void bench_mutex_remove(struct bench_dev *d)
{
	mutex_lock(&d->lock);
	d->alive = false;
	mutex_unlock(&d->lock);
}

/*
 * rwsem: a device reference (get_device() in TPM), the ops rwsem held for
 * reading, and the methods called through the ops pointer, NULL once
 * removed.  TPM also serialises on tpm_mutex; that is not revocation and is
 * left out.
 */

static void bench_kref_release(struct kref *kref)
{
}

static int bench_rwsem_enter(struct bench_dev *d, int *unused)
{
	kref_get(&d->kref);
	down_read(&d->ops_sem);
	if (!d->ops) {
		up_read(&d->ops_sem);
		kref_put(&d->kref, bench_kref_release);
		return -ENODEV;
	}
	return 0;
}

static void bench_rwsem_leave(struct bench_dev *d, int unused)
{
	up_read(&d->ops_sem);
	kref_put(&d->kref, bench_kref_release);
}

static void bench_rwsem_remove(struct bench_dev *d)
{
	down_write(&d->ops_sem);
	d->ops = NULL;
	up_write(&d->ops_sem);
}

/*
 * refcount: as debugfs' file proxy does, count the active users (the count
 * starts at 1 and dropping that reference kills it), call the real methods
 * through a pointer, and let the last user leaving a removed file complete.
 */

static int bench_refcount_enter(struct bench_dev *d, int *unused)
{
	if (!refcount_inc_not_zero(&d->active_users))
		return -EIO;
	return 0;
}

static void bench_refcount_leave(struct bench_dev *d, int unused)
{
	if (refcount_dec_and_test(&d->active_users))
		complete(&d->active_users_drained);
}

static void bench_refcount_remove(struct bench_dev *d)
{
	if (!refcount_dec_and_test(&d->active_users))
		wait_for_completion(&d->active_users_drained);
}

/* srcu: drm_dev_enter()/drm_dev_exit() with the module's srcu_struct. */

/*
 * The read-side section spans bench_srcu_enter() and bench_srcu_leave(),
 * which sparse's context tracking cannot follow: the __release() and
 * __acquire() below only tell sparse so.
 */
static int bench_srcu_enter(struct bench_dev *d, int *idx)
{
	*idx = srcu_read_lock(&bench_srcu);
	if (READ_ONCE(d->unplugged)) {
		srcu_read_unlock(&bench_srcu, *idx);
		return -ENODEV;
	}
	__release(&bench_srcu);
	return 0;
}

static void bench_srcu_leave(struct bench_dev *d, int idx)
{
	__acquire(&bench_srcu);
	srcu_read_unlock(&bench_srcu, idx);
}

static void bench_srcu_remove(struct bench_dev *d)
{
	WRITE_ONCE(d->unplugged, true);
	synchronize_srcu(&bench_srcu);
}

/*
 * percpu_ref: a per-CPU active-users count taken by the driver's own
 * methods, with no shim in between.
 */

static int bench_percpu_ref_enter(struct bench_dev *d, int *unused)
{
	if (!percpu_ref_tryget_live(&d->pref))
		return -ENODEV;
	return 0;
}

static void bench_percpu_ref_leave(struct bench_dev *d, int unused)
{
	percpu_ref_put(&d->pref);
}

static void bench_pref_release(struct percpu_ref *ref)
{
	struct bench_dev *d = container_of(ref, struct bench_dev, pref);

	complete(&d->pref_done);
}

static void bench_percpu_ref_remove(struct bench_dev *d)
{
	percpu_ref_kill(&d->pref);
	wait_for_completion(&d->pref_done);
	percpu_ref_exit(&d->pref);
}

/*
 * indirect: no guard, the methods called through a pointer, as a shim
 * calls the driver's.
 */

static int bench_indirect_enter(struct bench_dev *d, int *unused)
{
	return 0;
}

static void bench_indirect_leave(struct bench_dev *d, int unused)
{
}

/*
 * How each guarded mechanism reaches the device's methods: mutex, srcu and
 * percpu_ref call them directly (a constant the compiler resolves), rwsem
 * through the ops pointer read under the rwsem, refcount through the
 * proxy's pointer to the real methods, indirect through the same pointer.
 */
static __always_inline const struct bench_hw_ops *
bench_mutex_hw(struct bench_dev *d)
{
	return &bench_hw;
}

static __always_inline const struct bench_hw_ops *
bench_rwsem_hw(struct bench_dev *d)
{
	return d->ops;
}

static __always_inline const struct bench_hw_ops *
bench_refcount_hw(struct bench_dev *d)
{
	return d->real;
}

static __always_inline const struct bench_hw_ops *
bench_srcu_hw(struct bench_dev *d)
{
	return &bench_hw;
}

static __always_inline const struct bench_hw_ops *
bench_percpu_ref_hw(struct bench_dev *d)
{
	return &bench_hw;
}

static __always_inline const struct bench_hw_ops *
bench_indirect_hw(struct bench_dev *d)
{
	return d->real;
}

/* The methods of the guarded mechanisms, identical but for the guard. */
#define BENCH_GUARDED_FOPS(m)						\
static ssize_t bench_##m##_read(struct file *file, char __user *buf,	\
				size_t len, loff_t *ppos)		\
{									\
	struct bench_dev *d = file->private_data;			\
	ssize_t ret;							\
	int tok = 0;							\
									\
	ret = bench_##m##_enter(d, &tok);				\
	if (ret)							\
		return ret;						\
	ret = bench_##m##_hw(d)->read(d, buf, len, *ppos);		\
	bench_##m##_leave(d, tok);					\
	return ret;							\
}									\
									\
static ssize_t bench_##m##_read_iter(struct kiocb *iocb,		\
				     struct iov_iter *to)		\
{									\
	struct bench_dev *d = iocb->ki_filp->private_data;		\
	ssize_t ret;							\
	int tok = 0;							\
									\
	ret = bench_##m##_enter(d, &tok);				\
	if (ret)							\
		return ret;						\
	ret = bench_##m##_hw(d)->read_iter(d, to, iocb->ki_pos);	\
	bench_##m##_leave(d, tok);					\
	return ret;							\
}									\
									\
static long bench_##m##_ioctl(struct file *file, unsigned int cmd,	\
			      unsigned long arg)			\
{									\
	struct bench_dev *d = file->private_data;			\
	long ret;							\
	int tok = 0;							\
									\
	ret = bench_##m##_enter(d, &tok);				\
	if (ret)							\
		return ret;						\
	ret = bench_##m##_hw(d)->ioctl(d, cmd);				\
	bench_##m##_leave(d, tok);					\
	return ret;							\
}									\
									\
static __poll_t bench_##m##_poll(struct file *file, poll_table *pt)	\
{									\
	struct bench_dev *d = file->private_data;			\
	__poll_t mask;							\
	int tok = 0;							\
									\
	if (bench_##m##_enter(d, &tok))					\
		return EPOLLERR | EPOLLHUP;				\
	mask = bench_##m##_hw(d)->poll(d, file, pt);			\
	bench_##m##_leave(d, tok);					\
	return mask;							\
}									\
									\
static const struct file_operations bench_##m##_fops = {		\
	.owner = THIS_MODULE,						\
	.open = bench_open,						\
	.release = bench_release,					\
	.read = bench_##m##_read,					\
	.read_iter = bench_##m##_read_iter,				\
	.unlocked_ioctl = bench_##m##_ioctl,				\
	.poll = bench_##m##_poll,					\
	.llseek = noop_llseek,						\
}

BENCH_GUARDED_FOPS(mutex);
BENCH_GUARDED_FOPS(rwsem);
BENCH_GUARDED_FOPS(refcount);
BENCH_GUARDED_FOPS(srcu);
BENCH_GUARDED_FOPS(percpu_ref);
BENCH_GUARDED_FOPS(indirect);

static const struct file_operations *const bench_fops[BENCH_NR_MECH] = {
	[BENCH_RAW] = &bench_raw_fops,
	[BENCH_REVOKE] = &bench_raw_fops,
	[BENCH_MUTEX] = &bench_mutex_fops,
	[BENCH_RWSEM] = &bench_rwsem_fops,
	[BENCH_REFCOUNT] = &bench_refcount_fops,
	[BENCH_SRCU] = &bench_srcu_fops,
	[BENCH_PCPU] = &bench_percpu_ref_fops,
	[BENCH_INDIRECT] = &bench_indirect_fops,
};

/* cdev_revoke's hooks; the kick also stamps the end of the refusal phase. */

static struct bench_dev *bench_cdev_dev(struct cdev *cdev)
{
	return bench_devs[MINOR(cdev->dev) - MINOR(bench_base)];
}

static void bench_kick(struct cdev *cdev)
{
	struct bench_dev *d = bench_cdev_dev(cdev);

	d->t_kick = ktime_get_ns();
	WRITE_ONCE(d->dead, true);
	wake_up_all(&d->wq);
	d->t_kicked = ktime_get_ns();
}

static const struct cdev_revoke_info bench_revoke_info = {
	.kick = bench_kick,
};

/* Device life cycle. */

static struct bench_dev *bench_create(unsigned int minor, enum bench_mech mech,
				      bool nowait, bool pool)
{
	struct bench_dev *d;
	int ret;

	d = kzalloc(sizeof(*d), GFP_KERNEL);
	if (!d)
		return ERR_PTR(-ENOMEM);
	d->devt = MKDEV(MAJOR(bench_base), MINOR(bench_base) + minor);
	d->mech = mech;
	d->nowait = nowait;
	d->pool = pool;
	atomic_set(&d->open_files, 0);
	init_waitqueue_head(&d->wq);
	mutex_init(&d->lock);
	d->alive = true;
	kref_init(&d->kref);
	init_rwsem(&d->ops_sem);
	d->ops = &bench_hw;
	refcount_set(&d->active_users, 1);
	init_completion(&d->active_users_drained);
	d->real = &bench_hw;
	init_completion(&d->pref_done);
	INIT_LIST_HEAD(&d->node);

	ret = -ENOMEM;
	if (mech == BENCH_PCPU &&
	    percpu_ref_init(&d->pref, bench_pref_release, 0, GFP_KERNEL))
		goto err_free;
	d->cdev = cdev_alloc();
	if (!d->cdev)
		goto err_pref;
	d->cdev->owner = THIS_MODULE;
	d->cdev->ops = bench_fops[mech];
	if (mech == BENCH_REVOKE) {
		ret = cdev_revoke_init(d->cdev, &bench_revoke_info);
		if (ret)
			goto err_put;
	}
	WRITE_ONCE(bench_devs[minor], d);
	ret = cdev_add(d->cdev, d->devt, 1);
	if (ret) {
		WRITE_ONCE(bench_devs[minor], NULL);
		goto err_put;
	}
	return d;

err_put:
	kobject_put(&d->cdev->kobj);
err_pref:
	if (mech == BENCH_PCPU)
		percpu_ref_exit(&d->pref);
err_free:
	kfree(d);
	return ERR_PTR(ret);
}

/* Remove the device with its mechanism; it is freed at module exit. */
static void bench_remove(struct bench_dev *d)
{
	switch (d->mech) {
	case BENCH_REVOKE:
		if (!d->revoked)
			cdev_revoke(d->cdev);
		d->revoked = true;
		break;
	case BENCH_MUTEX:
		bench_mutex_remove(d);
		break;
	case BENCH_RWSEM:
		bench_rwsem_remove(d);
		break;
	case BENCH_REFCOUNT:
		bench_refcount_remove(d);
		break;
	case BENCH_SRCU:
		bench_srcu_remove(d);
		break;
	case BENCH_PCPU:
		bench_percpu_ref_remove(d);
		break;
	default:
		break;
	}
	cdev_del(d->cdev);
	list_add_tail(&d->node, &bench_retired);
}

/* The pool (bench_lock held). */

static int bench_pool_create(unsigned int n, const char *mech)
{
	enum bench_mech m;
	struct bench_dev *d;
	size_t core = 0;
	unsigned int i;

	if (bench_pool_size)
		return -EBUSY;
	if (!n || n > BENCH_POOL_MAX)
		return -EINVAL;
	if (!strcmp(mech, "raw"))
		m = BENCH_RAW;
	else if (!strcmp(mech, "cdev_revoke"))
		m = BENCH_REVOKE;
	else
		return -EINVAL;

	for (i = 0; i < n; i++) {
		d = bench_create(BENCH_POOL_FIRST + i, m, false, true);
		if (IS_ERR(d)) {
			bench_pool_size = i;
			return PTR_ERR(d);
		}
		bench_pool_size = i + 1;
		/* The core's per-device structure, as the slab sees it. */
		if (d->cdev->revoke)
			core += ksize(d->cdev->revoke);
	}
	scnprintf(bench_result, sizeof(bench_result),
		  "pool=%u mech=%s first_minor=%u core_ksize_total=%zu\n", n,
		  mech, MINOR(bench_base) + BENCH_POOL_FIRST, core);
	return 0;
}

static struct bench_dev *bench_pool_dev(unsigned int i)
{
	if (i >= bench_pool_size)
		return NULL;
	return bench_devs[BENCH_POOL_FIRST + i];
}

static int bench_pool_free(void)
{
	struct bench_dev *d;
	unsigned int i;

	for (i = 0; i < bench_pool_size; i++) {
		d = bench_pool_dev(i);
		/* A raw device's driver data must outlive its files. */
		if (d->mech == BENCH_RAW && atomic_read(&d->open_files))
			return -EBUSY;
	}
	for (i = 0; i < bench_pool_size; i++) {
		d = bench_pool_dev(i);
		bench_remove(d);
		WRITE_ONCE(bench_devs[BENCH_POOL_FIRST + i], NULL);
	}
	scnprintf(bench_result, sizeof(bench_result), "poolfree=%u\n",
		  bench_pool_size);
	bench_pool_size = 0;
	return 0;
}

/* The phases of one timed revocation (ns). */
struct bench_phases {
	u64 total, grace, kick, drain, release, tail;
	int files;
	unsigned int releases;
};

static int bench_revoke_timed(struct bench_dev *d, struct bench_phases *ph)
{
	u64 t0, t1;

	if (!d || d->mech != BENCH_REVOKE || d->revoked)
		return -EINVAL;
	ph->files = atomic_read(&d->open_files);
	d->releases = 0;
	d->t_kick = 0;
	d->t_kicked = 0;
	d->revoking = true;
	t0 = ktime_get_ns();
	cdev_revoke(d->cdev);
	t1 = ktime_get_ns();
	d->revoking = false;
	d->revoked = true;

	ph->total = t1 - t0;
	ph->grace = d->t_kick - t0;
	ph->kick = d->t_kicked - d->t_kick;
	ph->releases = d->releases;
	if (d->releases) {
		ph->drain = d->t_rel_first - d->t_kicked;
		ph->release = d->t_rel_last - d->t_rel_first;
		ph->tail = t1 - d->t_rel_last;
	} else {
		ph->drain = t1 - d->t_kicked;
		ph->release = 0;
		ph->tail = 0;
	}
	return 0;
}

static int bench_revoke_one(unsigned int i)
{
	struct bench_phases ph;
	int ret;

	ret = bench_revoke_timed(bench_pool_dev(i), &ph);
	if (ret)
		return ret;
	scnprintf(bench_result, sizeof(bench_result),
		  "total_ns=%llu grace_ns=%llu kick_ns=%llu drain_ns=%llu release_ns=%llu tail_ns=%llu open_files=%d releases=%u\n",
		  ph.total, ph.grace, ph.kick, ph.drain, ph.release, ph.tail,
		  ph.files, ph.releases);
	return 0;
}

static void bench_revoke_work(struct work_struct *work)
{
	struct bench_dev *d = container_of(work, struct bench_dev, work);

	cdev_revoke(d->cdev);
}

/* Revoke every pool device; the time it took in @ns. */
static int bench_mass_revoke_timed(bool concurrent, u64 *ns)
{
	struct bench_dev *d;
	unsigned int i, n = bench_pool_size;
	u64 t0;

	for (i = 0; i < n; i++) {
		d = bench_pool_dev(i);
		if (d->mech != BENCH_REVOKE || d->revoked)
			return -EINVAL;
	}
	t0 = ktime_get_ns();
	for (i = 0; i < n; i++) {
		d = bench_pool_dev(i);
		if (concurrent) {
			INIT_WORK(&d->work, bench_revoke_work);
			queue_work(bench_wq, &d->work);
		} else {
			cdev_revoke(d->cdev);
		}
	}
	if (concurrent)
		flush_workqueue(bench_wq);
	*ns = ktime_get_ns() - t0;
	for (i = 0; i < n; i++)
		bench_pool_dev(i)->revoked = true;
	return 0;
}

static int bench_mass_revoke(bool concurrent)
{
	u64 ns;
	int ret;

	ret = bench_mass_revoke_timed(concurrent, &ns);
	if (ret)
		return ret;
	scnprintf(bench_result, sizeof(bench_result),
		  "devices=%u concurrent=%d total_ns=%llu\n", bench_pool_size,
		  concurrent, ns);
	return 0;
}

static int bench_command(char *cmd)
{
	unsigned int n;
	char mech[16];

	if (sscanf(cmd, "pool %u %15s", &n, mech) == 2)
		return bench_pool_create(n, mech);
	if (sscanf(cmd, "revoke %u", &n) == 1)
		return bench_revoke_one(n);
	if (!strcmp(cmd, "massrevoke"))
		return bench_mass_revoke(false);
	if (!strcmp(cmd, "massrevoke_conc"))
		return bench_mass_revoke(true);
	if (!strcmp(cmd, "poolfree"))
		return bench_pool_free();
	if (!strcmp(cmd, "info")) {
		int i, len;

		len = scnprintf(bench_result, sizeof(bench_result),
				"major=%u first_minor=%u pool_first=%u mechs=",
				MAJOR(bench_base), MINOR(bench_base),
				MINOR(bench_base) + BENCH_POOL_FIRST);
		for (i = 0; i < BENCH_NR_MECH; i++)
			len += scnprintf(bench_result + len,
					 sizeof(bench_result) - len, "%s%c",
					 bench_mech_names[i],
					 i + 1 < BENCH_NR_MECH ? ',' : '\n');
		return 0;
	}
	return -EINVAL;
}

static ssize_t bench_ctl_write(struct file *file, const char __user *ubuf,
			       size_t len, loff_t *ppos)
{
	char buf[64];
	int ret;

	if (len >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = '\0';
	mutex_lock(&bench_lock);
	bench_result[0] = '\0';
	ret = bench_command(strim(buf));
	mutex_unlock(&bench_lock);
	return ret ?: len;
}

static ssize_t bench_ctl_read(struct file *file, char __user *ubuf, size_t len,
			      loff_t *ppos)
{
	ssize_t ret;

	mutex_lock(&bench_lock);
	ret = simple_read_from_buffer(ubuf, len, ppos, bench_result,
				      strlen(bench_result));
	mutex_unlock(&bench_lock);
	return ret;
}

static const struct file_operations bench_ctl_fops = {
	.owner = THIS_MODULE,
	.read = bench_ctl_read,
	.write = bench_ctl_write,
	.llseek = default_llseek,
};

static void bench_free_retired(void)
{
	struct bench_dev *d, *n;

	list_for_each_entry_safe(d, n, &bench_retired, node)
		kfree(d);
}

static int __init bench_init(void)
{
	struct bench_dev *d;
	int ret, m, nowait;

	ret = alloc_chrdev_region(&bench_base, 0, BENCH_MINORS, BENCH_NAME);
	if (ret)
		return ret;
	bench_wq = alloc_workqueue(BENCH_NAME, WQ_UNBOUND, 0);
	if (!bench_wq) {
		ret = -ENOMEM;
		goto err_region;
	}
	for (m = 0; m < BENCH_NR_MECH; m++) {
		for (nowait = 0; nowait < 2; nowait++) {
			d = bench_create(2 * m + nowait, m, nowait, false);
			if (IS_ERR(d)) {
				ret = PTR_ERR(d);
				goto err_devs;
			}
		}
	}
	bench_debugfs = debugfs_create_dir(BENCH_NAME, NULL);
	debugfs_create_file("ctl", 0600, bench_debugfs, NULL, &bench_ctl_fops);
	debugfs_create_atomic_t("sleepers", 0444, bench_debugfs,
				&bench_sleepers);
	return 0;

err_devs:
	for (m = 0; m < BENCH_POOL_FIRST; m++)
		if (bench_devs[m])
			bench_remove(bench_devs[m]);
	bench_free_retired();
	destroy_workqueue(bench_wq);
err_region:
	unregister_chrdev_region(bench_base, BENCH_MINORS);
	return ret;
}

static void __exit bench_exit(void)
{
	unsigned int i;

	debugfs_remove(bench_debugfs);
	mutex_lock(&bench_lock);
	/* No file is open: each holds a reference to the module. */
	bench_pool_free();
	mutex_unlock(&bench_lock);
	for (i = 0; i < BENCH_POOL_FIRST; i++)
		if (bench_devs[i])
			bench_remove(bench_devs[i]);
	destroy_workqueue(bench_wq);
	unregister_chrdev_region(bench_base, BENCH_MINORS);
	bench_free_retired();
}

#if IS_REACHABLE(CONFIG_KUNIT)
/*
 * The native benchmark: the devices above driven from inside the kernel.
 *
 * make bench runs this suite on UML, where the kernel is a process on the
 * host CPU: no emulator sits between the instructions and the figures.  The
 * files are opened in the kernel, through device nodes made on the root
 * filesystem and removed afterwards, and the loops call the entry points the
 * system calls reach: vfs_iocb_iter_read() (->read_iter), ->read_iter with
 * IOCB_NOWAIT as io_uring issues a read inline, vfs_ioctl(), vfs_poll() with
 * a poll table as poll(2) sets one up, and filp_open() with the last fput()
 * (->open and ->release).  Each repetition measures every mechanism once, in
 * an order that rotates, so that each ratio to raw compares measurements
 * made side by side.  A sample is the median over batches of calls that take
 * about BN_BATCH_NS each: the batches a host signal or a tick landed in drop
 * out.  A fixed arithmetic loop ("calibration") tracks the host CPU's speed,
 * so that boots of two kernels can be compared.  Memory is left to the TCG
 * run, which reads /proc/slabinfo.
 *
 * The suite reports on the console ("cdev_revoke_bench native: " lines,
 * read by scripts/bench-report.py).  It fails only when an operation does,
 * never on a time.
 */

static unsigned int native_reps = 9;
module_param(native_reps, uint, 0444);
MODULE_PARM_DESC(native_reps, "native benchmark: interleaved repetitions");

static unsigned int native_ms = 20;
module_param(native_ms, uint, 0444);
MODULE_PARM_DESC(native_ms, "native benchmark: milliseconds per sample");

static unsigned int native_ops = ~0U;
module_param(native_ops, uint, 0444);
MODULE_PARM_DESC(native_ops,
		 "native benchmark: operations to measure (bit mask: read, read_nowait, ioctl, poll, open_close, calibration, repoll, slab)");

static unsigned int native_mechs = ~0U;
module_param(native_mechs, uint, 0444);
MODULE_PARM_DESC(native_mechs,
		 "native benchmark: mechanisms to measure (bit mask, in the order of bench_mech; raw always)");

static unsigned int native_scale = 100000;
module_param(native_scale, uint, 0444);
MODULE_PARM_DESC(native_scale,
		 "native benchmark: most open files of the scale runs (0: none)");

#define BN_PFX		"cdev_revoke_bench native: "
/*
 * UML's clock counts in steps of 256 ns (TIMER_MULTIPLIER): a batch lasts
 * about BN_BATCH_NS, so that the step is under 1 % of it.
 */
#define BN_BATCH_NS	(32 * NSEC_PER_USEC)
#define BN_BATCH_MIN	16
#define BN_BATCH_MAX	65536
#define BN_MAX_BATCHES	8192

enum bn_op {
	BN_READ,
	BN_NOWAIT,
	BN_IOCTL,
	BN_POLL,
	BN_OPEN,
	BN_CALIB,
	BN_REPOLL,
	BN_SLAB,
	BN_NR_OP,
};

static const char * const bn_op_names[BN_NR_OP] = {
	[BN_READ] = "read",
	[BN_NOWAIT] = "read_nowait",
	[BN_IOCTL] = "ioctl",
	[BN_POLL] = "poll",
	[BN_OPEN] = "open_close",
	[BN_CALIB] = "calibration",
	[BN_REPOLL] = "repoll",
	[BN_SLAB] = "slab",
};

/* Operations measured once, not per mechanism: references for the others. */
static bool bn_op_alone(enum bn_op op)
{
	return op == BN_CALIB || op == BN_SLAB;
}

/*
 * A cache of objects the size of the core's record of an open file: what
 * one allocation and free of it costs here, for the open + close figures.
 */
#define BN_SLAB_SIZE	88
static struct kmem_cache *bn_slab_cache;

/*
 * A fixed chain of dependent multiplications, no kernel path at all: the
 * host CPU's speed during a repetition, so that boots of two kernels can
 * be compared (the host's state varies between boots more than the
 * difference to measure).
 */
static noinline u64 bn_calib_work(u64 x)
{
	int i;

	for (i = 0; i < 32; i++)
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
	return x;
}

/* A node for @minor of the module's region, and its path. */
static void bn_path(char *buf, size_t len, unsigned int minor)
{
	snprintf(buf, len, "/.%s.%u", BENCH_NAME, minor);
}

static int bn_mknod(unsigned int minor)
{
	struct dentry *dentry;
	struct path path;
	char name[48];
	int ret;

	bn_path(name, sizeof(name), minor);
	dentry = kern_path_create(AT_FDCWD, name, &path, 0);
	if (IS_ERR(dentry))
		return PTR_ERR(dentry);
	ret = vfs_mknod(mnt_idmap(path.mnt), d_inode(path.dentry), dentry,
			S_IFCHR | 0600,
			MKDEV(MAJOR(bench_base), MINOR(bench_base) + minor));
	done_path_create(&path, dentry);
	return ret;
}

static void bn_unlink(unsigned int minor)
{
	struct dentry *dir;
	struct path path;
	char name[48];

	bn_path(name, sizeof(name), minor);
	if (kern_path(name, 0, &path))
		return;
	dir = dget_parent(path.dentry);
	if (!mnt_want_write(path.mnt)) {
		inode_lock_nested(d_inode(dir), I_MUTEX_PARENT);
		if (path.dentry->d_parent == dir)
			vfs_unlink(mnt_idmap(path.mnt), d_inode(dir),
				   path.dentry, NULL);
		inode_unlock(d_inode(dir));
		mnt_drop_write(path.mnt);
	}
	dput(dir);
	path_put(&path);
}

static struct file *bn_open(unsigned int minor)
{
	char name[48];

	bn_path(name, sizeof(name), minor);
	return filp_open(name, O_RDWR, 0);
}

/*
 * A read of one byte at @pos into a kernel buffer, through the VFS's
 * ->read_iter entry point (kernel_read() refuses files that also have
 * ->read, as these devices do, to keep pread(2) on ->read).
 */
static ssize_t bn_read(struct file *file, char *c, loff_t pos)
{
	struct iov_iter iter;
	struct kiocb kiocb;
	struct kvec kv = { .iov_base = c, .iov_len = 1 };

	init_sync_kiocb(&kiocb, file);
	kiocb.ki_pos = pos;
	iov_iter_kvec(&iter, ITER_DEST, &kv, 1, 1);
	return vfs_iocb_iter_read(file, &kiocb, &iter);
}

static u64 bn_calib_seed = 1;

/* @n calls of @op on @file (or on new files of @minor for BN_OPEN). */
static noinline int bn_batch(enum bn_op op, struct file *file,
			     unsigned int minor, unsigned int n)
{
	struct poll_wqueues pwq;
	struct iov_iter iter;
	struct kiocb kiocb;
	struct kvec kv;
	char name[48];
	__poll_t mask;
	char c;
	int i;

	switch (op) {
	case BN_READ:
		for (i = 0; i < n; i++) {
			if (bn_read(file, &c, 0) != 1)
				return -EIO;
		}
		break;
	case BN_NOWAIT:
		for (i = 0; i < n; i++) {
			kv.iov_base = &c;
			kv.iov_len = 1;
			init_sync_kiocb(&kiocb, file);
			kiocb.ki_flags |= IOCB_NOWAIT;
			iov_iter_kvec(&iter, ITER_DEST, &kv, 1, 1);
			if (file->f_op->read_iter(&kiocb, &iter) != 1)
				return -EIO;
		}
		break;
	case BN_IOCTL:
		for (i = 0; i < n; i++)
			if (vfs_ioctl(file, BENCH_IOC_NOP, 0))
				return -EIO;
		break;
	case BN_POLL:
		for (i = 0; i < n; i++) {
			poll_initwait(&pwq);
			mask = vfs_poll(file, &pwq.pt);
			poll_freewait(&pwq);
			if (!(mask & EPOLLIN))
				return -EIO;
		}
		break;
	case BN_REPOLL:
		/*
		 * A poll that queues nothing: what epoll does to collect the
		 * events of a file it already waits on, and poll(2) and
		 * select(2) after their first pass.
		 */
		init_poll_funcptr(&pwq.pt, NULL);
		pwq.pt._key = EPOLLIN | EPOLLOUT;
		for (i = 0; i < n; i++) {
			mask = vfs_poll(file, &pwq.pt);
			if (!(mask & EPOLLIN))
				return -EIO;
		}
		break;
	case BN_SLAB:
		for (i = 0; i < n; i++) {
			void *obj = kmem_cache_alloc(bn_slab_cache, GFP_KERNEL);

			if (!obj)
				return -ENOMEM;
			/* Keep the pair from being optimised away. */
			OPTIMIZER_HIDE_VAR(obj);
			kmem_cache_free(bn_slab_cache, obj);
		}
		break;
	case BN_CALIB:
		for (i = 0; i < n; i++)
			WRITE_ONCE(bn_calib_seed,
				   bn_calib_work(READ_ONCE(bn_calib_seed)));
		break;
	case BN_OPEN:
		bn_path(name, sizeof(name), minor);
		for (i = 0; i < n; i++) {
			file = filp_open(name, O_RDWR, 0);
			if (IS_ERR(file))
				return PTR_ERR(file);
			/* What close(2) leads to, without the task work. */
			__fput_sync(file);
		}
		break;
	default:
		return -EINVAL;
	}
	return 0;
}

static int bn_cmp_u32(const void *a, const void *b)
{
	u32 x = *(const u32 *)a, y = *(const u32 *)b;

	return x < y ? -1 : x > y;
}

struct bn_ctx {
	struct file *files[2 * BENCH_NR_MECH];
	unsigned int batch[BN_NR_OP][2 * BENCH_NR_MECH];
	u32 *batches;
};

/*
 * The batch size of @op on @minor: calls that take about BN_BATCH_NS.  A
 * host stall during a sizing batch can only make it smaller, so the
 * largest of a few sizings is kept: at BN_BATCH_MIN calls the clock's
 * step is 16 ns per open + close.
 */
static int bn_calibrate(struct bn_ctx *ctx, enum bn_op op, unsigned int minor)
{
	unsigned int n, best = 0;
	int ret, i;
	u64 t0, t;

	/*
	 * Untimed: the first calls of a path are slow (the first opens of
	 * a node grow the caches they allocate from).
	 */
	ret = bn_batch(op, ctx->files[minor], minor, BN_BATCH_MIN);
	if (ret)
		return ret;
	for (i = 0; i < 3; i++) {
		n = BN_BATCH_MIN;
		for (;;) {
			t0 = ktime_get_ns();
			ret = bn_batch(op, ctx->files[minor], minor, n);
			t = ktime_get_ns() - t0;
			if (ret)
				return ret;
			if (t >= BN_BATCH_NS / 4 || n >= BN_BATCH_MAX)
				break;
			n *= 4;
		}
		n = clamp_t(u64, div64_u64((u64)n * BN_BATCH_NS, max(t, 1ULL)),
			    BN_BATCH_MIN, BN_BATCH_MAX);
		best = max(best, n);
	}
	ctx->batch[op][minor] = best;
	return 0;
}

/*
 * One sample: batches for @ms milliseconds; the median and the mean in
 * hundredths of a nanosecond per call.  Returns the number of batches.
 */
static int bn_sample(struct bn_ctx *ctx, enum bn_op op, unsigned int minor,
		     unsigned int ms, u64 *median, u64 *mean)
{
	unsigned int b = ctx->batch[op][minor], n = 0;
	u64 t0, t1, end, total = 0;
	int ret;

	end = ktime_get_ns() + (u64)ms * NSEC_PER_MSEC;
	do {
		t0 = ktime_get_ns();
		ret = bn_batch(op, ctx->files[minor], minor, b);
		t1 = ktime_get_ns();
		if (ret)
			return ret;
		ctx->batches[n++] = min_t(u64, t1 - t0, U32_MAX);
		total += t1 - t0;
		cond_resched();
	} while (t1 < end && n < BN_MAX_BATCHES);

	sort(ctx->batches, n, sizeof(u32), bn_cmp_u32, NULL);
	*median = div_u64((u64)ctx->batches[n / 2] * 100, b);
	*mean = div_u64(total * 100, (u64)n * b);
	return n;
}

static int bn_suite_init(struct kunit_suite *suite)
{
	unsigned int minor;
	int ret;

	bn_slab_cache = kmem_cache_create("cdev_revoke_bench_obj",
					  BN_SLAB_SIZE, 0, 0, NULL);
	if (!bn_slab_cache)
		return -ENOMEM;
	for (minor = 0; minor < 2 * BENCH_NR_MECH; minor++) {
		ret = bn_mknod(minor);
		if (ret)
			return ret;
	}
	return 0;
}

static void bn_suite_exit(struct kunit_suite *suite)
{
	unsigned int minor;

	for (minor = 0; minor < 2 * BENCH_NR_MECH; minor++)
		bn_unlink(minor);
	kmem_cache_destroy(bn_slab_cache);
	bn_slab_cache = NULL;
}

/* Cost per call of each operation, for every mechanism. */
static void bn_ops(struct kunit *test)
{
	struct bn_ctx *ctx;
	unsigned int rep, k, m, minor;
	u64 median, mean;
	enum bn_op op;
	int n;

	ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ctx);
	ctx->batches = kunit_kcalloc(test, BN_MAX_BATCHES, sizeof(u32),
				     GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ctx->batches);
	for (minor = 0; minor < 2 * BENCH_NR_MECH; minor++) {
		ctx->files[minor] = bn_open(minor);
		KUNIT_ASSERT_FALSE(test, IS_ERR(ctx->files[minor]));
		KUNIT_ASSERT_EQ(test,
				(bool)(ctx->files[minor]->f_mode & FMODE_NOWAIT),
				(bool)(minor & 1));
	}

	pr_info(BN_PFX "conditions: reps=%u ms=%u batch_ns=%lu nr_cpus=%u smp=%d hz=%d preempt=%s\n",
		native_reps, native_ms, BN_BATCH_NS, num_possible_cpus(),
		IS_ENABLED(CONFIG_SMP), HZ,
		IS_ENABLED(CONFIG_PREEMPT) ? "full" :
		IS_ENABLED(CONFIG_PREEMPT_VOLUNTARY) ? "voluntary" : "none");

	/* Warm up every path (the first poll of a file allocates). */
	for (op = 0; op < BN_NR_OP; op++)
		for (m = 0; m < BENCH_NR_MECH && native_ops & BIT(op); m++) {
			if (m != BENCH_RAW &&
			    (!(native_mechs & BIT(m)) || bn_op_alone(op)))
				continue;
			minor = 2 * m + (op == BN_NOWAIT);
			n = bn_calibrate(ctx, op, minor);
			KUNIT_ASSERT_EQ_MSG(test, n, 0, "%s on %s: %d",
					    bn_op_names[op], bench_mech_names[m],
					    n);
			n = bn_sample(ctx, op, minor, 2, &median, &mean);
			KUNIT_ASSERT_GT(test, n, 0);
		}

	for (rep = 0; rep < native_reps; rep++) {
		for (op = 0; op < BN_NR_OP; op++) {
			for (k = 0; k < BENCH_NR_MECH && native_ops & BIT(op); k++) {
				m = (k + rep) % BENCH_NR_MECH;
				if (m != BENCH_RAW &&
				    (!(native_mechs & BIT(m)) || bn_op_alone(op)))
					continue;
				minor = 2 * m + (op == BN_NOWAIT);
				n = bn_sample(ctx, op, minor, native_ms,
					      &median, &mean);
				KUNIT_ASSERT_GT(test, n, 0);
				pr_info(BN_PFX "op=%s mech=%s rep=%u ns_x100=%llu mean_x100=%llu batches=%d batch=%u\n",
					bn_op_names[op], bench_mech_names[m],
					rep, median, mean, n,
					ctx->batch[op][minor]);
			}
		}
	}

	for (minor = 0; minor < 2 * BENCH_NR_MECH; minor++)
		__fput_sync(ctx->files[minor]);
}

/* A reader parked in the driver until the revocation wakes it. */
struct bn_reader {
	struct file *file;
	ssize_t ret;
	struct completion done;
};

static int bn_reader_fn(void *arg)
{
	struct bn_reader *r = arg;
	char c;

	r->ret = bn_read(r->file, &c, BENCH_BLOCK_POS);
	complete(&r->done);
	return 0;
}

/*
 * One pool device with @nfiles open files and @nreaders readers parked in
 * it: revoke it and report the phases.
 */
static void bn_one_device(struct kunit *test, unsigned int nfiles,
			  unsigned int nreaders, unsigned int rep)
{
	struct bn_reader *readers = NULL;
	struct bench_phases ph = {};
	struct task_struct *task;
	struct file **files;
	struct bench_dev *d;
	unsigned int i;
	int ret;

	files = kvcalloc(nfiles, sizeof(*files), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, files);
	if (nreaders) {
		readers = kcalloc(nreaders, sizeof(*readers), GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, readers);
	}

	mutex_lock(&bench_lock);
	ret = bench_pool_create(1, "cdev_revoke");
	mutex_unlock(&bench_lock);
	KUNIT_ASSERT_EQ(test, ret, 0);
	d = bench_pool_dev(0);
	KUNIT_ASSERT_EQ(test, bn_mknod(BENCH_POOL_FIRST), 0);

	for (i = 0; i < nfiles; i++) {
		files[i] = bn_open(BENCH_POOL_FIRST);
		KUNIT_ASSERT_FALSE(test, IS_ERR(files[i]));
		cond_resched();
	}

	for (i = 0; i < nreaders; i++) {
		readers[i].file = files[i % nfiles];
		init_completion(&readers[i].done);
		task = kthread_run(bn_reader_fn, &readers[i], "bn_reader/%u", i);
		KUNIT_ASSERT_FALSE(test, IS_ERR(task));
	}
	for (i = 0; atomic_read(&bench_sleepers) < nreaders; i++) {
		/* A reader that returned instead of blocking fails the case. */
		KUNIT_ASSERT_LT(test, i, 100000);
		usleep_range(100, 200);
	}

	mutex_lock(&bench_lock);
	ret = bench_revoke_timed(d, &ph);
	mutex_unlock(&bench_lock);
	KUNIT_ASSERT_EQ(test, ret, 0);
	KUNIT_EXPECT_EQ(test, ph.releases, nfiles);
	KUNIT_EXPECT_EQ(test, atomic_read(&d->open_files), 0);
	for (i = 0; i < nreaders; i++) {
		wait_for_completion(&readers[i].done);
		KUNIT_EXPECT_EQ(test, readers[i].ret, -ENODEV);
	}
	pr_info(BN_PFX "revoke files=%u readers=%u rep=%u total_ns=%llu grace_ns=%llu kick_ns=%llu drain_ns=%llu release_ns=%llu tail_ns=%llu\n",
		nfiles, nreaders, rep, ph.total, ph.grace, ph.kick, ph.drain,
		ph.release, ph.tail);

	for (i = 0; i < nfiles; i++) {
		__fput_sync(files[i]);
		cond_resched();
	}
	mutex_lock(&bench_lock);
	ret = bench_pool_free();
	mutex_unlock(&bench_lock);
	KUNIT_EXPECT_EQ(test, ret, 0);
	bn_unlink(BENCH_POOL_FIRST);
	kfree(readers);
	kvfree(files);
}

/* Revocation of one device: open files x readers blocked in ->read. */
static void bn_revoke(struct kunit *test)
{
	static const unsigned int nfiles[] = { 1, 100, 1000, 10000 };
	static const unsigned int nreaders[] = { 0, 10, 100 };
	unsigned int rep, f, r;

	for (rep = 0; rep < 5; rep++)
		for (f = 0; f < ARRAY_SIZE(nfiles); f++)
			for (r = 0; r < ARRAY_SIZE(nreaders); r++)
				bn_one_device(test, nfiles[f], nreaders[r],
					      rep);
}

/* Many devices, revoked in a row or at once. */
static void bn_devices(struct kunit *test, unsigned int ndev, bool open,
		       bool concurrent, unsigned int rep)
{
	struct file **files = NULL;
	unsigned int i;
	u64 ns;
	int ret;

	if (open) {
		files = kvcalloc(ndev, sizeof(*files), GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, files);
	}
	mutex_lock(&bench_lock);
	ret = bench_pool_create(ndev, "cdev_revoke");
	mutex_unlock(&bench_lock);
	KUNIT_ASSERT_EQ(test, ret, 0);
	for (i = 0; open && i < ndev; i++) {
		KUNIT_ASSERT_EQ(test, bn_mknod(BENCH_POOL_FIRST + i), 0);
		files[i] = bn_open(BENCH_POOL_FIRST + i);
		KUNIT_ASSERT_FALSE(test, IS_ERR(files[i]));
		cond_resched();
	}

	mutex_lock(&bench_lock);
	ret = bench_mass_revoke_timed(concurrent, &ns);
	mutex_unlock(&bench_lock);
	KUNIT_ASSERT_EQ(test, ret, 0);
	pr_info(BN_PFX "devices n=%u open=%d concurrent=%d rep=%u total_ns=%llu\n",
		ndev, open, concurrent, rep, ns);

	for (i = 0; open && i < ndev; i++) {
		__fput_sync(files[i]);
		bn_unlink(BENCH_POOL_FIRST + i);
	}
	mutex_lock(&bench_lock);
	ret = bench_pool_free();
	mutex_unlock(&bench_lock);
	KUNIT_EXPECT_EQ(test, ret, 0);
	kvfree(files);
}

/* Scale: revocation with up to native_scale open files, and 10000 devices. */
static void bn_scale(struct kunit *test)
{
	unsigned int n, rep;

	if (!native_scale)
		kunit_skip(test, "native_scale=0");
	for (rep = 0; rep < 3; rep++) {
		for (n = 10000; n <= native_scale; n *= 10) {
			bn_one_device(test, n, 0, rep);
			bn_one_device(test, n, 100, rep);
		}
		bn_devices(test, 1000, false, false, rep);
		bn_devices(test, BENCH_POOL_MAX, false, false, rep);
		bn_devices(test, BENCH_POOL_MAX, false, true, rep);
		bn_devices(test, BENCH_POOL_MAX, true, false, rep);
		bn_devices(test, BENCH_POOL_MAX, true, true, rep);
	}
}

static struct kunit_case bn_cases[] = {
	KUNIT_CASE_SLOW(bn_ops),
	KUNIT_CASE_SLOW(bn_revoke),
	KUNIT_CASE_SLOW(bn_scale),
	{}
};

static struct kunit_suite bn_suite = {
	.name = "cdev_revoke_bench",
	.suite_init = bn_suite_init,
	.suite_exit = bn_suite_exit,
	.test_cases = bn_cases,
};

kunit_test_suite(bn_suite);
#endif /* CONFIG_KUNIT */

module_init(bench_init);
module_exit(bench_exit);
MODULE_DESCRIPTION("Benchmark devices for cdev_revoke");
MODULE_LICENSE("GPL");
