//! Firefox's RDD sandbox, with the errno values it really gives (see the
//! Firefox source quoted above `path_refused` in src/v4l2/discovery.rs):
//!
//! * open() of /dev/media* and opendir("/dev") go through its file broker,
//!   which answers EACCES for paths outside the RDD policy;
//! * a media-controller ioctl (type '|') hits its seccomp filter, whose
//!   trap answers ENOSYS.
//!
//! vaInitialize must then fail with a status, leave nothing open, and log a
//! line naming MOZ_DISABLE_RDD_SANDBOX=1. The open/listing refusals and one
//! ioctl case are made by a real seccomp filter installed in the child (the
//! driver's syscalls reach the kernel, which refuses them); the simulator
//! case refuses every MEDIA_IOC_* of an emulated decoder with ENOSYS
//! (HANTRO_SIM_FAIL_IOCTL). Errno values Firefox does not use (EPERM,
//! ENOTTY) must not be reported as a sandbox. A last case refuses only
//! MEDIA_IOC_REQUEST_ALLOC with ENOSYS (discovery works, sessions cannot
//! start): the VA calls that start a session fail cleanly.
mod common;
use common::{resources, run_child_ok, status_name, va, Va, OK};
use std::process::Command;

const SANDBOX_HINT: &str = "MOZ_DISABLE_RDD_SANDBOX=1";

fn refuse_all(names: &[&str], calls: usize, errno: i32) -> String {
    let mut v = Vec::new();
    for n in names {
        for k in 1..=calls {
            v.push(format!("{n}:{k}:{errno}"));
        }
    }
    v.join(",")
}

const MEDIA_IOCTLS: [&str; 5] = ["MEDIA_IOC_DEVICE_INFO", "MEDIA_IOC_G_TOPOLOGY", "MEDIA_IOC_ENUM_ENTITIES", "MEDIA_IOC_ENUM_LINKS", "MEDIA_IOC_REQUEST_ALLOC"];

/// The one log line naming MOZ_DISABLE_RDD_SANDBOX=1; it must be an error
/// and name `path` and `what` (the refused call and its errno text).
fn hint_line<'a>(err: &'a str, path: &str, what: &str) -> &'a str {
    let line = err.lines().find(|l| l.contains(SANDBOX_HINT)).unwrap_or_else(|| panic!("no log line naming {SANDBOX_HINT}:\n{err}"));
    assert!(line.contains("ERROR") && line.contains(path) && line.contains("refused") && line.contains(what), "expected {path} and {what:?} in: {line}");
    line
}

// ---- through the simulator ----

#[test]
fn media_ioctls_enosys_as_in_rdd_seccomp() {
    let fail = refuse_all(&MEDIA_IOCTLS, 64, libc::ENOSYS);
    let (out, err) = run_child_ok("child_init_fails", &[("HANTRO_SIM_FAIL_IOCTL", &fail), ("HANTRO_LOG", "error")]);
    assert!(out.contains("sandbox: init status UNKNOWN"), "{out}");
    let line = hint_line(&err, "/dev/media0", "MEDIA_IOC_DEVICE_INFO failed: Function not implemented");
    eprintln!("log line: {line}");
}

#[test]
fn media_ioctls_eperm_is_not_a_sandbox() {
    // Firefox never answers a media ioctl with EPERM: an ordinary failure,
    // reported with the node and its reason, and no sandbox hint.
    let fail = refuse_all(&MEDIA_IOCTLS, 64, libc::EPERM);
    let (out, err) = run_child_ok("child_init_fails", &[("HANTRO_SIM_FAIL_IOCTL", &fail), ("HANTRO_LOG", "error")]);
    assert!(out.contains("sandbox: init status UNKNOWN"), "{out}");
    assert!(!err.contains(SANDBOX_HINT), "EPERM reported as Firefox's sandbox:\n{err}");
    let line = err.lines().find(|l| l.contains("no V4L2 stateless decoder found")).unwrap_or_else(|| panic!("no 'not found' line:\n{err}"));
    assert!(line.contains("/dev/media0") && line.contains("MEDIA_IOC_DEVICE_INFO failed: Operation not permitted"), "{line}");
    eprintln!("log line: {line}");
}

