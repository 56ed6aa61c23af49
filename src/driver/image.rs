//! VA images: creation, vaGetImage/vaPutImage copies between surfaces and
//! images (linear and tiled CAPTURE layouts), vaDeriveImage zero-copy views.
use super::buffer::{Buffer, BufferInner, Store};
use super::surface::{Surface, MAX_PICTURE_SIDE};
use super::{Driver, VaError, VaResult};
use crate::ffi::va;
use crate::v4l2::formats::{Layout, Sample};
use crate::v4l2::session::PlaneLayout;
use parking_lot::Mutex;
use std::sync::Arc;

pub struct Image {
    pub image: va::VAImage,
    pub derived_from: Option<u32>,
}

/// A VA image format the driver converts to and from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImageKind {
    pub fourcc: u32,
    pub bits_per_pixel: u32,
    /// Bytes per stored sample (1 or 2).
    pub bytes_per_sample: u32,
    /// 2 for 4:2:0, 1 for 4:2:2.
    pub chroma_rows_div: u32,
}

pub const NV12: ImageKind = ImageKind { fourcc: va::VA_FOURCC_NV12, bits_per_pixel: 12, bytes_per_sample: 1, chroma_rows_div: 2 };
pub const P010: ImageKind = ImageKind { fourcc: va::VA_FOURCC_P010, bits_per_pixel: 24, bytes_per_sample: 2, chroma_rows_div: 2 };
pub const P208: ImageKind = ImageKind { fourcc: va::VA_FOURCC_P208, bits_per_pixel: 16, bytes_per_sample: 1, chroma_rows_div: 1 };
const KINDS: [ImageKind; 3] = [NV12, P010, P208];

impl ImageKind {
    pub fn of_fourcc(fourcc: u32) -> Option<ImageKind> {
        KINDS.iter().copied().find(|k| k.fourcc == fourcc)
    }

    /// The VA image format a CAPTURE layout converts to (`None`: no VA
    /// format holds it, e.g. 10-bit 4:2:2).
    pub fn of_layout(l: Layout) -> Option<ImageKind> {
        match l {
            Layout::Nv12 | Layout::Nv12Tiled32 | Layout::Nv12Tiled4 => Some(NV12),
            Layout::P010 | Layout::Nv15 => Some(P010),
            Layout::Nv16 => Some(P208),
            Layout::Nv20 => None,
        }
    }

    /// The VA image format of surfaces of an RT format.
    pub fn of_rt_format(rt: u32) -> Option<ImageKind> {
        super::caps::RT_FOURCCS.iter().find(|(r, _)| *r == rt).and_then(|(_, f)| Self::of_fourcc(*f))
    }

    pub fn va_format(self) -> va::VAImageFormat {
        va::VAImageFormat { fourcc: self.fourcc, byte_order: va::VA_LSB_FIRST, bits_per_pixel: self.bits_per_pixel, ..Default::default() }
    }
}

/// Image formats for surfaces of the RT formats in `rt_formats`.
pub fn formats(rt_formats: u32) -> Vec<va::VAImageFormat> {
    let mut v: Vec<va::VAImageFormat> =
        super::caps::RT_FOURCCS.iter().filter(|(rt, _)| rt_formats & rt != 0).filter_map(|(_, f)| ImageKind::of_fourcc(*f)).map(ImageKind::va_format).collect();
    if v.is_empty() {
        v.push(NV12.va_format());
    }
    v
}

fn align(v: u32, a: u32) -> u32 {
    v.div_ceil(a) * a
}

/// Byte offset of byte column `x`, row `y` of a plane in a CAPTURE layout.
fn offset_in(layout: Layout, pl: &PlaneLayout, x: usize, y: usize) -> usize {
    match layout.tile() {
        None => pl.offset as usize + y * pl.pitch as usize + x,
        Some((tw, th)) => {
            // Tiles of tw x th bytes, row-major; each tile row-major inside.
            let tiles_per_row = pl.pitch as usize / tw;
            let tile = (y / th) * tiles_per_row + x / tw;
            pl.offset as usize + tile * tw * th + (y % th) * tw + (x % tw)
        }
    }
}

