#!/usr/bin/env python3
"""Summarises a callgrind run of scripts/bench.sh (collection toggled on
inside the driver's VA entry points) as one TSV line:
mode, frames, total Ir, memcpy Ir called from driver code, Ir in the
simulator's interposed libc functions (the stand-in for the kernel), and
inclusive Ir per VA entry point.
    cg_summary.py DIR MODE N"""
import glob, os, re, subprocess, sys

d, mode, n = sys.argv[1], sys.argv[2], sys.argv[3]
frames = 0
try:
    for line in open(f"{d}/bench"):
        m = re.match(r"frames=(\d+)", line)
        if m and int(m.group(1)) > 0:
            frames = int(m.group(1))
except FileNotFoundError:
    pass

num = lambda s: int(s.replace(",", ""))
total = memcpy = sim = 0
entries = {}
for f in sorted(glob.glob(f"{d}/cg.out*")):
    if not re.search(r"cg\.out(-\d+)?$", f) or os.path.getsize(f) == 0:
        continue
    inc = subprocess.run(["callgrind_annotate", "--auto=no", "--inclusive=yes", "--threshold=100", f], capture_output=True, text=True).stdout
    for line in inc.splitlines():
        m = re.match(r"\s*([\d,]+)\s+(\(.*?\))?\s*PROGRAM TOTALS", line)
        if m:
            total += num(m.group(1))
            continue
        m = re.match(r"\s*([\d,]+)\s+\([^)]*\)\s+(\S+?):(\S+)( \[.*\])?$", line)
        if not m:
            continue
        ir, path, fn = num(m.group(1)), m.group(2), m.group(3)
        if not m.group(4):
            continue  # an inlined part, listed again under its caller's file
        if path.endswith("simulator/src/preload.rs") and "::" not in fn:
            sim += ir
        m2 = re.match(r"hantro_drv_video::va::vtable::(\w+)$", fn)
        if m2:
            entries[m2.group(1)] = entries.get(m2.group(1), 0) + ir
    tree = subprocess.run(["callgrind_annotate", "--auto=no", "--tree=caller", "--threshold=100", f], capture_output=True, text=True).stdout
    callers = []  # the "<" lines above a "*" line are that function's callers
    for line in tree.splitlines():
        m = re.match(r"\s*([\d,]+)\s+\([^)]*\)\s+<\s+\S+?:(\S+)", line)
        if m:
            callers.append((num(m.group(1)), m.group(2)))
            continue
        if re.search(r"\*\s+\S*:(__memcpy|__memmove|memcpy)\S*", line):
            memcpy += sum(ir for ir, fn in callers if fn.startswith("hantro_drv_video::"))
        if not line.strip() or "*" in line:
            callers = []
ent = ",".join(f"{k}:{v}" for k, v in sorted(entries.items()))
print(f"{mode}\t{n}\t{frames}\t{total}\t{memcpy}\t{sim}\t{ent}")
