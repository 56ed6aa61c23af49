//! HEVC pixel plane on this host: `ffmpeg -hwaccel vaapi` decodes the whole
//! HEVC corpus (scripts/corpus-hevc.sh, generated at test time into
//! $HANTRO_CACHE/corpus-hevc) through hantro_drv_video on the simulator
//! (LD_PRELOAD) as rkvdec (frame-based, Annex-B) and cedrus (slice-based,
//! no start codes, tiled CAPTURE), the two simulated HEVC devices. Every
//! frame must equal libavcodec's single-threaded software decode, the
//! simulator's checker (its own slice-header parse and POC/DPB model; it
//! rebuilds VPS/SPS/PPS and each slice's RPS from the controls) must flag
//! nothing, and the device must have decoded every picture (the driver
//! logs one line per picture at target `hantro_drv_video::decoded`). A
//! test-hooks driver that translates one field wrongly must be caught.
//! GStreamer's `v4l2slh265dec` on the same simulated devices must be
//! accepted by the checker and decode bit-exact too (the checker agrees
//! with GStreamer's reading of the uAPI, not only with the driver's).
//!
//! Needs target/release/libhantro_drv_video.so, libhantro_sim.so and (for
//! the corruption test) target/hooks/release/libhantro_drv_video.so;
//! fails, never skips, without them.
use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::{built, md5_lines, repo, software_md5, stage};

const PERSONALITIES: [&str; 2] = ["rkvdec", "cedrus"];
const DRIVER_LOG: &str = "error,hantro_drv_video::decoded=info";
const DECODED: &str = "decoded a picture into CAPTURE buffer";

/// (dir, [(name, pictures, width, height)]) of the HEVC corpus.
fn corpus() -> (PathBuf, Vec<(String, usize, u32, u32)>) {
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/root"));
    let cache = std::env::var_os("HANTRO_CACHE").map(PathBuf::from).unwrap_or_else(|| home.join(".cache/hantro"));
    let dir = cache.join("corpus-hevc");
    std::fs::create_dir_all(&cache).unwrap();
    let o = Command::new("flock")
        .arg(cache.join("corpus-hevc.lock"))
        .arg("bash")
        .arg(repo().join("scripts/corpus-hevc.sh"))
        .arg(&dir)
        .output()
        .expect("run scripts/corpus-hevc.sh");
    assert!(o.status.success(), "scripts/corpus-hevc.sh failed: {}", String::from_utf8_lossy(&o.stderr));
    let manifest = std::fs::read_to_string(dir.join("manifest.tsv")).expect("manifest");
    let streams = manifest
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[0].to_string(), f[1].parse().unwrap(), f[2].parse().unwrap(), f[3].parse().unwrap())
        })
        .collect();
    (dir, streams)
}

struct Va<'a> {
    sim: &'a Path,
    drivers: &'a Path,
    personality: &'a str,
    log: PathBuf,
}

impl Va<'_> {
    fn ffmpeg(&self, file: &Path, env: &[(&str, &str)]) -> (bool, Vec<String>, String) {
        let _ = std::fs::remove_file(&self.log);
        let o = Command::new("ffmpeg")
            .env("LD_PRELOAD", self.sim)
            .env("LIBVA_DRIVER_NAME", "hantro")
            .env("LIBVA_DRIVERS_PATH", self.drivers)
            .env("HANTRO_SIM_PERSONALITY", self.personality)
            .env("HANTRO_SIM_LOG", &self.log)
            .env("HANTRO_SIM_QUIET", "1")
            .env("HANTRO_LOG", DRIVER_LOG)
            .envs(env.iter().copied())
            .args(["-v", "error", "-hwaccel", "vaapi", "-hwaccel_device", "/dev/dri/renderD128", "-hwaccel_output_format", "vaapi", "-i"])
            .arg(file)
            .args(["-vf", "hwdownload,format=nv12", "-pix_fmt", "yuv420p", "-f", "framemd5", "-"])
            .output()
            .unwrap();
        (o.status.success(), md5_lines(&String::from_utf8_lossy(&o.stdout)), String::from_utf8_lossy(&o.stderr).into_owned())
    }

    fn findings(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log).unwrap_or_default().lines().filter(|l| l.starts_with("job ")).map(String::from).collect()
    }
}

