//! Tokens and the syntax tree of JSONata expressions: a Pratt parser with the binding powers of the
//! reference implementation, then the same path rewriting it does (a chain of `.` becomes one path
//! whose steps carry their own predicates).

use super::JsonataError;

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Num(f64),
    Str(String),
    /// A field name (plain or in backticks).
    Name(String),
    /// `$name`; `$` alone is the empty name, `$$` is `"$"`.
    Var(String),
    Op(&'static str),
    End,
}

const OPERATORS: &[&str] = &[
    "..", ":=", "!=", "<=", ">=", "~>", "**", ".", "[", "]", "{", "}", "(", ")", ",", "@", "#",
    ";", ":", "?", "+", "-", "*", "/", "%", "|", "=", "<", ">", "^", "&", "!", "~",
];

fn lex(text: &str) -> Result<Vec<(Token, usize)>, JsonataError> {
    let chars: Vec<char> = text.chars().collect();
    let mut pos = 0;
    let mut tokens = Vec::new();
    let syntax = |pos: usize, message: String| JsonataError::syntax(pos, message);
    while pos < chars.len() {
        let c = chars[pos];
        let start = pos;
        if c.is_whitespace() {
            pos += 1;
            continue;
        }
        if c == '/' && chars.get(pos + 1) == Some(&'*') {
            let close = (pos + 2..chars.len().saturating_sub(1))
                .find(|&i| chars[i] == '*' && chars[i + 1] == '/')
                .ok_or_else(|| syntax(pos, "unterminated comment".into()))?;
            pos = close + 2;
            continue;
        }
        if c == '"' || c == '\'' {
            pos += 1;
            let mut s = String::new();
            loop {
                let Some(&ch) = chars.get(pos) else {
                    return Err(syntax(start, "unterminated string literal".into()));
                };
                pos += 1;
                if ch == c {
                    break;
                }
                if ch != '\\' {
                    s.push(ch);
                    continue;
                }
                let esc = *chars
                    .get(pos)
                    .ok_or_else(|| syntax(pos, "unterminated escape".into()))?;
                pos += 1;
                s.push(match esc {
                    '"' => '"',
                    '\\' => '\\',
                    '/' => '/',
                    '\'' => '\'',
                    'b' => '\u{8}',
                    'f' => '\u{c}',
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    'u' => {
                        let hex: String = chars.get(pos..pos + 4).unwrap_or(&[]).iter().collect();
                        let code = u32::from_str_radix(&hex, 16)
                            .map_err(|_| syntax(pos, "invalid \\u escape".into()))?;
                        pos += 4;
                        char::from_u32(code).unwrap_or('\u{fffd}')
                    }
                    other => return Err(syntax(pos, format!("unsupported escape '\\{other}'"))),
                });
            }
            tokens.push((Token::Str(s), start));
            continue;
        }
        if c.is_ascii_digit() {
            let mut end = pos;
            while end < chars.len() && chars[end].is_ascii_digit() {
                end += 1;
            }
            if chars.get(end) == Some(&'.') && chars.get(end + 1).is_some_and(char::is_ascii_digit)
            {
                end += 1;
                while end < chars.len() && chars[end].is_ascii_digit() {
                    end += 1;
                }
            }
            if matches!(chars.get(end), Some('e' | 'E')) {
                let mut e = end + 1;
                if matches!(chars.get(e), Some('+' | '-')) {
                    e += 1;
                }
                if chars.get(e).is_some_and(char::is_ascii_digit) {
                    end = e;
                    while end < chars.len() && chars[end].is_ascii_digit() {
                        end += 1;
                    }
                }
            }
            let literal: String = chars[pos..end].iter().collect();
            let n: f64 = literal
                .parse()
                .map_err(|_| syntax(pos, format!("invalid number {literal}")))?;
            if !n.is_finite() {
                return Err(syntax(pos, format!("number out of range: {literal}")));
            }
            tokens.push((Token::Num(n), start));
            pos = end;
            continue;
        }
        if c == '`' {
            let close = (pos + 1..chars.len())
                .find(|&i| chars[i] == '`')
                .ok_or_else(|| syntax(pos, "unterminated backtick name".into()))?;
            tokens.push((Token::Name(chars[pos + 1..close].iter().collect()), start));
            pos = close + 1;
            continue;
        }
        let rest: String = chars[pos..chars.len().min(pos + 2)].iter().collect();
        if let Some(op) = OPERATORS.iter().find(|op| rest.starts_with(**op)) {
            tokens.push((Token::Op(op), start));
            pos += op.chars().count();
            continue;
        }
        let is_name_char = |ch: char| {
            !ch.is_whitespace()
                && !"`\"'".contains(ch)
                && !OPERATORS.iter().any(|op| op.starts_with(ch))
        };
        let variable = c == '$';
        if variable {
            pos += 1;
            if chars.get(pos) == Some(&'$') {
                pos += 1;
                tokens.push((Token::Var("$".into()), start));
                continue;
            }
        }
        let mut end = pos;
        while end < chars.len() && is_name_char(chars[end]) && (chars[end] != '$' || !variable) {
            end += 1;
        }
        let name: String = chars[pos..end].iter().collect();
        if !variable && name.is_empty() {
            return Err(syntax(pos, format!("unexpected character '{c}'")));
        }
        tokens.push((
            if variable {
                Token::Var(name)
            } else {
                Token::Name(name)
            },
            start,
        ));
        pos = end;
    }
    tokens.push((Token::End, chars.len()));
    Ok(tokens)
}

