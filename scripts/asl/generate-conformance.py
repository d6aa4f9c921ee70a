#!/usr/bin/env python3
"""Regenerates crates/asl/tests/conformance/*.json: small state machines, inputs, mocks and the
results AWS documents for them.

The expected results are NOT produced by the executor under test. Each family computes them with an
independent model written here from the Step Functions developer guide, using Python's own
libraries (hashlib, base64, json, datetime) and plain arithmetic:

- intrinsics: every intrinsic function of AWS's list on literal and path arguments, and their
  documented errors (States.IntrinsicFailure) and the States.Runtime of a missing path;
- choice: every comparison operator, its ...Path form and the type tests, against several values;
- dataflow: InputPath / Parameters / ResultSelector / ResultPath / OutputPath combinations;
- retry: a mocked Task failing N times under Retry (MaxAttempts, ErrorEquals, States.ALL) and Catch;
- jsonata: JSONata Pass/Choice/Task states whose expressions use arithmetic, strings and variables;
- variables: JSONPath Assign on every state that takes it (what `$` is in each: a Pass's result, a
  Task's result after ResultSelector, a Choice's or Wait's input, a catcher's error output), the
  evaluation order (every value and OutputPath see the variables as they were before the state),
  `$name` references in paths, intrinsics, Choice rules, InputPath, OutputPath and ItemsPath,
  Map and Parallel scopes, unassigned names;
- branches: Parallel and Map results, ResultPath/ResultSelector on them, item selection and
  index, failures out of a branch or iteration, caught and not;
- callbacks: `.waitForTaskToken` tasks whose callback is mocked (the mock format answers a callback
  task with its mocked success or failure), with the token in the parameters, ResultSelector,
  ResultPath, Retry and Catch.

Run: python3 scripts/asl/generate-conformance.py   (no dependencies; deterministic)
"""
import base64
import hashlib
import json
import os
from datetime import datetime

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "crates", "asl", "tests", "conformance")


def pass_machine(parameters):
    return {"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": parameters, "End": True}}}


def ok(output):
    return {"status": "SUCCEEDED", "output": output}


def err(error):
    return {"status": "FAILED", "error": error}


def intrinsics():
    cases = []

    def add(name, expr, inp, expected):
        cases.append({"name": name, "definition": pass_machine({"r.$": expr}), "input": inp,
                      "expected": ok({"r": expected}) if not isinstance(expected, Exception) else err(str(expected))})

    failure = Exception("States.IntrinsicFailure")
    runtime = Exception("States.Runtime")
    for i, arr in enumerate([[1, 2, 3, 4, 5, 6, 7, 8, 9], [], ["a"], [1, 2], list(range(10))]):
        for size in [1, 2, 3, 4, 20]:
            chunks = [arr[j:j + size] for j in range(0, len(arr), size)]
            add(f"partition-{i}-{size}", f"States.ArrayPartition($.a, {size})", {"a": arr}, chunks)
        add(f"length-{i}", "States.ArrayLength($.a)", {"a": arr}, len(arr))
        add(f"unique-{i}", "States.ArrayUnique($.a)", {"a": arr + arr}, list(dict.fromkeys(arr)))
        add(f"contains-{i}", "States.ArrayContains($.a, 2)", {"a": arr}, 2 in arr)
        for index in [0, 1, 5]:
            add(f"getitem-{i}-{index}", f"States.ArrayGetItem($.a, {index})", {"a": arr},
                arr[index] if index < len(arr) else failure)
    add("partition-zero", "States.ArrayPartition($.a, 0)", {"a": [1]}, failure)
    for start, end, step in [(1, 9, 2), (0, 10, 3), (10, 1, -3), (5, 5, 1), (1, 0, 1)]:
        out = list(range(start, end + (1 if step > 0 else -1), step))
        add(f"range-{start}-{end}-{step}", f"States.ArrayRange({start}, {end}, {step})", {}, out)
    add("range-too-long", "States.ArrayRange(0, 2000, 1)", {}, failure)
    add("range-step-zero", "States.ArrayRange(0, 10, 0)", {}, failure)
    for i, text in enumerate(["Data to encode", "", "ünïcödé", "a" * 100, "{\"json\": true}"]):
        encoded = base64.b64encode(text.encode()).decode()
        add(f"base64-encode-{i}", "States.Base64Encode($.s)", {"s": text}, encoded)
        add(f"base64-decode-{i}", "States.Base64Decode($.s)", {"s": encoded}, text)
        for algorithm, fn in [("MD5", hashlib.md5), ("SHA-1", hashlib.sha1), ("SHA-256", hashlib.sha256),
                              ("SHA-384", hashlib.sha384), ("SHA-512", hashlib.sha512)]:
            add(f"hash-{i}-{algorithm}", f"States.Hash($.s, '{algorithm}')", {"s": text},
                fn(text.encode()).hexdigest())
    add("base64-too-long", "States.Base64Encode($.s)", {"s": "x" * 10001}, failure)
    add("hash-unknown", "States.Hash('x', 'CRC32')", {}, failure)
    for i, (a, b) in enumerate([({"a": 1}, {"b": 2}), ({"a": {"x": 1}}, {"a": {"y": 2}}), ({}, {"k": [1]})]):
        merged = dict(a)
        merged.update(b)
        add(f"jsonmerge-{i}", "States.JsonMerge($.a, $.b, false)", {"a": a, "b": b}, merged)
    add("jsonmerge-deep", "States.JsonMerge($.a, $.b, true)", {"a": {}, "b": {}}, failure)
    for i, value in enumerate([{"a": [1, 2]}, [1, "x", None], "text", 12, True]):
        text = json.dumps(value, separators=(",", ":"))
        add(f"json-to-string-{i}", "States.JsonToString($.v)", {"v": value}, text)
        add(f"string-to-json-{i}", "States.StringToJson($.s)", {"s": text}, value)
    add("string-to-json-bad", "States.StringToJson($.s)", {"s": "{nope"}, failure)
    for a, b in [(1, 2), (-5, 3), (111, -1), (0, 0)]:
        add(f"math-add-{a}-{b}", f"States.MathAdd($.a, {b})", {"a": a}, a + b)
    for i, (text, sep) in enumerate([("1,2,3", ","), ("a-b_c", "-_"), ("none", ","), (",,a,,", ",")]):
        parts = [p for p in "".join(c if c not in sep else "\0" for c in text).split("\0") if p]
        add(f"split-{i}", f"States.StringSplit($.s, '{sep}')", {"s": text}, parts)
    for i, (template, args, out) in enumerate([
        ("Hello, {}!", "$.n", "Hello, Ada!"), ("{} and {}", "$.n, 3", "Ada and 3"),
        ("\\{\\}", None, "{}"), ("{}", "true", "true"), ("{}", "null", "null"),
    ]):
        call = f"States.Format('{template}'" + (f", {args})" if args else ")")
        add(f"format-{i}", call, {"n": "Ada"}, out)
    add("format-too-few", "States.Format('{} {}', $.n)", {"n": 1}, failure)
    add("array", "States.Array($.a, 'x', 1, null)", {"a": {"k": 1}}, [{"k": 1}, "x", 1, None])
    add("nested", "States.ArrayLength(States.ArrayPartition(States.ArrayRange(1, 10, 1), 3))", {}, 4)
    add("missing-path", "States.ArrayLength($.nope)", {}, runtime)
    # States.Runtime is never caught, not even by States.ALL.
    cases.append({"name": "runtime-not-caught", "definition": {"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"x.$": "$.missing"},
              "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "C"}], "End": True},
        "C": {"Type": "Succeed"}}}, "input": {}, "mocks": {"T": [{"Return": {}}]}, "expected": err("States.Runtime")})
    return cases


