//! The frame cache: a stack larger than the RAM limit is decoded once, in frame order, into a
//! `uint8` `.npy` file and memory-mapped, instead of being thinned.
//!
//! An entry is two files in the cache folder, named by a digest of its key: `<digest>.npy`
//! (the frames) and `<digest>.json` (the key in full and what the load learnt: frame numbers,
//! rate, notes). The key is the source's identity (canonical path, size and modification time;
//! for a folder, those of every image in it) and every option that changes pixels. The
//! `.npy` is written under a temporary name and renamed; the `.json` is written last, so a
//! half-written entry is never used, and a cancelled or failed load removes what it wrote.
//!
//! Entries are evicted least recently used first (a hit touches the `.json`) when a new one
//! would take the cache past its limit.

use std::fs::File;
use std::io::{self, BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use memmap2::Mmap;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::error::LoadError;
use super::options::LoadOptions;
use super::report::{LoadReport, Skipped, human_bytes};
use crate::stack::{
    ChannelOrder, FrameGeometry, FrameStack, SourceFrames, SourceKind, StackMeta, ValueRange,
};

/// Changes whenever the layout of entries changes, so that old entries are simply not found.
const FORMAT: u32 = 1;
/// Bytes reserved for the `.npy` header: the frame count is only known at the end, and a
/// header of fixed length can be rewritten in place. Any shape of `usize` numbers fits.
const HEADER_LEN: usize = 256;
/// Temporary files younger than this may belong to a load still running; `clear` leaves them.
const PARTIAL_GRACE: Duration = Duration::from_secs(3600);
/// Share of the free disk (plus what the cache holds) the cache may take by default.
const DEFAULT_DISK_SHARE: f64 = 0.5;

/// Where the frame cache lives unless told otherwise: `$XDG_CACHE_HOME/stackscope/frames`
/// (`~/.cache/stackscope/frames`).
pub fn default_dir() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir)
        .join("stackscope")
        .join("frames")
}

/// Why the frame cache could not be used. Messages name the folder and what to do.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("frame cache {}: {cause}", .dir.display())]
    Io {
        dir: PathBuf,
        #[source]
        cause: io::Error,
    },

    #[error(
        "frame cache {}: this stack needs {} but only {} is free on that disk; free space \
         there, choose another cache folder, or load fewer frames",
        .dir.display(), human_bytes(*.needed), human_bytes(*.free)
    )]
    NoSpace {
        dir: PathBuf,
        needed: u64,
        free: u64,
    },

    #[error(
        "frame cache {}: this stack needs {}, more than the cache limit of {}; raise the \
         limit, or load fewer frames",
        .dir.display(), human_bytes(*.needed), human_bytes(*.limit)
    )]
    OverLimit {
        dir: PathBuf,
        needed: u64,
        limit: u64,
    },
}

/// The frame cache in one folder, with its size limit.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
    /// `None`: half of what the disk has free plus what the cache holds.
    limit: Option<u64>,
}

/// One entry of the cache, as `cache list` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// The `.npy` file holding the frames.
    pub path: PathBuf,
    pub source: PathBuf,
    pub kind: SourceKind,
    /// `[n, h, w, c]`.
    pub shape: [usize; 4],
    /// Bytes on disk (frames and record).
    pub bytes: u64,
    /// When the entry was last written or opened, in seconds since the Unix epoch.
    #[serde(rename = "last_used_s")]
    pub last_used_secs: u64,
    #[serde(skip)]
    last_used: SystemTime,
    #[serde(skip)]
    record: PathBuf,
}

/// What `clear` removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Cleared {
    pub entries: usize,
    pub bytes: u64,
}

/// How a loaded stack used the cache, for the load report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CacheUse {
    /// The `.npy` file the frames are mapped from.
    pub entry: PathBuf,
    pub bytes: u64,
    /// True when an existing entry was mapped without decoding.
    pub reused: bool,
}

