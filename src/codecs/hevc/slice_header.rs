//! HEVC slice segment header parser (H.265 7.3.6.1, 7.3.6.2, 7.3.6.3,
//! 7.3.7), reading the NAL unit the VA client hands over.
//!
//! The SPS/PPS elements the syntax depends on come from VA's picture
//! parameters ([`ParseParams`]); what VA does not carry is read here: the
//! NAL unit header, the PPS id, the bit sizes of the reference picture
//! sets, NumDeltaPocs[RefRpsIdx] of an inter-predicted RPS, the
//! pred_weight_table in its coded form, the entry points and where the
//! slice data starts. Every read is bounds-checked; hostile data gives a
//! [`ParseError`], never a panic.
use crate::codecs::h264::bitreader::{BitError, BitReader};
use std::fmt;

/// NAL unit types (Table 7-1) the parser needs to tell apart.
pub const NAL_BLA_W_LP: u8 = 16;
pub const NAL_IDR_W_RADL: u8 = 19;
pub const NAL_IDR_N_LP: u8 = 20;
pub const NAL_RSV_IRAP_23: u8 = 23;

/// slice_type values (Table 7-7), the same numbers as V4L2_HEVC_SLICE_TYPE_*.
pub const SLICE_B: u8 = 0;
pub const SLICE_P: u8 = 1;
pub const SLICE_I: u8 = 2;

/// Why a slice header could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    Bits(BitError),
    /// The data does not start with a NAL unit (or an Annex-B start code).
    BadStartCode,
    /// Fewer bytes than a NAL unit header.
    Empty,
    /// forbidden_zero_bit set, or a nuh_layer_id / temporal id that is not
    /// a base-layer VCL NAL unit.
    BadNalHeader(&'static str),
    /// A NAL unit type that is not a coded slice segment.
    NotASlice(u8),
    /// A value the syntax or VA's parameter sets do not allow.
    Invalid(&'static str),
    /// A dependent slice segment with no independent one before it.
    DependentFirst,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Bits(e) => write!(f, "{e}"),
            ParseError::BadStartCode => write!(f, "slice data does not start with a NAL unit"),
            ParseError::Empty => write!(f, "slice NAL unit is shorter than its header"),
            ParseError::BadNalHeader(w) => write!(f, "bad NAL unit header: {w}"),
            ParseError::NotASlice(t) => write!(f, "NAL unit type {t} is not a coded slice segment"),
            ParseError::Invalid(w) => write!(f, "invalid slice header: {w}"),
            ParseError::DependentFirst => write!(f, "dependent slice segment without an independent one before it"),
        }
    }
}

impl std::error::Error for ParseError {}

impl From<BitError> for ParseError {
    fn from(e: BitError) -> Self {
        ParseError::Bits(e)
    }
}

/// The NAL unit, without an Annex-B start code it may come with. A NAL
/// unit may itself start with a zero byte (TRAIL_N: `00 01`), so only a
/// whole `00 00 01` / `00 00 00 01` counts as a start code.
pub fn strip_start_code(data: &[u8]) -> Result<&[u8], ParseError> {
    let nal = if data.starts_with(&[0, 0, 1]) {
        &data[3..]
    } else if data.starts_with(&[0, 0, 0, 1]) {
        &data[4..]
    } else if data.starts_with(&[0, 0]) {
        return Err(ParseError::BadStartCode);
    } else {
        data
    };
    if nal.len() < 2 {
        return Err(ParseError::Empty);
    }
    Ok(nal)
}

