//! Java's numbers as RocketMQ's SQL92 filter sees them, computed exactly with integers.
//!
//! The filter compares message properties (strings) with literals after Java's conversions:
//! `Integer.valueOf`, `Long.valueOf`, `Double.valueOf`, `(double) long`, and `Double.compareTo`.
//! A Java `double` is a binary64 value, so "0.1" and "0.10000000000000000001" are the *same* double
//! and compare equal in RocketMQ. To stay faithful without platform floats, a decimal string is
//! rounded to the nearest binary64 (round half to even, subnormals, overflow to infinity) with
//! big-integer arithmetic, and the resulting values `±m·2^e` are compared exactly. Every step is
//! integer arithmetic: native and wasm32 agree bit for bit.
//!
//! Deliberate limits (documented deviations): hexadecimal floating literals ("0x1p3") and non-ASCII
//! digits (which `Character.digit` would accept) are a `NumberFormatException` here.

use std::cmp::Ordering;

/// Why a string is not a number (`NumberFormatException`'s message).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NumberFormatError(pub String);

impl NumberFormatError {
    fn for_input(s: &str) -> Self {
        NumberFormatError(format!("For input string: \"{s}\""))
    }
}

/// A Java `double`: NaN, an infinity, or `±mantissa·2^exponent` (zero has mantissa 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JavaDouble {
    NaN,
    Infinite { negative: bool },
    Finite { negative: bool, mantissa: u64, exponent: i32 },
}

/// 2^53: one more than the largest binary64 significand.
const TWO_53: u64 = 1 << 53;
/// The exponent of the least significant bit of a subnormal (Double.MIN_VALUE = 2^-1074).
const MIN_EXPONENT: i32 = -1074;
/// The largest exponent with a 53-bit significand (Double.MAX_VALUE = (2^53 − 1)·2^971).
const MAX_EXPONENT: i32 = 971;
/// Longest digit string accepted (bounded memory; Java accepts more).
const MAX_DIGITS: usize = 20_000;

impl JavaDouble {
    pub const ZERO: JavaDouble = JavaDouble::Finite { negative: false, mantissa: 0, exponent: 0 };

