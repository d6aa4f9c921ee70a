//! JSONata's values: JSON plus `undefined`, functions and the array flags of the reference
//! implementation (a *sequence* collapses to its only item; a *constructed* array is not flattened
//! by a path step).

use std::rc::Rc;

use serde_json::{Map, Number, Value};

use super::JsonataError;
use super::parse::Lambda;
use super::scope::Scope;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Flags {
    pub(crate) sequence: bool,
    pub(crate) cons: bool,
    pub(crate) keep: bool,
    /// The sequence the reference implementation wraps an array input in: `$` is its only item.
    pub(crate) outer: bool,
}

#[derive(Debug, Clone)]
pub(crate) enum J {
    Undef,
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Arr(Vec<J>, Flags),
    Obj(Vec<(String, J)>),
    Fun(Rc<Function>),
}

#[derive(Debug)]
pub(crate) enum Function {
    Lambda {
        lambda: Rc<Lambda>,
        scope: Rc<Scope>,
        input: J,
    },
    Builtin(&'static str),
}

impl Function {
    /// How many arguments a higher-order function hands it (value, index, array).
    pub(crate) fn arity(&self) -> usize {
        match self {
            Function::Lambda { lambda, .. } => lambda.params.len(),
            Function::Builtin(_) => 1,
        }
    }
}

impl J {
    pub(crate) fn seq(items: Vec<J>) -> J {
        J::Arr(
            items,
            Flags {
                sequence: true,
                ..Flags::default()
            },
        )
    }

    pub(crate) fn array(items: Vec<J>) -> J {
        J::Arr(items, Flags::default())
    }

    pub(crate) fn is_undef(&self) -> bool {
        matches!(self, J::Undef)
    }

    /// A sequence of no items is undefined, of one item that item (unless kept as an array).
    pub(crate) fn collapse(self) -> J {
        match self {
            J::Arr(mut items, flags) if flags.sequence => match items.len() {
                0 => J::Undef,
                1 if !flags.keep => items.remove(0),
                _ => J::Arr(items, flags),
            },
            other => other,
        }
    }

    /// The value as a list of items: an array's items, nothing for undefined, else itself.
    pub(crate) fn into_items(self) -> Vec<J> {
        match self {
            J::Undef => Vec::new(),
            J::Arr(items, _) => items,
            other => vec![other],
        }
    }

    pub(crate) fn from_json(value: &Value) -> J {
        match value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Number(n) => J::Num(n.as_f64().unwrap_or(f64::NAN)),
            Value::String(s) => J::Str(s.clone()),
            Value::Array(items) => J::array(items.iter().map(J::from_json).collect()),
            Value::Object(map) => J::Obj(
                map.iter()
                    .map(|(k, v)| (k.clone(), J::from_json(v)))
                    .collect(),
            ),
        }
    }

    /// The JSON value; `None` for undefined. Functions inside arrays and objects are dropped, as
    /// JSON.stringify does; a function as the whole result is an error.
    pub(crate) fn to_json(&self) -> Result<Option<Value>, JsonataError> {
        Ok(match self {
            J::Undef => None,
            J::Fun(_) => {
                return Err(JsonataError::new(
                    "T0001",
                    "the result is a function, which JSON cannot hold",
                ));
            }
            other => other.to_json_lossy(),
        })
    }

    fn to_json_lossy(&self) -> Option<Value> {
        Some(match self {
            J::Undef | J::Fun(_) => return None,
            J::Null => Value::Null,
            J::Bool(b) => Value::Bool(*b),
            J::Num(n) => number_json(*n),
            J::Str(s) => Value::String(s.clone()),
            J::Arr(items, _) => Value::Array(
                items
                    .iter()
                    .map(|i| i.to_json_lossy().unwrap_or(Value::Null))
                    .collect(),
            ),
            J::Obj(pairs) => {
                let mut map = Map::new();
                for (k, v) in pairs {
                    if let Some(v) = v.to_json_lossy() {
                        map.insert(k.clone(), v);
                    }
                }
                Value::Object(map)
            }
        })
    }

