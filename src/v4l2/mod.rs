//! The V4L2 layer: device discovery, video-node queues, the OUTPUT
//! buffer/request pool, CAPTURE buffers and their export.
pub mod device;
pub mod discovery;
pub mod formats;
pub mod ioctl;
pub mod media;

pub use ioctl::{V4l2Error, V4l2Result};
#[cfg(feature = "bench-counters")]
pub mod counters;
pub mod mmap;
pub mod session;
