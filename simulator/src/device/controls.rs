//! The control core: QUERY_EXT_CTRL/QUERYMENU, G/S/TRY_EXT_CTRLS on the
//! file handle and on requests, over the definitions the codecs provide.
use super::*;

impl Sim {
    pub(super) fn query_ext_ctrl(&self, q: &mut v4l2_query_ext_ctrl) -> R<c_int> {
        let p = self.persona();
        let defs = ctrls::ctrl_defs(p);
        let next_ctrl = q.id & V4L2_CTRL_FLAG_NEXT_CTRL != 0;
        let next_comp = q.id & V4L2_CTRL_FLAG_NEXT_COMPOUND != 0;
        let base = q.id & !(V4L2_CTRL_FLAG_NEXT_CTRL | V4L2_CTRL_FLAG_NEXT_COMPOUND);
        let d = if next_ctrl || next_comp {
            defs.into_iter()
                .filter(|d| d.id > base)
                .find(|d| {
                    let comp = matches!(d.kind, Kind::Compound { .. } | Kind::Array { .. });
                    (comp && next_comp) || (!comp && next_ctrl)
                })
                .ok_or(libc::EINVAL)?
        } else {
            defs.into_iter().find(|d| d.id == base).ok_or(libc::EINVAL)?
        };
        *q = v4l2_query_ext_ctrl { id: d.id, ..Default::default() };
        cstr_copy_c(&mut q.name, d.name);
        match d.kind {
            Kind::Menu { min, max, skip: _, def, .. } => {
                q.type_ = v4l2_ctrl_type_V4L2_CTRL_TYPE_MENU;
                q.minimum = min;
                q.maximum = max;
                q.step = 1;
                q.default_value = def;
                q.elem_size = 4;
                q.elems = 1;
                if min == max {
                    // fixed by the hardware, still settable to its one value
                }
            }
            Kind::Class => {
                q.type_ = v4l2_ctrl_type_V4L2_CTRL_TYPE_CTRL_CLASS;
                q.flags = V4L2_CTRL_FLAG_READ_ONLY | V4L2_CTRL_FLAG_WRITE_ONLY;
            }
            Kind::Compound { ty, size } => {
                q.type_ = ty;
                q.flags = V4L2_CTRL_FLAG_HAS_PAYLOAD;
                q.elem_size = size as u32;
                q.elems = 1;
            }
            Kind::Array { ty, elem, max } => {
                q.type_ = ty;
                q.flags = V4L2_CTRL_FLAG_HAS_PAYLOAD | V4L2_CTRL_FLAG_DYNAMIC_ARRAY;
                q.elem_size = elem as u32;
                q.elems = 1;
                q.nr_of_dims = 1;
                q.dims[0] = max as u32;
            }
        }
        Ok(0)
    }

