//! Many inputs through one command, resumable and shardable.
//!
//! [`collect`] turns folders (optionally recursive, with a glob), list files and paths into
//! [`Input`]s, each with the name its outputs take in the output folder (its path relative to
//! the folder it was found in, so two `clip.mp4` in different folders do not collide).
//! [`run`] hands every input of this [`Shard`] to a worker and keeps a state file in the
//! output folder: per input its identity (size, modification time), a hash of the settings,
//! the outcome and each output's size and SHA-256. Run again, it skips inputs whose outputs
//! are complete and current, and redoes those that failed, changed, or lost an output. One
//! failing input is recorded and the batch goes on. Shards write state and summary files of
//! their own, merged on read, so cluster tasks sharing the folder never write the same file.
//! [`merge`] joins the per-input analyzer results into one table.
//!
//! This module knows nothing of the command line or the window.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::analyze::result::csv_field;
use crate::job::Job;

/// Why a batch could not run (a failing input is not an error of the batch).
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    #[error("{}: {cause}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        cause: std::io::Error,
    },

    #[error("no inputs: {0}")]
    NoInputs(String),

    #[error(
        "{} and {} would write the same outputs ({}); rename one or run them apart",
        .first.display(), .second.display(), .name.display()
    )]
    SameName {
        first: PathBuf,
        second: PathBuf,
        name: PathBuf,
    },

    #[error(
        "{}: is both an input folder and the output folder; results would be taken for \
         inputs the next time. Give another output folder",
        .0.display()
    )]
    OutputIsInput(PathBuf),

    #[error("shard '{0}' must be I/N with 0 ≤ I < N")]
    Shard(String),

    #[error(transparent)]
    Output(#[from] crate::output::OutputError),

    #[error(transparent)]
    Analyze(#[from] crate::analyze::AnalyzeError),

    #[error("cancelled")]
    Cancelled,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BatchError + '_ {
    move |cause| BatchError::Io {
        path: path.to_path_buf(),
        cause,
    }
}

/// One input of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    pub path: PathBuf,
    /// Where its outputs go, relative to the output folder (extension added by the worker).
    pub name: PathBuf,
}

/// Whether `name` (a `/`-separated relative path) matches `pattern`: `*` and `?` within a
/// component, `**` for any number of components.
pub fn glob_matches(pattern: &str, name: &str) -> bool {
    fn component(p: &[u8], s: &[u8]) -> bool {
        match (p.first(), s.first()) {
            (None, None) => true,
            (Some(b'*'), _) => component(&p[1..], s) || (!s.is_empty() && component(p, &s[1..])),
            (Some(b'?'), Some(_)) => component(&p[1..], &s[1..]),
            (Some(a), Some(b)) if a == b => component(&p[1..], &s[1..]),
            _ => false,
        }
    }
    fn parts(p: &[&str], s: &[&str]) -> bool {
        match (p.first(), s.first()) {
            (None, None) => true,
            (Some(&"**"), _) => parts(&p[1..], s) || (!s.is_empty() && parts(p, &s[1..])),
            (Some(a), Some(b)) => component(a.as_bytes(), b.as_bytes()) && parts(&p[1..], &s[1..]),
            _ => false,
        }
    }
    let p: Vec<&str> = pattern.split('/').filter(|c| !c.is_empty()).collect();
    let s: Vec<&str> = name.split('/').filter(|c| !c.is_empty()).collect();
    parts(&p, &s)
}

/// The files of `dir` (of its subfolders too when `recursive`), hidden ones and the folder
/// `skip` (a batch's own output folder) left out, as paths relative to `dir`.
fn walk(dir: &Path, recursive: bool, skip: Option<&Path>) -> Result<Vec<PathBuf>, BatchError> {
    let mut found = Vec::new();
    let mut pending = vec![PathBuf::new()];
    while let Some(rel) = pending.pop() {
        let here = dir.join(&rel);
        for entry in std::fs::read_dir(&here).map_err(io(&here))? {
            let entry = entry.map_err(io(&here))?;
            let name = entry.file_name();
            if name.to_string_lossy().starts_with('.') {
                continue;
            }
            let path = rel.join(&name);
            let kind = entry.file_type().map_err(io(&here))?;
            let is_skipped =
                || skip.is_some_and(|s| std::fs::canonicalize(entry.path()).is_ok_and(|p| p == s));
            if kind.is_dir() || (kind.is_symlink() && entry.path().is_dir()) {
                if is_skipped() {
                    continue;
                }
                if recursive {
                    pending.push(path);
                }
            } else {
                found.push(path);
            }
        }
    }
    Ok(found)
}

