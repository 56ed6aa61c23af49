//! h264gen: writes conformant H.264 streams that x264 cannot make — PAFF
//! field pictures, long-term references and every MMCO, memory reset,
//! sliding-window overflow, POC types 1 and 2, frame_num and POC-LSB wraps,
//! reordering of both lists, B pictures as references, several slices of
//! mixed types, constrained intra prediction — with the simulator's own bit
//! writer. Deterministic; nothing binary is committed (scripts/corpus.sh
//! runs this at test time).
//!
//! Pictures are CAVLC Main profile, 64x64, deblocking off. I slices are
//! I_PCM macroblocks whose samples depend on the picture and the
//! macroblock; P and B slices are P_Skip / B_Skip (spatial direct, zero
//! motion: a copy of RefPicList0[0], or the average of RefPicList0[0] and
//! RefPicList1[0]) with a few I_PCM macroblocks that change from picture to
//! picture. A decoder that picks a wrong reference, or marks one wrongly,
//! therefore produces wrong pixels; libavcodec's decode is the reference.
//!
//! Usage: h264gen OUTDIR — writes OUTDIR/gen_<name>.h264 and prints one
//! manifest line per stream: name<TAB>frames<TAB>width<TAB>height<TAB>what;
//! streams that found open problems go to OUTDIR/gen-pending.tsv instead
//! (same columns plus the finding), not into the corpus.
// The simulator's bit writer, compiled in by path: the generator needs
// nothing else of the simulator (and builds in seconds for scripts/corpus.sh).
#[allow(dead_code)]
#[path = "../../../simulator/src/bits.rs"]
mod bits;
use bits::{rbsp_to_nal, BitWriter};
use std::io::Write;

const W_MBS: u32 = 4;
const H_MBS: u32 = 4; // frame height in macroblocks

#[derive(Clone)]
struct Sps {
    log2_max_frame_num: u32,
    poc_type: u32,
    log2_max_poc_lsb: u32,
    // POC type 1
    delta_pic_order_always_zero: bool,
    offset_for_non_ref_pic: i32,
    offset_for_top_to_bottom_field: i32,
    offset_for_ref_frame: Vec<i32>,
    max_num_ref_frames: u32,
    gaps_allowed: bool,
    frame_mbs_only: bool,
}

impl Default for Sps {
    fn default() -> Self {
        Sps {
            log2_max_frame_num: 8,
            poc_type: 0,
            log2_max_poc_lsb: 8,
            delta_pic_order_always_zero: false,
            offset_for_non_ref_pic: 0,
            offset_for_top_to_bottom_field: 0,
            offset_for_ref_frame: vec![],
            max_num_ref_frames: 4,
            gaps_allowed: false,
            frame_mbs_only: true,
        }
    }
}

