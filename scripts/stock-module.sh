#!/bin/bash
# stock-module.sh KBUILD_OUT SRC_PATH MOD_DIR [MODULE FILE...]
# A stock control module: the file SRC_PATH of the base commit (tag cdev-base in build/linux:
# the driver as it is before the series) built as an external module against the kernel build
# directory KBUILD_OUT, into MOD_DIR (e.g. build/out/i2c-stock/i2c-dev.ko). A test loads it in
# place of the converted module, which shows what stock does on the same kernel: the core only
# changes cdevs that opt in. A module made of several files (the watchdog core, watchdog.ko:
# watchdog_core.c and watchdog_dev.c) is named MODULE and built from SRC_PATH and the FILEs of
# the base commit (its .c files are its objects, its local headers are copied beside them). The
# sources are rewritten only when they changed, so the rebuild is incremental. Log:
# build/results/<MOD_DIR's name>-build.log.
# env: REV, the commit the sources come from (default cdev-base); REV=. takes them from the
# working tree of build/linux: the converted build of a driver the kernel's Makefiles do not
# build (usb-skeleton.c has no Kconfig symbol).
set -uo pipefail
. "$(dirname "$0")/common.sh"
B=$(readlink -f "$1") SRC=$2 MD=$3 REV=${REV:-cdev-base}
shift 3
mkdir -p "$MD" "$RES"
MD=$(readlink -f "$MD")
LOG=$RES/$(basename "$MD")-build.log
f=$(basename "$SRC")
mod=${1:-${f%.c}}
[ $# -gt 0 ] && shift
objs=
for s in "$SRC" "$@"; do
	n=$(basename "$s")
	if [ "$REV" = . ]; then
		cp "$LINUX/$s" "$MD/$n.new" || die "no $s in $LINUX"
	else
		git -C "$LINUX" show "$REV:$s" >"$MD/$n.new" || die "no $s in $REV"
	fi
	if cmp -s "$MD/$n.new" "$MD/$n"; then rm "$MD/$n.new"; else mv "$MD/$n.new" "$MD/$n"; fi
	case $n in *.c) objs+=" ${n%.c}.o" ;; esac
done
# the source's own directory on the include path: its relative includes ("../tty/hvc/...")
inc="ccflags-y := -I\$(srctree)/$(dirname "$SRC")"
if [ "$objs" = " $mod.o" ]; then
	printf 'obj-m := %s.o\n%s\n' "$mod" "$inc" >"$MD/Kbuild"
else
	printf 'obj-m := %s.o\n%s-y :=%s\n%s\n' "$mod" "$mod" "$objs" "$inc" >"$MD/Kbuild"
fi
info "module: $REV:$SRC${*:+ $*} -> $MD/$mod.ko"
make -C "$B" ARCH=x86_64 M="$MD" "CC=ccache gcc" modules >"$LOG" 2>&1 ||
	{ tail -20 "$LOG"; die "stock module build failed (log: $LOG)"; }
