//! Every VADriverVTable entry. Each converts its C arguments and calls one
//! driver method inside [`guard`]; nothing else happens here.
use super::{driver, fill, guard, out, slice, slice_mut};
use crate::driver::{self as drv, VaError};
use crate::ffi::va::{self, VADriverContextP as Ctx, VAStatus};
use libc::{c_int, c_short, c_uint, c_ushort, c_void};

pub fn fill_table(vt: &mut va::VADriverVTable) {
    vt.vaTerminate = Some(terminate);
    vt.vaQueryConfigProfiles = Some(query_config_profiles);
    vt.vaQueryConfigEntrypoints = Some(query_config_entrypoints);
    vt.vaGetConfigAttributes = Some(get_config_attributes);
    vt.vaCreateConfig = Some(create_config);
    vt.vaDestroyConfig = Some(destroy_config);
    vt.vaQueryConfigAttributes = Some(query_config_attributes);
    vt.vaCreateSurfaces = Some(create_surfaces);
    vt.vaDestroySurfaces = Some(destroy_surfaces);
    vt.vaCreateContext = Some(create_context);
    vt.vaDestroyContext = Some(destroy_context);
    vt.vaCreateBuffer = Some(create_buffer);
    vt.vaBufferSetNumElements = Some(buffer_set_num_elements);
    vt.vaMapBuffer = Some(map_buffer);
    vt.vaUnmapBuffer = Some(unmap_buffer);
    vt.vaDestroyBuffer = Some(destroy_buffer);
    vt.vaBeginPicture = Some(begin_picture);
    vt.vaRenderPicture = Some(render_picture);
    vt.vaEndPicture = Some(end_picture);
    vt.vaSyncSurface = Some(sync_surface);
    vt.vaQuerySurfaceStatus = Some(query_surface_status);
    vt.vaQuerySurfaceError = Some(query_surface_error);
    vt.vaPutSurface = Some(put_surface);
    vt.vaQueryImageFormats = Some(query_image_formats);
    vt.vaCreateImage = Some(create_image);
    vt.vaDeriveImage = Some(derive_image);
    vt.vaDestroyImage = Some(destroy_image);
    vt.vaSetImagePalette = Some(set_image_palette);
    vt.vaGetImage = Some(get_image);
    vt.vaPutImage = Some(put_image);
    vt.vaQuerySubpictureFormats = Some(query_subpicture_formats);
    vt.vaCreateSubpicture = Some(create_subpicture);
    vt.vaDestroySubpicture = Some(destroy_subpicture);
    vt.vaSetSubpictureImage = Some(set_subpicture_image);
    vt.vaSetSubpictureChromakey = Some(set_subpicture_chromakey);
    vt.vaSetSubpictureGlobalAlpha = Some(set_subpicture_global_alpha);
    vt.vaAssociateSubpicture = Some(associate_subpicture);
    vt.vaDeassociateSubpicture = Some(deassociate_subpicture);
    vt.vaQueryDisplayAttributes = Some(query_display_attributes);
    vt.vaGetDisplayAttributes = Some(get_display_attributes);
    vt.vaSetDisplayAttributes = Some(set_display_attributes);
    vt.vaBufferInfo = Some(buffer_info);
    vt.vaLockSurface = Some(lock_surface);
    vt.vaUnlockSurface = Some(unlock_surface);
    vt.vaGetSurfaceAttributes = Some(get_surface_attributes);
    vt.vaCreateSurfaces2 = Some(create_surfaces2);
    vt.vaQuerySurfaceAttributes = Some(query_surface_attributes);
    vt.vaAcquireBufferHandle = Some(acquire_buffer_handle);
    vt.vaReleaseBufferHandle = Some(release_buffer_handle);
    vt.vaCreateMFContext = Some(create_mf_context);
    vt.vaMFAddContext = Some(mf_add_context);
    vt.vaMFReleaseContext = Some(mf_release_context);
    vt.vaMFSubmit = Some(mf_submit);
    vt.vaCreateBuffer2 = Some(create_buffer2);
    vt.vaQueryProcessingRate = Some(query_processing_rate);
    vt.vaExportSurfaceHandle = Some(export_surface_handle);
    vt.vaSyncSurface2 = Some(sync_surface2);
    vt.vaSyncBuffer = Some(sync_buffer);
    vt.vaCopy = Some(copy);
}