    /// `Double.valueOf(String)` (`FloatingDecimal.readJavaFormatString`): surrounding whitespace
    /// (chars ≤ ' ') trimmed, an optional sign, `NaN`, `Infinity`, or digits with an optional '.',
    /// an optional exponent and an optional f/F/d/D suffix.
    pub fn parse(text: &str) -> Result<JavaDouble, NumberFormatError> {
        let trimmed = text.trim_matches(|c: char| c <= ' ');
        let error = || NumberFormatError::for_input(text);
        let (negative, rest) = match trimmed.as_bytes().first() {
            Some(b'-') => (true, &trimmed[1..]),
            Some(b'+') => (false, &trimmed[1..]),
            _ => (false, trimmed),
        };
        if rest == "NaN" {
            return Ok(JavaDouble::NaN);
        }
        if rest == "Infinity" {
            return Ok(JavaDouble::Infinite { negative });
        }
        let bytes = rest.as_bytes();
        let mut i = 0;
        let mut digits: Vec<u8> = Vec::new();
        let mut decimal_exponent: i64 = 0;
        let mut seen_digit = false;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            seen_digit = true;
            if !(digits.is_empty() && bytes[i] == b'0') {
                digits.push(bytes[i] - b'0');
            }
            i += 1;
        }
        if i < bytes.len() && bytes[i] == b'.' {
            i += 1;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                seen_digit = true;
                if !(digits.is_empty() && bytes[i] == b'0') {
                    digits.push(bytes[i] - b'0');
                }
                decimal_exponent -= 1;
                i += 1;
            }
        }
        if !seen_digit || digits.len() > MAX_DIGITS {
            return Err(error());
        }
        if i < bytes.len() && (bytes[i] == b'e' || bytes[i] == b'E') {
            i += 1;
            let exponent_negative = match bytes.get(i) {
                Some(b'-') => {
                    i += 1;
                    true
                }
                Some(b'+') => {
                    i += 1;
                    false
                }
                _ => false,
            };
            let start = i;
            let mut exponent: i64 = 0;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                exponent = (exponent * 10 + i64::from(bytes[i] - b'0')).min(1_000_000_000);
                i += 1;
            }
            if i == start {
                return Err(error());
            }
            decimal_exponent += if exponent_negative { -exponent } else { exponent };
        }
        if i < bytes.len() && matches!(bytes[i], b'f' | b'F' | b'd' | b'D') {
            i += 1;
        }
        if i != bytes.len() {
            return Err(error());
        }
        // `digits` are the significant digits (leading zeros dropped); the value is
        // digits × 10^decimal_exponent (the exponent counts the fractional digits kept).
        Ok(decimal_to_double(negative, &digits, decimal_exponent))
    }

    /// `(double) v`: the nearest double to a long (round half to even).
    pub fn from_i64(v: i64) -> JavaDouble {
        let negative = v < 0;
        let magnitude = v.unsigned_abs();
        if magnitude < TWO_53 {
            return JavaDouble::Finite { negative, mantissa: magnitude, exponent: 0 };
        }
        let shift = 64 - magnitude.leading_zeros() - 53;
        let mut mantissa = magnitude >> shift;
        let remainder = magnitude & ((1u64 << shift) - 1);
        let half = 1u64 << (shift - 1);
        if remainder > half || (remainder == half && mantissa & 1 == 1) {
            mantissa += 1;
        }
        let mut exponent = shift as i32;
        if mantissa == TWO_53 {
            mantissa >>= 1;
            exponent += 1;
        }
        JavaDouble::Finite { negative, mantissa, exponent }
    }

    pub fn is_zero(self) -> bool {
        matches!(self, JavaDouble::Finite { mantissa: 0, .. })
    }

    /// Unary minus.
    pub fn negate(self) -> JavaDouble {
        match self {
            JavaDouble::NaN => JavaDouble::NaN,
            JavaDouble::Infinite { negative } => JavaDouble::Infinite { negative: !negative },
            JavaDouble::Finite { negative, mantissa, exponent } => {
                JavaDouble::Finite { negative: !negative, mantissa, exponent }
            }
        }
    }

    /// `Double.compareTo`: the numeric order, with −0.0 < 0.0 and NaN equal to itself and greater
    /// than everything (so `compare_to == Equal` is exactly `Double.equals`).
    pub fn compare_to(self, other: JavaDouble) -> Ordering {
        // Map to a total key: (class, ordering within class).
        match (self, other) {
            (JavaDouble::NaN, JavaDouble::NaN) => Ordering::Equal,
            (JavaDouble::NaN, _) => Ordering::Greater,
            (_, JavaDouble::NaN) => Ordering::Less,
            _ => {
                let sign = |d: JavaDouble| match d {
                    JavaDouble::Infinite { negative } | JavaDouble::Finite { negative, .. } => negative,
                    JavaDouble::NaN => false,
                };
                let (a_negative, b_negative) = (sign(self), sign(other));
                if a_negative != b_negative {
                    return if a_negative { Ordering::Less } else { Ordering::Greater };
                }
                let magnitude = compare_magnitude(self, other);
                if a_negative {
                    magnitude.reverse()
                } else {
                    magnitude
                }
            }
        }
    }
}

/// |a| vs |b| for non-NaN values.
fn compare_magnitude(a: JavaDouble, b: JavaDouble) -> Ordering {
    match (a, b) {
        (JavaDouble::Infinite { .. }, JavaDouble::Infinite { .. }) => Ordering::Equal,
        (JavaDouble::Infinite { .. }, _) => Ordering::Greater,
        (_, JavaDouble::Infinite { .. }) => Ordering::Less,
        (
            JavaDouble::Finite { mantissa: ma, exponent: ea, .. },
            JavaDouble::Finite { mantissa: mb, exponent: eb, .. },
        ) => {
            if ma == 0 || mb == 0 {
                return ma.min(1).cmp(&mb.min(1));
            }
            let top_a = i64::from(64 - ma.leading_zeros()) + i64::from(ea);
            let top_b = i64::from(64 - mb.leading_zeros()) + i64::from(eb);
            if top_a != top_b {
                return top_a.cmp(&top_b);
            }
            // Same top bit: the exponents differ by less than 64, so both fit a u128 once aligned.
            let low = ea.min(eb);
            let wa = u128::from(ma) << (ea - low) as u32;
            let wb = u128::from(mb) << (eb - low) as u32;
            wa.cmp(&wb)
        }
        _ => Ordering::Equal,
    }
}

