//! libc interposition (LD_PRELOAD=libhantro_sim.so).  Every hook checks
//! cheaply whether the fd/path is emulated and otherwise calls the next
//! definition (dlsym(RTLD_NEXT)).  x86_64/aarch64 SysV: the variadic third
//! argument of open/ioctl/fcntl is passed like a normal argument, so plain
//! extern "C" definitions with a fixed third parameter are ABI compatible.
#![allow(clippy::missing_safety_doc)]
use crate::device::{fd_marked, Config, Sim};
use libc::{c_char, c_int, c_long, c_ulong, c_void, mode_t, nfds_t, off_t, pollfd, size_t};
use std::cell::Cell;
use std::collections::HashMap;
use std::ffi::CStr;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

static GLOBAL: OnceLock<Arc<Sim>> = OnceLock::new();
static PATHS: OnceLock<Option<Config>> = OnceLock::new();

thread_local! {
    static IN_HOOK: Cell<bool> = const { Cell::new(false) };
}

/// Marks the calling thread as the simulator's own: its libc calls are
/// never emulated (the hardware worker thread).
pub fn mark_internal_thread() {
    let _ = IN_HOOK.try_with(|b| b.set(true));
}

/// Runs `f` unless this thread is already inside a hook (the simulator's
/// own libc calls must go straight to libc).
fn guarded<T>(f: impl FnOnce() -> Option<T>) -> Option<T> {
    let busy = IN_HOOK.try_with(|b| b.replace(true)).unwrap_or(true);
    if busy {
        return None;
    }
    let r = f();
    let _ = IN_HOOK.try_with(|b| b.set(false));
    r
}

fn config() -> Option<&'static Config> {
    PATHS.get_or_init(|| if std::env::var("HANTRO_SIM_DISABLE").is_ok_and(|v| v == "1") { None } else { Some(Config::from_env()) }).as_ref()
}

/// The process-wide simulator used by the hooks.
pub fn global() -> Option<&'static Arc<Sim>> {
    let cfg = config()?;
    Some(GLOBAL.get_or_init(|| {
        let s = Sim::new(cfg.clone());
        s.log(&format!(
            "emulating {} ({}, {}) at {} and {}{}",
            cfg.personality.driver(),
            if cfg.personality.frame_based() { "frame-based, Annex-B" } else { "slice-based, no start code" },
            if cfg.personality.mplane() { "multi-planar" } else { "single-planar" },
            cfg.media_path,
            cfg.video_path,
            if cfg.dri_path.is_empty() { String::new() } else { format!(", DRM render node {}", cfg.dri_path) }
        ));
        s
    }))
}

macro_rules! real {
    ($name:ident : fn($($t:ty),*) -> $r:ty) => {{
        static P: AtomicPtr<c_void> = AtomicPtr::new(std::ptr::null_mut());
        let mut p = P.load(Ordering::Relaxed);
        if p.is_null() {
            // SAFETY: dlsym with RTLD_NEXT and a NUL-terminated literal name.
            p = unsafe { libc::dlsym(libc::RTLD_NEXT, concat!(stringify!($name), "\0").as_ptr() as *const c_char) };
            P.store(p, Ordering::Relaxed);
        }
        if p.is_null() {
            None
        } else {
            // SAFETY: p is the non-null address of the libc symbol named like this hook, whose C prototype the macro caller spells as the fn type.
            Some(unsafe { std::mem::transmute::<*mut c_void, unsafe extern "C" fn($($t),*) -> $r>(p) })
        }
    }};
}

fn set_errno(e: c_int) {
    // SAFETY: __errno_location returns this thread's errno slot.
    unsafe { *libc::__errno_location() = e };
}

unsafe fn path_str<'a>(p: *const c_char) -> Option<&'a str> {
    if p.is_null() {
        return None;
    }
    CStr::from_ptr(p).to_str().ok()
}

fn ours_path(p: &str) -> bool {
    match config() {
        Some(c) => p == c.media_path || p == c.video_path || (!c.dri_path.is_empty() && p == c.dri_path) || sys_file(p).is_some(),
        None => false,
    }
}