def choice():
    cases = []
    ops = {
        "StringEquals": lambda a, b: isinstance(a, str) and a == b,
        "StringLessThan": lambda a, b: isinstance(a, str) and a < b,
        "StringGreaterThan": lambda a, b: isinstance(a, str) and a > b,
        "StringLessThanEquals": lambda a, b: isinstance(a, str) and a <= b,
        "StringGreaterThanEquals": lambda a, b: isinstance(a, str) and a >= b,
    }
    nums = {
        "NumericEquals": lambda a, b: a == b, "NumericLessThan": lambda a, b: a < b,
        "NumericGreaterThan": lambda a, b: a > b, "NumericLessThanEquals": lambda a, b: a <= b,
        "NumericGreaterThanEquals": lambda a, b: a >= b,
    }

    def machine(rule):
        rule = dict(rule, Next="Yes")
        return {"StartAt": "C", "States": {
            "C": {"Type": "Choice", "Choices": [rule], "Default": "No"},
            "Yes": {"Type": "Pass", "Result": "yes", "End": True},
            "No": {"Type": "Pass", "Result": "no", "End": True}}}

    def add(name, rule, inp, matched):
        cases.append({"name": name, "definition": machine(rule), "input": inp,
                      "expected": ok("yes" if matched else "no")})

    for op, fn in ops.items():
        for i, value in enumerate(["abc", "abd", "ab", "", 3]):
            add(f"{op}-{i}", {"Variable": "$.v", op: "abc"}, {"v": value}, fn(value, "abc"))
            if isinstance(value, str):
                add(f"{op}Path-{i}", {"Variable": "$.v", op + "Path": "$.w"}, {"v": value, "w": "abc"},
                    fn(value, "abc"))
    for op, fn in nums.items():
        for i, value in enumerate([1, 2, 2.5, -1, 0]):
            add(f"{op}-{i}", {"Variable": "$.v", op: 2}, {"v": value}, fn(value, 2))
            add(f"{op}Path-{i}", {"Variable": "$.v", op + "Path": "$.w"}, {"v": value, "w": 2}, fn(value, 2))
        add(f"{op}-string", {"Variable": "$.v", op: 2}, {"v": "2"}, False)
    for i, value in enumerate([True, False, "true", 1]):
        add(f"BooleanEquals-{i}", {"Variable": "$.v", "BooleanEquals": True}, {"v": value}, value is True)
    stamps = ["2026-01-01T00:00:00Z", "2026-06-01T12:00:00Z", "2025-12-31T23:59:59Z"]
    pivot = datetime.fromisoformat("2026-01-01T00:00:00+00:00")
    for op, fn in [("TimestampEquals", lambda a: a == pivot), ("TimestampLessThan", lambda a: a < pivot),
                   ("TimestampGreaterThan", lambda a: a > pivot), ("TimestampLessThanEquals", lambda a: a <= pivot),
                   ("TimestampGreaterThanEquals", lambda a: a >= pivot)]:
        for i, stamp in enumerate(stamps):
            value = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
            add(f"{op}-{i}", {"Variable": "$.v", op: "2026-01-01T00:00:00Z"}, {"v": stamp}, fn(value))
    tests = {
        "IsNull": lambda v: v is None, "IsString": lambda v: isinstance(v, str),
        "IsNumeric": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        "IsBoolean": lambda v: isinstance(v, bool),
        "IsTimestamp": lambda v: isinstance(v, str) and v.endswith("Z") and "T" in v,
    }
    for test, fn in tests.items():
        for i, value in enumerate([None, "s", 1, 1.5, True, "2026-01-01T00:00:00Z", [1], {"a": 1}]):
            for expected_flag in [True, False]:
                add(f"{test}-{i}-{expected_flag}", {"Variable": "$.v", test: expected_flag}, {"v": value},
                    fn(value) == expected_flag)
    for i, inp in enumerate([{"v": 1}, {}, {"v": None}]):
        add(f"IsPresent-{i}", {"Variable": "$.v", "IsPresent": True}, inp, "v" in inp)
    for i, (a, b) in enumerate([(1, 1), (1, 5), (5, 5), (5, 1)]):
        add(f"And-{i}", {"And": [{"Variable": "$.a", "NumericEquals": 1}, {"Variable": "$.b", "NumericEquals": 1}]},
            {"a": a, "b": b}, a == 1 and b == 1)
        add(f"Or-{i}", {"Or": [{"Variable": "$.a", "NumericEquals": 1}, {"Variable": "$.b", "NumericEquals": 1}]},
            {"a": a, "b": b}, a == 1 or b == 1)
        add(f"Not-{i}", {"Not": {"Variable": "$.a", "NumericEquals": 1}}, {"a": a}, a != 1)
    for i, (pattern, value, matched) in enumerate([("log-*.txt", "log-1.txt", True), ("*.txt", "a.csv", False),
                                                    ("a\\*b", "a*b", True), ("*", "", True)]):
        add(f"StringMatches-{i}", {"Variable": "$.v", "StringMatches": pattern}, {"v": value}, matched)
    cases.append({"name": "no-match-no-default", "definition": {"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [{"Variable": "$.v", "NumericEquals": 1, "Next": "Y"}]},
        "Y": {"Type": "Succeed"}}}, "input": {"v": 2}, "expected": err("States.NoChoiceMatched")})
    cases.append({"name": "missing-variable", "definition": machine({"Variable": "$.nope", "NumericEquals": 1}),
                  "input": {}, "expected": err("States.Runtime")})
    return cases


