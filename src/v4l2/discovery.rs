//! Finding the stateless decoders of the machine without udev: scan
//! /dev/media*, follow the media topology to the decoder's video node, and
//! probe what it decodes.
use super::device::{FrameSizes, Queue, VideoNode};
use super::formats;
use super::ioctl::V4l2Error;
use super::media;
use std::os::fd::AsRawFd;

/// What to probe for one coded format. The caller (the codecs) says what;
/// this layer knows no codec.
#[derive(Clone, Copy, Debug)]
pub struct Probe {
    pub fourcc: u32,
    /// Menu controls whose valid items are read.
    pub menus: &'static [u32],
    /// Controls whose presence is checked.
    pub controls: &'static [u32],
}

/// What a decoder device offers for one coded format.
#[derive(Clone, Debug, Default)]
pub struct CodedCaps {
    pub fourcc: u32,
    pub sizes: FrameSizes,
    /// CAPTURE formats offered once the OUTPUT format is set.
    pub capture: Vec<u32>,
    /// Valid items of each probed menu (empty: no such control).
    pub menus: Vec<(u32, Vec<i64>)>,
    /// The probed controls that exist.
    pub controls: Vec<u32>,
}

impl CodedCaps {
    /// Valid items of menu `id` (empty when the device has no such control).
    pub fn menu(&self, id: u32) -> &[i64] {
        self.menus.iter().find(|(m, _)| *m == id).map(|(_, v)| v.as_slice()).unwrap_or(&[])
    }

    pub fn has_control(&self, id: u32) -> bool {
        self.controls.contains(&id)
    }
}

/// A probed stateless decoder.
#[derive(Clone, Debug)]
pub struct DecoderInfo {
    pub media_path: String,
    pub video_path: String,
    pub driver: String,
    pub card: String,
    pub bus_info: String,
    pub mplane: bool,
    pub coded: Vec<CodedCaps>,
}

impl DecoderInfo {
    pub fn coded(&self, fourcc: u32) -> Option<&CodedCaps> {
        self.coded.iter().find(|c| c.fourcc == fourcc)
    }
}

#[derive(Debug)]
pub enum DiscoveryError {
    /// Listing /dev, opening a media node or a media-controller ioctl was
    /// refused with the errno Firefox's RDD sandbox gives (see
    /// [`path_refused`], [`ioctl_refused`]).
    Refused { path: String, error: V4l2Error },
    /// Nothing usable was found; the list says where we looked and why.
    NothingFound { looked: Vec<String> },
}

impl std::fmt::Display for DiscoveryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DiscoveryError::Refused { path, error } if error.errno() == Some(libc::EACCES) && !seccomp_filtered() => {
                // No sandbox filters this process: the kernel refused the
                // node's permissions.
                write!(f, "{path}: permission denied ({error}){}", access_hint(path))
            }
            DiscoveryError::Refused { path, error } => {
                write!(
                    f,
                    "{path}: media controller access refused ({error}). If this runs in Firefox's RDD \
                     sandbox, start Firefox with MOZ_DISABLE_RDD_SANDBOX=1 (the sandbox blocks /dev/media* \
                     and the media-controller ioctls a stateless decoder needs)"
                )?;
                if error.errno() == Some(libc::EACCES) {
                    // The broker's answer is also what the kernel says to a
                    // user without access to the node.
                    write!(f, "; outside a sandbox, check that this user may open {path}")?;
                }
                Ok(())
            }
            DiscoveryError::NothingFound { looked } => {
                write!(
                    f,
                    "no V4L2 stateless decoder found; looked at: {}",
                    if looked.is_empty() { "no /dev/media* nodes".to_string() } else { looked.join("; ") }
                )
            }
        }
    }
}

/// Whether a seccomp filter (a sandbox: Firefox's RDD process, a
/// Flatpak...) runs on this process (`Seccomp: 2` in /proc/self/status).
fn seccomp_filtered() -> bool {
    std::fs::read_to_string("/proc/self/status").map(|s| s.lines().any(|l| l.split_whitespace().eq(["Seccomp:", "2"]))).unwrap_or(false)
}

/// The group owning `gid`, from /etc/group.
fn group_name(gid: u32) -> Option<String> {
    std::fs::read_to_string("/etc/group").ok()?.lines().find_map(|l| {
        let mut f = l.split(':');
        let name = f.next()?;
        let id: u32 = f.nth(1)?.parse().ok()?;
        (id == gid).then(|| name.to_string())
    })
}

/// How a user gets access to a device node they may not open.
fn access_hint(path: &str) -> String {
    use std::os::unix::fs::MetadataExt;
    let rule = "or install the driver's udev rule (70-hantro_drv_video.rules, installed by `make install`, gives the logged-in user access)";
    match std::fs::metadata(path) {
        Ok(m) => {
            let group = group_name(m.gid()).unwrap_or_else(|| m.gid().to_string());
            format!(
                ": the node is mode {:04o}, owner uid {}, group '{group}'; add this user to group '{group}' \
                 (`sudo usermod -aG {group} $USER`, then log in again), {rule}",
                m.mode() & 0o7777,
                m.uid()
            )
        }
        Err(_) => format!(": this user may not open it; add the user to the group owning it (usually 'video'), {rule}"),
    }
}

