//! H.264 behind the codec interface: what discovery probes, the VA
//! profiles, the session set-up (decode mode, start code, placeholder SPS)
//! and the per-context translator (VA buffers → one request per picture,
//! or one per slice on slice-based devices).
use super::poc::PocNormalizer;
use super::{slice_nal, translate_with_state, H264Controls, H264State, PictureInput, RefStructure, RefTimestamps, SliceInput, ANNEX_B_START_CODE};
use crate::codecs::codec::{
    self, Codec, DecodeMode, Decoding, Field, PictureBuffers, PicturePlan, ProfileCaps, Refs, Request, SessionParams, SessionPlan, Translator, TranslatorParams,
};
use crate::codecs::ctrl::CtrlSet;
use crate::ffi::{fourcc, v4l2 as k, va};
use crate::v4l2::discovery::{CodedCaps, Probe};
use crate::v4l2::formats;
use smallvec::SmallVec;

/// The registry entry.
pub struct H264;

// V4L2_CID_MPEG_VIDEO_H264_PROFILE menu indices.
const BASELINE: i64 = 0;
const CONSTRAINED_BASELINE: i64 = 1;
const MAIN: i64 = 2;
const HIGH: i64 = 4;

const MENUS: [u32; 3] = [k::V4L2_CID_STATELESS_H264_DECODE_MODE, k::V4L2_CID_STATELESS_H264_START_CODE, k::V4L2_CID_MPEG_VIDEO_H264_PROFILE];
const CONTROLS: [u32; 2] = [k::V4L2_CID_STATELESS_H264_SLICE_PARAMS, k::V4L2_CID_STATELESS_H264_PRED_WEIGHTS];
const BUFFER_TYPES: [va::VABufferType; 2] = [va::VAPictureParameterBufferType, va::VAIQMatrixBufferType];

impl Codec for H264 {
    fn name(&self) -> &'static str {
        "H.264"
    }

    fn coded_fourcc(&self) -> u32 {
        fourcc::H264_SLICE
    }

    fn probe(&self) -> Probe {
        Probe { fourcc: fourcc::H264_SLICE, menus: &MENUS, controls: &CONTROLS }
    }

    /// 8-bit 4:2:0 profiles the profile menu allows (all three without one).
    fn profiles(&self, caps: &CodedCaps) -> Vec<ProfileCaps> {
        let menu = caps.menu(k::V4L2_CID_MPEG_VIDEO_H264_PROFILE);
        let has = |p: &[i64]| menu.is_empty() || p.iter().any(|x| menu.contains(x));
        let mut v = Vec::new();
        for (items, profile) in
            [(&[BASELINE, CONSTRAINED_BASELINE][..], va::VAProfileH264ConstrainedBaseline), (&[MAIN], va::VAProfileH264Main), (&[HIGH], va::VAProfileH264High)]
        {
            if has(items) {
                v.push(ProfileCaps { profile, rt_formats: va::VA_RT_FORMAT_YUV420 });
            }
        }
        v
    }

    fn buffer_types(&self) -> &'static [va::VABufferType] {
        &BUFFER_TYPES
    }

    fn session(&self, p: &SessionParams) -> SessionPlan {
        let decode_modes = p.caps.menu(k::V4L2_CID_STATELESS_H264_DECODE_MODE);
        let start_codes = p.caps.menu(k::V4L2_CID_STATELESS_H264_START_CODE);
        let (mode, annex_b) = codec::choose_mode(decode_modes, start_codes, p.forced_mode);
        let bit_depth = 8;
        SessionPlan {
            controls: session_controls(p.width, p.height, bit_depth, mode, annex_b, (!decode_modes.is_empty(), !start_codes.is_empty())),
            capture_formats: vec![formats::NV12, formats::NV12M, formats::NV12_32L32],
            decoding: Decoding { bit_depth, mode, start_code: if annex_b { &ANNEX_B_START_CODE } else { &[] } },
        }
    }

    fn translator(&self, p: &TranslatorParams) -> Box<dyn Translator> {
        Box::new(H264Translator {
            profile: p.profile,
            mode: p.decoding.mode,
            start_code: p.decoding.start_code,
            has_pred_weights: p.caps.has_control(k::V4L2_CID_STATELESS_H264_PRED_WEIGHTS),
            state: H264State::default(),
            poc: PocNormalizer::default(),
            last_field: None,
            mmco5: SmallVec::new(),
            corrupt: p.test_corrupt.map(str::to_string),
        })
    }
}

