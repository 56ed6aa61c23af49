/*
 * dmabuf-check: the zero-copy path of the VA driver, proven in a compositor.
 *
 * Decodes FILE with libavcodec's VA-API hwaccel (libva-drm on the render
 * node, i.e. our driver when LIBVA_DRIVER_NAME=hantro), and for each of the
 * first FRAMES frames and each export MODE:
 *   1. vaExportSurfaceHandle(DRM_PRIME_2, READ_ONLY | COMPOSED_LAYERS or
 *      SEPARATE_LAYERS) and wraps the planes in one NV12 wl_buffer through
 *      zwp_linux_dmabuf_v1 (composed: the NV12 layer's two planes; separate:
 *      plane 0 of the R8 layer + plane 0 of the GR88 layer);
 *   2. shows it in a fullscreen xdg_toplevel and waits for the frame callback;
 *   3. runs SHOT (a command: `SHOT OUT` must write OUT.rgb, raw RGB24 of the
 *      whole output, and OUT.size "W H");
 *   4. reads the same surface back with vaGetImage (NV12), converts it with
 *      limited-range BT.601 (nearest chroma, rounded to nearest) and compares
 *      it with the surface's rectangle in the screenshot (the compositor
 *      centres a fullscreen buffer smaller than the output).
 * Prints one line per check:
 *   CHECK frame=N mode=M size=WxH at=X,Y maxdiff=D diffpx=K/T tol=TOL result=PASS|FAIL
 * Re-show variants (env; for frames whose CAPTURE buffer was shown before):
 *   DMABUF_CHECK_MMAP=1   also map the exported dmabuf in this process (with
 *                         DMA_BUF_IOCTL_SYNC) and compare it with vaGetImage:
 *                         MMAP frame=N mode=M maxdiff=D result=PASS|FAIL
 *                         (what the export holds, no compositor involved)
 *   DMABUF_CHECK_FRESH=1  give the compositor a new dma_buf of the same
 *                         CAPTURE buffer instead of the driver's export: a
 *                         VIDIOC_EXPBUF on the driver's own video fd (found in
 *                         /proc/self/fd), the index whose memory equals the
 *                         export's (FRESH frame=N index=I line)
 *   DMABUF_CHECK_KEEP=1   one wl_buffer per VA surface and mode, created at
 *                         its first showing and attached again for later
 *                         frames (what mpv and GStreamer's waylandsink do)
 * and EXPORT lines describing the descriptors. Exit 0 only if every check
 * passed within TOL (env DMABUF_CHECK_TOL, default 0) and at least one ran.
 *
 * Usage: dmabuf-check FILE FRAMES MODES(composed,separate) OUTDIR SHOT
 *        (FRAMES 0 + DMABUF_CHECK_REFS=DIR: no compositor, only write every
 *        frame's reference DIR/ref-N.rgb + .size for --match)
 *        dmabuf-check --match SHOTBASE REFDIR [FRAME]   (see match())
 *        dmabuf-check --first-au FILE N                 (see first_au())
 *        dmabuf-check --nv12-refs RAW W H REFDIR        (see nv12_refs())
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <poll.h>
#include <math.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/dma-buf.h>
#include <linux/videodev2.h>
#include <wayland-client.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/hwcontext.h>
#include <libavutil/hwcontext_vaapi.h>
#include <va/va.h>
#include <va/va_drmcommon.h>
#include "xdg-shell-client-protocol.h"
#include "linux-dmabuf-unstable-v1-client-protocol.h"

#define FOURCC(a, b, c, d) ((uint32_t)(a) | ((uint32_t)(b) << 8) | ((uint32_t)(c) << 16) | ((uint32_t)(d) << 24))
#define DRM_NV12 FOURCC('N', 'V', '1', '2')

static struct wl_display *dpy;
static struct wl_compositor *compositor;
static struct xdg_wm_base *wm_base;
static struct zwp_linux_dmabuf_v1 *dmabuf;
static struct wl_surface *surface;
static struct xdg_surface *xsurface;
static struct xdg_toplevel *toplevel;
static int configured, nv12_linear, frame_done;

static void die(const char *what)
{
    fprintf(stderr, "dmabuf-check: %s\n", what);
    exit(2);
}

static void dmabuf_format(void *d, struct zwp_linux_dmabuf_v1 *z, uint32_t f) { (void)d; (void)z; (void)f; }
static void dmabuf_modifier(void *d, struct zwp_linux_dmabuf_v1 *z, uint32_t f, uint32_t hi, uint32_t lo)
{
    (void)d; (void)z;
    if (f == DRM_NV12 && hi == 0 && lo == 0) nv12_linear = 1;
}
static const struct zwp_linux_dmabuf_v1_listener dmabuf_listener = { dmabuf_format, dmabuf_modifier };

static void wm_ping(void *d, struct xdg_wm_base *b, uint32_t serial) { (void)d; xdg_wm_base_pong(b, serial); }
static const struct xdg_wm_base_listener wm_listener = { wm_ping };

static void xs_configure(void *d, struct xdg_surface *s, uint32_t serial)
{
    (void)d;
    xdg_surface_ack_configure(s, serial);
    configured = 1;
}
static const struct xdg_surface_listener xs_listener = { xs_configure };
static void tl_configure(void *d, struct xdg_toplevel *t, int32_t w, int32_t h, struct wl_array *st) { (void)d; (void)t; (void)w; (void)h; (void)st; }
static void tl_close(void *d, struct xdg_toplevel *t) { (void)d; (void)t; }
static const struct xdg_toplevel_listener tl_listener = { tl_configure, tl_close, NULL, NULL };

static void reg_global(void *d, struct wl_registry *r, uint32_t name, const char *iface, uint32_t ver)
{
    (void)d;
    if (!strcmp(iface, wl_compositor_interface.name))
        compositor = wl_registry_bind(r, name, &wl_compositor_interface, 4);
    else if (!strcmp(iface, xdg_wm_base_interface.name)) {
        wm_base = wl_registry_bind(r, name, &xdg_wm_base_interface, 1);
        xdg_wm_base_add_listener(wm_base, &wm_listener, NULL);
    } else if (!strcmp(iface, zwp_linux_dmabuf_v1_interface.name)) {
        printf("INFO zwp_linux_dmabuf_v1 version %u\n", ver);
        if (ver < 3) die("zwp_linux_dmabuf_v1 older than v3");
        dmabuf = wl_registry_bind(r, name, &zwp_linux_dmabuf_v1_interface, 3);
        zwp_linux_dmabuf_v1_add_listener(dmabuf, &dmabuf_listener, NULL);
    }
}
static void reg_remove(void *d, struct wl_registry *r, uint32_t n) { (void)d; (void)r; (void)n; }
static const struct wl_registry_listener reg_listener = { reg_global, reg_remove };

static void frame_cb(void *d, struct wl_callback *cb, uint32_t t) { (void)d; (void)t; wl_callback_destroy(cb); frame_done = 1; }
static const struct wl_callback_listener frame_listener = { frame_cb };

static void wayland_init(void)
{
    dpy = wl_display_connect(NULL);
    if (!dpy) die("cannot connect to the Wayland display");
    struct wl_registry *reg = wl_display_get_registry(dpy);
    wl_registry_add_listener(reg, &reg_listener, NULL);
    wl_display_roundtrip(dpy);
    wl_display_roundtrip(dpy);
    if (!compositor || !wm_base || !dmabuf) die("compositor lacks wl_compositor/xdg_wm_base/zwp_linux_dmabuf_v1");
    if (!nv12_linear) die("compositor does not offer NV12 with the LINEAR modifier");
    surface = wl_compositor_create_surface(compositor);
    xsurface = xdg_wm_base_get_xdg_surface(wm_base, surface);
    xdg_surface_add_listener(xsurface, &xs_listener, NULL);
    toplevel = xdg_surface_get_toplevel(xsurface);
    xdg_toplevel_add_listener(toplevel, &tl_listener, NULL);
    xdg_toplevel_set_title(toplevel, "dmabuf-check");
    xdg_toplevel_set_fullscreen(toplevel, NULL);
    wl_surface_commit(surface);
    while (!configured)
        if (wl_display_dispatch(dpy) < 0) die("Wayland connection lost before configure");
}

/* Shows the buffer and waits until the compositor has repainted with it. */
static void show(struct wl_buffer *buf)
{
    wl_surface_attach(surface, buf, 0, 0);
    wl_surface_damage_buffer(surface, 0, 0, INT32_MAX, INT32_MAX);
    struct wl_callback *cb = wl_surface_frame(surface);
    frame_done = 0;
    wl_callback_add_listener(cb, &frame_listener, NULL);
    wl_surface_commit(surface);
    while (!frame_done)
        if (wl_display_dispatch(dpy) < 0) die("Wayland connection lost (buffer rejected?)");
    if (wl_display_roundtrip(dpy) < 0) die("Wayland connection lost");
}

