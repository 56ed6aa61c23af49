//! VP8 (V4L2_PIX_FMT_VP8_FRAME) behind `codec::Codec`: the simulator's own
//! frame parse with the probability state (parse.rs), the control checker
//! and reference model (checker.rs). Offered by hantro-g1 and cedrus (both
//! take one whole frame per request).
pub mod checker;
pub mod parse;
pub mod tables;
pub mod uapi;

use crate::codec::{Codec, Model};
use crate::ctrls::{CtrlDef, CtrlValues, Kind, Personality};
use crate::uapi::*;
use std::mem::size_of;

/// libavcodec's AV_CODEC_ID_VP8
const AV_CODEC_ID_VP8: i32 = 139;

pub struct Vp8;

impl Codec for Vp8 {
    fn name(&self) -> &'static str {
        "VP8"
    }
    fn fourcc(&self) -> u32 {
        PIX_FMT_VP8_FRAME
    }
    fn description(&self) -> &'static str {
        "VP8 Frame"
    }
    fn av_codec_id(&self) -> i32 {
        AV_CODEC_ID_VP8
    }
    fn ctrl_defs(&self, _p: Personality) -> Vec<CtrlDef> {
        vec![CtrlDef {
            id: CID_VP8_FRAME,
            name: "VP8 Frame Parameters",
            kind: Kind::Compound { ty: v4l2_ctrl_type_V4L2_CTRL_TYPE_VP8_FRAME, size: size_of::<v4l2_ctrl_vp8_frame>() },
        }]
    }
    fn defaults(&self, p: Personality) -> CtrlValues {
        let mut v = CtrlValues::default();
        for d in self.ctrl_defs(p) {
            // kernel default (std_init_compound): all zero, one DCT partition
            let f = v4l2_ctrl_vp8_frame { num_dct_parts: 1, ..Default::default() };
            v.set(d.id, crate::ctrls::struct_bytes(&f));
        }
        v
    }
    /// std_validate_compound() for V4L2_CTRL_TYPE_VP8_FRAME.
    fn validate(&self, _p: Personality, id: u32, data: &[u8]) -> Result<(), String> {
        if id != CID_VP8_FRAME {
            return Ok(());
        }
        let mut v = CtrlValues::default();
        v.set(id, data.to_vec());
        let Some(f) = v.get_struct::<v4l2_ctrl_vp8_frame>(id) else { return Err("vp8_frame: short payload".into()) };
        if ![1, 2, 4, 8].contains(&f.num_dct_parts) {
            return Err(format!("vp8_frame.num_dct_parts {} (1, 2, 4 or 8)", f.num_dct_parts));
        }
        Ok(())
    }
    fn references(&self, ctrls: &CtrlValues) -> Vec<u64> {
        match ctrls.get_struct::<v4l2_ctrl_vp8_frame>(CID_VP8_FRAME) {
            Some(f) if f.flags & u64::from(V4L2_VP8_FRAME_FLAG_KEY_FRAME) == 0 => vec![f.last_frame_ts, f.golden_frame_ts, f.alt_frame_ts],
            _ => Vec::new(),
        }
    }
    fn new_model(&self, _p: Personality) -> Box<dyn Model> {
        Box::<checker::Vp8Model>::default()
    }
}

#[cfg(test)]
mod tests;
