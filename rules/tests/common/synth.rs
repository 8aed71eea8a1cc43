//! Synthetic, camera-like test images generated entirely in code.
//!
//! Everything here is deterministic (seeded, no files read, no clock, no global state) so the
//! rules crate's tests, benchmarks and fixture generator see the same bytes on every machine.
//!
//! * [`portrait`]: an ID-photo-like person (hair, face, eyes, ears, neck, jacket and shirt) on a
//!   chosen background, with fine texture, exposure, blur and sensor noise controls.
//! * [`document`]: an ID card (front or back) or a passport page photographed on a table.
//! * [`jpeg`], [`png`], [`gray_png`], [`exif`], [`to_camera_orientation`]: camera-like encodings
//!   (baseline JPEG with 4:2:0 chroma subsampling and an EXIF APP1 segment).
//! * [`camera_photo_12mp`], [`camera_photo_1_4mp`]: ready-made camera JPEGs for benchmarks.
//! * Hostile inputs: [`gif_bytes`], [`png_bomb`], [`jpeg_bomb`], [`truncated_jpeg`],
//!   [`random_bytes`], [`pdf_minimal`], [`pdf_encrypted`].
//!
//! Included with `mod common;` (via `common/mod.rs`) by test binaries and with `#[path]` by
//! benches and examples, so unused items are expected.
#![allow(dead_code, unreachable_pub)]

use std::f32::consts::PI;

use image::codecs::png::PngEncoder;
use image::{ExtendedColorType, GrayImage, ImageEncoder, RgbImage};

// ---------------------------------------------------------------------------------------------
// Randomness
// ---------------------------------------------------------------------------------------------

/// SplitMix64: a tiny, fast, well-mixed PRNG for layout decisions (not for per-pixel noise,
/// which uses stateless hashes and per-row xorshift streams).
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// The next 32 random bits.
    pub fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 * (1.0 / 16_777_216.0)
    }

    /// Uniform in `[lo, hi)`.
    pub fn range(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.unit()
    }

    /// Uniform integer in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u32) -> u32 {
        ((u64::from(self.next_u32()) * u64::from(n)) >> 32) as u32
    }
}

/// Stateless integer hash of a lattice point and a seed (lowbias32 finaliser).
#[inline]
fn hash3(x: u32, y: u32, s: u32) -> u32 {
    let mut h = x.wrapping_mul(0x9E37_79B1).wrapping_add(y.wrapping_mul(0x85EB_CA77)) ^ s;
    h ^= h >> 16;
    h = h.wrapping_mul(0x7FEB_352D);
    h ^= h >> 15;
    h = h.wrapping_mul(0x846C_A68B);
    h ^= h >> 16;
    h
}

/// Hash to `[0, 1)`.
#[inline]
fn unit(h: u32) -> f32 {
    (h >> 8) as f32 * (1.0 / 16_777_216.0)
}

/// Hash to a triangular distribution on `[-1, 1]` (sum of two uniforms; std ≈ 0.41).
#[inline]
fn tri(h: u32) -> f32 {
    ((h & 0xFFFF) + (h >> 16)) as f32 * (1.0 / 65_535.0) - 1.0
}

/// Smooth value noise in `[0, 1]` with unit lattice spacing.
fn value_noise(x: f32, y: f32, s: u32) -> f32 {
    let xf = x.floor();
    let yf = y.floor();
    let (fx, fy) = (x - xf, y - yf);
    let sx = fx * fx * (3.0 - 2.0 * fx);
    let sy = fy * fy * (3.0 - 2.0 * fy);
    let xi = xf as i32 as u32;
    let yi = yf as i32 as u32;
    let a = unit(hash3(xi, yi, s));
    let b = unit(hash3(xi.wrapping_add(1), yi, s));
    let c = unit(hash3(xi, yi.wrapping_add(1), s));
    let d = unit(hash3(xi.wrapping_add(1), yi.wrapping_add(1), s));
    let top = a + (b - a) * sx;
    let bottom = c + (d - c) * sx;
    top + (bottom - top) * sy
}

/// One xorshift32 step: a cheap per-pixel random stream along a row (state must be non-zero).
#[inline]
fn xs(mut s: u32) -> u32 {
    s ^= s << 13;
    s ^= s >> 17;
    s ^= s << 5;
    s
}

/// Start state of a row's xorshift stream.
#[inline]
fn row_state(yi: u32, seed: u32) -> u32 {
    hash3(0x2545_F491, yi, seed) | 1
}

/// Precomputed smooth noise in `[0, 1]` over an area, sampled bilinearly (cheaper per pixel than
/// `value_noise`).
#[derive(Debug, Clone)]
struct Lattice {
    inv_x: f32,
    inv_y: f32,
    w: usize,
    h: usize,
    vals: Vec<f32>,
}

impl Lattice {
    fn new(width: f32, height: f32, cell_x: f32, cell_y: f32, seed: u32) -> Self {
        let cell_x = cell_x.max(1.0);
        let cell_y = cell_y.max(1.0);
        let w = (width / cell_x).ceil() as usize + 2;
        let h = (height / cell_y).ceil() as usize + 2;
        let mut vals = Vec::with_capacity(w * h);
        for j in 0..h {
            for i in 0..w {
                vals.push(unit(hash3(i as u32, j as u32, seed)));
            }
        }
        Self { inv_x: 1.0 / cell_x, inv_y: 1.0 / cell_y, w, h, vals }
    }

    #[inline]
    fn sample(&self, x: f32, y: f32) -> f32 {
        let gx = (x * self.inv_x).clamp(0.0, (self.w - 2) as f32);
        let gy = (y * self.inv_y).clamp(0.0, (self.h - 2) as f32);
        let (i, j) = (gx as usize, gy as usize);
        let (fx, fy) = (gx - i as f32, gy - j as f32);
        let sx = fx * fx * (3.0 - 2.0 * fx);
        let sy = fy * fy * (3.0 - 2.0 * fy);
        let k = j * self.w + i;
        let top = self.vals[k] + (self.vals[k + 1] - self.vals[k]) * sx;
        let bottom = self.vals[k + self.w] + (self.vals[k + self.w + 1] - self.vals[k + self.w]) * sx;
        top + (bottom - top) * sy
    }
}

/// Folds a 64-bit seed into a 32-bit hash seed.
fn seed32(seed: u64, salt: u64) -> u32 {
    SplitMix64::new(seed ^ salt.wrapping_mul(0xA24B_AED4_963E_E407)).next_u32()
}

// ---------------------------------------------------------------------------------------------
// Colour helpers (linear-ish sRGB in 0..255 as f32)
// ---------------------------------------------------------------------------------------------

type Rgbf = [f32; 3];

#[inline]
fn mix(a: Rgbf, b: Rgbf, t: f32) -> Rgbf {
    [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t]
}

#[inline]
fn mul(a: Rgbf, k: f32) -> Rgbf {
    [a[0] * k, a[1] * k, a[2] * k]
}

#[inline]
fn add(a: Rgbf, k: f32) -> Rgbf {
    [a[0] + k, a[1] + k, a[2] + k]
}

/// Multiply-blends ink of colour `ink` with coverage `alpha` onto `c` (like print on paper).
#[inline]
fn ink(c: Rgbf, ink: Rgbf, alpha: f32) -> Rgbf {
    [
        c[0] * (1.0 - alpha * (1.0 - ink[0] / 255.0)),
        c[1] * (1.0 - alpha * (1.0 - ink[1] / 255.0)),
        c[2] * (1.0 - alpha * (1.0 - ink[2] / 255.0)),
    ]
}

