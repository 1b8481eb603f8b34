#!/bin/bash
# control-check.sh BZIMAGE REVOKE_CONTROL
# The expected-failure control of the device selftests: boots the already built VM kernel once
# more (cdev_mode=control, no KUnit) and runs REVOKE_CONTROL in the guest: the test driver loaded
# with optin=0 (not opted in to cdev_revoke), a file opened, the device unbound, an ioctl on the
# file. The control passes only if the console shows KASAN's use-after-free report in the test
# driver (tcr_ioctl) after the unbind: proof that the device selftests run where the bug they
# guard against is detected. Its console (build/results/vm-control-console.log) is NOT given to
# the splat gate; the result is build/results/vm-control.tap (counted by make check).
# The same boot runs the "stock" variant of revoke_cros_ec (next to REVOKE_CONTROL): the stock
# cros_ec_chardev.ko on the fake EC, whose removal with files open is a use-after-free by design.
# Its case passes only if that variant passed (it asserts what userspace sees: readers and pollers
# never woken, the freed EC still called) and the console has KASAN's reports in the stock
# module's ioctl and release.
# And the stock variant of revoke_virtio's "parked" fixture: a write parked in copy_from_user() on a
# userfaultfd page while the virtio-serial controller is hot-unplugged. Its case passes only if the
# program saw the removal complete under the parked write and the console has a KASAN
# use-after-free report by that program after it.
set -uo pipefail
. "$(dirname "$0")/common.sh"
IMG=$1 PROG=$2
LOG=$RES/vm-control-console.log TAP=$RES/vm-control.tap
name="optin=0 control: KASAN use-after-free in tcr_ioctl after unbind (expected failure)"
CROSEC=$(dirname "$PROG")/revoke_cros_ec
name2="stock cros_ec_chardev: EC removed with files open, KASAN use-after-free in ioctl and release (expected failure)"
VIRTIO=$(dirname "$PROG")/revoke_virtio
name3="stock virtio_console: controller removed under a write parked in copy_from_user(), KASAN use-after-free (expected failure)"
rm -f "$LOG" "$TAP" "$RES"/vm-control/control-revoke_{cros_ec,virtio}.txt
[ -x "$PROG" ] || die "no control program $PROG"
info "control boot: test driver with optin=0 (expected: KASAN use-after-free)"
VM_TIMEOUT=${CONTROL_TIMEOUT:-300} "$REPO/scripts/vm-run.sh" "$IMG" control "$LOG" "$RES/vm-control" \
	"cdev_control=$PROG" "cdev_control_stock=$CROSEC,$VIRTIO" kunit.enable=0
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
elif ! grep -a -A2 -E 'BUG: KASAN: (slab-)?use-after-free in tcr_ioctl' "$LOG" | grep -c 'by task revoke_control' >/dev/null; then
	why="no KASAN use-after-free report in tcr_ioctl by revoke_control"
fi
OUT2=$RES/vm-control/control-revoke_cros_ec.txt
why2=
if [ $vrc != 0 ]; then
	why2="the control guest did not finish"
elif [ ! -s "$OUT2" ]; then
	why2="the stock variant of revoke_cros_ec did not run"
elif ! grep -q '^rc=0$' "$OUT2" || ! grep -q '^# PASSED: [1-9]' "$OUT2"; then
	why2="the stock variant of revoke_cros_ec failed: $(grep -a -m3 -E '^#  *(FAIL|SKIP)|^not ok' "$OUT2" | tr '\n' ' ')"
elif ! grep -aq -E 'BUG: KASAN: slab-use-after-free in cros_ec_chardev_ioctl' "$LOG"; then
	why2="no KASAN use-after-free report in cros_ec_chardev_ioctl"
elif ! grep -aq -E 'BUG: KASAN: slab-use-after-free in cros_ec_chardev_release' "$LOG"; then
	why2="no KASAN use-after-free report in cros_ec_chardev_release"
fi
OUT3=$RES/vm-control/control-revoke_virtio.txt
why3=
# the program's part of the console, in a variable: "sed | grep -q" fails under pipefail when grep
# stops reading early and sed gets SIGPIPE
SEC3=$(sed -n '/=== CDEV CONTROL STOCK START .*\/revoke_virtio/,$p' "$LOG")
if [ $vrc != 0 ]; then
	why3="the control guest did not finish"
elif [ ! -s "$OUT3" ]; then
	why3="the stock variant of revoke_virtio did not run"
elif ! grep -q '^ok .* parked\.stock\.write_across_removal$' "$OUT3"; then
	why3="the stock parked-write case failed or did not run: $(grep -a -m3 -E '^#  *(FAIL|SKIP)|^not ok' "$OUT3" | tr '\n' ' ')"
elif ! grep -a -A3 -E 'BUG: KASAN: [a-z-]*use-after-free in' <<<"$SEC3" | grep -c 'by task revoke_virtio' >/dev/null; then
	why3="no KASAN use-after-free report by revoke_virtio"
elif ! grep -aq 'port_fops_write+' <<<"$SEC3"; then
	why3="no KASAN report in port_fops_write()"
fi
{
	echo "KTAP version 1"
	echo "1..3"
	if [ -z "$why" ]; then
		{ grep -ao 'CONTROL: [a-z/].*' "$OUTF"; grep -a -m2 'BUG: KASAN' "$LOG"; } | sed -E 's/^\[ *[0-9.]+\] //; s/^/# /'
		echo "ok 1 $name"
	else
		echo "# $why"
		echo "not ok 1 $name"
	fi
	if [ -z "$why2" ]; then
		{ grep -a -E '^# (stock|PASSED)' "$OUT2" | sed 's/^# //'
		  grep -a -E 'BUG: KASAN: slab-use-after-free in cros_ec_chardev_(ioctl|release)' "$LOG" |
			sed -E 's/^\[ *[0-9.]+\] //; s/\+0x.*//' | sort | uniq -c; } | sed 's/^/# /'
		echo "ok 2 $name2"
	else
		echo "# $why2"
		echo "not ok 2 $name2"
	fi
	if [ -z "$why3" ]; then
		{ grep -a -E '^# (stock|PASSED)' "$OUT3" | sed 's/^# //'
		  grep -a -E 'BUG: KASAN: [a-z-]*use-after-free in' <<<"$SEC3" |
			sed -E 's/^\[ *[0-9.]+\] //; s/\+0x.*//' | sort | uniq -c; } | sed 's/^/# /'
		echo "ok 3 $name3"
	else
		echo "# $why3"
		echo "not ok 3 $name3"
	fi
} >"$TAP"
cat "$TAP"
[ -z "$why" ] && [ -z "$why2" ] && [ -z "$why3" ]
