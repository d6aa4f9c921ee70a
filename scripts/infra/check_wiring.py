#!/usr/bin/env python3
"""Offline wiring checks between the SAM template, the ASL files and the function crates.

cfn-lint and `sam validate` do not look inside `DefinitionUri` files, and nothing else checks that
the names the three parts use for each other agree. This script (Python standard library only)
fails when:

- an ASL file uses a `${X}` that its state machine's `DefinitionSubstitutions` does not define, or a
  substitution is defined but never used;
- a `lambda:invoke` task (or a Task whose Resource is a substitution) does not name its function
  through a `${...FunctionArn}` substitution, or such a substitution does not resolve to a function
  of the template;
- a function's `BuildProperties.Binary` does not name a package under `functions/` that builds a
  binary of that name, or a package under `functions/` is not deployed by the template;
- a function's `CodeUri` is not the Cargo workspace root, or an ASL file under `statemachines/` is
  used by no state machine;
- a Task state has no retrier that covers its integration's throttling error (`THROTTLING`) with
  exponential backoff and full jitter;
- a nested application with a local `Location` (the tabular lanes, `infra/lane.yaml`) names a
  template that cannot be read, leaves a parameter without a default unset or sets one the nested
  template does not declare. Its state machines and functions are checked as the root's are, with
  one addition: a `${...FunctionArn}` substitution may be `!Ref` of a parameter that the application
  sets to `!GetAtt <function>.Arn` of a function of the parent template.

Usage: check_wiring.py [REPO_ROOT]  (default: the repository that contains this script)
"""

from __future__ import annotations

import json
import re
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

TEMPLATE = Path("infra/template.yaml")
STATE_MACHINE_TYPES = {"AWS::Serverless::StateMachine"}
APPLICATION_TYPES = {"AWS::Serverless::Application"}
FUNCTION_TYPES = {"AWS::Serverless::Function", "AWS::Lambda::Function"}
PLACEHOLDER = re.compile(r"\$\{([^}]+)\}")
LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
# The error name under which each integration reports a throttled call: `aws-sdk:` integrations
# report SageMaker's unmodelled errors (ThrottlingException among them) as SageMakerException, the
# optimized ones (SDK v1 names) as AmazonSageMakerException. An integration not listed must be
# covered by States.TaskFailed or States.ALL.
THROTTLING = {
    "lambda": "Lambda.TooManyRequestsException",
    "sagemaker": "SageMaker.AmazonSageMakerException",
    "aws-sdk:sagemaker": "SageMaker.SageMakerException",
    "sns": "SNS.ThrottledException",
}


# --------------------------------------------------------------------------- a small YAML reader
# CloudFormation YAML needs a loader that knows the `!Ref`-style tags, which the standard library
# lacks. The checks only need the block structure (mappings, sequences) and the raw text of
# scalars, so this reader keeps every scalar, tagged or flow-style, as its raw string.


@dataclass
class _Line:
    number: int
    indent: int
    text: str


def _lines(text: str) -> list[_Line]:
    lines = []
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#") or stripped in ("---", "..."):
            continue
        indent = len(raw) - len(raw.lstrip(" "))
        lines.append(_Line(number, indent, raw.rstrip()[indent:]))
    return lines


# `key: value` or `key:`; a key ends at the first colon followed by a space or the end of the line.
_KEY = re.compile(r"""^("[^"]*"|'[^']*'|[^\s"'#].*?)\s*:(?:\s+(.*))?$""")


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


class YamlError(ValueError):
    """The template's block structure could not be read."""


def _skip_deeper(lines: list[_Line], i: int, indent: int) -> int:
    """Skips the continuation of a scalar: every following line indented deeper than `indent`."""
    while i < len(lines) and lines[i].indent > indent:
        i += 1
    return i


def _is_item(line: _Line) -> bool:
    return line.text == "-" or line.text.startswith("- ")


def _value(lines: list[_Line], i: int, indent: int, rest: str | None) -> tuple[object, int]:
    """The value after `key:` (or `- `) on line i-1, whose own indentation is `indent`."""
    if rest:
        # Scalars (plain, quoted, flow, tagged, block `|`/`>`): keep the first line's text and skip
        # whatever continues it on deeper lines.
        return _unquote(rest), _skip_deeper(lines, i, indent)
    if i < len(lines) and (lines[i].indent > indent or (lines[i].indent == indent and _is_item(lines[i]))):
        return _block(lines, i, lines[i].indent)
    return None, i


