#!/usr/bin/env bash
# Creates the benchmark's peer environment (a venv in scripts/tabular/.venv with the pinned
# numpy, scikit-learn and XGBoost of requirements.txt) on first use; afterwards does nothing.
# bench.py's usage runs it first. Prints the interpreter's path.
set -euo pipefail
exec "$(dirname "$0")/../pinned-venv.sh" "$(dirname "$0")" "the benchmark environment"
