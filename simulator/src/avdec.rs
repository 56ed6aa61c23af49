//! FFI to csrc/avshim.c (a libavcodec software decoder, by codec id).
//!
//! A ~150-line C shim compiled with `cc` instead of `ffmpeg-sys-next`: the
//! simulator needs four libavcodec calls and a get_buffer2 hook; the -sys
//! crate would bindgen all of FFmpeg's headers on every clean build and pin
//! a crate version to Debian's FFmpeg 5.1 ABI, which buys nothing here.
use std::os::raw::c_int;

#[repr(C)]
struct RawDec {
    _p: [u8; 0],
}

#[repr(C)]
struct RawPic {
    width: c_int,
    height: c_int,
    format: c_int,
    data: [*const u8; 3],
    linesize: [c_int; 3],
    new_pic: c_int,
}

extern "C" {
    fn simdec_new(codec_id: c_int) -> *mut RawDec;
    fn simdec_free(d: *mut RawDec);
    fn simdec_decode(d: *mut RawDec, data: *const u8, size: c_int, pic: *mut RawPic) -> c_int;
}

pub struct AvDecoder(*mut RawDec);
// SAFETY: the decoder is only used through &mut self (one thread at a time); libavcodec contexts may move between threads.
unsafe impl Send for AvDecoder {}

/// A decoded 8-bit 4:2:0 picture at the coded (macroblock aligned) size.
pub struct Picture<'a> {
    pub width: usize,
    pub height: usize,
    pub planes: [&'a [u8]; 3],
    pub stride: [usize; 3],
    pub gray: bool,
    pub new_pic: bool,
}

impl AvDecoder {
    /// A decoder for libavcodec's `AVCodecID` `codec_id`.
    pub fn new(codec_id: i32) -> Option<Self> {
        // SAFETY: simdec_new takes a plain int and returns an owned decoder
        // or NULL; the pointer is freed once, in Drop.
        let p = unsafe { simdec_new(codec_id) };
        if p.is_null() {
            None
        } else {
            Some(AvDecoder(p))
        }
    }

    /// Decodes one complete access unit (Annex-B).
    pub fn decode(&mut self, au: &[u8]) -> Result<Picture<'_>, i32> {
        let mut pic = RawPic { width: 0, height: 0, format: 0, data: [std::ptr::null(); 3], linesize: [0; 3], new_pic: 0 };
        // SAFETY: self.0 is a live decoder (NULL never stored); `au` outlives the call and libavcodec copies what it keeps; `pic` is a local it fills.
        let r = unsafe { simdec_decode(self.0, au.as_ptr(), au.len() as c_int, &mut pic) };
        if r < 0 {
            return Err(r);
        }
        if pic.format < 0 {
            return Err(-22);
        }
        let (w, h) = (pic.width as usize, pic.height as usize);
        let gray = pic.format == 1;
        let mk = |i: usize, rows: usize| -> &[u8] {
            if pic.data[i].is_null() {
                return &[];
            }
            // SAFETY: the shim returns planes of the frame it keeps referenced until the next decode call, and `Picture` borrows self, so the rows (linesize * rows bytes) stay valid while the slice lives.
            unsafe { std::slice::from_raw_parts(pic.data[i], pic.linesize[i] as usize * rows) }
        };
        Ok(Picture {
            width: w,
            height: h,
            planes: [mk(0, h), if gray { &[] } else { mk(1, h / 2) }, if gray { &[] } else { mk(2, h / 2) }],
            stride: [pic.linesize[0] as usize, pic.linesize[1] as usize, pic.linesize[2] as usize],
            gray,
            new_pic: pic.new_pic != 0,
        })
    }
}

impl Drop for AvDecoder {
    fn drop(&mut self) {
        // SAFETY: self.0 came from simdec_new and is freed exactly once, here.
        unsafe { simdec_free(self.0) }
    }
}
