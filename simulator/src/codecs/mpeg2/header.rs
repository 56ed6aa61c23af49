//! The simulator's own MPEG-2 bitstream code: the slices of an OUTPUT
//! buffer and their headers (6.2.4), and the headers libavcodec needs in
//! front of them, rebuilt from the controls (6.2.2.1 sequence_header,
//! 6.2.2.3 sequence_extension, 6.2.3 picture_header, 6.2.3.1
//! picture_coding_extension, 6.2.3.2 quant_matrix_extension).
use crate::uapi::*;

/// One slice of the OUTPUT buffer.
#[derive(Debug, Clone)]
pub struct Slice<'a> {
    /// the slice_start_code's last byte (slice_vertical_position + 1 in
    /// pictures of at most 2800 lines)
    pub code: u8,
    /// macroblock row, with slice_vertical_position_extension applied
    pub row: u32,
    pub quantiser_scale_code: u8,
    pub intra_slice: Option<bool>,
    /// the slice, start code included
    pub bytes: &'a [u8],
}

/// Splits `data` at every 00 00 01 prefix: (start code value, bytes from the
/// prefix to the next one). Bytes before the first prefix come back as an
/// entry with value None.
pub fn start_codes(data: &[u8]) -> Vec<(Option<u8>, &[u8])> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 < data.len() {
        if data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1 {
            starts.push(i);
            i += 3;
        } else {
            i += 1;
        }
    }
    let mut out = Vec::new();
    if starts.first().map_or(true, |&s| s > 0) {
        out.push((None, &data[..starts.first().copied().unwrap_or(data.len())]));
    }
    for (n, &s) in starts.iter().enumerate() {
        let end = starts.get(n + 1).copied().unwrap_or(data.len());
        out.push((Some(data[s + 3]), &data[s..end]));
    }
    out
}

struct Bits<'a> {
    d: &'a [u8],
    pos: usize,
}

impl Bits<'_> {
    fn get(&mut self, n: usize) -> Option<u32> {
        let mut v = 0u32;
        for _ in 0..n {
            let byte = *self.d.get(self.pos / 8)?;
            v = v << 1 | (byte >> (7 - self.pos % 8) & 1) as u32;
            self.pos += 1;
        }
        Some(v)
    }
}

/// Parses the slice header of `bytes` (start code included) of a picture
/// `vertical_size` lines high.
pub fn parse_slice(bytes: &[u8], vertical_size: u32) -> Result<Slice<'_>, String> {
    if bytes.len() < 5 || bytes[..3] != [0, 0, 1] || !(0x01..=0xAF).contains(&bytes[3]) {
        return Err("not a slice".into());
    }
    let code = bytes[3];
    let mut b = Bits { d: &bytes[4..], pos: 0 };
    let short = || "slice header truncated".to_string();
    let ext = if vertical_size > 2800 { b.get(3).ok_or_else(short)? } else { 0 };
    let row = (ext << 7) + code as u32 - 1;
    let quantiser_scale_code = b.get(5).ok_or_else(short)? as u8;
    let intra_slice = if b.get(1).ok_or_else(short)? == 1 {
        let _intra_slice_flag = 1;
        let is = b.get(1).ok_or_else(short)? == 1;
        let _reserved = b.get(7).ok_or_else(short)?;
        while b.get(1).ok_or_else(short)? == 1 {
            b.get(8).ok_or_else(short)?;
        }
        Some(is)
    } else {
        None
    };
    Ok(Slice { code, row, quantiser_scale_code, intra_slice, bytes })
}

/// MSB-first bit writer whose start codes land on byte boundaries.
#[derive(Default)]
struct Writer {
    out: Vec<u8>,
    cur: u32,
    n: u32,
}

