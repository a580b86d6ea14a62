//! The API server: HTTPS serving, authentication, authorization, discovery, the
//! generic REST handlers, and the watch cache over the store.

pub mod auth;
mod authz;
mod boot;
mod cache;
pub mod certs;
mod convert;
mod discovery;
mod negotiate;
mod objects;
mod openapi;
mod protobuf;
mod query;
mod reqinfo;
mod resources;
pub mod server;
mod status;
mod yaml;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use store::Store;

pub struct Config {
    pub data_dir: PathBuf,
    pub bind_address: IpAddr,
    pub port: u16,
    pub kubeconfig: PathBuf,
    pub token_auth_file: Option<PathBuf>,
    /// Serve requests without credentials as `system:anonymous` (else they get 401).
    pub anonymous_auth: bool,
    /// Extra names and addresses for the serving certificate.
    pub tls_sans: Vec<String>,
    pub service_cidr: String,
    /// NodePort range, `30000-32767`.
    pub service_node_port_range: String,
    /// How often store history is compacted (keeping at least one interval of it).
    pub compaction_interval: std::time::Duration,
    /// How long Events live after they are last written.
    pub event_ttl: std::time::Duration,
}

/// A running API server.
pub struct Running {
    pub addr: SocketAddr,
    pub kubeconfig: PathBuf,
    pub store: Arc<dyn Store>,
    pki: Arc<certs::Pki>,
    url: String,
}

impl Running {
    /// A kubeconfig for an internal component's identity (e.g. `system:kube-scheduler`,
    /// or `system:node:<name>` in `system:nodes`): a client certificate for `user` in
    /// up to two `groups`, signed by the cluster CA, for this server's address.
    pub fn component_kubeconfig(&self, user: &str, groups: &[&str]) -> std::io::Result<String> {
        self.pki.client_kubeconfig(&self.url, user, groups)
    }
}

fn io_err(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

fn tls_acceptor(pki: &certs::Pki) -> std::io::Result<tokio_rustls::TlsAcceptor> {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let certs: Vec<CertificateDer<'static>> =
        rustls_pemfile::certs(&mut pki.serving_cert.as_bytes()).collect::<Result<_, _>>()?;
    let key: PrivateKeyDer<'static> =
        rustls_pemfile::private_key(&mut pki.serving_key.as_bytes())?.ok_or_else(|| io_err("no serving key"))?;
    let mut roots = rustls::RootCertStore::empty();
    for ca in rustls_pemfile::certs(&mut pki.ca_cert.as_bytes()) {
        roots.add(ca?).map_err(io_err)?;
    }
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .allow_unauthenticated()
        .build()
        .map_err(io_err)?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(io_err)?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key)
        .map_err(io_err)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// Opens the store, loads the cache, writes the admin kubeconfig and starts serving.
pub async fn start(cfg: Config) -> std::io::Result<Running> {
    std::fs::create_dir_all(cfg.data_dir.join("db"))?;
    let store: Arc<dyn Store> = Arc::new(store::SqliteStore::open(&cfg.data_dir.join("db").join("state.db")).map_err(io_err)?);
    let mut sans = cfg.tls_sans.clone();
    if !cfg.bind_address.is_unspecified() {
        sans.push(cfg.bind_address.to_string());
    }
    let pki = certs::load_or_create(&cfg.data_dir, &sans)?;
    let acceptor = tls_acceptor(&pki)?;
    let token_file = match &cfg.token_auth_file {
        Some(p) => auth::TokenFile::load(p).map_err(io_err)?,
        None => auth::TokenFile::default(),
    };
    let listener = tokio::net::TcpListener::bind(SocketAddr::new(cfg.bind_address, cfg.port)).await?;
    let addr = listener.local_addr()?;
    let host = if cfg.bind_address.is_unspecified() { "127.0.0.1".to_string() } else { cfg.bind_address.to_string() };
    let url_host = if host.contains(':') { format!("[{host}]") } else { host.clone() };
    let storages: Vec<&str> = {
        let mut s: Vec<&str> = api::registry_data::RESOURCES.iter().map(|r| r.storage).collect();
        s.sort();
        s.dedup();
        s
    };
    let cache = cache::WatchCache::start(store.clone(), &storages).await.map_err(io_err)?;
    let service_ranges = resources::service_ips::ServiceRanges::new(&cfg.service_cidr, &cfg.service_node_port_range).map_err(io_err)?;
    let authn = auth::Authenticator {
        // Service account tokens would join this chain.
        tokens: vec![Box::new(token_file), Box::new(auth::BootstrapTokens { cache: cache.clone() })],
        anonymous: cfg.anonymous_auth,
    };
    let authz = authz::Authz::start(cache.clone()).await.map_err(|e| io_err(e.message))?;
    let srv = Arc::new(server::Server {
        store: store.clone(),
        cache,
        authn,
        authz,
        advertise: format!("{url_host}:{}", addr.port()),
        service_ranges,
        service_alloc: tokio::sync::Mutex::new(()),
        kubelet: resources::node_proxy::KubeletClient::new(&pki)?,
    });
    boot::ensure_boot_objects(&srv, &cfg).await.map_err(|e| io_err(e.message))?;
    authz::reconcile(&srv).await.map_err(|e| io_err(e.message))?;
    if let Some(parent) = cfg.kubeconfig.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let url = format!("https://{url_host}:{}", addr.port());
    let kubeconfig = certs::admin_kubeconfig(&pki, &url);
    // Rewritten only when it changes, so a restart needs no free disk space for it.
    if std::fs::read_to_string(&cfg.kubeconfig).ok().as_deref() != Some(kubeconfig.as_str()) {
        certs::write_private(&cfg.kubeconfig, &kubeconfig)?;
    }
    tokio::spawn(server::serve(srv.clone(), listener, acceptor));
    tokio::spawn(boot::compact_periodically(store.clone(), cfg.compaction_interval));
    tokio::spawn(boot::expire_events(srv.clone(), cfg.event_ttl));
    tokio::spawn(authz::run_aggregation(srv.clone()));
    tokio::spawn(srv.authz.clone().keep_current());
    Ok(Running { addr, kubeconfig: cfg.kubeconfig, store, pki: Arc::new(pki), url })
}