impl Cache {
    pub fn new(dir: impl Into<PathBuf>, limit: Option<u64>) -> Self {
        Self {
            dir: dir.into(),
            limit,
        }
    }

    /// The cache a load with `options` may use; `None` when the cache is off.
    pub fn for_load(options: &LoadOptions) -> Option<Self> {
        options
            .cache
            .dir()
            .map(|dir| Self::new(dir, options.cache_limit_bytes))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn io(&self, cause: io::Error) -> CacheError {
        CacheError::Io {
            dir: self.dir.clone(),
            cause,
        }
    }

    /// The complete entries, least recently used first. A missing folder is an empty cache.
    pub fn entries(&self) -> Result<Vec<Entry>, CacheError> {
        let mut entries = Vec::new();
        let read = match std::fs::read_dir(&self.dir) {
            Ok(read) => read,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(entries),
            Err(e) => return Err(self.io(e)),
        };
        for item in read {
            let path = item.map_err(|e| self.io(e))?.path();
            if path.extension().is_some_and(|e| e == "json")
                && let Some(entry) = read_entry(&path)
            {
                entries.push(entry);
            }
        }
        entries.sort_by_key(|e| e.last_used);
        Ok(entries)
    }

    /// Bytes the complete entries take.
    pub fn size(&self) -> Result<u64, CacheError> {
        Ok(self.entries()?.iter().map(|e| e.bytes).sum())
    }

    /// Removes the entries not used for `older_than` (all of them when `None`), and what
    /// failed loads left behind: frames without a record, and old temporary files.
    pub fn clear(&self, older_than: Option<Duration>) -> Result<Cleared, CacheError> {
        let now = SystemTime::now();
        let old = |t: SystemTime| {
            older_than.is_none_or(|age| now.duration_since(t).is_ok_and(|d| d >= age))
        };
        let mut cleared = Cleared::default();
        let entries = self.entries()?;
        for entry in entries.iter().filter(|e| old(e.last_used)) {
            remove_entry(entry).map_err(|e| self.io(e))?;
            cleared.entries += 1;
            cleared.bytes += entry.bytes;
        }
        // Leftovers: files not belonging to any complete entry.
        let kept: Vec<&Path> = entries
            .iter()
            .filter(|e| !old(e.last_used))
            .flat_map(|e| [e.path.as_path(), e.record.as_path()])
            .collect();
        let Ok(read) = std::fs::read_dir(&self.dir) else {
            return Ok(cleared);
        };
        for item in read.flatten() {
            let path = item.path();
            let Ok(meta) = item.metadata() else { continue };
            let name = item.file_name().to_string_lossy().into_owned();
            let ours = name.ends_with(".npy") || name.ends_with(".json");
            if !meta.is_file() || !ours || kept.contains(&path.as_path()) {
                continue;
            }
            let modified = meta.modified().unwrap_or(now);
            let partial = name.starts_with('.');
            let recent = now
                .duration_since(modified)
                .is_ok_and(|d| d < PARTIAL_GRACE);
            if partial && recent {
                continue;
            }
            if std::fs::remove_file(&path).is_ok() {
                cleared.bytes += meta.len();
            }
        }
        Ok(cleared)
    }

    /// The limit in force now: the user's, or half of the free disk plus the cache's size.
    fn limit(&self, held: u64) -> u64 {
        self.limit.unwrap_or_else(|| {
            let free = free_bytes(&self.dir).unwrap_or(0);
            (free.saturating_add(held) as f64 * DEFAULT_DISK_SHARE) as u64
        })
    }
}

/// A load's place in the cache: the cache and the key of what is being loaded.
#[derive(Debug, Clone)]
pub struct Slot {
    cache: Cache,
    key: Key,
    digest: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Key {
    format: u32,
    source: PathBuf,
    /// Name, size and modification time (ns since the epoch) of the file, or of every
    /// image of a folder.
    files: Vec<(String, u64, u128)>,
    /// The options that change pixels, as JSON.
    options: serde_json::Value,
}

/// What an entry records besides its frames.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Record {
    key: Key,
    kind: SourceKind,
    shape: [usize; 4],
    fps: Option<f64>,
    duration_s: Option<f64>,
    original_dtype: Option<String>,
    value_range: Option<(f64, f64)>,
    frame_step: usize,
    source_frames: FramesRecord,
    frames_found: usize,
    skipped: Vec<(String, String)>,
    notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
enum FramesRecord {
    Every {
        start: usize,
        step: usize,
        len: usize,
    },
    Listed(Vec<usize>),
}

fn stamp(path: &Path) -> io::Result<(String, u64, u128)> {
    let meta = std::fs::metadata(path)?;
    let modified = meta
        .modified()?
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok((name, meta.len(), modified))
}

impl Slot {
    /// The slot for loading `path` with `options` into `cache`. Reads the source's identity:
    /// for a folder, the size and time of every image in it.
    pub fn new(cache: Cache, path: &Path, options: &LoadOptions) -> Result<Self, LoadError> {
        let io = |cause| LoadError::Io {
            path: path.to_path_buf(),
            cause,
        };
        let source = std::fs::canonicalize(path).map_err(io)?;
        let files = if source.is_dir() {
            let (images, _) = super::folder::list_images(&source)?;
            images.iter().map(|f| stamp(f)).collect::<Result<_, _>>()
        } else {
            stamp(&source).map(|s| vec![s])
        }
        .map_err(io)?;
        let options = serde_json::json!({
            "range": options.range,
            "step": options.step,
            "subset": options.subset,
            "crop": options.crop,
            "resize": options.resize,
            "grayscale": options.grayscale,
            "resize_to_first": options.resize_to_first,
            "scaling": options.scaling,
        });
        let key = Key {
            format: FORMAT,
            source,
            files,
            options,
        };
        let digest = Sha256::digest(serde_json::to_vec(&key).unwrap_or_default());
        let digest = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
        Ok(Self { cache, key, digest })
    }

