//! `rkube`: Kubernetes in one binary.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "rkube", version, about = "Kubernetes in one binary: API server, embedded store and more")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a server: the Kubernetes API backed by a durable embedded store.
    Server(ServerArgs),
    /// SIMULATION for scale tests: register simulated nodes that run no containers; pods
    /// bound to them are reported Running with made-up IPs.
    Sim(SimArgs),
    /// Run only the scheduler, against a cluster elsewhere (it elects a leader, so
    /// several may run).
    Scheduler(ComponentArgs),
}

#[derive(clap::Args)]
struct ComponentArgs {
    /// Kubeconfig of the cluster (its user needs the system:kube-scheduler role).
    #[arg(long)]
    kubeconfig: PathBuf,
}

#[derive(clap::Args)]
struct SimArgs {
    /// Kubeconfig of the cluster to join.
    #[arg(long)]
    kubeconfig: PathBuf,
    /// How many simulated nodes to register.
    #[arg(long, default_value_t = 1)]
    nodes: usize,
    /// Node names are this prefix followed by 0, 1, 2, …
    #[arg(long, default_value = "sim-node-")]
    name_prefix: String,
    /// CPU capacity of each node.
    #[arg(long, default_value = "32")]
    cpu: String,
    /// Memory capacity of each node.
    #[arg(long, default_value = "256Gi")]
    memory: String,
    /// Pod capacity of each node.
    #[arg(long, default_value = "110")]
    pods: String,
    /// Spread the nodes over this many zones (topology.kubernetes.io/zone=zone-N); 0 for none.
    #[arg(long, default_value_t = 3)]
    zones: usize,
    /// Extra node labels, key=value (repeatable).
    #[arg(long = "label", value_parser = parse_label)]
    labels: Vec<(String, String)>,
    /// Seconds between Lease renewals (a kubelet's default is 10).
    #[arg(long, default_value_t = 10, value_name = "SECONDS")]
    heartbeat_interval: u64,
}

fn parse_label(s: &str) -> Result<(String, String), String> {
    s.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())).ok_or_else(|| format!("{s:?} is not key=value"))
}

