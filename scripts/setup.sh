#!/usr/bin/env bash
# Installs what stackscope needs to build and test on Debian 12 (run as root). Idempotent:
# packages already present are not reinstalled, an existing Rust toolchain is kept.
set -euo pipefail

PACKAGES=(
  # build: FFmpeg libraries (ffmpeg-next), bindgen's libclang, cmake for whisper.cpp
  pkg-config clang libclang-dev cmake g++
  libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libswresample-dev
  # tests and benchmarks: the ffmpeg CLI writes video fixtures; GNU time measures peak RSS
  ffmpeg time bc
  # speech fixtures for the analyzer tests and benchmarks; the font ffmpeg draws subtitles in
  espeak-ng fonts-dejavu-core
  # the storyboard's HTML report is checked in a real browser
  chromium
  # GPU path on any machine: Mesa's software Vulkan (lavapipe)
  mesa-vulkan-drivers libvulkan1
  # the real window under a virtual X server (scripts/screenshot.sh), and what winit loads
  xvfb xauth xdotool x11-utils libegl1 libgl1-mesa-dri libxkbcommon-x11-0 libx11-xcb1 libxcursor1
  libxrandr2 libxi6
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
  export PATH="$HOME/.cargo/bin:$PATH"
fi
if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: installing the Rust toolchain with rustup"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl ca-certificates >/dev/null
  curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --component clippy,rustfmt
  export PATH="$HOME/.cargo/bin:$PATH"
fi
rustup component list --installed 2>/dev/null | grep -q clippy || rustup component add clippy rustfmt 2>/dev/null || true

# Headless machines have no session runtime dir; Mesa's Vulkan loader warns on every adapter
# probe without one.
if [ -z "${XDG_RUNTIME_DIR:-}" ]; then
  export XDG_RUNTIME_DIR="/tmp/runtime-$(id -u)"
  mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
fi
