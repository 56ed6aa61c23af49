//! Real-kernel test plane for hantro_drv_video.
//!
//! * [`ftrace`]: parse the text of `/sys/kernel/tracing/trace`.
//! * [`visl`]: turn visl's control events into per-frame decode records in
//!   decode order, with reference timestamps normalised to frame indices.
//! * [`compare`]: compare two such decodes (reference vs ours).
//! * [`guest`]: helpers for tests that boot the QEMU guest
//!   (scripts/guest-run.sh).
pub mod compare;
pub mod ftrace;
pub mod guest;
pub mod visl;
