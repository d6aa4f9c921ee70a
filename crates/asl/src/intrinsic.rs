//! Intrinsic functions (`States.Format(...)` and friends), parsed when the definition is loaded.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use md5::Md5;
use rand::Rng;
use rand::rngs::SmallRng;
use serde_json::Value;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha384, Sha512};

use crate::path::{Path, PathError, Roots};

/// The intrinsic functions this executor implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Function {
    Format,
    StringToJson,
    JsonToString,
    Array,
    ArrayLength,
    ArrayGetItem,
    ArrayContains,
    ArrayRange,
    ArrayUnique,
    MathAdd,
    MathRandom,
    StringSplit,
    Uuid,
    Hash,
    ArrayPartition,
    Base64Encode,
    Base64Decode,
    JsonMerge,
}

/// Why a call failed. A path that selects nothing is `States.Runtime` on AWS (it is resolved
/// before the function runs); everything else is `States.IntrinsicFailure`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum IntrinsicError {
    PathNotFound(String),
    Failed(String),
}

/// AWS's limit on the characters of the input of `Base64Encode`, `Base64Decode` and `Hash`.
const MAX_INPUT_CHARS: usize = 10_000;
/// AWS's limit on the items `States.ArrayRange` may produce.
const MAX_RANGE_ITEMS: usize = 1000;
/// AWS allows up to 10 intrinsic calls in one field.
const MAX_CALLS_PER_FIELD: usize = 10;

impl Function {
    fn from_name(name: &str) -> Option<Function> {
        Some(match name {
            "States.Format" => Function::Format,
            "States.StringToJson" => Function::StringToJson,
            "States.JsonToString" => Function::JsonToString,
            "States.Array" => Function::Array,
            "States.ArrayLength" => Function::ArrayLength,
            "States.ArrayGetItem" => Function::ArrayGetItem,
            "States.ArrayContains" => Function::ArrayContains,
            "States.ArrayRange" => Function::ArrayRange,
            "States.ArrayUnique" => Function::ArrayUnique,
            "States.MathAdd" => Function::MathAdd,
            "States.MathRandom" => Function::MathRandom,
            "States.StringSplit" => Function::StringSplit,
            "States.UUID" => Function::Uuid,
            "States.Hash" => Function::Hash,
            "States.ArrayPartition" => Function::ArrayPartition,
            "States.Base64Encode" => Function::Base64Encode,
            "States.Base64Decode" => Function::Base64Decode,
            "States.JsonMerge" => Function::JsonMerge,
            _ => return None,
        })
    }

