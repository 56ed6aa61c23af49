//! Test-only hooks (feature `test-hooks`, never in release packages):
//! `HANTRO_TEST_CORRUPT=frame_num` sends a wrong decode_params.frame_num on
//! every non-IDR picture, so tests can show that the simulator's checker
//! catches a wrong control coming from the real driver.
use crate::codecs::h264::H264Controls;
use crate::ffi::v4l2 as k;

pub fn corrupt_h264(c: &mut H264Controls) {
    match std::env::var("HANTRO_TEST_CORRUPT").ok().as_deref() {
        Some("frame_num") if c.decode_params.flags & k::V4L2_H264_DECODE_PARAM_FLAG_IDR_PIC == 0 => {
            c.decode_params.frame_num = c.decode_params.frame_num.wrapping_add(1);
        }
        _ => {}
    }
}
