//! Lifecycles: 10,000 create/destroy cycles of configs, contexts, surfaces,
//! buffers, images (created and derived) and DRM PRIME exports (fds closed
//! here, as a client does) through the driver's vtable on the simulator.
//! Open fds (video/media nodes, request fds, dmabufs), /proc/self/maps
//! lines (OUTPUT/CAPTURE mmaps) and RSS must come back to where they were.
mod common;
use common::{close_fds, resources, run_child_ok, status_name, va, Resources, Va, OK};
use std::mem::size_of;
use std::ptr::null_mut;

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

/// One full cycle. `variant` rotates what is done so every object kind and
/// both export layouts are exercised with different orders of destruction.
fn cycle(v: &Va, i: usize) {
    let cfg = v.config();
    let mut surf = v.surfaces(320, 240, 4);
    // Half the cycles create the context with render targets, half without
    // (ffmpeg 7 style: the context adopts the surfaces' session).
    let ctx = if i % 2 == 0 { v.context(cfg, 320, 240, &mut surf) } else { v.context(cfg, 320, 240, &mut []) };

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
    let (out, _) = run_child_ok("child_lifecycle", &[("HANTRO_LOG", "error")]);
    assert!(out.contains("lifecycle: ok"), "{out}");
    for l in out.lines().filter(|l| l.contains("->") || l.contains("cycles in")) {
        eprintln!("{l}");
    }
}

#[test]
fn child_lifecycle() {
    if !common::child("child_lifecycle") {
        return;
    }
    let start = resources();
    let v = Va::init_ok();
    for i in 0..WARMUP {
        cycle(&v, i);
    }
    let before = resources();
    let t = std::time::Instant::now();
    for i in 0..CYCLES {
        cycle(&v, i);
        if i == CYCLES / 2 {
            let mid = resources();
            assert_eq!(mid.fds, before.fds, "fds grew by cycle {i}");
        }
    }
    let el = t.elapsed();
    let after = resources();
    println!("{CYCLES} cycles in {:.1} s ({:.2} ms/cycle)", el.as_secs_f64(), el.as_secs_f64() * 1000.0 / CYCLES as f64);
    report("after warm-up vs after 10,000 cycles", before, after);
    assert_eq!(after.fds, before.fds, "fd leak");
    assert!(after.maps <= before.maps + MAPS_SLACK, "mapping leak");
    assert!(after.rss_kib <= before.rss_kib + RSS_SLACK_KIB, "RSS grew by {} KiB", after.rss_kib - before.rss_kib);

    // vaTerminate with objects still alive releases everything too.
    let cfg = v.config();
    let mut surf = v.surfaces(320, 240, 4);
    let _ctx = v.context(cfg, 320, 240, &mut surf);
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
