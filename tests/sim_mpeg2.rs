//! MPEG-2 pixel plane, end to end on this host: `ffmpeg -hwaccel vaapi`
//! decodes every stream of scripts/corpus-mpeg2.sh through
//! hantro_drv_video on the decoder simulator (LD_PRELOAD) as hantro G1 and
//! as cedrus. Every frame must equal libavcodec's software decode, the
//! simulator's checker must flag nothing (its log, HANTRO_SIM_LOG), and
//! the driver must have decoded as many pictures on the device as the
//! stream has frames (one `hantro_drv_video::decoded` line each on the
//! client's stderr: the hardware path was taken, no software fallback —
//! `hwdownload` fails without VA surfaces anyway).
//!
//! A test-hooks driver (`HANTRO_TEST_CORRUPT`) shows both halves of the
//! simulator's judgement: a wrong reference timestamp is named by the
//! checker's reference model, and a wrong picture coding extension flag
//! (which no slice can contradict) gives wrong pixels through the headers
//! the simulator rebuilds from the controls.
//!
//! The corpus includes a generated field-picture stream (I/P field pairs):
//! hantro G1 decodes the second field into the re-queued CAPTURE buffer of
//! the first, cedrus holds it (V4L2_BUF_FLAG_M2M_HOLD_CAPTURE_BUF).
//!
//! Needs target/release/libhantro_drv_video.so, libhantro_sim.so and, for
//! the corruption test, target/hooks/release/libhantro_drv_video.so; fails,
//! never skips, without them.
use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::{built, md5_lines, repo, software_md5, stage};

const PERSONALITIES: [&str; 2] = ["hantro-g1", "cedrus"];
const DRIVER_LOG: &str = "error,hantro_drv_video::decoded=info";
const DECODED: &str = "decoded a picture into CAPTURE buffer";

/// (dir, [(name, frames, coded pictures, width)]) of the MPEG-2 corpus.
fn corpus() -> (PathBuf, Vec<(String, usize, usize, u32)>) {
    let dir = std::env::var("HANTRO_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/hantro"))
        .join("corpus-mpeg2");
    let st = Command::new("bash").arg(repo().join("scripts/corpus-mpeg2.sh")).arg(&dir).status().expect("run scripts/corpus-mpeg2.sh");
    assert!(st.success(), "MPEG-2 corpus generation failed");
    let manifest = std::fs::read_to_string(dir.join("manifest.tsv")).expect("manifest");
    let streams = manifest
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[0].to_string(), f[1].parse().unwrap(), f[5].parse().unwrap(), f[2].parse().unwrap())
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

struct Run {
    ok: bool,
    md5: Vec<String>,
    stderr: String,
    findings: Vec<String>,
}

impl Run {
    fn decoded(&self) -> usize {
        self.stderr.lines().filter(|l| l.contains(DECODED)).count()
    }
    fn errors(&self) -> String {
        self.stderr.lines().filter(|l| !l.contains(DECODED)).collect::<Vec<_>>().join("\n")
    }
}

impl Va<'_> {
    fn ffmpeg(&self, file: &Path, corrupt: Option<&str>) -> Run {
        let _ = std::fs::remove_file(&self.log);
        let mut c = Command::new("ffmpeg");
        c.env("LD_PRELOAD", self.sim)
            .env("LIBVA_DRIVER_NAME", "hantro")
            .env("LIBVA_DRIVERS_PATH", self.drivers)
            .env("HANTRO_SIM_PERSONALITY", self.personality)
            .env("HANTRO_SIM_LOG", &self.log)
            .env("HANTRO_SIM_QUIET", "1")
            .env("HANTRO_LOG", DRIVER_LOG)
            .env_remove("HANTRO_TEST_CORRUPT");
        if let Some(what) = corrupt {
            c.env("HANTRO_TEST_CORRUPT", what);
        }
        let o = c
            .args(["-v", "error", "-hwaccel", "vaapi", "-hwaccel_device", "/dev/dri/renderD128", "-hwaccel_output_format", "vaapi", "-i"])
            .arg(file)
            .args(["-vf", "hwdownload,format=nv12", "-pix_fmt", "yuv420p", "-f", "framemd5", "-"])
            .output()
            .expect("ffmpeg must be installed");
        let findings = std::fs::read_to_string(&self.log).unwrap_or_default().lines().filter(|l| l.starts_with("job ")).map(String::from).collect();
        Run { ok: o.status.success(), md5: md5_lines(&String::from_utf8_lossy(&o.stdout)), stderr: String::from_utf8_lossy(&o.stderr).into_owned(), findings }
    }
}

