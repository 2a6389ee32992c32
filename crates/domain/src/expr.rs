//! The small typed expression language of indicators (指标公式) and validation rules (校验规则):
//! parsed and type-checked once, evaluated over a school's data elements (数据项), never run as
//! code.
//!
//! ```text
//! 图书册数 / 在校学生数                       生均图书册数
//! 专任教师数 / 在校学生数 * 100               每百名学生…
//! if(在校学生数 > 0, 计算机台数 / 在校学生数 * 100, 0)
//! coalesce(骨干教师数, 0) / 在校学生数 * 100
//! 合格教师数 <= 专任教师数 and 小学生数 + 初中生数 == 在校学生数
//! ```
//!
//! Numbers (decimal literals), `+ - * /`, comparisons `< <= > >= == !=` (giving a truth
//! value), `and`, `or`, `not`, `if(cond, a, b)`, `coalesce(a, b, …)` (first present value),
//! `missing(x)` (whether a value is absent), `min(…)`, `max(…)`, parentheses. Names are data
//! element codes or names (letters of any script, digits, `_`). A missing data element makes
//! every arithmetic and comparison that uses it missing, unless `coalesce`/`missing`/`if`
//! handle it; dividing by zero is missing too (a school without students has no 生均 value).

use crate::FieldError;
use std::collections::BTreeSet;

/// What an expression gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    Number,
    Bool,
}

/// A value during evaluation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    Number(f64),
    Bool(bool),
    Missing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Sub,
    Mul,
    Div,
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
    And,
    Or,
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Num(f64),
    /// A data element, and its slot in [`Expr::names`].
    Var(String, usize),
    Neg(Box<Node>),
    Not(Box<Node>),
    Bin(Op, Box<Node>, Box<Node>),
    If(Box<Node>, Box<Node>, Box<Node>),
    Coalesce(Vec<Node>),
    IsMissing(Box<Node>),
    Min(Vec<Node>),
    Max(Vec<Node>),
}

/// A parsed, type-checked expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    node: Node,
    ty: Type,
    source: String,
    /// The data elements read, each once, in slot order.
    names: Vec<String>,
}

/// Numbers each variable's slot (first appearance order) and collects the names.
fn number_vars(n: &mut Node, names: &mut Vec<String>) {
    match n {
        Node::Num(_) => {}
        Node::Var(v, slot) => {
            *slot = match names.iter().position(|x| x == v) {
                Some(i) => i,
                None => {
                    names.push(v.clone());
                    names.len() - 1
                }
            };
        }
        Node::Neg(a) | Node::Not(a) | Node::IsMissing(a) => number_vars(a, names),
        Node::Bin(_, a, b) => {
            number_vars(a, names);
            number_vars(b, names);
        }
        Node::If(a, b, c) => {
            number_vars(a, names);
            number_vars(b, names);
            number_vars(c, names);
        }
        Node::Coalesce(v) | Node::Min(v) | Node::Max(v) => {
            v.iter_mut().for_each(|x| number_vars(x, names))
        }
    }
}

