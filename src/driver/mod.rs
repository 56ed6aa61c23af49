//! Driver objects: the VA display's state (discovered decoders, profile
//! routing) and the object tables for configs, contexts, surfaces, buffers
//! and images. Each method here is one VA entry point minus the C ABI.
pub mod buffer;
pub mod caps;
pub mod context;
pub mod diagnose;
pub mod error;
pub mod export;
pub mod image;
pub mod settings;
pub mod surface;
pub mod table;

use crate::ffi::va;
use crate::v4l2::discovery::{self, DecoderInfo};
use buffer::Buffer;
use caps::Route;
use context::Context;
pub use error::{VaError, VaResult};
use image::Image;
use parking_lot::Mutex;
use std::ffi::CString;
use std::sync::{Arc, Weak};
use surface::{Backing, Surface};
use table::{Kind, Table};

pub const VENDOR_PREFIX: &str = concat!("hantro_drv_video ", env!("CARGO_PKG_VERSION"));

pub const MAX_PROFILES: i32 = 32;
pub const MAX_ENTRYPOINTS: i32 = 4;
pub const MAX_ATTRIBUTES: i32 = 16;
pub const MAX_IMAGE_FORMATS: i32 = 4;
pub const MAX_SUBPIC_FORMATS: i32 = 1;
/// A decoder has no display attributes (brightness, rotation, ...): 0
/// tells clients so (libva-utils' test_va_api then expects
/// vaQueryDisplayAttributes to list none and vaGet/SetDisplayAttributes
/// to be VA_STATUS_ERROR_UNIMPLEMENTED, which they are).
pub const MAX_DISPLAY_ATTRIBUTES: i32 = 0;

/// A VA config: profile, entrypoint, chosen RT format, routed device.
#[derive(Debug, Clone)]
pub struct Config {
    pub profile: va::VAProfile,
    pub entrypoint: va::VAEntrypoint,
    pub rt_format: u32,
    pub route: Route,
}

pub struct Driver {
    /// The environment, read once at vaInitialize.
    pub settings: settings::Settings,
    pub decoders: Vec<DecoderInfo>,
    pub routes: Vec<Route>,
    pub vendor: CString,
    pub configs: Table<Config>,
    pub contexts: Table<Context>,
    pub surfaces: Table<Surface>,
    pub buffers: Table<Buffer>,
    /// Destroyed VA buffers kept for reuse by vaCreateBuffer.
    pub(crate) buffer_pool: Mutex<buffer::BufferPool>,
    pub images: Table<Image>,
    /// Sessions (CAPTURE pools) alive, to place new surfaces next to the
    /// context or config they will be used with.
    pub(crate) backings: Mutex<Vec<Weak<Backing>>>,
    /// Most recently created config and its route, per thread that created
    /// one (newest last, a few threads kept): the hint for surfaces created
    /// before their context (ffmpeg, Chromium); the route outlives the
    /// config (ffmpeg destroys the config it probed with first). Per
    /// thread, because a client sets one decoder up on one thread (config,
    /// surfaces, context) and two decoders set up at the same moment on two
    /// threads must not take each other's hint. See [`Driver::config_hint`].
    pub(crate) last_config: Mutex<Vec<ConfigHint>>,
}

/// The newest config a thread created, and its route.
pub(crate) struct ConfigHint {
    pub thread: std::thread::ThreadId,
    pub config: u32,
    pub route: Route,
}

/// Threads whose newest config is remembered.
const CONFIG_HINTS: usize = 16;

impl Driver {
    /// Discovers the decoders of every registered codec (vaInitialize).
    pub fn new(settings: settings::Settings) -> VaResult<Driver> {
        let decoders = discovery::discover(&crate::codecs::probes(), settings.media_device.as_deref(), settings.video_device.as_deref())
            .map_err(|e| VaError::Unknown(e.to_string()))?;
        Self::with_decoders(settings, decoders)
    }

