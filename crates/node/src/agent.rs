//! The agent's shell: registers the Node, heartbeats its Lease, watches the pods bound
//! to it and runs one worker per pod.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, Pod, Service};
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::{watcher, WatchStreamExt};
use serde_json::{json, Value};
use tokio::sync::watch;

use crate::node_status::{Machine, NodeSpec};
use crate::runtime::{ContainerMeta, Runtime};

/// How the agent runs on this machine.
#[derive(Clone, Debug)]
pub struct AgentConfig {
    pub node_name: String,
    /// The agent's state: images, containers, pod directories (e.g. DATA_DIR/agent).
    pub root: PathBuf,
    /// Container logs, `<ns>_<pod>_<uid>/<container>/<restart>.log` (upstream: /var/log/pods).
    pub log_dir: PathBuf,
    /// The OCI runtime binary.
    pub runtime: PathBuf,
    /// This binary, run as `rkube internal shim` to monitor each container.
    pub self_exe: PathBuf,
    pub cni_bin_dirs: Vec<PathBuf>,
    /// A CNI configuration here wins; else the default bridge configuration is used.
    pub cni_conf_dir: PathBuf,
    pub cni_bridge: String,
    /// The podCIDR to register with when the Node has none (single-node clusters).
    pub pod_cidr: Option<String>,
    /// Parent cgroup of all pods (`<root>/kubepods/...`).
    pub cgroup_root: String,
    pub kubelet_port: u16,
    /// The cluster CA (PEM): clients of the agent's API must present certificates it signed.
    pub client_ca_pem: Vec<u8>,
    pub cluster_dns: Vec<IpAddr>,
    pub cluster_domain: String,
    pub node_ip: Option<IpAddr>,
    pub max_pods: u32,
    pub labels: BTreeMap<String, String>,
    pub log_max_bytes: u64,
}

pub struct Agent {
    pub cfg: AgentConfig,
    pub client: kube::Client,
    pub runtime: Runtime,
    pub images: image::ImageStore,
    pub network: Option<crate::cni::Network>,
    pub recorder: controllers::events::Recorder,
    pub machine: Machine,
    pub node_ip: IpAddr,
    pods: Mutex<HashMap<String, Arc<Pod>>>,
    workers: Mutex<HashMap<String, watch::Sender<Option<Arc<Pod>>>>>,
    services: Mutex<Vec<Service>>,
    images_dirty: tokio::sync::Notify,
}

impl Agent {
    pub fn pods_dir(&self) -> PathBuf {
        self.cfg.root.join("pods")
    }

    pub fn pod(&self, uid: &str) -> Option<Arc<Pod>> {
        self.pods.lock().unwrap().get(uid).cloned()
    }

    /// Services whose variables pods of `ns` get, plus default/kubernetes.
    pub fn services_for(&self, ns: &str) -> Vec<Service> {
        self.services
            .lock()
            .unwrap()
            .iter()
            .filter(|s| {
                let sns = s.metadata.namespace.as_deref().unwrap_or("");
                sns == ns || (sns == "default" && s.metadata.name.as_deref() == Some("kubernetes"))
            })
            .cloned()
            .collect()
    }

    pub fn images_changed(&self) {
        self.images_dirty.notify_one();
    }

    pub fn worker_done(&self, uid: &str) {
        self.workers.lock().unwrap().remove(uid);
    }