/// SPS/PPS values the slice header syntax depends on (from VA).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ParseParams {
    pub dependent_slice_segments_enabled: bool,
    pub num_extra_slice_header_bits: u8,
    pub output_flag_present: bool,
    pub separate_colour_plane: bool,
    /// ChromaArrayType (0 with separate colour planes).
    pub chroma_array_type: u8,
    pub log2_max_poc_lsb: u8,
    pub num_short_term_ref_pic_sets: u8,
    pub long_term_ref_pics_present: bool,
    pub num_long_term_ref_pics_sps: u8,
    pub sps_temporal_mvp_enabled: bool,
    pub sample_adaptive_offset_enabled: bool,
    pub lists_modification_present: bool,
    pub cabac_init_present: bool,
    pub weighted_pred: bool,
    pub weighted_bipred: bool,
    pub pps_slice_chroma_qp_offsets_present: bool,
    pub deblocking_filter_override_enabled: bool,
    pub pps_deblocking_filter_disabled: bool,
    pub pps_loop_filter_across_slices_enabled: bool,
    pub tiles_enabled: bool,
    pub entropy_coding_sync_enabled: bool,
    pub slice_segment_header_extension_present: bool,
    pub num_ref_idx_l0_default_active_minus1: u8,
    pub num_ref_idx_l1_default_active_minus1: u8,
    pub pps_beta_offset_div2: i8,
    pub pps_tc_offset_div2: i8,
    /// PicSizeInCtbsY and PicHeightInCtbsY (7-17, 7-19).
    pub pic_size_in_ctbs: u32,
    /// NumPicTotalCurr (7-55), from VA's RPS flags.
    pub num_pic_total_curr: u32,
    /// VA `st_rps_bits`: the bits of the slice's own st_ref_pic_set(); the
    /// only way to learn NumDeltaPocs[RefRpsIdx] of an inter-predicted set,
    /// since VA does not carry the SPS's sets.
    pub st_rps_bits: u32,
}

/// pred_weight_table() as coded (7.3.6.3), with ChromaOffset derived as
/// 7-56 does (what V4L2's chroma_offset_lX holds).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PredWeights {
    pub luma_log2_weight_denom: u8,
    pub delta_chroma_log2_weight_denom: i8,
    pub delta_luma_weight: [[i8; 16]; 2],
    pub luma_offset: [[i8; 16]; 2],
    pub delta_chroma_weight: [[[i8; 2]; 16]; 2],
    pub chroma_offset: [[[i8; 2]; 16]; 2],
}

/// One parsed slice segment header.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SliceHeader {
    pub nal_unit_type: u8,
    pub nuh_temporal_id_plus1: u8,
    pub first_slice_segment_in_pic: bool,
    pub no_output_of_prior_pics: bool,
    pub pps_id: u8,
    pub dependent_slice_segment: bool,
    pub segment_address: u32,
    pub slice_type: u8,
    pub pic_output_flag: bool,
    pub colour_plane_id: u8,
    pub pic_order_cnt_lsb: u32,
    pub short_term_ref_pic_set_sps_flag: bool,
    /// RBSP bits of the slice's own st_ref_pic_set() (0 when taken from the SPS).
    pub short_term_ref_pic_set_size: u32,
    /// NumDeltaPocs[RefRpsIdx] of the slice's own inter-predicted set, else 0.
    pub num_delta_pocs_of_ref_rps_idx: u8,
    /// RBSP bits of the long-term part (num_long_term_sps .. the last
    /// delta_poc_msb_cycle_lt), 0 without long-term references.
    pub long_term_ref_pic_set_size: u32,
    pub temporal_mvp_enabled: bool,
    pub sao_luma: bool,
    pub sao_chroma: bool,
    pub num_ref_idx_l0_active_minus1: u8,
    pub num_ref_idx_l1_active_minus1: u8,
    pub mvd_l1_zero: bool,
    pub cabac_init: bool,
    pub collocated_from_l0: bool,
    pub collocated_ref_idx: u8,
    pub pred_weights: Option<PredWeights>,
    pub five_minus_max_num_merge_cand: u8,
    pub qp_delta: i8,
    pub cb_qp_offset: i8,
    pub cr_qp_offset: i8,
    pub deblocking_filter_disabled: bool,
    pub beta_offset_div2: i8,
    pub tc_offset_div2: i8,
    pub loop_filter_across_slices_enabled: bool,
    /// entry_point_offset_minus1[i] + 1.
    pub entry_point_offsets: Vec<u32>,
    /// Bytes from the start of the NAL unit (its 2-byte header included)
    /// to the first byte of slice_segment_data(), counted in the RBSP (the
    /// emulation-prevention bytes inside the header not counted).
    pub data_rbsp_offset: u32,
    /// Emulation-prevention bytes inside the header.
    pub header_epb: u32,
}