    pub fn with_decoders(settings: settings::Settings, decoders: Vec<DecoderInfo>) -> VaResult<Driver> {
        let routes = caps::routes(&decoders);
        diagnose::report(&decoders, &routes);
        if routes.is_empty() {
            let what: Vec<String> = decoders.iter().map(|d| format!("{} ({})", d.video_path, d.driver)).collect();
            return Err(VaError::Unknown(format!("decoders found ({}) but none decodes a format this driver supports", what.join(", "))));
        }
        let cards: Vec<String> = {
            let mut v: Vec<String> =
                decoders.iter().filter(|d| routes.iter().any(|r| r.decoder == d.video_path)).map(|d| format!("{} ({})", d.card, d.driver)).collect();
            v.dedup();
            v
        };
        let vendor = CString::new(format!("{VENDOR_PREFIX} on {}", cards.join(" + "))).unwrap_or_default();
        Ok(Driver {
            settings,
            decoders,
            routes,
            vendor,
            configs: Table::new(Kind::Config),
            contexts: Table::new(Kind::Context),
            surfaces: Table::new(Kind::Surface),
            buffers: Table::new(Kind::Buffer),
            buffer_pool: Mutex::new(buffer::BufferPool::default()),
            images: Table::new(Kind::Image),
            backings: Mutex::new(Vec::new()),
            last_config: Mutex::new(Vec::new()),
        })
    }

    pub fn decoder(&self, path: &str) -> Option<&DecoderInfo> {
        self.decoders.iter().find(|d| d.video_path == path)
    }

    /// vaTerminate: destroys every object; sessions close their fds,
    /// mappings and requests as the last reference goes.
    pub fn terminate(&self) {
        for (_, c) in self.contexts.values() {
            c.shutdown();
        }
        self.images.drain();
        self.buffers.drain();
        self.contexts.drain();
        self.surfaces.drain();
        self.configs.drain();
    }

    pub fn query_profiles(&self) -> Vec<va::VAProfile> {
        let mut v: Vec<va::VAProfile> = self.routes.iter().map(|r| r.profile).collect();
        v.dedup();
        v
    }

    fn route(&self, profile: va::VAProfile) -> VaResult<&Route> {
        self.routes.iter().find(|r| r.profile == profile).ok_or(VaError::UnsupportedProfile)
    }

    pub fn query_entrypoints(&self, profile: va::VAProfile) -> VaResult<Vec<va::VAEntrypoint>> {
        self.route(profile)?;
        Ok(vec![va::VAEntrypointVLD])
    }

    /// vaGetConfigAttributes: fills `value` of each requested attribute.
    pub fn get_config_attributes(&self, profile: va::VAProfile, entrypoint: va::VAEntrypoint, attribs: &mut [va::VAConfigAttrib]) -> VaResult<()> {
        let route = self.route(profile)?;
        if entrypoint != va::VAEntrypointVLD {
            return Err(VaError::UnsupportedEntrypoint);
        }
        for a in attribs.iter_mut() {
            a.value = self.attribute_value(route, a.type_).unwrap_or(va::VA_ATTRIB_NOT_SUPPORTED);
        }
        Ok(())
    }

    fn attribute_value(&self, route: &Route, t: va::VAConfigAttribType) -> Option<u32> {
        match t {
            va::VAConfigAttribRTFormat => Some(route.rt_formats),
            va::VAConfigAttribDecSliceMode => Some(va::VA_DEC_SLICE_MODE_NORMAL),
            va::VAConfigAttribMaxPictureWidth => Some(route.max_width),
            va::VAConfigAttribMaxPictureHeight => Some(route.max_height),
            _ => None,
        }
    }

    pub fn create_config(&self, profile: va::VAProfile, entrypoint: va::VAEntrypoint, attribs: &[va::VAConfigAttrib]) -> VaResult<u32> {
        let route = self.route(profile)?.clone();
        if entrypoint != va::VAEntrypointVLD {
            return Err(VaError::UnsupportedEntrypoint);
        }
        // Default: 8-bit 4:2:0 where the profile has it, else its first RT
        // format (a 10-bit-only profile must not default to one it lacks).
        let mut rt_format =
            if route.rt_formats & va::VA_RT_FORMAT_YUV420 != 0 { va::VA_RT_FORMAT_YUV420 } else { 1 << route.rt_formats.trailing_zeros().min(31) };
        for a in attribs {
            match a.type_ {
                va::VAConfigAttribRTFormat => {
                    if a.value & route.rt_formats == 0 {
                        return Err(VaError::UnsupportedRtFormat);
                    }
                    rt_format = if a.value & va::VA_RT_FORMAT_YUV420 != 0 { va::VA_RT_FORMAT_YUV420 } else { a.value & route.rt_formats };
                }
                va::VAConfigAttribDecSliceMode => {
                    if a.value != va::VA_DEC_SLICE_MODE_NORMAL {
                        return Err(VaError::InvalidValue(format!("DecSliceMode {:#x}", a.value)));
                    }
                }
                va::VAConfigAttribMaxPictureWidth | va::VAConfigAttribMaxPictureHeight => {}
                // An attribute VA defines but this config does not support
                // (vaGetConfigAttributes says VA_ATTRIB_NOT_SUPPORTED): no
                // value is in its (empty) set of supported values, so the
                // value is invalid, as test_va_api's CreateConfigPackedHeaders
                // holds and Mesa answers for EncPackedHeaders on a decoder.
                t if t < va::VAConfigAttribTypeMax => {
                    return Err(VaError::InvalidValue(format!("config attribute {t} (value {:#x}) is not supported by a decoder", a.value)))
                }
                // A type this libva does not know.
                _ => return Err(VaError::AttrNotSupported),
            }
        }
        let (id, _) = self.configs.insert(Config { profile, entrypoint, rt_format, route: route.clone() }).ok_or(VaError::MaxNumExceeded)?;
        let thread = std::thread::current().id();
        let mut hints = self.last_config.lock();
        hints.retain(|h| h.thread != thread);
        if hints.len() >= CONFIG_HINTS {
            hints.remove(0);
        }
        hints.push(ConfigHint { thread, config: id, route });
        Ok(id)
    }

