//! The fuzz targets' entry points ([`slice_header`], [`translate`], [`mpeg2_translate`]; the
//! files in fuzz_targets/ only hand libFuzzer's bytes to them, and
//! the driver's tests/fuzz_regressions.rs feeds the seeds and every crash input through
//! them) and the input decoding they share: fuzzer bytes -> VA H.264
//! parameter structs. Half of the inputs set the fields the parsers depend
//! on from small structured values (so most inputs reach deep into the
//! slice-header syntax), the other half are raw struct bytes (every bit
//! pattern a hostile client could send).
use arbitrary::{Arbitrary, Result, Unstructured};
use hantro_drv_video::codecs::h264::slice_header::{parse_slice_header, strip_start_code, ParamSets};
use hantro_drv_video::codecs::h264::{self, DecodeMode, H264State, PictureInput, RefStructure, RefTimestamps, SliceInput};
use hantro_drv_video::ffi::{pod, va};

pub mod hevc;
pub mod vp8;

/// Target slice_header: the H.264 slice-header parser on arbitrary NAL
/// bytes, with parameter sets derived from arbitrary VA picture/slice
/// parameters exactly as the driver derives them (ParamSets::from_va).
/// Must never panic.
pub fn slice_header(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let (Ok(pic), Ok(sp)) = (picture(&mut u), slice_params(&mut u)) else { return };
    let nal = u.take_rest();
    let Ok(ps) = ParamSets::from_va(&pic, Some(&sp)) else { return };
    let _ = parse_slice_header(nal, &ps);
    let _ = strip_start_code(nal);
}

/// Target translate: codecs::h264::translate on arbitrary VA structs
/// (picture parameters, IQ matrix, 1-4 slices of parameters + data) in both
/// decode modes, with a reference lookup that knows surfaces 1..=8. Must
/// never panic; when it succeeds, a second call with the same history state
/// must not either.
pub fn translate(data: &[u8]) {
    let _ = translate_run(&mut Unstructured::new(data));
}

struct Refs(u8);
impl RefTimestamps for Refs {
    fn timestamp_ns(&self, s: va::VASurfaceID) -> Option<u64> {
        (1..=8).contains(&s).then(|| s as u64 * 1000)
    }
    fn structure(&self, s: va::VASurfaceID) -> Option<RefStructure> {
        match (self.0 >> (s % 8)) & 3 {
            0 => None,
            1 => Some(RefStructure::Frame),
            2 => Some(RefStructure::TopFieldFirst),
            _ => Some(RefStructure::BottomFieldFirst),
        }
    }
}

fn translate_run(u: &mut Unstructured) -> Result<()> {
    let profile = match u8::arbitrary(u)? % 5 {
        0 => va::VAProfileH264ConstrainedBaseline,
        1 => va::VAProfileH264Main,
        2 => va::VAProfileH264High,
        3 => va::VAProfileMPEG2Main,
        _ => i32::arbitrary(u)?,
    };
    let mode = if bool::arbitrary(u)? { DecodeMode::FrameBased } else { DecodeMode::SliceBased };
    let refs = Refs(u8::arbitrary(u)?);
    let pic = picture(u)?;
    let iq: Option<va::VAIQMatrixBufferH264> = if bool::arbitrary(u)? { Some(raw(u)?) } else { None };
    let n = u8::arbitrary(u)? % 4 + 1;
    let mut params = Vec::new();
    let mut datas = Vec::new();
    for _ in 0..n {
        params.push(slice_params(u)?);
        let len = u16::arbitrary(u)? as usize % 512;
        let len = len.min(u.len());
        datas.push(u.bytes(len)?.to_vec());
    }
    let slices: Vec<SliceInput> = params.iter().zip(&datas).map(|(p, d)| SliceInput { params: p, data: d }).collect();
    let input = PictureInput { profile, pic: &pic, iq: iq.as_ref(), slices: &slices };
    let mut state = H264State::default();
    if let Ok(c) = h264::translate_with_state(&input, &refs, mode, &mut state) {
        let _ = c.structure();
        let _ = h264::translate_with_state(&input, &refs, mode, &mut state);
        for d in &datas {
            let _ = h264::slice_nal(d);
        }
    }
    Ok(())
}

