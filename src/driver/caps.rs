//! Which VA profiles the machine decodes and on which device: built from
//! what discovery probed, advertising only profiles whose decode path exists
//! in this driver.
use crate::ffi::va;
use crate::v4l2::discovery::DecoderInfo;
use crate::v4l2::formats;

/// A VA profile routed to the device (and coded format) that decodes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    pub profile: va::VAProfile,
    pub decoder: String,
    pub media: String,
    pub coded_fourcc: u32,
    pub rt_formats: u32,
    pub min_width: u32,
    pub min_height: u32,
    pub max_width: u32,
    pub max_height: u32,
}

impl Route {
    /// Surface pixel formats (VA fourccs) for this route's RT formats.
    pub fn va_fourccs(&self) -> Vec<u32> {
        let mut v = Vec::new();
        if self.rt_formats & va::VA_RT_FORMAT_YUV420 != 0 {
            v.push(va::VA_FOURCC_NV12);
        }
        v
    }
}

// V4L2_CID_MPEG_VIDEO_H264_PROFILE menu indices.
const H264_BASELINE: i64 = 0;
const H264_CONSTRAINED_BASELINE: i64 = 1;
const H264_MAIN: i64 = 2;
const H264_HIGH: i64 = 4;

/// VA profiles with a decode path in this driver, per coded format.
fn driver_profiles(fourcc: u32, d: &DecoderInfo) -> Vec<va::VAProfile> {
    match fourcc {
        formats::H264_SLICE => {
            let menu = &d.h264.profiles;
            let has = |p: &[i64]| menu.is_empty() || p.iter().any(|x| menu.contains(x));
            let mut v = Vec::new();
            if has(&[H264_BASELINE, H264_CONSTRAINED_BASELINE]) {
                v.push(va::VAProfileH264ConstrainedBaseline);
            }
            if has(&[H264_MAIN]) {
                v.push(va::VAProfileH264Main);
            }
            if has(&[H264_HIGH]) {
                v.push(va::VAProfileH264High);
            }
            v
        }
        _ => Vec::new(),
    }
}

/// Routes for every supported profile; the first device that decodes a
/// profile gets it (discovery order: /dev/media0 first).
pub fn routes(decoders: &[DecoderInfo]) -> Vec<Route> {
    let mut out: Vec<Route> = Vec::new();
    for d in decoders {
        for c in &d.coded {
            if !c.capture.iter().any(|f| formats::layout_of(*f).is_some()) {
                log::info!("{}: {} has no CAPTURE layout this driver can export ({}), not advertised", d.video_path, formats::name(c.fourcc), c.capture.iter().map(|f| formats::name(*f)).collect::<Vec<_>>().join(","));
                continue;
            }
            for p in driver_profiles(c.fourcc, d) {
                if out.iter().any(|r| r.profile == p) {
                    continue;
                }
                out.push(Route {
                    profile: p,
                    decoder: d.video_path.clone(),
                    media: d.media_path.clone(),
                    coded_fourcc: c.fourcc,
                    rt_formats: va::VA_RT_FORMAT_YUV420,
                    min_width: c.sizes.min_width.max(1),
                    min_height: c.sizes.min_height.max(1),
                    max_width: c.sizes.max_width,
                    max_height: c.sizes.max_height,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v4l2::device::FrameSizes;
    use crate::v4l2::discovery::{CodedCaps, Menus};

    fn dec(path: &str, coded: &[u32], capture: &[u32], profiles: &[i64]) -> DecoderInfo {
        DecoderInfo {
            media_path: "/dev/media0".into(),
            video_path: path.into(),
            driver: "x".into(),
            card: "x".into(),
            bus_info: "x".into(),
            mplane: true,
            coded: coded
                .iter()
                .map(|&f| CodedCaps {
                    fourcc: f,
                    sizes: FrameSizes { min_width: 48, max_width: 1920, step_width: 16, min_height: 48, max_height: 1088, step_height: 16 },
                    capture: capture.to_vec(),
                })
                .collect(),
            h264: Menus { decode_modes: vec![1], start_codes: vec![1], profiles: profiles.to_vec(), slice_params: false, pred_weights: false },
        }
    }

    #[test]
    fn profiles_from_menu() {
        let r = routes(&[dec("/dev/video0", &[formats::H264_SLICE], &[formats::NV12], &[1, 2])]);
        let p: Vec<_> = r.iter().map(|r| r.profile).collect();
        assert_eq!(p, vec![va::VAProfileH264ConstrainedBaseline, va::VAProfileH264Main]);
        assert_eq!(r[0].max_width, 1920);
    }

    #[test]
    fn first_device_wins_and_others_fill_in() {
        // RK3399: rkvdec (H.264) + hantro (MPEG-2, VP8) on one SoC.
        let r = routes(&[
            dec("/dev/video1", &[formats::H264_SLICE], &[formats::NV12], &[]),
            dec("/dev/video2", &[formats::H264_SLICE, formats::MPEG2_SLICE], &[formats::NV12], &[]),
        ]);
        assert!(r.iter().filter(|r| r.coded_fourcc == formats::H264_SLICE).all(|r| r.decoder == "/dev/video1"));
        assert_eq!(r.len(), 3);
    }

    #[test]
    fn unusable_capture_format_is_not_advertised() {
        assert!(routes(&[dec("/dev/video0", &[formats::H264_SLICE], &[formats::NV12_4L4], &[])]).is_empty());
        assert_eq!(routes(&[dec("/dev/video0", &[formats::H264_SLICE], &[formats::NV12_32L32], &[])]).len(), 3);
    }
}