/// sysfs attributes clients read to map a devnode to its name.
fn sys_file(p: &str) -> Option<String> {
    let c = config()?;
    let vname = c.video_path.rsplit('/').next().unwrap_or("video0");
    let mname = c.media_path.rsplit('/').next().unwrap_or("media0");
    let vmin = c.video_minor();
    let vdev = format!("/sys/dev/char/{}:{}", crate::device::VIDEO_MAJOR, vmin);
    let mdev = format!("/sys/dev/char/{}:0", crate::device::MEDIA_MAJOR);
    if p == format!("{vdev}/uevent") || p == format!("/sys/class/video4linux/{vname}/uevent") {
        return Some(format!("MAJOR={}\nMINOR={vmin}\nDEVNAME={vname}\n", crate::device::VIDEO_MAJOR));
    }
    if p == format!("{vdev}/name") || p == format!("/sys/class/video4linux/{vname}/name") {
        return Some(format!("{}\n", c.personality.card()));
    }
    if p == format!("{mdev}/uevent") || p == format!("/sys/bus/media/devices/{mname}/uevent") {
        return Some(format!("MAJOR={}\nMINOR=0\nDEVNAME={mname}\n", crate::device::MEDIA_MAJOR));
    }
    None
}

fn open_sys(content: &str) -> c_int {
    // SAFETY: a new memfd we own, written from `content`, rewound; returned to the client as its fd.
    unsafe {
        let fd = libc::memfd_create(c"hantro-sim-sysfs".as_ptr(), libc::MFD_CLOEXEC);
        if fd >= 0 {
            libc::write(fd, content.as_ptr() as *const c_void, content.len());
            libc::lseek(fd, 0, libc::SEEK_SET);
        }
        fd
    }
}

unsafe fn do_open(path: *const c_char, flags: c_int) -> Option<c_int> {
    let p = path_str(path)?;
    if !p.starts_with("/dev/") && !p.starts_with("/sys/") && !ours_path(p) {
        return None;
    }
    guarded(|| {
        if !ours_path(p) {
            return None;
        }
        if let Some(s) = sys_file(p) {
            return Some(open_sys(&s));
        }
        let sim = global()?;
        match sim.open(p, flags)? {
            Ok(fd) => Some(fd),
            Err(e) => {
                set_errno(e);
                Some(-1)
            }
        }
    })
}

#[no_mangle]
pub unsafe extern "C" fn open(path: *const c_char, flags: c_int, mode: mode_t) -> c_int {
    if let Some(fd) = do_open(path, flags) {
        return fd;
    }
    real!(open: fn(*const c_char, c_int, mode_t) -> c_int).map_or(-1, |f| f(path, flags, mode))
}
#[no_mangle]
pub unsafe extern "C" fn open64(path: *const c_char, flags: c_int, mode: mode_t) -> c_int {
    if let Some(fd) = do_open(path, flags) {
        return fd;
    }
    real!(open64: fn(*const c_char, c_int, mode_t) -> c_int).map_or(-1, |f| f(path, flags, mode))
}
#[no_mangle]
pub unsafe extern "C" fn __open_2(path: *const c_char, flags: c_int) -> c_int {
    if let Some(fd) = do_open(path, flags) {
        return fd;
    }
    real!(__open_2: fn(*const c_char, c_int) -> c_int).map_or(-1, |f| f(path, flags))
}
#[no_mangle]
pub unsafe extern "C" fn __open64_2(path: *const c_char, flags: c_int) -> c_int {
    if let Some(fd) = do_open(path, flags) {
        return fd;
    }
    real!(__open64_2: fn(*const c_char, c_int) -> c_int).map_or(-1, |f| f(path, flags))
}
#[no_mangle]
pub unsafe extern "C" fn openat(dirfd: c_int, path: *const c_char, flags: c_int, mode: mode_t) -> c_int {
    if let Some(fd) = do_open(path, flags) {
        return fd;
    }
    real!(openat: fn(c_int, *const c_char, c_int, mode_t) -> c_int).map_or(-1, |f| f(dirfd, path, flags, mode))
}
#[no_mangle]
pub unsafe extern "C" fn openat64(dirfd: c_int, path: *const c_char, flags: c_int, mode: mode_t) -> c_int {
    if let Some(fd) = do_open(path, flags) {
        return fd;
    }
    real!(openat64: fn(c_int, *const c_char, c_int, mode_t) -> c_int).map_or(-1, |f| f(dirfd, path, flags, mode))
}
#[no_mangle]
pub unsafe extern "C" fn __openat_2(dirfd: c_int, path: *const c_char, flags: c_int) -> c_int {
    if let Some(fd) = do_open(path, flags) {
        return fd;
    }
    real!(__openat_2: fn(c_int, *const c_char, c_int) -> c_int).map_or(-1, |f| f(dirfd, path, flags))
}

