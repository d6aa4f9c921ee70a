//! Payload templates: `Parameters`, `ResultSelector` and `ItemSelector`.
//!
//! A key ending in `.$` takes its value from a path (`$...` on the input, `$$...` on the context
//! object, `$name...` on a variable) or an intrinsic function call; every other value is copied as is. Objects nested in
//! objects and arrays are processed the same way.

use rand::rngs::SmallRng;
use serde_json::{Map, Value};
use thiserror::Error;

use crate::intrinsic::{Intrinsic, IntrinsicError, IntrinsicFailure, IntrinsicParseError};
use crate::path::{Path, PathError, Roots};

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Template {
    Literal(Value),
    Object(Vec<(String, Template)>),
    Array(Vec<Template>),
    Path(Path),
    Intrinsic(Intrinsic),
}

/// Why a template could not be evaluated; the executor maps it to a `States.*` error name.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TemplateError {
    /// A path (of the field or inside an intrinsic call) selected nothing: `States.Runtime` on
    /// AWS, which no Retry or Catch handles. `field` is the `.$` key, when there is one.
    PathNotFound { path: String, field: Option<String> },
    /// An intrinsic function failed: `States.IntrinsicFailure`.
    Intrinsic(IntrinsicFailure),
}

/// Why a template does not parse (when the definition is loaded).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub(crate) enum TemplateParseError {
    #[error("'{key}' must be a string (a path or an intrinsic function)")]
    NotAString { key: String },
    #[error("'{key}': {source}")]
    Expression {
        key: String,
        source: ExpressionError,
    },
}

/// Why the value of a `.$` key (or a Fail state's ErrorPath / CausePath) does not parse.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub(crate) enum ExpressionError {
    #[error(transparent)]
    Path(#[from] PathError),
    #[error(transparent)]
    Intrinsic(#[from] IntrinsicParseError),
    #[error("'{0}' is neither a path nor an intrinsic function")]
    Neither(String),
}

impl From<IntrinsicError> for TemplateError {
    fn from(e: IntrinsicError) -> TemplateError {
        match e {
            IntrinsicError::PathNotFound(path) => TemplateError::PathNotFound { path, field: None },
            IntrinsicError::Failed(failure) => TemplateError::Intrinsic(failure),
        }
    }
}

impl Template {
    /// Parses a template; the error names the offending key.
    pub(crate) fn parse(value: &Value) -> Result<Template, TemplateParseError> {
        Ok(match value {
            Value::Object(map) => {
                let mut fields = Vec::with_capacity(map.len());
                for (key, v) in map {
                    let field = match key.strip_suffix(".$") {
                        Some(name) => {
                            let Value::String(expr) = v else {
                                return Err(TemplateParseError::NotAString { key: key.clone() });
                            };
                            let template = parse_expression(expr).map_err(|source| {
                                TemplateParseError::Expression {
                                    key: key.clone(),
                                    source,
                                }
                            })?;
                            (name.to_string(), template)
                        }
                        None => (key.clone(), Template::parse(v)?),
                    };
                    fields.push(field);
                }
                Template::Object(fields)
            }
            Value::Array(items) => Template::Array(
                items
                    .iter()
                    .map(Template::parse)
                    .collect::<Result<_, _>>()?,
            ),
            other => Template::Literal(other.clone()),
        })
    }

    pub(crate) fn eval(
        &self,
        input: &Value,
        roots: Roots<'_>,
        rng: &mut SmallRng,
    ) -> Result<Value, TemplateError> {
        Ok(match self {
            Template::Literal(v) => v.clone(),
            Template::Object(fields) => {
                let mut map = Map::new();
                for (key, template) in fields {
                    let value = template.eval(input, roots, rng).map_err(|e| match e {
                        TemplateError::PathNotFound { path, field: None } => {
                            TemplateError::PathNotFound {
                                path,
                                field: Some(format!("{key}.$")),
                            }
                        }
                        other => other,
                    })?;
                    map.insert(key.clone(), value);
                }
                Value::Object(map)
            }
            Template::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|t| t.eval(input, roots, rng))
                    .collect::<Result<_, _>>()?,
            ),
            Template::Path(path) => {
                path.select(input, roots)
                    .ok_or_else(|| TemplateError::PathNotFound {
                        path: path.text().to_string(),
                        field: None,
                    })?
            }
            Template::Intrinsic(call) => call.eval(input, roots, rng)?,
        })
    }
}

