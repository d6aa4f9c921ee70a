//! Choice rules: comparisons, `Is*` tests, their `...Path` forms and `And` / `Or` / `Not`.

use std::cmp::Ordering;
use std::fmt;

use serde_json::{Map, Value};
use thiserror::Error;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::path::{Path, Roots};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operand {
    String,
    Number,
    Boolean,
    Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Test {
    Compare(Operand, Ordering, bool),
    StringMatches,
    IsNull,
    IsPresent,
    IsNumeric,
    IsString,
    IsBoolean,
    IsTimestamp,
}

/// Splits an operator name into its test and whether it is a `...Path` form.
fn operator(name: &str) -> Option<(Test, bool)> {
    let (base, is_path) = match name.strip_suffix("Path") {
        Some(base) => (base, true),
        None => (name, false),
    };
    let is_test = |test: Test| (!is_path).then_some((test, false));
    match base {
        "StringMatches" => return is_test(Test::StringMatches),
        "IsNull" => return is_test(Test::IsNull),
        "IsPresent" => return is_test(Test::IsPresent),
        "IsNumeric" => return is_test(Test::IsNumeric),
        "IsString" => return is_test(Test::IsString),
        "IsBoolean" => return is_test(Test::IsBoolean),
        "IsTimestamp" => return is_test(Test::IsTimestamp),
        _ => {}
    }
    let (operand, relation) = [
        ("String", Operand::String),
        ("Numeric", Operand::Number),
        ("Boolean", Operand::Boolean),
        ("Timestamp", Operand::Timestamp),
    ]
    .into_iter()
    .find_map(|(prefix, operand)| base.strip_prefix(prefix).map(|rest| (operand, rest)))?;
    let (ordering, or_equal) = match relation {
        "Equals" => (Ordering::Equal, false),
        "LessThan" => (Ordering::Less, false),
        "GreaterThan" => (Ordering::Greater, false),
        "LessThanEquals" => (Ordering::Less, true),
        "GreaterThanEquals" => (Ordering::Greater, true),
        _ => return None,
    };
    if operand == Operand::Boolean && ordering != Ordering::Equal {
        return None;
    }
    Some((Test::Compare(operand, ordering, or_equal), is_path))
}

#[derive(Debug, Clone)]
pub(crate) enum Against {
    Literal(Value),
    Path(Path),
}

/// A Choice rule (without its `Next`).
#[derive(Debug, Clone)]
pub(crate) enum Rule {
    And(Vec<Rule>),
    Or(Vec<Rule>),
    Not(Box<Rule>),
    Test {
        variable: Path,
        test: Test,
        against: Against,
    },
}

/// Why a rule could not be evaluated: `States.Runtime` on AWS, whose text this is.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub(crate) enum ChoiceError {
    /// A path selected nothing.
    #[error("Invalid path '{path}': the choice state's {role} path references an invalid value")]
    InvalidPath { path: String, role: PathRole },
}

/// Which of a rule's paths selected nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PathRole {
    /// `Variable`.
    Condition,
    /// The value of a `...Path` comparison.
    Comparison,
}

impl fmt::Display for PathRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PathRole::Condition => "condition",
            PathRole::Comparison => "comparison",
        })
    }
}

/// The type a rule's literal must have but lacks; the definition is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
enum ExpectedLiteral {
    #[error("must be a string")]
    String,
    #[error("must be a number")]
    Number,
    #[error("must be a boolean")]
    Boolean,
    #[error("must be an RFC 3339 timestamp string")]
    Timestamp,
}

type FieldError = (String, String);

fn error(field: &str, message: impl Into<String>) -> FieldError {
    (field.to_string(), message.into())
}

impl Rule {
    /// Parses a top-level rule, which must have `Next`. Errors are (field, message).
    pub(crate) fn parse_top(value: &Value, field: &str) -> Result<(Rule, String), FieldError> {
        let map = value
            .as_object()
            .ok_or_else(|| error(field, "must be an object"))?;
        let next = match map.get("Next") {
            Some(Value::String(next)) => next.clone(),
            _ => {
                return Err(error(
                    &format!("{field}.Next"),
                    "a top-level choice rule needs Next",
                ));
            }
        };
        Ok((Rule::parse_map(map, field, true)?, next))
    }

    fn parse(value: &Value, field: &str) -> Result<Rule, FieldError> {
        let map = value
            .as_object()
            .ok_or_else(|| error(field, "must be an object"))?;
        Rule::parse_map(map, field, false)
    }