#[no_mangle]
pub unsafe extern "C" fn fopen(path: *const c_char, mode: *const c_char) -> *mut libc::FILE {
    if let Some(p) = path_str(path) {
        if p.starts_with("/sys/") || p.starts_with("/dev/") {
            if let Some(fd) = do_open(path, libc::O_RDONLY) {
                if fd < 0 {
                    return std::ptr::null_mut();
                }
                return libc::fdopen(fd, mode);
            }
        }
    }
    real!(fopen: fn(*const c_char, *const c_char) -> *mut libc::FILE).map_or(std::ptr::null_mut(), |f| f(path, mode))
}
#[no_mangle]
pub unsafe extern "C" fn fopen64(path: *const c_char, mode: *const c_char) -> *mut libc::FILE {
    if let Some(p) = path_str(path) {
        if p.starts_with("/sys/") || p.starts_with("/dev/") {
            if let Some(fd) = do_open(path, libc::O_RDONLY) {
                if fd < 0 {
                    return std::ptr::null_mut();
                }
                return libc::fdopen(fd, mode);
            }
        }
    }
    real!(fopen64: fn(*const c_char, *const c_char) -> *mut libc::FILE).map_or(std::ptr::null_mut(), |f| f(path, mode))
}

fn sim_for_fd(fd: c_int) -> Option<&'static Arc<Sim>> {
    if !fd_marked(fd) {
        return None;
    }
    let s = GLOBAL.get()?;
    if s.owns_fd(fd) {
        Some(s)
    } else {
        None
    }
}

#[no_mangle]
pub unsafe extern "C" fn close(fd: c_int) -> c_int {
    if fd_marked(fd) {
        guarded(|| sim_for_fd(fd).map(|s| s.close(fd)));
    }
    real!(close: fn(c_int) -> c_int).map_or(-1, |f| f(fd))
}

#[no_mangle]
pub unsafe extern "C" fn ioctl(fd: c_int, req: c_ulong, arg: *mut c_void) -> c_int {
    if fd_marked(fd) {
        // c_ulong is u64 here but u32 on 32-bit targets
        #[allow(clippy::useless_conversion)]
        let req64 = u64::from(req);
        if let Some(r) = guarded(|| sim_for_fd(fd).and_then(|s| s.ioctl(fd, req64, arg))) {
            return match r {
                Ok(v) => v,
                Err(e) => {
                    set_errno(e);
                    -1
                }
            };
        }
    }
    real!(ioctl: fn(c_int, c_ulong, *mut c_void) -> c_int).map_or(-1, |f| f(fd, req, arg))
}

unsafe fn do_mmap(fd: c_int, off: off_t) -> Option<Result<c_int, c_int>> {
    if !fd_marked(fd) {
        return None;
    }
    guarded(|| sim_for_fd(fd).and_then(|s| s.mmap_target(fd, off)))
}

#[no_mangle]
pub unsafe extern "C" fn mmap(addr: *mut c_void, len: size_t, prot: c_int, flags: c_int, fd: c_int, off: off_t) -> *mut c_void {
    let rm = real!(mmap: fn(*mut c_void, size_t, c_int, c_int, c_int, off_t) -> *mut c_void);
    match do_mmap(fd, off) {
        Some(Ok(memfd)) => rm.map_or(libc::MAP_FAILED, |f| f(addr, len, prot, flags, memfd, 0)),
        Some(Err(e)) => {
            set_errno(e);
            libc::MAP_FAILED
        }
        None => rm.map_or(libc::MAP_FAILED, |f| f(addr, len, prot, flags, fd, off)),
    }
}
#[no_mangle]
pub unsafe extern "C" fn mmap64(addr: *mut c_void, len: size_t, prot: c_int, flags: c_int, fd: c_int, off: off_t) -> *mut c_void {
    mmap(addr, len, prot, flags, fd, off)
}

fn after_dup(old: c_int, new: c_int) {
    if new >= 0 && fd_marked(old) {
        guarded(|| sim_for_fd(old).map(|s| s.dup(old, new)));
    }
}

