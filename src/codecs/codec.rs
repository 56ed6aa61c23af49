//! The interface between the generic driver and one codec. A codec is a
//! `&'static dyn Codec` in [`super::REGISTRY`]; it declares
//!
//! * what discovery probes for it ([`Codec::probe`]: coded fourcc, menus,
//!   controls whose presence matters),
//! * which VA profiles and RT formats a probed device gets
//!   ([`Codec::profiles`]),
//! * how a session is set up ([`Codec::session`]: controls before the
//!   CAPTURE format, decode mode, start code, CAPTURE formats, bit depth),
//! * which VA buffer types a picture is made of ([`Codec::buffer_types`]),
//! * and, per VA context, a [`Translator`] that turns one picture's VA
//!   buffers into the requests to queue ([`PicturePlan`]).
//!
//! Nothing here names a codec; no ioctls. The driver owns the picture
//! state machine (field pairs, HOLD_CAPTURE_BUF, timestamps), placement and
//! submission.
use super::ctrl::CtrlSet;
use crate::ffi::{pod, va};
use crate::v4l2::device::FrameSizes;
use crate::v4l2::discovery::{CodedCaps, Probe};
use smallvec::SmallVec;

/// How a device takes the pictures of a codec with a decode-mode menu.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeMode {
    /// All slices of a picture in one request (hantro, rkvdec).
    FrameBased,
    /// One request per slice (cedrus).
    SliceBased,
}

/// Values of the stateless `*_DECODE_MODE` and `*_START_CODE` menus (the
/// same numbers for every codec that has them).
pub const DECODE_MODE_SLICE_BASED: i64 = 0;
pub const DECODE_MODE_FRAME_BASED: i64 = 1;
pub const START_CODE_NONE: i64 = 0;
pub const START_CODE_ANNEX_B: i64 = 1;

/// Picks the decode mode and whether slices carry an Annex-B start code
/// from a device's two menus (empty = the control does not exist);
/// `forced` wins where the device offers it. Frame-based when offered, and
/// Annex-B when offered (required in practice by frame-based hardware;
/// with no menu at all hantro/rkvdec default to Annex-B).
pub fn choose_mode(decode_modes: &[i64], start_codes: &[i64], forced: Option<DecodeMode>) -> (DecodeMode, bool) {
    let has = |m: DecodeMode| match m {
        DecodeMode::FrameBased => decode_modes.contains(&DECODE_MODE_FRAME_BASED),
        DecodeMode::SliceBased => decode_modes.contains(&DECODE_MODE_SLICE_BASED),
    };
    let mode = match forced {
        Some(m) if has(m) => m,
        _ if decode_modes.is_empty() || has(DecodeMode::FrameBased) => DecodeMode::FrameBased,
        _ => DecodeMode::SliceBased,
    };
    let annex_b = start_codes.is_empty() || start_codes.contains(&START_CODE_ANNEX_B);
    (mode, annex_b)
}

/// A VA profile a device decodes, with the RT formats it offers for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProfileCaps {
    pub profile: va::VAProfile,
    pub rt_formats: u32,
}

/// What a session is opened for.
#[derive(Clone, Copy, Debug)]
pub struct SessionParams<'a> {
    pub caps: &'a CodedCaps,
    pub profile: va::VAProfile,
    /// The VA RT format of the surfaces (decides bit depth and chroma).
    pub rt_format: u32,
    /// Coded size, already aligned by the driver.
    pub width: u32,
    pub height: u32,
    /// The configured decode-mode preference, where the device offers both.
    pub forced_mode: Option<DecodeMode>,
}

/// How a session of a codec is set up.
pub struct SessionPlan {
    /// Controls set after the OUTPUT format and before the CAPTURE format
    /// (decode mode, start code, a sequence header with size and bit depth:
    /// hantro answers EBUSY otherwise).
    pub controls: CtrlSet,
    /// CAPTURE formats the pictures may land in, preferred first.
    pub capture_formats: Vec<u32>,
    pub decoding: Decoding,
}

/// How the session decodes, for its translators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decoding {
    pub bit_depth: u8,
    pub mode: DecodeMode,
    /// Bytes the device wants before each slice (Annex-B), or none.
    pub start_code: &'static [u8],
}

impl std::fmt::Display for Decoding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}, {}-bit{}", self.mode, self.bit_depth, if self.start_code.is_empty() { "" } else { ", start codes" })
    }
}

