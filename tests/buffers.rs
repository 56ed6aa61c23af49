//! VA buffers a picture must not take (issue 22), through the driver's
//! vtable with the simulator behind it (the test re-executes itself with
//! libhantro_sim.so preloaded):
//!
//! * `buffer_types_per_codec`: in a decode context of every profile the
//!   personality advertises, vaCreateBuffer creates the types that codec's
//!   pictures are made of and refuses the others with
//!   VA_STATUS_ERROR_UNSUPPORTED_BUFFERTYPE (va.h's status for "buffer type
//!   not supported"), except the few libva's own conformance suite creates
//!   in a decode context (tests/conformance.rs checks those succeed).
//! * `refused_renders_leave_the_picture_usable`: the first picture of an
//!   H.264 clip (the VA buffers libavcodec rendered for it, recorded) is
//!   decoded with, in the middle of it, vaRenderPicture calls that each
//!   carry a valid slice parameter buffer followed by a buffer the picture
//!   must not take: a destroyed one, one of another context, one still
//!   mapped, an image's. Each call fails as a whole (INVALID_BUFFER) and
//!   takes nothing: the picture then completes and is bit-exact with
//!   libavcodec's software decode of that frame (a slice parameter buffer
//!   kept from a refused call would pair with the slice data and change
//!   the picture). A buffer mapped again between vaRenderPicture and
//!   vaEndPicture makes vaEndPicture fail; the next picture is bit-exact.
mod common;
use common::{load_picture, record_first_picture, run_child_ok, status_name, va, x264_clip, RecordedBuffer, St, Va, OK};
use std::path::PathBuf;
use std::ptr::null_mut;

const UNSUPPORTED: u32 = va::VA_STATUS_ERROR_UNSUPPORTED_BUFFERTYPE;
const IBUF: u32 = va::VA_STATUS_ERROR_INVALID_BUFFER;
const PICTURE_ENV: &str = "HANTRO_TEST_PICTURE";
const REFERENCE_ENV: &str = "HANTRO_TEST_REFERENCE";

fn ok(what: &str, s: St) {
    assert_eq!(s, OK, "{what}: {}", status_name(s));
}

/// Types no decoder of this driver takes (encode, video processing, the
/// VC-1 bit plane, JPEG's Huffman tables, an unknown type).
const NEVER: &[(va::VABufferType, &str)] = &[
    (va::VAEncCodedBufferType, "EncCoded"),
    (va::VAEncSequenceParameterBufferType, "EncSequenceParameter"),
    (va::VAEncPictureParameterBufferType, "EncPictureParameter"),
    (va::VAProcPipelineParameterBufferType, "ProcPipelineParameter"),
    (va::VAProcFilterParameterBufferType, "ProcFilterParameter"),
    (va::VABitPlaneBufferType, "BitPlane"),
    (va::VAHuffmanTableBufferType, "HuffmanTable"),
    (va::VASliceGroupMapBufferType, "SliceGroupMap"),
    (0x7fff_ffff, "0x7fffffff"),
];

/// What each codec's pictures are made of; everything else is refused but
/// for the conformance suite's extra (`tolerated`) types.
type Types = Vec<va::VABufferType>;

fn types_of(profile: va::VAProfile) -> Option<(&'static str, Types, Types)> {
    use va::*;
    let base = [VAPictureParameterBufferType, VAIQMatrixBufferType, VASliceParameterBufferType, VASliceDataBufferType];
    if [VAProfileH264ConstrainedBaseline, VAProfileH264Main, VAProfileH264High].contains(&profile) {
        Some(("H.264", base.to_vec(), vec![]))
    } else if [VAProfileMPEG2Simple, VAProfileMPEG2Main].contains(&profile) {
        Some(("MPEG-2", base.to_vec(), vec![VAMacroblockParameterBufferType]))
    } else if profile == VAProfileVP8Version0_3 {
        Some(("VP8", [&base[..], &[VAProbabilityBufferType]].concat(), vec![VAQMatrixBufferType]))
    } else if profile == VAProfileHEVCMain {
        Some(("HEVC", base.to_vec(), vec![VAQMatrixBufferType]))
    } else {
        None
    }
}

