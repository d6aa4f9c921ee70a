//! The JSONata evaluator against the reference implementation (npm `jsonata`, pinned in
//! scripts/asl/install-jsonata-oracle.sh): hand-written cases over the operators and functions AWS
//! documents, plus expressions generated from a seeded grammar. Both sides must agree on the value,
//! on undefined, or on failing. Skips, saying so, only where `node` is not installed.

use std::path::{Path, PathBuf};
use std::process::Command;

use asl::jsonata::{Environment, Expression};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use time::macros::datetime;

fn sample() -> Value {
    json!({
        "FirstName": "Fred", "Surname": "Smith", "Age": 28,
        "Address": {"Street": "Hursley Park", "City": "Winchester", "Postcode": "SO21 2JN"},
        "Phone": [
            {"type": "home", "number": "0203 544 1234"},
            {"type": "office", "number": "01962 001234"},
            {"type": "office", "number": "01962 001235"},
            {"type": "mobile", "number": "077 7700 1234"}
        ],
        "Email": [
            {"type": "work", "address": ["fred.smith@my-work.com", "fsmith@my-work.com"]},
            {"type": "home", "address": ["freddy@my-social.com", "frederic.smith@very-serious.com"]}
        ],
        "Other": {"Over 18 ?": true, "Misc": null, "Alternative.Address": {"Street": "Brick Lane", "City": "London"}},
        "nums": [3, 1, 4, 1, 5, 9, 2, 6],
        "matrix": [[1, 2], [3, 4]],
        "empty": [],
        "s": "  Hello   World  ",
        "n": -2.5,
        "price": 12.345,
        "flag": false,
        "order": {"items": [{"sku": "a", "qty": 2, "price": 3.5}, {"sku": "b", "qty": 1, "price": 10}]}
    })
}

