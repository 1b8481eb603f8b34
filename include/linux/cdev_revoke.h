/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cdev_revoke - revocation of character devices with open files
 *
 * See Documentation/driver-api/cdev_revoke.rst for the contract.
 */
#ifndef _LINUX_CDEV_REVOKE_H
#define _LINUX_CDEV_REVOKE_H

#include <linux/cdev.h>
#include <linux/fs.h>
#include <linux/lockdep_types.h>
#include <linux/types.h>

struct cdev;
struct cdev_revoke;
struct miscdevice;
struct usb_interface;

/**
 * enum cdev_revoke_flags - behaviour of a revocable character device
 * @CDEV_REVOKE_READ_EOF: after revocation, ->read, ->read_iter and
 *	->splice_read report end of file (return 0) instead of the error.
 *	io_uring reads go through ->read_iter or ->read and see the same.
 * @CDEV_REVOKE_WAIT_CLOSE: the "wait for close" flavour: cdev_revoke()
 *	refuses new opens, then waits up to &cdev_revoke_info.close_timeout
 *	for every open file to be closed before it detaches the rest.  The
 *	default flavour detaches open files at once.
 */
enum cdev_revoke_flags {
	CDEV_REVOKE_READ_EOF	= 1 << 0,
	CDEV_REVOKE_WAIT_CLOSE	= 1 << 1,
};

/**
 * struct cdev_revoke_info - how a revocable character device behaves
 * @error: negative errno returned by file operations once the device is
 *	revoked; 0 means -ENODEV.
 * @flags: &enum cdev_revoke_flags.
 * @poll_mask: mask reported by ->poll once the device is revoked; 0 means
 *	EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLRDNORM | EPOLLWRNORM.
 * @close_timeout: for %CDEV_REVOKE_WAIT_CLOSE, how long (in jiffies)
 *	cdev_revoke() waits for open files to be closed; 0 means 10 seconds.
 * @kick: called once by cdev_revoke() after new file operations have been
 *	refused and before it waits for running ones.  It must wake every
 *	sleeper of the device and complete or cancel work that would call
 *	back into the driver.  May sleep.  Optional.
 * @kick_misc: @kick for a misc device (see "Misc devices" in the
 *	documentation).  Optional.
 * @kick_usb: @kick for a minor of usb_register_dev(), with its interface.
 *	Optional.
 * @kick_file: same as @kick for one open file, called for each file that
 *	is still open, after @kick.  The file's ->release has not run yet.
 *	Child files (cdev_revoke_anon_getfile()) are open files too.  May
 *	sleep.  Optional.
 * @key: lockdep class of the fences of the devices that opt in through a
 *	registrar (misc, usbcore) with this structure.  Not to be set.
 *
 * The structure is usually a static const object of the driver; it must
 * stay valid for as long as the device or a file of it lives.  For a misc
 * device or a USB class driver it must be static: it holds a lockdep key.
 */
struct cdev_revoke_info {
	int error;
	unsigned int flags;
	__poll_t poll_mask;
	unsigned long close_timeout;
	void (*kick)(struct cdev *cdev);
	void (*kick_misc)(struct miscdevice *misc);
	void (*kick_usb)(struct usb_interface *intf);
	void (*kick_file)(struct file *file);
	struct lock_class_key key;
};

int __cdev_revoke_init(struct cdev *cdev, const struct cdev_revoke_info *info,
		       unsigned int subclass, const char *name,
		       struct lock_class_key *key);

/**
 * cdev_revoke_init - make a character device revocable
 * @cdev: the cdev, after cdev_init() or cdev_alloc() and before cdev_add()
 *	or cdev_device_add()
 * @info: the device's behaviour after revocation, or %NULL for defaults
 *
 * From now on every file operation of @cdev runs through a shim that lets
 * cdev_revoke() fence the driver off.  Until cdev_revoke() is called the
 * device behaves exactly as before.
 *
 * Each call site gets its own lockdep class for the fence.
 *
 * Context: Process context.
 * Return: 0, -ENOMEM, or -EBUSY (and a warning) if @cdev is already live or
 * already revocable.
 */
