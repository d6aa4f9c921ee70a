//! JSONata states' data: JSON values whose strings of the form `{% expression %}` are JSONata
//! expressions (`Arguments`, `Output`, `Assign`, `Condition`, `Items`, ...), evaluated with
//! `$states` and the workflow's variables bound.

use rand::rngs::SmallRng;
use serde_json::{Map, Value};
use thiserror::Error;
use time::OffsetDateTime;

use crate::jsonata::{Environment, Expression, JsonataError};

/// A value with JSONata expressions inside. Expressions are checked at load time and kept as text
/// (parsed trees are not `Send`; parsing again is cheap next to a state transition).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Jt {
    Literal(Value),
    Expr(String),
    Object(Vec<(String, Jt)>),
    Array(Vec<Jt>),
}

/// A JSONata expression that does not parse (when the definition is loaded), or fails or gives
/// nothing (when it runs).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub(crate) enum QueryError {
    /// `text` is the whole string, `{% %}` included.
    #[error("'{text}': {source}")]
    Unparsable { text: String, source: JsonataError },
    #[error("the expression '{expr}' failed: {source}")]
    Failed { expr: String, source: JsonataError },
    /// JSONata's undefined, which JSON cannot hold.
    #[error("the expression '{expr}' returned nothing")]
    Undefined { expr: String },
}

/// The expression inside `{% ... %}`, if the string is one.
fn expression(text: &str) -> Option<&str> {
    text.strip_prefix("{%")?.strip_suffix("%}")
}

impl Jt {
    /// Parses a value; the error names the expression that does not parse.
    pub(crate) fn parse(value: &Value) -> Result<Jt, QueryError> {
        Ok(match value {
            Value::String(text) => match expression(text) {
                Some(expr) => {
                    Expression::parse(expr).map_err(|source| QueryError::Unparsable {
                        text: text.clone(),
                        source,
                    })?;
                    Jt::Expr(expr.to_string())
                }
                None => Jt::Literal(value.clone()),
            },
            Value::Object(map) => Jt::Object(
                map.iter()
                    .map(|(k, v)| Ok((k.clone(), Jt::parse(v)?)))
                    .collect::<Result<_, QueryError>>()?,
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
    ) -> Result<Value, QueryError> {
        Ok(match self {
            Jt::Literal(v) => v.clone(),
            Jt::Expr(text) => {
                let failed = |source| QueryError::Failed {
                    expr: text.clone(),
                    source,
                };
                // Parsed when the definition was loaded: this cannot fail.
                let expr = Expression::parse(text).map_err(failed)?;
                let mut bound: Vec<(&str, &Value)> = vec![("states", states)];
                bound.extend(variables.iter().map(|(k, v)| (k.as_str(), v)));
                expr.evaluate(None, &bound, Environment { now, rng })
                    .map_err(failed)?
                    .ok_or_else(|| QueryError::Undefined { expr: text.clone() })?
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
            .map(|v| Jt::parse(v).map_err(|e| ("Output".to_string(), e.to_string())))
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
                    let value =
                        Jt::parse(value).map_err(|e| (format!("Assign.{name}"), e.to_string()))?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use serde_json::json;

    #[test]
    fn errors_name_the_expression() {
        let Err(QueryError::Unparsable { text, .. }) = Jt::parse(&json!({"a": ["{% 1 + %}"]}))
        else {
            panic!("'1 +' should not parse");
        };
        assert_eq!(text, "{% 1 + %}");
        let nothing = Jt::parse(&json!("{% $states.input.gone %}")).unwrap();
        let mut rng = SmallRng::seed_from_u64(1);
        let states = json!({"input": {}});
        let now = OffsetDateTime::UNIX_EPOCH;
        assert_eq!(
            nothing.eval(&states, &Map::new(), now, &mut rng),
            Err(QueryError::Undefined {
                expr: " $states.input.gone ".into()
            })
        );
    }
}
