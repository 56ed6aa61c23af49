//! The "hardware": picks a runnable m2m job, runs it through the codec
//! model on a worker thread, completes buffers and requests.
use super::*;
use crate::avdec::AvDecoder;
use crate::layout::write_picture;

/// The codec of a context's OUTPUT format: its model (checker + reference
/// state) and the libavcodec decoder the core runs for it.
pub(super) struct CodecCtx {
    pub(super) codec: &'static dyn Codec,
    pub(super) model: Box<dyn Model>,
    /// opened on the first decode
    dec: Option<AvDecoder>,
}

impl CodecCtx {
    pub(super) fn new(codec: &'static dyn Codec, p: Personality) -> Self {
        CodecCtx { codec, model: codec.new_model(p), dec: None }
    }
}

/// A CAPTURE buffer to decode into.
struct CaptureTarget<'a> {
    mem: &'a mut [u8],
    layout: Layout,
    width: usize,
    height: usize,
}

/// `codec::Pixels` of the core: libavcodec decodes, the picture is written
/// in the personality's CAPTURE layout (nothing with HANTRO_SIM_SKIP_PIXELS).
struct AvSink<'a> {
    dec: &'a mut Option<AvDecoder>,
    codec: &'static dyn Codec,
    cap: CaptureTarget<'a>,
    skip: bool,
}

impl Pixels for AvSink<'_> {
    fn decode(&mut self, au: &[u8], new_picture: bool) -> Vec<String> {
        let mut errs = Vec::new();
        if self.skip {
            return errs;
        }
        if self.dec.is_none() {
            *self.dec = AvDecoder::new(self.codec.av_codec_id());
        }
        let cap = &mut self.cap;
        match self.dec.as_mut().map(|d| d.decode(au)) {
            Some(Ok(pic)) => {
                if !pic.new_pic && new_picture {
                    errs.push("decoder: access unit produced no new picture".into());
                }
                write_picture(&pic, cap.width, cap.height, cap.layout, cap.mem);
            }
            Some(Err(e)) => errs.push(format!("decoder: libavcodec error {e}")),
            None => errs.push(format!("decoder: cannot open libavcodec {} decoder", self.codec.name())),
        }
        errs
    }
}

pub(super) struct JobPlan {
    ctx: u32,
    out_idx: u32,
    rid: Option<u32>,
    ctrls: CtrlValues,
    data: Vec<u8>,
    out_ts: u64,
    hold: bool,
    flush: Option<(u32, usize, usize, Layout, usize, usize)>,
    dest: u32,
    dest_mem: (usize, usize),
    layout: Layout,
    w: usize,
    h: usize,
    cap_ts: Vec<(u32, u64)>,
    frame: u64,
    poison: Vec<String>,
    engine: Arc<Mutex<CodecCtx>>,
}

