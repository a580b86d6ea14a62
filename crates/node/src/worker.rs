//! One pod's worker: brings the pod's containers to what its spec asks (init
//! containers in order, then the app containers, restarted per restartPolicy with
//! upstream's back-off), runs probes and hooks, stops everything gracefully when the pod
//! is deleted, and reports status.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Container, Pod};
use kube::api::{Api, DeleteParams, Patch, PatchParams, Preconditions};
use serde_json::{json, Value};
use tokio::sync::{mpsc, watch};

use crate::agent::Agent;
use crate::probes::{ProbeHandle, ProbeKind, ProbeUpdate};
use crate::runtime::{ContainerMeta, State};
use crate::shim::ExitRecord;
use crate::status::{Instance, Observed};

/// Upstream's container restart back-off: 10 s doubling to 5 min, reset after a
/// container ran 10 minutes.
const BACKOFF_INITIAL: Duration = Duration::from_secs(10);
const BACKOFF_MAX: Duration = Duration::from_secs(300);
const BACKOFF_RESET: Duration = Duration::from_secs(600);
/// How often a worker looks at its containers without being woken (upstream's PLEG
/// relists every second).
const POLL: Duration = Duration::from_secs(1);
/// How often configMap, secret and downward API volumes are refreshed.
const VOLUME_REFRESH: Duration = Duration::from_secs(20);
/// The longest a worker goes without a full pass over its pod.
const FULL_SYNC: Duration = Duration::from_secs(10);

/// Whether the pod has volumes whose contents come from the API (refreshed periodically).
fn pod_has_refreshed_volumes(pod: Option<&Pod>) -> bool {
    pod.and_then(|p| p.spec.as_ref()).and_then(|s| s.volumes.as_ref()).is_some_and(|vs| {
        vs.iter().any(|v| v.config_map.is_some() || v.secret.is_some() || v.downward_api.is_some() || v.projected.is_some())
    })
}

#[derive(Default)]
struct Backoff {
    delay: Duration,
    until: Option<Instant>,
}

#[derive(Default)]
struct ContainerRecord {
    instances: Vec<ContainerMeta>,
    waiting: Option<(String, String)>,
    backoff: Backoff,
    image_backoff: Backoff,
    ready: Option<bool>,
    started: Option<bool>,
    probes: Vec<ProbeHandle>,
    /// Set when liveness or a failed postStart hook asked for a restart.
    kill_reason: Option<String>,
    /// The current instance's id and whether it had exited at the last sync.
    seen: Option<(String, bool)>,
}

pub struct PodWorker {
    agent: Arc<Agent>,
    uid: String,
    pod_dir: PathBuf,
    containers: HashMap<String, ContainerRecord>,
    sandbox: Option<crate::sandbox::SandboxState>,
    refs: Option<(crate::PodRefs, Instant)>,
    last_status: Value,
    probe_tx: mpsc::UnboundedSender<ProbeUpdate>,
    probe_rx: mpsc::UnboundedReceiver<ProbeUpdate>,
    failed: Option<(String, String)>,
    last_spec_rv: String,
    /// The IPs a finished pod had before its sandbox was released (still reported).
    released_ips: Vec<std::net::IpAddr>,
}

/// Runs until the pod is gone from the API and its containers and sandbox are removed.
pub async fn run(agent: Arc<Agent>, uid: String, mut pods: watch::Receiver<Option<Arc<Pod>>>, adopted: Vec<ContainerMeta>) {
    let (probe_tx, probe_rx) = mpsc::unbounded_channel();
    let pod_dir = agent.pods_dir().join(&uid);
    let mut w = PodWorker {
        sandbox: crate::sandbox::load(&pod_dir),
        agent,
        uid,
        pod_dir,
        containers: HashMap::new(),
        refs: None,
        last_status: Value::Null,
        probe_tx,
        probe_rx,
        failed: None,
        last_spec_rv: String::new(),
        released_ips: Vec::new(),
    };
    for meta in adopted {
        w.containers.entry(meta.name.clone()).or_default().instances.push(meta);
    }
    for r in w.containers.values_mut() {
        r.instances.sort_by_key(|m| m.restart_count);
    }
    let mut last_pod: Option<Arc<Pod>> = pods.borrow().clone();
    // Adopted containers that still run get their probes back.
    if let Some(pod) = last_pod.clone() {
        let spec = pod.spec.clone().unwrap_or_default();
        for c in spec.init_containers.iter().flatten().chain(spec.containers.iter()) {
            let running = w.current(&c.name).filter(|m| matches!(w.agent.runtime.state(&m.id), State::Running { .. })).map(|m| m.id.clone());
            if let Some(id) = running {
                w.start_probes(c, &id, false);
            }
        }
    }
    let mut last_sync;
    loop {
        let done = match last_pod.clone() {
            Some(pod) => w.sync(&pod).await,
            None => w.cleanup_orphan().await,
        };
        if done {
            break;
        }
        last_sync = Instant::now();
        // Between syncs, look only for what can change without an event: a container
        // that started or ended, a back-off that expired, volumes due for a refresh.
        loop {
            tokio::select! {
                changed = pods.changed() => {
                    if changed.is_err() {
                        last_pod = None;
                    } else {
                        last_pod = pods.borrow_and_update().clone();
                    }
                    break;
                }
                Some(u) = w.probe_rx.recv() => {
                    w.on_probe(u).await;
                    break;
                }
                _ = tokio::time::sleep(POLL) => {
                    if w.needs_sync(last_sync) {
                        break;
                    }
                }
            }
        }
    }
    w.agent.worker_done(&w.uid);
}

fn sidecar(c: &Container) -> bool {
    c.restart_policy.as_deref() == Some("Always")
}

fn pod_key(pod: &Pod) -> String {
    format!("{}_{}({})", pod.metadata.name.as_deref().unwrap_or(""), pod.metadata.namespace.as_deref().unwrap_or(""), pod.metadata.uid.as_deref().unwrap_or(""))
}

