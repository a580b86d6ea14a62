//! Errors. Their messages end up verbatim in Pod events (`Failed to pull image "x": ...`)
//! and CLI output, so they follow containerd's wording where users already know it.

use std::io;

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// The reference does not parse (docker's wording: `invalid reference format: ...`).
    #[error("invalid reference format: {0}")]
    InvalidReference(String),

    /// The registry does not know the repository or tag/digest.
    #[error("failed to resolve reference \"{reference}\": {reference}: not found")]
    NotFound { reference: String },

    /// 401/403 from the registry or its token service.
    #[error(
        "failed to resolve reference \"{reference}\": pull access denied, repository does not exist or may require authorization: {detail}"
    )]
    Unauthorized { reference: String, detail: String },

    /// Any other failure while turning a reference into a manifest (network, protocol).
    #[error("failed to resolve reference \"{reference}\": {detail}")]
    Resolve { reference: String, detail: String },

    /// A failure after the manifest was resolved (fetching or storing config/layers).
    #[error("failed to pull and unpack image \"{reference}\": {detail}")]
    Pull { reference: String, detail: String },

    /// The image is not in the local store.
    #[error("image \"{0}\": not found")]
    NoSuchImage(String),

    /// Content did not hash to the digest it was announced under.
    #[error("digest mismatch: expected {expected}, got {actual}")]
    DigestMismatch { expected: String, actual: String },

    /// An image archive (docker save / OCI layout tarball) is malformed.
    #[error("invalid image archive {path}: {detail}")]
    Archive { path: String, detail: String },

    /// Content we recognise but do not handle (zstd layers, schema1 manifests, ...).
    #[error("unsupported: {0}")]
    Unsupported(String),

    /// A layer failed to unpack or verify.
    #[error("layer {diff_id}: {detail}")]
    Layer { diff_id: String, detail: String },

    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
}

impl ImageError {
    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> ImageError {
        ImageError::Io { context: context.into(), source }
    }
}

/// Attaches a context string to I/O results, keeping the source for callers.
pub(crate) trait IoContext<T> {
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T, ImageError>;
}

impl<T> IoContext<T> for Result<T, io::Error> {
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T, ImageError> {
        self.map_err(|e| ImageError::io(context(), e))
    }
}

/// Renders an error with its whole source chain ("a: b: c"): hyper's top-level errors
/// ("client error (Connect)") say nothing useful alone.
pub(crate) fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cur = s.source();
    }
    out
}