#[no_mangle]
pub unsafe extern "C" fn dup(fd: c_int) -> c_int {
    let r = real!(dup: fn(c_int) -> c_int).map_or(-1, |f| f(fd));
    after_dup(fd, r);
    r
}
#[no_mangle]
pub unsafe extern "C" fn dup2(fd: c_int, new: c_int) -> c_int {
    if fd != new && fd_marked(new) {
        guarded(|| sim_for_fd(new).map(|s| s.close(new)));
    }
    let r = real!(dup2: fn(c_int, c_int) -> c_int).map_or(-1, |f| f(fd, new));
    if fd != new {
        after_dup(fd, r);
    }
    r
}
#[no_mangle]
pub unsafe extern "C" fn dup3(fd: c_int, new: c_int, flags: c_int) -> c_int {
    if fd_marked(new) {
        guarded(|| sim_for_fd(new).map(|s| s.close(new)));
    }
    let r = real!(dup3: fn(c_int, c_int, c_int) -> c_int).map_or(-1, |f| f(fd, new, flags));
    after_dup(fd, r);
    r
}
#[no_mangle]
pub unsafe extern "C" fn fcntl(fd: c_int, cmd: c_int, arg: c_ulong) -> c_int {
    let r = real!(fcntl: fn(c_int, c_int, c_ulong) -> c_int).map_or(-1, |f| f(fd, cmd, arg));
    if cmd == libc::F_DUPFD || cmd == libc::F_DUPFD_CLOEXEC {
        after_dup(fd, r);
    }
    r
}
#[no_mangle]
pub unsafe extern "C" fn fcntl64(fd: c_int, cmd: c_int, arg: c_ulong) -> c_int {
    fcntl(fd, cmd, arg)
}

/// poll() over a mix of real and emulated fds.  Emulated video fds are
/// eventfds kept readable while they have events; request fds are sockets
/// that get an out-of-band byte (real POLLPRI) when the request completes.
/// The returned revents are computed from the emulated state.
unsafe fn sim_poll(fds: *mut pollfd, nfds: nfds_t, timeout_ms: c_int, sigmask: *const libc::sigset_t) -> Option<c_int> {
    if fds.is_null() || nfds == 0 {
        return None;
    }
    let arr = std::slice::from_raw_parts_mut(fds, nfds as usize);
    if !arr.iter().any(|p| fd_marked(p.fd)) {
        return None;
    }
    let sim = GLOBAL.get()?;
    let ours: Vec<Option<i16>> = guarded(|| Some(arr.iter().map(|p| if fd_marked(p.fd) { sim.poll_events_for(p.fd) } else { None }).collect()))?;
    if ours.iter().all(|o| o.is_none()) {
        return None;
    }
    let rp = real!(ppoll: fn(*mut pollfd, nfds_t, *const libc::timespec, *const libc::sigset_t) -> c_int)?;
    let start = std::time::Instant::now();
    loop {
        let mut copy: Vec<pollfd> = arr.iter().zip(&ours).map(|(p, o)| pollfd { fd: p.fd, events: o.unwrap_or(p.events), revents: 0 }).collect();
        let remaining = if timeout_ms < 0 { -1 } else { (timeout_ms as i64 - start.elapsed().as_millis() as i64).max(0) };
        let ts = libc::timespec { tv_sec: remaining / 1000, tv_nsec: (remaining % 1000) * 1_000_000 };
        let n = rp(copy.as_mut_ptr(), nfds, if remaining < 0 { std::ptr::null() } else { &ts }, sigmask);
        if n < 0 {
            return Some(n);
        }
        let mut count = 0;
        for (i, p) in arr.iter_mut().enumerate() {
            p.revents = if ours[i].is_some() { guarded(|| sim.revents(p.fd, p.events)).unwrap_or(0) } else { copy[i].revents };
            if p.revents != 0 {
                count += 1;
            }
        }
        if count > 0 || remaining == 0 {
            return Some(count);
        }
        // woken by an emulated fd whose events were not requested
        std::thread::sleep(std::time::Duration::from_micros(500));
    }
}

#[no_mangle]
pub unsafe extern "C" fn poll(fds: *mut pollfd, nfds: nfds_t, timeout: c_int) -> c_int {
    if let Some(r) = sim_poll(fds, nfds, timeout, std::ptr::null()) {
        return r;
    }
    real!(poll: fn(*mut pollfd, nfds_t, c_int) -> c_int).map_or(-1, |f| f(fds, nfds, timeout))
}
#[no_mangle]
pub unsafe extern "C" fn __poll_chk(fds: *mut pollfd, nfds: nfds_t, timeout: c_int, _len: size_t) -> c_int {
    poll(fds, nfds, timeout)
}
#[no_mangle]
pub unsafe extern "C" fn ppoll(fds: *mut pollfd, nfds: nfds_t, ts: *const libc::timespec, sigmask: *const libc::sigset_t) -> c_int {
    let ms = if ts.is_null() { -1 } else { ((*ts).tv_sec * 1000 + (*ts).tv_nsec / 1_000_000) as c_int };
    if let Some(r) = sim_poll(fds, nfds, ms, sigmask) {
        return r;
    }
    real!(ppoll: fn(*mut pollfd, nfds_t, *const libc::timespec, *const libc::sigset_t) -> c_int).map_or(-1, |f| f(fds, nfds, ts, sigmask))
}

