use super::*;
use std::collections::HashMap;

struct Ts(HashMap<va::VASurfaceID, u64>);

impl RefTs for Ts {
    fn timestamp_ns(&self, s: va::VASurfaceID) -> Option<u64> {
        self.0.get(&s).copied()
    }
}

fn refs() -> Ts {
    Ts([(1, 1000), (2, 2000)].into_iter().collect())
}

fn ext(structure: u32, extra: u32) -> u32 {
    structure << 2 | extra
}

const FRAME_PROGRESSIVE: u32 = 1 << 5 | 1 << 11; // frame_pred_frame_dct, progressive_frame

fn pic(coding: i32, ext_bits: u32) -> va::VAPictureParameterBufferMPEG2 {
    // SAFETY: plain-old-data VA struct; all-zero is valid.
    let mut p: va::VAPictureParameterBufferMPEG2 = unsafe { std::mem::zeroed() };
    p.horizontal_size = 720;
    p.vertical_size = 576;
    p.forward_reference_picture = va::VA_INVALID_SURFACE;
    p.backward_reference_picture = va::VA_INVALID_SURFACE;
    p.picture_coding_type = coding;
    p.f_code = 0xffff;
    p.picture_coding_extension.value = ext_bits;
    p
}

fn run(p: &va::VAPictureParameterBufferMPEG2, iq: Option<&va::VAIQMatrixBufferMPEG2>, st: &mut Mpeg2State) -> Result<Mpeg2Controls, String> {
    translate(&PictureInput { profile: va::VAProfileMPEG2Main, pic: p, iq }, &refs(), None, st)
}

#[test]
fn default_intra_matrix_in_zigzag_order() {
    // The sequence as the kernel's default QUANTISATION control holds it.
    let m = default_intra_zigzag();
    assert_eq!(&m[..16], &[8, 16, 16, 19, 16, 19, 22, 22, 22, 22, 22, 22, 26, 24, 26, 27]);
    assert_eq!(&m[56..], &[46, 46, 56, 56, 58, 69, 69, 83]);
}

#[test]
fn i_picture_fields() {
    let mut st = Mpeg2State::default();
    let bits = ext(3, 2 | 1 << 4 | 1 << 6 | 1 << 7 | 1 << 8 | 1 << 9);
    let c = run(&pic(1, bits), None, &mut st).unwrap();
    assert_eq!(c.picture.picture_coding_type, 1);
    assert_eq!(c.picture.picture_structure, 3);
    assert_eq!(c.picture.intra_dc_precision, 2);
    assert_eq!(
        c.picture.flags,
        k::V4L2_MPEG2_PIC_FLAG_TOP_FIELD_FIRST
            | k::V4L2_MPEG2_PIC_FLAG_CONCEALMENT_MV
            | k::V4L2_MPEG2_PIC_FLAG_Q_SCALE_TYPE
            | k::V4L2_MPEG2_PIC_FLAG_INTRA_VLC
            | k::V4L2_MPEG2_PIC_FLAG_ALT_SCAN
    );
    assert_eq!(c.picture.f_code, [[15, 15], [15, 15]]);
    assert_eq!((c.picture.forward_ref_ts, c.picture.backward_ref_ts), (NO_REFERENCE, NO_REFERENCE));
    let (w, h, chroma) = (c.sequence.horizontal_size, c.sequence.vertical_size, c.sequence.chroma_format);
    assert_eq!((w, h, chroma), (720, 576, 1));
    assert_eq!(c.sequence.profile_and_level_indication, 0x48);
    assert_eq!(c.sequence.vbv_buffer_size, 112);
    // interlaced picture: not a progressive sequence, and it stays so
    assert_eq!(c.sequence.flags, 0);
    let c = run(&pic(1, ext(3, FRAME_PROGRESSIVE)), None, &mut st).unwrap();
    assert_eq!(c.sequence.flags, 0);
    assert_eq!(c.structure, Some(PicStructure::Frame));
    assert!(c.field.is_none());
}

#[test]
fn progressive_sequence_derived() {
    let mut st = Mpeg2State::default();
    let c = run(&pic(1, ext(3, FRAME_PROGRESSIVE)), None, &mut st).unwrap();
    assert_eq!(c.sequence.flags, k::V4L2_MPEG2_SEQ_FLAG_PROGRESSIVE as u8);
    assert_eq!(c.picture.flags, k::V4L2_MPEG2_PIC_FLAG_FRAME_PRED_DCT | k::V4L2_MPEG2_PIC_FLAG_PROGRESSIVE);
}

