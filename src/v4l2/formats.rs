//! Pixel formats (fourccs) the driver knows, coded and raw.

pub const fn fourcc(a: u8, b: u8, c: u8, d: u8) -> u32 {
    (a as u32) | ((b as u32) << 8) | ((c as u32) << 16) | ((d as u32) << 24)
}

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

pub fn name(f: u32) -> String {
    let b = f.to_le_bytes();
    if b.iter().all(|c| c.is_ascii_graphic() || *c == b' ') {
        String::from_utf8_lossy(&b).into_owned()
    } else {
        format!("{f:#010x}")
    }
}

/// Raw CAPTURE layouts the driver can describe to VA clients.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Linear NV12: Y plane then interleaved CbCr, same pitch.
    Nv12,
    /// Allwinner 32x32-tiled NV12 (cedrus).
    Nv12Tiled32,
}

pub fn layout_of(f: u32) -> Option<Layout> {
    match f {
        NV12 | NV12M => Some(Layout::Nv12),
        NV12_32L32 => Some(Layout::Nv12Tiled32),
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
