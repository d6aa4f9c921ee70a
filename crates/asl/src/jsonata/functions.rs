//! The function library: JSONata's own functions that AWS documents and the ones Step Functions
//! adds (`$partition`, `$range`, `$hash`, `$random` with a seed, `$uuid`, `$parse`).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

use super::JsonataError;
use super::eval::{Evaluator, finite, lookup, to_text};
use super::value::{Function, J, deep_equal, js_number, stringify, truthy};
use crate::intrinsic::{hash, new_uuid};

/// Every function this evaluator implements.
const FUNCTIONS: &[&str] = &[
    // strings
    "string",
    "length",
    "substring",
    "substringBefore",
    "substringAfter",
    "uppercase",
    "lowercase",
    "trim",
    "pad",
    "contains",
    "split",
    "join",
    "replace",
    "base64encode",
    "base64decode",
    "encodeUrlComponent",
    "encodeUrl",
    "decodeUrlComponent",
    "decodeUrl",
    // numbers
    "number",
    "abs",
    "floor",
    "ceil",
    "round",
    "power",
    "sqrt",
    "random",
    "formatBase",
    // aggregation
    "sum",
    "max",
    "min",
    "average",
    "count",
    // booleans
    "boolean",
    "not",
    "exists",
    // arrays
    "append",
    "sort",
    "reverse",
    "shuffle",
    "distinct",
    "zip",
    // objects
    "keys",
    "lookup",
    "spread",
    "merge",
    "each",
    "sift",
    "type",
    "error",
    "assert",
    // higher order
    "map",
    "filter",
    "single",
    "reduce",
    // time
    "now",
    "millis",
    "fromMillis",
    "toMillis",
    // added by Step Functions
    "partition",
    "range",
    "hash",
    "uuid",
    "parse",
];

/// JSONata functions deliberately left out, refused when an expression is parsed.
pub(crate) const REFUSED: &[(&str, &str)] = &[
    ("match", "regular expressions are not supported"),
    ("formatNumber", "picture strings are not supported"),
    ("formatInteger", "picture strings are not supported"),
    ("parseInteger", "picture strings are not supported"),
    ("eval", "Step Functions does not allow $eval; use $parse"),
    ("clone", "not supported"),
];

pub(crate) fn exists(name: &str) -> bool {
    FUNCTIONS.contains(&name)
}

pub(crate) fn name(name: &str) -> &'static str {
    FUNCTIONS
        .iter()
        .find(|f| **f == name)
        .copied()
        .unwrap_or("")
}

/// Functions that take the context value when the first argument is left out, with the number
/// of arguments below which it is inserted.
fn context_arity(name: &str) -> Option<usize> {
    Some(match name {
        "string" | "length" | "uppercase" | "lowercase" | "trim" | "number" | "boolean" | "not"
        | "base64encode" | "base64decode" | "encodeUrlComponent" | "encodeUrl"
        | "decodeUrlComponent" | "decodeUrl" | "keys" | "spread" | "type" | "exists" => 1,
        "substring" | "substringBefore" | "substringAfter" | "pad" | "contains" | "split" => 2,
        _ => return None,
    })
}

fn signature_error(function: &str, position: usize) -> JsonataError {
    JsonataError::new(
        "T0410",
        format!("argument {position} of function ${function} does not match its signature"),
    )
}

struct Args<'a> {
    function: &'a str,
    values: Vec<J>,
}