impl Writer {
    fn put(&mut self, bits: u32, v: u32) {
        for i in (0..bits).rev() {
            self.cur = self.cur << 1 | (v >> i & 1);
            self.n += 1;
            if self.n == 8 {
                self.out.push(self.cur as u8);
                self.cur = 0;
                self.n = 0;
            }
        }
    }
    fn start_code(&mut self, code: u8) {
        while self.n != 0 {
            self.put(1, 0);
        }
        self.out.extend_from_slice(&[0, 0, 1, code]);
    }
}

/// The headers of one picture as libavcodec wants them before its slices:
/// sequence header + sequence extension (size, profile/level, chroma
/// format, progressive_sequence, vbv size from the SEQUENCE control),
/// picture header + picture coding extension (PICTURE control), and a
/// quant matrix extension that loads both matrices of the QUANTISATION
/// control (after a sequence header without matrices, libavcodec would use
/// the defaults).
pub fn write_headers(
    seq: &v4l2_ctrl_mpeg2_sequence,
    pic: &v4l2_ctrl_mpeg2_picture,
    q: &v4l2_ctrl_mpeg2_quantisation,
    temporal_reference: u32,
    second_field: bool,
    out: &mut Vec<u8>,
) {
    let mut w = Writer::default();
    let (hs, vs, vbv) = (seq.horizontal_size as u32, seq.vertical_size as u32, seq.vbv_buffer_size);
    // A sequence header between the two fields of a frame is not allowed
    // (6.1.1.6: a sequence header starts a new frame): the second field
    // gets picture-level headers only.
    if !second_field {
        write_sequence(&mut w, seq, hs, vs, vbv);
    }
    write_picture(&mut w, pic, q, temporal_reference);
    while w.n != 0 {
        w.put(1, 0);
    }
    out.extend_from_slice(&w.out);
}

fn write_sequence(w: &mut Writer, seq: &v4l2_ctrl_mpeg2_sequence, hs: u32, vs: u32, vbv: u32) {
    w.start_code(0xB3);
    w.put(12, hs & 0xfff);
    w.put(12, vs & 0xfff);
    w.put(4, 1); // aspect_ratio_information: square samples
    w.put(4, 3); // frame_rate_code: 25 Hz (display only)
    w.put(18, 0x3ffff); // bit_rate_value (not used for decoding)
    w.put(1, 1); // marker
    w.put(10, vbv & 0x3ff);
    w.put(1, 0); // constrained_parameters_flag
    w.put(1, 0); // load_intra_quantiser_matrix
    w.put(1, 0); // load_non_intra_quantiser_matrix
    w.start_code(0xB5);
    w.put(4, 1); // sequence extension
    w.put(8, seq.profile_and_level_indication as u32 & 0xff);
    w.put(1, (seq.flags as u32 & V4L2_MPEG2_SEQ_FLAG_PROGRESSIVE != 0) as u32);
    w.put(2, seq.chroma_format as u32 & 3);
    w.put(2, hs >> 12 & 3);
    w.put(2, vs >> 12 & 3);
    w.put(12, 0); // bit_rate_extension
    w.put(1, 1); // marker
    w.put(8, vbv >> 10 & 0xff);
    w.put(1, 0); // low_delay
    w.put(2, 0);
    w.put(5, 0);
}

