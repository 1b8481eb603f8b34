#!/bin/bash
# vm-run.sh BZIMAGE MODE CONSOLE_LOG RESULTS_DIR [extra guest env=val ...]
# Boots the test kernel under QEMU (-smp 2) with the host root over read-only 9p, RESULTS_DIR as a
# writable 9p share, and a second pflash unit (physmap-flash.0 -> /dev/mtd0). The console goes
# to CONSOLE_LOG (and to stdout when VERBOSE=1).  env: ACCEL (kvm|tcg; default: probed once),
# VM_TIMEOUT (s, default 900), MEM (default 1G), SMP (default 2), TPM_SOCK (swtpm control socket:
# adds QEMU's tpm-crb backed by it)
set -uo pipefail
. "$(dirname "$0")/common.sh"
IMG=$1 MODE=$2 LOG=$3 RDIR=$4; shift 4
[ -f "$IMG" ] || die "no kernel image $IMG"
mkdir -p "$RDIR" "$OUT/vm-img"
RDIR=$(readlink -f "$RDIR")
rm -f "$RDIR/guest-done" "$RDIR/selftests.tap" "$RDIR/kmemleak.txt" "$RDIR/demo.txt" "$RDIR/demo-rc"
# second pflash unit, 256K: a recognisable pattern so reads return non-trivial data
PF=$OUT/vm-img/pflash1.img
if [ ! -f "$PF" ]; then
	python3 -c "
import sys
hdr = b'cdev_revoke pflash test image\n'
body = bytes((i * 7 + (i >> 8)) & 0xff for i in range(256 * 1024 - len(hdr)))
open(sys.argv[1], 'wb').write(hdr + body)" "$PF"
fi
# tests/control: q35 with the edu device behind a PCIe root port (pciehp: real hot-unplug through
# the monitor, scripts/qmp-hotplug.py); native PCIe hotplug, not QEMU's ACPI hotplug of q35.
# The i6300esb watchdog of revoke_watchdog on the root bus (unbound, never unplugged); when it
# fires QEMU only reports it (QMP event WATCHDOG, logged by qmp-hotplug.py) and resets the
# device, whose next probe reads the timeout flag (bootstatus WDIOF_CARDRESET).
# demo/probe: the plain pc machine with the edu on the root bus.
case $MODE in
tests | control) MACHINE=${MACHINE:-q35} ;;
*) MACHINE=${MACHINE:-pc} ;;
esac
if [ "$MACHINE" = q35 ]; then
	MACHINE_ARGS="-machine q35 -global ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off
		-device pcie-root-port,id=rp1,bus=pcie.0,chassis=1,slot=1 -device edu,bus=rp1,id=hpedu
		-device i6300esb,bus=pcie.0,id=wdt0 -action watchdog=none"
	# revoke_virtio: a virtio-serial-pci controller behind its own root port (hot-unplugged
	# through pciehp) with two ports: vp0 always connected (a file chardev: what the guest
	# writes lands in RDIR/vport0.out), vp1 on a socket no one connects to (host side closed:
	# writes block)
	MACHINE_ARGS="$MACHINE_ARGS -device pcie-root-port,id=rp2,bus=pcie.0,chassis=2,slot=2
		-device virtio-serial-pci,bus=rp2,id=vser0
		-chardev file,id=vpc0,path=$RDIR/vport0.out
		-device virtserialport,bus=vser0.0,nr=1,chardev=vpc0,name=org.cdev-revoke.0,id=vp0
		-chardev socket,id=vpc1,path=$OUT/vm-img/vport1-$MODE.sock,server=on,wait=off
		-device virtserialport,bus=vser0.0,nr=2,chardev=vpc1,name=org.cdev-revoke.1,id=vp1"
	# revoke_usb: a qemu-xhci controller with no device on it; the test plugs USB devices into
	# its ports (QMP device_add ...,bus=xhci0.0,port=N, i.e. guest port 1-N) and unplugs them
	# (device_del: a cable pull). Last on pcie.0, so the other devices keep their slots. usbhid
	# ignores QEMU's usb-wacom-tablet (056a:0000, HID_QUIRK_IGNORE), which leaves it to the
	# class drivers bound through new_id (ldusb, iowarrior); QEMU's usb-kbd (0627:0001) gets a
	# hiddev next to its hidraw (HID_QUIRK_HIDDEV_FORCE: revoke_hiddev, revoke_hidraw).
	MACHINE_ARGS="$MACHINE_ARGS -device qemu-xhci,id=xhci0,bus=pcie.0,p2=8,p3=4"
	# revoke_usb_bulk: the backends of the bulk devices it plugs there. usb-serial and
	# usb-braille (FTDI) on socket chardevs that qmp-hotplug.py connects to and writes the
	# device's input into (its bulk IN NAKs until then); usb-storage on a null block device whose writes are throttled to
	# 1 byte/s: after the first WRITE(10), each one waits until the device is unplugged (a drain
	# releases throttled requests), and so does the read of its status
	MACHINE_ARGS="$MACHINE_ARGS -chardev socket,id=cser0,path=$OUT/vm-img/cser0-$MODE.sock,server=on,wait=off
		-chardev socket,id=cser1,path=$OUT/vm-img/cser1-$MODE.sock,server=on,wait=off
		-blockdev driver=null-co,node-name=lcdnull,read-zeroes=on
		-object throttle-group,id=lcdtg,x-bps-write=1
		-blockdev driver=throttle,node-name=lcdblk,throttle-group=lcdtg,file=lcdnull"
	MACHINE_CMDLINE="usbhid.quirks=0x056a:0x0000:0x4,0x0627:0x0001:0x10"
