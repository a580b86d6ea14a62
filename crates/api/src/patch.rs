//! The three patch engines kube-apiserver applies for `PATCH` requests, on
//! `serde_json::Value` documents:
//!
//! * [`json_patch`] — RFC 6902 (`application/json-patch+json`), with the quirks of
//!   `gopkg.in/evanphx/json-patch.v4` that kube-apiserver vendors (negative array
//!   indices, `replace` of a missing object key behaves as `add`, `test` of a missing
//!   key against `null` passes, the 3 MiB accumulated `copy` limit, at most 10000
//!   operations);
//! * [`merge_patch`] — RFC 7386 (`application/merge-patch+json`), as the same
//!   library implements it;
//! * [`strategic_merge_patch`] — `k8s.io/apimachinery/pkg/util/strategicpatch`
//!   (`application/strategic-merge-patch+json`), driven by a static description of
//!   the `patchStrategy`/`patchMergeKey` struct tags of the built-in types
//!   (see [`meta`]).
//!
//! Errors carry the HTTP status, reason and message kube-apiserver answers with
//! (`staging/src/k8s.io/apiserver/pkg/endpoints/handlers/patch.go`). The plain
//! functions use the default `fieldValidation` (`Warn`); the `*_with` variants take
//! the request's [`FieldValidation`] and also return the strict-decoding errors of
//! the patch body (for warnings, or a 422 under `Strict`).
//!
//! For server-side apply, [`list_merge_key`] / [`field_meta`] expose the type graph.

use serde_json::{json, Value};

mod gojson;
mod json_patch_impl;
mod merge_patch_impl;
pub mod meta;
mod smp;
mod smp_list;
mod strict;

#[cfg(test)]
mod tests_json_patch;
#[cfg(test)]
mod tests_merge_patch;
#[cfg(test)]
mod tests_smp;
#[cfg(test)]
mod tests_smp_lists;

pub use meta::{field_meta, list_merge_key, FieldMeta, Strategy, TypeMeta};

/// The message `NewGenericServerResponse(422, ...)` puts in the Status: the
/// apiserver hides the underlying error text behind it.
pub const GENERIC_UNPROCESSABLE_MESSAGE: &str =
    "the server rejected our request due to an error in our request";

/// A failed patch, shaped like the `metav1.Status` kube-apiserver returns for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatchError {
    /// `errors.NewBadRequest(msg)`: 400, reason `BadRequest`, the message as is.
    /// Malformed patch documents and malformed strategic-merge directives.
    BadRequest(String),
    /// `errors.NewGenericServerResponse(422, ...)`: 422, reason `Invalid`, with the
    /// generic message [`GENERIC_UNPROCESSABLE_MESSAGE`] and empty `details`. The
    /// string is the underlying library error (a failed `test`, a missing path, ...),
    /// which upstream does not show to the client; see [`PatchError::detail`].
    Unprocessable(String),
    /// `errors.NewRequestEntityTooLargeError(msg)`: 413, reason
    /// `RequestEntityTooLarge`, message `Request entity too large: <msg>`.
    TooLarge(String),
    /// A plain Go `error` that reaches the response writer unconverted: 500 with an
    /// empty reason (`StatusReasonUnknown`) and the error text as the message, e.g.
    /// `map: map[value:b] does not contain declared merge key: name`.
    Internal(String),
}

impl PatchError {
    /// The `message` of the Status kube-apiserver returns.
    pub fn message(&self) -> String {
        match self {
            PatchError::BadRequest(m) | PatchError::Internal(m) => m.clone(),
            PatchError::Unprocessable(_) => GENERIC_UNPROCESSABLE_MESSAGE.to_string(),
            PatchError::TooLarge(m) => format!("Request entity too large: {m}"),
        }
    }

    /// The underlying error text (equal to [`message`](Self::message) except for
    /// [`PatchError::Unprocessable`] and [`PatchError::TooLarge`]).
    pub fn detail(&self) -> &str {
        match self {
            PatchError::BadRequest(m)
            | PatchError::Unprocessable(m)
            | PatchError::TooLarge(m)
            | PatchError::Internal(m) => m,
        }
    }

    /// The HTTP status code (and the Status `code`).
    pub fn http_code(&self) -> u16 {
        match self {
            PatchError::BadRequest(_) => 400,
            PatchError::Unprocessable(_) => 422,
            PatchError::TooLarge(_) => 413,
            PatchError::Internal(_) => 500,
        }
    }

