//! `stackscope reduce`, `roi` and `profile`: the analysis ops on the command line.

use std::path::{Path, PathBuf};

use clap::Args;
use ndarray::Axis;
use stackscope::display::save_image;
use stackscope::ops::{self, LineSpec, ReduceOp, Shape};
use stackscope::{FrameStack, Job, load, output};

use super::progress::{ProgressDisplay, cancel_on_ctrl_c};
use super::{LoadArgs, MappingArgs, MaskArgs, NormalizeArgs};

pub fn load_stack(
    path: &std::path::Path,
    load_args: &LoadArgs,
    job: &Job,
) -> anyhow::Result<FrameStack> {
    let _progress = ProgressDisplay::start(job);
    let loaded = load::load(path, &load_args.options(), job)?;
    if let Some(msg) = loaded.report.guard_message() {
        eprintln!("{msg}");
    }
    Ok(loaded.stack)
}

#[derive(Debug, Args)]
pub struct ReduceArgs {
    pub path: PathBuf,
    /// Output: .png (display mapping), .tif/.tiff or .npy (f32 values).
    #[arg(short, long)]
    pub output: PathBuf,
    /// Overwrite the output file if it exists.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub how: ReduceHow,
}

/// The reduction and what it runs over: shared by `reduce` and `batch reduce`.
#[derive(Debug, Args)]
pub struct ReduceHow {
    /// The reduction.
    #[arg(long, value_parser = super::named::<ReduceOp>())]
    pub op: ReduceOp,
    #[command(flatten)]
    pub mask: MaskArgs,
    #[command(flatten)]
    pub mapping: MappingArgs,
    #[command(flatten)]
    pub normalize: NormalizeArgs,
    #[command(flatten)]
    pub load: LoadArgs,
}

/// Every file a command reads: outputs may be none of them.
fn inputs<'a>(
    path: &'a Path,
    mask: &'a MaskArgs,
    normalize: Option<&'a NormalizeArgs>,
) -> Vec<&'a Path> {
    let mut v = vec![path];
    v.extend(mask.mask.as_deref());
    v.extend(normalize.and_then(|n| n.ref_file.as_deref()));
    v
}

pub fn reduce(args: &ReduceArgs) -> anyhow::Result<()> {
    let job = Job::new();
    cancel_on_ctrl_c(&job);
    let line = reduce_one(&args.path, &args.output, &args.how, args.force, &job)?;
    println!("{line}");
    Ok(())
}

/// Reduces the stack at `path` into `output`; returns a line saying what was written.
pub fn reduce_one(
    path: &Path,
    output: &Path,
    how: &ReduceHow,
    overwrite: bool,
    job: &Job,
) -> anyhow::Result<String> {
    let inputs = inputs(path, &how.mask, Some(&how.normalize));
    // Refused before any work: an existing output without --force, or an input.
    output::check(output, &inputs, overwrite)?;
    let stack = load_stack(path, &how.load, job)?;
    let mask = how.mask.mask(&stack)?;
    let result = {
        let _progress = ProgressDisplay::start(job);
        let normalizer = how.normalize.normalizer(&stack, job)?;
        ops::reduce_shown(
            stack.view(),
            normalizer.as_ref(),
            mask.as_ref(),
            how.op,
            None,
            job,
        )?
    };
    save_image(
        output,
        result.view(),
        Some(how.mapping.mapping(result.view())),
        &inputs,
        overwrite,
    )?;
    let (lo, hi) = stackscope::display::finite_range(result.view());
    Ok(format!(
        "wrote {}: {} of {} frames, {}×{}×{}, values {lo} … {hi}",
        output.display(),
        how.op.name(),
        stack.len(),
        result.shape()[0],
        result.shape()[1],
        result.shape()[2]
    ))
}

#[derive(Debug, Args)]
pub struct RoiArgs {
    pub path: PathBuf,
    /// Rectangle X,Y,W,H (repeatable).
    #[arg(long, value_parser = Shape::parse_rect)]
    pub rect: Vec<Shape>,
    /// Ellipse CX,CY,RX,RY (repeatable).
    #[arg(long, value_parser = Shape::parse_ellipse)]
    pub ellipse: Vec<Shape>,
    /// Polygon X0,Y0,X1,Y1,X2,Y2,… (repeatable).
    #[arg(long, value_parser = Shape::parse_polygon)]
    pub polygon: Vec<Shape>,
    /// Single pixel X,Y (repeatable).
    #[arg(long, value_parser = Shape::parse_probe)]
    pub probe: Vec<Shape>,
    /// Also compute the median inside each region.
    #[arg(long)]
    pub median: bool,
    #[command(flatten)]
    pub mask: MaskArgs,
    /// CSV file to write.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Overwrite the output file if it exists.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub normalize: NormalizeArgs,
    #[command(flatten)]
    pub load: LoadArgs,
}

