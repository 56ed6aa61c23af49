/*
 * Software reference decode with libavcodec (one thread), written as NV12
 * frames (luma rows of width bytes, then interleaved chroma rows of
 * 2*ceil(width/2) bytes), the layout vaclient writes: what
 * `ffmpeg -threads 1 -i IN -f rawvideo -pix_fmt nv12 -` gives, for where
 * the ffmpeg program is not there (the arm64 run under qemu-aarch64, where
 * the simulator decodes with arm64 libavcodec, whose MPEG-2 IDCT is not
 * x86's: the reference must come from the same libavcodec).
 *
 *   swdec IN OUT.nv12
 *
 * Only 8-bit 4:2:0 (yuv420p / yuvj420p) output; anything else is an error.
 * Prints "swdec frames=<n>"; exit 0 on success.
 */
#include <stdio.h>
#include <stdlib.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

static int write_frame(FILE *out, const AVFrame *f)
{
    if (f->format != AV_PIX_FMT_YUV420P && f->format != AV_PIX_FMT_YUVJ420P) {
        fprintf(stderr, "swdec: pixel format %d is not 8-bit 4:2:0\n", f->format);
        return -1;
    }
    int w = f->width, h = f->height, cw = (w + 1) / 2, ch = (h + 1) / 2;
    for (int y = 0; y < h; y++)
        fwrite(f->data[0] + (size_t)y * f->linesize[0], 1, w, out);
    unsigned char *row = malloc(2 * (size_t)cw);
    for (int y = 0; y < ch; y++) {
        for (int x = 0; x < cw; x++) {
            row[2 * x] = f->data[1][(size_t)y * f->linesize[1] + x];
            row[2 * x + 1] = f->data[2][(size_t)y * f->linesize[2] + x];
        }
        fwrite(row, 1, 2 * (size_t)cw, out);
    }
    free(row);
    return 0;
}

static int drain(AVCodecContext *c, AVFrame *f, FILE *out, int *n)
{
    for (;;) {
        int r = avcodec_receive_frame(c, f);
        if (r == AVERROR(EAGAIN) || r == AVERROR_EOF)
            return 0;
        if (r < 0 || write_frame(out, f) < 0)
            return -1;
        (*n)++;
        av_frame_unref(f);
    }
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s IN OUT.nv12\n", argv[0]);
        return 2;
    }
    AVFormatContext *fmt = NULL;
    if (avformat_open_input(&fmt, argv[1], NULL, NULL) < 0 || avformat_find_stream_info(fmt, NULL) < 0) {
        fprintf(stderr, "swdec: cannot open %s\n", argv[1]);
        return 1;
    }
    int vi = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    if (vi < 0) {
        fprintf(stderr, "swdec: no video stream in %s\n", argv[1]);
        return 1;
    }
    const AVCodec *codec = avcodec_find_decoder(fmt->streams[vi]->codecpar->codec_id);
    AVCodecContext *c = avcodec_alloc_context3(codec);
    avcodec_parameters_to_context(c, fmt->streams[vi]->codecpar);
    c->thread_count = 1;
    if (avcodec_open2(c, codec, NULL) < 0) {
        fprintf(stderr, "swdec: avcodec_open2 failed\n");
        return 1;
    }
    FILE *out = fopen(argv[2], "wb");
    if (!out) {
        perror(argv[2]);
        return 1;
    }
    AVPacket *pkt = av_packet_alloc();
    AVFrame *f = av_frame_alloc();
    int n = 0, bad = 0;
    while (!bad && av_read_frame(fmt, pkt) >= 0) {
        if (pkt->stream_index == vi && (avcodec_send_packet(c, pkt) < 0 || drain(c, f, out, &n) < 0))
            bad = 1;
        av_packet_unref(pkt);
    }
    if (!bad && (avcodec_send_packet(c, NULL) < 0 || drain(c, f, out, &n) < 0))
        bad = 1;
    fclose(out);
    av_frame_free(&f);
    av_packet_free(&pkt);
    avcodec_free_context(&c);
    avformat_close_input(&fmt);
    if (bad) {
        fprintf(stderr, "swdec: decoding %s failed after %d frames\n", argv[1], n);
        return 1;
    }
    printf("swdec frames=%d\n", n);
    return 0;
}
