//! HEVC behind the codec interface: what discovery probes, the VA
//! profiles, the session set-up (decode mode, start code, placeholder SPS)
//! and the per-context translator (VA buffers → one request per picture,
//! or one per slice on slice-based devices).
use super::{translate, HevcControls, PictureInput, SliceInput};
use crate::codecs::codec::{
    self, Codec, DecodeMode, Decoding, PicStructure, PictureBuffers, PicturePlan, ProfileCaps, Refs, Request, SessionParams, SessionPlan, Translator,
    TranslatorParams,
};
use crate::codecs::ctrl::CtrlSet;
use crate::ffi::{fourcc, v4l2 as k, va};
use crate::v4l2::discovery::{CodedCaps, Probe};
use crate::v4l2::formats;
use smallvec::SmallVec;

/// The registry entry.
pub struct Hevc;

// V4L2_CID_MPEG_VIDEO_HEVC_PROFILE menu indices.
const MAIN: i64 = 0;
const MAIN_STILL: i64 = 1;

/// Annex-B start code for devices running with START_CODE_ANNEX_B.
pub const ANNEX_B_START_CODE: [u8; 3] = [0, 0, 1];

const MENUS: [u32; 3] = [k::V4L2_CID_STATELESS_HEVC_DECODE_MODE, k::V4L2_CID_STATELESS_HEVC_START_CODE, k::V4L2_CID_MPEG_VIDEO_HEVC_PROFILE];
const CONTROLS: [u32; 3] = [k::V4L2_CID_STATELESS_HEVC_SLICE_PARAMS, k::V4L2_CID_STATELESS_HEVC_SCALING_MATRIX, k::V4L2_CID_STATELESS_HEVC_ENTRY_POINT_OFFSETS];
const BUFFER_TYPES: [va::VABufferType; 2] = [va::VAPictureParameterBufferType, va::VAIQMatrixBufferType];

impl Codec for Hevc {
    fn name(&self) -> &'static str {
        "HEVC"
    }

    fn coded_fourcc(&self) -> u32 {
        fourcc::HEVC_SLICE
    }

    fn probe(&self) -> Probe {
        Probe { fourcc: fourcc::HEVC_SLICE, menus: &MENUS, controls: &CONTROLS }
    }

    /// HEVCMain where the profile menu allows Main or Main Still Picture
    /// (libva has no Main Still profile: such streams are decoded as Main),
    /// or without a menu. HEVCMain10 is not offered yet: the driver has no
    /// 10-bit surfaces (VA_RT_FORMAT_YUV420_10) to decode into.
    fn profiles(&self, caps: &CodedCaps) -> Vec<ProfileCaps> {
        let menu = caps.menu(k::V4L2_CID_MPEG_VIDEO_HEVC_PROFILE);
        if menu.is_empty() || menu.contains(&MAIN) || menu.contains(&MAIN_STILL) {
            vec![ProfileCaps { profile: va::VAProfileHEVCMain, rt_formats: va::VA_RT_FORMAT_YUV420 }]
        } else {
            Vec::new()
        }
    }

    fn buffer_types(&self) -> &'static [va::VABufferType] {
        &BUFFER_TYPES
    }

    /// libva's conformance suite (test_va_api) creates a VAQMatrixBufferType
    /// in HEVC decode contexts and expects it to be accepted (never read).
    fn tolerated_buffer_types(&self) -> &'static [va::VABufferType] {
        &[va::VAQMatrixBufferType]
    }

    fn session(&self, p: &SessionParams) -> SessionPlan {
        let decode_modes = p.caps.menu(k::V4L2_CID_STATELESS_HEVC_DECODE_MODE);
        let start_codes = p.caps.menu(k::V4L2_CID_STATELESS_HEVC_START_CODE);
        let (mode, annex_b) = codec::choose_mode(decode_modes, start_codes, p.forced_mode);
        let bit_depth = 8;
        SessionPlan {
            controls: session_controls(p.width, p.height, bit_depth, mode, annex_b, (!decode_modes.is_empty(), !start_codes.is_empty())),
            capture_formats: vec![formats::NV12, formats::NV12M, formats::NV12_32L32],
            decoding: Decoding { bit_depth, mode, start_code: if annex_b { &ANNEX_B_START_CODE } else { &[] } },
        }
    }

    fn decode_mode_env(&self) -> Option<&'static str> {
        Some("HANTRO_HEVC_DECODE_MODE")
    }

    fn translator(&self, p: &TranslatorParams) -> Box<dyn Translator> {
        Box::new(HevcTranslator {
            mode: p.decoding.mode,
            start_code: p.decoding.start_code,
            has_scaling_matrix: p.caps.has_control(k::V4L2_CID_STATELESS_HEVC_SCALING_MATRIX),
            has_entry_points: p.caps.has_control(k::V4L2_CID_STATELESS_HEVC_ENTRY_POINT_OFFSETS),
            corrupt: p.test_corrupt.map(str::to_string),
        })
    }
}