/// Copies a `w`x`h` byte rectangle between a CAPTURE plane and a linear image
/// plane. `to_image` picks the direction. Bounds-checked: returns false if a
/// row would fall outside either buffer.
// One rectangle between a CAPTURE plane and an image plane: the two
// positions, the image's offset/pitch and the direction are all needed.
#[allow(clippy::too_many_arguments)]
fn copy_rect(
    layout: Layout,
    pl: &PlaneLayout,
    cap: &mut [u8],
    (sx, sy): (usize, usize),
    img: &mut [u8],
    img_off: usize,
    img_pitch: usize,
    (dx, dy): (usize, usize),
    w: usize,
    h: usize,
    to_image: bool,
) -> bool {
    for row in 0..h {
        let mut x = 0;
        while x < w {
            // contiguous run in the CAPTURE layout
            let run = match layout.tile() {
                None => w - x,
                Some((tw, _)) => (tw - (sx + x) % tw).min(w - x),
            };
            let c = offset_in(layout, pl, sx + x, sy + row);
            let i = img_off + (dy + row) * img_pitch + dx + x;
            let (Some(cr), Some(ir)) = (c.checked_add(run), i.checked_add(run)) else { return false };
            if cr > cap.len() || ir > img.len() {
                return false;
            }
            if to_image {
                img[i..ir].copy_from_slice(&cap[c..cr]);
            } else {
                cap[c..cr].copy_from_slice(&img[i..ir]);
            }
            x += run;
        }
    }
    true
}

/// Moves `n` samples starting at sample `first` of a packed 10-bit row
/// (4 samples in 5 bytes, LSB first) to or from P010-style u16 samples
/// (value << 6, little-endian) in `img`. False if out of bounds.
fn packed10_row(row: &mut [u8], first: usize, img: &mut [u8], n: usize, to_image: bool) -> bool {
    if img.len() < n * 2 || (first + n) * 10 > row.len() * 8 {
        return false;
    }
    for i in 0..n {
        let bit = (first + i) * 10;
        let (byte, shift) = (bit / 8, bit % 8);
        let lo = row[byte] as u32;
        let hi = row.get(byte + 1).copied().unwrap_or(0) as u32;
        if to_image {
            let v = ((lo | hi << 8) >> shift) & 0x3ff;
            img[2 * i..2 * i + 2].copy_from_slice(&((v << 6) as u16).to_le_bytes());
        } else {
            let v = (u16::from_le_bytes([img[2 * i], img[2 * i + 1]]) >> 6) as u32;
            let word = ((lo | hi << 8) & !(0x3ff << shift)) | (v << shift);
            row[byte] = word as u8;
            if let Some(b) = row.get_mut(byte + 1) {
                *b = (word >> 8) as u8;
            }
        }
    }
    true
}

/// Moves a `w`x`h` sample rectangle at (`sx`, `sy`) of one CAPTURE plane
/// to or from an image plane (whose offset points at the rectangle).
#[allow(clippy::too_many_arguments)]
fn transfer_plane(
    layout: Layout,
    pl: &PlaneLayout,
    cap: &mut [u8],
    (sx, sy): (usize, usize),
    img: &mut [u8],
    img_off: usize,
    img_pitch: usize,
    w: usize,
    h: usize,
    to_image: bool,
) -> bool {
    match layout.sample() {
        Sample::U8 => copy_rect(layout, pl, cap, (sx, sy), img, img_off, img_pitch, (0, 0), w, h, to_image),
        Sample::U16 => copy_rect(layout, pl, cap, (sx * 2, sy), img, img_off, img_pitch, (0, 0), w * 2, h, to_image),
        Sample::Packed10 => (0..h).all(|r| {
            let start = pl.offset as usize + (sy + r) * pl.pitch as usize;
            let i = img_off + r * img_pitch;
            match (cap.get_mut(start..(start + pl.pitch as usize).min(cap.len())), img.get_mut(i..)) {
                (Some(row), Some(irow)) => packed10_row(row, sx, irow, w, to_image),
                _ => false,
            }
        }),
    }
}

