//! HEVC (V4L2_PIX_FMT_HEVC_SLICE) behind `codec::Codec`: the controls per
//! personality (ctrls.rs), the simulator's own slice header parse, RPS
//! rewrite and VPS/SPS/PPS rebuild (header.rs), and the checker + POC/DPB
//! model (checker.rs). rkvdec decodes it frame-based with Annex-B start
//! codes, cedrus slice-based without (one slice-params element and its
//! entry points per request).
pub mod checker;
pub mod ctrls;
pub mod header;
pub mod uapi;

use crate::codec::{Codec, Job, Model, Pixels, Step};
use crate::ctrls::{CtrlDef, CtrlValues, Personality};
use crate::uapi::*;

/// libavcodec's AV_CODEC_ID_HEVC
const AV_CODEC_ID_HEVC: i32 = 173;

pub struct Hevc;

impl Codec for Hevc {
    fn name(&self) -> &'static str {
        "HEVC"
    }
    fn fourcc(&self) -> u32 {
        PIX_FMT_HEVC_SLICE
    }
    fn description(&self) -> &'static str {
        "HEVC Parsed Slice Data"
    }
    fn av_codec_id(&self) -> i32 {
        AV_CODEC_ID_HEVC
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
        let Some(dp) = ctrls.get_struct::<v4l2_ctrl_hevc_decode_params>(CID_HEVC_DECODE_PARAMS) else { return Vec::new() };
        dp.dpb[..(dp.num_active_dpb_entries as usize).min(16)].iter().map(|e| e.timestamp).collect()
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
