//! RocketMQ's SQL92 selector parser (`SelectorParser.jj`, 4.9.8) and the expression tree it builds.
//!
//! Grammar, loosest first (every binary level is left-associative):
//! ```text
//! selector   := or                                   -- no <EOF>: see below
//! or         := and ( OR and )*
//! and        := equality ( AND equality )*
//! equality   := comparison ( "=" comparison | "<>" comparison | IS NULL | IS NOT NULL )*
//! comparison := unary ( (">"|">="|"<"|"<=") unary | [NOT] BETWEEN unary AND unary
//!                     | [NOT] IN "(" string ("," string)* ")" )*
//! unary      := "+" unary | "-" unary | NOT unary | primary
//! primary    := literal | ID | "(" or ")"
//! literal    := STRING | DECIMAL | FLOAT | TRUE | FALSE | NULL
//! ```
//! RocketMQ's quirks, kept on purpose because a student meets them:
//! * `NOT` binds tighter than comparisons: `NOT a = 1` is `(NOT a) = 1`, a Boolean compared with an
//!   Integer, which compiles and never matches (and `NOT a > 1` is refused: a boolean cannot be
//!   compared); write `NOT (a = 1)`.
//! * The grammar has no end-of-input rule: text after a complete expression is ignored
//!   (`a = 1 b = 2` selects on `a = 1`). [`Selector::ignored_tail`] says where it starts.
//! * A float literal that is 0 (`0.0`) is refused ("0.0 is less than 4.9E-324"), as `createFloat`
//!   compares with `Double.MIN_VALUE`; integers that do not fit a long are refused.
//! * The checks of RocketMQ's expression factories run at parse time: `=` and `<>` refuse a NULL
//!   operand and a TRUE/FALSE constant compared with another kind of constant; `>`, `>=`, `<`, `<=`
//!   and BETWEEN take only numeric constants and non-boolean expressions; BETWEEN's constant bounds must
//!   be ordered; IN needs a property on its left.
//!
//! Errors carry the line and column of the offending token; the messages follow RocketMQ's wording
//! (expressions in messages are printed in RocketMQ's `toString` form, except that a float literal is
//! shown as written rather than in Java's `Double.toString` form).

use std::fmt;

use super::evaluate::{java_compare, Value};
use super::java_number::{parse_long, JavaDouble};
use super::lexer::{tokenize, Token, TokenKind, MAX_EXPRESSION_CHARS};

/// A literal of the non-boolean kinds (`ConstantExpression`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Constant {
    String(String),
    Int(i32),
    Long(i64),
    /// A floating-point literal, with the text it was written as.
    Double {
        value: JavaDouble,
        image: String,
    },
}

/// `>`, `>=`, `<`, `<=`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Relation {
    Greater,
    GreaterEqual,
    Less,
    LessEqual,
}

impl Relation {
    fn symbol(self) -> &'static str {
        match self {
            Relation::Greater => ">",
            Relation::GreaterEqual => ">=",
            Relation::Less => "<",
            Relation::LessEqual => "<=",
        }
    }
}

/// The expression tree (RocketMQ's `Expression` classes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expr {
    Constant(Constant),
    /// `BooleanConstantExpression`: TRUE, FALSE, or NULL (None).
    BooleanConstant(Option<bool>),
    /// A message property (`PropertyExpression`): its string value, or NULL when absent.
    Property(String),
    Negate(Box<Expr>),
    Not(Box<Expr>),
    /// A property used as a condition (`createBooleanCast`).
    BooleanCast(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    /// `doCreateEqual` (also IS NULL).
    Equal(Box<Expr>, Box<Expr>),
    Compare(Relation, Box<Expr>, Box<Expr>),
    In {
        property: String,
        values: Vec<String>,
        not: bool,
    },
}

impl Expr {
    /// `instanceof BooleanExpression`.
    pub fn is_boolean(&self) -> bool {
        !matches!(self, Expr::Constant(_) | Expr::Property(_) | Expr::Negate(_))
    }