impl Args<'_> {
    fn get(&self, i: usize) -> &J {
        self.values.get(i).unwrap_or(&J::Undef)
    }

    fn string(&self, i: usize) -> Result<Option<&str>, JsonataError> {
        match self.get(i) {
            J::Undef => Ok(None),
            J::Str(s) => Ok(Some(s)),
            _ => Err(signature_error(self.function, i + 1)),
        }
    }

    fn number(&self, i: usize) -> Result<Option<f64>, JsonataError> {
        match self.get(i) {
            J::Undef => Ok(None),
            J::Num(n) => Ok(Some(*n)),
            _ => Err(signature_error(self.function, i + 1)),
        }
    }

    /// An array argument; a single value counts as an array of it.
    fn array(&self, i: usize) -> Option<Vec<J>> {
        match self.get(i) {
            J::Undef => None,
            J::Arr(items, _) => Some(items.clone()),
            other => Some(vec![other.clone()]),
        }
    }

    fn function(&self, i: usize) -> Result<&Function, JsonataError> {
        match self.get(i) {
            J::Fun(f) => Ok(f),
            _ => Err(signature_error(self.function, i + 1)),
        }
    }

    fn count(&self, max: usize) -> Result<(), JsonataError> {
        if self.values.len() > max {
            return Err(JsonataError::new(
                "T0410",
                format!("function ${} takes at most {max} arguments", self.function),
            ));
        }
        Ok(())
    }
}

