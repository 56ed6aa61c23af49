//! H.264 slice header parser (7.3.3), producing what V4L2's stateless
//! controls need and VA's slice parameters do not carry (frame_num,
//! idr_pic_id, POC syntax, bit sizes, …).
//!
//! The SPS/PPS values the parse depends on are not available as NAL units
//! (a VA client hands over parsed parameters only); [`ParamSets`] is built
//! from the VA picture parameters instead.

use super::bitreader::{BitError, BitReader};
use crate::ffi::va;
use std::fmt;

/// Errors of the slice header parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// A read failed (truncated data, bad Exp-Golomb code, value out of range).
    Bits(BitError),
    /// forbidden_zero_bit was 1.
    ForbiddenZeroBit,
    /// Not a coded slice of a non-IDR (1) or IDR (5) picture: data
    /// partitioning (2–4) and MVC/SVC slices (20, 21) are not supported.
    UnsupportedNalType(u8),
    /// The input was empty (after any start code).
    Empty,
    /// Something that looked like a start code prefix was malformed.
    BadStartCode,
    /// A loop in the header ran longer than the syntax allows.
    TooManyEntries(&'static str),
    /// A parameter-set value (from VA) outside its legal range.
    BadParamSet(&'static str),
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Bits(e) => write!(f, "{e}"),
            ParseError::ForbiddenZeroBit => write!(f, "forbidden_zero_bit is set"),
            ParseError::UnsupportedNalType(t) => {
                write!(f, "NAL unit type {t} is not a supported coded slice (only 1 and 5)")
            }
            ParseError::Empty => write!(f, "empty NAL unit"),
            ParseError::BadStartCode => write!(f, "malformed Annex-B start code"),
            ParseError::TooManyEntries(what) => write!(f, "too many {what} entries"),
            ParseError::BadParamSet(what) => write!(f, "parameter set value {what} out of range"),
        }
    }
}

impl std::error::Error for ParseError {}

impl From<BitError> for ParseError {
    fn from(e: BitError) -> Self {
        ParseError::Bits(e)
    }
}

/// Strips a leading Annex-B start code (`00 00 01`, `00 00 00 01`, or any
/// number ≥ 2 of zero bytes followed by `01`) if there is one. Data that
/// does not start with a zero byte is returned as is.
pub fn strip_start_code(data: &[u8]) -> Result<&[u8], ParseError> {
    let zeros = data.iter().take_while(|&&b| b == 0).count();
    let nal = if zeros == 0 {
        data
    } else if zeros >= 2 && data.get(zeros) == Some(&1) {
        &data[zeros + 1..]
    } else {
        return Err(ParseError::BadStartCode);
    };
    if nal.is_empty() {
        return Err(ParseError::Empty);
    }
    Ok(nal)
}

/// SPS/PPS values the slice header syntax depends on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ParamSets {
    pub separate_colour_plane_flag: bool,
    /// ChromaArrayType: chroma_format_idc, or 0 with separate colour planes.
    pub chroma_array_type: u8,
    pub log2_max_frame_num_minus4: u8,
    pub frame_mbs_only_flag: bool,
    pub pic_order_cnt_type: u8,
    pub log2_max_pic_order_cnt_lsb_minus4: u8,
    pub delta_pic_order_always_zero_flag: bool,
    pub bottom_field_pic_order_in_frame_present_flag: bool,
    pub redundant_pic_cnt_present_flag: bool,
    pub weighted_pred_flag: bool,
    pub weighted_bipred_idc: u8,
    pub entropy_coding_mode_flag: bool,
    pub deblocking_filter_control_present_flag: bool,
    /// Used when a slice does not override the active reference counts.
    pub num_ref_idx_l0_default_active_minus1: u8,
    pub num_ref_idx_l1_default_active_minus1: u8,
    pub num_slice_groups_minus1: u8,
    pub slice_group_map_type: u8,
    pub slice_group_change_rate_minus1: u16,
    pub pic_width_in_mbs: u32,
    pub pic_height_in_map_units: u32,
}

/// Copies of VA's bitfield unions. Reading a union field needs `unsafe`
/// in Rust even though every bit pattern is a valid value here (both
/// members are plain integers / bitfield storage of the same size).
pub(crate) fn va_seq_fields(pic: &va::VAPictureParameterBufferH264) -> va::_VAPictureParameterBufferH264__bindgen_ty_1__bindgen_ty_1 {
    // SAFETY: `bits` is a plain-old-data bitfield struct overlaying a u32;
    // any bit pattern is valid for it.
    unsafe { pic.seq_fields.bits }
}

pub(crate) fn va_pic_fields(pic: &va::VAPictureParameterBufferH264) -> va::_VAPictureParameterBufferH264__bindgen_ty_2__bindgen_ty_1 {
    // SAFETY: as above.
    unsafe { pic.pic_fields.bits }
}

