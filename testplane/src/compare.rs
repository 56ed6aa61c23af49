//! Comparison of two decodes (reference vs ours), frame by frame in decode
//! order.

use crate::visl::{Decode, FrameRecord, Mode};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Override of the reference trace's decode mode.
    pub ref_mode: Option<Mode>,
    /// Override of our trace's decode mode.
    pub ours_mode: Option<Mode>,
    /// `control` or `control.field` names to leave out.
    pub ignore: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Report {
    /// `frame N control.field: reference=X ours=Y` lines (and notes).
    pub lines: Vec<String>,
    pub frames_equal: usize,
    pub frames_total: usize,
    /// Whether slice-level controls were compared.
    pub slice_level_compared: bool,
}

impl Report {
    pub fn all_equal(&self) -> bool {
        self.frames_total > 0 && self.frames_equal == self.frames_total
    }
    pub fn summary(&self) -> String {
        format!("frames equal: {}/{}", self.frames_equal, self.frames_total)
    }
    /// Full text output (diff lines, then the summary line).
    pub fn text(&self) -> String {
        let mut s = String::new();
        for l in &self.lines {
            s.push_str(l);
            s.push('\n');
        }
        s.push_str(&self.summary());
        s.push('\n');
        s
    }
}

fn ignored(key: &str, ignore: &[String]) -> bool {
    ignore.iter().any(|i| {
        key == i
            || key.strip_prefix(i.as_str()).is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
            || key.split_once('.').is_some_and(|(c, f)| {
                // "slice_params.first_mb_in_slice" also matches
                // "slice_params[3].first_mb_in_slice"
                let base = c.split('[').next().unwrap_or(c);
                format!("{base}.{f}") == *i || base == i
            })
    })
}

/// Effective mode of a decode: explicit override, then the `decode_mode`
/// annotation (passed in), then what the trace shows.
pub fn effective_mode(d: &Decode, explicit: Option<Mode>, annotated: Option<Mode>) -> Mode {
    explicit.or(annotated).unwrap_or(d.mode)
}

fn diff_maps(out: &mut Vec<String>, prefix: &str, a: &BTreeMap<String, String>, b: &BTreeMap<String, String>, ignore: &[String]) -> bool {
    let mut equal = true;
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    for k in keys {
        if ignored(k, ignore) {
            continue;
        }
        let va = a.get(k).map(String::as_str).unwrap_or("<absent>");
        let vb = b.get(k).map(String::as_str).unwrap_or("<absent>");
        if va != vb {
            equal = false;
            out.push(format!("{prefix} {k}: reference={va} ours={vb}"));
        }
    }
    equal
}

fn diff_frame(out: &mut Vec<String>, n: usize, a: &FrameRecord, b: &FrameRecord, slices: bool, ignore: &[String]) -> bool {
    let prefix = format!("frame {n}");
    let mut equal = diff_maps(out, &prefix, &a.fields, &b.fields, ignore);
    // Every request of a frame carries the frame-level controls: a later
    // run that disagrees with the frame's first run is a finding on that
    // side (the first runs are what the two sides are compared on) —
    // unless the other side's same run differs in the same way: the two
    // fields of a field pair (one request each, one timestamp) have their
    // own frame-level controls, and those are then compared run by run.
    for (side, rec, other) in [("reference", a, b), ("ours", b, a)] {
        for d @ (run, key, first, value) in &rec.run_diffs {
            if ignored(key, ignore) || other.run_diffs.contains(d) {
                continue;
            }
            equal = false;
            out.push(format!("{prefix} {side} run {run} {key}: run 0={first} run {run}={value}"));
        }
    }
    if !ignored("dpb", ignore) && a.dpb != b.dpb {
        equal = false;
        // multiset difference, both ways
        let mut only_a = a.dpb.clone();
        let mut only_b = Vec::new();
        for e in &b.dpb {
            if let Some(p) = only_a.iter().position(|x| x == e) {
                only_a.remove(p);
            } else {
                only_b.push(e.clone());
            }
        }
        out.push(format!("{prefix} dpb: reference=[{}] ours=[{}]", only_a.join("; "), only_b.join("; ")));
    }
    if slices {
        if a.slices.len() != b.slices.len() && !ignored("slices", ignore) {
            equal = false;
            out.push(format!("{prefix} slices: reference={} ours={}", a.slices.len(), b.slices.len()));
        }
        for (i, (sa, sb)) in a.slices.iter().zip(b.slices.iter()).enumerate() {
            let p = format!("{prefix} slice {i}");
            if !diff_maps(out, &p, sa, sb, ignore) {
                equal = false;
            }
        }
    }
    equal
}