/// A binary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Concat,
    In,
}

/// One node of a parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    Num(f64),
    Str(String),
    Bool(bool),
    Null,
    /// A field of the context item.
    Name(String),
    /// `*`: every field value of the context item.
    Wildcard,
    Var(String),
    /// A location path; `keep_array` from a trailing `[]`.
    Path {
        steps: Vec<Step>,
        keep_array: bool,
    },
    /// A non-path expression with predicates (`$x[0]`, `(a.b)[c > 1]`).
    Filtered(Box<Node>, Vec<Node>),
    Array(Vec<Node>),
    /// `a..b` (in an array constructor).
    Range(Box<Node>, Box<Node>),
    Object(Vec<(Node, Node)>),
    /// `expr{key: value}`: the object constructor over the items of `expr`, grouped by key.
    Group(Box<Node>, Vec<(Node, Node)>),
    Negate(Box<Node>),
    Binary(BinOp, Box<Node>, Box<Node>),
    /// `and` (true) or `or` (false): the right side is evaluated only when needed.
    Logic(bool, Box<Node>, Box<Node>),
    Condition(Box<Node>, Box<Node>, Option<Box<Node>>),
    Block(Vec<Node>),
    Bind(String, Box<Node>),
    Call(Box<Node>, Vec<Node>),
    Lambda(std::rc::Rc<Lambda>),
    /// `x ~> f(args)`: `f(x, args)`.
    Apply(Box<Node>, Box<Node>),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Lambda {
    pub(crate) params: Vec<String>,
    pub(crate) body: Node,
}

/// A path step and the predicates that filter its value per context item.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Step {
    pub(crate) node: Node,
    pub(crate) predicates: Vec<Node>,
    /// `[]` on this step.
    pub(crate) keep_array: bool,
}

fn left_power(token: &Token) -> u8 {
    match token {
        Token::Op(op) => match *op {
            "." => 75,
            "[" | "(" | "@" | "#" => 80,
            "{" => 70,
            "*" | "/" | "%" | "**" => 60,
            "+" | "-" | "&" => 50,
            "=" | "<" | ">" | "^" | "!=" | "<=" | ">=" | "~>" => 40,
            "?" | "|" | ".." => 20,
            ":=" => 10,
            _ => 0,
        },
        Token::Name(n) => match n.as_str() {
            "and" => 30,
            "or" => 25,
            "in" => 40,
            _ => 0,
        },
        _ => 0,
    }
}

