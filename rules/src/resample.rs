//! Pixel geometry: upright views of stored pixels and area-average resampling.
//!
//! Design for speed (issue: check + fix of a 12 MP photo within 1.5× a bare
//! decode): the full-resolution picture is read only by [`render`], which
//! resamples a rectangle of the *stored* pixels straight to a small output,
//! writing each output row to its place under the EXIF orientation. Nothing ever
//! rotates or copies the full-resolution buffer.

use image::RgbImage;
use image::metadata::Orientation;

use crate::decode::transposes;

/// An axis-aligned rectangle in continuous pixel coordinates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    /// Left edge.
    pub x: f32,
    /// Top edge.
    pub y: f32,
    /// Width.
    pub w: f32,
    /// Height.
    pub h: f32,
}

impl Rect {
    /// The whole `w`×`h` picture.
    pub fn full(w: u32, h: u32) -> Rect {
        Rect { x: 0.0, y: 0.0, w: w as f32, h: h as f32 }
    }

    /// The rectangle clamped into a `w`×`h` picture.
    pub fn clamp_to(self, w: u32, h: u32) -> Rect {
        let (w, h) = (w as f32, h as f32);
        let x0 = self.x.clamp(0.0, w);
        let y0 = self.y.clamp(0.0, h);
        let x1 = (self.x + self.w).clamp(x0, w);
        let y1 = (self.y + self.h).clamp(y0, h);
        Rect { x: x0, y: y0, w: x1 - x0, h: y1 - y0 }
    }
}

/// Maps a point of the upright picture to the stored pixels. `raw` is the
/// stored width and height.
fn to_raw(orientation: Orientation, raw: (f32, f32), x: f32, y: f32) -> (f32, f32) {
    let (w, h) = raw;
    match orientation {
        Orientation::NoTransforms => (x, y),
        Orientation::Rotate90 => (y, h - x),
        Orientation::Rotate180 => (w - x, h - y),
        Orientation::Rotate270 => (w - y, x),
        Orientation::FlipHorizontal => (w - x, y),
        Orientation::FlipVertical => (x, h - y),
        Orientation::Rotate90FlipH => (y, x),
        Orientation::Rotate270FlipH => (w - y, h - x),
    }
}

/// Renders the rectangle `upright` (in upright coordinates) of the stored
/// pixels `raw` to an upright `out_w`×`out_h` picture by area averaging.
pub fn render(raw: &RgbImage, orientation: Orientation, upright: Rect, out_w: u32, out_h: u32) -> RgbImage {
    render_from(
        &Shrunk { image: std::borrow::Cow::Borrowed(raw), factor: 1, raw: raw.dimensions() },
        orientation,
        upright,
        out_w,
        out_h,
    )
}

/// Stored pixels, possibly shrunk by an integer factor (see [`shrink_for`]).
#[derive(Debug, Clone)]
pub struct Shrunk<'a> {
    /// The (shrunk) stored pixels.
    pub image: std::borrow::Cow<'a, RgbImage>,
    /// How many stored pixels one pixel of `image` averages, per side.
    pub factor: u32,
    /// The full stored width and height.
    pub raw: (u32, u32),
}

/// One fast pass over the full-resolution picture: an integer box shrink so
/// that the long side stays at least `min_long` (no shrink when it is already
/// small). Every later render reads this smaller picture instead.
pub fn shrink_for(raw: &RgbImage, min_long: u32) -> Shrunk<'_> {
    let factor = (raw.width().max(raw.height()) / min_long.max(1)).max(1);
    let image =
        if factor == 1 { std::borrow::Cow::Borrowed(raw) } else { std::borrow::Cow::Owned(box_shrink(raw, factor)) };
    Shrunk { image, factor, raw: raw.dimensions() }
}

