//! Exact award quantities.
//!
//! A quantity is copied from an award definition onto awards and compared against
//! fulfilment receipts, so it must be exact and must mean the same thing everywhere.
//! It is accepted only as a plain decimal string (docs/rules.md, R41) and
//! refused, never rounded, otherwise. The accepted form:
//!
//! ```text
//! quantity = int [ "." frac ]
//! int      = "0" | nonzero-digit *digit      ; 1..=20 digits, no leading zero
//! frac     = 1*digit                          ; 1..=18 digits
//! ```
//!
//! and the value must be greater than zero. So `10`, `0.5`, `50.00` and
//! `12345678901234567890` parse; `+1`, `-5`, `0`, `0.00`, `01`, `1.`, `.5`, `1e3`,
//! `NaN`, `inf`, ` 1` and `1.0000000000000000001` do not.
//!
//! Trailing fractional zeros are allowed and kept (`50.00` stays `50.00`): money is
//! written with its minor units, and "copied exactly" includes the spelling. Equality
//! is numeric (`50.00 == 50`), which is what a receipt-versus-award comparison needs.
//!
//! The store's column is NUMERIC(38,18), but `rust_decimal` holds at most 28
//! significant digits, so a quantity that fits the grammar but not a `Decimal` exactly
//! (say 20 integer digits plus 18 fractional ones) is refused as unrepresentable.

use crate::error_code::ErrorCode;
use core::fmt;
use core::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

/// Most digits before the decimal point.
pub const MAX_INTEGER_DIGITS: usize = 20;
/// Most digits after the decimal point.
pub const MAX_FRACTION_DIGITS: usize = 18;

/// A positive exact decimal quantity of some unit (money or points).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Quantity(Decimal);

/// Why a quantity string was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum QuantityError {
    /// Not a plain decimal number at all (empty, letters, spaces, `1.`, `.5`).
    #[error("a quantity is a plain decimal string such as `10` or `0.5`")]
    Malformed,
    /// A leading `+`.
    #[error("a quantity has no plus sign")]
    PlusSign,
    /// Exponent notation (`1e3`).
    #[error("a quantity has no exponent")]
    Exponent,
    /// `NaN` or an infinity.
    #[error("a quantity is a finite number")]
    NotFinite,
    /// A leading zero before other integer digits (`01`).
    #[error("a quantity has no leading zeros")]
    LeadingZero,
    /// Zero or negative.
    #[error("a quantity is greater than zero")]
    NotPositive,
    /// More than [`MAX_INTEGER_DIGITS`] integer digits.
    #[error("a quantity has at most {MAX_INTEGER_DIGITS} integer digits")]
    TooManyIntegerDigits,
    /// More than [`MAX_FRACTION_DIGITS`] fractional digits.
    #[error("a quantity has at most {MAX_FRACTION_DIGITS} fractional digits")]
    TooManyFractionDigits,
    /// Within the digit limits but beyond 28 significant digits.
    #[error("a quantity has at most 28 significant digits")]
    Unrepresentable,
    /// A fraction on an instrument counted in whole units (project points).
    #[error("project points are whole numbers")]
    NotWhole,
}

impl QuantityError {
    /// The stable error code.
    pub const fn code(&self) -> ErrorCode {
        match self {
            QuantityError::Malformed => ErrorCode::QuantityInvalid,
            QuantityError::PlusSign => ErrorCode::QuantitySignNotAllowed,
            QuantityError::Exponent => ErrorCode::QuantityExponentNotAllowed,
            QuantityError::NotFinite => ErrorCode::QuantityNotFinite,
            QuantityError::LeadingZero => ErrorCode::QuantityNotCanonical,
            QuantityError::NotPositive => ErrorCode::QuantityNotPositive,
            QuantityError::TooManyIntegerDigits => ErrorCode::QuantityOutOfRange,
            QuantityError::TooManyFractionDigits => ErrorCode::QuantityTooPrecise,
            QuantityError::Unrepresentable => ErrorCode::QuantityUnrepresentable,
            QuantityError::NotWhole => ErrorCode::QuantityNotWhole,
        }
    }
}

impl Quantity {
    /// The exact decimal value.
    pub const fn as_decimal(&self) -> Decimal {
        self.0
    }

    /// Whether the quantity is written without a fractional part (`10`, not `10.0`).
    pub fn is_whole(&self) -> bool {
        self.0.scale() == 0
    }

    /// Refuses anything but a whole quantity: project points are counted in whole
    /// units and written without a fraction, so `10.0` is refused like `10.5`.
    pub fn require_whole(self) -> Result<Self, QuantityError> {
        if self.is_whole() {
            Ok(self)
        } else {
            Err(QuantityError::NotWhole)
        }
    }
}

