// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for the Switchtec character device on cdev_revoke.
 *
 * Compiled into switchtec.c (see the end of that file), so that the
 * suite builds its device with the driver's own stdev_create(),
 * stdev_add() and stdev_remove() and runs the real file operations
 * through the real open path.  There is no PCI device: the GAS
 * registers are an ordinary buffer, the test plays the firmware by
 * writing to it and raises the event interrupt by calling the handler.
 *
 * What the driver does with a revoked file is checked through its own
 * objects: every open file holds a reference on its switchtec_user, and
 * the test takes one more, so the count shows how often ->release ran
 * and the MMIO buffer and the MRPC queue show whether a method ran.
 */

#include <kunit/device.h>
#include <kunit/test.h>
#include <linux/delay.h>
#include <linux/file.h>
#include <linux/kthread.h>
#include <linux/mman.h>
#include <linux/mount.h>
#include <linux/namei.h>
#include <linux/vmalloc.h>

#define STK_PATH	"/switchtec_kunit"
#define STK_DEVICE_ID	0x4000		/* PFX 100XG4 */
#define STK_PFFS	2
/* The GAS up to one PFF CSR block past the last one (vendor ID 0) */
#define STK_GAS_SIZE	(SWITCHTEC_GAS_PFF_CSR_OFFSET + \
			 (STK_PFFS + 1) * sizeof(struct pff_csr_regs))
/* compat_ptr() keeps 32 bits: the user buffer lives below 4 GiB */
#define STK_UADDR	0x20000000UL
#define STK_ULEN	(4 * PAGE_SIZE)
#define STK_CMD		0x41		/* any command but GAS read/write */
#define STK_LEN		16		/* MRPC payload bytes used */
#define STK_POISON	0xdeadbeefU
#define STK_TIMEOUT	(10 * HZ)
#define STK_FILES	4

#define STK_DEAD_MASK	(EPOLLIN | EPOLLRDHUP | EPOLLOUT | EPOLLERR | EPOLLHUP)
/* sparse: __poll_t is a bitwise type; KUnit compares plain integers */
#define STK_MASK(m)	((__force unsigned int)(m))

struct stk_ctx {
	void *gas;
	struct pci_dev *pdev;		/* only ->device is read */
	struct switchtec_dev *stdev;	/* the test's own reference */
	bool removed;
	struct mm_struct *mm;
	unsigned long ubuf;
	struct file *files[STK_FILES];
	struct switchtec_user *stusers[STK_FILES];
	int nfiles;
	struct completion link_entered;
	struct completion link_release;
	bool link_done;
};

/* For the link notifier, which only gets the switchtec_dev */
static struct stk_ctx *stk_cur;

/* ---- the device ---- */

static int stk_mknod(dev_t devt)
{
	struct path parent;
	struct dentry *dentry;
	int err;

	dentry = kern_path_create(AT_FDCWD, STK_PATH, &parent, 0);
	if (IS_ERR(dentry))
		return PTR_ERR(dentry);
	err = vfs_mknod(mnt_idmap(parent.mnt), d_inode(parent.dentry), dentry,
			S_IFCHR | 0600, devt);
	done_path_create(&parent, dentry);
	return err;
}

static void stk_unlink(void)
{
	struct path parent;
	struct dentry *dentry;

	dentry = kern_path_locked(STK_PATH, &parent);
	if (IS_ERR(dentry))
		return;
	if (d_is_positive(dentry))
		vfs_unlink(mnt_idmap(parent.mnt), d_inode(parent.dentry), dentry,
			   NULL);
	inode_unlock(d_inode(parent.dentry));
	dput(dentry);
	path_put(&parent);
}

