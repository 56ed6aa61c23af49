//! A small stateless-decoder client of the simulator's own, used by the
//! end-to-end self-test: it parses an Annex-B H.264 stream itself, derives
//! every control (SPS/PPS/scaling matrix/decode params/slice params/pred
//! weights) from that parse and its own DPB model, and drives the emulated
//! device through the same ioctl entry points the LD_PRELOAD hooks use.
use super::dpb::Dpb;
use super::header::*;
use crate::bits::split_annexb;
use crate::ctrls::{struct_bytes, Personality};
use crate::device::Sim;
use crate::layout::{read_i420, Layout};
use crate::uapi::*;
use libc::c_void;
use std::collections::HashMap;
use std::sync::Arc;

/// One decoded frame as the client saw it.
#[derive(Debug, Clone)]
pub struct Frame {
    pub decode_index: usize,
    /// Output order key (IDR period, POC).
    pub order: (usize, i32),
    pub i420: Vec<u8>,
    pub error: bool,
    pub capture_index: u32,
}

/// Deliberate control corruption for negative tests.
#[derive(Clone, Copy, Debug)]
pub enum Corrupt {
    FrameNum,
    TopPoc,
    DropReference,
    StaleReferenceTs,
    HeaderBitSize,
}

#[derive(Default, Clone)]
pub struct Options {
    pub corrupt: Option<(usize, Corrupt)>,
    pub capture_buffers: u32,
    /// Client bug on purpose: give every CAPTURE buffer back right after
    /// DQBUF, even while it still holds a reference picture.
    pub requeue_references: bool,
}

struct Au<'a> {
    slices: Vec<&'a [u8]>,
}

type E = String;

fn ioc<T>(sim: &Arc<Sim>, fd: i32, req: u64, arg: &mut T) -> Result<(), E> {
    match sim.ioctl(fd, req, arg as *mut T as *mut c_void) {
        Some(Ok(_)) => Ok(()),
        Some(Err(e)) => Err(format!("ioctl {req:#x} failed: errno {e}")),
        None => Err("fd not emulated".into()),
    }
}

fn ext_ctrl<T: Copy>(id: u32, v: &mut T) -> v4l2_ext_control {
    let mut c = v4l2_ext_control { id, size: std::mem::size_of::<T>() as u32, ..Default::default() };
    c.__bindgen_anon_1.ptr = v as *mut T as *mut c_void;
    c
}

