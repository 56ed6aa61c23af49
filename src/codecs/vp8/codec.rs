//! VP8 behind the codec interface: what discovery probes, the VA profile,
//! the session set-up and the per-context translator (VA buffers → one
//! request per frame, on every device: VP8 has no slice-based mode).
use super::header::{parse_frame_header, FrameHeader, FrameTag, PersistentState};
use crate::codecs::codec::{
    Codec, DecodeMode, Decoding, PicStructure, PictureBuffers, PicturePlan, ProfileCaps, Refs, Request, SessionParams, SessionPlan, Translator,
    TranslatorParams,
};
use crate::codecs::ctrl::CtrlSet;
use crate::ffi::{fourcc, pod, v4l2 as k, va};
use crate::v4l2::discovery::{CodedCaps, Probe};
use crate::v4l2::formats;
use smallvec::SmallVec;

// SAFETY: bindgen-generated #[repr(C)] structs of plain integers, arrays
// and unions thereof (libva's va_dec_vp8.h); every bit pattern is valid.
unsafe impl pod::Pod for va::VAPictureParameterBufferVP8 {}
// SAFETY: as above.
unsafe impl pod::Pod for va::VASliceParameterBufferVP8 {}
// SAFETY: as above.
unsafe impl pod::Pod for va::VAProbabilityDataBufferVP8 {}
// SAFETY: as above.
unsafe impl pod::Pod for va::VAIQMatrixBufferVP8 {}

/// The registry entry.
pub struct Vp8;

const CONTROLS: [u32; 1] = [k::V4L2_CID_STATELESS_VP8_FRAME];
const BUFFER_TYPES: [va::VABufferType; 3] = [va::VAPictureParameterBufferType, va::VAIQMatrixBufferType, va::VAProbabilityBufferType];

/// The fixed mode probabilities key frames are coded with (RFC 6386
/// 11.2, kf_ymode_prob / kf_uv_mode_prob): what GStreamer's v4l2slvp8dec
/// and both VA clients put in the entropy of a key frame.
pub const KEY_FRAME_Y_MODE_PROBS: [u8; 4] = [145, 156, 163, 128];
pub const KEY_FRAME_UV_MODE_PROBS: [u8; 3] = [142, 114, 183];
/// The MV probabilities a key frame resets the stream to (RFC 6386 17.2).
pub const DEFAULT_MV_PROBS: [[u8; 19]; 2] = [
    [162, 128, 225, 146, 172, 147, 214, 39, 156, 128, 129, 132, 75, 145, 178, 206, 239, 254, 254],
    [164, 128, 204, 170, 119, 235, 140, 230, 228, 128, 130, 130, 74, 148, 180, 203, 236, 254, 254],
];

impl Codec for Vp8 {
    fn name(&self) -> &'static str {
        "VP8"
    }

    fn coded_fourcc(&self) -> u32 {
        fourcc::VP8_FRAME
    }

    fn probe(&self) -> Probe {
        Probe { fourcc: fourcc::VP8_FRAME, menus: &[], controls: &CONTROLS }
    }

    fn profiles(&self, _caps: &CodedCaps) -> Vec<ProfileCaps> {
        vec![ProfileCaps { profile: va::VAProfileVP8Version0_3, rt_formats: va::VA_RT_FORMAT_YUV420 }]
    }

    fn buffer_types(&self) -> &'static [va::VABufferType] {
        &BUFFER_TYPES
    }

    /// VAQMatrixBufferVP8 is an encoder's buffer (va_enc_vp8.h);
    /// test_va_api creates one in a VP8 VLD context all the same.
    fn tolerated_buffer_types(&self) -> &'static [va::VABufferType] {
        &[va::VAQMatrixBufferType]
    }

    fn session(&self, _p: &SessionParams) -> SessionPlan {
        SessionPlan {
            controls: CtrlSet::new(),
            capture_formats: vec![formats::NV12, formats::NV12M, formats::NV12_32L32],
            decoding: Decoding { bit_depth: 8, mode: DecodeMode::FrameBased, start_code: &[] },
        }
    }

    fn translator(&self, p: &TranslatorParams) -> Box<dyn Translator> {
        Box::new(Vp8Translator { state: PersistentState::default(), chunk: Vec::with_capacity(10), corrupt: p.test_corrupt.map(str::to_string) })
    }
}

