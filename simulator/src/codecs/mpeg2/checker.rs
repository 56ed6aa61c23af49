//! The MPEG-2 model: checks each request's controls against the slices of
//! its OUTPUT buffer and the reference pictures decoded before it, rebuilds
//! the headers and decodes the picture with libavcodec.
use super::header::{parse_slice, start_codes, write_headers};
use super::uapi::*;
use crate::codec::{Job, Model, Pixels, Step};
use crate::uapi::*;

/// The two reference frames of 7.6 (the last two I/P frames decoded):
/// `past` is a B picture's forward reference, `future` its backward one and
/// a P picture's forward one.
#[derive(Clone, Copy, Default, Debug)]
struct Window {
    past: Option<u64>,
    future: Option<u64>,
}

/// A frame whose first field was decoded and whose second field may follow.
#[derive(Clone, Copy, Debug)]
struct FirstField {
    ts: u64,
    structure: u8,
    /// the window before this frame entered it
    before: Window,
}

#[derive(Default)]
pub struct Engine {
    /// The device holds CAPTURE buffers (cedrus): a first field must ask for
    /// it. Without (hantro), the second field's request re-queues the
    /// buffer of the first one.
    pub hold_capture: bool,
    window: Window,
    first_field: Option<FirstField>,
    pub pictures: u64,
    temporal_reference: u32,
    notes: Vec<String>,
}

fn flag(p: &v4l2_ctrl_mpeg2_picture, f: u32) -> bool {
    p.flags & f != 0
}

impl Engine {
    pub fn new(hold_capture: bool) -> Self {
        Engine { hold_capture, ..Default::default() }
    }

    /// False when the picture cannot be decoded at all (no size, or larger
    /// than the CAPTURE buffer: the hardware would write past it).
    fn check_sequence(&self, errs: &mut Vec<String>, s: &v4l2_ctrl_mpeg2_sequence, job: &Job) -> bool {
        let (w, h) = (s.horizontal_size as usize, s.vertical_size as usize);
        let mut decodable = true;
        if w == 0 || h == 0 {
            errs.push(format!("sequence: horizontal_size/vertical_size {w}x{h} (zero is forbidden)"));
            decodable = false;
        }
        if w.div_ceil(16) * 16 > job.cap_width.max(16) || h.div_ceil(16) * 16 > job.cap_height.max(16) {
            errs.push(format!("sequence: size {w}x{h} larger than CAPTURE format {}x{}", job.cap_width, job.cap_height));
            decodable = false;
        }
        if s.chroma_format != 1 {
            errs.push(format!("sequence.chroma_format: expected 1 (the hardware decodes 4:2:0 only), got {}", s.chroma_format));
        }
        decodable
    }

    /// Spec constraints between picture fields (6.3.10) and the sequence.
    fn check_picture(&self, errs: &mut Vec<String>, s: &v4l2_ctrl_mpeg2_sequence, p: &v4l2_ctrl_mpeg2_picture) {
        let progressive_seq = s.flags as u32 & V4L2_MPEG2_SEQ_FLAG_PROGRESSIVE != 0;
        let frame = p.picture_structure as u32 == V4L2_MPEG2_PIC_FRAME;
        let progressive_frame = flag(p, V4L2_MPEG2_PIC_FLAG_PROGRESSIVE);
        if progressive_seq && (!frame || !progressive_frame) {
            errs.push(
                "picture: a progressive sequence has only progressive frame pictures (sequence flags PROGRESSIVE vs picture_structure/flags PROGRESSIVE)"
                    .into(),
            );
        }
        if progressive_frame && (!frame || !flag(p, V4L2_MPEG2_PIC_FLAG_FRAME_PRED_DCT)) {
            errs.push("picture.flags: progressive_frame requires a frame picture with FRAME_PRED_DCT".into());
        }
        if !progressive_seq && !progressive_frame && flag(p, V4L2_MPEG2_PIC_FLAG_REPEAT_FIRST) {
            errs.push("picture.flags: REPEAT_FIRST on an interlaced frame of an interlaced sequence".into());
        }
        let t = p.picture_coding_type as u32;
        for (dir, used) in [(0, t != V4L2_MPEG2_PIC_CODING_TYPE_I), (1, t == V4L2_MPEG2_PIC_CODING_TYPE_B)] {
            for c in 0..2 {
                let f = p.f_code[dir][c];
                let ok = if used { (1..=9).contains(&f) } else { f == 15 };
                if !ok {
                    errs.push(format!("picture.f_code[{dir}][{c}]: {f} invalid for picture_coding_type {t}"));
                }
            }
        }
    }

