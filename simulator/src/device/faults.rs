//! Fault injection: HANTRO_SIM_FAIL_IOCTL rules (parse, count, fire) and
//! the fault report; the ioctl name table they (and the trace) use.
use super::*;

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

pub(super) fn errno_by_name(n: &str) -> Option<c_int> {
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
        FailRule {
            spec: format!("{}:{k}:{errno}", ioctl_name(req)),
            req,
            output: None,
            request_ctrls: false,
            done: false,
            after_requests: 0,
            k,
            from_k: false,
            errno,
        }
    }
}

/// Offset of the buffer type (u32) in the argument of a queue ioctl.
pub(super) fn queue_type_offset(req: u64) -> Option<usize> {
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
pub(super) fn peek_u32(arg: *mut c_void, offset: usize) -> Option<u32> {
    if arg.is_null() {
        return None;
    }
    let b = copy_from_user((arg as *const u8).wrapping_add(offset), 4).ok()?;
    Some(u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
}

impl Sim {
    /// A fault-injection event: in HANTRO_SIM_LOG (and on stderr unless
    /// quiet) and, one line each, in HANTRO_SIM_FAULT_LOG (opened per line,
    /// so the client's fd table never shows it).
    pub(super) fn fault(&self, line: &str) {
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
    pub(super) fn inject(&self, fd: c_int, kind: FileKind, req: u64, arg: *mut c_void) -> Option<Errno> {
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
        let request_ctrls =
            matches!(req, VIDIOC_S_EXT_CTRLS | VIDIOC_G_EXT_CTRLS | VIDIOC_TRY_EXT_CTRLS) && peek_u32(arg, 0) == Some(V4L2_CTRL_WHICH_REQUEST_VAL);
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
}
