//! H.264: VA picture/slice/IQ buffers + the slice NAL units → V4L2 stateless
//! H.264 controls (`V4L2_CID_STATELESS_H264_*`, kernel
//! Documentation/userspace-api/media/v4l/ext-ctrls-codec-stateless.rst).
//!
//! VA carries the SPS/PPS fields and the final reference lists; what it
//! lacks (frame_num/POC syntax, idr_pic_id, bit sizes for hardware that
//! re-parses the slice header, …) comes from parsing each slice header
//! ([`slice_header`]).
//!
//! Values V4L2 wants that neither VA nor the slice header carry:
//! * `sps.level_idc`: VA only says whether level ≥ 3.1
//!   (`MinLumaBiPredSize8x8`, which FFmpeg and GStreamer set from
//!   level_idc). We put the lowest level (Table A-1) whose MaxFS, frame
//!   dimension limits and MaxDpbMbs fit the picture size and
//!   num_ref_frames, raised to 3.1 when that bit is set — x264's own
//!   choice whenever bitrate and MB rate do not push it higher.
//! * `sps.constraint_set_flags`: what the VA profile implies: SET0|SET1 for
//!   ConstrainedBaseline (A.2.1.1), SET0 for Baseline, SET1 for Main (a
//!   Main stream obeys A.2.2), none for High (x264 writes the same).
//! * `sps.seq_parameter_set_id`, `pps.seq_parameter_set_id`: 0.
//! * `sps.num_ref_frames_in_pic_order_cnt_cycle`, `offset_for_ref_frame`,
//!   `offset_for_non_ref_pic`, `offset_for_top_to_bottom_field`: 0 (only
//!   needed to derive POC type 1, which the caller supplies ready-made in
//!   TopFieldOrderCnt/BottomFieldOrderCnt).
//! * `sps.flags` QPPRIME_Y_ZERO_TRANSFORM_BYPASS: not in VA, left clear.
//! * `pps.num_ref_idx_lX_default_active_minus1`: derived from the slices
//!   that do not override them, remembered across pictures by
//!   [`translate_with_state`].
//! * `decode_params` PFRAME/BFRAME: the slice types of the picture's first
//!   request (see [`slice_type_flags`]), as GStreamer's v4l2codecs
//!   (>= 1.22) leaves them in the device; only tegra-vde reads them.

pub mod bitreader;
mod codec;
pub mod poc;
pub mod slice_header;

pub use codec::H264;

use crate::ffi::{v4l2, va};
use slice_header::{parse_slice_header, strip_start_code, va_pic_fields, va_seq_fields, ParamSets, ParseError};
pub use slice_header::{SliceHeader, SliceType};
use std::fmt;

/// One slice as handed over by the VA client.
#[derive(Clone, Copy)]
pub struct SliceInput<'a> {
    pub params: &'a va::VASliceParameterBufferH264,
    /// This slice's NAL unit: `slice_data_size` bytes at `slice_data_offset`
    /// of the VA slice-data buffer, with or without an Annex-B start code.
    pub data: &'a [u8],
}

/// Everything VA gives for one picture.
#[derive(Clone, Copy)]
pub struct PictureInput<'a> {
    pub profile: va::VAProfile,
    pub pic: &'a va::VAPictureParameterBufferH264,
    pub iq: Option<&'a va::VAIQMatrixBufferH264>,
    pub slices: &'a [SliceInput<'a>],
}

/// Maps a VA surface id to the V4L2 timestamp (ns) of the CAPTURE buffer
/// that holds it; `None` = not a decoded picture.
pub trait RefTimestamps {
    fn timestamp_ns(&self, surface: va::VASurfaceID) -> Option<u64>;

    /// How the picture in `surface` was coded: as a frame, or as fields
    /// and which came first. VA does not say; the driver can remember
    /// [`H264Controls::structure`] of the first picture it decoded into each
    /// surface (skip it when [`H264Controls::second_field`] is set). It
    /// decides `V4L2_H264_DPB_ENTRY_FLAG_FIELD` and, when decoding fields,
    /// the DPB entries' `pic_num` parity. `None` (the default) = unknown:
    /// FIELD is then set only for references with just one field marked,
    /// and a reference with both fields counts as top field first.
    fn structure(&self, _surface: va::VASurfaceID) -> Option<RefStructure> {
        None
    }

    /// Whether the picture in `surface` was decoded as field pictures; the
    /// coarser form of [`RefTimestamps::structure`], consulted only when
    /// that returns `None`. It decides `V4L2_H264_DPB_ENTRY_FLAG_FIELD`
    /// (`Some(true)`: a field pair whose first field is taken as top).
    fn decoded_as_fields(&self, _surface: va::VASurfaceID) -> Option<bool> {
        None
    }
}

/// How a picture was coded (see [`RefTimestamps::structure`]).
pub use super::codec::PicStructure as RefStructure;

/// `V4L2_CID_STATELESS_H264_DECODE_MODE` the device runs in.
pub use super::codec::DecodeMode;

/// Per-slice controls (slice-based mode).
#[derive(Debug, Clone, Copy)]
pub struct SliceControls {
    pub slice_params: v4l2::v4l2_ctrl_h264_slice_params,
    /// Present for explicit weighted prediction (P/SP with
    /// weighted_pred_flag, B with weighted_bipred_idc == 1).
    pub pred_weights: Option<v4l2::v4l2_ctrl_h264_pred_weights>,
}