impl Driver {
    pub fn image(&self, id: u32) -> VaResult<Arc<Image>> {
        self.images.get(id).ok_or(VaError::InvalidImage)
    }

    fn insert_image(&self, mut image: va::VAImage, store: Store, derived_from: Option<u32>) -> VaResult<va::VAImage> {
        let buf = Buffer {
            buf_type: va::VAImageBufferType,
            elem_size: image.data_size,
            context: 0,
            inner: Mutex::new(BufferInner { num_elements: 1, store, mapped: false }),
        };
        let (buf_id, _) = self.buffers.insert(buf).ok_or(VaError::MaxNumExceeded)?;
        image.buf = buf_id;
        match self.images.insert_with(|id| {
            image.image_id = id;
            Image { image, derived_from }
        }) {
            Some((_, img)) => Ok(img.image),
            None => {
                self.buffers.remove(buf_id);
                Err(VaError::MaxNumExceeded)
            }
        }
    }

    /// vaCreateImage (NV12, P010, P208).
    pub fn create_image(&self, format: &va::VAImageFormat, width: i32, height: i32) -> VaResult<va::VAImage> {
        let kind = ImageKind::of_fourcc(format.fourcc).ok_or(VaError::InvalidImageFormat)?;
        if width <= 0 || height <= 0 || width as u32 > MAX_PICTURE_SIDE || height as u32 > MAX_PICTURE_SIDE {
            return Err(VaError::InvalidParameter(format!("image {width}x{height}")));
        }
        let (w, h) = (width as u32, height as u32);
        // Host memory: any pitch is valid; the tightest 4-byte-aligned one
        // is also what GStreamer's GstVideoInfo assumes for NV12 (1.22 does
        // not read the image's pitches on its vaGetImage path).
        let pitch = align(w * kind.bytes_per_sample, 4);
        let luma = pitch * align(h, 2);
        let size = luma + pitch * align(h, 2) / kind.chroma_rows_div;
        let image = va::VAImage {
            format: kind.va_format(),
            width: w as u16,
            height: h as u16,
            data_size: size,
            num_planes: 2,
            pitches: [pitch, pitch, 0],
            offsets: [0, luma, 0],
            ..Default::default()
        };
        self.insert_image(image, Store::Host(vec![0; size as usize]), None)
    }

    pub fn destroy_image(&self, id: u32) -> VaResult<()> {
        let img = self.images.remove(id).ok_or(VaError::InvalidImage)?;
        self.buffers.remove(img.image.buf);
        if let Some(s) = img.derived_from.and_then(|s| self.surfaces.get(s)) {
            let mut st = s.state.lock();
            if st.derived == Some(id) {
                st.derived = None;
            }
        }
        Ok(())
    }

