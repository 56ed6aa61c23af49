//! Hostile MPEG-2 input through the driver's vtable, with the simulator
//! (hantro G1) behind it; the test re-executes itself with libhantro_sim.so
//! preloaded. The pictures are cut out of a stream of
//! scripts/corpus-mpeg2.sh by this test's own small parser, so a valid
//! decode comes first (the error statuses below mean something), then:
//! truncated and corrupted slice data, out-of-range header values,
//! references to surfaces never decoded, missing buffers — each must give a
//! VA error status (or, for data the driver cannot judge, complete without
//! crash or hang), and after every one the driver must still decode the
//! valid picture.
mod common;
use common::{run_child_ok, status_name, va, St, Va, OK};
use std::mem::size_of;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

fn bytes_of<T>(v: &T) -> Vec<u8> {
    // SAFETY: viewing a plain C struct as bytes for vaCreateBuffer.
    unsafe { std::slice::from_raw_parts(v as *const T as *const u8, size_of::<T>()) }.to_vec()
}

/// One coded picture of the stream: VA parameters and slices.
#[derive(Clone)]
struct Picture {
    pic: va::VAPictureParameterBufferMPEG2,
    slices: Vec<Vec<u8>>,
}

fn bits(d: &[u8], from: usize, n: usize) -> u32 {
    (from..from + n).fold(0, |v, i| v << 1 | (d[i / 8] >> (7 - i % 8) & 1) as u32)
}

/// The pictures of an MPEG-2 elementary stream (frame pictures, as ffmpeg
/// codes them), in decode order.
fn parse(stream: &[u8]) -> Vec<Picture> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 < stream.len() {
        if stream[i..i + 3] == [0, 0, 1] {
            starts.push(i);
            i += 3;
        } else {
            i += 1;
        }
    }
    let (mut w, mut h) = (0u16, 0u16);
    let mut pics: Vec<Picture> = Vec::new();
    for (n, &s) in starts.iter().enumerate() {
        let end = starts.get(n + 1).copied().unwrap_or(stream.len());
        let unit = &stream[s..end];
        let b = &unit[4..];
        match unit[3] {
            0xB3 => {
                w = bits(b, 0, 12) as u16;
                h = bits(b, 12, 12) as u16;
            }
            0x00 => {
                // SAFETY: plain-old-data VA struct; all-zero is valid.
                let mut p: va::VAPictureParameterBufferMPEG2 = unsafe { std::mem::zeroed() };
                p.horizontal_size = w;
                p.vertical_size = h;
                p.picture_coding_type = bits(b, 10, 3) as i32;
                p.forward_reference_picture = va::VA_INVALID_SURFACE;
                p.backward_reference_picture = va::VA_INVALID_SURFACE;
                pics.push(Picture { pic: p, slices: Vec::new() });
            }
            0xB5 if bits(b, 0, 4) == 8 => {
                let p = &mut pics.last_mut().expect("picture coding extension before a picture").pic;
                p.f_code = bits(b, 4, 16) as i32;
                // intra_dc_precision..progressive_frame, as VA packs them
                let dc = bits(b, 20, 2);
                let ps = bits(b, 22, 2);
                let flags: Vec<u32> = (0..9).map(|k| bits(b, 24 + k, 1)).collect();
                // VA order: tff, fpfd, cmv, qst, ivlc, alt, rff, progressive_frame
                let v = dc
                    | ps << 2
                    | flags[0] << 4
                    | flags[1] << 5
                    | flags[2] << 6
                    | flags[3] << 7
                    | flags[4] << 8
                    | flags[5] << 9
                    | flags[6] << 10
                    | flags[8] << 11
                    | 1 << 12;
                p.picture_coding_extension.value = v;
            }
            0x01..=0xAF => pics.last_mut().expect("slice before a picture").slices.push(unit.to_vec()),
            _ => {}
        }
    }
    pics
}

fn stream() -> Vec<u8> {
    let dir = std::env::var("HANTRO_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/hantro"))
        .join("corpus-mpeg2");
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let st = Command::new("bash").arg(repo.join("scripts/corpus-mpeg2.sh")).arg(&dir).output().expect("run scripts/corpus-mpeg2.sh");
    assert!(st.status.success(), "MPEG-2 corpus generation failed");
    std::fs::read(dir.join("odd_size.m2v")).expect("odd_size.m2v")
}