    fn frames_path(&self) -> PathBuf {
        self.cache.dir.join(format!("{}.npy", self.digest))
    }

    fn record_path(&self) -> PathBuf {
        self.cache.dir.join(format!("{}.json", self.digest))
    }

    /// The stack of a complete entry for this key, mapped without decoding; `None` when
    /// there is none (or it does not match: a digest collision, a damaged entry).
    pub fn lookup(&self) -> Option<super::Loaded> {
        let text = std::fs::read(self.record_path()).ok()?;
        let record: Record = serde_json::from_slice(&text).ok()?;
        if record.key != self.key {
            return None;
        }
        let frames = self.frames_path();
        let stack = map_entry(&frames, record.shape).ok()?;
        // Touching the record keeps recently used entries out of eviction.
        if let Ok(f) = File::options().append(true).open(self.record_path()) {
            let _ = f.set_modified(SystemTime::now());
        }
        let mut meta = StackMeta::new(&self.key.source, record.kind, ChannelOrder::Gray);
        meta.fps = record.fps;
        meta.duration_secs = record.duration_s;
        meta.original_dtype = record.original_dtype;
        meta.value_range = record.value_range.map(|(min, max)| ValueRange { min, max });
        meta.frame_step = record.frame_step;
        meta.source_frames = match record.source_frames {
            FramesRecord::Every { start, step, len } => SourceFrames::every(start, step, len),
            FramesRecord::Listed(v) => SourceFrames::Listed(v),
        };
        let stack = stack.with_meta(meta);
        let mut report = LoadReport::new(self.key.source.clone(), record.kind);
        report.frames_found = record.frames_found;
        report.frame_step = record.frame_step;
        report.skipped = record
            .skipped
            .into_iter()
            .map(|(name, reason)| Skipped { name, reason })
            .collect();
        report.notes = record.notes;
        report.cache = Some(CacheUse {
            bytes: std::fs::metadata(&frames).map_or(0, |m| m.len()),
            entry: frames,
            reused: true,
        });
        Some(super::Loaded { stack, report })
    }