#[no_mangle]
pub unsafe extern "C" fn select(n: c_int, r: *mut libc::fd_set, w: *mut libc::fd_set, e: *mut libc::fd_set, tv: *mut libc::timeval) -> c_int {
    let any_ours = (0..n.min(1024)).any(|fd| {
        fd_marked(fd) && ((!r.is_null() && libc::FD_ISSET(fd, r)) || (!w.is_null() && libc::FD_ISSET(fd, w)) || (!e.is_null() && libc::FD_ISSET(fd, e)))
    });
    if any_ours {
        let mut pf = Vec::new();
        for fd in 0..n.min(1024) {
            let mut ev = 0;
            if !r.is_null() && libc::FD_ISSET(fd, r) {
                ev |= libc::POLLIN;
            }
            if !w.is_null() && libc::FD_ISSET(fd, w) {
                ev |= libc::POLLOUT;
            }
            if !e.is_null() && libc::FD_ISSET(fd, e) {
                ev |= libc::POLLPRI;
            }
            if ev != 0 {
                pf.push(pollfd { fd, events: ev, revents: 0 });
            }
        }
        let ms = if tv.is_null() { -1 } else { ((*tv).tv_sec * 1000 + (*tv).tv_usec / 1000) as c_int };
        let res = poll(pf.as_mut_ptr(), pf.len() as nfds_t, ms);
        if res < 0 {
            return res;
        }
        for s in [r, w, e] {
            if !s.is_null() {
                libc::FD_ZERO(s);
            }
        }
        let mut count = 0;
        for p in &pf {
            if !r.is_null() && p.revents & (libc::POLLIN | libc::POLLERR | libc::POLLHUP) != 0 && p.events & libc::POLLIN != 0 {
                libc::FD_SET(p.fd, r);
                count += 1;
            }
            if !w.is_null() && p.revents & (libc::POLLOUT | libc::POLLERR) != 0 && p.events & libc::POLLOUT != 0 {
                libc::FD_SET(p.fd, w);
                count += 1;
            }
            if !e.is_null() && p.revents & libc::POLLPRI != 0 {
                libc::FD_SET(p.fd, e);
                count += 1;
            }
        }
        return count;
    }
    real!(select: fn(c_int, *mut libc::fd_set, *mut libc::fd_set, *mut libc::fd_set, *mut libc::timeval) -> c_int).map_or(-1, |f| f(n, r, w, e, tv))
}

// ---- stat family ----

fn fill_stat(buf: *mut libc::stat, mode: u32, rdev: u64) {
    // SAFETY: buf is the caller's struct stat out-parameter of this libc call (the hook's contract); zeroed, then integer fields set.
    unsafe {
        std::ptr::write_bytes(buf, 0, 1);
        (*buf).st_mode = mode;
        (*buf).st_rdev = rdev;
        (*buf).st_nlink = 1;
        (*buf).st_blksize = 4096;
        (*buf).st_ino = 0x5150_0000 + (rdev & 0xffff);
        (*buf).st_dev = 5;
    }
}

/// sysfs directories of the emulated nodes (/sys/dev/char/M:m[/device]).
fn sys_dir(p: &str) -> bool {
    let Some(c) = config() else { return false };
    let v = format!("/sys/dev/char/{}:{}", crate::device::VIDEO_MAJOR, c.video_minor());
    let m = format!("/sys/dev/char/{}:0", crate::device::MEDIA_MAJOR);
    let p = p.trim_end_matches('/');
    if p == v || p == m || p == format!("{v}/device") || p == format!("{m}/device") {
        return true;
    }
    // libdrm's drmNodeIsDRM(): /sys/dev/char/226:128/device/drm must exist
    if !c.dri_path.is_empty() {
        let d = format!("/sys/dev/char/{}:128", crate::device::DRI_MAJOR);
        return p == d || p == format!("{d}/device") || p == format!("{d}/device/drm");
    }
    false
}

