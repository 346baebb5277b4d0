//! The window: an eframe app over the core, in three parts that point one way:
//!
//! - [`panels`] draw from a read-only view of the [`document`] and push [`command`]s;
//! - [`apply`] takes each command in one `match`, changing the document through its methods
//!   or starting work in the [`jobs`] registry;
//! - [`app`] is the frame loop: poll jobs, collect input, draw panels, apply commands.
//!
//! It keeps no data logic of its own: loading, ops, profiles, export and analysis are the
//! same library calls the command line makes.

mod app;
mod apply;
mod blend_view;
mod clock;
mod command;
mod document;
mod forms;
mod jobs;
mod panels;
mod readout;
mod saves;
mod shapes;
mod task;
mod texture;
mod viewer;
mod work;

use std::path::PathBuf;

pub use app::App;
pub use command::{Command, Window};
pub use forms::{AudioForm, ExportForm, LoadForm, NormalizeForm, PlaybackForm, Settings};
pub use panels::analyzers::AnalyzeForm;
pub use saves::Saved;
pub use viewer::Tool;

/// Which renderer draws the window, and why (shown in the status bar).
///
/// wgpu on a hardware adapter; glow (OpenGL) when the only adapter is a software rasterizer
/// (Xvfb, remote desktops, VMs), where it draws several times faster: a 1600×1000 window
/// took 0.4–1.6 s per frame with wgpu on llvmpipe. `STACKSCOPE_RENDERER=wgpu|glow` decides
/// instead.
pub fn pick_renderer(
    forced: Option<&str>,
    hardware: impl FnOnce() -> Option<String>,
) -> (eframe::Renderer, String) {
    match forced.map(str::to_ascii_lowercase).as_deref() {
        Some("glow") => return (eframe::Renderer::Glow, "glow (STACKSCOPE_RENDERER)".into()),
        Some("wgpu") => return (eframe::Renderer::Wgpu, "wgpu (STACKSCOPE_RENDERER)".into()),
        _ => {}
    }
    match hardware() {
        Some(name) => (eframe::Renderer::Wgpu, format!("wgpu on {name}")),
        None => (
            eframe::Renderer::Glow,
            "glow (no hardware GPU: OpenGL is faster on a software rasterizer)".into(),
        ),
    }
}

/// Opens the window, on `path` when given (else on the last stack, when there was one).
pub fn run(path: Option<PathBuf>) -> anyhow::Result<()> {
    let forced = std::env::var("STACKSCOPE_RENDERER").ok();
    let (renderer, why) = pick_renderer(forced.as_deref(), crate::interp::choice::hardware_adapter);
    let options = eframe::NativeOptions {
        renderer,
        viewport: eframe::egui::ViewportBuilder::default()
            .with_title("stackscope")
            .with_inner_size([1280.0, 800.0])
            .with_drag_and_drop(true),
        ..Default::default()
    };
    let result = eframe::run_native(
        "stackscope",
        options,
        Box::new(move |cc| Ok(Box::new(App::new(cc, path, why)))),
    )
    .map_err(|e| anyhow::anyhow!("could not open the window: {e}"));
    // Workers still writing when the window closed die with the process; their temporary
    // files must not outlive them.
    crate::output::remove_pending();
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_renderer_follows_the_adapter_unless_forced() {
        let hw = || Some("NVIDIA H200".to_string());
        let none = || None;
        assert_eq!(pick_renderer(None, hw).0, eframe::Renderer::Wgpu);
        assert!(pick_renderer(None, hw).1.contains("H200"));
        assert_eq!(pick_renderer(None, none).0, eframe::Renderer::Glow);
        assert_eq!(pick_renderer(Some("wgpu"), none).0, eframe::Renderer::Wgpu);
        let (r, why) = pick_renderer(Some("GLOW"), || panic!("not probed when forced"));
        assert_eq!(r, eframe::Renderer::Glow);
        assert!(why.contains("STACKSCOPE_RENDERER"));
    }
}
