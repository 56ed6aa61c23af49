//! Decode contexts: vaCreateContext adopts or opens the session its
//! surfaces live in; vaBeginPicture/RenderPicture collect buffers;
//! vaEndPicture translates them and queues the request(s), then returns —
//! completion is collected by vaSyncSurface / vaQuerySurfaceStatus.
use super::buffer::{Buffer, Store};
use super::surface::{align16, sync_timeout, Backing, Surface};
use super::{Config, Driver, VaError, VaResult};
use crate::codecs::ctrl::CtrlSet;
use crate::codecs::h264;
use crate::codecs::setup::H264Mode;
use crate::ffi::{pod, v4l2 as k, va};
use crate::v4l2::formats;
use crate::v4l2::session::Submit;
use parking_lot::Mutex;
use smallvec::SmallVec;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Timestamps given to OUTPUT buffers (and so to the CAPTURE buffers they
/// decode into): unique, whole microseconds so they survive timeval.
static NEXT_TS_US: AtomicU64 = AtomicU64::new(1);

fn zero_pred_weights() -> k::v4l2_ctrl_h264_pred_weights {
    // SAFETY: plain-old-data kernel struct; all-zero is valid.
    unsafe { std::mem::zeroed() }
}

/// `HANTRO_SYNC_DECODE=1`: vaEndPicture returns only once the picture is
/// decoded (the synchronous baseline of the benchmarks).
fn sync_decode() -> bool {
    static SYNC: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *SYNC.get_or_init(|| std::env::var("HANTRO_SYNC_DECODE").is_ok_and(|v| v == "1"))
}

fn next_timestamp_ns() -> u64 {
    NEXT_TS_US.fetch_add(1, Ordering::Relaxed) * 1000
}

#[derive(Default)]
struct Picture {
    target: Option<Arc<Surface>>,
    pic_params: Option<Arc<Buffer>>,
    iq: Option<Arc<Buffer>>,
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
    bottom: bool,
}

pub struct Context {
    pub id: u32,
    pub config: Arc<Config>,
    pub width: u32,
    pub height: u32,
    pub backing: Arc<Backing>,
    picture: Mutex<Picture>,
    open_field: Mutex<Option<OpenField>>,
    poc: Mutex<h264::poc::PocNormalizer>,
    /// What earlier pictures of the stream told (PPS ref-count defaults).
    h264: Mutex<h264::H264State>,
}

impl Context {
    /// Waits for everything in flight (vaDestroyContext, vaTerminate).
    pub fn shutdown(&self) {
        if let Err(e) = self.backing.session.drain(sync_timeout()) {
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

struct Refs<'a> {
    driver: &'a Driver,
    backing: &'a Arc<Backing>,
}

impl Refs<'_> {
    fn surface(&self, id: va::VASurfaceID) -> Option<Arc<Surface>> {
        self.driver.surfaces.get(id).filter(|s| Arc::ptr_eq(&s.backing, self.backing))
    }
}

impl h264::RefTimestamps for Refs<'_> {
    fn timestamp_ns(&self, surface: va::VASurfaceID) -> Option<u64> {
        let s = self.surface(surface)?;
        self.backing.session.timestamp_of(s.index)
    }

    fn structure(&self, surface: va::VASurfaceID) -> Option<h264::RefStructure> {
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
        if w > r.max_width || h > align16(r.max_height) || w < r.min_width.min(16) || h < r.min_height.min(16) {
            return Err(VaError::ResolutionNotSupported);
        }
        let mut surfaces = Vec::with_capacity(targets.len());
        for &t in targets {
            surfaces.push(self.surface(t)?);
        }
        let backing = match surfaces.first() {
            Some(first) => {
                let b = first.backing.clone();
                if surfaces.iter().any(|s| !Arc::ptr_eq(&s.backing, &b)) || !b.fits(r, w, h) {
                    log::error!("vaCreateContext: render targets do not share one {} session of at least {w}x{h}", formats::name(r.coded_fourcc));
                    return Err(VaError::InvalidSurface);
                }
                b
            }
            None => {
                // Adopt the newest unowned session made for this config's
                // route and size (surfaces created before the context).
                let found = {
                    let mut g = self.backings.lock();
                    g.retain(|w| w.strong_count() > 0);
                    g.iter().rev().filter_map(|w| w.upgrade()).find(|b| b.owner.lock().is_none() && b.fits(r, w, h) && b.width == align16(w) && b.height == align16(h))
                };
                match found {
                    Some(b) => b,
                    None => self.new_backing(r, w, h)?,
                }
            }
        };
        let ctx = self
            .contexts
            .insert_with(|id| Context { id, config: config.clone(), width: w, height: h, backing: backing.clone(), picture: Mutex::new(Picture::default()), open_field: Mutex::new(None), poc: Mutex::new(Default::default()), h264: Mutex::new(Default::default()) })
            .ok_or(VaError::MaxNumExceeded)?;
        let mut owner = backing.owner.lock();
        if owner.is_none() {
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
        if !Arc::ptr_eq(&s.backing, &c.backing) {
            log::error!("vaBeginPicture: surface {target:#x} belongs to another decoding session than context {ctx:#x}");
            return Err(VaError::InvalidSurface);
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
        for &id in buffers {
            let b = self.buffer(id)?;
            match b.buf_type {
                va::VAPictureParameterBufferType => pic.pic_params = Some(b),
                va::VAIQMatrixBufferType => pic.iq = Some(b),
                va::VASliceParameterBufferType => pic.pending_params.push(b),
                va::VASliceDataBufferType => {
                    let params = std::mem::take(&mut pic.pending_params);
                    if params.is_empty() {
                        return Err(VaError::InvalidParameter("slice data buffer without slice parameters".into()));
                    }
                    for p in params {
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
        match c.backing.route.coded_fourcc {
            formats::H264_SLICE => self.end_picture_h264(&c, &target, pic),
            _ => Err(VaError::Unimplemented),
        }
    }

    fn end_picture_h264(&self, c: &Context, target: &Arc<Surface>, pic: Picture) -> VaResult<()> {
        let pp_buf = pic.pic_params.ok_or_else(|| VaError::InvalidParameter("H.264 picture without picture parameters".into()))?;
        let pp: va::VAPictureParameterBufferH264 = pp_buf.with_bytes(|b, _| pod::read(b, 0)).ok_or_else(|| VaError::InvalidParameter("short H.264 picture parameter buffer".into()))?;
        let iq: Option<va::VAIQMatrixBufferH264> = match &pic.iq {
            Some(b) => Some(b.with_bytes(|b, _| pod::read(b, 0)).ok_or_else(|| VaError::InvalidParameter("short H.264 IQ matrix buffer".into()))?),
            None => None,
        };
        // The slice data stays in the client's VA buffers, locked until the
        // request is queued: its only copy by the driver is the one into the
        // OUTPUT buffer. Each buffer is locked once, in address order.
        let mut data_bufs: SmallVec<[&Arc<Buffer>; 4]> = SmallVec::new();
        for (_, d) in &pic.slices {
            if !data_bufs.iter().any(|x| Arc::ptr_eq(x, d)) {
                data_bufs.push(d);
            }
        }
        data_bufs.sort_by_key(|b| Arc::as_ptr(b) as usize);
        let guards: SmallVec<[_; 4]> = data_bufs.iter().map(|b| b.inner.lock()).collect();
        let data_of = |b: &Arc<Buffer>| -> &[u8] {
            match data_bufs.iter().position(|x| Arc::ptr_eq(x, b)).map(|i| &guards[i].store) {
                Some(Store::Host(v)) => v,
                _ => &[],
            }
        };
        // Slice parameters and the bytes of every slice.
        let mut params: SmallVec<[va::VASliceParameterBufferH264; 4]> = SmallVec::new();
        let mut datas: SmallVec<[&[u8]; 4]> = SmallVec::new();
        for (pbuf, dbuf) in &pic.slices {
            let data = data_of(dbuf);
            pbuf.with_bytes(|pbytes, n| -> VaResult<()> {
                for i in 0..n as usize {
                    let sp: va::VASliceParameterBufferH264 = pod::read(pbytes, i).ok_or_else(|| VaError::InvalidParameter(format!("slice parameter buffer holds fewer than {n} elements")))?;
                    let off = sp.slice_data_offset as usize;
                    let end = off.checked_add(sp.slice_data_size as usize).filter(|&e| e <= data.len()).ok_or_else(|| {
                        VaError::InvalidParameter(format!("slice data {}+{} outside a {}-byte buffer", sp.slice_data_offset, sp.slice_data_size, data.len()))
                    })?;
                    params.push(sp);
                    datas.push(&data[off..end]);
                }
                Ok(())
            })?;
        }
        if params.is_empty() {
            return Err(VaError::InvalidParameter("H.264 picture without slices".into()));
        }
        let inputs: SmallVec<[h264::SliceInput; 4]> = params.iter().zip(&datas).map(|(p, d)| h264::SliceInput { params: p, data: d }).collect();
        let mode = match c.backing.h264_mode {
            H264Mode::FrameBased => h264::DecodeMode::FrameBased,
            H264Mode::SliceBased => h264::DecodeMode::SliceBased,
        };
        let has_pred_weights = c.backing.h264_slice_ctrls.1;
        let refs = Refs { driver: self, backing: &c.backing };
        let input = h264::PictureInput { profile: c.config.profile, pic: &pp, iq: iq.as_ref(), slices: &inputs };
        let mut ctrls = h264::translate_with_state(&input, &refs, mode, &mut c.h264.lock()).map_err(|e| {
            log::error!("vaEndPicture: {e}");
            VaError::InvalidParameter(e.to_string())
        })?;
        let poc_type = ctrls.sps.pic_order_cnt_type as u32;
        c.poc.lock().apply(poc_type, &mut ctrls);
        #[cfg(feature = "test-hooks")]
        super::hooks::corrupt_h264(&mut ctrls);
        let mut nals: SmallVec<[&[u8]; 4]> = SmallVec::new();
        for d in &datas {
            nals.push(h264::slice_nal(d).map_err(|e| {
                log::error!("vaEndPicture: {e}");
                VaError::InvalidParameter(e.to_string())
            })?);
        }

        let session = &c.backing.session;
        // DPB surfaces, as CAPTURE indices, so none is re-queued while read.
        let ref_indices: SmallVec<[u32; 16]> = pp
            .ReferenceFrames
            .iter()
            .filter(|r| r.flags & va::VA_PICTURE_H264_INVALID == 0 && r.picture_id != va::VA_INVALID_SURFACE)
            .filter_map(|r| refs.surface(r.picture_id))
            .map(|s| s.index)
            .filter(|&i| i != target.index)
            .collect();

        // Field pairs: the second field goes into the CAPTURE buffer the
        // first one holds (same timestamp, HOLD_CAPTURE_BUF on the first).
        let field = ctrls.decode_params.flags & k::V4L2_H264_DECODE_PARAM_FLAG_FIELD_PIC != 0;
        let bottom = ctrls.decode_params.flags & k::V4L2_H264_DECODE_PARAM_FLAG_BOTTOM_FIELD != 0;
        let open = *c.open_field.lock();
        let second_field = matches!(open, Some(o) if field && o.surface == target.id && o.bottom != bottom);
        let timestamp_ns = if second_field { open.map(|o| o.timestamp_ns).unwrap_or_else(next_timestamp_ns) } else { next_timestamp_ns() };
        let held = second_field && session.holds_capture();
        if !held {
            session.wait_reusable(target.index, sync_timeout())?;
        }
        let first_field_hold = field && !second_field && session.holds_capture();

        let base = |set: &mut CtrlSet| {
            set.push(k::V4L2_CID_STATELESS_H264_SPS, ctrls.sps);
            set.push(k::V4L2_CID_STATELESS_H264_PPS, ctrls.pps);
            if let Some(m) = ctrls.scaling_matrix {
                set.push(k::V4L2_CID_STATELESS_H264_SCALING_MATRIX, m);
            }
            set.push(k::V4L2_CID_STATELESS_H264_DECODE_PARAMS, ctrls.decode_params);
        };
        let start: &[u8] = if c.backing.annex_b { &h264::ANNEX_B_START_CODE } else { &[] };
        let timeout = sync_timeout();
        match mode {
            h264::DecodeMode::FrameBased => {
                let mut set = CtrlSet::new();
                base(&mut set);
                let mut pieces: SmallVec<[&[u8]; 8]> = SmallVec::new();
                for n in &nals {
                    pieces.push(start);
                    pieces.push(n);
                }
                session.submit(
                    Submit { target: target.index, timestamp_ns, bitstream: &pieces, controls: set.as_mut_slice(), hold_capture: first_field_hold, queue_capture: !held, refs: &ref_indices },
                    timeout,
                )?;
            }
            h264::DecodeMode::SliceBased => {
                let last = nals.len() - 1;
                for (i, (n, sc)) in nals.iter().zip(&ctrls.slices).enumerate() {
                    let mut set = CtrlSet::new();
                    base(&mut set);
                    set.push(k::V4L2_CID_STATELESS_H264_SLICE_PARAMS, sc.slice_params);
                    // Every slice states its weights: a zeroed table where the
                    // slice has none (implicit or no weighted prediction), so
                    // nothing of an earlier slice lingers in the control.
                    if has_pred_weights {
                        let w = sc.pred_weights.unwrap_or_else(zero_pred_weights);
                        set.push(k::V4L2_CID_STATELESS_H264_PRED_WEIGHTS, w);
                    }
                    #[cfg(feature = "test-hooks")]
                    super::hooks::corrupt_h264_request(i, &mut set);
                    let pieces: [&[u8]; 2] = [start, n];
                    session.submit(
                        Submit {
                            target: target.index,
                            timestamp_ns,
                            bitstream: &pieces,
                            controls: set.as_mut_slice(),
                            hold_capture: i < last || first_field_hold,
                            queue_capture: i == 0 && !held,
                            refs: &ref_indices,
                        },
                        timeout,
                    )?;
                }
            }
        }
        drop((inputs, nals, datas));
        drop(guards); // the slice data buffers are the client's again
        *c.open_field.lock() = if field && !second_field { Some(OpenField { surface: target.id, timestamp_ns, bottom }) } else { None };
        {
            let mut st = target.state.lock();
            if !ctrls.second_field {
                st.structure = Some(ctrls.structure());
            }
            st.decode_error = false;
        }
        #[cfg(feature = "bench-counters")]
        crate::v4l2::counters::frame_submitted();
        // Synchronous baseline (benchmarks): wait for the decode here, the
        // way the C drivers do. A held first field completes with its pair.
        if sync_decode() && !first_field_hold {
            session.wait_capture(target.index, timeout)?;
        }
        Ok(())
    }
}
