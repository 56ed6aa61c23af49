//! Validation of the checker against another client: GStreamer's
//! v4l2slh264dec (gst-plugins-bad 1.22) decodes x264 streams on every
//! personality through scripts/sim-gst.sh; the frames must be bit-exact and
//! the simulator must not report any control as wrong. Skipped when not
//! root (mount namespace), or when GStreamer's v4l2codecs or ffmpeg are
//! missing.
use std::path::PathBuf;
use std::process::Command;

fn have(cmd: &str, args: &[&str]) -> bool {
    Command::new(cmd).args(args).output().map(|o| o.status.success()).unwrap_or(false)
}

#[test]
fn gstreamer_v4l2slh264dec_through_simulator() {
    if unsafe { libc::geteuid() } != 0 || !have("unshare", &["-m", "true"]) {
        panic!("needs root and mount namespaces (unshare -m) for the fake udev of scripts/sim-gst.sh");
    }
    if !have("gst-inspect-1.0", &["v4l2codecs"]) || !have("ffmpeg", &["-version"]) {
        panic!("GStreamer v4l2codecs or ffmpeg missing (scripts/setup-host.sh installs them)");
    }
    let exe = std::env::current_exe().unwrap();
    let lib = std::env::var_os("HANTRO_SIM_SO").map(PathBuf::from).unwrap_or_else(|| exe.parent().unwrap().parent().unwrap().join("libhantro_sim.so"));
    if !lib.exists() {
        panic!("{} not built (scripts/test-all.sh builds it)", lib.display());
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = std::env::temp_dir().join(format!("hantro-sim-gst-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cqm = root.join("tests/sim/custom.cqm");
    let streams: Vec<(&str, Vec<String>)> = vec![
        ("bpyr", vec!["-bf".into(), "3".into(), "-refs".into(), "4".into(), "-x264-params".into(), "slices=3:b-pyramid=normal:weightp=2".into()]),
        ("base", vec!["-profile:v".into(), "baseline".into(), "-x264-params".into(), "slices=2".into()]),
        ("cqm", vec!["-bf".into(), "2".into(), "-x264-params".into(), format!("cqmfile={}:keyint=12", cqm.display())]),
    ];
    for (name, extra) in streams {
        let f = dir.join(format!("{name}.h264"));
        let st = Command::new("ffmpeg")
            .args(["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-frames:v", "30", "-c:v", "libx264"])
            .args(&extra)
            .arg(&f)
            .status()
            .unwrap();
        assert!(st.success());
        for p in ["hantro-g1", "rkvdec", "cedrus"] {
            let o = Command::new(root.join("scripts/sim-gst.sh")).arg(&f).arg(p).env("HANTRO_SIM_LIB", &lib).output().unwrap();
            let out = String::from_utf8_lossy(&o.stdout);
            let err = String::from_utf8_lossy(&o.stderr);
            assert!(o.status.success() && out.contains("bit-exact"), "{name} on {p}:\n{out}\n{err}");
            let complaints: Vec<&str> = err.lines().filter(|l| l.starts_with("hantro-sim: job")).collect();
            assert!(complaints.is_empty(), "{name} on {p}: checker flagged GStreamer's controls:\n{}", complaints.join("\n"));
        }
    }
}