    /// `instanceof ConstantExpression` (boolean constants included).
    fn constant_value(&self) -> Option<Value> {
        match self {
            Expr::Constant(c) => Some(Value::of_constant(c)),
            Expr::BooleanConstant(None) => Some(Value::Null),
            Expr::BooleanConstant(Some(b)) => Some(Value::Boolean(*b)),
            _ => None,
        }
    }
}

impl fmt::Display for Expr {
    /// RocketMQ's `toString`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Constant(Constant::String(s)) => write!(f, "'{}'", s.replace('\'', "''")),
            Expr::Constant(Constant::Int(v)) => write!(f, "{v}"),
            Expr::Constant(Constant::Long(v)) => write!(f, "{v}"),
            Expr::Constant(Constant::Double { image, .. }) => write!(f, "{image}"),
            Expr::BooleanConstant(None) => write!(f, "NULL"),
            Expr::BooleanConstant(Some(true)) => write!(f, "TRUE"),
            Expr::BooleanConstant(Some(false)) => write!(f, "FALSE"),
            Expr::Property(name) => write!(f, "{name}"),
            Expr::Negate(e) => write!(f, "(- {e})"),
            Expr::Not(e) => write!(f, "(NOT {e})"),
            Expr::BooleanCast(e) => write!(f, "{e}"),
            Expr::And(l, r) => write!(f, "({l} && {r})"),
            Expr::Or(l, r) => write!(f, "({l} || {r})"),
            Expr::Equal(l, r) => write!(f, "({l} == {r})"),
            Expr::Compare(rel, l, r) => write!(f, "({l} {} {r})", rel.symbol()),
            Expr::In { property, values, not } => {
                write!(f, "{property} {} ( {} )", if *not { "NOT IN" } else { "IN" }, values.join(", "))
            }
        }
    }
}

/// A parse error: where, and what RocketMQ would say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterParseError {
    pub line: u32,
    pub column: u32,
    /// Character offset from the start of the expression.
    pub offset: u32,
    pub message: String,
}

impl fmt::Display for FilterParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Invalid MessageSelector. {} (line {}, column {})", self.message, self.line, self.column)
    }
}

/// Where ignored trailing text starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IgnoredTail {
    pub line: u32,
    pub column: u32,
    pub text: String,
}

/// A compiled SQL92 selector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selector {
    pub source: String,
    pub expression: Expr,
    /// Text after the expression that RocketMQ's parser never reads.
    pub ignored_tail: Option<IgnoredTail>,
}

/// `SelectorParser.parse(sql)`.
pub fn compile(sql: &str) -> Result<Selector, FilterParseError> {
    if sql.chars().count() > MAX_EXPRESSION_CHARS {
        return Err(FilterParseError {
            line: 1,
            column: 1,
            offset: 0,
            message: format!("the expression is longer than {MAX_EXPRESSION_CHARS} characters"),
        });
    }
    let tokens = tokenize(sql);
    let mut parser = Parser { tokens: &tokens, next: 0, depth: 0 };
    let expression = parser.or_expression()?;
    let expression = as_boolean(expression).map_err(|message| parser.error_at(0, message))?;
    let rest = &tokens[parser.next];
    let ignored_tail = (rest.kind != TokenKind::Eof).then(|| IgnoredTail {
        line: rest.line,
        column: rest.column,
        text: sql.chars().skip(rest.offset as usize).collect(),
    });
    Ok(Selector { source: sql.to_string(), expression, ignored_tail })
}

/// Nesting allowed (parentheses, unary chains), so a hostile expression cannot overflow the stack.
const MAX_DEPTH: u32 = 200;

struct Parser<'a> {
    tokens: &'a [Token],
    next: usize,
    depth: u32,
}

type Parsed = Result<Expr, FilterParseError>;

