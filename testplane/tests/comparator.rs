//! Unit tests of the trace comparator on small inline trace excerpts, in the
//! exact text format of /sys/kernel/tracing/trace with visl's H.264 events
//! (visl-trace-h264.h) and vb2's buf_done event (include/trace/events/vb2.h).

use testplane::compare::{compare_texts, Options};
use testplane::visl::{analyse_text, Mode};

const HEADER: &str = "# tracer: nop
#
# entries-in-buffer/entries-written: 100/100   #P:2
#
#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION
#              | |         |   |||||     |         |
";

/// A DPB entry: (reference_ts, frame_num, poc)
type Ref = (u64, u32, i32);

struct Pic<'a> {
    ts: u64,
    frame_num: u32,
    poc: i32,
    slice_type: &'a str,
    first_mb: u32,
    dpb: &'a [Ref],
    /// ref_pic_list0 as DPB array indices
    l0: &'a [usize],
    pid: u32,
}

fn pic<'a>(ts: u64, frame_num: u32, dpb: &'a [Ref], l0: &'a [usize]) -> Pic<'a> {
    Pic { ts, frame_num, poc: 2 * frame_num as i32, slice_type: if dpb.is_empty() { "I" } else { "P" }, first_mb: 0, dpb, l0, pid: 203 }
}

fn run(p: &Pic, t: &mut f64) -> String {
    let mut s = String::new();
    let mut hdr = |name: &str, body: &str| {
        *t += 0.000010;
        s.push_str(&format!(" h264parse0:sink-{}     [000] .....  {:>10.6}: {name}: {body}\n", p.pid, t));
    };
    hdr("v4l2_qbuf", &format!("minor = 0, index = 0, type = VIDEO_OUTPUT_MPLANE, bytesused = 0, flags = MAPPED, field = NONE, timestamp = {}, timecode = {{ type = 0x0, flags = , frames = 0, seconds = 0, minutes = 0, hours = 0, userbits = {{ 0 0 0 0 }} }}, sequence = 0", p.ts));
    hdr("v4l2_ctrl_h264_sps", "\nprofile_idc 77\nconstraint_set_flags CONSTRAINT_SET1_FLAG\nlevel_idc 13\nseq_parameter_set_id 0\nchroma_format_idc 1\nbit_depth_luma_minus8 0\nbit_depth_chroma_minus8 0\nlog2_max_frame_num_minus4 0\npic_order_cnt_type 0\nlog2_max_pic_order_cnt_lsb_minus4 2\nmax_num_ref_frames 4\nnum_ref_frames_in_pic_order_cnt_cycle 0\noffset_for_ref_frame {0x0,0x0,0x0}\noffset_for_non_ref_pic 0\noffset_for_top_to_bottom_field 0\npic_width_in_mbs_minus1 19\npic_height_in_map_units_minus1 14\nflags FRAME_MBS_ONLY|DIRECT_8X8_INFERENCE");
    hdr("v4l2_ctrl_h264_pps", "\npic_parameter_set_id 0\nseq_parameter_set_id 0\nnum_slice_groups_minus1 0\nnum_ref_idx_l0_default_active_minus1 3\nnum_ref_idx_l1_default_active_minus1 0\nweighted_bipred_idc 0\npic_init_qp_minus26 -3\npic_init_qs_minus26 0\nchroma_qp_index_offset -2\nsecond_chroma_qp_index_offset -2\nflags ENTROPY_CODING_MODE|DEBLOCKING_FILTER_CONTROL_PRESENT");
    hdr("v4l2_ctrl_h264_scaling_matrix", "\nscaling_list_4x4 {10 10 10 10\n10 10 10 10}\nscaling_list_8x8 {10 10 10 10\n10 10 10 10}");
    let l0_active = p.l0.len().max(1) - 1;
    hdr("v4l2_ctrl_h264_slice_params", &format!("\nheader_bit_size 30\nfirst_mb_in_slice {}\nslice_type {}\ncolour_plane_id 0\nredundant_pic_cnt 0\ncabac_init_idc 0\nslice_qp_delta 2\nslice_qs_delta 0\ndisable_deblocking_filter_idc 0\nslice_alpha_c0_offset_div2 0\nslice_beta_offset_div2 0\nnum_ref_idx_l0_active_minus1 {l0_active}\nnum_ref_idx_l1_active_minus1 0\nflags ", p.first_mb, p.slice_type));
    for i in 0..4 {
        let idx = p.l0.get(i).copied().unwrap_or(0);
        hdr("v4l2_h264_ref_pic_list0", &format!("[{i}]: fields FRAME_REF index {idx}"));
    }
    for i in 0..4 {
        hdr("v4l2_h264_ref_pic_list1", &format!("[{i}]: fields  index 0"));
    }
    hdr("v4l2_ctrl_h264_decode_params", &format!("\nnal_ref_idc 3\nframe_num {}\ntop_field_order_cnt {}\nbottom_field_order_cnt {}\nidr_pic_id 0\npic_order_cnt_lsb {}\ndelta_pic_order_cnt_bottom 0\ndelta_pic_order_cnt0 0\ndelta_pic_order_cnt1 0\ndec_ref_pic_marking_bit_size 1\npic_order_cnt_bit_size 6\nslice_group_change_cycle 0\nflags {}\n", p.frame_num, p.poc, p.poc, p.poc, if p.dpb.is_empty() { "IDR_PIC" } else { "PFRAME" }));
    for i in 0..16 {
        match p.dpb.get(i) {
            Some((ts, fnum, poc)) => hdr("v4l2_h264_dpb_entry", &format!("[{i}]: reference_ts {ts}, pic_num {fnum} frame_num {fnum} fields FRAME_REF top_field_order_cnt {poc} bottom_field_order_cnt {poc} flags VALID|ACTIVE")),
            None => hdr("v4l2_h264_dpb_entry", &format!("[{i}]: reference_ts 0, pic_num 0 frame_num 0 fields  top_field_order_cnt 0 bottom_field_order_cnt 0 flags ")),
        }
    }
    hdr("v4l2_ctrl_h264_pred_weights", "\nluma_log2_weight_denom 0\nchroma_log2_weight_denom 0\nweight_factor[0].luma_weight {0x0,0x0}\nweight_factor[0].luma_offset {0x0,0x0}\nweight_factor[0].chroma_weight {00 00\n00 00}\nweight_factor[0].chroma_offset {00 00}\nweight_factor[1].luma_weight {0x0,0x0}\nweight_factor[1].luma_offset {0x0,0x0}\nweight_factor[1].chroma_weight {00 00}\nweight_factor[1].chroma_offset {00 00}\n");
    hdr("vb2_buf_done", &format!("owner = 00000000deadbeef, queued = 1, owned_by_drv = 1, index = 0, type = 10, bytesused = 0, timestamp = {}", p.ts));
    s
}

