//! `stackscope batch analyze INPUTS… --out DIR` and `stackscope batch merge DIR -o table.csv`.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use stackscope::Job;
use stackscope::batch::{self, Event, Made, Shard};

use super::analyze::AnalyzerArgs;
use super::progress::{ProgressDisplay, cancel_on_ctrl_c};

/// The exit code of a batch in which some inputs failed (the others were written).
pub const SOME_FAILED: u8 = 3;

#[derive(Debug, Args)]
pub struct BatchArgs {
    #[command(subcommand)]
    pub command: BatchCommand,
}

#[derive(Debug, Subcommand)]
pub enum BatchCommand {
    /// Run analyzers over many clips: one JSON and one CSV per clip in the output folder,
    /// resumable (a rerun skips clips whose results are complete and current).
    Analyze(Box<BatchAnalyzeArgs>),
    /// Export every input as an MP4 (`<name>.mp4`), with export's options.
    Export(Box<BatchExportArgs>),
    /// Reduce every input to one image (`<name>.npy`, or --format tif/png), with reduce's
    /// options.
    Reduce(Box<BatchReduceArgs>),
    /// Turn every audio file (or video's sound) into a spectrum video (`<name>.mp4`), with
    /// visualize's options.
    Visualize(Box<BatchVisualizeArgs>),
    /// Join the per-clip results of a batch (every shard's) into one CSV table.
    Merge {
        /// The batch's output folder.
        dir: PathBuf,
        /// The table to write.
        #[arg(short, long)]
        output: PathBuf,
        /// Overwrite the table if it exists.
        #[arg(long)]
        force: bool,
    },
}

/// Which inputs, where their outputs go, and which share of them this process takes.
#[derive(Debug, Args)]
pub struct Collection {
    /// Clips, and folders holding them.
    pub inputs: Vec<PathBuf>,

    /// A file listing inputs, one path a line (relative to the list's folder).
    #[arg(long, value_name = "FILE")]
    pub list: Vec<PathBuf>,

    /// Walk the folders' subfolders too.
    #[arg(short, long)]
    pub recursive: bool,

    /// Only files of the folders matching this pattern (`*.mp4`, `**/*.mkv`: ** walks
    /// subfolders).
    #[arg(long, value_name = "PATTERN")]
    pub glob: Option<String>,

    /// The output folder: one result per input, named after it, plus the batch's state
    /// and summary.jsonl.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,

    /// Process the I-th of N shares of the inputs (default: from SLURM_ARRAY_TASK_ID and
    /// SLURM_ARRAY_TASK_COUNT, or JOB_COMPLETION_INDEX and STACKSCOPE_SHARD_COUNT).
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
}

impl Collection {
    fn inputs(&self) -> anyhow::Result<Vec<batch::Input>> {
        Ok(batch::collect(
            &self.inputs,
            &self.list,
            self.recursive,
            self.glob.as_deref(),
            &self.out,
        )?)
    }

    fn shard(&self) -> anyhow::Result<Shard> {
        Ok(match &self.shard {
            Some(s) => Shard::parse(s)?,
            None => Shard::from_env(|k| std::env::var(k).ok())?.unwrap_or(Shard::ALL),
        })
    }
}

#[derive(Debug, Args)]
pub struct BatchAnalyzeArgs {
    #[command(flatten)]
    pub collection: Collection,

    /// Inputs analysed at once, each by analyzers of its own; ONNX and whisper threads are
    /// divided so that jobs × threads does not exceed the cores.
    #[arg(short, long, default_value_t = 1)]
    pub jobs: usize,

    #[command(flatten)]
    pub run: AnalyzerArgs,
}

#[derive(Debug, Args)]
pub struct BatchExportArgs {
    #[command(flatten)]
    pub collection: Collection,

    /// Inputs exported at once (each export uses several threads already).
    #[arg(short, long, default_value_t = 1)]
    pub jobs: usize,