#[inline]
fn smoothstep(e0: f32, e1: f32, x: f32) -> f32 {
    let t = ((x - e0) / (e1 - e0)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// Rounds to a channel value; `as` saturates (below 0 gives 0, above 255 gives 255, NaN 0).
#[inline]
fn to_u8(v: f32) -> u8 {
    (v + 0.5) as u8
}

/// Gain, sensor noise (luminance plus a little chroma), optional grayscale and optional
/// saturated glare `(cx, cy, radius)` in pixels, applied in place as the last step.
fn finish(img: &mut RgbImage, gain: f32, noise: f32, grayscale: bool, seed: u32, glare: Option<(f32, f32, f32)>) {
    let width = img.width() as usize;
    if width == 0 {
        return;
    }
    let chroma = 0.3 * noise;
    for (yi, row) in img.chunks_exact_mut(width * 3).enumerate() {
        let y = yi as f32 + 0.5;
        let glare = glare.filter(|g| (y - g.1).abs() < g.2);
        let mut s = row_state(yi as u32, seed);
        for (xi, px) in row.chunks_exact_mut(3).enumerate() {
            s = xs(s);
            let n = tri(s) * noise;
            let mut out = if grayscale {
                let l = (0.299 * f32::from(px[0]) + 0.587 * f32::from(px[1]) + 0.114 * f32::from(px[2])) * gain + n;
                [l; 3]
            } else {
                s = xs(s);
                let cr = tri(s) * chroma;
                let cb = tri(s.rotate_left(16)) * chroma;
                [
                    f32::from(px[0]) * gain + n + cr,
                    f32::from(px[1]) * gain + n - 0.5 * (cr + cb),
                    f32::from(px[2]) * gain + n + cb,
                ]
            };
            if let Some((gx, gy, gr)) = glare {
                let dx = xi as f32 + 0.5 - gx;
                let dy = y - gy;
                let d = (dx * dx + dy * dy).sqrt();
                if d < gr {
                    let w = 1.0 - smoothstep(0.55 * gr, gr, d);
                    out = mix(
                        [out[0].clamp(0.0, 255.0), out[1].clamp(0.0, 255.0), out[2].clamp(0.0, 255.0)],
                        [255.0; 3],
                        w,
                    );
                }
            }
            px[0] = to_u8(out[0]);
            px[1] = to_u8(out[1]);
            px[2] = to_u8(out[2]);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Portrait
// ---------------------------------------------------------------------------------------------

/// Background behind the person in a [`portrait`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Background {
    /// Near-white studio wall (about 245–248 per channel).
    White,
    /// ID-photo blue (about 67, 142, 219).
    Blue,
    /// ID-photo red (about 214, 32, 38).
    Red,
    /// Neutral mid grey (about 158).
    Gray,
    /// Busy high-contrast pattern: bookshelf rows of coloured spines alternating with
    /// checked and striped wallpaper.
    Pattern,
    /// White to light grey with uneven lighting (a wall lit from the top left).
    Gradient,
}

/// What [`portrait`] draws.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PortraitSpec {
    /// Image width in pixels.
    pub width: u32,
    /// Image height in pixels.
    pub height: u32,
    /// Background behind the person.
    pub background: Background,
    /// Whether a person is drawn at all (false: background only).
    pub subject: bool,
    /// Head centre shift as a fraction of the width; 0 = centred, negative = left.
    pub offset_x: f32,
    /// Head size: 1.0 makes the face about 0.55 of the image width (GA 461: 207 of 358 px).
    pub scale: f32,
    /// Top of the hair as a fraction of the height (default 0.06).
    pub top: f32,
    /// Write R = G = B (luma of the colour scene).
    pub grayscale: bool,
    /// Exposure: multiplies all channels (1.0 normal, 0.25 dark, 2.5 blown out).
    pub gain: f32,
    /// Gaussian blur sigma in output pixels (optics); 0 = none. Applied before sensor noise.
    pub blur_sigma: f32,
    /// Sensor noise peak amplitude in 0..255 units (triangular, std ≈ 0.41 × this).
    pub noise: f32,
    /// Seed for colours, texture and noise.
    pub seed: u64,
}

impl Default for PortraitSpec {
    fn default() -> Self {
        Self {
            width: 1200,
            height: 1680,
            background: Background::White,
            subject: true,
            offset_x: 0.0,
            scale: 1.0,
            top: 0.06,
            grayscale: false,
            gain: 1.0,
            blur_sigma: 0.0,
            noise: 6.0,
            seed: 1,
        }
    }
}

/// Geometry of the person in one image. Feature coordinates `(u, v)` are measured from the face
/// centre in units of the face half-width `a` (so circles stay circles).
#[derive(Debug, Clone)]
struct Figure {
    cx: f32,
    cy: f32,
    a: f32,
    /// Face half-height in `a` units.
    bh: f32,
    /// Hair ellipse centre (v) and half-height, in `a` units.
    hair_cv: f32,
    hair_hb: f32,
    /// Lowest v of the hair beside the face.
    hair_bottom: f32,
    /// v of the shoulder line next to the neck.
    v_sh: f32,
    part_u: f32,
    clump_w: f32,
    skin: Rgbf,
    hair: Rgbf,
    iris: Rgbf,
    lip: Rgbf,
    jacket: Rgbf,
    shirt: Rgbf,
    tie: Option<Rgbf>,
    /// Large soft fabric folds.
    folds: Lattice,
    /// Uneven skin tone.
    blotch: Lattice,
    seed: u32,
}

/// Per-row quantities of a [`Figure`], computed once per image row.
#[derive(Debug, Clone, Copy)]
struct FigRow {
    v: f32,
    face_hw: f32,
    hair_hw: f32,
    ear_hw: f32,
}

/// `1 - x²` clamped at 0: a cheap smooth bump on `[-1, 1]`.
#[inline]
fn bump(x: f32) -> f32 {
    (1.0 - x * x).max(0.0)
}

impl Figure {
    fn new(width: f32, height: f32, scale: f32, offset_x: f32, top: f32, seed: u64) -> Self {
        let mut rng = SplitMix64::new(seed ^ 0xF16E_F16E);
        let a = (0.275 * width * scale).max(1.0);
        let y_top = top * height;
        let bh = 1.25;
        let cy = y_top + 0.16 * a + bh * a;
        let hair_cv = -0.15;
        let hair_hb = bh + 0.16 + hair_cv;
        const SKINS: [Rgbf; 4] =
            [[226.0, 186.0, 160.0], [214.0, 168.0, 136.0], [236.0, 202.0, 178.0], [200.0, 152.0, 120.0]];
        const HAIRS: [Rgbf; 3] = [[34.0, 26.0, 22.0], [22.0, 19.0, 18.0], [52.0, 36.0, 27.0]];
        const JACKETS: [Rgbf; 3] = [[34.0, 38.0, 52.0], [30.0, 31.0, 34.0], [46.0, 42.0, 50.0]];
        const TIES: [Rgbf; 3] = [[120.0, 26.0, 36.0], [28.0, 48.0, 110.0], [70.0, 72.0, 78.0]];
        let skin = SKINS[rng.below(4) as usize];
        let hair = HAIRS[rng.below(3) as usize];
        let jacket = JACKETS[rng.below(3) as usize];
        let tie = if rng.below(2) == 0 { Some(TIES[rng.below(3) as usize]) } else { None };
        let seed = rng.next_u32();
        Self {
            cx: width * (0.5 + offset_x),
            cy,
            a,
            bh,
            hair_cv,
            hair_hb,
            hair_bottom: -0.1,
            v_sh: bh + 0.3,
            part_u: rng.range(-0.45, -0.2),
            clump_w: (a * 0.014).max(2.0),
            skin,
            hair,
            iris: [62.0, 42.0, 30.0],
            lip: mix(skin, [182.0, 88.0, 92.0], 0.55),
            jacket,
            shirt: [240.0, 240.0, 237.0],
            tie,
            folds: Lattice::new(width, height, 0.5 * a, 0.35 * a, seed ^ 0xF01D),
            blotch: Lattice::new(width, height, 0.3 * a, 0.3 * a, seed ^ 0xB107),
            seed,
        }
    }

    fn row(&self, y: f32) -> FigRow {
        let v = (y - self.cy) / self.a;
        let t = v / self.bh;
        let face_hw = if t.abs() >= 1.0 {
            0.0
        } else if t < 0.0 {
            (1.0 - t * t).sqrt()
        } else {
            // Squarer jaw than an ellipse.
            (1.0 - t * t * t).max(0.0).sqrt()
        };
        let hv = (v - self.hair_cv) / self.hair_hb;
        let hair_hw = if v < self.hair_bottom && hv.abs() < 1.0 { 1.1 * (1.0 - hv * hv).sqrt() } else { 0.0 };
        let ev = (v - 0.02) / 0.3;
        let ear_hw = if ev.abs() < 1.0 { 0.15 * (1.0 - ev * ev).sqrt() } else { 0.0 };
        FigRow { v, face_hw, hair_hw, ear_hw }
    }

    /// Top of the body outline at `|u|`: a U-shaped neckline, a straight trapezius slope, then a
    /// rounded shoulder turning into the arm (which keeps widening, so the body fills the bottom).
    #[inline]
    fn shoulder_v(&self, au: f32) -> f32 {
        if au < 0.4 {
            let k = au / 0.4;
            return self.v_sh + 0.12 * (1.0 - k * k);
        }
        let t = (au - 0.5).max(0.0);
        let r = (t - 1.6).max(0.0);
        self.v_sh + 0.36 * t + 0.04 * t * t + 0.9 * r * r
    }

    #[inline]
    fn hairline(&self, u: f32) -> f32 {
        -0.9 + 0.42 * u * u - 0.06 * u
    }

    /// Colour of the person at pixel centre `(x, y)` in row `r`, or `None` for background.
    /// `grain` is 32 random bits for this pixel (fine texture).
    #[inline]
    fn pixel(&self, r: &FigRow, x: f32, y: f32, xi: u32, yi: u32, grain: u32) -> Option<Rgbf> {
        let u = (x - self.cx) / self.a;
        let au = u.abs();
        let v = r.v;
        if au < r.face_hw {
            if v < self.hairline(u) {
                return Some(self.hair_px(u, x, y, grain));
            }
            return Some(self.face_px(u, v, x, y, grain));
        }
        if r.hair_hw > 0.0 && au < r.hair_hw + 0.03 {
            let fuzz = 0.03 * (unit(hash3(xi >> 1, yi, self.seed ^ 0x4A1)) - 0.5);
            if au < r.hair_hw + fuzz {
                return Some(self.hair_px(u, x, y, grain));
            }
        }
        if r.ear_hw > 0.0 && (au - 1.0).abs() < r.ear_hw {
            return Some(self.ear_px(au, v, grain));
        }
        if v > 0.3 {
            let sv = self.shoulder_v(au);
            let collar = (0.38..0.64).contains(&au) && v >= self.v_sh - 0.16 + 0.3 * (au - 0.38);
            if v >= sv || collar {
                return Some(self.clothes_px(au, v, x, y, xi, yi, grain));
            }
            if au < 0.42 {
                return Some(self.neck_px(u, v, grain));
            }
        }
        None
    }

    #[inline]
    fn pores(&self, grain: u32) -> f32 {
        tri(grain) * 5.0
    }

    fn face_px(&self, u: f32, v: f32, x: f32, y: f32, grain: u32) -> Rgbf {
        let t = v / self.bh;
        let rr = (u * u + t * t).min(1.0);
        let mut shade = 0.8 + 0.22 * (1.0 - rr).sqrt() - 0.05 * u;
        shade *= 0.97 + 0.05 * self.blotch.sample(x, y);
        let mut c = self.skin;
        let au = u.abs();

        // Cheeks: a little warmer.
        let cu = (au - 0.48) / 0.26;
        let cv = (v - 0.25) / 0.22;
        let cd = cu * cu + cv * cv;
        if cd < 1.0 {
            c = mix(c, [222.0, 140.0, 130.0], 0.12 * (1.0 - cd));
        }

        // Eyes and lids.
        let eu = au - 0.36;
        let ev = v + 0.1;
        if eu.abs() < 0.22 && ev.abs() < 0.16 {
            let k = eu / 0.17;
            let open = 0.065 * bump(k);
            if open > 0.0 && ev > -open && ev < 0.7 * open {
                let d2 = eu * eu + ev * ev;
                let lid_shadow = 1.0 - 0.3 * smoothstep(-open + 0.025, -open, ev);
                if d2 < 0.026 * 0.026 {
                    return [12.0, 10.0, 10.0];
                }
                let cl = (eu + 0.018) * (eu + 0.018) + (ev + 0.018) * (ev + 0.018);
                if cl < 0.011 * 0.011 {
                    return [245.0, 245.0, 245.0];
                }
                if d2 < 0.062 * 0.062 {
                    let streak = 0.8 + 0.35 * unit(grain);
                    return mul(self.iris, streak * lid_shadow);
                }
                let edge = 0.8 + 0.2 * bump(k);
                return mul([226.0, 220.0, 214.0], edge * lid_shadow);
            }
            let top = -open;
            if k.abs() < 1.1 && ev <= top && ev > top - 0.024 {
                return mix(mul(c, shade), [42.0, 30.0, 28.0], 0.85 * bump(k / 1.1).sqrt());
            }
            // Socket shading above and a soft shadow under the eye.
            let around = bump(eu / 0.22);
            shade *= 1.0 - 0.08 * around * bump((ev + 0.07) / 0.07);
            shade *= 1.0 - 0.05 * around * bump((ev - 0.08) / 0.05);
        }
        // Brows.
        let bu = au - 0.38;
        if bu.abs() < 0.22 {
            let kb = bu / 0.22;
            let vb = -0.38 - 0.045 * (1.0 - kb * kb);
            let thick = 0.034 * (1.0 - 0.35 * (kb + 1.0));
            if (v - vb).abs() < thick {
                let strand = unit(hash3((x as u32) / 2, y as u32, self.seed ^ 0xB10));
                return mix(mul(c, shade), self.hair, 0.55 + 0.35 * strand);
            }
        }

        // Nose: side shadow (light from the left), nostrils, wings, tip highlight, philtrum.
        if au < 0.2 && v > -0.15 && v < 0.5 {
            shade *= 1.0 - 0.11 * bump((u - 0.1) / 0.05) * bump((v - 0.1) / 0.2);
            let nu = (au - 0.085) / 0.04;
            let nv = (v - 0.325) / 0.022;
            shade *= 1.0 - 0.5 * (1.0 - smoothstep(0.5, 1.0, nu * nu + nv * nv));
            let wu = (au - 0.125) / 0.06;
            let wv = (v - 0.29) / 0.06;
            shade *= 1.0 - 0.09 * bump((wu * wu + wv * wv).sqrt());
            let tip = (u * u + (v - 0.24) * (v - 0.24)).sqrt() / 0.05;
            shade *= 1.0 + 0.05 * bump(tip);
            shade *= 1.0 - 0.06 * bump(u / 0.07) * bump((v - 0.43) / 0.07);
        }

        // Mouth.
        let mv = v - 0.66;
        if au < 0.3 && mv.abs() < 0.16 {
            let lw = bump(u / 0.27);
            let bow = 1.0 - 0.35 * (-(au - 0.07) * (au - 0.07) / 0.002).exp();
            if lw > 0.0 {
                if mv.abs() < 0.008 {
                    return mul(self.lip, 0.45 * shade);
                }
                if mv < 0.0 && mv > -0.058 * lw * bow {
                    return add(mul(self.lip, shade * 0.92), self.pores(grain) * 0.5);
                }
                if mv > 0.0 && mv < 0.075 * lw {
                    let hl = 1.0 + 0.08 * (1.0 - (mv / (0.075 * lw) - 0.4).abs());
                    return add(mul(self.lip, shade * hl), self.pores(grain) * 0.5);
                }
            }
            shade *= 1.0 - 0.07 * bump(u / 0.25) * bump((mv - 0.11) / 0.04);
        }
        add(mul(c, shade), self.pores(grain))
    }

    fn hair_px(&self, u: f32, x: f32, y: f32, grain: u32) -> Rgbf {
        let dx = x - self.cx;
        let dy = y - self.cy;
        // Strands fan out from the parting; clumps are a few pixels wide, strands about one.
        let k = (u - self.part_u) * 0.9;
        let s = dx - k * dy;
        let clump = (s / self.clump_w).floor() as i32 as u32;
        let fine = (s / 1.3).floor() as i32 as u32;
        // Stagger strand segment boundaries per clump so no horizontal bands appear.
        let stagger = unit(hash3(clump, 0x5E6, self.seed));
        let seg = (dy / (self.a * 0.12) + stagger).floor() as i32 as u32;
        let b = 0.55
            + 0.3 * unit(hash3(clump, seg, self.seed ^ 0xC1))
            + 0.25 * unit(hash3(fine, seg, self.seed ^ 0xF1))
            + 0.08 * tri(grain);
        let v = dy / self.a;
        let sheen = bump((v + 1.1) / 0.18) * 0.6;
        let c = mul(self.hair, b);
        [c[0] + sheen * 50.0, c[1] + sheen * 45.0, c[2] + sheen * 42.0]
    }

    fn ear_px(&self, au: f32, v: f32, grain: u32) -> Rgbf {
        let iu = (au - 1.04) / 0.06;
        let iv = (v - 0.04) / 0.17;
        let inner = 1.0 - smoothstep(0.6, 1.0, iu * iu + iv * iv);
        add(mul(self.skin, 0.87 - 0.15 * inner), self.pores(grain))
    }

    fn neck_px(&self, u: f32, v: f32, grain: u32) -> Rgbf {
        let chin = self.bh * (1.0 - u * u).max(0.0).cbrt();
        let below = ((v - chin) / 0.3).clamp(0.0, 1.0);
        let side = 1.0 - 0.15 * (u / 0.42) * (u / 0.42);
        add(mul(self.skin, (0.6 + 0.28 * below) * side), self.pores(grain))
    }

    #[allow(clippy::too_many_arguments)]
    fn clothes_px(&self, au: f32, v: f32, x: f32, y: f32, xi: u32, yi: u32, grain: u32) -> Rgbf {
        let vs = v - self.v_sh;
        let weave = if ((xi + yi) >> 1) & 1 == 0 { 1.04 } else { 0.96 };
        let fine = tri(grain) * 4.0;
        if let Some(tie) = self.tie {
            let knot = vs > 0.1 && vs < 0.26 && au < 0.085;
            let blade = vs >= 0.26 && au < 0.06 + 0.05 * (vs - 0.26);
            if knot || blade {
                let stripe = if ((xi + yi) / 9).is_multiple_of(3) { 1.35 } else { 1.0 };
                let edge = if knot && vs > 0.245 { 0.7 } else { 1.0 };
                return add(mul(tie, stripe * edge * weave), fine * 0.7);
            }
        }
        let shirt_w = (0.62 - 0.42 * vs).max(0.0);
        let folds = self.folds.sample(x, y);
        if vs < 0.0 || au < shirt_w {
            let mut shade = 0.93 + 0.05 * folds;
            if vs < 0.0 {
                // Collar band standing around the neck, shaded toward the neck.
                shade *= 0.85 + 0.15 * ((au - 0.38) / 0.26);
                let top = -0.16 + 0.3 * (au - 0.38);
                if vs < top + 0.012 {
                    shade *= 0.8;
                }
            } else {
                shade *= 1.0 - 0.2 * smoothstep(shirt_w - 0.05, shirt_w, au);
            }
            return add(mul(self.shirt, shade), fine * 0.7);
        }
        if au < shirt_w + 0.03 {
            return add(mul(self.jacket, 0.55), fine);
        }
        let t = (au - 0.5).max(0.0);
        let shade = (1.0 - 0.06 * t) * (0.85 + 0.2 * folds) * weave;
        add(mul(self.jacket, shade), fine)
    }
}

/// Precomputed busy background: bookshelf rows alternating with checked wallpaper.
#[derive(Debug, Clone)]
struct Shelves {
    shelf_h: f32,
    rows: Vec<ShelfRow>,
}

#[derive(Debug, Clone)]
enum ShelfRow {
    Books {
        /// Right edges of the books, ascending.
        edges: Vec<f32>,
        colours: Vec<Rgbf>,
        tops: Vec<f32>,
        bands: Vec<bool>,
    },
    Checks {
        cell: f32,
        c1: Rgbf,
        c2: Rgbf,
        c3: Rgbf,
    },
}

const PALETTE: [Rgbf; 10] = [
    [200.0, 30.0, 40.0],
    [30.0, 80.0, 170.0],
    [240.0, 200.0, 40.0],
    [20.0, 120.0, 60.0],
    [245.0, 245.0, 240.0],
    [20.0, 20.0, 25.0],
    [230.0, 110.0, 20.0],
    [120.0, 40.0, 140.0],
    [40.0, 170.0, 190.0],
    [150.0, 90.0, 50.0],
];

impl Shelves {
    fn new(width: f32, height: f32, seed: u64) -> Self {
        let mut rng = SplitMix64::new(seed ^ 0x5E1F);
        let shelf_h = (height / 5.5).max(8.0);
        let n = (height / shelf_h).ceil() as usize + 1;
        let mut rows = Vec::with_capacity(n);
        for i in 0..n {
            if i % 2 == 0 {
                let mut edges = Vec::new();
                let mut colours = Vec::new();
                let mut tops = Vec::new();
                let mut bands = Vec::new();
                let mut x = 0.0;
                while x < width {
                    x += width * rng.range(0.012, 0.05);
                    edges.push(x);
                    colours.push(PALETTE[rng.below(PALETTE.len() as u32) as usize]);
                    tops.push(rng.range(0.05, 0.3));
                    bands.push(rng.below(3) != 0);
                }
                rows.push(ShelfRow::Books { edges, colours, tops, bands });
            } else {
                let c1 = PALETTE[rng.below(PALETTE.len() as u32) as usize];
                let mut c2 = PALETTE[rng.below(PALETTE.len() as u32) as usize];
                if c2 == c1 {
                    c2 = [250.0, 250.0, 245.0];
                }
                rows.push(ShelfRow::Checks {
                    cell: shelf_h / rng.range(3.0, 5.0),
                    c1,
                    c2,
                    c3: PALETTE[rng.below(PALETTE.len() as u32) as usize],
                });
            }
        }
        Self { shelf_h, rows }
    }

    fn pixel(&self, x: f32, y: f32) -> Rgbf {
        let i = ((y / self.shelf_h) as usize).min(self.rows.len() - 1);
        let ly = y / self.shelf_h - i as f32;
        match &self.rows[i] {
            ShelfRow::Books { edges, colours, tops, bands } => {
                if ly > 0.92 {
                    return if ly < 0.935 { [40.0, 30.0, 22.0] } else { [150.0, 108.0, 66.0] };
                }
                let j = edges.partition_point(|&e| e <= x).min(edges.len() - 1);
                if ly < tops[j] {
                    return [46.0, 38.0, 34.0];
                }
                let left = if j == 0 { 0.0 } else { edges[j - 1] };
                let w = (edges[j] - left).max(1.0);
                let f = (x - left) / w;
                if !(0.04..=0.96).contains(&f) {
                    return [25.0, 22.0, 20.0];
                }
                let c = colours[j];
                if bands[j] && ((ly > 0.45 && ly < 0.5) || (ly > 0.78 && ly < 0.8)) {
                    return [225.0, 190.0, 90.0];
                }
                mul(c, 1.0 - 0.35 * (2.0 * f - 1.0) * (2.0 * f - 1.0))
            }
            ShelfRow::Checks { cell, c1, c2, c3 } => {
                let cxi = (x / cell).floor() as i32;
                let cyi = (y / cell).floor() as i32;
                if ((x + y) / (cell * 0.5)).floor() as i32 % 4 == 0 {
                    return *c3;
                }
                if (cxi + cyi) & 1 == 0 { *c1 } else { *c2 }
            }
        }
    }
}

/// Background painter for portraits.
#[derive(Debug, Clone)]
struct BackgroundPainter {
    kind: Background,
    width: f32,
    height: f32,
    shelves: Option<Shelves>,
    /// Horizontal part of the gentle studio falloff, per column.
    col_fall: Vec<f32>,
}

impl BackgroundPainter {
    fn new(kind: Background, width: f32, height: f32, seed: u64) -> Self {
        let shelves = (kind == Background::Pattern).then(|| Shelves::new(width, height, seed));
        let col_fall = (0..width as usize)
            .map(|xi| {
                let fx = (xi as f32 + 0.5) / width - 0.5;
                1.0 - 0.03 * fx * fx
            })
            .collect();
        Self { kind, width, height, shelves, col_fall }
    }

    /// Vertical part of the studio falloff for row centre `y`.
    fn row_fall(&self, y: f32) -> f32 {
        let fy = y / self.height;
        0.015 * fy * fy
    }

    /// Colour at pixel centre `(x, y)` of column `xi`, with `row_fall` from [`Self::row_fall`].
    #[inline]
    fn pixel(&self, x: f32, y: f32, xi: usize, row_fall: f32) -> Rgbf {
        let fall = self.col_fall.get(xi).copied().unwrap_or(1.0) - row_fall;
        match self.kind {
            Background::White => mul([248.0, 248.0, 247.0], fall),
            Background::Blue => mul([67.0, 142.0, 219.0], fall),
            Background::Red => mul([214.0, 32.0, 38.0], fall),
            Background::Gray => mul([158.0, 158.0, 158.0], fall),
            Background::Gradient => {
                let fx = x / self.width;
                let fy = y / self.height;
                let dx = fx - 0.15;
                let dy = fy - 0.05;
                let spot = 8.0 * (1.0 - (dx * dx + dy * dy) * 4.0).max(0.0);
                let l = 246.0 - 30.0 * fx - 20.0 * fy + spot;
                [l, l - 1.0, l - 3.0]
            }
            Background::Pattern => match &self.shelves {
                Some(s) => s.pixel(x, y),
                None => [128.0; 3],
            },
        }
    }
}

/// A plausible ID-photo person on `spec.background`: textured dark hair, a shaded skin-tone face
/// with eyes, brows, nose shadow, mouth and ears, a neck, and a dark jacket over a white shirt
/// (sometimes with a tie) filling the bottom of the frame. Optics blur (if any) is applied to the
/// scene, then exposure gain and sensor noise, then grayscale conversion if asked.
///
/// Costs a few tens of nanoseconds per pixel in a release build (no per-pixel allocation).
pub fn portrait(spec: &PortraitSpec) -> RgbImage {
    let (w, h) = (spec.width, spec.height);
    let mut img = RgbImage::new(w, h);
    if w == 0 || h == 0 {
        return img;
    }
    let (wf, hf) = (w as f32, h as f32);
    let bg = BackgroundPainter::new(spec.background, wf, hf, spec.seed);
    let fig = spec.subject.then(|| Figure::new(wf, hf, spec.scale, spec.offset_x, spec.top, spec.seed));
    let first_subject_row = fig.as_ref().map_or(f32::INFINITY, |f| f.cy + (f.hair_cv - f.hair_hb - 0.05) * f.a);
    let grain_seed = seed32(spec.seed, 0x06A1);
    for (yi, row) in img.chunks_exact_mut(w as usize * 3).enumerate() {
        let y = yi as f32 + 0.5;
        let fig_row = fig.as_ref().filter(|_| y >= first_subject_row).map(|f| (f, f.row(y)));
        let row_fall = bg.row_fall(y);
        let mut grain = row_state(yi as u32, grain_seed);
        for (xi, px) in row.chunks_exact_mut(3).enumerate() {
            let x = xi as f32 + 0.5;
            grain = xs(grain);
            let c = fig_row
                .as_ref()
                .and_then(|(f, r)| f.pixel(r, x, y, xi as u32, yi as u32, grain))
                .unwrap_or_else(|| bg.pixel(x, y, xi, row_fall));
            px[0] = to_u8(c[0]);
            px[1] = to_u8(c[1]);
            px[2] = to_u8(c[2]);
        }
    }
    if spec.blur_sigma > 0.0 {
        img = image::imageops::blur(&img, spec.blur_sigma);
    }
    finish(&mut img, spec.gain, spec.noise, spec.grayscale, seed32(spec.seed, 0x0015E), None);
    img
}

// ---------------------------------------------------------------------------------------------
// Documents
// ---------------------------------------------------------------------------------------------

/// Which document [`document`] photographs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocKind {
    /// ID card portrait side: photo on the right third, name/number text on the left, light
    /// blue-ish guilloche background (ISO/IEC 7810 ID-1, 85.6 × 54 mm).
    IdFront,
    /// ID card emblem side: red/gold emblem top left, title text, issuing authority and validity
    /// dates at the bottom, light wave pattern.
    IdBack,
    /// Passport personal-information page (125 × 88 mm): photo on the left, text fields, two
    /// machine-readable-zone lines at the bottom, on the dark booklet cover.
    PassportInfo,
    /// Passport page with a visa-like box, ink stamps and endorsement text.
    PassportValidity,
}

/// What [`document`] draws.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DocSpec {
    /// Image width in pixels.
    pub width: u32,
    /// Image height in pixels.
    pub height: u32,
    /// Which document.
    pub kind: DocKind,
    /// Exposure: multiplies all channels (1.0 normal).
    pub gain: f32,
    /// Gaussian blur sigma in output pixels; 0 = none.
    pub blur_sigma: f32,
    /// Specular glare: centre x as a fraction of the width, centre y as a fraction of the height,
    /// radius as a fraction of the width. Rendered as saturated (255, 255, 255) with a soft edge;
    /// the centre is moved (and the radius shrunk if needed) so the blob lies inside the card.
    pub glare: Option<(f32, f32, f32)>,
    /// Seed for layout (card size and position, table), text and noise.
    pub seed: u64,
}

impl Default for DocSpec {
    fn default() -> Self {
        Self { width: 1600, height: 1200, kind: DocKind::IdFront, gain: 1.0, blur_sigma: 0.0, glare: None, seed: 1 }
    }
}

/// Glyph styles for text lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Glyphs {
    /// Proportional-looking letters with word gaps and x-height variation.
    Latin,
    /// Square, many-stroke characters.
    Cjk,
    /// Seven-segment-like digits.
    Digits,
}

