//! The whole chain: ffmpeg -hwaccel vaapi -> libva (DRM display on the
//! emulated render node) -> hantro_drv_video -> libhantro_sim.so. Frames must
//! be bit-exact with software decoding and the checker must not flag any
//! control. Skipped when the driver or the simulator library has not been
//! built (CI builds both; locally: cargo build -p hantro_drv_video -p hantro_sim)
//! or ffmpeg is missing.
use std::path::PathBuf;
use std::process::Command;

fn lib(env: &str, name: &str) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(env) {
        return Some(PathBuf::from(p));
    }
    let exe = std::env::current_exe().ok()?;
    let p = exe.parent()?.parent()?.join(name);
    p.exists().then_some(p)
}

fn md5s(args: &[&str], env: &[(&str, &str)]) -> (Vec<String>, String) {
    let mut c = Command::new("ffmpeg");
    c.args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    let o = c.output().unwrap();
    let out = String::from_utf8_lossy(&o.stdout).lines().filter(|l| !l.starts_with('#')).map(|l| l.rsplit(',').next().unwrap().trim().to_string()).collect();
    (out, String::from_utf8_lossy(&o.stderr).to_string())
}

#[test]
fn ffmpeg_vaapi_through_driver_and_simulator() {
    let (Some(drv), Some(sim)) = (lib("HANTRO_DRIVER_SO", "libhantro_drv_video.so"), lib("HANTRO_SIM_SO", "libhantro_sim.so")) else {
        panic!("driver or simulator library not built (scripts/test-all.sh builds both)");
    };
    if !Command::new("ffmpeg").arg("-version").output().map(|o| o.status.success()).unwrap_or(false) {
        panic!("ffmpeg missing (scripts/setup-host.sh installs it)");
    }
    let dir = std::env::temp_dir().join(format!("hantro-sim-va-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let link = dir.join("hantro_drv_video.so");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(&drv, &link).unwrap();
    let stream = dir.join("in.h264");
    let st = Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x240:rate=25",
            "-frames:v",
            "20",
            "-c:v",
            "libx264",
            "-bf",
            "2",
            "-x264-params",
            "slices=2:weightp=2",
        ])
        .arg(&stream)
        .status()
        .unwrap();
    assert!(st.success());
    let s = stream.to_str().unwrap();
    let (want, _) = md5s(&["-v", "error", "-i", s, "-f", "framemd5", "-"], &[]);
    assert_eq!(want.len(), 20);
    for p in ["hantro-g1", "rkvdec", "cedrus"] {
        let env = [
            ("LD_PRELOAD", sim.to_str().unwrap()),
            ("LIBVA_DRIVER_NAME", "hantro"),
            ("LIBVA_DRIVERS_PATH", dir.to_str().unwrap()),
            ("HANTRO_SIM_PERSONALITY", p),
        ];
        let (got, err) = md5s(
            &[
                "-v",
                "error",
                "-hwaccel",
                "vaapi",
                "-hwaccel_device",
                "/dev/dri/renderD128",
                "-hwaccel_output_format",
                "vaapi",
                "-i",
                s,
                "-vf",
                "hwdownload,format=nv12",
                "-pix_fmt",
                "yuv420p",
                "-f",
                "framemd5",
                "-",
            ],
            &env,
        );
        let complaints: Vec<&str> = err.lines().filter(|l| l.starts_with("hantro-sim: job")).collect();
        assert!(complaints.is_empty(), "{p}: checker flagged the driver's controls:\n{}", complaints.join("\n"));
        assert_eq!(got, want, "{p}: VA-API frames differ from software decoding\n{err}");
    }
}
