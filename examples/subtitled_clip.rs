//! Writes the OCR benchmark clip: 1280 × 720 at 25 fps with a square moving over a gradient
//! and a subtitle that changes every few seconds, as H.264 through the ffmpeg command.
//!
//! `cargo run --release --example subtitled_clip -- OUT.mp4 [SECONDS]`

#[path = "../tests/common/text.rs"]
mod text;

use std::io::Write;
use std::process::{Command, Stdio};

const LINES: &[&str] = &[
    "Good evening and welcome to the lecture",
    "Today we look at cells under the microscope",
    "First the sample is stained and washed",
    "The membrane shows up as a bright ring",
    "Notice how the nucleus moves during division",
    "We record one frame every two seconds",
    "The intensity rises after the drug is added",
    "Compare this with the control on the left",
    "Most cells recover within ten minutes",
    "Some never divide again",
    "We counted three hundred cells in total",
    "The error bars show one standard deviation",
    "Next week we repeat this at lower temperature",
    "Questions are welcome at the end",
    "Thank you for watching",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let out = args
        .get(1)
        .ok_or("usage: subtitled_clip OUT.mp4 [SECONDS]")?;
    let seconds: usize = args.get(2).map_or(Ok(60), |s| s.parse())?;
    let (w, h, fps) = (1280usize, 720usize, 25usize);
    // Each line stays 4 s, with a 0.5 s gap without text between lines.
    let per_line = 4 * fps;
    let gap = fps / 2;
    let pictures: Vec<Vec<u8>> = LINES
        .iter()
        .map(|l| text::subtitle_frame(w, h, &[l], 44.0))
        .chain(std::iter::once(text::subtitle_frame(w, h, &[], 44.0)))
        .collect();
    let mut child = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo"])
        .args(["-pix_fmt", "rgb24", "-s", &format!("{w}x{h}")])
        .args(["-r", &fps.to_string(), "-i", "-"])
        .args([
            "-c:v", "libx264", "-preset", "fast", "-crf", "20", "-pix_fmt", "yuv420p",
        ])
        .arg(out)
        .stdin(Stdio::piped())
        .spawn()?;
    let mut stdin = child.stdin.take().ok_or("no stdin")?;
    let mut frame = vec![0u8; w * h * 3];
    for i in 0..seconds * fps {
        let k = i % (per_line + gap);
        let picture = if k < per_line {
            &pictures[(i / (per_line + gap)) % LINES.len()]
        } else {
            &pictures[LINES.len()]
        };
        frame.copy_from_slice(picture);
        // The moving square keeps the whole frame changing, as real footage does.
        let x0 = (i * 7) % (w - 160);
        for y in 120..280 {
            for x in x0..x0 + 160 {
                frame[(y * w + x) * 3..(y * w + x) * 3 + 3].copy_from_slice(&[200, 120, 60]);
            }
        }
        stdin.write_all(&frame)?;
    }
    drop(stdin);
    if !child.wait()?.success() {
        return Err("ffmpeg failed".into());
    }
    Ok(())
}
