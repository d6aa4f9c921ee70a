//! Evaluation, following the reference implementation's rules for paths, sequences, predicates,
//! constructors and operators.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use rand::rngs::SmallRng;
use time::OffsetDateTime;

use super::JsonataError;
use super::functions;
use super::parse::{BinOp, Node, Step};
use super::scope::Scope;
use super::value::{Flags, Function, J, deep_equal, number_string, stringify, truthy};

/// Deeper nesting than this (recursion included) is an error, not a stack overflow.
const MAX_DEPTH: usize = 200;
/// The reference implementation's limit on a range `[a..b]`.
const MAX_RANGE: f64 = 1e7;

pub(crate) struct Evaluator<'a> {
    /// `$$`: the input of the whole expression.
    pub(crate) root: J,
    pub(crate) now: OffsetDateTime,
    pub(crate) rng: RefCell<&'a mut SmallRng>,
    depth: Cell<usize>,
    /// Every scope opened, cleared at the end so that recursive functions do not leak.
    scopes: RefCell<Vec<Rc<Scope>>>,
}

impl<'a> Evaluator<'a> {
    pub(crate) fn new(root: J, now: OffsetDateTime, rng: &'a mut SmallRng) -> Evaluator<'a> {
        Evaluator {
            root,
            now,
            rng: RefCell::new(rng),
            depth: Cell::new(0),
            scopes: RefCell::new(Vec::new()),
        }
    }

    pub(crate) fn open(&self, parent: &Rc<Scope>) -> Rc<Scope> {
        let scope = Scope::child(parent);
        self.scopes.borrow_mut().push(Rc::clone(&scope));
        scope
    }

    pub(crate) fn finish(&self) {
        for scope in self.scopes.borrow_mut().drain(..) {
            scope.clear();
        }
    }

    pub(crate) fn eval(
        &self,
        node: &Node,
        input: &J,
        scope: &Rc<Scope>,
    ) -> Result<J, JsonataError> {
        let depth = self.depth.get();
        if depth >= MAX_DEPTH {
            return Err(JsonataError::new(
                "U1001",
                "the expression nests or recurses too deeply",
            ));
        }
        self.depth.set(depth + 1);
        let result = self.eval_node(node, input, scope);
        self.depth.set(depth);
        Ok(result?.collapse())
    }

    fn eval_node(&self, node: &Node, input: &J, scope: &Rc<Scope>) -> Result<J, JsonataError> {
        Ok(match node {
            Node::Num(n) => J::Num(*n),
            Node::Str(s) => J::Str(s.clone()),
            Node::Bool(b) => J::Bool(*b),
            Node::Null => J::Null,
            Node::Name(name) => lookup(input, name),
            Node::Wildcard => wildcard(input),
            Node::Var(name) => match name.as_str() {
                "" => match input {
                    J::Arr(items, flags) if flags.outer => {
                        items.first().cloned().unwrap_or(J::Undef)
                    }
                    other => other.clone(),
                },
                "$" => self.root.clone(),
                other => match scope.lookup(other) {
                    Some(value) => value,
                    None if functions::exists(other) => {
                        J::Fun(Rc::new(Function::Builtin(functions::name(other))))
                    }
                    None => J::Undef,
                },
            },
            Node::Path { steps, keep_array } => self.path(steps, *keep_array, input, scope)?,
            Node::Filtered(inner, predicates) => {
                let mut value = self.eval(inner, input, scope)?;
                for predicate in predicates {
                    value = self.filter(predicate, value, scope)?;
                }
                value
            }
            Node::Array(items) => {
                let mut out = Vec::new();
                for item in items {
                    let value = match item {
                        Node::Range(from, to) => self.range(from, to, input, scope)?,
                        other => self.eval(other, input, scope)?,
                    };
                    match (item, value) {
                        (_, J::Undef) => {}
                        (Node::Array(_), value) => out.push(value),
                        (_, J::Arr(items, _)) => out.extend(items),
                        (_, value) => out.push(value),
                    }
                }
                J::Arr(
                    out,
                    Flags {
                        cons: true,
                        ..Flags::default()
                    },
                )
            }
            Node::Range(from, to) => self.range(from, to, input, scope)?,
            Node::Object(pairs) => self.object(pairs, input, scope)?,
            Node::Group(inner, pairs) => {
                let items = self.eval(inner, input, scope)?;
                self.object(pairs, &items, scope)?
            }
            Node::Negate(inner) => match self.eval(inner, input, scope)? {
                J::Undef => J::Undef,
                J::Num(n) => J::Num(-n),
                _ => {
                    return Err(JsonataError::new(
                        "D1002",
                        "cannot negate a value that is not a number",
                    ));
                }
            },
            Node::Binary(op, left, right) => self.binary(*op, left, right, input, scope)?,
            Node::Logic(and, left, right) => {
                let l = truthy(&self.eval(left, input, scope)?).unwrap_or(false);
                if l != *and {
                    J::Bool(l)
                } else {
                    J::Bool(truthy(&self.eval(right, input, scope)?).unwrap_or(false))
                }
            }
            Node::Condition(test, then, otherwise) => {
                if truthy(&self.eval(test, input, scope)?).unwrap_or(false) {
                    self.eval(then, input, scope)?
                } else {
                    match otherwise {
                        Some(node) => self.eval(node, input, scope)?,
                        None => J::Undef,
                    }
                }
            }
            Node::Block(items) => {
                let inner = self.open(scope);
                let mut last = J::Undef;
                for item in items {
                    last = self.eval(item, input, &inner)?;
                }
                last
            }
            Node::Bind(name, value) => {
                let value = self.eval(value, input, scope)?;
                scope.bind(name, value.clone());
                value
            }
            Node::Call(callee, args) => {
                let function = self.eval(callee, input, scope)?;
                let mut values = Vec::with_capacity(args.len());
                for arg in args {
                    values.push(self.eval(arg, input, scope)?);
                }
                self.call(&function, values, input, callee)?
            }
            Node::Lambda(lambda) => J::Fun(Rc::new(Function::Lambda {
                lambda: Rc::clone(lambda),
                scope: Rc::clone(scope),
                input: input.clone(),
            })),
            Node::Apply(left, right) => {
                let value = self.eval(left, input, scope)?;
                match &**right {
                    Node::Call(callee, args) => {
                        let function = self.eval(callee, input, scope)?;
                        let mut values = vec![value];
                        for arg in args {
                            values.push(self.eval(arg, input, scope)?);
                        }
                        self.call(&function, values, input, callee)?
                    }
                    other => {
                        let function = self.eval(other, input, scope)?;
                        self.call(&function, vec![value], input, other)?
                    }
                }
            }
        })
    }

    fn call(
        &self,
        function: &J,
        args: Vec<J>,
        input: &J,
        callee: &Node,
    ) -> Result<J, JsonataError> {
        match function {
            J::Fun(f) => self.apply(f, args, input),
            _ => Err(JsonataError::new(
                "T1006",
                format!("{} is not a function", describe_callee(callee)),
            )),
        }
    }

    /// Calls a function value with these arguments.
    pub(crate) fn apply(
        &self,
        function: &Function,
        args: Vec<J>,
        input: &J,
    ) -> Result<J, JsonataError> {
        match function {
            Function::Lambda {
                lambda,
                scope,
                input: captured,
            } => {
                let frame = self.open(scope);
                for (i, param) in lambda.params.iter().enumerate() {
                    frame.bind(param, args.get(i).cloned().unwrap_or(J::Undef));
                }
                self.eval(&lambda.body, captured, &frame)
            }
            Function::Builtin(name) => {
                let depth = self.depth.get();
                if depth >= MAX_DEPTH {
                    return Err(JsonataError::new(
                        "U1001",
                        "the expression recurses too deeply",
                    ));
                }
                self.depth.set(depth + 1);
                let result = functions::call(self, name, args, input);
                self.depth.set(depth);
                Ok(result?.collapse())
            }
        }
    }

    fn path(
        &self,
        steps: &[Step],
        keep_array: bool,
        input: &J,
        scope: &Rc<Scope>,
    ) -> Result<J, JsonataError> {
        let mut items = match input {
            J::Arr(items, _) if !matches!(steps.first().map(|s| &s.node), Some(Node::Var(_))) => {
                items.clone()
            }
            other => vec![other.clone()],
        };
        let mut result = J::seq(Vec::new());
        for (i, step) in steps.iter().enumerate() {
            result = self.step(step, &items, scope, i + 1 == steps.len())?;
            match &result {
                J::Arr(next, _) if !next.is_empty() => items = next.clone(),
                // An empty sequence collapses to undefined; an empty array value stays.
                _ => break,
            }
        }
        if keep_array {
            result = match result {
                J::Arr(items, flags) if flags.cons && !flags.sequence => J::Arr(
                    vec![J::Arr(items, flags)],
                    Flags {
                        sequence: true,
                        keep: true,
                        ..Flags::default()
                    },
                ),
                J::Arr(items, flags) => J::Arr(
                    items,
                    Flags {
                        keep: true,
                        sequence: true,
                        ..flags
                    },
                ),
                other => other,
            };
        }
        Ok(result)
    }

    fn step(
        &self,
        step: &Step,
        items: &[J],
        scope: &Rc<Scope>,
        last: bool,
    ) -> Result<J, JsonataError> {
        let mut results = Vec::new();
        for item in items {
            let mut value = self.eval(&step.node, item, scope)?;
            for predicate in &step.predicates {
                value = self.filter(predicate, value, scope)?;
            }
            if !value.is_undef() {
                results.push(value);
            }
        }
        if last && results.len() == 1 && matches!(&results[0], J::Arr(_, flags) if !flags.sequence)
        {
            return Ok(results.remove(0));
        }
        let mut out = Vec::new();
        for value in results {
            match value {
                J::Arr(items, flags) if !flags.cons => out.extend(items),
                other => out.push(other),
            }
        }
        Ok(J::seq(out))
    }

    /// A predicate `[...]`: an index (negative from the end) or a condition per item.
    fn filter(&self, predicate: &Node, value: J, scope: &Rc<Scope>) -> Result<J, JsonataError> {
        let items = match value {
            J::Arr(items, _) => items,
            J::Undef => Vec::new(),
            other => vec![other],
        };
        let literal_index = match predicate {
            Node::Num(n) => Some(*n),
            Node::Negate(inner) => match &**inner {
                Node::Num(n) => Some(-n),
                _ => None,
            },
            _ => None,
        };
        if let Some(index) = literal_index {
            return Ok(match pick(&items, index) {
                Some(J::Arr(inner, flags)) => J::Arr(inner.clone(), *flags),
                Some(item) => J::seq(vec![item.clone()]),
                None => J::seq(Vec::new()),
            });
        }
        let mut out = Vec::new();
        let len = items.len();
        for (position, item) in items.iter().enumerate() {
            let result = self.eval(predicate, item, scope)?;
            let indices: Option<Vec<f64>> = match &result {
                J::Num(n) => Some(vec![*n]),
                J::Arr(values, _)
                    if !values.is_empty() && values.iter().all(|v| matches!(v, J::Num(_))) =>
                {
                    Some(
                        values
                            .iter()
                            .filter_map(|v| match v {
                                J::Num(n) => Some(*n),
                                _ => None,
                            })
                            .collect(),
                    )
                }
                _ => None,
            };
            let keep = match indices {
                Some(indices) => indices.iter().any(|i| {
                    let i = i.floor();
                    let i = if i < 0.0 { len as f64 + i } else { i };
                    i == position as f64
                }),
                None => truthy(&result).unwrap_or(false),
            };
            if keep {
                out.push(item.clone());
            }
        }
        Ok(J::seq(out))
    }

    fn range(
        &self,
        from: &Node,
        to: &Node,
        input: &J,
        scope: &Rc<Scope>,
    ) -> Result<J, JsonataError> {
        let from = self.eval(from, input, scope)?;
        let to = self.eval(to, input, scope)?;
        let integer = |v: &J, code: &'static str| match v {
            J::Undef => Ok(None),
            J::Num(n) if n.fract() == 0.0 => Ok(Some(*n)),
            _ => Err(JsonataError::new(
                code,
                "the bounds of a range must be integers",
            )),
        };
        let (Some(from), Some(to)) = (integer(&from, "T2003")?, integer(&to, "T2004")?) else {
            return Ok(J::array(Vec::new()));
        };
        if from > to {
            return Ok(J::array(Vec::new()));
        }
        if to - from >= MAX_RANGE {
            return Err(JsonataError::new(
                "D2014",
                "a range may hold at most 10,000,000 items",
            ));
        }
        let mut out = Vec::new();
        let mut n = from;
        while n <= to {
            out.push(J::Num(n));
            n += 1.0;
        }
        Ok(J::array(out))
    }