/* What switchtec_init_pci() and init_pff() set up from BAR 0 */
static void stk_map_gas(struct switchtec_dev *stdev, void *gas)
{
	void __iomem *mmio = (void __force __iomem *)gas;
	int i;

	stdev->gen = SWITCHTEC_GEN4;
	stdev->mmio_mrpc = mmio;
	stdev->mmio = mmio;
	stdev->mmio_sw_event = mmio + SWITCHTEC_GAS_SW_EVENT_OFFSET;
	stdev->mmio_sys_info = mmio + SWITCHTEC_GAS_SYS_INFO_OFFSET;
	stdev->mmio_flash_info = mmio + SWITCHTEC_GAS_FLASH_INFO_OFFSET;
	stdev->mmio_ntb = mmio + SWITCHTEC_GAS_NTB_OFFSET;
	stdev->partition = 0;
	stdev->partition_count = 1;
	stdev->mmio_part_cfg_all = mmio + SWITCHTEC_GAS_PART_CFG_OFFSET;
	stdev->mmio_part_cfg = &stdev->mmio_part_cfg_all[0];
	stdev->mmio_pff_csr = mmio + SWITCHTEC_GAS_PFF_CSR_OFFSET;

	iowrite32(STK_DEVICE_ID, &stdev->mmio_sys_info->device_id);
	for (i = 0; i < STK_PFFS; i++)
		iowrite16(PCI_VENDOR_ID_MICROSEMI,
			  &stdev->mmio_pff_csr[i].vendor_id);
	/* The firmware is busy until the test completes a command */
	iowrite32(SWITCHTEC_MRPC_STATUS_INPROGRESS, &stdev->mmio_mrpc->status);
	init_pff(stdev);
}

static int stk_init(struct kunit *test)
{
	struct stk_ctx *ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);
	struct switchtec_dev *stdev;
	struct device *parent;

	KUNIT_ASSERT_NOT_NULL(test, ctx);
	test->priv = ctx;
	init_completion(&ctx->link_entered);
	init_completion(&ctx->link_release);
	stk_cur = ctx;
	ctx->gas = vzalloc(STK_GAS_SIZE);
	KUNIT_ASSERT_NOT_NULL(test, ctx->gas);
	ctx->pdev = kunit_kzalloc(test, sizeof(*ctx->pdev), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ctx->pdev);
	ctx->pdev->device = STK_DEVICE_ID;

	parent = kunit_device_register(test, "switchtec_kunit");
	KUNIT_ASSERT_FALSE(test, IS_ERR(parent));
	stdev = stdev_create(parent);
	KUNIT_ASSERT_FALSE(test, IS_ERR(stdev));
	stdev->pdev = ctx->pdev;
	stk_map_gas(stdev, ctx->gas);
	KUNIT_EXPECT_EQ(test, stdev->pff_csr_count, STK_PFFS);
	get_device(&stdev->dev);
	ctx->stdev = stdev;
	/* stdev_create()'s reference is dropped by stk_remove() */
	KUNIT_ASSERT_EQ(test, stdev_add(stdev), 0);

	stk_unlink();
	KUNIT_ASSERT_EQ(test, stk_mknod(stdev->dev.devt), 0);

	ctx->ubuf = kunit_vm_mmap(test, NULL, STK_UADDR, STK_ULEN,
				  PROT_READ | PROT_WRITE,
				  MAP_ANONYMOUS | MAP_PRIVATE |
				  MAP_FIXED_NOREPLACE, 0);
	KUNIT_ASSERT_EQ(test, ctx->ubuf, STK_UADDR);
	ctx->mm = current->mm;
	return 0;
}

/* switchtec_pci_remove() without the PCI device */
static void stk_remove(struct stk_ctx *ctx)
{
	stdev_remove(ctx->stdev);
	WRITE_ONCE(ctx->removed, true);
	put_device(&ctx->stdev->dev);
}

static void stk_close(struct file *file)
{
	__fput_sync(file);
}

static void stk_exit(struct kunit *test)
{
	struct stk_ctx *ctx = test->priv;
	int i;

	if (!ctx)
		return;
	complete_all(&ctx->link_release);
	if (ctx->stdev && !ctx->removed)
		stk_remove(ctx);
	for (i = 0; i < ctx->nfiles; i++) {
		if (ctx->files[i])
			stk_close(ctx->files[i]);
		if (ctx->stusers[i])
			stuser_put(ctx->stusers[i]);
	}
	if (ctx->stdev)
		put_device(&ctx->stdev->dev);
	stk_unlink();
	/* The work that reads the GAS was cancelled by stdev_remove() */
	vfree(ctx->gas);
	stk_cur = NULL;
}

