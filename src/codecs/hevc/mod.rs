//! HEVC: VA picture/slice/IQ buffers + the slice NAL units → V4L2 stateless
//! HEVC controls (`V4L2_CID_STATELESS_HEVC_*`, kernel
//! Documentation/userspace-api/media/v4l/ext-ctrls-codec-stateless.rst,
//! the 6.12 uAPI where SLICE_PARAMS and ENTRY_POINT_OFFSETS are dynamic
//! arrays).
//!
//! Field by field, as GStreamer's v4l2codecs h265 element fills them
//! (checked against FFmpeg's v4l2-request hwaccel and what FFmpeg's VA
//! hwaccel puts into VA):
//!
//! * SPS/PPS: from VA's picture parameters. VA does not carry, and what is
//!   sent instead:
//!   - `sps.video_parameter_set_id`, `sps.seq_parameter_set_id`: 0 (the
//!     stateless drivers do not read them; the slice header names only
//!     the PPS, whose id is parsed).
//!   - `sps.sps_max_num_reorder_pics`, `sps_max_latency_increase_plus1`,
//!     `sps_max_sub_layers_minus1`: 0 (not in VA; read by no stateless
//!     driver: they only govern output order, which the client does).
//!   - `pps.flags` UNIFORM_SPACING: VA only has the column widths and row
//!     heights (FFmpeg and GStreamer put the derived ones there for
//!     uniform spacing); set when they are exactly the uniform ones (6-3,
//!     6-4), which gives the same tiles either way.
//!   - `pps.flags` DEBLOCKING_FILTER_CONTROL_PRESENT: set when any element
//!     it governs is non-default (override enabled, disabled, offsets).
//!   - The last tile column width / row height: derived (6-3, 6-4); VA's
//!     arrays are one shorter than V4L2's.
//! * Scaling matrix: VA's lists as they are (raster order, as V4L2 wants
//!   them: FFmpeg's VA hwaccel copies its raster-ordered lists, GStreamer's
//!   converts from coded order); the default lists (Table 7-5, 7-6, coded
//!   order, put in raster order) when scaling lists are enabled and the
//!   client sent no IQ matrix; all zero when they are disabled (what
//!   GStreamer sends then).
//! * Slice params: parsed from the slice header ([`slice_header`]), the
//!   reference indices mapped from VA's RefPicList (indices into
//!   ReferenceFrames) to the DPB built here. `data_byte_offset` is the
//!   offset of slice_segment_data() in the NAL unit counted without the
//!   emulation-prevention bytes of the header (= VA's
//!   slice_data_byte_offset; GStreamer's computation, and what cedrus's
//!   hardware bit reader, which drops those bytes, skips), plus 3 with a
//!   start code. `pic_struct`: 0 (from an SEI VA does not carry).
//! * Entry points: entry_point_offset_minus1 + 1 per slice, as GStreamer.
//! * Decode params: the DPB is VA's ReferenceFrames in order (invalid
//!   entries dropped), long-term flag from VA; `poc_st_curr_before` are the
//!   DPB indices VA flags ST_CURR_BEFORE in decreasing POC order (the
//!   order of RefPicSetStCurrBefore, 8.3.2), `poc_st_curr_after` in
//!   increasing POC order, `poc_lt_curr` in ReferenceFrames order; unused
//!   entries 0xff. IRAP/IDR/NO_OUTPUT_OF_PRIOR and the RPS bit sizes of
//!   the first slice come from its parsed header.
//!
//! Frame-based devices get SPS, PPS, scaling matrix and decode params
//! with all slices of the picture (start codes as the device's menu says);
//! slice-based ones one request per slice with its slice params and entry
//! points added (GStreamer sends no slice params to frame-based devices).
//!
//! cros-codecs 0.0.6 has an H.265 parser; it is not used: its slice header
//! parse needs the SPS/PPS NAL units, which a VA client never hands over,
//! and VA's parameters are all the header walk here needs.
pub mod codec;
pub mod slice_header;
pub mod tables;

pub use codec::Hevc;

use crate::ffi::{v4l2 as k, va};
use slice_header::{parse_slice_header, strip_start_code, ParseError, ParseParams, SliceHeader, SLICE_B, SLICE_I};
use std::fmt;

// SAFETY: bindgen-generated #[repr(C)] structs of plain integers, arrays
// and unions thereof (libva's va_dec_hevc.h); every bit pattern is valid.
unsafe impl crate::ffi::pod::Pod for va::VAPictureParameterBufferHEVC {}
// SAFETY: as above.
unsafe impl crate::ffi::pod::Pod for va::VASliceParameterBufferHEVC {}
// SAFETY: as above.
unsafe impl crate::ffi::pod::Pod for va::VAIQMatrixBufferHEVC {}

/// One slice as handed over by the VA client.
#[derive(Clone, Copy)]
pub struct SliceInput<'a> {
    pub params: &'a va::VASliceParameterBufferHEVC,
    /// The slice's NAL unit, with or without an Annex-B start code.
    pub data: &'a [u8],
}

