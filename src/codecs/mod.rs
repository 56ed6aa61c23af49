//! Codecs: VA parameter buffers + headers parsed from the slice data → V4L2
//! stateless controls. One module per codec; pure functions, no ioctls.
pub mod ctrl;
pub mod h264;
pub mod setup;