/// Averages every `k`×`k` block (the remainder at the right and bottom edges, under `k` pixels, is dropped).
pub fn box_shrink(src: &RgbImage, k: u32) -> RgbImage {
    // u16 column sums hold k rows of u8 for k ≤ 257; callers use far smaller factors.
    let k = k.clamp(1, 257);
    let (w, h) = (src.width() / k, src.height() / k);
    let mut out = RgbImage::new(w.max(1), h.max(1));
    if w == 0 || h == 0 {
        return out;
    }
    let k = k as usize;
    let (w, h) = (w as usize, h as usize);
    let stride = src.width() as usize * 3;
    let samples = src.as_raw();
    // Sum k rows column-wise first (a straight, vectorisable add over the
    // row), then fold each k-wide group of columns once per output row.
    let mut columns = vec![0u16; w * k * 3];
    let area = (k * k) as u32;
    let out_buf: &mut [u8] = &mut out;
    for oy in 0..h {
        columns.fill(0);
        for sy in oy * k..oy * k + k {
            let line = &samples[sy * stride..sy * stride + w * k * 3];
            for (c, v) in columns.iter_mut().zip(line) {
                *c += u16::from(*v);
            }
        }
        let dst = &mut out_buf[oy * w * 3..(oy + 1) * w * 3];
        for (ox, block) in columns.chunks_exact(k * 3).enumerate() {
            let (mut r, mut g, mut b) = (0u32, 0u32, 0u32);
            for px in block.chunks_exact(3) {
                r += u32::from(px[0]);
                g += u32::from(px[1]);
                b += u32::from(px[2]);
            }
            dst[ox * 3] = ((r + area / 2) / area) as u8;
            dst[ox * 3 + 1] = ((g + area / 2) / area) as u8;
            dst[ox * 3 + 2] = ((b + area / 2) / area) as u8;
        }
    }
    out
}

/// [`render`] from a shrunk picture: `upright` is in full-resolution upright coordinates.
pub fn render_from(src: &Shrunk<'_>, orientation: Orientation, upright: Rect, out_w: u32, out_h: u32) -> RgbImage {
    let dims = (src.raw.0 as f32, src.raw.1 as f32);
    let (ax, ay) = to_raw(orientation, dims, upright.x, upright.y);
    let (bx, by) = to_raw(orientation, dims, upright.x + upright.w, upright.y + upright.h);
    let k = src.factor as f32;
    if src.factor == 1
        && orientation == Orientation::NoTransforms
        && upright == Rect::full(src.raw.0, src.raw.1)
        && (out_w, out_h) == src.raw
    {
        // Identity: nothing to resample.
        return src.image.clone().into_owned();
    }
    let rect = Rect { x: ax.min(bx) / k, y: ay.min(by) / k, w: (ax - bx).abs() / k, h: (ay - by).abs() / k };
    let (rw, rh) = if transposes(orientation) { (out_h, out_w) } else { (out_w, out_h) };
    area_resize_oriented(&src.image, rect, rw, rh, orientation)
}

/// Where the stored pixel `(0, row)` of a `w`×`h` picture lands when it is seen upright under
/// `orientation`, and the step to the next pixel of that row, both as offsets into the upright
/// RGB buffer. The same mapping as `image`'s `apply_orientation`, done while writing each output
/// row (rotating afterwards cost a full extra pass over every render).
fn upright_row(orientation: Orientation, (w, h): (usize, usize), row: usize) -> (usize, isize) {
    // Upright width, then (x, y) of the row's first pixel and the (dx, dy) step along it.
    let uw = if transposes(orientation) { h } else { w };
    let ((x, y), (dx, dy)) = match orientation {
        Orientation::NoTransforms => ((0, row), (1, 0)),
        Orientation::FlipHorizontal => ((w - 1, row), (-1, 0)),
        Orientation::Rotate180 => ((w - 1, h - 1 - row), (-1, 0)),
        Orientation::FlipVertical => ((0, h - 1 - row), (1, 0)),
        Orientation::Rotate90FlipH => ((row, 0), (0, 1)),
        Orientation::Rotate90 => ((h - 1 - row, 0), (0, 1)),
        Orientation::Rotate270FlipH => ((h - 1 - row, w - 1), (0, -1)),
        Orientation::Rotate270 => ((row, w - 1), (0, -1)),
    };
    ((y * uw + x) * 3, (dy * uw as isize + dx) * 3)
}

/// Fixed-point scale of the horizontal weights.
const HX: u32 = 1 << 12;
/// Fixed-point scale of the vertical weights (accumulated in u64).
const VY: u32 = 1 << 16;

/// For each output index, the source indices it covers and their weights,
/// summing exactly to `scale`. Source coordinates are clamped to `0..len`.
fn spans(start: f32, extent: f32, len: u32, out: u32, scale: u32) -> Vec<(u32, Vec<u32>)> {
    let step = extent / out as f32;
    (0..out)
        .map(|o| {
            let a = (start + o as f32 * step).clamp(0.0, len as f32);
            let b = (start + (o + 1) as f32 * step).clamp(a, len as f32);
            let first = (a.floor() as u32).min(len.saturating_sub(1));
            let last = ((b.ceil() as u32).max(first + 1)).min(len);
            let total = (b - a).max(f32::EPSILON);
            // Cumulative rounding: the weights sum exactly to `scale` (flat areas stay flat)
            // and each is within one unit of its exact share.
            let mut cum = 0f32;
            let mut prev = 0u32;
            let weights: Vec<u32> = (first..last)
                .map(|s| {
                    cum += (((s + 1) as f32).min(b) - (s as f32).max(a)).max(0.0);
                    let next = ((cum / total).min(1.0) * scale as f32).round() as u32;
                    let w = next - prev;
                    prev = next;
                    w
                })
                .collect();
            let mut weights = weights;
            if let Some(last) = weights.last_mut() {
                *last += scale - prev;
            }
            (first, weights)
        })
        .collect()
}

