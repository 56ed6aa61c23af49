//! Lifecycles: 10,000 create/decode/destroy cycles of configs, contexts,
//! surfaces, buffers, images (created and derived) and DRM PRIME exports
//! (fds closed here, as a client does) through the driver's vtable on the
//! simulator; every cycle decodes a picture (libavcodec's VA buffers for
//! the clip's IDR, recorded once and replayed: vaBeginPicture ..
//! vaEndPicture queue a request, vaSyncSurface completes it, the next
//! submission REINITs it) and syncs it. Open fds (video/media nodes,
//! request fds, dmabufs), /proc/self/maps lines (OUTPUT/CAPTURE mmaps) and
//! RSS must come back to where they were. And a long decode: 10,005 frames
//! (the 15-frame clip 667 times into one decoder, libavcodec's VA client)
//! with fds, request fds, mappings and RSS flat.
mod common;
use common::{close_fds, load_picture, record_first_picture, resources, run_child_ok, status_name, va, x264_clip, RecordedBuffer, Resources, Va, OK};
use std::mem::size_of;
use std::path::PathBuf;
use std::ptr::null_mut;
use std::time::{Duration, Instant};

const CYCLES: usize = 10_000;
const WARMUP: usize = 200;
/// RSS may move by allocator noise, not by a leak (10,000 cycles leaking
/// even 512 bytes each would be 5 MiB).
const RSS_SLACK_KIB: u64 = 3 * 1024;
/// /proc/self/maps lines may differ by a thread stack (2 lines: stack +
/// guard): the simulator's worker thread of the last closed device may still
/// be exiting, and glibc caches stacks of exited threads. A leaked mapping
/// per cycle would add thousands of lines.
const MAPS_SLACK: usize = 4;

fn ok(what: &str, s: va::VAStatus) {
    assert_eq!(s, OK, "{what}: {}", status_name(s));
}

/// The clip every cycle decodes the first picture of (IDR every 5, no B).
fn clip() -> PathBuf {
    x264_clip(320, 240, 15, 5)
}

/// A config for the clip's profile (x264's default, High): the driver
/// derives the SPS profile_idc from it.
fn high_config(v: &Va) -> u32 {
    let (s, id) = v.create_config(va::VAProfileH264High);
    ok("vaCreateConfig(High)", s);
    id
}

const PICTURE_ENV: &str = "HANTRO_TEST_PICTURE";
/// Cycles of `child_lifecycle` (default [`CYCLES`]).
const CYCLES_ENV: &str = "HANTRO_TEST_LIFECYCLE_CYCLES";
/// Set by tests/memcheck.rs when it runs `child_lifecycle` under valgrind.
const UNDER_VALGRIND_ENV: &str = "HANTRO_TEST_UNDER_VALGRIND";

/// In a child: the recorded picture the parent passed.
fn picture() -> Vec<RecordedBuffer> {
    load_picture(&PathBuf::from(std::env::var_os(PICTURE_ENV).expect("HANTRO_TEST_PICTURE")))
}

/// Lines the driver logs per picture the device decoded
/// (HANTRO_LOG=hantro_drv_video::decoded=info).
fn decoded_lines(stderr: &str) -> usize {
    stderr.lines().filter(|l| l.contains("decoded a picture into CAPTURE buffer")).count()
}
const DECODED_LOG: &str = "error,hantro_drv_video::decoded=info";