impl Parser<'_> {
    fn peek(&self, ahead: usize) -> &Token {
        let last = self.tokens.len() - 1;
        &self.tokens[(self.next + ahead).min(last)]
    }

    /// The kind of the token `ahead` positions on; reaching a lexical error raises it.
    fn kind(&self, ahead: usize) -> Result<TokenKind, FilterParseError> {
        let token = self.peek(ahead);
        if token.kind == TokenKind::Error {
            return Err(FilterParseError {
                line: token.line,
                column: token.column,
                offset: token.offset,
                message: format!(
                    "Lexical error at line {}, column {}.  Encountered: \"{}\"",
                    token.line, token.column, token.image
                ),
            });
        }
        Ok(token.kind)
    }

    fn bump(&mut self) -> Token {
        let token = self.peek(0).clone();
        if token.kind != TokenKind::Eof {
            self.next += 1;
        }
        token
    }

    fn error_at(&self, ahead: usize, message: String) -> FilterParseError {
        let token = self.peek(ahead);
        FilterParseError { line: token.line, column: token.column, offset: token.offset, message }
    }

    fn unexpected(&self, expected: &[TokenKind]) -> FilterParseError {
        let token = self.peek(0);
        let found = if token.kind == TokenKind::Eof { "<EOF>".to_string() } else { token.image.clone() };
        let expected: Vec<&str> = expected.iter().map(|k| k.describe()).collect();
        self.error_at(
            0,
            format!(
                "Encountered \"{found}\" at line {}, column {}. Was expecting one of: {}",
                token.line,
                token.column,
                expected.join(", ")
            ),
        )
    }

    fn expect(&mut self, kind: TokenKind) -> Result<Token, FilterParseError> {
        if self.kind(0)? == kind {
            Ok(self.bump())
        } else {
            Err(self.unexpected(&[kind]))
        }
    }

    /// Run a factory; its error is reported at the operator token.
    fn build(&self, at: &Token, made: Result<Expr, String>) -> Parsed {
        made.map_err(|message| FilterParseError { line: at.line, column: at.column, offset: at.offset, message })
    }

    fn enter(&mut self) -> Result<(), FilterParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error_at(0, format!("the expression nests deeper than {MAX_DEPTH} levels")));
        }
        Ok(())
    }

    fn or_expression(&mut self) -> Parsed {
        self.enter()?;
        let mut left = self.and_expression()?;
        while self.kind(0)? == TokenKind::Or {
            let op = self.bump();
            let right = self.and_expression()?;
            left = self.build(&op, logic(left, right, Expr::Or))?;
        }
        self.depth -= 1;
        Ok(left)
    }

    fn and_expression(&mut self) -> Parsed {
        let mut left = self.equality_expression()?;
        while self.kind(0)? == TokenKind::And {
            let op = self.bump();
            let right = self.equality_expression()?;
            left = self.build(&op, logic(left, right, Expr::And))?;
        }
        Ok(left)
    }

    fn equality_expression(&mut self) -> Parsed {
        let mut left = self.comparison_expression()?;
        loop {
            match self.kind(0)? {
                TokenKind::Equal => {
                    let op = self.bump();
                    let right = self.comparison_expression()?;
                    left = self.build(&op, create_equal(left, right))?;
                }
                TokenKind::NotEqual => {
                    let op = self.bump();
                    let right = self.comparison_expression()?;
                    left = self.build(&op, create_equal(left, right).map(|e| Expr::Not(Box::new(e))))?;
                }
                TokenKind::Is if self.kind(1)? == TokenKind::Null => {
                    self.bump();
                    self.bump();
                    left = Expr::Equal(Box::new(left), Box::new(Expr::BooleanConstant(None)));
                }
                TokenKind::Is => {
                    self.bump();
                    self.expect(TokenKind::Not)?;
                    self.expect(TokenKind::Null)?;
                    left = Expr::Not(Box::new(Expr::Equal(Box::new(left), Box::new(Expr::BooleanConstant(None)))));
                }
                _ => return Ok(left),
            }
        }
    }

    fn comparison_expression(&mut self) -> Parsed {
        let mut left = self.unary_expression()?;
        loop {
            let relation = match self.kind(0)? {
                TokenKind::Greater => Some(Relation::Greater),
                TokenKind::GreaterEqual => Some(Relation::GreaterEqual),
                TokenKind::Less => Some(Relation::Less),
                TokenKind::LessEqual => Some(Relation::LessEqual),
                _ => None,
            };
            if let Some(relation) = relation {
                let op = self.bump();
                let right = self.unary_expression()?;
                left = self.build(&op, create_compare(relation, left, right))?;
                continue;
            }
            let negated =
                self.kind(0)? == TokenKind::Not && matches!(self.kind(1)?, TokenKind::Between | TokenKind::In);
            let at = usize::from(negated);
            match self.kind(at)? {
                TokenKind::Between => {
                    if negated {
                        self.bump();
                    }
                    let op = self.bump();
                    let low = self.unary_expression()?;
                    self.expect(TokenKind::And)?;
                    let high = self.unary_expression()?;
                    let made =
                        if negated { create_not_between(left, low, high) } else { create_between(left, low, high) };
                    left = self.build(&op, made)?;
                }
                TokenKind::In => {
                    if negated {
                        self.bump();
                    }
                    let op = self.bump();
                    self.expect(TokenKind::LeftParen)?;
                    let mut values = vec![string_value(&self.expect(TokenKind::String)?.image)];
                    while self.kind(0)? == TokenKind::Comma {
                        self.bump();
                        values.push(string_value(&self.expect(TokenKind::String)?.image));
                    }
                    self.expect(TokenKind::RightParen)?;
                    left = self.build(&op, create_in(left, values, negated))?;
                }
                _ => return Ok(left),
            }
        }
    }

    fn unary_expression(&mut self) -> Parsed {
        self.enter()?;
        let parsed = match self.kind(0)? {
            TokenKind::Plus => {
                self.bump();
                self.unary_expression()
            }
            TokenKind::Minus => {
                self.bump();
                self.unary_expression().map(|e| Expr::Negate(Box::new(e)))
            }
            TokenKind::Not => {
                let op = self.bump();
                let operand = self.unary_expression()?;
                self.build(&op, as_boolean(operand).map(|e| Expr::Not(Box::new(e))))
            }
            _ => self.primary_expression(),
        };
        self.depth -= 1;
        parsed
    }

    fn primary_expression(&mut self) -> Parsed {
        match self.kind(0)? {
            TokenKind::String => Ok(Expr::Constant(Constant::String(string_value(&self.bump().image)))),
            TokenKind::Decimal => {
                let token = self.bump();
                self.build(&token, create_from_decimal(&token.image))
            }
            TokenKind::Float => {
                let token = self.bump();
                self.build(&token, create_float(&token.image))
            }
            TokenKind::True => {
                self.bump();
                Ok(Expr::BooleanConstant(Some(true)))
            }
            TokenKind::False => {
                self.bump();
                Ok(Expr::BooleanConstant(Some(false)))
            }
            TokenKind::Null => {
                self.bump();
                Ok(Expr::BooleanConstant(None))
            }
            TokenKind::Id => Ok(Expr::Property(self.bump().image)),
            TokenKind::LeftParen => {
                self.bump();
                let inner = self.or_expression()?;
                self.expect(TokenKind::RightParen)?;
                Ok(inner)
            }
            _ => Err(self.unexpected(&[
                TokenKind::String,
                TokenKind::Decimal,
                TokenKind::Float,
                TokenKind::True,
                TokenKind::False,
                TokenKind::Null,
                TokenKind::Id,
                TokenKind::LeftParen,
                TokenKind::Plus,
                TokenKind::Minus,
                TokenKind::Not,
            ])),
        }
    }
}

