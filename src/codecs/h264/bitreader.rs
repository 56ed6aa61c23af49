//! RBSP bit reader for H.264 NAL units.
//!
//! Reads the *escaped* NAL payload (as it sits in the bitstream) and drops
//! emulation-prevention bytes (`00 00 03` → `00 00`) on the fly, so callers
//! see RBSP bits (H.264 7.3.1 / 7.4.1). It keeps two positions:
//!
//! * [`BitReader::rbsp_bit_pos`]: bits consumed from the RBSP, i.e. with the
//!   emulation-prevention bytes removed. This is what V4L2's
//!   `header_bit_size`, `dec_ref_pic_marking_bit_size` and
//!   `pic_order_cnt_bit_size` are measured in (GStreamer's parser subtracts
//!   `8 * emulation_prevention_bytes` from its raw positions for exactly
//!   these three fields) and what VA's `slice_data_bit_offset` is in.
//! * [`BitReader::raw_bit_pos`]: the same point in the escaped input, for
//!   consumers that skip bits in the raw stream.
//!
//! Every read is bounds-checked and returns [`BitError`]; nothing panics on
//! hostile data.

use std::fmt;

/// Why a read failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BitError {
    /// The data ended before the syntax element did.
    Truncated,
    /// An Exp-Golomb code with more than 31 leading zeros (value ≥ 2^32 − 1).
    ExpGolombOverflow,
    /// A value outside the range the syntax allows.
    OutOfRange {
        /// Syntax element name.
        what: &'static str,
        /// Decoded value.
        value: i64,
    },
}

impl fmt::Display for BitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BitError::Truncated => write!(f, "bitstream truncated"),
            BitError::ExpGolombOverflow => write!(f, "Exp-Golomb code longer than 32 bits"),
            BitError::OutOfRange { what, value } => {
                write!(f, "{what} = {value} is out of range")
            }
        }
    }
}

impl std::error::Error for BitError {}

/// Bit reader over an escaped NAL unit (or any part of one).
#[derive(Debug, Clone)]
pub struct BitReader<'a> {
    data: &'a [u8],
    /// Index of the next raw byte to load.
    next: usize,
    /// Byte currently being consumed (MSB first).
    cur: u8,
    /// Bits of `cur` not yet consumed.
    bits_left: u8,
    /// Zero bytes seen in a row (RBSP side), for emulation-prevention detection.
    zeros: u8,
    /// Emulation-prevention bytes skipped so far.
    epb: usize,
    /// RBSP bits consumed so far.
    rbsp_bits: usize,
}

impl<'a> BitReader<'a> {
    /// Starts reading at the first bit of `data`. `data` must start at a
    /// byte that is not in the middle of an `00 00 03` sequence (a NAL unit
    /// start always qualifies).
    pub fn new(data: &'a [u8]) -> Self {
        BitReader { data, next: 0, cur: 0, bits_left: 0, zeros: 0, epb: 0, rbsp_bits: 0 }
    }

    fn load_byte(&mut self) -> Result<(), BitError> {
        let mut b = *self.data.get(self.next).ok_or(BitError::Truncated)?;
        if self.zeros >= 2 && b == 0x03 {
            // emulation_prevention_three_byte: not part of the RBSP.
            self.epb += 1;
            self.next += 1;
            self.zeros = 0;
            b = *self.data.get(self.next).ok_or(BitError::Truncated)?;
        }
        self.zeros = if b == 0 { self.zeros.saturating_add(1) } else { 0 };
        self.next += 1;
        self.cur = b;
        self.bits_left = 8;
        Ok(())
    }

    /// Reads one bit.
    pub fn read_bit(&mut self) -> Result<bool, BitError> {
        if self.bits_left == 0 {
            self.load_byte()?;
        }
        self.bits_left -= 1;
        self.rbsp_bits += 1;
        Ok((self.cur >> self.bits_left) & 1 != 0)
    }

    /// Reads a flag (`u(1)`).
    pub fn read_flag(&mut self) -> Result<bool, BitError> {
        self.read_bit()
    }

    /// Reads `n` ≤ 32 bits as an unsigned big-endian number (`u(n)`).
    pub fn read_bits(&mut self, n: u32) -> Result<u32, BitError> {
        if n > 32 {
            return Err(BitError::OutOfRange { what: "bit count", value: n as i64 });
        }
        let mut v: u64 = 0;
        let mut remaining = n;
        while remaining > 0 {
            if self.bits_left == 0 {
                self.load_byte()?;
            }
            let take = remaining.min(self.bits_left as u32);
            let shift = self.bits_left as u32 - take;
            let chunk = (self.cur as u32 >> shift) & ((1u32 << take) - 1);
            v = (v << take) | chunk as u64;
            self.bits_left -= take as u8;
            self.rbsp_bits += take as usize;
            remaining -= take;
        }
        Ok(v as u32)
    }