/// The controls for one picture (one request, or one per slice in
/// slice-based mode: then `sps`/`pps`/`scaling_matrix`/`decode_params` go
/// with every slice and `slices[i]` with slice i).
#[derive(Debug, Clone)]
pub struct H264Controls {
    pub sps: v4l2::v4l2_ctrl_h264_sps,
    pub pps: v4l2::v4l2_ctrl_h264_pps,
    /// `Some` when the client sent an IQ matrix buffer that is not flat
    /// (not all 16); then `pps.flags` has SCALING_MATRIX_PRESENT.
    pub scaling_matrix: Option<v4l2::v4l2_ctrl_h264_scaling_matrix>,
    pub decode_params: v4l2::v4l2_ctrl_h264_decode_params,
    /// Per slice in slice-based mode; empty in frame-based mode.
    pub slices: Vec<SliceControls>,
    /// Every slice's parsed header, in input order (both modes).
    pub parsed: Vec<SliceHeader>,
    /// The current picture is the second field of a frame whose first field
    /// is in ReferenceFrames (same surface as CurrPic): it decodes into the
    /// CAPTURE buffer that already holds the first field.
    pub second_field: bool,
}

impl H264Controls {
    /// The current picture's coding, to remember for its surface (only
    /// meaningful when not [`H264Controls::second_field`]).
    pub fn structure(&self) -> RefStructure {
        let f = self.decode_params.flags;
        if f & v4l2::V4L2_H264_DECODE_PARAM_FLAG_FIELD_PIC == 0 {
            RefStructure::Frame
        } else if f & v4l2::V4L2_H264_DECODE_PARAM_FLAG_BOTTOM_FIELD != 0 {
            RefStructure::BottomFieldFirst
        } else {
            RefStructure::TopFieldFirst
        }
    }
}

/// Why a picture could not be translated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodecError {
    /// The picture has no slices.
    NoSlices,
    /// A VA profile this module does not translate.
    UnsupportedProfile(va::VAProfile),
    /// Slice `index` could not be parsed.
    Slice { index: usize, error: ParseError },
    /// A reference picture's surface has no CAPTURE timestamp.
    MissingReference { surface: va::VASurfaceID },
    /// A RefPicList entry names a surface that is not in ReferenceFrames.
    RefNotInDpb { slice: usize, list: u8, index: usize, surface: va::VASurfaceID },
    /// A RefPicList within the active range has no usable entry at all.
    EmptyRefList { slice: usize, list: u8 },
    /// Slice headers of one picture disagree on a picture-level element.
    InconsistentSlices { slice: usize, what: &'static str },
    /// A VA parameter outside the range V4L2/H.264 allow.
    InvalidParameter(&'static str),
    /// [`slice_nal`] input was not a NAL unit.
    BadNal(ParseError),
}

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CodecError::NoSlices => write!(f, "H.264 picture without slices"),
            CodecError::UnsupportedProfile(p) => write!(f, "VA profile {p} is not a supported H.264 profile"),
            CodecError::Slice { index, error } => write!(f, "H.264 slice {index}: {error}"),
            CodecError::MissingReference { surface } => {
                write!(f, "reference surface {surface:#x} holds no decoded picture")
            }
            CodecError::RefNotInDpb { slice, list, index, surface } => {
                write!(f, "slice {slice}: RefPicList{list}[{index}] surface {surface:#x} is not in ReferenceFrames")
            }
            CodecError::EmptyRefList { slice, list } => {
                write!(f, "slice {slice}: RefPicList{list} has no valid entry")
            }
            CodecError::InconsistentSlices { slice, what } => {
                write!(f, "slice {slice}: {what} differs from the first slice of the picture")
            }
            CodecError::InvalidParameter(what) => write!(f, "invalid VA parameter: {what}"),
            CodecError::BadNal(e) => write!(f, "bad slice NAL unit: {e}"),
        }
    }
}

impl std::error::Error for CodecError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CodecError::Slice { error, .. } | CodecError::BadNal(error) => Some(error),
            _ => None,
        }
    }
}

/// Annex-B start code to put before [`slice_nal`]'s bytes when the device
/// runs with `V4L2_STATELESS_H264_START_CODE_ANNEX_B`.
pub const ANNEX_B_START_CODE: [u8; 3] = [0, 0, 1];

/// The NAL unit of one slice, without any Annex-B start code the VA data
/// came with. For `V4L2_STATELESS_H264_START_CODE_ANNEX_B` write
/// [`ANNEX_B_START_CODE`] first; for `..._NONE` write these bytes alone.
pub fn slice_nal(data: &[u8]) -> Result<&[u8], CodecError> {
    strip_start_code(data).map_err(CodecError::BadNal)
}

const UNUSED_REF: v4l2::v4l2_h264_reference = v4l2::v4l2_h264_reference { fields: 0xff, index: 0xff };

fn flag(cond: bool, bit: u32) -> u32 {
    if cond {
        bit
    } else {
        0
    }
}

fn is_invalid(p: &va::VAPictureH264) -> bool {
    p.flags & va::VA_PICTURE_H264_INVALID != 0 || p.picture_id == va::VA_INVALID_SURFACE
}

/// V4L2_H264_{TOP,BOTTOM,FRAME}_REF from VA's field flags (neither or
/// both = frame).
fn va_fields(p: &va::VAPictureH264) -> u8 {
    let top = p.flags & va::VA_PICTURE_H264_TOP_FIELD != 0;
    let bottom = p.flags & va::VA_PICTURE_H264_BOTTOM_FIELD != 0;
    (match (top, bottom) {
        (true, false) => v4l2::V4L2_H264_TOP_FIELD_REF,
        (false, true) => v4l2::V4L2_H264_BOTTOM_FIELD_REF,
        _ => v4l2::V4L2_H264_FRAME_REF,
    }) as u8
}

