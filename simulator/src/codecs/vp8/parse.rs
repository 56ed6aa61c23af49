//! The simulator's own VP8 frame parse (RFC 6386 sections 7, 9, 13, 17,
//! 19): written apart from the driver's (a machine-word window decoder
//! instead of the spec's 2-byte one), so that a parsing bug shared by both
//! cannot make them agree. It also keeps the probability state across
//! frames (key-frame defaults, refresh_entropy_probs = 0 save/restore).
use super::tables::{COEFF_UPDATE_PROBS, DEFAULT_COEFF_PROBS};

/// Bool decoder with a 64-bit window: `value` holds `bits` valid bits,
/// left-aligned; `consumed` counts the bits shifted out.
struct Bits<'a> {
    buf: &'a [u8],
    pos: usize,
    value: u64,
    bits: i32,
    range: u32,
    consumed: u64,
    /// bytes past the end were needed
    over: bool,
}

impl<'a> Bits<'a> {
    fn new(buf: &'a [u8]) -> Self {
        let mut b = Bits { buf, pos: 0, value: 0, bits: 0, range: 255, consumed: 0, over: false };
        b.fill();
        b
    }

    fn fill(&mut self) {
        while self.bits <= 56 {
            // zeros past the end, as libvpx reads them
            let byte = self.buf.get(self.pos).copied().unwrap_or(0);
            self.pos += 1;
            self.value |= u64::from(byte) << (56 - self.bits);
            self.bits += 8;
        }
    }

    fn read(&mut self, prob: u8) -> bool {
        let split = 1 + (((self.range - 1) * u32::from(prob)) >> 8);
        let big = u64::from(split) << 56;
        let bit = self.value >= big;
        if bit {
            self.range -= split;
            self.value -= big;
        } else {
            self.range = split;
        }
        let shift = self.range.leading_zeros().saturating_sub(24);
        self.range <<= shift;
        self.value <<= shift;
        self.bits -= shift as i32;
        self.consumed += u64::from(shift);
        if self.bits < 16 {
            self.fill();
        }
        if (self.consumed as usize).div_ceil(8) > self.buf.len() {
            self.over = true;
        }
        bit
    }

    fn bit(&mut self) -> bool {
        self.read(128)
    }

    fn uint(&mut self, n: u32) -> u32 {
        let mut v = 0;
        for _ in 0..n {
            v = v << 1 | u32::from(self.bit());
        }
        v
    }

    fn opt_signed(&mut self, n: u32) -> i32 {
        if !self.bit() {
            return 0;
        }
        let v = self.uint(n) as i32;
        if self.bit() {
            -v
        } else {
            v
        }
    }
}

/// Probabilities of one frame context.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Probs {
    pub coeff: [[[[u8; 11]; 3]; 8]; 4],
    pub y_mode: [u8; 4],
    pub uv_mode: [u8; 3],
    pub mv: [[u8; 19]; 2],
}

impl Default for Probs {
    fn default() -> Self {
        Probs {
            coeff: DEFAULT_COEFF_PROBS,
            y_mode: [112, 86, 140, 37],
            uv_mode: [162, 101, 204],
            mv: [
                [162, 128, 225, 146, 172, 147, 214, 39, 156, 128, 129, 132, 75, 145, 178, 206, 239, 254, 254],
                [164, 128, 204, 170, 119, 235, 140, 230, 228, 128, 130, 130, 74, 148, 180, 203, 236, 254, 254],
            ],
        }
    }
}

const MV_UPDATE: [[u8; 19]; 2] = [
    [237, 246, 253, 253, 254, 254, 254, 254, 254, 254, 254, 254, 254, 254, 250, 250, 252, 254, 254],
    [231, 243, 245, 253, 254, 254, 254, 254, 254, 254, 254, 254, 254, 254, 251, 251, 254, 254, 254],
];

