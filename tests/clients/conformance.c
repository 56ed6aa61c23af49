/*
 * The rules of libva-utils' conformance suite (test_va_api, the test/ sources of
 * libva-utils 2.22), checked through libva on a DRM display, for every
 * profile and entrypoint VA knows: what the driver advertises must behave as
 * the suite expects, what it does not advertise must be refused as the suite
 * expects. Written from the suite's source (its fixture, test_data.h and each
 * test file), so that a regression is caught without libva-utils; one rule
 * the suite does not state is added: the size limits of each profile
 * (vaQuerySurfaceAttributes Min/Max, vaGetConfigAttributes
 * MaxPictureWidth/Height, vaCreateContext) are the device's
 * VIDIOC_ENUM_FRAMESIZES range for the profile's coded format, read here from
 * the V4L2 node itself.
 *
 *   conformance DRM_NODE VIDEO_NODE
 *
 * Prints one line per failed check ("FAIL <test> <profile>/<entrypoint>:
 * ..."), one "profile <n> <name> ..." line per advertised profile, then
 * "conformance: <checks> checks, <failures> failures". Exit status 1 on any
 * failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/videodev2.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <va/va.h>
#include <va/va_dec_hevc.h>
#include <va/va_dec_jpeg.h>
#include <va/va_dec_vp8.h>
#include <va/va_dec_vp9.h>
#include <va/va_drm.h>
#include <va/va_drmcommon.h>
#include <va/va_str.h>

static VADisplay dpy;
static long checks, failures;
static const char *cur_test = "";
static VAProfile cur_profile;
static VAEntrypoint cur_entry;

static void fail(const char *fmt, ...)
{
    va_list ap;
    failures++;
    printf("FAIL %s %s/%s: ", cur_test, vaProfileStr(cur_profile), vaEntrypointStr(cur_entry));
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

#define CHECK(cond, ...)          \
    do {                          \
        checks++;                 \
        if (!(cond))              \
            fail(__VA_ARGS__);    \
    } while (0)
#define STATUS(want, got, what)                                                                  \
    do {                                                                                         \
        VAStatus s_ = (got);                                                                     \
        CHECK(s_ == (want), "%s: want %s, got %s", what, vaErrorStr(want), vaErrorStr(s_));      \
    } while (0)
#define N(a) (sizeof(a) / sizeof((a)[0]))

/* test_data.h */
static const VAProfile profiles_all[] = {
    VAProfileNone, VAProfileMPEG2Simple, VAProfileMPEG2Main, VAProfileMPEG4Simple, VAProfileMPEG4AdvancedSimple,
    VAProfileMPEG4Main, VAProfileH264Main, VAProfileH264High, VAProfileVC1Simple, VAProfileVC1Main,
    VAProfileVC1Advanced, VAProfileH263Baseline, VAProfileJPEGBaseline, VAProfileH264ConstrainedBaseline,
    VAProfileVP8Version0_3, VAProfileH264MultiviewHigh, VAProfileH264StereoHigh, VAProfileHEVCMain,
    VAProfileHEVCMain10, VAProfileVP9Profile0, VAProfileVP9Profile1, VAProfileVP9Profile2, VAProfileVP9Profile3,
#if VA_CHECK_VERSION(1, 8, 0)
    VAProfileAV1Profile0, VAProfileAV1Profile1,
#endif
#if VA_CHECK_VERSION(1, 18, 0)
    VAProfileH264High10,
#endif
};
static const VAEntrypoint entrypoints_all[] = {
    VAEntrypointVLD, VAEntrypointIZZ, VAEntrypointIDCT, VAEntrypointMoComp, VAEntrypointDeblocking,
    VAEntrypointEncSlice, VAEntrypointEncPicture, VAEntrypointEncSliceLP, VAEntrypointVideoProc, VAEntrypointFEI,
};
static const struct { int w, h; } resolutions[] = {
    {16, 16}, {32, 32}, {176, 120}, {352, 240}, {352, 288}, {480, 320}, {720, 480}, {720, 576}, {768, 576},
    {800, 480}, {854, 480}, {1280, 720}, {1920, 1080}, {2048, 1080}, {4096, 2160}, {8192, 8192}, {10240, 10240},
};
static const uint32_t rt_formats[] = {
    VA_RT_FORMAT_YUV420, VA_RT_FORMAT_YUV422, VA_RT_FORMAT_YUV444, VA_RT_FORMAT_YUV411, VA_RT_FORMAT_YUV400,
    VA_RT_FORMAT_YUV420_10BPP, VA_RT_FORMAT_YUV422_10, VA_RT_FORMAT_YUV444_10, VA_RT_FORMAT_YUV420_12,
    VA_RT_FORMAT_YUV422_12, VA_RT_FORMAT_YUV444_12, VA_RT_FORMAT_RGB16, VA_RT_FORMAT_RGB32, VA_RT_FORMAT_RGBP,
    VA_RT_FORMAT_RGB32_10BPP, VA_RT_FORMAT_PROTECTED, 0,
};
static const uint32_t rate_controls[] = {
    VA_RC_NONE, VA_RC_CBR, VA_RC_VBR, VA_RC_VCM, VA_RC_CQP, VA_RC_VBR_CONSTRAINED, VA_RC_ICQ, VA_RC_MB,
    VA_RC_CFS, VA_RC_PARALLEL, VA_RC_QVBR, VA_RC_AVBR,
#if VA_CHECK_VERSION(1, 10, 0)
    VA_RC_TCBRC,
#endif
    0,
};
static const uint32_t dec_slice_modes[] = {VA_DEC_SLICE_MODE_NORMAL, VA_DEC_SLICE_MODE_BASE, 0};
static const uint32_t packed_headers[] = {
    VA_ENC_PACKED_HEADER_SEQUENCE, VA_ENC_PACKED_HEADER_PICTURE, VA_ENC_PACKED_HEADER_SLICE,
    VA_ENC_PACKED_HEADER_MISC, VA_ENC_PACKED_HEADER_RAW_DATA, 0,
};
static const uint32_t enc_interlaced[] = {
    VA_ENC_INTERLACED_FRAME, VA_ENC_INTERLACED_FIELD, VA_ENC_INTERLACED_MBAFF, VA_ENC_INTERLACED_PAFF, 0,
};
static const uint32_t fei_functions[] = {VA_FEI_FUNCTION_ENC, VA_FEI_FUNCTION_PAK, VA_FEI_FUNCTION_ENC_PAK, 0};
#if VA_CHECK_VERSION(1, 11, 0)
static const uint32_t encryption_types[] = {
    VA_ENCRYPTION_TYPE_FULLSAMPLE_CTR, VA_ENCRYPTION_TYPE_FULLSAMPLE_CBC, VA_ENCRYPTION_TYPE_SUBSAMPLE_CTR,
    VA_ENCRYPTION_TYPE_SUBSAMPLE_CBC, 0,
};
#endif
static const uint32_t mem_types[] = {
    VA_SURFACE_ATTRIB_MEM_TYPE_VA, VA_SURFACE_ATTRIB_MEM_TYPE_V4L2, VA_SURFACE_ATTRIB_MEM_TYPE_USER_PTR,
    VA_SURFACE_ATTRIB_MEM_TYPE_KERNEL_DRM, VA_SURFACE_ATTRIB_MEM_TYPE_DRM_PRIME,
    VA_SURFACE_ATTRIB_MEM_TYPE_DRM_PRIME_2,
#if VA_CHECK_VERSION(1, 21, 0)
    VA_SURFACE_ATTRIB_MEM_TYPE_DRM_PRIME_3,
#endif
    0,
};

