//! The H.264 generator (testplane's h264gen, used by scripts/corpus.sh):
//! every stream it writes, in the corpus or pending, must decode with
//! libavcodec with error detection on (`-err_detect explode`) into exactly
//! the frames it declares, and two runs must write the same bytes. A
//! generator bug shows here before it shows as a "driver" failure.
use std::path::PathBuf;
use std::process::Command;

fn run_gen(dir: &std::path::Path) -> (String, String) {
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_h264gen"));
    std::fs::create_dir_all(dir).unwrap();
    let o = Command::new(&exe).arg(dir).output().expect("run h264gen");
    assert!(o.status.success(), "h264gen failed: {}", String::from_utf8_lossy(&o.stderr));
    (String::from_utf8(o.stdout).unwrap(), std::fs::read_to_string(dir.join("gen-pending.tsv")).expect("gen-pending.tsv"))
}

#[test]
fn every_generated_stream_decodes_with_libavcodec_and_is_deterministic() {
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let (a, b) = (tmp.join("h264gen-a"), tmp.join("h264gen-b"));
    let _ = std::fs::remove_dir_all(&a);
    let _ = std::fs::remove_dir_all(&b);
    let (manifest, pending) = run_gen(&a);
    assert_eq!(run_gen(&b), (manifest.clone(), pending.clone()), "two runs differ in their lists");
    let lines: Vec<&str> = manifest.lines().chain(pending.lines()).collect();
    assert!(lines.len() >= 10, "{manifest}{pending}");
    let mut bad = Vec::new();
    for l in lines {
        let f: Vec<&str> = l.split('\t').collect();
        let (name, frames) = (f[0], f[1].parse::<usize>().unwrap());
        let file = a.join(format!("{name}.h264"));
        assert_eq!(std::fs::read(&file).unwrap(), std::fs::read(b.join(format!("{name}.h264"))).unwrap(), "{name}: not deterministic");
        let o = Command::new("ffmpeg")
            .args(["-nostdin", "-v", "error", "-err_detect", "explode", "-i"])
            .arg(&file)
            .args(["-f", "framemd5", "-"])
            .output()
            .expect("ffmpeg (scripts/setup-host.sh installs it)");
        let got = String::from_utf8_lossy(&o.stdout).lines().filter(|l| !l.starts_with('#')).count();
        let err = String::from_utf8_lossy(&o.stderr);
        if !o.status.success() || !err.trim().is_empty() || got != frames {
            bad.push(format!("{name}: {got} of {frames} frames, status {:?}, errors: {err}", o.status));
        }
    }
    assert!(bad.is_empty(), "generated streams libavcodec rejects:\n{}", bad.join("\n"));
}
