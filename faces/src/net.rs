//! A small interpreter for the operators YuNet uses: Conv (dense, grouped and depthwise), Relu, Sigmoid,
//! MaxPool, Resize (nearest), Add, Transpose, Reshape, and the shape arithmetic in front of each Reshape
//! (Shape, Gather, Unsqueeze, Concat). Tensors are batch-1 NCHW `f32`; anything else the model asks for is
//! refused when the model is loaded, not guessed.

use std::collections::HashMap;

use crate::Error;
use crate::onnx::{Attr, Graph, Init, Node};

/// A float tensor: its dims (row-major) and data.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    /// The dims, outermost first (an image is `[1, 3, height, width]`).
    pub dims: Vec<usize>,
    /// `dims.iter().product()` values, row-major.
    pub data: Vec<f32>,
}

#[derive(Debug, Clone)]
enum Value {
    F(Tensor),
    I { dims: Vec<usize>, data: Vec<i64> },
}

#[derive(Debug, Clone, Copy)]
struct ConvSpec {
    group: usize,
    kh: usize,
    kw: usize,
    stride: usize,
    pad: [usize; 4],
    /// A Relu fused in at load time (the Relu was this Conv's only reader).
    relu: bool,
}

#[derive(Debug, Clone)]
enum Op {
    Conv(ConvSpec),
    Relu,
    Sigmoid,
    MaxPool { k: usize, stride: usize },
    Resize,
    Add,
    Transpose(Vec<usize>),
    Reshape,
    Shape,
    Gather,
    Unsqueeze(Vec<i64>),
    Concat,
}

#[derive(Debug, Clone)]
struct Step {
    op: Op,
    inputs: Vec<Option<usize>>,
    output: usize,
}

/// A loaded network: its steps in file order (ONNX nodes are topologically sorted) over numbered values.
#[derive(Debug, Clone)]
pub(crate) struct Net {
    steps: Vec<Step>,
    /// For each step, the values it reads for the last time (freed after it: a 12 MP photo's intermediates
    /// would otherwise all stay in memory, which in wasm32 never shrinks).
    last_reads: Vec<Vec<usize>>,
    consts: Vec<(usize, Value)>,
    input: usize,
    outputs: Vec<(String, usize)>,
    slots: usize,
}

fn ints(node: &Node, name: &str) -> Option<Vec<i64>> {
    match node.attrs.get(name) {
        Some(Attr::Ints(v)) => Some(v.clone()),
        _ => None,
    }
}

fn int(node: &Node, name: &str) -> Option<i64> {
    match node.attrs.get(name) {
        Some(Attr::Int(v)) => Some(*v),
        _ => None,
    }
}

fn bytes<'a>(node: &'a Node, name: &str) -> &'a [u8] {
    match node.attrs.get(name) {
        Some(Attr::Bytes(v)) => v,
        _ => &[],
    }
}

fn us(v: i64) -> Result<usize, Error> {
    usize::try_from(v).map_err(|_| Error::Model("negative attribute"))
}