struct Parser {
    tokens: Vec<(Token, usize)>,
    pos: usize,
    /// Per enclosing bracket: whether it is an array constructor, the only place `..` may stand.
    brackets: Vec<bool>,
}

impl Parser {
    fn peek(&self) -> &Token {
        &self.tokens[self.pos].0
    }

    fn at(&self) -> usize {
        self.tokens[self.pos].1
    }

    fn next(&mut self) -> Token {
        let token = self.tokens[self.pos].0.clone();
        if self.pos + 1 < self.tokens.len() {
            self.pos += 1;
        }
        token
    }

    fn expect(&mut self, op: &str) -> Result<(), JsonataError> {
        match self.peek() {
            Token::Op(o) if *o == op => {
                self.next();
                Ok(())
            }
            other => Err(JsonataError::syntax(
                self.at(),
                format!("expected '{op}', found {}", describe(other)),
            )),
        }
    }

    fn is_op(&self, op: &str) -> bool {
        matches!(self.peek(), Token::Op(o) if *o == op)
    }

    fn expression(&mut self, rbp: u8) -> Result<Node, JsonataError> {
        let start = self.at();
        let token = self.next();
        let mut left = self.prefix(token, start)?;
        while rbp < left_power(self.peek()) {
            let start = self.at();
            let token = self.next();
            left = self.infix(token, left, start)?;
        }
        Ok(left)
    }

    /// An expression inside brackets; `array_item` allows a range `a..b` at its top.
    fn nested(&mut self, array_item: bool) -> Result<Node, JsonataError> {
        self.brackets.push(array_item);
        let node = self.expression(0);
        self.brackets.pop();
        node
    }

    fn list(&mut self, close: &str) -> Result<Vec<Node>, JsonataError> {
        let mut items = Vec::new();
        if self.is_op(close) {
            self.next();
            return Ok(items);
        }
        loop {
            items.push(self.nested(false)?);
            if self.is_op(",") {
                self.next();
                continue;
            }
            self.expect(close)?;
            return Ok(items);
        }
    }

    fn prefix(&mut self, token: Token, start: usize) -> Result<Node, JsonataError> {
        Ok(match token {
            Token::Num(n) => Node::Num(n),
            Token::Str(s) => Node::Str(s),
            Token::Var(v) => Node::Var(v),
            Token::Name(n) => match n.as_str() {
                "true" => Node::Bool(true),
                "false" => Node::Bool(false),
                "null" => Node::Null,
                "function" | "λ" if self.is_op("(") => self.lambda()?,
                _ => Node::Name(n),
            },
            Token::Op("-") => Node::Negate(Box::new(self.expression(70)?)),
            Token::Op("*") => Node::Wildcard,
            Token::Op("(") => {
                let mut items = Vec::new();
                while !self.is_op(")") {
                    items.push(self.nested(false)?);
                    if !self.is_op(";") {
                        break;
                    }
                    self.next();
                }
                self.expect(")")?;
                Node::Block(items)
            }
            Token::Op("[") => {
                let mut items = Vec::new();
                if !self.is_op("]") {
                    loop {
                        items.push(self.nested(true)?);
                        if !self.is_op(",") {
                            break;
                        }
                        self.next();
                    }
                }
                self.expect("]")?;
                Node::Array(items)
            }
            Token::Op("{") => Node::Object(self.pairs()?),
            Token::Op(op) => return Err(unsupported_prefix(op, start)),
            Token::End => {
                return Err(JsonataError::syntax(
                    start,
                    "unexpected end of expression".into(),
                ));
            }
        })
    }

    /// `key: value, ...}` of an object constructor, after its `{`.
    fn pairs(&mut self) -> Result<Vec<(Node, Node)>, JsonataError> {
        let mut pairs = Vec::new();
        if !self.is_op("}") {
            loop {
                let key = self.nested(false)?;
                self.expect(":")?;
                pairs.push((key, self.nested(false)?));
                if !self.is_op(",") {
                    break;
                }
                self.next();
            }
        }
        self.expect("}")?;
        Ok(pairs)
    }