/// Compare two decodes. `ref_annot`/`ours_annot` are the modes annotated in
/// the trace files (`# decode_mode: ...`), if any.
pub fn compare(reference: &Decode, ours: &Decode, opts: &Options, ref_annot: Option<Mode>, ours_annot: Option<Mode>) -> Report {
    let mut r = Report::default();
    let ma = effective_mode(reference, opts.ref_mode, ref_annot);
    let mb = effective_mode(ours, opts.ours_mode, ours_annot);
    // Slice-level controls mean something only when both sides submitted
    // them per slice: in frame-based mode user space does not set them and
    // visl traces stale/default values.
    r.slice_level_compared = ma == Mode::Slice && mb == Mode::Slice;
    if ma != mb && ma != Mode::Unknown && mb != Mode::Unknown {
        r.lines.push(format!("note: decode modes differ (reference={} ours={}): slice-level controls not compared", ma.as_str(), mb.as_str()));
    }
    match (reference.codec, ours.codec) {
        (Some(a), Some(b)) if a.name != b.name => {
            r.lines.push(format!("codec: reference={} ours={}", a.name, b.name));
        }
        _ => {}
    }
    let n = reference.frames.len().max(ours.frames.len());
    r.frames_total = n;
    for i in 0..n {
        match (reference.frames.get(i), ours.frames.get(i)) {
            (Some(a), Some(b)) => {
                if diff_frame(&mut r.lines, i, a, b, r.slice_level_compared, &opts.ignore) {
                    r.frames_equal += 1;
                }
            }
            (Some(_), None) => r.lines.push(format!("frame {i}: reference=present ours=missing")),
            (None, Some(_)) => r.lines.push(format!("frame {i}: reference=missing ours=present")),
            (None, None) => unreachable!(),
        }
    }
    r
}

/// Parse two trace texts and compare them.
pub fn compare_texts(reference: &str, ours: &str, opts: &Options) -> Report {
    let ta = crate::ftrace::parse(reference);
    let tb = crate::ftrace::parse(ours);
    let da = crate::visl::analyse(&ta);
    let db = crate::visl::analyse(&tb);
    let aa = ta.annotation("decode_mode").and_then(Mode::parse);
    let ab = tb.annotation("decode_mode").and_then(Mode::parse);
    compare(&da, &db, opts, aa, ab)
}

/// Human-readable dump of a decode's normalised records.
pub fn dump(d: &Decode) -> String {
    let mut s = String::new();
    s.push_str(&format!(
        "codec: {}\nmode: {}\nruns: {}\nframes: {}\ndecode_params: {}\n",
        d.codec.map(|c| c.name).unwrap_or("none"),
        d.mode.as_str(),
        d.runs.len(),
        d.frames.len(),
        d.decode_params_events
    ));
    for w in &d.warnings {
        s.push_str(&format!("warning: {w}\n"));
    }
    for (i, f) in d.frames.iter().enumerate() {
        s.push_str(&format!("frame {i} (ts {}, {} run(s))\n", f.timestamp, f.slices.len()));
        for (k, v) in &f.fields {
            s.push_str(&format!("  {k} {v}\n"));
        }
        for e in &f.dpb {
            s.push_str(&format!("  dpb {e}\n"));
        }
        for (run, k, first, v) in &f.run_diffs {
            s.push_str(&format!("  run {run} differs: {k} {v} (run 0: {first})\n"));
        }
        for (si, m) in f.slices.iter().enumerate() {
            for (k, v) in m {
                s.push_str(&format!("  slice {si} {k} {v}\n"));
            }
        }
    }
    s
}