def dataflow():
    cases = []
    inputs = [{"a": {"b": 1, "c": [1, 2, 3]}, "d": "x"}, {"a": {"b": {"deep": True}, "c": []}, "d": None}]
    for i, inp in enumerate(inputs):
        for j, (field, value, expected) in enumerate([
            ("InputPath", "$.a", inp["a"]),
            ("InputPath", "$.a.c", inp["a"]["c"]),
            ("OutputPath", "$.d", inp["d"]),
            ("OutputPath", None, {}),
            ("InputPath", None, {}),
        ]):
            cases.append({"name": f"io-{i}-{j}", "definition": {"StartAt": "P", "States": {
                "P": {"Type": "Pass", field: value, "End": True}}}, "input": inp, "expected": ok(expected)})
        for j, (result_path, expected) in enumerate([
            ("$", "R"), ("$.r", dict(inp, r="R")), ("$.a.r", dict(inp, a=dict(inp["a"], r="R"))), (None, inp),
        ]):
            cases.append({"name": f"resultpath-{i}-{j}", "definition": {"StartAt": "P", "States": {
                "P": {"Type": "Pass", "Result": "R", "ResultPath": result_path, "End": True}}},
                "input": inp, "expected": ok(expected)})
        cases.append({"name": f"parameters-{i}", "definition": pass_machine(
            {"first.$": "$.a.c[0]", "all.$": "$.a.c", "lit": 1, "nested": {"d.$": "$.d"}, "ctx.$": "$$.State.Name"}),
            "input": inp, "expected": ok({"first": inp["a"]["c"][0] if inp["a"]["c"] else None,
                                          "all": inp["a"]["c"], "lit": 1, "nested": {"d": inp["d"]}, "ctx": "P"})
            if inp["a"]["c"] else err("States.Runtime")})
        cases.append({"name": f"task-selector-{i}", "definition": {"StartAt": "T", "States": {
            "T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "ResultSelector": {"p.$": "$.Payload"},
                  "ResultPath": "$.out", "OutputPath": "$.out", "End": True}}},
            "input": inp, "mocks": {"T": [{"Return": {"StatusCode": 200, "Payload": inp["d"]}}]},
            "expected": ok({"p": inp["d"]})})
        cases.append({"name": f"lambda-arn-payload-{i}", "definition": {"StartAt": "T", "States": {
            "T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:f", "End": True}}},
            "input": inp, "mocks": {"T": [{"Return": {"StatusCode": 200, "Payload": {"got": inp["d"]}}}]},
            "expected": ok({"got": inp["d"]})})
    cases.append({"name": "resultpath-into-string", "definition": {"StartAt": "P", "States": {
        "P": {"Type": "Pass", "Result": 1, "ResultPath": "$.d.x", "End": True}}},
        "input": {"d": "text"}, "expected": err("States.ResultPathMatchFailure")})
    cases.append({"name": "inputpath-missing", "definition": {"StartAt": "P", "States": {
        "P": {"Type": "Pass", "InputPath": "$.nope", "End": True}}}, "input": {}, "expected": err("States.Runtime")})
    return cases


