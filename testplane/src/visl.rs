//! From raw trace events to per-frame decode records.
//!
//! visl (drivers/media/test-drivers/visl) emits, in its `device_run`, one
//! event per control of the request being decoded, always in the same order
//! and on the same task (see `visl_trace_ctrls` in visl-dec.c); for H.264:
//! `v4l2_ctrl_h264_sps`, `_pps`, `_scaling_matrix`, `_slice_params`,
//! 32 × `v4l2_h264_ref_pic_list0`, 32 × `v4l2_h264_ref_pic_list1`,
//! `v4l2_ctrl_h264_decode_params`, 16 × `v4l2_h264_dpb_entry`,
//! `v4l2_ctrl_h264_pred_weights`. None of them carries the buffer timestamp:
//! that comes from the `vb2_buf_done` event (include/trace/events/vb2.h:
//! `owner = .., queued = .., owned_by_drv = .., index = I, type = T,
//! bytesused = .., timestamp = <ns>`) emitted right after, by the same task,
//! when visl completes the job (the CAPTURE buffer got the OUTPUT buffer's timestamp
//! via v4l2_m2m_buf_copy_metadata before the events were emitted). If those
//! events are missing, the n-th run is matched with the n-th `v4l2_qbuf` of an
//! OUTPUT buffer (m2m runs requests in queue order).
//!
//! A *run* is one device_run (one request). A *frame* is a maximal sequence
//! of consecutive runs carrying the same OUTPUT timestamp: one run in
//! frame-based mode, one per slice in slice-based mode. Timestamps that
//! reference pictures (`reference_ts`, `*_ts`, HEVC `timestamp`) are
//! normalised to "frame K", the decode index of the frame whose OUTPUT buffer
//! carried that timestamp, so traces from different user-space stacks (which
//! pick different timestamps) compare equal when they decode the same way.

use crate::ftrace::{kv_eq, Event, Trace};
use std::collections::{BTreeMap, HashMap};

/// What is known about one codec's visl events.
#[derive(Debug)]
pub struct CodecSpec {
    pub name: &'static str,
    /// Event name that opens a run (first one emitted by visl_trace_ctrls).
    pub start: &'static str,
    /// Control (normalised name) present once per run: counted as "decode params".
    pub decode_params: &'static str,
    /// Controls that describe a slice, compared only between same-mode traces.
    pub slice_level: &'static [&'static str],
    /// Control holding DPB entries (compared as a set of valid entries).
    pub dpb: Option<&'static str>,
}

pub static CODECS: &[CodecSpec] = &[
    CodecSpec {
        name: "h264",
        start: "v4l2_ctrl_h264_sps",
        decode_params: "decode_params",
        slice_level: &["slice_params", "ref_pic_list0", "ref_pic_list1", "pred_weights"],
        dpb: Some("dpb_entry"),
    },
    CodecSpec {
        name: "hevc",
        start: "v4l2_ctrl_hevc_sps",
        decode_params: "decode_params",
        slice_level: &["slice_params", "pred_weight_table"],
        dpb: Some("dpb_entry"),
    },
    CodecSpec { name: "vp8", start: "v4l2_ctrl_vp8_frame", decode_params: "frame", slice_level: &[], dpb: None },
    CodecSpec { name: "vp9", start: "v4l2_ctrl_vp9_frame", decode_params: "frame", slice_level: &[], dpb: None },
    CodecSpec { name: "mpeg2", start: "v4l2_ctrl_mpeg2_sequence", decode_params: "picture", slice_level: &[], dpb: None },
    CodecSpec { name: "av1", start: "v4l2_ctrl_av1_sequence", decode_params: "frame", slice_level: &["tile_group_entry"], dpb: None },
    CodecSpec { name: "fwht", start: "v4l2_ctrl_fwht_params", decode_params: "params", slice_level: &[], dpb: None },
];

