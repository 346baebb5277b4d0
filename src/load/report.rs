//! What a load did, for the user: counts, the step used and why, what was skipped, time.

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

use crate::stack::SourceKind;

/// A frame the loader could not use. The load goes on without it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// File name for folders, `frame N` for videos and TIFF pages.
    pub name: String,
    pub reason: String,
}

/// The memory guard's decision when the selection would not fit in the RAM limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct GuardDecision {
    pub limit_bytes: u64,
    /// What the selection would have taken without the guard.
    pub wanted_bytes: u64,
    /// The extra step applied on top of the requested one.
    pub extra_step: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoadReport {
    pub source: PathBuf,
    pub kind: SourceKind,
    /// Frames (files, pages, decoded video frames) in the source.
    pub frames_found: usize,
    pub frames_loaded: usize,
    /// `[n, h, w, c]` of the loaded matrix.
    pub shape: [usize; 4],
    /// Step between loaded source frames, guard included.
    pub frame_step: usize,
    pub guard: Option<GuardDecision>,
    pub skipped: Vec<Skipped>,
    pub bytes: u64,
    /// True when the pixels stay in the file (memory-mapped) instead of RAM.
    pub mapped: bool,
    /// The frame cache entry the pixels are mapped from, when the load used one.
    pub cache: Option<super::cache::CacheUse>,
    #[serde(rename = "elapsed_s")]
    pub elapsed_secs: f64,
    /// Anything else the user should know (conversions, ignored files, decode errors).
    pub notes: Vec<String>,
}

impl LoadReport {
    pub fn new(source: PathBuf, kind: SourceKind) -> Self {
        Self {
            source,
            kind,
            frames_found: 0,
            frames_loaded: 0,
            shape: [0; 4],
            frame_step: 1,
            guard: None,
            skipped: Vec::new(),
            bytes: 0,
            mapped: false,
            cache: None,
            elapsed_secs: 0.0,
            notes: Vec::new(),
        }
    }

    /// One line telling the user that only a subset was loaded, when the guard stepped in.
    pub fn guard_message(&self) -> Option<String> {
        self.guard.map(|g| {
            format!(
                "memory guard: the selection needs {} but the RAM limit is {}; \
                 loaded one frame in {} (step {} in all). Raise the RAM limit (--max-ram, or the load dialog's RAM limit) to load more.",
                human_bytes(g.wanted_bytes),
                human_bytes(g.limit_bytes),
                g.extra_step,
                self.frame_step,
            )
        })
    }
}

/// `1.5 GiB`-style sizes for people.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

impl fmt::Display for LoadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [n, h, w, c] = self.shape;
        writeln!(f, "source:   {} ({:?})", self.source.display(), self.kind)?;
        writeln!(f, "shape:    {n} frames × {h} × {w} × {c}")?;
        writeln!(
            f,
            "frames:   {} loaded of {} found, step {}",
            self.frames_loaded, self.frames_found, self.frame_step
        )?;
        match &self.cache {
            Some(c) => writeln!(
                f,
                "memory:   {} (memory-mapped from the frame cache, {} entry {}, {} on disk)",
                human_bytes(self.bytes),
                if c.reused { "reused" } else { "new" },
                c.entry.display(),
                human_bytes(c.bytes)
            )?,
            None if self.mapped => {
                writeln!(f, "memory:   {} (memory-mapped)", human_bytes(self.bytes))?
            }
            None => writeln!(f, "memory:   {} (in RAM)", human_bytes(self.bytes))?,
        }
        writeln!(f, "time:     {:.3} s", self.elapsed_secs)?;
        if let Some(msg) = self.guard_message() {
            writeln!(f, "{msg}")?;
        }
        if !self.skipped.is_empty() {
            writeln!(f, "skipped:  {} frames", self.skipped.len())?;
            for s in &self.skipped {
                writeln!(f, "  {}: {}", s.name, s.reason)?;
            }
        }
        for note in &self.notes {
            writeln!(f, "note:     {note}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_well() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(3 << 29), "1.5 GiB");
    }

    #[test]
    fn guard_message_names_the_step() {
        let mut r = LoadReport::new("x".into(), SourceKind::Folder);
        assert!(r.guard_message().is_none());
        r.guard = Some(GuardDecision {
            limit_bytes: 1 << 20,
            wanted_bytes: 3 << 20,
            extra_step: 3,
        });
        r.frame_step = 6;
        let msg = r.guard_message().unwrap_or_default();
        assert!(
            msg.contains("one frame in 3") && msg.contains("step 6"),
            "{msg}"
        );
    }
}