/// The inputs named by `paths` (files, and folders walked for files matching `pattern`, all
/// files when none) and by the lines of `lists` (one path a line, relative to the list's
/// folder; empty lines and `#` comments skipped), sorted by name. The output folder
/// `out_dir` is never walked, so results do not become inputs.
pub fn collect(
    paths: &[PathBuf],
    lists: &[PathBuf],
    recursive: bool,
    pattern: Option<&str>,
    out_dir: &Path,
) -> Result<Vec<Input>, BatchError> {
    let mut inputs = Vec::new();
    let skip = std::fs::canonicalize(out_dir).ok();
    for path in paths {
        if path.is_dir() {
            if skip.is_some() && std::fs::canonicalize(path).ok() == skip {
                return Err(BatchError::OutputIsInput(path.clone()));
            }
            let deep = recursive || pattern.is_some_and(|p| p.contains("**"));
            for rel in walk(path, deep, skip.as_deref())? {
                let text = rel.to_string_lossy().replace('\\', "/");
                if pattern.is_none_or(|p| glob_matches(p, &text)) {
                    inputs.push(Input {
                        path: path.join(&rel),
                        name: rel,
                    });
                }
            }
        } else {
            let name = path.file_name().map(PathBuf::from).unwrap_or_default();
            inputs.push(Input {
                path: path.clone(),
                name,
            });
        }
    }
    for list in lists {
        let base = list.parent().unwrap_or(Path::new("."));
        let file = File::open(list).map_err(io(list))?;
        for line in BufReader::new(file).lines() {
            let line = line.map_err(io(list))?;
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let given = PathBuf::from(line);
            let name = if given.is_absolute() {
                given.file_name().map(PathBuf::from).unwrap_or_default()
            } else {
                given.clone()
            };
            inputs.push(Input {
                path: base.join(&given),
                name,
            });
        }
    }
    inputs.sort_by(|a, b| a.name.cmp(&b.name).then(a.path.cmp(&b.path)));
    inputs.dedup_by(|a, b| a.path == b.path);
    for pair in inputs.windows(2) {
        if pair[0].name == pair[1].name {
            return Err(BatchError::SameName {
                first: pair[0].path.clone(),
                second: pair[1].path.clone(),
                name: pair[0].name.clone(),
            });
        }
    }
    if inputs.is_empty() {
        return Err(BatchError::NoInputs(
            "the folders hold no matching files and no paths were given".into(),
        ));
    }
    Ok(inputs)
}

/// The I-th of N deterministic shares of a collection: input `k` (in name order) belongs to
/// shard `k mod N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// Every input.
    pub const ALL: Self = Self { index: 0, count: 1 };

    /// `I/N`.
    pub fn parse(s: &str) -> Result<Self, BatchError> {
        let bad = || BatchError::Shard(s.to_string());
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count) = (
            i.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        Self::new(index, count).ok_or_else(bad)
    }

    pub fn new(index: usize, count: usize) -> Option<Self> {
        (count > 0 && index < count).then_some(Self { index, count })
    }

    /// The shard a scheduler gave this process: a Slurm job array
    /// (`SLURM_ARRAY_TASK_ID` of `SLURM_ARRAY_TASK_COUNT`, counted from
    /// `SLURM_ARRAY_TASK_MIN`) or a Kubernetes Indexed Job (`JOB_COMPLETION_INDEX` of
    /// `STACKSCOPE_SHARD_COUNT`); `None` outside either.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Option<Self>, BatchError> {
        let number = |name: &str| -> Result<Option<usize>, BatchError> {
            var(name)
                .map(|v| {
                    v.trim()
                        .parse::<usize>()
                        .map_err(|_| BatchError::Shard(format!("{name}={v}")))
                })
                .transpose()
        };
        if let (Some(id), Some(count)) = (
            number("SLURM_ARRAY_TASK_ID")?,
            number("SLURM_ARRAY_TASK_COUNT")?,
        ) {
            let min = number("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
            let index = id.checked_sub(min).ok_or_else(|| {
                BatchError::Shard(format!("SLURM_ARRAY_TASK_ID={id} below its minimum {min}"))
            })?;
            return Self::new(index, count)
                .map(Some)
                .ok_or_else(|| BatchError::Shard(format!("{index}/{count} from Slurm")));
        }
        if let Some(index) = number("JOB_COMPLETION_INDEX")? {
            let count = number("STACKSCOPE_SHARD_COUNT")?.ok_or_else(|| {
                BatchError::Shard(
                    "JOB_COMPLETION_INDEX is set: give the job's completions as \
                     STACKSCOPE_SHARD_COUNT"
                        .into(),
                )
            })?;
            return Self::new(index, count)
                .map(Some)
                .ok_or_else(|| BatchError::Shard(format!("{index}/{count} from Kubernetes")));
        }
        Ok(None)
    }

    pub fn takes(&self, position: usize) -> bool {
        position % self.count == self.index
    }

    /// The suffix of this shard's own files (none when there is one shard).
    fn tag(&self) -> String {
        if self.count == 1 {
            String::new()
        } else {
            format!("-{}-of-{}", self.index, self.count)
        }
    }
}

