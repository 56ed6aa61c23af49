use super::slice_header::*;
use super::*;
use crate::codecs::h264::bitreader::tests::{escape, BitWriter};

type PicBits = va::_VAPictureParameterBufferHEVC__bindgen_ty_1__bindgen_ty_1;
type ParseBits = va::_VAPictureParameterBufferHEVC__bindgen_ty_2__bindgen_ty_1;

/// A 416x240 4:2:0 picture, 64x64 CTBs (7x4 = 28 CTBs), POC lsb 8 bits.
fn pic() -> va::VAPictureParameterBufferHEVC {
    let mut p = va::VAPictureParameterBufferHEVC::default();
    p.CurrPic.picture_id = 100;
    p.CurrPic.pic_order_cnt = 8;
    for r in p.ReferenceFrames.iter_mut() {
        r.picture_id = va::VA_INVALID_SURFACE;
        r.flags = va::VA_PICTURE_HEVC_INVALID;
    }
    p.pic_width_in_luma_samples = 416;
    p.pic_height_in_luma_samples = 240;
    let mut f = PicBits::default();
    f.set_chroma_format_idc(1);
    f.set_amp_enabled_flag(1);
    f.set_pps_loop_filter_across_slices_enabled_flag(1);
    p.pic_fields.bits = f;
    let mut s = ParseBits::default();
    s.set_sample_adaptive_offset_enabled_flag(1);
    s.set_sps_temporal_mvp_enabled_flag(1);
    p.slice_parsing_fields.bits = s;
    p.log2_min_luma_coding_block_size_minus3 = 0;
    p.log2_diff_max_min_luma_coding_block_size = 3;
    p.log2_diff_max_min_transform_block_size = 3;
    p.log2_max_pic_order_cnt_lsb_minus4 = 4;
    p.num_short_term_ref_pic_sets = 2;
    p.sps_max_dec_pic_buffering_minus1 = 4;
    p.init_qp_minus26 = -3;
    p
}

fn set_parse_bits(p: &mut va::VAPictureParameterBufferHEVC, f: impl FnOnce(&mut ParseBits)) {
    let mut b = slice_parsing_fields(p);
    f(&mut b);
    p.slice_parsing_fields.bits = b;
}

fn set_pic_bits(p: &mut va::VAPictureParameterBufferHEVC, f: impl FnOnce(&mut PicBits)) {
    let mut b = pic_fields(p);
    f(&mut b);
    p.pic_fields.bits = b;
}

fn nal_header(w: &mut BitWriter, nal_type: u8, tid_plus1: u8) {
    w.put(1, 0);
    w.put(6, nal_type as u64);
    w.put(6, 0);
    w.put(3, tid_plus1 as u64);
}

/// IDR_W_RADL, first slice, I, SAO on, qp delta +2.
fn idr_slice() -> Vec<u8> {
    let mut w = BitWriter::default();
    nal_header(&mut w, NAL_IDR_W_RADL, 1);
    w.flag(true); // first_slice_segment_in_pic_flag
    w.flag(false); // no_output_of_prior_pics_flag
    w.ue(0); // pps id
    w.ue(2); // slice_type I
    w.flag(true); // sao luma
    w.flag(false); // sao chroma
    w.se(2); // slice_qp_delta
    w.flag(true); // slice_loop_filter_across_slices_enabled_flag
    w.trailing(); // byte_alignment
    w.put(8, 0xAB); // slice data
    w.bytes
}

#[test]
fn idr_header_and_data_offset() {
    let p = pic();
    let pp = parse_params(&p).unwrap();
    let nal = idr_slice();
    let h = parse_slice_header(&nal, &pp, None).unwrap();
    assert_eq!(h.nal_unit_type, NAL_IDR_W_RADL);
    assert!(h.is_idr() && h.is_irap() && h.first_slice_segment_in_pic);
    assert_eq!((h.slice_type, h.qp_delta, h.sao_luma, h.sao_chroma), (SLICE_I, 2, true, false));
    assert!(h.loop_filter_across_slices_enabled);
    assert_eq!(h.data_rbsp_offset as usize, nal.len() - 1);
    assert_eq!(h.header_epb, 0);
}

