//! Each state type's fields: read, checked and turned into the model, for both query languages.

use super::*;

pub(super) fn parse_state(
    name: &str,
    json: &Value,
    names: &mut BTreeMap<String, &'static str>,
    inherited: Language,
) -> Result<State, LoadError> {
    let Value::Object(map) = json else {
        return Err(state_error(name, "-", "a state must be a JSON object"));
    };
    let language = match map.get("QueryLanguage") {
        None => inherited,
        Some(value) => match Language::parse(value) {
            None => {
                return Err(state_error(
                    name,
                    "QueryLanguage",
                    "must be JSONPath or JSONata",
                ));
            }
            Some(Language::JsonPath) if inherited == Language::Jsonata => {
                return Err(state_error(
                    name,
                    "QueryLanguage",
                    "a state cannot use JSONPath when its state machine uses JSONata",
                ));
            }
            Some(language) => language,
        },
    };
    let f = Fields {
        state: name,
        map,
        prefix: String::new(),
        language,
    };
    let type_name = f
        .string("Type")?
        .ok_or_else(|| f.err("Type", "required string"))?;
    if language == Language::Jsonata {
        return parse_jsonata_state(&f, type_name, names);
    }
    let (kind, next) = match type_name {
        "Pass" => {
            f.allow(&[
                IO,
                ASSIGN,
                TRANSITION,
                &["Parameters", "Result", "ResultPath"],
            ])?;
            let kind = Kind::Pass {
                parameters: f.template("Parameters")?,
                result: map.get("Result").cloned(),
                result_path: f.result_path("ResultPath")?,
            };
            (kind, f.next()?)
        }
        "Task" => {
            f.allow(&[
                IO,
                ASSIGN,
                TRANSITION,
                HANDLING,
                &[
                    "Resource",
                    "TimeoutSeconds",
                    "TimeoutSecondsPath",
                    "HeartbeatSeconds",
                    "HeartbeatSecondsPath",
                ],
            ])?;
            (Kind::Task(Box::new(parse_task(&f)?)), f.next()?)
        }
        "Choice" => {
            f.allow(&[IO, ASSIGN, &["Choices", "Default"]])?;
            let rules = f.list("Choices")?;
            if rules.is_empty() {
                return Err(f.err("Choices", "required non-empty array"));
            }
            let mut choices = Vec::with_capacity(rules.len());
            for (i, rule) in rules.iter().enumerate() {
                let field = format!("Choices[{i}]");
                // A top-level rule's own Assign is not part of its comparison.
                let (rule, assign) = match rule {
                    Value::Object(map) if map.contains_key("Assign") => {
                        let mut comparison = map.clone();
                        comparison.remove("Assign");
                        let r = f.nested(rule, field.clone())?;
                        (Value::Object(comparison), r.assign()?)
                    }
                    other => (other.clone(), None),
                };
                let (rule, next) = Rule::parse_top(&rule, &field)
                    .map_err(|(field, message)| f.err(&field, &message))?;
                choices.push(Choice {
                    test: Test::Rule(rule),
                    next,
                    outcome: Outcome::default(),
                    assign,
                });
            }
            let default = f.string("Default")?.map(str::to_string);
            (Kind::Choice { choices, default }, None)
        }
        "Wait" => {
            f.allow(&[
                IO,
                ASSIGN,
                TRANSITION,
                &["Seconds", "SecondsPath", "Timestamp", "TimestampPath"],
            ])?;
            (Kind::Wait(parse_wait(&f)?), f.next()?)
        }
        "Succeed" => {
            f.allow(&[IO])?;
            (Kind::Succeed, None)
        }
        "Fail" => {
            f.allow(&[&[
                "Type",
                "Comment",
                "Error",
                "ErrorPath",
                "Cause",
                "CausePath",
            ]])?;
            let kind = Kind::Fail {
                error: fail_field(&f, "Error")?,
                cause: fail_field(&f, "Cause")?,
            };
            (kind, None)
        }
        "Parallel" => {
            f.allow(&[IO, ASSIGN, TRANSITION, HANDLING, &["Branches"]])?;
            let branches = parse_branches(&f, names)?;
            let handling = Box::new(f.handling(true)?);
            (Kind::Parallel { branches, handling }, f.next()?)
        }
        "Map" => {
            f.allow(&[
                IO,
                ASSIGN,
                TRANSITION,
                HANDLING,
                &[
                    "ItemsPath",
                    "ItemSelector",
                    "MaxConcurrency",
                    "Iterator",
                    "ItemProcessor",
                ],
            ])?;
            (Kind::Map(Box::new(parse_map(&f, names)?)), f.next()?)
        }
        other => return Err(f.err("Type", format!("'{other}' is not a state type"))),
    };
    Ok(State {
        name: name.to_string(),
        kind,
        input_path: f.select("InputPath")?,
        output_path: f.select("OutputPath")?,
        next,
        arguments: None,
        outcome: None,
        assign: f.assign()?,
    })
}

