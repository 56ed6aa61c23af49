//! The libc boundary of the device: which paths and fds are emulated,
//! open/close/dup/mmap/stat, and poll readiness of every emulated fd.
use super::*;

impl Sim {
    /// Whether `path` names one of the emulated device nodes.
    pub fn owns_path(&self, path: &str) -> bool {
        path == self.cfg.media_path || path == self.cfg.video_path || (!self.cfg.dri_path.is_empty() && path == self.cfg.dri_path)
    }

    /// (mode, rdev) of an emulated node path.
    pub fn node_stat(&self, path: &str) -> Option<(u32, u64)> {
        let dev = if path == self.cfg.media_path {
            libc::makedev(MEDIA_MAJOR, 0)
        } else if path == self.cfg.video_path {
            libc::makedev(VIDEO_MAJOR, self.cfg.video_minor())
        } else if !self.cfg.dri_path.is_empty() && path == self.cfg.dri_path {
            libc::makedev(DRI_MAJOR, 128)
        } else {
            return None;
        };
        Some((libc::S_IFCHR | 0o660, dev))
    }

    pub fn fd_stat(&self, fd: c_int) -> Option<(u32, u64)> {
        let k = *self.lock().files.get(&fd)?;
        match k {
            FileKind::Media => self.node_stat(&self.cfg.media_path.clone()),
            FileKind::Video(_) => self.node_stat(&self.cfg.video_path.clone()),
            FileKind::Dri => self.node_stat(&self.cfg.dri_path.clone()),
            _ => None,
        }
    }

    pub fn owns_fd(&self, fd: c_int) -> bool {
        self.lock().files.contains_key(&fd)
    }

