#!/bin/bash
# make bench, native run: put the benchmark module into the stock worktree (build/stock/linux, the
# base commit), so that the same KUnit suite measures a cdev that does not opt in on the stock
# kernel and on ours. Workbench only: the stock tree has no cdev_revoke, so its copy of the
# module gets a stub header (cdev_revoke_init() and cdev_revoke() do nothing; the module's
# "cdev_revoke" device is then one more unprotected device) and loses its ksize() report.
# Only the raw device's figures of the stock run are used. `bench-stock-prep.sh clean` restores
# the worktree.
set -euo pipefail
. "$(dirname "$0")/common.sh"
[ -e "$STOCK/.git" ] || die "no stock worktree: run scripts/tree.sh stock"
if [ "${1:-}" = clean ]; then
	git -C "$STOCK" checkout -q -- lib/Makefile lib/Kconfig.debug
	rm -f "$STOCK/lib/test_cdev_revoke_bench.c" "$STOCK/include/linux/cdev_revoke.h"
	exit 0
fi
sed -e 's/if (d->cdev->revoke)/if (0)/' -e 's/ksize(d->cdev->revoke)/0/' \
	"$LINUX/lib/test_cdev_revoke_bench.c" >"$STOCK/lib/test_cdev_revoke_bench.c"
cat >"$STOCK/include/linux/cdev_revoke.h" <<'H'
/* SPDX-License-Identifier: GPL-2.0 */
/* Workbench stub (scripts/bench-stock-prep.sh): the stock kernel has no cdev_revoke. */
#ifndef _LINUX_CDEV_REVOKE_H
#define _LINUX_CDEV_REVOKE_H
#include <linux/cdev.h>
struct cdev_revoke_info {
	void (*kick)(struct cdev *cdev);
};
static inline int cdev_revoke_init(struct cdev *cdev, const struct cdev_revoke_info *info)
{
	return 0;
}
static inline void cdev_revoke(struct cdev *cdev)
{
}
#endif
H
grep -q test_cdev_revoke_bench "$STOCK/lib/Makefile" ||
	echo 'obj-$(CONFIG_TEST_CDEV_REVOKE_BENCH) += test_cdev_revoke_bench.o' >>"$STOCK/lib/Makefile"
if ! grep -q "config TEST_CDEV_REVOKE_BENCH" "$STOCK/lib/Kconfig.debug"; then
	# the entry as our tree has it, before the stock tree's TEST_KMOD entry
	entry=$(awk '/^config TEST_CDEV_REVOKE_BENCH$/{p=1} p&&/^config /&&!/TEST_CDEV_REVOKE_BENCH/{exit} p' \
		"$LINUX/lib/Kconfig.debug")
	[ -n "$entry" ] || die "no TEST_CDEV_REVOKE_BENCH entry in $LINUX/lib/Kconfig.debug"
	python3 - "$STOCK/lib/Kconfig.debug" "$entry" <<'P'
import sys
p, entry = sys.argv[1], sys.argv[2]
s = open(p).read()
i = s.index("config TEST_KMOD\n")
open(p, "w").write(s[:i] + entry.rstrip() + "\n\n" + s[i:])
P
fi
