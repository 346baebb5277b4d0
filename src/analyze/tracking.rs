//! Object tracks across sampled frames: each detection joins the track of its class whose
//! last box overlaps it most (greedy IoU matching, best pairs first), or starts a new one.
//! A track survives a few sampled frames without a match, so one missed detection does not
//! split a person into two.

use super::vision::BoxXywh;

/// A detection as the tracker sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Observed {
    pub class: usize,
    pub score: f32,
    pub bbox: BoxXywh,
}

/// One object followed across frames.
#[derive(Debug, Clone, PartialEq)]
pub struct Track {
    pub class: usize,
    /// 1, 2, … within its class, in order of first appearance.
    pub id: usize,
    /// Time of the first and last sampled frame it was seen in.
    pub first: f64,
    pub last: f64,
    /// Sampled frames it was seen in.
    pub frames: usize,
    pub mean_score: f32,
    pub first_box: BoxXywh,
    pub last_box: BoxXywh,
}

#[derive(Debug, Clone)]
struct Live {
    track: Track,
    score_sum: f32,
    /// The sampled frame (0, 1, 2, …) it was last seen in.
    seen: usize,
}

#[derive(Debug, Clone)]
pub struct Tracker {
    min_iou: f32,
    max_gap: usize,
    live: Vec<Live>,
    done: Vec<Track>,
    next_id: Vec<usize>,
}

impl Tracker {
    /// `min_iou`: the overlap a detection needs with a track's last box to continue it;
    /// `max_gap`: sampled frames a track may go unseen and still continue.
    pub fn new(min_iou: f32, max_gap: usize) -> Self {
        Self {
            min_iou,
            max_gap,
            live: Vec::new(),
            done: Vec::new(),
            next_id: Vec::new(),
        }
    }

    /// Sampled frame `k` (at `time`) and its detections; returns each detection's track id.
    pub fn observe(&mut self, k: usize, time: f64, detections: &[Observed]) -> Vec<usize> {
        // Tracks unseen for too long end before matching.
        let (keep, ended): (Vec<Live>, Vec<Live>) = std::mem::take(&mut self.live)
            .into_iter()
            .partition(|l| k.saturating_sub(l.seen) <= self.max_gap + 1);
        self.live = keep;
        self.done.extend(ended.into_iter().map(|l| l.track));

        let mut pairs: Vec<(f32, usize, usize)> = Vec::new();
        for (t, live) in self.live.iter().enumerate() {
            for (d, det) in detections.iter().enumerate() {
                if live.track.class == det.class {
                    let iou = live.track.last_box.iou(&det.bbox);
                    if iou >= self.min_iou {
                        pairs.push((iou, t, d));
                    }
                }
            }
        }
        pairs.sort_by(|a, b| b.0.total_cmp(&a.0));
        let mut ids = vec![0usize; detections.len()];
        let mut track_taken = vec![false; self.live.len()];
        for (_, t, d) in pairs {
            if track_taken[t] || ids[d] != 0 {
                continue;
            }
            track_taken[t] = true;
            let live = &mut self.live[t];
            let det = detections[d];
            live.seen = k;
            live.score_sum += det.score;
            live.track.frames += 1;
            live.track.last = time;
            live.track.last_box = det.bbox;
            live.track.mean_score = live.score_sum / live.track.frames as f32;
            ids[d] = live.track.id;
        }
        for (d, det) in detections.iter().enumerate() {
            if ids[d] != 0 {
                continue;
            }
            if self.next_id.len() <= det.class {
                self.next_id.resize(det.class + 1, 1);
            }
            let id = self.next_id[det.class];
            self.next_id[det.class] += 1;
            self.live.push(Live {
                track: Track {
                    class: det.class,
                    id,
                    first: time,
                    last: time,
                    frames: 1,
                    mean_score: det.score,
                    first_box: det.bbox,
                    last_box: det.bbox,
                },
                score_sum: det.score,
                seen: k,
            });
            ids[d] = id;
        }
        ids
    }

    /// Every track, ordered by first appearance.
    pub fn finish(mut self) -> Vec<Track> {
        self.done.extend(self.live.into_iter().map(|l| l.track));
        self.done
            .sort_by(|a, b| a.first.total_cmp(&b.first).then(a.id.cmp(&b.id)));
        self.done
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(class: usize, x: f32) -> Observed {
        Observed {
            class,
            score: 0.8,
            bbox: BoxXywh {
                x,
                y: 10.0,
                w: 40.0,
                h: 80.0,
            },
        }
    }

    #[test]
    fn two_walkers_keep_their_ids_and_a_gap_of_one_frame_does_not_split_a_track() {
        let mut t = Tracker::new(0.3, 1);
        // Person A walks right from x = 0, person B stands at x = 200; a dog appears.
        assert_eq!(t.observe(0, 0.0, &[at(0, 0.0), at(0, 200.0)]), [1, 2]);
        // Listed in the other order: the boxes decide, not the order.
        assert_eq!(t.observe(1, 0.5, &[at(0, 200.0), at(0, 5.0)]), [2, 1]);
        // B is missed in frame 2; a dog (another class, same place as A) starts its own
        // numbering.
        assert_eq!(t.observe(2, 1.0, &[at(0, 10.0), at(1, 10.0)]), [1, 1]);
        assert_eq!(t.observe(3, 1.5, &[at(0, 15.0), at(0, 201.0)]), [1, 2]);
        // B gone for two frames: a person there again is a new track.
        t.observe(4, 2.0, &[at(0, 20.0)]);
        t.observe(5, 2.5, &[at(0, 25.0)]);
        assert_eq!(t.observe(6, 3.0, &[at(0, 200.0)]), [3]);
        let tracks = t.finish();
        let summary: Vec<(usize, usize, f64, f64, usize)> = tracks
            .iter()
            .map(|t| (t.class, t.id, t.first, t.last, t.frames))
            .collect();
        assert_eq!(
            summary,
            [
                (0, 1, 0.0, 2.5, 6),
                (0, 2, 0.0, 1.5, 3),
                (1, 1, 1.0, 1.0, 1),
                (0, 3, 3.0, 3.0, 1),
            ]
        );
    }

    #[test]
    fn a_box_that_jumps_across_the_frame_is_a_new_object() {
        let mut t = Tracker::new(0.3, 2);
        t.observe(0, 0.0, &[at(0, 0.0)]);
        assert_eq!(t.observe(1, 0.5, &[at(0, 300.0)]), [2]);
        assert_eq!(t.finish().len(), 2);
    }
}
