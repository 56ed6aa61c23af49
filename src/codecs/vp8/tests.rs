//! Unit tests: frame tag, bool decoder (against the RFC 6386 section 7
//! encoder written here), frame-header parse and the translation.
use super::codec::{translate_frame, FrameInput, KEY_FRAME_Y_MODE_PROBS};
use super::header::{parse_frame_header, BoolDecoder, FrameTag, PersistentState};
use super::tables::COEFF_UPDATE_PROBS;
use crate::codecs::codec::{PicStructure, Refs};
use crate::ffi::{v4l2 as k, va};

/// The boolean encoder of RFC 6386 section 7.3.
struct BoolEncoder {
    out: Vec<u8>,
    range: u32,
    bottom: u32,
    bit_count: i32,
}

impl BoolEncoder {
    fn new() -> Self {
        BoolEncoder { out: Vec::new(), range: 255, bottom: 0, bit_count: 24 }
    }

    fn carry(&mut self) {
        for b in self.out.iter_mut().rev() {
            if *b == 255 {
                *b = 0;
            } else {
                *b += 1;
                break;
            }
        }
    }

    fn bool(&mut self, prob: u8, bit: bool) {
        let split = 1 + (((self.range - 1) * u32::from(prob)) >> 8);
        if bit {
            self.bottom = self.bottom.wrapping_add(split);
            self.range -= split;
        } else {
            self.range = split;
        }
        while self.range < 128 {
            self.range <<= 1;
            if self.bottom & (1 << 31) != 0 {
                self.carry();
            }
            self.bottom <<= 1;
            self.bit_count -= 1;
            if self.bit_count == 0 {
                self.out.push((self.bottom >> 24) as u8);
                self.bottom &= (1 << 24) - 1;
                self.bit_count = 8;
            }
        }
    }

    fn flag(&mut self, b: bool) {
        self.bool(128, b);
    }

    fn literal(&mut self, n: u32, v: u32) {
        for i in (0..n).rev() {
            self.flag((v >> i) & 1 == 1);
        }
    }

    fn signed(&mut self, n: u32, v: i32) {
        self.literal(n, v.unsigned_abs());
        self.flag(v < 0);
    }

    fn delta(&mut self, n: u32, v: i32) {
        self.flag(v != 0);
        if v != 0 {
            self.signed(n, v);
        }
    }

    fn finish(mut self) -> Vec<u8> {
        for _ in 0..32 {
            self.flag(false);
        }
        self.out
    }
}

#[test]
fn bool_decoder_reads_what_the_encoder_wrote() {
    let mut e = BoolEncoder::new();
    let mut expect = Vec::new();
    let mut x: u32 = 12345;
    for _ in 0..2000 {
        x = x.wrapping_mul(1103515245).wrapping_add(12345);
        let prob = ((x >> 8) & 255).max(1) as u8;
        let bit = (x >> 20) & 7 == 0;
        e.bool(prob, bit);
        expect.push((prob, bit));
    }
    let data = e.finish();
    let mut d = BoolDecoder::new(&data);
    for (i, (p, b)) in expect.iter().enumerate() {
        assert_eq!(d.bool(*p), *b, "bool {i}");
    }
}

#[test]
fn tag_round_trip() {
    let t = FrameTag {
        key_frame: true,
        version: 2,
        show_frame: false,
        first_part_size: 0x4_1234,
        width: 1920,
        horizontal_scale: 1,
        height: 1080,
        vertical_scale: 2,
    };
    let mut b = Vec::new();
    t.write(&mut b);
    assert_eq!(b.len(), 10);
    assert_eq!(&b[3..6], &[0x9d, 0x01, 0x2a]);
    assert_eq!(FrameTag::parse(&b).unwrap(), t);
    let i = FrameTag { key_frame: false, version: 0, show_frame: true, first_part_size: 77, ..Default::default() };
    let mut b = Vec::new();
    i.write(&mut b);
    assert_eq!(b.len(), 3);
    assert_eq!(FrameTag::parse(&b).unwrap(), i);
    assert!(FrameTag::parse(&[0x10, 0, 0, 1, 2, 3, 0, 0, 0, 0]).is_err(), "key frame without start code");
    assert!(FrameTag::parse(&[1, 2]).is_err());
}

/// (update_map, update_data, absolute values, quantiser values, filter values)
type SegSynth = (bool, bool, bool, [i32; 4], [i32; 4]);

/// What the synthetic header below codes.
struct Synth {
    key: bool,
    seg: Option<SegSynth>,
    lf_deltas: Option<([i32; 4], [i32; 4])>,
    qi: u32,
    deltas: [i32; 5],
    partitions_log2: u32,
    coeff_updates: usize,
}