unsafe fn stat_path(p: *const c_char) -> Option<(u32, u64)> {
    let s = path_str(p)?;
    if !s.starts_with('/') {
        return None;
    }
    if s.starts_with("/sys/dev/char/") && guarded(|| Some(sys_dir(s))).unwrap_or(false) {
        return Some((libc::S_IFDIR | 0o755, 0));
    }
    if !ours_path(s) || sys_file(s).is_some() {
        return None;
    }
    guarded(|| global().and_then(|g| g.node_stat(s)))
}

fn stat_fd(fd: c_int) -> Option<(u32, u64)> {
    if !fd_marked(fd) {
        return None;
    }
    guarded(|| sim_for_fd(fd).and_then(|s| s.fd_stat(fd)))
}

#[no_mangle]
pub unsafe extern "C" fn stat(p: *const c_char, buf: *mut libc::stat) -> c_int {
    if let Some((m, d)) = stat_path(p) {
        fill_stat(buf, m, d);
        return 0;
    }
    real!(stat: fn(*const c_char, *mut libc::stat) -> c_int).map_or(-1, |f| f(p, buf))
}
#[no_mangle]
pub unsafe extern "C" fn stat64(p: *const c_char, buf: *mut libc::stat) -> c_int {
    if let Some((m, d)) = stat_path(p) {
        fill_stat(buf, m, d);
        return 0;
    }
    real!(stat64: fn(*const c_char, *mut libc::stat) -> c_int).map_or(-1, |f| f(p, buf))
}
#[no_mangle]
pub unsafe extern "C" fn lstat(p: *const c_char, buf: *mut libc::stat) -> c_int {
    if let Some((m, d)) = stat_path(p) {
        fill_stat(buf, m, d);
        return 0;
    }
    real!(lstat: fn(*const c_char, *mut libc::stat) -> c_int).map_or(-1, |f| f(p, buf))
}
#[no_mangle]
pub unsafe extern "C" fn lstat64(p: *const c_char, buf: *mut libc::stat) -> c_int {
    if let Some((m, d)) = stat_path(p) {
        fill_stat(buf, m, d);
        return 0;
    }
    real!(lstat64: fn(*const c_char, *mut libc::stat) -> c_int).map_or(-1, |f| f(p, buf))
}
#[no_mangle]
pub unsafe extern "C" fn fstat(fd: c_int, buf: *mut libc::stat) -> c_int {
    if let Some((m, d)) = stat_fd(fd) {
        fill_stat(buf, m, d);
        return 0;
    }
    real!(fstat: fn(c_int, *mut libc::stat) -> c_int).map_or(-1, |f| f(fd, buf))
}
#[no_mangle]
pub unsafe extern "C" fn fstat64(fd: c_int, buf: *mut libc::stat) -> c_int {
    if let Some((m, d)) = stat_fd(fd) {
        fill_stat(buf, m, d);
        return 0;
    }
    real!(fstat64: fn(c_int, *mut libc::stat) -> c_int).map_or(-1, |f| f(fd, buf))
}
unsafe fn at_target(dirfd: c_int, p: *const c_char, flags: c_int) -> Option<(u32, u64)> {
    if flags & libc::AT_EMPTY_PATH != 0 && path_str(p).is_some_and(|s| s.is_empty()) {
        return stat_fd(dirfd);
    }
    stat_path(p)
}
#[no_mangle]
pub unsafe extern "C" fn fstatat(dirfd: c_int, p: *const c_char, buf: *mut libc::stat, flags: c_int) -> c_int {
    if let Some((m, d)) = at_target(dirfd, p, flags) {
        fill_stat(buf, m, d);
        return 0;
    }
    real!(fstatat: fn(c_int, *const c_char, *mut libc::stat, c_int) -> c_int).map_or(-1, |f| f(dirfd, p, buf, flags))
}
#[no_mangle]
pub unsafe extern "C" fn fstatat64(dirfd: c_int, p: *const c_char, buf: *mut libc::stat, flags: c_int) -> c_int {
    if let Some((m, d)) = at_target(dirfd, p, flags) {
        fill_stat(buf, m, d);
        return 0;
    }
    real!(fstatat64: fn(c_int, *const c_char, *mut libc::stat, c_int) -> c_int).map_or(-1, |f| f(dirfd, p, buf, flags))
}
#[no_mangle]
pub unsafe extern "C" fn statx(dirfd: c_int, p: *const c_char, flags: c_int, mask: u32, buf: *mut libc::statx) -> c_int {
    if let Some((m, d)) = at_target(dirfd, p, flags) {
        std::ptr::write_bytes(buf, 0, 1);
        (*buf).stx_mask = libc::STATX_TYPE | libc::STATX_MODE | libc::STATX_NLINK | libc::STATX_INO;
        (*buf).stx_mode = m as u16;
        (*buf).stx_nlink = 1;
        (*buf).stx_blksize = 4096;
        (*buf).stx_rdev_major = libc::major(d);
        (*buf).stx_rdev_minor = libc::minor(d);
        (*buf).stx_ino = 0x5150_0000 + (d & 0xffff);
        return 0;
    }
    let _ = mask;
    real!(statx: fn(c_int, *const c_char, c_int, u32, *mut libc::statx) -> c_int).map_or(-1, |f| f(dirfd, p, flags, mask, buf))
}
#[no_mangle]
pub unsafe extern "C" fn access(p: *const c_char, mode: c_int) -> c_int {
    if stat_path(p).is_some() {
        return 0;
    }
    real!(access: fn(*const c_char, c_int) -> c_int).map_or(-1, |f| f(p, mode))
}
#[no_mangle]
pub unsafe extern "C" fn faccessat(dirfd: c_int, p: *const c_char, mode: c_int, flags: c_int) -> c_int {
    if stat_path(p).is_some() {
        return 0;
    }
    real!(faccessat: fn(c_int, *const c_char, c_int, c_int) -> c_int).map_or(-1, |f| f(dirfd, p, mode, flags))
}

