//! The JSONPath subset of the Amazon States Language.
//!
//! Supported: `$` (state input), `$$` (context object) and `$name` (a workflow variable) roots,
//! `.name`, `['name']`, `[n]` (negative counts from the end), `.*` / `[*]`, slices `[start:end:step]` and recursive descent `..name` /
//! `..*`. Filters (`[?(...)]`), scripts and unions are refused when the definition is loaded.

use serde_json::{Map, Value};
use thiserror::Error;

/// A path that does not parse or uses an unsupported JSONPath feature.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid path '{path}': {reason}")]
pub struct PathError {
    pub path: String,
    pub reason: Syntax,
}

/// What is wrong with a path's text.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Syntax {
    #[error("a path starts with '$', '$$' or '$name'")]
    Root,
    #[error("a variable name has only letters, digits and '_'")]
    VariableName,
    #[error("empty field name after '.'")]
    EmptyField,
    #[error("functions and '@' are not supported")]
    Function,
    #[error("unterminated quoted name")]
    UnterminatedName,
    #[error("dangling '\\'")]
    DanglingEscape,
    #[error("expected ']' after a quoted name (unions are not supported)")]
    AfterQuotedName,
    #[error("filter and script expressions are not supported")]
    Filter,
    #[error("missing ']'")]
    MissingBracket,
    #[error("expected '.' or '['")]
    Unexpected,
    #[error("unions are not supported")]
    Union,
    #[error("'{0}' is not an integer")]
    NotAnInteger(String),
    #[error("a slice has at most three parts")]
    SliceParts,
    #[error("slice steps below 1 are not supported")]
    SliceStep,
    #[error("empty brackets")]
    EmptyBrackets,
}

/// Why a ResultPath write failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub(crate) enum SetError {
    #[error("cannot set field '{field}' on a non-object")]
    NotAnObject { field: String },
    #[error("cannot index [{index}] into a non-array")]
    NotAnArray { index: i64 },
    #[error("index [{index}] is out of range")]
    IndexOutOfRange { index: i64 },
    /// A wildcard, slice or descent on the way.
    #[error("only fields and indices can be written")]
    NotWritable,
}

/// Which document a path reads from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Root {
    /// `$`: the state's (effective) input.
    Input,
    /// `$$`: the context object.
    Context,
    /// `$name`: the workflow variable `name` (`Assign`).
    Variable(String),
}

/// What a path reads besides the value it is applied to: the context object (`$$`) and the
/// variables in scope (`$name`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Roots<'a> {
    pub(crate) context: &'a Value,
    pub(crate) vars: &'a Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq)]
enum Segment {
    Field(String),
    Index(i64),
    Wildcard,
    Slice {
        start: Option<i64>,
        end: Option<i64>,
        step: i64,
    },
    /// `..name` (Some) or `..*` (None).
    Descendant(Option<String>),
}

/// A parsed path.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Path {
    text: String,
    root: Root,
    segments: Vec<Segment>,
}

