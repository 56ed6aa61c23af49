#!/usr/bin/env python3
"""Turns the results directory of scripts/bench.sh into Markdown tables."""
import statistics, sys
from collections import defaultdict

out = sys.argv[1]
runs = defaultdict(list)
for line in open(f"{out}/runs.tsv"):
    t, client, mode, wall, rss, kv = line.rstrip("\n").split("\t")
    c = dict(x.split("=", 1) for x in kv.split())
    c.update(wall=float(wall), rss=int(rss))
    runs[(int(t), client, mode)].append(c)

def f(c, k, d=0.0):
    return float(c.get(k, d))

def median_run(rs):
    key = lambda c: f(c, "steady_fps") or (f(c, "frames") / c["wall"] if c["wall"] else 0)
    rs = sorted(rs, key=key)
    return rs[(len(rs) - 1) // 2], [key(c) for c in rs]

print(open(f"{out}/machine.txt").read().strip().replace("# ", "- "))
print()
# measured period of nanosleep(T) (the simulator's job period), per T
teff = {}
try:
    for line in open(f"{out}/sleep_cal.txt"):
        kv = dict(x.split("=") for x in line.split())
        teff.setdefault(int(kv["sleep_us"]), []).append(float(kv["mean_us"]))
except FileNotFoundError:
    pass
teff = {t: sum(v) / len(v) for t, v in teff.items()}
for t, v in sorted(teff.items()):
    print(f"- T = {t/1000:g} ms: nanosleep(T) measured {v/1000:.2f} ms on average (the simulated decoder's real job period, before+after the runs)")
print()
print("| T (ms) | client | mode | fps (steady) | fps×T | fps×T_eff | runs (fps) | wall (s) | in flight avg/max | submits to an idle decoder | bitstream copies/frame (KiB/frame) | picture copies/frame | exports | allocs/frame | peak RSS (MiB) | OUTPUT/CAPTURE bufs |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
fps_of = {}
for (t, client, mode) in sorted(runs, key=lambda k: (k[0], k[1], k[2] != "async")):
    c, all_fps = median_run(runs[(t, client, mode)])
    n = f(c, "frames")
    fps = f(c, "steady_fps")
    if not fps:  # no driver counters (GStreamer's own V4L2 decoder): wall clock incl. start-up
        fps = 0
        note = "see wall"
    fps_of[(t, client, mode)] = fps
    req = f(c, "requests")
    row = [
        f"{t/1000:g}", client, mode,
        f"{fps:.1f}" if fps else "–",
        f"{fps*t/1e6:.3f}" if fps else "–",
        f"{fps*teff[t]/1e6:.3f}" if fps and t in teff else "–",
        " ".join(f"{x:.1f}" for x in all_fps),
        f"{c['wall']:.2f}",
        f"{f(c,'in_flight_sum')/req:.2f}/{int(f(c,'in_flight_max'))}" if req else "–",
        f"{int(f(c,'idle_submits'))}/{int(req)}" if req else "–",
        f"{f(c,'bitstream_copies')/n:.2f} ({f(c,'bitstream_bytes')/n/1024:.1f})" if n else "–",
        f"{f(c,'picture_copies')/n:.2f}" if n else "–",
        f"{int(f(c,'exports'))}" if n else "–",
        f"{f(c,'steady_allocs_per_frame'):.1f}" if n else "–",
        f"{c['rss']/1024:.0f}",
        f"{int(f(c,'output_buffers_max'))}/{int(f(c,'capture_buffers_max'))}" if n else "–",
    ]
    print("| " + " | ".join(row) + " |")
print()
print("Asynchronous vs synchronous baseline (same run, steady-state fps):")
print()
print("| T (ms) | client | async fps | sync fps | async/sync | async fps×T | sync fps×T |")
print("|---|---|---|---|---|---|---|")
for (t, client, mode) in sorted(fps_of):
    if mode != "async" or (t, client, "sync") not in fps_of:
        continue
    a, s = fps_of[(t, client, "async")], fps_of[(t, client, "sync")]
    if a and s:
        print(f"| {t/1000:g} | {client} | {a:.1f} | {s:.1f} | {a/s:.3f} | {a*t/1e6:.3f} | {s*t/1e6:.3f} |")

# GStreamer's own decoder vs our VA path (wall clock, both incl. start-up)
wall = {k: median_run(v)[0]["wall"] for k, v in runs.items()}
for t in sorted({k[0] for k in runs}):
    if (t, "gst-v4l2sl", "async") in wall and (t, "gst-va", "async") in wall:
        print()
        print(f"T={t/1000:g} ms, wall clock: gst vah264dec {wall[(t,'gst-va','async')]:.2f} s, "
              f"gst v4l2slh264dec {wall[(t,'gst-v4l2sl','async')]:.2f} s, ratio v4l2sl/va = {wall[(t,'gst-v4l2sl','async')]/wall[(t,'gst-va','async')]:.3f}")

try:
    cg = {}
    for line in open(f"{out}/callgrind.tsv"):
        mode, n, frames, total, memcpy, sim, ent = line.rstrip("\n").split("\t")
        e = dict((k, int(v)) for k, v in (x.split(":") for x in ent.split(",") if x))
        cg.setdefault(mode, []).append((int(frames), int(total), int(memcpy), int(sim), e))
    rate = None
    try:
        ir_all = int(open(f"{out}/rate.txt").read().split("=")[1])
        ms = sorted(float(l.split(",")[0]) for l in open(f"{out}/perf.csv") if "task-clock" in l)
        if ir_all and ms:
            rate = ir_all / (ms[len(ms) // 2] * 1000)  # instructions per µs
    except (FileNotFoundError, ValueError, IndexError):
        pass
    if cg:
        print()
        print("Driver instructions per frame (callgrind, collected inside the VA entry points; marginal cost between the short and the full decode):")
        if rate:
            print(f"conversion: {rate:.0f} instructions/µs = all instructions of one whole ffmpeg -threads 1 decode at T=0 (callgrind) / its CPU time (perf stat task-clock, median of 5); hardware counters are not available in this VM")
        print()
        print("| mode | total | memcpy from driver code | simulator ioctl emulation | driver beyond copies and ioctls | µs/frame total | µs/frame beyond copies and ioctls | per entry point |")
        print("|---|---|---|---|---|---|---|---|")
        for mode, rs in cg.items():
            rs.sort()
            if len(rs) < 2 or rs[-1][0] == rs[0][0]:
                continue
            (n0, t0, m0, s0, e0), (n1, t1, m1, s1, e1) = rs[0], rs[-1]
            dn = n1 - n0
            tot, mc, sm = (t1 - t0) / dn, (m1 - m0) / dn, (s1 - s0) / dn
            rest = tot - mc - sm
            ents = ", ".join(f"{k} {(e1.get(k,0)-e0.get(k,0))/dn:,.0f}" for k in sorted(e1, key=lambda k: -(e1[k]-e0.get(k,0))) if (e1.get(k,0)-e0.get(k,0))/dn >= 100)
            us = f"{rest/rate:.1f}" if rate else "–"
            us_tot = f"{tot/rate:.1f}" if rate else "–"
            print(f"| {mode} | {tot:,.0f} | {mc:,.0f} | {sm:,.0f} | {rest:,.0f} | {us_tot} | {us} | {ents} |")
except FileNotFoundError:
    pass
try:
    sites = open(f"{out}/alloc_sites.txt").read().rstrip()
    print()
    print("Heap allocations per frame by driver call site (DHAT, ffmpeg -threads 1, marginal between the short and the full decode):")
    print()
    print("```")
    print(sites)
    print("```")
except FileNotFoundError:
    pass
try:
    print()
    print(open(f"{out}/va_init.txt").read().strip())
except FileNotFoundError:
    pass
