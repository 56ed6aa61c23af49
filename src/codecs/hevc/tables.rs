//! HEVC tables: the up-right diagonal scan (6.5.3) and the default
//! scaling lists (Table 7-6, in coded order).

/// (x, y) of each position of the up-right diagonal scan of a
/// `size`x`size` block (6.5.3).
pub fn diag_scan(size: usize) -> Vec<(usize, usize)> {
    let mut v = Vec::with_capacity(size * size);
    let (mut x, mut y) = (0i32, 0i32);
    while v.len() < size * size {
        while y >= 0 {
            if (x as usize) < size && (y as usize) < size {
                v.push((x as usize, y as usize));
            }
            y -= 1;
            x += 1;
        }
        y = x;
        x = 0;
    }
    v
}

/// Table 7-6, sizeId 1..3, matrixId 0..2 (intra), i = 0..63.
pub const DEFAULT_8X8_INTRA: [u8; 64] = [
    16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 17, 16, 17, 16, 17, 18, 17, 18, 18, 17, 18, 21, 19, 20, 21, 20, 19, 21, 24, 22, 22, 24, 24, 22, 22, 24, 25, 25, 27,
    30, 27, 25, 25, 29, 31, 35, 35, 31, 29, 36, 41, 44, 41, 36, 47, 54, 54, 47, 65, 70, 65, 88, 88, 115,
];

/// Table 7-6, sizeId 1..3, matrixId 3..5 (inter), i = 0..63.
pub const DEFAULT_8X8_INTER: [u8; 64] = [
    16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 17, 17, 17, 17, 17, 18, 18, 18, 18, 18, 18, 20, 20, 20, 20, 20, 20, 20, 24, 24, 24, 24, 24, 24, 24, 24, 25, 25, 25,
    25, 25, 25, 25, 28, 28, 28, 28, 28, 28, 33, 33, 33, 33, 33, 41, 41, 41, 41, 54, 54, 54, 71, 71, 91,
];
