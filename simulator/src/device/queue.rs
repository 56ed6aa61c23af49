//! vb2-like queues: REQBUFS/CREATE_BUFS, QBUF/DQBUF, STREAMON/OFF,
//! v4l2_buffer fill, and the eventfd that mirrors the node's poll state.
use super::*;

pub(super) fn fill_buf(p: Personality, b: &mut v4l2_buffer, buf: &Buf, dq: bool) -> R<()> {
    if p.mplane() {
        // SAFETY: reading a union member of plain integers/pointers (every bit pattern is valid); the uAPI says the client filled this one (planes, for a *_MPLANE queue).
        copy_from_user(unsafe { b.m.planes } as *const u8, std::mem::size_of::<v4l2_plane>())?;
    }
    b.flags = buf.flags | V4L2_BUF_FLAG_TIMESTAMP_COPY;
    match buf.state {
        BufState::Queued | BufState::Active => b.flags |= V4L2_BUF_FLAG_QUEUED,
        BufState::Done => b.flags |= V4L2_BUF_FLAG_DONE,
        BufState::InRequest => b.flags |= V4L2_BUF_FLAG_IN_REQUEST,
        BufState::Dequeued => {}
    }
    if dq {
        b.flags |= buf.done_flags;
        if buf.request.is_some() {
            b.flags |= V4L2_BUF_FLAG_REQUEST_FD;
            b.__bindgen_anon_1.request_fd = buf.request_fd;
        }
    }
    b.field = v4l2_field_V4L2_FIELD_NONE;
    b.timestamp.tv_sec = buf.ts_sec;
    b.timestamp.tv_usec = buf.ts_usec;
    b.sequence = buf.sequence;
    b.memory = v4l2_memory_V4L2_MEMORY_MMAP;
    let pl = &buf.planes[0];
    if p.mplane() {
        // SAFETY: reading a union member of plain integers/pointers (every bit pattern is valid); the uAPI says the client filled this one (planes, for a *_MPLANE queue).
        if b.length < 1 || unsafe { b.m.planes.is_null() } {
            return Err(libc::EINVAL);
        }
        // SAFETY: b.m.planes is non-null (checked) and was proved readable by copy_from_user in the caller; the client passes it (length >= 1) for this call.
        let out = unsafe { &mut *b.m.planes };
        out.bytesused = buf.bytesused;
        out.length = pl.len as u32;
        out.m.mem_offset = pl.offset;
        out.data_offset = 0;
        b.length = 1;
    } else {
        b.bytesused = buf.bytesused;
        b.length = pl.len as u32;
        b.m.offset = pl.offset;
    }
    Ok(())
}

pub(super) fn video_revents(c: &Ctx) -> i16 {
    let mut r = if c.events.is_empty() { 0 } else { libc::POLLPRI };
    let oq = c.out_q.streaming && c.out_q.queued_count() > 0;
    let cq = c.cap_q.streaming && c.cap_q.queued_count() > 0;
    if !oq && !cq {
        return r | libc::POLLERR;
    }
    if !c.out_q.done.is_empty() {
        r |= libc::POLLOUT | libc::POLLWRNORM;
    }
    if !c.cap_q.done.is_empty() {
        r |= libc::POLLIN | libc::POLLRDNORM;
    }
    r
}

/// Keeps the context's eventfd readable exactly while the video fd has
/// poll events, so that poll/select/epoll on it wake up.
pub(super) fn sync_ready(st: &mut State, id: u32) {
    let Some(c) = st.ctxs.get_mut(&id) else { return };
    let ready = video_revents(c) != 0;
    if ready != c.ev_signalled {
        // SAFETY: a plain syscall on fds we own: the context's eventfd, with an 8-byte local counter; pointers passed are to live locals of the right size.
        unsafe {
            if ready {
                let one: u64 = 1;
                libc::write(c.evfd, &one as *const u64 as *const c_void, 8);
            } else {
                let mut v: u64 = 0;
                let fl = libc::fcntl(c.evfd, libc::F_GETFL);
                libc::fcntl(c.evfd, libc::F_SETFL, fl | libc::O_NONBLOCK);
                libc::read(c.evfd, &mut v as *mut u64 as *mut c_void, 8);
                libc::fcntl(c.evfd, libc::F_SETFL, fl);
            }
        }
        c.ev_signalled = ready;
    }
}

