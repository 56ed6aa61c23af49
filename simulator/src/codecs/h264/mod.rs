//! H.264 (V4L2_PIX_FMT_H264_SLICE) behind `codec::Codec`: header parse and
//! SPS/PPS rebuild (header.rs), DPB model (dpb.rs), the control checker
//! (checker.rs), the controls per personality (ctrls.rs), and the
//! simulator's own self-test client (client.rs).
pub mod checker;
pub mod client;
pub mod ctrls;
pub mod dpb;
pub mod header;
pub mod uapi;

use crate::codec::{Codec, Job, Model, Pixels, Step};
use crate::ctrls::{CtrlDef, CtrlValues, Personality};
use crate::uapi::*;

/// libavcodec's AV_CODEC_ID_H264
const AV_CODEC_ID_H264: i32 = 27;

pub struct H264;

impl Codec for H264 {
    fn name(&self) -> &'static str {
        "H.264"
    }
    fn fourcc(&self) -> u32 {
        PIX_FMT_H264_SLICE
    }
    fn description(&self) -> &'static str {
        "H.264 Parsed Slice Data"
    }
    fn av_codec_id(&self) -> i32 {
        AV_CODEC_ID_H264
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
    fn references(&self, ctrls: &CtrlValues) -> Vec<u64> {
        let Some(dp) = ctrls.get_struct::<v4l2_ctrl_h264_decode_params>(CID_H264_DECODE_PARAMS) else { return Vec::new() };
        dp.dpb.iter().filter(|e| e.flags & V4L2_H264_DPB_ENTRY_FLAG_ACTIVE != 0).map(|e| e.reference_ts).collect()
    }
    fn new_model(&self, p: Personality) -> Box<dyn Model> {
        Box::new(checker::Engine::new(p.frame_based()))
    }
}

impl Model for checker::Engine {
    fn run(&mut self, job: &Job, px: &mut dyn Pixels) -> Step {
        let (findings, complete) = checker::Engine::run(self, job, px);
        Step { findings, complete }
    }
    fn flush(&mut self, px: &mut dyn Pixels) -> Vec<String> {
        self.finish(px)
    }
    fn has_pending(&self) -> bool {
        checker::Engine::has_pending(self)
    }
    fn drop_pending(&mut self) {
        self.drop_picture();
    }
    fn pictures(&self) -> u64 {
        self.pictures
    }
    fn take_notes(&mut self) -> Vec<String> {
        std::mem::take(&mut self.warnings)
    }
}
