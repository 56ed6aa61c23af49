//! Controls a session needs before the CAPTURE format can be chosen: the
//! decode mode and start-code menus and a sequence header with the stream's
//! size and bit depth (the uAPI orders: OUTPUT format, sequence control,
//! CAPTURE format).
use super::ctrl::CtrlSet;
use crate::ffi::v4l2 as k;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum H264Mode {
    /// All slices of a picture in one request (hantro, rkvdec).
    FrameBased,
    /// One request per slice, slice params required (cedrus).
    SliceBased,
}

pub const DECODE_MODE_SLICE_BASED: i64 = 0;
pub const DECODE_MODE_FRAME_BASED: i64 = 1;
pub const START_CODE_NONE: i64 = 0;
pub const START_CODE_ANNEX_B: i64 = 1;

/// Picks the H.264 decode mode and start-code setting from the device's
/// menus; `forced` (HANTRO_H264_DECODE_MODE) wins where the device offers it.
pub fn choose_h264_mode(decode_modes: &[i64], start_codes: &[i64], forced: Option<H264Mode>) -> (H264Mode, bool) {
    let has = |m: H264Mode| match m {
        H264Mode::FrameBased => decode_modes.contains(&DECODE_MODE_FRAME_BASED),
        H264Mode::SliceBased => decode_modes.contains(&DECODE_MODE_SLICE_BASED),
    };
    let mode = match forced {
        Some(m) if has(m) => m,
        _ if decode_modes.is_empty() || has(H264Mode::FrameBased) => H264Mode::FrameBased,
        _ => H264Mode::SliceBased,
    };
    // Annex-B when offered (required in practice by frame-based hardware);
    // with no menu at all the driver's default is Annex-B for hantro/rkvdec.
    let annex_b = start_codes.is_empty() || start_codes.contains(&START_CODE_ANNEX_B);
    (mode, annex_b)
}

/// H.264 session controls: decode mode, start code, and an SPS for a
/// `width`x`height` 4:2:0 stream at `bit_depth`.
pub fn h264_session(width: u32, height: u32, bit_depth: u8, mode: H264Mode, annex_b: bool, has_menus: (bool, bool)) -> CtrlSet {
    let mut set = CtrlSet::new();
    if has_menus.0 {
        set.push_i32(
            k::V4L2_CID_STATELESS_H264_DECODE_MODE,
            if mode == H264Mode::FrameBased { DECODE_MODE_FRAME_BASED as i32 } else { DECODE_MODE_SLICE_BASED as i32 },
        );
    }
    if has_menus.1 {
        set.push_i32(k::V4L2_CID_STATELESS_H264_START_CODE, if annex_b { START_CODE_ANNEX_B as i32 } else { START_CODE_NONE as i32 });
    }
    // SAFETY: plain old data; all-zero is a valid SPS to start from.
    let mut sps: k::v4l2_ctrl_h264_sps = unsafe { std::mem::zeroed() };
    sps.profile_idc = if bit_depth > 8 { 110 } else { 100 };
    sps.level_idc = 51;
    sps.chroma_format_idc = 1;
    sps.bit_depth_luma_minus8 = bit_depth.saturating_sub(8);
    sps.bit_depth_chroma_minus8 = bit_depth.saturating_sub(8);
    sps.max_num_ref_frames = 16;
    sps.log2_max_frame_num_minus4 = 0;
    sps.pic_width_in_mbs_minus1 = (width.div_ceil(16).max(1) - 1) as u16;
    sps.pic_height_in_map_units_minus1 = (height.div_ceil(16).max(1) - 1) as u16;
    sps.flags = k::V4L2_H264_SPS_FLAG_FRAME_MBS_ONLY;
    set.push(k::V4L2_CID_STATELESS_H264_SPS, sps);
    set
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn mode_choice_follows_menus() {
        assert_eq!(choose_h264_mode(&[0, 1], &[0, 1], None), (H264Mode::FrameBased, true));
        assert_eq!(choose_h264_mode(&[0, 1], &[0, 1], Some(H264Mode::SliceBased)), (H264Mode::SliceBased, true));
        // cedrus: slice-based only, no start codes
        assert_eq!(choose_h264_mode(&[0], &[0], None), (H264Mode::SliceBased, false));
        assert_eq!(choose_h264_mode(&[0], &[0], Some(H264Mode::FrameBased)), (H264Mode::SliceBased, false));
        // hantro: frame-based + Annex-B only
        assert_eq!(choose_h264_mode(&[1], &[1], Some(H264Mode::SliceBased)), (H264Mode::FrameBased, true));
    }
    #[test]
    fn session_sps_size() {
        let mut s = h264_session(1920, 1080, 8, H264Mode::FrameBased, true, (true, true));
        assert_eq!(s.ids(), vec![k::V4L2_CID_STATELESS_H264_DECODE_MODE, k::V4L2_CID_STATELESS_H264_START_CODE, k::V4L2_CID_STATELESS_H264_SPS]);
        let c = s.as_mut_slice()[2];
        // SAFETY: reading back the SPS payload this set owns.
        let sps = unsafe { &*(c.__bindgen_anon_1.ptr as *const k::v4l2_ctrl_h264_sps) };
        assert_eq!(sps.pic_width_in_mbs_minus1, 119);
        assert_eq!(sps.pic_height_in_map_units_minus1, 67);
    }
}