impl Sim {
    pub(super) fn queue_of<'a>(&self, c: &'a Ctx, ty: u32) -> R<&'a Queue> {
        let p = self.persona();
        if ty == p.out_type() {
            Ok(&c.out_q)
        } else if ty == p.cap_type() {
            Ok(&c.cap_q)
        } else {
            Err(libc::EINVAL)
        }
    }

    pub(super) fn reqbufs(&self, id: u32, ty: u32, memory: u32, count: &mut u32, create: bool) -> R<(u32, u32)> {
        let p = self.persona();
        let mut st = self.lock();
        let c = st.ctxs.get_mut(&id).unwrap();
        let is_out = ty == p.out_type();
        if !is_out && ty != p.cap_type() {
            return Err(libc::EINVAL);
        }
        let mut caps = V4L2_BUF_CAP_SUPPORTS_MMAP | V4L2_BUF_CAP_SUPPORTS_ORPHANED_BUFS;
        if is_out {
            caps |= V4L2_BUF_CAP_SUPPORTS_REQUESTS;
            if p == Personality::Cedrus {
                caps |= V4L2_BUF_CAP_SUPPORTS_M2M_HOLD_CAPTURE_BUF;
            }
        }
        if memory != v4l2_memory_V4L2_MEMORY_MMAP {
            return Err(libc::EINVAL);
        }
        let fmt = if is_out { c.out_fmt } else { c.cap_fmt };
        let q = if is_out { &mut c.out_q } else { &mut c.cap_q };
        if create && *count == 0 {
            return Ok((caps, q.bufs.len() as u32));
        }
        if q.streaming && !create {
            return Err(libc::EBUSY);
        }
        if !create {
            if q.bufs.iter().any(|b| matches!(b.state, BufState::Active)) {
                return Err(libc::EBUSY);
            }
            q.bufs.clear();
            q.ready.clear();
            q.done.clear();
            if !is_out {
                c.held_cap = None;
            }
            if *count == 0 {
                return Ok((caps, 0));
            }
        }
        let first = q.bufs.len() as u32;
        if first >= 32 {
            // vb2: a full queue answers CREATE_BUFS with ENOBUFS
            return Err(libc::ENOBUFS);
        }
        let n = (*count).clamp(1, 32 - first);
        if n == 0 {
            return Err(libc::ENOBUFS);
        }
        for i in first..first + n {
            let len = align(fmt.sizeimage as usize, 4096);
            let (memfd, ptr) = new_memfd(len)?;
            let offset = (if is_out { 0 } else { 1u32 << 30 }) + i * 8 * 4096;
            q.bufs.push(Buf {
                state: BufState::Dequeued,
                planes: vec![Plane { memfd, len, ptr, offset }],
                flags: 0,
                done_flags: 0,
                ts_sec: 0,
                ts_usec: 0,
                bytesused: 0,
                sequence: 0,
                request: None,
                request_fd: -1,
                has_picture: false,
            });
        }
        *count = n;
        Ok((caps, first))
    }

    pub(super) fn qbuf(self: &Arc<Self>, id: u32, b: &mut v4l2_buffer) -> R<c_int> {
        let p = self.persona();
        let mut st = self.lock();
        let is_out = b.type_ == p.out_type();
        if !is_out && b.type_ != p.cap_type() {
            return Err(libc::EINVAL);
        }
        if b.memory != v4l2_memory_V4L2_MEMORY_MMAP {
            return Err(libc::EINVAL);
        }
        let with_req = b.flags & V4L2_BUF_FLAG_REQUEST_FD != 0;
        // SAFETY: reading a union member of plain integers/pointers (every bit pattern is valid); the uAPI says the client filled this one (request_fd, with V4L2_BUF_FLAG_REQUEST_FD).
        let req_fd = unsafe { b.__bindgen_anon_1.request_fd };
        {
            let c = &st.ctxs[&id];
            let q = if is_out { &c.out_q } else { &c.cap_q };
            let buf = q.bufs.get(b.index as usize).ok_or(libc::EINVAL)?;
            if p.mplane() {
                // SAFETY: reading a union member of plain integers/pointers (every bit pattern is valid); the uAPI says the client filled this one (planes, for a *_MPLANE queue).
                let planes = unsafe { b.m.planes };
                if planes.is_null() || b.length < 1 {
                    return Err(libc::EINVAL);
                }
                copy_from_user(planes as *const u8, std::mem::size_of::<v4l2_plane>())?;
            }
            if buf.state != BufState::Dequeued {
                return Err(libc::EINVAL);
            }
            if !is_out && with_req {
                return Err(libc::EBADR);
            }
            if is_out && !with_req {
                return Err(libc::EBADR);
            }
        }
        let rid = if is_out {
            let rid = match st.files.get(&req_fd) {
                Some(FileKind::Request(r)) => *r,
                _ => return Err(libc::EINVAL),
            };
            let r = st.reqs.get(&rid).ok_or(libc::EINVAL)?;
            if r.state != ReqState::Idle {
                return Err(libc::EBUSY);
            }
            if r.out_buf.is_some() || (r.ctx.is_some() && r.ctx != Some(id)) {
                return Err(libc::EBUSY);
            }
            Some(rid)
        } else {
            None
        };
        let c = st.ctxs.get_mut(&id).unwrap();
        let q = if is_out { &mut c.out_q } else { &mut c.cap_q };
        let buf = &mut q.bufs[b.index as usize];
        // SAFETY: planes was checked non-null and readable (copy_from_user) above for *_MPLANE queues.
        let bytesused = if p.mplane() { unsafe { (*b.m.planes).bytesused } } else { b.bytesused };
        buf.bytesused = if bytesused == 0 { buf.planes[0].len as u32 } else { bytesused.min(buf.planes[0].len as u32) };
        let mut fl = b.flags & (V4L2_BUF_FLAG_KEYFRAME | V4L2_BUF_FLAG_PFRAME | V4L2_BUF_FLAG_BFRAME);
        if is_out && p == Personality::Cedrus {
            fl |= b.flags & V4L2_BUF_FLAG_M2M_HOLD_CAPTURE_BUF;
        }
        buf.flags = fl;
        if is_out {
            buf.ts_sec = b.timestamp.tv_sec;
            buf.ts_usec = b.timestamp.tv_usec;
        }
        if let Some(rid) = rid {
            buf.state = BufState::InRequest;
            buf.request = Some(rid);
            buf.request_fd = req_fd;
            let r = st.reqs.get_mut(&rid).unwrap();
            r.out_buf = Some(b.index);
            r.ctx = Some(id);
            b.flags |= V4L2_BUF_FLAG_IN_REQUEST;
        } else {
            buf.state = BufState::Queued;
            q.ready.push_back(b.index);
            b.flags |= V4L2_BUF_FLAG_QUEUED;
        }
        sync_ready(&mut st, id);
        drop(st);
        self.cv.notify_all();
        Ok(0)
    }

    pub(super) fn dqbuf(&self, id: u32, b: &mut v4l2_buffer, nonblock: bool) -> R<c_int> {
        let p = self.persona();
        let is_out = b.type_ == p.out_type();
        if !is_out && b.type_ != p.cap_type() {
            return Err(libc::EINVAL);
        }
        // SAFETY: reading a union member of plain integers/pointers (every bit pattern is valid); the uAPI says the client filled this one (planes, for a *_MPLANE queue).
        if p.mplane() && unsafe { b.m.planes.is_null() } {
            return Err(libc::EINVAL);
        }
        let mut st = self.lock();
        loop {
            let c = st.ctxs.get_mut(&id).ok_or(libc::EBADF)?;
            let q = if is_out { &mut c.out_q } else { &mut c.cap_q };
            if !q.streaming {
                return Err(libc::EINVAL);
            }
            if let Some(i) = q.done.pop_front() {
                let buf = &mut q.bufs[i as usize];
                buf.state = BufState::Dequeued;
                b.index = i;
                fill_buf(p, b, buf, true)?;
                buf.request = None;
                sync_ready(&mut st, id);
                return Ok(0);
            }
            if nonblock {
                return Err(libc::EAGAIN);
            }
            st = self.cv.wait(st).unwrap_or_else(|e| e.into_inner());
        }
    }

    pub(super) fn stream(self: &Arc<Self>, id: u32, ty: u32, on: bool) -> R<c_int> {
        let p = self.persona();
        let is_out = ty == p.out_type();
        if !is_out && ty != p.cap_type() {
            return Err(libc::EINVAL);
        }
        let mut st = self.lock();
        if on {
            let c = st.ctxs.get_mut(&id).unwrap();
            let q = if is_out { &mut c.out_q } else { &mut c.cap_q };
            if q.bufs.is_empty() {
                return Err(libc::EINVAL);
            }
            q.streaming = true;
        } else {
            // wait for a running job (like v4l2_m2m_cancel_job)
            while st.ctxs.get(&id).is_some_and(|c| c.busy && !c.hung) {
                st = self.cv.wait(st).unwrap_or_else(|e| e.into_inner());
            }
            let mut completed = Vec::new();
            let c = st.ctxs.get_mut(&id).unwrap();
            let q = if is_out { &mut c.out_q } else { &mut c.cap_q };
            q.streaming = false;
            q.ready.clear();
            q.done.clear();
            q.sequence = 0;
            for b in q.bufs.iter_mut() {
                if matches!(b.state, BufState::Queued | BufState::Done | BufState::Active) {
                    if let (true, Some(r)) = (is_out, b.request) {
                        completed.push(r);
                    }
                    b.state = BufState::Dequeued;
                    b.request = None;
                }
            }
            if !is_out {
                c.held_cap = None;
                if let Ok(mut e) = c.engine.lock() {
                    if e.model.has_pending() {
                        // drop the partially received picture
                        e.model.drop_pending();
                    }
                }
            }
            for r in completed {
                if let Some(r) = st.reqs.get_mut(&r) {
                    if r.state == ReqState::Queued {
                        r.state = ReqState::Complete;
                        signal_req(r);
                    }
                }
            }
        }
        sync_ready(&mut st, id);
        drop(st);
        self.cv.notify_all();
        Ok(0)
    }
}
