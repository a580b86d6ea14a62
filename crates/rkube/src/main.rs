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
    /// Run only a node agent (as root) that joins a cluster elsewhere: its kubeconfig's
    /// user must be allowed to act as a node (system:node:NAME in system:nodes, or an admin).
    Agent(AgentCmd),
    /// Manage the images of a node's local store (the node may be running or not).
    #[command(subcommand)]
    Image(ImageCommand),
    /// Stop every container the node agent of DATA_DIR runs and remove its pod sandboxes
    /// (containers otherwise outlive `rkube server`, by design).
    Killall(KillallArgs),
    /// Internal commands the node agent runs (container monitor, sandbox setup).
    #[command(subcommand, hide = true)]
    Internal(InternalCommand),
}

#[derive(Subcommand)]
enum ImageCommand {
    /// Import docker-archive or oci-archive tarballs (`docker save`, `skopeo copy ... oci-archive:`).
    Import {
        #[arg(long, short = 'd', default_value = "/var/lib/rkube")]
        data_dir: PathBuf,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// List images.
    Ls {
        #[arg(long, short = 'd', default_value = "/var/lib/rkube")]
        data_dir: PathBuf,
    },
    /// Remove images by name or id.
    Rm {
        #[arg(long, short = 'd', default_value = "/var/lib/rkube")]
        data_dir: PathBuf,
        #[arg(required = true)]
        images: Vec<String>,
    },
}

#[derive(clap::Args)]
struct AgentCmd {
    /// Kubeconfig of the cluster to join.
    #[arg(long)]
    kubeconfig: PathBuf,
    /// Directory for the agent's state (images, containers) under DATA_DIR/agent.
    #[arg(long, short = 'd', default_value = "/var/lib/rkube")]
    data_dir: PathBuf,
    #[command(flatten)]
    agent: AgentArgs,
}

#[derive(clap::Args)]
struct KillallArgs {
    #[arg(long, short = 'd', default_value = "/var/lib/rkube")]
    data_dir: PathBuf,
}

#[derive(Subcommand)]
enum InternalCommand {
    /// Monitor one container: create and start it with the runtime, write its log, record its exit.
    Shim {
        #[arg(long)]
        id: String,
        #[arg(long)]
        bundle: PathBuf,
        #[arg(long)]
        runtime: PathBuf,
        #[arg(long)]
        runtime_root: PathBuf,
        #[arg(long)]
        log: PathBuf,
        #[arg(long, default_value_t = 10 * 1024 * 1024)]
        log_max_bytes: u64,
        #[arg(long)]
        cgroup: String,
    },
    /// Set the host name of the current UTS namespace (run inside a new pod sandbox).
    Sethostname { name: String },
    /// PID 1 of a pod whose containers share a PID namespace.
    Pause,
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
    /// Run the control plane only, without a node agent on this machine (the agent needs root).
    #[arg(long)]
    disable_agent: bool,
    #[command(flatten)]
    agent: AgentArgs,
}

#[derive(clap::Args)]
struct AgentArgs {
    /// Name of this machine's Node [default: the host name].
    #[arg(long)]
    node_name: Option<String>,
    /// Address of this node other nodes and the API server reach it at [default: detected].
    #[arg(long)]
    node_ip: Option<IpAddr>,
    /// IPv4 range for pod IPs; a single node takes its first /24.
    #[arg(long, default_value = "10.42.0.0/16")]
    cluster_cidr: String,
    /// Port of the node agent's API (logs, exec) [upstream kubelet: 10250].
    #[arg(long, default_value_t = 10250)]
    kubelet_port: u16,
    /// Directory of container logs.
    #[arg(long, default_value = "/var/log/pods")]
    pod_log_dir: PathBuf,
    /// OCI runtime binary [default: runc, else crun, on PATH].
    #[arg(long)]
    container_runtime: Option<PathBuf>,
    /// CNI configuration directory; the default bridge network is used when it has none
    /// [default: DATA_DIR/agent/etc/cni/net.d].
    #[arg(long)]
    cni_conf_dir: Option<PathBuf>,
    /// CNI plugin directories [default: /opt/cni/bin, /usr/lib/cni, ...].
    #[arg(long)]
    cni_bin_dir: Vec<PathBuf>,
    /// Name of the bridge of the default CNI network.
    #[arg(long, default_value = "cni0")]
    cni_bridge: String,
    /// Parent cgroup of every pod.
    #[arg(long, default_value = "/rkube")]
    cgroup_root: String,
    /// Cluster DNS server IPs for pods with dnsPolicy ClusterFirst (none: the node's resolv.conf).
    #[arg(long)]
    cluster_dns: Vec<IpAddr>,
    /// Cluster domain.
    #[arg(long, default_value = "cluster.local")]
    cluster_domain: String,
    /// Most pods this node runs.
    #[arg(long, default_value_t = 110)]
    max_pods: u32,
}

#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
        Command::Image(cmd) => image_command(cmd),
        Command::Agent(args) => runtime.block_on(agent_only(args)),
        Command::Killall(args) => runtime.block_on(node::killall(&args.data_dir.join("agent"))),
        Command::Internal(InternalCommand::Shim { id, bundle, runtime: rt, runtime_root, log, log_max_bytes, cgroup }) => {
            node::shim::run(node::shim::ShimArgs { id, bundle, runtime: rt, runtime_root, log, log_max_bytes, cgroup })
                .map_err(|e| format!("shim: {e}"))
        }
        Command::Internal(InternalCommand::Pause) => node::sandbox::pause(),
        Command::Internal(InternalCommand::Sethostname { name }) => {
            rustix::system::sethostname(name.as_bytes()).map_err(|e| format!("sethostname: {e}"))
        }
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
            cluster_cidr: controllers::nodeipam::Ranges::parse(&args.agent.cluster_cidr),
        };
        let lock = clients.informers.clone();
        tokio::spawn(async move {
            controllers::leader::lead(lock, "kube-controller-manager", identity, move || controllers::run(clients.clone(), ca.clone(), settings.clone())).await
        });
    }
    if !args.disable_agent {
        if rustix::process::geteuid().is_root() {
            let name = args.agent.node_name.clone().unwrap_or_else(hostname);
            let client = component(format!("system:node:{name}"), &["system:nodes"]).await?;
            let ca = std::fs::read(args.data_dir.join("tls").join("ca.crt")).map_err(|e| format!("reading the cluster CA: {e}"))?;
            let mut cfg = agent_config(&args.agent, &data_dir, name, ca)?;
            // The server's own node takes the first subnet without waiting for the allocator.
            cfg.pod_cidr = controllers::nodeipam::Ranges::parse(&args.agent.cluster_cidr).and_then(|r| r.next_free(&Default::default()));
            tokio::spawn(async move {
                if let Err(e) = node::run(client, cfg).await {
                    tracing::error!("node agent: {e}");
                }
            });
        } else {
            eprintln!("rkube: not root: running without a node agent (pods are scheduled but not run here)");
        }
    }
    eprintln!("rkube: API server listening on https://{}", running.addr);
    eprintln!("rkube: admin kubeconfig written to {}", running.kubeconfig.display());
    eprintln!("rkube: try: kubectl --kubeconfig {} get namespaces", running.kubeconfig.display());
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).map_err(|e| e.to_string())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r.map_err(|e| e.to_string())?,
        _ = term.recv() => {}
    }
    // Every acknowledged write is already on disk: nothing to flush.
    eprintln!("rkube: shutting down");
    Ok(())
}

