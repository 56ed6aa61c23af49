//! VA buffers: parameter, slice and image buffers. Host memory, or for an
//! image derived from a surface, the surface's CAPTURE buffer itself.
use super::surface::Surface;
use super::{Driver, VaError, VaResult};
use crate::ffi::va;
use crate::v4l2::mmap::CpuAccess;
use parking_lot::Mutex;
use std::sync::Arc;

/// Largest buffer a client may create (a 8K 4:2:0 frame and then some).
pub const MAX_BUFFER_BYTES: usize = 256 << 20;

pub enum Store {
    Host(Vec<u8>),
    /// Zero-copy view of a surface's CAPTURE buffer (vaDeriveImage).
    Surface { surface: Arc<Surface>, mapped: Option<CpuAccess> },
}

pub struct Buffer {
    pub buf_type: va::VABufferType,
    pub elem_size: u32,
    pub context: u32,
    pub inner: Mutex<BufferInner>,
}

pub struct BufferInner {
    pub num_elements: u32,
    pub store: Store,
    pub mapped: bool,
}

impl Buffer {
    /// A copy of the buffer's bytes (for parameter buffers).
    pub fn bytes(&self) -> Vec<u8> {
        match &self.inner.lock().store {
            Store::Host(v) => v.clone(),
            Store::Surface { .. } => Vec::new(),
        }
    }

    pub fn with_bytes<R>(&self, f: impl FnOnce(&[u8], u32) -> R) -> R {
        let g = self.inner.lock();
        match &g.store {
            Store::Host(v) => f(v, g.num_elements),
            Store::Surface { .. } => f(&[], 0),
        }
    }

    pub fn with_bytes_mut<R>(&self, f: impl FnOnce(&mut [u8]) -> R) -> Option<R> {
        let mut g = self.inner.lock();
        match &mut g.store {
            Store::Host(v) => Some(f(v)),
            Store::Surface { .. } => None,
        }
    }
}

impl Driver {
    /// vaCreateBuffer: `data` (if any) is copied in.
    pub fn create_buffer(&self, context: u32, buf_type: va::VABufferType, size: u32, num_elements: u32, data: Option<&[u8]>) -> VaResult<u32> {
        let total = (size as usize).checked_mul(num_elements as usize).filter(|&t| t > 0 && t <= MAX_BUFFER_BYTES).ok_or_else(|| VaError::InvalidParameter(format!("buffer of {num_elements} x {size} bytes")))?;
        if buf_type != va::VAImageBufferType && self.contexts.get(context).is_none() {
            return Err(VaError::InvalidContext);
        }
        let mut v = Vec::new();
        v.try_reserve_exact(total).map_err(|_| VaError::AllocationFailed)?;
        if let Some(d) = data {
            v.extend_from_slice(&d[..total.min(d.len())]);
            // the client's own copy of the slice data (vaCreateBuffer with data)
            #[cfg(feature = "bench-counters")]
            if buf_type == va::VASliceDataBufferType {
                crate::v4l2::counters::add_bitstream(total.min(d.len()));
            }
        }
        v.resize(total, 0);
        let b = Buffer { buf_type, elem_size: size, context, inner: Mutex::new(BufferInner { num_elements, store: Store::Host(v), mapped: false }) };
        self.buffers.insert(b).map(|(id, _)| id).ok_or(VaError::MaxNumExceeded)
    }

    pub fn buffer(&self, id: u32) -> VaResult<Arc<Buffer>> {
        self.buffers.get(id).ok_or(VaError::InvalidBuffer)
    }

    pub fn buffer_set_num_elements(&self, id: u32, n: u32) -> VaResult<()> {
        let b = self.buffer(id)?;
        let mut g = b.inner.lock();
        let cap = match &g.store {
            Store::Host(v) => v.len(),
            Store::Surface { .. } => return Err(VaError::InvalidBuffer),
        };
        if n == 0 || (n as usize).saturating_mul(b.elem_size as usize) > cap {
            return Err(VaError::InvalidParameter(format!("{n} elements of {} bytes in a {cap}-byte buffer", b.elem_size)));
        }
        g.num_elements = n;
        Ok(())
    }

    /// vaMapBuffer: the address clients read and write.
    pub fn map_buffer(&self, id: u32) -> VaResult<*mut u8> {
        let b = self.buffer(id)?;
        let mut g = b.inner.lock();
        let ptr = match &mut g.store {
            Store::Host(v) => v.as_mut_ptr(),
            Store::Surface { surface, mapped } => {
                surface.sync(super::surface::sync_timeout()).or_else(|e| if e == VaError::DecodingError { Ok(()) } else { Err(e) })?;
                let (p, _len, dmabuf) = surface.backing.session.persistent_map(surface.index)?;
                if mapped.is_none() {
                    *mapped = Some(CpuAccess::begin(dmabuf, true)?);
                }
                p
            }
        };
        g.mapped = true;
        Ok(ptr)
    }

    pub fn unmap_buffer(&self, id: u32) -> VaResult<()> {
        let b = self.buffer(id)?;
        let mut g = b.inner.lock();
        if let Store::Surface { mapped, .. } = &mut g.store {
            mapped.take(); // DMA_BUF_SYNC_END
        }
        g.mapped = false;
        Ok(())
    }

    pub fn destroy_buffer(&self, id: u32) -> VaResult<()> {
        self.buffers.remove(id).map(|_| ()).ok_or(VaError::InvalidBuffer)
    }

    pub fn buffer_info(&self, id: u32) -> VaResult<(va::VABufferType, u32, u32)> {
        let b = self.buffer(id)?;
        let n = b.inner.lock().num_elements;
        Ok((b.buf_type, b.elem_size, n))
    }
}
