//! The cluster's PKI: a CA, a serving certificate and an admin client certificate,
//! generated on first start into `<data-dir>/tls` and reused afterwards; the admin
//! kubeconfig that points kubectl at the server; and client certificates the CA signs
//! for other identities (components, test users).

use std::fs;
use std::path::{Path, PathBuf};

use base64::Engine;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose, SanType,
};

/// PEM files of the cluster PKI.
pub struct Pki {
    pub ca_cert: String,
    /// The CA's key, to sign client certificates for components and users.
    pub ca_key: String,
    pub serving_cert: String,
    pub serving_key: String,
    pub admin_cert: String,
    pub admin_key: String,
}

fn dn(cn: &str) -> DistinguishedName {
    let mut d = DistinguishedName::new();
    d.push(DnType::CommonName, cn);
    d
}

fn validity(params: &mut CertificateParams) {
    params.not_before = rcgen::date_time_ymd(2025, 1, 1);
    params.not_after = rcgen::date_time_ymd(2035, 1, 1);
}

fn serving_sans(extra: &[String]) -> Vec<SanType> {
    let mut names: Vec<String> = vec![
        "localhost".into(),
        "kubernetes".into(),
        "kubernetes.default".into(),
        "kubernetes.default.svc".into(),
        "kubernetes.default.svc.cluster.local".into(),
    ];
    if let Ok(host) = fs::read_to_string("/proc/sys/kernel/hostname") {
        names.push(host.trim().to_string());
    }
    let mut sans: Vec<SanType> = Vec::new();
    for n in names.into_iter().chain(extra.iter().cloned()) {
        let san = match n.parse::<std::net::IpAddr>() {
            Ok(ip) => SanType::IpAddress(ip),
            Err(_) => match n.clone().try_into() {
                Ok(dns) => SanType::DnsName(dns),
                Err(_) => continue,
            },
        };
        if !sans.contains(&san) {
            sans.push(san);
        }
    }
    sans.push(SanType::IpAddress("127.0.0.1".parse().unwrap()));
    sans.push(SanType::IpAddress("::1".parse().unwrap()));
    sans
}

fn ca_params() -> CertificateParams {
    let mut ca_params = CertificateParams::default();
    ca_params.distinguished_name = dn("rkube-ca");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    validity(&mut ca_params);
    ca_params
}

/// The organizationName attribute type, spelled out: rcgen keeps one value per
/// attribute type, so a second group goes in under this (identical) OID.
const ORGANIZATION_OID: [u64; 4] = [2, 5, 4, 10];

/// A client certificate (CN = user, one O per group, at most two) and its key, as PEM.
fn client_cert(ca: &rcgen::Certificate, ca_key: &KeyPair, user: &str, groups: &[&str]) -> Result<(String, String), rcgen::Error> {
    let key = KeyPair::generate()?;
    let mut p = CertificateParams::default();
    let mut d = dn(user);
    let types = [DnType::OrganizationName, DnType::CustomDnType(ORGANIZATION_OID.to_vec())];
    for (ty, g) in types.into_iter().zip(groups) {
        d.push(ty, *g);
    }
    p.distinguished_name = d;
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    validity(&mut p);
    let cert = p.signed_by(&key, ca, ca_key)?;
    Ok((cert.pem(), key.serialize_pem()))
}

impl Pki {
    /// A client certificate and key (PEM) for `user` in up to two `groups`, signed by
    /// the cluster CA.
    pub fn issue_client_cert(&self, user: &str, groups: &[&str]) -> std::io::Result<(String, String)> {
        if groups.len() > 2 {
            return Err(std::io::Error::other("a client certificate carries at most two groups"));
        }
        let sign = || {
            let ca_key = KeyPair::from_pem(&self.ca_key)?;
            // The same name and key as the stored CA certificate, so it is the issuer.
            let ca = ca_params().self_signed(&ca_key)?;
            client_cert(&ca, &ca_key, user, groups)
        };
        sign().map_err(std::io::Error::other)
    }

    /// A kubeconfig for `user` in `groups` at `server_url`.
    pub fn client_kubeconfig(&self, server_url: &str, user: &str, groups: &[&str]) -> std::io::Result<String> {
        let (cert, key) = self.issue_client_cert(user, groups)?;
        Ok(kubeconfig(&self.ca_cert, server_url, &cert, &key))
    }
}