    pub(crate) fn get(&self, key: &str) -> Option<&J> {
        match self {
            J::Obj(pairs) => pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub(crate) fn type_name(&self) -> Option<&'static str> {
        Some(match self {
            J::Undef => return None,
            J::Null => "null",
            J::Bool(_) => "boolean",
            J::Num(_) => "number",
            J::Str(_) => "string",
            J::Arr(..) => "array",
            J::Obj(_) => "object",
            J::Fun(_) => "function",
        })
    }
}

/// Integers as JSON integers (as JSON.stringify prints them), other numbers as floats.
pub(crate) fn number_json(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 9.007_199_254_740_992e15 {
        Value::Number(Number::from(n as i64))
    } else {
        Number::from_f64(n).map_or(Value::Null, Value::Number)
    }
}

/// JSONata's deep equality.
pub(crate) fn deep_equal(a: &J, b: &J) -> bool {
    match (a, b) {
        (J::Undef, J::Undef) | (J::Null, J::Null) => true,
        (J::Bool(x), J::Bool(y)) => x == y,
        (J::Num(x), J::Num(y)) => x == y,
        (J::Str(x), J::Str(y)) => x == y,
        (J::Arr(x, _), J::Arr(y, _)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| deep_equal(a, b))
        }
        (J::Obj(x), J::Obj(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| b.get(k).is_some_and(|w| deep_equal(v, w)))
        }
        (J::Fun(x), J::Fun(y)) => Rc::ptr_eq(x, y),
        _ => false,
    }
}

/// JSONata's boolean cast; `None` for undefined.
pub(crate) fn truthy(value: &J) -> Option<bool> {
    Some(match value {
        J::Undef => return None,
        J::Null => false,
        J::Bool(b) => *b,
        J::Num(n) => *n != 0.0,
        J::Str(s) => !s.is_empty(),
        J::Arr(items, _) => match items.len() {
            0 => false,
            1 => truthy(&items[0]).unwrap_or(false),
            _ => items.iter().any(|i| truthy(i).unwrap_or(false)),
        },
        J::Obj(pairs) => !pairs.is_empty(),
        J::Fun(_) => false,
    })
}

/// A number as JavaScript prints it (`String(n)`).
pub(crate) fn js_number(n: f64) -> String {
    if n == 0.0 {
        return "0".into();
    }
    let abs = n.abs();
    if (1e-6..1e21).contains(&abs) {
        let text = format!("{n}");
        return text;
    }
    // Exponent form: shortest mantissa, `e+21` / `e-7`.
    let text = format!("{n:e}");
    match text.split_once('e') {
        Some((mantissa, exp)) if !exp.starts_with('-') => format!("{mantissa}e+{exp}"),
        Some((mantissa, exp)) => format!("{mantissa}e{exp}"),
        None => text,
    }
}

/// JSONata's `$string` of a number: 15 significant digits, then printed as JavaScript does.
pub(crate) fn number_string(n: f64) -> String {
    js_number(to_precision_15(n))
}

pub(crate) fn to_precision_15(n: f64) -> f64 {
    format!("{n:.14e}").parse().unwrap_or(n)
}

/// `JSON.stringify` with JSONata's number formatting; functions print as `""`.
pub(crate) fn stringify(value: &J, pretty: bool) -> String {
    let mut out = String::new();
    write_json(value, pretty, 0, &mut out);
    out
}

fn write_json(value: &J, pretty: bool, depth: usize, out: &mut String) {
    let indent = |out: &mut String, depth: usize| {
        if pretty {
            out.push('\n');
            out.push_str(&"  ".repeat(depth));
        }
    };
    match value {
        J::Undef | J::Null => out.push_str("null"),
        J::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        J::Num(n) => out.push_str(&number_string(*n)),
        J::Str(s) => out.push_str(&Value::String(s.clone()).to_string()),
        J::Fun(_) => out.push_str("\"\""),
        J::Arr(items, _) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                indent(out, depth + 1);
                write_json(item, pretty, depth + 1, out);
            }
            if !items.is_empty() {
                indent(out, depth);
            }
            out.push(']');
        }
        J::Obj(pairs) => {
            out.push('{');
            let mut first = true;
            for (k, v) in pairs {
                if v.is_undef() {
                    continue;
                }
                if !first {
                    out.push(',');
                }
                first = false;
                indent(out, depth + 1);
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                if pretty {
                    out.push(' ');
                }
                write_json(v, pretty, depth + 1, out);
            }
            if !first {
                indent(out, depth);
            }
            out.push('}');
        }
    }
}