fn err(at: usize, zh: impl Into<String>, en: impl Into<String>) -> FieldError {
    let (zh, en) = (zh.into(), en.into());
    FieldError::new(
        "invalid_expression",
        "expression",
        format!("公式第{}个字符处:{zh}", at + 1),
        format!("at character {}: {en}", at + 1),
    )
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(f64),
    Name(String),
    Sym(&'static str),
    End,
}

fn lex(src: &str) -> Result<Vec<(usize, Tok)>, FieldError> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        if c.is_ascii_digit() || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) {
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            let n = text.parse::<f64>().map_err(|_| {
                err(
                    start,
                    format!("“{text}”不是数字"),
                    format!("'{text}' is not a number"),
                )
            })?;
            out.push((start, Tok::Num(n)));
            continue;
        }
        if c.is_alphabetic() || c == '_' {
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push((start, Tok::Name(chars[start..i].iter().collect())));
            continue;
        }
        let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
        let sym = match two.as_str() {
            "<=" => Some("<="),
            ">=" => Some(">="),
            "==" => Some("=="),
            "!=" => Some("!="),
            _ => None,
        };
        if let Some(s) = sym {
            out.push((start, Tok::Sym(s)));
            i += 2;
            continue;
        }
        let one = match c {
            '+' => "+",
            '-' => "-",
            '*' | '×' => "*",
            '/' | '÷' => "/",
            '<' => "<",
            '>' => ">",
            '(' | '\u{ff08}' => "(",
            ')' | '\u{ff09}' => ")",
            ',' | '\u{ff0c}' => ",",
            _ => {
                return Err(err(
                    start,
                    format!("无法识别的符号“{c}”"),
                    format!("unexpected character '{c}'"),
                ));
            }
        };
        out.push((start, Tok::Sym(one)));
        i += 1;
    }
    // Bounded nesting keeps the recursive parser far from the stack's end.
    let mut depth = 0i32;
    for (at, t) in &out {
        match t {
            Tok::Sym("(") => depth += 1,
            Tok::Sym(")") => depth -= 1,
            _ => {}
        }
        if depth > 50 {
            return Err(err(
                *at,
                "括号嵌套过深(最多50层)",
                "brackets nested too deep (50 at most)",
            ));
        }
    }
    out.push((chars.len(), Tok::End));
    Ok(out)
}

struct Parser {
    toks: Vec<(usize, Tok)>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> &Tok {
        &self.toks[self.pos].1
    }

    fn at(&self) -> usize {
        self.toks[self.pos].0
    }

