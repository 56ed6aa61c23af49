//! Benchmark counters (cargo feature `bench-counters`, off by default):
//! bytes the driver copies (bitstream into OUTPUT buffers, pictures by
//! vaGetImage/vaPutImage), DMA-BUF exports, requests in flight, buffer
//! counts, and — through a counting global allocator — every heap
//! allocation the driver makes. Each vaEndPicture records its time and the
//! allocation count so far in fixed arrays (no allocation), which gives the
//! steady-state rate and allocations per frame.
//!
//! Read-out: [`report`] runs at vaTerminate and appends one line of
//! `key=value` pairs to the file named by `HANTRO_BENCH_OUT` (stderr when
//! unset); `hantro_bench_counters` returns the raw counters to a client
//! that looks the symbol up with dlsym.
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

macro_rules! counters {
    ($($name:ident),* $(,)?) => {
        #[allow(non_camel_case_types, clippy::upper_case_acronyms)]
        #[derive(Clone, Copy)]
        #[repr(usize)]
        enum C { $($name),*, NUM }
        const NAMES: [&str; C::NUM as usize] = [$(stringify!($name)),*];
    };
}

counters!(
    bitstream_bytes,
    bitstream_copies,
    picture_bytes,
    picture_copies,
    exports,
    requests,
    in_flight_sum,
    in_flight_max,
    idle_submits,
    output_buffers_max,
    capture_buffers_max,
    allocs,
    alloc_bytes,
    frees,
    live_bytes,
    live_bytes_peak,
);

static COUNTERS: [AtomicU64; C::NUM as usize] = [const { AtomicU64::new(0) }; C::NUM as usize];

/// Frames whose vaEndPicture time and allocation count are kept.
const MAX_FRAMES: usize = 16384;
static FRAMES: AtomicU64 = AtomicU64::new(0);
static FRAME_NS: [AtomicU64; MAX_FRAMES] = [const { AtomicU64::new(0) }; MAX_FRAMES];
static FRAME_ALLOCS: [AtomicU64; MAX_FRAMES] = [const { AtomicU64::new(0) }; MAX_FRAMES];

fn add(c: C, n: u64) {
    COUNTERS[c as usize].fetch_add(n, Relaxed);
}

fn max(c: C, n: u64) {
    COUNTERS[c as usize].fetch_max(n, Relaxed);
}

fn get(c: C) -> u64 {
    COUNTERS[c as usize].load(Relaxed)
}

/// One copy of `bytes` bitstream bytes by the driver.
pub fn add_bitstream(bytes: usize) {
    add(C::bitstream_bytes, bytes as u64);
    add(C::bitstream_copies, 1);
}

/// One picture copy of `bytes` bytes by the driver (vaGetImage/vaPutImage).
pub fn add_picture(bytes: usize) {
    add(C::picture_bytes, bytes as u64);
    add(C::picture_copies, 1);
}

/// One vaExportSurfaceHandle.
pub fn add_export() {
    add(C::exports, 1);
}

/// A request was queued; `in_flight` requests (this one included) are
/// now outstanding.
pub fn request_queued(in_flight: usize) {
    add(C::requests, 1);
    add(C::in_flight_sum, in_flight as u64);
    max(C::in_flight_max, in_flight as u64);
    if in_flight <= 1 {
        // nothing else queued: the decoder was idle (or about to be)
        add(C::idle_submits, 1);
    }
}

/// The session now owns `output` OUTPUT and `capture` CAPTURE buffers.
pub fn buffers(output: usize, capture: usize) {
    max(C::output_buffers_max, output as u64);
    max(C::capture_buffers_max, capture as u64);
}

fn now_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes one timespec on the stack.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// vaEndPicture queued a picture.
pub fn frame_submitted() {
    let i = FRAMES.fetch_add(1, Relaxed) as usize;
    if i < MAX_FRAMES {
        FRAME_NS[i].store(now_ns(), Relaxed);
        FRAME_ALLOCS[i].store(get(C::allocs), Relaxed);
    }
}