/// `Integer.parseInt(s)`: an optional sign and ASCII digits, within the int range.
pub fn parse_int(s: &str) -> Result<i32, NumberFormatError> {
    let value = parse_integer(s, i64::from(i32::MIN), i64::from(i32::MAX))?;
    Ok(value as i32)
}

/// `Long.parseLong(s)`: an optional sign and ASCII digits, within the long range.
pub fn parse_long(s: &str) -> Result<i64, NumberFormatError> {
    parse_integer(s, i64::MIN, i64::MAX)
}

fn parse_integer(s: &str, min: i64, max: i64) -> Result<i64, NumberFormatError> {
    let error = || NumberFormatError::for_input(s);
    let bytes = s.as_bytes();
    let (negative, digits) = match bytes.first() {
        Some(b'-') => (true, &bytes[1..]),
        Some(b'+') => (false, &bytes[1..]),
        Some(_) => (false, bytes),
        None => return Err(NumberFormatError("For input string: \"\"".into())),
    };
    if digits.is_empty() {
        return Err(error());
    }
    // Accumulate negatively, as Java does, so that MIN_VALUE parses.
    let mut value: i64 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return Err(error());
        }
        value = value.checked_mul(10).and_then(|v| v.checked_sub(i64::from(b - b'0'))).ok_or_else(error)?;
        if value < min {
            return Err(error());
        }
    }
    if negative {
        Ok(value)
    } else {
        let positive = value.checked_neg().ok_or_else(error)?;
        if positive > max {
            return Err(error());
        }
        Ok(positive)
    }
}

/// The nearest double to `±digits × 10^exp10` (digits without leading zeros).
fn decimal_to_double(negative: bool, digits: &[u8], exp10: i64) -> JavaDouble {
    if digits.is_empty() {
        return JavaDouble::Finite { negative, mantissa: 0, exponent: 0 };
    }
    let n = digits.len() as i64;
    // value ∈ [10^(n−1+exp10), 10^(n+exp10)).
    if n - 1 + exp10 > 309 {
        return JavaDouble::Infinite { negative };
    }
    if n + exp10 <= -324 {
        // Below 1e-324, less than half of Double.MIN_VALUE (4.9e-324): rounds to zero.
        return JavaDouble::Finite { negative, mantissa: 0, exponent: 0 };
    }
    let mut numerator = BigUint::from_digits(digits);
    let mut denominator = BigUint::from_u64(1);
    if exp10 >= 0 {
        numerator.mul_pow10(exp10 as u32);
    } else {
        denominator.mul_pow10((-exp10) as u32);
    }
    let mut e2 = numerator.bit_len() as i32 - denominator.bit_len() as i32 - 53;
    loop {
        let e = e2.max(MIN_EXPONENT);
        let (mut q, remainder, divisor) = divide_scaled(&numerator, &denominator, e);
        if q >= TWO_53 {
            e2 = e + 1;
            continue;
        }
        // Round half to even on the remainder.
        let twice = remainder.shl(1);
        let round_up = match twice.cmp(&divisor) {
            Ordering::Greater => true,
            Ordering::Equal => q & 1 == 1,
            Ordering::Less => false,
        };
        let mut exponent = e;
        if round_up {
            q += 1;
            if q == TWO_53 {
                q >>= 1;
                exponent += 1;
            }
        }
        if exponent > MAX_EXPONENT {
            return JavaDouble::Infinite { negative };
        }
        if q == 0 {
            return JavaDouble::Finite { negative, mantissa: 0, exponent: 0 };
        }
        return JavaDouble::Finite { negative, mantissa: q, exponent };
    }
}

/// floor(num / (den · 2^e)) (or floor(num · 2^−e / den)), its remainder, and the divisor used.
fn divide_scaled(numerator: &BigUint, denominator: &BigUint, e: i32) -> (u64, BigUint, BigUint) {
    let (dividend, divisor) = if e < 0 {
        (numerator.shl((-e) as u32), denominator.clone())
    } else {
        (numerator.clone(), denominator.shl(e as u32))
    };
    let (q, r) = dividend.div_small_quotient(&divisor);
    (q, r, divisor)
}

