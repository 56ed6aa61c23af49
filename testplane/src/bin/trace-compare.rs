//! trace-compare: compare two visl traces (/sys/kernel/tracing/trace text).
//!
//!   trace-compare [--ref-mode M] [--ours-mode M] [--ignore KEY]... REFERENCE OURS
//!   trace-compare --dump TRACE
//!
//! Prints `frame N control.field: reference=X ours=Y` for every difference and
//! `frames equal: X/Y` last; exits 0 only when all frames are equal.
//! M is frame|slice; KEY is `control` or `control.field` (e.g. `decode_params.
//! dec_ref_pic_marking_bit_size`). Exit status: 0 equal, 1 different, 2 usage
//! or I/O error.

use std::io::Write;
use std::process::ExitCode;
use testplane::compare::{compare_texts, dump, Options};
use testplane::visl::{analyse_text, Mode};

fn usage() -> ExitCode {
    eprintln!("usage: trace-compare [--ref-mode frame|slice] [--ours-mode frame|slice] [--ignore KEY]... REFERENCE OURS\n       trace-compare --dump TRACE");
    ExitCode::from(2)
}

fn read(path: &str) -> Result<String, ExitCode> {
    std::fs::read_to_string(path).map_err(|e| {
        eprintln!("trace-compare: {path}: {e}");
        ExitCode::from(2)
    })
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut opts = Options::default();
    let mut files = Vec::new();
    let mut dump_mode = false;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--dump" => dump_mode = true,
            "--ref-mode" | "--ours-mode" => {
                let Some(m) = args.next().as_deref().and_then(Mode::parse) else {
                    return usage();
                };
                if a == "--ref-mode" {
                    opts.ref_mode = Some(m);
                } else {
                    opts.ours_mode = Some(m);
                }
            }
            "--ignore" => match args.next() {
                Some(k) => opts.ignore.push(k),
                None => return usage(),
            },
            "-h" | "--help" => {
                usage();
                return ExitCode::SUCCESS;
            }
            _ if a.starts_with("--") => return usage(),
            _ => files.push(a),
        }
    }
    if dump_mode {
        let [f] = files.as_slice() else {
            return usage();
        };
        let text = match read(f) {
            Ok(t) => t,
            Err(c) => return c,
        };
        let _ = std::io::stdout().lock().write_all(dump(&analyse_text(&text)).as_bytes());
        return ExitCode::SUCCESS;
    }
    let [a, b] = files.as_slice() else {
        return usage();
    };
    let (ta, tb) = match (read(a), read(b)) {
        (Ok(x), Ok(y)) => (x, y),
        (Err(c), _) | (_, Err(c)) => return c,
    };
    let report = compare_texts(&ta, &tb, &opts);
    let _ = std::io::stdout().lock().write_all(report.text().as_bytes());
    if report.all_equal() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
