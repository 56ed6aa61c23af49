#!/usr/bin/env python3
"""Heap allocations per frame by driver call site, from two DHAT runs
(short and full decode; the difference divided by the frame difference).
    dhat_sites.py SHORT.json FRAMES_SHORT FULL.json FRAMES_FULL"""
import json, sys
from collections import Counter

SKIP = ("alloc::", "core::", "std::", "<alloc::", "<core::", "<std::", "__rust", "__rdl", "hantro_drv_video::v4l2::counters", "<hantro_drv_video::v4l2::counters",
        "malloc", "calloc", "realloc", "???")

def sites(path):
    d = json.load(open(path))
    ftbl = d["ftbl"]
    c = Counter()
    for pp in d["pps"]:
        frames = [ftbl[i] for i in pp["fs"]]
        text = " ".join(frames)
        if "hantro_drv_video" not in text:
            continue
        # the first frame that is driver code, and the first that is not a
        # library frame; allocations made inside the simulator are not ours
        site = None
        for f in frames:
            fn = f.split(": ", 1)[-1]
            if "hantro_sim" in fn:
                site = None
                break
            if fn.startswith("hantro_drv_video::") or fn.startswith("<hantro_drv_video::"):
                if not fn.startswith(SKIP):
                    site = fn.split(" (")[0]
                    break
        if site:
            c[site] += pp["tbk"]
    return c

a, na, b, nb = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
ca, cb = sites(a), sites(b)
dn = nb - na
tot = 0
rows = []
for k in set(ca) | set(cb):
    per = (cb[k] - ca[k]) / dn
    if abs(per) >= 0.05:
        rows.append((per, k))
        tot += per
for per, k in sorted(rows, reverse=True):
    print(f"{per:6.2f}  {k}")
print(f"{tot:6.2f}  total (driver call sites)")
