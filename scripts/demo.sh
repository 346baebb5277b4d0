#!/usr/bin/env bash
# Set-up command 1: install dependencies, build, and run stackscope on the bundled sample.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
cargo build --release
./target/release/stackscope info assets/sample
