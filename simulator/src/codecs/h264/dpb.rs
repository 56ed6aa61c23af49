//! Reference picture model: POC derivation (8.2.1) and decoded reference
//! picture marking (8.2.5) for frames and fields (PAFF).  Used by the
//! checker (what the controls must say) and by the self-test client (what
//! to send).  A `RefPic` is a frame store, as a V4L2 DPB entry: a frame, a
//! field pair or a single field; `fields` says which of its fields are
//! marked as used for reference.  Limitation: short-/long-term marking is
//! per frame store (a pair with one long-term and one short-term field is
//! modelled as long-term).
use super::header::SliceHeader;
use crate::uapi::*;

#[derive(Clone, Debug, PartialEq)]
pub struct RefPic {
    /// Timestamp (ns) of the OUTPUT buffer that decoded this picture; the
    /// CAPTURE buffer holding it carries the same timestamp.
    pub ts: u64,
    pub frame_num: u32,
    pub top_poc: i32,
    pub bottom_poc: i32,
    /// Some(LongTermFrameIdx) for long-term references.
    pub long_term: Option<u32>,
    /// Fields marked as used for reference: V4L2_H264_TOP_FIELD_REF (1),
    /// V4L2_H264_BOTTOM_FIELD_REF (2), V4L2_H264_FRAME_REF (3).
    pub fields: u8,
}