struct Fix<'a> {
    v: &'a Va,
    ctx: u32,
    surf: Vec<u32>,
}

impl Fix<'_> {
    /// Renders `bufs` (type, bytes, num_elements) into `target` and waits:
    /// the first failing status.
    fn render(&self, target: u32, bufs: &[(va::VABufferType, Vec<u8>, u32)]) -> St {
        let v = self.v;
        let s = vcall!(v, vaBeginPicture, self.ctx, target);
        if s != OK {
            return s;
        }
        let mut ids = Vec::new();
        let mut st = OK;
        for (t, b, n) in bufs {
            let size = b.len() as u32 / n.max(&1);
            let (s, id) = v.create_buffer(self.ctx, *t, size, *n, Some(b));
            if s != OK {
                st = s;
                break;
            }
            ids.push(id);
        }
        if st == OK && !ids.is_empty() {
            st = vcall!(v, vaRenderPicture, self.ctx, ids.as_mut_ptr(), ids.len() as i32);
        }
        let end = vcall!(v, vaEndPicture, self.ctx);
        for id in ids {
            assert_eq!(vcall!(v, vaDestroyBuffer, id), OK);
        }
        if st != OK {
            return st;
        }
        if end != OK {
            return end;
        }
        vcall!(v, vaSyncSurface, target)
    }

    /// The buffers of `p`: picture parameters, one slice parameter + data
    /// pair per slice (data cut by `cut`).
    fn buffers(p: &Picture, cut: impl Fn(&[u8]) -> Vec<u8>) -> Vec<(va::VABufferType, Vec<u8>, u32)> {
        let mut v = vec![(va::VAPictureParameterBufferType, bytes_of(&p.pic), 1)];
        for s in &p.slices {
            let data = cut(s);
            // SAFETY: plain-old-data VA struct; all-zero is valid.
            let mut sp: va::VASliceParameterBufferMPEG2 = unsafe { std::mem::zeroed() };
            sp.slice_data_size = s.len() as u32; // the size the client claims
            sp.slice_data_flag = va::VA_SLICE_DATA_FLAG_ALL;
            sp.macroblock_offset = 38;
            sp.slice_vertical_position = s[3] as u32 - 1;
            sp.quantiser_scale_code = (s[4] >> 3) as i32;
            v.push((va::VASliceParameterBufferType, bytes_of(&sp), 1));
            v.push((va::VASliceDataBufferType, data, 1));
        }
        v
    }
}

#[test]
fn hostile_mpeg2() {
    let (out, _) = run_child_ok("child_hostile_mpeg2", &[("HANTRO_LOG", "off"), ("HANTRO_SIM_PERSONALITY", "hantro-g1")]);
    assert!(out.contains("hostile mpeg2: all"), "{out}");
}