pub(crate) fn call(
    ev: &Evaluator<'_>,
    name: &str,
    mut values: Vec<J>,
    input: &J,
) -> Result<J, JsonataError> {
    if let Some(arity) = context_arity(name)
        && values.len() < arity
    {
        values.insert(0, input.clone());
    }
    let a = Args {
        function: name,
        values,
    };
    Ok(match name {
        "string" => {
            a.count(2)?;
            let pretty = match a.get(1) {
                J::Undef => false,
                J::Bool(b) => *b,
                _ => return Err(signature_error(name, 2)),
            };
            match a.get(0) {
                J::Undef => J::Undef,
                J::Str(s) => J::Str(s.clone()),
                J::Fun(_) => J::Str(String::new()),
                J::Num(n) => {
                    finite(*n)?;
                    J::Str(to_text(&J::Num(*n)))
                }
                other => J::Str(stringify(other, pretty)),
            }
        }
        "length" => {
            a.count(1)?;
            match a.string(0)? {
                None => J::Undef,
                Some(s) => J::Num(s.chars().count() as f64),
            }
        }
        "substring" => {
            a.count(3)?;
            let Some(s) = a.string(0)? else {
                return Ok(J::Undef);
            };
            let start = a.number(1)?.ok_or_else(|| signature_error(name, 2))?;
            J::Str(substring(s, start, a.number(2)?))
        }
        "substringBefore" | "substringAfter" => {
            a.count(2)?;
            let Some(s) = a.string(0)? else {
                return Ok(J::Undef);
            };
            let chars = a.string(1)?.ok_or_else(|| signature_error(name, 2))?;
            J::Str(match s.find(chars) {
                None => s.to_string(),
                Some(i) if name == "substringBefore" => s[..i].to_string(),
                Some(i) => s[i + chars.len()..].to_string(),
            })
        }
        "uppercase" | "lowercase" => {
            a.count(1)?;
            match a.string(0)? {
                None => J::Undef,
                Some(s) if name == "uppercase" => J::Str(s.to_uppercase()),
                Some(s) => J::Str(s.to_lowercase()),
            }
        }
        "trim" => {
            a.count(1)?;
            match a.string(0)? {
                None => J::Undef,
                Some(s) => J::Str(
                    s.split([' ', '\t', '\n', '\r'])
                        .filter(|w| !w.is_empty())
                        .collect::<Vec<_>>()
                        .join(" "),
                ),
            }
        }
        "pad" => {
            a.count(3)?;
            let Some(s) = a.string(0)? else {
                return Ok(J::Undef);
            };
            let width = a.number(1)?.ok_or_else(|| signature_error(name, 2))?;
            let fill = match a.string(2)? {
                None | Some("") => " ",
                Some(f) => f,
            };
            J::Str(pad(s, width, fill))
        }
        "contains" => {
            a.count(2)?;
            let Some(s) = a.string(0)? else {
                return Ok(J::Undef);
            };
            let pattern = a.string(1)?.ok_or_else(|| signature_error(name, 2))?;
            J::Bool(s.contains(pattern))
        }
        "split" => {
            a.count(3)?;
            let Some(s) = a.string(0)? else {
                return Ok(J::Undef);
            };
            let separator = a.string(1)?.ok_or_else(|| signature_error(name, 2))?;
            let limit = match a.number(2)? {
                None => usize::MAX,
                Some(n) if n < 0.0 => {
                    return Err(JsonataError::new(
                        "D3020",
                        "the limit of $split must not be negative",
                    ));
                }
                Some(n) => n.floor() as usize,
            };
            let parts: Vec<J> = if separator.is_empty() {
                s.chars().map(|c| J::Str(c.to_string())).collect()
            } else {
                s.split(separator).map(|p| J::Str(p.to_string())).collect()
            };
            J::array(parts.into_iter().take(limit).collect())
        }
        "join" => {
            a.count(2)?;
            let Some(items) = a.array(0) else {
                return Ok(J::Undef);
            };
            let separator = a.string(1)?.unwrap_or("");
            let mut texts = Vec::with_capacity(items.len());
            for item in &items {
                match item {
                    J::Str(s) => texts.push(s.as_str()),
                    _ => return Err(signature_error(name, 1)),
                }
            }
            J::Str(texts.join(separator))
        }
        "replace" => {
            a.count(4)?;
            let Some(s) = a.string(0)? else {
                return Ok(J::Undef);
            };
            let pattern = a.string(1)?.ok_or_else(|| signature_error(name, 2))?;
            if pattern.is_empty() {
                return Err(JsonataError::new(
                    "D3010",
                    "the pattern of $replace must not be empty",
                ));
            }
            let replacement = match a.get(2) {
                J::Str(r) => r.as_str(),
                J::Fun(_) => {
                    return Err(JsonataError::unsupported(
                        "$replace with a function replacement",
                    ));
                }
                _ => return Err(signature_error(name, 3)),
            };
            let limit = match a.number(3)? {
                None => usize::MAX,
                Some(n) if n < 0.0 => {
                    return Err(JsonataError::new(
                        "D3011",
                        "the limit of $replace must not be negative",
                    ));
                }
                Some(n) => n.floor() as usize,
            };
            J::Str(s.replacen(pattern, replacement, limit))
        }
        "base64encode" => {
            a.count(1)?;
            match a.string(0)? {
                None => J::Undef,
                Some(s) => J::Str(BASE64.encode(s)),
            }
        }
        "base64decode" => {
            a.count(1)?;
            match a.string(0)? {
                None => J::Undef,
                Some(s) => {
                    let bytes = BASE64
                        .decode(s)
                        .map_err(|e| JsonataError::new("D3137", format!("not base64: {e}")))?;
                    J::Str(String::from_utf8_lossy(&bytes).into_owned())
                }
            }
        }
        "encodeUrlComponent" | "encodeUrl" => {
            a.count(1)?;
            match a.string(0)? {
                None => J::Undef,
                Some(s) => J::Str(percent_encode(s, name == "encodeUrl")),
            }
        }
        "decodeUrlComponent" | "decodeUrl" => {
            a.count(1)?;
            match a.string(0)? {
                None => J::Undef,
                Some(s) => J::Str(
                    percent_decode(s)
                        .ok_or_else(|| JsonataError::new("D3140", "malformed URL escape"))?,
                ),
            }
        }
        "number" => {
            a.count(1)?;
            match a.get(0) {
                J::Undef => J::Undef,
                J::Num(n) => J::Num(*n),
                J::Bool(b) => J::Num(if *b { 1.0 } else { 0.0 }),
                J::Str(s) => parse_number(s).ok_or_else(|| {
                    JsonataError::new("D3030", format!("unable to cast \"{s}\" to a number"))
                })?,
                _ => {
                    return Err(JsonataError::new(
                        "D3030",
                        "unable to cast the value to a number",
                    ));
                }
            }
        }
        "abs" | "floor" | "ceil" | "sqrt" => {
            a.count(1)?;
            let Some(n) = a.number(0)? else {
                return Ok(J::Undef);
            };
            match name {
                "abs" => J::Num(n.abs()),
                "floor" => J::Num(n.floor()),
                "ceil" => J::Num(n.ceil()),
                _ if n < 0.0 => {
                    return Err(JsonataError::new(
                        "D3060",
                        "the square root of a negative number",
                    ));
                }
                _ => J::Num(n.sqrt()),
            }
        }
        "round" => {
            a.count(2)?;
            let Some(n) = a.number(0)? else {
                return Ok(J::Undef);
            };
            J::Num(round_half_even(n, a.number(1)?.unwrap_or(0.0) as i32))
        }
        "power" => {
            a.count(2)?;
            let Some(base) = a.number(0)? else {
                return Ok(J::Undef);
            };
            let exponent = a.number(1)?.ok_or_else(|| signature_error(name, 2))?;
            let n = base.powf(exponent);
            if !n.is_finite() {
                return Err(JsonataError::new("D3061", "the power is out of range"));
            }
            J::Num(n)
        }
        "random" => {
            // Step Functions' $random takes an optional integer seed.
            a.count(1)?;
            match a.get(0) {
                J::Undef => J::Num(ev.rng.borrow_mut().random::<f64>()),
                J::Num(seed) if seed.fract() == 0.0 => {
                    J::Num(SmallRng::seed_from_u64(*seed as i64 as u64).random::<f64>())
                }
                _ => return Err(signature_error(name, 1)),
            }
        }
        "formatBase" => {
            a.count(2)?;
            let Some(n) = a.number(0)? else {
                return Ok(J::Undef);
            };
            let radix = a.number(1)?.unwrap_or(10.0);
            if !(2.0..=36.0).contains(&radix) {
                return Err(JsonataError::new(
                    "D3100",
                    "the radix must be between 2 and 36",
                ));
            }
            J::Str(format_radix(round_half_even(n, 0), radix as u32))
        }
        "sum" | "max" | "min" | "average" => {
            a.count(1)?;
            let Some(items) = a.array(0) else {
                return Ok(J::Undef);
            };
            let mut numbers = Vec::with_capacity(items.len());
            for item in &items {
                match item {
                    J::Num(n) => numbers.push(*n),
                    _ => return Err(signature_error(name, 1)),
                }
            }
            match name {
                "sum" => J::Num(numbers.iter().sum()),
                _ if numbers.is_empty() => J::Undef,
                "max" => J::Num(numbers.iter().copied().fold(f64::NEG_INFINITY, f64::max)),
                "min" => J::Num(numbers.iter().copied().fold(f64::INFINITY, f64::min)),
                _ => J::Num(numbers.iter().sum::<f64>() / numbers.len() as f64),
            }
        }
        "count" => {
            a.count(1)?;
            J::Num(a.array(0).map_or(0, |items| items.len()) as f64)
        }
        "boolean" => {
            a.count(1)?;
            truthy(a.get(0)).map_or(J::Undef, J::Bool)
        }
        "not" => {
            a.count(1)?;
            truthy(a.get(0)).map_or(J::Undef, |b| J::Bool(!b))
        }
        "exists" => {
            a.count(1)?;
            J::Bool(!a.get(0).is_undef())
        }
        "append" => {
            a.count(2)?;
            if a.values.len() < 2 {
                return Err(signature_error(name, a.values.len() + 1));
            }
            append(a.get(0).clone(), a.get(1).clone())
        }
        "reverse" => {
            a.count(1)?;
            match a.array(0) {
                None => J::Undef,
                Some(mut items) => {
                    items.reverse();
                    J::array(items)
                }
            }
        }
        "shuffle" => {
            a.count(1)?;
            match a.array(0) {
                None => J::Undef,
                Some(mut items) => {
                    let mut rng = ev.rng.borrow_mut();
                    for i in (1..items.len()).rev() {
                        let j = rng.random_range(0..=i);
                        items.swap(i, j);
                    }
                    J::array(items)
                }
            }
        }
        "distinct" => {
            a.count(1)?;
            match a.get(0) {
                J::Undef => J::Undef,
                J::Arr(items, _) => {
                    let mut out: Vec<J> = Vec::new();
                    for item in items {
                        if !out.iter().any(|o| deep_equal(o, item)) {
                            out.push(item.clone());
                        }
                    }
                    J::array(out)
                }
                other => other.clone(),
            }
        }
        "zip" => {
            let arrays: Vec<Vec<J>> = a.values.iter().map(|v| v.clone().into_items()).collect();
            let len = arrays.iter().map(Vec::len).min().unwrap_or(0);
            J::array(
                (0..len)
                    .map(|i| J::array(arrays.iter().map(|arr| arr[i].clone()).collect()))
                    .collect(),
            )
        }
        "sort" => {
            a.count(2)?;
            let Some(items) = a.array(0) else {
                return Ok(J::Undef);
            };
            let comparator = match a.get(1) {
                J::Undef => None,
                J::Fun(f) => Some(f.as_ref()),
                _ => return Err(signature_error(name, 2)),
            };
            J::array(sort(ev, items, comparator, input)?)
        }
        "keys" => {
            a.count(1)?;
            let mut keys: Vec<J> = Vec::new();
            for item in a.get(0).clone().into_items() {
                if let J::Obj(pairs) = item {
                    for (k, _) in pairs {
                        if !keys
                            .iter()
                            .any(|existing| matches!(existing, J::Str(e) if *e == k))
                        {
                            keys.push(J::Str(k));
                        }
                    }
                }
            }
            J::seq(keys)
        }
        "lookup" => {
            a.count(2)?;
            let key = a.string(1)?.ok_or_else(|| signature_error(name, 2))?;
            lookup(a.get(0), key)
        }
        "spread" => {
            a.count(1)?;
            match a.get(0) {
                J::Undef => J::Undef,
                J::Arr(items, _) => {
                    let mut out = Vec::new();
                    for item in items {
                        out.extend(spread(item));
                    }
                    J::seq(out)
                }
                J::Obj(_) => J::seq(spread(a.get(0))),
                other => other.clone(),
            }
        }
        "merge" => {
            a.count(1)?;
            let Some(items) = a.array(0) else {
                return Ok(J::Undef);
            };
            let mut merged: Vec<(String, J)> = Vec::new();
            for item in items {
                let J::Obj(pairs) = item else {
                    return Err(signature_error(name, 1));
                };
                for (k, v) in pairs {
                    match merged.iter_mut().find(|(existing, _)| *existing == k) {
                        Some(slot) => slot.1 = v,
                        None => merged.push((k, v)),
                    }
                }
            }
            J::Obj(merged)
        }
        "each" | "sift" => {
            a.count(2)?;
            let pairs = match a.get(0) {
                J::Undef => return Ok(J::Undef),
                J::Obj(pairs) => pairs.clone(),
                _ => return Err(signature_error(name, 1)),
            };
            let function = a.function(1)?;
            let mut each = Vec::new();
            let mut kept = Vec::new();
            for (k, v) in &pairs {
                let args: Vec<J> = [v.clone(), J::Str(k.clone()), a.get(0).clone()]
                    .into_iter()
                    .take(function.arity().max(1))
                    .collect();
                let result = ev.apply(function, args, input)?;
                if name == "each" {
                    if !result.is_undef() {
                        each.push(result);
                    }
                } else if truthy(&result).unwrap_or(false) {
                    kept.push((k.clone(), v.clone()));
                }
            }
            match name {
                "each" => J::seq(each),
                _ if kept.is_empty() => J::Undef,
                _ => J::Obj(kept),
            }
        }
        "type" => {
            a.count(1)?;
            a.get(0).type_name().map_or(J::Undef, |t| J::Str(t.into()))
        }
        "error" => {
            let message = a.string(0)?.unwrap_or("$error() function evaluated");
            return Err(JsonataError::new("D3137", message));
        }
        "assert" => {
            a.count(2)?;
            match a.get(0) {
                J::Bool(true) => J::Undef,
                J::Bool(false) => {
                    let message = a.string(1)?.unwrap_or("$assert() statement failed");
                    return Err(JsonataError::new("D3141", message));
                }
                _ => return Err(signature_error(name, 1)),
            }
        }
        "map" | "filter" => {
            a.count(2)?;
            let Some(items) = a.array(0) else {
                return Ok(J::Undef);
            };
            let function = a.function(1)?;
            let whole = J::array(items.clone());
            let mut out = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let args = higher_order_args(function, item, i, &whole);
                let result = ev.apply(function, args, input)?;
                if name == "map" {
                    if !result.is_undef() {
                        out.push(result);
                    }
                } else if truthy(&result).unwrap_or(false) {
                    out.push(item.clone());
                }
            }
            J::seq(out)
        }
        "single" => {
            a.count(2)?;
            let Some(items) = a.array(0) else {
                return Ok(J::Undef);
            };
            let whole = J::array(items.clone());
            let mut found: Option<J> = None;
            for (i, item) in items.iter().enumerate() {
                let matched = match a.get(1) {
                    J::Undef => true,
                    J::Fun(function) => {
                        let args = higher_order_args(function, item, i, &whole);
                        truthy(&ev.apply(function, args, input)?).unwrap_or(false)
                    }
                    _ => return Err(signature_error(name, 2)),
                };
                if matched {
                    if found.is_some() {
                        return Err(JsonataError::new(
                            "D3138",
                            "more than one value matched in $single",
                        ));
                    }
                    found = Some(item.clone());
                }
            }
            found.ok_or_else(|| JsonataError::new("D3139", "no value matched in $single"))?
        }
        "reduce" => {
            a.count(3)?;
            let Some(items) = a.array(0) else {
                return Ok(J::Undef);
            };
            let function = a.function(1)?;
            if function.arity() < 2 {
                return Err(JsonataError::new(
                    "D3050",
                    "the function of $reduce must take at least 2 arguments",
                ));
            }
            let whole = J::array(items.clone());
            let (mut acc, start) = match a.get(2) {
                J::Undef if items.is_empty() => return Ok(J::Undef),
                J::Undef => (items[0].clone(), 1),
                init => (init.clone(), 0),
            };
            for (i, item) in items.iter().enumerate().skip(start) {
                let args: Vec<J> = [acc, item.clone(), J::Num(i as f64), whole.clone()]
                    .into_iter()
                    .take(function.arity())
                    .collect();
                acc = ev.apply(function, args, input)?;
            }
            acc
        }
        "now" => {
            if !a.values.is_empty() {
                return Err(JsonataError::unsupported("$now with a picture string"));
            }
            J::Str(iso_millis(ev.now))
        }
        "millis" => {
            a.count(0)?;
            J::Num((ev.now.unix_timestamp_nanos() / 1_000_000) as f64)
        }
        "fromMillis" => {
            if a.values.len() > 1 {
                return Err(JsonataError::unsupported(
                    "$fromMillis with a picture string",
                ));
            }
            let Some(ms) = a.number(0)? else {
                return Ok(J::Undef);
            };
            let at = OffsetDateTime::from_unix_timestamp_nanos((ms.floor() as i128) * 1_000_000)
                .map_err(|_| JsonataError::new("D3133", "the time is out of range"))?;
            J::Str(iso_millis(at))
        }
        "toMillis" => {
            if a.values.len() > 1 {
                return Err(JsonataError::unsupported("$toMillis with a picture string"));
            }
            let Some(text) = a.string(0)? else {
                return Ok(J::Undef);
            };
            let at = OffsetDateTime::parse(text, &Rfc3339).map_err(|_| {
                JsonataError::new("D3110", format!("\"{text}\" is not an ISO 8601 timestamp"))
            })?;
            J::Num((at.unix_timestamp_nanos() / 1_000_000) as f64)
        }
        "partition" => {
            a.count(2)?;
            let items = match a.get(0) {
                J::Arr(items, _) => items.clone(),
                _ => return Err(signature_error(name, 1)),
            };
            let size = match a.number(1)? {
                Some(n) if n.fract() == 0.0 && n > 0.0 => n as usize,
                _ => {
                    return Err(JsonataError::new(
                        "States.QueryEvaluationError",
                        "the chunk size of $partition must be a positive integer",
                    ));
                }
            };
            J::array(items.chunks(size).map(|c| J::array(c.to_vec())).collect())
        }
        "range" => {
            a.count(3)?;
            let integer = |i: usize| match a.number(i)? {
                Some(n) if n.fract() == 0.0 => Ok(n),
                _ => Err(signature_error(name, i + 1)),
            };
            let (start, end, step) = (integer(0)?, integer(1)?, integer(2)?);
            if step == 0.0 {
                return Err(JsonataError::new(
                    "States.QueryEvaluationError",
                    "the step of $range must not be 0",
                ));
            }
            let mut out = Vec::new();
            let mut n = start;
            while (step > 0.0 && n <= end) || (step < 0.0 && n >= end) {
                if out.len() >= 1000 {
                    return Err(JsonataError::new(
                        "States.QueryEvaluationError",
                        "$range gives at most 1000 items",
                    ));
                }
                out.push(J::Num(n));
                n += step;
            }
            J::array(out)
        }
        "hash" => {
            a.count(2)?;
            let data = a.string(0)?.ok_or_else(|| signature_error(name, 1))?;
            let algorithm = a.string(1)?.ok_or_else(|| signature_error(name, 2))?;
            J::Str(
                hash(data, algorithm)
                    .map_err(|e| JsonataError::new("States.QueryEvaluationError", e.to_string()))?,
            )
        }
        "uuid" => {
            a.count(0)?;
            J::Str(new_uuid(&mut ev.rng.borrow_mut()))
        }
        "parse" => {
            a.count(1)?;
            let text = a.string(0)?.ok_or_else(|| signature_error(name, 1))?;
            let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
                JsonataError::new(
                    "States.QueryEvaluationError",
                    format!("$parse: not JSON: {e}"),
                )
            })?;
            J::from_json(&value)
        }
        other => {
            return Err(JsonataError::new(
                "T1006",
                format!("${other} is not a function"),
            ));
        }
    })
}

