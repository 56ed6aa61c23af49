//! hantro_sim: a V4L2 stateless decoder simulator (see README.md).
pub mod avdec;
pub mod bits;
pub mod client;
pub mod md5;
pub mod preload;
pub mod ctrls;
pub mod device;
pub mod engine;
pub mod dpb;
pub mod h264;
pub mod layout;
pub mod uapi;
