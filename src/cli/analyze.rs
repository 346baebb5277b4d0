//! `stackscope analyze CLIP --analyzer NAME[,NAME…] -o result.json [--csv result.csv]`.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use stackscope::Job;
use stackscope::analyze::frames::Region;
use stackscope::analyze::{
    self, AnalysisResult, AnalyzerName, AnalyzerOptions, Environment, Provider, RuntimeSettings,
};

use super::progress::{ProgressDisplay, cancel_on_ctrl_c};

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

    /// Where to write the result as JSON (default: print it); an array when several
    /// analyzers ran.
    #[arg(short, long)]
    pub output: Option<PathBuf>,

    /// Also write the events and series as CSV.
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,

    /// Also write the storyboard as one self-contained HTML page (needs `-a storyboard`).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,

    /// Overwrite the output files if they exist.
    #[arg(long)]
    pub force: bool,

    #[command(flatten)]
    pub run: AnalyzerArgs,
}

/// `stackscope report RESULTS.json -o report.html`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Results holding a storyboard, as `analyze -o` or a batch wrote them.
    pub results: PathBuf,

    /// The HTML page to write.
    #[arg(short, long)]
    pub output: PathBuf,

    /// Overwrite the output if it exists.
    #[arg(long)]
    pub force: bool,
}

/// Which analyzers run, and how: shared by `analyze` and `batch analyze`.
#[derive(Debug, Args)]
pub struct AnalyzerArgs {
    /// One or more analyzers (repeat or separate with commas); with `scenes` among them,
    /// every other event is tagged with the scene it starts in.
    #[arg(
        short,
        long,
        required = true,
        value_delimiter = ',',
        value_parser = super::named::<AnalyzerName>()
    )]
    pub analyzer: Vec<AnalyzerName>,

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
    #[arg(long = "vad-threshold", alias = "threshold", default_value_t = 0.5)]
    pub vad_threshold: f32,

    /// Shortest speech segment kept, ms.
    #[arg(long, default_value_t = 250, value_name = "MS")]
    pub min_speech_ms: u32,

    /// Shortest pause that ends a segment, ms.
    #[arg(long, default_value_t = 100, value_name = "MS")]
    pub min_silence_ms: u32,

    /// Padding added around each segment, ms.
    #[arg(long, default_value_t = 30, value_name = "MS")]
    pub pad_ms: u32,

    /// Longest segment before it is split, in seconds (speech_rate: at most 29; default 28
    /// there, unlimited for vad).
    #[arg(long, value_name = "SECONDS")]
    pub max_speech: Option<f32>,

    /// speech_rate: the whisper model, an installed one by name (whisper-base,
    /// whisper-tiny.en) or a whisper.cpp ggml file (default: whisper-base).
    #[arg(long, value_name = "NAME|FILE")]
    pub whisper_model: Option<PathBuf>,

    /// speech_rate: the spoken language as an ISO 639-1 code (de, en, fr, …), or auto to
    /// let whisper detect it once per clip.
    #[arg(long, default_value = "auto", value_name = "auto|CODE")]
    pub language: String,

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
    /// Frames per second text_overlay and objects analyse; 0 = every frame.
    #[arg(
        long = "sample-fps",
        alias = "fps",
        default_value_t = 2.0,
        value_name = "FPS"
    )]
    pub sample_fps: f64,

    /// Frames per second scenes analyses; 0 = every frame.
    #[arg(long, default_value_t = 0.0, value_name = "FPS")]
    pub scene_fps: f64,

    /// Analyse from this time on, in seconds.
    #[arg(long, default_value_t = 0.0, value_name = "SECONDS")]
    pub start: f64,

    /// Analyse up to this time, in seconds.
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

    /// text_overlay: the OCR model, ppocr-v6 (Latin scripts with ä ö ü ß é ç ñ ł ş …, Greek,
    /// Chinese, Japanese) or ppocr-v4 (Chinese and English, no ö or ß).
    #[arg(long, default_value = "ppocr-v6", value_name = "NAME")]
    pub ocr_model: String,

    /// objects: the detector, an installed one by name (ssdlite-person, nudenet-320n) or a
    /// YOLOv8/YOLO11-format .onnx file (default: ssdlite-person).
    #[arg(long, value_name = "NAME|FILE")]
    pub model: Option<PathBuf>,

    /// objects: the detector's input size in pixels, a multiple of 32 (0: the model's).
    #[arg(
        long = "input-size",
        alias = "size",
        default_value_t = 0,
        value_name = "PIXELS"
    )]
    pub input_size: usize,

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

    /// scenes: shortest scene, in seconds.
    #[arg(long, default_value_t = 0.5, value_name = "SECONDS")]
    pub min_scene: f64,

    /// storyboard: the language of the summary lines, auto (the spoken language where the
    /// template has it, else English), en or de.
    #[arg(long, default_value = "auto", value_name = "auto|en|de")]
    pub summary_language: String,
}

