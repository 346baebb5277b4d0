//! Regenerates the bundled sample stack: `cargo run --example make_sample -- assets/sample`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "assets/sample".to_string());
    let files = stackscope::sample::write_png_folder(dir.as_ref(), 40, 160, 120)?;
    println!("wrote {} frames to {dir}", files.len());
    Ok(())
}