impl SliceHeader {
    pub fn is_irap(&self) -> bool {
        (NAL_BLA_W_LP..=NAL_RSV_IRAP_23).contains(&self.nal_unit_type)
    }

    pub fn is_idr(&self) -> bool {
        self.nal_unit_type == NAL_IDR_W_RADL || self.nal_unit_type == NAL_IDR_N_LP
    }
}

/// Ceil(Log2(n)) for n ≥ 1 (0 for n ≤ 1).
pub fn ceil_log2(n: u32) -> u32 {
    if n <= 1 {
        0
    } else {
        32 - (n - 1).leading_zeros()
    }
}

fn se_i8(r: &mut BitReader, what: &'static str, min: i32, max: i32) -> Result<i8, ParseError> {
    Ok(r.read_se_range(what, min, max)? as i8)
}

/// Parses the slice segment header of `nal` (no start code). `prev` is
/// the last independent slice segment of the same picture, which a
/// dependent segment takes its values from (7.4.7.1).
pub fn parse_slice_header(nal: &[u8], p: &ParseParams, prev: Option<&SliceHeader>) -> Result<SliceHeader, ParseError> {
    let mut r = BitReader::new(nal);
    if r.read_bit()? {
        return Err(ParseError::BadNalHeader("forbidden_zero_bit"));
    }
    let nal_unit_type = r.read_bits(6)? as u8;
    let layer = r.read_bits(6)?;
    let tid_plus1 = r.read_bits(3)? as u8;
    if layer != 0 {
        return Err(ParseError::BadNalHeader("nuh_layer_id is not 0"));
    }
    if tid_plus1 == 0 {
        return Err(ParseError::BadNalHeader("nuh_temporal_id_plus1 is 0"));
    }
    // VCL types: 0..=9 and 16..=21 (the others are reserved).
    if !(nal_unit_type <= 9 || (NAL_BLA_W_LP..=21).contains(&nal_unit_type)) {
        return Err(ParseError::NotASlice(nal_unit_type));
    }
    let mut h = SliceHeader { nal_unit_type, nuh_temporal_id_plus1: tid_plus1, ..Default::default() };
    h.first_slice_segment_in_pic = r.read_flag()?;
    if (NAL_BLA_W_LP..=NAL_RSV_IRAP_23).contains(&nal_unit_type) {
        h.no_output_of_prior_pics = r.read_flag()?;
    }
    h.pps_id = r.read_ue_max("slice_pic_parameter_set_id", 63)? as u8;
    if !h.first_slice_segment_in_pic {
        if p.dependent_slice_segments_enabled {
            h.dependent_slice_segment = r.read_flag()?;
        }
        let bits = ceil_log2(p.pic_size_in_ctbs);
        h.segment_address = r.read_bits(bits)?;
        if h.segment_address >= p.pic_size_in_ctbs {
            return Err(ParseError::Invalid("slice_segment_address beyond the picture"));
        }
    }
    if h.dependent_slice_segment {
        let prev = prev.ok_or(ParseError::DependentFirst)?;
        let mut d = SliceHeader {
            nal_unit_type,
            nuh_temporal_id_plus1: tid_plus1,
            first_slice_segment_in_pic: false,
            no_output_of_prior_pics: h.no_output_of_prior_pics,
            pps_id: h.pps_id,
            dependent_slice_segment: true,
            segment_address: h.segment_address,
            entry_point_offsets: Vec::new(),
            ..prev.clone()
        };
        finish_header(&mut r, p, &mut d)?;
        return Ok(d);
    }
    for _ in 0..p.num_extra_slice_header_bits {
        r.read_flag()?;
    }
    h.slice_type = r.read_ue_max("slice_type", 2)? as u8;
    h.pic_output_flag = if p.output_flag_present { r.read_flag()? } else { true };
    if p.separate_colour_plane {
        h.colour_plane_id = r.read_bits(2)? as u8;
        if h.colour_plane_id > 2 {
            return Err(ParseError::Invalid("colour_plane_id"));
        }
    }
    if nal_unit_type != NAL_IDR_W_RADL && nal_unit_type != NAL_IDR_N_LP {
        h.pic_order_cnt_lsb = r.read_bits(p.log2_max_poc_lsb as u32)?;
        h.short_term_ref_pic_set_sps_flag = r.read_flag()?;
        if !h.short_term_ref_pic_set_sps_flag {
            let start = r.rbsp_bit_pos();
            h.num_delta_pocs_of_ref_rps_idx = st_ref_pic_set(&mut r, p)?;
            h.short_term_ref_pic_set_size = (r.rbsp_bit_pos() - start) as u32;
        } else {
            if p.num_short_term_ref_pic_sets == 0 {
                return Err(ParseError::Invalid("short_term_ref_pic_set_sps_flag without SPS sets"));
            }
            if p.num_short_term_ref_pic_sets > 1 {
                let idx = r.read_bits(ceil_log2(p.num_short_term_ref_pic_sets as u32))?;
                if idx >= p.num_short_term_ref_pic_sets as u32 {
                    return Err(ParseError::Invalid("short_term_ref_pic_set_idx"));
                }
            }
        }
        if p.long_term_ref_pics_present {
            let start = r.rbsp_bit_pos();
            let num_sps = if p.num_long_term_ref_pics_sps > 0 { r.read_ue_max("num_long_term_sps", p.num_long_term_ref_pics_sps as u32)? } else { 0 };
            let num_pics = r.read_ue_max("num_long_term_pics", 32)?;
            if num_sps + num_pics > 32 {
                return Err(ParseError::Invalid("num_long_term_sps + num_long_term_pics"));
            }
            for i in 0..num_sps + num_pics {
                if i < num_sps {
                    if p.num_long_term_ref_pics_sps > 1 {
                        let idx = r.read_bits(ceil_log2(p.num_long_term_ref_pics_sps as u32))?;
                        if idx >= p.num_long_term_ref_pics_sps as u32 {
                            return Err(ParseError::Invalid("lt_idx_sps"));
                        }
                    }
                } else {
                    r.read_bits(p.log2_max_poc_lsb as u32)?; // poc_lsb_lt
                    r.read_flag()?; // used_by_curr_pic_lt_flag
                }
                if r.read_flag()? {
                    r.read_ue()?; // delta_poc_msb_cycle_lt
                }
            }
            h.long_term_ref_pic_set_size = (r.rbsp_bit_pos() - start) as u32;
        }
        if p.sps_temporal_mvp_enabled {
            h.temporal_mvp_enabled = r.read_flag()?;
        }
    }
    if p.sample_adaptive_offset_enabled {
        h.sao_luma = r.read_flag()?;
        if p.chroma_array_type != 0 {
            h.sao_chroma = r.read_flag()?;
        }
    }
    if h.slice_type != SLICE_I {
        h.num_ref_idx_l0_active_minus1 = p.num_ref_idx_l0_default_active_minus1;
        h.num_ref_idx_l1_active_minus1 = p.num_ref_idx_l1_default_active_minus1;
        if r.read_flag()? {
            h.num_ref_idx_l0_active_minus1 = r.read_ue_max("num_ref_idx_l0_active_minus1", 14)? as u8;
            if h.slice_type == SLICE_B {
                h.num_ref_idx_l1_active_minus1 = r.read_ue_max("num_ref_idx_l1_active_minus1", 14)? as u8;
            }
        }
        if h.num_ref_idx_l0_active_minus1 > 14 || h.num_ref_idx_l1_active_minus1 > 14 {
            return Err(ParseError::Invalid("num_ref_idx default above 15"));
        }
        if h.slice_type != SLICE_B {
            h.num_ref_idx_l1_active_minus1 = 0;
        }
        if p.lists_modification_present && p.num_pic_total_curr > 1 {
            let bits = ceil_log2(p.num_pic_total_curr);
            if r.read_flag()? {
                for _ in 0..=h.num_ref_idx_l0_active_minus1 {
                    r.read_bits(bits)?;
                }
            }
            if h.slice_type == SLICE_B && r.read_flag()? {
                for _ in 0..=h.num_ref_idx_l1_active_minus1 {
                    r.read_bits(bits)?;
                }
            }
        }
        if h.slice_type == SLICE_B {
            h.mvd_l1_zero = r.read_flag()?;
        }
        if p.cabac_init_present {
            h.cabac_init = r.read_flag()?;
        }
        h.collocated_from_l0 = true;
        if h.temporal_mvp_enabled {
            if h.slice_type == SLICE_B {
                h.collocated_from_l0 = r.read_flag()?;
            }
            let n = if h.collocated_from_l0 { h.num_ref_idx_l0_active_minus1 } else { h.num_ref_idx_l1_active_minus1 };
            if n > 0 {
                h.collocated_ref_idx = r.read_ue_max("collocated_ref_idx", n as u32)? as u8;
            }
        }
        if (p.weighted_pred && h.slice_type == SLICE_P) || (p.weighted_bipred && h.slice_type == SLICE_B) {
            h.pred_weights = Some(pred_weight_table(&mut r, p, &h)?);
        }
        h.five_minus_max_num_merge_cand = r.read_ue_max("five_minus_max_num_merge_cand", 4)? as u8;
    }
    h.qp_delta = se_i8(&mut r, "slice_qp_delta", -87, 51)?;
    if p.pps_slice_chroma_qp_offsets_present {
        h.cb_qp_offset = se_i8(&mut r, "slice_cb_qp_offset", -12, 12)?;
        h.cr_qp_offset = se_i8(&mut r, "slice_cr_qp_offset", -12, 12)?;
    }
    let override_flag = p.deblocking_filter_override_enabled && r.read_flag()?;
    h.deblocking_filter_disabled = p.pps_deblocking_filter_disabled;
    h.beta_offset_div2 = p.pps_beta_offset_div2;
    h.tc_offset_div2 = p.pps_tc_offset_div2;
    if override_flag {
        h.deblocking_filter_disabled = r.read_flag()?;
        if !h.deblocking_filter_disabled {
            h.beta_offset_div2 = se_i8(&mut r, "slice_beta_offset_div2", -6, 6)?;
            h.tc_offset_div2 = se_i8(&mut r, "slice_tc_offset_div2", -6, 6)?;
        }
    }
    h.loop_filter_across_slices_enabled = p.pps_loop_filter_across_slices_enabled;
    if p.pps_loop_filter_across_slices_enabled && (h.sao_luma || h.sao_chroma || !h.deblocking_filter_disabled) {
        h.loop_filter_across_slices_enabled = r.read_flag()?;
    }
    finish_header(&mut r, p, &mut h)?;
    Ok(h)
}