async fn agent_only(args: AgentCmd) -> Result<(), String> {
    if !rustix::process::geteuid().is_root() {
        return Err("the node agent runs containers and needs root".into());
    }
    let kc = kube::config::Kubeconfig::read_from(&args.kubeconfig).map_err(|e| e.to_string())?;
    let ca = kubeconfig_ca(&kc, &args.kubeconfig)?;
    let client = client_of(kc).await?;
    let name = args.agent.node_name.clone().unwrap_or_else(hostname);
    let data_dir = std::fs::canonicalize(&args.data_dir).unwrap_or_else(|_| args.data_dir.clone());
    let cfg = agent_config(&args.agent, &data_dir, name, ca)?;
    eprintln!("rkube: node agent for node {} joining the cluster of {}", cfg.node_name, args.kubeconfig.display());
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).map_err(|e| e.to_string())?;
    tokio::select! {
        r = node::run(client, cfg) => r,
        r = tokio::signal::ctrl_c() => r.map_err(|e| e.to_string()),
        _ = term.recv() => Ok(()),
    }
}

/// The cluster CA of a kubeconfig's current context (inline or a file).
fn kubeconfig_ca(kc: &kube::config::Kubeconfig, path: &std::path::Path) -> Result<Vec<u8>, String> {
    use base64::Engine;
    let ctx_name = kc.current_context.clone().unwrap_or_default();
    let cluster_name = kc.contexts.iter().find(|c| c.name == ctx_name).and_then(|c| c.context.as_ref()).map(|c| c.cluster.clone());
    let cluster = kc
        .clusters
        .iter()
        .find(|c| Some(&c.name) == cluster_name.as_ref())
        .or(kc.clusters.first())
        .and_then(|c| c.cluster.as_ref())
        .ok_or("the kubeconfig names no cluster")?;
    if let Some(data) = &cluster.certificate_authority_data {
        return base64::engine::general_purpose::STANDARD.decode(data.trim()).map_err(|e| format!("certificate-authority-data: {e}"));
    }
    if let Some(file) = &cluster.certificate_authority {
        let p = path.parent().unwrap_or(std::path::Path::new(".")).join(file);
        return std::fs::read(&p).map_err(|e| format!("reading {}: {e}", p.display()));
    }
    Err("the kubeconfig has no certificate authority for its cluster".into())
}

