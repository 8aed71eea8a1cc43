//! Face detection with landmarks for Intake's photo and document checks: YuNet (libfacedetection.train,
//! `yunet_n`, Apache-2.0, 74k parameters), run by a small interpreter of its few operators
//! ([`net`](crate::Tensor)), and its post-processing (grid decoding, score threshold, NMS). Pure Rust, no IO,
//! no dependencies: the widget (wasm32, loaded lazily) and the server run the very same code.
//!
//! ```
//! let detector = intake_faces::Detector::new().unwrap();
//! let grey = vec![128u8; 64 * 48 * 3];
//! let faces = detector.detect(&grey, 64, 48, &intake_faces::Options::default()).unwrap();
//! assert!(faces.is_empty());
//! ```

mod net;
mod onnx;

use std::fmt;

pub use net::Tensor;

/// The model file, committed verbatim from its source (model/README.md says where and how to regenerate it).
pub const MODEL: &[u8] = include_bytes!("../model/yunet_n_dynamic.onnx");

/// The side of the window [`Detector::measure_roll`] re-detects in, its probe angle and its most rounds.
const ROLL_WINDOW: usize = 256;
const ROLL_PROBE: f32 = 15.0;
const ROLL_ROUNDS: usize = 3;
/// Below this eye-line roll the eye line is the answer: on the corpus's upright drawn faces the probes read
/// −3° to −5° (the network's response to a left and a right tilt is not quite symmetric) where the eye line
/// reads 0.4° to 2°; a real tilt of 12° or more reads above this.
const ROLL_REFINE_ABOVE: f32 = 3.0;

/// The strides of the model's three output levels (cells of 8, 16 and 32 input pixels).
const STRIDES: [usize; 3] = [8, 16, 32];

/// Why a model could not be loaded or run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The model file is malformed or inconsistent.
    Model(&'static str),
    /// The model uses something the interpreter does not implement.
    Unsupported(&'static str),
    /// The image given is inconsistent (size and buffer length, or empty).
    Input(&'static str),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Model(what) => write!(f, "face model: {what}"),
            Error::Unsupported(what) => write!(f, "face model uses {what}"),
            Error::Input(what) => write!(f, "face detection input: {what}"),
        }
    }
}

impl std::error::Error for Error {}

/// A point in the pixel coordinates of the image given to [`Detector::detect`] (x right, y down).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub x: f32,
    pub y: f32,
}

/// One detected face.
#[derive(Debug, Clone, PartialEq)]
pub struct Face {
    /// Left, top, width and height of the face box (YuNet's box: brows to chin, not the hair).
    pub x: f32,
    pub y: f32,
    pub width: f32,
    pub height: f32,
    /// The geometric mean of the class and objectness scores, in 0..=1.
    pub score: f32,
    /// YuNet's five landmarks, in this order: the person's right eye (on the image's left), left eye, nose
    /// tip, right mouth corner, left mouth corner.
    pub landmarks: [Point; 5],
}

impl Face {
    /// The person's right eye (the one on the image's left for a frontal face).
    pub fn right_eye(&self) -> Point {
        self.landmarks[0]
    }

    /// The person's left eye.
    pub fn left_eye(&self) -> Point {
        self.landmarks[1]
    }

    /// The eye line's angle to the horizontal, in degrees: positive when the person's left eye (image right)
    /// is lower than the right eye, i.e. the head is turned clockwise on screen.
    pub fn roll_degrees(&self) -> f32 {
        let (r, l) = (self.right_eye(), self.left_eye());
        (l.y - r.y).atan2(l.x - r.x).to_degrees()
    }

    /// The distance between the eye centres, in pixels.
    pub fn eye_distance(&self) -> f32 {
        let (r, l) = (self.right_eye(), self.left_eye());
        (l.x - r.x).hypot(l.y - r.y)
    }

    fn iou(&self, other: &Face) -> f32 {
        let ix = ((self.x + self.width).min(other.x + other.width) - self.x.max(other.x)).max(0.0);
        let iy = ((self.y + self.height).min(other.y + other.height) - self.y.max(other.y)).max(0.0);
        let inter = ix * iy;
        let union = self.width * self.height + other.width * other.height - inter;
        if union > 0.0 { inter / union } else { 0.0 }
    }
}

