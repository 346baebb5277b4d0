//! ONNX Runtime, loaded at run time from a shared library (the PyPI wheel's, installed by
//! `stackscope models install onnxruntime`), so that the binary builds and runs without it
//! and a missing or wrong library is an error message rather than a crash at start-up.
//!
//! One library per process (ONNX Runtime's own rule). Sessions get one intra-op thread by
//! default on machines with few cores: its worker threads spin-wait, and on 2 cores two
//! threads were slower than one.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use ort::ep::ExecutionProvider;
use ort::session::Session;
use serde::{Deserialize, Serialize};

use super::error::AnalyzeError;
use super::models::{ModelStore, ORT_LIBRARY};

/// Which execution provider runs the models.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// CUDA when the loaded library has it and a GPU answers, else the CPU.
    #[default]
    Auto,
    Cpu,
    /// CUDA or an error.
    Cuda,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RuntimeSettings {
    /// The `libonnxruntime.so` to load; `None`: `STACKSCOPE_ORT_LIB`, then the installed one.
    pub library: Option<PathBuf>,
    pub provider: Provider,
    /// Intra-op threads per session; 0 chooses (1 on machines with ≤ 4 cores).
    pub threads: usize,
}

impl RuntimeSettings {
    pub fn threads(&self) -> usize {
        match self.threads {
            0 => {
                let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
                if cores <= 4 { 1 } else { (cores / 2).min(8) }
            }
            n => n,
        }
    }
}

impl RuntimeSettings {
    /// The settings for image models: unless the user set a thread count, every core (up to
    /// 8), since their convolutions scale where the small audio models only spin.
    pub fn for_image_models(&self) -> Self {
        let mut settings = self.clone();
        if settings.threads == 0 {
            settings.threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
        }
        settings
    }
}

/// The loaded library and its environment.
pub struct Runtime {
    environment: ort::environment::Environment,
    library: PathBuf,
    version: String,
    cuda: bool,
}

static LOADED: Mutex<Option<Arc<Runtime>>> = Mutex::new(None);

/// The library a run would load, without loading it.
pub fn resolve_library(
    settings: &RuntimeSettings,
    store: &ModelStore,
) -> Result<PathBuf, AnalyzeError> {
    if let Some(path) = &settings.library {
        return Ok(path.clone());
    }
    if let Some(path) = std::env::var_os("STACKSCOPE_ORT_LIB").filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(path));
    }
    if settings.provider != Provider::Cpu
        && let Ok(path) = store.require("onnxruntime-gpu", ORT_LIBRARY)
    {
        return Ok(path);
    }
    match store.require("onnxruntime", ORT_LIBRARY) {
        Ok(path) => Ok(path),
        Err(AnalyzeError::ModelMissing { .. }) => Err(AnalyzeError::RuntimeMissing),
        Err(e) => Err(e),
    }
}

/// Reads the library's version through its C entry point, so that a file that is not ONNX
/// Runtime, or one too old for this build, is refused before `ort` touches it.
fn probe(path: &Path) -> Result<String, AnalyzeError> {
    let fail = |reason: String| AnalyzeError::RuntimeLibrary {
        path: path.to_path_buf(),
        reason,
    };
    if !path.is_file() {
        return Err(fail("no such file".into()));
    }
    // SAFETY: loading runs the library's initialisers; this is the library the user (or the
    // installer) chose to run, exactly as `ort` would load it next.
    let lib = unsafe { libloading::Library::new(path) }.map_err(|e| fail(e.to_string()))?;
    // SAFETY: `OrtGetApiBase` has this signature in every ONNX Runtime release.
    let get_base: libloading::Symbol<unsafe extern "C" fn() -> *const ort::sys::OrtApiBase> =
        unsafe { lib.get(b"OrtGetApiBase") }
            .map_err(|_| fail("not an ONNX Runtime library (no OrtGetApiBase)".into()))?;
    // SAFETY: the base and its version string are static data of the library, which stays
    // loaded while they are read.
    let version = unsafe {
        let base = get_base();
        if base.is_null() {
            return Err(fail("OrtGetApiBase returned nothing".into()));
        }
        let v = ((*base).GetVersionString)();
        if v.is_null() {
            return Err(fail("no version string".into()));
        }
        std::ffi::CStr::from_ptr(v).to_string_lossy().into_owned()
    };
    let minor = version
        .split('.')
        .nth(1)
        .and_then(|m| m.parse::<u32>().ok())
        .unwrap_or(0);
    if minor < ort::MINOR_VERSION {
        return Err(fail(format!(
            "it is version {version}; 1.{}.x or newer is needed",
            ort::MINOR_VERSION
        )));
    }
    Ok(version)
}