impl Path {
    pub(crate) fn parse(text: &str) -> Result<Path, PathError> {
        let fail = |reason: Syntax| PathError {
            path: text.to_string(),
            reason,
        };
        let (root, rest) = if let Some(rest) = text.strip_prefix("$$") {
            (Root::Context, rest)
        } else if let Some(rest) = text.strip_prefix('$') {
            // A variable's name starts with a letter or '_' and runs to the first '.' or '['.
            match rest.chars().next() {
                Some(c) if c.is_alphabetic() || c == '_' => {
                    let end = rest.find(['.', '[']).unwrap_or(rest.len());
                    let name = &rest[..end];
                    if !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
                        return Err(fail(Syntax::VariableName));
                    }
                    (Root::Variable(name.to_string()), &rest[end..])
                }
                _ => (Root::Input, rest),
            }
        } else {
            return Err(fail(Syntax::Root));
        };
        let chars: Vec<char> = rest.chars().collect();
        let mut segments = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                '.' => {
                    let descendant = chars.get(i + 1) == Some(&'.');
                    i += if descendant { 2 } else { 1 };
                    let start = i;
                    while i < chars.len() && chars[i] != '.' && chars[i] != '[' {
                        i += 1;
                    }
                    let name: String = chars[start..i].iter().collect();
                    if name.is_empty() {
                        return Err(fail(Syntax::EmptyField));
                    }
                    if name.contains('(') || name.contains('@') {
                        return Err(fail(Syntax::Function));
                    }
                    let wildcard = name == "*";
                    segments.push(match (descendant, wildcard) {
                        (true, true) => Segment::Descendant(None),
                        (true, false) => Segment::Descendant(Some(name)),
                        (false, true) => Segment::Wildcard,
                        (false, false) => Segment::Field(name),
                    });
                }
                '[' => {
                    i += 1;
                    match chars.get(i) {
                        Some(&quote @ ('\'' | '"')) => {
                            i += 1;
                            let mut name = String::new();
                            loop {
                                match chars.get(i) {
                                    None => return Err(fail(Syntax::UnterminatedName)),
                                    Some('\\') => {
                                        let escaped = chars
                                            .get(i + 1)
                                            .ok_or_else(|| fail(Syntax::DanglingEscape))?;
                                        name.push(*escaped);
                                        i += 2;
                                    }
                                    Some(c) if *c == quote => {
                                        i += 1;
                                        break;
                                    }
                                    Some(c) => {
                                        name.push(*c);
                                        i += 1;
                                    }
                                }
                            }
                            if chars.get(i) != Some(&']') {
                                return Err(fail(Syntax::AfterQuotedName));
                            }
                            i += 1;
                            segments.push(Segment::Field(name));
                        }
                        Some('?' | '(') => {
                            return Err(fail(Syntax::Filter));
                        }
                        _ => {
                            let start = i;
                            while i < chars.len() && chars[i] != ']' {
                                i += 1;
                            }
                            if i == chars.len() {
                                return Err(fail(Syntax::MissingBracket));
                            }
                            let inner: String = chars[start..i].iter().collect();
                            i += 1;
                            segments.push(parse_bracket(inner.trim()).map_err(fail)?);
                        }
                    }
                }
                _ => return Err(fail(Syntax::Unexpected)),
            }
        }
        Ok(Path {
            text: text.to_string(),
            root,
            segments,
        })
    }

    /// `$`: the whole input.
    pub(crate) fn root() -> Path {
        Path {
            text: "$".to_string(),
            root: Root::Input,
            segments: Vec::new(),
        }
    }

    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// Whether the path reads the context object (`$$`).
    pub(crate) fn reads_context(&self) -> bool {
        self.root == Root::Context
    }

    /// A definite path names at most one node; an indefinite one selects a list.
    pub(crate) fn is_definite(&self) -> bool {
        self.segments
            .iter()
            .all(|s| matches!(s, Segment::Field(_) | Segment::Index(_)))
    }

    /// Selects from `input` (for `$`), the context object (`$$`) or a variable (`$name`; an
    /// unassigned one selects nothing). A definite path yields the node or `None` when it is
    /// missing; an indefinite path yields an array of every match.
    pub(crate) fn select(&self, input: &Value, roots: Roots<'_>) -> Option<Value> {
        let root = match &self.root {
            Root::Input => input,
            Root::Context => roots.context,
            Root::Variable(name) => roots.vars.get(name)?,
        };
        let mut nodes = vec![root];
        for segment in &self.segments {
            let mut next = Vec::new();
            for node in nodes {
                step(segment, node, &mut next);
            }
            nodes = next;
        }
        if self.is_definite() {
            nodes.first().map(|v| (*v).clone())
        } else {
            Some(Value::Array(nodes.into_iter().cloned().collect()))
        }
    }

    /// Writes `value` at this path inside `target` (ResultPath semantics): missing objects on the
    /// way are created; a non-object on the way, or an index out of range, is an error.
    pub(crate) fn set(&self, target: &mut Value, value: Value) -> Result<(), SetError> {
        set_at(&self.segments, target, value)
    }

    /// Only `$`-rooted fields and indices: what ResultPath accepts.
    pub(crate) fn is_reference(&self) -> bool {
        self.root == Root::Input && self.is_definite()
    }
}

