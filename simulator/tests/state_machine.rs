//! The ioctl state machine through the Rust entry points (the same ones the
//! LD_PRELOAD hooks call), no LD_PRELOAD needed: errnos of wrong call
//! orders, request life cycle, poll semantics and fault injection.
use hantro_sim::client::{self, Options};
use hantro_sim::ctrls::Personality;
use hantro_sim::device::{ioctl_by_name, Config, Sim};
use hantro_sim::uapi::*;
use libc::c_void;
use std::sync::Arc;

fn io<T>(s: &Arc<Sim>, fd: i32, req: u64, a: &mut T) -> Result<i32, i32> {
    s.ioctl(fd, req, a as *mut T as *mut c_void).expect("emulated fd")
}

struct Dev {
    s: Arc<Sim>,
    v: i32,
    m: i32,
    p: Personality,
}

fn open(p: Personality, tag: &str, tweak: impl FnOnce(&mut Config)) -> Dev {
    let mut cfg = Config::for_test(p, tag);
    tweak(&mut cfg);
    let s = Sim::new(cfg);
    let v = s.open(&s.cfg.video_path.clone(), libc::O_RDWR | libc::O_NONBLOCK).unwrap().unwrap();
    let m = s.open(&s.cfg.media_path.clone(), libc::O_RDWR).unwrap().unwrap();
    Dev { s, v, m, p }
}

impl Dev {
    fn set_out_fmt(&self, w: u32, h: u32) -> Result<i32, i32> {
        let mut f = v4l2_format { type_: self.p.out_type(), ..Default::default() };
        // writing a union field is safe
        if self.p.mplane() {
            f.fmt.pix_mp.width = w;
            f.fmt.pix_mp.height = h;
            f.fmt.pix_mp.pixelformat = PIX_FMT_H264_SLICE;
        } else {
            f.fmt.pix.width = w;
            f.fmt.pix.height = h;
            f.fmt.pix.pixelformat = PIX_FMT_H264_SLICE;
        }
        io(&self.s, self.v, VIDIOC_S_FMT, &mut f)
    }
    fn reqbufs(&self, ty: u32, n: u32) -> Result<i32, i32> {
        let mut r = v4l2_requestbuffers { count: n, type_: ty, memory: v4l2_memory_V4L2_MEMORY_MMAP, ..Default::default() };
        io(&self.s, self.v, VIDIOC_REQBUFS, &mut r)
    }
    fn qbuf(&self, ty: u32, i: u32, req: Option<i32>) -> Result<i32, i32> {
        let mut pl = v4l2_plane { bytesused: 8, ..Default::default() };
        let mut b = v4l2_buffer { index: i, type_: ty, memory: v4l2_memory_V4L2_MEMORY_MMAP, ..Default::default() };
        if self.p.mplane() {
            b.m.planes = &mut pl;
            b.length = 1;
        } else {
            b.bytesused = 8;
        }
        if let Some(r) = req {
            b.flags = V4L2_BUF_FLAG_REQUEST_FD;
            b.__bindgen_anon_1.request_fd = r;
        }
        io(&self.s, self.v, VIDIOC_QBUF, &mut b)
    }
    fn dqbuf(&self, ty: u32) -> Result<v4l2_buffer, i32> {
        let mut pl = v4l2_plane::default();
        let mut b = v4l2_buffer { type_: ty, memory: v4l2_memory_V4L2_MEMORY_MMAP, ..Default::default() };
        if self.p.mplane() {
            b.m.planes = &mut pl;
            b.length = 1;
        }
        io(&self.s, self.v, VIDIOC_DQBUF, &mut b).map(|_| b)
    }
    fn stream(&self, ty: u32, on: bool) -> Result<i32, i32> {
        let mut t = ty;
        io(&self.s, self.v, if on { VIDIOC_STREAMON } else { VIDIOC_STREAMOFF }, &mut t)
    }
    fn req_alloc(&self) -> i32 {
        let mut fd = -1;
        io(&self.s, self.m, MEDIA_IOC_REQUEST_ALLOC, &mut fd).unwrap();
        fd
    }
    fn req(&self, fd: i32, op: u64) -> Result<i32, i32> {
        self.s.ioctl(fd, op, std::ptr::null_mut()).unwrap()
    }
}

