//! The emulated media + video device: file table, m2m contexts, vb2-like
//! queues, media requests, controls, and the asynchronous "hardware" worker.
use crate::ctrls::{self, CtrlValues, Kind, Personality};
use crate::engine::{CaptureTarget, Engine, JobIn};
use crate::layout::{align, Layout};
use crate::uapi::*;
use libc::{c_int, c_void};
use std::collections::{HashMap, VecDeque};
use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

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

/// Request number of every ioctl the simulator answers, by name (for
/// HANTRO_SIM_FAIL_IOCTL; an unknown name is an error, not a rule that never fires).
pub fn ioctl_by_name(n: &str) -> Option<u64> {
    IOCTL_NAMES.iter().find(|e| e.0 == n).map(|e| e.1)
}

/// Name of an ioctl request (for HANTRO_SIM_TRACE).
pub fn ioctl_name(req: u64) -> String {
    IOCTL_NAMES.iter().find(|e| e.1 == req).map(|e| e.0.to_string()).unwrap_or_else(|| format!("ioctl {req:#x}"))
}

const IOCTL_NAMES: &[(&str, u64)] = &[
    ("VIDIOC_QUERYCAP", VIDIOC_QUERYCAP),
    ("VIDIOC_ENUM_FMT", VIDIOC_ENUM_FMT),
    ("VIDIOC_ENUM_FRAMESIZES", VIDIOC_ENUM_FRAMESIZES),
    ("VIDIOC_G_FMT", VIDIOC_G_FMT),
    ("VIDIOC_S_FMT", VIDIOC_S_FMT),
    ("VIDIOC_TRY_FMT", VIDIOC_TRY_FMT),
    ("VIDIOC_REQBUFS", VIDIOC_REQBUFS),
    ("VIDIOC_CREATE_BUFS", VIDIOC_CREATE_BUFS),
    ("VIDIOC_QUERYBUF", VIDIOC_QUERYBUF),
    ("VIDIOC_QBUF", VIDIOC_QBUF),
    ("VIDIOC_DQBUF", VIDIOC_DQBUF),
    ("VIDIOC_EXPBUF", VIDIOC_EXPBUF),
    ("VIDIOC_STREAMON", VIDIOC_STREAMON),
    ("VIDIOC_STREAMOFF", VIDIOC_STREAMOFF),
    ("VIDIOC_QUERYCTRL", VIDIOC_QUERYCTRL),
    ("VIDIOC_QUERY_EXT_CTRL", VIDIOC_QUERY_EXT_CTRL),
    ("VIDIOC_QUERYMENU", VIDIOC_QUERYMENU),
    ("VIDIOC_G_CTRL", VIDIOC_G_CTRL),
    ("VIDIOC_S_CTRL", VIDIOC_S_CTRL),
    ("VIDIOC_G_EXT_CTRLS", VIDIOC_G_EXT_CTRLS),
    ("VIDIOC_S_EXT_CTRLS", VIDIOC_S_EXT_CTRLS),
    ("VIDIOC_TRY_EXT_CTRLS", VIDIOC_TRY_EXT_CTRLS),
    ("VIDIOC_SUBSCRIBE_EVENT", VIDIOC_SUBSCRIBE_EVENT),
    ("VIDIOC_UNSUBSCRIBE_EVENT", VIDIOC_UNSUBSCRIBE_EVENT),
    ("VIDIOC_DQEVENT", VIDIOC_DQEVENT),
    ("VIDIOC_G_PRIORITY", VIDIOC_G_PRIORITY),
    ("VIDIOC_S_PRIORITY", VIDIOC_S_PRIORITY),
    ("VIDIOC_DECODER_CMD", VIDIOC_DECODER_CMD),
    ("VIDIOC_TRY_DECODER_CMD", VIDIOC_TRY_DECODER_CMD),
    ("MEDIA_IOC_DEVICE_INFO", MEDIA_IOC_DEVICE_INFO),
    ("MEDIA_IOC_ENUM_ENTITIES", MEDIA_IOC_ENUM_ENTITIES),
    ("MEDIA_IOC_ENUM_LINKS", MEDIA_IOC_ENUM_LINKS),
    ("MEDIA_IOC_G_TOPOLOGY", MEDIA_IOC_G_TOPOLOGY),
    ("MEDIA_IOC_REQUEST_ALLOC", MEDIA_IOC_REQUEST_ALLOC),
    ("MEDIA_REQUEST_IOC_QUEUE", MEDIA_REQUEST_IOC_QUEUE),
    ("MEDIA_REQUEST_IOC_REINIT", MEDIA_REQUEST_IOC_REINIT),
    ("DMA_BUF_IOCTL_SYNC", DMA_BUF_IOCTL_SYNC),
    ("DRM_IOCTL_VERSION", DRM_IOCTL_VERSION),
];

fn errno_by_name(n: &str) -> Option<c_int> {
    Some(match n {
        "EBUSY" => libc::EBUSY,
        "ENOMEM" => libc::ENOMEM,
        "EIO" => libc::EIO,
        "EAGAIN" => libc::EAGAIN,
        "EINVAL" => libc::EINVAL,
        "ENODEV" => libc::ENODEV,
        "EPERM" => libc::EPERM,
        "EACCES" => libc::EACCES,
        "ENOSYS" => libc::ENOSYS,
        "ENOSPC" => libc::ENOSPC,
        "ETIMEDOUT" => libc::ETIMEDOUT,
        _ => return n.parse().ok().filter(|&e: &c_int| e > 0),
    })
}

/// One HANTRO_SIM_FAIL_IOCTL item, `NAME[/SELECTOR...][@N]:K[+]:ERRNO`:
/// the K-th call of ioctl NAME among the calls the selectors and `@N` let
/// through fails with ERRNO (`K+`: that call and every later one).
/// Selectors: `OUTPUT` / `CAPTURE` (calls naming that queue: QBUF, DQBUF,
/// QUERYBUF, REQBUFS, CREATE_BUFS, EXPBUF, STREAMON/OFF, G/S/TRY_FMT,
/// ENUM_FMT), `REQUEST` (S/G/TRY_EXT_CTRLS with which = REQUEST_VAL),
/// `DONE` (DQBUF calls that would dequeue a buffer); `@N`: only calls made
/// once N requests were queued (successful MEDIA_REQUEST_IOC_QUEUE).
#[derive(Clone, Debug, PartialEq)]
pub struct FailRule {
    /// the item as written: the fault report names rules by it
    pub spec: String,
    pub req: u64,
    /// Some(true): OUTPUT queue only, Some(false): CAPTURE queue only
    pub output: Option<bool>,
    pub request_ctrls: bool,
    pub done: bool,
    pub after_requests: u64,
    pub k: u32,
    pub from_k: bool,
    pub errno: c_int,
}

impl FailRule {
    pub fn parse(item: &str) -> Result<FailRule, String> {
        let p: Vec<&str> = item.split(':').collect();
        let [what, k, errno] = p[..] else { return Err("not NAME[/SELECTOR][@N]:K[+]:ERRNO".into()) };
        let (what, after_requests) = match what.split_once('@') {
            Some((w, n)) => (w, n.parse().map_err(|_| format!("bad request count @{n}"))?),
            None => (what, 0),
        };
        let mut sel = what.split('/');
        let name = sel.next().unwrap_or_default();
        let req = ioctl_by_name(name).ok_or_else(|| format!("unknown ioctl {name}"))?;
        let mut r = FailRule { spec: item.to_string(), req, output: None, request_ctrls: false, done: false, after_requests, k: 0, from_k: false, errno: 0 };
        for s in sel {
            match s {
                "OUTPUT" => r.output = Some(true),
                "CAPTURE" => r.output = Some(false),
                "REQUEST" if matches!(req, VIDIOC_S_EXT_CTRLS | VIDIOC_G_EXT_CTRLS | VIDIOC_TRY_EXT_CTRLS) => r.request_ctrls = true,
                "DONE" if req == VIDIOC_DQBUF => r.done = true,
                _ => return Err(format!("selector {s} does not apply to {name}")),
            }
        }
        if r.output.is_some() && queue_type_offset(req).is_none() {
            return Err(format!("{name} names no queue"));
        }
        let (k, from_k) = match k.strip_suffix('+') {
            Some(k) => (k, true),
            None => (k, false),
        };
        r.k = k.parse().ok().filter(|&k| k >= 1).ok_or_else(|| format!("bad call number {k} (1-based)"))?;
        r.from_k = from_k;
        r.errno = errno_by_name(errno).ok_or_else(|| format!("unknown errno {errno}"))?;
        Ok(r)
    }

    pub fn plain(req: u64, k: u32, errno: c_int) -> FailRule {
        FailRule { spec: format!("{}:{k}:{errno}", ioctl_name(req)), req, output: None, request_ctrls: false, done: false, after_requests: 0, k, from_k: false, errno }
    }
}

/// Offset of the buffer type (u32) in the argument of a queue ioctl.
fn queue_type_offset(req: u64) -> Option<usize> {
    Some(match req {
        VIDIOC_QBUF | VIDIOC_DQBUF | VIDIOC_QUERYBUF => std::mem::offset_of!(v4l2_buffer, type_),
        VIDIOC_REQBUFS => std::mem::offset_of!(v4l2_requestbuffers, type_),
        VIDIOC_CREATE_BUFS => std::mem::offset_of!(v4l2_create_buffers, format) + std::mem::offset_of!(v4l2_format, type_),
        VIDIOC_EXPBUF => std::mem::offset_of!(v4l2_exportbuffer, type_),
        VIDIOC_G_FMT | VIDIOC_S_FMT | VIDIOC_TRY_FMT => std::mem::offset_of!(v4l2_format, type_),
        VIDIOC_ENUM_FMT => std::mem::offset_of!(v4l2_fmtdesc, type_),
        VIDIOC_STREAMON | VIDIOC_STREAMOFF => 0,
        _ => return None,
    })
}

