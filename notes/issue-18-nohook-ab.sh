#!/bin/bash
# Is the +8 ns of a non-opted-in open + close (ours vs stock) the chrdev hooks, or placement?
set -u
L=/work/main/build/linux NB=/work/main/build/out/bench-uml
cp $NB/linux /tmp/nohook/linux-ours
cp $L/fs/char_dev.c /tmp/nohook/char_dev.c.orig; cp $L/fs/file_table.c /tmp/nohook/file_table.c.orig
cp /tmp/nohook/char_dev.c /tmp/nohook/file_table.c $L/fs/
(cd $L && python3 tools/testing/kunit/kunit.py build --arch=um --kunitconfig=/work/main/vm/bench-uml.config \
	--build_dir=$NB --jobs=2 --make_options "CC=ccache gcc") > /tmp/nohook/build.log 2>&1 || { echo build failed; tail /tmp/nohook/build.log; }
cp $NB/linux /tmp/nohook/linux-nohook
(cd $L && git checkout fs/char_dev.c fs/file_table.c)
cp /work/main/build/stock/out/bench-uml/linux /tmp/nohook/linux-stock
args="mem=1G kunit.enable=1 kunit.filter_glob=cdev_revoke_bench.bn_ops kunit_shutdown=halt test_cdev_revoke_bench.native_ops=48 test_cdev_revoke_bench.native_mechs=1 test_cdev_revoke_bench.native_scale=0 test_cdev_revoke_bench.native_reps=5"
for i in 1 2 3 4; do
	for k in stock ours nohook; do
		timeout 300 /tmp/nohook/linux-$k $args </dev/null > /tmp/nohook/$k-$i.log 2>&1
	done
done
for k in stock ours nohook; do
	python3 - $k /tmp/nohook/$k-*.log <<'PY'
import sys,re,statistics as st
k=sys.argv[1]; r=[]
for f in sys.argv[2:]:
    d={}
    for l in open(f,errors='replace'):
        m=re.search(r'op=(\w+) mech=raw rep=(\d+) ns_x100=(\d+)',l)
        if m: d.setdefault(m.group(1),{})[m.group(2)]=int(m.group(3))/100
    oc,ca=d.get('open_close',{}),d.get('calibration',{})
    r.append((st.median(oc.values()) if oc else 0, st.median(ca.values()) if ca else 0))
print(k, "open_close ns per boot:", [f"{a:.1f}" for a,b in r], "calib:", [f"{b:.1f}" for a,b in r])
PY
done
