//! `stackscope analyze CLIP --analyzer NAME -o result.json [--csv result.csv]`.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use stackscope::Job;
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
}

impl AnalyzerName {
    fn name(self) -> &'static str {
        match self {
            Self::Vad => "vad",
            Self::SpeechRate => "speech_rate",
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
    /// A video or audio file.
    pub clip: PathBuf,

    #[arg(short, long, value_enum)]
    pub analyzer: AnalyzerName,

    /// Where to write the result as JSON (default: print it).
    #[arg(short, long)]
    pub output: Option<PathBuf>,

    /// Also write the events and series as CSV.
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,

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

    pub fn options(&self) -> anyhow::Result<serde_json::Value> {
        Ok(match self.analyzer {
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
        })
    }
}

pub fn run(args: &AnalyzeArgs) -> anyhow::Result<()> {
    let mut analyzer = analyze::by_name(args.analyzer.name(), args.options()?, args.environment())?;
    for path in [&args.output, &args.csv].into_iter().flatten() {
        analyze::check_output(path)?;
    }
    let job = Job::new();
    cancel_on_ctrl_c(&job);
    let result = {
        let _progress = ProgressDisplay::start(&job);
        analyzer.run(&analyze::Source::new(&args.clip), &job)?
    };
    for m in &result.models {
        eprintln!("{}: {} on {}", m.name, m.file.display(), m.runtime);
    }
    if let Some(path) = &args.csv {
        result.write_csv_file(path)?;
    }
    match &args.output {
        Some(path) => {
            result.write_json(path)?;
            print_summary(&result);
            println!("wrote {}", path.display());
            if let Some(csv) = &args.csv {
                println!("wrote {}", csv.display());
            }
        }
        None => println!(
            "{}",
            serde_json::to_string_pretty(&result).context("serializing the result")?
        ),
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