/// One VA context's VP8 state.
#[derive(Default)]
pub struct Vp8Translator {
    /// Segmentation and loop-filter deltas earlier frames left.
    state: PersistentState,
    /// The rebuilt uncompressed chunk of the last frame (empty when the
    /// client handed the frame over whole).
    chunk: Vec<u8>,
    /// `HANTRO_TEST_CORRUPT` (test-hooks builds).
    corrupt: Option<String>,
}

fn flag<T: Default + From<u32>>(cond: bool, bit: u32) -> T {
    if cond {
        T::from(bit)
    } else {
        T::default()
    }
}

/// Everything one frame's V4L2 control is made from.
pub struct FrameInput<'p, 'a> {
    pub pic: &'p va::VAPictureParameterBufferVP8,
    pub slice: &'p va::VASliceParameterBufferVP8,
    pub probs: &'p va::VAProbabilityDataBufferVP8,
    /// The VA slice data buffer (the whole of it).
    pub data: &'a [u8],
}

/// A translated frame: the control, the chunk to write before `payload`
/// (empty when `payload` is the whole frame) and the parsed header.
pub struct FrameOutput<'a> {
    pub frame: k::v4l2_ctrl_vp8_frame,
    pub chunk: Option<Vec<u8>>,
    pub payload: &'a [u8],
    pub header: FrameHeader,
    pub refs: SmallVec<[va::VASurfaceID; 3]>,
}

