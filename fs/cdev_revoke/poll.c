// SPDX-License-Identifier: GPL-2.0
/*
 * cdev_revoke: poll forwarding.  See "Pollers" in
 * Documentation/driver-api/cdev_revoke.rst.
 */

#include <linux/poll.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/wait.h>

#include "internal.h"

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
void cdev_revoke_unhook(struct cdev_revoke_file *cf)
{
	struct cdev_revoke_poller *p, *n;
	LIST_HEAD(list);

	/* No operation can add one now: most files were never polled. */
	if (list_empty(&cf->pollers))
		return;
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
__poll_t cdev_revoke_poll(struct file *file, poll_table *pt)
{
	const struct cdev_revoke_fops *t = file_table(file);
	struct cdev_revoke *rv = t->rv;
	struct cdev_revoke_pt wpt;
	__poll_t mask;

	if (!cdev_revoke_enter(rv))
		return rv->poll_mask;
	if (pt && pt->_qproc) {
		wpt.cf = file_record(file);
		if (wpt.cf) {
			init_poll_funcptr(&wpt.pt, cdev_revoke_queue_proc);
			wpt.pt._key = pt->_key;
			wpt.outer = pt;
			wpt.queued = false;
			wpt.nomem = false;
			pt = &wpt.pt;
		}
	}
	mask = t->drv->poll(file, pt);
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