#[test]
fn buffer_types_per_codec() {
    for personality in ["hantro-g1", "rkvdec", "cedrus"] {
        let (out, _) = run_child_ok("child_buffer_types_per_codec", &[("HANTRO_LOG", "off"), ("HANTRO_SIM_PERSONALITY", personality)]);
        assert!(out.contains("buffer types: ok"), "{personality}:\n{out}");
        eprintln!("{personality}: {}", out.lines().find(|l| l.starts_with("buffer types: ok")).unwrap_or(""));
    }
}

#[test]
fn child_buffer_types_per_codec() {
    if !common::child("child_buffer_types_per_codec") {
        return;
    }
    let v = Va::init_ok();
    let mut profiles = vec![0; 32];
    let mut n = 0;
    ok("vaQueryConfigProfiles", vcall!(v, vaQueryConfigProfiles, profiles.as_mut_ptr(), &mut n));
    profiles.truncate(n as usize);
    let mut bad = Vec::new();
    let mut checked = 0;
    let mut codecs = Vec::new();
    for &p in &profiles {
        // A profile this test does not know yet (a codec added later) is a
        // failure: its buffer types must be listed here.
        let (codec, used, tolerated) = types_of(p).unwrap_or_else(|| panic!("profile {p}: add its buffer types to types_of"));
        codecs.push(codec);
        let (s, cfg) = v.create_config(p);
        ok("vaCreateConfig", s);
        let mut surf = v.surfaces(176, 144, 1);
        let ctx = v.context(cfg, 176, 144, &mut surf);
        let all: Vec<(va::VABufferType, u32)> = used
            .iter()
            .chain(&tolerated)
            .map(|&t| (t, OK as u32))
            .chain(NEVER.iter().map(|&(t, _)| (t, UNSUPPORTED)))
            .chain(
                [va::VAProbabilityBufferType, va::VAMacroblockParameterBufferType, va::VAQMatrixBufferType]
                    .into_iter()
                    .filter(|t| !used.contains(t) && !tolerated.contains(t))
                    .map(|t| (t, UNSUPPORTED)),
            )
            .collect();
        for (t, want) in all {
            let (s, id) = v.create_buffer(ctx, t, 64, 1, None);
            if s as u32 != want {
                bad.push(format!("profile {p} ({codec}): vaCreateBuffer(type {t}) = {}, expected {}", status_name(s), status_name(want as St)));
            }
            if s == OK {
                ok("vaDestroyBuffer", vcall!(v, vaDestroyBuffer, id));
            }
            checked += 1;
        }
        ok("vaDestroyContext", vcall!(v, vaDestroyContext, ctx));
        ok("vaDestroySurfaces", vcall!(v, vaDestroySurfaces, surf.as_mut_ptr(), 1));
        ok("vaDestroyConfig", vcall!(v, vaDestroyConfig, cfg));
    }
    ok("vaTerminate", v.terminate());
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    codecs.dedup();
    assert!(codecs.contains(&"H.264"), "no H.264 profile advertised: {profiles:?}");
    println!("buffer types: ok, {checked} calls over {} profiles ({})", profiles.len(), codecs.join(", "));
}

fn clip() -> PathBuf {
    x264_clip(320, 240, 5, 5)
}

