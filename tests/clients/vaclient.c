/*
 * VA client for the fault and concurrency tests: libavcodec's VA-API
 * hwaccel (which fills VAPictureParameterBufferH264 & co. from its own
 * parse) over libva's DRM display on the simulator's render node, driving
 * hantro_drv_video. One VADisplay, one decoder (= one VA context) per
 * stream; per stream two threads: a decode thread (demux, send/receive)
 * and a reader thread (vaSyncSurface + vaQuerySurfaceError when asked,
 * av_hwframe_transfer_data = vaDeriveImage/vaGetImage, write). So N streams
 * run 2N threads against the driver at once. With --serial there is no
 * reader thread: the decode thread reads each frame back as soon as
 * libavcodec outputs it, so every VA call comes in one fixed order (the
 * fault table needs the same picture to meet the same fault every run).
 *
 *   vaclient [--sync-check] [--serial] [--stagger-ms MS] [--device PATH]
 *            [--loop N] [--no-output] [--stats-every N] [--churn N]
 *            OUTDIR stream0.h264 [stream1 ...]
 *
 * --churn N adds N threads that, until every decode is done (and at least
 * 20 rounds each), create and destroy configs (a random advertised
 * profile), surfaces (random sizes, the streams' too) and contexts on the
 * same VADisplay, in the three orders clients use: surfaces then a context
 * on them; surfaces then a context without render targets; a context then
 * its surfaces. Each round checks vaBeginPicture takes its surfaces (they
 * are in the context's session) and creates a buffer; every call must
 * succeed. Prints per thread
 *   churn <t> rounds=<n> errors=<n>
 * and each failure as `churn-error <t> <call> <VAStatus>`.
 *
 * --loop N feeds each stream N times in a row to one decoder (a long
 * decode from a short clip); --no-output reads every frame back but writes
 * nothing; --stats-every N prints, every N frames read back,
 *   stats frames=<n> fds=<n> sockets=<n> maps=<n> rss_kib=<n>
 * (sockets: the simulator's request fds are AF_UNIX sockets).
 * VACLIENT_DUMP_VA=DIR writes the VA buffers of the first picture as
 * rendered, DIR/<nn>-t<VABufferType>-s<size>-n<num_elements>.bin, for
 * tests that replay a real picture through the driver's vtable
 * (vaCreateBuffer/vaRenderPicture/vaEndPicture are interposed here).
 *
 * Writes OUTDIR/<i>.nv12: every output frame of stream i, cropped, NV12
 * (luma rows of width bytes, then chroma rows of 2*ceil(width/2) bytes);
 * a frame that cannot be read back is written as zeros so indices stay
 * aligned with the reference. Prints one line per event:
 *   frame <i> <n> sync=<VAStatus> [mb=<start>-<end>:<type> ...]
 *   frame <i> <n> transfer-error=<averror>
 *   decode-error <i> <averror>
 *   stream <i> frames=<n> errors=<n>
 *   fds before=<n> after=<n>
 *   leaked fd <n> -> <readlink>   (each fd open at the end but not at the start)
 * Exit 0 unless the client itself could not run (bad args, no device).
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/hwcontext.h>
#include <libavutil/hwcontext_vaapi.h>
#include <va/va.h>

#define QCAP 4

static int sync_check;
static int serial;
static int loops = 1;
static int no_output;
static int stats_every;
static int stagger_ms; /* stream i starts i*stagger_ms after stream 0 */
static int churn_threads;
static int decodes_done; /* atomic: every decoder thread has finished */
static pthread_mutex_t print_lock = PTHREAD_MUTEX_INITIALIZER;

#define say(...)                                                                                   \
    do {                                                                                           \
        pthread_mutex_lock(&print_lock);                                                           \
        printf(__VA_ARGS__);                                                                       \
        fflush(stdout);                                                                            \
        pthread_mutex_unlock(&print_lock);                                                         \
    } while (0)