/// The arguments a higher-order function hands on: as many of (value, index, array) as the
/// function takes.
fn higher_order_args(function: &Function, item: &J, index: usize, whole: &J) -> Vec<J> {
    [item.clone(), J::Num(index as f64), whole.clone()]
        .into_iter()
        .take(function.arity().max(1))
        .collect()
}

/// `$append`: undefined on either side gives the other; values are wrapped into arrays.
pub(crate) fn append(a: J, b: J) -> J {
    match (a, b) {
        (J::Undef, b) => b,
        (a, J::Undef) => a,
        (a, b) => {
            let mut items = a.into_items();
            items.extend(b.into_items());
            J::seq(items)
        }
    }
}

fn spread(value: &J) -> Vec<J> {
    match value {
        J::Obj(pairs) => pairs
            .iter()
            .map(|(k, v)| J::Obj(vec![(k.clone(), v.clone())]))
            .collect(),
        other => vec![other.clone()],
    }
}

/// A stable merge sort; the comparator says whether its first argument goes after the second.
fn sort(
    ev: &Evaluator<'_>,
    items: Vec<J>,
    comparator: Option<&Function>,
    input: &J,
) -> Result<Vec<J>, JsonataError> {
    if comparator.is_none() {
        let all_numbers = items.iter().all(|i| matches!(i, J::Num(_)));
        let all_strings = items.iter().all(|i| matches!(i, J::Str(_)));
        if !all_numbers && !all_strings {
            return Err(JsonataError::new(
                "D3070",
                "$sort without a function sorts only numbers or only strings",
            ));
        }
    }
    let after = |x: &J, y: &J| -> Result<bool, JsonataError> {
        match comparator {
            Some(f) => {
                Ok(truthy(&ev.apply(f, vec![x.clone(), y.clone()], input)?).unwrap_or(false))
            }
            None => Ok(match (x, y) {
                (J::Num(a), J::Num(b)) => a > b,
                (J::Str(a), J::Str(b)) => a.encode_utf16().cmp(b.encode_utf16()).is_gt(),
                _ => false,
            }),
        }
    };
    merge_sort(items, &after)
}