/// One full cycle. `variant` rotates what is done so every object kind and
/// both export layouts are exercised with different orders of destruction.
fn cycle(v: &Va, i: usize, pic: &[RecordedBuffer]) {
    let cfg = high_config(v);
    let mut surf = v.surfaces(320, 240, 4);
    // Half the cycles create the context with render targets, half without
    // (ffmpeg 7 style: the context adopts the surfaces' session).
    let ctx = if i % 2 == 0 { v.context(cfg, 320, 240, &mut surf) } else { v.context(cfg, 320, 240, &mut []) };

    // A picture decoded and synced (into a different surface each cycle).
    if let Err((what, s)) = v.decode(ctx, surf[i % 4], pic) {
        panic!("cycle {i}: {what}: {}", status_name(s));
    }

    // Parameter buffers: create with and without data, map, write, unmap.
    let pp = va::VAPictureParameterBufferH264::default();
    // SAFETY: plain C struct viewed as bytes.
    let ppb = unsafe { std::slice::from_raw_parts(&pp as *const _ as *const u8, size_of::<va::VAPictureParameterBufferH264>()) };
    let b1 = v.buffer(ctx, va::VAPictureParameterBufferType, ppb.len() as u32, 1, Some(ppb));
    let b2 = v.buffer(ctx, va::VASliceDataBufferType, 4096, 1, None);
    let mut p: *mut libc::c_void = null_mut();
    ok("vaMapBuffer", vcall!(v, vaMapBuffer, b2, &mut p));
    // SAFETY: the driver mapped 4096 writable bytes.
    unsafe { std::ptr::write_bytes(p as *mut u8, 0x5a, 4096) };
    ok("vaUnmapBuffer", vcall!(v, vaUnmapBuffer, b2));

    // A created image read from and written to a surface.
    let (s, img) = v.create_image(320, 240);
    ok("vaCreateImage", s);
    ok("vaGetImage", vcall!(v, vaGetImage, surf[0], 0, 0, 320, 240, img.image_id));
    ok("vaPutImage", vcall!(v, vaPutImage, surf[1], img.image_id, 0, 0, 64, 64, 0, 0, 64, 64));

    // A derived image, mapped (persistent CAPTURE mapping + DMA-BUF sync).
    let (s, der) = v.derive_image(surf[2]);
    ok("vaDeriveImage", s);
    ok("vaMapBuffer(derived)", vcall!(v, vaMapBuffer, der.buf, &mut p));
    // SAFETY: the mapping covers data_size bytes of the CAPTURE buffer.
    let _ = unsafe { std::ptr::read_volatile(p as *const u8) };
    if i % 3 != 0 {
        ok("vaUnmapBuffer(derived)", vcall!(v, vaUnmapBuffer, der.buf)); // else destroyed while mapped
    }

    // Exports: composed and separate layers; the client closes the fds.
    for (k, flags) in [va::VA_EXPORT_SURFACE_COMPOSED_LAYERS, va::VA_EXPORT_SURFACE_SEPARATE_LAYERS].into_iter().enumerate() {
        let (s, d) = v.export(surf[(i + k) % 4], flags);
        ok("vaExportSurfaceHandle", s);
        assert!(d.num_objects >= 1 && d.objects[0].fd >= 0);
        close_fds(&d);
    }

    // Tear down in an order that varies with i.
    ok("vaDestroyImage(derived)", vcall!(v, vaDestroyImage, der.image_id));
    ok("vaDestroyImage", vcall!(v, vaDestroyImage, img.image_id));
    if i % 4 == 1 {
        // buffers outliving the context are destroyed after it
        ok("vaDestroyContext", vcall!(v, vaDestroyContext, ctx));
        ok("vaDestroyBuffer", vcall!(v, vaDestroyBuffer, b1));
        ok("vaDestroyBuffer", vcall!(v, vaDestroyBuffer, b2));
        ok("vaDestroySurfaces", vcall!(v, vaDestroySurfaces, surf.as_mut_ptr(), 4));
    } else {
        ok("vaDestroyBuffer", vcall!(v, vaDestroyBuffer, b1));
        ok("vaDestroyBuffer", vcall!(v, vaDestroyBuffer, b2));
        ok("vaDestroySurfaces", vcall!(v, vaDestroySurfaces, surf.as_mut_ptr(), 4));
        ok("vaDestroyContext", vcall!(v, vaDestroyContext, ctx));
    }
    ok("vaDestroyConfig", vcall!(v, vaDestroyConfig, cfg));
}

