//! `.npy` files, memory-mapped. A `uint8` array is never copied: frame range, step and crop
//! become strides of a window into the file, so a file larger than RAM opens at once. Other
//! dtypes are scaled to bytes on load (see [`Scaling`]); so are `uint8` arrays that must be
//! reshaped (grayscale, resize, RGBA).

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use memmap2::Mmap;
use ndarray::{ArrayView4, ArrayViewD, Axis, Ix4};
use ndarray_npy::ViewNpyExt;
use ndarray_npy::npy::header::{Header, Layout};
use rayon::prelude::*;

use super::Loaded;
use super::error::LoadError;
use super::fill::{self, SlotOutcome};
use super::guard;
use super::options::{LoadOptions, Scaling, Selection};
use super::report::LoadReport;
use super::shape::{FrameGeometry, Shaper};
use crate::job::Job;
use crate::stack::{ChannelOrder, FrameStack, SourceKind, StackMeta, ValueRange};

/// Element types the loader accepts, with numpy's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dtype {
    Bool,
    U8,
    I8,
    U16,
    I16,
    U32,
    I32,
    F32,
    F64,
}

impl Dtype {
    /// Parses a numpy type descriptor such as `|u1`, `<f4` or `>u2`; the flag says whether
    /// the bytes are in the other order than this machine's.
    fn parse(descr: &str) -> Result<(Self, bool), String> {
        let (order, code) = descr.split_at(descr.len().min(1));
        let native = if cfg!(target_endian = "little") {
            '<'
        } else {
            '>'
        };
        let multi_byte = !matches!(code, "u1" | "i1" | "b1");
        let swapped = order.starts_with(['<', '>']) && !order.starts_with(native) && multi_byte;
        let dtype = match code {
            "b1" => Self::Bool,
            "u1" => Self::U8,
            "i1" => Self::I8,
            "u2" => Self::U16,
            "i2" => Self::I16,
            "u4" => Self::U32,
            "i4" => Self::I32,
            "f4" => Self::F32,
            "f8" => Self::F64,
            "O" => return Err("object arrays cannot be loaded; save a numeric array".into()),
            _ => {
                return Err(format!(
                    "unsupported dtype '{descr}' (supported: bool, uint8, int8, uint16, int16, \
                     uint32, int32, float32, float64, in either byte order)"
                ));
            }
        };
        Ok((dtype, swapped))
    }

    fn size(self) -> usize {
        match self {
            Self::Bool | Self::U8 | Self::I8 => 1,
            Self::U16 | Self::I16 => 2,
            Self::U32 | Self::I32 | Self::F32 => 4,
            Self::F64 => 8,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Bool => "bool",
            Self::U8 => "uint8",
            Self::I8 => "int8",
            Self::U16 => "uint16",
            Self::I16 => "int16",
            Self::U32 => "uint32",
            Self::I32 => "int32",
            Self::F32 => "float32",
            Self::F64 => "float64",
        }
    }
}

/// A numeric element that can be scaled to a byte.
trait Sample: Copy + Send + Sync {
    fn to_f64(self) -> f64;
    /// The value range that `Scaling::FullRange` maps onto 0..=255.
    const FULL: (f64, f64);
}

macro_rules! sample {
    ($($t:ty => $lo:expr, $hi:expr);* $(;)?) => {$(
        impl Sample for $t {
            fn to_f64(self) -> f64 { self as f64 }
            const FULL: (f64, f64) = ($lo, $hi);
        }
    )*};
}
sample! {
    u8 => 0.0, 255.0; i8 => -128.0, 127.0; u16 => 0.0, 65535.0; i16 => -32768.0, 32767.0;
    u32 => 0.0, 4294967295.0; i32 => -2147483648.0, 2147483647.0; f32 => 0.0, 1.0; f64 => 0.0, 1.0;
}
// Elements stored in the other byte order than this machine's (`>u2` on x86) are read
// straight from the map as byte arrays (alignment 1, so any offset is fine) and swapped as
// they are converted.
macro_rules! swapped {
    ($($name:ident: $n:literal => $t:ty, $bits:ty);* $(;)?) => {$(
        #[derive(Clone, Copy)]
        #[repr(transparent)]
        struct $name([u8; $n]);
        impl Sample for $name {
            fn to_f64(self) -> f64 {
                <$t>::from_bits_swapped(<$bits>::from_ne_bytes(self.0).swap_bytes()) as f64
            }
            const FULL: (f64, f64) = <$t as Sample>::FULL;
        }
    )*};
}

