//! A V4L2 video node: capabilities, formats, controls and buffer queues,
//! single- or multi-planar, behind one API.
//!
//! Every ioctl here is one of v4l2r's wrappers (`v4l2r::ioctl`), called
//! through [`super::ioctl::v4l2r_call`], which retries EINTR and keeps the
//! ioctl's name and errno in the error.
use super::ioctl::{last_errno, v4l2r_call, V4l2Error, V4l2Result};
use crate::ffi::v4l2 as k;
use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use v4l2r::ioctl as vi;
use v4l2r::memory::MemoryType;
use v4l2r::nix::errno::Errno;
use v4l2r::QueueType;

pub const MAX_PLANES: usize = k::VIDEO_MAX_PLANES as usize;

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
        let caps = querycap(fd.as_fd())?;
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

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    fn queue_type(&self, q: Queue) -> QueueType {
        match (q, self.mplane) {
            (Queue::Output, true) => QueueType::VideoOutputMplane,
            (Queue::Output, false) => QueueType::VideoOutput,
            (Queue::Capture, true) => QueueType::VideoCaptureMplane,
            (Queue::Capture, false) => QueueType::VideoCapture,
        }
    }

    /// The formats of queue `q`. EINVAL ends the list; any other error
    /// (EBUSY, ENOMEM) is an error, not a shorter list: a transient failure
    /// must not silently drop a format (and the profiles behind it).
    pub fn enum_formats(&self, q: Queue) -> V4l2Result<Vec<u32>> {
        let qt = self.queue_type(q);
        let mut out = Vec::new();
        for index in 0..64 {
            match v4l2r_call("VIDIOC_ENUM_FMT", || vi::enum_fmt::<k::v4l2_fmtdesc>(&self.fd, qt, index)) {
                Ok(d) => out.push(d.pixelformat),
                Err(e) if e.errno() == Some(libc::EINVAL) => break,
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    pub fn frame_sizes(&self, fourcc: u32) -> Option<FrameSizes> {
        let f = v4l2r_call("VIDIOC_ENUM_FRAMESIZES", || vi::enum_frame_sizes::<k::v4l2_frmsizeenum>(&self.fd, 0, fourcc.into())).ok()?;
        // SAFETY: reading the union member named by type_, which the kernel
        // filled (plain integers: every bit pattern is valid).
        unsafe {
            match f.type_ {
                k::v4l2_frmsizetypes_V4L2_FRMSIZE_TYPE_DISCRETE => {
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
        // SAFETY: reading the union member that matches the buffer type we
        // asked for (plain integers: every bit pattern is valid).
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
        f.type_ = self.queue_type(q) as u32;
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
        let f = self.raw_format(q, fourcc, width, height, sizeimage);
        // s_fmt wants `&mut impl AsRawFd`; the node's fd is only read.
        let mut fd = self.raw();
        let r: k::v4l2_format = v4l2r_call("VIDIOC_S_FMT", || vi::s_fmt(&mut fd, f))?;
        Ok(self.format_from(&r))
    }

    pub fn get_format(&self, q: Queue) -> V4l2Result<Format> {
        let f: k::v4l2_format = v4l2r_call("VIDIOC_G_FMT", || vi::g_fmt(&self.fd, self.queue_type(q)))?;
        Ok(self.format_from(&f))
    }

    pub fn query_ext_ctrl(&self, id: u32) -> Option<k::v4l2_query_ext_ctrl> {
        v4l2r_call("VIDIOC_QUERY_EXT_CTRL", || match vi::CtrlId::new(id) {
            Ok(c) => vi::query_ext_ctrl::<k::v4l2_query_ext_ctrl>(&self.fd, c, vi::QueryCtrlFlags::empty()),
            // an id with flag bits names no control: what the kernel answers
            Err(_) => Err(vi::QueryCtrlError::IoctlError(Errno::EINVAL)),
        })
        .ok()
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
            match v4l2r_call("VIDIOC_QUERYMENU", || vi::querymenu::<k::v4l2_querymenu>(&self.fd, id, i as u32)) {
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
        let n = ctrls.len();
        let mut failed_at = None;
        let r = v4l2r_call("VIDIOC_S_EXT_CTRLS", || {
            let which = request_fd.map_or(vi::CtrlWhich::Current, vi::CtrlWhich::Request);
            vi::s_ext_ctrls(&self.fd, which, &mut *ctrls).inspect_err(|e| failed_at = Some(e.error_idx))
        });
        r.inspect_err(|e| {
            let idx = failed_at.unwrap_or(n as u32);
            log::error!("{e} (control index {idx} of {n}, id {:#x})", ctrls.get(idx as usize).map(|c| c.id).unwrap_or(0));
        })
    }

    /// REQBUFS: (buffers allocated, queue capability flags).
    pub fn request_buffers(&self, q: Queue, count: u32) -> V4l2Result<(u32, u32)> {
        let qt = self.queue_type(q);
        let r: k::v4l2_requestbuffers = v4l2r_call("VIDIOC_REQBUFS", || vi::reqbufs(&self.fd, qt, MemoryType::Mmap, count, vi::MemoryConsistency::empty()))?;
        Ok((r.count, r.capabilities))
    }

    /// CREATE_BUFS with the queue's current format: (first index, count).
    pub fn create_buffers(&self, q: Queue, count: u32) -> V4l2Result<(u32, u32)> {
        let format: k::v4l2_format = v4l2r_call("VIDIOC_G_FMT", || vi::g_fmt(&self.fd, self.queue_type(q)))?;
        let c: k::v4l2_create_buffers = v4l2r_call("VIDIOC_CREATE_BUFS", || vi::create_bufs(&self.fd, count, MemoryType::Mmap, format))?;
        Ok((c.index, c.count))
    }

    pub fn query_buffer(&self, q: Queue, index: u32) -> V4l2Result<Vec<BufPlane>> {
        let qt = self.queue_type(q);
        let b: vi::UncheckedV4l2Buffer = v4l2r_call("VIDIOC_QUERYBUF", || vi::querybuf(&self.fd, qt, index as usize))?;
        Ok(match (&b.1, self.mplane) {
            (Some(planes), true) => planes[..(b.0.length as usize).min(MAX_PLANES)]
                .iter()
                // SAFETY: reading the union member of an MMAP plane, which
                // QUERYBUF filled (a plain integer).
                .map(|p| BufPlane { length: p.length, mem_offset: unsafe { p.m.mem_offset } })
                .collect(),
            // SAFETY: as above, for a single-planar MMAP buffer.
            _ => vec![BufPlane { length: b.0.length, mem_offset: unsafe { b.0.m.offset } }],
        })
    }

    /// QBUF an MMAP buffer. `bytesused` is per plane (OUTPUT: one plane).
    pub fn queue_buffer(&self, q: Queue, index: u32, bytesused: &[u32], timestamp_ns: u64, request_fd: Option<RawFd>, flags: u32) -> V4l2Result<()> {
        let qt = self.queue_type(q);
        let mut b = vi::UncheckedV4l2Buffer::new_for_querybuf(qt, Some(index));
        b.0.memory = MemoryType::Mmap as u32;
        b.0.flags = flags;
        b.0.field = k::v4l2_field_V4L2_FIELD_NONE;
        b.0.timestamp = timestamp_to_timeval(timestamp_ns);
        if let Some(r) = request_fd {
            b.0.flags |= k::V4L2_BUF_FLAG_REQUEST_FD;
            b.0.__bindgen_anon_1.request_fd = r;
        }
        match &mut b.1 {
            Some(planes) if self.mplane => {
                for (p, used) in planes.iter_mut().zip(bytesused) {
                    p.bytesused = *used;
                }
                b.0.length = bytesused.len().clamp(1, MAX_PLANES) as u32;
            }
            _ => b.0.bytesused = bytesused.first().copied().unwrap_or(0),
        }
        // qbuf takes the buffer by value; a retry after EINTR sends the same.
        v4l2r_call("VIDIOC_QBUF", || vi::qbuf::<_, ()>(&self.fd, vi::UncheckedV4l2Buffer(b.0, b.1)))
    }

    /// DQBUF without blocking: None when nothing is ready (EAGAIN).
    pub fn dequeue_buffer(&self, q: Queue) -> V4l2Result<Option<Dequeued>> {
        let qt = self.queue_type(q);
        let b: vi::UncheckedV4l2Buffer = match v4l2r_call("VIDIOC_DQBUF", || vi::dqbuf(&self.fd, qt)) {
            Ok(b) => b,
            Err(V4l2Error::Ioctl { errno, .. }) if errno == libc::EAGAIN => return Ok(None),
            Err(e) => return Err(e),
        };
        let bytesused = match (&b.1, self.mplane) {
            (Some(planes), true) => planes[0].bytesused,
            _ => b.0.bytesused,
        };
        Ok(Some(Dequeued { index: b.0.index, flags: b.0.flags, timestamp_ns: timeval_to_ns(&b.0.timestamp), bytesused }))
    }

    pub fn export_buffer(&self, q: Queue, index: u32, plane: u32) -> V4l2Result<OwnedFd> {
        let qt = self.queue_type(q);
        v4l2r_call("VIDIOC_EXPBUF", || vi::expbuf::<OwnedFd>(&self.fd, qt, index as usize, plane as usize, vi::ExpbufFlags::RDWR | vi::ExpbufFlags::CLOEXEC))
    }

    pub fn stream(&self, q: Queue, on: bool) -> V4l2Result<()> {
        let qt = self.queue_type(q);
        if on {
            v4l2r_call("VIDIOC_STREAMON", || vi::streamon(&self.fd, qt))
        } else {
            v4l2r_call("VIDIOC_STREAMOFF", || vi::streamoff(&self.fd, qt))
        }
    }
}

pub fn querycap(fd: BorrowedFd<'_>) -> V4l2Result<Caps> {
    let c: k::v4l2_capability = v4l2r_call("VIDIOC_QUERYCAP", || vi::querycap(&fd))?;
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
}
