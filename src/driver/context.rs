//! Decode contexts: vaCreateContext adopts or opens the session its
//! surfaces live in; vaBeginPicture/RenderPicture collect buffers;
//! vaEndPicture hands them to the codec's translator and queues the
//! request(s) it returns, then returns — completion is collected by
//! vaSyncSurface / vaQuerySurfaceStatus. Nothing here knows a codec: the
//! picture state machine (field pairs, held CAPTURE buffers, timestamps)
//! is the same for all.
use super::buffer::{Buffer, Store};
use super::surface::{align16, Backing, Surface, CLAIMED};
use super::{Config, Driver, VaError, VaResult};
use crate::codecs::codec::{Field, PicStructure, PictureBuffers, PicturePlan, Refs, SliceBufs, Translator, TranslatorParams, VaBuf};
use crate::ffi::va;
use crate::v4l2::formats;
use crate::v4l2::session::Submit;
use parking_lot::Mutex;
use smallvec::SmallVec;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Timestamps given to OUTPUT buffers (and so to the CAPTURE buffers they
/// decode into): unique, whole microseconds so they survive timeval.
static NEXT_TS_US: AtomicU64 = AtomicU64::new(1);

fn next_timestamp_ns() -> u64 {
    NEXT_TS_US.fetch_add(1, Ordering::Relaxed) * 1000
}

#[derive(Default)]
struct Picture {
    target: Option<Arc<Surface>>,
    /// The last buffer of each of the codec's single buffer types
    /// (picture parameters, IQ matrix, probability/Huffman tables...).
    buffers: SmallVec<[Arc<Buffer>; 4]>,
    /// Slice parameter buffers waiting for their slice data buffer.
    pending_params: SmallVec<[Arc<Buffer>; 4]>,
    /// (slice parameter buffer, slice data buffer) pairs, in order.
    slices: SmallVec<[(Arc<Buffer>, Arc<Buffer>); 4]>,
}

/// The first field of a field pair, waiting for its second field.
#[derive(Clone, Copy)]
struct OpenField {
    surface: u32,
    timestamp_ns: u64,
    field: Field,
}

pub struct Context {
    pub id: u32,
    pub config: Arc<Config>,
    pub width: u32,
    pub height: u32,
    pub backing: Arc<Backing>,
    picture: Mutex<Picture>,
    open_field: Mutex<Option<OpenField>>,
    /// The codec's per-stream state and translation.
    translator: Mutex<Box<dyn Translator>>,
}

impl Context {
    /// Waits for everything in flight (vaDestroyContext, vaTerminate).
    pub fn shutdown(&self) {
        if let Err(e) = self.backing.session.drain(self.backing.sync_timeout) {
            log::warn!("context {:#x}: {e}", self.id);
        }
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        let mut owner = self.backing.owner.lock();
        if *owner == Some(self.id) {
            *owner = None;
        }
    }
}

struct SessionRefs<'a> {
    driver: &'a Driver,
    backing: &'a Arc<Backing>,
}

impl SessionRefs<'_> {
    fn surface(&self, id: va::VASurfaceID) -> Option<Arc<Surface>> {
        self.driver.surfaces.get(id).filter(|s| s.in_session(self.backing))
    }
}

impl Refs for SessionRefs<'_> {
    fn timestamp_ns(&self, surface: va::VASurfaceID) -> Option<u64> {
        let s = self.surface(surface)?;
        self.backing.session.timestamp_of(s.storage.as_ref()?.index)
    }

    fn structure(&self, surface: va::VASurfaceID) -> Option<PicStructure> {
        self.surface(surface)?.state.lock().structure
    }
}

impl Driver {
    pub fn context(&self, id: u32) -> VaResult<Arc<Context>> {
        self.contexts.get(id).ok_or(VaError::InvalidContext)
    }

