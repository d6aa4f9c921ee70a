//! A JSONata evaluator for Step Functions' JSONata query language: the operators and functions
//! AWS documents, checked against the reference implementation (the npm `jsonata` package) by the
//! oracle test. What it leaves out is refused when the expression is parsed, by name.

mod eval;
mod functions;
mod parse;
mod scope;
mod value;

use std::collections::HashMap;

use rand::rngs::SmallRng;
use serde_json::Value;
use thiserror::Error;
use time::OffsetDateTime;

use parse::Node;
use value::J;

/// Why an expression could not be parsed or evaluated; `code` is the reference implementation's
/// error code where one applies (`S0201` syntax, `T2001` type, `D3030` cast, ...), `U0001` for
/// a feature refused here.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{code}: {message}")]
pub struct JsonataError {
    pub code: String,
    pub message: String,
}

impl JsonataError {
    pub(crate) fn new(code: &str, message: impl Into<String>) -> JsonataError {
        JsonataError {
            code: code.to_string(),
            message: message.into(),
        }
    }

    pub(crate) fn syntax(position: usize, message: String) -> JsonataError {
        JsonataError::new("S0201", format!("at character {position}: {message}"))
    }

    pub(crate) fn unsupported(feature: &str) -> JsonataError {
        JsonataError::new(
            "U0001",
            format!("{feature} is not supported by this evaluator"),
        )
    }

    /// Whether the expression uses something this evaluator refuses.
    pub fn is_unsupported(&self) -> bool {
        self.code == "U0001"
    }
}

/// A parsed JSONata expression.
#[derive(Debug, Clone)]
pub struct Expression {
    node: Node,
}

/// What an evaluation may read besides its input: the clock for `$now`/`$millis` and the random
/// source for `$random`, `$shuffle` and `$uuid`.
pub struct Environment<'a> {
    pub now: OffsetDateTime,
    pub rng: &'a mut SmallRng,
}

impl Expression {
    /// Parses an expression; unsupported syntax and functions are refused here.
    pub fn parse(text: &str) -> Result<Expression, JsonataError> {
        let node = parse::parse(text)?;
        check_functions(&node)?;
        Ok(Expression { node })
    }

    /// Evaluates against `input` (`$` at the top, `$$` everywhere) with `variables` bound
    /// (names without the `$`). `None` is JSONata's undefined.
    pub fn evaluate(
        &self,
        input: Option<&Value>,
        variables: &[(&str, &Value)],
        environment: Environment<'_>,
    ) -> Result<Option<Value>, JsonataError> {
        let input = match input {
            None => J::Undef,
            // The reference implementation wraps an array input in a sequence.
            Some(array @ Value::Array(_)) => J::Arr(
                vec![J::from_json(array)],
                value::Flags {
                    sequence: true,
                    outer: true,
                    ..value::Flags::default()
                },
            ),
            Some(value) => J::from_json(value),
        };
        let vars: HashMap<String, J> = variables
            .iter()
            .map(|(name, value)| (name.to_string(), J::from_json(value)))
            .collect();
        let scope = scope::Scope::root(vars);
        let evaluator = eval::Evaluator::new(input.clone(), environment.now, environment.rng);
        let result = evaluator.eval(&self.node, &input, &scope);
        evaluator.finish();
        scope.clear();
        result?.to_json()
    }
}

fn check_functions(node: &Node) -> Result<(), JsonataError> {
    let mut result = Ok(());
    visit(node, &mut |n| {
        if let Node::Var(name) = n
            && let Some((_, reason)) = functions::REFUSED.iter().find(|(f, _)| f == name)
            && result.is_ok()
        {
            result = Err(JsonataError::new("U0001", format!("${name}: {reason}")));
        }
    });
    result
}

fn visit(node: &Node, f: &mut dyn FnMut(&Node)) {
    f(node);
    match node {
        Node::Path { steps, .. } => {
            for step in steps {
                visit(&step.node, f);
                step.predicates.iter().for_each(|p| visit(p, f));
            }
        }
        Node::Filtered(inner, predicates) => {
            visit(inner, f);
            predicates.iter().for_each(|p| visit(p, f));
        }
        Node::Array(items) | Node::Block(items) => items.iter().for_each(|i| visit(i, f)),
        Node::Range(a, b) | Node::Binary(_, a, b) | Node::Logic(_, a, b) | Node::Apply(a, b) => {
            visit(a, f);
            visit(b, f);
        }
        Node::Object(pairs) => visit_pairs(pairs, f),
        Node::Group(inner, pairs) => {
            visit(inner, f);
            visit_pairs(pairs, f);
        }
        Node::Negate(inner) | Node::Bind(_, inner) => visit(inner, f),
        Node::Condition(test, then, otherwise) => {
            visit(test, f);
            visit(then, f);
            if let Some(o) = otherwise {
                visit(o, f);
            }
        }
        Node::Call(callee, args) => {
            visit(callee, f);
            args.iter().for_each(|a| visit(a, f));
        }
        Node::Lambda(lambda) => visit(&lambda.body, f),
        Node::Num(_)
        | Node::Str(_)
        | Node::Bool(_)
        | Node::Null
        | Node::Name(_)
        | Node::Wildcard
        | Node::Var(_) => {}
    }
}

