#!/usr/bin/env python3
"""Whether two kernel images run the same instructions on a benchmark's paths.

    bench-samecode.py STOCK_IMAGE OURS_IMAGE > samecode.json

For each operation of the native benchmark's raw device (NATIVE_PATHS), the functions reached from
its roots by direct calls (UML calls through `movabs $addr, %reg; call *%reg`, so every immediate
that is the start of a function counts) are disassembled in both images and compared instruction
by instruction, with addresses replaced by symbol+offset.  Indirect calls are not followed: the
driver methods called through f_op are roots themselves.  An operation whose functions are all
identical runs the same code in both kernels; a difference in its time is placement (alignment,
cache sets, branch predictor aliasing), not instructions.
"""
import bisect
import json
import re
import subprocess
import sys

# Roots per operation of lib/test_cdev_revoke_bench.c's bn_batch() on the raw device.
NATIVE_PATHS = {
    "read": ["bn_batch", "vfs_iocb_iter_read", "bench_raw_read_iter"],
    "read_nowait": ["bn_batch", "bench_raw_read_iter"],
    "ioctl": ["bn_batch", "vfs_ioctl", "bench_raw_ioctl"],
    "poll": ["bn_batch", "poll_initwait", "poll_freewait", "__pollwait", "bench_raw_poll"],
    "repoll": ["bn_batch", "bench_raw_poll"],
    "open_close": ["bn_batch", "filp_open", "__fput_sync", "chrdev_open"],
}
DEPTH = 4
# bn_batch() reaches everything the benchmark does; follow its callees only from the roots that
# belong to the operation, not from bn_batch itself.
# fput() (from poll_freewait()) never drops the last reference of the benchmark's open file, so
# the close path behind it does not run there.
NO_FOLLOW = {"bn_batch", "fput"}


class Image:
    def __init__(self, path):
        self.path = path
        syms, self.start = [], {}
        out = subprocess.run(["nm", "-n", path], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            p = line.split()
            if len(p) == 3 and p[1] not in "aAU":
                syms.append((int(p[0], 16), p[2]))
                if p[1] in "tTwW":
                    self.start.setdefault(p[2], int(p[0], 16))
        self.addrs = [a for a, _ in syms]
        self.names = [n for _, n in syms]
        self.func_starts = set(self.start.values())
        self.cache = {}

    def sym(self, addr):
        i = bisect.bisect_right(self.addrs, addr) - 1
        if i < 0 or i + 1 >= len(self.addrs):
            return None
        return self.names[i], addr - self.addrs[i]

    def function(self, name):
        """Normalised instructions of @name and the functions it references directly."""
        if name in self.cache:
            return self.cache[name]
        if name not in self.start:
            self.cache[name] = None
            return None
        a = self.start[name]
        i = bisect.bisect_right(self.addrs, a)
        end = self.addrs[i] if i < len(self.addrs) else a + 0x10000
        out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", f"--start-address={a:#x}",
                              f"--stop-address={end:#x}", self.path],
                             capture_output=True, text=True, check=True).stdout
        insns, refs = [], set()
        for line in out.splitlines():
            m = re.match(r"\s*[0-9a-f]+:\s+(.*)", line)
            if not m:
                continue
            ins = re.sub(r"\s+<[^>]*>", "", m.group(1)).strip()

            def norm(v):
                s = self.sym(v) if v >= 0x1000 else None
                if not s:
                    return None
                if s[1] == 0 and s[0] != name and v in self.func_starts:
                    refs.add(s[0])
                return f"<{s[0]}+{s[1]:#x}>"
            ins = re.sub(r"\$?0x([0-9a-f]{6,})\b", lambda mm: norm(int(mm.group(1), 16)) or mm.group(0), ins)
            ins = re.sub(r"^(j\w+|call)\s+([0-9a-f]{6,})$",
                         lambda mm: f"{mm.group(1)} {norm(int(mm.group(2), 16)) or mm.group(2)}", ins)
            if ins and not ins.startswith(("nop", "xchg   %ax,%ax", "data16", "cs nopw")):
                insns.append(ins)
        self.cache[name] = (insns, refs)
        return self.cache[name]


def closure(img, roots):
    seen, todo = set(), [(r, 0) for r in roots]
    while todo:
        n, d = todo.pop()
        if n in seen:
            continue
        f = img.function(n)
        if f is None:
            continue
        seen.add(n)
        if d < DEPTH and n not in NO_FOLLOW:
            todo += [(r, d + 1) for r in f[1]]
    return seen


def code(img, name, shape=False):
    """@name's instructions; with @shape, constants and data addresses masked (a __LINE__ of a
    WARN, a string in .rodata move with unrelated code), only calls to functions kept."""
    f = img.function(name)
    if f is None:
        return None
    if not shape:
        return f[0]
    return [re.sub(r"<(?![\w.]+\+0x0>)[^>]*>|\$?0x[0-9a-f]+", "K", i) for i in f[0]]


def main():
    stock, ours = Image(sys.argv[1]), Image(sys.argv[2])
    res = {}
    for op, roots in NATIVE_PATHS.items():
        fs = sorted(closure(stock, roots) | closure(ours, roots))
        differ = [f for f in fs if code(stock, f) != code(ours, f)]
        shape = [f for f in differ if code(stock, f, True) != code(ours, f, True)]
        res[op] = {"functions": len(fs), "differ": differ, "differ_in_shape": shape,
                   "identical": not differ, "same_shape": not shape}
    json.dump(res, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
