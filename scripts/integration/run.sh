#!/usr/bin/env bash
# The function binaries as Lambda runs them, against an AWS emulator (moto's server on 127.0.0.1):
# upload → validate → start, pricing through the project's endpoint container, drift-check
# publishing to CloudWatch (and a CloudWatch outage), approval-guard's rollback against the
# SageMaker registry, malformed events and missing configuration for each function.
#
#   scripts/integration/run.sh
#
# Installs its pinned emulator on first use under target/integration-venv (git ignores target/),
# uses the debug binaries `cargo test --workspace` builds, then runs
# scripts/integration/test_functions.py. Needs python3; skips, loudly, only without it.
set -euo pipefail

MOTO_VERSION=5.2.5
BOTO3_VERSION=1.44.8

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
python="${PYTHON:-python3}"
if ! command -v "$python" >/dev/null 2>&1; then
    echo "!!! SKIPPED: integration tests against the AWS emulator need $python, which is not installed !!!" >&2
    exit 0
fi

venv=target/integration-venv
pins="moto[server]==$MOTO_VERSION boto3==$BOTO3_VERSION"
if [[ ! -f "$venv/.pins" || "$(cat "$venv/.pins")" != "$pins" ]]; then
    echo "installing $pins into $venv"
    rm -rf "$venv"
    "$python" -m venv "$venv"
    # shellcheck disable=SC2086
    PIP_DISABLE_PIP_VERSION_CHECK=1 "$venv/bin/pip" install --quiet $pins
    echo "$pins" >"$venv/.pins"
fi

# The debug binaries `cargo test --workspace` builds for the crates' own binary tests (the same
# features, so after scripts/test.sh's cargo test this builds nothing).
cargo test --workspace --locked --no-run --quiet

cd scripts/integration
# Nothing here reaches beyond 127.0.0.1: no credentials or metadata service are looked for.
AWS_EC2_METADATA_DISABLED=true INTEGRATION_PYTHON="$root/$venv/bin/python" \
    "$root/$venv/bin/python" test_functions.py