impl PodWorker {
    /// Whether something changed that only a look at the disk or the clock shows.
    fn needs_sync(&self, last_sync: Instant) -> bool {
        // A level-triggered pass now and then heals whatever the checks below miss.
        if last_sync.elapsed() >= FULL_SYNC {
            return true;
        }
        let now = Instant::now();
        for r in self.containers.values() {
            if r.kill_reason.is_some() || r.backoff.until.is_some_and(|u| u <= now && u > last_sync) || r.image_backoff.until.is_some_and(|u| u <= now && u > last_sync) {
                return true;
            }
            if let Some(m) = r.instances.last() {
                let dir = self.agent.runtime.dir(&m.id);
                let exited = dir.join(crate::shim::EXIT_FILE).exists();
                let seen_exited = r.seen.as_ref().is_some_and(|s| s.0 == m.id && s.1);
                if exited != seen_exited {
                    return true;
                }
            }
        }
        self.refs.as_ref().is_some_and(|(_, at)| at.elapsed() >= VOLUME_REFRESH && pod_has_refreshed_volumes(self.agent.pod(&self.uid).as_deref()))
    }

    fn current(&self, name: &str) -> Option<&ContainerMeta> {
        self.containers.get(name).and_then(|r| r.instances.last())
    }

    fn state_of(&self, name: &str) -> Option<State> {
        self.current(name).map(|m| self.agent.runtime.state(&m.id))
    }

    async fn event(&self, pod: &Pod, warning: bool, reason: &str, message: String) {
        let involved = controllers::events::Involved::of(pod);
        if warning {
            self.agent.recorder.warning(&involved, reason, message).await;
        } else {
            self.agent.recorder.normal(&involved, reason, message).await;
        }
    }

