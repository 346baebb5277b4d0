//! `stackscope visualize AUDIO -o out.mp4`: an audio file as a video of spectrum visuals with
//! the audio muxed in, or one frame of it as a PNG (`--still SECONDS`).

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use stackscope::Job;
use stackscope::audio::{
    self, AudioError, Palette, Renderer, SpectrumSettings, Style, VisualSettings,
    VisualizeSettings, parse_background, parse_color,
};
use stackscope::display::Colormap;
use stackscope::load::human_bytes;

use super::progress::{ProgressDisplay, cancel_on_ctrl_c};

#[derive(Debug, Args)]
pub struct VisualizeArgs {
    /// An audio file (mp3, wav, flac, ogg, m4a, …) or a video with an audio track.
    pub audio: PathBuf,

    /// The MP4 file to write (a PNG with --still).
    #[arg(short, long)]
    pub output: PathBuf,

    /// Write the frame shown at this time as a PNG instead of the video.
    #[arg(long, value_name = "SECONDS")]
    pub still: Option<f64>,

    /// Overwrite the output file if it exists.
    #[arg(long)]
    pub force: bool,

    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub how: VisualHow,
}

/// What the video looks like and how it is encoded: shared by `visualize` and
/// `batch visualize`.
#[derive(Debug, Args)]
pub struct VisualHow {
    #[arg(long, value_parser = super::named::<Style>(), default_value_t = Style::Bars)]
    pub style: Style,

    /// Frame size, WIDTHxHEIGHT (even numbers).
    #[arg(long, default_value = "1280x720", value_parser = parse_size)]
    pub size: (usize, usize),

    #[arg(long, default_value_t = 24.0)]
    pub fps: f64,

    /// Frequency bands, one bar each (default: 64; spectrogram 256).
    #[arg(long)]
    pub bands: Option<usize>,

    /// Lowest frequency shown, Hz.
    #[arg(long, default_value_t = 40.0, value_name = "HZ")]
    pub min_hz: f64,

    /// Highest frequency shown, Hz (at most half the sample rate).
    #[arg(long, default_value_t = 16_000.0, value_name = "HZ")]
    pub max_hz: f64,

    /// dB below the file's loudest band where bars reach zero.
    #[arg(long, default_value_t = 60.0, value_name = "DB")]
    pub range_db: f32,

    /// How fast bars rise (time constant, ms; 0: at once).
    #[arg(long, default_value_t = 15.0, value_name = "MS")]
    pub attack_ms: f32,

    /// How slowly bars fall (time constant, ms; 0: at once).
    #[arg(long, default_value_t = 250.0, value_name = "MS")]
    pub release_ms: f32,

    /// One colour for all bars (#rrggbb or a name); overrides --colormap.
    #[arg(long, value_name = "COLOR")]
    pub color: Option<String>,

    /// Colours across the bands; the spectrogram's across levels (default: plasma;
    /// spectrogram: magma).
    #[arg(long, value_parser = super::named::<Colormap>())]
    pub colormap: Option<Colormap>,

    /// A colour (#rrggbb or a name) or an image file, scaled to cover the frame.
    #[arg(long, default_value = "#0a0a10", value_name = "COLOR|IMAGE")]
    pub background: String,

    /// Seconds of history across the spectrogram.
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
    pub history: f64,

    /// x264 constant rate factor: 0 lossless, 23 default, 51 worst.
    #[arg(long, default_value_t = 23)]
    pub crf: u8,

    /// x264 preset (ultrafast … veryslow).
    #[arg(long, default_value = "veryfast")]
    pub preset: String,
}

fn parse_size(text: &str) -> Result<(usize, usize), String> {
    let (w, h) = text
        .split_once(['x', 'X', '×'])
        .ok_or_else(|| format!("'{text}': give WIDTHxHEIGHT, e.g. 1280x720"))?;
    let side = |s: &str| {
        s.trim()
            .parse::<usize>()
            .map_err(|_| format!("'{text}': give WIDTHxHEIGHT, e.g. 1280x720"))
    };
    Ok((side(w)?, side(h)?))
}

impl VisualHow {
    pub fn settings(&self, overwrite: bool) -> Result<VisualizeSettings, AudioError> {
        let palette = match &self.color {
            Some(c) => Palette::Solid(parse_color(c)?),
            None => Palette::Map(self.colormap.unwrap_or(self.style.default_colormap())),
        };
        Ok(VisualizeSettings {
            visual: VisualSettings {
                style: self.style,
                width: self.size.0,
                height: self.size.1,
                palette,
                background: parse_background(&self.background)?,
                history_secs: self.history,
            },
            spectrum: SpectrumSettings {
                fps: self.fps,
                bands: self.bands.unwrap_or(self.style.default_bands()),
                min_hz: self.min_hz,
                max_hz: self.max_hz,
                range_db: self.range_db,
                attack_ms: self.attack_ms,
                release_ms: self.release_ms,
                waveform_points: 0,
            },
            crf: self.crf,
            preset: self.preset.clone(),
            overwrite,
        })
    }
}

pub fn run(args: &VisualizeArgs) -> anyhow::Result<()> {
    let job = Job::new();
    cancel_on_ctrl_c(&job);
    let settings = args.how.settings(args.force)?;
    if let Some(seconds) = args.still {
        return still(args, &settings, seconds, &job);
    }
    let report = {
        let _progress = ProgressDisplay::start(&job);
        audio::visualize(&args.audio, &args.output, &settings, &job)?
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    println!(
        "wrote {}: {} {} frames, {}×{}, {} fps, video {:.3} s, audio {:.3} s, {}",
        report.path.display(),
        report.frames,
        report.style.name(),
        report.width,
        report.height,
        report.fps,
        report.video_secs,
        report.audio_secs,
        human_bytes(report.bytes)
    );
    println!(
        "took {:.2} s (analysis {:.2} s, {:.0} frames/s)",
        report.elapsed_secs,
        report.analysis_secs,
        report.frames as f64 / report.elapsed_secs.max(1e-9)
    );
    Ok(())
}

fn still(
    args: &VisualizeArgs,
    settings: &VisualizeSettings,
    seconds: f64,
    job: &Job,
) -> anyhow::Result<()> {
    // Refused before the audio is decoded: an existing file without --force, or the audio.
    stackscope::output::check(&args.output, &[&args.audio], args.force)?;
    let renderer = Renderer::new(&settings.visual)?;
    let spectrum = audio::analyze(&args.audio, &settings.spectrum_for_style(), job)?;
    let frame = spectrum.frame_at(seconds);
    let rgba = renderer.render_rgba(&spectrum, frame);
    let (w, h) = (settings.visual.width as u32, settings.visual.height as u32);
    let image = image::RgbaImage::from_raw(w, h, rgba).context("frame buffer size")?;
    let out = stackscope::output::Output::begin(&args.output, &[&args.audio], args.force)?;
    let format = image::ImageFormat::from_path(&args.output)
        .with_context(|| format!("{}: unknown image type", args.output.display()))?;
    image
        .save_with_format(out.temp_path(), format)
        .with_context(|| format!("{}: cannot write the image", args.output.display()))?;
    out.commit()?;
    println!(
        "wrote {}: frame {frame} of {} ({:.3} s)",
        args.output.display(),
        spectrum.frames,
        frame as f64 / spectrum.fps
    );
    Ok(())
}
