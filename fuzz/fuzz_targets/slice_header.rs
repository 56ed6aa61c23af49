//! The H.264 slice-header parser on arbitrary NAL bytes: see
//! hantro_drv_video_fuzz::slice_header (fuzz/src/lib.rs), which
//! tests/regressions.rs also feeds the seeds and crash inputs.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| hantro_drv_video_fuzz::slice_header(data));
