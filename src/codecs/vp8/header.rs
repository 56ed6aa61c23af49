//! The VP8 frame header (RFC 6386 section 9 and 19.2): the uncompressed
//! data chunk and the bool-coded start of the first partition, up to the
//! first macroblock. Only what V4L2 needs and VA does not carry is kept;
//! the token, mode and MV probability updates are parsed to find where the
//! header ends but their values are not (VA hands them over ready-made).
use super::tables::COEFF_UPDATE_PROBS;
use std::fmt;

/// Why a header could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderError {
    /// Fewer bytes than the uncompressed chunk needs.
    ShortChunk(usize),
    /// A key frame without the 9d 01 2a start code.
    BadStartCode,
    /// The header reads past the end of the first partition.
    Overrun { bits: u32, part_size: usize },
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeaderError::ShortChunk(n) => write!(f, "VP8 frame of {n} bytes is shorter than its uncompressed chunk"),
            HeaderError::BadStartCode => write!(f, "VP8 key frame without the 9d 01 2a start code"),
            HeaderError::Overrun { bits, part_size } => write!(f, "VP8 frame header needs {bits} bits, more than its {part_size}-byte first partition"),
        }
    }
}

impl std::error::Error for HeaderError {}

/// The uncompressed data chunk (9.1): frame tag and, on key frames, the
/// start code and dimensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FrameTag {
    pub key_frame: bool,
    pub version: u8,
    pub show_frame: bool,
    pub first_part_size: u32,
    /// Key frames only (0 otherwise).
    pub width: u16,
    pub horizontal_scale: u8,
    pub height: u16,
    pub vertical_scale: u8,
}

impl FrameTag {
    /// Bytes of the chunk: 10 on key frames, 3 otherwise.
    pub fn len(&self) -> usize {
        if self.key_frame {
            10
        } else {
            3
        }
    }

    pub fn is_empty(&self) -> bool {
        false
    }

    /// Parses the chunk at the start of a whole frame.
    pub fn parse(frame: &[u8]) -> Result<FrameTag, HeaderError> {
        if frame.len() < 3 {
            return Err(HeaderError::ShortChunk(frame.len()));
        }
        let raw = u32::from(frame[0]) | u32::from(frame[1]) << 8 | u32::from(frame[2]) << 16;
        let mut t = FrameTag {
            key_frame: raw & 1 == 0,
            version: ((raw >> 1) & 7) as u8,
            show_frame: (raw >> 4) & 1 == 1,
            first_part_size: raw >> 5,
            ..Default::default()
        };
        if t.key_frame {
            if frame.len() < 10 {
                return Err(HeaderError::ShortChunk(frame.len()));
            }
            if frame[3..6] != [0x9d, 0x01, 0x2a] {
                return Err(HeaderError::BadStartCode);
            }
            let w = u16::from_le_bytes([frame[6], frame[7]]);
            let h = u16::from_le_bytes([frame[8], frame[9]]);
            t.width = w & 0x3fff;
            t.horizontal_scale = (w >> 14) as u8;
            t.height = h & 0x3fff;
            t.vertical_scale = (h >> 14) as u8;
        }
        Ok(t)
    }

    /// The chunk's bytes (the inverse of [`FrameTag::parse`]).
    pub fn write(&self, out: &mut Vec<u8>) {
        let raw = u32::from(!self.key_frame) | u32::from(self.version & 7) << 1 | u32::from(self.show_frame) << 4 | (self.first_part_size & 0x7ffff) << 5;
        out.extend_from_slice(&raw.to_le_bytes()[..3]);
        if self.key_frame {
            out.extend_from_slice(&[0x9d, 0x01, 0x2a]);
            out.extend_from_slice(&((self.width & 0x3fff) | u16::from(self.horizontal_scale & 3) << 14).to_le_bytes());
            out.extend_from_slice(&((self.height & 0x3fff) | u16::from(self.vertical_scale & 3) << 14).to_le_bytes());
        }
    }
}

/// The boolean entropy decoder of RFC 6386 section 7 (2-byte window,
/// reading zeros past the end of its input, which it counts).
pub struct BoolDecoder<'a> {
    data: &'a [u8],
    next: usize,
    value: u32,
    range: u32,
    bit_count: u32,
    /// Bits shifted out of the window so far.
    shifted: u32,
}