/// Table A-1: (level_idc, MaxFS, MaxDpbMbs), level 1b left out.
const LEVELS: [(u8, u32, u32); 17] = [
    (10, 99, 396),
    (11, 396, 900),
    (12, 396, 2376),
    (13, 396, 2376),
    (20, 396, 2376),
    (21, 792, 4752),
    (22, 1620, 8100),
    (30, 1620, 8100),
    (31, 3600, 18000),
    (32, 5120, 20480),
    (40, 8192, 32768),
    (41, 8192, 32768),
    (42, 8704, 34816),
    (50, 22080, 110400),
    (51, 36864, 184320),
    (52, 36864, 184320),
    (60, 139264, 696320),
];

/// The lowest level whose frame-size (A.3.1 a, f, g) and DPB limits fit,
/// at least 3.1 when `min_31` (VA's MinLumaBiPredSize8x8) and at least 2.1
/// for interlaced coding (`!frame_mbs_only`: levels below 2.1 require
/// frame_mbs_only_flag, Table A-4). 6.0 and up share the largest limits,
/// so bigger pictures also get 60.
fn guess_level(width_mbs: u32, height_mbs: u32, num_ref_frames: u32, min_31: bool, frame_mbs_only: bool) -> u8 {
    let (w, h, refs) = (u64::from(width_mbs), u64::from(height_mbs), u64::from(num_ref_frames));
    let fs = w * h;
    let fits = |&&(_, max_fs, max_dpb): &&(u8, u32, u32)| {
        let (max_fs, max_dpb) = (u64::from(max_fs), u64::from(max_dpb));
        fs <= max_fs && w * w <= 8 * max_fs && h * h <= 8 * max_fs && refs * fs <= max_dpb
    };
    let mut level = LEVELS.iter().find(fits).map_or(60, |l| l.0);
    if min_31 {
        level = level.max(31);
    }
    if !frame_mbs_only {
        level = level.max(21);
    }
    level
}

fn build_sps(profile: va::VAProfile, pic: &va::VAPictureParameterBufferH264) -> Result<v4l2::v4l2_ctrl_h264_sps, CodecError> {
    let s = va_seq_fields(pic);
    let (profile_idc, constraints) = match profile {
        va::VAProfileH264ConstrainedBaseline => (66, v4l2::V4L2_H264_SPS_CONSTRAINT_SET0_FLAG | v4l2::V4L2_H264_SPS_CONSTRAINT_SET1_FLAG),
        va::VAProfileH264Baseline => (66, v4l2::V4L2_H264_SPS_CONSTRAINT_SET0_FLAG),
        va::VAProfileH264Main => (77, v4l2::V4L2_H264_SPS_CONSTRAINT_SET1_FLAG),
        va::VAProfileH264High => (100, 0),
        p => return Err(CodecError::UnsupportedProfile(p)),
    };
    let frame_mbs_only = s.frame_mbs_only_flag() != 0;
    let h = u32::from(pic.picture_height_in_mbs_minus1);
    let mut sps = v4l2::v4l2_ctrl_h264_sps {
        profile_idc,
        constraint_set_flags: constraints as u8,
        level_idc: guess_level(u32::from(pic.picture_width_in_mbs_minus1) + 1, h + 1, pic.num_ref_frames.into(), s.MinLumaBiPredSize8x8() != 0, frame_mbs_only),
        seq_parameter_set_id: 0,
        chroma_format_idc: s.chroma_format_idc() as u8,
        bit_depth_luma_minus8: pic.bit_depth_luma_minus8,
        bit_depth_chroma_minus8: pic.bit_depth_chroma_minus8,
        log2_max_frame_num_minus4: s.log2_max_frame_num_minus4() as u8,
        pic_order_cnt_type: s.pic_order_cnt_type() as u8,
        log2_max_pic_order_cnt_lsb_minus4: s.log2_max_pic_order_cnt_lsb_minus4() as u8,
        max_num_ref_frames: pic.num_ref_frames,
        pic_width_in_mbs_minus1: pic.picture_width_in_mbs_minus1,
        // VA's height is in MBs of a frame; a map unit is an MB pair
        // unless frame_mbs_only_flag (7-18).
        // (Computed in u32: a hostile height of 0 or 65535 must not overflow.)
        pic_height_in_map_units_minus1: if frame_mbs_only { h as u16 } else { h.div_ceil(2).saturating_sub(1) as u16 },
        flags: flag(s.residual_colour_transform_flag() != 0 && s.chroma_format_idc() == 3, v4l2::V4L2_H264_SPS_FLAG_SEPARATE_COLOUR_PLANE)
            | flag(s.delta_pic_order_always_zero_flag() != 0, v4l2::V4L2_H264_SPS_FLAG_DELTA_PIC_ORDER_ALWAYS_ZERO)
            | flag(s.gaps_in_frame_num_value_allowed_flag() != 0, v4l2::V4L2_H264_SPS_FLAG_GAPS_IN_FRAME_NUM_VALUE_ALLOWED)
            | flag(frame_mbs_only, v4l2::V4L2_H264_SPS_FLAG_FRAME_MBS_ONLY)
            | flag(s.mb_adaptive_frame_field_flag() != 0, v4l2::V4L2_H264_SPS_FLAG_MB_ADAPTIVE_FRAME_FIELD)
            | flag(s.direct_8x8_inference_flag() != 0, v4l2::V4L2_H264_SPS_FLAG_DIRECT_8X8_INFERENCE),
        ..Default::default()
    };
    // Ranges the kernel's control validation enforces (v4l2-ctrls-core.c).
    if sps.chroma_format_idc > 3 {
        return Err(CodecError::InvalidParameter("chroma_format_idc"));
    }
    if sps.bit_depth_luma_minus8 > 6 || sps.bit_depth_chroma_minus8 > 6 {
        return Err(CodecError::InvalidParameter("bit_depth_minus8"));
    }
    if sps.log2_max_frame_num_minus4 > 12 {
        return Err(CodecError::InvalidParameter("log2_max_frame_num_minus4"));
    }
    if sps.pic_order_cnt_type > 2 {
        return Err(CodecError::InvalidParameter("pic_order_cnt_type"));
    }
    if sps.log2_max_pic_order_cnt_lsb_minus4 > 12 {
        return Err(CodecError::InvalidParameter("log2_max_pic_order_cnt_lsb_minus4"));
    }
    if sps.max_num_ref_frames > 16 {
        return Err(CodecError::InvalidParameter("num_ref_frames"));
    }
    // Keep SPS-only fields zeroed explicitly (not carried by VA).
    sps.num_ref_frames_in_pic_order_cnt_cycle = 0;
    Ok(sps)
}