fn trace(pics: &[Pic]) -> String {
    let mut s = HEADER.to_string();
    let mut t = 10.0;
    for p in pics {
        s.push_str(&run(p, &mut t));
    }
    s
}

/// I P P with GStreamer-like timestamps (frame number * 1000).
fn ipp(base: u64, step: u64) -> String {
    let t = |i: u64| base + i * step;
    let d1 = [(t(0), 0, 0)];
    let d2 = [(t(0), 0, 0), (t(1), 1, 2)];
    trace(&[pic(t(0), 0, &[], &[]), pic(t(1), 1, &d1, &[0]), pic(t(2), 2, &d2, &[1, 0])])
}

#[test]
fn identical_traces_are_equal() {
    let r = compare_texts(&ipp(0, 1000), &ipp(0, 1000), &Options::default());
    assert!(r.all_equal(), "{}", r.text());
    assert_eq!(r.summary(), "frames equal: 3/3");
    assert!(r.text().ends_with("frames equal: 3/3\n"));
}

#[test]
fn one_decode_param_per_frame_and_decode_order() {
    let d = analyse_text(&ipp(0, 1000));
    assert_eq!(d.codec.map(|c| c.name), Some("h264"));
    assert_eq!(d.runs.len(), 3);
    assert_eq!(d.frames.len(), 3);
    assert_eq!(d.decode_params_events, 3);
    assert!(d.warnings.is_empty(), "{:?}", d.warnings);
    assert_eq!(d.frames[2].timestamp, 2000);
    assert_eq!(d.frames[1].fields["decode_params.frame_num"], "1");
    assert_eq!(d.frames[2].fields["sps.offset_for_ref_frame"], "{0x0,0x0,0x0}");
    assert_eq!(d.frames[0].fields["scaling_matrix.scaling_list_4x4"], "{10 10 10 10 10 10 10 10}");
}