impl<'a> BoolDecoder<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        let mut d = BoolDecoder { data, next: 0, value: 0, range: 255, bit_count: 0, shifted: 0 };
        d.value = (d.byte() << 8) | d.byte();
        d
    }

    fn byte(&mut self) -> u32 {
        let b = self.data.get(self.next).copied().unwrap_or(0);
        self.next += 1;
        u32::from(b)
    }

    pub fn bool(&mut self, prob: u8) -> bool {
        let split = 1 + (((self.range - 1) * u32::from(prob)) >> 8);
        let big_split = split << 8;
        let bit = if self.value >= big_split {
            self.range -= split;
            self.value -= big_split;
            true
        } else {
            self.range = split;
            false
        };
        while self.range < 128 {
            self.value <<= 1;
            self.range <<= 1;
            self.shifted += 1;
            self.bit_count += 1;
            if self.bit_count == 8 {
                self.bit_count = 0;
                self.value |= self.byte();
            }
        }
        bit
    }

    pub fn flag(&mut self) -> bool {
        self.bool(128)
    }

    /// An n-bit unsigned literal, most significant bit first.
    pub fn literal(&mut self, n: u32) -> u32 {
        (0..n).fold(0, |v, _| (v << 1) | u32::from(self.flag()))
    }

    /// A magnitude of `n` bits followed by a sign bit.
    pub fn signed(&mut self, n: u32) -> i32 {
        let m = self.literal(n) as i32;
        if self.flag() {
            -m
        } else {
            m
        }
    }

    /// An optional signed value: a flag, then [`BoolDecoder::signed`].
    fn delta(&mut self, n: u32) -> i32 {
        if self.flag() {
            self.signed(n)
        } else {
            0
        }
    }

    /// Bits consumed: the offset of the next bool-coded symbol from the
    /// start of the data, as V4L2's `first_part_header_bits` and VA's
    /// `macroblock_offset` count it.
    pub fn position(&self) -> u32 {
        self.shifted
    }

    /// (range, value, bit_count) as V4L2's `coder_state` wants them: the
    /// range, the top byte of the value window and the bits of the
    /// current byte not yet shifted in, modulo 8.
    pub fn state(&self) -> (u8, u8, u8) {
        (self.range as u8, (self.value >> 8) as u8, ((8 - self.bit_count) % 8) as u8)
    }

    /// Input bytes the decoder has loaded (including its 2-byte window).
    pub fn bytes_loaded(&self) -> usize {
        self.next
    }
}

/// What persists between frames of a stream (reset by key frames): the
/// segmentation and loop-filter-delta values that frames only update.
/// Segment tree probabilities start at 0 (the control's default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PersistentState {
    pub segment_abs: bool,
    pub quant_update: [i8; 4],
    pub lf_update: [i8; 4],
    pub segment_probs: [u8; 3],
    pub ref_frm_delta: [i8; 4],
    pub mb_mode_delta: [i8; 4],
}

/// The parsed frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FrameHeader {
    pub color_space: bool,
    pub clamping_type: bool,
    pub segmentation_enabled: bool,
    pub update_mb_segmentation_map: bool,
    pub update_segment_feature_data: bool,
    pub filter_type: bool,
    pub loop_filter_level: u8,
    pub sharpness_level: u8,
    pub loop_filter_adj_enable: bool,
    pub mode_ref_lf_delta_update: bool,
    pub log2_nbr_of_dct_partitions: u8,
    pub y_ac_qi: u8,
    pub y_dc_delta: i8,
    pub y2_dc_delta: i8,
    pub y2_ac_delta: i8,
    pub uv_dc_delta: i8,
    pub uv_ac_delta: i8,
    pub refresh_golden_frame: bool,
    pub refresh_alternate_frame: bool,
    pub copy_buffer_to_golden: u8,
    pub copy_buffer_to_alternate: u8,
    pub sign_bias_golden: bool,
    pub sign_bias_alternate: bool,
    pub refresh_entropy_probs: bool,
    pub refresh_last: bool,
    pub mb_no_skip_coeff: bool,
    pub prob_skip_false: u8,
    pub prob_intra: u8,
    pub prob_last: u8,
    pub prob_gf: u8,
    /// The segmentation and loop-filter deltas in force for this frame.
    pub state: PersistentState,
    /// Bits of the first partition the header takes.
    pub header_bits: u32,
    /// The bool decoder's state after the header.
    pub coder_state: (u8, u8, u8),
}

const MV_UPDATE_PROBS: [[u8; 19]; 2] = [
    [237, 246, 253, 253, 254, 254, 254, 254, 254, 254, 254, 254, 254, 254, 250, 250, 252, 254, 254],
    [231, 243, 245, 253, 254, 254, 254, 254, 254, 254, 254, 254, 254, 254, 251, 251, 254, 254, 254],
];

