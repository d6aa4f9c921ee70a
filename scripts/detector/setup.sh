#!/usr/bin/env bash
# Creates the training environment (a venv in scripts/detector/.venv with the pinned packages of
# requirements.txt) on first use; afterwards does nothing. Local mode's SageMaker stand-in and the
# test script call it before they run the training job. Prints the interpreter's path.
set -euo pipefail
exec "$(dirname "$0")/../pinned-venv.sh" "$(dirname "$0")" "the training environment"
