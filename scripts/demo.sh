#!/bin/bash
# make demo: the seed scenario. On QEMU with the physmap pflash MTD: open /dev/mtd0, unbind
# physmap-flash.0, then read the stale fd via io_uring and pread. Runs it on the STOCK 6.12 kernel
# (build/stock/linux = base commit, no patches/overlay) and on OUR kernel (build/linux), and reports
# what each kernel printed. Logs: build/results/demo-{stock,ours}-console.log
set -uo pipefail
. "$(dirname "$0")/common.sh"
"$REPO/scripts/deps.sh" || exit 1
"$REPO/scripts/tree.sh" apply || exit 1
"$REPO/scripts/tree.sh" stock || exit 1
mkdir -p "$OUT/frag" "$OUT/demo" "$RES"
# the same VM configuration on both kernels, minus the project-only symbols
stcfg=$OUT/frag/selftests-noproject.config
grep -v CDEV_REVOKE "$REPO/tools/testing/selftests/cdev_revoke/config" >"$stcfg"
frags=("$REPO/vm/base.config" "$REPO/vm/debug.config" "$REPO/vm/9p-root.config")
# stock objects live at build/stock/out/vm: same relative layout as build/out/vm -> ccache hits
ALLOW_MISSING=1 "$REPO/scripts/build-kernel.sh" "$STOCK" "$BUILD/stock/out/vm" vm-stock "${frags[@]}" "$stcfg" || exit 1
ours_cfg=$REPO/tools/testing/selftests/cdev_revoke/config
[ "${FALLBACK:-0}" = 1 ] && ours_cfg=$stcfg
ALLOW_MISSING=1 "$REPO/scripts/build-kernel.sh" "$LINUX" "$OUT/vm" vm "${frags[@]}" "$ours_cfg" || exit 1
gcc -O2 -Wall -o "$OUT/demo/cdevtest" "$REPO/scripts/demo-cdevtest.c" -luring || die "cdevtest build failed"

report() { # NAME LOG TREE
	local name=$1 log=$2 tree=$3
	echo "==== $name kernel ($(grep -m1 -o 'Linux version [^ ]*' "$log"), $tree):"
	grep -E 'CDEVTEST' "$log" | sed 's/^/    /'
	local heads
	heads=$(grep -E 'BUG:|WARNING:|Oops|general protection|Kernel panic|refcount_t:|corruption|possible .*locking|unreferenced object' "$log" | grep -v 'CDEVTEST' | sed -E 's/^\[ *[0-9]+\.[0-9]+\] //' | sort | uniq -c | sed 's/^/    /')
	if [ -n "$heads" ]; then echo "  kernel reports:"; echo "$heads"; else echo "  kernel reports: none (clean)"; fi
}
rc=0
for k in stock ours; do
	if [ $k = stock ]; then img=$BUILD/stock/out/vm/arch/x86/boot/bzImage; else img=$OUT/vm/arch/x86/boot/bzImage; fi
	VM_TIMEOUT=${VM_TIMEOUT:-600} "$REPO/scripts/vm-run.sh" "$img" demo "$RES/demo-$k-console.log" "$RES/demo-$k" \
		"cdev_demo=$OUT/demo/cdevtest" || rc=1
done
echo
echo "================ make demo: open /dev/mtd0, unbind physmap-flash.0, read the stale fd ================"
report "STOCK 6.12" "$RES/demo-stock-console.log" "build/stock/linux = $(git -C "$STOCK" log -1 --format='%h %s' HEAD)"
report "OUR" "$RES/demo-ours-console.log" "build/linux = $(git -C "$LINUX" log -1 --format=%h HEAD), $(git -C "$LINUX" rev-list --count refs/tags/cdev-dev..HEAD) commits on the base"
echo "full consoles: $RES/demo-stock-console.log $RES/demo-ours-console.log"
exit $rc
