#!/bin/bash
# control-check.sh BZIMAGE REVOKE_CONTROL
# The expected-failure control of the device selftests: boots the already built VM kernel once
# more (cdev_mode=control, no KUnit) and runs REVOKE_CONTROL in the guest: the test driver loaded
# with optin=0 (not opted in to cdev_revoke), a file opened, the device unbound, an ioctl on the
# file. The control passes only if the console shows KASAN's use-after-free report in the test
# driver (tcr_ioctl) after the unbind: proof that the device selftests run where the bug they
# guard against is detected. Its console (build/results/vm-control-console.log) is NOT given to
# the splat gate; the result is build/results/vm-control.tap (one case, counted by make check).
set -uo pipefail
. "$(dirname "$0")/common.sh"
IMG=$1 PROG=$2
LOG=$RES/vm-control-console.log TAP=$RES/vm-control.tap
name="optin=0 control: KASAN use-after-free in tcr_ioctl after unbind (expected failure)"
rm -f "$LOG" "$TAP"
[ -x "$PROG" ] || die "no control program $PROG"
info "control boot: test driver with optin=0 (expected: KASAN use-after-free)"
VM_TIMEOUT=${CONTROL_TIMEOUT:-300} "$REPO/scripts/vm-run.sh" "$IMG" control "$LOG" "$RES/vm-control" \
	"cdev_control=$PROG" kunit.enable=0
vrc=$?
# The program's own lines come from its output file in the results share: on the console the
# kernel's report can land in the middle of one of them.
OUTF=$RES/vm-control/control.txt
[ -s "$OUTF" ] || OUTF=$LOG
# the ioctl before the unbind succeeded, so a use-after-free report in tcr_ioctl by this program
# is the ioctl after the unbind (the device's devres data freed)
why=
if [ $vrc != 0 ]; then
	why="the control guest did not finish"
elif ! grep -aq 'open, ioctl before unbind: 0,' "$OUTF" || ! grep -aq 'unbound test-cdev-revoke' "$OUTF"; then
	why="the control program did not get to the unbind: $(grep -a -m1 'CONTROL:' "$OUTF")"
elif ! grep -a -A2 -E 'BUG: KASAN: (slab-)?use-after-free in tcr_ioctl' "$LOG" | grep -q 'by task revoke_control'; then
	why="no KASAN use-after-free report in tcr_ioctl by revoke_control"
fi
{
	echo "KTAP version 1"
	echo "1..1"
	if [ -z "$why" ]; then
		{ grep -ao 'CONTROL: [a-z/].*' "$OUTF"; grep -a -m2 'BUG: KASAN' "$LOG"; } | sed -E 's/^\[ *[0-9.]+\] //; s/^/# /'
		echo "ok 1 $name"
	else
		echo "# $why"
		echo "not ok 1 $name"
	fi
} >"$TAP"
cat "$TAP"
[ -z "$why" ]
