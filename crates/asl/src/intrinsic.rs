//! Intrinsic functions (`States.Format(...)` and friends), parsed when the definition is loaded.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use md5::Md5;
use rand::Rng;
use rand::rngs::SmallRng;
use serde_json::Value;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha384, Sha512};
use thiserror::Error;

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
    Failed(IntrinsicFailure),
}

/// A function that refused its arguments; its text is the execution's cause.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{function}: {reason}")]
pub(crate) struct IntrinsicFailure {
    pub(crate) function: String,
    pub(crate) reason: Reason,
}

/// Why a function refused its arguments.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub(crate) enum Reason {
    /// `position` counts from 1.
    #[error("argument {position} must be {expected}")]
    ArgumentType {
        position: usize,
        expected: ArgumentKind,
    },
    #[error("the template must be a string literal")]
    TemplateNotLiteral,
    #[error("the template has more '{{}}' than arguments")]
    TooFewArguments,
    #[error("more arguments than '{{}}' in the template")]
    TooManyArguments,
    #[error("arguments must be strings, numbers, booleans or null")]
    NotFormattable,
    #[error("unescaped '{{' or '}}' in the template")]
    UnescapedBrace,
    /// The parser's message.
    #[error("argument is not JSON: {0}")]
    NotJson(String),
    #[error("index {0} is out of range")]
    IndexOutOfRange(i64),
    #[error("the step must not be 0")]
    ZeroStep,
    #[error("a range has at most {max} items", max = MAX_RANGE_ITEMS)]
    RangeTooLarge,
    #[error("the sum overflows")]
    Overflow,
    /// `States.MathRandom`'s start is not below its end.
    #[error("the start must be below the end")]
    EmptyRange,
    #[error("the input has more than {max} characters", max = MAX_INPUT_CHARS)]
    InputTooLong,
    #[error("unknown hash algorithm '{0}'")]
    UnknownHashAlgorithm(String),
    #[error("the chunk size must be positive, not {0}")]
    ChunkSize(i64),
    #[error("the argument is not base64: {0}")]
    NotBase64(base64::DecodeError),
    #[error("the decoded data is not UTF-8 text")]
    NotUtf8,
    #[error("only the shallow merge is supported: the third argument must be false")]
    DeepMerge,
}

/// The JSON type an argument must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ArgumentKind {
    String,
    Array,
    Integer,
    Object,
}

impl fmt::Display for ArgumentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ArgumentKind::String => "a string",
            ArgumentKind::Array => "an array",
            ArgumentKind::Integer => "an integer",
            ArgumentKind::Object => "an object",
        })
    }
}

/// Why a call does not parse (when the definition is loaded).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub(crate) enum IntrinsicParseError {
    #[error("intrinsic function '{0}' is not supported")]
    UnknownFunction(String),
    #[error("expected '(' after {0}")]
    MissingOpenParen(String),
    #[error("expected ',' or ')' in {0}")]
    MissingSeparator(String),
    #[error("{function} takes {takes} arguments, not {given}")]
    ArgumentCount {
        function: String,
        takes: Arity,
        given: usize,
    },
    #[error("States.Format needs a string literal template first")]
    FormatTemplate,
    #[error("unterminated string literal")]
    UnterminatedString,
    #[error(transparent)]
    Path(#[from] PathError),
    #[error("'{0}' is not a number")]
    NotANumber(String),
    #[error("unexpected argument at position {0}")]
    UnexpectedArgument(usize),
    #[error("unexpected text after the call at position {0}")]
    TrailingText(usize),
    #[error("{0} intrinsic calls in one field; AWS allows at most {max}", max = MAX_CALLS_PER_FIELD)]
    TooManyCalls(usize),
}

/// How many arguments a function takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Arity {
    min: usize,
    /// `usize::MAX`: no limit.
    max: usize,
}

