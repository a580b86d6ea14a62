//! Registry credentials: picking them out of image pull secrets, and parsing the
//! `WWW-Authenticate` challenges registries answer with.

use std::collections::BTreeMap;

use base64::Engine;

/// Credentials for one registry.
#[derive(Clone, PartialEq, Eq)]
pub enum RegistryAuth {
    /// Sent as HTTP Basic to `Basic` challenges and to the token service of `Bearer` ones.
    Basic { username: String, password: String },
    /// A registry (bearer) token, sent as is.
    Token(String),
}

// Keep secrets out of logs and panics.
impl std::fmt::Debug for RegistryAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RegistryAuth::Basic { username, .. } => write!(f, "Basic({username}:***)"),
            RegistryAuth::Token(_) => write!(f, "Token(***)"),
        }
    }
}

impl RegistryAuth {
    pub(crate) fn basic_header(username: &str, password: &str) -> String {
        let raw = format!("{username}:{password}");
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(raw))
    }
}

/// Finds credentials for `registry` (a host with optional port, as in a normalized
/// reference) in the bytes of a `kubernetes.io/dockerconfigjson` secret's
/// `.dockerconfigjson` (`{"auths": {...}}`) or a `kubernetes.io/dockercfg` secret's
/// `.dockercfg` (the same map without `auths`).
///
/// Keys may be bare hosts, URLs (`https://index.docker.io/v1/`), or `*.` wildcards for one
/// DNS label, as kubelet accepts. Docker Hub's several host names all match `docker.io`.
/// An exact host match wins over a wildcard one.
pub fn credentials_for(dockerconfigjson: &[u8], registry: &str) -> Option<RegistryAuth> {
    let v: serde_json::Value = serde_json::from_slice(dockerconfigjson).ok()?;
    let map = match v.get("auths") {
        Some(serde_json::Value::Object(m)) => m,
        _ => v.as_object()?,
    };
    let want = canonical_host(registry);
    let mut wildcard = None;
    for (key, entry) in map {
        let host = canonical_host(key_host(key));
        if host == want {
            if let Some(a) = entry_auth(entry) {
                return Some(a);
            }
        } else if wildcard.is_none() && wildcard_matches(&host, &want) {
            wildcard = entry_auth(entry);
        }
    }
    wildcard
}

/// `https://host:port/v1/` -> `host:port`.
fn key_host(key: &str) -> &str {
    let k = key.split_once("://").map(|(_, rest)| rest).unwrap_or(key);
    k.split('/').next().unwrap_or(k)
}

fn canonical_host(h: &str) -> String {
    let h = h.to_ascii_lowercase();
    match h.as_str() {
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => crate::reference::DOCKER_HUB.to_string(),
        _ => h,
    }
}

/// `*.example.com` matches `a.example.com` (one label, same port), like kubelet.
fn wildcard_matches(pattern: &str, host: &str) -> bool {
    let split = |s: &str| -> (String, String) {
        match s.rsplit_once(':') {
            Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => (h.to_string(), p.to_string()),
            _ => (s.to_string(), String::new()),
        }
    };
    let (phost, pport) = split(pattern);
    let (hhost, hport) = split(host);
    if !phost.contains('*') || pport != hport {
        return false;
    }
    let pl: Vec<&str> = phost.split('.').collect();
    let hl: Vec<&str> = hhost.split('.').collect();
    pl.len() == hl.len() && pl.iter().zip(&hl).all(|(p, h)| *p == "*" || p == h)
}

fn entry_auth(entry: &serde_json::Value) -> Option<RegistryAuth> {
    let field = |k: &str| entry.get(k).and_then(|v| v.as_str()).filter(|s| !s.is_empty());
    if let Some(auth) = field("auth") {
        let raw = base64::engine::general_purpose::STANDARD.decode(auth.trim()).ok()?;
        let text = String::from_utf8(raw).ok()?;
        let (u, p) = text.split_once(':')?;
        return Some(RegistryAuth::Basic { username: u.to_string(), password: p.to_string() });
    }
    if let (Some(u), Some(p)) = (field("username"), field("password")) {
        return Some(RegistryAuth::Basic { username: u.to_string(), password: p.to_string() });
    }
    field("registrytoken").map(|t| RegistryAuth::Token(t.to_string()))
}

/// One `WWW-Authenticate` challenge: the scheme (`bearer`, `basic`, lowercased) and its
/// parameters (keys lowercased).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Challenge {
    pub scheme: String,
    pub params: BTreeMap<String, String>,
}

