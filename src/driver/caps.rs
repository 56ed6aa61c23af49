//! Which VA profiles the machine decodes and on which device: built from
//! what discovery probed and what each registered codec makes of it.
use crate::codecs::{self, Codec};
use crate::ffi::va;
use crate::v4l2::discovery::{CodedCaps, DecoderInfo};
use crate::v4l2::formats;

/// A VA profile routed to the device (and coded format) that decodes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    pub profile: va::VAProfile,
    pub decoder: String,
    pub media: String,
    pub coded_fourcc: u32,
    pub codec: CodecRef,
    pub rt_formats: u32,
    pub min_width: u32,
    pub min_height: u32,
    pub max_width: u32,
    pub max_height: u32,
}

impl Route {
    /// Surface pixel formats (VA fourccs) for this route's RT formats.
    pub fn va_fourccs(&self) -> Vec<u32> {
        RT_FOURCCS.iter().filter(|(rt, _)| self.rt_formats & rt != 0).map(|(_, f)| *f).collect()
    }

    /// Is a `w`x`h` picture within this route's limits?
    pub fn size_fits(&self, w: u32, h: u32) -> bool {
        (self.min_width..=self.max_width).contains(&w) && (self.min_height..=self.max_height).contains(&h)
    }

    pub fn codec(&self) -> &'static dyn Codec {
        self.codec.0
    }
}

/// A registered codec, as a route names it.
#[derive(Clone, Copy)]
pub struct CodecRef(pub &'static dyn Codec);

impl std::fmt::Debug for CodecRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0.name())
    }
}

impl PartialEq for CodecRef {
    fn eq(&self, o: &Self) -> bool {
        self.0.coded_fourcc() == o.0.coded_fourcc()
    }
}

impl Eq for CodecRef {}

/// VA surface fourcc of each RT format a codec may declare.
pub const RT_FOURCCS: [(u32, u32); 3] =
    [(va::VA_RT_FORMAT_YUV420, va::VA_FOURCC_NV12), (va::VA_RT_FORMAT_YUV420_10, va::VA_FOURCC_P010), (va::VA_RT_FORMAT_YUV422, va::VA_FOURCC_P208)];

/// Whether one of the CAPTURE formats offered for a coded format is a
/// layout the driver can map, convert and export.
pub fn has_exportable_capture(c: &CodedCaps) -> bool {
    c.capture.iter().any(|f| formats::layout_of(*f).and_then(super::export::drm_description).is_some())
}

/// Routes for every supported profile; the first device that decodes a
/// profile gets it (discovery order: /dev/media0 first).
pub fn routes(decoders: &[DecoderInfo]) -> Vec<Route> {
    let mut out: Vec<Route> = Vec::new();
    for d in decoders {
        for c in &d.coded {
            if !has_exportable_capture(c) {
                log::info!(
                    "{}: {} has no CAPTURE layout this driver can export ({}), not advertised",
                    d.video_path,
                    formats::name(c.fourcc),
                    c.capture.iter().map(|f| formats::name(*f)).collect::<Vec<_>>().join(",")
                );
                continue;
            }
            let Some(codec) = codecs::by_fourcc(c.fourcc) else { continue };
            for p in codec.profiles(c) {
                if out.iter().any(|r| r.profile == p.profile) {
                    continue;
                }
                let sizes = codec.picture_sizes(c, p.profile);
                out.push(Route {
                    profile: p.profile,
                    decoder: d.video_path.clone(),
                    media: d.media_path.clone(),
                    coded_fourcc: c.fourcc,
                    codec: CodecRef(codec),
                    rt_formats: p.rt_formats,
                    min_width: sizes.min_width.max(1),
                    min_height: sizes.min_height.max(1),
                    max_width: sizes.max_width.max(sizes.min_width.max(1)),
                    max_height: sizes.max_height.max(sizes.min_height.max(1)),
                });
            }
        }
    }
    out
}

// Routing with real codecs is tested next to each codec (codecs/<codec>/:
// profiles from menus, first device wins, unusable CAPTURE formats).
