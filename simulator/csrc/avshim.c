/* Thin shim over libavcodec's H.264 decoder for the simulator.
 *
 * The simulated hardware must produce every picture right after its own
 * slices, in decode order, because a stateless client waits for each request
 * before sending later ones.  libavcodec delays output for reordering (and
 * AV_CODEC_FLAG_LOW_DELAY drops out-of-order pictures), so instead of relying
 * on output order we hook get_buffer2: the buffer allocated for the picture
 * being decoded is kept referenced, and once avcodec_send_packet() returns
 * (thread_count = 1, so the whole access unit incl. deblocking is done) its
 * pixels are final.  Frames that libavcodec outputs are simply dropped.
 */
#include <libavcodec/avcodec.h>
#include <libavutil/frame.h>
#include <libavutil/pixdesc.h>
#include <stdint.h>
#include <string.h>

typedef struct simdec {
    AVCodecContext *ctx;
    AVFrame *cur;     /* picture most recently started by the decoder */
    AVFrame *sink;    /* drained output */
    AVPacket *pkt;
    int new_pic;      /* get_buffer2 was called during this decode call */
} simdec;

typedef struct simdec_pic {
    int width, height;        /* coded (allocated) size */
    int format;               /* 0 = 8-bit 4:2:0, 1 = gray, -1 = unsupported */
    const uint8_t *data[3];
    int linesize[3];
    int new_pic;
} simdec_pic;

static int get_buffer(AVCodecContext *avctx, AVFrame *frame, int flags)
{
    simdec *s = avctx->opaque;
    int ret = avcodec_default_get_buffer2(avctx, frame, flags);
    if (ret < 0)
        return ret;
    av_frame_unref(s->cur);
    if (av_frame_ref(s->cur, frame) < 0)
        return AVERROR(ENOMEM);
    s->new_pic = 1;
    return 0;
}

simdec *simdec_new(int codec_id)
{
    const AVCodec *codec = avcodec_find_decoder((enum AVCodecID)codec_id);
    simdec *s;
    if (!codec)
        return NULL;
    s = av_mallocz(sizeof(*s));
    if (!s)
        return NULL;
    s->ctx = avcodec_alloc_context3(codec);
    s->cur = av_frame_alloc();
    s->sink = av_frame_alloc();
    s->pkt = av_packet_alloc();
    if (!s->ctx || !s->cur || !s->sink || !s->pkt)
        goto fail;
    s->ctx->opaque = s;
    s->ctx->get_buffer2 = get_buffer;
    s->ctx->thread_count = 1;
    s->ctx->thread_type = 0;
    /* keep the host application's stderr clean: our decoder's messages
     * (e.g. "Increasing reorder buffer") are verbose-level only */
    s->ctx->log_level_offset = 24;
    if (avcodec_open2(s->ctx, codec, NULL) < 0)
        goto fail;
    return s;
fail:
    avcodec_free_context(&s->ctx);
    av_frame_free(&s->cur);
    av_frame_free(&s->sink);
    av_packet_free(&s->pkt);
    av_free(s);
    return NULL;
}

void simdec_free(simdec *s)
{
    if (!s)
        return;
    avcodec_free_context(&s->ctx);
    av_frame_free(&s->cur);
    av_frame_free(&s->sink);
    av_packet_free(&s->pkt);
    av_free(s);
}

/* Decode one access unit (Annex-B).  Returns 0 on success, a negative
 * AVERROR otherwise; *pic describes the picture this access unit decoded
 * into (valid until the next call). */
int simdec_decode(simdec *s, const uint8_t *data, int size, simdec_pic *pic)
{
    int ret;
    memset(pic, 0, sizeof(*pic));
    s->new_pic = 0;
    av_packet_unref(s->pkt);
    ret = av_new_packet(s->pkt, size);
    if (ret < 0)
        return ret;
    memcpy(s->pkt->data, data, size);
    ret = avcodec_send_packet(s->ctx, s->pkt);
    while (avcodec_receive_frame(s->ctx, s->sink) >= 0)
        av_frame_unref(s->sink);
    if (ret < 0 && ret != AVERROR(EAGAIN))
        return ret;
    if (!s->cur->data[0])
        return AVERROR_INVALIDDATA;
    pic->width = s->cur->width;
    pic->height = s->cur->height;
    switch (s->cur->format) {
    case AV_PIX_FMT_YUV420P:
    case AV_PIX_FMT_YUVJ420P:
        pic->format = 0;
        break;
    case AV_PIX_FMT_GRAY8:
        pic->format = 1;
        break;
    default:
        pic->format = -1;
    }
    for (int i = 0; i < 3; i++) {
        pic->data[i] = s->cur->data[i];
        pic->linesize[i] = s->cur->linesize[i];
    }
    pic->new_pic = s->new_pic;
    return 0;
}

