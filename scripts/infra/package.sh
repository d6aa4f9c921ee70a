#!/usr/bin/env bash
# Builds the four Lambda binaries for arm64 (Graviton), as SAM deploys them.
#
#   scripts/infra/package.sh
#
# Installs cargo-lambda and zig from PyPI into target/infra-venv/package (seconds, instead of
# minutes to build cargo-lambda from source), adds the aarch64 Rust target if rustup lacks it, then
# runs `cargo lambda build --release --arm64` for the four function binaries. The artefacts land in
# target/lambda/<binary>/bootstrap. `sam build` (rust-cargolambda) runs the same build itself and
# needs cargo-lambda on PATH: the script prints the line that puts it there. CI does not run this
# script (a release build for arm64 takes many minutes on a small machine).
set -euo pipefail

CARGO_LAMBDA_VERSION=1.9.2
ZIGLANG_VERSION=0.13.0.post1
BINARIES=(validate pricing drift-check approval-guard)

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
venv=target/infra-venv/package
pins="cargo-lambda==$CARGO_LAMBDA_VERSION ziglang==$ZIGLANG_VERSION"

if [[ ! -f "$venv/.pins" || "$(cat "$venv/.pins")" != "$pins" ]]; then
    echo "installing $pins into $venv"
    rm -rf "$venv"
    "${PYTHON:-python3}" -m venv "$venv"
    # shellcheck disable=SC2086 # the pins are separate words on purpose
    "$venv/bin/pip" install --quiet --disable-pip-version-check $pins
    echo "$pins" >"$venv/.pins"
fi
export PATH="$root/$venv/bin:$PATH"

if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
    rustup target add aarch64-unknown-linux-gnu
fi

bins=()
for binary in "${BINARIES[@]}"; do
    bins+=(--bin "$binary")
done
cargo lambda build --release --arm64 "${bins[@]}"

for binary in "${BINARIES[@]}"; do
    ls -l "target/lambda/$binary/bootstrap"
done
echo
echo "For sam build (from infra/), put cargo-lambda on PATH first:"
echo "  export PATH=\"$root/$venv/bin:\$PATH\""