    /// Unsigned Exp-Golomb (`ue(v)`), 0 ..= 2^32 − 2.
    pub fn read_ue(&mut self) -> Result<u32, BitError> {
        let mut leading = 0u32;
        while !self.read_bit()? {
            leading += 1;
            if leading > 31 {
                return Err(BitError::ExpGolombOverflow);
            }
        }
        if leading == 0 {
            return Ok(0);
        }
        let suffix = self.read_bits(leading)? as u64;
        let v = (1u64 << leading) - 1 + suffix;
        u32::try_from(v).map_err(|_| BitError::ExpGolombOverflow)
    }

    /// `ue(v)` checked against an inclusive maximum.
    pub fn read_ue_max(&mut self, what: &'static str, max: u32) -> Result<u32, BitError> {
        let v = self.read_ue()?;
        if v > max {
            return Err(BitError::OutOfRange { what, value: v as i64 });
        }
        Ok(v)
    }

    /// Signed Exp-Golomb (`se(v)`), −2^31 + 1 ..= 2^31 − 1.
    pub fn read_se(&mut self) -> Result<i32, BitError> {
        let k = self.read_ue()? as i64;
        // k = 2|v| - (v > 0): odd k → positive.
        let v = if k & 1 == 1 { (k + 1) / 2 } else { -(k / 2) };
        Ok(v as i32)
    }

    /// `se(v)` checked against an inclusive range.
    pub fn read_se_range(&mut self, what: &'static str, min: i32, max: i32) -> Result<i32, BitError> {
        let v = self.read_se()?;
        if v < min || v > max {
            return Err(BitError::OutOfRange { what, value: v as i64 });
        }
        Ok(v)
    }

    /// RBSP bits consumed so far (emulation-prevention bytes not counted).
    pub fn rbsp_bit_pos(&self) -> usize {
        self.rbsp_bits
    }

    /// Position of the next unread bit in the escaped input, in bits from
    /// its start (emulation-prevention bytes before that point counted).
    pub fn raw_bit_pos(&self) -> usize {
        self.next * 8 - self.bits_left as usize
    }