#define cdev_revoke_init(cdev, info)	cdev_revoke_init_nested(cdev, info, 0)

/**
 * cdev_revoke_init_nested - make a character device revocable, nested
 * @cdev: as for cdev_revoke_init()
 * @info: as for cdev_revoke_init()
 * @subclass: lockdep subclass of the fence of @cdev
 *
 * Same as cdev_revoke_init().  The fences of all cdevs made revocable at
 * one call site share a lockdep class, so a file operation of one of them
 * that revokes another one (a partition deleted through an ioctl of its
 * parent, say) looks like a self-revocation to lockdep.  Give each such
 * device a subclass that reflects its depth, as with mutex_lock_nested():
 * its file operations and its revocation then both use that subclass, so
 * lockdep checks the nesting instead of being blind to it.
 *
 * Return: as for cdev_revoke_init().
 */
#define cdev_revoke_init_nested(cdev, info, subclass)			\
({									\
	static struct lock_class_key __cdev_revoke_key;			\
									\
	__cdev_revoke_init((cdev), (info), (subclass), #cdev,		\
			   &__cdev_revoke_key);				\
})

void cdev_revoke(struct cdev *cdev);
bool cdev_revoke_pending(const struct file *file);
void cdev_revoke_break_active_protection(struct file *file);
bool __must_check cdev_revoke_unbreak_active_protection(struct file *file);
const struct file_operations *cdev_revoke_real_fops(const struct file *file);
struct file *cdev_revoke_anon_getfile(struct file *parent, const char *name,
				      const struct file_operations *fops,
				      void *priv, int flags);
int cdev_revoke_anon_getfd(struct file *parent, const char *name,
			   const struct file_operations *fops, void *priv,
			   int flags);

/**
 * cdev_revoke_file_is - test whether a file was opened through given fops
 * @file: the file
 * @fops: a driver's file_operations
 *
 * Drivers that recognise their own files by comparing @file->f_op with
 * their table must use this helper instead: the files of a revocable
 * device point to the shim's table.
 *
 * Return: true if @file runs @fops, directly or through the shim.
 */
static inline bool cdev_revoke_file_is(const struct file *file,
				       const struct file_operations *fops)
{
	return cdev_revoke_real_fops(file) == fops;
}

/* For registrars that open many devices through one cdev (misc, usbcore). */
struct cdev_revoke *cdev_revoke_alloc(const struct file_operations *fops,
				      const struct cdev_revoke_info *info,
				      dev_t devt, void (*kick)(void *arg),
				      void *arg, const char *name);
int cdev_revoke_open_file(struct cdev_revoke *rv, struct inode *inode,
			  struct file *file);
void __cdev_revoke(struct cdev_revoke *rv);
void cdev_revoke_put(struct cdev_revoke *rv);

/*
 * For fs/char_dev.c and fs/file_table.c only.  The inline tests keep the
 * open and the last close of a cdev that did not opt in free of calls.
 */
const struct file_operations *cdev_revoke_fops(struct cdev *cdev);
bool __cdev_revoke_stale(struct cdev *cdev);
void cdev_revoke_del(struct cdev *cdev);
struct cdev *__cdev_revoke_file_cdev(const struct file *file);
void cdev_revoke_free(struct cdev *cdev);
int cdev_revoke_open(struct inode *inode, struct file *file);

/* A revocable cdev whose inodes must look the device up again. */
static inline bool cdev_revoke_stale(struct cdev *cdev)
{
	return cdev->revoke && __cdev_revoke_stale(cdev);
}

/* Whether @file runs the shim table of a revocable cdev's files. */
static inline bool cdev_revoke_shim_file(const struct file *file)
{
	return file->f_op && file->f_op->open == cdev_revoke_open;
}

#endif /* _LINUX_CDEV_REVOKE_H */