impl FromStr for Quantity {
    type Err = QuantityError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // Name the common wrong spellings precisely before the generic refusal.
        let lower = s.to_ascii_lowercase();
        if matches!(
            lower.trim_start_matches(['+', '-']),
            "nan" | "inf" | "infinity"
        ) {
            return Err(QuantityError::NotFinite);
        }
        if s.starts_with('+') {
            return Err(QuantityError::PlusSign);
        }
        if s.starts_with('-') {
            return Err(QuantityError::NotPositive);
        }
        if s.contains(['e', 'E']) {
            return Err(QuantityError::Exponent);
        }

        let (int, frac) = match s.split_once('.') {
            Some((int, frac)) => (int, Some(frac)),
            None => (s, None),
        };
        let all_digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(int) || frac.is_some_and(|f| !all_digits(f)) {
            return Err(QuantityError::Malformed);
        }
        if int.len() > 1 && int.starts_with('0') {
            return Err(QuantityError::LeadingZero);
        }
        if int.len() > MAX_INTEGER_DIGITS {
            return Err(QuantityError::TooManyIntegerDigits);
        }
        if frac.is_some_and(|f| f.len() > MAX_FRACTION_DIGITS) {
            return Err(QuantityError::TooManyFractionDigits);
        }

        let value = Decimal::from_str_exact(s).map_err(|_| QuantityError::Unrepresentable)?;
        if value.is_zero() {
            return Err(QuantityError::NotPositive);
        }
        Ok(Quantity(value))
    }
}

impl fmt::Display for Quantity {
    // `Decimal` prints plain notation and keeps the scale it was parsed with.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Quantity({self})")
    }
}

impl Serialize for Quantity {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Quantity {
    // Only a string: a JSON number would already have been through a binary float.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Result<Quantity, QuantityError> {
        s.parse()
    }

    #[test]
    fn canonical_strings_parse_and_print_back() {
        for s in [
            "10",
            "0.5",
            "50.00",
            "1",
            "0.000000000000000001",
            "12345678901234567890",
            "99999999999999999999",
            "1234567890.123456789012345678",
        ] {
            assert_eq!(q(s).unwrap().to_string(), s);
        }
    }

    #[test]
    fn wrong_spellings_are_refused_with_their_code() {
        let cases = [
            ("", "quantity_invalid"),
            (" 1", "quantity_invalid"),
            ("1 ", "quantity_invalid"),
            ("1.", "quantity_invalid"),
            (".5", "quantity_invalid"),
            ("1.2.3", "quantity_invalid"),
            ("1,5", "quantity_invalid"),
            ("abc", "quantity_invalid"),
            ("+1", "quantity_sign_not_allowed"),
            ("1e3", "quantity_exponent_not_allowed"),
            ("1E3", "quantity_exponent_not_allowed"),
            ("NaN", "quantity_not_finite"),
            ("inf", "quantity_not_finite"),
            ("-Infinity", "quantity_not_finite"),
            ("01", "quantity_not_canonical"),
            ("00.5", "quantity_not_canonical"),
            ("0", "quantity_not_positive"),
            ("0.00", "quantity_not_positive"),
            ("-5", "quantity_not_positive"),
            ("-0", "quantity_not_positive"),
            ("123456789012345678901", "quantity_out_of_range"),
            ("1.0000000000000000001", "quantity_too_precise"),
            (
                "12345678901234567890.123456789012345678",
                "quantity_unrepresentable",
            ),
        ];
        for (input, code) in cases {
            assert_eq!(q(input).unwrap_err().code(), code, "{input:?}");
        }
    }

    #[test]
    fn equality_is_numeric_but_spelling_is_kept() {
        assert_eq!(q("50.00").unwrap(), q("50").unwrap());
        assert_eq!(q("50.00").unwrap().to_string(), "50.00");
        assert!(q("0.5").unwrap() < q("1").unwrap());
    }

    #[test]
    fn points_must_be_written_whole() {
        assert!(q("10").unwrap().require_whole().is_ok());
        assert_eq!(
            q("10.0").unwrap().require_whole(),
            Err(QuantityError::NotWhole)
        );
        assert_eq!(
            q("10.5").unwrap().require_whole().unwrap_err().code(),
            "quantity_not_whole"
        );
    }

    #[test]
    fn serde_uses_strings_only() {
        let v = q("50.00").unwrap();
        assert_eq!(serde_json::to_string(&v).unwrap(), "\"50.00\"");
        assert_eq!(
            serde_json::from_str::<Quantity>("\"0.5\"").unwrap(),
            q("0.5").unwrap()
        );
        assert!(serde_json::from_str::<Quantity>("0.5").is_err());
        assert!(serde_json::from_str::<Quantity>("\"1e3\"").is_err());
    }
}