static enum AVPixelFormat pick_vaapi(AVCodecContext *c, const enum AVPixelFormat *f)
{
    for (; *f != AV_PIX_FMT_NONE; f++)
        if (*f == AV_PIX_FMT_VAAPI) {
            /* DMABUF_CHECK_POOL=N: only N surfaces, so that later frames are
             * decoded into surfaces (CAPTURE buffers) shown before */
            const char *e = getenv("DMABUF_CHECK_POOL");
            if (e && atoi(e) > 0 && !c->hw_frames_ctx) {
                AVBufferRef *fr = NULL;
                if (avcodec_get_hw_frames_parameters(c, c->hw_device_ctx, AV_PIX_FMT_VAAPI, &fr) < 0) die("avcodec_get_hw_frames_parameters");
                AVHWFramesContext *hf = (AVHWFramesContext *)fr->data;
                printf("INFO surface pool %d (libavcodec asked for %d)\n", atoi(e), hf->initial_pool_size);
                hf->initial_pool_size = atoi(e);
                if (av_hwframe_ctx_init(fr) < 0) die("av_hwframe_ctx_init");
                c->hw_frames_ctx = fr;
            }
            return *f;
        }
    fprintf(stderr, "dmabuf-check: decoder offers no VAAPI format\n");
    return AV_PIX_FMT_NONE;
}

