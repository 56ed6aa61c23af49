//! H.264 parameter set / slice header parsing, and the rebuild of SPS/PPS
//! NAL units from the V4L2 stateless controls.
use crate::bits::*;
use crate::uapi::*;

pub const ZIGZAG4: [usize; 16] = [0, 1, 4, 8, 5, 2, 3, 6, 9, 12, 13, 10, 7, 11, 14, 15];
pub const ZIGZAG8: [usize; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29,
    22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];
// Table 7-3 / 7-4, in zig-zag scan order.
const DEFAULT_4X4_INTRA: [u8; 16] = [6, 13, 13, 20, 20, 20, 28, 28, 28, 28, 32, 32, 32, 37, 37, 42];
const DEFAULT_4X4_INTER: [u8; 16] = [10, 14, 14, 20, 20, 20, 24, 24, 24, 24, 27, 27, 27, 30, 30, 34];
const DEFAULT_8X8_INTRA: [u8; 64] = [
    6, 10, 10, 13, 11, 13, 16, 16, 16, 16, 18, 18, 18, 18, 18, 23, 23, 23, 23, 23, 23, 25, 25, 25, 25, 25, 25, 25, 27, 27, 27, 27, 27, 27, 27, 27, 29, 29, 29,
    29, 29, 29, 29, 31, 31, 31, 31, 31, 31, 33, 33, 33, 33, 33, 36, 36, 36, 36, 38, 38, 38, 40, 40, 42,
];
const DEFAULT_8X8_INTER: [u8; 64] = [
    9, 13, 13, 15, 13, 15, 17, 17, 17, 17, 19, 19, 19, 19, 19, 21, 21, 21, 21, 21, 21, 22, 22, 22, 22, 22, 22, 22, 24, 24, 24, 24, 24, 24, 24, 24, 25, 25, 25,
    25, 25, 25, 25, 27, 27, 27, 27, 27, 27, 28, 28, 28, 28, 28, 30, 30, 30, 30, 32, 32, 32, 33, 33, 35,
];

/// Scaling lists in zig-zag order (as coded in the bitstream).
#[derive(Clone, Debug, PartialEq)]
pub struct ScalingLists {
    pub l4: [[u8; 16]; 6],
    pub l8: [[u8; 64]; 6],
}

impl ScalingLists {
    pub fn flat() -> Self {
        ScalingLists { l4: [[16; 16]; 6], l8: [[16; 64]; 6] }
    }
    /// To the V4L2 control (raster order).
    pub fn to_ctrl(&self) -> v4l2_ctrl_h264_scaling_matrix {
        let mut m = v4l2_ctrl_h264_scaling_matrix::default();
        for i in 0..6 {
            for k in 0..16 {
                m.scaling_list_4x4[i][ZIGZAG4[k]] = self.l4[i][k];
            }
            for k in 0..64 {
                m.scaling_list_8x8[i][ZIGZAG8[k]] = self.l8[i][k];
            }
        }
        m
    }
    pub fn from_ctrl(m: &v4l2_ctrl_h264_scaling_matrix) -> Self {
        let mut s = Self::flat();
        for i in 0..6 {
            for k in 0..16 {
                s.l4[i][k] = m.scaling_list_4x4[i][ZIGZAG4[k]];
            }
            for k in 0..64 {
                s.l8[i][k] = m.scaling_list_8x8[i][ZIGZAG8[k]];
            }
        }
        s
    }
}

/// Parses scaling_list(); Ok(None) = use default matrix.
fn read_scaling_list(r: &mut BitReader, out: &mut [u8]) -> BResult<bool> {
    let mut last = 8i32;
    let mut next = 8i32;
    for j in 0..out.len() {
        if next != 0 {
            let delta = r.se()?;
            next = (last + delta + 256) % 256;
            if j == 0 && next == 0 {
                return Ok(true); // useDefaultScalingMatrixFlag
            }
        }
        out[j] = if next == 0 { last as u8 } else { next as u8 };
        last = out[j] as i32;
    }
    Ok(false)
}

fn write_scaling_list(w: &mut BitWriter, l: &[u8]) {
    let mut last = 8i32;
    for &v in l {
        let mut d = v as i32 - last;
        if d > 127 {
            d -= 256;
        }
        if d < -128 {
            d += 256;
        }
        w.se(d);
        last = v as i32;
    }
}

