#!/bin/bash
# stock-kernel.sh: the STOCK 6.12 VM kernel (build/stock/linux = the base commit, no patches and
# no overlay) with the configuration of the test VM minus the project-only symbols, so that the
# stock and our kernel differ only by the series. Prints the bzImage path on its last line.
# Used by make demo (the seed scene) and make controls (the conversions' stock controls).
# Objects live at build/stock/out/vm: same relative layout as build/out/vm, so ccache hits.
set -uo pipefail
. "$(dirname "$0")/common.sh"
"$REPO/scripts/tree.sh" stock >&2 || exit 1
mkdir -p "$OUT/frag"
stcfg=$OUT/frag/selftests-noproject.config
grep -v CDEV_REVOKE "$LINUX/tools/testing/selftests/cdev_revoke/config" >"$stcfg"
frags=("$REPO/vm/base.config" "$REPO/vm/debug.config" "$REPO/vm/9p-root.config" "$stcfg")
ALLOW_MISSING=1 "$REPO/scripts/build-kernel.sh" "$STOCK" "$BUILD/stock/out/vm" vm-stock "${frags[@]}" >&2 || exit 1
echo "$BUILD/stock/out/vm/arch/x86/boot/bzImage"