/// Stream state that survives a frame (segment tree probabilities start
/// at 0, the control's default).
#[derive(Clone, Debug, Default)]
pub struct Stream {
    /// the persistent probabilities (what the next frame starts from)
    pub probs: Probs,
    pub seg_abs: bool,
    pub seg_quant: [i8; 4],
    pub seg_lf: [i8; 4],
    pub seg_probs: [u8; 3],
    pub ref_delta: [i8; 4],
    pub mode_delta: [i8; 4],
    /// size of the last key frame
    pub width: u16,
    pub height: u16,
    pub hscale: u8,
    pub vscale: u8,
    pub seen_key: bool,
}

/// One parsed frame.
#[derive(Clone, Debug, Default)]
pub struct Frame {
    pub key: bool,
    pub version: u8,
    pub show: bool,
    pub first_part_size: u32,
    /// bytes of the uncompressed chunk
    pub chunk: usize,
    pub seg_enabled: bool,
    pub seg_update_map: bool,
    pub seg_update_data: bool,
    pub filter_simple: bool,
    pub lf_level: u8,
    pub sharpness: u8,
    pub lf_adj: bool,
    pub lf_delta_update: bool,
    pub partitions: u32,
    pub part_sizes: [u32; 8],
    pub qi: [i32; 6],
    pub refresh_golden: bool,
    pub refresh_alt: bool,
    pub copy_golden: u8,
    pub copy_alt: u8,
    pub bias_golden: bool,
    pub bias_alt: bool,
    pub refresh_probs: bool,
    pub refresh_last: bool,
    pub no_skip_coeff: bool,
    pub prob_skip: u8,
    pub prob_intra: u8,
    pub prob_last: u8,
    pub prob_gf: u8,
    /// the probabilities this frame decodes with
    pub probs: Probs,
    pub header_bits: u64,
    pub range: u8,
    pub value: u8,
    pub bit_count: u8,
}

