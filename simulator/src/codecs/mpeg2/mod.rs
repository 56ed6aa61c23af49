//! MPEG-2 (V4L2_PIX_FMT_MPEG2_SLICE) behind `codec::Codec`, as hantro G1
//! and cedrus take it: one request per frame or field picture, every slice
//! of the picture with its start code in the OUTPUT buffer, the SEQUENCE,
//! PICTURE and QUANTISATION controls. The model checks the controls against
//! its own parse of the slices (header.rs) and its own reference model,
//! then rebuilds the sequence/picture headers from the controls in front of
//! the slices for libavcodec: a control the slices cannot contradict (a
//! flag, an f_code, a matrix) gives wrong pixels when it is wrong.
pub mod checker;
pub mod ctrls;
pub mod header;
pub mod uapi;

use crate::codec::{Codec, Model};
use crate::ctrls::{CtrlDef, CtrlValues, Personality};
use crate::uapi::*;

/// libavcodec's AV_CODEC_ID_MPEG2VIDEO
const AV_CODEC_ID_MPEG2VIDEO: i32 = 2;

pub struct Mpeg2;

impl Codec for Mpeg2 {
    fn name(&self) -> &'static str {
        "MPEG-2"
    }
    fn fourcc(&self) -> u32 {
        PIX_FMT_MPEG2_SLICE
    }
    fn description(&self) -> &'static str {
        "MPEG-2 Parsed Slice Data"
    }
    fn av_codec_id(&self) -> i32 {
        AV_CODEC_ID_MPEG2VIDEO
    }
    fn ctrl_defs(&self, p: Personality) -> Vec<CtrlDef> {
        ctrls::ctrl_defs(p)
    }
    fn defaults(&self, p: Personality) -> CtrlValues {
        ctrls::defaults(p)
    }
    fn validate(&self, p: Personality, id: u32, data: &[u8]) -> Result<(), String> {
        ctrls::validate(p, id, data)
    }
    fn references(&self, c: &CtrlValues) -> Vec<u64> {
        let Some(p) = c.get_struct::<v4l2_ctrl_mpeg2_picture>(CID_MPEG2_PICTURE) else { return Vec::new() };
        match p.picture_coding_type as u32 {
            V4L2_MPEG2_PIC_CODING_TYPE_P => vec![p.forward_ref_ts],
            V4L2_MPEG2_PIC_CODING_TYPE_B => vec![p.forward_ref_ts, p.backward_ref_ts],
            _ => Vec::new(),
        }
    }
    fn new_model(&self, p: Personality) -> Box<dyn Model> {
        Box::new(checker::Engine::new(p == Personality::Cedrus))
    }
}
