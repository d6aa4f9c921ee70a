#!/usr/bin/env bash
# The function binaries as Lambda runs them, against an AWS emulator (moto's server on 127.0.0.1):
# upload → validate → start, pricing through the project's endpoint container, drift-check
# publishing to CloudWatch (and a CloudWatch outage), approval-guard's rollback against the
# SageMaker registry, malformed events and missing configuration for each function.
#
#   scripts/integration/run.sh
#
# Installs its pinned emulator on first use (scripts/integration/emulator-venv.sh), uses the debug
# binaries `cargo test --workspace` builds, then runs
# scripts/integration/test_functions.py. Needs python3; skips, loudly, only without it.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
status=0
emulator_python="$(scripts/integration/emulator-venv.sh)" || status=$?
if [[ $status -eq 3 ]]; then
    echo "!!! SKIPPED: integration tests against the AWS emulator need python3, which is not installed !!!" >&2
    exit 0
elif [[ $status -ne 0 ]]; then
    exit "$status"
fi

# The debug binaries `cargo test --workspace` builds for the crates' own binary tests (the same
# features, so after scripts/test.sh's cargo test this builds nothing).
cargo test --workspace --locked --no-run --quiet

cd scripts/integration
# Nothing here reaches beyond 127.0.0.1: no credentials or metadata service are looked for.
AWS_EC2_METADATA_DISABLED=true INTEGRATION_PYTHON="$emulator_python" \
    "$emulator_python" test_functions.py
