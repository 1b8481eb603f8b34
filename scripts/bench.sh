#!/bin/bash
# make bench: what opting in to cdev_revoke costs, against raw fops and the mechanisms in use today.
# Two runs, one report:
# 1. native: a NON-debug UML kernel (vm/bench-uml.config, object dir build/out/bench-uml) that runs
#    the KUnit suite cdev_revoke_bench of lib/test_cdev_revoke_bench.c on the host CPU, no
#    emulation (console: build/results/bench-uml-console.log), then the same suite's raw device in
#    boots that alternate a stock UML kernel (build/stock/linux + scripts/bench-stock-prep.sh) and
#    ours (build/results/bench-uml-ab/), and scripts/bench-locked.c on the host (what a lock prefix
#    costs, for the report's SMP estimate of the native figures);
# 2. TCG (or KVM): builds a NON-debug x86_64 VM kernel (tinyconfig + vm/base.config + vm/9p-root.config +
# vm/bench.config, object dir build/out/bench) with lib/test_cdev_revoke_bench.ko, builds the
# userspace driver (tools/testing/selftests/cdev_revoke/cdev_revoke_bench.c, liburing), boots
# the kernel once under QEMU -smp 2 (KVM if the probe guest boots, else TCG multi-threaded) and
# writes build/results/bench.{md,json,png} (raw samples: build/results/bench-vm/bench-raw.json,
# console: build/results/bench-console.log).
# env: ACCEL=tcg|kvm, BENCH_QUICK=1 (a short run, to test the plumbing), VM_TIMEOUT (s, default 1800),
#      BENCH_ONLY=native|vm|gpio (one of the runs; gpio: scripts/bench-gpio.sh alone),
#      BENCH_ARGS=-x,-R,10 (options of the userspace driver, comma-separated: -x revocations
#      only, -b a busy CPU during them; see its usage),
#      BENCH_STOCK=0 (no stock boots), BENCH_STOCK_PAIRS (default 10),
#      BENCH_GPIO=0 (no gpiolib comparison), BENCH_GPIO_PAIRS (default 4),
#      BENCH_CHRDEV=0 (no TCG comparison of a cdev that does not opt in), BENCH_CHRDEV_PAIRS (default 8)
set -uo pipefail
. "$(dirname "$0")/common.sh"
B=$OUT/bench
U=$OUT/bench-user
RV=$RES/bench-vm
mkdir -p "$RES" "$U" "$RV"
[ -d "$LINUX/.git" ] || die "build/linux missing: run make tree"
rm -f "$RES"/bench.md "$RES"/bench.json "$RES"/bench.png "$RV/bench-raw.json" "$RES"/bench-uml-console.log
DEBUG_OPTS='^CONFIG_(KASAN|PROVE_LOCKING|LOCKDEP|DEBUG_KMEMLEAK|DEBUG_OBJECTS|KCSAN|DEBUG_ATOMIC_SLEEP|DEBUG_LOCK_ALLOC|DEBUG_LIST|UBSAN|KCOV|SLUB_DEBUG_ON)=y'
load=$(cut -d' ' -f1-3 /proc/loadavg)
report=()

