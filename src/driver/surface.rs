//! Surfaces. A VA surface within the limits of the decoder it is placed
//! with is backed by one CAPTURE buffer of a decoding session for its whole
//! life, so it can be exported, mapped or read before its first decode, in
//! whatever order the client creates configs, contexts and surfaces.
//!
//! A VA surface is not bounded by a decoder's limits (va.h sets none; Mesa
//! refuses only a zero size, nvidia-vaapi-driver backs a surface only when
//! it is needed, and libva-utils' test_va_api creates 8192x8192 and
//! 10240x10240 surfaces for every decode profile). A surface larger than
//! the device decodes has no
//! CAPTURE buffer to live in: it is created without storage. It can be
//! destroyed, synced and queried; nothing can be decoded into it (no
//! context of its size exists, vaCreateContext refuses it), and calls that
//! need its pixels (export, derive, get/put image) answer
//! VA_STATUS_ERROR_RESOLUTION_NOT_SUPPORTED.
use super::caps::{Route, RT_FOURCCS};
use super::settings::Settings;
use super::{Driver, VaError, VaResult};
use crate::codecs::codec::{Decoding, PicStructure, SessionParams, SessionPlan};
use crate::ffi::va;
use crate::v4l2::discovery::{CodedCaps, DecoderInfo};
use crate::v4l2::formats;
use crate::v4l2::session::{Completion, Session, SessionSetup};
use parking_lot::Mutex;
use std::sync::{Arc, Weak};
use std::time::Duration;

/// Largest surface or image side the driver takes, whatever the device:
/// 16384, the bound vaCreateImage already had (VAImage sides are 16-bit;
/// no stateless decoder comes near it). Beyond
/// it vaCreateSurfaces says VA_STATUS_ERROR_RESOLUTION_NOT_SUPPORTED.
pub const MAX_PICTURE_SIDE: u32 = 16384;

/// `v` rounded up to a multiple of 16, saturating: client sizes near
/// u32::MAX must stay huge (and be refused), not wrap to 0.
pub fn align16(v: u32) -> u32 {
    v.saturating_add(15) & !15
}

/// A decoding session shared by the surfaces allocated in it and by the
/// context (at most one) that decodes into them.
pub struct Backing {
    pub session: Session,
    pub route: Route,
    /// What discovery found for this route's coded format.
    pub caps: CodedCaps,
    /// RT format of the surfaces (bit depth and chroma of the CAPTURE format).
    pub rt_format: u32,
    pub width: u32,
    pub height: u32,
    /// How the codec set the session up (decode mode, start code, depth).
    pub decoding: Decoding,
    /// Settings' sync timeout, for waits without the driver at hand.
    pub sync_timeout: Duration,
    /// Context that adopted this session ([`CLAIMED`] while one is being made).
    pub owner: Mutex<Option<u32>>,
    /// Thread that opened the session. Only a context made on that thread
    /// adopts it without render targets, and only surfaces created on that
    /// thread join it before a context owns it: two decoders set up at the
    /// same moment on two threads get a session each.
    pub creator: std::thread::ThreadId,
}

/// `owner` of a session a context is being made for (never an object id).
pub const CLAIMED: u32 = 0;

impl Backing {
    pub fn open(dec: &DecoderInfo, route: &Route, rt_format: u32, width: u32, height: u32, settings: &Settings) -> VaResult<Backing> {
        let (w, h) = (align16(width.max(route.min_width)), align16(height.max(route.min_height)));
        if w > align16(route.max_width) || h > align16(route.max_height) {
            return Err(VaError::ResolutionNotSupported);
        }
        let caps = dec.coded(route.coded_fourcc).cloned().unwrap_or_default();
        let codec = route.codec();
        let SessionPlan { mut controls, capture_formats, decoding } = codec.session(&SessionParams {
            caps: &caps,
            profile: route.profile,
            rt_format,
            width: w,
            height: h,
            forced_mode: settings.decode_mode_for(route.coded_fourcc),
        });
        let session = Session::open(
            &route.media,
            &route.decoder,
            SessionSetup {
                coded_fourcc: route.coded_fourcc,
                width: w,
                height: h,
                bitstream_size: (w * h * 3 / 4).max(512 * 1024),
                controls: controls.as_mut_slice(),
                capture_formats: &capture_formats,
                max_slots: settings.output_pool_max,
            },
        )
        .map_err(|e| VaError::from(e).context(format!("cannot start a {w}x{h} {} session on {}", codec.name(), route.decoder)))?;
        log::info!(
            "{}: {}x{} {} session, CAPTURE {} {}x{}, {}",
            route.decoder,
            w,
            h,
            codec.name(),
            formats::name(session.capture_format.fourcc),
            session.capture_format.width,
            session.capture_format.height,
            decoding
        );
        Ok(Backing {
            session,
            route: route.clone(),
            caps,
            rt_format,
            width: w,
            height: h,
            decoding,
            sync_timeout: settings.sync_timeout,
            owner: Mutex::new(None),
            creator: std::thread::current().id(),
        })
    }