fn op(node: &Node) -> Result<Op, Error> {
    Ok(match node.op.as_str() {
        "Conv" => {
            let k = ints(node, "kernel_shape").ok_or(Error::Model("Conv without kernel_shape"))?;
            let strides = ints(node, "strides").unwrap_or_else(|| vec![1, 1]);
            let pads = ints(node, "pads").unwrap_or_else(|| vec![0; 4]);
            let dil = ints(node, "dilations").unwrap_or_else(|| vec![1, 1]);
            if k.len() != 2 || strides.len() != 2 || strides[0] != strides[1] || pads.len() != 4 || dil != [1, 1] {
                return Err(Error::Unsupported("Conv other than 2-D, square stride, no dilation"));
            }
            if !bytes(node, "auto_pad").is_empty() && bytes(node, "auto_pad") != b"NOTSET" {
                return Err(Error::Unsupported("Conv auto_pad"));
            }
            Op::Conv(ConvSpec {
                group: us(int(node, "group").unwrap_or(1))?,
                kh: us(k[0])?,
                kw: us(k[1])?,
                stride: us(strides[0])?,
                pad: [us(pads[0])?, us(pads[1])?, us(pads[2])?, us(pads[3])?],
                relu: false,
            })
        }
        "Relu" => Op::Relu,
        "Sigmoid" => Op::Sigmoid,
        "MaxPool" => {
            let k = ints(node, "kernel_shape").ok_or(Error::Model("MaxPool without kernel_shape"))?;
            let strides = ints(node, "strides").unwrap_or_else(|| k.clone());
            let pads = ints(node, "pads").unwrap_or_else(|| vec![0; 4]);
            if k.len() != 2
                || k[0] != k[1]
                || strides != [k[0], k[0]]
                || pads.iter().any(|&p| p != 0)
                || int(node, "ceil_mode").unwrap_or(0) != 0
            {
                return Err(Error::Unsupported("MaxPool other than square, stride = kernel, no padding"));
            }
            Op::MaxPool { k: us(k[0])?, stride: us(strides[0])? }
        }
        "Resize" => {
            if bytes(node, "mode") != b"nearest"
                || bytes(node, "coordinate_transformation_mode") != b"asymmetric"
                || bytes(node, "nearest_mode") != b"floor"
            {
                return Err(Error::Unsupported("Resize other than nearest, asymmetric, floor"));
            }
            Op::Resize
        }
        "Add" => Op::Add,
        "Transpose" => Op::Transpose(
            ints(node, "perm")
                .ok_or(Error::Model("Transpose without perm"))?
                .into_iter()
                .map(us)
                .collect::<Result<_, _>>()?,
        ),
        "Reshape" => Op::Reshape,
        "Shape" => Op::Shape,
        "Gather" => {
            if int(node, "axis").unwrap_or(0) != 0 {
                return Err(Error::Unsupported("Gather on an axis other than 0"));
            }
            Op::Gather
        }
        "Unsqueeze" => Op::Unsqueeze(ints(node, "axes").ok_or(Error::Model("Unsqueeze without axes"))?),
        "Concat" => {
            if int(node, "axis").unwrap_or(0) != 0 {
                return Err(Error::Unsupported("Concat on an axis other than 0"));
            }
            Op::Concat
        }
        _ => return Err(Error::Unsupported("an operator this interpreter does not implement")),
    })
}

impl Net {
    pub(crate) fn new(graph: &Graph) -> Result<Self, Error> {
        let mut slot: HashMap<&str, usize> = HashMap::new();
        let mut consts = Vec::new();
        for (name, init) in &graph.inits {
            let id = slot.len();
            slot.insert(name, id);
            consts.push((
                id,
                match init {
                    Init::F32 { dims, data } => Value::F(Tensor { dims: dims.clone(), data: data.clone() }),
                    Init::I64 { dims, data } => Value::I { dims: dims.clone(), data: data.clone() },
                },
            ));
        }
        let [input_name] = graph.inputs.as_slice() else {
            return Err(Error::Model("the model must have exactly one image input"));
        };
        let input = slot.len();
        slot.insert(input_name, input);
        let mut steps = Vec::new();
        for node in &graph.nodes {
            let inputs = node
                .inputs
                .iter()
                .map(|name| {
                    if name.is_empty() {
                        Ok(None)
                    } else {
                        slot.get(name.as_str())
                            .copied()
                            .map(Some)
                            .ok_or(Error::Model("a node reads a value nothing wrote"))
                    }
                })
                .collect::<Result<Vec<_>, _>>()?;
            let [output_name] = node.outputs.as_slice() else {
                return Err(Error::Unsupported("a node with several outputs"));
            };
            let output = slot.len();
            slot.insert(output_name, output);
            steps.push(Step { op: op(node)?, inputs, output });
        }
        let outputs = graph
            .outputs
            .iter()
            .map(|name| {
                slot.get(name.as_str()).map(|&id| (name.clone(), id)).ok_or(Error::Model("an output nothing writes"))
            })
            .collect::<Result<_, _>>()?;
        let outputs: Vec<(String, usize)> = outputs;
        let steps = fuse_relu(&steps, &outputs);
        let mut last = vec![None; slot.len()];
        for (n, step) in steps.iter().enumerate() {
            for &i in step.inputs.iter().flatten() {
                last[i] = Some(n);
            }
        }
        let mut last_reads = vec![Vec::new(); steps.len()];
        let is_const = |i: usize| consts.iter().any(|(c, _)| *c == i);
        for (i, at) in last.iter().enumerate() {
            if let Some(n) = at
                && !is_const(i)
                && !outputs.iter().any(|(_, o)| *o == i)
            {
                last_reads[*n].push(i);
            }
        }
        Ok(Net { steps, last_reads, consts, input, outputs, slots: slot.len() })
    }