/// Parses `Bearer realm="https://auth.example/token",service="reg",scope="repository:a:pull,push"`.
/// Quoted values may contain commas; only the first challenge of a header is read, which is
/// all registries send.
pub(crate) fn parse_challenge(header: &str) -> Option<Challenge> {
    let header = header.trim();
    let (scheme, mut rest) = match header.find(char::is_whitespace) {
        Some(i) => (&header[..i], header[i..].trim_start()),
        None => (header, ""),
    };
    if scheme.is_empty() {
        return None;
    }
    let mut params = BTreeMap::new();
    while !rest.is_empty() {
        let eq = rest.find('=')?;
        let key = rest[..eq].trim().trim_start_matches(',').trim().to_ascii_lowercase();
        rest = rest[eq + 1..].trim_start();
        let value;
        if let Some(q) = rest.strip_prefix('"') {
            let mut out = String::new();
            let mut chars = q.char_indices();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, n)) = chars.next() {
                            out.push(n);
                        }
                    }
                    '"' => {
                        end = Some(i);
                        break;
                    }
                    _ => out.push(c),
                }
            }
            let end = end?;
            value = out;
            rest = q[end + 1..].trim_start();
        } else {
            let end = rest.find(',').unwrap_or(rest.len());
            value = rest[..end].trim().to_string();
            rest = &rest[end..];
        }
        rest = rest.trim_start_matches(|c: char| c == ',' || c.is_whitespace());
        params.insert(key, value);
    }
    Some(Challenge { scheme: scheme.to_ascii_lowercase(), params })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    fn basic(u: &str, p: &str) -> Option<RegistryAuth> {
        Some(RegistryAuth::Basic { username: u.into(), password: p.into() })
    }

    #[test]
    fn dockerconfigjson_with_auth_field() {
        let cfg = format!(r#"{{"auths":{{"https://index.docker.io/v1/":{{"auth":"{}"}},"localhost:5000":{{"username":"u","password":"p"}}}}}}"#, b64("alice:s3:cret"));
        assert_eq!(credentials_for(cfg.as_bytes(), "docker.io"), basic("alice", "s3:cret"));
        assert_eq!(credentials_for(cfg.as_bytes(), "localhost:5000"), basic("u", "p"));
        assert_eq!(credentials_for(cfg.as_bytes(), "localhost:5001"), None);
        assert_eq!(credentials_for(cfg.as_bytes(), "quay.io"), None);
    }

    #[test]
    fn dockercfg_shape_and_urls() {
        let cfg = format!(r#"{{"http://registry.example.com:8443/v2/":{{"auth":"{}","email":"x@y"}}}}"#, b64("bob:pw"));
        assert_eq!(credentials_for(cfg.as_bytes(), "registry.example.com:8443"), basic("bob", "pw"));
        assert_eq!(credentials_for(cfg.as_bytes(), "registry.example.com"), None);
    }

    #[test]
    fn docker_hub_aliases_and_wildcards() {
        let cfg = br#"{"auths":{"registry-1.docker.io":{"username":"h","password":"1"},"*.example.com":{"username":"w","password":"2"},"exact.example.com":{"username":"e","password":"3"}}}"#;
        assert_eq!(credentials_for(cfg, "docker.io"), basic("h", "1"));
        assert_eq!(credentials_for(cfg, "a.example.com"), basic("w", "2"));
        assert_eq!(credentials_for(cfg, "exact.example.com"), basic("e", "3"));
        assert_eq!(credentials_for(cfg, "a.b.example.com"), None);
        assert_eq!(credentials_for(cfg, "example.com"), None);
    }

    #[test]
    fn tokens_and_garbage() {
        let cfg = br#"{"auths":{"r.io":{"registrytoken":"tok"}, "bad.io":{"auth":"!!"}, "empty.io":{}}}"#;
        assert_eq!(credentials_for(cfg, "r.io"), Some(RegistryAuth::Token("tok".into())));
        assert_eq!(credentials_for(cfg, "bad.io"), None);
        assert_eq!(credentials_for(cfg, "empty.io"), None);
        assert_eq!(credentials_for(b"not json", "r.io"), None);
        assert_eq!(format!("{:?}", basic("u", "secret").unwrap()), "Basic(u:***)");
    }

    #[test]
    fn challenges() {
        let c = parse_challenge(r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull,push",error="insufficient_scope""#).unwrap();
        assert_eq!(c.scheme, "bearer");
        assert_eq!(c.params["realm"], "https://auth.docker.io/token");
        assert_eq!(c.params["service"], "registry.docker.io");
        assert_eq!(c.params["scope"], "repository:library/busybox:pull,push");
        assert_eq!(c.params["error"], "insufficient_scope");
        let c = parse_challenge(r#"Basic realm="Registry Realm""#).unwrap();
        assert_eq!(c.scheme, "basic");
        assert_eq!(c.params["realm"], "Registry Realm");
        let c = parse_challenge("Bearer realm=http://x/t, service=s").unwrap();
        assert_eq!(c.params["realm"], "http://x/t");
        assert_eq!(c.params["service"], "s");
        assert_eq!(parse_challenge("Basic").unwrap().params.len(), 0);
        assert!(parse_challenge(r#"Bearer realm="unterminated"#).is_none());
    }
}
