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
grep -v CDEV_REVOKE "$LINUX/tools/testing/selftests/cdev_revoke/config" >"$stcfg"
frags=("$REPO/vm/base.config" "$REPO/vm/debug.config" "$REPO/vm/9p-root.config")
# stock objects live at build/stock/out/vm: same relative layout as build/out/vm -> ccache hits
ALLOW_MISSING=1 "$REPO/scripts/build-kernel.sh" "$STOCK" "$BUILD/stock/out/vm" vm-stock "${frags[@]}" "$stcfg" || exit 1
ours_cfg=$LINUX/tools/testing/selftests/cdev_revoke/config
[ "${FALLBACK:-0}" = 1 ] && ours_cfg=$stcfg
ALLOW_MISSING=1 "$REPO/scripts/build-kernel.sh" "$LINUX" "$OUT/vm" vm "${frags[@]}" "$ours_cfg" || exit 1
gcc -O2 -Wall -o "$OUT/demo/cdevtest" "$REPO/scripts/demo-cdevtest.c" -luring || die "cdevtest build failed"

# one value of a CDEVTEST line of a console: the text after "<key>:"
val() { grep -a -m1 "CDEVTEST $2" "$1" | sed -e "s/.*CDEVTEST $2:* *//" -e 's/\r$//'; }
# the kernel's reports: first bug line (function, bug type) and how many
kreports() {
	local log=$1 first n
	first=$(grep -a -m1 -E 'BUG:|Oops|general protection|Kernel panic|WARNING:' "$log" | sed -E -e 's/^\[ *[0-9]+\.[0-9]+\] //' -e 's/\+0x[0-9a-f]+\/0x[0-9a-f]+//' -e 's/\r$//')
	n=$(grep -a -c -E 'BUG:|Oops|general protection' "$log")
	if [ -z "$first" ]; then echo "none: no splat"; else echo "$first ($n reports)"; fi
}
freed_by() { grep -a -A25 'Freed by task' "$1" | grep -a -m1 -oE '[a-z_0-9]+_remove' || true; }
row() { printf '  %-30s | %-44s | %s\n' "$1" "$2" "$3"; }

rc=0
for k in stock ours; do
	if [ $k = stock ]; then img=$BUILD/stock/out/vm/arch/x86/boot/bzImage; else img=$OUT/vm/arch/x86/boot/bzImage; fi
	info "demo: booting the $k kernel"
	# the stock kernel may well die of the bug: only our kernel's run decides the exit status
	VM_TIMEOUT=${VM_TIMEOUT:-600} "$REPO/scripts/vm-run.sh" "$img" demo "$RES/demo-$k-console.log" "$RES/demo-$k" \
		"cdev_demo=$OUT/demo/cdevtest" || { [ $k = stock ] || rc=1; }
done
S=$RES/demo-stock-console.log O=$RES/demo-ours-console.log
echo
echo "================ make demo: /dev/mtd0 held open and read while physmap-flash.0 is unbound ================"
echo "  QEMU pflash bound by physmap-flash, $(grep -a -m1 -o 'accel=[a-z]*' "$O" 2>/dev/null || echo "TCG -smp 2"); same config on both kernels"
row "" "STOCK $(grep -a -m1 -oE 'Linux version [^ ]+' "$S" | cut -d' ' -f3)" "OURS (cdev_revoke, $(git -C "$LINUX" rev-list --count refs/tags/cdev-dev..HEAD) commits)"
row "kernel reports" "$(kreports "$S")" "$(kreports "$O")"
row "memory freed by" "$(freed_by "$S")" "$(freed_by "$O" | grep . || echo -)"
row "unbind with the file open" "$(val "$S" 'step 1: unbind [^:]*' | sed 's/.*: //')" "$(val "$O" 'step 1: unbind [^:]*' | sed 's/.*: //')"
for k in 'pread after unbind' 'io_uring read after' 'ioctl MEMGETINFO after' 'close'; do
	row "$k" "$(val "$S" "step 1: $k")" "$(val "$O" "step 1: $k")"
done
row "unbind/bind loop under load" "$(val "$S" 'step 2 cycles' | cut -d, -f1)" "$(val "$O" 'step 2 cycles' | cut -d, -f1)"
row "  unbind time" "$(val "$S" 'step 2 cycles' | cut -d, -f2-)" "$(val "$O" 'step 2 cycles' | cut -d, -f2-)"
for k in pread 'io_uring read' ioctl; do
	row "  $k" "$(val "$S" "step 2: $k ")" "$(val "$O" "step 2: $k ")"
done
echo "  (a missing value: the guest did not get that far; full consoles: $S $O)"
if "$REPO/scripts/splat-check" "$O" >/dev/null 2>&1 && grep -aq 'CDEVTEST done' "$O"; then
	echo "RESULT: stock kernel: $(kreports "$S"); our kernel: clean errors, no splat"
else
	echo "RESULT: our kernel did not run the scenario cleanly (see $O)"; rc=1
fi
exit $rc