static uint8_t clamp8(double v)
{
    long r = lround(v);
    return r < 0 ? 0 : r > 255 ? 255 : (uint8_t)r;
}

/* limited-range BT.601 NV12 -> RGB24, chroma by nearest sample */
static void nv12_to_rgb(const uint8_t *y, int ypitch, const uint8_t *uv, int uvpitch, int w, int h, uint8_t *rgb)
{
    for (int j = 0; j < h; j++)
        for (int i = 0; i < w; i++) {
            double Y = 1.164383561643836 * (y[j * ypitch + i] - 16);
            double U = uv[(j / 2) * uvpitch + (i / 2) * 2] - 128;
            double V = uv[(j / 2) * uvpitch + (i / 2) * 2 + 1] - 128;
            uint8_t *p = rgb + 3 * ((size_t)j * w + i);
            p[0] = clamp8(Y + 1.596026785714286 * V);
            p[1] = clamp8(Y - 0.391762290094914 * U - 0.812967647237771 * V);
            p[2] = clamp8(Y + 2.017232142857143 * U);
        }
}

static void write_ppm(const char *path, const uint8_t *rgb, int w, int h, int stride)
{
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fprintf(f, "P6\n%d %d\n255\n", w, h);
    for (int j = 0; j < h; j++) fwrite(rgb + (size_t)j * stride, 1, 3 * (size_t)w, f);
    fclose(f);
}

static int surf_w, surf_h; /* size of the decoder's surfaces */

/* The surface read back with vaGetImage (NV12) and converted to RGB24
 * (fw x fh), or NULL after printing a FAIL line. */
static uint8_t *reference(VADisplay va, VASurfaceID s, int fw, int fh, int n, const char *mode)
{
    VAImageFormat ifmt = { .fourcc = VA_FOURCC_NV12, .byte_order = VA_LSB_FIRST, .bits_per_pixel = 12 };
    VAImage vi;
    VAStatus st;
    if ((st = vaCreateImage(va, &ifmt, surf_w, surf_h, &vi)) != VA_STATUS_SUCCESS) {
        printf("CHECK frame=%d mode=%s vaCreateImage: %s result=FAIL\n", n, mode, vaErrorStr(st));
        return NULL;
    }
    if ((st = vaGetImage(va, s, 0, 0, surf_w, surf_h, vi.image_id)) != VA_STATUS_SUCCESS) {
        printf("CHECK frame=%d mode=%s vaGetImage: %s result=FAIL\n", n, mode, vaErrorStr(st));
        vaDestroyImage(va, vi.image_id);
        return NULL;
    }
    void *map = NULL;
    if ((st = vaMapBuffer(va, vi.buf, &map)) != VA_STATUS_SUCCESS) {
        printf("CHECK frame=%d mode=%s vaMapBuffer: %s result=FAIL\n", n, mode, vaErrorStr(st));
        vaDestroyImage(va, vi.image_id);
        return NULL;
    }
    uint8_t *ref = malloc((size_t)fw * fh * 3);
    if (!ref) die("out of memory");
    nv12_to_rgb((uint8_t *)map + vi.offsets[0], vi.pitches[0], (uint8_t *)map + vi.offsets[1], vi.pitches[1], fw, fh, ref);
    vaUnmapBuffer(va, vi.buf);
    vaDestroyImage(va, vi.image_id);
    return ref;
}

static int checks, failures, tol;

struct cmp { int maxd; long diffpx; long hist[4]; };

/* ref (fw x fh RGB24) against the rectangle at x0,y0 of img (row length W) */
static struct cmp compare(const uint8_t *ref, int fw, int fh, const uint8_t *img, int W, int x0, int y0)
{
    struct cmp c;
    memset(&c, 0, sizeof c);
    for (int j = 0; j < fh; j++)
        for (int i = 0; i < fw; i++) {
            const uint8_t *a = ref + 3 * ((size_t)j * fw + i), *b = img + 3 * ((size_t)(y0 + j) * W + x0 + i);
            int m = 0;
            for (int k = 0; k < 3; k++) {
                int dd = abs((int)a[k] - (int)b[k]);
                if (dd > m) m = dd;
            }
            if (m) c.diffpx++;
            c.hist[m > 3 ? 3 : m]++;
            if (m > c.maxd) c.maxd = m;
        }
    return c;
}

