//! The wgpu path: `shaders/blend.wgsl` blends frames and converts source frames to YUV 4:2:0
//! on the device, with integer arithmetic identical to the CPU code (bit-exact results).
//!
//! Source frames are uploaded once and stay resident while their pair is in use (the pair
//! window slides: frame b of one pair is frame a of the next, and is not uploaded again).
//! Only blended results come back, 1.5 bytes per pixel, read straight into the caller's
//! planes (the encoder's picture buffer during export).

use std::sync::Arc;

use ndarray::ArrayView3;

use super::{BlendError, Blender, PlanesMut, Yuv420};

const WORKGROUP: u32 = 256;
const MAX_GROUPS_X: u32 = 65535;

/// Why the GPU path is not available.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GpuError {
    #[error("no GPU adapter: {0}")]
    NoAdapter(String),
    #[error("the GPU device could not be opened: {0}")]
    Device(String),
    #[error("the GPU failed: {0}")]
    Failed(String),
}

impl From<GpuError> for BlendError {
    fn from(e: GpuError) -> Self {
        BlendError::Device(e.to_string())
    }
}

/// A device with the two pipelines, shared by the converter and the blender.
#[derive(Debug)]
pub struct GpuContext {
    device: wgpu::Device,
    queue: wgpu::Queue,
    info: wgpu::AdapterInfo,
    blend: wgpu::ComputePipeline,
    convert: wgpu::ComputePipeline,
    /// The first error wgpu reported outside an error scope (validation, out of memory).
    /// wgpu's default handler panics; here it is kept and turned into a [`GpuError`] at the
    /// next readback, so the export hands over to the CPU instead of dying.
    error: Arc<std::sync::Mutex<Option<String>>>,
}

fn words_for(bytes: usize) -> usize {
    bytes.div_ceil(4)
}

/// Workgroups to cover `words` invocations, split over x and y (x is capped at 65535).
fn dispatch_size(words: u32) -> (u32, u32) {
    let groups = words.div_ceil(WORKGROUP).max(1);
    (groups.min(MAX_GROUPS_X), groups.div_ceil(MAX_GROUPS_X))
}