fn decoded(stderr: &str) -> usize {
    stderr.lines().filter(|l| l.contains(DECODED)).count()
}

fn without_decoded(stderr: &str) -> String {
    stderr.lines().filter(|l| !l.contains(DECODED)).collect::<Vec<_>>().join("\n")
}

#[test]
fn hevc_corpus_bit_exact_through_ffmpeg_on_rkvdec_and_cedrus() {
    let so = built("HANTRO_DRIVER_SO", "target/release/libhantro_drv_video.so");
    let sim = built("HANTRO_SIM_SO", "target/release/libhantro_sim.so");
    let drivers = stage("sim-hevc-driver", &so);
    let (dir, streams) = corpus();
    assert!(streams.len() >= 15, "HEVC corpus has {} streams", streams.len());
    let mut bad = Vec::new();
    let mut n = 0;
    for p in PERSONALITIES {
        let va = Va { sim: &sim, drivers: &drivers, personality: p, log: PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("sim-hevc-{p}.log")) };
        for (name, pictures, _, _) in &streams {
            let f = dir.join(format!("{name}.hevc"));
            let reference = software_md5(&f);
            assert_eq!(reference.len(), *pictures, "{name}: software decode shows {} of {pictures} pictures", reference.len());
            let (ok, got, err) = va.ffmpeg(&f, &[]);
            let findings = va.findings();
            let device = decoded(&err);
            if !ok || got != reference || !findings.is_empty() || device != *pictures {
                bad.push(format!(
                    "{p} {name}: ok={ok}, {} of {} frames equal, {device} of {pictures} pictures decoded by the device, checker: {findings:?}\n{}",
                    got.iter().zip(&reference).filter(|(a, b)| a == b).count(),
                    reference.len(),
                    without_decoded(&err)
                ));
            }
            n += 1;
        }
    }
    assert!(bad.is_empty(), "{} of {n} decodes wrong:\n{}", bad.len(), bad.join("\n"));
    eprintln!("{n} HEVC decodes ({} streams x 2 personalities) bit-exact, every picture decoded by the device, no control flagged", streams.len());
}

#[test]
fn hevc_wrong_poc_is_caught_by_the_simulator() {
    let so = built("HANTRO_DRIVER_HOOKS_SO", "target/hooks/release/libhantro_drv_video.so");
    let sim = built("HANTRO_SIM_SO", "target/release/libhantro_sim.so");
    let drivers = stage("sim-hevc-hooks", &so);
    let (dir, streams) = corpus();
    let pictures = streams.iter().find(|s| s.0 == "open_gop").expect("open_gop in the corpus").1;
    let f = dir.join("open_gop.hevc");
    let reference = software_md5(&f);
    for p in PERSONALITIES {
        let va = Va { sim: &sim, drivers: &drivers, personality: p, log: PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("sim-hevc-corrupt-{p}.log")) };
        let (ok, got, err) = va.ffmpeg(&f, &[]);
        assert!(
            ok && got == reference && va.findings().is_empty() && decoded(&err) == pictures,
            "{p}: hooks build without corruption must be clean: {err} {:?}",
            va.findings()
        );
        let (_, got, _) = va.ffmpeg(&f, &[("HANTRO_TEST_CORRUPT", "hevc_poc")]);
        let findings = va.findings();
        // the POC check names the field; the RPS the simulator recodes from
        // the shifted POC then breaks the reference structure as well
        assert!(findings.iter().any(|l| l.contains("decode_params.pic_order_cnt_val")), "{p}: checker must name decode_params.pic_order_cnt_val: {findings:?}");
        if p == "cedrus" {
            assert!(findings.iter().any(|l| l.contains("slice_pic_order_cnt")), "{p}: checker must name slice_params.slice_pic_order_cnt: {findings:?}");
        }
        assert_ne!(got, reference, "{p}: a wrong POC must not give the reference pixels");
    }
}