/// `stringLitteral`: the text between the quotes, doubled quotes made single.
fn string_value(image: &str) -> String {
    let inner = &image[1..image.len() - 1];
    inner.replace("''", "'")
}

/// `asBooleanExpression`.
pub fn as_boolean(value: Expr) -> Result<Expr, String> {
    if value.is_boolean() {
        return Ok(value);
    }
    if matches!(value, Expr::Property(_)) {
        return Ok(Expr::BooleanCast(Box::new(value)));
    }
    Err(format!("Expression will not result in a boolean value: {value}"))
}

fn logic(left: Expr, right: Expr, make: fn(Box<Expr>, Box<Expr>) -> Expr) -> Result<Expr, String> {
    Ok(make(Box::new(as_boolean(left)?), Box::new(as_boolean(right)?)))
}

/// `ConstantExpression.createFromDecimal`: an int when it fits, else a long.
fn create_from_decimal(image: &str) -> Result<Expr, String> {
    let digits = image.strip_suffix(['l', 'L']).unwrap_or(image);
    let value = parse_long(digits).map_err(|e| format!("java.lang.NumberFormatException: {}", e.0))?;
    Ok(Expr::Constant(match i32::try_from(value) {
        Ok(int) => Constant::Int(int),
        Err(_) => Constant::Long(value),
    }))
}