/// What one input's run left behind, as the state file keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub input: PathBuf,
    pub path: PathBuf,
    pub size: u64,
    pub mtime_ns: u128,
    pub settings: String,
    pub ok: bool,
    pub error: Option<String>,
    pub outputs: Vec<Stamp>,
    #[serde(rename = "elapsed_s")]
    pub elapsed_secs: f64,
    /// When it finished, ns since the epoch: the latest record of an input wins.
    pub finished_ns: u128,
}

/// An output file as it was written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    /// Relative to the output folder.
    pub path: PathBuf,
    pub size: u64,
    pub sha256: String,
}

fn now_ns() -> u128 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

fn identity(path: &Path) -> std::io::Result<(u64, u128)> {
    let meta = std::fs::metadata(path)?;
    let mtime = meta
        .modified()?
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    Ok((meta.len(), mtime))
}

/// A short digest of settings (any JSON).
pub fn settings_hash(settings: &serde_json::Value) -> String {
    let digest = Sha256::digest(serde_json::to_vec(settings).unwrap_or_default());
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// The latest record of every input, from all state files (every shard's) of `out_dir`.
pub fn read_state(out_dir: &Path) -> Result<BTreeMap<PathBuf, Record>, BatchError> {
    let mut latest: BTreeMap<PathBuf, Record> = BTreeMap::new();
    for record in read_records(out_dir)? {
        if latest
            .get(&record.input)
            .is_none_or(|r| r.finished_ns <= record.finished_ns)
        {
            latest.insert(record.input.clone(), record);
        }
    }
    Ok(latest)
}

/// The latest record of every input under every settings hash: two commands (or settings)
/// sharing an output folder keep their own records.
fn read_state_by_settings(
    out_dir: &Path,
) -> Result<BTreeMap<(PathBuf, String), Record>, BatchError> {
    let mut latest: BTreeMap<(PathBuf, String), Record> = BTreeMap::new();
    for record in read_records(out_dir)? {
        let key = (record.input.clone(), record.settings.clone());
        if latest
            .get(&key)
            .is_none_or(|r| r.finished_ns <= record.finished_ns)
        {
            latest.insert(key, record);
        }
    }
    Ok(latest)
}

/// Every record of every state file of `out_dir`, in no particular order.
fn read_records(out_dir: &Path) -> Result<Vec<Record>, BatchError> {
    let mut records = Vec::new();
    let read = match std::fs::read_dir(out_dir) {
        Ok(read) => read,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(records),
        Err(e) => return Err(io(out_dir)(e)),
    };
    for entry in read.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !(name.starts_with("state") && name.ends_with(".jsonl")) {
            continue;
        }
        let file = File::open(entry.path()).map_err(io(&entry.path()))?;
        // A line cut short by a crash is skipped: its input simply runs again.
        records.extend(
            BufReader::new(file)
                .lines()
                .map_while(Result::ok)
                .filter_map(|line| serde_json::from_str::<Record>(&line).ok()),
        );
    }
    Ok(records)
}

/// Whether `record` says `input`'s outputs are complete and current for `settings`.
fn is_current(record: &Record, input: &Input, settings: &str, out_dir: &Path) -> bool {
    let Ok((size, mtime)) = identity(&input.path) else {
        return false;
    };
    record.ok
        && record.size == size
        && record.mtime_ns == mtime
        && record.settings == settings
        && !record.outputs.is_empty()
        && record.outputs.iter().all(|o| {
            let path = out_dir.join(&o.path);
            crate::analyze::models::sha256_file(&path)
                .is_ok_and(|(hash, size)| size == o.size && hash == o.sha256)
        })
}