    /// vaCreateContext. Render targets are optional (ffmpeg 7.1 passes
    /// none); surfaces may come before or after the context.
    pub fn create_context(&self, config_id: u32, width: i32, height: i32, targets: &[u32]) -> VaResult<u32> {
        let config = self.config(config_id)?;
        if width <= 0 || height <= 0 {
            return Err(VaError::InvalidParameter(format!("context of {width}x{height}")));
        }
        let (w, h) = (width as u32, height as u32);
        let r = &config.route;
        // Exactly the range vaQuerySurfaceAttributes and vaGetConfigAttributes
        // tell for this profile (what the device reported, see
        // Codec::picture_sizes): a client that checked them is never refused,
        // one that did not learns it here rather than at the first decode.
        if !r.size_fits(w, h) {
            return Err(VaError::ResolutionNotSupported
                .context(format!("{w}x{h} is outside {}x{}..{}x{} for profile {}", r.min_width, r.min_height, r.max_width, r.max_height, config.profile)));
        }
        let mut surfaces = Vec::with_capacity(targets.len());
        for &t in targets {
            surfaces.push(self.surface(t)?);
        }
        // Whether this call claimed the session for the new context (see
        // Backing::claim), so no other context adopts it meanwhile.
        let mut claimed = false;
        let backing = match surfaces.first() {
            Some(first) => {
                let b = first.backed()?.backing.clone();
                if surfaces.iter().any(|s| !s.in_session(&b)) || !b.fits(r, config.rt_format, w, h) {
                    return Err(VaError::InvalidSurface
                        .context(format!("render targets do not share one {} session of at least {w}x{h}", formats::name(r.coded_fourcc))));
                }
                b
            }
            None => {
                // Adopt the newest unowned session this thread made for this
                // config's route and size (surfaces created before the
                // context), claimed under the list's lock: two contexts made
                // at the same moment never adopt the same one.
                let found = {
                    let mut g = self.backings.lock();
                    g.retain(|w| w.strong_count() > 0);
                    g.iter().rev().filter_map(|w| w.upgrade()).find(|b| {
                        b.creator == std::thread::current().id()
                            && b.fits(r, config.rt_format, w, h)
                            && b.width == align16(w)
                            && b.height == align16(h)
                            && b.claim()
                    })
                };
                let b = match found {
                    Some(b) => b,
                    None => {
                        let b = self.new_backing(r, config.rt_format, w, h)?;
                        b.claim();
                        b
                    }
                };
                claimed = true;
                b
            }
        };
        let release = |b: &Backing| {
            let mut o = b.owner.lock();
            if claimed && *o == Some(CLAIMED) {
                *o = None;
            }
        };
        let translator = backing.route.codec().translator(&TranslatorParams {
            caps: &backing.caps,
            decoding: &backing.decoding,
            profile: config.profile,
            test_corrupt: self.settings.test_corrupt.as_deref(),
        });
        let ctx = self
            .contexts
            .insert_with(|id| Context {
                id,
                config: config.clone(),
                width: w,
                height: h,
                backing: backing.clone(),
                picture: Mutex::new(Picture::default()),
                open_field: Mutex::new(None),
                translator: Mutex::new(translator),
            })
            .ok_or(VaError::MaxNumExceeded)
            .inspect_err(|_| release(&backing))?;
        let mut owner = backing.owner.lock();
        if owner.is_none() || (claimed && *owner == Some(CLAIMED)) {
            *owner = Some(ctx.0);
        }
        Ok(ctx.0)
    }

    pub fn destroy_context(&self, id: u32) -> VaResult<()> {
        let c = self.contexts.remove(id).ok_or(VaError::InvalidContext)?;
        c.shutdown();
        Ok(())
    }

    pub fn begin_picture(&self, ctx: u32, target: u32) -> VaResult<()> {
        let c = self.context(ctx)?;
        let s = self.surface(target)?;
        if !s.in_session(&c.backing) {
            return Err(VaError::InvalidSurface.context(format!("surface {target:#x} belongs to another decoding session than context {ctx:#x}")));
        }
        *c.picture.lock() = Picture { target: Some(s), ..Default::default() };
        Ok(())
    }

