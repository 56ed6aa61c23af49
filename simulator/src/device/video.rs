//! The video node: the VIDIOC_* dispatch (capabilities, formats
//! enumeration, priorities, decoder commands) and event subscription.
use super::*;

impl Sim {
    pub(super) fn video_ioctl(self: &Arc<Self>, fd: c_int, id: u32, req: u64, arg: *mut c_void) -> R<c_int> {
        let p = self.persona();
        match req {
            VIDIOC_QUERYCAP => {
                // SAFETY: `arg` is non-null (ioctl_inner) and, by the contract of this ioctl number, points to the caller's v4l2_capability for the duration of the call, aligned and not aliased by us (a kernel handler gets the same promise via copy_from_user's size).
                let c = unsafe { &mut *(arg as *mut v4l2_capability) };
                *c = v4l2_capability::default();
                cstr_copy(&mut c.driver, p.driver());
                cstr_copy(&mut c.card, p.card());
                cstr_copy(&mut c.bus_info, p.bus_info());
                c.version = (6 << 16) | (12 << 8);
                let dc = if p.mplane() { V4L2_CAP_VIDEO_M2M_MPLANE } else { V4L2_CAP_VIDEO_M2M } | V4L2_CAP_STREAMING | V4L2_CAP_EXT_PIX_FORMAT;
                c.device_caps = dc;
                c.capabilities = dc | V4L2_CAP_DEVICE_CAPS;
                Ok(0)
            }
            VIDIOC_ENUM_FMT => {
                // SAFETY: `arg` is non-null (ioctl_inner) and, by the contract of this ioctl number, points to the caller's v4l2_fmtdesc for the duration of the call, aligned and not aliased by us (a kernel handler gets the same promise via copy_from_user's size).
                let f = unsafe { &mut *(arg as *mut v4l2_fmtdesc) };
                let (fourcc, desc, flags) = if f.type_ == p.out_type() {
                    let c = crate::codecs::offered(p).nth(f.index as usize).ok_or(libc::EINVAL)?;
                    (c.fourcc(), c.description(), V4L2_FMT_FLAG_COMPRESSED)
                } else if f.type_ == p.cap_type() {
                    if p.cap_fourcc() == PIX_FMT_NV12 {
                        (PIX_FMT_NV12, "Y/CbCr 4:2:0", 0)
                    } else {
                        (PIX_FMT_NV12_32L32, "Y/CbCr 4:2:0 (32x32 Linear)", 0)
                    }
                } else {
                    return Err(libc::EINVAL);
                };
                if f.index != 0 && f.type_ != p.out_type() {
                    return Err(libc::EINVAL);
                }
                f.pixelformat = fourcc;
                f.flags = flags;
                f.mbus_code = 0;
                f.reserved = [0; 3];
                cstr_copy(&mut f.description, desc);
                Ok(0)
            }
            VIDIOC_ENUM_FRAMESIZES => {
                // SAFETY: `arg` is non-null (ioctl_inner) and, by the contract of this ioctl number, points to the caller's v4l2_frmsizeenum for the duration of the call, aligned and not aliased by us (a kernel handler gets the same promise via copy_from_user's size).
                let f = unsafe { &mut *(arg as *mut v4l2_frmsizeenum) };
                if f.index != 0 || crate::codecs::by_fourcc(p, f.pixel_format).is_none() {
                    return Err(libc::EINVAL);
                }
                let (a, b, c, d, e, g) = p.frmsize();
                f.type_ = v4l2_frmsizetypes_V4L2_FRMSIZE_TYPE_STEPWISE;
                f.reserved = [0; 2];
                f.__bindgen_anon_1.stepwise = v4l2_frmsize_stepwise { min_width: a, max_width: b, step_width: c, min_height: d, max_height: e, step_height: g };
                Ok(0)
            }
            VIDIOC_G_FMT | VIDIOC_S_FMT | VIDIOC_TRY_FMT => {
                // SAFETY: `arg` is non-null (ioctl_inner) and, by the contract of this ioctl number, points to the caller's v4l2_format for the duration of the call, aligned and not aliased by us (a kernel handler gets the same promise via copy_from_user's size).
                let f = unsafe { &mut *(arg as *mut v4l2_format) };
                self.fmt_ioctl(id, req, f)
            }
            VIDIOC_REQBUFS => {
                // SAFETY: `arg` is non-null (ioctl_inner) and, by the contract of this ioctl number, points to the caller's v4l2_requestbuffers for the duration of the call, aligned and not aliased by us (a kernel handler gets the same promise via copy_from_user's size).
                let r = unsafe { &mut *(arg as *mut v4l2_requestbuffers) };
                r.flags = 0; // no V4L2_MEMORY_FLAG_NON_COHERENT support
                r.reserved = [0; 3];
                self.reqbufs(id, r.type_, r.memory, &mut r.count, false).map(|(caps, _)| {
                    r.capabilities = caps;
                    0
                })
            }
            VIDIOC_CREATE_BUFS => {
                // SAFETY: `arg` is non-null (ioctl_inner) and, by the contract of this ioctl number, points to the caller's v4l2_create_buffers for the duration of the call, aligned and not aliased by us (a kernel handler gets the same promise via copy_from_user's size).
                let r = unsafe { &mut *(arg as *mut v4l2_create_buffers) };
                let ty = r.format.type_;
                let (caps, first) = self.reqbufs(id, ty, r.memory, &mut r.count, true)?;
                r.capabilities = caps | BUF_CAP_SUPPORTS_MAX_NUM_BUFFERS;
                r.flags = 0;
                r.index = first;
                let mut f = r.format;
                let _ = self.fmt_ioctl(id, VIDIOC_G_FMT, &mut f);
                r.format = f;
                // max_num_buffers (6.8+) and the reserved words after it,
                // written by offset so older uAPI headers build too
                // SAFETY: `r` is the caller's v4l2_create_buffers (see above); flags + 4 .. + 28 lies inside it (the reserved words of the 6.12 layout), written unaligned by offset.
                unsafe {
                    let tail = (r as *mut v4l2_create_buffers as *mut u8).add(std::mem::offset_of!(v4l2_create_buffers, flags) + 4);
                    std::ptr::write_bytes(tail, 0, 24);
                    std::ptr::write_unaligned(tail as *mut u32, 32);
                }
                Ok(0)
            }
            VIDIOC_QUERYBUF => {
                // SAFETY: `arg` is non-null (ioctl_inner) and, by the contract of this ioctl number, points to the caller's v4l2_buffer for the duration of the call, aligned and not aliased by us (a kernel handler gets the same promise via copy_from_user's size).
                let b = unsafe { &mut *(arg as *mut v4l2_buffer) };
                let st = self.lock();
                let c = &st.ctxs[&id];
                let q = self.queue_of(c, b.type_)?;
                let buf = q.bufs.get(b.index as usize).ok_or(libc::EINVAL)?;
                fill_buf(p, b, buf, false)?;
                Ok(0)
            }
            VIDIOC_QBUF => {
                // SAFETY: `arg` is non-null (ioctl_inner) and, by the contract of this ioctl number, points to the caller's v4l2_buffer for the duration of the call, aligned and not aliased by us (a kernel handler gets the same promise via copy_from_user's size).
                let b = unsafe { &mut *(arg as *mut v4l2_buffer) };
                self.qbuf(id, b)
            }
            VIDIOC_DQBUF => {
                // SAFETY: `arg` is non-null (ioctl_inner) and, by the contract of this ioctl number, points to the caller's v4l2_buffer for the duration of the call, aligned and not aliased by us (a kernel handler gets the same promise via copy_from_user's size).
                let b = unsafe { &mut *(arg as *mut v4l2_buffer) };
                // SAFETY: a plain syscall on fds we own (F_GETFL of the caller's video fd); pointers passed are to live locals of the right size.
                let nonblock = unsafe { libc::fcntl(fd, libc::F_GETFL) } & libc::O_NONBLOCK != 0;
                self.dqbuf(id, b, nonblock)
            }
            VIDIOC_EXPBUF => {
                // SAFETY: `arg` is non-null (ioctl_inner) and, by the contract of this ioctl number, points to the caller's v4l2_exportbuffer for the duration of the call, aligned and not aliased by us (a kernel handler gets the same promise via copy_from_user's size).
                let e = unsafe { &mut *(arg as *mut v4l2_exportbuffer) };
                let mut st = self.lock();
                let c = &st.ctxs[&id];
                let q = self.queue_of(c, e.type_)?;
                let buf = q.bufs.get(e.index as usize).ok_or(libc::EINVAL)?;
                let pl = buf.planes.get(e.plane as usize).ok_or(libc::EINVAL)?;
                if e.flags & !(libc::O_CLOEXEC | libc::O_ACCMODE) as u32 != 0 {
                    return Err(libc::EINVAL);
                }
                let cmd = if e.flags & libc::O_CLOEXEC as u32 != 0 { libc::F_DUPFD_CLOEXEC } else { libc::F_DUPFD };
                // SAFETY: a plain syscall on fds we own (F_DUPFD of the plane's memfd); pointers passed are to live locals of the right size.
                let nfd = unsafe { libc::fcntl(pl.memfd, cmd, 0) };
                if nfd < 0 {
                    return Err(libc::EMFILE);
                }
                e.fd = nfd;
                insert_file(&mut st, nfd, FileKind::Export);
                Ok(0)
            }
            VIDIOC_STREAMON | VIDIOC_STREAMOFF => {
                // SAFETY: `arg` is non-null (ioctl_inner) and, by the contract of this ioctl number, points to the caller's u32 for the duration of the call, aligned and not aliased by us (a kernel handler gets the same promise via copy_from_user's size).
                let ty = unsafe { *(arg as *const u32) };
                self.stream(id, ty, req == VIDIOC_STREAMON)
            }
            VIDIOC_QUERYCTRL => {
                // SAFETY: `arg` is non-null (ioctl_inner) and, by the contract of this ioctl number, points to the caller's v4l2_queryctrl for the duration of the call, aligned and not aliased by us (a kernel handler gets the same promise via copy_from_user's size).
                let q = unsafe { &mut *(arg as *mut v4l2_queryctrl) };
                let mut e = v4l2_query_ext_ctrl { id: q.id, ..Default::default() };
                self.query_ext_ctrl(&mut e)?;
                q.id = e.id;
                q.type_ = e.type_;
                // SAFETY: viewing the 32 c_char of the name as u8 (same size and alignment).
                let name = unsafe { std::slice::from_raw_parts(e.name.as_ptr() as *const u8, 32) };
                q.name.copy_from_slice(name);
                q.minimum = e.minimum as i32;
                q.maximum = e.maximum as i32;
                q.step = e.step as i32;
                q.default_value = e.default_value as i32;
                q.flags = e.flags;
                Ok(0)
            }
            VIDIOC_QUERY_EXT_CTRL => {
                // SAFETY: `arg` is non-null (ioctl_inner) and, by the contract of this ioctl number, points to the caller's v4l2_query_ext_ctrl for the duration of the call, aligned and not aliased by us (a kernel handler gets the same promise via copy_from_user's size).
                let q = unsafe { &mut *(arg as *mut v4l2_query_ext_ctrl) };
                self.query_ext_ctrl(q)
            }
            VIDIOC_QUERYMENU => {
                // SAFETY: `arg` is non-null (ioctl_inner) and, by the contract of this ioctl number, points to the caller's v4l2_querymenu for the duration of the call, aligned and not aliased by us (a kernel handler gets the same promise via copy_from_user's size).
                let q = unsafe { &mut *(arg as *mut v4l2_querymenu) };
                let d = ctrls::ctrl_defs(p).into_iter().find(|d| d.id == q.id).ok_or(libc::EINVAL)?;
                match d.kind {
                    Kind::Menu { min, max, skip, names, .. } => {
                        let i = q.index as i64;
                        if i < min || i > max || skip & (1 << i) != 0 || i as usize >= names.len() {
                            return Err(libc::EINVAL);
                        }
                        let mut n = [0u8; 32];
                        cstr_copy(&mut n, names[i as usize]);
                        q.__bindgen_anon_1.name = n;
                        q.reserved = 0;
                        Ok(0)
                    }
                    _ => Err(libc::EINVAL),
                }
            }
            VIDIOC_G_CTRL | VIDIOC_S_CTRL => {
                // SAFETY: `arg` is non-null (ioctl_inner) and, by the contract of this ioctl number, points to the caller's v4l2_control for the duration of the call, aligned and not aliased by us (a kernel handler gets the same promise via copy_from_user's size).
                let c = unsafe { &mut *(arg as *mut v4l2_control) };
                let d = ctrls::ctrl_defs(p).into_iter().find(|d| d.id == c.id).ok_or(libc::EINVAL)?;
                if matches!(d.kind, Kind::Class) {
                    return Err(libc::EACCES);
                }
                let Kind::Menu { min, max, skip, .. } = d.kind else { return Err(libc::EINVAL) };
                let mut st = self.lock();
                let cx = st.ctxs.get_mut(&id).unwrap();
                if req == VIDIOC_G_CTRL {
                    c.value = cx.ctrls.menu(c.id).unwrap_or(0);
                } else {
                    let v = c.value as i64;
                    if v < min || v > max {
                        return Err(libc::ERANGE);
                    }
                    if skip & (1 << v) != 0 {
                        return Err(libc::EINVAL);
                    }
                    cx.ctrls.set(c.id, c.value.to_ne_bytes().to_vec());
                }
                Ok(0)
            }
            VIDIOC_G_EXT_CTRLS | VIDIOC_S_EXT_CTRLS | VIDIOC_TRY_EXT_CTRLS => {
                // SAFETY: `arg` is non-null (ioctl_inner) and, by the contract of this ioctl number, points to the caller's v4l2_ext_controls for the duration of the call, aligned and not aliased by us (a kernel handler gets the same promise via copy_from_user's size).
                let c = unsafe { &mut *(arg as *mut v4l2_ext_controls) };
                self.ext_ctrls(id, req, c)
            }
            VIDIOC_SUBSCRIBE_EVENT | VIDIOC_UNSUBSCRIBE_EVENT => {
                // SAFETY: `arg` is non-null (ioctl_inner) and, by the contract of this ioctl number, points to the caller's v4l2_event_subscription for the duration of the call, aligned and not aliased by us (a kernel handler gets the same promise via copy_from_user's size).
                let sub = unsafe { &mut *(arg as *mut v4l2_event_subscription) };
                self.subscribe(id, req == VIDIOC_SUBSCRIBE_EVENT, sub)
            }
            VIDIOC_DQEVENT => {
                // SAFETY: `arg` is non-null (ioctl_inner) and, by the contract of this ioctl number, points to the caller's v4l2_event for the duration of the call, aligned and not aliased by us (a kernel handler gets the same promise via copy_from_user's size).
                let ev = unsafe { &mut *(arg as *mut v4l2_event) };
                let mut st = self.lock();
                let c = st.ctxs.get_mut(&id).unwrap();
                let Some(mut e) = c.events.pop_front() else { return Err(libc::ENOENT) };
                e.pending = c.events.len() as u32;
                *ev = e;
                sync_ready(&mut st, id);
                Ok(0)
            }
            VIDIOC_G_PRIORITY => {
                let st = self.lock();
                let max = st.prio.values().copied().max().unwrap_or(2);
                // SAFETY: `arg` is non-null (ioctl_inner) and, by the contract of this ioctl number, points to the caller's u32 for the duration of the call, aligned and not aliased by us (a kernel handler gets the same promise via copy_from_user's size).
                unsafe { *(arg as *mut u32) = max };
                Ok(0)
            }
            VIDIOC_S_PRIORITY => {
                // SAFETY: `arg` is non-null (ioctl_inner) and, by the contract of this ioctl number, points to the caller's u32 for the duration of the call, aligned and not aliased by us (a kernel handler gets the same promise via copy_from_user's size).
                let v = unsafe { *(arg as *const u32) };
                if !(1..=3).contains(&v) {
                    return Err(libc::EINVAL);
                }
                let mut st = self.lock();
                // v4l2_prio_check: another handle holds a higher priority
                let own = st.prio.get(&fd).copied().unwrap_or(2);
                let other = st.prio.iter().filter(|(f, _)| **f != fd).map(|(_, v)| *v).max().unwrap_or(0);
                if other > own {
                    return Err(libc::EBUSY);
                }
                st.prio.insert(fd, v);
                Ok(0)
            }
            VIDIOC_DECODER_CMD | VIDIOC_TRY_DECODER_CMD => {
                // V4L2_DEC_CMD_FLUSH, only with HOLD_CAPTURE_BUF support (cedrus)
                // SAFETY: `arg` is non-null (ioctl_inner) and, by the contract of this ioctl number, points to the caller's v4l2_decoder_cmd for the duration of the call, aligned and not aliased by us (a kernel handler gets the same promise via copy_from_user's size).
                let c = unsafe { &mut *(arg as *mut v4l2_decoder_cmd) };
                if p != Personality::Cedrus {
                    return Err(libc::ENOTTY);
                }
                if c.cmd != V4L2_DEC_CMD_FLUSH {
                    return Err(libc::EINVAL);
                }
                c.flags = 0;
                if req == VIDIOC_DECODER_CMD {
                    let mut st = self.lock();
                    if let Some(cx) = st.ctxs.get_mut(&id) {
                        // release a held CAPTURE buffer if no job is running
                        if !cx.busy {
                            if let Some(h) = cx.held_cap.take() {
                                let hb = &mut cx.cap_q.bufs[h as usize];
                                hb.state = BufState::Done;
                                hb.has_picture = true;
                                cx.cap_q.done.push_back(h);
                            }
                        }
                    }
                    sync_ready(&mut st, id);
                    drop(st);
                    self.cv.notify_all();
                }
                Ok(0)
            }
            _ => Err(libc::ENOTTY),
        }
    }

