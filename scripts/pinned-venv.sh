#!/usr/bin/env bash
# pinned-venv.sh DIR WHAT: creates DIR/.venv with the pinned packages of DIR/requirements.txt on
# first use (and again when the pins change), saying that it installs WHAT; afterwards does
# nothing. Prints the interpreter's path. The training and benchmark environments both use it.
set -euo pipefail
here="$(cd "$1" && pwd)"
venv="$here/.venv"
stamp="$venv/.requirements"
if ! cmp -s "$here/requirements.txt" "$stamp" 2>/dev/null; then
    echo "installing $2 in $venv (first use, pinned: requirements.txt)" >&2
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt" >&2
    cp "$here/requirements.txt" "$stamp"
fi
echo "$venv/bin/python"