struct stream {
    int index;
    const char *path;
    char out_path[4096];
    AVBufferRef *device;
    /* frame queue decode -> reader */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    AVFrame *q[QCAP];
    int head, count, done;
    int frames, errors;
    FILE *out; /* --serial: written by the decode thread */
    int n;     /* --serial: frames read back */
};

/* Marks open fds in `open` (fd numbers < 4096); returns how many. */
static int snapshot_fds(unsigned char *open)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    int self = dirfd(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        int fd = atoi(e->d_name);
        if (fd == self || fd >= 4096)
            continue;
        if (open)
            open[fd] = 1;
        n++;
    }
    closedir(d);
    return n;
}

/* /proc/self: fds (and how many are sockets), maps lines, VmRSS */
static void stats(int frames)
{
    int fds = 0, sockets = 0, maps = 0;
    long rss = -1;
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.' || atoi(e->d_name) == dirfd(d))
            continue;
        char p[300], t[64] = "";
        snprintf(p, sizeof p, "/proc/self/fd/%s", e->d_name);
        if (readlink(p, t, sizeof t - 1) > 0 && !strncmp(t, "socket:", 7))
            sockets++;
        fds++;
    }
    if (d)
        closedir(d);
    char line[512];
    FILE *f = fopen("/proc/self/maps", "r");
    while (f && fgets(line, sizeof line, f))
        if (strchr(line, '\n'))
            maps++;
    if (f)
        fclose(f);
    f = fopen("/proc/self/status", "r");
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6))
            rss = atol(line + 6);
    if (f)
        fclose(f);
    say("stats frames=%d fds=%d sockets=%d maps=%d rss_kib=%ld\n", frames, fds, sockets, maps, rss);
}

/* VACLIENT_DUMP_VA: the buffers of the first picture */
typedef VAStatus (*create_buffer_fn)(VADisplay, VAContextID, VABufferType, unsigned int, unsigned int, void *, VABufferID *);
typedef VAStatus (*render_picture_fn)(VADisplay, VAContextID, VABufferID *, int);
typedef VAStatus (*end_picture_fn)(VADisplay, VAContextID);
static pthread_mutex_t dump_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    VABufferID id;
    VABufferType type;
    unsigned size, num;
    void *data;
} recs[256];
static int nrecs, dump_done, dump_n;

VAStatus vaCreateBuffer(VADisplay dpy, VAContextID ctx, VABufferType type, unsigned int size, unsigned int num, void *data, VABufferID *id)
{
    create_buffer_fn real = (create_buffer_fn)dlsym(RTLD_NEXT, "vaCreateBuffer");
    VAStatus st = real(dpy, ctx, type, size, num, data, id);
    pthread_mutex_lock(&dump_lock);
    if (st == VA_STATUS_SUCCESS && data && getenv("VACLIENT_DUMP_VA") && !dump_done && nrecs < 256) {
        size_t n = (size_t)size * num;
        recs[nrecs].id = *id;
        recs[nrecs].type = type;
        recs[nrecs].size = size;
        recs[nrecs].num = num;
        recs[nrecs].data = malloc(n);
        memcpy(recs[nrecs].data, data, n);
        nrecs++;
    }
    pthread_mutex_unlock(&dump_lock);
    return st;
}

VAStatus vaRenderPicture(VADisplay dpy, VAContextID ctx, VABufferID *bufs, int n)
{
    render_picture_fn real = (render_picture_fn)dlsym(RTLD_NEXT, "vaRenderPicture");
    const char *dir = getenv("VACLIENT_DUMP_VA");
    pthread_mutex_lock(&dump_lock);
    for (int i = 0; dir && !dump_done && i < n; i++) {
        for (int r = 0; r < nrecs; r++) {
            if (recs[r].id != bufs[i])
                continue;
            char p[4200];
            snprintf(p, sizeof p, "%s/%02d-t%d-s%u-n%u.bin", dir, dump_n++, (int)recs[r].type, recs[r].size, recs[r].num);
            FILE *f = fopen(p, "wb");
            if (!f || fwrite(recs[r].data, (size_t)recs[r].size * recs[r].num, 1, f) != 1) {
                perror(p);
                exit(2);
            }
            fclose(f);
        }
    }
    pthread_mutex_unlock(&dump_lock);
    return real(dpy, ctx, bufs, n);
}