/// Entry points, the header extension and byte_alignment(): the part of
/// the header every slice segment has.
fn finish_header(r: &mut BitReader, p: &ParseParams, h: &mut SliceHeader) -> Result<(), ParseError> {
    h.entry_point_offsets.clear();
    if p.tiles_enabled || p.entropy_coding_sync_enabled {
        let n = r.read_ue_max("num_entry_point_offsets", p.pic_size_in_ctbs.saturating_sub(1))?;
        if n > 0 {
            let len = r.read_ue_max("offset_len_minus1", 31)? + 1;
            h.entry_point_offsets.reserve(n as usize);
            for _ in 0..n {
                let v = r.read_bits(len)?;
                h.entry_point_offsets.push(v.checked_add(1).ok_or(ParseError::Invalid("entry_point_offset_minus1"))?);
            }
        }
    }
    if p.slice_segment_header_extension_present {
        let len = r.read_ue_max("slice_segment_header_extension_length", 256)?;
        for _ in 0..len {
            r.read_bits(8)?;
        }
    }
    // byte_alignment(): alignment_bit_equal_to_one, then zero bits.
    if !r.read_flag()? {
        return Err(ParseError::Invalid("alignment_bit_equal_to_one is 0"));
    }
    while r.rbsp_bit_pos() % 8 != 0 {
        r.read_flag()?;
    }
    h.data_rbsp_offset = (r.rbsp_bit_pos() / 8) as u32;
    h.header_epb = r.emulation_prevention_bytes() as u32;
    Ok(())
}

