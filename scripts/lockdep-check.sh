#!/bin/bash
# lockdep-check.sh BZIMAGE
# The lockdep cases of the KUnit suite (cdev_revoke_lockdep): revoking a device while holding a
# lock that one of its methods takes must be reported by lockdep, for a plain and for a nested
# (cdev_revoke_init_nested()) device. Lockdep reports once and then turns itself off, so each case
# gets a boot of its own of the already built VM kernel (KUnit filtered to that case, enabled by
# cdev_revoke.lockdep_test=1; the main boot skips them). A case passes only if
#   - its KUnit result is ok (the case checks that lockdep turned itself off),
#   - the console holds exactly one splat, the expected circular dependency between the test's
#     mutex and the fence of the device (named "cdev", "cdev/1" when nested),
#   - nothing else in the console is a splat (KASAN, kmemleak, another lockdep report...).
# Result: build/results/vm-lockdep.tap (one case per boot), consoles vm-lockdep-CASE-console.log.
set -uo pipefail
. "$(dirname "$0")/common.sh"
IMG=$1
TAP=$RES/vm-lockdep.tap
CASES=(plain nested)
rm -f "$TAP"
known=$OUT/lockdep-known
{
	echo "KTAP version 1"
	echo "1..${#CASES[@]}"
} >"$TAP.tmp"
n=0 bad=0
for c in "${CASES[@]}"; do
	n=$((n + 1))
	log=$RES/vm-lockdep-$c-console.log
	fence='\(cdev\)'
	[ "$c" = nested ] && fence='\(cdev/1\)'
	name="lockdep reports a revocation under a lock its methods take ($c)"
	info "lockdep boot $n/${#CASES[@]}: $c (expected: one circular locking report)"
	VM_TIMEOUT=${LOCKDEP_TIMEOUT:-300} "$REPO/scripts/vm-run.sh" "$IMG" lockdep "$log" "$RES/vm-lockdep" \
		"kunit.filter_glob=cdev_revoke_lockdep.kt_lockdep_$c" cdev_revoke.lockdep_test=1
	vrc=$?
	printf 'expected lockdep report (%s)\tpossible circular locking dependency detected\tkt_lockdep_mutex\t%s\n' \
		"$c" "$fence" >"$known"
	python3 "$REPO/scripts/ktap.py" extract "$log" "$RES/vm-lockdep-$c.tap" >/dev/null 2>&1
	why=
	if [ $vrc != 0 ]; then
		why="the guest did not finish"
	elif ! grep -Eq "^ *ok [0-9]+ kt_lockdep_$c\$" "$RES/vm-lockdep-$c.tap"; then
		why="KUnit case kt_lockdep_$c did not pass: $(grep -E "kt_lockdep_$c" "$RES/vm-lockdep-$c.tap" | tail -1)"
	elif ! SPLAT_KNOWN=$known "$REPO/scripts/splat-check" "$log" >"$RES/vm-lockdep-$c-splat.txt"; then
		cat "$RES/vm-lockdep-$c-splat.txt"
		why="a splat other than the expected report"
	elif [ "$(grep -c 'known report, not counted: expected lockdep' "$RES/vm-lockdep-$c-splat.txt")" != 1 ]; then
		why="not exactly one expected lockdep report"
	fi
	if [ -z "$why" ]; then
		grep -m1 -A1 'is trying to acquire lock' "$log" | sed -E 's/^\[ *[0-9.]+\] //; s/^/# /' >>"$TAP.tmp"
		echo "ok $n $name" >>"$TAP.tmp"
	else
		echo "# $why" >>"$TAP.tmp"
		echo "not ok $n $name" >>"$TAP.tmp"
		bad=1
	fi
done
mv "$TAP.tmp" "$TAP"
cat "$TAP"
exit $bad
