//! The driver's error type and its mapping to VAStatus.
use crate::ffi::va;
use std::fmt;

/// Every failure a VA entry point can report. The `va` layer turns it into
/// the VAStatus the libva API documents for that situation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VaError {
    OperationFailed(String),
    AllocationFailed,
    InvalidConfig,
    InvalidContext,
    InvalidSurface,
    InvalidBuffer,
    InvalidImage,
    InvalidParameter(String),
    UnsupportedProfile,
    UnsupportedEntrypoint,
    UnsupportedRtFormat,
    AttrNotSupported,
    InvalidValue(String),
    InvalidImageFormat,
    UnsupportedBufferType,
    UnsupportedMemoryType,
    FlagNotSupported,
    ResolutionNotSupported,
    MaxNumExceeded,
    Unimplemented,
    DecodingError,
    Timedout,
    HwBusy,
    SurfaceBusy,
    /// No usable decoder / environment problem (vaInitialize).
    Unknown(String),
    /// A picture's parameters or bitstream cannot be translated
    /// (VA_STATUS_ERROR_INVALID_PARAMETER).
    Bitstream(String),
    /// `what` went wrong because of the inner error (its status).
    Context(String, Box<VaError>),
}

pub type VaResult<T> = Result<T, VaError>;

impl VaError {
    /// The same error, explained by what was being done.
    pub fn context(self, what: impl Into<String>) -> VaError {
        VaError::Context(what.into(), Box::new(self))
    }

    /// How loudly the entry-point guard (the one place errors are logged)
    /// reports it: environment problems are errors; device failures,
    /// bad streams and explained refusals warnings; plain argument
    /// errors (hostile or probing clients) debug.
    pub fn log_level(&self) -> log::Level {
        use VaError::*;
        match self {
            Unknown(_) => log::Level::Error,
            OperationFailed(_) | DecodingError | Timedout | AllocationFailed | Bitstream(_) => log::Level::Warn,
            Context(_, inner) => inner.log_level().min(log::Level::Warn),
            _ => log::Level::Debug,
        }
    }

    pub fn status(&self) -> va::VAStatus {
        use VaError::*;
        let s = match self {
            OperationFailed(_) => va::VA_STATUS_ERROR_OPERATION_FAILED,
            AllocationFailed => va::VA_STATUS_ERROR_ALLOCATION_FAILED,
            InvalidConfig => va::VA_STATUS_ERROR_INVALID_CONFIG,
            InvalidContext => va::VA_STATUS_ERROR_INVALID_CONTEXT,
            InvalidSurface => va::VA_STATUS_ERROR_INVALID_SURFACE,
            InvalidBuffer => va::VA_STATUS_ERROR_INVALID_BUFFER,
            InvalidImage => va::VA_STATUS_ERROR_INVALID_IMAGE,
            InvalidParameter(_) => va::VA_STATUS_ERROR_INVALID_PARAMETER,
            UnsupportedProfile => va::VA_STATUS_ERROR_UNSUPPORTED_PROFILE,
            UnsupportedEntrypoint => va::VA_STATUS_ERROR_UNSUPPORTED_ENTRYPOINT,
            UnsupportedRtFormat => va::VA_STATUS_ERROR_UNSUPPORTED_RT_FORMAT,
            AttrNotSupported => va::VA_STATUS_ERROR_ATTR_NOT_SUPPORTED,
            InvalidValue(_) => va::VA_STATUS_ERROR_INVALID_VALUE,
            InvalidImageFormat => va::VA_STATUS_ERROR_INVALID_IMAGE_FORMAT,
            UnsupportedBufferType => va::VA_STATUS_ERROR_UNSUPPORTED_BUFFERTYPE,
            UnsupportedMemoryType => va::VA_STATUS_ERROR_UNSUPPORTED_MEMORY_TYPE,
            FlagNotSupported => va::VA_STATUS_ERROR_FLAG_NOT_SUPPORTED,
            ResolutionNotSupported => va::VA_STATUS_ERROR_RESOLUTION_NOT_SUPPORTED,
            MaxNumExceeded => va::VA_STATUS_ERROR_MAX_NUM_EXCEEDED,
            Unimplemented => va::VA_STATUS_ERROR_UNIMPLEMENTED,
            DecodingError => va::VA_STATUS_ERROR_DECODING_ERROR,
            Timedout => va::VA_STATUS_ERROR_TIMEDOUT,
            HwBusy => va::VA_STATUS_ERROR_HW_BUSY,
            SurfaceBusy => va::VA_STATUS_ERROR_SURFACE_BUSY,
            Unknown(_) => va::VA_STATUS_ERROR_UNKNOWN,
            Bitstream(_) => va::VA_STATUS_ERROR_INVALID_PARAMETER,
            Context(_, inner) => return inner.status(),
        };
        s as va::VAStatus
    }
}

impl fmt::Display for VaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VaError::OperationFailed(m) => write!(f, "operation failed: {m}"),
            VaError::InvalidParameter(m) => write!(f, "invalid parameter: {m}"),
            VaError::InvalidValue(m) => write!(f, "invalid value: {m}"),
            VaError::Unknown(m) => f.write_str(m),
            VaError::Bitstream(m) => write!(f, "cannot decode the picture: {m}"),
            VaError::Context(what, inner) => write!(f, "{what}: {inner}"),
            other => write!(f, "{other:?}"),
        }
    }
}

impl std::error::Error for VaError {}

impl From<crate::v4l2::V4l2Error> for VaError {
    fn from(e: crate::v4l2::V4l2Error) -> Self {
        use crate::v4l2::V4l2Error as E;
        match e {
            E::Ioctl { errno, .. } if errno == libc::ENOMEM => VaError::AllocationFailed,
            E::Timeout(_) => VaError::Timedout,
            other => VaError::OperationFailed(other.to_string()),
        }
    }
}