/// What a batch run did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Tally {
    /// Inputs of this shard.
    pub inputs: usize,
    pub done: usize,
    /// Complete and current from an earlier run.
    pub skipped: usize,
    pub failed: usize,
    /// Input name and error of every failure.
    pub failures: Vec<(PathBuf, String)>,
}

/// What a worker made of one input: the files it wrote (absolute paths inside the output
/// folder) and a summary for `summary.jsonl`.
pub struct Made {
    pub outputs: Vec<PathBuf>,
    pub summary: serde_json::Value,
}

/// Events of a batch run, for progress displays.
pub enum Event<'a> {
    Started {
        position: usize,
        input: &'a Input,
    },
    Finished {
        input: &'a Input,
        error: Option<&'a str>,
        elapsed_secs: f64,
    },
}

/// Runs a worker on every input of `shard` whose outputs are not complete and current:
/// `worker(input, stem, job)`, where `stem` is `out_dir/name` (the worker adds extensions).
/// Each worker runs on a thread of its own and takes the next input when it is done, so
/// `workers.len()` inputs run at once, each worker keeping what it loaded (models) from one
/// input to the next. Records each outcome as it comes; a cancelled job stops the batch
/// without recording the inputs it was on, so the next run starts with them.
pub fn run<W>(
    inputs: &[Input],
    out_dir: &Path,
    settings: &serde_json::Value,
    shard: Shard,
    job: &Job,
    mut on_event: impl FnMut(Event<'_>),
    workers: Vec<W>,
) -> Result<Tally, BatchError>
where
    W: FnMut(&Input, &Path, &Job) -> Result<Made, String> + Send,
{
    std::fs::create_dir_all(out_dir).map_err(io(out_dir))?;
    let settings = settings_hash(settings);
    let state = read_state_by_settings(out_dir)?;
    let tag = shard.tag();
    let state_path = out_dir.join(format!("state{tag}.jsonl"));
    let summary_path = out_dir.join(format!("summary{tag}.jsonl"));
    let append = |path: &Path| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(io(path))
    };
    let mut state_file = append(&state_path)?;
    let mut summary_file = append(&summary_path)?;
    let mut tally = Tally::default();
    let mine: Vec<&Input> = inputs
        .iter()
        .enumerate()
        .filter(|(k, _)| shard.takes(*k))
        .map(|(_, input)| input)
        .collect();
    tally.inputs = mine.len();
    let mut pending = std::collections::VecDeque::new();
    for input in mine {
        if state
            .get(&(input.name.clone(), settings.clone()))
            .is_some_and(|r| is_current(r, input, &settings, out_dir))
        {
            tally.skipped += 1;
        } else {
            pending.push_back(input);
        }
    }
    for input in &pending {
        let stem = out_dir.join(&input.name);
        if let Some(parent) = stem.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
    }
    let queue = std::sync::Mutex::new(pending);
    let next = || {
        queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .pop_front()
    };
    // Workers report here: started, or finished with the outcome.
    enum Report<'a> {
        Started(&'a Input),
        Finished(
            &'a Input,
            std::io::Result<(u64, u128)>,
            Result<Made, String>,
            f64,
        ),
    }
    let (sender, receiver) = std::sync::mpsc::channel::<Report<'_>>();
    let mut failure: Option<BatchError> = None;
    std::thread::scope(|scope| {
        for mut worker in workers {
            let sender = sender.clone();
            let next = &next;
            scope.spawn(move || {
                while !job.is_cancelled()
                    && let Some(input) = next()
                {
                    let _ = sender.send(Report::Started(input));
                    let started = Instant::now();
                    let identity = identity(&input.path);
                    let outcome = match &identity {
                        Err(e) => Err(format!("{}: {e}", input.path.display())),
                        Ok(_) => worker(input, &out_dir.join(&input.name), job),
                    };
                    let elapsed = started.elapsed().as_secs_f64();
                    if sender
                        .send(Report::Finished(input, identity, outcome, elapsed))
                        .is_err()
                    {
                        break;
                    }
                }
            });
        }
        drop(sender);
        let mut position = 0;
        for report in receiver {
            let (input, identity, outcome, elapsed_secs) = match report {
                Report::Started(input) => {
                    on_event(Event::Started { position, input });
                    position += 1;
                    continue;
                }
                Report::Finished(input, identity, outcome, elapsed) => {
                    (input, identity, outcome, elapsed)
                }
            };
            // A cancelled input's outcome is not an outcome: it runs again next time.
            if job.is_cancelled() || failure.is_some() {
                continue;
            }
            let recorded = record(
                input,
                identity,
                outcome,
                elapsed_secs,
                &settings,
                out_dir,
                (&mut state_file, &state_path),
                (&mut summary_file, &summary_path),
            );
            match recorded {
                Ok(error) => {
                    on_event(Event::Finished {
                        input,
                        error: error.as_deref(),
                        elapsed_secs,
                    });
                    match error {
                        None => tally.done += 1,
                        Some(e) => {
                            tally.failed += 1;
                            tally.failures.push((input.name.clone(), e));
                        }
                    }
                }
                Err(e) => {
                    // The state cannot be written: stop handing out inputs.
                    failure = Some(e);
                    queue
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .clear();
                }
            }
        }
    });
    if let Some(e) = failure {
        return Err(e);
    }
    state_file.sync_data().map_err(io(&state_path))?;
    if job.is_cancelled() {
        return Err(BatchError::Cancelled);
    }
    Ok(tally)
}

