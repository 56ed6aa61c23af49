//! The VP8 model of one context: parses each OUTPUT frame with the
//! simulator's own parser, checks every field of V4L2_CID_STATELESS_VP8_FRAME
//! against it and against its own reference model (last/golden/altref,
//! RFC 6386 9.7-9.8), then decodes the frame with libavcodec.
use super::parse::{parse, Frame, Stream};
use super::uapi::CID_VP8_FRAME;
use crate::codec::{Job, Model, Pixels, Step};
use crate::uapi::*;

#[derive(Default)]
pub struct Vp8Model {
    stream: Stream,
    /// timestamps of the last / golden / altref pictures (None before a key frame)
    refs: Option<[u64; 3]>,
    pictures: u64,
    notes: Vec<String>,
}

fn diff<T: PartialEq + std::fmt::Debug>(errs: &mut Vec<String>, field: &str, expected: T, got: T) {
    if expected != got {
        errs.push(format!("vp8_frame.{field}: expected {expected:?}, got {got:?}"));
    }
}

fn flag(cond: bool, bit: u32) -> u64 {
    if cond {
        u64::from(bit)
    } else {
        0
    }
}

impl Vp8Model {
    fn check(&self, errs: &mut Vec<String>, f: &Frame, st: &Stream, c: &v4l2_ctrl_vp8_frame, job: &Job) {
        let flags = flag(f.key, V4L2_VP8_FRAME_FLAG_KEY_FRAME)
            | flag(f.show, V4L2_VP8_FRAME_FLAG_SHOW_FRAME)
            | flag(f.no_skip_coeff, V4L2_VP8_FRAME_FLAG_MB_NO_SKIP_COEFF)
            | flag(f.bias_golden, V4L2_VP8_FRAME_FLAG_SIGN_BIAS_GOLDEN)
            | flag(f.bias_alt, V4L2_VP8_FRAME_FLAG_SIGN_BIAS_ALT);
        diff(errs, "flags", flags, c.flags);
        diff(errs, "width", st.width, c.width);
        diff(errs, "height", st.height, c.height);
        diff(errs, "horizontal_scale", st.hscale, c.horizontal_scale);
        diff(errs, "vertical_scale", st.vscale, c.vertical_scale);
        diff(errs, "version", f.version, c.version);
        if f.no_skip_coeff {
            diff(errs, "prob_skip_false", f.prob_skip, c.prob_skip_false);
        }
        if !f.key {
            diff(errs, "prob_intra", f.prob_intra, c.prob_intra);
            diff(errs, "prob_last", f.prob_last, c.prob_last);
            diff(errs, "prob_gf", f.prob_gf, c.prob_gf);
        }
        diff(errs, "num_dct_parts", f.partitions as u8, c.num_dct_parts);
        diff(errs, "first_part_size", f.first_part_size, c.first_part_size);
        diff(errs, "first_part_header_bits", f.header_bits, u64::from(c.first_part_header_bits));
        diff(errs, "dct_part_sizes", f.part_sizes, c.dct_part_sizes);
        diff(errs, "coder_state.range", f.range, c.coder_state.range);
        diff(errs, "coder_state.value", f.value, c.coder_state.value);
        diff(errs, "coder_state.bit_count", f.bit_count, c.coder_state.bit_count);
        // quantisation (raw indices, not VA's clipped per-segment ones)
        let q = &c.quant;
        diff(
            errs,
            "quant",
            f.qi,
            [q.y_ac_qi as i32, q.y_dc_delta as i32, q.y2_dc_delta as i32, q.y2_ac_delta as i32, q.uv_dc_delta as i32, q.uv_ac_delta as i32],
        );
        // loop filter
        let lf_flags =
            flag(f.lf_adj, V4L2_VP8_LF_ADJ_ENABLE) | flag(f.lf_delta_update, V4L2_VP8_LF_DELTA_UPDATE) | flag(f.filter_simple, V4L2_VP8_LF_FILTER_TYPE_SIMPLE);
        diff(errs, "lf.flags", lf_flags, u64::from(c.lf.flags));
        diff(errs, "lf.level", f.lf_level, c.lf.level);
        diff(errs, "lf.sharpness_level", f.sharpness, c.lf.sharpness_level);
        diff(errs, "lf.ref_frm_delta", st.ref_delta, c.lf.ref_frm_delta);
        diff(errs, "lf.mb_mode_delta", st.mode_delta, c.lf.mb_mode_delta);
        // segmentation: values persist until updated (9.3)
        let seg_flags = flag(f.seg_enabled, V4L2_VP8_SEGMENT_FLAG_ENABLED)
            | flag(f.seg_update_map, V4L2_VP8_SEGMENT_FLAG_UPDATE_MAP)
            | flag(f.seg_update_data, V4L2_VP8_SEGMENT_FLAG_UPDATE_FEATURE_DATA)
            | flag(!st.seg_abs, V4L2_VP8_SEGMENT_FLAG_DELTA_VALUE_MODE);
        diff(errs, "segment.flags", seg_flags, u64::from(c.segment.flags));
        diff(errs, "segment.quant_update", st.seg_quant, c.segment.quant_update);
        diff(errs, "segment.lf_update", st.seg_lf, c.segment.lf_update);
        if f.seg_update_map {
            // read only to decode a map update
            diff(errs, "segment.segment_probs", st.seg_probs, c.segment.segment_probs);
        }
        // entropy: the probabilities this frame decodes with
        if f.probs.coeff != c.entropy.coeff_probs {
            let at = (0..4 * 8 * 3 * 11).find(|&n| {
                let (i, j, k, l) = (n / 264, n / 33 % 8, n / 11 % 3, n % 11);
                f.probs.coeff[i][j][k][l] != c.entropy.coeff_probs[i][j][k][l]
            });
            errs.push(format!("vp8_frame.entropy.coeff_probs differ from the stream's (first at flat index {at:?})"));
        }
        // key frames are coded with fixed mode probabilities (11.2), which
        // is what the control carries for them
        let (y_mode, uv_mode) = if f.key { ([145, 156, 163, 128], [142, 114, 183]) } else { (f.probs.y_mode, f.probs.uv_mode) };
        diff(errs, "entropy.y_mode_probs", y_mode, c.entropy.y_mode_probs);
        diff(errs, "entropy.uv_mode_probs", uv_mode, c.entropy.uv_mode_probs);
        diff(errs, "entropy.mv_probs", f.probs.mv, c.entropy.mv_probs);
        // references (inter frames read them; key frames read none)
        if !f.key {
            if let Some([last, golden, alt]) = self.refs {
                diff(errs, "last_frame_ts", last, c.last_frame_ts);
                diff(errs, "golden_frame_ts", golden, c.golden_frame_ts);
                diff(errs, "alt_frame_ts", alt, c.alt_frame_ts);
            }
            for (what, ts) in [("last", c.last_frame_ts), ("golden", c.golden_frame_ts), ("alt", c.alt_frame_ts)] {
                if !job.cap_ts.iter().any(|x| x.1 == ts) {
                    errs.push(format!("vp8_frame.{what}_frame_ts {ts} is in no CAPTURE buffer"));
                }
            }
        }
    }