/// Something drawn on the card, in card millimetres.
#[derive(Debug, Clone)]
enum El {
    /// Filled rectangle (multiply ink).
    Rect { r: [f32; 4], col: Rgbf, alpha: f32 },
    /// Rectangle outline of thickness `t`.
    Frame { r: [f32; 4], t: f32, col: Rgbf, alpha: f32 },
    /// Ring (or disc with `r0 = 0`); `rough` gives stamp-like uneven ink.
    Ring { c: [f32; 2], r0: f32, r1: f32, col: Rgbf, alpha: f32, rough: bool },
    /// Five-pointed star, one tip up, opaque.
    Star { c: [f32; 2], r: f32, col: Rgbf },
    /// A line of glyphs.
    Text { x0: f32, y0: f32, h: f32, pitch: f32, n: u32, style: Glyphs, col: Rgbf, alpha: f32, seed: u32 },
    /// Machine-readable-zone line: 0 = filler `<`, anything else = glyph seed.
    Mrz { x0: f32, y0: f32, h: f32, pitch: f32, cells: Vec<u32> },
    /// A printed portrait photo (opaque).
    Photo { r: [f32; 4], fig: Box<Figure>, bg: Rgbf, ppm: f32 },
    /// The red and gold national-emblem-like disc.
    Emblem { c: [f32; 2], r: f32 },
}

