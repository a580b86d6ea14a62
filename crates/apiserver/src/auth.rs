//! Authentication: client certificates signed by the cluster CA (CN = user, O = groups),
//! bearer tokens (the static `--token-auth-file`, bootstrap tokens from kube-system
//! Secrets, and any further `TokenAuthenticator`, e.g. service account tokens), and
//! anonymous requests (`system:anonymous`) when enabled.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use base64::Engine;
use serde_json::Value;

use crate::cache::WatchCache;

/// An authenticated caller, as upstream's `user.Info`.
pub use api::rbac::UserInfo as User;

/// A user with `system:authenticated` among its groups, as every authenticator adds.
pub fn authenticated(name: String, uid: String, mut groups: Vec<String>) -> User {
    if !groups.iter().any(|g| g == api::rbac::ALL_AUTHENTICATED) {
        groups.push(api::rbac::ALL_AUTHENTICATED.into());
    }
    User { name, uid, groups, extra: Default::default() }
}

pub fn anonymous() -> User {
    User { name: api::rbac::ANONYMOUS.into(), groups: vec![api::rbac::ALL_UNAUTHENTICATED.into()], ..Default::default() }
}

/// The user a verified client certificate names.
pub fn user_from_cert(der: &[u8]) -> Option<User> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let subject = cert.subject();
    let name = subject.iter_common_name().next()?.as_str().ok()?.to_string();
    let groups = subject.iter_organization().filter_map(|o| o.as_str().ok().map(str::to_string)).collect();
    Some(authenticated(name, String::new(), groups))
}

/// Turns a bearer token into a user. The extension point for further token kinds
/// (service account JWTs would implement this and join `Authenticator::tokens`).
pub trait TokenAuthenticator: Send + Sync {
    /// The user the token stands for, or None when this authenticator does not accept it.
    fn authenticate(&self, token: &str) -> Option<User>;
}

/// Bearer tokens from `--token-auth-file`.
#[derive(Default)]
pub struct TokenFile {
    tokens: HashMap<String, User>,
}

impl TokenFile {
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
        Self::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        let mut tokens = HashMap::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fields = split_csv(line);
            if fields.len() < 3 {
                return Err(format!("token file line {} has fewer than 3 fields", i + 1));
            }
            let groups = fields
                .get(3)
                .map(|g| g.split(',').map(str::trim).filter(|g| !g.is_empty()).map(str::to_string).collect())
                .unwrap_or_default();
            let user = authenticated(fields[1].clone(), fields[2].clone(), groups);
            tokens.insert(fields[0].clone(), user);
        }
        Ok(Self { tokens })
    }
}

impl TokenAuthenticator for TokenFile {
    fn authenticate(&self, token: &str) -> Option<User> {
        self.tokens.get(token).cloned()
    }
}

/// Splits one CSV line, honouring double quotes (`""` is a literal quote).
fn split_csv(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                fields.last_mut().unwrap().push('"');
            }
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(String::new()),
            c => fields.last_mut().unwrap().push(c),
        }
    }
    fields.into_iter().map(|f| f.trim().to_string()).collect()
}

/// Bootstrap tokens (`<id>.<secret>`), checked against the
/// `bootstrap.kubernetes.io/token` Secret `kube-system/bootstrap-token-<id>`.
pub struct BootstrapTokens {
    pub cache: Arc<WatchCache>,
}

