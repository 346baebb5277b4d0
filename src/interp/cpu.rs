//! The CPU blender: integer arithmetic over the three planes at once, split across threads.

use std::sync::Arc;

use rayon::prelude::*;

use super::{BlendError, Blender, Yuv420};

/// Bytes per parallel task: large enough that scheduling costs nothing, small enough that
/// both cores get work on a 720p frame (1.4 MB).
const CHUNK: usize = 64 * 1024;

#[derive(Debug, Default)]
pub struct CpuBlender {
    pair: Option<(Arc<Yuv420>, Arc<Yuv420>)>,
}

impl CpuBlender {
    pub fn new() -> Self {
        Self::default()
    }
}

/// `out = (a·(256−w) + b·w + 128) >> 8` per byte, in u16 lanes the compiler vectorizes.
pub fn blend_slices(a: &[u8], b: &[u8], weight: u16, out: &mut [u8]) {
    let wa = 256 - weight;
    out.par_chunks_mut(CHUNK)
        .zip(a.par_chunks(CHUNK).zip(b.par_chunks(CHUNK)))
        .for_each(|(o, (a, b))| {
            for ((o, &a), &b) in o.iter_mut().zip(a).zip(b) {
                // 255·256 + 128 < 65536: u16 is enough.
                *o = ((u16::from(a) * wa + u16::from(b) * weight + 128) >> 8) as u8;
            }
        });
}

impl Blender for CpuBlender {
    fn name(&self) -> String {
        format!("cpu ({} threads)", rayon::current_num_threads())
    }

    fn set_pair(&mut self, a: Arc<Yuv420>, b: Arc<Yuv420>) -> Result<(), BlendError> {
        if (a.width(), a.height()) != (b.width(), b.height()) {
            return Err(BlendError::SizeMismatch);
        }
        self.pair = Some((a, b));
        Ok(())
    }

    fn blend_into(&mut self, weight: u16, out: &mut Yuv420) -> Result<(), BlendError> {
        let (a, b) = self.pair.as_ref().ok_or(BlendError::NoPair)?;
        if (a.width(), a.height()) != (out.width(), out.height()) {
            return Err(BlendError::SizeMismatch);
        }
        if weight > 256 {
            return Err(BlendError::Weight(weight));
        }
        blend_slices(a.data(), b.data(), weight, out.data_mut());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interp::schedule::blend_byte;

    #[test]
    fn matches_the_reference_formula_on_every_byte_pair() {
        let a: Vec<u8> = (0..=255)
            .flat_map(|x| std::iter::repeat_n(x as u8, 256))
            .collect();
        let b: Vec<u8> = (0..256 * 256).map(|i| (i % 256) as u8).collect();
        for w in [0u16, 1, 77, 128, 255, 256] {
            let mut out = vec![0; a.len()];
            blend_slices(&a, &b, w, &mut out);
            for i in 0..a.len() {
                assert_eq!(
                    out[i],
                    blend_byte(a[i], b[i], w),
                    "a={} b={} w={w}",
                    a[i],
                    b[i]
                );
            }
        }
    }

    #[test]
    fn blender_checks_its_inputs() {
        let mut blender = CpuBlender::new();
        let mut out = Yuv420::new(4, 2);
        assert_eq!(blender.blend_into(10, &mut out), Err(BlendError::NoPair));
        let a = Arc::new(Yuv420::new(4, 2));
        assert_eq!(
            blender.set_pair(a.clone(), Arc::new(Yuv420::new(2, 2))),
            Err(BlendError::SizeMismatch)
        );
        blender.set_pair(a.clone(), a).unwrap();
        assert_eq!(
            blender.blend_into(300, &mut out),
            Err(BlendError::Weight(300))
        );
        blender.blend_into(100, &mut out).unwrap();
    }
}
