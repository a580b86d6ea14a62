//! Server-side apply and field ownership (upstream's structured-merge-diff): field sets
//! and their FieldsV1 encoding, typed merging, and managedFields bookkeeping.

pub mod fieldset;
pub mod managed;
pub mod typed;

pub use managed::{conflict_message, Conflict, Managed, Writer};
pub use typed::Ctx;

#[cfg(test)]
mod tests;