/* Opens the device node; the test keeps a reference on the stuser. */
static struct file *stk_open(struct kunit *test)
{
	struct stk_ctx *ctx = test->priv;
	struct switchtec_user *stuser;
	struct file *file;

	KUNIT_ASSERT_LT(test, ctx->nfiles, STK_FILES);
	file = filp_open(STK_PATH, O_RDWR, 0);
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(file), "open: %ld", PTR_ERR(file));
	KUNIT_ASSERT_TRUE(test, cdev_revoke_file_is(file, &switchtec_fops));
	stuser = file->private_data;
	kref_get(&stuser->kref);
	ctx->files[ctx->nfiles] = file;
	ctx->stusers[ctx->nfiles++] = stuser;
	return file;
}

static struct switchtec_user *stk_stuser(struct kunit *test, int i)
{
	return ((struct stk_ctx *)test->priv)->stusers[i];
}

/* ---- the firmware ---- */

static void stk_complete_mrpc(struct switchtec_dev *stdev, u32 status,
			      u32 rc, u8 fill)
{
	int i;

	for (i = 0; i < STK_LEN; i++)
		iowrite8(fill, &stdev->mmio_mrpc->output_data[i]);
	iowrite32(rc, &stdev->mmio_mrpc->ret_value);
	iowrite32(status, &stdev->mmio_mrpc->status);
	iowrite32(SWITCHTEC_EVENT_OCCURRED | SWITCHTEC_EVENT_EN_IRQ,
		  &stdev->mmio_part_cfg->mrpc_comp_hdr);
	switchtec_event_isr(0, stdev);
	flush_work(&stdev->mrpc_work);
	iowrite32(SWITCHTEC_EVENT_EN_IRQ, &stdev->mmio_part_cfg->mrpc_comp_hdr);
	/* Busy again, or mrpc_timeout_work would complete the next command */
	iowrite32(SWITCHTEC_MRPC_STATUS_INPROGRESS, &stdev->mmio_mrpc->status);
}

/* ---- file operations with user memory ---- */

struct stk_mrpc_cmd {
	u32 cmd;
	u8 data[STK_LEN];
};

struct stk_mrpc_res {
	u32 rc;
	u8 data[STK_LEN];
};

static ssize_t stk_write_cmd(struct stk_ctx *ctx, struct file *file, u8 fill)
{
	struct stk_mrpc_cmd cmd = { .cmd = STK_CMD };
	void __user *ubuf = (void __user *)ctx->ubuf;

	memset(cmd.data, fill, sizeof(cmd.data));
	if (copy_to_user(ubuf, &cmd, sizeof(cmd)))
		return -EFAULT;
	return vfs_write(file, ubuf, sizeof(cmd), NULL);
}

static ssize_t stk_read_res(struct stk_ctx *ctx, struct file *file,
			    unsigned long off)
{
	return vfs_read(file, (char __user *)ctx->ubuf + off,
			sizeof(struct stk_mrpc_res), NULL);
}

static long stk_event_ctl(struct stk_ctx *ctx, struct file *file, bool compat,
			  u32 event_id, u32 flags,
			  struct switchtec_ioctl_event_ctl *out)
{
	struct switchtec_ioctl_event_ctl ctl = {
		.event_id = event_id,
		.index = 0,
		.flags = flags,
	};
	unsigned long off = 2 * PAGE_SIZE;
	void __user *uctl = (void __user *)(ctx->ubuf + off);
	long ret;

	if (copy_to_user(uctl, &ctl, sizeof(ctl)))
		return -EFAULT;
	if (compat)
		ret = file->f_op->compat_ioctl(file, SWITCHTEC_IOCTL_EVENT_CTL,
					       ctx->ubuf + off);
	else
		ret = file->f_op->unlocked_ioctl(file,
						 SWITCHTEC_IOCTL_EVENT_CTL,
						 ctx->ubuf + off);
	if (out && copy_from_user(out, uctl, sizeof(*out)))
		return -EFAULT;
	return ret;
}

