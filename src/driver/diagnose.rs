//! What `HANTRO_LOG=info vainfo` tells a user whose player fell back to
//! software: every decoder found with what it offers, the VA profiles
//! advertised and on which device, and for every registered codec that is
//! not advertised, why. Logged once, at vaInitialize (target
//! `hantro_drv_video::diagnose`). Names no codec: codecs name themselves.
use super::caps::Route;
use crate::codecs;
use crate::v4l2::discovery::{CodedCaps, DecoderInfo};
use crate::v4l2::formats;

const TARGET: &str = "hantro_drv_video::diagnose";

fn names(v: &[u32]) -> String {
    if v.is_empty() {
        "none".into()
    } else {
        v.iter().map(|f| formats::name(*f)).collect::<Vec<_>>().join(",")
    }
}

/// One line per coded format of a decoder.
pub fn coded_line(c: &CodedCaps) -> String {
    let s = &c.sizes;
    let menus: Vec<String> = c.menus.iter().map(|(id, items)| format!("{id:#x}={items:?}")).collect();
    format!(
        "{}: {}x{}..{}x{} (step {}x{}), CAPTURE {}, menus {}, controls {}",
        formats::name(c.fourcc),
        s.min_width,
        s.min_height,
        s.max_width,
        s.max_height,
        s.step_width,
        s.step_height,
        names(&c.capture),
        if menus.is_empty() { "none".into() } else { menus.join(" ") },
        if c.controls.is_empty() { "none".into() } else { c.controls.iter().map(|id| format!("{id:#x}")).collect::<Vec<_>>().join(",") }
    )
}

/// Why a registered codec got no VA profile on these decoders (`None`: it
/// has at least one).
pub fn why_not(codec: &dyn codecs::Codec, decoders: &[DecoderInfo], routes: &[Route]) -> Option<String> {
    if routes.iter().any(|r| r.coded_fourcc == codec.coded_fourcc()) {
        return None;
    }
    let fourcc = formats::name(codec.coded_fourcc());
    let offering: Vec<(&DecoderInfo, &CodedCaps)> = decoders.iter().filter_map(|d| d.coded(codec.coded_fourcc()).map(|c| (d, c))).collect();
    if offering.is_empty() {
        return Some(format!("no decoder offers the coded format {fourcc}"));
    }
    let reasons: Vec<String> = offering
        .iter()
        .map(|(d, c)| {
            if !super::caps::has_exportable_capture(c) {
                format!("{} ({}) offers {fourcc} but no CAPTURE format this driver can export ({})", d.video_path, d.driver, names(&c.capture))
            } else {
                format!("{} ({}) offers {fourcc} but what it reports allows no VA profile: {}", d.video_path, d.driver, coded_line(c))
            }
        })
        .collect();
    Some(reasons.join("; "))
}

/// Logs the report (info level).
pub fn report(decoders: &[DecoderInfo], routes: &[Route]) {
    if !log::log_enabled!(target: TARGET, log::Level::Info) {
        return;
    }
    for d in decoders {
        log::info!(target: TARGET, "decoder {} ({}, bus {}) at {} + {}{}", d.driver, d.card, d.bus_info, d.media_path, d.video_path, if d.mplane { ", multi-planar" } else { "" });
        for c in &d.coded {
            log::info!(target: TARGET, "  {}", coded_line(c));
        }
    }
    for r in routes {
        log::info!(
            target: TARGET,
            "advertised: VA profile {} ({}) on {}, RT formats {:#x}, {}x{}..{}x{}",
            r.profile,
            r.codec().name(),
            r.decoder,
            r.rt_formats,
            r.min_width,
            r.min_height,
            r.max_width,
            r.max_height
        );
    }
    for c in codecs::REGISTRY {
        if let Some(why) = why_not(*c, decoders, routes) {
            log::info!(target: TARGET, "not advertised: {}: {why}", c.name());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::driver::caps::routes;
    use crate::v4l2::device::FrameSizes;

    fn dec(coded: &[u32], capture: &[u32]) -> DecoderInfo {
        DecoderInfo {
            media_path: "/dev/media0".into(),
            video_path: "/dev/video0".into(),
            driver: "drv".into(),
            card: "card".into(),
            bus_info: "platform:x".into(),
            mplane: true,
            coded: coded
                .iter()
                .map(|&fourcc| CodedCaps {
                    fourcc,
                    sizes: FrameSizes { min_width: 48, max_width: 1920, step_width: 16, min_height: 48, max_height: 1088, step_height: 16 },
                    capture: capture.to_vec(),
                    menus: vec![],
                    controls: vec![],
                })
                .collect(),
        }
    }

    #[test]
    fn every_registered_codec_is_advertised_or_explained() {
        for c in codecs::REGISTRY {
            // nobody offers it
            let ds = [dec(&[], &[formats::NV12])];
            let why = why_not(*c, &ds, &routes(&ds)).expect("not advertised");
            assert!(why.contains("no decoder offers the coded format") && why.contains(&formats::name(c.coded_fourcc())), "{why}");
            // offered, but only a CAPTURE layout DRM cannot describe
            let ds = [dec(&[c.coded_fourcc()], &[formats::NV12_4L4])];
            let why = why_not(*c, &ds, &routes(&ds)).expect("not advertised");
            assert!(why.contains("/dev/video0 (drv)") && why.contains("no CAPTURE format this driver can export (VT12)"), "{why}");
            // offered with linear NV12: advertised, nothing to explain
            let ds = [dec(&[c.coded_fourcc()], &[formats::NV12])];
            assert_eq!(why_not(*c, &ds, &routes(&ds)), None, "{}", c.name());
        }
    }

    #[test]
    fn coded_line_names_sizes_formats_and_menus() {
        let mut d = dec(&[formats::H264_SLICE], &[formats::NV12, formats::NV12_32L32]);
        d.coded[0].menus = vec![(0xa40900, vec![0, 1])];
        assert_eq!(coded_line(&d.coded[0]), "S264: 48x48..1920x1088 (step 16x16), CAPTURE NV12,ST12, menus 0xa40900=[0, 1], controls none");
    }
}