fn dev_nodes(prefix: &str) -> std::io::Result<Vec<String>> {
    let mut v: Vec<(u32, String)> = std::fs::read_dir("/dev")?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let n: u32 = name.strip_prefix(prefix)?.parse().ok()?;
            Some((n, format!("/dev/{name}")))
        })
        .collect();
    v.sort();
    Ok(v.into_iter().map(|(_, p)| p).collect())
}

fn rdev_of(path: &str) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| m.rdev())
}

fn video_node_for(major: u32, minor: u32) -> Option<String> {
    let want = libc::makedev(major, minor);
    dev_nodes("video").unwrap_or_default().into_iter().find(|p| rdev_of(p) == Some(want))
}

// What Firefox's RDD sandbox answers (mozilla/gecko-dev, read at the
// versions of mid 2025, the ESR 140 branch point; quoted by function and
// statement, as the line numbers move between releases):
//
// * open()/opendir() of a path the broker policy does not list: EACCES.
//   security/sandbox/linux/broker/SandboxBroker.cpp, SandboxBroker::ThreadMain:
//   each response starts as `resp.mError = -EACCES;` ("Initialize the
//   response with the default failure"), and a path without MAY_ACCESS only
//   reaches AuditDenial(), which leaves it so. The RDD policy,
//   broker/SandboxBrokerPolicyFactory.cpp, SandboxBrokerPolicyFactory::
//   GetRDDPolicy, lists /dev/dri (AddGLDependencies), /dev/nvidia*, and only
//   under MOZ_ENABLE_V4L2 (arm, aarch64, riscv64 builds) the M2M /dev/video*
//   nodes and "/dev" itself (AddV4l2Dependencies): never /dev/media*, and
//   without V4L2 not even a listing of /dev.
// * ioctl of type '|' (linux/media.h): ENOSYS.
//   security/sandbox/linux/SandboxFilter.cpp, RDDSandboxPolicy::
//   EvaluateSyscall, `case __NR_ioctl`: types 'd' (DRM), 'b' (DMA-BUF) and,
//   under MOZ_ENABLE_V4L2, 'V' are allowed, 'F' gets Error(ENOTTY), the rest
//   goes to SandboxPolicyCommon::EvaluateSyscall (TCGETS/TIOCGWINSZ:
//   Error(ENOTTY)) and on to SandboxPolicyBase::EvaluateSyscall, i.e.
//   InvalidSyscall() = `Trap(BlockedSyscallTrap, nullptr)`, and
//   BlockedSyscallTrap returns -ENOSYS. Sandbox.cpp's SigSysHandler logs
//   "seccomp sandbox violation" and kills the process only with
//   gSandboxCrashOnError (Nightly, or MOZ_SANDBOX_CRASH_ON_ERROR=1); ESR and
//   release builds return ENOSYS. The same trap answers open() where the
//   process has no broker.
//
// EPERM is no part of it: EPERM (like any other errno) is an ordinary
// failure that skips the node with its reason.

/// The errno of a refused path operation (open, listing /dev).
fn path_refused(errno: Option<i32>) -> bool {
    matches!(errno, Some(libc::EACCES) | Some(libc::ENOSYS))
}

/// The errno of a refused media-controller ioctl.
fn ioctl_refused(errno: Option<i32>) -> bool {
    errno == Some(libc::ENOSYS)
}

/// Opens a media node and reads its decoder entities. A refusal (sandbox)
/// ends discovery; any other failure skips the node with a reason.
fn read_media(mpath: &str) -> Result<Result<(media::DeviceInfo, Vec<media::DecoderEntity>), String>, DiscoveryError> {
    fn check<T>(mpath: &str, refused: fn(Option<i32>) -> bool, r: Result<T, V4l2Error>) -> Result<Result<T, String>, DiscoveryError> {
        match r {
            Err(e) if refused(e.errno()) => Err(DiscoveryError::Refused { path: mpath.to_string(), error: e }),
            other => Ok(other.map_err(|e| e.to_string())),
        }
    }
    let fd = match check(mpath, path_refused, super::device::open_nonblock(mpath))? {
        Ok(fd) => fd,
        Err(why) => return Ok(Err(why)),
    };
    let info = match check(mpath, ioctl_refused, media::device_info(fd.as_raw_fd()))? {
        Ok(i) => i,
        Err(why) => return Ok(Err(why)),
    };
    let driver = info.driver.clone();
    Ok(check(mpath, ioctl_refused, media::decoder_entities(fd.as_raw_fd()))?.map(|ents| (info, ents)).map_err(|why| format!("({driver}) {why}")))
}