impl El {
    /// Vertical extent in mm, for per-row culling.
    fn y_range(&self) -> (f32, f32) {
        match self {
            El::Rect { r, .. } | El::Photo { r, .. } => (r[1], r[3]),
            El::Frame { r, t, .. } => (r[1] - t, r[3] + t),
            El::Ring { c, r1, .. } => (c[1] - r1, c[1] + r1),
            El::Star { c, r, .. } | El::Emblem { c, r } => (c[1] - r, c[1] + r),
            El::Text { y0, h, .. } | El::Mrz { y0, h, .. } => (*y0, y0 + h),
        }
    }

    /// Paints this element over `c` at card position `(mu, mv)` mm.
    #[inline]
    fn paint(&self, c: Rgbf, mu: f32, mv: f32, xi: u32, yi: u32) -> Rgbf {
        match self {
            El::Rect { r, col, alpha } => {
                if mu >= r[0] && mu < r[2] && mv >= r[1] && mv < r[3] {
                    ink(c, *col, *alpha)
                } else {
                    c
                }
            }
            El::Frame { r, t, col, alpha } => {
                let outer = mu >= r[0] - t && mu < r[2] + t && mv >= r[1] - t && mv < r[3] + t;
                let inner = mu >= r[0] && mu < r[2] && mv >= r[1] && mv < r[3];
                if outer && !inner { ink(c, *col, *alpha) } else { c }
            }
            El::Ring { c: ctr, r0, r1, col, alpha, rough } => {
                let dx = mu - ctr[0];
                let dy = mv - ctr[1];
                let d2 = dx * dx + dy * dy;
                if d2 < r1 * r1 && d2 >= r0 * r0 {
                    let a = if *rough { alpha * (0.45 + 0.55 * unit(hash3(xi / 3, yi / 3, 0x57A3))) } else { *alpha };
                    ink(c, *col, a)
                } else {
                    c
                }
            }
            El::Star { c: ctr, r, col } => {
                if in_star(mu - ctr[0], mv - ctr[1], *r) {
                    *col
                } else {
                    c
                }
            }
            El::Text { x0, y0, h, pitch, n, style, col, alpha, seed } => {
                let lx = mu - x0;
                if lx < 0.0 {
                    return c;
                }
                let cell = (lx / pitch) as u32;
                if cell >= *n {
                    return c;
                }
                let gh = hash3(cell, 0, *seed);
                if text_hit(*style, gh, lx - cell as f32 * pitch, mv - y0, *h, *pitch) {
                    ink(c, *col, *alpha)
                } else {
                    c
                }
            }
            El::Mrz { x0, y0, h, pitch, cells } => {
                let lx = mu - x0;
                if lx < 0.0 {
                    return c;
                }
                let cell = (lx / pitch) as usize;
                let Some(&g) = cells.get(cell) else {
                    return c;
                };
                let gx = (lx - cell as f32 * pitch) / (0.62 * pitch);
                let gy = (mv - y0) / h;
                if gx >= 1.0 {
                    return c;
                }
                let t = 0.15;
                let hit = if g == 0 {
                    // '<': two strokes meeting at the left.
                    let target = 0.15 + 1.3 * (gy - 0.5).abs();
                    (gx - target).abs() < t * 0.9 && gy > 0.1 && gy < 0.9
                } else {
                    glyph_hit(glyph_bits(Glyphs::Latin, g), gx, gy, t * h / (0.62 * pitch), t)
                };
                if hit { ink(c, [20.0, 20.0, 24.0], 0.95) } else { c }
            }
            El::Photo { r, fig, bg, ppm } => {
                if mu < r[0] || mu >= r[2] || mv < r[1] || mv >= r[3] {
                    return c;
                }
                let x = (mu - r[0]) * ppm;
                let y = (mv - r[1]) * ppm;
                let row = fig.row(y);
                fig.pixel(&row, x, y, xi, yi, hash3(xi, yi, 0x6A41)).unwrap_or_else(|| {
                    let fy = (mv - r[1]) / (r[3] - r[1]);
                    mul(*bg, 1.0 - 0.05 * fy)
                })
            }
            El::Emblem { c: ctr, r } => emblem(c, (mu - ctr[0]) / r, (mv - ctr[1]) / r, xi, yi),
        }
    }
}

/// Whether `(x, y)` (relative to the centre) is inside a five-pointed star of radius `r`, tip up.
fn in_star(x: f32, y: f32, r: f32) -> bool {
    let d = (x * x + y * y).sqrt();
    if d > r {
        return false;
    }
    let sector = 2.0 * PI / 5.0;
    let theta = x.atan2(-y).rem_euclid(sector) - sector / 2.0;
    let a = theta.abs();
    let (px, py) = (d * (sector / 2.0 - a).cos(), d * (sector / 2.0 - a).sin());
    // Local frame: tip at (r, 0), inner vertex at angle 36° with radius 0.382 r.
    let ri = 0.382 * r;
    let (ix, iy) = (ri * (PI / 5.0).cos(), ri * (PI / 5.0).sin());
    let (ex, ey) = (ix - r, iy);
    let cross = ex * py - ey * (px - r);
    cross >= 0.0
}