/// Hand-written expressions over the sample input.
const CASES: &[&str] = &[
    // paths, sequences, predicates
    "FirstName",
    "Address.City",
    "Phone.number",
    "Phone[0].number",
    "Phone[-1].type",
    "Phone[type='office'].number",
    "Phone[type='office'][1].number",
    "Email.address",
    "Email.address[0]",
    "(Email.address)[0]",
    "Email[type='home'].address[1]",
    "Address.*",
    "Other.`Over 18 ?`",
    "Other.`Alternative.Address`.City",
    "Other.Misc",
    "Other.Nothing",
    "nums[2]",
    "nums[[0,2]]",
    "nums[$ > 3]",
    "nums[0..2]",
    "matrix[0]",
    "matrix[1][0]",
    "matrix.$",
    "empty",
    "empty[0]",
    "Phone[]",
    "Address[]",
    "Address.City[]",
    "nums[-10]",
    "Phone.type[0]",
    "$.FirstName",
    "$$.Surname",
    "Phone.$",
    "Phone.{type: number}",
    "Phone{type: number}",
    "Phone.[type, number]",
    "[Phone.type]",
    "[Address, Other.Misc]",
    "*.City",
    "order.items.(qty * price)",
    "order.items[qty > 1].sku",
    "$count(Phone[type='office'])",
    // literals and constructors
    "1",
    "-1",
    "1.5e3",
    "'single'",
    "\"double\"",
    "true",
    "null",
    "[]",
    "{}",
    "[1, [2, 3], 4]",
    "[1..5]",
    "[5..1]",
    "[1..3, 7]",
    "{'a': 1, 'b': [1, 2]}",
    "{'k': undefined}",
    "[Other.Nothing]",
    // arithmetic, comparison, logic, strings
    "1 + 2 * 3",
    "(1 + 2) * 3",
    "10 / 4",
    "10 % 4",
    "-n",
    "Age - 8",
    "price * 100",
    "1 / 3",
    "0.1 + 0.2",
    "Age + Other.Nothing",
    "'a' + 1",
    "Age > 20",
    "Age >= 28",
    "'abc' < 'abd'",
    "1 < 'a'",
    "Age = 28",
    "Age != 28",
    "Phone = Phone",
    "Address = {'Street': 'Hursley Park'}",
    "true and false",
    "true or Other.Nothing",
    "Other.Nothing and true",
    "not_a_field or 1",
    "'office' in Phone.type",
    "3 in nums",
    "7 in nums",
    "FirstName & ' ' & Surname",
    "Age & '!'",
    "nums & ''",
    "Address & ''",
    "Age > 20 ? 'adult' : 'minor'",
    "flag ? 1",
    "empty ? 'yes' : 'no'",
    // blocks, variables, functions
    "($x := 3; $x * $x)",
    "($f := function($a, $b) { $a + $b }; $f(2, 3))",
    "($fact := function($n) { $n <= 1 ? 1 : $n * $fact($n - 1) }; $fact(10))",
    "(function($x) { $x * 2 })(21)",
    "nums ~> $sum()",
    "'abc' ~> $uppercase",
    "Phone.type ~> $distinct() ~> $count()",
    "($y := Age; Phone.($y))",
    "$map(nums, function($v, $i) { $v * $i })",
    "$filter(nums, function($v) { $v > 2 })",
    "$reduce(nums, function($a, $b) { $a + $b })",
    "$reduce(nums, function($a, $b) { $a + $b }, 100)",
    "$reduce(empty, function($a, $b) { $a + $b })",
    "$sort(nums)",
    "$sort(Phone.type)",
    "$sort(Phone, function($a, $b) { $a.number > $b.number }).number",
    "$sort([1, 'a'])",
    "$single(Phone, function($p) { $p.type = 'home' }).number",
    "$single(Phone, function($p) { $p.type = 'office' })",
    "$each(Address, function($v, $k) { $k & '=' & $v })",
    "$sift(Address, function($v) { $contains($v, 'SO') })",
    "$map(Phone, function($p) { $p.type })",
    "$map([], function($v) { $v })",
    // string functions
    "$string(Age)",
    "$string(Address)",
    "$string(1/3)",
    "$string(nums)",
    "$string(true)",
    "$string('x')",
    "$string(1e21)",
    "$string(0.0000001)",
    "$string(123456789012345678)",
    "$string(Address, true)",
    "$length(FirstName)",
    "$length('')",
    "$length(Age)",
    "$substring(Surname, 1, 3)",
    "$substring(Surname, -3)",
    "$substring(Surname, -3, 2)",
    "$substring(Surname, 10)",
    "$substring(Surname, 0, -1)",
    "$substringBefore(Address.Postcode, ' ')",
    "$substringAfter(Address.Postcode, ' ')",
    "$substringAfter(Address.Postcode, 'x')",
    "$uppercase(Address.City)",
    "$lowercase(FirstName)",
    "$trim(s)",
    "$pad('x', 4)",
    "$pad('x', -4, '#')",
    "$pad('abc', 2)",
    "$contains(Surname, 'mit')",
    "$split(Address.Postcode, ' ')",
    "$split('a,b,c', ',', 2)",
    "$split('abc', '')",
    "$join(Phone.type, ', ')",
    "$join(['a'])",
    "$join([1, 2])",
    "$replace(Address.Street, 'Park', 'Lane')",
    "$replace('aaaa', 'a', 'b', 2)",
    "$replace('x', '', 'y')",
    "$base64encode('Hello, world')",
    "$base64decode('SGVsbG8sIHdvcmxk')",
    "$encodeUrlComponent('a b&c/d?')",
    "$encodeUrl('https://x.org/a b?q=1&r=é')",
    "$decodeUrlComponent('a%20b%26c')",
    "$decodeUrl('https://x.org/a%20b')",
    "$uppercase()",
    // numeric functions
    "$number('42')",
    "$number('4.2e1')",
    "$number(' 12 ')",
    "$number('abc')",
    "$number(true)",
    "$number(Age)",
    "$abs(n)",
    "$floor(n)",
    "$ceil(n)",
    "$round(price, 2)",
    "$round(2.5)",
    "$round(3.5)",
    "$round(-2.5)",
    "$round(1234.5678, -2)",
    "$round(2.675, 2)",
    "$power(2, 10)",
    "$power(2, 0.5)",
    "$power(-8, 1/3)",
    "$sqrt(16)",
    "$sqrt(-1)",
    "$formatBase(255, 16)",
    "$formatBase(10, 2)",
    "$formatBase(-255, 16)",
    "$sum(nums)",
    "$sum([])",
    "$sum(5)",
    "$sum(['a'])",
    "$max(nums)",
    "$min(nums)",
    "$max([])",
    "$average(nums)",
    "$count(nums)",
    "$count(Other.Nothing)",
    "$count(Age)",
    // boolean functions
    "$boolean(0)",
    "$boolean('')",
    "$boolean([0, 1])",
    "$boolean([0])",
    "$boolean({})",
    "$boolean(Address)",
    "$boolean(Other.Nothing)",
    "$not(true)",
    "$not(empty)",
    "$exists(Other.Misc)",
    "$exists(Other.Nothing)",
    // array functions
    "$append(nums, [7])",
    "$append(1, 2)",
    "$append(Other.Nothing, [1])",
    "$reverse(nums)",
    "$distinct(nums)",
    "$distinct([{'a': 1}, {'a': 1}])",
    "$zip([1, 2, 3], ['a', 'b'])",
    "$zip(nums)",
    // object functions
    "$keys(Address)",
    "$keys(Phone)",
    "$keys({'only': 1})",
    "$lookup(Address, 'City')",
    "$lookup(Phone, 'type')",
    "$spread(Address)",
    "$merge([{'a': 1}, {'b': 2}, {'a': 3}])",
    "$merge([])",
    "$type(Age)",
    "$type(nums)",
    "$type(Address)",
    "$type(null)",
    "$type(Other.Nothing)",
    "$type($sum)",
    "$error('boom')",
    "$assert(Age > 20, 'young')",
    "$assert(Age < 20, 'old')",
    // dates without pictures
    "$fromMillis(1700000000000)",
    "$toMillis('2023-11-14T22:13:20.000Z')",
    "$toMillis('2023-11-14T22:13:20Z')",
    "$toMillis('not a date')",
    // errors
    "Phone[",
    "1 +",
    "$undefinedFunction(1)",
    "Age()",
    "{1: 2}",
    "[1..1.5]",
    "'a' & ",
];

