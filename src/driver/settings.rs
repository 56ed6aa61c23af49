//! Everything the driver reads from the environment (`HANTRO_*`), read
//! once at vaInitialize into one value. A malformed value is logged once,
//! here, and replaced by the default; nothing else reads the environment
//! (except `HANTRO_LOG`, read by the logger, and the test/bench hooks).
use crate::codecs::DecodeMode;
use std::time::Duration;

/// The decode-mode variable (`frame`|`slice`): its name predates the codec
/// interface and applies to every codec with a decode-mode menu.
pub const DECODE_MODE_ENV: &str = "HANTRO_H264_DECODE_MODE";

/// OUTPUT buffer/request pool bound when `HANTRO_OUTPUT_POOL_MAX` is unset.
pub const DEFAULT_OUTPUT_POOL_MAX: usize = 16;

#[derive(Clone, Debug)]
pub struct Settings {
    /// `HANTRO_MEDIA_DEVICE`, `HANTRO_VIDEO_DEVICE`: nodes to use instead of scanning.
    pub media_device: Option<String>,
    pub video_device: Option<String>,
    /// [`DECODE_MODE_ENV`]: the decode mode to pick where the device
    /// offers both (codecs with a decode-mode menu).
    pub decode_mode: Option<DecodeMode>,
    /// Per-codec decode modes ([`crate::codecs::Codec::decode_mode_env`],
    /// e.g. `HANTRO_HEVC_DECODE_MODE`), by coded fourcc; they win over
    /// [`Settings::decode_mode`].
    pub codec_decode_modes: Vec<(u32, DecodeMode)>,
    /// `HANTRO_SYNC_TIMEOUT_MS` (default 3000): how long a wait for the
    /// device may take before it is reported as a timeout.
    pub sync_timeout: Duration,
    /// `HANTRO_OUTPUT_POOL_MAX` (default 16, 1..=64).
    pub output_pool_max: usize,
    /// `HANTRO_SYNC_DECODE=1`: vaEndPicture waits for its decode.
    pub sync_decode: bool,
    /// `HANTRO_TEST_CORRUPT` (feature `test-hooks` only).
    pub test_corrupt: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            media_device: None,
            video_device: None,
            decode_mode: None,
            codec_decode_modes: Vec::new(),
            sync_timeout: Duration::from_millis(3000),
            output_pool_max: DEFAULT_OUTPUT_POOL_MAX,
            sync_decode: false,
            test_corrupt: None,
        }
    }
}

impl Settings {
    /// The decode mode to force for the codec of coded format `fourcc`.
    pub fn decode_mode_for(&self, fourcc: u32) -> Option<DecodeMode> {
        self.codec_decode_modes.iter().find(|(f, _)| *f == fourcc).map(|(_, m)| *m).or(self.decode_mode)
    }

    /// Reads the process environment.
    pub fn from_env() -> Settings {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads settings through `get` (the environment, or a test's table).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Settings {
        let d = Settings::default();
        let nonempty = |k: &str| get(k).filter(|s| !s.is_empty());
        let number = |k: &str, default: u64| -> u64 {
            match get(k) {
                None => default,
                Some(v) => v.trim().parse().unwrap_or_else(|_| {
                    log::warn!("{k}={v:?} ignored (not a number); using {default}");
                    default
                }),
            }
        };
        let mode = |k: &str| match get(k).as_deref() {
            None => None,
            Some("frame") => Some(DecodeMode::FrameBased),
            Some("slice") => Some(DecodeMode::SliceBased),
            Some(other) => {
                log::warn!("{k}={other:?} ignored (frame|slice)");
                None
            }
        };
        let decode_mode = mode(DECODE_MODE_ENV);
        let codec_decode_modes = crate::codecs::REGISTRY.iter().filter_map(|c| c.decode_mode_env().and_then(&mode).map(|m| (c.coded_fourcc(), m))).collect();
        Settings {
            media_device: nonempty("HANTRO_MEDIA_DEVICE"),
            video_device: nonempty("HANTRO_VIDEO_DEVICE"),
            decode_mode,
            codec_decode_modes,
            sync_timeout: Duration::from_millis(number("HANTRO_SYNC_TIMEOUT_MS", d.sync_timeout.as_millis() as u64).max(1)),
            output_pool_max: (number("HANTRO_OUTPUT_POOL_MAX", DEFAULT_OUTPUT_POOL_MAX as u64) as usize).clamp(1, 64),
            sync_decode: get("HANTRO_SYNC_DECODE").is_some_and(|v| v == "1"),
            test_corrupt: if cfg!(feature = "test-hooks") { nonempty("HANTRO_TEST_CORRUPT") } else { None },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    fn with(pairs: &[(&str, &str)]) -> Settings {
        let pairs: Vec<(String, String)> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Settings::from_lookup(move |k| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
    }
    #[test]
    fn defaults_and_bad_values() {
        let s = with(&[]);
        assert_eq!(s.sync_timeout, Duration::from_millis(3000));
        assert_eq!(s.output_pool_max, 16);
        assert!(!s.sync_decode && s.decode_mode.is_none() && s.media_device.is_none());
        let s = with(&[
            ("HANTRO_SYNC_TIMEOUT_MS", "x"),
            ("HANTRO_OUTPUT_POOL_MAX", "999"),
            (DECODE_MODE_ENV, "slice"),
            ("HANTRO_SYNC_DECODE", "1"),
            ("HANTRO_MEDIA_DEVICE", ""),
        ]);
        assert_eq!(s.sync_timeout, Duration::from_millis(3000));
        assert_eq!(s.output_pool_max, 64);
        assert_eq!(s.decode_mode, Some(DecodeMode::SliceBased));
        assert!(s.sync_decode && s.media_device.is_none());
    }

    #[test]
    fn a_codec_decode_mode_wins_for_its_codec_only() {
        let hevc = crate::ffi::fourcc::HEVC_SLICE;
        let h264 = crate::ffi::fourcc::H264_SLICE;
        let s = with(&[(DECODE_MODE_ENV, "slice"), ("HANTRO_HEVC_DECODE_MODE", "frame")]);
        assert_eq!(s.decode_mode_for(hevc), Some(DecodeMode::FrameBased));
        assert_eq!(s.decode_mode_for(h264), Some(DecodeMode::SliceBased));
        let s = with(&[("HANTRO_HEVC_DECODE_MODE", "bogus")]);
        assert_eq!(s.decode_mode_for(hevc), None);
    }
}
