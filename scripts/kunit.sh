#!/bin/bash
# UML KUnit run: kunit.py with the project's .kunitconfig (or KUNITCONFIG=...), through ccache.
# Results: build/results/kunit-uml.{log,tap,json}, kernel console in build/results/kunit-uml-console.log
set -uo pipefail
. "$(dirname "$0")/common.sh"
KUNITCONFIG=$(readlink -f "${KUNITCONFIG:-$REPO/.kunitconfig}")
KUNIT_BUILD=${KUNIT_BUILD:-$OUT/kunit-uml}
mkdir -p "$RES" "$KUNIT_BUILD"
rm -f "$RES"/kunit-uml.tap "$RES"/kunit-uml.log "$RES"/kunit-uml.json "$RES"/kunit-uml-console.log
[ -e "$LINUX/.git" ] || die "build/linux missing: run make tree"
[ -f "$KUNITCONFIG" ] || die "$KUNITCONFIG missing"
info "KUnit (UML) with $KUNITCONFIG -> $KUNIT_BUILD"

# Every CONFIG_X=y of the kunitconfig must exist as a Kconfig symbol, else kunit.py fails with a
# less obvious message. Say clearly which one is missing.
missing=()
for sym in $(sed -n 's/^CONFIG_\([A-Za-z0-9_]*\)=.*/\1/p' "$KUNITCONFIG"); do
	grep -rqsE "^[[:space:]]*(menu)?config[[:space:]]+$sym[[:space:]]*$" --include='Kconfig*' "$LINUX" || missing+=("$sym")
done
if [ ${#missing[@]} -gt 0 ]; then
	{
		echo "ERROR: $KUNITCONFIG enables Kconfig symbols that do not exist in build/linux: ${missing[*]}"
		echo "  (has the kernel code that defines them landed? run 'make tree' after adding it)"
		echo "  to exercise the harness anyway: make kunit KUNITCONFIG=scripts/tests/fallback.kunitconfig"
	} | tee "$RES/kunit-uml.log" >&2
	exit 1
fi

cd "$LINUX"
start=$(date +%s)
python3 tools/testing/kunit/kunit.py run --arch=um --kunitconfig="$KUNITCONFIG" --build_dir="$KUNIT_BUILD" \
	--jobs="$JOBS" --make_options "CC=ccache gcc" --timeout="${KUNIT_TIMEOUT:-900}" \
	--json="$RES/kunit-uml.json" >"$RES/kunit-uml.log" 2>&1
rc=$?
end=$(date +%s)
# kunit.py prints the build/config errors and the parsed results; show the essential part
grep -vE '^\[[0-9:]+\] (Building KUnit|Populating|Generating|Starting|Configuring|Elapsed)' "$RES/kunit-uml.log" |
	grep -E 'ERROR|rror:|arning:|not ok|FAILED|CRASHED|Testing complete|Ran [0-9]+ tests|^\[[0-9:]+\] =+ .* =+$|missing|not in' | head -60
[ -f "$KUNIT_BUILD/test.log" ] && cp "$KUNIT_BUILD/test.log" "$RES/kunit-uml-console.log"
if [ -f "$RES/kunit-uml-console.log" ]; then
	python3 "$REPO/scripts/ktap.py" extract "$RES/kunit-uml-console.log" "$RES/kunit-uml.tap" || true
fi
info "kunit.py exit $rc after $((end - start)) s (log: $RES/kunit-uml.log, KTAP: $RES/kunit-uml.tap)"
exit $rc
