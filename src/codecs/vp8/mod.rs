//! VP8: VA picture/probability/IQ/slice buffers + the frame's first
//! partition → `V4L2_CID_STATELESS_VP8_FRAME` and the whole frame in one
//! request (kernel Documentation/userspace-api/media/v4l/
//! ext-ctrls-codec-stateless.rst, RFC 6386).
//!
//! What VA does not carry, and where it comes from:
//! * The uncompressed data chunk (frame tag, start code, size/scale):
//!   FFmpeg's VA client hands over the frame without it (slice data offset
//!   0), GStreamer's with it (offset 3 or 10). A chunk in front of the
//!   offset that agrees with VA is taken as it is; otherwise it is rebuilt
//!   from VA: key_frame, version, first_part_size = `partition_size[0]`
//!   (the first partition's *remaining* bytes) + the bytes of its header
//!   (`macroblock_offset` rounded up), the VA frame size, scale 0, and
//!   show_frame = 1 (VA does not say whether a frame is shown; neither
//!   hantro nor cedrus reads the bit).
//! * Raw quantiser indices (y_ac_qi and the five deltas), raw segment
//!   quantiser/filter values and their mode, the header's bit size and
//!   the bool decoder's state after it: parsed from the bool-coded frame
//!   header ([`header`]); VA has only clipped per-segment indices.
//!   Segment values and loop-filter deltas persist across frames and are
//!   reset by key frames (RFC 6386 9.3, 9.6), so the translator keeps them.
//! * Key frames' mode and MV probabilities: the fixed key-frame mode
//!   tables (what GStreamer's v4l2slvp8dec sends) and the default MV
//!   probabilities a key frame resets to, whatever the client sent.
//! * Segment tree probabilities before any map update: 0 (the kernel's
//!   control default and GStreamer's); they are read only with a map
//!   update, which sends all three.
//!
//! cros-codecs 0.0.6 has a VP8 parser; it is not used: it parses whole
//! frames (chunk included) and tracks the entropy state itself, while VA
//! already hands over the probabilities after this frame's updates and
//! FFmpeg leaves the chunk out, so all the driver needs is the
//! 280-line header walk here, without a new dependency.
pub mod codec;
pub mod header;
pub mod tables;

pub use codec::{Vp8, Vp8Translator};

#[cfg(test)]
mod tests;