/// What a per-context translator is made from.
pub struct TranslatorParams<'a> {
    pub caps: &'a CodedCaps,
    pub decoding: &'a Decoding,
    pub profile: va::VAProfile,
    /// `HANTRO_TEST_CORRUPT` (feature `test-hooks`; else `None`).
    pub test_corrupt: Option<&'a str>,
}

/// One codec.
pub trait Codec: Sync {
    /// For logs.
    fn name(&self) -> &'static str;
    /// The V4L2 OUTPUT (coded) pixel format.
    fn coded_fourcc(&self) -> u32;
    /// What discovery reads for this codec.
    fn probe(&self) -> Probe;
    /// VA profiles (and their RT formats) with a decode path, given what
    /// discovery found on one device.
    fn profiles(&self, caps: &CodedCaps) -> Vec<ProfileCaps>;
    /// Coded picture sizes `profile` can be decoded at on a device that
    /// reported `caps` (VIDIOC_ENUM_FRAMESIZES). vaQuerySurfaceAttributes,
    /// vaGetConfigAttributes (MaxPictureWidth/Height) and vaCreateContext
    /// all tell and enforce exactly these limits. A codec narrows them
    /// where its profiles or levels cap the size below the device's range;
    /// by default, the device's range.
    fn picture_sizes(&self, caps: &CodedCaps, profile: va::VAProfile) -> FrameSizes {
        let _ = profile;
        caps.sizes
    }
    /// The VA buffer types of a picture besides slice parameter/data pairs
    /// (picture parameters, IQ matrix, probability and Huffman tables...);
    /// others are ignored by vaRenderPicture.
    fn buffer_types(&self) -> &'static [va::VABufferType];
    /// Buffer types a client may create in this codec's contexts although
    /// no picture of it uses them (vaRenderPicture ignores them): libva's
    /// conformance suite (libva-utils' test_va_api, CreateBufferWithOutData)
    /// creates them in a decode context of the codec's profiles and expects
    /// success. vaCreateBuffer refuses every other type with
    /// VA_STATUS_ERROR_UNSUPPORTED_BUFFERTYPE. None by default.
    fn tolerated_buffer_types(&self) -> &'static [va::VABufferType] {
        &[]
    }
    /// Session set-up for `p`.
    fn session(&self, p: &SessionParams) -> SessionPlan;
    /// The `HANTRO_*` variable (`frame`|`slice`) forcing this codec's
    /// decode mode where the device offers both; read once at
    /// vaInitialize, it wins over the general decode-mode variable.
    fn decode_mode_env(&self) -> Option<&'static str> {
        None
    }
    /// A translator for one VA context.
    fn translator(&self, p: &TranslatorParams) -> Box<dyn Translator>;
}

/// One VA buffer of the picture.
#[derive(Clone, Copy, Debug)]
pub struct VaBuf<'a> {
    pub buf_type: va::VABufferType,
    pub bytes: &'a [u8],
    pub num_elements: u32,
}

/// A slice (or tile group) parameter buffer and the data buffer rendered
/// after it.
#[derive(Clone, Copy, Debug)]
pub struct SliceBufs<'a> {
    pub params: &'a [u8],
    pub num_elements: u32,
    pub data: &'a [u8],
}

/// One picture's VA buffers, as rendered between vaBeginPicture and
/// vaEndPicture.
#[derive(Clone, Copy, Debug)]
pub struct PictureBuffers<'a> {
    pub target: va::VASurfaceID,
    /// The last buffer of each type in [`Codec::buffer_types`] rendered.
    pub buffers: &'a [VaBuf<'a>],
    /// Slice parameter/data pairs, in order.
    pub slices: &'a [SliceBufs<'a>],
}

impl<'a> PictureBuffers<'a> {
    pub fn get(&self, t: va::VABufferType) -> Option<&VaBuf<'a>> {
        self.buffers.iter().find(|b| b.buf_type == t)
    }

    /// The first `T` of the buffer of type `t`: `None` if there is no such
    /// buffer, `Some(Err)` if it is too short.
    pub fn read<T: pod::Pod>(&self, t: va::VABufferType) -> Option<Result<T, String>> {
        self.get(t).map(|b| {
            pod::read(b.bytes, 0)
                .ok_or_else(|| format!("{}-byte buffer of type {t} is shorter than its struct ({} bytes)", b.bytes.len(), std::mem::size_of::<T>()))
        })
    }
}

