//! Time in the window, without egui: the playback clock (which output frame to show now,
//! including the in-between frames of interpolated playback) and the frame timer behind the
//! frame-time overlay.

use std::collections::VecDeque;
use std::time::Instant;

use crate::interp::{BlendSchedule, Step};

/// Plays a stack at a frame rate, optionally with `steps` blended frames between source
/// frames (the export's schedule), so a user sees the slow motion they will export.
#[derive(Debug, Default)]
pub struct Playback {
    playing: bool,
    /// When playback (re)started and the output index it started from.
    anchor: Option<(Instant, usize)>,
    /// The output index shown last (source frame × (steps + 1) + in-between).
    shown: usize,
}

/// What to show: a source frame, or a blend between `step.a` and `step.a + 1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub step: Step,
    /// False once a non-looping playback reached the last frame.
    pub playing: bool,
}

impl Playback {
    pub fn playing(&self) -> bool {
        self.playing
    }

    pub fn toggle(&mut self) {
        self.playing = !self.playing;
        self.anchor = None;
    }

    pub fn stop(&mut self) {
        self.playing = false;
        self.anchor = None;
    }

    /// The user moved to another frame: playing continues from there.
    pub fn seeked(&mut self) {
        self.anchor = None;
    }

    /// The output position at `now`, for a stack of `frames` source frames currently on
    /// `frame`, played at `fps` output frames per second with `steps` blends per gap.
    /// `None` when not playing.
    pub fn advance(
        &mut self,
        now: Instant,
        frame: usize,
        frames: usize,
        fps: f64,
        steps: usize,
        looping: bool,
    ) -> Option<Position> {
        if !self.playing || frames == 0 {
            return None;
        }
        let schedule = BlendSchedule::new(frames, steps, 1.0).ok()?;
        let per_source = steps + 1;
        // Resuming on the frame last shown keeps the in-between position; a seek starts on
        // the source frame itself.
        let current = if self.shown / per_source == frame && self.shown < schedule.len() {
            self.shown
        } else {
            frame * per_source
        };
        let (t0, o0) = *self.anchor.get_or_insert((now, current));
        let elapsed = now.saturating_duration_since(t0).as_secs_f64();
        let mut index = o0 + (elapsed * fps.max(0.1)) as usize;
        let last = schedule.len() - 1;
        if index > last {
            if looping {
                index = 0;
                self.anchor = Some((now, 0));
            } else {
                index = last;
                self.playing = false;
                self.anchor = None;
            }
        }
        self.shown = index;
        Some(Position {
            step: schedule.step(index),
            playing: self.playing,
        })
    }
}

/// Frame times kept for the overlay.
const FRAME_TIMES: usize = 120;

/// Time between frames and time spent drawing, over the last frames.
#[derive(Debug, Default)]
pub struct FrameTimer {
    /// (ms since the previous frame, ms spent in this frame's work).
    times: VecDeque<(f32, f32)>,
    last: Option<Instant>,
}

impl FrameTimer {
    /// A frame starts at `now`.
    pub fn begin(&mut self, now: Instant) {
        if let Some(last) = self.last.replace(now) {
            let dt = now.saturating_duration_since(last).as_secs_f32() * 1000.0;
            if self.times.len() == FRAME_TIMES {
                self.times.pop_front();
            }
            self.times.push_back((dt, 0.0));
        }
    }

    /// The frame that began at `started` ends at `now`.
    pub fn end(&mut self, started: Instant, now: Instant) {
        if let Some(last) = self.times.back_mut() {
            last.1 = now.saturating_duration_since(started).as_secs_f32() * 1000.0;
        }
    }

    /// Forget what was measured (playback starts: measure it alone, not the idle before).
    pub fn clear(&mut self) {
        self.times.clear();
    }

    pub fn is_empty(&self) -> bool {
        self.times.is_empty()
    }

