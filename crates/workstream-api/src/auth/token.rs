//! The shape and claim rules of bearer tokens, from [`workstream_domain::bearer`] (pure
//! rules, no keys and no I/O, so that they can be fuzzed without building this crate);
//! the verifiers in [`super::verifier`] and [`super::jwks`] add the signature and keys.

pub use workstream_domain::bearer::*;