    fn eat_sym(&mut self, s: &str) -> bool {
        if matches!(self.peek(), Tok::Sym(x) if *x == s) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn eat_word(&mut self, w: &str) -> bool {
        if matches!(self.peek(), Tok::Name(x) if x == w) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, s: &str) -> Result<(), FieldError> {
        if self.eat_sym(s) {
            Ok(())
        } else {
            Err(err(
                self.at(),
                format!("此处应为“{s}”"),
                format!("expected '{s}'"),
            ))
        }
    }

    fn or(&mut self) -> Result<(Node, Type, usize), FieldError> {
        let mut left = self.and()?;
        while self.eat_word("or") {
            let right = self.and()?;
            left = logic(Op::Or, left, right)?;
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<(Node, Type, usize), FieldError> {
        let mut left = self.cmp()?;
        while self.eat_word("and") {
            let right = self.cmp()?;
            left = logic(Op::And, left, right)?;
        }
        Ok(left)
    }

    fn cmp(&mut self) -> Result<(Node, Type, usize), FieldError> {
        let left = self.add()?;
        let op = match self.peek() {
            Tok::Sym("<") => Op::Lt,
            Tok::Sym("<=") => Op::Le,
            Tok::Sym(">") => Op::Gt,
            Tok::Sym(">=") => Op::Ge,
            Tok::Sym("==") => Op::Eq,
            Tok::Sym("!=") => Op::Ne,
            _ => return Ok(left),
        };
        self.pos += 1;
        let right = self.add()?;
        for (t, at) in [(left.1, left.2), (right.1, right.2)] {
            if t != Type::Number {
                return Err(err(
                    at,
                    "比较的两边应为数值",
                    "comparisons need numbers on both sides",
                ));
            }
        }
        Ok((
            Node::Bin(op, Box::new(left.0), Box::new(right.0)),
            Type::Bool,
            left.2,
        ))
    }

    fn add(&mut self) -> Result<(Node, Type, usize), FieldError> {
        let mut left = self.mul()?;
        loop {
            let op = if self.eat_sym("+") {
                Op::Add
            } else if self.eat_sym("-") {
                Op::Sub
            } else {
                return Ok(left);
            };
            let right = self.mul()?;
            left = arith(op, left, right)?;
        }
    }

    fn mul(&mut self) -> Result<(Node, Type, usize), FieldError> {
        let mut left = self.unary()?;
        loop {
            let op = if self.eat_sym("*") {
                Op::Mul
            } else if self.eat_sym("/") {
                Op::Div
            } else {
                return Ok(left);
            };
            let right = self.unary()?;
            left = arith(op, left, right)?;
        }
    }

    fn unary(&mut self) -> Result<(Node, Type, usize), FieldError> {
        let at = self.at();
        if self.eat_sym("-") {
            let (n, t, a) = self.unary()?;
            if t != Type::Number {
                return Err(err(a, "负号后应为数值", "'-' needs a number"));
            }
            return Ok((Node::Neg(Box::new(n)), Type::Number, at));
        }
        if self.eat_word("not") {
            let (n, t, a) = self.unary()?;
            if t != Type::Bool {
                return Err(err(a, "not 后应为条件", "'not' needs a condition"));
            }
            return Ok((Node::Not(Box::new(n)), Type::Bool, at));
        }
        self.primary()
    }

    fn args(&mut self) -> Result<Vec<(Node, Type, usize)>, FieldError> {
        self.expect("(")?;
        let mut v = vec![self.or()?];
        while self.eat_sym(",") {
            v.push(self.or()?);
        }
        self.expect(")")?;
        Ok(v)
    }

    fn primary(&mut self) -> Result<(Node, Type, usize), FieldError> {
        let at = self.at();
        match self.peek().clone() {
            Tok::Num(n) => {
                self.pos += 1;
                Ok((Node::Num(n), Type::Number, at))
            }
            Tok::Sym("(") => {
                self.pos += 1;
                let inner = self.or()?;
                self.expect(")")?;
                Ok((inner.0, inner.1, at))
            }
            Tok::Name(name) => {
                self.pos += 1;
                let is_call = matches!(self.peek(), Tok::Sym("("));
                match (name.as_str(), is_call) {
                    ("if", true) => {
                        let a = self.args()?;
                        let [c, x, y]: [(Node, Type, usize); 3] = a.try_into().map_err(|_| {
                            err(
                                at,
                                "if 需要3个参数:条件, 成立时的值, 否则的值",
                                "if takes 3 arguments: condition, then, else",
                            )
                        })?;
                        if c.1 != Type::Bool {
                            return Err(err(
                                c.2,
                                "if 的第一个参数应为条件",
                                "if's first argument must be a condition",
                            ));
                        }
                        if x.1 != y.1 {
                            return Err(err(
                                y.2,
                                "if 两个分支的类型应相同",
                                "both branches of if must have the same type",
                            ));
                        }
                        Ok((
                            Node::If(Box::new(c.0), Box::new(x.0), Box::new(y.0)),
                            x.1,
                            at,
                        ))
                    }
                    ("coalesce" | "min" | "max", true) => {
                        let a = self.args()?;
                        let ty = a[0].1;
                        if let Some(bad) = a.iter().find(|x| x.1 != ty) {
                            return Err(err(
                                bad.2,
                                format!("{name} 的参数类型应相同"),
                                format!("{name}'s arguments must have one type"),
                            ));
                        }
                        if name != "coalesce" && ty != Type::Number {
                            return Err(err(
                                at,
                                format!("{name} 的参数应为数值"),
                                format!("{name} takes numbers"),
                            ));
                        }
                        let nodes = a.into_iter().map(|x| x.0).collect();
                        let node = match name.as_str() {
                            "coalesce" => Node::Coalesce(nodes),
                            "min" => Node::Min(nodes),
                            _ => Node::Max(nodes),
                        };
                        Ok((node, ty, at))
                    }
                    ("missing", true) => {
                        let a = self.args()?;
                        let [x]: [(Node, Type, usize); 1] = a.try_into().map_err(|_| {
                            err(at, "missing 需要1个参数", "missing takes 1 argument")
                        })?;
                        Ok((Node::IsMissing(Box::new(x.0)), Type::Bool, at))
                    }
                    (_, true) => Err(err(
                        at,
                        format!("未知函数“{name}”"),
                        format!("unknown function '{name}'"),
                    )),
                    ("and" | "or" | "not" | "if", false) => Err(err(
                        at,
                        format!("“{name}”缺少运算对象"),
                        format!("'{name}' is missing an operand"),
                    )),
                    (_, false) => Ok((Node::Var(name, 0), Type::Number, at)),
                }
            }
            Tok::End => Err(err(at, "公式不完整", "the expression ends too early")),
            Tok::Sym(s) => Err(err(
                at,
                format!("此处不应出现“{s}”"),
                format!("unexpected '{s}'"),
            )),
        }
    }
}

fn arith(
    op: Op,
    l: (Node, Type, usize),
    r: (Node, Type, usize),
) -> Result<(Node, Type, usize), FieldError> {
    for (t, at) in [(l.1, l.2), (r.1, r.2)] {
        if t != Type::Number {
            return Err(err(
                at,
                "算术运算的两边应为数值",
                "arithmetic needs numbers",
            ));
        }
    }
    Ok((
        Node::Bin(op, Box::new(l.0), Box::new(r.0)),
        Type::Number,
        l.2,
    ))
}

fn logic(
    op: Op,
    l: (Node, Type, usize),
    r: (Node, Type, usize),
) -> Result<(Node, Type, usize), FieldError> {
    for (t, at) in [(l.1, l.2), (r.1, r.2)] {
        if t != Type::Bool {
            return Err(err(
                at,
                "and / or 的两边应为条件",
                "and / or need conditions",
            ));
        }
    }
    Ok((Node::Bin(op, Box::new(l.0), Box::new(r.0)), Type::Bool, l.2))
}

impl Expr {
    /// Parses and type-checks `source`; the error names the character and the reason.
    pub fn parse(source: &str) -> Result<Expr, FieldError> {
        if source.chars().count() > 2000 {
            return Err(err(
                2000,
                "公式过长(最多2000字)",
                "the expression is too long (2,000 characters at most)",
            ));
        }
        let mut p = Parser {
            toks: lex(source)?,
            pos: 0,
        };
        let (mut node, ty, _) = p.or()?;
        if !matches!(p.peek(), Tok::End) {
            return Err(err(
                p.at(),
                "公式在此处多出内容",
                "unexpected text after the expression",
            ));
        }
        let mut names = Vec::new();
        number_vars(&mut node, &mut names);
        Ok(Expr {
            node,
            ty,
            source: source.to_string(),
            names,
        })
    }

    pub fn ty(&self) -> Type {
        self.ty
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// The data elements the expression reads, sorted (what to recompute it after).
    pub fn variables(&self) -> BTreeSet<String> {
        fn walk(n: &Node, out: &mut BTreeSet<String>) {
            match n {
                Node::Num(_) => {}
                Node::Var(v, _) => {
                    out.insert(v.clone());
                }
                Node::Neg(a) | Node::Not(a) | Node::IsMissing(a) => walk(a, out),
                Node::Bin(_, a, b) => {
                    walk(a, out);
                    walk(b, out);
                }
                Node::If(a, b, c) => {
                    walk(a, out);
                    walk(b, out);
                    walk(c, out);
                }
                Node::Coalesce(v) | Node::Min(v) | Node::Max(v) => {
                    v.iter().for_each(|x| walk(x, out))
                }
            }
        }
        let mut out = BTreeSet::new();
        walk(&self.node, &mut out);
        out
    }

    /// Evaluates with `var` giving each data element's value (None: missing).
    pub fn eval(&self, var: &dyn Fn(&str) -> Option<f64>) -> Value {
        eval(&self.node, &|slot: usize| var(&self.names[slot]))
    }

    /// The data elements read, in slot order (for [`Expr::eval_slots`]).
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Evaluates with `values[i]` the value of `names()[i]`: no lookups by name, for
    /// evaluating one formula over many schools.
    pub fn eval_slots(&self, values: &[Option<f64>]) -> Value {
        eval(&self.node, &|slot: usize| {
            values.get(slot).copied().flatten()
        })
    }
}

fn eval<F: Fn(usize) -> Option<f64>>(n: &Node, var: &F) -> Value {
    use Value::*;
    match n {
        Node::Num(x) => Number(*x),
        Node::Var(_, slot) => var(*slot).filter(|x| x.is_finite()).map_or(Missing, Number),
        Node::Neg(a) => match eval(a, var) {
            Number(x) => Number(-x),
            _ => Missing,
        },
        Node::Not(a) => match eval(a, var) {
            Bool(b) => Bool(!b),
            _ => Missing,
        },
        Node::IsMissing(a) => Bool(eval(a, var) == Missing),
        Node::If(c, a, b) => match eval(c, var) {
            Bool(true) => eval(a, var),
            Bool(false) => eval(b, var),
            _ => Missing,
        },
        Node::Coalesce(v) => v
            .iter()
            .map(|x| eval(x, var))
            .find(|x| *x != Missing)
            .unwrap_or(Missing),
        Node::Min(v) | Node::Max(v) => {
            let mut acc: Option<f64> = None;
            for x in v {
                let Number(x) = eval(x, var) else {
                    return Missing;
                };
                acc = Some(match (acc, n) {
                    (None, _) => x,
                    (Some(a), Node::Min(_)) => a.min(x),
                    (Some(a), _) => a.max(x),
                });
            }
            acc.map_or(Missing, Number)
        }
        Node::Bin(op, a, b) => {
            let (x, y) = (eval(a, var), eval(b, var));
            match op {
                // Three-valued logic: a known false (and) or true (or) decides on its own.
                Op::And => match (x, y) {
                    (Bool(false), _) | (_, Bool(false)) => Bool(false),
                    (Bool(true), Bool(true)) => Bool(true),
                    _ => Missing,
                },
                Op::Or => match (x, y) {
                    (Bool(true), _) | (_, Bool(true)) => Bool(true),
                    (Bool(false), Bool(false)) => Bool(false),
                    _ => Missing,
                },
                _ => {
                    let (Number(x), Number(y)) = (x, y) else {
                        return Missing;
                    };
                    match op {
                        Op::Add => Number(x + y),
                        Op::Sub => Number(x - y),
                        Op::Mul => Number(x * y),
                        Op::Div if y == 0.0 => Missing,
                        Op::Div => Number(x / y),
                        // Compared at the precision data are entered with, so 0.1 + 0.2 == 0.3.
                        Op::Eq => Bool((x - y).abs() <= 1e-9 * (1.0 + x.abs().max(y.abs()))),
                        Op::Ne => Bool((x - y).abs() > 1e-9 * (1.0 + x.abs().max(y.abs()))),
                        Op::Lt => Bool(x < y),
                        Op::Le => Bool(x <= y),
                        Op::Gt => Bool(x > y),
                        Op::Ge => Bool(x >= y),
                        Op::And | Op::Or => Missing,
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn run(src: &str, vars: &[(&str, f64)]) -> Value {
        let m: HashMap<String, f64> = vars.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        Expr::parse(src).expect(src).eval(&|k| m.get(k).copied())
    }

    #[test]
    fn indicators_as_users_write_them() {
        let school = [
            ("图书册数", 23_226.0),
            ("在校学生数", 376.0),
            ("专任教师数", 30.0),
        ];
        assert_eq!(
            run("图书册数 / 在校学生数", &school),
            Value::Number(23_226.0 / 376.0)
        );
        assert_eq!(
            run("专任教师数 / 在校学生数 * 100", &school),
            Value::Number(30.0 / 376.0 * 100.0)
        );
        // Full-width brackets and ×/÷ as typed on Chinese keyboards.
        assert_eq!(
            run("(专任教师数 ÷ 在校学生数)× 100", &school),
            run("专任教师数 / 在校学生数 * 100", &school)
        );
        assert_eq!(run("1 + 2 * 3 - 4 / 2", &[]), Value::Number(5.0));
        assert_eq!(run("-(2 + 3) * 2", &[]), Value::Number(-10.0));
    }

    #[test]
    fn missing_values_propagate_unless_handled() {
        assert_eq!(
            run("骨干教师数 / 在校学生数", &[("在校学生数", 10.0)]),
            Value::Missing
        );
        assert_eq!(
            run(
                "coalesce(骨干教师数, 0) / 在校学生数",
                &[("在校学生数", 10.0)]
            ),
            Value::Number(0.0)
        );
        assert_eq!(run("missing(骨干教师数)", &[]), Value::Bool(true));
        assert_eq!(
            run("if(missing(a), 0, a * 2)", &[("a", 4.0)]),
            Value::Number(8.0)
        );
        // No students: no 生均 value, rather than infinity.
        assert_eq!(
            run("图书 / 学生", &[("图书", 10.0), ("学生", 0.0)]),
            Value::Missing
        );
        // Three-valued logic: false and unknown is false; true or unknown is true.
        assert_eq!(run("1 > 2 and x > 0", &[]), Value::Bool(false));
        assert_eq!(run("1 < 2 or x > 0", &[]), Value::Bool(true));
        assert_eq!(run("1 < 2 and x > 0", &[]), Value::Missing);
    }

    #[test]
    fn validation_rules_compare() {
        let v = [
            ("合格教师数", 28.0),
            ("专任教师数", 30.0),
            ("小学生数", 166.0),
            ("初中生数", 210.0),
            ("在校学生数", 376.0),
        ];
        assert_eq!(run("合格教师数 <= 专任教师数", &v), Value::Bool(true));
        assert_eq!(
            run("小学生数 + 初中生数 == 在校学生数", &v),
            Value::Bool(true)
        );
        assert_eq!(run("0.1 + 0.2 == 0.3", &[]), Value::Bool(true));
        assert_eq!(run("not (合格教师数 > 专任教师数)", &v), Value::Bool(true));
        assert_eq!(run("max(1, 5, 3) - min(4, 2)", &[]), Value::Number(3.0));
    }

    #[test]
    fn variables_are_listed_for_recomputation() {
        let e = Expr::parse("if(b > 0, a / b * 100, coalesce(c, 0))").expect("parse");
        assert_eq!(
            e.variables().into_iter().collect::<Vec<_>>(),
            vec!["a", "b", "c"]
        );
        assert_eq!(e.ty(), Type::Number);
        assert_eq!(Expr::parse("a <= b").expect("p").ty(), Type::Bool);
    }

    #[test]
    fn errors_name_the_character_and_the_reason() {
        for (src, at, why) in [
            ("a +", "第4个字符", "不完整"),
            ("a + * b", "第5个字符", "不应出现"),
            ("(a + b", "第7个字符", "应为“)”"),
            ("a $ b", "第3个字符", "无法识别"),
            ("a + (b > c)", "第5个字符", "应为数值"),
            ("a and b", "第1个字符", "应为条件"),
            ("foo(a)", "第1个字符", "未知函数"),
            ("if(a, b, c)", "第4个字符", "应为条件"),
            ("if(a > 0, b, c > d)", "第14个字符", "类型应相同"),
            ("a b", "第3个字符", "多出内容"),
            ("1.2.3", "第1个字符", "不是数字"),
        ] {
            let e = Expr::parse(src).expect_err(src);
            assert_eq!(e.field, "expression");
            assert!(
                e.message_zh.contains(at) && e.message_zh.contains(why),
                "{src}: {}",
                e.message_zh
            );
        }
        assert!(Expr::parse(&"1+".repeat(1500)).is_err());
        let deep = format!("{}1{}", "(".repeat(60), ")".repeat(60));
        assert!(
            Expr::parse(&deep)
                .expect_err("deep")
                .message_zh
                .contains("嵌套过深")
        );
        assert!(Expr::parse(&format!("{}1{}", "(".repeat(40), ")".repeat(40))).is_ok());
    }
}