    /// Runs the network on a `[1, 3, H, W]` input; the outputs in the model's order, with their names.
    pub(crate) fn run(&self, input: Tensor) -> Result<Vec<(String, Tensor)>, Error> {
        let mut values: Vec<Option<Value>> = vec![None; self.slots];
        for (id, value) in &self.consts {
            values[*id] = Some(value.clone());
        }
        values[self.input] = Some(Value::F(input));
        for (step, done) in self.steps.iter().zip(&self.last_reads) {
            let args: Vec<Option<&Value>> = step.inputs.iter().map(|i| i.and_then(|i| values[i].as_ref())).collect();
            let out = eval(&step.op, &args)?;
            for &i in done {
                values[i] = None;
            }
            values[step.output] = Some(out);
        }
        self.outputs
            .iter()
            .map(|(name, id)| match values[*id].take() {
                Some(Value::F(t)) => Ok((name.clone(), t)),
                _ => Err(Error::Model("an output is not a float tensor")),
            })
            .collect()
    }
}

/// A Relu whose input is a Conv read by nothing else becomes part of that Conv (one pass less over memory).
fn fuse_relu(steps: &[Step], outputs: &[(String, usize)]) -> Vec<Step> {
    let readers = |slot: usize| steps.iter().flat_map(|s| s.inputs.iter().flatten()).filter(|&&i| i == slot).count();
    let mut out: Vec<Step> = Vec::with_capacity(steps.len());
    for step in steps {
        if let (Op::Relu, [Some(src)]) = (&step.op, step.inputs.as_slice())
            && readers(*src) == 1
            && !outputs.iter().any(|(_, o)| o == src)
            && let Some(conv) = out.iter_mut().rev().find(|s| s.output == *src)
            && let Op::Conv(spec) = &mut conv.op
        {
            spec.relu = true;
            conv.output = step.output;
            continue;
        }
        out.push(step.clone());
    }
    out
}

fn f<'a>(args: &[Option<&'a Value>], i: usize) -> Result<&'a Tensor, Error> {
    match args.get(i).copied().flatten() {
        Some(Value::F(t)) => Ok(t),
        _ => Err(Error::Model("expected a float tensor")),
    }
}

fn i64s<'a>(args: &[Option<&'a Value>], i: usize) -> Result<(&'a [usize], &'a [i64]), Error> {
    match args.get(i).copied().flatten() {
        Some(Value::I { dims, data }) => Ok((dims, data)),
        _ => Err(Error::Model("expected an int64 tensor")),
    }
}