    /// An object constructor: over an array input, items with the same key are grouped.
    fn object(
        &self,
        pairs: &[(Node, Node)],
        input: &J,
        scope: &Rc<Scope>,
    ) -> Result<J, JsonataError> {
        let items = match input {
            J::Arr(items, _) if !items.is_empty() => items.clone(),
            J::Arr(..) => vec![J::Undef],
            other => vec![other.clone()],
        };
        // key → (pair index, grouped data)
        let mut groups: Vec<(String, usize, J)> = Vec::new();
        for item in &items {
            for (index, (key, _)) in pairs.iter().enumerate() {
                let key = match self.eval(key, item, scope)? {
                    J::Str(s) => s,
                    J::Undef => continue,
                    other => {
                        return Err(JsonataError::new(
                            "T1003",
                            format!(
                                "object keys must be strings, not {}",
                                stringify(&other, false)
                            ),
                        ));
                    }
                };
                match groups.iter_mut().find(|(k, _, _)| *k == key) {
                    Some((_, existing, data)) => {
                        if *existing != index {
                            return Err(JsonataError::new(
                                "D1009",
                                format!("more than one key expression gives the key \"{key}\""),
                            ));
                        }
                        let previous = std::mem::replace(data, J::Undef);
                        *data = functions::append(previous, item.clone());
                    }
                    None => groups.push((key, index, item.clone())),
                }
            }
        }
        let mut out = Vec::new();
        for (key, index, data) in groups {
            let data = match data {
                J::Arr(items, flags) if !flags.sequence => J::seq(items),
                other => other,
            };
            let value = self.eval(&pairs[index].1, &data, scope)?;
            if !value.is_undef() {
                out.push((key, value));
            }
        }
        Ok(J::Obj(out))
    }

