//! A reader for CTranslate2 `model.bin` checkpoints (the format faster-whisper and the
//! `ct2-transformers-converter` write), so converted Whisper weights load into candle without a
//! Python conversion step, plus the name mapping from CTranslate2's `WhisperSpec` to the Hugging
//! Face Whisper names that `candle_transformers::models::whisper` reads.
//!
//! Layout (CTranslate2 `src/models/model.cc`, little endian; a string is a `u16` byte count
//! followed by the bytes, NUL-terminated):
//! ```text
//! u32 binary_version (>= 2: string spec name, u32 spec revision)
//! u32 variable count, then per variable:
//!     string name, u8 rank, u32 dims[rank], u8 dtype (>= 4; see `dtype_of`), u32 byte count, bytes
//! (>= 3) u32 alias count, then per alias: string alias, string variable name
//! ```
//! Reference: `ct2_whisper_to_hf.py` in the project's offline-asset tools does the same in numpy.

use candle_core::{DType, Device, Tensor};
use candle_transformers::models::whisper::Config as WhisperConfig;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The spec name a Whisper conversion carries.
pub const WHISPER_SPEC: &str = "WhisperSpec";
/// Oldest binary version this reader understands: version 1 files have no spec name and store
/// only float32, and no converter has written them since 2019.
const MIN_BINARY_VERSION: u32 = 2;
/// Newest binary version known to this reader (CTranslate2 4.x writes 6).
const MAX_BINARY_VERSION: u32 = 6;
/// From this version on each variable carries its dtype and byte count.
const TYPED_VARIABLES_VERSION: u32 = 4;
/// From this version on the file ends with an alias table.
const ALIASES_VERSION: u32 = 3;
/// Whisper's attention heads are always 64 wide; used when a conversion stores no head count.
const WHISPER_HEAD_DIM: usize = 64;
/// A Whisper checkpoint for languages other than English has this many tokens or more
/// (openai/whisper `Whisper.is_multilingual`).
pub const MULTILINGUAL_VOCAB: usize = 51865;

#[derive(Debug, thiserror::Error)]
pub enum Ct2Error {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: not a CTranslate2 model: {detail}")]
    Format { path: PathBuf, detail: String },
    #[error("{path}: variable `{name}`: {detail}")]
    Variable { path: PathBuf, name: String, detail: String },
    #[error("{path}: is a `{found}` model, expected `{expected}`")]
    Spec { path: PathBuf, found: String, expected: String },
    #[error("{path}: missing variable `{name}` of a {spec}")]
    Missing { path: PathBuf, name: String, spec: String },
    #[error("{path}: {source}")]
    Candle { path: PathBuf, source: candle_core::Error },
}

/// A whole `model.bin`: every variable as a CPU tensor in its stored dtype, aliases resolved.
#[derive(Debug, Clone)]
pub struct Ct2Model {
    pub path: PathBuf,
    pub binary_version: u32,
    pub spec: String,
    pub spec_revision: u32,
    pub variables: HashMap<String, Tensor>,
}

/// True when `bytes` (the start of a file) look like a CTranslate2 model: a plausible version
/// followed by a NUL-terminated spec name. A safetensors file starts with a `u64` header length
/// and `{`, which never passes this test.
pub fn sniff(bytes: &[u8]) -> bool {
    if bytes.len() < 6 {
        return false;
    }
    let version = u32::from_le_bytes(bytes[0..4].try_into().expect("4 bytes"));
    let len = u16::from_le_bytes(bytes[4..6].try_into().expect("2 bytes")) as usize;
    (MIN_BINARY_VERSION..=MAX_BINARY_VERSION).contains(&version)
        && len > 1
        && bytes.len() >= 6 + len
        && bytes[6 + len - 1] == 0
        && bytes[6..6 + len - 1].iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_')
}

/// CTranslate2's `DataType` enum. Integer variables are small scalars and flags (`num_heads`
/// as int16, `activation` as int8, ...), widened to i64.
fn dtype_of(id: u8) -> Option<DType> {
    match id {
        0 => Some(DType::F32),
        1..=3 => Some(DType::I64), // int8, int16, int32
        4 => Some(DType::F16),
        5 => Some(DType::BF16),
        _ => None,
    }
}

