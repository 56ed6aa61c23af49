//! Codecs: VA parameter buffers + headers parsed from the slice data → V4L2
//! stateless controls. One folder per codec behind one interface
//! ([`codec::Codec`]); pure functions, no ioctls.
pub mod codec;
pub mod ctrl;
pub mod h264;
pub mod hevc;
pub mod mpeg2;
pub mod vp8;

pub use codec::{Codec, DecodeMode};

/// Every codec the driver decodes, in order of preference (discovery probes
/// them in this order). Adding a codec: its folder, and one line here.
pub static REGISTRY: &[&dyn Codec] = &[&h264::H264, &mpeg2::Mpeg2, &vp8::Vp8, &hevc::Hevc];

/// The codec decoding coded format `fourcc`.
pub fn by_fourcc(fourcc: u32) -> Option<&'static dyn Codec> {
    REGISTRY.iter().copied().find(|c| c.coded_fourcc() == fourcc)
}

/// What discovery probes: every registered codec's formats and controls.
pub fn probes() -> Vec<crate::v4l2::discovery::Probe> {
    REGISTRY.iter().map(|c| c.probe()).collect()
}