    #[command(flatten)]
    pub how: super::export::ExportHow,
}

#[derive(Debug, Args)]
pub struct BatchReduceArgs {
    #[command(flatten)]
    pub collection: Collection,

    /// Inputs reduced at once.
    #[arg(short, long, default_value_t = 1)]
    pub jobs: usize,

    /// What each result is written as: npy (f32 values), tif, or png (display mapping).
    #[arg(long, default_value = "npy", value_parser = ["npy", "tif", "png"])]
    pub format: String,

    #[command(flatten)]
    pub how: super::analyze_ops::ReduceHow,
}

#[derive(Debug, Args)]
pub struct BatchVisualizeArgs {
    #[command(flatten)]
    pub collection: Collection,

    /// Inputs rendered at once.
    #[arg(short, long, default_value_t = 1)]
    pub jobs: usize,

    #[command(flatten)]
    pub how: super::visualize::VisualHow,
}

pub fn run(args: &BatchArgs) -> anyhow::Result<()> {
    match &args.command {
        BatchCommand::Analyze(a) => run_analyze(a),
        BatchCommand::Export(a) => run_export(a),
        BatchCommand::Reduce(a) => run_reduce(a),
        BatchCommand::Visualize(a) => run_visualize(a),
        BatchCommand::Merge { dir, output, force } => {
            let rows = batch::merge(dir, output, *force)?;
            println!("wrote {} ({rows} rows)", output.display());
            Ok(())
        }
    }
}

/// Some inputs of a batch failed; the exit code says so.
#[derive(Debug, thiserror::Error)]
#[error("{failed} of {inputs} inputs failed (see {summary})")]
pub struct SomeFailed {
    pub failed: usize,
    pub inputs: usize,
    pub summary: String,
}

/// Runs a batch through `go(inputs, shard, job, on_event)` with the progress lines and the
/// closing tally every batch subcommand prints.
fn run_with(
    collection: &Collection,
    go: impl FnOnce(
        &[batch::Input],
        Shard,
        &Job,
        &mut dyn FnMut(Event<'_>),
    ) -> Result<batch::Tally, batch::BatchError>,
) -> anyhow::Result<()> {
    let inputs = collection.inputs()?;
    let shard = collection.shard()?;
    let out = &collection.out;
    let job = Job::new();
    cancel_on_ctrl_c(&job);
    let total = inputs
        .iter()
        .enumerate()
        .filter(|(k, _)| shard.takes(*k))
        .count();
    let started = std::time::Instant::now();
    let mut finished = 0usize;
    let mut failed = 0usize;
    // One bar for the whole batch: inputs finished of this shard's, and the time left.
    let overall = Job::new();
    overall.set_total(total as u64);
    overall.set_message("inputs");
    let _bar = ProgressDisplay::start(&overall);
    let mut on_event = |event: Event<'_>| match event {
        Event::Started { input, .. } => {
            eprintln!("started {}", input.name.display());
        }
        Event::Finished {
            input,
            error,
            elapsed_secs,
        } => {
            finished += 1;
            failed += usize::from(error.is_some());
            overall.advance(1);
            overall.set_message(format!("{} ok, {failed} failed", finished - failed));
            let done = started.elapsed().as_secs_f64();
            let eta = done / finished as f64 * total.saturating_sub(finished) as f64;
            let outcome = match error {
                None => "ok".to_string(),
                Some(e) => format!("failed: {e}"),
            };
            eprintln!(
                "[{finished}/{total}, about {eta:.0} s left] {} {outcome} ({elapsed_secs:.1} s)",
                input.name.display()
            );
        }
    };
    let tally = go(&inputs, shard, &job, &mut on_event)?;
    println!(
        "{} inputs{}: {} done, {} already current, {} failed; results in {}",
        tally.inputs,
        if shard.count > 1 {
            format!(" (shard {}/{})", shard.index, shard.count)
        } else {
            String::new()
        },
        tally.done,
        tally.skipped,
        tally.failed,
        out.display()
    );
    if tally.failed > 0 {
        return Err(SomeFailed {
            failed: tally.failed,
            inputs: tally.inputs,
            summary: out.join("summary*.jsonl").display().to_string(),
        }
        .into());
    }
    Ok(())
}