/// Parses `data` (one whole frame) against `st`, updating `st` as a
/// decoder does once the frame is decoded.
pub fn parse(data: &[u8], st: &mut Stream) -> Result<Frame, String> {
    if data.len() < 3 {
        return Err(format!("frame of {} bytes", data.len()));
    }
    let tag = u32::from_le_bytes([data[0], data[1], data[2], 0]);
    let mut f = Frame { key: tag & 1 == 0, version: (tag >> 1 & 7) as u8, show: tag >> 4 & 1 != 0, first_part_size: tag >> 5, chunk: 3, ..Default::default() };
    let mut next = st.clone();
    if f.key {
        if data.len() < 10 || data[3..6] != [0x9d, 0x01, 0x2a] {
            return Err("key frame without start code".into());
        }
        f.chunk = 10;
        let w = u16::from_le_bytes([data[6], data[7]]);
        let h = u16::from_le_bytes([data[8], data[9]]);
        next.width = w & 0x3fff;
        next.hscale = (w >> 14) as u8;
        next.height = h & 0x3fff;
        next.vscale = (h >> 14) as u8;
        next.seen_key = true;
        next.probs = Probs::default();
        next.seg_abs = false;
        next.seg_quant = [0; 4];
        next.seg_lf = [0; 4];
        next.ref_delta = [0; 4];
        next.mode_delta = [0; 4];
    } else if !st.seen_key {
        return Err("inter frame before any key frame".into());
    }
    let body = &data[f.chunk..];
    let fps = f.first_part_size as usize;
    if fps > body.len() {
        return Err(format!("first partition of {fps} bytes, {} left in the frame", body.len()));
    }
    let mut b = Bits::new(&body[..fps]);
    if f.key {
        b.uint(2); // color space, clamping
    }
    f.seg_enabled = b.bit();
    if f.seg_enabled {
        f.seg_update_map = b.bit();
        f.seg_update_data = b.bit();
        if f.seg_update_data {
            next.seg_abs = b.bit();
            for i in 0..4 {
                next.seg_quant[i] = b.opt_signed(7) as i8;
            }
            for i in 0..4 {
                next.seg_lf[i] = b.opt_signed(6) as i8;
            }
        }
        if f.seg_update_map {
            for i in 0..3 {
                next.seg_probs[i] = if b.bit() { b.uint(8) as u8 } else { 255 };
            }
        }
    }
    f.filter_simple = b.bit();
    f.lf_level = b.uint(6) as u8;
    f.sharpness = b.uint(3) as u8;
    f.lf_adj = b.bit();
    if f.lf_adj {
        f.lf_delta_update = b.bit();
        if f.lf_delta_update {
            for i in 0..8 {
                if b.bit() {
                    let m = b.uint(6) as i8;
                    let v = if b.bit() { -m } else { m };
                    if i < 4 {
                        next.ref_delta[i] = v;
                    } else {
                        next.mode_delta[i - 4] = v;
                    }
                }
            }
        }
    }
    f.partitions = 1 << b.uint(2);
    f.qi[0] = b.uint(7) as i32;
    for i in 1..6 {
        f.qi[i] = b.opt_signed(4);
    }
    if f.key {
        f.refresh_golden = true;
        f.refresh_alt = true;
        f.refresh_last = true;
        f.refresh_probs = b.bit();
    } else {
        f.refresh_golden = b.bit();
        f.refresh_alt = b.bit();
        if !f.refresh_golden {
            f.copy_golden = b.uint(2) as u8;
        }
        if !f.refresh_alt {
            f.copy_alt = b.uint(2) as u8;
        }
        f.bias_golden = b.bit();
        f.bias_alt = b.bit();
        f.refresh_probs = b.bit();
        f.refresh_last = b.bit();
    }
    let mut probs = next.probs;
    for i in 0..4 {
        for j in 0..8 {
            for k in 0..3 {
                for l in 0..11 {
                    if b.read(COEFF_UPDATE_PROBS[i][j][k][l]) {
                        probs.coeff[i][j][k][l] = b.uint(8) as u8;
                    }
                }
            }
        }
    }
    f.no_skip_coeff = b.bit();
    if f.no_skip_coeff {
        f.prob_skip = b.uint(8) as u8;
    }
    if !f.key {
        f.prob_intra = b.uint(8) as u8;
        f.prob_last = b.uint(8) as u8;
        f.prob_gf = b.uint(8) as u8;
        if b.bit() {
            for p in probs.y_mode.iter_mut() {
                *p = b.uint(8) as u8;
            }
        }
        if b.bit() {
            for p in probs.uv_mode.iter_mut() {
                *p = b.uint(8) as u8;
            }
        }
        for i in 0..2 {
            for j in 0..19 {
                if b.read(MV_UPDATE[i][j]) {
                    let v = b.uint(7) as u8;
                    probs.mv[i][j] = if v == 0 { 1 } else { v << 1 };
                }
            }
        }
    }
    if b.over {
        return Err("frame header runs past the first partition".into());
    }
    f.probs = probs;
    f.header_bits = b.consumed;
    f.range = b.range as u8;
    f.value = (b.value >> 56) as u8;
    f.bit_count = ((8 - (b.consumed % 8)) % 8) as u8;
    // partition sizes (9.5)
    let table = fps + 3 * (f.partitions as usize - 1);
    if table > body.len() {
        return Err("partition size table past the end of the frame".into());
    }
    let mut used = table;
    for i in 0..f.partitions as usize {
        let size = if i + 1 < f.partitions as usize {
            let p = fps + 3 * i;
            u32::from_le_bytes([body[p], body[p + 1], body[p + 2], 0])
        } else {
            body.len().saturating_sub(used) as u32
        };
        used += size as usize;
        f.part_sizes[i] = size;
    }
    if used > body.len() {
        return Err(format!("partitions need {used} bytes, the frame has {}", body.len()));
    }
    if f.refresh_probs {
        next.probs = probs;
    }
    *st = next;
    Ok(f)
}