static unsigned int stk_poll(struct file *file, poll_table *pt)
{
	return STK_MASK(vfs_poll(file, pt));
}

/* A poller as poll(2) queues it, woken through its own entry */
struct stk_poller {
	poll_table pt;
	wait_queue_entry_t wait;
	wait_queue_head_t *whead;
	__poll_t key;
	struct completion woken;
};

static int stk_poller_wake(wait_queue_entry_t *wait, unsigned int mode,
			   int sync, void *key)
{
	struct stk_poller *p = container_of(wait, struct stk_poller, wait);

	p->key |= key_to_poll(key);
	complete(&p->woken);
	return 0;
}

static void stk_poller_queue(struct file *file, wait_queue_head_t *whead,
			     poll_table *pt)
{
	struct stk_poller *p = container_of(pt, struct stk_poller, pt);

	if (p->whead)
		return;
	p->whead = whead;
	init_waitqueue_func_entry(&p->wait, stk_poller_wake);
	add_wait_queue(whead, &p->wait);
}

static void stk_poller_init(struct stk_poller *p)
{
	memset(p, 0, sizeof(*p));
	init_poll_funcptr(&p->pt, stk_poller_queue);
	init_completion(&p->woken);
}

/* What free_poll_entry() does when poll(2) returns */
static void stk_poller_done(struct stk_poller *p)
{
	if (p->whead)
		remove_wait_queue(p->whead, &p->wait);
}

/* ---- callers in other threads ---- */

enum stk_op { STK_READ, STK_COMPAT_EVENT_CTL, STK_REMOVE };

struct stk_call {
	enum stk_op op;
	struct stk_ctx *ctx;
	struct file *file;
	long ret;
	struct task_struct *task;
	struct completion done;
};

static int stk_call_fn(void *arg)
{
	struct stk_call *c = arg;

	kthread_use_mm(c->ctx->mm);
	switch (c->op) {
	case STK_READ:
		c->ret = stk_read_res(c->ctx, c->file, PAGE_SIZE);
		break;
	case STK_COMPAT_EVENT_CTL:
		c->ret = stk_event_ctl(c->ctx, c->file, true,
				       SWITCHTEC_IOCTL_EVENT_PPU_ERROR,
				       SWITCHTEC_IOCTL_EVENT_FLAG_EN_POLL,
				       NULL);
		break;
	case STK_REMOVE:
		stk_remove(c->ctx);
		c->ret = 0;
		break;
	}
	kthread_unuse_mm(c->ctx->mm);
	mmput(c->ctx->mm);
	complete_all(&c->done);
	return 0;
}

KUNIT_DEFINE_ACTION_WRAPPER(stk_put_task, put_task_struct,
			    struct task_struct *);

static void stk_start(struct kunit *test, struct stk_call *c, enum stk_op op,
		      struct file *file)
{
	c->op = op;
	c->ctx = test->priv;
	c->file = file;
	init_completion(&c->done);
	c->task = kthread_create(stk_call_fn, c, "stk_%d", op);
	KUNIT_ASSERT_FALSE(test, IS_ERR(c->task));
	/* The thread uses the test's user memory, and the test its task */
	mmget(c->ctx->mm);
	get_task_struct(c->task);
	wake_up_process(c->task);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, stk_put_task,
							c->task), 0);
}

static bool stk_done(struct stk_call *c, unsigned long timeout)
{
	return wait_for_completion_timeout(&c->done, timeout);
}

/* Waits until a reader sleeps on its command's completion */
static bool stk_reader_waits(struct switchtec_user *stuser)
{
	int i;

	for (i = 0; i < 500; i++) {
		/* Only the reader queues on cmd_comp: nobody polls it */
		if (waitqueue_active(&stuser->cmd_comp))
			return true;
		msleep(20);
	}
	return false;
}

/* ---- the cases ---- */