#[test]
fn child_init_fails() {
    if !common::child("child_init_fails") {
        return;
    }
    let before = resources();
    let v = Va::init();
    let after = resources();
    println!("sandbox: init status {}", status_name(v.init_status));
    assert_ne!(v.init_status, OK);
    assert!(v.ctx.pDriverData.is_null(), "no driver data after a failed init");
    assert_eq!(before.fds, after.fds, "failed vaInitialize left fds open");
}

#[test]
fn request_alloc_enosys() {
    let fail = refuse_all(&["MEDIA_IOC_REQUEST_ALLOC"], 64, libc::ENOSYS);
    let (out, _) = run_child_ok("child_request_alloc_refused", &[("HANTRO_SIM_FAIL_IOCTL", &fail), ("HANTRO_LOG", "error")]);
    assert!(out.contains("request alloc refused: ok"), "{out}");
}

#[test]
fn child_request_alloc_refused() {
    if !common::child("child_request_alloc_refused") {
        return;
    }
    let v = Va::init_ok();
    let before = resources();
    let cfg = v.config();
    let (s, _) = v.create_surfaces(320, 240, 4);
    println!("vaCreateSurfaces2 with MEDIA_IOC_REQUEST_ALLOC refused: {}", status_name(s));
    assert_eq!(s as u32, va::VA_STATUS_ERROR_OPERATION_FAILED);
    let (s, _) = v.create_context(cfg, 320, 240, &mut []);
    println!("vaCreateContext with MEDIA_IOC_REQUEST_ALLOC refused: {}", status_name(s));
    assert_eq!(s as u32, va::VA_STATUS_ERROR_OPERATION_FAILED);
    assert_eq!(vcall!(v, vaDestroyConfig, cfg), OK);
    let after = resources();
    assert_eq!(before.fds, after.fds, "fds left by the failed session starts");
    assert_eq!(v.terminate(), OK);
    println!("request alloc refused: ok");
}

// ---- real syscalls refused by a seccomp filter in the child ----

/// What the child's filter refuses (HANTRO_TEST_SECCOMP).
#[derive(Clone, Copy, Debug)]
enum Refuse {
    /// open/openat O_RDWR|O_NONBLOCK (the driver's open of a media node;
    /// the broker's answer for /dev/media*): EACCES.
    MediaOpen,
    /// open/openat with O_DIRECTORY (opendir("/dev") without
    /// MOZ_ENABLE_V4L2): EACCES.
    ListDir,
    /// ioctl of type '|': ENOSYS (the seccomp trap's answer).
    MediaIoctl,
    /// ioctl of type '|': EPERM (not Firefox's value).
    MediaIoctlEperm,
    /// No filter.
    Nothing,
}

impl Refuse {
    fn parse(s: &str) -> Refuse {
        match s {
            "MediaOpen" => Refuse::MediaOpen,
            "ListDir" => Refuse::ListDir,
            "MediaIoctl" => Refuse::MediaIoctl,
            "MediaIoctlEperm" => Refuse::MediaIoctlEperm,
            "Nothing" => Refuse::Nothing,
            _ => panic!("HANTRO_TEST_SECCOMP={s}?"),
        }
    }
}

#[cfg(target_arch = "x86_64")]
const AUDIT_ARCH: u32 = 0xc000_003e; // AUDIT_ARCH_X86_64
#[cfg(target_arch = "aarch64")]
const AUDIT_ARCH: u32 = 0xc000_00b7; // AUDIT_ARCH_AARCH64