impl fmt::Display for Arity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.min, self.max) {
            (min, max) if min == max => write!(f, "{min}"),
            (min, usize::MAX) => write!(f, "at least {min}"),
            (min, max) => write!(f, "{min} to {max}"),
        }
    }
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

    fn arity(self) -> Arity {
        let (min, max) = match self {
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
        };
        Arity { min, max }
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
    pub(crate) fn parse(text: &str) -> Result<Intrinsic, IntrinsicParseError> {
        let mut parser = Parser {
            chars: text.chars().collect(),
            pos: 0,
        };
        let call = parser.call()?;
        parser.skip_spaces();
        if parser.pos != parser.chars.len() {
            return Err(IntrinsicParseError::TrailingText(parser.pos));
        }
        if call.calls() > MAX_CALLS_PER_FIELD {
            return Err(IntrinsicParseError::TooManyCalls(call.calls()));
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
        self.apply(&values, rng).map_err(|reason| {
            IntrinsicError::Failed(IntrinsicFailure {
                function: self.name.clone(),
                reason,
            })
        })
    }

    fn apply(&self, values: &[Value], rng: &mut SmallRng) -> Result<Value, Reason> {
        let wrong = |i: usize, expected| Reason::ArgumentType {
            position: i + 1,
            expected,
        };
        let string = |i: usize| {
            values[i]
                .as_str()
                .ok_or_else(|| wrong(i, ArgumentKind::String))
        };
        let array = |i: usize| {
            values[i]
                .as_array()
                .ok_or_else(|| wrong(i, ArgumentKind::Array))
        };
        let integer =
            |i: usize| integer_value(&values[i]).ok_or_else(|| wrong(i, ArgumentKind::Integer));
        Ok(match self.function {
            Function::Format => {
                let Some(Arg::Text(template)) = self.args.first() else {
                    return Err(Reason::TemplateNotLiteral);
                };
                format_template(template, &values[1..])?
            }
            Function::StringToJson => {
                serde_json::from_str(string(0)?).map_err(|e| Reason::NotJson(e.to_string()))?
            }
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
                    .ok_or(Reason::IndexOutOfRange(index))?
            }
            Function::ArrayContains => Value::Bool(array(0)?.contains(&values[1])),
            Function::ArrayRange => {
                let (start, end, step) = (integer(0)?, integer(1)?, integer(2)?);
                if step == 0 {
                    return Err(Reason::ZeroStep);
                }
                let mut items = Vec::new();
                let mut n = start;
                while (step > 0 && n <= end) || (step < 0 && n >= end) {
                    if items.len() >= MAX_RANGE_ITEMS {
                        return Err(Reason::RangeTooLarge);
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
                Value::from(a.checked_add(b).ok_or(Reason::Overflow)?)
            }
            Function::MathRandom => {
                let (low, high) = (integer(0)?, integer(1)?);
                if low >= high {
                    return Err(Reason::EmptyRange);
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
                    .ok_or(Reason::ChunkSize(size))?;
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
                    .map_err(Reason::NotBase64)?;
                Value::String(String::from_utf8(bytes).map_err(|_| Reason::NotUtf8)?)
            }
            Function::JsonMerge => {
                let object = |i: usize| {
                    values[i]
                        .as_object()
                        .ok_or_else(|| wrong(i, ArgumentKind::Object))
                };
                if values[2] != Value::Bool(false) {
                    return Err(Reason::DeepMerge);
                }
                let mut merged = object(0)?.clone();
                merged.extend(object(1)?.clone());
                Value::Object(merged)
            }
        })
    }
}

/// A string argument within AWS's 10,000-character input limit.
fn limited(text: &str) -> Result<&str, Reason> {
    if text.chars().count() > MAX_INPUT_CHARS {
        return Err(Reason::InputTooLong);
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

fn format_template(template: &str, values: &[Value]) -> Result<Value, Reason> {
    let mut out = String::new();
    let mut values = values.iter();
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            '{' if chars.peek() == Some(&'}') => {
                chars.next();
                let value = values.next().ok_or(Reason::TooFewArguments)?;
                match value {
                    Value::String(s) => out.push_str(s),
                    Value::Array(_) | Value::Object(_) => return Err(Reason::NotFormattable),
                    other => out.push_str(&other.to_string()),
                }
            }
            '{' | '}' => return Err(Reason::UnescapedBrace),
            other => out.push(other),
        }
    }
    if values.next().is_some() {
        return Err(Reason::TooManyArguments);
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

/// The hex digest of `data` by `algorithm` (MD5, SHA-1, SHA-256, SHA-384 or SHA-512), for
/// `States.Hash` and JSONata's `$hash`.
pub(crate) fn hash(data: &str, algorithm: &str) -> Result<String, Reason> {
    let bytes = data.as_bytes();
    Ok(match algorithm {
        "MD5" => hex::encode(Md5::digest(bytes)),
        "SHA-1" => hex::encode(Sha1::digest(bytes)),
        "SHA-256" => hex::encode(Sha256::digest(bytes)),
        "SHA-384" => hex::encode(Sha384::digest(bytes)),
        "SHA-512" => hex::encode(Sha512::digest(bytes)),
        other => return Err(Reason::UnknownHashAlgorithm(other.to_string())),
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

    fn call(&mut self) -> Result<Intrinsic, IntrinsicParseError> {
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
        let Some(function) = Function::from_name(&name) else {
            return Err(IntrinsicParseError::UnknownFunction(name));
        };
        self.skip_spaces();
        if self.chars.get(self.pos) != Some(&'(') {
            return Err(IntrinsicParseError::MissingOpenParen(name));
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
                    _ => return Err(IntrinsicParseError::MissingSeparator(name)),
                }
            }
        }
        let takes = function.arity();
        if !(takes.min..=takes.max).contains(&args.len()) {
            return Err(IntrinsicParseError::ArgumentCount {
                function: name,
                takes,
                given: args.len(),
            });
        }
        if function == Function::Format && !matches!(args.first(), Some(Arg::Text(_))) {
            return Err(IntrinsicParseError::FormatTemplate);
        }
        Ok(Intrinsic {
            function,
            name,
            args,
        })
    }

    fn arg(&mut self) -> Result<Arg, IntrinsicParseError> {
        self.skip_spaces();
        match self.chars.get(self.pos) {
            Some('\'') => {
                self.pos += 1;
                let start = self.pos;
                loop {
                    match self.chars.get(self.pos) {
                        None => return Err(IntrinsicParseError::UnterminatedString),
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
                Ok(Arg::Path(Path::parse(&text)?))
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
                    .ok_or(IntrinsicParseError::NotANumber(text))
            }
            _ => Err(IntrinsicParseError::UnexpectedArgument(self.pos)),
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

    /// Why `call` failed on its arguments.
    fn reason(call: &str, input: Value) -> Reason {
        match eval(call, input) {
            Err(IntrinsicError::Failed(failure)) => failure.reason,
            other => panic!("{call} gave {other:?}"),
        }
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
        assert_eq!(
            eval("States.Hash('x', 'CRC32')", json!({})),
            Err(IntrinsicError::Failed(IntrinsicFailure {
                function: "States.Hash".into(),
                reason: Reason::UnknownHashAlgorithm("CRC32".into())
            }))
        );
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
        assert_eq!(
            Intrinsic::parse("States.Nope(1)"),
            Err(IntrinsicParseError::UnknownFunction("States.Nope".into()))
        );
        let count = Intrinsic::parse("States.MathRandom(1)").unwrap_err();
        assert_eq!(
            count,
            IntrinsicParseError::ArgumentCount {
                function: "States.MathRandom".into(),
                takes: Arity { min: 2, max: 3 },
                given: 1
            }
        );
        assert_eq!(
            count.to_string(),
            "States.MathRandom takes 2 to 3 arguments, not 1"
        );
        assert!(matches!(
            Intrinsic::parse("States.ArrayLength($.a[)"),
            Err(IntrinsicParseError::Path(_))
        ));
    }

    #[test]
    fn failures_name_the_reason() {
        assert_eq!(
            reason("States.ArrayLength($.s)", json!({"s": "x"})),
            Reason::ArgumentType {
                position: 1,
                expected: ArgumentKind::Array
            }
        );
        assert_eq!(
            reason("States.ArrayRange(1, 9, 0)", json!({})),
            Reason::ZeroStep
        );
        assert_eq!(
            reason("States.ArrayRange(1, 5000, 1)", json!({})),
            Reason::RangeTooLarge
        );
        assert!(matches!(
            reason("States.Base64Decode('%%%')", json!({})),
            Reason::NotBase64(_)
        ));
        assert_eq!(
            reason("States.Base64Decode('/w==')", json!({})),
            Reason::NotUtf8
        );
        let failure = eval("States.Format('{}')", json!({})).unwrap_err();
        let IntrinsicError::Failed(failure) = failure else {
            panic!("{failure:?}");
        };
        assert_eq!(
            failure.to_string(),
            "States.Format: the template has more '{}' than arguments"
        );
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