#[test]
fn timestamps_are_normalised_to_decode_index() {
    // ours uses completely different timestamps (e.g. surface based)
    let r = compare_texts(&ipp(0, 1000), &ipp(77_000, 3), &Options::default());
    assert!(r.all_equal(), "{}", r.text());
    let d = analyse_text(&ipp(77_000, 3));
    assert!(d.frames[2].dpb.iter().any(|e| e.starts_with("reference_ts frame 1,")), "{:?}", d.frames[2].dpb);
}

#[test]
fn changed_field_is_reported() {
    let reference = ipp(0, 1000);
    let ours = reference.replacen("frame_num 2\ntop_field_order_cnt", "frame_num 5\ntop_field_order_cnt", 1);
    assert_ne!(reference, ours);
    let r = compare_texts(&reference, &ours, &Options::default());
    assert!(!r.all_equal());
    assert!(r.lines.contains(&"frame 2 decode_params.frame_num: reference=2 ours=5".to_string()), "{}", r.text());
    assert_eq!(r.summary(), "frames equal: 2/3");
}

#[test]
fn ignore_option_skips_fields() {
    let reference = ipp(0, 1000);
    let ours = reference.replace("dec_ref_pic_marking_bit_size 1", "dec_ref_pic_marking_bit_size 0");
    let mut o = Options::default();
    assert!(!compare_texts(&reference, &ours, &o).all_equal());
    o.ignore.push("decode_params.dec_ref_pic_marking_bit_size".into());
    assert!(compare_texts(&reference, &ours, &o).all_equal());
}

#[test]
fn dpb_order_is_not_significant_but_content_is() {
    let d2 = [(0, 0, 0), (1000, 1, 2)];
    let d2_swapped = [(1000, 1, 2), (0, 0, 0)];
    let d1 = [(0, 0, 0)];
    let a = trace(&[pic(0, 0, &[], &[]), pic(1000, 1, &d1, &[0]), pic(2000, 2, &d2, &[1, 0])]);
    // same references, other array order: ref list indices follow the entries
    let b = trace(&[pic(0, 0, &[], &[]), pic(1000, 1, &d1, &[0]), pic(2000, 2, &d2_swapped, &[0, 1])]);
    // (ref lists are slice-level: compared when both sides are slice-based)
    let slice = Options { ref_mode: Some(Mode::Slice), ours_mode: Some(Mode::Slice), ..Default::default() };
    let r = compare_texts(&a, &b, &slice);
    assert!(r.slice_level_compared);
    assert!(r.all_equal(), "{}", r.text());
    // ref list pointing at the wrong entry is caught
    let c = trace(&[pic(0, 0, &[], &[]), pic(1000, 1, &d1, &[0]), pic(2000, 2, &d2_swapped, &[1, 0])]);
    assert!(compare_texts(&a, &c, &Options::default()).all_equal());
    let r = compare_texts(&a, &c, &slice);
    assert!(!r.all_equal());
    assert!(r.lines.iter().any(|l| l.starts_with("frame 2 slice 0 ref_pic_list0.entries:")), "{}", r.text());
    // a wrong DPB entry is caught
    let d2_bad = [(0, 0, 0), (1000, 1, 4)];
    let e = trace(&[pic(0, 0, &[], &[]), pic(1000, 1, &d1, &[0]), pic(2000, 2, &d2_bad, &[1, 0])]);
    let r = compare_texts(&a, &e, &Options::default());
    assert!(
        r.lines.iter().any(|l| l.starts_with("frame 2 dpb: reference=[reference_ts frame 1, pic_num 1, frame_num 1, fields FRAME_REF, top_field_order_cnt 2")),
        "{}",
        r.text()
    );
    assert_eq!(r.summary(), "frames equal: 2/3");
}