/// The emblem at normalised coordinates (unit radius).
fn emblem(c: Rgbf, u: f32, v: f32, xi: u32, yi: u32) -> Rgbf {
    let d = (u * u + v * v).sqrt();
    if d > 1.0 {
        return c;
    }
    const GOLD: Rgbf = [226.0, 176.0, 56.0];
    const RED: Rgbf = [204.0, 30.0, 38.0];
    if d > 0.84 {
        // Wheat-ear ring: segmented gold.
        let seg = ((v.atan2(u) + PI) * 18.0 / PI) as i32;
        let k = if seg % 2 == 0 { 1.0 } else { 0.82 };
        let rim = if d > 0.96 { 0.75 } else { 1.0 };
        return mul(GOLD, k * rim);
    }
    if in_star(u + 0.3, v + 0.38, 0.2) {
        return GOLD;
    }
    for (sx, sy) in [(0.02, -0.62), (0.14, -0.48), (0.16, -0.3), (0.06, -0.16)] {
        if in_star(u - sx, v - sy, 0.08) {
            return GOLD;
        }
    }
    // Gate: roof, body with three dark doors, base steps.
    let roof_w = 0.5 - 0.6 * (v - 0.02);
    if v > 0.02 && v < 0.14 && u.abs() < roof_w {
        return mul(GOLD, 0.95);
    }
    if (0.14..0.42).contains(&v) && u.abs() < 0.4 {
        let door = (u.abs() < 0.05 || (u.abs() - 0.22).abs() < 0.04) && v > 0.26;
        return if door { mul(RED, 0.7) } else { GOLD };
    }
    if (0.42..0.5).contains(&v) && u.abs() < 0.52 {
        return mul(GOLD, 0.9);
    }
    // Cog wheel at the bottom.
    let gd = (u * u + (v - 0.68) * (v - 0.68)).sqrt();
    if gd < 0.13 {
        let teeth = ((v - 0.68).atan2(u) * 4.0).sin() > 0.0 || gd < 0.1;
        if teeth && gd > 0.04 {
            return GOLD;
        }
    }
    mul(RED, 0.95 + 0.05 * unit(hash3(xi / 2, yi / 2, 0xE3B1)))
}

const SEVEN_SEG: [u32; 10] = [
    0b011_1111, 0b000_0110, 0b101_1011, 0b100_1111, 0b110_0110, 0b110_1101, 0b111_1101, 0b000_0111, 0b111_1111,
    0b110_1111,
];

/// Stroke bits of a glyph from its hash.
fn glyph_bits(style: Glyphs, h: u32) -> u32 {
    match style {
        Glyphs::Digits => SEVEN_SEG[(h % 10) as usize],
        Glyphs::Latin => {
            let mut b = (h >> 4) & 0x1FF;
            if b.count_ones() < 3 {
                b |= 0b011_0000 | (1 << ((h >> 20) % 7));
            }
            b
        }
        Glyphs::Cjk => {
            let mut b = (h >> 4) & 0x3FFF;
            if b.count_ones() < 6 {
                b |= 0b10_0011_0100_1001;
            }
            b
        }
    }
}

/// Whether normalised glyph point `(gx, gy)` in `[0, 1]²` lies on one of the strokes in `bits`.
/// Bits 0–6 are seven-segment strokes (a top, b upper right, c lower right, d bottom,
/// e lower left, f upper left, g middle), 7 centre stem, 8 diagonal, 9/10 bars at 1/4 and 3/4,
/// 11/12 stems at 0.3 and 0.7, 13 anti-diagonal.
#[inline]
fn glyph_hit(bits: u32, gx: f32, gy: f32, tx: f32, ty: f32) -> bool {
    if !(0.0..1.0).contains(&gx) || !(0.0..1.0).contains(&gy) {
        return false;
    }
    let upper = gy < 0.5;
    let on = |i: u32| bits & (1 << i) != 0;
    (on(0) && gy < ty)
        || (on(1) && upper && gx > 1.0 - tx)
        || (on(2) && !upper && gx > 1.0 - tx)
        || (on(3) && gy > 1.0 - ty)
        || (on(4) && !upper && gx < tx)
        || (on(5) && upper && gx < tx)
        || (on(6) && (gy - 0.5).abs() < ty * 0.5)
        || (on(7) && (gx - 0.5).abs() < tx * 0.5)
        || (on(8) && (gx - gy).abs() < tx * 0.8)
        || (on(9) && (gy - 0.25).abs() < ty * 0.5 && gx > 0.12 && gx < 0.88)
        || (on(10) && (gy - 0.75).abs() < ty * 0.5 && gx > 0.12 && gx < 0.88)
        || (on(11) && (gx - 0.3).abs() < tx * 0.5 && gy < 0.6)
        || (on(12) && (gx - 0.7).abs() < tx * 0.5 && gy > 0.4)
        || (on(13) && (gx + gy - 1.0).abs() < tx * 0.8)
}

/// Whether point `(lx, ly)` mm inside a glyph cell of a text line hits ink.
#[inline]
fn text_hit(style: Glyphs, h: u32, lx: f32, ly: f32, height: f32, pitch: f32) -> bool {
    let (wf, blank, weight) = match style {
        Glyphs::Latin => (0.5 + 0.35 * unit(h), h.is_multiple_of(7), 0.13),
        Glyphs::Cjk => (0.9, false, 0.09),
        Glyphs::Digits => (0.62, false, 0.15),
    };
    if blank {
        return false;
    }
    let gw = wf * pitch;
    // Latin: half the letters are x-height only.
    let (top, gh) =
        if style == Glyphs::Latin && h & 0x8000_0000 != 0 { (0.3 * height, 0.7 * height) } else { (0.0, height) };
    let t = weight * height;
    glyph_hit(glyph_bits(style, h), lx / gw, (ly - top) / gh, t / gw, t / gh)
}

/// Layout of one document photo.
#[derive(Debug, Clone)]
struct DocLayout {
    kind: DocKind,
    /// Card rectangle in pixels: x0, y0, width, height.
    card: [f32; 4],
    radius: f32,
    /// Pixels per card millimetre.
    ppm: f32,
    /// Booklet cover margin in pixels (passports), 0 for cards.
    cover: f32,
    wood: bool,
    els: Vec<El>,
    width: f32,
    height: f32,
    seed: u32,
}

const INK: Rgbf = [26.0, 26.0, 32.0];

impl DocLayout {
    fn new(spec: &DocSpec) -> Self {
        let mut rng = SplitMix64::new(spec.seed ^ 0xD0C5);
        let (wf, hf) = (spec.width as f32, spec.height as f32);
        let (mm_w, mm_h) = match spec.kind {
            DocKind::IdFront | DocKind::IdBack => (85.6, 54.0),
            DocKind::PassportInfo | DocKind::PassportValidity => (125.0, 88.0),
        };
        let mut cw = wf * rng.range(0.72, 0.82);
        let mut ch = cw * mm_h / mm_w;
        if ch > 0.88 * hf {
            ch = 0.88 * hf;
            cw = ch * mm_w / mm_h;
        }
        let x0 = (wf - cw) / 2.0 + rng.range(-0.5, 0.5) * (wf - cw) * 0.4;
        let y0 = (hf - ch) / 2.0 + rng.range(-0.5, 0.5) * (hf - ch) * 0.4;
        let ppm = cw / mm_w;
        let passport = mm_w > 100.0;
        let wood = rng.below(2) == 0;
        let els = match spec.kind {
            DocKind::IdFront => id_front(&mut rng, ppm, spec.seed),
            DocKind::IdBack => id_back(&mut rng),
            DocKind::PassportInfo => passport_info(&mut rng, ppm, spec.seed),
            DocKind::PassportValidity => passport_validity(&mut rng, ppm, spec.seed),
        };
        Self {
            kind: spec.kind,
            card: [x0, y0, cw, ch],
            radius: if passport { 2.0 * ppm } else { 3.18 * ppm },
            ppm,
            cover: if passport { 2.5 * ppm } else { 0.0 },
            wood,
            els,
            width: wf,
            height: hf,
            seed: seed32(spec.seed, 0xD0C),
        }
    }

    /// Signed distance in pixels from the card outline grown by `grow` (negative inside).
    #[inline]
    fn card_sdf(&self, x: f32, y: f32, grow: f32, dx: f32, dy: f32) -> f32 {
        let [x0, y0, w, h] = self.card;
        let r = self.radius + grow;
        let qx = (x - dx - (x0 + w / 2.0)).abs() - (w / 2.0 + grow) + r;
        let qy = (y - dy - (y0 + h / 2.0)).abs() - (h / 2.0 + grow) + r;
        let ox = qx.max(0.0);
        let oy = qy.max(0.0);
        (ox * ox + oy * oy).sqrt() + qx.max(qy).min(0.0) - r
    }

    fn table(&self, x: f32, y: f32, xi: u32, yi: u32) -> Rgbf {
        let fx = x / self.width - 0.5;
        let fy = y / self.height - 0.5;
        let light = 1.0 - 0.35 * (fx * fx + fy * fy);
        let c = if self.wood {
            let s = self.width;
            let warp = 3.0 * value_noise(x / (0.25 * s), y / (0.04 * s), self.seed ^ 0x3D);
            let g = (2.0 * PI * (y / (0.022 * s) + warp)).sin();
            let streak = tri(hash3(xi / 48, yi / 2, self.seed ^ 0x51)) * 0.05;
            mul([150.0, 104.0, 64.0], 0.9 + 0.1 * g + streak)
        } else {
            let blot = value_noise(x / (0.15 * self.width), y / (0.15 * self.width), self.seed);
            add([126.0, 126.0, 123.0], 12.0 * blot + 3.0 * tri(hash3(xi, yi, self.seed ^ 0x7AB)))
        };
        // Soft shadow of the card, offset down and right.
        let s = 0.012 * self.width;
        let d = self.card_sdf(x, y, self.cover, 0.004 * self.width, 0.008 * self.width);
        let shadow = 1.0 - 0.35 * (1.0 - smoothstep(-s, s, d));
        mul(c, light * shadow)
    }

    fn card_base(&self, mu: f32, mv: f32) -> Rgbf {
        match self.kind {
            DocKind::IdFront => {
                let w = (mu * 1.7 + 1.5 * (mv * 0.45).sin()).sin() * (mv * 1.3 + 1.2 * (mu * 0.3).sin()).sin();
                let mut c = [224.0, 235.0, 243.0];
                if w.abs() < 0.08 {
                    c = mix(c, [188.0, 208.0, 230.0], 0.5);
                }
                let r = ((mu - 68.0) * (mu - 68.0) + (mv - 24.0) * (mv - 24.0)).sqrt();
                if (r * 1.2).fract() < 0.1 {
                    c = mix(c, [238.0, 242.0, 248.0], 0.6);
                }
                c
            }
            DocKind::IdBack => {
                let w = (mu * 0.9 + 2.0 * (mv * 0.25).sin()).sin();
                let mut c = [232.0, 239.0, 234.0];
                if w.abs() < 0.1 {
                    c = mix(c, [196.0, 218.0, 206.0], 0.5);
                }
                let ridge = 40.0 + 4.0 * (mu * 0.35).sin() + 2.0 * (mu * 1.1).sin();
                if mv > ridge && mv < ridge + 1.2 {
                    c = mix(c, [210.0, 200.0, 190.0], 0.5);
                }
                c
            }
            DocKind::PassportInfo | DocKind::PassportValidity => {
                let w = (mu * 0.8 + 2.5 * (mv * 0.2).sin()).sin() * (mv * 0.7).cos();
                let mut c = [238.0, 233.0, 222.0];
                if w.abs() < 0.07 {
                    c = mix(c, [228.0, 200.0, 208.0], 0.55);
                }
                c
            }
        }
    }