impl ParamSets {
    /// Builds the parse parameters from VA's picture parameters. VA does not
    /// carry the PPS's num_ref_idx_lX_default_active_minus1; VA's slice
    /// parameters hold the *active* counts of that slice, which are the
    /// defaults whenever the slice has no override, and the parse reads the
    /// override otherwise — so pass the slice's VA parameters here.
    pub fn from_va(pic: &va::VAPictureParameterBufferH264, slice: Option<&va::VASliceParameterBufferH264>) -> Result<Self, ParseError> {
        let s = va_seq_fields(pic);
        let p = va_pic_fields(pic);
        let chroma_format_idc = s.chroma_format_idc() as u8;
        // VA's residual_colour_transform_flag sits where H.264 (2007+) has
        // separate_colour_plane_flag; FFmpeg fills it from that syntax element.
        let separate = s.residual_colour_transform_flag() != 0 && chroma_format_idc == 3;
        let frame_mbs_only = s.frame_mbs_only_flag() != 0;
        let h_mbs = pic.picture_height_in_mbs_minus1 as u32 + 1;
        let ps = ParamSets {
            separate_colour_plane_flag: separate,
            chroma_array_type: if separate { 0 } else { chroma_format_idc },
            log2_max_frame_num_minus4: s.log2_max_frame_num_minus4() as u8,
            frame_mbs_only_flag: frame_mbs_only,
            pic_order_cnt_type: s.pic_order_cnt_type() as u8,
            log2_max_pic_order_cnt_lsb_minus4: s.log2_max_pic_order_cnt_lsb_minus4() as u8,
            delta_pic_order_always_zero_flag: s.delta_pic_order_always_zero_flag() != 0,
            bottom_field_pic_order_in_frame_present_flag: p.pic_order_present_flag() != 0,
            redundant_pic_cnt_present_flag: p.redundant_pic_cnt_present_flag() != 0,
            weighted_pred_flag: p.weighted_pred_flag() != 0,
            weighted_bipred_idc: p.weighted_bipred_idc() as u8,
            entropy_coding_mode_flag: p.entropy_coding_mode_flag() != 0,
            deblocking_filter_control_present_flag: p.deblocking_filter_control_present_flag() != 0,
            num_ref_idx_l0_default_active_minus1: slice.map_or(0, |s| s.num_ref_idx_l0_active_minus1),
            num_ref_idx_l1_default_active_minus1: slice.map_or(0, |s| s.num_ref_idx_l1_active_minus1),
            num_slice_groups_minus1: pic.num_slice_groups_minus1,
            slice_group_map_type: pic.slice_group_map_type,
            slice_group_change_rate_minus1: pic.slice_group_change_rate_minus1,
            pic_width_in_mbs: pic.picture_width_in_mbs_minus1 as u32 + 1,
            pic_height_in_map_units: if frame_mbs_only { h_mbs } else { h_mbs.div_ceil(2) },
        };
        ps.validate()?;
        Ok(ps)
    }

    fn validate(&self) -> Result<(), ParseError> {
        if self.log2_max_frame_num_minus4 > 12 {
            return Err(ParseError::BadParamSet("log2_max_frame_num_minus4"));
        }
        if self.pic_order_cnt_type > 2 {
            return Err(ParseError::BadParamSet("pic_order_cnt_type"));
        }
        if self.log2_max_pic_order_cnt_lsb_minus4 > 12 {
            return Err(ParseError::BadParamSet("log2_max_pic_order_cnt_lsb_minus4"));
        }
        if self.weighted_bipred_idc > 2 {
            return Err(ParseError::BadParamSet("weighted_bipred_idc"));
        }
        if self.chroma_array_type > 3 {
            return Err(ParseError::BadParamSet("chroma_format_idc"));
        }
        if self.num_ref_idx_l0_default_active_minus1 > 31 {
            return Err(ParseError::BadParamSet("num_ref_idx_l0_active_minus1"));
        }
        if self.num_ref_idx_l1_default_active_minus1 > 31 {
            return Err(ParseError::BadParamSet("num_ref_idx_l1_active_minus1"));
        }
        if self.num_slice_groups_minus1 > 7 {
            return Err(ParseError::BadParamSet("num_slice_groups_minus1"));
        }
        Ok(())
    }

    /// MaxFrameNum = 2^(log2_max_frame_num_minus4 + 4).
    pub fn max_frame_num(&self) -> u32 {
        1u32 << (self.log2_max_frame_num_minus4 as u32 + 4)
    }
}

/// slice_type % 5 (Table 7-6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SliceType {
    #[default]
    P = 0,
    B = 1,
    I = 2,
    SP = 3,
    SI = 4,
}

impl SliceType {
    fn from_raw(v: u32) -> SliceType {
        match v % 5 {
            0 => SliceType::P,
            1 => SliceType::B,
            2 => SliceType::I,
            3 => SliceType::SP,
            _ => SliceType::SI,
        }
    }
    /// P or SP: has list 0 only.
    pub fn is_p_or_sp(self) -> bool {
        matches!(self, SliceType::P | SliceType::SP)
    }
    pub fn is_b(self) -> bool {
        self == SliceType::B
    }
    /// I or SI: no reference lists.
    pub fn is_intra(self) -> bool {
        matches!(self, SliceType::I | SliceType::SI)
    }
}

/// One ref_pic_list_modification() operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefPicListModification {
    /// modification_of_pic_nums_idc (0..=2; the terminating 3 is not stored).
    pub idc: u8,
    /// abs_diff_pic_num_minus1 (idc 0, 1) or long_term_pic_num (idc 2).
    pub value: u32,
}