fn eval(op: &Op, args: &[Option<&Value>]) -> Result<Value, Error> {
    Ok(match op {
        Op::Conv(spec) => Value::F(conv(f(args, 0)?, f(args, 1)?, args.get(2).copied().flatten(), *spec)?),
        Op::Relu => Value::F(map(f(args, 0)?, |v| v.max(0.0))),
        Op::Sigmoid => Value::F(map(f(args, 0)?, |v| 1.0 / (1.0 + (-v).exp()))),
        Op::MaxPool { k, stride } => Value::F(max_pool(f(args, 0)?, *k, *stride)?),
        Op::Resize => Value::F(resize(f(args, 0)?, args)?),
        Op::Add => {
            let (a, b) = (f(args, 0)?, f(args, 1)?);
            if a.dims != b.dims {
                return Err(Error::Unsupported("Add with broadcasting"));
            }
            Value::F(Tensor { dims: a.dims.clone(), data: a.data.iter().zip(&b.data).map(|(x, y)| x + y).collect() })
        }
        Op::Transpose(perm) => Value::F(transpose(f(args, 0)?, perm)?),
        Op::Reshape => {
            let t = f(args, 0)?;
            let (_, shape) = i64s(args, 1)?;
            Value::F(Tensor { dims: reshape_dims(&t.dims, shape)?, data: t.data.clone() })
        }
        Op::Shape => {
            let t = f(args, 0)?;
            Value::I { dims: vec![t.dims.len()], data: t.dims.iter().map(|&d| d as i64).collect() }
        }
        Op::Gather => {
            let (dims, data) = i64s(args, 0)?;
            let (idims, idx) = i64s(args, 1)?;
            if dims.len() != 1 || !idims.is_empty() || idx.len() != 1 {
                return Err(Error::Unsupported("Gather other than a scalar index into a 1-D shape"));
            }
            let i = if idx[0] < 0 { idx[0] + data.len() as i64 } else { idx[0] };
            let v =
                *usize::try_from(i).ok().and_then(|i| data.get(i)).ok_or(Error::Model("Gather index out of range"))?;
            Value::I { dims: Vec::new(), data: vec![v] }
        }
        Op::Unsqueeze(axes) => {
            let (dims, data) = i64s(args, 0)?;
            if !dims.is_empty() || axes.as_slice() != [0] {
                return Err(Error::Unsupported("Unsqueeze other than a scalar on axis 0"));
            }
            Value::I { dims: vec![1], data: data.to_vec() }
        }
        Op::Concat => {
            let mut out = Vec::new();
            for i in 0..args.len() {
                let (dims, data) = i64s(args, i)?;
                if dims.len() != 1 {
                    return Err(Error::Unsupported("Concat of other than 1-D int64"));
                }
                out.extend_from_slice(data);
            }
            Value::I { dims: vec![out.len()], data: out }
        }
    })
}

fn map(t: &Tensor, g: impl Fn(f32) -> f32) -> Tensor {
    Tensor { dims: t.dims.clone(), data: t.data.iter().map(|&v| g(v)).collect() }
}

fn reshape_dims(from: &[usize], shape: &[i64]) -> Result<Vec<usize>, Error> {
    let total: usize = from.iter().product();
    let mut dims = Vec::with_capacity(shape.len());
    let mut infer = None;
    for (i, &s) in shape.iter().enumerate() {
        dims.push(match s {
            0 => *from.get(i).ok_or(Error::Model("Reshape copies a missing dim"))?,
            -1 if infer.is_none() => {
                infer = Some(i);
                1
            }
            s if s > 0 => s as usize,
            _ => return Err(Error::Model("Reshape shape")),
        });
    }
    let known: usize = dims.iter().product();
    if let Some(i) = infer {
        if known == 0 || !total.is_multiple_of(known) {
            return Err(Error::Model("Reshape cannot infer its -1"));
        }
        dims[i] = total / known;
    }
    if dims.iter().product::<usize>() != total {
        return Err(Error::Model("Reshape changes the element count"));
    }
    Ok(dims)
}

fn chw(t: &Tensor) -> Result<(usize, usize, usize), Error> {
    match t.dims.as_slice() {
        [1, c, h, w] => Ok((*c, *h, *w)),
        _ => Err(Error::Unsupported("a tensor other than [1, C, H, W]")),
    }
}

