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

/// `HANTRO_TEST_CORRUPT=slice2_pps` (pic_init_qp_minus26 off by one) or
/// `slice2_frame_num` (decode_params.frame_num off by one): only in the
/// second request of a slice-based picture, so tests can show that the
/// simulator checks the frame-level controls of every request, not only
/// the first one of a picture. `slice` is the request's index in the picture.
pub fn corrupt_h264_request(slice: usize, set: &mut crate::codecs::ctrl::CtrlSet) {
    let what = std::env::var("HANTRO_TEST_CORRUPT").unwrap_or_default();
    if slice != 1 || !matches!(what.as_str(), "slice2_pps" | "slice2_frame_num") {
        return;
    }
    for c in set.as_mut_slice() {
        // SAFETY: CtrlSet::push stored a boxed payload of the control's own
        // type behind `ptr` (PPS / DECODE_PARAMS structs), owned by the set.
        unsafe {
            if what == "slice2_pps" && c.id == k::V4L2_CID_STATELESS_H264_PPS {
                let p = &mut *(c.__bindgen_anon_1.ptr as *mut k::v4l2_ctrl_h264_pps);
                p.pic_init_qp_minus26 = if p.pic_init_qp_minus26 < 25 { p.pic_init_qp_minus26 + 1 } else { 24 };
            }
            if what == "slice2_frame_num" && c.id == k::V4L2_CID_STATELESS_H264_DECODE_PARAMS {
                let d = &mut *(c.__bindgen_anon_1.ptr as *mut k::v4l2_ctrl_h264_decode_params);
                d.frame_num = d.frame_num.wrapping_add(1);
            }
        }
    }
}
