//! mmap'ed V4L2 buffers and DMA-BUF CPU-access bracketing.
use super::ioctl::{ioctl, iow, V4l2Error, V4l2Result};
use std::os::fd::{BorrowedFd, RawFd};
use v4l2r::ioctl::{IntoErrno, PlaneMapping};

/// A shared, read-write mapping of one buffer plane (v4l2r's mmap);
/// unmapped on drop.
pub struct Mapping(PlaneMapping);

impl Mapping {
    pub fn new(fd: BorrowedFd<'_>, offset: u32, len: usize) -> V4l2Result<Mapping> {
        let length = u32::try_from(len).ok().filter(|&l| l > 0).ok_or_else(|| V4l2Error::Unsupported(format!("buffer plane of {len} bytes")))?;
        match v4l2r::ioctl::mmap(&fd, offset, length) {
            Ok(m) => Ok(Mapping(m)),
            Err(e) => {
                let errno = e.into_errno();
                log::error!("mmap of {len} bytes at {offset:#x} failed: errno {errno}");
                Err(V4l2Error::Sys { call: "mmap", errno })
            }
        }
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// For a mapping handed to a client (vaDeriveImage).
    pub fn as_mut_ptr(&mut self) -> *mut u8 {
        self.0.as_mut_ptr()
    }

    pub fn as_slice(&self) -> &[u8] {
        &self.0
    }

    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.0
    }
}

#[repr(C)]
pub struct dma_buf_sync {
    pub flags: u64,
}
pub const DMA_BUF_SYNC_READ: u64 = 1;
pub const DMA_BUF_SYNC_WRITE: u64 = 2;
pub const DMA_BUF_SYNC_START: u64 = 0;
pub const DMA_BUF_SYNC_END: u64 = 4;
pub const DMA_BUF_IOCTL_SYNC: libc::c_ulong = iow::<dma_buf_sync>(b'b', 0);

/// DMA_BUF_IOCTL_SYNC START now, END when dropped: brackets one CPU access
/// of a CAPTURE buffer so non-coherent SoCs see what the decoder wrote.
pub struct CpuAccess {
    fd: RawFd,
    flags: u64,
}

impl CpuAccess {
    pub fn begin(dmabuf_fd: RawFd, write: bool) -> V4l2Result<CpuAccess> {
        let flags = DMA_BUF_SYNC_READ | if write { DMA_BUF_SYNC_WRITE } else { 0 };
        let mut s = dma_buf_sync { flags: flags | DMA_BUF_SYNC_START };
        ioctl(dmabuf_fd, DMA_BUF_IOCTL_SYNC, "DMA_BUF_IOCTL_SYNC", &mut s).map_err(|e| {
            log::error!("{e}");
            e
        })?;
        Ok(CpuAccess { fd: dmabuf_fd, flags })
    }
}

impl Drop for CpuAccess {
    fn drop(&mut self) {
        let mut s = dma_buf_sync { flags: self.flags | DMA_BUF_SYNC_END };
        if let Err(e) = ioctl(self.fd, DMA_BUF_IOCTL_SYNC, "DMA_BUF_IOCTL_SYNC", &mut s) {
            log::error!("{e}");
        }
    }
}