/// TRAIL_R P slice: own st_ref_pic_set (1 negative picture), temporal
/// MVP, 2 references, entry points with WPP.
fn p_slice(w: &mut BitWriter) {
    nal_header(w, 1, 2);
    w.flag(true);
    w.ue(3); // pps id 3
    w.ue(1); // P
    w.put(8, 8); // poc lsb
    w.flag(false); // short_term_ref_pic_set_sps_flag
                   // st_ref_pic_set(2): inter_ref_pic_set_prediction_flag, then own set
    w.flag(false);
    w.ue(1); // num_negative_pics
    w.ue(0); // num_positive_pics
    w.ue(0); // delta_poc_s0_minus1
    w.flag(true); // used
    w.flag(true); // slice_temporal_mvp_enabled_flag
    w.flag(false); // sao luma
    w.flag(false); // sao chroma
    w.flag(true); // num_ref_idx_active_override_flag
    w.ue(1); // l0 active minus1
             // no cabac_init_present; temporal mvp: P → collocated_from_l0 inferred 1
    w.ue(1); // collocated_ref_idx
    w.ue(2); // five_minus_max_num_merge_cand
    w.se(-1); // slice_qp_delta
    w.flag(false); // slice_loop_filter_across_slices_enabled_flag
    w.ue(2); // num_entry_point_offsets
    w.ue(9); // offset_len_minus1
    w.put(10, 99);
    w.put(10, 299);
    w.trailing();
    w.put(8, 0x55);
}

#[test]
fn p_slice_sizes_refs_and_entry_points() {
    let mut p = pic();
    set_pic_bits(&mut p, |b| b.set_entropy_coding_sync_enabled_flag(1));
    p.ReferenceFrames[0] = va::VAPictureHEVC { picture_id: 7, pic_order_cnt: 4, flags: va::VA_PICTURE_HEVC_RPS_ST_CURR_BEFORE, ..Default::default() };
    p.ReferenceFrames[1] = va::VAPictureHEVC { picture_id: 9, pic_order_cnt: 6, flags: va::VA_PICTURE_HEVC_RPS_ST_CURR_BEFORE, ..Default::default() };
    p.ReferenceFrames[2] = va::VAPictureHEVC { picture_id: 11, pic_order_cnt: 0, flags: va::VA_PICTURE_HEVC_LONG_TERM_REFERENCE, ..Default::default() };
    let mut w = BitWriter::default();
    p_slice(&mut w);
    let nal = w.bytes;
    let mut sp = va::VASliceParameterBufferHEVC { RefPicList: [[0xff; 15]; 2], ..Default::default() };
    sp.RefPicList[0][0] = 1;
    sp.RefPicList[0][1] = 0;
    let mut data = vec![0, 0, 1];
    data.extend_from_slice(&nal);
    let slices = [SliceInput { params: &sp, data: &data }];
    let input = PictureInput { pic: &p, iq: None, slices: &slices };
    let ts = |s: va::VASurfaceID| Some(s as u64 * 1000);
    let c = translate(&input, &ts, 3).unwrap();
    let h = &c.parsed[0];
    assert_eq!(h.short_term_ref_pic_set_size, 1 + 1 + 3 + 1 + 1); // flag, ue(1)=010, ue(0)=1, ue(0)=1, used
    assert_eq!(h.entry_point_offsets, vec![100, 300]);
    assert_eq!(c.pps.pic_parameter_set_id, 3);
    let s = &c.slices[0].slice_params;
    assert_eq!((s.nal_unit_type, s.nuh_temporal_id_plus1, s.slice_type), (1, 2, SLICE_P));
    assert_eq!((s.num_ref_idx_l0_active_minus1, s.collocated_ref_idx, s.five_minus_max_num_merge_cand, s.slice_qp_delta), (1, 1, 2, -1));
    assert_eq!(s.num_entry_point_offsets, 2);
    assert_eq!(s.data_byte_offset as usize, nal.len() - 1 + 3);
    assert_eq!(s.bit_size as usize, (nal.len() + 3) * 8);
    assert_eq!(&s.ref_idx_l0[..3], &[1, 0, 0xff]);
    assert_eq!(s.ref_idx_l1, [0xff; 16]);
    assert_ne!(s.flags & k::V4L2_HEVC_SLICE_PARAMS_FLAG_COLLOCATED_FROM_L0 as u64, 0);
    let d = &c.decode_params;
    assert_eq!((d.num_active_dpb_entries, d.num_poc_st_curr_before, d.num_poc_st_curr_after, d.num_poc_lt_curr), (3, 2, 0, 0));
    // decreasing POC: 6 (dpb 1) then 4 (dpb 0)
    assert_eq!(&d.poc_st_curr_before[..3], &[1, 0, 0xff]);
    assert_eq!(d.dpb[2].flags, k::V4L2_HEVC_DPB_ENTRY_LONG_TERM_REFERENCE as u8);
    assert_eq!(d.dpb[1].timestamp, 9000);
    assert_eq!(d.short_term_ref_pic_set_size, 7);
    assert_eq!(d.flags, 0);
    assert_eq!(d.pic_order_cnt_val, 8);
    // a reference never decoded is an error, not a guess
    let none = |s: va::VASurfaceID| if s == 9 { None } else { Some(1) };
    assert_eq!(translate(&input, &none, 3).err(), Some(CodecError::MissingReference { surface: 9 }));
}

