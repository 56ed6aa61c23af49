//! The codec interface of the simulator: what the device core asks of a
//! codec without naming it. A `Codec` (one static value per codec, listed in
//! `codecs::REGISTRY`) says which coded format it is, which controls it
//! exposes on each personality, which control values S/TRY_EXT_CTRLS must
//! refuse, which CAPTURE timestamps a request's controls reference, and
//! makes a per-context `Model`. The model takes one completed request (its
//! controls, OUTPUT bytes and timestamp), checks it against its own parse
//! and reference model, and hands the access units to rebuild (headers
//! included) to the core's libavcodec decoder through `Pixels`.
use crate::ctrls::{CtrlDef, CtrlValues, Personality};

/// One request as the hardware sees it when it runs.
pub struct Job<'a> {
    /// the request's controls (merged over the context's previous values)
    pub ctrls: &'a CtrlValues,
    /// OUTPUT buffer payload (`bytesused`)
    pub data: &'a [u8],
    /// OUTPUT timestamp in ns (copied to the CAPTURE buffer)
    pub out_ts: u64,
    /// V4L2_BUF_FLAG_M2M_HOLD_CAPTURE_BUF on the OUTPUT buffer
    pub hold: bool,
    /// (CAPTURE index, timestamp of the picture it holds) for every CAPTURE
    /// buffer holding a decoded picture, except the destination.
    pub cap_ts: Vec<(u32, u64)>,
    /// size of the CAPTURE format
    pub cap_width: usize,
    pub cap_height: usize,
}

/// What the model returns for one request.
pub struct Step {
    /// client errors found (each sets V4L2_BUF_FLAG_ERROR)
    pub findings: Vec<String>,
    /// the picture in the destination CAPTURE buffer is complete
    pub complete: bool,
}

/// The core's software decoder, writing into the CAPTURE buffer in the
/// personality's layout. The model calls it with each complete access unit.
pub trait Pixels {
    /// Decodes `au` (the codec's bitstream as libavcodec takes it, with
    /// rebuilt headers). `new_picture`: the access unit must start a new
    /// picture (false e.g. for a second field). Returns findings.
    fn decode(&mut self, au: &[u8], new_picture: bool) -> Vec<String>;
}

/// A codec of the simulated device (one folder under `codecs/`).
pub trait Codec: Sync {
    /// short name used in messages ("H.264")
    fn name(&self) -> &'static str;
    /// coded OUTPUT pixel format and its ENUM_FMT description
    fn fourcc(&self) -> u32;
    fn description(&self) -> &'static str;
    /// libavcodec `AVCodecID` of the software decoder
    fn av_codec_id(&self) -> i32;
    /// the controls (ids, types, sizes, menus with ranges/defaults) this
    /// codec exposes on personality `p`; class controls are added by the core
    fn ctrl_defs(&self, p: Personality) -> Vec<CtrlDef>;
    /// initial values (menus: their default; compound: the kernel's default payload)
    fn defaults(&self, p: Personality) -> CtrlValues;
    /// std_validate() + the driver's try_ctrl: Err = EINVAL with the reason
    fn validate(&self, p: Personality, id: u32, data: &[u8]) -> Result<(), String>;
    /// CAPTURE timestamps (reference_ts) the request's controls reference
    fn references(&self, ctrls: &CtrlValues) -> Vec<u64>;
    /// a per-context checker + reference model
    fn new_model(&self, p: Personality) -> Box<dyn Model>;
}

/// Per-context (m2m file handle) state of a codec.
pub trait Model: Send {
    /// Runs one request.
    fn run(&mut self, job: &Job, px: &mut dyn Pixels) -> Step;
    /// Completes a pending (held) picture into `px` (slice-based mode:
    /// a new timestamp released the held CAPTURE buffer).
    fn flush(&mut self, px: &mut dyn Pixels) -> Vec<String>;
    /// slices of a picture are pending
    fn has_pending(&self) -> bool;
    /// forgets the partially received picture (CAPTURE STREAMOFF)
    fn drop_pending(&mut self);
    /// pictures decoded so far
    fn pictures(&self) -> u64;
    /// notes that are not client errors (logged, no ERROR flag)
    fn take_notes(&mut self) -> Vec<String>;
}
