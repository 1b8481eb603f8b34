#!/bin/bash
# bench-gpio.sh (part of make bench; BENCH_GPIO=0 skips it): what the gpiolib conversion costs
# or saves per ioctl, against the stock gpiolib it replaces, on the same kernel otherwise.
# - ours: the bench kernel of scripts/bench.sh (build/out/bench, gpio-sim built in);
# - stock: the same object directory rebuilt with drivers/gpio/gpiolib{,-cdev}.[ch] of the base
#   commit (its per-ioctl SRCU read section and chip test, its notifier wake-ups), then rebuilt
#   as ours again: only those objects and the link differ, so the two images differ in nothing else.
# Pairs of boots alternate the two images (BENCH_GPIO_PAIRS, default 4); each boot runs
# `cdev_revoke_bench -G` (GET_VALUES on a line request, LINEINFO on the chip, the raw device's
# no-op ioctl as the floor of a system call, interleaved). Raw samples:
# build/results/bench-gpio/{stock,ours}-N/bench-raw.json; bench-report.py --gpio reads them.
# env: BENCH_QUICK=1 (one pair, short samples)
set -uo pipefail
. "$(dirname "$0")/common.sh"
B=$OUT/bench
U=$OUT/bench-user
G=$RES/bench-gpio
IMGS=$OUT/bench-gpio
FILES=(drivers/gpio/gpiolib.c drivers/gpio/gpiolib.h drivers/gpio/gpiolib-cdev.c drivers/gpio/gpiolib-cdev.h)
FRAGS=("$REPO/vm/base.config" "$REPO/vm/9p-root.config" "$REPO/vm/bench.config")
[ -f "$B/arch/x86/boot/bzImage" ] && [ -x "$U/cdev_revoke_bench" ] || die "no bench kernel or driver: run make bench"
grep -q '^CONFIG_GPIO_SIM=y' "$B/.config" || die "the bench kernel has no gpio-sim (vm/bench.config)"
rm -rf "$G"; mkdir -p "$G" "$IMGS"

restore() {
	git -C "$LINUX" checkout -q HEAD -- "${FILES[@]}"
}
cp "$B/arch/x86/boot/bzImage" "$IMGS/bzImage-ours"
info "bench-gpio: the bench kernel with the base commit's gpiolib"
trap restore EXIT
for f in "${FILES[@]}"; do
	git -C "$LINUX" show "cdev-base:$f" >"$LINUX/$f" || die "no $f in cdev-base"
done
"$REPO/scripts/build-kernel.sh" "$LINUX" "$B" bench-gpio-stock "${FRAGS[@]}" ||
	die "the stock-gpiolib bench kernel failed to build"
cp "$B/arch/x86/boot/bzImage" "$IMGS/bzImage-stock"
restore
trap - EXIT
info "bench-gpio: the bench kernel as ours again"
"$REPO/scripts/build-kernel.sh" "$LINUX" "$B" bench "${FRAGS[@]}" || die "bench kernel rebuild failed"
cmp -s "$B/arch/x86/boot/bzImage" "$IMGS/bzImage-ours" ||
	info "bench-gpio: note: the rebuilt image differs from the first (timestamps); the first is used"

pairs=${BENCH_GPIO_PAIRS:-4} args=-G,-r,12,-d,200
[ -n "${BENCH_QUICK:-}" ] && { pairs=1; args=-G,-r,2,-d,20; }
for i in $(seq 1 "$pairs"); do
	for k in stock ours; do
		d=$G/$k-$i
		mkdir -p "$d"
		VM_TIMEOUT=600 "$REPO/scripts/vm-run.sh" "$IMGS/bzImage-$k" bench "$d/console.log" "$d" \
			"cdev_bench=$U/cdev_revoke_bench" "cdev_bench_ko=$B/lib/test_cdev_revoke_bench.ko" \
			"cdev_bench_args=$args" >"$d/vm-run.out" 2>&1 || die "bench-gpio: $k boot $i failed ($d/console.log)"
		grep -q 'CDEV BENCH DONE rc=0' "$d/console.log" && [ -s "$d/bench-raw.json" ] ||
			die "bench-gpio: $k boot $i: the benchmark failed ($d/console.log)"
		"$REPO/scripts/splat-check" "$d/console.log" >"$d/splat.txt" ||
			{ cat "$d/splat.txt"; die "bench-gpio: $k boot $i reported a problem"; }
	done
	info "bench-gpio: pair $i of $pairs done"
done