unsafe extern "C" fn terminate(ctx: Ctx) -> VAStatus {
    guard("vaTerminate", || super::init::terminate(ctx))
}

unsafe extern "C" fn query_config_profiles(ctx: Ctx, list: *mut va::VAProfile, num: *mut c_int) -> VAStatus {
    guard("vaQueryConfigProfiles", || fill(list, num, &driver(ctx)?.query_profiles(), drv::MAX_PROFILES))
}

unsafe extern "C" fn query_config_entrypoints(ctx: Ctx, profile: va::VAProfile, list: *mut va::VAEntrypoint, num: *mut c_int) -> VAStatus {
    guard("vaQueryConfigEntrypoints", || fill(list, num, &driver(ctx)?.query_entrypoints(profile)?, drv::MAX_ENTRYPOINTS))
}

unsafe extern "C" fn get_config_attributes(ctx: Ctx, profile: va::VAProfile, ep: va::VAEntrypoint, list: *mut va::VAConfigAttrib, num: c_int) -> VAStatus {
    guard("vaGetConfigAttributes", || driver(ctx)?.get_config_attributes(profile, ep, slice_mut(list, num as i64)?))
}

unsafe extern "C" fn create_config(
    ctx: Ctx,
    profile: va::VAProfile,
    ep: va::VAEntrypoint,
    list: *mut va::VAConfigAttrib,
    num: c_int,
    id: *mut va::VAConfigID,
) -> VAStatus {
    guard("vaCreateConfig", || {
        let id = out(id)?;
        *id = driver(ctx)?.create_config(profile, ep, slice(list, num as i64)?)?;
        Ok(())
    })
}

unsafe extern "C" fn destroy_config(ctx: Ctx, id: va::VAConfigID) -> VAStatus {
    guard("vaDestroyConfig", || driver(ctx)?.destroy_config(id))
}

unsafe extern "C" fn query_config_attributes(
    ctx: Ctx,
    id: va::VAConfigID,
    profile: *mut va::VAProfile,
    ep: *mut va::VAEntrypoint,
    list: *mut va::VAConfigAttrib,
    num: *mut c_int,
) -> VAStatus {
    guard("vaQueryConfigAttributes", || {
        let (p, e, attribs) = driver(ctx)?.query_config_attributes(id)?;
        *out(profile)? = p;
        *out(ep)? = e;
        fill(list, num, &attribs, drv::MAX_ATTRIBUTES)
    })
}

unsafe extern "C" fn create_surfaces(ctx: Ctx, width: c_int, height: c_int, format: c_int, num: c_int, surfaces: *mut va::VASurfaceID) -> VAStatus {
    guard("vaCreateSurfaces", || {
        let dst = slice_mut(surfaces, num as i64)?;
        if width <= 0 || height <= 0 {
            return Err(VaError::InvalidParameter(format!("{width}x{height}")));
        }
        let ids = driver(ctx)?.create_surfaces(format as u32, width as u32, height as u32, dst.len(), &[])?;
        dst.copy_from_slice(&ids);
        Ok(())
    })
}

unsafe extern "C" fn create_surfaces2(
    ctx: Ctx,
    format: c_uint,
    width: c_uint,
    height: c_uint,
    surfaces: *mut va::VASurfaceID,
    num: c_uint,
    attribs: *mut va::VASurfaceAttrib,
    num_attribs: c_uint,
) -> VAStatus {
    guard("vaCreateSurfaces2", || {
        let dst = slice_mut(surfaces, num as i64)?;
        let ids = driver(ctx)?.create_surfaces(format, width, height, dst.len(), slice(attribs, num_attribs as i64)?)?;
        dst.copy_from_slice(&ids);
        Ok(())
    })
}

