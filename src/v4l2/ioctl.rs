//! The ioctl edge. Two doors, both keeping the ioctl's name and errno in
//! the error and retrying EINTR:
//!
//! * [`v4l2r_call`], the facade over v4l2r's ioctl wrappers, used for every
//!   call v4l2r has (V4L2 video-node ioctls, the media request ioctls);
//! * [`ioctl`], one checked raw call with a request code built here, only
//!   for what v4l2r has nothing for (media topology and device info,
//!   DMA_BUF_IOCTL_SYNC).
use std::fmt;
use std::os::fd::RawFd;

/// Generic Linux ioctl encoding (x86, x86_64, arm, aarch64, riscv):
/// dir:2 | size:14 | type:8 | nr:8.
const IOC_WRITE: u32 = 1;
const IOC_READ: u32 = 2;

pub const fn ioc(dir: u32, ty: u8, nr: u8, size: usize) -> libc::c_ulong {
    ((dir << 30) | ((size as u32 & 0x3fff) << 16) | ((ty as u32) << 8) | nr as u32) as libc::c_ulong
}
pub const fn ior<T>(ty: u8, nr: u8) -> libc::c_ulong {
    ioc(IOC_READ, ty, nr, std::mem::size_of::<T>())
}
pub const fn iow<T>(ty: u8, nr: u8) -> libc::c_ulong {
    ioc(IOC_WRITE, ty, nr, std::mem::size_of::<T>())
}
pub const fn iowr<T>(ty: u8, nr: u8) -> libc::c_ulong {
    ioc(IOC_READ | IOC_WRITE, ty, nr, std::mem::size_of::<T>())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum V4l2Error {
    /// An ioctl failed: its name and errno.
    Ioctl { name: &'static str, errno: i32 },
    /// A system call other than ioctl failed.
    Sys { call: &'static str, errno: i32 },
    /// The device answered something we cannot use.
    Unsupported(String),
    /// Waiting for a request or buffer timed out.
    Timeout(String),
}

impl V4l2Error {
    pub fn errno(&self) -> Option<i32> {
        match self {
            V4l2Error::Ioctl { errno, .. } | V4l2Error::Sys { errno, .. } => Some(*errno),
            _ => None,
        }
    }
}

impl fmt::Display for V4l2Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            V4l2Error::Ioctl { name, errno } => {
                write!(f, "{name} failed: {} (errno {errno})", std::io::Error::from_raw_os_error(*errno))
            }
            V4l2Error::Sys { call, errno } => {
                write!(f, "{call} failed: {} (errno {errno})", std::io::Error::from_raw_os_error(*errno))
            }
            V4l2Error::Unsupported(m) => write!(f, "unsupported: {m}"),
            V4l2Error::Timeout(m) => write!(f, "timeout: {m}"),
        }
    }
}

impl std::error::Error for V4l2Error {}

pub type V4l2Result<T> = Result<T, V4l2Error>;

pub fn last_errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO)
}

/// Runs one v4l2r ioctl wrapper, again while it fails with EINTR; any
/// other failure becomes [`V4l2Error::Ioctl`] with `name` and the errno
/// (v4l2r's conversion errors count as EINVAL). Callers decide whether to
/// log, as for [`ioctl`].
pub fn v4l2r_call<T, E: v4l2r::ioctl::IntoErrno>(name: &'static str, mut f: impl FnMut() -> Result<T, E>) -> V4l2Result<T> {
    loop {
        match f() {
            Ok(v) => return Ok(v),
            Err(e) => {
                let errno = e.into_errno();
                if errno != libc::EINTR {
                    return Err(V4l2Error::Ioctl { name, errno });
                }
            }
        }
    }
}

/// Calls `ioctl(fd, request, arg)`, retrying on EINTR. Failures are
/// returned with the ioctl's name; callers decide whether to log (an
/// expected failure, such as the end of an enumeration, is not an error).
pub fn ioctl<T>(fd: RawFd, request: libc::c_ulong, name: &'static str, arg: &mut T) -> V4l2Result<()> {
    loop {
        // SAFETY: `arg` is a valid, exclusively borrowed `T` for the whole
        // call, and every request code used with this function is built
        // from `size_of::<T>()` of the very struct the kernel expects.
        let r = unsafe { libc::ioctl(fd, request as _, arg as *mut T) };
        if r >= 0 {
            return Ok(());
        }
        let errno = last_errno();
        if errno != libc::EINTR {
            return Err(V4l2Error::Ioctl { name, errno });
        }
    }
}

/// Logs an unexpected kernel error with ioctl name and errno, passes it on.
pub fn logged<T>(r: V4l2Result<T>) -> V4l2Result<T> {
    if let Err(e) = &r {
        log::error!("{e}");
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn eintr_is_retried_and_names_are_kept() {
        let mut calls = 0;
        let r: V4l2Result<u8> = v4l2r_call("VIDIOC_TEST", || {
            calls += 1;
            if calls < 3 {
                Err(v4l2r::nix::errno::Errno::EINTR)
            } else {
                Ok(7)
            }
        });
        assert_eq!((r, calls), (Ok(7), 3));
        let r: V4l2Result<()> = v4l2r_call("VIDIOC_TEST", || Err(v4l2r::nix::errno::Errno::EBUSY));
        assert_eq!(r, Err(V4l2Error::Ioctl { name: "VIDIOC_TEST", errno: libc::EBUSY }));
    }

    #[test]
    fn request_codes_match_the_kernel() {
        // Values from the kernel headers (x86_64 and aarch64 agree).
        assert_eq!(ior::<[u8; 104]>(b'V', 0), 0x80685600); // VIDIOC_QUERYCAP
        assert_eq!(ior::<libc::c_int>(b'|', 5), 0x80047c05); // MEDIA_IOC_REQUEST_ALLOC
        assert_eq!(iow::<u64>(b'b', 0), 0x40086200); // DMA_BUF_IOCTL_SYNC
    }
}
