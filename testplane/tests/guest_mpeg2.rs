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
use std::sync::OnceLock;
use testplane::compare::{compare_texts, Options};
use testplane::guest::{arm64_va_run, codec_corpus, read_manifest, shared_run, suite_run, GuestRun, Stream};
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

/// The suite's one boot (tests/guest/mpeg2-suite.sh on the whole corpus),
/// shared by this binary's tests: its GStreamer traces are also the arm64
/// test's reference (a stream's controls do not depend on the CPU).
fn suite() -> &'static GuestRun {
    static RUN: OnceLock<Result<GuestRun, String>> = OnceLock::new();
    shared_run(&RUN, || suite_run(&PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("guest-mpeg2"), "mpeg2-suite.sh", &[("mpeg2", "corpus-mpeg2")], &[]))
}

#[test]
fn mpeg2_corpus_through_the_va_driver_equals_gstreamer_on_visl() {
    let run = suite();
    let staged = run.job.join("corpus-mpeg2");
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
        let pictures = pictures_of(&staged, s);
        if rd.frames.len() != s.frames || rd.decode_params_events != pictures {
            failures.push(format!(
                "{}: reference decoded {} frames / {} pictures, stream has {} / {pictures}",
                s.name,
                rd.frames.len(),
                rd.decode_params_events,
                s.frames
            ));
        }
        for client in ["ffmpeg", "gstva"] {
            let (line, bad) = compare_stream(&reference, &read(&format!("{}.{client}.trace", s.name)), s, pictures, client);
            table.push_str(&line);
            failures.extend(bad);
        }
    }
    eprintln!("--- our controls vs GStreamer's on visl ---\n{table}");
    assert!(failures.is_empty(), "{} failures:\n{}\n{}", failures.len(), failures.join("\n"), run.versions());
}

/// The pictures (requests) stream `s` codes: the manifest's sixth column
/// (two per frame for field pictures), else its frames.
fn pictures_of(corpus: &std::path::Path, s: &Stream) -> usize {
    std::fs::read_to_string(corpus.join("manifest.tsv"))
        .unwrap()
        .lines()
        .find(|l| l.split('\t').next() == Some(s.name.as_str()))
        .and_then(|l| l.split('\t').nth(5))
        .and_then(|v| v.parse().ok())
        .unwrap_or(s.frames)
}