#[test]
fn references_by_picture_type() {
    let mut st = Mpeg2State::default();
    let mut p = pic(2, ext(3, FRAME_PROGRESSIVE));
    p.f_code = 0x11ff;
    p.forward_reference_picture = 1;
    p.backward_reference_picture = 2; // not used by P
    let c = run(&p, None, &mut st).unwrap();
    assert_eq!((c.picture.forward_ref_ts, c.picture.backward_ref_ts), (1000, NO_REFERENCE));
    assert_eq!(c.picture.f_code, [[1, 1], [15, 15]]);
    assert_eq!(c.refs, [Some(1), None]);
    let mut b = pic(3, ext(3, FRAME_PROGRESSIVE));
    b.f_code = 0x2233;
    b.forward_reference_picture = 1;
    b.backward_reference_picture = 2;
    let c = run(&b, None, &mut st).unwrap();
    assert_eq!((c.picture.forward_ref_ts, c.picture.backward_ref_ts), (1000, 2000));
    assert_eq!(c.picture.f_code, [[2, 2], [3, 3]]);
    // never-decoded / missing references are errors
    b.backward_reference_picture = 7;
    assert!(run(&b, None, &mut st).unwrap_err().contains("no decoded picture"));
    b.backward_reference_picture = va::VA_INVALID_SURFACE;
    assert!(run(&b, None, &mut st).is_err());
    // B in a Simple context
    b.backward_reference_picture = 2;
    assert!(translate(&PictureInput { profile: va::VAProfileMPEG2Simple, pic: &b, iq: None }, &refs(), None, &mut st).is_err());
}

#[test]
fn matrices_are_remembered_and_defaulted() {
    let mut st = Mpeg2State::default();
    let c = run(&pic(1, ext(3, 0)), None, &mut st).unwrap();
    assert_eq!(c.quantisation.intra_quantiser_matrix, default_intra_zigzag());
    assert_eq!(c.quantisation.non_intra_quantiser_matrix, [16; 64]);
    // SAFETY: plain-old-data VA struct; all-zero is valid.
    let mut iq: va::VAIQMatrixBufferMPEG2 = unsafe { std::mem::zeroed() };
    iq.load_non_intra_quantiser_matrix = 1;
    iq.non_intra_quantiser_matrix = [20; 64];
    iq.intra_quantiser_matrix = [99; 64]; // not loaded: ignored
    let c = run(&pic(1, ext(3, 0)), Some(&iq), &mut st).unwrap();
    assert_eq!(c.quantisation.intra_quantiser_matrix, default_intra_zigzag());
    assert_eq!(c.quantisation.non_intra_quantiser_matrix, [20; 64]);
    assert_eq!(c.quantisation.chroma_non_intra_quantiser_matrix, [20; 64]);
    // a later picture without an IQ buffer keeps the loaded matrix
    let c = run(&pic(1, ext(3, 0)), None, &mut st).unwrap();
    assert_eq!(c.quantisation.non_intra_quantiser_matrix, [20; 64]);
    // a loaded matrix with a zero entry is refused, the state unchanged
    iq.load_intra_quantiser_matrix = 1;
    iq.intra_quantiser_matrix = [0; 64];
    assert!(run(&pic(1, ext(3, 0)), Some(&iq), &mut st).is_err());
    assert_eq!(st.matrices.intra, default_intra_zigzag());
}

#[test]
fn field_pictures() {
    let mut st = Mpeg2State::default();
    let c = run(&pic(1, ext(1, 1 << 12)), None, &mut st).unwrap();
    assert_eq!(c.field, Some(Field::Top));
    assert_eq!(c.structure, Some(PicStructure::TopFieldFirst));
    assert_eq!(c.sequence.flags, 0);
    let c = run(&pic(1, ext(2, 0)), None, &mut st).unwrap();
    assert_eq!(c.field, Some(Field::Bottom));
    assert_eq!(c.structure, None);
    let c = run(&pic(1, ext(2, 1 << 12)), None, &mut st).unwrap();
    assert_eq!(c.structure, Some(PicStructure::BottomFieldFirst));
}

