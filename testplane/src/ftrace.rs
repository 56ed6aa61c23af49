//! Parsing of the text form of `/sys/kernel/tracing/trace`.
//!
//! Each event starts with a header line
//! `  <task>-<pid>  [<cpu>] <flags> <secs>.<usecs>: <event>: <payload>`;
//! visl's control events print a payload that begins with a newline, so their
//! fields follow on continuation lines (`key value`), which are appended to the
//! event's body here.

/// One trace event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub task: String,
    pub pid: u32,
    pub cpu: u32,
    /// Timestamp as printed (seconds with fraction).
    pub time: String,
    pub name: String,
    /// Payload: text after `name: ` plus all continuation lines, '\n'-joined.
    pub body: String,
}

/// A parsed trace file.
#[derive(Debug, Default, Clone)]
pub struct Trace {
    pub events: Vec<Event>,
    /// `# key: value` lines written by our tooling (e.g. `# decode_mode: slice`).
    pub annotations: Vec<(String, String)>,
    /// Number of events the kernel reported lost (`[LOST n EVENTS]`).
    pub lost_events: u64,
}

impl Trace {
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

/// Try to read an event header line. Returns None for anything else.
fn parse_header(line: &str) -> Option<Event> {
    // Locate "[NNN]" (cpu): the task name may itself contain spaces or '-'.
    let bytes = line.as_bytes();
    let mut search = 0;
    while let Some(off) = line[search..].find('[') {
        let open = search + off;
        let close = match line[open..].find(']') {
            Some(c) => open + c,
            None => return None,
        };
        let inner = &line[open + 1..close];
        let left = line[..open].trim_end();
        if !inner.is_empty() && inner.bytes().all(|b| b.is_ascii_digit()) && open > 0 && bytes[open - 1] == b' ' {
            let dash = left.rfind('-')?;
            let pid: u32 = left[dash + 1..].parse().ok()?;
            let task = left[..dash].trim().to_string();
            let cpu: u32 = inner.parse().ok()?;
            let rest = line[close + 1..].trim_start();
            // Optional flags column (e.g. "....." or "d..2."), then "secs.usecs:".
            let mut parts = rest.splitn(2, ' ');
            let first = parts.next()?;
            let (time, after) = if first.ends_with(':') && first[..first.len() - 1].contains('.') {
                (first.trim_end_matches(':'), parts.next().unwrap_or(""))
            } else {
                let rest2 = parts.next()?.trim_start();
                let mut p2 = rest2.splitn(2, ' ');
                let t = p2.next()?;
                if !t.ends_with(':') {
                    return None;
                }
                (t.trim_end_matches(':'), p2.next().unwrap_or(""))
            };
            if !time.bytes().all(|b| b.is_ascii_digit() || b == b'.') || time.is_empty() {
                return None;
            }
            let after = after.trim_start();
            let colon = after.find(':')?;
            let name = &after[..colon];
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return None;
            }
            let body = after[colon + 1..].strip_prefix(' ').unwrap_or(&after[colon + 1..]);
            return Some(Event { task, pid, cpu, time: time.to_string(), name: name.to_string(), body: body.trim_end().to_string() });
        }
        search = close + 1;
    }
    None
}

/// Parse the whole text of a trace file.
pub fn parse(text: &str) -> Trace {
    let mut t = Trace::default();
    let mut cur: Option<Event> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix('#') {
            // Our annotations look like "# key: value"; ftrace's header lines
            // (tracer, column legend) are ignored.
            if cur.is_none() {
                let rest = rest.trim();
                if let Some((k, v)) = rest.split_once(':') {
                    let k = k.trim();
                    if !k.is_empty() && k.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
                        t.annotations.push((k.to_string(), v.trim().to_string()));
                    }
                }
                continue;
            }
        }
        if line.contains("EVENTS]") && line.contains("[LOST") {
            if let Some(n) = line.split("[LOST ").nth(1).and_then(|s| s.split_whitespace().next()).and_then(|s| s.parse::<u64>().ok()) {
                t.lost_events += n;
            }
            continue;
        }
        if let Some(ev) = parse_header(line) {
            if let Some(prev) = cur.take() {
                t.events.push(prev);
            }
            cur = Some(ev);
        } else if let Some(ev) = cur.as_mut() {
            if !ev.body.is_empty() {
                ev.body.push('\n');
            }
            ev.body.push_str(line.trim_end());
        }
    }
    if let Some(prev) = cur.take() {
        t.events.push(prev);
    }
    t
}

/// Value of `key = value` in v4l2/vb2 style payloads (comma separated).
pub fn kv_eq<'a>(body: &'a str, key: &str) -> Option<&'a str> {
    let pat = format!("{key} = ");
    let mut from = 0;
    while let Some(i) = body[from..].find(&pat) {
        let at = from + i;
        // must be at a field boundary
        if at == 0 || matches!(body.as_bytes()[at - 1], b' ' | b',' | b'{') {
            let v = &body[at + pat.len()..];
            let end = v.find(',').unwrap_or(v.len());
            return Some(v[..end].trim());
        }
        from = at + pat.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_with_flags() {
        let e = parse_header("  gst-launch-1.0-231     [001] ..... 12.345678: v4l2_ctrl_h264_sps: ").unwrap();
        assert_eq!(e.task, "gst-launch-1.0");
        assert_eq!(e.pid, 231);
        assert_eq!(e.cpu, 1);
        assert_eq!(e.time, "12.345678");
        assert_eq!(e.name, "v4l2_ctrl_h264_sps");
        assert_eq!(e.body, "");
    }

    #[test]
    fn header_task_with_spaces_and_no_flags() {
        let e = parse_header("  my task-x-77 [000] 1.000001: vb2_v4l2_buf_done: minor=0 flags = , field = NONE, timestamp = 5000").unwrap();
        assert_eq!(e.task, "my task-x");
        assert_eq!(e.pid, 77);
        assert_eq!(e.name, "vb2_v4l2_buf_done");
        assert_eq!(kv_eq(&e.body, "timestamp"), Some("5000"));
    }

    #[test]
    fn continuation_lines_join() {
        let t = parse(
            "# tracer: nop\n#\n# decode_mode: frame\n kworker/0:1-9 [000] d..1. 2.5: v4l2_ctrl_h264_pps: \npic_parameter_set_id 0\nflags ENTROPY_CODING_MODE\n kworker/0:1-9 [000] d..1. 2.6: v4l2_h264_dpb_entry: [0]: reference_ts 0\n",
        );
        assert_eq!(t.events.len(), 2);
        assert_eq!(t.events[0].body, "pic_parameter_set_id 0\nflags ENTROPY_CODING_MODE");
        assert_eq!(t.annotation("decode_mode"), Some("frame"));
    }

    #[test]
    fn lost_events_counted() {
        let t = parse("CPU:1 [LOST 42 EVENTS]\n");
        assert_eq!(t.lost_events, 42);
    }
}
