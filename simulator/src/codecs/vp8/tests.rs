//! The simulator's VP8 parse over the project's VP8 corpus
//! (scripts/corpus-vp8.sh, generated at test time): every frame parses,
//! and the corpus covers the features it claims to.
use super::parse::{parse, Stream};
use std::path::{Path, PathBuf};
use std::process::Command;

fn corpus() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf();
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/root"));
    let cache = std::env::var_os("HANTRO_CACHE").map(PathBuf::from).unwrap_or_else(|| home.join(".cache/hantro"));
    let dir = cache.join("corpus-vp8");
    std::fs::create_dir_all(&cache).unwrap();
    let o = Command::new("flock")
        .arg(cache.join("corpus-vp8.lock"))
        .arg("bash")
        .arg(root.join("scripts/corpus-vp8.sh"))
        .arg(&dir)
        .output()
        .expect("run scripts/corpus-vp8.sh");
    assert!(o.status.success(), "scripts/corpus-vp8.sh failed: {}", String::from_utf8_lossy(&o.stderr));
    dir
}

/// The frames of an IVF file.
pub fn ivf_frames(data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut p = u16::from_le_bytes([data[6], data[7]]) as usize;
    while p + 12 <= data.len() {
        let n = u32::from_le_bytes([data[p], data[p + 1], data[p + 2], data[p + 3]]) as usize;
        out.push(&data[p + 12..(p + 12 + n).min(data.len())]);
        p += 12 + n;
    }
    out
}

#[test]
fn corpus_parses_and_covers_its_features() {
    let dir = corpus();
    let manifest = std::fs::read_to_string(dir.join("manifest.tsv")).unwrap();
    let mut seen: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
    for line in manifest.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let data = std::fs::read(dir.join(format!("{}.ivf", f[0]))).unwrap();
        let frames = ivf_frames(&data);
        assert_eq!(frames.len(), f[1].parse::<usize>().unwrap(), "{}: frame count", f[0]);
        let mut st = Stream::default();
        for (i, fr) in frames.iter().enumerate() {
            let p = parse(fr, &mut st).unwrap_or_else(|e| panic!("{} frame {i}: {e}", f[0]));
            let mut note = |what: &'static str, cond: bool| {
                if cond {
                    seen.entry(what).or_default().push(f[0].to_string());
                }
            };
            note("key frame", p.key);
            note("inter frame", !p.key);
            note("hidden frame", !p.show);
            note("segmentation", p.seg_enabled);
            note("segment map update", p.seg_update_map);
            note("segment data update", p.seg_update_data);
            note("segment absolute values", p.seg_update_data && st.seg_abs);
            note("segment delta values", p.seg_update_data && !st.seg_abs);
            note("loop-filter deltas update", p.lf_delta_update);
            note("sharpness > 0", p.sharpness > 0);
            note("simple filter", p.filter_simple);
            note("2 partitions", p.partitions == 2);
            note("4 partitions", p.partitions == 4);
            note("8 partitions", p.partitions == 8);
            note("refresh_entropy_probs = 0", !p.refresh_probs);
            note("golden refresh (inter)", !p.key && p.refresh_golden);
            note("altref refresh (inter)", !p.key && p.refresh_alt);
            note("no last refresh", !p.refresh_last);
            note("copy to golden", p.copy_golden != 0);
            note("copy to altref", p.copy_alt != 0);
            note("sign bias golden", p.bias_golden);
            note("sign bias altref", p.bias_alt);
            note("mb_no_skip_coeff = 0", !p.no_skip_coeff);
            note("quantiser deltas", p.qi[1..].iter().any(|&d| d != 0));
            note("odd size", st.width % 16 != 0 || st.height % 16 != 0);
            note("1080p", st.height == 1080);
            note("version > 0", p.version > 0);
        }
    }
    let mut report = String::new();
    for (k, v) in &seen {
        let mut v = v.clone();
        v.dedup();
        report += &format!("{k}: {}\n", v.join(" "));
    }
    eprintln!("{report}");
    // What libvpx makes (scripts/corpus-vp8.sh names the gaps).
    for want in [
        "key frame",
        "inter frame",
        "hidden frame",
        "segmentation",
        "segment map update",
        "segment data update",
        "segment delta values",
        "loop-filter deltas update",
        "sharpness > 0",
        "simple filter",
        "2 partitions",
        "4 partitions",
        "8 partitions",
        "refresh_entropy_probs = 0",
        "golden refresh (inter)",
        "altref refresh (inter)",
        "no last refresh",
        "sign bias altref",
        "copy to altref",
        "quantiser deltas",
        "odd size",
        "1080p",
        "version > 0",
    ] {
        assert!(seen.contains_key(want), "corpus lacks: {want}\n{report}");
    }
}
