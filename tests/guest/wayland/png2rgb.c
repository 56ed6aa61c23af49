/* png2rgb IN.png OUT.rgb OUT.size: weston-screenshooter's PNG as raw RGB24
 * (OUT.rgb) and its size ("W H", OUT.size), what dmabuf-check reads.
 * One small process instead of ffprobe + ffmpeg per screenshot (under TCG
 * each of those spends seconds loading its libraries). Reads 8-bit RGB or
 * RGBA, not interlaced (what weston writes); anything else is an error, so
 * a screenshot it cannot read fails its check instead of passing.
 * The guest has libz.so.1 but no zlib headers: the one function used is
 * declared here (zlib.h: uncompress(Bytef *, uLongf *, const Bytef *, uLong),
 * uLong being unsigned long) and the library linked by path. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int uncompress(unsigned char *dest, unsigned long *dest_len, const unsigned char *src, unsigned long src_len);

static unsigned be32(const unsigned char *p) { return (unsigned)p[0] << 24 | (unsigned)p[1] << 16 | (unsigned)p[2] << 8 | p[3]; }

static int paeth(int a, int b, int c) {
    int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
    return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

static int fail(const char *what) {
    fprintf(stderr, "png2rgb: %s\n", what);
    return 1;
}

int main(int argc, char **argv) {
    if (argc != 4) return fail("usage: png2rgb IN.png OUT.rgb OUT.size");
    FILE *f = fopen(argv[1], "rb");
    if (!f) return fail("cannot open input");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *d = malloc(n > 0 ? n : 1);
    if (!d || n < 8 || fread(d, 1, n, f) != (size_t)n) return fail("cannot read input");
    fclose(f);
    if (memcmp(d, "\x89PNG\r\n\x1a\n", 8)) return fail("not a PNG");
    unsigned w = 0, h = 0, channels = 0;
    unsigned char *z = malloc(n);
    unsigned long zn = 0;
    for (long i = 8; i + 12 <= n;) {
        unsigned len = be32(d + i);
        const unsigned char *t = d + i + 4, *c = d + i + 8;
        if (len > (unsigned long)(n - i - 12)) return fail("truncated chunk");
        if (!memcmp(t, "IHDR", 4)) {
            w = be32(c), h = be32(c + 4);
            if (c[8] != 8 || (c[9] != 2 && c[9] != 6) || c[12] != 0) return fail("not 8-bit RGB/RGBA non-interlaced");
            channels = c[9] == 2 ? 3 : 4;
        } else if (!memcmp(t, "IDAT", 4)) {
            memcpy(z + zn, c, len);
            zn += len;
        } else if (!memcmp(t, "IEND", 4)) {
            break;
        }
        i += 12 + (long)len;
    }
    if (!w || !h || w > 16384 || h > 16384) return fail("no or bad IHDR");
    unsigned long stride = (unsigned long)w * channels, raw_len = (stride + 1) * h;
    unsigned char *raw = malloc(raw_len), *rgb = malloc((unsigned long)w * h * 3);
    unsigned char *prev = calloc(stride, 1), *cur = malloc(stride);
    if (!raw || !rgb || !prev || !cur) return fail("out of memory");
    unsigned long got = raw_len;
    if (uncompress(raw, &got, z, zn) != 0 || got != raw_len) return fail("bad image data");
    for (unsigned y = 0; y < h; y++) {
        const unsigned char *s = raw + y * (stride + 1);
        unsigned type = s[0];
        for (unsigned long x = 0; x < stride; x++) {
            int a = x >= channels ? cur[x - channels] : 0, b = prev[x], cc = x >= channels ? prev[x - channels] : 0;
            int v = s[1 + x];
            switch (type) {
            case 0: break;
            case 1: v += a; break;
            case 2: v += b; break;
            case 3: v += (a + b) / 2; break;
            case 4: v += paeth(a, b, cc); break;
            default: return fail("bad filter type");
            }
            cur[x] = (unsigned char)v;
        }
        for (unsigned x = 0; x < w; x++) memcpy(rgb + ((unsigned long)y * w + x) * 3, cur + (unsigned long)x * channels, 3);
        unsigned char *tmp = prev;
        prev = cur, cur = tmp;
    }
    FILE *o = fopen(argv[2], "wb");
    if (!o || fwrite(rgb, 1, (size_t)w * h * 3, o) != (size_t)w * h * 3 || fclose(o)) return fail("cannot write OUT.rgb");
    FILE *sz = fopen(argv[3], "w");
    if (!sz || fprintf(sz, "%u %u ", w, h) < 0 || fclose(sz)) return fail("cannot write OUT.size");
    return 0;
}