fn visit_pairs(pairs: &[(Node, Node)], f: &mut dyn FnMut(&Node)) {
    for (key, value) in pairs {
        visit(key, f);
        visit(value, f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use serde_json::json;
    use time::macros::datetime;

    fn eval(expr: &str, variables: &[(&str, &Value)]) -> Result<Option<Value>, JsonataError> {
        let mut rng = SmallRng::seed_from_u64(3);
        let environment = Environment {
            now: datetime!(2026-01-01 00:00:00 UTC),
            rng: &mut rng,
        };
        Expression::parse(expr)?.evaluate(None, variables, environment)
    }

    // The functions Step Functions adds, with the examples of its documentation.
    #[test]
    fn step_functions_additions() {
        assert_eq!(
            eval("$partition([1, 2, 3, 4, 5, 6, 7, 8, 9], 4)", &[]),
            Ok(Some(json!([[1, 2, 3, 4], [5, 6, 7, 8], [9]])))
        );
        assert_eq!(
            eval("$range(0, 10, 2)", &[]),
            Ok(Some(json!([0, 2, 4, 6, 8, 10])))
        );
        assert_eq!(eval("$range(3, 1, -1)", &[]), Ok(Some(json!([3, 2, 1]))));
        assert!(eval("$range(0, 10, 0)", &[]).is_err());
        assert_eq!(
            eval("$hash('input data', 'SHA-1')", &[]),
            Ok(Some(json!("aaff4a450a104cd177d28d18d74485e8cae074b7")))
        );
        assert!(eval("$hash('x', 'CRC32')", &[]).is_err());
        assert_eq!(
            eval("$parse($s)", &[("s", &json!("{\"a\": [1, 2]}"))]),
            Ok(Some(json!({"a": [1, 2]})))
        );
        assert!(eval("$parse('{nope')", &[]).is_err());
        let uuid = eval("$uuid()", &[]).unwrap().unwrap();
        assert_eq!(uuid.as_str().map(str::len), Some(36));
        let seeded = eval("$random(7)", &[]).unwrap();
        assert_eq!(seeded, eval("$random(7)", &[]).unwrap(), "a seed repeats");
        let r = eval("$random()", &[]).unwrap().unwrap().as_f64().unwrap();
        assert!((0.0..1.0).contains(&r));
        assert_eq!(
            eval("$now()", &[]),
            Ok(Some(json!("2026-01-01T00:00:00.000Z")))
        );
        assert_eq!(
            eval("$millis()", &[]),
            Ok(Some(json!(1_767_225_600_000i64)))
        );
    }

    #[test]
    fn variables_and_undefined() {
        let states = json!({"input": {"n": 2}});
        assert_eq!(
            eval("$states.input.n * 10", &[("states", &states)]),
            Ok(Some(json!(20)))
        );
        assert_eq!(
            eval("$states.input.missing", &[("states", &states)]),
            Ok(None)
        );
        assert_eq!(eval("$nobody", &[]), Ok(None));
    }

    #[test]
    fn refusals_name_the_feature() {
        for (expr, named) in [
            ("$match('a', /a/)", "regular expressions"),
            ("$formatNumber(1, '#')", "$formatNumber"),
            ("$eval('1')", "$eval"),
            ("a ^(b)", "order-by"),
            ("**.a", "descendant"),
            ("a.%.b", "parent"),
            ("$f(?, 1)", "partial application"),
            ("$x#$i", "positional"),
            ("| a | {} |", "transform"),
            ("function($x)<n:n>{ $x }", "signatures"),
        ] {
            let error = Expression::parse(expr).unwrap_err();
            assert!(error.is_unsupported(), "{expr}: {error}");
            assert!(error.message.contains(named), "{expr}: {error}");
        }
        assert_eq!(Expression::parse("1 +").unwrap_err().code, "S0201");
    }

    #[test]
    fn deep_recursion_is_an_error_not_a_crash() {
        let error = eval("($f := function($n) { $f($n + 1) }; $f(0))", &[]).unwrap_err();
        assert_eq!(error.code, "U1001");
    }
}