/* g_vaConfigAttribBitMasks: the masks of a bitfield attribute, or NULL. */
static const uint32_t *config_masks(VAConfigAttribType t)
{
    switch (t) {
    case VAConfigAttribRTFormat: return rt_formats;
    case VAConfigAttribRateControl: return rate_controls;
    case VAConfigAttribDecSliceMode: return dec_slice_modes;
    case VAConfigAttribEncPackedHeaders: return packed_headers;
    case VAConfigAttribEncInterlaced: return enc_interlaced;
    case VAConfigAttribFEIFunctionType: return fei_functions;
#if VA_CHECK_VERSION(1, 11, 0)
    case VAConfigAttribEncryption: return encryption_types;
#endif
    default: return NULL;
    }
}

/* ---- driver queries --------------------------------------------------------------- */
static VAProfile adv_profiles[64];
static int n_adv_profiles;

static int profile_advertised(VAProfile p)
{
    for (int i = 0; i < n_adv_profiles; i++)
        if (adv_profiles[i] == p)
            return 1;
    return 0;
}

/* getSupportStatus */
static VAStatus support_status(VAProfile p, VAEntrypoint e)
{
    if (!profile_advertised(p))
        return VA_STATUS_ERROR_UNSUPPORTED_PROFILE;
    VAEntrypoint eps[64];
    int n = 0;
    int max = vaMaxNumEntrypoints(dpy);
    if (max <= 0 || max > 64 || vaQueryConfigEntrypoints(dpy, p, eps, &n) != VA_STATUS_SUCCESS)
        return VA_STATUS_ERROR_UNKNOWN;
    for (int i = 0; i < n; i++)
        if (eps[i] == e)
            return VA_STATUS_SUCCESS;
    return VA_STATUS_ERROR_UNSUPPORTED_ENTRYPOINT;
}

/* getConfigAttributes with the defaults: every attribute type VA knows, the
 * unsupported ones removed. */
static int supported_config_attribs(VAProfile p, VAEntrypoint e, VAConfigAttrib *out)
{
    VAConfigAttrib all[VAConfigAttribTypeMax];
    for (int t = 0; t < VAConfigAttribTypeMax; t++)
        all[t] = (VAConfigAttrib){.type = (VAConfigAttribType)t, .value = VA_ATTRIB_NOT_SUPPORTED};
    STATUS(VA_STATUS_SUCCESS, vaGetConfigAttributes(dpy, p, e, all, VAConfigAttribTypeMax), "vaGetConfigAttributes");
    int n = 0;
    for (int t = 0; t < VAConfigAttribTypeMax; t++)
        if (all[t].value != VA_ATTRIB_NOT_SUPPORTED)
            out[n++] = all[t];
    return n;
}

static VAConfigID create_config(VAProfile p, VAEntrypoint e, VAConfigAttrib *a, int n, VAStatus want)
{
    VAConfigID id = VA_INVALID_ID;
    VAStatus s = vaCreateConfig(dpy, p, e, n ? a : NULL, n, &id);
    CHECK(s == want, "vaCreateConfig(%d attribs%s%d=%#x): want %s, got %s", n, n ? ", type " : "", n ? (int)a[0].type : 0,
          n ? a[0].value : 0, vaErrorStr(want), vaErrorStr(s));
    if (want == VA_STATUS_SUCCESS)
        CHECK(id != VA_INVALID_ID, "vaCreateConfig succeeded without an id");
    else
        CHECK(id == VA_INVALID_ID, "failed vaCreateConfig wrote config id %#x", id);
    return s == VA_STATUS_SUCCESS ? id : VA_INVALID_ID;
}

