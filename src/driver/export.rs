//! vaExportSurfaceHandle: DRM PRIME descriptors of a surface's CAPTURE
//! buffer, composed (one NV12 layer) or separate (R8 + GR88 layers).
use super::{Driver, VaError, VaResult};
use crate::ffi::va;
use crate::v4l2::formats::Layout;
use drm_fourcc::{DrmFourcc, DrmModifier};
use std::os::fd::IntoRawFd;

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
        let session = &s.backing.session;
        let modifier: u64 = match session.layout {
            Layout::Nv12 => DrmModifier::Linear.into(),
            Layout::Nv12Tiled32 => DrmModifier::Allwinner_tiled.into(),
        };
        let sizes = session.capture_sizes(s.index);
        let planes = session.plane_layout();
        let fds = session.export(s.index)?;
        if fds.is_empty() || fds.len() > 4 {
            return Err(VaError::OperationFailed(format!("CAPTURE buffer with {} memory planes cannot be described", fds.len())));
        }
        let mut d = va::VADRMPRIMESurfaceDescriptor { fourcc: va::VA_FOURCC_NV12, width: s.width, height: s.height, num_objects: fds.len() as u32, ..Default::default() };
        for (i, fd) in fds.into_iter().enumerate() {
            d.objects[i].fd = fd.into_raw_fd(); // the client owns and closes it
            d.objects[i].size = sizes.get(i).copied().unwrap_or(0);
            d.objects[i].drm_format_modifier = modifier;
        }
        if composed {
            d.num_layers = 1;
            let l = &mut d.layers[0];
            l.drm_format = DrmFourcc::Nv12 as u32;
            l.num_planes = 2;
            for (p, pl) in planes.iter().enumerate() {
                l.object_index[p] = pl.object as u32;
                l.offset[p] = pl.offset;
                l.pitch[p] = pl.pitch;
            }
        } else {
            d.num_layers = 2;
            for (p, (pl, fmt)) in planes.iter().zip([DrmFourcc::R8, DrmFourcc::Gr88]).enumerate() {
                let l = &mut d.layers[p];
                l.drm_format = fmt as u32;
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