def retry():
    cases = []
    for failures in range(0, 5):
        for max_attempts in [0, 1, 2, 3]:
            for caught in [False, True]:
                mocks = [{"Throw": {"Error": "Lambda.ServiceException", "Cause": f"try {n}"}} for n in range(failures)]
                mocks.append({"Return": {"ok": True}})
                task = {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                        "Retry": [{"ErrorEquals": ["Lambda.ServiceException"], "MaxAttempts": max_attempts,
                                   "IntervalSeconds": 1, "BackoffRate": 2}], "End": True}
                states = {"T": task}
                if caught:
                    task["Catch"] = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "C"}]
                    states["C"] = {"Type": "Pass", "End": True}
                succeeded = failures <= max_attempts
                if succeeded:
                    expected = ok({"ok": True})
                elif caught:
                    expected = ok({"in": 1, "error": {"Error": "Lambda.ServiceException",
                                                      "Cause": f"try {max_attempts}"}})
                else:
                    expected = err("Lambda.ServiceException")
                cases.append({"name": f"retry-{failures}-{max_attempts}-{caught}",
                              "definition": {"StartAt": "T", "States": states}, "input": {"in": 1},
                              "mocks": {"T": mocks}, "expected": expected})
    # Only the first matching retrier counts; States.ALL catches task errors but not States.Runtime.
    for i, names in enumerate([["States.ALL"], ["States.TaskFailed"], ["Other"], ["Lambda.ServiceException", "X"]]):
        matches = names[0] in ("States.ALL", "States.TaskFailed", "Lambda.ServiceException")
        cases.append({"name": f"catch-names-{i}", "definition": {"StartAt": "T", "States": {
            "T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                  "Catch": [{"ErrorEquals": names, "Next": "C"}], "End": True},
            "C": {"Type": "Pass", "Result": "caught", "End": True}}}, "input": {},
            "mocks": {"T": [{"Throw": {"Error": "Lambda.ServiceException", "Cause": "c"}}]},
            "expected": ok("caught") if matches else err("Lambda.ServiceException")})
    return cases


def jsonata():
    cases = []
    for i, (a, b) in enumerate([(1, 2), (10, -3), (2.5, 4), (0, 0), (7, 7)]):
        definition = {"QueryLanguage": "JSONata", "StartAt": "A", "States": {
            "A": {"Type": "Pass", "Assign": {"sum": "{% $states.input.a + $states.input.b %}"},
                  "Output": {"product": "{% $states.input.a * $states.input.b %}"}, "Next": "B"},
            "B": {"Type": "Choice", "Choices": [
                {"Condition": "{% $sum > 5 %}", "Next": "Big"}], "Default": "Small"},
            "Big": {"Type": "Pass", "Output": {"size": "big", "sum": "{% $sum %}", "product": "{% $states.input.product %}"}, "End": True},
            "Small": {"Type": "Pass", "Output": {"size": "small", "sum": "{% $sum %}"}, "End": True}}}
        s = a + b
        out = {"size": "big", "sum": s, "product": a * b} if s > 5 else {"size": "small", "sum": s}
        cases.append({"name": f"jsonata-flow-{i}", "definition": definition, "input": {"a": a, "b": b},
                      "expected": ok(out)})
    for i, words in enumerate([["a", "b"], ["Hello", "World"], [], ["x"]]):
        definition = {"QueryLanguage": "JSONata", "StartAt": "T", "States": {
            "T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                  "Arguments": {"Payload": "{% $join($states.input.words, ' ') %}"},
                  "Output": "{% $uppercase($states.result.Payload) %}", "End": True}}}
        cases.append({"name": f"jsonata-task-{i}", "definition": definition, "input": {"words": words},
                      "mocks": {"T": [{"Return": {"StatusCode": 200, "Payload": " ".join(words)}}]},
                      "expected": ok(" ".join(words).upper())})
    for i, items in enumerate([[1, 2, 3], [], [5]]):
        definition = {"QueryLanguage": "JSONata", "StartAt": "M", "States": {
            "M": {"Type": "Map", "Items": "{% $states.input.items %}",
                  "ItemProcessor": {"StartAt": "D", "States": {"D": {"Type": "Pass", "Output": "{% $states.input * 2 %}", "End": True}}},
                  "Output": "{% $sum($states.result) %}", "End": True}}}
        cases.append({"name": f"jsonata-map-{i}", "definition": definition, "input": {"items": items},
                      "expected": ok(sum(2 * x for x in items))})
    return cases