    fn check_quantisation(&self, errs: &mut Vec<String>, q: &v4l2_ctrl_mpeg2_quantisation) {
        if q.intra_quantiser_matrix[0] != 8 {
            errs.push(format!("quantisation.intra_quantiser_matrix[0]: expected 8, got {}", q.intra_quantiser_matrix[0]));
        }
        if q.intra_quantiser_matrix.contains(&0) || q.non_intra_quantiser_matrix.contains(&0) {
            errs.push("quantisation: a zero matrix entry".into());
        }
    }

    /// The references the picture must name: this model's window (and the
    /// pictures really held by CAPTURE buffers).
    /// `second`: the picture is the second field of the frame with the
    /// request's timestamp, so a P field may name its own frame (7.6.3.5:
    /// it predicts from the first field) when there is no earlier
    /// reference frame.
    fn check_references(&self, errs: &mut Vec<String>, p: &v4l2_ctrl_mpeg2_picture, mut w: Window, second: bool, job: &Job) {
        let t = p.picture_coding_type as u32;
        if second && t == V4L2_MPEG2_PIC_CODING_TYPE_P && w.future.is_none() {
            w.future = Some(job.out_ts);
        }
        let held = |ts: u64| job.cap_ts.iter().any(|c| c.1 == ts) || (second && ts == job.out_ts);
        let mut check = |name: &str, got: u64, expected: Option<u64>| {
            match expected {
                Some(e) if e != got => errs.push(format!("picture.{name}: expected {e} (reference picture of this model), got {got}")),
                None => errs.push(format!("picture.{name}: {got}, but no reference picture was decoded before")),
                _ => {}
            }
            if !held(got) {
                errs.push(format!("picture.{name}: {got} is not the timestamp of a decoded CAPTURE buffer"));
            }
        };
        match t {
            V4L2_MPEG2_PIC_CODING_TYPE_P => check("forward_ref_ts", p.forward_ref_ts, w.future),
            V4L2_MPEG2_PIC_CODING_TYPE_B => {
                check("forward_ref_ts", p.forward_ref_ts, w.past);
                check("backward_ref_ts", p.backward_ref_ts, w.future);
            }
            _ => {}
        }
    }

    /// The slices of the OUTPUT buffer against the picture size/structure.
    fn check_slices<'a>(&self, errs: &mut Vec<String>, s: &v4l2_ctrl_mpeg2_sequence, p: &v4l2_ctrl_mpeg2_picture, data: &'a [u8]) -> Vec<&'a [u8]> {
        let mut slices = Vec::new();
        let v = s.vertical_size as u32;
        let field = p.picture_structure as u32 != V4L2_MPEG2_PIC_FRAME;
        // rows a frame has at least (progressive) / at most (interlaced):
        // 6.3.3 mb_height; a field picture has half of the interlaced rows
        let (min_rows, max_rows) = if field { (v.div_ceil(32), v.div_ceil(32)) } else { (v.div_ceil(16), 2 * v.div_ceil(32)) };
        let mut covered = vec![false; max_rows as usize];
        let mut last_row = 0;
        for (code, bytes) in start_codes(data) {
            match code {
                None => errs.push("bitstream: OUTPUT buffer does not start with a start code".into()),
                Some(c) if !(0x01..=0xAF).contains(&c) => {
                    errs.push(format!("bitstream: start code {c:#04x} in the OUTPUT buffer is not a slice (the buffer holds slices only)"))
                }
                Some(_) => match parse_slice(bytes, v) {
                    Err(e) => errs.push(format!("bitstream: {e}")),
                    Ok(sl) => {
                        if sl.quantiser_scale_code == 0 {
                            errs.push(format!("bitstream: slice at row {} has quantiser_scale_code 0 (forbidden)", sl.row));
                        }
                        if sl.row >= max_rows {
                            errs.push(format!("sequence.vertical_size {v}: slice at macroblock row {} beyond the picture's {max_rows} rows", sl.row));
                        } else {
                            covered[sl.row as usize] = true;
                        }
                        if sl.row < last_row {
                            errs.push(format!("bitstream: slice rows out of order ({} after {last_row})", sl.row));
                        }
                        last_row = sl.row;
                        slices.push(sl.bytes);
                    }
                },
            }
        }
        if let Some(r) = (0..min_rows as usize).find(|&r| !covered[r]) {
            errs.push(format!(
                "bitstream: macroblock row {r} of {min_rows} has no slice (sequence.vertical_size {v}, picture_structure {})",
                p.picture_structure
            ));
        }
        slices
    }
}

