//! The simulated decoder core: checks the controls of a request against its
//! own parse of the bitstream and its own DPB model, rebuilds SPS/PPS, decodes
//! with libavcodec and writes the picture in the CAPTURE layout.
use super::dpb::{Dpb, Poc, RefPic};
use super::header::*;
use crate::bits::split_annexb;
use crate::codec::{Job, Pixels};
use crate::uapi::*;

struct CurPic {
    sps: v4l2_ctrl_h264_sps,
    pps: v4l2_ctrl_h264_pps,
    sm: Option<v4l2_ctrl_h264_scaling_matrix>,
    /// decode params of the picture's first request: every later request
    /// of the picture (slice-based mode) must carry the same
    dp: v4l2_ctrl_h264_decode_params,
    sh: SliceHeader,
    poc: Poc,
    ts: u64,
    slices: Vec<Vec<u8>>,
    /// requests seen for this picture
    requests: usize,
    /// a P / a B slice among the slices of the picture's first request
    p_seen: bool,
    b_seen: bool,
}

#[derive(Default)]
pub struct Engine {
    /// frame-based decode mode (all slices of a picture per request)
    pub frame_based: bool,
    pub dpb: Dpb,
    cur: Option<CurPic>,
    pub pictures: u64,
    /// notes that are not client errors (logged, no ERROR flag)
    pub warnings: Vec<String>,
}

fn diff<T: PartialEq + std::fmt::Debug>(errs: &mut Vec<String>, field: &str, expected: T, got: T) {
    if expected != got {
        errs.push(format!("{field}: expected {expected:?}, got {got:?}"));
    }
}

impl Engine {
    pub fn new(frame_based: bool) -> Self {
        Engine { frame_based, ..Self::default() }
    }

    /// Forgets the partially received picture (its slices are never decoded).
    pub fn drop_picture(&mut self) {
        self.cur = None;
    }

    /// Whether slices of a picture are pending (slice-based mode).
    pub fn has_pending(&self) -> bool {
        self.cur.is_some()
    }