/// Everything VA gives for one picture.
#[derive(Clone, Copy)]
pub struct PictureInput<'a> {
    pub pic: &'a va::VAPictureParameterBufferHEVC,
    pub iq: Option<&'a va::VAIQMatrixBufferHEVC>,
    pub slices: &'a [SliceInput<'a>],
}

/// Per-slice controls.
#[derive(Clone)]
pub struct SliceControls {
    pub slice_params: k::v4l2_ctrl_hevc_slice_params,
    pub entry_points: Vec<u32>,
}

/// The controls of one picture.
#[derive(Clone)]
pub struct HevcControls {
    pub sps: k::v4l2_ctrl_hevc_sps,
    pub pps: k::v4l2_ctrl_hevc_pps,
    pub scaling_matrix: k::v4l2_ctrl_hevc_scaling_matrix,
    pub decode_params: k::v4l2_ctrl_hevc_decode_params,
    pub slices: Vec<SliceControls>,
    /// Each slice's NAL unit (start code stripped), in input order.
    pub nals: Vec<(usize, usize)>,
    pub parsed: Vec<SliceHeader>,
}

/// Why a picture could not be translated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodecError {
    NoSlices,
    Slice { index: usize, error: ParseError },
    MissingReference { surface: va::VASurfaceID },
    RefNotInDpb { slice: usize, list: u8, index: usize },
    InconsistentSlices { slice: usize, what: &'static str },
    InvalidParameter(&'static str),
}

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CodecError::NoSlices => write!(f, "HEVC picture without slices"),
            CodecError::Slice { index, error } => write!(f, "HEVC slice {index}: {error}"),
            CodecError::MissingReference { surface } => write!(f, "reference surface {surface:#x} holds no decoded picture"),
            CodecError::RefNotInDpb { slice, list, index } => write!(f, "slice {slice}: RefPicList{list}[{index}] names no valid ReferenceFrames entry"),
            CodecError::InconsistentSlices { slice, what } => write!(f, "slice {slice}: {what} differs from the first slice of the picture"),
            CodecError::InvalidParameter(w) => write!(f, "invalid VA parameter: {w}"),
        }
    }
}

impl std::error::Error for CodecError {}

fn flag(cond: bool, bit: u32) -> u64 {
    if cond {
        bit as u64
    } else {
        0
    }
}

fn pic_fields(p: &va::VAPictureParameterBufferHEVC) -> va::_VAPictureParameterBufferHEVC__bindgen_ty_1__bindgen_ty_1 {
    // SAFETY: `bits` is a plain-old-data bitfield struct overlaying a u32;
    // any bit pattern is valid for it.
    unsafe { p.pic_fields.bits }
}

fn slice_parsing_fields(p: &va::VAPictureParameterBufferHEVC) -> va::_VAPictureParameterBufferHEVC__bindgen_ty_2__bindgen_ty_1 {
    // SAFETY: as above.
    unsafe { p.slice_parsing_fields.bits }
}

fn is_invalid(p: &va::VAPictureHEVC) -> bool {
    p.flags & va::VA_PICTURE_HEVC_INVALID != 0 || p.picture_id == va::VA_INVALID_SURFACE
}

/// Picture geometry in CTBs, validated.
#[derive(Debug, Clone, Copy)]
pub struct Geometry {
    pub width_ctbs: u32,
    pub height_ctbs: u32,
}

pub fn geometry(p: &va::VAPictureParameterBufferHEVC) -> Result<Geometry, CodecError> {
    let min_cb_log2 = p.log2_min_luma_coding_block_size_minus3 as u32 + 3;
    let ctb_log2 = min_cb_log2 + p.log2_diff_max_min_luma_coding_block_size as u32;
    if !(4..=6).contains(&ctb_log2) || min_cb_log2 > 6 {
        return Err(CodecError::InvalidParameter("coding block sizes"));
    }
    let (w, h) = (p.pic_width_in_luma_samples as u32, p.pic_height_in_luma_samples as u32);
    if w == 0 || h == 0 || w % (1 << min_cb_log2) != 0 || h % (1 << min_cb_log2) != 0 {
        return Err(CodecError::InvalidParameter("picture size is not a multiple of the minimum coding block"));
    }
    Ok(Geometry { width_ctbs: w.div_ceil(1 << ctb_log2), height_ctbs: h.div_ceil(1 << ctb_log2) })
}