/// Expressions from a small grammar: paths, literals, operators, conditions and functions nested a
/// few levels deep, over the sample input.
fn generated(count: usize) -> Vec<String> {
    const ATOMS: &[&str] = &[
        "Age",
        "n",
        "price",
        "nums",
        "nums[1]",
        "Phone.type",
        "Phone[0].number",
        "Email.address",
        "Address.City",
        "FirstName",
        "flag",
        "empty",
        "Other.Nothing",
        "Other.Misc",
        "matrix[1]",
        "order.items.qty",
        "order.items[0]",
        "'txt'",
        "'a,b'",
        "2",
        "0",
        "-3",
        "1.5",
        "true",
        "null",
        "[1, 2]",
        "{'k': 'v'}",
        "$",
        "s",
    ];
    const UNARY: &[&str] = &[
        "$string",
        "$length",
        "$uppercase",
        "$trim",
        "$number",
        "$abs",
        "$floor",
        "$round",
        "$sum",
        "$max",
        "$count",
        "$boolean",
        "$not",
        "$exists",
        "$reverse",
        "$distinct",
        "$keys",
        "$type",
        "$sort",
        "$append",
        "$spread",
    ];
    const BINARY: &[&str] = &[
        "+", "-", "*", "/", "%", "=", "!=", "<", ">=", "&", "and", "or", "in",
    ];
    fn expr(rng: &mut SmallRng, depth: u32) -> String {
        if depth == 0 {
            return ATOMS[rng.random_range(0..ATOMS.len())].to_string();
        }
        match rng.random_range(0..7) {
            0 | 1 => format!(
                "({} {} {})",
                expr(rng, depth - 1),
                BINARY[rng.random_range(0..BINARY.len())],
                expr(rng, depth - 1)
            ),
            2 => format!(
                "{}({})",
                UNARY[rng.random_range(0..UNARY.len())],
                expr(rng, depth - 1)
            ),
            3 => format!(
                "({} ? {} : {})",
                expr(rng, depth - 1),
                expr(rng, depth - 1),
                expr(rng, depth - 1)
            ),
            4 => format!("[{}, {}]", expr(rng, depth - 1), expr(rng, depth - 1)),
            5 => format!(
                "{}[{}]",
                ATOMS[rng.random_range(0..16)],
                expr(rng, depth - 1)
            ),
            _ => ATOMS[rng.random_range(0..ATOMS.len())].to_string(),
        }
    }
    let mut rng = SmallRng::seed_from_u64(16);
    (0..count)
        .map(|_| {
            let depth = rng.random_range(1..4);
            expr(&mut rng, depth)
        })
        .collect()
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The reference results, or `None` (with the reason printed) when node is absent.
fn oracle(cases: &[Value]) -> Option<Vec<Value>> {
    if Command::new("node").arg("--version").output().is_err() {
        println!(
            "SKIPPED: node is not installed, so the JSONata reference implementation cannot run"
        );
        return None;
    }
    let root = repo_root();
    let install = Command::new(root.join("scripts/asl/install-jsonata-oracle.sh"))
        .status()
        .expect("scripts/asl/install-jsonata-oracle.sh runs");
    assert!(
        install.success(),
        "installing the pinned npm jsonata failed"
    );
    let file = std::env::temp_dir().join(format!("jsonata-oracle-{}.json", std::process::id()));
    std::fs::write(&file, serde_json::to_vec(cases).unwrap()).unwrap();
    let output = Command::new("node")
        .arg(root.join("scripts/asl/jsonata-oracle.js"))
        .arg(&file)
        .arg(root.join("target/jsonata-oracle"))
        .output()
        .expect("node runs");
    let _ = std::fs::remove_file(&file);
    assert!(
        output.status.success(),
        "the oracle failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(serde_json::from_slice(&output.stdout).expect("the oracle prints JSON"))
}

/// Step Functions-style expressions: no input, `$states` and workflow variables bound.
const BOUND_CASES: &[&str] = &[
    "$states.input.order.total * $rate",
    "$states.input.order.items[qty > 1].sku",
    "$sum($states.input.order.items.(qty * price))",
    "$states.context.Execution.Name & '-' & $suffix",
    "$count($states.result.Payload.lines)",
    "$states.result.Payload.lines[0]",
    "$exists($states.errorOutput)",
    "{'total': $states.input.order.total, 'items': $count($states.input.order.items)}",
    "$states.input.order.total > $limit ? 'review' : 'publish'",
    "$map($states.input.order.items, function($i) { $i.sku })",
    "$merge([$states.input.order, {'rate': $rate}])",
    "$string($states.input.order.items[0])",
    "$keys($states.input.order)",
    "$states.input.missing",
    "$rate + $states.input.missing",
    "$filter($states.result.Payload.lines, function($l) { $contains($l, 'b') })",
    "$states.input.order.items ~> $count()",
    "[$states.input.order.items.sku, $suffix]",
    "$lookup($states.input.order, 'total')",
    "$round($states.input.order.total * $rate, 1)",
];

fn bindings() -> Value {
    json!({
        "states": {
            "input": {"order": {"total": 42.5, "items": [{"sku": "a", "qty": 2, "price": 3.5}, {"sku": "b", "qty": 1, "price": 10}]}},
            "result": {"StatusCode": 200, "Payload": {"lines": ["abc", "xyz", "bcd"]}},
            "context": {"Execution": {"Name": "exec-1"}, "State": {"Name": "Price"}}
        },
        "rate": 1.2,
        "limit": 40,
        "suffix": "x"
    })
}

/// Our result in the oracle's shape.
fn ours(expr: &str, input: &Value) -> Value {
    ours_with(expr, Some(input), &json!({}))
}

fn ours_with(expr: &str, input: Option<&Value>, bindings: &Value) -> Value {
    let mut rng = SmallRng::seed_from_u64(1);
    let environment = Environment {
        now: datetime!(2026-01-01 00:00:00 UTC),
        rng: &mut rng,
    };
    let variables: Vec<(&str, &Value)> = bindings
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.as_str(), v))
        .collect();
    match Expression::parse(expr).and_then(|e| e.evaluate(input, &variables, environment)) {
        Ok(Some(value)) => json!({ "value": value }),
        Ok(None) => json!({}),
        Err(e) => json!({ "error": e.code }),
    }
}