    fn binary(
        &self,
        op: BinOp,
        left: &Node,
        right: &Node,
        input: &J,
        scope: &Rc<Scope>,
    ) -> Result<J, JsonataError> {
        let l = self.eval(left, input, scope)?;
        let r = self.eval(right, input, scope)?;
        Ok(match op {
            BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Mod => {
                let number = |v: &J, code: &'static str, side: &str| match v {
                    J::Undef => Ok(None),
                    J::Num(n) => Ok(Some(*n)),
                    _ => Err(JsonataError::new(
                        code,
                        format!("the {side} side of an arithmetic operator must be a number"),
                    )),
                };
                let (a, b) = (number(&l, "T2001", "left")?, number(&r, "T2002", "right")?);
                let (Some(a), Some(b)) = (a, b) else {
                    return Ok(J::Undef);
                };
                let n = match op {
                    BinOp::Add => a + b,
                    BinOp::Sub => a - b,
                    BinOp::Mul => a * b,
                    BinOp::Div => a / b,
                    _ => a % b,
                };
                finite(n)?
            }
            BinOp::Eq | BinOp::Ne => {
                if l.is_undef() || r.is_undef() {
                    J::Bool(false)
                } else {
                    J::Bool(deep_equal(&l, &r) == (op == BinOp::Eq))
                }
            }
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                let comparable = |v: &J| matches!(v, J::Undef | J::Num(_) | J::Str(_));
                if !comparable(&l) || !comparable(&r) {
                    return Err(JsonataError::new(
                        "T2010",
                        "comparison operators need numbers or strings",
                    ));
                }
                let ordering = match (&l, &r) {
                    (J::Undef, _) | (_, J::Undef) => return Ok(J::Undef),
                    (J::Num(a), J::Num(b)) => a.partial_cmp(b),
                    (J::Str(a), J::Str(b)) => Some(utf16_cmp(a, b)),
                    _ => {
                        return Err(JsonataError::new(
                            "T2009",
                            "the two sides of a comparison must have the same type",
                        ));
                    }
                };
                let Some(ordering) = ordering else {
                    return Ok(J::Bool(false));
                };
                J::Bool(match op {
                    BinOp::Lt => ordering.is_lt(),
                    BinOp::Le => ordering.is_le(),
                    BinOp::Gt => ordering.is_gt(),
                    _ => ordering.is_ge(),
                })
            }
            BinOp::Concat => J::Str(format!("{}{}", to_text(&l), to_text(&r))),
            BinOp::In => {
                if l.is_undef() || r.is_undef() {
                    J::Bool(false)
                } else {
                    let items = r.into_items();
                    J::Bool(items.iter().any(|i| deep_equal(i, &l)))
                }
            }
        })
    }
}

