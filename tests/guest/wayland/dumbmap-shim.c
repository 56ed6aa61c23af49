/*
 * LD_PRELOAD shim for the test compositor (weston on llvmpipe over vgem).
 *
 * Mesa's software winsys (kms_dri_sw_winsys) imports a dmabuf with
 * DRM_IOCTL_PRIME_FD_TO_HANDLE on the render node, then maps it with
 * DRM_IOCTL_MODE_MAP_DUMB + mmap(render fd, offset). vgem refuses MAP_DUMB
 * for objects it did not allocate (a visl CAPTURE buffer exported by the VA
 * driver), and llvmpipe then dereferences MAP_FAILED. The kernel can map the
 * dmabuf itself, so this shim remembers the dmabuf behind every imported
 * handle and, when MAP_DUMB fails for one, hands out a private fake offset
 * that mmap() turns into a mapping of the dmabuf fd. Nothing else changes:
 * buffers vgem can map go through the real ioctl untouched.
 *
 * A handle's entry ends when the handle does: DRM_IOCTL_GEM_CLOSE and also
 * DRM_IOCTL_MODE_DESTROY_DUMB (what kms_dri_sw_winsys calls to drop an
 * import). The kernel recycles handle numbers, so an import whose handle has
 * an entry for another dma_buf (different inode) replaces it. (Until this was
 * handled, a new import that got a recycled handle was mapped to the previous
 * dma_buf: weston showed frame 0 for frame 2 — the "re-export" finding.)
 *
 * Build: gcc -shared -fPIC -O2 -o dumbmap-shim.so dumbmap-shim.c -ldl
 * Log: DUMBMAP_SHIM_LOG=1 prints one line per served map to stderr.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#include <drm/drm.h>
#include <drm/drm_mode.h>

#define MAX_ENTRIES 1024
/* page aligned, far above any real vgem fake offset (those are < 2^44) */
#define FAKE_BASE (1ULL << 46)
#define FAKE_STRIDE (1ULL << 34)

struct entry { int drm_fd; uint32_t handle; int dmabuf; };
static struct entry table[MAX_ENTRIES];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int (*real_ioctl)(int, unsigned long, ...);
static void *(*real_mmap)(void *, size_t, int, int, int, off_t);
static unsigned long served;

static void init(void)
{
    if (!real_ioctl) real_ioctl = (int (*)(int, unsigned long, ...))dlsym(RTLD_NEXT, "ioctl");
    if (!real_mmap) real_mmap = (void *(*)(void *, size_t, int, int, int, off_t))dlsym(RTLD_NEXT, "mmap");
}

static int logging(void)
{
    const char *e = getenv("DUMBMAP_SHIM_LOG");
    return e && *e == '1';
}

static int find(int drm_fd, uint32_t handle)
{
    for (int i = 0; i < MAX_ENTRIES; i++)
        if (table[i].dmabuf > 0 && table[i].drm_fd == drm_fd && table[i].handle == handle)
            return i;
    return -1;
}

int ioctl(int fd, unsigned long req, ...)
{
    va_list ap;
    va_start(ap, req);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    init();
    int ret = real_ioctl(fd, req, arg);
    int saved = errno;
    if (req == DRM_IOCTL_PRIME_FD_TO_HANDLE && ret == 0) {
        struct drm_prime_handle *p = arg;
        pthread_mutex_lock(&lock);
        int e = find(fd, p->handle);
        if (e >= 0) {
            /* same handle: the same dma_buf unless the handle was recycled */
            struct stat a, b;
            if (fstat(p->fd, &a) == 0 && fstat(table[e].dmabuf, &b) == 0 && a.st_ino != b.st_ino) {
                int d = fcntl(p->fd, F_DUPFD_CLOEXEC, 3);
                if (d >= 0) { close(table[e].dmabuf); table[e].dmabuf = d; }
            }
        } else {
            for (int i = 0; i < MAX_ENTRIES; i++) {
                if (table[i].dmabuf <= 0) {
                    int d = fcntl(p->fd, F_DUPFD_CLOEXEC, 3);
                    if (d >= 0) table[i] = (struct entry){ fd, p->handle, d };
                    break;
                }
            }
        }
        pthread_mutex_unlock(&lock);
    } else if ((req == DRM_IOCTL_GEM_CLOSE || req == DRM_IOCTL_MODE_DESTROY_DUMB) && ret == 0) {
        /* both structs start with the u32 handle */
        uint32_t handle = req == DRM_IOCTL_GEM_CLOSE ? ((struct drm_gem_close *)arg)->handle
                                                      : ((struct drm_mode_destroy_dumb *)arg)->handle;
        pthread_mutex_lock(&lock);
        int i = find(fd, handle);
        if (i >= 0) { close(table[i].dmabuf); table[i].dmabuf = 0; }
        pthread_mutex_unlock(&lock);
    } else if (req == DRM_IOCTL_MODE_MAP_DUMB && ret != 0) {
        struct drm_mode_map_dumb *m = arg;
        pthread_mutex_lock(&lock);
        int i = find(fd, m->handle);
        pthread_mutex_unlock(&lock);
        if (i >= 0) {
            m->offset = FAKE_BASE + (uint64_t)i * FAKE_STRIDE;
            ret = 0;
            saved = 0;
        }
    }
    errno = saved;
    return ret;
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    init();
    uint64_t o = (uint64_t)off;
    if (o >= FAKE_BASE && o < FAKE_BASE + (uint64_t)MAX_ENTRIES * FAKE_STRIDE) {
        int i = (int)((o - FAKE_BASE) / FAKE_STRIDE);
        pthread_mutex_lock(&lock);
        int d = table[i].drm_fd == fd ? table[i].dmabuf : -1;
        pthread_mutex_unlock(&lock);
        if (d > 0) {
            void *p = real_mmap(addr, len, prot, flags, d, (off_t)(o - FAKE_BASE - (uint64_t)i * FAKE_STRIDE));
            if (logging())
                fprintf(stderr, "dumbmap-shim: map #%lu handle %u len %zu via dmabuf -> %p\n",
                        ++served, table[i].handle, len, p);
            return p;
        }
    }
    return real_mmap(addr, len, prot, flags, fd, off);
}

void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    return mmap(addr, len, prot, flags, fd, off);
}