/// Parses the value of a `.$` key (or a Fail state's ErrorPath / CausePath): a path or an intrinsic call.
pub(crate) fn parse_expression(expr: &str) -> Result<Template, ExpressionError> {
    if expr.starts_with('$') {
        Ok(Template::Path(Path::parse(expr)?))
    } else if expr.starts_with("States.") {
        Ok(Template::Intrinsic(Intrinsic::parse(expr)?))
    } else {
        Err(ExpressionError::Neither(expr.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use serde_json::json;

    fn eval(template: Value, input: Value, context: Value) -> Result<Value, TemplateError> {
        let mut rng = SmallRng::seed_from_u64(1);
        let vars = Map::from_iter([("name".to_string(), json!("Grace"))]);
        let roots = Roots {
            context: &context,
            vars: &vars,
        };
        Template::parse(&template)
            .unwrap()
            .eval(&input, roots, &mut rng)
    }

    // The ASL specification's Parameters example.
    #[test]
    fn spec_parameters_example() {
        let template = json!({
            "flagged": true,
            "parts": {"first.$": "$.vals[0]", "last3.$": "$.vals[-3:]"}
        });
        let input = json!({"flagged": 7, "vals": [0, 10, 20, 30, 40, 50]});
        assert_eq!(
            eval(template, input, json!({})),
            Ok(json!({"flagged": true, "parts": {"first": 0, "last3": [30, 40, 50]}}))
        );
    }

    #[test]
    fn context_paths_intrinsics_and_arrays() {
        let template = json!({
            "id.$": "$$.Execution.Id",
            "greeting.$": "States.Format('hi {}', $.name)",
            "list": [{"n.$": "$.name"}, 1],
            "from_variable.$": "States.Format('and {}', $name)"
        });
        assert_eq!(
            eval(
                template,
                json!({"name": "Ada"}),
                json!({"Execution": {"Id": "x"}})
            ),
            Ok(
                json!({"id": "x", "greeting": "hi Ada", "list": [{"n": "Ada"}, 1], "from_variable": "and Grace"})
            )
        );
    }

    #[test]
    fn errors() {
        assert_eq!(
            eval(json!({"a.$": "$.missing"}), json!({}), json!({})),
            Err(TemplateError::PathNotFound {
                path: "$.missing".into(),
                field: Some("a.$".into())
            })
        );
        assert_eq!(
            eval(
                json!({"n": {"a.$": "States.ArrayLength($.gone)"}}),
                json!({}),
                json!({})
            ),
            Err(TemplateError::PathNotFound {
                path: "$.gone".into(),
                field: Some("a.$".into())
            })
        );
        assert!(matches!(
            eval(
                json!({"a.$": "States.StringToJson('x')"}),
                json!({}),
                json!({})
            ),
            Err(TemplateError::Intrinsic(_))
        ));
        assert_eq!(
            Template::parse(&json!({"a.$": 3})),
            Err(TemplateParseError::NotAString { key: "a.$".into() })
        );
        assert_eq!(
            Template::parse(&json!({"a.$": "plain"})),
            Err(TemplateParseError::Expression {
                key: "a.$".into(),
                source: ExpressionError::Neither("plain".into())
            })
        );
        assert!(matches!(
            Template::parse(&json!({"a": {"b.$": "$.x[?(@.y)]"}})),
            Err(TemplateParseError::Expression {
                source: ExpressionError::Path(_),
                ..
            })
        ));
    }
}
