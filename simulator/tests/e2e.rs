//! End-to-end: x264 stream generated at test time, decoded through the
//! emulated device by the simulator's own client, compared bit-exactly with
//! `ffmpeg -f framemd5` software decoding; wrong controls must be caught.
use hantro_sim::client::{self, Corrupt, Options};
use hantro_sim::ctrls::Personality;
use hantro_sim::device::{Config, Sim};
use hantro_sim::md5::md5_hex;
use std::path::{Path, PathBuf};
use std::process::Command;

fn have_ffmpeg() -> bool {
    Command::new("ffmpeg").arg("-version").output().map(|o| o.status.success()).unwrap_or(false)
}

fn gen_stream(tag: &str, extra: &[&str]) -> Option<PathBuf> {
    if !have_ffmpeg() {
        panic!("ffmpeg (with libx264) not found: these tests need it (scripts/setup-host.sh installs it)");
    }
    let dir = std::env::temp_dir().join(format!("hantro-sim-e2e-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join(format!("{tag}.h264"));
    let mut args: Vec<&str> = vec!["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=176x144:rate=25", "-frames:v", "10", "-c:v", "libx264"];
    args.extend_from_slice(extra);
    let o = out.to_str().unwrap().to_string();
    args.push(&o);
    let st = Command::new("ffmpeg").args(&args).status().unwrap();
    assert!(st.success(), "ffmpeg encode failed");
    Some(out)
}

fn framemd5(path: &Path) -> Vec<String> {
    let o = Command::new("ffmpeg").args(["-v", "error", "-i", path.to_str().unwrap(), "-f", "framemd5", "-"]).output().unwrap();
    assert!(o.status.success());
    String::from_utf8_lossy(&o.stdout).lines().filter(|l| !l.starts_with('#')).map(|l| l.rsplit(',').next().unwrap().trim().to_string()).collect()
}

fn decode(p: Personality, tag: &str, path: &PathBuf, opts: &Options) -> (Vec<client::Frame>, Vec<String>) {
    let sim = Sim::new(Config::for_test(p, tag));
    let data = std::fs::read(path).unwrap();
    let frames = client::run(&sim, &data, opts).unwrap();
    let log = sim.log_lines.lock().unwrap().clone();
    (frames, log)
}

fn check_bit_exact(p: Personality, tag: &str, extra: &[&str]) {
    let Some(path) = gen_stream(tag, extra) else { return };
    let want = framemd5(&path);
    let (frames, log) = decode(p, tag, &path, &Options::default());
    assert!(log.is_empty(), "checker complained about correct controls:\n{}", log.join("\n"));
    assert_eq!(frames.len(), want.len());
    let got: Vec<String> = client::output_order(frames.clone()).iter().map(|f| md5_hex(&f.i420)).collect();
    assert_eq!(got, want, "frames differ from ffmpeg software decode");
    assert!(frames.iter().all(|f| !f.error));
}

#[test]
fn hantro_g1_high_bframes_bit_exact() {
    // High profile, CABAC, 8x8 transform, B-pyramid, weighted P prediction
    check_bit_exact(Personality::HantroG1, "g1-high", &["-bf", "3", "-refs", "3"]);
}

#[test]
fn rkvdec_baseline_poc2_bit_exact() {
    check_bit_exact(Personality::Rkvdec, "rk-base", &["-profile:v", "baseline", "-x264-params", "slices=2"]);
}

#[test]
fn cedrus_slice_based_tiled_bit_exact() {
    // several slices per picture: one request per slice, HOLD_CAPTURE_BUF
    check_bit_exact(Personality::Cedrus, "cedrus", &["-bf", "2", "-x264-params", "slices=3"]);
}

#[test]
fn scaling_matrix_bit_exact() {
    check_bit_exact(Personality::HantroG1, "g1-cqm", &["-x264-params", "cqm=jvt"]);
}

fn check_caught(p: Personality, tag: &str, c: Corrupt, frame: usize, needle: &str) {
    let Some(path) = gen_stream(tag, &["-bf", "2"]) else { return };
    let (frames, log) = decode(p, tag, &path, &Options { corrupt: Some((frame, c)), ..Default::default() });
    let bad = frames.iter().find(|f| f.decode_index == frame).unwrap();
    assert!(bad.error, "corrupted control not flagged; log: {log:?}");
    assert!(log.iter().any(|l| l.contains(needle)), "expected '{needle}' in log: {log:#?}");
    // frames before the corruption are clean
    assert!(frames.iter().filter(|f| f.decode_index < frame).all(|f| !f.error));
}

#[test]
fn wrong_frame_num_is_caught() {
    check_caught(Personality::HantroG1, "bad-fn", Corrupt::FrameNum, 3, "decode_params.frame_num: expected");
}

#[test]
fn wrong_poc_is_caught() {
    check_caught(Personality::Rkvdec, "bad-poc", Corrupt::TopPoc, 4, "decode_params.top_field_order_cnt");
}

#[test]
fn missing_reference_is_caught() {
    check_caught(Personality::HantroG1, "bad-ref", Corrupt::DropReference, 5, "missing reference");
}

#[test]
fn stale_reference_ts_is_caught() {
    check_caught(Personality::HantroG1, "bad-ts", Corrupt::StaleReferenceTs, 5, "reference_ts");
}

#[test]
fn wrong_header_bit_size_is_caught() {
    check_caught(Personality::Cedrus, "bad-hbs", Corrupt::HeaderBitSize, 2, "slice_params.header_bit_size");
}

#[test]
fn sanity_stream_features() {
    let Some(path) = gen_stream("feat", &["-x264-params", "cqm=jvt"]) else { return };
    let data = std::fs::read(&path).unwrap();
    let nals = hantro_sim::bits::split_annexb(&data);
    let sps = hantro_sim::h264::parse_sps(nals.iter().find(|n| n[0] & 0x1f == 7).unwrap()).unwrap();
    // x264 signals cqm=jvt in the PPS with fall-back rule A (default lists)
    let pps = hantro_sim::h264::parse_pps(nals.iter().find(|n| n[0] & 0x1f == 8).unwrap(), |_| Some(sps.clone())).unwrap();
    let sl = pps.scaling.expect("cqm=jvt stream should carry PPS scaling lists");
    assert_eq!(sl.l4[0][0], 6); // Default_4x4_Intra
    assert_eq!(sl.l8[1][0], 9); // Default_8x8_Inter
    assert_eq!(framemd5(&path).len(), 10);
    let (frames, log) = decode(Personality::HantroG1, "feat", &path, &Options { corrupt: Some((5, Corrupt::StaleReferenceTs)), ..Default::default() });
    assert!(log.iter().any(|l| l.contains("reference_ts")), "{log:#?}");
    assert_eq!(frames.len(), 10);
}

#[test]
fn custom_scaling_lists_bit_exact() {
    let cqm = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/sim/custom.cqm");
    let p = format!("cqmfile={cqm}");
    check_bit_exact(Personality::HantroG1, "g1-cqmfile", &["-bf", "2", "-x264-params", &p]);
    check_bit_exact(Personality::Cedrus, "cedrus-cqmfile", &["-x264-params", &format!("{p}:slices=2")]);
}

#[test]
fn requeued_reference_buffer_is_caught() {
    let Some(path) = gen_stream("requeue", &["-bf", "0", "-refs", "3"]) else { return };
    let (frames, log) = decode(Personality::HantroG1, "requeue", &path, &Options { requeue_references: true, capture_buffers: 2, ..Default::default() });
    assert!(frames.iter().any(|f| f.error), "{log:#?}");
    assert!(log.iter().any(|l| l.contains("no CAPTURE buffer holds that picture") || l.contains("re-queued")), "{log:#?}");
}

#[test]
fn mbaff_interlaced_bit_exact() {
    // MBAFF frame pictures (field_pic_flag 0, frame_mbs_only 0): POC bottom
    // from delta_pic_order_cnt_bottom, cropping in 4-line units
    check_bit_exact(Personality::HantroG1, "g1-mbaff", &["-bf", "2", "-x264-params", "interlaced=1:tff=1"]);
    check_bit_exact(Personality::Cedrus, "cedrus-mbaff", &["-x264-params", "interlaced=1:bff=1:slices=2"]);
}