#[derive(Clone, Default)]
struct Pps {
    bottom_field_pic_order_in_frame_present: bool,
    num_ref_idx_default: (u32, u32),
    constrained_intra_pred: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum SliceType {
    P = 0,
    B = 1,
    I = 2,
}

/// modification_of_pic_nums_idc and its value.
#[derive(Clone, Copy)]
enum Rplm {
    Sub(u32),
    Add(u32),
    LongTerm(u32),
}

#[derive(Clone, Copy)]
enum Mmco {
    /// 1: difference_of_pic_nums_minus1
    UnmarkShort(u32),
    /// 2: long_term_pic_num
    UnmarkLong(u32),
    /// 3: difference_of_pic_nums_minus1, long_term_frame_idx
    ShortToLong(u32, u32),
    /// 4: max_long_term_frame_idx_plus1
    MaxLongTerm(u32),
    /// 5
    Reset,
    /// 6: long_term_frame_idx
    CurrentToLong(u32),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Structure {
    Frame,
    Top,
    Bottom,
}

/// One picture (frame or field) to write.
#[derive(Clone)]
struct Pic {
    idr: bool,
    nal_ref_idc: u32,
    frame_num: u32,
    structure: Structure,
    idr_pic_id: u32,
    poc_lsb: u32,
    delta_poc_bottom: i32,
    delta_poc: [i32; 2],
    num_ref_idx: Option<(u32, u32)>,
    rplm: (Vec<Rplm>, Vec<Rplm>),
    long_term_reference: bool,
    /// `None`: sliding window; `Some`: adaptive marking with these ops.
    mmco: Option<Vec<Mmco>>,
    /// Slice types and their first macroblocks; one slice = whole picture.
    slices: Vec<(SliceType, u32)>,
    /// Macroblocks coded as I_PCM in P/B slices (by address).
    pcm_mbs: Vec<u32>,
}

impl Pic {
    fn new(t: SliceType, frame_num: u32, poc_lsb: u32) -> Pic {
        Pic {
            idr: false,
            nal_ref_idc: 1,
            frame_num,
            structure: Structure::Frame,
            idr_pic_id: 0,
            poc_lsb,
            delta_poc_bottom: 0,
            delta_poc: [0, 0],
            num_ref_idx: None,
            rplm: (vec![], vec![]),
            long_term_reference: false,
            mmco: None,
            slices: vec![(t, 0)],
            pcm_mbs: vec![5, 10],
        }
    }
    fn idr(id: u32) -> Pic {
        Pic { idr: true, idr_pic_id: id, ..Pic::new(SliceType::I, 0, 0) }
    }
    fn nonref(mut self) -> Pic {
        self.nal_ref_idc = 0;
        self
    }
    fn field(mut self, s: Structure) -> Pic {
        self.structure = s;
        self
    }
    fn refs(mut self, l0: u32, l1: u32) -> Pic {
        self.num_ref_idx = Some((l0, l1));
        self
    }
    fn mmco(mut self, ops: Vec<Mmco>) -> Pic {
        self.mmco = Some(ops);
        self
    }
    fn rplm(mut self, l0: Vec<Rplm>, l1: Vec<Rplm>) -> Pic {
        self.rplm = (l0, l1);
        self
    }
}

struct Stream {
    sps: Sps,
    pps: Pps,
    bytes: Vec<u8>,
    /// Pictures written (for the sample patterns).
    count: u32,
}

fn nal(out: &mut Vec<u8>, ref_idc: u32, nal_type: u32, rbsp: &[u8]) {
    out.extend_from_slice(&[0, 0, 0, 1, ((ref_idc << 5) | nal_type) as u8]);
    out.extend_from_slice(&rbsp_to_nal(rbsp));
}

impl Stream {
    fn new(sps: Sps, pps: Pps) -> Stream {
        let mut s = Stream { sps, pps, bytes: Vec::new(), count: 0 };
        s.parameter_sets();
        s
    }

    fn map_units(&self) -> u32 {
        if self.sps.frame_mbs_only {
            H_MBS
        } else {
            H_MBS / 2
        }
    }