/// A state in the JSONata query language: `Arguments`, `Output`, `Assign` and `{% %}` fields in
/// place of the JSONPath processing fields (which are refused).
fn parse_jsonata_state(
    f: &Fields<'_>,
    type_name: &str,
    names: &mut BTreeMap<String, &'static str>,
) -> Result<State, LoadError> {
    const HANDLING: &[&str] = &["Retry", "Catch"];
    let (kind, next) = match type_name {
        "Pass" => {
            f.allow(&[JSONATA_IO, TRANSITION])?;
            let kind = Kind::Pass {
                parameters: None,
                result: None,
                result_path: Some(Path::root()),
            };
            (kind, f.next()?)
        }
        "Task" => {
            f.allow(&[
                JSONATA_IO,
                TRANSITION,
                HANDLING,
                &[
                    "Resource",
                    "Arguments",
                    "TimeoutSeconds",
                    "HeartbeatSeconds",
                ],
            ])?;
            (Kind::Task(Box::new(parse_task(f)?)), f.next()?)
        }
        "Choice" => {
            f.allow(&[JSONATA_IO, &["Choices", "Default"]])?;
            let rules = f.list("Choices")?;
            if rules.is_empty() {
                return Err(f.err("Choices", "required non-empty array"));
            }
            let mut choices = Vec::with_capacity(rules.len());
            for (i, rule) in rules.iter().enumerate() {
                let r = f.nested(rule, format!("Choices[{i}]"))?;
                r.allow_only(&["Condition", "Next", "Output", "Assign", "Comment"])?;
                let condition = match r.jt("Condition")? {
                    None => return Err(r.err("Condition", "required in a JSONata Choice rule")),
                    Some(Jt::Literal(Value::Bool(b))) => Jt::Literal(Value::Bool(b)),
                    Some(Jt::Literal(_)) => {
                        return Err(r.err("Condition", "must be a boolean or a {% %} expression"));
                    }
                    Some(condition) => condition,
                };
                let next = r
                    .string("Next")?
                    .ok_or_else(|| r.err("Next", "required string"))?;
                choices.push(Choice {
                    test: Test::Condition(condition),
                    next: next.to_string(),
                    outcome: r.outcome()?,
                    assign: None,
                });
            }
            let default = f.string("Default")?.map(str::to_string);
            (Kind::Choice { choices, default }, None)
        }
        "Wait" => {
            f.allow(&[JSONATA_IO, TRANSITION, &["Seconds", "Timestamp"]])?;
            let seconds = f.jsonata_seconds("Seconds", true)?.map(WaitFor::Seconds);
            let timestamp = match f.jt("Timestamp")? {
                None => None,
                Some(Jt::Literal(Value::String(text))) => Some(WaitFor::Timestamp(
                    OffsetDateTime::parse(&text, &Rfc3339).map_err(|e| {
                        f.err("Timestamp", format!("not an RFC 3339 timestamp: {e}"))
                    })?,
                )),
                Some(Jt::Expr(e)) => Some(WaitFor::TimestampExpr(Jt::Expr(e))),
                Some(_) => return Err(f.err("Timestamp", "must be a string")),
            };
            let wait = match (seconds, timestamp) {
                (Some(w), None) | (None, Some(w)) => w,
                (None, None) => {
                    return Err(f.err("Seconds", "one of Seconds or Timestamp is required"));
                }
                (Some(_), Some(_)) => {
                    return Err(f.err("Seconds", "only one of Seconds or Timestamp may be given"));
                }
            };
            (Kind::Wait(wait), f.next()?)
        }
        "Succeed" => {
            f.allow(&[&["Type", "Comment", "QueryLanguage", "Output"]])?;
            (Kind::Succeed, None)
        }
        "Fail" => {
            f.allow(&[&["Type", "Comment", "QueryLanguage", "Error", "Cause"]])?;
            let kind = Kind::Fail {
                error: f.jt("Error")?.map(Text::Jsonata),
                cause: f.jt("Cause")?.map(Text::Jsonata),
            };
            (kind, None)
        }
        "Parallel" => {
            f.allow(&[JSONATA_IO, TRANSITION, HANDLING, &["Branches", "Arguments"]])?;
            let branches = parse_branches(f, names)?;
            let handling = Box::new(f.handling(false)?);
            (Kind::Parallel { branches, handling }, f.next()?)
        }
        "Map" => {
            f.allow(&[
                JSONATA_IO,
                TRANSITION,
                HANDLING,
                &[
                    "Items",
                    "ItemSelector",
                    "MaxConcurrency",
                    "ItemProcessor",
                    "Iterator",
                ],
            ])?;
            (Kind::Map(Box::new(parse_map(f, names)?)), f.next()?)
        }
        other => return Err(f.err("Type", format!("'{other}' is not a state type"))),
    };
    let outcome = match kind {
        // Fail has no Output or Assign (refused above); Succeed may have Output only.
        Kind::Fail { .. } => Outcome::default(),
        _ => f.outcome()?,
    };
    Ok(State {
        name: f.state.to_string(),
        kind,
        input_path: Select::All,
        output_path: Select::All,
        next,
        arguments: f.jt("Arguments")?,
        outcome: Some(outcome),
        assign: None,
    })
}

