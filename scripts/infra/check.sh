#!/usr/bin/env bash
# Offline checks of the SAM templates (infra/template.yaml and the tabular lane it nests,
# infra/lane.yaml) and the state machines; needs no AWS account or credentials.
#
#   scripts/infra/check.sh
#
# Installs its own pinned tools on first use (pip and npm), under target/ which git ignores:
#   target/infra-venv/sam      aws-sam-cli + cfn-lint
#   target/infra-venv/checkov  checkov (its pins conflict with aws-sam-cli's, hence two venvs)
#   target/infra-node          asl-validator
# then runs cfn-lint, `sam validate --lint`, `sam build` with cargo-lambda stubbed
# (scripts/infra/sam_build_check.sh), asl-validator on every ASL file, checkov, the wiring
# check (scripts/infra/check_wiring.py) with its unit tests, and the template's promises
# (scripts/infra/template_test.py, in the cfn-lint venv for its template decoder). Every check runs; the script
# exits non-zero when any of them fails. A second run reuses the tools and takes seconds.
set -uo pipefail

CFN_LINT_VERSION=1.58.0
SAM_CLI_VERSION=1.170.0
CHECKOV_VERSION=3.3.30
ASL_VALIDATOR_VERSION=4.0.0

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root" || exit 2
venvs=target/infra-venv
node_dir=target/infra-node
python="${PYTHON:-python3}"

# No account, no network but the package registries: keep every tool from looking for either.
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-eu-west-1}"
export AWS_EC2_METADATA_DISABLED=true
export SAM_CLI_TELEMETRY=0
export BC_SKIP_MAPPING=TRUE
export PIP_DISABLE_PIP_VERSION_CHECK=1

# install_venv NAME PACKAGE==VERSION...: (re)creates target/infra-venv/NAME unless it already holds
# exactly these pins.
install_venv() {
    local name="$1"; shift
    local dir="$venvs/$name" stamp="$venvs/$name/.pins"
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$*" ]]; then
        return 0
    fi
    echo "installing $* into $dir"
    rm -rf "$dir"
    "$python" -m venv "$dir" &&
        "$dir/bin/pip" install --quiet "$@" &&
        echo "$*" >"$stamp"
}

install_asl_validator() {
    local stamp="$node_dir/.pins"
    if [[ -f "$stamp" && "$(cat "$stamp")" == "asl-validator@$ASL_VALIDATOR_VERSION" ]]; then
        return 0
    fi
    echo "installing asl-validator@$ASL_VALIDATOR_VERSION into $node_dir"
    rm -rf "$node_dir"
    mkdir -p "$node_dir" &&
        npm install --prefix "$node_dir" --no-audit --no-fund --silent "asl-validator@$ASL_VALIDATOR_VERSION" &&
        echo "asl-validator@$ASL_VALIDATOR_VERSION" >"$stamp"
}

install_venv sam "aws-sam-cli==$SAM_CLI_VERSION" "cfn-lint==$CFN_LINT_VERSION" || exit 2
install_venv checkov "checkov==$CHECKOV_VERSION" || exit 2
install_asl_validator || exit 2

failed=()
passed=0
# run NAME COMMAND...: runs one check and records its outcome.
run() {
    local name="$1"; shift
    local started=$SECONDS
    echo "--- $name"
    if "$@"; then
        passed=$((passed + 1))
        echo "ok: $name ($((SECONDS - started)) s)"
    else
        failed+=("$name")
        echo "FAILED: $name"
    fi
}

templates=(infra/template.yaml infra/lane.yaml)
run "cfn-lint" "$venvs/sam/bin/cfn-lint" "${templates[@]}"
sam_validate() { (cd infra && "../$venvs/sam/bin/sam" validate --lint); }
run "sam validate --lint" sam_validate
run "sam build (cargo-lambda stubbed)" scripts/infra/sam_build_check.sh "$root/$venvs/sam/bin/sam"
for asl in statemachines/*.asl.json; do
    run "asl-validator $asl" "$node_dir/node_modules/.bin/asl-validator" --json-path "$asl"
done
checkov_templates() {
    local template status=0
    for template in "${templates[@]}"; do
        "$venvs/checkov/bin/checkov" --file "$template" --framework cloudformation \
            --skip-download --quiet --compact || status=1
    done
    return "$status"
}
run "checkov" checkov_templates
# A skip that names no CloudFormation check of this checkov hides nothing and misleads the reader.
checkov_skips_exist() {
    local known id missing=0 template
    known="$("$venvs/checkov/bin/checkov" --list --framework cloudformation 2>/dev/null)" || return 1
    for template in "${templates[@]}"; do
        for id in $(grep -oE 'id: CKV2?_[A-Z0-9]+_[0-9]+' "$template" | cut -d' ' -f2 | sort -u); do
            if ! grep -qE "\| $id +\|" <<<"$known"; then
                echo "$template skips $id, which is no CloudFormation check of checkov $CHECKOV_VERSION"
                missing=1
            fi
        done
    done
    return "$missing"
}
run "checkov skips name real checks" checkov_skips_exist
run "wiring unit tests" "$python" -m unittest discover --start-directory scripts/infra --pattern 'test_*.py' --quiet
run "wiring" "$python" scripts/infra/check_wiring.py
run "template promises (DEPLOY.md, least privilege, TLS, network)" "$venvs/sam/bin/python" scripts/infra/template_test.py

echo "infra-checks: $passed passed, ${#failed[@]} failed"
if ((${#failed[@]})); then
    printf 'failed: %s\n' "${failed[@]}"
    exit 1
fi