/// One client's visl trace of stream `s` against GStreamer's: visl decoded
/// exactly the stream's frames and pictures, and every picture's controls
/// are equal but for [`NOT_IN_VA`] and the references a picture type does
/// not use. Field-picture streams are compared request by request.
/// Returns the table line and the failures.
fn compare_stream(reference: &str, ours: &str, s: &Stream, pictures: usize, client: &str) -> (String, Vec<String>) {
    let rd = analyse_text(reference);
    let od = analyse_text(ours);
    let mut failures = Vec::new();
    if od.frames.len() != s.frames || od.decode_params_events != pictures {
        failures.push(format!(
            "{} {client}: visl decoded {} frames / {} pictures, the stream has {} / {pictures}",
            s.name,
            od.frames.len(),
            od.decode_params_events,
            s.frames
        ));
    }
    let used_refs = |t: Option<&String>| -> &[&str] {
        match t.map(String::as_str) {
            Some("2") | Some("P") => &REFS[..1],
            Some("3") | Some("B") => &REFS[..],
            _ => &[],
        }
    };
    if pictures != s.frames {
        // Field pictures: one request per field, compared request by request.
        let (reference, ours) = (run_fields(&rd), run_fields(&od));
        let mut diffs = Vec::new();
        for (i, (a, b)) in reference.iter().zip(&ours).enumerate() {
            let used = used_refs(a.get("picture.picture_coding_type"));
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
        let line = format!("{:<18} {client:<6} field pictures: {} requests compared, {} differences\n", s.name, reference.len().min(ours.len()), diffs.len());
        if !diffs.is_empty() {
            failures.push(format!("{} {client}:\n{}", s.name, diffs.join("\n")));
        }
        return (line, failures);
    }
    let mut ignore: Vec<String> = NOT_IN_VA.iter().map(|s| s.to_string()).collect();
    ignore.extend(REFS.iter().map(|s| s.to_string()));
    let report = compare_texts(reference, ours, &Options { ignore, ..Default::default() });
    // References, where the picture type uses them.
    let mut ref_diffs = Vec::new();
    for (i, (a, b)) in rd.frames.iter().zip(&od.frames).enumerate() {
        for k in used_refs(a.fields.get("picture.picture_coding_type")) {
            if a.fields.get(*k) != b.fields.get(*k) {
                ref_diffs.push(format!("frame {i} {k}: reference={:?} ours={:?}", a.fields.get(*k), b.fields.get(*k)));
            }
        }
    }
    let refs_compared = rd.frames.iter().filter(|f| f.fields.get("picture.picture_coding_type").is_some_and(|t| t != "1" && t != "I")).count();
    let line = format!("{:<18} {client:<6} {}, references of {refs_compared} P/B pictures: {} differ\n", s.name, report.summary(), ref_diffs.len());
    if !report.all_equal() || report.frames_total != s.frames || !ref_diffs.is_empty() {
        failures.push(format!("{} {client}:\n{}{}", s.name, report.text(), ref_diffs.join("\n")));
    }
    (line, failures)
}

/// Two MPEG-2 streams (interlaced frame pictures with B pictures, and
/// generated field pictures) through the arm64 driver on visl in the arm64
/// guest (libavcodec's VA-API hwaccel, tests/clients/vaclient.c): vainfo
/// lists both MPEG-2 profiles, the client exits 0, the driver completed
/// every frame, visl decoded every picture, and the controls equal GStreamer's v4l2slmpeg2dec's from the
/// x86 guest (a stream's controls do not depend on the CPU) with the same
/// exclusions as the x86 clients.
#[test]
fn arm64_guest_mpeg2_equals_gstreamer() {
    const STREAMS: [&str; 2] = ["interlaced_tff", "field_pictures"];
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let corpus = codec_corpus("mpeg2").unwrap_or_else(|e| panic!("{e}"));
    let a = arm64_va_run(&tmp.join("guest-arm64-mpeg2"), &corpus, "corpus-mpeg2", "m2v", &STREAMS).unwrap_or_else(|e| panic!("{e}"));
    for p in ["VAProfileMPEG2Simple", "VAProfileMPEG2Main"] {
        assert!(a.vainfo.lines().any(|l| l.contains(p) && l.contains("VAEntrypointVLD")), "arm64 vainfo: {p} missing:\n{}", a.vainfo);
    }
    // GStreamer's reference traces: the x86 suite's boot.
    let r = suite();
    assert_eq!(r.status, 0, "x86 guest suite failed:\n{}\n{}", r.stdout, r.stderr);
    let manifest = read_manifest(&corpus.join("manifest.tsv")).expect("manifest");
    let mut failures = Vec::new();
    let mut table = String::new();
    for name in STREAMS {
        let s = manifest.iter().find(|m| m.name == name).expect("stream in the manifest");
        let pictures = pictures_of(&corpus, s);
        if a.rc.get(name) != Some(&0) {
            failures.push(format!("{name}: arm64 client failed ({:?})\n{}", a.rc, a.log(name).unwrap_or_else(|e| e)));
            continue;
        }
        // the driver logs one line per CAPTURE buffer completed (a field
        // pair fills one); visl's requests, one per picture, are counted by
        // compare_stream
        if a.pictures(name) != s.frames {
            failures.push(format!("{name}: the arm64 driver completed {} frames, the stream codes {}", a.pictures(name), s.frames));
        }
        let reference = r.read_out(&format!("{name}.gst.trace")).unwrap_or_else(|e| panic!("{e}"));
        let (line, bad) = compare_stream(&reference, &a.trace(name).unwrap_or_else(|e| panic!("{e}")), s, pictures, "arm64");
        table.push_str(&line);
        failures.extend(bad);
    }
    eprintln!("--- arm64 driver's MPEG-2 controls vs GStreamer's (x86 guest) ---\n{table}");
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}
