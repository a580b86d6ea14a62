//! Image references with docker's normalization rules (the ones kubelet and containerd's
//! CRI apply): `busybox` means `docker.io/library/busybox:latest`.

use std::fmt;

use crate::ImageError;

/// The registry short names resolve to, and the host its API really lives on.
pub const DOCKER_HUB: &str = "docker.io";

/// A normalized reference. `Display` gives the full form, e.g.
/// `docker.io/library/busybox:latest` or `localhost:5000/app@sha256:...`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    /// Host with optional port, e.g. `docker.io`, `localhost:5000`.
    pub registry: String,
    /// Path inside the registry, e.g. `library/busybox`.
    pub repository: String,
    /// `None` only when a digest is given without a tag.
    pub tag: Option<String>,
    /// `sha256:<64 hex>`.
    pub digest: Option<String>,
}

impl Reference {
    /// `registry/repository`, the key repo tags and repo digests share.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// `name:tag`, if tagged.
    pub fn tagged(&self) -> Option<String> {
        self.tag.as_ref().map(|t| format!("{}:{t}", self.name()))
    }

    /// `name@digest`, if it carries a digest.
    pub fn digested(&self) -> Option<String> {
        self.digest.as_ref().map(|d| format!("{}@{d}", self.name()))
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for Reference {
    type Err = ImageError;
    fn from_str(s: &str) -> Result<Reference, ImageError> {
        normalize_reference(s)
    }
}

fn invalid(what: &str) -> ImageError {
    ImageError::InvalidReference(what.to_string())
}

/// Parses and normalizes a reference the way docker does: a first path component is a
/// registry only if it looks like a host (has a `.` or `:`, or is `localhost`); Docker Hub
/// names get `library/` when they have no namespace; a missing tag means `latest` unless a
/// digest pins the image.
pub fn normalize_reference(r: &str) -> Result<Reference, ImageError> {
    if r.is_empty() {
        return Err(invalid("empty reference"));
    }
    let (name, digest) = match r.split_once('@') {
        Some((n, d)) => (n, Some(parse_digest(d)?)),
        None => (r, None),
    };
    // A tag is the part after the last ':' unless that ':' belongs to a registry port
    // (then a '/' follows it).
    let (name, tag) = match name.rfind(':') {
        Some(i) if !name[i + 1..].contains('/') => (&name[..i], Some(&name[i + 1..])),
        _ => (name, None),
    };
    if let Some(t) = tag {
        if !valid_tag(t) {
            return Err(invalid(&format!("invalid tag {t:?}")));
        }
    }
    let (registry, mut repository) = match name.split_once('/') {
        Some((first, rest)) if looks_like_host(first) => (first.to_string(), rest.to_string()),
        _ => (DOCKER_HUB.to_string(), name.to_string()),
    };
    if registry == "index.docker.io" || registry == "registry-1.docker.io" {
        return normalize_reference(&r.replacen(&registry, DOCKER_HUB, 1));
    }
    if !valid_host(&registry) {
        return Err(invalid(&format!("invalid registry host {registry:?}")));
    }
    if repository.chars().any(|c| c.is_ascii_uppercase()) {
        return Err(invalid("repository name must be lowercase"));
    }
    if repository.is_empty() || !repository.split('/').all(valid_path_component) {
        return Err(invalid(&format!("invalid repository name {repository:?}")));
    }
    if registry == DOCKER_HUB && !repository.contains('/') {
        if is_hex(&repository) && repository.len() == 64 {
            return Err(invalid("cannot specify 64-byte hexadecimal strings"));
        }
        repository = format!("library/{repository}");
    }
    if registry.len() + 1 + repository.len() > 255 {
        return Err(invalid("repository name must not be more than 255 characters"));
    }
    let tag = match (tag, &digest) {
        (Some(t), _) => Some(t.to_string()),
        (None, Some(_)) => None,
        (None, None) => Some("latest".to_string()),
    };
    Ok(Reference { registry, repository, tag, digest })
}

/// Checks `sha256:<64 lowercase hex>`; other algorithms are not produced by registries we
/// can verify against.
pub(crate) fn parse_digest(d: &str) -> Result<String, ImageError> {
    match d.split_once(':') {
        Some(("sha256", hex)) if hex.len() == 64 && is_hex(hex) => Ok(d.to_string()),
        Some((alg, _)) if alg != "sha256" => Err(invalid(&format!("unsupported digest algorithm {alg:?}"))),
        _ => Err(invalid(&format!("invalid digest {d:?}"))),
    }
}

pub(crate) fn is_hex(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn looks_like_host(first: &str) -> bool {
    first.contains('.') || first.contains(':') || first == "localhost" || first.chars().any(|c| c.is_ascii_uppercase())
}

fn valid_host(h: &str) -> bool {
    let (host, port) = if let Some(rest) = h.strip_prefix('[') {
        // IPv6 literal: [::1]:5000
        match rest.split_once(']') {
            Some((ip, tail)) => {
                if ip.parse::<std::net::Ipv6Addr>().is_err() {
                    return false;
                }
                ("ok", tail.strip_prefix(':'))
            }
            None => return false,
        }
    } else {
        match h.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (h, None),
        }
    };
    if let Some(p) = port {
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) || p.parse::<u16>().is_err() {
            return false;
        }
    }
    !host.is_empty()
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

fn valid_tag(t: &str) -> bool {
    let b = t.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.' || c == b'-')
}

/// One path component: alphanumeric runs joined by `.`, `_`, `__` or any number of `-`.
fn valid_path_component(c: &str) -> bool {
    let b = c.as_bytes();
    if b.is_empty() || !b[0].is_ascii_alphanumeric() || !b[b.len() - 1].is_ascii_alphanumeric() {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_lowercase() || b[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && matches!(b[i], b'.' | b'_' | b'-') {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || (!sep.is_empty() && sep.bytes().all(|x| x == b'-'));
        if !ok {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> String {
        normalize_reference(s).unwrap().to_string()
    }

    const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn docker_hub_short_names() {
        assert_eq!(n("busybox"), "docker.io/library/busybox:latest");
        assert_eq!(n("busybox:1.36"), "docker.io/library/busybox:1.36");
        assert_eq!(n("a/b"), "docker.io/a/b:latest");
        assert_eq!(n("a/b/c:v1"), "docker.io/a/b/c:v1");
        assert_eq!(n("docker.io/busybox"), "docker.io/library/busybox:latest");
        assert_eq!(n("index.docker.io/library/busybox:1"), "docker.io/library/busybox:1");
        assert_eq!(n("registry-1.docker.io/x/y"), "docker.io/x/y:latest");
    }

    #[test]
    fn registries_with_hosts_and_ports() {
        let r = normalize_reference("localhost:5000/x").unwrap();
        assert_eq!(r.registry, "localhost:5000");
        assert_eq!(r.repository, "x");
        assert_eq!(r.tag.as_deref(), Some("latest"));
        assert_eq!(r.to_string(), "localhost:5000/x:latest");
        assert_eq!(n("localhost/x:1"), "localhost/x:1");
        assert_eq!(n("127.0.0.1:5000/a/b:2"), "127.0.0.1:5000/a/b:2");
        assert_eq!(n("quay.io/coreos/etcd:v3.5"), "quay.io/coreos/etcd:v3.5");
        assert_eq!(n("[::1]:5000/img"), "[::1]:5000/img:latest");
        // Without a '/', "localhost:5000" is a docker hub name with a tag.
        assert_eq!(n("localhost:5000"), "docker.io/library/localhost:5000");
        assert_eq!(n("rkube.test/busybox:1"), "rkube.test/busybox:1");
    }

    #[test]
    fn digests() {
        let r = normalize_reference(&format!("busybox@{D}")).unwrap();
        assert_eq!(r.tag, None);
        assert_eq!(r.digest.as_deref(), Some(D));
        assert_eq!(r.to_string(), format!("docker.io/library/busybox@{D}"));
        assert_eq!(r.digested().unwrap(), format!("docker.io/library/busybox@{D}"));
        let r = normalize_reference(&format!("localhost:5000/x:1@{D}")).unwrap();
        assert_eq!(r.tag.as_deref(), Some("1"));
        assert_eq!(r.to_string(), format!("localhost:5000/x:1@{D}"));
    }

    #[test]
    fn rejects_bad_references() {
        for bad in [
            "",
            "Busybox",
            "busybox:",
            "busybox@sha256:abc",
            "busybox@md5:0123",
            "a//b",
            "-a",
            "a:b:c",
            "busybox:-x",
            "a/b_-c",
            "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ] {
            assert!(normalize_reference(bad).is_err(), "{bad:?} should be rejected");
        }
        let e = normalize_reference("docker.io/Busybox").unwrap_err().to_string();
        assert_eq!(e, "invalid reference format: repository name must be lowercase");
    }

    #[test]
    fn path_components() {
        for ok in ["a", "a.b", "a_b", "a__b", "a---b", "a0-9z"] {
            assert!(valid_path_component(ok), "{ok}");
        }
        for bad in ["", ".a", "a.", "a..b", "a___b", "a._b", "A"] {
            assert!(!valid_path_component(bad), "{bad}");
        }
    }
}