    /// Takes the session for a context being made, if no context owns it.
    pub fn claim(&self) -> bool {
        let mut o = self.owner.lock();
        if o.is_none() {
            *o = Some(CLAIMED);
            true
        } else {
            false
        }
    }

    /// Is the session free for what the calling thread sets up (see `creator`)?
    pub fn unowned_here(&self) -> bool {
        self.creator == std::thread::current().id() && self.owner.lock().is_none()
    }

    /// Can a context of this route and size decode into this session?
    pub fn fits(&self, route: &Route, rt_format: u32, width: u32, height: u32) -> bool {
        self.route.decoder == route.decoder
            && self.route.coded_fourcc == route.coded_fourcc
            && self.rt_format == rt_format
            && align16(width) <= self.width
            && align16(height) <= self.height
    }
}

#[derive(Default)]
pub struct SurfaceState {
    /// Error of the last decode, for vaQuerySurfaceError.
    pub decode_error: bool,
    /// Storage handed out by vaQuerySurfaceError (stable address).
    pub mb_errors: Option<Box<[va::VASurfaceDecodeMBErrors; 2]>>,
    /// Image currently derived from this surface.
    pub derived: Option<u32>,
    /// How the picture in it was coded (frame, or field pair and which
    /// field came first): V4L2's DPB needs it, VA does not say.
    pub structure: Option<PicStructure>,
}

/// Where a surface's picture lives: a CAPTURE buffer of a session.
pub struct Storage {
    pub backing: Arc<Backing>,
    pub index: u32,
}

pub struct Surface {
    pub id: u32,
    pub width: u32,
    pub height: u32,
    pub rt_format: u32,
    /// `None`: larger than the device decodes (see the module comment).
    pub storage: Option<Storage>,
    pub state: Mutex<SurfaceState>,
}

impl Drop for Surface {
    fn drop(&mut self) {
        if let Some(st) = &self.storage {
            st.backing.session.release_capture(st.index, st.backing.sync_timeout);
        }
    }
}

impl Surface {
    /// The CAPTURE buffer behind the surface, or why there is none.
    pub fn backed(&self) -> VaResult<&Storage> {
        self.storage.as_ref().ok_or_else(|| {
            VaError::ResolutionNotSupported
                .context(format!("surface {:#x} of {}x{} is larger than the decoder handles and holds no picture", self.id, self.width, self.height))
        })
    }

    /// Is the surface stored in `backing`'s session?
    pub fn in_session(&self, backing: &Arc<Backing>) -> bool {
        self.storage.as_ref().is_some_and(|st| Arc::ptr_eq(&st.backing, backing))
    }

    /// Waits for the decode into this surface (vaSyncSurface); a surface
    /// without storage never has one pending.
    pub fn sync(&self, timeout: Duration) -> VaResult<()> {
        let Some(st) = &self.storage else { return Ok(()) };
        match st.backing.session.wait_capture(st.index, timeout)? {
            Completion::Idle { error: true, .. } => {
                self.state.lock().decode_error = true;
                Err(VaError::DecodingError)
            }
            _ => Ok(()),
        }
    }

    pub fn is_rendering(&self) -> VaResult<bool> {
        match &self.storage {
            Some(st) => Ok(st.backing.session.status(st.index)? == Completion::Pending),
            None => Ok(false),
        }
    }
}

impl Driver {
    fn live_backings(&self) -> Vec<Arc<Backing>> {
        let mut g = self.backings.lock();
        g.retain(|w| w.strong_count() > 0);
        g.iter().rev().filter_map(Weak::upgrade).collect()
    }

    pub(crate) fn new_backing(&self, route: &Route, rt_format: u32, width: u32, height: u32) -> VaResult<Arc<Backing>> {
        let dec = self.decoder(&route.decoder).ok_or_else(|| VaError::OperationFailed(format!("no decoder {}", route.decoder)))?;
        let b = Arc::new(Backing::open(dec, route, rt_format, width, height, &self.settings)?);
        self.backings.lock().push(Arc::downgrade(&b));
        Ok(b)
    }