    /// The config new surfaces are most likely for: the newest one the
    /// calling thread created, else the newest of all (surfaces a decoder's
    /// pool adds later from a worker thread).
    pub(crate) fn config_hint(&self) -> Option<(u32, Route)> {
        let thread = std::thread::current().id();
        let hints = self.last_config.lock();
        hints.iter().rev().find(|h| h.thread == thread).or(hints.last()).map(|h| (h.config, h.route.clone()))
    }

    pub fn destroy_config(&self, id: u32) -> VaResult<()> {
        self.configs.remove(id).map(|_| ()).ok_or(VaError::InvalidConfig)
    }

    pub fn config(&self, id: u32) -> VaResult<Arc<Config>> {
        self.configs.get(id).ok_or(VaError::InvalidConfig)
    }

    /// vaQueryConfigAttributes: profile, entrypoint and the attributes.
    pub fn query_config_attributes(&self, id: u32) -> VaResult<(va::VAProfile, va::VAEntrypoint, Vec<va::VAConfigAttrib>)> {
        let c = self.config(id)?;
        let attribs = vec![
            va::VAConfigAttrib { type_: va::VAConfigAttribRTFormat, value: c.rt_format },
            va::VAConfigAttrib { type_: va::VAConfigAttribDecSliceMode, value: va::VA_DEC_SLICE_MODE_NORMAL },
            va::VAConfigAttrib { type_: va::VAConfigAttribMaxPictureWidth, value: c.route.max_width },
            va::VAConfigAttrib { type_: va::VAConfigAttribMaxPictureHeight, value: c.route.max_height },
        ];
        Ok((c.profile, c.entrypoint, attribs))
    }

    /// vaQuerySurfaceAttributes for a config.
    pub fn query_surface_attributes(&self, config: u32) -> VaResult<Vec<va::VASurfaceAttrib>> {
        let c = self.config(config)?;
        let int = |t: va::VASurfaceAttribType, flags: u32, v: u32| {
            let mut a = va::VASurfaceAttrib { type_: t, flags, ..Default::default() };
            a.value.type_ = va::VAGenericValueTypeInteger;
            a.value.value.i = v as i32;
            a
        };
        let gs = va::VA_SURFACE_ATTRIB_GETTABLE | va::VA_SURFACE_ATTRIB_SETTABLE;
        let mut v = Vec::new();
        for f in c.route.va_fourccs() {
            v.push(int(va::VASurfaceAttribPixelFormat, gs, f));
        }
        v.push(int(va::VASurfaceAttribMinWidth, va::VA_SURFACE_ATTRIB_GETTABLE, c.route.min_width));
        v.push(int(va::VASurfaceAttribMinHeight, va::VA_SURFACE_ATTRIB_GETTABLE, c.route.min_height));
        v.push(int(va::VASurfaceAttribMaxWidth, va::VA_SURFACE_ATTRIB_GETTABLE, c.route.max_width));
        v.push(int(va::VASurfaceAttribMaxHeight, va::VA_SURFACE_ATTRIB_GETTABLE, c.route.max_height));
        v.push(int(va::VASurfaceAttribMemoryType, gs, va::VA_SURFACE_ATTRIB_MEM_TYPE_VA | va::VA_SURFACE_ATTRIB_MEM_TYPE_DRM_PRIME_2));
        v.push(int(va::VASurfaceAttribUsageHint, gs, 0));
        Ok(v)
    }

    /// vaQueryImageFormats.
    pub fn image_formats(&self) -> Vec<va::VAImageFormat> {
        image::formats(self.routes.iter().fold(0, |m, r| m | r.rt_formats))
    }
}
