//! Authentication: who is calling, and what their grants let them do.
//!
//! A request proves an identity with a bearer JWT; authority comes only from grants
//! stored here (R46). The parts:
//!
//! * [`token`]: the shape and claim rules of docs/security.md, shared by both modes.
//! * [`verifier`]: the local HS256 mode (development and tests only) and the production
//!   mode over a JWKS document ([`jwks`]) with optional token [`introspection`], chosen
//!   at startup; [`network`] holds the HTTPS rules both calls follow.
//! * [`Caller`]: the extractor every protected handler takes. It verifies the token,
//!   maps failures to 401/403/503 (docs/security.md), finds or provisions the actor,
//!   refuses suspended and deactivated actors and revoked links, and loads the
//!   caller's active [`Grants`].
//! * [`mint`]: signing local tokens for `workstream token` and the tests.

mod caller;
mod grants;
pub mod introspection;
pub mod jwks;
pub mod mint;
pub mod network;
pub mod token;
pub mod verifier;

pub use caller::{ActorKind, Caller};
pub use grants::{AdminGrant, Grants, ProjectGrant};
pub use mint::{LocalToken, mint_local_token};
pub use token::SubjectKind;
pub use verifier::Verifier;
