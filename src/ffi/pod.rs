//! Reading C structs out of client-supplied VA buffers (an FFI edge).

/// # Safety
/// Implement only for `#[repr(C)]` plain-old-data types (bindgen structs of
/// integers, arrays and unions of those) for which every bit pattern is a
/// valid value.
pub unsafe trait Pod: Copy + 'static {}

/// The `index`-th `T` of `bytes`, or None if `bytes` is too short.
pub fn read<T: Pod>(bytes: &[u8], index: usize) -> Option<T> {
    let size = std::mem::size_of::<T>();
    let start = index.checked_mul(size)?;
    let end = start.checked_add(size)?;
    let b = bytes.get(start..end)?;
    // SAFETY: `b` holds size_of::<T>() readable bytes; T: Pod accepts any
    // bit pattern; read_unaligned copes with any alignment of client data.
    Some(unsafe { std::ptr::read_unaligned(b.as_ptr() as *const T) })
}

macro_rules! pod {
    ($($t:ty),* $(,)?) => { $(
        // SAFETY: bindgen-generated #[repr(C)] struct of plain integers,
        // arrays and unions thereof; every bit pattern is valid.
        unsafe impl Pod for $t {}
    )* };
}

use super::va;
pod!(va::VAPictureParameterBufferH264, va::VASliceParameterBufferH264, va::VAIQMatrixBufferH264, va::VAImage, va::VAImageFormat,);

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn bounds_are_checked() {
        let b = [1u8, 0, 0, 0, 2, 0, 0];
        #[derive(Clone, Copy)]
        #[repr(C)]
        struct U(u32);
        // SAFETY: test-only POD.
        unsafe impl Pod for U {}
        assert_eq!(read::<U>(&b, 0).map(|u| u.0), Some(1));
        assert!(read::<U>(&b, 1).is_none());
        assert!(read::<U>(&b, usize::MAX).is_none());
    }
}