/// Bytes per element of an integer dtype id.
fn int_width(id: u8) -> Option<usize> {
    match id {
        1 => Some(1),
        2 => Some(2),
        3 => Some(4),
        _ => None,
    }
}

/// A quantized conversion stores a scale beside each int8 weight matrix.
const QUANT_SCALE_SUFFIX: &str = "weight_scale";

struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
    path: &'a Path,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], Ct2Error> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len()).ok_or_else(|| Ct2Error::Format {
            path: self.path.to_path_buf(),
            detail: format!("file ends inside {what} at byte {} (truncated?)", self.pos),
        })?;
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }
    fn u8(&mut self, what: &str) -> Result<u8, Ct2Error> {
        Ok(self.take(1, what)?[0])
    }
    fn u16(&mut self, what: &str) -> Result<u16, Ct2Error> {
        Ok(u16::from_le_bytes(self.take(2, what)?.try_into().expect("2 bytes")))
    }
    fn u32(&mut self, what: &str) -> Result<u32, Ct2Error> {
        Ok(u32::from_le_bytes(self.take(4, what)?.try_into().expect("4 bytes")))
    }
    fn string(&mut self, what: &str) -> Result<String, Ct2Error> {
        let n = self.u16(what)? as usize;
        let raw = self.take(n, what)?;
        let raw = raw.strip_suffix(&[0]).unwrap_or(raw);
        String::from_utf8(raw.to_vec())
            .map_err(|_| Ct2Error::Format { path: self.path.to_path_buf(), detail: format!("{what} is not UTF-8") })
    }
}

impl Ct2Model {
    /// Reads a `model.bin` into CPU tensors (a Whisper tiny is 75 MB, base 145 MB).
    pub fn read(path: &Path) -> Result<Ct2Model, Ct2Error> {
        let bytes = std::fs::read(path).map_err(|source| Ct2Error::Io { path: path.to_path_buf(), source })?;
        Self::parse(&bytes, path)
    }

    /// Parses the bytes of a `model.bin`; `path` only names it in errors.
    pub fn parse(bytes: &[u8], path: &Path) -> Result<Ct2Model, Ct2Error> {
        let format_err = |detail: String| Ct2Error::Format { path: path.to_path_buf(), detail };
        if !sniff(bytes) {
            return Err(format_err(format!(
                "no CTranslate2 header (binary version {MIN_BINARY_VERSION}-{MAX_BINARY_VERSION} and a spec name)"
            )));
        }
        let mut c = Cursor { bytes, pos: 0, path };
        let binary_version = c.u32("the version")?;
        let spec = c.string("the spec name")?;
        let spec_revision = c.u32("the spec revision")?;
        let count = c.u32("the variable count")?;
        let mut variables = HashMap::with_capacity(count as usize);
        for i in 0..count {
            let name = c.string(&format!("the name of variable {i}"))?;
            let var_err = |detail: String| Ct2Error::Variable { path: path.to_path_buf(), name: name.clone(), detail };
            let rank = c.u8("a rank")? as usize;
            let mut dims = Vec::with_capacity(rank);
            for _ in 0..rank {
                dims.push(c.u32("a dimension")? as usize);
            }
            let (type_id, nbytes) = if binary_version >= TYPED_VARIABLES_VERSION {
                let t = c.u8("a dtype")?;
                (t, c.u32("a byte count")? as usize)
            } else {
                // Versions 2-3 store float32 only, with the element count.
                (0, c.u32("an element count")? as usize * 4)
            };
            let data = c.take(nbytes, &format!("the data of `{name}`"))?;
            if name.ends_with(QUANT_SCALE_SUFFIX) {
                return Err(var_err(
                    "int8-quantized weights are not supported; use a float16 or float32 conversion".into(),
                ));
            }
            let dtype = dtype_of(type_id).ok_or_else(|| var_err(format!("unsupported dtype id {type_id}")))?;
            let elems: usize = dims.iter().product();
            let tensor = if let Some(w) = int_width(type_id) {
                if elems * w != nbytes {
                    return Err(var_err(format!("{nbytes} bytes for shape {dims:?} of {w}-byte integers")));
                }
                let v: Vec<i64> = data
                    .chunks_exact(w)
                    .map(|b| match w {
                        1 => b[0] as i8 as i64,
                        2 => i16::from_le_bytes([b[0], b[1]]) as i64,
                        _ => i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as i64,
                    })
                    .collect();
                Tensor::from_vec(v, dims.as_slice(), &Device::Cpu)
            } else {
                if elems * dtype.size_in_bytes() != nbytes {
                    return Err(var_err(format!("{nbytes} bytes for shape {dims:?} of {dtype:?}")));
                }
                Tensor::from_raw_buffer(data, dtype, &dims, &Device::Cpu)
            }
            .map_err(|source| Ct2Error::Candle { path: path.to_path_buf(), source })?;
            variables.insert(name, tensor);
        }
        if binary_version >= ALIASES_VERSION && c.pos < bytes.len() {
            let n = c.u32("the alias count")?;
            for _ in 0..n {
                let alias = c.string("an alias")?;
                let target = c.string("an alias target")?;
                let t = variables.get(&target).cloned().ok_or_else(|| Ct2Error::Variable {
                    path: path.to_path_buf(),
                    name: alias.clone(),
                    detail: format!("alias of unknown variable `{target}`"),
                })?;
                variables.insert(alias, t);
            }
        }
        Ok(Ct2Model { path: path.to_path_buf(), binary_version, spec, spec_revision, variables })
    }

