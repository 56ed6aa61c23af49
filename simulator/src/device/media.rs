//! The media node: MEDIA_IOC_DEVICE_INFO, topology (entities, pads,
//! links, interface), legacy ENUM_ENTITIES/LINKS, REQUEST_ALLOC.
use super::*;

impl Sim {
    pub(super) fn media_ioctl(self: &Arc<Self>, req: u64, arg: *mut c_void) -> R<c_int> {
        let p = self.persona();
        match req {
            MEDIA_IOC_DEVICE_INFO => {
                // SAFETY: `arg` is non-null (ioctl_inner) and, by the contract of this ioctl number, points to the caller's media_device_info for the duration of the call, aligned and not aliased by us (a kernel handler gets the same promise via copy_from_user's size).
                let i = unsafe { &mut *(arg as *mut media_device_info) };
                *i = media_device_info::default();
                cstr_copy_c(&mut i.driver, p.driver());
                cstr_copy_c(&mut i.model, p.driver());
                cstr_copy_c(&mut i.bus_info, p.bus_info());
                i.media_version = (6 << 16) | (12 << 8);
                i.driver_version = (6 << 16) | (12 << 8);
                Ok(0)
            }
            MEDIA_IOC_G_TOPOLOGY => {
                // SAFETY: `arg` is non-null (ioctl_inner) and, by the contract of this ioctl number, points to the caller's media_v2_topology for the duration of the call, aligned and not aliased by us (a kernel handler gets the same promise via copy_from_user's size).
                let t = unsafe { &mut *(arg as *mut media_v2_topology) };
                t.reserved1 = 0;
                t.reserved2 = 0;
                t.reserved3 = 0;
                t.reserved4 = 0;
                self.topology(t)
            }
            MEDIA_IOC_ENUM_ENTITIES => {
                // legacy API: entities 1 (source), 2 (proc), 3 (sink)
                // SAFETY: `arg` is non-null (ioctl_inner) and, by the contract of this ioctl number, points to the caller's media_entity_desc for the duration of the call, aligned and not aliased by us (a kernel handler gets the same promise via copy_from_user's size).
                let e = unsafe { &mut *(arg as *mut media_entity_desc) };
                let want = e.id & !MEDIA_ENT_ID_FLAG_NEXT;
                let id = if e.id & MEDIA_ENT_ID_FLAG_NEXT != 0 { want + 1 } else { want };
                if !(1..=3).contains(&id) {
                    return Err(libc::EINVAL);
                }
                let names = [format!("{}-source", p.driver()), format!("{}-proc", p.driver()), format!("{}-sink", p.driver())];
                let mut d = media_entity_desc { id, ..Default::default() };
                cstr_copy_c(&mut d.name, &names[id as usize - 1]);
                d.type_ = if id == 2 { MEDIA_ENT_F_PROC_VIDEO_DECODER } else { MEDIA_ENT_F_IO_V4L };
                d.pads = if id == 2 { 2 } else { 1 };
                d.links = if id == 3 { 0 } else { 1 };
                if id == 1 {
                    d.__bindgen_anon_1.dev.major = VIDEO_MAJOR;
                    d.__bindgen_anon_1.dev.minor = self.cfg.video_minor();
                }
                *e = d;
                Ok(0)
            }
            MEDIA_IOC_ENUM_LINKS => {
                // SAFETY: `arg` is non-null (ioctl_inner) and, by the contract of this ioctl number, points to the caller's media_links_enum for the duration of the call, aligned and not aliased by us (a kernel handler gets the same promise via copy_from_user's size).
                let l = unsafe { &mut *(arg as *mut media_links_enum) };
                let ent = l.entity;
                if !(1..=3).contains(&ent) {
                    return Err(libc::EINVAL);
                }
                l.reserved = [0; 4];
                let pad = |e: u32, i: u16, f: u32| media_pad_desc { entity: e, index: i, flags: f, ..Default::default() };
                let pads: Vec<media_pad_desc> = match ent {
                    1 => vec![pad(1, 0, MEDIA_PAD_FL_SOURCE)],
                    2 => vec![pad(2, 0, MEDIA_PAD_FL_SINK), pad(2, 1, MEDIA_PAD_FL_SOURCE)],
                    _ => vec![pad(3, 0, MEDIA_PAD_FL_SINK)],
                };
                let fl = MEDIA_LNK_FL_ENABLED | MEDIA_LNK_FL_IMMUTABLE;
                let links: Vec<media_link_desc> = match ent {
                    1 => vec![media_link_desc { source: pad(1, 0, MEDIA_PAD_FL_SOURCE), sink: pad(2, 0, MEDIA_PAD_FL_SINK), flags: fl, ..Default::default() }],
                    2 => vec![media_link_desc { source: pad(2, 1, MEDIA_PAD_FL_SOURCE), sink: pad(3, 0, MEDIA_PAD_FL_SINK), flags: fl, ..Default::default() }],
                    _ => vec![],
                };
                if !l.pads.is_null() {
                    copy_to_user(l.pads as *mut u8, as_bytes(&pads))?;
                }
                if !l.links.is_null() {
                    copy_to_user(l.links as *mut u8, as_bytes(&links))?;
                }
                Ok(0)
            }
            MEDIA_IOC_REQUEST_ALLOC => {
                let mut sv = [0; 2];
                // SAFETY: a plain syscall on fds we own (a new socket pair into a local [c_int; 2]); pointers passed are to live locals of the right size.
                if unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0, sv.as_mut_ptr()) } < 0 {
                    return Err(libc::ENOMEM);
                }
                let mut st = self.lock();
                let id = st.next_id;
                st.next_id += 1;
                st.reqs.insert(
                    id,
                    Request {
                        fd: Some(sv[0]),
                        peer: sv[1],
                        state: ReqState::Idle,
                        ctx: None,
                        out_buf: None,
                        ctrls: CtrlValues::default(),
                        done_ctrls: CtrlValues::default(),
                        poison: Vec::new(),
                    },
                );
                insert_file(&mut st, sv[0], FileKind::Request(id));
                // SAFETY: `arg` is non-null (ioctl_inner) and, by the contract of this ioctl number, points to the caller's int (the request fd out-parameter) for the duration of the call, aligned and not aliased by us (a kernel handler gets the same promise via copy_from_user's size).
                unsafe { *(arg as *mut i32) = sv[0] };
                Ok(0)
            }
            _ => Err(libc::ENOTTY),
        }
    }

    pub(super) fn topology(&self, t: &mut media_v2_topology) -> R<c_int> {
        let p = self.persona();
        // gobj ids: type << 24 | serial (media_gobj_gen_id)
        let ent = |n: u32| n;
        let pad = |n: u32| (1 << 24) | n;
        let link = |n: u32| (2 << 24) | n;
        let intf = |n: u32| (3 << 24) | n;
        let names = [format!("{}-source", p.driver()), format!("{}-proc", p.driver()), format!("{}-sink", p.driver())];
        let funcs = [MEDIA_ENT_F_IO_V4L, MEDIA_ENT_F_PROC_VIDEO_DECODER, MEDIA_ENT_F_IO_V4L];
        let mut ents = Vec::new();
        for i in 0..3 {
            let mut e = media_v2_entity { id: ent(i as u32 + 1), function: funcs[i], ..Default::default() };
            cstr_copy_c(&mut e.name, &names[i]);
            ents.push(e);
        }
        // pads: source entity pad0 (SOURCE), proc pad0 SINK pad1 SOURCE, sink entity pad0 SINK
        let pads = vec![
            media_v2_pad { id: pad(4), entity_id: 1, flags: MEDIA_PAD_FL_SOURCE, index: 0, ..Default::default() },
            media_v2_pad { id: pad(5), entity_id: 2, flags: MEDIA_PAD_FL_SINK, index: 0, ..Default::default() },
            media_v2_pad { id: pad(6), entity_id: 2, flags: MEDIA_PAD_FL_SOURCE, index: 1, ..Default::default() },
            media_v2_pad { id: pad(7), entity_id: 3, flags: MEDIA_PAD_FL_SINK, index: 0, ..Default::default() },
        ];
        let mut itf = media_v2_interface { id: intf(10), intf_type: MEDIA_INTF_T_V4L_VIDEO, ..Default::default() };
        itf.__bindgen_anon_1.devnode = media_v2_intf_devnode { major: VIDEO_MAJOR, minor: self.cfg.video_minor() };
        let data = MEDIA_LNK_FL_ENABLED | MEDIA_LNK_FL_IMMUTABLE | MEDIA_LNK_FL_DATA_LINK;
        let il = MEDIA_LNK_FL_ENABLED | MEDIA_LNK_FL_IMMUTABLE | MEDIA_LNK_FL_INTERFACE_LINK;
        let links = vec![
            media_v2_link { id: link(8), source_id: pad(4), sink_id: pad(5), flags: data, ..Default::default() },
            media_v2_link { id: link(9), source_id: pad(6), sink_id: pad(7), flags: data, ..Default::default() },
            media_v2_link { id: link(11), source_id: intf(10), sink_id: ent(1), flags: il, ..Default::default() },
            media_v2_link { id: link(12), source_id: intf(10), sink_id: ent(3), flags: il, ..Default::default() },
        ];
        t.topology_version = 1;
        unsafe fn fill<T: Copy>(ptr: u64, num: u32, v: &[T]) -> R<u32> {
            if ptr != 0 {
                if (num as usize) < v.len() {
                    return Err(libc::ENOSPC);
                }
                copy_to_user(ptr as *mut u8, as_bytes(v))?;
            }
            Ok(v.len() as u32)
        }
        // SAFETY: `fill` only writes through the client's array pointers with copy_to_user (EFAULT, no crash, on a bad pointer); `t` is the caller's media_v2_topology as above.
        unsafe {
            t.num_entities = fill(t.ptr_entities, t.num_entities, &ents)?;
            t.num_interfaces = fill(t.ptr_interfaces, t.num_interfaces, &[itf])?;
            t.num_pads = fill(t.ptr_pads, t.num_pads, &pads)?;
            t.num_links = fill(t.ptr_links, t.num_links, &links)?;
        }
        Ok(0)
    }
}