#[test]
fn missing_frames_and_different_streams_are_not_equal() {
    let a = ipp(0, 1000);
    let d1 = [(0, 0, 0)];
    let b = trace(&[pic(0, 0, &[], &[]), pic(1000, 1, &d1, &[0])]);
    let r = compare_texts(&a, &b, &Options::default());
    assert!(r.lines.contains(&"frame 2: reference=present ours=missing".to_string()), "{}", r.text());
    assert_eq!(r.summary(), "frames equal: 2/3");
    assert!(!r.all_equal());
    // empty traces never count as equal
    let r = compare_texts(HEADER, HEADER, &Options::default());
    assert_eq!(r.summary(), "frames equal: 0/0");
    assert!(!r.all_equal());
}

fn two_slice_frames(split: bool) -> String {
    let d1 = [(0u64, 0u32, 0i32)];
    let mut pics = vec![pic(0, 0, &[], &[])];
    let mut s1 = pic(1000, 1, &d1, &[0]);
    if split {
        pics.push(pic(1000, 1, &d1, &[0]));
        s1.first_mb = 150;
    }
    pics.push(s1);
    trace(&pics)
}

#[test]
fn slice_mode_groups_runs_and_slice_level_depends_on_modes() {
    let slice = two_slice_frames(true);
    let d = analyse_text(&slice);
    assert_eq!(d.mode, Mode::Slice);
    assert_eq!(d.runs.len(), 3);
    assert_eq!(d.frames.len(), 2);
    assert_eq!(d.frames[1].slices.len(), 2);
    assert_eq!(d.frames[1].slices[1]["slice_params.first_mb_in_slice"], "150");
    // frame-based ours vs slice-based reference: frame-level equal, slices skipped
    let frame = format!("# decode_mode: frame\n{}", two_slice_frames(false));
    let r = compare_texts(&slice, &frame, &Options::default());
    assert!(!r.slice_level_compared);
    assert!(r.all_equal(), "{}", r.text());
    assert!(r.lines[0].starts_with("note: decode modes differ"));
    // same mode on both sides: slice counts and contents are compared
    let o = Options { ours_mode: Some(Mode::Slice), ..Default::default() };
    let r = compare_texts(&slice, &frame, &o);
    assert!(r.slice_level_compared);
    assert!(r.lines.contains(&"frame 1 slices: reference=2 ours=1".to_string()), "{}", r.text());
}

#[test]
fn timestamp_comes_from_buf_done_of_the_same_task() {
    // interleave: another task's buf_done between the visl events and ours
    let d1 = [(0u64, 0u32, 0i32)];
    let mut p1 = pic(1000, 1, &d1, &[0]);
    p1.pid = 300;
    let mut t = 10.0;
    let mut text = HEADER.to_string();
    text.push_str(&run(&pic(0, 0, &[], &[]), &mut t));
    let r1 = run(&p1, &mut t);
    // move p1's buf_done after a foreign buf_done with a bogus timestamp
    let (body, done) = r1.rsplit_once(" h264parse0:sink-300").unwrap();
    text.push_str(body);
    text.push_str(" other-999     [001] .....    11.000000: vb2_buf_done: owner = 0000000000000000, queued = 0, owned_by_drv = 0, index = 3, type = 9, bytesused = 0, timestamp = 424242\n");
    text.push_str(" h264parse0:sink-300");
    text.push_str(done);
    let d = analyse_text(&text);
    assert_eq!(d.frames.len(), 2);
    assert_eq!(d.frames[1].timestamp, 1000);
    assert!(d.frames[1].dpb[0].starts_with("reference_ts frame 0,"), "{:?}", d.frames[1].dpb);
}

#[test]
fn qbuf_order_is_the_fallback_timestamp_source() {
    let text: String = ipp(0, 1000).lines().filter(|l| !l.contains("vb2_buf_done")).map(|l| format!("{l}\n")).collect();
    let d = analyse_text(&text);
    assert_eq!(d.frames.len(), 3);
    assert_eq!(d.frames[2].timestamp, 2000);
    assert!(d.warnings.iter().any(|w| w.contains("qbuf")));
    assert!(compare_texts(&ipp(0, 1000), &text, &Options::default()).all_equal());
}