/// Detection settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// A face is kept when its score is at least this.
    pub score_threshold: f32,
    /// Of two faces whose boxes overlap by more than this (intersection over union), the lower-scoring one is
    /// dropped.
    pub nms_threshold: f32,
    /// An image whose longer side exceeds this is shrunk (area average) to this before detection; the faces
    /// are reported in the given image's coordinates. The network's cost grows with the pixel count.
    pub max_side: usize,
}

impl Default for Options {
    /// Score 0.7 (a portrait scores about 0.93, a face 22 px wide on a wall 0.91, scikit-image's cat 0.17),
    /// NMS 0.3 (OpenCV's FaceDetectorYN default), 640 px.
    fn default() -> Self {
        Options { score_threshold: 0.7, nms_threshold: 0.3, max_side: 640 }
    }
}

/// A loaded detector: parse the model once, then detect on many images.
#[derive(Debug, Clone)]
pub struct Detector {
    net: net::Net,
}

impl Detector {
    /// The committed YuNet model.
    pub fn new() -> Result<Self, Error> {
        Self::from_onnx(MODEL)
    }

    /// A YuNet-style ONNX model given as bytes (only the operators the interpreter implements).
    pub fn from_onnx(model: &[u8]) -> Result<Self, Error> {
        Ok(Detector { net: net::Net::new(&onnx::parse(model)?)? })
    }

    /// The network's raw outputs (named as in the model: `cls_8`, …, `kps_32`) for a `[1, 3, H, W]` input
    /// (BGR, 0..=255, H and W multiples of 32). For tests against a reference engine, and benches.
    pub fn run(&self, input: Tensor) -> Result<Vec<(String, Tensor)>, Error> {
        match input.dims.as_slice() {
            [1, 3, h, w] if h % 32 == 0 && w % 32 == 0 && *h > 0 && *w > 0 => {}
            _ => return Err(Error::Input("the network input must be [1, 3, H, W] with H and W multiples of 32")),
        }
        if input.data.len() != input.dims.iter().product::<usize>() {
            return Err(Error::Input("tensor data length"));
        }
        self.net.run(input)
    }

    /// The faces in a packed RGB8 image (`width * height * 3` bytes, rows top to bottom), best score first.
    pub fn detect(&self, rgb: &[u8], width: usize, height: usize, options: &Options) -> Result<Vec<Face>, Error> {
        if width == 0 || height == 0 || width.checked_mul(height).and_then(|n| n.checked_mul(3)) != Some(rgb.len()) {
            return Err(Error::Input("the buffer is not width × height RGB8"));
        }
        let long = width.max(height);
        if long > options.max_side.max(32) {
            let scale = long as f32 / options.max_side.max(32) as f32;
            let (w, h) =
                (((width as f32 / scale).round() as usize).max(1), ((height as f32 / scale).round() as usize).max(1));
            let small = shrink(rgb, width, height, w, h);
            let (sx, sy) = (width as f32 / w as f32, height as f32 / h as f32);
            let mut faces = self.detect_at_size(&small, w, h, options)?;
            for face in &mut faces {
                face.x *= sx;
                face.width *= sx;
                face.y *= sy;
                face.height *= sy;
                for p in &mut face.landmarks {
                    p.x *= sx;
                    p.y *= sy;
                }
            }
            return Ok(faces);
        }
        self.detect_at_size(rgb, width, height, options)
    }

