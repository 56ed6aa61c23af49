//! The simulated HEVC decoder core: checks each request's controls against
//! its own parse of the slices and its own POC/DPB model, rebuilds
//! VPS/SPS/PPS and the slices' reference picture sets from the controls,
//! and decodes with libavcodec.
use super::header::*;
use super::uapi::*;
use crate::bits::split_annexb;
use crate::codec::{Job, Pixels};
use crate::uapi::*;
use std::mem::size_of;

struct CurPic {
    syn: Syntax,
    sm: Option<v4l2_ctrl_hevc_scaling_matrix>,
    dp: v4l2_ctrl_hevc_decode_params,
    poc: i32,
    ts: u64,
    first: Slice,
    last_independent: Slice,
    slices: Vec<(Vec<u8>, Slice)>,
}

#[derive(Default)]
pub struct Engine {
    pub frame_based: bool,
    cur: Option<CurPic>,
    /// PicOrderCntVal of the previous TemporalId-0 picture (8.3.1)
    prev_tid0_poc: Option<i32>,
    /// (CAPTURE timestamp, POC) of every decoded picture
    decoded: Vec<(u64, i32)>,
    pub pictures: u64,
    pub warnings: Vec<String>,
}

fn diff<T: PartialEq + std::fmt::Debug>(errs: &mut Vec<String>, field: &str, expected: T, got: T) {
    if expected != got {
        errs.push(format!("{field}: expected {expected:?}, got {got:?}"));
    }
}

fn flag(v: u64, f: u32) -> bool {
    v & f as u64 != 0
}

impl Engine {
    pub fn new(frame_based: bool) -> Self {
        Engine { frame_based, ..Default::default() }
    }

    pub fn has_pending(&self) -> bool {
        self.cur.is_some()
    }

    pub fn drop_picture(&mut self) {
        self.cur = None;
    }

    /// POC of a picture (8.3.1) and the state update it implies.
    fn compute_poc(&mut self, h: &Slice, log2_lsb: u32) -> i32 {
        let max = 1i32 << log2_lsb;
        let no_rasl_output = is_idr(h.nal_type) || (16..=18).contains(&h.nal_type) || self.prev_tid0_poc.is_none();
        let msb = if is_irap(h.nal_type) && no_rasl_output {
            0
        } else {
            let prev = self.prev_tid0_poc.unwrap_or(0);
            let prev_lsb = prev & (max - 1);
            let prev_msb = prev - prev_lsb;
            let lsb = h.poc_lsb as i32;
            if lsb < prev_lsb && prev_lsb - lsb >= max / 2 {
                prev_msb + max
            } else if lsb > prev_lsb && lsb - prev_lsb > max / 2 {
                prev_msb - max
            } else {
                prev_msb
            }
        };
        let poc = msb + h.poc_lsb as i32;
        let sub_layer_non_ref = h.nal_type <= 14 && h.nal_type % 2 == 0;
        if h.tid_plus1 == 1 && !(6..=9).contains(&h.nal_type) && !sub_layer_non_ref {
            self.prev_tid0_poc = Some(poc);
        }
        poc
    }

