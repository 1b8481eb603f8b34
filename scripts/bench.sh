#!/bin/bash
# make bench: what opting in to cdev_revoke costs, against raw fops and the mechanisms in use today.
# Builds a NON-debug x86_64 VM kernel (tinyconfig + vm/base.config + vm/9p-root.config +
# vm/bench.config, object dir build/out/bench) with lib/test_cdev_revoke_bench.ko, builds the
# userspace driver (tools/testing/selftests/cdev_revoke/cdev_revoke_bench.c, liburing), boots
# the kernel once under QEMU -smp 2 (KVM if the probe guest boots, else TCG multi-threaded) and
# writes build/results/bench.{md,json,png} (raw samples: build/results/bench-vm/bench-raw.json,
# console: build/results/bench-console.log).
# env: ACCEL=tcg|kvm, BENCH_QUICK=1 (a short run, to test the plumbing), VM_TIMEOUT (s, default 1800)
set -uo pipefail
. "$(dirname "$0")/common.sh"
B=$OUT/bench
U=$OUT/bench-user
RV=$RES/bench-vm
mkdir -p "$RES" "$U" "$RV"
[ -d "$LINUX/.git" ] || die "build/linux missing: run make tree"
rm -f "$RES"/bench.md "$RES"/bench.json "$RES"/bench.png "$RV/bench-raw.json"

"$REPO/scripts/build-kernel.sh" "$LINUX" "$B" bench \
	"$REPO/vm/base.config" "$REPO/vm/9p-root.config" "$REPO/vm/bench.config" || die "bench kernel build failed"
# measurements on a debug kernel are meaningless: refuse one
bad=$(grep -E '^CONFIG_(KASAN|PROVE_LOCKING|LOCKDEP|DEBUG_KMEMLEAK|DEBUG_OBJECTS|KCSAN|DEBUG_ATOMIC_SLEEP|DEBUG_LOCK_ALLOC|DEBUG_LIST|UBSAN|KCOV|SLUB_DEBUG_ON)=y' "$B/.config")
[ -z "$bad" ] || die "the bench kernel has debug options: $bad"
KO=$B/lib/test_cdev_revoke_bench.ko
[ -f "$KO" ] || die "no $KO"

info "bench: building the userspace driver ($U/cdev_revoke_bench)"
gcc -Wall -O2 -g -isystem "$B/usr/include" -o "$U/cdev_revoke_bench" \
	"$LINUX/tools/testing/selftests/cdev_revoke/cdev_revoke_bench.c" -luring -lpthread ||
	die "cdev_revoke_bench build failed"

load=$(cut -d' ' -f1-3 /proc/loadavg)
VM_TIMEOUT=${VM_TIMEOUT:-1800} "$REPO/scripts/vm-run.sh" "$B/arch/x86/boot/bzImage" bench "$RES/bench-console.log" "$RV" \
	"cdev_bench=$U/cdev_revoke_bench" "cdev_bench_ko=$KO" ${BENCH_QUICK:+cdev_bench_quick=1} | tee "$U/vm-run.out"
rc=${PIPESTATUS[0]}
accel=$(sed -n 's/.* accel=\([a-z]*\) .*/\1/p' "$U/vm-run.out" | head -1)
[ $rc = 0 ] || die "bench VM failed (console: $RES/bench-console.log)"
if ! "$REPO/scripts/splat-check" "$RES/bench-console.log" >"$RES/bench-splat.txt"; then
	cat "$RES/bench-splat.txt"; die "the bench kernel reported a problem (see $RES/bench-splat.txt)"
fi
[ -s "$RV/bench-raw.json" ] || { grep -A5 'CDEV BENCH' "$RES/bench-console.log" | tail -20; die "no bench results"; }
grep -q 'CDEV BENCH DONE rc=0' "$RES/bench-console.log" || { grep -B2 -A20 'CDEV BENCH:' "$RES/bench-console.log" | tail -30; die "the benchmark program failed"; }

python3 "$REPO/scripts/bench-report.py" --raw "$RV/bench-raw.json" --accel "${accel:-unknown}" \
	--config "$B/.config" --host-load "$load" --out "$RES" || die "bench report failed"
cat "$RES/bench.md"
info "bench: $RES/bench.md $RES/bench.json $RES/bench.png"
