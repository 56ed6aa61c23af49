//! A decoding session on one video node: the OUTPUT buffer/request pool,
//! the CAPTURE buffers that back VA surfaces, asynchronous submission and
//! completion, CPU access and DMA-BUF export of decoded pictures.
//!
//! Format negotiation follows the stateless-decoder uAPI: OUTPUT format,
//! then the codec's sequence controls, then the CAPTURE format (hantro
//! answers EBUSY otherwise).
use super::device::{BufPlane, Format, Queue, VideoNode};
use super::formats::{self, Layout};
use super::ioctl::{V4l2Error, V4l2Result};
use super::media;
use super::mmap::{CpuAccess, Mapping};
use crate::ffi::v4l2 as k;
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

/// OUTPUT slots allocated when a session starts.
const INITIAL_SLOTS: u32 = 4;

pub struct SessionSetup<'a> {
    pub coded_fourcc: u32,
    pub width: u32,
    pub height: u32,
    /// Size of one OUTPUT (bitstream) buffer.
    pub bitstream_size: u32,
    /// Controls set before the CAPTURE format is chosen (decode mode, start
    /// code, a sequence header matching the stream's bit depth and size).
    pub controls: &'a mut [k::v4l2_ext_control],
    /// CAPTURE formats the caller can handle, preferred first.
    pub capture_formats: &'a [u32],
    /// Bound of the OUTPUT buffer/request pool (1..=64).
    pub max_slots: usize,
}

#[derive(Default)]
struct CaptureBuf {
    planes: Vec<BufPlane>,
    queued: bool,
    error: bool,
    decoded: bool,
    /// Holds only the first field of its picture: the second comes in a
    /// later job into this buffer (no HOLD_CAPTURE_BUF on the device).
    first_field: bool,
    timestamp_ns: u64,
    dmabuf: Vec<OwnedFd>,
    maps: Vec<Mapping>,
}

struct OutputSlot {
    index: u32,
    map: Mapping,
    request: media::Request,
    busy: bool,
    /// MEDIA_REQUEST_IOC_REINIT failed after its last use: retried before
    /// the slot is used again (a completed request takes no new controls).
    needs_reinit: bool,
}

struct InFlight {
    slot: usize,
    target: u32,
    refs: RefList,
}

/// CAPTURE indices a request reads: a DPB fits inline (no allocation per
/// request); a longer list (not possible with H.264) spills to the heap.
struct RefList {
    inline: [u32; 16],
    len: usize,
    spill: Vec<u32>,
}

impl RefList {
    fn new(refs: &[u32]) -> RefList {
        let mut r = RefList { inline: [0; 16], len: refs.len().min(16), spill: Vec::new() };
        r.inline[..r.len].copy_from_slice(&refs[..r.len]);
        if refs.len() > 16 {
            r.spill = refs[16..].to_vec();
        }
        r
    }

    fn contains(&self, index: &u32) -> bool {
        self.inline[..self.len].contains(index) || self.spill.contains(index)
    }
}

#[derive(Default)]
struct State {
    capture: Vec<CaptureBuf>,
    free_capture: Vec<u32>,
    slots: Vec<OutputSlot>,
    in_flight: VecDeque<InFlight>,
    out_streaming: bool,
    cap_streaming: bool,
}

/// Result of a finished decode into a CAPTURE buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Completion {
    /// Not queued (never decoded, or decoded and collected).
    Idle { decoded: bool, error: bool },
    /// Still being decoded.
    Pending,
}

/// Per-plane description of a CAPTURE buffer for export and mapping.
#[derive(Clone, Copy, Debug)]
pub struct PlaneLayout {
    /// Index of the memory plane (dmabuf) holding this picture plane.
    pub object: usize,
    pub offset: u32,
    pub pitch: u32,
}

pub struct Session {
    node: VideoNode,
    media: OwnedFd,
    pub coded_fourcc: u32,
    pub output_format: Format,
    pub capture_format: Format,
    pub layout: Layout,
    max_slots: usize,
    /// OUTPUT queue supports V4L2_BUF_FLAG_M2M_HOLD_CAPTURE_BUF.
    hold_capture: std::sync::atomic::AtomicBool,
    state: Mutex<State>,
}