impl Model for Engine {
    fn run(&mut self, job: &Job, px: &mut dyn Pixels) -> Step {
        let mut errs = Vec::new();
        let seq: Option<v4l2_ctrl_mpeg2_sequence> = job.ctrls.get_struct(CID_MPEG2_SEQUENCE);
        let pic: Option<v4l2_ctrl_mpeg2_picture> = job.ctrls.get_struct(CID_MPEG2_PICTURE);
        let q: Option<v4l2_ctrl_mpeg2_quantisation> = job.ctrls.get_struct(CID_MPEG2_QUANTISATION);
        let (Some(seq), Some(pic), Some(q)) = (seq, pic, q) else {
            errs.push("request: SEQUENCE, PICTURE or QUANTISATION control missing".into());
            return Step { findings: errs, complete: true };
        };
        if !self.check_sequence(&mut errs, &seq, job) {
            return Step { findings: errs, complete: !job.hold };
        }
        self.check_picture(&mut errs, &seq, &pic);
        self.check_quantisation(&mut errs, &q);

        // Field pairing: a field following a held first field of the
        // opposite parity with the same timestamp is its second field.
        let structure = pic.picture_structure;
        let field = structure as u32 != V4L2_MPEG2_PIC_FRAME;
        let second = match self.first_field.take() {
            Some(f) if field && f.ts == job.out_ts && f.structure != structure => Some(f),
            Some(f) if f.ts == job.out_ts => {
                errs.push(format!("picture.picture_structure: {structure} after a first field {} of the same frame (timestamp {})", f.structure, f.ts));
                None
            }
            _ => None,
        };
        if self.hold_capture && field && second.is_none() && !job.hold {
            errs.push("request: first field of a frame without V4L2_BUF_FLAG_M2M_HOLD_CAPTURE_BUF".into());
        }
        let is_ref = pic.picture_coding_type as u32 != V4L2_MPEG2_PIC_CODING_TYPE_B;
        let window = second.map_or(self.window, |f| f.before);
        self.check_references(&mut errs, &pic, window, second.is_some(), job);
        let slices = self.check_slices(&mut errs, &seq, &pic, job.data);
        if slices.is_empty() {
            errs.push("bitstream: no slice in the OUTPUT buffer".into());
            return Step { findings: errs, complete: !job.hold };
        }

        let mut au = Vec::with_capacity(job.data.len() + 512);
        write_headers(&seq, &pic, &q, self.temporal_reference, second.is_some(), &mut au);
        for s in &slices {
            au.extend_from_slice(s);
        }
        errs.extend(px.decode(&au, second.is_none()));
        self.temporal_reference = self.temporal_reference.wrapping_add(1);

        // The frame enters the reference window with its first field (or
        // as a frame); its second field changes nothing.
        if second.is_none() {
            if field {
                self.first_field = Some(FirstField { ts: job.out_ts, structure, before: self.window });
            }
            if is_ref {
                self.window = Window { past: self.window.future, future: Some(job.out_ts) };
            }
            self.pictures += 1;
        }
        Step { findings: errs, complete: !job.hold }
    }
    fn flush(&mut self, _px: &mut dyn Pixels) -> Vec<String> {
        // every request is decoded when it runs: nothing is pending
        Vec::new()
    }
    fn has_pending(&self) -> bool {
        false
    }
    fn drop_pending(&mut self) {
        self.first_field = None;
    }
    fn pictures(&self) -> u64 {
        self.pictures
    }
    fn take_notes(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notes)
    }
}