    /// Runs one request.  Returns (errors, picture_complete).
    pub fn run(&mut self, job: &Job, px: &mut dyn Pixels) -> (Vec<String>, bool) {
        let frame_based = self.frame_based;
        let annexb = job.ctrls.menu(CID_H264_START_CODE) == Some(1);
        let mut errs = Vec::new();
        let sps: Option<v4l2_ctrl_h264_sps> = job.ctrls.get_struct(CID_H264_SPS);
        let pps: Option<v4l2_ctrl_h264_pps> = job.ctrls.get_struct(CID_H264_PPS);
        let dp: Option<v4l2_ctrl_h264_decode_params> = job.ctrls.get_struct(CID_H264_DECODE_PARAMS);
        let sm: Option<v4l2_ctrl_h264_scaling_matrix> = job.ctrls.get_struct(CID_H264_SCALING_MATRIX);
        let (sps, pps, dp) = match (sps, pps, dp) {
            (Some(a), Some(b), Some(c)) => (a, b, c),
            _ => {
                errs.push("request: SPS, PPS or DECODE_PARAMS control never set".into());
                return (errs, true);
            }
        };
        // NAL units of the OUTPUT buffer
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
        let mut slices: Vec<&[u8]> = Vec::new();
        for n in nals {
            if n.is_empty() {
                continue;
            }
            match nal_type(n) {
                1 | 5 => slices.push(n),
                7 => match parse_sps(n) {
                    Ok(s) => check_sps(&mut errs, &s.ctrl, &sps),
                    Err(_) => errs.push("bitstream: unparsable SPS NAL in OUTPUT buffer".into()),
                },
                8 => {
                    let sc = sps;
                    let sp = Sps { ctrl: sc, scaling: None, frame_cropping: None, vui_present: false };
                    if let Ok(p) = parse_pps(n, |_| Some(sp.clone())) {
                        check_pps(&mut errs, &p.ctrl, &pps)
                    }
                }
                _ => {}
            }
        }
        if slices.is_empty() {
            errs.push("bitstream: no slice NAL unit (type 1 or 5) in OUTPUT buffer".into());
            return (errs, !job.hold);
        }
        let (cw, ch) = coded_size(&sps);
        if cw as usize > job.cap_width.max(16) || ch as usize > job.cap_height.max(16) {
            errs.push(format!("sps: coded size {cw}x{ch} larger than CAPTURE format {}x{}", job.cap_width, job.cap_height));
            return (errs, true);
        }
        if frame_based && self.cur.is_some() {
            self.cur = None;
        }
        let mut first = true;
        for s in &slices {
            let sh = match parse_slice_header(s, &sps, &pps) {
                Ok(h) => h,
                Err(_) => {
                    errs.push("bitstream: slice header cannot be parsed with the SPS/PPS controls".into());
                    continue;
                }
            };
            if sh.pps_id != pps.pic_parameter_set_id as u32 {
                errs.push(format!("pps.pic_parameter_set_id: expected {} (slice header), got {}", sh.pps_id, pps.pic_parameter_set_id));
            }
            if pps.seq_parameter_set_id != sps.seq_parameter_set_id {
                errs.push(format!("pps.seq_parameter_set_id: expected {} (sps control), got {}", sps.seq_parameter_set_id, pps.seq_parameter_set_id));
            }
            let held_first_field = self.cur.as_ref().is_some_and(|c| c.sh.field_pic && c.ts == job.out_ts && c.sh.bottom_field != sh.bottom_field);
            if first && held_first_field && sh.field_pic && self.cur.as_ref().is_some_and(|c| c.sh.frame_num == sh.frame_num) {
                // slice-based: the second field of the held first field
                // starts, so the first field is complete
                let mut e = self.finish(px);
                errs.append(&mut e);
            }
            if let Some(c) = self.cur.as_ref() {
                if first {
                    if c.sh.frame_num != sh.frame_num
                        || c.sh.pic_order_cnt_lsb != sh.pic_order_cnt_lsb
                        || c.sh.nal_unit_type != sh.nal_unit_type
                        || c.sh.field_pic != sh.field_pic
                        || c.sh.bottom_field != sh.bottom_field
                    {
                        errs.push("slice: belongs to a new picture but the previous one was held (HOLD_CAPTURE_BUF) with the same timestamp".into());
                    }
                    // Requests 2..N of a picture (slice-based): the frame-level
                    // controls must be the picture's, and right on their own.
                    check_same_picture(&mut errs, c, &sps, &pps, sm.as_ref(), &dp);
                    self.check_decode_params(&mut errs, &sps, &sh, &c.poc, &dp, job);
                }
            } else {
                let poc = self.dpb.compute_poc(&sps, &sh);
                self.check_decode_params(&mut errs, &sps, &sh, &poc, &dp, job);
                self.cur =
                    Some(CurPic { sps, pps, sm, dp, sh: sh.clone(), poc, ts: job.out_ts, slices: Vec::new(), requests: 1, p_seen: false, b_seen: false });
            }
            if !frame_based {
                if let Some(sp) = job.ctrls.get_struct::<v4l2_ctrl_h264_slice_params>(CID_H264_SLICE_PARAMS) {
                    self.check_slice_params(&mut errs, &sps, &pps, &sh, &sp, &dp, job);
                } else {
                    errs.push("request: SLICE_PARAMS control never set (slice-based decoding)".into());
                }
            }
            let cur = self.cur.as_mut().unwrap();
            if first && !cur.slices.is_empty() {
                cur.requests += 1;
            }
            cur.slices.push(s.to_vec());
            if cur.requests == 1 {
                cur.p_seen |= sh.is_p();
                cur.b_seen |= sh.is_b();
            }
            first = false;
        }
        // PFRAME/BFRAME: the slice types of the picture's first request
        // (all slices frame-based, the first slice slice-based): what
        // GStreamer's v4l2codecs leaves in the device, as it sets
        // DECODE_PARAMS with a picture's first request only (the uAPI gives
        // the flags no text)
        if let Some(c) = self.cur.as_ref() {
            let (pf, bf) = (dp.flags & V4L2_H264_DECODE_PARAM_FLAG_PFRAME != 0, dp.flags & V4L2_H264_DECODE_PARAM_FLAG_BFRAME != 0);
            if (pf, bf) != (c.p_seen, c.b_seen) {
                errs.push(format!(
                    "decode_params.flags: PFRAME={pf} BFRAME={bf}, but the slices of the picture's first request have P: {}, B: {}",
                    c.p_seen, c.b_seen
                ));
            }
        }
        if frame_based || !job.hold {
            let mut e = self.finish(px);
            errs.append(&mut e);
            (errs, true)
        } else {
            (errs, false)
        }
    }