fn merge_sort(
    items: Vec<J>,
    after: &dyn Fn(&J, &J) -> Result<bool, JsonataError>,
) -> Result<Vec<J>, JsonataError> {
    if items.len() <= 1 {
        return Ok(items);
    }
    let mut left = items;
    let right = left.split_off(left.len() / 2);
    let left = merge_sort(left, after)?;
    let right = merge_sort(right, after)?;
    let mut out = Vec::with_capacity(left.len() + right.len());
    let (mut l, mut r) = (left.into_iter().peekable(), right.into_iter().peekable());
    while let (Some(x), Some(y)) = (l.peek(), r.peek()) {
        if after(x, y)? {
            out.extend(r.next());
        } else {
            out.extend(l.next());
        }
    }
    out.extend(l);
    out.extend(r);
    Ok(out)
}

/// JavaScript's `substring` rules as JSONata applies them, on code points.
fn substring(s: &str, start: f64, length: Option<f64>) -> String {
    let chars: Vec<char> = s.chars().collect();
    let len = chars.len() as f64;
    let mut start = start.trunc();
    if len + start < 0.0 {
        start = 0.0;
    }
    let begin = if start < 0.0 {
        len + start
    } else {
        start.min(len)
    };
    let end = match length {
        None => len,
        Some(l) if l <= 0.0 => return String::new(),
        Some(l) => (begin + l.trunc()).min(len),
    };
    if end <= begin {
        return String::new();
    }
    chars[begin as usize..end as usize].iter().collect()
}