/// Codec of a visl control event and the control's short name
/// (`v4l2_ctrl_h264_decode_params` -> (h264, "decode_params"),
/// `v4l2_h264_dpb_entry` -> (h264, "dpb_entry")).
pub fn classify(event: &str) -> Option<(&'static CodecSpec, String)> {
    for c in CODECS {
        for pfx in [format!("v4l2_ctrl_{}_", c.name), format!("v4l2_{}_", c.name)] {
            if let Some(rest) = event.strip_prefix(&pfx) {
                return Some((c, rest.to_string()));
            }
        }
    }
    None
}

/// One control as traced: optional array index (`[i]: ...` events) and
/// its fields in trace order.
#[derive(Debug, Clone, PartialEq)]
pub struct Control {
    pub name: String,
    pub index: Option<usize>,
    pub fields: Vec<(String, String)>,
}

impl Control {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

fn is_key(tok: &str) -> bool {
    let b = tok.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_lowercase()
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_' || *c == b'.' || *c == b'[' || *c == b']')
}

/// Parse an event body into fields.
///  * `[i]: key value key value ...` (single line, e.g. H.264 DPB entries)
///  * `key value` per line; values with an unbalanced `{` continue on the
///    following lines until the matching `}` (hex dumps).
pub fn parse_fields(body: &str) -> (Option<usize>, Vec<(String, String)>) {
    let trimmed = body.trim_start();
    if let Some(rest) = trimmed.strip_prefix('[') {
        if let Some((idx, tail)) = rest.split_once("]:") {
            if let Ok(i) = idx.trim().parse::<usize>() {
                let mut fields: Vec<(String, String)> = Vec::new();
                for tok in tail.split_whitespace() {
                    let tok = tok.trim_end_matches(',');
                    if is_key(tok) {
                        fields.push((tok.to_string(), String::new()));
                    } else if let Some(last) = fields.last_mut() {
                        if !last.1.is_empty() {
                            last.1.push(' ');
                        }
                        last.1.push_str(tok);
                    }
                }
                return (Some(i), fields);
            }
        }
    }
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut open: Option<(String, String, i32)> = None;
    for line in body.lines() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if let Some((k, mut v, depth)) = open.take() {
            v.push(' ');
            v.push_str(line);
            let d = depth + line.matches('{').count() as i32 - line.matches('}').count() as i32;
            if d > 0 {
                open = Some((k, v, d));
            } else {
                fields.push((k, v));
            }
            continue;
        }
        let (k, v) = match line.split_once(char::is_whitespace) {
            Some((k, v)) => (k, v.trim()),
            None => (line, ""),
        };
        let k = k.trim_end_matches(':').to_string();
        let depth = v.matches('{').count() as i32 - v.matches('}').count() as i32;
        if depth > 0 {
            open = Some((k, v.to_string(), depth));
        } else {
            fields.push((k, v.to_string()));
        }
    }
    if let Some((k, v, _)) = open {
        fields.push((k, v));
    }
    (None, fields)
}

/// One device_run of visl.
#[derive(Debug, Clone)]
pub struct Run {
    pub pid: u32,
    pub codec: &'static CodecSpec,
    pub controls: Vec<Control>,
    /// OUTPUT (= CAPTURE) buffer timestamp in ns.
    pub timestamp: Option<u64>,
}

impl Run {
    pub fn control(&self, name: &str) -> Option<&Control> {
        self.controls.iter().find(|c| c.name == name)
    }
}

/// Decode mode of a trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Frame,
    Slice,
    Unknown,
}

impl Mode {
    pub fn parse(s: &str) -> Option<Mode> {
        match s.trim() {
            "frame" | "frame-based" | "frame_based" | "1" => Some(Mode::Frame),
            "slice" | "slice-based" | "slice_based" | "0" => Some(Mode::Slice),
            "unknown" | "" => Some(Mode::Unknown),
            _ => None,
        }
    }
    pub fn as_str(&self) -> &'static str {
        match self {
            Mode::Frame => "frame",
            Mode::Slice => "slice",
            Mode::Unknown => "unknown",
        }
    }
}

