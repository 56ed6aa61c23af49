/* Exercises the LD_PRELOAD boundary of libhantro_sim.so with plain libc
 * calls (no Rust): discovery via readdir/stat, media topology, formats,
 * buffers, mmap/EXPBUF sharing, requests and poll, dup/close, errnos.
 * Build+run: scripts/sim-smoke.sh */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/dma-buf.h>
#include <linux/media.h>
#include <linux/videodev2.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static int fails;
static int passes;
#define CHECK(cond, ...) do { if (!(cond)) { fails++; printf("FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); printf(" (errno %d)\n", errno); } else { passes++; printf("ok   "); printf(__VA_ARGS__); printf("\n"); } } while (0)

int main(void)
{
    int seen = 0;
    DIR *d = opendir("/dev");
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (!strcmp(e->d_name, "video0") || !strcmp(e->d_name, "media0"))
            seen++;
    if (d) closedir(d);
    CHECK(seen == 2, "readdir(/dev) lists media0 and video0 (seen %d)", seen);

    struct stat st;
    int r = stat("/dev/video0", &st);
    CHECK(r == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == 81, "stat video0 char 81:x");

    int m = open("/dev/media0", O_RDWR | O_CLOEXEC);
    int v = open("/dev/video0", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    CHECK(m >= 0 && v >= 0, "open nodes %d %d", m, v);
    r = fstat(v, &st);
    CHECK(r == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == 81, "fstat video fd");

    struct media_device_info mi = {0};
    r = ioctl(m, MEDIA_IOC_DEVICE_INFO, &mi);
    CHECK(r == 0 && mi.driver[0], "MEDIA_IOC_DEVICE_INFO driver=%s", mi.driver);

    struct media_v2_topology t = {0};
    r = ioctl(m, MEDIA_IOC_G_TOPOLOGY, &t);
    CHECK(r == 0 && t.num_entities == 3 && t.num_interfaces == 1, "topology counts");
    struct media_v2_entity ents[8];
    struct media_v2_interface itf[4];
    struct media_v2_link links[8];
    struct media_v2_pad pads[8];
    t.ptr_entities = (unsigned long)ents;
    t.ptr_interfaces = (unsigned long)itf;
    t.ptr_links = (unsigned long)links;
    t.ptr_pads = (unsigned long)pads;
    r = ioctl(m, MEDIA_IOC_G_TOPOLOGY, &t);
    CHECK(r == 0 && itf[0].intf_type == MEDIA_INTF_T_V4L_VIDEO && itf[0].devnode.major == 81 &&
          itf[0].devnode.minor == minor(st.st_rdev), "interface devnode matches fstat");
    int dec = 0;
    for (unsigned i = 0; i < t.num_entities; i++)
        dec += ents[i].function == MEDIA_ENT_F_PROC_VIDEO_DECODER;
    CHECK(dec == 1, "one PROC_VIDEO_DECODER entity");
    struct media_v2_topology small = t;
    small.num_entities = 1;
    r = ioctl(m, MEDIA_IOC_G_TOPOLOGY, &small);
    CHECK(r == -1 && errno == ENOSPC, "short entity array -> ENOSPC");

    struct v4l2_capability c = {0};
    r = ioctl(v, VIDIOC_QUERYCAP, &c);
    CHECK(r == 0 && (c.device_caps & (V4L2_CAP_VIDEO_M2M_MPLANE | V4L2_CAP_VIDEO_M2M)), "QUERYCAP %s", c.driver);
    int mp = !!(c.device_caps & V4L2_CAP_VIDEO_M2M_MPLANE);
    unsigned out_t = mp ? V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE : V4L2_BUF_TYPE_VIDEO_OUTPUT;
    unsigned cap_t = mp ? V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE : V4L2_BUF_TYPE_VIDEO_CAPTURE;

    r = ioctl(v, _IO('V', 200));
    CHECK(r == -1 && errno == ENOTTY, "unknown ioctl -> ENOTTY");

    struct v4l2_fmtdesc fd = {.index = 0, .type = out_t};
    r = ioctl(v, VIDIOC_ENUM_FMT, &fd);
    CHECK(r == 0 && fd.pixelformat == V4L2_PIX_FMT_H264_SLICE, "ENUM_FMT OUTPUT S264");

    struct v4l2_format f = {.type = out_t};
    if (mp) { f.fmt.pix_mp.width = 176; f.fmt.pix_mp.height = 144; f.fmt.pix_mp.pixelformat = V4L2_PIX_FMT_H264_SLICE; }
    else { f.fmt.pix.width = 176; f.fmt.pix.height = 144; f.fmt.pix.pixelformat = V4L2_PIX_FMT_H264_SLICE; }
    r = ioctl(v, VIDIOC_S_FMT, &f);
    CHECK(r == 0, "S_FMT OUTPUT");
    struct v4l2_format cf = {.type = cap_t};
    r = ioctl(v, VIDIOC_G_FMT, &cf);
    CHECK(r == 0 && (mp ? cf.fmt.pix_mp.width : cf.fmt.pix.width) >= 176, "G_FMT CAPTURE follows OUTPUT");

    struct v4l2_requestbuffers rb = {.count = 2, .type = cap_t, .memory = V4L2_MEMORY_MMAP};
    r = ioctl(v, VIDIOC_REQBUFS, &rb);
    CHECK(r == 0 && rb.count == 2, "REQBUFS CAPTURE");
    r = ioctl(v, VIDIOC_S_FMT, &cf);
    CHECK(r == -1 && errno == EBUSY, "S_FMT CAPTURE with buffers -> EBUSY");

    struct v4l2_plane pl = {0};
    struct v4l2_buffer b = {.index = 0, .type = cap_t, .memory = V4L2_MEMORY_MMAP, .length = 1};
    if (mp) b.m.planes = &pl;
    r = ioctl(v, VIDIOC_QUERYBUF, &b);
    unsigned len = mp ? pl.length : b.length, off = mp ? pl.m.mem_offset : b.m.offset;
    CHECK(r == 0 && len > 0, "QUERYBUF len %u off %#x", len, off);
    unsigned char *p = mmap(0, len, PROT_READ | PROT_WRITE, MAP_SHARED, v, off);
    CHECK(p != MAP_FAILED, "mmap video fd");
    if (p != MAP_FAILED) memset(p, 0x42, 16);
    struct v4l2_exportbuffer eb = {.type = cap_t, .index = 0, .flags = O_CLOEXEC | O_RDWR};
    r = ioctl(v, VIDIOC_EXPBUF, &eb);
    CHECK(r == 0 && eb.fd >= 0, "EXPBUF");
    unsigned char *q = mmap(0, len, PROT_READ, MAP_SHARED, eb.fd, 0);
    CHECK(q != MAP_FAILED && p != MAP_FAILED && q[5] == 0x42, "exported fd maps the same memory");
    struct dma_buf_sync sy = {.flags = DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ};
    r = ioctl(eb.fd, DMA_BUF_IOCTL_SYNC, &sy);
    CHECK(r == 0, "DMA_BUF_IOCTL_SYNC");
    sy.flags = 0;
    r = ioctl(eb.fd, DMA_BUF_IOCTL_SYNC, &sy);
    CHECK(r == -1 && errno == EINVAL, "DMA_BUF_IOCTL_SYNC without direction -> EINVAL");

    r = ioctl(v, VIDIOC_QBUF, &b);
    CHECK(r == 0, "QBUF CAPTURE");
    r = ioctl(v, VIDIOC_QBUF, &b);
    CHECK(r == -1 && errno == EINVAL, "QBUF of a queued buffer -> EINVAL");
    int one_t = cap_t;
    r = ioctl(v, VIDIOC_STREAMON, &one_t);
    CHECK(r == 0, "STREAMON CAPTURE");
    r = ioctl(v, VIDIOC_REQBUFS, &rb);
    CHECK(r == -1 && errno == EBUSY, "REQBUFS while streaming -> EBUSY");
    struct v4l2_buffer db = {.type = cap_t, .memory = V4L2_MEMORY_MMAP, .length = 1};
    if (mp) db.m.planes = &pl;
    r = ioctl(v, VIDIOC_DQBUF, &db);
    CHECK(r == -1 && errno == EAGAIN, "DQBUF nonblocking with nothing done -> EAGAIN");

    int req = -1;
    r = ioctl(m, MEDIA_IOC_REQUEST_ALLOC, &req);
    CHECK(r == 0 && req >= 0, "REQUEST_ALLOC");
    struct pollfd pf = {.fd = req, .events = POLLPRI};
    r = poll(&pf, 1, 0);
    CHECK(r == 1 && pf.revents == POLLERR, "poll idle request -> POLLERR");
    r = ioctl(req, MEDIA_REQUEST_IOC_QUEUE);
    CHECK(r == -1 && errno == ENOENT, "queue request without buffer -> ENOENT");
    struct v4l2_requestbuffers ro = {.count = 1, .type = out_t, .memory = V4L2_MEMORY_MMAP};
    r = ioctl(v, VIDIOC_REQBUFS, &ro);
    CHECK(r == 0 && (ro.capabilities & V4L2_BUF_CAP_SUPPORTS_REQUESTS), "REQBUFS OUTPUT supports requests");
    struct v4l2_buffer ob = {.index = 0, .type = out_t, .memory = V4L2_MEMORY_MMAP, .length = 1};
    struct v4l2_plane opl = {.bytesused = 16};
    if (mp) ob.m.planes = &opl; else ob.bytesused = 16;
    r = ioctl(v, VIDIOC_QBUF, &ob);
    CHECK(r == -1 && errno == EBADR, "QBUF OUTPUT without request -> EBADR");
    {
        static struct v4l2_ctrl_h264_sps sps;
        static struct v4l2_ctrl_h264_pps pps;
        static struct v4l2_ctrl_h264_slice_params sp;
        static struct v4l2_ctrl_h264_decode_params dp;
        struct v4l2_ext_control ec[4] = {
            {.id = V4L2_CID_STATELESS_H264_SPS, .size = sizeof(sps), .ptr = &sps},
            {.id = V4L2_CID_STATELESS_H264_PPS, .size = sizeof(pps), .ptr = &pps},
            {.id = V4L2_CID_STATELESS_H264_DECODE_PARAMS, .size = sizeof(dp), .ptr = &dp},
            {.id = V4L2_CID_STATELESS_H264_SLICE_PARAMS, .size = sizeof(sp), .ptr = &sp},
        };
        struct v4l2_ext_controls ecs = {.which = V4L2_CTRL_WHICH_REQUEST_VAL, .count = 4, .request_fd = req, .controls = ec};
        struct v4l2_query_ext_ctrl qc = {.id = V4L2_CID_STATELESS_H264_SLICE_PARAMS};
        int slice_based = ioctl(v, VIDIOC_QUERY_EXT_CTRL, &qc) == 0;
        if (!slice_based)
            ecs.count = 3; /* frame-based drivers have no SLICE_PARAMS */
        r = ioctl(v, VIDIOC_S_EXT_CTRLS, &ecs);
        CHECK(r == 0, "S_EXT_CTRLS into request");
        ec[0].size = 4;
        r = ioctl(v, VIDIOC_S_EXT_CTRLS, &ecs);
        CHECK(r == -1 && errno == ENOSPC && ec[0].size == sizeof(sps), "short control payload -> ENOSPC with size");
        ec[0].size = sizeof(sps);
        struct v4l2_querymenu qm = {.id = V4L2_CID_STATELESS_H264_DECODE_MODE, .index = slice_based ? 0 : 1};
        r = ioctl(v, VIDIOC_QUERYMENU, &qm);
        CHECK(r == 0, "QUERYMENU decode mode %s", qm.name);
    }
    ob.flags = V4L2_BUF_FLAG_REQUEST_FD;
    ob.request_fd = req;
    r = ioctl(v, VIDIOC_QBUF, &ob);
    CHECK(r == 0, "QBUF OUTPUT into request");
    r = ioctl(req, MEDIA_REQUEST_IOC_QUEUE);
    CHECK(r == 0, "REQUEST QUEUE");
    r = ioctl(req, MEDIA_REQUEST_IOC_QUEUE);
    CHECK(r == -1 && errno == EBUSY, "queue twice -> EBUSY");
    r = ioctl(req, MEDIA_REQUEST_IOC_REINIT);
    CHECK(r == -1 && errno == EBUSY, "REINIT while queued -> EBUSY");
    int one_o = out_t;
    r = ioctl(v, VIDIOC_STREAMON, &one_o);
    CHECK(r == 0, "STREAMON OUTPUT");
    pf.revents = 0;
    r = poll(&pf, 1, 2000);
    CHECK(r == 1 && (pf.revents & POLLPRI), "request completes (POLLPRI)");
    struct pollfd pv = {.fd = v, .events = POLLIN | POLLOUT};
    r = poll(&pv, 1, 1000);
    CHECK(r == 1 && (pv.revents & POLLIN) && (pv.revents & POLLOUT), "video fd POLLIN|POLLOUT after the job");
    r = ioctl(v, VIDIOC_DQBUF, &db);
    CHECK(r == 0 && (db.flags & V4L2_BUF_FLAG_ERROR), "garbage bitstream -> CAPTURE ERROR flag");
    r = ioctl(req, MEDIA_REQUEST_IOC_REINIT);
    CHECK(r == 0, "REINIT completed request");
    pf.revents = 0;
    r = poll(&pf, 1, 0);
    CHECK(r == 1 && pf.revents == POLLERR, "reinit request no longer POLLPRI");

    int v2 = dup(v);
    r = ioctl(v2, VIDIOC_QUERYCAP, &c);
    CHECK(r == 0, "ioctl on dup'd fd");
    close(v2);
    r = ioctl(v, VIDIOC_QUERYCAP, &c);
    CHECK(r == 0, "original fd still works after closing the dup");
    close(req);
    close(eb.fd);
    close(v);
    close(m);
    printf("%d passed, %d failed\n", passes, fails);
    return fails ? 1 : 0;
}