pub type SeqBits = va::_VAPictureParameterBufferH264__bindgen_ty_1__bindgen_ty_1;
pub type PicBits = va::_VAPictureParameterBufferH264__bindgen_ty_2__bindgen_ty_1;

/// Sequence/picture values the slice header syntax depends on.
#[derive(Arbitrary, Debug)]
pub struct Fields {
    pub chroma_format_idc: u8,
    pub separate_colour_plane: bool,
    pub log2_max_frame_num_minus4: u8,
    pub frame_mbs_only: bool,
    pub mbaff: bool,
    pub poc_type: u8,
    pub log2_max_poc_lsb_minus4: u8,
    pub delta_pic_order_always_zero: bool,
    pub pic_order_present: bool,
    pub redundant_pic_cnt_present: bool,
    pub weighted_pred: bool,
    pub weighted_bipred_idc: u8,
    pub cabac: bool,
    pub deblocking_control: bool,
    pub transform_8x8: bool,
    pub field_pic: bool,
    pub reference_pic: bool,
    pub width_mbs_minus1: u8,
    pub height_mbs_minus1: u8,
    pub num_ref_frames: u8,
    pub num_slice_groups_minus1: u8,
    pub slice_group_map_type: u8,
    pub frame_num: u16,
    pub bit_depth_luma_minus8: u8,
}

fn small(v: u8, modulo: u8) -> u32 {
    (v % modulo) as u32
}

impl Fields {
    pub fn apply(&self, pic: &mut va::VAPictureParameterBufferH264) {
        let mut s = SeqBits::default();
        let mut p = PicBits::default();
        s.set_chroma_format_idc(small(self.chroma_format_idc, 4));
        s.set_residual_colour_transform_flag(self.separate_colour_plane as u32);
        s.set_log2_max_frame_num_minus4(small(self.log2_max_frame_num_minus4, 14));
        s.set_frame_mbs_only_flag(self.frame_mbs_only as u32);
        s.set_mb_adaptive_frame_field_flag(self.mbaff as u32);
        s.set_pic_order_cnt_type(small(self.poc_type, 4));
        s.set_log2_max_pic_order_cnt_lsb_minus4(small(self.log2_max_poc_lsb_minus4, 14));
        s.set_delta_pic_order_always_zero_flag(self.delta_pic_order_always_zero as u32);
        s.set_direct_8x8_inference_flag(1);
        p.set_pic_order_present_flag(self.pic_order_present as u32);
        p.set_redundant_pic_cnt_present_flag(self.redundant_pic_cnt_present as u32);
        p.set_weighted_pred_flag(self.weighted_pred as u32);
        p.set_weighted_bipred_idc(small(self.weighted_bipred_idc, 4));
        p.set_entropy_coding_mode_flag(self.cabac as u32);
        p.set_deblocking_filter_control_present_flag(self.deblocking_control as u32);
        p.set_transform_8x8_mode_flag(self.transform_8x8 as u32);
        p.set_field_pic_flag(self.field_pic as u32);
        p.set_reference_pic_flag(self.reference_pic as u32);
        pic.seq_fields = va::_VAPictureParameterBufferH264__bindgen_ty_1 { bits: s };
        pic.pic_fields = va::_VAPictureParameterBufferH264__bindgen_ty_2 { bits: p };
        pic.picture_width_in_mbs_minus1 = self.width_mbs_minus1 as u16;
        pic.picture_height_in_mbs_minus1 = self.height_mbs_minus1 as u16;
        pic.num_ref_frames = self.num_ref_frames % 17;
        pic.num_slice_groups_minus1 = self.num_slice_groups_minus1 % 2;
        pic.slice_group_map_type = self.slice_group_map_type % 7;
        pic.frame_num = self.frame_num;
        pic.bit_depth_luma_minus8 = self.bit_depth_luma_minus8 % 3;
        pic.bit_depth_chroma_minus8 = self.bit_depth_luma_minus8 % 3;
    }
}