/// Normalised description of one frame.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FrameRecord {
    /// Raw OUTPUT timestamp (ns): informative only, never compared.
    pub timestamp: u64,
    /// Frame-level `control.field` -> value (from the frame's first run;
    /// the other runs are compared with it, see `run_diffs`).
    pub fields: BTreeMap<String, String>,
    /// Valid DPB entries, rendered and sorted (order is not significant).
    pub dpb: Vec<String>,
    /// Per run (slice) `control.field` -> value for slice-level controls.
    pub slices: Vec<BTreeMap<String, String>>,
    /// Frame-level fields (and `dpb`) in which a later run of the frame
    /// differs from the first: (run index, key, first run's value, its value).
    pub run_diffs: Vec<(usize, String, String, String)>,
}

/// Everything extracted from one trace.
#[derive(Debug, Clone)]
pub struct Decode {
    pub codec: Option<&'static CodecSpec>,
    pub runs: Vec<Run>,
    pub frames: Vec<FrameRecord>,
    pub mode: Mode,
    /// Number of decode-params events (one per run).
    pub decode_params_events: usize,
    pub warnings: Vec<String>,
}

fn normalise_ts(raw: &str, map: &HashMap<u64, usize>) -> String {
    let one = |s: &str| -> String {
        let s = s.trim();
        let v = if let Some(h) = s.strip_prefix("0x") { u64::from_str_radix(h, 16).ok() } else { s.parse::<u64>().ok() };
        match v.and_then(|v| map.get(&v).map(|f| (v, *f))) {
            Some((_, f)) => format!("frame {f}"),
            None => format!("ts {s}"),
        }
    };
    if let Some(inner) = raw.trim().strip_prefix('{').and_then(|r| r.strip_suffix('}')) {
        let parts: Vec<String> = inner.split(',').map(one).collect();
        format!("{{{}}}", parts.join(","))
    } else {
        one(raw)
    }
}

fn is_ts_key(k: &str) -> bool {
    k.ends_with("_ts") || k == "timestamp"
}

fn render_fields(c: &Control, map: &HashMap<u64, usize>) -> Vec<(String, String)> {
    c.fields.iter().map(|(k, v)| if is_ts_key(k) { (k.clone(), normalise_ts(v, map)) } else { (k.clone(), v.clone()) }).collect()
}

/// Build runs and frames from a parsed trace.
pub fn analyse(trace: &Trace) -> Decode {
    let mut runs: Vec<Run> = Vec::new();
    let mut open: HashMap<u32, usize> = HashMap::new();
    let mut output_qbufs: Vec<u64> = Vec::new();
    let mut warnings = Vec::new();
    let mut codec: Option<&'static CodecSpec> = None;
    if trace.lost_events > 0 {
        warnings.push(format!("{} events lost in the ring buffer", trace.lost_events));
    }
    let mut orphans = 0usize;
    for ev in &trace.events {
        handle_event(ev, &mut runs, &mut open, &mut output_qbufs, &mut codec, &mut orphans);
    }
    if orphans > 0 {
        warnings.push(format!("{orphans} visl events outside a run (trace started mid-run?)"));
    }
    // Fallback timestamp source: n-th OUTPUT qbuf.
    let missing = runs.iter().filter(|r| r.timestamp.is_none()).count();
    if missing > 0 {
        if output_qbufs.len() >= runs.len() {
            for (r, ts) in runs.iter_mut().zip(output_qbufs.iter()) {
                if r.timestamp.is_none() {
                    r.timestamp = Some(*ts);
                }
            }
            warnings.push(format!("{missing} runs without buf_done: timestamps from OUTPUT qbuf order"));
        } else {
            warnings.push(format!("{missing} runs without a timestamp"));
        }
    }
    let decode_params_events = runs.iter().filter(|r| r.control(r.codec.decode_params).is_some()).count();

    // Group runs into frames.
    let mut groups: Vec<(u64, Vec<&Run>)> = Vec::new();
    for r in &runs {
        let ts = r.timestamp.unwrap_or(u64::MAX);
        match groups.last_mut() {
            Some((t, v)) if *t == ts && ts != u64::MAX => v.push(r),
            _ => groups.push((ts, vec![r])),
        }
    }
    let mode = if groups.iter().any(|(_, v)| v.len() > 1) { Mode::Slice } else { Mode::Unknown };
    let mut map: HashMap<u64, usize> = HashMap::new();
    let mut frames = Vec::new();
    for (fi, (ts, group)) in groups.iter().enumerate() {
        map.insert(*ts, fi);
        frames.push(frame_record(*ts, group, &map));
    }
    Decode { codec, runs, frames, mode, decode_params_events, warnings }
}