fn report(label: &str, a: Resources, b: Resources) {
    println!("{label}: fds {} -> {}, maps {} -> {}, RSS {} KiB -> {} KiB", a.fds, b.fds, a.maps, b.maps, a.rss_kib, b.rss_kib);
}

#[test]
fn lifecycle_10000_cycles() {
    let dir = record_first_picture(&clip());
    let t = Instant::now();
    let (out, err) =
        run_child_ok("child_lifecycle", &[("HANTRO_LOG", DECODED_LOG), ("HANTRO_SIM_SKIP_PIXELS", "1"), (PICTURE_ENV, &dir.display().to_string())]);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(out.contains("lifecycle: ok"), "{out}");
    // every cycle's picture went through the (simulated) device
    // (+ 1: the picture decoded before vaTerminate with live objects)
    assert_eq!(decoded_lines(&err), WARMUP + CYCLES + 1, "pictures the driver saw decoded");
    for l in out.lines().filter(|l| l.contains("->") || l.contains("cycles in")) {
        eprintln!("{l}");
    }
    eprintln!("{} pictures decoded, child finished in {:.1} s", WARMUP + CYCLES + 1, t.elapsed().as_secs_f64());
}

/// The replayed picture is the clip's first frame, bit for bit: the cycles
/// decode for real (their child skips the pixels for speed).
#[test]
fn replayed_picture_is_bit_exact() {
    let dir = record_first_picture(&clip());
    let want = common::reference_nv12(&clip());
    let fs = common::nv12_frame_size(320, 240);
    let ref0 = dir.join("reference0.nv12");
    std::fs::write(&ref0, &want[..fs]).unwrap();
    let (out, _) = run_child_ok("child_replayed_picture_is_bit_exact", &[("HANTRO_LOG", "error"), (PICTURE_ENV, &dir.display().to_string())]);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(out.contains("replay: 8 pictures bit-exact"), "{out}");
}

#[test]
fn child_replayed_picture_is_bit_exact() {
    if !common::child("child_replayed_picture_is_bit_exact") {
        return;
    }
    let want = std::fs::read(PathBuf::from(std::env::var_os(PICTURE_ENV).unwrap()).join("reference0.nv12")).unwrap();
    let pic = picture();
    let v = Va::init_ok();
    for i in 0..2 {
        let cfg = high_config(&v);
        let mut surf = v.surfaces(320, 240, 4);
        let ctx = v.context(cfg, 320, 240, &mut surf);
        for &s in &surf {
            v.decode(ctx, s, &pic).unwrap_or_else(|(w, st)| panic!("round {i}: {w}: {}", status_name(st)));
            let got = v.read_nv12(s, 320, 240);
            if got != want {
                let first = got.iter().zip(&want).position(|(a, b)| a != b);
                panic!("round {i}: surface {s:#x} differs from frame 0 of the clip ({} vs {} bytes, first difference at {first:?})", got.len(), want.len());
            }
        }
        ok("vaDestroyContext", vcall!(v, vaDestroyContext, ctx));
        ok("vaDestroySurfaces", vcall!(v, vaDestroySurfaces, surf.as_mut_ptr(), 4));
        ok("vaDestroyConfig", vcall!(v, vaDestroyConfig, cfg));
    }
    ok("vaTerminate", v.terminate());
    println!("replay: 8 pictures bit-exact");
}

