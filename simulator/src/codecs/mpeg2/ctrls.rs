//! The MPEG-2 controls (the same on hantro G1 and cedrus: sequence,
//! picture, quantisation; no decode-mode or start-code menu), their kernel
//! defaults (v4l2-ctrls-core.c std_init_compound) and the values
//! S/TRY_EXT_CTRLS refuse (std_validate_compound; neither driver adds a
//! try_ctrl for MPEG-2).
use super::uapi::*;
use crate::ctrls::{struct_bytes, CtrlDef, CtrlValues, Kind, Personality};
use crate::uapi::*;
use std::mem::size_of;

/// The default intra matrix of ISO/IEC 13818-2 6.3.11 in zigzag scan order,
/// as the kernel's default QUANTISATION control holds it.
pub const DEFAULT_INTRA: [u8; 64] = [
    8, 16, 16, 19, 16, 19, 22, 22, 22, 22, 22, 22, 26, 24, 26, 27, 27, 27, 26, 26, 26, 26, 27, 27, 27, 29, 29, 29, 34, 34, 34, 29, 29, 29, 27, 27, 29, 29, 32,
    32, 34, 34, 37, 38, 37, 35, 35, 34, 35, 38, 38, 40, 40, 40, 48, 48, 46, 46, 56, 56, 58, 69, 69, 83,
];

pub fn ctrl_defs(_p: Personality) -> Vec<CtrlDef> {
    let c = |id, name, ty, size| CtrlDef { id, name, kind: Kind::Compound { ty, size } };
    vec![
        c(CID_MPEG2_SEQUENCE, "MPEG-2 Sequence Header", v4l2_ctrl_type_V4L2_CTRL_TYPE_MPEG2_SEQUENCE, size_of::<v4l2_ctrl_mpeg2_sequence>()),
        c(CID_MPEG2_PICTURE, "MPEG-2 Picture Header", v4l2_ctrl_type_V4L2_CTRL_TYPE_MPEG2_PICTURE, size_of::<v4l2_ctrl_mpeg2_picture>()),
        c(CID_MPEG2_QUANTISATION, "MPEG-2 Quantisation Matrices", v4l2_ctrl_type_V4L2_CTRL_TYPE_MPEG2_QUANTISATION, size_of::<v4l2_ctrl_mpeg2_quantisation>()),
    ]
}

pub fn defaults(_p: Personality) -> CtrlValues {
    let mut v = CtrlValues::default();
    let seq = v4l2_ctrl_mpeg2_sequence { chroma_format: 1, ..Default::default() };
    let pic = v4l2_ctrl_mpeg2_picture {
        picture_structure: V4L2_MPEG2_PIC_TOP_FIELD as u8,
        picture_coding_type: V4L2_MPEG2_PIC_CODING_TYPE_I as u8,
        ..Default::default()
    };
    let q = v4l2_ctrl_mpeg2_quantisation {
        intra_quantiser_matrix: DEFAULT_INTRA,
        non_intra_quantiser_matrix: [16; 64],
        chroma_intra_quantiser_matrix: DEFAULT_INTRA,
        chroma_non_intra_quantiser_matrix: [16; 64],
    };
    v.set(CID_MPEG2_SEQUENCE, struct_bytes(&seq));
    v.set(CID_MPEG2_PICTURE, struct_bytes(&pic));
    v.set(CID_MPEG2_QUANTISATION, struct_bytes(&q));
    v
}

pub fn validate(_p: Personality, id: u32, data: &[u8]) -> Result<(), String> {
    let mut v = CtrlValues::default();
    v.set(id, data.to_vec());
    match id {
        CID_MPEG2_SEQUENCE => {
            let s: v4l2_ctrl_mpeg2_sequence = v.get_struct(id).unwrap_or_default();
            if !(1..=3).contains(&s.chroma_format) {
                return Err(format!("sequence.chroma_format {} is not 1..3", s.chroma_format));
            }
        }
        CID_MPEG2_PICTURE => {
            let p: v4l2_ctrl_mpeg2_picture = v.get_struct(id).unwrap_or_default();
            if p.intra_dc_precision > 3 {
                return Err(format!("picture.intra_dc_precision {} > 3", p.intra_dc_precision));
            }
            if !(1..=3).contains(&p.picture_structure) {
                return Err(format!("picture.picture_structure {} is not 1..3", p.picture_structure));
            }
            if !(1..=3).contains(&p.picture_coding_type) {
                return Err(format!("picture.picture_coding_type {} is not I, P or B", p.picture_coding_type));
            }
        }
        _ => {}
    }
    Ok(())
}