fn parse_bracket(inner: &str) -> Result<Segment, Syntax> {
    if inner == "*" {
        return Ok(Segment::Wildcard);
    }
    if inner.contains(',') {
        return Err(Syntax::Union);
    }
    let number = |s: &str| -> Result<Option<i64>, Syntax> {
        let s = s.trim();
        if s.is_empty() {
            Ok(None)
        } else {
            s.parse::<i64>()
                .map(Some)
                .map_err(|_| Syntax::NotAnInteger(s.to_string()))
        }
    };
    if inner.contains(':') {
        let parts: Vec<&str> = inner.split(':').collect();
        if parts.len() > 3 {
            return Err(Syntax::SliceParts);
        }
        let step = match parts.get(2) {
            Some(s) => number(s)?.unwrap_or(1),
            None => 1,
        };
        if step < 1 {
            return Err(Syntax::SliceStep);
        }
        return Ok(Segment::Slice {
            start: number(parts[0])?,
            end: number(parts[1])?,
            step,
        });
    }
    number(inner)?
        .map(Segment::Index)
        .ok_or(Syntax::EmptyBrackets)
}

fn resolve_index(index: i64, len: usize) -> Option<usize> {
    let len = i64::try_from(len).ok()?;
    let resolved = if index < 0 { len + index } else { index };
    (0..len)
        .contains(&resolved)
        .then(|| usize::try_from(resolved).ok())
        .flatten()
}

fn step<'a>(segment: &Segment, node: &'a Value, out: &mut Vec<&'a Value>) {
    match segment {
        Segment::Field(name) => out.extend(node.as_object().and_then(|o| o.get(name))),
        Segment::Index(index) => {
            if let Some(items) = node.as_array() {
                out.extend(resolve_index(*index, items.len()).map(|i| &items[i]));
            }
        }
        Segment::Wildcard => match node {
            Value::Array(items) => out.extend(items.iter()),
            Value::Object(map) => out.extend(map.values()),
            _ => {}
        },
        Segment::Slice { start, end, step } => {
            if let Some(items) = node.as_array() {
                let len = i64::try_from(items.len()).unwrap_or(i64::MAX);
                let clamp = |v: i64| if v < 0 { (len + v).max(0) } else { v.min(len) };
                let from = start.map_or(0, clamp);
                let to = end.map_or(len, clamp);
                let mut i = from;
                while i < to {
                    if let Ok(index) = usize::try_from(i) {
                        out.push(&items[index]);
                    }
                    i += step;
                }
            }
        }
        Segment::Descendant(name) => descend(name.as_deref(), node, out),
    }
}

fn descend<'a>(name: Option<&str>, node: &'a Value, out: &mut Vec<&'a Value>) {
    let children: Vec<&'a Value> = match node {
        Value::Array(items) => items.iter().collect(),
        Value::Object(map) => {
            if let Some(name) = name {
                out.extend(map.get(name));
            }
            map.values().collect()
        }
        _ => Vec::new(),
    };
    for child in children {
        if name.is_none() {
            out.push(child);
        }
        descend(name, child, out);
    }
}