def _block(lines: list[_Line], i: int, indent: int) -> tuple[object, int]:
    if _is_item(lines[i]):
        return _sequence(lines, i, indent)
    return _mapping(lines, i, indent, {})


def _mapping(lines: list[_Line], i: int, indent: int, into: dict) -> tuple[dict, int]:
    while i < len(lines) and lines[i].indent == indent and not _is_item(lines[i]):
        match = _KEY.match(lines[i].text)
        if not match:
            raise YamlError(f"line {lines[i].number}: expected `key: value`, found {lines[i].text!r}")
        key, rest = _unquote(match.group(1).strip()), (match.group(2) or "").strip()
        into[key], i = _value(lines, i + 1, indent, rest)
    if i < len(lines) and lines[i].indent > indent:
        raise YamlError(f"line {lines[i].number}: unexpected indentation")
    return into, i


def _sequence(lines: list[_Line], i: int, indent: int) -> tuple[list, int]:
    items: list = []
    while i < len(lines) and lines[i].indent == indent and _is_item(lines[i]):
        content = lines[i].text[1:].lstrip(" ")
        if not content:
            item, i = _value(lines, i + 1, indent, None)
        elif _KEY.match(content) and not content.startswith(("{", "[", "!", '"', "'")):
            # `- key: value` opens a mapping whose keys sit at the column of `key`: the line is
            # read again as if it held only `key: value` at that column.
            column = indent + len(lines[i].text) - len(content)
            lines[i] = _Line(lines[i].number, column, content)
            item, i = _mapping(lines, i, column, {})
        else:
            item, i = _unquote(content), _skip_deeper(lines, i + 1, indent)
        items.append(item)
    return items, i


def load_yaml(text: str) -> dict:
    """Reads the block structure of a CloudFormation YAML document; scalars stay raw strings."""
    lines = _lines(text)
    if not lines:
        return {}
    node, i = _block(lines, 0, lines[0].indent)
    if i != len(lines):
        raise YamlError(f"line {lines[i].number}: unexpected content")
    if not isinstance(node, dict):
        raise YamlError("the document is not a mapping")
    return node


# --------------------------------------------------------------------------- the checks


def _function_reference(value: object) -> str | None:
    """The logical id in `!GetAtt X.Arn` (short or long form), else None."""
    if isinstance(value, str):
        match = re.fullmatch(r"!GetAtt\s+([A-Za-z0-9]+)\.Arn", value.strip())
        return match.group(1) if match else None
    if isinstance(value, dict) and set(value) == {"Fn::GetAtt"}:
        target = value["Fn::GetAtt"]
        if isinstance(target, list) and len(target) == 2 and target[1] == "Arn":
            return target[0]
        if isinstance(target, str):
            match = re.fullmatch(r"\[?\s*([A-Za-z0-9]+)\s*,\s*Arn\s*\]?|([A-Za-z0-9]+)\.Arn", target.strip())
            if match:
                return match.group(1) or match.group(2)
    return None


def _parameter_reference(value: object) -> str | None:
    """The parameter (or resource) name in `!Ref X` (short or long form), else None."""
    if isinstance(value, str):
        match = re.fullmatch(r"!Ref\s+([A-Za-z0-9]+)", value.strip())
        return match.group(1) if match else None
    if isinstance(value, dict) and set(value) == {"Ref"} and isinstance(value["Ref"], str):
        return value["Ref"]
    return None


def _states(definition: dict):
    """Every state of an ASL definition with its name, nested Parallel and Map states included."""
    for name, state in definition.get("States", {}).items():
        yield name, state
        for branch in state.get("Branches", []):
            yield from _states(branch)
        for key in ("ItemProcessor", "Iterator"):
            if isinstance(state.get(key), dict):
                yield from _states(state[key])


