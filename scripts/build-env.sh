# Sourced by .ci/run and scripts/quickstart: what a fresh machine needs to
# build lathe, beyond Rust. lathe-train links LightGBM's C++ (lightgbm3-sys),
# which builds with cmake >= 3.28 (Debian bookworm has 3.25) and runs bindgen,
# which needs libclang. cmake comes from PyPI into its own venv under
# ~/.cache/lathe, reused while it answers; CMAKE tells the cmake crate to use it.
LATHE_CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/lathe"
CMAKE_VENV="$LATHE_CACHE/venv-cmake"
mkdir -p "$LATHE_CACHE"
if ! "$CMAKE_VENV/bin/cmake" --version 2>/dev/null | grep -Eq 'version 3\.(2[89]|3[0-9])'; then
    rm -rf "$CMAKE_VENV"
    python3 -m venv "$CMAKE_VENV"
    "$CMAKE_VENV/bin/pip" install --quiet --disable-pip-version-check "cmake>=3.28,<4"
fi
export CMAKE="$CMAKE_VENV/bin/cmake"
if ! ls /usr/lib/llvm-*/lib/libclang*.so >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libclang-dev >/dev/null
fi
