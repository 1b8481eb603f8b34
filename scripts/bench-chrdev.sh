#!/bin/bash
# bench-chrdev.sh (part of make bench; BENCH_CHRDEV=0 skips it): what the series costs a cdev that
# does not opt in, under TCG, where the native run cannot look (real system calls, 2 vCPUs).
# - ours: the bench kernel of scripts/bench.sh (build/out/bench);
# - hooks out: the same object directory rebuilt with fs/char_dev.c and fs/file_table.c of the
#   base commit (chrdev_open() and __fput() as in the stock kernel: the only places where the
#   series touches the path of a file that does not opt in), then rebuilt as ours again: only
#   those objects and the link differ, so the two images differ in nothing else. (A stock
#   kernel proper would be a second cold build of the whole bench kernel, and would differ in
#   placement everywhere; the native run compares against that one.)
# Pairs of boots alternate the two images (BENCH_CHRDEV_PAIRS, default 8; ~27 s a boot); each boot runs
# `cdev_revoke_bench -S` (the raw device's pread, ioctl, poll, io_uring reads and open + close,
# 1 and 2 threads). Raw samples: build/results/bench-chrdev/{stock,ours}-N/bench-raw.json
# ("stock" = hooks out); bench-report.py --chrdev reads them.
# env: BENCH_QUICK=1 (one pair, short samples)
set -uo pipefail
. "$(dirname "$0")/common.sh"
B=$OUT/bench
U=$OUT/bench-user
C=$RES/bench-chrdev
IMGS=$OUT/bench-chrdev
FILES=(fs/char_dev.c fs/file_table.c)
FRAGS=("$REPO/vm/base.config" "$REPO/vm/9p-root.config" "$REPO/vm/bench.config")
[ -f "$B/arch/x86/boot/bzImage" ] && [ -x "$U/cdev_revoke_bench" ] || die "no bench kernel or driver: run make bench"
rm -rf "$C"; mkdir -p "$C" "$IMGS"

restore() {
	git -C "$LINUX" checkout -q HEAD -- "${FILES[@]}"
}
cp "$B/arch/x86/boot/bzImage" "$IMGS/bzImage-ours"
info "bench-chrdev: the bench kernel with the base commit's chrdev_open() and __fput()"
trap restore EXIT
for f in "${FILES[@]}"; do
	git -C "$LINUX" show "cdev-base:$f" >"$LINUX/$f" || die "no $f in cdev-base"
done
"$REPO/scripts/build-kernel.sh" "$LINUX" "$B" bench-chrdev-stock "${FRAGS[@]}" ||
	die "the hooks-out bench kernel failed to build"
cp "$B/arch/x86/boot/bzImage" "$IMGS/bzImage-stock"
restore
trap - EXIT
info "bench-chrdev: the bench kernel as ours again"
"$REPO/scripts/build-kernel.sh" "$LINUX" "$B" bench "${FRAGS[@]}" || die "bench kernel rebuild failed"

pairs=${BENCH_CHRDEV_PAIRS:-8} args=-S,-r,7,-d,200
[ -n "${BENCH_QUICK:-}" ] && { pairs=1; args=-S,-r,2,-d,20; }
for i in $(seq 1 "$pairs"); do
	for k in stock ours; do
		d=$C/$k-$i
		mkdir -p "$d"
		VM_TIMEOUT=600 "$REPO/scripts/vm-run.sh" "$IMGS/bzImage-$k" bench "$d/console.log" "$d" \
			"cdev_bench=$U/cdev_revoke_bench" "cdev_bench_ko=$B/lib/test_cdev_revoke_bench.ko" \
			"cdev_bench_args=$args" >"$d/vm-run.out" 2>&1 || die "bench-chrdev: $k boot $i failed ($d/console.log)"
		grep -q 'CDEV BENCH DONE rc=0' "$d/console.log" && [ -s "$d/bench-raw.json" ] ||
			die "bench-chrdev: $k boot $i: the benchmark failed ($d/console.log)"
		"$REPO/scripts/splat-check" "$d/console.log" >"$d/splat.txt" ||
			{ cat "$d/splat.txt"; die "bench-chrdev: $k boot $i reported a problem"; }
	done
	info "bench-chrdev: pair $i of $pairs done"
done