static void destroy_config(VAConfigID id, VAStatus want)
{
    STATUS(want, vaDestroyConfig(dpy, id), "vaDestroyConfig");
}

/* querySurfaceAttributes */
static int surface_attribs(VAConfigID cfg, VASurfaceAttrib *out, int cap)
{
    unsigned n = 0;
    STATUS(VA_STATUS_SUCCESS, vaQuerySurfaceAttributes(dpy, cfg, NULL, &n), "vaQuerySurfaceAttributes(NULL)");
    CHECK(n > 0 && (int)n <= cap, "vaQuerySurfaceAttributes count %u", n);
    if (n == 0 || (int)n > cap)
        return 0;
    STATUS(VA_STATUS_SUCCESS, vaQuerySurfaceAttributes(dpy, cfg, out, &n), "vaQuerySurfaceAttributes");
    CHECK(n > 0, "vaQuerySurfaceAttributes returned no attributes");
    for (unsigned i = 0; i < n; i++) {
        CHECK(out[i].flags & (VA_SURFACE_ATTRIB_GETTABLE | VA_SURFACE_ATTRIB_SETTABLE),
              "surface attribute %d has neither GETTABLE nor SETTABLE", out[i].type);
        CHECK(out[i].value.type >= VAGenericValueTypeInteger && out[i].value.type <= VAGenericValueTypeFunc,
              "surface attribute %d value type %d", out[i].type, out[i].value.type);
    }
    return (int)n;
}

/* getMinMaxSurfaceResolution */
static void min_max(const VASurfaceAttrib *a, int n, int *minw, int *minh, int *maxw, int *maxh)
{
    *minw = *minh = 1;
    *maxw = *maxh = 0x7fffffff;
    for (int i = 0; i < n; i++) {
        int *dst = a[i].type == VASurfaceAttribMinWidth ? minw : a[i].type == VASurfaceAttribMinHeight ? minh :
                   a[i].type == VASurfaceAttribMaxWidth ? maxw : a[i].type == VASurfaceAttribMaxHeight ? maxh : NULL;
        if (!dst)
            continue;
        CHECK(a[i].value.type == VAGenericValueTypeInteger, "size attribute %d not an integer", a[i].type);
        CHECK(a[i].value.value.i >= 1, "size attribute %d = %d", a[i].type, a[i].value.value.i);
        *dst = a[i].value.value.i;
    }
    CHECK(*minw <= *maxw && *minh <= *maxh, "min %dx%d above max %dx%d", *minw, *minh, *maxw, *maxh);
}

/* ---- the device's limits ------------------------------------------------------------ */
static int video_fd = -1;

/* The V4L2 coded format of a VA profile (test-side knowledge; a profile the
 * driver advertises that is missing here fails, so a new codec adds its
 * line). */
static uint32_t coded_fourcc(VAProfile p)
{
    switch (p) {
    case VAProfileH264ConstrainedBaseline: case VAProfileH264Main: case VAProfileH264High:
    case VAProfileH264MultiviewHigh: case VAProfileH264StereoHigh:
#if VA_CHECK_VERSION(1, 18, 0)
    case VAProfileH264High10:
#endif
        return v4l2_fourcc('S', '2', '6', '4');
    case VAProfileMPEG2Simple: case VAProfileMPEG2Main: return v4l2_fourcc('M', 'G', '2', 'S');
    case VAProfileVP8Version0_3: return v4l2_fourcc('V', 'P', '8', 'F');
    case VAProfileHEVCMain: case VAProfileHEVCMain10: return v4l2_fourcc('S', '2', '6', '5');
    case VAProfileVP9Profile0: case VAProfileVP9Profile1: case VAProfileVP9Profile2: case VAProfileVP9Profile3:
        return v4l2_fourcc('V', 'P', '9', 'F');
#if VA_CHECK_VERSION(1, 8, 0)
    case VAProfileAV1Profile0: case VAProfileAV1Profile1: return v4l2_fourcc('A', 'V', '1', 'F');
#endif
    default: return 0;
    }
}

/* VIDIOC_ENUM_FRAMESIZES of the profile's coded format: 1 if found. */
static int device_sizes(VAProfile p, int *minw, int *minh, int *maxw, int *maxh)
{
    struct v4l2_frmsizeenum f = {.index = 0, .pixel_format = coded_fourcc(p)};
    if (!f.pixel_format || video_fd < 0 || ioctl(video_fd, VIDIOC_ENUM_FRAMESIZES, &f) < 0)
        return 0;
    if (f.type == V4L2_FRMSIZE_TYPE_DISCRETE) {
        *minw = *maxw = f.discrete.width;
        *minh = *maxh = f.discrete.height;
    } else {
        *minw = f.stepwise.min_width;
        *minh = f.stepwise.min_height;
        *maxw = f.stepwise.max_width;
        *maxh = f.stepwise.max_height;
    }
    return 1;
}

/* ---- tests -------------------------------------------------------------------------- */