    /// vaDeriveImage: the CAPTURE buffer itself, when its layout is a VA
    /// image format (linear NV12, P010, NV16 = P208) in one memory plane;
    /// tiled and packed layouts are refused so clients fall back to
    /// vaGetImage.
    pub fn derive_image(&self, surface_id: u32) -> VaResult<va::VAImage> {
        let s = self.surface(surface_id)?;
        let st = s.backed()?;
        let session = &st.backing.session;
        let kind = match session.layout {
            Layout::Nv12 | Layout::P010 | Layout::Nv16 => ImageKind::of_layout(session.layout),
            _ => None,
        };
        let Some(kind) = kind.filter(|_| session.capture_format.planes.len() == 1) else {
            return Err(VaError::OperationFailed(format!(
                "vaDeriveImage: CAPTURE layout {:?} in {} memory planes is not a VA image",
                session.layout,
                session.capture_format.planes.len()
            )));
        };
        if s.state.lock().derived.is_some() {
            return Err(VaError::SurfaceBusy);
        }
        let [y, uv] = session.plane_layout();
        let size = session.capture_sizes(st.index).first().copied().unwrap_or(0);
        let image = va::VAImage {
            format: kind.va_format(),
            width: s.width as u16,
            height: s.height as u16,
            data_size: size,
            num_planes: 2,
            pitches: [y.pitch, uv.pitch, 0],
            offsets: [y.offset, uv.offset, 0],
            ..Default::default()
        };
        let img = self.insert_image(image, Store::Surface { surface: s.clone(), mapped: None }, Some(surface_id))?;
        log::debug!("vaDeriveImage({surface_id:#x}): {}x{} pitches {:?} offsets {:?} size {}", img.width, img.height, img.pitches, img.offsets, img.data_size);
        s.state.lock().derived = Some(img.image_id);
        Ok(img)
    }

    fn rect_ok(s: &Surface, x: i32, y: i32, w: u32, h: u32) -> VaResult<(usize, usize, usize, usize)> {
        if x < 0 || y < 0 || w == 0 || h == 0 || x as u64 + w as u64 > s.width as u64 || y as u64 + h as u64 > s.height as u64 {
            return Err(VaError::InvalidParameter(format!("rectangle {x},{y} {w}x{h} outside a {}x{} surface", s.width, s.height)));
        }
        Ok((x as usize, y as usize, w as usize, h as usize))
    }

    /// vaGetImage: copies a rectangle of the decoded surface into an image.
    pub fn get_image(&self, surface_id: u32, x: i32, y: i32, w: u32, h: u32, image_id: u32) -> VaResult<()> {
        let s = self.surface(surface_id)?;
        let img = self.image(image_id)?;
        if Some(img.image.format.fourcc) != ImageKind::of_layout(s.backed()?.backing.session.layout).map(|k| k.fourcc) || img.derived_from.is_some() {
            return Err(VaError::InvalidImageFormat);
        }
        log::debug!(
            "vaGetImage({surface_id:#x}, {x},{y} {w}x{h}) into {}x{} pitches {:?} offsets {:?}",
            img.image.width,
            img.image.height,
            img.image.pitches,
            img.image.offsets
        );
        let (x, y, w, h) = Self::rect_ok(&s, x, y, w, h)?;
        if w > img.image.width as usize || h > img.image.height as usize {
            return Err(VaError::InvalidParameter("rectangle larger than the image".into()));
        }
        match s.sync(self.settings.sync_timeout) {
            Ok(()) | Err(VaError::DecodingError) => {}
            Err(e) => return Err(e),
        }
        let buf = self.buffer(img.image.buf)?;
        self.transfer(&s, (x, y), &buf, &img.image, w, h, true)
    }

    /// vaPutImage (no scaling).
    #[allow(clippy::too_many_arguments)]
    pub fn put_image(&self, surface_id: u32, image_id: u32, sx: i32, sy: i32, sw: u32, sh: u32, dx: i32, dy: i32, dw: u32, dh: u32) -> VaResult<()> {
        let s = self.surface(surface_id)?;
        let img = self.image(image_id)?;
        let st = s.backed()?;
        let kind = ImageKind::of_layout(st.backing.session.layout)
            .filter(|k| k.fourcc == img.image.format.fourcc && img.derived_from.is_none())
            .ok_or(VaError::InvalidImageFormat)?;
        if sw != dw || sh != dh {
            return Err(VaError::Unimplemented);
        }
        if sx < 0 || sy < 0 || sx as u64 + sw as u64 > img.image.width as u64 || sy as u64 + sh as u64 > img.image.height as u64 {
            return Err(VaError::InvalidParameter("source rectangle outside the image".into()));
        }
        let (dx, dy, w, h) = Self::rect_ok(&s, dx, dy, dw, dh)?;
        st.backing.session.wait_reusable(st.index, self.settings.sync_timeout)?;
        let buf = self.buffer(img.image.buf)?;
        let mut shifted = img.image;
        // point the image planes at the source origin
        let bps = kind.bytes_per_sample;
        shifted.offsets[0] += sy as u32 * shifted.pitches[0] + sx as u32 * bps;
        shifted.offsets[1] += (sy as u32 / kind.chroma_rows_div) * shifted.pitches[1] + (sx as u32 & !1) * bps;
        self.transfer(&s, (dx, dy), &buf, &shifted, w, h, false)
    }

