//! The H.264 controls each personality exposes, their kernel defaults, and
//! the values S/TRY_EXT_CTRLS refuse.
use crate::ctrls::{CtrlDef, CtrlValues, Kind, Personality};
use crate::uapi::*;
use std::mem::size_of;

const PROFILE_NAMES: &[&str] = &[
    "Baseline",
    "Constrained Baseline",
    "Main",
    "Extended",
    "High",
    "High 10",
    "High 422",
    "High 444 Predictive",
    "High 10 Intra",
    "High 422 Intra",
    "High 444 Intra",
    "CAVLC 444 Intra",
    "Scalable Baseline",
    "Scalable High",
    "Scalable High Intra",
    "Stereo High",
    "Multiview High",
    "Constrained High",
];
const LEVEL_NAMES: &[&str] = &["1", "1b", "1.1", "1.2", "1.3", "2", "2.1", "2.2", "3", "3.1", "3.2", "4", "4.1", "4.2", "5", "5.1", "5.2", "6", "6.1", "6.2"];
const DECODE_MODE_NAMES: &[&str] = &["Slice-Based", "Frame-Based"];
const START_CODE_NAMES: &[&str] = &["No Start Code", "Annex B Start Code"];

pub fn ctrl_defs(p: Personality) -> Vec<CtrlDef> {
    let c = |id, name, ty, size| CtrlDef { id, name, kind: Kind::Compound { ty, size } };
    let mut v = vec![
        c(CID_H264_SPS, "H264 Sequence Parameter Set", v4l2_ctrl_type_V4L2_CTRL_TYPE_H264_SPS, size_of::<v4l2_ctrl_h264_sps>()),
        c(CID_H264_PPS, "H264 Picture Parameter Set", v4l2_ctrl_type_V4L2_CTRL_TYPE_H264_PPS, size_of::<v4l2_ctrl_h264_pps>()),
        c(CID_H264_SCALING_MATRIX, "H264 Scaling Matrix", v4l2_ctrl_type_V4L2_CTRL_TYPE_H264_SCALING_MATRIX, size_of::<v4l2_ctrl_h264_scaling_matrix>()),
        c(CID_H264_DECODE_PARAMS, "H264 Decode Parameters", v4l2_ctrl_type_V4L2_CTRL_TYPE_H264_DECODE_PARAMS, size_of::<v4l2_ctrl_h264_decode_params>()),
    ];
    if p == Personality::Cedrus {
        v.push(c(CID_H264_SLICE_PARAMS, "H264 Slice Parameters", v4l2_ctrl_type_V4L2_CTRL_TYPE_H264_SLICE_PARAMS, size_of::<v4l2_ctrl_h264_slice_params>()));
        v.push(c(
            CID_H264_PRED_WEIGHTS,
            "H264 Prediction Weight Table",
            v4l2_ctrl_type_V4L2_CTRL_TYPE_H264_PRED_WEIGHTS,
            size_of::<v4l2_ctrl_h264_pred_weights>(),
        ));
    }
    let (mode, sc) = if p.frame_based() { (1, 1) } else { (0, 0) };
    v.push(CtrlDef {
        id: CID_H264_DECODE_MODE,
        name: "H264 Decode Mode",
        kind: Kind::Menu { min: mode, max: mode, skip: 0, def: mode, names: DECODE_MODE_NAMES },
    });
    v.push(CtrlDef { id: CID_H264_START_CODE, name: "H264 Start Code", kind: Kind::Menu { min: sc, max: sc, skip: 0, def: sc, names: START_CODE_NAMES } });
    let (pmin, pmax, pdef) = match p {
        Personality::HantroG1 => (0, 4, 2),
        Personality::Rkvdec => (1, 4, 2),
        Personality::Cedrus => (0, 4, 0),
    };
    v.push(CtrlDef {
        id: CID_MPEG_H264_PROFILE,
        name: "H264 Profile",
        kind: Kind::Menu { min: pmin, max: pmax, skip: 1 << 3, def: pdef, names: PROFILE_NAMES },
    });
    if p == Personality::Rkvdec {
        v.push(CtrlDef { id: CID_MPEG_H264_LEVEL, name: "H264 Level", kind: Kind::Menu { min: 0, max: 15, skip: 0, def: 0, names: LEVEL_NAMES } });
    }
    v.sort_by_key(|d| d.id);
    v
}

