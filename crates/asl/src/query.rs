//! JSONata states' data: JSON values whose strings of the form `{% expression %}` are JSONata
//! expressions (`Arguments`, `Output`, `Assign`, `Condition`, `Items`, ...), evaluated with
//! `$states` and the workflow's variables bound.

use rand::rngs::SmallRng;
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::jsonata::{Environment, Expression};

/// A value with JSONata expressions inside. Expressions are checked at load time and kept as text
/// (parsed trees are not `Send`; parsing again is cheap next to a state transition).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Jt {
    Literal(Value),
    Expr(String),
    Object(Vec<(String, Jt)>),
    Array(Vec<Jt>),
}

/// The expression inside `{% ... %}`, if the string is one.
fn expression(text: &str) -> Option<&str> {
    text.strip_prefix("{%")?.strip_suffix("%}")
}

impl Jt {
    /// Parses a value; the error names the expression that does not parse.
    pub(crate) fn parse(value: &Value) -> Result<Jt, String> {
        Ok(match value {
            Value::String(text) => match expression(text) {
                Some(expr) => {
                    Expression::parse(expr).map_err(|e| format!("'{text}': {e}"))?;
                    Jt::Expr(expr.to_string())
                }
                None => Jt::Literal(value.clone()),
            },
            Value::Object(map) => Jt::Object(
                map.iter()
                    .map(|(k, v)| Ok((k.clone(), Jt::parse(v)?)))
                    .collect::<Result<_, String>>()?,
            ),
            Value::Array(items) => {
                Jt::Array(items.iter().map(Jt::parse).collect::<Result<_, _>>()?)
            }
            other => Jt::Literal(other.clone()),
        })
    }

    /// Evaluates with `$states` and the variables bound. An expression that gives nothing (JSONata's
    /// undefined) is an error, as JSON cannot hold it.
    pub(crate) fn eval(
        &self,
        states: &Value,
        variables: &Map<String, Value>,
        now: OffsetDateTime,
        rng: &mut SmallRng,
    ) -> Result<Value, String> {
        Ok(match self {
            Jt::Literal(v) => v.clone(),
            Jt::Expr(text) => {
                let expr = Expression::parse(text).map_err(|e| e.to_string())?;
                let mut bound: Vec<(&str, &Value)> = vec![("states", states)];
                bound.extend(variables.iter().map(|(k, v)| (k.as_str(), v)));
                expr.evaluate(None, &bound, Environment { now, rng })
                    .map_err(|e| format!("the expression '{text}' failed: {e}"))?
                    .ok_or_else(|| format!("the expression '{text}' returned nothing"))?
            }
            Jt::Object(fields) => {
                let mut map = Map::new();
                for (k, v) in fields {
                    map.insert(k.clone(), v.eval(states, variables, now, rng)?);
                }
                Value::Object(map)
            }
            Jt::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|i| i.eval(states, variables, now, rng))
                    .collect::<Result<_, _>>()?,
            ),
        })
    }
}

/// `Output` and `Assign` of a JSONata state (or of one of its Catchers or Choice rules).
#[derive(Debug, Clone, Default)]
pub(crate) struct Outcome {
    pub(crate) output: Option<Jt>,
    pub(crate) assign: Vec<(String, Jt)>,
}

impl Outcome {
    pub(crate) fn parse(map: &Map<String, Value>) -> Result<Outcome, (String, String)> {
        let output = map
            .get("Output")
            .map(|v| Jt::parse(v).map_err(|e| ("Output".to_string(), e)))
            .transpose()?;
        let assign = match map.get("Assign") {
            None => Vec::new(),
            Some(Value::Object(vars)) => {
                let mut out = Vec::new();
                for (name, value) in vars {
                    if !valid_variable_name(name) {
                        return Err((
                            "Assign".into(),
                            format!("'{name}' is not a valid variable name"),
                        ));
                    }
                    let value = Jt::parse(value).map_err(|e| (format!("Assign.{name}"), e))?;
                    out.push((name.clone(), value));
                }
                out
            }
            Some(_) => return Err(("Assign".into(), "must be an object".into())),
        };
        Ok(Outcome { output, assign })
    }
}

/// Letters, digits and underscores, not starting with a digit; `states` is reserved.
fn valid_variable_name(name: &str) -> bool {
    !name.is_empty()
        && name != "states"
        && name.len() <= 80
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_alphanumeric() || c == '_')
}
