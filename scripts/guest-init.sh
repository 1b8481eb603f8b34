#!/bin/sh
# PID 1 of the test VM. The root filesystem is the host's / (9p, read-only); the writable results
# share (9p tag "results") is mounted over the host path given by cdev_results=, so the host sees
# the files at the same path. Kernel command line parameters (passed to us as environment):
#   cdev_mode=tests|demo|bench|control|lockdep|probe   cdev_results=/abs/path   cdev_tests=/abs/path/of/list
#   cdev_control_stock=/abs/path/of/prog[,prog]: in the control boot, also run the "stock" variant of
#     these selftests (use-after-free by design; output and rc in RESULTS/control-PROG.txt)
#   cdev_demo=/abs/path/of/cdevtest cdev_demo_timeout=s (default 300)   cdev_control=/abs/path/of/revoke_control   cdev_repo=/abs/path/of/the/repo
#   cdev_bench=/abs/path/of/cdev_revoke_bench   cdev_bench_ko=/abs/path/of/test_cdev_revoke_bench.ko
#   cdev_bench_quick=1 (a short run)   cdev_bench_args=-x,-R,10 (more options, comma-separated)
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
mode=${cdev_mode:-tests}
mount -t proc proc /proc
if [ "$mode" = probe ]; then echo "=== CDEV GUEST PROBE OK"; echo o >/proc/sysrq-trigger; while :; do :; done; fi
mount -t sysfs sysfs /sys
# the kernel's hung-task timeout (60 s) covers the boot-time KUnit run; 20 s for the selftests
[ -e /proc/sys/kernel/hung_task_timeout_secs ] && echo 20 >/proc/sys/kernel/hung_task_timeout_secs
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts && mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /run
# a fresh tmpfs on /tmp hides the host's /tmp: if the repo lives there (a clone in /tmp/x), bind
# its top directory back
mkdir -p /run/host-tmp && mount --bind /tmp /run/host-tmp
mount -t tmpfs tmpfs /tmp
case ${cdev_repo:-} in
/tmp/?*) top=${cdev_repo#/tmp/}; top=${top%%/*}; mkdir -p "/tmp/$top" && mount --bind "/run/host-tmp/$top" "/tmp/$top" ;;
esac
mount -t debugfs debugfs /sys/kernel/debug
# No module tree for this kernel here: without a modprobe helper, request_module() fails at once
# instead of running the host's modprobe over 9p (4-5 s each: physmap's probe asks for three
# partition parsers, which made every rebind take ~14 s)
echo >/proc/sys/kernel/modprobe
R=${cdev_results:-/tmp/results}
if ! mount -t 9p -o trans=virtio,version=9p2000.L,access=any results "$R"; then
	echo "=== CDEV GUEST: cannot mount results share on $R; results go to the console only"
	R=/tmp/results; mkdir -p $R
fi
echo "=== CDEV GUEST UP: $(uname -r) nproc=$(nproc) mode=$mode uptime=$(cut -d' ' -f1 /proc/uptime)"
cat /proc/mtd

run_selftests() {
	# kselftest-style TAP: one top-level result per program, its own TAP nested (indented) below
	tap=$R/selftests.tap
	n=$(grep -c . "$cdev_tests" 2>/dev/null || echo 0)
	echo "TAP version 13" >$tap
	echo "1..$n" >>$tap
	i=0
	while read -r t; do
		[ -n "$t" ] || continue
		i=$((i + 1))
		name=selftests:\ cdev_revoke:\ $(basename "$t")
		echo "# $name" >>$tap
		echo "=== CDEV SELFTEST START $t"
		(cd "$(dirname "$t")" && timeout ${cdev_test_timeout:-1500} "$t") >/tmp/out.txt 2>&1
		rc=$?
		sed 's/^/    /' /tmp/out.txt >>$tap
		cat /tmp/out.txt
		case $rc in
		0) echo "ok $i $name" >>$tap ;;
		4) echo "ok $i $name # SKIP" >>$tap ;;
		124) echo "not ok $i $name # TIMEOUT" >>$tap ;;
		*) echo "not ok $i $name # exit=$rc" >>$tap ;;
		esac
		echo "=== CDEV SELFTEST END $t rc=$rc"
	done <"$cdev_tests"
	sync
}

