//! HEVC uAPI values bindgen cannot give (fourcc, control ids).
use crate::uapi::{fourcc, V4L2_CID_CODEC_BASE, V4L2_CID_CODEC_STATELESS_BASE};

pub const PIX_FMT_HEVC_SLICE: u32 = fourcc(b"S265");
pub const CID_HEVC_SPS: u32 = V4L2_CID_CODEC_STATELESS_BASE + 400;
pub const CID_HEVC_PPS: u32 = V4L2_CID_CODEC_STATELESS_BASE + 401;
pub const CID_HEVC_SLICE_PARAMS: u32 = V4L2_CID_CODEC_STATELESS_BASE + 402;
pub const CID_HEVC_SCALING_MATRIX: u32 = V4L2_CID_CODEC_STATELESS_BASE + 403;
pub const CID_HEVC_DECODE_PARAMS: u32 = V4L2_CID_CODEC_STATELESS_BASE + 404;
pub const CID_HEVC_DECODE_MODE: u32 = V4L2_CID_CODEC_STATELESS_BASE + 405;
pub const CID_HEVC_START_CODE: u32 = V4L2_CID_CODEC_STATELESS_BASE + 406;
pub const CID_HEVC_ENTRY_POINT_OFFSETS: u32 = V4L2_CID_CODEC_STATELESS_BASE + 407;
pub const CID_MPEG_HEVC_PROFILE: u32 = V4L2_CID_CODEC_BASE + 615;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::uapi::{v4l2_ctrl_hevc_decode_params, v4l2_ctrl_hevc_slice_params};
    #[test]
    fn ids_match_kernel() {
        // 6.12's v4l2-controls.h: STATELESS_BASE (0xa40900) + 400..407.
        assert_eq!(CID_HEVC_SPS, 0xa40a90);
        assert_eq!(CID_HEVC_ENTRY_POINT_OFFSETS, 0xa40a97);
        assert_eq!(std::mem::size_of::<v4l2_ctrl_hevc_slice_params>(), 280);
        assert_eq!(std::mem::size_of::<v4l2_ctrl_hevc_decode_params>(), 328);
    }
}