/// Appends an input's record to the state and its line to the summary; returns the input's
/// error, if it failed.
#[allow(clippy::too_many_arguments)] // One call site; the pairs keep file and name together.
fn record(
    input: &Input,
    identity: std::io::Result<(u64, u128)>,
    outcome: Result<Made, String>,
    elapsed_secs: f64,
    settings: &str,
    out_dir: &Path,
    (state_file, state_path): (&mut File, &Path),
    (summary_file, summary_path): (&mut File, &Path),
) -> Result<Option<String>, BatchError> {
    let (size, mtime_ns) = identity.unwrap_or((0, 0));
    let (outputs, error, summary) = match outcome {
        Ok(made) => {
            let stamps: Result<Vec<Stamp>, String> = made
                .outputs
                .iter()
                .map(|path| {
                    let stamp = |p: &Path| -> std::io::Result<Stamp> {
                        let (sha256, size) = crate::analyze::models::sha256_file(p)?;
                        Ok(Stamp {
                            path: p.strip_prefix(out_dir).unwrap_or(p).to_path_buf(),
                            size,
                            sha256,
                        })
                    };
                    stamp(path).map_err(|e| format!("{}: {e}", path.display()))
                })
                .collect();
            match stamps {
                Ok(s) => (s, None, made.summary),
                Err(e) => (Vec::new(), Some(e), serde_json::Value::Null),
            }
        }
        Err(e) => (Vec::new(), Some(e), serde_json::Value::Null),
    };
    let record = Record {
        input: input.name.clone(),
        path: input.path.clone(),
        size,
        mtime_ns,
        settings: settings.to_string(),
        ok: error.is_none(),
        error,
        outputs,
        elapsed_secs,
        finished_ns: now_ns(),
    };
    let line = serde_json::to_string(&record).unwrap_or_default();
    writeln!(state_file, "{line}").map_err(io(state_path))?;
    let summary_line = serde_json::json!({
        "input": record.input,
        "path": record.path,
        "outcome": if record.ok { "ok" } else { "failed" },
        "error": record.error,
        "elapsed_s": record.elapsed_secs,
        "summary": summary,
    });
    writeln!(summary_file, "{summary_line}").map_err(io(summary_path))?;
    Ok(record.error)
}

