//! A V4L2 video node: capabilities, formats, controls and buffer queues,
//! single- or multi-planar, behind one API.
use super::ioctl::{ioctl, ior, iow, iowr, last_errno, V4l2Error, V4l2Result};
use crate::ffi::v4l2 as k;
use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

pub const VIDIOC_QUERYCAP: libc::c_ulong = ior::<k::v4l2_capability>(b'V', 0);
pub const VIDIOC_ENUM_FMT: libc::c_ulong = iowr::<k::v4l2_fmtdesc>(b'V', 2);
pub const VIDIOC_G_FMT: libc::c_ulong = iowr::<k::v4l2_format>(b'V', 4);
pub const VIDIOC_S_FMT: libc::c_ulong = iowr::<k::v4l2_format>(b'V', 5);
pub const VIDIOC_REQBUFS: libc::c_ulong = iowr::<k::v4l2_requestbuffers>(b'V', 8);
pub const VIDIOC_QUERYBUF: libc::c_ulong = iowr::<k::v4l2_buffer>(b'V', 9);
pub const VIDIOC_QBUF: libc::c_ulong = iowr::<k::v4l2_buffer>(b'V', 15);
pub const VIDIOC_EXPBUF: libc::c_ulong = iowr::<k::v4l2_exportbuffer>(b'V', 16);
pub const VIDIOC_DQBUF: libc::c_ulong = iowr::<k::v4l2_buffer>(b'V', 17);
pub const VIDIOC_STREAMON: libc::c_ulong = iow::<libc::c_int>(b'V', 18);
pub const VIDIOC_STREAMOFF: libc::c_ulong = iow::<libc::c_int>(b'V', 19);
pub const VIDIOC_QUERYMENU: libc::c_ulong = iowr::<k::v4l2_querymenu>(b'V', 37);
pub const VIDIOC_G_EXT_CTRLS: libc::c_ulong = iowr::<k::v4l2_ext_controls>(b'V', 71);
pub const VIDIOC_S_EXT_CTRLS: libc::c_ulong = iowr::<k::v4l2_ext_controls>(b'V', 72);
pub const VIDIOC_ENUM_FRAMESIZES: libc::c_ulong = iowr::<k::v4l2_frmsizeenum>(b'V', 74);
pub const VIDIOC_CREATE_BUFS: libc::c_ulong = iowr::<k::v4l2_create_buffers>(b'V', 92);
pub const VIDIOC_QUERY_EXT_CTRL: libc::c_ulong = iowr::<k::v4l2_query_ext_ctrl>(b'V', 103);

const BUF_OUTPUT: u32 = 2;
const BUF_CAPTURE: u32 = 1;
const BUF_OUTPUT_MPLANE: u32 = 10;
const BUF_CAPTURE_MPLANE: u32 = 9;
const MEMORY_MMAP: u32 = 1;
pub const MAX_PLANES: usize = 8;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Queue {
    /// Coded data in (V4L2 OUTPUT).
    Output,
    /// Decoded pictures out (V4L2 CAPTURE).
    Capture,
}

#[derive(Clone, Debug, Default)]
pub struct Caps {
    pub driver: String,
    pub card: String,
    pub bus_info: String,
    pub device_caps: u32,
}

pub const CAP_VIDEO_M2M_MPLANE: u32 = 0x4000;
pub const CAP_VIDEO_M2M: u32 = 0x8000;
pub const CAP_STREAMING: u32 = 0x0400_0000;
pub const CAP_DEVICE_CAPS: u32 = 0x8000_0000;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PlaneFormat {
    pub bytesperline: u32,
    pub sizeimage: u32,
}

/// A negotiated format: pixel format, size and per-memory-plane layout.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Format {
    pub fourcc: u32,
    pub width: u32,
    pub height: u32,
    pub planes: Vec<PlaneFormat>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FrameSizes {
    pub min_width: u32,
    pub max_width: u32,
    pub step_width: u32,
    pub min_height: u32,
    pub max_height: u32,
    pub step_height: u32,
}

/// Memory plane of a buffer: its length and mmap offset.
#[derive(Clone, Copy, Debug, Default)]
pub struct BufPlane {
    pub length: u32,
    pub mem_offset: u32,
}

