//! VA images: creation, vaGetImage/vaPutImage copies between surfaces and
//! images (linear and tiled CAPTURE layouts), vaDeriveImage zero-copy views.
use super::buffer::{Buffer, BufferInner, Store};
use super::surface::Surface;
use super::{Driver, VaError, VaResult};
use crate::ffi::va;
use crate::v4l2::formats::Layout;
use crate::v4l2::session::PlaneLayout;
use parking_lot::Mutex;
use std::sync::Arc;

pub struct Image {
    pub image: va::VAImage,
    pub derived_from: Option<u32>,
}

fn nv12_format() -> va::VAImageFormat {
    va::VAImageFormat { fourcc: va::VA_FOURCC_NV12, byte_order: va::VA_LSB_FIRST, bits_per_pixel: 12, ..Default::default() }
}

pub fn formats() -> Vec<va::VAImageFormat> {
    vec![nv12_format()]
}

fn align(v: u32, a: u32) -> u32 {
    v.div_ceil(a) * a
}

/// Byte offset of pixel (x, y) of a plane in a CAPTURE layout.
fn offset_in(layout: Layout, pl: &PlaneLayout, x: usize, y: usize) -> usize {
    match layout {
        Layout::Nv12 => pl.offset as usize + y * pl.pitch as usize + x,
        Layout::Nv12Tiled32 => {
            // 32x32-byte tiles, row-major; each tile row-major inside.
            let tiles_per_row = pl.pitch as usize / 32;
            let tile = (y / 32) * tiles_per_row + x / 32;
            pl.offset as usize + tile * 1024 + (y % 32) * 32 + (x % 32)
        }
    }
}

