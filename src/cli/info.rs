//! `stackscope info PATH`: load a stack and report what was loaded.

use std::path::PathBuf;

use clap::Args;
use serde::Serialize;
use stackscope::{Job, LoadReport, StackMeta, load};

use super::LoadArgs;
use super::progress::{ProgressDisplay, cancel_on_ctrl_c};

#[derive(Debug, Args)]
pub struct InfoArgs {
    /// A folder of images, an image, a video, a .npy file or a (multi-page) TIFF.
    pub path: PathBuf,

    /// Print one JSON object (report and metadata) instead of text.
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub load: LoadArgs,
}

#[derive(Serialize)]
struct InfoJson<'a> {
    report: &'a LoadReport,
    meta: &'a StackMeta,
}

pub fn run(args: &InfoArgs) -> anyhow::Result<()> {
    let job = Job::new();
    cancel_on_ctrl_c(&job);
    let loaded = {
        let _progress = ProgressDisplay::start(&job);
        load(&args.path, &args.load.options(), &job)?
    };
    if args.json {
        let json = InfoJson {
            report: &loaded.report,
            meta: loaded.stack.meta(),
        };
        println!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        print!("{}", loaded.report);
        let meta = loaded.stack.meta();
        if let Some(fps) = meta.fps {
            println!("fps:      {fps:.3}");
        }
        if let Some(d) = meta.duration_secs {
            println!("duration: {d:.3} s");
        }
        if let (Some(dtype), Some(range)) = (&meta.original_dtype, meta.value_range) {
            println!("original: {dtype}, values {} … {}", range.min, range.max);
        }
    }
    Ok(())
}