    fn pixel(&self, x: f32, y: f32, xi: u32, yi: u32, active: &[usize]) -> Rgbf {
        let d = self.card_sdf(x, y, 0.0, 0.0, 0.0);
        let table_or_cover = |x: f32, y: f32| {
            if self.cover > 0.0 && self.card_sdf(x, y, self.cover, 0.0, 0.0) < 0.0 {
                let grain = 0.92 + 0.08 * unit(hash3(xi / 2, yi / 2, self.seed ^ 0xC0));
                mul([96.0, 24.0, 34.0], grain)
            } else {
                self.table(x, y, xi, yi)
            }
        };
        if d > 0.5 {
            return table_or_cover(x, y);
        }
        let mu = (x - self.card[0]) / self.ppm;
        let mv = (y - self.card[1]) / self.ppm;
        let mut c = self.card_base(mu, mv);
        for &i in active {
            c = self.els[i].paint(c, mu, mv, xi, yi);
        }
        c = add(c, 2.0 * tri(hash3(xi, yi, self.seed ^ 0x9A9E)));
        if d > -0.5 {
            c = mix(c, table_or_cover(x, y), d + 0.5);
        }
        c
    }
}

fn text(x0: f32, y0: f32, h: f32, pitch: f32, n: u32, style: Glyphs, rng: &mut SplitMix64) -> El {
    El::Text { x0, y0, h, pitch, n, style, col: INK, alpha: 0.95, seed: rng.next_u32() }
}

fn label(x0: f32, y0: f32, n: u32, col: Rgbf, rng: &mut SplitMix64) -> El {
    El::Text { x0, y0, h: 1.7, pitch: 2.3, n, style: Glyphs::Cjk, col, alpha: 0.9, seed: rng.next_u32() }
}

fn photo(r: [f32; 4], ppm: f32, seed: u64, bg: Rgbf) -> El {
    let pw = (r[2] - r[0]) * ppm;
    let ph = (r[3] - r[1]) * ppm;
    El::Photo { r, fig: Box::new(Figure::new(pw, ph, 0.92, 0.0, 0.1, seed)), bg, ppm }
}

fn id_front(rng: &mut SplitMix64, ppm: f32, seed: u64) -> Vec<El> {
    let blue = [70.0, 128.0, 190.0];
    let name_len = 2 + rng.below(2);
    let addr1 = 9 + rng.below(4);
    let addr2 = 4 + rng.below(7);
    vec![
        photo([55.5, 7.0, 80.0, 40.0], ppm, seed ^ 0x1D, [236.0, 240.0, 245.0]),
        label(6.0, 8.0, 2, blue, rng),
        text(14.0, 7.3, 3.0, 3.6, name_len, Glyphs::Cjk, rng),
        label(6.0, 15.0, 2, blue, rng),
        text(14.0, 14.5, 2.6, 3.2, 1, Glyphs::Cjk, rng),
        label(23.0, 15.0, 2, blue, rng),
        text(31.0, 14.5, 2.6, 3.2, 1, Glyphs::Cjk, rng),
        label(6.0, 21.5, 2, blue, rng),
        text(14.0, 21.0, 2.6, 2.0, 4, Glyphs::Digits, rng),
        label(24.5, 21.5, 1, blue, rng),
        text(27.5, 21.0, 2.6, 2.0, 2, Glyphs::Digits, rng),
        label(32.0, 21.5, 1, blue, rng),
        text(35.0, 21.0, 2.6, 2.0, 2, Glyphs::Digits, rng),
        label(39.0, 21.5, 1, blue, rng),
        label(6.0, 28.0, 2, blue, rng),
        text(14.0, 27.5, 2.6, 3.1, addr1, Glyphs::Cjk, rng),
        text(14.0, 31.8, 2.6, 3.1, addr2, Glyphs::Cjk, rng),
        label(6.0, 46.5, 6, blue, rng),
        text(28.0, 45.6, 3.0, 2.45, 18, Glyphs::Digits, rng),
    ]
}

fn id_back(rng: &mut SplitMix64) -> Vec<El> {
    let label_col = [40.0, 40.0, 46.0];
    vec![
        El::Emblem { c: [14.0, 13.5], r: 9.0 },
        text(30.0, 9.0, 4.2, 6.2, 7, Glyphs::Cjk, rng),
        text(32.0, 18.5, 6.5, 9.0, 5, Glyphs::Cjk, rng),
        label(17.0, 38.8, 4, label_col, rng),
        text(31.0, 38.0, 2.7, 3.2, 6 + rng.below(4), Glyphs::Cjk, rng),
        label(17.0, 45.8, 4, label_col, rng),
        text(31.0, 45.0, 2.7, 1.9, 4, Glyphs::Digits, rng),
        El::Rect { r: [38.9, 46.8, 39.4, 47.3], col: INK, alpha: 0.95 },
        text(39.8, 45.0, 2.7, 1.9, 2, Glyphs::Digits, rng),
        El::Rect { r: [43.9, 46.8, 44.4, 47.3], col: INK, alpha: 0.95 },
        text(44.8, 45.0, 2.7, 1.9, 2, Glyphs::Digits, rng),
        El::Rect { r: [49.0, 46.1, 50.6, 46.5], col: INK, alpha: 0.95 },
        text(51.2, 45.0, 2.7, 1.9, 4, Glyphs::Digits, rng),
        El::Rect { r: [59.1, 46.8, 59.6, 47.3], col: INK, alpha: 0.95 },
        text(60.0, 45.0, 2.7, 1.9, 2, Glyphs::Digits, rng),
        El::Rect { r: [64.1, 46.8, 64.6, 47.3], col: INK, alpha: 0.95 },
        text(65.0, 45.0, 2.7, 1.9, 2, Glyphs::Digits, rng),
    ]
}

/// MRZ cell pattern for line 1 (`P<CHNSURNAME<<GIVEN<<<…`) or line 2 (numbers and fillers).
fn mrz_cells(line: u32, rng: &mut SplitMix64) -> Vec<u32> {
    let mut cells = Vec::with_capacity(44);
    let glyph = |rng: &mut SplitMix64| rng.next_u32() | 1;
    if line == 1 {
        cells.push(glyph(rng));
        cells.push(0);
        for _ in 0..3 {
            cells.push(glyph(rng));
        }
        for _ in 0..(4 + rng.below(4)) {
            cells.push(glyph(rng));
        }
        cells.push(0);
        cells.push(0);
        for _ in 0..(3 + rng.below(5)) {
            cells.push(glyph(rng));
        }
        cells.resize(44, 0);
    } else {
        for i in 0..44 {
            let filler = (28..42).contains(&i) && rng.below(3) != 0;
            cells.push(if filler { 0 } else { glyph(rng) });
        }
    }
    cells
}

fn field(x: f32, y: f32, n: u32, style: Glyphs, rng: &mut SplitMix64) -> [El; 2] {
    let grey = [110.0, 100.0, 110.0];
    [
        El::Text {
            x0: x,
            y0: y,
            h: 1.3,
            pitch: 1.8,
            n: 4 + rng.below(6),
            style: Glyphs::Latin,
            col: grey,
            alpha: 0.9,
            seed: rng.next_u32(),
        },
        text(x, y + 2.0, 2.4, if style == Glyphs::Digits { 2.0 } else { 2.6 }, n, style, rng),
    ]
}

fn passport_info(rng: &mut SplitMix64, ppm: f32, seed: u64) -> Vec<El> {
    let mut els = vec![
        text(30.0, 3.5, 2.2, 2.2, 26, Glyphs::Latin, rng),
        photo([6.0, 14.0, 38.0, 56.0], ppm, seed ^ 0x9A55, [240.0, 240.0, 240.0]),
    ];
    let rows = [
        (44.0, 12.0, 2, Glyphs::Latin),
        (86.0, 12.0, 9, Glyphs::Digits),
        (44.0, 20.0, 8, Glyphs::Latin),
        (44.0, 28.0, 10, Glyphs::Latin),
        (44.0, 36.0, 8, Glyphs::Digits),
        (86.0, 36.0, 1, Glyphs::Latin),
        (44.0, 44.0, 9, Glyphs::Latin),
        (86.0, 44.0, 8, Glyphs::Digits),
        (44.0, 52.0, 8, Glyphs::Digits),
        (86.0, 52.0, 8, Glyphs::Latin),
    ];
    for (x, y, n, style) in rows {
        els.extend(field(x, y, n, style, rng));
    }
    let pitch = 2.6;
    for (line, y) in [(1, 69.5), (2, 77.0)] {
        els.push(El::Mrz { x0: 5.5, y0: y, h: 2.8, pitch, cells: mrz_cells(line, rng) });
    }
    els
}

fn passport_validity(rng: &mut SplitMix64, ppm: f32, seed: u64) -> Vec<El> {
    let blue = [40.0, 70.0, 170.0];
    let red = [190.0, 40.0, 60.0];
    let purple = [110.0, 50.0, 140.0];
    let mut els = vec![
        text(110.0, 3.0, 2.2, 2.0, 2, Glyphs::Digits, rng),
        El::Rect { r: [6.0, 8.0, 84.0, 52.0], col: [200.0, 230.0, 210.0], alpha: 0.6 },
        El::Frame { r: [6.0, 8.0, 84.0, 52.0], t: 0.5, col: [40.0, 90.0, 70.0], alpha: 0.9 },
        text(9.0, 10.0, 2.6, 2.6, 22, Glyphs::Latin, rng),
        photo([9.0, 15.5, 29.0, 42.0], ppm, seed ^ 0x715A, [236.0, 238.0, 240.0]),
    ];
    for (i, y) in [16.0, 21.5, 27.0, 32.5, 38.0].into_iter().enumerate() {
        let n = 10 + rng.below(10);
        let style = if i % 2 == 0 { Glyphs::Latin } else { Glyphs::Digits };
        els.push(text(32.0, y, 2.3, 2.2, n, style, rng));
    }
    els.push(text(9.0, 45.0, 2.3, 1.85, 40, Glyphs::Latin, rng));
    // Round stamp with text and a star.
    let (sx, sy) = (rng.range(96.0, 108.0), rng.range(18.0, 26.0));
    els.push(El::Ring { c: [sx, sy], r0: 10.0, r1: 10.8, col: blue, alpha: 0.75, rough: true });
    els.push(El::Ring { c: [sx, sy], r0: 7.6, r1: 8.0, col: blue, alpha: 0.7, rough: true });
    els.push(El::Text {
        x0: sx - 5.5,
        y0: sy - 1.2,
        h: 2.4,
        pitch: 2.2,
        n: 5,
        style: Glyphs::Digits,
        col: blue,
        alpha: 0.75,
        seed: rng.next_u32(),
    });
    // Rectangular stamp.
    let (rx, ry) = (rng.range(86.0, 92.0), rng.range(48.0, 56.0));
    els.push(El::Frame { r: [rx, ry, rx + 30.0, ry + 18.0], t: 0.7, col: red, alpha: 0.7 });
    for (k, y) in [3.0, 8.0, 13.0].into_iter().enumerate() {
        els.push(El::Text {
            x0: rx + 2.0,
            y0: ry + y,
            h: 2.6,
            pitch: 2.4,
            n: 8 + k as u32 * 2,
            style: if k == 1 { Glyphs::Digits } else { Glyphs::Latin },
            col: red,
            alpha: 0.7,
            seed: rng.next_u32(),
        });
    }
    // Endorsement lines and a small purple entry stamp.
    for y in [58.0, 63.5, 69.0, 74.5] {
        els.push(text(8.0, y, 2.4, 2.1, 18 + rng.below(14), Glyphs::Latin, rng));
    }
    els.push(El::Ring { c: [104.0, 77.0], r0: 6.0, r1: 6.6, col: purple, alpha: 0.7, rough: true });
    els.push(El::Text {
        x0: 99.5,
        y0: 75.8,
        h: 2.4,
        pitch: 1.9,
        n: 5,
        style: Glyphs::Digits,
        col: purple,
        alpha: 0.7,
        seed: rng.next_u32(),
    });
    els
}

