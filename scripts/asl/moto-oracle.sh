#!/usr/bin/env bash
# The conformance suite on an independent interpreter: scripts/asl/moto_oracle.py in the pinned
# emulator's environment (scripts/integration/emulator-venv.sh). moto's own messages (ANTLR parse
# notes, unhandled exceptions of failing cases) go to target/moto-oracle.log.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
status=0
python="$(scripts/integration/emulator-venv.sh)" || status=$?
if [[ $status -eq 3 ]]; then
    echo "!!! SKIPPED: the moto oracle needs python3, which is not installed !!!" >&2
    exit 0
elif [[ $status -ne 0 ]]; then
    exit "$status"
fi
mkdir -p target
"$python" scripts/asl/moto_oracle.py 2>target/moto-oracle.log || {
    echo "moto oracle failed (above); moto's own log: target/moto-oracle.log" >&2
    exit 1
}