def chain(*states, **first):
    """A machine of `states` (name, state) run in order; the last ends it."""
    named = dict(states)
    names = list(named)
    for name, following in zip(names, names[1:]):
        named[name].setdefault("Next", following)
    named[names[-1]]["End"] = True
    return {"StartAt": names[0], "States": named, **first}


def read(**fields):
    """A last Pass state that outputs `fields`, each a path or an intrinsic call."""
    return ("Read", {"Type": "Pass", "Parameters": {f"{k}.$": v for k, v in fields.items()}})


def case(name, definition, expected, input=None, mocks=None):
    c = {"name": name, "definition": definition, "input": {} if input is None else input}
    if mocks:
        c["mocks"] = mocks
    c["expected"] = expected
    return c


def variables():
    lam = "arn:aws:states:::lambda:invoke"
    cases = [
        case("assign-constants", chain(
            ("S", {"Type": "Pass", "Assign": {"n": 1, "list": [1, 2], "obj": {"d": "x"}, "nil": None}}),
            read(n="$n", second="$list[1]", d="$obj.d", nil="$nil")),
            ok({"n": 1, "second": 2, "d": "x", "nil": None})),
        case("assign-from-pass-result", chain(
            ("S", {"Type": "Pass", "Result": {"answer": 42}, "Assign": {"x.$": "$.answer"}}),
            ("T", {"Type": "Pass", "OutputPath": "$x"})), ok(42)),
        case("assign-from-pass-parameters", chain(
            ("S", {"Type": "Pass", "Parameters": {"input": "PENDING"}, "Assign": {"r.$": "$.input"}}),
            read(r="$r")), ok({"r": "PENDING"})),
        case("assign-from-pass-input", chain(
            ("S", {"Type": "Pass", "InputPath": "$.inner", "Assign": {"x.$": "$.v"}}),
            read(x="$x")), ok({"x": 5}), {"inner": {"v": 5}}),
        # AWS's own evaluation-order example: InputPath and OutputPath read the old value.
        case("assign-evaluation-order", chain(
            ("S0", {"Type": "Pass", "Result": {"q": "Q"}, "Assign": {"question.$": "$.q", "answer": 42}}),
            ("S1", {"Type": "Pass", "InputPath": "$answer", "ResultPath": "$.theAnswer",
                    "OutputPath": "$answer", "Assign": {"answer": "changed"}}),
            ("S2", {"Type": "Pass", "Parameters": {"was.$": "$", "now.$": "$answer", "q.$": "$question"}})),
            ok({"was": 42, "now": "changed", "q": "Q"})),
        case("assign-sees-old-values", chain(
            ("S0", {"Type": "Pass", "Assign": {"a": 1}}),
            ("S1", {"Type": "Pass", "Assign": {"a": 2, "b.$": "$a"}}),
            read(a="$a", b="$b")), ok({"a": 2, "b": 1})),
        case("reassign-with-intrinsic", chain(
            ("S0", {"Type": "Pass", "Assign": {"c": 1}}),
            ("S1", {"Type": "Pass", "Assign": {"c.$": "States.MathAdd($c, 1)"}}),
            ("S2", {"Type": "Pass", "Assign": {"c.$": "States.MathAdd($c, 1)"}}),
            read(c="$c")), ok({"c": 3})),
        case("assign-from-context-and-intrinsic", chain(
            ("S0", {"Type": "Pass", "Assign": {"state.$": "$$.State.Name", "n.$": "States.ArrayLength($.xs)"}}),
            read(state="$state", n="$n")), ok({"state": "S0", "n": 3}), {"xs": [1, 2, 3]}),
        case("reference-in-intrinsic", chain(
            ("S0", {"Type": "Pass", "Assign": {"name": "Ada"}}),
            read(greeting="States.Format('hi {}', $name)")), ok({"greeting": "hi Ada"})),
        case("reference-in-inputpath", chain(
            ("S0", {"Type": "Pass", "Assign": {"x": {"deep": [7]}}}),
            ("S1", {"Type": "Pass", "InputPath": "$x.deep[0]"})), ok(7)),
        case("reference-in-choice", {"StartAt": "Setup", "States": {
            "Setup": {"Type": "Pass", "Assign": {"guess": "g", "answer": "a"}, "Next": "Check"},
            "Check": {"Type": "Choice", "Choices": [
                {"Variable": "$guess", "StringEqualsPath": "$answer", "Next": "Correct"}], "Default": "Wrong"},
            "Correct": {"Type": "Pass", "Result": {"state": "CORRECT"}, "End": True},
            "Wrong": {"Type": "Pass", "Assign": {"guess.$": "$answer"}, "Result": {"state": "WRONG"}, "Next": "Check"}}},
            ok({"state": "CORRECT"})),
        case("assign-in-wait", chain(
            ("W", {"Type": "Wait", "Seconds": 0, "Assign": {"w.$": "$.v"}}),
            read(w="$w")), ok({"w": "in"}), {"v": "in"}),
        case("unassigned-reference-fails", chain(
            ("S", {"Type": "Pass", "Parameters": {"a.$": "$nope"}})), err("States.Runtime")),
        case("unassigned-reference-in-task-not-caught", {"StartAt": "T", "States": {
            "T": {"Type": "Task", "Resource": lam, "Parameters": {"a.$": "$nope"},
                  "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "C"}], "End": True},
            "C": {"Type": "Pass", "End": True}}}, err("States.Runtime"),
            mocks={"T": [{"Return": {"StatusCode": 200, "Payload": 1}}]}),
        case("assign-from-task-result-after-selector", chain(
            ("T", {"Type": "Task", "Resource": lam, "ResultSelector": {"n.$": "$.Payload.n"},
                   "Assign": {"n.$": "$.n"}, "ResultPath": None}),
            read(n="$n", input="$.in")), ok({"n": 3, "input": 1}), {"in": 1},
            mocks={"T": [{"Return": {"StatusCode": 200, "Payload": {"n": 3}}}]}),
        case("assign-in-catch-from-error-output", {"StartAt": "T", "States": {
            "T": {"Type": "Task", "Resource": lam, "Assign": {"never": True},
                  "Catch": [{"ErrorEquals": ["States.ALL"], "Assign": {"err.$": "$.Error", "cause.$": "$.Cause"},
                             "ResultPath": "$.e", "Next": "C"}], "End": True},
            "C": {"Type": "Pass", "Parameters": {"err.$": "$err", "cause.$": "$cause", "e.$": "$.e.Error"}, "End": True}}},
            ok({"err": "Boom", "cause": "c", "e": "Boom"}),
            mocks={"T": [{"Throw": {"Error": "Boom", "Cause": "c"}}]}),
    ]
    # Variables cross query languages: one assigned in a JSONPath state is read in JSONata, and back.
    cases += [
        case("jsonpath-assign-read-in-jsonata", chain(
            ("S", {"Type": "Pass", "Assign": {"x.$": "$.v"}}),
            ("J", {"Type": "Pass", "QueryLanguage": "JSONata", "Output": "{% $x * 2 %}"})), ok(10), {"v": 5}),
        case("jsonata-assign-read-in-jsonpath", chain(
            ("J", {"Type": "Pass", "QueryLanguage": "JSONata", "Assign": {"x": "{% $states.input.v + 1 %}"}}),
            read(x="$x")), ok({"x": 6}), {"v": 5}),
    ]
    # A Choice rule's own Assign when it matches, the state's when the Default is taken.
    for v, expected in [(1, "one"), (2, "other")]:
        cases.append(case(f"assign-in-choice-{v}", {"StartAt": "C", "States": {
            "C": {"Type": "Choice", "Assign": {"s": "other", "seen.$": "$.v"},
                  "Choices": [{"Variable": "$.v", "NumericEquals": 1, "Assign": {"s": "one"}, "Next": "Done"}],
                  "Default": "Done"},
            "Done": {"Type": "Pass", "Parameters": {"s.$": "$s"}, "End": True}}},
            ok({"s": expected}), {"v": v}))
    # Map and Parallel: an iteration or branch reads the outer variables; what it assigns stays inside.
    cases += [
        case("reference-in-itemspath", chain(
            ("S", {"Type": "Pass", "Assign": {"items": [1, 2, 3]}}),
            ("M", {"Type": "Map", "ItemsPath": "$items", "ItemProcessor": {
                "StartAt": "I", "States": {"I": {"Type": "Pass", "End": True}}}})), ok([1, 2, 3])),
        case("map-reads-outer-variables", chain(
            ("S", {"Type": "Pass", "Assign": {"k": 10}}),
            ("M", {"Type": "Map", "ItemsPath": "$.xs",
                   "ItemSelector": {"v.$": "$$.Map.Item.Value", "k.$": "$k"},
                   "ItemProcessor": {"StartAt": "I", "States": {
                       "I": {"Type": "Pass", "Parameters": {"sum.$": "States.MathAdd($.v, $k)"}, "End": True}}}})),
            ok([{"sum": 11}, {"sum": 12}]), {"xs": [1, 2]}),
        case("map-assignments-stay-inside", chain(
            ("S", {"Type": "Pass", "Assign": {"x": 1}}),
            ("M", {"Type": "Map", "ItemsPath": "$.xs", "ResultPath": None, "ItemProcessor": {
                "StartAt": "I", "States": {"I": {"Type": "Pass", "Assign": {"inner.$": "$"}, "End": True}}}}),
            read(x="$x")), ok({"x": 1}), {"xs": [5, 6]}),
        case("map-inner-variable-unknown-outside", chain(
            ("M", {"Type": "Map", "ItemsPath": "$.xs", "ResultPath": None, "ItemProcessor": {
                "StartAt": "I", "States": {"I": {"Type": "Pass", "Assign": {"inner.$": "$"}, "End": True}}}}),
            read(inner="$inner")), err("States.Runtime"), {"xs": [5]}),
        case("parallel-reads-outer-variables", chain(
            ("S", {"Type": "Pass", "Assign": {"x": 42}}),
            ("P", {"Type": "Parallel", "Branches": [
                {"StartAt": "A", "States": {"A": {"Type": "Pass", "Parameters": {"v.$": "$x"}, "End": True}}},
                {"StartAt": "B", "States": {"B": {"Type": "Pass", "Result": 1, "End": True}}}]})),
            ok([{"v": 42}, 1])),
        case("assign-from-parallel-result", chain(
            ("P", {"Type": "Parallel", "ResultSelector": {"first.$": "$[0]"}, "Assign": {"first.$": "$.first"},
                   "ResultPath": None, "Branches": [
                {"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": "a", "End": True}}},
                {"StartAt": "B", "States": {"B": {"Type": "Pass", "Result": "b", "End": True}}}]}),
            read(first="$first")), ok({"first": "a"})),
    ]
    return cases