    pub fn run(&mut self, job: &Job, px: &mut dyn Pixels) -> (Vec<String>, bool) {
        let mut errs = Vec::new();
        let annexb = job.ctrls.menu(CID_HEVC_START_CODE) == Some(1);
        let sps: Option<v4l2_ctrl_hevc_sps> = job.ctrls.get_struct(CID_HEVC_SPS);
        let pps: Option<v4l2_ctrl_hevc_pps> = job.ctrls.get_struct(CID_HEVC_PPS);
        let dp: Option<v4l2_ctrl_hevc_decode_params> = job.ctrls.get_struct(CID_HEVC_DECODE_PARAMS);
        let sm: Option<v4l2_ctrl_hevc_scaling_matrix> = job.ctrls.get_struct(CID_HEVC_SCALING_MATRIX);
        let (Some(sps), Some(pps), Some(dp)) = (sps, pps, dp) else {
            errs.push("request: SPS, PPS or DECODE_PARAMS control never set".into());
            return (errs, true);
        };
        let nals: Vec<&[u8]> = if annexb {
            if !job.data.starts_with(&[0, 0, 1]) && !job.data.starts_with(&[0, 0, 0, 1]) {
                errs.push("bitstream: START_CODE_ANNEX_B selected but OUTPUT buffer does not start with 00 00 01".into());
            }
            split_annexb(job.data)
        } else {
            if job.data.starts_with(&[0, 0, 1]) || job.data.starts_with(&[0, 0, 0, 1]) {
                errs.push("bitstream: START_CODE_NONE selected but OUTPUT buffer starts with a start code".into());
            }
            vec![job.data]
        };
        let slices: Vec<&[u8]> = nals.into_iter().filter(|n| n.len() >= 2 && ((n[0] >> 1) & 0x3f) < 32).collect();
        if slices.is_empty() {
            errs.push("bitstream: no coded slice segment NAL unit in OUTPUT buffer".into());
            return (errs, !job.hold);
        }
        if sps.pic_width_in_luma_samples as usize > job.cap_width || sps.pic_height_in_luma_samples as usize > job.cap_height {
            errs.push(format!(
                "sps: picture size {}x{} larger than CAPTURE format {}x{}",
                sps.pic_width_in_luma_samples, sps.pic_height_in_luma_samples, job.cap_width, job.cap_height
            ));
            return (errs, true);
        }
        if self.frame_based {
            self.cur = None;
        }
        let syn = Syntax {
            sps,
            pps,
            num_pic_total_curr: dp.num_poc_st_curr_before as u32 + dp.num_poc_st_curr_after as u32 + dp.num_poc_lt_curr as u32,
            num_delta_pocs_ref: dp.num_delta_pocs_of_ref_rps_idx as u32,
        };
        let slice_params: Vec<v4l2_ctrl_hevc_slice_params> = if self.frame_based {
            Vec::new()
        } else {
            match job.ctrls.get(CID_HEVC_SLICE_PARAMS) {
                Some(b) => b
                    .chunks_exact(size_of::<v4l2_ctrl_hevc_slice_params>())
                    .map(|c| {
                        let mut v = crate::ctrls::CtrlValues::default();
                        v.set(0, c.to_vec());
                        v.get_struct(0).unwrap()
                    })
                    .collect(),
                None => Vec::new(),
            }
        };
        if !self.frame_based && slice_params.len() != slices.len() {
            errs.push(format!("request: {} slice NAL unit(s) but {} SLICE_PARAMS element(s)", slices.len(), slice_params.len()));
        }
        let entry_points: Vec<u32> = job
            .ctrls
            .get(CID_HEVC_ENTRY_POINT_OFFSETS)
            .map(|b| b.chunks_exact(4).map(|c| u32::from_ne_bytes([c[0], c[1], c[2], c[3]])).collect())
            .unwrap_or_default();
        let mut ep_used = 0usize;
        for (i, s) in slices.iter().enumerate() {
            let prev = self.cur.as_ref().map(|c| c.last_independent.clone());
            let h = match parse_slice(s, &syn, prev.as_ref()) {
                Ok(h) => h,
                Err(_) => {
                    errs.push("bitstream: slice header cannot be parsed with the SPS/PPS/DECODE_PARAMS controls".into());
                    continue;
                }
            };
            diff(&mut errs, "pps.pic_parameter_set_id (slice header)", h.pps_id, pps.pic_parameter_set_id as u32);
            if h.first_in_pic {
                if self.cur.is_some() {
                    // slice-based: a new picture while one is held
                    errs.push("slice: first slice of a new picture while the previous one was held (HOLD_CAPTURE_BUF) with the same timestamp".into());
                    let mut e = self.finish(px);
                    errs.append(&mut e);
                }
                let poc = self.compute_poc(&h, sps.log2_max_pic_order_cnt_lsb_minus4 as u32 + 4);
                self.check_decode_params(&mut errs, &h, poc, &dp, job);
                self.cur = Some(CurPic { syn, sm, dp, poc, ts: job.out_ts, first: h.clone(), last_independent: h.clone(), slices: Vec::new() });
            } else {
                let Some(c) = self.cur.as_ref() else {
                    errs.push("slice: not the first slice of a picture, but no picture was started".into());
                    continue;
                };
                if i == 0 {
                    // later requests of a slice-based picture repeat its frame-level controls
                    if crate::ctrls::struct_bytes(&c.dp) != crate::ctrls::struct_bytes(&dp) {
                        errs.push("decode_params: differs from the first request of the picture".into());
                    }
                    if crate::ctrls::struct_bytes(&c.syn.pps) != crate::ctrls::struct_bytes(&pps)
                        || crate::ctrls::struct_bytes(&c.syn.sps) != crate::ctrls::struct_bytes(&sps)
                    {
                        errs.push("sps/pps: differ from the first request of the picture".into());
                    }
                }
                if h.nal_type != c.first.nal_type {
                    errs.push(format!("slice: nal_unit_type {} differs from the picture's {}", h.nal_type, c.first.nal_type));
                }
            }
            let cur = self.cur.as_mut().unwrap();
            if !self.frame_based {
                if let Some(sp) = slice_params.get(i) {
                    check_slice_params(&mut errs, i, &h, sp, cur.poc, s.len(), annexb, &dp);
                    let n = h.entry_points.len();
                    if n > 0 {
                        match entry_points.get(ep_used..ep_used + n) {
                            Some(got) if got == h.entry_points.as_slice() => {}
                            got => errs.push(format!("entry_point_offsets: expected {:?}, got {:?}", h.entry_points, got)),
                        }
                        ep_used += n;
                    }
                }
            }
            if !h.dependent {
                cur.last_independent = h.clone();
            }
            cur.slices.push((s.to_vec(), h));
        }
        if self.frame_based || !job.hold {
            let mut e = self.finish(px);
            errs.append(&mut e);
            (errs, true)
        } else {
            (errs, false)
        }
    }