impl GpuContext {
    /// Opens the best adapter. `WGPU_BACKEND` (vulkan, gl, metal, dx12) restricts the
    /// backends, as in every wgpu program.
    pub fn new() -> Result<Arc<Self>, GpuError> {
        let instance =
            wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        let adapter = pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::HighPerformance,
            ..Default::default()
        }))
        .map_err(|e| GpuError::NoAdapter(e.to_string()))?;
        let info = adapter.get_info();
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("stackscope"),
            required_limits: adapter.limits(),
            ..Default::default()
        }))
        .map_err(|e| GpuError::Device(e.to_string()))?;
        let error = Arc::new(std::sync::Mutex::new(None));
        let sink = error.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            let mut slot = sink
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            slot.get_or_insert_with(|| e.to_string());
        }));
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("blend.wgsl"),
            source: wgpu::ShaderSource::Wgsl(include_str!("../../shaders/blend.wgsl").into()),
        });
        let pipeline = |entry: &str| {
            device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(entry),
                layout: None,
                module: &module,
                entry_point: Some(entry),
                compilation_options: Default::default(),
                cache: None,
            })
        };
        let blend = pipeline("blend");
        let convert = pipeline("convert");
        let context = Self {
            device,
            queue,
            info,
            blend,
            convert,
            error,
        };
        context.check()?;
        Ok(Arc::new(context))
    }

    /// The error wgpu reported since the device opened, if any.
    fn check(&self) -> Result<(), GpuError> {
        let slot = self
            .error
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match slot.as_ref() {
            Some(e) => Err(GpuError::Failed(e.clone())),
            None => Ok(()),
        }
    }

    /// Adapter name and backend, for reports.
    pub fn describe(&self) -> String {
        format!(
            "{} ({:?}, {:?})",
            self.info.name, self.info.backend, self.info.device_type
        )
    }

    /// True for software rasterizers (lavapipe, llvmpipe, WARP): slower than the CPU blender.
    pub fn is_software(&self) -> bool {
        self.info.device_type == wgpu::DeviceType::Cpu
    }

    fn storage(&self, label: &str, words: usize, extra: wgpu::BufferUsages) -> wgpu::Buffer {
        self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: (words.max(1) * 4) as u64,
            usage: wgpu::BufferUsages::STORAGE | extra,
            mapped_at_creation: false,
        })
    }

    fn uniform(&self, values: &[u32; 8]) -> wgpu::Buffer {
        let buffer = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("params"),
            size: 32,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        self.queue.write_buffer(&buffer, 0, &bytes_of(values));
        buffer
    }

    /// Uploads bytes (padded to whole words) into a new storage buffer.
    fn upload(&self, label: &str, bytes: &[u8]) -> wgpu::Buffer {
        let buffer = self.storage(label, words_for(bytes.len()), wgpu::BufferUsages::COPY_DST);
        let whole = bytes.len() / 4 * 4;
        if whole > 0 {
            self.queue.write_buffer(&buffer, 0, &bytes[..whole]);
        }
        if whole < bytes.len() {
            let mut tail = [0u8; 4];
            tail[..bytes.len() - whole].copy_from_slice(&bytes[whole..]);
            self.queue.write_buffer(&buffer, whole as u64, &tail);
        }
        buffer
    }

    fn bind_group(
        &self,
        pipeline: &wgpu::ComputePipeline,
        entries: &[wgpu::BindGroupEntry],
    ) -> wgpu::BindGroup {
        self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &pipeline.get_bind_group_layout(0),
            entries,
        })
    }

    /// Runs `pipeline` over `words` invocations, then copies `copy.0` into `copy.1`.
    fn run(
        &self,
        pipeline: &wgpu::ComputePipeline,
        bind_group: &wgpu::BindGroup,
        words: u32,
        copy: Option<(&wgpu::Buffer, &wgpu::Buffer)>,
    ) -> wgpu::SubmissionIndex {
        let mut encoder = self.device.create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            pass.set_pipeline(pipeline);
            pass.set_bind_group(0, bind_group, &[]);
            let (x, y) = dispatch_size(words);
            pass.dispatch_workgroups(x, y, 1);
        }
        if let Some((from, to)) = copy {
            encoder.copy_buffer_to_buffer(from, 0, to, 0, from.size());
        }
        self.queue.submit([encoder.finish()])
    }

    /// Waits for submission `done` (only that one: later work keeps running), maps `staging`
    /// and hands its bytes to `read`.
    fn read_back(
        &self,
        staging: &wgpu::Buffer,
        done: wgpu::SubmissionIndex,
        read: impl FnOnce(&[u8]),
    ) -> Result<(), GpuError> {
        let slice = staging.slice(..);
        let (tx, rx) = std::sync::mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        self.device
            .poll(wgpu::PollType::Wait {
                submission_index: Some(done),
                timeout: None,
            })
            .map_err(|e| GpuError::Failed(e.to_string()))?;
        // A validation error means the bytes about to be read are not the result.
        self.check()?;
        rx.recv()
            .map_err(|e| GpuError::Failed(e.to_string()))?
            .map_err(|e| GpuError::Failed(e.to_string()))?;
        {
            let view = slice
                .get_mapped_range()
                .map_err(|e| GpuError::Failed(e.to_string()))?;
            read(&view);
        }
        staging.unmap();
        Ok(())
    }

    fn staging(&self, words: usize) -> wgpu::Buffer {
        self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size: (words.max(1) * 4) as u64,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    }

    /// Converts an `h × w × c` frame (c = 1 or 3) to YUV 4:2:0 of `width × height` (even, at
    /// most the frame's size) on the device.
    pub fn convert(
        &self,
        frame: ArrayView3<u8>,
        width: usize,
        height: usize,
    ) -> Result<Yuv420, GpuError> {
        let (_, src_w, channels) = frame.dim();
        let bytes: Vec<u8> = match frame.as_slice() {
            Some(s) => s.to_vec(),
            None => frame.iter().copied().collect(),
        };
        let mut out = Yuv420::new(width, height);
        let words = words_for(out.data().len());
        let source = self.upload("source", &bytes);
        let planes = self.storage("planes", words, wgpu::BufferUsages::COPY_SRC);
        let params = self.uniform(&[
            width as u32,
            height as u32,
            (src_w * channels) as u32,
            channels as u32,
            words as u32,
            0,
            0,
            0,
        ]);
        let staging = self.staging(words);
        let bind_group = self.bind_group(
            &self.convert,
            &[
                wgpu::BindGroupEntry {
                    binding: 4,
                    resource: source.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 5,
                    resource: planes.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 6,
                    resource: params.as_entire_binding(),
                },
            ],
        );
        let done = self.run(
            &self.convert,
            &bind_group,
            words as u32,
            Some((&planes, &staging)),
        );
        let n = out.data().len();
        self.read_back(&staging, done, |bytes| {
            out.data_mut().copy_from_slice(&bytes[..n])
        })?;
        Ok(out)
    }
}

