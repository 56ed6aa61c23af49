//! Every committed fuzz input through the entry points the fuzz targets
//! call (fuzz/src/lib.rs: `slice_header`, `translate`; compiled into this
//! test, so no separate build of the fuzz workspace): the seed corpus
//! (fuzz/corpus/<target>/) and the crash inputs found so far
//! (fuzz/regressions/<target>/, one file per crash, named after what it
//! broke). None may panic.
#[allow(dead_code)]
#[path = "../fuzz/src/lib.rs"]
mod fuzz;

use std::path::{Path, PathBuf};

type Target = fn(&[u8]);
const TARGETS: [(&str, Target); 3] = [("slice_header", fuzz::slice_header), ("translate", fuzz::translate), ("mpeg2_translate", fuzz::mpeg2_translate)];

fn inputs(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd.map(|e| e.unwrap().path()).filter(|p| p.is_file() && !p.extension().is_some_and(|e| e == "md")).collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => panic!("{}: {e}", dir.display()),
    };
    v.sort();
    v
}

#[test]
fn committed_fuzz_inputs_do_not_panic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut failed = Vec::new();
    let mut total = 0;
    for (name, run) in TARGETS {
        let seeds = inputs(&root.join("corpus").join(name));
        assert!(!seeds.is_empty(), "no seeds in fuzz/corpus/{name}");
        let crashes = inputs(&root.join("regressions").join(name));
        for p in seeds.iter().chain(&crashes) {
            let data = std::fs::read(p).unwrap();
            if std::panic::catch_unwind(|| run(&data)).is_err() {
                failed.push(format!("{name}: {}", p.strip_prefix(&root).unwrap_or(p).display()));
            }
        }
        eprintln!("fuzz regressions: {name}: {} seeds, {} crash inputs", seeds.len(), crashes.len());
        total += seeds.len() + crashes.len();
    }
    eprintln!("fuzz regressions: {total} inputs, {} panicked", failed.len());
    assert!(total >= 24, "only {total} inputs ran (the seed corpus alone has 24)");
    assert!(failed.is_empty(), "inputs that panic:\n{}", failed.join("\n"));
}
