//! Fuzz target `image`: see `src/targets.rs`.

#[path = "../targets.rs"]
mod targets;

#[global_allocator]
static ALLOC: targets::Bounded = targets::Bounded;

fn main() {
    afl::fuzz!(|data: &[u8]| targets::image(data));
}