/// Reads the n scaling lists of an SPS (fall-back rule A, fallback=None) or
/// a PPS (rule B, fallback=Some(sps lists)).
fn read_scaling_matrix(r: &mut BitReader, n8: usize, fallback: Option<&ScalingLists>) -> BResult<ScalingLists> {
    let mut s = ScalingLists::flat();
    for i in 0..6 + n8 {
        let present = r.flag()?;
        if i < 6 {
            let mut l = [0u8; 16];
            let use_default = present && read_scaling_list(r, &mut l)?;
            s.l4[i] = if present && !use_default {
                l
            } else if use_default {
                if i < 3 {
                    DEFAULT_4X4_INTRA
                } else {
                    DEFAULT_4X4_INTER
                }
            } else if i == 0 || i == 3 {
                match fallback {
                    Some(f) => f.l4[i],
                    None => {
                        if i == 0 {
                            DEFAULT_4X4_INTRA
                        } else {
                            DEFAULT_4X4_INTER
                        }
                    }
                }
            } else {
                s.l4[i - 1]
            };
        } else {
            let k = i - 6;
            let mut l = [0u8; 64];
            let use_default = present && read_scaling_list(r, &mut l)?;
            s.l8[k] = if present && !use_default {
                l
            } else if use_default {
                if k % 2 == 0 {
                    DEFAULT_8X8_INTRA
                } else {
                    DEFAULT_8X8_INTER
                }
            } else if k < 2 {
                match fallback {
                    Some(f) => f.l8[k],
                    None => {
                        if k == 0 {
                            DEFAULT_8X8_INTRA
                        } else {
                            DEFAULT_8X8_INTER
                        }
                    }
                }
            } else {
                s.l8[k - 2]
            };
        }
    }
    // 8x8 lists not transmitted (4:2:0 sends only 2): rule for chroma 8x8
    // lists is irrelevant for 4:2:0 but keep them consistent.
    if n8 == 2 {
        for k in 2..6 {
            s.l8[k] = s.l8[k - 2];
        }
    } else if n8 == 0 {
        if let Some(f) = fallback {
            s.l8 = f.l8;
        }
    }
    Ok(s)
}

fn has_chroma_format(profile_idc: u8) -> bool {
    matches!(profile_idc, 100 | 110 | 122 | 244 | 44 | 83 | 86 | 118 | 128 | 138 | 139 | 134 | 135)
}

/// A parsed SPS: the V4L2 control plus what the control cannot carry.
#[derive(Clone)]
pub struct Sps {
    pub ctrl: v4l2_ctrl_h264_sps,
    pub scaling: Option<ScalingLists>,
    pub frame_cropping: Option<[u32; 4]>,
    pub vui_present: bool,
}

#[derive(Clone)]
pub struct Pps {
    pub ctrl: v4l2_ctrl_h264_pps,
    /// Effective scaling lists (after fall-back) if SPS or PPS carry any.
    pub scaling: Option<ScalingLists>,
}

pub fn nal_type(nal: &[u8]) -> u8 {
    nal[0] & 0x1f
}

pub fn parse_sps(nal: &[u8]) -> BResult<Sps> {
    let rbsp = nal_to_rbsp(&nal[1..]);
    let mut r = BitReader::new(&rbsp);
    let mut c = v4l2_ctrl_h264_sps::default();
    c.profile_idc = r.u(8)? as u8;
    c.constraint_set_flags = (r.u(8)? >> 2) as u8;
    // constraint_set0 is the MSB: uAPI bit0 = set0
    let raw = c.constraint_set_flags;
    let mut f = 0u8;
    for i in 0..6 {
        if raw & (1 << (5 - i)) != 0 {
            f |= 1 << i;
        }
    }
    c.constraint_set_flags = f;
    c.level_idc = r.u(8)? as u8;
    c.seq_parameter_set_id = r.ue()? as u8;
    c.chroma_format_idc = 1;
    let mut scaling = None;
    if has_chroma_format(c.profile_idc) {
        c.chroma_format_idc = r.ue()? as u8;
        if c.chroma_format_idc == 3 && r.flag()? {
            c.flags |= V4L2_H264_SPS_FLAG_SEPARATE_COLOUR_PLANE;
        }
        c.bit_depth_luma_minus8 = r.ue()? as u8;
        c.bit_depth_chroma_minus8 = r.ue()? as u8;
        if r.flag()? {
            c.flags |= V4L2_H264_SPS_FLAG_QPPRIME_Y_ZERO_TRANSFORM_BYPASS;
        }
        if r.flag()? {
            let n8 = if c.chroma_format_idc != 3 { 2 } else { 6 };
            scaling = Some(read_scaling_matrix(&mut r, n8, None)?);
        }
    }
    c.log2_max_frame_num_minus4 = r.ue()? as u8;
    c.pic_order_cnt_type = r.ue()? as u8;
    if c.pic_order_cnt_type == 0 {
        c.log2_max_pic_order_cnt_lsb_minus4 = r.ue()? as u8;
    } else if c.pic_order_cnt_type == 1 {
        if r.flag()? {
            c.flags |= V4L2_H264_SPS_FLAG_DELTA_PIC_ORDER_ALWAYS_ZERO;
        }
        c.offset_for_non_ref_pic = r.se()?;
        c.offset_for_top_to_bottom_field = r.se()?;
        c.num_ref_frames_in_pic_order_cnt_cycle = r.ue()? as u8;
        for i in 0..c.num_ref_frames_in_pic_order_cnt_cycle as usize {
            c.offset_for_ref_frame[i] = r.se()?;
        }
    }
    c.max_num_ref_frames = r.ue()? as u8;
    if r.flag()? {
        c.flags |= V4L2_H264_SPS_FLAG_GAPS_IN_FRAME_NUM_VALUE_ALLOWED;
    }
    c.pic_width_in_mbs_minus1 = r.ue()? as u16;
    c.pic_height_in_map_units_minus1 = r.ue()? as u16;
    let frame_mbs_only = r.flag()?;
    if frame_mbs_only {
        c.flags |= V4L2_H264_SPS_FLAG_FRAME_MBS_ONLY;
    } else if r.flag()? {
        c.flags |= V4L2_H264_SPS_FLAG_MB_ADAPTIVE_FRAME_FIELD;
    }
    if r.flag()? {
        c.flags |= V4L2_H264_SPS_FLAG_DIRECT_8X8_INFERENCE;
    }
    let frame_cropping = if r.flag()? { Some([r.ue()?, r.ue()?, r.ue()?, r.ue()?]) } else { None };
    let vui_present = r.flag()?;
    Ok(Sps { ctrl: c, scaling, frame_cropping, vui_present })
}