/// What [`translate_with_state`] remembers between pictures: the PPS
/// num_ref_idx_lX_default_active_minus1 values (which VA does not carry)
/// learnt from slices without num_ref_idx_active_override_flag, per
/// pic_parameter_set_id. Keep one per VA context.
#[derive(Debug, Clone)]
pub struct H264State {
    ref_idx_defaults: [[Option<u8>; 2]; 256],
}

impl Default for H264State {
    fn default() -> Self {
        H264State { ref_idx_defaults: [[None; 2]; 256] }
    }
}

/// PPS num_ref_idx_lX_default_active_minus1. They equal the active counts
/// of any slice without an override (exact, and the only case where a
/// hardware slice-header parser uses them); when every slice of the
/// picture overrides, the value learnt from earlier pictures with the same
/// PPS id is used, else the first slice's active count (any legal value
/// decodes the same then).
fn ref_idx_defaults(headers: &[SliceHeader], state: &mut H264State) -> [u8; 2] {
    let pps_id = headers.first().map_or(0, |h| h.pic_parameter_set_id) as usize;
    let mut out = [0u8; 2];
    for (l, o) in out.iter_mut().enumerate() {
        let has_list = |h: &&SliceHeader| {
            if l == 0 {
                !h.slice_type.is_intra()
            } else {
                h.slice_type.is_b()
            }
        };
        let active = |h: &SliceHeader| {
            if l == 0 {
                h.num_ref_idx_l0_active_minus1
            } else {
                h.num_ref_idx_l1_active_minus1
            }
        };
        let exact = headers.iter().filter(has_list).find(|h| !h.num_ref_idx_active_override_flag).map(active);
        let remembered = &mut state.ref_idx_defaults[pps_id][l];
        if exact.is_some() {
            *remembered = exact;
        }
        *o = exact.or(*remembered).or_else(|| headers.iter().find(has_list).map(active)).unwrap_or(0);
    }
    out
}

fn build_pps(pic: &va::VAPictureParameterBufferH264, first: &SliceHeader, [default_l0, default_l1]: [u8; 2], scaling: bool) -> v4l2::v4l2_ctrl_h264_pps {
    let p = va_pic_fields(pic);
    v4l2::v4l2_ctrl_h264_pps {
        pic_parameter_set_id: first.pic_parameter_set_id,
        seq_parameter_set_id: 0,
        num_slice_groups_minus1: pic.num_slice_groups_minus1,
        num_ref_idx_l0_default_active_minus1: default_l0,
        num_ref_idx_l1_default_active_minus1: default_l1,
        weighted_bipred_idc: p.weighted_bipred_idc() as u8,
        pic_init_qp_minus26: pic.pic_init_qp_minus26,
        pic_init_qs_minus26: pic.pic_init_qs_minus26,
        chroma_qp_index_offset: pic.chroma_qp_index_offset,
        second_chroma_qp_index_offset: pic.second_chroma_qp_index_offset,
        flags: (flag(p.entropy_coding_mode_flag() != 0, v4l2::V4L2_H264_PPS_FLAG_ENTROPY_CODING_MODE)
            | flag(p.pic_order_present_flag() != 0, v4l2::V4L2_H264_PPS_FLAG_BOTTOM_FIELD_PIC_ORDER_IN_FRAME_PRESENT)
            | flag(p.weighted_pred_flag() != 0, v4l2::V4L2_H264_PPS_FLAG_WEIGHTED_PRED)
            | flag(p.deblocking_filter_control_present_flag() != 0, v4l2::V4L2_H264_PPS_FLAG_DEBLOCKING_FILTER_CONTROL_PRESENT)
            | flag(p.constrained_intra_pred_flag() != 0, v4l2::V4L2_H264_PPS_FLAG_CONSTRAINED_INTRA_PRED)
            | flag(p.redundant_pic_cnt_present_flag() != 0, v4l2::V4L2_H264_PPS_FLAG_REDUNDANT_PIC_CNT_PRESENT)
            | flag(p.transform_8x8_mode_flag() != 0, v4l2::V4L2_H264_PPS_FLAG_TRANSFORM_8X8_MODE)
            | flag(scaling, v4l2::V4L2_H264_PPS_FLAG_SCALING_MATRIX_PRESENT)) as u16,
    }
}