fn pad(s: &str, width: f64, fill: &str) -> String {
    let len = s.chars().count();
    let target = width.abs().trunc() as usize;
    if target <= len {
        return s.to_string();
    }
    let padding: String = fill.chars().cycle().take(target - len).collect();
    if width > 0.0 {
        format!("{s}{padding}")
    } else {
        format!("{padding}{s}")
    }
}

/// JSONata's number syntax (JSON numbers, with surrounding whitespace allowed).
fn parse_number(s: &str) -> Option<J> {
    let t = s;
    let json_number = !t.is_empty()
        && serde_json::from_str::<serde_json::Value>(t)
            .ok()
            .is_some_and(|v| v.is_number());
    if !json_number {
        return None;
    }
    t.parse::<f64>().ok().filter(|n| n.is_finite()).map(J::Num)
}

/// Round half to even at `precision` decimal places, as JSONata does (through the decimal
/// representation, so 2.675 rounds as written).
fn round_half_even(n: f64, precision: i32) -> f64 {
    let shift = |value: f64, by: i32| -> f64 {
        let text = js_number(value);
        let (mantissa, exp) = match text.split_once('e') {
            Some((m, e)) => (m.to_string(), e.parse::<i32>().unwrap_or(0)),
            None => (text, 0),
        };
        format!("{mantissa}e{}", exp + by).parse().unwrap_or(value)
    };
    let shifted = if precision != 0 {
        shift(n, precision)
    } else {
        n
    };
    let mut result = (shifted + 0.5).floor();
    if (result - shifted).abs() == 0.5 && result % 2.0 != 0.0 {
        result -= 1.0;
    }
    if precision != 0 {
        result = shift(result, -precision);
    }
    if result == 0.0 { 0.0 } else { result }
}

fn format_radix(n: f64, radix: u32) -> String {
    let negative = n < 0.0;
    let mut value = n.abs() as u128;
    if value == 0 {
        return "0".into();
    }
    let mut digits = Vec::new();
    while value > 0 {
        digits
            .push(std::char::from_digit((value % u128::from(radix)) as u32, radix).unwrap_or('0'));
        value /= u128::from(radix);
    }
    if negative {
        digits.push('-');
    }
    digits.iter().rev().collect()
}

/// `encodeURIComponent` / `encodeURI`.
fn percent_encode(s: &str, keep_reserved: bool) -> String {
    let mut out = String::new();
    for c in s.chars() {
        let unreserved = c.is_ascii_alphanumeric() || "-_.!~*'()".contains(c);
        let reserved = keep_reserved && ";,/?:@&=+$#".contains(c);
        if unreserved || reserved {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// `2026-01-01T00:00:00.000Z`, as JavaScript's `toISOString`.
pub(crate) fn iso_millis(at: OffsetDateTime) -> String {
    let utc = at.to_offset(time::UtcOffset::UTC);
    utc.format(format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    ))
    .unwrap_or_default()
}