    /// Hands the latest version of every pod to its worker, starting workers for new
    /// pods; workers of pods that left get `None`.
    fn dispatch(self: &Arc<Self>, adopted: &mut HashMap<String, Vec<ContainerMeta>>) {
        let pods = self.pods.lock().unwrap().clone();
        let mut workers = self.workers.lock().unwrap();
        for (uid, pod) in &pods {
            match workers.get(uid) {
                Some(tx) => {
                    tx.send_if_modified(|cur| {
                        let same = cur.as_ref().is_some_and(|c| c.metadata.resource_version == pod.metadata.resource_version);
                        if !same {
                            *cur = Some(pod.clone());
                        }
                        !same
                    });
                }
                None => {
                    let (tx, rx) = watch::channel(Some(pod.clone()));
                    workers.insert(uid.clone(), tx);
                    let metas = adopted.remove(uid).unwrap_or_default();
                    tokio::spawn(crate::worker::run(self.clone(), uid.clone(), rx, metas));
                }
            }
        }
        for (uid, tx) in workers.iter() {
            if !pods.contains_key(uid) {
                tx.send_if_modified(|cur| cur.take().is_some());
            }
        }
        // Containers and sandboxes of pods that are no longer bound here.
        for (uid, metas) in adopted.drain() {
            if pods.contains_key(&uid) || workers.contains_key(&uid) {
                continue;
            }
            let (tx, rx) = watch::channel(None);
            workers.insert(uid.clone(), tx);
            tokio::spawn(crate::worker::run(self.clone(), uid, rx, metas));
        }
    }
}

fn field_manager() -> PatchParams {
    PatchParams { field_manager: Some("kubelet".into()), ..Default::default() }
}

fn image_list(images: &image::ImageStore) -> Value {
    let list: Vec<Value> = images
        .list()
        .into_iter()
        .map(|i| {
            let mut names = i.repo_digests.clone();
            names.extend(i.repo_tags.clone());
            json!({"names": names, "sizeBytes": i.size})
        })
        .collect();
    json!(list)
}

/// Creates the Node (or refreshes its status); returns its uid and podCIDR.
async fn register(agent: &Agent) -> Result<(String, Option<String>), String> {
    let cfg = &agent.cfg;
    let nodes: Api<Node> = Api::all(agent.client.clone());
    let spec = NodeSpec {
        name: &cfg.node_name,
        ip: agent.node_ip,
        port: cfg.kubelet_port,
        max_pods: cfg.max_pods,
        pod_cidr: cfg.pod_cidr.as_deref(),
        labels: &cfg.labels,
    };
    let now = crate::shim::now_rfc3339();
    let obj: Node = serde_json::from_value(crate::node_status::node_object(&agent.machine, &spec, image_list(&agent.images), &now))
        .map_err(|e| e.to_string())?;
    let node = match nodes.create(&PostParams { field_manager: Some("kubelet".into()), ..Default::default() }, &obj).await {
        Ok(n) => n,
        Err(kube::Error::Api(e)) if e.code == 409 => {
            let existing = nodes.get(&cfg.node_name).await.map_err(|e| e.to_string())?;
            let old = existing.status.as_ref().and_then(|s| serde_json::to_value(s).ok());
            let status = crate::node_status::status(&agent.machine, &spec, image_list(&agent.images), &now, old.as_ref());
            nodes
                .patch_status(&cfg.node_name, &field_manager(), &Patch::Merge(json!({"status": status})))
                .await
                .map_err(|e| e.to_string())?
        }
        Err(e) => return Err(format!("registering node {}: {e}", cfg.node_name)),
    };
    let cidr = node.spec.as_ref().and_then(|s| s.pod_cidr.clone());
    Ok((node.metadata.uid.unwrap_or_default(), cidr))
}