/* test_va_api_get_max_values, _query_vendor, _display_attribs */
static void display_tests(void)
{
    cur_test = "GetMaxValues";
    CHECK(vaMaxNumProfiles(dpy) > 0, "vaMaxNumProfiles %d", vaMaxNumProfiles(dpy));
    CHECK(vaMaxNumEntrypoints(dpy) > 0, "vaMaxNumEntrypoints %d", vaMaxNumEntrypoints(dpy));
    CHECK(vaMaxNumConfigAttributes(dpy) > 0, "vaMaxNumConfigAttributes %d", vaMaxNumConfigAttributes(dpy));
    cur_test = "QueryVendor";
    const char *v = vaQueryVendorString(dpy);
    CHECK(v && *v, "empty vendor string");

    cur_test = "DisplayAttribs";
    int max = vaMaxNumDisplayAttributes(dpy);
    CHECK(max >= 0, "vaMaxNumDisplayAttributes %d", max);
    if (max <= 0) {
        int n = 256;
        VAStatus s = vaQueryDisplayAttributes(dpy, NULL, &n);
        CHECK(s == VA_STATUS_SUCCESS || s == VA_STATUS_ERROR_UNIMPLEMENTED, "vaQueryDisplayAttributes: %s", vaErrorStr(s));
        if (s == VA_STATUS_SUCCESS)
            CHECK(n == 0, "vaQueryDisplayAttributes: %d attributes with a maximum of %d", n, max);
        STATUS(VA_STATUS_ERROR_UNIMPLEMENTED, vaGetDisplayAttributes(dpy, NULL, 0), "vaGetDisplayAttributes");
        STATUS(VA_STATUS_ERROR_UNIMPLEMENTED, vaSetDisplayAttributes(dpy, NULL, 0), "vaSetDisplayAttributes");
        return;
    }
    VADisplayAttribute *a = calloc(max, sizeof(*a));
    int n = 0;
    STATUS(VA_STATUS_SUCCESS, vaQueryDisplayAttributes(dpy, a, &n), "vaQueryDisplayAttributes");
    CHECK(n > 0 && n <= max, "vaQueryDisplayAttributes: %d attributes, maximum %d", n, max);
    if (n > 0 && n <= max) {
        STATUS(VA_STATUS_SUCCESS, vaGetDisplayAttributes(dpy, a, n), "vaGetDisplayAttributes");
        for (int i = 0; i < n; i++) {
            if (!(a[i].flags & VA_DISPLAY_ATTRIB_SETTABLE))
                continue;
            CHECK(a[i].min_value <= a[i].max_value, "display attribute %d: min above max", a[i].type);
            VADisplayAttribute t = a[i];
            t.value = (t.min_value + t.max_value) / 2;
            STATUS(VA_STATUS_SUCCESS, vaSetDisplayAttributes(dpy, &t, 1), "vaSetDisplayAttributes(mid)");
            t.value = a[i].min_value - 1;
            STATUS(VA_STATUS_ERROR_INVALID_PARAMETER, vaSetDisplayAttributes(dpy, &t, 1), "vaSetDisplayAttributes(min-1)");
            t.value = a[i].max_value + 1;
            STATUS(VA_STATUS_ERROR_INVALID_PARAMETER, vaSetDisplayAttributes(dpy, &t, 1), "vaSetDisplayAttributes(max+1)");
        }
    }
    free(a);
}

/* test_va_api_query_config + the unsupported half of get_create_config */
static void query_and_refuse(VAProfile p, VAEntrypoint e)
{
    cur_test = "QueryConfig";
    VAEntrypoint eps[64];
    int n = 0;
    if (profile_advertised(p)) {
        STATUS(VA_STATUS_SUCCESS, vaQueryConfigEntrypoints(dpy, p, eps, &n), "vaQueryConfigEntrypoints");
        CHECK(n > 0 && n <= vaMaxNumEntrypoints(dpy), "%d entrypoints", n);
    } else {
        STATUS(VA_STATUS_ERROR_UNSUPPORTED_PROFILE, vaQueryConfigEntrypoints(dpy, p, eps, &n), "vaQueryConfigEntrypoints");
        CHECK(n == 0, "unadvertised profile reports %d entrypoints", n);
    }
    VAStatus st = support_status(p, e);
    if (st != VA_STATUS_SUCCESS) {
        cur_test = "GetCreateConfig";
        create_config(p, e, NULL, 0, st);
        destroy_config(VA_INVALID_ID, VA_STATUS_ERROR_INVALID_CONFIG);
    }
}