#[test]
fn child_lifecycle() {
    if !common::child("child_lifecycle") {
        return;
    }
    let pic = picture();
    // tests/memcheck.rs runs this child under valgrind with fewer cycles
    let cycles: usize = std::env::var(CYCLES_ENV).ok().and_then(|v| v.parse().ok()).unwrap_or(CYCLES);
    let warmup = WARMUP.min(cycles / 5);
    let start = resources();
    let v = Va::init_ok();
    for i in 0..warmup {
        cycle(&v, i, &pic);
    }
    let before = resources();
    let t = std::time::Instant::now();
    for i in 0..cycles {
        cycle(&v, i, &pic);
        if i == cycles / 2 {
            let mid = resources();
            assert_eq!(mid.fds, before.fds, "fds grew by cycle {i}");
        }
    }
    let el = t.elapsed();
    let after = resources();
    println!("{cycles} cycles in {:.1} s ({:.2} ms/cycle)", el.as_secs_f64(), el.as_secs_f64() * 1000.0 / cycles as f64);
    report(&format!("after warm-up vs after {cycles} cycles"), before, after);
    assert_eq!(after.fds, before.fds, "fd leak");
    // Under valgrind (tests/memcheck.rs) mappings and RSS are valgrind's as
    // much as ours (its translation cache and shadow memory grow with the
    // run): not checked there; memcheck's leak check covers the heap.
    if std::env::var_os(UNDER_VALGRIND_ENV).is_none() {
        assert!(after.maps <= before.maps + MAPS_SLACK, "mapping leak");
        assert!(after.rss_kib <= before.rss_kib + RSS_SLACK_KIB, "RSS grew by {} KiB", after.rss_kib - before.rss_kib);
    }

    // vaTerminate with objects still alive releases everything too.
    let cfg = high_config(&v);
    let mut surf = v.surfaces(320, 240, 4);
    let _ctx = v.context(cfg, 320, 240, &mut surf);
    v.decode(_ctx, surf[1], &pic).unwrap_or_else(|(w, s)| panic!("{w}: {}", status_name(s)));
    let _ = v.derive_image(surf[0]);
    let _ = v.create_image(64, 64);
    let _ = v.buffer(_ctx, va::VASliceDataBufferType, 1024, 1, None);
    ok("vaTerminate", v.terminate());
    drop(v);
    let end = resources();
    report("before vaInitialize vs after vaTerminate with live objects", start, end);
    assert_eq!(end.fds, start.fds, "fds left after vaTerminate");
    println!("lifecycle: ok");
}

/// A client that destroys a surface while an image derived from it still
/// exists (VA does not forbid it): the image, its buffer and the CAPTURE
/// buffer must all go, or every such cycle pins a whole session.
#[test]
fn surface_destroyed_before_its_derived_image() {
    let (out, _) = run_child_ok("child_surface_destroyed_before_its_derived_image", &[("HANTRO_LOG", "error")]);
    assert!(out.contains("derived: ok"), "{out}");
}

#[test]
fn child_surface_destroyed_before_its_derived_image() {
    if !common::child("child_surface_destroyed_before_its_derived_image") {
        return;
    }
    let v = Va::init_ok();
    let run = |n: usize| {
        for _ in 0..n {
            let cfg = v.config();
            let mut surf = v.surfaces(320, 240, 2);
            let ctx = v.context(cfg, 320, 240, &mut surf);
            let (s, der) = v.derive_image(surf[0]);
            ok("vaDeriveImage", s);
            ok("vaDestroySurfaces", vcall!(v, vaDestroySurfaces, surf.as_mut_ptr(), 2));
            // the image went with its surface
            assert_eq!(vcall!(v, vaDestroyImage, der.image_id) as u32, va::VA_STATUS_ERROR_INVALID_IMAGE);
            ok("vaDestroyContext", vcall!(v, vaDestroyContext, ctx));
            ok("vaDestroyConfig", vcall!(v, vaDestroyConfig, cfg));
        }
    };
    run(20);
    let before = resources();
    run(500);
    let after = resources();
    report("500 cycles destroying a surface before its derived image", before, after);
    assert_eq!(after.fds, before.fds, "fd leak");
    assert!(after.maps <= before.maps + MAPS_SLACK, "mapping leak");
    ok("vaTerminate", v.terminate());
    println!("derived: ok");
}

