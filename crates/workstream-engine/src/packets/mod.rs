//! Packet intake: turning an uploaded ZIP into a verified tree and its manifest
//! (docs/checkers.md).
//!
//! * [`limits`]: [`PacketLimits`], the budgets (platform defaults, tightened by a
//!   guide's artifact policy).
//! * `archive` (private): the strict ZIP container reader: end records, central
//!   directory, local headers, data descriptors.
//! * `tree` (private): name safety, NFC normalization, and the normalized tree with
//!   implied parents, where collisions and the entry count are judged.
//! * [`manifest`]: the manifest body, its digest and aggregates.
//! * [`inspect()`]: both passes (judge from metadata, then expand and hash).
//! * [`materialize`]: the tree is written through a `cap-std` directory capability
//!   rooted at the scratch directory: no name escapes it, no link is followed.
//! * [`error`]: [`IntakeError`] and its stable [`codes`].
//!
//! Everything here is synchronous file I/O; async callers use `spawn_blocking`.

mod archive;
pub mod error;
mod inspect;
pub mod limits;
pub mod manifest;
pub mod materialize;
mod tree;

pub use error::{IntakeError, codes};
pub use inspect::{InspectedPacket, inspect};
pub use limits::PacketLimits;
pub use manifest::{MANIFEST_SCHEMA_VERSION, PacketFile, PacketTotals};