pub fn parse_pps(nal: &[u8], sps_of: impl Fn(u8) -> Option<Sps>) -> BResult<Pps> {
    let rbsp = nal_to_rbsp(&nal[1..]);
    let mut r = BitReader::new(&rbsp);
    let mut c = v4l2_ctrl_h264_pps::default();
    c.pic_parameter_set_id = r.ue()? as u8;
    c.seq_parameter_set_id = r.ue()? as u8;
    let sps = sps_of(c.seq_parameter_set_id).ok_or(BitError)?;
    if r.flag()? {
        c.flags |= V4L2_H264_PPS_FLAG_ENTROPY_CODING_MODE as u16;
    }
    if r.flag()? {
        c.flags |= V4L2_H264_PPS_FLAG_BOTTOM_FIELD_PIC_ORDER_IN_FRAME_PRESENT as u16;
    }
    c.num_slice_groups_minus1 = r.ue()? as u8;
    if c.num_slice_groups_minus1 > 0 {
        return Err(BitError); // FMO not representable in the uAPI
    }
    c.num_ref_idx_l0_default_active_minus1 = r.ue()? as u8;
    c.num_ref_idx_l1_default_active_minus1 = r.ue()? as u8;
    if r.flag()? {
        c.flags |= V4L2_H264_PPS_FLAG_WEIGHTED_PRED as u16;
    }
    c.weighted_bipred_idc = r.u(2)? as u8;
    c.pic_init_qp_minus26 = r.se()? as i8;
    c.pic_init_qs_minus26 = r.se()? as i8;
    c.chroma_qp_index_offset = r.se()? as i8;
    if r.flag()? {
        c.flags |= V4L2_H264_PPS_FLAG_DEBLOCKING_FILTER_CONTROL_PRESENT as u16;
    }
    if r.flag()? {
        c.flags |= V4L2_H264_PPS_FLAG_CONSTRAINED_INTRA_PRED as u16;
    }
    if r.flag()? {
        c.flags |= V4L2_H264_PPS_FLAG_REDUNDANT_PIC_CNT_PRESENT as u16;
    }
    c.second_chroma_qp_index_offset = c.chroma_qp_index_offset;
    let mut scaling = sps.scaling.clone();
    if r.more_rbsp_data() {
        if r.flag()? {
            c.flags |= V4L2_H264_PPS_FLAG_TRANSFORM_8X8_MODE as u16;
        }
        if r.flag()? {
            let t8 = c.flags & V4L2_H264_PPS_FLAG_TRANSFORM_8X8_MODE as u16 != 0;
            let n8 = if t8 {
                if sps.ctrl.chroma_format_idc == 3 {
                    6
                } else {
                    2
                }
            } else {
                0
            };
            // Fall-back rule B refers to the SPS lists, or to Flat when the
            // SPS has none... no: rule A defaults when the SPS has none.
            let fb = sps.scaling.clone().unwrap_or_else(|| {
                let mut d = ScalingLists::flat();
                d.l4[0] = DEFAULT_4X4_INTRA;
                d.l4[3] = DEFAULT_4X4_INTER;
                d.l8[0] = DEFAULT_8X8_INTRA;
                d.l8[1] = DEFAULT_8X8_INTER;
                d
            });
            scaling = Some(read_scaling_matrix(&mut r, n8, Some(&fb))?);
        }
        c.second_chroma_qp_index_offset = r.se()? as i8;
    }
    if scaling.is_some() {
        c.flags |= V4L2_H264_PPS_FLAG_SCALING_MATRIX_PRESENT as u16;
    }
    Ok(Pps { ctrl: c, scaling })
}

