#!/bin/bash
# Self-test of the workbench: splat detector, TAP counter, patch-series apply (on a scratch index).
# Cheap (a few seconds). Prints "harness: ok" or "harness: FAILED (n)".
set -uo pipefail
. "$(dirname "$0")/common.sh"
FX=$REPO/scripts/tests/fixtures
fails=0 n=0
t() { # t NAME EXPECTED_RC CMD... ; extra check via $GREP on output
	local name=$1 want=$2; shift 2
	local out rc
	out=$("$@" 2>&1); rc=$?
	n=$((n + 1))
	if [ "$want" = nonzero ] && [ $rc != 0 ]; then rc=nonzero; fi
	if [ "$rc" != "$want" ]; then
		echo "harness FAIL: $name: exit $rc, wanted $want"; echo "$out" | sed 's/^/    /' | head -20; fails=$((fails + 1)); return
	fi
	if [ -n "${GREP:-}" ] && ! grep -qE -- "$GREP" <<<"$out"; then
		echo "harness FAIL: $name: output lacks /$GREP/"; echo "$out" | sed 's/^/    /' | head -20; fails=$((fails + 1)); return
	fi
	echo "harness ok: $name"
}
SC=$REPO/scripts/splat-check
KT="python3 $REPO/scripts/ktap.py count"
GREP='clean' t "splat-check passes a clean log (KASAN in cmdline/test names)" 0 $SC "$FX/console-clean.log"
GREP='BUG: KASAN: slab-use-after-free in mtdchar_read' t "splat-check quotes a KASAN report" 1 $SC "$FX/console-kasan.log"
GREP='possible circular locking' t "splat-check: lockdep" 1 $SC "$FX/console-lockdep.log"
GREP='unreferenced object' t "splat-check: kmemleak" 1 $SC "$FX/console-kmemleak.log"
GREP='blocked for more than' t "splat-check: hung task" 1 $SC "$FX/console-hung.log"
GREP='known report, not counted: pciehp' t "splat-check: known upstream pciehp lockdep report is listed, not counted" 0 $SC "$FX/console-pciehp-known.log"
tmpk=$(mktemp); cat "$FX/console-pciehp-known.log" "$FX/console-lockdep.log" >"$tmpk"
GREP='possible circular' t "splat-check: a known report does not hide another one" 1 $SC "$tmpk"
rm -f "$tmpk"
GREP='5 passed, 1 failed, 1 skipped' t "ktap count: nested + parameterised" 1 $KT "$FX/ktap-good.tap"
GREP='truncated' t "ktap count: truncated KTAP is a failure" 1 $KT "$FX/ktap-truncated.tap"
GREP='2 passed, 1 failed' t "ktap count: kselftest TAP" 1 $KT "$FX/tap-selftests.tap"
GREP='truncated' t "ktap count: crashed selftest program" 1 $KT "$FX/tap-crashed.tap"
GREP='0 passed, 1 failed.*' t "ktap count: missing file is a failure" 1 $KT "$FX/does-not-exist.tap"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
python3 "$REPO/scripts/ktap.py" extract "$FX/console-clean.log" "$tmp/x.tap" >/dev/null
GREP='2 passed, 0 failed' t "ktap extract from a console log" 0 $KT "$tmp/x.tap"
# make demo's table: values from the program's output file, not from the console where kernel
# messages cut its lines; a missing value of our kernel fails, one of the stock kernel says why
DT=$REPO/scripts/demo-table.sh DF=$FX/demo
GREP='ioctl MEMGETINFO after +\| 0 \(success\) +\| -1 ENODEV \(No such device\)$' \
	t "demo table: a value cut by a kernel message on the console is read from the output file" 0 \
	$DT "$DF/stock-console.log" "$DF/stock" "$DF/ours-console.log" "$DF/ours"
GREP='close +\| 0 \(success\) +\| 0 \(success\)$' t "demo table: every row filled on both kernels" 0 \
	$DT "$DF/stock-console.log" "$DF/stock" "$DF/ours-console.log" "$DF/ours"
mkdir -p "$tmp/ours"; cp "$DF/ours/"* "$tmp/ours/"; grep -v 'step 1: close' "$DF/ours/demo.txt" >"$tmp/ours/demo.txt"
GREP='ERROR: our kernel: cell "close" missing' t "demo table: a value missing for our kernel fails, naming the cell" 1 \
	$DT "$DF/stock-console.log" "$DF/stock" "$DF/ours-console.log" "$tmp/ours"
GREP='close +\| - \(kernel died: BUG: KASAN: slab-use-after-free in mtdchar_read\)' \
	t "demo table: a stock kernel that died says so in the cells it did not reach" 0 \
	$DT "$DF/stock-dead-console.log" "$DF/stock-dead" "$DF/ours-console.log" "$DF/ours"
GREP='    ioctl +\| - \(VM time limit hit after "step 1: close: 0 \(success\)", with 2 kernel reports\)' \
	t "demo table: a stock VM stopped at its time limit says so" 0 \
	$DT "$DF/stock-timeout-console.log" "$DF/stock-timeout" "$DF/ours-console.log" "$DF/ours"
GREP='kernel reports +\| BUG: KASAN: slab-use-after-free in mtdchar_read \(2 reports\)' \
	t "demo table: a report that starts in the middle of a program line is quoted from its keyword" 0 \
	$DT "$DF/stock-timeout-console.log" "$DF/stock-timeout" "$DF/ours-console.log" "$DF/ours"
# the documents' relative links and #anchors resolve (and the checker sees a broken one)
GREP='doc-links: ok' t "docs: every relative link of README.md, WORKBENCH.md, BENCHMARK.md resolves" 0 \
	python3 "$REPO/scripts/doc-links.py" "$REPO/README.md" "$REPO/WORKBENCH.md" "$REPO/BENCHMARK.md"
GREP='does-not-exist.md: no such file' t "docs: a broken link is reported" 1 \
	python3 "$REPO/scripts/doc-links.py" "$FX/doc-links-broken.md"
GREP='#no-such-heading: no heading' t "docs: a broken anchor is reported" 1 \
	python3 "$REPO/scripts/doc-links.py" "$FX/doc-links-broken.md"
if [ -d "$LINUX/.git" ]; then
	GREP='^[0-9a-f]{40}$' t "tree: good fixture series applies (scratch index)" 0 "$REPO/scripts/tree.sh" chain "$FX/patches-good"
	GREP='patch 0002-broken-fixture-does-not-apply.patch .*does not apply' t "tree: broken patch reported by name" 1 "$REPO/scripts/tree.sh" chain "$FX/patches-broken"
else
	echo "harness: build/linux missing, patch-apply checks skipped (run make tree)"
fi
if [ $fails = 0 ]; then echo "harness: ok ($n checks)"; else echo "harness: FAILED ($fails of $n checks)"; exit 1; fi