/// Translates one frame; `state` is updated only on success.
pub fn translate_frame<'a>(input: &FrameInput<'_, 'a>, refs: &dyn Refs, state: &mut PersistentState) -> Result<FrameOutput<'a>, String> {
    let (pp, sp) = (input.pic, input.slice);
    // SAFETY: `bits` is a plain-old-data bitfield struct overlaying a u32;
    // any bit pattern is valid for it.
    let bits = unsafe { pp.pic_fields.bits };
    let key = bits.key_frame() == 0;
    let version = bits.version() as u8;
    if version > 3 {
        return Err(format!("VP8 version {version} (0..3 exist)"));
    }
    let parts = u32::from(sp.num_of_partitions).wrapping_sub(1);
    if ![1, 2, 4, 8].contains(&parts) {
        return Err(format!("VP8 frame with {} partitions (2, 3, 5 or 9 exist)", sp.num_of_partitions));
    }
    if pp.frame_width == 0 || pp.frame_height == 0 || pp.frame_width > 0x3fff || pp.frame_height > 0x3fff {
        return Err(format!("VP8 frame of {}x{}", pp.frame_width, pp.frame_height));
    }
    let off = sp.slice_data_offset as usize;
    if off > input.data.len() {
        return Err(format!("VP8 slice data offset {off} outside a {}-byte buffer", input.data.len()));
    }
    // GStreamer counts the chunk in slice_data_size as well; never read past the buffer.
    let end = off.saturating_add(sp.slice_data_size as usize).min(input.data.len());
    let after_chunk = &input.data[off..end];
    let first_part_size =
        sp.partition_size[0].checked_add(sp.macroblock_offset.div_ceil(8)).filter(|&s| s < 1 << 19).ok_or("VP8 first partition size too large")?;
    // The chunk in front of the offset, when the client left it there and it agrees with VA.
    let chunk_len = if key { 10 } else { 3 };
    let given = off.checked_sub(chunk_len).and_then(|s| FrameTag::parse(&input.data[s..]).ok().map(|t| (s, t)));
    let (tag, start, chunk) = match given {
        Some((s, t)) if t.key_frame == key && t.version == version && t.first_part_size == first_part_size => (t, s, None),
        _ => {
            let t = FrameTag {
                key_frame: key,
                version,
                show_frame: true,
                first_part_size,
                width: if key { pp.frame_width as u16 } else { 0 },
                height: if key { pp.frame_height as u16 } else { 0 },
                horizontal_scale: 0,
                vertical_scale: 0,
            };
            let mut c = Vec::with_capacity(10);
            t.write(&mut c);
            (t, off, Some(c))
        }
    };
    let fps = first_part_size as usize;
    if after_chunk.len() < fps {
        return Err(format!("VP8 frame truncated: {}-byte first partition in {} bytes", fps, after_chunk.len()));
    }
    let hdr = parse_frame_header(after_chunk, fps, key, state).map_err(|e| e.to_string())?;
    if u32::from(hdr.log2_nbr_of_dct_partitions) != parts.trailing_zeros() {
        return Err(format!("VP8 header codes {} partitions, VA says {parts}", 1u32 << hdr.log2_nbr_of_dct_partitions));
    }
    let mut dct = [0u32; 8];
    let mut need = fps as u64 + 3 * (u64::from(parts) - 1);
    for (i, d) in dct.iter_mut().enumerate().take(parts as usize) {
        *d = sp.partition_size[i + 1];
        need += u64::from(*d);
    }
    if need > after_chunk.len() as u64 {
        return Err(format!("VP8 frame truncated: partitions need {need} bytes, {} given", after_chunk.len()));
    }
    let ts = |s: va::VASurfaceID, what: &str| -> Result<u64, String> {
        if key {
            // Key frames read no reference; pass what is known.
            return Ok(if s == va::VA_INVALID_SURFACE { 0 } else { refs.timestamp_ns(s).unwrap_or(0) });
        }
        if s == va::VA_INVALID_SURFACE {
            return Err(format!("VP8 inter frame without a {what} reference"));
        }
        refs.timestamp_ns(s).ok_or_else(|| format!("VP8 {what} reference surface {s:#x} holds no decoded picture"))
    };
    let last_frame_ts = ts(pp.last_ref_frame, "last")?;
    let golden_frame_ts = ts(pp.golden_ref_frame, "golden")?;
    let alt_frame_ts = ts(pp.alt_ref_frame, "altref")?;
    let s = &hdr.state;

    // SAFETY: plain-old-data kernel struct; all-zero is valid.
    let mut f: k::v4l2_ctrl_vp8_frame = unsafe { std::mem::zeroed() };
    f.segment.quant_update = s.quant_update;
    f.segment.lf_update = s.lf_update;
    f.segment.segment_probs = s.segment_probs;
    f.segment.flags = flag::<u32>(hdr.segmentation_enabled, k::V4L2_VP8_SEGMENT_FLAG_ENABLED)
        | flag::<u32>(hdr.update_mb_segmentation_map, k::V4L2_VP8_SEGMENT_FLAG_UPDATE_MAP)
        | flag::<u32>(hdr.update_segment_feature_data, k::V4L2_VP8_SEGMENT_FLAG_UPDATE_FEATURE_DATA)
        | flag::<u32>(!s.segment_abs, k::V4L2_VP8_SEGMENT_FLAG_DELTA_VALUE_MODE);
    f.lf.ref_frm_delta = s.ref_frm_delta;
    f.lf.mb_mode_delta = s.mb_mode_delta;
    f.lf.sharpness_level = hdr.sharpness_level;
    f.lf.level = hdr.loop_filter_level;
    f.lf.flags = flag::<u32>(hdr.loop_filter_adj_enable, k::V4L2_VP8_LF_ADJ_ENABLE)
        | flag::<u32>(hdr.mode_ref_lf_delta_update, k::V4L2_VP8_LF_DELTA_UPDATE)
        | flag::<u32>(hdr.filter_type, k::V4L2_VP8_LF_FILTER_TYPE_SIMPLE);
    f.quant.y_ac_qi = hdr.y_ac_qi;
    f.quant.y_dc_delta = hdr.y_dc_delta;
    f.quant.y2_dc_delta = hdr.y2_dc_delta;
    f.quant.y2_ac_delta = hdr.y2_ac_delta;
    f.quant.uv_dc_delta = hdr.uv_dc_delta;
    f.quant.uv_ac_delta = hdr.uv_ac_delta;
    f.entropy.coeff_probs = input.probs.dct_coeff_probs;
    if key {
        f.entropy.y_mode_probs = KEY_FRAME_Y_MODE_PROBS;
        f.entropy.uv_mode_probs = KEY_FRAME_UV_MODE_PROBS;
        f.entropy.mv_probs = DEFAULT_MV_PROBS;
    } else {
        f.entropy.y_mode_probs = pp.y_mode_probs;
        f.entropy.uv_mode_probs = pp.uv_mode_probs;
        f.entropy.mv_probs = pp.mv_probs;
    }
    (f.coder_state.range, f.coder_state.value, f.coder_state.bit_count) = hdr.coder_state;
    f.width = pp.frame_width as u16;
    f.height = pp.frame_height as u16;
    f.horizontal_scale = tag.horizontal_scale;
    f.vertical_scale = tag.vertical_scale;
    f.version = version;
    f.prob_skip_false = hdr.prob_skip_false;
    f.prob_intra = hdr.prob_intra;
    f.prob_last = hdr.prob_last;
    f.prob_gf = hdr.prob_gf;
    f.num_dct_parts = parts as u8;
    f.first_part_size = first_part_size;
    f.first_part_header_bits = hdr.header_bits;
    f.dct_part_sizes = dct;
    f.last_frame_ts = last_frame_ts;
    f.golden_frame_ts = golden_frame_ts;
    f.alt_frame_ts = alt_frame_ts;
    f.flags = flag::<u64>(key, k::V4L2_VP8_FRAME_FLAG_KEY_FRAME)
        | flag::<u64>(tag.show_frame, k::V4L2_VP8_FRAME_FLAG_SHOW_FRAME)
        | flag::<u64>(hdr.mb_no_skip_coeff, k::V4L2_VP8_FRAME_FLAG_MB_NO_SKIP_COEFF)
        | flag::<u64>(hdr.sign_bias_golden, k::V4L2_VP8_FRAME_FLAG_SIGN_BIAS_GOLDEN)
        | flag::<u64>(hdr.sign_bias_alternate, k::V4L2_VP8_FRAME_FLAG_SIGN_BIAS_ALT);
    *state = hdr.state;
    let refs = if key { SmallVec::new() } else { [pp.last_ref_frame, pp.golden_ref_frame, pp.alt_ref_frame].into_iter().collect() };
    Ok(FrameOutput { frame: f, chunk, payload: &input.data[start..end], header: hdr, refs })
}