/* test_va_api_get_create_config (supported half) + config_attribs */
static void config_tests(VAProfile p, VAEntrypoint e)
{
    VAConfigAttrib sup[VAConfigAttribTypeMax];
    cur_test = "CreateConfigWithAttributes";
    int ns = supported_config_attribs(p, e, sup);
    for (int i = 0; i < ns; i++) {
        const uint32_t *m = config_masks(sup[i].type);
        if (!m) {
            VAConfigID id = create_config(p, e, &sup[i], 1, VA_STATUS_SUCCESS);
            destroy_config(id, VA_STATUS_SUCCESS);
            continue;
        }
        uint32_t bits = 0;
        for (; *m; m++) {
            VAConfigAttrib a = {.type = sup[i].type, .value = *m};
            if ((sup[i].value & *m) == *m) {
                bits |= *m;
                VAConfigID id = create_config(p, e, &a, 1, VA_STATUS_SUCCESS);
                destroy_config(id, VA_STATUS_SUCCESS);
            } else {
                VAStatus want = a.type == VAConfigAttribRTFormat ? VA_STATUS_ERROR_UNSUPPORTED_RT_FORMAT : VA_STATUS_ERROR_INVALID_VALUE;
                create_config(p, e, &a, 1, want);
                destroy_config(VA_INVALID_ID, VA_STATUS_ERROR_INVALID_CONFIG);
            }
        }
        CHECK(bits == sup[i].value, "attribute %d value %#x has bits outside the known masks (%#x)", sup[i].type, sup[i].value, bits);
    }

    cur_test = "CreateConfigNoAttributes";
    VAConfigID id = create_config(p, e, NULL, 0, VA_STATUS_SUCCESS);
    destroy_config(id, VA_STATUS_SUCCESS);

    cur_test = "CreateConfigPackedHeaders";
    VAConfigAttrib ph = {.type = VAConfigAttribEncPackedHeaders, .value = 0};
    STATUS(VA_STATUS_SUCCESS, vaGetConfigAttributes(dpy, p, e, &ph, 1), "vaGetConfigAttributes(EncPackedHeaders)");
    for (uint32_t v = 0; v < 0xff; v++) {
        VAConfigAttrib a = {.type = VAConfigAttribEncPackedHeaders, .value = v};
        if (ph.value == VA_ATTRIB_NOT_SUPPORTED || (v & ~ph.value)) {
            create_config(p, e, &a, 1, VA_STATUS_ERROR_INVALID_VALUE);
            destroy_config(VA_INVALID_ID, VA_STATUS_ERROR_INVALID_CONFIG);
        } else {
            VAConfigID c = create_config(p, e, &a, 1, VA_STATUS_SUCCESS);
            destroy_config(c, VA_STATUS_SUCCESS);
        }
    }

    /* test_va_api_config_attribs: GetConfigAttribs */
    cur_test = "GetConfigAttribs";
    id = create_config(p, e, NULL, 0, VA_STATUS_SUCCESS);
    int max = vaMaxNumConfigAttributes(dpy);
    CHECK(max > 0, "vaMaxNumConfigAttributes %d", max);
    VAConfigAttrib *act = calloc(max > 0 ? max : 1, sizeof(*act));
    VAProfile qp;
    VAEntrypoint qe;
    int na = 0;
    STATUS(VA_STATUS_SUCCESS, vaQueryConfigAttributes(dpy, id, &qp, &qe, act, &na), "vaQueryConfigAttributes");
    CHECK(qp == p && qe == e, "vaQueryConfigAttributes says %d/%d", qp, qe);
    CHECK(na > 0 && na <= max, "vaQueryConfigAttributes: %d attributes, maximum %d", na, max);
    destroy_config(id, VA_STATUS_SUCCESS);
    if (na > 0 && na <= max) {
        VAConfigAttrib *s = calloc(na, sizeof(*s));
        for (int i = 0; i < na; i++) {
            CHECK(act[i].value != VA_ATTRIB_NOT_SUPPORTED, "queried attribute %d is NOT_SUPPORTED", act[i].type);
            s[i] = (VAConfigAttrib){.type = act[i].type, .value = 0};
        }
        STATUS(VA_STATUS_SUCCESS, vaGetConfigAttributes(dpy, p, e, s, na), "vaGetConfigAttributes");
        for (int i = 0; i < na; i++) {
            switch (act[i].type) {
            case VAConfigAttribRTFormat: case VAConfigAttribRateControl: case VAConfigAttribDecSliceMode:
            case VAConfigAttribEncPackedHeaders: case VAConfigAttribEncInterlaced: case VAConfigAttribFEIFunctionType:
                CHECK((s[i].value & act[i].value) == act[i].value, "attribute %d: config %#x not within supported %#x", act[i].type,
                      act[i].value, s[i].value);
                break;
            default:
                CHECK(s[i].value == act[i].value, "attribute %d: config %#x, supported %#x", act[i].type, act[i].value, s[i].value);
            }
        }
        free(s);
    }
    free(act);
}

/* testWithSupportedSurfaceAttributes + createSurfaces (10 at a time) */
static void surfaces_with_each_attrib(VAConfigID cfg, unsigned format, int w, int h)
{
    VASurfaceAttrib sa[64];
    int n = surface_attribs(cfg, sa, 64);
    const uint32_t drm = VA_SURFACE_ATTRIB_MEM_TYPE_KERNEL_DRM | VA_SURFACE_ATTRIB_MEM_TYPE_DRM_PRIME | VA_SURFACE_ATTRIB_MEM_TYPE_DRM_PRIME_2
#if VA_CHECK_VERSION(1, 21, 0)
                         | VA_SURFACE_ATTRIB_MEM_TYPE_DRM_PRIME_3
#endif
        ;
    for (int i = 0; i < n; i++) {
        VASurfaceAttrib one[1] = {sa[i]};
        if (sa[i].type != VASurfaceAttribMemoryType) {
            VASurfaceID s[10];
            for (int k = 0; k < 10; k++)
                s[k] = VA_INVALID_SURFACE;
            VAStatus st = vaCreateSurfaces(dpy, format, w, h, s, 10, one, 1);
            CHECK(st == VA_STATUS_SUCCESS, "vaCreateSurfaces(%#x, %dx%d, attribute %d=%#x): %s", format, w, h, sa[i].type, sa[i].value.value.i,
                  vaErrorStr(st));
            if (st == VA_STATUS_SUCCESS)
                STATUS(VA_STATUS_SUCCESS, vaDestroySurfaces(dpy, s, 10), "vaDestroySurfaces");
            continue;
        }
        CHECK(sa[i].value.type == VAGenericValueTypeInteger, "memory type attribute not an integer");
        uint32_t bits = 0;
        for (const uint32_t *m = mem_types; *m; m++) {
            if (((uint32_t)sa[i].value.value.i & *m) != *m)
                continue;
            bits |= *m;
            if (drm & *m)
                continue; /* as the suite: DRM memory needs more set-up */
            one[0].value.value.i = *m;
            VASurfaceID s[10];
            for (int k = 0; k < 10; k++)
                s[k] = VA_INVALID_SURFACE;
            VAStatus st = vaCreateSurfaces(dpy, format, w, h, s, 10, one, 1);
            CHECK(st == VA_STATUS_SUCCESS, "vaCreateSurfaces(%#x, %dx%d, memory type %#x): %s", format, w, h, *m, vaErrorStr(st));
            if (st == VA_STATUS_SUCCESS)
                STATUS(VA_STATUS_SUCCESS, vaDestroySurfaces(dpy, s, 10), "vaDestroySurfaces");
        }
        CHECK(bits == (uint32_t)sa[i].value.value.i, "memory types %#x outside the known ones", sa[i].value.value.i);
    }
}

