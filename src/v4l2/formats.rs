//! Pixel formats (fourccs) the driver knows, coded and raw.

// The coded formats are uAPI constants each codec names; re-exported here
// so every fourcc the driver knows is reachable from one module.
pub use crate::ffi::fourcc::*;

pub const NV12: u32 = fourcc(b'N', b'V', b'1', b'2');
pub const NV12M: u32 = fourcc(b'N', b'M', b'1', b'2');
pub const NV12_32L32: u32 = fourcc(b'S', b'T', b'1', b'2');
pub const NV12_4L4: u32 = fourcc(b'V', b'T', b'1', b'2');
pub const NV15_4L4: u32 = fourcc(b'V', b'T', b'1', b'5');
pub const NV15: u32 = fourcc(b'N', b'V', b'1', b'5');
pub const P010: u32 = fourcc(b'P', b'0', b'1', b'0');
pub const NV16: u32 = fourcc(b'N', b'V', b'1', b'6');
pub const NV16M: u32 = fourcc(b'N', b'M', b'1', b'6');
pub const NV20: u32 = fourcc(b'N', b'V', b'2', b'0');

pub fn name(f: u32) -> String {
    let b = f.to_le_bytes();
    if b.iter().all(|c| c.is_ascii_graphic() || *c == b' ') {
        String::from_utf8_lossy(&b).into_owned()
    } else {
        format!("{f:#010x}")
    }
}

/// Raw CAPTURE layouts the driver can map, convert and export. All are
/// two-plane: luma, then interleaved CbCr (in one memory plane after the
/// luma rows, or in a second one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Linear NV12 (4:2:0, 8-bit).
    Nv12,
    /// Allwinner 32x32-byte-tiled NV12 (cedrus).
    Nv12Tiled32,
    /// 4x4-pixel-tiled NV12 (`V4L2_PIX_FMT_NV12_4L4`, hantro G2 native).
    Nv12Tiled4,
    /// P010: 4:2:0, 16-bit little-endian samples, 10 bits at the top.
    P010,
    /// NV15: 4:2:0, 10-bit samples packed 4 in 5 bytes (rkvdec 10-bit).
    Nv15,
    /// NV16: 4:2:2, 8-bit.
    Nv16,
    /// NV20: 4:2:2, 10-bit packed like NV15.
    Nv20,
}

/// How one sample is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sample {
    U8,
    /// Little-endian u16, value in the top bits.
    U16,
    /// 10 bits, LSB first, 4 samples in 5 bytes.
    Packed10,
}

impl Layout {
    pub fn sample(self) -> Sample {
        match self {
            Layout::Nv12 | Layout::Nv12Tiled32 | Layout::Nv12Tiled4 | Layout::Nv16 => Sample::U8,
            Layout::P010 => Sample::U16,
            Layout::Nv15 | Layout::Nv20 => Sample::Packed10,
        }
    }

    /// Vertical chroma subsampling: 2 for 4:2:0, 1 for 4:2:2.
    pub fn chroma_rows_div(self) -> usize {
        match self {
            Layout::Nv16 | Layout::Nv20 => 1,
            _ => 2,
        }
    }

    /// Tiles as (bytes wide, rows); each tile is stored contiguously,
    /// row-major inside, tiles row-major. `None`: linear.
    pub fn tile(self) -> Option<(usize, usize)> {
        match self {
            Layout::Nv12Tiled32 => Some((32, 32)),
            Layout::Nv12Tiled4 => Some((4, 4)),
            _ => None,
        }
    }

    pub fn bit_depth(self) -> u8 {
        match self.sample() {
            Sample::U8 => 8,
            _ => 10,
        }
    }
}

pub fn layout_of(f: u32) -> Option<Layout> {
    match f {
        NV12 | NV12M => Some(Layout::Nv12),
        NV12_32L32 => Some(Layout::Nv12Tiled32),
        NV12_4L4 => Some(Layout::Nv12Tiled4),
        P010 => Some(Layout::P010),
        NV15 => Some(Layout::Nv15),
        NV16 | NV16M => Some(Layout::Nv16),
        NV20 => Some(Layout::Nv20),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn fourccs() {
        assert_eq!(NV12, 0x3231564e);
        assert_eq!(name(0x01020304), "0x01020304");
    }
}
