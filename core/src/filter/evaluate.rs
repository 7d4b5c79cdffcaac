//! Evaluation of a SQL92 selector against a message's properties, with the semantics of RocketMQ's
//! `filter/expression/*.java` (4.9.8), three-valued logic included.
//!
//! Values are Java objects of five classes: `Boolean`, `String` (every property is a string),
//! `Integer`, `Long`, `Double` (literals), and NULL (an absent property). Rules worth knowing:
//! * `=`: NULL on the left gives NULL (unknown), NULL on the right FALSE, both NULL TRUE; equal objects
//!   are TRUE; otherwise the two are compared after the conversions below (`0` means equal).
//! * `>`, `>=`, `<`, `<=`: NULL on either side is NULL; two strings are both read as doubles (an error
//!   if either is not a number); otherwise the conversions below.
//! * Conversions (`ComparisonExpression.__compare` with string conversion on, as the parser sets it):
//!   a string compared with an Integer is read with `Integer.valueOf`, with a Long `Long.valueOf`, with a
//!   Double `Double.valueOf`, with a Boolean `Boolean.valueOf`; Integer→Long→Double widen; unrelated
//!   classes compare as "less" (-1). `TRUE = 'true'` throws (RocketMQ casts the Boolean to a String).
//! * AND/OR short-circuit from the left; an error (a failed conversion) anywhere that is evaluated makes
//!   the whole evaluation fail, and the broker then treats the message as *not matched*.
//! * A property used as a condition (`WHERE flag`) is FALSE for any string, NULL when absent.
//!
//! Numbers compare exactly (`java_number.rs`): as Java would after rounding to binary64, but with
//! integer arithmetic only.

use std::cmp::Ordering;
use std::fmt;

use super::java_number::{parse_int, parse_long, JavaDouble};
use super::parser::{Constant, Expr, Relation};

/// A Java value during evaluation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Null,
    Boolean(bool),
    String(String),
    Int(i32),
    Long(i64),
    Double(JavaDouble),
}

impl Value {
    pub fn of_constant(constant: &Constant) -> Value {
        match constant {
            Constant::String(s) => Value::String(s.clone()),
            Constant::Int(v) => Value::Int(*v),
            Constant::Long(v) => Value::Long(*v),
            Constant::Double { value, .. } => Value::Double(*value),
        }
    }

    /// `String.valueOf(value)` in Java (for messages).
    pub fn java_string(&self) -> String {
        match self {
            Value::Null => "null".into(),
            Value::Boolean(b) => b.to_string(),
            Value::String(s) => s.clone(),
            Value::Int(v) => v.to_string(),
            Value::Long(v) => v.to_string(),
            Value::Double(d) => java_double_to_string(*d),
        }
    }
}

/// Why an evaluation failed (the exception RocketMQ's evaluation would throw).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EvalError {
    /// A string that had to be a number was not (`NumberFormatException`).
    NumberFormat(String),
    /// `>`/`<` between two strings that are not both numbers.
    IllegalStringComparison { left: String, right: String },
    /// `TRUE = 'x'`: RocketMQ casts the Boolean to a String (`ClassCastException`).
    ClassCast,
}

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EvalError::NumberFormat(message) => write!(f, "java.lang.NumberFormatException: {message}"),
            EvalError::IllegalStringComparison { left, right } => {
                write!(f, "It's illegal to compare string by '>=', '>', '<', '<='. lv={left}, rv={right}")
            }
            EvalError::ClassCast => {
                write!(f, "java.lang.ClassCastException: java.lang.Boolean cannot be cast to java.lang.String")
            }
        }
    }
}

fn number_format(e: super::java_number::NumberFormatError) -> EvalError {
    EvalError::NumberFormat(e.0)
}

fn sign(ordering: Ordering) -> i32 {
    match ordering {
        Ordering::Less => -1,
        Ordering::Equal => 0,
        Ordering::Greater => 1,
    }
}

