//! Hostile input through the driver's vtable, with the simulator behind it
//! (the test re-executes itself with libhantro_sim.so preloaded):
//!
//! * `panic_containment`: the `test-hooks` feature makes an entry point
//!   panic (`HANTRO_TEST_PANIC_IN`); the call returns
//!   VA_STATUS_ERROR_OPERATION_FAILED and the driver keeps working.
//! * `hostile_vtable`: the table in [`cases`] — every vtable entry with NULL
//!   pointers, unknown / stale / wrong-kind ids, zero and huge sizes, short
//!   buffers, out-of-range slice data — each must return the listed status.
//!   Then every entry with a NULL context and after vaTerminate.
//!
//! The child prints the table it ran (`cargo test --test hostile -- --nocapture`).
mod common;
use common::{close_fds, run_child_ok, status_name, va, St, Va, OK};
use std::mem::size_of;
use std::ptr::null_mut;

const OPF: u32 = va::VA_STATUS_ERROR_OPERATION_FAILED;
const IPAR: u32 = va::VA_STATUS_ERROR_INVALID_PARAMETER;
const ICFG: u32 = va::VA_STATUS_ERROR_INVALID_CONFIG;
const ICTX: u32 = va::VA_STATUS_ERROR_INVALID_CONTEXT;
const ISURF: u32 = va::VA_STATUS_ERROR_INVALID_SURFACE;
const IBUF: u32 = va::VA_STATUS_ERROR_INVALID_BUFFER;
const IIMG: u32 = va::VA_STATUS_ERROR_INVALID_IMAGE;
const UNIMPL: u32 = va::VA_STATUS_ERROR_UNIMPLEMENTED;
const UNSUPPORTED_BUF: u32 = va::VA_STATUS_ERROR_UNSUPPORTED_BUFFERTYPE;
const SUCCESS: u32 = 0;

/// One row of the table: entry point, what was passed, expected status.
struct Case<'a> {
    entry: &'static str,
    input: &'static str,
    want: u32,
    run: Box<dyn Fn() -> St + 'a>,
}

fn case<'a>(entry: &'static str, input: &'static str, want: u32, run: impl Fn() -> St + 'a) -> Case<'a> {
    Case { entry, input, want, run: Box::new(run) }
}

fn bytes_of<T>(v: &T) -> &[u8] {
    // SAFETY: viewing a plain C struct as bytes for vaCreateBuffer.
    unsafe { std::slice::from_raw_parts(v as *const T as *const u8, size_of::<T>()) }
}

/// Objects the table refers to.
struct Fix {
    cfg: u32,
    surf: Vec<u32>,
    other_surf: u32,
    ctx: u32,
    /// A second live context (its own session).
    other_ctx: u32,
    img: va::VAImage,
    stale_cfg: u32,
    stale_surf: u32,
    stale_ctx: u32,
    stale_buf: u32,
    stale_img: u32,
}

fn fixture(v: &Va) -> Fix {
    let cfg = v.config();
    let mut surf = v.surfaces(320, 240, 4);
    let ctx = v.context(cfg, 320, 240, &mut surf);
    let other_surf = v.surfaces(640, 480, 1)[0];
    let mut os = v.surfaces(176, 144, 1);
    let other_ctx = v.context(cfg, 176, 144, &mut os);
    let (s, img) = v.create_image(64, 64);
    assert_eq!(s, OK);
    let stale_cfg = v.config();
    assert_eq!(vcall!(v, vaDestroyConfig, stale_cfg), OK);
    let mut ss = v.surfaces(320, 240, 1);
    assert_eq!(vcall!(v, vaDestroySurfaces, ss.as_mut_ptr(), 1), OK);
    let mut t = v.surfaces(160, 128, 1);
    let sc = v.context(cfg, 160, 128, &mut t);
    assert_eq!(vcall!(v, vaDestroyContext, sc), OK);
    let sb = v.buffer(ctx, va::VAPictureParameterBufferType, 16, 1, None);
    assert_eq!(vcall!(v, vaDestroyBuffer, sb), OK);
    let (s, si) = v.create_image(16, 16);
    assert_eq!(s, OK);
    assert_eq!(vcall!(v, vaDestroyImage, si.image_id), OK);
    Fix { cfg, surf, other_surf, ctx, other_ctx, img, stale_cfg, stale_surf: ss[0], stale_ctx: sc, stale_buf: sb, stale_img: si.image_id }
}

/// Runs BeginPicture + RenderPicture(bufs) + EndPicture; returns the first
/// failing status (or EndPicture's).
fn picture(v: &Va, ctx: u32, target: u32, bufs: &[u32]) -> St {
    let s = vcall!(v, vaBeginPicture, ctx, target);
    if s != OK {
        return s;
    }
    let mut b = bufs.to_vec();
    let s = vcall!(v, vaRenderPicture, ctx, b.as_mut_ptr(), b.len() as i32);
    if s != OK {
        let _ = vcall!(v, vaEndPicture, ctx);
        return s;
    }
    vcall!(v, vaEndPicture, ctx)
}

fn slice_params(offset: u32, size: u32) -> va::VASliceParameterBufferH264 {
    va::VASliceParameterBufferH264 { slice_data_offset: offset, slice_data_size: size, slice_data_flag: va::VA_SLICE_DATA_FLAG_ALL, ..Default::default() }
}