/* reads BASE.size ("W H") and BASE.rgb; NULL on error */
static uint8_t *read_shot(const char *base, int *W, int *H)
{
    char path[700];
    snprintf(path, sizeof path, "%s.size", base);
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    int ok = fscanf(f, "%d %d", W, H) == 2 && *W > 0 && *H > 0;
    fclose(f);
    if (!ok) return NULL;
    size_t len = (size_t)*W * *H * 3;
    uint8_t *img = malloc(len);
    snprintf(path, sizeof path, "%s.rgb", base);
    f = fopen(path, "rb");
    if (!img || !f || fread(img, 1, len, f) != len) {
        if (f) fclose(f);
        free(img);
        return NULL;
    }
    fclose(f);
    return img;
}

/* Where is the w x h picture ref in the screenshot? Centred unless
 * DMABUF_CHECK_SEARCH=1, then the offset where most of a sparse grid of ref's
 * pixels are exactly equal (for windows the shell places itself). */
static void locate(const uint8_t *ref, int w, int h, const uint8_t *img, int W, int H, int *bx, int *by)
{
    *bx = (W - w) / 2;
    *by = (H - h) / 2;
    const char *e = getenv("DMABUF_CHECK_SEARCH");
    if (!e || *e != '1') return;
    long best = -1;
    for (int y = 0; y + h <= H; y++)
        for (int x = 0; x + w <= W; x++) {
            long hits = 0;
            for (int j = 3; j < h; j += 11)
                for (int i = 5; i < w; i += 13)
                    if (!memcmp(ref + 3 * ((size_t)j * w + i), img + 3 * ((size_t)(y + j) * W + x + i), 3)) hits++;
            if (hits > best) best = hits, *bx = x, *by = y;
        }
}

/* --match SHOTBASE REFDIR [FRAME]: which decoded frame (REFDIR/ref-K.rgb,
 * written by a DMABUF_CHECK_REFS run; only K = FRAME if given) does the
 * screenshot show? Prints the best and its statistics; PASS if maxdiff <= tol
 * (DMABUF_CHECK_TOL) and at most DMABUF_CHECK_MAXBAD per mille of the pixels
 * differ by more than tol (default 0). */
static int match(const char *shotbase, const char *refdir, int only)
{
    int W, H;
    uint8_t *img = read_shot(shotbase, &W, &H);
    if (!img) { printf("MATCH shot=%s unreadable result=FAIL\n", shotbase); return 1; }
    int maxbad = getenv("DMABUF_CHECK_MAXBAD") ? atoi(getenv("DMABUF_CHECK_MAXBAD")) : 0;
    int best = -1, fw = 0, fh = 0, bx = 0, by = 0, located = 0;
    long bbad = 0;
    struct cmp bc = { .maxd = 1 << 30 };
    for (int k = only >= 0 ? only : 0;; k++) {
        if (only >= 0 && k != only) break;
        char base[700];
        snprintf(base, sizeof base, "%s/ref-%d", refdir, k);
        int w, h;
        uint8_t *ref = read_shot(base, &w, &h);
        if (!ref) break;
        if (w <= W && h <= H) {
            if (!located) { locate(ref, w, h, img, W, H, &bx, &by); located = 1; }
            struct cmp c = compare(ref, w, h, img, W, bx, by);
            long bad = 0;
            if (c.maxd > tol) {
                for (int j = 0; j < h; j++)
                    for (int i = 0; i < w; i++)
                        for (int q = 0; q < 3; q++)
                            if (abs((int)ref[3 * ((size_t)j * w + i) + q] - (int)img[3 * ((size_t)(by + j) * W + bx + i) + q]) > tol) { bad++; break; }
            }
            if (bad < bbad || best < 0 || (bad == bbad && c.diffpx < bc.diffpx)) bc = c, best = k, fw = w, fh = h, bbad = bad;
        }
        free(ref);
    }
    free(img);
    long total = (long)fw * fh;
    int pass = best >= 0 && bbad * 1000 <= (long)maxbad * total;
    printf("MATCH shot=%s output=%dx%d best=frame%d size=%dx%d at=%d,%d maxdiff=%d diffpx=%ld/%ld over-tol=%ld hist0123+=%ld,%ld,%ld,%ld tol=%d maxbad=%d/1000 result=%s\n",
           shotbase, W, H, best, fw, fh, bx, by, best >= 0 ? bc.maxd : -1, bc.diffpx, total, bbad, bc.hist[0], bc.hist[1], bc.hist[2], bc.hist[3],
           tol, maxbad, pass ? "PASS" : "FAIL");
    return pass ? 0 : 1;
}

static const char *outdir, *shot;

static int envflag(const char *n)
{
    const char *e = getenv(n);
    return e && *e == '1';
}

/* mmap a dmabuf for reading, bracketed by DMA_BUF_IOCTL_SYNC by the caller */
static void *map_dmabuf(int fd, size_t *len)
{
    off_t n = lseek(fd, 0, SEEK_END);
    if (n <= 0) return NULL;
    void *p = mmap(NULL, (size_t)n, PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) return NULL;
    *len = (size_t)n;
    return p;
}

static void dmabuf_sync(int fd, int end)
{
    struct dma_buf_sync sy = { .flags = DMA_BUF_SYNC_READ | (end ? DMA_BUF_SYNC_END : DMA_BUF_SYNC_START) };
    ioctl(fd, DMA_BUF_IOCTL_SYNC, &sy);
}