/// JavaScript compares strings by UTF-16 code units.
fn utf16_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

pub(crate) fn finite(n: f64) -> Result<J, JsonataError> {
    if n.is_finite() {
        Ok(J::Num(n))
    } else {
        Err(JsonataError::new("D1001", "the number is out of range"))
    }
}

/// `$string` without the prettify flag; undefined is the empty string (for `&`).
pub(crate) fn to_text(value: &J) -> String {
    match value {
        J::Undef => String::new(),
        J::Str(s) => s.clone(),
        J::Num(n) => number_string(*n),
        J::Fun(_) => String::new(),
        other => stringify(other, false),
    }
}

fn pick(items: &[J], index: f64) -> Option<&J> {
    let index = index.floor();
    let index = if index < 0.0 {
        items.len() as f64 + index
    } else {
        index
    };
    if index < 0.0 {
        return None;
    }
    items.get(index as usize)
}

/// The field `name` of an object, or of every object in an array (flattened).
pub(crate) fn lookup(input: &J, name: &str) -> J {
    match input {
        J::Arr(items, _) => {
            let mut out = Vec::new();
            for item in items {
                match lookup(item, name) {
                    J::Undef => {}
                    J::Arr(values, _) => out.extend(values),
                    value => out.push(value),
                }
            }
            J::seq(out)
        }
        J::Obj(_) => input.get(name).cloned().unwrap_or(J::Undef),
        _ => J::Undef,
    }
}

fn wildcard(input: &J) -> J {
    let input = match input {
        J::Arr(items, flags) if flags.outer => items.first().unwrap_or(&J::Undef),
        other => other,
    };
    let values: Vec<J> = match input {
        J::Obj(pairs) => pairs.iter().map(|(_, v)| v.clone()).collect(),
        J::Arr(items, _) => items.clone(),
        _ => return J::seq(Vec::new()),
    };
    let mut out = Vec::new();
    for value in values {
        match value {
            J::Arr(items, _) => flatten_into(items, &mut out),
            other => out.push(other),
        }
    }
    J::seq(out)
}

fn flatten_into(items: Vec<J>, out: &mut Vec<J>) {
    for item in items {
        match item {
            J::Arr(inner, _) => flatten_into(inner, out),
            other => out.push(other),
        }
    }
}

fn describe_callee(node: &Node) -> String {
    match node {
        Node::Var(name) => format!("${name}"),
        Node::Name(name) => name.clone(),
        _ => "the called expression".into(),
    }
}