async fn heartbeat(agent: Arc<Agent>, node_uid: String) {
    let leases: Api<Lease> = Api::namespaced(agent.client.clone(), "kube-node-lease");
    let nodes: Api<Node> = Api::all(agent.client.clone());
    let name = agent.cfg.node_name.clone();
    let mut tick = tokio::time::interval(Duration::from_secs(10));
    let mut status_every = 0u32;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = agent.images_dirty.notified() => { status_every = 0; }
        }
        let renew = json!({"spec": {"holderIdentity": name, "leaseDurationSeconds": 40, "renewTime": crate::shim::now_rfc3339_micro()}});
        match leases.patch(&name, &field_manager(), &Patch::Merge(renew)).await {
            Ok(_) => {}
            Err(kube::Error::Api(e)) if e.code == 404 => {
                let lease = json!({
                    "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                    "metadata": {"name": name, "namespace": "kube-node-lease",
                        "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": name, "uid": node_uid}]},
                    "spec": {"holderIdentity": name, "leaseDurationSeconds": 40, "renewTime": crate::shim::now_rfc3339_micro()}
                });
                if let Ok(l) = serde_json::from_value::<Lease>(lease) {
                    let _ = leases.create(&PostParams::default(), &l).await;
                }
            }
            Err(e) => tracing::warn!("renewing the node lease: {e}"),
        }
        // Status every minute (the Lease is the heartbeat), or when images changed.
        if status_every == 0 {
            let spec = NodeSpec {
                name: &name,
                ip: agent.node_ip,
                port: agent.cfg.kubelet_port,
                max_pods: agent.cfg.max_pods,
                pod_cidr: None,
                labels: &agent.cfg.labels,
            };
            let old = nodes.get(&name).await.ok().and_then(|n| n.status).and_then(|s| serde_json::to_value(s).ok());
            let status = crate::node_status::status(&agent.machine, &spec, image_list(&agent.images), &crate::shim::now_rfc3339(), old.as_ref());
            if let Err(e) = nodes.patch_status(&name, &field_manager(), &Patch::Merge(json!({"status": status}))).await {
                tracing::warn!("updating node status: {e}");
            }
        }
        status_every = (status_every + 1) % 6;
    }
}

