//! The few parts of the ONNX protobuf format the detector needs: a graph's nodes (op type, inputs, outputs,
//! attributes), its float and int64 initializers, and the names of its inputs and outputs. A protobuf
//! message is a sequence of (field number, wire type, value); unknown fields are skipped.

use std::collections::HashMap;

use crate::Error;

/// One attribute of a node (only the kinds the supported operators use).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Attr {
    Int(i64),
    Ints(Vec<i64>),
    Float(f32),
    Bytes(Vec<u8>),
}

#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub(crate) op: String,
    pub(crate) inputs: Vec<String>,
    pub(crate) outputs: Vec<String>,
    pub(crate) attrs: HashMap<String, Attr>,
}

/// A constant tensor of the graph.
#[derive(Debug, Clone)]
pub(crate) enum Init {
    F32 { dims: Vec<usize>, data: Vec<f32> },
    I64 { dims: Vec<usize>, data: Vec<i64> },
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Graph {
    pub(crate) nodes: Vec<Node>,
    pub(crate) inits: HashMap<String, Init>,
    pub(crate) inputs: Vec<String>,
    pub(crate) outputs: Vec<String>,
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

enum Value<'a> {
    Varint(u64),
    Fixed64,
    Bytes(&'a [u8]),
    Fixed32(u32),
}

fn bad(what: &'static str) -> Error {
    Error::Model(what)
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    fn varint(&mut self) -> Result<u64, Error> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *self.buf.get(self.pos).ok_or(bad("truncated varint"))?;
            self.pos += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(bad("varint too long"))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len()).ok_or(bad("truncated field"))?;
        let out = &self.buf[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    /// The next field, or `None` at the end of the message.
    fn field(&mut self) -> Result<Option<(u64, Value<'a>)>, Error> {
        if self.pos >= self.buf.len() {
            return Ok(None);
        }
        let key = self.varint()?;
        let value = match key & 7 {
            0 => Value::Varint(self.varint()?),
            1 => {
                self.take(8)?;
                Value::Fixed64
            }
            2 => {
                let len = usize::try_from(self.varint()?).map_err(|_| bad("length"))?;
                Value::Bytes(self.take(len)?)
            }
            5 => Value::Fixed32(u32::from_le_bytes(self.take(4)?.try_into().map_err(|_| bad("fixed32"))?)),
            _ => return Err(bad("unsupported wire type")),
        };
        Ok(Some((key >> 3, value)))
    }
}

fn string(bytes: &[u8]) -> Result<String, Error> {
    String::from_utf8(bytes.to_vec()).map_err(|_| bad("name is not UTF-8"))
}

/// A repeated int64 field, packed (one length-delimited value) or not (one varint per value).
fn push_ints(out: &mut Vec<i64>, value: &Value<'_>) -> Result<(), Error> {
    match value {
        // Two's complement, as protobuf stores a negative int64 (e.g. a Reshape's -1).
        Value::Varint(v) => out.push(*v as i64),
        Value::Bytes(b) => {
            let mut r = Reader::new(b);
            while r.pos < b.len() {
                out.push(r.varint()? as i64);
            }
        }
        _ => return Err(bad("int64 list")),
    }
    Ok(())
}

fn attribute(buf: &[u8]) -> Result<(String, Attr), Error> {
    let mut r = Reader::new(buf);
    let (mut name, mut int, mut float, mut bytes, mut ints, mut kind) = (None, None, None, None, Vec::new(), 0);
    while let Some((field, value)) = r.field()? {
        match (field, &value) {
            (1, Value::Bytes(b)) => name = Some(string(b)?),
            (2, Value::Fixed32(f)) => float = Some(f32::from_bits(*f)),
            (3, Value::Varint(v)) => int = Some(*v as i64),
            (4, Value::Bytes(b)) => bytes = Some(b.to_vec()),
            (8, _) => push_ints(&mut ints, &value)?,
            (20, Value::Varint(v)) => kind = *v,
            _ => {}
        }
    }
    let name = name.ok_or(bad("attribute without a name"))?;
    // AttributeType: FLOAT 1, INT 2, STRING 3, INTS 7.
    let attr = match kind {
        1 => Attr::Float(float.unwrap_or(0.0)),
        2 => Attr::Int(int.unwrap_or(0)),
        3 => Attr::Bytes(bytes.unwrap_or_default()),
        7 => Attr::Ints(ints),
        _ => Attr::Bytes(Vec::new()),
    };
    Ok((name, attr))
}

fn node(buf: &[u8]) -> Result<Node, Error> {
    let mut r = Reader::new(buf);
    let mut node = Node { op: String::new(), inputs: Vec::new(), outputs: Vec::new(), attrs: HashMap::new() };
    while let Some((field, value)) = r.field()? {
        match (field, value) {
            (1, Value::Bytes(b)) => node.inputs.push(string(b)?),
            (2, Value::Bytes(b)) => node.outputs.push(string(b)?),
            (4, Value::Bytes(b)) => node.op = string(b)?,
            (5, Value::Bytes(b)) => {
                let (name, attr) = attribute(b)?;
                node.attrs.insert(name, attr);
            }
            _ => {}
        }
    }
    Ok(node)
}

fn tensor(buf: &[u8]) -> Result<(String, Init), Error> {
    let mut r = Reader::new(buf);
    let (mut dims, mut kind, mut name, mut raw) = (Vec::new(), 0, String::new(), None);
    let (mut floats, mut int64s) = (Vec::new(), Vec::new());
    while let Some((field, value)) = r.field()? {
        match (field, &value) {
            (1, _) => push_ints(&mut dims, &value)?,
            (2, Value::Varint(v)) => kind = *v,
            (4, Value::Bytes(b)) => {
                floats.extend(b.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])));
            }
            (4, Value::Fixed32(f)) => floats.push(f32::from_bits(*f)),
            (7, _) => push_ints(&mut int64s, &value)?,
            (8, Value::Bytes(b)) => name = string(b)?,
            (9, Value::Bytes(b)) => raw = Some(*b),
            _ => {}
        }
    }
    let dims: Vec<usize> =
        dims.iter().map(|&d| usize::try_from(d).map_err(|_| bad("negative dim"))).collect::<Result<_, _>>()?;
    let count: usize = dims.iter().product();
    // TensorProto.DataType: FLOAT 1, INT64 7.
    let init = match kind {
        1 => {
            let data = match raw {
                Some(b) => b.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect(),
                None => floats,
            };
            if data.len() != count {
                return Err(bad("float tensor size"));
            }
            Init::F32 { dims, data }
        }
        7 => {
            let data = match raw {
                Some(b) => b
                    .chunks_exact(8)
                    .map(|c| i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
                    .collect(),
                None => int64s,
            };
            if data.len() != count {
                return Err(bad("int64 tensor size"));
            }
            Init::I64 { dims, data }
        }
        _ => return Err(bad("unsupported tensor data type")),
    };
    Ok((name, init))
}

