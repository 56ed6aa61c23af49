//! codecs::h264::translate on arbitrary VA structs: see
//! hantro_drv_video_fuzz::translate (fuzz/src/lib.rs), which
//! tests/regressions.rs also feeds the seeds and crash inputs.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| hantro_drv_video_fuzz::translate(data));
