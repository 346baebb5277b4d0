//! `stackscope batch analyze INPUTS… --out DIR` and `stackscope batch merge DIR -o table.csv`.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use stackscope::Job;
use stackscope::analyze;
use stackscope::batch::{self, Event, Made, Shard};

use super::analyze::AnalyzerArgs;
use super::progress::cancel_on_ctrl_c;

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

    #[command(flatten)]
    pub run: AnalyzerArgs,
}

pub fn run(args: &BatchArgs) -> anyhow::Result<()> {
    match &args.command {
        BatchCommand::Analyze(a) => run_analyze(a),
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

fn run_analyze(args: &BatchAnalyzeArgs) -> anyhow::Result<()> {
    let inputs = args.collection.inputs()?;
    let shard = args.collection.shard()?;
    let options = args.run.options();
    let env = args.run.environment();
    // Built once: every clip runs through the same analyzers.
    let mut analyzers = analyze::build(&args.run.analyzer, &options, &env)?;
    let settings = serde_json::json!({
        "command": "analyze",
        "analyzers": analyzers.iter().map(|a| (a.name(), a.settings())).collect::<Vec<_>>(),
    });
    let out = &args.collection.out;
    let job = Job::new();
    cancel_on_ctrl_c(&job);
    let total = inputs
        .iter()
        .enumerate()
        .filter(|(k, _)| shard.takes(*k))
        .count();
    let mut finished = 0usize;
    let tally = batch::run(
        &inputs,
        out,
        &settings,
        shard,
        &job,
        |event| match event {
            Event::Started { input, .. } => {
                eprintln!("[{}/{total}] {}…", finished + 1, input.name.display());
            }
            Event::Finished {
                input,
                error,
                elapsed_secs,
            } => {
                finished += 1;
                match error {
                    None => eprintln!("  {} ok ({elapsed_secs:.1} s)", input.name.display()),
                    Some(e) => eprintln!("  {} failed: {e}", input.name.display()),
                }
            }
        },
        |input, stem, job| {
            let results =
                analyze::run_all_with(&mut analyzers, &analyze::Source::new(&input.path), job)
                    .map_err(|e| e.to_string())?;
            let json = with_extension(stem, "json");
            let csv = with_extension(stem, "csv");
            analyze::write_results_json(&results, &json, true).map_err(|e| e.to_string())?;
            analyze::write_results_csv(&results, &csv, true).map_err(|e| e.to_string())?;
            let summary = results
                .iter()
                .map(|r| (r.analyzer.to_string(), serde_json::json!(r.summary)))
                .collect::<serde_json::Map<_, _>>();
            Ok(Made {
                outputs: vec![json, csv],
                summary: summary.into(),
            })
        },
    )?;
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

/// `clip.mp4` → `clip.mp4.json`: the input's extension stays, so `clip.mp4` and `clip.mkv`
/// do not share results.
fn with_extension(stem: &Path, ext: &str) -> PathBuf {
    let mut name = stem.as_os_str().to_owned();
    name.push(".");
    name.push(ext);
    PathBuf::from(name)
}