/// GStreamer's I420 rows are 4-byte aligned; repacked tightly for ffmpeg's
/// rawvideo reader.
fn gst_i420_tight(data: &[u8], w: usize, h: usize) -> Vec<u8> {
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    let (ys, cs) = (w.div_ceil(4) * 4, cw.div_ceil(4) * 4);
    let frame = ys * h + 2 * cs * ch;
    let mut out = Vec::new();
    for f in data.chunks_exact(frame) {
        for (off, stride, pw, ph) in [(0, ys, w, h), (ys * h, cs, cw, ch), (ys * h + cs * ch, cs, cw, ch)] {
            for r in 0..ph {
                out.extend_from_slice(&f[off + r * stride..off + r * stride + pw]);
            }
        }
    }
    out
}

/// GStreamer's own stateless element (`v4l2slh265dec`, the reference of
/// the real-kernel plane) on the simulator through scripts/sim-gst.sh:
/// the simulator's checker must accept GStreamer's controls for the whole
/// corpus and decode them bit-exact, so a checker that disagreed with
/// GStreamer's reading of the uAPI (data_byte_offset, entry points, the
/// DPB lists) would fail here rather than pass the driver's own view.
#[test]
fn hevc_corpus_from_gstreamer_v4l2slh265dec_is_accepted_by_the_simulator() {
    let sim = built("HANTRO_SIM_SO", "target/release/libhantro_sim.so");
    let (dir, streams) = corpus();
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let mut bad = Vec::new();
    let mut n = 0;
    for p in PERSONALITIES {
        for (name, _, w, h) in &streams {
            let f = dir.join(format!("{name}.hevc"));
            let reference = software_md5(&f);
            let (yuv, log) = (tmp.join(format!("gst-hevc-{p}-{name}.yuv")), tmp.join(format!("gst-hevc-{p}-{name}.sim.log")));
            let _ = std::fs::remove_file(&yuv);
            let _ = std::fs::remove_file(&log);
            let pipeline = format!(
                "gst-launch-1.0 -q filesrc location={} ! h265parse ! v4l2slh265dec ! videoconvert ! video/x-raw,format=I420 ! filesink location={}",
                f.display(),
                yuv.display()
            );
            let o = Command::new("bash")
                .arg(repo().join("scripts/sim-gst.sh"))
                .env("SIM_GST_CMD", &pipeline)
                .env("HANTRO_SIM_LIB", &sim)
                .env("HANTRO_SIM_PERSONALITY", p)
                .env("HANTRO_SIM_QUIET", "1")
                .env("HANTRO_SIM_LOG", &log)
                .output()
                .unwrap();
            assert!(log.exists(), "{}: the simulator wrote no log (scripts/sim-gst.sh)", log.display());
            let tight = tmp.join(format!("gst-hevc-{p}-{name}.tight.yuv"));
            std::fs::write(&tight, gst_i420_tight(&std::fs::read(&yuv).unwrap_or_default(), *w as usize, *h as usize)).unwrap();
            let md5 = Command::new("ffmpeg")
                .args(["-v", "error", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", &format!("{w}x{h}"), "-i"])
                .arg(&tight)
                .args(["-f", "framemd5", "-"])
                .env_remove("LD_PRELOAD")
                .output()
                .map(|o| md5_lines(&String::from_utf8_lossy(&o.stdout)))
                .unwrap_or_default();
            let findings: Vec<String> = std::fs::read_to_string(&log).unwrap_or_default().lines().filter(|l| l.starts_with("job ")).map(String::from).collect();
            if !o.status.success() || md5 != reference || !findings.is_empty() {
                bad.push(format!(
                    "{p} {name}: rc={:?}, {} of {} frames equal, checker: {findings:?}\n{}",
                    o.status.code(),
                    md5.iter().zip(&reference).filter(|(a, b)| a == b).count(),
                    reference.len(),
                    String::from_utf8_lossy(&o.stderr)
                ));
            }
            n += 1;
        }
    }
    assert!(bad.is_empty(), "{} of {n} GStreamer decodes wrong:\n{}", bad.len(), bad.join("\n"));
    eprintln!("{n} HEVC decodes by GStreamer v4l2slh265dec on the simulator: bit-exact, no control flagged");
}