    pub fn render_picture(&self, ctx: u32, buffers: &[u32]) -> VaResult<()> {
        let c = self.context(ctx)?;
        let mut pic = c.picture.lock();
        if pic.target.is_none() {
            return Err(VaError::OperationFailed("vaRenderPicture without vaBeginPicture".into()));
        }
        let kept = c.backing.route.codec().buffer_types();
        // Every buffer is checked before any is taken: a refused call leaves
        // the picture as it was, so the client can go on with it (render the
        // right buffers, or end it and begin the next).
        let mut bufs: SmallVec<[Arc<Buffer>; 8]> = SmallVec::with_capacity(buffers.len());
        for &id in buffers {
            let b = self.buffer(id)?;
            if b.context != ctx {
                return Err(VaError::InvalidBuffer.context(format!("buffer {id:#x} belongs to another context than {ctx:#x}")));
            }
            if b.inner.lock().mapped {
                return Err(VaError::InvalidBuffer.context(format!("buffer {id:#x} is still mapped (vaUnmapBuffer it before vaRenderPicture)")));
            }
            bufs.push(b);
        }
        let mut pending = pic.pending_params.len();
        for b in &bufs {
            match b.buf_type {
                t if kept.contains(&t) => {}
                va::VASliceParameterBufferType => pending += 1,
                va::VASliceDataBufferType if pending == 0 => {
                    return Err(VaError::InvalidParameter("slice data buffer without slice parameters".into()));
                }
                va::VASliceDataBufferType => pending = 0,
                _ => {}
            }
        }
        for b in bufs {
            match b.buf_type {
                t if kept.contains(&t) => {
                    pic.buffers.retain(|x| x.buf_type != t);
                    pic.buffers.push(b);
                }
                va::VASliceParameterBufferType => pic.pending_params.push(b),
                va::VASliceDataBufferType => {
                    // never empty: checked above
                    for p in std::mem::take(&mut pic.pending_params) {
                        pic.slices.push((p, b.clone()));
                    }
                }
                other => {
                    log::debug!("vaRenderPicture: ignoring buffer type {other}");
                }
            }
        }
        Ok(())
    }