impl AnalyzerArgs {
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

    /// The options as the core takes them (the window fills in the same struct).
    pub fn options(&self) -> AnalyzerOptions {
        let v = &self.vision;
        AnalyzerOptions {
            vad_threshold: self.vad_threshold,
            min_speech_ms: self.min_speech_ms,
            min_silence_ms: self.min_silence_ms,
            pad_ms: self.pad_ms,
            max_speech_s: self.max_speech,
            whisper_model: self.whisper_model.clone(),
            language: self.language.clone(),
            whisper_threads: self.whisper_threads,
            use_vad: !self.no_vad,
            rate_window_s: self.rate_window,
            rate_step_s: self.rate_step,
            min_pause_ms: self.min_pause_ms,
            sample_fps: v.sample_fps,
            scene_fps: v.scene_fps,
            start_s: v.start,
            end_s: v.end,
            skip_duplicates: if v.no_skip_duplicates {
                Some(false)
            } else if v.skip_duplicates {
                Some(true)
            } else {
                None
            },
            duplicate_bits: v.duplicate_bits,
            hash_region: v.hash_region,
            max_side: v.max_side,
            min_text_confidence: v.min_text_confidence,
            ocr_model: v.ocr_model.clone(),
            model: v.model.clone(),
            input_size: v.input_size,
            confidence: v.confidence,
            iou: v.iou,
            batch: v.batch,
            scene_threshold: v.scene_threshold,
            min_scene_s: v.min_scene,
            summary_language: v.summary_language.clone(),
        }
    }
}

/// Old spellings still accepted, and what to write instead.
const RENAMED: &[(&str, &str)] = &[
    (
        "--fps",
        "--sample-fps (it no longer applies to scenes: see --scene-fps)",
    ),
    ("--size", "--input-size"),
    ("--threshold", "--vad-threshold"),
];

pub fn run(args: &AnalyzeArgs) -> anyhow::Result<()> {
    for note in super::renamed_flags(RENAMED, std::env::args().skip(1)) {
        eprintln!("{note}");
    }
    let analyzers = analyze::build(
        &args.run.analyzer,
        &args.run.options(),
        &args.run.environment(),
    )?;
    anyhow::ensure!(
        args.html.is_none() || args.run.analyzer.contains(&AnalyzerName::Storyboard),
        "--html writes the storyboard's report: add -a storyboard"
    );
    let outputs: Vec<&PathBuf> = [&args.output, &args.csv, &args.html]
        .into_iter()
        .flatten()
        .collect();
    for (k, path) in outputs.iter().enumerate() {
        analyze::check_output(path, &[&args.clip], args.force)?;
        anyhow::ensure!(
            !outputs[..k].contains(path),
            "{} is named as two outputs",
            path.display()
        );
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
    if let Some(path) = &args.html {
        analyze::storyboard::write_report(&results, path, args.force)?;
    }
    match &args.output {
        Some(path) => {
            analyze::write_results_json(&results, path, args.force)?;
            results.iter().for_each(print_summary);
            println!("wrote {}", path.display());
            for extra in [&args.csv, &args.html].into_iter().flatten() {
                println!("wrote {}", extra.display());
            }
        }
        None => {
            let text = match &results[..] {
                [one] => serde_json::to_string_pretty(one),
                many => serde_json::to_string_pretty(many),
            };
            println!("{}", text.context("serializing the result")?);
            if let Some(html) = &args.html {
                eprintln!("wrote {}", html.display());
            }
        }
    }
    Ok(())
}

pub fn report(args: &ReportArgs) -> anyhow::Result<()> {
    analyze::check_output(&args.output, &[&args.results], args.force)?;
    let results = analyze::read_results_json(&args.results)?;
    analyze::storyboard::write_report(&results, &args.output, args.force)?;
    println!("wrote {}", args.output.display());
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_flag_spellings_get_a_note_and_new_ones_none() {
        let args = |a: &[&str]| {
            a.iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .into_iter()
        };
        let notes = super::super::renamed_flags(
            RENAMED,
            args(&["analyze", "c.mp4", "--fps", "1", "--size=640"]),
        );
        assert_eq!(notes.len(), 2);
        assert!(notes[0].contains("--sample-fps") && notes[1].contains("--input-size"));
        let new = args(&["analyze", "c.mp4", "--sample-fps", "1"]);
        assert!(super::super::renamed_flags(RENAMED, new).is_empty());
    }
}