/// Each slice's parameter struct with its bytes.
pub type Slices<'a, P> = SmallVec<[(P, &'a [u8]); 4]>;

/// Every (slice parameter, slice bytes) of a picture: the `num_elements`
/// parameter structs of each slice parameter buffer, each cut out of its
/// data buffer by `(offset, size)` (bounds-checked), appended to `out`.
/// Filled in place: parameter structs are large (H.264's is 3 KiB), and
/// returning the list by value moved it twice per picture.
pub fn slices_of<'a, P: pod::Pod>(pic: &PictureBuffers<'a>, span: impl Fn(&P) -> (u32, u32), out: &mut Slices<'a, P>) -> Result<(), String> {
    for s in pic.slices {
        for i in 0..s.num_elements as usize {
            let p: P = pod::read(s.params, i).ok_or_else(|| format!("slice parameter buffer holds fewer than {} elements", s.num_elements))?;
            let (off, size) = span(&p);
            let end = (off as usize)
                .checked_add(size as usize)
                .filter(|&e| e <= s.data.len())
                .ok_or_else(|| format!("slice data {off}+{size} outside a {}-byte buffer", s.data.len()))?;
            out.push((p, &s.data[off as usize..end]));
        }
    }
    Ok(())
}

/// How a picture was coded: V4L2 DPBs of field codecs need it for their
/// references, VA does not say, so the driver remembers it per surface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PicStructure {
    Frame,
    TopFieldFirst,
    BottomFieldFirst,
}

/// What the driver knows about the surfaces a picture references.
pub trait Refs {
    /// V4L2 timestamp (ns) of the CAPTURE buffer holding `surface`'s
    /// picture; `None` = not a decoded picture of this session.
    fn timestamp_ns(&self, surface: va::VASurfaceID) -> Option<u64>;
    /// [`PicturePlan::structure`] of the last picture decoded into it.
    fn structure(&self, surface: va::VASurfaceID) -> Option<PicStructure>;
}

/// One request to queue: its controls and the bitstream pieces copied,
/// in order, into its OUTPUT buffer.
pub struct Request<'a> {
    pub controls: CtrlSet,
    pub bitstream: SmallVec<[&'a [u8]; 8]>,
    /// More requests of this picture follow (V4L2_BUF_FLAG_M2M_HOLD_CAPTURE_BUF).
    /// The driver adds the hold of a first field.
    pub hold: bool,
}

/// Which field a field picture is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Top,
    Bottom,
}

/// A translated picture.
pub struct PicturePlan<'a> {
    /// At least one; the first queues the target CAPTURE buffer.
    pub requests: SmallVec<[Request<'a>; 1]>,
    /// Surfaces the picture reads (not re-queued while it decodes).
    pub refs: SmallVec<[va::VASurfaceID; 16]>,
    /// `Some` for a field picture: the driver pairs it with the opposite
    /// field decoded into the same surface just before it (same CAPTURE
    /// buffer and timestamp, the first one held).
    pub field: Option<Field>,
    /// To remember for the target surface ([`Refs::structure`]); `None`
    /// leaves what is remembered (a second field).
    pub structure: Option<PicStructure>,
}

/// Per-context translation: what earlier pictures told lives in `self`.
pub trait Translator: Send {
    fn translate<'a>(&mut self, pic: &PictureBuffers<'a>, refs: &dyn Refs) -> Result<PicturePlan<'a>, String>;

    /// Bytes the translator made itself for request `request` of the plan
    /// it returned last (a rebuilt header the VA client did not hand over),
    /// copied into the OUTPUT buffer before that request's `bitstream`.
    fn made_bytes(&self, _request: usize) -> &[u8] {
        &[]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn mode_choice_follows_menus() {
        assert_eq!(choose_mode(&[0, 1], &[0, 1], None), (DecodeMode::FrameBased, true));
        assert_eq!(choose_mode(&[0, 1], &[0, 1], Some(DecodeMode::SliceBased)), (DecodeMode::SliceBased, true));
        // cedrus: slice-based only, no start codes
        assert_eq!(choose_mode(&[0], &[0], None), (DecodeMode::SliceBased, false));
        assert_eq!(choose_mode(&[0], &[0], Some(DecodeMode::FrameBased)), (DecodeMode::SliceBased, false));
        // hantro: frame-based + Annex-B only
        assert_eq!(choose_mode(&[1], &[1], Some(DecodeMode::SliceBased)), (DecodeMode::FrameBased, true));
    }
}
