//! The cluster's PKI: a CA, a serving certificate and an admin client certificate,
//! generated on first start into `<data-dir>/tls` and reused afterwards; and the admin
//! kubeconfig that points kubectl at the server.

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
    pub serving_cert: String,
    pub serving_key: String,
    pub admin_cert: String,
    pub admin_key: String,
}

fn dn(cn: &str, org: Option<&str>) -> DistinguishedName {
    let mut d = DistinguishedName::new();
    d.push(DnType::CommonName, cn);
    if let Some(o) = org {
        d.push(DnType::OrganizationName, o);
    }
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

fn generate(extra_sans: &[String]) -> Result<Pki, rcgen::Error> {
    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::default();
    ca_params.distinguished_name = dn("rkube-ca", None);
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    validity(&mut ca_params);
    let ca = ca_params.self_signed(&ca_key)?;

    let serving_key = KeyPair::generate()?;
    let mut sp = CertificateParams::default();
    sp.distinguished_name = dn("kube-apiserver", None);
    sp.subject_alt_names = serving_sans(extra_sans);
    sp.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
    sp.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    validity(&mut sp);
    let serving = sp.signed_by(&serving_key, &ca, &ca_key)?;

    let admin_key = KeyPair::generate()?;
    let mut ap = CertificateParams::default();
    ap.distinguished_name = dn("system:admin", Some("system:masters"));
    ap.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
    ap.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    validity(&mut ap);
    let admin = ap.signed_by(&admin_key, &ca, &ca_key)?;

    Ok(Pki {
        ca_cert: ca.pem(),
        serving_cert: serving.pem(),
        serving_key: serving_key.serialize_pem(),
        admin_cert: admin.pem(),
        admin_key: admin_key.serialize_pem(),
    })
}

const FILES: [&str; 5] = ["ca.crt", "serving.crt", "serving.key", "admin.crt", "admin.key"];

/// Loads the PKI from `<data_dir>/tls`, generating it on first start.
pub fn load_or_create(data_dir: &Path, extra_sans: &[String]) -> std::io::Result<Pki> {
    let dir = data_dir.join("tls");
    let paths: Vec<PathBuf> = FILES.iter().map(|f| dir.join(f)).collect();
    if paths.iter().all(|p| p.exists()) {
        let r = |i: usize| fs::read_to_string(&paths[i]);
        return Ok(Pki { ca_cert: r(0)?, serving_cert: r(1)?, serving_key: r(2)?, admin_cert: r(3)?, admin_key: r(4)? });
    }
    fs::create_dir_all(&dir)?;
    let pki = generate(extra_sans).map_err(std::io::Error::other)?;
    let contents = [&pki.ca_cert, &pki.serving_cert, &pki.serving_key, &pki.admin_cert, &pki.admin_key];
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
        ca = b64(&pki.ca_cert),
        cert = b64(&pki.admin_cert),
        key = b64(&pki.admin_key),
    )
}
