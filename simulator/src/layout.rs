//! CAPTURE buffer layouts: linear NV12 and Allwinner's NV12_32L32 (32x32
//! tiles stored linearly, tile rows top to bottom, each tile 32 rows of 32
//! bytes; the interleaved CbCr plane is tiled the same way and starts after
//! the luma plane).
use crate::avdec::Picture;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Layout {
    Nv12 { stride: usize, height: usize },
    Nv12Tiled32 { stride: usize, height: usize },
}

pub fn align(v: usize, a: usize) -> usize {
    v.div_ceil(a) * a
}

impl Layout {
    /// Byte offset of the luma sample (x, y) / of the CbCr pair for chroma
    /// row cy and byte column cx (cx = 2 * chroma x + 0/1).
    pub fn luma_off(&self, x: usize, y: usize) -> usize {
        match *self {
            Layout::Nv12 { stride, .. } => y * stride + x,
            Layout::Nv12Tiled32 { stride, .. } => tiled_off(stride, x, y),
        }
    }
    pub fn chroma_off(&self, cx: usize, cy: usize) -> usize {
        match *self {
            Layout::Nv12 { stride, height } => stride * height + cy * stride + cx,
            Layout::Nv12Tiled32 { stride, height } => stride * align(height, 32) + tiled_off(stride, cx, cy),
        }
    }
    pub fn size(&self) -> usize {
        match *self {
            Layout::Nv12 { stride, height } => stride * height * 3 / 2,
            Layout::Nv12Tiled32 { stride, height } => stride * align(height, 32) + stride * align(height / 2, 32),
        }
    }
}

fn tiled_off(stride: usize, x: usize, y: usize) -> usize {
    let tiles_per_row = stride / 32;
    let tile = (y / 32) * tiles_per_row + x / 32;
    tile * 1024 + (y % 32) * 32 + (x % 32)
}

/// Writes the picture (visible area w x h) into `dst` with the layout.
pub fn write_picture(pic: &Picture, w: usize, h: usize, layout: Layout, dst: &mut [u8]) {
    let w = w.min(pic.width);
    let h = h.min(pic.height);
    match layout {
        Layout::Nv12 { stride, height } => {
            for y in 0..h {
                dst[y * stride..y * stride + w].copy_from_slice(&pic.planes[0][y * pic.stride[0]..y * pic.stride[0] + w]);
            }
            let base = stride * height;
            for cy in 0..h / 2 {
                let row = &mut dst[base + cy * stride..base + cy * stride + w];
                for cx in 0..w / 2 {
                    if pic.gray {
                        row[2 * cx] = 128;
                        row[2 * cx + 1] = 128;
                    } else {
                        row[2 * cx] = pic.planes[1][cy * pic.stride[1] + cx];
                        row[2 * cx + 1] = pic.planes[2][cy * pic.stride[2] + cx];
                    }
                }
            }
        }
        Layout::Nv12Tiled32 { .. } => {
            for y in 0..h {
                // 32-byte runs stay within one tile row
                let mut x = 0;
                while x < w {
                    let n = (32 - x % 32).min(w - x);
                    let o = layout.luma_off(x, y);
                    dst[o..o + n].copy_from_slice(&pic.planes[0][y * pic.stride[0] + x..y * pic.stride[0] + x + n]);
                    x += n;
                }
            }
            for cy in 0..h / 2 {
                for cx in 0..w / 2 {
                    let (u, v) = if pic.gray { (128, 128) } else { (pic.planes[1][cy * pic.stride[1] + cx], pic.planes[2][cy * pic.stride[2] + cx]) };
                    let o = layout.chroma_off(2 * cx, cy);
                    dst[o] = u;
                    dst[o + 1] = v;
                }
            }
        }
    }
}

/// Reads back a planar I420 image (w x h) from a CAPTURE buffer.
pub fn read_i420(src: &[u8], w: usize, h: usize, layout: Layout) -> Vec<u8> {
    let mut out = Vec::with_capacity(w * h * 3 / 2);
    for y in 0..h {
        for x in 0..w {
            out.push(src[layout.luma_off(x, y)]);
        }
    }
    for c in 0..2 {
        for cy in 0..h / 2 {
            for cx in 0..w / 2 {
                out.push(src[layout.chroma_off(2 * cx + c, cy)]);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiled_offsets() {
        let l = Layout::Nv12Tiled32 { stride: 64, height: 64 };
        assert_eq!(l.luma_off(0, 0), 0);
        assert_eq!(l.luma_off(31, 0), 31);
        assert_eq!(l.luma_off(0, 1), 32);
        assert_eq!(l.luma_off(32, 0), 1024); // second tile of first tile row
        assert_eq!(l.luma_off(0, 32), 2048); // first tile of second row
        assert_eq!(l.luma_off(33, 33), 3 * 1024 + 32 + 1);
        assert_eq!(l.chroma_off(0, 0), 64 * 64);
        assert_eq!(l.chroma_off(2, 1), 64 * 64 + 32 + 2);
        // 48x48 picture: stride 64, luma 64x64, chroma 64x32
        let l = Layout::Nv12Tiled32 { stride: 64, height: 48 };
        assert_eq!(l.size(), 64 * 64 + 64 * 32);
    }

    #[test]
    fn tiled_round_trip() {
        let (w, h) = (80usize, 48usize);
        let y: Vec<u8> = (0..w * h).map(|i| (i * 7 % 251) as u8).collect();
        let u: Vec<u8> = (0..w * h / 4).map(|i| (i * 3 % 253) as u8).collect();
        let v: Vec<u8> = (0..w * h / 4).map(|i| (i * 5 % 241) as u8).collect();
        let pic = Picture { width: w, height: h, planes: [&y, &u, &v], stride: [w, w / 2, w / 2], gray: false, new_pic: true };
        for layout in [Layout::Nv12Tiled32 { stride: align(w, 32), height: h }, Layout::Nv12 { stride: w, height: h }] {
            let mut buf = vec![0u8; layout.size()];
            write_picture(&pic, w, h, layout, &mut buf);
            let back = read_i420(&buf, w, h, layout);
            let mut exp = y.clone();
            exp.extend_from_slice(&u);
            exp.extend_from_slice(&v);
            assert_eq!(back, exp, "{layout:?}");
        }
        // a pixel in the second tile column lands in the second 1 KiB tile
        let layout = Layout::Nv12Tiled32 { stride: 96, height: h };
        let mut buf = vec![0u8; layout.size()];
        write_picture(&pic, w, h, layout, &mut buf);
        assert_eq!(buf[1024], y[32]);
        assert_eq!(buf[1024 + 32], y[w + 32]);
    }
}
