//! `stackscope analyze CLIP --analyzer NAME[,NAME…] -o result.json [--csv result.csv]`.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use stackscope::Job;
use stackscope::analyze::frames::{DuplicateSkip, Region, Sampling};
use stackscope::analyze::objects::ObjectsSettings;
use stackscope::analyze::ocr::TextOverlaySettings;
use stackscope::analyze::scenes::ScenesSettings;
use stackscope::analyze::{
    self, AnalysisResult, Environment, Provider, RuntimeSettings, SpeechRateSettings, VadSettings,
};

use super::progress::{ProgressDisplay, cancel_on_ctrl_c};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AnalyzerName {
    /// Voice activity: speech segments.
    Vad,
    /// Words per minute, pauses and the transcript.
    SpeechRate,
    /// On-screen text with time spans (OCR).
    #[value(name = "text_overlay", alias = "text-overlay")]
    TextOverlay,
    /// Objects per frame and counts per class (a YOLO detector).
    Objects,
    /// Shot boundaries.
    Scenes,
}

impl AnalyzerName {
    fn name(self) -> &'static str {
        match self {
            Self::Vad => "vad",
            Self::SpeechRate => "speech_rate",
            Self::TextOverlay => "text_overlay",
            Self::Objects => "objects",
            Self::Scenes => "scenes",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProviderArg {
    Auto,
    Cpu,
    Cuda,
}

#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// A video or audio file (vision analyzers also read image folders, `.npy` and TIFF).
    pub clip: PathBuf,

    /// One or more analyzers (repeat or separate with commas); with `scenes` among them,
    /// every other event is tagged with the scene it starts in.
    #[arg(short, long, value_enum, required = true, value_delimiter = ',')]
    pub analyzer: Vec<AnalyzerName>,

    /// Where to write the result as JSON (default: print it); an array when several
    /// analyzers ran.
    #[arg(short, long)]
    pub output: Option<PathBuf>,

    /// Also write the events and series as CSV.
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,

    /// Overwrite the output files if they exist.
    #[arg(long)]
    pub force: bool,

    /// The model cache (default: STACKSCOPE_MODELS, else $XDG_CACHE_HOME/stackscope/models).
    #[arg(long, value_name = "DIR")]
    pub models_dir: Option<PathBuf>,

    /// The ONNX Runtime library (default: STACKSCOPE_ORT_LIB, else the installed one).
    #[arg(long, value_name = "FILE")]
    pub ort_lib: Option<PathBuf>,

    /// Execution provider for ONNX models.
    #[arg(long, value_enum, default_value_t = ProviderArg::Auto)]
    pub provider: ProviderArg,

    /// Threads per ONNX model (0: 1 on machines with ≤ 4 cores).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,

    /// Speech probability at which speech starts (VAD).
    #[arg(long, default_value_t = 0.5)]
    pub threshold: f32,

    /// Shortest speech segment kept, ms.
    #[arg(long, default_value_t = 250, value_name = "MS")]
    pub min_speech_ms: u32,

    /// Shortest pause that ends a segment, ms.
    #[arg(long, default_value_t = 100, value_name = "MS")]
    pub min_silence_ms: u32,

    /// Padding added around each segment, ms.
    #[arg(long, default_value_t = 30, value_name = "MS")]
    pub pad_ms: u32,

    /// Longest segment before it is split, seconds (speech_rate: at most 29; default 28 there,
    /// unlimited for vad).
    #[arg(long, value_name = "SECONDS")]
    pub max_speech: Option<f32>,

    /// A whisper.cpp ggml model (default: the installed whisper-tiny.en).
    #[arg(long, value_name = "FILE")]
    pub whisper_model: Option<PathBuf>,

    /// whisper.cpp threads (0: all cores up to 4).
    #[arg(long, default_value_t = 0)]
    pub whisper_threads: usize,

    /// speech_rate: run whisper over the whole audio instead of only the speech.
    #[arg(long)]
    pub no_vad: bool,

    /// speech_rate: width of the sliding words-per-minute window, seconds.
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
    pub rate_window: f64,

    /// speech_rate: step of the sliding window, seconds.
    #[arg(long, default_value_t = 1.0, value_name = "SECONDS")]
    pub rate_step: f64,

    /// speech_rate: silences between words at least this long are pauses, ms.
    #[arg(long, default_value_t = 250, value_name = "MS")]
    pub min_pause_ms: u32,

    #[command(flatten)]
    pub vision: VisionArgs,
}

/// Options of the analyzers that look at frames.
#[derive(Debug, Args)]
pub struct VisionArgs {
    /// Frames per second to analyse; 0 = every frame (default: 2, scenes every frame).
    #[arg(long, value_name = "FPS")]
    pub fps: Option<f64>,

