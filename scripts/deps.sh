#!/bin/bash
# Install the Debian packages the workbench needs (no-op when all are present).
set -uo pipefail
PKGS=(linux-source-6.12 build-essential bc bison flex libelf-dev libssl-dev cpio xz-utils kmod python3 rsync
	git qemu-system-x86 seabios busybox-static liburing-dev gcc-multilib libc6-dev-i386 ccache sparse mtd-utils swtpm swtpm-tools tpm2-tools
	gnuplot-nox python3-ply python3-git i2c-tools gpiod python3-libgpiod qemu-guest-agent
	libusb-1.0-0-dev usbutils)
missing=()
for p in "${PKGS[@]}"; do
	s=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)
	[ "$s" = installed ] || missing+=("$p")
done
if [ ${#missing[@]} = 0 ]; then
	echo ">>> deps: all ${#PKGS[@]} packages installed"
	exit 0
fi
echo ">>> deps: missing packages: ${missing[*]}"
if [ "$(id -u)" != 0 ]; then
	echo "ERROR: not root; install them with: sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
inst() { apt-get install -y --no-install-recommends -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}"; }
if ! inst; then
	echo ">>> deps: install failed, refreshing package lists (apt-get update) and retrying"
	apt-get update && inst || { echo "ERROR: apt-get install failed" >&2; exit 1; }
fi
# qboot.rom/bios images come with qemu-system-x86 / seabios; check the ones we use
for f in /usr/share/seabios/bios-256k.bin /usr/share/qemu/qboot.rom; do
	[ -e "$f" ] || echo "WARNING: $f missing"
done
echo ">>> deps: installed ${missing[*]}"