    fn check_decode_params(&self, errs: &mut Vec<String>, h: &Slice, poc: i32, dp: &v4l2_ctrl_hevc_decode_params, job: &Job) {
        diff(errs, "decode_params.pic_order_cnt_val", poc, dp.pic_order_cnt_val);
        diff(errs, "decode_params.flags.IRAP_PIC", is_irap(h.nal_type), flag(dp.flags, V4L2_HEVC_DECODE_PARAM_FLAG_IRAP_PIC));
        diff(errs, "decode_params.flags.IDR_PIC", is_idr(h.nal_type), flag(dp.flags, V4L2_HEVC_DECODE_PARAM_FLAG_IDR_PIC));
        diff(errs, "decode_params.flags.NO_OUTPUT_OF_PRIOR", h.no_output_of_prior, flag(dp.flags, V4L2_HEVC_DECODE_PARAM_FLAG_NO_OUTPUT_OF_PRIOR));
        diff(errs, "decode_params.short_term_ref_pic_set_size", h.st_rps_bits, dp.short_term_ref_pic_set_size as u32);
        diff(errs, "decode_params.long_term_ref_pic_set_size", h.lt_bits, dp.long_term_ref_pic_set_size as u32);
        if h.num_delta_pocs_parsed.is_none() && dp.num_delta_pocs_of_ref_rps_idx != 0 {
            errs.push(format!(
                "decode_params.num_delta_pocs_of_ref_rps_idx: expected 0 (no inter-predicted RPS in the slice header), got {}",
                dp.num_delta_pocs_of_ref_rps_idx
            ));
        }
        let n = dp.num_active_dpb_entries as usize;
        if n > 16 {
            errs.push("decode_params.num_active_dpb_entries > 16".into());
            return;
        }
        if is_idr(h.nal_type) && n > 0 {
            errs.push(format!("decode_params.num_active_dpb_entries: {n} on an IDR picture"));
        }
        for (i, e) in dp.dpb[..n].iter().enumerate() {
            match self.decoded.iter().rev().find(|d| d.0 == e.timestamp) {
                None => errs.push(format!("decode_params.dpb[{i}]: timestamp {} is not a decoded picture", e.timestamp)),
                Some(d) => diff(errs, &format!("decode_params.dpb[{i}].pic_order_cnt_val"), d.1, e.pic_order_cnt_val),
            }
            if !job.cap_ts.iter().any(|c| c.1 == e.timestamp) {
                errs.push(format!("decode_params.dpb[{i}]: no CAPTURE buffer holds timestamp {}", e.timestamp));
            }
        }
        let lists: [(&str, usize, &[u8; 16]); 3] = [
            ("poc_st_curr_before", dp.num_poc_st_curr_before as usize, &dp.poc_st_curr_before),
            ("poc_st_curr_after", dp.num_poc_st_curr_after as usize, &dp.poc_st_curr_after),
            ("poc_lt_curr", dp.num_poc_lt_curr as usize, &dp.poc_lt_curr),
        ];
        let mut pocs: [Vec<i32>; 3] = Default::default();
        for (k, (name, count, idx)) in lists.iter().enumerate() {
            if *count > 16 {
                errs.push(format!("decode_params.num_{name} > 16"));
                continue;
            }
            for (j, &d) in idx[..*count].iter().enumerate() {
                if d as usize >= n {
                    errs.push(format!("decode_params.{name}[{j}]: {d} is not an active DPB entry"));
                    continue;
                }
                let e = &dp.dpb[d as usize];
                let lt = e.flags & V4L2_HEVC_DPB_ENTRY_LONG_TERM_REFERENCE as u8 != 0;
                if (k == 2) != lt {
                    errs.push(format!("decode_params.{name}[{j}]: DPB entry {d} long-term flag is {lt}"));
                }
                pocs[k].push(e.pic_order_cnt_val);
            }
        }
        // RefPicSetStCurrBefore in decreasing, StCurrAfter in increasing POC order (8.3.2)
        if pocs[0].windows(2).any(|w| w[0] <= w[1]) || pocs[0].iter().any(|&p| p >= poc) {
            errs.push(format!("decode_params.poc_st_curr_before: POCs {:?} are not before {poc} in decreasing order", pocs[0]));
        }
        if pocs[1].windows(2).any(|w| w[0] >= w[1]) || pocs[1].iter().any(|&p| p <= poc) {
            errs.push(format!("decode_params.poc_st_curr_after: POCs {:?} are not after {poc} in increasing order", pocs[1]));
        }
        // a slice-coded explicit RPS names its pictures: compare exactly
        if let Some(rps) = &h.explicit_rps {
            let mut before: Vec<i32> = rps.iter().filter(|r| r.1 && r.0 < 0).map(|r| poc + r.0).collect();
            let mut after: Vec<i32> = rps.iter().filter(|r| r.1 && r.0 > 0).map(|r| poc + r.0).collect();
            before.sort_by_key(|p| std::cmp::Reverse(*p));
            after.sort();
            diff(errs, "decode_params.poc_st_curr_before (POCs)", before, pocs[0].clone());
            diff(errs, "decode_params.poc_st_curr_after (POCs)", after, pocs[1].clone());
            for (p, _) in rps {
                let want = poc + p;
                if !dp.dpb[..n].iter().any(|e| e.pic_order_cnt_val == want && e.flags & V4L2_HEVC_DPB_ENTRY_LONG_TERM_REFERENCE as u8 == 0) {
                    errs.push(format!("decode_params.dpb: the slice's RPS names POC {want}, not in the DPB"));
                }
            }
        }
    }