#[test]
fn out_of_range_values_are_refused() {
    let mut st = Mpeg2State::default();
    for (coding, bits) in [(0, ext(3, 0)), (4, ext(3, 0)), (1, ext(0, 0))] {
        assert!(run(&pic(coding, bits), None, &mut st).is_err(), "{coding} {bits:#x}");
    }
    let mut p = pic(2, ext(3, 0));
    p.forward_reference_picture = 1;
    for f in [0x0fff, 0xafff, 0x1eff] {
        p.f_code = f;
        assert!(run(&p, None, &mut st).is_err(), "f_code {f:#x}");
    }
    let mut p = pic(1, ext(3, 0));
    p.vertical_size = 0;
    assert!(run(&p, None, &mut st).is_err());
    assert!(translate(&PictureInput { profile: va::VAProfileH264Main, pic: &pic(1, ext(3, 0)), iq: None }, &refs(), None, &mut st).is_err());
}

fn slice(pos: u32, flag: u32) -> va::VASliceParameterBufferMPEG2 {
    // SAFETY: plain-old-data VA struct; all-zero is valid.
    let mut s: va::VASliceParameterBufferMPEG2 = unsafe { std::mem::zeroed() };
    s.slice_vertical_position = pos;
    s.slice_data_flag = flag;
    s
}

#[test]
fn slice_start_codes() {
    let p = slice(4, va::VA_SLICE_DATA_FLAG_ALL);
    let with = [0u8, 0, 1, 5, 0x12, 0x34];
    assert_eq!(slice_pieces(&p, &with).unwrap(), (&[][..], &with[..]));
    let without = [0x12u8, 0x34];
    assert_eq!(slice_pieces(&p, &without).unwrap(), (&[0u8, 0, 1, 5][..], &without[..]));
    // what follows the slice (a sequence_end_code) is cut off
    let ended = [0u8, 0, 1, 5, 0x12, 0x34, 0, 0, 0, 1, 0xb7];
    assert_eq!(slice_pieces(&p, &ended).unwrap(), (&[][..], &ended[..7])); // stuffing zero kept
    let ended = [0x12u8, 0, 0, 1, 0xb7];
    assert_eq!(slice_pieces(&p, &ended).unwrap(), (&[0u8, 0, 1, 5][..], &ended[..1]));
    // a picture start code is not a slice
    assert!(slice_pieces(&p, &[0, 0, 1, 0, 8, 9]).is_err());
    assert!(slice_pieces(&p, &[0, 0, 1, 0xb3, 8, 9]).is_err());
    assert!(slice_pieces(&p, &[]).is_err());
    assert!(slice_pieces(&slice(175, 0), &without).is_err());
    assert!(slice_pieces(&slice(1, va::VA_SLICE_DATA_FLAG_BEGIN), &with).is_err());
}

#[test]
fn profile_and_level_from_size() {
    assert_eq!(profile_and_level(va::VAProfileMPEG2Main, 352, 288), 0x4a);
    assert_eq!(profile_and_level(va::VAProfileMPEG2Main, 720, 576), 0x48);
    assert_eq!(profile_and_level(va::VAProfileMPEG2Main, 1440, 1080), 0x46);
    assert_eq!(profile_and_level(va::VAProfileMPEG2Main, 1920, 1080), 0x44);
    assert_eq!(profile_and_level(va::VAProfileMPEG2Simple, 720, 576), 0x58);
    assert_eq!(max_vbv_buffer_size(0x44), 597);
}

#[test]
fn second_p_field_without_a_previous_frame_refers_to_its_own_frame() {
    let mut st = Mpeg2State::default();
    // bottom field, second (is_first_field 0), P, forward surface 0 (ffmpeg
    // names no surface when there is no previous reference frame)
    let mut p = pic(2, ext(2, 0));
    p.f_code = 0x11ff;
    p.forward_reference_picture = 0;
    let c = translate(&PictureInput { profile: va::VAProfileMPEG2Main, pic: &p, iq: None }, &refs(), Some(5000), &mut st).unwrap();
    assert_eq!(c.picture.forward_ref_ts, 5000);
    assert_eq!(c.refs, [None, None]);
    // a known forward reference is used as given
    p.forward_reference_picture = 1;
    let c = translate(&PictureInput { profile: va::VAProfileMPEG2Main, pic: &p, iq: None }, &refs(), Some(5000), &mut st).unwrap();
    assert_eq!(c.picture.forward_ref_ts, 1000);
    // a first field or a frame gets no such fallback
    p.forward_reference_picture = 0;
    p.picture_coding_extension.value = ext(2, 1 << 12);
    assert!(translate(&PictureInput { profile: va::VAProfileMPEG2Main, pic: &p, iq: None }, &refs(), Some(5000), &mut st).is_err());
}
