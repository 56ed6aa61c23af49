//! Raw bindings, no logic: libva's driver ABI (bindgen over the installed
//! headers) and the kernel uAPI (v4l2r's bindgen over videodev2.h).
#[allow(non_camel_case_types, non_snake_case, non_upper_case_globals, dead_code, clippy::all)]
pub mod va {
    include!(concat!(env!("OUT_DIR"), "/va.rs"));
}
pub use v4l2r::bindings as v4l2;
pub mod fourcc;
pub mod pod;