/// `ConstantExpression.createFloat`: a double, refused above `Double.MAX_VALUE` or below `Double.MIN_VALUE`
/// (so a literal equal to zero is refused too).
fn create_float(image: &str) -> Result<Expr, String> {
    let value = JavaDouble::parse(image).map_err(|e| format!("java.lang.NumberFormatException: {}", e.0))?;
    if matches!(value, JavaDouble::Infinite { .. }) {
        return Err(format!("{image} is greater than 1.7976931348623157E308"));
    }
    if value.is_zero() {
        return Err(format!("{image} is less than 4.9E-324"));
    }
    Ok(Expr::Constant(Constant::Double { value, image: image.to_string() }))
}

/// `checkEqualOperand` + `checkEqualOperandCompatability`, then `doCreateEqual`.
fn create_equal(left: Expr, right: Expr) -> Result<Expr, String> {
    for operand in [&left, &right] {
        if operand.constant_value() == Some(Value::Null) {
            return Err(format!("'{operand}' cannot be compared."));
        }
    }
    let both_constants = left.constant_value().is_some() && right.constant_value().is_some();
    if both_constants && matches!(left, Expr::BooleanConstant(_)) && !matches!(right, Expr::BooleanConstant(_)) {
        return Err(format!("'{left}' cannot be compared with '{right}'"));
    }
    Ok(Expr::Equal(Box::new(left), Box::new(right)))
}

/// `checkLessThanOperand`: only numeric constants and non-boolean expressions.
fn check_less_than_operand(operand: &Expr) -> Result<(), String> {
    match operand.constant_value() {
        Some(Value::Int(_) | Value::Long(_) | Value::Double(_)) => Ok(()),
        Some(_) => Err(format!("Value '{operand}' cannot be compared.")),
        None if operand.is_boolean() => Err(format!("Value '{operand}' cannot be compared.")),
        None => Ok(()),
    }
}

fn create_compare(relation: Relation, left: Expr, right: Expr) -> Result<Expr, String> {
    check_less_than_operand(&left)?;
    check_less_than_operand(&right)?;
    Ok(Expr::Compare(relation, Box::new(left), Box::new(right)))
}

/// `createBetween`: constant bounds must be non-null and ordered; then `value >= low AND value <= high`.
fn create_between(value: Expr, low: Expr, high: Expr) -> Result<Expr, String> {
    if let (Some(lv), Some(rv)) = (low.constant_value(), high.constant_value()) {
        if lv == Value::Null || rv == Value::Null {
            return Err("Illegal values of between, values can not be null!".into());
        }
        let order = java_compare(&rv, &lv).map_err(|e| e.to_string())?;
        if order < 0 {
            return Err(format!(
                "Illegal values of between, left value({}) must less than or equal to right value({})",
                lv.java_string(),
                rv.java_string()
            ));
        }
    }
    let lower = create_compare(Relation::GreaterEqual, value.clone(), low)?;
    let upper = create_compare(Relation::LessEqual, value, high)?;
    Ok(Expr::And(Box::new(lower), Box::new(upper)))
}

