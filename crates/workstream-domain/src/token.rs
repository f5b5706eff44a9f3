//! Stored tokens: the lowercase words that name states, roles and kinds.
//!
//! Every enum that the database or the API stores as text is declared with
//! `token_enum!`, so the Rust variant, its `as_str()` token, `FromStr`, `Display` and
//! the serde form all come from one literal and cannot drift apart. A token that was
//! written once stays readable forever, so tokens are never renamed.

use crate::error_code::ErrorCode;
use thiserror::Error;

/// Longest prefix of a refused value echoed back in [`UnknownToken`]: enough to
/// recognise a typo, too short to reflect a large hostile input into logs.
const ECHO_LIMIT: usize = 64;

/// A text value that names none of the variants of a token enum.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("`{value}` is not a known {kind}")]
pub struct UnknownToken {
    /// Which set of tokens was being parsed, e.g. `task_state`.
    pub kind: &'static str,
    /// The refused text, cut to its first 64 characters.
    pub value: String,
}

impl UnknownToken {
    /// Builds the error, keeping only a bounded prefix of the refused text.
    pub fn new(kind: &'static str, value: &str) -> Self {
        UnknownToken {
            kind,
            value: value.chars().take(ECHO_LIMIT).collect(),
        }
    }

    /// The stable error code.
    pub const fn code(&self) -> ErrorCode {
        ErrorCode::UnknownToken
    }
}

/// An enum whose values are stored as fixed text tokens.
///
/// Implemented by every `token_enum!`; the small state machines use it to name their
/// states in errors without knowing the concrete type.
pub trait Token: Copy + Eq + core::fmt::Debug + 'static {
    /// The name of this set of tokens, e.g. `task_state`.
    const KIND: &'static str;
    /// Every value, in declaration order.
    const ALL: &'static [Self];
    /// The stored token of this value.
    fn token(self) -> &'static str;
}

/// Declares a token enum: `enum Name as "kind" { Variant => "token", ... }`.
///
/// Doc comments on the enum and on each variant are passed through, so
/// `#![deny(missing_docs)]` still sees them.
macro_rules! token_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident as $kind:literal {
            $( $(#[$vmeta:meta])* $variant:ident => $token:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        $vis enum $name {
            $( $(#[$vmeta])* #[serde(rename = $token)] $variant, )+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The token stored in the database and sent over the API.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $token,)+
                }
            }
        }

        impl $crate::token::Token for $name {
            const KIND: &'static str = $kind;
            const ALL: &'static [$name] = $name::ALL;
            fn token(self) -> &'static str {
                self.as_str()
            }
        }

        /// The schema of the API's JSON: one of the tokens.
        impl ::schemars::JsonSchema for $name {
            fn schema_name() -> ::std::borrow::Cow<'static, str> {
                ::std::borrow::Cow::Borrowed(stringify!($name))
            }

            fn json_schema(_: &mut ::schemars::SchemaGenerator) -> ::schemars::Schema {
                ::schemars::json_schema!({ "type": "string", "enum": [$($token),+] })
            }
        }

        impl ::core::fmt::Display for $name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        /// Reads a stored token (the way rows decode their state columns).
        impl ::core::convert::TryFrom<String> for $name {
            type Error = $crate::token::UnknownToken;

            fn try_from(s: String) -> Result<Self, Self::Error> {
                s.parse()
            }
        }

        /// Stored as `text`: binds as its token, decodes a column by parsing it.
        #[cfg(feature = "sqlx")]
        impl ::sqlx::Type<::sqlx::Postgres> for $name {
            fn type_info() -> ::sqlx::postgres::PgTypeInfo {
                <&str as ::sqlx::Type<::sqlx::Postgres>>::type_info()
            }

            fn compatible(ty: &::sqlx::postgres::PgTypeInfo) -> bool {
                <&str as ::sqlx::Type<::sqlx::Postgres>>::compatible(ty)
            }
        }

        #[cfg(feature = "sqlx")]
        impl<'r> ::sqlx::Decode<'r, ::sqlx::Postgres> for $name {
            fn decode(
                value: ::sqlx::postgres::PgValueRef<'r>,
            ) -> Result<Self, ::sqlx::error::BoxDynError> {
                Ok(<&str as ::sqlx::Decode<'r, ::sqlx::Postgres>>::decode(value)?.parse()?)
            }
        }

        #[cfg(feature = "sqlx")]
        impl ::sqlx::Encode<'_, ::sqlx::Postgres> for $name {
            fn encode_by_ref(
                &self,
                buf: &mut ::sqlx::postgres::PgArgumentBuffer,
            ) -> Result<::sqlx::encode::IsNull, ::sqlx::error::BoxDynError> {
                <&str as ::sqlx::Encode<'_, ::sqlx::Postgres>>::encode(self.as_str(), buf)
            }
        }

        impl ::core::str::FromStr for $name {
            type Err = $crate::token::UnknownToken;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($token => Ok($name::$variant),)+
                    _ => Err($crate::token::UnknownToken::new($kind, s)),
                }
            }
        }
    };
}

pub(crate) use token_enum;

#[cfg(test)]
mod tests {
    token_enum! {
        /// A two-valued test enum.
        enum Colour as "colour" {
            /// First.
            Red => "red",
            /// Second.
            DarkBlue => "dark_blue",
        }
    }

    #[test]
    fn token_round_trips_through_str_and_serde() {
        for &c in Colour::ALL {
            assert_eq!(c.as_str().parse::<Colour>().unwrap(), c);
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(json, format!("\"{}\"", c.as_str()));
            assert_eq!(serde_json::from_str::<Colour>(&json).unwrap(), c);
        }
        assert_eq!(Colour::DarkBlue.to_string(), "dark_blue");
    }

    #[test]
    fn unknown_token_is_refused_with_a_bounded_echo() {
        let err = "Red".parse::<Colour>().unwrap_err();
        assert_eq!(err.kind, "colour");
        assert_eq!(err.code(), "unknown_token");
        let long = "x".repeat(500);
        assert_eq!(long.parse::<Colour>().unwrap_err().value.len(), 64);
        assert!(serde_json::from_str::<Colour>("\"DARK_BLUE\"").is_err());
    }
}