/// Runs the node agent until the process ends.
pub async fn run(client: kube::Client, cfg: AgentConfig) -> Result<(), String> {
    for d in [cfg.root.clone(), cfg.root.join("pods"), cfg.root.join("containers"), cfg.log_dir.clone()] {
        std::fs::create_dir_all(&d).map_err(|e| format!("creating {}: {e}", d.display()))?;
    }
    let images = image::ImageStore::open(&cfg.root.join("images")).map_err(|e| format!("opening the image store: {e}"))?;
    let runtime = Runtime { root: cfg.root.clone(), runtime: cfg.runtime.clone(), self_exe: cfg.self_exe.clone(), log_max_bytes: cfg.log_max_bytes };
    let machine = Machine::read(&cfg.root, &cfg.runtime);
    let node_ip = cfg.node_ip.or_else(crate::node_status::detect_node_ip).unwrap_or(IpAddr::from([127, 0, 0, 1]));
    let recorder = controllers::events::Recorder::new(client.clone(), "kubelet");
    let mut agent = Agent {
        cfg: cfg.clone(),
        client: client.clone(),
        runtime,
        images,
        network: None,
        recorder,
        machine,
        node_ip,
        pods: Mutex::default(),
        workers: Mutex::default(),
        services: Mutex::default(),
        images_dirty: tokio::sync::Notify::new(),
    };
    let (node_uid, pod_cidr) = loop {
        match register(&agent).await {
            Ok(r) => break r,
            Err(e) => {
                tracing::warn!("{e}; retrying");
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        }
    };
    let pod_cidr = match pod_cidr {
        Some(c) => Some(c),
        None if crate::cni::load_conf_dir(&cfg.cni_conf_dir).is_none() => wait_for_pod_cidr(&agent).await,
        None => None,
    };
    agent.network = network(&cfg, pod_cidr.as_deref());
    if agent.network.is_none() {
        tracing::warn!("node {} has no podCIDR and {} holds no CNI configuration: pods can only use hostNetwork", cfg.node_name, cfg.cni_conf_dir.display());
    }
    let _ = std::fs::write(cfg.root.join("runtime"), cfg.runtime.display().to_string());
    let _ = std::fs::write(cfg.root.join("cgroup-root"), &cfg.cgroup_root);
    if let Some(n) = &agent.network {
        let saved = json!({"conflist": n.conflist, "binDirs": n.bin_dirs});
        let path = cfg.root.join(crate::cleanup::ACTIVE_NETWORK);
        let _ = std::fs::create_dir_all(path.parent().unwrap_or(&cfg.root));
        let _ = std::fs::write(&path, saved.to_string());
    }
    let agent = Arc::new(agent);
    tracing::info!("node agent: node {} registered ({}), runtime {}", cfg.node_name, node_ip, agent.machine.runtime_version);
    tokio::spawn(heartbeat(agent.clone(), node_uid));
    let view: Arc<dyn crate::server::PodView> = agent.clone();
    let server_cfg = crate::server::ServerConfig {
        addr: std::net::SocketAddr::new(IpAddr::from([0, 0, 0, 0]), cfg.kubelet_port),
        cert_dir: cfg.root.join("tls"),
        client_ca_pem: cfg.client_ca_pem.clone(),
        node_name: cfg.node_name.clone(),
        node_ips: vec![node_ip],
        log_dir: cfg.log_dir.clone(),
    };
    tokio::spawn(async move {
        if let Err(e) = crate::server::serve(server_cfg, view).await {
            tracing::error!("node agent API: {e}");
        }
    });
    tokio::spawn(watch_services(agent.clone()));

    recover_after_reboot(&agent).await;
    // Containers left by an earlier run, by pod: adopted by that pod's worker.
    let mut adopted: HashMap<String, Vec<ContainerMeta>> = HashMap::new();
    for m in agent.runtime.list() {
        adopted.entry(m.pod_uid.clone()).or_default().push(m);
    }
    for (uid, _) in crate::sandbox::pod_dirs(&agent.pods_dir()) {
        adopted.entry(uid).or_default();
    }
    let api: Api<Pod> = Api::all(client.clone());
    let wc = watcher::Config::default().fields(&format!("spec.nodeName={}", cfg.node_name));
    let mut stream = std::pin::pin!(watcher(api, wc).default_backoff());
    let mut initial: Option<HashMap<String, Arc<Pod>>> = None;
    while let Some(ev) = stream.next().await {
        let ev = match ev {
            Ok(ev) => ev,
            Err(e) => {
                tracing::warn!("watching pods: {e}");
                continue;
            }
        };
        match ev {
            watcher::Event::Init => initial = Some(HashMap::new()),
            watcher::Event::InitApply(p) => {
                if let (Some(m), Some(uid)) = (initial.as_mut(), p.metadata.uid.clone()) {
                    m.insert(uid, Arc::new(p));
                }
            }
            watcher::Event::InitDone => {
                *agent.pods.lock().unwrap() = initial.take().unwrap_or_default();
                agent.dispatch(&mut adopted);
            }
            watcher::Event::Apply(p) => {
                if let Some(uid) = p.metadata.uid.clone() {
                    agent.pods.lock().unwrap().insert(uid, Arc::new(p));
                }
                agent.dispatch(&mut adopted);
            }
            watcher::Event::Delete(p) => {
                if let Some(uid) = &p.metadata.uid {
                    agent.pods.lock().unwrap().remove(uid);
                }
                agent.dispatch(&mut adopted);
            }
        }
    }
    Ok(())
}

/// After the machine rebooted, nothing the last boot left is alive: no container
/// process, shim or pinned namespace, and recorded PIDs may now belong to others. Every
/// container without an exit record is recorded as lost, the runtime's stale state is
/// dropped, and every sandbox is detached from the network (releasing its IP), so the
/// pods' workers build new sandboxes and restart their containers.
async fn recover_after_reboot(agent: &Agent) {
    let marker = agent.cfg.root.join("boot_id");
    let previous = std::fs::read_to_string(&marker).unwrap_or_default();
    let current = agent.machine.boot_id.clone();
    if previous.trim() == current || current.is_empty() {
        return;
    }
    if !previous.is_empty() {
        tracing::info!("node agent: the machine rebooted; containers of the last boot are recorded as lost");
        for m in agent.runtime.list() {
            let dir = agent.runtime.dir(&m.id);
            if !dir.join(crate::shim::EXIT_FILE).exists() {
                let started = std::fs::read_to_string(dir.join(crate::shim::STARTED_FILE)).unwrap_or_default();
                let rec = crate::shim::ExitRecord {
                    exit_code: 137,
                    start_error: Some("The container could not be located when the pod was terminated".into()),
                    finished_at: crate::shim::now_rfc3339(),
                    started_at: started.trim().to_string(),
                    ..Default::default()
                };
                if let Ok(bytes) = serde_json::to_vec(&rec) {
                    let _ = crate::shim::write_atomic(&dir.join(crate::shim::EXIT_FILE), &bytes);
                }
            }
            for stale in ["shim.pid", crate::shim::PID_FILE] {
                let _ = std::fs::remove_file(dir.join(stale));
            }
        }
        let _ = std::fs::remove_dir_all(agent.runtime.runtime_root());
        for (uid, dir) in crate::sandbox::pod_dirs(&agent.pods_dir()) {
            if let Err(e) = crate::sandbox::teardown(&dir, "", "", &uid, agent.network.as_ref()).await {
                tracing::warn!("releasing the sandbox of pod {uid} from the last boot: {e}");
            }
        }
    }
    let _ = std::fs::write(&marker, &current);
}

/// Waits (a minute at most) for the node IPAM controller to give this node a podCIDR.
async fn wait_for_pod_cidr(agent: &Agent) -> Option<String> {
    let nodes: Api<Node> = Api::all(agent.client.clone());
    for _ in 0..120 {
        if let Ok(n) = nodes.get(&agent.cfg.node_name).await {
            if let Some(c) = n.spec.and_then(|s| s.pod_cidr) {
                return Some(c);
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    None
}

fn network(cfg: &AgentConfig, pod_cidr: Option<&str>) -> Option<crate::cni::Network> {
    let conflist = crate::cni::load_conf_dir(&cfg.cni_conf_dir)
        .or_else(|| pod_cidr.map(|c| crate::cni::default_conflist(&cfg.cni_bridge, c, &cfg.root.join("cni").join("networks"))))?;
    Some(crate::cni::Network { conflist, bin_dirs: cfg.cni_bin_dirs.clone() })
}

async fn watch_services(agent: Arc<Agent>) {
    let api: Api<Service> = Api::all(agent.client.clone());
    let (reader, writer) = kube::runtime::reflector::store();
    let stream = kube::runtime::reflector::reflector(writer, watcher(api, watcher::Config::default())).default_backoff();
    let mut stream = std::pin::pin!(stream);
    while stream.next().await.is_some() {
        let all: Vec<Service> = reader.state().iter().map(|s| (**s).clone()).collect();
        *agent.services.lock().unwrap() = all;
    }
}

impl crate::server::PodView for Agent {
    fn pod_uid(&self, namespace: &str, name: &str) -> Option<String> {
        self.pods
            .lock()
            .unwrap()
            .values()
            .find(|p| p.metadata.namespace.as_deref() == Some(namespace) && p.metadata.name.as_deref() == Some(name))
            .and_then(|p| p.metadata.uid.clone())
    }

    fn container_running(&self, pod_uid: &str, container: &str) -> bool {
        // Called on every poll of a log follower: find the newest instance by directory
        // name (`<uid>-<name>-<restart>`) without reading every container's records.
        let prefix = format!("{pod_uid}-{container}-");
        let newest = std::fs::read_dir(self.runtime.containers_dir())
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter_map(|n| Some((n.strip_prefix(&prefix)?.parse::<i32>().ok()?, n.clone())))
            .max();
        newest.is_some_and(|(_, id)| matches!(self.runtime.state(&id), crate::runtime::State::Running { .. } | crate::runtime::State::Created))
    }

    fn exec_target(&self, pod_uid: &str, container: &str) -> Option<crate::streaming::ExecTarget> {
        let meta = self.runtime.list().into_iter().filter(|m| m.pod_uid == pod_uid && m.name == container).max_by_key(|m| m.restart_count)?;
        Some(crate::streaming::ExecTarget {
            runtime: self.runtime.runtime.clone(),
            runtime_root: self.runtime.runtime_root(),
            running: matches!(self.runtime.state(&meta.id), crate::runtime::State::Running { .. }),
            scratch_dir: self.runtime.dir(&meta.id),
            log_path: meta.log_path,
            id: meta.id,
        })
    }
}
