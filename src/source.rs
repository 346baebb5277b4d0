//! Frame sources: a stream of `h × w × c` frames that sinks (the exporter, later the display
//! and analyzers) pull by index, without caring whether the frames sit in a loaded matrix or
//! are decoded on demand.

use std::sync::Arc;

use ndarray::ArrayView3;

use crate::load::{FrameGeometry, LoadError};
use crate::stack::FrameStack;

/// A frame could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("frame {index} is past the end ({len} frames)")]
    OutOfRange { index: usize, len: usize },
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error("frame {index}: {reason}")]
    Frame { index: usize, reason: String },
}

/// Frames in order, by index. Implementations may decode lazily; each frame has the same
/// geometry.
pub trait FrameSource: Send {
    fn len(&self) -> usize;

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Size and channel count (1 or 3) of every frame.
    fn geometry(&self) -> FrameGeometry;

    /// Frames per second of the source, when it has one.
    fn fps(&self) -> Option<f64>;

    /// Lends frame `index` to `use_frame`, as `h × w × c` bytes.
    fn with_frame(
        &mut self,
        index: usize,
        use_frame: &mut dyn FnMut(ArrayView3<u8>),
    ) -> Result<(), SourceError>;
}

/// A loaded stack as a source: frames are lent straight out of the matrix (or the map).
#[derive(Debug, Clone)]
pub struct StackSource {
    stack: Arc<FrameStack>,
}

impl StackSource {
    pub fn new(stack: Arc<FrameStack>) -> Self {
        Self { stack }
    }
}

impl FrameSource for StackSource {
    fn len(&self) -> usize {
        self.stack.len()
    }

    fn geometry(&self) -> FrameGeometry {
        FrameGeometry {
            width: self.stack.width(),
            height: self.stack.height(),
            channels: self.stack.channels(),
        }
    }

    fn fps(&self) -> Option<f64> {
        self.stack.meta().fps
    }

    fn with_frame(
        &mut self,
        index: usize,
        use_frame: &mut dyn FnMut(ArrayView3<u8>),
    ) -> Result<(), SourceError> {
        let frame = self.stack.frame(index).ok_or(SourceError::OutOfRange {
            index,
            len: self.stack.len(),
        })?;
        use_frame(frame);
        Ok(())
    }
}