/// Copies a `w`x`h` byte rectangle between a CAPTURE plane and a linear image
/// plane. `to_image` picks the direction. Bounds-checked: returns false if a
/// row would fall outside either buffer.
fn copy_rect(layout: Layout, pl: &PlaneLayout, cap: &mut [u8], (sx, sy): (usize, usize), img: &mut [u8], img_off: usize, img_pitch: usize, (dx, dy): (usize, usize), w: usize, h: usize, to_image: bool) -> bool {
    for row in 0..h {
        let mut x = 0;
        while x < w {
            // contiguous run in the CAPTURE layout
            let run = match layout {
                Layout::Nv12 => w - x,
                Layout::Nv12Tiled32 => (32 - (sx + x) % 32).min(w - x),
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

impl Driver {
    pub fn image(&self, id: u32) -> VaResult<Arc<Image>> {
        self.images.get(id).ok_or(VaError::InvalidImage)
    }

    fn insert_image(&self, mut image: va::VAImage, store: Store, derived_from: Option<u32>) -> VaResult<va::VAImage> {
        let buf = Buffer { buf_type: va::VAImageBufferType, elem_size: image.data_size, context: 0, inner: Mutex::new(BufferInner { num_elements: 1, store, mapped: false }) };
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

    /// vaCreateImage (NV12).
    pub fn create_image(&self, format: &va::VAImageFormat, width: i32, height: i32) -> VaResult<va::VAImage> {
        if format.fourcc != va::VA_FOURCC_NV12 {
            return Err(VaError::InvalidImageFormat);
        }
        if width <= 0 || height <= 0 || width > 16384 || height > 16384 {
            return Err(VaError::InvalidParameter(format!("image {width}x{height}")));
        }
        let (w, h) = (width as u32, height as u32);
        // Host memory: any pitch is valid; the tightest 4-byte-aligned one
        // is also what GStreamer's GstVideoInfo assumes for NV12 (1.22 does
        // not read the image's pitches on its vaGetImage path).
        let pitch = align(w, 4);
        let luma = pitch * align(h, 2);
        let size = luma + pitch * align(h, 2) / 2;
        let image = va::VAImage {
            format: nv12_format(),
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

    /// vaDeriveImage: the CAPTURE buffer itself, when its layout is linear
    /// NV12 in one memory plane; tiled layouts are refused so clients fall
    /// back to vaGetImage.
    pub fn derive_image(&self, surface_id: u32) -> VaResult<va::VAImage> {
        let s = self.surface(surface_id)?;
        let session = &s.backing.session;
        if session.layout != Layout::Nv12 || session.capture_format.planes.len() != 1 {
            return Err(VaError::OperationFailed("vaDeriveImage: CAPTURE layout is not linear single-plane NV12".into()));
        }
        if s.state.lock().derived.is_some() {
            return Err(VaError::SurfaceBusy);
        }
        let [y, uv] = session.plane_layout();
        let size = session.capture_sizes(s.index).first().copied().unwrap_or(0);
        let image = va::VAImage {
            format: nv12_format(),
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
        if img.image.format.fourcc != va::VA_FOURCC_NV12 || img.derived_from.is_some() {
            return Err(VaError::InvalidImageFormat);
        }
        log::debug!("vaGetImage({surface_id:#x}, {x},{y} {w}x{h}) into {}x{} pitches {:?} offsets {:?}", img.image.width, img.image.height, img.image.pitches, img.image.offsets);
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
        if img.image.format.fourcc != va::VA_FOURCC_NV12 || img.derived_from.is_some() {
            return Err(VaError::InvalidImageFormat);
        }
        if sw != dw || sh != dh {
            return Err(VaError::Unimplemented);
        }
        if sx < 0 || sy < 0 || sx as u64 + sw as u64 > img.image.width as u64 || sy as u64 + sh as u64 > img.image.height as u64 {
            return Err(VaError::InvalidParameter("source rectangle outside the image".into()));
        }
        let (dx, dy, w, h) = Self::rect_ok(&s, dx, dy, dw, dh)?;
        s.backing.session.wait_reusable(s.index, self.settings.sync_timeout)?;
        let buf = self.buffer(img.image.buf)?;
        let mut shifted = img.image;
        // point the image planes at the source origin
        shifted.offsets[0] += sy as u32 * shifted.pitches[0] + sx as u32;
        shifted.offsets[1] += (sy as u32 / 2) * shifted.pitches[1] + (sx as u32 & !1);
        self.transfer(&s, (dx, dy), &buf, &shifted, w, h, false)
    }

    /// Moves pixels between a surface rectangle at `origin` and an image
    /// (whose plane offsets already point at its rectangle's origin).
    #[allow(clippy::too_many_arguments)]
    fn transfer(&self, s: &Surface, origin: (usize, usize), buf: &Buffer, image: &va::VAImage, w: usize, h: usize, to_image: bool) -> VaResult<()> {
        let session = &s.backing.session;
        let layout = session.layout;
        let planes = session.plane_layout();
        let (x, y) = origin;
        let ok = buf
            .with_bytes_mut(|img| {
                session.with_planes(s.index, !to_image, |mem| {
                    let mut ok = true;
                    for (p, pl) in planes.iter().enumerate() {
                        let Some(cap) = mem.get_mut(pl.object) else { return false };
                        let (cx, cy, ch) = if p == 0 { (x, y, h) } else { (x & !1, y / 2, h.div_ceil(2)) };
                        let cw = if p == 0 { w } else { (w + (x & 1)).div_ceil(2) * 2 };
                        ok &= copy_rect(layout, pl, cap, (cx, cy), img, image.offsets[p] as usize, image.pitches[p] as usize, (0, 0), cw, ch, to_image);
                    }
                    ok
                })
            })
            .ok_or(VaError::InvalidImage)??;
        if !ok {
            return Err(VaError::InvalidParameter("image too small for the rectangle".into()));
        }
        #[cfg(feature = "bench-counters")]
        crate::v4l2::counters::add_picture(w * h * 3 / 2);
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
    fn out_of_bounds_is_refused() {
        let pl = PlaneLayout { object: 0, offset: 0, pitch: 64 };
        let mut cap = vec![0u8; 64 * 10];
        let mut img = vec![0u8; 64 * 64];
        assert!(!copy_rect(Layout::Nv12, &pl, &mut cap, (0, 0), &mut img, 0, 64, (0, 0), 64, 11, true));
    }
}