/// The slice-header parse parameters from VA.
pub fn parse_params(p: &va::VAPictureParameterBufferHEVC) -> Result<ParseParams, CodecError> {
    let f = pic_fields(p);
    let s = slice_parsing_fields(p);
    let g = geometry(p)?;
    if p.log2_max_pic_order_cnt_lsb_minus4 > 12 {
        return Err(CodecError::InvalidParameter("log2_max_pic_order_cnt_lsb_minus4"));
    }
    if p.num_short_term_ref_pic_sets > 64 || p.num_long_term_ref_pic_sps > 32 {
        return Err(CodecError::InvalidParameter("reference picture set counts"));
    }
    if p.num_ref_idx_l0_default_active_minus1 > 14 || p.num_ref_idx_l1_default_active_minus1 > 14 {
        return Err(CodecError::InvalidParameter("num_ref_idx_lX_default_active_minus1"));
    }
    let separate = f.separate_colour_plane_flag() != 0;
    let num_pic_total_curr = p
        .ReferenceFrames
        .iter()
        .filter(|r| {
            !is_invalid(r) && r.flags & (va::VA_PICTURE_HEVC_RPS_ST_CURR_BEFORE | va::VA_PICTURE_HEVC_RPS_ST_CURR_AFTER | va::VA_PICTURE_HEVC_RPS_LT_CURR) != 0
        })
        .count() as u32;
    Ok(ParseParams {
        dependent_slice_segments_enabled: s.dependent_slice_segments_enabled_flag() != 0,
        num_extra_slice_header_bits: p.num_extra_slice_header_bits.min(7),
        output_flag_present: s.output_flag_present_flag() != 0,
        separate_colour_plane: separate,
        chroma_array_type: if separate { 0 } else { f.chroma_format_idc() as u8 },
        log2_max_poc_lsb: p.log2_max_pic_order_cnt_lsb_minus4 + 4,
        num_short_term_ref_pic_sets: p.num_short_term_ref_pic_sets,
        long_term_ref_pics_present: s.long_term_ref_pics_present_flag() != 0,
        num_long_term_ref_pics_sps: p.num_long_term_ref_pic_sps,
        sps_temporal_mvp_enabled: s.sps_temporal_mvp_enabled_flag() != 0,
        sample_adaptive_offset_enabled: s.sample_adaptive_offset_enabled_flag() != 0,
        lists_modification_present: s.lists_modification_present_flag() != 0,
        cabac_init_present: s.cabac_init_present_flag() != 0,
        weighted_pred: f.weighted_pred_flag() != 0,
        weighted_bipred: f.weighted_bipred_flag() != 0,
        pps_slice_chroma_qp_offsets_present: s.pps_slice_chroma_qp_offsets_present_flag() != 0,
        deblocking_filter_override_enabled: s.deblocking_filter_override_enabled_flag() != 0,
        pps_deblocking_filter_disabled: s.pps_disable_deblocking_filter_flag() != 0,
        pps_loop_filter_across_slices_enabled: f.pps_loop_filter_across_slices_enabled_flag() != 0,
        tiles_enabled: f.tiles_enabled_flag() != 0,
        entropy_coding_sync_enabled: f.entropy_coding_sync_enabled_flag() != 0,
        slice_segment_header_extension_present: s.slice_segment_header_extension_present_flag() != 0,
        num_ref_idx_l0_default_active_minus1: p.num_ref_idx_l0_default_active_minus1,
        num_ref_idx_l1_default_active_minus1: p.num_ref_idx_l1_default_active_minus1,
        pps_beta_offset_div2: p.pps_beta_offset_div2,
        pps_tc_offset_div2: p.pps_tc_offset_div2,
        pic_size_in_ctbs: g.width_ctbs * g.height_ctbs,
        num_pic_total_curr,
        st_rps_bits: p.st_rps_bits,
    })
}