def ends(state):
    """`state` as the last of its machine: `End`, except for Fail, which ends by itself."""
    return state if state["Type"] == "Fail" else {**state, "End": True}


def branches():
    # State names are unique in the whole definition, branches and processors included.
    names = iter(f"B{i}" for i in range(100))

    def branch(state):
        name = next(names)
        return {"StartAt": name, "States": {name: ends(state)}}

    def processor(state):
        name = next(names)
        return {"StartAt": name, "States": {name: ends(state)}}

    fail = {"Type": "Fail", "Error": "Broken", "Cause": "c"}
    cases = [
        case("parallel-results-in-order", chain(("P", {"Type": "Parallel", "Branches": [
            branch({"Type": "Pass", "Result": "a"}), branch({"Type": "Pass", "Parameters": {"x.$": "$.x"}}),
            branch({"Type": "Wait", "Seconds": 5})]})),
            ok(["a", {"x": 1}, {"x": 1}]), {"x": 1}),
        case("parallel-result-path", chain(("P", {"Type": "Parallel", "ResultPath": "$.r", "Branches": [
            branch({"Type": "Pass", "Result": 1}), branch({"Type": "Pass", "Result": 2})]})),
            ok({"x": 1, "r": [1, 2]}), {"x": 1}),
        case("parallel-parameters-and-selector", chain(("P", {
            "Type": "Parallel", "Parameters": {"v.$": "$.x"}, "ResultSelector": {"both.$": "$[*].v"},
            "Branches": [branch({"Type": "Pass"}), branch({"Type": "Pass"})]})),
            ok({"both": [1, 1]}), {"x": 1}),
        case("parallel-branch-failure-caught", {"StartAt": "P", "States": {
            "P": {"Type": "Parallel", "Branches": [branch({"Type": "Pass"}), branch(fail)],
                  "Catch": [{"ErrorEquals": ["Broken"], "ResultPath": "$.err", "Next": "C"}], "End": True},
            "C": {"Type": "Pass", "End": True}}},
            ok({"x": 1, "err": {"Error": "Broken", "Cause": "c"}}), {"x": 1}),
        case("parallel-branch-failure-uncaught", chain(("P", {"Type": "Parallel", "Branches": [
            branch({"Type": "Pass"}), branch(fail)]})), err("Broken")),
        case("parallel-branch-failure-retried-then-fails", chain(("P", {
            "Type": "Parallel", "Branches": [branch(fail)],
            "Retry": [{"ErrorEquals": ["Broken"], "MaxAttempts": 2, "IntervalSeconds": 1}]})), err("Broken")),
        case("map-basic", chain(("M", {"Type": "Map", "ItemsPath": "$.xs", "ItemProcessor": processor(
            {"Type": "Pass", "Parameters": {"v.$": "$"}})})),
            ok([{"v": 1}, {"v": "two"}, {"v": [3]}]), {"xs": [1, "two", [3]]}),
        case("map-index-and-value", chain(("M", {
            "Type": "Map", "ItemsPath": "$.xs", "MaxConcurrency": 1,
            "ItemSelector": {"i.$": "$$.Map.Item.Index", "v.$": "$$.Map.Item.Value", "outer.$": "$.o"},
            "ItemProcessor": processor({"Type": "Pass"})})),
            ok([{"i": 0, "v": "a", "outer": 9}, {"i": 1, "v": "b", "outer": 9}]), {"xs": ["a", "b"], "o": 9}),
        case("map-empty", chain(("M", {"Type": "Map", "ItemsPath": "$.xs", "ItemProcessor": processor(
            {"Type": "Pass"})})), ok([]), {"xs": []}),
        case("map-legacy-iterator-and-parameters", chain(("M", {
            "Type": "Map", "ItemsPath": "$.xs", "Parameters": {"v.$": "$$.Map.Item.Value"},
            "Iterator": processor({"Type": "Pass", "OutputPath": "$.v"})})),
            ok([3, 4]), {"xs": [3, 4]}),
        case("map-result-selector-and-path", chain(("M", {
            "Type": "Map", "ItemsPath": "$.xs", "ResultSelector": {"n.$": "States.ArrayLength($)"},
            "ResultPath": "$.count", "ItemProcessor": processor({"Type": "Pass"})})),
            ok({"xs": [1, 2, 3], "count": {"n": 3}}), {"xs": [1, 2, 3]}),
        case("map-iteration-failure-caught", {"StartAt": "M", "States": {
            "M": {"Type": "Map", "ItemsPath": "$.xs", "ItemProcessor": processor(fail),
                  "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "C"}], "End": True},
            "C": {"Type": "Pass", "End": True}}},
            ok({"Error": "Broken", "Cause": "c"}), {"xs": [1]}),
        case("map-iteration-failure-uncaught", chain(("M", {
            "Type": "Map", "ItemsPath": "$.xs", "ItemProcessor": processor(fail)})), err("Broken"), {"xs": [1, 2]}),
        case("map-itemspath-not-an-array", chain(("M", {
            "Type": "Map", "ItemsPath": "$.x", "ItemProcessor": processor({"Type": "Pass"})})),
            err("States.Runtime"), {"x": 5}),
        case("map-nested", chain(("M", {"Type": "Map", "ItemsPath": "$.rows", "ItemProcessor": processor(
            {"Type": "Map", "ItemsPath": "$", "ItemProcessor": {"StartAt": "J", "States": {
                "J": {"Type": "Pass", "Parameters": {"x.$": "$"}, "End": True}}}})})),
            ok([[{"x": 1}, {"x": 2}], [{"x": 3}]]), {"rows": [[1, 2], [3]]}),
    ]
    return cases


def callbacks():
    sqs = "arn:aws:states:::sqs:sendMessage.waitForTaskToken"
    send = {"QueueUrl": "https://sqs.eu-west-1.amazonaws.com/123456789012/review",
            "MessageBody": {"token.$": "$$.Task.Token", "listing.$": "$.id"}}

    def wait(**fields):
        return {"Type": "Task", "Resource": sqs, "Parameters": send, **fields}

    verdict = {"Return": {"verdict": "approved", "by": "ada"}}
    rejected = {"Throw": {"Error": "Review.Rejected", "Cause": "blurry photos"}}
    return [
        case("callback-success-into-result-path", chain(("W", wait(ResultPath="$.review"))),
             ok({"id": "L-1", "review": {"verdict": "approved", "by": "ada"}}), {"id": "L-1"},
             mocks={"W": [verdict]}),
        case("callback-success-through-selector", chain(("W", wait(
            ResultSelector={"approved.$": "States.ArrayContains(States.Array('approved'), $.verdict)"},
            ResultPath="$.r"))),
            ok({"id": "L-1", "r": {"approved": True}}), {"id": "L-1"}, mocks={"W": [verdict]}),
        case("callback-failure-caught", {"StartAt": "W", "States": {
            "W": wait(Catch=[{"ErrorEquals": ["Review.Rejected"], "ResultPath": "$.why", "Next": "Rejected"}], End=True),
            "Rejected": {"Type": "Pass", "End": True}}},
            ok({"id": "L-1", "why": {"Error": "Review.Rejected", "Cause": "blurry photos"}}), {"id": "L-1"},
            mocks={"W": [rejected]}),
        case("callback-failure-retried-then-succeeds", chain(("W", wait(
            Retry=[{"ErrorEquals": ["Review.Rejected"], "MaxAttempts": 1, "IntervalSeconds": 1}],
            ResultPath="$.review"))),
            ok({"id": "L-1", "review": {"verdict": "approved", "by": "ada"}}), {"id": "L-1"},
            mocks={"W": [rejected, verdict]}),
        case("callback-timeout-caught-by-states-timeout", {"StartAt": "W", "States": {
            "W": wait(TimeoutSeconds=60, Catch=[{"ErrorEquals": ["States.Timeout"], "Next": "Late"}], End=True),
            "Late": {"Type": "Pass", "Result": "late", "End": True}}},
            ok("late"), {"id": "L-1"}, mocks={"W": [{"Throw": {"Error": "States.Timeout", "Cause": "no callback"}}]}),
    ]


def main():
    os.makedirs(OUT, exist_ok=True)
    for family in [intrinsics, choice, dataflow, retry, jsonata, variables, branches, callbacks]:
        cases = family()
        path = os.path.join(OUT, f"{family.__name__}.json")
        with open(path, "w") as f:
            json.dump(cases, f, indent=1, ensure_ascii=False)
            f.write("\n")
        print(f"{family.__name__}: {len(cases)} cases")


if __name__ == "__main__":
    main()