/// `createNotBetween`: `value < low OR value > high`.
fn create_not_between(value: Expr, low: Expr, high: Expr) -> Result<Expr, String> {
    let below = create_compare(Relation::Less, value.clone(), low)?;
    let above = create_compare(Relation::Greater, value, high)?;
    Ok(Expr::Or(Box::new(below), Box::new(above)))
}

/// `createInFilter` / `createNotInFilter`.
fn create_in(left: Expr, values: Vec<String>, not: bool) -> Result<Expr, String> {
    match left {
        Expr::Property(property) => Ok(Expr::In { property, values, not }),
        other => Err(format!("Expected a property for In expression, got: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(sql: &str) -> FilterParseError {
        compile(sql).expect_err(sql)
    }

    #[test]
    fn precedence_is_or_and_equality_comparison_unary() {
        let s = compile("a > 1 AND b = 'x' OR NOT (c IS NULL)").unwrap();
        assert_eq!(s.expression.to_string(), "(((a > 1) && (b == 'x')) || (NOT (c == NULL)))");
        let s = compile("a BETWEEN 1 AND 5").unwrap();
        assert_eq!(s.expression.to_string(), "((a >= 1) && (a <= 5))");
        let s = compile("a NOT IN ('x', 'y''z')").unwrap();
        assert_eq!(s.expression.to_string(), "a NOT IN ( x, y'z )");
        let s = compile("flag").unwrap();
        assert_eq!(s.expression, Expr::BooleanCast(Box::new(Expr::Property("flag".into()))));
    }

    #[test]
    fn not_binds_tighter_than_a_comparison() {
        let s = compile("NOT a = 1").unwrap();
        assert_eq!(s.expression.to_string(), "((NOT a) == 1)");
        assert_eq!(err("NOT a > 1").message, "Value '(NOT a)' cannot be compared.");
        assert_eq!(compile("NOT (a = 1)").unwrap().expression.to_string(), "(NOT (a == 1))");
    }

    #[test]
    fn trailing_text_is_ignored_as_rocketmq_ignores_it() {
        let s = compile("a = 1 b = 2").unwrap();
        assert_eq!(s.expression.to_string(), "(a == 1)");
        let tail = s.ignored_tail.unwrap();
        assert_eq!((tail.line, tail.column, tail.text.as_str()), (1, 7, "b = 2"));
        // A lexical error right after the expression is still seen (JavaCC peeks one token).
        assert!(err("a = 1 !").message.starts_with("Lexical error at line 1, column 7."));
    }

    #[test]
    fn errors_name_their_position() {
        let e = err("a = ");
        assert_eq!((e.line, e.column), (1, 5));
        assert!(e.message.starts_with("Encountered \"<EOF>\" at line 1, column 5."), "{e}");
        let e = err("a > 'x'");
        assert_eq!((e.column, e.message.as_str()), (3, "Value ''x'' cannot be compared."));
        let e = err("a = NULL");
        assert_eq!(e.message, "'NULL' cannot be compared.");
        let e = err("TRUE = 5");
        assert_eq!(e.message, "'TRUE' cannot be compared with '5'");
        let e = err("5 IN ('a')");
        assert_eq!(e.message, "Expected a property for In expression, got: 5");
        let e = err("a BETWEEN 5 AND 2.5");
        assert_eq!(e.message, "Illegal values of between, left value(5) must less than or equal to right value(2.5)");
        assert_eq!(err("a > 0.0").message, "0.0 is less than 4.9E-324");
        assert!(err("a > 9223372036854775808").message.contains("NumberFormatException"));
        assert_eq!(err("1").message, "Expression will not result in a boolean value: 1");
        assert!(err(&"(".repeat(500)).message.contains("nests deeper"));
    }

    #[test]
    fn decimal_literals_are_ints_when_they_fit_and_longs_otherwise() {
        let s = compile("a = 2147483648").unwrap();
        assert!(matches!(s.expression, Expr::Equal(_, ref r) if **r == Expr::Constant(Constant::Long(2_147_483_648))));
        let s = compile("a = 7L").unwrap();
        assert!(matches!(s.expression, Expr::Equal(_, ref r) if **r == Expr::Constant(Constant::Int(7))));
    }
}
