//! MPEG-2 video (ISO/IEC 13818-2): VA picture parameters, IQ matrix and
//! slices → `V4L2_CID_STATELESS_MPEG2_SEQUENCE` / `_PICTURE` /
//! `_QUANTISATION` and the slice data (with their start codes) of one
//! request per picture (kernel
//! Documentation/userspace-api/media/v4l/ext-ctrls-codec-stateless.rst).
//! MPEG-2 has no decode-mode menu: hantro and cedrus both take every slice
//! of a picture (frame or field) in one OUTPUT buffer.
//!
//! VA carries the picture header and picture coding extension. What V4L2
//! wants and VA does not carry, and what is put instead:
//! * `sequence.vbv_buffer_size`: the largest VBV buffer the profile and
//!   level allow (Table 8-12 of the spec), as the combined 18-bit syntax
//!   value (units of 16384 bits) the uAPI names. No stateless decoder reads
//!   it (hantro, cedrus and rkvdec program nothing from it).
//! * `sequence.profile_and_level_indication`: the VA profile (Simple 5,
//!   Main 4, in bits 6..4) and the lowest level (Low 10, Main 8, High-1440
//!   6, High 4) whose sample-rate bounds (Table 8-10) fit the picture size;
//!   escape bit 0. No stateless decoder reads it either.
//! * `sequence.chroma_format`: 1 (4:2:0), the only format of the VA
//!   MPEG-2 profiles.
//! * `sequence.flags` PROGRESSIVE (progressive_sequence): set while every
//!   picture of the context so far was a progressive frame picture with
//!   frame_pred_frame_dct (what progressive_sequence = 1 requires, 6.3.10);
//!   cleared for good by the first picture that is not. hantro programs
//!   "interlace enable" from it; for pictures that have neither field
//!   prediction nor field DCT the bit changes nothing.
//! * `quantisation`: the matrices last loaded (VA `load_*` flags; the
//!   client's IQ buffer may load only some, or be absent), starting from the
//!   spec's default intra matrix and flat 16 non-intra matrix (6.3.11), in
//!   zigzag scan order as both VA and V4L2 carry them. Chroma matrices equal
//!   the luma ones: 4:2:0 has no separate chroma matrices (6.3.11).
//! * Reference timestamps a picture type does not use (both for I, the
//!   backward one for P) are `u64::MAX`, which no CAPTURE buffer carries
//!   (GStreamer's GST_CLOCK_TIME_NONE).

mod codec;
#[cfg(test)]
mod tests;

pub use codec::Mpeg2;

use crate::codecs::codec::{Field, PicStructure};
use crate::ffi::{v4l2 as k, va};

// SAFETY: bindgen-generated #[repr(C)] structs of plain integers, arrays
// and unions thereof; every bit pattern is valid.
unsafe impl crate::ffi::pod::Pod for va::VAPictureParameterBufferMPEG2 {}
// SAFETY: as above.
unsafe impl crate::ffi::pod::Pod for va::VAIQMatrixBufferMPEG2 {}
// SAFETY: as above.
unsafe impl crate::ffi::pod::Pod for va::VASliceParameterBufferMPEG2 {}

/// A reference timestamp no CAPTURE buffer has (unused reference).
pub const NO_REFERENCE: u64 = u64::MAX;

/// The default intra matrix of 6.3.11, in natural (raster) order.
const DEFAULT_INTRA_RASTER: [u8; 64] = [
    8, 16, 19, 22, 26, 27, 29, 34, //
    16, 16, 22, 24, 27, 29, 34, 37, //
    19, 22, 26, 27, 29, 34, 34, 38, //
    22, 22, 26, 27, 29, 34, 37, 40, //
    22, 26, 27, 29, 32, 35, 40, 48, //
    26, 27, 29, 32, 35, 40, 48, 58, //
    26, 27, 29, 34, 38, 46, 56, 69, //
    27, 29, 35, 38, 46, 56, 69, 83,
];

/// Zigzag scan (Figure 7-2): raster index of the n-th coefficient.
const ZIGZAG: [u8; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29,
    22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

/// The default intra matrix in zigzag scan order (as VA and V4L2 carry it).
pub fn default_intra_zigzag() -> [u8; 64] {
    let mut m = [0u8; 64];
    for (n, &r) in ZIGZAG.iter().enumerate() {
        m[n] = DEFAULT_INTRA_RASTER[r as usize];
    }
    m
}

/// The quantiser matrices in force (6.3.11: a matrix stays until loaded
/// again; a sequence header without one resets it to the default, which a
/// VA client expresses by loading the default).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Matrices {
    pub intra: [u8; 64],
    pub non_intra: [u8; 64],
}

impl Default for Matrices {
    fn default() -> Self {
        Matrices { intra: default_intra_zigzag(), non_intra: [16; 64] }
    }
}