#[test]
fn format_and_buffer_errnos() {
    for p in [Personality::HantroG1, Personality::Rkvdec, Personality::Cedrus] {
        let d = open(p, &format!("fmt-{p:?}"), |_| {});
        d.set_out_fmt(176, 144).unwrap();
        let mut cf = v4l2_format { type_: p.cap_type(), ..Default::default() };
        io(&d.s, d.v, VIDIOC_G_FMT, &mut cf).unwrap();
        let (w, fourcc) = unsafe {
            if p.mplane() {
                (cf.fmt.pix_mp.width, cf.fmt.pix_mp.pixelformat)
            } else {
                (cf.fmt.pix.width, cf.fmt.pix.pixelformat)
            }
        };
        assert!(w >= 176);
        assert_eq!(fourcc, p.cap_fourcc());
        // wrong buffer type for this personality
        let wrong = if p.mplane() { v4l2_buf_type_V4L2_BUF_TYPE_VIDEO_OUTPUT } else { v4l2_buf_type_V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE };
        let mut f = v4l2_format { type_: wrong, ..Default::default() };
        assert_eq!(io(&d.s, d.v, VIDIOC_G_FMT, &mut f), Err(libc::EINVAL));
        d.reqbufs(p.cap_type(), 4).unwrap();
        assert_eq!(io(&d.s, d.v, VIDIOC_S_FMT, &mut cf), Err(libc::EBUSY), "S_FMT CAPTURE with buffers");
        assert_eq!(d.set_out_fmt(352, 288), Err(libc::EBUSY), "resolution change with CAPTURE buffers");
        d.reqbufs(p.out_type(), 2).unwrap();
        assert_eq!(d.set_out_fmt(176, 144), Err(libc::EBUSY), "S_FMT OUTPUT with OUTPUT buffers");
        let mut r = v4l2_requestbuffers { count: 2, type_: p.cap_type(), memory: v4l2_memory_V4L2_MEMORY_USERPTR, ..Default::default() };
        assert_eq!(io(&d.s, d.v, VIDIOC_REQBUFS, &mut r), Err(libc::EINVAL), "USERPTR unsupported");
        d.qbuf(p.cap_type(), 0, None).unwrap();
        assert_eq!(d.qbuf(p.cap_type(), 0, None), Err(libc::EINVAL), "QBUF of a queued buffer");
        assert_eq!(d.qbuf(p.cap_type(), 9, None), Err(libc::EINVAL), "index out of range");
        assert_eq!(d.qbuf(p.out_type(), 0, None), Err(libc::EBADR), "OUTPUT requires requests");
        let rq = d.req_alloc();
        assert_eq!(d.qbuf(p.cap_type(), 1, Some(rq)), Err(libc::EBADR), "CAPTURE does not take requests");
        assert_eq!(d.dqbuf(p.cap_type()).err(), Some(libc::EINVAL), "DQBUF while not streaming");
        assert_eq!(d.stream(p.cap_type(), true), Ok(0));
        assert_eq!(d.reqbufs(p.cap_type(), 4), Err(libc::EBUSY), "REQBUFS while streaming");
        assert_eq!(d.dqbuf(p.cap_type()).err(), Some(libc::EAGAIN), "non-blocking DQBUF");
        // unknown ioctl
        let mut x = 0u32;
        assert_eq!(io(&d.s, d.v, 0xdead, &mut x), Err(libc::ENOTTY));
        assert_eq!(io(&d.s, d.m, VIDIOC_QUERYCAP, &mut x), Err(libc::ENOTTY), "V4L2 ioctl on the media node");
        d.stream(p.cap_type(), false).unwrap();
        d.reqbufs(p.cap_type(), 0).unwrap();
    }
}