    fn parameter_sets(&mut self) {
        let s = &self.sps;
        let mut w = BitWriter::new();
        w.u(8, 77); // Main
        w.u(8, 0); // constraint flags
        w.u(8, 30); // level 3.0
        w.ue(0); // sps id
        w.ue(s.log2_max_frame_num - 4);
        w.ue(s.poc_type);
        match s.poc_type {
            0 => w.ue(s.log2_max_poc_lsb - 4),
            1 => {
                w.u1(s.delta_pic_order_always_zero);
                w.se(s.offset_for_non_ref_pic);
                w.se(s.offset_for_top_to_bottom_field);
                w.ue(s.offset_for_ref_frame.len() as u32);
                for &o in &s.offset_for_ref_frame {
                    w.se(o);
                }
            }
            _ => {}
        }
        w.ue(s.max_num_ref_frames);
        w.u1(s.gaps_allowed);
        w.ue(W_MBS - 1);
        w.ue(self.map_units() - 1);
        w.u1(s.frame_mbs_only);
        if !s.frame_mbs_only {
            w.u1(false); // mb_adaptive_frame_field_flag
        }
        w.u1(true); // direct_8x8_inference_flag
        w.u1(false); // frame_cropping_flag
        w.u1(false); // vui_parameters_present_flag
        let sps = w.finish_rbsp();
        nal(&mut self.bytes, 3, 7, &sps);

        let p = &self.pps;
        let mut w = BitWriter::new();
        w.ue(0); // pps id
        w.ue(0); // sps id
        w.u1(false); // CAVLC
        w.u1(p.bottom_field_pic_order_in_frame_present);
        w.ue(0); // one slice group
        w.ue(p.num_ref_idx_default.0.max(1) - 1);
        w.ue(p.num_ref_idx_default.1.max(1) - 1);
        w.u1(false); // weighted_pred_flag
        w.u(2, 0); // weighted_bipred_idc
        w.se(0); // pic_init_qp_minus26
        w.se(0); // pic_init_qs_minus26
        w.se(0); // chroma_qp_index_offset
        w.u1(true); // deblocking_filter_control_present_flag
        w.u1(p.constrained_intra_pred);
        w.u1(false); // redundant_pic_cnt_present_flag
        let pps = w.finish_rbsp();
        nal(&mut self.bytes, 3, 8, &pps);
    }

    /// 384 I_PCM samples (8-bit 4:2:0) for macroblock `mb` of the current
    /// picture: never 0, different for every picture and macroblock.
    fn pcm(&self, mb: u32) -> impl Iterator<Item = u8> {
        let seed = self.count * 37 + mb * 11;
        (0..384u32).map(move |i| {
            let (x, y) = if i < 256 { (i % 16, i / 16) } else { ((i - 256) % 8, (i - 256) / 8 + 40) };
            (1 + (x * 7 + y * 13 + seed * 5 + (x ^ y) * (seed % 7)) % 254) as u8
        })
    }

    fn write(&mut self, p: &Pic) {
        let mbs = W_MBS * if p.structure == Structure::Frame { self.map_units() * if self.sps.frame_mbs_only { 1 } else { 2 } } else { self.map_units() };
        for (si, &(t, first)) in p.slices.iter().enumerate() {
            let end = p.slices.get(si + 1).map(|s| s.1).unwrap_or(mbs);
            let rbsp = self.slice(p, t, first, end);
            nal(&mut self.bytes, p.nal_ref_idc, if p.idr { 5 } else { 1 }, &rbsp);
        }
        self.count += 1;
    }

