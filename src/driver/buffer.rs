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
    Surface {
        surface: Arc<Surface>,
        mapped: Option<CpuAccess>,
    },
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

/// Destroyed host buffers, kept so that vaCreateBuffer reuses them:
/// decoders create and destroy the same few parameter and slice-data
/// buffers for every picture, and a fresh allocation each time costs
/// 2 heap allocations per buffer (and, for the large slice-data buffer,
/// a glibc malloc_consolidate).
pub struct BufferPool {
    free: Vec<Arc<Buffer>>,
    bytes: usize,
}

/// Buffers and bytes the pool keeps at most.
const POOL_BUFFERS: usize = 32;
const POOL_BYTES: usize = 32 << 20;

impl Default for BufferPool {
    fn default() -> Self {
        BufferPool { free: Vec::with_capacity(POOL_BUFFERS), bytes: 0 }
    }
}

fn host_capacity(b: &Buffer) -> usize {
    match &b.inner.lock().store {
        Store::Host(v) => v.capacity(),
        Store::Surface { .. } => 0,
    }
}

impl BufferPool {
    /// The smallest pooled buffer that holds `total` bytes without wasting
    /// much more than that.
    fn take(&mut self, total: usize) -> Option<Arc<Buffer>> {
        let limit = total.saturating_mul(2).max(total.saturating_add(64 << 10));
        let (i, cap) = self.free.iter().enumerate().map(|(i, b)| (i, host_capacity(b))).filter(|&(_, c)| c >= total && c <= limit).min_by_key(|&(_, c)| c)?;
        self.bytes -= cap;
        Some(self.free.swap_remove(i))
    }

    /// Keeps `b` if nothing else holds it and it fits in the pool.
    fn put(&mut self, mut b: Arc<Buffer>) {
        let Some(buf) = Arc::get_mut(&mut b) else { return };
        let inner = buf.inner.get_mut();
        let cap = match &inner.store {
            Store::Host(v) => v.capacity(),
            Store::Surface { .. } => return,
        };
        if self.free.len() < POOL_BUFFERS && self.bytes + cap <= POOL_BYTES {
            self.bytes += cap;
            self.free.push(b);
        }
    }
}

impl Driver {
    /// vaCreateBuffer: `data` (if any) is copied in.
    pub fn create_buffer(&self, context: u32, buf_type: va::VABufferType, size: u32, num_elements: u32, data: Option<&[u8]>) -> VaResult<u32> {
        let total = (size as usize)
            .checked_mul(num_elements as usize)
            .filter(|&t| t > 0 && t <= MAX_BUFFER_BYTES)
            .ok_or_else(|| VaError::InvalidParameter(format!("buffer of {num_elements} x {size} bytes")))?;
        if buf_type != va::VAImageBufferType {
            let c = self.contexts.get(context).ok_or(VaError::InvalidContext)?;
            // Only what the context's codec takes: its picture's buffer types,
            // slice parameter/data pairs, and the few types libva's conformance
            // suite creates in its decode contexts (Codec::tolerated_buffer_types).
            let codec = c.backing.route.codec();
            let used = matches!(buf_type, va::VASliceParameterBufferType | va::VASliceDataBufferType)
                || codec.buffer_types().contains(&buf_type)
                || codec.tolerated_buffer_types().contains(&buf_type);
            if !used {
                return Err(VaError::UnsupportedBufferType.context(format!("buffer type {buf_type} is not one {} decoding uses", codec.name())));
            }
        }
        let recycled = self.buffer_pool.lock().take(total);
        let mut v = match recycled.as_ref().map(|b| std::mem::replace(&mut b.inner.lock().store, Store::Host(Vec::new()))) {
            Some(Store::Host(mut v)) => {
                v.clear();
                v
            }
            _ => Vec::new(),
        };
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
        let fresh = Buffer { buf_type, elem_size: size, context, inner: Mutex::new(BufferInner { num_elements, store: Store::Host(v), mapped: false }) };
        let b = match recycled {
            Some(mut a) => match Arc::get_mut(&mut a) {
                Some(slot) => {
                    *slot = fresh;
                    a
                }
                None => Arc::new(fresh), // not reached: pooled buffers are unshared
            },
            None => Arc::new(fresh),
        };
        self.buffers.insert_arc(b).map(|(id, _)| id).ok_or(VaError::MaxNumExceeded)
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
                let st = surface.backed()?;
                surface.sync(st.backing.sync_timeout).or_else(|e| if e == VaError::DecodingError { Ok(()) } else { Err(e) })?;
                let (p, _len, dmabuf) = st.backing.session.persistent_map(st.index)?;
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
        let b = self.buffers.remove(id).ok_or(VaError::InvalidBuffer)?;
        self.buffer_pool.lock().put(b);
        Ok(())
    }

    pub fn buffer_info(&self, id: u32) -> VaResult<(va::VABufferType, u32, u32)> {
        let b = self.buffer(id)?;
        let n = b.inner.lock().num_elements;
        Ok((b.buf_type, b.elem_size, n))
    }
}