    /// Allowed argument counts (min, max).
    fn arity(self) -> (usize, usize) {
        match self {
            Function::Format => (1, usize::MAX),
            Function::Array => (0, usize::MAX),
            Function::Uuid => (0, 0),
            Function::StringToJson
            | Function::JsonToString
            | Function::ArrayLength
            | Function::ArrayUnique
            | Function::Base64Encode
            | Function::Base64Decode => (1, 1),
            Function::ArrayGetItem
            | Function::ArrayContains
            | Function::MathAdd
            | Function::StringSplit
            | Function::Hash
            | Function::ArrayPartition => (2, 2),
            Function::MathRandom => (2, 3),
            Function::ArrayRange | Function::JsonMerge => (3, 3),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Arg {
    /// A quoted string literal, kept with its escapes so `States.Format` can tell `\{` from `{`.
    Text(String),
    Literal(Value),
    Path(Path),
    Call(Intrinsic),
}

/// A parsed intrinsic function call.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Intrinsic {
    function: Function,
    name: String,
    args: Vec<Arg>,
}

impl Intrinsic {
    /// Parses a whole call such as `States.Format('{}', $.a)`.
    pub(crate) fn parse(text: &str) -> Result<Intrinsic, String> {
        let mut parser = Parser {
            chars: text.chars().collect(),
            pos: 0,
        };
        let call = parser.call()?;
        parser.skip_spaces();
        if parser.pos != parser.chars.len() {
            return Err(format!(
                "unexpected text after the call at position {}",
                parser.pos
            ));
        }
        if call.calls() > MAX_CALLS_PER_FIELD {
            return Err(format!(
                "{} intrinsic calls in one field; AWS allows at most {MAX_CALLS_PER_FIELD}",
                call.calls()
            ));
        }
        Ok(call)
    }

    /// This call and the calls nested in its arguments.
    fn calls(&self) -> usize {
        1 + self
            .args
            .iter()
            .map(|arg| match arg {
                Arg::Call(call) => call.calls(),
                _ => 0,
            })
            .sum::<usize>()
    }

    /// Evaluates the call.
    pub(crate) fn eval(
        &self,
        input: &Value,
        roots: Roots<'_>,
        rng: &mut SmallRng,
    ) -> Result<Value, IntrinsicError> {
        let mut values = Vec::with_capacity(self.args.len());
        for arg in &self.args {
            values.push(match arg {
                Arg::Text(raw) => Value::String(unescape(raw)),
                Arg::Literal(v) => v.clone(),
                Arg::Path(p) => p
                    .select(input, roots)
                    .ok_or_else(|| IntrinsicError::PathNotFound(p.text().to_string()))?,
                Arg::Call(call) => call.eval(input, roots, rng)?,
            });
        }
        self.apply(&values, rng)
            .map_err(|reason| IntrinsicError::Failed(format!("{}: {reason}", self.name)))
    }

    fn apply(&self, values: &[Value], rng: &mut SmallRng) -> Result<Value, String> {
        let string = |i: usize| -> Result<&str, String> {
            values[i]
                .as_str()
                .ok_or_else(|| format!("argument {} must be a string", i + 1))
        };
        let array = |i: usize| -> Result<&Vec<Value>, String> {
            values[i]
                .as_array()
                .ok_or_else(|| format!("argument {} must be an array", i + 1))
        };
        let integer = |i: usize| -> Result<i64, String> {
            integer_value(&values[i])
                .ok_or_else(|| format!("argument {} must be an integer", i + 1))
        };
        Ok(match self.function {
            Function::Format => {
                let Some(Arg::Text(template)) = self.args.first() else {
                    return Err("the template must be a string literal".into());
                };
                format_template(template, &values[1..])?
            }
            Function::StringToJson => serde_json::from_str(string(0)?)
                .map_err(|e| format!("argument is not JSON: {e}"))?,
            Function::JsonToString => Value::String(values[0].to_string()),
            Function::Array => Value::Array(values.to_vec()),
            Function::ArrayLength => Value::from(array(0)?.len()),
            Function::ArrayGetItem => {
                let items = array(0)?;
                let index = integer(1)?;
                usize::try_from(index)
                    .ok()
                    .and_then(|i| items.get(i))
                    .cloned()
                    .ok_or_else(|| format!("index {index} is out of range"))?
            }
            Function::ArrayContains => Value::Bool(array(0)?.contains(&values[1])),
            Function::ArrayRange => {
                let (start, end, step) = (integer(0)?, integer(1)?, integer(2)?);
                if step == 0 {
                    return Err("the step must not be 0".into());
                }
                let mut items = Vec::new();
                let mut n = start;
                while (step > 0 && n <= end) || (step < 0 && n >= end) {
                    if items.len() >= MAX_RANGE_ITEMS {
                        return Err(format!("a range has at most {MAX_RANGE_ITEMS} items"));
                    }
                    items.push(Value::from(n));
                    n += step;
                }
                Value::Array(items)
            }
            Function::ArrayUnique => {
                let mut unique: Vec<Value> = Vec::new();
                for item in array(0)? {
                    if !unique.contains(item) {
                        unique.push(item.clone());
                    }
                }
                Value::Array(unique)
            }
            Function::MathAdd => {
                let (a, b) = (integer(0)?, integer(1)?);
                Value::from(
                    a.checked_add(b)
                        .ok_or_else(|| "the sum overflows".to_string())?,
                )
            }
            Function::MathRandom => {
                let (low, high) = (integer(0)?, integer(1)?);
                if low >= high {
                    return Err("the start must be below the end".into());
                }
                Value::from(rng.random_range(low..high))
            }
            Function::StringSplit => {
                let (text, separators) = (string(0)?, string(1)?);
                Value::Array(
                    text.split(|c| separators.contains(c))
                        .filter(|s| !s.is_empty())
                        .map(|s| Value::String(s.to_string()))
                        .collect(),
                )
            }
            Function::Uuid => Value::String(new_uuid(rng)),
            Function::Hash => Value::String(hash(limited(string(0)?)?, string(1)?)?),
            Function::ArrayPartition => {
                let (items, size) = (array(0)?, integer(1)?);
                let size = usize::try_from(size)
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| format!("the chunk size must be positive, not {size}"))?;
                Value::Array(
                    items
                        .chunks(size)
                        .map(|chunk| Value::Array(chunk.to_vec()))
                        .collect(),
                )
            }
            Function::Base64Encode => Value::String(BASE64.encode(limited(string(0)?)?)),
            Function::Base64Decode => {
                let bytes = BASE64
                    .decode(limited(string(0)?)?)
                    .map_err(|e| format!("the argument is not base64: {e}"))?;
                Value::String(
                    String::from_utf8(bytes)
                        .map_err(|_| "the decoded data is not UTF-8 text".to_string())?,
                )
            }
            Function::JsonMerge => {
                let object = |i: usize| {
                    values[i]
                        .as_object()
                        .ok_or_else(|| format!("argument {} must be an object", i + 1))
                };
                if values[2] != Value::Bool(false) {
                    return Err(
                        "only the shallow merge is supported: the third argument must be false"
                            .into(),
                    );
                }
                let mut merged = object(0)?.clone();
                merged.extend(object(1)?.clone());
                Value::Object(merged)
            }
        })
    }
}

/// A string argument within AWS's 10,000-character input limit.
fn limited(text: &str) -> Result<&str, String> {
    if text.chars().count() > MAX_INPUT_CHARS {
        return Err(format!(
            "the input has more than {MAX_INPUT_CHARS} characters"
        ));
    }
    Ok(text)
}

fn integer_value(value: &Value) -> Option<i64> {
    value.as_i64().or_else(|| {
        value
            .as_f64()
            .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
            .map(|f| f as i64)
    })
}

/// Removes the backslash of each escape (`\'`, `\{`, `\}`, `\\`).
fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            out.extend(chars.next());
        } else {
            out.push(c);
        }
    }
    out
}

