//! H.264 uAPI values bindgen cannot give (fourcc, control ids).
// `BASE + 0` spelled like the uAPI header
#![allow(clippy::identity_op)]
use crate::uapi::{fourcc, V4L2_CID_CODEC_BASE, V4L2_CID_CODEC_STATELESS_BASE};

pub const PIX_FMT_H264_SLICE: u32 = fourcc(b"S264");
pub const CID_H264_DECODE_MODE: u32 = V4L2_CID_CODEC_STATELESS_BASE + 0;
pub const CID_H264_START_CODE: u32 = V4L2_CID_CODEC_STATELESS_BASE + 1;
pub const CID_H264_SPS: u32 = V4L2_CID_CODEC_STATELESS_BASE + 2;
pub const CID_H264_PPS: u32 = V4L2_CID_CODEC_STATELESS_BASE + 3;
pub const CID_H264_SCALING_MATRIX: u32 = V4L2_CID_CODEC_STATELESS_BASE + 4;
pub const CID_H264_PRED_WEIGHTS: u32 = V4L2_CID_CODEC_STATELESS_BASE + 5;
pub const CID_H264_SLICE_PARAMS: u32 = V4L2_CID_CODEC_STATELESS_BASE + 6;
pub const CID_H264_DECODE_PARAMS: u32 = V4L2_CID_CODEC_STATELESS_BASE + 7;
pub const CID_MPEG_H264_PROFILE: u32 = V4L2_CID_CODEC_BASE + 363;
pub const CID_MPEG_H264_LEVEL: u32 = V4L2_CID_CODEC_BASE + 359;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::uapi::v4l2_ctrl_h264_decode_params;
    #[test]
    fn ids_match_kernel() {
        // Values as printed by a C program including the 6.12 headers.
        assert_eq!(CID_H264_SPS, 0xa40902);
        assert_eq!(CID_MPEG_H264_PROFILE, 0x990a6b);
        assert_eq!(std::mem::size_of::<v4l2_ctrl_h264_decode_params>(), 560);
    }
}