impl Matrices {
    /// Takes the matrices `iq` loads. A loaded matrix with a zero entry is
    /// invalid (quantiser_matrix values are 1..255, 6.3.11).
    pub fn load(&mut self, iq: &va::VAIQMatrixBufferMPEG2) -> Result<(), String> {
        if iq.load_intra_quantiser_matrix != 0 {
            if iq.intra_quantiser_matrix.contains(&0) {
                return Err("MPEG-2 intra quantiser matrix with a zero entry".into());
            }
            self.intra = iq.intra_quantiser_matrix;
        }
        if iq.load_non_intra_quantiser_matrix != 0 {
            if iq.non_intra_quantiser_matrix.contains(&0) {
                return Err("MPEG-2 non-intra quantiser matrix with a zero entry".into());
            }
            self.non_intra = iq.non_intra_quantiser_matrix;
        }
        Ok(())
    }

    pub fn control(&self) -> k::v4l2_ctrl_mpeg2_quantisation {
        k::v4l2_ctrl_mpeg2_quantisation {
            intra_quantiser_matrix: self.intra,
            non_intra_quantiser_matrix: self.non_intra,
            chroma_intra_quantiser_matrix: self.intra,
            chroma_non_intra_quantiser_matrix: self.non_intra,
        }
    }
}

/// The picture coding extension bits of `VAPictureParameterBufferMPEG2`
/// (the layout of va.h's bitfield, read from `.value`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PicExt {
    pub intra_dc_precision: u8,
    pub picture_structure: u8,
    pub top_field_first: bool,
    pub frame_pred_frame_dct: bool,
    pub concealment_motion_vectors: bool,
    pub q_scale_type: bool,
    pub intra_vlc_format: bool,
    pub alternate_scan: bool,
    pub repeat_first_field: bool,
    pub progressive_frame: bool,
    pub is_first_field: bool,
}

impl PicExt {
    pub fn from_bits(v: u32) -> Self {
        let b = |i: u32| v >> i & 1 != 0;
        PicExt {
            intra_dc_precision: (v & 3) as u8,
            picture_structure: (v >> 2 & 3) as u8,
            top_field_first: b(4),
            frame_pred_frame_dct: b(5),
            concealment_motion_vectors: b(6),
            q_scale_type: b(7),
            intra_vlc_format: b(8),
            alternate_scan: b(9),
            repeat_first_field: b(10),
            progressive_frame: b(11),
            is_first_field: b(12),
        }
    }

    pub fn flags(&self) -> u32 {
        let f = |c: bool, v: u32| if c { v } else { 0 };
        f(self.top_field_first, k::V4L2_MPEG2_PIC_FLAG_TOP_FIELD_FIRST)
            | f(self.frame_pred_frame_dct, k::V4L2_MPEG2_PIC_FLAG_FRAME_PRED_DCT)
            | f(self.concealment_motion_vectors, k::V4L2_MPEG2_PIC_FLAG_CONCEALMENT_MV)
            | f(self.q_scale_type, k::V4L2_MPEG2_PIC_FLAG_Q_SCALE_TYPE)
            | f(self.intra_vlc_format, k::V4L2_MPEG2_PIC_FLAG_INTRA_VLC)
            | f(self.alternate_scan, k::V4L2_MPEG2_PIC_FLAG_ALT_SCAN)
            | f(self.repeat_first_field, k::V4L2_MPEG2_PIC_FLAG_REPEAT_FIRST)
            | f(self.progressive_frame, k::V4L2_MPEG2_PIC_FLAG_PROGRESSIVE)
    }
}

/// profile_and_level_indication for the VA profile and picture size.
pub fn profile_and_level(profile: va::VAProfile, width: u32, height: u32) -> u16 {
    let profile_id: u16 = if profile == va::VAProfileMPEG2Simple { 5 } else { 4 };
    // Table 8-10 upper bounds (samples/line, lines/frame), 30 Hz frames.
    let level: u16 = if profile == va::VAProfileMPEG2Simple || (width <= 720 && height <= 576) {
        if profile != va::VAProfileMPEG2Simple && width <= 352 && height <= 288 {
            10
        } else {
            8
        }
    } else if width <= 1440 && height <= 1152 {
        6
    } else {
        4
    };
    profile_id << 4 | level
}

/// The largest VBV buffer (Table 8-12), in units of 16384 bits.
pub fn max_vbv_buffer_size(profile_and_level: u16) -> u32 {
    match profile_and_level & 0xf {
        10 => 475_136 / 16384,
        8 => 1_835_008 / 16384,
        6 => 7_340_032 / 16384,
        _ => 9_781_248 / 16384,
    }
}