pub(super) fn pick_job(sim: &Sim, st: &mut State) -> Option<JobPlan> {
    let p = sim.persona();
    let ids: Vec<u32> = st.ctxs.keys().copied().collect();
    for id in ids {
        let c = st.ctxs.get(&id).unwrap();
        if c.busy || !c.out_q.streaming || !c.cap_q.streaming {
            continue;
        }
        let Some(&oi) = c.out_q.ready.front() else { continue };
        let ob = &c.out_q.bufs[oi as usize];
        let out_ts = ob.ts_ns();
        let held_same = c.held_cap.is_some_and(|h| c.cap_q.bufs[h as usize].ts_ns() == out_ts);
        if !held_same && c.cap_q.ready.is_empty() {
            continue;
        }
        let rid = ob.request;
        let frame = st.frames;
        st.frames += 1;
        let req_ctrls = rid.and_then(|r| st.reqs.get(&r)).map(|r| r.ctrls.clone()).unwrap_or_default();
        let mut poison = rid.and_then(|r| st.reqs.get(&r)).map(|r| r.poison.clone()).unwrap_or_default();
        let c = st.ctxs.get_mut(&id).unwrap();
        c.busy = true;
        c.out_q.ready.pop_front();
        c.ctrls.merge_from(&req_ctrls);
        let ob = &mut c.out_q.bufs[oi as usize];
        ob.state = BufState::Active;
        // SAFETY: the OUTPUT buffer's own mapping; bytesused <= plane length (checked at QBUF) and the buffer is Active, owned by this job, while it is copied under the state lock.
        let data = unsafe { std::slice::from_raw_parts(ob.planes[0].ptr, ob.bytesused as usize) }.to_vec();
        let hold = ob.flags & V4L2_BUF_FLAG_M2M_HOLD_CAPTURE_BUF != 0;
        let (ts_sec, ts_usec) = (ob.ts_sec, ob.ts_usec);
        let layout = layout_of(&c.cap_fmt);
        let (w, h) = (c.cap_fmt.width as usize, c.cap_fmt.height as usize);
        let mut flush = None;
        let dest = if held_same {
            c.held_cap.unwrap()
        } else {
            if let Some(hc) = c.held_cap.take() {
                let hb = &c.cap_q.bufs[hc as usize];
                flush = Some((hc, hb.planes[0].ptr as usize, hb.planes[0].len, layout, w, h));
            }
            c.cap_q.ready.pop_front().unwrap()
        };
        let db = &mut c.cap_q.bufs[dest as usize];
        let old = if db.has_picture && !held_same { Some(db.ts_ns()) } else { None };
        db.state = BufState::Active;
        if !held_same {
            db.has_picture = false;
            db.ts_sec = ts_sec;
            db.ts_usec = ts_usec;
        }
        let dest_mem = (db.planes[0].ptr as usize, db.planes[0].len);
        let cap_ts: Vec<(u32, u64)> =
            c.cap_q.bufs.iter().enumerate().filter(|(i, b)| b.has_picture && *i as u32 != dest).map(|(i, b)| (i as u32, b.ts_ns())).collect();
        let ctrls = c.ctrls.clone();
        let engine = c.engine.clone();
        let codec = engine.lock().map(|e| e.codec).unwrap_or(default_codec(p));
        let _ = p;
        // Destination overwrites a picture that other queued requests of
        // this context still reference.
        // (the same timestamp again is the picture's second field, decoded
        // into the buffer of its first field on hardware without
        // HOLD_CAPTURE_BUF: not an overwrite)
        if let Some(old_ts) = old.filter(|&t| t != out_ts) {
            let others: Vec<u32> = c.out_q.ready.iter().filter_map(|&i| c.out_q.bufs[i as usize].request).collect();
            for r in others {
                if let Some(rq) = st.reqs.get_mut(&r) {
                    {
                        if codec.references(&rq.ctrls).contains(&old_ts) {
                            rq.poison.push(format!(
                                "CAPTURE buffer {dest} (holding reference ts {old_ts}) was re-queued and overwritten by an earlier request while this pending request still references it"
                            ));
                        }
                    }
                }
            }
        }
        poison.dedup();
        return Some(JobPlan { ctx: id, out_idx: oi, rid, ctrls, data, out_ts, hold, flush, dest, dest_mem, layout, w, h, cap_ts, frame, poison, engine });
    }
    None
}

pub(super) fn worker(me: std::sync::Weak<Sim>) {
    crate::preload::mark_internal_thread();
    loop {
        let Some(sim) = me.upgrade() else { return };
        let plan = {
            let mut st = sim.lock();
            loop {
                if let Some(p) = pick_job(&sim, &mut st) {
                    break Some(p);
                }
                let (g, to) = sim.cv.wait_timeout(st, Duration::from_millis(200)).unwrap_or_else(|e| e.into_inner());
                st = g;
                if to.timed_out() && Arc::strong_count(&sim) <= 1 {
                    break None;
                }
            }
        };
        let Some(plan) = plan else { return };
        if sim.cfg.decode_us > 0 {
            std::thread::sleep(Duration::from_micros(sim.cfg.decode_us));
        }
        run_job(&sim, plan);
    }
}

