//! The VP8 fuzz entry point ([`vp8_frame`], target fuzz_targets/vp8_frame.rs):
//! the driver's VP8 frame-tag and bool-coded header parser, and the whole
//! VA -> V4L2 translation of one frame, on arbitrary bytes.
use arbitrary::{Arbitrary, Unstructured};
use hantro_drv_video::codecs::codec::{PicStructure, Refs};
use hantro_drv_video::codecs::vp8::codec::{translate_frame, FrameInput};
use hantro_drv_video::codecs::vp8::header::{parse_frame_header, FrameTag, PersistentState};
use hantro_drv_video::ffi::{pod, va};

struct Known;
impl Refs for Known {
    fn timestamp_ns(&self, s: va::VASurfaceID) -> Option<u64> {
        (1..=4).contains(&s).then(|| u64::from(s) * 1000)
    }
    fn structure(&self, _: va::VASurfaceID) -> Option<PicStructure> {
        Some(PicStructure::Frame)
    }
}

fn raw<T: pod::Pod>(u: &mut Unstructured) -> Option<T> {
    let n = std::mem::size_of::<T>();
    let mut buf = vec![0u8; n];
    let avail = u.len().min(n);
    buf[..avail].copy_from_slice(u.bytes(avail).ok()?);
    pod::read(&buf, 0)
}

/// Target vp8_frame: FrameTag::parse and parse_frame_header on the bytes
/// (as a key and as an inter frame, with an arbitrary first-partition size),
/// then translate_frame on arbitrary VA picture/slice/probability structs
/// whose slice data are the remaining bytes; twice, so state carried from a
/// first frame reaches the second. Must never panic.
pub fn vp8_frame(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(fps) = u16::arbitrary(&mut u) else { return };
    let Ok(structured) = bool::arbitrary(&mut u) else { return };
    let (Some(mut pp), Some(mut sp), Some(probs)) =
        (raw::<va::VAPictureParameterBufferVP8>(&mut u), raw::<va::VASliceParameterBufferVP8>(&mut u), raw::<va::VAProbabilityDataBufferVP8>(&mut u))
    else {
        return;
    };
    let rest = u.take_rest();
    let _ = FrameTag::parse(rest);
    let mut state = PersistentState::default();
    for key in [true, false] {
        if let Ok(h) = parse_frame_header(rest, usize::from(fps), key, &state) {
            state = h.state;
        }
    }
    if structured {
        // Plausible values, so that inputs get past the range checks.
        pp.frame_width = 1 + pp.frame_width % 4096;
        pp.frame_height = 1 + pp.frame_height % 4096;
        sp.num_of_partitions = 1 + (1 << (sp.num_of_partitions % 4));
        sp.slice_data_offset %= 16;
        sp.macroblock_offset %= 8 * u32::from(fps).max(1);
        sp.partition_size[0] = u32::from(fps).saturating_sub(sp.macroblock_offset.div_ceil(8));
        for s in sp.partition_size[1..].iter_mut() {
            *s %= 1 + rest.len() as u32;
        }
        for r in [&mut pp.last_ref_frame, &mut pp.golden_ref_frame, &mut pp.alt_ref_frame] {
            *r %= 6;
        }
    }
    sp.slice_data_size = rest.len() as u32;
    for _ in 0..2 {
        let _ = translate_frame(&FrameInput { pic: &pp, slice: &sp, probs: &probs, data: rest }, &Known, &mut state);
    }
}