/// A Parallel state's `Branches`, each a machine in the state's query language.
fn parse_branches(
    f: &Fields<'_>,
    names: &mut BTreeMap<String, &'static str>,
) -> Result<Vec<Machine>, LoadError> {
    let branches = f.list("Branches")?;
    if branches.is_empty() {
        return Err(f.err("Branches", "required non-empty array"));
    }
    branches
        .iter()
        .enumerate()
        .map(|(i, branch)| {
            let map = branch
                .as_object()
                .ok_or_else(|| f.err(&format!("Branches[{i}]"), "must be an object"))?;
            parse_machine(
                map,
                &format!("state '{}' Branches[{i}]", f.state),
                &["StartAt", "States", "Comment"],
                names,
                f.language,
            )
        })
        .collect()
}

fn parse_task(f: &Fields<'_>) -> Result<Task, LoadError> {
    let resource = f
        .string("Resource")?
        .ok_or_else(|| f.err("Resource", "required string"))?;
    let (_, pattern) = IntegrationPattern::split(resource);
    let (timeout, heartbeat) = if f.language == Language::Jsonata {
        (
            f.jsonata_seconds("TimeoutSeconds", false)?,
            f.jsonata_seconds("HeartbeatSeconds", false)?,
        )
    } else {
        (
            f.seconds("TimeoutSeconds", false)?,
            f.seconds("HeartbeatSeconds", false)?,
        )
    };
    if let (Some(Seconds::Fixed(t)), Some(Seconds::Fixed(h))) = (&timeout, &heartbeat)
        && h >= t
    {
        return Err(f.err("HeartbeatSeconds", "must be smaller than TimeoutSeconds"));
    }
    // JSONPath `Parameters` or JSONata `Arguments`; an expression is not a literal name.
    let function_name = ["Parameters", "Arguments"]
        .into_iter()
        .find_map(|field| f.map.get(field)?.get("FunctionName")?.as_str())
        .filter(|name| !name.starts_with("{%"))
        .map(str::to_owned);
    Ok(Task {
        resource: resource.to_string(),
        function_name,
        pattern,
        handling: f.handling(true)?,
        timeout,
        heartbeat,
    })
}