/// The SPS control from VA.
pub fn sps_from_va(p: &va::VAPictureParameterBufferHEVC) -> k::v4l2_ctrl_hevc_sps {
    let f = pic_fields(p);
    let s = slice_parsing_fields(p);
    // SAFETY: plain-old-data kernel struct; all-zero is valid.
    let mut sps: k::v4l2_ctrl_hevc_sps = unsafe { std::mem::zeroed() };
    sps.pic_width_in_luma_samples = p.pic_width_in_luma_samples;
    sps.pic_height_in_luma_samples = p.pic_height_in_luma_samples;
    sps.bit_depth_luma_minus8 = p.bit_depth_luma_minus8;
    sps.bit_depth_chroma_minus8 = p.bit_depth_chroma_minus8;
    sps.log2_max_pic_order_cnt_lsb_minus4 = p.log2_max_pic_order_cnt_lsb_minus4;
    sps.sps_max_dec_pic_buffering_minus1 = p.sps_max_dec_pic_buffering_minus1;
    sps.log2_min_luma_coding_block_size_minus3 = p.log2_min_luma_coding_block_size_minus3;
    sps.log2_diff_max_min_luma_coding_block_size = p.log2_diff_max_min_luma_coding_block_size;
    sps.log2_min_luma_transform_block_size_minus2 = p.log2_min_transform_block_size_minus2;
    sps.log2_diff_max_min_luma_transform_block_size = p.log2_diff_max_min_transform_block_size;
    sps.max_transform_hierarchy_depth_inter = p.max_transform_hierarchy_depth_inter;
    sps.max_transform_hierarchy_depth_intra = p.max_transform_hierarchy_depth_intra;
    sps.num_short_term_ref_pic_sets = p.num_short_term_ref_pic_sets;
    sps.num_long_term_ref_pics_sps = p.num_long_term_ref_pic_sps;
    sps.chroma_format_idc = f.chroma_format_idc() as u8;
    let pcm = f.pcm_enabled_flag() != 0;
    if pcm {
        sps.pcm_sample_bit_depth_luma_minus1 = p.pcm_sample_bit_depth_luma_minus1;
        sps.pcm_sample_bit_depth_chroma_minus1 = p.pcm_sample_bit_depth_chroma_minus1;
        sps.log2_min_pcm_luma_coding_block_size_minus3 = p.log2_min_pcm_luma_coding_block_size_minus3;
        sps.log2_diff_max_min_pcm_luma_coding_block_size = p.log2_diff_max_min_pcm_luma_coding_block_size;
    }
    sps.flags = flag(f.separate_colour_plane_flag() != 0, k::V4L2_HEVC_SPS_FLAG_SEPARATE_COLOUR_PLANE)
        | flag(f.scaling_list_enabled_flag() != 0, k::V4L2_HEVC_SPS_FLAG_SCALING_LIST_ENABLED)
        | flag(f.amp_enabled_flag() != 0, k::V4L2_HEVC_SPS_FLAG_AMP_ENABLED)
        | flag(s.sample_adaptive_offset_enabled_flag() != 0, k::V4L2_HEVC_SPS_FLAG_SAMPLE_ADAPTIVE_OFFSET)
        | flag(pcm, k::V4L2_HEVC_SPS_FLAG_PCM_ENABLED)
        | flag(pcm && f.pcm_loop_filter_disabled_flag() != 0, k::V4L2_HEVC_SPS_FLAG_PCM_LOOP_FILTER_DISABLED)
        | flag(s.long_term_ref_pics_present_flag() != 0, k::V4L2_HEVC_SPS_FLAG_LONG_TERM_REF_PICS_PRESENT)
        | flag(s.sps_temporal_mvp_enabled_flag() != 0, k::V4L2_HEVC_SPS_FLAG_SPS_TEMPORAL_MVP_ENABLED)
        | flag(f.strong_intra_smoothing_enabled_flag() != 0, k::V4L2_HEVC_SPS_FLAG_STRONG_INTRA_SMOOTHING_ENABLED);
    sps
}

/// Tile sizes (6-3/6-4) in CTBs: `n` sizes over `total` CTBs from VA's
/// `coded` minus-1 sizes (all but the last), and whether they are the
/// uniform ones.
fn tile_sizes(n: usize, total: u32, coded: &[u16]) -> Result<(Vec<u32>, bool), CodecError> {
    let uniform: Vec<u32> = (0..n as u32).map(|i| ((i + 1) * total) / n as u32 - (i * total) / n as u32).collect();
    let mut sizes = Vec::with_capacity(n);
    let mut sum = 0u32;
    for c in coded.iter().take(n - 1) {
        let s = *c as u32 + 1;
        sum += s;
        sizes.push(s);
    }
    if sum >= total {
        return Err(CodecError::InvalidParameter("tile sizes exceed the picture"));
    }
    sizes.push(total - sum);
    let is_uniform = sizes == uniform;
    Ok((sizes, is_uniform))
}