/// `HANTRO_TEST_CORRUPT=vp8_y_ac_qi`: y_ac_qi one off on every inter frame,
/// so tests can show the simulator's checker catching a wrong VP8 field.
/// `vp8_golden_ts`: the golden reference timestamp swapped with the last one.
fn corrupt(what: Option<&str>, f: &mut k::v4l2_ctrl_vp8_frame) {
    if f.flags & u64::from(k::V4L2_VP8_FRAME_FLAG_KEY_FRAME) != 0 {
        return;
    }
    match what {
        Some("vp8_y_ac_qi") => f.quant.y_ac_qi = (f.quant.y_ac_qi + 1) % 128,
        Some("vp8_golden_ts") => std::mem::swap(&mut f.golden_frame_ts, &mut f.last_frame_ts),
        _ => {}
    }
}

impl Translator for Vp8Translator {
    fn translate<'a>(&mut self, pic: &PictureBuffers<'a>, refs: &dyn Refs) -> Result<PicturePlan<'a>, String> {
        let pp: va::VAPictureParameterBufferVP8 = pic.read(va::VAPictureParameterBufferType).ok_or("VP8 frame without picture parameters")??;
        let probs: va::VAProbabilityDataBufferVP8 = pic.read(va::VAProbabilityBufferType).ok_or("VP8 frame without a probability buffer")??;
        let s = match pic.slices {
            [s] if s.num_elements == 1 => s,
            [] => return Err("VP8 frame without slice data".into()),
            _ => return Err("VP8 frame with more than one slice parameter buffer".into()),
        };
        let sp: va::VASliceParameterBufferVP8 = pod::read(s.params, 0).ok_or("VP8 slice parameter buffer shorter than its struct")?;
        let out = translate_frame(&FrameInput { pic: &pp, slice: &sp, probs: &probs, data: s.data }, refs, &mut self.state)?;
        let mut frame = out.frame;
        corrupt(self.corrupt.as_deref(), &mut frame);
        self.chunk.clear();
        if let Some(c) = &out.chunk {
            self.chunk.extend_from_slice(c);
        }
        let mut controls = CtrlSet::new();
        controls.push(k::V4L2_CID_STATELESS_VP8_FRAME, frame);
        let mut bitstream = SmallVec::new();
        bitstream.push(out.payload);
        let mut requests = SmallVec::new();
        requests.push(Request { controls, bitstream, hold: false });
        Ok(PicturePlan { requests, refs: out.refs.into_iter().collect(), field: None, structure: Some(PicStructure::Frame) })
    }

    fn made_bytes(&self, request: usize) -> &[u8] {
        if request == 0 {
            &self.chunk
        } else {
            &[]
        }
    }
}
