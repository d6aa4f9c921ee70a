#!/usr/bin/env bash
# Creates the training environment (a venv in scripts/detector/.venv with the pinned packages of
# requirements.txt) on first use; afterwards does nothing. Local mode's SageMaker stand-in and the
# test script call it before they run the training job. Prints the interpreter's path.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/.venv"
stamp="$venv/.requirements"
if ! cmp -s "$here/requirements.txt" "$stamp" 2>/dev/null; then
    echo "installing the training environment in $venv (first use, pinned: requirements.txt)" >&2
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt" >&2
    cp "$here/requirements.txt" "$stamp"
fi
echo "$venv/bin/python"
