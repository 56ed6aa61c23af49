//! OUTPUT/CAPTURE formats: G/S/TRY_FMT and the personality's CAPTURE layout.
use super::*;

/// The first codec the personality offers (ENUM_FMT index 0): the OUTPUT
/// format of a new file handle.
pub(super) fn default_codec(p: Personality) -> &'static dyn Codec {
    crate::codecs::offered(p).next().expect("a personality offers a codec")
}

pub(super) fn default_out_fmt(p: Personality) -> Fmt {
    Fmt { color: [0; 4], fourcc: default_codec(p).fourcc(), width: 48, height: 48, bytesperline: 0, sizeimage: 48 * 48 * 3 / 2 + 1024 }
}

/// Decoded (CAPTURE) format for a coded size, as the drivers compute it.
pub(super) fn cap_fmt_for(p: Personality, fourcc: u32, w: u32, h: u32) -> Fmt {
    let (_, _, sw, _, _, sh) = p.frmsize();
    match p {
        Personality::Cedrus => {
            let w = align(w as usize, 32) as u32;
            let h = align(h as usize, 32) as u32;
            let l = Layout::Nv12Tiled32 { stride: w as usize, height: h as usize };
            Fmt { color: [0; 4], fourcc, width: w, height: h, bytesperline: w, sizeimage: l.size() as u32 }
        }
        _ => {
            let w = align(w as usize, sw as usize) as u32;
            let h = align(h as usize, sh as usize) as u32;
            let mbs = w.div_ceil(16) * h.div_ceil(16);
            // + motion vector storage appended by the hardware
            let extra = if p == Personality::HantroG1 { 64 * mbs } else { 128 * mbs };
            Fmt { color: [0; 4], fourcc, width: w, height: h, bytesperline: w, sizeimage: w * h * 3 / 2 + extra }
        }
    }
}

pub(super) fn layout_of(f: &Fmt) -> Layout {
    if f.fourcc == PIX_FMT_NV12_32L32 {
        Layout::Nv12Tiled32 { stride: f.bytesperline as usize, height: f.height as usize }
    } else {
        Layout::Nv12 { stride: f.bytesperline as usize, height: f.height as usize }
    }
}

pub(super) fn write_fmt(p: Personality, f: &mut v4l2_format, m: &Fmt) {
    // SAFETY: v4l2_format.fmt is a union of plain-integer structs; the queue type (checked against the personality) selects pix_mp or pix.
    unsafe {
        if p.mplane() {
            let mp = &mut f.fmt.pix_mp;
            *mp = v4l2_pix_format_mplane::default();
            mp.width = m.width;
            mp.height = m.height;
            mp.pixelformat = m.fourcc;
            mp.field = v4l2_field_V4L2_FIELD_NONE;
            mp.num_planes = 1;
            mp.plane_fmt[0].sizeimage = m.sizeimage;
            mp.plane_fmt[0].bytesperline = m.bytesperline;
            mp.colorspace = m.color[0];
            mp.xfer_func = m.color[1] as u8;
            mp.__bindgen_anon_1.ycbcr_enc = m.color[2] as u8;
            mp.quantization = m.color[3] as u8;
        } else {
            let sp = &mut f.fmt.pix;
            *sp = v4l2_pix_format::default();
            sp.width = m.width;
            sp.height = m.height;
            sp.pixelformat = m.fourcc;
            sp.field = v4l2_field_V4L2_FIELD_NONE;
            sp.sizeimage = m.sizeimage;
            sp.bytesperline = m.bytesperline;
            sp.colorspace = m.color[0];
            sp.xfer_func = m.color[1];
            sp.__bindgen_anon_1.ycbcr_enc = m.color[2];
            sp.quantization = m.color[3];
        }
    }
}

pub(super) fn read_color(p: Personality, f: &v4l2_format) -> [u32; 4] {
    // SAFETY: v4l2_format.fmt is a union of plain-integer structs; the queue type (checked against the personality) selects pix_mp or pix.
    unsafe {
        if p.mplane() {
            let mp = &f.fmt.pix_mp;
            [mp.colorspace, mp.xfer_func as u32, mp.__bindgen_anon_1.ycbcr_enc as u32, mp.quantization as u32]
        } else {
            let sp = &f.fmt.pix;
            [sp.colorspace, sp.xfer_func, sp.__bindgen_anon_1.ycbcr_enc, sp.quantization]
        }
    }
}

pub(super) fn read_fmt(p: Personality, f: &v4l2_format) -> (u32, u32, u32, u32) {
    // SAFETY: v4l2_format.fmt is a union of plain-integer structs; the queue type (checked against the personality) selects pix_mp or pix.
    unsafe {
        if p.mplane() {
            let mp = &f.fmt.pix_mp;
            (mp.width, mp.height, mp.pixelformat, mp.plane_fmt[0].sizeimage)
        } else {
            let sp = &f.fmt.pix;
            (sp.width, sp.height, sp.pixelformat, sp.sizeimage)
        }
    }
}

impl Sim {
    pub(super) fn fmt_ioctl(&self, id: u32, req: u64, f: &mut v4l2_format) -> R<c_int> {
        let p = self.persona();
        let mut st = self.lock();
        let c = st.ctxs.get_mut(&id).unwrap();
        let is_out = f.type_ == p.out_type();
        if !is_out && f.type_ != p.cap_type() {
            return Err(libc::EINVAL);
        }
        if req == VIDIOC_G_FMT {
            write_fmt(p, f, if is_out { &c.out_fmt } else { &c.cap_fmt });
            return Ok(0);
        }
        let (w, h, fourcc, size) = read_fmt(p, f);
        let (minw, maxw, _sw, minh, maxh, _sh) = p.frmsize();
        let new = if is_out {
            let w = align(w.clamp(minw, maxw) as usize, 16) as u32;
            let h = align(h.clamp(minh, maxh) as usize, 16) as u32;
            let size = if size == 0 { w * h * 3 / 2 + 1024 } else { size };
            // an unknown coded format is replaced by the default one
            let codec = crate::codecs::by_fourcc(p, fourcc).unwrap_or(default_codec(p));
            Fmt { color: read_color(p, f), fourcc: codec.fourcc(), width: w, height: h, bytesperline: 0, sizeimage: size.max(4096) }
        } else {
            let _ = (w, h);
            // decoded format follows the coded format (hantro_try_fmt)
            let mut cf = cap_fmt_for(p, p.cap_fourcc(), c.out_fmt.width, c.out_fmt.height);
            cf.color = c.out_fmt.color;
            cf
        };
        if req == VIDIOC_TRY_FMT {
            write_fmt(p, f, &new);
            return Ok(0);
        }
        if is_out {
            if !c.out_q.bufs.is_empty() {
                return Err(libc::EBUSY);
            }
            if !c.cap_q.bufs.is_empty() && (new.width != c.out_fmt.width || new.height != c.out_fmt.height) {
                return Err(libc::EBUSY);
            }
            if new.fourcc != c.out_fmt.fourcc {
                // another codec: a fresh model
                let codec = crate::codecs::by_fourcc(p, new.fourcc).unwrap_or(default_codec(p));
                c.engine = Arc::new(Mutex::new(CodecCtx::new(codec, p)));
            }
            c.out_fmt = new;
            // a new coded format resets the decoded format
            c.cap_fmt = cap_fmt_for(p, p.cap_fourcc(), new.width, new.height);
            c.cap_fmt.color = new.color;
        } else {
            if !c.cap_q.bufs.is_empty() {
                return Err(libc::EBUSY);
            }
            c.cap_fmt = new;
        }
        write_fmt(p, f, &new);
        Ok(0)
    }
}