#[test]
fn inter_rps_num_delta_pocs_from_st_rps_bits() {
    let mut p = pic();
    // slice RPS: inter flag(1) delta_idx_minus1 ue(0)=1 sign(1) abs ue(0)=1, then 3 iterations: 1, 0 1, 1 → 4 bits
    p.st_rps_bits = 1 + 1 + 1 + 1 + 4;
    let pp = parse_params(&p).unwrap();
    let mut w = BitWriter::default();
    nal_header(&mut w, 1, 1);
    w.flag(true);
    w.ue(0);
    w.ue(2); // I slice in a non-IDR picture
    w.put(8, 3);
    w.flag(false); // own RPS
    w.flag(true); // inter_ref_pic_set_prediction_flag
    w.ue(0);
    w.flag(false);
    w.ue(0);
    w.flag(true);
    w.flag(false);
    w.flag(true);
    w.flag(true);
    w.flag(false); // slice_temporal_mvp_enabled_flag
    w.flag(false);
    w.flag(false); // sao
    w.se(0);
    w.flag(false);
    w.trailing();
    let h = parse_slice_header(&w.bytes, &pp, None).unwrap();
    assert_eq!(h.num_delta_pocs_of_ref_rps_idx, 2);
    assert_eq!(h.short_term_ref_pic_set_size, 8);
    // a wrong st_rps_bits cannot end the set: an error, not a guess
    let mut bad = pp;
    bad.st_rps_bits = 5;
    assert!(parse_slice_header(&w.bytes, &bad, None).is_err());
}

#[test]
fn emulation_prevention_is_not_counted_in_the_offset() {
    let mut p = pic();
    set_parse_bits(&mut p, |b| b.set_slice_segment_header_extension_present_flag(1));
    let pp = parse_params(&p).unwrap();
    // a header extension of zero bytes forces 00 00 03 sequences into the header
    let mut w = BitWriter::default();
    nal_header(&mut w, NAL_IDR_W_RADL, 1);
    w.flag(true);
    w.flag(false);
    w.ue(0);
    w.ue(2);
    w.flag(false);
    w.flag(false); // sao
    w.se(0);
    w.flag(false);
    w.ue(6); // slice_segment_header_extension_length
    w.put(32, 0);
    w.put(16, 0);
    w.trailing();
    w.put(8, 0x80);
    let rbsp = w.bytes.clone();
    let escaped = escape(&rbsp);
    assert!(escaped.len() > rbsp.len());
    let plain = parse_slice_header(&rbsp, &pp, None).unwrap();
    let h = parse_slice_header(&escaped, &pp, None).unwrap();
    assert_eq!(h.data_rbsp_offset as usize, rbsp.len() - 1);
    assert_eq!(h.data_rbsp_offset, plain.data_rbsp_offset);
    assert_eq!(h.header_epb as usize, escaped.len() - rbsp.len());
}

#[test]
fn dependent_segments_take_the_independent_values() {
    let mut p = pic();
    set_parse_bits(&mut p, |b| b.set_dependent_slice_segments_enabled_flag(1));
    let pp = parse_params(&p).unwrap();
    let first = parse_slice_header(&idr_slice(), &pp, None);
    // the IDR slice has no dependent flag (first segment): same bits
    let first = first.unwrap();
    let mut w = BitWriter::default();
    nal_header(&mut w, NAL_IDR_W_RADL, 1);
    w.flag(false);
    w.flag(false); // no_output_of_prior_pics
    w.ue(0);
    w.flag(true); // dependent_slice_segment_flag
    w.put(5, 14); // address: Ceil(Log2(28)) = 5 bits
    w.trailing();
    let d = parse_slice_header(&w.bytes, &pp, Some(&first)).unwrap();
    assert!(d.dependent_slice_segment);
    assert_eq!((d.segment_address, d.qp_delta, d.sao_luma), (14, first.qp_delta, true));
    assert_eq!(parse_slice_header(&w.bytes, &pp, None), Err(ParseError::DependentFirst));
    // an address beyond the picture
    let mut w = BitWriter::default();
    nal_header(&mut w, NAL_IDR_W_RADL, 1);
    w.flag(false);
    w.flag(false);
    w.ue(0);
    w.flag(true);
    w.put(5, 30);
    w.trailing();
    assert!(parse_slice_header(&w.bytes, &pp, Some(&first)).is_err());
}