fn synth_header(s: &Synth) -> Vec<u8> {
    let mut e = BoolEncoder::new();
    if s.key {
        e.flag(false);
        e.flag(true);
    }
    e.flag(s.seg.is_some());
    if let Some((map, data, abs, q, lf)) = s.seg {
        e.flag(map);
        e.flag(data);
        if data {
            e.flag(abs);
            for v in q {
                e.delta(7, v);
            }
            for v in lf {
                e.delta(6, v);
            }
        }
        if map {
            e.flag(true);
            e.literal(8, 200);
            e.flag(false);
            e.flag(true);
            e.literal(8, 17);
        }
    }
    e.flag(false); // filter_type
    e.literal(6, 33);
    e.literal(3, 4);
    e.flag(s.lf_deltas.is_some());
    if let Some((r, m)) = s.lf_deltas {
        e.flag(true);
        for v in r.iter().chain(m.iter()) {
            e.flag(*v != 0);
            if *v != 0 {
                e.signed(6, *v);
            }
        }
    }
    e.literal(2, s.partitions_log2);
    e.literal(7, s.qi);
    for d in s.deltas {
        e.delta(4, d);
    }
    if s.key {
        e.flag(true); // refresh_entropy_probs
    } else {
        e.flag(false); // refresh golden
        e.flag(true); // refresh alt
        e.literal(2, 1); // copy to golden
        e.flag(true); // sign_bias_golden
        e.flag(false);
        e.flag(false); // refresh_entropy_probs
        e.flag(true); // refresh_last
    }
    let mut n = 0;
    for p in COEFF_UPDATE_PROBS.iter().flatten().flatten().flatten() {
        let upd = n < s.coeff_updates && *p < 255;
        e.bool(*p, upd);
        if upd {
            e.literal(8, 99);
            n += 1;
        }
    }
    e.flag(true);
    e.literal(8, 222);
    if !s.key {
        e.literal(8, 40);
        e.literal(8, 150);
        e.literal(8, 128);
        e.flag(false);
        e.flag(false);
        for _ in 0..38 {
            e.bool(250, false);
        }
    }
    e.finish()
}

#[test]
fn header_fields_and_persistence() {
    let key = Synth {
        key: true,
        seg: Some((true, true, false, [-5, 0, 7, 12], [0, -3, 0, 63])),
        lf_deltas: Some(([2, 0, -2, -2], [4, -2, 2, 4])),
        qi: 90,
        deltas: [-3, 0, 15, -15, 2],
        partitions_log2: 2,
        coeff_updates: 20,
    };
    let data = synth_header(&key);
    let h = parse_frame_header(&data, data.len(), true, &PersistentState::default()).unwrap();
    assert!(h.segmentation_enabled && h.update_mb_segmentation_map && h.update_segment_feature_data);
    assert!(!h.state.segment_abs);
    assert_eq!(h.state.quant_update, [-5, 0, 7, 12]);
    assert_eq!(h.state.lf_update, [0, -3, 0, 63]);
    assert_eq!(h.state.segment_probs, [200, 255, 17]);
    assert_eq!((h.loop_filter_level, h.sharpness_level), (33, 4));
    assert_eq!(h.state.ref_frm_delta, [2, 0, -2, -2]);
    assert_eq!(h.state.mb_mode_delta, [4, -2, 2, 4]);
    assert_eq!(h.log2_nbr_of_dct_partitions, 2);
    assert_eq!(h.y_ac_qi, 90);
    assert_eq!([h.y_dc_delta, h.y2_dc_delta, h.y2_ac_delta, h.uv_dc_delta, h.uv_ac_delta], [-3, 0, 15, -15, 2]);
    assert!(h.mb_no_skip_coeff);
    assert_eq!(h.prob_skip_false, 222);
    assert!(h.header_bits > 8 * 20 && h.header_bits <= 8 * data.len() as u32);

    // An inter frame that updates nothing keeps the segment data and deltas.
    let inter =
        Synth { key: false, seg: Some((false, false, false, [0; 4], [0; 4])), lf_deltas: None, qi: 10, deltas: [0; 5], partitions_log2: 0, coeff_updates: 0 };
    let data = synth_header(&inter);
    let i = parse_frame_header(&data, data.len(), false, &h.state).unwrap();
    assert_eq!(i.state, h.state);
    assert!(i.refresh_alternate_frame && !i.refresh_golden_frame && i.copy_buffer_to_golden == 1 && i.sign_bias_golden && i.refresh_last);
    assert_eq!((i.prob_intra, i.prob_last, i.prob_gf), (40, 150, 128));
    // A key frame resets them.
    let k2 = Synth { key: true, seg: None, lf_deltas: None, qi: 4, deltas: [0; 5], partitions_log2: 3, coeff_updates: 0 };
    let data = synth_header(&k2);
    let r = parse_frame_header(&data, data.len(), true, &i.state).unwrap();
    assert_eq!((r.state.quant_update, r.state.ref_frm_delta, r.state.segment_abs), ([0; 4], [0; 4], false));
    // Absolute mode.
    let abs = Synth { key: false, seg: Some((false, true, true, [100, 90, 80, 70], [1, 2, 3, 4])), ..inter };
    let data = synth_header(&abs);
    let a = parse_frame_header(&data, data.len(), false, &r.state).unwrap();
    assert!(a.state.segment_abs);
    assert_eq!(a.state.quant_update, [100, 90, 80, 70]);
}