#[test]
fn child_hostile_mpeg2() {
    if !common::child("child_hostile_mpeg2") {
        return;
    }
    let pics = parse(&stream());
    assert!(pics.len() >= 4 && pics[0].pic.picture_coding_type == 1 && pics[1].pic.picture_coding_type == 2, "odd_size.m2v: I then P expected");
    let v = Va::init_ok();
    let (s, cfg) = v.create_config(va::VAProfileMPEG2Main);
    assert_eq!(s, OK, "vaCreateConfig(MPEG2Main): {}", status_name(s));
    let (w, h) = (pics[0].pic.horizontal_size as i32, pics[0].pic.vertical_size as i32);
    let mut surf = v.surfaces(w as u32, h as u32, 6);
    let ctx = v.context(cfg, w, h, &mut surf);
    let f = Fix { v: &v, ctx, surf };
    let whole = |d: &[u8]| d.to_vec();
    let (i_pic, p_pic) = (&pics[0], &pics[1]);
    let good = Fix::buffers(i_pic, whole);
    assert_eq!(f.render(f.surf[0], &good), OK, "the valid I picture must decode");

    let mut bad = Vec::new();
    let mut n = 0;
    let mut row = |what: &str, got: St, want_error: bool| {
        n += 1;
        let ok = if want_error { got != OK } else { true };
        println!("{what:<64} {}{}", status_name(got), if ok { "" } else { "   <-- WRONG" });
        if !ok {
            bad.push(format!("{what}: expected an error status, got {}", status_name(got)));
        }
        // The driver still decodes the valid picture afterwards.
        let again = f.render(f.surf[0], &good);
        if again != OK {
            bad.push(format!("after {what}: the valid I picture fails with {}", status_name(again)));
        }
    };
    let with_pic = |edit: &dyn Fn(&mut va::VAPictureParameterBufferMPEG2)| {
        let mut p = i_pic.clone();
        edit(&mut p.pic);
        Fix::buffers(&p, whole)
    };

    // Truncated data: the slice data buffers are shorter than the slice
    // parameters say.
    row("slice data truncated (shorter than slice_data_size)", f.render(f.surf[1], &Fix::buffers(i_pic, |d| d[..d.len() / 2].to_vec())), true);
    // Truncated picture: the second half of the slices missing (the
    // device flags the picture: rows without a slice).
    let mut half = i_pic.clone();
    half.slices.truncate(half.slices.len() / 2);
    row("picture with half of its slices", f.render(f.surf[1], &Fix::buffers(&half, whole)), true);
    // Corrupted slice bytes: may decode to garbage, must not crash or hang.
    let t0 = Instant::now();
    let got = f.render(
        f.surf[1],
        &Fix::buffers(i_pic, |d| {
            let mut c = d.to_vec();
            for (k, b) in c.iter_mut().enumerate().skip(5) {
                *b ^= (k as u8).wrapping_mul(37) | 1;
            }
            c
        }),
    );
    row("slice bytes corrupted (start codes kept)", got, false);
    assert!(t0.elapsed().as_secs() < 10, "corrupted picture took {:?}", t0.elapsed());
    // A start code that is not a slice's.
    row("slice data starting with a sequence header code", f.render(f.surf[1], &Fix::buffers(i_pic, |d| [&[0, 0, 1, 0xB3][..], &d[4..]].concat())), true);
    // Out-of-range header values.
    row("picture_coding_type 0", f.render(f.surf[1], &with_pic(&|p| p.picture_coding_type = 0)), true);
    row("picture_coding_type 4 (D)", f.render(f.surf[1], &with_pic(&|p| p.picture_coding_type = 4)), true);
    row("picture_coding_type 77", f.render(f.surf[1], &with_pic(&|p| p.picture_coding_type = 77)), true);
    row(
        "picture_structure 0",
        f.render(
            f.surf[1],
            &with_pic(&|p| {
                // SAFETY: a union of a u32 bitfield struct and a u32, set by parse().
                let v = unsafe { p.picture_coding_extension.value };
                p.picture_coding_extension.value = v & !(3 << 2);
            }),
        ),
        true,
    );
    row("vertical_size 0", f.render(f.surf[1], &with_pic(&|p| p.vertical_size = 0)), true);
    row("size 16383x16383 in a small context", f.render(f.surf[1], &with_pic(&|p| (p.horizontal_size, p.vertical_size) = (16383, 16383))), true);
    row("size 65535x65535", f.render(f.surf[1], &with_pic(&|p| (p.horizontal_size, p.vertical_size) = (65535, 65535))), true);
    // References.
    let with_p = |edit: &dyn Fn(&mut va::VAPictureParameterBufferMPEG2)| {
        let mut p = p_pic.clone();
        edit(&mut p.pic);
        Fix::buffers(&p, whole)
    };
    row("P picture with no forward reference", f.render(f.surf[1], &with_p(&|_| {})), true);
    row("P picture referencing a never-decoded surface", f.render(f.surf[1], &with_p(&|p| p.forward_reference_picture = f.surf[5])), true);
    row("P picture referencing an unknown surface id", f.render(f.surf[1], &with_p(&|p| p.forward_reference_picture = 0x7777)), true);
    row(
        "P picture with forward f_code 0",
        f.render(
            f.surf[1],
            &with_p(&|p| {
                p.forward_reference_picture = f.surf[0];
                p.f_code &= 0x0fff
            }),
        ),
        true,
    );
    row(
        "P picture with forward f_code 12",
        f.render(
            f.surf[1],
            &with_p(&|p| {
                p.forward_reference_picture = f.surf[0];
                p.f_code = (p.f_code & 0x0fff) | 0xc000
            }),
        ),
        true,
    );
    // The P picture itself decodes with its reference.
    let p_ok = with_p(&|p| p.forward_reference_picture = f.surf[0]);
    row("P picture referencing the decoded I picture (valid)", f.render(f.surf[1], &p_ok), false);
    assert_eq!(f.render(f.surf[1], &p_ok), OK, "the valid P picture must decode");
    // Missing and short buffers.
    row("no picture parameters", f.render(f.surf[1], &good[1..]), true);
    row("picture parameters only, no slices", f.render(f.surf[1], &good[..1]), true);
    let mut short_pic = good.clone();
    short_pic[0].1.truncate(8);
    row("picture parameter buffer of 8 bytes", f.render(f.surf[1], &short_pic), true);
    let mut short_iq = good.clone();
    short_iq.insert(1, (va::VAIQMatrixBufferType, vec![1u8; 20], 1));
    row("IQ matrix buffer of 20 bytes", f.render(f.surf[1], &short_iq), true);
    // SAFETY: plain-old-data VA struct; all-zero is valid.
    let mut iq: va::VAIQMatrixBufferMPEG2 = unsafe { std::mem::zeroed() };
    iq.load_intra_quantiser_matrix = 1; // all-zero matrix: invalid
    let mut zero_iq = good.clone();
    zero_iq.insert(1, (va::VAIQMatrixBufferType, bytes_of(&iq), 1));
    row("IQ matrix loading an all-zero intra matrix", f.render(f.surf[1], &zero_iq), true);
    let mut partial = good.clone();
    // SAFETY: plain-old-data VA struct; all-zero is valid.
    let mut sp: va::VASliceParameterBufferMPEG2 = unsafe { std::mem::zeroed() };
    sp.slice_data_size = 10;
    sp.slice_data_flag = va::VA_SLICE_DATA_FLAG_BEGIN;
    partial[1] = (va::VASliceParameterBufferType, bytes_of(&sp), 1);
    row("slice with VA_SLICE_DATA_FLAG_BEGIN (partial slice)", f.render(f.surf[1], &partial), true);
    let mut off = good.clone();
    // SAFETY: reading and rewriting the slice parameter struct just made.
    let mut sp2: va::VASliceParameterBufferMPEG2 = unsafe { std::ptr::read_unaligned(off[1].1.as_ptr() as *const _) };
    sp2.slice_data_offset = u32::MAX - 2;
    off[1].1 = bytes_of(&sp2);
    row("slice_data_offset near u32::MAX", f.render(f.surf[1], &off), true);
    // A B picture in a Simple profile context.
    let (s, cfg_s) = v.create_config(va::VAProfileMPEG2Simple);
    assert_eq!(s, OK);
    let mut surf_s = v.surfaces(w as u32, h as u32, 3);
    let ctx_s = v.context(cfg_s, w, h, &mut surf_s);
    let fs = Fix { v: &v, ctx: ctx_s, surf: surf_s };
    assert_eq!(fs.render(fs.surf[0], &good), OK, "I picture in a Simple context");
    let b = pics.iter().find(|p| p.pic.picture_coding_type == 3).expect("a B picture in odd_size.m2v");
    let mut bp = b.clone();
    bp.pic.forward_reference_picture = fs.surf[0];
    bp.pic.backward_reference_picture = fs.surf[0];
    let got = fs.render(fs.surf[1], &Fix::buffers(&bp, whole));
    row("B picture in an MPEG2Simple context", got, true);

    assert!(bad.is_empty(), "{} wrong:\n{}", bad.len(), bad.join("\n"));
    assert_eq!(v.terminate(), OK);
    println!("hostile mpeg2: all {n} rows as expected");
}
