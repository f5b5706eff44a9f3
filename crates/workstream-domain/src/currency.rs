//! ISO 4217 currency codes for money awards.
//!
//! Money units must be current ISO 4217 alphabetic codes (docs/rules.md). The
//! list is embedded rather than fetched so validation is pure and reproducible; it
//! changes only when ISO amends the standard, by editing [`ISO_4217_CODES`].
//! Whether a project has *enabled* a code is a separate check made by the store.

use crate::error_code::ErrorCode;
use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

/// The current ISO 4217 alphabetic codes (List One: national currencies, funds codes
/// and the `X..` supranational, metal and special codes), sorted for binary search.
///
/// Taken from the Debian `iso-codes` 4.15 table and brought up to the 2025 amendments:
/// `HRK` (euro, 2023), `ZWL` (replaced by `ZWG`, 2024) and `ANG` (replaced by `XCG`,
/// 2025) removed; `ZWG` and `XCG` added.
pub const ISO_4217_CODES: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BGN",
    "BHD", "BIF", "BMD", "BND", "BOB", "BOV", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD",
    "CDF", "CHE", "CHF", "CHW", "CLF", "CLP", "CNY", "COP", "COU", "CRC", "CUC", "CUP", "CVE",
    "CZK", "DJF", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL",
    "GHS", "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR",
    "IQD", "IRR", "ISK", "JMD", "JOD", "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD",
    "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK",
    "MNT", "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MXV", "MYR", "MZN", "NAD", "NGN", "NIO",
    "NOK", "NPR", "NZD", "OMR", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON",
    "RSD", "RUB", "RWF", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD",
    "SSP", "STN", "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD",
    "TZS", "UAH", "UGX", "USD", "USN", "UYI", "UYU", "UYW", "UZS", "VED", "VES", "VND", "VUV",
    "WST", "XAF", "XAG", "XAU", "XBA", "XBB", "XBC", "XBD", "XCD", "XCG", "XDR", "XOF", "XPD",
    "XPF", "XPT", "XSU", "XTS", "XUA", "XXX", "YER", "ZAR", "ZMW", "ZWG",
];

/// An uppercase ISO 4217 currency code, e.g. `USD`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CurrencyCode(&'static str);

/// A string that is not a current ISO 4217 code.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CurrencyError {
    /// Not three uppercase ASCII letters (`usd`, `US`, `US$`).
    #[error("a currency code is three uppercase letters")]
    Malformed,
    /// Well-formed but not a current ISO 4217 code (`ABC`, `HRK`).
    #[error("not a current ISO 4217 currency code")]
    Unknown,
}

impl CurrencyError {
    /// The stable error code.
    pub const fn code(&self) -> ErrorCode {
        match self {
            CurrencyError::Malformed => ErrorCode::CurrencyCodeInvalid,
            CurrencyError::Unknown => ErrorCode::CurrencyCodeUnknown,
        }
    }
}

impl CurrencyCode {
    /// The three-letter code.
    pub const fn as_str(&self) -> &'static str {
        self.0
    }
}

impl FromStr for CurrencyCode {
    type Err = CurrencyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() != 3 || !s.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(CurrencyError::Malformed);
        }
        ISO_4217_CODES
            .binary_search(&s)
            .map(|i| CurrencyCode(ISO_4217_CODES[i]))
            .map_err(|_| CurrencyError::Unknown)
    }
}

impl fmt::Display for CurrencyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl fmt::Debug for CurrencyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CurrencyCode({})", self.0)
    }
}

impl Serialize for CurrencyCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0)
    }
}

impl<'de> Deserialize<'de> for CurrencyCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_is_sorted_unique_and_well_formed() {
        assert!(ISO_4217_CODES.windows(2).all(|w| w[0] < w[1]));
        assert!(
            ISO_4217_CODES
                .iter()
                .all(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase()))
        );
        assert_eq!(ISO_4217_CODES.len(), 179);
    }

    #[test]
    fn current_codes_parse() {
        for code in [
            "USD", "EUR", "JPY", "CHF", "ZWG", "XCG", "SLE", "VES", "XAU",
        ] {
            assert_eq!(code.parse::<CurrencyCode>().unwrap().as_str(), code);
        }
    }

    #[test]
    fn others_are_refused() {
        let cases = [
            ("usd", "currency_code_invalid"),
            ("US", "currency_code_invalid"),
            ("USDD", "currency_code_invalid"),
            ("US$", "currency_code_invalid"),
            ("", "currency_code_invalid"),
            ("ABC", "currency_code_unknown"),
            ("HRK", "currency_code_unknown"),
            ("ZWL", "currency_code_unknown"),
            ("DEM", "currency_code_unknown"),
        ];
        for (input, code) in cases {
            assert_eq!(
                input.parse::<CurrencyCode>().unwrap_err().code(),
                code,
                "{input}"
            );
        }
    }

    #[test]
    fn serde_is_the_code() {
        let usd: CurrencyCode = "USD".parse().unwrap();
        assert_eq!(serde_json::to_string(&usd).unwrap(), "\"USD\"");
        assert_eq!(
            serde_json::from_str::<CurrencyCode>("\"USD\"").unwrap(),
            usd
        );
        assert!(serde_json::from_str::<CurrencyCode>("\"usd\"").is_err());
    }
}