/// A plain-old-data VA struct from the next size_of::<T>() bytes (zero
/// padded when the input runs out).
pub fn raw<T: pod::Pod + Default>(u: &mut Unstructured) -> Result<T> {
    let n = std::mem::size_of::<T>();
    let mut buf = vec![0u8; n];
    let avail = u.len().min(n);
    buf[..avail].copy_from_slice(u.bytes(avail)?);
    Ok(pod::read(&buf, 0).unwrap_or_default())
}

/// A reference picture in a few bytes.
#[derive(Arbitrary, Debug)]
pub struct Pic {
    pub surface: u8,
    pub frame_idx: u16,
    pub flags: u8,
    pub top: i16,
    pub bottom: i16,
}

impl Pic {
    pub fn to_va(&self) -> va::VAPictureH264 {
        va::VAPictureH264 {
            picture_id: if self.surface >= 12 { va::VA_INVALID_SURFACE } else { self.surface as u32 },
            frame_idx: self.frame_idx as u32,
            flags: (self.flags & 0x3f) as u32,
            TopFieldOrderCnt: self.top as i32,
            BottomFieldOrderCnt: self.bottom as i32,
            ..Default::default()
        }
    }
}

fn invalid() -> va::VAPictureH264 {
    va::VAPictureH264 { picture_id: va::VA_INVALID_SURFACE, flags: va::VA_PICTURE_H264_INVALID, ..Default::default() }
}

/// Picture parameters: compact structured form (first byte even: the
/// fields the syntax depends on, CurrPic and up to 16 references) or
/// the raw struct bytes (odd).
pub fn picture(u: &mut Unstructured) -> Result<va::VAPictureParameterBufferH264> {
    if u8::arbitrary(u)? % 2 == 1 {
        return raw(u);
    }
    let mut pic = va::VAPictureParameterBufferH264::default();
    Fields::arbitrary(u)?.apply(&mut pic);
    pic.CurrPic = Pic::arbitrary(u)?.to_va();
    let n = u8::arbitrary(u)? % 17;
    for (i, r) in pic.ReferenceFrames.iter_mut().enumerate() {
        *r = if i < n as usize { Pic::arbitrary(u)?.to_va() } else { invalid() };
    }
    Ok(pic)
}

/// Slice parameters: compact structured form (first byte even: slice
/// type, active reference counts, weight denominators, reference lists)
/// or raw struct bytes (odd).
pub fn slice_params(u: &mut Unstructured) -> Result<va::VASliceParameterBufferH264> {
    if u8::arbitrary(u)? % 2 == 1 {
        return raw(u);
    }
    // field initialisers run in the order written: the input decodes as before
    let mut sp = va::VASliceParameterBufferH264 {
        slice_type: u8::arbitrary(u)? % 10,
        num_ref_idx_l0_active_minus1: u8::arbitrary(u)? % 32,
        num_ref_idx_l1_active_minus1: u8::arbitrary(u)? % 32,
        luma_log2_weight_denom: u8::arbitrary(u)? % 8,
        chroma_log2_weight_denom: u8::arbitrary(u)? % 8,
        slice_data_bit_offset: u16::arbitrary(u)?,
        direct_spatial_mv_pred_flag: u8::arbitrary(u)? & 1,
        ..Default::default()
    };
    let (n0, n1) = (u8::arbitrary(u)? % 33, u8::arbitrary(u)? % 33);
    for i in 0..32 {
        sp.RefPicList0[i] = if i < n0 as usize { Pic::arbitrary(u)?.to_va() } else { invalid() };
    }
    for i in 0..32 {
        sp.RefPicList1[i] = if i < n1 as usize { Pic::arbitrary(u)?.to_va() } else { invalid() };
    }
    Ok(sp)
}