/// VA's lists are in raster order already (va.h: "in raster scan order";
/// FFmpeg's vaapi_h264.c copies its raster-ordered matrices, GStreamer's
/// va plugin converts zigzag → raster), which is what the uAPI documents
/// for V4L2 too: a plain copy. VA only has the two luma 8x8 lists (Intra Y,
/// Inter Y) = V4L2 indices 0 and 1; for 4:4:4 the chroma 8x8 lists (2..5)
/// get the luma ones by the fall-back rule of Table 7-2 (exact unless the
/// stream sent explicit chroma 8x8 lists, which VA cannot convey).
fn build_scaling_matrix(iq: &va::VAIQMatrixBufferH264, chroma_format_idc: u8) -> v4l2::v4l2_ctrl_h264_scaling_matrix {
    let mut m = v4l2::v4l2_ctrl_h264_scaling_matrix { scaling_list_4x4: iq.ScalingList4x4, ..Default::default() };
    m.scaling_list_8x8[0] = iq.ScalingList8x8[0];
    m.scaling_list_8x8[1] = iq.ScalingList8x8[1];
    if chroma_format_idc == 3 {
        for i in 2..6 {
            m.scaling_list_8x8[i] = iq.ScalingList8x8[i % 2];
        }
    }
    m
}

fn is_flat(iq: &va::VAIQMatrixBufferH264, with_8x8: bool) -> bool {
    iq.ScalingList4x4.iter().flatten().all(|&v| v == 16) && (!with_8x8 || iq.ScalingList8x8.iter().flatten().all(|&v| v == 16))
}

/// A DPB entry under construction (VA may list the two fields of one
/// surface separately; they merge into one V4L2 entry).
struct DpbSlot {
    surface: va::VASurfaceID,
    frame_idx: u32,
    fields: u8,
    long_term: bool,
    top_poc: i32,
    bottom_poc: i32,
}

fn collect_dpb(pic: &va::VAPictureParameterBufferH264) -> Vec<DpbSlot> {
    let mut slots: Vec<DpbSlot> = Vec::with_capacity(16);
    for r in pic.ReferenceFrames.iter() {
        if is_invalid(r) {
            continue;
        }
        let short = r.flags & va::VA_PICTURE_H264_SHORT_TERM_REFERENCE != 0;
        let long = r.flags & va::VA_PICTURE_H264_LONG_TERM_REFERENCE != 0;
        if !short && !long {
            // Not used for reference: nothing to decode against.
            continue;
        }
        let fields = va_fields(r);
        if let Some(slot) = slots.iter_mut().find(|s| s.surface == r.picture_id) {
            if fields & v4l2::V4L2_H264_TOP_FIELD_REF as u8 != 0 && slot.fields & v4l2::V4L2_H264_TOP_FIELD_REF as u8 == 0 {
                slot.top_poc = r.TopFieldOrderCnt;
            }
            if fields & v4l2::V4L2_H264_BOTTOM_FIELD_REF as u8 != 0 && slot.fields & v4l2::V4L2_H264_BOTTOM_FIELD_REF as u8 == 0 {
                slot.bottom_poc = r.BottomFieldOrderCnt;
            }
            slot.fields |= fields;
            slot.long_term |= long;
            continue;
        }
        slots.push(DpbSlot {
            surface: r.picture_id,
            frame_idx: r.frame_idx,
            fields,
            long_term: long,
            top_poc: r.TopFieldOrderCnt,
            bottom_poc: r.BottomFieldOrderCnt,
        });
    }
    slots
}

/// PicNum / LongTermPicNum (8.2.4.1) of a DPB entry as seen from the
/// current picture. `cur_bottom`: None for a frame, Some(bottom_field_flag)
/// for a field. A V4L2 DPB entry stands for a whole frame or field pair, so
/// for field decoding it carries the number of the entry's *first* field
/// (2n + 1 when that field has the current parity, 2n otherwise; a
/// frame-coded reference counts as top field first) — what GStreamer's
/// v4l2codecs element sends (visl traces of the generated PAFF streams:
/// a frame-coded reference has 2n + 1 from a top field, 2n from a bottom). Drivers that need exact per-field numbers
/// rebuild them from frame_num (v4l2-h264.c does).
fn pic_num(slot: &DpbSlot, structure: Option<RefStructure>, cur_frame_num: u32, max_frame_num: u32, cur_bottom: Option<bool>) -> u32 {
    let base: i64 = if slot.long_term {
        slot.frame_idx as i64 // LongTermFrameIdx
    } else if slot.frame_idx > cur_frame_num {
        slot.frame_idx as i64 - max_frame_num as i64 // FrameNumWrap
    } else {
        slot.frame_idx as i64
    };
    let n = match cur_bottom {
        None => base,
        Some(cur_bottom) => {
            let top = v4l2::V4L2_H264_TOP_FIELD_REF as u8;
            let bottom = v4l2::V4L2_H264_BOTTOM_FIELD_REF as u8;
            // Parity of the entry's first field (a coded frame: top).
            let first_bottom = match structure {
                Some(RefStructure::Frame) | Some(RefStructure::TopFieldFirst) => Some(false),
                Some(RefStructure::BottomFieldFirst) => Some(true),
                None if slot.fields == top => Some(false),
                None if slot.fields == bottom => Some(true),
                None => Some(false),
            };
            2 * base + i64::from(first_bottom == Some(cur_bottom))
        }
    };
    // Negative FrameNumWrap values go out two's-complement, as GStreamer
    // and FFmpeg do; drivers recompute from frame_num where it matters.
    n as i32 as u32
}

