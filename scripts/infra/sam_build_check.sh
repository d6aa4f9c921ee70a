#!/usr/bin/env bash
# Runs the real `sam build` on infra/template.yaml with cargo-lambda replaced by a stub, to check
# offline and in seconds what a real build would find out after minutes of compiling: that SAM
# picks the rust-cargolambda workflow for every function, runs
# `cargo lambda build --release --arm64 --bin <Binary>` at the workspace root, and finds each
# binary where cargo puts it. The same holds for the functions of every nested application with a
# local Location (the tabular lanes, infra/lane.yaml), which SAM builds into build/<App>/ and may
# share between applications of the same template (`<Function>-Shared`). Real cargo answers everything but `cargo lambda` (SAM asks it for the
# workspace's target directory). Nothing is written outside a temporary directory.
#
#   scripts/infra/sam_build_check.sh SAM_EXECUTABLE
set -euo pipefail

sam="$1"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
real_cargo="$(command -v cargo)" || { echo "cargo is not on PATH" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bin"

# The stub records its arguments and writes a placeholder bootstrap where cargo-lambda would.
cat >"$work/bin/cargo" <<EOF
#!/usr/bin/env bash
if [[ "\${1:-}" != lambda ]]; then exec "$real_cargo" "\$@"; fi
echo "\$*" >>"$work/lambda-calls"
bin=""
while [[ \$# -gt 0 ]]; do [[ "\$1" == --bin ]] && bin="\$2"; shift; done
[[ -n "\$bin" ]] || { echo "cargo lambda build without --bin" >&2; exit 1; }
mkdir -p "\$CARGO_TARGET_DIR/lambda/\$bin" && echo stub >"\$CARGO_TARGET_DIR/lambda/\$bin/bootstrap"
EOF
printf '#!/bin/sh\necho "cargo-lambda stub"\n' >"$work/bin/cargo-lambda"
chmod +x "$work/bin/cargo" "$work/bin/cargo-lambda"

cd "$root/infra"
PATH="$work/bin:$PATH" CARGO_TARGET_DIR="$work/target" "$sam" build \
    --build-dir "$work/build" --cache-dir "$work/cache" --no-cached >"$work/sam.log" 2>&1 || {
    cat "$work/sam.log" >&2
    exit 1
}

# Each function's artefact is the bootstrap of its own binary.
status=0
nested=0
while read -r function binary; do
    expected="lambda build --release --arm64 --bin $binary"
    if ! grep -qxF -- "$expected" "$work/lambda-calls"; then
        echo "sam build did not run 'cargo $expected' for $function" >&2
        status=1
    elif ! [[ -f "$work/build/$function/bootstrap" ]]; then
        echo "sam build produced no bootstrap for $function" >&2
        status=1
    fi
done < <(awk '
    /^  [A-Za-z0-9]+:$/ { resource = substr($1, 1, length($1) - 1) }
    /^        Binary: / { print resource, $2 }' "$root/infra/template.yaml")

# Each nested application's built template points every function of it at a bootstrap of its own
# binary (CodeUri relative to the built template's folder).
while read -r application location; do
    built="$work/build/$application/template.yaml"
    if ! [[ -f "$built" ]]; then
        echo "sam build produced no template for the nested application $application ($location)" >&2
        status=1
        continue
    fi
    while read -r function binary; do
        expected="lambda build --release --arm64 --bin $binary"
        code_uri="$(awk -v fn="$function" '
            /^  [A-Za-z0-9]+:$/ { resource = substr($1, 1, length($1) - 1) }
            resource == fn && /^      CodeUri: / { print $2; exit }' "$built")"
        if ! grep -qxF -- "$expected" "$work/lambda-calls"; then
            echo "sam build did not run 'cargo $expected' for $application/$function" >&2
            status=1
        elif [[ -z "$code_uri" ]] || ! [[ -f "$work/build/$application/$code_uri/bootstrap" ]]; then
            echo "sam build produced no bootstrap for $application/$function (CodeUri '$code_uri')" >&2
            status=1
        else
            nested=$((nested + 1))
        fi
    done < <(awk '
        /^  [A-Za-z0-9]+:$/ { resource = substr($1, 1, length($1) - 1) }
        /^        Binary: / { print resource, $2 }' "$root/infra/$location")
done < <(awk '
    /^  [A-Za-z0-9]+:$/ { resource = substr($1, 1, length($1) - 1) }
    /^    Type: AWS::Serverless::Application$/ { application = resource }
    application == resource && /^      Location: [A-Za-z0-9._-]+\.yaml$/ { print resource, $2 }' "$root/infra/template.yaml")
if [[ ! -s "$work/lambda-calls" ]]; then
    echo "sam build ran no cargo lambda build" >&2
    status=1
fi
[[ $status -eq 0 ]] && echo "sam build: $(wc -l <"$work/lambda-calls") cargo lambda builds (--release --arm64), $nested functions of nested applications among their artefacts"
exit $status