unsafe extern "C" fn destroy_surfaces(ctx: Ctx, list: *mut va::VASurfaceID, num: c_int) -> VAStatus {
    guard("vaDestroySurfaces", || driver(ctx)?.destroy_surfaces(slice(list, num as i64)?))
}

unsafe extern "C" fn create_context(
    ctx: Ctx,
    config: va::VAConfigID,
    w: c_int,
    h: c_int,
    _flag: c_int,
    targets: *mut va::VASurfaceID,
    num: c_int,
    id: *mut va::VAContextID,
) -> VAStatus {
    guard("vaCreateContext", || {
        let id = out(id)?;
        *id = driver(ctx)?.create_context(config, w, h, slice(targets, num as i64)?)?;
        Ok(())
    })
}

unsafe extern "C" fn destroy_context(ctx: Ctx, id: va::VAContextID) -> VAStatus {
    guard("vaDestroyContext", || driver(ctx)?.destroy_context(id))
}

unsafe extern "C" fn create_buffer(
    ctx: Ctx,
    context: va::VAContextID,
    t: va::VABufferType,
    size: c_uint,
    num: c_uint,
    data: *mut c_void,
    id: *mut va::VABufferID,
) -> VAStatus {
    guard("vaCreateBuffer", || {
        let id = out(id)?;
        let total = (size as u64) * (num as u64);
        if total == 0 || total > drv::buffer::MAX_BUFFER_BYTES as u64 {
            return Err(VaError::InvalidParameter(format!("buffer of {num} x {size} bytes")));
        }
        let data = if data.is_null() { None } else { Some(slice(data as *const u8, total as i64)?) };
        *id = driver(ctx)?.create_buffer(context, t, size, num, data)?;
        Ok(())
    })
}

unsafe extern "C" fn buffer_set_num_elements(ctx: Ctx, id: va::VABufferID, n: c_uint) -> VAStatus {
    guard("vaBufferSetNumElements", || driver(ctx)?.buffer_set_num_elements(id, n))
}

unsafe extern "C" fn map_buffer(ctx: Ctx, id: va::VABufferID, pbuf: *mut *mut c_void) -> VAStatus {
    guard("vaMapBuffer", || {
        let p = out(pbuf)?;
        *p = driver(ctx)?.map_buffer(id)? as *mut c_void;
        Ok(())
    })
}

unsafe extern "C" fn unmap_buffer(ctx: Ctx, id: va::VABufferID) -> VAStatus {
    guard("vaUnmapBuffer", || driver(ctx)?.unmap_buffer(id))
}

unsafe extern "C" fn destroy_buffer(ctx: Ctx, id: va::VABufferID) -> VAStatus {
    guard("vaDestroyBuffer", || driver(ctx)?.destroy_buffer(id))
}

unsafe extern "C" fn begin_picture(ctx: Ctx, context: va::VAContextID, target: va::VASurfaceID) -> VAStatus {
    guard("vaBeginPicture", || driver(ctx)?.begin_picture(context, target))
}

unsafe extern "C" fn render_picture(ctx: Ctx, context: va::VAContextID, bufs: *mut va::VABufferID, num: c_int) -> VAStatus {
    guard("vaRenderPicture", || driver(ctx)?.render_picture(context, slice(bufs, num as i64)?))
}

unsafe extern "C" fn end_picture(ctx: Ctx, context: va::VAContextID) -> VAStatus {
    guard("vaEndPicture", || driver(ctx)?.end_picture(context))
}

unsafe extern "C" fn sync_surface(ctx: Ctx, id: va::VASurfaceID) -> VAStatus {
    guard("vaSyncSurface", || driver(ctx)?.sync_surface(id))
}

unsafe extern "C" fn sync_surface2(ctx: Ctx, id: va::VASurfaceID, timeout_ns: u64) -> VAStatus {
    guard("vaSyncSurface2", || driver(ctx)?.sync_surface_timeout(id, timeout_ns))
}

