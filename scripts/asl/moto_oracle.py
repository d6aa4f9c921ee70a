#!/usr/bin/env python3
"""The conformance suite (crates/asl/tests/conformance/*.json) on an independent interpreter.

Runs every case on moto's Step Functions interpreter (moto vendors LocalStack's ASL
interpreter), in process, under moto's mocked AWS: the case's definition, input and mocked Task
answers (given to the interpreter as a Step Functions Local mock test case), then compares the
status, error name and output with the case's expected result, which the executor is held to by
`cargo test -p asl --test conformance`. Every disagreement must be listed in
crates/asl/tests/moto-departures.json with what moto does and why the expected
result, not moto's, is AWS's behaviour; a listed departure that no longer differs is an error
too, so the list stays true.

What is adapted, and why:
- moto loads no mock configuration file (its loader is stubbed), so the case's mocks are handed to
  the execution worker directly, in the format's own classes;
- retry intervals are not waited for (moto sleeps in real time; the suite's retries add minutes);
- JSONata cases, and cases that assign variables, are skipped: moto evaluates JSONata, and reads
  variables, through a JVM and a Java JSONata library it does not ship. The JSONata evaluator has
  its own oracle, the npm reference implementation (crates/asl/tests/jsonata_oracle.rs); the
  variables cases follow the evaluation order AWS documents.

Usage: scripts/asl/moto-oracle.sh (installs the pinned moto, runs this script with it)
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from pathlib import Path
from types import SimpleNamespace

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402
from moto.core.config import default_user_config  # noqa: E402
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl  # noqa: E402
from moto.stepfunctions.parser.backend import execution_worker  # noqa: E402
from moto.stepfunctions.parser.mocking.mock_config import (  # noqa: E402
    MockedResponseReturn,
    MockedResponseThrow,
    MockTestCase,
    StateMockedResponses,
)

REPO = Path(__file__).resolve().parents[2]
SUITE = REPO / "crates/asl/tests/conformance"
DEPARTURES = REPO / "crates/asl/tests/moto-departures.json"
ROLE = "arn:aws:iam::123456789012:role/conformance"
# Long enough for any case; executions run on moto's worker threads.
DEADLINE_S = 20.0

_mocks: dict = {}


def _mock_test_case() -> MockTestCase:
    states = []
    for state, answers in _mocks.items():
        responses = [
            MockedResponseReturn(attempt, attempt, answer["Return"])
            if "Return" in answer
            else MockedResponseThrow(attempt, attempt, answer["Throw"]["Error"], answer["Throw"]["Cause"])
            for attempt, answer in enumerate(answers)
        ]
        states.append(StateMockedResponses(state, f"{state}Mock", responses))
    return MockTestCase(state_machine_name="conformance", test_case_name="case", state_mocked_responses_list=states)


_worker_init = execution_worker.ExecutionWorker.__init__


def _init_with_mocks(self, *args, **kwargs):
    if kwargs.get("mock_test_case") is None and _mocks:
        kwargs["mock_test_case"] = _mock_test_case()
    _worker_init(self, *args, **kwargs)


def needs_jsonata(node) -> bool:
    """JSONata states, and variables: moto reads a `$name` through its JSONata evaluator too."""
    if isinstance(node, dict):
        return (
            node.get("QueryLanguage") == "JSONata"
            or "Assign" in node
            or any(needs_jsonata(v) for v in node.values())
        )
    if isinstance(node, list):
        return any(needs_jsonata(v) for v in node)
    return False


def outcome(description: dict) -> dict:
    got = {"status": description["status"]}
    if got["status"] == "SUCCEEDED":
        text = description.get("output", "null")
        try:
            got["output"] = json.loads(text)
        except json.JSONDecodeError:
            # moto returns a string output without its JSON quotes.
            got["output"] = text
    elif "error" in description:
        got["error"] = description["error"]
    return got


def agrees(expected: dict, got: dict) -> bool:
    if expected["status"] != got["status"]:
        return False
    if expected["status"] == "SUCCEEDED":
        return expected.get("output") == got.get("output")
    return expected.get("error") == got.get("error")


def run(sfn, index: int, case: dict) -> dict:
    _mocks.clear()
    _mocks.update(case.get("mocks") or {})
    machine = sfn.create_state_machine(
        name=f"conformance-{index}", definition=json.dumps(case["definition"]), roleArn=ROLE
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=machine, input=json.dumps(case.get("input", {})))["executionArn"]
    deadline = time.monotonic() + DEADLINE_S
    while True:
        description = sfn.describe_execution(executionArn=execution)
        if description["status"] != "RUNNING" or time.monotonic() > deadline:
            return outcome(description)
        time.sleep(0.002)


def main() -> int:
    # moto logs every failing case's exception; the comparison below is the report.
    logging.disable(logging.WARNING)
    execution_worker.ExecutionWorker.__init__ = _init_with_mocks
    retrier_decl.time = SimpleNamespace(sleep=lambda seconds: None)
    default_user_config["stepfunctions"] = {"execute_state_machine": True}
    departures = json.loads(DEPARTURES.read_text(encoding="utf-8"))["departures"]
    listed = {d["case"]: d for d in departures}
    agreed, departed, differed, skipped, problems = 0, 0, 0, 0, []
    seen = set()
    with mock_aws():
        sfn = boto3.client("stepfunctions")
        index = 0
        for path in sorted(SUITE.glob("*.json")):
            for case in json.loads(path.read_text(encoding="utf-8")):
                name = case["name"]
                if needs_jsonata(case["definition"]):
                    skipped += 1
                    continue
                index += 1
                got = run(sfn, index, case)
                if agrees(case["expected"], got):
                    agreed += 1
                    if name in listed:
                        problems.append(f"{name}: listed as a departure, but moto now agrees")
                elif name in listed:
                    departed += 1
                    seen.add(name)
                    if listed[name]["moto"] != got:
                        problems.append(f"{name}: moto gives {json.dumps(got)}, listed as {json.dumps(listed[name]['moto'])}")
                else:
                    differed += 1
                    problems.append(f"{name}: expected {json.dumps(case['expected'])}, moto gives {json.dumps(got)}")
    problems += [f"{name}: listed as a departure but not in the suite" for name in listed.keys() - seen if not any(name in p for p in problems)]
    print(
        f"moto oracle: {agreed} of {agreed + departed + differed} cases agree with the expected results, "
        f"{departed} are listed departures, {differed} differ unlisted; {skipped} cases with JSONata or "
        "variables left out"
    )
    for problem in problems:
        print(f"  {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