def _task_function_placeholders(definition: dict, asl_name: str, problems: list[str]) -> set[str]:
    """Substitution names through which Lambda tasks name their function; misuse is a problem."""
    names = set()
    for state_name, state in _states(definition):
        if state.get("Type") != "Task":
            continue
        resource = state.get("Resource", "")
        if resource.startswith(LAMBDA_INVOKE):
            target = state.get("Parameters", {}).get("FunctionName")
            where = f"{asl_name}: state {state_name}: Parameters.FunctionName"
        elif PLACEHOLDER.fullmatch(resource):
            target, where = resource, f"{asl_name}: state {state_name}: Resource"
        else:
            continue
        match = PLACEHOLDER.fullmatch(target) if isinstance(target, str) else None
        if not match or not match.group(1).endswith("FunctionArn"):
            problems.append(f"{where} must be a ${{...FunctionArn}} substitution, found {target!r}")
            continue
        names.add(match.group(1))
    return names


def _integration(resource: str) -> str:
    """`arn:aws:states:::aws-sdk:sagemaker:describeEndpoint` -> `aws-sdk:sagemaker`; `...:::sns:publish` -> `sns`."""
    rest = resource.removeprefix("arn:aws:states:::")
    parts = rest.split(":")
    return ":".join(parts[:2]) if parts[0] == "aws-sdk" else parts[0]


def _covers(error_equals: list, error: str) -> bool:
    return error in error_equals or "States.ALL" in error_equals or (
        "States.TaskFailed" in error_equals and error != "States.Timeout"
    )


def _check_retries(definition: dict, asl_name: str, problems: list[str]) -> None:
    """Every Task retries its integration's throttling error with backoff and full jitter."""
    for state_name, state in _states(definition):
        if state.get("Type") != "Task":
            continue
        throttling = THROTTLING.get(_integration(state.get("Resource", "")), "States.TaskFailed")
        if not any(
            _covers(retrier.get("ErrorEquals", []), throttling)
            and retrier.get("BackoffRate", 2.0) > 1
            and retrier.get("JitterStrategy") == "FULL"
            and retrier.get("MaxAttempts", 3) > 0
            for retrier in state.get("Retry", [])
        ):
            problems.append(
                f"{asl_name}: state {state_name}: no Retry covers {throttling} with BackoffRate > 1 and "
                'JitterStrategy "FULL"'
            )


def check_state_machines(
    root: Path,
    resources: dict,
    problems: list[str],
    *,
    template: Path = TEMPLATE,
    label: str = "",
    parameters: dict | None = None,
    parent_functions: frozenset[str] = frozenset(),
    used_files: set[Path] | None = None,
) -> int:
    """Substitutions against ASL placeholders, and function ARNs against the template's functions.

    For a nested template, `parameters` are the values its application passes and
    `parent_functions` the functions of the parent template; `label` prefixes every problem.
    The ASL files read are added to `used_files`.
    """
    functions = {name for name, res in resources.items() if res.get("Type") in FUNCTION_TYPES}
    used_files = set() if used_files is None else used_files
    checked = 0
    for name, resource in resources.items():
        if resource.get("Type") not in STATE_MACHINE_TYPES:
            continue
        where = f"{label}{name}"
        props = resource.get("Properties") or {}
        uri = props.get("DefinitionUri")
        if not isinstance(uri, str):
            problems.append(f"{where}: DefinitionUri must name an ASL file of the repository")
            continue
        asl_path = (root / template.parent / uri).resolve()
        used_files.add(asl_path)
        try:
            text = asl_path.read_text(encoding="utf-8")
            definition = json.loads(text)
        except (OSError, json.JSONDecodeError) as err:
            problems.append(f"{where}: cannot read {uri}: {err}")
            continue
        substitutions = props.get("DefinitionSubstitutions") or {}
        if not isinstance(substitutions, dict):
            problems.append(f"{where}: DefinitionSubstitutions must be a mapping")
            continue
        used = set(PLACEHOLDER.findall(text))
        for missing in sorted(used - set(substitutions)):
            problems.append(f"{where}: {uri} uses ${{{missing}}}, which DefinitionSubstitutions does not define")
        for unused in sorted(set(substitutions) - used):
            problems.append(f"{where}: DefinitionSubstitutions defines {unused}, which {uri} never uses")
        lambda_keys = _task_function_placeholders(definition, uri, problems)
        _check_retries(definition, uri, problems)
        for key in sorted(set(substitutions) | lambda_keys):
            if not key.endswith("FunctionArn") or key not in substitutions:
                continue
            value = substitutions[key]
            if _function_reference(value) in functions:
                continue
            parameter = _parameter_reference(value)
            if parameters is not None and parameter in parameters:
                if _function_reference(parameters[parameter]) in parent_functions:
                    continue
                problems.append(
                    f"{where}: substitution {key} = {value!r} is a parameter that the application sets to "
                    f"{parameters[parameter]!r}, not `!GetAtt <function>.Arn` of a function of the parent template "
                    f"(functions: {', '.join(sorted(parent_functions)) or 'none'})"
                )
                continue
            problems.append(
                f"{where}: substitution {key} = {value!r} is not `!GetAtt <function>.Arn` "
                f"of a function of the template (functions: {', '.join(sorted(functions)) or 'none'})"
            )
        checked += 1
    return checked


