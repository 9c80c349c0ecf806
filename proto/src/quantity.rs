//! Kubernetes' quantity notation: `500m` CPU, `128Mi` memory, `1e3`, `2`.
//!
//! Placement and autoscaling compare quantities as integers of thousandths
//! (`to_milli`), which is exact for every suffix Kubernetes accepts.

use crate::meta::v1::Quantity;

/// A quantity that is not in Kubernetes' notation, or too large.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum QuantityError {
    #[error("invalid quantity {0:?}: expected a number with an optional suffix (m, k, M, G, Ki, Mi, Gi, …)")]
    Syntax(String),
    #[error("quantity {0:?} is too large")]
    Overflow(String),
}

impl Quantity {
    pub fn new(text: impl Into<String>) -> Self {
        Quantity { string: text.into() }
    }

    /// The value in thousandths, rounded up as Kubernetes' `MilliValue` does.
    pub fn to_milli(&self) -> Result<i64, QuantityError> {
        parse_milli(&self.string)
    }

    /// The value in whole units (bytes for memory), rounded up.
    pub fn to_units(&self) -> Result<i64, QuantityError> {
        let milli = self.to_milli()?;
        Ok(milli.div_euclid(1000) + i64::from(milli.rem_euclid(1000) != 0))
    }
}

/// (base, exponent) of each suffix.
fn suffix_multiplier(suffix: &str) -> Option<(i128, i32)> {
    Some(match suffix {
        "" => (10, 0),
        "n" => (10, -9),
        "u" => (10, -6),
        "m" => (10, -3),
        "k" => (10, 3),
        "M" => (10, 6),
        "G" => (10, 9),
        "T" => (10, 12),
        "P" => (10, 15),
        "E" => (10, 18),
        "Ki" => (2, 10),
        "Mi" => (2, 20),
        "Gi" => (2, 30),
        "Ti" => (2, 40),
        "Pi" => (2, 50),
        "Ei" => (2, 60),
        _ => return None,
    })
}

fn parse_milli(text: &str) -> Result<i64, QuantityError> {
    let syntax = || QuantityError::Syntax(text.to_string());
    let overflow = || QuantityError::Overflow(text.to_string());
    let (negative, rest) = match text.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let number_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
    let (number, suffix) = rest.split_at(number_end);
    let (int_part, frac_part) = number.split_once('.').unwrap_or((number, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return Err(syntax());
    }
    let digits = format!("{int_part}{frac_part}");
    let mantissa: i128 = digits.parse().map_err(|_| overflow())?;
    let decimals = frac_part.len() as i32;

    // "E" and "Ei" are suffixes; "e3" and "E3" are exponents
    let (base, exponent) = match (suffix_multiplier(suffix), suffix.strip_prefix(['e', 'E'])) {
        (Some(m), _) => m,
        (None, Some(exp)) => (10, exp.parse::<i32>().map_err(|_| syntax())?),
        (None, None) => return Err(syntax()),
    };
    // value * 1000 = mantissa * base^exponent * 10^(3 - decimals)
    let mut numerator = mantissa;
    let mut denominator: i128 = 1;
    let scale = |n: i128, b: i128, e: i32| -> Option<i128> { n.checked_mul(b.checked_pow(e as u32)?) };
    if exponent >= 0 {
        numerator = scale(numerator, base, exponent).ok_or_else(overflow)?;
    } else {
        denominator = scale(denominator, base, -exponent).ok_or_else(overflow)?;
    }
    let ten_power = 3 - decimals;
    if ten_power >= 0 {
        numerator = scale(numerator, 10, ten_power).ok_or_else(overflow)?;
    } else {
        denominator = scale(denominator, 10, -ten_power).ok_or_else(overflow)?;
    }
    let milli = numerator / denominator + i128::from(numerator % denominator != 0);
    let milli = if negative { -milli } else { milli };
    i64::try_from(milli).map_err(|_| overflow())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kubernetes_notation() {
        let cases = [
            ("500m", 500),
            ("1", 1000),
            ("0.5", 500),
            ("2k", 2_000_000),
            ("128Mi", 128 * 1024 * 1024 * 1000),
            ("1Gi", 1024 * 1024 * 1024 * 1000),
            ("1e3", 1_000_000),
            ("100n", 1),
            ("-1", -1000),
            (".5", 500),
        ];
        for (text, want) in cases {
            assert_eq!(Quantity::new(text).to_milli(), Ok(want), "{text}");
        }
    }

    #[test]
    fn refuses_bad_notation() {
        for text in ["", "m", "12x", "1.2.3", "Mi", "1e", "--1"] {
            assert!(Quantity::new(text).to_milli().is_err(), "{text}");
        }
        assert!(matches!(Quantity::new("9Ei").to_milli(), Err(QuantityError::Overflow(_))));
    }

    #[test]
    fn units_round_up() {
        assert_eq!(Quantity::new("1500m").to_units(), Ok(2));
        assert_eq!(Quantity::new("64Mi").to_units(), Ok(64 * 1024 * 1024));
    }
}
