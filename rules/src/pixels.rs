//! Small, allocation-light statistics over RGB pictures, shared by the photo
//! and document checks.

use image::RgbImage;

/// Rec. 601 luma, 0..=255.
#[inline]
pub fn luma(p: [u8; 3]) -> u8 {
    ((u32::from(p[0]) * 77 + u32::from(p[1]) * 150 + u32::from(p[2]) * 29 + 128) >> 8) as u8
}

/// Max − min of the channels: 0 for grey, large for saturated colour.
#[inline]
pub fn chroma(p: [u8; 3]) -> u8 {
    p[0].max(p[1]).max(p[2]) - p[0].min(p[1]).min(p[2])
}

/// The luma plane of a picture.
pub fn luma_plane(img: &RgbImage) -> Vec<u8> {
    img.as_raw().chunks_exact(3).map(|p| luma([p[0], p[1], p[2]])).collect()
}

/// Edge sharpness: the 99th percentile of the luma gradient magnitude
/// (`|dx| + |dy|`, forward differences) over `x0..x1, y0..y1`.
///
/// A focus measure that sensor noise does not fool: noise adds many small
/// gradients, while only in-focus edges reach high values. The strongest
/// 1 % of gradients are the edges (hair, eyes, text); a blurred edge of
/// contrast C spread over σ pixels peaks near C / (2.5 σ).
pub fn edge_sharpness(luma: &[u8], width: u32, (x0, y0, x1, y1): (u32, u32, u32, u32)) -> f32 {
    let w = width as usize;
    let height = (luma.len() / w.max(1)) as u32;
    let (x1, y1) = (x1.min(width.saturating_sub(1)), y1.min(height.saturating_sub(1)));
    let mut hist = [0u32; 511];
    let mut n = 0u32;
    if x0 < x1 {
        let (a, b) = (x0 as usize, x1 as usize);
        // Row slices (no per-pixel bounds checks): the pixel, its right and lower neighbours.
        for y in y0..y1 {
            let row = y as usize * w;
            let here = &luma[row + a..=row + b];
            let below = &luma[row + w + a..row + w + b];
            for (pair, down) in here.windows(2).zip(below) {
                let g = pair[0].abs_diff(pair[1]) as usize + pair[0].abs_diff(*down) as usize;
                hist[g] += 1;
            }
            n += x1 - x0;
        }
    }
    if n == 0 {
        return 0.0;
    }
    let target = n - n / 100;
    let mut acc = 0;
    for (g, count) in hist.iter().enumerate() {
        acc += count;
        if acc >= target {
            return g as f32;
        }
    }
    510.0
}

/// Per-channel median of an iterator of pixels (histogram based, O(n)).
pub fn median_colour(pixels: impl Iterator<Item = [u8; 3]>) -> Option<[u8; 3]> {
    let mut hist = [[0u32; 256]; 3];
    let mut n = 0u32;
    for p in pixels {
        for c in 0..3 {
            hist[c][usize::from(p[c])] += 1;
        }
        n += 1;
    }
    if n == 0 {
        return None;
    }
    let mut out = [0u8; 3];
    for c in 0..3 {
        let mut acc = 0;
        for (v, count) in hist[c].iter().enumerate() {
            acc += count;
            if acc * 2 >= n {
                out[c] = v as u8;
                break;
            }
        }
    }
    Some(out)
}

/// Sum of absolute channel differences.
#[inline]
pub fn l1(a: [u8; 3], b: [u8; 3]) -> u32 {
    (0..3).map(|c| u32::from(a[c].abs_diff(b[c]))).sum()
}

/// The largest 4-connected region of `mask` that does not touch the border,
/// in pixels. Iterative flood fill; visits each pixel once.
pub fn largest_interior_blob(mask: &[bool], width: u32, height: u32) -> usize {
    let (w, h) = (width as usize, height as usize);
    let mut seen = vec![false; mask.len()];
    let mut stack = Vec::new();
    let mut best = 0;
    for start in 0..mask.len() {
        if !mask[start] || seen[start] {
            continue;
        }
        let (mut size, mut touches) = (0usize, false);
        seen[start] = true;
        stack.push(start);
        while let Some(i) = stack.pop() {
            size += 1;
            let (x, y) = (i % w, i / w);
            if x == 0 || y == 0 || x + 1 == w || y + 1 == h {
                touches = true;
            }
            let mut visit = |j: usize| {
                if mask[j] && !seen[j] {
                    seen[j] = true;
                    stack.push(j);
                }
            };
            if x > 0 {
                visit(i - 1);
            }
            if x + 1 < w {
                visit(i + 1);
            }
            if y > 0 {
                visit(i - w);
            }
            if y + 1 < h {
                visit(i + w);
            }
        }
        if !touches {
            best = best.max(size);
        }
    }
    best
}

