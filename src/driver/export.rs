//! vaExportSurfaceHandle: DRM PRIME descriptors of a surface's CAPTURE
//! buffer, composed (one two-plane layer: NV12, P010, NV15, NV16, NV20) or
//! separate (one layer per plane: R8 + GR88, R16 + GR1616), with the
//! layout's modifier (linear, Allwinner tiled).
use super::{Driver, VaError, VaResult};
use crate::ffi::va;
use crate::v4l2::formats::Layout;
use drm_fourcc::{DrmFourcc, DrmModifier};
use std::os::fd::IntoRawFd;

/// DRM_FORMAT_NV20 (10-bit packed 4:2:2), newer than the drm-fourcc crate.
const DRM_FORMAT_NV20: u32 = crate::v4l2::formats::fourcc(b'N', b'V', b'2', b'0');

/// How a CAPTURE layout is described to DRM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DrmDescription {
    /// The two-plane format of a composed layer.
    pub composed: u32,
    /// Per-plane formats of separate layers, where DRM has them.
    pub separate: Option<[u32; 2]>,
    pub modifier: u64,
}

/// `None`: DRM has no format/modifier for this layout (NV12_4L4: no
/// upstream modifier for hantro's 4x4 tiles), so it cannot be exported and
/// a device offering only it is not advertised.
pub fn drm_description(layout: Layout) -> Option<DrmDescription> {
    let linear: u64 = DrmModifier::Linear.into();
    let eight = Some([DrmFourcc::R8 as u32, DrmFourcc::Gr88 as u32]);
    Some(match layout {
        Layout::Nv12 => DrmDescription { composed: DrmFourcc::Nv12 as u32, separate: eight, modifier: linear },
        Layout::Nv12Tiled32 => DrmDescription { composed: DrmFourcc::Nv12 as u32, separate: eight, modifier: DrmModifier::Allwinner_tiled.into() },
        Layout::Nv12Tiled4 => return None,
        Layout::P010 => {
            DrmDescription { composed: DrmFourcc::P010 as u32, separate: Some([DrmFourcc::R16 as u32, DrmFourcc::Gr1616 as u32]), modifier: linear }
        }
        Layout::Nv15 => DrmDescription { composed: DrmFourcc::Nv15 as u32, separate: None, modifier: linear },
        Layout::Nv16 => DrmDescription { composed: DrmFourcc::Nv16 as u32, separate: eight, modifier: linear },
        Layout::Nv20 => DrmDescription { composed: DRM_FORMAT_NV20, separate: None, modifier: linear },
    })
}

impl Driver {
    pub fn export_surface(&self, surface_id: u32, mem_type: u32, flags: u32) -> VaResult<va::VADRMPRIMESurfaceDescriptor> {
        let s = self.surface(surface_id)?;
        if mem_type != va::VA_SURFACE_ATTRIB_MEM_TYPE_DRM_PRIME_2 {
            return Err(VaError::UnsupportedMemoryType);
        }
        let composed = flags & va::VA_EXPORT_SURFACE_COMPOSED_LAYERS != 0;
        let separate = flags & va::VA_EXPORT_SURFACE_SEPARATE_LAYERS != 0;
        if composed == separate {
            return Err(VaError::InvalidParameter(format!("export flags {flags:#x}: exactly one of COMPOSED_LAYERS and SEPARATE_LAYERS")));
        }
        let st = s.backed()?;
        let session = &st.backing.session;
        let desc = drm_description(session.layout)
            .ok_or_else(|| VaError::Unimplemented.context(format!("CAPTURE layout {:?} has no DRM format/modifier", session.layout)))?;
        let separate_formats = match (composed, desc.separate) {
            (true, _) => [0; 2],
            (false, Some(f)) => f,
            (false, None) => return Err(VaError::InvalidParameter(format!("CAPTURE layout {:?} cannot be exported as separate layers", session.layout))),
        };
        let modifier = desc.modifier;
        let sizes = session.capture_sizes(st.index);
        let planes = session.plane_layout();
        let fds = session.export(st.index)?;
        if fds.is_empty() || fds.len() > 4 {
            return Err(VaError::OperationFailed(format!("CAPTURE buffer with {} memory planes cannot be described", fds.len())));
        }
        let fourcc = super::image::ImageKind::of_layout(session.layout).map_or(0, |k| k.fourcc);
        let mut d = va::VADRMPRIMESurfaceDescriptor { fourcc, width: s.width, height: s.height, num_objects: fds.len() as u32, ..Default::default() };
        for (i, fd) in fds.into_iter().enumerate() {
            d.objects[i].fd = fd.into_raw_fd(); // the client owns and closes it
            d.objects[i].size = sizes.get(i).copied().unwrap_or(0);
            d.objects[i].drm_format_modifier = modifier;
        }
        if composed {
            d.num_layers = 1;
            let l = &mut d.layers[0];
            l.drm_format = desc.composed;
            l.num_planes = 2;
            for (p, pl) in planes.iter().enumerate() {
                l.object_index[p] = pl.object as u32;
                l.offset[p] = pl.offset;
                l.pitch[p] = pl.pitch;
            }
        } else {
            d.num_layers = 2;
            for (p, (pl, fmt)) in planes.iter().zip(separate_formats).enumerate() {
                let l = &mut d.layers[p];
                l.drm_format = fmt;
                l.num_planes = 1;
                l.object_index[0] = pl.object as u32;
                l.offset[0] = pl.offset;
                l.pitch[0] = pl.pitch;
            }
        }
        #[cfg(feature = "bench-counters")]
        crate::v4l2::counters::add_export();
        Ok(d)
    }
}