    fn parse_map(map: &Map<String, Value>, field: &str, top: bool) -> Result<Rule, FieldError> {
        if !top && map.contains_key("Next") {
            return Err(error(
                &format!("{field}.Next"),
                "nested rules cannot have Next",
            ));
        }
        let mut operators = map
            .keys()
            .filter(|k| !matches!(k.as_str(), "Variable" | "Comment" | "Next"));
        let Some(op) = operators.next() else {
            return Err(error(field, "a rule needs a comparison, And, Or or Not"));
        };
        if let Some(extra) = operators.next() {
            return Err(error(
                &format!("{field}.{extra}"),
                format!("a rule has exactly one operator (it already has {op})"),
            ));
        }
        let op_field = format!("{field}.{op}");
        let value = &map[op];
        let nested = |items: &Value| -> Result<Vec<Rule>, FieldError> {
            let items = items
                .as_array()
                .filter(|a| !a.is_empty())
                .ok_or_else(|| error(&op_field, "must be a non-empty array of rules"))?;
            items
                .iter()
                .enumerate()
                .map(|(i, r)| Rule::parse(r, &format!("{op_field}[{i}]")))
                .collect()
        };
        let boolean_rule = matches!(op.as_str(), "And" | "Or" | "Not");
        if boolean_rule && map.contains_key("Variable") {
            return Err(error(
                &format!("{field}.Variable"),
                format!("cannot be combined with {op}"),
            ));
        }
        match op.as_str() {
            "And" => return Ok(Rule::And(nested(value)?)),
            "Or" => return Ok(Rule::Or(nested(value)?)),
            "Not" => return Ok(Rule::Not(Box::new(Rule::parse(value, &op_field)?))),
            _ => {}
        }
        let (test, is_path) =
            operator(op).ok_or_else(|| error(&op_field, "not a supported choice operator"))?;
        let variable_field = format!("{field}.Variable");
        let variable = map
            .get("Variable")
            .and_then(Value::as_str)
            .ok_or_else(|| error(&variable_field, "required path string"))?;
        let variable = Path::parse(variable).map_err(|e| error(&variable_field, e.to_string()))?;
        let against = if is_path {
            let text = value
                .as_str()
                .ok_or_else(|| error(&op_field, "must be a path string"))?;
            Against::Path(Path::parse(text).map_err(|e| error(&op_field, e.to_string()))?)
        } else {
            check_literal(test, value).map_err(|e| error(&op_field, e.to_string()))?;
            Against::Literal(value.clone())
        };
        Ok(Rule::Test {
            variable,
            test,
            against,
        })
    }