#[test]
fn mpeg2_corpus_bit_exact_through_ffmpeg_on_hantro_g1_and_cedrus() {
    let so = built("HANTRO_DRIVER_SO", "target/release/libhantro_drv_video.so");
    let sim = built("HANTRO_SIM_SO", "target/release/libhantro_sim.so");
    let drivers = stage("sim-mpeg2-driver", &so);
    let (dir, streams) = corpus();
    assert!(streams.len() >= 10, "corpus manifest lists {} streams", streams.len());
    assert!(streams.iter().any(|s| s.2 == 2 * s.1), "no field-picture stream in the corpus");
    let mut bad = Vec::new();
    let mut n = 0;
    for p in PERSONALITIES {
        let va = Va { sim: &sim, drivers: &drivers, personality: p, log: PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("sim-mpeg2-{p}.log")) };
        for (name, frames, _pictures, _) in &streams {
            let f = dir.join(format!("{name}.m2v"));
            let reference = software_md5(&f);
            assert_eq!(reference.len(), *frames, "{name}: software decode frame count");
            let r = va.ffmpeg(&f, None);
            // One decoded picture per frame: a field pair counts once, held
            // (cedrus) or decoded in two jobs into one buffer (hantro G1,
            // whose first field's dequeue the driver does not count).
            let completions = *frames;
            if !r.ok || r.md5 != reference || !r.findings.is_empty() || r.decoded() != completions {
                bad.push(format!(
                    "{p} {name}: ok={}, {} of {} frames equal, {} pictures decoded by the device, checker: {:?}\n{}",
                    r.ok,
                    r.md5.iter().zip(&reference).filter(|(a, b)| a == b).count(),
                    reference.len(),
                    r.decoded(),
                    r.findings,
                    r.errors()
                ));
            }
            n += 1;
        }
    }
    assert!(bad.is_empty(), "{} of {n} decodes wrong:\n{}", bad.len(), bad.join("\n"));
    eprintln!(
        "{n} MPEG-2 decodes ({} streams x 2 personalities) bit-exact through ffmpeg -hwaccel vaapi, every picture decoded by the device, no control flagged",
        streams.len()
    );
}

#[test]
fn mpeg2_corrupted_fields_are_caught_by_the_simulator() {
    let so = built("HANTRO_DRIVER_HOOKS_SO", "target/hooks/release/libhantro_drv_video.so");
    let sim = built("HANTRO_SIM_SO", "target/release/libhantro_sim.so");
    let drivers = stage("sim-mpeg2-hooks", &so);
    let (dir, streams) = corpus();
    let name = "main_closed_gop";
    let frames = streams.iter().find(|s| s.0 == name).expect("main_closed_gop in the corpus").1;
    let f = dir.join(format!("{name}.m2v"));
    let reference = software_md5(&f);
    for p in PERSONALITIES {
        let va =
            Va { sim: &sim, drivers: &drivers, personality: p, log: PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("sim-mpeg2-corrupt-{p}.log")) };
        // The hooks build without a corruption is clean.
        let r = va.ffmpeg(&f, None);
        assert!(
            r.ok && r.md5 == reference && r.findings.is_empty() && r.decoded() == frames,
            "{p}: hooks build without corruption must be clean: {:?}\n{}",
            r.findings,
            r.errors()
        );

        // B pictures name their backward reference as the forward one.
        let r = va.ffmpeg(&f, Some("mpeg2_forward_ref"));
        assert!(
            !r.findings.is_empty() && r.findings.iter().all(|l| l.contains("picture.forward_ref_ts: expected")),
            "{p}: the checker must name the corrupted reference: {:?}",
            r.findings
        );
        assert!(!r.ok, "{p}: the decode must fail (CAPTURE buffer flagged ERROR -> VA decoding error)");

        // alternate_scan inverted: no slice contradicts it, the pixels do.
        let r = va.ffmpeg(&f, Some("mpeg2_alt_scan"));
        assert_eq!(r.decoded(), frames, "{p}: every picture still decoded: {}", r.errors());
        assert_eq!(r.md5.len(), frames, "{p}: every frame still output");
        let equal = r.md5.iter().zip(&reference).filter(|(a, b)| a == b).count();
        assert_eq!(equal, 0, "{p}: a wrong alternate_scan must change every picture's pixels");
    }
}
