#!/usr/bin/env bash
# Layers point down only: the core (everything but src/gui, src/cli and main.rs) uses neither
# egui, eframe nor clap; media (FFmpeg) uses no module above it; export and audio do not use
# each other. Fails naming the line that breaks a rule.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
rule() {
    local why=$1 pattern=$2
    shift 2
    if grep -rnE --include='*.rs' "$pattern" "$@"; then
        echo "layering: $why" >&2
        status=1
    fi
}
core=(src/analyze src/audio src/display src/export src/interp src/load src/media src/ops
    src/batch.rs src/job.rs src/names.rs src/output.rs src/sample.rs src/source.rs src/stack.rs)
rule "a core module uses the window's or the command line's crates" \
    '(^|[^[:alnum:]_])(egui|eframe|egui_plot|clap|indicatif)::' "${core[@]}"
rule "media uses a module that uses it" 'crate::(load|export|audio|analyze|ops|gui)::' src/media
rule "export uses audio or analyze" 'crate::(audio|analyze|gui)::' src/export
rule "audio uses export or analyze" 'crate::(export|analyze|gui)::' src/audio
rule "load uses a module above it" 'crate::(export|audio|analyze|gui)::' src/load
rule "ops, interp or display use a module above them" \
    'crate::(export|audio|analyze|gui)::' src/ops src/interp src/display
exit $status
