//! Label and field selectors as k8s.io/apimachinery parses and matches them
//! (`pkg/labels/selector.go`, `pkg/fields/selector.go`), plus the per-kind field
//! labels the API server accepts (the `AddFieldLabelConversionFunc` funcs in
//! `pkg/apis/*/*/conversion.go`) and the values it matches them against (the
//! registry strategies' `GetAttrs` / `ToSelectableFields`).
//!
//! Error texts are upstream's, byte for byte, including Go's `%q` / `%#v` quoting.


mod field;
mod field_labels;
mod label;
mod text;

pub use field::*;
pub use field_labels::*;
pub use label::*;
use text::*;

use serde_json::{Map, Value};
use std::fmt;

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests;
