//! The codecs of the simulator, one folder each behind `codec::Codec`.
use crate::codec::Codec;
use crate::ctrls::Personality;

pub mod h264;
pub mod hevc;
pub mod mpeg2;
pub mod vp8;

/// The codecs' uAPI values, re-exported by `crate::uapi`.
pub mod uapi {
    pub use super::h264::uapi::*;
    pub use super::hevc::uapi::*;
    pub use super::mpeg2::uapi::*;
    pub use super::vp8::uapi::*;
}

/// Every codec, and the personalities that offer it (in ENUM_FMT order).
pub static REGISTRY: &[(&dyn Codec, &[Personality])] = &[
    (&h264::H264, &[Personality::HantroG1, Personality::Rkvdec, Personality::Cedrus]),
    (&mpeg2::Mpeg2, &[Personality::HantroG1, Personality::Cedrus]),
    (&vp8::Vp8, &[Personality::HantroG1, Personality::Cedrus]),
    (&hevc::Hevc, &[Personality::Rkvdec, Personality::Cedrus]),
];

/// The codecs personality `p` offers, in ENUM_FMT order.
pub fn offered(p: Personality) -> impl Iterator<Item = &'static dyn Codec> {
    REGISTRY.iter().filter(move |e| e.1.contains(&p)).map(|e| e.0)
}

/// The codec of coded format `fourcc` on `p`.
pub fn by_fourcc(p: Personality, fourcc: u32) -> Option<&'static dyn Codec> {
    offered(p).find(|c| c.fourcc() == fourcc)
}

/// The codec whose controls include `id` on `p`.
pub fn by_ctrl(p: Personality, id: u32) -> Option<&'static dyn Codec> {
    offered(p).find(|c| c.ctrl_defs(p).iter().any(|d| d.id == id))
}
