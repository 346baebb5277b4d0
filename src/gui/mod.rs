//! The window: an eframe app over the core. It starts jobs on worker threads ([`task`]),
//! draws what they return, and keeps no data logic of its own: loading, ops, profiles and
//! export are the same library calls the command line makes.

mod analyzers_panel;
mod app;
mod audio_panel;
mod document;
mod export_panel;
mod forms;
mod load_dialog;
mod ops_panel;
mod plots;
mod task;
mod texture;
mod viewer;

use std::path::PathBuf;

pub use app::App;
pub use viewer::Tool;

/// Opens the window, on `path` when given (else on the last stack, when there was one).
///
/// The renderer is wgpu; `STACKSCOPE_RENDERER=glow` selects OpenGL instead, which is the
/// faster of the two on software rasterizers (Xvfb, remote desktops).
pub fn run(path: Option<PathBuf>) -> anyhow::Result<()> {
    let renderer = match std::env::var("STACKSCOPE_RENDERER").as_deref() {
        Ok("glow") => eframe::Renderer::Glow,
        _ => eframe::Renderer::Wgpu,
    };
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
        Box::new(move |cc| Ok(Box::new(App::new(cc, path)))),
    )
    .map_err(|e| anyhow::anyhow!("could not open the window: {e}"));
    // Workers still writing when the window closed die with the process; their temporary
    // files must not outlive them.
    crate::output::remove_pending();
    result
}
