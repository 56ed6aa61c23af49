//! Tests of the slice header parse against FFmpeg's trace_headers output,
//! and of `translate` on synthetic VA parameters.

use super::bitreader::tests::{escape, BitWriter};
use super::slice_header::{parse_slice_header, ParamSets, SliceHeader, SliceType};
use super::*;
use crate::ffi::{v4l2, va};
use std::collections::HashMap;

// ---------------------------------------------------------------------------
// Reference comparison with FFmpeg's trace_headers (cbs_h264) output.
// ---------------------------------------------------------------------------

/// One syntax element as trace_headers prints it: RBSP bit position, name
/// (array indices stripped), bit count, value.
#[derive(Debug, Clone, PartialEq)]
struct El {
    pos: u32,
    name: String,
    bits: u32,
    value: i64,
}

fn strip_indices(name: &str) -> String {
    let mut out = String::new();
    let mut depth = 0;
    for c in name.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// Splits trace_headers output into NAL units (each starts with
/// forbidden_zero_bit at position 0).
fn parse_trace(text: &str) -> Vec<Vec<El>> {
    let mut units: Vec<Vec<El>> = Vec::new();
    for line in text.lines() {
        let Some(i) = line.find("] ") else { continue };
        if !line.contains("[trace_headers") {
            continue;
        }
        let t: Vec<&str> = line[i + 2..].split_whitespace().collect();
        if t.len() != 5 || t[3] != "=" {
            continue;
        }
        let (Ok(pos), Ok(value)) = (t[0].parse::<u32>(), t[4].parse::<i64>()) else {
            continue;
        };
        let el = El { pos, name: strip_indices(t[1]), bits: t[2].len() as u32, value };
        if el.name == "forbidden_zero_bit" && pos == 0 {
            units.push(Vec::new());
        }
        if let Some(u) = units.last_mut() {
            u.push(el);
        }
    }
    units
}

/// Annex-B byte stream → NAL units (without start codes).
fn split_annexb(data: &[u8]) -> Vec<&[u8]> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 2 < data.len() {
        if data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1 {
            starts.push(i + 3);
            i += 3;
        } else {
            i += 1;
        }
    }
    let mut nals = Vec::new();
    for (k, &s) in starts.iter().enumerate() {
        let mut e = if k + 1 < starts.len() { starts[k + 1] - 3 } else { data.len() };
        while e > s && data[e - 1] == 0 {
            e -= 1; // trailing_zero_8bits / the zero of a 4-byte start code
        }
        nals.push(&data[s..e]);
    }
    nals
}

