//! hantro_drv_video: a VA-API driver for V4L2 stateless decoders.
//!
//! Layers (each uses only the ones below it; see ARCHITECTURE.md):
//! `va` (C ABI) → `driver` (VA objects) → `codecs` (VA params → V4L2
//! controls) → `v4l2` (devices, queues, requests, export). `ffi` holds the
//! raw bindings every layer may name.
pub mod codecs;
pub mod driver;
pub mod ffi;
pub mod v4l2;
pub mod va;