/// Session controls: decode mode, start code (where the menus exist), and
/// an SPS for a `width`x`height` 4:2:0 stream at `bit_depth`.
pub fn session_controls(width: u32, height: u32, bit_depth: u8, mode: DecodeMode, annex_b: bool, has_menus: (bool, bool)) -> CtrlSet {
    let mut set = CtrlSet::new();
    if has_menus.0 {
        set.push_i32(
            k::V4L2_CID_STATELESS_H264_DECODE_MODE,
            if mode == DecodeMode::FrameBased { codec::DECODE_MODE_FRAME_BASED as i32 } else { codec::DECODE_MODE_SLICE_BASED as i32 },
        );
    }
    if has_menus.1 {
        set.push_i32(k::V4L2_CID_STATELESS_H264_START_CODE, if annex_b { codec::START_CODE_ANNEX_B as i32 } else { codec::START_CODE_NONE as i32 });
    }
    // SAFETY: plain old data; all-zero is a valid SPS to start from.
    let mut sps: k::v4l2_ctrl_h264_sps = unsafe { std::mem::zeroed() };
    sps.profile_idc = if bit_depth > 8 { 110 } else { 100 };
    sps.level_idc = 51;
    sps.chroma_format_idc = 1;
    sps.bit_depth_luma_minus8 = bit_depth.saturating_sub(8);
    sps.bit_depth_chroma_minus8 = bit_depth.saturating_sub(8);
    sps.max_num_ref_frames = 16;
    sps.log2_max_frame_num_minus4 = 0;
    sps.pic_width_in_mbs_minus1 = (width.div_ceil(16).max(1) - 1) as u16;
    sps.pic_height_in_map_units_minus1 = (height.div_ceil(16).max(1) - 1) as u16;
    sps.flags = k::V4L2_H264_SPS_FLAG_FRAME_MBS_ONLY;
    set.push(k::V4L2_CID_STATELESS_H264_SPS, sps);
    set
}

/// One VA context's H.264 state.
struct H264Translator {
    profile: va::VAProfile,
    mode: DecodeMode,
    start_code: &'static [u8],
    /// The device has V4L2_CID_STATELESS_H264_PRED_WEIGHTS.
    has_pred_weights: bool,
    /// What earlier pictures of the stream told (PPS ref-count defaults).
    state: H264State,
    poc: PocNormalizer,
    /// The last picture if it was a field: (surface, bottom, its POC).
    last_field: Option<(va::VASurfaceID, bool, i32)>,
    /// Reference pictures that carried MMCO 5, with their POCs as the spec
    /// leaves them after the reset: (surface, top, bottom). See
    /// [`H264Translator::mmco5_pocs`].
    mmco5: SmallVec<[(va::VASurfaceID, i32, i32); 2]>,
    /// `HANTRO_TEST_CORRUPT` (test-hooks builds).
    corrupt: Option<String>,
}

fn zero_pred_weights() -> k::v4l2_ctrl_h264_pred_weights {
    // SAFETY: plain-old-data kernel struct; all-zero is valid.
    unsafe { std::mem::zeroed() }
}

/// The driver's reference lookup, as the H.264 translation asks for it.
struct RefsAdapter<'a>(&'a dyn Refs);

impl RefTimestamps for RefsAdapter<'_> {
    fn timestamp_ns(&self, surface: va::VASurfaceID) -> Option<u64> {
        self.0.timestamp_ns(surface)
    }

    fn structure(&self, surface: va::VASurfaceID) -> Option<RefStructure> {
        self.0.structure(surface)
    }
}

/// `HANTRO_TEST_CORRUPT=frame_num`: a wrong decode_params.frame_num on
/// every non-IDR picture, so tests can show that the simulator's checker
/// catches a wrong control coming from the real driver.
fn corrupt(what: Option<&str>, c: &mut H264Controls) {
    if what == Some("frame_num") && c.decode_params.flags & k::V4L2_H264_DECODE_PARAM_FLAG_IDR_PIC == 0 {
        c.decode_params.frame_num = c.decode_params.frame_num.wrapping_add(1);
    }
}