/// The value whose native bits are `bits`.
trait FromBits<B> {
    fn from_bits_swapped(bits: B) -> Self;
}
macro_rules! from_bits {
    ($($t:ty, $b:ty, $f:expr);* $(;)?) => {$(
        impl FromBits<$b> for $t {
            fn from_bits_swapped(bits: $b) -> Self { $f(bits) }
        }
    )*};
}
from_bits! {
    u16, u16, |b| b; i16, u16, |b: u16| b as i16; u32, u32, |b| b; i32, u32, |b: u32| b as i32;
    f32, u32, f32::from_bits; f64, u64, f64::from_bits;
}
swapped! {
    SwappedU16: 2 => u16, u16; SwappedI16: 2 => i16, u16; SwappedU32: 4 => u32, u32;
    SwappedI32: 4 => i32, u32; SwappedF32: 4 => f32, u32; SwappedF64: 8 => f64, u64;
}

/// A view of the array's data as elements of `T`, which must be a byte array type
/// (alignment 1) of the dtype's size.
fn swapped_view<'a, const N: usize, T: Copy>(
    data: &'a [u8],
    shape: &[usize],
) -> Result<ArrayViewD<'a, T>, String> {
    debug_assert_eq!(std::mem::size_of::<T>(), N);
    debug_assert_eq!(std::mem::align_of::<T>(), 1);
    let count = data.len() / N;
    // SAFETY: T is a `repr(transparent)` wrapper of `[u8; N]` (size N, alignment 1), so any
    // byte address is aligned for it and `count * N` bytes lie within `data`.
    let elements = unsafe { std::slice::from_raw_parts(data.as_ptr().cast::<T>(), count) };
    ArrayViewD::from_shape(ndarray::IxDyn(shape), elements)
        .map_err(|e| format!("cannot view the data: {e}"))
}

impl Sample for bool {
    fn to_f64(self) -> f64 {
        f64::from(u8::from(self))
    }
    const FULL: (f64, f64) = (0.0, 1.0);
}

/// The array's shape as frames × height × width × channels.
fn frames_shape(shape: &[usize]) -> Result<[usize; 4], String> {
    match *shape {
        [h, w] => Ok([1, h, w, 1]),
        [n, h, w] => Ok([n, h, w, 1]),
        [n, h, w, c] if matches!(c, 1 | 3 | 4) => Ok([n, h, w, c]),
        [_, _, _, c] => Err(format!(
            "the last axis has {c} channels; stackscope reads 1 (gray), 3 (RGB) or 4 (RGBA)"
        )),
        _ => Err(format!(
            "a {}-dimensional array is not an image stack (expected h×w, n×h×w or n×h×w×c)",
            shape.len()
        )),
    }
}