    /// Decodes the pending picture and records it.
    pub fn finish(&mut self, px: &mut dyn Pixels) -> Vec<String> {
        let mut errs = Vec::new();
        let Some(cur) = self.cur.take() else { return errs };
        let dp = &cur.dp;
        let n = (dp.num_active_dpb_entries as usize).min(16);
        let used = |i: usize, lists: &[(&[u8; 16], u8)]| lists.iter().any(|(l, c)| l[..(*c as usize).min(16)].contains(&(i as u8)));
        let curr = [(&dp.poc_st_curr_before, dp.num_poc_st_curr_before), (&dp.poc_st_curr_after, dp.num_poc_st_curr_after)];
        let lt_curr = [(&dp.poc_lt_curr, dp.num_poc_lt_curr)];
        let mut refs = RefSet { short: Vec::new(), long: Vec::new() };
        for (i, e) in dp.dpb[..n].iter().enumerate() {
            if e.flags & V4L2_HEVC_DPB_ENTRY_LONG_TERM_REFERENCE as u8 != 0 {
                refs.long.push((e.pic_order_cnt_val, used(i, &lt_curr)));
            } else if e.pic_order_cnt_val != cur.poc {
                refs.short.push((e.pic_order_cnt_val, used(i, &curr)));
            }
        }
        let mut au = Vec::new();
        write_parameter_sets(&cur.syn, cur.sm.as_ref(), &mut au);
        for (nal, h) in &cur.slices {
            match rewrite_slice(nal, h, &cur.syn, cur.poc, &refs) {
                Ok(s) => {
                    // 3-byte start codes between the slices of a picture, as
                    // encoders write them: libavcodec decodes a tiny slice
                    // (a few bytes of CABAC data) differently when the
                    // zero_byte of a 4-byte start code follows it
                    au.extend_from_slice(&[0, 0, 1]);
                    au.extend_from_slice(&s);
                }
                Err(_) => errs.push("bitstream: slice cannot be rewritten".into()),
            }
        }
        errs.extend(px.decode(&au, true));
        self.decoded.retain(|d| d.0 != cur.ts);
        self.decoded.push((cur.ts, cur.poc));
        if self.decoded.len() > 64 {
            self.decoded.remove(0);
        }
        self.pictures += 1;
        errs
    }
}