fn stmt(code: u32, k: u32) -> libc::sock_filter {
    libc::sock_filter { code: code as u16, jt: 0, jf: 0, k }
}
fn jeq(k: u32, jt: u8, jf: u8) -> libc::sock_filter {
    libc::sock_filter { code: (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16, jt, jf, k }
}

/// seccomp-BPF: for each (syscall, argument, mask, value, errno) rule,
/// `syscall(...)` with `arg & mask == value` fails with errno; everything
/// else is allowed.
fn install_filter(rules: &[(libc::c_long, usize, u32, u32, i32)]) {
    const NR: u32 = 0; // offsetof(struct seccomp_data, nr)
    const ARCH: u32 = 4;
    let arg_lo = |i: usize| 16 + 8 * i as u32; // low word (little-endian)
    let ld = libc::BPF_LD | libc::BPF_W | libc::BPF_ABS;
    let mut p = vec![stmt(ld, ARCH), jeq(AUDIT_ARCH, 1, 0), stmt(libc::BPF_RET | libc::BPF_K, libc::SECCOMP_RET_ALLOW)];
    for &(nr, arg, mask, value, errno) in rules {
        p.push(stmt(ld, NR));
        p.push(jeq(nr as u32, 0, 4));
        p.push(stmt(ld, arg_lo(arg)));
        p.push(stmt(libc::BPF_ALU | libc::BPF_AND | libc::BPF_K, mask));
        p.push(jeq(value, 0, 1));
        p.push(stmt(libc::BPF_RET | libc::BPF_K, libc::SECCOMP_RET_ERRNO | errno as u32));
    }
    p.push(stmt(libc::BPF_RET | libc::BPF_K, libc::SECCOMP_RET_ALLOW));
    let prog = libc::sock_fprog { len: p.len() as u16, filter: p.as_mut_ptr() };
    // SAFETY: prctl/seccomp with a valid program that outlives the call.
    unsafe {
        assert_eq!(libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0, "PR_SET_NO_NEW_PRIVS");
        let r = libc::syscall(libc::SYS_seccomp, libc::SECCOMP_SET_MODE_FILTER, libc::SECCOMP_FILTER_FLAG_TSYNC, &prog as *const libc::sock_fprog);
        assert_eq!(r, 0, "seccomp: {}", std::io::Error::last_os_error());
    }
}

fn filter_for(what: Refuse) {
    let accmode_nonblock = (libc::O_ACCMODE | libc::O_NONBLOCK) as u32;
    let rdwr_nonblock = (libc::O_RDWR | libc::O_NONBLOCK) as u32;
    let dir = libc::O_DIRECTORY as u32;
    let ioctl_type = 0xff << 8; // _IOC_TYPE on x86 and arm
    let media = (b'|' as u32) << 8;
    let mut rules = Vec::new();
    let mut open_rule = |mask, value, errno| {
        rules.push((libc::SYS_openat, 2, mask, value, errno));
        #[cfg(target_arch = "x86_64")]
        rules.push((libc::SYS_open, 1, mask, value, errno));
    };
    match what {
        Refuse::MediaOpen => open_rule(accmode_nonblock, rdwr_nonblock, libc::EACCES),
        Refuse::ListDir => open_rule(dir, dir, libc::EACCES),
        Refuse::MediaIoctl => rules.push((libc::SYS_ioctl, 1, ioctl_type, media, libc::ENOSYS)),
        Refuse::MediaIoctlEperm => rules.push((libc::SYS_ioctl, 1, ioctl_type, media, libc::EPERM)),
        Refuse::Nothing => return,
    }
    install_filter(&rules);
}

/// Open fds, without listing /proc/self/fd (a filter may refuse opendir).
fn open_fds() -> usize {
    // SAFETY: F_GETFD only queries the descriptor table.
    (0..4096).filter(|&fd| unsafe { libc::fcntl(fd, libc::F_GETFD) } >= 0).count()
}

/// Runs child_seccomp_init with the filter `what`, without the simulator;
/// returns (stdout, stderr) of a passing child.
fn run_seccomp_child(what: Refuse, env: &[(&str, &str)]) -> (String, String) {
    let mut c = Command::new(std::env::current_exe().unwrap());
    c.args(["--exact", "child_seccomp_init", "--nocapture", "--test-threads=1"])
        .env_remove("LD_PRELOAD")
        .env_remove("HANTRO_MEDIA_DEVICE")
        .env_remove("HANTRO_VIDEO_DEVICE")
        .env("HANTRO_TEST_CHILD", "child_seccomp_init")
        .env("HANTRO_TEST_SECCOMP", format!("{what:?}"))
        .env("HANTRO_LOG", "error");
    for (k, v) in env {
        c.env(k, v);
    }
    let o = c.output().unwrap();
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "child ({what:?}) failed ({:?}):\n{out}\n{err}", o.status);
    assert!(out.contains("test result: ok. 1 passed") && out.contains("seccomp: init status UNKNOWN"), "{out}\n{err}");
    (out, err)
}