    fn slice(&self, p: &Pic, t: SliceType, first: u32, end: u32) -> Vec<u8> {
        let s = &self.sps;
        let mut w = BitWriter::new();
        w.ue(first);
        w.ue(t as u32);
        w.ue(0); // pps id
        w.u(s.log2_max_frame_num, p.frame_num);
        if !s.frame_mbs_only {
            w.u1(p.structure != Structure::Frame);
            if p.structure != Structure::Frame {
                w.u1(p.structure == Structure::Bottom);
            }
        }
        if p.idr {
            w.ue(p.idr_pic_id);
        }
        if s.poc_type == 0 {
            w.u(s.log2_max_poc_lsb, p.poc_lsb);
            if self.pps.bottom_field_pic_order_in_frame_present && p.structure == Structure::Frame {
                w.se(p.delta_poc_bottom);
            }
        }
        if s.poc_type == 1 && !s.delta_pic_order_always_zero {
            w.se(p.delta_poc[0]);
            if self.pps.bottom_field_pic_order_in_frame_present && p.structure == Structure::Frame {
                w.se(p.delta_poc[1]);
            }
        }
        if t == SliceType::B {
            w.u1(true); // direct_spatial_mv_pred_flag
        }
        if t != SliceType::I {
            match p.num_ref_idx {
                Some((l0, l1)) => {
                    w.u1(true);
                    w.ue(l0 - 1);
                    if t == SliceType::B {
                        w.ue(l1 - 1);
                    }
                }
                None => w.u1(false),
            }
            let lists: &[&Vec<Rplm>] = if t == SliceType::B { &[&p.rplm.0, &p.rplm.1] } else { &[&p.rplm.0] };
            for ops in lists {
                w.u1(!ops.is_empty());
                if !ops.is_empty() {
                    for op in ops.iter() {
                        match *op {
                            Rplm::Sub(d) => {
                                w.ue(0);
                                w.ue(d);
                            }
                            Rplm::Add(d) => {
                                w.ue(1);
                                w.ue(d);
                            }
                            Rplm::LongTerm(n) => {
                                w.ue(2);
                                w.ue(n);
                            }
                        }
                    }
                    w.ue(3);
                }
            }
        }
        if p.nal_ref_idc != 0 {
            if p.idr {
                w.u1(false); // no_output_of_prior_pics_flag
                w.u1(p.long_term_reference);
            } else {
                match &p.mmco {
                    None => w.u1(false),
                    Some(ops) => {
                        w.u1(true);
                        for op in ops {
                            match *op {
                                Mmco::UnmarkShort(d) => {
                                    w.ue(1);
                                    w.ue(d);
                                }
                                Mmco::UnmarkLong(n) => {
                                    w.ue(2);
                                    w.ue(n);
                                }
                                Mmco::ShortToLong(d, i) => {
                                    w.ue(3);
                                    w.ue(d);
                                    w.ue(i);
                                }
                                Mmco::MaxLongTerm(m) => {
                                    w.ue(4);
                                    w.ue(m);
                                }
                                Mmco::Reset => w.ue(5),
                                Mmco::CurrentToLong(i) => {
                                    w.ue(6);
                                    w.ue(i);
                                }
                            }
                        }
                        w.ue(0);
                    }
                }
            }
        }
        w.se(0); // slice_qp_delta
        w.ue(1); // disable_deblocking_filter_idc: off
                 // slice_data (CAVLC)
        let pcm_type = match t {
            SliceType::I => 25,
            SliceType::P => 30,
            SliceType::B => 48,
        };
        let coded = |mb: u32| t == SliceType::I || p.pcm_mbs.contains(&mb);
        let mut mb = first;
        while mb < end {
            if t != SliceType::I {
                let mut run = 0;
                while mb + run < end && !coded(mb + run) {
                    run += 1;
                }
                w.ue(run);
                mb += run;
                if mb == end {
                    break;
                }
            }
            w.ue(pcm_type);
            while w.bit_len() % 8 != 0 {
                w.u1(false); // pcm_alignment_zero_bit
            }
            for v in self.pcm(mb) {
                w.u(8, v as u32);
            }
            mb += 1;
        }
        w.finish_rbsp()
    }
}

struct Out {
    dir: std::path::PathBuf,
    manifest: Vec<String>,
    pending: Vec<String>,
}

impl Out {
    fn save(&mut self, name: &str, frames: u32, s: Stream, what: &str) {
        let path = self.dir.join(format!("gen_{name}.h264"));
        std::fs::write(&path, &s.bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        self.manifest.push(format!("gen_{name}\t{frames}\t{}\t{}\t{what}", W_MBS * 16, H_MBS * 16));
    }

    /// A stream libavcodec decodes but the driver or the simulator does not
    /// handle yet: written (for `scripts/sim-va.sh`), listed with the finding
    /// in OUTDIR/gen-pending.tsv, kept out of the corpus manifest.
    fn pending(&mut self, name: &str, frames: u32, s: Stream, what: &str, finding: &str) {
        self.save(name, frames, s, what);
        let line = self.manifest.pop().unwrap_or_default();
        self.pending.push(format!("{line}\t{finding}"));
    }
}

use SliceType::{B, I, P};
use Structure::{Bottom, Top};

/// PAFF: an I/P field pair (the P field refers to the opposite-parity field
/// of its own frame), P field pairs, a frame picture among fields, and a
/// non-reference B field pair; `first` is the parity coded first.
fn paff(first: Structure) -> Stream {
    let second = if first == Top { Bottom } else { Top };
    let sps = Sps { frame_mbs_only: false, max_num_ref_frames: 4, ..Sps::default() };
    let pps = Pps { bottom_field_pic_order_in_frame_present: true, ..Pps::default() };
    let mut s = Stream::new(sps, pps);
    let (a, b) = if first == Top { (0, 1) } else { (1, 0) }; // POC of the first / second field
    s.write(&Pic { structure: first, poc_lsb: a, ..Pic::idr(0) });
    s.write(&Pic::new(P, 0, b).field(second));
    s.write(&Pic::new(P, 1, 4 + a).field(first));
    s.write(&Pic::new(P, 1, 4 + b).field(second));
    let mut f = Pic::new(P, 2, 8).refs(2, 1);
    f.delta_poc_bottom = 1;
    s.write(&f); // a frame picture between field pairs
    s.write(&Pic::new(I, 3, 16 + a).field(first));
    s.write(&Pic::new(P, 3, 16 + b).field(second));
    // non-reference B field pair displayed between the frame and the I/P pair
    s.write(&Pic::new(B, 4, 12 + a).field(first).nonref().refs(2, 2));
    s.write(&Pic::new(B, 4, 12 + b).field(second).nonref().refs(2, 2));
    s.write(&Pic::new(P, 4, 20 + a).field(first));
    s.write(&Pic::new(P, 4, 20 + b).field(second).refs(3, 1));
    s
}

/// Long-term references: IDR with long_term_reference_flag, MMCO 4, 6, 3
/// and 2, reordering commands that pick long-term pictures in P and B
/// lists, long-term pictures in a B picture's lists.
fn long_term() -> Stream {
    let mut s = Stream::new(Sps { max_num_ref_frames: 4, ..Sps::default() }, Pps::default());
    s.write(&Pic { long_term_reference: true, ..Pic::idr(0) }); // LongTermFrameIdx 0
    s.write(&Pic::new(P, 1, 2).mmco(vec![Mmco::MaxLongTerm(3)])); // MaxLongTermFrameIdx 2
                                                                  // L0 = [LT0, pic1]: the long-term IDR first
    s.write(&Pic::new(P, 2, 4).refs(2, 1).rplm(vec![Rplm::LongTerm(0)], vec![]).mmco(vec![Mmco::CurrentToLong(1)]));
    // L0 = [LT1 (pic2), pic1, LT0]; then pic1 -> LT2, LT0 unmarked
    s.write(&Pic::new(P, 3, 6).refs(3, 1).rplm(vec![Rplm::LongTerm(1)], vec![]).mmco(vec![Mmco::ShortToLong(1, 2), Mmco::UnmarkLong(0)]));
    // B with long-term pictures in both lists; L1 starts with LT2 (pic1)
    s.write(&Pic::new(B, 4, 5).nonref().refs(3, 3).rplm(vec![], vec![Rplm::LongTerm(2)]));
    s.write(&Pic::new(P, 4, 8).refs(3, 1));
    s.write(&Pic::new(P, 5, 10).refs(4, 1).rplm(vec![Rplm::LongTerm(1), Rplm::LongTerm(2)], vec![]));
    s.write(&Pic::new(P, 6, 12)); // sliding window with long-term pictures held
    s
}

/// MMCO 1 (unmark a short-term picture) and MMCO 5 (memory reset mid-GOP:
/// frame_num and POC restart), with a B picture after the reset.
fn mmco_reset() -> Stream {
    let mut s = Stream::new(Sps { max_num_ref_frames: 3, ..Sps::default() }, Pps::default());
    s.write(&Pic::idr(0));
    s.write(&Pic::new(P, 1, 2));
    s.write(&Pic::new(P, 2, 4).mmco(vec![Mmco::UnmarkShort(1)])); // unmarks the IDR (PicNum 0)
    s.write(&Pic::new(P, 3, 6).refs(2, 1).rplm(vec![Rplm::Sub(1)], vec![]).mmco(vec![Mmco::Reset]));
    s.write(&Pic::new(P, 1, 4)); // after the reset: frame_num 1, POC from 0
    s.write(&Pic::new(B, 2, 2).nonref()); // between the reset picture and the last
    s.write(&Pic::new(P, 2, 6));
    s
}

/// Sliding-window overflow with max_num_ref_frames `n`; late pictures pick
/// the oldest reference still held (a decoder that kept a wrong one shows
/// it).
fn sliding(n: u32, frames: u32) -> Stream {
    let mut s = Stream::new(Sps { max_num_ref_frames: n, ..Sps::default() }, Pps::default());
    s.write(&Pic::idr(0));
    for i in 1..frames {
        let mut p = Pic::new(P, i, 2 * i);
        if i >= n && n > 1 {
            // the oldest short-term picture left: PicNum i - n
            p = p.refs(n, 1).rplm(vec![Rplm::Sub(n - 1)], vec![]);
        }
        s.write(&p);
    }
    s
}

/// pic_order_cnt_type 1: a 3-entry offset_for_ref_frame cycle, non-reference
/// B pictures (offset_for_non_ref_pic) and delta_pic_order_cnt[0].
fn poc_type1() -> Stream {
    let sps = Sps { poc_type: 1, offset_for_non_ref_pic: -3, offset_for_ref_frame: vec![2, 4, 2], ..Sps::default() };
    let mut s = Stream::new(sps, Pps::default());
    s.write(&Pic::idr(0)); // POC 0
    s.write(&Pic::new(P, 1, 0)); // 2
    s.write(&Pic::new(P, 2, 0)); // 6
    s.write(&Pic::new(B, 3, 0).nonref()); // 6 - 3 = 3
    s.write(&Pic::new(P, 3, 0)); // 8
    s.write(&Pic { delta_poc: [1, 0], ..Pic::new(P, 4, 0) }); // 10 + 1
    s.write(&Pic { delta_poc: [2, 0], ..Pic::new(B, 5, 0).nonref() }); // 10 - 3 + 2 = 9
    s.write(&Pic::new(P, 5, 0)); // 14
    s.write(&Pic::new(P, 6, 0)); // 16
    s
}

/// pic_order_cnt_type 2: output order is decoding order; non-reference
/// pictures in between (never two in a row).
fn poc_type2() -> Stream {
    let mut s = Stream::new(Sps { poc_type: 2, ..Sps::default() }, Pps::default());
    s.write(&Pic::idr(0));
    for i in 1..8 {
        s.write(&Pic::new(P, i, 0));
        s.write(&Pic::new(P, i + 1, 0).nonref());
    }
    s
}

/// frame_num (log2_max_frame_num 4) and POC-LSB (log2_max_poc_lsb 4) wrap
/// twice; pictures across the wrap refer to the older of two references.
fn wraps() -> Stream {
    let mut s = Stream::new(Sps { log2_max_frame_num: 4, log2_max_poc_lsb: 4, max_num_ref_frames: 2, ..Sps::default() }, Pps::default());
    s.write(&Pic::idr(0));
    for i in 1..40u32 {
        let mut p = Pic::new(P, i % 16, (2 * i) % 16);
        if i >= 2 && i % 3 == 0 {
            // L0 = [CurrPicNum - 2, CurrPicNum - 1]: both kinds of difference
            p = p.refs(2, 1).rplm(vec![Rplm::Sub(1), Rplm::Add(0)], vec![]);
        }
        s.write(&p);
    }
    s
}

/// Eight slices of mixed types in one picture, a B picture used as a
/// reference with both lists reordered, constrained_intra_pred.
fn slices_and_b_refs() -> Stream {
    let pps = Pps { constrained_intra_pred: true, ..Pps::default() };
    let mut s = Stream::new(Sps { max_num_ref_frames: 4, ..Sps::default() }, pps);
    let eight = |types: [SliceType; 8]| types.iter().enumerate().map(|(i, &t)| (t, 2 * i as u32)).collect::<Vec<_>>();
    s.write(&Pic { slices: eight([I; 8]), ..Pic::idr(0) });
    s.write(&Pic { slices: eight([P, I, P, P, I, P, P, P]), ..Pic::new(P, 1, 8) });
    // reference B (POC 4) between the IDR and pic1; both lists reordered:
    // L0 = [pic1, IDR], L1 = [IDR, pic1] (the defaults swapped)
    let mut b = Pic::new(B, 2, 4).refs(2, 2).rplm(vec![Rplm::Sub(0)], vec![Rplm::Sub(1)]);
    b.slices = eight([B, B, P, B, I, B, B, B]);
    s.write(&b);
    // non-reference B pictures referring to the reference B
    s.write(&Pic::new(B, 3, 2).nonref().refs(2, 2));
    s.write(&Pic::new(B, 3, 6).nonref().refs(2, 2));
    s.write(&Pic::new(P, 3, 12).refs(3, 1).rplm(vec![Rplm::Sub(0)], vec![])); // L0[0] = the B picture
    s
}

fn main() {
    let dir = std::env::args().nth(1).unwrap_or_else(|| {
        eprintln!("usage: h264gen OUTDIR");
        std::process::exit(2)
    });
    let mut out = Out { dir: dir.into(), manifest: Vec::new(), pending: Vec::new() };
    out.save(
        "paff_tff",
        6,
        paff(Top),
        "generated: PAFF top field first, I/P field pair, P field from the opposite parity of its frame, frame picture among fields, B field pair",
    );
    out.save("paff_bff", 6, paff(Bottom), "generated: PAFF bottom field first (as paff_tff)");
    out.save("long_term", 8, long_term(), "generated: long-term IDR, MMCO 4/6/3/2, reordering to long-term pictures in P and B lists");
    out.save("sliding1", 6, sliding(1, 6), "generated: sliding window with max_num_ref_frames 1");
    out.save("sliding16", 24, sliding(16, 24), "generated: sliding-window overflow with max_num_ref_frames 16, oldest reference picked");
    out.save("poc_type2", 15, poc_type2(), "generated: pic_order_cnt_type 2 with non-reference pictures");
    out.save("wraps", 40, wraps(), "generated: frame_num (4 bits) and POC LSB (4 bits) wrap twice, references across the wrap");
    out.save(
        "slices_b_refs",
        6,
        slices_and_b_refs(),
        "generated: 8 slices of mixed types, B picture as reference with both lists reordered, constrained_intra_pred",
    );
    // What these streams found is open work (issue 14); each decodes with
    // libavcodec without error.
    out.pending(
        "mmco_reset",
        7,
        mmco_reset(),
        "generated: MMCO 1 and MMCO 5 (memory reset mid-GOP) with a B picture after it",
        "frame-based devices pass (the driver applies 8.2.1's MMCO 5 POC reset to later DPB entries); slice-based (cedrus): FFmpeg's VA RefPicList0/1 for the B picture order the MMCO 5 picture by its unreset POC 6 (libavcodec does not apply the reset), and the driver passes the client's lists",
    );
    out.pending(
        "poc_type1",
        9,
        poc_type1(),
        "generated: pic_order_cnt_type 1 (offset cycle of 3, non-reference B, delta_pic_order_cnt)",
        "VA does not carry offset_for_ref_frame / offset_for_non_ref_pic / offset_for_top_to_bottom_field: the SPS control has zeros and the simulator's POC (and its libavcodec decode) follow them",
    );
    let pending = out.dir.join("gen-pending.tsv");
    std::fs::write(&pending, out.pending.iter().map(|l| format!("{l}\n")).collect::<String>()).unwrap_or_else(|e| panic!("{}: {e}", pending.display()));
    let mut o = std::io::stdout().lock();
    for l in &out.manifest {
        writeln!(o, "{l}").expect("stdout");
    }
}