pub(super) fn run_job(sim: &Arc<Sim>, plan: JobPlan) {
    let mut flush_errs = Vec::new();
    let (errs, complete) = {
        let mut eng = plan.engine.lock().unwrap_or_else(|e| e.into_inner());
        let CodecCtx { codec, model, dec } = &mut *eng;
        let skip = sim.cfg.skip_pixels;
        if let Some((_hc, ptr, len, layout, w, h)) = plan.flush {
            // SAFETY: ptr/len are the MAP_SHARED mapping of the held CAPTURE
            // buffer's memfd (Plane), which lives as long as its queue; the
            // buffer is Active (owned by this job), so no other Rust slice of
            // it exists; clients may only touch it through their own mapping.
            let mem = unsafe { std::slice::from_raw_parts_mut(ptr as *mut u8, len) };
            let mut t = AvSink { dec, codec: *codec, cap: CaptureTarget { mem, layout, width: w, height: h }, skip };
            flush_errs = model.flush(&mut t);
        }
        // SAFETY: as above, for the destination CAPTURE buffer of this job.
        let mem = unsafe { std::slice::from_raw_parts_mut(plan.dest_mem.0 as *mut u8, plan.dest_mem.1) };
        let mut cap = AvSink { dec, codec: *codec, cap: CaptureTarget { mem, layout: plan.layout, width: plan.w, height: plan.h }, skip };
        let job = Job {
            ctrls: &plan.ctrls,
            data: &plan.data,
            out_ts: plan.out_ts,
            hold: plan.hold,
            cap_ts: plan.cap_ts.clone(),
            cap_width: plan.w,
            cap_height: plan.h,
        };
        let step = model.run(&job, &mut cap);
        for w in model.take_notes() {
            sim.log(&format!("note: job {}: {w}", plan.frame));
        }
        (step.findings, step.complete)
    };
    let mut errs: Vec<String> = plan.poison.iter().cloned().chain(errs).collect();
    if sim.cfg.error_frame == Some(plan.frame) {
        sim.fault(&format!("fired error-frame job={} output={} capture={} ts={}", plan.frame, plan.out_idx, plan.dest, plan.out_ts));
        errs.push(format!("fault injection: HANTRO_SIM_ERROR_FRAME={}", plan.frame));
    }
    let hang = sim.cfg.hang_frame == Some(plan.frame);
    for e in &errs {
        sim.log(&format!("job {} (OUTPUT {} ts {}, CAPTURE {}): {e}", plan.frame, plan.out_idx, plan.out_ts, plan.dest));
    }
    for e in &flush_errs {
        sim.log(&format!("job {} (held CAPTURE flush): {e}", plan.frame));
    }
    if hang {
        sim.fault(&format!("fired hang job={} output={} capture={} ts={} (the request never completes)", plan.frame, plan.out_idx, plan.dest, plan.out_ts));
    }
    let mut st = sim.lock();
    if hang {
        if let Some(c) = st.ctxs.get_mut(&plan.ctx) {
            c.hung = true;
        }
        return;
    }
    let done_ctrls = plan.ctrls.clone();
    if let Some(c) = st.ctxs.get_mut(&plan.ctx) {
        let err_flag = if errs.is_empty() { 0 } else { V4L2_BUF_FLAG_ERROR };
        if let Some((hc, ..)) = plan.flush {
            let mut fe = std::mem::take(&mut c.pic_errs);
            fe.extend(flush_errs);
            let hb = &mut c.cap_q.bufs[hc as usize];
            if hb.state == BufState::Active {
                hb.state = BufState::Done;
                hb.done_flags = if fe.is_empty() { 0 } else { V4L2_BUF_FLAG_ERROR };
                hb.has_picture = true;
                hb.bytesused = c.cap_fmt.sizeimage;
                hb.sequence = c.cap_q.sequence;
                c.cap_q.sequence += 1;
                c.cap_q.done.push_back(hc);
            }
        }
        let streaming_out = c.out_q.streaming;
        let ob = &mut c.out_q.bufs[plan.out_idx as usize];
        if ob.state == BufState::Active {
            if streaming_out {
                ob.state = BufState::Done;
                ob.done_flags = err_flag;
                ob.sequence = c.out_q.sequence;
                c.out_q.sequence += 1;
                c.out_q.done.push_back(plan.out_idx);
            } else {
                ob.state = BufState::Dequeued;
            }
        }
        c.pic_errs.extend(errs.iter().cloned());
        let db = &mut c.cap_q.bufs[plan.dest as usize];
        if complete {
            let pic_errs = std::mem::take(&mut c.pic_errs);
            if db.state == BufState::Active {
                if c.cap_q.streaming {
                    db.state = BufState::Done;
                    db.done_flags = if pic_errs.is_empty() { 0 } else { V4L2_BUF_FLAG_ERROR };
                    db.has_picture = true;
                    db.bytesused = c.cap_fmt.sizeimage;
                    db.sequence = c.cap_q.sequence;
                    c.cap_q.sequence += 1;
                    c.cap_q.done.push_back(plan.dest);
                } else {
                    db.state = BufState::Dequeued;
                }
            }
            c.held_cap = None;
        } else {
            c.held_cap = Some(plan.dest);
        }
        c.busy = false;
    }
    if let Some(rid) = plan.rid {
        if let Some(r) = st.reqs.get_mut(&rid) {
            r.done_ctrls = done_ctrls;
            r.state = ReqState::Complete;
            signal_req(r);
            if r.fd.is_none() {
                let r = st.reqs.remove(&rid).unwrap();
                // SAFETY: a plain syscall on fds we own: our end of a request whose client fd is gone, closed once as it is removed; pointers passed are to live locals of the right size.
                unsafe { libc::close(r.peer) };
            }
        }
    }
    sync_ready(&mut st, plan.ctx);
    drop(st);
    sim.cv.notify_all();
}

impl Sim {
    pub(super) fn ensure_worker(self: &Arc<Self>) {
        let mut w = self.worker.lock().unwrap();
        if !*w {
            *w = true;
            let me = Arc::downgrade(self);
            std::thread::Builder::new().name("hantro-sim-hw".into()).spawn(move || worker(me)).expect("spawn simulator worker");
        }
    }
}