/* test_va_api_createsurfaces, _createcontext, the size agreement, and what a
 * surface beyond the device's limits is */
static void surface_context_tests(VAProfile p, VAEntrypoint e)
{
    cur_test = "QuerySurfaces";
    VAConfigID cfg = create_config(p, e, NULL, 0, VA_STATUS_SUCCESS);
    if (cfg == VA_INVALID_ID)
        return;
    VASurfaceAttrib sa[64];
    int n = surface_attribs(cfg, sa, 64);
    int minw, minh, maxw, maxh;
    min_max(sa, n, &minw, &minh, &maxw, &maxh);

    cur_test = "SizeLimits";
    VAConfigAttrib mx[2] = {{.type = VAConfigAttribMaxPictureWidth}, {.type = VAConfigAttribMaxPictureHeight}};
    STATUS(VA_STATUS_SUCCESS, vaGetConfigAttributes(dpy, p, e, mx, 2), "vaGetConfigAttributes(MaxPicture*)");
    CHECK(mx[0].value == (uint32_t)maxw && mx[1].value == (uint32_t)maxh, "MaxPictureWidth/Height %ux%u, surface attributes max %dx%d",
          mx[0].value, mx[1].value, maxw, maxh);
    int dminw, dminh, dmaxw, dmaxh;
    int dev = device_sizes(p, &dminw, &dminh, &dmaxw, &dmaxh);
    CHECK(dev, "no VIDIOC_ENUM_FRAMESIZES for the coded format of this profile (fourcc %#x): add it to coded_fourcc()", coded_fourcc(p));
    if (dev)
        CHECK(minw == dminw && minh == dminh && maxw == dmaxw && maxh == dmaxh, "limits %dx%d..%dx%d, the device reports %dx%d..%dx%d", minw,
              minh, maxw, maxh, dminw, dminh, dmaxw, dmaxh);
    printf("profile %d %s min %dx%d max %dx%d\n", p, vaProfileStr(p), minw, minh, maxw, maxh);

    for (size_t r = 0; r < N(resolutions); r++) {
        int w = resolutions[r].w, h = resolutions[r].h;
        cur_test = "CreateSurfacesNoAttrib";
        VASurfaceID s[10];
        for (int k = 0; k < 10; k++)
            s[k] = VA_INVALID_SURFACE;
        VAStatus st = vaCreateSurfaces(dpy, VA_RT_FORMAT_YUV420, w, h, s, 10, NULL, 0);
        CHECK(st == VA_STATUS_SUCCESS, "vaCreateSurfaces(%dx%d): %s", w, h, vaErrorStr(st));
        for (int k = 0; st == VA_STATUS_SUCCESS && k < 10; k++)
            CHECK(s[k] != VA_INVALID_SURFACE, "surface %d has no id", k);

        int within = w >= minw && h >= minh && w <= maxw && h <= maxh;
        if (st == VA_STATUS_SUCCESS && !within) {
            /* The driver's design: a surface the device cannot hold has no
             * storage; what needs its pixels says so, the rest works. */
            cur_test = "SurfaceBeyondLimits";
            VAImage img;
            STATUS(VA_STATUS_SUCCESS, vaSyncSurface(dpy, s[0]), "vaSyncSurface");
            VASurfaceStatus ss = 0;
            STATUS(VA_STATUS_SUCCESS, vaQuerySurfaceStatus(dpy, s[0], &ss), "vaQuerySurfaceStatus");
            CHECK(ss == VASurfaceReady, "status %d", ss);
            if (w > maxw || h > maxh) {
                STATUS(VA_STATUS_ERROR_RESOLUTION_NOT_SUPPORTED, vaDeriveImage(dpy, s[0], &img), "vaDeriveImage");
                VADRMPRIMESurfaceDescriptor d;
                STATUS(VA_STATUS_ERROR_RESOLUTION_NOT_SUPPORTED,
                       vaExportSurfaceHandle(dpy, s[0], VA_SURFACE_ATTRIB_MEM_TYPE_DRM_PRIME_2, VA_EXPORT_SURFACE_READ_ONLY | VA_EXPORT_SURFACE_COMPOSED_LAYERS, &d),
                       "vaExportSurfaceHandle");
                VAImageFormat nv12 = {.fourcc = VA_FOURCC_NV12, .byte_order = VA_LSB_FIRST, .bits_per_pixel = 12};
                VAImage small;
                if (vaCreateImage(dpy, &nv12, 64, 64, &small) == VA_STATUS_SUCCESS) {
                    STATUS(VA_STATUS_ERROR_RESOLUTION_NOT_SUPPORTED, vaGetImage(dpy, s[0], 0, 0, 64, 64, small.image_id), "vaGetImage");
                    STATUS(VA_STATUS_ERROR_RESOLUTION_NOT_SUPPORTED, vaPutImage(dpy, s[0], small.image_id, 0, 0, 64, 64, 0, 0, 64, 64),
                           "vaPutImage");
                    STATUS(VA_STATUS_SUCCESS, vaDestroyImage(dpy, small.image_id), "vaDestroyImage");
                } else {
                    CHECK(0, "vaCreateImage(NV12 64x64) failed");
                }
            }
        }
        if (st == VA_STATUS_SUCCESS)
            STATUS(VA_STATUS_SUCCESS, vaDestroySurfaces(dpy, s, 10), "vaDestroySurfaces");

        cur_test = "CreateSurfacesNoConfigAttrib";
        surfaces_with_each_attrib(cfg, VA_RT_FORMAT_YUV420, w, h);

        cur_test = "CreateSurfacesWithConfigAttribs";
        VAConfigAttrib sup[VAConfigAttribTypeMax];
        int ns = supported_config_attribs(p, e, sup);
        for (int i = 0; i < ns; i++) {
            const uint32_t *m = config_masks(sup[i].type);
            uint32_t single[2] = {sup[i].value, 0};
            for (const uint32_t *v = m ? m : single; *v || (!m && v == single); v++) {
                if (m && (sup[i].value & *v) != *v)
                    continue;
                VAConfigAttrib a = {.type = sup[i].type, .value = *v};
                VAConfigID c = create_config(p, e, &a, 1, VA_STATUS_SUCCESS);
                if (c != VA_INVALID_ID) {
                    surfaces_with_each_attrib(c, a.type == VAConfigAttribRTFormat ? a.value : VA_RT_FORMAT_YUV420, w, h);
                    destroy_config(c, VA_STATUS_SUCCESS);
                }
                if (!m)
                    break;
            }
        }

        cur_test = "CreateContext";
        VAContextID ctx = 0;
        st = vaCreateContext(dpy, cfg, w, h, VA_PROGRESSIVE, NULL, 0, &ctx);
        if (within) {
            CHECK(st == VA_STATUS_SUCCESS, "vaCreateContext(%dx%d) within %dx%d..%dx%d: %s", w, h, minw, minh, maxw, maxh, vaErrorStr(st));
            STATUS(VA_STATUS_SUCCESS, vaDestroyContext(dpy, ctx), "vaDestroyContext");
        } else {
            CHECK(st == VA_STATUS_ERROR_RESOLUTION_NOT_SUPPORTED, "vaCreateContext(%dx%d) outside %dx%d..%dx%d: %s", w, h, minw, minh, maxw,
                  maxh, vaErrorStr(st));
            STATUS(VA_STATUS_ERROR_INVALID_CONTEXT, vaDestroyContext(dpy, ctx), "vaDestroyContext of a refused context");
        }
    }
    destroy_config(cfg, VA_STATUS_SUCCESS);
}

