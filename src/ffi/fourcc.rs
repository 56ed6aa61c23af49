//! The uAPI's coded (OUTPUT) pixel formats: `V4L2_PIX_FMT_*` values
//! bindgen cannot evaluate (videodev2.h builds them with a function-like
//! macro). Raw constants only; each codec names its own.

pub const fn fourcc(a: u8, b: u8, c: u8, d: u8) -> u32 {
    (a as u32) | ((b as u32) << 8) | ((c as u32) << 16) | ((d as u32) << 24)
}

pub const H264_SLICE: u32 = fourcc(b'S', b'2', b'6', b'4');
pub const HEVC_SLICE: u32 = fourcc(b'S', b'2', b'6', b'5');
pub const VP8_FRAME: u32 = fourcc(b'V', b'P', b'8', b'F');
pub const VP9_FRAME: u32 = fourcc(b'V', b'P', b'9', b'F');
pub const MPEG2_SLICE: u32 = fourcc(b'M', b'G', b'2', b'S');
pub const AV1_FRAME: u32 = fourcc(b'A', b'V', b'1', b'F');

#[cfg(test)]
mod tests {
    #[test]
    fn names() {
        assert_eq!(crate::v4l2::formats::name(super::H264_SLICE), "S264");
    }
}