if [ "${BENCH_ONLY:-}" != vm ] && [ "${BENCH_ONLY:-}" != gpio ]; then
	NB=$OUT/bench-uml
	mkdir -p "$NB"
	info "bench: native UML kernel ($NB)"
	(cd "$LINUX" && python3 tools/testing/kunit/kunit.py build --arch=um --kunitconfig="$REPO/vm/bench-uml.config" \
		--build_dir="$NB" --jobs="$JOBS" --make_options "CC=ccache gcc") >"$RES/bench-uml-build.log" 2>&1 ||
		{ tail -30 "$RES/bench-uml-build.log"; die "native bench kernel build failed"; }
	bad=$(grep -E "$DEBUG_OPTS" "$NB/.config")
	[ -z "$bad" ] || die "the native bench kernel has debug options: $bad"
	quick=()
	[ -n "${BENCH_QUICK:-}" ] && quick=(test_cdev_revoke_bench.native_reps=2 test_cdev_revoke_bench.native_ms=5
		test_cdev_revoke_bench.native_scale=10000)
	nload=$(cut -d' ' -f1-3 /proc/loadavg)
	info "bench: native run (UML, load $nload)"
	timeout "${VM_TIMEOUT:-1800}" "$NB/linux" mem=1G kunit.enable=1 kunit.filter_glob=cdev_revoke_bench \
		kunit_shutdown=halt "${quick[@]}" </dev/null >"$RES/bench-uml-console.log" 2>&1 ||
		info "bench: UML exited with $? (console: $RES/bench-uml-console.log)"
	if ! "$REPO/scripts/splat-check" "$RES/bench-uml-console.log" >"$RES/bench-uml-splat.txt"; then
		cat "$RES/bench-uml-splat.txt"; die "the native bench kernel reported a problem (see $RES/bench-uml-splat.txt)"
	fi
	python3 "$REPO/scripts/ktap.py" extract "$RES/bench-uml-console.log" "$RES/bench-uml.tap" || true
	grep -q '^ok [0-9]* cdev_revoke_bench' "$RES/bench-uml.tap" ||
		{ grep -E 'not ok|Expected|ASSERT|BUG|WARN' "$RES/bench-uml-console.log" | head -20; die "the native benchmark failed"; }
	report+=(--native "$RES/bench-uml-console.log" --native-config "$NB/.config")
	# What a lock prefix costs on this CPU, for the report's SMP estimate (UML has none).
	if gcc -O2 -Wall -o "$OUT/bench-locked" "$REPO/scripts/bench-locked.c" 2>"$RES/bench-locked-build.log"; then
		"$OUT/bench-locked" >"$RES/bench-locked.txt" && [ -s "$RES/bench-locked.txt" ] &&
			report+=(--locked "$RES/bench-locked.txt")
	else
		info "bench: scripts/bench-locked.c did not build (see $RES/bench-locked-build.log): no SMP estimate"
	fi

	# A cdev that does not opt in, on the stock kernel and on ours: the raw device of the same
	# suite, in boots that alternate (one kernel per boot, so pairs of boots are compared).
	if [ "${BENCH_STOCK:-1}" != 0 ]; then
		SB=$BUILD/stock/out/bench-uml
		AB=$RES/bench-uml-ab
		rm -rf "$AB"; mkdir -p "$AB" "$SB"
		"$REPO/scripts/tree.sh" stock && "$REPO/scripts/bench-stock-prep.sh" || die "stock tree for the native run failed"
		info "bench: native stock UML kernel ($SB)"
		(cd "$STOCK" && python3 tools/testing/kunit/kunit.py build --arch=um \
			--kunitconfig="$REPO/vm/bench-uml.config" --build_dir="$SB" --jobs="$JOBS" \
			--make_options "CC=ccache gcc") >"$RES/bench-uml-stock-build.log" 2>&1
		src=$?
		"$REPO/scripts/bench-stock-prep.sh" clean
		[ $src = 0 ] || { tail -30 "$RES/bench-uml-stock-build.log"; die "native stock kernel build failed"; }
		pairs=${BENCH_STOCK_PAIRS:-10}
		info "bench: native stock vs ours, raw device, $pairs pairs of boots"
		for i in $(seq 1 "$pairs"); do
			for k in stock ours; do
				if [ $k = stock ]; then img=$SB/linux; else img=$NB/linux; fi
				timeout 300 "$img" mem=1G kunit.enable=1 kunit.filter_glob=cdev_revoke_bench.bn_ops \
					kunit_shutdown=halt test_cdev_revoke_bench.native_mechs=1 \
					test_cdev_revoke_bench.native_reps=5 </dev/null >"$AB/$k-$i.log" 2>&1 ||
					die "native $k boot $i failed ($AB/$k-$i.log)"
				grep -q '^ok [0-9]* cdev_revoke_bench' "$AB/$k-$i.log" || die "native $k boot $i: the suite failed"
			done
		done
		report+=(--native-ab "$AB")
		# Which of those operations run the same instructions in both kernels.
		python3 "$REPO/scripts/bench-samecode.py" "$SB/linux" "$NB/linux" >"$RES/bench-uml-samecode.json" &&
			report+=(--native-samecode "$RES/bench-uml-samecode.json") ||
			info "bench: scripts/bench-samecode.py failed: no code comparison"
	fi
	[ "${BENCH_ONLY:-}" = native ] && {
		python3 "$REPO/scripts/bench-report.py" "${report[@]}" --host-load "$nload" --out "$RES" || die "bench report failed"
		cat "$RES/bench.md"; info "bench: $RES/bench.md $RES/bench.json $RES/bench.png"; exit 0; }