    /// Opens an emulated node.  None: not ours.
    pub fn open(self: &Arc<Self>, path: &str, flags: c_int) -> Option<R<c_int>> {
        if !self.owns_path(path) {
            return None;
        }
        let mut efl = 0;
        if flags & libc::O_CLOEXEC != 0 {
            efl |= libc::EFD_CLOEXEC;
        }
        if flags & libc::O_NONBLOCK != 0 {
            efl |= libc::EFD_NONBLOCK;
        }
        // SAFETY: a plain syscall on fds we own (a new eventfd); pointers passed are to live locals of the right size.
        let fd = unsafe { libc::eventfd(0, efl) };
        if fd < 0 {
            return Some(Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EMFILE)));
        }
        let mut st = self.lock();
        let kind = if path == self.cfg.media_path {
            FileKind::Media
        } else if path == self.cfg.video_path {
            let id = st.next_id;
            st.next_id += 1;
            // SAFETY: a plain syscall on fds we own (dup of our eventfd); pointers passed are to live locals of the right size.
            let evfd = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
            let p = self.persona();
            let out_fmt = default_out_fmt(p);
            let cap_fmt = cap_fmt_for(p, p.cap_fourcc(), out_fmt.width, out_fmt.height);
            st.ctxs.insert(
                id,
                Ctx {
                    refs: 1,
                    evfd,
                    ev_signalled: false,
                    out_q: Queue::default(),
                    cap_q: Queue::default(),
                    out_fmt,
                    cap_fmt,
                    ctrls: ctrls::defaults(p),
                    engine: Arc::new(Mutex::new(CodecCtx::new(default_codec(p), p))),
                    held_cap: None,
                    events: VecDeque::new(),
                    subs: Vec::new(),
                    ev_seq: 0,
                    busy: false,
                    hung: false,
                    pic_errs: Vec::new(),
                },
            );
            FileKind::Video(id)
        } else {
            FileKind::Dri
        };
        insert_file(&mut st, fd, kind);
        if let FileKind::Video(id) = kind {
            st.prio.insert(fd, 2);
            sync_ready(&mut st, id);
        }
        drop(st);
        self.ensure_worker();
        Some(Ok(fd))
    }

    /// Called before the real close(); forgets the fd.
    pub fn close(&self, fd: c_int) -> bool {
        let mut st = self.lock();
        let Some(k) = remove_file(&mut st, fd) else { return false };
        st.prio.remove(&fd);
        match k {
            FileKind::Video(id) => {
                let drop_it = {
                    let c = st.ctxs.get_mut(&id).unwrap();
                    c.refs -= 1;
                    c.refs == 0
                };
                if drop_it {
                    // like v4l2_m2m_ctx_release(): wait for a running job,
                    // the worker writes into this context's buffers
                    while st.ctxs.get(&id).is_some_and(|c| c.busy && !c.hung) {
                        st = self.cv.wait(st).unwrap_or_else(|e| e.into_inner());
                    }
                    // (a hung job has already returned: nothing writes any more)
                    let c = st.ctxs.remove(&id).unwrap();
                    // SAFETY: a plain syscall on fds we own: the context's eventfd, closed once as its last reference goes; pointers passed are to live locals of the right size.
                    unsafe { libc::close(c.evfd) };
                    // requests bound to this context are orphaned
                    for r in st.reqs.values_mut() {
                        if r.ctx == Some(id) {
                            r.ctx = None;
                            r.out_buf = None;
                            if r.state == ReqState::Queued {
                                r.state = ReqState::Complete;
                                signal_req(r);
                            }
                        }
                    }
                }
            }
            FileKind::Request(rid) => {
                if let Some(r) = st.reqs.get_mut(&rid) {
                    r.fd = None;
                    if r.state != ReqState::Queued {
                        let r = st.reqs.remove(&rid).unwrap();
                        // SAFETY: a plain syscall on fds we own: our end of the request socket pair, closed once with the request; pointers passed are to live locals of the right size.
                        unsafe { libc::close(r.peer) };
                        release_request_buf(&mut st, &r);
                    }
                }
            }
            _ => {}
        }
        true
    }

    /// Records that `newfd` is a duplicate of `oldfd` (dup/dup2/fcntl).
    pub fn dup(&self, oldfd: c_int, newfd: c_int) {
        let mut st = self.lock();
        if let Some(k) = st.files.get(&oldfd).copied() {
            if let FileKind::Video(id) = k {
                st.ctxs.get_mut(&id).unwrap().refs += 1;
            }
            insert_file(&mut st, newfd, k);
        }
    }

    /// For mmap(fd, offset): the memfd backing that buffer plane.
    pub fn mmap_target(&self, fd: c_int, offset: i64) -> Option<R<c_int>> {
        let st = self.lock();
        let k = *st.files.get(&fd)?;
        let id = match k {
            FileKind::Video(id) => id,
            FileKind::Media | FileKind::Dri => return Some(Err(libc::ENODEV)),
            _ => return None, // exported buffers and request fds are real fds
        };
        let c = &st.ctxs[&id];
        for q in [&c.out_q, &c.cap_q] {
            for b in &q.bufs {
                for p in &b.planes {
                    if p.offset as i64 == offset {
                        return Some(Ok(p.memfd));
                    }
                }
            }
        }
        Some(Err(libc::EINVAL))
    }

    /// poll() support: revents for an emulated fd given requested events.
    pub fn revents(&self, fd: c_int, events: i16) -> Option<i16> {
        let st = self.lock();
        let k = *st.files.get(&fd)?;
        Some(match k {
            FileKind::Video(id) => video_revents(&st.ctxs[&id]) & (events | libc::POLLERR | libc::POLLHUP),
            FileKind::Request(rid) => {
                if events & libc::POLLPRI == 0 {
                    0
                } else {
                    match st.reqs.get(&rid).map(|r| r.state) {
                        Some(ReqState::Complete) => libc::POLLPRI,
                        Some(ReqState::Queued) => 0,
                        _ => libc::POLLERR,
                    }
                }
            }
            _ => 0,
        })
    }

    /// Which fds to hand to the real poll() for an emulated fd (the eventfd
    /// is readable exactly when the emulated fd has events).
    pub fn poll_events_for(&self, fd: c_int) -> Option<i16> {
        let st = self.lock();
        match st.files.get(&fd)? {
            FileKind::Video(_) => Some(libc::POLLIN), // the eventfd: readable while any event
            FileKind::Request(_) => Some(libc::POLLPRI),
            _ => Some(0),
        }
    }
}
