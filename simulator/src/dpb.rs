//! Reference picture model: POC derivation (8.2.1) and decoded reference
//! picture marking (8.2.5) for frame pictures.  Used by the checker (what
//! the controls must say) and by the self-test client (what to send).
use crate::h264::SliceHeader;
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
    pub started: bool,
}

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
                        let delta_cycle: i32 =
                            sps.offset_for_ref_frame[..n as usize].iter().sum();
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
                    let top = expected + sh.delta_pic_order_cnt[0];
                    let bottom = top + sps.offset_for_top_to_bottom_field + sh.delta_pic_order_cnt[1];
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
        let mut cur = RefPic { ts, frame_num: sh.frame_num, top_poc: poc.top, bottom_poc: poc.bottom, long_term: None };
        let mut had_mmco5 = false;
        let cur_is_ref = sh.nal_ref_idc != 0;
        if sh.is_idr() {
            self.refs.clear();
            if sh.long_term_reference_flag {
                cur.long_term = Some(0);
                self.max_long_term_frame_idx = Some(0);
            } else {
                self.max_long_term_frame_idx = None;
            }
        } else if cur_is_ref && sh.adaptive_ref_pic_marking {
            let cur_pic_num = sh.frame_num as i32;
            for m in &sh.mmcos {
                match m.op {
                    1 => {
                        let x = cur_pic_num - (m.difference_of_pic_nums_minus1 as i32 + 1);
                        let before = self.refs.len();
                        self.refs.retain(|r| !(r.long_term.is_none() && r.frame_num_wrap(sh.frame_num, max_frame_num) == x));
                        if before == self.refs.len() {
                            problems.push(format!("mmco1: no short-term picture with PicNum {x}"));
                        }
                    }
                    2 => {
                        self.refs.retain(|r| r.long_term != Some(m.long_term_pic_num));
                    }
                    3 => {
                        let x = cur_pic_num - (m.difference_of_pic_nums_minus1 as i32 + 1);
                        let idx = m.long_term_frame_idx;
                        let target = self.refs.iter().position(|r| r.long_term.is_none() && r.frame_num_wrap(sh.frame_num, max_frame_num) == x);
                        if let Some(t) = target {
                            let fnum = self.refs[t].frame_num;
                            self.refs.retain(|r| !(r.long_term == Some(idx) && r.frame_num != fnum));
                            if let Some(r) = self.refs.iter_mut().find(|r| r.long_term.is_none() && r.frame_num == fnum) {
                                r.long_term = Some(idx);
                            }
                        } else {
                            problems.push(format!("mmco3: no short-term picture with PicNum {x}"));
                        }
                    }
                    4 => {
                        let p1 = m.max_long_term_frame_idx_plus1;
                        self.refs.retain(|r| match r.long_term { Some(i) => p1 != 0 && i < p1, None => true });
                        self.max_long_term_frame_idx = if p1 == 0 { None } else { Some(p1 - 1) };
                    }
                    5 => {
                        self.refs.clear();
                        self.max_long_term_frame_idx = None;
                        had_mmco5 = true;
                    }
                    6 => {
                        let idx = m.long_term_frame_idx;
                        self.refs.retain(|r| r.long_term != Some(idx));
                        cur.long_term = Some(idx);
                    }
                    _ => {}
                }
            }
        } else if cur_is_ref {
            // sliding window (8.2.5.3)
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
            if self.refs.len() >= 16 {
                problems.push("more than 16 reference frames".into());
            }
            self.refs.push(cur.clone());
            self.prev_ref_mmco5_top = if had_mmco5 { Some(cur.top_poc) } else { None };
            self.prev_poc_msb = poc.msb;
            self.prev_poc_lsb = sh.pic_order_cnt_lsb as i32;
        }
        self.prev_had_mmco5 = had_mmco5;
        self.prev_frame_num_offset = poc.frame_num_offset;
        self.prev_frame_num = if had_mmco5 { 0 } else { sh.frame_num };
        self.started = true;
        problems
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
                    list.insert(idx.min(list.len()), t);
                    idx += 1;
                    let mut k = idx;
                    while k < list.len() {
                        if list[k] == t {
                            list.remove(k);
                        } else {
                            k += 1;
                        }
                    }
                }
            }
            list.truncate(n);
            lists[l] = list;
        }
        lists
    }
}