// ---- directory listing: the emulated nodes show up in readdir("/dev") ----

struct DirExtra {
    names: Vec<String>,
    ent: Box<libc::dirent64>,
}
struct DirMap(HashMap<usize, DirExtra>);
// SAFETY: the raw dirent pointers in DirMap are keys and boxes owned by it, only touched under the DIRS mutex.
unsafe impl Send for DirMap {}
static DIRS: Mutex<Option<DirMap>> = Mutex::new(None);

#[no_mangle]
pub unsafe extern "C" fn opendir(name: *const c_char) -> *mut libc::DIR {
    let mut d = real!(opendir: fn(*const c_char) -> *mut libc::DIR).map_or(std::ptr::null_mut(), |f| f(name));
    // /sys/dev/char/81:N/device lists the media node (how v4l-utils and
    // others find the media device of a video node)
    if d.is_null() {
        if let Some(dir) = path_str(name) {
            let want = guarded(|| {
                let c = config()?;
                if !sys_dir(dir) {
                    return None;
                }
                let vdev = format!("/sys/dev/char/{}:{}/device", crate::device::VIDEO_MAJOR, c.video_minor());
                Some(if dir.trim_end_matches('/') == vdev {
                    vec![c.media_path.rsplit('/').next().unwrap_or("media0").to_string()]
                } else {
                    vec!["uevent".to_string(), "device".to_string()]
                })
            });
            if let Some(names) = want {
                let empty = std::env::temp_dir().join(format!("hantro-sim-empty-{}", libc::getuid()));
                let _ = std::fs::create_dir(&empty);
                if let Ok(cp) = std::ffi::CString::new(empty.to_string_lossy().as_bytes()) {
                    d = real!(opendir: fn(*const c_char) -> *mut libc::DIR).map_or(std::ptr::null_mut(), |f| f(cp.as_ptr()));
                    if !d.is_null() {
                        let mut g = DIRS.lock().unwrap_or_else(|e| e.into_inner());
                        g.get_or_insert_with(|| DirMap(HashMap::new())).0.insert(d as usize, DirExtra { names, ent: Box::new(std::mem::zeroed()) });
                    }
                }
                return d;
            }
        }
    }
    if d.is_null() {
        return d;
    }
    if let Some(dir) = path_str(name) {
        let dir = dir.trim_end_matches('/');
        if dir == "/dev" || dir == "/dev/dri" {
            guarded(|| {
                let c = config()?;
                let mut names = Vec::new();
                for p in [&c.media_path, &c.video_path, &c.dri_path] {
                    if p.is_empty() {
                        continue;
                    }
                    if let Some((parent, base)) = p.rsplit_once('/') {
                        let exists = {
                            let cp = std::ffi::CString::new(p.as_str()).ok()?;
                            let mut st: libc::stat = std::mem::zeroed();
                            real!(stat: fn(*const c_char, *mut libc::stat) -> c_int).is_some_and(|f| f(cp.as_ptr(), &mut st) == 0)
                        };
                        if parent == dir && !exists {
                            names.push(base.to_string());
                        }
                    }
                }
                if !names.is_empty() {
                    names.reverse();
                    let mut g = DIRS.lock().unwrap_or_else(|e| e.into_inner());
                    g.get_or_insert_with(|| DirMap(HashMap::new())).0.insert(d as usize, DirExtra { names, ent: Box::new(std::mem::zeroed()) });
                }
                Some(())
            });
        }
    }
    d
}