#[allow(clippy::too_many_arguments)]
fn check_slice_params(
    errs: &mut Vec<String>,
    i: usize,
    h: &Slice,
    sp: &v4l2_ctrl_hevc_slice_params,
    poc: i32,
    nal_len: usize,
    annexb: bool,
    dp: &v4l2_ctrl_hevc_decode_params,
) {
    let f = |n: &str| format!("slice_params[{i}].{n}");
    let sc = if annexb { 3 } else { 0 };
    diff(errs, &f("bit_size"), ((nal_len + sc) * 8) as u32, sp.bit_size);
    // offset of slice_segment_data() without the header's emulation
    // prevention bytes (cedrus skips it with its EPB-removing bit reader)
    diff(errs, &f("data_byte_offset"), (h.data_offset + sc) as u32, sp.data_byte_offset);
    diff(errs, &f("num_entry_point_offsets"), h.entry_points.len() as u32, sp.num_entry_point_offsets);
    diff(errs, &f("nal_unit_type"), h.nal_type, sp.nal_unit_type);
    diff(errs, &f("nuh_temporal_id_plus1"), h.tid_plus1, sp.nuh_temporal_id_plus1);
    diff(errs, &f("slice_type"), h.slice_type, sp.slice_type);
    diff(errs, &f("colour_plane_id"), h.colour_plane, sp.colour_plane_id);
    diff(errs, &f("slice_pic_order_cnt"), poc, sp.slice_pic_order_cnt);
    diff(errs, &f("slice_segment_addr"), h.address, sp.slice_segment_addr);
    diff(errs, &f("slice_qp_delta"), h.qp_delta, sp.slice_qp_delta as i32);
    diff(errs, &f("slice_cb_qp_offset"), h.cb_off, sp.slice_cb_qp_offset as i32);
    diff(errs, &f("slice_cr_qp_offset"), h.cr_off, sp.slice_cr_qp_offset as i32);
    diff(errs, &f("slice_beta_offset_div2"), h.beta, sp.slice_beta_offset_div2 as i32);
    diff(errs, &f("slice_tc_offset_div2"), h.tc, sp.slice_tc_offset_div2 as i32);
    diff(errs, &f("short_term_ref_pic_set_size"), h.st_rps_bits, sp.short_term_ref_pic_set_size as u32);
    diff(errs, &f("long_term_ref_pic_set_size"), h.lt_bits, sp.long_term_ref_pic_set_size as u32);
    let fl = sp.flags;
    diff(errs, &f("flags.SAO_LUMA"), h.sao_luma, flag(fl, V4L2_HEVC_SLICE_PARAMS_FLAG_SLICE_SAO_LUMA));
    diff(errs, &f("flags.SAO_CHROMA"), h.sao_chroma, flag(fl, V4L2_HEVC_SLICE_PARAMS_FLAG_SLICE_SAO_CHROMA));
    diff(errs, &f("flags.TEMPORAL_MVP"), h.tmvp, flag(fl, V4L2_HEVC_SLICE_PARAMS_FLAG_SLICE_TEMPORAL_MVP_ENABLED));
    diff(errs, &f("flags.DEBLOCKING_DISABLED"), h.dbf_disabled, flag(fl, V4L2_HEVC_SLICE_PARAMS_FLAG_SLICE_DEBLOCKING_FILTER_DISABLED));
    diff(errs, &f("flags.LOOP_FILTER_ACROSS_SLICES"), h.lf_across, flag(fl, V4L2_HEVC_SLICE_PARAMS_FLAG_SLICE_LOOP_FILTER_ACROSS_SLICES_ENABLED));
    diff(errs, &f("flags.DEPENDENT_SLICE_SEGMENT"), h.dependent, flag(fl, V4L2_HEVC_SLICE_PARAMS_FLAG_DEPENDENT_SLICE_SEGMENT));
    if h.slice_type == 2 {
        return;
    }
    let b = h.slice_type == 0;
    diff(errs, &f("num_ref_idx_l0_active_minus1"), h.nref[0], sp.num_ref_idx_l0_active_minus1 as u32);
    if b {
        diff(errs, &f("num_ref_idx_l1_active_minus1"), h.nref[1], sp.num_ref_idx_l1_active_minus1 as u32);
        diff(errs, &f("flags.MVD_L1_ZERO"), h.mvd_l1_zero, flag(fl, V4L2_HEVC_SLICE_PARAMS_FLAG_MVD_L1_ZERO));
    }
    diff(errs, &f("flags.CABAC_INIT"), h.cabac_init, flag(fl, V4L2_HEVC_SLICE_PARAMS_FLAG_CABAC_INIT));
    if h.tmvp {
        diff(errs, &f("flags.COLLOCATED_FROM_L0"), h.col_from_l0, flag(fl, V4L2_HEVC_SLICE_PARAMS_FLAG_COLLOCATED_FROM_L0));
        diff(errs, &f("collocated_ref_idx"), h.col_ref_idx, sp.collocated_ref_idx as u32);
    }
    diff(errs, &f("five_minus_max_num_merge_cand"), h.five_minus_merge, sp.five_minus_max_num_merge_cand as u32);
    // reference lists (8.3.4) from the decode params' current sets
    let set = |l: &[u8; 16], c: u8| l[..(c as usize).min(16)].to_vec();
    let (before, after, lt) = (
        set(&dp.poc_st_curr_before, dp.num_poc_st_curr_before),
        set(&dp.poc_st_curr_after, dp.num_poc_st_curr_after),
        set(&dp.poc_lt_curr, dp.num_poc_lt_curr),
    );
    let total = before.len() + after.len() + lt.len();
    if total == 0 {
        errs.push(format!("slice_params[{i}]: an inter slice but decode_params has no current reference"));
        return;
    }
    for l in 0..if b { 2 } else { 1 } {
        let order: [&Vec<u8>; 3] = if l == 0 { [&before, &after, &lt] } else { [&after, &before, &lt] };
        let n = h.nref[l] as usize + 1;
        let mut temp = Vec::new();
        while temp.len() < n.max(total) {
            for s in order {
                temp.extend_from_slice(s);
            }
        }
        let got = if l == 0 { &sp.ref_idx_l0 } else { &sp.ref_idx_l1 };
        for j in 0..n.min(16) {
            let k = h.list_entries[l].as_ref().map(|e| e[j] as usize).unwrap_or(j);
            let want = temp.get(k).copied().unwrap_or(0xff);
            if got[j] != want {
                errs.push(format!("slice_params[{i}].ref_idx_l{l}[{j}]: expected DPB entry {want}, got {}", got[j]));
            }
        }
    }
    let t = &sp.pred_weight_table;
    if let Some(w) = &h.weights {
        diff(errs, &f("pred_weight_table.luma_log2_weight_denom"), w.luma_denom, t.luma_log2_weight_denom as u32);
        diff(errs, &f("pred_weight_table.delta_chroma_log2_weight_denom"), w.chroma_delta_denom, t.delta_chroma_log2_weight_denom as i32);
        let cdenom = w.luma_denom as i32 + w.chroma_delta_denom;
        for l in 0..if b { 2 } else { 1 } {
            let (dl, lo, dc, co) = if l == 0 {
                (&t.delta_luma_weight_l0, &t.luma_offset_l0, &t.delta_chroma_weight_l0, &t.chroma_offset_l0)
            } else {
                (&t.delta_luma_weight_l1, &t.luma_offset_l1, &t.delta_chroma_weight_l1, &t.chroma_offset_l1)
            };
            for j in 0..=h.nref[l] as usize {
                diff(errs, &format!("slice_params[{i}].pred_weight_table.delta_luma_weight_l{l}[{j}]"), w.luma[l][j].0, dl[j] as i32);
                diff(errs, &format!("slice_params[{i}].pred_weight_table.luma_offset_l{l}[{j}]"), w.luma[l][j].1, lo[j] as i32);
                for k in 0..2 {
                    let (dw, doff) = w.chroma[l][j][k];
                    diff(errs, &format!("slice_params[{i}].pred_weight_table.delta_chroma_weight_l{l}[{j}][{k}]"), dw, dc[j][k] as i32);
                    // ChromaOffset (7-56), clipped to the 8-bit range
                    let weight = (1 << cdenom) + dw;
                    let off = if (dw, doff) == (0, 0) { 0 } else { (128 + doff - ((128 * weight) >> cdenom)).clamp(-128, 127) };
                    diff(errs, &format!("slice_params[{i}].pred_weight_table.chroma_offset_l{l}[{j}][{k}]"), off, co[j][k] as i32);
                }
            }
        }
    }
}