/// The horizontal weights of a resize, flat: for each output pixel the offset of its first source
/// sample and exactly `taps` weights (zero-padded; windows near the right edge start earlier so
/// every read stays in the row). One fixed-length inner loop per output instead of a `Vec` each:
/// about 1.4–2× faster in WebAssembly (V8), the same natively, the same sums.
struct Taps {
    taps: usize,
    first: Vec<usize>,
    weights: Vec<u32>,
}

impl Taps {
    fn new(spans: &[(u32, Vec<u32>)], len: usize) -> Taps {
        let taps = spans.iter().map(|(_, w)| w.len()).max().unwrap_or(1).clamp(1, len.max(1));
        let mut first = Vec::with_capacity(spans.len());
        let mut weights = vec![0u32; spans.len() * taps];
        for (i, (f, w)) in spans.iter().enumerate() {
            let f = *f as usize;
            let start = f.min(len.saturating_sub(taps));
            first.push(start * 3);
            let at = i * taps + (f - start);
            weights[at..at + w.len()].copy_from_slice(w);
        }
        Taps { taps, first, weights }
    }

    /// Weighted sums of one source row (RGB samples) into `out` (3 per output pixel). Inlined, with
    /// every tap count, into the one resize function: a WebAssembly engine optimises per function,
    /// so a worker's warm-up of any resize then covers them all.
    #[inline(always)]
    fn apply(&self, line: &[u8], out: &mut [u32]) {
        match self.taps {
            1 => self.apply_n::<1>(line, out),
            2 => self.apply_n::<2>(line, out),
            3 => self.apply_n::<3>(line, out),
            4 => self.apply_n::<4>(line, out),
            5 => self.apply_n::<5>(line, out),
            _ => {
                for ((f, w), o) in
                    self.first.iter().zip(self.weights.chunks_exact(self.taps)).zip(out.chunks_exact_mut(3))
                {
                    sum_taps(&line[*f..*f + 3 * self.taps], w, o);
                }
            }
        }
    }

    #[inline(always)]
    fn apply_n<const T: usize>(&self, line: &[u8], out: &mut [u32]) {
        for ((f, w), o) in self.first.iter().zip(self.weights.chunks_exact(T)).zip(out.chunks_exact_mut(3)) {
            sum_taps(&line[*f..*f + 3 * T], w, o);
        }
    }
}

#[inline(always)]
fn sum_taps(px: &[u8], w: &[u32], o: &mut [u32]) {
    let (mut r, mut g, mut b) = (0u32, 0u32, 0u32);
    for (p, w) in px.chunks_exact(3).zip(w) {
        r += u32::from(p[0]) * w;
        g += u32::from(p[1]) * w;
        b += u32::from(p[2]) * w;
    }
    o[0] = r;
    o[1] = g;
    o[2] = b;
}

/// Area-average resampling of `rect` of `src` to `out_w`×`out_h`. Exact box
/// filter for downscaling; for upscaling (never done by the fix) it degrades
/// to nearest neighbour.
pub fn area_resize(src: &RgbImage, rect: Rect, out_w: u32, out_h: u32) -> RgbImage {
    area_resize_oriented(src, rect, out_w, out_h, Orientation::NoTransforms)
}