/// A little-endian base-2^32 unsigned big integer: just what rounding needs.
#[derive(Clone, Debug, PartialEq, Eq)]
struct BigUint {
    limbs: Vec<u32>,
}

impl BigUint {
    fn from_u64(v: u64) -> Self {
        let mut b = BigUint { limbs: vec![v as u32, (v >> 32) as u32] };
        b.trim();
        b
    }

    fn from_digits(digits: &[u8]) -> Self {
        let mut b = BigUint { limbs: Vec::new() };
        for &d in digits {
            b.mul_add_small(10, u32::from(d));
        }
        b
    }

    fn trim(&mut self) {
        while self.limbs.last() == Some(&0) {
            self.limbs.pop();
        }
    }

    fn mul_add_small(&mut self, factor: u32, add: u32) {
        let mut carry = u64::from(add);
        for limb in &mut self.limbs {
            let v = u64::from(*limb) * u64::from(factor) + carry;
            *limb = v as u32;
            carry = v >> 32;
        }
        if carry > 0 {
            self.limbs.push(carry as u32);
        }
        self.trim();
    }

    fn mul_pow10(&mut self, mut exponent: u32) {
        while exponent >= 9 {
            self.mul_add_small(1_000_000_000, 0);
            exponent -= 9;
        }
        if exponent > 0 {
            self.mul_add_small(10u32.pow(exponent), 0);
        }
    }

    fn bit_len(&self) -> u32 {
        match self.limbs.last() {
            None => 0,
            Some(top) => (self.limbs.len() as u32 - 1) * 32 + (32 - top.leading_zeros()),
        }
    }

    fn shl(&self, bits: u32) -> BigUint {
        if self.limbs.is_empty() {
            return self.clone();
        }
        let (words, rest) = ((bits / 32) as usize, bits % 32);
        let mut limbs = vec![0u32; words];
        let mut carry = 0u32;
        for &limb in &self.limbs {
            if rest == 0 {
                limbs.push(limb);
            } else {
                limbs.push((limb << rest) | carry);
                carry = limb >> (32 - rest);
            }
        }
        if carry > 0 {
            limbs.push(carry);
        }
        let mut b = BigUint { limbs };
        b.trim();
        b
    }

    fn sub_assign(&mut self, other: &BigUint) {
        let mut borrow = 0i64;
        for i in 0..self.limbs.len() {
            let o = i64::from(other.limbs.get(i).copied().unwrap_or(0));
            let mut v = i64::from(self.limbs[i]) - o - borrow;
            borrow = 0;
            if v < 0 {
                v += 1 << 32;
                borrow = 1;
            }
            self.limbs[i] = v as u32;
        }
        assert_eq!(borrow, 0, "subtraction underflow: callers compare first");
        self.trim();
    }

    /// (floor(self / divisor), self mod divisor) when the quotient fits 64 bits.
    fn div_small_quotient(&self, divisor: &BigUint) -> (u64, BigUint) {
        let mut remainder = self.clone();
        let mut quotient = 0u64;
        let span = self.bit_len().saturating_sub(divisor.bit_len());
        assert!(span < 64, "quotients here have at most 55 bits");
        for bit in (0..=span).rev() {
            let shifted = divisor.shl(bit);
            if remainder.cmp(&shifted) != Ordering::Less {
                remainder.sub_assign(&shifted);
                quotient |= 1u64 << bit;
            }
        }
        (quotient, remainder)
    }
}