fn value_name(buf: &[u8]) -> Result<String, Error> {
    let mut r = Reader::new(buf);
    while let Some((field, value)) = r.field()? {
        if let (1, Value::Bytes(b)) = (field, value) {
            return string(b);
        }
    }
    Err(bad("value without a name"))
}

/// The graph of an ONNX model file.
pub(crate) fn parse(model: &[u8]) -> Result<Graph, Error> {
    let mut r = Reader::new(model);
    let mut graph_bytes = None;
    while let Some((field, value)) = r.field()? {
        if let (7, Value::Bytes(b)) = (field, value) {
            graph_bytes = Some(b);
        }
    }
    let mut r = Reader::new(graph_bytes.ok_or(bad("no graph"))?);
    let mut graph = Graph::default();
    while let Some((field, value)) = r.field()? {
        match (field, value) {
            (1, Value::Bytes(b)) => graph.nodes.push(node(b)?),
            (5, Value::Bytes(b)) => {
                let (name, init) = tensor(b)?;
                graph.inits.insert(name, init);
            }
            (11, Value::Bytes(b)) => graph.inputs.push(value_name(b)?),
            (12, Value::Bytes(b)) => graph.outputs.push(value_name(b)?),
            _ => {}
        }
    }
    // Initializers may also be listed as graph inputs (older exporters): the image input is the rest.
    graph.inputs.retain(|name| !graph.inits.contains_key(name));
    Ok(graph)
}
