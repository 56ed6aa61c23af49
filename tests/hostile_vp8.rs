//! Hostile VP8 input through the driver's vtable, with the simulator
//! (hantro-g1) behind it (the test re-executes itself with libhantro_sim.so
//! preloaded). The VA buffers libavcodec renders for the first frame of a
//! VP8 corpus stream are recorded (vaclient, VACLIENT_DUMP_VA) and replayed:
//! unchanged they decode; truncated, corrupted, out of range, or as an inter
//! frame whose references were never decoded, every call returns a VA
//! status (an error where the input is wrong), nothing crashes or hangs,
//! no fd leaks, and the driver decodes the good frame again afterwards.
mod common;
#[allow(dead_code)]
#[path = "../fuzz/src/lib.rs"]
mod fuzz;
use common::{record_first_picture, run_child_ok, status_name, va, RecordedBuffer, St, Va, OK};
use std::mem::size_of;
use std::path::PathBuf;
use std::process::Command;

fn vp8_stream() -> PathBuf {
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/root"));
    let cache = std::env::var_os("HANTRO_CACHE").map(PathBuf::from).unwrap_or_else(|| home.join(".cache/hantro"));
    let dir = cache.join("corpus-vp8");
    std::fs::create_dir_all(&cache).unwrap();
    let o = Command::new("flock")
        .arg(cache.join("corpus-vp8.lock"))
        .arg("bash")
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/corpus-vp8.sh"))
        .arg(&dir)
        .output()
        .expect("run scripts/corpus-vp8.sh");
    assert!(o.status.success(), "scripts/corpus-vp8.sh failed: {}", String::from_utf8_lossy(&o.stderr));
    dir.join("partitions2.ivf")
}

/// Reads a `T` out of a recorded buffer, changes it, writes it back.
fn edit<T: Copy>(data: &mut [u8], f: impl FnOnce(&mut T)) {
    assert!(data.len() >= size_of::<T>(), "recorded buffer shorter than its struct");
    // SAFETY: the recorded bytes hold a T (checked length; unaligned access).
    unsafe {
        let p = data.as_mut_ptr() as *mut T;
        let mut v = std::ptr::read_unaligned(p);
        f(&mut v);
        std::ptr::write_unaligned(p, v);
    }
}

/// One replay of the recorded frame into `target`, with `change` applied to
/// the buffers first (it may drop some). Returns the first failing status
/// (or vaSyncSurface's).
fn replay(v: &Va, ctx: u32, target: u32, pic: &[RecordedBuffer], change: &dyn Fn(&mut Vec<RecordedBuffer>)) -> St {
    let mut bufs = pic.to_vec();
    change(&mut bufs);
    let s = vcall!(v, vaBeginPicture, ctx, target);
    if s != OK {
        return s;
    }
    let mut ids = Vec::new();
    let mut status = OK;
    for b in &bufs {
        let (s, id) = v.create_buffer(ctx, b.ty, b.data.len() as u32 / b.num.max(1), b.num, Some(&b.data));
        if s != OK {
            status = s;
            break;
        }
        ids.push(id);
    }
    if status == OK {
        status = vcall!(v, vaRenderPicture, ctx, ids.as_mut_ptr(), ids.len() as i32);
    }
    let end = vcall!(v, vaEndPicture, ctx);
    for id in ids {
        assert_eq!(vcall!(v, vaDestroyBuffer, id), OK);
    }
    if status != OK {
        return status;
    }
    if end != OK {
        return end;
    }
    vcall!(v, vaSyncSurface, target)
}

/// A change to the recorded buffers of a frame.
type Change = Box<dyn Fn(&mut Vec<RecordedBuffer>)>;

fn with<T: Copy>(ty: va::VABufferType, f: impl Fn(&mut T) + 'static) -> Change {
    Box::new(move |bufs: &mut Vec<RecordedBuffer>| {
        for b in bufs.iter_mut().filter(|b| b.ty == ty) {
            edit::<T>(&mut b.data, &f);
        }
    })
}

/// Sets bits of VA's pic_fields (bit 0 = not a key frame, 1..3 = version).
fn or_fields(p: &mut va::VAPictureParameterBufferVP8, bits: u32) {
    // SAFETY: `value` overlays the whole u32 bitfield; any bit pattern is valid.
    let v = unsafe { p.pic_fields.value };
    p.pic_fields.value = v | bits;
}

fn data_edit(f: impl Fn(&mut Vec<u8>) + 'static) -> Change {
    Box::new(move |bufs: &mut Vec<RecordedBuffer>| {
        for b in bufs.iter_mut().filter(|b| b.ty == va::VASliceDataBufferType) {
            f(&mut b.data);
            b.size = b.data.len() as u32;
        }
    })
}