/// Session controls: decode mode, start code (where the menus exist), and
/// an SPS for a `width`x`height` 4:2:0 stream at `bit_depth` (hantro
/// answers EBUSY to a CAPTURE format set before an SPS).
pub fn session_controls(width: u32, height: u32, bit_depth: u8, mode: DecodeMode, annex_b: bool, has_menus: (bool, bool)) -> CtrlSet {
    let mut set = CtrlSet::new();
    if has_menus.0 {
        set.push_i32(
            k::V4L2_CID_STATELESS_HEVC_DECODE_MODE,
            if mode == DecodeMode::FrameBased { codec::DECODE_MODE_FRAME_BASED as i32 } else { codec::DECODE_MODE_SLICE_BASED as i32 },
        );
    }
    if has_menus.1 {
        set.push_i32(k::V4L2_CID_STATELESS_HEVC_START_CODE, if annex_b { codec::START_CODE_ANNEX_B as i32 } else { codec::START_CODE_NONE as i32 });
    }
    // SAFETY: plain old data; all-zero is a valid SPS to start from.
    let mut sps: k::v4l2_ctrl_hevc_sps = unsafe { std::mem::zeroed() };
    sps.pic_width_in_luma_samples = width.min(u16::MAX as u32) as u16;
    sps.pic_height_in_luma_samples = height.min(u16::MAX as u32) as u16;
    sps.bit_depth_luma_minus8 = bit_depth.saturating_sub(8);
    sps.bit_depth_chroma_minus8 = bit_depth.saturating_sub(8);
    sps.chroma_format_idc = 1;
    sps.log2_min_luma_coding_block_size_minus3 = 0;
    sps.log2_diff_max_min_luma_coding_block_size = 3;
    sps.log2_diff_max_min_luma_transform_block_size = 3;
    set.push(k::V4L2_CID_STATELESS_HEVC_SPS, sps);
    set
}

/// One VA context's HEVC state (HEVC needs none across pictures: VA
/// carries the POCs and the reference sets of every picture).
struct HevcTranslator {
    mode: DecodeMode,
    start_code: &'static [u8],
    has_scaling_matrix: bool,
    has_entry_points: bool,
    /// `HANTRO_TEST_CORRUPT` (test-hooks builds).
    corrupt: Option<String>,
}

/// `HANTRO_TEST_CORRUPT=hevc_poc`: decode_params.pic_order_cnt_val off by
/// one on every picture after the first IRAP (and the slices' POC with
/// it), so tests can show that the simulator's checker catches a wrongly
/// translated HEVC field coming from the real driver.
fn corrupt(what: Option<&str>, c: &mut HevcControls) {
    if what == Some("hevc_poc") && c.decode_params.flags & k::V4L2_HEVC_DECODE_PARAM_FLAG_IRAP_PIC as u64 == 0 {
        c.decode_params.pic_order_cnt_val += 1;
        for s in &mut c.slices {
            s.slice_params.slice_pic_order_cnt += 1;
        }
    }
}