/*
 * After revocation every method answers with switchtec's old dead-device
 * values without entering the driver: the MMIO, the MRPC queue and the
 * stuser (whose only reference left is the test's) stay untouched.
 */
static void stk_expect_revoked(struct kunit *test, struct file *file,
			       struct switchtec_user *stuser)
{
	struct stk_ctx *ctx = test->priv;
	struct switchtec_dev *stdev = ctx->stdev;
	struct switchtec_ioctl_event_ctl ctl;
	struct file *late;

	iowrite32(STK_POISON, &stdev->mmio_mrpc->cmd);
	KUNIT_EXPECT_EQ(test, stk_write_cmd(ctx, file, 0x11), -ENODEV);
	KUNIT_EXPECT_EQ(test, ioread32(&stdev->mmio_mrpc->cmd), STK_POISON);
	KUNIT_EXPECT_EQ(test, stk_read_res(ctx, file, 0), -ENODEV);
	KUNIT_EXPECT_EQ(test, stk_event_ctl(ctx, file, false,
					    SWITCHTEC_IOCTL_EVENT_STACK_ERROR,
					    0, &ctl), -ENODEV);
	if (file->f_op->compat_ioctl)
		KUNIT_EXPECT_EQ(test,
				stk_event_ctl(ctx, file, true,
					      SWITCHTEC_IOCTL_EVENT_STACK_ERROR,
					      0, &ctl), -ENODEV);
	KUNIT_EXPECT_EQ(test, stk_poll(file, NULL), STK_MASK(STK_DEAD_MASK));
	KUNIT_EXPECT_TRUE(test, list_empty(&stdev->mrpc_queue));
	KUNIT_EXPECT_EQ(test, kref_read(&stuser->kref), 1);

	late = filp_open(STK_PATH, O_RDWR, 0);
	KUNIT_EXPECT_TRUE(test, IS_ERR(late));
	if (!IS_ERR(late))
		stk_close(late);
}

/* The contract while the switch is there: an MRPC command round trip */
static void stk_mrpc_roundtrip(struct kunit *test)
{
	struct stk_ctx *ctx = test->priv;
	struct switchtec_dev *stdev = ctx->stdev;
	struct file *file = stk_open(test);
	struct stk_mrpc_res res;
	u8 in[STK_LEN], want[STK_LEN];

	/* Nothing submitted: nothing to read */
	KUNIT_EXPECT_EQ(test, stk_read_res(ctx, file, 0), -EBADE);
	KUNIT_EXPECT_EQ(test, stk_poll(file, NULL), 0);

	KUNIT_ASSERT_EQ(test, stk_write_cmd(ctx, file, 0x5a),
			sizeof(struct stk_mrpc_cmd));
	/* The firmware got the command and its payload */
	KUNIT_EXPECT_EQ(test, ioread32(&stdev->mmio_mrpc->cmd), STK_CMD);
	memcpy_fromio(in, &stdev->mmio_mrpc->input_data, sizeof(in));
	memset(want, 0x5a, sizeof(want));
	KUNIT_EXPECT_MEMEQ(test, in, want, sizeof(in));
	/* One command per user at a time */
	KUNIT_EXPECT_EQ(test, stk_write_cmd(ctx, file, 0x5b), -EBADE);
	file->f_flags |= O_NONBLOCK;
	KUNIT_EXPECT_EQ(test, stk_read_res(ctx, file, 0), -EAGAIN);
	file->f_flags &= ~O_NONBLOCK;

	stk_complete_mrpc(stdev, SWITCHTEC_MRPC_STATUS_DONE, 0, 0xa5);
	KUNIT_EXPECT_EQ(test, stk_poll(file, NULL),
			STK_MASK(EPOLLIN | EPOLLRDNORM));
	KUNIT_ASSERT_EQ(test, stk_read_res(ctx, file, 0), sizeof(res));
	KUNIT_ASSERT_FALSE(test, copy_from_user(&res, (void __user *)ctx->ubuf,
						sizeof(res)));
	KUNIT_EXPECT_EQ(test, res.rc, 0);
	memset(want, 0xa5, sizeof(want));
	KUNIT_EXPECT_MEMEQ(test, res.data, want, sizeof(want));

	/* An error status of the firmware reaches the caller */
	KUNIT_ASSERT_EQ(test, stk_write_cmd(ctx, file, 0x5c),
			sizeof(struct stk_mrpc_cmd));
	stk_complete_mrpc(stdev, SWITCHTEC_MRPC_STATUS_INTERRUPTED, 0, 0);
	KUNIT_EXPECT_EQ(test, stk_read_res(ctx, file, 0), -ENXIO);
	KUNIT_EXPECT_EQ(test, kref_read(&stk_stuser(test, 0)->kref), 2);

	stk_remove(ctx);
	stk_expect_revoked(test, file, stk_stuser(test, 0));
}