/// The slice header as (name, value) in syntax order, named like cbs_h264.
fn emit(h: &SliceHeader, ps: &ParamSets) -> Vec<(&'static str, i64)> {
    let mut v: Vec<(&'static str, i64)> = vec![
        ("forbidden_zero_bit", 0),
        ("nal_ref_idc", h.nal_ref_idc.into()),
        ("nal_unit_type", h.nal_unit_type.into()),
        ("first_mb_in_slice", h.first_mb_in_slice.into()),
        ("slice_type", h.slice_type_raw.into()),
        ("pic_parameter_set_id", h.pic_parameter_set_id.into()),
    ];
    if ps.separate_colour_plane_flag {
        v.push(("colour_plane_id", h.colour_plane_id.into()));
    }
    v.push(("frame_num", h.frame_num.into()));
    if !ps.frame_mbs_only_flag {
        v.push(("field_pic_flag", h.field_pic_flag.into()));
        if h.field_pic_flag {
            v.push(("bottom_field_flag", h.bottom_field_flag.into()));
        }
    }
    if h.idr_pic_flag {
        v.push(("idr_pic_id", h.idr_pic_id.into()));
    }
    let bottom = ps.bottom_field_pic_order_in_frame_present_flag && !h.field_pic_flag;
    if ps.pic_order_cnt_type == 0 {
        v.push(("pic_order_cnt_lsb", h.pic_order_cnt_lsb.into()));
        if bottom {
            v.push(("delta_pic_order_cnt_bottom", h.delta_pic_order_cnt_bottom.into()));
        }
    }
    if ps.pic_order_cnt_type == 1 && !ps.delta_pic_order_always_zero_flag {
        v.push(("delta_pic_order_cnt", h.delta_pic_order_cnt[0].into()));
        if bottom {
            v.push(("delta_pic_order_cnt", h.delta_pic_order_cnt[1].into()));
        }
    }
    if ps.redundant_pic_cnt_present_flag {
        v.push(("redundant_pic_cnt", h.redundant_pic_cnt.into()));
    }
    if h.slice_type.is_b() {
        v.push(("direct_spatial_mv_pred_flag", h.direct_spatial_mv_pred_flag.into()));
    }
    if !h.slice_type.is_intra() {
        v.push(("num_ref_idx_active_override_flag", h.num_ref_idx_active_override_flag.into()));
        if h.num_ref_idx_active_override_flag {
            v.push(("num_ref_idx_l0_active_minus1", h.num_ref_idx_l0_active_minus1.into()));
            if h.slice_type.is_b() {
                v.push(("num_ref_idx_l1_active_minus1", h.num_ref_idx_l1_active_minus1.into()));
            }
        }
    }
    let lists: &[(&'static str, bool, &Vec<RefPicListModificationAlias>)] = &[
        ("ref_pic_list_modification_flag_l0", h.ref_pic_list_modification_flag_l0, &h.ref_pic_list_modification_l0),
        ("ref_pic_list_modification_flag_l1", h.ref_pic_list_modification_flag_l1, &h.ref_pic_list_modification_l1),
    ];
    let n_lists = if h.slice_type.is_b() {
        2
    } else if h.slice_type.is_intra() {
        0
    } else {
        1
    };
    for (name, flag, mods) in lists.iter().take(n_lists) {
        v.push((name, (*flag).into()));
        if *flag {
            for m in mods.iter() {
                v.push(("modification_of_pic_nums_idc", m.idc.into()));
                v.push((if m.idc == 2 { "long_term_pic_num" } else { "abs_diff_pic_num_minus1" }, m.value.into()));
            }
            v.push(("modification_of_pic_nums_idc", 3));
        }
    }
    if let Some(t) = &h.pred_weight_table {
        v.push(("luma_log2_weight_denom", t.luma_log2_weight_denom.into()));
        if ps.chroma_array_type != 0 {
            v.push(("chroma_log2_weight_denom", t.chroma_log2_weight_denom.into()));
        }
        let names = [
            ["luma_weight_l0_flag", "luma_weight_l0", "luma_offset_l0", "chroma_weight_l0_flag", "chroma_weight_l0", "chroma_offset_l0"],
            ["luma_weight_l1_flag", "luma_weight_l1", "luma_offset_l1", "chroma_weight_l1_flag", "chroma_weight_l1", "chroma_offset_l1"],
        ];
        let counts = [h.num_ref_idx_l0_active_minus1, h.num_ref_idx_l1_active_minus1];
        for l in 0..if h.slice_type.is_b() { 2 } else { 1 } {
            for i in 0..=counts[l] as usize {
                v.push((names[l][0], t.luma_weight_flag[l][i].into()));
                if t.luma_weight_flag[l][i] {
                    v.push((names[l][1], t.luma_weight[l][i].into()));
                    v.push((names[l][2], t.luma_offset[l][i].into()));
                }
                if ps.chroma_array_type != 0 {
                    v.push((names[l][3], t.chroma_weight_flag[l][i].into()));
                    if t.chroma_weight_flag[l][i] {
                        for j in 0..2 {
                            v.push((names[l][4], t.chroma_weight[l][i][j].into()));
                            v.push((names[l][5], t.chroma_offset[l][i][j].into()));
                        }
                    }
                }
            }
        }
    }
    if let Some(m) = &h.dec_ref_pic_marking {
        if h.idr_pic_flag {
            v.push(("no_output_of_prior_pics_flag", m.no_output_of_prior_pics_flag.into()));
            v.push(("long_term_reference_flag", m.long_term_reference_flag.into()));
        } else {
            v.push(("adaptive_ref_pic_marking_mode_flag", m.adaptive_ref_pic_marking_mode_flag.into()));
            if m.adaptive_ref_pic_marking_mode_flag {
                for o in &m.ops {
                    v.push(("memory_management_control_operation", o.op.into()));
                    if o.op == 1 || o.op == 3 {
                        v.push(("difference_of_pic_nums_minus1", o.difference_of_pic_nums_minus1.into()));
                    }
                    if o.op == 2 {
                        v.push(("long_term_pic_num", o.long_term_pic_num.into()));
                    }
                    if o.op == 3 || o.op == 6 {
                        v.push(("long_term_frame_idx", o.long_term_frame_idx.into()));
                    }
                    if o.op == 4 {
                        v.push(("max_long_term_frame_idx_plus1", o.max_long_term_frame_idx_plus1.into()));
                    }
                }
                v.push(("memory_management_control_operation", 0));
            }
        }
    }
    if ps.entropy_coding_mode_flag && !h.slice_type.is_intra() {
        v.push(("cabac_init_idc", h.cabac_init_idc.into()));
    }
    v.push(("slice_qp_delta", h.slice_qp_delta.into()));
    if matches!(h.slice_type, SliceType::SP | SliceType::SI) {
        if h.slice_type == SliceType::SP {
            v.push(("sp_for_switch_flag", h.sp_for_switch_flag.into()));
        }
        v.push(("slice_qs_delta", h.slice_qs_delta.into()));
    }
    if ps.deblocking_filter_control_present_flag {
        v.push(("disable_deblocking_filter_idc", h.disable_deblocking_filter_idc.into()));
        if h.disable_deblocking_filter_idc != 1 {
            v.push(("slice_alpha_c0_offset_div2", h.slice_alpha_c0_offset_div2.into()));
            v.push(("slice_beta_offset_div2", h.slice_beta_offset_div2.into()));
        }
    }
    if ps.num_slice_groups_minus1 > 0 && (3..=5).contains(&ps.slice_group_map_type) {
        v.push(("slice_group_change_cycle", h.slice_group_change_cycle.into()));
    }
    v
}

type RefPicListModificationAlias = super::slice_header::RefPicListModification;

/// Checks one parsed header against the trace's elements of that slice:
/// every syntax element (name, value) in order, and the three bit sizes
/// against the trace's RBSP positions.
fn check_against_trace(h: &SliceHeader, ps: &ParamSets, unit: &[El]) -> Result<(), String> {
    let trace: Vec<&El> = unit.iter().take_while(|e| e.name != "cabac_alignment_one_bit").collect();
    let mine = emit(h, ps);
    let theirs: Vec<(&str, i64)> = trace.iter().map(|e| (e.name.as_str(), e.value)).collect();
    if mine != theirs {
        return Err(format!("syntax mismatch:\n mine:   {mine:?}\n ffmpeg: {theirs:?}"));
    }
    let last = trace.last().ok_or("empty trace unit")?;
    if h.header_bit_size != last.pos + last.bits {
        return Err(format!("header_bit_size {} != {}", h.header_bit_size, last.pos + last.bits));
    }
    let poc: u32 =
        trace.iter().filter(|e| matches!(e.name.as_str(), "pic_order_cnt_lsb" | "delta_pic_order_cnt_bottom" | "delta_pic_order_cnt")).map(|e| e.bits).sum();
    if h.pic_order_cnt_bit_size != poc {
        return Err(format!("pic_order_cnt_bit_size {} != {poc}", h.pic_order_cnt_bit_size));
    }
    let start = trace.iter().position(|e| matches!(e.name.as_str(), "no_output_of_prior_pics_flag" | "adaptive_ref_pic_marking_mode_flag"));
    let marking = match start {
        None => 0,
        Some(s) => {
            let end =
                trace[s..].iter().find(|e| matches!(e.name.as_str(), "cabac_init_idc" | "slice_qp_delta")).ok_or("no element after dec_ref_pic_marking")?;
            end.pos - trace[s].pos
        }
    };
    if h.dec_ref_pic_marking_bit_size != marking {
        return Err(format!("dec_ref_pic_marking_bit_size {} != {marking}", h.dec_ref_pic_marking_bit_size));
    }
    Ok(())
}

/// ParamSets from the SPS/PPS elements of a trace.
fn param_sets_from_trace(sps: &HashMap<String, i64>, pps: &HashMap<String, i64>) -> ParamSets {
    let g = |m: &HashMap<String, i64>, k: &str, d: i64| *m.get(k).unwrap_or(&d);
    let chroma_format_idc = g(sps, "chroma_format_idc", 1) as u8;
    let separate = g(sps, "separate_colour_plane_flag", 0) != 0;
    let frame_mbs_only = g(sps, "frame_mbs_only_flag", 1) != 0;
    let h = g(sps, "pic_height_in_map_units_minus1", 0) as u32 + 1;
    ParamSets {
        separate_colour_plane_flag: separate,
        chroma_array_type: if separate { 0 } else { chroma_format_idc },
        log2_max_frame_num_minus4: g(sps, "log2_max_frame_num_minus4", 0) as u8,
        frame_mbs_only_flag: frame_mbs_only,
        pic_order_cnt_type: g(sps, "pic_order_cnt_type", 0) as u8,
        log2_max_pic_order_cnt_lsb_minus4: g(sps, "log2_max_pic_order_cnt_lsb_minus4", 0) as u8,
        delta_pic_order_always_zero_flag: g(sps, "delta_pic_order_always_zero_flag", 0) != 0,
        bottom_field_pic_order_in_frame_present_flag: g(pps, "bottom_field_pic_order_in_frame_present_flag", 0) != 0,
        redundant_pic_cnt_present_flag: g(pps, "redundant_pic_cnt_present_flag", 0) != 0,
        weighted_pred_flag: g(pps, "weighted_pred_flag", 0) != 0,
        weighted_bipred_idc: g(pps, "weighted_bipred_idc", 0) as u8,
        entropy_coding_mode_flag: g(pps, "entropy_coding_mode_flag", 0) != 0,
        deblocking_filter_control_present_flag: g(pps, "deblocking_filter_control_present_flag", 0) != 0,
        num_ref_idx_l0_default_active_minus1: g(pps, "num_ref_idx_l0_default_active_minus1", 0) as u8,
        num_ref_idx_l1_default_active_minus1: g(pps, "num_ref_idx_l1_default_active_minus1", 0) as u8,
        num_slice_groups_minus1: g(pps, "num_slice_groups_minus1", 0) as u8,
        slice_group_map_type: g(pps, "slice_group_map_type", 0) as u8,
        slice_group_change_rate_minus1: g(pps, "slice_group_change_rate_minus1", 0) as u16,
        pic_width_in_mbs: g(sps, "pic_width_in_mbs_minus1", 0) as u32 + 1,
        pic_height_in_map_units: h,
    }
}

/// Parses every slice of `stream` and compares with the trace; also runs
/// `translate` (frame-based, no references) on VA parameters rebuilt from
/// the trace's SPS/PPS and checks the picture-level decode params. Returns
/// the parsed slice headers.
fn check_stream(stream: &[u8], trace: &str) -> Result<Vec<SliceHeader>, String> {
    let nals = split_annexb(stream);
    let units = parse_trace(trace);
    // trace_headers first prints the SPS/PPS it finds as extradata, then
    // every NAL unit of every packet: align on the tail.
    let skip = units.len().checked_sub(nals.len()).ok_or_else(|| format!("{} NAL units but only {} traced units", nals.len(), units.len()))?;
    let units = &units[skip..];
    for (k, (nal, unit)) in nals.iter().zip(units.iter()).enumerate() {
        let t = unit.iter().find(|e| e.name == "nal_unit_type").map(|e| e.value);
        if t != Some((nal[0] & 0x1f) as i64) {
            return Err(format!("NAL {k}: type {} but trace says {t:?}", nal[0] & 0x1f));
        }
    }
    let mut sps = HashMap::new();
    let mut pps = HashMap::new();
    let mut checked = Vec::new();
    let mut state = H264State::default();
    let mut learned = [false; 2];
    for (nal, unit) in nals.iter().zip(units.iter()) {
        let kv = || unit.iter().map(|e| (e.name.clone(), e.value)).collect::<HashMap<_, _>>();
        match nal[0] & 0x1f {
            7 => sps = kv(),
            8 => pps = kv(),
            1 | 5 => {
                let ps = param_sets_from_trace(&sps, &pps);
                let n = checked.len();
                let h = parse_slice_header(nal, &ps).map_err(|e| format!("slice {n}: {e}"))?;
                check_against_trace(&h, &ps, unit).map_err(|e| format!("slice {n}: {e}"))?;
                // The escaped header is at least as long, and equal without EPBs.
                let epbs = nal[..(h.header_bit_size_escaped as usize).div_ceil(8)].windows(3).filter(|w| w == &[0, 0, 3]).count() as u32;
                if h.header_bit_size_escaped != h.header_bit_size + 8 * epbs {
                    return Err(format!("slice {n}: escaped size off ({epbs} EPBs)"));
                }
                if !h.num_ref_idx_active_override_flag {
                    learned[0] |= !h.slice_type.is_intra();
                    learned[1] |= h.slice_type.is_b();
                }
                check_translate_frame(nal, &h, &sps, &pps, &mut state, learned).map_err(|e| format!("slice {n}: translate: {e}"))?;
                checked.push(h);
            }
            _ => {}
        }
    }
    Ok(checked)
}

fn check_translate_frame(
    nal: &[u8],
    h: &SliceHeader,
    sps: &HashMap<String, i64>,
    pps: &HashMap<String, i64>,
    state: &mut H264State,
    learned: [bool; 2],
) -> Result<(), String> {
    let g = |m: &HashMap<String, i64>, k: &str, d: i64| *m.get(k).unwrap_or(&d);
    let frame_mbs_only = g(sps, "frame_mbs_only_flag", 1) != 0;
    let map_units = g(sps, "pic_height_in_map_units_minus1", 0) + 1;
    let pic = make_pic(|pic, s, p| {
        pic.picture_width_in_mbs_minus1 = g(sps, "pic_width_in_mbs_minus1", 0) as u16;
        pic.picture_height_in_mbs_minus1 = (if frame_mbs_only { map_units } else { map_units * 2 } - 1) as u16;
        pic.num_ref_frames = g(sps, "max_num_ref_frames", 0) as u8;
        pic.frame_num = h.frame_num;
        s.set_chroma_format_idc(g(sps, "chroma_format_idc", 1) as u32);
        s.set_frame_mbs_only_flag(frame_mbs_only as u32);
        s.set_mb_adaptive_frame_field_flag(g(sps, "mb_adaptive_frame_field_flag", 0) as u32);
        s.set_direct_8x8_inference_flag(g(sps, "direct_8x8_inference_flag", 0) as u32);
        s.set_log2_max_frame_num_minus4(g(sps, "log2_max_frame_num_minus4", 0) as u32);
        s.set_pic_order_cnt_type(g(sps, "pic_order_cnt_type", 0) as u32);
        s.set_log2_max_pic_order_cnt_lsb_minus4(g(sps, "log2_max_pic_order_cnt_lsb_minus4", 0) as u32);
        s.set_delta_pic_order_always_zero_flag(g(sps, "delta_pic_order_always_zero_flag", 0) as u32);
        // As FFmpeg and GStreamer fill it.
        s.set_MinLumaBiPredSize8x8((g(sps, "level_idc", 0) >= 31) as u32);
        p.set_entropy_coding_mode_flag(g(pps, "entropy_coding_mode_flag", 0) as u32);
        p.set_weighted_pred_flag(g(pps, "weighted_pred_flag", 0) as u32);
        p.set_weighted_bipred_idc(g(pps, "weighted_bipred_idc", 0) as u32);
        p.set_transform_8x8_mode_flag(g(pps, "transform_8x8_mode_flag", 0) as u32);
        p.set_pic_order_present_flag(g(pps, "bottom_field_pic_order_in_frame_present_flag", 0) as u32);
        p.set_deblocking_filter_control_present_flag(g(pps, "deblocking_filter_control_present_flag", 0) as u32);
        p.set_redundant_pic_cnt_present_flag(g(pps, "redundant_pic_cnt_present_flag", 0) as u32);
    });
    let mut sp = va::VASliceParameterBufferH264 {
        slice_data_size: nal.len() as u32,
        num_ref_idx_l0_active_minus1: h.num_ref_idx_l0_active_minus1,
        num_ref_idx_l1_active_minus1: h.num_ref_idx_l1_active_minus1,
        ..Default::default()
    };
    sp.slice_data_bit_offset = h.header_bit_size as u16;
    let slices = [SliceInput { params: &sp, data: nal }];
    // The VA profile a client would pick for this SPS.
    let profile_idc = g(sps, "profile_idc", 100);
    let set1 = g(sps, "constraint_set1_flag", 0) != 0;
    let profile = match profile_idc {
        66 if set1 => va::VAProfileH264ConstrainedBaseline,
        66 => va::VAProfileH264Baseline,
        77 => va::VAProfileH264Main,
        _ => va::VAProfileH264High,
    };
    let input = PictureInput { profile, pic: &pic, iq: None, slices: &slices };
    let c = translate_with_state(&input, &NoRefs, DecodeMode::FrameBased, state).map_err(|e| e.to_string())?;
    let d = &c.decode_params;
    let want = (
        h.frame_num,
        h.idr_pic_id,
        h.pic_order_cnt_lsb,
        h.delta_pic_order_cnt_bottom,
        h.dec_ref_pic_marking_bit_size,
        h.pic_order_cnt_bit_size,
        u16::from(h.nal_ref_idc),
    );
    let got =
        (d.frame_num, d.idr_pic_id, d.pic_order_cnt_lsb, d.delta_pic_order_cnt_bottom, d.dec_ref_pic_marking_bit_size, d.pic_order_cnt_bit_size, d.nal_ref_idc);
    if want != got {
        return Err(format!("decode params {got:?} != {want:?}"));
    }
    if (d.flags & v4l2::V4L2_H264_DECODE_PARAM_FLAG_IDR_PIC != 0) != h.idr_pic_flag {
        return Err("IDR flag".into());
    }
    // Once any slice without an override showed the PPS defaults, the
    // state reproduces them for every later picture.
    let got = [c.pps.num_ref_idx_l0_default_active_minus1, c.pps.num_ref_idx_l1_default_active_minus1];
    for (l, name) in ["num_ref_idx_l0_default_active_minus1", "num_ref_idx_l1_default_active_minus1"].iter().enumerate() {
        if learned[l] && got[l] as i64 != g(pps, name, 0) {
            return Err(format!("pps {name} {} != {}", got[l], g(pps, name, 0)));
        }
    }
    if [66, 77, 100].contains(&profile_idc) {
        let flags: i64 = (0..6).map(|i| g(sps, &format!("constraint_set{i}_flag"), 0) << i).sum();
        if c.sps.constraint_set_flags as i64 != flags {
            return Err(format!("constraint_set_flags {:#x} != {flags:#x}", c.sps.constraint_set_flags));
        }
    }
    if c.sps.level_idc as i64 != g(sps, "level_idc", 0) {
        return Err(format!("level_idc {} != {}", c.sps.level_idc, g(sps, "level_idc", 0)));
    }
    if c.sps.pic_height_in_map_units_minus1 as i64 != map_units - 1 {
        return Err("pic_height_in_map_units_minus1".into());
    }
    if !c.slices.is_empty() {
        return Err("frame-based mode must not produce slice controls".into());
    }
    Ok(())
}

/// Encodes a few frames with FFmpeg/libx264 and returns (stream, trace), or
/// None if ffmpeg or libx264 is unavailable.
fn ffmpeg_stream(tag: &str, size: &str, frames: u32, opts: &[&str]) -> Option<(Vec<u8>, String)> {
    use std::process::Command;
    let dir = std::env::temp_dir().join(format!("hantro_h264_test_{}_{tag}", std::process::id()));
    std::fs::create_dir_all(&dir).ok()?;
    let out = dir.join("s.h264");
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-nostdin", "-nostats", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!("testsrc2=size={size}:rate=25"))
        .args(["-frames:v", &frames.to_string(), "-c:v", "libx264"])
        .args(opts)
        .args(["-f", "h264"])
        .arg(&out);
    let ok = cmd.output().ok()?.status.success();
    if !ok {
        let _ = std::fs::remove_dir_all(&dir);
        return None;
    }
    let stream = std::fs::read(&out).ok()?;
    let trace = Command::new("ffmpeg")
        .args(["-nostdin", "-nostats", "-hide_banner", "-loglevel", "info", "-i"])
        .arg(&out)
        .args(["-c", "copy", "-bsf:v", "trace_headers", "-f", "null", "-"])
        .output()
        .ok()?;
    let _ = std::fs::remove_dir_all(&dir);
    Some((stream, String::from_utf8_lossy(&trace.stderr).into_owned()))
}

#[test]
fn slice_headers_match_ffmpeg_trace() {
    let cases: &[(&str, &str, u32, &[&str])] = &[
        // CAVLC, POC type 2, two slices per picture.
        ("baseline", "64x64", 4, &["-profile:v", "baseline", "-x264-params", "slices=2"]),
        // CABAC, B-pyramid (MMCO), explicit weighted P (ref list modification), 4 refs.
        ("pyramid", "128x96", 14, &["-bf", "3", "-b_strategy", "0", "-x264-params", "b-pyramid=normal:weightp=2:ref=4:slices=2"]),
        // MBAFF: frame_mbs_only_flag = 0, delta_pic_order_cnt_bottom.
        ("mbaff", "64x64", 6, &["-bf", "2", "-x264-params", "interlaced=1:tff=1"]),
        // No deblocking (disable_deblocking_filter_idc = 1), 8 slices, IDR every 3 (idr_pic_id).
        ("nodeblock", "64x128", 7, &["-g", "3", "-x264-params", "no-deblock=1:slices=8:keyint=3:min-keyint=1:scenecut=0"]),
        // Large QP deltas, long GOP: wider frame_num / POC fields.
        ("qp", "64x64", 5, &["-qp", "45", "-bf", "1", "-x264-params", "keyint=600"]),
        // 4:0:0 (ChromaArrayType 0: no chroma weights), 4:4:4 and 4:2:2
        // 10-bit, all with explicit weighted P and custom scaling lists.
        ("gray", "64x64", 6, &["-pix_fmt", "gray", "-bf", "1", "-x264-params", "weightp=2:cqm=jvt"]),
        ("444", "64x64", 6, &["-pix_fmt", "yuv444p", "-bf", "1", "-x264-params", "weightp=2:cqm=jvt"]),
        ("422p10", "64x64", 6, &["-pix_fmt", "yuv422p10le", "-bf", "1", "-x264-params", "weightp=2"]),
    ];
    let mut all = Vec::new();
    for (tag, size, frames, opts) in cases {
        let Some((stream, trace)) = ffmpeg_stream(tag, size, *frames, opts) else {
            eprintln!("ffmpeg with libx264 unavailable: skipping the generated-stream comparison ({tag})");
            return;
        };
        match check_stream(&stream, &trace) {
            Ok(hs) => {
                assert!(hs.len() >= *frames as usize, "{tag}: only {} slices checked", hs.len());
                all.extend(hs);
            }
            Err(e) => panic!("{tag}: {e}"),
        }
    }
    // The streams must have exercised the interesting syntax.
    let seen = |what: &str, f: &dyn Fn(&SliceHeader) -> bool| assert!(all.iter().any(f), "no slice with {what}");
    seen("MMCO", &|h| h.dec_ref_pic_marking.as_ref().is_some_and(|m| !m.ops.is_empty()));
    seen("list modification", &|h| !h.ref_pic_list_modification_l0.is_empty());
    seen("explicit luma weight", &|h| h.pred_weight_table.as_ref().is_some_and(|t| t.luma_weight_flag[0].contains(&true)));
    seen("delta_pic_order_cnt_bottom", &|h| h.delta_pic_order_cnt_bottom != 0);
    seen("deblocking off", &|h| h.disable_deblocking_filter_idc == 1);
    seen("second slice", &|h| h.first_mb_in_slice > 0);
    seen("idr_pic_id > 0", &|h| h.idr_pic_id > 0);
    seen("B slice", &|h| h.slice_type == SliceType::B);
    seen("POC type 2 (no POC bits)", &|h| h.pic_order_cnt_bit_size == 0);
}

/// A stream captured from `ffmpeg ... -c:v libx264 -bf 1 -x264-params weightp=2`
/// (64x64, 3 frames) with the trace_headers lines of its SPS, PPS and
/// slices, so the comparison also runs where ffmpeg is not installed. The
/// slice NALs are cut after their headers (only the header is parsed).
mod embedded {
    pub const STREAM: &[u8] = include_bytes!("testdata/x264_64x64_ipb.h264");
    pub const TRACE: &str = include_str!("testdata/x264_64x64_ipb.trace");
}

#[test]
fn embedded_x264_vector_matches_trace() {
    let hs = check_stream(embedded::STREAM, embedded::TRACE).unwrap_or_else(|e| panic!("{e}"));
    let types: Vec<SliceType> = hs.iter().map(|h| h.slice_type).collect();
    assert_eq!(types, vec![SliceType::I, SliceType::P, SliceType::B]);
}

#[test]
fn trace_parser_reads_ffmpeg_lines() {
    let t = "[trace_headers @ 0x5] Slice Header\n\
             [trace_headers @ 0x5] 0           forbidden_zero_bit                  0 = 0\n\
             [trace_headers @ 0x5] 9           slice_type                      00110 = 5\n\
             [trace_headers @ 0x5] 31          chroma_weight_l0[0][1]            011 = -1\n";
    let u = parse_trace(t);
    assert_eq!(u.len(), 1);
    assert_eq!(u[0][1], El { pos: 9, name: "slice_type".into(), bits: 5, value: 5 });
    assert_eq!(u[0][2].name, "chroma_weight_l0");
    assert_eq!(u[0][2].value, -1);
    assert_eq!(split_annexb(&[0, 0, 0, 1, 0x67, 1, 0, 0, 1, 0x68, 0]), vec![&[0x67u8, 1][..], &[0x68u8][..]]);
}

// ---------------------------------------------------------------------------
// translate() on synthetic VA parameters.
// ---------------------------------------------------------------------------

type SeqBits = va::_VAPictureParameterBufferH264__bindgen_ty_1__bindgen_ty_1;
type PicBits = va::_VAPictureParameterBufferH264__bindgen_ty_2__bindgen_ty_1;

const CUR: va::VASurfaceID = 100;

fn invalid_pic() -> va::VAPictureH264 {
    va::VAPictureH264 { picture_id: va::VA_INVALID_SURFACE, flags: va::VA_PICTURE_H264_INVALID, ..Default::default() }
}

fn ref_pic(surface: va::VASurfaceID, frame_idx: u32, flags: u32, top: i32, bottom: i32) -> va::VAPictureH264 {
    va::VAPictureH264 { picture_id: surface, frame_idx, flags, TopFieldOrderCnt: top, BottomFieldOrderCnt: bottom, ..Default::default() }
}

/// 4:2:0 progressive 64x64, MaxFrameNum 16, POC type 0 with 4-bit lsb,
/// CAVLC, no deblocking control, all references invalid; `f` adjusts.
fn make_pic(f: impl FnOnce(&mut va::VAPictureParameterBufferH264, &mut SeqBits, &mut PicBits)) -> va::VAPictureParameterBufferH264 {
    let mut pic = va::VAPictureParameterBufferH264::default();
    let mut s = SeqBits::default();
    let mut p = PicBits::default();
    s.set_chroma_format_idc(1);
    s.set_frame_mbs_only_flag(1);
    s.set_direct_8x8_inference_flag(1);
    pic.picture_width_in_mbs_minus1 = 3;
    pic.picture_height_in_mbs_minus1 = 3;
    pic.num_ref_frames = 4;
    pic.CurrPic = va::VAPictureH264 { picture_id: CUR, ..Default::default() };
    for r in pic.ReferenceFrames.iter_mut() {
        *r = invalid_pic();
    }
    f(&mut pic, &mut s, &mut p);
    pic.seq_fields = va::_VAPictureParameterBufferH264__bindgen_ty_1 { bits: s };
    pic.pic_fields = va::_VAPictureParameterBufferH264__bindgen_ty_2 { bits: p };
    pic
}

/// Surfaces 1..=50 have timestamps 1000 * id.
struct Refs;
impl RefTimestamps for Refs {
    fn timestamp_ns(&self, surface: va::VASurfaceID) -> Option<u64> {
        (1..=50).contains(&surface).then(|| 1000 * surface as u64)
    }
}

struct NoRefs;
impl RefTimestamps for NoRefs {
    fn timestamp_ns(&self, _: va::VASurfaceID) -> Option<u64> {
        None
    }
}

/// Surfaces are known to have been decoded as field pictures.
struct FieldRefs;
impl RefTimestamps for FieldRefs {
    fn timestamp_ns(&self, surface: va::VASurfaceID) -> Option<u64> {
        Refs.timestamp_ns(surface)
    }
    fn structure(&self, surface: va::VASurfaceID) -> Option<RefStructure> {
        Some(match surface {
            4 => RefStructure::BottomFieldFirst,
            5 => RefStructure::Frame,
            _ => RefStructure::TopFieldFirst,
        })
    }
}

/// Description of a synthetic slice for the default `make_pic` parameters.
#[derive(Clone, Copy)]
struct Spec {
    nal_ref_idc: u8,
    idr: bool,
    slice_type: u32,
    first_mb: u32,
    frame_num: u32,
    /// Some(bottom) for a field picture (needs frame_mbs_only_flag = 0).
    field: Option<bool>,
    frame_mbs_only: bool,
    /// num_ref_idx override (l0, l1).
    overrides: Option<(u32, u32)>,
    /// Write a pred_weight_table with all flags 0 for this many l0/l1 entries.
    pwt: Option<(u32, u32)>,
    start_code: bool,
}

impl Default for Spec {
    fn default() -> Self {
        Spec {
            nal_ref_idc: 2,
            idr: false,
            slice_type: 5,
            first_mb: 0,
            frame_num: 2,
            field: None,
            frame_mbs_only: true,
            overrides: None,
            pwt: None,
            start_code: false,
        }
    }
}

fn build_slice(s: Spec) -> Vec<u8> {
    let mut w = BitWriter::default();
    w.put(1, 0);
    w.put(2, s.nal_ref_idc as u64);
    w.put(5, if s.idr { 5 } else { 1 });
    w.ue(s.first_mb);
    w.ue(s.slice_type);
    w.ue(0);
    w.put(4, s.frame_num as u64);
    if !s.frame_mbs_only {
        w.flag(s.field.is_some());
        if let Some(b) = s.field {
            w.flag(b);
        }
    }
    if s.idr {
        w.ue(7);
    }
    w.put(4, (2 * s.frame_num as u64) % 16); // pic_order_cnt_lsb
    let st = s.slice_type % 5;
    if st == 1 {
        w.flag(true); // direct_spatial_mv_pred_flag
    }
    if st != 2 && st != 4 {
        w.flag(s.overrides.is_some());
        if let Some((l0, l1)) = s.overrides {
            w.ue(l0);
            if st == 1 {
                w.ue(l1);
            }
        }
        w.flag(false); // ref_pic_list_modification_flag_l0
        if st == 1 {
            w.flag(false);
        }
    }
    if let Some((n0, n1)) = s.pwt {
        w.ue(1); // luma_log2_weight_denom
        w.ue(2); // chroma_log2_weight_denom
        for _ in 0..n0 + if st == 1 { n1 } else { 0 } {
            w.flag(false);
            w.flag(false);
        }
    }
    if s.nal_ref_idc != 0 {
        if s.idr {
            w.flag(false);
            w.flag(false);
        } else {
            w.flag(false);
        }
    }
    w.se(-3); // slice_qp_delta
    w.trailing();
    w.put(16, 0xabcd); // some "slice data"
    let mut nal = escape(&w.bytes);
    if s.start_code {
        nal.splice(0..0, [0, 0, 0, 1]);
    }
    nal
}

fn slice_params(l0: u8, l1: u8, list0: &[va::VAPictureH264], list1: &[va::VAPictureH264]) -> va::VASliceParameterBufferH264 {
    let mut sp = va::VASliceParameterBufferH264 { num_ref_idx_l0_active_minus1: l0, num_ref_idx_l1_active_minus1: l1, ..Default::default() };
    for r in sp.RefPicList0.iter_mut().chain(sp.RefPicList1.iter_mut()) {
        *r = invalid_pic();
    }
    sp.RefPicList0[..list0.len()].copy_from_slice(list0);
    sp.RefPicList1[..list1.len()].copy_from_slice(list1);
    sp
}

fn run(
    pic: &va::VAPictureParameterBufferH264,
    slices: &[(va::VASliceParameterBufferH264, Vec<u8>)],
    iq: Option<&va::VAIQMatrixBufferH264>,
    refs: &dyn RefTimestamps,
    mode: DecodeMode,
) -> Result<H264Controls, CodecError> {
    let inputs: Vec<SliceInput> = slices.iter().map(|(p, d)| SliceInput { params: p, data: d }).collect();
    let input = PictureInput { profile: va::VAProfileH264Main, pic, iq, slices: &inputs };
    translate(&input, refs, mode)
}

const SHORT: u32 = va::VA_PICTURE_H264_SHORT_TERM_REFERENCE;
const LONG: u32 = va::VA_PICTURE_H264_LONG_TERM_REFERENCE;
const TOP: u32 = va::VA_PICTURE_H264_TOP_FIELD;
const BOTTOM: u32 = va::VA_PICTURE_H264_BOTTOM_FIELD;

#[test]
fn frame_dpb_pic_num_wrap_and_long_term() {
    let pic = make_pic(|pic, _, _| {
        pic.frame_num = 2;
        pic.ReferenceFrames[0] = ref_pic(7, 1, SHORT, 2, 3);
        pic.ReferenceFrames[1] = invalid_pic();
        pic.ReferenceFrames[2] = ref_pic(9, 14, SHORT, -4, -3); // before the wrap: FrameNumWrap = 14 - 16
        pic.ReferenceFrames[3] = ref_pic(11, 3, LONG, -10, -9); // LongTermFrameIdx 3
        pic.ReferenceFrames[4] = ref_pic(12, 0, 0, 0, 0); // listed but not a reference: dropped
    });
    let sp = slice_params(2, 0, &[ref_pic(7, 1, SHORT, 2, 3), ref_pic(9, 14, SHORT, -4, -3), ref_pic(11, 3, LONG, -10, -9)], &[]);
    let nal = build_slice(Spec { frame_num: 2, ..Default::default() });
    let c = run(&pic, &[(sp, nal)], None, &Refs, DecodeMode::SliceBased).unwrap();
    let d = &c.decode_params;
    let e = |i: usize| d.dpb[i];
    assert_eq!((e(0).reference_ts, e(0).pic_num, e(0).frame_num), (7000, 1, 1));
    assert_eq!((e(1).reference_ts, e(1).pic_num as i32, e(1).frame_num), (9000, -2, 14));
    assert_eq!((e(2).reference_ts, e(2).pic_num, e(2).frame_num), (11000, 3, 3));
    assert_eq!(e(3), v4l2::v4l2_h264_dpb_entry::default(), "invalid and non-reference entries are skipped");
    let valid_active = v4l2::V4L2_H264_DPB_ENTRY_FLAG_VALID | v4l2::V4L2_H264_DPB_ENTRY_FLAG_ACTIVE;
    assert_eq!(e(0).flags, valid_active);
    assert_eq!(e(2).flags, valid_active | v4l2::V4L2_H264_DPB_ENTRY_FLAG_LONG_TERM);
    for i in 0..3 {
        assert_eq!(e(i).fields, v4l2::V4L2_H264_FRAME_REF as u8);
    }
    assert_eq!((e(1).top_field_order_cnt, e(1).bottom_field_order_cnt), (-4, -3));
    assert_eq!(d.frame_num, 2);
    assert_eq!(d.pic_order_cnt_lsb, 4);
    assert_eq!(d.nal_ref_idc, 2);
    assert_eq!(d.dec_ref_pic_marking_bit_size, 1);
    assert_eq!(d.pic_order_cnt_bit_size, 4);
    assert_eq!(d.flags, v4l2::V4L2_H264_DECODE_PARAM_FLAG_PFRAME);

    let s = &c.slices[0].slice_params;
    assert_eq!(s.slice_type, v4l2::V4L2_H264_SLICE_TYPE_P as u8);
    assert_eq!(s.num_ref_idx_l0_active_minus1, 2);
    assert_eq!(s.slice_qp_delta, -3);
    assert_eq!(s.header_bit_size, c.parsed[0].header_bit_size);
    let idx: Vec<(u8, u8)> = s.ref_pic_list0[..4].iter().map(|r| (r.index, r.fields)).collect();
    let f = v4l2::V4L2_H264_FRAME_REF as u8;
    assert_eq!(idx, vec![(0, f), (1, f), (2, f), (0xff, 0xff)]);
    let l1 = &c.slices[0].slice_params.ref_pic_list1;
    assert!(l1.iter().all(|r| (r.index, r.fields) == (0xff, 0xff)));
    assert!(c.slices[0].pred_weights.is_none());
    assert!(c.scaling_matrix.is_none());
    assert_eq!(c.pps.flags as u32 & v4l2::V4L2_H264_PPS_FLAG_SCALING_MATRIX_PRESENT, 0);
}

#[test]
fn field_pictures_merge_fields_and_number_by_parity() {
    let pic = make_pic(|pic, s, p| {
        s.set_frame_mbs_only_flag(0);
        pic.picture_height_in_mbs_minus1 = 7; // 8 MB rows of frame = 4 map units
        p.set_field_pic_flag(1);
        pic.frame_num = 6;
        pic.CurrPic.flags = BOTTOM;
        pic.CurrPic.BottomFieldOrderCnt = 13;
        pic.CurrPic.TopFieldOrderCnt = 12;
        pic.ReferenceFrames[0] = ref_pic(3, 5, SHORT | TOP, 10, 0); // only its top field is a reference
        pic.ReferenceFrames[1] = ref_pic(4, 4, SHORT | TOP, 8, 0); // the two fields of surface 4,
        pic.ReferenceFrames[2] = ref_pic(4, 4, SHORT | BOTTOM, 0, 9); // listed separately
        pic.ReferenceFrames[3] = ref_pic(5, 1, LONG, 2, 3); // long-term frame (both fields)
    });
    let list0 = [ref_pic(3, 5, SHORT | TOP, 10, 0), ref_pic(4, 4, SHORT | BOTTOM, 0, 9), ref_pic(4, 4, SHORT | TOP, 8, 0), ref_pic(5, 1, LONG | BOTTOM, 2, 3)];
    let sp = slice_params(3, 0, &list0, &[]);
    let nal = build_slice(Spec { frame_num: 6, field: Some(true), frame_mbs_only: false, overrides: Some((3, 0)), ..Default::default() });
    let c = run(&pic, &[(sp, nal.clone())], None, &Refs, DecodeMode::SliceBased).unwrap();
    let d = &c.decode_params;
    assert_eq!(c.sps.pic_height_in_map_units_minus1, 3);
    assert_eq!(c.sps.flags & v4l2::V4L2_H264_SPS_FLAG_FRAME_MBS_ONLY, 0);
    assert_eq!(
        d.flags,
        v4l2::V4L2_H264_DECODE_PARAM_FLAG_FIELD_PIC | v4l2::V4L2_H264_DECODE_PARAM_FLAG_BOTTOM_FIELD | v4l2::V4L2_H264_DECODE_PARAM_FLAG_PFRAME
    );
    assert_eq!((d.top_field_order_cnt, d.bottom_field_order_cnt), (12, 13));
    let top = v4l2::V4L2_H264_TOP_FIELD_REF as u8;
    let bottom = v4l2::V4L2_H264_BOTTOM_FIELD_REF as u8;
    let frame = v4l2::V4L2_H264_FRAME_REF as u8;
    // Surface 3: only the top (opposite parity) field → PicNum = 2 * 5.
    assert_eq!((d.dpb[0].fields, d.dpb[0].pic_num, d.dpb[0].frame_num), (top, 10, 5));
    assert_ne!(d.dpb[0].flags & v4l2::V4L2_H264_DPB_ENTRY_FLAG_FIELD, 0);
    // Surface 4: both fields merged into one entry; which field came first
    // is unknown, taken as top → opposite parity → 2 * 4.
    assert_eq!((d.dpb[1].fields, d.dpb[1].pic_num), (frame, 8));
    assert_eq!((d.dpb[1].top_field_order_cnt, d.dpb[1].bottom_field_order_cnt), (8, 9));
    assert_eq!(d.dpb[1].flags & v4l2::V4L2_H264_DPB_ENTRY_FLAG_FIELD, 0, "unknown provenance, both fields: frame");
    // Long-term: LongTermPicNum = 2 * LongTermFrameIdx (+ 1 for same parity).
    assert_eq!((d.dpb[2].pic_num, d.dpb[2].frame_num), (2, 1));
    assert_ne!(d.dpb[2].flags & v4l2::V4L2_H264_DPB_ENTRY_FLAG_LONG_TERM, 0);
    assert_eq!(d.dpb[3].flags, 0);
    let l: Vec<(u8, u8)> = c.slices[0].slice_params.ref_pic_list0[..4].iter().map(|r| (r.index, r.fields)).collect();
    assert_eq!(l, vec![(0, top), (1, bottom), (1, top), (2, bottom)]);
    assert!(!c.second_field);
    assert_eq!(c.structure(), RefStructure::BottomFieldFirst);

    // A driver that remembers how each reference was coded: surface 4 as a
    // bottom-first field pair (FIELD, same parity first → 2 * 4 + 1), surface
    // 5 as a frame (no FIELD, neither parity → 2 * 1), surface 3 as fields.
    let c = run(&pic, &[(sp, nal.clone())], None, &FieldRefs, DecodeMode::SliceBased).unwrap();
    let d = &c.decode_params;
    let field = v4l2::V4L2_H264_DPB_ENTRY_FLAG_FIELD;
    assert_eq!((d.dpb[0].pic_num, d.dpb[0].flags & field), (10, field));
    assert_eq!((d.dpb[1].pic_num, d.dpb[1].flags & field), (9, field));
    assert_eq!((d.dpb[2].pic_num, d.dpb[2].flags & field), (2, 0));

    // The coarser decoded_as_fields answer: FIELD set, first field taken as top.
    struct AsFields;
    impl RefTimestamps for AsFields {
        fn timestamp_ns(&self, surface: va::VASurfaceID) -> Option<u64> {
            Refs.timestamp_ns(surface)
        }
        fn decoded_as_fields(&self, surface: va::VASurfaceID) -> Option<bool> {
            Some(surface != 5)
        }
    }
    let c = run(&pic, &[(sp, nal)], None, &AsFields, DecodeMode::SliceBased).unwrap();
    let d = &c.decode_params;
    assert_eq!((d.dpb[0].pic_num, d.dpb[0].flags & field), (10, field));
    assert_eq!((d.dpb[1].pic_num, d.dpb[1].flags & field), (8, field));
    assert_eq!((d.dpb[2].pic_num, d.dpb[2].flags & field), (2, 0));
}

#[test]
fn second_field_takes_the_first_fields_poc() {
    // Bottom field decoded into surface 20, whose top field (POC 40) is a
    // short-term reference; CurrPic carries only the bottom POC, as FFmpeg's
    // and GStreamer's VA code send it.
    let pic = make_pic(|pic, s, p| {
        s.set_frame_mbs_only_flag(0);
        pic.picture_height_in_mbs_minus1 = 7;
        p.set_field_pic_flag(1);
        pic.frame_num = 3;
        pic.CurrPic = ref_pic(20, 3, BOTTOM, 0, 41);
        pic.ReferenceFrames[0] = ref_pic(20, 3, SHORT | TOP, 40, 0);
    });
    let nal = build_slice(Spec { frame_num: 3, field: Some(true), frame_mbs_only: false, ..Default::default() });
    let list0 = [ref_pic(20, 3, SHORT | TOP, 40, 0)];
    let c = run(&pic, &[(slice_params(0, 0, &list0, &[]), nal)], None, &Refs, DecodeMode::SliceBased).unwrap();
    let d = &c.decode_params;
    assert!(c.second_field);
    assert_eq!((d.top_field_order_cnt, d.bottom_field_order_cnt), (40, 41));
    // The first field is a reference of its own frame: same frame_num,
    // opposite parity → PicNum 2 * 3.
    assert_eq!((d.dpb[0].reference_ts, d.dpb[0].pic_num, d.dpb[0].fields), (20_000, 6, 1));
    let l = &c.slices[0].slice_params.ref_pic_list0[0];
    assert_eq!((l.index, l.fields), (0, v4l2::V4L2_H264_TOP_FIELD_REF as u8));
}

#[test]
fn scaling_matrix_is_copied_in_uapi_order() {
    let mut iq = va::VAIQMatrixBufferH264::default();
    for (i, l) in iq.ScalingList4x4.iter_mut().enumerate() {
        for (j, v) in l.iter_mut().enumerate() {
            *v = (i * 16 + j) as u8;
        }
    }
    for (i, l) in iq.ScalingList8x8.iter_mut().enumerate() {
        for (j, v) in l.iter_mut().enumerate() {
            *v = (100 + i * 64 + j) as u8;
        }
    }
    let pic = make_pic(|_, _, p| p.set_transform_8x8_mode_flag(1));
    let nal = build_slice(Spec { slice_type: 7, idr: true, nal_ref_idc: 3, frame_num: 0, ..Default::default() });
    let sp = slice_params(0, 0, &[], &[]);
    let c = run(&pic, &[(sp, nal.clone())], Some(&iq), &Refs, DecodeMode::FrameBased).unwrap();
    let m = c.scaling_matrix.unwrap();
    // Both VA and V4L2 use raster order with Intra Y/Cb/Cr, Inter Y/Cb/Cr for 4x4.
    assert_eq!(m.scaling_list_4x4, iq.ScalingList4x4);
    // 8x8: V4L2 order Intra Y, Inter Y, Intra Cb, Inter Cb, …; VA has only the Y lists.
    assert_eq!(m.scaling_list_8x8[0], iq.ScalingList8x8[0]);
    assert_eq!(m.scaling_list_8x8[1], iq.ScalingList8x8[1]);
    assert!(m.scaling_list_8x8[2..].iter().all(|l| l.iter().all(|&v| v == 0)));
    assert_ne!(c.pps.flags as u32 & v4l2::V4L2_H264_PPS_FLAG_SCALING_MATRIX_PRESENT, 0);
    assert_ne!(c.pps.flags as u32 & v4l2::V4L2_H264_PPS_FLAG_TRANSFORM_8X8_MODE, 0);
    assert_eq!(c.decode_params.flags, v4l2::V4L2_H264_DECODE_PARAM_FLAG_IDR_PIC);
    assert_eq!(c.decode_params.idr_pic_id, 7);
    assert_eq!(c.decode_params.dec_ref_pic_marking_bit_size, 2);
    assert!(c.slices.is_empty());

    // 4:4:4: chroma 8x8 lists fall back to the luma ones (Table 7-2 rule).
    let pic444 = make_pic(|_, s, _| s.set_chroma_format_idc(3));
    let c = run(&pic444, &[(sp, nal)], Some(&iq), &Refs, DecodeMode::FrameBased).unwrap();
    let m = c.scaling_matrix.unwrap();
    for i in 0..6 {
        assert_eq!(m.scaling_list_8x8[i], iq.ScalingList8x8[i % 2], "list {i}");
    }
}

#[test]
fn flat_iq_matrix_is_no_matrix() {
    let mut iq = va::VAIQMatrixBufferH264 { ScalingList4x4: [[16; 16]; 6], ..Default::default() };
    let nal = build_slice(Spec { slice_type: 7, idr: true, frame_num: 0, ..Default::default() });
    let sp = slice_params(0, 0, &[], &[]);
    let present = v4l2::V4L2_H264_PPS_FLAG_SCALING_MATRIX_PRESENT;
    // 8x8 lists are ignored (zero here) without transform_8x8_mode_flag.
    let pic = make_pic(|_, _, _| {});
    let c = run(&pic, &[(sp, nal.clone())], Some(&iq), &Refs, DecodeMode::FrameBased).unwrap();
    assert!(c.scaling_matrix.is_none());
    assert_eq!(c.pps.flags as u32 & present, 0);
    // With 8x8 transforms they count: zeros are not flat.
    let pic8 = make_pic(|_, _, p| p.set_transform_8x8_mode_flag(1));
    let c = run(&pic8, &[(sp, nal.clone())], Some(&iq), &Refs, DecodeMode::FrameBased).unwrap();
    assert!(c.scaling_matrix.is_some());
    assert_ne!(c.pps.flags as u32 & present, 0);
    iq.ScalingList8x8 = [[16; 64]; 2];
    let c = run(&pic8, &[(sp, nal.clone())], Some(&iq), &Refs, DecodeMode::FrameBased).unwrap();
    assert!(c.scaling_matrix.is_none());
    // One non-16 entry is enough.
    iq.ScalingList4x4[5][15] = 17;
    let c = run(&pic, &[(sp, nal)], Some(&iq), &Refs, DecodeMode::FrameBased).unwrap();
    assert_eq!(c.scaling_matrix.unwrap().scaling_list_4x4[5][15], 17);
}

#[test]
fn pps_ref_idx_defaults_are_remembered_per_pps() {
    let pic = make_pic(|pic, _, _| {
        pic.ReferenceFrames[0] = ref_pic(7, 1, SHORT, 0, 0);
    });
    let list = [ref_pic(7, 1, SHORT, 0, 0)];
    let mut state = H264State::default();
    let go = |nal: Vec<u8>, l0: u8, state: &mut H264State| {
        let sp = slice_params(l0, 0, &list, &[]);
        let inputs = [SliceInput { params: &sp, data: &nal }];
        let input = PictureInput { profile: va::VAProfileH264Main, pic: &pic, iq: None, slices: &inputs };
        translate_with_state(&input, &Refs, DecodeMode::FrameBased, state).unwrap().pps.num_ref_idx_l0_default_active_minus1
    };
    let overriding = || build_slice(Spec { overrides: Some((0, 0)), ..Default::default() });
    // Nothing known yet: the overriding slice's own count.
    assert_eq!(go(overriding(), 0, &mut state), 0);
    // A slice without override shows the default (VA's active count = 2).
    assert_eq!(go(build_slice(Spec::default()), 2, &mut state), 2);
    // Later all-overriding pictures keep it; stateless translate cannot.
    assert_eq!(go(overriding(), 0, &mut state), 2);
    assert_eq!(go(overriding(), 0, &mut H264State::default()), 0);
}

#[test]
fn reference_without_timestamp_is_an_error() {
    let pic = make_pic(|pic, _, _| {
        pic.ReferenceFrames[0] = ref_pic(7, 1, SHORT, 0, 0);
        pic.ReferenceFrames[1] = ref_pic(77, 0, SHORT, 0, 0); // never decoded
    });
    let sp = slice_params(0, 0, &[ref_pic(7, 1, SHORT, 0, 0)], &[]);
    let err = run(&pic, &[(sp, build_slice(Spec::default()))], None, &Refs, DecodeMode::FrameBased).unwrap_err();
    assert_eq!(err, CodecError::MissingReference { surface: 77 });
    assert!(err.to_string().contains("0x4d"), "{err}");
}

#[test]
fn ref_list_errors_and_holes() {
    let pic = make_pic(|pic, _, _| {
        pic.ReferenceFrames[0] = ref_pic(7, 1, SHORT, 0, 0);
        pic.ReferenceFrames[1] = ref_pic(8, 0, SHORT, 0, 0);
    });
    // Entry not in the DPB.
    let sp = slice_params(1, 0, &[ref_pic(7, 1, SHORT, 0, 0), ref_pic(33, 0, SHORT, 0, 0)], &[]);
    let nal = build_slice(Spec { overrides: Some((1, 0)), ..Default::default() });
    let err = run(&pic, &[(sp, nal.clone())], None, &Refs, DecodeMode::SliceBased).unwrap_err();
    assert_eq!(err, CodecError::RefNotInDpb { slice: 0, list: 0, index: 1, surface: 33 });
    // Frame-based mode does not look at the lists.
    assert!(run(&pic, &[(sp, nal.clone())], None, &Refs, DecodeMode::FrameBased).is_ok());
    // A hole is filled with the list's first valid entry.
    let sp = slice_params(1, 0, &[invalid_pic(), ref_pic(8, 0, SHORT, 0, 0)], &[]);
    let c = run(&pic, &[(sp, nal.clone())], None, &Refs, DecodeMode::SliceBased).unwrap();
    let l = &c.slices[0].slice_params.ref_pic_list0;
    assert_eq!((l[0].index, l[1].index), (1, 1));
    // Nothing valid at all in an active list.
    let sp = slice_params(1, 0, &[], &[]);
    let err = run(&pic, &[(sp, nal)], None, &Refs, DecodeMode::SliceBased).unwrap_err();
    assert_eq!(err, CodecError::EmptyRefList { slice: 0, list: 0 });
}

#[test]
fn sps_pps_from_va() {
    let pic = make_pic(|pic, s, p| {
        pic.bit_depth_luma_minus8 = 0;
        pic.num_ref_frames = 3;
        pic.pic_init_qp_minus26 = -4;
        pic.pic_init_qs_minus26 = 2;
        pic.chroma_qp_index_offset = -2;
        pic.second_chroma_qp_index_offset = 3;
        s.set_log2_max_frame_num_minus4(0);
        s.set_gaps_in_frame_num_value_allowed_flag(1);
        s.set_MinLumaBiPredSize8x8(1);
        p.set_entropy_coding_mode_flag(1);
        p.set_constrained_intra_pred_flag(1);
        p.set_weighted_bipred_idc(2);
        pic.ReferenceFrames[0] = ref_pic(7, 1, SHORT, 0, 0);
    });
    // CABAC now: slice carries cabac_init_idc; build it by hand.
    let mut w = BitWriter::default();
    w.put(8, 0x41);
    w.ue(0);
    w.ue(5);
    w.ue(3); // pic_parameter_set_id
    w.put(4, 2);
    w.put(4, 4);
    w.flag(false);
    w.flag(false);
    w.flag(false);
    w.ue(1); // cabac_init_idc
    w.se(2);
    w.trailing();
    let sp = slice_params(0, 0, &[ref_pic(7, 1, SHORT, 0, 0)], &[]);
    let slices = [(sp, w.bytes.clone())];
    let inputs: Vec<SliceInput> = slices.iter().map(|(p, d)| SliceInput { params: p, data: d }).collect();
    for (profile, idc, cs) in [
        (va::VAProfileH264ConstrainedBaseline, 66, v4l2::V4L2_H264_SPS_CONSTRAINT_SET0_FLAG | v4l2::V4L2_H264_SPS_CONSTRAINT_SET1_FLAG),
        (va::VAProfileH264Main, 77, v4l2::V4L2_H264_SPS_CONSTRAINT_SET1_FLAG),
        (va::VAProfileH264High, 100, 0),
    ] {
        let input = PictureInput { profile, pic: &pic, iq: None, slices: &inputs };
        let c = translate(&input, &Refs, DecodeMode::SliceBased).unwrap();
        assert_eq!((c.sps.profile_idc, c.sps.constraint_set_flags as u32), (idc, cs));
        // 4x4 MBs fit level 1.0, but MinLumaBiPredSize8x8 says ≥ 3.1.
        assert_eq!(c.sps.level_idc, 31);
        assert_eq!(c.sps.max_num_ref_frames, 3);
        assert_eq!((c.sps.pic_width_in_mbs_minus1, c.sps.pic_height_in_map_units_minus1), (3, 3));
        assert_eq!(
            c.sps.flags,
            v4l2::V4L2_H264_SPS_FLAG_FRAME_MBS_ONLY | v4l2::V4L2_H264_SPS_FLAG_DIRECT_8X8_INFERENCE | v4l2::V4L2_H264_SPS_FLAG_GAPS_IN_FRAME_NUM_VALUE_ALLOWED
        );
        assert_eq!(c.pps.pic_parameter_set_id, 3);
        assert_eq!((c.pps.pic_init_qp_minus26, c.pps.pic_init_qs_minus26), (-4, 2));
        assert_eq!((c.pps.chroma_qp_index_offset, c.pps.second_chroma_qp_index_offset), (-2, 3));
        assert_eq!(c.pps.weighted_bipred_idc, 2);
        assert_eq!(c.pps.flags as u32, v4l2::V4L2_H264_PPS_FLAG_ENTROPY_CODING_MODE | v4l2::V4L2_H264_PPS_FLAG_CONSTRAINED_INTRA_PRED);
        assert_eq!(c.slices[0].slice_params.cabac_init_idc, 1);
        assert_eq!(c.slices[0].slice_params.slice_qp_delta, 2);
    }
    let input = PictureInput { profile: va::VAProfileH264StereoHigh, pic: &pic, iq: None, slices: &inputs };
    assert_eq!(translate(&input, &Refs, DecodeMode::FrameBased).unwrap_err(), CodecError::UnsupportedProfile(va::VAProfileH264StereoHigh));
    let input = PictureInput { profile: va::VAProfileH264Main, pic: &pic, iq: None, slices: &[] };
    assert_eq!(translate(&input, &Refs, DecodeMode::FrameBased).unwrap_err(), CodecError::NoSlices);
}

#[test]
fn extreme_picture_sizes_do_not_overflow() {
    let nal = build_slice(Spec { slice_type: 7, idr: true, frame_num: 0, frame_mbs_only: false, field: None, ..Default::default() });
    for (h, want) in [(0u16, 0u16), (1, 0), (65535, 32767)] {
        let pic = make_pic(|pic, s, _| {
            s.set_frame_mbs_only_flag(0);
            pic.picture_height_in_mbs_minus1 = h;
            pic.picture_width_in_mbs_minus1 = 65535;
            pic.num_slice_groups_minus1 = 1;
            pic.slice_group_map_type = 3;
        });
        // slice_group_change_cycle: Ceil(Log2(65536 * 32768 / 1 + 1)) = 32 bits
        let mut nal = nal.clone();
        nal.extend_from_slice(&[0xff; 8]);
        let c = run(&pic, &[(slice_params(0, 0, &[], &[]), nal)], None, &Refs, DecodeMode::FrameBased);
        if let Ok(c) = c {
            assert_eq!(c.sps.pic_height_in_map_units_minus1, want);
        }
        let ps = ParamSets {
            pic_width_in_mbs: u32::MAX,
            pic_height_in_map_units: u32::MAX,
            num_slice_groups_minus1: 1,
            slice_group_map_type: 4,
            ..Default::default()
        };
        let _ = parse_slice_header(&[0x65, 0x88, 0x84, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], &ps);
    }
}

#[test]
fn level_guess_follows_table_a1() {
    // (width, height in MBs, refs, min_31) → level
    let cases = [
        ((4, 4, 3, false), 10),
        ((8, 6, 4, false), 10),    // 128x96: 48 MBs, DPB 192 ≤ 396
        ((9, 6, 8, false), 11),    // DPB 432 > 396
        ((14, 9, 1, false), 11),   // 210x142: 126 MBs > 99
        ((22, 18, 4, false), 12),  // CIF 396 MBs, DPB 1584 > 900 (1.1), ≤ 2376
        ((120, 68, 4, false), 40), // 1080p: 8160 MBs, DPB 32640
        ((120, 68, 5, false), 50), // DPB 40800 > 34816
        ((240, 135, 4, false), 51),
        ((4, 4, 1, true), 31),
        ((500, 2, 1, false), 51), // 500² > 8 * MaxFS up to 5.0
        ((2000, 2000, 16, false), 60),
        ((u32::MAX, u32::MAX, 255, false), 60),
    ];
    for ((w, h, r, m), want) in cases {
        assert_eq!(guess_level(w, h, r, m, true), want, "{w}x{h} refs {r} min31 {m}");
    }
    // Interlaced coding needs level 2.1 or more.
    assert_eq!(guess_level(4, 4, 1, false, false), 21);
    assert_eq!(guess_level(120, 68, 4, false, false), 40);
}

#[test]
fn pps_num_ref_idx_defaults_come_from_non_overriding_slices() {
    let pic = make_pic(|pic, _, _| {
        pic.ReferenceFrames[0] = ref_pic(7, 1, SHORT, 0, 0);
    });
    let a = build_slice(Spec { overrides: Some((0, 0)), ..Default::default() });
    let b = build_slice(Spec { first_mb: 8, ..Default::default() });
    let c = run(&pic, &[(slice_params(0, 0, &[], &[]), a.clone()), (slice_params(2, 0, &[], &[]), b)], None, &Refs, DecodeMode::FrameBased).unwrap();
    assert_eq!(c.pps.num_ref_idx_l0_default_active_minus1, 2);
    assert_eq!(c.parsed[0].num_ref_idx_l0_active_minus1, 0);
    assert_eq!(c.parsed[1].num_ref_idx_l0_active_minus1, 2);
    assert_eq!(c.parsed[1].first_mb_in_slice, 8);
}

#[test]
fn pred_weights_for_explicit_weighting_only() {
    let mk = |bipred: u32| {
        make_pic(move |pic, _, p| {
            p.set_weighted_pred_flag(1);
            p.set_weighted_bipred_idc(bipred);
            pic.ReferenceFrames[0] = ref_pic(7, 1, SHORT, 0, 0);
            pic.ReferenceFrames[1] = ref_pic(8, 3, SHORT, 8, 8);
        })
    };
    let list = [ref_pic(7, 1, SHORT, 0, 0), ref_pic(8, 3, SHORT, 0, 0)];
    let mut sp = slice_params(1, 0, &list, &[]);
    sp.luma_log2_weight_denom = 1;
    sp.chroma_log2_weight_denom = 2;
    sp.luma_weight_l0_flag = 1;
    sp.luma_weight_l0[0] = 5;
    sp.luma_offset_l0[0] = -3;
    sp.luma_weight_l0[1] = 2;
    sp.chroma_weight_l0_flag = 0; // defaults: 1 << 2
    sp.chroma_weight_l0[0] = [99, 99];
    let nal = build_slice(Spec { frame_num: 4, overrides: Some((1, 0)), pwt: Some((2, 0)), ..Default::default() });
    let c = run(&mk(0), &[(sp, nal)], None, &Refs, DecodeMode::SliceBased).unwrap();
    let w = c.slices[0].pred_weights.unwrap();
    assert_eq!((w.luma_log2_weight_denom, w.chroma_log2_weight_denom), (1, 2));
    let f = &w.weight_factors[0];
    assert_eq!((f.luma_weight[0], f.luma_offset[0], f.luma_weight[1]), (5, -3, 2));
    assert_eq!((f.chroma_weight[0], f.chroma_weight[1], f.chroma_offset[0]), ([4, 4], [4, 4], [0, 0]));
    assert_eq!(f.luma_weight[2], 0, "entries past the active count stay zero");
    assert_eq!(w.weight_factors[1], v4l2::v4l2_h264_weight_factors::default(), "no list 1 for P");
    let t = c.parsed[0].pred_weight_table.as_ref().unwrap();
    assert_eq!((t.luma_log2_weight_denom, t.chroma_log2_weight_denom), (1, 2));

    // B with implicit weights (weighted_bipred_idc 2): no table.
    let b_list1 = [ref_pic(8, 3, SHORT, 0, 0)];
    let sp = slice_params(0, 0, &list[..1], &b_list1);
    let nal = build_slice(Spec { slice_type: 6, nal_ref_idc: 0, frame_num: 4, ..Default::default() });
    let c = run(&mk(2), &[(sp, nal)], None, &Refs, DecodeMode::SliceBased).unwrap();
    assert!(c.slices[0].pred_weights.is_none());
    assert_eq!(c.decode_params.flags, v4l2::V4L2_H264_DECODE_PARAM_FLAG_BFRAME);
    assert_eq!(c.decode_params.dec_ref_pic_marking_bit_size, 0);
    let s = &c.slices[0].slice_params;
    assert_ne!(s.flags & v4l2::V4L2_H264_SLICE_FLAG_DIRECT_SPATIAL_MV_PRED, 0);
    assert_eq!((s.ref_pic_list1[0].index, s.num_ref_idx_l1_active_minus1), (1, 0));

    // B with explicit weights (idc 1): both lists.
    let mut sp = slice_params(0, 0, &list[..1], &b_list1);
    sp.luma_log2_weight_denom = 1;
    sp.luma_weight_l1_flag = 1;
    sp.luma_weight_l1[0] = -7;
    let nal = build_slice(Spec { slice_type: 6, nal_ref_idc: 0, frame_num: 4, pwt: Some((1, 1)), ..Default::default() });
    let c = run(&mk(1), &[(sp, nal)], None, &Refs, DecodeMode::SliceBased).unwrap();
    let w = c.slices[0].pred_weights.unwrap();
    assert_eq!(w.weight_factors[1].luma_weight[0], -7);
    assert_eq!(w.weight_factors[0].luma_weight[0], 2, "list 0 flag 0 → default 1 << 1");
}

#[test]
fn mixed_slice_types_and_consistency() {
    let pic = make_pic(|pic, _, _| pic.ReferenceFrames[0] = ref_pic(7, 1, SHORT, 0, 0));
    let list = [ref_pic(7, 1, SHORT, 0, 0)];
    let p = build_slice(Spec { start_code: true, ..Default::default() });
    let b = build_slice(Spec { slice_type: 1, first_mb: 4, ..Default::default() });
    let c = run(&pic, &[(slice_params(0, 0, &list, &[]), p.clone()), (slice_params(0, 0, &list, &list), b)], None, &Refs, DecodeMode::SliceBased).unwrap();
    // P and B slices mixed: both flags, as GStreamer sends them.
    assert_eq!(c.decode_params.flags, v4l2::V4L2_H264_DECODE_PARAM_FLAG_PFRAME | v4l2::V4L2_H264_DECODE_PARAM_FLAG_BFRAME);
    assert_eq!(super::slice_type_flags(&c.parsed[..1]), v4l2::V4L2_H264_DECODE_PARAM_FLAG_PFRAME, "slice-based requests: the first slice's P only");
    assert_eq!(c.slices.len(), 2);
    assert_eq!(c.slices[1].slice_params.first_mb_in_slice, 4);
    assert_eq!(c.slices[1].slice_params.slice_type, v4l2::V4L2_H264_SLICE_TYPE_B as u8);

    let other_frame = build_slice(Spec { frame_num: 3, first_mb: 4, ..Default::default() });
    let err =
        run(&pic, &[(slice_params(0, 0, &list, &[]), p), (slice_params(0, 0, &list, &[]), other_frame)], None, &Refs, DecodeMode::FrameBased).unwrap_err();
    assert_eq!(err, CodecError::InconsistentSlices { slice: 1, what: "frame_num" });
}

#[test]
fn slice_nal_strips_start_codes() {
    assert_eq!(slice_nal(&[0, 0, 1, 0x65, 0x88]).unwrap(), &[0x65, 0x88]);
    assert_eq!(slice_nal(&[0, 0, 0, 1, 0x41, 0x9a]).unwrap(), &[0x41, 0x9a]);
    assert_eq!(slice_nal(&[0x41, 0x9a]).unwrap(), &[0x41, 0x9a]);
    assert!(matches!(slice_nal(&[0, 0, 1]), Err(CodecError::BadNal(_))));
    assert!(matches!(slice_nal(&[0, 1, 0x41]), Err(CodecError::BadNal(_))));
    assert!(slice_nal(&[]).is_err());
    assert_eq!(ANNEX_B_START_CODE, [0, 0, 1]);
}

#[test]
fn garbage_and_truncated_slices_are_errors() {
    let pic = make_pic(|pic, _, _| pic.ReferenceFrames[0] = ref_pic(7, 1, SHORT, 0, 0));
    let list = [ref_pic(7, 1, SHORT, 0, 0)];
    let good = build_slice(Spec::default());
    assert!(run(&pic, &[(slice_params(0, 0, &list, &[]), good.clone())], None, &Refs, DecodeMode::SliceBased).is_ok());
    // Header is 8 + 1 + 3 + 1 + 4 + 4 + 1 + 1 + 1 + 5 = 29 bits: any cut inside it fails.
    for len in 0..4 {
        let err = run(&pic, &[(slice_params(0, 0, &list, &[]), good[..len].to_vec())], None, &Refs, DecodeMode::SliceBased).unwrap_err();
        assert!(matches!(err, CodecError::Slice { index: 0, .. }), "{len}: {err:?}");
    }
    let err = run(&pic, &[(slice_params(0, 0, &list, &[]), vec![0x67, 0x42])], None, &Refs, DecodeMode::FrameBased).unwrap_err();
    assert_eq!(err, CodecError::Slice { index: 0, error: ParseError::UnsupportedNalType(7) });
    assert!(err.to_string().contains("slice 0"));

    // Random bytes and random VA parameters: errors or results, never panics.
    let mut s = 0x1234_5678_9abc_def1u64;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    for i in 0..3000 {
        let r = next();
        let pic = make_pic(|pic, sb, pb| {
            sb.set_chroma_format_idc((r % 4) as u32);
            sb.set_frame_mbs_only_flag(((r >> 2) & 1) as u32);
            sb.set_log2_max_frame_num_minus4(((r >> 3) % 16) as u32);
            sb.set_pic_order_cnt_type(((r >> 7) % 4) as u32);
            sb.set_log2_max_pic_order_cnt_lsb_minus4(((r >> 9) % 16) as u32);
            sb.set_residual_colour_transform_flag(((r >> 13) & 1) as u32);
            pb.set_entropy_coding_mode_flag(((r >> 14) & 1) as u32);
            pb.set_weighted_pred_flag(((r >> 15) & 1) as u32);
            pb.set_weighted_bipred_idc(((r >> 16) % 4) as u32);
            pb.set_pic_order_present_flag(((r >> 18) & 1) as u32);
            pb.set_deblocking_filter_control_present_flag(((r >> 19) & 1) as u32);
            pic.num_slice_groups_minus1 = ((r >> 20) % 9) as u8;
            pic.slice_group_map_type = ((r >> 24) % 7) as u8;
            pic.picture_height_in_mbs_minus1 = (r >> 27) as u16;
            pic.picture_width_in_mbs_minus1 = (r >> 43) as u16;
            pic.bit_depth_luma_minus8 = ((r >> 59) % 8) as u8;
            for (k, f) in pic.ReferenceFrames.iter_mut().enumerate() {
                let q = next();
                *f = ref_pic((q % 60) as u32, (q >> 8) as u32 % 70000, (q >> 32) as u32 & 0x1f, q as i32, (q >> 16) as i32);
                if k > (r % 17) as usize {
                    *f = invalid_pic();
                }
            }
        });
        let len = (next() % 48) as usize;
        let mut data: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        if let Some(b) = data.first_mut() {
            *b = [0x65, 0x41, 0x01, 0x21, *b][i % 5];
        }
        let q = next();
        let mut sp = va::VASliceParameterBufferH264 {
            num_ref_idx_l0_active_minus1: (q % 40) as u8,
            num_ref_idx_l1_active_minus1: ((q >> 8) % 40) as u8,
            luma_log2_weight_denom: ((q >> 16) % 12) as u8,
            chroma_log2_weight_denom: ((q >> 20) % 12) as u8,
            luma_weight_l0_flag: ((q >> 24) & 1) as u8,
            ..Default::default()
        };
        for (k, e) in sp.RefPicList0.iter_mut().chain(sp.RefPicList1.iter_mut()).enumerate() {
            *e = if (q >> (k % 64)) & 1 == 1 { ref_pic((k % 60) as u32, 0, SHORT, 0, 0) } else { invalid_pic() };
        }
        let inputs = [SliceInput { params: &sp, data: &data }];
        let mut iq = va::VAIQMatrixBufferH264::default();
        iq.ScalingList4x4[0][0] = q as u8;
        let input = PictureInput {
            profile: [va::VAProfileH264Main, va::VAProfileH264High, va::VAProfileH264ConstrainedBaseline][i % 3],
            pic: &pic,
            iq: (i % 2 == 0).then_some(&iq),
            slices: &inputs,
        };
        let mode = if i % 2 == 0 { DecodeMode::SliceBased } else { DecodeMode::FrameBased };
        if let Ok(c) = translate(&input, &Refs, mode) {
            assert_eq!(c.parsed.len(), 1);
            for e in c.decode_params.dpb.iter().filter(|e| e.flags != 0) {
                assert_eq!(e.reference_ts % 1000, 0);
            }
        }
    }
}