/// [`area_resize`], then seen upright under `orientation` (`out_w`×`out_h` is the size before
/// orienting): each output row is written straight to its upright place.
pub fn area_resize_oriented(src: &RgbImage, rect: Rect, out_w: u32, out_h: u32, orientation: Orientation) -> RgbImage {
    let (sw, sh) = src.dimensions();
    let out_w = out_w.max(1);
    let out_h = out_h.max(1);
    let (uw, uh) = if transposes(orientation) { (out_h, out_w) } else { (out_w, out_h) };
    let mut out = RgbImage::new(uw, uh);
    if sw == 0 || sh == 0 {
        return out;
    }
    let cols = Taps::new(&spans(rect.x, rect.w, sw, out_w, HX), sw as usize);
    let rows = spans(rect.y, rect.h, sh, out_h, VY);
    let samples = src.as_raw();
    let stride = sw as usize * 3;
    let mut row_buf = vec![0u32; out_w as usize * 3];
    let mut acc = vec![0u64; out_w as usize * 3];
    let out_buf: &mut [u8] = &mut out;
    let mut cached_row: Option<u32> = None;
    for (oy, (first_row, row_weights)) in rows.iter().enumerate() {
        // The first weighted row is written, the others added: no clearing pass per output row
        // (memset was 3.5 % of the bundle bench's profile, issue 16). Same sums.
        let mut first = true;
        for (k, wy) in row_weights.iter().enumerate() {
            let sy = first_row + k as u32;
            if *wy == 0 {
                continue;
            }
            if cached_row != Some(sy) {
                cols.apply(&samples[sy as usize * stride..(sy as usize + 1) * stride], &mut row_buf);
                cached_row = Some(sy);
            }
            if first {
                for (a, v) in acc.iter_mut().zip(&row_buf) {
                    *a = u64::from(*v) * u64::from(*wy);
                }
                first = false;
            } else {
                for (a, v) in acc.iter_mut().zip(&row_buf) {
                    *a += u64::from(*v) * u64::from(*wy);
                }
            }
        }
        if first {
            acc.fill(0);
        }
        let total = u64::from(HX) * u64::from(VY);
        let value = |a: u64| ((a + total / 2) / total).min(255) as u8;
        let (start, step) = upright_row(orientation, (out_w as usize, out_h as usize), oy);
        if step == 3 {
            let line = &mut out_buf[start..start + out_w as usize * 3];
            for (d, a) in line.iter_mut().zip(&acc) {
                *d = value(*a);
            }
        } else {
            let mut at = start as isize;
            for px in acc.chunks_exact(3) {
                let i = at as usize;
                out_buf[i] = value(px[0]);
                out_buf[i + 1] = value(px[1]);
                out_buf[i + 2] = value(px[2]);
                at += step;
            }
        }
    }
    out
}

/// Scales `(w, h)` down so the longer side is at most `max_long`; never up.
pub fn fit_within(w: u32, h: u32, max_long: u32) -> (u32, u32) {
    let long = w.max(h);
    if long <= max_long {
        return (w, h);
    }
    let s = max_long as f32 / long as f32;
    (((w as f32 * s).round() as u32).max(1), ((h as f32 * s).round() as u32).max(1))
}

#[cfg(test)]
mod tests {
    use image::{DynamicImage, Rgb};

    use super::*;