    /// The reference update after a decoded frame (9.7, 9.8): copies use
    /// the buffers as they were before this frame, as libavcodec does.
    fn update_refs(&mut self, f: &Frame, ts: u64) {
        let [last, golden, alt] = match (f.key, self.refs) {
            (true, _) | (false, None) => [ts; 3],
            (false, Some(r)) => r,
        };
        let golden_new = if f.refresh_golden {
            ts
        } else {
            match f.copy_golden {
                1 => last,
                2 => alt,
                _ => golden,
            }
        };
        let alt_new = if f.refresh_alt {
            ts
        } else {
            match f.copy_alt {
                1 => last,
                2 => golden,
                _ => alt,
            }
        };
        let last_new = if f.refresh_last { ts } else { last };
        self.refs = Some([last_new, golden_new, alt_new]);
    }
}

impl Model for Vp8Model {
    fn run(&mut self, job: &Job, px: &mut dyn Pixels) -> Step {
        let mut errs = Vec::new();
        let Some(c) = job.ctrls.get_struct::<v4l2_ctrl_vp8_frame>(CID_VP8_FRAME) else {
            errs.push("request: VP8_FRAME control never set".into());
            return Step { findings: errs, complete: true };
        };
        if job.hold {
            errs.push("request: HOLD_CAPTURE_BUF on a VP8 frame (one request per frame)".into());
        }
        let mut st = self.stream.clone();
        let f = match parse(job.data, &mut st) {
            Ok(f) => f,
            Err(e) => {
                errs.push(format!("bitstream: {e}"));
                return Step { findings: errs, complete: true };
            }
        };
        if usize::from(st.width) > job.cap_width.max(16) || usize::from(st.height) > job.cap_height.max(16) {
            errs.push(format!("bitstream: {}x{} frame larger than the CAPTURE format {}x{}", st.width, st.height, job.cap_width, job.cap_height));
            return Step { findings: errs, complete: true };
        }
        self.check(&mut errs, &f, &st, &c, job);
        self.stream = st;
        errs.extend(px.decode(job.data, true));
        self.update_refs(&f, job.out_ts);
        self.pictures += 1;
        Step { findings: errs, complete: true }
    }

    fn flush(&mut self, _px: &mut dyn Pixels) -> Vec<String> {
        Vec::new()
    }

    fn has_pending(&self) -> bool {
        false
    }

    fn drop_pending(&mut self) {}

    fn pictures(&self) -> u64 {
        self.pictures
    }

    fn take_notes(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notes)
    }
}
