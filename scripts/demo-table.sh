#!/bin/bash
# shellcheck disable=SC2317 # the value extractors are called through vrow
# demo-table.sh STOCK_CONSOLE STOCK_RESULTS_DIR OURS_CONSOLE OURS_RESULTS_DIR
# The table of make demo. The program's values come from its own output file (RESULTS_DIR/demo.txt,
# written by the guest into the results share): on the serial console the kernel's messages can
# land in the middle of a program line. The console is read only for what the kernel printed
# (its version, its reports, who freed the memory).
# A value missing for OUR kernel is an error: the row says MISSING, a line names the cell and the
# exit status is 1. For the stock kernel, which may die of the bug, a missing value says why.
# env: DEMO_ACCEL (accelerator line), DEMO_OURS_LABEL (column title of our kernel)
set -uo pipefail
shopt -s extglob
[ $# = 4 ] || { echo "usage: $0 STOCK_CONSOLE STOCK_RESULTS_DIR OURS_CONSOLE OURS_RESULTS_DIR" >&2; exit 2; }
SC=$1 SD=$2 OC=$3 OD=$4

# the first report of a console, without timestamp and offsets, and how many reports
first_report() {
	# from the keyword on: a report can start in the middle of a program line
	grep -a -m1 -oE '(BUG:|Oops|general protection|Kernel panic|WARNING:).*' "$1" 2>/dev/null |
		sed -E -e 's/\+0x[0-9a-f]+\/0x[0-9a-f]+//' -e 's/\r$//'
}
kreports() {
	local first n
	first=$(first_report "$1")
	n=$(grep -a -c -E 'BUG:|Oops|general protection' "$1" 2>/dev/null)
	if [ -z "$first" ]; then echo "none: no splat"; else echo "$first (${n:-0} reports)"; fi
}
freed_by() { grep -a -A25 'Freed by task' "$1" 2>/dev/null | grep -a -m1 -oE '[a-z_0-9]+_remove' || true; }

# why the program's output of a kernel ends early ($1 console, $2 results dir): one phrase
why_missing() {
	local c=$1 d=$2 f=$2/demo.txt rc first last n
	first=$(first_report "$c")
	n=$(grep -a -c -E 'BUG:|Oops|general protection' "$c" 2>/dev/null)
	rc=$(cat "$d/demo-rc" 2>/dev/null)
	last=$(grep -a 'CDEVTEST' "$f" 2>/dev/null | tail -1 | sed -e 's/^CDEVTEST //' -e 's/\r$//' | tr -s ' ')
	if [ ! -f "$d/guest-done" ]; then
		if grep -aq 'Kernel panic' "$c"; then echo "kernel died: ${first:-$(grep -a -m1 'Kernel panic' "$c" | sed -E 's/^\[ *[0-9.]+\] //; s/\r$//')}"
		elif [ ! -s "$c" ]; then echo "no console: the guest did not boot"
		elif grep -aq 'terminating on signal 15.*(timeout)' "$c"; then
			echo "VM time limit hit after \"${last:-no program line}\"${first:+, with $n kernel reports}"
		else echo "the guest did not finish${first:+: $first}"
		fi
	elif [ ! -s "$f" ]; then
		echo "the program printed nothing: $(grep -a -m1 '=== CDEV DEMO:.*cannot\|not bound' "$c" || echo "no output file")"
	elif grep -aq 'did not come back\|no MTD device' "$f"; then
		grep -a -m1 'did not come back\|no MTD device' "$f" | sed 's/^CDEVTEST //'
	elif [ "$rc" = 124 ]; then
		echo "the program timed out after \"$last\""
	elif [ -n "$rc" ] && [ "$rc" -gt 128 ]; then
		echo "the program was killed (signal $((rc - 128))) after \"$last\"${first:+: $first}"
	else
		echo "not printed (exit ${rc:-?}, last line \"$last\")${first:+; kernel: $first}"
	fi
}

# one value of a program line: the text after "CDEVTEST <key>:" (key is a basic regex)
val() { grep -a -m1 "^CDEVTEST $2" "$1/demo.txt" 2>/dev/null | sed -e "s/^CDEVTEST $2:* *//" -e 's/\r$//'; }

missing=()
# cell KERNEL NAME VALUE: the value, or for a missing one its reason
cell() {
	local k=$1 name=$2 v=$3
	if [ -n "$v" ]; then echo "$v"; return; fi
	if [ "$k" = ours ]; then
		echo "MISSING"
	else
		echo "- ($(why_missing "$SC" "$SD"))"
	fi
}
row() { printf '  %-30s | %-44s | %s\n' "$1" "$2" "$3"; }
# vrow NAME EXTRACTOR...: a row of program values, EXTRACTOR run with the results dir appended
vrow() {
	local name=$1 s o; shift
	s=$("$@" "$SD"); o=$("$@" "$OD")
	[ -n "$o" ] || missing+=("$name")
	row "$name" "$(cell stock "$name" "$s")" "$(cell ours "$name" "$o")"
}
unbind_ms() { val "$1" 'step 1: unbind [^:]*' | sed 's/.*: //'; }
step1() { val "$2" "step 1: $1"; }
cycles() { val "$1" 'step 2 cycles' | cut -d, -f1; }
cycle_times() { val "$1" 'step 2 cycles' | cut -d, -f2- | sed 's/^ *//'; }
step2() { val "$2" "step 2: $1 "; }

stock_ver=$(grep -a -m1 -oE 'Linux version [^ ]+' "$SC" 2>/dev/null | cut -d' ' -f3)
echo "================ make demo: /dev/mtd0 held open and read while physmap-flash.0 is unbound ================"
echo "  QEMU pflash bound by physmap-flash, ${DEMO_ACCEL:-TCG} -smp 2; same config on both kernels"
row "" "STOCK ${stock_ver:-(no boot)}" "${DEMO_OURS_LABEL:-OURS (cdev_revoke)}"
row "kernel reports" "$(kreports "$SC")" "$(kreports "$OC")"
row "memory freed by" "$(freed_by "$SC" | grep . || echo -)" "$(freed_by "$OC" | grep . || echo -)"
vrow "unbind with the file open" unbind_ms
for k in 'pread after unbind' 'io_uring read after' 'ioctl MEMGETINFO after' 'close'; do
	vrow "$k" step1 "$k"
done
vrow "unbind/bind loop under load" cycles
vrow "  unbind time" cycle_times
for k in pread 'io_uring read' ioctl; do
	vrow "  $k" step2 "$k"
done
echo "  (values: the program's output files $SD/demo.txt $OD/demo.txt; consoles: $SC $OC)"
if [ ${#missing[@]} != 0 ]; then
	for m in "${missing[@]}"; do
		echo "ERROR: our kernel: cell \"${m##+( )}\" missing ($(why_missing "$OC" "$OD"))"
	done
	exit 1
fi
exit 0