run_demo() {
	echo "=== CDEV DEMO: kernel $(uname -r)"
	mtdinfo /dev/mtd0 2>&1 | head -4
	d=/sys/bus/platform/drivers/physmap-flash
	if [ ! -e $d/physmap-flash.0 ]; then echo "=== CDEV DEMO: physmap-flash.0 not bound, cannot run"; return; fi
	# its own lines go to demo.txt (the host's table reads them there: on the console kernel
	# messages interleave), its exit status to demo-rc
	{ timeout -k 10 "${cdev_demo_timeout:-300}" "$cdev_demo" mtd physmap-flash.0 $d "${cdev_demo_cycles:-20}" 2>&1; echo $? >$R/demo-rc; } | tee $R/demo.txt
	sleep 2
	echo "=== CDEV DEMO: /proc/mtd at the end:"; cat /proc/mtd
	echo "=== CDEV DEMO DONE"
}

run_bench() {
	echo "=== CDEV BENCH: kernel $(uname -r)"
	rm -f $R/bench-raw.json
	if ! insmod "$cdev_bench_ko"; then echo "=== CDEV BENCH: insmod $cdev_bench_ko failed"; return; fi
	# shellcheck disable=SC2086 # cdev_bench_args: options, comma-separated on the command line
	"$cdev_bench" -o $R/bench-raw.json ${cdev_bench_quick:+-q} $(echo "${cdev_bench_args:-}" | tr , ' ')
	echo "=== CDEV BENCH DONE rc=$?"
	rmmod test_cdev_revoke_bench
	sync
}

# the expected-failure control: the test driver with optin=0, open + unbind + ioctl (KASAN report)
run_control() {
	echo "=== CDEV CONTROL START $cdev_control"
	"$cdev_control" 2>&1 | tee $R/control.txt
	sleep 1
	echo "=== CDEV CONTROL END"
	for p in $(echo "${cdev_control_stock:-}" | tr , ' '); do
		[ -x "$p" ] || continue
		o=$R/control-$(basename "$p").txt
		echo "=== CDEV CONTROL STOCK START $p"
		# a case may leave a process behind that holds a file: no pipe
		(cd "$(dirname "$p")" && timeout ${cdev_test_timeout:-300} "$p" -v stock) >$o 2>&1 </dev/null
		echo "rc=$?" >>$o
		cat $o
		echo "=== CDEV CONTROL STOCK END $p"
	done
}

case $mode in
tests) run_selftests ;;
demo) run_demo ;;
bench) run_bench ;;
control) run_control ;;
esac

# kmemleak: two explicit scans a few seconds apart (objects must be seen unreferenced twice).
# Not in the control boot: its use-after-free is the point, a leak report there adds nothing.
if [ "$mode" = control ]; then
	:
elif [ -w /sys/kernel/debug/kmemleak ]; then
	echo "=== CDEV KMEMLEAK scan"
	echo scan >/sys/kernel/debug/kmemleak; sleep 5; echo scan >/sys/kernel/debug/kmemleak
	cat /sys/kernel/debug/kmemleak >$R/kmemleak.txt
	echo "=== CDEV KMEMLEAK report ($(grep -c 'unreferenced object' $R/kmemleak.txt) objects):"
	cat $R/kmemleak.txt
else
	echo "=== CDEV KMEMLEAK not available" | tee $R/kmemleak.txt
fi
echo "=== CDEV GUEST DONE uptime=$(cut -d' ' -f1 /proc/uptime)"
echo done >$R/guest-done
sync
umount "$R" 2>/dev/null
echo o >/proc/sysrq-trigger
# Do not exit (that panics) and do not exec anything from the 9p root while it is shut down:
# spin on shell builtins until the power-off completes.
while :; do :; done