unsafe extern "C" fn query_surface_status(ctx: Ctx, id: va::VASurfaceID, status: *mut va::VASurfaceStatus) -> VAStatus {
    guard("vaQuerySurfaceStatus", || {
        let s = out(status)?;
        *s = driver(ctx)?.surface_status(id)?;
        Ok(())
    })
}

unsafe extern "C" fn query_surface_error(ctx: Ctx, id: va::VASurfaceID, error: VAStatus, info: *mut *mut c_void) -> VAStatus {
    guard("vaQuerySurfaceError", || {
        let i = out(info)?;
        *i = driver(ctx)?.surface_error(id, error)?;
        Ok(())
    })
}

unsafe extern "C" fn put_surface(
    _ctx: Ctx,
    _s: va::VASurfaceID,
    _draw: *mut c_void,
    _sx: c_short,
    _sy: c_short,
    _sw: c_ushort,
    _sh: c_ushort,
    _dx: c_short,
    _dy: c_short,
    _dw: c_ushort,
    _dh: c_ushort,
    _clip: *mut va::VARectangle,
    _nclip: c_uint,
    _flags: c_uint,
) -> VAStatus {
    guard("vaPutSurface", || Err(VaError::Unimplemented))
}

unsafe extern "C" fn query_image_formats(ctx: Ctx, list: *mut va::VAImageFormat, num: *mut c_int) -> VAStatus {
    guard("vaQueryImageFormats", || fill(list, num, &driver(ctx)?.image_formats(), drv::MAX_IMAGE_FORMATS))
}

unsafe extern "C" fn create_image(ctx: Ctx, format: *mut va::VAImageFormat, w: c_int, h: c_int, image: *mut va::VAImage) -> VAStatus {
    guard("vaCreateImage", || {
        let f = *out(format)?;
        let img = out(image)?;
        *img = driver(ctx)?.create_image(&f, w, h)?;
        Ok(())
    })
}

unsafe extern "C" fn derive_image(ctx: Ctx, surface: va::VASurfaceID, image: *mut va::VAImage) -> VAStatus {
    guard("vaDeriveImage", || {
        let img = out(image)?;
        *img = driver(ctx)?.derive_image(surface)?;
        Ok(())
    })
}

unsafe extern "C" fn destroy_image(ctx: Ctx, id: va::VAImageID) -> VAStatus {
    guard("vaDestroyImage", || driver(ctx)?.destroy_image(id))
}

unsafe extern "C" fn set_image_palette(_ctx: Ctx, _id: va::VAImageID, _p: *mut libc::c_uchar) -> VAStatus {
    guard("vaSetImagePalette", || Err(VaError::Unimplemented))
}

unsafe extern "C" fn get_image(ctx: Ctx, surface: va::VASurfaceID, x: c_int, y: c_int, w: c_uint, h: c_uint, image: va::VAImageID) -> VAStatus {
    guard("vaGetImage", || driver(ctx)?.get_image(surface, x, y, w, h, image))
}

unsafe extern "C" fn put_image(
    ctx: Ctx,
    surface: va::VASurfaceID,
    image: va::VAImageID,
    sx: c_int,
    sy: c_int,
    sw: c_uint,
    sh: c_uint,
    dx: c_int,
    dy: c_int,
    dw: c_uint,
    dh: c_uint,
) -> VAStatus {
    guard("vaPutImage", || driver(ctx)?.put_image(surface, image, sx, sy, sw, sh, dx, dy, dw, dh))
}

unsafe extern "C" fn query_subpicture_formats(ctx: Ctx, _list: *mut va::VAImageFormat, _flags: *mut c_uint, num: *mut c_uint) -> VAStatus {
    guard("vaQuerySubpictureFormats", || {
        driver(ctx)?;
        *out(num)? = 0; // no subpicture support
        Ok(())
    })
}

unsafe extern "C" fn create_subpicture(_ctx: Ctx, _image: va::VAImageID, _sub: *mut va::VASubpictureID) -> VAStatus {
    guard("vaCreateSubpicture", || Err(VaError::Unimplemented))
}