/// The PPS control from VA (`pps_id` parsed from the slice header).
pub fn pps_from_va(p: &va::VAPictureParameterBufferHEVC, pps_id: u8) -> Result<k::v4l2_ctrl_hevc_pps, CodecError> {
    let f = pic_fields(p);
    let s = slice_parsing_fields(p);
    // SAFETY: plain-old-data kernel struct; all-zero is valid.
    let mut pps: k::v4l2_ctrl_hevc_pps = unsafe { std::mem::zeroed() };
    pps.pic_parameter_set_id = pps_id;
    pps.num_extra_slice_header_bits = p.num_extra_slice_header_bits;
    pps.num_ref_idx_l0_default_active_minus1 = p.num_ref_idx_l0_default_active_minus1;
    pps.num_ref_idx_l1_default_active_minus1 = p.num_ref_idx_l1_default_active_minus1;
    pps.init_qp_minus26 = p.init_qp_minus26;
    pps.diff_cu_qp_delta_depth = p.diff_cu_qp_delta_depth;
    pps.pps_cb_qp_offset = p.pps_cb_qp_offset;
    pps.pps_cr_qp_offset = p.pps_cr_qp_offset;
    pps.pps_beta_offset_div2 = p.pps_beta_offset_div2;
    pps.pps_tc_offset_div2 = p.pps_tc_offset_div2;
    pps.log2_parallel_merge_level_minus2 = p.log2_parallel_merge_level_minus2;
    let tiles = f.tiles_enabled_flag() != 0;
    let mut uniform = false;
    if tiles {
        let g = geometry(p)?;
        let (cols, rows) = (p.num_tile_columns_minus1 as usize + 1, p.num_tile_rows_minus1 as usize + 1);
        if cols > 20 || rows > 22 || cols as u32 > g.width_ctbs || rows as u32 > g.height_ctbs {
            return Err(CodecError::InvalidParameter("tile counts"));
        }
        let (widths, u1) = tile_sizes(cols, g.width_ctbs, &p.column_width_minus1)?;
        let (heights, u2) = tile_sizes(rows, g.height_ctbs, &p.row_height_minus1)?;
        uniform = u1 && u2;
        pps.num_tile_columns_minus1 = p.num_tile_columns_minus1;
        pps.num_tile_rows_minus1 = p.num_tile_rows_minus1;
        for (d, w) in pps.column_width_minus1.iter_mut().zip(&widths) {
            *d = (*w - 1).min(255) as u8;
        }
        for (d, h) in pps.row_height_minus1.iter_mut().zip(&heights) {
            *d = (*h - 1).min(255) as u8;
        }
    }
    let override_enabled = s.deblocking_filter_override_enabled_flag() != 0;
    let disabled = s.pps_disable_deblocking_filter_flag() != 0;
    let control_present = override_enabled || disabled || p.pps_beta_offset_div2 != 0 || p.pps_tc_offset_div2 != 0;
    pps.flags = flag(s.dependent_slice_segments_enabled_flag() != 0, k::V4L2_HEVC_PPS_FLAG_DEPENDENT_SLICE_SEGMENT_ENABLED)
        | flag(s.output_flag_present_flag() != 0, k::V4L2_HEVC_PPS_FLAG_OUTPUT_FLAG_PRESENT)
        | flag(f.sign_data_hiding_enabled_flag() != 0, k::V4L2_HEVC_PPS_FLAG_SIGN_DATA_HIDING_ENABLED)
        | flag(s.cabac_init_present_flag() != 0, k::V4L2_HEVC_PPS_FLAG_CABAC_INIT_PRESENT)
        | flag(f.constrained_intra_pred_flag() != 0, k::V4L2_HEVC_PPS_FLAG_CONSTRAINED_INTRA_PRED)
        | flag(f.transform_skip_enabled_flag() != 0, k::V4L2_HEVC_PPS_FLAG_TRANSFORM_SKIP_ENABLED)
        | flag(f.cu_qp_delta_enabled_flag() != 0, k::V4L2_HEVC_PPS_FLAG_CU_QP_DELTA_ENABLED)
        | flag(s.pps_slice_chroma_qp_offsets_present_flag() != 0, k::V4L2_HEVC_PPS_FLAG_PPS_SLICE_CHROMA_QP_OFFSETS_PRESENT)
        | flag(f.weighted_pred_flag() != 0, k::V4L2_HEVC_PPS_FLAG_WEIGHTED_PRED)
        | flag(f.weighted_bipred_flag() != 0, k::V4L2_HEVC_PPS_FLAG_WEIGHTED_BIPRED)
        | flag(f.transquant_bypass_enabled_flag() != 0, k::V4L2_HEVC_PPS_FLAG_TRANSQUANT_BYPASS_ENABLED)
        | flag(tiles, k::V4L2_HEVC_PPS_FLAG_TILES_ENABLED)
        | flag(f.entropy_coding_sync_enabled_flag() != 0, k::V4L2_HEVC_PPS_FLAG_ENTROPY_CODING_SYNC_ENABLED)
        | flag(tiles && f.loop_filter_across_tiles_enabled_flag() != 0, k::V4L2_HEVC_PPS_FLAG_LOOP_FILTER_ACROSS_TILES_ENABLED)
        | flag(f.pps_loop_filter_across_slices_enabled_flag() != 0, k::V4L2_HEVC_PPS_FLAG_PPS_LOOP_FILTER_ACROSS_SLICES_ENABLED)
        | flag(override_enabled, k::V4L2_HEVC_PPS_FLAG_DEBLOCKING_FILTER_OVERRIDE_ENABLED)
        | flag(disabled, k::V4L2_HEVC_PPS_FLAG_PPS_DISABLE_DEBLOCKING_FILTER)
        | flag(s.lists_modification_present_flag() != 0, k::V4L2_HEVC_PPS_FLAG_LISTS_MODIFICATION_PRESENT)
        | flag(s.slice_segment_header_extension_present_flag() != 0, k::V4L2_HEVC_PPS_FLAG_SLICE_SEGMENT_HEADER_EXTENSION_PRESENT)
        | flag(control_present, k::V4L2_HEVC_PPS_FLAG_DEBLOCKING_FILTER_CONTROL_PRESENT)
        | flag(tiles && uniform, k::V4L2_HEVC_PPS_FLAG_UNIFORM_SPACING);
    Ok(pps)
}

