//! The memory-bandwidth floor for reductions: map a uint8 `.npy` and sum every byte once, in
//! parallel. `cargo run --release --example read_once -- FILE.npy`
use rayon::prelude::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: read_once FILE.npy")?;
    let options = stackscope::LoadOptions::default();
    let loaded = stackscope::load(path.as_ref(), &options, &stackscope::Job::new())?;
    let started = std::time::Instant::now();
    let view = loaded.stack.view();
    let total: u64 = view
        .outer_iter()
        .into_par_iter()
        .map(|f| {
            f.as_slice()
                .map_or(0, |s| s.iter().map(|&b| u64::from(b)).sum::<u64>())
        })
        .sum();
    println!("sum {total} in {:.3} s", started.elapsed().as_secs_f64());
    Ok(())
}