    pub fn end_picture(&self, ctx: u32) -> VaResult<()> {
        let c = self.context(ctx)?;
        let pic = std::mem::take(&mut *c.picture.lock());
        let target = pic.target.clone().ok_or_else(|| VaError::OperationFailed("vaEndPicture without vaBeginPicture".into()))?;
        let target_index = target.backed()?.index;
        let session = &c.backing.session;
        let timeout = self.settings.sync_timeout;

        let (field, structure, second_field, timestamp_ns, first_field_hold) = {
            // The picture's VA buffers stay the client's, locked until the
            // request is queued: the driver's only copy of the slice data is the
            // one into the OUTPUT buffer. Each buffer is locked once, in address
            // order.
            let mut locked: SmallVec<[&Arc<Buffer>; 8]> = SmallVec::new();
            for b in pic.buffers.iter().chain(pic.slices.iter().flat_map(|(p, d)| [p, d])) {
                if !locked.iter().any(|x| Arc::ptr_eq(x, b)) {
                    locked.push(b);
                }
            }
            locked.sort_by_key(|b| Arc::as_ptr(b) as usize);
            let guards: SmallVec<[_; 8]> = locked.iter().map(|b| b.inner.lock()).collect();
            // mapped again after vaRenderPicture: the client may be writing it
            if guards.iter().any(|g| g.mapped) {
                return Err(VaError::InvalidBuffer.context("a buffer of the picture is mapped (vaUnmapBuffer it before vaEndPicture)"));
            }
            let bytes_of = |b: &Arc<Buffer>| -> (&[u8], u32) {
                match locked.iter().position(|x| Arc::ptr_eq(x, b)).map(|i| &guards[i]) {
                    Some(g) => match &g.store {
                        Store::Host(v) => (v.as_slice(), g.num_elements),
                        Store::Surface { .. } => (&[], 0),
                    },
                    None => (&[], 0),
                }
            };
            let buffers: SmallVec<[VaBuf; 4]> = pic
                .buffers
                .iter()
                .map(|b| {
                    let (bytes, num_elements) = bytes_of(b);
                    VaBuf { buf_type: b.buf_type, bytes, num_elements }
                })
                .collect();
            let slices: SmallVec<[SliceBufs; 4]> = pic
                .slices
                .iter()
                .map(|(p, d)| {
                    let (params, num_elements) = bytes_of(p);
                    SliceBufs { params, num_elements, data: bytes_of(d).0 }
                })
                .collect();
            let refs = SessionRefs { driver: self, backing: &c.backing };
            let mut translator = c.translator.lock();
            let plan = translator.translate(&PictureBuffers { target: target.id, buffers: &buffers, slices: &slices }, &refs).map_err(VaError::Bitstream)?;
            let PicturePlan { requests, refs: plan_refs, field, structure } = plan;
            if requests.is_empty() {
                return Err(VaError::Bitstream("the codec made no request".into()));
            }

            // Referenced surfaces, as CAPTURE indices, so none is re-queued while read.
            let ref_indices: SmallVec<[u32; 16]> = plan_refs
                .iter()
                .filter_map(|&r| refs.surface(r))
                .filter_map(|s| s.storage.as_ref().map(|st| st.index))
                .filter(|&i| i != target_index)
                .collect();

            // Field pairs: the second field goes into the CAPTURE buffer the
            // first one holds (same timestamp, HOLD_CAPTURE_BUF on the first).
            let open = *c.open_field.lock();
            let second_field = matches!((open, field), (Some(o), Some(f)) if o.surface == target.id && o.field != f);
            let timestamp_ns = match open {
                Some(o) if second_field => o.timestamp_ns,
                _ => next_timestamp_ns(),
            };
            let held = second_field && session.holds_capture();
            if !held {
                session.wait_reusable(target_index, timeout)?;
            }
            let first_field_hold = field.is_some() && !second_field && session.holds_capture();
            for (i, mut r) in requests.into_iter().enumerate() {
                let made = translator.made_bytes(i);
                let mut bitstream: SmallVec<[&[u8]; 9]> = SmallVec::new();
                if !made.is_empty() {
                    bitstream.push(made);
                }
                bitstream.extend_from_slice(&r.bitstream);
                session.submit(
                    Submit {
                        target: target_index,
                        timestamp_ns,
                        bitstream: &bitstream,
                        controls: r.controls.as_mut_slice(),
                        hold_capture: r.hold || first_field_hold,
                        queue_capture: i == 0 && !held,
                        first_field: field.is_some() && !second_field && !session.holds_capture(),
                        refs: &ref_indices,
                    },
                    timeout,
                )?;
            }
            (field, structure, second_field, timestamp_ns, first_field_hold)
        }; // the picture's buffers are the client's again
        *c.open_field.lock() = match field {
            Some(field) if !second_field => Some(OpenField { surface: target.id, timestamp_ns, field }),
            _ => None,
        };
        {
            let mut st = target.state.lock();
            if let Some(s) = structure {
                st.structure = Some(s);
            }
            st.decode_error = false;
        }
        #[cfg(feature = "bench-counters")]
        crate::v4l2::counters::frame_submitted();
        // Synchronous baseline (benchmarks): wait for the decode here, the
        // way the C drivers do. A held first field completes with its pair.
        if self.settings.sync_decode && !first_field_hold {
            session.wait_capture(target_index, timeout)?;
        }
        Ok(())
    }
}
