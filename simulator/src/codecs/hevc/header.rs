//! The simulator's own HEVC slice segment header parse (H.265 7.3.6), with
//! the SPS/PPS syntax it depends on taken from the *controls* (as the
//! hardware has it), the rewrite of a slice's reference picture set into
//! an explicit one built from DECODE_PARAMS, and VPS/SPS/PPS NAL units
//! rebuilt from the controls for libavcodec. Independent of the driver's
//! parser on purpose.
use crate::bits::{nal_to_rbsp, rbsp_to_nal, BResult, BitError, BitReader, BitWriter};
use crate::uapi::*;

/// What the slice header syntax needs from SPS/PPS/decode params.
#[derive(Clone, Copy)]
pub struct Syntax {
    pub sps: v4l2_ctrl_hevc_sps,
    pub pps: v4l2_ctrl_hevc_pps,
    /// NumPicTotalCurr from decode_params' three counts
    pub num_pic_total_curr: u32,
    /// decode_params.num_delta_pocs_of_ref_rps_idx (what hardware parsing
    /// an inter-predicted slice RPS uses)
    pub num_delta_pocs_ref: u32,
}

fn sf(s: &v4l2_ctrl_hevc_sps, f: u32) -> bool {
    s.flags & f as u64 != 0
}
fn pf(p: &v4l2_ctrl_hevc_pps, f: u32) -> bool {
    p.flags & f as u64 != 0
}

impl Syntax {
    pub fn ctb_log2(&self) -> u32 {
        self.sps.log2_min_luma_coding_block_size_minus3 as u32 + 3 + self.sps.log2_diff_max_min_luma_coding_block_size as u32
    }
    pub fn pic_size_in_ctbs(&self) -> u32 {
        let c = 1u32 << self.ctb_log2().min(16);
        (self.sps.pic_width_in_luma_samples as u32).div_ceil(c) * (self.sps.pic_height_in_luma_samples as u32).div_ceil(c)
    }
}

fn bits_for(n: u32) -> u32 {
    // Ceil(Log2(n))
    let mut b = 0;
    while (1u64 << b) < n as u64 {
        b += 1;
    }
    b
}