    /// Evaluates the rule. A missing variable (except for `IsPresent`) is an error
    /// (`States.Runtime`); a value of the wrong type makes a comparison false.
    pub(crate) fn eval(&self, input: &Value, roots: Roots<'_>) -> Result<bool, ChoiceError> {
        match self {
            Rule::And(rules) => {
                for rule in rules {
                    if !rule.eval(input, roots)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Rule::Or(rules) => {
                for rule in rules {
                    if rule.eval(input, roots)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Rule::Not(rule) => Ok(!rule.eval(input, roots)?),
            Rule::Test {
                variable,
                test,
                against,
            } => {
                let found = variable.select(input, roots);
                if *test == Test::IsPresent {
                    return Ok(Some(found.is_some()) == against_bool(against));
                }
                let invalid = |path: &Path, role| ChoiceError::InvalidPath {
                    path: path.text().to_string(),
                    role,
                };
                let value = found.ok_or_else(|| invalid(variable, PathRole::Condition))?;
                let operand = match against {
                    Against::Literal(v) => v.clone(),
                    Against::Path(p) => p
                        .select(input, roots)
                        .ok_or_else(|| invalid(p, PathRole::Comparison))?,
                };
                Ok(apply(*test, &value, &operand))
            }
        }
    }
}

fn against_bool(against: &Against) -> Option<bool> {
    match against {
        Against::Literal(Value::Bool(b)) => Some(*b),
        _ => None,
    }
}

fn check_literal(test: Test, value: &Value) -> Result<(), ExpectedLiteral> {
    let (ok, wrong) = match test {
        Test::Compare(Operand::String, ..) | Test::StringMatches => {
            (value.is_string(), ExpectedLiteral::String)
        }
        Test::Compare(Operand::Number, ..) => (value.is_number(), ExpectedLiteral::Number),
        Test::Compare(Operand::Timestamp, ..) => (
            value.as_str().and_then(timestamp).is_some(),
            ExpectedLiteral::Timestamp,
        ),
        // `BooleanEquals` and the `Is*` tests.
        _ => (value.is_boolean(), ExpectedLiteral::Boolean),
    };
    if ok { Ok(()) } else { Err(wrong) }
}

fn timestamp(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

fn apply(test: Test, value: &Value, operand: &Value) -> bool {
    let expect = operand.as_bool().unwrap_or(false);
    match test {
        Test::IsNull => value.is_null() == expect,
        Test::IsNumeric => value.is_number() == expect,
        Test::IsString => value.is_string() == expect,
        Test::IsBoolean => value.is_boolean() == expect,
        Test::IsTimestamp => value.as_str().and_then(timestamp).is_some() == expect,
        Test::IsPresent => expect,
        Test::StringMatches => match (value.as_str(), operand.as_str()) {
            (Some(text), Some(pattern)) => glob_matches(pattern, text),
            _ => false,
        },
        Test::Compare(kind, ordering, or_equal) => {
            let actual = match kind {
                Operand::String => value.as_str().zip(operand.as_str()).map(|(a, b)| a.cmp(b)),
                Operand::Number => value
                    .as_f64()
                    .zip(operand.as_f64())
                    .and_then(|(a, b)| a.partial_cmp(&b)),
                Operand::Boolean => value
                    .as_bool()
                    .zip(operand.as_bool())
                    .map(|(a, b)| a.cmp(&b)),
                Operand::Timestamp => value
                    .as_str()
                    .and_then(timestamp)
                    .zip(operand.as_str().and_then(timestamp))
                    .map(|(a, b)| a.cmp(&b)),
            };
            actual.is_some_and(|a| a == ordering || (or_equal && a == Ordering::Equal))
        }
    }
}

/// `StringMatches`: `*` matches any run of characters; `\*` and `\\` are literal.
fn glob_matches(pattern: &str, text: &str) -> bool {
    #[derive(PartialEq)]
    enum Token {
        Any,
        Char(char),
    }
    let mut tokens = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        tokens.push(match c {
            '\\' => Token::Char(chars.next().unwrap_or('\\')),
            '*' => Token::Any,
            c => Token::Char(c),
        });
    }
    let text: Vec<char> = text.chars().collect();
    // matched[j]: the tokens so far match text[..j].
    let mut matched = vec![false; text.len() + 1];
    matched[0] = true;
    for token in &tokens {
        let mut next = vec![false; text.len() + 1];
        match token {
            Token::Any => {
                let mut any = false;
                for j in 0..=text.len() {
                    any |= matched[j];
                    next[j] = any;
                }
            }
            Token::Char(c) => {
                for j in 1..=text.len() {
                    next[j] = matched[j - 1] && text[j - 1] == *c;
                }
            }
        }
        matched = next;
    }
    matched[text.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(value: Value) -> Rule {
        Rule::parse(&value, "Choices[0]").unwrap()
    }

    fn check(rule_json: Value, input: Value) -> Result<bool, ChoiceError> {
        let vars = Map::new();
        let roots = Roots {
            context: &json!({}),
            vars: &vars,
        };
        rule(rule_json).eval(&input, roots)
    }

    #[test]
    fn comparisons() {
        let cases = [
            (json!({"Variable": "$.s", "StringEquals": "abc"}), true),
            (json!({"Variable": "$.s", "StringLessThan": "abd"}), true),
            (
                json!({"Variable": "$.s", "StringGreaterThanEquals": "abc"}),
                true,
            ),
            (json!({"Variable": "$.s", "StringMatches": "a*c"}), true),
            (json!({"Variable": "$.s", "StringMatches": "a\\*c"}), false),
            (json!({"Variable": "$.n", "NumericEquals": 20}), true),
            (json!({"Variable": "$.n", "NumericLessThan": 20}), false),
            (
                json!({"Variable": "$.n", "NumericLessThanEquals": 20.0}),
                true,
            ),
            (
                json!({"Variable": "$.n", "NumericGreaterThanPath": "$.m"}),
                true,
            ),
            (json!({"Variable": "$.b", "BooleanEquals": false}), true),
            (
                json!({"Variable": "$.t", "TimestampLessThan": "2016-03-14T02:00:00Z"}),
                true,
            ),
            (
                json!({"Variable": "$.t", "TimestampEqualsPath": "$.t"}),
                true,
            ),
            (json!({"Variable": "$.s", "NumericEquals": 1}), false),
            (json!({"Variable": "$.n", "IsNumeric": true}), true),
            (json!({"Variable": "$.z", "IsNull": true}), true),
            (json!({"Variable": "$.t", "IsTimestamp": true}), true),
            (json!({"Variable": "$.s", "IsTimestamp": true}), false),
            (json!({"Variable": "$.gone", "IsPresent": false}), true),
            (json!({"Variable": "$.b", "IsBoolean": true}), true),
            (json!({"Variable": "$.s", "IsString": false}), false),
        ];
        let input = json!({"s": "abc", "n": 20, "m": 10, "b": false, "z": null, "t": "2016-03-14T01:59:00Z"});
        for (rule_json, expected) in cases {
            assert_eq!(
                check(rule_json.clone(), input.clone()),
                Ok(expected),
                "{rule_json}"
            );
        }
    }

    // The ASL specification's Choice state example, rules 1 and 2.
    #[test]
    fn spec_boolean_rules() {
        let not = json!({"Not": {"Variable": "$.type", "StringEquals": "Private"}});
        assert_eq!(check(not.clone(), json!({"type": "Public"})), Ok(true));
        assert_eq!(check(not, json!({"type": "Private"})), Ok(false));
        let twenties = json!({"And": [
            {"Variable": "$.value", "IsPresent": true},
            {"Variable": "$.value", "IsNumeric": true},
            {"Variable": "$.value", "NumericGreaterThanEquals": 20},
            {"Variable": "$.value", "NumericLessThan": 30}
        ]});
        assert_eq!(check(twenties.clone(), json!({"value": 25})), Ok(true));
        assert_eq!(check(twenties.clone(), json!({"value": 30})), Ok(false));
        assert_eq!(
            check(twenties, json!({})),
            Ok(false),
            "IsPresent short-circuits"
        );
        let or = json!({"Or": [{"Variable": "$.a", "BooleanEquals": true}, {"Variable": "$.b", "BooleanEquals": true}]});
        assert_eq!(check(or, json!({"a": false, "b": true})), Ok(true));
    }

    #[test]
    fn missing_paths_are_errors() {
        assert_eq!(
            check(json!({"Variable": "$.x", "NumericEquals": 1}), json!({})),
            Err(ChoiceError::InvalidPath {
                path: "$.x".into(),
                role: PathRole::Condition
            })
        );
        assert_eq!(
            check(
                json!({"Variable": "$.x", "NumericEqualsPath": "$.y"}),
                json!({"x": 1})
            ),
            Err(ChoiceError::InvalidPath {
                path: "$.y".into(),
                role: PathRole::Comparison
            })
        );
    }

    #[test]
    fn literals_of_the_wrong_type_are_named() {
        let literal = |test, value| check_literal(test, &value);
        let number = Test::Compare(Operand::Number, Ordering::Equal, false);
        assert_eq!(literal(number, json!("1")), Err(ExpectedLiteral::Number));
        let at = Test::Compare(Operand::Timestamp, Ordering::Less, false);
        assert_eq!(
            literal(at, json!("yesterday")),
            Err(ExpectedLiteral::Timestamp)
        );
        assert_eq!(
            literal(Test::IsNull, json!(1)),
            Err(ExpectedLiteral::Boolean)
        );
        assert_eq!(literal(Test::StringMatches, json!("a*")), Ok(()));
    }

    #[test]
    fn parse_refusals_name_the_field() {
        let refused = [
            (
                json!({"Variable": "$.x", "NumericEquals": "1"}),
                "Choices[0].NumericEquals",
            ),
            (
                json!({"Variable": "$.x", "StringMatchesPath": "$.y"}),
                "Choices[0].StringMatchesPath",
            ),
            (
                json!({"Variable": "$.x", "BooleanLessThan": true}),
                "Choices[0].BooleanLessThan",
            ),
            (
                json!({"Variable": "$.x", "NumericEquals": 1, "StringEquals": "a"}),
                "Choices[0].StringEquals",
            ),
            (
                json!({"And": [{"Variable": "$.x", "IsNull": true, "Next": "A"}]}),
                "Choices[0].And[0].Next",
            ),
            (json!({"And": []}), "Choices[0].And"),
            (json!({"NumericEquals": 1}), "Choices[0].Variable"),
            (
                json!({"Variable": "$.x", "TimestampEquals": "yesterday"}),
                "Choices[0].TimestampEquals",
            ),
        ];
        for (rule_json, field) in refused {
            let (got, _) = Rule::parse(&rule_json, "Choices[0]").unwrap_err();
            assert_eq!(got, field, "{rule_json}");
        }
    }

    #[test]
    fn glob() {
        assert!(glob_matches("*.log", "a.log"));
        assert!(glob_matches("log-*-x", "log-1-2-x"));
        assert!(!glob_matches("*.log", "a.txt"));
        assert!(glob_matches("a\\\\b", "a\\b"));
    }
}