/// Loads an `.npy` file.
pub fn load_npy(path: &Path, options: &LoadOptions, job: &Job) -> Result<Loaded, LoadError> {
    let err = |message: String| LoadError::Npy {
        path: path.to_path_buf(),
        message,
    };
    let file = File::open(path).map_err(|cause| LoadError::Io {
        path: path.to_path_buf(),
        cause,
    })?;
    // SAFETY: the map is read-only. If another process truncates the file while it is mapped,
    // reads fault; that is the accepted cost of opening files larger than RAM instantly.
    let map = unsafe { Mmap::map(&file) }.map_err(|cause| LoadError::Io {
        path: path.to_path_buf(),
        cause,
    })?;
    super::npy_header::check(&map).map_err(err)?;
    let mut rest: &[u8] = &map;
    let header =
        Header::from_reader(&mut rest).map_err(|e| err(format!("malformed .npy header: {e}")))?;
    let offset = map.len() - rest.len();
    // The descriptor is a Python literal: a quoted string for plain dtypes, a list for
    // structured ones.
    let literal = header.type_descriptor.to_string();
    let descr = literal
        .strip_prefix(['\'', '"'])
        .and_then(|t| t.strip_suffix(['\'', '"']))
        .ok_or_else(|| {
            err(format!(
                "structured dtype {literal} cannot be loaded; save a plain numeric array"
            ))
        })?
        .to_string();
    let (dtype, swapped) = Dtype::parse(&descr).map_err(err)?;
    let shape = frames_shape(&header.shape).map_err(err)?;
    if shape[1] == 0 || shape[2] == 0 {
        return Err(err(format!(
            "the header's shape {:?} has frames of {}×{} pixels: there is nothing to show",
            header.shape, shape[2], shape[1]
        )));
    }
    let nontrivial_axes = header.shape.iter().filter(|&&d| d > 1).count();
    if header.layout == Layout::Fortran && nontrivial_axes > 1 {
        return Err(err(
            "the array is in Fortran order; save it with np.save(path, np.ascontiguousarray(a))"
                .into(),
        ));
    }
    let data_bytes = shape
        .iter()
        .try_fold(dtype.size(), |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| err("the header's shape overflows".into()))?;
    if rest.len() < data_bytes {
        return Err(err(format!(
            "the header promises {data_bytes} bytes of data but the file holds {}: it is truncated",
            rest.len()
        )));
    }

    let mut report = LoadReport::new(path.to_path_buf(), SourceKind::Npy);
    report.frames_found = shape[0];
    let selected = options.select(shape[0], 1);
    if selected.is_empty() {
        return Err(LoadError::EmptySelection {
            path: path.to_path_buf(),
            found: shape[0],
        });
    }
    let map = Arc::new(map);
    let source = FrameGeometry {
        width: shape[2],
        height: shape[1],
        channels: shape[3],
    };
    let shaper = Shaper::new(source, options).map_err(|cause| LoadError::Geometry {
        path: path.to_path_buf(),
        cause,
    })?;
    let mut meta = StackMeta::new(path, SourceKind::Npy, ChannelOrder::Gray);

    if dtype == Dtype::U8 && !options.grayscale && options.resize.is_none() && shape[3] != 4 {
        let stack = mapped_window(map, offset, shape, &selected, options, meta)
            .map_err(|e| err(e.to_string()))?;
        report.frame_step = options.requested_step();
        report.frames_loaded = stack.len();
        report.mapped = true;
        return Ok(Loaded { stack, report });
    }

    let out = shaper.output();
    let limit = guard::ram_limit(options);
    let (extra_step, decision) = guard::plan(path, out.bytes() as u64, selected.len(), limit)?;
    report.guard = decision;
    report.frame_step = options.requested_step() * extra_step;
    // Bounded by the file's length and the guard: a list is fine from here on.
    let selected = options.select(shape[0], extra_step).to_vec();
    let data = &map[..offset + data_bytes];
    let view_err = |e: ndarray_npy::ViewNpyError| err(format!("cannot view the data: {e}"));
    // Bytes stay bytes: only wider types are rescaled.
    let scaling = if dtype == Dtype::U8 {
        Scaling::FullRange
    } else {
        options.scaling
    };
    macro_rules! convert_as {
        ($t:ty) => {
            convert(
                ArrayViewD::<$t>::view_npy(data).map_err(view_err)?,
                shape,
                &selected,
                &shaper,
                scaling,
                job,
            )
        };
    }
    macro_rules! convert_swapped {
        ($t:ty, $n:literal) => {
            convert(
                swapped_view::<$n, $t>(&data[offset..], &header.shape).map_err(err)?,
                shape,
                &selected,
                &shaper,
                scaling,
                job,
            )
        };
    }
    let converted = match (dtype, swapped) {
        (Dtype::U16, true) => Some(convert_swapped!(SwappedU16, 2)),
        (Dtype::I16, true) => Some(convert_swapped!(SwappedI16, 2)),
        (Dtype::U32, true) => Some(convert_swapped!(SwappedU32, 4)),
        (Dtype::I32, true) => Some(convert_swapped!(SwappedI32, 4)),
        (Dtype::F32, true) => Some(convert_swapped!(SwappedF32, 4)),
        (Dtype::F64, true) => Some(convert_swapped!(SwappedF64, 8)),
        _ => None,
    };
    let (pixels, range) = match converted {
        Some(done) => done,
        None => match dtype {
            Dtype::Bool => convert_as!(bool),
            Dtype::U8 => convert_as!(u8),
            Dtype::I8 => convert_as!(i8),
            Dtype::U16 => convert_as!(u16),
            Dtype::I16 => convert_as!(i16),
            Dtype::U32 => convert_as!(u32),
            Dtype::I32 => convert_as!(i32),
            Dtype::F32 => convert_as!(f32),
            Dtype::F64 => convert_as!(f64),
        },
    }
    .map_err(|e| match e {
        ConvertError::Cancelled => LoadError::Cancelled,
        ConvertError::Shape(m) => err(m),
    })?;
    if dtype != Dtype::U8 {
        meta.original_dtype = Some(dtype.name().to_string());
        meta.value_range = Some(range);
        let how = match options.scaling {
            Scaling::MinMax => "its minimum and maximum",
            Scaling::FullRange => "the type's full range",
        };
        let order = if swapped { " (byte-swapped)" } else { "" };
        report.notes.push(format!(
            "{}{order} values in [{}, {}] scaled to 0..255 by {how}",
            dtype.name(),
            range.min,
            range.max
        ));
    }
    meta.frame_step = report.frame_step;
    meta.source_frames = selected.into();
    report.frames_loaded = pixels.len_of(Axis(0));
    Ok(Loaded {
        stack: FrameStack::from_array(pixels, meta),
        report,
    })
}

