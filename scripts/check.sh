#!/bin/bash
# make check: deps + tree + harness self-test + VM (x86_64 KUnit + kselftests, then the optin=0
# control boot and the lockdep boots). Always ends with the line "N passed, N failed" (KUnit leaf
# cases, parameterised cases counted per parameter, plus kselftest cases, plus the control and
# lockdep boots); exit status 1 on any failure or splat.
# env: KUNIT_UML=1 also runs the UML KUnit (make kunit) and counts it. It is off by default: every
# one of its cases also runs in the x86_64 VM, on two CPUs with the same debug options and more
# (KASAN, lockdep, debugobjects; kmemleak), and its cold build was 559 s of the 45-minute budget.
# The uniprocessor build stays covered by make kunit, make series-check (patch by patch) and
# make mainline.
set -uo pipefail
. "$(dirname "$0")/common.sh"
mkdir -p "$RES"
SUM=$RES/summary.txt
TAPS=(kunit-x86_64.tap vm/selftests.tap vm-control.tap vm-lockdep.tap) KUNIT_WHERE=x86_64
[ "${KUNIT_UML:-0}" = 1 ] && TAPS=(kunit-uml.tap "${TAPS[@]}") KUNIT_WHERE="UML + x86_64"
T0=$(date +%s)
extra=()   # failures not visible as a failing test case: one failure each
stage_rc() { # stage NAME CMD...
	local name=$1 s rc; shift
	s=$(date +%s)
	echo; info "[$name] $(date +%H:%M:%S)"
	"$@"; rc=$?
	echo ">>> [$name] exit $rc in $(($(date +%s) - s)) s"
	eval "RC_${name//-/_}=$rc"
	return $rc
}
echo "base: Debian $BASE_PKG $(dpkg-query -W -f='${Version}' "$BASE_PKG" 2>/dev/null || echo 'not installed')"
rm -f "$RES"/kunit-uml.tap "$RES"/kunit-x86_64.tap "$RES"/vm/selftests.tap "$RES"/vm-control.tap "$RES"/vm-lockdep.tap "$SUM"

summary() {
	local P=0 F=0 S=0 line f
	{
		echo "cdev_revoke make check, $(date -u '+%Y-%m-%d %H:%M UTC'), $(($(date +%s) - T0)) s"
		[ -d "$LINUX/.git" ] && base_version
		for f in "${TAPS[@]}"; do
			line=$(python3 "$REPO/scripts/ktap.py" count --json "$RES/$f" | python3 -c '
import json,sys
r=json.load(sys.stdin)[0]
print(r["passed"], r["failed"], r["skipped"], "; ".join(r["errors"]))')
			read -r p fl sk err <<<"$line"
			P=$((P + p)); F=$((F + fl)); S=$((S + sk))
			printf '  %-20s %4d passed, %3d failed, %3d skipped %s\n' "$f" "$p" "$fl" "$sk" "${err:+ ($err)}"
			python3 "$REPO/scripts/ktap.py" count "$RES/$f" | grep -E '^  FAIL' | head -20
		done
		for e in "${extra[@]}"; do echo "  FAILURE: $e"; done
		F=$((F + ${#extra[@]}))
		echo "(counted: leaf KUnit cases of ${KUNIT_WHERE}, parameterised cases per parameter, kselftest cases, the optin=0 control and the two lockdep boots; skipped: $S)"
		echo "$P passed, $F failed"
	} | tee "$SUM"
	# F was counted in the pipeline's subshell: the verdict is the summary's last line
	tail -n 1 "$SUM" | grep -qE '^[0-9]+ passed, 0 failed$'
}

stage_rc deps "$REPO/scripts/deps.sh" || { extra+=("make deps failed"); summary; exit 1; }
stage_rc tree "$REPO/scripts/tree.sh" apply || { extra+=("make tree failed (see above)"); summary; exit 1; }
stage_rc harness "$REPO/scripts/harness-test.sh" || extra+=("harness self-test failed")
if [ "${KUNIT_UML:-0}" = 1 ]; then
	rm -f "$RES/kunit-uml-console.log"
	stage_rc kunit "$REPO/scripts/kunit.sh"
	# kunit.py failed although its KTAP shows no failing case (e.g. crash after the last test)
	if [ "$RC_kunit" != 0 ] && [ -s "$RES/kunit-uml.tap" ] && python3 "$REPO/scripts/ktap.py" count "$RES/kunit-uml.tap" >/dev/null; then
		extra+=("kunit.py (UML) exit $RC_kunit")
	fi
	if [ -f "$RES/kunit-uml-console.log" ]; then
		"$REPO/scripts/splat-check" "$RES/kunit-uml-console.log" || extra+=("splat in the UML KUnit console ($RES/kunit-uml-console.log)")
	fi
fi
stage_rc vm-test "$REPO/scripts/vm-test.sh"
if [ "$RC_vm_test" != 0 ]; then
	[ -s "$RES/vm-config-missing.txt" ] && extra+=("VM kernel config options did not stick: $(cut -d' ' -f1 "$RES/vm-config-missing.txt" | tr '\n' ' ')")
	grep -q 'suspicious line' "$RES/vm-splat.txt" 2>/dev/null && extra+=("splat in the VM console ($RES/vm-console.log)")
	[ -f "$RES/vm/guest-done" ] || extra+=("VM guest did not finish")
fi
echo
summary
