//! A set of V4L2 extended controls whose compound payloads it owns, so the
//! pointers handed to VIDIOC_S_EXT_CTRLS stay valid for the call.
use crate::ffi::v4l2 as k;
use std::any::Any;

#[derive(Default)]
pub struct CtrlSet {
    ctrls: Vec<k::v4l2_ext_control>,
    payloads: Vec<Box<dyn Any + Send>>,
}

fn blank(id: u32) -> k::v4l2_ext_control {
    // SAFETY: v4l2_ext_control is plain old data; all-zero is valid.
    let mut c: k::v4l2_ext_control = unsafe { std::mem::zeroed() };
    c.id = id;
    c
}

impl CtrlSet {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push_i32(&mut self, id: u32, value: i32) -> &mut Self {
        let mut c = blank(id);
        c.__bindgen_anon_1.value = value;
        self.ctrls.push(c);
        self
    }

    /// Adds a compound control; the payload is boxed so its address is
    /// stable however the set grows.
    pub fn push<T: Any + Send>(&mut self, id: u32, value: T) -> &mut Self {
        let mut b = Box::new(value);
        let mut c = blank(id);
        c.size = std::mem::size_of::<T>() as u32;
        c.__bindgen_anon_1.ptr = (&mut *b) as *mut T as *mut libc::c_void;
        self.payloads.push(b);
        self.ctrls.push(c);
        self
    }

    /// Adds a dynamically sized array control (V4L2_CTRL_FLAG_DYNAMIC_ARRAY):
    /// `values.len()` elements; the vector's heap buffer stays put while
    /// the set owns it.
    pub fn push_array<T: Any + Send>(&mut self, id: u32, values: Vec<T>) -> &mut Self {
        let mut b = Box::new(values);
        let mut c = blank(id);
        c.size = (std::mem::size_of::<T>() * b.len()) as u32;
        c.__bindgen_anon_1.ptr = b.as_mut_ptr() as *mut libc::c_void;
        self.payloads.push(b);
        self.ctrls.push(c);
        self
    }

    pub fn ids(&self) -> Vec<u32> {
        self.ctrls.iter().map(|c| c.id).collect()
    }

    pub fn len(&self) -> usize {
        self.ctrls.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ctrls.is_empty()
    }

    pub fn as_mut_slice(&mut self) -> &mut [k::v4l2_ext_control] {
        &mut self.ctrls
    }
}

// SAFETY: the raw pointers inside `ctrls` point into `payloads`, which the
// set owns and which are Send.
unsafe impl Send for CtrlSet {}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn payload_pointers_survive_growth() {
        let mut s = CtrlSet::new();
        s.push(1, [7u8; 100]);
        for i in 0..50 {
            s.push_i32(100 + i, i as i32);
        }
        s.push(2, 42u64);
        let c = s.as_mut_slice()[0];
        let size = c.size;
        assert_eq!(size, 100);
        // SAFETY: test reads back the payload it just stored.
        let first = unsafe { *(c.__bindgen_anon_1.ptr as *const [u8; 100]) };
        assert_eq!(first, [7u8; 100]);
        assert_eq!(s.len(), 52);
    }

    #[test]
    fn array_payload_size_counts_elements() {
        let mut s = CtrlSet::new();
        s.push_array(3, vec![5u32, 6, 7]);
        let c = s.as_mut_slice()[0];
        let size = c.size;
        assert_eq!(size, 12);
        // SAFETY: test reads back the array it just stored.
        let v = unsafe { std::slice::from_raw_parts(c.__bindgen_anon_1.ptr as *const u32, 3) };
        assert_eq!(v, &[5, 6, 7]);
    }
}