fn drop_type(ty: va::VABufferType) -> Change {
    Box::new(move |bufs: &mut Vec<RecordedBuffer>| bufs.retain(|b| b.ty != ty))
}

#[test]
fn hostile_vp8() {
    let stream = vp8_stream();
    let dir = record_first_picture(&stream);
    let (out, err) = run_child_ok("child_hostile_vp8", &[("HANTRO_LOG", "warn"), ("VP8_RECORDED", dir.to_str().unwrap())]);
    eprintln!("{out}");
    assert!(out.contains("hostile vp8: all"), "{out}\n{err}");
    assert!(err.contains("holds no decoded picture"), "the never-decoded reference must be named in the driver's log:\n{err}");
}

#[test]
fn child_hostile_vp8() {
    if !common::child("child_hostile_vp8") {
        return;
    }
    let dir = PathBuf::from(std::env::var("VP8_RECORDED").expect("VP8_RECORDED"));
    let pic = common::load_picture(&dir);
    let v = Va::init_ok();
    let before = common::resources();
    let (s, cfg) = v.create_config(va::VAProfileVP8Version0_3);
    assert_eq!(s, OK, "vaCreateConfig(VP8): {}", status_name(s));
    let mut surf = v.surfaces(320, 240, 8);
    let ctx = v.context(cfg, 320, 240, &mut surf);
    // Oversize: no context beyond what the device decodes.
    let mut big = Vec::new();
    let (s, _) = v.create_context(cfg, 16384, 16384, &mut big);
    let mut bad = Vec::new();
    if s == OK {
        bad.push("a 16384x16384 VP8 context was created".to_string());
    }
    let keep = |_: &mut Vec<RecordedBuffer>| {};
    let good = replay(&v, ctx, surf[0], &pic, &keep);
    assert_eq!(good, OK, "the recorded frame must decode: {}", status_name(good));

    type Pp = va::VAPictureParameterBufferVP8;
    type Sp = va::VASliceParameterBufferVP8;
    let never = surf[7];
    let cases: Vec<(&str, bool, Change)> = vec![
        ("slice data cut to half", true, data_edit(|d| d.truncate(d.len() / 2))),
        ("slice data of 5 bytes", true, data_edit(|d| d.truncate(5))),
        ("slice data empty", true, data_edit(|d| d.truncate(0))),
        ("first partition bytes inverted", false, data_edit(|d| d.iter_mut().take(40).for_each(|b| *b = !*b))),
        ("all slice data 0xff", false, data_edit(|d| d.iter_mut().for_each(|b| *b = 0xff))),
        (
            "last DCT partition bytes inverted",
            false,
            data_edit(|d| {
                let n = d.len();
                d[n - n / 4..].iter_mut().for_each(|b| *b = !*b)
            }),
        ),
        // passes the driver; the device (the simulator's checker) flags the
        // frame: vaSyncSurface reports the decoding error
        (
            "coefficient probabilities all 1",
            true,
            with::<va::VAProbabilityDataBufferVP8>(va::VAProbabilityBufferType, |p| p.dct_coeff_probs = [[[[1; 11]; 3]; 8]; 4]),
        ),
        ("partition_size[0] = u32::MAX", true, with::<Sp>(va::VASliceParameterBufferType, |s| s.partition_size[0] = u32::MAX)),
        ("partition_size[1] = 1 GiB", true, with::<Sp>(va::VASliceParameterBufferType, |s| s.partition_size[1] = 1 << 30)),
        ("num_of_partitions = 4", true, with::<Sp>(va::VASliceParameterBufferType, |s| s.num_of_partitions = 4)),
        ("num_of_partitions = 0", true, with::<Sp>(va::VASliceParameterBufferType, |s| s.num_of_partitions = 0)),
        ("num_of_partitions = 255", true, with::<Sp>(va::VASliceParameterBufferType, |s| s.num_of_partitions = 255)),
        ("slice_data_offset past the data", true, with::<Sp>(va::VASliceParameterBufferType, |s| s.slice_data_offset = 1 << 20)),
        ("macroblock_offset = u32::MAX", true, with::<Sp>(va::VASliceParameterBufferType, |s| s.macroblock_offset = u32::MAX)),
        ("frame_width = 0", true, with::<Pp>(va::VAPictureParameterBufferType, |p| p.frame_width = 0)),
        ("frame 20000x20000", true, with::<Pp>(va::VAPictureParameterBufferType, |p| (p.frame_width, p.frame_height) = (20000, 20000))),
        ("version = 7", true, with::<Pp>(va::VAPictureParameterBufferType, |p| or_fields(p, 7 << 1))),
        ("no probability buffer", true, drop_type(va::VAProbabilityBufferType)),
        ("no picture parameters", true, drop_type(va::VAPictureParameterBufferType)),
        ("no slice data", true, drop_type(va::VASliceDataBufferType)),
        (
            "inter frame, references never decoded",
            true,
            with::<Pp>(va::VAPictureParameterBufferType, move |p| {
                or_fields(p, 1);
                (p.last_ref_frame, p.golden_ref_frame, p.alt_ref_frame) = (never, never, never);
            }),
        ),
        (
            "inter frame, references VA_INVALID_SURFACE",
            true,
            with::<Pp>(va::VAPictureParameterBufferType, |p| {
                or_fields(p, 1);
                (p.last_ref_frame, p.golden_ref_frame, p.alt_ref_frame) = (va::VA_INVALID_SURFACE, va::VA_INVALID_SURFACE, va::VA_INVALID_SURFACE);
            }),
        ),
        (
            "short picture parameter buffer",
            true,
            Box::new(|b: &mut Vec<RecordedBuffer>| b.iter_mut().filter(|b| b.ty == va::VAPictureParameterBufferType).for_each(|b| b.data.truncate(8))),
        ),
        (
            "short slice parameter buffer",
            true,
            Box::new(|b: &mut Vec<RecordedBuffer>| b.iter_mut().filter(|b| b.ty == va::VASliceParameterBufferType).for_each(|b| b.data.truncate(8))),
        ),
    ];
    println!("{:<44} {:<10} got", "input", "expected");
    for (i, (what, must_fail, change)) in cases.iter().enumerate() {
        let target = surf[1 + i % 6];
        let got = replay(&v, ctx, target, &pic, change.as_ref());
        let ok = !(*must_fail && got == OK);
        println!("{what:<44} {:<10} {}{}", if *must_fail { "error" } else { "any" }, status_name(got), if ok { "" } else { "   <-- WRONG" });
        if !ok {
            bad.push(format!("{what}: expected an error, got {}", status_name(got)));
        }
        // The driver keeps decoding the good frame after each hostile one.
        let again = replay(&v, ctx, surf[0], &pic, &keep);
        if again != OK {
            bad.push(format!("after {what}: the good frame no longer decodes ({})", status_name(again)));
        }
    }
    assert_eq!(vcall!(v, vaDestroyContext, ctx), OK);
    assert_eq!(vcall!(v, vaDestroySurfaces, surf.as_mut_ptr(), surf.len() as i32), OK);
    assert_eq!(vcall!(v, vaDestroyConfig, cfg), OK);
    assert_eq!(v.terminate(), OK);
    let after = common::resources();
    assert!(bad.is_empty(), "{} wrong:\n{}", bad.len(), bad.join("\n"));
    assert_eq!(before.fds, after.fds, "fds leaked by the hostile VP8 frames");
    println!("hostile vp8: all {} rows as expected", cases.len());
}