/// Target mpeg2_translate: the MPEG-2 translator (src/codecs/mpeg2) through
/// the codec interface, as the driver calls it, on arbitrary VA buffers: raw
/// picture parameter bytes (any length), an optional raw IQ matrix, 1-4
/// slice parameter buffers (1-3 elements each) with arbitrary data, over a
/// few pictures of one context (the matrices and the progressive-sequence
/// derivation carry over), with references known for surfaces 1..=8. Must
/// never panic.
pub fn mpeg2_translate(data: &[u8]) {
    let _ = mpeg2_run(&mut Unstructured::new(data));
}

struct Mpeg2Refs;
impl hantro_drv_video::codecs::codec::Refs for Mpeg2Refs {
    fn timestamp_ns(&self, s: va::VASurfaceID) -> Option<u64> {
        (1..=8).contains(&s).then(|| s as u64 * 1000)
    }
    fn structure(&self, _s: va::VASurfaceID) -> Option<hantro_drv_video::codecs::codec::PicStructure> {
        None
    }
}

fn mpeg2_run(u: &mut Unstructured) -> Result<()> {
    use hantro_drv_video::codecs::codec::{Codec, Decoding, PictureBuffers, SliceBufs, TranslatorParams, VaBuf};
    use hantro_drv_video::codecs::DecodeMode;
    let profile = if bool::arbitrary(u)? { va::VAProfileMPEG2Main } else { va::VAProfileMPEG2Simple };
    let caps = hantro_drv_video::v4l2::discovery::CodedCaps::default();
    let decoding = Decoding { bit_depth: 8, mode: DecodeMode::FrameBased, start_code: &[] };
    let codec = &hantro_drv_video::codecs::mpeg2::Mpeg2;
    let mut t = codec.translator(&TranslatorParams { caps: &caps, decoding: &decoding, profile, test_corrupt: None });
    for _ in 0..u8::arbitrary(u)? % 3 + 1 {
        let pic_len = if bool::arbitrary(u)? { std::mem::size_of::<va::VAPictureParameterBufferMPEG2>() } else { u8::arbitrary(u)? as usize };
        let pic = u.bytes(pic_len.min(u.len()))?.to_vec();
        let iq = if bool::arbitrary(u)? { Some(u.bytes(std::mem::size_of::<va::VAIQMatrixBufferMPEG2>().min(u.len()))?.to_vec()) } else { None };
        let mut bufs = vec![VaBuf { buf_type: va::VAPictureParameterBufferType, bytes: &pic, num_elements: 1 }];
        if let Some(iq) = &iq {
            bufs.push(VaBuf { buf_type: va::VAIQMatrixBufferType, bytes: iq, num_elements: 1 });
        }
        let mut parts = Vec::new();
        for _ in 0..u8::arbitrary(u)? % 4 + 1 {
            let n = u8::arbitrary(u)? % 3 + 1;
            let plen = (std::mem::size_of::<va::VASliceParameterBufferMPEG2>() * n as usize).min(u.len());
            let params = u.bytes(plen)?.to_vec();
            let dlen = (u16::arbitrary(u)? as usize % 1024).min(u.len());
            parts.push((params, n, u.bytes(dlen)?.to_vec()));
        }
        let slices: Vec<SliceBufs> = parts.iter().map(|(p, n, d)| SliceBufs { params: p, num_elements: *n as u32, data: d }).collect();
        let target = u8::arbitrary(u)? as u32 % 10;
        let _ = t.translate(&PictureBuffers { target, buffers: &bufs, slices: &slices }, &Mpeg2Refs);
    }
    Ok(())
}