    /// The head's roll in degrees (sign as [`Face::roll_degrees`]), measured more truly than one detection's
    /// eye line when that reads at least `ROLL_REFINE_ABOVE` (3°; below, the eye line is returned as is).
    /// YuNet's eye landmarks are pulled towards level (a 20° tilt reads as about 8°, and a window
    /// de-rotated until the landmarks read level still holds about 3.5°), but about mirror-symmetric: the
    /// face is re-detected in two windows de-rotated by the estimate ± `ROLL_PROBE`°, and the estimate moved
    /// to where the two readings balance (the chord's zero), for `ROLL_ROUNDS` rounds. `face` is one of
    /// [`Detector::detect`]'s faces for the same image. Costs up to `2 × ROLL_ROUNDS` detections of 256 × 256.
    /// Measured on scikit-image's astronaut rotated 20°: 18.9° of change (−16.6° against the upright eye
    /// line's 2.3°; one detection's eye line: 8°); the window's scale matters (the face about 85 px tall; at
    /// 55 px the landmarks hardly follow the probe at all).
    pub fn measure_roll(
        &self,
        rgb: &[u8],
        width: usize,
        height: usize,
        face: &Face,
        options: &Options,
    ) -> Result<f32, Error> {
        if width.checked_mul(height).and_then(|n| n.checked_mul(3)) != Some(rgb.len()) {
            return Err(Error::Input("the buffer is not width × height RGB8"));
        }
        let (r, l) = (face.right_eye(), face.left_eye());
        let centre = Point { x: (r.x + l.x) / 2.0, y: (r.y + l.y) / 2.0 };
        // A window three face heights across, sampled at ROLL_WINDOW px: the face is then about 80 px tall.
        let scale = 3.0 * face.height.max(face.width) / ROLL_WINDOW as f32;
        let reading = |angle: f32| -> Result<Option<f32>, Error> {
            let window = rotated_window(rgb, width, height, centre, angle.to_radians(), scale, ROLL_WINDOW);
            let faces = self.detect_at_size(&window, ROLL_WINDOW, ROLL_WINDOW, options)?;
            let mid = ROLL_WINDOW as f32 / 2.0;
            let d = |f: &Face| (f.x + f.width / 2.0 - mid).hypot(f.y + f.height / 2.0 - mid);
            Ok(faces.iter().min_by(|a, b| d(a).total_cmp(&d(b))).map(Face::roll_degrees))
        };
        let mut roll = face.roll_degrees();
        if roll.abs() < ROLL_REFINE_ABOVE {
            return Ok(roll);
        }
        for _ in 0..ROLL_ROUNDS {
            // a = f(t - probe), b = f(t + probe) for the true residual t; f odd and locally linear.
            let (Some(a), Some(b)) = (reading(roll + ROLL_PROBE)?, reading(roll - ROLL_PROBE)?) else {
                break;
            };
            if b - a < 1.0 {
                break; // the landmarks do not follow the probe: keep the estimate
            }
            let t = ROLL_PROBE * (a + b) / (b - a);
            roll += t.clamp(-ROLL_PROBE, ROLL_PROBE);
            if t.abs() < 0.25 {
                break;
            }
        }
        Ok(roll)
    }

    fn detect_at_size(&self, rgb: &[u8], width: usize, height: usize, options: &Options) -> Result<Vec<Face>, Error> {
        let (pw, ph) = (width.div_ceil(32) * 32, height.div_ceil(32) * 32);
        let outputs = self.run(network_input(rgb, width, height))?;
        let get = |name: &str| {
            outputs
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, t)| t.data.as_slice())
                .ok_or(Error::Model("a YuNet output is missing"))
        };
        let mut faces = Vec::new();
        for stride in STRIDES {
            let (cols, rows) = (pw / stride, ph / stride);
            let cls = get(&format!("cls_{stride}"))?;
            let obj = get(&format!("obj_{stride}"))?;
            let bbox = get(&format!("bbox_{stride}"))?;
            let kps = get(&format!("kps_{stride}"))?;
            let cells = cols * rows;
            if cls.len() != cells || obj.len() != cells || bbox.len() != cells * 4 || kps.len() != cells * 10 {
                return Err(Error::Model("a YuNet output has an unexpected size"));
            }
            let s = stride as f32;
            for r in 0..rows {
                for c in 0..cols {
                    let i = r * cols + c;
                    let score = (cls[i].clamp(0.0, 1.0) * obj[i].clamp(0.0, 1.0)).sqrt();
                    if score < options.score_threshold {
                        continue;
                    }
                    let (cx, cy) = ((c as f32 + bbox[i * 4]) * s, (r as f32 + bbox[i * 4 + 1]) * s);
                    let (w, h) = (bbox[i * 4 + 2].exp() * s, bbox[i * 4 + 3].exp() * s);
                    let k = &kps[i * 10..i * 10 + 10];
                    let landmarks = std::array::from_fn(|n| Point {
                        x: (k[2 * n] + c as f32) * s,
                        y: (k[2 * n + 1] + r as f32) * s,
                    });
                    faces.push(Face { x: cx - w / 2.0, y: cy - h / 2.0, width: w, height: h, score, landmarks });
                }
            }
        }
        Ok(nms(faces, options.nms_threshold))
    }
}

