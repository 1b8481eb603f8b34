#!/bin/bash
# make controls: the stock controls of the conversions whose driver is built in (no stock module
# can stand in for it on our kernel). Boots the STOCK 6.12 kernel of make demo
# (scripts/stock-kernel.sh: the base commit, same VM configuration) and runs each conversion's
# selftest in its stock mode (CDEV_STOCK=1, see cdev_stock() in util.h): there a case passes when
# the unconverted driver does what the test documents (a sleeper never woken, an oops that kills
# the caller, ...). Not part of make check: the second kernel build would take the cold run past
# its budget. Results: build/results/controls/selftests.tap (KTAP, counted at the end), console
# build/results/controls-console.log (not splat-checked: the reports are the point; the first of
# each program's is printed).
# env: VM_TIMEOUT (s, default 1800)
set -uo pipefail
. "$(dirname "$0")/common.sh"
# the conversions' selftests that have a stock mode
CONTROLS=(revoke_rtc revoke_gpio revoke_hidraw revoke_hiddev)
"$REPO/scripts/deps.sh" || exit 1
"$REPO/scripts/tree.sh" apply || exit 1
stock_img=$("$REPO/scripts/stock-kernel.sh" | tail -1) && [ -f "$stock_img" ] || exit 1
C=$OUT/controls LOG=$RES/controls-console.log
mkdir -p "$C" "$RES/controls"
# built against the stock kernel's headers: the programs must not need the series' uapi
info "controls: building ${CONTROLS[*]} against the stock headers"
make -C "$LINUX/tools/testing/selftests/cdev_revoke" OUTPUT="$C" \
	KHDR_INCLUDES="-isystem $BUILD/stock/out/vm/usr/include" "${CONTROLS[@]/#/$C/}" \
	>"$RES/controls-build.log" 2>&1 || { tail -30 "$RES/controls-build.log"; die "controls build failed"; }
printf "$C/%s\n" "${CONTROLS[@]}" >"$C/list"
info "controls: booting the stock kernel ($stock_img)"
VM_TIMEOUT=${VM_TIMEOUT:-1800} "$REPO/scripts/vm-run.sh" "$stock_img" tests "$LOG" "$RES/controls" \
	"cdev_tests=$C/list" CDEV_STOCK=1 kunit.enable=0
vrc=$?
for t in "${CONTROLS[@]}"; do
	# the program's part of the console, its first kernel report
	r=$(sed -n "/=== CDEV SELFTEST START .*\/$t[[:space:]]*\$/,/=== CDEV SELFTEST END .*\/$t /p" "$LOG" |
		grep -a -m1 -oE '(BUG:|Oops|general protection|WARNING:|INFO: task).*' | sed 's/\r$//')
	echo "control $t: first kernel report: ${r:-none}"
done
[ $vrc = 0 ] || echo "WARNING: the stock guest did not finish (console: $LOG)"
python3 "$REPO/scripts/ktap.py" count "$RES/controls/selftests.tap"
