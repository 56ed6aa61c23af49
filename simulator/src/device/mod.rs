//! The emulated media + video device, core: configuration, the file table,
//! m2m contexts and their state, ioctl dispatch, user-memory copies. Each
//! concern lives in a submodule; nothing here names a codec.
mod controls;
mod drm;
mod faults;
mod files;
mod formats;
mod media;
mod queue;
mod request;
mod video;
mod worker;

use crate::codec::{Codec, Job, Model, Pixels};
use crate::ctrls::{self, CtrlValues, Kind, Personality};
use crate::layout::{align, Layout};
use crate::uapi::*;
pub use drm::DRM_IOCTL_VERSION;
use drm::*;
pub use faults::{ioctl_by_name, ioctl_name, FailRule};
use formats::*;
use libc::{c_int, c_void};
use queue::*;
use request::*;
use std::collections::{HashMap, VecDeque};
use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;
use worker::*;

pub type Errno = c_int;
pub type R<T> = Result<T, Errno>;

pub const VIDEO_MAJOR: u32 = 81;
pub const MEDIA_MAJOR: u32 = 238;
pub const DRI_MAJOR: u32 = 226;

#[derive(Clone, Debug)]
pub struct Config {
    pub personality: Personality,
    pub media_path: String,
    pub video_path: String,
    pub dri_path: String,
    pub decode_us: u64,
    pub skip_pixels: bool,
    pub error_frame: Option<u64>,
    pub hang_frame: Option<u64>,
    /// (ioctl request, k-th call (1-based), errno)
    pub fail_ioctl: Vec<(u64, u32, c_int)>,
    /// HANTRO_SIM_FAIL_IOCTL rules (`fail_ioctl` entries are added as plain rules)
    pub fail_rules: Vec<FailRule>,
    /// HANTRO_SIM_FAIL_IOCTL items that could not be parsed (reported, never silently dropped)
    pub fail_spec_errors: Vec<String>,
    /// HANTRO_SIM_FAULT_LOG: every armed and every injected fault, one line each
    pub fault_log: Option<String>,
    pub log_file: Option<String>,
    pub quiet: bool,
    /// log every emulated ioctl and its result
    pub trace: bool,
}