#[test]
fn refused_renders_leave_the_picture_usable() {
    let dir = record_first_picture(&clip());
    let want = common::reference_nv12(&clip());
    let reference = dir.join("reference0.nv12");
    std::fs::write(&reference, &want[..common::nv12_frame_size(320, 240)]).unwrap();
    let (out, err) = run_child_ok(
        "child_refused_renders_leave_the_picture_usable",
        &[("HANTRO_LOG", "error,hantro_drv_video::decoded=info"), (PICTURE_ENV, dir.to_str().unwrap()), (REFERENCE_ENV, reference.to_str().unwrap())],
    );
    let _ = std::fs::remove_dir_all(&dir);
    eprintln!("{out}");
    assert!(out.contains("refused renders: ok"), "{out}\n{err}");
    // the pictures really went through the (simulated) device
    let decoded = err.lines().filter(|l| l.contains("decoded a picture into CAPTURE buffer")).count();
    assert_eq!(decoded, 3, "pictures the device decoded:\n{err}");
}

/// The recorded picture's buffers created in `ctx`, CurrPic set to `target`.
fn create(v: &Va, ctx: u32, target: u32, pic: &[RecordedBuffer]) -> Vec<(va::VABufferType, u32)> {
    pic.iter()
        .map(|b| {
            let mut data = b.data.clone();
            if b.ty == va::VAPictureParameterBufferType {
                assert!(data.len() >= std::mem::size_of::<va::VAPictureParameterBufferH264>());
                // SAFETY: the recorded bytes are a VAPictureParameterBufferH264.
                unsafe {
                    let pp = data.as_mut_ptr() as *mut va::VAPictureParameterBufferH264;
                    let mut p = std::ptr::read_unaligned(pp);
                    p.CurrPic.picture_id = target;
                    std::ptr::write_unaligned(pp, p);
                }
            }
            (b.ty, v.buffer(ctx, b.ty, b.size, b.num, Some(&data)))
        })
        .collect()
}

fn render(v: &Va, ctx: u32, ids: &[u32]) -> St {
    let mut ids = ids.to_vec();
    vcall!(v, vaRenderPicture, ctx, ids.as_mut_ptr(), ids.len() as i32)
}