/// `HANTRO_TEST_CORRUPT=slice2_pps` (pic_init_qp_minus26 off by one) or
/// `slice2_frame_num` (decode_params.frame_num off by one): only in the
/// second request of a slice-based picture, so tests can show that the
/// simulator checks the frame-level controls of every request, not only
/// the first one of a picture. `slice` is the request's index in the picture.
fn corrupt_request(what: Option<&str>, slice: usize, pps: &mut k::v4l2_ctrl_h264_pps, dp: &mut k::v4l2_ctrl_h264_decode_params) {
    if slice != 1 {
        return;
    }
    match what {
        Some("slice2_pps") => pps.pic_init_qp_minus26 = if pps.pic_init_qp_minus26 < 25 { pps.pic_init_qp_minus26 + 1 } else { 24 },
        Some("slice2_frame_num") => dp.frame_num = dp.frame_num.wrapping_add(1),
        _ => {}
    }
}

impl H264Translator {
    /// The second field of a pair carries the first field's order count
    /// too (as GStreamer's element sends it). A reference first field is in
    /// VA's DPB, where the translation finds it; a non-reference one is
    /// not, and a client may leave it out of CurrPic (GStreamer's va
    /// decoder sends 0): it is taken from the first field translated just
    /// before into the same surface.
    fn pair_field_pocs(&mut self, target: va::VASurfaceID, dp: &mut k::v4l2_ctrl_h264_decode_params) {
        let field = dp.flags & k::V4L2_H264_DECODE_PARAM_FLAG_FIELD_PIC != 0;
        let bottom = dp.flags & k::V4L2_H264_DECODE_PARAM_FLAG_BOTTOM_FIELD != 0;
        match (field, self.last_field.take()) {
            (true, Some((surface, was_bottom, poc))) if surface == target && was_bottom != bottom => {
                let other = if bottom { &mut dp.top_field_order_cnt } else { &mut dp.bottom_field_order_cnt };
                if *other == 0 {
                    *other = poc;
                }
            }
            (true, _) => self.last_field = Some((target, bottom, if bottom { dp.bottom_field_order_cnt } else { dp.top_field_order_cnt })),
            _ => {}
        }
    }
}

impl H264Translator {
    /// MMCO 5 (memory_management_control_operation 5, 8.2.1): after the
    /// picture is decoded, its POCs become relative to itself (a frame:
    /// both minus Min(top, bottom); a field: its own 0), so later pictures'
    /// DPB entries name it with those. VA clients keep the picture's
    /// original POC in ReferenceFrames (FFmpeg does), so the reset is
    /// applied here: remembered when the picture is translated (forgotten
    /// when its surface is decoded into again), substituted into the DPB
    /// entries that reference it.
    fn mmco5_pocs(&mut self, target: va::VASurfaceID, c: &mut super::H264Controls, refs: &dyn Refs) {
        self.mmco5.retain(|e| e.0 != target);
        for (surface, top, bottom) in &self.mmco5 {
            let Some(ts) = refs.timestamp_ns(*surface) else { continue };
            for e in c.decode_params.dpb.iter_mut().filter(|e| e.flags & k::V4L2_H264_DPB_ENTRY_FLAG_VALID != 0 && e.reference_ts == ts) {
                if e.fields & k::V4L2_H264_TOP_FIELD_REF as u8 != 0 {
                    e.top_field_order_cnt = *top;
                }
                if e.fields & k::V4L2_H264_BOTTOM_FIELD_REF as u8 != 0 {
                    e.bottom_field_order_cnt = *bottom;
                }
            }
        }
        let reset = c.parsed.first().and_then(|h| h.dec_ref_pic_marking.as_ref()).is_some_and(|m| m.ops.iter().any(|o| o.op == 5));
        if reset {
            let d = &c.decode_params;
            let (field, bottom) = (d.flags & k::V4L2_H264_DECODE_PARAM_FLAG_FIELD_PIC != 0, d.flags & k::V4L2_H264_DECODE_PARAM_FLAG_BOTTOM_FIELD != 0);
            let entry = match (field, bottom) {
                (false, _) => {
                    let t = d.top_field_order_cnt.min(d.bottom_field_order_cnt);
                    (target, d.top_field_order_cnt - t, d.bottom_field_order_cnt - t)
                }
                (true, false) => (target, 0, d.bottom_field_order_cnt),
                (true, true) => (target, d.top_field_order_cnt, 0),
            };
            self.mmco5.push(entry);
        }
    }
}