/// A u32 of a client argument, read like copy_from_user (no crash on a bad pointer).
fn peek_u32(arg: *mut c_void, offset: usize) -> Option<u32> {
    if arg.is_null() {
        return None;
    }
    let b = copy_from_user((arg as *const u8).wrapping_add(offset), 4).ok()?;
    Some(u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
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
    engine: Arc<Mutex<Engine>>,
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
    fd >= 0 && (fd as usize) < FD_MARK.len() && FD_MARK[fd as usize].load(std::sync::atomic::Ordering::Relaxed)
        || fd >= FD_MARK.len() as c_int
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

unsafe impl Send for Sim {}
unsafe impl Sync for Sim {}

fn cstr_copy(dst: &mut [u8], s: &str) {
    let n = s.len().min(dst.len() - 1);
    dst[..n].copy_from_slice(&s.as_bytes()[..n]);
    dst[n..].iter_mut().for_each(|b| *b = 0);
}
fn cstr_copy_c(dst: &mut [libc::c_char], s: &str) {
    let d = unsafe { std::slice::from_raw_parts_mut(dst.as_mut_ptr() as *mut u8, dst.len()) };
    cstr_copy(d, s)
}

/// process_vm_readv/writev fallback where they are not implemented
/// (qemu-user): pread/pwrite on /proc/self/mem fail with EIO on an unmapped
/// address, like the syscalls. Returns bytes copied or -1.
fn proc_self_mem(addr: usize, buf: *mut u8, len: usize, write: bool) -> isize {
    // SAFETY: a NUL-terminated literal path; the fd is closed below.
    let fd = unsafe { libc::open(b"/proc/self/mem\0".as_ptr() as *const libc::c_char, libc::O_RDWR | libc::O_CLOEXEC) };
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
    unsafe { std::slice::from_raw_parts(v.as_ptr() as *const u8, std::mem::size_of_val(v)) }
}

fn new_memfd(len: usize) -> R<(c_int, *mut u8)> {
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

    /// A fault-injection event: in HANTRO_SIM_LOG (and on stderr unless
    /// quiet) and, one line each, in HANTRO_SIM_FAULT_LOG (opened per line,
    /// so the client's fd table never shows it).
    fn fault(&self, line: &str) {
        self.log(&format!("fault injection: {line}"));
        if let Some(p) = &self.cfg.fault_log {
            let _g = self.fault_log.lock().unwrap_or_else(|e| e.into_inner());
            match std::fs::OpenOptions::new().create(true).append(true).open(p) {
                Ok(mut f) => {
                    let _ = writeln!(f, "{line}");
                }
                Err(e) => eprintln!("hantro-sim: HANTRO_SIM_FAULT_LOG {p}: {e}"),
            }
        }
    }

    /// HANTRO_SIM_FAIL_IOCTL: counts the call for every rule whose selectors
    /// it passes; the errno of the first rule that fires on it.
    fn inject(&self, fd: c_int, kind: FileKind, req: u64, arg: *mut c_void) -> Option<Errno> {
        if !self.rules.iter().any(|r| r.req == req) {
            return None;
        }
        let p = self.persona();
        // which queue the call names (None: no queue, or unreadable argument)
        let output = queue_type_offset(req).and_then(|o| peek_u32(arg, o)).and_then(|t| {
            if t == p.out_type() {
                Some(true)
            } else if t == p.cap_type() {
                Some(false)
            } else {
                None
            }
        });
        let request_ctrls = matches!(req, VIDIOC_S_EXT_CTRLS | VIDIOC_G_EXT_CTRLS | VIDIOC_TRY_EXT_CTRLS) && peek_u32(arg, 0) == Some(V4L2_CTRL_WHICH_REQUEST_VAL);
        let index = if matches!(req, VIDIOC_QBUF | VIDIOC_QUERYBUF | VIDIOC_EXPBUF) { peek_u32(arg, 0) } else { None };
        let mut st = self.lock();
        // DQBUF: the buffer the call would dequeue
        let done = match (req, kind, output) {
            (VIDIOC_DQBUF, FileKind::Video(id), Some(out)) => st.ctxs.get(&id).and_then(|c| {
                let q = if out { &c.out_q } else { &c.cap_q };
                if q.streaming {
                    q.done.front().copied()
                } else {
                    None
                }
            }),
            _ => None,
        };
        let requests = st.requests_queued;
        let mut fire = None;
        for (i, r) in self.rules.iter().enumerate() {
            if r.req != req
                || r.output.is_some_and(|o| output != Some(o))
                || (r.request_ctrls && !request_ctrls)
                || (r.done && done.is_none())
                || requests < r.after_requests
            {
                continue;
            }
            st.fail_counts[i] += 1;
            let n = st.fail_counts[i];
            if fire.is_none() && (n == r.k || (r.from_k && n > r.k)) {
                fire = Some((r, n));
            }
        }
        drop(st);
        let (r, n) = fire?;
        let mut what = format!("fired ioctl {} call={n} fd={fd} {}", r.spec, ioctl_name(req));
        if let Some(o) = output {
            what += if o { " queue=OUTPUT" } else { " queue=CAPTURE" };
        }
        if let Some(i) = index.or(done) {
            what += &format!(" buffer={i}");
        }
        what += &format!(" requests-queued={requests} errno={}", r.errno);
        self.fault(&what);
        Some(r.errno)
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

    /// Whether `path` names one of the emulated device nodes.
    pub fn owns_path(&self, path: &str) -> bool {
        path == self.cfg.media_path || path == self.cfg.video_path || (!self.cfg.dri_path.is_empty() && path == self.cfg.dri_path)
    }

    /// (mode, rdev) of an emulated node path.
    pub fn node_stat(&self, path: &str) -> Option<(u32, u64)> {
        let dev = if path == self.cfg.media_path {
            libc::makedev(MEDIA_MAJOR, 0)
        } else if path == self.cfg.video_path {
            libc::makedev(VIDEO_MAJOR, self.cfg.video_minor())
        } else if !self.cfg.dri_path.is_empty() && path == self.cfg.dri_path {
            libc::makedev(DRI_MAJOR, 128)
        } else {
            return None;
        };
        Some((libc::S_IFCHR | 0o660, dev))
    }

    pub fn fd_stat(&self, fd: c_int) -> Option<(u32, u64)> {
        let k = *self.lock().files.get(&fd)?;
        match k {
            FileKind::Media => self.node_stat(&self.cfg.media_path.clone()),
            FileKind::Video(_) => self.node_stat(&self.cfg.video_path.clone()),
            FileKind::Dri => self.node_stat(&self.cfg.dri_path.clone()),
            _ => None,
        }
    }

    pub fn owns_fd(&self, fd: c_int) -> bool {
        self.lock().files.contains_key(&fd)
    }

    /// Opens an emulated node.  None: not ours.
    pub fn open(self: &Arc<Self>, path: &str, flags: c_int) -> Option<R<c_int>> {
        if !self.owns_path(path) {
            return None;
        }
        let mut efl = 0;
        if flags & libc::O_CLOEXEC != 0 {
            efl |= libc::EFD_CLOEXEC;
        }
        if flags & libc::O_NONBLOCK != 0 {
            efl |= libc::EFD_NONBLOCK;
        }
        let fd = unsafe { libc::eventfd(0, efl) };
        if fd < 0 {
            return Some(Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EMFILE)));
        }
        let mut st = self.lock();
        let kind = if path == self.cfg.media_path {
            FileKind::Media
        } else if path == self.cfg.video_path {
            let id = st.next_id;
            st.next_id += 1;
            let evfd = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
            let p = self.persona();
            let out_fmt = default_out_fmt(p);
            let cap_fmt = cap_fmt_for(p, p.cap_fourcc(), out_fmt.width, out_fmt.height);
            st.ctxs.insert(
                id,
                Ctx {
                    refs: 1,
                    evfd,
                    ev_signalled: false,
                    out_q: Queue::default(),
                    cap_q: Queue::default(),
                    out_fmt,
                    cap_fmt,
                    ctrls: ctrls::defaults(p),
                    engine: Arc::new(Mutex::new(Engine::new())),
                    held_cap: None,
                    events: VecDeque::new(),
                    subs: Vec::new(),
                    ev_seq: 0,
                    busy: false,
                    hung: false,
                    pic_errs: Vec::new(),
                },
            );
            FileKind::Video(id)
        } else {
            FileKind::Dri
        };
        insert_file(&mut st, fd, kind);
        if let FileKind::Video(id) = kind {
            st.prio.insert(fd, 2);
            sync_ready(&mut st, id);
        }
        drop(st);
        self.ensure_worker();
        Some(Ok(fd))
    }

    /// Called before the real close(); forgets the fd.
    pub fn close(&self, fd: c_int) -> bool {
        let mut st = self.lock();
        let Some(k) = remove_file(&mut st, fd) else { return false };
        st.prio.remove(&fd);
        match k {
            FileKind::Video(id) => {
                let drop_it = {
                    let c = st.ctxs.get_mut(&id).unwrap();
                    c.refs -= 1;
                    c.refs == 0
                };
                if drop_it {
                    // like v4l2_m2m_ctx_release(): wait for a running job,
                    // the worker writes into this context's buffers
                    while st.ctxs.get(&id).is_some_and(|c| c.busy && !c.hung) {
                        st = self.cv.wait(st).unwrap_or_else(|e| e.into_inner());
                    }
                    // (a hung job has already returned: nothing writes any more)
                    let c = st.ctxs.remove(&id).unwrap();
                    unsafe { libc::close(c.evfd) };
                    // requests bound to this context are orphaned
                    for r in st.reqs.values_mut() {
                        if r.ctx == Some(id) {
                            r.ctx = None;
                            r.out_buf = None;
                            if r.state == ReqState::Queued {
                                r.state = ReqState::Complete;
                                signal_req(r);
                            }
                        }
                    }
                }
            }
            FileKind::Request(rid) => {
                if let Some(r) = st.reqs.get_mut(&rid) {
                    r.fd = None;
                    if r.state != ReqState::Queued {
                        let r = st.reqs.remove(&rid).unwrap();
                        unsafe { libc::close(r.peer) };
                        release_request_buf(&mut st, &r);
                    }
                }
            }
            _ => {}
        }
        true
    }

    /// Records that `newfd` is a duplicate of `oldfd` (dup/dup2/fcntl).
    pub fn dup(&self, oldfd: c_int, newfd: c_int) {
        let mut st = self.lock();
        if let Some(k) = st.files.get(&oldfd).copied() {
            if let FileKind::Video(id) = k {
                st.ctxs.get_mut(&id).unwrap().refs += 1;
            }
            insert_file(&mut st, newfd, k);
        }
    }

    /// For mmap(fd, offset): the memfd backing that buffer plane.
    pub fn mmap_target(&self, fd: c_int, offset: i64) -> Option<R<c_int>> {
        let st = self.lock();
        let k = *st.files.get(&fd)?;
        let id = match k {
            FileKind::Video(id) => id,
            FileKind::Media | FileKind::Dri => return Some(Err(libc::ENODEV)),
            _ => return None, // exported buffers and request fds are real fds
        };
        let c = &st.ctxs[&id];
        for q in [&c.out_q, &c.cap_q] {
            for b in &q.bufs {
                for p in &b.planes {
                    if p.offset as i64 == offset {
                        return Some(Ok(p.memfd));
                    }
                }
            }
        }
        Some(Err(libc::EINVAL))
    }

    /// poll() support: revents for an emulated fd given requested events.
    pub fn revents(&self, fd: c_int, events: i16) -> Option<i16> {
        let st = self.lock();
        let k = *st.files.get(&fd)?;
        Some(match k {
            FileKind::Video(id) => video_revents(&st.ctxs[&id]) & (events | libc::POLLERR | libc::POLLHUP),
            FileKind::Request(rid) => {
                if events & libc::POLLPRI == 0 {
                    0
                } else {
                    match st.reqs.get(&rid).map(|r| r.state) {
                        Some(ReqState::Complete) => libc::POLLPRI,
                        Some(ReqState::Queued) => 0,
                        _ => libc::POLLERR,
                    }
                }
            }
            _ => 0,
        })
    }

    /// Which fds to hand to the real poll() for an emulated fd (the eventfd
    /// is readable exactly when the emulated fd has events).
    pub fn poll_events_for(&self, fd: c_int) -> Option<i16> {
        let st = self.lock();
        match st.files.get(&fd)? {
            FileKind::Video(_) => Some(libc::POLLIN), // the eventfd: readable while any event
            FileKind::Request(_) => Some(libc::POLLPRI),
            _ => Some(0),
        }
    }

    fn ensure_worker(self: &Arc<Self>) {
        let mut w = self.worker.lock().unwrap();
        if !*w {
            *w = true;
            let me = Arc::downgrade(self);
            std::thread::Builder::new()
                .name("hantro-sim-hw".into())
                .spawn(move || worker(me))
                .expect("spawn simulator worker");
        }
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

    fn media_ioctl(self: &Arc<Self>, req: u64, arg: *mut c_void) -> R<c_int> {
        let p = self.persona();
        match req {
            MEDIA_IOC_DEVICE_INFO => {
                let i = unsafe { &mut *(arg as *mut media_device_info) };
                *i = media_device_info::default();
                cstr_copy_c(&mut i.driver, p.driver());
                cstr_copy_c(&mut i.model, p.driver());
                cstr_copy_c(&mut i.bus_info, p.bus_info());
                i.media_version = (6 << 16) | (12 << 8);
                i.driver_version = (6 << 16) | (12 << 8);
                Ok(0)
            }
            MEDIA_IOC_G_TOPOLOGY => {
                let t = unsafe { &mut *(arg as *mut media_v2_topology) };
                t.reserved1 = 0;
                t.reserved2 = 0;
                t.reserved3 = 0;
                t.reserved4 = 0;
                self.topology(t)
            }
            MEDIA_IOC_ENUM_ENTITIES => {
                // legacy API: entities 1 (source), 2 (proc), 3 (sink)
                let e = unsafe { &mut *(arg as *mut media_entity_desc) };
                let want = e.id & !MEDIA_ENT_ID_FLAG_NEXT;
                let id = if e.id & MEDIA_ENT_ID_FLAG_NEXT != 0 { want + 1 } else { want };
                if !(1..=3).contains(&id) {
                    return Err(libc::EINVAL);
                }
                let names = [format!("{}-source", p.driver()), format!("{}-proc", p.driver()), format!("{}-sink", p.driver())];
                let mut d = media_entity_desc { id, ..Default::default() };
                cstr_copy_c(&mut d.name, &names[id as usize - 1]);
                d.type_ = if id == 2 { MEDIA_ENT_F_PROC_VIDEO_DECODER } else { MEDIA_ENT_F_IO_V4L };
                d.pads = if id == 2 { 2 } else { 1 };
                d.links = if id == 3 { 0 } else { 1 };
                if id == 1 {
                    d.__bindgen_anon_1.dev.major = VIDEO_MAJOR;
                    d.__bindgen_anon_1.dev.minor = self.cfg.video_minor();
                }
                *e = d;
                Ok(0)
            }
            MEDIA_IOC_ENUM_LINKS => {
                let l = unsafe { &mut *(arg as *mut media_links_enum) };
                let ent = l.entity;
                if !(1..=3).contains(&ent) {
                    return Err(libc::EINVAL);
                }
                l.reserved = [0; 4];
                let pad = |e: u32, i: u16, f: u32| media_pad_desc { entity: e, index: i, flags: f, ..Default::default() };
                let pads: Vec<media_pad_desc> = match ent {
                    1 => vec![pad(1, 0, MEDIA_PAD_FL_SOURCE)],
                    2 => vec![pad(2, 0, MEDIA_PAD_FL_SINK), pad(2, 1, MEDIA_PAD_FL_SOURCE)],
                    _ => vec![pad(3, 0, MEDIA_PAD_FL_SINK)],
                };
                let fl = MEDIA_LNK_FL_ENABLED | MEDIA_LNK_FL_IMMUTABLE;
                let links: Vec<media_link_desc> = match ent {
                    1 => vec![media_link_desc { source: pad(1, 0, MEDIA_PAD_FL_SOURCE), sink: pad(2, 0, MEDIA_PAD_FL_SINK), flags: fl, ..Default::default() }],
                    2 => vec![media_link_desc { source: pad(2, 1, MEDIA_PAD_FL_SOURCE), sink: pad(3, 0, MEDIA_PAD_FL_SINK), flags: fl, ..Default::default() }],
                    _ => vec![],
                };
                if !l.pads.is_null() {
                    copy_to_user(l.pads as *mut u8, as_bytes(&pads))?;
                }
                if !l.links.is_null() {
                    copy_to_user(l.links as *mut u8, as_bytes(&links))?;
                }
                Ok(0)
            }
            MEDIA_IOC_REQUEST_ALLOC => {
                let mut sv = [0; 2];
                if unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0, sv.as_mut_ptr()) } < 0 {
                    return Err(libc::ENOMEM);
                }
                let mut st = self.lock();
                let id = st.next_id;
                st.next_id += 1;
                st.reqs.insert(
                    id,
                    Request { fd: Some(sv[0]), peer: sv[1], state: ReqState::Idle, ctx: None, out_buf: None, ctrls: CtrlValues::default(), done_ctrls: CtrlValues::default(), poison: Vec::new() },
                );
                insert_file(&mut st, sv[0], FileKind::Request(id));
                unsafe { *(arg as *mut i32) = sv[0] };
                Ok(0)
            }
            _ => Err(libc::ENOTTY),
        }
    }

    fn topology(&self, t: &mut media_v2_topology) -> R<c_int> {
        let p = self.persona();
        // gobj ids: type << 24 | serial (media_gobj_gen_id)
        let ent = |n: u32| n;
        let pad = |n: u32| (1 << 24) | n;
        let link = |n: u32| (2 << 24) | n;
        let intf = |n: u32| (3 << 24) | n;
        let names = [format!("{}-source", p.driver()), format!("{}-proc", p.driver()), format!("{}-sink", p.driver())];
        let funcs = [MEDIA_ENT_F_IO_V4L, MEDIA_ENT_F_PROC_VIDEO_DECODER, MEDIA_ENT_F_IO_V4L];
        let mut ents = Vec::new();
        for i in 0..3 {
            let mut e = media_v2_entity { id: ent(i as u32 + 1), function: funcs[i], ..Default::default() };
            cstr_copy_c(&mut e.name, &names[i]);
            ents.push(e);
        }
        // pads: source entity pad0 (SOURCE), proc pad0 SINK pad1 SOURCE, sink entity pad0 SINK
        let pads = vec![
            media_v2_pad { id: pad(4), entity_id: 1, flags: MEDIA_PAD_FL_SOURCE, index: 0, ..Default::default() },
            media_v2_pad { id: pad(5), entity_id: 2, flags: MEDIA_PAD_FL_SINK, index: 0, ..Default::default() },
            media_v2_pad { id: pad(6), entity_id: 2, flags: MEDIA_PAD_FL_SOURCE, index: 1, ..Default::default() },
            media_v2_pad { id: pad(7), entity_id: 3, flags: MEDIA_PAD_FL_SINK, index: 0, ..Default::default() },
        ];
        let mut itf = media_v2_interface { id: intf(10), intf_type: MEDIA_INTF_T_V4L_VIDEO, ..Default::default() };
        itf.__bindgen_anon_1.devnode = media_v2_intf_devnode { major: VIDEO_MAJOR, minor: self.cfg.video_minor() };
        let data = MEDIA_LNK_FL_ENABLED | MEDIA_LNK_FL_IMMUTABLE | MEDIA_LNK_FL_DATA_LINK;
        let il = MEDIA_LNK_FL_ENABLED | MEDIA_LNK_FL_IMMUTABLE | MEDIA_LNK_FL_INTERFACE_LINK;
        let links = vec![
            media_v2_link { id: link(8), source_id: pad(4), sink_id: pad(5), flags: data, ..Default::default() },
            media_v2_link { id: link(9), source_id: pad(6), sink_id: pad(7), flags: data, ..Default::default() },
            media_v2_link { id: link(11), source_id: intf(10), sink_id: ent(1), flags: il, ..Default::default() },
            media_v2_link { id: link(12), source_id: intf(10), sink_id: ent(3), flags: il, ..Default::default() },
        ];
        t.topology_version = 1;
        unsafe fn fill<T: Copy>(ptr: u64, num: u32, v: &[T]) -> R<u32> {
            if ptr != 0 {
                if (num as usize) < v.len() {
                    return Err(libc::ENOSPC);
                }
                copy_to_user(ptr as *mut u8, as_bytes(v))?;
            }
            Ok(v.len() as u32)
        }
        unsafe {
            t.num_entities = fill(t.ptr_entities, t.num_entities, &ents)?;
            t.num_interfaces = fill(t.ptr_interfaces, t.num_interfaces, &[itf])?;
            t.num_pads = fill(t.ptr_pads, t.num_pads, &pads)?;
            t.num_links = fill(t.ptr_links, t.num_links, &links)?;
        }
        Ok(0)
    }

    fn request_ioctl(self: &Arc<Self>, rid: u32, req: u64) -> R<c_int> {
        let mut st = self.lock();
        match req {
            MEDIA_REQUEST_IOC_QUEUE => {
                let p = self.persona();
                let r = st.reqs.get(&rid).ok_or(libc::EINVAL)?;
                if r.state != ReqState::Idle {
                    return Err(libc::EBUSY);
                }
                let Some(b) = r.out_buf else { return Err(libc::ENOENT) };
                let cid = r.ctx.ok_or(libc::ENOENT)?;
                // Like cedrus/hantro/rkvdec in 6.12 (cedrus dropped its
                // per-control check): only the buffer is mandatory; controls
                // not set in the request keep their previous values.
                let _ = p;
                let r = st.reqs.get_mut(&rid).unwrap();
                r.state = ReqState::Queued;
                let c = st.ctxs.get_mut(&cid).ok_or(libc::EINVAL)?;
                c.out_q.bufs[b as usize].state = BufState::Queued;
                c.out_q.ready.push_back(b);
                st.requests_queued += 1;
                sync_ready(&mut st, cid);
                drop(st);
                self.cv.notify_all();
                Ok(0)
            }
            MEDIA_REQUEST_IOC_REINIT => {
                let r = st.reqs.get(&rid).ok_or(libc::EINVAL)?;
                if r.state == ReqState::Queued {
                    return Err(libc::EBUSY);
                }
                let r = st.reqs.get_mut(&rid).unwrap();
                // a fresh socket pair on the same fd number clears POLLPRI
                let mut sv = [0; 2];
                if unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0, sv.as_mut_ptr()) } < 0 {
                    return Err(libc::ENOMEM);
                }
                if let Some(fd) = r.fd {
                    unsafe {
                        libc::dup3(sv[0], fd, libc::O_CLOEXEC);
                        libc::close(sv[0]);
                        libc::close(r.peer);
                    }
                    r.peer = sv[1];
                }
                r.state = ReqState::Idle;
                r.ctrls = CtrlValues::default();
                r.done_ctrls = CtrlValues::default();
                r.poison.clear();
                let (ctx, ob) = (r.ctx.take(), r.out_buf.take());
                if let (Some(c), Some(b)) = (ctx, ob) {
                    if let Some(c) = st.ctxs.get_mut(&c) {
                        if let Some(bb) = c.out_q.bufs.get_mut(b as usize) {
                            if bb.state == BufState::InRequest {
                                bb.state = BufState::Dequeued;
                            }
                        }
                    }
                }
                Ok(0)
            }
            _ => Err(libc::ENOTTY),
        }
    }

    fn video_ioctl(self: &Arc<Self>, fd: c_int, id: u32, req: u64, arg: *mut c_void) -> R<c_int> {
        let p = self.persona();
        match req {
            VIDIOC_QUERYCAP => {
                let c = unsafe { &mut *(arg as *mut v4l2_capability) };
                *c = v4l2_capability::default();
                cstr_copy(&mut c.driver, p.driver());
                cstr_copy(&mut c.card, p.card());
                cstr_copy(&mut c.bus_info, p.bus_info());
                c.version = (6 << 16) | (12 << 8);
                let dc = if p.mplane() { V4L2_CAP_VIDEO_M2M_MPLANE } else { V4L2_CAP_VIDEO_M2M } | V4L2_CAP_STREAMING | V4L2_CAP_EXT_PIX_FORMAT;
                c.device_caps = dc;
                c.capabilities = dc | V4L2_CAP_DEVICE_CAPS;
                Ok(0)
            }
            VIDIOC_ENUM_FMT => {
                let f = unsafe { &mut *(arg as *mut v4l2_fmtdesc) };
                let (fourcc, desc, flags) = if f.type_ == p.out_type() {
                    (PIX_FMT_H264_SLICE, "H.264 Parsed Slice Data", V4L2_FMT_FLAG_COMPRESSED)
                } else if f.type_ == p.cap_type() {
                    if p.cap_fourcc() == PIX_FMT_NV12 {
                        (PIX_FMT_NV12, "Y/CbCr 4:2:0", 0)
                    } else {
                        (PIX_FMT_NV12_32L32, "Y/CbCr 4:2:0 (32x32 Linear)", 0)
                    }
                } else {
                    return Err(libc::EINVAL);
                };
                if f.index != 0 {
                    return Err(libc::EINVAL);
                }
                f.pixelformat = fourcc;
                f.flags = flags;
                f.mbus_code = 0;
                f.reserved = [0; 3];
                cstr_copy(&mut f.description, desc);
                Ok(0)
            }
            VIDIOC_ENUM_FRAMESIZES => {
                let f = unsafe { &mut *(arg as *mut v4l2_frmsizeenum) };
                if f.index != 0 || f.pixel_format != PIX_FMT_H264_SLICE {
                    return Err(libc::EINVAL);
                }
                let (a, b, c, d, e, g) = p.frmsize();
                f.type_ = v4l2_frmsizetypes_V4L2_FRMSIZE_TYPE_STEPWISE;
                f.reserved = [0; 2];
                f.__bindgen_anon_1.stepwise = v4l2_frmsize_stepwise { min_width: a, max_width: b, step_width: c, min_height: d, max_height: e, step_height: g };
                Ok(0)
            }
            VIDIOC_G_FMT | VIDIOC_S_FMT | VIDIOC_TRY_FMT => {
                let f = unsafe { &mut *(arg as *mut v4l2_format) };
                self.fmt_ioctl(id, req, f)
            }
            VIDIOC_REQBUFS => {
                let r = unsafe { &mut *(arg as *mut v4l2_requestbuffers) };
                r.flags = 0; // no V4L2_MEMORY_FLAG_NON_COHERENT support
                r.reserved = [0; 3];
                self.reqbufs(id, r.type_, r.memory, &mut r.count, false).map(|(caps, _)| {
                    r.capabilities = caps;
                    0
                })
            }
            VIDIOC_CREATE_BUFS => {
                let r = unsafe { &mut *(arg as *mut v4l2_create_buffers) };
                let ty = r.format.type_;
                let (caps, first) = self.reqbufs(id, ty, r.memory, &mut r.count, true)?;
                r.capabilities = caps | BUF_CAP_SUPPORTS_MAX_NUM_BUFFERS;
                r.flags = 0;
                r.index = first;
                let mut f = r.format;
                let _ = self.fmt_ioctl(id, VIDIOC_G_FMT, &mut f);
                r.format = f;
                // max_num_buffers (6.8+) and the reserved words after it,
                // written by offset so older uAPI headers build too
                unsafe {
                    let tail = (r as *mut v4l2_create_buffers as *mut u8).add(std::mem::offset_of!(v4l2_create_buffers, flags) + 4);
                    std::ptr::write_bytes(tail, 0, 24);
                    std::ptr::write_unaligned(tail as *mut u32, 32);
                }
                Ok(0)
            }
            VIDIOC_QUERYBUF => {
                let b = unsafe { &mut *(arg as *mut v4l2_buffer) };
                let st = self.lock();
                let c = &st.ctxs[&id];
                let q = self.queue_of(c, b.type_)?;
                let buf = q.bufs.get(b.index as usize).ok_or(libc::EINVAL)?;
                fill_buf(p, b, buf, false)?;
                Ok(0)
            }
            VIDIOC_QBUF => {
                let b = unsafe { &mut *(arg as *mut v4l2_buffer) };
                self.qbuf(id, b)
            }
            VIDIOC_DQBUF => {
                let b = unsafe { &mut *(arg as *mut v4l2_buffer) };
                let nonblock = unsafe { libc::fcntl(fd, libc::F_GETFL) } & libc::O_NONBLOCK != 0;
                self.dqbuf(id, b, nonblock)
            }
            VIDIOC_EXPBUF => {
                let e = unsafe { &mut *(arg as *mut v4l2_exportbuffer) };
                let mut st = self.lock();
                let c = &st.ctxs[&id];
                let q = self.queue_of(c, e.type_)?;
                let buf = q.bufs.get(e.index as usize).ok_or(libc::EINVAL)?;
                let pl = buf.planes.get(e.plane as usize).ok_or(libc::EINVAL)?;
                if e.flags & !(libc::O_CLOEXEC | libc::O_ACCMODE) as u32 != 0 {
                    return Err(libc::EINVAL);
                }
                let cmd = if e.flags & libc::O_CLOEXEC as u32 != 0 { libc::F_DUPFD_CLOEXEC } else { libc::F_DUPFD };
                let nfd = unsafe { libc::fcntl(pl.memfd, cmd, 0) };
                if nfd < 0 {
                    return Err(libc::EMFILE);
                }
                e.fd = nfd;
                insert_file(&mut st, nfd, FileKind::Export);
                Ok(0)
            }
            VIDIOC_STREAMON | VIDIOC_STREAMOFF => {
                let ty = unsafe { *(arg as *const u32) };
                self.stream(id, ty, req == VIDIOC_STREAMON)
            }
            VIDIOC_QUERYCTRL => {
                let q = unsafe { &mut *(arg as *mut v4l2_queryctrl) };
                let mut e = v4l2_query_ext_ctrl { id: q.id, ..Default::default() };
                self.query_ext_ctrl(&mut e)?;
                q.id = e.id;
                q.type_ = e.type_;
                let name = unsafe { std::slice::from_raw_parts(e.name.as_ptr() as *const u8, 32) };
                q.name.copy_from_slice(name);
                q.minimum = e.minimum as i32;
                q.maximum = e.maximum as i32;
                q.step = e.step as i32;
                q.default_value = e.default_value as i32;
                q.flags = e.flags;
                Ok(0)
            }
            VIDIOC_QUERY_EXT_CTRL => {
                let q = unsafe { &mut *(arg as *mut v4l2_query_ext_ctrl) };
                self.query_ext_ctrl(q)
            }
            VIDIOC_QUERYMENU => {
                let q = unsafe { &mut *(arg as *mut v4l2_querymenu) };
                let d = ctrls::ctrl_defs(p).into_iter().find(|d| d.id == q.id).ok_or(libc::EINVAL)?;
                match d.kind {
                    Kind::Menu { min, max, skip, names, .. } => {
                        let i = q.index as i64;
                        if i < min || i > max || skip & (1 << i) != 0 || i as usize >= names.len() {
                            return Err(libc::EINVAL);
                        }
                        let mut n = [0u8; 32];
                        cstr_copy(&mut n, names[i as usize]);
                        q.__bindgen_anon_1.name = n;
                        q.reserved = 0;
                        Ok(0)
                    }
                    _ => Err(libc::EINVAL),
                }
            }
            VIDIOC_G_CTRL | VIDIOC_S_CTRL => {
                let c = unsafe { &mut *(arg as *mut v4l2_control) };
                let d = ctrls::ctrl_defs(p).into_iter().find(|d| d.id == c.id).ok_or(libc::EINVAL)?;
                if matches!(d.kind, Kind::Class) {
                    return Err(libc::EACCES);
                }
                let Kind::Menu { min, max, skip, .. } = d.kind else { return Err(libc::EINVAL) };
                let mut st = self.lock();
                let cx = st.ctxs.get_mut(&id).unwrap();
                if req == VIDIOC_G_CTRL {
                    c.value = cx.ctrls.menu(c.id).unwrap_or(0);
                } else {
                    let v = c.value as i64;
                    if v < min || v > max {
                        return Err(libc::ERANGE);
                    }
                    if skip & (1 << v) != 0 {
                        return Err(libc::EINVAL);
                    }
                    cx.ctrls.set(c.id, c.value.to_ne_bytes().to_vec());
                }
                Ok(0)
            }
            VIDIOC_G_EXT_CTRLS | VIDIOC_S_EXT_CTRLS | VIDIOC_TRY_EXT_CTRLS => {
                let c = unsafe { &mut *(arg as *mut v4l2_ext_controls) };
                self.ext_ctrls(id, req, c)
            }
            VIDIOC_SUBSCRIBE_EVENT | VIDIOC_UNSUBSCRIBE_EVENT => {
                let sub = unsafe { &mut *(arg as *mut v4l2_event_subscription) };
                self.subscribe(id, req == VIDIOC_SUBSCRIBE_EVENT, sub)
            }
            VIDIOC_DQEVENT => {
                let ev = unsafe { &mut *(arg as *mut v4l2_event) };
                let mut st = self.lock();
                let c = st.ctxs.get_mut(&id).unwrap();
                let Some(mut e) = c.events.pop_front() else { return Err(libc::ENOENT) };
                e.pending = c.events.len() as u32;
                *ev = e;
                sync_ready(&mut st, id);
                Ok(0)
            }
            VIDIOC_G_PRIORITY => {
                let st = self.lock();
                let max = st.prio.values().copied().max().unwrap_or(2);
                unsafe { *(arg as *mut u32) = max };
                Ok(0)
            }
            VIDIOC_S_PRIORITY => {
                let v = unsafe { *(arg as *const u32) };
                if !(1..=3).contains(&v) {
                    return Err(libc::EINVAL);
                }
                let mut st = self.lock();
                // v4l2_prio_check: another handle holds a higher priority
                let own = st.prio.get(&fd).copied().unwrap_or(2);
                let other = st.prio.iter().filter(|(f, _)| **f != fd).map(|(_, v)| *v).max().unwrap_or(0);
                if other > own {
                    return Err(libc::EBUSY);
                }
                st.prio.insert(fd, v);
                Ok(0)
            }
            VIDIOC_DECODER_CMD | VIDIOC_TRY_DECODER_CMD => {
                // V4L2_DEC_CMD_FLUSH, only with HOLD_CAPTURE_BUF support (cedrus)
                let c = unsafe { &mut *(arg as *mut v4l2_decoder_cmd) };
                if p != Personality::Cedrus {
                    return Err(libc::ENOTTY);
                }
                if c.cmd != V4L2_DEC_CMD_FLUSH {
                    return Err(libc::EINVAL);
                }
                c.flags = 0;
                if req == VIDIOC_DECODER_CMD {
                    let mut st = self.lock();
                    if let Some(cx) = st.ctxs.get_mut(&id) {
                        // release a held CAPTURE buffer if no job is running
                        if !cx.busy {
                            if let Some(h) = cx.held_cap.take() {
                                let hb = &mut cx.cap_q.bufs[h as usize];
                                hb.state = BufState::Done;
                                hb.has_picture = true;
                                cx.cap_q.done.push_back(h);
                            }
                        }
                    }
                    sync_ready(&mut st, id);
                    drop(st);
                    self.cv.notify_all();
                }
                Ok(0)
            }
            _ => Err(libc::ENOTTY),
        }
    }

    fn subscribe(&self, id: u32, on: bool, sub: &mut v4l2_event_subscription) -> R<c_int> {
        let p = self.persona();
        let mut st = self.lock();
        let c = st.ctxs.get_mut(&id).unwrap();
        sub.reserved = [0; 5];
        if !on {
            if sub.type_ == V4L2_EVENT_ALL {
                c.subs.clear();
            } else {
                c.subs.retain(|s| *s != (sub.type_, sub.id));
            }
            return Ok(0);
        }
        if sub.type_ != V4L2_EVENT_CTRL {
            return Err(libc::EINVAL);
        }
        let d = ctrls::ctrl_defs(p).into_iter().find(|d| d.id == sub.id).ok_or(libc::EINVAL)?;
        if c.subs.contains(&(sub.type_, sub.id)) {
            return Ok(0);
        }
        c.subs.push((sub.type_, sub.id));
        if sub.flags & V4L2_EVENT_SUB_FL_SEND_INITIAL != 0 && !matches!(d.kind, Kind::Class) {
            let mut e = v4l2_event { type_: V4L2_EVENT_CTRL, id: sub.id, sequence: c.ev_seq, ..Default::default() };
            c.ev_seq += 1;
            let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
            unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
            e.timestamp.tv_sec = ts.tv_sec;
            e.timestamp.tv_nsec = ts.tv_nsec;
            let mut ce = v4l2_event_ctrl { changes: V4L2_EVENT_CTRL_CH_VALUE | V4L2_EVENT_CTRL_CH_FLAGS, ..Default::default() };
            match d.kind {
                Kind::Menu { min, max, def, .. } => {
                    ce.type_ = v4l2_ctrl_type_V4L2_CTRL_TYPE_MENU;
                    ce.__bindgen_anon_1.value = c.ctrls.menu(sub.id).unwrap_or(def as i32);
                    ce.minimum = min as i32;
                    ce.maximum = max as i32;
                    ce.step = 1;
                    ce.default_value = def as i32;
                }
                Kind::Compound { ty, .. } => {
                    ce.type_ = ty;
                    ce.flags = V4L2_CTRL_FLAG_HAS_PAYLOAD;
                }
                Kind::Class => {}
            }
            e.u.ctrl = ce;
            c.events.push_back(e);
        }
        sync_ready(&mut st, id);
        Ok(0)
    }

    fn queue_of<'a>(&self, c: &'a Ctx, ty: u32) -> R<&'a Queue> {
        let p = self.persona();
        if ty == p.out_type() {
            Ok(&c.out_q)
        } else if ty == p.cap_type() {
            Ok(&c.cap_q)
        } else {
            Err(libc::EINVAL)
        }
    }

    fn fmt_ioctl(&self, id: u32, req: u64, f: &mut v4l2_format) -> R<c_int> {
        let p = self.persona();
        let mut st = self.lock();
        let c = st.ctxs.get_mut(&id).unwrap();
        let is_out = f.type_ == p.out_type();
        if !is_out && f.type_ != p.cap_type() {
            return Err(libc::EINVAL);
        }
        if req == VIDIOC_G_FMT {
            write_fmt(p, f, if is_out { &c.out_fmt } else { &c.cap_fmt });
            return Ok(0);
        }
        let (w, h, fourcc, size) = read_fmt(p, f);
        let (minw, maxw, _sw, minh, maxh, _sh) = p.frmsize();
        let new = if is_out {
            let w = align(w.clamp(minw, maxw) as usize, 16) as u32;
            let h = align(h.clamp(minh, maxh) as usize, 16) as u32;
            let size = if size == 0 { w * h * 3 / 2 + 1024 } else { size };
            Fmt { color: read_color(p, f), fourcc: PIX_FMT_H264_SLICE, width: w, height: h, bytesperline: 0, sizeimage: size.max(4096) }
        } else {
            let _ = (w, h, fourcc);
            // decoded format follows the coded format (hantro_try_fmt)
            let mut cf = cap_fmt_for(p, p.cap_fourcc(), c.out_fmt.width, c.out_fmt.height);
            cf.color = c.out_fmt.color;
            cf
        };
        if req == VIDIOC_TRY_FMT {
            write_fmt(p, f, &new);
            return Ok(0);
        }
        if is_out {
            if !c.out_q.bufs.is_empty() {
                return Err(libc::EBUSY);
            }
            if !c.cap_q.bufs.is_empty() && (new.width != c.out_fmt.width || new.height != c.out_fmt.height) {
                return Err(libc::EBUSY);
            }
            c.out_fmt = new;
            // a new coded format resets the decoded format
            c.cap_fmt = cap_fmt_for(p, p.cap_fourcc(), new.width, new.height);
            c.cap_fmt.color = new.color;
        } else {
            if !c.cap_q.bufs.is_empty() {
                return Err(libc::EBUSY);
            }
            c.cap_fmt = new;
        }
        write_fmt(p, f, &new);
        Ok(0)
    }

    fn reqbufs(&self, id: u32, ty: u32, memory: u32, count: &mut u32, create: bool) -> R<(u32, u32)> {
        let p = self.persona();
        let mut st = self.lock();
        let c = st.ctxs.get_mut(&id).unwrap();
        let is_out = ty == p.out_type();
        if !is_out && ty != p.cap_type() {
            return Err(libc::EINVAL);
        }
        let mut caps = V4L2_BUF_CAP_SUPPORTS_MMAP | V4L2_BUF_CAP_SUPPORTS_ORPHANED_BUFS;
        if is_out {
            caps |= V4L2_BUF_CAP_SUPPORTS_REQUESTS;
            if p == Personality::Cedrus {
                caps |= V4L2_BUF_CAP_SUPPORTS_M2M_HOLD_CAPTURE_BUF;
            }
        }
        if memory != v4l2_memory_V4L2_MEMORY_MMAP {
            return Err(libc::EINVAL);
        }
        let fmt = if is_out { c.out_fmt } else { c.cap_fmt };
        let q = if is_out { &mut c.out_q } else { &mut c.cap_q };
        if create && *count == 0 {
            return Ok((caps, q.bufs.len() as u32));
        }
        if q.streaming && !create {
            return Err(libc::EBUSY);
        }
        if !create {
            if q.bufs.iter().any(|b| matches!(b.state, BufState::Active)) {
                return Err(libc::EBUSY);
            }
            q.bufs.clear();
            q.ready.clear();
            q.done.clear();
            if !is_out {
                c.held_cap = None;
            }
            if *count == 0 {
                return Ok((caps, 0));
            }
        }
        let first = q.bufs.len() as u32;
        if first >= 32 {
            // vb2: a full queue answers CREATE_BUFS with ENOBUFS
            return Err(libc::ENOBUFS);
        }
        let n = (*count).clamp(1, 32 - first);
        if n == 0 {
            return Err(libc::ENOBUFS);
        }
        for i in first..first + n {
            let len = align(fmt.sizeimage as usize, 4096);
            let (memfd, ptr) = new_memfd(len)?;
            let offset = (if is_out { 0 } else { 1u32 << 30 }) + i * 8 * 4096;
            q.bufs.push(Buf {
                state: BufState::Dequeued,
                planes: vec![Plane { memfd, len, ptr, offset }],
                flags: 0,
                done_flags: 0,
                ts_sec: 0,
                ts_usec: 0,
                bytesused: 0,
                sequence: 0,
                request: None,
                request_fd: -1,
                has_picture: false,
            });
        }
        *count = n;
        Ok((caps, first))
    }

    fn qbuf(self: &Arc<Self>, id: u32, b: &mut v4l2_buffer) -> R<c_int> {
        let p = self.persona();
        let mut st = self.lock();
        let is_out = b.type_ == p.out_type();
        if !is_out && b.type_ != p.cap_type() {
            return Err(libc::EINVAL);
        }
        if b.memory != v4l2_memory_V4L2_MEMORY_MMAP {
            return Err(libc::EINVAL);
        }
        let with_req = b.flags & V4L2_BUF_FLAG_REQUEST_FD != 0;
        let req_fd = unsafe { b.__bindgen_anon_1.request_fd };
        {
            let c = &st.ctxs[&id];
            let q = if is_out { &c.out_q } else { &c.cap_q };
            let buf = q.bufs.get(b.index as usize).ok_or(libc::EINVAL)?;
            if p.mplane() {
                let planes = unsafe { b.m.planes };
                if planes.is_null() || b.length < 1 {
                    return Err(libc::EINVAL);
                }
                copy_from_user(planes as *const u8, std::mem::size_of::<v4l2_plane>())?;
            }
            if buf.state != BufState::Dequeued {
                return Err(libc::EINVAL);
            }
            if !is_out && with_req {
                return Err(libc::EBADR);
            }
            if is_out && !with_req {
                return Err(libc::EBADR);
            }
        }
        let rid = if is_out {
            let rid = match st.files.get(&req_fd) {
                Some(FileKind::Request(r)) => *r,
                _ => return Err(libc::EINVAL),
            };
            let r = st.reqs.get(&rid).ok_or(libc::EINVAL)?;
            if r.state != ReqState::Idle {
                return Err(libc::EBUSY);
            }
            if r.out_buf.is_some() || (r.ctx.is_some() && r.ctx != Some(id)) {
                return Err(libc::EBUSY);
            }
            Some(rid)
        } else {
            None
        };
        let c = st.ctxs.get_mut(&id).unwrap();
        let q = if is_out { &mut c.out_q } else { &mut c.cap_q };
        let buf = &mut q.bufs[b.index as usize];
        let bytesused = if p.mplane() { unsafe { (*b.m.planes).bytesused } } else { b.bytesused };
        buf.bytesused = if bytesused == 0 { buf.planes[0].len as u32 } else { bytesused.min(buf.planes[0].len as u32) };
        let mut fl = b.flags & (V4L2_BUF_FLAG_KEYFRAME | V4L2_BUF_FLAG_PFRAME | V4L2_BUF_FLAG_BFRAME);
        if is_out && p == Personality::Cedrus {
            fl |= b.flags & V4L2_BUF_FLAG_M2M_HOLD_CAPTURE_BUF;
        }
        buf.flags = fl;
        if is_out {
            buf.ts_sec = b.timestamp.tv_sec;
            buf.ts_usec = b.timestamp.tv_usec;
        }
        if let Some(rid) = rid {
            buf.state = BufState::InRequest;
            buf.request = Some(rid);
            buf.request_fd = req_fd;
            let r = st.reqs.get_mut(&rid).unwrap();
            r.out_buf = Some(b.index);
            r.ctx = Some(id);
            b.flags |= V4L2_BUF_FLAG_IN_REQUEST;
        } else {
            buf.state = BufState::Queued;
            q.ready.push_back(b.index);
            b.flags |= V4L2_BUF_FLAG_QUEUED;
        }
        sync_ready(&mut st, id);
        drop(st);
        self.cv.notify_all();
        Ok(0)
    }

    fn dqbuf(&self, id: u32, b: &mut v4l2_buffer, nonblock: bool) -> R<c_int> {
        let p = self.persona();
        let is_out = b.type_ == p.out_type();
        if !is_out && b.type_ != p.cap_type() {
            return Err(libc::EINVAL);
        }
        if p.mplane() && unsafe { b.m.planes.is_null() } {
            return Err(libc::EINVAL);
        }
        let mut st = self.lock();
        loop {
            let c = st.ctxs.get_mut(&id).ok_or(libc::EBADF)?;
            let q = if is_out { &mut c.out_q } else { &mut c.cap_q };
            if !q.streaming {
                return Err(libc::EINVAL);
            }
            if let Some(i) = q.done.pop_front() {
                let buf = &mut q.bufs[i as usize];
                buf.state = BufState::Dequeued;
                b.index = i;
                fill_buf(p, b, buf, true)?;
                buf.request = None;
                sync_ready(&mut st, id);
                return Ok(0);
            }
            if nonblock {
                return Err(libc::EAGAIN);
            }
            st = self.cv.wait(st).unwrap_or_else(|e| e.into_inner());
        }
    }

    fn stream(self: &Arc<Self>, id: u32, ty: u32, on: bool) -> R<c_int> {
        let p = self.persona();
        let is_out = ty == p.out_type();
        if !is_out && ty != p.cap_type() {
            return Err(libc::EINVAL);
        }
        let mut st = self.lock();
        if on {
            let c = st.ctxs.get_mut(&id).unwrap();
            let q = if is_out { &mut c.out_q } else { &mut c.cap_q };
            if q.bufs.is_empty() {
                return Err(libc::EINVAL);
            }
            q.streaming = true;
        } else {
            // wait for a running job (like v4l2_m2m_cancel_job)
            while st.ctxs.get(&id).is_some_and(|c| c.busy && !c.hung) {
                st = self.cv.wait(st).unwrap_or_else(|e| e.into_inner());
            }
            let mut completed = Vec::new();
            let c = st.ctxs.get_mut(&id).unwrap();
            let q = if is_out { &mut c.out_q } else { &mut c.cap_q };
            q.streaming = false;
            q.ready.clear();
            q.done.clear();
            q.sequence = 0;
            for b in q.bufs.iter_mut() {
                if matches!(b.state, BufState::Queued | BufState::Done | BufState::Active) {
                    if let (true, Some(r)) = (is_out, b.request) {
                        completed.push(r);
                    }
                    b.state = BufState::Dequeued;
                    b.request = None;
                }
            }
            if !is_out {
                c.held_cap = None;
                if c.engine.lock().map(|e| e.has_pending()).unwrap_or(false) {
                    // drop the partially received picture
                    *c.engine.lock().unwrap() = std::mem::take(&mut *c.engine.lock().unwrap());
                }
            }
            for r in completed {
                if let Some(r) = st.reqs.get_mut(&r) {
                    if r.state == ReqState::Queued {
                        r.state = ReqState::Complete;
                        signal_req(r);
                    }
                }
            }
        }
        sync_ready(&mut st, id);
        drop(st);
        self.cv.notify_all();
        Ok(0)
    }

    fn query_ext_ctrl(&self, q: &mut v4l2_query_ext_ctrl) -> R<c_int> {
        let p = self.persona();
        let defs = ctrls::ctrl_defs(p);
        let next_ctrl = q.id & V4L2_CTRL_FLAG_NEXT_CTRL != 0;
        let next_comp = q.id & V4L2_CTRL_FLAG_NEXT_COMPOUND != 0;
        let base = q.id & !(V4L2_CTRL_FLAG_NEXT_CTRL | V4L2_CTRL_FLAG_NEXT_COMPOUND);
        let d = if next_ctrl || next_comp {
            defs.into_iter()
                .filter(|d| d.id > base)
                .find(|d| {
                    let comp = matches!(d.kind, Kind::Compound { .. });
                    (comp && next_comp) || (!comp && next_ctrl)
                })
                .ok_or(libc::EINVAL)?
        } else {
            defs.into_iter().find(|d| d.id == base).ok_or(libc::EINVAL)?
        };
        *q = v4l2_query_ext_ctrl { id: d.id, ..Default::default() };
        cstr_copy_c(&mut q.name, d.name);
        match d.kind {
            Kind::Menu { min, max, skip: _, def, .. } => {
                q.type_ = v4l2_ctrl_type_V4L2_CTRL_TYPE_MENU;
                q.minimum = min;
                q.maximum = max;
                q.step = 1;
                q.default_value = def;
                q.elem_size = 4;
                q.elems = 1;
                if min == max {
                    // fixed by the hardware, still settable to its one value
                }
            }
            Kind::Class => {
                q.type_ = v4l2_ctrl_type_V4L2_CTRL_TYPE_CTRL_CLASS;
                q.flags = V4L2_CTRL_FLAG_READ_ONLY | V4L2_CTRL_FLAG_WRITE_ONLY;
            }
            Kind::Compound { ty, size } => {
                q.type_ = ty;
                q.flags = V4L2_CTRL_FLAG_HAS_PAYLOAD;
                q.elem_size = size as u32;
                q.elems = 1;
            }
        }
        Ok(0)
    }

    fn ext_ctrls(&self, id: u32, req: u64, c: &mut v4l2_ext_controls) -> R<c_int> {
        let p = self.persona();
        let defs = ctrls::ctrl_defs(p);
        let which = unsafe { c.__bindgen_anon_1.which };
        let count = c.count as usize;
        if count > 1024 {
            return Err(libc::EINVAL);
        }
        if count > 0 {
            copy_from_user(c.controls as *const u8, count * std::mem::size_of::<v4l2_ext_control>())?;
        }
        let arr: &mut [v4l2_ext_control] = if count == 0 { &mut [] } else { unsafe { std::slice::from_raw_parts_mut(c.controls, count) } };
        let is_req = which == V4L2_CTRL_WHICH_REQUEST_VAL;
        let mut st = self.lock();
        let rid = if is_req {
            match st.files.get(&c.request_fd) {
                Some(FileKind::Request(r)) => Some(*r),
                _ => {
                    c.error_idx = count as u32;
                    return Err(libc::EINVAL);
                }
            }
        } else {
            None
        };
        // validate ids and sizes first (error_idx = count for S/TRY
        // validation errors that happen before anything is applied)
        let mut vals = Vec::with_capacity(count);
        for (i, x) in arr.iter_mut().enumerate() {
            let vidx = if req == VIDIOC_TRY_EXT_CTRLS { i as u32 } else { count as u32 };
            let Some(d) = defs.iter().find(|d| d.id == x.id) else {
                c.error_idx = vidx;
                return Err(libc::EINVAL);
            };
            if matches!(d.kind, Kind::Class) {
                c.error_idx = vidx;
                return Err(libc::EACCES);
            }
            // legacy ctrl_class must match the control's class
            if which != 0 && which < V4L2_CTRL_WHICH_DEF_VAL && (x.id & 0x0fff_0000) != which {
                c.error_idx = vidx;
                return Err(libc::EINVAL);
            }
            if let Kind::Compound { size, .. } = d.kind {
                if (x.size as usize) < size {
                    x.size = size as u32;
                    c.error_idx = i as u32;
                    return Err(libc::ENOSPC);
                }
                if req != VIDIOC_G_EXT_CTRLS {
                    let ptr = unsafe { x.__bindgen_anon_1.ptr } as *const u8;
                    let data = copy_from_user(ptr, size)?;
                    if let Err(e) = ctrls::validate(p, x.id, &data) {
                        self.log(&format!("S/TRY_EXT_CTRLS: {e} -> EINVAL"));
                        c.error_idx = i as u32;
                        return Err(libc::EINVAL);
                    }
                    vals.push((x.id, data));
                }
            } else if let Kind::Menu { min, max, skip, .. } = d.kind {
                if req != VIDIOC_G_EXT_CTRLS {
                    let v = unsafe { x.__bindgen_anon_1.value } as i64;
                    if v < min || v > max {
                        c.error_idx = i as u32;
                        return Err(libc::ERANGE);
                    }
                    if skip & (1 << v.clamp(0, 63)) != 0 {
                        c.error_idx = i as u32;
                        return Err(libc::EINVAL);
                    }
                    vals.push((x.id, (v as i32).to_ne_bytes().to_vec()));
                }
            }
        }
        match req {
            VIDIOC_G_EXT_CTRLS => {
                let src = if let Some(rid) = rid {
                    let r = &st.reqs[&rid];
                    if r.state != ReqState::Complete {
                        return Err(libc::EACCES);
                    }
                    r.done_ctrls.clone()
                } else if which == V4L2_CTRL_WHICH_DEF_VAL {
                    ctrls::defaults(p)
                } else {
                    st.ctxs[&id].ctrls.clone()
                };
                let dflt = ctrls::defaults(p);
                for x in arr.iter_mut() {
                    let v = src.get(x.id).or(dflt.get(x.id)).unwrap_or(&[]);
                    let d = defs.iter().find(|d| d.id == x.id).unwrap();
                    match d.kind {
                        Kind::Class => {}
                        Kind::Menu { .. } => x.__bindgen_anon_1.value = i32::from_ne_bytes([v[0], v[1], v[2], v[3]]),
                        Kind::Compound { size, .. } => {
                            copy_to_user(unsafe { x.__bindgen_anon_1.ptr } as *mut u8, &v[..size.min(v.len())])?
                        }
                    }
                }
                Ok(0)
            }
            VIDIOC_TRY_EXT_CTRLS => {
                if which == V4L2_CTRL_WHICH_DEF_VAL {
                    return Err(libc::EINVAL);
                }
                Ok(0)
            }
            _ => {
                if which == V4L2_CTRL_WHICH_DEF_VAL {
                    return Err(libc::EINVAL);
                }
                if let Some(rid) = rid {
                    let r = st.reqs.get_mut(&rid).unwrap();
                    if r.state != ReqState::Idle {
                        return Err(libc::EBUSY);
                    }
                    if r.ctx.is_some() && r.ctx != Some(id) {
                        return Err(libc::EBUSY);
                    }
                    r.ctx = Some(id);
                    for (k, v) in vals {
                        r.ctrls.set(k, v);
                    }
                } else {
                    let cx = st.ctxs.get_mut(&id).unwrap();
                    for (k, v) in vals {
                        cx.ctrls.set(k, v);
                    }
                }
                Ok(0)
            }
        }
    }

    /// Test/diagnostic API: number of pictures decoded by the context of `fd`.
    pub fn pictures_decoded(&self, fd: c_int) -> u64 {
        let st = self.lock();
        match st.files.get(&fd) {
            Some(FileKind::Video(id)) => st.ctxs[id].engine.lock().map(|e| e.pictures).unwrap_or(0),
            _ => 0,
        }
    }
}