/// Finds every decoder and probes the coded formats of `probes` (in that
/// order of preference). `media_node` / `video_node` (`HANTRO_MEDIA_DEVICE`
/// / `HANTRO_VIDEO_DEVICE`) restrict the search to the given nodes.
pub fn discover(probes: &[Probe], media_node: Option<&str>, video_node: Option<&str>) -> Result<Vec<DecoderInfo>, DiscoveryError> {
    let media_env = media_node.map(str::to_string);
    let video_env = video_node.map(str::to_string);
    let mut looked = Vec::new();
    let medias = match &media_env {
        Some(m) => vec![m.clone()],
        None => match dev_nodes("media") {
            Ok(v) => v,
            Err(e) if path_refused(e.raw_os_error()) => {
                let errno = e.raw_os_error().unwrap_or(libc::EACCES);
                return Err(DiscoveryError::Refused { path: "/dev".into(), error: V4l2Error::Sys { call: "opendir", errno } });
            }
            Err(e) => {
                looked.push(format!("/dev: cannot list: {e}"));
                Vec::new()
            }
        },
    };
    let mut found = Vec::new();
    for mpath in medias {
        let (info, ents) = match read_media(&mpath)? {
            Ok(r) => r,
            Err(why) => {
                looked.push(format!("{mpath}: {why}"));
                continue;
            }
        };
        if ents.is_empty() {
            looked.push(format!("{mpath} ({}): no video-decoder entity", info.driver));
            continue;
        }
        for ent in ents {
            let vpath = match (&video_env, video_node_for(ent.video_major, ent.video_minor)) {
                (Some(v), _) => v.clone(),
                (None, Some(p)) => p,
                (None, None) => {
                    looked.push(format!("{mpath}: no /dev/video* node with device number {}:{}", ent.video_major, ent.video_minor));
                    continue;
                }
            };
            match probe(&mpath, &vpath, probes) {
                Ok(d) if !d.coded.is_empty() => {
                    log::info!(
                        "found decoder {} ({}) at {} + {}: {}{}",
                        d.driver,
                        d.card,
                        d.media_path,
                        d.video_path,
                        d.coded.iter().map(|c| formats::name(c.fourcc)).collect::<Vec<_>>().join(","),
                        if d.mplane { " (multi-planar)" } else { "" }
                    );
                    found.push(d);
                }
                Ok(d) => looked.push(format!("{vpath} ({}): no stateless coded format on OUTPUT", d.driver)),
                Err(e) => looked.push(format!("{vpath}: {e}")),
            }
        }
    }
    if found.is_empty() {
        return Err(DiscoveryError::NothingFound { looked });
    }
    Ok(found)
}

/// Probes one decoder video node for the coded formats of `probes`.
pub fn probe(media_path: &str, video_path: &str, probes: &[Probe]) -> Result<DecoderInfo, V4l2Error> {
    let (node, caps) = VideoNode::open(video_path)?;
    let mut coded = Vec::new();
    let offered = node.enum_formats(Queue::Output)?;
    log::info!(
        "{video_path} ({}): OUTPUT formats {}; of these the driver decodes {}",
        caps.driver,
        offered.iter().map(|f| formats::name(*f)).collect::<Vec<_>>().join(","),
        offered.iter().filter(|f| probes.iter().any(|p| p.fourcc == **f)).map(|f| formats::name(*f)).collect::<Vec<_>>().join(",")
    );
    for p in probes.iter().filter(|p| offered.contains(&p.fourcc)) {
        let fourcc = p.fourcc;
        let sizes = node.frame_sizes(fourcc).unwrap_or(FrameSizes {
            min_width: 16,
            max_width: 1920,
            step_width: 16,
            min_height: 16,
            max_height: 1088,
            step_height: 16,
        });
        let w = sizes.min_width.max(64).min(sizes.max_width);
        let h = sizes.min_height.max(64).min(sizes.max_height);
        // A format the node lists but refuses (EINVAL) is skipped; any
        // other error fails the node rather than silently losing a codec.
        let capture = match node.set_format(Queue::Output, fourcc, w, h, 0) {
            Ok(_) => node.enum_formats(Queue::Capture)?,
            Err(e) if e.errno() == Some(libc::EINVAL) => {
                log::warn!("{video_path}: cannot select {}: {e}", formats::name(fourcc));
                continue;
            }
            Err(e) => return Err(e),
        };
        let menus = p.menus.iter().map(|&id| node.menu_items(id).map(|m| (id, m))).collect::<Result<_, _>>()?;
        let controls = p.controls.iter().copied().filter(|&id| node.query_ext_ctrl(id).is_some()).collect();
        coded.push(CodedCaps { fourcc, sizes, capture, menus, controls });
    }
    Ok(DecoderInfo {
        media_path: media_path.to_string(),
        video_path: video_path.to_string(),
        driver: caps.driver,
        card: caps.card,
        bus_info: caps.bus_info,
        mplane: node.mplane,
        coded,
    })
}
