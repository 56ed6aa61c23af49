//! The H.264 slice-header parser on arbitrary NAL bytes, with parameter
//! sets derived from arbitrary VA picture/slice parameters exactly as the
//! driver derives them (ParamSets::from_va). Must never panic.
#![no_main]
use arbitrary::Unstructured;
use hantro_drv_video::codecs::h264::slice_header::{parse_slice_header, strip_start_code, ParamSets};
use hantro_drv_video_fuzz::{picture, slice_params};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let (Ok(pic), Ok(sp)) = (picture(&mut u), slice_params(&mut u)) else { return };
    let nal = u.take_rest();
    let Ok(ps) = ParamSets::from_va(&pic, Some(&sp)) else { return };
    let _ = parse_slice_header(nal, &ps);
    let _ = strip_start_code(nal);
});