fn push_nal(out: &mut Vec<u8>, header: u8, rbsp: &[u8]) {
    out.extend_from_slice(&[0, 0, 0, 1, header]);
    out.extend_from_slice(&rbsp_to_nal(rbsp));
}

/// Rebuilds an SPS NAL unit (Annex-B, with start code) from the control.
/// No VUI and no cropping: they do not influence decoded samples.  Scaling
/// lists are carried by the rebuilt PPS instead.
pub fn write_sps(c: &v4l2_ctrl_h264_sps, out: &mut Vec<u8>) {
    let mut w = BitWriter::new();
    w.u(8, c.profile_idc as u32);
    for i in 0..6 {
        w.u1(c.constraint_set_flags & (1 << i) != 0);
    }
    w.u(2, 0);
    w.u(8, c.level_idc as u32);
    w.ue(c.seq_parameter_set_id as u32);
    if has_chroma_format(c.profile_idc) {
        w.ue(c.chroma_format_idc as u32);
        if c.chroma_format_idc == 3 {
            w.u1(c.flags & V4L2_H264_SPS_FLAG_SEPARATE_COLOUR_PLANE != 0);
        }
        w.ue(c.bit_depth_luma_minus8 as u32);
        w.ue(c.bit_depth_chroma_minus8 as u32);
        w.u1(c.flags & V4L2_H264_SPS_FLAG_QPPRIME_Y_ZERO_TRANSFORM_BYPASS != 0);
        w.u1(false); // seq_scaling_matrix_present_flag
    }
    w.ue(c.log2_max_frame_num_minus4 as u32);
    w.ue(c.pic_order_cnt_type as u32);
    if c.pic_order_cnt_type == 0 {
        w.ue(c.log2_max_pic_order_cnt_lsb_minus4 as u32);
    } else if c.pic_order_cnt_type == 1 {
        w.u1(c.flags & V4L2_H264_SPS_FLAG_DELTA_PIC_ORDER_ALWAYS_ZERO != 0);
        w.se(c.offset_for_non_ref_pic);
        w.se(c.offset_for_top_to_bottom_field);
        w.ue(c.num_ref_frames_in_pic_order_cnt_cycle as u32);
        for i in 0..c.num_ref_frames_in_pic_order_cnt_cycle as usize {
            w.se(c.offset_for_ref_frame[i]);
        }
    }
    w.ue(c.max_num_ref_frames as u32);
    w.u1(c.flags & V4L2_H264_SPS_FLAG_GAPS_IN_FRAME_NUM_VALUE_ALLOWED != 0);
    w.ue(c.pic_width_in_mbs_minus1 as u32);
    w.ue(c.pic_height_in_map_units_minus1 as u32);
    let fmo = c.flags & V4L2_H264_SPS_FLAG_FRAME_MBS_ONLY != 0;
    w.u1(fmo);
    if !fmo {
        w.u1(c.flags & V4L2_H264_SPS_FLAG_MB_ADAPTIVE_FRAME_FIELD != 0);
    }
    w.u1(c.flags & V4L2_H264_SPS_FLAG_DIRECT_8X8_INFERENCE != 0);
    w.u1(false); // frame_cropping_flag
    w.u1(false); // vui_parameters_present_flag
    push_nal(out, 0x67, &w.finish_rbsp());
}