#[test]
fn truncated_header_is_an_error() {
    let key = Synth { key: true, seg: None, lf_deltas: None, qi: 4, deltas: [0; 5], partitions_log2: 0, coeff_updates: 300 };
    let data = synth_header(&key);
    assert!(parse_frame_header(&data, 20, true, &PersistentState::default()).is_err());
    assert!(parse_frame_header(&[], 0, true, &PersistentState::default()).is_err());
}

struct FakeRefs;
impl Refs for FakeRefs {
    fn timestamp_ns(&self, s: va::VASurfaceID) -> Option<u64> {
        (s < 10).then_some(u64::from(s) * 1000)
    }
    fn structure(&self, _: va::VASurfaceID) -> Option<PicStructure> {
        Some(PicStructure::Frame)
    }
}

/// A VA picture as FFmpeg sends it: the frame without its chunk.
fn va_frame(key: bool, header: &[u8], parts: &[u32]) -> (va::VAPictureParameterBufferVP8, va::VASliceParameterBufferVP8, Vec<u8>) {
    // SAFETY: plain-old-data VA structs; all-zero is valid.
    let mut pp: va::VAPictureParameterBufferVP8 = unsafe { std::mem::zeroed() };
    pp.frame_width = 320;
    pp.frame_height = 240;
    pp.last_ref_frame = 1;
    pp.golden_ref_frame = 2;
    pp.alt_ref_frame = 3;
    pp.y_mode_probs = [1, 2, 3, 4];
    pp.pic_fields.value = u32::from(!key);
    // SAFETY: as above.
    let mut sp: va::VASliceParameterBufferVP8 = unsafe { std::mem::zeroed() };
    let first_part = header.len() as u32;
    let mut data = header.to_vec();
    for p in &parts[..parts.len() - 1] {
        data.extend_from_slice(&p.to_le_bytes()[..3]);
    }
    for (i, p) in parts.iter().enumerate() {
        data.extend(std::iter::repeat_n(i as u8, *p as usize));
        sp.partition_size[i + 1] = *p;
    }
    let h = parse_frame_header(header, header.len(), key, &PersistentState::default()).unwrap();
    sp.macroblock_offset = h.header_bits;
    sp.partition_size[0] = first_part - h.header_bits.div_ceil(8);
    sp.num_of_partitions = parts.len() as u8 + 1;
    sp.slice_data_size = data.len() as u32;
    (pp, sp, data)
}

#[test]
fn ffmpeg_style_frame_gets_its_chunk_rebuilt() {
    let key = Synth { key: true, seg: None, lf_deltas: None, qi: 60, deltas: [0; 5], partitions_log2: 1, coeff_updates: 3 };
    let hdr = synth_header(&key);
    let (pp, sp, data) = va_frame(true, &hdr, &[5, 7]);
    // SAFETY: plain-old-data VA struct; all-zero is valid.
    let probs: va::VAProbabilityDataBufferVP8 = unsafe { std::mem::zeroed() };
    let mut st = PersistentState::default();
    let out = translate_frame(&FrameInput { pic: &pp, slice: &sp, probs: &probs, data: &data }, &FakeRefs, &mut st).unwrap();
    let chunk = out.chunk.expect("chunk rebuilt");
    let t = FrameTag::parse(&chunk).unwrap();
    assert_eq!((t.key_frame, t.first_part_size, t.width, t.height, t.show_frame), (true, hdr.len() as u32, 320, 240, true));
    assert_eq!(out.payload, &data[..]);
    let f = out.frame;
    assert_eq!(f.first_part_size, hdr.len() as u32);
    assert_eq!(f.num_dct_parts, 2);
    assert_eq!(&f.dct_part_sizes[..3], &[5, 7, 0]);
    assert_eq!(f.quant.y_ac_qi, 60);
    assert_eq!(f.entropy.y_mode_probs, KEY_FRAME_Y_MODE_PROBS, "key frames carry the fixed key-frame mode probabilities");
    assert_ne!(f.flags & u64::from(k::V4L2_VP8_FRAME_FLAG_KEY_FRAME), 0);
    assert!(out.refs.is_empty());
    assert_eq!(f.last_frame_ts, 1000);
}

