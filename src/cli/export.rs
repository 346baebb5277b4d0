//! `stackscope export PATH -o out.mp4`: interpolate and encode a stack as H.264 MP4.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;
use stackscope::export::{ExportReport, ExportSettings, export};
use stackscope::interp::BlendDevice;
use stackscope::load::{FolderStream, human_bytes};
use stackscope::source::{DisplaySource, FrameSource, StackSource};
use stackscope::stack::SourceKind;
use stackscope::{Job, load};

use super::analyze_ops::load_stack;
use super::progress::{ProgressDisplay, cancel_on_ctrl_c};
use super::{LoadArgs, MappingArgs, MaskArgs, NormalizeArgs};

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// A folder of images, an image, a video, a .npy file or a (multi-page) TIFF.
    pub path: PathBuf,

    /// The MP4 file to write.
    #[arg(short, long)]
    pub output: PathBuf,

    /// Overwrite the output file if it exists.
    #[arg(long)]
    pub force: bool,

    #[command(flatten)]
    pub how: ExportHow,
}

/// How frames are exported: shared by `export` and `batch export`.
#[derive(Debug, Args)]
pub struct ExportHow {
    /// Blended frames inserted between each pair of frames (0–200).
    #[arg(long, default_value_t = 0, value_name = "K")]
    pub interp_steps: usize,

    /// How far each blend goes towards the next frame (0–1; 0 repeats frames).
    #[arg(long, default_value_t = 1.0, value_name = "X")]
    pub intensity: f64,

    /// Output frames per second (default: the source's, else 30).
    #[arg(long)]
    pub fps: Option<f64>,

    /// x264 constant rate factor: 0 lossless, 23 default, 51 worst.
    #[arg(long, default_value_t = 23)]
    pub crf: u8,

    /// x264 preset (ultrafast … veryslow).
    #[arg(long, default_value = "veryfast")]
    pub preset: String,

    /// An audio file to mux as AAC, cut or padded with silence to the video's length.
    #[arg(long, value_name = "FILE")]
    pub audio: Option<PathBuf>,

    /// Where blending runs: auto picks a real GPU and the CPU otherwise.
    #[arg(long, value_parser = super::named::<BlendDevice>(), default_value_t = BlendDevice::Auto)]
    pub blend_device: BlendDevice,

    #[command(flatten)]
    pub mask: MaskArgs,

    #[command(flatten)]
    pub mapping: MappingArgs,

    #[command(flatten)]
    pub normalize: NormalizeArgs,

    #[command(flatten)]
    pub load: LoadArgs,
}

pub fn run(args: &ExportArgs) -> anyhow::Result<()> {
    let job = Job::new();
    cancel_on_ctrl_c(&job);
    let report = export_one(&args.path, &args.output, &args.how, args.force, &job)?;
    println!(
        "wrote {}: {} frames, {}×{}, {:.3} fps, {:.2} s, {}",
        report.path.display(),
        report.frames,
        report.width,
        report.height,
        report.fps,
        report.duration_secs,
        human_bytes(report.bytes)
    );
    println!("blend device: {}", report.blender_reason);
    for note in &report.notes {
        println!("note: {note}");
    }
    println!(
        "took {:.2} s ({:.0} output frames/s), blender: {}{}",
        report.elapsed_secs,
        report.frames as f64 / report.elapsed_secs.max(1e-9),
        report.blender,
        if report.cropped_to_even {
            "; odd size: the last column/row was dropped for 4:2:0"
        } else {
            ""
        }
    );
    Ok(())
}

/// Exports the stack at `path` as `output` with the settings of `how`.
pub fn export_one(
    path: &Path,
    output: &Path,
    how: &ExportHow,
    overwrite: bool,
    job: &Job,
) -> anyhow::Result<ExportReport> {
    let options = how.load.options();
    let through_display = how.normalize.is_active() || how.mapping.is_set() || how.mask.is_set();
    let mut source: Box<dyn FrameSource> = if through_display {
        // Normalized, masked or colour-mapped frames: exported as the viewer shows them.
        let stack = Arc::new(load_stack(path, &how.load, job)?);
        let mask = how.mask.mask(&stack)?;
        let normalizer = {
            let _progress = ProgressDisplay::start(job);
            how.normalize.normalizer(&stack, job)?
        };
        let mut display = DisplaySource::new(stack, mask, normalizer, Default::default());
        let mapping = display.automatic_mapping(how.mapping.auto_contrast);
        display.set_mapping(how.mapping.fixed_choices(mapping));
        display.into_frame_source()
    } else if load::detect(path) == SourceKind::Folder {
        // A folder streams one image at a time: memory stays flat however many there are.
        Box::new(FolderStream::open(path, &options)?)
    } else {
        Box::new(StackSource::new(Arc::new(load_stack(
            path, &how.load, job,
        )?)))
    };
    let settings = ExportSettings {
        steps: how.interp_steps,
        intensity: how.intensity,
        fps: how.fps,
        crf: how.crf,
        preset: how.preset.clone(),
        audio: how.audio.clone(),
        overwrite,
        blend_device: how.blend_device,
    };
    let _progress = ProgressDisplay::start(job);
    Ok(export(source.as_mut(), output, &settings, job)?)
}
