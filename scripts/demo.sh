#!/bin/bash
# make demo: the seed scenario. On QEMU with the physmap pflash MTD: open /dev/mtd0, unbind
# physmap-flash.0, then read the stale fd via io_uring and pread. Runs it on the STOCK 6.12 kernel
# (build/stock/linux = base commit, no patches/overlay) and on OUR kernel (build/linux), and reports
# what each kernel printed (scripts/demo-table.sh). Consoles: build/results/demo-{stock,ours}-console.log;
# the program's output: build/results/demo-{stock,ours}/demo.txt.
# env: VM_TIMEOUT (s per boot, default 600), DEMO_TIMEOUT (s for the program in the guest, default 300)
set -uo pipefail
. "$(dirname "$0")/common.sh"
"$REPO/scripts/deps.sh" || exit 1
"$REPO/scripts/tree.sh" apply || exit 1
stock_img=$("$REPO/scripts/stock-kernel.sh" | tail -1) && [ -f "$stock_img" ] || exit 1
mkdir -p "$OUT/frag" "$OUT/demo" "$RES"
frags=("$REPO/vm/base.config" "$REPO/vm/debug.config" "$REPO/vm/9p-root.config")
ours_cfg=$LINUX/tools/testing/selftests/cdev_revoke/config
[ "${FALLBACK:-0}" = 1 ] && ours_cfg=$OUT/frag/selftests-noproject.config
ALLOW_MISSING=1 "$REPO/scripts/build-kernel.sh" "$LINUX" "$OUT/vm" vm "${frags[@]}" "$ours_cfg" || exit 1
gcc -O2 -Wall -o "$OUT/demo/cdevtest" "$REPO/scripts/demo-cdevtest.c" -luring || die "cdevtest build failed"

rc=0
for k in stock ours; do
	if [ $k = stock ]; then img=$stock_img; else img=$OUT/vm/arch/x86/boot/bzImage; fi
	info "demo: booting the $k kernel"
	# the stock kernel may well die of the bug: only our kernel's run decides the exit status
	VM_TIMEOUT=${VM_TIMEOUT:-600} "$REPO/scripts/vm-run.sh" "$img" demo "$RES/demo-$k-console.log" "$RES/demo-$k" \
		"cdev_demo=$OUT/demo/cdevtest" "cdev_demo_timeout=${DEMO_TIMEOUT:-300}" || { [ $k = stock ] || rc=1; }
done
S=$RES/demo-stock-console.log O=$RES/demo-ours-console.log
echo
accel=${ACCEL:-$(cat "$OUT/kvm-probe.txt" 2>/dev/null || echo tcg)}
[ "$accel" = kvm ] && accel=KVM || accel=TCG
DEMO_ACCEL=$accel DEMO_OURS_LABEL="OURS (cdev_revoke, $(git -C "$LINUX" rev-list --count refs/tags/cdev-dev..HEAD) commits)" \
	"$REPO/scripts/demo-table.sh" "$S" "$RES/demo-stock" "$O" "$RES/demo-ours" || rc=1
# the stock kernel's first report, from its keyword on (it can start in the middle of a program line)
first=$(grep -a -m1 -oE '(BUG:|Oops|general protection|Kernel panic|WARNING:).*' "$S" | sed -E -e 's/\+0x[0-9a-f]+\/0x[0-9a-f]+//' -e 's/\r$//')
if "$REPO/scripts/splat-check" "$O" >/dev/null 2>&1 && grep -aq '^CDEVTEST done' "$RES/demo-ours/demo.txt" && [ $rc = 0 ]; then
	echo "RESULT: stock kernel: ${first:-no splat}; our kernel: clean errors, no splat"
else
	echo "RESULT: our kernel did not run the scenario cleanly (see $O and $RES/demo-ours/demo.txt)"; rc=1
fi
exit $rc