/// A 64-bit perceptual hash (DCT of a 32×32 luma thumbnail, the 8×8 lowest
/// frequencies without DC, thresholded at their median). Robust to
/// re-encoding and resizing; compare with [`hamming`].
pub fn phash(img: &RgbImage) -> u64 {
    let thumb = crate::resample::area_resize(img, crate::resample::Rect::full(img.width(), img.height()), 32, 32);
    let lum: Vec<f32> = thumb.pixels().map(|p| f32::from(luma(p.0))).collect();
    let n = 32usize;
    let cos: Vec<f32> = (0..8)
        .flat_map(|u| {
            (0..n).map(move |x| (((2 * x + 1) as f32 * u as f32 * std::f32::consts::PI) / (2.0 * n as f32)).cos())
        })
        .collect();
    let mut coeffs = [0f32; 64];
    for v in 0..8 {
        for u in 0..8 {
            let mut s = 0.0;
            for y in 0..n {
                let cy = cos[v * n + y];
                let row = &lum[y * n..(y + 1) * n];
                let mut r = 0.0;
                for (x, l) in row.iter().enumerate() {
                    r += l * cos[u * n + x];
                }
                s += r * cy;
            }
            coeffs[v * 8 + u] = s;
        }
    }
    let mut ac: Vec<f32> = coeffs[1..].to_vec();
    ac.sort_by(f32::total_cmp);
    let median = ac[ac.len() / 2];
    coeffs.iter().enumerate().skip(1).fold(0u64, |h, (i, c)| if *c > median { h | (1 << i) } else { h })
}

/// Number of differing bits.
pub fn hamming(a: u64, b: u64) -> u32 {
    (a ^ b).count_ones()
}

#[cfg(test)]
mod tests {
    use image::Rgb;

    use super::*;

    #[test]
    fn edge_sharpness_sees_edges_not_noise() {
        let flat = vec![128u8; 400];
        assert_eq!(edge_sharpness(&flat, 20, (0, 0, 20, 20)), 0.0);
        // A hard vertical edge of contrast 100 in a 20×20 picture: 1 column in 19 is an edge.
        let edge: Vec<u8> = (0..400).map(|i| if i % 20 < 10 { 50 } else { 150 }).collect();
        assert_eq!(edge_sharpness(&edge, 20, (0, 0, 20, 20)), 100.0);
        // The same edge spread over 10 pixels: at most 10 per step.
        let ramp: Vec<u8> = (0..400).map(|i| (50 + (i % 20).clamp(5, 15) * 10 - 50) as u8).collect();
        assert!(edge_sharpness(&ramp, 20, (0, 0, 20, 20)) <= 10.0);
    }

    #[test]
    fn median_and_blob() {
        let px = [[1, 2, 3], [9, 9, 9], [5, 5, 5]];
        assert_eq!(median_colour(px.into_iter()), Some([5, 5, 5]));
        assert_eq!(median_colour(std::iter::empty()), None);
        // 5x5 with an interior 2x2 blob and a border-touching 3-pixel line.
        let mut mask = vec![false; 25];
        for i in [6, 7, 11, 12, 4, 9, 14] {
            mask[i] = true;
        }
        assert_eq!(largest_interior_blob(&mask, 5, 5), 4);
    }

    #[test]
    fn phash_survives_resize_but_not_a_different_picture() {
        let a = RgbImage::from_fn(300, 200, |x, y| Rgb([((x / 20 + y / 30) % 2 * 200) as u8, (y % 256) as u8, 40]));
        let b = crate::resample::area_resize(&a, crate::resample::Rect::full(300, 200), 211, 140);
        let c = RgbImage::from_fn(300, 200, |x, y| Rgb([(x % 256) as u8, ((x / 50 + y / 10) % 2 * 255) as u8, 90]));
        assert!(hamming(phash(&a), phash(&b)) <= 4);
        assert!(hamming(phash(&a), phash(&c)) > 16);
    }
}
