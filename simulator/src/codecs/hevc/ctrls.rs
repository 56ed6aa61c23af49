//! The HEVC controls each personality exposes, their kernel defaults, and
//! the values S/TRY_EXT_CTRLS refuse.
use super::uapi::*;
use crate::ctrls::{CtrlDef, CtrlValues, Kind, Personality};
use crate::uapi::*;
use std::mem::size_of;

const PROFILE_NAMES: &[&str] = &["Main", "Main Still Picture", "Main 10"];
const DECODE_MODE_NAMES: &[&str] = &["Slice-Based", "Frame-Based"];
const START_CODE_NAMES: &[&str] = &["No Start Code", "Annex B Start Code"];

/// The most slices per request a slice-params array takes (cedrus takes
/// one per request; the kernel's array bound is the driver's choice).
pub const MAX_SLICES: usize = 600;
/// Entry points per request.
pub const MAX_ENTRY_POINTS: usize = 256;

pub fn ctrl_defs(p: Personality) -> Vec<CtrlDef> {
    let c = |id, name, ty, size| CtrlDef { id, name, kind: Kind::Compound { ty, size } };
    let mut v = vec![
        c(CID_HEVC_SPS, "HEVC Sequence Parameter Set", v4l2_ctrl_type_V4L2_CTRL_TYPE_HEVC_SPS, size_of::<v4l2_ctrl_hevc_sps>()),
        c(CID_HEVC_PPS, "HEVC Picture Parameter Set", v4l2_ctrl_type_V4L2_CTRL_TYPE_HEVC_PPS, size_of::<v4l2_ctrl_hevc_pps>()),
        c(CID_HEVC_SCALING_MATRIX, "HEVC Scaling Matrix", v4l2_ctrl_type_V4L2_CTRL_TYPE_HEVC_SCALING_MATRIX, size_of::<v4l2_ctrl_hevc_scaling_matrix>()),
        c(CID_HEVC_DECODE_PARAMS, "HEVC Decode Parameters", v4l2_ctrl_type_V4L2_CTRL_TYPE_HEVC_DECODE_PARAMS, size_of::<v4l2_ctrl_hevc_decode_params>()),
    ];
    if !p.frame_based() {
        v.push(CtrlDef {
            id: CID_HEVC_SLICE_PARAMS,
            name: "HEVC Slice Parameters",
            kind: Kind::Array { ty: v4l2_ctrl_type_V4L2_CTRL_TYPE_HEVC_SLICE_PARAMS, elem: size_of::<v4l2_ctrl_hevc_slice_params>(), max: MAX_SLICES },
        });
        v.push(CtrlDef {
            id: CID_HEVC_ENTRY_POINT_OFFSETS,
            name: "HEVC Entry Point Offsets",
            kind: Kind::Array { ty: v4l2_ctrl_type_V4L2_CTRL_TYPE_U32, elem: 4, max: MAX_ENTRY_POINTS },
        });
    }
    let (mode, sc) = if p.frame_based() { (1, 1) } else { (0, 0) };
    v.push(CtrlDef {
        id: CID_HEVC_DECODE_MODE,
        name: "HEVC Decode Mode",
        kind: Kind::Menu { min: mode, max: mode, skip: 0, def: mode, names: DECODE_MODE_NAMES },
    });
    v.push(CtrlDef { id: CID_HEVC_START_CODE, name: "HEVC Start Code", kind: Kind::Menu { min: sc, max: sc, skip: 0, def: sc, names: START_CODE_NAMES } });
    // 8-bit CAPTURE only in the simulator: Main and Main Still Picture
    v.push(CtrlDef { id: CID_MPEG_HEVC_PROFILE, name: "HEVC Profile", kind: Kind::Menu { min: 0, max: 1, skip: 0, def: 0, names: PROFILE_NAMES } });
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
                if d.id == CID_HEVC_SPS {
                    // kernel default (v4l2-ctrls-core.c): 4:2:0
                    b[std::mem::offset_of!(v4l2_ctrl_hevc_sps, chroma_format_idc)] = 1;
                }
                v.set(d.id, b)
            }
            Kind::Array { elem, .. } => v.set(d.id, vec![0u8; elem]),
            Kind::Class => {}
        }
    }
    v
}

/// std_validate() of v4l2-ctrls-core.c for the HEVC controls (the checks
/// that return -EINVAL), plus what the simulated hardware cannot decode.
pub fn validate(_p: Personality, id: u32, data: &[u8]) -> Result<(), String> {
    let mut v = CtrlValues::default();
    v.set(id, data.to_vec());
    match id {
        CID_HEVC_SPS => {
            let s: v4l2_ctrl_hevc_sps = v.get_struct(id).unwrap();
            if s.chroma_format_idc != 1 || s.bit_depth_luma_minus8 != 0 || s.bit_depth_chroma_minus8 != 0 {
                return Err("sps: only 8-bit 4:2:0 supported".into());
            }
        }
        CID_HEVC_PPS => {
            let s: v4l2_ctrl_hevc_pps = v.get_struct(id).unwrap();
            // std_validate clears the column/row arrays without tiles; it
            // refuses nothing else here
            if s.num_tile_columns_minus1 > 19 || s.num_tile_rows_minus1 > 21 {
                return Err("pps: too many tiles".into());
            }
        }
        CID_HEVC_DECODE_PARAMS => {
            let s: v4l2_ctrl_hevc_decode_params = v.get_struct(id).unwrap();
            if s.num_active_dpb_entries as usize > V4L2_HEVC_DPB_ENTRIES_NUM_MAX as usize {
                return Err("decode_params.num_active_dpb_entries > 16".into());
            }
        }
        CID_HEVC_SLICE_PARAMS => {
            for (i, c) in data.chunks(size_of::<v4l2_ctrl_hevc_slice_params>()).enumerate() {
                let mut one = CtrlValues::default();
                one.set(id, c.to_vec());
                let s: v4l2_ctrl_hevc_slice_params = one.get_struct(id).unwrap();
                if s.num_ref_idx_l0_active_minus1 > 14 || s.num_ref_idx_l1_active_minus1 > 14 {
                    return Err(format!("slice_params[{i}].num_ref_idx_*_active_minus1 > 14"));
                }
            }
        }
        _ => {}
    }
    Ok(())
}
