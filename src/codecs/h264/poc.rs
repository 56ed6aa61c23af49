//! Picture order counts in the spec's terms.
//!
//! VA clients pass POCs as their decoder computed them; FFmpeg's start at
//! 65536 after every IDR (its `idr()` sets prev_poc_msb to 1 << 16), where
//! the spec (8.2.1) starts at 0. Only POC differences matter to hardware,
//! but a driver should send what the bitstream says. At each IDR the offset
//! between the client's POC and the spec's is learned from the IDR's own
//! slice header (which needs no history), and removed from every POC until
//! the next IDR.
use super::{H264Controls, SliceHeader};
use crate::ffi::v4l2 as k;

#[derive(Debug, Default, Clone, Copy)]
pub struct PocNormalizer {
    offset: i32,
}

/// The spec's POC of an IDR picture (top for frames and top fields, bottom
/// for bottom fields), when the slice header alone determines it.
fn idr_poc(poc_type: u32, max_poc_lsb: i32, h: &SliceHeader) -> Option<i32> {
    let bottom_field = h.field_pic_flag && h.bottom_field_flag;
    match poc_type {
        // 8.2.1.1: at an IDR prevPicOrderCntMsb = prevPicOrderCntLsb = 0,
        // and (8-3) still applies: an lsb above MaxPicOrderCntLsb / 2 gives
        // PicOrderCntMsb = -MaxPicOrderCntLsb (as GStreamer computes it).
        0 => {
            let lsb = h.pic_order_cnt_lsb as i32;
            Some(if lsb > max_poc_lsb / 2 { lsb - max_poc_lsb } else { lsb })
        }
        // FrameNumOffset = 0, frame_num = 0: expectedPicOrderCnt = 0; the
        // bottom field would also need offset_for_top_to_bottom_field.
        1 if !bottom_field => Some(h.delta_pic_order_cnt[0]),
        // tempPicOrderCnt = 0
        2 => Some(0),
        _ => None,
    }
}