fi

"$REPO/scripts/build-kernel.sh" "$LINUX" "$B" bench \
	"$REPO/vm/base.config" "$REPO/vm/9p-root.config" "$REPO/vm/bench.config" || die "bench kernel build failed"
# measurements on a debug kernel are meaningless: refuse one
bad=$(grep -E "$DEBUG_OPTS" "$B/.config")
[ -z "$bad" ] || die "the bench kernel has debug options: $bad"
KO=$B/lib/test_cdev_revoke_bench.ko
[ -f "$KO" ] || die "no $KO"

info "bench: building the userspace driver ($U/cdev_revoke_bench)"
gcc -Wall -O2 -g -isystem "$B/usr/include" -o "$U/cdev_revoke_bench" \
	"$LINUX/tools/testing/selftests/cdev_revoke/cdev_revoke_bench.c" -luring -lpthread ||
	die "cdev_revoke_bench build failed"

if [ "${BENCH_ONLY:-}" = gpio ]; then
	"$REPO/scripts/bench-gpio.sh" || die "bench-gpio failed"
	python3 "$REPO/scripts/bench-report.py" --gpio "$RES/bench-gpio" --host-load "$load" --out "$RES" ||
		die "bench report failed"
	cat "$RES/bench.md"; exit 0
fi

VM_TIMEOUT=${VM_TIMEOUT:-1800} "$REPO/scripts/vm-run.sh" "$B/arch/x86/boot/bzImage" bench "$RES/bench-console.log" "$RV" \
	"cdev_bench=$U/cdev_revoke_bench" "cdev_bench_ko=$KO" ${BENCH_QUICK:+cdev_bench_quick=1} \
	${BENCH_ARGS:+cdev_bench_args=$BENCH_ARGS} | tee "$U/vm-run.out"
rc=${PIPESTATUS[0]}
accel=$(sed -n 's/.* accel=\([a-z]*\) .*/\1/p' "$U/vm-run.out" | head -1)
[ $rc = 0 ] || die "bench VM failed (console: $RES/bench-console.log)"
if ! "$REPO/scripts/splat-check" "$RES/bench-console.log" >"$RES/bench-splat.txt"; then
	cat "$RES/bench-splat.txt"; die "the bench kernel reported a problem (see $RES/bench-splat.txt)"
fi
[ -s "$RV/bench-raw.json" ] || { grep -A5 'CDEV BENCH' "$RES/bench-console.log" | tail -20; die "no bench results"; }
grep -q 'CDEV BENCH DONE rc=0' "$RES/bench-console.log" || { grep -B2 -A20 'CDEV BENCH:' "$RES/bench-console.log" | tail -30; die "the benchmark program failed"; }

# a cdev that does not opt in, ours against the same kernel with the stock chrdev_open() and
# __fput(), in boots of their own (scripts/bench-chrdev.sh)
if [ "${BENCH_CHRDEV:-1}" != 0 ]; then
	"$REPO/scripts/bench-chrdev.sh" || die "bench-chrdev failed"
	report+=(--chrdev "$RES/bench-chrdev")
fi

# gpiolib converted against stock, in boots of their own (scripts/bench-gpio.sh)
if [ "${BENCH_GPIO:-1}" != 0 ]; then
	"$REPO/scripts/bench-gpio.sh" || die "bench-gpio failed"
	report+=(--gpio "$RES/bench-gpio")
fi
python3 "$REPO/scripts/bench-report.py" "${report[@]}" --raw "$RV/bench-raw.json" --accel "${accel:-unknown}" \
	--config "$B/.config" --host-load "$load" --out "$RES" || die "bench report failed"
cat "$RES/bench.md"
info "bench: $RES/bench.md $RES/bench.json $RES/bench.png"
