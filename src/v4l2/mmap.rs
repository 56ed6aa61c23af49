//! mmap'ed V4L2 buffers and DMA-BUF CPU-access bracketing.
use super::ioctl::{ioctl, iow, last_errno, V4l2Error, V4l2Result};
use std::os::fd::RawFd;

/// A shared, read-write mapping of one buffer plane; unmapped on drop.
pub struct Mapping {
    ptr: *mut u8,
    len: usize,
}

// SAFETY: the mapping is plain shared memory; all access goes through
// &self/&mut self methods, and callers serialise writers with their locks.
unsafe impl Send for Mapping {}
// SAFETY: as above; readers take shared slices only.
unsafe impl Sync for Mapping {}

impl Mapping {
    pub fn new(fd: RawFd, offset: u32, len: usize) -> V4l2Result<Mapping> {
        if len == 0 {
            return Err(V4l2Error::Unsupported("zero-length buffer".into()));
        }
        // SAFETY: mapping `len` bytes of a V4L2 buffer at the offset the
        // kernel reported for it; the result is checked before use.
        let p = unsafe { libc::mmap(std::ptr::null_mut(), len, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_SHARED, fd, offset as libc::off_t) };
        if p == libc::MAP_FAILED {
            let errno = last_errno();
            log::error!("mmap of {len} bytes at {offset:#x} failed: errno {errno}");
            return Err(V4l2Error::Sys { call: "mmap", errno });
        }
        Ok(Mapping { ptr: p as *mut u8, len })
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn as_ptr(&self) -> *mut u8 {
        self.ptr
    }

    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: ptr/len describe a live mapping owned by self.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }

    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: as above, and &mut self gives exclusive access.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: unmapping exactly the region mmap returned.
        unsafe {
            libc::munmap(self.ptr as *mut libc::c_void, self.len);
        }
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
