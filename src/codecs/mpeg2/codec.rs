//! MPEG-2 behind the codec interface: probe, VA profiles, session set-up
//! and the per-context translator (one request per frame or field picture).
use super::{slice_pieces, translate, Mpeg2Controls, Mpeg2State, PictureInput, RefTs};
use crate::codecs::codec::{
    self, Codec, DecodeMode, Decoding, PictureBuffers, PicturePlan, ProfileCaps, Refs, Request, SessionParams, SessionPlan, Translator, TranslatorParams,
};
use crate::codecs::ctrl::CtrlSet;
use crate::ffi::{fourcc, v4l2 as k, va};
use crate::v4l2::discovery::{CodedCaps, Probe};
use crate::v4l2::formats;
use smallvec::SmallVec;

/// The registry entry.
pub struct Mpeg2;

const BUFFER_TYPES: [va::VABufferType; 2] = [va::VAPictureParameterBufferType, va::VAIQMatrixBufferType];

impl Codec for Mpeg2 {
    fn name(&self) -> &'static str {
        "MPEG-2"
    }

    fn coded_fourcc(&self) -> u32 {
        fourcc::MPEG2_SLICE
    }

    /// No menus, no optional controls: the uAPI gives every MPEG2_SLICE
    /// device the sequence, picture and quantisation controls.
    fn probe(&self) -> Probe {
        Probe { fourcc: fourcc::MPEG2_SLICE, menus: &[], controls: &[] }
    }

    /// Simple and Main (8-bit 4:2:0) wherever the device takes MPEG2_SLICE.
    fn profiles(&self, _caps: &CodedCaps) -> Vec<ProfileCaps> {
        [va::VAProfileMPEG2Simple, va::VAProfileMPEG2Main].into_iter().map(|profile| ProfileCaps { profile, rt_formats: va::VA_RT_FORMAT_YUV420 }).collect()
    }

    fn buffer_types(&self) -> &'static [va::VABufferType] {
        &BUFFER_TYPES
    }

    /// Macroblock parameters belong to the IDCT/MoComp entrypoints, not VLD;
    /// test_va_api creates one in an MPEG-2 VLD context all the same.
    fn tolerated_buffer_types(&self) -> &'static [va::VABufferType] {
        &[va::VAMacroblockParameterBufferType]
    }

    fn session(&self, p: &SessionParams) -> SessionPlan {
        SessionPlan {
            controls: session_controls(p.width, p.height),
            capture_formats: vec![formats::NV12, formats::NV12M, formats::NV12_32L32],
            decoding: Decoding { bit_depth: 8, mode: DecodeMode::FrameBased, start_code: &[] },
        }
    }

    fn translator(&self, p: &TranslatorParams) -> Box<dyn Translator> {
        Box::new(Mpeg2Translator { profile: p.profile, state: Mpeg2State::default(), corrupt: p.test_corrupt.map(str::to_string) })
    }
}

/// A sequence for a `width`x`height` 4:2:0 stream, before the CAPTURE
/// format is set.
pub fn session_controls(width: u32, height: u32) -> CtrlSet {
    let mut set = CtrlSet::new();
    let pl = super::profile_and_level(va::VAProfileMPEG2Main, width, height);
    set.push(
        k::V4L2_CID_STATELESS_MPEG2_SEQUENCE,
        k::v4l2_ctrl_mpeg2_sequence {
            horizontal_size: width.min(0x3fff) as u16,
            vertical_size: height.min(0x3fff) as u16,
            vbv_buffer_size: super::max_vbv_buffer_size(pl),
            profile_and_level_indication: pl,
            chroma_format: 1,
            flags: 0,
        },
    );
    set
}

struct Mpeg2Translator {
    profile: va::VAProfile,
    state: Mpeg2State,
    /// `HANTRO_TEST_CORRUPT` (test-hooks builds).
    corrupt: Option<String>,
}

struct RefsAdapter<'a>(&'a dyn Refs);

impl RefTs for RefsAdapter<'_> {
    fn timestamp_ns(&self, surface: va::VASurfaceID) -> Option<u64> {
        self.0.timestamp_ns(surface)
    }
}

/// `HANTRO_TEST_CORRUPT=mpeg2_forward_ref`: B pictures name their backward
/// reference as the forward one too (a wrong reference the simulator's
/// reference model must catch); `mpeg2_alt_scan`: alternate_scan inverted
/// on every picture (wrong pixels through the rebuilt picture coding
/// extension).
fn corrupt(what: Option<&str>, c: &mut Mpeg2Controls) {
    match what {
        Some("mpeg2_forward_ref") if c.picture.picture_coding_type as u32 == k::V4L2_MPEG2_PIC_CODING_TYPE_B => {
            c.picture.forward_ref_ts = c.picture.backward_ref_ts
        }
        Some("mpeg2_alt_scan") => c.picture.flags ^= k::V4L2_MPEG2_PIC_FLAG_ALT_SCAN,
        _ => {}
    }
}

impl Translator for Mpeg2Translator {
    fn translate<'a>(&mut self, pic: &PictureBuffers<'a>, refs: &dyn Refs) -> Result<PicturePlan<'a>, String> {
        let pp: va::VAPictureParameterBufferMPEG2 = pic.read(va::VAPictureParameterBufferType).ok_or("MPEG-2 picture without picture parameters")??;
        let iq: Option<va::VAIQMatrixBufferMPEG2> = pic.read(va::VAIQMatrixBufferType).transpose()?;
        let mut slices = codec::Slices::<va::VASliceParameterBufferMPEG2>::new();
        codec::slices_of(pic, |p| (p.slice_data_offset, p.slice_data_size), &mut slices)?;
        if slices.is_empty() {
            return Err("MPEG-2 picture without slices".into());
        }
        let mut bitstream: SmallVec<[&'a [u8]; 8]> = SmallVec::new();
        for (p, d) in &slices {
            let (sc, data) = slice_pieces(p, d)?;
            if !sc.is_empty() {
                bitstream.push(sc);
            }
            bitstream.push(data);
        }
        let input = PictureInput { profile: self.profile, pic: &pp, iq: iq.as_ref() };
        let mut c = translate(&input, &RefsAdapter(refs), refs.timestamp_ns(pic.target), &mut self.state)?;
        corrupt(self.corrupt.as_deref(), &mut c);
        let mut controls = CtrlSet::new();
        controls.push(k::V4L2_CID_STATELESS_MPEG2_SEQUENCE, c.sequence);
        controls.push(k::V4L2_CID_STATELESS_MPEG2_PICTURE, c.picture);
        controls.push(k::V4L2_CID_STATELESS_MPEG2_QUANTISATION, c.quantisation);
        let mut requests = SmallVec::new();
        requests.push(Request { controls, bitstream, hold: false });
        Ok(PicturePlan { requests, refs: c.refs.iter().flatten().copied().collect(), field: c.field, structure: c.structure })
    }
}