    /// Analyse from this time on, seconds.
    #[arg(long, default_value_t = 0.0, value_name = "SECONDS")]
    pub start: f64,

    /// Analyse up to this time, seconds.
    #[arg(long, value_name = "SECONDS")]
    pub end: Option<f64>,

    /// Analyse every sampled frame, even when it looks like the last one (text_overlay
    /// skips look-alikes by default).
    #[arg(long, conflicts_with = "skip_duplicates")]
    pub no_skip_duplicates: bool,

    /// Skip look-alike frames (objects does not by default).
    #[arg(long)]
    pub skip_duplicates: bool,

    /// Frames whose 256-bit difference hashes differ by at most this many bits are
    /// look-alikes.
    #[arg(long, default_value_t = 4, value_name = "BITS")]
    pub duplicate_bits: u32,

    /// Hash only this part of the frame, as fractions x,y,w,h (subtitles: 0,0.75,1,0.25).
    #[arg(long, value_name = "X,Y,W,H")]
    pub hash_region: Option<Region>,

    /// text_overlay: longest side of the frame for text detection, pixels (never upscaled).
    #[arg(long, default_value_t = 960, value_name = "PIXELS")]
    pub max_side: usize,

    /// text_overlay: lines read with a lower mean confidence are dropped.
    #[arg(long, default_value_t = 0.5)]
    pub min_text_confidence: f64,

    /// objects: a YOLOv8/YOLO11-format .onnx detector (default: the installed nudenet-320n).
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,

    /// objects: input size, a multiple of 32 (default: the model's).
    #[arg(long, default_value_t = 0, value_name = "PIXELS")]
    pub size: usize,

    /// objects: lowest class score kept.
    #[arg(long, default_value_t = 0.25)]
    pub confidence: f64,

    /// objects: boxes of one class overlapping more than this are one object.
    #[arg(long, default_value_t = 0.45)]
    pub iou: f64,

    /// Frames (objects) or text crops (text_overlay) per inference; 0 sizes it to the provider.
    #[arg(long, default_value_t = 0)]
    pub batch: usize,

    /// scenes: histogram difference (0–1) that makes a cut.
    #[arg(long, default_value_t = 0.35)]
    pub scene_threshold: f64,

    /// scenes: shortest scene, seconds.
    #[arg(long, default_value_t = 0.5, value_name = "SECONDS")]
    pub min_scene: f64,
}

impl VisionArgs {
    fn sampling(&self, default_fps: f64) -> Sampling {
        Sampling {
            fps: self.fps.unwrap_or(default_fps),
            start: self.start,
            end: self.end,
        }
    }

    fn duplicates(&self, default_on: bool) -> DuplicateSkip {
        DuplicateSkip {
            enabled: if default_on {
                !self.no_skip_duplicates
            } else {
                self.skip_duplicates
            },
            threshold: self.duplicate_bits,
            region: self.hash_region,
        }
    }
}

impl AnalyzeArgs {
    pub fn environment(&self) -> Environment {
        Environment {
            store: super::models::store(&self.models_dir),
            runtime: RuntimeSettings {
                library: self.ort_lib.clone(),
                provider: match self.provider {
                    ProviderArg::Auto => Provider::Auto,
                    ProviderArg::Cpu => Provider::Cpu,
                    ProviderArg::Cuda => Provider::Cuda,
                },
                threads: self.threads,
            },
        }
    }