/// Whether `s` is `len` characters of `[a-z0-9]`.
fn token_part(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

fn secret_data(secret: &Value, key: &str) -> Option<String> {
    let b64 = secret["data"].get(key)?.as_str()?;
    let bytes = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
    String::from_utf8(bytes).ok()
}

/// Compares without an early exit, so timing does not reveal the secret.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The user a bootstrap token Secret grants for `id`/`secret`, if it is valid now.
pub fn bootstrap_user(secret_obj: &Value, id: &str, secret: &str, now: chrono::DateTime<chrono::Utc>) -> Option<User> {
    if secret_obj["type"] != "bootstrap.kubernetes.io/token" || crate::objects::is_deleting(secret_obj) {
        return None;
    }
    if secret_data(secret_obj, "token-id").as_deref() != Some(id) {
        return None;
    }
    if !same_secret(&secret_data(secret_obj, "token-secret")?, secret) {
        return None;
    }
    if secret_data(secret_obj, "usage-bootstrap-authentication").as_deref() != Some("true") {
        return None;
    }
    if let Some(exp) = secret_data(secret_obj, "expiration") {
        let exp = chrono::DateTime::parse_from_rfc3339(&exp).ok()?;
        if exp <= now {
            return None;
        }
    }
    let mut groups = vec!["system:bootstrappers".to_string()];
    for g in secret_data(secret_obj, "auth-extra-groups").unwrap_or_default().split(',').map(str::trim) {
        if g.is_empty() {
            continue;
        }
        // Only bootstrapper groups may be granted this way.
        if !g.starts_with("system:bootstrappers:") {
            return None;
        }
        groups.push(g.to_string());
    }
    Some(authenticated(format!("system:bootstrap:{id}"), String::new(), groups))
}

impl TokenAuthenticator for BootstrapTokens {
    fn authenticate(&self, token: &str) -> Option<User> {
        let (id, secret) = token.split_once('.')?;
        if !token_part(id, 6) || !token_part(secret, 16) {
            return None;
        }
        let secrets = api::registry::find("", "v1", "secrets")?;
        let obj = self.cache.resource(secrets.storage).get(&secrets.key("kube-system", &format!("bootstrap-token-{id}")))?;
        bootstrap_user(&obj.value(), id, secret, chrono::Utc::now())
    }
}

/// The authentication chain: a verified client certificate wins, then a bearer token
/// (any authenticator accepting it), else the request is anonymous if that is allowed.
pub struct Authenticator {
    pub tokens: Vec<Box<dyn TokenAuthenticator>>,
    pub anonymous: bool,
}

impl Authenticator {
    /// The caller; None means 401 (a bad token, or no credentials without anonymous auth).
    pub fn authenticate(&self, cert_user: Option<User>, authorization: Option<&str>) -> Option<User> {
        if let Some(u) = cert_user {
            return Some(u);
        }
        if let Some(h) = authorization {
            // A token that was presented but not accepted is a failure, not anonymity.
            let token = h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer "))?.trim();
            return self.authenticate_token(token);
        }
        self.anonymous.then(anonymous)
    }

    pub fn authenticate_token(&self, token: &str) -> Option<User> {
        if token.is_empty() {
            return None;
        }
        self.tokens.iter().find_map(|a| a.authenticate(token))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn token_file_parses_quoted_groups() {
        let tf = TokenFile::parse("t1,alice,uid1,\"dev,ops\"\n# comment\nt2,bob,uid2\n").unwrap();
        let a = tf.authenticate("t1").unwrap();
        assert_eq!(a.name, "alice");
        assert_eq!(a.uid, "uid1");
        assert_eq!(a.groups, vec!["dev", "ops", "system:authenticated"]);
        assert_eq!(tf.authenticate("t2").unwrap().groups, vec!["system:authenticated"]);
        assert!(tf.authenticate("nope").is_none());
    }

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    #[test]
    fn bootstrap_tokens_need_a_valid_unexpired_secret() {
        let mut secret = json!({
            "type": "bootstrap.kubernetes.io/token",
            "metadata": {"name": "bootstrap-token-abcdef", "namespace": "kube-system"},
            "data": {
                "token-id": b64("abcdef"), "token-secret": b64("0123456789abcdef"),
                "usage-bootstrap-authentication": b64("true"),
                "auth-extra-groups": b64("system:bootstrappers:kubeadm:default-node-token"),
                "expiration": b64("2099-01-01T00:00:00Z"),
            }
        });
        let now = chrono::Utc::now();
        let u = bootstrap_user(&secret, "abcdef", "0123456789abcdef", now).unwrap();
        assert_eq!(u.name, "system:bootstrap:abcdef");
        assert_eq!(u.groups, ["system:bootstrappers", "system:bootstrappers:kubeadm:default-node-token", "system:authenticated"]);
        assert!(bootstrap_user(&secret, "abcdef", "0123456789abcdee", now).is_none());
        secret["data"]["expiration"] = json!(b64("2001-01-01T00:00:00Z"));
        assert!(bootstrap_user(&secret, "abcdef", "0123456789abcdef", now).is_none());
        secret["data"].as_object_mut().unwrap().remove("expiration");
        secret["data"]["auth-extra-groups"] = json!(b64("system:masters"));
        assert!(bootstrap_user(&secret, "abcdef", "0123456789abcdef", now).is_none());
    }

    #[test]
    fn chain_prefers_certificates_and_rejects_bad_tokens() {
        let tf = TokenFile::parse("t1,alice,uid1\n").unwrap();
        let chain = Authenticator { tokens: vec![Box::new(tf)], anonymous: true };
        let cert = authenticated("bob".into(), String::new(), vec![]);
        assert_eq!(chain.authenticate(Some(cert), Some("Bearer t1")).unwrap().name, "bob");
        assert_eq!(chain.authenticate(None, Some("Bearer t1")).unwrap().name, "alice");
        assert!(chain.authenticate(None, Some("Bearer nope")).is_none());
        assert_eq!(chain.authenticate(None, None).unwrap(), anonymous());
        let closed = Authenticator { tokens: vec![], anonymous: false };
        assert!(closed.authenticate(None, None).is_none());
    }
}