/// One memory_management_control_operation (the terminating 0 is not stored).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Mmco {
    pub op: u8,
    pub difference_of_pic_nums_minus1: u32,
    pub long_term_pic_num: u32,
    pub long_term_frame_idx: u32,
    pub max_long_term_frame_idx_plus1: u32,
}

/// dec_ref_pic_marking() (7.3.3.3).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DecRefPicMarking {
    pub no_output_of_prior_pics_flag: bool,
    pub long_term_reference_flag: bool,
    pub adaptive_ref_pic_marking_mode_flag: bool,
    pub ops: Vec<Mmco>,
}

/// pred_weight_table() (7.3.3.2), with the inferred defaults (weight
/// 2^denom, offset 0) filled in where a flag is 0. Index 0 = list 0.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PredWeightTable {
    pub luma_log2_weight_denom: u8,
    pub chroma_log2_weight_denom: u8,
    pub luma_weight_flag: [[bool; 32]; 2],
    pub luma_weight: [[i16; 32]; 2],
    pub luma_offset: [[i16; 32]; 2],
    pub chroma_weight_flag: [[bool; 32]; 2],
    pub chroma_weight: [[[i16; 2]; 32]; 2],
    pub chroma_offset: [[[i16; 2]; 32]; 2],
}

/// A parsed slice header.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SliceHeader {
    pub nal_ref_idc: u8,
    pub nal_unit_type: u8,
    /// nal_unit_type == 5.
    pub idr_pic_flag: bool,
    pub first_mb_in_slice: u32,
    /// slice_type as coded (0..=9).
    pub slice_type_raw: u8,
    pub slice_type: SliceType,
    pub pic_parameter_set_id: u8,
    pub colour_plane_id: u8,
    pub frame_num: u16,
    pub field_pic_flag: bool,
    pub bottom_field_flag: bool,
    pub idr_pic_id: u16,
    pub pic_order_cnt_lsb: u16,
    pub delta_pic_order_cnt_bottom: i32,
    pub delta_pic_order_cnt: [i32; 2],
    pub redundant_pic_cnt: u8,
    pub direct_spatial_mv_pred_flag: bool,
    pub num_ref_idx_active_override_flag: bool,
    /// Active counts: the override if present, else the defaults from
    /// [`ParamSets`]; 0 for lists the slice type does not have.
    pub num_ref_idx_l0_active_minus1: u8,
    pub num_ref_idx_l1_active_minus1: u8,
    pub ref_pic_list_modification_flag_l0: bool,
    pub ref_pic_list_modification_flag_l1: bool,
    pub ref_pic_list_modification_l0: Vec<RefPicListModification>,
    pub ref_pic_list_modification_l1: Vec<RefPicListModification>,
    pub pred_weight_table: Option<PredWeightTable>,
    /// Present when nal_ref_idc != 0.
    pub dec_ref_pic_marking: Option<DecRefPicMarking>,
    pub cabac_init_idc: u8,
    pub slice_qp_delta: i8,
    pub sp_for_switch_flag: bool,
    pub slice_qs_delta: i8,
    pub disable_deblocking_filter_idc: u8,
    pub slice_alpha_c0_offset_div2: i8,
    pub slice_beta_offset_div2: i8,
    pub slice_group_change_cycle: u32,
    /// Size of pic_order_cnt_lsb, delta_pic_order_cnt_bottom and
    /// delta_pic_order_cnt[0..2] together, in RBSP bits (what V4L2 takes).
    pub pic_order_cnt_bit_size: u32,
    /// The same span measured in the escaped NAL (emulation-prevention bytes
    /// inside it counted).
    pub pic_order_cnt_bit_size_escaped: u32,
    /// Size of dec_ref_pic_marking() in RBSP bits (what V4L2 takes); 0 when absent.
    pub dec_ref_pic_marking_bit_size: u32,
    /// The same span in the escaped NAL.
    pub dec_ref_pic_marking_bit_size_escaped: u32,
    /// Bits from the first bit of the NAL header byte to the first bit of
    /// slice_data() (before any cabac_alignment_one_bit), in RBSP bits.
    /// Same meaning as VA's slice_data_bit_offset and V4L2's header_bit_size.
    pub header_bit_size: u32,
    /// The same point in the escaped NAL.
    pub header_bit_size_escaped: u32,
}

fn read_u8_ue(r: &mut BitReader<'_>, what: &'static str, max: u32) -> Result<u8, ParseError> {
    Ok(r.read_ue_max(what, max)? as u8)
}

fn read_i8_se(r: &mut BitReader<'_>, what: &'static str, min: i32, max: i32) -> Result<i8, ParseError> {
    Ok(r.read_se_range(what, min, max)? as i8)
}

fn parse_modifications(r: &mut BitReader<'_>, out: &mut Vec<RefPicListModification>) -> Result<(), ParseError> {
    loop {
        let idc = r.read_ue_max("modification_of_pic_nums_idc", 3)? as u8;
        if idc == 3 {
            return Ok(());
        }
        let value = r.read_ue()?;
        // At most num_ref_idx_lX_active_minus1 + 1 (≤ 32) operations.
        if out.len() >= 32 {
            return Err(ParseError::TooManyEntries("ref_pic_list_modification"));
        }
        out.push(RefPicListModification { idc, value });
    }
}