/// Rebuilds a PPS NAL unit.  When the scaling matrix flag is set, every list
/// is sent explicitly (pic_scaling_list_present_flag = 1), which yields the
/// same effective matrices as any combination of SPS/PPS lists.
pub fn write_pps(c: &v4l2_ctrl_h264_pps, sps: &v4l2_ctrl_h264_sps, sm: Option<&v4l2_ctrl_h264_scaling_matrix>, out: &mut Vec<u8>) {
    let f = |b: u32| c.flags & b as u16 != 0;
    let mut w = BitWriter::new();
    w.ue(c.pic_parameter_set_id as u32);
    w.ue(c.seq_parameter_set_id as u32);
    w.u1(f(V4L2_H264_PPS_FLAG_ENTROPY_CODING_MODE));
    w.u1(f(V4L2_H264_PPS_FLAG_BOTTOM_FIELD_PIC_ORDER_IN_FRAME_PRESENT));
    w.ue(0); // num_slice_groups_minus1
    w.ue(c.num_ref_idx_l0_default_active_minus1 as u32);
    w.ue(c.num_ref_idx_l1_default_active_minus1 as u32);
    w.u1(f(V4L2_H264_PPS_FLAG_WEIGHTED_PRED));
    w.u(2, c.weighted_bipred_idc as u32);
    w.se(c.pic_init_qp_minus26 as i32);
    w.se(c.pic_init_qs_minus26 as i32);
    w.se(c.chroma_qp_index_offset as i32);
    w.u1(f(V4L2_H264_PPS_FLAG_DEBLOCKING_FILTER_CONTROL_PRESENT));
    w.u1(f(V4L2_H264_PPS_FLAG_CONSTRAINED_INTRA_PRED));
    w.u1(f(V4L2_H264_PPS_FLAG_REDUNDANT_PIC_CNT_PRESENT));
    let t8 = f(V4L2_H264_PPS_FLAG_TRANSFORM_8X8_MODE);
    let sm = if f(V4L2_H264_PPS_FLAG_SCALING_MATRIX_PRESENT) { sm } else { None };
    if t8 || sm.is_some() || c.second_chroma_qp_index_offset != c.chroma_qp_index_offset {
        w.u1(t8);
        w.u1(sm.is_some());
        if let Some(m) = sm {
            let lists = ScalingLists::from_ctrl(m);
            let n8 = if t8 {
                if sps.chroma_format_idc == 3 {
                    6
                } else {
                    2
                }
            } else {
                0
            };
            for i in 0..6 {
                w.u1(true);
                write_scaling_list(&mut w, &lists.l4[i]);
            }
            for k in 0..n8 {
                w.u1(true);
                write_scaling_list(&mut w, &lists.l8[k]);
            }
        }
        w.se(c.second_chroma_qp_index_offset as i32);
    }
    push_nal(out, 0x68, &w.finish_rbsp());
}

#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Mmco {
    pub op: u32,
    pub difference_of_pic_nums_minus1: u32,
    pub long_term_pic_num: u32,
    pub long_term_frame_idx: u32,
    pub max_long_term_frame_idx_plus1: u32,
}

#[derive(Clone, Debug, Default)]
pub struct SliceHeader {
    pub nal_ref_idc: u8,
    pub nal_unit_type: u8,
    pub first_mb_in_slice: u32,
    pub slice_type: u8, // 0..4 (mod 5)
    pub pps_id: u32,
    pub colour_plane_id: u8,
    pub frame_num: u32,
    pub field_pic: bool,
    pub bottom_field: bool,
    pub idr_pic_id: u32,
    pub pic_order_cnt_lsb: u32,
    pub delta_pic_order_cnt_bottom: i32,
    pub delta_pic_order_cnt: [i32; 2],
    pub redundant_pic_cnt: u32,
    pub direct_spatial_mv_pred: bool,
    pub num_ref_idx_l0_active_minus1: u32,
    pub num_ref_idx_l1_active_minus1: u32,
    /// (modification_of_pic_nums_idc, value) per list
    pub ref_pic_list_mod: [Vec<(u32, u32)>; 2],
    pub pred_weights: Option<v4l2_ctrl_h264_pred_weights>,
    pub no_output_of_prior_pics: bool,
    pub long_term_reference_flag: bool,
    pub adaptive_ref_pic_marking: bool,
    pub mmcos: Vec<Mmco>,
    pub cabac_init_idc: u32,
    pub slice_qp_delta: i32,
    pub sp_for_switch: bool,
    pub slice_qs_delta: i32,
    pub disable_deblocking_filter_idc: u32,
    pub slice_alpha_c0_offset_div2: i32,
    pub slice_beta_offset_div2: i32,
    /// Bits of pic_order_cnt_lsb .. delta_pic_order_cnt[1].
    pub pic_order_cnt_bit_size: u32,
    pub dec_ref_pic_marking_bit_size: u32,
    /// Bits from the start of slice_header() (after the NAL header) to
    /// slice_data(), in RBSP bits.
    pub header_bit_size: u32,
}

impl SliceHeader {
    pub fn is_idr(&self) -> bool {
        self.nal_unit_type == 5
    }
    pub fn is_b(&self) -> bool {
        self.slice_type == 1
    }
    pub fn is_p(&self) -> bool {
        self.slice_type == 0 || self.slice_type == 3
    }
    pub fn is_i(&self) -> bool {
        self.slice_type == 2 || self.slice_type == 4
    }
}