    /// Emulation-prevention bytes skipped so far.
    pub fn emulation_prevention_bytes(&self) -> usize {
        self.epb
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// MSB-first bit writer for building test vectors.
    #[derive(Default)]
    pub(crate) struct BitWriter {
        pub bytes: Vec<u8>,
        pub bits: usize,
    }

    impl BitWriter {
        pub fn put(&mut self, n: u32, v: u64) {
            for i in (0..n).rev() {
                let bit = (v >> i) & 1;
                if self.bits % 8 == 0 {
                    self.bytes.push(0);
                }
                if bit != 0 {
                    let last = self.bytes.len() - 1;
                    self.bytes[last] |= 0x80 >> (self.bits % 8);
                }
                self.bits += 1;
            }
        }
        pub fn flag(&mut self, b: bool) {
            self.put(1, b as u64);
        }
        pub fn ue(&mut self, v: u32) {
            let x = v as u64 + 1;
            let len = 64 - x.leading_zeros();
            self.put(len - 1, 0);
            self.put(len, x);
        }
        pub fn se(&mut self, v: i32) {
            let k = if v > 0 { 2 * v as i64 - 1 } else { -2 * v as i64 };
            self.ue(k as u32);
        }
        /// rbsp_stop_one_bit + alignment.
        pub fn trailing(&mut self) {
            self.put(1, 1);
            while self.bits % 8 != 0 {
                self.put(1, 0);
            }
        }
    }

    /// Inserts emulation-prevention bytes (7.4.1).
    pub(crate) fn escape(rbsp: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(rbsp.len() + 8);
        let mut zeros = 0;
        for &b in rbsp {
            if zeros >= 2 && b <= 3 {
                out.push(3);
                zeros = 0;
            }
            out.push(b);
            zeros = if b == 0 { zeros + 1 } else { 0 };
        }
        out
    }

    #[test]
    fn reads_bits_and_golomb() {
        let mut w = BitWriter::default();
        w.put(3, 0b101);
        w.ue(0);
        w.ue(1);
        w.ue(2);
        w.ue(254);
        w.se(0);
        w.se(1);
        w.se(-1);
        w.se(-1000);
        w.se(123456);
        w.put(32, 0xdead_beef);
        w.ue(u32::MAX - 1);
        w.trailing();
        let mut r = BitReader::new(&w.bytes);
        assert_eq!(r.read_bits(3).unwrap(), 0b101);
        assert_eq!(r.read_ue().unwrap(), 0);
        assert_eq!(r.read_ue().unwrap(), 1);
        assert_eq!(r.read_ue().unwrap(), 2);
        assert_eq!(r.read_ue().unwrap(), 254);
        assert_eq!(r.read_se().unwrap(), 0);
        assert_eq!(r.read_se().unwrap(), 1);
        assert_eq!(r.read_se().unwrap(), -1);
        assert_eq!(r.read_se().unwrap(), -1000);
        assert_eq!(r.read_se().unwrap(), 123456);
        assert_eq!(r.read_bits(32).unwrap(), 0xdead_beef);
        assert_eq!(r.read_ue().unwrap(), u32::MAX - 1);
        assert!(r.read_bit().unwrap());
    }

    #[test]
    fn strips_emulation_prevention_and_tracks_positions() {
        // RBSP: 00 00 01 00 00 00 ff → escaped 00 00 03 01 00 00 03 00 ff
        let rbsp = [0u8, 0, 1, 0, 0, 0, 0xff];
        let raw = escape(&rbsp);
        assert_eq!(raw, vec![0, 0, 3, 1, 0, 0, 3, 0, 0xff]);
        let mut r = BitReader::new(&raw);
        assert_eq!(r.read_bits(16).unwrap(), 0);
        assert_eq!(r.rbsp_bit_pos(), 16);
        assert_eq!(r.raw_bit_pos(), 16);
        assert_eq!(r.read_bits(8).unwrap(), 1);
        assert_eq!(r.rbsp_bit_pos(), 24);
        assert_eq!(r.raw_bit_pos(), 32);
        assert_eq!(r.emulation_prevention_bytes(), 1);
        assert_eq!(r.read_bits(24).unwrap(), 0);
        assert_eq!(r.read_bits(8).unwrap(), 0xff);
        assert_eq!(r.rbsp_bit_pos(), 56);
        assert_eq!(r.raw_bit_pos(), 72);
        assert_eq!(r.emulation_prevention_bytes(), 2);
        assert_eq!(r.read_bit(), Err(BitError::Truncated));
    }

    #[test]
    fn three_not_after_two_zeros_is_data() {
        let raw = [0u8, 3, 0, 3, 3];
        let mut r = BitReader::new(&raw);
        assert_eq!(r.read_bits(32).unwrap(), 0x0003_0003);
        assert_eq!(r.read_bits(8).unwrap(), 3);
        assert_eq!(r.emulation_prevention_bytes(), 0);
    }

    #[test]
    fn truncation_is_an_error() {
        let mut r = BitReader::new(&[]);
        assert_eq!(r.read_bit(), Err(BitError::Truncated));
        let mut r = BitReader::new(&[0xff]);
        assert_eq!(r.read_bits(9), Err(BitError::Truncated));
        // ue with leading zeros running off the end
        let mut r = BitReader::new(&[0x00, 0x00]);
        assert_eq!(r.read_ue(), Err(BitError::Truncated));
        // ue whose suffix is cut
        let mut r = BitReader::new(&[0x01]);
        assert_eq!(r.read_ue(), Err(BitError::Truncated));
        // 00 00 03 at the very end: the EPB is dropped, then nothing is left
        let mut r = BitReader::new(&[0, 0, 3]);
        assert_eq!(r.read_bits(16).unwrap(), 0);
        assert_eq!(r.read_bit(), Err(BitError::Truncated));
        // more than 32 bits per read is refused, not a panic
        let mut r = BitReader::new(&[0; 8]);
        assert!(r.read_bits(33).is_err());
    }

    #[test]
    fn golomb_overflow_is_an_error() {
        // 32 leading zeros then a one
        let raw = [0x00, 0x00, 0x00, 0x00, 0x80, 0, 0, 0, 0];
        // no EPB issue: the reader sees 00 00 00 00 80 — 00 00 00 has no 03
        let mut r = BitReader::new(&raw);
        assert_eq!(r.read_ue(), Err(BitError::ExpGolombOverflow));
        // 31 leading zeros and an all-ones suffix: 2^31 - 1 + (2^31 - 1), the largest ue(v)
        let mut w = BitWriter::default();
        w.put(31, 0);
        w.put(1, 1);
        w.put(31, 0x7fff_ffff);
        let raw = escape(&w.bytes);
        let mut r = BitReader::new(&raw);
        assert_eq!(r.read_ue(), Ok(u32::MAX - 1));
        assert!(matches!(BitReader::new(&[0x10]).read_ue_max("x", 3), Err(BitError::OutOfRange { what: "x", value: 7 })));
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut s = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..2000 {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let len = (s % 24) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|i| {
                    let v = (s >> ((i % 8) * 8)) as u8;
                    if i % 3 == 0 {
                        v & 3
                    } else {
                        v
                    }
                })
                .collect();
            let mut r = BitReader::new(&bytes);
            for k in 0..64 {
                let res = match k % 4 {
                    0 => r.read_ue().map(|_| ()),
                    1 => r.read_se().map(|_| ()),
                    2 => r.read_bits((k % 33) as u32).map(|_| ()),
                    _ => r.read_bit().map(|_| ()),
                };
                if res.is_err() {
                    break;
                }
                assert!(r.raw_bit_pos() <= bytes.len() * 8);
                assert!(r.rbsp_bit_pos() <= r.raw_bit_pos());
            }
        }
    }
}