    pub(super) fn subscribe(&self, id: u32, on: bool, sub: &mut v4l2_event_subscription) -> R<c_int> {
        let p = self.persona();
        let mut st = self.lock();
        let c = st.ctxs.get_mut(&id).unwrap();
        sub.reserved = [0; 5];
        if !on {
            if sub.type_ == V4L2_EVENT_ALL {
                c.subs.clear();
            } else {
                c.subs.retain(|s| *s != (sub.type_, sub.id));
            }
            return Ok(0);
        }
        if sub.type_ != V4L2_EVENT_CTRL {
            return Err(libc::EINVAL);
        }
        let d = ctrls::ctrl_defs(p).into_iter().find(|d| d.id == sub.id).ok_or(libc::EINVAL)?;
        if c.subs.contains(&(sub.type_, sub.id)) {
            return Ok(0);
        }
        c.subs.push((sub.type_, sub.id));
        if sub.flags & V4L2_EVENT_SUB_FL_SEND_INITIAL != 0 && !matches!(d.kind, Kind::Class) {
            let mut e = v4l2_event { type_: V4L2_EVENT_CTRL, id: sub.id, sequence: c.ev_seq, ..Default::default() };
            c.ev_seq += 1;
            // SAFETY: timespec is plain integers; all-zero is valid.
            let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
            // SAFETY: clock_gettime writes one local timespec.
            unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
            e.timestamp.tv_sec = ts.tv_sec;
            e.timestamp.tv_nsec = ts.tv_nsec;
            let mut ce = v4l2_event_ctrl { changes: V4L2_EVENT_CTRL_CH_VALUE | V4L2_EVENT_CTRL_CH_FLAGS, ..Default::default() };
            match d.kind {
                Kind::Menu { min, max, def, .. } => {
                    ce.type_ = v4l2_ctrl_type_V4L2_CTRL_TYPE_MENU;
                    ce.__bindgen_anon_1.value = c.ctrls.menu(sub.id).unwrap_or(def as i32);
                    ce.minimum = min as i32;
                    ce.maximum = max as i32;
                    ce.step = 1;
                    ce.default_value = def as i32;
                }
                Kind::Compound { ty, .. } => {
                    ce.type_ = ty;
                    ce.flags = V4L2_CTRL_FLAG_HAS_PAYLOAD;
                }
                Kind::Array { ty, .. } => {
                    ce.type_ = ty;
                    ce.flags = V4L2_CTRL_FLAG_HAS_PAYLOAD | V4L2_CTRL_FLAG_DYNAMIC_ARRAY;
                }
                Kind::Class => {}
            }
            e.u.ctrl = ce;
            c.events.push_back(e);
        }
        sync_ready(&mut st, id);
        Ok(0)
    }
}