    fn vad(&self, max_default: f32) -> VadSettings {
        VadSettings {
            threshold: self.threshold,
            neg_threshold: None,
            min_speech_ms: self.min_speech_ms,
            min_silence_ms: self.min_silence_ms,
            pad_ms: self.pad_ms,
            max_speech_s: self.max_speech.unwrap_or(max_default),
        }
    }

    pub fn options(&self, analyzer: AnalyzerName) -> anyhow::Result<serde_json::Value> {
        let v = &self.vision;
        Ok(match analyzer {
            AnalyzerName::Vad => serde_json::to_value(self.vad(f32::MAX))?,
            AnalyzerName::SpeechRate => {
                let defaults = SpeechRateSettings::default();
                serde_json::to_value(SpeechRateSettings {
                    vad: self.vad(defaults.vad.max_speech_s),
                    use_vad: !self.no_vad,
                    whisper_model: self.whisper_model.clone(),
                    whisper_threads: self.whisper_threads,
                    window_s: self.rate_window,
                    step_s: self.rate_step,
                    min_pause_ms: self.min_pause_ms,
                })?
            }
            AnalyzerName::TextOverlay => serde_json::to_value(TextOverlaySettings {
                sampling: v.sampling(Sampling::default().fps),
                duplicates: v.duplicates(true),
                max_side: v.max_side,
                min_confidence: v.min_text_confidence,
                batch: v.batch,
                ..TextOverlaySettings::default()
            })?,
            AnalyzerName::Objects => serde_json::to_value(ObjectsSettings {
                sampling: v.sampling(Sampling::default().fps),
                duplicates: v.duplicates(false),
                model: v.model.clone(),
                size: v.size,
                confidence: v.confidence,
                iou: v.iou,
                batch: v.batch,
            })?,
            AnalyzerName::Scenes => serde_json::to_value(ScenesSettings {
                sampling: v.sampling(0.0),
                threshold: v.scene_threshold,
                min_scene: v.min_scene,
            })?,
        })
    }
}

pub fn run(args: &AnalyzeArgs) -> anyhow::Result<()> {
    // Each analyzer once, in the order given.
    let mut names: Vec<AnalyzerName> = Vec::new();
    for &n in &args.analyzer {
        if !names.contains(&n) {
            names.push(n);
        }
    }
    let analyzers = names
        .iter()
        .map(|&n| {
            analyze::by_name(n.name(), args.options(n)?, args.environment()).map_err(Into::into)
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    for path in [&args.output, &args.csv].into_iter().flatten() {
        analyze::check_output(path, &[&args.clip], args.force)?;
    }
    if let (Some(json), Some(csv)) = (&args.output, &args.csv) {
        anyhow::ensure!(json != csv, "-o and --csv name the same file");
    }
    let job = Job::new();
    cancel_on_ctrl_c(&job);
    let results = {
        let _progress = ProgressDisplay::start(&job);
        analyze::run_all(analyzers, &analyze::Source::new(&args.clip), &job)?
    };
    for m in results.iter().flat_map(|r| &r.models) {
        eprintln!("{}: {} on {}", m.name, m.file.display(), m.runtime);
    }
    if let Some(path) = &args.csv {
        analyze::write_results_csv(&results, path, args.force)?;
    }
    match &args.output {
        Some(path) => {
            analyze::write_results_json(&results, path, args.force)?;
            results.iter().for_each(print_summary);
            println!("wrote {}", path.display());
            if let Some(csv) = &args.csv {
                println!("wrote {}", csv.display());
            }
        }
        None => {
            let text = match &results[..] {
                [one] => serde_json::to_string_pretty(one),
                many => serde_json::to_string_pretty(many),
            };
            println!("{}", text.context("serializing the result")?);
        }
    }
    Ok(())
}

fn print_summary(result: &AnalysisResult) {
    println!(
        "{} on {} ({:.2} s of media) took {:.2} s ({:.3}× real time)",
        result.analyzer,
        result.source.display(),
        result.duration,
        result.elapsed,
        result.elapsed / result.duration.max(1e-9)
    );
    for (k, v) in &result.summary {
        let v = match v {
            serde_json::Value::String(s) if s.len() > 100 => {
                format!("{}…", &s[..s.floor_char_boundary(100)])
            }
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        println!("  {k}: {v}");
    }
}
