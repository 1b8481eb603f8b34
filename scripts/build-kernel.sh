#!/bin/bash
# build-kernel.sh SRC OUTDIR NAME FRAGMENT...
# x86_64 VM kernel: `make ARCH=x86_64 tinyconfig` + fragments (merge_config.sh -m, olddefconfig),
# regenerated on every run (cheap; kbuild only rebuilds what a changed option affects), then
# bzImage + headers_install through ccache. Full output in build/results/NAME-build.log.
# Options that did not stick are listed in build/results/NAME-config-missing.txt; exit 3 if any
# (after building), unless ALLOW_MISSING=1.
set -uo pipefail
. "$(dirname "$0")/common.sh"
SRC=$(readlink -f "$1") NAME=$3
mkdir -p "$2" "$RES"
B=$(readlink -f "$2")   # absolute: make -C would resolve a relative O= against SRC
shift 3
frags=(); for f in "$@"; do frags+=("$(readlink -f "$f")"); done
LOG=$RES/$NAME-build.log
MISSING=$RES/$NAME-config-missing.txt
: >"$LOG"
mk=(make -C "$SRC" ARCH=x86_64 O="$B" "CC=ccache gcc" -j"$JOBS")
# Regenerate the config only when the fragments or a Kconfig file changed since the last time
stamp=$B/.cdev-config-stamp
want=$( (echo "$SRC"; cat "${frags[@]}") | sha1sum | cut -d' ' -f1)
if [ -f "$B/.config" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] &&
	[ -z "$(find "$SRC" \( -name .git -prune \) -o -name 'Kconfig*' -newer "$stamp" -print -quit)" ]; then
	info "$NAME: config up to date ($B/.config)"
else
	info "$NAME: configuring $B (tinyconfig + ${*##*/})"
	rm -f "$stamp"
	{
		"${mk[@]}" tinyconfig &&
		"$SRC"/scripts/kconfig/merge_config.sh -m -O "$B" "$B/.config" "${frags[@]}" &&
		"${mk[@]}" olddefconfig
	} >>"$LOG" 2>&1 || { tail -30 "$LOG"; die "$NAME: configuration failed (log: $LOG)"; }
	echo "$want" >"$stamp"
fi
# report any requested option that did not stick (last assignment of a symbol wins, like merge_config)
cat "${frags[@]}" | grep -E '^CONFIG_[A-Za-z0-9_]+=' | awk -F= '{v[$1]=$0} END {for (k in v) print v[k]}' | sort |
while IFS= read -r l; do
	k=${l%%=*} v=${l#*=}
	if [ "$v" = n ]; then
		grep -q "^$k=" "$B/.config" && echo "$l (have: $(grep "^$k=" "$B/.config"))"
	elif ! grep -qxF "$l" "$B/.config"; then
		echo "$l (have: $(grep -E "^$k=|# $k is not set" "$B/.config" || echo 'no such symbol'))"
	fi
done >"$MISSING"
if [ -s "$MISSING" ]; then
	echo "WARNING: $NAME: config options that did not stick:"; sed 's/^/    /' "$MISSING"
fi
info "$NAME: building bzImage (-j$JOBS, log: $LOG)"
start=$(date +%s)
ccache -z >/dev/null 2>&1 || true
# modules: lib/test_cdev_revoke.ko for the device selftests (loaded by them through TCR_KO)
if ! "${mk[@]}" bzImage modules >>"$LOG" 2>&1; then
	echo "---- errors from $LOG:"
	grep -E 'error|Error [0-9]|\*\*\*' "$LOG" | head -40
	echo "---- end of $LOG:"; tail -15 "$LOG"
	die "$NAME: kernel build failed"
fi
"${mk[@]}" headers_install >>"$LOG" 2>&1 || die "$NAME: headers_install failed (log: $LOG)"
end=$(date +%s)
nw=$(grep -c 'warning:' "$LOG" || true)
[ "$nw" -gt 0 ] && { echo "compiler warnings ($nw):"; grep -A3 'warning:' "$LOG" | head -40; }
st=$(ccache --print-stats 2>/dev/null | awk -F'\t' '/^(direct_cache_hit|preprocessed_cache_hit|cache_miss)\t/ {a[$1]=$2} END {printf "ccache: %d hits (%d direct, %d preprocessed), %d misses", a["direct_cache_hit"]+a["preprocessed_cache_hit"], a["direct_cache_hit"], a["preprocessed_cache_hit"], a["cache_miss"]}')
info "$NAME: built $(make -s -C "$SRC" O="$B" ARCH=x86_64 kernelrelease 2>/dev/null) in $((end - start)) s; $st"
if [ -s "$MISSING" ] && [ "${ALLOW_MISSING:-0}" != 1 ]; then exit 3; fi
exit 0
