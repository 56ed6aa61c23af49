/* vaInitialize latency: opens the DRM render node, times vaGetDisplayDRM +
 * vaInitialize (libva loads the driver, the driver discovers the decoders)
 * and vaTerminate, prints one line. Firefox's probe does this once per
 * process, so scripts/bench.sh runs this program repeatedly.
 *   va_init /dev/dri/renderD128 */
#include <fcntl.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include <va/va.h>
#include <va/va_drm.h>

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

int main(int argc, char **argv)
{
    const char *dev = argc > 1 ? argv[1] : "/dev/dri/renderD128";
    int fd = open(dev, O_RDWR);
    if (fd < 0) { perror(dev); return 1; }
    double t0 = now_us();
    VADisplay dpy = vaGetDisplayDRM(fd);
    int major, minor;
    VAStatus st = vaInitialize(dpy, &major, &minor);
    double t1 = now_us();
    if (st != VA_STATUS_SUCCESS) { fprintf(stderr, "vaInitialize: %s\n", vaErrorStr(st)); return 1; }
    int n = vaMaxNumProfiles(dpy);
    VAProfile profiles[64];
    if (n > 64) n = 64;
    vaQueryConfigProfiles(dpy, profiles, &n);
    double t2 = now_us();
    vaTerminate(dpy);
    double t3 = now_us();
    printf("va_init_us=%.0f query_profiles_us=%.0f terminate_us=%.0f profiles=%d\n", t1 - t0, t2 - t1, t3 - t2, n);
    close(fd);
    return 0;
}