    /// Where new surfaces go: the newest context made from the newest
    /// config whose session fits them, else an unowned session of the
    /// newest config's route and this size, else a new session for that
    /// route (or the first route).
    ///
    /// Only a context of the newest config: a client that created a config
    /// after that context is setting up another decoder (ffmpeg 5.1 and
    /// Chromium create config -> surfaces -> context), whose surfaces must
    /// not land in the running decoder's session (two same-size streams in
    /// one process would share one CAPTURE queue and exhaust it).
    fn backing_for_surfaces(&self, rt_format: u32, width: u32, height: u32) -> VaResult<Arc<Backing>> {
        let mut contexts = self.contexts.values();
        contexts.sort_by_key(|(id, _)| std::cmp::Reverse(id & 0xffff));
        let hint = self.config_hint();
        let newest_config = hint.as_ref().and_then(|(id, _)| self.configs.get(*id));
        for (_, c) in &contexts {
            if newest_config.as_ref().is_some_and(|n| Arc::ptr_eq(n, &c.config))
                && c.backing.fits(&c.backing.route, rt_format, width, height)
                && align16(width) == c.backing.width
                && align16(height) == c.backing.height
            {
                return Ok(c.backing.clone());
            }
        }
        let route = hint.map(|(_, r)| r).unwrap_or_else(|| self.routes[0].clone());
        for b in self.live_backings() {
            if b.unowned_here() && b.fits(&route, rt_format, width, height) && b.width == align16(width) && b.height == align16(height) {
                return Ok(b);
            }
        }
        self.new_backing(&route, rt_format, width, height)
    }

    /// vaCreateSurfaces / vaCreateSurfaces2.
    pub fn create_surfaces(&self, rt_format: u32, width: u32, height: u32, count: usize, attribs: &[va::VASurfaceAttrib]) -> VaResult<Vec<u32>> {
        if width == 0 || height == 0 || count == 0 {
            return Err(VaError::InvalidParameter(format!("{count} surfaces of {width}x{height}")));
        }
        let supported = |rt: u32| self.routes.iter().any(|r| r.rt_formats & rt != 0);
        // Like Mesa: a pixel format attribute decides the surface format
        // (and so its RT format); test_va_api creates YUV420 surfaces with
        // each pixel format vaQuerySurfaceAttributes lists (P010 too).
        let pixel_format = attribs
            .iter()
            .filter(|a| a.type_ == va::VASurfaceAttribPixelFormat && a.value.type_ == va::VAGenericValueTypeInteger)
            .map(|a| unsafe_int(a) as u32)
            .next_back();
        let rt_format = match pixel_format.and_then(|pf| RT_FOURCCS.iter().find(|(rt, f)| *f == pf && supported(*rt))) {
            Some(&(rt, _)) => rt,
            None => rt_format,
        };
        let Some(&(_, fourcc)) = RT_FOURCCS.iter().find(|(rt, _)| *rt == rt_format).filter(|_| supported(rt_format)) else {
            return Err(VaError::UnsupportedRtFormat);
        };
        for a in attribs {
            // Like Mesa: attributes whose value is not integer-typed are
            // ignored (FFmpeg 5.1 sends a pixel format with an unset type).
            if a.value.type_ != va::VAGenericValueTypeInteger {
                continue;
            }
            let v = unsafe_int(a);
            match a.type_ {
                va::VASurfaceAttribPixelFormat if v as u32 != fourcc => {
                    log::debug!("vaCreateSurfaces: pixel format {} not supported", crate::v4l2::formats::name(v as u32));
                    return Err(VaError::InvalidImageFormat);
                }
                va::VASurfaceAttribMemoryType => {
                    let t = v as u32;
                    if t != 0 && t & (va::VA_SURFACE_ATTRIB_MEM_TYPE_VA | va::VA_SURFACE_ATTRIB_MEM_TYPE_DRM_PRIME_2) == 0 {
                        return Err(VaError::UnsupportedMemoryType);
                    }
                }
                _ => {} // usage hints and the rest are accepted
            }
        }
        if attribs.iter().any(|a| a.type_ == va::VASurfaceAttribExternalBufferDescriptor) {
            return Err(VaError::UnsupportedMemoryType);
        }
        if count > 64 {
            return Err(VaError::MaxNumExceeded);
        }
        let backing = match self.backing_for_surfaces(rt_format, width, height) {
            Ok(b) => b,
            // Beyond the route's limits (Backing::open's own check; a
            // device refusal comes wrapped in a context).
            Err(VaError::ResolutionNotSupported) => return self.unbacked_surfaces(rt_format, width, height, count),
            Err(e) => return Err(e),
        };
        let indices = backing.session.alloc_capture(count)?;
        let mut ids = Vec::with_capacity(count);
        let mut it = indices.into_iter();
        for index in it.by_ref() {
            let b = backing.clone();
            let storage = Some(Storage { backing: b, index });
            match self.surfaces.insert_with(|id| Surface { id, width, height, rt_format, storage, state: Mutex::new(SurfaceState::default()) }) {
                Some((id, _)) => ids.push(id),
                None => {
                    backing.session.release_capture(index, Duration::ZERO);
                    for id in &ids {
                        self.surfaces.remove(*id);
                    }
                    for rest in it {
                        backing.session.release_capture(rest, Duration::ZERO);
                    }
                    return Err(VaError::MaxNumExceeded);
                }
            }
        }
        Ok(ids)
    }