fn conv(x: &Tensor, w: &Tensor, b: Option<&Value>, s: ConvSpec) -> Result<Tensor, Error> {
    let (c, h, wd) = chw(x)?;
    let [oc, icg, kh, kw] = *w.dims.as_slice() else {
        return Err(Error::Model("Conv weights are not 4-D"));
    };
    if kh != s.kh || kw != s.kw || s.group == 0 || c != icg * s.group || oc % s.group != 0 || s.stride == 0 {
        return Err(Error::Model("Conv weight shape does not match its input"));
    }
    let bias = match b {
        Some(Value::F(t)) if t.data.len() == oc => Some(&t.data),
        None => None,
        _ => return Err(Error::Model("Conv bias shape")),
    };
    let (ph, pw) = (h + s.pad[0] + s.pad[2], wd + s.pad[1] + s.pad[3]);
    if ph < kh || pw < kw {
        return Err(Error::Model("Conv kernel larger than its input"));
    }
    let (oh, ow) = ((ph - kh) / s.stride + 1, (pw - kw) / s.stride + 1);
    let plane = oh * ow;
    let mut out = vec![0.0f32; oc * plane];
    let ocg = oc / s.group;
    if kh == 1 && kw == 1 && s.stride == 1 && s.pad == [0; 4] {
        pointwise(&x.data, &w.data, bias.map(|b| b.as_slice()), &mut out, plane, icg, ocg);
    } else if s.stride == 1 {
        spatial(x, w, bias, &mut out, s, (oh, ow), ocg);
    } else {
        strided(x, w, bias, &mut out, s, (oh, ow), ocg);
    }
    if s.relu {
        for v in &mut out {
            *v = v.max(0.0);
        }
    }
    Ok(Tensor { dims: vec![1, oc, oh, ow], data: out })
}

/// A k×k convolution with stride 1: each kernel tap adds a shifted input row to an output row.
fn spatial(
    x: &Tensor,
    w: &Tensor,
    bias: Option<&Vec<f32>>,
    out: &mut [f32],
    s: ConvSpec,
    (oh, ow): (usize, usize),
    ocg: usize,
) {
    let (h, wd) = (x.dims[2], x.dims[3]);
    let [oc, icg, kh, kw] = [w.dims[0], w.dims[1], w.dims[2], w.dims[3]];
    let plane = oh * ow;
    for o in 0..oc {
        let dst = &mut out[o * plane..(o + 1) * plane];
        dst.fill(bias.map_or(0.0, |b| b[o]));
        let g = o / ocg;
        for i in 0..icg {
            let src = &x.data[(g * icg + i) * h * wd..(g * icg + i + 1) * h * wd];
            let wk = &w.data[(o * icg + i) * kh * kw..(o * icg + i + 1) * kh * kw];
            for ky in 0..kh {
                for kx in 0..kw {
                    let k = wk[ky * kw + kx];
                    for oy in 0..oh {
                        // Input row of this output row and kernel row, if inside the (unpadded) input.
                        let iy = (oy + ky).wrapping_sub(s.pad[0]);
                        if iy >= h {
                            continue;
                        }
                        let row = &src[iy * wd..(iy + 1) * wd];
                        let drow = &mut dst[oy * ow..(oy + 1) * ow];
                        // Output columns whose input column ox + kx - pad_left is in 0..wd.
                        let lo = s.pad[1].saturating_sub(kx);
                        let hi = (wd + s.pad[1]).saturating_sub(kx).min(ow);
                        if lo >= hi {
                            continue;
                        }
                        let first = lo + kx - s.pad[1];
                        for (d, &v) in drow[lo..hi].iter_mut().zip(&row[first..first + (hi - lo)]) {
                            *d += k * v;
                        }
                    }
                }
            }
        }
    }
}