/// The scaling matrix control: VA's (raster) lists, the default lists
/// without an IQ buffer, zero when disabled.
pub fn scaling_matrix(p: &va::VAPictureParameterBufferHEVC, iq: Option<&va::VAIQMatrixBufferHEVC>) -> k::v4l2_ctrl_hevc_scaling_matrix {
    // SAFETY: plain-old-data kernel struct; all-zero is valid.
    let mut m: k::v4l2_ctrl_hevc_scaling_matrix = unsafe { std::mem::zeroed() };
    if pic_fields(p).scaling_list_enabled_flag() == 0 {
        return m;
    }
    let d4 = tables::diag_scan(4);
    let d8 = tables::diag_scan(8);
    let to_raster4 = |dst: &mut [u8; 16], src: &[u8; 16]| {
        for (i, &(x, y)) in d4.iter().enumerate() {
            dst[y * 4 + x] = src[i];
        }
    };
    let to_raster8 = |dst: &mut [u8; 64], src: &[u8; 64]| {
        for (i, &(x, y)) in d8.iter().enumerate() {
            dst[y * 8 + x] = src[i];
        }
    };
    match iq {
        // VA's lists are in raster order already (FFmpeg copies its
        // raster-ordered lists; GStreamer's va decoder converts to raster)
        Some(q) => {
            m.scaling_list_4x4 = q.ScalingList4x4;
            m.scaling_list_8x8 = q.ScalingList8x8;
            m.scaling_list_16x16 = q.ScalingList16x16;
            m.scaling_list_32x32 = q.ScalingList32x32;
            m.scaling_list_dc_coef_16x16 = q.ScalingListDC16x16;
            m.scaling_list_dc_coef_32x32 = q.ScalingListDC32x32;
        }
        None => {
            let flat = [16u8; 16];
            for i in 0..6 {
                let d = if i < 3 { &tables::DEFAULT_8X8_INTRA } else { &tables::DEFAULT_8X8_INTER };
                to_raster4(&mut m.scaling_list_4x4[i], &flat);
                to_raster8(&mut m.scaling_list_8x8[i], d);
                to_raster8(&mut m.scaling_list_16x16[i], d);
            }
            to_raster8(&mut m.scaling_list_32x32[0], &tables::DEFAULT_8X8_INTRA);
            to_raster8(&mut m.scaling_list_32x32[1], &tables::DEFAULT_8X8_INTER);
            m.scaling_list_dc_coef_16x16 = [16; 6];
            m.scaling_list_dc_coef_32x32 = [16; 2];
        }
    }
    m
}

const NO_REF: u8 = 0xff;