impl Translator for H264Translator {
    fn translate<'a>(&mut self, pic: &PictureBuffers<'a>, refs: &dyn Refs) -> Result<PicturePlan<'a>, String> {
        let pp: va::VAPictureParameterBufferH264 = pic.read(va::VAPictureParameterBufferType).ok_or("H.264 picture without picture parameters")??;
        let iq: Option<va::VAIQMatrixBufferH264> = pic.read(va::VAIQMatrixBufferType).transpose()?;
        let mut slices = codec::Slices::<va::VASliceParameterBufferH264>::new();
        codec::slices_of(pic, |p| (p.slice_data_offset, p.slice_data_size), &mut slices)?;
        if slices.is_empty() {
            return Err("H.264 picture without slices".into());
        }
        let inputs: SmallVec<[SliceInput; 4]> = slices.iter().map(|(p, d)| SliceInput { params: p, data: d }).collect();
        let input = PictureInput { profile: self.profile, pic: &pp, iq: iq.as_ref(), slices: &inputs };
        let mut ctrls = translate_with_state(&input, &RefsAdapter(refs), self.mode, &mut self.state).map_err(|e| e.to_string())?;
        let poc_type = ctrls.sps.pic_order_cnt_type as u32;
        self.poc.apply(poc_type, &mut ctrls);
        self.pair_field_pocs(pic.target, &mut ctrls.decode_params);
        self.mmco5_pocs(pic.target, &mut ctrls, refs);
        corrupt(self.corrupt.as_deref(), &mut ctrls);
        let mut nals: SmallVec<[&'a [u8]; 4]> = SmallVec::new();
        for (_, d) in &slices {
            nals.push(slice_nal(d).map_err(|e| e.to_string())?);
        }

        // The picture-level controls of request `i` of the picture.
        let mode = self.mode;
        let base = |set: &mut CtrlSet, i: usize| {
            let (mut pps, mut dp) = (ctrls.pps, ctrls.decode_params);
            if mode == DecodeMode::SliceBased {
                // the picture's first slice (what GStreamer leaves set)
                let types = k::V4L2_H264_DECODE_PARAM_FLAG_PFRAME | k::V4L2_H264_DECODE_PARAM_FLAG_BFRAME;
                dp.flags = (dp.flags & !types) | super::slice_type_flags(&ctrls.parsed[..1]);
            }
            corrupt_request(self.corrupt.as_deref(), i, &mut pps, &mut dp);
            set.push(k::V4L2_CID_STATELESS_H264_SPS, ctrls.sps);
            set.push(k::V4L2_CID_STATELESS_H264_PPS, pps);
            if let Some(m) = ctrls.scaling_matrix {
                set.push(k::V4L2_CID_STATELESS_H264_SCALING_MATRIX, m);
            }
            set.push(k::V4L2_CID_STATELESS_H264_DECODE_PARAMS, dp);
        };
        let start = self.start_code;
        let mut requests: SmallVec<[Request<'a>; 1]> = SmallVec::new();
        match self.mode {
            DecodeMode::FrameBased => {
                let mut controls = CtrlSet::new();
                base(&mut controls, 0);
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
                    base(&mut controls, i);
                    controls.push(k::V4L2_CID_STATELESS_H264_SLICE_PARAMS, sc.slice_params);
                    // Every slice states its weights: a zeroed table where the
                    // slice has none (implicit or no weighted prediction), so
                    // nothing of an earlier slice lingers in the control.
                    if self.has_pred_weights {
                        controls.push(k::V4L2_CID_STATELESS_H264_PRED_WEIGHTS, sc.pred_weights.unwrap_or_else(zero_pred_weights));
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
            .filter(|r| r.flags & va::VA_PICTURE_H264_INVALID == 0 && r.picture_id != va::VA_INVALID_SURFACE)
            .map(|r| r.picture_id)
            .collect();
        let flags = ctrls.decode_params.flags;
        let field = match (flags & k::V4L2_H264_DECODE_PARAM_FLAG_FIELD_PIC != 0, flags & k::V4L2_H264_DECODE_PARAM_FLAG_BOTTOM_FIELD != 0) {
            (false, _) => None,
            (true, false) => Some(Field::Top),
            (true, true) => Some(Field::Bottom),
        };
        Ok(PicturePlan { requests, refs, field, structure: if ctrls.second_field { None } else { Some(ctrls.structure()) } })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::driver::caps::routes;
    use crate::v4l2::device::FrameSizes;
    use crate::v4l2::discovery::DecoderInfo;

    #[test]
    fn session_sps_size() {
        let mut s = session_controls(1920, 1080, 8, DecodeMode::FrameBased, true, (true, true));
        assert_eq!(s.ids(), vec![k::V4L2_CID_STATELESS_H264_DECODE_MODE, k::V4L2_CID_STATELESS_H264_START_CODE, k::V4L2_CID_STATELESS_H264_SPS]);
        let c = s.as_mut_slice()[2];
        // SAFETY: reading back the SPS payload this set owns.
        let sps = unsafe { &*(c.__bindgen_anon_1.ptr as *const k::v4l2_ctrl_h264_sps) };
        assert_eq!(sps.pic_width_in_mbs_minus1, 119);
        assert_eq!(sps.pic_height_in_map_units_minus1, 67);
    }

    fn dec(path: &str, coded: &[u32], capture: &[u32], profiles: &[i64]) -> DecoderInfo {
        DecoderInfo {
            media_path: "/dev/media0".into(),
            video_path: path.into(),
            driver: "x".into(),
            card: "x".into(),
            bus_info: "x".into(),
            mplane: true,
            coded: coded
                .iter()
                .map(|&f| CodedCaps {
                    fourcc: f,
                    sizes: FrameSizes { min_width: 48, max_width: 1920, step_width: 16, min_height: 48, max_height: 1088, step_height: 16 },
                    capture: capture.to_vec(),
                    menus: vec![(MENUS[0], vec![1]), (MENUS[1], vec![1]), (MENUS[2], profiles.to_vec())],
                    controls: vec![],
                })
                .collect(),
        }
    }

    #[test]
    fn profiles_from_menu() {
        let r = routes(&[dec("/dev/video0", &[formats::H264_SLICE], &[formats::NV12], &[1, 2])]);
        let p: Vec<_> = r.iter().map(|r| r.profile).collect();
        assert_eq!(p, vec![va::VAProfileH264ConstrainedBaseline, va::VAProfileH264Main]);
        assert_eq!(r[0].max_width, 1920);
    }

    #[test]
    fn first_device_wins_and_others_fill_in() {
        // RK3399: rkvdec (H.264) + hantro (MPEG-2, VP8) on one SoC.
        let r = routes(&[
            dec("/dev/video1", &[formats::H264_SLICE], &[formats::NV12], &[]),
            dec("/dev/video2", &[formats::H264_SLICE, formats::MPEG2_SLICE], &[formats::NV12], &[]),
        ]);
        assert!(r.iter().filter(|r| r.coded_fourcc == formats::H264_SLICE).all(|r| r.decoder == "/dev/video1"));
        // 3 H.264 profiles on rkvdec, MPEG-2 Simple + Main on hantro
        assert_eq!(r.len(), 5);
        assert!(r.iter().filter(|r| r.coded_fourcc == formats::MPEG2_SLICE).all(|r| r.decoder == "/dev/video2"));
    }

    #[test]
    fn a_profile_menu_without_a_va_profile_is_explained() {
        // only Extended (3): no VA profile; the diagnostics say why
        let ds = [dec("/dev/video0", &[formats::H264_SLICE], &[formats::NV12], &[3])];
        let r = routes(&ds);
        assert!(r.is_empty());
        let why = crate::driver::diagnose::why_not(&H264, &ds, &r).expect("not advertised");
        assert!(why.contains("offers S264 but what it reports allows no VA profile") && why.contains(&format!("{:#x}=[3]", MENUS[2])), "{why}");
    }

    #[test]
    fn unusable_capture_format_is_not_advertised() {
        assert!(routes(&[dec("/dev/video0", &[formats::H264_SLICE], &[formats::NV12_4L4], &[])]).is_empty());
        assert_eq!(routes(&[dec("/dev/video0", &[formats::H264_SLICE], &[formats::NV12_32L32], &[])]).len(), 3);
    }
}