/// Parses the slice header of a slice NAL unit (NAL header byte included,
/// no start code).
pub fn parse_slice_header(nal: &[u8], sps: &v4l2_ctrl_h264_sps, pps: &v4l2_ctrl_h264_pps) -> BResult<SliceHeader> {
    let mut h = SliceHeader { nal_ref_idc: (nal[0] >> 5) & 3, nal_unit_type: nal[0] & 0x1f, ..Default::default() };
    let rbsp = nal_to_rbsp(&nal[1..]);
    let mut r = BitReader::new(&rbsp);
    let pf = |b: u32| pps.flags & b as u16 != 0;
    h.first_mb_in_slice = r.ue()?;
    h.slice_type = (r.ue()? % 5) as u8;
    h.pps_id = r.ue()?;
    if sps.flags & V4L2_H264_SPS_FLAG_SEPARATE_COLOUR_PLANE != 0 {
        h.colour_plane_id = r.u(2)? as u8;
    }
    h.frame_num = r.u(sps.log2_max_frame_num_minus4 as u32 + 4)?;
    if sps.flags & V4L2_H264_SPS_FLAG_FRAME_MBS_ONLY == 0 {
        h.field_pic = r.flag()?;
        if h.field_pic {
            h.bottom_field = r.flag()?;
        }
    }
    if h.is_idr() {
        h.idr_pic_id = r.ue()?;
    }
    let poc_start = r.pos();
    let bfpo = pf(V4L2_H264_PPS_FLAG_BOTTOM_FIELD_PIC_ORDER_IN_FRAME_PRESENT);
    if sps.pic_order_cnt_type == 0 {
        h.pic_order_cnt_lsb = r.u(sps.log2_max_pic_order_cnt_lsb_minus4 as u32 + 4)?;
        if bfpo && !h.field_pic {
            h.delta_pic_order_cnt_bottom = r.se()?;
        }
    }
    if sps.pic_order_cnt_type == 1 && sps.flags & V4L2_H264_SPS_FLAG_DELTA_PIC_ORDER_ALWAYS_ZERO == 0 {
        h.delta_pic_order_cnt[0] = r.se()?;
        if bfpo && !h.field_pic {
            h.delta_pic_order_cnt[1] = r.se()?;
        }
    }
    h.pic_order_cnt_bit_size = (r.pos() - poc_start) as u32;
    if pf(V4L2_H264_PPS_FLAG_REDUNDANT_PIC_CNT_PRESENT) {
        h.redundant_pic_cnt = r.ue()?;
    }
    if h.is_b() {
        h.direct_spatial_mv_pred = r.flag()?;
    }
    h.num_ref_idx_l0_active_minus1 = pps.num_ref_idx_l0_default_active_minus1 as u32;
    h.num_ref_idx_l1_active_minus1 = pps.num_ref_idx_l1_default_active_minus1 as u32;
    if h.is_p() || h.is_b() {
        if r.flag()? {
            h.num_ref_idx_l0_active_minus1 = r.ue()?;
            if h.is_b() {
                h.num_ref_idx_l1_active_minus1 = r.ue()?;
            }
        }
    }
    if !h.is_b() {
        h.num_ref_idx_l1_active_minus1 = 0;
    }
    if h.is_i() {
        h.num_ref_idx_l0_active_minus1 = 0;
    }
    if h.num_ref_idx_l0_active_minus1 > 31 || h.num_ref_idx_l1_active_minus1 > 31 {
        return Err(BitError);
    }
    for l in 0..2 {
        if (l == 0 && !h.is_i()) || (l == 1 && h.is_b()) {
            if r.flag()? {
                loop {
                    let idc = r.ue()?;
                    if idc == 3 {
                        break;
                    }
                    if idc > 5 {
                        return Err(BitError);
                    }
                    let v = r.ue()?;
                    h.ref_pic_list_mod[l].push((idc, v));
                }
            }
        }
    }
    if (pf(V4L2_H264_PPS_FLAG_WEIGHTED_PRED) && h.is_p()) || (pps.weighted_bipred_idc == 1 && h.is_b()) {
        let mut pw = v4l2_ctrl_h264_pred_weights::default();
        pw.luma_log2_weight_denom = r.ue()? as u16;
        let chroma = sps.chroma_format_idc != 0 && sps.flags & V4L2_H264_SPS_FLAG_SEPARATE_COLOUR_PLANE == 0;
        if chroma {
            pw.chroma_log2_weight_denom = r.ue()? as u16;
        }
        for l in 0..if h.is_b() { 2 } else { 1 } {
            let n = if l == 0 { h.num_ref_idx_l0_active_minus1 } else { h.num_ref_idx_l1_active_minus1 };
            let wf = &mut pw.weight_factors[l];
            for i in 0..=n as usize {
                wf.luma_weight[i] = 1 << pw.luma_log2_weight_denom;
                if r.flag()? {
                    wf.luma_weight[i] = r.se()? as i16;
                    wf.luma_offset[i] = r.se()? as i16;
                }
                if chroma {
                    wf.chroma_weight[i] = [1 << pw.chroma_log2_weight_denom; 2];
                    if r.flag()? {
                        for j in 0..2 {
                            wf.chroma_weight[i][j] = r.se()? as i16;
                            wf.chroma_offset[i][j] = r.se()? as i16;
                        }
                    }
                }
            }
        }
        h.pred_weights = Some(pw);
    }
    if h.nal_ref_idc != 0 {
        let start = r.pos();
        if h.is_idr() {
            h.no_output_of_prior_pics = r.flag()?;
            h.long_term_reference_flag = r.flag()?;
        } else {
            h.adaptive_ref_pic_marking = r.flag()?;
            if h.adaptive_ref_pic_marking {
                loop {
                    let op = r.ue()?;
                    if op == 0 {
                        break;
                    }
                    if op > 6 {
                        return Err(BitError);
                    }
                    let mut m = Mmco { op, ..Default::default() };
                    if op == 1 || op == 3 {
                        m.difference_of_pic_nums_minus1 = r.ue()?;
                    }
                    if op == 2 {
                        m.long_term_pic_num = r.ue()?;
                    }
                    if op == 3 || op == 6 {
                        m.long_term_frame_idx = r.ue()?;
                    }
                    if op == 4 {
                        m.max_long_term_frame_idx_plus1 = r.ue()?;
                    }
                    h.mmcos.push(m);
                    if h.mmcos.len() > 66 {
                        return Err(BitError);
                    }
                }
            }
        }
        h.dec_ref_pic_marking_bit_size = (r.pos() - start) as u32;
    }
    if pf(V4L2_H264_PPS_FLAG_ENTROPY_CODING_MODE) && !h.is_i() {
        h.cabac_init_idc = r.ue()?;
    }
    h.slice_qp_delta = r.se()?;
    if h.slice_type == 3 || h.slice_type == 4 {
        if h.slice_type == 3 {
            h.sp_for_switch = r.flag()?;
        }
        h.slice_qs_delta = r.se()?;
    }
    if pf(V4L2_H264_PPS_FLAG_DEBLOCKING_FILTER_CONTROL_PRESENT) {
        h.disable_deblocking_filter_idc = r.ue()?;
        if h.disable_deblocking_filter_idc != 1 {
            h.slice_alpha_c0_offset_div2 = r.se()?;
            h.slice_beta_offset_div2 = r.se()?;
        }
    }
    h.header_bit_size = r.pos() as u32;
    if r.bits_left() < 0 {
        return Err(BitError);
    }
    Ok(h)
}