/// The counters in the order of the report line, then the number of
/// frames. Returns how many values a full read-out has.
///
/// # Safety
/// `out` must point to `n` writable u64 (or be NULL with n == 0).
#[no_mangle]
pub unsafe extern "C" fn hantro_bench_counters(out: *mut u64, n: usize) -> usize {
    let total = C::NUM as usize + 1;
    if !out.is_null() {
        let values = COUNTERS.iter().map(|c| c.load(Relaxed)).chain(std::iter::once(FRAMES.load(Relaxed)));
        for (i, v) in values.take(n).enumerate() {
            // SAFETY: i < n, and the caller passes n writable elements.
            unsafe { *out.add(i) = v };
        }
    }
    total
}

/// The steady-state window: frames [first, last] (a quarter of the frames
/// skipped for warm-up, the last one excluded as the flush may differ).
fn window(frames: usize) -> Option<(usize, usize)> {
    let n = frames.min(MAX_FRAMES);
    if n < 8 {
        return None;
    }
    Some((n / 4, n - 2))
}

/// The report line: every counter, frame count, and the steady-state
/// throughput (`steady_fps`) and heap allocations per frame.
pub fn report_line() -> String {
    use std::fmt::Write;
    let frames = FRAMES.load(Relaxed) as usize;
    let mut s = format!("frames={frames}");
    for (i, name) in NAMES.iter().enumerate() {
        let _ = write!(s, " {name}={}", COUNTERS[i].load(Relaxed));
    }
    if let Some((a, b)) = window(frames) {
        let dt = FRAME_NS[b].load(Relaxed).saturating_sub(FRAME_NS[a].load(Relaxed));
        let da = FRAME_ALLOCS[b].load(Relaxed).saturating_sub(FRAME_ALLOCS[a].load(Relaxed));
        let nf = (b - a) as f64;
        let fps = if dt > 0 { nf * 1e9 / dt as f64 } else { 0.0 };
        let _ = write!(s, " steady_first={a} steady_last={b} steady_fps={fps:.2} steady_allocs_per_frame={:.3}", da as f64 / nf);
    }
    s
}

/// Appends the report line to `$HANTRO_BENCH_OUT` (stderr when unset).
pub fn report() {
    let line = report_line();
    match std::env::var_os("HANTRO_BENCH_OUT") {
        Some(path) => {
            use std::io::Write;
            let r = std::fs::OpenOptions::new().create(true).append(true).open(&path).and_then(|mut f| writeln!(f, "{line}"));
            if let Err(e) = r {
                eprintln!("hantro-bench: cannot write {}: {e}", path.to_string_lossy());
            }
        }
        None => eprintln!("hantro-bench: {line}"),
    }
}

/// Counts every allocation of the driver's Rust code (the library's
/// global allocator when the feature is on); forwards to the system one.
pub struct CountingAlloc;

impl CountingAlloc {
    fn on_alloc(size: usize) {
        add(C::allocs, 1);
        add(C::alloc_bytes, size as u64);
        let live = COUNTERS[C::live_bytes as usize].fetch_add(size as u64, Relaxed) + size as u64;
        max(C::live_bytes_peak, live);
    }
    fn on_free(size: usize) {
        add(C::frees, 1);
        COUNTERS[C::live_bytes as usize].fetch_sub(size as u64, Relaxed);
    }
}

// SAFETY: every call forwards to System with the caller's layout; the
// counters have no influence on the memory returned.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        Self::on_alloc(layout.size());
        // SAFETY: forwarded contract.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        Self::on_alloc(layout.size());
        // SAFETY: forwarded contract.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        Self::on_free(layout.size());
        // SAFETY: forwarded contract.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // A realloc is counted as one allocation (it may move).
        Self::on_alloc(new_size);
        COUNTERS[C::live_bytes as usize].fetch_sub(layout.size() as u64, Relaxed);
        // SAFETY: forwarded contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn counts_allocations_and_copies() {
        let before = get(C::allocs);
        let v: Vec<u8> = Vec::with_capacity(1000);
        assert!(get(C::allocs) > before);
        drop(v);
        let b0 = get(C::bitstream_bytes);
        add_bitstream(123);
        assert_eq!(get(C::bitstream_bytes) - b0, 123);
        let line = report_line();
        assert!(line.contains("bitstream_bytes="), "{line}");
        let mut out = [0u64; 32];
        // SAFETY: 32 writable elements.
        let n = unsafe { hantro_bench_counters(out.as_mut_ptr(), out.len()) };
        assert_eq!(n, NAMES.len() + 1);
    }
}