/// `ComparisonExpression.__compare(lv, rv, true)`: the sign of `lv.compareTo(rv)` after conversions.
pub fn java_compare(lv: &Value, rv: &Value) -> Result<i32, EvalError> {
    use Value::*;
    let double = |v: i64| JavaDouble::from_i64(v);
    Ok(match (lv, rv) {
        (Boolean(a), Boolean(b)) => sign(a.cmp(b)),
        (String(a), String(b)) => sign(crate::java::compare_strings(a, b)),
        (Int(a), Int(b)) => sign(a.cmp(b)),
        (Long(a), Long(b)) => sign(a.cmp(b)),
        (Double(a), Double(b)) => sign(a.compare_to(*b)),
        (Boolean(_), String(_)) => return Err(EvalError::ClassCast),
        (Int(a), Long(b)) => sign(i64::from(*a).cmp(b)),
        (Int(a), Double(b)) => sign(double(i64::from(*a)).compare_to(*b)),
        (Int(a), String(b)) => sign(a.cmp(&parse_int(b).map_err(number_format)?)),
        (Long(a), Int(b)) => sign(a.cmp(&i64::from(*b))),
        (Long(a), Double(b)) => sign(double(*a).compare_to(*b)),
        (Long(a), String(b)) => sign(a.cmp(&parse_long(b).map_err(number_format)?)),
        (Double(a), Int(b)) => sign(a.compare_to(double(i64::from(*b)))),
        (Double(a), Long(b)) => sign(a.compare_to(double(*b))),
        (Double(a), String(b)) => sign(a.compare_to(JavaDouble::parse(b).map_err(number_format)?)),
        (String(a), Boolean(b)) => sign(a.eq_ignore_ascii_case("true").cmp(b)),
        (String(a), Int(b)) => sign(parse_int(a).map_err(number_format)?.cmp(b)),
        (String(a), Long(b)) => sign(parse_long(a).map_err(number_format)?.cmp(b)),
        (String(a), Double(b)) => sign(JavaDouble::parse(a).map_err(number_format)?.compare_to(*b)),
        _ => -1,
    })
}

/// `Object.equals` between two non-null values (no conversion).
fn java_equals(lv: &Value, rv: &Value) -> bool {
    match (lv, rv) {
        (Value::Double(a), Value::Double(b)) => a.compare_to(*b) == Ordering::Equal,
        _ => lv == rv,
    }
}

/// `Expression.evaluate(context)`; `property` looks a message property up.
pub fn evaluate(expr: &Expr, property: &dyn Fn(&str) -> Option<String>) -> Result<Value, EvalError> {
    Ok(match expr {
        Expr::Constant(c) => Value::of_constant(c),
        Expr::BooleanConstant(b) => b.map_or(Value::Null, Value::Boolean),
        Expr::Property(name) => property(name).map_or(Value::Null, Value::String),
        Expr::Negate(inner) => match evaluate(inner, property)? {
            Value::Int(v) => Value::Int(v.wrapping_neg()),
            Value::Long(v) => Value::Long(v.wrapping_neg()),
            Value::Double(d) => Value::Double(d.negate()),
            _ => Value::Null,
        },
        Expr::Not(inner) => match evaluate(inner, property)? {
            Value::Null => Value::Null,
            Value::Boolean(b) => Value::Boolean(!b),
            _ => return Err(EvalError::ClassCast),
        },
        Expr::BooleanCast(inner) => match evaluate(inner, property)? {
            Value::Null => Value::Null,
            Value::Boolean(b) => Value::Boolean(b),
            _ => Value::Boolean(false),
        },
        Expr::And(left, right) => {
            let lv = boolean(evaluate(left, property)?)?;
            if lv == Some(false) {
                return Ok(Value::Boolean(false));
            }
            let rv = boolean(evaluate(right, property)?)?;
            if rv == Some(false) {
                return Ok(Value::Boolean(false));
            }
            if lv.is_none() || rv.is_none() {
                return Ok(Value::Null);
            }
            Value::Boolean(true)
        }
        Expr::Or(left, right) => {
            let lv = boolean(evaluate(left, property)?)?;
            if lv == Some(true) {
                return Ok(Value::Boolean(true));
            }
            let rv = boolean(evaluate(right, property)?)?;
            if rv == Some(true) {
                return Ok(Value::Boolean(true));
            }
            if lv.is_none() || rv.is_none() {
                return Ok(Value::Null);
            }
            Value::Boolean(false)
        }
        Expr::Equal(left, right) => {
            let lv = evaluate(left, property)?;
            let rv = evaluate(right, property)?;
            match (&lv, &rv) {
                (Value::Null, Value::Null) => Value::Boolean(true),
                (Value::Null, _) => Value::Null,
                (_, Value::Null) => Value::Boolean(false),
                _ if java_equals(&lv, &rv) => Value::Boolean(true),
                _ => Value::Boolean(java_compare(&lv, &rv)? == 0),
            }
        }
        Expr::Compare(relation, left, right) => {
            let lv = evaluate(left, property)?;
            if lv == Value::Null {
                return Ok(Value::Null);
            }
            let rv = evaluate(right, property)?;
            if rv == Value::Null {
                return Ok(Value::Null);
            }
            let answer = match (&lv, &rv) {
                (Value::String(a), Value::String(b)) => {
                    let illegal = || EvalError::IllegalStringComparison { left: a.clone(), right: b.clone() };
                    let a = JavaDouble::parse(a).map_err(|_| illegal())?;
                    let b = JavaDouble::parse(b).map_err(|_| illegal())?;
                    sign(a.compare_to(b))
                }
                _ => java_compare(&lv, &rv)?,
            };
            Value::Boolean(match relation {
                Relation::Greater => answer > 0,
                Relation::GreaterEqual => answer >= 0,
                Relation::Less => answer < 0,
                Relation::LessEqual => answer <= 0,
            })
        }
        Expr::In { property: name, values, not } => match property(name) {
            None => Value::Null,
            Some(value) => Value::Boolean(values.contains(&value) ^ not),
        },
    })
}