    fn lambda(&mut self) -> Result<Node, JsonataError> {
        self.expect("(")?;
        let mut params = Vec::new();
        if !self.is_op(")") {
            loop {
                match self.next() {
                    Token::Var(v) if !v.is_empty() => params.push(v),
                    other => {
                        return Err(JsonataError::syntax(
                            self.at(),
                            format!(
                                "a function parameter must be a $variable, not {}",
                                describe(&other)
                            ),
                        ));
                    }
                }
                if !self.is_op(",") {
                    break;
                }
                self.next();
            }
        }
        self.expect(")")?;
        if self.is_op("<") {
            return Err(JsonataError::unsupported("function signatures (<...>)"));
        }
        self.expect("{")?;
        let body = self.nested(false)?;
        self.expect("}")?;
        Ok(Node::Lambda(std::rc::Rc::new(Lambda { params, body })))
    }

    fn infix(&mut self, token: Token, left: Node, start: usize) -> Result<Node, JsonataError> {
        let binary = |op: BinOp, this: &mut Parser, power: u8| -> Result<Node, JsonataError> {
            let right = this.expression(power)?;
            Ok(Node::Binary(op, Box::new(left.clone()), Box::new(right)))
        };
        Ok(match token {
            Token::Name(n) if n == "and" || n == "or" => {
                let right = self.expression(if n == "and" { 30 } else { 25 })?;
                Node::Logic(n == "and", Box::new(left), Box::new(right))
            }
            Token::Name(n) if n == "in" => binary(BinOp::In, self, 40)?,
            Token::Op(".") => {
                let right = self.expression(75)?;
                join_path(left, right)
            }
            Token::Op("[") => {
                if self.is_op("]") {
                    self.next();
                    keep_array(left)
                } else {
                    let predicate = self.nested(false)?;
                    self.expect("]")?;
                    add_predicate(left, predicate)
                }
            }
            Token::Op("(") => {
                let args = self.list(")")?;
                Node::Call(Box::new(left), args)
            }
            Token::Op("?") => {
                let then = self.expression(0)?;
                let otherwise = if self.is_op(":") {
                    self.next();
                    Some(Box::new(self.expression(0)?))
                } else {
                    None
                };
                Node::Condition(Box::new(left), Box::new(then), otherwise)
            }
            Token::Op(":=") => {
                let Node::Var(name) = left else {
                    return Err(JsonataError::syntax(
                        start,
                        "the left side of := must be a $variable".into(),
                    ));
                };
                Node::Bind(name, Box::new(self.expression(9)?))
            }
            Token::Op("..") if self.brackets.last() == Some(&true) => {
                Node::Range(Box::new(left), Box::new(self.expression(20)?))
            }
            Token::Op("{") => Node::Group(Box::new(left), self.pairs()?),
            Token::Op("~>") => Node::Apply(Box::new(left), Box::new(self.expression(40)?)),
            Token::Op(op) => {
                let bin = match op {
                    "+" => BinOp::Add,
                    "-" => BinOp::Sub,
                    "*" => BinOp::Mul,
                    "/" => BinOp::Div,
                    "%" => BinOp::Mod,
                    "=" => BinOp::Eq,
                    "!=" => BinOp::Ne,
                    "<" => BinOp::Lt,
                    "<=" => BinOp::Le,
                    ">" => BinOp::Gt,
                    ">=" => BinOp::Ge,
                    "&" => BinOp::Concat,
                    other => return Err(unsupported_infix(other, start)),
                };
                binary(bin, self, left_power(&Token::Op(op)))?
            }
            other => {
                return Err(JsonataError::syntax(
                    start,
                    format!("unexpected {}", describe(&other)),
                ));
            }
        })
    }
}