unsafe extern "C" fn destroy_subpicture(_ctx: Ctx, _sub: va::VASubpictureID) -> VAStatus {
    guard("vaDestroySubpicture", || Err(VaError::Unimplemented))
}

unsafe extern "C" fn set_subpicture_image(_ctx: Ctx, _sub: va::VASubpictureID, _image: va::VAImageID) -> VAStatus {
    guard("vaSetSubpictureImage", || Err(VaError::Unimplemented))
}

unsafe extern "C" fn set_subpicture_chromakey(_ctx: Ctx, _sub: va::VASubpictureID, _min: c_uint, _max: c_uint, _mask: c_uint) -> VAStatus {
    guard("vaSetSubpictureChromakey", || Err(VaError::Unimplemented))
}

unsafe extern "C" fn set_subpicture_global_alpha(_ctx: Ctx, _sub: va::VASubpictureID, _alpha: f32) -> VAStatus {
    guard("vaSetSubpictureGlobalAlpha", || Err(VaError::Unimplemented))
}

unsafe extern "C" fn associate_subpicture(
    _ctx: Ctx,
    _sub: va::VASubpictureID,
    _t: *mut va::VASurfaceID,
    _n: c_int,
    _sx: c_short,
    _sy: c_short,
    _sw: c_ushort,
    _sh: c_ushort,
    _dx: c_short,
    _dy: c_short,
    _dw: c_ushort,
    _dh: c_ushort,
    _flags: c_uint,
) -> VAStatus {
    guard("vaAssociateSubpicture", || Err(VaError::Unimplemented))
}

unsafe extern "C" fn deassociate_subpicture(_ctx: Ctx, _sub: va::VASubpictureID, _t: *mut va::VASurfaceID, _n: c_int) -> VAStatus {
    guard("vaDeassociateSubpicture", || Err(VaError::Unimplemented))
}

unsafe extern "C" fn query_display_attributes(ctx: Ctx, _list: *mut va::VADisplayAttribute, num: *mut c_int) -> VAStatus {
    guard("vaQueryDisplayAttributes", || {
        driver(ctx)?;
        *out(num)? = 0; // no display attributes
        Ok(())
    })
}

unsafe extern "C" fn get_display_attributes(_ctx: Ctx, _list: *mut va::VADisplayAttribute, _n: c_int) -> VAStatus {
    guard("vaGetDisplayAttributes", || Err(VaError::Unimplemented))
}

unsafe extern "C" fn set_display_attributes(_ctx: Ctx, _list: *mut va::VADisplayAttribute, _n: c_int) -> VAStatus {
    guard("vaSetDisplayAttributes", || Err(VaError::Unimplemented))
}

unsafe extern "C" fn buffer_info(ctx: Ctx, id: va::VABufferID, t: *mut va::VABufferType, size: *mut c_uint, num: *mut c_uint) -> VAStatus {
    guard("vaBufferInfo", || {
        let (bt, sz, n) = driver(ctx)?.buffer_info(id)?;
        *out(t)? = bt;
        *out(size)? = sz;
        *out(num)? = n;
        Ok(())
    })
}

#[allow(clippy::too_many_arguments)]
unsafe extern "C" fn lock_surface(
    _ctx: Ctx,
    _s: va::VASurfaceID,
    _fourcc: *mut c_uint,
    _ls: *mut c_uint,
    _us: *mut c_uint,
    _vs: *mut c_uint,
    _lo: *mut c_uint,
    _uo: *mut c_uint,
    _vo: *mut c_uint,
    _name: *mut c_uint,
    _buf: *mut *mut c_void,
) -> VAStatus {
    guard("vaLockSurface", || Err(VaError::Unimplemented))
}

unsafe extern "C" fn unlock_surface(_ctx: Ctx, _s: va::VASurfaceID) -> VAStatus {
    guard("vaUnlockSurface", || Err(VaError::Unimplemented))
}