/* A new dma_buf (VIDIOC_EXPBUF on the V4L2 fd the driver opened in this
 * process) of the CAPTURE buffer whose memory equals that of the exported
 * object `fd`; -1 if none. *index: the CAPTURE index. */
static int fresh_expbuf(int fd, int *index)
{
    size_t elen = 0;
    void *emap = map_dmabuf(fd, &elen);
    if (!emap) return -1;
    dmabuf_sync(fd, 0);
    int found = -1;
    DIR *dir = opendir("/proc/self/fd");
    struct dirent *de;
    while (dir && found < 0 && (de = readdir(dir))) {
        char link[64], target[256];
        snprintf(link, sizeof link, "/proc/self/fd/%s", de->d_name);
        ssize_t n = readlink(link, target, sizeof target - 1);
        if (n <= 0) continue;
        target[n] = 0;
        if (strncmp(target, "/dev/video", 10)) continue;
        int vfd = atoi(de->d_name);
        for (int i = 0; i < 64 && found < 0; i++) {
            struct v4l2_exportbuffer eb = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE, .index = (uint32_t)i, .plane = 0, .flags = O_RDONLY | O_CLOEXEC };
            if (ioctl(vfd, VIDIOC_EXPBUF, &eb) < 0) {
                eb.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
                if (ioctl(vfd, VIDIOC_EXPBUF, &eb) < 0) break;
            }
            size_t len = 0;
            void *m = map_dmabuf(eb.fd, &len);
            int same = 0;
            if (m) {
                dmabuf_sync(eb.fd, 0);
                same = len == elen && !memcmp(m, emap, len);
                dmabuf_sync(eb.fd, 1);
                munmap(m, len);
            }
            if (same) found = eb.fd, *index = i;
            else close(eb.fd);
        }
    }
    if (dir) closedir(dir);
    dmabuf_sync(fd, 1);
    munmap(emap, elen);
    return found;
}

/* DMABUF_CHECK_KEEP: the wl_buffer made at a surface's first showing */
#define MAXKEEP 64
static struct { VASurfaceID s; int separate; struct wl_buffer *buf; int fds[4]; int nfds; } kept[MAXKEEP];
static int nkept;

static struct { VASurfaceID s; int frame; } shown[256];
static int nshown, reshows;