/// Runs the analyzers `names` over `inputs` (this shard's share) into `out_dir`: per input
/// `<name>.json` and `<name>.csv`, resumable as [`run`] is. `jobs` workers each build the
/// analyzers once and keep their models from clip to clip; ONNX and whisper threads left at
/// 0 (automatic) are divided so that jobs × threads does not exceed the cores. The command
/// line and the window both run batches through here.
#[allow(clippy::too_many_arguments)] // The batch's what, where and how, as the callers hold them.
pub fn analyze(
    inputs: &[Input],
    out_dir: &Path,
    shard: Shard,
    names: &[crate::analyze::AnalyzerName],
    options: &crate::analyze::AnalyzerOptions,
    env: &crate::analyze::Environment,
    jobs: usize,
    job: &Job,
    on_event: impl FnMut(Event<'_>),
) -> Result<Tally, BatchError> {
    use crate::analyze;
    let jobs = jobs.max(1);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per_job = (cores / jobs).max(1);
    let (mut options, mut env) = (options.clone(), env.clone());
    if env.runtime.threads == 0 {
        env.runtime.threads = per_job;
    }
    if options.whisper_threads == 0 {
        options.whisper_threads = per_job;
    }
    let mut sets = Vec::with_capacity(jobs);
    for _ in 0..jobs {
        sets.push(analyze::build(names, &options, &env)?);
    }
    // Thread counts change how fast, not what: they are not part of the settings.
    let settings = serde_json::json!({
        "command": "analyze",
        "analyzers": sets[0].iter().map(|a| (a.name(), a.settings())).collect::<Vec<_>>(),
    });
    let workers: Vec<_> = sets
        .into_iter()
        .map(|mut analyzers| {
            move |input: &Input, stem: &Path, job: &Job| {
                analyze_one(&mut analyzers, input, stem, job)
            }
        })
        .collect();
    run(inputs, out_dir, &settings, shard, job, on_event, workers)
}

/// Runs the analyzers on one input and writes its JSON and CSV beside `stem` (and the
/// storyboard's HTML report when one ran).
fn analyze_one(
    analyzers: &mut [Box<dyn crate::analyze::Analyzer>],
    input: &Input,
    stem: &Path,
    job: &Job,
) -> Result<Made, String> {
    use crate::analyze;
    let results = analyze::run_all_with(analyzers, &analyze::Source::new(&input.path), job)
        .map_err(|e| e.to_string())?;
    let json = with_extension(stem, "json");
    let csv = with_extension(stem, "csv");
    analyze::write_results_json(&results, &json, true).map_err(|e| e.to_string())?;
    analyze::write_results_csv(&results, &csv, true).map_err(|e| e.to_string())?;
    let mut outputs = vec![json, csv];
    // A storyboard comes with its report, as `analyze --html` writes it.
    if results.iter().any(|r| r.analyzer == "storyboard") {
        let html = with_extension(stem, "html");
        analyze::storyboard::write_report(&results, &html, true).map_err(|e| e.to_string())?;
        outputs.push(html);
    }
    let summary = results
        .iter()
        .map(|r| (r.analyzer.to_string(), serde_json::json!(r.summary)))
        .collect::<serde_json::Map<_, _>>();
    Ok(Made {
        outputs,
        summary: summary.into(),
    })
}

/// `clip.mp4` → `clip.mp4.json`: the input's extension stays, so `clip.mp4` and `clip.mkv`
/// do not share results.
pub fn with_extension(stem: &Path, ext: &str) -> PathBuf {
    let mut name = stem.as_os_str().to_owned();
    name.push(".");
    name.push(ext);
    PathBuf::from(name)
}

/// Joins the analyzer results of every input whose last run succeeded (from every shard's
/// state) into one CSV at `table`: one row per event (the input's name first, then the
/// per-clip CSV's columns) and one row per input and analyzer with its summary as JSON.
/// Rows are in name order, so a sharded run merges to the same table as an unsharded one.
pub fn merge(out_dir: &Path, table: &Path, overwrite: bool) -> Result<usize, BatchError> {
    // Per input, its latest successful analysis (an export or reduce batch may share the
    // folder; their records hold no results).
    let is_analysis = |r: &Record| {
        r.ok && r.outputs.iter().any(|o| {
            o.path
                .extension()
                .is_some_and(|e| e == "csv" || e == "json")
        })
    };
    let mut latest: BTreeMap<PathBuf, Record> = BTreeMap::new();
    for record in read_records(out_dir)?.into_iter().filter(is_analysis) {
        if latest
            .get(&record.input)
            .is_none_or(|r| r.finished_ns <= record.finished_ns)
        {
            latest.insert(record.input.clone(), record);
        }
    }
    let done: Vec<&Record> = latest.values().collect();
    if done.is_empty() {
        return Err(BatchError::NoInputs(format!(
            "{} holds no finished batch results",
            out_dir.display()
        )));
    }
    let out = crate::output::Output::begin(table, &[], overwrite)?;
    let mut w = std::io::BufWriter::new(out.create()?);
    let mut rows = 0;
    let mut write = |w: &mut std::io::BufWriter<File>| -> std::io::Result<()> {
        writeln!(w, "input,row,analyzer,track,start,end,label,score,payload")?;
        for record in &done {
            let input = csv_field(&record.input.to_string_lossy()).into_owned();
            for stamp in &record.outputs {
                let path = out_dir.join(&stamp.path);
                match path.extension().and_then(|e| e.to_str()) {
                    Some("csv") => {
                        let file = File::open(&path)?;
                        for line in BufReader::new(file).lines().skip(1) {
                            writeln!(w, "{input},event,{}", line?)?;
                            rows += 1;
                        }
                    }
                    Some("json") => {
                        let value: serde_json::Value =
                            serde_json::from_reader(BufReader::new(File::open(&path)?))
                                .map_err(std::io::Error::other)?;
                        let results = match value {
                            serde_json::Value::Array(v) => v,
                            one => vec![one],
                        };
                        for result in results {
                            let analyzer = result["analyzer"].as_str().unwrap_or_default();
                            let summary = result["summary"].to_string();
                            writeln!(
                                w,
                                "{input},summary,{},,,,,,{}",
                                csv_field(analyzer),
                                csv_field(&summary)
                            )?;
                            rows += 1;
                        }
                    }
                    _ => {}
                }
            }
        }
        w.flush()
    };
    write(&mut w).map_err(|e| out.io_error(e))?;
    drop(w);
    out.commit()?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn globs_match_components_and_any_depth() {
        assert!(glob_matches("*.mp4", "a.mp4"));
        assert!(!glob_matches("*.mp4", "sub/a.mp4"));
        assert!(glob_matches("**/*.mp4", "sub/deeper/a.mp4"));
        assert!(glob_matches("**/*.mp4", "a.mp4"));
        assert!(glob_matches("day?/*.mkv", "day1/x.mkv"));
        assert!(!glob_matches("day?/*.mkv", "day10/x.mkv"));
        assert!(!glob_matches("*.mp4", "a.mp4.json"));
    }

    #[test]
    fn shards_split_every_input_once_and_come_from_the_scheduler() {
        let shards: Vec<Shard> = (0..3).map(|i| Shard::new(i, 3).unwrap()).collect();
        for k in 0..10 {
            assert_eq!(shards.iter().filter(|s| s.takes(k)).count(), 1);
        }
        assert_eq!(Shard::parse("1/3").unwrap(), shards[1]);
        assert!(Shard::parse("3/3").is_err() && Shard::parse("1").is_err());
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        let slurm = env(&[
            ("SLURM_ARRAY_TASK_ID", "5"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
            ("SLURM_ARRAY_TASK_MIN", "3"),
        ]);
        assert_eq!(Shard::from_env(slurm).unwrap(), Shard::new(2, 4));
        let k8s = env(&[
            ("JOB_COMPLETION_INDEX", "1"),
            ("STACKSCOPE_SHARD_COUNT", "2"),
        ]);
        assert_eq!(Shard::from_env(k8s).unwrap(), Shard::new(1, 2));
        assert!(Shard::from_env(env(&[("JOB_COMPLETION_INDEX", "1")])).is_err());
        assert_eq!(Shard::from_env(env(&[])).unwrap(), None);
    }

    #[test]
    fn inputs_keep_their_folders_and_same_names_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        for f in ["a/clip.mp4", "b/clip.mp4", "b/notes.txt", ".hidden.mp4"] {
            let p = dir.path().join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, b"x").unwrap();
        }
        let out = dir.path().join("out");
        std::fs::create_dir_all(&out).unwrap();
        std::fs::write(out.join("a.mp4"), b"a result, not an input").unwrap();
        let found = collect(&[dir.path().into()], &[], true, Some("**/*.mp4"), &out).unwrap();
        let names: Vec<PathBuf> = found.iter().map(|i| i.name.clone()).collect();
        assert_eq!(
            names,
            vec![PathBuf::from("a/clip.mp4"), "b/clip.mp4".into()]
        );
        let list = dir.path().join("list.txt");
        std::fs::write(&list, "# two clips\na/clip.mp4\n\nb/clip.mp4\n").unwrap();
        assert_eq!(collect(&[], &[list], false, None, &out).unwrap(), found);
        let clash = collect(
            &[dir.path().join("a/clip.mp4"), dir.path().join("b/clip.mp4")],
            &[],
            false,
            None,
            &out,
        );
        assert!(matches!(clash, Err(BatchError::SameName { .. })));
        let same = collect(std::slice::from_ref(&out), &[], false, None, &out);
        assert!(matches!(same, Err(BatchError::OutputIsInput(_))));
    }
}