    /// Mean and worst time between frames and the mean time spent working.
    pub fn summary(&self) -> String {
        let n = self.times.len().max(1) as f32;
        let (frame, work) = self
            .times
            .iter()
            .fold((0.0, 0.0), |(a, b), (f, w)| (a + f, b + w));
        let worst = self.times.iter().map(|(f, _)| *f).fold(0.0, f32::max);
        format!(
            "frame time {:.1} ms ({:.0} fps), worst {:.1} ms, ui {:.1} ms over {} frames",
            frame / n,
            1000.0 * n / frame.max(1e-3),
            worst,
            work / n,
            self.times.len()
        )
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn at(start: Instant, ms: u64) -> Instant {
        start + Duration::from_millis(ms)
    }

    #[test]
    fn plays_source_frames_at_the_rate_and_stops_on_the_last() {
        let t = Instant::now();
        let mut p = Playback::default();
        assert_eq!(p.advance(t, 0, 10, 10.0, 0, false), None);
        p.toggle();
        let frame = |p: &mut Playback, ms, current| {
            p.advance(at(t, ms), current, 10, 10.0, 0, false)
                .map(|pos| (pos.step.a, pos.step.weight, pos.playing))
        };
        assert_eq!(frame(&mut p, 0, 2), Some((2, 0, true)));
        // 10 fps: 350 ms later is 3 frames on.
        assert_eq!(frame(&mut p, 350, 2), Some((5, 0, true)));
        // Past the end: the last frame, and playback stops.
        assert_eq!(frame(&mut p, 5_000, 5), Some((9, 0, false)));
        assert!(!p.playing());
    }

    #[test]
    fn loops_back_to_the_first_frame() {
        let t = Instant::now();
        let mut p = Playback::default();
        p.toggle();
        p.advance(t, 8, 10, 10.0, 0, true);
        let pos = p.advance(at(t, 250), 8, 10, 10.0, 0, true).unwrap();
        assert_eq!((pos.step.a, pos.playing), (0, true));
        let pos = p.advance(at(t, 450), 0, 10, 10.0, 0, true).unwrap();
        assert_eq!(pos.step.a, 2);
    }

    #[test]
    fn interpolated_playback_walks_the_export_schedule() {
        // Three blends per gap at intensity 1: weights 64, 128, 192 between source frames,
        // written out here from the README's schedule rather than taken from the code.
        let t = Instant::now();
        let mut p = Playback::default();
        p.toggle();
        let expected = [(0, 0), (0, 64), (0, 128), (0, 192), (1, 0), (1, 64)];
        for (i, &(a, w)) in expected.iter().enumerate() {
            // 100 output frames/s: one output frame per 10 ms (+ 1 ms against rounding).
            let pos = p
                .advance(at(t, 10 * i as u64 + 1), 0, 3, 100.0, 3, false)
                .unwrap();
            assert_eq!((pos.step.a, pos.step.weight), (a, w), "output frame {i}");
        }
        // The last output frame is source frame 2 itself (length 3 + 2·3 = 9).
        let pos = p.advance(at(t, 2_000), 1, 3, 100.0, 3, false).unwrap();
        assert_eq!((pos.step.a, pos.step.weight, pos.playing), (2, 0, false));
    }

    #[test]
    fn a_seek_restarts_the_clock_from_the_new_frame() {
        let t = Instant::now();
        let mut p = Playback::default();
        p.toggle();
        p.advance(t, 0, 100, 10.0, 0, false);
        p.seeked();
        let pos = p.advance(at(t, 1_000), 50, 100, 10.0, 0, false).unwrap();
        assert_eq!(pos.step.a, 50);
        let pos = p.advance(at(t, 1_200), 50, 100, 10.0, 0, false).unwrap();
        assert_eq!(pos.step.a, 52);
    }

    #[test]
    fn the_timer_reports_mean_worst_and_work() {
        let t = Instant::now();
        let mut timer = FrameTimer::default();
        for (i, gap) in [0u64, 10, 30, 50].iter().enumerate() {
            let start = at(t, *gap);
            timer.begin(start);
            timer.end(start, at(start, 2 + i as u64));
        }
        // Gaps 10, 20, 20 ms; work 3, 4, 5 ms for the three measured frames.
        let s = timer.summary();
        assert!(
            s.starts_with("frame time 16.7 ms (60 fps), worst 20.0 ms, ui 4.0 ms over 3"),
            "{s}"
        );
    }
}