/// st_ref_pic_set(num_short_term_ref_pic_sets) of a slice header (7.3.7);
/// returns NumDeltaPocs[RefRpsIdx] when the set is inter-predicted, else 0.
fn st_ref_pic_set(r: &mut BitReader, p: &ParseParams) -> Result<u8, ParseError> {
    let start = r.rbsp_bit_pos();
    let inter = p.num_short_term_ref_pic_sets != 0 && r.read_flag()?;
    if inter {
        // delta_idx_minus1 is coded for the slice's own set (stRpsIdx ==
        // num_short_term_ref_pic_sets).
        r.read_ue_max("delta_idx_minus1", p.num_short_term_ref_pic_sets as u32 - 1)?;
        r.read_flag()?; // delta_rps_sign
        r.read_ue_max("abs_delta_rps_minus1", (1 << 15) - 1)?;
        // NumDeltaPocs[RefRpsIdx] is a property of an SPS set VA does not
        // carry; the loop below runs NumDeltaPocs + 1 times and ends where
        // VA's st_rps_bits says the set ends.
        let end = start + p.st_rps_bits as usize;
        let mut iterations = 0u32;
        while r.rbsp_bit_pos() < end {
            if !r.read_flag()? {
                r.read_flag()?; // use_delta_flag
            }
            iterations += 1;
            if iterations > 33 {
                return Err(ParseError::Invalid("inter RPS longer than 16 pictures"));
            }
        }
        if r.rbsp_bit_pos() != end || iterations == 0 {
            return Err(ParseError::Invalid("st_rps_bits does not end the inter-predicted RPS"));
        }
        if iterations - 1 > 16 {
            return Err(ParseError::Invalid("NumDeltaPocs above 16"));
        }
        return Ok((iterations - 1) as u8);
    }
    let neg = r.read_ue_max("num_negative_pics", 16)?;
    let pos = r.read_ue_max("num_positive_pics", 16)?;
    if neg + pos > 16 {
        return Err(ParseError::Invalid("num_negative_pics + num_positive_pics above 16"));
    }
    for _ in 0..neg + pos {
        r.read_ue_max("delta_poc_sX_minus1", (1 << 15) - 1)?;
        r.read_flag()?;
    }
    Ok(0)
}