impl Config {
    pub fn from_env() -> Self {
        let e = |k: &str| std::env::var(k).ok().filter(|s| !s.is_empty());
        let mut rules = Vec::new();
        let mut errors = Vec::new();
        if let Some(s) = e("HANTRO_SIM_FAIL_IOCTL") {
            for item in s.split(',').filter(|i| !i.is_empty()) {
                match FailRule::parse(item) {
                    Ok(r) => rules.push(r),
                    Err(why) => errors.push(format!("HANTRO_SIM_FAIL_IOCTL item {item:?}: {why}")),
                }
            }
        }
        let mut job = |k: &str| {
            let v = e(k)?;
            let n = v.parse().ok();
            if n.is_none() {
                errors.push(format!("{k}={v:?}: not a job number"));
            }
            n
        };
        let (error_frame, hang_frame) = (job("HANTRO_SIM_ERROR_FRAME"), job("HANTRO_SIM_HANG_FRAME"));
        Config {
            personality: Personality::from_env(),
            media_path: e("HANTRO_SIM_MEDIA_PATH").unwrap_or("/dev/media0".into()),
            video_path: e("HANTRO_SIM_VIDEO_PATH").unwrap_or("/dev/video0".into()),
            dri_path: std::env::var("HANTRO_SIM_DRI_PATH").unwrap_or("/dev/dri/renderD128".into()),
            decode_us: e("HANTRO_SIM_DECODE_US").and_then(|s| s.parse().ok()).unwrap_or(0),
            skip_pixels: e("HANTRO_SIM_SKIP_PIXELS").is_some_and(|s| s != "0"),
            error_frame,
            hang_frame,
            fail_ioctl: Vec::new(),
            fail_rules: rules,
            fail_spec_errors: errors,
            fault_log: e("HANTRO_SIM_FAULT_LOG"),
            log_file: e("HANTRO_SIM_LOG"),
            quiet: e("HANTRO_SIM_QUIET").is_some(),
            trace: e("HANTRO_SIM_TRACE").is_some_and(|s| s != "0"),
        }
    }
    pub fn for_test(p: Personality, tag: &str) -> Self {
        Config {
            personality: p,
            media_path: format!("/sim-test/{tag}/media0"),
            video_path: format!("/sim-test/{tag}/video0"),
            dri_path: String::new(),
            decode_us: 0,
            skip_pixels: false,
            error_frame: None,
            hang_frame: None,
            fail_ioctl: Vec::new(),
            fail_rules: Vec::new(),
            fail_spec_errors: Vec::new(),
            fault_log: None,
            log_file: None,
            quiet: true,
            trace: false,
        }
    }
    pub fn video_minor(&self) -> u32 {
        self.video_path.trim_start_matches(|c: char| !c.is_ascii_digit()).parse().unwrap_or(0)
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum FileKind {
    Media,
    Video(u32),
    Request(u32),
    Export,
    Dri,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum BufState {
    Dequeued,
    InRequest,
    Queued,
    Active,
    Done,
}

struct Plane {
    memfd: c_int,
    len: usize,
    ptr: *mut u8,
    offset: u32,
}

struct Buf {
    state: BufState,
    planes: Vec<Plane>,
    flags: u32,
    done_flags: u32,
    ts_sec: i64,
    ts_usec: i64,
    bytesused: u32,
    sequence: u32,
    request: Option<u32>,
    request_fd: i32,
    /// CAPTURE: holds a decoded picture with timestamp ts_ns()
    has_picture: bool,
}

impl Buf {
    fn ts_ns(&self) -> u64 {
        (self.ts_sec as u64) * 1_000_000_000 + (self.ts_usec as u64) * 1000
    }
}

impl Drop for Plane {
    fn drop(&mut self) {
        // SAFETY: ptr/len are this plane's own mmap of its own memfd; no slice of it outlives the Buf (the worker copies or holds the buffer Active, and buffers are freed under the state lock).
        unsafe {
            libc::munmap(self.ptr as *mut c_void, self.len);
            libc::close(self.memfd);
        }
    }
}

#[derive(Default)]
struct Queue {
    bufs: Vec<Buf>,
    streaming: bool,
    ready: VecDeque<u32>,
    done: VecDeque<u32>,
    sequence: u32,
}

impl Queue {
    fn queued_count(&self) -> usize {
        self.bufs.iter().filter(|b| matches!(b.state, BufState::Queued | BufState::Active | BufState::Done)).count()
    }
}

#[derive(Clone, Copy, Debug)]
struct Fmt {
    /// colorspace, xfer_func, ycbcr_enc, quantization as set on OUTPUT
    color: [u32; 4],
    fourcc: u32,
    width: u32,
    height: u32,
    bytesperline: u32,
    sizeimage: u32,
}

struct Ctx {
    refs: usize,
    evfd: c_int,
    ev_signalled: bool,
    out_q: Queue,
    cap_q: Queue,
    out_fmt: Fmt,
    cap_fmt: Fmt,
    ctrls: CtrlValues,
    /// the codec model of the OUTPUT format, and its software decoder
    engine: Arc<Mutex<CodecCtx>>,
    held_cap: Option<u32>,
    /// V4L2 events pending for this file handle (control events only)
    events: VecDeque<v4l2_event>,
    subs: Vec<(u32, u32)>,
    ev_seq: u32,
    busy: bool,
    hung: bool,
    pic_errs: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum ReqState {
    Idle,
    Queued,
    Complete,
}

struct Request {
    fd: Option<c_int>,
    peer: c_int,
    state: ReqState,
    ctx: Option<u32>,
    out_buf: Option<u32>,
    ctrls: CtrlValues,
    done_ctrls: CtrlValues,
    poison: Vec<String>,
}

/// Fds (any Sim instance) that are emulated: a lock-free fast path for the
/// libc hooks, which see every close()/poll()/ioctl() of the process.
pub static FD_MARK: [std::sync::atomic::AtomicBool; 65536] = [const { std::sync::atomic::AtomicBool::new(false) }; 65536];

pub fn fd_marked(fd: c_int) -> bool {
    fd >= 0 && (fd as usize) < FD_MARK.len() && FD_MARK[fd as usize].load(std::sync::atomic::Ordering::Relaxed) || fd >= FD_MARK.len() as c_int
}

fn insert_file(st: &mut State, fd: c_int, k: FileKind) {
    if fd >= 0 && (fd as usize) < FD_MARK.len() {
        FD_MARK[fd as usize].store(true, std::sync::atomic::Ordering::Relaxed);
    }
    st.files.insert(fd, k);
}

fn remove_file(st: &mut State, fd: c_int) -> Option<FileKind> {
    if fd >= 0 && (fd as usize) < FD_MARK.len() {
        FD_MARK[fd as usize].store(false, std::sync::atomic::Ordering::Relaxed);
    }
    st.files.remove(&fd)
}

pub(crate) struct State {
    files: HashMap<c_int, FileKind>,
    ctxs: HashMap<u32, Ctx>,
    reqs: HashMap<u32, Request>,
    next_id: u32,
    /// calls counted by each rule of Sim::rules (same order)
    fail_counts: Vec<u32>,
    /// successful MEDIA_REQUEST_IOC_QUEUE calls (the `@N` of a fault rule)
    requests_queued: u64,
    frames: u64,
    /// V4L2 priority per open video fd (v4l2_prio_state)
    prio: HashMap<c_int, u32>,
}

pub struct Sim {
    pub cfg: Config,
    st: Mutex<State>,
    cv: Condvar,
    worker: Mutex<bool>,
    log: Mutex<Option<std::fs::File>>,
    /// Every logged line (for tests and diagnostics), oldest first.
    pub log_lines: Mutex<Vec<String>>,
    /// fault rules: cfg.fail_rules + cfg.fail_ioctl
    rules: Vec<FailRule>,
    /// serialises HANTRO_SIM_FAULT_LOG appends
    fault_log: Mutex<()>,
}

// SAFETY: the raw plane pointers inside State are mappings owned by it and only touched under the `st` mutex (or by the worker for a buffer it holds Active); everything else is Send + Sync.
unsafe impl Send for Sim {}
// SAFETY: see Send: all interior state is behind mutexes.
unsafe impl Sync for Sim {}

fn cstr_copy(dst: &mut [u8], s: &str) {
    let n = s.len().min(dst.len() - 1);
    dst[..n].copy_from_slice(&s.as_bytes()[..n]);
    dst[n..].iter_mut().for_each(|b| *b = 0);
}
fn cstr_copy_c(dst: &mut [libc::c_char], s: &str) {
    // SAFETY: c_char and u8 have the same size and alignment; the slice covers exactly `dst`, which is borrowed mutably.
    let d = unsafe { std::slice::from_raw_parts_mut(dst.as_mut_ptr() as *mut u8, dst.len()) };
    cstr_copy(d, s)
}

/// process_vm_readv/writev fallback where they are not implemented
/// (qemu-user): pread/pwrite on /proc/self/mem fail with EIO on an unmapped
/// address, like the syscalls. Returns bytes copied or -1.
fn proc_self_mem(addr: usize, buf: *mut u8, len: usize, write: bool) -> isize {
    // SAFETY: a NUL-terminated literal path; the fd is closed below.
    let fd = unsafe { libc::open(c"/proc/self/mem".as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) };
    if fd < 0 {
        return -1;
    }
    // SAFETY: `buf` is a local buffer of `len` bytes owned by the caller;
    // the client address goes through the kernel's /proc/self/mem checks,
    // which fail with EIO instead of faulting.
    let n = unsafe {
        if write {
            libc::pwrite(fd, buf as *const c_void, len, addr as libc::off_t)
        } else {
            libc::pread(fd, buf as *mut c_void, len, addr as libc::off_t)
        }
    };
    // SAFETY: closing the fd opened above.
    unsafe { libc::close(fd) };
    n
}

/// Copies to a client pointer like copy_to_user: EFAULT instead of a crash
/// on a bad address (process_vm_writev on our own pid).
pub fn copy_to_user(dst: *mut u8, src: &[u8]) -> R<()> {
    if src.is_empty() {
        return Ok(());
    }
    let local = libc::iovec { iov_base: src.as_ptr() as *mut c_void, iov_len: src.len() };
    let remote = libc::iovec { iov_base: dst as *mut c_void, iov_len: src.len() };
    // SAFETY: process_vm_writev on our own pid checks the remote range itself (EFAULT on a bad address); the local iovec is `src`, alive for the call.
    let mut n = unsafe { libc::process_vm_writev(libc::getpid(), &local, 1, &remote, 1, 0) };
    if n < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ENOSYS) {
        n = proc_self_mem(dst as usize, src.as_ptr() as *mut u8, src.len(), true);
    }
    if n == src.len() as isize {
        Ok(())
    } else {
        Err(libc::EFAULT)
    }
}

/// copy_from_user counterpart.
pub fn copy_from_user(src: *const u8, len: usize) -> R<Vec<u8>> {
    let mut v = vec![0u8; len];
    if len == 0 {
        return Ok(v);
    }
    let local = libc::iovec { iov_base: v.as_mut_ptr() as *mut c_void, iov_len: len };
    let remote = libc::iovec { iov_base: src as *mut c_void, iov_len: len };
    // SAFETY: as above; the local iovec is `v`, len bytes, alive for the call.
    let mut n = unsafe { libc::process_vm_readv(libc::getpid(), &local, 1, &remote, 1, 0) };
    if n < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ENOSYS) {
        n = proc_self_mem(src as usize, v.as_mut_ptr(), len, false);
    }
    if n == len as isize {
        Ok(v)
    } else {
        Err(libc::EFAULT)
    }
}

fn as_bytes<T>(v: &[T]) -> &[u8] {
    // SAFETY: viewing a slice of plain uAPI structs as its bytes (size_of_val), for copy_to_user.
    unsafe { std::slice::from_raw_parts(v.as_ptr() as *const u8, std::mem::size_of_val(v)) }
}

fn new_memfd(len: usize) -> R<(c_int, *mut u8)> {
    // SAFETY: memfd_create/ftruncate/mmap on a new fd we own; the mapping is checked for MAP_FAILED and owned by the returned Plane (unmapped in Drop).
    unsafe {
        let fd = libc::memfd_create(c"hantro-sim-buf".as_ptr(), libc::MFD_CLOEXEC);
        if fd < 0 {
            return Err(libc::ENOMEM);
        }
        if libc::ftruncate(fd, len as i64) < 0 {
            libc::close(fd);
            return Err(libc::ENOMEM);
        }
        let p = libc::mmap(std::ptr::null_mut(), len, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_SHARED, fd, 0);
        if p == libc::MAP_FAILED {
            libc::close(fd);
            return Err(libc::ENOMEM);
        }
        Ok((fd, p as *mut u8))
    }
}

impl Sim {
    pub fn new(cfg: Config) -> Arc<Sim> {
        let log = cfg.log_file.as_ref().and_then(|p| std::fs::OpenOptions::new().create(true).append(true).open(p).ok());
        let mut rules = cfg.fail_rules.clone();
        rules.extend(cfg.fail_ioctl.iter().map(|&(req, k, e)| FailRule::plain(req, k, e)));
        let n = rules.len();
        let sim = Arc::new(Sim {
            cfg,
            st: Mutex::new(State {
                files: HashMap::new(),
                ctxs: HashMap::new(),
                reqs: HashMap::new(),
                next_id: 1,
                fail_counts: vec![0; n],
                requests_queued: 0,
                frames: 0,
                prio: HashMap::new(),
            }),
            cv: Condvar::new(),
            worker: Mutex::new(false),
            log: Mutex::new(log),
            log_lines: Mutex::new(Vec::new()),
            rules,
            fault_log: Mutex::new(()),
        });
        for e in &sim.cfg.fail_spec_errors {
            // never a silent no-op: on stderr even with HANTRO_SIM_QUIET
            eprintln!("hantro-sim: fault injection: {e}");
            sim.fault(&format!("bad-spec {e}"));
        }
        for r in &sim.rules {
            sim.fault(&format!("armed ioctl {}", r.spec));
        }
        if let Some(n) = sim.cfg.error_frame {
            sim.fault(&format!("armed error-frame job={n}"));
        }
        if let Some(n) = sim.cfg.hang_frame {
            sim.fault(&format!("armed hang job={n}"));
        }
        sim
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.st.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn log(&self, msg: &str) {
        if !self.cfg.quiet {
            eprintln!("hantro-sim: {msg}");
        }
        {
            let mut l = self.log_lines.lock().unwrap_or_else(|e| e.into_inner());
            if l.len() < 100_000 {
                l.push(msg.to_string());
            }
        }
        if let Some(f) = self.log.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
            let _ = writeln!(f, "{msg}");
        }
    }

    fn persona(&self) -> Personality {
        self.cfg.personality
    }

    /// The ioctl entry point.  None: fd not ours.
    pub fn ioctl(self: &Arc<Self>, fd: c_int, req: u64, arg: *mut c_void) -> Option<R<c_int>> {
        let r = self.ioctl_inner(fd, req, arg);
        if self.cfg.trace {
            if let Some(r) = &r {
                let what = match r {
                    Ok(_) => "ok".to_string(),
                    Err(e) => format!("errno {e} ({})", std::io::Error::from_raw_os_error(*e)),
                };
                self.log(&format!("trace: fd {fd} {} -> {what}", ioctl_name(req)));
            }
        }
        r
    }

    fn ioctl_inner(self: &Arc<Self>, fd: c_int, req: u64, arg: *mut c_void) -> Option<R<c_int>> {
        let kind = *self.lock().files.get(&fd)?;
        // fault injection (HANTRO_SIM_FAIL_IOCTL)
        if let Some(e) = self.inject(fd, kind, req, arg) {
            return Some(Err(e));
        }
        if !known_ioctl(kind, req) {
            return Some(Err(libc::ENOTTY));
        }
        if arg.is_null() && !matches!(req, MEDIA_REQUEST_IOC_QUEUE | MEDIA_REQUEST_IOC_REINIT) {
            return Some(Err(libc::EFAULT));
        }
        Some(match kind {
            FileKind::Media => self.media_ioctl(req, arg),
            FileKind::Video(id) => self.video_ioctl(fd, id, req, arg),
            FileKind::Request(rid) => self.request_ioctl(rid, req),
            FileKind::Export => {
                if req == DMA_BUF_IOCTL_SYNC {
                    // SAFETY: `arg` is non-null (ioctl_inner) and, by the contract of this ioctl number, points to the caller's struct dma_buf_sync for the duration of the call, aligned and not aliased by us (a kernel handler gets the same promise via copy_from_user's size).
                    let s = unsafe { &*(arg as *const dma_buf_sync) };
                    let valid = (DMA_BUF_SYNC_RW | DMA_BUF_SYNC_END) as u64;
                    if s.flags & !valid != 0 || s.flags & DMA_BUF_SYNC_RW as u64 == 0 {
                        Err(libc::EINVAL)
                    } else {
                        Ok(0)
                    }
                } else {
                    Err(libc::ENOTTY)
                }
            }
            FileKind::Dri => drm_version(arg),
        })
    }

    /// Test/diagnostic API: number of pictures decoded by the context of `fd`.
    pub fn pictures_decoded(&self, fd: c_int) -> u64 {
        let st = self.lock();
        match st.files.get(&fd) {
            Some(FileKind::Video(id)) => st.ctxs[id].engine.lock().map(|e| e.model.pictures()).unwrap_or(0),
            _ => 0,
        }
    }
}

fn known_ioctl(k: FileKind, req: u64) -> bool {
    match k {
        FileKind::Media => {
            matches!(req, MEDIA_IOC_DEVICE_INFO | MEDIA_IOC_G_TOPOLOGY | MEDIA_IOC_REQUEST_ALLOC | MEDIA_IOC_ENUM_ENTITIES | MEDIA_IOC_ENUM_LINKS)
        }
        FileKind::Request(_) => matches!(req, MEDIA_REQUEST_IOC_QUEUE | MEDIA_REQUEST_IOC_REINIT),
        FileKind::Export => req == DMA_BUF_IOCTL_SYNC,
        FileKind::Dri => req == DRM_IOCTL_VERSION,
        FileKind::Video(_) => matches!(
            req,
            VIDIOC_QUERYCAP
                | VIDIOC_ENUM_FMT
                | VIDIOC_ENUM_FRAMESIZES
                | VIDIOC_G_FMT
                | VIDIOC_S_FMT
                | VIDIOC_TRY_FMT
                | VIDIOC_REQBUFS
                | VIDIOC_CREATE_BUFS
                | VIDIOC_QUERYBUF
                | VIDIOC_QBUF
                | VIDIOC_DQBUF
                | VIDIOC_EXPBUF
                | VIDIOC_STREAMON
                | VIDIOC_STREAMOFF
                | VIDIOC_QUERYCTRL
                | VIDIOC_QUERY_EXT_CTRL
                | VIDIOC_QUERYMENU
                | VIDIOC_G_CTRL
                | VIDIOC_S_CTRL
                | VIDIOC_G_EXT_CTRLS
                | VIDIOC_S_EXT_CTRLS
                | VIDIOC_TRY_EXT_CTRLS
                | VIDIOC_G_PRIORITY
                | VIDIOC_SUBSCRIBE_EVENT
                | VIDIOC_UNSUBSCRIBE_EVENT
                | VIDIOC_DQEVENT
                | VIDIOC_S_PRIORITY
                | VIDIOC_DECODER_CMD
                | VIDIOC_TRY_DECODER_CMD
        ),
    }
}
