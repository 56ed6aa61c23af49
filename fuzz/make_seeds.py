#!/usr/bin/env python3
"""Writes the committed fuzz seeds: real slice NAL units from the H.264
corpus (scripts/corpus.sh) with the SPS/PPS values their headers depend on
(read with ffmpeg's trace_headers), laid out the way fuzz/src/lib.rs
decodes inputs. Usage: fuzz/make_seeds.py [CORPUS_DIR]"""
import os, re, subprocess, sys

here = os.path.dirname(os.path.abspath(__file__))
corpus = sys.argv[1] if len(sys.argv) > 1 else os.path.expanduser("~/.cache/hantro/corpus")

def trace(path):
    o = subprocess.run(["ffmpeg", "-v", "trace", "-i", path, "-c", "copy", "-bsf:v", "trace_headers", "-frames:v", "3", "-f", "null", "-"],
                       capture_output=True, text=True).stderr
    vals = {}
    for m in re.finditer(r"\] \d+\s+(\w+)\s+[01]+ = (-?\d+)", o):
        vals.setdefault(m.group(1), int(m.group(2)))
    return vals

def nals(data):
    out, i = [], 0
    starts = [m.end() for m in re.finditer(b"\x00\x00\x01", data)]
    for k, s in enumerate(starts):
        e = starts[k + 1] - 3 if k + 1 < len(starts) else len(data)
        n = data[s:e].rstrip(b"\x00")
        if n:
            out.append(n)
    return out

def fields(v):
    b = lambda x: 1 if x else 0
    f = [v.get("chroma_format_idc", 1), b(v.get("separate_colour_plane_flag", 0)), v.get("log2_max_frame_num_minus4", 0),
         b(v.get("frame_mbs_only_flag", 1)), b(v.get("mb_adaptive_frame_field_flag", 0)), v.get("pic_order_cnt_type", 0),
         v.get("log2_max_pic_order_cnt_lsb_minus4", 0), b(v.get("delta_pic_order_always_zero_flag", 0)),
         b(v.get("bottom_field_pic_order_in_frame_present_flag", 0)), b(v.get("redundant_pic_cnt_present_flag", 0)),
         b(v.get("weighted_pred_flag", 0)), v.get("weighted_bipred_idc", 0), b(v.get("entropy_coding_mode_flag", 0)),
         b(v.get("deblocking_filter_control_present_flag", 0)), b(v.get("transform_8x8_mode_flag", 0)), 0, 1,
         v.get("pic_width_in_mbs_minus1", 19) & 0xff, v.get("pic_height_in_map_units_minus1", 14) & 0xff,
         v.get("max_num_ref_frames", 1), 0, 0]
    return bytes(x & 0xff for x in f) + b"\x00\x00" + b"\x00"

def slice_params(v):
    # compact form: even tag, slice_type, l0/l1 active (PPS defaults),
    # weight denominators, slice_data_bit_offset (u16), direct flag,
    # RefPicList0/1 lengths 0
    return bytes([0, 0, v.get("num_ref_idx_l0_default_active_minus1", 0) & 0xff,
                  v.get("num_ref_idx_l1_default_active_minus1", 0) & 0xff, 0, 0, 0, 0, 1, 0, 0])

n = 0
for name in ["cavlc_baseline", "cabac_main_bpyr", "high_8x8_cqm", "weightp_explicit", "mbaff", "slices4", "ref16", "weightb_implicit"]:
    path = os.path.join(corpus, name + ".h264")
    if not os.path.exists(path):
        continue
    v = trace(path)
    data = open(path, "rb").read()
    slices = [x for x in nals(data) if x[0] & 0x1f in (1, 5)][:3]
    # compact picture: even tag, fields, CurrPic (surface 1), no references
    pic = b"\x00" + fields(v) + bytes([1, 0, 0, 0, 0, 0, 0, 0]) + b"\x00"
    for k, s in enumerate(slices[:2]):
        open(os.path.join(here, "corpus/slice_header", f"{name}-{k}"), "wb").write(pic + slice_params(v) + s[:200])
    s = slices[min(1, len(slices) - 1)]
    # profile Main, frame-based, refs structure bits, picture, no IQ, 1 slice
    seed = bytes([1, 1, 0x55]) + pic + b"\x00" + b"\x00" + slice_params(v) + b"\xff\xff" + s[:400]
    open(os.path.join(here, "corpus/translate", name), "wb").write(seed)
    n += 1
print(f"seeds from {n} streams")