fn handle_event(
    ev: &Event,
    runs: &mut Vec<Run>,
    open: &mut HashMap<u32, usize>,
    output_qbufs: &mut Vec<u64>,
    codec: &mut Option<&'static CodecSpec>,
    orphans: &mut usize,
) {
    match ev.name.as_str() {
        "vb2_buf_done" | "vb2_v4l2_buf_done" => {
            if let Some(&ri) = open.get(&ev.pid) {
                if runs[ri].timestamp.is_none() {
                    runs[ri].timestamp = kv_eq(&ev.body, "timestamp").and_then(|v| v.parse().ok());
                }
            }
            return;
        }
        "v4l2_qbuf" => {
            if kv_eq(&ev.body, "type").is_some_and(|t| t.contains("OUTPUT")) {
                if let Some(ts) = kv_eq(&ev.body, "timestamp").and_then(|v| v.parse().ok()) {
                    output_qbufs.push(ts);
                }
            }
            return;
        }
        _ => {}
    }
    let Some((spec, short)) = classify(&ev.name) else {
        return;
    };
    let (index, fields) = parse_fields(&ev.body);
    let ctl = Control { name: short, index, fields };
    if ev.name == spec.start {
        if codec.is_none() {
            *codec = Some(spec);
        }
        runs.push(Run { pid: ev.pid, codec: spec, controls: vec![ctl], timestamp: None });
        open.insert(ev.pid, runs.len() - 1);
    } else if let Some(&ri) = open.get(&ev.pid) {
        runs[ri].controls.push(ctl);
    } else {
        *orphans += 1;
    }
}

/// Frame-level content of one run: `control.field` -> value for every
/// control that is neither slice-level nor DPB, the valid DPB entries
/// (rendered, sorted) and what each DPB array index refers to.
struct FrameLevel {
    fields: BTreeMap<String, String>,
    dpb: Vec<String>,
    dpb_by_index: HashMap<usize, String>,
}

fn frame_level(run: &Run, map: &HashMap<u64, usize>) -> FrameLevel {
    let spec = run.codec;
    let mut out = FrameLevel { fields: BTreeMap::new(), dpb: Vec::new(), dpb_by_index: HashMap::new() };
    // Repeated non-indexed controls get [n].
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let dpb_name = spec.dpb.unwrap_or("");
    let mut dpb_entries: Vec<&Control> = Vec::new();
    for c in &run.controls {
        if c.name == dpb_name {
            dpb_entries.push(c);
            continue;
        }
        if spec.slice_level.contains(&c.name.as_str()) {
            continue;
        }
        let n = seen.entry(c.name.as_str()).or_insert(0);
        let cname = match (c.index, *n) {
            (Some(i), _) => format!("{}[{i}]", c.name),
            (None, 0) => c.name.clone(),
            (None, k) => format!("{}[{k}]", c.name),
        };
        *n += 1;
        for (k, v) in render_fields(c, map) {
            out.fields.insert(format!("{cname}.{k}"), v);
        }
    }
    // DPB: valid entries only, as a sorted multiset.
    let active_hevc: Option<usize> = run.control(spec.decode_params).and_then(|d| d.get("num_active_dpb_entries")).and_then(|v| v.parse().ok());
    for (occ, e) in dpb_entries.iter().enumerate() {
        let valid = match (spec.name, e.get("flags")) {
            ("h264", Some(f)) => f.split('|').any(|x| x == "VALID"),
            ("h264", None) => false,
            _ => occ < active_hevc.unwrap_or(usize::MAX),
        };
        let idx = e.index.unwrap_or(occ);
        if !valid {
            out.dpb_by_index.insert(idx, format!("invalid[{idx}]"));
            continue;
        }
        let s = render_fields(e, map).into_iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", ");
        out.dpb_by_index.insert(idx, e.get("reference_ts").map(|v| normalise_ts(v, map)).unwrap_or_else(|| s.clone()));
        out.dpb.push(s);
    }
    out.dpb.sort();
    out
}