/// The V4L2 slice params of slice `h` (its VA parameters for the
/// reference lists), `va_to_dpb` mapping ReferenceFrames indices.
fn slice_params(
    index: usize,
    h: &SliceHeader,
    va_slice: &va::VASliceParameterBufferHEVC,
    va_to_dpb: &[u8; 15],
    poc: i32,
    nal_len: usize,
    start_code_len: u32,
) -> Result<k::v4l2_ctrl_hevc_slice_params, CodecError> {
    // SAFETY: plain-old-data kernel struct; all-zero is valid.
    let mut sp: k::v4l2_ctrl_hevc_slice_params = unsafe { std::mem::zeroed() };
    sp.bit_size = ((nal_len as u64 + start_code_len as u64) * 8).min(u32::MAX as u64) as u32;
    sp.data_byte_offset = h.data_rbsp_offset + start_code_len;
    sp.num_entry_point_offsets = h.entry_point_offsets.len() as u32;
    sp.nal_unit_type = h.nal_unit_type;
    sp.nuh_temporal_id_plus1 = h.nuh_temporal_id_plus1;
    sp.slice_type = h.slice_type;
    sp.colour_plane_id = h.colour_plane_id;
    sp.slice_pic_order_cnt = poc;
    sp.num_ref_idx_l0_active_minus1 = h.num_ref_idx_l0_active_minus1;
    sp.num_ref_idx_l1_active_minus1 = h.num_ref_idx_l1_active_minus1;
    sp.collocated_ref_idx = h.collocated_ref_idx;
    sp.five_minus_max_num_merge_cand = h.five_minus_max_num_merge_cand;
    sp.slice_qp_delta = h.qp_delta;
    sp.slice_cb_qp_offset = h.cb_qp_offset;
    sp.slice_cr_qp_offset = h.cr_qp_offset;
    sp.slice_beta_offset_div2 = h.beta_offset_div2;
    sp.slice_tc_offset_div2 = h.tc_offset_div2;
    sp.slice_segment_addr = h.segment_address;
    sp.short_term_ref_pic_set_size = h.short_term_ref_pic_set_size.min(u16::MAX as u32) as u16;
    sp.long_term_ref_pic_set_size = h.long_term_ref_pic_set_size.min(u16::MAX as u32) as u16;
    sp.ref_idx_l0 = [NO_REF; 16];
    sp.ref_idx_l1 = [NO_REF; 16];
    let lists = match h.slice_type {
        SLICE_I => 0,
        SLICE_B => 2,
        _ => 1,
    };
    for l in 0..lists {
        let n = 1 + if l == 0 { h.num_ref_idx_l0_active_minus1 } else { h.num_ref_idx_l1_active_minus1 } as usize;
        let dst = if l == 0 { &mut sp.ref_idx_l0 } else { &mut sp.ref_idx_l1 };
        for (i, d) in dst.iter_mut().enumerate().take(n.min(15)) {
            let v = va_slice.RefPicList[l][i];
            let mapped = va_to_dpb.get(v as usize).copied().unwrap_or(NO_REF);
            if mapped == NO_REF {
                return Err(CodecError::RefNotInDpb { slice: index, list: l as u8, index: i });
            }
            *d = mapped;
        }
    }
    if let Some(w) = &h.pred_weights {
        let t = &mut sp.pred_weight_table;
        t.luma_log2_weight_denom = w.luma_log2_weight_denom;
        t.delta_chroma_log2_weight_denom = w.delta_chroma_log2_weight_denom;
        t.delta_luma_weight_l0 = w.delta_luma_weight[0];
        t.luma_offset_l0 = w.luma_offset[0];
        t.delta_chroma_weight_l0 = w.delta_chroma_weight[0];
        t.chroma_offset_l0 = w.chroma_offset[0];
        if h.slice_type == SLICE_B {
            t.delta_luma_weight_l1 = w.delta_luma_weight[1];
            t.luma_offset_l1 = w.luma_offset[1];
            t.delta_chroma_weight_l1 = w.delta_chroma_weight[1];
            t.chroma_offset_l1 = w.chroma_offset[1];
        }
    }
    sp.flags = flag(h.sao_luma, k::V4L2_HEVC_SLICE_PARAMS_FLAG_SLICE_SAO_LUMA)
        | flag(h.sao_chroma, k::V4L2_HEVC_SLICE_PARAMS_FLAG_SLICE_SAO_CHROMA)
        | flag(h.temporal_mvp_enabled, k::V4L2_HEVC_SLICE_PARAMS_FLAG_SLICE_TEMPORAL_MVP_ENABLED)
        | flag(h.mvd_l1_zero, k::V4L2_HEVC_SLICE_PARAMS_FLAG_MVD_L1_ZERO)
        | flag(h.cabac_init, k::V4L2_HEVC_SLICE_PARAMS_FLAG_CABAC_INIT)
        | flag(h.slice_type != SLICE_I && h.collocated_from_l0, k::V4L2_HEVC_SLICE_PARAMS_FLAG_COLLOCATED_FROM_L0)
        | flag(h.deblocking_filter_disabled, k::V4L2_HEVC_SLICE_PARAMS_FLAG_SLICE_DEBLOCKING_FILTER_DISABLED)
        | flag(h.loop_filter_across_slices_enabled, k::V4L2_HEVC_SLICE_PARAMS_FLAG_SLICE_LOOP_FILTER_ACROSS_SLICES_ENABLED)
        | flag(h.dependent_slice_segment, k::V4L2_HEVC_SLICE_PARAMS_FLAG_DEPENDENT_SLICE_SEGMENT);
    Ok(sp)
}