/* Event interrupt, poll and the event ioctls, native and compat */
static void stk_events(struct kunit *test)
{
	struct stk_ctx *ctx = test->priv;
	struct switchtec_dev *stdev = ctx->stdev;
	struct file *file = stk_open(test);
	struct switchtec_ioctl_event_summary __user *sum;
	u64 global;
	long ret;
	struct switchtec_ioctl_event_ctl ctl;
	struct stk_poller p;
	u32 __iomem *hdr = &stdev->mmio_sw_event->stack_error_event_hdr;
	int ncompat = file->f_op->compat_ioctl ? 2 : 1;
	int i;

	stk_poller_init(&p);
	KUNIT_EXPECT_EQ(test, stk_poll(file, &p.pt), 0);
	KUNIT_ASSERT_NOT_NULL(test, p.whead);

	/* The switch reports a stack error; the handler masks it */
	iowrite32(0x1, &stdev->mmio_sw_event->global_summary);
	iowrite32(SWITCHTEC_EVENT_OCCURRED | SWITCHTEC_EVENT_EN_IRQ |
		  (3 << 5), hdr);
	KUNIT_EXPECT_EQ(test, switchtec_event_isr(0, stdev), IRQ_HANDLED);
	KUNIT_EXPECT_TRUE(test, wait_for_completion_timeout(&p.woken,
							    STK_TIMEOUT));
	KUNIT_EXPECT_EQ(test, ioread32(hdr), 3 << 5);
	KUNIT_EXPECT_EQ(test, stk_poll(file, NULL),
			STK_MASK(EPOLLPRI | EPOLLRDBAND));

	/* The summary acknowledges the event for this user */
	sum = (void __user *)ctx->ubuf;
	ret = file->f_op->unlocked_ioctl(file, SWITCHTEC_IOCTL_EVENT_SUMMARY,
					 ctx->ubuf);
	KUNIT_EXPECT_EQ(test, ret, 0);
	KUNIT_EXPECT_EQ(test, get_user(global, &sum->global), 0);
	KUNIT_EXPECT_EQ(test, global, 1);
	KUNIT_EXPECT_EQ(test, stk_poll(file, NULL), 0);

	/* Re-arm it, once through each ioctl entry */
	for (i = 0; i < ncompat; i++) {
		iowrite32(3 << 5, hdr);
		ret = stk_event_ctl(ctx, file, i,
				    SWITCHTEC_IOCTL_EVENT_STACK_ERROR,
				    SWITCHTEC_IOCTL_EVENT_FLAG_EN_POLL, &ctl);
		KUNIT_EXPECT_EQ(test, ret, 0);
		KUNIT_EXPECT_EQ(test, ctl.count, 3);
		KUNIT_EXPECT_EQ(test, ctl.flags,
				SWITCHTEC_IOCTL_EVENT_FLAG_EN_POLL);
		KUNIT_EXPECT_EQ(test, ioread32(hdr),
				(3 << 5) | SWITCHTEC_EVENT_EN_IRQ);
	}
	KUNIT_EXPECT_EQ(test, file->f_op->unlocked_ioctl(file, 0x1234, 0),
			-ENOTTY);

	/* The poller sleeps on the core's queue, which revocation wakes */
	reinit_completion(&p.woken);
	p.key = 0;
	stk_remove(ctx);
	KUNIT_EXPECT_TRUE(test, try_wait_for_completion(&p.woken));
	KUNIT_EXPECT_TRUE(test, p.key & EPOLLHUP);
	/* Nothing can queue on it any more: no barrier needed */
	KUNIT_EXPECT_FALSE(test, waitqueue_active(&stdev->event_wq));
	stk_poller_done(&p);
	stk_expect_revoked(test, file, stk_stuser(test, 0));
}