/// `(Boolean) value`: a boolean expression yields a Boolean or NULL.
fn boolean(value: Value) -> Result<Option<bool>, EvalError> {
    match value {
        Value::Null => Ok(None),
        Value::Boolean(b) => Ok(Some(b)),
        _ => Err(EvalError::ClassCast),
    }
}

/// Java's `Double.toString` (for messages only: built from the shortest round-trip digits, which
/// differ from Java 8's in the last digit of rare values, e.g. subnormals: 5.0E-324 for 4.9E-324).
pub fn java_double_to_string(d: JavaDouble) -> String {
    match d {
        JavaDouble::NaN => "NaN".into(),
        JavaDouble::Infinite { negative } => if negative { "-Infinity" } else { "Infinity" }.into(),
        JavaDouble::Finite { negative, mantissa, exponent } => {
            let sign = if negative { "-" } else { "" };
            if mantissa == 0 {
                return format!("{sign}0.0");
            }
            // Display only: the exact value as an f64 (the bits are those of the Java double).
            let biased = if mantissa < (1 << 52) { 0 } else { (exponent + 52 + 1023) as u64 };
            let fraction = if biased == 0 { mantissa } else { mantissa & ((1 << 52) - 1) };
            let value = f64::from_bits((biased << 52) | fraction);
            let scientific = format!("{value:e}");
            let (digits, exp10) = scientific.split_once('e').expect("`{:e}` has an exponent");
            let exp10: i32 = exp10.parse().expect("an integer exponent");
            let digits: String = digits.chars().filter(|c| *c != '.').collect();
            if (-3..7).contains(&exp10) {
                let point = exp10 + 1;
                let (int_part, frac_part) = if point <= 0 {
                    ("0".to_string(), format!("{}{digits}", "0".repeat((-point) as usize)))
                } else if point as usize >= digits.len() {
                    (format!("{digits}{}", "0".repeat(point as usize - digits.len())), String::new())
                } else {
                    (digits[..point as usize].to_string(), digits[point as usize..].to_string())
                };
                let frac_part = if frac_part.is_empty() { "0".to_string() } else { frac_part };
                format!("{sign}{int_part}.{frac_part}")
            } else {
                let (head, tail) = digits.split_at(1);
                let tail = if tail.is_empty() { "0" } else { tail };
                format!("{sign}{head}.{tail}E{exp10}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::parser::compile;
    use super::*;

    fn eval(sql: &str, properties: &[(&str, &str)]) -> Result<Value, EvalError> {
        let selector = compile(sql).unwrap();
        let lookup = |name: &str| properties.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_string());
        evaluate(&selector.expression, &lookup)
    }

    fn matches(sql: &str, properties: &[(&str, &str)]) -> bool {
        eval(sql, properties) == Ok(Value::Boolean(true))
    }

    #[test]
    fn numeric_comparisons_convert_the_property_per_the_literals_class() {
        assert!(matches("a > 5", &[("a", "6")]));
        assert!(!matches("a > 5", &[("a", "5")]));
        // An int literal reads the property with Integer.valueOf: "5.5" is an error, hence no match.
        assert!(matches!(eval("a > 5", &[("a", "5.5")]), Err(EvalError::NumberFormat(_))));
        assert!(matches("a > 5.0", &[("a", "5.5")]));
        assert!(matches("a BETWEEN 1 AND 3", &[("a", "3")]));
        assert!(matches("a > 2147483648", &[("a", "2147483649")]));
        assert!(matches("a = 0.1", &[("a", "0.10000000000000000001")]), "the same double in Java");
        assert!(matches("a >= -1.5", &[("a", "-1.5")]));
        assert!(matches("a < 1.0E10", &[("a", "9999999999")]));
    }

    #[test]
    fn strings_compare_by_equality_and_in() {
        assert!(matches("region = 'hz'", &[("region", "hz")]));
        assert!(!matches("region <> 'hz'", &[("region", "hz")]));
        assert!(matches("region IN ('hz', 'sh')", &[("region", "sh")]));
        assert!(matches("region NOT IN ('hz')", &[("region", "sh")]));
        // Two strings with > are both read as numbers.
        assert!(matches("a > b", &[("a", "10"), ("b", "9")]));
        assert!(matches!(eval("a > b", &[("a", "x"), ("b", "9")]), Err(EvalError::IllegalStringComparison { .. })));
    }

    #[test]
    fn null_is_unknown_and_is_null_sees_absent_properties() {
        assert_eq!(eval("a = 1", &[]), Ok(Value::Null));
        assert_eq!(eval("a > 1", &[]), Ok(Value::Null));
        assert!(matches("a IS NULL", &[]));
        assert!(matches("a IS NOT NULL", &[("a", "")]));
        assert_eq!(eval("a = 1 OR b = 'x'", &[("b", "x")]), Ok(Value::Boolean(true)));
        assert_eq!(eval("a = 1 AND b = 'x'", &[("b", "x")]), Ok(Value::Null));
        assert_eq!(eval("a = 1 AND b = 'y'", &[("b", "x")]), Ok(Value::Boolean(false)));
        assert_eq!(eval("NOT (a = 1)", &[]), Ok(Value::Null));
    }

    #[test]
    fn rocketmqs_oddities_are_kept() {
        // A property as a condition is FALSE whatever it holds.
        assert_eq!(eval("flag", &[("flag", "true")]), Ok(Value::Boolean(false)));
        // String = TRUE converts the string; TRUE = string throws.
        assert!(matches("flag = TRUE", &[("flag", "TRUE")]));
        assert_eq!(eval("TRUE = flag", &[("flag", "true")]), Err(EvalError::ClassCast));
        // Short-circuit: the right side's error is not reached.
        assert!(matches("b = 'x' OR a > 5", &[("a", "oops"), ("b", "x")]));
        assert!(eval("a > 5 OR b = 'x'", &[("a", "oops"), ("b", "x")]).is_err());
        assert_eq!(eval("-a = 1", &[("a", "1")]), Ok(Value::Null));
        // `NOT a = 1` is `(NOT a) = 1`: a Boolean against an Integer, never TRUE.
        assert_eq!(eval("NOT a = 1", &[("a", "1")]), Ok(Value::Boolean(false)));
        assert_eq!(eval("NOT a = 1", &[]), Ok(Value::Null));
    }

    #[test]
    fn doubles_print_as_java_prints_them() {
        let d = |s: &str| java_double_to_string(JavaDouble::parse(s).unwrap());
        assert_eq!(d("2.5"), "2.5");
        assert_eq!(d("100"), "100.0");
        assert_eq!(d("0.001"), "0.001");
        assert_eq!(d("0.0001"), "1.0E-4");
        assert_eq!(d("1e7"), "1.0E7");
        assert_eq!(d("1.7976931348623157e308"), "1.7976931348623157E308");
        // Java prints Double.MIN_VALUE as 4.9E-324; the shortest digits are 5.0E-324 (messages only).
        assert_eq!(d("4.9e-324"), "5.0E-324");
        assert_eq!(d("-12345.678"), "-12345.678");
    }
}