    /// The Status `reason`; empty (`StatusReasonUnknown`, omitted from the JSON) for
    /// [`PatchError::Internal`].
    pub fn reason(&self) -> &'static str {
        match self {
            PatchError::BadRequest(_) => "BadRequest",
            PatchError::Unprocessable(_) => "Invalid",
            PatchError::TooLarge(_) => "RequestEntityTooLarge",
            PatchError::Internal(_) => "",
        }
    }

    /// The whole `metav1.Status` object as kube-apiserver serializes it.
    pub fn to_status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message(),
        });
        let obj = status.as_object_mut().expect("object literal");
        if !self.reason().is_empty() {
            obj.insert("reason".into(), Value::from(self.reason()));
        }
        if let PatchError::Unprocessable(_) = self {
            obj.insert("details".into(), json!({}));
        }
        obj.insert("code".into(), Value::from(self.http_code()));
        status
    }
}

impl std::fmt::Display for PatchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.detail())
    }
}

impl std::error::Error for PatchError {}

/// The `fieldValidation` directive of the request (`PatchOptions.fieldValidation`).
///
/// It changes how the patch body itself is decoded: with `Warn` (the apiserver's
/// default when the parameter is absent) and `Strict`, the body is first decoded
/// strictly, so decode errors of JSON and merge patches read
/// `error decoding patch: …`, and duplicate (or, for JSON patch, unknown) fields are
/// reported in [`Patched::strict_errors`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FieldValidation {
    Ignore,
    #[default]
    Warn,
    Strict,
}

impl FieldValidation {
    /// Parses the query parameter value (`""` is the default, `Warn`).
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "Ignore" => Some(FieldValidation::Ignore),
            "" | "Warn" => Some(FieldValidation::Warn),
            "Strict" => Some(FieldValidation::Strict),
            _ => None,
        }
    }

    fn is_strict_decoding(self) -> bool {
        self != FieldValidation::Ignore
    }
}

/// A successfully patched object.
#[derive(Debug, Clone, PartialEq)]
pub struct Patched {
    pub object: Value,
    /// Strict-decoding errors of the patch body, worded as the apiserver words them
    /// (`json patch unknown field "[0].xyz"`, `duplicate field "metadata.name"`).
    /// Empty with [`FieldValidation::Ignore`]. With `Warn` they become warnings; with
    /// `Strict` the caller fails the request (422) with them, together with the
    /// unknown-field errors of decoding the patched object.
    pub strict_errors: Vec<String>,
}

/// Applies an RFC 6902 JSON Patch (`application/json-patch+json`) to `doc`, with the
/// default field validation.
pub fn json_patch(doc: &Value, patch: &[u8]) -> Result<Value, PatchError> {
    json_patch_with(doc, patch, FieldValidation::default()).map(|p| p.object)
}

/// [`json_patch`] under an explicit `fieldValidation` directive.
pub fn json_patch_with(
    doc: &Value,
    patch: &[u8],
    validation: FieldValidation,
) -> Result<Patched, PatchError> {
    json_patch_impl::apply(doc, patch, validation)
}

/// Applies an RFC 7386 JSON Merge Patch (`application/merge-patch+json`) to `doc`,
/// with the default field validation.
///
/// Like upstream, a patch that is a JSON array (accepted only with
/// [`FieldValidation::Ignore`]) replaces the document with that array (nulls inside
/// its objects pruned); the caller rejects it when decoding the result into an
/// object, as the apiserver does.
pub fn merge_patch(doc: &Value, patch: &[u8]) -> Result<Value, PatchError> {
    merge_patch_with(doc, patch, FieldValidation::default()).map(|p| p.object)
}

/// [`merge_patch`] under an explicit `fieldValidation` directive.
pub fn merge_patch_with(
    doc: &Value,
    patch: &[u8],
    validation: FieldValidation,
) -> Result<Patched, PatchError> {
    merge_patch_impl::apply(doc, patch, validation)
}

/// Applies a strategic merge patch (`application/strategic-merge-patch+json`) to an
/// object of `(group, kind)` (group `""` for core), with the default field
/// validation.
///
/// Kinds without known metadata behave as a JSON merge patch (maps merged, lists
/// replaced, `null` deletes) with the `$patch`, `$retainKeys`,
/// `$deleteFromPrimitiveList/…` and `$setElementOrder/…` directives still honoured.
/// Directive keys that upstream would leave in its intermediate map (and drop when
/// decoding into the typed object) are removed from the result.
pub fn strategic_merge_patch(
    group: &str,
    kind: &str,
    doc: &Value,
    patch: &[u8],
) -> Result<Value, PatchError> {
    strategic_merge_patch_with(group, kind, doc, patch, FieldValidation::default())
        .map(|p| p.object)
}

/// [`strategic_merge_patch`] under an explicit `fieldValidation` directive.
pub fn strategic_merge_patch_with(
    group: &str,
    kind: &str,
    doc: &Value,
    patch: &[u8],
    validation: FieldValidation,
) -> Result<Patched, PatchError> {
    let object = smp::apply(meta::root(group, kind), doc, patch)?;
    let strict_errors = if validation.is_strict_decoding() {
        strict::duplicate_fields(patch)
    } else {
        Vec::new()
    };
    Ok(Patched { object, strict_errors })
}