impl PocNormalizer {
    /// Rewrites the current picture's and the DPB's POCs. `poc_type` is
    /// the SPS's pic_order_cnt_type.
    pub fn apply(&mut self, poc_type: u32, c: &mut H264Controls) {
        let d = &mut c.decode_params;
        if d.flags & k::V4L2_H264_DECODE_PARAM_FLAG_IDR_PIC != 0 {
            let bottom = d.flags & k::V4L2_H264_DECODE_PARAM_FLAG_BOTTOM_FIELD != 0;
            let client = if bottom { d.bottom_field_order_cnt } else { d.top_field_order_cnt };
            let max_poc_lsb = 1i32 << (u32::from(c.sps.log2_max_pic_order_cnt_lsb_minus4).min(12) + 4);
            self.offset = match c.parsed.first().and_then(|h| idr_poc(poc_type, max_poc_lsb, h)) {
                Some(spec) => client.wrapping_sub(spec),
                None => 0,
            };
        }
        if self.offset == 0 {
            return;
        }
        // Only order counts that exist move. A field picture's other parity
        // is 0 from the client while that field is not decoded (FFmpeg's
        // fill_vaapi_pic leaves it so; FFmpeg's real POCs are never 0, they
        // start at 65536) and stays 0, as GStreamer sends it; a DPB entry
        // has none for a field it does not reference.
        let o = self.offset;
        let field = d.flags & k::V4L2_H264_DECODE_PARAM_FLAG_FIELD_PIC != 0;
        let bottom = d.flags & k::V4L2_H264_DECODE_PARAM_FLAG_BOTTOM_FIELD != 0;
        // the picture's own parity always moves; the other one of a field
        // only if the client gave it (a second field)
        let shift = |v: i32, own: bool| if field && !own && v == 0 { 0 } else { v.wrapping_sub(o) };
        d.top_field_order_cnt = shift(d.top_field_order_cnt, !bottom);
        d.bottom_field_order_cnt = shift(d.bottom_field_order_cnt, bottom || !field);
        for e in d.dpb.iter_mut().filter(|e| e.flags & k::V4L2_H264_DPB_ENTRY_FLAG_VALID != 0) {
            if e.fields & k::V4L2_H264_TOP_FIELD_REF as u8 != 0 {
                e.top_field_order_cnt = e.top_field_order_cnt.wrapping_sub(o);
            }
            if e.fields & k::V4L2_H264_BOTTOM_FIELD_REF as u8 != 0 {
                e.bottom_field_order_cnt = e.bottom_field_order_cnt.wrapping_sub(o);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn controls(idr: bool, top: i32, bottom: i32, lsb: u16, dpb: &[(i32, i32)]) -> H264Controls {
        // SAFETY: plain-old-data kernel structs; zero is valid.
        let mut c = H264Controls {
            sps: unsafe { std::mem::zeroed() },
            pps: unsafe { std::mem::zeroed() },
            scaling_matrix: None,
            decode_params: unsafe { std::mem::zeroed() },
            slices: Vec::new(),
            parsed: vec![SliceHeader { pic_order_cnt_lsb: lsb, idr_pic_flag: idr, ..Default::default() }],
            second_field: false,
        };
        c.decode_params.flags = if idr { k::V4L2_H264_DECODE_PARAM_FLAG_IDR_PIC } else { 0 };
        c.decode_params.top_field_order_cnt = top;
        c.decode_params.bottom_field_order_cnt = bottom;
        for (i, (t, b)) in dpb.iter().enumerate() {
            c.decode_params.dpb[i].flags = k::V4L2_H264_DPB_ENTRY_FLAG_VALID;
            c.decode_params.dpb[i].fields = k::V4L2_H264_FRAME_REF as u8;
            c.decode_params.dpb[i].top_field_order_cnt = *t;
            c.decode_params.dpb[i].bottom_field_order_cnt = *b;
        }
        c
    }

    #[test]
    fn ffmpeg_offset_is_removed_until_the_next_idr() {
        let mut n = PocNormalizer::default();
        let mut idr = controls(true, 65536, 65536, 0, &[]);
        n.apply(0, &mut idr);
        assert_eq!((idr.decode_params.top_field_order_cnt, idr.decode_params.bottom_field_order_cnt), (0, 0));
        let mut p = controls(false, 65544, 65544, 8, &[(65536, 65536)]);
        n.apply(0, &mut p);
        assert_eq!(p.decode_params.top_field_order_cnt, 8);
        assert_eq!(p.decode_params.dpb[0].top_field_order_cnt, 0);
        assert_eq!(p.decode_params.dpb[1].top_field_order_cnt, 0, "invalid entries untouched");
        // a client already in spec terms is left alone
        let mut n2 = PocNormalizer::default();
        let mut idr2 = controls(true, 4, 4, 4, &[]);
        n2.apply(0, &mut idr2);
        let mut p2 = controls(false, 12, 12, 12, &[(4, 4)]);
        n2.apply(0, &mut p2);
        assert_eq!(p2.decode_params.top_field_order_cnt, 12);
        assert_eq!(p2.decode_params.dpb[0].top_field_order_cnt, 4);
    }

    #[test]
    fn type2_idr_is_zero() {
        let mut n = PocNormalizer::default();
        let mut idr = controls(true, 65536, 65536, 0, &[]);
        n.apply(2, &mut idr);
        assert_eq!(idr.decode_params.top_field_order_cnt, 0);
    }

    #[test]
    fn idr_lsb_above_half_the_range_has_a_negative_msb() {
        // MaxPicOrderCntLsb = 16: lsb 9 > 8 gives PicOrderCntMsb = -16.
        let mut n = PocNormalizer::default();
        let mut idr = controls(true, 0, 0, 9, &[]);
        n.apply(0, &mut idr);
        assert_eq!(idr.decode_params.top_field_order_cnt, -7);
        // lsb 8 (exactly half) keeps PicOrderCntMsb = 0
        let mut n = PocNormalizer::default();
        let mut idr = controls(true, 65544, 65544, 8, &[]);
        n.apply(0, &mut idr);
        assert_eq!(idr.decode_params.top_field_order_cnt, 8);
    }
}
