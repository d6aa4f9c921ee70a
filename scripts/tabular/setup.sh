#!/usr/bin/env bash
# Creates the benchmark's peer environment (a venv in scripts/tabular/.venv with the pinned
# numpy, scikit-learn and XGBoost of requirements.txt) on first use; afterwards does nothing.
# bench.py's usage runs it first. Prints the interpreter's path.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/.venv"
stamp="$venv/.requirements"
if ! cmp -s "$here/requirements.txt" "$stamp" 2>/dev/null; then
    echo "installing the benchmark environment in $venv (first use, pinned: requirements.txt)" >&2
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt" >&2
    cp "$here/requirements.txt" "$stamp"
fi
echo "$venv/bin/python"
