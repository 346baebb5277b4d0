//! Folders of images (and single image files): natural sort, majority extension, parallel
//! decode straight into the preallocated matrix.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::Loaded;
use super::cache::Slot;
use super::error::LoadError;
use super::fill::{self, Matrix, SlotOutcome};
use super::guard;
use super::image_file::{self, Decoded};
use super::options::LoadOptions;
use super::report::LoadReport;
use super::shape::{FitError, GeometryError, Shaper};
use crate::job::Job;
use crate::stack::{SourceKind, StackMeta};

/// Extensions the folder loader reads, grouped so that `jpg` and `jpeg` count together.
const GROUPS: [(&str, &[&str]); 5] = [
    ("png", &["png"]),
    ("jpeg", &["jpg", "jpeg"]),
    ("tiff", &["tif", "tiff"]),
    ("bmp", &["bmp"]),
    ("webp", &["webp"]),
];

fn group_of(path: &Path) -> Option<&'static str> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    GROUPS
        .iter()
        .find(|(_, exts)| exts.contains(&ext.as_str()))
        .map(|(g, _)| *g)
}

/// True when `path` has an extension the image loader reads.
pub fn is_image_file(path: &Path) -> bool {
    group_of(path).is_some()
}

/// The image files of `dir`: the most common type only, in natural order (`img2` < `img10`).
/// Returns the files and a note about files of other types that were ignored.
pub fn list_images(dir: &Path) -> Result<(Vec<PathBuf>, Option<String>), LoadError> {
    let io_err = |cause| LoadError::Io {
        path: dir.to_path_buf(),
        cause,
    };
    let mut by_group: BTreeMap<&'static str, Vec<PathBuf>> = BTreeMap::new();
    for entry in std::fs::read_dir(dir).map_err(io_err)? {
        let entry = entry.map_err(io_err)?;
        let path = entry.path();
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if hidden || !path.is_file() {
            continue;
        }
        if let Some(group) = group_of(&path) {
            by_group.entry(group).or_default().push(path);
        }
    }
    // Majority wins; on a tie the order of GROUPS decides, so the choice is stable.
    let best = GROUPS
        .iter()
        .map(|(g, _)| *g)
        .max_by_key(|g| {
            let rank = GROUPS.len() - GROUPS.iter().position(|(x, _)| x == g).unwrap_or(0);
            (by_group.get(g).map_or(0, Vec::len), rank)
        })
        .unwrap_or("png");
    let mut files = by_group.remove(best).unwrap_or_default();
    if files.is_empty() {
        return Err(LoadError::NoImages {
            path: dir.to_path_buf(),
        });
    }
    let others: usize = by_group.values().map(Vec::len).sum();
    let note = (others > 0).then(|| {
        format!("ignored {others} image files of other types: the folder is mostly {best}")
    });
    files.sort_by(|a, b| natord::compare(&file_name(a), &file_name(b)));
    Ok((files, note))
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Loads the images of a folder.
pub fn load_folder(
    dir: &Path,
    options: &LoadOptions,
    cache: Option<&Slot>,
    job: &Job,
) -> Result<Loaded, LoadError> {
    let (files, note) = list_images(dir)?;
    let mut loaded = load_files(dir, &files, SourceKind::Folder, options, cache, job)?;
    loaded.report.notes.extend(note);
    Ok(loaded)
}

/// Loads one image file as a one-frame stack.
pub fn load_image(path: &Path, options: &LoadOptions, job: &Job) -> Result<Loaded, LoadError> {
    load_files(
        path,
        &[path.to_path_buf()],
        SourceKind::Image,
        options,
        None,
        job,
    )
}

/// A frame whose size differs from the first one's.
struct OddSize {
    index: usize,
    width: usize,
    height: usize,
}

fn load_files(
    source: &Path,
    files: &[PathBuf],
    kind: SourceKind,
    options: &LoadOptions,
    cache: Option<&Slot>,
    job: &Job,
) -> Result<Loaded, LoadError> {
    let mut report = LoadReport::new(source.to_path_buf(), kind);
    report.frames_found = files.len();
    let wanted = options.select(files.len(), 1);
    if wanted.is_empty() {
        return Err(LoadError::EmptySelection {
            path: source.to_path_buf(),
            found: files.len(),
        });
    }
    let prefer_gray = options.grayscale;

    // The first frame that decodes fixes the geometry of the stack.
    let mut first: Option<(usize, Decoded)> = None;
    let mut first_failures = Vec::new();
    for i in wanted.iter() {
        job.check()?;
        match image_file::decode(&files[i], prefer_gray) {
            Ok(d) => {
                first = Some((i, d));
                break;
            }
            Err(reason) => first_failures.push((i, reason)),
        }
    }
    let Some((first_index, first)) = first else {
        let first = first_failures
            .first()
            .map(|(i, r)| format!("{}: {r}", file_name(&files[*i])))
            .unwrap_or_default();
        return Err(LoadError::NothingDecoded {
            path: source.to_path_buf(),
            tried: wanted.len(),
            first,
        });
    };
    let geometry_err = |cause: GeometryError| LoadError::Geometry {
        path: files[first_index].clone(),
        cause,
    };
    let shaper = Shaper::new(first.geometry, options).map_err(geometry_err)?;
    let out = shaper.output();

    let limit = guard::ram_limit(options);
    let placement = guard::place(source, out, wanted.len(), limit, cache)?;
    let extra_step = placement.extra_step();
    report.guard = placement.decision();
    // Bounded by the listing: a list is fine from here on.
    let selected = options.select(files.len(), extra_step).to_vec();
    report.frame_step = options.requested_step() * extra_step;

    let mut matrix = Matrix::new(placement, selected.len(), out);
    job.set_total(selected.len() as u64);
    job.set_message(format!("decoding {} images", selected.len()));
    let src_geometry = first.geometry;
    let outcomes = matrix.fill(selected.len(), job, |slot_index, slot| {
        let index = selected[slot_index];
        let decoded = if index == first_index {
            None
        } else {
            match image_file::decode(&files[index], prefer_gray) {
                Ok(d) => Some(d),
                Err(reason) => return SlotOutcome::Skipped(reason),
            }
        };
        let frame = decoded.as_ref().unwrap_or(&first);
        let Some(view) = frame.view() else {
            return SlotOutcome::Skipped("decoder returned a short buffer".into());
        };
        match shaper.apply_fitting(view, options.resize_to_first, slot) {
            Ok(()) => {}
            Err(FitError::OddSize { width, height }) => {
                return SlotOutcome::Fatal(OddSize {
                    index,
                    width,
                    height,
                });
            }
            Err(FitError::Geometry(e)) => return SlotOutcome::Skipped(e.to_string()),
        }
        SlotOutcome::Filled
    })?;

    let settled = fill::settle(
        outcomes,
        &selected,
        |i| file_name(&files[i]),
        &mut report.skipped,
    );
    if let Some(odd) = settled.fatal.iter().min_by_key(|odd| odd.index) {
        return Err(LoadError::MixedSizes {
            path: files[odd.index].clone(),
            width: src_geometry.width,
            height: src_geometry.height,
            found_width: odd.width,
            found_height: odd.height,
        });
    }
    let mut meta = StackMeta::new(source, kind, crate::stack::ChannelOrder::Gray);
    meta.frame_step = report.frame_step;
    meta.source_frames = settled.source_frames.into();
    let (stack, cache_use) = matrix.finish(&settled.keep, meta)?;
    report.frames_loaded = stack.len();
    report.cache = cache_use;
    Ok(Loaded { stack, report })
}