fn parse_pred_weight_table(r: &mut BitReader<'_>, ps: &ParamSets, lists: usize, counts: [u8; 2]) -> Result<PredWeightTable, ParseError> {
    let mut t = PredWeightTable { luma_log2_weight_denom: read_u8_ue(r, "luma_log2_weight_denom", 7)?, ..Default::default() };
    if ps.chroma_array_type != 0 {
        t.chroma_log2_weight_denom = read_u8_ue(r, "chroma_log2_weight_denom", 7)?;
    }
    let luma_default = 1i16 << t.luma_log2_weight_denom;
    let chroma_default = 1i16 << t.chroma_log2_weight_denom;
    for (l, &count) in counts.iter().enumerate().take(lists) {
        for i in 0..=count as usize {
            t.luma_weight[l][i] = luma_default;
            t.chroma_weight[l][i] = [chroma_default; 2];
            t.luma_weight_flag[l][i] = r.read_flag()?;
            if t.luma_weight_flag[l][i] {
                t.luma_weight[l][i] = r.read_se_range("luma_weight", -128, 127)? as i16;
                t.luma_offset[l][i] = r.read_se_range("luma_offset", -32768, 32767)? as i16;
            }
            if ps.chroma_array_type != 0 {
                t.chroma_weight_flag[l][i] = r.read_flag()?;
                if t.chroma_weight_flag[l][i] {
                    for j in 0..2 {
                        t.chroma_weight[l][i][j] = r.read_se_range("chroma_weight", -128, 127)? as i16;
                        t.chroma_offset[l][i][j] = r.read_se_range("chroma_offset", -32768, 32767)? as i16;
                    }
                }
            }
        }
    }
    Ok(t)
}

fn parse_dec_ref_pic_marking(r: &mut BitReader<'_>, idr: bool) -> Result<DecRefPicMarking, ParseError> {
    let mut m = DecRefPicMarking::default();
    if idr {
        m.no_output_of_prior_pics_flag = r.read_flag()?;
        m.long_term_reference_flag = r.read_flag()?;
        return Ok(m);
    }
    m.adaptive_ref_pic_marking_mode_flag = r.read_flag()?;
    if m.adaptive_ref_pic_marking_mode_flag {
        loop {
            let op = r.read_ue_max("memory_management_control_operation", 6)? as u8;
            if op == 0 {
                break;
            }
            let mut o = Mmco { op, ..Default::default() };
            if op == 1 || op == 3 {
                o.difference_of_pic_nums_minus1 = r.read_ue()?;
            }
            if op == 2 {
                o.long_term_pic_num = r.read_ue()?;
            }
            if op == 3 || op == 6 {
                o.long_term_frame_idx = r.read_ue()?;
            }
            if op == 4 {
                o.max_long_term_frame_idx_plus1 = r.read_ue()?;
            }
            // Each operation acts on a distinct picture or is used once; a
            // DPB holds at most 16 frames (32 fields), so 66 is generous.
            if m.ops.len() >= 66 {
                return Err(ParseError::TooManyEntries("memory_management_control_operation"));
            }
            m.ops.push(o);
        }
    }
    Ok(m)
}

/// Ceil(Log2(x)) for x ≥ 1.
fn ceil_log2(x: u32) -> u32 {
    if x <= 1 {
        0
    } else {
        32 - (x - 1).leading_zeros()
    }
}

