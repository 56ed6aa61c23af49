//! Bit reader (RBSP, emulation prevention removed beforehand) and Exp-Golomb
//! bit writer used to rebuild SPS/PPS NAL units from V4L2 controls.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BitError;

pub type BResult<T> = Result<T, BitError>;

/// Reads bits MSB first from an RBSP (no emulation prevention bytes).
pub struct BitReader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> BitReader<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        BitReader { data, pos: 0 }
    }
    pub fn pos(&self) -> usize {
        self.pos
    }
    pub fn bits_left(&self) -> isize {
        self.data.len() as isize * 8 - self.pos as isize
    }
    pub fn u1(&mut self) -> BResult<u32> {
        if self.pos >= self.data.len() * 8 {
            return Err(BitError);
        }
        let b = (self.data[self.pos / 8] >> (7 - (self.pos % 8))) & 1;
        self.pos += 1;
        Ok(b as u32)
    }
    pub fn flag(&mut self) -> BResult<bool> {
        Ok(self.u1()? != 0)
    }
    pub fn u(&mut self, n: u32) -> BResult<u32> {
        let mut v = 0u32;
        for _ in 0..n {
            v = (v << 1) | self.u1()?;
        }
        Ok(v)
    }
    pub fn ue(&mut self) -> BResult<u32> {
        let mut zeros = 0;
        while self.u1()? == 0 {
            zeros += 1;
            if zeros > 31 {
                return Err(BitError);
            }
        }
        let rest = self.u(zeros)? as u64;
        Ok(((1u64 << zeros) - 1 + rest) as u32)
    }
    pub fn se(&mut self) -> BResult<i32> {
        let k = self.ue()? as i64;
        Ok(if k & 1 == 1 { ((k + 1) / 2) as i32 } else { (-(k / 2)) as i32 })
    }
    /// more_rbsp_data(): true if there is data before the rbsp trailing bits.
    pub fn more_rbsp_data(&self) -> bool {
        let total = self.data.len() * 8;
        if self.pos >= total {
            return false;
        }
        // find last set bit (the rbsp_stop_one_bit)
        let mut last = None;
        for i in (0..self.data.len()).rev() {
            if self.data[i] != 0 {
                let tz = self.data[i].trailing_zeros() as usize;
                last = Some(i * 8 + 7 - tz);
                break;
            }
        }
        match last {
            Some(l) => self.pos < l,
            None => false,
        }
    }
}

/// Writes bits MSB first; `finish_rbsp` adds the trailing bits.
#[derive(Default)]
pub struct BitWriter {
    buf: Vec<u8>,
    cur: u8,
    nbits: u32,
}

impl BitWriter {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn bit_len(&self) -> usize {
        self.buf.len() * 8 + self.nbits as usize
    }
    pub fn u1(&mut self, b: bool) {
        self.cur = (self.cur << 1) | b as u8;
        self.nbits += 1;
        if self.nbits == 8 {
            self.buf.push(self.cur);
            self.cur = 0;
            self.nbits = 0;
        }
    }
    pub fn u(&mut self, n: u32, v: u32) {
        for i in (0..n).rev() {
            self.u1((v >> i) & 1 != 0);
        }
    }
    pub fn ue(&mut self, v: u32) {
        let v1 = v as u64 + 1;
        let len = 64 - v1.leading_zeros(); // bits in v+1
        for _ in 0..len - 1 {
            self.u1(false);
        }
        for i in (0..len).rev() {
            self.u1((v1 >> i) & 1 != 0);
        }
    }
    pub fn se(&mut self, v: i32) {
        let k = if v > 0 { 2 * v as i64 - 1 } else { -2 * v as i64 };
        self.ue(k as u32);
    }
    /// rbsp_trailing_bits() and return the RBSP bytes.
    pub fn finish_rbsp(mut self) -> Vec<u8> {
        self.u1(true);
        while self.nbits != 0 {
            self.u1(false);
        }
        self.buf
    }
}

/// Removes emulation prevention bytes (00 00 03 -> 00 00).
pub fn nal_to_rbsp(nal: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(nal.len());
    let mut zeros = 0;
    for &b in nal {
        if zeros >= 2 && b == 3 {
            zeros = 0;
            continue;
        }
        if b == 0 {
            zeros += 1
        } else {
            zeros = 0
        }
        out.push(b);
    }
    out
}

/// Inserts emulation prevention bytes.
pub fn rbsp_to_nal(rbsp: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(rbsp.len() + 8);
    let mut zeros = 0;
    for &b in rbsp {
        if zeros >= 2 && b <= 3 {
            out.push(3);
            zeros = 0;
        }
        if b == 0 {
            zeros += 1
        } else {
            zeros = 0
        }
        out.push(b);
    }
    out
}

/// Splits an Annex-B byte stream into NAL units (without start codes).
pub fn split_annexb(data: &[u8]) -> Vec<&[u8]> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 <= data.len() {
        if data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1 {
            starts.push(i + 3);
            i += 3;
        } else {
            i += 1;
        }
    }
    let mut out = Vec::new();
    for (k, &s) in starts.iter().enumerate() {
        let mut e = if k + 1 < starts.len() { starts[k + 1] - 3 } else { data.len() };
        while e > s && data[e - 1] == 0 {
            e -= 1; // trailing_zero_8bits / zero_byte of the next start code
        }
        if e > s {
            out.push(&data[s..e]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ue_se_round_trip() {
        let mut w = BitWriter::new();
        let vals: Vec<u32> = vec![0, 1, 2, 3, 4, 7, 8, 255, 256, 65535, 1 << 20, u32::MAX - 1];
        let svals: Vec<i32> = vec![0, 1, -1, 2, -2, 100, -100, 32767, -32768, i32::MAX, i32::MIN + 1];
        for &v in &vals {
            w.ue(v);
        }
        for &v in &svals {
            w.se(v);
        }
        w.u(5, 0b10110);
        let bytes = w.finish_rbsp();
        let mut r = BitReader::new(&bytes);
        for &v in &vals {
            assert_eq!(r.ue().unwrap(), v);
        }
        for &v in &svals {
            assert_eq!(r.se().unwrap(), v);
        }
        assert_eq!(r.u(5).unwrap(), 0b10110);
        assert!(!r.more_rbsp_data());
    }

    #[test]
    fn known_codes() {
        // ue(0)=1, ue(1)=010, ue(2)=011, ue(3)=00100 ; se(1)=010 se(-1)=011
        let mut w = BitWriter::new();
        w.ue(0);
        w.ue(1);
        w.ue(2);
        w.ue(3);
        assert_eq!(w.bit_len(), 1 + 3 + 3 + 5);
        let b = w.finish_rbsp();
        assert_eq!(b, vec![0b1010_0110, 0b0100_1000]);
        let mut w = BitWriter::new();
        w.se(1);
        w.se(-1);
        w.se(2);
        assert_eq!(w.finish_rbsp(), vec![0b0100_1100, 0b1001_0000]);
    }

    #[test]
    fn emulation_prevention() {
        let rbsp = [0u8, 0, 0, 0, 0, 1, 0, 0, 3, 5];
        let nal = rbsp_to_nal(&rbsp);
        assert_eq!(nal, vec![0, 0, 3, 0, 0, 3, 0, 1, 0, 0, 3, 3, 5]);
        assert_eq!(nal_to_rbsp(&nal), rbsp.to_vec());
    }

    #[test]
    fn annexb_split() {
        let d = [0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 1, 0x65, 9];
        let n = split_annexb(&d);
        assert_eq!(n, vec![&[0x67u8, 1, 2][..], &[0x68, 3][..], &[0x65, 9][..]]);
    }
}
