//! The HEVC slice-header parser and the VA -> V4L2 HEVC translation on
//! arbitrary bytes: see hantro_drv_video_fuzz::hevc::hevc_slice
//! (fuzz/src/hevc.rs), which tests/hostile_hevc.rs also feeds corpus
//! slices and their mutations.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| hantro_drv_video_fuzz::hevc::hevc_slice(data));