/// Parses the bool-coded frame header at the start of `first_part` (the
/// first partition, `first_part_size` bytes; more may follow). `prev` is
/// what earlier frames left ([`PersistentState`]); key frames start from
/// the defaults.
pub fn parse_frame_header(first_part: &[u8], first_part_size: usize, key_frame: bool, prev: &PersistentState) -> Result<FrameHeader, HeaderError> {
    let part = &first_part[..first_part_size.min(first_part.len())];
    let mut d = BoolDecoder::new(part);
    let mut h = FrameHeader { state: if key_frame { PersistentState::default() } else { *prev }, ..Default::default() };
    // A key frame resets the segment feature data (delta mode) and the
    // loop-filter deltas (libvpx init_frame); the segment tree
    // probabilities are only read with a map update, which rewrites all
    // three, so they simply carry over.
    if key_frame {
        h.state.segment_probs = prev.segment_probs;
        h.color_space = d.flag();
        h.clamping_type = d.flag();
    }
    h.segmentation_enabled = d.flag();
    if h.segmentation_enabled {
        h.update_mb_segmentation_map = d.flag();
        h.update_segment_feature_data = d.flag();
        if h.update_segment_feature_data {
            h.state.segment_abs = d.flag();
            for q in h.state.quant_update.iter_mut() {
                *q = d.delta(7) as i8;
            }
            for l in h.state.lf_update.iter_mut() {
                *l = d.delta(6) as i8;
            }
        }
        if h.update_mb_segmentation_map {
            for p in h.state.segment_probs.iter_mut() {
                *p = if d.flag() { d.literal(8) as u8 } else { 255 };
            }
        }
    }
    h.filter_type = d.flag();
    h.loop_filter_level = d.literal(6) as u8;
    h.sharpness_level = d.literal(3) as u8;
    h.loop_filter_adj_enable = d.flag();
    if h.loop_filter_adj_enable {
        h.mode_ref_lf_delta_update = d.flag();
        if h.mode_ref_lf_delta_update {
            for r in h.state.ref_frm_delta.iter_mut().chain(h.state.mb_mode_delta.iter_mut()) {
                if d.flag() {
                    *r = d.signed(6) as i8;
                }
            }
        }
    }
    h.log2_nbr_of_dct_partitions = d.literal(2) as u8;
    h.y_ac_qi = d.literal(7) as u8;
    h.y_dc_delta = d.delta(4) as i8;
    h.y2_dc_delta = d.delta(4) as i8;
    h.y2_ac_delta = d.delta(4) as i8;
    h.uv_dc_delta = d.delta(4) as i8;
    h.uv_ac_delta = d.delta(4) as i8;
    if key_frame {
        h.refresh_golden_frame = true;
        h.refresh_alternate_frame = true;
        h.refresh_entropy_probs = d.flag();
        h.refresh_last = true;
    } else {
        h.refresh_golden_frame = d.flag();
        h.refresh_alternate_frame = d.flag();
        if !h.refresh_golden_frame {
            h.copy_buffer_to_golden = d.literal(2) as u8;
        }
        if !h.refresh_alternate_frame {
            h.copy_buffer_to_alternate = d.literal(2) as u8;
        }
        h.sign_bias_golden = d.flag();
        h.sign_bias_alternate = d.flag();
        h.refresh_entropy_probs = d.flag();
        h.refresh_last = d.flag();
    }
    for p in COEFF_UPDATE_PROBS.iter().flatten().flatten().flatten() {
        if d.bool(*p) {
            d.literal(8);
        }
    }
    h.mb_no_skip_coeff = d.flag();
    if h.mb_no_skip_coeff {
        h.prob_skip_false = d.literal(8) as u8;
    }
    if !key_frame {
        h.prob_intra = d.literal(8) as u8;
        h.prob_last = d.literal(8) as u8;
        h.prob_gf = d.literal(8) as u8;
        if d.flag() {
            d.literal(32);
        }
        if d.flag() {
            d.literal(24);
        }
        for p in MV_UPDATE_PROBS.iter().flatten() {
            if d.bool(*p) {
                d.literal(7);
            }
        }
    }
    h.header_bits = d.position();
    h.coder_state = d.state();
    // The decoder has loaded 2 bytes ahead of its position; a header that
    // needs bytes beyond the partition is corrupt.
    if (h.header_bits as usize).div_ceil(8) > part.len() || d.bytes_loaded() > part.len() + 2 {
        return Err(HeaderError::Overrun { bits: h.header_bits, part_size: part.len() });
    }
    Ok(h)
}