    /// Starts an entry for frames of `frame` geometry, about `frames` of them (0: unknown):
    /// evicts old entries to make room under the limit, then checks the disk.
    pub fn begin(&self, frame: FrameGeometry, frames: usize) -> Result<EntryWriter, LoadError> {
        let cache = &self.cache;
        std::fs::create_dir_all(&cache.dir).map_err(|e| cache.io(e))?;
        let needed = (frame.bytes() as u64)
            .checked_mul(frames as u64)
            .and_then(|b| b.checked_add(HEADER_LEN as u64))
            .unwrap_or(u64::MAX);
        let mut entries = cache.entries()?;
        let mut held: u64 = entries.iter().map(|e| e.bytes).sum();
        let limit = cache.limit(held);
        if needed > limit {
            return Err(CacheError::OverLimit {
                dir: cache.dir.clone(),
                needed,
                limit,
            }
            .into());
        }
        // Least recently used first.
        entries.reverse();
        while held.saturating_add(needed) > limit {
            let Some(old) = entries.pop() else { break };
            remove_entry(&old).map_err(|e| cache.io(e))?;
            held = held.saturating_sub(old.bytes);
        }
        if let Some(free) = free_bytes(&cache.dir)
            && needed > free
        {
            return Err(CacheError::NoSpace {
                dir: cache.dir.clone(),
                needed,
                free,
            }
            .into());
        }
        EntryWriter::create(self, frame, limit, needed)
    }

