//! Firefox's RDD sandbox refuses the media-controller ioctls. With the
//! simulator refusing every MEDIA_IOC_* with EPERM (HANTRO_SIM_FAIL_IOCTL
//! for each call), vaInitialize must fail with a status, leave nothing
//! open, and log a line that tells the user about MOZ_DISABLE_RDD_SANDBOX=1.
//! A second case refuses only MEDIA_IOC_REQUEST_ALLOC (discovery works,
//! sessions cannot start): the VA calls that start a session fail cleanly.
mod common;
use common::{resources, run_child_ok, status_name, va, Va, OK};

fn refuse_all(names: &[&str], calls: usize) -> String {
    let mut v = Vec::new();
    for n in names {
        for k in 1..=calls {
            v.push(format!("{n}:{k}:1")); // errno 1 = EPERM
        }
    }
    v.join(",")
}

#[test]
fn media_controller_refused() {
    let fail = refuse_all(&["MEDIA_IOC_DEVICE_INFO", "MEDIA_IOC_G_TOPOLOGY", "MEDIA_IOC_ENUM_ENTITIES", "MEDIA_IOC_ENUM_LINKS", "MEDIA_IOC_REQUEST_ALLOC"], 64);
    let (out, err) = run_child_ok("child_media_controller_refused", &[("HANTRO_SIM_FAIL_IOCTL", &fail), ("HANTRO_LOG", "error")]);
    assert!(out.contains("sandbox: init status UNKNOWN"), "{out}");
    let line = err.lines().find(|l| l.contains("MOZ_DISABLE_RDD_SANDBOX=1")).unwrap_or_else(|| panic!("no log line naming MOZ_DISABLE_RDD_SANDBOX=1:\n{err}"));
    assert!(line.contains("ERROR") && line.contains("/dev/media0") && line.contains("refused"), "{line}");
    eprintln!("log line: {line}");
}

#[test]
fn child_media_controller_refused() {
    if !common::child("child_media_controller_refused") {
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
fn request_alloc_refused() {
    let fail = refuse_all(&["MEDIA_IOC_REQUEST_ALLOC"], 64);
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