fn parse_wait(f: &Fields<'_>) -> Result<WaitFor, LoadError> {
    let mut found: Vec<WaitFor> = Vec::new();
    if let Some(seconds) = f.seconds("Seconds", true)? {
        found.push(WaitFor::Seconds(seconds));
    }
    if let Some(text) = f.string("Timestamp")? {
        let at = OffsetDateTime::parse(text, &Rfc3339)
            .map_err(|e| f.err("Timestamp", format!("not an RFC 3339 timestamp: {e}")))?;
        found.push(WaitFor::Timestamp(at));
    }
    if let Some(path) = f.path("TimestampPath")? {
        found.push(WaitFor::TimestampPath(path));
    }
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(f.err(
            "Seconds",
            "one of Seconds, SecondsPath, Timestamp or TimestampPath is required",
        )),
        _ => Err(f.err(
            "Seconds",
            "only one of Seconds, SecondsPath, Timestamp or TimestampPath may be given",
        )),
    }
}

fn fail_field(f: &Fields<'_>, field: &str) -> Result<Option<Text>, LoadError> {
    let path_field = format!("{field}Path");
    match (f.string(field)?, f.string(&path_field)?) {
        (Some(_), Some(_)) => Err(f.err(&path_field, format!("cannot be combined with {field}"))),
        (Some(text), None) => Ok(Some(Text::Template(Template::Literal(Value::String(
            text.to_string(),
        ))))),
        (None, Some(expr)) => parse_expression(expr)
            .map(|t| Some(Text::Template(t)))
            .map_err(|e| f.err(&path_field, e)),
        (None, None) => Ok(None),
    }
}

fn parse_map(
    f: &Fields<'_>,
    names: &mut BTreeMap<String, &'static str>,
) -> Result<MapState, LoadError> {
    let (items, item_selector) = if f.language == Language::Jsonata {
        let items = match f.jt("Items")? {
            None => Items::Jsonata(Jt::Expr("$states.input".into())),
            Some(Jt::Literal(v)) if !v.is_array() => {
                return Err(f.err("Items", "must be an array or a {% %} expression"));
            }
            Some(items) => Items::Jsonata(items),
        };
        (items, f.jt("ItemSelector")?.map(Selector::Jsonata))
    } else {
        let items = Items::Path(f.path("ItemsPath")?.unwrap_or_else(Path::root));
        let selector = match (f.template("ItemSelector")?, f.template("Parameters")?) {
            (Some(_), Some(_)) => {
                return Err(f.err("Parameters", "cannot be combined with ItemSelector"));
            }
            (selector, parameters) => selector.or(parameters),
        };
        (items, selector.map(Selector::Template))
    };
    let max_concurrency = usize::try_from(f.uint("MaxConcurrency")?.unwrap_or(0))
        .map_err(|_| f.err("MaxConcurrency", "is too large"))?;
    let (field, processor_json) = match (f.map.get("ItemProcessor"), f.map.get("Iterator")) {
        (Some(_), Some(_)) => {
            return Err(f.err("Iterator", "cannot be combined with ItemProcessor"));
        }
        (Some(p), None) => ("ItemProcessor", p),
        (None, Some(i)) => ("Iterator", i),
        (None, None) => return Err(f.err("ItemProcessor", "required (or the legacy Iterator)")),
    };
    let processor_map = processor_json
        .as_object()
        .ok_or_else(|| f.err(field, "must be an object"))?;
    if let Some(config) = processor_map.get("ProcessorConfig") {
        let mode = config
            .get("Mode")
            .and_then(Value::as_str)
            .unwrap_or("INLINE");
        let only_mode = config
            .as_object()
            .is_some_and(|c| c.keys().all(|k| k == "Mode"));
        if mode != "INLINE" || !only_mode {
            return Err(f.err(
                &format!("{field}.ProcessorConfig"),
                "only the INLINE mode is supported (distributed Map is refused)",
            ));
        }
    }
    let scope = format!("state '{}' {field}", f.state);
    let processor = parse_machine(
        processor_map,
        &scope,
        &["StartAt", "States", "Comment", "ProcessorConfig"],
        names,
        f.language,
    )?;
    Ok(MapState {
        items,
        item_selector,
        max_concurrency,
        processor,
        handling: f.handling(false)?,
    })
}
