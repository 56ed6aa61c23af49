//! Hostile HEVC input through the driver's vtable, with the simulator
//! (rkvdec) behind it (the test re-executes itself with libhantro_sim.so
//! preloaded). The VA buffers libavcodec renders for the first picture (an
//! IDR) of an HEVC corpus stream are recorded (vaclient, VACLIENT_DUMP_VA)
//! and replayed: unchanged they decode; truncated, corrupted, out of range,
//! or with references that were never decoded, every call returns a VA
//! status (an error where the input is wrong), nothing crashes or hangs,
//! no fd leaks, and the driver decodes the good picture again afterwards.
mod common;
#[allow(dead_code)]
#[path = "../fuzz/src/lib.rs"]
mod fuzz;
use common::{record_first_picture, run_child_ok, status_name, va, RecordedBuffer, St, Va, OK};
use std::mem::size_of;
use std::path::PathBuf;
use std::process::Command;

const PERSONALITY: &str = "rkvdec";

fn corpus_dir() -> PathBuf {
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/root"));
    let cache = std::env::var_os("HANTRO_CACHE").map(PathBuf::from).unwrap_or_else(|| home.join(".cache/hantro"));
    let dir = cache.join("corpus-hevc");
    std::fs::create_dir_all(&cache).unwrap();
    let o = Command::new("flock")
        .arg(cache.join("corpus-hevc.lock"))
        .arg("bash")
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/corpus-hevc.sh"))
        .arg(&dir)
        .output()
        .expect("run scripts/corpus-hevc.sh");
    assert!(o.status.success(), "scripts/corpus-hevc.sh failed: {}", String::from_utf8_lossy(&o.stderr));
    dir
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

/// Sets bits of VA's pic_fields (bits 0-1 chroma_format_idc, 14 tiles).
fn or_fields(p: &mut va::VAPictureParameterBufferHEVC, bits: u32) {
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
fn hostile_hevc() {
    let stream = corpus_dir().join("ip_closed.hevc");
    std::env::set_var("HANTRO_SIM_PERSONALITY", PERSONALITY);
    let dir = record_first_picture(&stream);
    let (out, err) =
        run_child_ok("child_hostile_hevc", &[("HANTRO_LOG", "warn"), ("HANTRO_SIM_PERSONALITY", PERSONALITY), ("HEVC_RECORDED", dir.to_str().unwrap())]);
    eprintln!("{out}");
    assert!(out.contains("hostile hevc: all"), "{out}\n{err}");
    assert!(err.contains("holds no decoded picture"), "the never-decoded reference must be named in the driver's log:\n{err}");
}

#[test]
fn child_hostile_hevc() {
    if !common::child("child_hostile_hevc") {
        return;
    }
    let dir = PathBuf::from(std::env::var("HEVC_RECORDED").expect("HEVC_RECORDED"));
    let pic = common::load_picture(&dir);
    assert!(pic.iter().any(|b| b.ty == va::VASliceDataBufferType), "recorded picture has slice data");
    let v = Va::init_ok();
    let before = common::resources();
    let (s, cfg) = v.create_config(va::VAProfileHEVCMain);
    assert_eq!(s, OK, "vaCreateConfig(HEVCMain): {}", status_name(s));
    let mut surf = v.surfaces(320, 240, 8);
    let ctx = v.context(cfg, 320, 240, &mut surf);
    let mut big = Vec::new();
    let (s, _) = v.create_context(cfg, 16384, 16384, &mut big);
    let mut bad = Vec::new();
    if s == OK {
        bad.push("a 16384x16384 HEVC context was created".to_string());
    }
    let keep = |_: &mut Vec<RecordedBuffer>| {};
    let good = replay(&v, ctx, surf[0], &pic, &keep);
    assert_eq!(good, OK, "the recorded picture must decode: {}", status_name(good));

    type Pp = va::VAPictureParameterBufferHEVC;
    type Sp = va::VASliceParameterBufferHEVC;
    let never = surf[7];
    let decoded = surf[0];
    let cases: Vec<(&str, bool, Change)> = vec![
        ("slice data cut to half", false, data_edit(|d| d.truncate(d.len() / 2))),
        ("slice data of 3 bytes", true, data_edit(|d| d.truncate(3))),
        ("slice data empty", true, data_edit(|d| d.truncate(0))),
        ("all slice data 0xff (forbidden_zero_bit)", true, data_edit(|d| d.iter_mut().for_each(|b| *b = 0xff))),
        ("NAL unit type SEI", true, data_edit(|d| d[0] = 39 << 1)),
        ("nuh_layer_id 1", true, data_edit(|d| d[0] |= 1)),
        ("slice bytes after the header inverted", false, data_edit(|d| d.iter_mut().skip(8).for_each(|b| *b = !*b))),
        ("slice_data_offset past the data", true, with::<Sp>(va::VASliceParameterBufferType, |s| s.slice_data_offset = 1 << 20)),
        ("slice_data_size = u32::MAX", true, with::<Sp>(va::VASliceParameterBufferType, |s| s.slice_data_size = u32::MAX)),
        ("picture 0x0", true, with::<Pp>(va::VAPictureParameterBufferType, |p| (p.pic_width_in_luma_samples, p.pic_height_in_luma_samples) = (0, 0))),
        (
            "picture 20000x20000",
            true,
            with::<Pp>(va::VAPictureParameterBufferType, |p| (p.pic_width_in_luma_samples, p.pic_height_in_luma_samples) = (20000, 20000)),
        ),
        ("picture 321x240 (not a coding block multiple)", true, with::<Pp>(va::VAPictureParameterBufferType, |p| p.pic_width_in_luma_samples = 321)),
        ("CTB size 256", true, with::<Pp>(va::VAPictureParameterBufferType, |p| p.log2_diff_max_min_luma_coding_block_size = 5)),
        ("log2_max_pic_order_cnt_lsb_minus4 = 13", true, with::<Pp>(va::VAPictureParameterBufferType, |p| p.log2_max_pic_order_cnt_lsb_minus4 = 13)),
        ("bit depth 12", true, with::<Pp>(va::VAPictureParameterBufferType, |p| p.bit_depth_luma_minus8 = 4)),
        ("chroma_format_idc 3", true, with::<Pp>(va::VAPictureParameterBufferType, |p| or_fields(p, 3))),
        (
            "30 tile columns",
            true,
            with::<Pp>(va::VAPictureParameterBufferType, |p| {
                or_fields(p, 1 << 14);
                p.num_tile_columns_minus1 = 29;
            }),
        ),
        ("num_short_term_ref_pic_sets = 200", true, with::<Pp>(va::VAPictureParameterBufferType, |p| p.num_short_term_ref_pic_sets = 200)),
        ("CurrPic invalid", true, with::<Pp>(va::VAPictureParameterBufferType, |p| p.CurrPic.flags = va::VA_PICTURE_HEVC_INVALID)),
        ("no picture parameters", true, drop_type(va::VAPictureParameterBufferType)),
        ("no slice data", true, drop_type(va::VASliceDataBufferType)),
        (
            "reference never decoded",
            true,
            with::<Pp>(va::VAPictureParameterBufferType, move |p| {
                p.ReferenceFrames[0] =
                    va::VAPictureHEVC { picture_id: never, pic_order_cnt: -4, flags: va::VA_PICTURE_HEVC_RPS_ST_CURR_BEFORE, ..Default::default() };
            }),
        ),
        (
            "an IDR picture with a current reference",
            true,
            with::<Pp>(va::VAPictureParameterBufferType, move |p| {
                p.ReferenceFrames[0] =
                    va::VAPictureHEVC { picture_id: decoded, pic_order_cnt: -4, flags: va::VA_PICTURE_HEVC_RPS_ST_CURR_BEFORE, ..Default::default() };
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
    println!("{:<48} {:<10} got", "input", "expected");
    for (i, (what, must_fail, change)) in cases.iter().enumerate() {
        let target = surf[1 + i % 6];
        let got = replay(&v, ctx, target, &pic, change.as_ref());
        let ok = !(*must_fail && got == OK);
        println!("{what:<48} {:<10} {}{}", if *must_fail { "error" } else { "any" }, status_name(got), if ok { "" } else { "   <-- WRONG" });
        if !ok {
            bad.push(format!("{what}: expected an error, got {}", status_name(got)));
        }
        let again = replay(&v, ctx, surf[0], &pic, &keep);
        if again != OK {
            bad.push(format!("after {what}: the good picture no longer decodes ({})", status_name(again)));
        }
    }
    assert_eq!(vcall!(v, vaDestroyContext, ctx), OK);
    assert_eq!(vcall!(v, vaDestroySurfaces, surf.as_mut_ptr(), surf.len() as i32), OK);
    assert_eq!(vcall!(v, vaDestroyConfig, cfg), OK);
    assert_eq!(v.terminate(), OK);
    let after = common::resources();
    assert!(bad.is_empty(), "{} wrong:\n{}", bad.len(), bad.join("\n"));
    assert_eq!(before.fds, after.fds, "fds leaked by the hostile HEVC pictures");
    println!("hostile hevc: all {} rows as expected", cases.len());
}

/// The fuzz target's entry point (fuzz/src/hevc.rs) on every slice NAL unit
/// of the HEVC corpus, behind structured parse parameters, and on
/// deterministic mutations of them (bit flips, truncations): none may panic.
#[test]
fn hevc_fuzz_entry_on_corpus_slices_and_mutations() {
    let dir = corpus_dir();
    let mut nals = Vec::new();
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "hevc") {
            let d = std::fs::read(&p).unwrap();
            let starts: Vec<usize> = (0..d.len().saturating_sub(3)).filter(|&i| d[i..i + 3] == [0, 0, 1]).map(|i| i + 3).collect();
            for (k, &s) in starts.iter().enumerate() {
                let e = starts.get(k + 1).map(|n| n - 3).unwrap_or(d.len());
                if e > s + 2 && (d[s] >> 1) & 0x3f < 32 {
                    nals.push(d[s..e.min(s + 400)].to_vec());
                }
            }
        }
    }
    assert!(nals.len() > 100, "{} corpus slices", nals.len());
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut runs = 0;
    for n in &nals {
        // parse parameters (4 + 8 + 2 bytes), the split byte 0 (no VA structs), the NAL
        let mut input = vec![0x30, 0x00, 0x00, 0x00, 4, 4, 1, 0, 32, 0, 0, 0, 20, 0, 0];
        input.extend_from_slice(n);
        fuzz::hevc::hevc_slice(&input);
        runs += 1;
        for _ in 0..20000 / nals.len() + 1 {
            let mut m = input.clone();
            match next() % 3 {
                0 => {
                    for _ in 0..(next() % 8 + 1) {
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
            fuzz::hevc::hevc_slice(&m);
            runs += 1;
        }
    }
    eprintln!("hevc_slice fuzz entry: {runs} inputs from {} corpus slices, no panic", nals.len());
}