fn poll_fd(fd: RawFd, events: libc::c_short, timeout: Duration) -> V4l2Result<bool> {
    let mut p = libc::pollfd { fd, events, revents: 0 };
    let ms = timeout.as_millis().min(i32::MAX as u128) as libc::c_int;
    // SAFETY: one valid pollfd on the stack.
    let r = unsafe { libc::poll(&mut p, 1, ms) };
    if r < 0 {
        let errno = super::ioctl::last_errno();
        if errno == libc::EINTR {
            return Ok(false);
        }
        return Err(V4l2Error::Sys { call: "poll", errno });
    }
    Ok(r > 0 && p.revents & (events | libc::POLLERR | libc::POLLHUP) != 0)
}

impl Session {
    pub fn open(media_path: &str, video_path: &str, setup: SessionSetup<'_>) -> V4l2Result<Session> {
        let (node, _caps) = VideoNode::open(video_path)?;
        let media = super::device::open_nonblock(media_path)?;
        let output_format = node.set_format(Queue::Output, setup.coded_fourcc, setup.width, setup.height, setup.bitstream_size)?;
        if output_format.fourcc != setup.coded_fourcc {
            return Err(V4l2Error::Unsupported(format!("{video_path} refused coded format {}", formats::name(setup.coded_fourcc))));
        }
        if !setup.controls.is_empty() {
            node.set_controls(setup.controls, None)?;
        }
        // CAPTURE format: keep the driver's default when we can use it,
        // else the first one we can describe.
        let mut capture_format = node.get_format(Queue::Capture)?;
        if !setup.capture_formats.contains(&capture_format.fourcc) {
            let offered = node.enum_formats(Queue::Capture)?;
            let want = setup.capture_formats.iter().find(|f| offered.contains(f)).copied().ok_or_else(|| {
                V4l2Error::Unsupported(format!(
                    "{video_path}: no usable CAPTURE format among {}",
                    offered.iter().map(|f| formats::name(*f)).collect::<Vec<_>>().join(",")
                ))
            })?;
            capture_format = node.set_format(Queue::Capture, want, output_format.width, output_format.height, 0)?;
        }
        let layout = formats::layout_of(capture_format.fourcc)
            .ok_or_else(|| V4l2Error::Unsupported(format!("CAPTURE format {}", formats::name(capture_format.fourcc))))?;
        if capture_format.planes.is_empty() || capture_format.planes[0].bytesperline == 0 {
            return Err(V4l2Error::Unsupported("CAPTURE format without a pitch".into()));
        }
        log::debug!(
            "{video_path}: session {} {}x{} -> {} {}x{} {:?}",
            formats::name(output_format.fourcc),
            output_format.width,
            output_format.height,
            formats::name(capture_format.fourcc),
            capture_format.width,
            capture_format.height,
            capture_format.planes
        );
        let max_slots = setup.max_slots.clamp(1, 64);
        let s = Session {
            node,
            media,
            coded_fourcc: setup.coded_fourcc,
            output_format,
            capture_format,
            layout,
            max_slots,
            hold_capture: std::sync::atomic::AtomicBool::new(false),
            state: Mutex::new(State::default()),
        };
        {
            let mut st = s.state.lock();
            s.grow_slots(&mut st, INITIAL_SLOTS.min(max_slots as u32))?;
        }
        Ok(s)
    }