fn hostname() -> String {
    rustix::system::uname().nodename().to_string_lossy().to_lowercase()
}

fn agent_config(a: &AgentArgs, data_dir: &std::path::Path, node_name: String, ca: Vec<u8>) -> Result<node::AgentConfig, String> {
    let root = data_dir.join("agent");
    let runtime = match &a.container_runtime {
        Some(r) => r.clone(),
        None => ["runc", "crun"].iter().find_map(|b| find_on_path(b)).ok_or("no OCI runtime (runc or crun) on PATH: install runc (apt-get install runc), or run without a node agent (--disable-agent)")?,
    };
    let bin_dirs = if a.cni_bin_dir.is_empty() {
        node::cni::DEFAULT_BIN_DIRS.iter().map(PathBuf::from).collect()
    } else {
        a.cni_bin_dir.clone()
    };
    Ok(node::AgentConfig {
        node_name,
        log_dir: a.pod_log_dir.clone(),
        runtime,
        self_exe: std::env::current_exe().map_err(|e| e.to_string())?,
        cni_bin_dirs: bin_dirs,
        cni_conf_dir: a.cni_conf_dir.clone().unwrap_or_else(|| root.join("etc/cni/net.d")),
        cni_bridge: a.cni_bridge.clone(),
        pod_cidr: None,
        cgroup_root: a.cgroup_root.clone(),
        kubelet_port: a.kubelet_port,
        client_ca_pem: ca,
        cluster_dns: a.cluster_dns.clone(),
        cluster_domain: a.cluster_domain.clone(),
        node_ip: a.node_ip,
        max_pods: a.max_pods,
        labels: Default::default(),
        log_max_bytes: 10 * 1024 * 1024,
        root,
    })
}

fn find_on_path(bin: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).map(|d| d.join(bin)).find(|p| p.is_file()))
        .unwrap_or(None)
        .or_else(|| ["/usr/sbin", "/usr/bin", "/sbin", "/bin"].iter().map(|d| PathBuf::from(d).join(bin)).find(|p| p.is_file()))
}

fn image_command(cmd: ImageCommand) -> Result<(), String> {
    let open = |d: &std::path::Path| image::ImageStore::open(&d.join("agent").join("images")).map_err(|e| format!("opening the image store: {e}"));
    match cmd {
        ImageCommand::Import { data_dir, files } => {
            let store = open(&data_dir)?;
            for f in files {
                let imported = store.import_archive(&f).map_err(|e| format!("importing {}: {e}", f.display()))?;
                for i in imported {
                    let names = if i.repo_tags.is_empty() { i.id.clone() } else { i.repo_tags.join(", ") };
                    println!("imported {names} ({})", i.id);
                }
            }
            Ok(())
        }
        ImageCommand::Ls { data_dir } => {
            let store = open(&data_dir)?;
            println!("{:<60} {:<20} {:>10}", "IMAGE", "IMAGE ID", "SIZE");
            for i in store.list() {
                let short = i.id.trim_start_matches("sha256:").chars().take(13).collect::<String>();
                let names = if i.repo_tags.is_empty() { vec!["<none>".to_string()] } else { i.repo_tags.clone() };
                for n in names {
                    println!("{n:<60} {short:<20} {:>10}", human_size(i.size));
                }
            }
            Ok(())
        }
        ImageCommand::Rm { data_dir, images } => {
            let store = open(&data_dir)?;
            for r in images {
                let i = store.remove(&r).map_err(|e| format!("removing {r}: {e}"))?;
                println!("untagged {r} ({})", i.id);
            }
            Ok(())
        }
    }
}

fn human_size(n: u64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u < units.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    format!("{v:.1}{}", units[u])
}