VAStatus vaEndPicture(VADisplay dpy, VAContextID ctx)
{
    end_picture_fn real = (end_picture_fn)dlsym(RTLD_NEXT, "vaEndPicture");
    pthread_mutex_lock(&dump_lock);
    dump_done = 1;
    pthread_mutex_unlock(&dump_lock);
    return real(dpy, ctx);
}

static enum AVPixelFormat pick_vaapi(AVCodecContext *c, const enum AVPixelFormat *fmts)
{
    (void)c;
    for (; *fmts != AV_PIX_FMT_NONE; fmts++)
        if (*fmts == AV_PIX_FMT_VAAPI)
            return *fmts;
    return AV_PIX_FMT_NONE;
}

static void push(struct stream *s, AVFrame *f)
{
    pthread_mutex_lock(&s->lock);
    while (s->count == QCAP)
        pthread_cond_wait(&s->cond, &s->lock);
    s->q[(s->head + s->count) % QCAP] = f;
    s->count++;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

static AVFrame *pop(struct stream *s)
{
    AVFrame *f = NULL;
    pthread_mutex_lock(&s->lock);
    while (s->count == 0 && !s->done)
        pthread_cond_wait(&s->cond, &s->lock);
    if (s->count) {
        f = s->q[s->head];
        s->head = (s->head + 1) % QCAP;
        s->count--;
        pthread_cond_broadcast(&s->cond);
    }
    pthread_mutex_unlock(&s->lock);
    return f;
}

static void write_nv12(FILE *out, const AVFrame *sw, int w, int h)
{
    int cw = (w + 1) / 2 * 2, ch = (h + 1) / 2;
    for (int y = 0; y < h; y++)
        fwrite(sw->data[0] + (size_t)y * sw->linesize[0], 1, w, out);
    for (int y = 0; y < ch; y++)
        fwrite(sw->data[1] + (size_t)y * sw->linesize[1], 1, cw, out);
}

static void write_zeros(FILE *out, int w, int h)
{
    size_t n = (size_t)w * h + (size_t)((w + 1) / 2 * 2) * ((h + 1) / 2);
    uint8_t *z = calloc(1, n);
    fwrite(z, 1, n, out);
    free(z);
}

/* vaSyncSurface (+ vaQuerySurfaceError) when asked, read back, write;
 * frees hw. */
static void read_back(struct stream *s, FILE *out, int n, AVFrame *hw)
{
    int w = hw->width, h = hw->height;
    if (sync_check) {
        AVHWFramesContext *fc = (AVHWFramesContext *)hw->hw_frames_ctx->data;
        AVVAAPIDeviceContext *dc = fc->device_ctx->hwctx;
        VASurfaceID surf = (VASurfaceID)(uintptr_t)hw->data[3];
        VAStatus st = vaSyncSurface(dc->display, surf);
        char mb[512] = "";
        if (st == VA_STATUS_ERROR_DECODING_ERROR) {
            VASurfaceDecodeMBErrors *e = NULL;
            VAStatus q = vaQuerySurfaceError(dc->display, surf, st, (void **)&e);
            if (q != VA_STATUS_SUCCESS) {
                snprintf(mb, sizeof mb, " query=%d", q);
            } else {
                size_t at = 0;
                for (int i = 0; e && e[i].status != -1 && i < 16; i++)
                    at += snprintf(mb + at, sizeof mb - at, " mb=%u-%u:%d", e[i].start_mb, e[i].end_mb, (int)e[i].decode_error_type);
                if (at == 0)
                    snprintf(mb, sizeof mb, " mb=none");
            }
        }
        say("frame %d %d sync=%d%s\n", s->index, n, st, mb);
    }
    AVFrame *sw = av_frame_alloc();
    sw->format = AV_PIX_FMT_NV12;
    int r = av_hwframe_transfer_data(sw, hw, 0);
    if (r < 0) {
        say("frame %d %d transfer-error=%d\n", s->index, n, r);
        if (!no_output)
            write_zeros(out, w, h);
    } else if (!no_output) {
        write_nv12(out, sw, w, h);
    }
    av_frame_free(&sw);
    av_frame_free(&hw);
    if (stats_every && (n + 1) % stats_every == 0)
        stats(n + 1);
}

static FILE *open_out(struct stream *s)
{
    FILE *out = fopen(s->out_path, "wb");
    if (!out) {
        perror(s->out_path);
        exit(2);
    }
    return out;
}

static void *reader(void *arg)
{
    struct stream *s = arg;
    FILE *out = open_out(s);
    int n = 0;
    AVFrame *hw;
    while ((hw = pop(s)))
        read_back(s, out, n++, hw);
    fclose(out);
    return NULL;
}

static void receive_all(struct stream *s, AVCodecContext *c)
{
    for (;;) {
        AVFrame *f = av_frame_alloc();
        int r = avcodec_receive_frame(c, f);
        if (r < 0) {
            av_frame_free(&f);
            if (r != AVERROR(EAGAIN) && r != AVERROR_EOF) {
                say("decode-error %d %d\n", s->index, r);
                s->errors++;
            }
            return;
        }
        s->frames++;
        if (serial)
            read_back(s, s->out, s->n++, f);
        else
            push(s, f);
    }
}

static void *decoder(void *arg)
{
    struct stream *s = arg;
    AVFormatContext *fmt = NULL;
    if (stagger_ms)
        usleep((useconds_t)s->index * stagger_ms * 1000);
    if (avformat_open_input(&fmt, s->path, NULL, NULL) < 0 || avformat_find_stream_info(fmt, NULL) < 0) {
        fprintf(stderr, "cannot open %s\n", s->path);
        exit(2);
    }
    int vi = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    const AVCodec *codec = avcodec_find_decoder(fmt->streams[vi]->codecpar->codec_id);
    AVCodecContext *c = avcodec_alloc_context3(codec);
    avcodec_parameters_to_context(c, fmt->streams[vi]->codecpar);
    c->hw_device_ctx = av_buffer_ref(s->device);
    c->get_format = pick_vaapi;
    c->thread_count = 1;
    c->extra_hw_frames = QCAP + 1;
    if (avcodec_open2(c, codec, NULL) < 0) {
        fprintf(stderr, "avcodec_open2 failed\n");
        exit(2);
    }
    pthread_t rd;
    if (serial)
        s->out = open_out(s);
    else
        pthread_create(&rd, NULL, reader, s);
    AVPacket *pkt = av_packet_alloc();
    for (int l = 0; l < loops; l++) {
        /* the clip again, from its first IDR, into the same decoder (a
         * byte seek: no reopen, so no fd comes and goes between stats) */
        if (l > 0 && av_seek_frame(fmt, -1, 0, AVSEEK_FLAG_BYTE) < 0) {
            fprintf(stderr, "cannot rewind %s\n", s->path);
            exit(2);
        }
        while (av_read_frame(fmt, pkt) >= 0) {
            if (pkt->stream_index == vi) {
                int r = avcodec_send_packet(c, pkt);
                if (r < 0 && r != AVERROR(EAGAIN)) {
                    say("decode-error %d %d\n", s->index, r);
                    s->errors++;
                }
                receive_all(s, c);
            }
            av_packet_unref(pkt);
        }
    }
    avcodec_send_packet(c, NULL);
    receive_all(s, c);
    pthread_mutex_lock(&s->lock);
    s->done = 1;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
    if (serial)
        fclose(s->out);
    else
        pthread_join(rd, NULL);
    av_packet_free(&pkt);
    avcodec_free_context(&c); /* vaDestroyContext, vaDestroySurfaces */
    avformat_close_input(&fmt);
    say("stream %d frames=%d errors=%d\n", s->index, s->frames, s->errors);
    return NULL;
}

struct churn {
    int index;
    VADisplay dpy;
    int rounds, errors;
};

#define CHURN_CHECK(call)                                                                          \
    do {                                                                                           \
        VAStatus st_ = (call);                                                                     \
        if (st_ != VA_STATUS_SUCCESS) {                                                            \
            say("churn-error %d %s %d\n", ch->index, #call, st_);                                  \
            ch->errors++;                                                                          \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)

static void *churner(void *arg)
{
    struct churn *ch = arg;
    VADisplay dpy = ch->dpy;
    unsigned seed = 0x9e3779b9u * (unsigned)(ch->index + 1);
    int np = vaMaxNumProfiles(dpy);
    VAProfile *pl = calloc(np, sizeof *pl);
    if (vaQueryConfigProfiles(dpy, pl, &np) != VA_STATUS_SUCCESS || np <= 0) {
        say("churn-error %d vaQueryConfigProfiles\n", ch->index);
        ch->errors++;
        free(pl);
        return NULL;
    }
    /* the corpus' sizes among them, so churn sessions match the decoders' */
    static const int sizes[][2] = {{176, 144}, {320, 240}, {352, 288}, {640, 480}, {1280, 720}};
    while (ch->rounds < 20 || !__atomic_load_n(&decodes_done, __ATOMIC_ACQUIRE)) {
        VAProfile p = pl[rand_r(&seed) % np];
        VAConfigID cfg = VA_INVALID_ID;
        VAContextID ctx = VA_INVALID_ID;
        VASurfaceID sf[4];
        int nsf = 0;
        int order = rand_r(&seed) % 3;
        int w = sizes[rand_r(&seed) % 5][0], h = 0;
        for (int i = 0; i < 5; i++)
            if (sizes[i][0] == w)
                h = sizes[i][1];
        CHURN_CHECK(vaCreateConfig(dpy, p, VAEntrypointVLD, NULL, 0, &cfg));
        if (order == 2) {
            CHURN_CHECK(vaCreateContext(dpy, cfg, w, h, VA_PROGRESSIVE, NULL, 0, &ctx));
            CHURN_CHECK(vaCreateSurfaces(dpy, VA_RT_FORMAT_YUV420, w, h, sf, 4, NULL, 0));
            nsf = 4;
        } else {
            CHURN_CHECK(vaCreateSurfaces(dpy, VA_RT_FORMAT_YUV420, w, h, sf, 4, NULL, 0));
            nsf = 4;
            CHURN_CHECK(vaCreateContext(dpy, cfg, w, h, VA_PROGRESSIVE, order == 0 ? sf : NULL, order == 0 ? 4 : 0, &ctx));
        }
        /* the surfaces are in the context's session */
        for (int i = 0; i < nsf; i++)
            CHURN_CHECK(vaBeginPicture(dpy, ctx, sf[i]));
        VABufferID b;
        CHURN_CHECK(vaCreateBuffer(dpy, ctx, VAPictureParameterBufferType, 64, 1, NULL, &b));
        CHURN_CHECK(vaDestroyBuffer(dpy, b));
        VASurfaceStatus ss;
        CHURN_CHECK(vaQuerySurfaceStatus(dpy, sf[rand_r(&seed) % 4], &ss));
    out:
        /* in a random order */
        switch (rand_r(&seed) % 2) {
        case 0:
            if (ctx != VA_INVALID_ID)
                vaDestroyContext(dpy, ctx);
            if (nsf)
                vaDestroySurfaces(dpy, sf, nsf);
            break;
        default:
            if (nsf)
                vaDestroySurfaces(dpy, sf, nsf);
            if (ctx != VA_INVALID_ID)
                vaDestroyContext(dpy, ctx);
        }
        if (cfg != VA_INVALID_ID)
            vaDestroyConfig(dpy, cfg);
        ch->rounds++;
        if (ch->errors > 20)
            break;
    }
    free(pl);
    return NULL;
}

int main(int argc, char **argv)
{
    const char *device = "/dev/dri/renderD128";
    int a = 1;
    for (; a < argc && argv[a][0] == '-'; a++) {
        if (!strcmp(argv[a], "--sync-check"))
            sync_check = 1;
        else if (!strcmp(argv[a], "--serial"))
            serial = 1;
        else if (!strcmp(argv[a], "--loop") && a + 1 < argc)
            loops = atoi(argv[++a]);
        else if (!strcmp(argv[a], "--no-output"))
            no_output = 1;
        else if (!strcmp(argv[a], "--stats-every") && a + 1 < argc)
            stats_every = atoi(argv[++a]);
        else if (!strcmp(argv[a], "--stagger-ms") && a + 1 < argc)
            stagger_ms = atoi(argv[++a]);
        else if (!strcmp(argv[a], "--churn") && a + 1 < argc)
            churn_threads = atoi(argv[++a]);
        else if (!strcmp(argv[a], "--device") && a + 1 < argc)
            device = argv[++a];
        else {
            fprintf(stderr, "unknown option %s\n", argv[a]);
            return 2;
        }
    }
    if (argc - a < 2) {
        fprintf(stderr, "usage: %s [--sync-check] [--serial] [--stagger-ms MS] [--device PATH] [--loop N] [--no-output] [--stats-every N] [--churn N] OUTDIR stream...\n", argv[0]);
        return 2;
    }
    const char *outdir = argv[a++];
    int n = argc - a;
    av_log_set_level(getenv("VACLIENT_AV_LOG") ? atoi(getenv("VACLIENT_AV_LOG")) : AV_LOG_ERROR);
    static unsigned char before[4096];
    int fds_before = snapshot_fds(before);
    AVBufferRef *dev = NULL;
    int r = av_hwdevice_ctx_create(&dev, AV_HWDEVICE_TYPE_VAAPI, device, NULL, 0);
    if (r < 0) {
        fprintf(stderr, "av_hwdevice_ctx_create(%s) failed: %d\n", device, r);
        return 3;
    }
    struct stream *ss = calloc(n, sizeof *ss);
    pthread_t *th = calloc(n, sizeof *th);
    for (int i = 0; i < n; i++) {
        ss[i].index = i;
        ss[i].path = argv[a + i];
        ss[i].device = dev;
        snprintf(ss[i].out_path, sizeof ss[i].out_path, "%s/%d.nv12", outdir, i);
        pthread_mutex_init(&ss[i].lock, NULL);
        pthread_cond_init(&ss[i].cond, NULL);
        pthread_create(&th[i], NULL, decoder, &ss[i]);
    }
    struct churn *chs = calloc(churn_threads > 0 ? churn_threads : 1, sizeof *chs);
    pthread_t *cth = calloc(churn_threads > 0 ? churn_threads : 1, sizeof *cth);
    for (int i = 0; i < churn_threads; i++) {
        chs[i].index = i;
        chs[i].dpy = ((AVVAAPIDeviceContext *)((AVHWDeviceContext *)dev->data)->hwctx)->display;
        pthread_create(&cth[i], NULL, churner, &chs[i]);
    }
    for (int i = 0; i < n; i++)
        pthread_join(th[i], NULL);
    __atomic_store_n(&decodes_done, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < churn_threads; i++) {
        pthread_join(cth[i], NULL);
        say("churn %d rounds=%d errors=%d\n", i, chs[i].rounds, chs[i].errors);
    }
    free(chs);
    free(cth);
    av_buffer_unref(&dev); /* vaTerminate */
    static unsigned char after[4096];
    int fds_after = snapshot_fds(after);
    say("fds before=%d after=%d\n", fds_before, fds_after);
    for (int fd = 0; fd < 4096; fd++) {
        if (after[fd] && !before[fd]) {
            char p[64], t[300] = "";
            snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
            ssize_t n = readlink(p, t, sizeof t - 1);
            say("leaked fd %d -> %s\n", fd, n > 0 ? t : "?");
        }
    }
    free(ss);
    free(th);
    return 0;
}
