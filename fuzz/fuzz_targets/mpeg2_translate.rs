//! The MPEG-2 translator on arbitrary VA buffers: see
//! hantro_drv_video_fuzz::mpeg2_translate (fuzz/src/lib.rs), which
//! tests/fuzz_regressions.rs also feeds the seeds and crash inputs.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| hantro_drv_video_fuzz::mpeg2_translate(data));