#[test]
fn hostile_headers_are_errors() {
    let p = pic();
    let pp = parse_params(&p).unwrap();
    let nal = idr_slice();
    for n in 0..nal.len() - 1 {
        assert!(parse_slice_header(&nal[..n], &pp, None).is_err(), "truncated at {n}");
    }
    let mut bad = nal.clone();
    bad[0] |= 0x80; // forbidden_zero_bit
    assert!(parse_slice_header(&bad, &pp, None).is_err());
    let mut sei = nal.clone();
    sei[0] = 39 << 1; // PREFIX_SEI
    assert_eq!(parse_slice_header(&sei, &pp, None), Err(ParseError::NotASlice(39)));
    assert!(strip_start_code(&[0, 0, 2, 1]).is_err());
    // TRAIL_N (type 0) starts with a zero byte: not a start code
    assert_eq!(strip_start_code(&[0, 1, 7]), Ok(&[0u8, 1, 7][..]));
    assert_eq!(strip_start_code(&[0, 0, 0, 1, 0, 1, 7]), Ok(&[0u8, 1, 7][..]));
    let mut q = pic();
    q.log2_diff_max_min_luma_coding_block_size = 5;
    assert!(parse_params(&q).is_err());
}

#[test]
fn scaling_lists_are_raster_and_default() {
    let mut p = pic();
    set_pic_bits(&mut p, |b| b.set_scaling_list_enabled_flag(1));
    let mut iq = va::VAIQMatrixBufferHEVC::default();
    for i in 0..16 {
        iq.ScalingList4x4[0][i] = i as u8;
    }
    for i in 0..64 {
        iq.ScalingList32x32[1][i] = i as u8;
    }
    iq.ScalingListDC32x32 = [20, 21];
    let m = scaling_matrix(&p, Some(&iq));
    // VA's lists are raster already: copied as they are
    assert_eq!(&m.scaling_list_4x4[0][..5], &[0, 1, 2, 3, 4]);
    assert_eq!(&m.scaling_list_32x32[1][..3], &[0, 1, 2]);
    assert_eq!(m.scaling_list_dc_coef_32x32, [20, 21]);
    let d = scaling_matrix(&p, None);
    // the default lists are coded in diagonal order: the second coded
    // intra value lands at raster (x 0, y 1), the 11th (17) at (x 0, y 4)
    assert_eq!(d.scaling_list_8x8[0][32], 17);
    assert_eq!(d.scaling_list_8x8[0][3], 16);
    assert_eq!(d.scaling_list_8x8[0][63], 115);
    assert_eq!(d.scaling_list_8x8[4][63], 91);
    assert_eq!(d.scaling_list_dc_coef_16x16, [16; 6]);
    set_pic_bits(&mut p, |b| b.set_scaling_list_enabled_flag(0));
    assert_eq!(scaling_matrix(&p, Some(&iq)).scaling_list_4x4[0], [0; 16]);
}

#[test]
fn tiles_uniform_and_explicit() {
    let mut p = pic();
    set_pic_bits(&mut p, |b| b.set_tiles_enabled_flag(1));
    // 7 CTB columns in 3 tiles: uniform 2,2,3
    p.num_tile_columns_minus1 = 2;
    p.column_width_minus1[0] = 1;
    p.column_width_minus1[1] = 1;
    let pps = pps_from_va(&p, 0).unwrap();
    assert_eq!(&pps.column_width_minus1[..3], &[1, 1, 2]);
    assert_ne!(pps.flags & k::V4L2_HEVC_PPS_FLAG_UNIFORM_SPACING as u64, 0);
    p.column_width_minus1[0] = 0;
    let pps = pps_from_va(&p, 0).unwrap();
    assert_eq!(&pps.column_width_minus1[..3], &[0, 1, 3]);
    assert_eq!(pps.flags & k::V4L2_HEVC_PPS_FLAG_UNIFORM_SPACING as u64, 0);
    p.column_width_minus1[0] = 9;
    assert!(pps_from_va(&p, 0).is_err());
}

#[test]
fn diag_scan_matches_6_5_3() {
    let d = tables::diag_scan(4);
    assert_eq!(&d[..6], &[(0, 0), (0, 1), (1, 0), (0, 2), (1, 1), (2, 0)]);
    assert_eq!(d[15], (3, 3));
    assert_eq!(tables::diag_scan(8).len(), 64);
}