/// One list's weights as VA holds them.
struct VaWeights<'a> {
    count_minus1: u8,
    luma_flag: u8,
    chroma_flag: u8,
    luma_weight: &'a [i16; 32],
    luma_offset: &'a [i16; 32],
    chroma_weight: &'a [[i16; 2]; 32],
    chroma_offset: &'a [[i16; 2]; 32],
}

fn build_weights(sp: &va::VASliceParameterBufferH264, h: &SliceHeader, chroma_array_type: u8) -> v4l2::v4l2_ctrl_h264_pred_weights {
    let mut w = v4l2::v4l2_ctrl_h264_pred_weights {
        luma_log2_weight_denom: sp.luma_log2_weight_denom as u16,
        chroma_log2_weight_denom: sp.chroma_log2_weight_denom as u16,
        ..Default::default()
    };
    let luma_default = 1i16 << sp.luma_log2_weight_denom.min(7);
    let chroma_default = 1i16 << sp.chroma_log2_weight_denom.min(7);
    let lists = [
        VaWeights {
            count_minus1: h.num_ref_idx_l0_active_minus1,
            luma_flag: sp.luma_weight_l0_flag,
            chroma_flag: sp.chroma_weight_l0_flag,
            luma_weight: &sp.luma_weight_l0,
            luma_offset: &sp.luma_offset_l0,
            chroma_weight: &sp.chroma_weight_l0,
            chroma_offset: &sp.chroma_offset_l0,
        },
        VaWeights {
            count_minus1: h.num_ref_idx_l1_active_minus1,
            luma_flag: sp.luma_weight_l1_flag,
            chroma_flag: sp.chroma_weight_l1_flag,
            luma_weight: &sp.luma_weight_l1,
            luma_offset: &sp.luma_offset_l1,
            chroma_weight: &sp.chroma_weight_l1,
            chroma_offset: &sp.chroma_offset_l1,
        },
    ];
    let n_lists = if h.slice_type.is_b() { 2 } else { 1 };
    for (f, l) in w.weight_factors.iter_mut().zip(lists.iter()).take(n_lists) {
        for i in 0..=(l.count_minus1 as usize).min(31) {
            // A zero list flag means no explicit weights for any entry: the
            // inferred defaults apply (7.4.3.2), whatever the arrays hold.
            if l.luma_flag != 0 {
                f.luma_weight[i] = l.luma_weight[i];
                f.luma_offset[i] = l.luma_offset[i];
            } else {
                f.luma_weight[i] = luma_default;
            }
            if chroma_array_type != 0 {
                if l.chroma_flag != 0 {
                    f.chroma_weight[i] = l.chroma_weight[i];
                    f.chroma_offset[i] = l.chroma_offset[i];
                } else {
                    f.chroma_weight[i] = [chroma_default; 2];
                }
            }
        }
    }
    w
}

fn check_same(i: usize, first: &SliceHeader, h: &SliceHeader) -> Result<(), CodecError> {
    let err = |what| Err(CodecError::InconsistentSlices { slice: i, what });
    if h.idr_pic_flag != first.idr_pic_flag {
        return err("nal_unit_type");
    }
    if (h.nal_ref_idc == 0) != (first.nal_ref_idc == 0) {
        return err("nal_ref_idc");
    }
    if h.pic_parameter_set_id != first.pic_parameter_set_id {
        return err("pic_parameter_set_id");
    }
    if h.frame_num != first.frame_num {
        return err("frame_num");
    }
    if h.field_pic_flag != first.field_pic_flag || h.bottom_field_flag != first.bottom_field_flag {
        return err("field_pic_flag/bottom_field_flag");
    }
    if h.idr_pic_id != first.idr_pic_id {
        return err("idr_pic_id");
    }
    if h.pic_order_cnt_lsb != first.pic_order_cnt_lsb
        || h.delta_pic_order_cnt_bottom != first.delta_pic_order_cnt_bottom
        || h.delta_pic_order_cnt != first.delta_pic_order_cnt
    {
        return err("pic_order_cnt");
    }
    Ok(())
}

/// Translates one VA picture into V4L2 controls. Parses every slice header
/// (both modes need the picture-level syntax; slice-based mode also gets
/// per-slice controls). Stateless: see [`translate_with_state`] for the one
/// thing history improves.
///
/// The DPB is VA's ReferenceFrames minus invalid and non-reference entries,
/// two entries of one surface merged, in VA's order; RefPicList entries
/// index into it. A RefPicList hole (invalid entry) inside the active range
/// is filled with the list's first valid entry (FFmpeg's concealment does
/// the same); see [`CodecError`] for what is refused.
pub fn translate(input: &PictureInput, refs: &dyn RefTimestamps, mode: DecodeMode) -> Result<H264Controls, CodecError> {
    translate_with_state(input, refs, mode, &mut H264State::default())
}

/// decode_params' PFRAME/BFRAME for the slices of a picture's first
/// request (all of them frame-based, the first slice slice-based): PFRAME
/// if one is a P (or SP) slice, BFRAME if one is a B slice, both for a mix.
/// The uAPI gives the flags no text; this is what GStreamer's v4l2codecs
/// makes the device see: it ORs in each slice's type as it queues it, but
/// sets DECODE_PARAMS only with a picture's first request, so slice-based
/// devices keep the first slice's value. tegra-vde, the only reader, builds
/// B lists for BFRAME and a P list otherwise.
pub fn slice_type_flags(slices: &[SliceHeader]) -> u32 {
    flag(slices.iter().any(|h| h.slice_type.is_p_or_sp()), v4l2::V4L2_H264_DECODE_PARAM_FLAG_PFRAME)
        | flag(slices.iter().any(|h| h.slice_type.is_b()), v4l2::V4L2_H264_DECODE_PARAM_FLAG_BFRAME)
}