#[test]
fn child_refused_renders_leave_the_picture_usable() {
    if !common::child("child_refused_renders_leave_the_picture_usable") {
        return;
    }
    let pic = load_picture(&PathBuf::from(std::env::var_os(PICTURE_ENV).expect(PICTURE_ENV)));
    let want = std::fs::read(std::env::var_os(REFERENCE_ENV).expect(REFERENCE_ENV)).unwrap();
    let v = Va::init_ok();
    let (s, cfg) = v.create_config(va::VAProfileH264High);
    ok("vaCreateConfig(High)", s);
    let mut surf = v.surfaces(320, 240, 3);
    let ctx = v.context(cfg, 320, 240, &mut surf);
    let mut other_surf = v.surfaces(320, 240, 1);
    let other_ctx = v.context(cfg, 320, 240, &mut other_surf);
    let (s, img) = v.create_image(64, 64);
    ok("vaCreateImage", s);
    let mut bad = Vec::new();

    // 1. refusals in the middle of a picture
    let ids = create(&v, ctx, surf[0], &pic);
    let slice_params = ids.iter().find(|(t, _)| *t == va::VASliceParameterBufferType).expect("slice parameters recorded").1;
    let slice_data = pic.iter().find(|b| b.ty == va::VASliceDataBufferType).unwrap();
    let stale = v.buffer(ctx, va::VASliceDataBufferType, slice_data.size, 1, Some(&slice_data.data));
    ok("vaDestroyBuffer", vcall!(v, vaDestroyBuffer, stale));
    let foreign = v.buffer(other_ctx, va::VASliceDataBufferType, slice_data.size, 1, Some(&slice_data.data));
    let mapped = v.buffer(ctx, va::VASliceDataBufferType, slice_data.size, 1, Some(&slice_data.data));
    let mut p: *mut libc::c_void = null_mut();
    ok("vaMapBuffer", vcall!(v, vaMapBuffer, mapped, &mut p));
    ok("vaBeginPicture", vcall!(v, vaBeginPicture, ctx, surf[0]));
    type Ids = Vec<(va::VABufferType, u32)>;
    let (head, slices): (Ids, Ids) = ids.iter().copied().partition(|(t, _)| !matches!(*t, va::VASliceParameterBufferType | va::VASliceDataBufferType));
    ok("vaRenderPicture(picture parameters)", render(&v, ctx, &head.iter().map(|x| x.1).collect::<Vec<_>>()));
    for (what, id) in [("a destroyed buffer", stale), ("a buffer of another context", foreign), ("a mapped buffer", mapped), ("an image's buffer", img.buf)] {
        let s = render(&v, ctx, &[slice_params, id]);
        println!("vaRenderPicture(slice parameters, {what}) -> {}", status_name(s));
        if s as u32 != IBUF {
            bad.push(format!("vaRenderPicture with {what}: expected INVALID_BUFFER, got {}", status_name(s)));
        }
    }
    ok("vaRenderPicture(slices)", render(&v, ctx, &slices.iter().map(|x| x.1).collect::<Vec<_>>()));
    ok("vaEndPicture", vcall!(v, vaEndPicture, ctx));
    ok("vaSyncSurface", vcall!(v, vaSyncSurface, surf[0]));
    if v.read_nv12(surf[0], 320, 240) != want {
        bad.push("the picture completed after the refused calls differs from libavcodec's frame 0".into());
    }
    // the mapped buffer, unmapped, is taken
    ok("vaUnmapBuffer", vcall!(v, vaUnmapBuffer, mapped));
    ok("vaBeginPicture", vcall!(v, vaBeginPicture, ctx, surf[1]));
    let ids1 = create(&v, ctx, surf[1], &pic);
    let list: Vec<u32> = ids1.iter().map(|&(t, id)| if t == va::VASliceDataBufferType { mapped } else { id }).collect();
    ok("vaRenderPicture(with the buffer unmapped)", render(&v, ctx, &list));
    ok("vaEndPicture", vcall!(v, vaEndPicture, ctx));
    ok("vaSyncSurface", vcall!(v, vaSyncSurface, surf[1]));
    if v.read_nv12(surf[1], 320, 240) != want {
        bad.push("the picture with the once-mapped slice data differs from libavcodec's frame 0".into());
    }

    // 2. mapped again between vaRenderPicture and vaEndPicture
    ok("vaBeginPicture", vcall!(v, vaBeginPicture, ctx, surf[2]));
    ok("vaRenderPicture(all)", render(&v, ctx, &list));
    ok("vaMapBuffer", vcall!(v, vaMapBuffer, mapped, &mut p));
    let s = vcall!(v, vaEndPicture, ctx);
    println!("vaEndPicture with a buffer mapped after vaRenderPicture -> {}", status_name(s));
    if s as u32 != IBUF {
        bad.push(format!("vaEndPicture with a mapped buffer: expected INVALID_BUFFER, got {}", status_name(s)));
    }
    ok("vaUnmapBuffer", vcall!(v, vaUnmapBuffer, mapped));
    match v.decode(ctx, surf[2], &pic) {
        Ok(()) if v.read_nv12(surf[2], 320, 240) == want => {}
        Ok(()) => bad.push("the picture after the refused vaEndPicture differs from libavcodec's frame 0".into()),
        Err((w, s)) => bad.push(format!("the picture after the refused vaEndPicture: {w}: {}", status_name(s))),
    }

    for (_, id) in ids.iter().chain(&ids1) {
        ok("vaDestroyBuffer", vcall!(v, vaDestroyBuffer, *id));
    }
    for id in [foreign, mapped] {
        ok("vaDestroyBuffer", vcall!(v, vaDestroyBuffer, id));
    }
    ok("vaDestroyImage", vcall!(v, vaDestroyImage, img.image_id));
    ok("vaDestroyContext", vcall!(v, vaDestroyContext, other_ctx));
    ok("vaDestroyContext", vcall!(v, vaDestroyContext, ctx));
    ok("vaTerminate", v.terminate());
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    println!("refused renders: ok");
}