fn describe(token: &Token) -> String {
    match token {
        Token::Num(n) => format!("number {n}"),
        Token::Str(s) => format!("string {s:?}"),
        Token::Name(n) => format!("name '{n}'"),
        Token::Var(v) => format!("variable ${v}"),
        Token::Op(op) => format!("'{op}'"),
        Token::End => "the end of the expression".into(),
    }
}

fn unsupported_prefix(op: &str, start: usize) -> JsonataError {
    match op {
        "/" => JsonataError::unsupported("regular expressions (/.../)"),
        "**" => JsonataError::unsupported("the descendant operator (**)"),
        "%" => JsonataError::unsupported("the parent operator (%)"),
        "|" => JsonataError::unsupported("the transform operator (|...|)"),
        "?" => JsonataError::unsupported("partial application (?)"),
        _ => JsonataError::syntax(start, format!("unexpected '{op}'")),
    }
}

fn unsupported_infix(op: &str, start: usize) -> JsonataError {
    match op {
        "^" => JsonataError::unsupported("the order-by operator (^(...))"),
        "@" => JsonataError::unsupported("context variable binding (@)"),
        "#" => JsonataError::unsupported("positional variable binding (#)"),
        "**" => JsonataError::unsupported("the descendant operator (**)"),
        _ => JsonataError::syntax(start, format!("unexpected '{op}'")),
    }
}

fn step(node: Node) -> Step {
    Step {
        node,
        predicates: Vec::new(),
        keep_array: false,
    }
}

/// `left.right` as one path; a `[]` anywhere keeps the result an array.
fn join_path(left: Node, right: Node) -> Node {
    let (mut steps, mut keep) = match left {
        Node::Path { steps, keep_array } => (steps, keep_array),
        other => (vec![step(other)], false),
    };
    match right {
        Node::Path {
            steps: more,
            keep_array,
        } => {
            steps.extend(more);
            keep |= keep_array;
        }
        other => steps.push(step(other)),
    }
    Node::Path {
        steps,
        keep_array: keep,
    }
}

fn keep_array(node: Node) -> Node {
    match node {
        Node::Path { mut steps, .. } => {
            if let Some(last) = steps.last_mut() {
                last.keep_array = true;
            }
            Node::Path {
                steps,
                keep_array: true,
            }
        }
        Node::Name(_) | Node::Wildcard => {
            let mut s = step(node);
            s.keep_array = true;
            Node::Path {
                steps: vec![s],
                keep_array: true,
            }
        }
        other => Node::Path {
            steps: vec![Step {
                node: other,
                predicates: Vec::new(),
                keep_array: true,
            }],
            keep_array: true,
        },
    }
}

/// `left[predicate]`: on a path, the last step's predicate; on names, a one-step path.
fn add_predicate(left: Node, predicate: Node) -> Node {
    match left {
        Node::Path {
            mut steps,
            keep_array,
        } => {
            if let Some(last) = steps.last_mut() {
                last.predicates.push(predicate);
            }
            Node::Path { steps, keep_array }
        }
        Node::Name(_) | Node::Wildcard => Node::Path {
            steps: vec![Step {
                node: left,
                predicates: vec![predicate],
                keep_array: false,
            }],
            keep_array: false,
        },
        Node::Filtered(node, mut predicates) => {
            predicates.push(predicate);
            Node::Filtered(node, predicates)
        }
        other => Node::Filtered(Box::new(other), vec![predicate]),
    }
}

pub(crate) fn parse(text: &str) -> Result<Node, JsonataError> {
    let mut parser = Parser {
        tokens: lex(text)?,
        pos: 0,
        brackets: Vec::new(),
    };
    let node = parser.expression(0)?;
    if *parser.peek() != Token::End {
        return Err(JsonataError::syntax(
            parser.at(),
            format!(
                "unexpected {} after the expression",
                describe(parser.peek())
            ),
        ));
    }
    Ok(node)
}