    /// Moves pixels between a surface rectangle at `origin` and an image
    /// (whose plane offsets already point at its rectangle's origin).
    #[allow(clippy::too_many_arguments)]
    fn transfer(&self, s: &Surface, origin: (usize, usize), buf: &Buffer, image: &va::VAImage, w: usize, h: usize, to_image: bool) -> VaResult<()> {
        let st = s.backed()?;
        let session = &st.backing.session;
        let layout = session.layout;
        let planes = session.plane_layout();
        let (x, y) = origin;
        let ok = buf
            .with_bytes_mut(|img| {
                session.with_planes(st.index, !to_image, |mem| {
                    let mut ok = true;
                    for (p, pl) in planes.iter().enumerate() {
                        let Some(cap) = mem.get_mut(pl.object) else { return false };
                        let d = layout.chroma_rows_div();
                        let (cx, cy, ch) = if p == 0 { (x, y, h) } else { (x & !1, y / d, h.div_ceil(d)) };
                        let cw = if p == 0 { w } else { (w + (x & 1)).div_ceil(2) * 2 };
                        ok &= transfer_plane(layout, pl, cap, (cx, cy), img, image.offsets[p] as usize, image.pitches[p] as usize, cw, ch, to_image);
                    }
                    ok
                })
            })
            .ok_or(VaError::InvalidImage)??;
        if !ok {
            return Err(VaError::InvalidParameter("image too small for the rectangle".into()));
        }
        #[cfg(feature = "bench-counters")]
        crate::v4l2::counters::add_picture(w * h * 3 / 2 * layout.bit_depth().div_ceil(8) as usize);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn tiled_offsets() {
        let pl = PlaneLayout { object: 0, offset: 0, pitch: 64 };
        assert_eq!(offset_in(Layout::Nv12Tiled32, &pl, 0, 0), 0);
        assert_eq!(offset_in(Layout::Nv12Tiled32, &pl, 31, 0), 31);
        assert_eq!(offset_in(Layout::Nv12Tiled32, &pl, 0, 1), 32);
        assert_eq!(offset_in(Layout::Nv12Tiled32, &pl, 32, 0), 1024);
        assert_eq!(offset_in(Layout::Nv12Tiled32, &pl, 0, 32), 2048);
    }
    #[test]
    fn tiled_round_trip() {
        // 64x64 picture in 4 tiles: write linear -> tiled -> linear.
        let pl = PlaneLayout { object: 0, offset: 0, pitch: 64 };
        let src: Vec<u8> = (0..64 * 64).map(|i| (i * 7 % 251) as u8).collect();
        let mut tiled = vec![0u8; 4096];
        let mut img = src.clone();
        assert!(copy_rect(Layout::Nv12Tiled32, &pl, &mut tiled, (0, 0), &mut img, 0, 64, (0, 0), 64, 64, false));
        assert_ne!(tiled, src);
        let mut back = vec![0u8; 4096];
        assert!(copy_rect(Layout::Nv12Tiled32, &pl, &mut tiled, (0, 0), &mut back, 0, 64, (0, 0), 64, 64, true));
        assert_eq!(back, src);
        // sub-rectangle straddling tiles
        let mut sub = vec![0u8; 20 * 40];
        assert!(copy_rect(Layout::Nv12Tiled32, &pl, &mut tiled, (20, 10), &mut sub, 0, 20, (0, 0), 20, 40, true));
        for r in 0..40 {
            assert_eq!(&sub[r * 20..r * 20 + 20], &src[(10 + r) * 64 + 20..(10 + r) * 64 + 40]);
        }
    }
    #[test]
    fn tiled4_offsets() {
        // NV12_4L4: 4x4 tiles of 16 bytes; a tile row spans 4 lines.
        let pl = PlaneLayout { object: 0, offset: 0, pitch: 16 };
        assert_eq!(offset_in(Layout::Nv12Tiled4, &pl, 3, 0), 3);
        assert_eq!(offset_in(Layout::Nv12Tiled4, &pl, 0, 1), 4);
        assert_eq!(offset_in(Layout::Nv12Tiled4, &pl, 4, 0), 16);
        assert_eq!(offset_in(Layout::Nv12Tiled4, &pl, 0, 4), 64);
        assert_eq!(offset_in(Layout::Nv12Tiled4, &pl, 5, 6), 64 + 16 + 2 * 4 + 1);
    }
    #[test]
    fn packed10_round_trip() {
        // 8 samples 0x3ff, 1, 2, ... packed LSB first: 4 samples in 5 bytes.
        let vals: [u16; 8] = [0x3ff, 1, 2, 0x155, 0x2aa, 7, 0x200, 9];
        let mut row = [0u8; 10];
        for (i, v) in vals.iter().enumerate() {
            let bit = i * 10;
            let w = (*v as u32) << (bit % 8);
            row[bit / 8] |= w as u8;
            row[bit / 8 + 1] |= (w >> 8) as u8;
        }
        let mut img = [0u8; 10];
        assert!(packed10_row(&mut row, 3, &mut img, 5, true));
        for i in 0..5 {
            assert_eq!(u16::from_le_bytes([img[2 * i], img[2 * i + 1]]), vals[3 + i] << 6);
        }
        let before = row;
        assert!(packed10_row(&mut row, 3, &mut img, 5, false));
        assert_eq!(row, before);
        img[0..2].copy_from_slice(&(0x123u16 << 6).to_le_bytes());
        assert!(packed10_row(&mut row, 3, &mut img, 1, false));
        let mut one = [0u8; 2];
        assert!(packed10_row(&mut row, 3, &mut one, 1, true));
        assert_eq!(u16::from_le_bytes(one), 0x123 << 6);
        let mut back = [0u8; 4];
        assert!(packed10_row(&mut row, 2, &mut back, 2, true));
        assert_eq!(u16::from_le_bytes([back[0], back[1]]), 2 << 6, "neighbours untouched");
        assert_eq!(u16::from_le_bytes([back[2], back[3]]), 0x123 << 6);
        assert!(!packed10_row(&mut row, 6, &mut [0u8; 8], 4, true), "past the row");
    }
    #[test]
    fn p010_and_nv16_planes() {
        let pl = PlaneLayout { object: 0, offset: 0, pitch: 8 };
        let mut cap: Vec<u8> = (0..32).collect();
        let mut img = vec![0u8; 4 * 2];
        assert!(transfer_plane(Layout::P010, &pl, &mut cap, (1, 1), &mut img, 0, 4, 2, 2, true));
        assert_eq!(img, [10, 11, 12, 13, 18, 19, 20, 21]);
    }
    #[test]
    fn out_of_bounds_is_refused() {
        let pl = PlaneLayout { object: 0, offset: 0, pitch: 64 };
        let mut cap = vec![0u8; 64 * 10];
        let mut img = vec![0u8; 64 * 64];
        assert!(!copy_rect(Layout::Nv12, &pl, &mut cap, (0, 0), &mut img, 0, 64, (0, 0), 64, 11, true));
    }
}