fn frame_record(ts: u64, group: &[&Run], map: &HashMap<u64, usize>) -> FrameRecord {
    let first = group[0];
    let spec = first.codec;
    let mut rec = FrameRecord { timestamp: ts, ..Default::default() };
    // Frame-level controls: those of the first run; every other run of the
    // frame (slice-based mode: one request per slice) must carry the same,
    // what it does not is kept in `run_diffs`.
    let levels: Vec<FrameLevel> = group.iter().map(|r| frame_level(r, map)).collect();
    let (fields, dpb) = (&levels[0].fields, &levels[0].dpb);
    for (ri, other) in levels.iter().enumerate().skip(1) {
        let mut keys: Vec<&String> = fields.keys().chain(other.fields.keys()).collect();
        keys.sort();
        keys.dedup();
        for k in keys {
            let a = fields.get(k).map(String::as_str).unwrap_or("<absent>");
            let b = other.fields.get(k).map(String::as_str).unwrap_or("<absent>");
            if a != b {
                rec.run_diffs.push((ri, k.clone(), a.to_string(), b.to_string()));
            }
        }
        if other.dpb != *dpb {
            rec.run_diffs.push((ri, "dpb".to_string(), format!("[{}]", dpb.join("; ")), format!("[{}]", other.dpb.join("; "))));
        }
    }
    rec.fields = fields.clone();
    rec.dpb = dpb.clone();
    // Slice-level controls, per run (ref lists resolved through the run's
    // own DPB).
    for (r, level) in group.iter().zip(&levels) {
        let dpb_by_index = &level.dpb_by_index;
        let mut m = BTreeMap::new();
        let sp = r.control("slice_params");
        let slice_type = sp.and_then(|c| c.get("slice_type")).unwrap_or("");
        let active = |key: &str| -> usize { sp.and_then(|c| c.get(key)).and_then(|v| v.parse::<usize>().ok()).map(|v| v + 1).unwrap_or(0) };
        let mut lists: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for c in &r.controls {
            if !spec.slice_level.contains(&c.name.as_str()) {
                continue;
            }
            if spec.name == "h264" && c.name.starts_with("ref_pic_list") {
                // Only the active part of the list is meaningful; DPB indices
                // are replaced by the referenced frame.
                let (n, applies) = if c.name.ends_with('0') {
                    (active("num_ref_idx_l0_active_minus1"), matches!(slice_type, "P" | "B" | "SP"))
                } else {
                    (active("num_ref_idx_l1_active_minus1"), slice_type == "B")
                };
                let i = c.index.unwrap_or(usize::MAX);
                if applies && i < n {
                    let target = c
                        .get("index")
                        .and_then(|v| v.parse::<usize>().ok())
                        .map(|di| dpb_by_index.get(&di).cloned().unwrap_or(format!("dpb[{di}]")))
                        .unwrap_or_default();
                    lists.entry(c.name.clone()).or_default().push(format!("{}/{}", target, c.get("fields").unwrap_or("")));
                }
                continue;
            }
            let cname = match c.index {
                Some(i) => format!("{}[{i}]", c.name),
                None => c.name.clone(),
            };
            for (k, v) in render_fields(c, map) {
                m.insert(format!("{cname}.{k}"), v);
            }
        }
        for (name, entries) in lists {
            m.insert(format!("{name}.entries"), entries.join(" "));
        }
        rec.slices.push(m);
    }
    rec
}

/// Parse and analyse trace text.
pub fn analyse_text(text: &str) -> Decode {
    analyse(&crate::ftrace::parse(text))
}