impl RefPic {
    pub fn frame_num_wrap(&self, cur_frame_num: u32, max_frame_num: u32) -> i32 {
        if self.frame_num > cur_frame_num {
            self.frame_num as i32 - max_frame_num as i32
        } else {
            self.frame_num as i32
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct Dpb {
    pub refs: Vec<RefPic>,
    max_long_term_frame_idx: Option<u32>,
    prev_poc_msb: i32,
    prev_poc_lsb: i32,
    prev_frame_num_offset: i32,
    prev_frame_num: u32,
    prev_had_mmco5: bool,
    /// POC of the previous reference picture after an mmco5 (top field).
    prev_ref_mmco5_top: Option<i32>,
    /// The previous picture was a first field not yet paired:
    /// (timestamp, bottom_field_flag, frame_num, reference, IDR).
    open_field: Option<(u64, bool, u32, bool, bool)>,
    pub started: bool,
}

/// Field parity bit of a picture (V4L2_H264_*_REF): 3 for a frame.
pub fn parity(sh: &SliceHeader) -> u8 {
    match (sh.field_pic, sh.bottom_field) {
        (false, _) => 3,
        (true, false) => 1,
        (true, true) => 2,
    }
}

/// POCs of the current picture.  For a field only the current parity's is
/// defined; `top` and `bottom` both hold it.
pub struct Poc {
    pub top: i32,
    pub bottom: i32,
    msb: i32,
    frame_num_offset: i32,
}

impl Dpb {
    pub fn max_frame_num(sps: &v4l2_ctrl_h264_sps) -> u32 {
        1 << (sps.log2_max_frame_num_minus4 as u32 + 4)
    }

    /// 8.2.1 for a frame (or complementary field pair coded as a frame).
    pub fn compute_poc(&self, sps: &v4l2_ctrl_h264_sps, sh: &SliceHeader) -> Poc {
        let max_frame_num = Self::max_frame_num(sps) as i32;
        let idr = sh.is_idr();
        match sps.pic_order_cnt_type {
            0 => {
                let (pmsb, plsb) = if idr {
                    (0, 0)
                } else if let Some(t) = self.prev_ref_mmco5_top {
                    (0, t)
                } else {
                    (self.prev_poc_msb, self.prev_poc_lsb)
                };
                let max_lsb = 1i32 << (sps.log2_max_pic_order_cnt_lsb_minus4 as u32 + 4);
                let lsb = sh.pic_order_cnt_lsb as i32;
                let msb = if lsb < plsb && plsb - lsb >= max_lsb / 2 {
                    pmsb + max_lsb
                } else if lsb > plsb && lsb - plsb > max_lsb / 2 {
                    pmsb - max_lsb
                } else {
                    pmsb
                };
                let top = msb + lsb;
                // a field has only its own order count (bottom field: msb + lsb)
                let bottom = if sh.field_pic { top } else { top + sh.delta_pic_order_cnt_bottom };
                Poc { top, bottom, msb, frame_num_offset: 0 }
            }
            t => {
                let prev_offset = if self.prev_had_mmco5 { 0 } else { self.prev_frame_num_offset };
                let fno = if idr {
                    0
                } else if self.prev_frame_num > sh.frame_num {
                    prev_offset + max_frame_num
                } else {
                    prev_offset
                };
                if t == 1 {
                    let n = sps.num_ref_frames_in_pic_order_cnt_cycle as i32;
                    let mut abs = if n != 0 { fno + sh.frame_num as i32 } else { 0 };
                    if sh.nal_ref_idc == 0 && abs > 0 {
                        abs -= 1;
                    }
                    let mut expected = 0i32;
                    if abs > 0 {
                        let delta_cycle: i32 = sps.offset_for_ref_frame[..n as usize].iter().sum();
                        let cycle = (abs - 1) / n;
                        let in_cycle = (abs - 1) % n;
                        expected = cycle * delta_cycle;
                        for i in 0..=in_cycle as usize {
                            expected += sps.offset_for_ref_frame[i];
                        }
                    }
                    if sh.nal_ref_idc == 0 {
                        expected += sps.offset_for_non_ref_pic;
                    }
                    let (top, bottom) = match (sh.field_pic, sh.bottom_field) {
                        (false, _) => {
                            let top = expected + sh.delta_pic_order_cnt[0];
                            (top, top + sps.offset_for_top_to_bottom_field + sh.delta_pic_order_cnt[1])
                        }
                        (true, false) => (expected + sh.delta_pic_order_cnt[0], expected + sh.delta_pic_order_cnt[0]),
                        (true, true) => {
                            let b = expected + sps.offset_for_top_to_bottom_field + sh.delta_pic_order_cnt[0];
                            (b, b)
                        }
                    };
                    Poc { top, bottom, msb: 0, frame_num_offset: fno }
                } else {
                    let temp = if idr {
                        0
                    } else if sh.nal_ref_idc == 0 {
                        2 * (fno + sh.frame_num as i32) - 1
                    } else {
                        2 * (fno + sh.frame_num as i32)
                    };
                    Poc { top: temp, bottom: temp, msb: 0, frame_num_offset: fno }
                }
            }
        }
    }

    /// Marks the just decoded picture (8.2.5) and updates the POC state.
    /// Returns a list of problems in the bitstream (e.g. mmco on a missing
    /// picture), which are reported by the checker.
    pub fn finish_picture(&mut self, sps: &v4l2_ctrl_h264_sps, sh: &SliceHeader, poc: &Poc, ts: u64) -> Vec<String> {
        let mut problems = Vec::new();
        let max_frame_num = Self::max_frame_num(sps);
        let par = parity(sh);
        let second = self.is_second_field(sh, ts);
        let mut cur = RefPic { ts, frame_num: sh.frame_num, top_poc: poc.top, bottom_poc: poc.bottom, long_term: None, fields: par };
        let mut had_mmco5 = false;
        let cur_is_ref = sh.nal_ref_idc != 0;
        // PicNum (8.2.4.1) of field `f` of `r`, or of the frame when decoding frames
        let pic_num_of = |r: &RefPic, f: u8| -> i32 {
            let n = match r.long_term {
                Some(i) => i as i32,
                None => r.frame_num_wrap(sh.frame_num, max_frame_num),
            };
            if sh.field_pic {
                2 * n + i32::from(f == par)
            } else {
                n
            }
        };
        // the reference field (or frame) numbered `x`: (store, field)
        let find = |refs: &[RefPic], long: bool, x: i32| -> Option<(usize, u8)> {
            refs.iter().enumerate().find_map(|(i, r)| {
                if r.long_term.is_some() != long {
                    return None;
                }
                if !sh.field_pic {
                    return (r.fields == 3 && pic_num_of(r, 3) == x).then_some((i, 3));
                }
                [1u8, 2].into_iter().find(|&f| r.fields & f != 0 && pic_num_of(r, f) == x).map(|f| (i, f))
            })
        };
        if sh.is_idr() && second {
            // second field of an IDR picture: its first field stays
            if sh.long_term_reference_flag {
                cur.long_term = Some(0);
            }
        } else if sh.is_idr() {
            self.refs.clear();
            if sh.long_term_reference_flag {
                cur.long_term = Some(0);
                self.max_long_term_frame_idx = Some(0);
            } else {
                self.max_long_term_frame_idx = None;
            }
        } else if cur_is_ref && sh.adaptive_ref_pic_marking {
            // CurrPicNum: frame_num for frames, 2 * frame_num + 1 for fields
            let cur_pic_num = if sh.field_pic { 2 * sh.frame_num as i32 + 1 } else { sh.frame_num as i32 };
            let unmark = |refs: &mut Vec<RefPic>, (i, f): (usize, u8)| {
                refs[i].fields &= !f;
                if refs[i].fields == 0 {
                    refs.remove(i);
                }
            };
            for m in &sh.mmcos {
                match m.op {
                    1 => {
                        let x = cur_pic_num - (m.difference_of_pic_nums_minus1 as i32 + 1);
                        match find(&self.refs, false, x) {
                            Some(t) => unmark(&mut self.refs, t),
                            None => problems.push(format!("mmco1: no short-term picture with PicNum {x}")),
                        }
                    }
                    2 => {
                        if let Some(t) = find(&self.refs, true, m.long_term_pic_num as i32) {
                            unmark(&mut self.refs, t);
                        }
                    }
                    3 => {
                        let x = cur_pic_num - (m.difference_of_pic_nums_minus1 as i32 + 1);
                        let idx = m.long_term_frame_idx;
                        if let Some((t, _)) = find(&self.refs, false, x) {
                            let ts_t = self.refs[t].ts;
                            // LongTermFrameIdx idx leaves any other frame store
                            self.refs.retain(|r| !(r.long_term == Some(idx) && r.ts != ts_t));
                            if let Some(r) = self.refs.iter_mut().find(|r| r.ts == ts_t) {
                                r.long_term = Some(idx);
                            }
                        } else {
                            problems.push(format!("mmco3: no short-term picture with PicNum {x}"));
                        }
                    }
                    4 => {
                        let p1 = m.max_long_term_frame_idx_plus1;
                        self.refs.retain(|r| match r.long_term {
                            Some(i) => p1 != 0 && i < p1,
                            None => true,
                        });
                        self.max_long_term_frame_idx = if p1 == 0 { None } else { Some(p1 - 1) };
                    }
                    5 => {
                        self.refs.clear();
                        self.max_long_term_frame_idx = None;
                        had_mmco5 = true;
                    }
                    6 => {
                        let idx = m.long_term_frame_idx;
                        // (a second field joins its first field's store)
                        self.refs.retain(|r| r.long_term != Some(idx) || (second && r.ts == ts));
                        cur.long_term = Some(idx);
                    }
                    _ => {}
                }
            }
        } else if cur_is_ref && second && self.refs.iter().any(|r| r.ts == ts && r.long_term.is_none()) {
            // 8.2.5.3: the second field of a pair whose first field is a
            // short-term reference joins it, no sliding window
        } else if cur_is_ref {
            // sliding window (8.2.5.3), counting frame stores
            let num_short = self.refs.iter().filter(|r| r.long_term.is_none()).count();
            let num_long = self.refs.len() - num_short;
            if num_short + num_long >= (sps.max_num_ref_frames as usize).max(1) && num_short > 0 {
                let (i, _) = self
                    .refs
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| r.long_term.is_none())
                    .min_by_key(|(_, r)| r.frame_num_wrap(sh.frame_num, max_frame_num))
                    .unwrap();
                self.refs.remove(i);
            }
        }
        if had_mmco5 {
            let temp = cur.top_poc.min(cur.bottom_poc);
            cur.top_poc -= temp;
            cur.bottom_poc -= temp;
            cur.frame_num = 0;
        }
        if cur_is_ref {
            if let Some(r) = self.refs.iter_mut().find(|r| second && r.ts == ts) {
                // second field: into its first field's frame store
                r.fields |= par;
                if par == 2 {
                    r.bottom_poc = cur.bottom_poc;
                } else {
                    r.top_poc = cur.top_poc;
                }
                if cur.long_term.is_some() {
                    r.long_term = cur.long_term;
                }
            } else {
                if self.refs.len() >= 16 {
                    problems.push("more than 16 reference frames".into());
                }
                self.refs.push(cur.clone());
            }
            // 8.2.1: after an mmco5 a bottom field counts as (0, 0)
            self.prev_ref_mmco5_top = if had_mmco5 { Some(if par == 2 { 0 } else { cur.top_poc }) } else { None };
            self.prev_poc_msb = poc.msb;
            self.prev_poc_lsb = sh.pic_order_cnt_lsb as i32;
        }
        self.prev_had_mmco5 = had_mmco5;
        self.prev_frame_num_offset = poc.frame_num_offset;
        self.prev_frame_num = if had_mmco5 { 0 } else { sh.frame_num };
        self.open_field = (sh.field_pic && !second).then_some((ts, sh.bottom_field, sh.frame_num, cur_is_ref, sh.is_idr()));
        self.started = true;
        problems
    }

    /// Whether a field with this header and timestamp is the second field
    /// of the previous picture (opposite parity, same frame_num, decoded
    /// into the same CAPTURE buffer).
    pub fn is_second_field(&self, sh: &SliceHeader, ts: u64) -> bool {
        matches!(self.open_field, Some((t, bottom, fnum, _, first_idr))
            if sh.field_pic && t == ts && bottom != sh.bottom_field && fnum == sh.frame_num && (first_idr || !sh.is_idr()))
    }

    /// Reference lists of a field (8.2.4.2.2 / 8.2.4.2.4 with the
    /// alternation of 8.2.4.2.5), then modification (8.2.4.3).  Entries
    /// are (index into `self.refs`, field: 1 top, 2 bottom).
    pub fn ref_lists_field(&self, sps: &v4l2_ctrl_h264_sps, sh: &SliceHeader, cur_poc: i32) -> [Vec<(usize, u8)>; 2] {
        let mfn = Self::max_frame_num(sps);
        let par = parity(sh);
        // PicOrderCnt of a frame store: over its reference fields
        let poc = |r: &RefPic| match r.fields {
            1 => r.top_poc,
            2 => r.bottom_poc,
            _ => r.top_poc.min(r.bottom_poc),
        };
        let shorts: Vec<usize> = (0..self.refs.len()).filter(|&i| self.refs[i].long_term.is_none()).collect();
        let mut longs: Vec<usize> = (0..self.refs.len()).filter(|&i| self.refs[i].long_term.is_some()).collect();
        longs.sort_by_key(|&i| self.refs[i].long_term.unwrap());
        // 8.2.4.2.5: fields alternate, starting with the current parity
        let alternate = |stores: &[usize]| -> Vec<(usize, u8)> {
            let same: Vec<(usize, u8)> = stores.iter().filter(|&&i| self.refs[i].fields & par != 0).map(|&i| (i, par)).collect();
            let opp: Vec<(usize, u8)> = stores.iter().filter(|&&i| self.refs[i].fields & (3 - par) != 0).map(|&i| (i, 3 - par)).collect();
            let mut out = Vec::new();
            for k in 0..same.len().max(opp.len()) {
                out.extend(same.get(k));
                out.extend(opp.get(k));
            }
            out
        };
        let mut lists: [Vec<(usize, u8)>; 2] = [Vec::new(), Vec::new()];
        if sh.is_p() {
            let mut s = shorts.clone();
            s.sort_by_key(|&i| -self.refs[i].frame_num_wrap(sh.frame_num, mfn));
            lists[0] = alternate(&s).into_iter().chain(alternate(&longs)).collect();
        } else if sh.is_b() {
            let mut before: Vec<usize> = shorts.iter().copied().filter(|&i| poc(&self.refs[i]) <= cur_poc).collect();
            before.sort_by_key(|&i| -poc(&self.refs[i]));
            let mut after: Vec<usize> = shorts.iter().copied().filter(|&i| poc(&self.refs[i]) > cur_poc).collect();
            after.sort_by_key(|&i| poc(&self.refs[i]));
            let l0: Vec<usize> = before.iter().chain(after.iter()).copied().collect();
            let l1: Vec<usize> = after.iter().chain(before.iter()).copied().collect();
            lists[0] = alternate(&l0).into_iter().chain(alternate(&longs)).collect();
            lists[1] = alternate(&l1).into_iter().chain(alternate(&longs)).collect();
            if lists[1].len() > 1 && lists[0] == lists[1] {
                lists[1].swap(0, 1);
            }
        }
        let max_pic_num = 2 * mfn as i32;
        let cur_pic_num = 2 * sh.frame_num as i32 + 1;
        let field_pic_num = |i: usize, f: u8| 2 * self.refs[i].frame_num_wrap(sh.frame_num, mfn) + i32::from(f == par);
        let field_lt_num = |i: usize, f: u8| 2 * self.refs[i].long_term.unwrap_or(0) as i32 + i32::from(f == par);
        for l in 0..2 {
            let n = if l == 0 { sh.num_ref_idx_l0_active_minus1 } else { sh.num_ref_idx_l1_active_minus1 } as usize + 1;
            if lists[l].is_empty() && (l == 0 && !sh.is_i() || l == 1 && sh.is_b()) {
                continue;
            }
            let mut pred = cur_pic_num;
            let mut idx = 0usize;
            let mut list = lists[l].clone();
            list.truncate(n);
            for &(op, val) in &sh.ref_pic_list_mod[l] {
                let target = if op == 0 || op == 1 {
                    let d = val as i32 + 1;
                    let mut no_wrap = if op == 0 { pred - d } else { pred + d };
                    if no_wrap < 0 {
                        no_wrap += max_pic_num;
                    } else if no_wrap >= max_pic_num {
                        no_wrap -= max_pic_num;
                    }
                    pred = no_wrap;
                    let pic_num = if no_wrap > cur_pic_num { no_wrap - max_pic_num } else { no_wrap };
                    shorts.iter().find_map(|&i| [1u8, 2].into_iter().find(|&f| self.refs[i].fields & f != 0 && field_pic_num(i, f) == pic_num).map(|f| (i, f)))
                } else if op == 2 {
                    longs.iter().find_map(|&i| [1u8, 2].into_iter().find(|&f| self.refs[i].fields & f != 0 && field_lt_num(i, f) == val as i32).map(|f| (i, f)))
                } else {
                    None
                };
                if let Some(t) = target {
                    place_modified(&mut list, &mut idx, t);
                }
            }
            list.truncate(n);
            lists[l] = list;
        }
        lists
    }

    /// PicNum / LongTermPicNum of a reference (frames).
    pub fn pic_num(r: &RefPic, cur_frame_num: u32, max_frame_num: u32) -> i32 {
        match r.long_term {
            Some(i) => i as i32,
            None => r.frame_num_wrap(cur_frame_num, max_frame_num),
        }
    }

    /// Initial reference picture lists for frames (8.2.4.2.1 / 8.2.4.2.3),
    /// followed by the modification process (8.2.4.3).  Entries are indices
    /// into `self.refs`.
    pub fn ref_lists(&self, sps: &v4l2_ctrl_h264_sps, sh: &SliceHeader, cur_poc: i32) -> [Vec<usize>; 2] {
        let mfn = Self::max_frame_num(sps);
        let poc = |r: &RefPic| r.top_poc.min(r.bottom_poc);
        let shorts: Vec<usize> = (0..self.refs.len()).filter(|&i| self.refs[i].long_term.is_none()).collect();
        let mut longs: Vec<usize> = (0..self.refs.len()).filter(|&i| self.refs[i].long_term.is_some()).collect();
        longs.sort_by_key(|&i| self.refs[i].long_term.unwrap());
        let mut lists: [Vec<usize>; 2] = [Vec::new(), Vec::new()];
        if sh.is_p() {
            let mut s = shorts.clone();
            s.sort_by_key(|&i| -self.refs[i].frame_num_wrap(sh.frame_num, mfn));
            lists[0] = s.into_iter().chain(longs.iter().copied()).collect();
        } else if sh.is_b() {
            let mut before: Vec<usize> = shorts.iter().copied().filter(|&i| poc(&self.refs[i]) < cur_poc).collect();
            before.sort_by_key(|&i| -poc(&self.refs[i]));
            let mut after: Vec<usize> = shorts.iter().copied().filter(|&i| poc(&self.refs[i]) > cur_poc).collect();
            after.sort_by_key(|&i| poc(&self.refs[i]));
            lists[0] = before.iter().chain(after.iter()).chain(longs.iter()).copied().collect();
            lists[1] = after.iter().chain(before.iter()).chain(longs.iter()).copied().collect();
            if lists[1].len() > 1 && lists[0] == lists[1] {
                lists[1].swap(0, 1);
            }
        }
        for l in 0..2 {
            let n = if l == 0 { sh.num_ref_idx_l0_active_minus1 } else { sh.num_ref_idx_l1_active_minus1 } as usize + 1;
            if lists[l].is_empty() && (l == 0 && !sh.is_i() || l == 1 && sh.is_b()) {
                continue;
            }
            // modification
            let mut pred = sh.frame_num as i32;
            let mut idx = 0usize;
            let mut list = lists[l].clone();
            list.truncate(n);
            for &(op, val) in &sh.ref_pic_list_mod[l] {
                let target = if op == 0 || op == 1 {
                    let d = val as i32 + 1;
                    let mut no_wrap = if op == 0 { pred - d } else { pred + d };
                    if no_wrap < 0 {
                        no_wrap += mfn as i32;
                    } else if no_wrap >= mfn as i32 {
                        no_wrap -= mfn as i32;
                    }
                    pred = no_wrap;
                    let pic_num = if no_wrap > sh.frame_num as i32 { no_wrap - mfn as i32 } else { no_wrap };
                    self.refs.iter().position(|r| r.long_term.is_none() && r.frame_num_wrap(sh.frame_num, mfn) == pic_num)
                } else if op == 2 {
                    self.refs.iter().position(|r| r.long_term == Some(val))
                } else {
                    None
                };
                if let Some(t) = target {
                    place_modified(&mut list, &mut idx, t);
                }
            }
            list.truncate(n);
            lists[l] = list;
        }
        lists
    }
}

/// 8.2.4.3.1/8.2.4.3.2: put the picture a modification names at `idx`, move
/// `idx` on, and drop the picture's later occurrence from the list.
fn place_modified<T: PartialEq + Copy>(list: &mut Vec<T>, idx: &mut usize, t: T) {
    list.insert((*idx).min(list.len()), t);
    *idx += 1;
    let mut k = *idx;
    while k < list.len() {
        if list[k] == t {
            list.remove(k);
        } else {
            k += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sps(poc_type: u8) -> v4l2_ctrl_h264_sps {
        v4l2_ctrl_h264_sps { pic_order_cnt_type: poc_type, log2_max_pic_order_cnt_lsb_minus4: 4, max_num_ref_frames: 2, ..Default::default() }
    }

    fn field(idr: bool, p: bool, frame_num: u32, bottom: bool, lsb: u32) -> SliceHeader {
        SliceHeader {
            nal_ref_idc: 3,
            nal_unit_type: if idr { 5 } else { 1 },
            slice_type: if p { 0 } else { 2 },
            frame_num,
            field_pic: true,
            bottom_field: bottom,
            pic_order_cnt_lsb: lsb,
            ..Default::default()
        }
    }

    fn decode(d: &mut Dpb, s: &v4l2_ctrl_h264_sps, sh: &SliceHeader, ts: u64) -> (i32, i32) {
        let poc = d.compute_poc(s, sh);
        let p = d.finish_picture(s, sh, &poc, ts);
        assert!(p.is_empty(), "{p:?}");
        (poc.top, poc.bottom)
    }

    /// Top-field-first field pairs (PAFF): second fields join their first
    /// field's frame store, POCs per field, the sliding window counts frame
    /// stores, field reference lists alternate parity (8.2.4.2.5), and
    /// mmco1 unmarks a single field by its field PicNum.
    #[test]
    fn field_pairs_poc_marking_and_lists() {
        let s = sps(0);
        let mut d = Dpb::default();
        let a = field(true, false, 0, false, 0);
        assert!(!d.is_second_field(&a, 1000));
        assert_eq!(decode(&mut d, &s, &a, 1000), (0, 0));
        // second field of the IDR picture, a P field referencing the first
        let b = field(false, true, 0, true, 1);
        assert!(d.is_second_field(&b, 1000));
        assert!(!d.is_second_field(&b, 2000), "another CAPTURE buffer is another frame");
        assert_eq!(d.ref_lists_field(&s, &b, 1)[0], vec![(0, 1)], "the first field is the reference of the second");
        assert_eq!(decode(&mut d, &s, &b, 1000).1, 1);
        assert_eq!(d.refs, vec![RefPic { ts: 1000, frame_num: 0, top_poc: 0, bottom_poc: 1, long_term: None, fields: 3 }]);
        let mut c = field(false, true, 1, false, 4);
        c.num_ref_idx_l0_active_minus1 = 1;
        assert_eq!(d.ref_lists_field(&s, &c, 4)[0], vec![(0, 1), (0, 2)], "same parity first");
        assert_eq!(decode(&mut d, &s, &c, 2000).0, 4);
        let dd = field(false, true, 1, true, 5);
        assert!(d.is_second_field(&dd, 2000));
        // refFrameList0ShortTerm = [frame_num 1 (top only), frame_num 0]:
        // bottom of 0, top of 1, top of 0
        let mut dd3 = dd.clone();
        dd3.num_ref_idx_l0_active_minus1 = 2;
        assert_eq!(d.ref_lists_field(&s, &dd3, 5)[0], vec![(0, 2), (1, 1), (0, 1)]);
        // modification: abs_diff_pic_num_minus1 0, subtract: CurrPicNum 3 -> PicNum 2 = frame_num 1, opposite parity (top)
        dd3.ref_pic_list_mod[0] = vec![(0, 0)];
        assert_eq!(d.ref_lists_field(&s, &dd3, 5)[0], vec![(1, 1), (0, 2), (0, 1)]);
        assert_eq!(decode(&mut d, &s, &dd, 2000).1, 5);
        assert_eq!(d.refs.len(), 2);
        assert_eq!((d.refs[1].fields, d.refs[1].top_poc, d.refs[1].bottom_poc), (3, 4, 5));
        // max_num_ref_frames 2: the third frame's first field slides frame_num 0 out
        decode(&mut d, &s, &field(false, true, 2, false, 8), 3000);
        assert_eq!(d.refs.iter().map(|r| (r.ts, r.fields)).collect::<Vec<_>>(), vec![(2000, 3), (3000, 1)]);
        // ... and its second field does not slide anything
        decode(&mut d, &s, &field(false, true, 2, true, 9), 3000);
        assert_eq!(d.refs.iter().map(|r| (r.ts, r.fields)).collect::<Vec<_>>(), vec![(2000, 3), (3000, 3)]);
        // mmco1 in a top field with frame_num 3: CurrPicNum 7, picNumX 7 - 3
        // = 4 = 2 * FrameNumWrap 2 (opposite parity): the bottom field of
        // frame_num 2 is no longer a reference, its top field still is
        let mut g = field(false, true, 3, false, 12);
        g.adaptive_ref_pic_marking = true;
        g.mmcos = vec![crate::codecs::h264::header::Mmco { op: 1, difference_of_pic_nums_minus1: 2, ..Default::default() }];
        decode(&mut d, &s, &g, 4000);
        assert_eq!(d.refs.iter().map(|r| (r.ts, r.fields)).collect::<Vec<_>>(), vec![(2000, 3), (3000, 1), (4000, 1)]);
    }

    /// POC types 1 and 2 for fields (8.2.1.2, 8.2.1.3).
    #[test]
    fn field_poc_types_1_and_2() {
        let mut s = sps(2);
        let d = Dpb::default();
        let mut f = field(false, true, 3, true, 0);
        assert_eq!(d.compute_poc(&s, &f).bottom, 6);
        f.nal_ref_idc = 0;
        assert_eq!(d.compute_poc(&s, &f).bottom, 5);
        s.pic_order_cnt_type = 1;
        s.num_ref_frames_in_pic_order_cnt_cycle = 1;
        s.offset_for_ref_frame[0] = 2;
        s.offset_for_top_to_bottom_field = 1;
        let mut t = field(false, true, 3, false, 0);
        t.delta_pic_order_cnt[0] = 1;
        // expectedPicOrderCnt = 3 * 2 = 6; top field: 6 + 1
        assert_eq!(d.compute_poc(&s, &t).top, 7);
        t.bottom_field = true;
        // bottom field: 6 + offset_for_top_to_bottom_field + delta[0]
        assert_eq!(d.compute_poc(&s, &t).bottom, 8);
    }
}