    /// Decodes the pending picture into `cap` and updates the DPB model.
    pub fn finish(&mut self, px: &mut dyn Pixels) -> Vec<String> {
        let mut errs = Vec::new();
        let Some(cur) = self.cur.take() else { return errs };
        let mut au = Vec::new();
        write_sps(&cur.sps, &mut au);
        write_pps(&cur.pps, &cur.sps, cur.sm.as_ref(), &mut au);
        for s in &cur.slices {
            au.extend_from_slice(&[0, 0, 0, 1]);
            au.extend_from_slice(s);
        }
        // libavcodec allocates the frame with the first field: a second field
        // completes it without a new picture
        let second_field = self.dpb.is_second_field(&cur.sh, cur.ts);
        errs.extend(px.decode(&au, !second_field));
        for p in self.dpb.finish_picture(&cur.sps, &cur.sh, &cur.poc, cur.ts) {
            errs.push(format!("bitstream: {p}"));
        }
        self.pictures += 1;
        errs
    }

    fn check_decode_params(&self, errs: &mut Vec<String>, sps: &v4l2_ctrl_h264_sps, sh: &SliceHeader, poc: &Poc, dp: &v4l2_ctrl_h264_decode_params, job: &Job) {
        diff(errs, "decode_params.nal_ref_idc", sh.nal_ref_idc as u16, dp.nal_ref_idc);
        diff(errs, "decode_params.frame_num", sh.frame_num as u16, dp.frame_num);
        // a field has the order count of its own parity only
        if !sh.field_pic || !sh.bottom_field {
            diff(errs, "decode_params.top_field_order_cnt", poc.top, dp.top_field_order_cnt);
        }
        if !sh.field_pic || sh.bottom_field {
            diff(errs, "decode_params.bottom_field_order_cnt", poc.bottom, dp.bottom_field_order_cnt);
        }
        if sh.is_idr() {
            diff(errs, "decode_params.idr_pic_id", sh.idr_pic_id as u16, dp.idr_pic_id);
        }
        if sps.pic_order_cnt_type == 0 {
            diff(errs, "decode_params.pic_order_cnt_lsb", sh.pic_order_cnt_lsb as u16, dp.pic_order_cnt_lsb);
            diff(errs, "decode_params.delta_pic_order_cnt_bottom", sh.delta_pic_order_cnt_bottom, dp.delta_pic_order_cnt_bottom);
        }
        if sps.pic_order_cnt_type == 1 {
            diff(errs, "decode_params.delta_pic_order_cnt0", sh.delta_pic_order_cnt[0], dp.delta_pic_order_cnt0);
            diff(errs, "decode_params.delta_pic_order_cnt1", sh.delta_pic_order_cnt[1], dp.delta_pic_order_cnt1);
        }
        if sh.nal_ref_idc != 0 {
            diff(errs, "decode_params.dec_ref_pic_marking_bit_size", sh.dec_ref_pic_marking_bit_size, dp.dec_ref_pic_marking_bit_size);
        }
        diff(errs, "decode_params.pic_order_cnt_bit_size", sh.pic_order_cnt_bit_size, dp.pic_order_cnt_bit_size);
        let f = dp.flags;
        diff(errs, "decode_params.flags.IDR_PIC", sh.is_idr(), f & V4L2_H264_DECODE_PARAM_FLAG_IDR_PIC != 0);
        diff(errs, "decode_params.flags.FIELD_PIC", sh.field_pic, f & V4L2_H264_DECODE_PARAM_FLAG_FIELD_PIC != 0);
        diff(errs, "decode_params.flags.BOTTOM_FIELD", sh.bottom_field, f & V4L2_H264_DECODE_PARAM_FLAG_BOTTOM_FIELD != 0);
        self.check_dpb(errs, sps, sh, dp, job);
    }