def check_unused_asl_files(root: Path, used_files: set[Path], problems: list[str]) -> None:
    """Every ASL file under statemachines/ is the definition of some state machine."""
    for asl in sorted((root / "statemachines").glob("*.asl.json")):
        if asl.resolve() not in used_files:
            problems.append(f"statemachines/{asl.name} is used by no state machine of the templates")


def _builds_binary(package_dir: Path, manifest: dict, binary: str) -> bool:
    """Whether the package has a binary target `binary` whose source file exists."""
    package = manifest.get("package", {}).get("name")
    default = "src/main.rs" if package == binary else f"src/bin/{binary}.rs"
    for target in manifest.get("bin", []):
        if target.get("name") == binary:
            return (package_dir / target.get("path", default)).is_file()
    return (package_dir / default).is_file()


def check_functions(
    root: Path, template: dict, problems: list[str], *, path: Path = TEMPLATE, deployed: set[str] | None = None
) -> int:
    """Every Rust function of the template at `path` builds a binary of a package under functions/.

    The binaries are added to `deployed`; check_deployed_packages compares them with functions/.
    """
    resources = template.get("Resources") or {}
    global_code_uri = ((template.get("Globals") or {}).get("Function") or {}).get("CodeUri")
    label = "" if path == TEMPLATE else f"{path}: "
    workspace_members: set[str] = set()
    try:
        workspace = tomllib.loads((root / "Cargo.toml").read_text(encoding="utf-8")).get("workspace", {})
        workspace_members = set(workspace.get("members", []))
    except (OSError, tomllib.TOMLDecodeError) as err:
        problems.append(f"Cargo.toml: cannot read the workspace: {err}")
    deployed = set() if deployed is None else deployed
    checked = 0
    for resource_name, resource in resources.items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        name = f"{label}{resource_name}"
        metadata = resource.get("Metadata") or {}
        if metadata.get("BuildMethod") != "rust-cargolambda":
            problems.append(f"{name}: Metadata.BuildMethod must be rust-cargolambda")
            continue
        binary = (metadata.get("BuildProperties") or {}).get("Binary")
        if not isinstance(binary, str) or not binary:
            problems.append(f"{name}: Metadata.BuildProperties.Binary is missing")
            continue
        code_uri = (resource.get("Properties") or {}).get("CodeUri", global_code_uri)
        if not isinstance(code_uri, str) or (root / path.parent / code_uri).resolve() != root.resolve():
            problems.append(
                f"{name}: CodeUri must be the Cargo workspace root (`..` from {path.parent}/), found {code_uri!r}"
            )
        package_dir = root / "functions" / binary
        deployed.add(binary)
        try:
            manifest = tomllib.loads((package_dir / "Cargo.toml").read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as err:
            problems.append(f"{name}: Binary {binary!r} names no readable package functions/{binary}/Cargo.toml: {err}")
            continue
        if manifest.get("package", {}).get("name") != binary:
            problems.append(f"{name}: functions/{binary}/Cargo.toml is package {manifest.get('package', {}).get('name')!r}, not {binary!r}")
        if f"functions/{binary}" not in workspace_members:
            problems.append(f"{name}: functions/{binary} is not a member of the Cargo workspace")
        if not _builds_binary(package_dir, manifest, binary):
            problems.append(f"{name}: functions/{binary} builds no binary named {binary!r} (src/main.rs or [[bin]])")
        checked += 1
    return checked


def check_deployed_packages(root: Path, deployed: set[str], problems: list[str]) -> None:
    """Every package under functions/ is deployed by some function of the templates."""
    for package in sorted(p.parent.name for p in (root / "functions").glob("*/Cargo.toml")):
        if package not in deployed:
            problems.append(f"functions/{package} is deployed by no function of the template")


def _local_location(props: dict) -> str | None:
    """A nested application's Location when it is a template file of the repository."""
    location = props.get("Location")
    if isinstance(location, str) and not re.match(r"^[a-z0-9]+://", location) and not location.startswith("!"):
        return location
    return None


def check_applications(
    root: Path,
    template: dict,
    problems: list[str],
    *,
    path: Path = TEMPLATE,
    used_files: set[Path],
    deployed: set[str],
    seen: set[Path] | None = None,
) -> int:
    """Every nested application with a local Location: its parameters, state machines and functions.

    Answers how many applications were checked. A nested template's functions are checked once,
    however many applications use it; its state machines once per application, since each passes
    its own parameters.
    """
    resources = template.get("Resources") or {}
    parent_functions = frozenset(n for n, r in resources.items() if r.get("Type") in FUNCTION_TYPES)
    seen = set() if seen is None else seen
    checked = 0
    for name, resource in resources.items():
        if resource.get("Type") not in APPLICATION_TYPES:
            continue
        props = resource.get("Properties") or {}
        location = _local_location(props)
        if location is None:
            continue
        nested_path = Path(*(path.parent / location).parts)
        label = f"{name} ({nested_path}): "
        try:
            nested = load_yaml((root / nested_path).read_text(encoding="utf-8"))
        except (OSError, YamlError) as err:
            problems.append(f"{name}: cannot read the nested template {location}: {err}")
            continue
        given = props.get("Parameters") or {}
        if not isinstance(given, dict):
            problems.append(f"{name}: Parameters must be a mapping")
            continue
        declared = nested.get("Parameters") or {}
        for parameter in sorted(set(given) - set(declared)):
            problems.append(f"{name}: sets parameter {parameter}, which {nested_path} does not declare")
        for parameter, spec in sorted(declared.items()):
            if parameter not in given and not (isinstance(spec, dict) and "Default" in spec):
                problems.append(f"{name}: does not set parameter {parameter}, which {nested_path} requires (no Default)")
        nested_resources = nested.get("Resources") or {}
        check_state_machines(
            root,
            nested_resources,
            problems,
            template=nested_path,
            label=label,
            parameters=given,
            parent_functions=parent_functions,
            used_files=used_files,
        )
        if nested_path not in seen:
            seen.add(nested_path)
            check_functions(root, nested, problems, path=nested_path, deployed=deployed)
            check_applications(
                root, nested, problems, path=nested_path, used_files=used_files, deployed=deployed, seen=seen
            )
        checked += 1
    return checked


def check(root: Path) -> list[str]:
    """All wiring problems of the repository at `root` (empty when everything agrees)."""
    problems: list[str] = []
    try:
        template = load_yaml((root / TEMPLATE).read_text(encoding="utf-8"))
    except (OSError, YamlError) as err:
        return [f"{TEMPLATE}: {err}"]
    resources = template.get("Resources") or {}
    used_files: set[Path] = set()
    deployed: set[str] = set()
    if not check_state_machines(root, resources, problems, used_files=used_files):
        problems.append(f"{TEMPLATE}: no state machine found")
    if not check_functions(root, template, problems, deployed=deployed):
        problems.append(f"{TEMPLATE}: no function found")
    check_applications(root, template, problems, used_files=used_files, deployed=deployed)
    check_unused_asl_files(root, used_files, problems)
    check_deployed_packages(root, deployed, problems)
    return problems


def main(argv: list[str]) -> int:
    root = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parents[2]
    problems = check(root)
    for problem in problems:
        print(f"wiring: {problem}", file=sys.stderr)
    if problems:
        print(f"wiring: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    print("wiring: template, state machines and function crates agree")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