    /// Surfaces larger than the route they would be placed with decodes:
    /// created without storage (see the module comment).
    fn unbacked_surfaces(&self, rt_format: u32, width: u32, height: u32, count: usize) -> VaResult<Vec<u32>> {
        if width > MAX_PICTURE_SIDE || height > MAX_PICTURE_SIDE {
            return Err(VaError::ResolutionNotSupported.context(format!("{width}x{height} surfaces: a side exceeds {MAX_PICTURE_SIDE}")));
        }
        log::debug!("vaCreateSurfaces: {count} surfaces of {width}x{height} exceed the decoder's limits, created without storage");
        let mut ids = Vec::with_capacity(count);
        for _ in 0..count {
            match self.surfaces.insert_with(|id| Surface { id, width, height, rt_format, storage: None, state: Mutex::new(SurfaceState::default()) }) {
                Some((id, _)) => ids.push(id),
                None => {
                    for id in &ids {
                        self.surfaces.remove(*id);
                    }
                    return Err(VaError::MaxNumExceeded);
                }
            }
        }
        Ok(ids)
    }

    pub fn destroy_surfaces(&self, ids: &[u32]) -> VaResult<()> {
        let mut result = Ok(());
        for &id in ids {
            match self.surfaces.remove(id) {
                Some(s) => {
                    // An image still derived from the surface goes with it,
                    // and so does its buffer (which holds the surface, and
                    // through it the CAPTURE buffer and the whole session).
                    let derived = s.state.lock().derived.take();
                    if let Some(img) = derived.and_then(|img| self.images.remove(img)) {
                        self.buffers.remove(img.image.buf);
                    }
                }
                None => result = Err(VaError::InvalidSurface),
            }
        }
        result
    }

    pub fn surface(&self, id: u32) -> VaResult<Arc<Surface>> {
        self.surfaces.get(id).ok_or(VaError::InvalidSurface)
    }

    pub fn sync_surface(&self, id: u32) -> VaResult<()> {
        self.surface(id)?.sync(self.settings.sync_timeout)
    }

    /// vaSyncSurface2: VA_TIMEOUT_INFINITE (u64::MAX) means our own bound.
    pub fn sync_surface_timeout(&self, id: u32, timeout_ns: u64) -> VaResult<()> {
        let t = if timeout_ns == u64::MAX { self.settings.sync_timeout } else { Duration::from_nanos(timeout_ns) };
        self.surface(id)?.sync(t)
    }

    pub fn surface_status(&self, id: u32) -> VaResult<va::VASurfaceStatus> {
        Ok(if self.surface(id)?.is_rendering()? { va::VASurfaceRendering } else { va::VASurfaceReady })
    }

    /// vaQuerySurfaceError: a pointer to an array of macroblock errors,
    /// terminated by status -1, owned by the surface.
    pub fn surface_error(&self, id: u32, error: va::VAStatus) -> VaResult<*mut std::ffi::c_void> {
        let s = self.surface(id)?;
        if error != va::VA_STATUS_ERROR_DECODING_ERROR as va::VAStatus {
            return Err(VaError::InvalidParameter(format!("error status {error:#x}")));
        }
        let mut st = s.state.lock();
        let mut arr: Box<[va::VASurfaceDecodeMBErrors; 2]> = Box::new([va::VASurfaceDecodeMBErrors::default(); 2]);
        if st.decode_error {
            let (w, h) = s.storage.as_ref().map_or((align16(s.width), align16(s.height)), |st| (st.backing.width, st.backing.height));
            let mbs = w / 16 * (h / 16);
            arr[0].status = 1;
            arr[0].start_mb = 0;
            arr[0].end_mb = mbs.saturating_sub(1);
            arr[0].decode_error_type = va::VADecodeMBError;
            arr[1].status = -1;
        } else {
            arr[0].status = -1;
        }
        let p = arr.as_mut_ptr() as *mut std::ffi::c_void;
        st.mb_errors = Some(arr);
        Ok(p)
    }
}

fn unsafe_int(a: &va::VASurfaceAttrib) -> i32 {
    // SAFETY: every member of the value union is plain integer data of the
    // union's size, so reading `i` is defined whatever the client wrote;
    // callers use it only when value.type_ says integer.
    unsafe { a.value.value.i }
}