/// A slice start code for each slice_vertical_position + 1 (0x01..=0xAF),
/// for clients that pass slice data without it.
static SLICE_START_CODES: [[u8; 4]; 175] = {
    let mut t = [[0u8, 0, 1, 0]; 175];
    let mut i = 0;
    while i < 175 {
        t[i][3] = i as u8 + 1;
        i += 1;
    }
    t
};

/// The bytes of one slice for the OUTPUT buffer: its start code (the
/// client's, or one made from slice_vertical_position) and its data.
pub fn slice_pieces<'a>(params: &va::VASliceParameterBufferMPEG2, d: &'a [u8]) -> Result<(&'static [u8], &'a [u8]), String> {
    if params.slice_data_flag != va::VA_SLICE_DATA_FLAG_ALL {
        return Err(format!("MPEG-2 slice data flag {:#x}: partial slices are not supported", params.slice_data_flag));
    }
    if d.len() >= 4 && d[..3] == [0, 0, 1] {
        if !(0x01..=0xAF).contains(&d[3]) {
            return Err(format!("MPEG-2 slice data starts with start code {:#04x}, not a slice start code", d[3]));
        }
        if d.len() < 5 {
            return Err("MPEG-2 slice without a slice header".into());
        }
        return Ok((&[], until_start_code(d, 4)));
    }
    if d.is_empty() {
        return Err("MPEG-2 slice without data".into());
    }
    let d = until_start_code(d, 0);
    // VA's vertical position counts macroblock rows of the picture (a field
    // picture's own rows); the start code value is that row + 1.
    let row = params.slice_vertical_position as usize;
    let sc = SLICE_START_CODES.get(row).ok_or_else(|| format!("MPEG-2 slice_vertical_position {row} beyond 174 without a start code"))?;
    Ok((sc, d))
}

/// `d` up to the first start code prefix at or after `from`: slice data
/// cannot contain one (the syntax avoids 23 zero bits), so whatever follows
/// belongs to the next syntax element — ffmpeg's VA client hands the last
/// slice over with a trailing sequence_end_code, which the device must not
/// get (its OUTPUT buffer holds slices only).
fn until_start_code(d: &[u8], from: usize) -> &[u8] {
    match d.get(from..).and_then(|t| t.windows(3).position(|w| w == [0, 0, 1])) {
        Some(p) => &d[..from + p],
        None => d,
    }
}

/// Everything VA gives for one picture.
pub struct PictureInput<'a> {
    pub profile: va::VAProfile,
    pub pic: &'a va::VAPictureParameterBufferMPEG2,
    pub iq: Option<&'a va::VAIQMatrixBufferMPEG2>,
}

/// Reference timestamps, as the driver knows them.
pub trait RefTs {
    fn timestamp_ns(&self, surface: va::VASurfaceID) -> Option<u64>;
}

/// The controls of one picture.
#[derive(Clone, Copy, Debug)]
pub struct Mpeg2Controls {
    pub sequence: k::v4l2_ctrl_mpeg2_sequence,
    pub picture: k::v4l2_ctrl_mpeg2_picture,
    pub quantisation: k::v4l2_ctrl_mpeg2_quantisation,
    pub field: Option<Field>,
    /// To remember for the target surface (None: a second field).
    pub structure: Option<PicStructure>,
    /// The surfaces the picture reads.
    pub refs: [Option<va::VASurfaceID>; 2],
}

/// What earlier pictures of a context told.
#[derive(Clone, Debug)]
pub struct Mpeg2State {
    pub matrices: Matrices,
    /// Every picture so far could belong to a progressive sequence.
    pub progressive: bool,
}

impl Default for Mpeg2State {
    fn default() -> Self {
        Mpeg2State { matrices: Matrices::default(), progressive: true }
    }
}

fn valid_f_code(f: u8, used: bool) -> bool {
    if used {
        (1..=9).contains(&f) || f == 15
    } else {
        f != 0
    }
}

