//! VP8 uAPI values bindgen cannot give (fourcc, control id).
use crate::uapi::{fourcc, V4L2_CID_CODEC_STATELESS_BASE};

pub const PIX_FMT_VP8_FRAME: u32 = fourcc(b"VP8F");
pub const CID_VP8_FRAME: u32 = V4L2_CID_CODEC_STATELESS_BASE + 200;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::uapi::v4l2_ctrl_vp8_frame;
    #[test]
    fn ids_match_kernel() {
        assert_eq!(CID_VP8_FRAME, 0xa409c8);
        assert_eq!(std::mem::size_of::<v4l2_ctrl_vp8_frame>(), 1232);
    }
}