/// A k×k convolution with a stride above 1 (YuNet's first layer): each input channel is first split into
/// `stride` column phases, so every kernel tap reads a contiguous run again.
fn strided(
    x: &Tensor,
    w: &Tensor,
    bias: Option<&Vec<f32>>,
    out: &mut [f32],
    s: ConvSpec,
    (oh, ow): (usize, usize),
    ocg: usize,
) {
    let (c, h, wd) = (x.dims[1], x.dims[2], x.dims[3]);
    let [oc, icg, kh, kw] = [w.dims[0], w.dims[1], w.dims[2], w.dims[3]];
    let st = s.stride;
    let plane = oh * ow;
    let cp = wd.div_ceil(st);
    // phased[ch][p][y][j] = x[ch][y][j * st + p] (0 past the row's end).
    let mut phased = vec![0.0f32; c * st * h * cp];
    for ch in 0..c {
        for y in 0..h {
            let row = &x.data[(ch * h + y) * wd..(ch * h + y + 1) * wd];
            for (ix, &v) in row.iter().enumerate() {
                phased[((ch * st + ix % st) * h + y) * cp + ix / st] = v;
            }
        }
    }
    for o in 0..oc {
        let dst = &mut out[o * plane..(o + 1) * plane];
        dst.fill(bias.map_or(0.0, |b| b[o]));
        let g = o / ocg;
        for i in 0..icg {
            let ch = g * icg + i;
            for ky in 0..kh {
                for kx in 0..kw {
                    let k = w.data[((o * icg + i) * kh + ky) * kw + kx];
                    // Input column ox * st + q, q = kx - pad_left = st * a + p with p in 0..st.
                    let q = kx as isize - s.pad[1] as isize;
                    let (a, p) = (q.div_euclid(st as isize), q.rem_euclid(st as isize) as usize);
                    if p >= wd {
                        continue;
                    }
                    let cols = (wd - p).div_ceil(st) as isize;
                    let lo = (-a).max(0) as usize;
                    let hi = (cols - a).clamp(0, ow as isize) as usize;
                    if lo >= hi {
                        continue;
                    }
                    for oy in 0..oh {
                        let iy = (oy * st + ky).wrapping_sub(s.pad[0]);
                        if iy >= h {
                            continue;
                        }
                        let base = ((ch * st + p) * h + iy) * cp;
                        let from = (lo as isize + a) as usize;
                        let src = &phased[base + from..base + from + (hi - lo)];
                        for (d, &v) in dst[oy * ow + lo..oy * ow + hi].iter_mut().zip(src) {
                            *d += k * v;
                        }
                    }
                }
            }
        }
    }
}

/// A 1×1 convolution (grouped or not): four output channels at a time, so each input plane is read once per
/// four outputs (the network's pointwise layers are most of its multiply-adds).
fn pointwise(x: &[f32], w: &[f32], bias: Option<&[f32]>, out: &mut [f32], plane: usize, icg: usize, ocg: usize) {
    for (o0, block) in out.chunks_mut(4 * plane).enumerate().map(|(b, c)| (b * 4, c)) {
        for (j, dst) in block.chunks_mut(plane).enumerate() {
            dst.fill(bias.map_or(0.0, |b| b[o0 + j]));
        }
        let n = block.len() / plane;
        // The block's channels may straddle groups only if a group's output count is not a multiple of 4.
        let same_group = (o0 / ocg) == ((o0 + n - 1) / ocg);
        if n == 4 && same_group {
            let g = o0 / ocg;
            let (d0, rest) = block.split_at_mut(plane);
            let (d1, rest) = rest.split_at_mut(plane);
            let (d2, d3) = rest.split_at_mut(plane);
            for i in 0..icg {
                let src = &x[(g * icg + i) * plane..(g * icg + i + 1) * plane];
                let k = [w[o0 * icg + i], w[(o0 + 1) * icg + i], w[(o0 + 2) * icg + i], w[(o0 + 3) * icg + i]];
                for ((((a, b), c), d), &v) in
                    d0.iter_mut().zip(d1.iter_mut()).zip(d2.iter_mut()).zip(d3.iter_mut()).zip(src)
                {
                    *a += k[0] * v;
                    *b += k[1] * v;
                    *c += k[2] * v;
                    *d += k[3] * v;
                }
            }
        } else {
            for (j, dst) in block.chunks_mut(plane).enumerate() {
                let o = o0 + j;
                let g = o / ocg;
                for i in 0..icg {
                    let src = &x[(g * icg + i) * plane..(g * icg + i + 1) * plane];
                    let k = w[o * icg + i];
                    for (d, &v) in dst.iter_mut().zip(src) {
                        *d += k * v;
                    }
                }
            }
        }
    }
}

fn max_pool(x: &Tensor, k: usize, stride: usize) -> Result<Tensor, Error> {
    let (c, h, w) = chw(x)?;
    if h < k || w < k || k == 0 {
        return Err(Error::Model("MaxPool kernel larger than its input"));
    }
    let (oh, ow) = ((h - k) / stride + 1, (w - k) / stride + 1);
    let mut out = Vec::with_capacity(c * oh * ow);
    for ch in 0..c {
        let src = &x.data[ch * h * w..(ch + 1) * h * w];
        for oy in 0..oh {
            for ox in 0..ow {
                let mut m = f32::NEG_INFINITY;
                for ky in 0..k {
                    for kx in 0..k {
                        m = m.max(src[(oy * stride + ky) * w + ox * stride + kx]);
                    }
                }
                out.push(m);
            }
        }
    }
    Ok(Tensor { dims: vec![1, c, oh, ow], data: out })
}