/* test_va_api_createbuffer (decode half): the parameter buffers of the
 * profile's codec, in a context at the minimum size. */
static void buffer_tests(VAProfile p, VAEntrypoint e)
{
    struct spec { VABufferType t; size_t size; } specs[8];
    int ns = 0;
    switch (coded_fourcc(p)) {
    case v4l2_fourcc('S', '2', '6', '4'):
        specs[ns++] = (struct spec){VAPictureParameterBufferType, sizeof(VAPictureParameterBufferH264)};
        specs[ns++] = (struct spec){VAIQMatrixBufferType, sizeof(VAIQMatrixBufferH264)};
        specs[ns++] = (struct spec){VASliceParameterBufferType, sizeof(VASliceParameterBufferH264)};
        break;
    case v4l2_fourcc('M', 'G', '2', 'S'):
        specs[ns++] = (struct spec){VAPictureParameterBufferType, sizeof(VAPictureParameterBufferMPEG2)};
        specs[ns++] = (struct spec){VAIQMatrixBufferType, sizeof(VAIQMatrixBufferMPEG2)};
        specs[ns++] = (struct spec){VASliceParameterBufferType, sizeof(VASliceParameterBufferMPEG2)};
        specs[ns++] = (struct spec){VAMacroblockParameterBufferType, sizeof(VAMacroblockParameterBufferMPEG2)};
        break;
    case v4l2_fourcc('V', 'P', '8', 'F'):
        specs[ns++] = (struct spec){VAPictureParameterBufferType, sizeof(VAPictureParameterBufferVP8)};
        specs[ns++] = (struct spec){VAIQMatrixBufferType, sizeof(VAIQMatrixBufferVP8)};
        specs[ns++] = (struct spec){VASliceParameterBufferType, sizeof(VASliceParameterBufferVP8)};
        specs[ns++] = (struct spec){VAQMatrixBufferType, sizeof(VAQMatrixBufferVP8)};
        specs[ns++] = (struct spec){VAProbabilityBufferType, sizeof(VAProbabilityDataBufferVP8)};
        break;
    case v4l2_fourcc('S', '2', '6', '5'):
        specs[ns++] = (struct spec){VAPictureParameterBufferType, sizeof(VAPictureParameterBufferHEVC)};
        specs[ns++] = (struct spec){VAIQMatrixBufferType, sizeof(VAIQMatrixBufferHEVC)};
        specs[ns++] = (struct spec){VASliceParameterBufferType, sizeof(VASliceParameterBufferHEVC)};
        specs[ns++] = (struct spec){VAQMatrixBufferType, sizeof(VAQMatrixBufferHEVC)};
        break;
    case v4l2_fourcc('V', 'P', '9', 'F'):
        specs[ns++] = (struct spec){VAPictureParameterBufferType, sizeof(VADecPictureParameterBufferVP9)};
        specs[ns++] = (struct spec){VASliceParameterBufferType, sizeof(VASliceParameterBufferVP9)};
        break;
    }
    cur_test = "CreateBufferWithOutData";
    for (int i = 0; i < ns; i++) {
        VAConfigID cfg = create_config(p, e, NULL, 0, VA_STATUS_SUCCESS);
        VASurfaceAttrib sa[64];
        int n = surface_attribs(cfg, sa, 64);
        int minw, minh, maxw, maxh;
        min_max(sa, n, &minw, &minh, &maxw, &maxh);
        VAContextID ctx = 0;
        STATUS(VA_STATUS_SUCCESS, vaCreateContext(dpy, cfg, minw, minh, VA_PROGRESSIVE, NULL, 0, &ctx), "vaCreateContext(min)");
        VABufferID b = VA_INVALID_ID;
        VAStatus st = vaCreateBuffer(dpy, ctx, specs[i].t, specs[i].size, 1, NULL, &b);
        CHECK(st == VA_STATUS_SUCCESS, "vaCreateBuffer(type %d, %zu bytes): %s", specs[i].t, specs[i].size, vaErrorStr(st));
        STATUS(VA_STATUS_SUCCESS, vaDestroyBuffer(dpy, b), "vaDestroyBuffer");
        STATUS(VA_STATUS_SUCCESS, vaDestroyContext(dpy, ctx), "vaDestroyContext");
        destroy_config(cfg, VA_STATUS_SUCCESS);
    }
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s DRM_NODE VIDEO_NODE\n", argv[0]);
        return 2;
    }
    int fd = open(argv[1], O_RDWR);
    if (fd < 0) {
        fprintf(stderr, "%s: %s\n", argv[1], strerror(errno));
        return 2;
    }
    video_fd = open(argv[2], O_RDWR);
    if (video_fd < 0) {
        fprintf(stderr, "%s: %s\n", argv[2], strerror(errno));
        return 2;
    }
    dpy = vaGetDisplayDRM(fd);
    int major = 0, minor = 0;
    cur_test = "InitTerminate";
    VAStatus st = vaInitialize(dpy, &major, &minor);
    if (st != VA_STATUS_SUCCESS) {
        fprintf(stderr, "vaInitialize: %s\n", vaErrorStr(st));
        return 2;
    }
    CHECK(major == VA_MAJOR_VERSION && minor >= VA_MINOR_VERSION, "VA-API %d.%d, built against %d.%d", major, minor, VA_MAJOR_VERSION,
          VA_MINOR_VERSION);

    display_tests();

    int maxp = vaMaxNumProfiles(dpy);
    if (maxp <= 0 || maxp > 64 || vaQueryConfigProfiles(dpy, adv_profiles, &n_adv_profiles) != VA_STATUS_SUCCESS) {
        fprintf(stderr, "vaQueryConfigProfiles failed (maximum %d)\n", maxp);
        return 2;
    }
    cur_test = "QueryConfigProfiles";
    CHECK(n_adv_profiles > 0 && n_adv_profiles <= maxp, "%d profiles, maximum %d", n_adv_profiles, maxp);

    int checked = 0;
    for (size_t i = 0; i < N(profiles_all); i++) {
        for (size_t j = 0; j < N(entrypoints_all); j++) {
            cur_profile = profiles_all[i];
            cur_entry = entrypoints_all[j];
            query_and_refuse(cur_profile, cur_entry);
            if (support_status(cur_profile, cur_entry) != VA_STATUS_SUCCESS)
                continue;
            printf("checking %s/%s\n", vaProfileStr(cur_profile), vaEntrypointStr(cur_entry));
            config_tests(cur_profile, cur_entry);
            surface_context_tests(cur_profile, cur_entry);
            buffer_tests(cur_profile, cur_entry);
            checked++;
        }
    }
    /* A profile the driver advertises that the suite's list lacks is checked too. */
    for (int i = 0; i < n_adv_profiles; i++) {
        int known = 0;
        for (size_t k = 0; k < N(profiles_all); k++)
            known |= profiles_all[k] == adv_profiles[i];
        cur_profile = adv_profiles[i];
        cur_entry = VAEntrypointVLD;
        cur_test = "AdvertisedProfile";
        CHECK(known, "advertised profile %d is not in the suite's list: add it", adv_profiles[i]);
    }
    cur_test = "InitTerminate";
    STATUS(VA_STATUS_SUCCESS, vaTerminate(dpy), "vaTerminate");
    close(fd);
    close(video_fd);
    printf("conformance: %d profile/entrypoint pairs, %ld checks, %ld failures\n", checked, checks, failures);
    return failures ? 1 : 0;
}