unsafe fn extra_entry(d: *mut libc::DIR) -> *mut libc::dirent64 {
    let mut g = DIRS.lock().unwrap_or_else(|e| e.into_inner());
    let Some(m) = g.as_mut() else { return std::ptr::null_mut() };
    let Some(x) = m.0.get_mut(&(d as usize)) else { return std::ptr::null_mut() };
    let Some(n) = x.names.pop() else { return std::ptr::null_mut() };
    let e = &mut *x.ent;
    *e = std::mem::zeroed();
    e.d_ino = 0x5150_0000 + n.len() as u64;
    e.d_type = libc::DT_CHR;
    e.d_reclen = std::mem::size_of::<libc::dirent64>() as u16;
    for (i, b) in n.bytes().take(255).enumerate() {
        e.d_name[i] = b as c_char;
    }
    e as *mut libc::dirent64
}

#[no_mangle]
pub unsafe extern "C" fn readdir64(d: *mut libc::DIR) -> *mut libc::dirent64 {
    let r = real!(readdir64: fn(*mut libc::DIR) -> *mut libc::dirent64).map_or(std::ptr::null_mut(), |f| f(d));
    if r.is_null() {
        let saved = *libc::__errno_location();
        let e = extra_entry(d);
        set_errno(saved);
        return e;
    }
    r
}
#[no_mangle]
pub unsafe extern "C" fn readdir(d: *mut libc::DIR) -> *mut libc::dirent {
    let r = real!(readdir: fn(*mut libc::DIR) -> *mut libc::dirent).map_or(std::ptr::null_mut(), |f| f(d));
    if r.is_null() {
        let saved = *libc::__errno_location();
        // struct dirent and dirent64 have the same layout on LP64
        let e = extra_entry(d) as *mut libc::dirent;
        set_errno(saved);
        return e;
    }
    r
}
#[no_mangle]
pub unsafe extern "C" fn closedir(d: *mut libc::DIR) -> c_int {
    if let Ok(mut g) = DIRS.lock() {
        if let Some(m) = g.as_mut() {
            m.0.remove(&(d as usize));
        }
    }
    real!(closedir: fn(*mut libc::DIR) -> c_int).map_or(-1, |f| f(d))
}

#[allow(dead_code)]
fn _unused(_: c_long) {}

// ---- fake sysfs support (scripts/sim-gst.sh) ----
//
// libudev only accepts devices whose directory is on sysfs. The GStreamer
// validation script builds a tmpfs "sysfs" in a private mount namespace and
// sets HANTRO_SIM_FAKE_SYSFS=1; only then tmpfs under /sys/ reports
// SYSFS_MAGIC.

fn fake_sysfs_enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var("HANTRO_SIM_FAKE_SYSFS").is_ok_and(|v| v == "1"))
}

const TMPFS_MAGIC: i64 = 0x0102_1994;
const SYSFS_MAGIC: i64 = 0x6265_6572;

unsafe fn fix_statfs(fd: c_int, buf: *mut libc::statfs) {
    if !fake_sysfs_enabled() || buf.is_null() || (*buf).f_type != TMPFS_MAGIC {
        return;
    }
    let link = format!("/proc/self/fd/{fd}\0");
    let mut target = [0u8; 512];
    let n = libc::readlink(link.as_ptr() as *const c_char, target.as_mut_ptr() as *mut c_char, target.len());
    if n > 0 && target[..n as usize].starts_with(b"/sys/") {
        (*buf).f_type = SYSFS_MAGIC;
    }
}

#[no_mangle]
pub unsafe extern "C" fn fstatfs(fd: c_int, buf: *mut libc::statfs) -> c_int {
    let r = real!(fstatfs: fn(c_int, *mut libc::statfs) -> c_int).map_or(-1, |f| f(fd, buf));
    if r == 0 {
        fix_statfs(fd, buf);
    }
    r
}
#[no_mangle]
pub unsafe extern "C" fn fstatfs64(fd: c_int, buf: *mut libc::statfs) -> c_int {
    let r = real!(fstatfs64: fn(c_int, *mut libc::statfs) -> c_int).map_or(-1, |f| f(fd, buf));
    if r == 0 {
        fix_statfs(fd, buf);
    }
    r
}