/// A zero-copy window: the selection is arithmetic (start + k·step), the crop an offset.
fn mapped_window(
    map: Arc<Mmap>,
    offset: usize,
    shape: [usize; 4],
    selected: &Selection,
    options: &LoadOptions,
    mut meta: StackMeta,
) -> Result<FrameStack, crate::stack::WindowOutOfBounds> {
    let [_, h, w, c] = shape;
    let step = options.requested_step();
    let first = selected.first().unwrap_or(0);
    let (x, y, cw, ch) = options
        .crop
        .map_or((0, 0, w, h), |r| (r.x, r.y, r.width, r.height));
    let start = offset + first * h * w * c + (y * w + x) * c;
    meta.frame_step = step;
    meta.source_frames = selected.source_frames();
    FrameStack::from_mapped(
        map,
        start,
        [selected.len(), ch, cw, c],
        [step * h * w * c, w * c, c, 1],
        meta,
    )
}

enum ConvertError {
    Cancelled,
    Shape(String),
}

/// Scales the selected frames to bytes and shapes them into a new matrix.
fn convert<T: Sample>(
    view: ArrayViewD<T>,
    shape: [usize; 4],
    selected: &[usize],
    shaper: &Shaper,
    scaling: Scaling,
    job: &Job,
) -> Result<(ndarray::Array4<u8>, ValueRange), ConvertError> {
    let view: ArrayView4<T> = view
        .into_shape_with_order(shape)
        .and_then(|v| v.into_dimensionality::<Ix4>())
        .map_err(|e| ConvertError::Shape(format!("unexpected array layout: {e}")))?;
    job.set_total(selected.len() as u64 * if scaling == Scaling::MinMax { 2 } else { 1 });
    let (lo, hi) = match scaling {
        Scaling::FullRange => T::FULL,
        Scaling::MinMax => {
            job.set_message("finding the value range");
            let (lo, hi) = selected
                .par_iter()
                .map(|&i| {
                    job.advance(1);
                    view.index_axis(Axis(0), i).iter().fold(
                        (f64::INFINITY, f64::NEG_INFINITY),
                        |(lo, hi), &v| {
                            let v = v.to_f64();
                            if v.is_nan() {
                                (lo, hi)
                            } else {
                                (lo.min(v), hi.max(v))
                            }
                        },
                    )
                })
                .reduce(
                    || (f64::INFINITY, f64::NEG_INFINITY),
                    |a, b| (a.0.min(b.0), a.1.max(b.1)),
                );
            if lo.is_finite() && hi.is_finite() {
                (lo, hi)
            } else {
                (0.0, 0.0)
            }
        }
    };
    job.check().map_err(|_| ConvertError::Cancelled)?;
    let scale = if hi > lo { 255.0 / (hi - lo) } else { 0.0 };
    let to_byte = |v: T| -> u8 {
        let v = v.to_f64();
        if v.is_nan() {
            0
        } else {
            ((v - lo) * scale).round().clamp(0.0, 255.0) as u8
        }
    };
    let src = shaper.source();
    let out = shaper.output();
    let mut pixels = fill::allocate([selected.len(), out.height, out.width, out.channels]);
    job.set_message("converting to 8 bits");
    let outcomes = fill::fill_parallel::<(), _>(pixels.view_mut(), job, |slot_index, slot| {
        let frame = view.index_axis(Axis(0), selected[slot_index]);
        let bytes = frame.mapv(to_byte);
        debug_assert_eq!(bytes.shape(), [src.height, src.width, src.channels]);
        shaper.apply(bytes.view(), slot);
        SlotOutcome::Filled
    })
    .map_err(|_| ConvertError::Cancelled)?;
    debug_assert!(outcomes.iter().all(|o| matches!(o, SlotOutcome::Filled)));
    Ok((pixels, ValueRange { min: lo, max: hi }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dtype_descriptors() {
        assert_eq!(Dtype::parse("|u1"), Ok((Dtype::U8, false)));
        assert_eq!(Dtype::parse("<f4"), Ok((Dtype::F32, false)));
        assert_eq!(Dtype::parse("|b1"), Ok((Dtype::Bool, false)));
        assert_eq!(Dtype::parse(">f4"), Ok((Dtype::F32, true)));
        assert_eq!(Dtype::parse(">u1"), Ok((Dtype::U8, false)));
        assert!(Dtype::parse("|O").unwrap_err().contains("object"));
        assert!(Dtype::parse("<c8").unwrap_err().contains("unsupported"));
    }

    #[test]
    fn swapped_elements_read_as_numpy_writes_them() {
        // numpy: np.array([1, 258, 65535], '>u2').tobytes() and np.array([-2.5], '>f4')
        let be_u16 = [0u8, 1, 1, 2, 255, 255];
        let v = swapped_view::<2, SwappedU16>(&be_u16, &[3]).unwrap();
        let values: Vec<f64> = v.iter().map(|x| x.to_f64()).collect();
        assert_eq!(values, vec![1.0, 258.0, 65535.0]);
        let be_i16 = [0xffu8, 0xfe];
        let v = swapped_view::<2, SwappedI16>(&be_i16, &[1]).unwrap();
        assert_eq!(v[[0]].to_f64(), -2.0);
        let be_f32 = [0xc0u8, 0x20, 0, 0];
        let v = swapped_view::<4, SwappedF32>(&be_f32, &[1]).unwrap();
        assert_eq!(v[[0]].to_f64(), -2.5);
        let be_f64 = 0.1f64.to_be_bytes();
        let v = swapped_view::<8, SwappedF64>(&be_f64, &[1]).unwrap();
        assert_eq!(v[[0]].to_f64(), 0.1);
    }

    #[test]
    fn shapes() {
        assert_eq!(frames_shape(&[4, 5]), Ok([1, 4, 5, 1]));
        assert_eq!(frames_shape(&[2, 4, 5]), Ok([2, 4, 5, 1]));
        assert_eq!(frames_shape(&[2, 4, 5, 3]), Ok([2, 4, 5, 3]));
        assert!(frames_shape(&[2, 4, 5, 2]).is_err());
        assert!(frames_shape(&[5]).is_err());
    }
}