pub fn roi(args: &RoiArgs) -> anyhow::Result<()> {
    let shapes: Vec<Shape> = [&args.rect, &args.ellipse, &args.polygon, &args.probe]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
    anyhow::ensure!(
        !shapes.is_empty(),
        "give at least one --rect, --ellipse, --polygon or --probe"
    );
    let inputs = inputs(&args.path, &args.mask, Some(&args.normalize));
    output::check(&args.output, &inputs, args.force)?;
    let job = Job::new();
    cancel_on_ctrl_c(&job);
    let stack = load_stack(&args.path, &args.load, &job)?;
    let mask = args.mask.mask(&stack)?;
    let curves = {
        let _progress = ProgressDisplay::start(&job);
        let normalizer = args.normalize.normalizer(&stack, &job)?;
        ops::curves_shown(
            stack.view(),
            normalizer.as_ref(),
            &shapes,
            mask.as_ref(),
            args.median,
            &job,
        )?
    };
    for (i, c) in curves.iter().enumerate() {
        if c.pixels == 0 {
            eprintln!(
                "warning: region {i} ({}) covers no pixel of the frame",
                c.shape.kind()
            );
        }
    }
    let csv = ops::stack_curves_csv(&stack, &curves, args.median);
    output::write_bytes(&args.output, &inputs, args.force, csv.as_bytes())?;
    println!(
        "wrote {}: {} regions × {} frames",
        args.output.display(),
        curves.len(),
        stack.len()
    );
    Ok(())
}

#[derive(Debug, Args)]
pub struct ProfileArgs {
    pub path: PathBuf,
    /// Polyline X0,Y0,X1,Y1[,X2,Y2…] in pixel coordinates.
    #[arg(long)]
    pub line: String,
    /// Pixels averaged across the line.
    #[arg(long, default_value_t = 1)]
    pub width: usize,
    /// The frame whose profile goes into the CSV's value columns.
    #[arg(long, default_value_t = 0)]
    pub frame: usize,
    /// Also write the P and 100−P percentiles over frames per position.
    #[arg(long, value_name = "P")]
    pub percentile: Option<f32>,
    /// CSV file to write: position, distance, value, min, max (per channel).
    #[arg(short, long)]
    pub output: PathBuf,
    /// Kymograph image (position across, frame down): .png, .tif or .npy.
    #[arg(long, value_name = "FILE")]
    pub kymograph: Option<PathBuf>,
    /// Overwrite the output file if it exists.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub mapping: MappingArgs,
    #[command(flatten)]
    pub normalize: NormalizeArgs,
    #[command(flatten)]
    pub load: LoadArgs,
}

pub fn profile(args: &ProfileArgs) -> anyhow::Result<()> {
    let line = LineSpec::parse(&args.line, args.width).map_err(anyhow::Error::msg)?;
    let mut inputs = vec![args.path.as_path()];
    inputs.extend(args.normalize.ref_file.as_deref());
    output::check(&args.output, &inputs, args.force)?;
    if let Some(kymo) = &args.kymograph {
        output::check(kymo, &inputs, args.force)?;
        anyhow::ensure!(
            !output::same_file(kymo, &args.output) && kymo != &args.output,
            "--kymograph and -o name the same file"
        );
    }
    let job = Job::new();
    cancel_on_ctrl_c(&job);
    let stack = load_stack(&args.path, &args.load, &job)?;
    anyhow::ensure!(
        args.frame < stack.len(),
        "--frame {} is past the {} loaded frames",
        args.frame,
        stack.len()
    );
    let kymo = {
        let _progress = ProgressDisplay::start(&job);
        let normalizer = args.normalize.normalizer(&stack, &job)?;
        ops::kymograph_shown(stack.view(), normalizer.as_ref(), &line, &job)?
    };
    let env = ops::envelope(&kymo, args.percentile);
    let samples = line.samples();
    let current = kymo.index_axis(Axis(0), args.frame).to_owned();
    let csv = ops::profile_csv(&samples, &current, &env);
    output::write_bytes(&args.output, &inputs, args.force, csv.as_bytes())?;
    println!(
        "wrote {}: {} positions",
        args.output.display(),
        samples.len()
    );
    if let Some(path) = &args.kymograph {
        let mapping = Some(args.mapping.mapping(kymo.view()));
        save_image(path, kymo.view(), mapping, &inputs, args.force)?;
        println!(
            "wrote {}: {} frames × {} positions",
            path.display(),
            kymo.shape()[0],
            kymo.shape()[1]
        );
    }
    Ok(())
}