fn bytes_of(values: &[u32; 8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (chunk, v) in out.chunks_exact_mut(4).zip(values) {
        chunk.copy_from_slice(&v.to_le_bytes());
    }
    out
}

/// A frame resident on the device, remembered by the `Arc` it came from.
struct Resident {
    frame: Arc<Yuv420>,
    buffer: wgpu::Buffer,
}

/// One output buffer and its readback buffer; `in_flight` names the weight being blended
/// into it and the submission to wait for.
struct Slot {
    blended: wgpu::Buffer,
    staging: wgpu::Buffer,
    /// Weight and word count for the kernel; rewritten per blend.
    params: wgpu::Buffer,
    /// Pair + this slot's buffers; rebuilt when the pair changes, not per frame.
    bind_group: Option<wgpu::BindGroup>,
    in_flight: Option<(u16, wgpu::SubmissionIndex)>,
}

/// Blends on the GPU; see the module docs. With [`Blender::prefetch`], two output slots
/// alternate: while frame i is read back, frame i+1 is already being blended.
pub struct GpuBlender {
    context: Arc<GpuContext>,
    pair: Option<(Resident, Resident)>,
    slots: Vec<Slot>,
    size: (usize, usize),
    upcoming: std::collections::VecDeque<u16>,
}

impl GpuBlender {
    pub fn new(context: Arc<GpuContext>) -> Self {
        Self {
            context,
            pair: None,
            slots: Vec::new(),
            size: (0, 0),
            upcoming: Default::default(),
        }
    }

    /// The device buffer of `frame`: one of `kept` when it is already resident (the sliding
    /// window: a pair's first frame is usually the previous pair's second), else uploaded.
    fn resident(&self, frame: Arc<Yuv420>, kept: &mut Vec<Resident>) -> Resident {
        if let Some(i) = kept.iter().position(|r| Arc::ptr_eq(&r.frame, &frame)) {
            return kept.swap_remove(i);
        }
        let buffer = self.context.upload("frame", frame.data());
        Resident { frame, buffer }
    }

    /// Starts blending `weight` into slot `i`.
    fn submit(&mut self, i: usize, weight: u16) -> Result<(), BlendError> {
        let (ra, _) = self.pair.as_ref().ok_or(BlendError::NoPair)?;
        let words = words_for(ra.frame.data().len()) as u32;
        let slot = &self.slots[i];
        let bind_group = slot.bind_group.as_ref().ok_or(BlendError::NoPair)?;
        self.context.queue.write_buffer(
            &slot.params,
            0,
            &bytes_of(&[u32::from(weight), words, 0, 0, 0, 0, 0, 0]),
        );
        let done = self.context.run(
            &self.context.blend,
            bind_group,
            words,
            Some((&slot.blended, &slot.staging)),
        );
        self.slots[i].in_flight = Some((weight, done));
        Ok(())
    }

    /// Drops blends started for a pair that is no longer current.
    fn settle(&mut self) -> Result<(), BlendError> {
        for slot in &mut self.slots {
            if let Some((_, done)) = slot.in_flight.take() {
                self.context
                    .device
                    .poll(wgpu::PollType::Wait {
                        submission_index: Some(done),
                        timeout: None,
                    })
                    .map_err(|e| BlendError::Device(e.to_string()))?;
            }
        }
        self.context.check()?;
        self.upcoming.clear();
        Ok(())
    }
}

impl Blender for GpuBlender {
    fn name(&self) -> String {
        format!("gpu: {}", self.context.describe())
    }

    fn set_pair(&mut self, a: Arc<Yuv420>, b: Arc<Yuv420>) -> Result<(), BlendError> {
        if (a.width(), a.height()) != (b.width(), b.height()) {
            return Err(BlendError::SizeMismatch);
        }
        self.settle()?;
        let mut kept: Vec<Resident> = self
            .pair
            .take()
            .map(|(x, y)| vec![x, y])
            .unwrap_or_default();
        let ra = self.resident(a, &mut kept);
        let rb = self.resident(b, &mut kept);
        let size = (ra.frame.width(), ra.frame.height());
        if self.size != size || self.slots.is_empty() {
            let words = words_for(ra.frame.data().len());
            self.slots = (0..2)
                .map(|_| Slot {
                    blended: self
                        .context
                        .storage("blended", words, wgpu::BufferUsages::COPY_SRC),
                    staging: self.context.staging(words),
                    params: self.context.uniform(&[0; 8]),
                    bind_group: None,
                    in_flight: None,
                })
                .collect();
            self.size = size;
        }
        for slot in &mut self.slots {
            slot.bind_group = Some(self.context.bind_group(
                &self.context.blend,
                &[
                    wgpu::BindGroupEntry {
                        binding: 0,
                        resource: ra.buffer.as_entire_binding(),
                    },
                    wgpu::BindGroupEntry {
                        binding: 1,
                        resource: rb.buffer.as_entire_binding(),
                    },
                    wgpu::BindGroupEntry {
                        binding: 2,
                        resource: slot.blended.as_entire_binding(),
                    },
                    wgpu::BindGroupEntry {
                        binding: 3,
                        resource: slot.params.as_entire_binding(),
                    },
                ],
            ));
        }
        self.pair = Some((ra, rb));
        Ok(())
    }

    fn prefetch(&mut self, weights: &[u16]) {
        self.upcoming = weights.iter().copied().collect();
    }

    fn blend_into(&mut self, weight: u16, out: &mut PlanesMut) -> Result<(), BlendError> {
        if self.pair.is_none() {
            return Err(BlendError::NoPair);
        }
        if self.size != (out.width, out.height) {
            return Err(BlendError::SizeMismatch);
        }
        if weight > 256 {
            return Err(BlendError::Weight(weight));
        }
        // The slot already blending this weight, or a free one started now.
        let mine = match self
            .slots
            .iter()
            .position(|s| s.in_flight.as_ref().is_some_and(|f| f.0 == weight))
        {
            Some(i) => i,
            None => {
                let free = self
                    .slots
                    .iter()
                    .position(|s| s.in_flight.is_none())
                    .unwrap_or(0);
                self.submit(free, weight)?;
                free
            }
        };
        if self.upcoming.front() == Some(&weight) {
            self.upcoming.pop_front();
        }
        // Keep the other slot busy with the next weight while this one is read back.
        let other = 1 - mine;
        if self.slots[other].in_flight.is_none()
            && let Some(next) = self.upcoming.pop_front()
        {
            self.submit(other, next)?;
        }
        let Some((_, done)) = self.slots[mine].in_flight.take() else {
            return Err(BlendError::NoPair);
        };
        let (w, h) = self.size;
        self.context
            .read_back(&self.slots[mine].staging, done, |bytes| {
                let mut offset = 0;
                for p in 0..3 {
                    let (pw, ph) = if p == 0 { (w, h) } else { (w / 2, h / 2) };
                    let stride = out.strides[p];
                    for row in 0..ph {
                        out.planes[p][row * stride..row * stride + pw]
                            .copy_from_slice(&bytes[offset + row * pw..offset + (row + 1) * pw]);
                    }
                    offset += pw * ph;
                }
            })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interp::CpuBlender;
    use ndarray::Array3;

    fn noise(h: usize, w: usize, c: usize, seed: u32) -> Array3<u8> {
        let mut state = seed | 1;
        Array3::from_shape_simple_fn((h, w, c), || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 7) as u8
        })
    }

    fn context() -> Arc<GpuContext> {
        // CI installs Mesa's lavapipe, so an adapter is always there.
        GpuContext::new().expect("a wgpu adapter (install mesa-vulkan-drivers)")
    }

    #[test]
    fn gpu_conversion_matches_the_cpu_for_odd_sizes_and_both_channel_counts() {
        let gpu = context();
        for (h, w, c) in [(7, 9, 3), (5, 13, 1), (2, 2, 3), (33, 17, 1)] {
            let frame = noise(h, w, c, (h * w + c) as u32);
            let (ew, eh) = crate::interp::even_size(w, h).unwrap();
            let mut cpu = Yuv420::new(ew, eh);
            cpu.fill_from(frame.view());
            let g = gpu.convert(frame.view(), ew, eh).unwrap();
            assert_eq!(g.data(), cpu.data(), "{h}×{w}×{c}");
        }
    }

    #[test]
    fn gpu_blend_equals_the_cpu_blend_exactly() {
        let gpu = context();
        for (w, h) in [(6, 4), (34, 18), (2, 2)] {
            let mut a = Yuv420::new(w, h);
            a.fill_from(noise(h, w, 3, 5).view());
            let mut b = Yuv420::new(w, h);
            b.fill_from(noise(h, w, 3, 99).view());
            let (a, b) = (Arc::new(a), Arc::new(b));
            let mut gb = GpuBlender::new(gpu.clone());
            let mut cb = CpuBlender::new();
            gb.set_pair(a.clone(), b.clone()).unwrap();
            cb.set_pair(a.clone(), b.clone()).unwrap();
            for weight in [0u16, 1, 77, 128, 255, 256] {
                let (mut g, mut c) = (Yuv420::new(w, h), Yuv420::new(w, h));
                gb.blend_into(weight, &mut g.as_planes_mut()).unwrap();
                cb.blend_into(weight, &mut c.as_planes_mut()).unwrap();
                assert_eq!(g.data(), c.data(), "{w}×{h} weight {weight}");
            }
            // Sliding to the next pair keeps b resident and blends correctly.
            let mut c2 = Yuv420::new(w, h);
            c2.fill_from(noise(h, w, 3, 7).view());
            let c2 = Arc::new(c2);
            gb.set_pair(b.clone(), c2.clone()).unwrap();
            cb.set_pair(b, c2).unwrap();
            let (mut g, mut c) = (Yuv420::new(w, h), Yuv420::new(w, h));
            gb.blend_into(100, &mut g.as_planes_mut()).unwrap();
            cb.blend_into(100, &mut c.as_planes_mut()).unwrap();
            assert_eq!(g.data(), c.data());
        }
    }

    #[test]
    fn prefetched_sequences_come_back_in_order_and_exact() {
        let gpu = context();
        let (w, h) = (64, 36);
        let mut a = Yuv420::new(w, h);
        a.fill_from(noise(h, w, 3, 11).view());
        let mut b = Yuv420::new(w, h);
        b.fill_from(noise(h, w, 1, 12).view());
        let (a, b) = (Arc::new(a), Arc::new(b));
        let weights: Vec<u16> = (1..=9).map(|j| j * 25).collect();
        let mut gb = GpuBlender::new(gpu);
        let mut cb = CpuBlender::new();
        gb.set_pair(a.clone(), b.clone()).unwrap();
        cb.set_pair(a, b).unwrap();
        gb.prefetch(&weights);
        for &weight in &weights {
            let (mut g, mut c) = (Yuv420::new(w, h), Yuv420::new(w, h));
            gb.blend_into(weight, &mut g.as_planes_mut()).unwrap();
            cb.blend_into(weight, &mut c.as_planes_mut()).unwrap();
            assert_eq!(g.data(), c.data(), "weight {weight}");
        }
    }

    #[test]
    fn dispatch_covers_every_word() {
        assert_eq!(dispatch_size(1), (1, 1));
        assert_eq!(dispatch_size(256 * 65535), (65535, 1));
        let (x, y) = dispatch_size(256 * 65535 + 1);
        assert_eq!((x, y), (65535, 2));
    }
}