fn run_analyze(args: &BatchAnalyzeArgs) -> anyhow::Result<()> {
    run_with(&args.collection, |inputs, shard, job, on_event| {
        batch::analyze(
            inputs,
            &args.collection.out,
            shard,
            &args.run.analyzer,
            &args.run.options(),
            &args.run.environment(),
            args.jobs,
            job,
            on_event,
        )
    })
}

/// Runs `work(input, output, job)` on every input of the collection, `jobs` at a time,
/// through the generic batch engine: one output per input, `<name>.<ext>`; `work` returns
/// the input's summary. `command` and `how` (the subcommand's options as given) are the
/// settings: the same flags are the same settings.
fn run_each(
    collection: &Collection,
    jobs: usize,
    (command, how): (&str, &dyn std::fmt::Debug),
    ext: &str,
    work: impl Fn(&batch::Input, &Path, &Job) -> Result<serde_json::Value, String> + Sync,
) -> anyhow::Result<()> {
    let settings = serde_json::json!({ "command": command, "how": format!("{how:?}") });
    // Each worker's encoder gets its share of the cores (thread counts are not settings).
    if jobs > 1 {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        stackscope::media::set_encoder_threads((cores / jobs).max(1));
    }
    let one = |input: &batch::Input, stem: &Path, job: &Job| -> Result<Made, String> {
        let out = batch::with_extension(stem, ext);
        let summary = work(input, &out, job)?;
        Ok(Made {
            outputs: vec![out],
            summary,
        })
    };
    let workers: Vec<_> = (0..jobs.max(1)).map(|_| &one).collect();
    run_with(collection, |inputs, shard, job, on_event| {
        batch::run(
            inputs,
            &collection.out,
            &settings,
            shard,
            job,
            on_event,
            workers,
        )
    })
}

fn run_export(args: &BatchExportArgs) -> anyhow::Result<()> {
    let how = ("export", &args.how as &dyn std::fmt::Debug);
    run_each(
        &args.collection,
        args.jobs,
        how,
        "mp4",
        |input, out, job| {
            let report = super::export::export_one(&input.path, out, &args.how, true, job)
                .map_err(|e| format!("{e:#}"))?;
            Ok(serde_json::json!({
                "frames": report.frames,
                "width": report.width,
                "height": report.height,
                "fps": report.fps,
                "duration_s": report.duration_secs,
            }))
        },
    )
}

fn run_reduce(args: &BatchReduceArgs) -> anyhow::Result<()> {
    // The format is a setting too: it names the outputs.
    let described = (&args.format, &args.how);
    let how = ("reduce", &described as &dyn std::fmt::Debug);
    run_each(
        &args.collection,
        args.jobs,
        how,
        &args.format,
        |input, out, job| {
            let line = super::analyze_ops::reduce_one(&input.path, out, &args.how, true, job)
                .map_err(|e| format!("{e:#}"))?;
            Ok(serde_json::json!({ "wrote": line }))
        },
    )
}

fn run_visualize(args: &BatchVisualizeArgs) -> anyhow::Result<()> {
    // Checked once, before any input: a bad colour is no single input's failure.
    let visual = args.how.settings(true)?;
    let how = ("visualize", &args.how as &dyn std::fmt::Debug);
    run_each(
        &args.collection,
        args.jobs,
        how,
        "mp4",
        |input, out, job| {
            let report = stackscope::audio::visualize(&input.path, out, &visual, job)
                .map_err(|e| e.to_string())?;
            Ok(serde_json::json!({
                "frames": report.frames,
                "video_s": report.video_secs,
                "audio_s": report.audio_secs,
            }))
        },
    )
}
