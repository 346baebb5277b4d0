//! Which device blends: `auto` picks a real GPU when there is one and the CPU otherwise
//! (software adapters such as lavapipe blend a 720p frame in ~5–6.5 ms against ~0.1 ms for
//! the CPU blender); `gpu` insists on the GPU even when it is software; either falls back to
//! the CPU, with the reason, when no GPU can be opened.

use std::path::Path;
use std::sync::Arc;

use ndarray::ArrayView3;
use serde::Serialize;

use super::gpu::{GpuBlender, GpuContext};
use super::{BlendError, Blender, CpuBlender, Yuv420};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BlendDevice {
    #[default]
    Auto,
    Gpu,
    Cpu,
}

/// Converts source frames to YUV 4:2:0 on the device the blender uses.
#[derive(Debug, Clone)]
pub enum Converter {
    Cpu,
    Gpu(Arc<GpuContext>),
}

impl Converter {
    /// Converts `frame` to `width × height` (even) YUV 4:2:0. A GPU failure falls back to the
    /// CPU and says so in `note`.
    pub fn convert(
        &mut self,
        frame: ArrayView3<u8>,
        width: usize,
        height: usize,
        note: &mut Option<String>,
    ) -> Yuv420 {
        if let Converter::Gpu(context) = self {
            match context.convert(frame, width, height) {
                Ok(yuv) => return yuv,
                Err(e) => {
                    *note = Some(format!(
                        "GPU conversion failed ({e}); converting on the CPU from here on"
                    ));
                    *self = Converter::Cpu;
                }
            }
        }
        let mut yuv = Yuv420::new(width, height);
        yuv.fill_from(frame);
        yuv
    }
}

/// The blender, its converter, and why they were chosen.
pub struct Choice {
    pub blender: Box<dyn Blender>,
    pub converter: Converter,
    pub reason: String,
}

fn cpu(reason: String) -> Choice {
    Choice {
        blender: Box::new(CpuBlender::serial()),
        converter: Converter::Cpu,
        reason,
    }
}

/// Whether this machine may have a hardware GPU at all, decided without loading any graphics
/// driver: on Linux a GPU shows up as a DRM render node (`/dev/dri/renderD*`), an NVIDIA
/// device node or WSL's `/dev/dxg`. Probing through Vulkan on a machine with none would load
/// Mesa's software driver (and LLVM: ~60 MB resident) and print loader warnings only to
/// answer "CPU".
pub fn hardware_gpu_possible() -> bool {
    if !cfg!(target_os = "linux") {
        return true;
    }
    let render_node = std::fs::read_dir("/dev/dri").is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("renderD"))
    });
    render_node || Path::new("/dev/nvidia0").exists() || Path::new("/dev/dxg").exists()
}

/// The name of a hardware graphics adapter when there is one; `None` when the only adapter
/// is a software rasterizer (llvmpipe, lavapipe, WARP) or there is none.
pub fn hardware_adapter() -> Option<String> {
    if !hardware_gpu_possible() {
        return None;
    }
    let instance =
        wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    let adapter = pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
        power_preference: wgpu::PowerPreference::HighPerformance,
        ..Default::default()
    }))
    .ok()?;
    let info = adapter.get_info();
    (info.device_type != wgpu::DeviceType::Cpu).then_some(info.name)
}

/// Chooses the blending device for an export.
pub fn choose(device: BlendDevice) -> Choice {
    if device == BlendDevice::Cpu {
        return cpu("cpu: --blend-device cpu".into());
    }
    if device == BlendDevice::Auto && !hardware_gpu_possible() {
        return cpu("cpu: no GPU device on this machine (no /dev/dri render node)".into());
    }
    match GpuContext::new() {
        Err(e) => cpu(format!("cpu: {e}; fell back to the CPU blender")),
        Ok(context) if device == BlendDevice::Auto && context.is_software() => cpu(format!(
            "cpu: the only GPU adapter, {}, is a software rasterizer and slower than the CPU blender",
            context.describe()
        )),
        Ok(context) => Choice {
            reason: format!(
                "gpu: {} ({})",
                context.describe(),
                if device == BlendDevice::Gpu {
                    "--blend-device gpu"
                } else {
                    "a real GPU adapter"
                }
            ),
            blender: Box::new(GpuBlender::new(context.clone())),
            converter: Converter::Gpu(context),
        },
    }
}

/// After a device error mid-export: the CPU blender, holding the same pair.
pub fn cpu_fallback(
    pair: Option<(Arc<Yuv420>, Arc<Yuv420>)>,
) -> Result<Box<dyn Blender>, BlendError> {
    let mut blender = CpuBlender::serial();
    if let Some((a, b)) = pair {
        blender.set_pair(a, b)?;
    }
    Ok(Box::new(blender))
}