#[derive(Clone, Copy, Debug)]
pub struct Dequeued {
    pub index: u32,
    pub flags: u32,
    pub timestamp_ns: u64,
    pub bytesused: u32,
}

pub struct VideoNode {
    fd: OwnedFd,
    pub path: String,
    pub mplane: bool,
}

pub fn open_nonblock(path: &str) -> V4l2Result<OwnedFd> {
    let c = CString::new(path).map_err(|_| V4l2Error::Unsupported(format!("bad path {path:?}")))?;
    // SAFETY: `c` is a valid NUL-terminated path; flags are constants.
    let fd = unsafe { libc::open(c.as_ptr(), libc::O_RDWR | libc::O_NONBLOCK | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(V4l2Error::Sys { call: "open", errno: last_errno() });
    }
    // SAFETY: open returned a fresh fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn zeroed<T>() -> T {
    // SAFETY: only used for the kernel's plain-old-data uAPI structs (and
    // arrays of them), for which all-zero bytes are a valid value.
    unsafe { std::mem::zeroed() }
}

pub fn timestamp_to_timeval(ns: u64) -> k::timeval {
    k::timeval { tv_sec: (ns / 1_000_000_000) as _, tv_usec: ((ns % 1_000_000_000) / 1000) as _ }
}

pub fn timeval_to_ns(tv: &k::timeval) -> u64 {
    (tv.tv_sec as u64).wrapping_mul(1_000_000_000).wrapping_add((tv.tv_usec as u64) * 1000)
}

impl VideoNode {
    /// Opens the node and decides single/multi-planar from its capabilities.
    pub fn open(path: &str) -> V4l2Result<(VideoNode, Caps)> {
        let fd = open_nonblock(path)?;
        let caps = querycap(fd.as_raw_fd())?;
        let dc = caps.device_caps;
        if dc & CAP_STREAMING == 0 || dc & (CAP_VIDEO_M2M | CAP_VIDEO_M2M_MPLANE) == 0 {
            return Err(V4l2Error::Unsupported(format!("{path}: not a streaming mem2mem device (caps {dc:#x})")));
        }
        let mplane = dc & CAP_VIDEO_M2M_MPLANE != 0;
        Ok((VideoNode { fd, path: path.to_string(), mplane }, caps))
    }

    pub fn raw(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    fn buf_type(&self, q: Queue) -> u32 {
        match (q, self.mplane) {
            (Queue::Output, true) => BUF_OUTPUT_MPLANE,
            (Queue::Output, false) => BUF_OUTPUT,
            (Queue::Capture, true) => BUF_CAPTURE_MPLANE,
            (Queue::Capture, false) => BUF_CAPTURE,
        }
    }

    pub fn enum_formats(&self, q: Queue) -> Vec<u32> {
        let mut out = Vec::new();
        for index in 0..64 {
            let mut d: k::v4l2_fmtdesc = zeroed();
            d.index = index;
            d.type_ = self.buf_type(q);
            if ioctl(self.raw(), VIDIOC_ENUM_FMT, "VIDIOC_ENUM_FMT", &mut d).is_err() {
                break; // EINVAL ends the enumeration
            }
            out.push(d.pixelformat);
        }
        out
    }

    /// [`VideoNode::enum_formats`] for discovery: only EINVAL ends the
    /// list; any other error is returned, so that a transient failure
    /// cannot silently drop the formats after it (and their profiles).
    pub fn enum_formats_strict(&self, q: Queue) -> V4l2Result<Vec<u32>> {
        let mut out = Vec::new();
        for index in 0..64 {
            let mut d: k::v4l2_fmtdesc = zeroed();
            d.index = index;
            d.type_ = self.buf_type(q);
            match ioctl(self.raw(), VIDIOC_ENUM_FMT, "VIDIOC_ENUM_FMT", &mut d) {
                Ok(()) => out.push(d.pixelformat),
                Err(e) if e.errno() == Some(libc::EINVAL) => break,
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    pub fn frame_sizes(&self, fourcc: u32) -> Option<FrameSizes> {
        let mut f: k::v4l2_frmsizeenum = zeroed();
        f.index = 0;
        f.pixel_format = fourcc;
        ioctl(self.raw(), VIDIOC_ENUM_FRAMESIZES, "VIDIOC_ENUM_FRAMESIZES", &mut f).ok()?;
        // SAFETY: the kernel filled the union member named by type_.
        unsafe {
            match f.type_ {
                1 => {
                    let d = f.__bindgen_anon_1.discrete;
                    Some(FrameSizes { min_width: d.width, max_width: d.width, step_width: 1, min_height: d.height, max_height: d.height, step_height: 1 })
                }
                _ => {
                    let s = f.__bindgen_anon_1.stepwise;
                    Some(FrameSizes {
                        min_width: s.min_width,
                        max_width: s.max_width,
                        step_width: s.step_width.max(1),
                        min_height: s.min_height,
                        max_height: s.max_height,
                        step_height: s.step_height.max(1),
                    })
                }
            }
        }
    }

    fn format_from(&self, f: &k::v4l2_format) -> Format {
        // SAFETY: the union member matches the buffer type we asked for.
        unsafe {
            if self.mplane {
                let p = &f.fmt.pix_mp;
                let n = (p.num_planes as usize).min(MAX_PLANES);
                Format {
                    fourcc: p.pixelformat,
                    width: p.width,
                    height: p.height,
                    planes: (0..n).map(|i| PlaneFormat { bytesperline: p.plane_fmt[i].bytesperline, sizeimage: p.plane_fmt[i].sizeimage }).collect(),
                }
            } else {
                let p = &f.fmt.pix;
                Format {
                    fourcc: p.pixelformat,
                    width: p.width,
                    height: p.height,
                    planes: vec![PlaneFormat { bytesperline: p.bytesperline, sizeimage: p.sizeimage }],
                }
            }
        }
    }

    fn raw_format(&self, q: Queue, fourcc: u32, width: u32, height: u32, sizeimage: u32) -> k::v4l2_format {
        let mut f: k::v4l2_format = zeroed();
        f.type_ = self.buf_type(q);
        // SAFETY: writing plain integers into the union member for this type.
        unsafe {
            if self.mplane {
                f.fmt.pix_mp.pixelformat = fourcc;
                f.fmt.pix_mp.width = width;
                f.fmt.pix_mp.height = height;
                f.fmt.pix_mp.num_planes = 1;
                f.fmt.pix_mp.plane_fmt[0].sizeimage = sizeimage;
            } else {
                f.fmt.pix.pixelformat = fourcc;
                f.fmt.pix.width = width;
                f.fmt.pix.height = height;
                f.fmt.pix.sizeimage = sizeimage;
            }
        }
        f
    }

    pub fn set_format(&self, q: Queue, fourcc: u32, width: u32, height: u32, sizeimage: u32) -> V4l2Result<Format> {
        let mut f = self.raw_format(q, fourcc, width, height, sizeimage);
        ioctl(self.raw(), VIDIOC_S_FMT, "VIDIOC_S_FMT", &mut f)?;
        Ok(self.format_from(&f))
    }

    pub fn get_format(&self, q: Queue) -> V4l2Result<Format> {
        let mut f: k::v4l2_format = zeroed();
        f.type_ = self.buf_type(q);
        ioctl(self.raw(), VIDIOC_G_FMT, "VIDIOC_G_FMT", &mut f)?;
        Ok(self.format_from(&f))
    }

    pub fn query_ext_ctrl(&self, id: u32) -> Option<k::v4l2_query_ext_ctrl> {
        let mut q: k::v4l2_query_ext_ctrl = zeroed();
        q.id = id;
        ioctl(self.raw(), VIDIOC_QUERY_EXT_CTRL, "VIDIOC_QUERY_EXT_CTRL", &mut q).ok()?;
        Some(q)
    }

    /// The valid indices of a menu control (none if the control does not
    /// exist). EINVAL marks a skipped entry; any other error (EBUSY, ENOMEM,
    /// ...) fails the probe rather than silently dropping, say, the High
    /// profile for the whole display.
    pub fn menu_items(&self, id: u32) -> V4l2Result<Vec<i64>> {
        let Some(q) = self.query_ext_ctrl(id) else { return Ok(Vec::new()) };
        let mut out = Vec::new();
        let mut i = q.minimum;
        while i <= q.maximum && out.len() < 64 {
            let mut m: k::v4l2_querymenu = zeroed();
            m.id = id;
            m.index = i as u32;
            match ioctl(self.raw(), VIDIOC_QUERYMENU, "VIDIOC_QUERYMENU", &mut m) {
                Ok(_) => out.push(i),
                Err(e) if e.errno() == Some(libc::EINVAL) => {}
                Err(e) => return Err(e),
            }
            i += 1;
        }
        Ok(out)
    }

    /// S_EXT_CTRLS, into a request when `request_fd` is given.
    pub fn set_controls(&self, ctrls: &mut [k::v4l2_ext_control], request_fd: Option<RawFd>) -> V4l2Result<()> {
        let mut c: k::v4l2_ext_controls = zeroed();
        c.__bindgen_anon_1.which = if request_fd.is_some() { k::V4L2_CTRL_WHICH_REQUEST_VAL } else { 0 };
        c.request_fd = request_fd.unwrap_or(0);
        c.count = ctrls.len() as u32;
        c.controls = ctrls.as_mut_ptr();
        ioctl(self.raw(), VIDIOC_S_EXT_CTRLS, "VIDIOC_S_EXT_CTRLS", &mut c).map_err(|e| {
            log::error!("{e} (control index {} of {}, id {:#x})", c.error_idx, ctrls.len(), ctrls.get(c.error_idx as usize).map(|c| c.id).unwrap_or(0));
            e
        })
    }

    /// REQBUFS: (buffers allocated, queue capability flags).
    pub fn request_buffers(&self, q: Queue, count: u32) -> V4l2Result<(u32, u32)> {
        let mut r: k::v4l2_requestbuffers = zeroed();
        r.count = count;
        r.type_ = self.buf_type(q);
        r.memory = MEMORY_MMAP;
        ioctl(self.raw(), VIDIOC_REQBUFS, "VIDIOC_REQBUFS", &mut r)?;
        Ok((r.count, r.capabilities))
    }

    /// CREATE_BUFS with the queue's current format: (first index, count).
    pub fn create_buffers(&self, q: Queue, count: u32) -> V4l2Result<(u32, u32)> {
        let mut c: k::v4l2_create_buffers = zeroed();
        c.count = count;
        c.memory = MEMORY_MMAP;
        c.format.type_ = self.buf_type(q);
        ioctl(self.raw(), VIDIOC_G_FMT, "VIDIOC_G_FMT", &mut c.format)?;
        ioctl(self.raw(), VIDIOC_CREATE_BUFS, "VIDIOC_CREATE_BUFS", &mut c)?;
        Ok((c.index, c.count))
    }

    pub fn query_buffer(&self, q: Queue, index: u32) -> V4l2Result<Vec<BufPlane>> {
        let mut planes: [k::v4l2_plane; MAX_PLANES] = zeroed();
        let mut b: k::v4l2_buffer = zeroed();
        b.index = index;
        b.type_ = self.buf_type(q);
        b.memory = MEMORY_MMAP;
        if self.mplane {
            b.length = MAX_PLANES as u32;
            b.m.planes = planes.as_mut_ptr();
        }
        ioctl(self.raw(), VIDIOC_QUERYBUF, "VIDIOC_QUERYBUF", &mut b)?;
        // SAFETY: union members per the buffer type / memory we asked for.
        Ok(unsafe {
            if self.mplane {
                planes[..(b.length as usize).min(MAX_PLANES)].iter().map(|p| BufPlane { length: p.length, mem_offset: p.m.mem_offset }).collect()
            } else {
                vec![BufPlane { length: b.length, mem_offset: b.m.offset }]
            }
        })
    }

    /// QBUF an MMAP buffer. `bytesused` is per plane (OUTPUT: one plane).
    pub fn queue_buffer(&self, q: Queue, index: u32, bytesused: &[u32], timestamp_ns: u64, request_fd: Option<RawFd>, flags: u32) -> V4l2Result<()> {
        let mut planes: [k::v4l2_plane; MAX_PLANES] = zeroed();
        let mut b: k::v4l2_buffer = zeroed();
        b.index = index;
        b.type_ = self.buf_type(q);
        b.memory = MEMORY_MMAP;
        b.flags = flags;
        b.field = 1; // V4L2_FIELD_NONE
        b.timestamp = timestamp_to_timeval(timestamp_ns);
        if let Some(r) = request_fd {
            b.flags |= k::V4L2_BUF_FLAG_REQUEST_FD;
            b.__bindgen_anon_1.request_fd = r;
        }
        if self.mplane {
            let n = bytesused.len().clamp(1, MAX_PLANES);
            for (p, used) in planes.iter_mut().zip(bytesused) {
                p.bytesused = *used;
            }
            b.length = n as u32;
            b.m.planes = planes.as_mut_ptr();
        } else {
            b.bytesused = bytesused.first().copied().unwrap_or(0);
        }
        ioctl(self.raw(), VIDIOC_QBUF, "VIDIOC_QBUF", &mut b)
    }

    /// DQBUF without blocking: None when nothing is ready (EAGAIN).
    pub fn dequeue_buffer(&self, q: Queue) -> V4l2Result<Option<Dequeued>> {
        let mut planes: [k::v4l2_plane; MAX_PLANES] = zeroed();
        let mut b: k::v4l2_buffer = zeroed();
        b.type_ = self.buf_type(q);
        b.memory = MEMORY_MMAP;
        if self.mplane {
            b.length = MAX_PLANES as u32;
            b.m.planes = planes.as_mut_ptr();
        }
        match ioctl(self.raw(), VIDIOC_DQBUF, "VIDIOC_DQBUF", &mut b) {
            Ok(()) => {}
            Err(V4l2Error::Ioctl { errno, .. }) if errno == libc::EAGAIN => return Ok(None),
            Err(e) => return Err(e),
        }
        let bytesused = if self.mplane { planes[0].bytesused } else { b.bytesused };
        Ok(Some(Dequeued { index: b.index, flags: b.flags, timestamp_ns: timeval_to_ns(&b.timestamp), bytesused }))
    }

    pub fn export_buffer(&self, q: Queue, index: u32, plane: u32) -> V4l2Result<OwnedFd> {
        let mut e: k::v4l2_exportbuffer = zeroed();
        e.type_ = self.buf_type(q);
        e.index = index;
        e.plane = plane;
        e.flags = (libc::O_RDWR | libc::O_CLOEXEC) as u32;
        ioctl(self.raw(), VIDIOC_EXPBUF, "VIDIOC_EXPBUF", &mut e)?;
        // SAFETY: the kernel returned a new dmabuf fd that we now own.
        Ok(unsafe { OwnedFd::from_raw_fd(e.fd) })
    }

    pub fn stream(&self, q: Queue, on: bool) -> V4l2Result<()> {
        let mut t: libc::c_int = self.buf_type(q) as libc::c_int;
        if on {
            ioctl(self.raw(), VIDIOC_STREAMON, "VIDIOC_STREAMON", &mut t)
        } else {
            ioctl(self.raw(), VIDIOC_STREAMOFF, "VIDIOC_STREAMOFF", &mut t)
        }
    }
}

pub fn querycap(fd: RawFd) -> V4l2Result<Caps> {
    let mut c: k::v4l2_capability = zeroed();
    ioctl(fd, VIDIOC_QUERYCAP, "VIDIOC_QUERYCAP", &mut c)?;
    let device_caps = if c.capabilities & CAP_DEVICE_CAPS != 0 { c.device_caps } else { c.capabilities };
    Ok(Caps { driver: super::media::cstr(&c.driver), card: super::media::cstr(&c.card), bus_info: super::media::cstr(&c.bus_info), device_caps })
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn timestamps_round_trip_in_ns() {
        for ns in [0u64, 1000, 999_999_000, 1_000_000_000, 5_000_001_000, u32::MAX as u64 * 1000 + 7000] {
            assert_eq!(timeval_to_ns(&timestamp_to_timeval(ns)), ns);
        }
    }
    #[test]
    fn ioctl_numbers() {
        assert_eq!(VIDIOC_S_EXT_CTRLS, 0xc0205648);
        assert_eq!(VIDIOC_QBUF, 0xc058560f);
        assert_eq!(VIDIOC_S_FMT, 0xc0d05605);
        assert_eq!(VIDIOC_CREATE_BUFS, 0xc100565c);
    }
}