unsafe extern "C" fn get_surface_attributes(_ctx: Ctx, _config: va::VAConfigID, _list: *mut va::VASurfaceAttrib, _n: c_uint) -> VAStatus {
    guard("vaGetSurfaceAttributes", || Err(VaError::Unimplemented))
}

unsafe extern "C" fn query_surface_attributes(ctx: Ctx, config: va::VAConfigID, list: *mut va::VASurfaceAttrib, num: *mut c_uint) -> VAStatus {
    guard("vaQuerySurfaceAttributes", || {
        let attribs = driver(ctx)?.query_surface_attributes(config)?;
        let n = out(num)?;
        if list.is_null() {
            *n = attribs.len() as c_uint;
            return Ok(());
        }
        if (*n as usize) < attribs.len() {
            *n = attribs.len() as c_uint;
            return Err(VaError::MaxNumExceeded);
        }
        slice_mut(list, attribs.len() as i64)?.copy_from_slice(&attribs);
        *n = attribs.len() as c_uint;
        Ok(())
    })
}

unsafe extern "C" fn acquire_buffer_handle(_ctx: Ctx, _id: va::VABufferID, _info: *mut va::VABufferInfo) -> VAStatus {
    guard("vaAcquireBufferHandle", || Err(VaError::Unimplemented))
}

unsafe extern "C" fn release_buffer_handle(_ctx: Ctx, _id: va::VABufferID) -> VAStatus {
    guard("vaReleaseBufferHandle", || Err(VaError::Unimplemented))
}

unsafe extern "C" fn create_mf_context(_ctx: Ctx, _mf: *mut va::VAMFContextID) -> VAStatus {
    guard("vaCreateMFContext", || Err(VaError::Unimplemented))
}

unsafe extern "C" fn mf_add_context(_ctx: Ctx, _mf: va::VAMFContextID, _c: va::VAContextID) -> VAStatus {
    guard("vaMFAddContext", || Err(VaError::Unimplemented))
}

unsafe extern "C" fn mf_release_context(_ctx: Ctx, _mf: va::VAMFContextID, _c: va::VAContextID) -> VAStatus {
    guard("vaMFReleaseContext", || Err(VaError::Unimplemented))
}

unsafe extern "C" fn mf_submit(_ctx: Ctx, _mf: va::VAMFContextID, _c: *mut va::VAContextID, _n: c_int) -> VAStatus {
    guard("vaMFSubmit", || Err(VaError::Unimplemented))
}

unsafe extern "C" fn create_buffer2(
    _ctx: Ctx,
    _c: va::VAContextID,
    _t: va::VABufferType,
    _w: c_uint,
    _h: c_uint,
    _unit: *mut c_uint,
    _pitch: *mut c_uint,
    _id: *mut va::VABufferID,
) -> VAStatus {
    guard("vaCreateBuffer2", || Err(VaError::Unimplemented))
}

unsafe extern "C" fn query_processing_rate(_ctx: Ctx, _c: va::VAConfigID, _p: *mut va::VAProcessingRateParameter, _rate: *mut c_uint) -> VAStatus {
    guard("vaQueryProcessingRate", || Err(VaError::Unimplemented))
}

unsafe extern "C" fn export_surface_handle(ctx: Ctx, surface: va::VASurfaceID, mem_type: u32, flags: u32, descriptor: *mut c_void) -> VAStatus {
    guard("vaExportSurfaceHandle", || {
        let d = out(descriptor as *mut va::VADRMPRIMESurfaceDescriptor)?;
        *d = driver(ctx)?.export_surface(surface, mem_type, flags)?;
        Ok(())
    })
}

unsafe extern "C" fn sync_buffer(_ctx: Ctx, _id: va::VABufferID, _timeout_ns: u64) -> VAStatus {
    guard("vaSyncBuffer", || Err(VaError::Unimplemented))
}

unsafe extern "C" fn copy(_ctx: Ctx, _dst: *mut va::VACopyObject, _src: *mut va::VACopyObject, _opt: va::VACopyOption) -> VAStatus {
    guard("vaCopy", || Err(VaError::Unimplemented))
}
