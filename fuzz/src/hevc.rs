//! The HEVC fuzz entry point ([`hevc_slice`], target
//! fuzz_targets/hevc_slice.rs): the driver's HEVC slice-header parser and
//! the whole VA -> V4L2 translation of one picture, on arbitrary bytes.
use arbitrary::{Arbitrary, Unstructured};
use hantro_drv_video::codecs::hevc::slice_header::{parse_slice_header, strip_start_code, ParseParams};
use hantro_drv_video::codecs::hevc::{parse_params, translate, PictureInput, SliceInput};
use hantro_drv_video::ffi::{pod, va};

fn raw<T: pod::Pod>(u: &mut Unstructured) -> Option<T> {
    let n = std::mem::size_of::<T>();
    let mut buf = vec![0u8; n];
    let avail = u.len().min(n);
    buf[..avail].copy_from_slice(u.bytes(avail).ok()?);
    pod::read(&buf, 0)
}

/// Parse parameters from a few structured bytes: every flag and count the
/// syntax depends on, in the ranges the driver allows.
fn params(u: &mut Unstructured) -> Option<ParseParams> {
    let flags = u32::arbitrary(u).ok()?;
    let b = |i: u32| flags & (1 << i) != 0;
    let v = <[u8; 8]>::arbitrary(u).ok()?;
    Some(ParseParams {
        dependent_slice_segments_enabled: b(0),
        num_extra_slice_header_bits: v[0] % 8,
        output_flag_present: b(1),
        separate_colour_plane: b(2),
        chroma_array_type: if b(2) { 0 } else { 1 },
        log2_max_poc_lsb: v[1] % 13 + 4,
        num_short_term_ref_pic_sets: v[2] % 65,
        long_term_ref_pics_present: b(3),
        num_long_term_ref_pics_sps: v[3] % 33,
        sps_temporal_mvp_enabled: b(4),
        sample_adaptive_offset_enabled: b(5),
        lists_modification_present: b(6),
        cabac_init_present: b(7),
        weighted_pred: b(8),
        weighted_bipred: b(9),
        pps_slice_chroma_qp_offsets_present: b(10),
        deblocking_filter_override_enabled: b(11),
        pps_deblocking_filter_disabled: b(12),
        pps_loop_filter_across_slices_enabled: b(13),
        tiles_enabled: b(14),
        entropy_coding_sync_enabled: b(15),
        slice_segment_header_extension_present: b(16),
        num_ref_idx_l0_default_active_minus1: v[4] % 15,
        num_ref_idx_l1_default_active_minus1: v[5] % 15,
        pps_beta_offset_div2: 0,
        pps_tc_offset_div2: 0,
        pic_size_in_ctbs: u16::arbitrary(u).ok()? as u32 + 1,
        num_pic_total_curr: (v[6] % 17) as u32,
        st_rps_bits: (v[7] as u32) % 128,
    })
}

/// Target hevc_slice: parse_slice_header on the rest of the bytes with
/// structured parameters (and again as a dependent segment after it), then
/// translate on raw VA picture/slice/IQ structs with the same bytes as
/// slice data, references known for surfaces 1..=8. Must never panic.
pub fn hevc_slice(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Some(p) = params(&mut u) else { return };
    let Ok(split) = u8::arbitrary(&mut u) else { return };
    let rest = u.take_rest();
    let at = (split as usize).min(rest.len());
    let (structs, nal) = rest.split_at(at);
    if let Ok(nal) = strip_start_code(nal) {
        if let Ok(h) = parse_slice_header(nal, &p, None) {
            let _ = parse_slice_header(nal, &p, Some(&h));
        }
    }
    let mut s = Unstructured::new(structs);
    let (Some(pic), Some(sp), Some(iq)) =
        (raw::<va::VAPictureParameterBufferHEVC>(&mut s), raw::<va::VASliceParameterBufferHEVC>(&mut s), raw::<va::VAIQMatrixBufferHEVC>(&mut s))
    else {
        return;
    };
    let _ = parse_params(&pic);
    let slices = [SliceInput { params: &sp, data: nal }, SliceInput { params: &sp, data: nal }];
    let known = |id: va::VASurfaceID| (1..=8).contains(&id).then(|| u64::from(id) * 1000);
    for n in 1..=2 {
        let input = PictureInput { pic: &pic, iq: if n == 1 { Some(&iq) } else { None }, slices: &slices[..n] };
        let _ = translate(&input, &known, 3 * (n as u32 - 1));
    }
}