    /// One pass over the pod. Returns true when the worker is finished.
    async fn sync(&mut self, pod: &Pod) -> bool {
        // What the agent acts on: the spec (generation), labels and annotations (the
        // downward API), deletion. Its own status writes change none of them.
        let spec_rv = format!(
            "{:?}/{:?}/{:?}/{:?}",
            pod.metadata.generation, pod.metadata.labels, pod.metadata.annotations, pod.metadata.deletion_timestamp
        );
        let pod_changed = spec_rv != self.last_spec_rv;
        self.last_spec_rv = spec_rv;
        let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref()).unwrap_or("");
        if pod.metadata.deletion_timestamp.is_some() {
            return self.terminate(pod).await;
        }
        if matches!(phase, "Succeeded" | "Failed") || self.failed.is_some() {
            self.stop_all(pod, Duration::from_secs(0)).await;
            self.report(pod).await;
            // A finished pod gives back its IP and sandbox; its logs and status stay.
            self.release_sandbox(pod.metadata.namespace.as_deref().unwrap_or(""), pod.metadata.name.as_deref().unwrap_or("")).await;
            return false;
        }
        if let Some(deadline) = pod.spec.as_ref().and_then(|s| s.active_deadline_seconds) {
            let started = pod.status.as_ref().and_then(|s| s.start_time.as_ref()).map(|t| t.0.as_second());
            if let Some(t) = started {
                if chrono::Utc::now().timestamp() - t >= deadline {
                    let msg = "Pod was active on the node longer than the specified deadline".to_string();
                    self.event(pod, false, "DeadlineExceeded", msg.clone()).await;
                    self.failed = Some(("DeadlineExceeded".into(), msg));
                    self.stop_all(pod, Duration::from_secs(pod.spec.as_ref().and_then(|s| s.termination_grace_period_seconds).unwrap_or(30) as u64)).await;
                    self.report(pod).await;
                    return false;
                }
            }
        }
        if !self.ensure_sandbox(pod).await || !self.ensure_volumes(pod, pod_changed).await {
            self.report(pod).await;
            return false;
        }
        self.kill_requested(pod).await;
        let spec = pod.spec.clone().unwrap_or_default();
        let policy = spec.restart_policy.clone().unwrap_or_else(|| "Always".into());
        let mut init_done = true;
        for c in spec.init_containers.iter().flatten() {
            if sidecar(c) {
                let state = self.state_of(&c.name);
                match state {
                    Some(State::Running { .. }) if self.containers.get(&c.name).and_then(|r| r.started) != Some(false) => continue,
                    Some(State::Running { .. }) | Some(State::Created) => {
                        init_done = false;
                        break;
                    }
                    _ => {
                        self.start_or_back_off(pod, c, "sidecar", true).await;
                        init_done = false;
                        break;
                    }
                }
            }
            match self.state_of(&c.name) {
                Some(State::Exited(rec)) if rec.exit_code == 0 => continue,
                Some(State::Exited(_)) => {
                    if policy != "Never" {
                        self.start_or_back_off(pod, c, "init", true).await;
                    }
                    init_done = false;
                    break;
                }
                Some(_) => {
                    init_done = false;
                    break;
                }
                None => {
                    self.start_or_back_off(pod, c, "init", false).await;
                    init_done = false;
                    break;
                }
            }
        }
        if init_done {
            // Sidecars that exit are restarted while the app runs.
            for c in spec.init_containers.iter().flatten().filter(|c| sidecar(c)) {
                if matches!(self.state_of(&c.name), Some(State::Exited(_))) {
                    self.start_or_back_off(pod, c, "sidecar", true).await;
                }
            }
            for c in &spec.containers {
                match self.state_of(&c.name) {
                    None => self.start_or_back_off(pod, c, "app", false).await,
                    Some(State::Exited(rec)) => {
                        let restart = match policy.as_str() {
                            "Always" => true,
                            "OnFailure" => rec.exit_code != 0,
                            _ => false,
                        };
                        if restart {
                            self.start_or_back_off(pod, c, "app", true).await;
                        } else if let Some(r) = self.containers.get_mut(&c.name) {
                            r.waiting = None;
                        }
                    }
                    Some(_) => {}
                }
            }
        }
        self.report(pod).await;
        false
    }

    async fn ensure_sandbox(&mut self, pod: &Pod) -> bool {
        if self.sandbox.is_some() {
            return true;
        }
        let a = &self.agent;
        let cfg = crate::sandbox::SandboxConfig {
            self_exe: &a.runtime.self_exe,
            network: a.network.as_ref(),
            node_hostname: &a.cfg.node_name,
            cluster_domain: &a.cfg.cluster_domain,
            cluster_dns: &a.cfg.cluster_dns,
        };
        match crate::sandbox::ensure(&self.pod_dir, pod, &cfg).await {
            Ok(s) => {
                self.sandbox = Some(s);
                true
            }
            Err(e) => {
                tracing::warn!("pod {}: {e}", pod_key(pod));
                self.event(pod, true, "FailedCreatePodSandBox", format!("Failed to create pod sandbox: {e}")).await;
                false
            }
        }
    }

    async fn fetch_refs(&self, pod: &Pod) -> crate::PodRefs {
        let ns = pod.metadata.namespace.clone().unwrap_or_else(|| "default".into());
        let client = self.agent.client.clone();
        let (cms, secrets) = crate::env::referenced(pod);
        let mut refs = crate::PodRefs::default();
        let cm_api: Api<k8s_openapi::api::core::v1::ConfigMap> = Api::namespaced(client.clone(), &ns);
        for name in cms {
            if let Ok(Some(cm)) = cm_api.get_opt(&name).await {
                refs.config_maps.insert(name, cm);
            }
        }
        let s_api: Api<k8s_openapi::api::core::v1::Secret> = Api::namespaced(client.clone(), &ns);
        for name in secrets {
            if let Ok(Some(s)) = s_api.get_opt(&name).await {
                refs.secrets.insert(name, s);
            }
        }
        if pod.spec.as_ref().and_then(|s| s.enable_service_links) != Some(false) {
            refs.services = self.agent.services_for(&ns);
        } else {
            refs.services = self.agent.services_for("");
        }
        refs
    }

    fn facts(&self, pod: &Pod) -> crate::PodFacts {
        let a = &self.agent;
        let _ = pod;
        crate::PodFacts {
            node_name: a.cfg.node_name.clone(),
            host_ip: Some(a.node_ip),
            pod_ips: self.pod_ips(),
            node_allocatable_cpu: a.machine.cpus as f64,
            node_allocatable_memory: a.machine.memory_bytes,
        }
    }

    fn pod_ips(&self) -> Vec<std::net::IpAddr> {
        match &self.sandbox {
            Some(s) if s.host_network => vec![self.agent.node_ip],
            Some(s) => s.ips.clone(),
            None => self.released_ips.clone(),
        }
    }

    async fn ensure_volumes(&mut self, pod: &Pod, pod_changed: bool) -> bool {
        let fresh = self.refs.as_ref().is_some_and(|(_, at)| at.elapsed() < VOLUME_REFRESH);
        if fresh && !pod_changed {
            return true;
        }
        let refs = self.fetch_refs(pod).await;
        let facts = self.facts(pod);
        match crate::volumes::setup(&self.pod_dir, pod, &refs, &facts) {
            Ok(()) => {
                self.refs = Some((refs, Instant::now()));
                true
            }
            Err(e) => {
                self.refs = None;
                self.event(pod, true, "FailedMount", e.to_string()).await;
                false
            }
        }
    }

    /// Starts the container now, or records why it waits (back-off after a failure).
    async fn start_or_back_off(&mut self, pod: &Pod, c: &Container, kind: &str, restart: bool) {
        let key = pod_key(pod);
        let rec = self.containers.entry(c.name.clone()).or_default();
        if restart {
            // Upstream counts the back-off from when the container ended.
            let finished = rec.instances.last().and_then(|m| match self.agent.runtime.state(&m.id) {
                State::Exited(r) => chrono::DateTime::parse_from_rfc3339(&r.finished_at).ok(),
                _ => None,
            });
            let remaining = finished.and_then(|f| {
                let ready_at = f.with_timezone(&chrono::Utc) + chrono::Duration::from_std(rec.backoff.delay).unwrap_or_default();
                (ready_at - chrono::Utc::now()).to_std().ok().filter(|d| !d.is_zero())
            });
            if let Some(left) = remaining {
                rec.backoff.until = Some(Instant::now() + left);
                {
                    let msg = format!("back-off {}s restarting failed container={} pod={key}", rec.backoff.delay.as_secs(), c.name);
                    if rec.waiting.as_ref().map(|w| w.0.as_str()) != Some("CrashLoopBackOff") {
                        rec.waiting = Some(("CrashLoopBackOff".into(), msg.clone()));
                        self.event(pod, true, "BackOff", format!("Back-off restarting failed container {} in pod {key}", c.name)).await;
                    }
                    return;
                }
            }
        }
        if let Some(until) = rec.image_backoff.until {
            if Instant::now() < until {
                return;
            }
        }
        let restart_count = rec.instances.last().map(|m| m.restart_count + 1).unwrap_or(0);
        // The previous instance's run time decides whether the back-off grows or resets.
        let ran_long = rec.instances.last().is_some_and(|m| {
            matches!(self.agent.runtime.state(&m.id), State::Exited(ExitRecord { ref started_at, ref finished_at, .. })
                if duration_between(started_at, finished_at) > BACKOFF_RESET)
        });
        let result = self.start_container(pod, c, kind, restart_count).await;
        let rec = self.containers.entry(c.name.clone()).or_default();
        match result {
            Ok(()) => {
                rec.waiting = None;
                rec.image_backoff = Backoff::default();
                if restart {
                    rec.backoff.delay = if ran_long || rec.backoff.delay.is_zero() { BACKOFF_INITIAL } else { (rec.backoff.delay * 2).min(BACKOFF_MAX) };
                } else {
                    rec.backoff.delay = BACKOFF_INITIAL;
                }
                rec.backoff.until = None;
            }
            Err((reason, message)) => {
                let image_failure = reason == "ErrImagePull" || reason == "ImagePullBackOff";
                if image_failure {
                    let d = if rec.image_backoff.delay.is_zero() { BACKOFF_INITIAL } else { (rec.image_backoff.delay * 2).min(BACKOFF_MAX) };
                    rec.image_backoff = Backoff { delay: d, until: Some(Instant::now() + d) };
                    let was_pull_error = rec.waiting.as_ref().is_some_and(|w| w.0 == "ErrImagePull" || w.0 == "ImagePullBackOff");
                    rec.waiting = Some(if was_pull_error {
                        ("ImagePullBackOff".into(), format!("Back-off pulling image {:?}: {message}", c.image.as_deref().unwrap_or("")))
                    } else {
                        ("ErrImagePull".into(), message)
                    });
                } else {
                    rec.waiting = Some((reason, message));
                }
            }
        }
    }

    /// Pulls the image if needed, prepares the bundle and starts the process.
    async fn start_container(&mut self, pod: &Pod, c: &Container, kind: &str, restart_count: i32) -> Result<(), (String, String)> {
        let image = self.ensure_image(pod, c).await?;
        let refs = match &self.refs {
            Some((r, _)) => r.clone(),
            None => self.fetch_refs(pod).await,
        };
        let facts = self.facts(pod);
        let mut env: Vec<(String, String)> = Vec::new();
        for kv in &image.config.env {
            if let Some((k, v)) = kv.split_once('=') {
                env.push((k.to_string(), v.to_string()));
            }
        }
        let container_env = match crate::env::container_env(pod, c, &refs, &facts) {
            Ok(e) => e,
            Err(e) => {
                let msg = e.to_string();
                self.event(pod, true, "Failed", format!("Error: {msg}")).await;
                return Err(("CreateContainerConfigError".into(), msg));
            }
        };
        for (k, v) in container_env {
            env.retain(|(ek, _)| *ek != k);
            env.push((k, v));
        }
        if !env.iter().any(|(k, _)| k == "HOSTNAME") {
            env.insert(0, ("HOSTNAME".into(), crate::sandbox::pod_hostname(pod)));
        }
        if !env.iter().any(|(k, _)| k == "PATH") {
            env.insert(0, ("PATH".into(), "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into()));
        }
        let expand = |v: &Vec<String>| v.iter().map(|s| crate::env::expand(s, &env)).collect::<Vec<_>>();
        let command = c.command.clone().filter(|v| !v.is_empty());
        let args_given = c.args.clone().filter(|v| !v.is_empty());
        let mut args = match (command, args_given) {
            (Some(cmd), Some(a)) => [expand(&cmd), expand(&a)].concat(),
            (Some(cmd), None) => expand(&cmd),
            (None, Some(a)) => [image.config.entrypoint.clone(), expand(&a)].concat(),
            (None, None) => [image.config.entrypoint.clone(), image.config.cmd.clone()].concat(),
        };
        if args.is_empty() {
            let msg = "no command specified".to_string();
            self.event(pod, true, "Failed", format!("Error: {msg}")).await;
            return Err(("CreateContainerError".into(), msg));
        }
        if args[0].is_empty() {
            args.remove(0);
        }
        // Unpacking a layer the first time is slow, blocking file work.
        let (store, img) = (self.agent.images.clone(), image.clone());
        let layers = tokio::task::spawn_blocking(move || store.layer_dirs(&img))
            .await
            .map_err(|e| ("CreateContainerError".to_string(), e.to_string()))?
            .map_err(|e| ("CreateContainerError".to_string(), e.to_string()))?;
        let passwd_layer = layers.iter().rev().find(|l| l.join("etc/passwd").exists()).cloned().unwrap_or_else(|| PathBuf::from("/nonexistent"));
        let user = crate::oci::resolve_user(pod, c, &image.config.user, &passwd_layer).map_err(|m| ("CreateContainerConfigError".to_string(), m))?;
        let mounts = crate::volumes::container_mounts_with_env(&self.pod_dir, pod, c, &env).map_err(|e| ("CreateContainerConfigError".to_string(), e.to_string()))?;
        let uid = self.uid.clone();
        let id = format!("{}-{}-{}", &uid, c.name, restart_count);
        // A leftover instance with this id (from a crash mid-start) is replaced.
        self.agent.runtime.remove(&id);
        // The termination log lives with the container instance, so it outlasts the sandbox.
        let term_dir = self.agent.runtime.dir(&id);
        std::fs::create_dir_all(&term_dir).map_err(|e| ("CreateContainerError".to_string(), e.to_string()))?;
        let term_path = term_dir.join("termination-log");
        let _ = std::fs::write(&term_path, b"");
        // Writable by whatever user the container runs as, as upstream makes it.
        let _ = std::fs::set_permissions(&term_path, std::os::unix::fs::PermissionsExt::from_mode(0o666));
        let term_dest = c.termination_message_path.clone().unwrap_or_else(|| "/dev/termination-log".into());
        let qos = crate::oci::qos_class(pod);
        let qos_dir = match qos {
            crate::oci::Qos::Guaranteed => String::new(),
            crate::oci::Qos::Burstable => "burstable/".into(),
            crate::oci::Qos::BestEffort => "besteffort/".into(),
        };
        let cgroup = format!("{}/kubepods/{qos_dir}pod{uid}/{id}", self.agent.cfg.cgroup_root.trim_end_matches('/'));
        let sandbox = crate::sandbox::paths(&self.pod_dir, &self.sandbox.clone().unwrap_or_default());
        let plan = crate::oci::ContainerPlan {
            args,
            env: env.clone(),
            cwd: c.working_dir.clone().unwrap_or_else(|| image.config.working_dir.clone()),
            user,
            mounts: &mounts,
            termination_log: Some((&term_path, term_dest)),
            cgroup: cgroup.clone(),
            sandbox: &sandbox,
        };
        let config = crate::oci::spec(pod, c, &plan);
        let ns = pod.metadata.namespace.clone().unwrap_or_default();
        let name = pod.metadata.name.clone().unwrap_or_default();
        let meta = ContainerMeta {
            id: id.clone(),
            pod_uid: uid.clone(),
            pod_namespace: ns.clone(),
            pod_name: name.clone(),
            name: c.name.clone(),
            kind: kind.into(),
            restart_count,
            image: c.image.clone().unwrap_or_default(),
            image_ref: image.repo_tags.first().cloned().unwrap_or_else(|| c.image.clone().unwrap_or_default()),
            image_id: image.repo_digests.first().cloned().unwrap_or_else(|| image.id.clone()),
            created_at: crate::shim::now_rfc3339(),
            log_path: self.agent.cfg.log_dir.join(format!("{ns}_{name}_{uid}")).join(&c.name).join(format!("{restart_count}.log")),
            cgroup,
            termination_log: Some(term_path),
        };
        self.event(pod, false, "Created", format!("Created container: {}", c.name)).await;
        let state = self.agent.runtime.start(&meta, &layers, &config).await.map_err(|e| ("CreateContainerError".to_string(), e))?;
        let rec = self.containers.entry(c.name.clone()).or_default();
        rec.instances.push(meta.clone());
        rec.probes.clear();
        rec.ready = None;
        rec.started = None;
        rec.kill_reason = None;
        // Keep the previous instance (lastState, --previous logs); drop older ones.
        while rec.instances.len() > 2 {
            let old = rec.instances.remove(0);
            self.agent.runtime.remove(&old.id);
            let _ = std::fs::remove_file(&old.log_path);
        }
        match state {
            State::Exited(ExitRecord { start_error: Some(e), ref started_at, .. }) if started_at.is_empty() => {
                self.event(pod, true, "Failed", format!("Error: failed to start container {:?}: {e}", c.name)).await;
                return Ok(());
            }
            _ => self.event(pod, false, "Started", format!("Started container {}", c.name)).await,
        }
        self.start_probes(c, &id, false);
        if let Some(hook) = c.lifecycle.as_ref().and_then(|l| l.post_start.as_ref()) {
            if let Err(msg) = self.run_hook(pod, c, &id, hook).await {
                self.event(pod, true, "FailedPostStartHook", msg.clone()).await;
                let _ = self.agent.runtime.kill(&id, "KILL").await;
            }
        }
        Ok(())
    }

    async fn ensure_image(&mut self, pod: &Pod, c: &Container) -> Result<image::ImageInfo, (String, String)> {
        let name = c.image.clone().unwrap_or_default();
        let reference = image::normalize_reference(&name).map_err(|e| ("InvalidImageName".to_string(), format!("Failed to apply default image tag {name:?}: {e}")))?;
        let tagless_or_latest = reference.digest.is_none() && reference.tag.as_deref().is_none_or(|t| t == "latest");
        let policy = c.image_pull_policy.clone().unwrap_or_else(|| if tagless_or_latest { "Always".into() } else { "IfNotPresent".into() });
        let present = self.agent.images.resolve(&name);
        match (policy.as_str(), present) {
            ("Never", None) => {
                let msg = format!("Container image {name:?} is not present with pull policy of Never");
                self.event(pod, true, "ErrImageNeverPull", msg.clone()).await;
                Err(("ErrImageNeverPull".into(), msg))
            }
            ("Never", Some(i)) | ("IfNotPresent", Some(i)) => {
                if self.containers.get(&c.name).is_none_or(|r| r.instances.is_empty()) {
                    self.event(pod, false, "Pulled", format!("Container image {name:?} already present on machine")).await;
                }
                Ok(i)
            }
            _ => {
                self.event(pod, false, "Pulling", format!("Pulling image {name:?}")).await;
                let started = Instant::now();
                let auth = self.pull_auth(pod, &reference.registry).await;
                match self.agent.images.pull(&name, auth.as_ref()).await {
                    Ok(i) => {
                        let secs = started.elapsed().as_secs_f64();
                        self.event(
                            pod,
                            false,
                            "Pulled",
                            format!("Successfully pulled image {name:?} in {secs:.3}s ({secs:.3}s including waiting). Image size: {} bytes.", i.size),
                        )
                        .await;
                        self.agent.images_changed();
                        Ok(i)
                    }
                    Err(e) => {
                        let msg = format!("Failed to pull image {name:?}: {e}");
                        self.event(pod, true, "Failed", msg.clone()).await;
                        self.event(pod, true, "Failed", "Error: ErrImagePull".into()).await;
                        Err(("ErrImagePull".into(), msg))
                    }
                }
            }
        }
    }

    async fn pull_auth(&self, pod: &Pod, registry: &str) -> Option<image::RegistryAuth> {
        let ns = pod.metadata.namespace.clone().unwrap_or_default();
        let api: Api<k8s_openapi::api::core::v1::Secret> = Api::namespaced(self.agent.client.clone(), &ns);
        for s in pod.spec.as_ref()?.image_pull_secrets.iter().flatten() {
            let Ok(Some(secret)) = api.get_opt(&s.name).await else { continue };
            let data = secret.data.unwrap_or_default();
            for key in [".dockerconfigjson", ".dockercfg"] {
                if let Some(b) = data.get(key) {
                    if let Some(a) = image::credentials_for(&b.0, registry) {
                        return Some(a);
                    }
                }
            }
        }
        None
    }

    /// Starts the container's probes: the startup probe alone if it has one (liveness
    /// and readiness begin once it succeeds), else liveness and readiness.
    fn start_probes(&mut self, c: &Container, id: &str, after_startup: bool) {
        let pod_ip = self.pod_ips().first().copied();
        let exec: Arc<dyn crate::probes::ExecRunner> = self.agent.clone();
        let kinds: Vec<(ProbeKind, Option<k8s_openapi::api::core::v1::Probe>)> = if c.startup_probe.is_some() && !after_startup {
            vec![(ProbeKind::Startup, c.startup_probe.clone())]
        } else {
            vec![(ProbeKind::Liveness, c.liveness_probe.clone()), (ProbeKind::Readiness, c.readiness_probe.clone())]
        };
        let handles: Vec<ProbeHandle> = kinds
            .into_iter()
            .filter_map(|(kind, p)| Some(crate::probes::spawn_probe(kind, p?, pod_ip, c.clone(), id.to_string(), exec.clone(), self.probe_tx.clone())))
            .collect();
        let rec = self.containers.entry(c.name.clone()).or_default();
        if !after_startup {
            rec.ready = c.readiness_probe.as_ref().map(|_| false);
            rec.started = c.startup_probe.as_ref().map(|_| false);
            rec.probes = handles;
        } else {
            rec.probes.extend(handles);
        }
    }

    async fn on_probe(&mut self, u: ProbeUpdate) {
        let Some(rec) = self.containers.get_mut(&u.container) else { return };
        if rec.instances.last().map(|m| m.id.as_str()) != Some(u.container_id.as_str()) {
            return;
        }
        match (u.kind, u.healthy) {
            (ProbeKind::Readiness, ok) => rec.ready = Some(ok),
            (ProbeKind::Startup, true) => rec.started = Some(true),
            (ProbeKind::Startup, false) => {
                rec.kill_reason = Some(format!("Container {} failed startup probe, will be restarted", u.container));
            }
            (ProbeKind::Liveness, false) => {
                rec.kill_reason = Some(format!("Container {} failed liveness probe, will be restarted", u.container));
            }
            (ProbeKind::Liveness, true) => {}
        }
        let pod = self.agent.pod(&self.uid);
        if u.kind == ProbeKind::Startup && u.healthy {
            let c = pod.as_ref().and_then(|p| p.spec.as_ref()).and_then(|s| {
                s.containers.iter().chain(s.init_containers.iter().flatten()).find(|c| c.name == u.container).cloned()
            });
            if let Some(c) = c {
                self.start_probes(&c, &u.container_id, true);
            }
        }
        if let (false, Some(m), Some(pod)) = (u.healthy, u.message.clone(), pod) {
            // The probe's message already reads "<Kind> probe failed: ...".
            self.event(&pod, true, "Unhealthy", m).await;
        }
    }

    /// Restarts containers whose liveness (or startup) probe failed.
    async fn kill_requested(&mut self, pod: &Pod) {
        let victims: Vec<(String, String, String)> = self
            .containers
            .iter_mut()
            .filter_map(|(name, r)| {
                let reason = r.kill_reason.take()?;
                Some((name.clone(), r.instances.last()?.id.clone(), reason))
            })
            .collect();
        for (name, id, reason) in victims {
            self.event(pod, false, "Killing", reason).await;
            let c = pod.spec.iter().flat_map(|s| s.containers.iter().chain(s.init_containers.iter().flatten())).find(|c| c.name == name).cloned();
            let grace = pod.spec.as_ref().and_then(|s| s.termination_grace_period_seconds).unwrap_or(30);
            if let Some(c) = c {
                self.stop_container(pod, &c, &id, Duration::from_secs(grace.max(0) as u64)).await;
            }
            if let Some(r) = self.containers.get_mut(&name) {
                r.probes.clear();
            }
        }
    }

    async fn run_hook(&self, pod: &Pod, c: &Container, id: &str, hook: &k8s_openapi::api::core::v1::LifecycleHandler) -> Result<(), String> {
        if let Some(exec) = &hook.exec {
            let cmd = exec.command.clone().unwrap_or_default();
            let out = self.agent.runtime.exec(id, &cmd, Duration::from_secs(30)).await.map_err(|e| e.to_string())?;
            if out.exit_code != 0 {
                return Err(format!(
                    "Exec lifecycle hook ({:?}) for Container {:?} in Pod {:?} failed - error: command '{}' exited with {}: {}",
                    cmd,
                    c.name,
                    pod_key(pod),
                    cmd.join(" "),
                    out.exit_code,
                    String::from_utf8_lossy(&out.output)
                ));
            }
            return Ok(());
        }
        if let Some(http) = &hook.http_get {
            let probe = k8s_openapi::api::core::v1::Probe { http_get: Some(http.clone()), timeout_seconds: Some(30), ..Default::default() };
            let ip = self.pod_ips().first().copied();
            return match crate::probes::probe_once(&probe, ip, c, id, self.agent.as_ref()).await {
                crate::probes::ProbeResult::Success => Ok(()),
                crate::probes::ProbeResult::Failure(m) => Err(format!("HTTP lifecycle hook ({}) for Container {:?} in Pod {:?} failed - error: {m}", http.path.clone().unwrap_or_default(), c.name, pod_key(pod))),
                crate::probes::ProbeResult::Unknown => Ok(()),
            };
        }
        if let Some(sleep) = &hook.sleep {
            tokio::time::sleep(Duration::from_secs(sleep.seconds.max(0) as u64)).await;
        }
        Ok(())
    }

    /// preStop, SIGTERM, then SIGKILL when the grace period ends.
    async fn stop_container(&self, pod: &Pod, c: &Container, id: &str, grace: Duration) {
        if !matches!(self.agent.runtime.state(id), State::Running { .. } | State::Created) {
            return;
        }
        let deadline = Instant::now() + grace;
        if let Some(hook) = c.lifecycle.as_ref().and_then(|l| l.pre_stop.as_ref()) {
            let run = self.run_hook(pod, c, id, hook);
            match tokio::time::timeout(grace, run).await {
                Ok(Err(msg)) => self.event(pod, true, "FailedPreStopHook", msg).await,
                Ok(Ok(())) => {}
                Err(_) => {}
            }
        }
        let signal = stop_signal(c);
        let _ = self.agent.runtime.kill(id, signal).await;
        while Instant::now() < deadline {
            if matches!(self.agent.runtime.state(id), State::Exited(_)) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = self.agent.runtime.kill(id, "KILL").await;
        let until = Instant::now() + Duration::from_secs(10);
        while Instant::now() < until && !matches!(self.agent.runtime.state(id), State::Exited(_)) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Stops every running container of the pod in parallel (app containers first, then
    /// sidecars, as upstream orders termination).
    async fn stop_all(&mut self, pod: &Pod, grace: Duration) {
        let spec = pod.spec.clone().unwrap_or_default();
        for r in self.containers.values_mut() {
            r.probes.clear();
        }
        let groups = [spec.containers.clone(), spec.init_containers.clone().unwrap_or_default()];
        for group in groups {
            let mut stops = Vec::new();
            for c in &group {
                if let Some(m) = self.current(&c.name) {
                    if matches!(self.agent.runtime.state(&m.id), State::Running { .. } | State::Created) {
                        stops.push((c.clone(), m.id.clone()));
                    }
                }
            }
            let futs = stops.iter().map(|(c, id)| self.stop_container(pod, c, id, grace));
            futures_util::future::join_all(futs).await;
        }
    }

    /// The pod is being deleted: stop everything within its grace period, report, tear
    /// down, and finish the deletion.
    async fn terminate(&mut self, pod: &Pod) -> bool {
        let grace = pod.metadata.deletion_grace_period_seconds.unwrap_or(30).max(0) as u64;
        let running: Vec<String> = self
            .containers
            .iter()
            .filter(|(_, r)| r.instances.last().is_some_and(|m| matches!(self.agent.runtime.state(&m.id), State::Running { .. } | State::Created)))
            .map(|(n, _)| n.clone())
            .collect();
        for n in &running {
            self.event(pod, false, "Killing", format!("Stopping container {n}")).await;
        }
        self.stop_all(pod, Duration::from_secs(grace)).await;
        for r in self.containers.values_mut() {
            r.waiting = None;
        }
        self.report(pod).await;
        if !self.teardown(pod.metadata.namespace.as_deref().unwrap_or(""), pod.metadata.name.as_deref().unwrap_or("")).await {
            return false;
        }
        let api: Api<Pod> = Api::namespaced(self.agent.client.clone(), pod.metadata.namespace.as_deref().unwrap_or("default"));
        let dp = DeleteParams {
            grace_period_seconds: Some(0),
            preconditions: Some(Preconditions { uid: Some(self.uid.clone()), resource_version: None }),
            ..Default::default()
        };
        match api.delete(pod.metadata.name.as_deref().unwrap_or(""), &dp).await {
            Ok(_) => true,
            Err(kube::Error::Api(e)) if e.code == 404 || e.code == 409 => true,
            Err(e) => {
                tracing::warn!("deleting pod {}: {e}", pod_key(pod));
                false
            }
        }
    }

    /// The pod is gone from the API (or was never seen after a restart): remove what is left.
    async fn cleanup_orphan(&mut self) -> bool {
        let metas: Vec<ContainerMeta> = self.containers.values().flat_map(|r| r.instances.clone()).collect();
        for m in &metas {
            if matches!(self.agent.runtime.state(&m.id), State::Running { .. } | State::Created) {
                let _ = self.agent.runtime.kill(&m.id, "KILL").await;
            }
        }
        let (ns, name) = metas.first().map(|m| (m.pod_namespace.clone(), m.pod_name.clone())).unwrap_or_default();
        for _ in 0..100 {
            if metas.iter().all(|m| matches!(self.agent.runtime.state(&m.id), State::Exited(_))) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.teardown(&ns, &name).await
    }

    /// Releases the pod's sandbox (network, IP, namespaces, volumes, root filesystems)
    /// once its containers are stopped for good; logs and exit records stay. Returns
    /// false when the network could not be detached (tried again on the next pass).
    async fn release_sandbox(&mut self, ns: &str, name: &str) -> bool {
        for r in self.containers.values_mut() {
            r.probes.clear();
        }
        for m in self.containers.values().flat_map(|r| r.instances.iter()) {
            self.agent.runtime.unmount_rootfs(&m.id);
        }
        if self.sandbox.is_some() || crate::sandbox::load(&self.pod_dir).is_some() {
            if let Err(e) = crate::sandbox::teardown(&self.pod_dir, ns, name, &self.uid, self.agent.network.as_ref()).await {
                tracing::warn!("tearing down the sandbox of pod {ns}/{name}: {e}");
                return false;
            }
        }
        let _ = crate::volumes::teardown(&self.pod_dir);
        if let Some(s) = self.sandbox.take() {
            self.released_ips = s.ips;
        }
        true
    }

    /// Removes everything of the pod on this node. Returns false if something must be retried.
    async fn teardown(&mut self, ns: &str, name: &str) -> bool {
        if !self.release_sandbox(ns, name).await {
            return false;
        }
        for m in self.containers.values().flat_map(|r| r.instances.iter()) {
            self.agent.runtime.remove(&m.id);
        }
        let _ = std::fs::remove_dir_all(&self.pod_dir);
        let logs = self.agent.cfg.log_dir.join(format!("{ns}_{name}_{}", self.uid));
        let _ = std::fs::remove_dir_all(logs);
        let root = self.agent.cfg.cgroup_root.trim_end_matches('/');
        for qos in ["", "burstable/", "besteffort/"] {
            crate::runtime::remove_cgroup_tree(&format!("{root}/kubepods/{qos}pod{}", self.uid));
        }
        true
    }

    fn observed(&self, pod: &Pod) -> BTreeMap<String, Observed> {
        let mut out = BTreeMap::new();
        let spec = pod.spec.clone().unwrap_or_default();
        for c in spec.init_containers.iter().flatten().chain(spec.containers.iter()) {
            let Some(rec) = self.containers.get(&c.name) else { continue };
            let n = rec.instances.len();
            let instance = |m: &ContainerMeta| {
                let state = self.agent.runtime.state(&m.id);
                let message = termination_message(c, m, &state);
                Instance { id: m.id.clone(), restart_count: m.restart_count, state, image: m.image_ref.clone(), image_id: m.image_id.clone(), message }
            };
            out.insert(
                c.name.clone(),
                Observed {
                    current: rec.instances.last().map(instance),
                    previous: (n >= 2).then(|| instance(&rec.instances[n - 2])),
                    waiting: rec.waiting.clone(),
                    ready_probe: rec.ready,
                    started_probe: rec.started,
                },
            );
        }
        out
    }

    async fn report(&mut self, pod: &Pod) {
        let observed = self.observed(pod);
        for (name, o) in &observed {
            if let (Some(r), Some(i)) = (self.containers.get_mut(name), o.current.as_ref()) {
                r.seen = Some((i.id.clone(), matches!(i.state, State::Exited(_))));
            }
        }
        let now = crate::shim::now_rfc3339();
        let ips: Vec<String> = self.pod_ips().iter().map(|i| i.to_string()).collect();
        let qos = crate::oci::qos_class(pod);
        let view = crate::status::PodView {
            pod,
            observed: &observed,
            sandbox_ready: self.sandbox.is_some(),
            host_ip: Some(self.agent.node_ip.to_string()),
            pod_ips: ips,
            qos: qos.as_str(),
            now: &now,
            failed: self.failed.clone(),
        };
        let status = crate::status::pod_status(&view);
        let comparable = strip_times(&status);
        if comparable == self.last_status {
            return;
        }
        let api: Api<Pod> = Api::namespaced(self.agent.client.clone(), pod.metadata.namespace.as_deref().unwrap_or("default"));
        let patch = json!({"metadata": {"uid": self.uid}, "status": status});
        match api.patch_status(pod.metadata.name.as_deref().unwrap_or(""), &PatchParams::default(), &Patch::Merge(patch)).await {
            Ok(_) => self.last_status = comparable,
            Err(e) => tracing::debug!("updating the status of pod {}: {e}", pod_key(pod)),
        }
    }
}

impl crate::probes::ExecRunner for Agent {
    fn exec(
        &self,
        container_id: &str,
        command: Vec<String>,
        timeout: Duration,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = std::io::Result<crate::probes::ExecOutput>> + Send + '_>> {
        let id = container_id.to_string();
        Box::pin(async move { self.runtime.exec(&id, &command, timeout).await })
    }
}

/// Status without the timestamps that change on every pass, to tell real changes.
fn strip_times(status: &Value) -> Value {
    let mut s = status.clone();
    if let Some(cs) = s["conditions"].as_array_mut() {
        for c in cs {
            if let Some(o) = c.as_object_mut() {
                o.remove("lastTransitionTime");
                o.remove("lastProbeTime");
            }
        }
    }
    s
}

fn stop_signal(c: &Container) -> &'static str {
    match c.lifecycle.as_ref().and_then(|l| l.stop_signal.as_deref()) {
        Some("SIGKILL") => "KILL",
        Some("SIGINT") => "INT",
        Some("SIGQUIT") => "QUIT",
        Some("SIGUSR1") => "USR1",
        Some("SIGUSR2") => "USR2",
        Some("SIGHUP") => "HUP",
        _ => "TERM",
    }
}

fn duration_between(a: &str, b: &str) -> Duration {
    match (chrono::DateTime::parse_from_rfc3339(a), chrono::DateTime::parse_from_rfc3339(b)) {
        (Ok(a), Ok(b)) => (b - a).to_std().unwrap_or_default(),
        _ => Duration::ZERO,
    }
}

/// The message of a terminated container: its termination log, or with
/// FallbackToLogsOnError after a failure the end of its log.
fn termination_message(c: &Container, m: &ContainerMeta, state: &State) -> Option<String> {
    let State::Exited(rec) = state else { return None };
    let from_file = m.termination_log.as_ref().and_then(|p| read_limited(p, 4096)).filter(|s| !s.is_empty());
    if from_file.is_some() {
        return from_file;
    }
    if c.termination_message_policy.as_deref() == Some("FallbackToLogsOnError") && rec.exit_code != 0 {
        return tail_log(&m.log_path, 80, 2048);
    }
    None
}

fn read_limited(p: &Path, max: usize) -> Option<String> {
    use std::io::Read;
    let mut bytes = Vec::with_capacity(max);
    std::fs::File::open(p).ok()?.take(max as u64).read_to_end(&mut bytes).ok()?;
    Some(String::from_utf8_lossy(&bytes).to_string())
}

fn tail_log(p: &Path, lines: usize, max: usize) -> Option<String> {
    let text = std::fs::read_to_string(p).ok()?;
    let contents: Vec<&str> = text.lines().filter_map(|l| l.splitn(4, ' ').nth(3)).collect();
    let start = contents.len().saturating_sub(lines);
    let mut out = contents[start..].join("\n");
    if out.len() > max {
        let mut cut = out.len() - max;
        while !out.is_char_boundary(cut) {
            cut += 1;
        }
        out = out[cut..].to_string();
    }
    (!out.is_empty()).then_some(out)
}
