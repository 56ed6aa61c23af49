//! MPEG-2 uAPI values (fourcc, control ids), spelled as the uAPI header does.
use crate::uapi::{fourcc, V4L2_CID_CODEC_STATELESS_BASE};

pub const PIX_FMT_MPEG2_SLICE: u32 = fourcc(b"MG2S");
pub const CID_MPEG2_SEQUENCE: u32 = V4L2_CID_CODEC_STATELESS_BASE + 220;
pub const CID_MPEG2_PICTURE: u32 = V4L2_CID_CODEC_STATELESS_BASE + 221;
pub const CID_MPEG2_QUANTISATION: u32 = V4L2_CID_CODEC_STATELESS_BASE + 222;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::uapi::*;
    #[test]
    fn ids_match_kernel() {
        assert_eq!(CID_MPEG2_SEQUENCE, V4L2_CID_STATELESS_MPEG2_SEQUENCE);
        assert_eq!(CID_MPEG2_QUANTISATION, 0xa409de);
        assert_eq!(std::mem::size_of::<v4l2_ctrl_mpeg2_sequence>(), 12);
        assert_eq!(std::mem::size_of::<v4l2_ctrl_mpeg2_picture>(), 32);
        assert_eq!(std::mem::size_of::<v4l2_ctrl_mpeg2_quantisation>(), 256);
    }
}