#[test]
fn request_life_cycle() {
    let p = Personality::HantroG1;
    let d = open(p, "req", |_| {});
    d.set_out_fmt(176, 144).unwrap();
    d.reqbufs(p.out_type(), 2).unwrap();
    d.reqbufs(p.cap_type(), 2).unwrap();
    let rq = d.req_alloc();
    assert_eq!(d.s.revents(rq, libc::POLLPRI), Some(libc::POLLERR), "idle request polls POLLERR");
    assert_eq!(d.req(rq, MEDIA_REQUEST_IOC_QUEUE), Err(libc::ENOENT), "no buffer in request");
    d.qbuf(p.out_type(), 0, Some(rq)).unwrap();
    assert_eq!(d.qbuf(p.out_type(), 1, Some(rq)), Err(libc::EBUSY), "second OUTPUT buffer in one request");
    d.req(rq, MEDIA_REQUEST_IOC_QUEUE).unwrap();
    assert_eq!(d.req(rq, MEDIA_REQUEST_IOC_QUEUE), Err(libc::EBUSY), "queued twice");
    assert_eq!(d.req(rq, MEDIA_REQUEST_IOC_REINIT), Err(libc::EBUSY), "reinit while queued");
    // controls cannot be added to a queued request
    let mut dp = v4l2_ctrl_h264_decode_params::default();
    let mut c = v4l2_ext_control { id: CID_H264_DECODE_PARAMS, size: std::mem::size_of_val(&dp) as u32, ..Default::default() };
    c.__bindgen_anon_1.ptr = &mut dp as *mut _ as *mut c_void;
    let mut ec = v4l2_ext_controls { count: 1, controls: &mut c, request_fd: rq, ..Default::default() };
    ec.__bindgen_anon_1.which = V4L2_CTRL_WHICH_REQUEST_VAL;
    assert_eq!(io(&d.s, d.v, VIDIOC_S_EXT_CTRLS, &mut ec), Err(libc::EBUSY));
    assert_eq!(io(&d.s, d.v, VIDIOC_G_EXT_CTRLS, &mut ec), Err(libc::EACCES), "G_EXT_CTRLS of an incomplete request");
    // nothing runs until both queues stream and a CAPTURE buffer is queued
    assert_eq!(d.s.revents(rq, libc::POLLPRI), Some(0));
    d.stream(p.out_type(), true).unwrap();
    d.stream(p.cap_type(), true).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(50));
    assert_eq!(d.s.revents(rq, libc::POLLPRI), Some(0), "no CAPTURE buffer yet");
    d.qbuf(p.cap_type(), 0, None).unwrap();
    let mut pfd = libc::pollfd { fd: rq, events: libc::POLLPRI, revents: 0 };
    assert_eq!(unsafe { libc::poll(&mut pfd, 1, 2000) }, 1, "request fd becomes POLLPRI (real fd)");
    assert_eq!(d.s.revents(rq, libc::POLLPRI), Some(libc::POLLPRI));
    let ob = d.dqbuf(p.out_type()).unwrap();
    assert!(ob.flags & V4L2_BUF_FLAG_REQUEST_FD != 0);
    let cb = d.dqbuf(p.cap_type()).unwrap();
    assert!(cb.flags & V4L2_BUF_FLAG_ERROR != 0, "garbage bitstream, no controls -> ERROR");
    assert_eq!(io(&d.s, d.v, VIDIOC_G_EXT_CTRLS, &mut ec), Ok(0), "completed request controls are readable");
    d.req(rq, MEDIA_REQUEST_IOC_REINIT).unwrap();
    assert_eq!(d.s.revents(rq, libc::POLLPRI), Some(libc::POLLERR));
    pfd.revents = 0;
    assert_eq!(unsafe { libc::poll(&mut pfd, 1, 0) }, 0, "REINIT clears the real POLLPRI");
    // closing a queued request's fd still lets it complete
    let rq2 = d.req_alloc();
    d.qbuf(p.out_type(), 1, Some(rq2)).unwrap();
    d.req(rq2, MEDIA_REQUEST_IOC_QUEUE).unwrap();
    d.s.close(rq2);
    unsafe { libc::close(rq2) };
    d.qbuf(p.cap_type(), 1, None).unwrap();
    let mut ok = false;
    for _ in 0..200 {
        if d.dqbuf(p.cap_type()).is_ok() {
            ok = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert!(ok);
}

#[test]
fn media_topology() {
    let d = open(Personality::Rkvdec, "topo", |_| {});
    let mut t = media_v2_topology::default();
    io(&d.s, d.m, MEDIA_IOC_G_TOPOLOGY, &mut t).unwrap();
    assert_eq!((t.num_entities, t.num_interfaces, t.num_pads, t.num_links), (3, 1, 4, 4));
    let mut ents = [media_v2_entity::default(); 3];
    let mut itf = [media_v2_interface::default(); 1];
    t.ptr_entities = ents.as_mut_ptr() as u64;
    t.ptr_interfaces = itf.as_mut_ptr() as u64;
    io(&d.s, d.m, MEDIA_IOC_G_TOPOLOGY, &mut t).unwrap();
    assert_eq!(
        ents.iter()
            .filter(|e| {
                let f = e.function;
                f == MEDIA_ENT_F_PROC_VIDEO_DECODER
            })
            .count(),
        1
    );
    let ty = itf[0].intf_type;
    assert_eq!(ty, MEDIA_INTF_T_V4L_VIDEO);
    let dn = unsafe { itf[0].__bindgen_anon_1.devnode };
    assert_eq!((dn.major, dn.minor), (81, 0));
    assert_eq!(d.s.fd_stat(d.v).map(|s| s.1), Some(libc::makedev(81, 0)));
    t.num_entities = 1;
    assert_eq!(io(&d.s, d.m, MEDIA_IOC_G_TOPOLOGY, &mut t), Err(libc::ENOSPC));
}

#[test]
fn controls_and_menus() {
    for (p, mode, sc, has_slice) in [(Personality::HantroG1, 1, 1, false), (Personality::Cedrus, 0, 0, true)] {
        let d = open(p, &format!("ctl-{p:?}"), |_| {});
        let mut q = v4l2_query_ext_ctrl { id: CID_H264_DECODE_MODE, ..Default::default() };
        io(&d.s, d.v, VIDIOC_QUERY_EXT_CTRL, &mut q).unwrap();
        assert_eq!((q.minimum, q.maximum, q.default_value), (mode, mode, mode));
        let mut q = v4l2_query_ext_ctrl { id: CID_H264_START_CODE, ..Default::default() };
        io(&d.s, d.v, VIDIOC_QUERY_EXT_CTRL, &mut q).unwrap();
        assert_eq!((q.minimum, q.maximum), (sc, sc));
        let mut q = v4l2_query_ext_ctrl { id: CID_H264_SLICE_PARAMS, ..Default::default() };
        assert_eq!(io(&d.s, d.v, VIDIOC_QUERY_EXT_CTRL, &mut q).is_ok(), has_slice);
        let mut m = v4l2_querymenu { id: CID_MPEG_H264_PROFILE, index: 3, ..Default::default() };
        assert_eq!(io(&d.s, d.v, VIDIOC_QUERYMENU, &mut m), Err(libc::EINVAL), "Extended profile is skipped");
        m.index = 4;
        io(&d.s, d.v, VIDIOC_QUERYMENU, &mut m).unwrap();
        // enumerate compound controls
        let mut ids = Vec::new();
        let mut q = v4l2_query_ext_ctrl { id: V4L2_CTRL_FLAG_NEXT_COMPOUND, ..Default::default() };
        while io(&d.s, d.v, VIDIOC_QUERY_EXT_CTRL, &mut q).is_ok() {
            ids.push(q.id);
            q.id |= V4L2_CTRL_FLAG_NEXT_COMPOUND;
        }
        assert!(ids.contains(&CID_H264_SPS) && ids.contains(&CID_H264_DECODE_PARAMS));
        // invalid values
        let mut sps = v4l2_ctrl_h264_sps { chroma_format_idc: 3, ..Default::default() };
        let mut c = v4l2_ext_control { id: CID_H264_SPS, size: std::mem::size_of_val(&sps) as u32, ..Default::default() };
        c.__bindgen_anon_1.ptr = &mut sps as *mut _ as *mut c_void;
        let mut ec = v4l2_ext_controls { count: 1, controls: &mut c, ..Default::default() };
        assert_eq!(io(&d.s, d.v, VIDIOC_S_EXT_CTRLS, &mut ec), Err(libc::EINVAL), "4:4:4 rejected");
        c.size = 4;
        assert_eq!(io(&d.s, d.v, VIDIOC_S_EXT_CTRLS, &mut ec), Err(libc::ENOSPC));
        assert_eq!(c.size as usize, std::mem::size_of_val(&sps));
        let mut mc = v4l2_ext_control { id: CID_H264_DECODE_MODE, ..Default::default() };
        mc.__bindgen_anon_1.value = 1 - mode as i32;
        let mut ec = v4l2_ext_controls { count: 1, controls: &mut mc, ..Default::default() };
        assert_eq!(io(&d.s, d.v, VIDIOC_S_EXT_CTRLS, &mut ec), Err(libc::ERANGE), "unsupported decode mode");
    }
}

#[test]
fn fault_injection() {
    let data = gen();
    // ERROR flag on frame 2
    let s = Sim::new({
        let mut c = Config::for_test(Personality::HantroG1, "fi-err");
        c.error_frame = Some(2);
        c
    });
    let frames = client::run(&s, &data, &Options::default()).unwrap();
    let errs: Vec<usize> = frames.iter().filter(|f| f.error).map(|f| f.decode_index).collect();
    assert_eq!(errs, vec![2]);
    // EBUSY on the 3rd QBUF
    let s = Sim::new({
        let mut c = Config::for_test(Personality::HantroG1, "fi-busy");
        c.fail_ioctl = vec![(ioctl_by_name("VIDIOC_QBUF").unwrap(), 3, libc::EBUSY)];
        c
    });
    let e = client::run(&s, &data, &Options::default()).unwrap_err();
    assert!(e.contains("errno 16"), "{e}");
    // a request that never completes
    let s = Sim::new({
        let mut c = Config::for_test(Personality::HantroG1, "fi-hang");
        c.hang_frame = Some(1);
        c
    });
    let t = std::time::Instant::now();
    let e = client::run(&s, &data, &Options::default()).unwrap_err();
    assert!(e.contains("did not complete"), "{e}");
    assert!(t.elapsed().as_secs() >= 4);
}

#[test]
fn decode_time_and_skip_pixels() {
    let data = gen();
    let s = Sim::new({
        let mut c = Config::for_test(Personality::Rkvdec, "timing");
        c.decode_us = 20_000;
        c.skip_pixels = true;
        c
    });
    let t = std::time::Instant::now();
    let frames = client::run(&s, &data, &Options::default()).unwrap();
    let el = t.elapsed();
    assert_eq!(frames.len(), 10);
    assert!(el.as_millis() >= 200, "10 frames x 20 ms simulated decode, took {el:?}");
    assert!(s.log_lines.lock().unwrap().is_empty(), "controls are still checked in skip-pixels mode");
}

/// A 10-frame x264 stream (B-frames) for the tests that decode: ffmpeg with
/// libx264 is required, a missing encoder fails the test (never a skip).
fn gen() -> Vec<u8> {
    gen_with("ffmpeg")
}

fn gen_with(ffmpeg: &str) -> Vec<u8> {
    // one file per call: tests run in parallel threads of one process
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let out = std::env::temp_dir().join(format!("hantro-sim-sm-{}-{n}.h264", std::process::id()));
    const NEED: &str = "these tests need ffmpeg with libx264 (Debian: apt-get install ffmpeg; scripts/setup-host.sh installs it)";
    let o = std::process::Command::new(ffmpeg)
        .args(["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=176x144:rate=25", "-frames:v", "10", "-c:v", "libx264", "-bf", "2"])
        .arg(&out)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {ffmpeg}: {e}; {NEED}"));
    assert!(o.status.success(), "{ffmpeg} could not encode with libx264 ({}): {}; {NEED}", o.status, String::from_utf8_lossy(&o.stderr).trim());
    let data = std::fs::read(&out).unwrap_or_else(|e| panic!("{}: {e}", out.display()));
    let _ = std::fs::remove_file(&out);
    assert!(!data.is_empty(), "{ffmpeg} wrote an empty stream");
    data
}

/// No encoder must fail the decoding tests, not let them return early.
#[test]
#[should_panic(expected = "need ffmpeg with libx264")]
fn missing_encoder_fails_the_test() {
    gen_with("/nonexistent/ffmpeg");
}

#[test]
fn close_while_decoding_waits_for_the_job() {
    let data = gen();
    let s = Sim::new({
        let mut c = Config::for_test(Personality::HantroG1, "close-busy");
        c.decode_us = 100_000;
        c
    });
    // decode a couple of frames so the context has references, then queue
    // one more request and close everything while it is being decoded
    let p = Personality::HantroG1;
    let v = s.open(&s.cfg.video_path.clone(), libc::O_RDWR).unwrap().unwrap();
    let m = s.open(&s.cfg.media_path.clone(), libc::O_RDWR).unwrap().unwrap();
    let d = Dev { s: s.clone(), v, m, p };
    d.set_out_fmt(176, 144).unwrap();
    d.reqbufs(p.out_type(), 1).unwrap();
    d.reqbufs(p.cap_type(), 1).unwrap();
    d.stream(p.out_type(), true).unwrap();
    d.stream(p.cap_type(), true).unwrap();
    d.qbuf(p.cap_type(), 0, None).unwrap();
    let rq = d.req_alloc();
    d.qbuf(p.out_type(), 0, Some(rq)).unwrap();
    d.req(rq, MEDIA_REQUEST_IOC_QUEUE).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    let t = std::time::Instant::now();
    for fd in [rq, v, m] {
        s.close(fd);
        unsafe { libc::close(fd) };
    }
    assert!(t.elapsed().as_millis() >= 50, "close returned before the running job finished");
    drop(data);
}
