//! Input and output processing: paths, `Parameters`/`Arguments`, `ResultPath`, and the seconds
//! and timestamps of Wait states and timeouts.

use super::*;

pub(super) fn wait_deadline(
    inner: &Inner,
    wait: &WaitFor,
    input: &Value,
    states: &Value,
    vars: &Vars,
) -> Result<Duration, Failure> {
    let now = inner.lock().now;
    let until = |at: OffsetDateTime| {
        let offset = at - inner.start_time;
        Duration::try_from(offset)
            .unwrap_or(Duration::ZERO)
            .max(now)
    };
    match wait {
        WaitFor::Seconds(seconds) => {
            Ok(now + resolve_seconds(inner, seconds, input, (states, vars), "SecondsPath", true)?)
        }
        WaitFor::Timestamp(at) => Ok(until(*at)),
        WaitFor::TimestampPath(path) => {
            let value = select_path(path, input, "TimestampPath", vars)?;
            let at = value
                .as_str()
                .and_then(|s| OffsetDateTime::parse(s, &Rfc3339).ok())
                .ok_or_else(|| {
                    Failure::runtime(format!(
                        "TimestampPath '{}' must select an RFC 3339 timestamp, not {value}",
                        path.text()
                    ))
                })?;
            Ok(until(at))
        }
        WaitFor::TimestampExpr(jt) => {
            let value = inner.query(jt, states, vars)?;
            let at = value
                .as_str()
                .and_then(|s| OffsetDateTime::parse(s, &Rfc3339).ok())
                .ok_or_else(|| {
                    Failure::new(
                        QUERY_ERROR,
                        format!("Timestamp must give an RFC 3339 timestamp, not {value}"),
                    )
                })?;
            Ok(until(at))
        }
    }
}

pub(super) fn resolve_seconds(
    inner: &Inner,
    seconds: &Seconds,
    input: &Value,
    (states, vars): (&Value, &Vars),
    field: &str,
    zero_allowed: bool,
) -> Result<Duration, Failure> {
    match seconds {
        Seconds::Fixed(n) => Ok(Duration::from_secs(*n)),
        Seconds::Expr(jt) => {
            let value = inner.query(jt, states, vars)?;
            value
                .as_u64()
                .filter(|n| zero_allowed || *n > 0)
                .map(Duration::from_secs)
                .ok_or_else(|| {
                    Failure::new(
                        QUERY_ERROR,
                        format!(
                            "{} must give a whole number of seconds, not {value}",
                            field.trim_end_matches("Path")
                        ),
                    )
                })
        }
        Seconds::Path(path) => {
            let value = select_path(path, input, field, vars)?;
            value
                .as_u64()
                .filter(|n| zero_allowed || *n > 0)
                .map(Duration::from_secs)
                .ok_or_else(|| {
                    Failure::runtime(format!(
                        "{field} '{}' must select a {} integer, not {value}",
                        path.text(),
                        if zero_allowed {
                            "non-negative"
                        } else {
                            "positive"
                        }
                    ))
                })
        }
    }
}

pub(super) fn select_path(
    path: &Path,
    input: &Value,
    field: &str,
    vars: &Vars,
) -> Result<Value, Failure> {
    with_roots(&Value::Null, vars, |roots| path.select(input, roots)).ok_or_else(|| {
        Failure::runtime(format!(
            "Invalid path '{}': the {field} references an invalid value",
            path.text()
        ))
    })
}

/// InputPath and OutputPath.
pub(super) fn select_input(
    select: &Select,
    value: &Value,
    field: &str,
    vars: &Vars,
) -> Result<Value, Failure> {
    match select {
        Select::All => Ok(value.clone()),
        Select::Nothing => Ok(json!({})),
        Select::Path(path) => select_path(path, value, field, vars),
    }
}

pub(super) fn apply_result_path(
    path: Option<&Path>,
    raw: Value,
    result: Value,
) -> Result<Value, Failure> {
    let Some(path) = path else {
        return Ok(raw);
    };
    let mut output = raw;
    path.set(&mut output, result).map_err(|reason| {
        Failure::new(
            "States.ResultPathMatchFailure",
            format!("unable to apply ResultPath {}: {reason}", path.text()),
        )
    })?;
    Ok(output)
}

/// The effective input of the work: `Parameters` (JSONPath) or `Arguments` (JSONata).
pub(super) fn arguments(
    inner: &Inner,
    state: &State,
    handling: &Handling,
    effective: &Value,
    context: &Value,
    vars: &Vars,
) -> Result<Value, Failure> {
    match (&handling.parameters, &state.arguments) {
        (Some(template), _) => inner.eval(template, effective, context, vars),
        (None, Some(jt)) => inner.query(jt, &states(effective, context), vars),
        (None, None) => Ok(effective.clone()),
    }
}