fn agree(ours: &Value, theirs: &Value) -> bool {
    match (ours.get("error"), theirs.get("error")) {
        (Some(_), Some(_)) => true,
        (None, None) => ours.get("value") == theirs.get("value"),
        _ => false,
    }
}

#[test]
fn agrees_with_the_reference_implementation() {
    let input = sample();
    let mut expressions: Vec<String> = CASES.iter().map(|s| s.to_string()).collect();
    expressions.extend(generated(600));
    // An array input is wrapped as the reference implementation does.
    let array_input = json!([{"a": 1}, {"a": [2, 3]}, {"b": 4}]);
    let array_cases = [
        "$",
        "a",
        "$[0]",
        "$.a",
        "$$[1].a",
        "$count($)",
        "*",
        "$[a > 1]",
    ];
    let mut cases: Vec<(String, Value)> = expressions
        .into_iter()
        .map(|e| (e, input.clone()))
        .collect();
    cases.extend(
        array_cases
            .iter()
            .map(|e| (e.to_string(), array_input.clone())),
    );
    let mut requests: Vec<Value> = cases
        .iter()
        .map(|(expr, input)| json!({"expr": expr, "input": input}))
        .collect();
    requests.extend(
        BOUND_CASES
            .iter()
            .map(|expr| json!({"expr": expr, "bindings": bindings()})),
    );
    let Some(expected) = oracle(&requests) else {
        return;
    };
    let mut failures = Vec::new();
    let mut refused = Vec::new();
    for ((expr, input), theirs) in cases.iter().zip(&expected) {
        let mine = ours(expr, input);
        if mine.get("error") == Some(&json!("U0001")) {
            refused.push(expr.clone());
        } else if !agree(&mine, theirs) {
            failures.push(format!("{expr}\n    ours:   {mine}\n    theirs: {theirs}"));
        }
    }
    for (expr, theirs) in BOUND_CASES.iter().zip(&expected[cases.len()..]) {
        let mine = ours_with(expr, None, &bindings());
        if !agree(&mine, theirs) {
            failures.push(format!(
                "{expr} (bound)\n    ours:   {mine}\n    theirs: {theirs}"
            ));
        }
    }
    let total = cases.len() + BOUND_CASES.len();
    println!(
        "JSONata oracle: {} of {total} cases agree, {} refused as unsupported, {} differ",
        total - failures.len() - refused.len(),
        refused.len(),
        failures.len()
    );
    assert!(
        failures.is_empty() && refused.is_empty(),
        "refused: {refused:?}\n{} cases differ from the reference:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