else
	MACHINE_ARGS="-machine $MACHINE -device edu"
	MACHINE_CMDLINE=
fi
# the physmap driver may write (e.g. nothing for reads); reset the image each boot
cp "$PF" "$OUT/vm-img/pflash1-run-$MODE.img"

qemu_cmd() { # $1 = accel
	local accel=$1
	[ "$accel" = tcg ] && accel=tcg,thread=multi
	echo qemu-system-x86_64 -accel "$accel" -smp "${SMP:-2}" -m "${MEM:-1G}" \
		-nodefaults -nographic -no-reboot -serial stdio \
		-drive if=pflash,format=raw,unit=0,file=/usr/share/seabios/bios-256k.bin,readonly=on \
		-drive if=pflash,format=raw,unit=1,file="$OUT/vm-img/pflash1-run-$MODE.img" \
		-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
		-virtfs local,path="$RDIR",mount_tag=results,security_model=none,multidevs=remap \
		$MACHINE_ARGS $tpm_args \
		-kernel "$IMG"
}
tpm_args=
# acpi=noirq: evaluating the i440fx _PRT AML with KASAN+kmemleak under TCG costs ~55 s of boot
# (and trips the soft-lockup detector); the $PIR table routes the few PCI IRQs just as well.
# (pci=noacpi avoided that too, but then no BAR can be claimed inside the ACPI host bridge
# window and the kernel moved the edu BAR onto the local APIC at 0xfee00000.)
# printk.time=1: timestamps for diagnosis (ktap.py and splat-check strip them).
# kasan_multi_shot: report every bad access, not only the first one.
APPEND="console=ttyS0 panic=-1 acpi=noirq printk.time=1 kasan_multi_shot root=hostroot rootfstype=9p rootflags=trans=virtio,version=9p2000.L ro init=$REPO/scripts/guest-init.sh cdev_mode=$MODE cdev_results=$RDIR cdev_repo=$REPO TCR_KO=$(realpath -m "$(dirname "$IMG")/../../../lib/test_cdev_revoke.ko") ${TCR_CYCLES:+TCR_CYCLES=$TCR_CYCLES} ${CDEV_TEST_TIMEOUT:+cdev_test_timeout=$CDEV_TEST_TIMEOUT} $MACHINE_CMDLINE $*"

