//! stackscope: open image stacks (folders of images, videos, `.npy`, multi-page TIFF) as one
//! `uint8` frame matrix, analyse them and export them.
//!
//! The core modules take plain data and a [`job::Job`] handle and return plain data or typed
//! errors; none of them knows about a window or a terminal. [`gui`] is the window: a thin
//! layer that runs those calls on worker threads and draws their results.

pub mod analyze;
pub mod audio;
pub mod batch;
pub mod display;
pub mod export;
pub mod gui;
pub mod interp;
pub mod job;
pub mod load;
pub mod media;
pub mod names;
pub mod ops;
pub mod output;
pub mod sample;
pub mod source;
pub mod stack;

pub use job::Job;
pub use load::{LoadError, LoadOptions, LoadReport, Loaded, load};
pub use stack::{FrameStack, StackMeta};