    fn gradient(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| Rgb([(x * 255 / w.max(1)) as u8, (y * 255 / h.max(1)) as u8, 77]))
    }

    #[test]
    fn flat_areas_stay_flat_at_any_scale() {
        let src = RgbImage::from_pixel(997, 631, Rgb([200, 10, 255]));
        for (w, h) in [(1, 1), (3, 7), (295, 413), (500, 300), (997, 631)] {
            let out = area_resize(&src, Rect::full(997, 631), w, h);
            assert!(out.pixels().all(|p| *p == Rgb([200, 10, 255])), "{w}x{h}");
        }
    }

    /// The area average written out directly from the spans (the weights of each output pixel).
    fn reference(src: &RgbImage, rect: Rect, w: u32, h: u32) -> RgbImage {
        let cols = spans(rect.x, rect.w, src.width(), w, HX);
        let rows = spans(rect.y, rect.h, src.height(), h, VY);
        let total = u64::from(HX) * u64::from(VY);
        RgbImage::from_fn(w, h, |x, y| {
            let ((fx, wx), (fy, wy)) = (&cols[x as usize], &rows[y as usize]);
            let mut acc = [0u64; 3];
            for (j, a) in wy.iter().enumerate() {
                for (i, b) in wx.iter().enumerate() {
                    let p = src.get_pixel(fx + i as u32, fy + j as u32);
                    for c in 0..3 {
                        acc[c] += u64::from(p[c]) * u64::from(*a) * u64::from(*b);
                    }
                }
            }
            image::Rgb(acc.map(|a| ((a + total / 2) / total).min(255) as u8))
        })
    }

    #[test]
    fn the_flat_taps_give_the_area_average_at_every_scale_and_edge() {
        let src = RgbImage::from_fn(97, 61, |x, y| Rgb([(x * 37 + y * 11) as u8, (x ^ (y * 5)) as u8, (x * y) as u8]));
        let rects =
            [Rect::full(97, 61), Rect { x: 60.3, y: 20.7, w: 36.7, h: 40.3 }, Rect { x: 0.5, y: 0.0, w: 13.0, h: 9.5 }];
        for rect in rects {
            // 1 to 7 taps per output pixel, and enlargements.
            for (w, h) in [(97, 61), (60, 40), (33, 21), (13, 9), (7, 5), (1, 1), (150, 90)] {
                assert_eq!(area_resize(&src, rect, w, h), reference(&src, rect, w, h), "{rect:?} to {w}x{h}");
            }
        }
    }

    #[test]
    fn averages_two_by_two_blocks() {
        let src = RgbImage::from_fn(4, 2, |x, _| if x % 2 == 0 { Rgb([0, 0, 0]) } else { Rgb([200, 100, 50]) });
        let out = area_resize(&src, Rect::full(4, 2), 2, 1);
        assert_eq!(out.get_pixel(0, 0), &Rgb([100, 50, 25]));
        assert_eq!(out.get_pixel(1, 0), &Rgb([100, 50, 25]));
    }

    #[test]
    fn render_matches_apply_orientation_for_every_orientation() {
        let upright = gradient(60, 40);
        for value in 1..=8u8 {
            let orientation = Orientation::from_exif(value).unwrap();
            // Build the stored pixels: the inverse of the orientation applied to the upright picture.
            let mut stored = DynamicImage::ImageRgb8(upright.clone());
            for _ in 0..3 {
                // Applying an orientation 4 times (rotations) or twice (flips) is the identity;
                // applying it 3 times (or once for flips) is therefore its inverse.
                stored.apply_orientation(orientation);
                if matches!(
                    orientation,
                    Orientation::FlipHorizontal
                        | Orientation::FlipVertical
                        | Orientation::Rotate90FlipH
                        | Orientation::Rotate270FlipH
                ) {
                    break;
                }
            }
            let stored = stored.into_rgb8();
            assert_eq!(applied(&stored, orientation), upright, "test setup for orientation {value}");
            // A sub-rectangle, rendered at its own size, equals the same crop of the upright picture.
            let rect = Rect { x: 10.0, y: 5.0, w: 30.0, h: 20.0 };
            let out = render(&stored, orientation, rect, 30, 20);
            let expected = image::imageops::crop_imm(&upright, 10, 5, 30, 20).to_image();
            assert_eq!(out, expected, "orientation {value}");
        }
    }

    /// `img` under `orientation` by `image`'s own `apply_orientation`: the reference.
    fn applied(img: &RgbImage, orientation: Orientation) -> RgbImage {
        let mut reference = DynamicImage::ImageRgb8(img.clone());
        reference.apply_orientation(orientation);
        reference.into_rgb8()
    }

    #[test]
    fn oriented_resizes_are_apply_orientation_of_the_resize() {
        let img = gradient(29, 17);
        let rect = Rect { x: 1.5, y: 0.5, w: 26.0, h: 15.0 };
        for value in 1..=8u8 {
            let orientation = Orientation::from_exif(value).unwrap();
            for (w, h) in [(29, 17), (13, 7), (1, 1)] {
                let plain = area_resize(&img, rect, w, h);
                let oriented = area_resize_oriented(&img, rect, w, h, orientation);
                assert_eq!(oriented, applied(&plain, orientation), "orientation {value}, {w}x{h}");
            }
        }
    }

    #[test]
    fn box_shrink_averages_blocks_and_render_from_maps_coordinates() {
        let src = gradient(64, 48);
        let shrunk = shrink_for(&src, 16);
        assert_eq!((shrunk.factor, shrunk.image.dimensions()), (4, (16, 12)));
        let block: u32 =
            (0..4).flat_map(|y| (0..4).map(move |x| (x, y))).map(|(x, y)| u32::from(src.get_pixel(x, y)[0])).sum();
        assert_eq!(u32::from(shrunk.image.get_pixel(0, 0)[0]), (block + 8) / 16);
        // The same region rendered from the full and from the shrunk picture agrees closely.
        let rect = Rect { x: 8.0, y: 8.0, w: 40.0, h: 32.0 };
        let a = render(&src, Orientation::Rotate90, rect, 10, 8);
        let b = render_from(&shrunk, Orientation::Rotate90, rect, 10, 8);
        for (p, q) in a.pixels().zip(b.pixels()) {
            for c in 0..3 {
                assert!(p[c].abs_diff(q[c]) <= 3, "{p:?} vs {q:?}");
            }
        }
        assert_eq!(shrink_for(&src, 100).factor, 1);
    }

    #[test]
    fn fit_within_never_enlarges() {
        assert_eq!(fit_within(4000, 3000, 512), (512, 384));
        assert_eq!(fit_within(300, 200, 512), (300, 200));
    }
}