/// struct drm_version (drm.h), for DRM_IOCTL_VERSION on the fake render
/// node: ffmpeg's VAAPI device probing requires it to succeed, and libva
/// (without LIBVA_DRIVER_NAME) loads `<name>_drv_video.so` from its `name`:
/// `HANTRO_SIM_DRM_NAME` (read once) impersonates a board's kernel driver,
/// e.g. `panfrost`; default `hantro-sim`.
#[repr(C)]
struct DrmVersion {
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

fn drm_version(arg: *mut c_void) -> R<c_int> {
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

fn known_ioctl(k: FileKind, req: u64) -> bool {
    match k {
        FileKind::Media => matches!(req, MEDIA_IOC_DEVICE_INFO | MEDIA_IOC_G_TOPOLOGY | MEDIA_IOC_REQUEST_ALLOC | MEDIA_IOC_ENUM_ENTITIES | MEDIA_IOC_ENUM_LINKS),
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

fn default_out_fmt(_p: Personality) -> Fmt {
    Fmt { color: [0; 4], fourcc: PIX_FMT_H264_SLICE, width: 48, height: 48, bytesperline: 0, sizeimage: 48 * 48 * 3 / 2 + 1024 }
}

/// Decoded (CAPTURE) format for a coded size, as the drivers compute it.
fn cap_fmt_for(p: Personality, fourcc: u32, w: u32, h: u32) -> Fmt {
    let (_, _, sw, _, _, sh) = p.frmsize();
    match p {
        Personality::Cedrus => {
            let w = align(w as usize, 32) as u32;
            let h = align(h as usize, 32) as u32;
            let l = Layout::Nv12Tiled32 { stride: w as usize, height: h as usize };
            Fmt { color: [0; 4], fourcc, width: w, height: h, bytesperline: w, sizeimage: l.size() as u32 }
        }
        _ => {
            let w = align(w as usize, sw as usize) as u32;
            let h = align(h as usize, sh as usize) as u32;
            let mbs = w.div_ceil(16) * h.div_ceil(16);
            // + motion vector storage appended by the hardware
            let extra = if p == Personality::HantroG1 { 64 * mbs } else { 128 * mbs };
            Fmt { color: [0; 4], fourcc, width: w, height: h, bytesperline: w, sizeimage: w * h * 3 / 2 + extra }
        }
    }
}

fn layout_of(f: &Fmt) -> Layout {
    if f.fourcc == PIX_FMT_NV12_32L32 {
        Layout::Nv12Tiled32 { stride: f.bytesperline as usize, height: f.height as usize }
    } else {
        Layout::Nv12 { stride: f.bytesperline as usize, height: f.height as usize }
    }
}

fn write_fmt(p: Personality, f: &mut v4l2_format, m: &Fmt) {
    unsafe {
        if p.mplane() {
            let mp = &mut f.fmt.pix_mp;
            *mp = v4l2_pix_format_mplane::default();
            mp.width = m.width;
            mp.height = m.height;
            mp.pixelformat = m.fourcc;
            mp.field = v4l2_field_V4L2_FIELD_NONE;
            mp.num_planes = 1;
            mp.plane_fmt[0].sizeimage = m.sizeimage;
            mp.plane_fmt[0].bytesperline = m.bytesperline;
            mp.colorspace = m.color[0];
            mp.xfer_func = m.color[1] as u8;
            mp.__bindgen_anon_1.ycbcr_enc = m.color[2] as u8;
            mp.quantization = m.color[3] as u8;
        } else {
            let sp = &mut f.fmt.pix;
            *sp = v4l2_pix_format::default();
            sp.width = m.width;
            sp.height = m.height;
            sp.pixelformat = m.fourcc;
            sp.field = v4l2_field_V4L2_FIELD_NONE;
            sp.sizeimage = m.sizeimage;
            sp.bytesperline = m.bytesperline;
            sp.colorspace = m.color[0];
            sp.xfer_func = m.color[1];
            sp.__bindgen_anon_1.ycbcr_enc = m.color[2];
            sp.quantization = m.color[3];
        }
    }
}

fn read_color(p: Personality, f: &v4l2_format) -> [u32; 4] {
    unsafe {
        if p.mplane() {
            let mp = &f.fmt.pix_mp;
            [mp.colorspace, mp.xfer_func as u32, mp.__bindgen_anon_1.ycbcr_enc as u32, mp.quantization as u32]
        } else {
            let sp = &f.fmt.pix;
            [sp.colorspace, sp.xfer_func, sp.__bindgen_anon_1.ycbcr_enc, sp.quantization]
        }
    }
}

fn read_fmt(p: Personality, f: &v4l2_format) -> (u32, u32, u32, u32) {
    unsafe {
        if p.mplane() {
            let mp = &f.fmt.pix_mp;
            (mp.width, mp.height, mp.pixelformat, mp.plane_fmt[0].sizeimage)
        } else {
            let sp = &f.fmt.pix;
            (sp.width, sp.height, sp.pixelformat, sp.sizeimage)
        }
    }
}

fn fill_buf(p: Personality, b: &mut v4l2_buffer, buf: &Buf, dq: bool) -> R<()> {
    if p.mplane() {
        copy_from_user(unsafe { b.m.planes } as *const u8, std::mem::size_of::<v4l2_plane>())?;
    }
    b.flags = buf.flags | V4L2_BUF_FLAG_TIMESTAMP_COPY;
    match buf.state {
        BufState::Queued | BufState::Active => b.flags |= V4L2_BUF_FLAG_QUEUED,
        BufState::Done => b.flags |= V4L2_BUF_FLAG_DONE,
        BufState::InRequest => b.flags |= V4L2_BUF_FLAG_IN_REQUEST,
        BufState::Dequeued => {}
    }
    if dq {
        b.flags |= buf.done_flags;
        if buf.request.is_some() {
            b.flags |= V4L2_BUF_FLAG_REQUEST_FD;
            b.__bindgen_anon_1.request_fd = buf.request_fd;
        }
    }
    b.field = v4l2_field_V4L2_FIELD_NONE;
    b.timestamp.tv_sec = buf.ts_sec;
    b.timestamp.tv_usec = buf.ts_usec;
    b.sequence = buf.sequence;
    b.memory = v4l2_memory_V4L2_MEMORY_MMAP;
    let pl = &buf.planes[0];
    if p.mplane() {
        if b.length < 1 || unsafe { b.m.planes.is_null() } {
            return Err(libc::EINVAL);
        }
        let out = unsafe { &mut *b.m.planes };
        out.bytesused = buf.bytesused;
        out.length = pl.len as u32;
        out.m.mem_offset = pl.offset;
        out.data_offset = 0;
        b.length = 1;
    } else {
        b.bytesused = buf.bytesused;
        b.length = pl.len as u32;
        b.m.offset = pl.offset;
    }
    Ok(())
}

fn video_revents(c: &Ctx) -> i16 {
    let mut r = if c.events.is_empty() { 0 } else { libc::POLLPRI };
    let oq = c.out_q.streaming && c.out_q.queued_count() > 0;
    let cq = c.cap_q.streaming && c.cap_q.queued_count() > 0;
    if !oq && !cq {
        return r | libc::POLLERR;
    }
    if !c.out_q.done.is_empty() {
        r |= libc::POLLOUT | libc::POLLWRNORM;
    }
    if !c.cap_q.done.is_empty() {
        r |= libc::POLLIN | libc::POLLRDNORM;
    }
    r
}

/// Keeps the context's eventfd readable exactly while the video fd has
/// poll events, so that poll/select/epoll on it wake up.
fn sync_ready(st: &mut State, id: u32) {
    let Some(c) = st.ctxs.get_mut(&id) else { return };
    let ready = video_revents(c) != 0;
    if ready != c.ev_signalled {
        unsafe {
            if ready {
                let one: u64 = 1;
                libc::write(c.evfd, &one as *const u64 as *const c_void, 8);
            } else {
                let mut v: u64 = 0;
                let fl = libc::fcntl(c.evfd, libc::F_GETFL);
                libc::fcntl(c.evfd, libc::F_SETFL, fl | libc::O_NONBLOCK);
                libc::read(c.evfd, &mut v as *mut u64 as *mut c_void, 8);
                libc::fcntl(c.evfd, libc::F_SETFL, fl);
            }
        }
        c.ev_signalled = ready;
    }
}

fn signal_req(r: &Request) {
    // out-of-band byte: a real POLLPRI on the client's request fd
    let b = [1u8];
    unsafe { libc::send(r.peer, b.as_ptr() as *const c_void, 1, libc::MSG_OOB | libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL) };
}

fn release_request_buf(st: &mut State, r: &Request) {
    if let (Some(c), Some(b)) = (r.ctx, r.out_buf) {
        if let Some(c) = st.ctxs.get_mut(&c) {
            if let Some(bb) = c.out_q.bufs.get_mut(b as usize) {
                if bb.state == BufState::InRequest {
                    bb.state = BufState::Dequeued;
                    bb.request = None;
                }
            }
        }
    }
}

struct JobPlan {
    ctx: u32,
    out_idx: u32,
    rid: Option<u32>,
    ctrls: CtrlValues,
    data: Vec<u8>,
    out_ts: u64,
    hold: bool,
    flush: Option<(u32, usize, usize, Layout, usize, usize)>,
    dest: u32,
    dest_mem: (usize, usize),
    layout: Layout,
    w: usize,
    h: usize,
    cap_ts: Vec<(u32, u64)>,
    frame: u64,
    poison: Vec<String>,
    engine: Arc<Mutex<Engine>>,
}

fn pick_job(sim: &Sim, st: &mut State) -> Option<JobPlan> {
    let p = sim.persona();
    let ids: Vec<u32> = st.ctxs.keys().copied().collect();
    for id in ids {
        let c = st.ctxs.get(&id).unwrap();
        if c.busy || !c.out_q.streaming || !c.cap_q.streaming {
            continue;
        }
        let Some(&oi) = c.out_q.ready.front() else { continue };
        let ob = &c.out_q.bufs[oi as usize];
        let out_ts = ob.ts_ns();
        let held_same = c.held_cap.is_some_and(|h| c.cap_q.bufs[h as usize].ts_ns() == out_ts);
        if !held_same && c.cap_q.ready.is_empty() {
            continue;
        }
        let rid = ob.request;
        let frame = st.frames;
        st.frames += 1;
        let req_ctrls = rid.and_then(|r| st.reqs.get(&r)).map(|r| r.ctrls.clone()).unwrap_or_default();
        let mut poison = rid.and_then(|r| st.reqs.get(&r)).map(|r| r.poison.clone()).unwrap_or_default();
        let c = st.ctxs.get_mut(&id).unwrap();
        c.busy = true;
        c.out_q.ready.pop_front();
        c.ctrls.merge_from(&req_ctrls);
        let ob = &mut c.out_q.bufs[oi as usize];
        ob.state = BufState::Active;
        let data = unsafe { std::slice::from_raw_parts(ob.planes[0].ptr, ob.bytesused as usize) }.to_vec();
        let hold = ob.flags & V4L2_BUF_FLAG_M2M_HOLD_CAPTURE_BUF != 0;
        let (ts_sec, ts_usec) = (ob.ts_sec, ob.ts_usec);
        let layout = layout_of(&c.cap_fmt);
        let (w, h) = (c.cap_fmt.width as usize, c.cap_fmt.height as usize);
        let mut flush = None;
        let dest = if held_same {
            c.held_cap.unwrap()
        } else {
            if let Some(hc) = c.held_cap.take() {
                let hb = &c.cap_q.bufs[hc as usize];
                flush = Some((hc, hb.planes[0].ptr as usize, hb.planes[0].len, layout, w, h));
            }
            c.cap_q.ready.pop_front().unwrap()
        };
        let db = &mut c.cap_q.bufs[dest as usize];
        let old = if db.has_picture && !held_same { Some(db.ts_ns()) } else { None };
        db.state = BufState::Active;
        if !held_same {
            db.has_picture = false;
            db.ts_sec = ts_sec;
            db.ts_usec = ts_usec;
        }
        let dest_mem = (db.planes[0].ptr as usize, db.planes[0].len);
        let cap_ts: Vec<(u32, u64)> =
            c.cap_q.bufs.iter().enumerate().filter(|(i, b)| b.has_picture && *i as u32 != dest).map(|(i, b)| (i as u32, b.ts_ns())).collect();
        let ctrls = c.ctrls.clone();
        let engine = c.engine.clone();
        let _ = p;
        // Destination overwrites a picture that other queued requests of
        // this context still reference.
        if let Some(old_ts) = old {
            let others: Vec<u32> = c.out_q.ready.iter().filter_map(|&i| c.out_q.bufs[i as usize].request).collect();
            for r in others {
                if let Some(rq) = st.reqs.get_mut(&r) {
                    if let Some(dp) = rq.ctrls.get_struct::<v4l2_ctrl_h264_decode_params>(CID_H264_DECODE_PARAMS) {
                        if dp.dpb.iter().any(|e| e.flags & V4L2_H264_DPB_ENTRY_FLAG_ACTIVE != 0 && e.reference_ts == old_ts) {
                            rq.poison.push(format!(
                                "CAPTURE buffer {dest} (holding reference ts {old_ts}) was re-queued and overwritten by an earlier request while this pending request still references it"
                            ));
                        }
                    }
                }
            }
        }
        poison.dedup();
        return Some(JobPlan { ctx: id, out_idx: oi, rid, ctrls, data, out_ts, hold, flush, dest, dest_mem, layout, w, h, cap_ts, frame, poison, engine });
    }
    None
}

fn worker(me: std::sync::Weak<Sim>) {
    crate::preload::mark_internal_thread();
    loop {
        let Some(sim) = me.upgrade() else { return };
        let plan = {
            let mut st = sim.lock();
            loop {
                if let Some(p) = pick_job(&sim, &mut st) {
                    break Some(p);
                }
                let (g, to) = sim.cv.wait_timeout(st, Duration::from_millis(200)).unwrap_or_else(|e| e.into_inner());
                st = g;
                if to.timed_out() && Arc::strong_count(&sim) <= 1 {
                    break None;
                }
            }
        };
        let Some(plan) = plan else { return };
        if sim.cfg.decode_us > 0 {
            std::thread::sleep(Duration::from_micros(sim.cfg.decode_us));
        }
        run_job(&sim, plan);
    }
}

fn run_job(sim: &Arc<Sim>, plan: JobPlan) {
    let p = sim.persona();
    let mut flush_errs = Vec::new();
    let (errs, complete) = {
        let mut eng = plan.engine.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_hc, ptr, len, layout, w, h)) = plan.flush {
            let mem = unsafe { std::slice::from_raw_parts_mut(ptr as *mut u8, len) };
            let mut t = CaptureTarget { index: _hc, mem, layout, width: w, height: h };
            flush_errs = eng.finish(&mut t, sim.cfg.skip_pixels);
        }
        let mem = unsafe { std::slice::from_raw_parts_mut(plan.dest_mem.0 as *mut u8, plan.dest_mem.1) };
        let mut cap = CaptureTarget { index: plan.dest, mem, layout: plan.layout, width: plan.w, height: plan.h };
        let job = JobIn {
            ctrls: &plan.ctrls,
            data: &plan.data,
            out_ts: plan.out_ts,
            hold: plan.hold,
            cap_ts: plan.cap_ts.clone(),
            skip_pixels: sim.cfg.skip_pixels,
            frame_based: p.frame_based(),
            annexb: plan.ctrls.menu(CID_H264_START_CODE) == Some(1),
        };
        let r = eng.run(&job, &mut cap);
        for w in std::mem::take(&mut eng.warnings) {
            sim.log(&format!("note: job {}: {w}", plan.frame));
        }
        r
    };
    let mut errs: Vec<String> = plan.poison.iter().cloned().chain(errs).collect();
    if sim.cfg.error_frame == Some(plan.frame) {
        sim.fault(&format!("fired error-frame job={} output={} capture={} ts={}", plan.frame, plan.out_idx, plan.dest, plan.out_ts));
        errs.push(format!("fault injection: HANTRO_SIM_ERROR_FRAME={}", plan.frame));
    }
    let hang = sim.cfg.hang_frame == Some(plan.frame);
    for e in &errs {
        sim.log(&format!("job {} (OUTPUT {} ts {}, CAPTURE {}): {e}", plan.frame, plan.out_idx, plan.out_ts, plan.dest));
    }
    for e in &flush_errs {
        sim.log(&format!("job {} (held CAPTURE flush): {e}", plan.frame));
    }
    if hang {
        sim.fault(&format!("fired hang job={} output={} capture={} ts={} (the request never completes)", plan.frame, plan.out_idx, plan.dest, plan.out_ts));
    }
    let mut st = sim.lock();
    if hang {
        if let Some(c) = st.ctxs.get_mut(&plan.ctx) {
            c.hung = true;
        }
        return;
    }
    let done_ctrls = plan.ctrls.clone();
    if let Some(c) = st.ctxs.get_mut(&plan.ctx) {
        let err_flag = if errs.is_empty() { 0 } else { V4L2_BUF_FLAG_ERROR };
        if let Some((hc, ..)) = plan.flush {
            let mut fe = std::mem::take(&mut c.pic_errs);
            fe.extend(flush_errs);
            let hb = &mut c.cap_q.bufs[hc as usize];
            if hb.state == BufState::Active {
                hb.state = BufState::Done;
                hb.done_flags = if fe.is_empty() { 0 } else { V4L2_BUF_FLAG_ERROR };
                hb.has_picture = true;
                hb.bytesused = c.cap_fmt.sizeimage;
                hb.sequence = c.cap_q.sequence;
                c.cap_q.sequence += 1;
                c.cap_q.done.push_back(hc);
            }
        }
        let streaming_out = c.out_q.streaming;
        let ob = &mut c.out_q.bufs[plan.out_idx as usize];
        if ob.state == BufState::Active {
            if streaming_out {
                ob.state = BufState::Done;
                ob.done_flags = err_flag;
                ob.sequence = c.out_q.sequence;
                c.out_q.sequence += 1;
                c.out_q.done.push_back(plan.out_idx);
            } else {
                ob.state = BufState::Dequeued;
            }
        }
        c.pic_errs.extend(errs.iter().cloned());
        let db = &mut c.cap_q.bufs[plan.dest as usize];
        if complete {
            let pic_errs = std::mem::take(&mut c.pic_errs);
            if db.state == BufState::Active {
                if c.cap_q.streaming {
                    db.state = BufState::Done;
                    db.done_flags = if pic_errs.is_empty() { 0 } else { V4L2_BUF_FLAG_ERROR };
                    db.has_picture = true;
                    db.bytesused = c.cap_fmt.sizeimage;
                    db.sequence = c.cap_q.sequence;
                    c.cap_q.sequence += 1;
                    c.cap_q.done.push_back(plan.dest);
                } else {
                    db.state = BufState::Dequeued;
                }
            }
            c.held_cap = None;
        } else {
            c.held_cap = Some(plan.dest);
        }
        c.busy = false;
    }
    if let Some(rid) = plan.rid {
        if let Some(r) = st.reqs.get_mut(&rid) {
            r.done_ctrls = done_ctrls;
            r.state = ReqState::Complete;
            signal_req(r);
            if r.fd.is_none() {
                let r = st.reqs.remove(&rid).unwrap();
                unsafe { libc::close(r.peer) };
            }
        }
    }
    sync_ready(&mut st, plan.ctx);
    drop(st);
    sim.cv.notify_all();
}
