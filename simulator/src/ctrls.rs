//! Personalities, control definitions and control values, codec-independent:
//! the definitions themselves come from the codecs (`codec::Codec::ctrl_defs`).
use crate::uapi::*;
use std::mem::size_of;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Personality {
    HantroG1,
    Rkvdec,
    Cedrus,
}

impl Personality {
    pub fn from_env() -> Self {
        match std::env::var("HANTRO_SIM_PERSONALITY").as_deref() {
            Ok("rkvdec") => Personality::Rkvdec,
            Ok("cedrus") => Personality::Cedrus,
            _ => Personality::HantroG1,
        }
    }
    pub fn driver(&self) -> &'static str {
        match self {
            Personality::HantroG1 => "hantro-vpu",
            Personality::Rkvdec => "rkvdec",
            Personality::Cedrus => "cedrus",
        }
    }
    pub fn card(&self) -> &'static str {
        match self {
            Personality::HantroG1 => "rockchip,rk3288-vpu-dec",
            Personality::Rkvdec => "rkvdec",
            Personality::Cedrus => "cedrus",
        }
    }
    pub fn bus_info(&self) -> &'static str {
        match self {
            Personality::HantroG1 => "platform:hantro-vpu",
            Personality::Rkvdec => "platform:rkvdec",
            Personality::Cedrus => "platform:cedrus",
        }
    }
    pub fn mplane(&self) -> bool {
        !matches!(self, Personality::Cedrus)
    }
    pub fn frame_based(&self) -> bool {
        !matches!(self, Personality::Cedrus)
    }
    pub fn cap_fourcc(&self) -> u32 {
        if matches!(self, Personality::Cedrus) {
            PIX_FMT_NV12_32L32
        } else {
            PIX_FMT_NV12
        }
    }
    /// (min_w, max_w, step_w, min_h, max_h, step_h)
    pub fn frmsize(&self) -> (u32, u32, u32, u32, u32, u32) {
        match self {
            Personality::HantroG1 => (48, 1920, 16, 48, 1088, 16),
            Personality::Rkvdec => (48, 4096, 64, 48, 2304, 16),
            Personality::Cedrus => (16, 4096, 32, 16, 2304, 32),
        }
    }
    pub fn out_type(&self) -> u32 {
        if self.mplane() {
            v4l2_buf_type_V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE
        } else {
            v4l2_buf_type_V4L2_BUF_TYPE_VIDEO_OUTPUT
        }
    }
    pub fn cap_type(&self) -> u32 {
        if self.mplane() {
            v4l2_buf_type_V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE
        } else {
            v4l2_buf_type_V4L2_BUF_TYPE_VIDEO_CAPTURE
        }
    }
}

#[derive(Clone, Debug)]
pub enum Kind {
    Menu {
        min: i64,
        max: i64,
        skip: u64,
        def: i64,
        names: &'static [&'static str],
    },
    Compound {
        ty: u32,
        size: usize,
    },
    /// Dynamically sized 1-dimensional array (V4L2_CTRL_FLAG_DYNAMIC_ARRAY)
    /// of up to `max` elements of `elem` bytes.
    Array {
        ty: u32,
        elem: usize,
        max: usize,
    },
    /// Control class marker (V4L2_CTRL_TYPE_CTRL_CLASS), added by the core.
    Class,
}

#[derive(Clone, Debug)]
pub struct CtrlDef {
    pub id: u32,
    pub name: &'static str,
    pub kind: Kind,
}

/// A set of control values (payload bytes for compound controls).
#[derive(Clone, Default, Debug)]
pub struct CtrlValues {
    pub vals: Vec<(u32, Vec<u8>)>,
}

impl CtrlValues {
    pub fn set(&mut self, id: u32, v: Vec<u8>) {
        if let Some(e) = self.vals.iter_mut().find(|e| e.0 == id) {
            e.1 = v;
        } else {
            self.vals.push((id, v));
        }
    }
    pub fn get(&self, id: u32) -> Option<&[u8]> {
        self.vals.iter().find(|e| e.0 == id).map(|e| &e.1[..])
    }
    pub fn get_struct<T: Copy + Default>(&self, id: u32) -> Option<T> {
        let b = self.get(id)?;
        let mut t = T::default();
        let n = size_of::<T>().min(b.len());
        // SAFETY: T is a Copy uAPI struct (plain integers: any bytes are a valid value); at most size_of::<T>() bytes are copied into it, from a buffer at least n long.
        unsafe { std::ptr::copy_nonoverlapping(b.as_ptr(), &mut t as *mut T as *mut u8, n) };
        Some(t)
    }
    pub fn menu(&self, id: u32) -> Option<i32> {
        self.get(id).map(|b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
    }
    pub fn merge_from(&mut self, o: &CtrlValues) {
        for (id, v) in &o.vals {
            self.set(*id, v.clone());
        }
    }
}

pub fn struct_bytes<T: Copy>(t: &T) -> Vec<u8> {
    // SAFETY: viewing a Copy uAPI struct as its size_of::<T>() bytes for a copy; these structs have no padding the uAPI leaves uninitialised (kernel ABI: explicit reserved fields).
    unsafe { std::slice::from_raw_parts(t as *const T as *const u8, size_of::<T>()).to_vec() }
}

/// Every control of personality `p`: those of the codecs it offers plus the
/// control class controls, sorted by id (the order QUERY_EXT_CTRL walks).
pub fn ctrl_defs(p: Personality) -> Vec<CtrlDef> {
    let mut v: Vec<CtrlDef> = crate::codecs::offered(p).flat_map(|c| c.ctrl_defs(p)).collect();
    v.push(CtrlDef { id: V4L2_CID_CODEC_CLASS, name: "Codec Controls", kind: Kind::Class });
    v.push(CtrlDef { id: V4L2_CID_CODEC_STATELESS_CLASS, name: "Stateless Codec Controls", kind: Kind::Class });
    v.sort_by_key(|d| d.id);
    v
}

/// Initial control values of a new file handle on `p`.
pub fn defaults(p: Personality) -> CtrlValues {
    let mut v = CtrlValues::default();
    for c in crate::codecs::offered(p) {
        v.merge_from(&c.defaults(p));
    }
    v
}

/// The values S/TRY_EXT_CTRLS must refuse (EINVAL), asked of the codec
/// owning control `id`.
pub fn validate(p: Personality, id: u32, data: &[u8]) -> Result<(), String> {
    match crate::codecs::by_ctrl(p, id) {
        Some(c) => c.validate(p, id, data),
        None => Ok(()),
    }
}