/// The table. Ids: `junk` = never issued, `stale` = destroyed, `wrong kind`
/// = an id of another object type (the ids encode their kind).
fn cases<'a>(v: &'a Va, f: &'a Fix) -> Vec<Case<'a>> {
    let s0 = f.surf[0];
    let junk = 0x0bad_f00d_u32;
    let pp = va::VAPictureParameterBufferH264::default();
    let pp_buf = move || v.buffer(f.ctx, va::VAPictureParameterBufferType, size_of::<va::VAPictureParameterBufferH264>() as u32, 1, Some(bytes_of(&pp)));
    let sp_buf = move |off: u32, size: u32| {
        let sp = slice_params(off, size);
        v.buffer(f.ctx, va::VASliceParameterBufferType, size_of::<va::VASliceParameterBufferH264>() as u32, 1, Some(bytes_of(&sp)))
    };
    // 0xff: forbidden_zero_bit set, not a NAL unit the parser accepts.
    let data_buf = move |n: u32| v.buffer(f.ctx, va::VASliceDataBufferType, n, 1, Some(&vec![0xffu8; n as usize]));
    vec![
        // --- configs
        case("vaQueryConfigProfiles", "NULL list", IPAR, move || {
            let mut n = 0;
            vcall!(v, vaQueryConfigProfiles, null_mut(), &mut n)
        }),
        case("vaQueryConfigProfiles", "NULL count", IPAR, move || {
            let mut l = [0; 32];
            vcall!(v, vaQueryConfigProfiles, l.as_mut_ptr(), null_mut())
        }),
        case("vaQueryConfigEntrypoints", "unknown profile 19 (VP9)", va::VA_STATUS_ERROR_UNSUPPORTED_PROFILE, move || {
            let mut l = [0; 4];
            let mut n = 0;
            vcall!(v, vaQueryConfigEntrypoints, va::VAProfileVP9Profile0, l.as_mut_ptr(), &mut n)
        }),
        case("vaQueryConfigEntrypoints", "profile -1 (None)", va::VA_STATUS_ERROR_UNSUPPORTED_PROFILE, move || {
            let mut l = [0; 4];
            let mut n = 0;
            vcall!(v, vaQueryConfigEntrypoints, -1, l.as_mut_ptr(), &mut n)
        }),
        case("vaQueryConfigEntrypoints", "profile 0x7fffffff", va::VA_STATUS_ERROR_UNSUPPORTED_PROFILE, move || {
            let mut l = [0; 4];
            let mut n = 0;
            vcall!(v, vaQueryConfigEntrypoints, 0x7fff_ffff, l.as_mut_ptr(), &mut n)
        }),
        case("vaQueryConfigEntrypoints", "NULL list", IPAR, move || {
            let mut n = 0;
            vcall!(v, vaQueryConfigEntrypoints, va::VAProfileH264Main, null_mut(), &mut n)
        }),
        case("vaGetConfigAttributes", "encode entrypoint", va::VA_STATUS_ERROR_UNSUPPORTED_ENTRYPOINT, move || {
            let mut a = [va::VAConfigAttrib::default()];
            vcall!(v, vaGetConfigAttributes, va::VAProfileH264Main, va::VAEntrypointEncSlice, a.as_mut_ptr(), 1)
        }),
        case("vaGetConfigAttributes", "NULL list, count 1", IPAR, move || {
            vcall!(v, vaGetConfigAttributes, va::VAProfileH264Main, va::VAEntrypointVLD, null_mut(), 1)
        }),
        case("vaGetConfigAttributes", "count -1", IPAR, move || {
            let mut a = [va::VAConfigAttrib::default()];
            vcall!(v, vaGetConfigAttributes, va::VAProfileH264Main, va::VAEntrypointVLD, a.as_mut_ptr(), -1)
        }),
        case("vaGetConfigAttributes", "count i32::MAX", IPAR, move || {
            let mut a = [va::VAConfigAttrib::default()];
            vcall!(v, vaGetConfigAttributes, va::VAProfileH264Main, va::VAEntrypointVLD, a.as_mut_ptr(), i32::MAX)
        }),
        case("vaGetConfigAttributes", "NULL list, count 0", SUCCESS, move || {
            vcall!(v, vaGetConfigAttributes, va::VAProfileH264Main, va::VAEntrypointVLD, null_mut(), 0)
        }),
        case("vaGetConfigAttributes", "unknown attribute type 0x7fff", SUCCESS, move || {
            let mut a = [va::VAConfigAttrib { type_: 0x7fff, value: 0 }];
            let s = vcall!(v, vaGetConfigAttributes, va::VAProfileH264Main, va::VAEntrypointVLD, a.as_mut_ptr(), 1);
            assert_eq!(a[0].value, va::VA_ATTRIB_NOT_SUPPORTED);
            s
        }),
        case("vaCreateConfig", "NULL id", IPAR, move || vcall!(v, vaCreateConfig, va::VAProfileH264Main, va::VAEntrypointVLD, null_mut(), 0, null_mut())),
        case("vaCreateConfig", "unknown profile", va::VA_STATUS_ERROR_UNSUPPORTED_PROFILE, move || v.create_config(va::VAProfileVP9Profile0).0),
        case("vaCreateConfig", "encode entrypoint", va::VA_STATUS_ERROR_UNSUPPORTED_ENTRYPOINT, move || {
            let mut i = 0;
            vcall!(v, vaCreateConfig, va::VAProfileH264Main, va::VAEntrypointEncSlice, null_mut(), 0, &mut i)
        }),
        case("vaCreateConfig", "RTFormat YUV422", va::VA_STATUS_ERROR_UNSUPPORTED_RT_FORMAT, move || {
            let mut a = [va::VAConfigAttrib { type_: va::VAConfigAttribRTFormat, value: va::VA_RT_FORMAT_YUV422 }];
            let mut i = 0;
            vcall!(v, vaCreateConfig, va::VAProfileH264Main, va::VAEntrypointVLD, a.as_mut_ptr(), 1, &mut i)
        }),
        // test_va_api's rule: a VA attribute the config does not support
        // has no valid value (Mesa answers the same for EncPackedHeaders).
        case("vaCreateConfig", "encoder attribute", va::VA_STATUS_ERROR_INVALID_VALUE, move || {
            let mut a = [va::VAConfigAttrib { type_: va::VAConfigAttribEncPackedHeaders, value: 1 }];
            let mut i = 0;
            vcall!(v, vaCreateConfig, va::VAProfileH264Main, va::VAEntrypointVLD, a.as_mut_ptr(), 1, &mut i)
        }),
        case("vaCreateConfig", "attribute type unknown to VA", va::VA_STATUS_ERROR_ATTR_NOT_SUPPORTED, move || {
            let mut a = [va::VAConfigAttrib { type_: va::VAConfigAttribTypeMax + 7, value: 1 }];
            let mut i = 0;
            vcall!(v, vaCreateConfig, va::VAProfileH264Main, va::VAEntrypointVLD, a.as_mut_ptr(), 1, &mut i)
        }),
        case("vaCreateConfig", "DecSliceMode base", va::VA_STATUS_ERROR_INVALID_VALUE, move || {
            let mut a = [va::VAConfigAttrib { type_: va::VAConfigAttribDecSliceMode, value: va::VA_DEC_SLICE_MODE_BASE }];
            let mut i = 0;
            vcall!(v, vaCreateConfig, va::VAProfileH264Main, va::VAEntrypointVLD, a.as_mut_ptr(), 1, &mut i)
        }),
        case("vaCreateConfig", "NULL attrib list, count 2", IPAR, move || {
            let mut i = 0;
            vcall!(v, vaCreateConfig, va::VAProfileH264Main, va::VAEntrypointVLD, null_mut(), 2, &mut i)
        }),
        case("vaCreateConfig", "attrib count -5", IPAR, move || {
            let mut a = [va::VAConfigAttrib::default()];
            let mut i = 0;
            vcall!(v, vaCreateConfig, va::VAProfileH264Main, va::VAEntrypointVLD, a.as_mut_ptr(), -5, &mut i)
        }),
        case("vaDestroyConfig", "junk id", ICFG, move || vcall!(v, vaDestroyConfig, junk)),
        case("vaDestroyConfig", "stale id", ICFG, move || vcall!(v, vaDestroyConfig, f.stale_cfg)),
        case("vaDestroyConfig", "surface id (wrong kind)", ICFG, move || vcall!(v, vaDestroyConfig, s0)),
        case("vaDestroyConfig", "VA_INVALID_ID", ICFG, move || vcall!(v, vaDestroyConfig, va::VA_INVALID_ID)),
        case("vaDestroyConfig", "id 0", ICFG, move || vcall!(v, vaDestroyConfig, 0)),
        case("vaQueryConfigAttributes", "stale id", ICFG, move || {
            let (mut p, mut e, mut n) = (0, 0, 0);
            let mut a = [va::VAConfigAttrib::default(); 16];
            vcall!(v, vaQueryConfigAttributes, f.stale_cfg, &mut p, &mut e, a.as_mut_ptr(), &mut n)
        }),
        case("vaQueryConfigAttributes", "NULL profile", IPAR, move || {
            let (mut e, mut n) = (0, 0);
            let mut a = [va::VAConfigAttrib::default(); 16];
            vcall!(v, vaQueryConfigAttributes, f.cfg, null_mut(), &mut e, a.as_mut_ptr(), &mut n)
        }),
        case("vaQueryConfigAttributes", "NULL list", IPAR, move || {
            let (mut p, mut e, mut n) = (0, 0, 0);
            vcall!(v, vaQueryConfigAttributes, f.cfg, &mut p, &mut e, null_mut(), &mut n)
        }),
        case("vaQuerySurfaceAttributes", "context id (wrong kind)", ICFG, move || {
            let mut n = 0;
            vcall!(v, vaQuerySurfaceAttributes, f.ctx, null_mut(), &mut n)
        }),
        case("vaQuerySurfaceAttributes", "NULL count", IPAR, move || vcall!(v, vaQuerySurfaceAttributes, f.cfg, null_mut(), null_mut())),
        case("vaQuerySurfaceAttributes", "list of 1 (too small)", va::VA_STATUS_ERROR_MAX_NUM_EXCEEDED, move || {
            let mut n = 1;
            let mut a = [va::VASurfaceAttrib::default(); 1];
            vcall!(v, vaQuerySurfaceAttributes, f.cfg, a.as_mut_ptr(), &mut n)
        }),
        // --- surfaces
        case("vaCreateSurfaces", "NULL ids, count 1", IPAR, move || vcall!(v, vaCreateSurfaces, 320, 240, va::VA_RT_FORMAT_YUV420 as i32, 1, null_mut())),
        case("vaCreateSurfaces", "count 0", IPAR, move || {
            let mut s = [0u32; 1];
            vcall!(v, vaCreateSurfaces, 320, 240, va::VA_RT_FORMAT_YUV420 as i32, 0, s.as_mut_ptr())
        }),
        case("vaCreateSurfaces", "count -1", IPAR, move || {
            let mut s = [0u32; 1];
            vcall!(v, vaCreateSurfaces, 320, 240, va::VA_RT_FORMAT_YUV420 as i32, -1, s.as_mut_ptr())
        }),
        case("vaCreateSurfaces", "width 0", IPAR, move || {
            let mut s = [0u32; 1];
            vcall!(v, vaCreateSurfaces, 0, 240, va::VA_RT_FORMAT_YUV420 as i32, 1, s.as_mut_ptr())
        }),
        case("vaCreateSurfaces", "height -16", IPAR, move || {
            let mut s = [0u32; 1];
            vcall!(v, vaCreateSurfaces, 320, -16, va::VA_RT_FORMAT_YUV420 as i32, 1, s.as_mut_ptr())
        }),
        case("vaCreateSurfaces", "i32::MAX x i32::MAX", va::VA_STATUS_ERROR_RESOLUTION_NOT_SUPPORTED, move || {
            let mut s = [0u32; 1];
            vcall!(v, vaCreateSurfaces, i32::MAX, i32::MAX, va::VA_RT_FORMAT_YUV420 as i32, 1, s.as_mut_ptr())
        }),
        case("vaCreateSurfaces", "RT format YUV422", va::VA_STATUS_ERROR_UNSUPPORTED_RT_FORMAT, move || {
            let mut s = [0u32; 1];
            vcall!(v, vaCreateSurfaces, 320, 240, va::VA_RT_FORMAT_YUV422 as i32, 1, s.as_mut_ptr())
        }),
        case("vaCreateSurfaces", "65 surfaces at once", va::VA_STATUS_ERROR_MAX_NUM_EXCEEDED, move || {
            let mut s = [0u32; 65];
            vcall!(v, vaCreateSurfaces, 320, 240, va::VA_RT_FORMAT_YUV420 as i32, 65, s.as_mut_ptr())
        }),
        case("vaCreateSurfaces2", "u32::MAX x u32::MAX", va::VA_STATUS_ERROR_RESOLUTION_NOT_SUPPORTED, move || v.create_surfaces(u32::MAX, u32::MAX, 1).0),
        case("vaCreateSurfaces2", "u32::MAX x 240", va::VA_STATUS_ERROR_RESOLUTION_NOT_SUPPORTED, move || v.create_surfaces(u32::MAX, 240, 1).0),
        // Beyond the device's limits but a size VA surfaces have (libva-utils'
        // test_va_api creates them): created without storage.
        case("vaCreateSurfaces2", "8192 x 8192", va::VA_STATUS_SUCCESS, move || v.create_surfaces(8192, 8192, 1).0),
        case("vaCreateSurfaces2", "16385 x 16", va::VA_STATUS_ERROR_RESOLUTION_NOT_SUPPORTED, move || v.create_surfaces(16385, 16, 1).0),
        case("vaCreateSurfaces2", "count 1<<30", IPAR, move || {
            let mut s = [0u32; 1];
            vcall!(v, vaCreateSurfaces2, va::VA_RT_FORMAT_YUV420, 320, 240, s.as_mut_ptr(), 1 << 30, null_mut(), 0)
        }),
        case("vaCreateSurfaces2", "NULL attribs, count 3", IPAR, move || {
            let mut s = [0u32; 1];
            vcall!(v, vaCreateSurfaces2, va::VA_RT_FORMAT_YUV420, 320, 240, s.as_mut_ptr(), 1, null_mut(), 3)
        }),
        case("vaCreateSurfaces2", "pixel format YV12", va::VA_STATUS_ERROR_INVALID_IMAGE_FORMAT, move || {
            let mut a = [va::VASurfaceAttrib { type_: va::VASurfaceAttribPixelFormat, flags: va::VA_SURFACE_ATTRIB_SETTABLE, ..Default::default() }];
            a[0].value.type_ = va::VAGenericValueTypeInteger;
            a[0].value.value.i = va::VA_FOURCC_YV12 as i32;
            let mut s = [0u32; 1];
            vcall!(v, vaCreateSurfaces2, va::VA_RT_FORMAT_YUV420, 320, 240, s.as_mut_ptr(), 1, a.as_mut_ptr(), 1)
        }),
        case("vaCreateSurfaces2", "memory type USER_PTR", va::VA_STATUS_ERROR_UNSUPPORTED_MEMORY_TYPE, move || {
            let mut a = [va::VASurfaceAttrib { type_: va::VASurfaceAttribMemoryType, flags: va::VA_SURFACE_ATTRIB_SETTABLE, ..Default::default() }];
            a[0].value.type_ = va::VAGenericValueTypeInteger;
            a[0].value.value.i = va::VA_SURFACE_ATTRIB_MEM_TYPE_USER_PTR as i32;
            let mut s = [0u32; 1];
            vcall!(v, vaCreateSurfaces2, va::VA_RT_FORMAT_YUV420, 320, 240, s.as_mut_ptr(), 1, a.as_mut_ptr(), 1)
        }),
        case("vaCreateSurfaces2", "external buffer descriptor (dangling pointer)", va::VA_STATUS_ERROR_UNSUPPORTED_MEMORY_TYPE, move || {
            let mut a =
                [va::VASurfaceAttrib { type_: va::VASurfaceAttribExternalBufferDescriptor, flags: va::VA_SURFACE_ATTRIB_SETTABLE, ..Default::default() }];
            a[0].value.type_ = va::VAGenericValueTypePointer;
            a[0].value.value.p = 0x10 as *mut libc::c_void;
            let mut s = [0u32; 1];
            vcall!(v, vaCreateSurfaces2, va::VA_RT_FORMAT_YUV420, 320, 240, s.as_mut_ptr(), 1, a.as_mut_ptr(), 1)
        }),
        case("vaDestroySurfaces", "NULL list, count 1", IPAR, move || vcall!(v, vaDestroySurfaces, null_mut(), 1)),
        case("vaDestroySurfaces", "count -1", IPAR, move || {
            let mut s = [s0];
            vcall!(v, vaDestroySurfaces, s.as_mut_ptr(), -1)
        }),
        case("vaDestroySurfaces", "junk id", ISURF, move || {
            let mut s = [junk];
            vcall!(v, vaDestroySurfaces, s.as_mut_ptr(), 1)
        }),
        case("vaDestroySurfaces", "stale id", ISURF, move || {
            let mut s = [f.stale_surf];
            vcall!(v, vaDestroySurfaces, s.as_mut_ptr(), 1)
        }),
        case("vaDestroySurfaces", "context id (wrong kind)", ISURF, move || {
            let mut s = [f.ctx];
            vcall!(v, vaDestroySurfaces, s.as_mut_ptr(), 1)
        }),
        case("vaSyncSurface", "stale id", ISURF, move || vcall!(v, vaSyncSurface, f.stale_surf)),
        case("vaSyncSurface", "buffer-kind id", ISURF, move || vcall!(v, vaSyncSurface, f.img.buf)),
        case("vaSyncSurface", "never decoded surface", SUCCESS, move || vcall!(v, vaSyncSurface, s0)),
        case("vaSyncSurface2", "stale id", ISURF, move || vcall!(v, vaSyncSurface2, f.stale_surf, 0)),
        case("vaSyncSurface2", "timeout 0, idle surface", SUCCESS, move || vcall!(v, vaSyncSurface2, s0, 0)),
        case("vaSyncSurface2", "VA_TIMEOUT_INFINITE, idle surface", SUCCESS, move || vcall!(v, vaSyncSurface2, s0, u64::MAX)),
        case("vaQuerySurfaceStatus", "NULL status", IPAR, move || vcall!(v, vaQuerySurfaceStatus, s0, null_mut())),
        case("vaQuerySurfaceStatus", "config id (wrong kind)", ISURF, move || {
            let mut st = 0;
            vcall!(v, vaQuerySurfaceStatus, f.cfg, &mut st)
        }),
        case("vaQuerySurfaceError", "NULL info", IPAR, move || vcall!(v, vaQuerySurfaceError, s0, va::VA_STATUS_ERROR_DECODING_ERROR as St, null_mut())),
        case("vaQuerySurfaceError", "stale surface", ISURF, move || {
            let mut p = null_mut();
            vcall!(v, vaQuerySurfaceError, f.stale_surf, va::VA_STATUS_ERROR_DECODING_ERROR as St, &mut p)
        }),
        case("vaQuerySurfaceError", "error status OPERATION_FAILED", IPAR, move || {
            let mut p = null_mut();
            vcall!(v, vaQuerySurfaceError, s0, OPF as St, &mut p)
        }),
        case("vaQuerySurfaceError", "surface without error", SUCCESS, move || {
            let mut p: *mut libc::c_void = null_mut();
            let s = vcall!(v, vaQuerySurfaceError, s0, va::VA_STATUS_ERROR_DECODING_ERROR as St, &mut p);
            // SAFETY: the driver returned an array terminated by status -1.
            assert_eq!(unsafe { (*(p as *const va::VASurfaceDecodeMBErrors)).status }, -1);
            s
        }),
        case("vaExportSurfaceHandle", "NULL descriptor", IPAR, move || {
            vcall!(v, vaExportSurfaceHandle, s0, va::VA_SURFACE_ATTRIB_MEM_TYPE_DRM_PRIME_2, va::VA_EXPORT_SURFACE_COMPOSED_LAYERS, null_mut())
        }),
        case("vaExportSurfaceHandle", "stale surface", ISURF, move || v.export(f.stale_surf, va::VA_EXPORT_SURFACE_COMPOSED_LAYERS).0),
        case("vaExportSurfaceHandle", "memory type DRM_PRIME (v1)", va::VA_STATUS_ERROR_UNSUPPORTED_MEMORY_TYPE, move || {
            let mut d = va::VADRMPRIMESurfaceDescriptor::default();
            vcall!(
                v,
                vaExportSurfaceHandle,
                s0,
                va::VA_SURFACE_ATTRIB_MEM_TYPE_DRM_PRIME,
                va::VA_EXPORT_SURFACE_COMPOSED_LAYERS,
                &mut d as *mut _ as *mut libc::c_void
            )
        }),
        case("vaExportSurfaceHandle", "flags without a layer mode", IPAR, move || v.export(s0, 0).0),
        case("vaExportSurfaceHandle", "both layer modes", IPAR, move || {
            v.export(s0, va::VA_EXPORT_SURFACE_COMPOSED_LAYERS | va::VA_EXPORT_SURFACE_SEPARATE_LAYERS).0
        }),
        case("vaExportSurfaceHandle", "valid (fds closed by the test)", SUCCESS, move || {
            let (s, d) = v.export(s0, va::VA_EXPORT_SURFACE_SEPARATE_LAYERS);
            close_fds(&d);
            s
        }),
        // --- contexts
        case("vaCreateContext", "NULL id", IPAR, move || vcall!(v, vaCreateContext, f.cfg, 320, 240, 1, null_mut(), 0, null_mut())),
        case("vaCreateContext", "stale config", ICFG, move || v.create_context(f.stale_cfg, 320, 240, &mut []).0),
        case("vaCreateContext", "surface id as config (wrong kind)", ICFG, move || v.create_context(s0, 320, 240, &mut []).0),
        case("vaCreateContext", "width 0", IPAR, move || v.create_context(f.cfg, 0, 240, &mut []).0),
        case("vaCreateContext", "height -1", IPAR, move || v.create_context(f.cfg, 320, -1, &mut []).0),
        case("vaCreateContext", "i32::MAX x i32::MAX", va::VA_STATUS_ERROR_RESOLUTION_NOT_SUPPORTED, move || {
            v.create_context(f.cfg, i32::MAX, i32::MAX, &mut []).0
        }),
        case("vaCreateContext", "NULL targets, count 4", IPAR, move || {
            let mut i = 0;
            vcall!(v, vaCreateContext, f.cfg, 320, 240, 1, null_mut(), 4, &mut i)
        }),
        case("vaCreateContext", "targets count -1", IPAR, move || {
            let mut t = [s0];
            let mut i = 0;
            vcall!(v, vaCreateContext, f.cfg, 320, 240, 1, t.as_mut_ptr(), -1, &mut i)
        }),
        case("vaCreateContext", "stale surface in targets", ISURF, move || v.create_context(f.cfg, 320, 240, &mut [s0, f.stale_surf]).0),
        case("vaCreateContext", "config id in targets (wrong kind)", ISURF, move || v.create_context(f.cfg, 320, 240, &mut [f.cfg]).0),
        case("vaCreateContext", "targets from two sessions", ISURF, move || v.create_context(f.cfg, 320, 240, &mut [s0, f.other_surf]).0),
        case("vaCreateContext", "targets smaller than the context", ISURF, move || v.create_context(f.cfg, 1280, 720, &mut [s0]).0),
        case("vaDestroyContext", "junk id", ICTX, move || vcall!(v, vaDestroyContext, junk)),
        case("vaDestroyContext", "stale id", ICTX, move || vcall!(v, vaDestroyContext, f.stale_ctx)),
        case("vaDestroyContext", "surface id (wrong kind)", ICTX, move || vcall!(v, vaDestroyContext, s0)),
        // --- buffers
        case("vaCreateBuffer", "NULL id", IPAR, move || vcall!(v, vaCreateBuffer, f.ctx, va::VAPictureParameterBufferType, 16, 1, null_mut(), null_mut())),
        case("vaCreateBuffer", "stale context", ICTX, move || v.create_buffer(f.stale_ctx, va::VAPictureParameterBufferType, 16, 1, None).0),
        case("vaCreateBuffer", "surface id as context (wrong kind)", ICTX, move || v.create_buffer(s0, va::VASliceDataBufferType, 16, 1, None).0),
        case("vaCreateBuffer", "VAEncCodedBufferType (an encoder's) in an H.264 decode context", UNSUPPORTED_BUF, move || {
            v.create_buffer(f.ctx, va::VAEncCodedBufferType, 16, 1, None).0
        }),
        case("vaCreateBuffer", "VAProbabilityBufferType (VP8's) in an H.264 context", UNSUPPORTED_BUF, move || {
            v.create_buffer(f.ctx, va::VAProbabilityBufferType, 16, 1, None).0
        }),
        case("vaCreateBuffer", "type 0x7fffffff", UNSUPPORTED_BUF, move || v.create_buffer(f.ctx, 0x7fff_ffff, 16, 1, None).0),
        case("vaCreateBuffer", "size 0", IPAR, move || v.create_buffer(f.ctx, va::VASliceDataBufferType, 0, 1, None).0),
        case("vaCreateBuffer", "0 elements", IPAR, move || v.create_buffer(f.ctx, va::VASliceDataBufferType, 16, 0, None).0),
        case("vaCreateBuffer", "u32::MAX x u32::MAX bytes", IPAR, move || v.create_buffer(f.ctx, va::VASliceDataBufferType, u32::MAX, u32::MAX, None).0),
        case("vaCreateBuffer", "65536 x 65536 bytes (overflows u32)", IPAR, move || v.create_buffer(f.ctx, va::VASliceDataBufferType, 65536, 65536, None).0),
        case("vaCreateBuffer", "256 MiB + 1", IPAR, move || v.create_buffer(f.ctx, va::VASliceDataBufferType, (256 << 20) + 1, 1, None).0),
        case("vaBufferSetNumElements", "stale buffer", IBUF, move || vcall!(v, vaBufferSetNumElements, f.stale_buf, 1)),
        case("vaBufferSetNumElements", "0 elements", IPAR, move || {
            let b = data_buf(64);
            let s = vcall!(v, vaBufferSetNumElements, b, 0);
            vcall!(v, vaDestroyBuffer, b);
            s
        }),
        case("vaBufferSetNumElements", "more elements than allocated", IPAR, move || {
            let b = data_buf(64);
            let s = vcall!(v, vaBufferSetNumElements, b, 2);
            vcall!(v, vaDestroyBuffer, b);
            s
        }),
        case("vaBufferSetNumElements", "u32::MAX elements", IPAR, move || {
            let b = data_buf(64);
            let s = vcall!(v, vaBufferSetNumElements, b, u32::MAX);
            vcall!(v, vaDestroyBuffer, b);
            s
        }),
        case("vaMapBuffer", "NULL out pointer", IPAR, move || {
            let b = data_buf(64);
            let s = vcall!(v, vaMapBuffer, b, null_mut());
            vcall!(v, vaDestroyBuffer, b);
            s
        }),
        case("vaMapBuffer", "stale buffer", IBUF, move || {
            let mut p = null_mut();
            vcall!(v, vaMapBuffer, f.stale_buf, &mut p)
        }),
        case("vaMapBuffer", "image id (wrong kind)", IBUF, move || {
            let mut p = null_mut();
            vcall!(v, vaMapBuffer, f.img.image_id, &mut p)
        }),
        case("vaUnmapBuffer", "stale buffer", IBUF, move || vcall!(v, vaUnmapBuffer, f.stale_buf)),
        case("vaUnmapBuffer", "never mapped", SUCCESS, move || {
            let b = data_buf(64);
            let s = vcall!(v, vaUnmapBuffer, b);
            vcall!(v, vaDestroyBuffer, b);
            s
        }),
        case("vaDestroyBuffer", "stale buffer", IBUF, move || vcall!(v, vaDestroyBuffer, f.stale_buf)),
        case("vaDestroyBuffer", "surface id (wrong kind)", IBUF, move || vcall!(v, vaDestroyBuffer, s0)),
        case("vaDestroyBuffer", "twice", IBUF, move || {
            let b = data_buf(64);
            assert_eq!(vcall!(v, vaDestroyBuffer, b), OK);
            vcall!(v, vaDestroyBuffer, b)
        }),
        case("vaBufferInfo", "stale buffer", IBUF, move || {
            let (mut t, mut s, mut n) = (0, 0, 0);
            vcall!(v, vaBufferInfo, f.stale_buf, &mut t, &mut s, &mut n)
        }),
        case("vaBufferInfo", "NULL type", IPAR, move || {
            let (mut s, mut n) = (0, 0);
            vcall!(v, vaBufferInfo, f.img.buf, null_mut(), &mut s, &mut n)
        }),
        // --- decoding
        case("vaBeginPicture", "stale context", ICTX, move || vcall!(v, vaBeginPicture, f.stale_ctx, s0)),
        case("vaBeginPicture", "stale surface", ISURF, move || vcall!(v, vaBeginPicture, f.ctx, f.stale_surf)),
        case("vaBeginPicture", "context id as surface (wrong kind)", ISURF, move || vcall!(v, vaBeginPicture, f.ctx, f.ctx)),
        case("vaBeginPicture", "surface of another session", ISURF, move || vcall!(v, vaBeginPicture, f.ctx, f.other_surf)),
        case("vaRenderPicture", "without vaBeginPicture", OPF, move || {
            let mut b = [f.img.buf];
            vcall!(v, vaRenderPicture, f.ctx, b.as_mut_ptr(), 1)
        }),
        case("vaRenderPicture", "stale context", ICTX, move || {
            let mut b = [f.img.buf];
            vcall!(v, vaRenderPicture, f.stale_ctx, b.as_mut_ptr(), 1)
        }),
        case("vaRenderPicture", "NULL buffers, count 2", IPAR, move || {
            assert_eq!(vcall!(v, vaBeginPicture, f.ctx, s0), OK);
            vcall!(v, vaRenderPicture, f.ctx, null_mut(), 2)
        }),
        case("vaRenderPicture", "count 1<<30", IPAR, move || {
            let mut b = [f.img.buf];
            assert_eq!(vcall!(v, vaBeginPicture, f.ctx, s0), OK);
            vcall!(v, vaRenderPicture, f.ctx, b.as_mut_ptr(), 1 << 30)
        }),
        case("vaRenderPicture", "stale buffer", IBUF, move || picture(v, f.ctx, s0, &[f.stale_buf])),
        case("vaRenderPicture", "surface id as buffer (wrong kind)", IBUF, move || picture(v, f.ctx, s0, &[s0])),
        case("vaRenderPicture", "slice data before slice parameters", IPAR, move || picture(v, f.ctx, s0, &[data_buf(16)])),
        case("vaEndPicture", "without vaBeginPicture", OPF, move || vcall!(v, vaEndPicture, f.ctx)),
        case("vaEndPicture", "stale context", ICTX, move || vcall!(v, vaEndPicture, f.stale_ctx)),
        case("vaEndPicture", "no buffers", IPAR, move || picture(v, f.ctx, s0, &[])),
        // an image's buffer belongs to no context (and is no picture's type)
        case("vaRenderPicture", "image's buffer (of no context)", IBUF, move || picture(v, f.ctx, s0, &[f.img.buf])),
        case("vaRenderPicture", "buffer of another context", IBUF, move || {
            let b = v.buffer(f.other_ctx, va::VASliceDataBufferType, 16, 1, None);
            let s = picture(v, f.ctx, s0, &[b]);
            assert_eq!(vcall!(v, vaDestroyBuffer, b), OK);
            s
        }),
        case("vaRenderPicture", "buffer still mapped", IBUF, move || {
            let b = pp_buf();
            let mut p = null_mut();
            assert_eq!(vcall!(v, vaMapBuffer, b, &mut p), OK);
            let s = picture(v, f.ctx, s0, &[b]);
            assert_eq!(vcall!(v, vaUnmapBuffer, b), OK);
            assert_eq!(vcall!(v, vaDestroyBuffer, b), OK);
            s
        }),
        case("vaEndPicture", "no picture parameters", IPAR, move || picture(v, f.ctx, s0, &[sp_buf(0, 16), data_buf(16)])),
        case("vaEndPicture", "no slices", IPAR, move || picture(v, f.ctx, s0, &[pp_buf()])),
        case("vaEndPicture", "picture parameters of 4 bytes", IPAR, move || {
            picture(v, f.ctx, s0, &[v.buffer(f.ctx, va::VAPictureParameterBufferType, 4, 1, None), sp_buf(0, 16), data_buf(16)])
        }),
        case("vaEndPicture", "IQ matrix of 4 bytes", IPAR, move || {
            picture(v, f.ctx, s0, &[pp_buf(), v.buffer(f.ctx, va::VAIQMatrixBufferType, 4, 1, None), sp_buf(0, 16), data_buf(16)])
        }),
        case("vaEndPicture", "slice parameters: 2 elements of 64 bytes (shorter than the struct)", IPAR, move || {
            picture(v, f.ctx, s0, &[pp_buf(), v.buffer(f.ctx, va::VASliceParameterBufferType, 64, 2, None), data_buf(16)])
        }),
        case("vaEndPicture", "slice_data_offset past the data", IPAR, move || picture(v, f.ctx, s0, &[pp_buf(), sp_buf(17, 1), data_buf(16)])),
        case("vaEndPicture", "slice_data_size past the data", IPAR, move || picture(v, f.ctx, s0, &[pp_buf(), sp_buf(0, 17), data_buf(16)])),
        case("vaEndPicture", "offset u32::MAX, size u32::MAX", IPAR, move || picture(v, f.ctx, s0, &[pp_buf(), sp_buf(u32::MAX, u32::MAX), data_buf(16)])),
        case("vaEndPicture", "slice_data_size 0", IPAR, move || picture(v, f.ctx, s0, &[pp_buf(), sp_buf(0, 0), data_buf(16)])),
        case("vaEndPicture", "zeroed parameters, 0xff slice bytes", IPAR, move || picture(v, f.ctx, s0, &[pp_buf(), sp_buf(0, 16), data_buf(16)])),
        case("vaEndPicture", "zeroed parameters, 0x65 slice bytes (parses as an IDR slice)", SUCCESS, move || {
            let d = v.buffer(f.ctx, va::VASliceDataBufferType, 64, 1, Some(&[0x65u8; 64]));
            picture(v, f.ctx, f.surf[3], &[pp_buf(), sp_buf(0, 64), d])
        }),
        // The simulated decoder (libavcodec) conceals such a picture
        // without flagging it; the driver must simply not hang or crash.
        case("vaSyncSurface", "after that junk picture", SUCCESS, move || vcall!(v, vaSyncSurface, f.surf[3])),
        case("vaEndPicture", "slice parameter buffer destroyed after vaRenderPicture", IPAR, move || {
            let (p, s, d) = (pp_buf(), sp_buf(0, 16), data_buf(16));
            assert_eq!(vcall!(v, vaBeginPicture, f.ctx, s0), OK);
            let mut b = [p, s, d];
            assert_eq!(vcall!(v, vaRenderPicture, f.ctx, b.as_mut_ptr(), 3), OK);
            for id in b {
                assert_eq!(vcall!(v, vaDestroyBuffer, id), OK);
            }
            vcall!(v, vaEndPicture, f.ctx)
        }),
        // --- images
        case("vaQueryImageFormats", "NULL list", IPAR, move || {
            let mut n = 0;
            vcall!(v, vaQueryImageFormats, null_mut(), &mut n)
        }),
        case("vaQueryImageFormats", "NULL count", IPAR, move || {
            let mut l = [va::VAImageFormat::default(); 4];
            vcall!(v, vaQueryImageFormats, l.as_mut_ptr(), null_mut())
        }),
        case("vaCreateImage", "NULL format", IPAR, move || {
            let mut i = va::VAImage::default();
            vcall!(v, vaCreateImage, null_mut(), 16, 16, &mut i)
        }),
        case("vaCreateImage", "NULL image", IPAR, move || {
            let mut fm = va::VAImageFormat { fourcc: va::VA_FOURCC_NV12, ..Default::default() };
            vcall!(v, vaCreateImage, &mut fm, 16, 16, null_mut())
        }),
        case("vaCreateImage", "fourcc I420", va::VA_STATUS_ERROR_INVALID_IMAGE_FORMAT, move || {
            let mut fm = va::VAImageFormat { fourcc: va::VA_FOURCC_I420, ..Default::default() };
            let mut i = va::VAImage::default();
            vcall!(v, vaCreateImage, &mut fm, 16, 16, &mut i)
        }),
        case("vaCreateImage", "0 x 16", IPAR, move || v.create_image(0, 16).0),
        case("vaCreateImage", "-16 x 16", IPAR, move || v.create_image(-16, 16).0),
        case("vaCreateImage", "i32::MAX x i32::MAX", IPAR, move || v.create_image(i32::MAX, i32::MAX).0),
        case("vaCreateImage", "16385 x 16", IPAR, move || v.create_image(16385, 16).0),
        case("vaDeriveImage", "NULL image", IPAR, move || vcall!(v, vaDeriveImage, s0, null_mut())),
        case("vaDeriveImage", "stale surface", ISURF, move || v.derive_image(f.stale_surf).0),
        case("vaDeriveImage", "twice on one surface", va::VA_STATUS_ERROR_SURFACE_BUSY, move || {
            let (s, a) = v.derive_image(f.surf[1]);
            assert_eq!(s, OK);
            let r = v.derive_image(f.surf[1]).0;
            assert_eq!(vcall!(v, vaDestroyImage, a.image_id), OK);
            r
        }),
        case("vaDestroyImage", "stale image", IIMG, move || vcall!(v, vaDestroyImage, f.stale_img)),
        case("vaDestroyImage", "buffer id (wrong kind)", IIMG, move || vcall!(v, vaDestroyImage, f.img.buf)),
        case("vaGetImage", "stale surface", ISURF, move || vcall!(v, vaGetImage, f.stale_surf, 0, 0, 16, 16, f.img.image_id)),
        case("vaGetImage", "stale image", IIMG, move || vcall!(v, vaGetImage, s0, 0, 0, 16, 16, f.stale_img)),
        case("vaGetImage", "x = -1", IPAR, move || vcall!(v, vaGetImage, s0, -1, 0, 16, 16, f.img.image_id)),
        case("vaGetImage", "width 0", IPAR, move || vcall!(v, vaGetImage, s0, 0, 0, 0, 16, f.img.image_id)),
        case("vaGetImage", "x + width past the surface", IPAR, move || vcall!(v, vaGetImage, s0, 310, 0, 16, 16, f.img.image_id)),
        case("vaGetImage", "width u32::MAX", IPAR, move || vcall!(v, vaGetImage, s0, 0, 0, u32::MAX, 16, f.img.image_id)),
        case("vaGetImage", "rectangle larger than the image", IPAR, move || vcall!(v, vaGetImage, s0, 0, 0, 128, 128, f.img.image_id)),
        case("vaGetImage", "image buffer destroyed by vaDestroyBuffer", IBUF, move || {
            let (s, i) = v.create_image(32, 32);
            assert_eq!(s, OK);
            assert_eq!(vcall!(v, vaDestroyBuffer, i.buf), OK);
            let r = vcall!(v, vaGetImage, s0, 0, 0, 32, 32, i.image_id);
            assert_eq!(vcall!(v, vaDestroyImage, i.image_id), OK);
            r
        }),
        case("vaGetImage", "valid 64x64 at 256,176", SUCCESS, move || vcall!(v, vaGetImage, s0, 256, 176, 64, 64, f.img.image_id)),
        case("vaPutImage", "scaling", UNIMPL, move || vcall!(v, vaPutImage, s0, f.img.image_id, 0, 0, 16, 16, 0, 0, 32, 32)),
        case("vaPutImage", "source rectangle outside the image", IPAR, move || vcall!(v, vaPutImage, s0, f.img.image_id, 60, 0, 16, 16, 0, 0, 16, 16)),
        case("vaPutImage", "destination outside the surface", IPAR, move || vcall!(v, vaPutImage, s0, f.img.image_id, 0, 0, 16, 16, 310, 0, 16, 16)),
        case("vaPutImage", "negative source origin", IPAR, move || vcall!(v, vaPutImage, s0, f.img.image_id, -8, 0, 16, 16, 0, 0, 16, 16)),
        case("vaPutImage", "stale image", IIMG, move || vcall!(v, vaPutImage, s0, f.stale_img, 0, 0, 16, 16, 0, 0, 16, 16)),
        case("vaPutImage", "valid", SUCCESS, move || vcall!(v, vaPutImage, s0, f.img.image_id, 0, 0, 64, 64, 16, 16, 64, 64)),
        case("vaSetImagePalette", "anything", UNIMPL, move || vcall!(v, vaSetImagePalette, f.img.image_id, null_mut())),
        // --- subpictures, display attributes and other stubs
        case("vaQuerySubpictureFormats", "NULL count", IPAR, move || vcall!(v, vaQuerySubpictureFormats, null_mut(), null_mut(), null_mut())),
        case("vaQuerySubpictureFormats", "valid (none supported)", SUCCESS, move || {
            let mut n = 7u32;
            let s = vcall!(v, vaQuerySubpictureFormats, null_mut(), null_mut(), &mut n);
            assert_eq!(n, 0);
            s
        }),
        case("vaCreateSubpicture", "image id", UNIMPL, move || {
            let mut i = 0;
            vcall!(v, vaCreateSubpicture, f.img.image_id, &mut i)
        }),
        case("vaDestroySubpicture", "junk id", UNIMPL, move || vcall!(v, vaDestroySubpicture, junk)),
        case("vaSetSubpictureImage", "junk ids", UNIMPL, move || vcall!(v, vaSetSubpictureImage, junk, junk)),
        case("vaSetSubpictureChromakey", "junk id", UNIMPL, move || vcall!(v, vaSetSubpictureChromakey, junk, 0, 0, 0)),
        case("vaSetSubpictureGlobalAlpha", "junk id", UNIMPL, move || vcall!(v, vaSetSubpictureGlobalAlpha, junk, 0.5)),
        case("vaAssociateSubpicture", "NULL targets", UNIMPL, move || vcall!(v, vaAssociateSubpicture, junk, null_mut(), 5, 0, 0, 0, 0, 0, 0, 0, 0, 0)),
        case("vaDeassociateSubpicture", "NULL targets", UNIMPL, move || vcall!(v, vaDeassociateSubpicture, junk, null_mut(), 5)),
        case("vaQueryDisplayAttributes", "NULL count", IPAR, move || vcall!(v, vaQueryDisplayAttributes, null_mut(), null_mut())),
        case("vaGetDisplayAttributes", "NULL list", UNIMPL, move || vcall!(v, vaGetDisplayAttributes, null_mut(), 3)),
        case("vaSetDisplayAttributes", "NULL list", UNIMPL, move || vcall!(v, vaSetDisplayAttributes, null_mut(), 3)),
        case("vaPutSurface", "NULL drawable", UNIMPL, move || vcall!(v, vaPutSurface, s0, null_mut(), 0, 0, 16, 16, 0, 0, 16, 16, null_mut(), 0, 0)),
        case("vaLockSurface", "NULL outputs", UNIMPL, move || {
            vcall!(v, vaLockSurface, s0, null_mut(), null_mut(), null_mut(), null_mut(), null_mut(), null_mut(), null_mut(), null_mut(), null_mut())
        }),
        case("vaUnlockSurface", "surface", UNIMPL, move || vcall!(v, vaUnlockSurface, s0)),
        case("vaGetSurfaceAttributes", "NULL list", UNIMPL, move || vcall!(v, vaGetSurfaceAttributes, f.cfg, null_mut(), 4)),
        case("vaAcquireBufferHandle", "NULL info", UNIMPL, move || vcall!(v, vaAcquireBufferHandle, f.img.buf, null_mut())),
        case("vaReleaseBufferHandle", "buffer", UNIMPL, move || vcall!(v, vaReleaseBufferHandle, f.img.buf)),
        case("vaCreateMFContext", "NULL out", UNIMPL, move || vcall!(v, vaCreateMFContext, null_mut())),
        case("vaMFAddContext", "junk", UNIMPL, move || vcall!(v, vaMFAddContext, junk, f.ctx)),
        case("vaMFReleaseContext", "junk", UNIMPL, move || vcall!(v, vaMFReleaseContext, junk, f.ctx)),
        case("vaMFSubmit", "NULL contexts", UNIMPL, move || vcall!(v, vaMFSubmit, junk, null_mut(), 9)),
        case("vaCreateBuffer2", "NULL outputs", UNIMPL, move || {
            vcall!(v, vaCreateBuffer2, f.ctx, va::VAImageBufferType, 16, 16, null_mut(), null_mut(), null_mut())
        }),
        case("vaQueryProcessingRate", "NULL outputs", UNIMPL, move || vcall!(v, vaQueryProcessingRate, f.cfg, null_mut(), null_mut())),
        case("vaSyncBuffer", "junk", UNIMPL, move || vcall!(v, vaSyncBuffer, junk, 0)),
        case("vaCopy", "NULL objects", UNIMPL, move || vcall!(v, vaCopy, null_mut(), null_mut(), va::VACopyOption::default())),
        case("vaTerminate", "NULL context", IPAR, move || {
            // SAFETY: deliberately NULL.
            unsafe { v.vt.vaTerminate.unwrap()(null_mut()) }
        }),
    ]
}