    /// Writes the record that makes a finished entry complete: from here on it is found.
    pub fn commit(&self, loaded: &super::Loaded) -> Result<(), LoadError> {
        let meta = loaded.stack.meta();
        let report = &loaded.report;
        let record = Record {
            key: self.key.clone(),
            kind: meta.kind,
            shape: loaded.stack.shape(),
            fps: meta.fps,
            duration_s: meta.duration_secs,
            original_dtype: meta.original_dtype.clone(),
            value_range: meta.value_range.map(|r| (r.min, r.max)),
            frame_step: meta.frame_step,
            source_frames: match &meta.source_frames {
                SourceFrames::Every { start, step, len } => FramesRecord::Every {
                    start: *start,
                    step: *step,
                    len: *len,
                },
                SourceFrames::Listed(v) => FramesRecord::Listed(v.clone()),
            },
            frames_found: report.frames_found,
            skipped: report
                .skipped
                .iter()
                .map(|s| (s.name.clone(), s.reason.clone()))
                .collect(),
            notes: report.notes.clone(),
        };
        let text = serde_json::to_vec_pretty(&record).unwrap_or_default();
        let target = self.record_path();
        let temp = self
            .cache
            .dir
            .join(format!(".{}.json.partial", self.digest));
        std::fs::write(&temp, text)
            .and_then(|()| std::fs::rename(&temp, &target))
            .map_err(|e| {
                let _ = std::fs::remove_file(&temp);
                LoadError::from(self.cache.io(e))
            })
    }
}

/// Maps a finished `.npy` entry of `shape`, checking its header and length.
fn map_entry(path: &Path, shape: [usize; 4]) -> Result<FrameStack, String> {
    let file = File::open(path).map_err(|e| e.to_string())?;
    // SAFETY: the map is read-only; entries are only ever replaced by rename, never
    // rewritten in place, so a mapped entry does not change under the reader.
    let map = unsafe { Mmap::map(&file) }.map_err(|e| e.to_string())?;
    if map.get(..HEADER_LEN) != Some(&header(shape)[..]) {
        return Err("the entry's header does not match its record".into());
    }
    let [_, h, w, c] = shape;
    let strides = [h * w * c, w * c, c, 1];
    let meta = StackMeta::new(path, SourceKind::Npy, ChannelOrder::from_channels(c));
    FrameStack::from_mapped(Arc::new(map), HEADER_LEN, shape, strides, meta)
        .map_err(|e| e.to_string())
}

fn read_entry(record: &Path) -> Option<Entry> {
    let text = std::fs::read(record).ok()?;
    let parsed: Record = serde_json::from_slice(&text).ok()?;
    let frames = record.with_extension("npy");
    let frames_len = std::fs::metadata(&frames).ok()?.len();
    let record_meta = std::fs::metadata(record).ok()?;
    let last_used = record_meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
    Some(Entry {
        path: frames,
        source: parsed.key.source,
        kind: parsed.kind,
        shape: parsed.shape,
        bytes: frames_len + record_meta.len(),
        last_used_secs: last_used
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        last_used,
        record: record.to_path_buf(),
    })
}

/// Removes an entry, the record first so that it stops being found at once.
fn remove_entry(entry: &Entry) -> io::Result<()> {
    for path in [&entry.record, &entry.path] {
        match std::fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Bytes free for an unprivileged user on the disk holding `dir`.
pub fn free_bytes(dir: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut stats = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `c_path` is a valid NUL-terminated string and `stats` is written by the call
    // before it is read (only when it returns 0).
    let stats = unsafe {
        if libc::statvfs(c_path.as_ptr(), stats.as_mut_ptr()) != 0 {
            return None;
        }
        stats.assume_init()
    };
    #[allow(clippy::useless_conversion)] // the field types differ between platforms.
    Some(u64::from(stats.f_bavail).saturating_mul(u64::from(stats.f_frsize)))
}

/// The fixed-length header of a `uint8` `.npy` array of `shape`.
fn header(shape: [usize; 4]) -> Vec<u8> {
    let [n, h, w, c] = shape;
    let dict =
        format!("{{'descr': '|u1', 'fortran_order': False, 'shape': ({n}, {h}, {w}, {c}), }}");
    let mut out = Vec::with_capacity(HEADER_LEN);
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&((HEADER_LEN - 10) as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out.resize(HEADER_LEN - 1, b' ');
    out.push(b'\n');
    out
}

/// Frames being written to a new entry, in order. Dropped without [`EntryWriter::finish`],
/// it removes its temporary file.
#[derive(Debug)]
pub struct EntryWriter {
    temp: PathBuf,
    target: PathBuf,
    dir: PathBuf,
    file: Option<BufWriter<File>>,
    frame: FrameGeometry,
    frames: usize,
    limit: u64,
    /// The entry's expected size, for the message when the disk fills up.
    planned: u64,
    /// Renamed to its final name: the temporary file is gone.
    done: bool,
}

impl EntryWriter {
    fn create(
        slot: &Slot,
        frame: FrameGeometry,
        limit: u64,
        planned: u64,
    ) -> Result<Self, LoadError> {
        let cache = &slot.cache;
        let temp = cache.dir.join(format!(
            ".{}.{}.partial.npy",
            slot.digest,
            std::process::id()
        ));
        let file = File::create(&temp).map_err(|e| cache.io(e))?;
        crate::output::track_pending(&temp);
        let mut writer = Self {
            temp,
            target: slot.frames_path(),
            dir: cache.dir.clone(),
            // Frames at least this large go straight to the file, without a copy.
            file: Some(BufWriter::with_capacity(1 << 20, file)),
            frame,
            frames: 0,
            limit,
            planned,
            done: false,
        };
        let placeholder = header([0, frame.height, frame.width, frame.channels]);
        writer.write(&placeholder)?;
        Ok(writer)
    }

    pub fn frame(&self) -> FrameGeometry {
        self.frame
    }

    pub fn frames(&self) -> usize {
        self.frames
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), LoadError> {
        let Some(file) = self.file.as_mut() else {
            return Ok(());
        };
        file.write_all(bytes).map_err(|cause| self.error(cause))
    }

    fn error(&self, cause: io::Error) -> LoadError {
        // A full disk is the likely failure; say so with the figures.
        if cause.raw_os_error() == Some(libc::ENOSPC) {
            let written = (self.frames * self.frame.bytes() + HEADER_LEN) as u64;
            return CacheError::NoSpace {
                dir: self.dir.clone(),
                needed: self.planned.max(written),
                free: free_bytes(&self.dir).unwrap_or(0),
            }
            .into();
        }
        CacheError::Io {
            dir: self.dir.clone(),
            cause,
        }
        .into()
    }

    /// Appends one frame (`h × w × c` bytes, row-major).
    pub fn push(&mut self, frame: &[u8]) -> Result<(), LoadError> {
        if frame.len() != self.frame.bytes() {
            return Err(CacheError::Io {
                dir: self.dir.clone(),
                cause: io::Error::other(format!(
                    "a frame of {} bytes where {} were expected",
                    frame.len(),
                    self.frame.bytes()
                )),
            }
            .into());
        }
        let after = ((self.frames + 1) * self.frame.bytes() + HEADER_LEN) as u64;
        if after > self.limit {
            return Err(CacheError::OverLimit {
                dir: self.dir.clone(),
                needed: after,
                limit: self.limit,
            }
            .into());
        }
        self.write(frame)?;
        self.frames += 1;
        Ok(())
    }

    /// Completes the frames file: the header gets the frame count, the data goes to disk,
    /// and the file takes its final name. Returns it mapped, with `meta`, and how the load
    /// used the cache.
    pub fn finish(mut self, meta: StackMeta) -> Result<(FrameStack, CacheUse), LoadError> {
        let shape = [
            self.frames,
            self.frame.height,
            self.frame.width,
            self.frame.channels,
        ];
        let Some(file) = self.file.take() else {
            return Err(self.error(io::Error::other("the entry was already finished")));
        };
        let result = file
            .into_inner()
            .map_err(|e| e.into_error())
            .and_then(|mut file| {
                file.seek(SeekFrom::Start(0))?;
                file.write_all(&header(shape))?;
                // Durable before it gets a name that says it is complete.
                file.sync_data()
            })
            .and_then(|()| std::fs::rename(&self.temp, &self.target));
        result.map_err(|e| self.error(e))?;
        self.done = true;
        crate::output::forget_pending(&self.temp);
        let stack = map_entry(&self.target, shape)
            .map_err(|message| self.error(io::Error::other(message)))?
            .with_meta(meta);
        let bytes = std::fs::metadata(&self.target).map_or(0, |m| m.len());
        Ok((
            stack,
            CacheUse {
                entry: self.target.clone(),
                bytes,
                reused: false,
            },
        ))
    }
}

impl Drop for EntryWriter {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.temp);
            crate::output::forget_pending(&self.temp);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn header_is_what_numpy_reads_and_fixed_in_length() {
        let h = header([3, 2, 4, 1]);
        assert_eq!(h.len(), HEADER_LEN);
        assert_eq!(h.len() % 64, 0);
        let text = String::from_utf8_lossy(&h[10..]);
        assert!(
            text.starts_with("{'descr': '|u1', 'fortran_order': False, 'shape': (3, 2, 4, 1), }")
        );
        assert!(text.ends_with(" \n"));
        let huge = header([usize::MAX; 4]);
        assert_eq!(huge.len(), HEADER_LEN);
        assert!(String::from_utf8_lossy(&huge).contains(&usize::MAX.to_string()));
    }

    #[test]
    fn free_space_is_known_for_a_real_folder() {
        assert!(free_bytes(Path::new("/tmp")).is_some_and(|b| b > 0));
        assert!(free_bytes(Path::new("/no/such/folder")).is_none());
    }
}
