#!/bin/bash
# stock-module.sh KBUILD_OUT SRC_PATH MOD_DIR
# A stock control module: the file SRC_PATH of the base commit (tag cdev-base in build/linux:
# the driver as it is before the series) built as an external module against the kernel build
# directory KBUILD_OUT, into MOD_DIR (e.g. build/out/i2c-stock/i2c-dev.ko). A test loads it in
# place of the converted module, which shows what stock does on the same kernel: the core only
# changes cdevs that opt in. The source is rewritten only when it changed, so the rebuild is
# incremental. Log: build/results/<MOD_DIR's name>-build.log.
set -uo pipefail
. "$(dirname "$0")/common.sh"
B=$(readlink -f "$1") SRC=$2 MD=$3
mkdir -p "$MD" "$RES"
MD=$(readlink -f "$MD")
LOG=$RES/$(basename "$MD")-build.log
f=$(basename "$SRC")
git -C "$LINUX" show "cdev-base:$SRC" >"$MD/$f.new" || die "no $SRC in cdev-base"
if cmp -s "$MD/$f.new" "$MD/$f"; then rm "$MD/$f.new"; else mv "$MD/$f.new" "$MD/$f"; fi
echo "obj-m := ${f%.c}.o" >"$MD/Kbuild"
info "stock module: cdev-base:$SRC -> $MD/${f%.c}.ko"
make -C "$B" ARCH=x86_64 M="$MD" "CC=ccache gcc" modules >"$LOG" 2>&1 ||
	{ tail -20 "$LOG"; die "stock module build failed (log: $LOG)"; }