static void check(VADisplay va, VASurfaceID s, int fw, int fh, int n, int separate)
{
    const char *mode = separate ? "separate" : "composed";
    int first = -1;
    for (int k = 0; k < nshown; k++)
        if (shown[k].s == s) first = shown[k].frame;
    if (first >= 0 && first != n) {
        printf("RESHOW frame=%d mode=%s surface=%#x first shown as frame %d\n", n, mode, s, first);
        reshows++;
    } else if (first < 0 && nshown < 256) {
        shown[nshown].s = s, shown[nshown].frame = n, nshown++;
    }
    VADRMPRIMESurfaceDescriptor d;
    memset(&d, 0, sizeof d);
    VAStatus st = vaExportSurfaceHandle(va, s, VA_SURFACE_ATTRIB_MEM_TYPE_DRM_PRIME_2,
                                        VA_EXPORT_SURFACE_READ_ONLY |
                                            (separate ? VA_EXPORT_SURFACE_SEPARATE_LAYERS : VA_EXPORT_SURFACE_COMPOSED_LAYERS),
                                        &d);
    checks++;
    if (st != VA_STATUS_SUCCESS) {
        printf("CHECK frame=%d mode=%s export failed: %s result=FAIL\n", n, mode, vaErrorStr(st));
        failures++;
        return;
    }
    printf("EXPORT frame=%d mode=%s fourcc=%.4s %ux%u objects=%u layers=%u", n, mode, (char *)&d.fourcc, d.width, d.height, d.num_objects, d.num_layers);
    for (uint32_t l = 0; l < d.num_layers; l++) {
        printf(" [layer%u %.4s", l, (char *)&d.layers[l].drm_format);
        for (uint32_t p = 0; p < d.layers[l].num_planes; p++)
            printf(" obj%u+%u/%u", d.layers[l].object_index[p], d.layers[l].offset[p], d.layers[l].pitch[p]);
        printf("]");
    }
    printf(" size0=%u mod=%#llx\n", d.objects[0].size, (unsigned long long)d.objects[0].drm_format_modifier);

    /* the NV12 planes, from whichever layout the driver exported */
    struct { uint32_t obj, off, pitch; } pl[2];
    int ok = 1;
    if (!separate) {
        ok = d.num_layers == 1 && d.layers[0].drm_format == DRM_NV12 && d.layers[0].num_planes == 2;
        for (int p = 0; p < 2 && ok; p++) pl[p].obj = d.layers[0].object_index[p], pl[p].off = d.layers[0].offset[p], pl[p].pitch = d.layers[0].pitch[p];
    } else {
        ok = d.num_layers == 2 && d.layers[0].drm_format == FOURCC('R', '8', ' ', ' ') &&
             d.layers[1].drm_format == FOURCC('G', 'R', '8', '8') && d.layers[0].num_planes == 1 && d.layers[1].num_planes == 1;
        for (int p = 0; p < 2 && ok; p++) pl[p].obj = d.layers[p].object_index[0], pl[p].off = d.layers[p].offset[0], pl[p].pitch = d.layers[p].pitch[0];
    }
    if (!ok || d.fourcc != VA_FOURCC_NV12) {
        printf("CHECK frame=%d mode=%s unexpected descriptor layout result=FAIL\n", n, mode);
        failures++;
        goto close_fds;
    }
    /* reference first (vaGetImage waits until no request uses the buffer),
     * and once more after the screenshot: the surface must not change */
    uint8_t *ref = reference(va, s, fw, fh, n, mode);
    if (!ref) {
        failures++;
        goto close_fds;
    }
    if (envflag("DMABUF_CHECK_MMAP")) {
        /* the export as this process sees it through the dmabuf */
        void *m[4] = { 0 };
        size_t ml[4] = { 0 };
        int okm = 1;
        for (uint32_t o = 0; o < d.num_objects && okm; o++) {
            m[o] = map_dmabuf(d.objects[o].fd, &ml[o]);
            okm = m[o] != NULL;
            if (okm) dmabuf_sync(d.objects[o].fd, 0);
        }
        if (okm) {
            uint8_t *rgb = malloc((size_t)fw * fh * 3);
            nv12_to_rgb((uint8_t *)m[pl[0].obj] + pl[0].off, pl[0].pitch, (uint8_t *)m[pl[1].obj] + pl[1].off, pl[1].pitch, fw, fh, rgb);
            struct cmp c = compare(ref, fw, fh, rgb, fw, 0, 0);
            printf("MMAP frame=%d mode=%s maxdiff=%d diffpx=%ld/%ld result=%s\n", n, mode, c.maxd, c.diffpx, (long)fw * fh, c.maxd <= tol ? "PASS" : "FAIL");
            if (c.maxd > tol) failures++;
            free(rgb);
        } else {
            printf("MMAP frame=%d mode=%s cannot map the export result=FAIL\n", n, mode);
            failures++;
        }
        for (uint32_t o = 0; o < d.num_objects; o++)
            if (m[o]) { dmabuf_sync(d.objects[o].fd, 1); munmap(m[o], ml[o]); }
    }
    uint64_t mod = d.objects[pl[0].obj].drm_format_modifier;
    int planefd[2] = { d.objects[pl[0].obj].fd, d.objects[pl[1].obj].fd };
    int fresh = -1;
    if (envflag("DMABUF_CHECK_FRESH")) {
        int idx = -1;
        if (d.num_objects != 1 || (fresh = fresh_expbuf(d.objects[0].fd, &idx)) < 0) {
            printf("CHECK frame=%d mode=%s no V4L2 buffer with the export's memory (EXPBUF) result=FAIL\n", n, mode);
            failures++;
            free(ref);
            goto close_fds;
        }
        printf("FRESH frame=%d mode=%s index=%d fd=%d\n", n, mode, idx, fresh);
        planefd[0] = planefd[1] = fresh;
    }
    struct wl_buffer *buf = NULL;
    int keep = envflag("DMABUF_CHECK_KEEP"), reused = 0;
    for (int k = 0; keep && k < nkept; k++)
        if (kept[k].s == s && kept[k].separate == separate) buf = kept[k].buf, reused = 1;
    if (!buf) {
        struct zwp_linux_buffer_params_v1 *params = zwp_linux_dmabuf_v1_create_params(dmabuf);
        for (int p = 0; p < 2; p++)
            zwp_linux_buffer_params_v1_add(params, planefd[p], p, pl[p].off, pl[p].pitch, (uint32_t)(mod >> 32), (uint32_t)mod);
        buf = zwp_linux_buffer_params_v1_create_immed(params, fw, fh, DRM_NV12, 0);
        zwp_linux_buffer_params_v1_destroy(params);
        if (keep && nkept < MAXKEEP) {
            kept[nkept].s = s, kept[nkept].separate = separate, kept[nkept].buf = buf, kept[nkept].nfds = 0;
            for (uint32_t o = 0; o < d.num_objects && o < 4; o++) kept[nkept].fds[kept[nkept].nfds++] = dup(d.objects[o].fd);
            nkept++;
        }
    }
    if (keep) printf("KEEP frame=%d mode=%s surface=%#x wl_buffer=%s\n", n, mode, s, reused ? "reused" : "new");
    show(buf);

    char base[512], cmd[1200];
    snprintf(base, sizeof base, "%s/shot-%d-%s", outdir, n, mode);
    snprintf(cmd, sizeof cmd, "%s '%s'", shot, base);
    if (system(cmd) != 0) {
        printf("CHECK frame=%d mode=%s screenshot command failed result=FAIL\n", n, mode);
        failures++;
        free(ref);
        goto destroy;
    }
    char path[700];
    int W = 0, H = 0;
    uint8_t *img = read_shot(base, &W, &H);
    if (!img || W < fw || H < fh) {
        printf("CHECK frame=%d mode=%s bad screenshot %dx%d result=FAIL\n", n, mode, W, H);
        failures++;
        free(img);
        free(ref);
        goto destroy;
    }
    uint8_t *after = reference(va, s, fw, fh, n, mode);
    int stable = after && !memcmp(after, ref, (size_t)fw * fh * 3);
    free(after);
    int x0 = (W - fw) / 2, y0 = (H - fh) / 2;
    struct cmp c = compare(ref, fw, fh, img, W, x0, y0);
    int maxd = c.maxd;
    long diffpx = c.diffpx, *hist = c.hist;
    int pass = maxd <= tol && stable;
    printf("CHECK frame=%d mode=%s size=%dx%d output=%dx%d at=%d,%d maxdiff=%d diffpx=%ld/%ld hist0123+=%ld,%ld,%ld,%ld stable=%s tol=%d result=%s\n",
           n, mode, fw, fh, W, H, x0, y0, maxd, diffpx, (long)fw * fh, hist[0], hist[1], hist[2], hist[3], stable ? "yes" : "NO", tol, pass ? "PASS" : "FAIL");
    if (!pass) {
        failures++;
        snprintf(path, sizeof path, "%s.expected.ppm", base);
        write_ppm(path, ref, fw, fh, fw * 3);
        snprintf(path, sizeof path, "%s.screen.ppm", base);
        write_ppm(path, img + 3 * ((size_t)y0 * W + x0), fw, fh, W * 3);
    }
    free(img);
    free(ref);
destroy:
    /* detach, so the compositor lets go of the dmabuf before the decoder reuses it */
    wl_surface_attach(surface, NULL, 0, 0);
    wl_surface_commit(surface);
    wl_display_roundtrip(dpy);
    if (!keep) wl_buffer_destroy(buf);
    if (fresh >= 0) close(fresh);
close_fds:
    for (uint32_t o = 0; o < d.num_objects; o++) close(d.objects[o].fd);
}

