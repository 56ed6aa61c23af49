//! The C ABI. Extern functions convert pointers to Rust values, call one
//! driver method, and turn the result into a VAStatus through [`guard`],
//! which also keeps panics from crossing into C.
pub mod init;
pub mod vtable;

use crate::driver::{Driver, VaError, VaResult};
use crate::ffi::va;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Sets up logging once: `HANTRO_LOG` in RUST_LOG syntax (default: warn).
pub fn init_logging() {
    use std::sync::Once;
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let env = env_logger::Env::new().filter_or("HANTRO_LOG", "warn").write_style("HANTRO_LOG_STYLE");
        let _ = env_logger::Builder::from_env(env).format_target(true).try_init();
    });
}

#[cfg(feature = "test-hooks")]
pub mod hooks {
    //! Test-only: `HANTRO_TEST_PANIC_IN=vaCreateConfig` makes that entry
    //! point panic inside the guard.
    pub fn maybe_panic(name: &str) {
        if std::env::var("HANTRO_TEST_PANIC_IN").ok().as_deref() == Some(name) {
            panic!("test hook: panic in {name}");
        }
    }
}

/// Runs one entry point: catches panics, maps errors to VAStatus, logs.
pub fn guard(name: &'static str, f: impl FnOnce() -> VaResult<()>) -> va::VAStatus {
    let r = catch_unwind(AssertUnwindSafe(|| {
        #[cfg(feature = "test-hooks")]
        hooks::maybe_panic(name);
        f()
    }));
    match r {
        Ok(Ok(())) => va::VA_STATUS_SUCCESS as va::VAStatus,
        Ok(Err(e)) => {
            // The one place a failed call is logged (call sites add
            // context to the error instead of logging it themselves).
            log::log!(e.log_level(), "{name}: {e}");
            e.status()
        }
        Err(p) => {
            let msg = p.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| p.downcast_ref::<String>().cloned()).unwrap_or_default();
            log::error!("{name}: internal error (panic: {msg}); returning VA_STATUS_ERROR_OPERATION_FAILED");
            va::VA_STATUS_ERROR_OPERATION_FAILED as va::VAStatus
        }
    }
}

/// The driver behind a VADriverContext.
pub(crate) fn driver<'a>(ctx: va::VADriverContextP) -> VaResult<&'a Driver> {
    if ctx.is_null() {
        return Err(VaError::InvalidParameter("NULL VADriverContext".into()));
    }
    // SAFETY: libva passes the context it gave to __vaDriverInit; our init
    // stored a leaked Box<Driver> in pDriverData that lives until
    // vaTerminate takes it back.
    let p = unsafe { (*ctx).pDriverData } as *const Driver;
    if p.is_null() {
        return Err(VaError::InvalidParameter("driver not initialised".into()));
    }
    // SAFETY: see above.
    Ok(unsafe { &*p })
}

/// `*p` as a mutable reference, or an error for NULL.
pub(crate) fn out<'a, T>(p: *mut T) -> VaResult<&'a mut T> {
    // SAFETY: libva's API makes the caller pass a valid, writable T here;
    // NULL is rejected.
    unsafe { p.as_mut() }.ok_or_else(|| VaError::InvalidParameter("NULL output pointer".into()))
}

/// A client array of `n` elements (NULL allowed only when n == 0).
pub(crate) fn slice<'a, T>(p: *const T, n: i64) -> VaResult<&'a [T]> {
    if !(0..=(1 << 24)).contains(&n) {
        return Err(VaError::InvalidParameter(format!("element count {n}")));
    }
    if n == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(VaError::InvalidParameter("NULL array".into()));
    }
    // SAFETY: the caller passes an array of n readable elements (VA API).
    Ok(unsafe { std::slice::from_raw_parts(p, n as usize) })
}

pub(crate) fn slice_mut<'a, T>(p: *mut T, n: i64) -> VaResult<&'a mut [T]> {
    if !(0..=(1 << 24)).contains(&n) {
        return Err(VaError::InvalidParameter(format!("element count {n}")));
    }
    if n == 0 {
        return Ok(&mut []);
    }
    if p.is_null() {
        return Err(VaError::InvalidParameter("NULL array".into()));
    }
    // SAFETY: the caller passes a writable array of n elements (VA API).
    Ok(unsafe { std::slice::from_raw_parts_mut(p, n as usize) })
}

/// Copies `items` into a client array whose capacity the driver announced
/// through VADriverContext (max_profiles etc.) and stores the count.
pub(crate) fn fill<T: Copy>(list: *mut T, count: *mut libc::c_int, items: &[T], max: i32) -> VaResult<()> {
    let n = items.len().min(max.max(0) as usize);
    let dst = slice_mut(list, n as i64)?;
    dst.copy_from_slice(&items[..n]);
    *out(count)? = n as libc::c_int;
    Ok(())
}
