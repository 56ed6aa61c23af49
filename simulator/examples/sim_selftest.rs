//! Decodes an Annex-B H.264 file through the emulated device with the
//! simulator's own client and prints per-frame MD5s in output order (same
//! format as the last column of `ffmpeg -f framemd5`) plus timing.
//!
//!   cargo run --release -p hantro_sim --example sim_selftest -- FILE.h264 \
//!       [hantro-g1|rkvdec|cedrus] [--skip-pixels] [--decode-us N]
use hantro_sim::client::{self, Options};
use hantro_sim::ctrls::Personality;
use hantro_sim::device::{Config, Sim};
use hantro_sim::md5::md5_hex;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.first() else {
        eprintln!("usage: sim_selftest FILE.h264 [hantro-g1|rkvdec|cedrus] [--skip-pixels] [--decode-us N]");
        std::process::exit(2);
    };
    let p = match args.iter().find(|a| matches!(a.as_str(), "rkvdec" | "cedrus" | "hantro-g1")).map(|s| s.as_str()) {
        Some("rkvdec") => Personality::Rkvdec,
        Some("cedrus") => Personality::Cedrus,
        _ => Personality::HantroG1,
    };
    let mut cfg = Config::for_test(p, "selftest");
    cfg.quiet = false;
    cfg.skip_pixels = args.iter().any(|a| a == "--skip-pixels");
    if let Some(i) = args.iter().position(|a| a == "--decode-us") {
        cfg.decode_us = args.get(i + 1).and_then(|s| s.parse().ok()).unwrap_or(0);
    }
    let sim = Sim::new(cfg);
    let data = std::fs::read(path).expect("read stream");
    let t = std::time::Instant::now();
    let frames = client::run(&sim, &data, &Options::default()).unwrap_or_else(|e| {
        eprintln!("decode failed: {e}");
        std::process::exit(1);
    });
    let el = t.elapsed();
    let errors = frames.iter().filter(|f| f.error).count();
    for f in client::output_order(frames.clone()) {
        println!("{}{}", md5_hex(&f.i420), if f.error { " ERROR" } else { "" });
    }
    eprintln!(
        "{} frames in {:.3} s ({:.1} fps, {:.2} ms/frame), {} flagged ERROR, personality {}",
        frames.len(),
        el.as_secs_f64(),
        frames.len() as f64 / el.as_secs_f64(),
        el.as_secs_f64() * 1000.0 / frames.len().max(1) as f64,
        errors,
        p.driver()
    );
    if errors > 0 {
        std::process::exit(1);
    }
}