/// The card (or passport page) rectangle `[x0, y0, width, height]` in pixels that
/// [`document`] draws for `spec` (the booklet cover of passports lies outside it).
pub fn document_card_rect(spec: &DocSpec) -> [f32; 4] {
    DocLayout::new(spec).card
}

/// An ID card or passport page photographed on a mid-grey or wooden table (chosen by seed),
/// filling about 72–82 % of the frame width, with a soft shadow, rounded corners, printed
/// guilloche background, glyph-like text lines, portrait photo, emblem, MRZ or stamps as the
/// kind asks; then optional blur, gain, sensor noise (amplitude 5) and glare.
pub fn document(spec: &DocSpec) -> RgbImage {
    let (w, h) = (spec.width, spec.height);
    let mut img = RgbImage::new(w, h);
    if w == 0 || h == 0 {
        return img;
    }
    let lay = DocLayout::new(spec);
    let ranges: Vec<(f32, f32)> = lay.els.iter().map(El::y_range).collect();
    let mut active = Vec::with_capacity(lay.els.len());
    for (yi, row) in img.chunks_exact_mut(w as usize * 3).enumerate() {
        let y = yi as f32 + 0.5;
        let mv = (y - lay.card[1]) / lay.ppm;
        active.clear();
        active.extend(ranges.iter().enumerate().filter(|(_, r)| mv >= r.0 && mv <= r.1).map(|(i, _)| i));
        for (xi, px) in row.chunks_exact_mut(3).enumerate() {
            let x = xi as f32 + 0.5;
            let c = lay.pixel(x, y, xi as u32, yi as u32, &active);
            px[0] = to_u8(c[0]);
            px[1] = to_u8(c[1]);
            px[2] = to_u8(c[2]);
        }
    }
    if spec.blur_sigma > 0.0 {
        img = image::imageops::blur(&img, spec.blur_sigma);
    }
    let glare = spec.glare.map(|(gx, gy, gr)| {
        let [x0, y0, cw, ch] = lay.card;
        let r = (gr * lay.width).min(0.45 * cw.min(ch)).max(0.5);
        // Keep the whole blob on the card (centre it if the card is tiny).
        let inside =
            |v: f32, lo: f32, len: f32| if len > 2.0 * r { v.clamp(lo + r, lo + len - r) } else { lo + len / 2.0 };
        (inside(gx * lay.width, x0, cw), inside(gy * lay.height, y0, ch), r)
    });
    finish(&mut img, spec.gain, 5.0, false, seed32(spec.seed, 0xD15E), glare);
    img
}

// ---------------------------------------------------------------------------------------------
// Encoding and metadata
// ---------------------------------------------------------------------------------------------

/// Baseline JPEG with 4:2:0 chroma subsampling (box-averaged chroma) like a camera, at the given
/// quality, with an optional APP1 Exif payload (the bytes returned by [`exif`], starting with
/// `Exif\0\0`). Panics if a side exceeds 65535 pixels.
pub fn jpeg(img: &RgbImage, quality: u8, exif: Option<&[u8]>) -> Vec<u8> {
    let w = u16::try_from(img.width()).expect("JPEG width fits in u16");
    let h = u16::try_from(img.height()).expect("JPEG height fits in u16");
    let mut out = Vec::with_capacity(img.as_raw().len() / 6 + 1024);
    let mut enc = jpeg_encoder::Encoder::new(&mut out, quality);
    enc.set_sampling_factor(jpeg_encoder::SamplingFactor::F_2_2);
    enc.set_chroma_subsampling_method(jpeg_encoder::ChromaSubsamplingMethod::Average);
    if let Some(payload) = exif {
        enc.add_app_segment(1, payload.to_vec()).expect("Exif payload fits an APP1 segment");
    }
    enc.encode(img.as_raw(), w, h, jpeg_encoder::ColorType::Rgb).expect("JPEG encoding to memory");
    out
}

/// Lossless RGB PNG.
pub fn png(img: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    PngEncoder::new(&mut out)
        .write_image(img.as_raw(), img.width(), img.height(), ExtendedColorType::Rgb8)
        .expect("PNG encoding to memory");
    out
}

/// Lossless 8-bit grayscale PNG.
pub fn gray_png(img: &GrayImage) -> Vec<u8> {
    let mut out = Vec::new();
    PngEncoder::new(&mut out)
        .write_image(img.as_raw(), img.width(), img.height(), ExtendedColorType::L8)
        .expect("PNG encoding to memory");
    out
}

/// What [`exif`] writes.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ExifSpec {
    /// EXIF orientation 1..=8 (tag 0x0112).
    pub orientation: Option<u16>,
    /// Latitude and longitude in degrees (negative = south / west), e.g. Xiamen 24.4798, 118.0894.
    pub gps: Option<(f64, f64)>,
    /// Camera maker (tag 0x010F).
    pub make: Option<&'static str>,
    /// Camera model (tag 0x0110).
    pub model: Option<&'static str>,
}

/// One TIFF IFD entry; `data` is the little-endian value bytes.
#[derive(Debug, Clone)]
struct IfdEntry {
    tag: u16,
    typ: u16,
    count: u32,
    data: Vec<u8>,
}

impl IfdEntry {
    fn ascii(tag: u16, s: &str) -> Self {
        let mut data = s.as_bytes().to_vec();
        data.push(0);
        Self { tag, typ: 2, count: u32::try_from(data.len()).expect("short string"), data }
    }

    fn short(tag: u16, v: u16) -> Self {
        Self { tag, typ: 3, count: 1, data: v.to_le_bytes().to_vec() }
    }

    fn long(tag: u16, v: u32) -> Self {
        Self { tag, typ: 4, count: 1, data: v.to_le_bytes().to_vec() }
    }

    fn bytes(tag: u16, v: &[u8]) -> Self {
        Self { tag, typ: 1, count: u32::try_from(v.len()).expect("few bytes"), data: v.to_vec() }
    }

    fn rationals(tag: u16, v: &[(u32, u32)]) -> Self {
        let mut data = Vec::with_capacity(v.len() * 8);
        for (n, d) in v {
            data.extend_from_slice(&n.to_le_bytes());
            data.extend_from_slice(&d.to_le_bytes());
        }
        Self { tag, typ: 5, count: u32::try_from(v.len()).expect("few rationals"), data }
    }

    /// Bytes this entry needs outside the IFD (0 when the value fits the 4-byte field).
    fn external_len(&self) -> u32 {
        if self.data.len() <= 4 { 0 } else { u32::try_from(self.data.len().next_multiple_of(2)).expect("small value") }
    }
}

fn ifd_len(entries: &[IfdEntry]) -> u32 {
    let n = u32::try_from(entries.len()).expect("few entries");
    2 + 12 * n + 4 + entries.iter().map(IfdEntry::external_len).sum::<u32>()
}

/// Appends an IFD (entries sorted by tag) whose first byte is at TIFF offset `offset`, followed
/// by its out-of-line values; the next-IFD link is 0.
fn write_ifd(tiff: &mut Vec<u8>, entries: &[IfdEntry], offset: u32) {
    debug_assert_eq!(tiff.len(), offset as usize);
    let n = u16::try_from(entries.len()).expect("few entries");
    let mut data_off = offset + 2 + 12 * u32::from(n) + 4;
    tiff.extend_from_slice(&n.to_le_bytes());
    for e in entries {
        tiff.extend_from_slice(&e.tag.to_le_bytes());
        tiff.extend_from_slice(&e.typ.to_le_bytes());
        tiff.extend_from_slice(&e.count.to_le_bytes());
        if e.data.len() <= 4 {
            let mut field = [0u8; 4];
            field[..e.data.len()].copy_from_slice(&e.data);
            tiff.extend_from_slice(&field);
        } else {
            tiff.extend_from_slice(&data_off.to_le_bytes());
            data_off += e.external_len();
        }
    }
    tiff.extend_from_slice(&0u32.to_le_bytes());
    for e in entries.iter().filter(|e| e.data.len() > 4) {
        tiff.extend_from_slice(&e.data);
        if e.data.len() % 2 == 1 {
            tiff.push(0);
        }
    }
}

/// Degrees to the EXIF (degrees, minutes, seconds) rationals, seconds to 1/1000.
fn dms(deg: f64) -> [(u32, u32); 3] {
    let deg = deg.abs();
    let d = deg.floor();
    let m_full = (deg - d) * 60.0;
    let m = m_full.floor();
    let s = ((m_full - m) * 60.0 * 1000.0).round();
    [(d as u32, 1), (m as u32, 1), (s as u32, 1000)]
}

/// The APP1 payload: `Exif\0\0` followed by a little-endian TIFF header, IFD0 with Make and Model
/// (ASCII), Orientation (SHORT) and, when GPS is given, a GPS IFD pointer (LONG, tag 0x8825) to a
/// GPS IFD with GPSVersionID, GPSLatitudeRef, GPSLatitude (3 RATIONALs), GPSLongitudeRef and
/// GPSLongitude. Absent fields are left out.
pub fn exif(spec: &ExifSpec) -> Vec<u8> {
    let mut ifd0 = Vec::new();
    if let Some(make) = spec.make {
        ifd0.push(IfdEntry::ascii(0x010F, make));
    }
    if let Some(model) = spec.model {
        ifd0.push(IfdEntry::ascii(0x0110, model));
    }
    if let Some(o) = spec.orientation {
        ifd0.push(IfdEntry::short(0x0112, o));
    }
    let gps = spec.gps.map(|(lat, lon)| {
        vec![
            IfdEntry::bytes(0x0000, &[2, 3, 0, 0]),
            IfdEntry::ascii(0x0001, if lat >= 0.0 { "N" } else { "S" }),
            IfdEntry::rationals(0x0002, &dms(lat)),
            IfdEntry::ascii(0x0003, if lon >= 0.0 { "E" } else { "W" }),
            IfdEntry::rationals(0x0004, &dms(lon)),
        ]
    });
    if gps.is_some() {
        // IFD0 size does not depend on the pointer's value, so compute it with a placeholder.
        ifd0.push(IfdEntry::long(0x8825, 0));
        let gps_off = 8 + ifd_len(&ifd0);
        if let Some(last) = ifd0.last_mut() {
            *last = IfdEntry::long(0x8825, gps_off);
        }
    }
    let mut out = b"Exif\0\0".to_vec();
    let mut tiff = b"II*\0".to_vec();
    tiff.extend_from_slice(&8u32.to_le_bytes());
    write_ifd(&mut tiff, &ifd0, 8);
    if let Some(g) = gps {
        let off = u32::try_from(tiff.len()).expect("small TIFF");
        write_ifd(&mut tiff, &g, off);
    }
    out.extend_from_slice(&tiff);
    out
}