#[test]
fn gstreamer_style_frame_is_taken_whole() {
    let inter = Synth { key: false, seg: None, lf_deltas: None, qi: 20, deltas: [0; 5], partitions_log2: 0, coeff_updates: 0 };
    let hdr = synth_header(&inter);
    let (pp, mut sp, data) = va_frame(false, &hdr, &[9]);
    let tag = FrameTag { key_frame: false, version: 0, show_frame: false, first_part_size: hdr.len() as u32, ..Default::default() };
    let mut whole = Vec::new();
    tag.write(&mut whole);
    whole.extend_from_slice(&data);
    sp.slice_data_offset = 3;
    sp.slice_data_size = whole.len() as u32; // GStreamer counts the chunk too
                                             // SAFETY: plain-old-data VA struct; all-zero is valid.
    let probs: va::VAProbabilityDataBufferVP8 = unsafe { std::mem::zeroed() };
    let mut st = PersistentState::default();
    let out = translate_frame(&FrameInput { pic: &pp, slice: &sp, probs: &probs, data: &whole }, &FakeRefs, &mut st).unwrap();
    assert!(out.chunk.is_none());
    assert_eq!(out.payload, &whole[..]);
    assert_eq!(out.frame.flags & u64::from(k::V4L2_VP8_FRAME_FLAG_SHOW_FRAME), 0, "show_frame from the stream's own tag");
    assert_eq!(out.frame.y_mode_probs(), [1, 2, 3, 4]);
    assert_eq!((out.frame.last_frame_ts, out.frame.golden_frame_ts, out.frame.alt_frame_ts), (1000, 2000, 3000));
    assert_eq!(&out.refs[..], &[1, 2, 3]);
}

trait YMode {
    fn y_mode_probs(&self) -> [u8; 4];
}
impl YMode for k::v4l2_ctrl_vp8_frame {
    fn y_mode_probs(&self) -> [u8; 4] {
        self.entropy.y_mode_probs
    }
}

#[test]
fn hostile_frames_are_errors() {
    let inter = Synth { key: false, seg: None, lf_deltas: None, qi: 20, deltas: [0; 5], partitions_log2: 0, coeff_updates: 0 };
    let hdr = synth_header(&inter);
    // SAFETY: plain-old-data VA struct; all-zero is valid.
    let probs: va::VAProbabilityDataBufferVP8 = unsafe { std::mem::zeroed() };
    let run = |pp: &va::VAPictureParameterBufferVP8, sp: &va::VASliceParameterBufferVP8, d: &[u8]| {
        translate_frame(&FrameInput { pic: pp, slice: sp, probs: &probs, data: d }, &FakeRefs, &mut PersistentState::default()).map(|_| ())
    };
    let (pp, sp, data) = va_frame(false, &hdr, &[9]);
    assert!(run(&pp, &sp, &data).is_ok());
    assert!(run(&pp, &sp, &data[..data.len() - 1]).is_err(), "truncated partition");
    assert!(run(&pp, &sp, &data[..4]).is_err(), "truncated first partition");
    let mut bad = pp;
    bad.golden_ref_frame = 55;
    assert!(run(&bad, &sp, &data).unwrap_err().contains("golden"), "never-decoded reference");
    bad.golden_ref_frame = va::VA_INVALID_SURFACE;
    assert!(run(&bad, &sp, &data).is_err(), "missing reference");
    let mut s2 = sp;
    s2.num_of_partitions = 4;
    assert!(run(&pp, &s2, &data).is_err(), "3 partitions");
    s2.num_of_partitions = 3;
    assert!(run(&pp, &s2, &data).is_err(), "VA and header disagree");
    s2 = sp;
    s2.slice_data_offset = 1 << 30;
    assert!(run(&pp, &s2, &data).is_err());
    s2 = sp;
    s2.partition_size[0] = u32::MAX;
    assert!(run(&pp, &s2, &data).is_err());
    let mut p2 = pp;
    p2.frame_width = 0;
    assert!(run(&p2, &sp, &data).is_err());
    p2 = pp;
    p2.pic_fields.value = 1 | (5 << 1);
    assert!(run(&p2, &sp, &data).is_err(), "version 5");
}