/// pred_weight_table() (7.3.6.3).
fn pred_weight_table(r: &mut BitReader, p: &ParseParams, h: &SliceHeader) -> Result<PredWeights, ParseError> {
    let mut w = PredWeights { luma_log2_weight_denom: r.read_ue_max("luma_log2_weight_denom", 7)? as u8, ..Default::default() };
    let mut chroma_denom = w.luma_log2_weight_denom as i32;
    if p.chroma_array_type != 0 {
        let d = r.read_se()?;
        chroma_denom += d;
        if !(0..=7).contains(&chroma_denom) {
            return Err(ParseError::Invalid("delta_chroma_log2_weight_denom"));
        }
        w.delta_chroma_log2_weight_denom = d as i8;
    }
    let lists = if h.slice_type == SLICE_B { 2 } else { 1 };
    for l in 0..lists {
        let n = 1 + if l == 0 { h.num_ref_idx_l0_active_minus1 } else { h.num_ref_idx_l1_active_minus1 } as usize;
        let mut luma = [false; 16];
        let mut chroma = [false; 16];
        for f in luma.iter_mut().take(n) {
            *f = r.read_flag()?;
        }
        if p.chroma_array_type != 0 {
            for f in chroma.iter_mut().take(n) {
                *f = r.read_flag()?;
            }
        }
        for i in 0..n {
            if luma[i] {
                w.delta_luma_weight[l][i] = se_i8(r, "delta_luma_weight", -128, 127)?;
                w.luma_offset[l][i] = se_i8(r, "luma_offset", -128, 127)?;
            }
            if chroma[i] {
                for j in 0..2 {
                    let dw = r.read_se_range("delta_chroma_weight", -128, 127)?;
                    let doff = r.read_se_range("delta_chroma_offset", -512, 511)?;
                    w.delta_chroma_weight[l][i][j] = dw as i8;
                    // 7-56, WpOffsetHalfRangeC = 128 without high-precision offsets.
                    let weight = (1 << chroma_denom) + dw;
                    let off = 128 + doff - ((128 * weight) >> chroma_denom);
                    w.chroma_offset[l][i][j] = off.clamp(-128, 127) as i8;
                }
            }
        }
    }
    Ok(w)
}