/// Turns an upright image into the raw pixel layout a camera stores for the given EXIF
/// orientation (1..=8), so that applying that orientation yields the upright image again.
/// E.g. for 6 ("rotate 90 CW to display") the stored pixels are the upright image rotated 90
/// degrees counter-clockwise. Other values return the image unchanged.
pub fn to_camera_orientation(upright: &RgbImage, orientation: u16) -> RgbImage {
    use image::imageops::{flip_horizontal, flip_vertical, rotate90, rotate180, rotate270};
    match orientation {
        2 => flip_horizontal(upright),
        3 => rotate180(upright),
        4 => flip_vertical(upright),
        // 5 (transpose) and 7 (transverse) are their own inverses.
        5 => flip_horizontal(&rotate90(upright)),
        6 => rotate270(upright),
        7 => flip_horizontal(&rotate270(upright)),
        8 => rotate90(upright),
        _ => upright.clone(),
    }
}

/// Latitude and longitude of Xiamen, written into the camera photos.
pub const XIAMEN: (f64, f64) = (24.4798, 118.0894);

/// Upright dimensions of [`camera_photo_12mp`] (stored as 4000×3000, orientation 6).
pub const CAMERA_12MP_UPRIGHT: (u32, u32) = (3000, 4000);

/// Upright dimensions of [`camera_photo_1_4mp`] (stored as 1440×1080, orientation 6).
pub const CAMERA_1_4MP_UPRIGHT: (u32, u32) = (1080, 1440);

/// Encodes a camera-like portrait: the person on a white wall, head a little smaller and lower
/// than an ID photo (room to crop), stored rotated for EXIF orientation 6, with make, model and
/// Xiamen GPS, quality 92.
fn camera_photo(upright_w: u32, upright_h: u32, seed: u64) -> Vec<u8> {
    camera_photo_of(&PortraitSpec {
        width: upright_w,
        height: upright_h,
        background: Background::White,
        scale: 0.8,
        top: 0.12,
        seed,
        ..PortraitSpec::default()
    })
}

/// `spec` (upright) stored as a camera does: EXIF orientation 6, make, model, Xiamen GPS, quality 92.
fn camera_photo_of(spec: &PortraitSpec) -> Vec<u8> {
    let upright = portrait(spec);
    let stored = to_camera_orientation(&upright, 6);
    let meta =
        exif(&ExifSpec { orientation: Some(6), gps: Some(XIAMEN), make: Some("Xiaomi"), model: Some("Redmi Note 12") });
    jpeg(&stored, 92, Some(&meta))
}

/// A 12-megapixel camera-like portrait JPEG: 4000×3000 stored as EXIF orientation 6 with GPS and
/// make/model, quality 92; upright it is 3000×4000 ([`CAMERA_12MP_UPRIGHT`]). Used by benchmarks.
pub fn camera_photo_12mp(seed: u64) -> Vec<u8> {
    camera_photo(CAMERA_12MP_UPRIGHT.0, CAMERA_12MP_UPRIGHT.1, seed)
}

/// Same as [`camera_photo_12mp`] at about 1.4 MP: 1440×1080 stored, orientation 6, upright
/// 1080×1440 ([`CAMERA_1_4MP_UPRIGHT`]).
pub fn camera_photo_1_4mp(seed: u64) -> Vec<u8> {
    camera_photo(CAMERA_1_4MP_UPRIGHT.0, CAMERA_1_4MP_UPRIGHT.1, seed)
}

/// [`camera_photo_1_4mp`] taken from farther away and off to one side: the head is about half the
/// size and shifted right, so the fix's crop spans only about half of the picture's width (the
/// widget's first, smaller decode is then too coarse for it and it decodes again). Used by the
/// browser bench as the slow case.
pub fn camera_photo_1_4mp_far(seed: u64) -> Vec<u8> {
    camera_photo_of(&PortraitSpec {
        width: CAMERA_1_4MP_UPRIGHT.0,
        height: CAMERA_1_4MP_UPRIGHT.1,
        background: Background::White,
        scale: 0.45,
        offset_x: 0.18,
        top: 0.25,
        seed,
        ..PortraitSpec::default()
    })
}

// ---------------------------------------------------------------------------------------------
// Hostile inputs
// ---------------------------------------------------------------------------------------------

/// CRC-32 (IEEE, as used by PNG chunks).
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &x in data {
        a = (a + u32::from(x)) % 65_521;
        b = (b + a) % 65_521;
    }
    (b << 16) | a
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&u32::try_from(data.len()).expect("small chunk").to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// A minimal valid 1×1 GIF89a (for wrong-format tests).
pub fn gif_bytes() -> Vec<u8> {
    vec![
        b'G', b'I', b'F', b'8', b'9', b'a', // signature
        1, 0, 1, 0, 0x80, 0, 0, // screen 1x1, 2-colour global table
        0xFF, 0xFF, 0xFF, 0, 0, 0, // palette
        0x2C, 0, 0, 0, 0, 1, 0, 1, 0, 0, // image descriptor
        2, 2, 0x44, 0x01, 0,    // LZW: clear, 0, end
        0x3B, // trailer
    ]
}

/// A PNG whose IHDR declares 100000×100000 RGB pixels followed by a tiny valid zlib IDAT and
/// IEND, all with correct CRCs: the header parses, decoding must be refused by size.
pub fn png_bomb() -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    png_chunk(&mut out, b"IHDR", &ihdr);
    let raw = [0u8; 16];
    let mut idat = vec![0x78, 0x01, 0x01, 16, 0, !16u8, 0xFF];
    idat.extend_from_slice(&raw);
    idat.extend_from_slice(&adler32(&raw).to_be_bytes());
    png_chunk(&mut out, b"IDAT", &idat);
    png_chunk(&mut out, b"IEND", &[]);
    out
}

/// A baseline JPEG header declaring 65000×65000 pixels, 3 components (4:2:0): SOI, DQT, SOF0,
/// DHT (one-code DC and AC tables), SOS, a few entropy-coded bytes, EOI.
pub fn jpeg_bomb() -> Vec<u8> {
    let mut out = vec![0xFF, 0xD8];
    // DQT: one 8-bit table, id 0, all ones.
    out.extend_from_slice(&[0xFF, 0xDB, 0x00, 0x43, 0x00]);
    out.extend_from_slice(&[1u8; 64]);
    // SOF0.
    let side = 65_000u16.to_be_bytes();
    out.extend_from_slice(&[0xFF, 0xC0, 0x00, 0x11, 0x08]);
    out.extend_from_slice(&side);
    out.extend_from_slice(&side);
    out.extend_from_slice(&[0x03, 0x01, 0x22, 0x00, 0x02, 0x11, 0x00, 0x03, 0x11, 0x00]);
    // DHT: DC table 0 and AC table 0, each a single 1-bit code for symbol 0.
    for class in [0x00u8, 0x10] {
        out.extend_from_slice(&[0xFF, 0xC4, 0x00, 0x14, class, 1]);
        out.extend_from_slice(&[0u8; 15]);
        out.push(0);
    }
    // SOS.
    out.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x0C, 0x03, 0x01, 0x00, 0x02, 0x00, 0x03, 0x00, 0x00, 0x3F, 0x00]);
    out.extend_from_slice(&[0u8; 16]);
    out.extend_from_slice(&[0xFF, 0xD9]);
    out
}

/// The first half of a valid camera-like 480×672 JPEG (SOI and headers intact, no EOI).
///
/// Note: `image` 0.25's JPEG decoder (zune-jpeg) is lenient and decodes this without error,
/// filling the missing scan data; code that must refuse truncated uploads has to check for the
/// EOI marker (or the scan length) itself.
pub fn truncated_jpeg() -> Vec<u8> {
    let img = portrait(&PortraitSpec { width: 480, height: 672, seed: 7, ..PortraitSpec::default() });
    let mut bytes = jpeg(&img, 85, None);
    bytes.truncate(bytes.len() / 2);
    bytes
}

/// `len` pseudo-random bytes from `seed`.
pub fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut rng = SplitMix64::new(seed);
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        out.extend_from_slice(&rng.next_u64().to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Assembles a PDF from object bodies (numbered from 1) with a correct xref table.
fn pdf(objects: &[Vec<u8>], trailer_extra: &str) -> Vec<u8> {
    let mut out = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    let size = objects.len() + 1;
    out.extend_from_slice(format!("xref\n0 {size}\n0000000000 65535 f \n").as_bytes());
    for off in offsets {
        out.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!("trailer\n<< /Size {size} /Root 1 0 R{trailer_extra} >>\nstartxref\n{xref}\n%%EOF\n").as_bytes(),
    );
    out
}

fn pdf_stream(content: &[u8]) -> Vec<u8> {
    let mut body = format!("<< /Length {} >>\nstream\n", content.len()).into_bytes();
    body.extend_from_slice(content);
    body.extend_from_slice(b"\nendstream");
    body
}

fn pdf_page_objects(content: &[u8]) -> Vec<Vec<u8>> {
    vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << >> /Contents 4 0 R >>".to_vec(),
        pdf_stream(content),
    ]
}

/// A minimal valid one-page PDF 1.4 (a filled rectangle, no fonts) with a correct xref table,
/// ending in `%%EOF`.
pub fn pdf_minimal() -> Vec<u8> {
    pdf(&pdf_page_objects(b"0.2 0.3 0.8 rg 72 700 300 60 re f"), "")
}

/// A PDF that looks encrypted: standard security handler dictionary referenced by the trailer's
/// `/Encrypt`, a file `/ID`, and a content stream of random-looking bytes.
pub fn pdf_encrypted() -> Vec<u8> {
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02X}")).collect::<String>();
    let o = hex(&random_bytes(32, 0x0E));
    let u = hex(&random_bytes(32, 0x0F));
    let id = hex(&random_bytes(16, 0x1D));
    let mut objects = pdf_page_objects(&random_bytes(48, 0xC0));
    objects.push(format!("<< /Filter /Standard /V 1 /R 2 /O <{o}> /U <{u}> /P -3904 >>").into_bytes());
    pdf(&objects, &format!(" /Encrypt 5 0 R /ID [<{id}> <{id}>]"))
}