#[test]
fn media_open_eacces_as_in_rdd_broker() {
    // /dev/null opens fine without the filter: only the filter refuses it.
    let (_, err) = run_seccomp_child(Refuse::MediaOpen, &[("HANTRO_MEDIA_DEVICE", "/dev/null")]);
    let line = hint_line(&err, "/dev/null", "open failed: Permission denied");
    assert!(line.contains("check that this user may open /dev/null"), "{line}");
    eprintln!("log line: {line}");
}

#[test]
fn dev_listing_eacces_as_in_rdd_broker_without_v4l2() {
    let (_, err) = run_seccomp_child(Refuse::ListDir, &[]);
    let line = hint_line(&err, "/dev", "opendir failed: Permission denied");
    eprintln!("log line: {line}");
}

#[test]
fn media_ioctl_enosys_as_in_rdd_seccomp_real_syscall() {
    let (_, err) = run_seccomp_child(Refuse::MediaIoctl, &[("HANTRO_MEDIA_DEVICE", "/dev/null")]);
    let line = hint_line(&err, "/dev/null", "MEDIA_IOC_DEVICE_INFO failed: Function not implemented");
    eprintln!("log line: {line}");
}

#[test]
fn media_ioctl_eperm_or_enotty_is_not_a_sandbox() {
    // EPERM from a filter, and without one the kernel's ENOTTY (/dev/null
    // is no media node): Firefox gives '|' ioctls neither.
    for (what, text) in [(Refuse::MediaIoctlEperm, "Operation not permitted"), (Refuse::Nothing, "Inappropriate ioctl for device")] {
        let (_, err) = run_seccomp_child(what, &[("HANTRO_MEDIA_DEVICE", "/dev/null")]);
        assert!(!err.contains(SANDBOX_HINT), "{what:?} reported as Firefox's sandbox:\n{err}");
        let line = err.lines().find(|l| l.contains("no V4L2 stateless decoder found")).unwrap_or_else(|| panic!("no 'not found' line:\n{err}"));
        assert!(line.contains(&format!("/dev/null: MEDIA_IOC_DEVICE_INFO failed: {text}")), "{line}");
        eprintln!("log line ({what:?}): {line}");
    }
}

#[test]
fn child_seccomp_init() {
    if !common::child("child_seccomp_init") {
        return;
    }
    let what = Refuse::parse(&std::env::var("HANTRO_TEST_SECCOMP").unwrap());
    let before = open_fds();
    filter_for(what);
    let v = Va::init();
    let after = open_fds();
    println!("seccomp: init status {}", status_name(v.init_status));
    assert_ne!(v.init_status, OK);
    assert!(v.ctx.pDriverData.is_null(), "no driver data after a failed init");
    assert_eq!(before, after, "failed vaInitialize left fds open");
}