/// Nearest, asymmetric, floor: output pixel `o` reads input pixel `floor(o / scale)`.
fn resize(x: &Tensor, args: &[Option<&Value>]) -> Result<Tensor, Error> {
    let (c, h, w) = chw(x)?;
    let scales = match args.get(2).copied().flatten() {
        Some(Value::F(t)) if t.data.len() == 4 => [t.data[2], t.data[3]],
        _ => return Err(Error::Unsupported("Resize without 4 scales")),
    };
    if !(scales[0] >= 1.0 && scales[1] >= 1.0) {
        return Err(Error::Unsupported("Resize that shrinks"));
    }
    let (oh, ow) = ((h as f32 * scales[0]).floor() as usize, (w as f32 * scales[1]).floor() as usize);
    let mut out = Vec::with_capacity(c * oh * ow);
    for ch in 0..c {
        let src = &x.data[ch * h * w..(ch + 1) * h * w];
        for oy in 0..oh {
            let iy = ((oy as f32 / scales[0]).floor() as usize).min(h - 1);
            for ox in 0..ow {
                let ix = ((ox as f32 / scales[1]).floor() as usize).min(w - 1);
                out.push(src[iy * w + ix]);
            }
        }
    }
    Ok(Tensor { dims: vec![1, c, oh, ow], data: out })
}