fn set_at(segments: &[Segment], target: &mut Value, value: Value) -> Result<(), SetError> {
    let Some((first, rest)) = segments.split_first() else {
        *target = value;
        return Ok(());
    };
    match first {
        Segment::Field(name) => {
            let Value::Object(map) = target else {
                return Err(SetError::NotAnObject {
                    field: name.clone(),
                });
            };
            let slot = map
                .entry(name.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            if !rest.is_empty() && slot.is_null() {
                *slot = Value::Object(Map::new());
            }
            set_at(rest, slot, value)
        }
        Segment::Index(index) => {
            let Value::Array(items) = target else {
                return Err(SetError::NotAnArray { index: *index });
            };
            let i = resolve_index(*index, items.len())
                .ok_or(SetError::IndexOutOfRange { index: *index })?;
            set_at(rest, &mut items[i], value)
        }
        _ => Err(SetError::NotWritable),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn select(path: &str, input: &Value) -> Option<Value> {
        let vars = Map::from_iter([("answer".to_string(), json!({"is": [42]}))]);
        let roots = Roots {
            context: &Value::Null,
            vars: &vars,
        };
        Path::parse(path).unwrap().select(input, roots)
    }

    #[test]
    fn selects_fields_indices_and_slices() {
        let input = json!({"vals": [0, 10, 20, 30, 40, 50], "a b": {"c": true}});
        assert_eq!(select("$.vals[0]", &input), Some(json!(0)));
        assert_eq!(select("$.vals[-1]", &input), Some(json!(50)));
        assert_eq!(select("$.vals[-3:]", &input), Some(json!([30, 40, 50])));
        assert_eq!(select("$.vals[1:5:2]", &input), Some(json!([10, 30])));
        assert_eq!(select("$['a b'].c", &input), Some(json!(true)));
        assert_eq!(select("$.missing", &input), None);
        assert_eq!(select("$.vals[9]", &input), None);
        assert_eq!(select("$", &input), Some(input.clone()));
    }

    #[test]
    fn wildcards_and_descent_select_lists() {
        let input = json!({"items": [{"id": 1, "x": {"id": 3}}, {"id": 2}]});
        assert_eq!(select("$.items[*].id", &input), Some(json!([1, 2])));
        assert_eq!(select("$..id", &input), Some(json!([1, 3, 2])));
        assert_eq!(select("$.nothing[*]", &input), Some(json!([])));
    }

    #[test]
    fn context_root_reads_the_context() {
        let path = Path::parse("$$.Execution.Id").unwrap();
        assert_eq!(path.root, Root::Context);
        let context = json!({"Execution": {"Id": "arn"}});
        let vars = Map::new();
        let roots = Roots {
            context: &context,
            vars: &vars,
        };
        assert_eq!(path.select(&json!({}), roots), Some(json!("arn")));
    }

    #[test]
    fn variable_roots_read_the_variables() {
        let path = Path::parse("$answer.is[0]").unwrap();
        assert_eq!(path.root, Root::Variable("answer".into()));
        assert!(!path.is_reference(), "ResultPath cannot write a variable");
        assert_eq!(select("$answer.is[0]", &json!({})), Some(json!(42)));
        assert_eq!(select("$answer", &json!({})), Some(json!({"is": [42]})));
        assert_eq!(select("$unassigned", &json!({})), None);
        assert_eq!(select("$_x", &json!({})), None);
    }

    #[test]
    fn refuses_unsupported_syntax() {
        for bad in [
            "a.b",
            "$.a[?(@.x > 1)]",
            "$.a[1,2]",
            "$.",
            "$.a[",
            "$x-y",
            "$.a[::-1]",
        ] {
            assert!(Path::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn set_creates_objects_and_refuses_non_objects() {
        let mut doc = json!({"master": {"detail": [1, 2, 3]}});
        Path::parse("$.master.result.sum")
            .unwrap()
            .set(&mut doc, json!(6))
            .unwrap();
        assert_eq!(doc["master"]["result"]["sum"], json!(6));
        let set = |path: &str, doc: &mut Value| Path::parse(path).unwrap().set(doc, json!(1));
        assert_eq!(
            set("$.master.detail.x", &mut doc),
            Err(SetError::NotAnObject { field: "x".into() })
        );
        assert_eq!(
            set("$.master[0]", &mut doc),
            Err(SetError::NotAnArray { index: 0 })
        );
        assert_eq!(
            set("$.master.detail[-4]", &mut doc),
            Err(SetError::IndexOutOfRange { index: -4 })
        );
        assert_eq!(
            set("$.master.detail[*]", &mut doc),
            Err(SetError::NotWritable)
        );
        Path::parse("$.master.detail[1]")
            .unwrap()
            .set(&mut doc, json!("two"))
            .unwrap();
        assert_eq!(doc["master"]["detail"], json!([1, "two", 3]));
    }

    #[test]
    fn refusals_name_the_syntax() {
        let reason = |path: &str| Path::parse(path).unwrap_err().reason;
        assert_eq!(reason("$.a[x]"), Syntax::NotAnInteger("x".into()));
        assert_eq!(reason("$.a[::-1]"), Syntax::SliceStep);
        assert_eq!(reason("$.a[1,2]"), Syntax::Union);
        let err = Path::parse("$.a[]").unwrap_err();
        assert_eq!(err.to_string(), "invalid path '$.a[]': empty brackets");
    }
}