impl PartialOrd for BigUint {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for BigUint {
    fn cmp(&self, other: &Self) -> Ordering {
        self.limbs.len().cmp(&other.limbs.len()).then_with(|| self.limbs.iter().rev().cmp(other.limbs.iter().rev()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bits Java's `Double.doubleToLongBits` would give (checked against Rust's own, correctly
    /// rounded, parser in the test only).
    fn bits(d: JavaDouble) -> u64 {
        match d {
            JavaDouble::NaN => 0x7ff8_0000_0000_0000,
            JavaDouble::Infinite { negative } => (u64::from(negative) << 63) | 0x7ff0_0000_0000_0000,
            JavaDouble::Finite { negative, mut mantissa, mut exponent } => {
                let sign = u64::from(negative) << 63;
                if mantissa == 0 {
                    return sign;
                }
                while mantissa < (1 << 52) && exponent > MIN_EXPONENT {
                    mantissa <<= 1;
                    exponent -= 1;
                }
                if mantissa < (1 << 52) {
                    assert_eq!(exponent, MIN_EXPONENT, "only subnormals have short significands");
                    return sign | mantissa;
                }
                let biased = (exponent + 52 + 1023) as u64;
                sign | (biased << 52) | (mantissa & ((1 << 52) - 1))
            }
        }
    }

    #[test]
    fn decimal_strings_round_to_the_same_double_as_a_correct_parser() {
        for text in [
            "0.1",
            "1",
            "5",
            "1.5",
            "123456789012345678901234567890",
            "9007199254740993",
            "2.2250738585072014E-308",
            "4.9e-324",
            "2.4703282292062328e-324",
            "2.4703282292062327e-324",
            "1.7976931348623157e308",
            "1.7976931348623158e308",
            "0.30000000000000004",
            "3.14159265358979323846264338327950288",
            "1e23",
            "8.98846567431158e307",
            "123.456e-7",
            ".5",
            "5.",
            "-0.0",
        ] {
            let ours = JavaDouble::parse(text).unwrap();
            let reference: f64 = text.parse().unwrap();
            assert_eq!(bits(ours), reference.to_bits(), "{text}");
        }
    }

    #[test]
    fn javas_special_spellings_parse_and_others_do_not() {
        assert_eq!(JavaDouble::parse(" NaN "), Ok(JavaDouble::NaN));
        assert_eq!(JavaDouble::parse("-Infinity"), Ok(JavaDouble::Infinite { negative: true }));
        assert_eq!(bits(JavaDouble::parse("1.5f").unwrap()), 1.5f64.to_bits());
        assert_eq!(bits(JavaDouble::parse("1e999").unwrap()), f64::INFINITY.to_bits());
        assert_eq!(bits(JavaDouble::parse("1e-999").unwrap()), 0);
        for bad in ["", ".", "e5", "1e", "1.2.3", "abc", "0x1p3", "1 2", "nan"] {
            assert!(JavaDouble::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn compare_to_is_javas_total_order() {
        let d = |s: &str| JavaDouble::parse(s).unwrap();
        assert_eq!(d("0.1").compare_to(d("0.10000000000000000001")), Ordering::Equal);
        assert_eq!(d("-0.0").compare_to(d("0.0")), Ordering::Less);
        assert_eq!(d("NaN").compare_to(d("Infinity")), Ordering::Greater);
        assert_eq!(d("NaN").compare_to(d("NaN")), Ordering::Equal);
        assert_eq!(d("-5").compare_to(d("-4.5")), Ordering::Less);
        assert_eq!(d("1e300").compare_to(d("1e-300")), Ordering::Greater);
        assert_eq!(d("4.9e-324").compare_to(d("0")), Ordering::Greater);
        assert_eq!(JavaDouble::from_i64(3).compare_to(d("3.0")), Ordering::Equal);
    }

    #[test]
    fn a_long_beyond_2_pow_53_converts_with_half_even_rounding() {
        assert_eq!(bits(JavaDouble::from_i64(9_007_199_254_740_993)), 9_007_199_254_740_992f64.to_bits());
        assert_eq!(bits(JavaDouble::from_i64(i64::MAX)), (i64::MAX as f64).to_bits());
        assert_eq!(bits(JavaDouble::from_i64(i64::MIN)), (i64::MIN as f64).to_bits());
        assert_eq!(bits(JavaDouble::from_i64(-7)), (-7f64).to_bits());
    }

    #[test]
    fn integers_parse_as_integer_parse_int_and_long_parse_long() {
        assert_eq!(parse_int("-2147483648"), Ok(i32::MIN));
        assert!(parse_int("2147483648").is_err());
        assert_eq!(parse_int("+42"), Ok(42));
        assert!(parse_int(" 42").is_err(), "parseInt does not trim");
        assert!(parse_int("4.2").is_err());
        assert!(parse_int("-").is_err());
        assert_eq!(parse_long("-9223372036854775808"), Ok(i64::MIN));
        assert!(parse_long("9223372036854775808").is_err());
        assert_eq!(parse_int(""), Err(NumberFormatError("For input string: \"\"".into())));
    }
}