/// Every entry point with a context that cannot be used (NULL, or
/// terminated) and otherwise harmless arguments: none may succeed.
fn unusable_context(vt: &va::VADriverVTable, c: va::VADriverContextP) -> Vec<(&'static str, St)> {
    let id = 0x1000_0001u32;
    let (mut n, mut u, mut out) = (0i32, 0u32, 0u32);
    let mut p: *mut libc::c_void = null_mut();
    let mut img = va::VAImage::default();
    let mut fmt = va::VAImageFormat { fourcc: va::VA_FOURCC_NV12, ..Default::default() };
    let mut s = [0u32; 2];
    let mut attr = [va::VAConfigAttrib::default(); 4];
    let mut d = va::VADRMPRIMESurfaceDescriptor::default();
    // SAFETY: every call gets valid memory for what it may write.
    unsafe {
        vec![
            ("vaQueryConfigProfiles", vt.vaQueryConfigProfiles.unwrap()(c, [0; 32].as_mut_ptr(), &mut n)),
            ("vaQueryConfigEntrypoints", vt.vaQueryConfigEntrypoints.unwrap()(c, va::VAProfileH264Main, [0; 4].as_mut_ptr(), &mut n)),
            ("vaGetConfigAttributes", vt.vaGetConfigAttributes.unwrap()(c, va::VAProfileH264Main, va::VAEntrypointVLD, attr.as_mut_ptr(), 1)),
            ("vaCreateConfig", vt.vaCreateConfig.unwrap()(c, va::VAProfileH264Main, va::VAEntrypointVLD, null_mut(), 0, &mut out)),
            ("vaDestroyConfig", vt.vaDestroyConfig.unwrap()(c, id)),
            ("vaQueryConfigAttributes", vt.vaQueryConfigAttributes.unwrap()(c, id, &mut n, &mut u, attr.as_mut_ptr(), &mut n)),
            ("vaCreateSurfaces", vt.vaCreateSurfaces.unwrap()(c, 64, 64, va::VA_RT_FORMAT_YUV420 as i32, 1, s.as_mut_ptr())),
            ("vaCreateSurfaces2", vt.vaCreateSurfaces2.unwrap()(c, va::VA_RT_FORMAT_YUV420, 64, 64, s.as_mut_ptr(), 1, null_mut(), 0)),
            ("vaDestroySurfaces", vt.vaDestroySurfaces.unwrap()(c, s.as_mut_ptr(), 1)),
            ("vaCreateContext", vt.vaCreateContext.unwrap()(c, id, 64, 64, 1, null_mut(), 0, &mut out)),
            ("vaDestroyContext", vt.vaDestroyContext.unwrap()(c, id)),
            ("vaCreateBuffer", vt.vaCreateBuffer.unwrap()(c, id, va::VAImageBufferType, 16, 1, null_mut(), &mut out)),
            ("vaBufferSetNumElements", vt.vaBufferSetNumElements.unwrap()(c, id, 1)),
            ("vaMapBuffer", vt.vaMapBuffer.unwrap()(c, id, &mut p)),
            ("vaUnmapBuffer", vt.vaUnmapBuffer.unwrap()(c, id)),
            ("vaDestroyBuffer", vt.vaDestroyBuffer.unwrap()(c, id)),
            ("vaBeginPicture", vt.vaBeginPicture.unwrap()(c, id, id)),
            ("vaRenderPicture", vt.vaRenderPicture.unwrap()(c, id, s.as_mut_ptr(), 1)),
            ("vaEndPicture", vt.vaEndPicture.unwrap()(c, id)),
            ("vaSyncSurface", vt.vaSyncSurface.unwrap()(c, id)),
            ("vaSyncSurface2", vt.vaSyncSurface2.unwrap()(c, id, 0)),
            ("vaQuerySurfaceStatus", vt.vaQuerySurfaceStatus.unwrap()(c, id, &mut u)),
            ("vaQuerySurfaceError", vt.vaQuerySurfaceError.unwrap()(c, id, va::VA_STATUS_ERROR_DECODING_ERROR as St, &mut p)),
            ("vaQueryImageFormats", vt.vaQueryImageFormats.unwrap()(c, [va::VAImageFormat::default(); 4].as_mut_ptr(), &mut n)),
            ("vaCreateImage", vt.vaCreateImage.unwrap()(c, &mut fmt, 16, 16, &mut img)),
            ("vaDeriveImage", vt.vaDeriveImage.unwrap()(c, id, &mut img)),
            ("vaDestroyImage", vt.vaDestroyImage.unwrap()(c, id)),
            ("vaGetImage", vt.vaGetImage.unwrap()(c, id, 0, 0, 16, 16, id)),
            ("vaPutImage", vt.vaPutImage.unwrap()(c, id, id, 0, 0, 16, 16, 0, 0, 16, 16)),
            ("vaQuerySubpictureFormats", vt.vaQuerySubpictureFormats.unwrap()(c, null_mut(), null_mut(), &mut u)),
            ("vaQueryDisplayAttributes", vt.vaQueryDisplayAttributes.unwrap()(c, null_mut(), &mut n)),
            ("vaBufferInfo", vt.vaBufferInfo.unwrap()(c, id, &mut u, &mut u, &mut u)),
            ("vaQuerySurfaceAttributes", vt.vaQuerySurfaceAttributes.unwrap()(c, id, null_mut(), &mut u)),
            (
                "vaExportSurfaceHandle",
                vt.vaExportSurfaceHandle.unwrap()(
                    c,
                    id,
                    va::VA_SURFACE_ATTRIB_MEM_TYPE_DRM_PRIME_2,
                    va::VA_EXPORT_SURFACE_COMPOSED_LAYERS,
                    &mut d as *mut _ as *mut libc::c_void,
                ),
            ),
            ("vaTerminate", vt.vaTerminate.unwrap()(c)),
        ]
    }
}