/// The fuzz target's entry point (fuzz/src/vp8.rs) on every frame of the
/// VP8 corpus, each behind a few bytes of VA parameters, and on 20000
/// deterministic mutations of them (bit flips, truncations): none may panic.
#[test]
fn vp8_fuzz_entry_on_corpus_frames_and_mutations() {
    let dir = vp8_stream().parent().unwrap().to_path_buf();
    let mut frames = Vec::new();
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "ivf") {
            let d = std::fs::read(&p).unwrap();
            let mut at = u16::from_le_bytes([d[6], d[7]]) as usize;
            while at + 12 <= d.len() {
                let n = u32::from_le_bytes([d[at], d[at + 1], d[at + 2], d[at + 3]]) as usize;
                frames.push(d[at + 12..(at + 12 + n).min(d.len())].to_vec());
                at += 12 + n;
            }
        }
    }
    assert!(frames.len() > 100, "{} corpus frames", frames.len());
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut runs = 0;
    for (i, f) in frames.iter().enumerate() {
        // fps, structured, then the VA structs (zero padded by the entry) and the frame
        let fps = u32::from_le_bytes([f[0], f[1], f[2], 0]) >> 5;
        let mut input = vec![fps as u8, (fps >> 8) as u8, 1];
        input.extend(std::iter::repeat_n(0u8, 64));
        input.extend_from_slice(f);
        fuzz::vp8::vp8_frame(&input);
        runs += 1;
        for _ in 0..20000 / frames.len() + 1 {
            let mut m = input.clone();
            match next() % 3 {
                0 => {
                    let n = (next() % 8 + 1) as usize;
                    for _ in 0..n {
                        let at = (next() as usize) % m.len();
                        m[at] ^= 1 << (next() % 8);
                    }
                }
                1 => m.truncate((next() as usize) % m.len()),
                _ => {
                    let at = (next() as usize) % m.len();
                    m[at] = next() as u8;
                }
            }
            fuzz::vp8::vp8_frame(&m);
            runs += 1;
        }
        let _ = i;
    }
    eprintln!("vp8_frame fuzz entry: {runs} inputs from {} corpus frames, no panic", frames.len());
}
