#!/usr/bin/env bash
# The one command that runs the project's tests: every crate's unit, adapter, workflow and
# fixture tests, the training job's tests (in the pinned training environment, installed on first
# use), the review console in a headless browser, the function binaries against an AWS emulator,
# the state-machine conformance suite on that emulator's interpreter, then the offline checks of the SAM template and the state machines.
set -euo pipefail
cd "$(dirname "$0")/.."
python="$(scripts/detector/setup.sh)"
"$python" -m unittest discover -s scripts/detector -p 'test_*.py'
cargo test --workspace --locked
scripts/review/browser_test.sh
scripts/integration/run.sh
scripts/asl/moto-oracle.sh
if [ -x scripts/infra/check.sh ]; then
  scripts/infra/check.sh
fi