#[test]
fn hevc_events_have_the_same_shape() {
    let mk = |base: u64| {
        let mut s = HEADER.to_string();
        for (i, ts) in [base, base + 1].iter().enumerate() {
            let h = |n: &str, b: &str| format!(" gst-1     [000] .....  10.{i:06}: {n}: {b}\n");
            s += &h("v4l2_ctrl_hevc_sps", "\nvideo_parameter_set_id 0\npic_width_in_luma_samples 320");
            s += &h("v4l2_ctrl_hevc_decode_params", &format!("\npic_order_cnt_val {i}\nnum_active_dpb_entries {i}\nflags "));
            for e in 0..2 {
                let ets = if e < i { base } else { 0 };
                s += &h("v4l2_hevc_dpb_entry", &format!("\ntimestamp {ets}\nflags \nfield_pic 0\npic_order_cnt_val {e}\n"));
            }
            s += &h("vb2_buf_done", &format!("owner = 0, queued = 0, owned_by_drv = 0, index = 0, type = 10, bytesused = 0, timestamp = {ts}"));
        }
        s
    };
    let d = analyse_text(&mk(5));
    assert_eq!(d.codec.map(|c| c.name), Some("hevc"));
    assert_eq!(d.frames.len(), 2);
    assert!(d.frames[0].dpb.is_empty());
    assert_eq!(d.frames[1].dpb, vec!["timestamp frame 0, flags , field_pic 0, pic_order_cnt_val 0".to_string()]);
    assert!(compare_texts(&mk(5), &mk(9000), &Options::default()).all_equal());
}