    fn check_dpb(&self, errs: &mut Vec<String>, sps: &v4l2_ctrl_h264_sps, sh: &SliceHeader, dp: &v4l2_ctrl_h264_decode_params, job: &Job) {
        let mfn = Dpb::max_frame_num(sps);
        // IDR pictures reference nothing: the model is cleared by the IDR
        // (the second field of an IDR picture has its first field).
        let second = self.dpb.is_second_field(sh, job.out_ts);
        let refs: Vec<RefPic> = if sh.is_idr() && !second { Vec::new() } else { self.dpb.refs.clone() };
        let mut seen = vec![false; refs.len()];
        for (i, e) in dp.dpb.iter().enumerate() {
            if e.flags & V4L2_H264_DPB_ENTRY_FLAG_ACTIVE == 0 {
                continue;
            }
            let name = format!("decode_params.dpb[{i}]");
            if e.flags & V4L2_H264_DPB_ENTRY_FLAG_VALID == 0 {
                errs.push(format!("{name}.flags: ACTIVE without VALID"));
            }
            let Some(k) = refs.iter().position(|r| r.ts == e.reference_ts) else {
                let holder = job.cap_ts.iter().find(|c| c.1 == e.reference_ts);
                errs.push(format!(
                    "{name}: reference_ts {} is not a reference picture ({}) [frame_num {} poc {}/{}]",
                    e.reference_ts,
                    if holder.is_some() { "stale: picture no longer used for reference" } else { "no CAPTURE buffer holds that timestamp" },
                    e.frame_num,
                    e.top_field_order_cnt,
                    e.bottom_field_order_cnt
                ));
                continue;
            };
            if seen[k] {
                errs.push(format!("{name}: reference_ts {} listed twice", e.reference_ts));
            }
            seen[k] = true;
            let r = &refs[k];
            // (a second field's first field is in the destination buffer)
            if r.ts != job.out_ts && !job.cap_ts.iter().any(|c| c.1 == r.ts) {
                errs.push(format!("{name}: reference_ts {}: no CAPTURE buffer holds that picture any more (overwritten or re-queued and reused)", r.ts));
            }
            let lt = r.long_term.is_some();
            diff(errs, &format!("{name}.flags.LONG_TERM"), lt, e.flags & V4L2_H264_DPB_ENTRY_FLAG_LONG_TERM != 0);
            diff(errs, &format!("{name}.fields"), r.fields, e.fields);
            let fnum = r.long_term.unwrap_or(r.frame_num);
            diff(errs, &format!("{name}.frame_num"), fnum as u16, e.frame_num);
            let n = Dpb::pic_num(r, sh.frame_num, mfn);
            if !sh.field_pic {
                diff(errs, &format!("{name}.pic_num"), n, e.pic_num as i32);
            } else if e.pic_num as i32 != 2 * n && e.pic_num as i32 != 2 * n + 1 {
                // The entry stands for a frame store, PicNum is per field:
                // accept the PicNum of either parity (2n, 2n + 1).
                errs.push(format!("{name}.pic_num: expected {} or {} (PicNum of a field), got {}", 2 * n, 2 * n + 1, e.pic_num as i32));
            }
            if r.fields & V4L2_H264_TOP_FIELD_REF as u8 != 0 {
                diff(errs, &format!("{name}.top_field_order_cnt"), r.top_poc, e.top_field_order_cnt);
            }
            if r.fields & V4L2_H264_BOTTOM_FIELD_REF as u8 != 0 {
                diff(errs, &format!("{name}.bottom_field_order_cnt"), r.bottom_poc, e.bottom_field_order_cnt);
            }
        }
        for (k, r) in refs.iter().enumerate() {
            if !seen[k] {
                errs.push(format!(
                    "decode_params.dpb: missing reference picture ts {} frame_num {} poc {}/{}{}",
                    r.ts,
                    r.frame_num,
                    r.top_poc,
                    r.bottom_poc,
                    if r.long_term.is_some() { " (long-term)" } else { "" }
                ));
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn check_slice_params(
        &self,
        errs: &mut Vec<String>,
        sps: &v4l2_ctrl_h264_sps,
        pps: &v4l2_ctrl_h264_pps,
        sh: &SliceHeader,
        sp: &v4l2_ctrl_h264_slice_params,
        dp: &v4l2_ctrl_h264_decode_params,
        job: &Job,
    ) {
        // "Offset in bits to slice_data() from the beginning of this slice":
        // counted from the NAL unit header or from slice_header(); accept both.
        if sp.header_bit_size != sh.header_bit_size && sp.header_bit_size != sh.header_bit_size + 8 {
            errs.push(format!(
                "slice_params.header_bit_size: expected {} (or {} incl. NAL header), got {}",
                sh.header_bit_size,
                sh.header_bit_size + 8,
                sp.header_bit_size
            ));
        }
        diff(errs, "slice_params.first_mb_in_slice", sh.first_mb_in_slice, sp.first_mb_in_slice);
        diff(errs, "slice_params.slice_type", sh.slice_type, sp.slice_type);
        diff(errs, "slice_params.colour_plane_id", sh.colour_plane_id, sp.colour_plane_id);
        diff(errs, "slice_params.redundant_pic_cnt", sh.redundant_pic_cnt as u8, sp.redundant_pic_cnt);
        if !sh.is_i() && pps.flags & V4L2_H264_PPS_FLAG_ENTROPY_CODING_MODE as u16 != 0 {
            diff(errs, "slice_params.cabac_init_idc", sh.cabac_init_idc as u8, sp.cabac_init_idc);
        }
        diff(errs, "slice_params.slice_qp_delta", sh.slice_qp_delta as i8, sp.slice_qp_delta);
        diff(errs, "slice_params.slice_qs_delta", sh.slice_qs_delta as i8, sp.slice_qs_delta);
        diff(errs, "slice_params.disable_deblocking_filter_idc", sh.disable_deblocking_filter_idc as u8, sp.disable_deblocking_filter_idc);
        diff(errs, "slice_params.slice_alpha_c0_offset_div2", sh.slice_alpha_c0_offset_div2 as i8, sp.slice_alpha_c0_offset_div2);
        diff(errs, "slice_params.slice_beta_offset_div2", sh.slice_beta_offset_div2 as i8, sp.slice_beta_offset_div2);
        if !sh.is_i() {
            diff(errs, "slice_params.num_ref_idx_l0_active_minus1", sh.num_ref_idx_l0_active_minus1 as u8, sp.num_ref_idx_l0_active_minus1);
        }
        if sh.is_b() {
            diff(errs, "slice_params.num_ref_idx_l1_active_minus1", sh.num_ref_idx_l1_active_minus1 as u8, sp.num_ref_idx_l1_active_minus1);
            diff(errs, "slice_params.flags.DIRECT_SPATIAL_MV_PRED", sh.direct_spatial_mv_pred, sp.flags & V4L2_H264_SLICE_FLAG_DIRECT_SPATIAL_MV_PRED != 0);
        }
        if sh.slice_type == 3 {
            diff(errs, "slice_params.flags.SP_FOR_SWITCH", sh.sp_for_switch, sp.flags & V4L2_H264_SLICE_FLAG_SP_FOR_SWITCH != 0);
        }
        if let Some(pw) = &sh.pred_weights {
            match job.ctrls.get_struct::<v4l2_ctrl_h264_pred_weights>(CID_H264_PRED_WEIGHTS) {
                None => errs.push("pred_weights: required by the PPS/slice type but never set".into()),
                Some(g) => {
                    diff(errs, "pred_weights.luma_log2_weight_denom", pw.luma_log2_weight_denom, g.luma_log2_weight_denom);
                    diff(errs, "pred_weights.chroma_log2_weight_denom", pw.chroma_log2_weight_denom, g.chroma_log2_weight_denom);
                    let nl = if sh.is_b() { 2 } else { 1 };
                    for l in 0..nl {
                        let n = if l == 0 { sh.num_ref_idx_l0_active_minus1 } else { sh.num_ref_idx_l1_active_minus1 } as usize + 1;
                        let (a, b) = (&pw.weight_factors[l], &g.weight_factors[l]);
                        for i in 0..n {
                            diff(errs, &format!("pred_weights.weight_factors[{l}].luma_weight[{i}]"), a.luma_weight[i], b.luma_weight[i]);
                            diff(errs, &format!("pred_weights.weight_factors[{l}].luma_offset[{i}]"), a.luma_offset[i], b.luma_offset[i]);
                            diff(errs, &format!("pred_weights.weight_factors[{l}].chroma_weight[{i}]"), a.chroma_weight[i], b.chroma_weight[i]);
                            diff(errs, &format!("pred_weights.weight_factors[{l}].chroma_offset[{i}]"), a.chroma_offset[i], b.chroma_offset[i]);
                        }
                    }
                }
            }
        }
        // Reference lists: entries index decode_params.dpb[].
        if !sh.is_i() && (!sh.is_idr() || self.dpb.is_second_field(sh, job.out_ts)) {
            let cur_poc = self.cur.as_ref().map(|c| c.poc.top.min(c.poc.bottom)).unwrap_or(0);
            // (store index, field: 3 for frames, 1 top / 2 bottom for fields)
            let lists: [Vec<(usize, u8)>; 2] = if sh.field_pic {
                self.dpb.ref_lists_field(sps, sh, cur_poc)
            } else {
                self.dpb.ref_lists(sps, sh, cur_poc).map(|l| l.into_iter().map(|i| (i, V4L2_H264_FRAME_REF as u8)).collect())
            };
            for l in 0..if sh.is_b() { 2 } else { 1 } {
                let got = if l == 0 { &sp.ref_pic_list0 } else { &sp.ref_pic_list1 };
                for (i, &(ri, f)) in lists[l].iter().enumerate() {
                    let ts = self.dpb.refs[ri].ts;
                    let g = got[i];
                    let gts = dp.dpb.get(g.index as usize).map(|e| e.reference_ts);
                    if gts != Some(ts) || g.fields != f {
                        errs.push(format!(
                            "slice_params.ref_pic_list{l}[{i}]: expected dpb entry with reference_ts {ts} (frame_num {}, fields {f}), got index {} (reference_ts {:?}, fields {})",
                            self.dpb.refs[ri].frame_num, g.index, gts, g.fields
                        ));
                    }
                }
            }
        }
    }
}

/// decode_params as (field name, value) pairs, for naming differences.
fn decode_params_fields(dp: &v4l2_ctrl_h264_decode_params) -> Vec<(String, String)> {
    let mut v = vec![
        ("nal_ref_idc".to_string(), dp.nal_ref_idc.to_string()),
        ("frame_num".into(), dp.frame_num.to_string()),
        ("top_field_order_cnt".into(), dp.top_field_order_cnt.to_string()),
        ("bottom_field_order_cnt".into(), dp.bottom_field_order_cnt.to_string()),
        ("idr_pic_id".into(), dp.idr_pic_id.to_string()),
        ("pic_order_cnt_lsb".into(), dp.pic_order_cnt_lsb.to_string()),
        ("delta_pic_order_cnt_bottom".into(), dp.delta_pic_order_cnt_bottom.to_string()),
        ("delta_pic_order_cnt0".into(), dp.delta_pic_order_cnt0.to_string()),
        ("delta_pic_order_cnt1".into(), dp.delta_pic_order_cnt1.to_string()),
        ("dec_ref_pic_marking_bit_size".into(), dp.dec_ref_pic_marking_bit_size.to_string()),
        ("pic_order_cnt_bit_size".into(), dp.pic_order_cnt_bit_size.to_string()),
        ("slice_group_change_cycle".into(), dp.slice_group_change_cycle.to_string()),
        ("flags".into(), format!("{:#x}", dp.flags)),
    ];
    for (i, e) in dp.dpb.iter().enumerate() {
        v.push((format!("dpb[{i}]"), format!("{e:?}")));
    }
    v
}

/// A later request of the picture `c` (slice-based mode) must carry the
/// frame-level controls of its first request: the hardware decodes each
/// slice with the controls of its own request.
fn check_same_picture(
    errs: &mut Vec<String>,
    c: &CurPic,
    sps: &v4l2_ctrl_h264_sps,
    pps: &v4l2_ctrl_h264_pps,
    sm: Option<&v4l2_ctrl_h264_scaling_matrix>,
    dp: &v4l2_ctrl_h264_decode_params,
) {
    let what = format!("request {} of the picture differs from its first request", c.requests + 1);
    use crate::ctrls::struct_bytes as b;
    if b(sps) != b(&c.sps) {
        errs.push(format!("sps: {what}: expected {:?}, got {sps:?}", c.sps));
    }
    if b(pps) != b(&c.pps) {
        errs.push(format!("pps: {what}: expected {:?}, got {pps:?}", c.pps));
    }
    if c.sm.as_ref().map(b) != sm.map(b) {
        errs.push(format!("scaling_matrix: {what}: expected {:?}, got {sm:?}", c.sm));
    }
    if b(dp) != b(&c.dp) {
        for ((k, want), (_, got)) in decode_params_fields(&c.dp).into_iter().zip(decode_params_fields(dp)) {
            if want != got {
                errs.push(format!("decode_params.{k}: {what}: expected {want}, got {got}"));
            }
        }
    }
}

fn check_sps(errs: &mut Vec<String>, bs: &v4l2_ctrl_h264_sps, c: &v4l2_ctrl_h264_sps) {
    let b = crate::ctrls::struct_bytes(bs);
    let g = crate::ctrls::struct_bytes(c);
    if b != g {
        errs.push(format!("sps: control differs from the SPS NAL unit in the OUTPUT buffer: expected {bs:?}, got {c:?}"));
    }
}

fn check_pps(errs: &mut Vec<String>, bs: &v4l2_ctrl_h264_pps, c: &v4l2_ctrl_h264_pps) {
    let mut b = *bs;
    // the scaling-matrix flag also reflects SPS lists, unknown here
    b.flags = (b.flags & !(V4L2_H264_PPS_FLAG_SCALING_MATRIX_PRESENT as u16)) | (c.flags & V4L2_H264_PPS_FLAG_SCALING_MATRIX_PRESENT as u16);
    if crate::ctrls::struct_bytes(&b) != crate::ctrls::struct_bytes(c) {
        errs.push(format!("pps: control differs from the PPS NAL unit in the OUTPUT buffer: expected {b:?}, got {c:?}"));
    }
}