    /// Whether requests may keep the CAPTURE buffer for the next one.
    pub fn holds_capture(&self) -> bool {
        self.hold_capture.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn video_path(&self) -> &str {
        &self.node.path
    }

    fn grow_slots(&self, st: &mut State, n: u32) -> V4l2Result<()> {
        let (first, count) = if st.slots.is_empty() {
            let (count, caps) = self.node.request_buffers(Queue::Output, n)?;
            self.hold_capture.store(caps & k::V4L2_BUF_CAP_SUPPORTS_M2M_HOLD_CAPTURE_BUF != 0, std::sync::atomic::Ordering::Relaxed);
            (0, count)
        } else {
            self.node.create_buffers(Queue::Output, n)?
        };
        for index in first..first + count {
            let planes = self.node.query_buffer(Queue::Output, index)?;
            let p = planes.first().ok_or_else(|| V4l2Error::Unsupported("OUTPUT buffer without planes".into()))?;
            let map = Mapping::new(self.node.fd(), p.mem_offset, p.length as usize)?;
            let request = media::request_alloc(self.media.as_raw_fd())?;
            st.slots.push(OutputSlot { index, map, request, busy: false, needs_reinit: false });
        }
        #[cfg(feature = "bench-counters")]
        crate::v4l2::counters::buffers(st.slots.len(), st.capture.len());
        Ok(())
    }

    /// Allocates `n` CAPTURE buffers (reusing released ones first).
    pub fn alloc_capture(&self, n: usize) -> V4l2Result<Vec<u32>> {
        let mut st = self.state.lock();
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            if let Some(i) = st.free_capture.pop() {
                let cb = &mut st.capture[i as usize];
                cb.decoded = false;
                cb.error = false;
                out.push(i);
                continue;
            }
            let want = (n - out.len()) as u32;
            let (first, count) = if st.capture.is_empty() {
                match self.node.create_buffers(Queue::Capture, want) {
                    Ok(r) => r,
                    Err(_) => (0, self.node.request_buffers(Queue::Capture, want)?.0),
                }
            } else {
                self.node.create_buffers(Queue::Capture, want)?
            };
            if count == 0 {
                return Err(V4l2Error::Ioctl { name: "VIDIOC_CREATE_BUFS", errno: libc::ENOMEM });
            }
            for index in first..first + count {
                let planes = self.node.query_buffer(Queue::Capture, index)?;
                let idx = index as usize;
                if st.capture.len() <= idx {
                    st.capture.resize_with(idx + 1, CaptureBuf::default);
                }
                st.capture[idx].planes = planes;
                out.push(index);
            }
            #[cfg(feature = "bench-counters")]
            crate::v4l2::counters::buffers(st.slots.len(), st.capture.len());
        }
        Ok(out)
    }

    /// Gives a CAPTURE buffer back for reuse; waits for a decode into it.
    pub fn release_capture(&self, index: u32, timeout: Duration) {
        if let Err(e) = self.wait_reusable(index, timeout) {
            log::warn!("releasing CAPTURE buffer {index} still in use: {e}");
        }
        let mut st = self.state.lock();
        if let Some(cb) = st.capture.get_mut(index as usize) {
            cb.maps.clear();
            cb.dmabuf.clear();
            cb.decoded = false;
            if !st.free_capture.contains(&index) {
                st.free_capture.push(index);
            }
        }
    }

    /// Collects every finished OUTPUT and CAPTURE buffer without blocking.
    fn reap(&self, st: &mut State) -> V4l2Result<()> {
        // DQBUF on a queue that is not streaming is EINVAL.
        while st.out_streaming {
            let Some(d) = self.node.dequeue_buffer(Queue::Output)? else { break };
            if let Some(si) = st.slots.iter().position(|s| s.index == d.index) {
                if let Err(e) = media::request_reinit(&st.slots[si].request) {
                    log::error!("{e}");
                    st.slots[si].needs_reinit = true;
                }
                st.slots[si].busy = false;
                st.in_flight.retain(|f| f.slot != si);
            }
        }
        while st.cap_streaming {
            let Some(d) = self.node.dequeue_buffer(Queue::Capture)? else { break };
            if let Some(cb) = st.capture.get_mut(d.index as usize) {
                cb.queued = false;
                cb.decoded = true;
                cb.error = d.flags & k::V4L2_BUF_FLAG_ERROR != 0;
                if cb.error {
                    log::warn!("{}: CAPTURE buffer {} completed with V4L2_BUF_FLAG_ERROR", self.node.path, d.index);
                } else if std::mem::take(&mut cb.first_field) {
                    log::debug!("{}: first field decoded into CAPTURE buffer {} (timestamp {} ns)", self.node.path, d.index, d.timestamp_ns);
                } else {
                    // One line per picture (frame or field pair) the device
                    // decoded: tests count these
                    // (HANTRO_LOG=hantro_drv_video::decoded=info) to prove a
                    // client's pictures went through the hardware.
                    log::info!(target: "hantro_drv_video::decoded", "pid {}: {} decoded a picture into CAPTURE buffer {} (timestamp {} ns)", std::process::id(), self.node.path, d.index, d.timestamp_ns);
                }
            }
        }
        Ok(())
    }