fn write_picture(w: &mut Writer, pic: &v4l2_ctrl_mpeg2_picture, q: &v4l2_ctrl_mpeg2_quantisation, temporal_reference: u32) {
    w.start_code(0x00);
    let t = pic.picture_coding_type as u32;
    w.put(10, temporal_reference & 0x3ff);
    w.put(3, t);
    w.put(16, 0xffff); // vbv_delay
    if t == V4L2_MPEG2_PIC_CODING_TYPE_P || t == V4L2_MPEG2_PIC_CODING_TYPE_B {
        w.put(1, 0); // full_pel_forward_vector
        w.put(3, 7); // forward_f_code
    }
    if t == V4L2_MPEG2_PIC_CODING_TYPE_B {
        w.put(1, 0);
        w.put(3, 7);
    }
    w.put(1, 0); // extra_bit_picture
    w.start_code(0xB5);
    w.put(4, 8); // picture coding extension
    for f in pic.f_code.iter().flatten() {
        w.put(4, *f as u32 & 15);
    }
    let fl = pic.flags;
    let bit = |f: u32| (fl & f != 0) as u32;
    w.put(2, pic.intra_dc_precision as u32 & 3);
    w.put(2, pic.picture_structure as u32 & 3);
    w.put(1, bit(V4L2_MPEG2_PIC_FLAG_TOP_FIELD_FIRST));
    w.put(1, bit(V4L2_MPEG2_PIC_FLAG_FRAME_PRED_DCT));
    w.put(1, bit(V4L2_MPEG2_PIC_FLAG_CONCEALMENT_MV));
    w.put(1, bit(V4L2_MPEG2_PIC_FLAG_Q_SCALE_TYPE));
    w.put(1, bit(V4L2_MPEG2_PIC_FLAG_INTRA_VLC));
    w.put(1, bit(V4L2_MPEG2_PIC_FLAG_ALT_SCAN));
    w.put(1, bit(V4L2_MPEG2_PIC_FLAG_REPEAT_FIRST));
    w.put(1, bit(V4L2_MPEG2_PIC_FLAG_PROGRESSIVE)); // chroma_420_type
    w.put(1, bit(V4L2_MPEG2_PIC_FLAG_PROGRESSIVE));
    w.put(1, 0); // composite_display_flag
    w.start_code(0xB5);
    w.put(4, 3); // quant matrix extension
    w.put(1, 1);
    for v in q.intra_quantiser_matrix {
        w.put(8, v as u32);
    }
    w.put(1, 1);
    for v in q.non_intra_quantiser_matrix {
        w.put(8, v as u32);
    }
    w.put(1, 0); // load_chroma_intra_quantiser_matrix (4:2:0)
    w.put(1, 0);
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn start_codes_split() {
        let d = [9, 0, 0, 1, 1, 0x10, 0, 0, 1, 2, 0x20];
        let s = start_codes(&d);
        assert_eq!(s.len(), 3);
        assert_eq!(s[0], (None, &d[..1]));
        assert_eq!(s[1], (Some(1), &d[1..6]));
        assert_eq!(s[2], (Some(2), &d[6..]));
    }
    #[test]
    fn slice_header() {
        // 00101 quantiser_scale_code 5, 1 intra_slice_flag, 1 intra_slice,
        // 0 + 000000 reserved (7 bits), 0 extra_bit_slice
        let d = [0, 0, 1, 3, 0b0010_1110, 0b0000_0000];
        let s = parse_slice(&d, 576).unwrap();
        assert_eq!((s.row, s.quantiser_scale_code, s.intra_slice), (2, 5, Some(true)));
        let d = [0, 0, 1, 1, 0b0000_1000];
        assert_eq!(parse_slice(&d, 576).unwrap().intra_slice, None);
        assert!(parse_slice(&[0, 0, 1, 0xb3, 0], 576).is_err());
    }
    #[test]
    fn headers_are_byte_aligned_start_codes() {
        let seq = v4l2_ctrl_mpeg2_sequence { horizontal_size: 720, vertical_size: 576, chroma_format: 1, ..Default::default() };
        let pic = v4l2_ctrl_mpeg2_picture { picture_coding_type: 2, picture_structure: 3, f_code: [[1, 2], [15, 15]], ..Default::default() };
        let q = v4l2_ctrl_mpeg2_quantisation::default();
        let mut out = Vec::new();
        write_headers(&seq, &pic, &q, 0, false, &mut out);
        let codes: Vec<_> = start_codes(&out).into_iter().map(|s| s.0).collect();
        assert_eq!(codes, vec![Some(0xB3), Some(0xB5), Some(0x00), Some(0xB5), Some(0xB5)]);
        // horizontal 720 = 0x2d0, vertical 576 = 0x240
        assert_eq!(&out[4..7], &[0x2d, 0x02, 0x40]);
    }
}