/// One slice segment header, as parsed.
#[derive(Clone, Debug, Default)]
pub struct Slice {
    pub nal_type: u8,
    pub tid_plus1: u8,
    pub first_in_pic: bool,
    pub no_output_of_prior: bool,
    pub pps_id: u32,
    pub dependent: bool,
    pub address: u32,
    pub slice_type: u8,
    pub colour_plane: u8,
    pub poc_lsb: u32,
    pub sps_rps: bool,
    /// the slice's own RPS when not inter-predicted: (delta POC, used)
    pub explicit_rps: Option<Vec<(i32, bool)>>,
    pub num_delta_pocs_parsed: Option<u32>,
    pub st_rps_bits: u32,
    pub lt_bits: u32,
    pub tmvp: bool,
    pub sao_luma: bool,
    pub sao_chroma: bool,
    pub nref: [u32; 2],
    pub list_entries: [Option<Vec<u32>>; 2],
    pub mvd_l1_zero: bool,
    pub cabac_init: bool,
    pub col_from_l0: bool,
    pub col_ref_idx: u32,
    /// (luma_log2_denom, chroma delta, per list per ref: luma (dw, off), chroma [(dw, off)] as coded)
    pub weights: Option<Weights>,
    pub five_minus_merge: u32,
    pub qp_delta: i32,
    pub cb_off: i32,
    pub cr_off: i32,
    pub dbf_disabled: bool,
    pub beta: i32,
    pub tc: i32,
    pub lf_across: bool,
    pub entry_points: Vec<u32>,
    /// RBSP bit positions: where short_term_ref_pic_set_sps_flag starts,
    /// where the long-term part ends, where byte_alignment() starts
    pub rps_start: usize,
    pub rps_end: usize,
    pub align_start: usize,
    /// RBSP byte offset of slice_segment_data()
    pub data_offset: usize,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Weights {
    pub luma_denom: u32,
    pub chroma_delta_denom: i32,
    pub luma: [[(i32, i32); 16]; 2],
    pub chroma: [[[(i32, i32); 2]; 16]; 2],
}

pub fn is_idr(t: u8) -> bool {
    t == 19 || t == 20
}
pub fn is_irap(t: u8) -> bool {
    (16..=23).contains(&t)
}

/// Parses the slice segment header of NAL unit `nal` (escaped, no start
/// code). `prev`: the previous independent segment of the picture.
pub fn parse_slice(nal: &[u8], s: &Syntax, prev: Option<&Slice>) -> BResult<Slice> {
    let rbsp = nal_to_rbsp(nal);
    let mut r = BitReader::new(&rbsp);
    let sps = &s.sps;
    let pps = &s.pps;
    if r.u1()? != 0 {
        return Err(BitError);
    }
    let mut h = Slice { nal_type: r.u(6)? as u8, ..Default::default() };
    if r.u(6)? != 0 {
        return Err(BitError);
    }
    h.tid_plus1 = r.u(3)? as u8;
    h.first_in_pic = r.flag()?;
    if is_irap(h.nal_type) {
        h.no_output_of_prior = r.flag()?;
    }
    h.pps_id = r.ue()?;
    if !h.first_in_pic {
        if pf(pps, V4L2_HEVC_PPS_FLAG_DEPENDENT_SLICE_SEGMENT_ENABLED) {
            h.dependent = r.flag()?;
        }
        h.address = r.u(bits_for(s.pic_size_in_ctbs()))?;
    }
    if h.dependent {
        let p = prev.ok_or(BitError)?;
        let keep = (h.nal_type, h.tid_plus1, h.no_output_of_prior, h.pps_id, h.address);
        h = p.clone();
        (h.nal_type, h.tid_plus1, h.no_output_of_prior, h.pps_id, h.address) = keep;
        h.first_in_pic = false;
        h.dependent = true;
        h.rps_start = 0;
        h.rps_end = 0;
        tail(&mut r, s, &mut h)?;
        return Ok(h);
    }
    for _ in 0..pps.num_extra_slice_header_bits {
        r.u1()?;
    }
    h.slice_type = r.ue()? as u8;
    if h.slice_type > 2 {
        return Err(BitError);
    }
    if pf(pps, V4L2_HEVC_PPS_FLAG_OUTPUT_FLAG_PRESENT) {
        r.u1()?;
    }
    if sf(sps, V4L2_HEVC_SPS_FLAG_SEPARATE_COLOUR_PLANE) {
        h.colour_plane = r.u(2)? as u8;
    }
    let log2_lsb = sps.log2_max_pic_order_cnt_lsb_minus4 as u32 + 4;
    h.rps_start = r.pos();
    h.rps_end = r.pos();
    if !is_idr(h.nal_type) {
        h.poc_lsb = r.u(log2_lsb)?;
        h.rps_start = r.pos();
        h.sps_rps = r.flag()?;
        if !h.sps_rps {
            let start = r.pos();
            let n_sets = sps.num_short_term_ref_pic_sets as u32;
            let inter = n_sets > 0 && r.flag()?;
            if inter {
                r.ue()?; // delta_idx_minus1
                r.u1()?;
                r.ue()?;
                for _ in 0..=s.num_delta_pocs_ref {
                    if !r.flag()? {
                        r.u1()?;
                    }
                }
                h.num_delta_pocs_parsed = Some(s.num_delta_pocs_ref);
            } else {
                let neg = r.ue()?;
                let pos = r.ue()?;
                if neg + pos > 16 {
                    return Err(BitError);
                }
                let mut v = Vec::new();
                let mut d = 0i32;
                for _ in 0..neg {
                    d -= r.ue()? as i32 + 1;
                    v.push((d, r.flag()?));
                }
                d = 0;
                for _ in 0..pos {
                    d += r.ue()? as i32 + 1;
                    v.push((d, r.flag()?));
                }
                h.explicit_rps = Some(v);
            }
            h.st_rps_bits = (r.pos() - start) as u32;
        } else if sps.num_short_term_ref_pic_sets > 1 {
            r.u(bits_for(sps.num_short_term_ref_pic_sets as u32))?;
        }
        if sf(sps, V4L2_HEVC_SPS_FLAG_LONG_TERM_REF_PICS_PRESENT) {
            let start = r.pos();
            let n_sps = if sps.num_long_term_ref_pics_sps > 0 { r.ue()? } else { 0 };
            let n_pics = r.ue()?;
            if n_sps + n_pics > 32 {
                return Err(BitError);
            }
            for i in 0..n_sps + n_pics {
                if i < n_sps {
                    if sps.num_long_term_ref_pics_sps > 1 {
                        r.u(bits_for(sps.num_long_term_ref_pics_sps as u32))?;
                    }
                } else {
                    r.u(log2_lsb)?;
                    r.u1()?;
                }
                if r.flag()? {
                    r.ue()?;
                }
            }
            h.lt_bits = (r.pos() - start) as u32;
        }
        h.rps_end = r.pos();
        if sf(sps, V4L2_HEVC_SPS_FLAG_SPS_TEMPORAL_MVP_ENABLED) {
            h.tmvp = r.flag()?;
        }
    }
    if sf(sps, V4L2_HEVC_SPS_FLAG_SAMPLE_ADAPTIVE_OFFSET) {
        h.sao_luma = r.flag()?;
        if sps.chroma_format_idc != 0 && !sf(sps, V4L2_HEVC_SPS_FLAG_SEPARATE_COLOUR_PLANE) {
            h.sao_chroma = r.flag()?;
        }
    }
    if h.slice_type != 2 {
        let b = h.slice_type == 0;
        h.nref = [pps.num_ref_idx_l0_default_active_minus1 as u32, if b { pps.num_ref_idx_l1_default_active_minus1 as u32 } else { 0 }];
        if r.flag()? {
            h.nref[0] = r.ue()?;
            if b {
                h.nref[1] = r.ue()?;
            }
        }
        if h.nref[0] > 14 || h.nref[1] > 14 {
            return Err(BitError);
        }
        if pf(pps, V4L2_HEVC_PPS_FLAG_LISTS_MODIFICATION_PRESENT) && s.num_pic_total_curr > 1 {
            let n = bits_for(s.num_pic_total_curr);
            for l in 0..if b { 2 } else { 1 } {
                if r.flag()? {
                    let mut v = Vec::new();
                    for _ in 0..=h.nref[l] {
                        v.push(r.u(n)?);
                    }
                    h.list_entries[l] = Some(v);
                }
            }
        }
        if b {
            h.mvd_l1_zero = r.flag()?;
        }
        if pf(pps, V4L2_HEVC_PPS_FLAG_CABAC_INIT_PRESENT) {
            h.cabac_init = r.flag()?;
        }
        h.col_from_l0 = true;
        if h.tmvp {
            if b {
                h.col_from_l0 = r.flag()?;
            }
            if (h.col_from_l0 && h.nref[0] > 0) || (!h.col_from_l0 && h.nref[1] > 0) {
                h.col_ref_idx = r.ue()?;
            }
        }
        if (pf(pps, V4L2_HEVC_PPS_FLAG_WEIGHTED_PRED) && h.slice_type == 1) || (pf(pps, V4L2_HEVC_PPS_FLAG_WEIGHTED_BIPRED) && b) {
            let mut w = Weights { luma_denom: r.ue()?, ..Default::default() };
            let chroma = sps.chroma_format_idc != 0;
            if chroma {
                w.chroma_delta_denom = r.se()?;
            }
            for l in 0..if b { 2 } else { 1 } {
                let n = h.nref[l] as usize + 1;
                let lf: Vec<bool> = (0..n).map(|_| r.flag()).collect::<BResult<_>>()?;
                let cf: Vec<bool> = if chroma { (0..n).map(|_| r.flag()).collect::<BResult<_>>()? } else { vec![false; n] };
                for i in 0..n {
                    if lf[i] {
                        w.luma[l][i] = (r.se()?, r.se()?);
                    }
                    if cf[i] {
                        for j in 0..2 {
                            w.chroma[l][i][j] = (r.se()?, r.se()?);
                        }
                    }
                }
            }
            h.weights = Some(w);
        }
        h.five_minus_merge = r.ue()?;
    }
    h.qp_delta = r.se()?;
    if pf(pps, V4L2_HEVC_PPS_FLAG_PPS_SLICE_CHROMA_QP_OFFSETS_PRESENT) {
        h.cb_off = r.se()?;
        h.cr_off = r.se()?;
    }
    let over = pf(pps, V4L2_HEVC_PPS_FLAG_DEBLOCKING_FILTER_OVERRIDE_ENABLED) && r.flag()?;
    h.dbf_disabled = pf(pps, V4L2_HEVC_PPS_FLAG_PPS_DISABLE_DEBLOCKING_FILTER);
    h.beta = pps.pps_beta_offset_div2 as i32;
    h.tc = pps.pps_tc_offset_div2 as i32;
    if over {
        h.dbf_disabled = r.flag()?;
        if !h.dbf_disabled {
            h.beta = r.se()?;
            h.tc = r.se()?;
        }
    }
    let across = pf(pps, V4L2_HEVC_PPS_FLAG_PPS_LOOP_FILTER_ACROSS_SLICES_ENABLED);
    h.lf_across = across;
    if across && (h.sao_luma || h.sao_chroma || !h.dbf_disabled) {
        h.lf_across = r.flag()?;
    }
    tail(&mut r, s, &mut h)?;
    Ok(h)
}

fn tail(r: &mut BitReader, s: &Syntax, h: &mut Slice) -> BResult<()> {
    let pps = &s.pps;
    h.entry_points.clear();
    if pf(pps, V4L2_HEVC_PPS_FLAG_TILES_ENABLED) || pf(pps, V4L2_HEVC_PPS_FLAG_ENTROPY_CODING_SYNC_ENABLED) {
        let n = r.ue()?;
        if n > s.pic_size_in_ctbs() {
            return Err(BitError);
        }
        if n > 0 {
            let len = r.ue()? + 1;
            if len > 32 {
                return Err(BitError);
            }
            for _ in 0..n {
                h.entry_points.push(r.u(len)? + 1);
            }
        }
    }
    if pf(pps, V4L2_HEVC_PPS_FLAG_SLICE_SEGMENT_HEADER_EXTENSION_PRESENT) {
        let n = r.ue()?;
        for _ in 0..n {
            r.u(8)?;
        }
    }
    h.align_start = r.pos();
    if r.u1()? != 1 {
        return Err(BitError);
    }
    while r.pos() % 8 != 0 {
        if r.u1()? != 0 {
            return Err(BitError);
        }
    }
    h.data_offset = r.pos() / 8;
    Ok(())
}

/// The DPB of DECODE_PARAMS as the rewrite needs it.
pub struct RefSet {
    /// (POC, used by the current picture) of the short-term references
    pub short: Vec<(i32, bool)>,
    /// (POC, used) of the long-term references
    pub long: Vec<(i32, bool)>,
}

fn copy_bits(w: &mut BitWriter, rbsp: &[u8], from: usize, to: usize) -> BResult<()> {
    let mut r = BitReader::new(rbsp);
    for _ in 0..from {
        r.u1()?;
    }
    for _ in from..to {
        w.u1(r.flag()?);
    }
    Ok(())
}

/// The slice NAL unit with its RPS coded explicitly from `refs` (the
/// rebuilt SPS has no RPS of its own) relative to `poc`.
pub fn rewrite_slice(nal: &[u8], h: &Slice, s: &Syntax, poc: i32, refs: &RefSet) -> BResult<Vec<u8>> {
    if is_idr(h.nal_type) || h.dependent {
        return Ok(nal.to_vec());
    }
    let rbsp = nal_to_rbsp(nal);
    let mut w = BitWriter::new();
    copy_bits(&mut w, &rbsp, 0, h.rps_start)?;
    w.u1(false); // short_term_ref_pic_set_sps_flag: own set
                 // st_ref_pic_set(0): no inter prediction possible
    let mut neg: Vec<(i32, bool)> = refs.short.iter().filter(|r| r.0 < poc).copied().collect();
    let mut pos: Vec<(i32, bool)> = refs.short.iter().filter(|r| r.0 > poc).copied().collect();
    neg.sort_by_key(|r| std::cmp::Reverse(r.0));
    pos.sort_by_key(|r| r.0);
    w.ue(neg.len() as u32);
    w.ue(pos.len() as u32);
    let mut prev = poc;
    for (p, used) in &neg {
        w.ue((prev - p - 1) as u32);
        w.u1(*used);
        prev = *p;
    }
    prev = poc;
    for (p, used) in &pos {
        w.ue((p - prev - 1) as u32);
        w.u1(*used);
        prev = *p;
    }
    if sf(&s.sps, V4L2_HEVC_SPS_FLAG_LONG_TERM_REF_PICS_PRESENT) {
        // num_long_term_ref_pics_sps is 0 in the rebuilt SPS
        let max_lsb = 1i32 << (s.sps.log2_max_pic_order_cnt_lsb_minus4 + 4);
        let cur_msb = poc - (poc & (max_lsb - 1));
        let mut lts = refs.long.clone();
        lts.sort_by_key(|r| std::cmp::Reverse(r.0));
        w.ue(lts.len() as u32);
        let mut prev_cycle = 0;
        for (p, used) in &lts {
            let lsb = p & (max_lsb - 1);
            let cycle = (cur_msb - (p - lsb)) / max_lsb;
            w.u(s.sps.log2_max_pic_order_cnt_lsb_minus4 as u32 + 4, lsb as u32);
            w.u1(*used);
            w.u1(true); // delta_poc_msb_present_flag
            w.ue((cycle - prev_cycle).max(0) as u32);
            prev_cycle = cycle;
        }
    }
    copy_bits(&mut w, &rbsp, h.rps_end, h.align_start)?;
    let mut out = w.finish_rbsp();
    out.extend_from_slice(&rbsp[h.data_offset..]);
    Ok(rbsp_to_nal(&out))
}

fn nal(t: u8, w: BitWriter, au: &mut Vec<u8>) {
    au.extend_from_slice(&[0, 0, 0, 1, t << 1, 1]);
    au.extend_from_slice(&rbsp_to_nal(&w.finish_rbsp()));
}

fn profile_tier_level(w: &mut BitWriter, sub_layers_minus1: u32) {
    w.u(2, 0);
    w.u1(false);
    w.u(5, 1); // Main
    w.u(32, (1 << 30) | (1 << 29)); // compatible with Main and Main 10
    w.u1(true); // progressive
    w.u1(false);
    w.u1(false);
    w.u1(true); // frame only
    w.u(32, 0);
    w.u(12, 0); // 43 reserved bits + general_inbld_flag
    w.u(8, 186); // level 6.2: no level limit applies
    for _ in 0..sub_layers_minus1 {
        w.u1(false);
        w.u1(false);
    }
    if sub_layers_minus1 > 0 {
        for _ in sub_layers_minus1..8 {
            w.u(2, 0);
        }
    }
}

fn ordering(w: &mut BitWriter, sps: &v4l2_ctrl_hevc_sps) {
    w.u1(true);
    for _ in 0..=sps.sps_max_sub_layers_minus1 {
        w.ue(sps.sps_max_dec_pic_buffering_minus1 as u32);
        w.ue(sps.sps_max_num_reorder_pics as u32);
        w.ue(sps.sps_max_latency_increase_plus1 as u32);
    }
}

/// VPS, SPS and PPS NAL units (Annex-B) rebuilt from the controls.
pub fn write_parameter_sets(s: &Syntax, sm: Option<&v4l2_ctrl_hevc_scaling_matrix>, au: &mut Vec<u8>) {
    let sps = &s.sps;
    let pps = &s.pps;
    let subl = (sps.sps_max_sub_layers_minus1 as u32).min(6);
    let mut w = BitWriter::new();
    w.u(4, sps.video_parameter_set_id as u32);
    w.u1(true);
    w.u1(true);
    w.u(6, 0);
    w.u(3, subl);
    w.u1(subl == 0);
    w.u(16, 0xffff);
    profile_tier_level(&mut w, subl);
    ordering(&mut w, sps);
    w.u(6, 0);
    w.ue(0);
    w.u1(false);
    w.u1(false);
    nal(32, w, au);

    let mut w = BitWriter::new();
    w.u(4, sps.video_parameter_set_id as u32);
    w.u(3, subl);
    w.u1(subl == 0);
    profile_tier_level(&mut w, subl);
    w.ue(sps.seq_parameter_set_id as u32);
    w.ue(sps.chroma_format_idc as u32);
    if sps.chroma_format_idc == 3 {
        w.u1(sf(sps, V4L2_HEVC_SPS_FLAG_SEPARATE_COLOUR_PLANE));
    }
    w.ue(sps.pic_width_in_luma_samples as u32);
    w.ue(sps.pic_height_in_luma_samples as u32);
    w.u1(false); // conformance window: cropping is the client's
    w.ue(sps.bit_depth_luma_minus8 as u32);
    w.ue(sps.bit_depth_chroma_minus8 as u32);
    w.ue(sps.log2_max_pic_order_cnt_lsb_minus4 as u32);
    ordering(&mut w, sps);
    w.ue(sps.log2_min_luma_coding_block_size_minus3 as u32);
    w.ue(sps.log2_diff_max_min_luma_coding_block_size as u32);
    w.ue(sps.log2_min_luma_transform_block_size_minus2 as u32);
    w.ue(sps.log2_diff_max_min_luma_transform_block_size as u32);
    w.ue(sps.max_transform_hierarchy_depth_inter as u32);
    w.ue(sps.max_transform_hierarchy_depth_intra as u32);
    let scaling = sf(sps, V4L2_HEVC_SPS_FLAG_SCALING_LIST_ENABLED);
    w.u1(scaling);
    if scaling {
        w.u1(false); // lists in the PPS
    }
    w.u1(sf(sps, V4L2_HEVC_SPS_FLAG_AMP_ENABLED));
    w.u1(sf(sps, V4L2_HEVC_SPS_FLAG_SAMPLE_ADAPTIVE_OFFSET));
    let pcm = sf(sps, V4L2_HEVC_SPS_FLAG_PCM_ENABLED);
    w.u1(pcm);
    if pcm {
        w.u(4, sps.pcm_sample_bit_depth_luma_minus1 as u32);
        w.u(4, sps.pcm_sample_bit_depth_chroma_minus1 as u32);
        w.ue(sps.log2_min_pcm_luma_coding_block_size_minus3 as u32);
        w.ue(sps.log2_diff_max_min_pcm_luma_coding_block_size as u32);
        w.u1(sf(sps, V4L2_HEVC_SPS_FLAG_PCM_LOOP_FILTER_DISABLED));
    }
    w.ue(0); // num_short_term_ref_pic_sets: every slice codes its own (rewrite_slice)
    let lt = sf(sps, V4L2_HEVC_SPS_FLAG_LONG_TERM_REF_PICS_PRESENT);
    w.u1(lt);
    if lt {
        w.ue(0);
    }
    w.u1(sf(sps, V4L2_HEVC_SPS_FLAG_SPS_TEMPORAL_MVP_ENABLED));
    w.u1(sf(sps, V4L2_HEVC_SPS_FLAG_STRONG_INTRA_SMOOTHING_ENABLED));
    w.u1(false); // VUI
    w.u1(false); // extensions
    nal(33, w, au);

    let mut w = BitWriter::new();
    w.ue(pps.pic_parameter_set_id as u32);
    w.ue(sps.seq_parameter_set_id as u32);
    w.u1(pf(pps, V4L2_HEVC_PPS_FLAG_DEPENDENT_SLICE_SEGMENT_ENABLED));
    w.u1(pf(pps, V4L2_HEVC_PPS_FLAG_OUTPUT_FLAG_PRESENT));
    w.u(3, pps.num_extra_slice_header_bits as u32);
    w.u1(pf(pps, V4L2_HEVC_PPS_FLAG_SIGN_DATA_HIDING_ENABLED));
    w.u1(pf(pps, V4L2_HEVC_PPS_FLAG_CABAC_INIT_PRESENT));
    w.ue(pps.num_ref_idx_l0_default_active_minus1 as u32);
    w.ue(pps.num_ref_idx_l1_default_active_minus1 as u32);
    w.se(pps.init_qp_minus26 as i32);
    w.u1(pf(pps, V4L2_HEVC_PPS_FLAG_CONSTRAINED_INTRA_PRED));
    w.u1(pf(pps, V4L2_HEVC_PPS_FLAG_TRANSFORM_SKIP_ENABLED));
    let cuqp = pf(pps, V4L2_HEVC_PPS_FLAG_CU_QP_DELTA_ENABLED);
    w.u1(cuqp);
    if cuqp {
        w.ue(pps.diff_cu_qp_delta_depth as u32);
    }
    w.se(pps.pps_cb_qp_offset as i32);
    w.se(pps.pps_cr_qp_offset as i32);
    w.u1(pf(pps, V4L2_HEVC_PPS_FLAG_PPS_SLICE_CHROMA_QP_OFFSETS_PRESENT));
    w.u1(pf(pps, V4L2_HEVC_PPS_FLAG_WEIGHTED_PRED));
    w.u1(pf(pps, V4L2_HEVC_PPS_FLAG_WEIGHTED_BIPRED));
    w.u1(pf(pps, V4L2_HEVC_PPS_FLAG_TRANSQUANT_BYPASS_ENABLED));
    let tiles = pf(pps, V4L2_HEVC_PPS_FLAG_TILES_ENABLED);
    w.u1(tiles);
    w.u1(pf(pps, V4L2_HEVC_PPS_FLAG_ENTROPY_CODING_SYNC_ENABLED));
    if tiles {
        w.ue(pps.num_tile_columns_minus1 as u32);
        w.ue(pps.num_tile_rows_minus1 as u32);
        let uniform = pf(pps, V4L2_HEVC_PPS_FLAG_UNIFORM_SPACING);
        w.u1(uniform);
        if !uniform {
            for i in 0..pps.num_tile_columns_minus1 as usize {
                w.ue(pps.column_width_minus1[i] as u32);
            }
            for i in 0..pps.num_tile_rows_minus1 as usize {
                w.ue(pps.row_height_minus1[i] as u32);
            }
        }
        w.u1(pf(pps, V4L2_HEVC_PPS_FLAG_LOOP_FILTER_ACROSS_TILES_ENABLED));
    }
    w.u1(pf(pps, V4L2_HEVC_PPS_FLAG_PPS_LOOP_FILTER_ACROSS_SLICES_ENABLED));
    let dbc = pf(pps, V4L2_HEVC_PPS_FLAG_DEBLOCKING_FILTER_CONTROL_PRESENT);
    w.u1(dbc);
    if dbc {
        w.u1(pf(pps, V4L2_HEVC_PPS_FLAG_DEBLOCKING_FILTER_OVERRIDE_ENABLED));
        let dis = pf(pps, V4L2_HEVC_PPS_FLAG_PPS_DISABLE_DEBLOCKING_FILTER);
        w.u1(dis);
        if !dis {
            w.se(pps.pps_beta_offset_div2 as i32);
            w.se(pps.pps_tc_offset_div2 as i32);
        }
    }
    match (scaling, sm) {
        (true, Some(m)) => {
            w.u1(true);
            scaling_list_data(&mut w, m);
        }
        _ => w.u1(false),
    }
    w.u1(pf(pps, V4L2_HEVC_PPS_FLAG_LISTS_MODIFICATION_PRESENT));
    w.ue(pps.log2_parallel_merge_level_minus2 as u32);
    w.u1(pf(pps, V4L2_HEVC_PPS_FLAG_SLICE_SEGMENT_HEADER_EXTENSION_PRESENT));
    w.u1(false);
    nal(34, w, au);
}

/// (x, y) of the up-right diagonal scan (6.5.3).
fn diag(n: usize) -> Vec<(usize, usize)> {
    let mut v = Vec::new();
    for d in 0..2 * n - 1 {
        for x in 0..=d {
            let y = d - x;
            if x < n && y < n {
                v.push((x, y));
            }
        }
    }
    v
}

/// scaling_list_data() (7.3.4) coding the control's raster lists.
fn scaling_list_data(w: &mut BitWriter, m: &v4l2_ctrl_hevc_scaling_matrix) {
    for size_id in 0..4 {
        let step = if size_id == 3 { 3 } else { 1 };
        for matrix_id in (0..6).step_by(step) {
            w.u1(true); // scaling_list_pred_mode_flag
            let (n, list): (usize, &[u8]) = match size_id {
                0 => (4, &m.scaling_list_4x4[matrix_id]),
                1 => (8, &m.scaling_list_8x8[matrix_id]),
                2 => (8, &m.scaling_list_16x16[matrix_id]),
                _ => (8, &m.scaling_list_32x32[matrix_id / 3]),
            };
            let mut next = 8i32;
            if size_id > 1 {
                let dc = if size_id == 2 { m.scaling_list_dc_coef_16x16[matrix_id] } else { m.scaling_list_dc_coef_32x32[matrix_id / 3] } as i32;
                w.se(dc - 8);
                next = dc;
            }
            for (x, y) in diag(n) {
                let v = list[y * n + x] as i32;
                let mut d = v - next;
                if d > 127 {
                    d -= 256;
                } else if d < -128 {
                    d += 256;
                }
                w.se(d);
                next = v;
            }
        }
    }
}