# KVM: /dev/kvm exists here but guests hang (nested virt). Use it only if a probe guest boots.
probe_kvm() {
	local f=$OUT/kvm-probe.txt
	if [ -f "$f" ]; then cat "$f"; return; fi
	local r=tcg
	if [ -w /dev/kvm ]; then
		# shellcheck disable=SC2046
		if timeout 25 $(qemu_cmd kvm) -append "console=ttyS0 panic=-1 root=hostroot rootfstype=9p rootflags=trans=virtio,version=9p2000.L ro init=$REPO/scripts/guest-init.sh cdev_mode=probe cdev_results=$RDIR" \
			2>&1 | grep -q '=== CDEV GUEST PROBE OK'; then r=kvm; fi
	fi
	echo $r | tee "$f"
}
ACCEL=${ACCEL:-$(probe_kvm)}
# TCG: the guest's TSC is the host's (QEMU reads the host's with rdtsc). The guest calibrates it
# early against the PIT, which goes wrong on a loaded host (one boot found 24 MHz instead of 2096,
# so every timeout of its tests fired early): give it the host's frequency instead. The later
# refinement against the HPET counts over a second and stays.
if [ "$ACCEL" = tcg ]; then
	khz=$(awk '/^cpu MHz/ { printf "%d", $4 * 1000; exit }' /proc/cpuinfo)
	[ -n "$khz" ] && APPEND="$APPEND tsc_early_khz=$khz"
fi
# A TPM 2.0 behind QEMU's CRB interface (tpm_crb in the guest) when the caller runs a host swtpm
# on the control socket TPM_SOCK (scripts/vm-test.sh does).
if [ -n "${TPM_SOCK:-}" ] && [ -S "$TPM_SOCK" ]; then
	tpm_args="-chardev socket,id=chrtpm,path=$TPM_SOCK -tpmdev emulator,id=tpm0,chardev=chrtpm"
	tpm_args+=" -device tpm-crb,tpmdev=tpm0"
fi
# the monitor for hot-unplug requests of the guest (q35 only): its log goes to RDIR
QMP_ARGS=() hp_pid=
if [ "$MACHINE" = q35 ]; then
	qsock=$OUT/vm-img/qmp-$MODE.sock
	rm -f "$qsock" "$RDIR/hotplug-req" "$RDIR/hotplug-ack"
	QMP_ARGS=(-qmp "unix:$qsock,server=on,wait=off")
	APPEND="$APPEND TCR_HOTPLUG=$RDIR"
	python3 "$REPO/scripts/qmp-hotplug.py" "$qsock" "$RDIR" hpedu edu rp1 >"$RDIR/qmp-hotplug.log" 2>&1 &
	hp_pid=$!
fi
info "booting $(basename "$IMG") mode=$MODE machine=$MACHINE accel=$ACCEL smp=${SMP:-2} (console: $LOG)"
start=$(date +%s)
# shellcheck disable=SC2046
if [ "${VERBOSE:-0}" = 1 ]; then
	timeout "${VM_TIMEOUT:-900}" $(qemu_cmd "$ACCEL") "${QMP_ARGS[@]}" -append "$APPEND" </dev/null 2>&1 | tee "$LOG"
	rc=${PIPESTATUS[0]}
else
	timeout "${VM_TIMEOUT:-900}" $(qemu_cmd "$ACCEL") "${QMP_ARGS[@]}" -append "$APPEND" </dev/null >"$LOG" 2>&1
	rc=$?
fi
end=$(date +%s)
if [ -n "$hp_pid" ]; then
	# it ends by itself when QEMU closes the monitor; bounded anyway
	for _ in $(seq 50); do kill -0 "$hp_pid" 2>/dev/null || break; sleep 0.1; done
	kill "$hp_pid" 2>/dev/null
	wait "$hp_pid" 2>/dev/null
fi
[ $rc = 124 ] && echo "ERROR: VM timed out after ${VM_TIMEOUT:-900} s"
if [ -f "$RDIR/guest-done" ]; then
	info "VM finished in $((end - start)) s (qemu exit $rc)"
else
	echo "ERROR: guest did not finish (qemu exit $rc); last console lines:"; tail -25 "$LOG"
	exit 1
fi
exit 0