pub fn run(sim: &Arc<Sim>, stream: &[u8], opts: &Options) -> Result<Vec<Frame>, E> {
    let p = sim.cfg.personality;
    let mplane = p.mplane();
    // --- parse the stream ---
    let nals = split_annexb(stream);
    let mut spss: HashMap<u8, Sps> = HashMap::new();
    let mut ppss: HashMap<u8, Pps> = HashMap::new();
    let mut aus: Vec<(Au, v4l2_ctrl_h264_sps, Pps)> = Vec::new();
    let mut cur: Option<Au> = None;
    let mut cur_ps: Option<(v4l2_ctrl_h264_sps, Pps)> = None;
    for n in &nals {
        match nal_type(n) {
            7 => {
                let s = parse_sps(n).map_err(|_| "bad SPS")?;
                spss.insert(s.ctrl.seq_parameter_set_id, s);
            }
            8 => {
                let pp = parse_pps(n, |id| spss.get(&id).cloned()).map_err(|_| "bad PPS")?;
                ppss.insert(pp.ctrl.pic_parameter_set_id, pp);
            }
            1 | 5 => {
                // first_mb_in_slice == 0 starts a new picture
                let rb = crate::bits::nal_to_rbsp(&n[1..]);
                let mut r = crate::bits::BitReader::new(&rb);
                let first_mb = r.ue().map_err(|_| "bad slice")?;
                let _ = r.ue();
                let pps_id = r.ue().map_err(|_| "bad slice")? as u8;
                if first_mb == 0 {
                    if let (Some(a), Some((s, pp))) = (cur.take(), cur_ps.take()) {
                        aus.push((a, s, pp));
                    }
                    let pp = ppss.get(&pps_id).ok_or("slice before PPS")?.clone();
                    let s = spss.get(&pp.ctrl.seq_parameter_set_id).ok_or("PPS before SPS")?.ctrl;
                    cur_ps = Some((s, pp));
                    cur = Some(Au { slices: Vec::new() });
                }
                cur.as_mut().ok_or("slice without first_mb 0")?.slices.push(n);
            }
            _ => {}
        }
    }
    if let (Some(a), Some((s, pp))) = (cur.take(), cur_ps.take()) {
        aus.push((a, s, pp));
    }
    let sps0 = aus.first().ok_or("no pictures")?.1;
    let (cw, ch) = coded_size(&sps0);

    // --- set up the device ---
    let vfd = sim.open(&sim.cfg.video_path.clone(), libc::O_RDWR | libc::O_CLOEXEC).ok_or("video path not emulated")?.map_err(|e| format!("open video {e}"))?;
    let mfd = sim.open(&sim.cfg.media_path.clone(), libc::O_RDWR | libc::O_CLOEXEC).ok_or("media path")?.map_err(|e| format!("open media {e}"))?;
    let mut cap = v4l2_capability::default();
    ioc(sim, vfd, VIDIOC_QUERYCAP, &mut cap)?;
    // controls that select the decoding mode, set on the device (not a request)
    let (mode, sc) = if p.frame_based() { (1, 1) } else { (0, 0) };
    let mut cs = [v4l2_ext_control { id: CID_H264_DECODE_MODE, ..Default::default() }, v4l2_ext_control { id: CID_H264_START_CODE, ..Default::default() }];
    cs[0].__bindgen_anon_1.value = mode;
    cs[1].__bindgen_anon_1.value = sc;
    let mut ec = v4l2_ext_controls { count: 2, controls: cs.as_mut_ptr(), ..Default::default() };
    ec.__bindgen_anon_1.which = V4L2_CTRL_WHICH_CUR_VAL;
    ioc(sim, vfd, VIDIOC_S_EXT_CTRLS, &mut ec)?;

    let mut f = v4l2_format { type_: p.out_type(), ..Default::default() };
    #[allow(unused_unsafe)]
    // SAFETY: writing plain-integer members of the v4l2_format union for the queue type just set.
    unsafe {
        if mplane {
            f.fmt.pix_mp.width = cw;
            f.fmt.pix_mp.height = ch;
            f.fmt.pix_mp.pixelformat = PIX_FMT_H264_SLICE;
            f.fmt.pix_mp.num_planes = 1;
        } else {
            f.fmt.pix.width = cw;
            f.fmt.pix.height = ch;
            f.fmt.pix.pixelformat = PIX_FMT_H264_SLICE;
        }
    }
    ioc(sim, vfd, VIDIOC_S_FMT, &mut f)?;
    let mut cf = v4l2_format { type_: p.cap_type(), ..Default::default() };
    ioc(sim, vfd, VIDIOC_G_FMT, &mut cf)?;
    // SAFETY: reading the v4l2_format union member matching the queue type G_FMT filled; plain integers.
    let (cfour, cstride, cheight) = unsafe {
        if mplane {
            (cf.fmt.pix_mp.pixelformat, cf.fmt.pix_mp.plane_fmt[0].bytesperline, cf.fmt.pix_mp.height)
        } else {
            (cf.fmt.pix.pixelformat, cf.fmt.pix.bytesperline, cf.fmt.pix.height)
        }
    };
    let layout = if cfour == PIX_FMT_NV12_32L32 {
        Layout::Nv12Tiled32 { stride: cstride as usize, height: cheight as usize }
    } else {
        Layout::Nv12 { stride: cstride as usize, height: cheight as usize }
    };
    let ncap = if opts.capture_buffers == 0 { sps0.max_num_ref_frames as u32 + 3 } else { opts.capture_buffers };
    let mut maps: [Vec<(*mut u8, usize)>; 2] = [Vec::new(), Vec::new()];
    for (qi, (ty, n)) in [(p.out_type(), 2u32), (p.cap_type(), ncap)].into_iter().enumerate() {
        let mut rb = v4l2_requestbuffers { count: n, type_: ty, memory: v4l2_memory_V4L2_MEMORY_MMAP, ..Default::default() };
        ioc(sim, vfd, VIDIOC_REQBUFS, &mut rb)?;
        for i in 0..rb.count {
            let mut pl = v4l2_plane::default();
            let mut b = v4l2_buffer { index: i, type_: ty, memory: v4l2_memory_V4L2_MEMORY_MMAP, ..Default::default() };
            if mplane {
                b.m.planes = &mut pl;
                b.length = 1;
            }
            ioc(sim, vfd, VIDIOC_QUERYBUF, &mut b)?;
            // SAFETY: QUERYBUF filled the member of the memory type MMAP (mem_offset / offset); plain integers.
            let (len, off) = if mplane { (pl.length, unsafe { pl.m.mem_offset }) } else { (b.length, unsafe { b.m.offset }) };
            let mfd2 = sim.mmap_target(vfd, off as i64).ok_or("mmap")?.map_err(|e| format!("mmap {e}"))?;
            // SAFETY: maps `len` bytes of the exported buffer fd, a fresh mapping nothing else refers to; the result is checked for MAP_FAILED.
            let ptr = unsafe { libc::mmap(std::ptr::null_mut(), len as usize, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_SHARED, mfd2, 0) };
            if ptr == libc::MAP_FAILED {
                return Err("mmap failed".into());
            }
            maps[qi].push((ptr as *mut u8, len as usize));
        }
    }
    let qbuf_cap = |i: u32| -> Result<(), E> {
        let mut pl = v4l2_plane::default();
        let mut b = v4l2_buffer { index: i, type_: p.cap_type(), memory: v4l2_memory_V4L2_MEMORY_MMAP, ..Default::default() };
        if mplane {
            b.m.planes = &mut pl;
            b.length = 1;
        }
        ioc(sim, vfd, VIDIOC_QBUF, &mut b)
    };
    for i in 0..ncap {
        qbuf_cap(i)?;
    }
    for ty in [p.out_type(), p.cap_type()] {
        let mut t = ty;
        ioc(sim, vfd, VIDIOC_STREAMON, &mut t)?;
    }
    let mut req_fd = 0i32;
    ioc(sim, mfd, MEDIA_IOC_REQUEST_ALLOC, &mut req_fd)?;

    // --- decode ---
    let mut dpb = Dpb::default();
    let mut frames = Vec::new();
    let mut idr_period = 0usize;
    let mut dequeued: Vec<(u32, u64)> = Vec::new(); // capture buffers held by us
    let mut out_slot = 0u32;
    for (ai, (au, sps, pps)) in aus.iter().enumerate() {
        let sh0 = parse_slice_header(au.slices[0], sps, &pps.ctrl).map_err(|_| "slice header")?;
        if sh0.is_idr() && ai > 0 {
            idr_period += 1;
        }
        let poc = dpb.compute_poc(sps, &sh0);
        let ts: u64 = (ai as u64 + 1) * 1_000_000; // 1 ms steps, ns
        let refs = if sh0.is_idr() { Vec::new() } else { dpb.refs.clone() };
        let mfn = Dpb::max_frame_num(sps);
        let mut dp = v4l2_ctrl_h264_decode_params {
            nal_ref_idc: sh0.nal_ref_idc as u16,
            frame_num: sh0.frame_num as u16,
            top_field_order_cnt: poc.top,
            bottom_field_order_cnt: poc.bottom,
            idr_pic_id: sh0.idr_pic_id as u16,
            pic_order_cnt_lsb: sh0.pic_order_cnt_lsb as u16,
            delta_pic_order_cnt_bottom: sh0.delta_pic_order_cnt_bottom,
            delta_pic_order_cnt0: sh0.delta_pic_order_cnt[0],
            delta_pic_order_cnt1: sh0.delta_pic_order_cnt[1],
            dec_ref_pic_marking_bit_size: sh0.dec_ref_pic_marking_bit_size,
            pic_order_cnt_bit_size: sh0.pic_order_cnt_bit_size,
            ..Default::default()
        };
        if sh0.is_idr() {
            dp.flags |= V4L2_H264_DECODE_PARAM_FLAG_IDR_PIC;
        }
        // the slice types of the picture (one request: all its slices)
        for s in &au.slices {
            let sh = parse_slice_header(s, sps, &pps.ctrl).map_err(|_| "slice header")?;
            if sh.is_p() {
                dp.flags |= V4L2_H264_DECODE_PARAM_FLAG_PFRAME;
            }
            if sh.is_b() {
                dp.flags |= V4L2_H264_DECODE_PARAM_FLAG_BFRAME;
            }
        }
        for (i, r) in refs.iter().enumerate() {
            let e = &mut dp.dpb[i];
            e.reference_ts = r.ts;
            e.fields = V4L2_H264_FRAME_REF as u8;
            e.flags = V4L2_H264_DPB_ENTRY_FLAG_VALID | V4L2_H264_DPB_ENTRY_FLAG_ACTIVE;
            if r.long_term.is_some() {
                e.flags |= V4L2_H264_DPB_ENTRY_FLAG_LONG_TERM;
            }
            e.frame_num = r.long_term.unwrap_or(r.frame_num) as u16;
            e.pic_num = Dpb::pic_num(r, sh0.frame_num, mfn) as u32;
            e.top_field_order_cnt = r.top_poc;
            e.bottom_field_order_cnt = r.bottom_poc;
        }
        let corrupt = opts.corrupt.filter(|c| c.0 == ai).map(|c| c.1);
        match corrupt {
            Some(Corrupt::FrameNum) => dp.frame_num = dp.frame_num.wrapping_add(1),
            Some(Corrupt::TopPoc) => dp.top_field_order_cnt += 2,
            Some(Corrupt::DropReference) => {
                if let Some(last) = (0..16).rev().find(|&i| dp.dpb[i].flags != 0) {
                    dp.dpb[last] = v4l2_h264_dpb_entry::default();
                }
            }
            Some(Corrupt::StaleReferenceTs) => dp.dpb[0].reference_ts += 1,
            _ => {}
        }
        let mut sps_c = *sps;
        let mut pps_c = pps.ctrl;
        let mut sm = pps.scaling.as_ref().map(|s| s.to_ctrl()).unwrap_or_default();
        // one request per frame (frame-based) or per slice (slice-based)
        let units: Vec<Vec<&[u8]>> = if p.frame_based() { vec![au.slices.clone()] } else { au.slices.iter().map(|s| vec![*s]).collect() };
        let nunits = units.len();
        for (ui, unit) in units.iter().enumerate() {
            let (optr, olen) = maps[0][out_slot as usize];
            let mut data = Vec::new();
            for s in unit {
                if p.frame_based() {
                    data.extend_from_slice(&[0, 0, 0, 1]);
                }
                data.extend_from_slice(s);
            }
            if data.len() > olen {
                return Err("OUTPUT buffer too small".into());
            }
            // SAFETY: optr is the live MAP_SHARED mapping of this OUTPUT buffer (olen bytes, checked above), which the device does not touch until QBUF.
            unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), optr, data.len()) };
            let mut ctrl_list = vec![ext_ctrl(CID_H264_SPS, &mut sps_c), ext_ctrl(CID_H264_PPS, &mut pps_c), ext_ctrl(CID_H264_DECODE_PARAMS, &mut dp)];
            if pps.scaling.is_some() {
                ctrl_list.push(ext_ctrl(CID_H264_SCALING_MATRIX, &mut sm));
            }
            let mut sp;
            let mut pw;
            if !p.frame_based() {
                let sh = parse_slice_header(unit[0], sps, &pps.ctrl).map_err(|_| "slice header")?;
                sp = v4l2_ctrl_h264_slice_params {
                    header_bit_size: sh.header_bit_size,
                    first_mb_in_slice: sh.first_mb_in_slice,
                    slice_type: sh.slice_type,
                    colour_plane_id: sh.colour_plane_id,
                    redundant_pic_cnt: sh.redundant_pic_cnt as u8,
                    cabac_init_idc: sh.cabac_init_idc as u8,
                    slice_qp_delta: sh.slice_qp_delta as i8,
                    slice_qs_delta: sh.slice_qs_delta as i8,
                    disable_deblocking_filter_idc: sh.disable_deblocking_filter_idc as u8,
                    slice_alpha_c0_offset_div2: sh.slice_alpha_c0_offset_div2 as i8,
                    slice_beta_offset_div2: sh.slice_beta_offset_div2 as i8,
                    num_ref_idx_l0_active_minus1: sh.num_ref_idx_l0_active_minus1 as u8,
                    num_ref_idx_l1_active_minus1: sh.num_ref_idx_l1_active_minus1 as u8,
                    ..Default::default()
                };
                if sh.direct_spatial_mv_pred {
                    sp.flags |= V4L2_H264_SLICE_FLAG_DIRECT_SPATIAL_MV_PRED;
                }
                if matches!(corrupt, Some(Corrupt::HeaderBitSize)) {
                    sp.header_bit_size += 3;
                }
                if !sh.is_i() {
                    let lists = dpb.ref_lists(sps, &sh, poc.top.min(poc.bottom));
                    for l in 0..2 {
                        for (i, &ri) in lists[l].iter().enumerate() {
                            let ts = dpb.refs[ri].ts;
                            let idx = dp.dpb.iter().position(|e| e.reference_ts == ts && e.flags != 0).unwrap_or(0);
                            let r = v4l2_h264_reference { fields: V4L2_H264_FRAME_REF as u8, index: idx as u8 };
                            if l == 0 {
                                sp.ref_pic_list0[i] = r;
                            } else {
                                sp.ref_pic_list1[i] = r;
                            }
                        }
                    }
                }
                ctrl_list.push(ext_ctrl(CID_H264_SLICE_PARAMS, &mut sp));
                pw = sh.pred_weights.unwrap_or_default();
                if sh.pred_weights.is_some() {
                    ctrl_list.push(ext_ctrl(CID_H264_PRED_WEIGHTS, &mut pw));
                }
            }
            let mut ec = v4l2_ext_controls { count: ctrl_list.len() as u32, controls: ctrl_list.as_mut_ptr(), request_fd: req_fd, ..Default::default() };
            ec.__bindgen_anon_1.which = V4L2_CTRL_WHICH_REQUEST_VAL;
            ioc(sim, vfd, VIDIOC_S_EXT_CTRLS, &mut ec)?;
            let mut pl = v4l2_plane { bytesused: data.len() as u32, ..Default::default() };
            let mut b = v4l2_buffer { index: out_slot, type_: p.out_type(), memory: v4l2_memory_V4L2_MEMORY_MMAP, ..Default::default() };
            b.timestamp.tv_sec = (ts / 1_000_000_000) as i64;
            b.timestamp.tv_usec = ((ts % 1_000_000_000) / 1000) as i64;
            b.flags = V4L2_BUF_FLAG_REQUEST_FD;
            if ui + 1 < nunits {
                b.flags |= V4L2_BUF_FLAG_M2M_HOLD_CAPTURE_BUF;
            }
            b.__bindgen_anon_1.request_fd = req_fd;
            if mplane {
                b.m.planes = &mut pl;
                b.length = 1;
            } else {
                b.bytesused = data.len() as u32;
            }
            ioc(sim, vfd, VIDIOC_QBUF, &mut b)?;
            match sim.ioctl(req_fd, MEDIA_REQUEST_IOC_QUEUE, std::ptr::null_mut()) {
                Some(Ok(_)) => {}
                other => return Err(format!("request queue: {other:?}")),
            }
            // wait for completion: the request fd becomes POLLPRI
            let mut pfd = libc::pollfd { fd: req_fd, events: libc::POLLPRI, revents: 0 };
            // SAFETY: poll on one local pollfd.
            let n = unsafe { libc::poll(&mut pfd, 1, 5000) };
            if n != 1 || pfd.revents & libc::POLLPRI == 0 {
                return Err(format!("request did not complete (poll {n} revents {:#x})", pfd.revents));
            }
            let mut pl = v4l2_plane::default();
            let mut b = v4l2_buffer { type_: p.out_type(), memory: v4l2_memory_V4L2_MEMORY_MMAP, ..Default::default() };
            if mplane {
                b.m.planes = &mut pl;
                b.length = 1;
            }
            ioc(sim, vfd, VIDIOC_DQBUF, &mut b)?;
            match sim.ioctl(req_fd, MEDIA_REQUEST_IOC_REINIT, std::ptr::null_mut()) {
                Some(Ok(_)) => {}
                other => return Err(format!("request reinit: {other:?}")),
            }
            out_slot = (out_slot + 1) % maps[0].len() as u32;
        }
        // the picture
        let mut pl = v4l2_plane::default();
        let mut b = v4l2_buffer { type_: p.cap_type(), memory: v4l2_memory_V4L2_MEMORY_MMAP, ..Default::default() };
        if mplane {
            b.m.planes = &mut pl;
            b.length = 1;
        }
        ioc(sim, vfd, VIDIOC_DQBUF, &mut b)?;
        let got_ts = b.timestamp.tv_sec as u64 * 1_000_000_000 + b.timestamp.tv_usec as u64 * 1000;
        if got_ts != ts {
            return Err(format!("CAPTURE timestamp {got_ts} != OUTPUT {ts}"));
        }
        let (cptr, clen) = maps[1][b.index as usize];
        // SAFETY: the mapping (clen bytes) of a CAPTURE buffer just dequeued: the device does not write it until it is queued again; unmapped only at the end.
        let mem = unsafe { std::slice::from_raw_parts(cptr, clen) };
        // visible size: frame cropping in crop units (7.4.2.1.1, 4:2:0)
        let (vw, vh) = {
            let s = spss.get(&sps.seq_parameter_set_id).unwrap();
            let (w, h) = coded_size(sps);
            let fmo = sps.flags & V4L2_H264_SPS_FLAG_FRAME_MBS_ONLY != 0;
            let (cx, cy) = if sps.chroma_format_idc == 0 { (1, if fmo { 1 } else { 2 }) } else { (2, if fmo { 2 } else { 4 }) };
            match s.frame_cropping {
                Some([l, r, t, bo]) => (w - cx * (l + r), h - cy * (t + bo)),
                None => (w, h),
            }
        };
        frames.push(Frame {
            decode_index: ai,
            order: (idr_period, poc.top.min(poc.bottom)),
            i420: read_i420(mem, vw as usize, vh as usize, layout_crop(layout)),
            error: b.flags & V4L2_BUF_FLAG_ERROR != 0,
            capture_index: b.index,
        });
        dpb.finish_picture(sps, &sh0, &poc, ts);
        dequeued.push((b.index, ts));
        // give back CAPTURE buffers no longer needed for reference
        let mut keep = Vec::new();
        for (i, t) in dequeued.drain(..) {
            if !opts.requeue_references && dpb.refs.iter().any(|r| r.ts == t) {
                keep.push((i, t));
            } else {
                qbuf_cap(i)?;
            }
        }
        dequeued = keep;
    }
    for ty in [p.out_type(), p.cap_type()] {
        let mut t = ty;
        ioc(sim, vfd, VIDIOC_STREAMOFF, &mut t)?;
    }
    for m in maps.iter().flatten() {
        // SAFETY: unmapping a mapping made above, no slice of it outlives this loop.
        unsafe { libc::munmap(m.0 as *mut c_void, m.1) };
    }
    for fd in [req_fd, vfd, mfd] {
        sim.close(fd);
        // SAFETY: closing an fd this client opened.
        unsafe { libc::close(fd) };
    }
    let _ = struct_bytes(&0u8);
    let _ = Personality::HantroG1;
    Ok(frames)
}

fn layout_crop(l: Layout) -> Layout {
    l
}

/// Frames sorted in output order.
pub fn output_order(mut f: Vec<Frame>) -> Vec<Frame> {
    f.sort_by_key(|x| x.order);
    f
}
