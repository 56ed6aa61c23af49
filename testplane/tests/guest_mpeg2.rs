//! The MPEG-2 suite of the real-kernel plane through hantro_drv_video: in one
//! guest boot (tests/guest/mpeg2-suite.sh), every stream of
//! scripts/corpus-mpeg2.sh is decoded on visl by GStreamer's v4l2slmpeg2dec
//! (the reference, written independently of us) and through our VA driver by
//! `ffmpeg -hwaccel vaapi` and GStreamer's `vampeg2dec`. Each client must
//! exit 0; visl must have decoded exactly the stream's pictures (one
//! PICTURE control per request, one request per frame); every picture's
//! controls must equal GStreamer's field by field after timestamp
//! normalisation, except the fields listed below; and vainfo must list
//! both MPEG-2 profiles with VAEntrypointVLD. Never skips.
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::process::Command;
use testplane::compare::{compare_texts, Options};
use testplane::guest::{read_manifest, repo_root, run_script};
use testplane::visl::{analyse_text, Decode};

/// Every run's (request's) controls, `control.field` -> value, reference
/// timestamps as the decode index of the frame that carried them: the
/// comparison for field pictures, whose two requests per frame carry
/// different picture controls (the frame comparison takes them for
/// disagreeing runs of one frame).
fn run_fields(d: &Decode) -> Vec<BTreeMap<String, String>> {
    let frame_of: HashMap<u64, usize> = d.frames.iter().enumerate().map(|(i, f)| (f.timestamp, i)).collect();
    d.runs
        .iter()
        .map(|r| {
            let mut m = BTreeMap::new();
            // the request's own frame (not compared: frame counts are)
            if let Some(f) = r.timestamp.and_then(|t| frame_of.get(&t)) {
                m.insert(OWN_FRAME.to_string(), format!("frame {f}"));
            }
            for c in &r.controls {
                for (k, v) in &c.fields {
                    let v = if k.ends_with("_ts") {
                        v.trim().parse::<u64>().ok().and_then(|t| frame_of.get(&t)).map_or(format!("ts {v}"), |f| format!("frame {f}"))
                    } else {
                        v.clone()
                    };
                    m.insert(format!("{}.{k}", c.name), v);
                }
            }
            m
        })
        .collect()
}

/// Fields not compared, and why (VA-API does not carry them and the
/// hardware does not read them):
/// - `sequence.vbv_buffer_size`: not in VAPictureParameterBufferMPEG2; the
///   driver puts the level's maximum (as the uAPI's syntax value), GStreamer
///   the stream's in bits (×16384); hantro, cedrus and rkvdec program
///   nothing from it.
/// - `sequence.profile_and_level_indication`: not in VA (only the VA profile;
///   the driver derives the level from the size); no stateless driver reads
///   it.
/// - `quantisation.chroma_intra_quantiser_matrix`,
///   `quantisation.chroma_non_intra_quantiser_matrix`: only relevant for
///   4:2:2/4:4:4 (uAPI), which the VA MPEG-2 profiles cannot carry; the
///   driver repeats the luma matrices, GStreamer leaves what no quant matrix
///   extension loaded; hantro and cedrus program only the luma matrices.
/// - field pictures: the forward reference of the second P field of the
///   stream's first frame (see `own_frame_for_second_field`).
/// - `picture.forward_ref_ts` / `picture.backward_ref_ts` are compared only
///   where the picture type uses them (P: forward, B: both): GStreamer
///   names its neighbouring references for I pictures too, VA gives none,
///   and the hardware reads no reference for an I picture (nor a backward
///   one for P).
const NOT_IN_VA: [&str; 4] = [
    "sequence.vbv_buffer_size",
    "sequence.profile_and_level_indication",
    "quantisation.chroma_intra_quantiser_matrix",
    "quantisation.chroma_non_intra_quantiser_matrix",
];
const REFS: [&str; 2] = ["picture.forward_ref_ts", "picture.backward_ref_ts"];
/// Key of [`run_fields`] holding the request's own frame.
const OWN_FRAME: &str = "_own_frame";
/// GST_CLOCK_TIME_NONE, as normalised.
const NO_TS: &str = "ts 18446744073709551615";