/*
 * Readers blocked on their commands and a poller while another thread
 * runs the remove path: the kick (stdev_kill()) wakes them, they return
 * -ENODEV, every file is released exactly once by the revocation, and
 * nothing the driver queued survives remove.
 */
static void stk_remove_blocked(struct kunit *test)
{
	struct stk_ctx *ctx = test->priv;
	struct switchtec_dev *stdev = ctx->stdev;
	struct stk_call readers[2], rm;
	struct file *polled;
	struct stk_poller p;
	int i;

	for (i = 0; i < ARRAY_SIZE(readers); i++) {
		struct file *file = stk_open(test);

		KUNIT_ASSERT_EQ(test, stk_write_cmd(ctx, file, i),
				sizeof(struct stk_mrpc_cmd));
		stk_start(test, &readers[i], STK_READ, file);
		KUNIT_ASSERT_TRUE(test, stk_reader_waits(stk_stuser(test, i)));
	}
	/* The first command runs (and times out, re-armed), the second waits */
	KUNIT_EXPECT_EQ(test, stk_stuser(test, 0)->state, MRPC_RUNNING);
	KUNIT_EXPECT_EQ(test, stk_stuser(test, 1)->state, MRPC_QUEUED);
	KUNIT_EXPECT_EQ(test, kref_read(&stk_stuser(test, 1)->kref), 3);

	polled = stk_open(test);
	stk_poller_init(&p);
	KUNIT_EXPECT_EQ(test, stk_poll(polled, &p.pt), 0);
	stk_open(test);		/* idle */

	/* A link state change queues link_event_work */
	iowrite32(1 << 5, &stdev->mmio_pff_csr[1].link_state_hdr);
	switchtec_event_isr(0, stdev);

	stk_start(test, &rm, STK_REMOVE, NULL);
	if (!stk_done(&rm, STK_TIMEOUT)) {
		/* The kick did not wake them: fail, and do it to carry on */
		KUNIT_FAIL(test, "remove blocked by sleeping readers");
		stdev_kill(&stdev->cdev);
		KUNIT_ASSERT_TRUE(test, stk_done(&rm, STK_TIMEOUT));
	}
	for (i = 0; i < ARRAY_SIZE(readers); i++) {
		KUNIT_ASSERT_TRUE(test, stk_done(&readers[i], STK_TIMEOUT));
		KUNIT_EXPECT_EQ(test, readers[i].ret, -ENODEV);
	}
	KUNIT_EXPECT_TRUE(test, try_wait_for_completion(&p.woken));
	KUNIT_EXPECT_TRUE(test, p.key & EPOLLHUP);
	stk_poller_done(&p);

	KUNIT_EXPECT_FALSE(test, delayed_work_pending(&stdev->mrpc_timeout));
	KUNIT_EXPECT_FALSE(test, work_pending(&stdev->mrpc_work));
	KUNIT_EXPECT_FALSE(test, work_pending(&stdev->link_event_work));
	for (i = 0; i < ctx->nfiles; i++)
		stk_expect_revoked(test, ctx->files[i], stk_stuser(test, i));

	/* Closing a revoked file does not release it again */
	for (i = 0; i < ctx->nfiles; i++) {
		stk_close(ctx->files[i]);
		ctx->files[i] = NULL;
		KUNIT_EXPECT_EQ(test, kref_read(&stk_stuser(test, i)->kref), 1);
	}
}

/*
 * compat_ptr_ioctl() re-enters ->unlocked_ioctl through the revocation
 * shim.  A compat ioctl parked inside the driver (on mrpc_mutex, which the
 * test holds) is in two nested sections: remove must wait for it, and it
 * must neither deadlock on the fence nor be refused halfway.
 */
