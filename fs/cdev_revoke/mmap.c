// SPDX-License-Identifier: GPL-2.0
/*
 * cdev_revoke: the vm_operations shims, mmap and the zap of mappings.
 */

#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/writeback.h>

#include "internal.h"

/*
 * vm_operations.  Every method is wrapped: before revocation it runs in
 * the fence, after it the driver is not called and the shim answers (a
 * fault is a SIGBUS).  That includes ->open and ->close: a VMA split,
 * copied by fork() or unmapped after revocation calls neither, so a
 * driver that counts its VMAs with them frees at ->release (or in its
 * kick hook) what the last ->close would have freed.  The VMA's
 * ->vm_private_data is the driver's and is not touched.
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

static void cdev_revoke_vm_close(struct vm_area_struct *vma)
{
	struct cdev_revoke_vm_shim *s = vma_shim(vma);

	if (!cdev_revoke_enter(s->rv))
		return;
	s->drv->close(vma);
	cdev_revoke_leave(s->rv);
}

static const struct vm_operations_struct *
cdev_revoke_vm_ops(struct cdev_revoke *rv, const struct vm_operations_struct *drv)
{
	const struct vm_operations_struct ops = {
		.open = drv->open ? cdev_revoke_vm_open : NULL,
		.close = drv->close ? cdev_revoke_vm_close : NULL,
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

void cdev_revoke_drop_mms(struct list_head *list)
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
int cdev_revoke_mmap(struct file *file, struct vm_area_struct *vma)
{
	const struct cdev_revoke_fops *t = file_table(file);
	struct cdev_revoke *rv = t->rv;
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
	ret = t->drv->mmap(file, vma);
	if (ret || vma->vm_file != file)
		goto out;

	if (vma->vm_ops && vma->vm_ops != &vma_dummy_vm_ops) {
		ops = cdev_revoke_vm_ops(rv, vma->vm_ops);
		if (!ops) {
			/* mmap_region() does not close a VMA ->mmap failed. */
			if (vma->vm_ops->close)
				vma->vm_ops->close(vma);
			ret = -ENOMEM;
			goto out;
		}
		vma->vm_ops = ops;
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

/*
 * Remove every PTE that maps the device.  VMAs pin their file, so each is
 * in the mapping of a tracked file; wait first for mms that may still be
 * linking a VMA whose ->mmap has returned.
 */
void cdev_revoke_zap(struct cdev_revoke *rv)
{
	struct address_space *mapping, *last = NULL;
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

	/*
	 * The fence is up: nothing adds to or removes from rv->files now.
	 * Files opened through one inode share its mapping: zap it once for
	 * a run of them, not once per file.
	 */
	list_for_each_entry(cf, &rv->files, node) {
		mapping = cf->file->f_mapping;
		if (mapping == last)
			continue;
		last = mapping;
		unmap_mapping_range(mapping, 0, 0, 1);
	}
}