fn format_template(template: &str, values: &[Value]) -> Result<Value, String> {
    let mut out = String::new();
    let mut values = values.iter();
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            '{' if chars.peek() == Some(&'}') => {
                chars.next();
                let value = values
                    .next()
                    .ok_or("the template has more '{}' than arguments")?;
                match value {
                    Value::String(s) => out.push_str(s),
                    Value::Array(_) | Value::Object(_) => {
                        return Err("arguments must be strings, numbers, booleans or null".into());
                    }
                    other => out.push_str(&other.to_string()),
                }
            }
            '{' | '}' => return Err("unescaped '{' or '}' in the template".into()),
            other => out.push(other),
        }
    }
    if values.next().is_some() {
        return Err("more arguments than '{}' in the template".into());
    }
    Ok(Value::String(out))
}

/// Generates a random version-4 UUID (also used for execution names and task tokens).
pub(crate) fn new_uuid(rng: &mut SmallRng) -> String {
    let mut bytes: [u8; 16] = rng.random();
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = hex::encode(bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

pub(crate) fn hash(data: &str, algorithm: &str) -> Result<String, String> {
    let bytes = data.as_bytes();
    Ok(match algorithm {
        "MD5" => hex::encode(Md5::digest(bytes)),
        "SHA-1" => hex::encode(Sha1::digest(bytes)),
        "SHA-256" => hex::encode(Sha256::digest(bytes)),
        "SHA-384" => hex::encode(Sha384::digest(bytes)),
        "SHA-512" => hex::encode(Sha512::digest(bytes)),
        other => return Err(format!("unknown hash algorithm '{other}'")),
    })
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
}

impl Parser {
    fn skip_spaces(&mut self) {
        while self.chars.get(self.pos).is_some_and(|c| c.is_whitespace()) {
            self.pos += 1;
        }
    }

    fn call(&mut self) -> Result<Intrinsic, String> {
        self.skip_spaces();
        let start = self.pos;
        while self
            .chars
            .get(self.pos)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == '.')
        {
            self.pos += 1;
        }
        let name: String = self.chars[start..self.pos].iter().collect();
        let function = Function::from_name(&name)
            .ok_or_else(|| format!("intrinsic function '{name}' is not supported"))?;
        self.skip_spaces();
        if self.chars.get(self.pos) != Some(&'(') {
            return Err(format!("expected '(' after {name}"));
        }
        self.pos += 1;
        let mut args = Vec::new();
        self.skip_spaces();
        if self.chars.get(self.pos) == Some(&')') {
            self.pos += 1;
        } else {
            loop {
                args.push(self.arg()?);
                self.skip_spaces();
                match self.chars.get(self.pos) {
                    Some(',') => self.pos += 1,
                    Some(')') => {
                        self.pos += 1;
                        break;
                    }
                    _ => return Err(format!("expected ',' or ')' in {name}")),
                }
            }
        }
        let (min, max) = function.arity();
        if args.len() < min || args.len() > max {
            let expected = match (min, max) {
                (min, max) if min == max => format!("{min}"),
                (min, usize::MAX) => format!("at least {min}"),
                (min, max) => format!("{min} to {max}"),
            };
            return Err(format!(
                "{name} takes {expected} arguments, not {}",
                args.len()
            ));
        }
        if function == Function::Format && !matches!(args.first(), Some(Arg::Text(_))) {
            return Err("States.Format needs a string literal template first".into());
        }
        Ok(Intrinsic {
            function,
            name,
            args,
        })
    }

    fn arg(&mut self) -> Result<Arg, String> {
        self.skip_spaces();
        match self.chars.get(self.pos) {
            Some('\'') => {
                self.pos += 1;
                let start = self.pos;
                loop {
                    match self.chars.get(self.pos) {
                        None => return Err("unterminated string literal".into()),
                        Some('\\') => self.pos += 2,
                        Some('\'') => break,
                        Some(_) => self.pos += 1,
                    }
                }
                let raw: String = self.chars[start..self.pos].iter().collect();
                self.pos += 1;
                Ok(Arg::Text(raw))
            }
            Some('$') => {
                let start = self.pos;
                let mut depth = 0usize;
                let mut quote: Option<char> = None;
                while let Some(&c) = self.chars.get(self.pos) {
                    match (quote, c) {
                        (Some(q), c) if c == q => quote = None,
                        (Some(_), _) => {}
                        (None, '\'' | '"') => quote = Some(c),
                        (None, '[') => depth += 1,
                        (None, ']') => depth = depth.saturating_sub(1),
                        (None, ',' | ')') if depth == 0 => break,
                        (None, c) if c.is_whitespace() && depth == 0 => break,
                        _ => {}
                    }
                    self.pos += 1;
                }
                let text: String = self.chars[start..self.pos].iter().collect();
                Path::parse(&text)
                    .map(Arg::Path)
                    .map_err(|PathError { path, reason }| {
                        format!("invalid path '{path}': {reason}")
                    })
            }
            Some(c) if c.is_ascii_alphabetic() => {
                let start = self.pos;
                while self
                    .chars
                    .get(self.pos)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == '.')
                {
                    self.pos += 1;
                }
                let word: String = self.chars[start..self.pos].iter().collect();
                match word.as_str() {
                    "true" => Ok(Arg::Literal(Value::Bool(true))),
                    "false" => Ok(Arg::Literal(Value::Bool(false))),
                    "null" => Ok(Arg::Literal(Value::Null)),
                    _ => {
                        self.pos = start;
                        self.call().map(Arg::Call)
                    }
                }
            }
            Some(c) if c.is_ascii_digit() || *c == '-' => {
                let start = self.pos;
                while self
                    .chars
                    .get(self.pos)
                    .is_some_and(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'))
                {
                    self.pos += 1;
                }
                let text: String = self.chars[start..self.pos].iter().collect();
                serde_json::from_str::<Value>(&text)
                    .ok()
                    .filter(Value::is_number)
                    .map(Arg::Literal)
                    .ok_or_else(|| format!("'{text}' is not a number"))
            }
            _ => Err(format!("unexpected argument at position {}", self.pos)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use serde_json::json;

    fn eval(call: &str, input: Value) -> Result<Value, IntrinsicError> {
        let mut rng = SmallRng::seed_from_u64(7);
        let vars = serde_json::Map::new();
        let roots = Roots {
            context: &json!({}),
            vars: &vars,
        };
        Intrinsic::parse(call)
            .unwrap()
            .eval(&input, roots, &mut rng)
    }

    // Expected values are the examples of the Step Functions intrinsic-functions reference.
    #[test]
    fn format_interpolates_and_escapes() {
        assert_eq!(
            eval(
                "States.Format('Hello, my name is {}.', $.name)",
                json!({"name": "Arnav"})
            ),
            Ok(json!("Hello, my name is Arnav."))
        );
        assert_eq!(
            eval("States.Format('\\{{}\\} it\\'s {}', 1, true)", json!({})),
            Ok(json!("{1} it's true"))
        );
        assert!(eval("States.Format('{} {}', 1)", json!({})).is_err());
        assert!(eval("States.Format('{}', 1, 2)", json!({})).is_err());
    }

    #[test]
    fn json_conversions() {
        assert_eq!(
            eval(
                "States.StringToJson($.someString)",
                json!({"someString": "{\"number\": 20}"})
            ),
            Ok(json!({"number": 20}))
        );
        assert_eq!(
            eval(
                "States.JsonToString($.someJson)",
                json!({"someJson": {"name": "Foo", "zebra": "stripe"}})
            ),
            Ok(json!("{\"name\":\"Foo\",\"zebra\":\"stripe\"}"))
        );
        assert!(eval("States.StringToJson('nope')", json!({})).is_err());
    }

    #[test]
    fn arrays() {
        assert_eq!(
            eval(
                "States.Array('Foo', 2020, $.someJson, null)",
                json!({"someJson": {"random": "abcdefg"}})
            ),
            Ok(json!(["Foo", 2020, {"random": "abcdefg"}, null]))
        );
        let input = json!({"inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9], "index": 5});
        assert_eq!(
            eval("States.ArrayGetItem($.inputArray, $.index)", input.clone()),
            Ok(json!(6))
        );
        assert_eq!(
            eval("States.ArrayLength($.inputArray)", input.clone()),
            Ok(json!(9))
        );
        assert!(eval("States.ArrayGetItem($.inputArray, 9)", input).is_err());
        assert_eq!(
            eval("States.ArrayRange(1, 9, 2)", json!({})),
            Ok(json!([1, 3, 5, 7, 9]))
        );
        assert_eq!(
            eval("States.ArrayUnique(States.Array(1, 2, 1))", json!({})),
            Ok(json!([1, 2]))
        );
        assert_eq!(
            eval("States.ArrayContains(States.Array(1, 2), 2)", json!({})),
            Ok(json!(true))
        );
    }

    #[test]
    fn math_hash_uuid_split() {
        assert_eq!(
            eval(
                "States.MathAdd($.value1, $.step)",
                json!({"value1": 111, "step": -1})
            ),
            Ok(json!(110))
        );
        assert_eq!(
            eval(
                "States.Hash($.Data, $.Algorithm)",
                json!({"Data": "input data", "Algorithm": "SHA-1"})
            ),
            Ok(json!("aaff4a450a104cd177d28d18d74485e8cae074b7"))
        );
        assert!(eval("States.Hash('x', 'CRC32')", json!({})).is_err());
        let uuid = eval("States.UUID()", json!({})).unwrap();
        let uuid = uuid.as_str().unwrap();
        assert_eq!(uuid.len(), 36);
        assert_eq!(&uuid[14..15], "4");
        assert_eq!(
            eval("States.StringSplit($.s, ',')", json!({"s": "1,2,3"})),
            Ok(json!(["1", "2", "3"]))
        );
    }

    #[test]
    fn parse_refusals() {
        for bad in [
            "States.Base64Encode()",
            "States.JsonMerge($.a, $.b)",
            "States.Nope(1)",
            "States.UUID(1)",
            "States.Format($.a)",
            "States.ArrayLength($.a",
            "States.MathAdd(1, 2) trailing",
        ] {
            assert!(Intrinsic::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn partition_base64_merge() {
        assert_eq!(
            eval(
                "States.ArrayPartition($.inputArray, 4)",
                json!({"inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9]})
            ),
            Ok(json!([[1, 2, 3, 4], [5, 6, 7, 8], [9]]))
        );
        assert!(eval("States.ArrayPartition(States.Array(1), 0)", json!({})).is_err());
        assert_eq!(
            eval(
                "States.Base64Encode($.input)",
                json!({"input": "Data to encode"})
            ),
            Ok(json!("RGF0YSB0byBlbmNvZGU="))
        );
        assert_eq!(
            eval(
                "States.Base64Decode($.base64)",
                json!({"base64": "RGF0YSB0byBlbmNvZGU="})
            ),
            Ok(json!("Data to encode"))
        );
        assert!(matches!(
            eval("States.Base64Decode('%%%')", json!({})),
            Err(IntrinsicError::Failed(_))
        ));
        let long = "x".repeat(10_001);
        assert!(eval("States.Base64Encode($.s)", json!({ "s": long })).is_err());
        assert!(eval("States.Hash($.s, 'MD5')", json!({ "s": long })).is_err());
        let input = json!({"json1": {"a": {"a1": 1, "a2": 2}, "b": 2},
                           "json2": {"a": {"a3": 1, "a4": 2}, "c": 3}});
        assert_eq!(
            eval("States.JsonMerge($.json1, $.json2, false)", input.clone()),
            Ok(json!({"a": {"a3": 1, "a4": 2}, "b": 2, "c": 3}))
        );
        assert!(eval("States.JsonMerge($.json1, $.json2, true)", input).is_err());
    }

    #[test]
    fn missing_paths_and_call_limit() {
        assert_eq!(
            eval("States.ArrayLength($.nope)", json!({})),
            Err(IntrinsicError::PathNotFound("$.nope".into()))
        );
        let nested = (0..10).fold("1".to_string(), |inner, _| format!("States.Array({inner})"));
        assert!(Intrinsic::parse(&nested).is_ok());
        assert!(Intrinsic::parse(&format!("States.Array({nested})")).is_err());
    }
}
