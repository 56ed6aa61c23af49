//! hantro_sim: a V4L2 stateless decoder simulator (see README.md).
// Index loops mirror the spec's pseudo-code; uAPI structs are filled field
// by field like the C code they are compared with.
#![allow(clippy::needless_range_loop, clippy::field_reassign_with_default, clippy::collapsible_if, clippy::too_many_arguments, clippy::missing_safety_doc)]
pub mod avdec;
pub mod bits;
pub mod codec;
pub mod codecs;
pub mod ctrls;
pub mod device;
pub mod layout;
pub mod md5;
pub mod preload;
pub mod uapi;
// The self-test client and the header parser under their former paths.
pub use codecs::h264::{client, header as h264};
