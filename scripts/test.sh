#!/usr/bin/env bash
# Set-up command 2: install dependencies and run every check CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
cargo fmt --check
cargo clippy --all-targets -- -D warnings
cargo test --all-targets
cargo test --doc
# The real window under Xvfb on the sample; fails when the screenshot is blank.
scripts/screenshot.sh "${TMPDIR:-/tmp}/stackscope-ci-screenshot.png"