#[derive(clap::Args)]
struct ServerArgs {
    /// Directory for the store, certificates and kubeconfig.
    #[arg(long, short = 'd', default_value = "/var/lib/rkube")]
    data_dir: PathBuf,
    /// HTTPS port of the Kubernetes API.
    #[arg(long, default_value_t = 6443)]
    https_listen_port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "0.0.0.0")]
    bind_address: IpAddr,
    /// Where to write the admin kubeconfig [default: DATA_DIR/kubeconfig.yaml].
    #[arg(long, short = 'o')]
    write_kubeconfig: Option<PathBuf>,
    /// Static bearer tokens, one per line: token,user,uid,"group1,group2".
    #[arg(long)]
    token_auth_file: Option<PathBuf>,
    /// Serve requests without credentials as system:anonymous (RBAC decides what they
    /// may do); `--anonymous-auth=false` answers them 401.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    anonymous_auth: bool,
    /// Extra host names or IPs for the serving certificate.
    #[arg(long = "tls-san")]
    tls_san: Vec<String>,
    /// IPv4 range for Service cluster IPs.
    #[arg(long, default_value = "10.43.0.0/16")]
    service_cidr: String,
    /// Port range for NodePort Services.
    #[arg(long, default_value = "30000-32767")]
    service_node_port_range: String,
    /// How long Events are kept, in seconds (upstream's --event-ttl is 1h).
    #[arg(long, default_value_t = 3600, value_name = "SECONDS")]
    event_ttl: u64,
    /// Seconds between compactions of store history; watches can resume from at least
    /// this far back.
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    compaction_interval: u64,
    /// Do not run the controller manager in this server.
    #[arg(long)]
    disable_controller_manager: bool,
    /// Seconds without a heartbeat before a node is marked Unknown and tainted unreachable.
    #[arg(long, default_value_t = 40, value_name = "SECONDS")]
    node_monitor_grace_period: u64,
    /// Finished pods kept before the oldest are deleted (0 keeps them all).
    #[arg(long, default_value_t = 12500)]
    terminated_pod_gc_threshold: usize,
    /// Do not run the scheduler in this server.
    #[arg(long)]
    disable_scheduler: bool,
    /// Run the control plane only, without a node agent on this machine (this build has
    /// no node agent yet, so it always runs that way).
    #[arg(long)]
    disable_agent: bool,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("RKUBE_LOG").unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    let result = match cli.command {
        Command::Server(args) => runtime.block_on(server(args)),
        Command::Sim(args) => runtime.block_on(sim(args)),
        Command::Scheduler(args) => runtime.block_on(scheduler_only(args)),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rkube: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// A client of this server, as every component is (they share only the API).
async fn client_from(kubeconfig: &std::path::Path) -> Result<kube::Client, String> {
    let kc = kube::config::Kubeconfig::read_from(kubeconfig).map_err(|e| e.to_string())?;
    client_of(kc).await
}

async fn client_of(kc: kube::config::Kubeconfig) -> Result<kube::Client, String> {
    let cfg = kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
        .await
        .map_err(|e| e.to_string())?;
    kube::Client::try_from(cfg).map_err(|e| e.to_string())
}

async fn scheduler_only(args: ComponentArgs) -> Result<(), String> {
    let client = client_from(&args.kubeconfig).await?;
    let me = controllers::leader::identity(&format!("scheduler:{}", args.kubeconfig.display()));
    tokio::select! {
        _ = controllers::leader::lead(client.clone(), "kube-scheduler", me, move || scheduler::shell::run(client.clone())) => Ok(()),
        r = tokio::signal::ctrl_c() => r.map_err(|e| e.to_string()),
    }
}

async fn sim(args: SimArgs) -> Result<(), String> {
    let client = client_from(&args.kubeconfig).await?;
    let cfg = sim::SimConfig {
        nodes: args.nodes,
        name_prefix: args.name_prefix,
        cpu: args.cpu,
        memory: args.memory,
        pods: args.pods,
        zones: args.zones,
        labels: args.labels,
        heartbeat_interval: std::time::Duration::from_secs(args.heartbeat_interval.max(1)),
    };
    eprintln!("rkube sim: SIMULATION: {} nodes that run no containers", cfg.nodes);
    tokio::select! {
        r = sim::run(client, cfg) => r,
        r = tokio::signal::ctrl_c() => r.map_err(|e| e.to_string()),
    }
}

async fn server(args: ServerArgs) -> Result<(), String> {
    let kubeconfig = args.write_kubeconfig.clone().unwrap_or_else(|| args.data_dir.join("kubeconfig.yaml"));
    let cfg = apiserver::Config {
        data_dir: args.data_dir.clone(),
        bind_address: args.bind_address,
        port: args.https_listen_port,
        kubeconfig,
        token_auth_file: args.token_auth_file,
        anonymous_auth: args.anonymous_auth,
        tls_sans: args.tls_san,
        service_cidr: args.service_cidr,
        service_node_port_range: args.service_node_port_range,
        compaction_interval: std::time::Duration::from_secs(args.compaction_interval.max(1)),
        event_ttl: std::time::Duration::from_secs(args.event_ttl.max(1)),
    };
    let running = apiserver::start(cfg).await.map_err(|e| format!("starting the API server: {e}"))?;
    // Each component is a client with its own identity and only its role.
    let component = |user: String, groups: &'static [&'static str]| {
        let kc = running.component_kubeconfig(&user, groups).map_err(|e| format!("credentials for {user}: {e}"));
        async move { client_of(kube::config::Kubeconfig::from_yaml(&kc?).map_err(|e| e.to_string())?).await }
    };
    let data_dir = std::fs::canonicalize(&args.data_dir).unwrap_or_else(|_| args.data_dir.clone());
    let identity = controllers::leader::identity(&data_dir.to_string_lossy());
    if !args.disable_scheduler {
        let client = component("system:kube-scheduler".into(), &[]).await?;
        let me = identity.clone();
        // One scheduler and one controller manager act at a time, whichever servers run them.
        tokio::spawn(async move { controllers::leader::lead(client.clone(), "kube-scheduler", me, move || scheduler::shell::run(client.clone())).await });
    }
    if !args.disable_controller_manager {
        let mut clients = controllers::Clients::single(component("system:kube-controller-manager".into(), &[]).await?);
        for name in controllers::CONTROLLERS {
            let account = format!("system:serviceaccount:kube-system:{name}");
            let client = component(account, &["system:serviceaccounts", "system:serviceaccounts:kube-system"]).await?;
            clients.writers.insert(name.to_string(), client);
        }
        let ca = std::fs::read_to_string(args.data_dir.join("tls").join("ca.crt")).map_err(|e| format!("reading the cluster CA: {e}"))?;
        let settings = controllers::Settings {
            node_monitor_grace_period: std::time::Duration::from_secs(args.node_monitor_grace_period.max(1)),
            terminated_pod_gc_threshold: args.terminated_pod_gc_threshold,
        };
        let lock = clients.informers.clone();
        tokio::spawn(async move {
            controllers::leader::lead(lock, "kube-controller-manager", identity, move || controllers::run(clients.clone(), ca.clone(), settings.clone())).await
        });
    }
    eprintln!("rkube: API server listening on https://{}", running.addr);
    eprintln!("rkube: admin kubeconfig written to {}", running.kubeconfig.display());
    eprintln!("rkube: try: kubectl --kubeconfig {} get namespaces", running.kubeconfig.display());
    if !args.disable_agent {
        eprintln!("rkube: note: this build has no node agent yet: scheduled pods are not run");
    }
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).map_err(|e| e.to_string())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r.map_err(|e| e.to_string())?,
        _ = term.recv() => {}
    }
    // Every acknowledged write is already on disk: nothing to flush.
    eprintln!("rkube: shutting down");
    Ok(())
}