/// Greedy non-maximum suppression, best score first (ties keep the earlier cell).
fn nms(mut faces: Vec<Face>, threshold: f32) -> Vec<Face> {
    faces.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept: Vec<Face> = Vec::new();
    for face in faces {
        if kept.iter().all(|k| k.iou(&face) <= threshold) {
            kept.push(face);
        }
    }
    kept
}

/// The network input for an RGB8 image: `[1, 3, H, W]` planes in BGR order (the model was trained on OpenCV's
/// BGR), values 0..=255, zero-padded at the right and bottom to multiples of 32 (as OpenCV's FaceDetectorYN).
pub fn network_input(rgb: &[u8], width: usize, height: usize) -> Tensor {
    let (pw, ph) = (width.div_ceil(32) * 32, height.div_ceil(32) * 32);
    let plane = pw * ph;
    let mut data = vec![0.0f32; 3 * plane];
    for y in 0..height {
        for x in 0..width {
            let p = &rgb[(y * width + x) * 3..(y * width + x) * 3 + 3];
            let o = y * pw + x;
            data[o] = f32::from(p[2]);
            data[plane + o] = f32::from(p[1]);
            data[2 * plane + o] = f32::from(p[0]);
        }
    }
    Tensor { dims: vec![1, 3, ph, pw], data }
}

/// Area-average shrink of an RGB8 image to `w × h` (each output pixel averages the source pixels whose
/// centres fall in its footprint; at least one).
fn shrink(rgb: &[u8], width: usize, height: usize, w: usize, h: usize) -> Vec<u8> {
    let span = |o: usize, from: usize, to: usize| {
        let lo = o * from / to;
        let hi = ((o + 1) * from / to).max(lo + 1).min(from);
        lo..hi
    };
    let mut out = Vec::with_capacity(w * h * 3);
    for oy in 0..h {
        let ys = span(oy, height, h);
        for ox in 0..w {
            let xs = span(ox, width, w);
            let mut sum = [0u32; 3];
            for y in ys.clone() {
                for x in xs.clone() {
                    let p = &rgb[(y * width + x) * 3..(y * width + x) * 3 + 3];
                    for (s, &v) in sum.iter_mut().zip(p) {
                        *s += u32::from(v);
                    }
                }
            }
            let n = (ys.len() * xs.len()) as u32;
            out.extend(sum.iter().map(|&s| ((s + n / 2) / n) as u8));
        }
    }
    out
}

/// A `size × size` RGB8 window of the image: output pixel (u, v) is the source at
/// `centre + R(angle) · ((u, v) - size / 2) · scale` (bilinear, edges repeated), so a line at `angle` in the
/// source (y down) is level in the window.
fn rotated_window(
    rgb: &[u8],
    width: usize,
    height: usize,
    centre: Point,
    angle: f32,
    scale: f32,
    size: usize,
) -> Vec<u8> {
    let (sin, cos) = angle.sin_cos();
    let half = size as f32 / 2.0;
    let (mx, my) = ((width - 1) as f32, (height - 1) as f32);
    let mut out = Vec::with_capacity(size * size * 3);
    for v in 0..size {
        for u in 0..size {
            let (du, dv) = ((u as f32 + 0.5 - half) * scale, (v as f32 + 0.5 - half) * scale);
            let sx = (centre.x + cos * du - sin * dv - 0.5).clamp(0.0, mx);
            let sy = (centre.y + sin * du + cos * dv - 0.5).clamp(0.0, my);
            let (x0, y0) = (sx.floor() as usize, sy.floor() as usize);
            let (x1, y1) = ((x0 + 1).min(width - 1), (y0 + 1).min(height - 1));
            let (fx, fy) = (sx - x0 as f32, sy - y0 as f32);
            for c in 0..3 {
                let p = |x: usize, y: usize| f32::from(rgb[(y * width + x) * 3 + c]);
                let top = p(x0, y0) + (p(x1, y0) - p(x0, y0)) * fx;
                let bottom = p(x0, y1) + (p(x1, y1) - p(x0, y1)) * fx;
                out.push((top + (bottom - top) * fy).round().clamp(0.0, 255.0) as u8);
            }
        }
    }
    out
}