/// The one reference difference allowed: the second P field of a frame
/// with no earlier reference frame (the stream's first frame) predicts
/// from its own first field only (7.6.3.5). GStreamer names no reference
/// (GST_CLOCK_TIME_NONE), the driver the field's own frame, which holds
/// that first field; hantro falls back to the current frame for a
/// timestamp it does not find, so both decode alike there, and cedrus
/// reads the named buffer.
fn own_frame_for_second_field(a: &BTreeMap<String, String>, b: &BTreeMap<String, String>, key: &str) -> bool {
    key == REFS[0] && a.get(key).map(String::as_str) == Some(NO_TS) && b.get(key).is_some() && b.get(key) == b.get(OWN_FRAME)
}

fn driver_so() -> PathBuf {
    let p = std::env::var("HANTRO_DRIVER_SO").map(PathBuf::from).unwrap_or_else(|_| repo_root().join("target/release/libhantro_drv_video.so"));
    assert!(p.exists(), "driver {} not built (run `cargo build --release` first)", p.display());
    p
}

#[test]
fn mpeg2_corpus_through_the_va_driver_equals_gstreamer_on_visl() {
    let so = driver_so();
    let job = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("guest-mpeg2");
    let _ = std::fs::remove_dir_all(&job);
    std::fs::create_dir_all(&job).unwrap();
    // The MPEG-2 corpus, generated into the cache and staged in the job.
    let cache = std::env::var("HANTRO_CACHE").map(PathBuf::from).unwrap_or_else(|_| PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/hantro"));
    let corpus = cache.join("corpus-mpeg2");
    let st = Command::new("bash").arg(repo_root().join("scripts/corpus-mpeg2.sh")).arg(&corpus).status().expect("run scripts/corpus-mpeg2.sh");
    assert!(st.success(), "MPEG-2 corpus generation failed");
    let staged = job.join("corpus-mpeg2");
    std::fs::create_dir_all(&staged).unwrap();
    for e in std::fs::read_dir(&corpus).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            std::fs::copy(e.path(), staged.join(e.file_name())).unwrap();
        }
    }
    let script = repo_root().join("tests/guest/mpeg2-suite.sh");
    let run = run_script(&job, &script, &[], &[("HANTRO_DRIVER_SO", so.to_str().unwrap())]).unwrap_or_else(|e| panic!("guest run failed: {e}"));
    eprintln!("guest boot + suite: {:.1}s", run.elapsed.as_secs_f64());
    assert_eq!(run.status, 0, "guest suite failed:\n{}\n{}\n{}", run.stdout, run.stderr, run.versions());
    assert!(run.stdout.contains("suite-done"), "suite did not finish:\n{}", run.stdout);
    let read = |f: &str| run.read_out(f).unwrap_or_else(|e| panic!("{e}"));

    let vainfo = read("vainfo.txt");
    eprintln!("--- vainfo ---\n{vainfo}");
    assert!(vainfo.contains("Driver version: hantro_drv_video") && vainfo.contains("on visl"), "{vainfo}");
    for p in ["VAProfileMPEG2Simple", "VAProfileMPEG2Main"] {
        assert!(vainfo.lines().any(|l| l.contains(p) && l.contains("VAEntrypointVLD")), "{p} missing:\n{vainfo}");
    }

    let mut failures = Vec::new();
    for l in read("runs.tsv").lines() {
        let f: Vec<&str> = l.split('\t').collect();
        if f.get(2) != Some(&"0") {
            let log = read(&format!("{}.{}.log", f[0], f[1]));
            let tail: Vec<&str> = log.lines().rev().take(10).collect();
            failures.push(format!("client failed: {l}\n{}", tail.into_iter().rev().collect::<Vec<_>>().join("\n")));
        }
    }
    let manifest = read_manifest(&staged.join("manifest.tsv")).expect("manifest");
    let mut ignore: Vec<String> = NOT_IN_VA.iter().map(|s| s.to_string()).collect();
    ignore.extend(REFS.iter().map(|s| s.to_string()));
    let opts = Options { ignore, ..Default::default() };
    let mut table = String::new();
    for s in &manifest {
        let reference = read(&format!("{}.gst.trace", s.name));
        let rd = analyse_text(&reference);
        // Not vacuous: every compared field is in every reference picture.
        const FIELDS: [&str; 9] = [
            "sequence.horizontal_size",
            "sequence.flags",
            "picture.flags",
            "picture.f_code",
            "picture.picture_coding_type",
            "picture.picture_structure",
            "picture.intra_dc_precision",
            "quantisation.intra_quantiser_matrix",
            "quantisation.non_intra_quantiser_matrix",
        ];
        for (i, fr) in rd.frames.iter().enumerate() {
            if let Some(k) = FIELDS.iter().find(|k| !fr.fields.contains_key(**k)) {
                failures.push(format!("{} reference frame {i}: no {k} in the trace", s.name));
            }
        }
        let pictures: usize = std::fs::read_to_string(staged.join("manifest.tsv"))
            .unwrap()
            .lines()
            .find(|l| l.split('\t').next() == Some(s.name.as_str()))
            .and_then(|l| l.split('\t').nth(5))
            .and_then(|v| v.parse().ok())
            .unwrap_or(s.frames);
        if rd.frames.len() != s.frames || rd.decode_params_events != pictures {
            failures.push(format!(
                "{}: reference decoded {} frames / {} pictures, stream has {} / {pictures}",
                s.name,
                rd.frames.len(),
                rd.decode_params_events,
                s.frames
            ));
        }
        if pictures != s.frames {
            // Field pictures: one request per field, compared request by request.
            let reference = run_fields(&rd);
            for client in ["ffmpeg", "gstva"] {
                let od = analyse_text(&read(&format!("{}.{client}.trace", s.name)));
                let ours = run_fields(&od);
                let mut diffs = Vec::new();
                if od.frames.len() != s.frames || od.decode_params_events != pictures {
                    diffs.push(format!(
                        "visl decoded {} frames / {} pictures, the stream has {} / {pictures}",
                        od.frames.len(),
                        od.decode_params_events,
                        s.frames
                    ));
                }
                for (i, (a, b)) in reference.iter().zip(&ours).enumerate() {
                    let used: &[&str] = match a.get("picture.picture_coding_type").map(String::as_str) {
                        Some("2") | Some("P") => &REFS[..1],
                        Some("3") | Some("B") => &REFS[..],
                        _ => &[],
                    };
                    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
                    keys.sort();
                    keys.dedup();
                    for k in keys {
                        let skip = k == OWN_FRAME
                            || NOT_IN_VA.iter().any(|n| k == n)
                            || (REFS.contains(&k.as_str()) && !used.contains(&k.as_str()))
                            || own_frame_for_second_field(a, b, k);
                        if !skip && a.get(k) != b.get(k) {
                            diffs.push(format!("picture {i} {k}: reference={:?} ours={:?}", a.get(k), b.get(k)));
                        }
                    }
                }
                table.push_str(&format!(
                    "{:<18} {client:<6} field pictures: {} requests compared, {} differences\n",
                    s.name,
                    reference.len().min(ours.len()),
                    diffs.len()
                ));
                if !diffs.is_empty() {
                    failures.push(format!("{} {client}:\n{}", s.name, diffs.join("\n")));
                }
            }
            continue;
        }
        for client in ["ffmpeg", "gstva"] {
            let ours = read(&format!("{}.{client}.trace", s.name));
            let od = analyse_text(&ours);
            if od.decode_params_events != s.frames || od.frames.len() != s.frames {
                failures.push(format!(
                    "{} {client}: visl decoded {} frames / {} pictures, the stream has {}",
                    s.name,
                    od.frames.len(),
                    od.decode_params_events,
                    s.frames
                ));
            }
            let report = compare_texts(&reference, &ours, &opts);
            // References, where the picture type uses them.
            let mut ref_diffs = Vec::new();
            for (i, (a, b)) in rd.frames.iter().zip(&od.frames).enumerate() {
                let used: &[&str] = match a.fields.get("picture.picture_coding_type").map(String::as_str) {
                    Some("2") | Some("P") => &REFS[..1],
                    Some("3") | Some("B") => &REFS[..],
                    _ => &[],
                };
                for k in used {
                    if a.fields.get(*k) != b.fields.get(*k) {
                        ref_diffs.push(format!("frame {i} {k}: reference={:?} ours={:?}", a.fields.get(*k), b.fields.get(*k)));
                    }
                }
            }
            let refs_compared = rd.frames.iter().filter(|f| f.fields.get("picture.picture_coding_type").is_some_and(|t| t != "1" && t != "I")).count();
            table.push_str(&format!(
                "{:<18} {client:<6} {}, references of {refs_compared} P/B pictures: {} differ\n",
                s.name,
                report.summary(),
                ref_diffs.len()
            ));
            if !report.all_equal() || report.frames_total != s.frames || !ref_diffs.is_empty() {
                failures.push(format!("{} {client}:\n{}{}", s.name, report.text(), ref_diffs.join("\n")));
            }
        }
    }
    eprintln!("--- our controls vs GStreamer's on visl ---\n{table}");
    assert!(failures.is_empty(), "{} failures:\n{}\n{}", failures.len(), failures.join("\n"), run.versions());
}