#[test]
fn hostile_vtable() {
    let (out, _) = run_child_ok("child_hostile_vtable", &[("HANTRO_LOG", "off")]);
    assert!(out.contains("hostile: all"), "{out}");
}

#[test]
fn child_hostile_vtable() {
    if !common::child("child_hostile_vtable") {
        return;
    }
    let v = Va::init_ok();
    let before = common::resources();
    let f = fixture(&v);
    let table = cases(&v, &f);
    let mut bad = Vec::new();
    println!("{:<28} {:<66} {:<26} got", "entry", "input", "expected");
    for c in &table {
        let got = (c.run)();
        let mark = if got as u32 == c.want { "" } else { "   <-- WRONG" };
        println!("{:<28} {:<66} {:<26} {}{mark}", c.entry, c.input, status_name(c.want as St), status_name(got));
        if got as u32 != c.want {
            bad.push(format!("{} ({}): expected {}, got {}", c.entry, c.input, status_name(c.want as St), status_name(got)));
        }
    }
    // The driver still works after all that: a normal export and image read.
    let (s, d) = v.export(f.surf[2], va::VA_EXPORT_SURFACE_COMPOSED_LAYERS);
    assert_eq!(s, OK);
    close_fds(&d);
    assert_eq!(vcall!(v, vaGetImage, f.surf[2], 0, 0, 64, 64, f.img.image_id), OK);

    // NULL context: nothing succeeds.
    let nulls = unusable_context(&v.vt, null_mut());
    for (e, s) in &nulls {
        if *s == OK {
            bad.push(format!("{e} succeeded with a NULL VADriverContext"));
        }
    }
    // After vaTerminate (pDriverData cleared): nothing succeeds, no crash.
    assert_eq!(v.terminate(), OK);
    let after = common::resources();
    let dead = unusable_context(&v.vt, v.ptr());
    for (e, s) in &dead {
        if *s as u32 != IPAR {
            bad.push(format!("{e} after vaTerminate: expected INVALID_PARAMETER, got {}", status_name(*s)));
        }
    }
    println!("{} table rows, {} entries with a NULL context, {} after vaTerminate", table.len(), nulls.len(), dead.len());
    println!("resources before fixture {before:?}, after vaTerminate {after:?}");
    assert!(bad.is_empty(), "{} wrong statuses:\n{}", bad.len(), bad.join("\n"));
    assert_eq!(before.fds, after.fds, "fds leaked by the hostile calls");
    println!("hostile: all {} rows as expected", table.len());
}