fn generate(extra_sans: &[String]) -> Result<Pki, rcgen::Error> {
    let ca_key = KeyPair::generate()?;
    let ca = ca_params().self_signed(&ca_key)?;

    let serving_key = KeyPair::generate()?;
    let mut sp = CertificateParams::default();
    sp.distinguished_name = dn("kube-apiserver");
    sp.subject_alt_names = serving_sans(extra_sans);
    sp.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
    sp.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    validity(&mut sp);
    let serving = sp.signed_by(&serving_key, &ca, &ca_key)?;

    let (admin_cert, admin_key) = client_cert(&ca, &ca_key, "system:admin", &["system:masters"])?;

    Ok(Pki {
        ca_cert: ca.pem(),
        ca_key: ca_key.serialize_pem(),
        serving_cert: serving.pem(),
        serving_key: serving_key.serialize_pem(),
        admin_cert,
        admin_key,
    })
}

const FILES: [&str; 6] = ["ca.crt", "ca.key", "serving.crt", "serving.key", "admin.crt", "admin.key"];

/// Loads the PKI from `<data_dir>/tls`, generating it on first start (and again for a
/// directory from before the CA key was kept, which could not sign new identities).
pub fn load_or_create(data_dir: &Path, extra_sans: &[String]) -> std::io::Result<Pki> {
    let dir = data_dir.join("tls");
    let paths: Vec<PathBuf> = FILES.iter().map(|f| dir.join(f)).collect();
    if paths.iter().all(|p| p.exists()) {
        let r = |i: usize| fs::read_to_string(&paths[i]);
        return Ok(Pki { ca_cert: r(0)?, ca_key: r(1)?, serving_cert: r(2)?, serving_key: r(3)?, admin_cert: r(4)?, admin_key: r(5)? });
    }
    fs::create_dir_all(&dir)?;
    let pki = generate(extra_sans).map_err(std::io::Error::other)?;
    let contents = [&pki.ca_cert, &pki.ca_key, &pki.serving_cert, &pki.serving_key, &pki.admin_cert, &pki.admin_key];
    for (path, content) in paths.iter().zip(contents) {
        write_private(path, content)?;
    }
    Ok(pki)
}

/// Writes a file readable only by its owner, atomically (temp file + rename).
pub fn write_private(path: &Path, content: &str) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let mut f = fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp)?;
    std::io::Write::write_all(&mut f, content.as_bytes())?;
    f.sync_all()?;
    fs::rename(tmp, path)
}

/// The admin kubeconfig for a server at `server_url`.
pub fn admin_kubeconfig(pki: &Pki, server_url: &str) -> String {
    kubeconfig(&pki.ca_cert, server_url, &pki.admin_cert, &pki.admin_key)
}

/// A kubeconfig for a user of the cluster in `data_dir` (whose CA signs the user's
/// certificate), e.g. for tests that act as other users.
pub fn user_kubeconfig(data_dir: &Path, server_url: &str, user: &str, groups: &[&str]) -> std::io::Result<String> {
    load_or_create(data_dir, &[])?.client_kubeconfig(server_url, user, groups)
}

/// A kubeconfig with one cluster and one user authenticating by client certificate.
pub fn kubeconfig(ca_cert: &str, server_url: &str, cert: &str, key: &str) -> String {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    format!(
        "apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority-data: {ca}
    server: {server_url}
  name: default
contexts:
- context:
    cluster: default
    user: default
  name: default
current-context: default
preferences: {{}}
users:
- name: default
  user:
    client-certificate-data: {cert}
    client-key-data: {key}
",
        ca = b64(ca_cert),
        cert = b64(cert),
        key = b64(key),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_client_certs_chain_to_the_ca_and_carry_user_and_groups() {
        let pki = generate(&[]).unwrap();
        let (cert, _key) = pki.issue_client_cert("dave", &["infra", "ops"]).unwrap();
        let der = rustls_pemfile::certs(&mut cert.as_bytes()).next().unwrap().unwrap();
        let user = crate::auth::user_from_cert(&der).unwrap();
        assert_eq!(user.name, "dave");
        assert_eq!(user.groups, ["infra", "ops", "system:authenticated"]);
        // The server's client certificate verifier accepts it.
        let mut roots = rustls::RootCertStore::empty();
        roots.add(rustls_pemfile::certs(&mut pki.ca_cert.as_bytes()).next().unwrap().unwrap()).unwrap();
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(std::sync::Arc::new(roots), provider).build().unwrap();
        verifier.verify_client_cert(&der, &[], rustls::pki_types::UnixTime::now()).unwrap();
        assert!(pki.issue_client_cert("x", &["a", "b", "c"]).is_err());
    }
}
