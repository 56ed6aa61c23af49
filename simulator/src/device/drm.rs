//! The fake DRM render node: DRM_IOCTL_VERSION only.
use super::*;

/// struct drm_version (drm.h), for DRM_IOCTL_VERSION on the fake render
/// node: ffmpeg's VAAPI device probing requires it to succeed, and libva
/// (without LIBVA_DRIVER_NAME) loads `<name>_drv_video.so` from its `name`:
/// `HANTRO_SIM_DRM_NAME` (read once) impersonates a board's kernel driver,
/// e.g. `panfrost`; default `hantro-sim`.
#[repr(C)]
pub(super) struct DrmVersion {
    major: c_int,
    minor: c_int,
    patch: c_int,
    name_len: usize,
    name: *mut u8,
    date_len: usize,
    date: *mut u8,
    desc_len: usize,
    desc: *mut u8,
}
pub const DRM_IOCTL_VERSION: u64 = 0xc040_6400;

pub(super) fn drm_version(arg: *mut c_void) -> R<c_int> {
    // SAFETY: `arg` is non-null (ioctl_inner) and, by the contract of this ioctl number, points to the caller's struct drm_version for the duration of the call, aligned and not aliased by us (a kernel handler gets the same promise via copy_from_user's size).
    let v = unsafe { &mut *(arg as *mut DrmVersion) };
    v.major = 1;
    v.minor = 0;
    v.patch = 0;
    static NAME: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let name = NAME.get_or_init(|| std::env::var("HANTRO_SIM_DRM_NAME").unwrap_or("hantro-sim".into()));
    // As the kernel's drm_copy_field: copy min(buffer, string) bytes (no NUL
    // added), always report the full length.
    for (len, ptr, s) in [
        (&mut v.name_len, v.name, name.as_str()),
        (&mut v.date_len, v.date, "20241121"),
        (&mut v.desc_len, v.desc, "V4L2 stateless decoder simulator (no DRM device)"),
    ] {
        if !ptr.is_null() && *len > 0 {
            copy_to_user(ptr, &s.as_bytes()[..(*len).min(s.len())])?;
        }
        *len = s.len();
    }
    Ok(0)
}
