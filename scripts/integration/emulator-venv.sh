#!/usr/bin/env bash
# Installs the pinned AWS emulator (moto) on first use under target/integration-venv (git ignores
# target/) and prints the path of its python. Used by the emulator integration tests
# (scripts/integration/run.sh) and by the conformance suite's moto oracle (scripts/asl/moto_oracle.py).
# Exits 3, saying so, when python3 is missing.
set -euo pipefail

MOTO_VERSION=5.2.5
BOTO3_VERSION=1.44.8

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
python="${PYTHON:-python3}"
if ! command -v "$python" >/dev/null 2>&1; then
    echo "the AWS emulator needs $python, which is not installed" >&2
    exit 3
fi

venv=target/integration-venv
pins="moto[server]==$MOTO_VERSION boto3==$BOTO3_VERSION"
if [[ ! -f "$venv/.pins" || "$(cat "$venv/.pins")" != "$pins" ]]; then
    echo "installing $pins into $venv" >&2
    rm -rf "$venv"
    "$python" -m venv "$venv"
    # shellcheck disable=SC2086
    PIP_DISABLE_PIP_VERSION_CHECK=1 "$venv/bin/pip" install --quiet $pins >&2
    echo "$pins" >"$venv/.pins"
fi
echo "$root/$venv/bin/python"