/// ONNX Runtime (1.29 and later, on Linux as well) keeps a device id and an offline event
/// cache under `~/.cache/Microsoft` and uploads usage events unless `ORT_DISABLE_TELEMETRY=1`
/// is in the environment when it initializes; that also spares each start opening the cache
/// database. Sets it unless the user has set it either way.
///
/// # Safety
/// Changes the process environment: call it before any other thread exists (first thing in
/// `main`), as [`std::env::set_var`] requires.
pub unsafe fn disable_telemetry_at_start() {
    if std::env::var_os("ORT_DISABLE_TELEMETRY").is_none() {
        // SAFETY: the caller guarantees that no other thread reads or writes the environment.
        unsafe { std::env::set_var("ORT_DISABLE_TELEMETRY", "1") };
    }
}

impl Runtime {
    /// The process's runtime, loading the library on first use. A later call asking for a
    /// different library gets an error: ONNX Runtime cannot be unloaded.
    pub fn get(settings: &RuntimeSettings, store: &ModelStore) -> Result<Arc<Self>, AnalyzeError> {
        let path = resolve_library(settings, store)?;
        let mut loaded = LOADED.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(rt) = loaded.as_ref() {
            if same_file(&rt.library, &path) {
                return Ok(rt.clone());
            }
            return Err(AnalyzeError::RuntimeLibrary {
                path,
                reason: format!(
                    "this process already runs ONNX Runtime from {}; start a new one to switch",
                    rt.library.display()
                ),
            });
        }
        let path = std::path::absolute(&path).unwrap_or(path);
        let version = probe(&path)?;
        let environment = ort::init_from(&path)
            .map_err(|e| AnalyzeError::RuntimeLibrary {
                path: path.clone(),
                reason: e.to_string(),
            })?
            .with_name("stackscope")
            // ONNX Runtime 1.29+ reports usage to Microsoft from Linux too; a research tool
            // that runs offline must not. This stops the events after the environment exists;
            // `disable_telemetry_at_start` stops the one sent while it is created.
            .with_telemetry(false)
            .build()?;
        let cuda = ort::ep::CUDA::is_available().unwrap_or(false);
        let rt = Arc::new(Self {
            environment,
            library: path,
            version,
            cuda,
        });
        *loaded = Some(rt.clone());
        Ok(rt)
    }

    pub fn version(&self) -> &str {
        &self.version
    }

    pub fn library(&self) -> &Path {
        &self.library
    }

    /// Whether the loaded library was built with the CUDA provider.
    pub fn has_cuda(&self) -> bool {
        self.cuda
    }

    /// Opens a model. With `Auto`, CUDA is tried when the library has it and the CPU is used
    /// when it fails to start (no GPU, missing CUDA libraries); the returned label says
    /// which provider runs, for the log line and the result.
    pub fn session(
        &self,
        model: &Path,
        settings: &RuntimeSettings,
    ) -> Result<(Session, String), AnalyzeError> {
        let model_err = |e: ort::Error| AnalyzeError::Model {
            path: model.to_path_buf(),
            reason: e.to_string(),
        };
        let threads = settings.threads();
        let builder = || -> Result<_, AnalyzeError> {
            Ok(Session::builder(&self.environment)?
                .with_intra_threads(threads)
                .map_err(ort::Error::from)?
                .with_inter_threads(1)
                .map_err(ort::Error::from)?)
        };
        let want_cuda = match settings.provider {
            Provider::Cpu => false,
            Provider::Auto => self.cuda,
            Provider::Cuda if self.cuda => true,
            Provider::Cuda => {
                return Err(AnalyzeError::Runtime(format!(
                    "the CUDA provider was asked for, but {} was built without it; install \
                     `stackscope models install onnxruntime-gpu`",
                    self.library.display()
                )));
            }
        };
        let mut cuda_failure = None;
        if want_cuda {
            let attempt = builder().and_then(|b| {
                b.with_execution_providers([ort::ep::CUDA::default().build().error_on_failure()])
                    .map_err(|e| AnalyzeError::Runtime(ort::Error::<()>::from(e).to_string()))
            });
            match attempt.and_then(|mut b| b.commit_from_file(model).map_err(model_err)) {
                Ok(session) => {
                    return Ok((session, format!("onnxruntime {} (CUDA)", self.version)));
                }
                Err(e) if settings.provider == Provider::Cuda => return Err(e),
                Err(e) => cuda_failure = Some(e.to_string()),
            }
        }
        let session = builder()?.commit_from_file(model).map_err(model_err)?;
        let plural = if threads == 1 { "" } else { "s" };
        let fallback = cuda_failure
            .map(|why| format!("; CUDA failed: {why}"))
            .unwrap_or_default();
        let label = format!(
            "onnxruntime {} (CPU, {threads} thread{plural}{fallback})",
            self.version
        );
        Ok((session, label))
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}