    /// Non-blocking status of a CAPTURE buffer.
    pub fn status(&self, index: u32) -> V4l2Result<Completion> {
        let mut st = self.state.lock();
        self.reap(&mut st)?;
        let cb = st.capture.get(index as usize).ok_or_else(|| V4l2Error::Unsupported(format!("no CAPTURE buffer {index}")))?;
        Ok(if cb.queued { Completion::Pending } else { Completion::Idle { decoded: cb.decoded, error: cb.error } })
    }

    /// Waits until `pred` holds for the state, polling the request fd of the
    /// in-flight entry `pick` chooses. Never blocks longer than `timeout`.
    fn wait_until(
        &self,
        timeout: Duration,
        what: impl Fn() -> String,
        done: impl Fn(&State) -> bool,
        pick: impl Fn(&State) -> Option<usize>,
    ) -> V4l2Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            let fd = {
                let mut st = self.state.lock();
                self.reap(&mut st)?;
                if done(&st) {
                    return Ok(());
                }
                match pick(&st) {
                    Some(si) => st.slots[si].request.as_raw_fd(),
                    None => self.node.raw(),
                }
            };
            let now = Instant::now();
            if now >= deadline {
                let what = what();
                log::error!("{}: timed out after {:?} waiting for {what}", self.node.path, timeout);
                return Err(V4l2Error::Timeout(what));
            }
            let events = if fd == self.node.raw() { libc::POLLIN | libc::POLLOUT } else { libc::POLLPRI };
            poll_fd(fd, events, (deadline - now).min(Duration::from_millis(20)))?;
        }
    }

    /// Waits for the decode into CAPTURE buffer `index`.
    pub fn wait_capture(&self, index: u32, timeout: Duration) -> V4l2Result<Completion> {
        self.wait_until(
            timeout,
            || format!("CAPTURE buffer {index}"),
            |st| st.capture.get(index as usize).map_or(true, |c| !c.queued),
            |st| st.in_flight.iter().rev().find(|f| f.target == index).map(|f| f.slot),
        )?;
        self.status(index)
    }

    /// Waits until no request in flight writes or reads CAPTURE buffer `index`.
    pub fn wait_reusable(&self, index: u32, timeout: Duration) -> V4l2Result<()> {
        let uses = move |f: &InFlight| f.target == index || f.refs.contains(&index);
        self.wait_until(
            timeout,
            || format!("requests using CAPTURE buffer {index}"),
            move |st| !st.in_flight.iter().any(uses) && st.capture.get(index as usize).map_or(true, |c| !c.queued),
            move |st| st.in_flight.iter().rev().find(|f| uses(f)).map(|f| f.slot),
        )
    }

    /// Waits for every request in flight.
    pub fn drain(&self, timeout: Duration) -> V4l2Result<()> {
        self.wait_until(
            timeout,
            || "all requests".to_string(),
            |st| st.in_flight.is_empty() && st.capture.iter().all(|c| !c.queued),
            |st| st.in_flight.back().map(|f| f.slot),
        )
    }

    fn acquire_slot(&self, timeout: Duration) -> V4l2Result<usize> {
        let deadline = Instant::now() + timeout;
        loop {
            let fd = {
                let mut st = self.state.lock();
                self.reap(&mut st)?;
                let usable = |s: &mut OutputSlot| {
                    if s.busy {
                        return false;
                    }
                    if s.needs_reinit {
                        match media::request_reinit(&s.request) {
                            Ok(()) => s.needs_reinit = false,
                            Err(e) => {
                                log::warn!("OUTPUT slot {} still unusable: {e}", s.index);
                                return false;
                            }
                        }
                    }
                    true
                };
                if let Some(i) = st.slots.iter_mut().position(usable) {
                    st.slots[i].busy = true;
                    return Ok(i);
                }
                if st.slots.len() < self.max_slots {
                    let before = st.slots.len();
                    let grow = (self.max_slots - before).min(4) as u32;
                    match self.grow_slots(&mut st, grow) {
                        Ok(()) if st.slots.len() > before => {
                            st.slots[before].busy = true;
                            return Ok(before);
                        }
                        Ok(()) => {}
                        Err(e) => log::warn!("cannot grow the OUTPUT pool: {e}"),
                    }
                }
                match st.in_flight.front() {
                    Some(f) => st.slots[f.slot].request.as_raw_fd(),
                    None => return Err(V4l2Error::Unsupported("OUTPUT pool exhausted with nothing in flight".into())),
                }
            };
            let now = Instant::now();
            if now >= deadline {
                return Err(V4l2Error::Timeout("a free OUTPUT buffer".into()));
            }
            poll_fd(fd, libc::POLLPRI, (deadline - now).min(Duration::from_millis(20)))?;
        }
    }

    /// Queues one request: bitstream (concatenated pieces) and controls into
    /// a pool slot, the target CAPTURE buffer (unless `hold` continues a
    /// picture already queued), then MEDIA_REQUEST_IOC_QUEUE. Returns at once.
    pub fn submit(&self, sub: Submit<'_>, timeout: Duration) -> V4l2Result<()> {
        let si = self.acquire_slot(timeout)?;
        let mut st = self.state.lock();
        let r = self.submit_locked(&mut st, si, sub, timeout);
        if r.is_err() && !st.in_flight.iter().any(|f| f.slot == si) {
            let slot = &mut st.slots[si];
            slot.needs_reinit = media::request_reinit(&slot.request).is_err();
            slot.busy = false;
        }
        r
    }

    fn submit_locked(&self, st: &mut State, si: usize, sub: Submit<'_>, timeout: Duration) -> V4l2Result<()> {
        let total: usize = sub.bitstream.iter().map(|p| p.len()).sum();
        {
            let slot = &mut st.slots[si];
            if total > slot.map.len() {
                return Err(V4l2Error::Unsupported(format!("bitstream of {total} bytes exceeds the OUTPUT buffer ({} bytes)", slot.map.len())));
            }
            let dst = slot.map.as_mut_slice();
            let mut at = 0;
            for p in sub.bitstream {
                dst[at..at + p.len()].copy_from_slice(p);
                at += p.len();
            }
            #[cfg(feature = "bench-counters")]
            crate::v4l2::counters::add_bitstream(total);
        }
        let req = st.slots[si].request.as_raw_fd();
        self.node.set_controls(sub.controls, Some(req))?;
        let target = sub.target;
        if sub.queue_capture {
            let cb = st.capture.get(target as usize).ok_or_else(|| V4l2Error::Unsupported(format!("no CAPTURE buffer {target}")))?;
            if cb.queued {
                return Err(V4l2Error::Ioctl { name: "VIDIOC_QBUF", errno: libc::EBUSY });
            }
            let zeros = [0u32; super::device::MAX_PLANES];
            let n = cb.planes.len().clamp(1, zeros.len());
            self.node.queue_buffer(Queue::Capture, target, &zeros[..n], 0, None, 0)?;
            let cb = &mut st.capture[target as usize];
            cb.queued = true;
            cb.decoded = false;
            cb.error = false;
            cb.timestamp_ns = sub.timestamp_ns;
            cb.first_field = sub.first_field;
        }
        let flags = if sub.hold_capture { k::V4L2_BUF_FLAG_M2M_HOLD_CAPTURE_BUF } else { 0 };
        let index = st.slots[si].index;
        if let Err(e) = self.node.queue_buffer(Queue::Output, index, &[total as u32], sub.timestamp_ns, Some(req), flags) {
            if sub.queue_capture {
                // The CAPTURE buffer would receive the next job's picture:
                // take every CAPTURE buffer back, once the requests in
                // flight have finished into theirs (a STREAMOFF now would
                // steal their buffers, and their pictures would land in
                // whatever CAPTURE buffer is queued next).
                self.drain_locked(st, target, timeout);
                self.reset_capture(st);
            }
            return Err(e);
        }
        for q in [Queue::Output, Queue::Capture] {
            let on = if q == Queue::Output { &mut st.out_streaming } else { &mut st.cap_streaming };
            if *on {
                continue;
            }
            if let Err(e) = self.node.stream(q, true) {
                // Same as a failed OUTPUT QBUF: the queued CAPTURE buffer
                // has no job and would take the next picture.
                if sub.queue_capture {
                    self.drain_locked(st, target, timeout);
                    self.reset_capture(st);
                }
                return Err(e);
            }
            *on = true;
        }
        st.in_flight.push_back(InFlight { slot: si, target, refs: RefList::new(sub.refs) });
        #[cfg(feature = "bench-counters")]
        crate::v4l2::counters::request_queued(st.in_flight.len());
        if let Err(e) = media::request_queue(&st.slots[si].request) {
            log::error!("{e}");
            st.in_flight.pop_back();
            // The OUTPUT buffer is bound to a request that will never run.
            // Let the earlier requests finish before the queues are reset.
            self.drain_locked(st, target, timeout);
            self.reset_output(st);
            if sub.queue_capture {
                self.reset_capture(st);
            }
            return Err(e);
        }
        Ok(())
    }

    /// Error paths of a submission, with the state lock held: reaps until
    /// no request is in flight and no CAPTURE buffer but `except` is queued,
    /// or `timeout` passes.
    fn drain_locked(&self, st: &mut State, except: u32, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            if let Err(e) = self.reap(st) {
                log::error!("{e}");
                return;
            }
            let busy = st.capture.iter().enumerate().any(|(i, c)| c.queued && i as u32 != except);
            if st.in_flight.is_empty() && !busy {
                return;
            }
            let now = Instant::now();
            if now >= deadline {
                log::error!("{}: requests still in flight after {timeout:?} while recovering from a failed submission", self.node.path);
                return;
            }
            let (fd, events) = match st.in_flight.front() {
                Some(f) => (st.slots[f.slot].request.as_raw_fd(), libc::POLLPRI),
                None => (self.node.raw(), libc::POLLIN),
            };
            if poll_fd(fd, events, (deadline - now).min(Duration::from_millis(20))).is_err() {
                return;
            }
        }
    }

    fn reset_capture(&self, st: &mut State) {
        // STREAMOFF also when the queue never started streaming: it is what
        // returns buffers queued before STREAMON (a failed first picture).
        if st.cap_streaming || st.capture.iter().any(|c| c.queued) {
            if let Err(e) = self.node.stream(Queue::Capture, false) {
                log::error!("{e}");
            }
            st.cap_streaming = false;
        }
        for cb in st.capture.iter_mut().filter(|c| c.queued) {
            cb.queued = false;
            cb.error = true;
            cb.decoded = true;
        }
    }

    fn reset_output(&self, st: &mut State) {
        if st.out_streaming {
            if let Err(e) = self.node.stream(Queue::Output, false) {
                log::error!("{e}");
            }
            st.out_streaming = false;
        }
        for s in st.slots.iter_mut() {
            s.needs_reinit = media::request_reinit(&s.request).is_err();
            s.busy = false;
        }
        st.in_flight.clear();
    }

    /// Timestamp of the last decode into a CAPTURE buffer.
    pub fn timestamp_of(&self, index: u32) -> Option<u64> {
        let st = self.state.lock();
        st.capture.get(index as usize).filter(|c| c.decoded || c.queued).map(|c| c.timestamp_ns)
    }

    /// Picture planes (Y, CbCr) of a CAPTURE buffer: memory plane, offset, pitch.
    pub fn plane_layout(&self) -> [PlaneLayout; 2] {
        let f = &self.capture_format;
        let y_pitch = f.planes[0].bytesperline;
        if f.planes.len() >= 2 {
            [PlaneLayout { object: 0, offset: 0, pitch: y_pitch }, PlaneLayout { object: 1, offset: 0, pitch: f.planes[1].bytesperline }]
        } else {
            [PlaneLayout { object: 0, offset: 0, pitch: y_pitch }, PlaneLayout { object: 0, offset: y_pitch * f.height, pitch: y_pitch }]
        }
    }

    /// Sizes of the memory planes of CAPTURE buffer `index`.
    pub fn capture_sizes(&self, index: u32) -> Vec<u32> {
        let st = self.state.lock();
        st.capture.get(index as usize).map(|c| c.planes.iter().map(|p| p.length).collect()).unwrap_or_default()
    }

    fn ensure_exported(&self, cb: &mut CaptureBuf, index: u32) -> V4l2Result<()> {
        if cb.dmabuf.len() != cb.planes.len() {
            cb.dmabuf.clear();
            for p in 0..cb.planes.len() {
                cb.dmabuf.push(super::ioctl::logged(self.node.export_buffer(Queue::Capture, index, p as u32))?);
            }
        }
        Ok(())
    }

    fn ensure_mapped(&self, cb: &mut CaptureBuf) -> V4l2Result<()> {
        if cb.maps.len() != cb.planes.len() {
            cb.maps.clear();
            for p in &cb.planes {
                cb.maps.push(Mapping::new(self.node.fd(), p.mem_offset, p.length as usize)?);
            }
        }
        Ok(())
    }

    /// New dmabuf fds (one per memory plane) for CAPTURE buffer `index`;
    /// the caller owns them.
    pub fn export(&self, index: u32) -> V4l2Result<Vec<OwnedFd>> {
        let mut st = self.state.lock();
        let cb = st.capture.get_mut(index as usize).ok_or_else(|| V4l2Error::Unsupported(format!("no CAPTURE buffer {index}")))?;
        self.ensure_exported(cb, index)?;
        cb.dmabuf.iter().map(|fd| fd.try_clone().map_err(|e| V4l2Error::Sys { call: "dup", errno: e.raw_os_error().unwrap_or(libc::EIO) })).collect()
    }

    /// Runs `f` over the memory planes of CAPTURE buffer `index`, bracketed
    /// by DMA_BUF_IOCTL_SYNC. The buffer must not be queued.
    pub fn with_planes<R>(&self, index: u32, write: bool, f: impl FnOnce(&mut [&mut [u8]]) -> R) -> V4l2Result<R> {
        let mut st = self.state.lock();
        let cb = st.capture.get_mut(index as usize).ok_or_else(|| V4l2Error::Unsupported(format!("no CAPTURE buffer {index}")))?;
        if cb.queued {
            return Err(V4l2Error::Ioctl { name: "CPU access", errno: libc::EBUSY });
        }
        self.ensure_exported(cb, index)?;
        self.ensure_mapped(cb)?;
        let _sync: Vec<CpuAccess> = cb.dmabuf.iter().map(|fd| CpuAccess::begin(fd.as_raw_fd(), write)).collect::<V4l2Result<_>>()?;
        let mut slices: Vec<&mut [u8]> = cb.maps.iter_mut().map(|m| m.as_mut_slice()).collect();
        Ok(f(&mut slices))
    }

    /// Address of a persistent mapping of CAPTURE buffer `index` plane 0 (for
    /// vaDeriveImage) and its dmabuf fd for sync bracketing.
    pub fn persistent_map(&self, index: u32) -> V4l2Result<(*mut u8, usize, RawFd)> {
        let mut st = self.state.lock();
        let cb = st.capture.get_mut(index as usize).ok_or_else(|| V4l2Error::Unsupported(format!("no CAPTURE buffer {index}")))?;
        self.ensure_exported(cb, index)?;
        self.ensure_mapped(cb)?;
        // Planes come from the kernel's QUERYBUF: no indexing on them.
        match (cb.maps.first_mut(), cb.dmabuf.first()) {
            (Some(m), Some(fd)) => Ok((m.as_mut_ptr(), m.len(), fd.as_raw_fd())),
            _ => Err(V4l2Error::Unsupported(format!("CAPTURE buffer {index} has no planes"))),
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let st = self.state.get_mut();
        for (q, on) in [(Queue::Output, st.out_streaming), (Queue::Capture, st.cap_streaming)] {
            if on {
                if let Err(e) = self.node.stream(q, false) {
                    log::error!("{e}");
                }
            }
        }
        st.in_flight.clear();
        for cb in st.capture.iter_mut() {
            cb.maps.clear();
            cb.dmabuf.clear();
        }
        let had_capture = !st.capture.is_empty();
        st.capture.clear();
        st.slots.clear(); // unmaps OUTPUT buffers, closes request fds
        for q in [Queue::Output, Queue::Capture] {
            if q == Queue::Capture && !had_capture {
                continue;
            }
            if let Err(e) = self.node.request_buffers(q, 0) {
                log::debug!("freeing buffers on close: {e}");
            }
        }
        // the video and media fds close when their OwnedFds drop
    }
}

/// One request to queue.
pub struct Submit<'a> {
    pub target: u32,
    pub timestamp_ns: u64,
    pub bitstream: &'a [&'a [u8]],
    pub controls: &'a mut [k::v4l2_ext_control],
    /// More requests follow for this picture (slice-based decoding).
    pub hold_capture: bool,
    /// Queue the target CAPTURE buffer (first request of a picture).
    pub queue_capture: bool,
    /// With `queue_capture`: the picture is a first field whose second field
    /// follows in a later job into the same buffer (the device cannot hold
    /// it), so its dequeue is not yet a decoded picture.
    pub first_field: bool,
    /// CAPTURE buffers read as references.
    pub refs: &'a [u32],
}