/// Entry points made to panic inside the guard, with arguments that would
/// otherwise succeed.
const PANIC_ENTRIES: &[&str] = &[
    "vaQueryConfigProfiles",
    "vaCreateConfig",
    "vaCreateSurfaces2",
    "vaCreateContext",
    "vaCreateBuffer",
    "vaMapBuffer",
    "vaBeginPicture",
    "vaEndPicture",
    "vaSyncSurface",
    "vaExportSurfaceHandle",
    "vaGetImage",
    "vaDestroySurfaces",
];

#[test]
fn panic_containment() {
    let (out, err) = run_child_ok("child_panic_containment", &[("HANTRO_LOG", "error")]);
    assert!(out.contains("panic containment: ok"), "{out}");
    // The guard logs each caught panic.
    for e in PANIC_ENTRIES {
        assert!(err.contains(&format!("{e}: internal error (panic: test hook: panic in {e})")), "no log line for {e}:\n{err}");
    }
}

#[test]
fn child_panic_containment() {
    if !common::child("child_panic_containment") {
        return;
    }
    let v = Va::init_ok();
    let cfg = v.config();
    let mut surf = v.surfaces(320, 240, 2);
    let ctx = v.context(cfg, 320, 240, &mut surf);
    let (s, img) = v.create_image(32, 32);
    assert_eq!(s, OK);
    let buf = v.buffer(ctx, va::VASliceDataBufferType, 64, 1, None);
    let run = |name: &str| -> St {
        match name {
            "vaQueryConfigProfiles" => {
                let mut l = [0; 32];
                let mut n = 0;
                vcall!(v, vaQueryConfigProfiles, l.as_mut_ptr(), &mut n)
            }
            "vaCreateConfig" => v.create_config(va::VAProfileH264Main).0,
            "vaCreateSurfaces2" => v.create_surfaces(320, 240, 1).0,
            "vaCreateContext" => v.create_context(cfg, 320, 240, &mut []).0,
            "vaCreateBuffer" => v.create_buffer(ctx, va::VASliceDataBufferType, 16, 1, None).0,
            "vaMapBuffer" => {
                let mut p = null_mut();
                vcall!(v, vaMapBuffer, buf, &mut p)
            }
            "vaBeginPicture" => vcall!(v, vaBeginPicture, ctx, surf[0]),
            "vaEndPicture" => vcall!(v, vaEndPicture, ctx),
            "vaSyncSurface" => vcall!(v, vaSyncSurface, surf[0]),
            "vaExportSurfaceHandle" => {
                let (s, d) = v.export(surf[0], va::VA_EXPORT_SURFACE_COMPOSED_LAYERS);
                if s == OK {
                    close_fds(&d)
                }
                s
            }
            "vaGetImage" => vcall!(v, vaGetImage, surf[0], 0, 0, 32, 32, img.image_id),
            "vaDestroySurfaces" => {
                let mut s = [surf[1]];
                vcall!(v, vaDestroySurfaces, s.as_mut_ptr(), 1)
            }
            other => panic!("no call for {other}"),
        }
    };
    for &e in PANIC_ENTRIES {
        std::env::set_var("HANTRO_TEST_PANIC_IN", e);
        let s = run(e);
        std::env::remove_var("HANTRO_TEST_PANIC_IN");
        assert_eq!(s as u32, OPF, "{e} with a panic inside: {}", status_name(s));
        println!("{e}: panicked inside the guard -> {}", status_name(s));
    }
    // The process lives on and the driver still works, same objects.
    for &e in PANIC_ENTRIES {
        if e == "vaEndPicture" {
            continue; // needs a whole picture
        }
        let s = run(e);
        assert_eq!(s, OK, "{e} after the panics: {}", status_name(s));
    }
    assert_eq!(v.terminate(), OK);
    println!("panic containment: ok");
}