    fn get(&self, name: &str) -> Result<&Tensor, Ct2Error> {
        self.variables.get(name).ok_or_else(|| Ct2Error::Missing {
            path: self.path.clone(),
            name: name.to_string(),
            spec: self.spec.clone(),
        })
    }

    fn layer_count(&self, stack: &str) -> usize {
        let prefix = format!("{stack}/layer_");
        (0..).take_while(|i| self.variables.keys().any(|k| k.starts_with(&format!("{prefix}{i}/")))).count()
    }

    /// The Whisper weights under Hugging Face names (`model.encoder.conv1.weight`, ...) and the
    /// model's shape as a candle Whisper `Config`. CTranslate2 fuses q/k/v (self-attention) and
    /// k/v (cross-attention) into one matrix; they are split here. `suppress_tokens` is left empty:
    /// a CTranslate2 conversion keeps it in its `config.json` (`suppress_ids`).
    pub fn into_whisper(self) -> Result<(HashMap<String, Tensor>, WhisperConfig), Ct2Error> {
        if self.spec != WHISPER_SPEC {
            return Err(Ct2Error::Spec {
                path: self.path.clone(),
                found: self.spec.clone(),
                expected: WHISPER_SPEC.into(),
            });
        }
        let candle = |source| Ct2Error::Candle { path: self.path.clone(), source };
        let embed = self.get("decoder/embeddings/weight")?;
        let (vocab_size, d) = embed.dims2().map_err(candle)?;
        let mut out: HashMap<String, Tensor> = HashMap::new();
        let mut put = |dst: String, t: &Tensor| {
            out.insert(dst, t.clone());
        };
        let copy = |put: &mut dyn FnMut(String, &Tensor), src: &str, dst: &str| -> Result<(), Ct2Error> {
            put(dst.to_string(), self.get(src)?);
            Ok(())
        };
        let ln = |put: &mut dyn FnMut(String, &Tensor), src: &str, dst: &str| -> Result<(), Ct2Error> {
            put(format!("{dst}.weight"), self.get(&format!("{src}/gamma"))?);
            put(format!("{dst}.bias"), self.get(&format!("{src}/beta"))?);
            Ok(())
        };
        let lin = |put: &mut dyn FnMut(String, &Tensor), src: &str, dst: &str| -> Result<(), Ct2Error> {
            put(format!("{dst}.weight"), self.get(&format!("{src}/weight"))?);
            put(format!("{dst}.bias"), self.get(&format!("{src}/bias"))?);
            Ok(())
        };
        // Splits a fused projection into `d`-row blocks. Whisper's key projection has no bias;
        // CTranslate2 stores zeros for it, which are dropped.
        let split = |put: &mut dyn FnMut(String, &Tensor), src: &str, dsts: &[String]| -> Result<(), Ct2Error> {
            let w = self.get(&format!("{src}/weight"))?;
            let b = self.get(&format!("{src}/bias"))?;
            for (i, dst) in dsts.iter().enumerate() {
                put(format!("{dst}.weight"), &w.narrow(0, i * d, d).map_err(candle)?.contiguous().map_err(candle)?);
                if !dst.ends_with("k_proj") {
                    put(format!("{dst}.bias"), &b.narrow(0, i * d, d).map_err(candle)?.contiguous().map_err(candle)?);
                }
            }
            Ok(())
        };
        for p in ["conv1", "conv2"] {
            lin(&mut put, &format!("encoder/{p}"), &format!("model.encoder.{p}"))?;
        }
        copy(&mut put, "encoder/position_encodings/encodings", "model.encoder.embed_positions.weight")?;
        let n_enc = self.layer_count("encoder");
        let n_dec = self.layer_count("decoder");
        let qkv = |t: &str, attn: &str| -> Vec<String> {
            ["q_proj", "k_proj", "v_proj"].iter().map(|p| format!("{t}.{attn}.{p}")).collect()
        };
        for i in 0..n_enc {
            let (s, t) = (format!("encoder/layer_{i}"), format!("model.encoder.layers.{i}"));
            ln(&mut put, &format!("{s}/self_attention/layer_norm"), &format!("{t}.self_attn_layer_norm"))?;
            split(&mut put, &format!("{s}/self_attention/linear_0"), &qkv(&t, "self_attn"))?;
            lin(&mut put, &format!("{s}/self_attention/linear_1"), &format!("{t}.self_attn.out_proj"))?;
            ln(&mut put, &format!("{s}/ffn/layer_norm"), &format!("{t}.final_layer_norm"))?;
            lin(&mut put, &format!("{s}/ffn/linear_0"), &format!("{t}.fc1"))?;
            lin(&mut put, &format!("{s}/ffn/linear_1"), &format!("{t}.fc2"))?;
        }
        ln(&mut put, "encoder/layer_norm", "model.encoder.layer_norm")?;
        copy(&mut put, "decoder/embeddings/weight", "model.decoder.embed_tokens.weight")?;
        copy(&mut put, "decoder/position_encodings/encodings", "model.decoder.embed_positions.weight")?;
        for i in 0..n_dec {
            let (s, t) = (format!("decoder/layer_{i}"), format!("model.decoder.layers.{i}"));
            ln(&mut put, &format!("{s}/self_attention/layer_norm"), &format!("{t}.self_attn_layer_norm"))?;
            split(&mut put, &format!("{s}/self_attention/linear_0"), &qkv(&t, "self_attn"))?;
            lin(&mut put, &format!("{s}/self_attention/linear_1"), &format!("{t}.self_attn.out_proj"))?;
            ln(&mut put, &format!("{s}/attention/layer_norm"), &format!("{t}.encoder_attn_layer_norm"))?;
            lin(&mut put, &format!("{s}/attention/linear_0"), &format!("{t}.encoder_attn.q_proj"))?;
            split(&mut put, &format!("{s}/attention/linear_1"), &qkv(&t, "encoder_attn")[1..])?;
            lin(&mut put, &format!("{s}/attention/linear_2"), &format!("{t}.encoder_attn.out_proj"))?;
            ln(&mut put, &format!("{s}/ffn/layer_norm"), &format!("{t}.final_layer_norm"))?;
            lin(&mut put, &format!("{s}/ffn/linear_0"), &format!("{t}.fc1"))?;
            lin(&mut put, &format!("{s}/ffn/linear_1"), &format!("{t}.fc2"))?;
        }
        ln(&mut put, "decoder/layer_norm", "model.decoder.layer_norm")?;
        let heads = |stack: &str| -> Result<usize, Ct2Error> {
            match self.variables.get(&format!("{stack}/num_heads")) {
                Some(t) => scalar_usize(t).map_err(candle),
                None => Ok(d / WHISPER_HEAD_DIM),
            }
        };
        let config = WhisperConfig {
            num_mel_bins: self.get("encoder/conv1/weight")?.dim(1).map_err(candle)?,
            max_source_positions: self.get("encoder/position_encodings/encodings")?.dim(0).map_err(candle)?,
            d_model: d,
            encoder_attention_heads: heads("encoder")?,
            encoder_layers: n_enc,
            vocab_size,
            max_target_positions: self.get("decoder/position_encodings/encodings")?.dim(0).map_err(candle)?,
            decoder_attention_heads: heads("decoder")?,
            decoder_layers: n_dec,
            suppress_tokens: Vec::new(),
        };
        Ok((out, config))
    }
}

