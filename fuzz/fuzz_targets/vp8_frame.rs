//! The VP8 frame-tag / bool-coded header parser and the VA -> V4L2 VP8
//! translation on arbitrary bytes: see hantro_drv_video_fuzz::vp8::vp8_frame
//! (fuzz/src/vp8.rs), which tests/hostile_vp8.rs also feeds corpus frames
//! and their mutations.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| hantro_drv_video_fuzz::vp8::vp8_frame(data));