/// [`translate`], remembering the PPS reference-count defaults across
/// pictures in `state` (see [`H264State`]) so `pps` matches the bitstream's
/// PPS even for pictures whose slices all override them.
pub fn translate_with_state(input: &PictureInput, refs: &dyn RefTimestamps, mode: DecodeMode, state: &mut H264State) -> Result<H264Controls, CodecError> {
    let pic = input.pic;
    if input.slices.is_empty() {
        return Err(CodecError::NoSlices);
    }
    let sps = build_sps(input.profile, pic)?;

    let mut parsed = Vec::with_capacity(input.slices.len());
    let mut param_sets = None;
    for (index, s) in input.slices.iter().enumerate() {
        let ps = ParamSets::from_va(pic, Some(s.params)).map_err(|error| CodecError::Slice { index, error })?;
        let h = parse_slice_header(s.data, &ps).map_err(|error| CodecError::Slice { index, error })?;
        if let Some(first) = parsed.first() {
            check_same(index, first, &h)?;
        }
        if s.params.slice_data_bit_offset != 0 && s.params.slice_data_bit_offset as u32 != h.header_bit_size {
            log::debug!("h264 slice {index}: VA slice_data_bit_offset {} != parsed header size {}", s.params.slice_data_bit_offset, h.header_bit_size);
        }
        param_sets.get_or_insert(ps);
        parsed.push(h);
    }
    let first = &parsed[0];
    let ps = param_sets.unwrap_or_default();
    if u32::from(first.frame_num) != u32::from(pic.frame_num) {
        log::debug!("h264: VA frame_num {} != slice frame_num {}", pic.frame_num, first.frame_num);
    }

    // A flat matrix (all 16, the default without any scaling lists) is
    // sent as no matrix: the uAPI asks for SCALING_MATRIX_PRESENT only when
    // a non-flat matrix applies, and FFmpeg sends an IQ buffer for every
    // picture. Without transform_8x8_mode_flag the 8x8 lists are unused.
    let t8x8 = va_pic_fields(pic).transform_8x8_mode_flag() != 0;
    let scaling_matrix = input.iq.filter(|iq| !is_flat(iq, t8x8)).map(|iq| build_scaling_matrix(iq, sps.chroma_format_idc));
    let pps = build_pps(pic, first, ref_idx_defaults(&parsed, state), scaling_matrix.is_some());

    // DPB.
    let cur_bottom = first.field_pic_flag.then_some(first.bottom_field_flag);
    let slots = collect_dpb(pic);
    let cur_slot = slots.iter().find(|s| s.surface == pic.CurrPic.picture_id);
    let mut dp = v4l2::v4l2_ctrl_h264_decode_params::default();
    for (entry, slot) in dp.dpb.iter_mut().zip(slots.iter()) {
        let ts = refs.timestamp_ns(slot.surface).ok_or(CodecError::MissingReference { surface: slot.surface })?;
        if !slot.long_term && slot.frame_idx >= ps.max_frame_num() {
            return Err(CodecError::InvalidParameter("ReferenceFrames[].frame_idx >= MaxFrameNum"));
        }
        let structure = refs.structure(slot.surface).or_else(|| {
            refs.decoded_as_fields(slot.surface).map(|fields| match fields {
                false => RefStructure::Frame,
                // First-field parity unknown: the field referenced alone, else top.
                true if slot.fields == v4l2::V4L2_H264_BOTTOM_FIELD_REF as u8 => RefStructure::BottomFieldFirst,
                true => RefStructure::TopFieldFirst,
            })
        });
        let as_fields = match structure {
            Some(st) => st != RefStructure::Frame,
            None => slot.fields != v4l2::V4L2_H264_FRAME_REF as u8,
        };
        *entry = v4l2::v4l2_h264_dpb_entry {
            reference_ts: ts,
            pic_num: pic_num(slot, structure, first.frame_num.into(), ps.max_frame_num(), cur_bottom),
            // FrameNum for short-term, LongTermFrameIdx for long-term
            // references (what VA's frame_idx holds, and what the kernel's
            // v4l2-h264 reference list builder expects).
            frame_num: slot.frame_idx.min(u16::MAX as u32) as u16,
            fields: slot.fields,
            // A field not (yet) referenced has no order count here: 0, as
            // GStreamer sends (the first field of the current frame while
            // its second decodes; VA clients put the current POC there).
            top_field_order_cnt: if slot.fields & v4l2::V4L2_H264_TOP_FIELD_REF as u8 != 0 { slot.top_poc } else { 0 },
            bottom_field_order_cnt: if slot.fields & v4l2::V4L2_H264_BOTTOM_FIELD_REF as u8 != 0 { slot.bottom_poc } else { 0 },
            flags: v4l2::V4L2_H264_DPB_ENTRY_FLAG_VALID
                | v4l2::V4L2_H264_DPB_ENTRY_FLAG_ACTIVE
                | flag(slot.long_term, v4l2::V4L2_H264_DPB_ENTRY_FLAG_LONG_TERM)
                | flag(as_fields, v4l2::V4L2_H264_DPB_ENTRY_FLAG_FIELD),
            ..Default::default()
        };
    }
    dp.nal_ref_idc = first.nal_ref_idc.into();
    dp.frame_num = first.frame_num;
    dp.top_field_order_cnt = pic.CurrPic.TopFieldOrderCnt;
    dp.bottom_field_order_cnt = pic.CurrPic.BottomFieldOrderCnt;
    // A second field: VA clients (FFmpeg, GStreamer) leave the first
    // field's POC out of CurrPic; it is in the first field's DPB entry.
    let second_field = match (cur_bottom, cur_slot) {
        (Some(true), Some(s)) if s.fields & v4l2::V4L2_H264_TOP_FIELD_REF as u8 != 0 => {
            dp.top_field_order_cnt = s.top_poc;
            true
        }
        (Some(false), Some(s)) if s.fields & v4l2::V4L2_H264_BOTTOM_FIELD_REF as u8 != 0 => {
            dp.bottom_field_order_cnt = s.bottom_poc;
            true
        }
        _ => false,
    };
    dp.idr_pic_id = first.idr_pic_id;
    dp.pic_order_cnt_lsb = first.pic_order_cnt_lsb;
    dp.delta_pic_order_cnt_bottom = first.delta_pic_order_cnt_bottom;
    dp.delta_pic_order_cnt0 = first.delta_pic_order_cnt[0];
    dp.delta_pic_order_cnt1 = first.delta_pic_order_cnt[1];
    dp.dec_ref_pic_marking_bit_size = first.dec_ref_pic_marking_bit_size;
    dp.pic_order_cnt_bit_size = first.pic_order_cnt_bit_size;
    dp.slice_group_change_cycle = first.slice_group_change_cycle;
    dp.flags = flag(first.idr_pic_flag, v4l2::V4L2_H264_DECODE_PARAM_FLAG_IDR_PIC)
        | flag(first.field_pic_flag, v4l2::V4L2_H264_DECODE_PARAM_FLAG_FIELD_PIC)
        | flag(first.bottom_field_flag, v4l2::V4L2_H264_DECODE_PARAM_FLAG_BOTTOM_FIELD)
        | slice_type_flags(&parsed);

    let mut slices = Vec::new();
    if mode == DecodeMode::SliceBased {
        slices.reserve(parsed.len());
        for (i, (s, h)) in input.slices.iter().zip(parsed.iter()).enumerate() {
            let mut sp = v4l2::v4l2_ctrl_h264_slice_params {
                header_bit_size: h.header_bit_size,
                first_mb_in_slice: h.first_mb_in_slice,
                slice_type: h.slice_type as u8,
                colour_plane_id: h.colour_plane_id,
                redundant_pic_cnt: h.redundant_pic_cnt,
                cabac_init_idc: h.cabac_init_idc,
                slice_qp_delta: h.slice_qp_delta,
                slice_qs_delta: h.slice_qs_delta,
                disable_deblocking_filter_idc: h.disable_deblocking_filter_idc,
                slice_alpha_c0_offset_div2: h.slice_alpha_c0_offset_div2,
                slice_beta_offset_div2: h.slice_beta_offset_div2,
                num_ref_idx_l0_active_minus1: h.num_ref_idx_l0_active_minus1,
                num_ref_idx_l1_active_minus1: h.num_ref_idx_l1_active_minus1,
                flags: flag(h.direct_spatial_mv_pred_flag, v4l2::V4L2_H264_SLICE_FLAG_DIRECT_SPATIAL_MV_PRED)
                    | flag(h.sp_for_switch_flag, v4l2::V4L2_H264_SLICE_FLAG_SP_FOR_SWITCH),
                // Entries past the active counts: 0xff/0xff, as GStreamer
                // sends them (no driver reads them).
                ref_pic_list0: [UNUSED_REF; 32],
                ref_pic_list1: [UNUSED_REF; 32],
                ..Default::default()
            };
            let lists: [(u8, usize, &[va::VAPictureH264; 32]); 2] = [
                (0, if h.slice_type.is_intra() { 0 } else { h.num_ref_idx_l0_active_minus1 as usize + 1 }, &s.params.RefPicList0),
                (1, if h.slice_type.is_b() { h.num_ref_idx_l1_active_minus1 as usize + 1 } else { 0 }, &s.params.RefPicList1),
            ];
            for (list, count, va_list) in lists {
                let out = if list == 0 { &mut sp.ref_pic_list0 } else { &mut sp.ref_pic_list1 };
                let mut fallback = None;
                for (idx, r) in va_list.iter().enumerate().take(count) {
                    if is_invalid(r) {
                        continue;
                    }
                    let dpb_idx = slots.iter().position(|s| s.surface == r.picture_id).ok_or(CodecError::RefNotInDpb {
                        slice: i,
                        list,
                        index: idx,
                        surface: r.picture_id,
                    })?;
                    let fields = if first.field_pic_flag { va_fields(r) } else { v4l2::V4L2_H264_FRAME_REF as u8 };
                    out[idx] = v4l2::v4l2_h264_reference { fields, index: dpb_idx as u8 };
                    fallback.get_or_insert(out[idx]);
                }
                if count > 0 {
                    let fill = fallback.ok_or(CodecError::EmptyRefList { slice: i, list })?;
                    for (idx, r) in va_list.iter().enumerate().take(count) {
                        if is_invalid(r) {
                            out[idx] = fill;
                        }
                    }
                }
            }
            let weighted = (ps.weighted_pred_flag && h.slice_type.is_p_or_sp()) || (ps.weighted_bipred_idc == 1 && h.slice_type.is_b());
            let pred_weights = weighted.then(|| build_weights(s.params, h, ps.chroma_array_type));
            slices.push(SliceControls { slice_params: sp, pred_weights });
        }
    }

    Ok(H264Controls { sps, pps, scaling_matrix, decode_params: dp, slices, parsed, second_field })
}

#[cfg(test)]
mod tests;
