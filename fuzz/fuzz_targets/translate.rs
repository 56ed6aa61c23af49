//! codecs::h264::translate on arbitrary VA structs (picture parameters, IQ
//! matrix, 1-4 slices of parameters + data) in both decode modes, with a
//! reference lookup that knows surfaces 1..=8. Must never panic; when it
//! succeeds, a second call with the same history state must too.
#![no_main]
use arbitrary::{Arbitrary, Unstructured};
use hantro_drv_video::codecs::h264::{self, DecodeMode, H264State, PictureInput, RefStructure, RefTimestamps, SliceInput};
use hantro_drv_video::ffi::va;
use hantro_drv_video_fuzz::{picture, raw, slice_params};
use libfuzzer_sys::fuzz_target;

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

fn run(u: &mut Unstructured) -> arbitrary::Result<()> {
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

fuzz_target!(|data: &[u8]| {
    let _ = run(&mut Unstructured::new(data));
});