/// Width/height in luma samples of the coded frame.
pub fn coded_size(sps: &v4l2_ctrl_h264_sps) -> (u32, u32) {
    let w = (sps.pic_width_in_mbs_minus1 as u32 + 1) * 16;
    let fmo = sps.flags & V4L2_H264_SPS_FLAG_FRAME_MBS_ONLY != 0;
    let h = (sps.pic_height_in_map_units_minus1 as u32 + 1) * 16 * if fmo { 1 } else { 2 };
    (w, h)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn x264_param_sets(extra: &[&str]) -> Option<(Vec<u8>, Vec<u8>)> {
        let dir = std::env::temp_dir().join(format!("hantro-sim-h264-{}", std::process::id()));
        std::fs::create_dir_all(&dir).ok()?;
        let out = dir.join(format!("ps{}.h264", extra.len()));
        let mut args = vec!["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=176x144:rate=25", "-frames:v", "2", "-c:v", "libx264"];
        args.extend_from_slice(extra);
        let o = out.to_string_lossy().to_string();
        args.push(&o);
        let ok = std::process::Command::new("ffmpeg").args(&args).status().ok()?.success();
        if !ok {
            return None;
        }
        let data = std::fs::read(&out).ok()?;
        let nals = crate::bits::split_annexb(&data);
        let sps = nals.iter().find(|n| nal_type(n) == 7)?.to_vec();
        let pps = nals.iter().find(|n| nal_type(n) == 8)?.to_vec();
        Some((sps, pps))
    }

    /// x264 SPS/PPS -> V4L2 controls -> rebuilt NAL units -> parsed again:
    /// every field the controls carry survives, and the effective scaling
    /// lists are identical.
    #[test]
    fn sps_pps_rebuild_round_trip() {
        let cqm = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/sim/custom.cqm");
        let cqm_arg = format!("cqmfile={cqm}");
        let variants: Vec<Vec<&str>> = vec![
            vec![],
            vec!["-profile:v", "baseline"],
            vec!["-profile:v", "main", "-x264-params", "weightb=1:bframes=2"],
            vec!["-x264-params", &cqm_arg],
            vec!["-x264-params", "cqm=jvt:chroma-qp-offset=3"],
        ];
        for v in variants {
            let Some((sps_nal, pps_nal)) = x264_param_sets(&v) else {
                eprintln!("ffmpeg/libx264 missing: skipped");
                return;
            };
            let sps = parse_sps(&sps_nal).unwrap();
            let pps = parse_pps(&pps_nal, |_| Some(sps.clone())).unwrap();
            let sm = pps.scaling.as_ref().map(|s| s.to_ctrl());
            let mut out = Vec::new();
            write_sps(&sps.ctrl, &mut out);
            write_pps(&pps.ctrl, &sps.ctrl, sm.as_ref(), &mut out);
            let nals = crate::bits::split_annexb(&out);
            assert_eq!(nals.len(), 2);
            let sps2 = parse_sps(nals[0]).unwrap();
            let pps2 = parse_pps(nals[1], |_| Some(sps2.clone())).unwrap();
            assert_eq!(crate::ctrls::struct_bytes(&sps.ctrl), crate::ctrls::struct_bytes(&sps2.ctrl), "{v:?}: SPS control differs");
            assert_eq!(crate::ctrls::struct_bytes(&pps.ctrl), crate::ctrls::struct_bytes(&pps2.ctrl), "{v:?}: PPS control differs");
            assert_eq!(pps.scaling, pps2.scaling, "{v:?}: scaling lists differ");
        }
    }

    /// SPS-level lists with fall-back rule A, and PPS lists with rule B.
    #[test]
    fn scaling_list_fallback_rules() {
        // hand-written SPS with seq_scaling_matrix_present_flag = 1:
        // list 0 explicit, list 1 absent (-> list 0), list 3 "use default"
        let mut w = crate::bits::BitWriter::new();
        w.u(8, 100);
        w.u(8, 0);
        w.u(8, 30);
        w.ue(0);
        w.ue(1);
        w.ue(0);
        w.ue(0);
        w.u1(false);
        w.u1(true); // seq_scaling_matrix_present_flag
        let l0: Vec<u8> = (0..16).map(|i| 10 + i as u8).collect();
        for i in 0..8 {
            match i {
                0 => {
                    w.u1(true);
                    write_scaling_list(&mut w, &l0);
                }
                3 => {
                    w.u1(true);
                    w.se(-8); // nextScale 0 at j=0 -> default list
                }
                _ => w.u1(false),
            }
        }
        w.ue(0); // log2_max_frame_num_minus4
        w.ue(2); // poc type
        w.ue(1);
        w.u1(false);
        w.ue(10);
        w.ue(8);
        w.u1(true);
        w.u1(true);
        w.u1(false);
        w.u1(false);
        let mut nal = vec![0x67];
        nal.extend(crate::bits::rbsp_to_nal(&w.finish_rbsp()));
        let sps = parse_sps(&nal).unwrap();
        let sl = sps.scaling.clone().unwrap();
        assert_eq!(sl.l4[0].to_vec(), l0);
        assert_eq!(sl.l4[1].to_vec(), l0, "rule A: list 1 falls back to list 0");
        assert_eq!(sl.l4[2].to_vec(), l0);
        assert_eq!(sl.l4[3], DEFAULT_4X4_INTER, "useDefaultScalingMatrixFlag");
        assert_eq!(sl.l8[0], DEFAULT_8X8_INTRA, "rule A: 8x8 intra falls back to default");
        // PPS with transform_8x8 and a matrix where only list 1 is sent:
        // rule B takes list 0 from the SPS.
        let mut w = crate::bits::BitWriter::new();
        w.ue(0);
        w.ue(0);
        w.u1(true);
        w.u1(false);
        w.ue(0);
        w.ue(0);
        w.ue(0);
        w.u1(false);
        w.u(2, 0);
        w.se(0);
        w.se(0);
        w.se(0);
        w.u1(true);
        w.u1(false);
        w.u1(false);
        w.u1(true); // transform_8x8_mode_flag
        w.u1(true); // pic_scaling_matrix_present_flag
        let l1: Vec<u8> = (0..16).map(|i| 40 - i as u8).collect();
        for i in 0..8 {
            if i == 1 {
                w.u1(true);
                write_scaling_list(&mut w, &l1);
            } else {
                w.u1(false);
            }
        }
        w.se(2);
        let mut nal = vec![0x68];
        nal.extend(crate::bits::rbsp_to_nal(&w.finish_rbsp()));
        let pps = parse_pps(&nal, |_| Some(sps.clone())).unwrap();
        let pl = pps.scaling.unwrap();
        assert_eq!(pl.l4[0].to_vec(), l0, "rule B: list 0 from the SPS");
        assert_eq!(pl.l4[1].to_vec(), l1);
        assert_eq!(pl.l4[2].to_vec(), l1, "rule B: list 2 falls back to list 1");
        assert_eq!(pl.l4[3], DEFAULT_4X4_INTER, "rule B: list 3 from the SPS");
        assert_eq!(pps.ctrl.second_chroma_qp_index_offset, 2);
        // and the control round trip keeps them
        let back = ScalingLists::from_ctrl(&pl.to_ctrl());
        assert_eq!(back.l4, pl.l4);
        assert_eq!(back.l8[0], pl.l8[0]);
    }
}