fn scalar_usize(t: &Tensor) -> candle_core::Result<usize> {
    Ok(t.flatten_all()?.to_dtype(DType::F64)?.to_vec1::<f64>()?.first().copied().unwrap_or(0.0) as usize)
}

/// Writes variables as a CTranslate2 file of binary version [`MAX_BINARY_VERSION`] (float
/// tensors keep their dtype; no aliases). Used to build small test checkpoints.
pub fn write(path: &Path, spec: &str, variables: &[(String, Tensor)]) -> Result<(), Ct2Error> {
    let candle = |source| Ct2Error::Candle { path: path.to_path_buf(), source };
    let mut out = Vec::new();
    let put_str = |out: &mut Vec<u8>, s: &str| {
        out.extend_from_slice(&((s.len() + 1) as u16).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
        out.push(0);
    };
    out.extend_from_slice(&MAX_BINARY_VERSION.to_le_bytes());
    put_str(&mut out, spec);
    out.extend_from_slice(&1u32.to_le_bytes());
    out.extend_from_slice(&(variables.len() as u32).to_le_bytes());
    for (name, t) in variables {
        put_str(&mut out, name);
        out.push(t.rank() as u8);
        for &d in t.dims() {
            out.extend_from_slice(&(d as u32).to_le_bytes());
        }
        let id = match t.dtype() {
            DType::F32 => 0u8,
            DType::F16 => 4,
            DType::I64 if t.rank() == 0 => 2,
            other => {
                return Err(Ct2Error::Variable {
                    path: path.to_path_buf(),
                    name: name.clone(),
                    detail: format!("writing {other:?} is not supported"),
                })
            }
        };
        let mut data = Vec::with_capacity(t.elem_count() * t.dtype().size_in_bytes());
        if id == 2 {
            data.extend_from_slice(&(t.to_scalar::<i64>().map_err(candle)? as i16).to_le_bytes());
        } else {
            t.write_bytes(&mut data).map_err(candle)?;
        }
        out.push(id);
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(&data);
    }
    out.extend_from_slice(&0u32.to_le_bytes());
    std::fs::write(path, out).map_err(|source| Ct2Error::Io { path: path.to_path_buf(), source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_sniff() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("model.bin");
        let a = Tensor::arange(0f32, 6., &Device::Cpu).unwrap().reshape((2, 3)).unwrap();
        let b = a.to_dtype(DType::F16).unwrap();
        write(&p, "TestSpec", &[("x/a".into(), a.clone()), ("y".into(), b)]).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        assert!(sniff(&bytes));
        assert!(!sniff(b"\x10\0\0\0\0\0\0\0{\"a\":1}"));
        let m = Ct2Model::parse(&bytes, &p).unwrap();
        assert_eq!(m.spec, "TestSpec");
        assert_eq!(m.variables["x/a"].to_vec2::<f32>().unwrap(), a.to_vec2::<f32>().unwrap());
        assert_eq!(m.variables["y"].dtype(), DType::F16);
        let cut = Ct2Model::parse(&bytes[..bytes.len() - 10], &p).unwrap_err().to_string();
        assert!(cut.contains("truncated") && cut.contains("model.bin"), "{cut}");
        let e = m.into_whisper().unwrap_err().to_string();
        assert!(e.contains("TestSpec") && e.contains(WHISPER_SPEC), "{e}");
    }
}