/// Translates one picture. `timestamp` gives the CAPTURE timestamp of a
/// reference surface (`None`: never decoded); `start_code_len` is 3 when
/// the device takes Annex-B start codes, else 0.
pub fn translate(input: &PictureInput, timestamp: &dyn Fn(va::VASurfaceID) -> Option<u64>, start_code_len: u32) -> Result<HevcControls, CodecError> {
    if input.slices.is_empty() {
        return Err(CodecError::NoSlices);
    }
    let pic = input.pic;
    if is_invalid(&pic.CurrPic) {
        return Err(CodecError::InvalidParameter("CurrPic is invalid"));
    }
    let f = pic_fields(pic);
    if f.chroma_format_idc() != 1 || f.separate_colour_plane_flag() != 0 {
        return Err(CodecError::InvalidParameter("only 4:2:0 is decoded"));
    }
    if pic.bit_depth_luma_minus8 > 2 || pic.bit_depth_chroma_minus8 > 2 {
        return Err(CodecError::InvalidParameter("bit depth above 10"));
    }
    let pp = parse_params(pic)?;

    // The DPB: VA's ReferenceFrames in order, invalid entries dropped.
    // SAFETY: plain-old-data kernel struct; all-zero is valid.
    let mut dp: k::v4l2_ctrl_hevc_decode_params = unsafe { std::mem::zeroed() };
    let mut va_to_dpb = [NO_REF; 15];
    let mut n = 0usize;
    let mut before: Vec<(i32, u8)> = Vec::new();
    let mut after: Vec<(i32, u8)> = Vec::new();
    let mut lt: Vec<u8> = Vec::new();
    for (i, r) in pic.ReferenceFrames.iter().enumerate() {
        if is_invalid(r) {
            continue;
        }
        let ts = timestamp(r.picture_id).ok_or(CodecError::MissingReference { surface: r.picture_id })?;
        let e = &mut dp.dpb[n];
        e.timestamp = ts;
        e.flags = if r.flags & va::VA_PICTURE_HEVC_LONG_TERM_REFERENCE != 0 { k::V4L2_HEVC_DPB_ENTRY_LONG_TERM_REFERENCE as u8 } else { 0 };
        e.pic_order_cnt_val = r.pic_order_cnt;
        va_to_dpb[i] = n as u8;
        if r.flags & va::VA_PICTURE_HEVC_RPS_ST_CURR_BEFORE != 0 {
            before.push((r.pic_order_cnt, n as u8));
        } else if r.flags & va::VA_PICTURE_HEVC_RPS_ST_CURR_AFTER != 0 {
            after.push((r.pic_order_cnt, n as u8));
        } else if r.flags & va::VA_PICTURE_HEVC_RPS_LT_CURR != 0 {
            lt.push(n as u8);
        }
        n += 1;
    }
    before.sort_by_key(|a| std::cmp::Reverse(a.0));
    after.sort_by_key(|a| a.0);
    dp.num_active_dpb_entries = n as u8;
    dp.num_poc_st_curr_before = before.len() as u8;
    dp.num_poc_st_curr_after = after.len() as u8;
    dp.num_poc_lt_curr = lt.len() as u8;
    dp.poc_st_curr_before = [NO_REF; 16];
    dp.poc_st_curr_after = [NO_REF; 16];
    dp.poc_lt_curr = [NO_REF; 16];
    for (d, (_, i)) in dp.poc_st_curr_before.iter_mut().zip(&before) {
        *d = *i;
    }
    for (d, (_, i)) in dp.poc_st_curr_after.iter_mut().zip(&after) {
        *d = *i;
    }
    for (d, i) in dp.poc_lt_curr.iter_mut().zip(&lt) {
        *d = *i;
    }
    let poc = pic.CurrPic.pic_order_cnt;
    dp.pic_order_cnt_val = poc;

    let mut parsed: Vec<SliceHeader> = Vec::with_capacity(input.slices.len());
    let mut nals = Vec::with_capacity(input.slices.len());
    let mut slices = Vec::with_capacity(input.slices.len());
    let mut last_independent: Option<usize> = None;
    for (i, s) in input.slices.iter().enumerate() {
        let nal = strip_start_code(s.data).map_err(|error| CodecError::Slice { index: i, error })?;
        let h = parse_slice_header(nal, &pp, last_independent.map(|j| &parsed[j])).map_err(|error| CodecError::Slice { index: i, error })?;
        if i == 0 && !h.first_slice_segment_in_pic {
            return Err(CodecError::InconsistentSlices { slice: 0, what: "first_slice_segment_in_pic_flag" });
        }
        if let Some(first) = parsed.first() {
            if h.first_slice_segment_in_pic {
                return Err(CodecError::InconsistentSlices { slice: i, what: "first_slice_segment_in_pic_flag" });
            }
            if h.nal_unit_type != first.nal_unit_type {
                return Err(CodecError::InconsistentSlices { slice: i, what: "nal_unit_type" });
            }
            if h.pps_id != first.pps_id {
                return Err(CodecError::InconsistentSlices { slice: i, what: "slice_pic_parameter_set_id" });
            }
        }
        let sp = slice_params(i, &h, s.params, &va_to_dpb, poc, nal.len(), start_code_len)?;
        slices.push(SliceControls { slice_params: sp, entry_points: h.entry_point_offsets.clone() });
        let start = nal.as_ptr() as usize - s.data.as_ptr() as usize;
        nals.push((start, nal.len()));
        if !h.dependent_slice_segment {
            last_independent = Some(i);
        }
        parsed.push(h);
    }
    let first = &parsed[0];
    dp.short_term_ref_pic_set_size = first.short_term_ref_pic_set_size.min(u16::MAX as u32) as u16;
    dp.long_term_ref_pic_set_size = first.long_term_ref_pic_set_size.min(u16::MAX as u32) as u16;
    dp.num_delta_pocs_of_ref_rps_idx = first.num_delta_pocs_of_ref_rps_idx;
    dp.flags = flag(first.is_irap(), k::V4L2_HEVC_DECODE_PARAM_FLAG_IRAP_PIC)
        | flag(first.is_idr(), k::V4L2_HEVC_DECODE_PARAM_FLAG_IDR_PIC)
        | flag(first.no_output_of_prior_pics, k::V4L2_HEVC_DECODE_PARAM_FLAG_NO_OUTPUT_OF_PRIOR);
    if first.is_idr() && n > 0 && (dp.num_poc_st_curr_before | dp.num_poc_st_curr_after | dp.num_poc_lt_curr) != 0 {
        return Err(CodecError::InvalidParameter("an IDR picture with current references"));
    }
    Ok(HevcControls {
        sps: sps_from_va(pic),
        pps: pps_from_va(pic, first.pps_id)?,
        scaling_matrix: scaling_matrix(pic, input.iq),
        decode_params: dp,
        slices,
        nals,
        parsed,
    })
}

#[cfg(test)]
mod tests;