/// A long decode through libavcodec's VA client: the 15-frame clip 667
/// times into one decoder, 10,005 frames,
/// no pixels (HANTRO_SIM_SKIP_PIXELS; controls are still checked). Every
/// frame syncs fine and went through the device; from the first sample on
/// (frame 1000) fds, request fds (the pool's 4, HANTRO_OUTPUT_POOL_MAX=4,
/// allocated on first use), mappings and RSS stay flat, and the client's
/// fd table after vaTerminate is the one before. One thread (--serial):
/// the samples are taken between pictures, not while another thread is in
/// the middle of a REINIT (the simulator swaps the request's socket) or a
/// session's setup.
#[test]
fn long_decode_10005_frames() {
    const LOOPS: usize = 667;
    const FRAMES: usize = 15 * LOOPS;
    /// RSS may move by allocator noise (libavcodec's too), not by a leak:
    /// 9,000 frames leaking even 128 bytes each would be 1.1 MiB.
    const RSS_SLACK_KIB: i64 = 1024;
    let out = std::env::temp_dir().join(format!("hantro-lifecycle-long-{}", std::process::id()));
    std::fs::create_dir_all(&out).unwrap();
    let mut c = std::process::Command::new(common::vaclient());
    c.args(["--sync-check", "--serial", "--no-output", "--stats-every", "1000", "--loop", &LOOPS.to_string()]).arg(&out).arg(clip());
    for (k, v) in common::va_env() {
        c.env(k, v);
    }
    c.env("HANTRO_SIM_QUIET", "1").env("HANTRO_LOG", DECODED_LOG).env("HANTRO_SIM_SKIP_PIXELS", "1").env("HANTRO_OUTPUT_POOL_MAX", "4");
    let t = Instant::now();
    let o = c.output().expect("vaclient");
    let secs = t.elapsed().as_secs_f64();
    let _ = std::fs::remove_dir_all(&out);
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    assert!(secs < Duration::from_secs(240).as_secs_f64(), "took {secs:.0} s");
    let bad: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("frame ") && !l.ends_with(" sync=0") || l.starts_with("decode-error") || l.starts_with("leaked fd"))
        .take(20)
        .collect();
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    assert_eq!(stdout.lines().filter(|l| l.starts_with("frame 0 ") && l.ends_with(" sync=0")).count(), FRAMES);
    assert!(stdout.contains(&format!("stream 0 frames={FRAMES} errors=0")), "{stdout}");
    assert_eq!(decoded_lines(&stderr), FRAMES, "pictures the driver saw decoded");
    // stats frames=<n> fds=<n> sockets=<n> maps=<n> rss_kib=<n>
    let stats: Vec<Vec<i64>> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("stats "))
        .map(|l| l.split_whitespace().map(|kv| kv.split_once('=').and_then(|(_, v)| v.parse().ok()).unwrap_or(-1)).collect())
        .collect();
    assert_eq!(stats.len(), FRAMES / 1000, "{stdout}");
    let (first, last) = (&stats[0], &stats[stats.len() - 1]);
    for s in &stats {
        assert_eq!((s[1], s[2], s[3]), (first[1], first[2], first[3]), "fds/sockets/maps moved at frame {}: {s:?} vs {first:?} at frame {}", s[0], first[0]);
    }
    // each request fd is a socket whose other end the simulator keeps
    assert_eq!(first[2], 2 * 4, "sockets: the pool's 4 requests");
    assert!(last[4] - first[4] <= RSS_SLACK_KIB, "RSS grew by {} KiB from frame {} to {}", last[4] - first[4], first[0], last[0]);
    eprintln!(
        "{FRAMES} frames in {secs:.1} s ({:.2} ms/frame): frame {} -> {}: fds {} -> {}, request sockets {} -> {}, maps {} -> {}, RSS {} KiB -> {} KiB",
        secs * 1000.0 / FRAMES as f64,
        first[0],
        last[0],
        first[1],
        last[1],
        first[2],
        last[2],
        first[3],
        last[3],
        first[4],
        last[4]
    );
}