/// Translates one picture; `state` carries the matrices and the
/// progressive-sequence derivation from picture to picture (updated only
/// when the picture translates). `current_ts`: the timestamp of the frame
/// the target surface holds (its first field, for a second field).
///
/// The second field of a P frame predicts from the first field of its own
/// frame and from the previous reference frame (7.6.3.5); at the start of
/// a stream (or after an I-only first field) there is no previous one, and
/// ffmpeg's VA client then names no valid surface. Such a field's
/// forward reference is its own frame (what hantro also falls back to when
/// it finds no buffer with the timestamp).
pub fn translate(input: &PictureInput, refs: &dyn RefTs, current_ts: Option<u64>, state: &mut Mpeg2State) -> Result<Mpeg2Controls, String> {
    let pp = input.pic;
    if input.profile != va::VAProfileMPEG2Simple && input.profile != va::VAProfileMPEG2Main {
        return Err(format!("VA profile {} is not an MPEG-2 profile", input.profile));
    }
    let (w, h) = (pp.horizontal_size as u32, pp.vertical_size as u32);
    // 14-bit sizes (horizontal/vertical_size_value + extension); 0 is forbidden.
    if w == 0 || h == 0 || w > 0x3fff || h > 0x3fff {
        return Err(format!("MPEG-2 picture size {w}x{h} out of range"));
    }
    // SAFETY: a union of a u32 bitfield struct and a u32: every bit
    // pattern of the client's bytes is a valid `value`.
    let ext = PicExt::from_bits(unsafe { pp.picture_coding_extension.value });
    let coding_type = pp.picture_coding_type;
    let (fwd_used, bwd_used) = match coding_type as u32 {
        k::V4L2_MPEG2_PIC_CODING_TYPE_I => (false, false),
        k::V4L2_MPEG2_PIC_CODING_TYPE_P => (true, false),
        k::V4L2_MPEG2_PIC_CODING_TYPE_B => (true, true),
        _ => return Err(format!("MPEG-2 picture_coding_type {coding_type} is not I, P or B")),
    };
    if input.profile == va::VAProfileMPEG2Simple && bwd_used {
        return Err("B picture in an MPEG-2 Simple profile context".into());
    }
    let structure = ext.picture_structure as u32;
    let field = match structure {
        k::V4L2_MPEG2_PIC_TOP_FIELD => Some(Field::Top),
        k::V4L2_MPEG2_PIC_BOTTOM_FIELD => Some(Field::Bottom),
        k::V4L2_MPEG2_PIC_FRAME => None,
        _ => return Err("MPEG-2 picture_structure 0 (reserved)".into()),
    };
    let fc = pp.f_code as u32;
    let f_code = [[(fc >> 12 & 15) as u8, (fc >> 8 & 15) as u8], [(fc >> 4 & 15) as u8, (fc & 15) as u8]];
    for (dir, used) in [(0, fwd_used), (1, bwd_used)] {
        for (c, &f) in f_code[dir].iter().enumerate() {
            if !valid_f_code(f, used) {
                return Err(format!("MPEG-2 f_code[{dir}][{c}] = {f} out of range"));
            }
        }
    }
    let ts = |surface: va::VASurfaceID, what: &str| -> Result<u64, String> {
        if surface == va::VA_INVALID_SURFACE {
            return Err(format!("MPEG-2 {what} reference missing"));
        }
        refs.timestamp_ns(surface).ok_or_else(|| format!("MPEG-2 {what} reference surface {surface:#x} holds no decoded picture"))
    };
    let second_field = structure != k::V4L2_MPEG2_PIC_FRAME && !ext.is_first_field;
    let forward_ref_ts = match ts(pp.forward_reference_picture, "forward") {
        _ if !fwd_used => NO_REFERENCE,
        Ok(t) => t,
        Err(_) if second_field && !bwd_used && current_ts.is_some() => current_ts.unwrap_or(NO_REFERENCE),
        Err(e) => return Err(e),
    };
    let backward_ref_ts = if bwd_used { ts(pp.backward_reference_picture, "backward")? } else { NO_REFERENCE };

    let mut matrices = state.matrices;
    if let Some(iq) = input.iq {
        matrices.load(iq)?;
    }
    let progressive = state.progressive && field.is_none() && ext.progressive_frame && ext.frame_pred_frame_dct;
    let pl = profile_and_level(input.profile, w, h);
    let sequence = k::v4l2_ctrl_mpeg2_sequence {
        horizontal_size: w as u16,
        vertical_size: h as u16,
        vbv_buffer_size: max_vbv_buffer_size(pl),
        profile_and_level_indication: pl,
        chroma_format: 1,
        flags: if progressive { k::V4L2_MPEG2_SEQ_FLAG_PROGRESSIVE as u8 } else { 0 },
    };
    let picture = k::v4l2_ctrl_mpeg2_picture {
        backward_ref_ts,
        forward_ref_ts,
        flags: ext.flags(),
        f_code,
        picture_coding_type: coding_type as u8,
        picture_structure: structure as u8,
        intra_dc_precision: ext.intra_dc_precision,
        reserved: [0; 5],
    };
    let pic_structure = match field {
        None => Some(PicStructure::Frame),
        Some(_) if second_field => None,
        Some(Field::Top) => Some(PicStructure::TopFieldFirst),
        Some(Field::Bottom) => Some(PicStructure::BottomFieldFirst),
    };
    let known = |s: va::VASurfaceID| refs.timestamp_ns(s).is_some();
    let refs = [(fwd_used && known(pp.forward_reference_picture)).then_some(pp.forward_reference_picture), bwd_used.then_some(pp.backward_reference_picture)];
    state.matrices = matrices;
    state.progressive = progressive;
    Ok(Mpeg2Controls { sequence, picture, quantisation: matrices.control(), field, structure: pic_structure, refs })
}