pub fn defaults(p: Personality) -> CtrlValues {
    let mut v = CtrlValues::default();
    for d in ctrl_defs(p) {
        match d.kind {
            Kind::Menu { def, .. } => v.set(d.id, (def as i32).to_ne_bytes().to_vec()),
            Kind::Compound { size, .. } => {
                let mut b = vec![0u8; size];
                if d.id == CID_H264_SCALING_MATRIX {
                    b.iter_mut().for_each(|x| *x = 16);
                }
                if d.id == CID_H264_SPS {
                    // kernel default: 4:2:0, FRAME_MBS_ONLY clear, all zero
                    b[4] = 1;
                }
                v.set(d.id, b)
            }
            Kind::Class | Kind::Array { .. } => {}
        }
    }
    v
}

/// std_validate() of v4l2-ctrls-core.c for the H.264 compound controls
/// (the checks that return -EINVAL), plus the personality's try_ctrl.
pub fn validate(p: Personality, id: u32, data: &[u8]) -> Result<(), String> {
    let mut v = CtrlValues::default();
    v.set(id, data.to_vec());
    match id {
        CID_H264_SPS => {
            let s: v4l2_ctrl_h264_sps = v.get_struct(id).unwrap();
            if s.chroma_format_idc > 3 {
                return Err("sps.chroma_format_idc > 3".into());
            }
            if s.bit_depth_luma_minus8 > 6 || s.bit_depth_chroma_minus8 > 6 {
                return Err("sps.bit_depth > 14".into());
            }
            if s.log2_max_frame_num_minus4 > 12 || s.log2_max_pic_order_cnt_lsb_minus4 > 12 {
                return Err("sps.log2_max_* > 12".into());
            }
            if s.pic_order_cnt_type > 2 {
                return Err("sps.pic_order_cnt_type > 2".into());
            }
            if s.max_num_ref_frames > 16 {
                return Err("sps.max_num_ref_frames > 16".into());
            }
            if p != Personality::Rkvdec && (s.chroma_format_idc > 1 || s.bit_depth_luma_minus8 != 0 || s.bit_depth_chroma_minus8 != 0) {
                return Err("only 8-bit 4:2:0/4:0:0 supported".into());
            }
            if p == Personality::Rkvdec && (s.chroma_format_idc > 2 || s.bit_depth_luma_minus8 != 0 || s.bit_depth_chroma_minus8 != 0) {
                return Err("only 8-bit 4:2:0/4:2:2 supported".into());
            }
        }
        CID_H264_PPS => {
            let s: v4l2_ctrl_h264_pps = v.get_struct(id).unwrap();
            if s.num_slice_groups_minus1 > 7 {
                return Err("pps.num_slice_groups_minus1 > 7".into());
            }
            if s.num_ref_idx_l0_default_active_minus1 > 31 || s.num_ref_idx_l1_default_active_minus1 > 31 {
                return Err("pps.num_ref_idx_*_default_active_minus1 > 31".into());
            }
            if s.weighted_bipred_idc > 2 {
                return Err("pps.weighted_bipred_idc > 2".into());
            }
            if s.pic_init_qp_minus26 < -62 || s.pic_init_qp_minus26 > 25 {
                return Err("pps.pic_init_qp_minus26 out of range".into());
            }
        }
        CID_H264_SLICE_PARAMS => {
            let s: v4l2_ctrl_h264_slice_params = v.get_struct(id).unwrap();
            if s.num_ref_idx_l0_active_minus1 > 31 || s.num_ref_idx_l1_active_minus1 > 31 {
                return Err("slice_params.num_ref_idx_*_active_minus1 > 31".into());
            }
        }
        CID_H264_PRED_WEIGHTS => {
            let s: v4l2_ctrl_h264_pred_weights = v.get_struct(id).unwrap();
            if s.luma_log2_weight_denom > 7 || s.chroma_log2_weight_denom > 7 {
                return Err("pred_weights.*_log2_weight_denom > 7".into());
            }
        }
        CID_H264_DECODE_PARAMS => {
            let s: v4l2_ctrl_h264_decode_params = v.get_struct(id).unwrap();
            for (i, e) in s.dpb.iter().enumerate() {
                if e.fields & !3 != 0 {
                    return Err(format!("decode_params.dpb[{i}].fields invalid"));
                }
            }
        }
        _ => {}
    }
    Ok(())
}
