//! Media requests: QUEUE/REINIT on a request fd, completion signalling
//! (out-of-band byte = POLLPRI) and release of the request's OUTPUT buffer.
use super::*;

pub(super) fn signal_req(r: &Request) {
    // out-of-band byte: a real POLLPRI on the client's request fd
    let b = [1u8];
    // SAFETY: a plain syscall on fds we own: our end of the request's socket pair, one local byte; pointers passed are to live locals of the right size.
    unsafe { libc::send(r.peer, b.as_ptr() as *const c_void, 1, libc::MSG_OOB | libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL) };
}

pub(super) fn release_request_buf(st: &mut State, r: &Request) {
    if let (Some(c), Some(b)) = (r.ctx, r.out_buf) {
        if let Some(c) = st.ctxs.get_mut(&c) {
            if let Some(bb) = c.out_q.bufs.get_mut(b as usize) {
                if bb.state == BufState::InRequest {
                    bb.state = BufState::Dequeued;
                    bb.request = None;
                }
            }
        }
    }
}

impl Sim {
    pub(super) fn request_ioctl(self: &Arc<Self>, rid: u32, req: u64) -> R<c_int> {
        let mut st = self.lock();
        match req {
            MEDIA_REQUEST_IOC_QUEUE => {
                let p = self.persona();
                let r = st.reqs.get(&rid).ok_or(libc::EINVAL)?;
                if r.state != ReqState::Idle {
                    return Err(libc::EBUSY);
                }
                let Some(b) = r.out_buf else { return Err(libc::ENOENT) };
                let cid = r.ctx.ok_or(libc::ENOENT)?;
                // Like cedrus/hantro/rkvdec in 6.12 (cedrus dropped its
                // per-control check): only the buffer is mandatory; controls
                // not set in the request keep their previous values.
                let _ = p;
                let r = st.reqs.get_mut(&rid).unwrap();
                r.state = ReqState::Queued;
                let c = st.ctxs.get_mut(&cid).ok_or(libc::EINVAL)?;
                c.out_q.bufs[b as usize].state = BufState::Queued;
                c.out_q.ready.push_back(b);
                st.requests_queued += 1;
                sync_ready(&mut st, cid);
                drop(st);
                self.cv.notify_all();
                Ok(0)
            }
            MEDIA_REQUEST_IOC_REINIT => {
                let r = st.reqs.get(&rid).ok_or(libc::EINVAL)?;
                if r.state == ReqState::Queued {
                    return Err(libc::EBUSY);
                }
                let r = st.reqs.get_mut(&rid).unwrap();
                // a fresh socket pair on the same fd number clears POLLPRI
                let mut sv = [0; 2];
                // SAFETY: a plain syscall on fds we own (a new socket pair into a local [c_int; 2]); pointers passed are to live locals of the right size.
                if unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0, sv.as_mut_ptr()) } < 0 {
                    return Err(libc::ENOMEM);
                }
                if let Some(fd) = r.fd {
                    // SAFETY: a plain syscall on fds we own: the request fd number the client holds is atomically replaced by the fresh socket (dup3), then our temporary is closed; pointers passed are to live locals of the right size.
                    unsafe {
                        libc::dup3(sv[0], fd, libc::O_CLOEXEC);
                        libc::close(sv[0]);
                        libc::close(r.peer);
                    }
                    r.peer = sv[1];
                }
                r.state = ReqState::Idle;
                r.ctrls = CtrlValues::default();
                r.done_ctrls = CtrlValues::default();
                r.poison.clear();
                let (ctx, ob) = (r.ctx.take(), r.out_buf.take());
                if let (Some(c), Some(b)) = (ctx, ob) {
                    if let Some(c) = st.ctxs.get_mut(&c) {
                        if let Some(bb) = c.out_q.bufs.get_mut(b as usize) {
                            if bb.state == BufState::InRequest {
                                bb.state = BufState::Dequeued;
                            }
                        }
                    }
                }
                Ok(0)
            }
            _ => Err(libc::ENOTTY),
        }
    }
}