    pub(super) fn ext_ctrls(&self, id: u32, req: u64, c: &mut v4l2_ext_controls) -> R<c_int> {
        let p = self.persona();
        let defs = ctrls::ctrl_defs(p);
        // SAFETY: reading a union member of plain integers/pointers (every bit pattern is valid); the uAPI says the client filled this one (which/ctrl_class share a u32).
        let which = unsafe { c.__bindgen_anon_1.which };
        let count = c.count as usize;
        if count > 1024 {
            return Err(libc::EINVAL);
        }
        if count > 0 {
            copy_from_user(c.controls as *const u8, count * std::mem::size_of::<v4l2_ext_control>())?;
        }
        // SAFETY: c.controls points to `count` v4l2_ext_control (copy_from_user above proved the whole array readable); the client's array is ours for the call.
        let arr: &mut [v4l2_ext_control] = if count == 0 { &mut [] } else { unsafe { std::slice::from_raw_parts_mut(c.controls, count) } };
        let is_req = which == V4L2_CTRL_WHICH_REQUEST_VAL;
        let mut st = self.lock();
        let rid = if is_req {
            match st.files.get(&c.request_fd) {
                Some(FileKind::Request(r)) => Some(*r),
                _ => {
                    c.error_idx = count as u32;
                    return Err(libc::EINVAL);
                }
            }
        } else {
            None
        };
        // validate ids and sizes first (error_idx = count for S/TRY
        // validation errors that happen before anything is applied)
        let mut vals = Vec::with_capacity(count);
        for (i, x) in arr.iter_mut().enumerate() {
            let vidx = if req == VIDIOC_TRY_EXT_CTRLS { i as u32 } else { count as u32 };
            let Some(d) = defs.iter().find(|d| d.id == x.id) else {
                c.error_idx = vidx;
                return Err(libc::EINVAL);
            };
            if matches!(d.kind, Kind::Class) {
                c.error_idx = vidx;
                return Err(libc::EACCES);
            }
            // legacy ctrl_class must match the control's class
            if which != 0 && which < V4L2_CTRL_WHICH_DEF_VAL && (x.id & 0x0fff_0000) != which {
                c.error_idx = vidx;
                return Err(libc::EINVAL);
            }
            if let Kind::Compound { size, .. } = d.kind {
                if (x.size as usize) < size {
                    x.size = size as u32;
                    c.error_idx = i as u32;
                    return Err(libc::ENOSPC);
                }
                if req != VIDIOC_G_EXT_CTRLS {
                    // SAFETY: reading a union member of plain integers/pointers (every bit pattern is valid); the uAPI says the client filled this one (ptr, for a compound control).
                    let ptr = unsafe { x.__bindgen_anon_1.ptr } as *const u8;
                    let data = copy_from_user(ptr, size)?;
                    if let Err(e) = ctrls::validate(p, x.id, &data) {
                        self.log(&format!("S/TRY_EXT_CTRLS: {e} -> EINVAL"));
                        c.error_idx = i as u32;
                        return Err(libc::EINVAL);
                    }
                    vals.push((x.id, data));
                }
            } else if let Kind::Array { elem, max, .. } = d.kind {
                if req != VIDIOC_G_EXT_CTRLS {
                    // a dynamic array takes size / elem elements (1..=max)
                    let (size, cid) = (x.size as usize, x.id);
                    if size == 0 || size % elem != 0 || size / elem > max {
                        self.log(&format!("S/TRY_EXT_CTRLS: {cid:#x}: {size} bytes is not 1..={max} elements of {elem} -> EINVAL"));
                        c.error_idx = i as u32;
                        return Err(libc::EINVAL);
                    }
                    // SAFETY: reading a union member of plain integers/pointers (every bit pattern is valid); the uAPI says the client filled this one (ptr, for an array control).
                    let ptr = unsafe { x.__bindgen_anon_1.ptr } as *const u8;
                    let data = copy_from_user(ptr, size)?;
                    if let Err(e) = ctrls::validate(p, x.id, &data) {
                        self.log(&format!("S/TRY_EXT_CTRLS: {e} -> EINVAL"));
                        c.error_idx = i as u32;
                        return Err(libc::EINVAL);
                    }
                    vals.push((x.id, data));
                }
            } else if let Kind::Menu { min, max, skip, .. } = d.kind {
                if req != VIDIOC_G_EXT_CTRLS {
                    // SAFETY: reading a union member of plain integers/pointers (every bit pattern is valid); the uAPI says the client filled this one (value, for a menu/integer control).
                    let v = unsafe { x.__bindgen_anon_1.value } as i64;
                    if v < min || v > max {
                        c.error_idx = i as u32;
                        return Err(libc::ERANGE);
                    }
                    if skip & (1 << v.clamp(0, 63)) != 0 {
                        c.error_idx = i as u32;
                        return Err(libc::EINVAL);
                    }
                    vals.push((x.id, (v as i32).to_ne_bytes().to_vec()));
                }
            }
        }
        match req {
            VIDIOC_G_EXT_CTRLS => {
                let src = if let Some(rid) = rid {
                    let r = &st.reqs[&rid];
                    if r.state != ReqState::Complete {
                        return Err(libc::EACCES);
                    }
                    r.done_ctrls.clone()
                } else if which == V4L2_CTRL_WHICH_DEF_VAL {
                    ctrls::defaults(p)
                } else {
                    st.ctxs[&id].ctrls.clone()
                };
                let dflt = ctrls::defaults(p);
                for x in arr.iter_mut() {
                    let v = src.get(x.id).or(dflt.get(x.id)).unwrap_or(&[]);
                    let d = defs.iter().find(|d| d.id == x.id).unwrap();
                    match d.kind {
                        Kind::Class => {}
                        Kind::Menu { .. } => x.__bindgen_anon_1.value = i32::from_ne_bytes([v[0], v[1], v[2], v[3]]),
                        Kind::Compound { size, .. } => {
                            // SAFETY: reading a union member of plain integers/pointers (every bit pattern is valid); the uAPI says the client filled this one (ptr, for a compound control; copy_to_user checks it).
                            copy_to_user(unsafe { x.__bindgen_anon_1.ptr } as *mut u8, &v[..size.min(v.len())])?
                        }
                        Kind::Array { .. } => {
                            if (x.size as usize) < v.len() {
                                x.size = v.len() as u32;
                                return Err(libc::ENOSPC);
                            }
                            x.size = v.len() as u32;
                            // SAFETY: as above (ptr of an array control; copy_to_user checks it).
                            copy_to_user(unsafe { x.__bindgen_anon_1.ptr } as *mut u8, v)?
                        }
                    }
                }
                Ok(0)
            }
            VIDIOC_TRY_EXT_CTRLS => {
                if which == V4L2_CTRL_WHICH_DEF_VAL {
                    return Err(libc::EINVAL);
                }
                Ok(0)
            }
            _ => {
                if which == V4L2_CTRL_WHICH_DEF_VAL {
                    return Err(libc::EINVAL);
                }
                if let Some(rid) = rid {
                    let r = st.reqs.get_mut(&rid).unwrap();
                    if r.state != ReqState::Idle {
                        return Err(libc::EBUSY);
                    }
                    if r.ctx.is_some() && r.ctx != Some(id) {
                        return Err(libc::EBUSY);
                    }
                    r.ctx = Some(id);
                    for (k, v) in vals {
                        r.ctrls.set(k, v);
                    }
                } else {
                    let cx = st.ctxs.get_mut(&id).unwrap();
                    for (k, v) in vals {
                        cx.ctrls.set(k, v);
                    }
                }
                Ok(0)
            }
        }
    }
}
