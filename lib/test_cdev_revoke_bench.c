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
 */

#include <linux/cdev.h>
#include <linux/cdev_revoke.h>
#include <linux/completion.h>
#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/kref.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/percpu-refcount.h>
#include <linux/poll.h>
#include <linux/refcount.h>
#include <linux/rwsem.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/srcu.h>
#include <linux/uaccess.h>
#include <linux/uio.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <uapi/linux/ioctl.h>

#define BENCH_NAME		"cdev_revoke_bench"
#define BENCH_POOL_FIRST	16
#define BENCH_POOL_MAX		4096
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
	ssize_t (*read_iter)(struct bench_dev *d, struct iov_iter *to);
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

static ssize_t bench_hw_read_iter(struct bench_dev *d, struct iov_iter *to)
{
	static const char byte = 'x';

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
	return bench_hw_read_iter(iocb->ki_filp->private_data, to);
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
	ret = bench_##m##_hw(d)->read_iter(d, to);			\
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

static int bench_revoke_one(unsigned int i)
{
	struct bench_dev *d = bench_pool_dev(i);
	u64 t0, t1, grace, wake, drain, rel, tail;
	int files;

	if (!d || d->mech != BENCH_REVOKE || d->revoked)
		return -EINVAL;
	files = atomic_read(&d->open_files);
	d->releases = 0;
	d->t_kick = 0;
	d->t_kicked = 0;
	d->revoking = true;
	t0 = ktime_get_ns();
	cdev_revoke(d->cdev);
	t1 = ktime_get_ns();
	d->revoking = false;
	d->revoked = true;

	grace = d->t_kick - t0;
	wake = d->t_kicked - d->t_kick;
	if (d->releases) {
		drain = d->t_rel_first - d->t_kicked;
		rel = d->t_rel_last - d->t_rel_first;
		tail = t1 - d->t_rel_last;
	} else {
		drain = t1 - d->t_kicked;
		rel = 0;
		tail = 0;
	}
	scnprintf(bench_result, sizeof(bench_result),
		  "total_ns=%llu grace_ns=%llu kick_ns=%llu drain_ns=%llu release_ns=%llu tail_ns=%llu open_files=%d releases=%u\n",
		  t1 - t0, grace, wake, drain, rel, tail, files, d->releases);
	return 0;
}

static void bench_revoke_work(struct work_struct *work)
{
	struct bench_dev *d = container_of(work, struct bench_dev, work);

	cdev_revoke(d->cdev);
}

static int bench_mass_revoke(bool concurrent)
{
	struct bench_dev *d;
	unsigned int i, n = bench_pool_size;
	u64 t0, t1;

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
	t1 = ktime_get_ns();
	for (i = 0; i < n; i++)
		bench_pool_dev(i)->revoked = true;
	scnprintf(bench_result, sizeof(bench_result),
		  "devices=%u concurrent=%d total_ns=%llu\n", n, concurrent,
		  t1 - t0);
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

module_init(bench_init);
module_exit(bench_exit);
MODULE_DESCRIPTION("Benchmark devices for cdev_revoke");
MODULE_LICENSE("GPL");