/* --first-au FILE N: prints the number of bytes of an Annex-B stream that
 * hold exactly its first N access units (single-slice pictures: a new
 * picture starts at a slice NAL with first_mb_in_slice 0). */
static int first_au(const char *path, int nau)
{
    FILE *f = fopen(path, "rb");
    if (!f) return 1;
    static uint8_t b[1 << 22];
    size_t n = fread(b, 1, sizeof b, f);
    fclose(f);
    int slices = 0;
    size_t nal_start = 0; /* start of the current NAL's start code (incl. a leading zero byte) */
    for (size_t i = 0; i + 4 < n; i++) {
        if (b[i] || b[i + 1] || b[i + 2] != 1) continue;
        nal_start = (i > 0 && b[i - 1] == 0) ? i - 1 : i;
        int type = b[i + 3] & 0x1f;
        int first_mb0 = (b[i + 4] & 0x80) != 0;
        if ((type == 1 || type == 5) && first_mb0 && ++slices == nau + 1) {
            printf("%zu\n", nal_start);
            return 0;
        }
    }
    return 1;
}

/* --nv12-refs RAW W H REFDIR: references for --match from raw, tightly
 * packed NV12 frames (e.g. GStreamer's v4l2slh264dec output), converted as
 * vaGetImage references are: REFDIR/ref-K.rgb + .size. Prints the count. */
static int nv12_refs(const char *raw, int w, int h, const char *dir)
{
    FILE *f = fopen(raw, "rb");
    if (!f || w <= 0 || h <= 0) return 1;
    size_t fsz = (size_t)w * h * 3 / 2;
    uint8_t *yuv = malloc(fsz), *rgb = malloc((size_t)w * h * 3);
    int k = 0;
    while (yuv && rgb && fread(yuv, 1, fsz, f) == fsz) {
        nv12_to_rgb(yuv, w, yuv + (size_t)w * h, w, w, h, rgb);
        char path[700];
        snprintf(path, sizeof path, "%s/ref-%d.rgb", dir, k);
        FILE *o = fopen(path, "wb");
        if (!o || fwrite(rgb, 1, (size_t)w * h * 3, o) != (size_t)w * h * 3) return 1;
        fclose(o);
        snprintf(path, sizeof path, "%s/ref-%d.size", dir, k);
        o = fopen(path, "w");
        if (!o) return 1;
        fprintf(o, "%d %d\n", w, h);
        fclose(o);
        k++;
    }
    fclose(f);
    printf("%d\n", k);
    return k > 0 ? 0 : 1;
}