impl Translator for HevcTranslator {
    fn translate<'a>(&mut self, pic: &PictureBuffers<'a>, refs: &dyn Refs) -> Result<PicturePlan<'a>, String> {
        let pp: va::VAPictureParameterBufferHEVC = pic.read(va::VAPictureParameterBufferType).ok_or("HEVC picture without picture parameters")??;
        let iq: Option<va::VAIQMatrixBufferHEVC> = pic.read(va::VAIQMatrixBufferType).transpose()?;
        let mut slices = codec::Slices::<va::VASliceParameterBufferHEVC>::new();
        codec::slices_of(pic, |p| (p.slice_data_offset, p.slice_data_size), &mut slices)?;
        if slices.is_empty() {
            return Err("HEVC picture without slices".into());
        }
        let inputs: SmallVec<[SliceInput; 4]> = slices.iter().map(|(p, d)| SliceInput { params: p, data: d }).collect();
        let input = PictureInput { pic: &pp, iq: iq.as_ref(), slices: &inputs };
        let mut ctrls = translate(&input, &|s| refs.timestamp_ns(s), self.start_code.len() as u32).map_err(|e| e.to_string())?;
        corrupt(self.corrupt.as_deref(), &mut ctrls);
        let nals: SmallVec<[&'a [u8]; 4]> = slices.iter().zip(&ctrls.nals).map(|((_, d), &(start, len))| &d[start..start + len]).collect();

        let base = |set: &mut CtrlSet| {
            set.push(k::V4L2_CID_STATELESS_HEVC_SPS, ctrls.sps);
            set.push(k::V4L2_CID_STATELESS_HEVC_PPS, ctrls.pps);
            if self.has_scaling_matrix {
                set.push(k::V4L2_CID_STATELESS_HEVC_SCALING_MATRIX, ctrls.scaling_matrix);
            }
            set.push(k::V4L2_CID_STATELESS_HEVC_DECODE_PARAMS, ctrls.decode_params);
        };
        let start = self.start_code;
        let mut requests: SmallVec<[Request<'a>; 1]> = SmallVec::new();
        match self.mode {
            DecodeMode::FrameBased => {
                let mut controls = CtrlSet::new();
                base(&mut controls);
                let mut bitstream = SmallVec::new();
                for n in &nals {
                    bitstream.push(start);
                    bitstream.push(*n);
                }
                requests.push(Request { controls, bitstream, hold: false });
            }
            DecodeMode::SliceBased => {
                let last = nals.len() - 1;
                for (i, (n, sc)) in nals.iter().zip(&ctrls.slices).enumerate() {
                    let mut controls = CtrlSet::new();
                    base(&mut controls);
                    controls.push_array(k::V4L2_CID_STATELESS_HEVC_SLICE_PARAMS, vec![sc.slice_params]);
                    if self.has_entry_points && !sc.entry_points.is_empty() {
                        controls.push_array(k::V4L2_CID_STATELESS_HEVC_ENTRY_POINT_OFFSETS, sc.entry_points.clone());
                    }
                    let mut bitstream = SmallVec::new();
                    bitstream.push(start);
                    bitstream.push(*n);
                    requests.push(Request { controls, bitstream, hold: i < last });
                }
            }
        }
        let refs = pp
            .ReferenceFrames
            .iter()
            .filter(|r| r.flags & va::VA_PICTURE_HEVC_INVALID == 0 && r.picture_id != va::VA_INVALID_SURFACE)
            .map(|r| r.picture_id)
            .collect();
        Ok(PicturePlan { requests, refs, field: None, structure: Some(PicStructure::Frame) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v4l2::device::FrameSizes;

    fn caps(profiles: &[i64], modes: &[i64], starts: &[i64]) -> CodedCaps {
        CodedCaps {
            fourcc: fourcc::HEVC_SLICE,
            sizes: FrameSizes { min_width: 64, max_width: 4096, step_width: 16, min_height: 64, max_height: 2304, step_height: 16 },
            capture: vec![formats::NV12],
            menus: vec![(MENUS[0], modes.to_vec()), (MENUS[1], starts.to_vec()), (MENUS[2], profiles.to_vec())],
            controls: vec![],
        }
    }

    #[test]
    fn main_only_where_the_menu_allows_main_or_main_still() {
        assert_eq!(Hevc.profiles(&caps(&[], &[1], &[1])).len(), 1);
        assert_eq!(Hevc.profiles(&caps(&[1], &[1], &[1]))[0].profile, va::VAProfileHEVCMain);
        // Main 10 alone: no 10-bit surfaces yet, nothing offered
        assert!(Hevc.profiles(&caps(&[2], &[1], &[1])).is_empty());
    }

    #[test]
    fn session_follows_the_menus_and_the_forced_mode() {
        let c = caps(&[0], &[0, 1], &[0, 1]);
        let p = |forced| SessionParams {
            caps: &c,
            profile: va::VAProfileHEVCMain,
            rt_format: va::VA_RT_FORMAT_YUV420,
            width: 1920,
            height: 1088,
            forced_mode: forced,
        };
        let s = Hevc.session(&p(None));
        assert_eq!((s.decoding.mode, s.decoding.start_code), (DecodeMode::FrameBased, &ANNEX_B_START_CODE[..]));
        let mut s = Hevc.session(&p(Some(DecodeMode::SliceBased)));
        assert_eq!(s.decoding.mode, DecodeMode::SliceBased);
        assert_eq!(s.controls.ids(), vec![k::V4L2_CID_STATELESS_HEVC_DECODE_MODE, k::V4L2_CID_STATELESS_HEVC_START_CODE, k::V4L2_CID_STATELESS_HEVC_SPS]);
        let c = s.controls.as_mut_slice()[2];
        // SAFETY: reading back the SPS payload this set owns.
        let sps = unsafe { &*(c.__bindgen_anon_1.ptr as *const k::v4l2_ctrl_hevc_sps) };
        assert_eq!((sps.pic_width_in_luma_samples, sps.pic_height_in_luma_samples, sps.chroma_format_idc), (1920, 1088, 1));
        // cedrus: slice-based only, no start codes
        let c = caps(&[0], &[0], &[0]);
        let s = Hevc.session(&SessionParams {
            caps: &c,
            profile: va::VAProfileHEVCMain,
            rt_format: va::VA_RT_FORMAT_YUV420,
            width: 320,
            height: 240,
            forced_mode: Some(DecodeMode::FrameBased),
        });
        assert_eq!((s.decoding.mode, s.decoding.start_code.len()), (DecodeMode::SliceBased, 0));
    }
}