static void stk_compat_nested(struct kunit *test)
{
	struct stk_ctx *ctx = test->priv;
	struct switchtec_dev *stdev = ctx->stdev;
	struct file *file = stk_open(test);
	u32 __iomem *hdr = &stdev->mmio_sw_event->ppu_error_event_hdr;
	struct stk_call call, rm;
	int i;

	if (!file->f_op->compat_ioctl)
		kunit_skip(test, "needs CONFIG_COMPAT");

	/* Fault the ioctl's page in: the caller may sleep only on the mutex */
	KUNIT_ASSERT_EQ(test, stk_event_ctl(ctx, file, true,
					    SWITCHTEC_IOCTL_EVENT_PPU_ERROR,
					    0, NULL), 0);

	mutex_lock(&stdev->mrpc_mutex);
	stk_start(test, &call, STK_COMPAT_EVENT_CTL, file);
	for (i = 0; i < 500 && task_is_running(call.task); i++)
		msleep(20);
	KUNIT_EXPECT_FALSE(test, stk_done(&call, HZ / 10));

	stk_start(test, &rm, STK_REMOVE, NULL);
	/* The kick needs the mutex too; the fence holds either way */
	KUNIT_EXPECT_FALSE(test, stk_done(&rm, HZ / 5));
	mutex_unlock(&stdev->mrpc_mutex);

	KUNIT_ASSERT_TRUE(test, stk_done(&call, STK_TIMEOUT));
	KUNIT_ASSERT_TRUE(test, stk_done(&rm, STK_TIMEOUT));
	/* It entered before the fence: its result and its effect stand */
	KUNIT_EXPECT_EQ(test, call.ret, 0);
	KUNIT_EXPECT_EQ(test, ioread32(hdr), SWITCHTEC_EVENT_EN_IRQ);
	stk_expect_revoked(test, file, stk_stuser(test, 0));
}

/* What ntb_hw_switchtec's link notifier would be: slow */
static void stk_link_notifier(struct switchtec_dev *stdev)
{
	complete(&stk_cur->link_entered);
	wait_for_completion(&stk_cur->link_release);
	WRITE_ONCE(stk_cur->link_done, true);
}

/*
 * The event interrupt queues link_event_work, which calls into the NTB
 * driver: remove must not drop the switchtec_dev while it runs.
 */
static void stk_remove_cancels_work(struct kunit *test)
{
	struct stk_ctx *ctx = test->priv;
	struct switchtec_dev *stdev = ctx->stdev;
	struct stk_call rm;

	stdev->link_notifier = stk_link_notifier;
	iowrite32(1 << 5, &stdev->mmio_pff_csr[0].link_state_hdr);
	switchtec_event_isr(0, stdev);
	KUNIT_ASSERT_TRUE(test, wait_for_completion_timeout(&ctx->link_entered,
							    STK_TIMEOUT));

	stk_start(test, &rm, STK_REMOVE, NULL);
	KUNIT_EXPECT_FALSE(test, stk_done(&rm, HZ / 5));
	complete(&ctx->link_release);
	KUNIT_ASSERT_TRUE(test, stk_done(&rm, STK_TIMEOUT));
	KUNIT_EXPECT_TRUE(test, READ_ONCE(ctx->link_done));
	KUNIT_EXPECT_FALSE(test, work_pending(&stdev->link_event_work));
}

static struct kunit_case switchtec_kunit_cases[] = {
	KUNIT_CASE(stk_mrpc_roundtrip),
	KUNIT_CASE(stk_events),
	KUNIT_CASE(stk_remove_blocked),
	KUNIT_CASE(stk_compat_nested),
	KUNIT_CASE(stk_remove_cancels_work),
	{}
};

static struct kunit_suite switchtec_kunit_suite = {
	.name = "switchtec_cdev_revoke",
	.init = stk_init,
	.exit = stk_exit,
	.test_cases = switchtec_kunit_cases,
};

kunit_test_suite(switchtec_kunit_suite);