static void save_ref(VADisplay va, VASurfaceID s, int fw, int fh, int n, const char *dir)
{
    uint8_t *ref = reference(va, s, fw, fh, n, "ref");
    if (!ref) { failures++; return; }
    char path[700];
    snprintf(path, sizeof path, "%s/ref-%d.rgb", dir, n);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(ref, 1, (size_t)fw * fh * 3, f) != (size_t)fw * fh * 3) die("cannot write a reference");
    fclose(f);
    snprintf(path, sizeof path, "%s/ref-%d.size", dir, n);
    f = fopen(path, "w");
    if (!f) die("cannot write a reference");
    fprintf(f, "%d %d\n", fw, fh);
    fclose(f);
    free(ref);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    tol = getenv("DMABUF_CHECK_TOL") ? atoi(getenv("DMABUF_CHECK_TOL")) : 0;
    if ((argc == 4 || argc == 5) && !strcmp(argv[1], "--match")) return match(argv[2], argv[3], argc == 5 ? atoi(argv[4]) : -1);
    if (argc == 4 && !strcmp(argv[1], "--first-au")) return first_au(argv[2], atoi(argv[3]));
    if (argc == 6 && !strcmp(argv[1], "--nv12-refs")) return nv12_refs(argv[2], atoi(argv[3]), atoi(argv[4]), argv[5]);
    if (argc != 6) die("usage: dmabuf-check FILE FRAMES MODES OUTDIR SHOT | --match SHOTBASE REFDIR");
    const char *file = argv[1];
    int frames = atoi(argv[2]);
    int do_comp = strstr(argv[3], "composed") != NULL, do_sep = strstr(argv[3], "separate") != NULL;
    outdir = argv[4];
    shot = argv[5];
    const char *refdir = getenv("DMABUF_CHECK_REFS"); /* also save every frame's reference there */

    if (frames > 0) wayland_init();

    AVFormatContext *fc = NULL;
    if (avformat_open_input(&fc, file, NULL, NULL) < 0 || avformat_find_stream_info(fc, NULL) < 0) die("cannot open input");
    const AVCodec *codec = NULL;
    int si = av_find_best_stream(fc, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    if (si < 0) die("no video stream");
    AVCodecContext *dec = avcodec_alloc_context3(codec);
    avcodec_parameters_to_context(dec, fc->streams[si]->codecpar);
    AVBufferRef *hw = NULL;
    if (av_hwdevice_ctx_create(&hw, AV_HWDEVICE_TYPE_VAAPI, getenv("DMABUF_CHECK_DEVICE") ? getenv("DMABUF_CHECK_DEVICE") : "/dev/dri/renderD128", NULL, 0) < 0)
        die("cannot create the VAAPI device (driver failed to load?)");
    dec->hw_device_ctx = av_buffer_ref(hw);
    dec->get_format = pick_vaapi;
    dec->thread_count = 1;
    if (avcodec_open2(dec, codec, NULL) < 0) die("avcodec_open2");
    VADisplay va = ((AVVAAPIDeviceContext *)((AVHWDeviceContext *)hw->data)->hwctx)->display;
    printf("INFO driver: %s\n", vaQueryVendorString(va));

    AVPacket *pkt = av_packet_alloc();
    AVFrame *fr = av_frame_alloc();
    int n = 0, eof = 0, done = 0;
    while (!done) {
        if (!eof) {
            if (av_read_frame(fc, pkt) < 0) {
                eof = 1;
                avcodec_send_packet(dec, NULL);
            } else {
                if (pkt->stream_index == si && avcodec_send_packet(dec, pkt) < 0) die("avcodec_send_packet");
                av_packet_unref(pkt);
            }
        }
        for (;;) {
            int r = avcodec_receive_frame(dec, fr);
            if (r == AVERROR(EAGAIN)) break;
            if (r == AVERROR_EOF) { done = 1; break; }
            if (r < 0) die("avcodec_receive_frame");
            if (fr->format != AV_PIX_FMT_VAAPI) die("frame is not a VAAPI surface (hwaccel not used)");
            AVHWFramesContext *hfc = (AVHWFramesContext *)fr->hw_frames_ctx->data;
            surf_w = hfc->width;
            surf_h = hfc->height;
            VASurfaceID s = (VASurfaceID)(uintptr_t)fr->data[3];
            if (vaSyncSurface(va, s) != VA_STATUS_SUCCESS) die("vaSyncSurface");
            if (n < frames) {
                if (do_comp) check(va, s, fr->width, fr->height, n, 0);
                if (do_sep) check(va, s, fr->width, fr->height, n, 1);
            }
            if (refdir) save_ref(va, s, fr->width, fr->height, n, refdir);
            n++;
            av_frame_unref(fr);
            if (!refdir && n >= frames) done = 1;
        }
    }
    printf("SUMMARY frames=%d checks=%d failures=%d reshows=%d\n", n, checks, failures, reshows);
    av_frame_free(&fr);
    av_packet_free(&pkt);
    avcodec_free_context(&dec);
    avformat_close_input(&fc);
    av_buffer_unref(&hw);
    if (failures) return 1;
    return frames > 0 ? (checks > 0 ? 0 : 1) : (n > 0 ? 0 : 1);
}