/// Parses the header of one slice NAL unit. `nal` starts at the NAL header
/// byte; a leading Annex-B start code is tolerated and skipped. Only the
/// header bytes need to be present.
pub fn parse_slice_header(nal: &[u8], ps: &ParamSets) -> Result<SliceHeader, ParseError> {
    ps.validate()?;
    let nal = strip_start_code(nal)?;
    let mut r = BitReader::new(nal);
    let mut h = SliceHeader::default();

    if r.read_flag()? {
        return Err(ParseError::ForbiddenZeroBit);
    }
    h.nal_ref_idc = r.read_bits(2)? as u8;
    h.nal_unit_type = r.read_bits(5)? as u8;
    match h.nal_unit_type {
        1 => {}
        5 => h.idr_pic_flag = true,
        t => return Err(ParseError::UnsupportedNalType(t)),
    }

    h.first_mb_in_slice = r.read_ue()?;
    let st = r.read_ue_max("slice_type", 9)?;
    h.slice_type_raw = st as u8;
    h.slice_type = SliceType::from_raw(st);
    h.pic_parameter_set_id = read_u8_ue(&mut r, "pic_parameter_set_id", 255)?;
    if ps.separate_colour_plane_flag {
        h.colour_plane_id = r.read_bits(2)? as u8;
    }
    h.frame_num = r.read_bits(ps.log2_max_frame_num_minus4 as u32 + 4)? as u16;
    if !ps.frame_mbs_only_flag {
        h.field_pic_flag = r.read_flag()?;
        if h.field_pic_flag {
            h.bottom_field_flag = r.read_flag()?;
        }
    }
    if h.idr_pic_flag {
        h.idr_pic_id = r.read_ue_max("idr_pic_id", 65535)? as u16;
    }

    let poc_start = (r.rbsp_bit_pos(), r.raw_bit_pos());
    let delta_bottom_present = ps.bottom_field_pic_order_in_frame_present_flag && !h.field_pic_flag;
    if ps.pic_order_cnt_type == 0 {
        h.pic_order_cnt_lsb = r.read_bits(ps.log2_max_pic_order_cnt_lsb_minus4 as u32 + 4)? as u16;
        if delta_bottom_present {
            h.delta_pic_order_cnt_bottom = r.read_se()?;
        }
    }
    if ps.pic_order_cnt_type == 1 && !ps.delta_pic_order_always_zero_flag {
        h.delta_pic_order_cnt[0] = r.read_se()?;
        if delta_bottom_present {
            h.delta_pic_order_cnt[1] = r.read_se()?;
        }
    }
    h.pic_order_cnt_bit_size = (r.rbsp_bit_pos() - poc_start.0) as u32;
    h.pic_order_cnt_bit_size_escaped = (r.raw_bit_pos() - poc_start.1) as u32;

    if ps.redundant_pic_cnt_present_flag {
        h.redundant_pic_cnt = read_u8_ue(&mut r, "redundant_pic_cnt", 127)?;
    }
    if h.slice_type.is_b() {
        h.direct_spatial_mv_pred_flag = r.read_flag()?;
    }
    // 7.4.3: 0..=15 for frames, 0..=31 for fields.
    let max_idx = if h.field_pic_flag { 31 } else { 15 };
    if !h.slice_type.is_intra() {
        h.num_ref_idx_l0_active_minus1 = ps.num_ref_idx_l0_default_active_minus1;
        if h.slice_type.is_b() {
            h.num_ref_idx_l1_active_minus1 = ps.num_ref_idx_l1_default_active_minus1;
        }
        h.num_ref_idx_active_override_flag = r.read_flag()?;
        if h.num_ref_idx_active_override_flag {
            h.num_ref_idx_l0_active_minus1 = read_u8_ue(&mut r, "num_ref_idx_l0_active_minus1", max_idx)?;
            if h.slice_type.is_b() {
                h.num_ref_idx_l1_active_minus1 = read_u8_ue(&mut r, "num_ref_idx_l1_active_minus1", max_idx)?;
            }
        }
    }

    // ref_pic_list_modification() (nal_unit_type 20/21 were refused above).
    if !h.slice_type.is_intra() {
        h.ref_pic_list_modification_flag_l0 = r.read_flag()?;
        if h.ref_pic_list_modification_flag_l0 {
            parse_modifications(&mut r, &mut h.ref_pic_list_modification_l0)?;
        }
    }
    if h.slice_type.is_b() {
        h.ref_pic_list_modification_flag_l1 = r.read_flag()?;
        if h.ref_pic_list_modification_flag_l1 {
            parse_modifications(&mut r, &mut h.ref_pic_list_modification_l1)?;
        }
    }

    if (ps.weighted_pred_flag && h.slice_type.is_p_or_sp()) || (ps.weighted_bipred_idc == 1 && h.slice_type.is_b()) {
        let lists = if h.slice_type.is_b() { 2 } else { 1 };
        h.pred_weight_table = Some(parse_pred_weight_table(&mut r, ps, lists, [h.num_ref_idx_l0_active_minus1, h.num_ref_idx_l1_active_minus1])?);
    }

    if h.nal_ref_idc != 0 {
        let start = (r.rbsp_bit_pos(), r.raw_bit_pos());
        h.dec_ref_pic_marking = Some(parse_dec_ref_pic_marking(&mut r, h.idr_pic_flag)?);
        h.dec_ref_pic_marking_bit_size = (r.rbsp_bit_pos() - start.0) as u32;
        h.dec_ref_pic_marking_bit_size_escaped = (r.raw_bit_pos() - start.1) as u32;
    }

    if ps.entropy_coding_mode_flag && !h.slice_type.is_intra() {
        h.cabac_init_idc = read_u8_ue(&mut r, "cabac_init_idc", 2)?;
    }
    // SliceQPY = 26 + pic_init_qp_minus26 + slice_qp_delta ∈ [-QpBdOffsetY, 51];
    // the widest legal range over all bit depths (≤ 14) and PPS values.
    h.slice_qp_delta = read_i8_se(&mut r, "slice_qp_delta", -87, 77)?;
    if matches!(h.slice_type, SliceType::SP | SliceType::SI) {
        if h.slice_type == SliceType::SP {
            h.sp_for_switch_flag = r.read_flag()?;
        }
        h.slice_qs_delta = read_i8_se(&mut r, "slice_qs_delta", -51, 51)?;
    }
    if ps.deblocking_filter_control_present_flag {
        h.disable_deblocking_filter_idc = read_u8_ue(&mut r, "disable_deblocking_filter_idc", 2)?;
        if h.disable_deblocking_filter_idc != 1 {
            h.slice_alpha_c0_offset_div2 = read_i8_se(&mut r, "slice_alpha_c0_offset_div2", -6, 6)?;
            h.slice_beta_offset_div2 = read_i8_se(&mut r, "slice_beta_offset_div2", -6, 6)?;
        }
    }
    if ps.num_slice_groups_minus1 > 0 && (3..=5).contains(&ps.slice_group_map_type) {
        let pic_size = ps.pic_width_in_mbs.saturating_mul(ps.pic_height_in_map_units);
        let rate = ps.slice_group_change_rate_minus1 as u32 + 1;
        let bits = ceil_log2((pic_size / rate).saturating_add(1));
        h.slice_group_change_cycle = r.read_bits(bits)?;
    }

    h.header_bit_size = r.rbsp_bit_pos() as u32;
    h.header_bit_size_escaped = r.raw_bit_pos() as u32;
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::super::bitreader::tests::{escape, BitWriter};
    use super::*;

    #[test]
    fn start_codes() {
        assert_eq!(strip_start_code(&[0, 0, 1, 0x65]).unwrap(), &[0x65]);
        assert_eq!(strip_start_code(&[0, 0, 0, 1, 0x65]).unwrap(), &[0x65]);
        assert_eq!(strip_start_code(&[0x65, 0]).unwrap(), &[0x65, 0]);
        assert_eq!(strip_start_code(&[0, 0, 1]), Err(ParseError::Empty));
        assert_eq!(strip_start_code(&[]), Err(ParseError::Empty));
        assert_eq!(strip_start_code(&[0, 1, 0x65]), Err(ParseError::BadStartCode));
        assert_eq!(strip_start_code(&[0, 0, 0]), Err(ParseError::BadStartCode));
        assert_eq!(strip_start_code(&[0, 0, 2, 0x65]), Err(ParseError::BadStartCode));
    }

    #[test]
    fn ceil_log2_values() {
        assert_eq!(ceil_log2(1), 0);
        assert_eq!(ceil_log2(2), 1);
        assert_eq!(ceil_log2(3), 2);
        assert_eq!(ceil_log2(4), 2);
        assert_eq!(ceil_log2(5), 3);
        assert_eq!(ceil_log2(u32::MAX), 32);
    }

    fn field_ps() -> ParamSets {
        ParamSets {
            chroma_array_type: 1,
            log2_max_frame_num_minus4: 12,
            frame_mbs_only_flag: false,
            pic_order_cnt_type: 0,
            log2_max_pic_order_cnt_lsb_minus4: 12,
            bottom_field_pic_order_in_frame_present_flag: true,
            redundant_pic_cnt_present_flag: true,
            weighted_bipred_idc: 1,
            entropy_coding_mode_flag: true,
            deblocking_filter_control_present_flag: true,
            num_ref_idx_l0_default_active_minus1: 2,
            num_ref_idx_l1_default_active_minus1: 1,
            num_slice_groups_minus1: 1,
            slice_group_map_type: 4,
            slice_group_change_rate_minus1: 9,
            pic_width_in_mbs: 11,
            pic_height_in_map_units: 5,
            ..Default::default()
        }
    }

    /// Hand-built B field slice with every optional part present and lots of
    /// zero bits (so the escaped NAL carries emulation-prevention bytes).
    fn synthetic_b_field(w: &mut BitWriter) -> (usize, usize, usize, usize) {
        w.put(1, 0);
        w.put(2, 2); // nal_ref_idc
        w.put(5, 1);
        w.ue(0); // first_mb_in_slice
        w.ue(6); // slice_type B (all same type)
        w.ue(0); // pps id
        w.put(16, 0); // frame_num = 0 in 16 bits
        w.flag(true); // field_pic_flag
        w.flag(true); // bottom_field_flag
        let poc_start = w.bits;
        w.put(16, 0); // pic_order_cnt_lsb = 0 (no delta_bottom: field)
        let poc_end = w.bits;
        w.ue(3); // redundant_pic_cnt
        w.flag(false); // direct_spatial_mv_pred_flag
        w.flag(true); // override
        w.ue(20); // l0 (legal for fields)
        w.ue(0); // l1
        w.flag(true); // modification l0
        w.ue(0);
        w.ue(4);
        w.ue(2);
        w.ue(1);
        w.ue(3);
        w.flag(false); // modification l1
                       // pred_weight_table (weighted_bipred_idc == 1)
        w.ue(5); // luma denom
        w.ue(0); // chroma denom
        for i in 0..=20 {
            let lw = i == 3;
            w.flag(lw);
            if lw {
                w.se(-7);
                w.se(100);
            }
            let cw = i == 20;
            w.flag(cw);
            if cw {
                w.se(1);
                w.se(-2);
                w.se(3);
                w.se(-4);
            }
        }
        w.flag(true); // l1[0] luma
        w.se(0);
        w.se(0);
        w.flag(false);
        let mark_start = w.bits;
        w.flag(true); // adaptive_ref_pic_marking_mode_flag
        w.ue(1);
        w.ue(0);
        w.ue(3);
        w.ue(5);
        w.ue(1);
        w.ue(2);
        w.ue(7);
        w.ue(4);
        w.ue(0);
        w.ue(0);
        let mark_end = w.bits;
        w.ue(2); // cabac_init_idc
        w.se(-20); // slice_qp_delta
        w.ue(0); // disable_deblocking_filter_idc
        w.se(-6);
        w.se(6);
        // slice_group_change_cycle: Ceil(Log2(55 / 10 + 1)) = 3 bits
        w.put(3, 5);
        (poc_start, poc_end, mark_start, mark_end)
    }

    #[test]
    fn synthetic_field_b_slice_with_emulation_prevention() {
        let mut w = BitWriter::default();
        let (poc_start, poc_end, mark_start, mark_end) = synthetic_b_field(&mut w);
        let header_bits = w.bits;
        // slice_data follows: CABAC alignment ones and some zero payload
        w.trailing();
        w.put(32, 0);
        w.put(8, 0x80);
        let raw = escape(&w.bytes);
        assert!(raw.len() > w.bytes.len(), "test vector must contain EPBs");
        let h = parse_slice_header(&raw, &field_ps()).unwrap();
        assert_eq!(h.nal_ref_idc, 2);
        assert_eq!(h.slice_type, SliceType::B);
        assert_eq!(h.slice_type_raw, 6);
        assert!(h.field_pic_flag && h.bottom_field_flag);
        assert_eq!(h.redundant_pic_cnt, 3);
        assert!(h.num_ref_idx_active_override_flag);
        assert_eq!(h.num_ref_idx_l0_active_minus1, 20);
        assert_eq!(h.num_ref_idx_l1_active_minus1, 0);
        assert_eq!(h.ref_pic_list_modification_l0, vec![RefPicListModification { idc: 0, value: 4 }, RefPicListModification { idc: 2, value: 1 }]);
        let t = h.pred_weight_table.as_ref().unwrap();
        assert_eq!(t.luma_log2_weight_denom, 5);
        assert_eq!(t.luma_weight[0][0], 32);
        assert_eq!((t.luma_weight[0][3], t.luma_offset[0][3]), (-7, 100));
        assert_eq!(t.chroma_weight[0][19], [1, 1]);
        assert_eq!(t.chroma_weight[0][20], [1, 3]);
        assert_eq!(t.chroma_offset[0][20], [-2, -4]);
        assert_eq!(t.luma_weight[1][0], 0);
        assert!(t.luma_weight_flag[1][0]);
        assert_eq!(t.luma_weight[0][21], 0, "entries past the active count stay zero");
        let m = h.dec_ref_pic_marking.as_ref().unwrap();
        assert_eq!(m.ops.len(), 4);
        assert_eq!(m.ops[0], Mmco { op: 1, difference_of_pic_nums_minus1: 0, ..Default::default() });
        assert_eq!(m.ops[1], Mmco { op: 3, difference_of_pic_nums_minus1: 5, long_term_frame_idx: 1, ..Default::default() });
        assert_eq!(m.ops[2], Mmco { op: 2, long_term_pic_num: 7, ..Default::default() });
        assert_eq!(m.ops[3], Mmco { op: 4, max_long_term_frame_idx_plus1: 0, ..Default::default() });
        assert_eq!(h.cabac_init_idc, 2);
        assert_eq!(h.slice_qp_delta, -20);
        assert_eq!((h.slice_alpha_c0_offset_div2, h.slice_beta_offset_div2), (-6, 6));
        assert_eq!(h.slice_group_change_cycle, 5);
        assert_eq!(h.pic_order_cnt_bit_size as usize, poc_end - poc_start);
        assert_eq!(h.dec_ref_pic_marking_bit_size as usize, mark_end - mark_start);
        assert_eq!(h.header_bit_size as usize, header_bits);

        let esc = |bit: usize| escaped_bit_pos(&w.bytes, bit);
        assert_eq!(h.header_bit_size_escaped as usize, esc(header_bits));
        assert_eq!(h.pic_order_cnt_bit_size_escaped as usize, esc(poc_end) - esc(poc_start));
        assert_eq!(h.dec_ref_pic_marking_bit_size_escaped as usize, esc(mark_end) - esc(mark_start));
        assert!(h.header_bit_size_escaped > h.header_bit_size);
    }

    /// Position in the escaped stream of RBSP bit `bit`, as the reader
    /// reports it: EPBs in front of the byte holding that bit count (for a
    /// byte-aligned position, only those in front of earlier bytes).
    fn escaped_bit_pos(rbsp: &[u8], bit: usize) -> usize {
        let mut zeros = 0;
        let mut n = 0;
        for &b in &rbsp[..bit.div_ceil(8).min(rbsp.len())] {
            if zeros >= 2 && b <= 3 {
                n += 1;
                zeros = 0;
            }
            zeros = if b == 0 { zeros + 1 } else { 0 };
        }
        bit + 8 * n
    }

    /// POC type 1 with long delta_pic_order_cnt codes: find layouts where an
    /// emulation-prevention byte falls inside the POC syntax and check that
    /// the RBSP size excludes it and the escaped size includes it.
    #[test]
    fn poc_bit_size_with_emulation_prevention_inside() {
        let ps = ParamSets {
            chroma_array_type: 1,
            frame_mbs_only_flag: true,
            pic_order_cnt_type: 1,
            bottom_field_pic_order_in_frame_present_flag: true,
            ..Default::default()
        };
        let mut hits = 0;
        for k in 0..64i32 {
            let d0 = -(1 << 20) - k;
            let d1 = 1 << (k % 24);
            let mut w = BitWriter::default();
            w.put(8, 0x41); // nal_ref_idc 2, non-IDR
            w.ue(0);
            w.ue(5); // P
            w.ue(0);
            w.put(4, 0); // frame_num
            let poc_start = w.bits;
            w.se(d0);
            w.se(d1);
            let poc_end = w.bits;
            w.flag(false); // override
            w.flag(false); // list modification
            let mark_start = w.bits;
            w.flag(false); // adaptive marking
            let mark_end = w.bits;
            w.se(0); // qp delta
            let header_bits = w.bits;
            w.trailing();
            let raw = escape(&w.bytes);
            let h = parse_slice_header(&raw, &ps).unwrap();
            assert_eq!(h.delta_pic_order_cnt, [d0, d1]);
            assert_eq!(h.pic_order_cnt_bit_size as usize, poc_end - poc_start);
            assert_eq!(h.dec_ref_pic_marking_bit_size as usize, mark_end - mark_start);
            assert_eq!(h.header_bit_size as usize, header_bits);
            let esc = |bit| escaped_bit_pos(&w.bytes, bit);
            assert_eq!(h.pic_order_cnt_bit_size_escaped as usize, esc(poc_end) - esc(poc_start));
            assert_eq!(h.header_bit_size_escaped as usize, esc(header_bits));
            if h.pic_order_cnt_bit_size_escaped > h.pic_order_cnt_bit_size {
                hits += 1;
            }
        }
        assert!(hits > 0, "no layout put an EPB inside the POC syntax");
    }

    #[test]
    fn every_truncation_of_a_valid_header_is_an_error() {
        let mut w = BitWriter::default();
        synthetic_b_field(&mut w);
        let header_bits = w.bits;
        w.trailing();
        let raw = escape(&w.bytes);
        let ps = field_ps();
        // The header ends inside the last byte; any shorter prefix misses bits.
        let full = parse_slice_header(&raw, &ps).unwrap();
        assert_eq!(full.header_bit_size as usize, header_bits);
        for len in 0..raw.len() - 1 {
            assert!(parse_slice_header(&raw[..len], &ps).is_err(), "prefix of {len} bytes parsed");
        }
    }

    #[test]
    fn rejects_bad_nal_headers() {
        let ps = ParamSets { chroma_array_type: 1, frame_mbs_only_flag: true, ..Default::default() };
        assert_eq!(parse_slice_header(&[0x67, 0xff], &ps), Err(ParseError::UnsupportedNalType(7)));
        assert_eq!(parse_slice_header(&[0x74, 0xff], &ps), Err(ParseError::UnsupportedNalType(20)));
        assert_eq!(parse_slice_header(&[0xe5, 0xff], &ps), Err(ParseError::ForbiddenZeroBit));
        let bad_ps = ParamSets { log2_max_frame_num_minus4: 13, ..ps };
        assert_eq!(parse_slice_header(&[0x65, 0xff], &bad_ps), Err(ParseError::BadParamSet("log2_max_frame_num_minus4")));
    }

    #[test]
    fn random_slices_never_panic() {
        let mut s = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        let mut ok = 0;
        for iter in 0..20000 {
            let len = (next() % 40) as usize;
            let mut bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            if let Some(b) = bytes.first_mut() {
                // mostly valid slice NAL headers so the parse gets deep
                *b = [0x65, 0x41, 0x01, 0x21, 0x61, *b][iter % 6];
            }
            if iter % 7 == 0 {
                for b in bytes.iter_mut().skip(1) {
                    *b &= 0x83; // zero-heavy: Exp-Golomb prefixes and EPBs
                }
            }
            let r = next();
            let ps = ParamSets {
                separate_colour_plane_flag: r & 1 != 0,
                chroma_array_type: ((r >> 1) % 4) as u8,
                log2_max_frame_num_minus4: ((r >> 3) % 13) as u8,
                frame_mbs_only_flag: r & (1 << 8) != 0,
                pic_order_cnt_type: ((r >> 9) % 3) as u8,
                log2_max_pic_order_cnt_lsb_minus4: ((r >> 11) % 13) as u8,
                delta_pic_order_always_zero_flag: r & (1 << 15) != 0,
                bottom_field_pic_order_in_frame_present_flag: r & (1 << 16) != 0,
                redundant_pic_cnt_present_flag: r & (1 << 17) != 0,
                weighted_pred_flag: r & (1 << 18) != 0,
                weighted_bipred_idc: ((r >> 19) % 3) as u8,
                entropy_coding_mode_flag: r & (1 << 21) != 0,
                deblocking_filter_control_present_flag: r & (1 << 22) != 0,
                num_ref_idx_l0_default_active_minus1: ((r >> 23) % 32) as u8,
                num_ref_idx_l1_default_active_minus1: ((r >> 28) % 32) as u8,
                num_slice_groups_minus1: ((r >> 33) % 8) as u8,
                slice_group_map_type: ((r >> 36) % 7) as u8,
                slice_group_change_rate_minus1: (r >> 40) as u16,
                pic_width_in_mbs: ((r >> 50) % 512) as u32,
                pic_height_in_map_units: ((r >> 56) % 256) as u32,
            };
            if let Ok(h) = parse_slice_header(&bytes, &ps) {
                ok += 1;
                assert!(h.header_bit_size as usize <= bytes.len() * 8);
                assert!(h.header_bit_size <= h.header_bit_size_escaped);
            }
        }
        assert!(ok > 0, "some random headers should parse");
    }
}