fn transpose(x: &Tensor, perm: &[usize]) -> Result<Tensor, Error> {
    let n = x.dims.len();
    let mut seen = vec![false; n];
    if perm.len() != n || perm.iter().any(|&p| p >= n || std::mem::replace(&mut seen[p], true)) {
        return Err(Error::Model("Transpose perm"));
    }
    let mut strides = vec![1usize; n];
    for i in (0..n.saturating_sub(1)).rev() {
        strides[i] = strides[i + 1] * x.dims[i + 1];
    }
    let dims: Vec<usize> = perm.iter().map(|&p| x.dims[p]).collect();
    let src_strides: Vec<usize> = perm.iter().map(|&p| strides[p]).collect();
    let total = x.data.len();
    let mut out = Vec::with_capacity(total);
    let mut idx = vec![0usize; n];
    for _ in 0..total {
        out.push(x.data[idx.iter().zip(&src_strides).map(|(i, s)| i * s).sum::<usize>()]);
        for d in (0..n).rev() {
            idx[d] += 1;
            if idx[d] < dims[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    Ok(Tensor { dims, data: out })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A direct, obviously correct convolution to hold the fast paths to.
    fn naive(x: &Tensor, w: &Tensor, b: &[f32], s: ConvSpec) -> Tensor {
        let (c, h, wd) = (x.dims[1], x.dims[2], x.dims[3]);
        let [oc, icg] = [w.dims[0], w.dims[1]];
        let (oh, ow) =
            ((h + s.pad[0] + s.pad[2] - s.kh) / s.stride + 1, (wd + s.pad[1] + s.pad[3] - s.kw) / s.stride + 1);
        let ocg = oc / s.group;
        let mut out = vec![0.0; oc * oh * ow];
        for o in 0..oc {
            for oy in 0..oh {
                for ox in 0..ow {
                    let mut acc = b[o];
                    for i in 0..icg {
                        let ch = (o / ocg) * icg + i;
                        for ky in 0..s.kh {
                            for kx in 0..s.kw {
                                let iy = (oy * s.stride + ky) as isize - s.pad[0] as isize;
                                let ix = (ox * s.stride + kx) as isize - s.pad[1] as isize;
                                if iy >= 0 && ix >= 0 && (iy as usize) < h && (ix as usize) < wd {
                                    acc += w.data[((o * icg + i) * s.kh + ky) * s.kw + kx]
                                        * x.data[(ch * h + iy as usize) * wd + ix as usize];
                                }
                            }
                        }
                    }
                    out[(o * oh + oy) * ow + ox] = if s.relu { acc.max(0.0) } else { acc };
                }
            }
        }
        assert_eq!(c, icg * s.group);
        Tensor { dims: vec![1, oc, oh, ow], data: out }
    }

    fn pseudo(n: usize, seed: u32) -> Vec<f32> {
        let mut state = seed.wrapping_mul(2_654_435_761).max(1);
        (0..n)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                (state % 2001) as f32 / 1000.0 - 1.0
            })
            .collect()
    }

    #[test]
    fn every_conv_path_matches_a_direct_convolution() {
        // (channels in, out, group, kernel, stride, pads t l b r, height, width, relu): the model's shapes and
        // the ones it does not use (odd sizes, asymmetric padding, stride 2 and 3, groups not a multiple of 4).
        let cases = [
            (3, 16, 1, 3, 2, [1, 1, 1, 1], 32, 32, true),
            (3, 5, 1, 3, 2, [1, 0, 2, 1], 13, 11, false),
            (4, 6, 2, 3, 3, [0, 2, 1, 0], 10, 17, false),
            (16, 16, 16, 3, 1, [1, 1, 1, 1], 9, 7, true),
            (8, 12, 4, 3, 1, [2, 0, 0, 1], 6, 5, false),
            (64, 64, 1, 1, 1, [0; 4], 5, 9, true),
            (6, 10, 2, 1, 1, [0; 4], 4, 3, false),
            (5, 7, 1, 1, 1, [0; 4], 3, 3, false),
            (3, 4, 1, 1, 2, [0; 4], 7, 8, false),
        ];
        for (n, (c, oc, group, k, stride, pad, h, w, relu)) in cases.into_iter().enumerate() {
            let spec = ConvSpec { group, kh: k, kw: k, stride, pad, relu };
            let x = Tensor { dims: vec![1, c, h, w], data: pseudo(c * h * w, n as u32 + 1) };
            let wt = Tensor { dims: vec![oc, c / group, k, k], data: pseudo(oc * c / group * k * k, n as u32 + 100) };
            let b = pseudo(oc, n as u32 + 200);
            let bias = Value::F(Tensor { dims: vec![oc], data: b.clone() });
            let got = conv(&x, &wt, Some(&bias), spec).unwrap();
            let want = naive(&x, &wt, &b, spec);
            assert_eq!(got.dims, want.dims, "case {n}");
            for (i, (a, e)) in got.data.iter().zip(&want.data).enumerate() {
                assert!((a - e).abs() < 1e-4, "case {n} element {i}: {a} vs {e}");
            }
        }
    }

    #[test]
    fn shape_ops_and_reshape_follow_onnx() {
        assert_eq!(reshape_dims(&[1, 4, 5, 6], &[0, -1, 3]).unwrap(), vec![1, 40, 3]);
        assert!(reshape_dims(&[1, 4, 5, 6], &[0, -1, 7]).is_err());
        let t = Tensor { dims: vec![1, 2, 2, 3], data: (0..12).map(|v| v as f32).collect() };
        let nhwc = transpose(&t, &[0, 2, 3, 1]).unwrap();
        assert_eq!(nhwc.dims, vec![1, 2, 3, 2]);
        assert_eq!(&nhwc.data[..6], &[0.0, 6.0, 1.0, 7.0, 2.0, 8.0]);
        let up = resize(&t, &[None, None, Some(&Value::F(Tensor { dims: vec![4], data: vec![1.0, 1.0, 2.0, 2.0] }))])
            .unwrap();
        assert_eq!(up.dims, vec![1, 2, 4, 6]);
        assert_eq!(&up.data[..6], &[0.0, 0.0, 1.0, 1.0, 2.0, 2.0]);
        let pooled = max_pool(&t, 2, 2).unwrap();
        assert_eq!(pooled.dims, vec![1, 2, 1, 1]);
        assert_eq!(pooled.data, vec![4.0, 10.0]);
    }
}
