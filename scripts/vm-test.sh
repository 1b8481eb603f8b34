#!/bin/bash
# VM test: build the x86_64 debug kernel (KUnit built in) + the cdev_revoke selftests, boot under
# QEMU -smp 2 with the host root over 9p, collect:
#   build/results/vm-console.log   full serial console
#   build/results/kunit-x86_64.tap KUnit KTAP extracted from the console
#   build/results/vm/selftests.tap kselftest TAP written by the guest
#   build/results/vm/kmemleak.txt  kmemleak report after two explicit scans
#   build/results/vm-control.tap   the optin=0 control (scripts/control-check.sh): KTAP, 1 case
#   build/out/{i2c,uio,watchdog,virtio,crosec,ldusb,iowarrior,yurex,cdc-wdm,usblcd,usbtmc}-stock/
#                                  the stock i2c-dev.ko, uio.ko, watchdog.ko, virtio_console.ko,
#                                  cros_ec_chardev.ko, ldusb.ko, iowarrior.ko, yurex.ko, cdc-wdm.ko,
#                                  usblcd.ko and usbtmc.ko of the controls
#                                  (scripts/stock-module.sh)
#   build/results/vm-lockdep.tap   the lockdep cases, one boot each (scripts/lockdep-check.sh)
# env: FALLBACK=1 replaces the project-only KUnit symbol by CONFIG_LIST_KUNIT_TEST (harness testing)
set -uo pipefail
. "$(dirname "$0")/common.sh"
B=$OUT/vm
ST=$OUT/selftests/cdev_revoke
mkdir -p "$RES/vm" "$OUT/frag"
rm -f "$RES/vm-console.log" "$RES/kunit-x86_64.tap" "$RES"/vm/*.tap "$RES/vm-splat.txt" "$RES/vm-control.tap" "$RES/vm-lockdep.tap"
[ -d "$LINUX/.git" ] || die "build/linux missing: run make tree"
rc=0

frags=("$REPO/vm/base.config" "$REPO/vm/debug.config" "$REPO/vm/9p-root.config")
stcfg=$LINUX/tools/testing/selftests/cdev_revoke/config
if [ "${FALLBACK:-0}" = 1 ]; then
	grep -v CDEV_REVOKE "$stcfg" >"$OUT/frag/selftests-fallback.config"
	echo CONFIG_LIST_KUNIT_TEST=y >>"$OUT/frag/selftests-fallback.config"
	stcfg=$OUT/frag/selftests-fallback.config
fi
frags+=("$stcfg")
"$REPO/scripts/build-kernel.sh" "$LINUX" "$B" vm "${frags[@]}"
brc=$?
if [ $brc = 3 ]; then
	echo "ERROR: the VM kernel lacks requested options (see above); continuing so the tests still run"
	rc=1
elif [ $brc != 0 ]; then
	exit 1
fi

# The stock controls of revoke_i2c, revoke_uio, revoke_watchdog, revoke_virtio, revoke_cros_ec,
# revoke_usb and revoke_usb_bulk (their "stock" fixtures): the base commit's driver built as an external module against this
# kernel, loaded by the test in place of ours.
"$REPO/scripts/stock-module.sh" "$B" drivers/i2c/i2c-dev.c "$OUT/i2c-stock" || rc=1
"$REPO/scripts/stock-module.sh" "$B" drivers/uio/uio.c "$OUT/uio-stock" || rc=1
"$REPO/scripts/stock-module.sh" "$B" drivers/watchdog/watchdog_dev.c "$OUT/watchdog-stock" watchdog \
	drivers/watchdog/watchdog_core.c drivers/watchdog/watchdog_core.h drivers/watchdog/watchdog_pretimeout.h || rc=1
"$REPO/scripts/stock-module.sh" "$B" drivers/char/virtio_console.c "$OUT/virtio-stock" || rc=1
"$REPO/scripts/stock-module.sh" "$B" drivers/platform/chrome/cros_ec_chardev.c "$OUT/crosec-stock" || rc=1
"$REPO/scripts/stock-module.sh" "$B" drivers/usb/misc/ldusb.c "$OUT/ldusb-stock" || rc=1
"$REPO/scripts/stock-module.sh" "$B" drivers/usb/misc/iowarrior.c "$OUT/iowarrior-stock" || rc=1
"$REPO/scripts/stock-module.sh" "$B" drivers/usb/misc/yurex.c "$OUT/yurex-stock" || rc=1
"$REPO/scripts/stock-module.sh" "$B" drivers/usb/class/cdc-wdm.c "$OUT/cdc-wdm-stock" || rc=1
"$REPO/scripts/stock-module.sh" "$B" drivers/usb/misc/usblcd.c "$OUT/usblcd-stock" || rc=1
"$REPO/scripts/stock-module.sh" "$B" drivers/usb/class/usbtmc.c "$OUT/usbtmc-stock" || rc=1
# usb-skeleton has no Kconfig symbol: both builds are external, the stock one named skel_stock so
# that the test tells them apart
"$REPO/scripts/stock-module.sh" "$B" drivers/usb/usb-skeleton.c "$OUT/skel-stock" skel_stock || rc=1
REV=. "$REPO/scripts/stock-module.sh" "$B" drivers/usb/usb-skeleton.c "$OUT/skel" || rc=1

info "building selftests (tools/testing/selftests/cdev_revoke -> $ST)"
mkdir -p "$ST"
if ! make -C "$LINUX/tools/testing/selftests/cdev_revoke" OUTPUT="$ST" KHDR_INCLUDES="-isystem $B/usr/include" \
	>"$RES/selftests-build.log" 2>&1; then
	cat "$RES/selftests-build.log" | tail -40
	die "selftests build failed (log: $RES/selftests-build.log)"
fi
grep -E 'warning:' "$RES/selftests-build.log" | head -20
: >"$ST/list"
for t in $(make -s -C "$LINUX/tools/testing/selftests/cdev_revoke" OUTPUT="$ST" emit_tests | sed 's/^[^:]*://'); do
	if [ -x "$ST/$t" ]; then echo "$ST/$t"; else echo "$LINUX/tools/testing/selftests/cdev_revoke/$t"; fi
done >>"$ST/list"
info "selftests: $(wc -l <"$ST/list") programs: $(xargs -n1 basename <"$ST/list" | tr '\n' ' ')"

# Host swtpm behind QEMU's tpm-crb (the guest's tpm_crb test of revoke_tpm); without swtpm the
# VM has no TPM device and that test skips.
tpm_pid=
if command -v swtpm >/dev/null; then
	TPMD=$OUT/vm-tpm
	rm -rf "$TPMD"; mkdir -p "$TPMD"
	swtpm socket --tpm2 --tpmstate dir="$TPMD" --ctrl type=unixio,path="$TPMD/ctrl.sock" \
		--flags not-need-init --log file="$TPMD/swtpm.log" &
	tpm_pid=$!
	for _ in $(seq 50); do [ -S "$TPMD/ctrl.sock" ] && break; sleep 0.1; done
	if [ -S "$TPMD/ctrl.sock" ]; then export TPM_SOCK=$TPMD/ctrl.sock
	else echo "WARNING: host swtpm did not start: no tpm-crb in the VM"; fi
fi
# the whole selftest run, under load: each program has its own timeout (cdev_test_timeout)
VM_TIMEOUT=${VM_TIMEOUT:-3600} "$REPO/scripts/vm-run.sh" "$B/arch/x86/boot/bzImage" tests "$RES/vm-console.log" "$RES/vm" "cdev_tests=$ST/list" || rc=1
if [ -n "$tpm_pid" ]; then kill "$tpm_pid" 2>/dev/null; wait "$tpm_pid" 2>/dev/null; fi
python3 "$REPO/scripts/ktap.py" extract "$RES/vm-console.log" "$RES/kunit-x86_64.tap" || rc=1
if ! "$REPO/scripts/splat-check" "$RES/vm-console.log" >"$RES/vm-splat.txt"; then
	cat "$RES/vm-splat.txt"; rc=1
else
	cat "$RES/vm-splat.txt"
fi

# The expected-failure control, in a boot of its own (its console is not splat-checked): the same
# test driver loaded with optin=0 on the same kernel; open, unbind, ioctl. Passes only if KASAN
# reports the use-after-free in the driver. KUnit is not run again (kunit.enable=0).
"$REPO/scripts/control-check.sh" "$B/arch/x86/boot/bzImage" "$ST/revoke_control" || rc=1
# Lockdep turns itself off after one report: the lockdep cases run in boots of their own.
"$REPO/scripts/lockdep-check.sh" "$B/arch/x86/boot/bzImage" || rc=1
exit $rc