#[test]
fn binary_reports_and_exits_non_zero_on_difference() {
    let dir = std::env::temp_dir().join(format!("trace-compare-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let a = dir.join("a.trace");
    let b = dir.join("b.trace");
    std::fs::write(&a, ipp(0, 1000)).unwrap();
    std::fs::write(&b, ipp(0, 1000).replacen("frame_num 1\n", "frame_num 3\n", 1)).unwrap();
    let bin = env!("CARGO_BIN_EXE_trace-compare");
    let same = std::process::Command::new(bin).arg(&a).arg(&a).output().unwrap();
    assert!(same.status.success());
    assert_eq!(String::from_utf8_lossy(&same.stdout), "frames equal: 3/3\n");
    let diff = std::process::Command::new(bin).arg(&a).arg(&b).output().unwrap();
    assert_eq!(diff.status.code(), Some(1));
    let out = String::from_utf8_lossy(&diff.stdout);
    assert!(out.contains("frame 1 decode_params.frame_num: reference=1 ours=3"), "{out}");
    assert!(out.ends_with("frames equal: 2/3\n"), "{out}");
    std::fs::remove_dir_all(&dir).ok();
}

/// `s` with the `n`-th (0-based) occurrence of `pat` replaced.
fn replace_nth(s: &str, pat: &str, rep: &str, n: usize) -> String {
    let (i, _) = s.match_indices(pat).nth(n).unwrap_or_else(|| panic!("no occurrence {n} of {pat:?}"));
    format!("{}{rep}{}", &s[..i], &s[i + pat.len()..])
}

#[test]
fn every_run_of_a_frame_carries_the_frame_level_controls() {
    // frame 1 is two runs (slices); the runs are 0 (IDR), 1 and 2.
    let reference = two_slice_frames(true);
    assert!(compare_texts(&reference, &reference, &Options::default()).all_equal());
    // PPS of the second request of frame 1 differs: a finding, even though
    // the frame's first request equals the reference's.
    let pps = replace_nth(&reference, "pic_init_qp_minus26 -3", "pic_init_qp_minus26 -2", 2);
    let r = compare_texts(&reference, &pps, &Options::default());
    assert!(r.lines.contains(&"frame 1 ours run 1 pps.pic_init_qp_minus26: run 0=-3 run 1=-2".to_string()), "{}", r.text());
    assert_eq!(r.summary(), "frames equal: 1/2", "{}", r.text());
    // also against a frame-based reference (one run per frame) and when the
    // slice-level controls are not compared
    let frame = format!("# decode_mode: frame\n{}", two_slice_frames(false));
    let r = compare_texts(&frame, &pps, &Options::default());
    assert!(!r.slice_level_compared);
    assert_eq!(r.summary(), "frames equal: 1/2", "{}", r.text());
    assert!(r.lines.iter().any(|l| l == "frame 1 ours run 1 pps.pic_init_qp_minus26: run 0=-3 run 1=-2"), "{}", r.text());
    // decode_params of the second request
    let dp = replace_nth(&reference, "\nframe_num 1\ntop_field_order_cnt", "\nframe_num 2\ntop_field_order_cnt", 1);
    let r = compare_texts(&reference, &dp, &Options::default());
    assert!(r.lines.contains(&"frame 1 ours run 1 decode_params.frame_num: run 0=1 run 1=2".to_string()), "{}", r.text());
    assert!(!r.all_equal());
    // SPS of the second request
    let sps = replace_nth(&reference, "max_num_ref_frames 4", "max_num_ref_frames 5", 2);
    let r = compare_texts(&reference, &sps, &Options::default());
    assert!(r.lines.contains(&"frame 1 ours run 1 sps.max_num_ref_frames: run 0=4 run 1=5".to_string()), "{}", r.text());
    // a DPB entry of the second request
    let dpb = replace_nth(&reference, "bottom_field_order_cnt 0 flags VALID|ACTIVE", "bottom_field_order_cnt 2 flags VALID|ACTIVE", 1);
    let r = compare_texts(&reference, &dpb, &Options::default());
    assert!(r.lines.iter().any(|l| l.starts_with("frame 1 ours run 1 dpb: run 0=[") && l.contains("bottom_field_order_cnt 2")), "{}", r.text());
    assert!(!r.all_equal());
    // a reference whose requests disagree is a finding too, on its side
    let r = compare_texts(&pps, &reference, &Options::default());
    assert!(r.lines.contains(&"frame 1 reference run 1 pps.pic_init_qp_minus26: run 0=-3 run 1=-2".to_string()), "{}", r.text());
    assert!(!r.all_equal());
    // --ignore applies
    let o = Options { ignore: vec!["pps.pic_init_qp_minus26".into()], ..Default::default() };
    assert!(compare_texts(&reference, &pps, &o).all_equal());
    // the record keeps what differed
    let d = analyse_text(&pps);
    assert_eq!(d.frames[1].run_diffs, vec![(1, "pps.pic_init_qp_minus26".to_string(), "-3".to_string(), "-2".to_string())]);
    assert!(d.frames[0].run_diffs.is_empty());
}

#[test]
fn field_pairs_compare_their_runs_with_each_other() {
    // Two field pictures of one timestamp: their frame-level controls
    // differ from run to run on both sides alike (here: frame_num of the
    // second request), which is compared, not flagged...
    let reference = two_slice_frames(true);
    let fields = replace_nth(&reference, "\nframe_num 1\ntop_field_order_cnt", "\nframe_num 2\ntop_field_order_cnt", 1);
    let r = compare_texts(&fields, &fields, &Options::default());
    assert!(r.all_equal(), "{}", r.text());
    // ...but a second run that differs otherwise on one side is a finding.
    let other = replace_nth(&reference, "\nframe_num 1\ntop_field_order_cnt", "\nframe_num 3\ntop_field_order_cnt", 1);
    let r = compare_texts(&fields, &other, &Options::default());
    assert!(r.lines.contains(&"frame 1 reference run 1 decode_params.frame_num: run 0=1 run 1=2".to_string()), "{}", r.text());
    assert!(r.lines.contains(&"frame 1 ours run 1 decode_params.frame_num: run 0=1 run 1=3".to_string()), "{}", r.text());
    assert!(!r.all_equal());
    // and one side alone differing between its runs stays a finding
    assert!(!compare_texts(&fields, &reference, &Options::default()).all_equal());
    assert!(!compare_texts(&reference, &fields, &Options::default()).all_equal());
}
