//! The node agent, as root, with real containers: stock kubectl against `rkube server`
//! running its agent, images built from Debian's busybox-static.

use std::time::{Duration, Instant};

use serde_json::Value;
use testkit::images::{busybox_archive, ArchiveFormat};
use testkit::TestServer;

const BIN: &str = env!("CARGO_BIN_EXE_rkube");
const IMAGE: &str = "rkube.test/busybox:1";

fn server() -> TestServer {
    let s = TestServer::start_with_agent(BIN, &[]);
    let archive = busybox_archive(s.data_dir(), IMAGE, ArchiveFormat::Oci);
    s.import_image(&archive);
    s.wait_for(Duration::from_secs(30), "the node to be Ready", || {
        let out = s.kubectl(&["get", "nodes", "-o", "jsonpath={.items[0].status.conditions[?(@.type==\"Ready\")].status}"]);
        String::from_utf8_lossy(&out.stdout) == "True"
    });
    s
}

trait Wait {
    fn wait_for(&self, timeout: Duration, what: &str, f: impl FnMut() -> bool);
    fn pod(&self, name: &str) -> Value;
    fn describe(&self, name: &str) -> String;
}

impl Wait for TestServer {
    fn wait_for(&self, timeout: Duration, what: &str, mut f: impl FnMut() -> bool) {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if f() {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let pods = String::from_utf8_lossy(&self.kubectl(&["get", "pods", "-A", "-o", "yaml"]).stdout).to_string();
        let events = String::from_utf8_lossy(&self.kubectl(&["get", "events", "-A"]).stdout).to_string();
        let log = self.log();
        let tail: String = log.lines().rev().take(60).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n");
        panic!("timed out waiting for {what}\npods:\n{pods}\nevents:\n{events}\nserver log tail:\n{tail}");
    }

    fn pod(&self, name: &str) -> Value {
        let out = self.kubectl(&["get", "pod", name, "-o", "json"]);
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
    }

    fn describe(&self, name: &str) -> String {
        String::from_utf8_lossy(&self.kubectl(&["describe", "pod", name]).stdout).to_string()
    }
}

fn phase(s: &TestServer, name: &str) -> String {
    s.pod(name)["status"]["phase"].as_str().unwrap_or("").to_string()
}

fn ready(s: &TestServer, name: &str) -> bool {
    s.pod(name)["status"]["conditions"].as_array().into_iter().flatten().any(|c| c["type"] == "Ready" && c["status"] == "True")
}

#[test]
fn httpd_pod_serves_another_pod_and_logs_stream() {
    let s = server();
    s.ok(&["run", "web", &format!("--image={IMAGE}"), "--image-pull-policy=Never", "--", "httpd", "-f", "-v", "-p", "8080", "-h", "/var/www"]);
    s.wait_for(Duration::from_secs(60), "web Running and Ready", || phase(&s, "web") == "Running" && ready(&s, "web"));
    let pod = s.pod("web");
    let ip = pod["status"]["podIP"].as_str().unwrap().to_string();
    assert!(ip.starts_with("10."), "{pod}");
    assert_eq!(pod["status"]["containerStatuses"][0]["ready"], true);
    assert_eq!(pod["status"]["containerStatuses"][0]["restartCount"], 0);
    assert!(pod["status"]["containerStatuses"][0]["containerID"].as_str().unwrap().contains("://"));
    let wide = s.ok(&["get", "pods", "-o", "wide"]);
    assert!(wide.contains(&ip) && wide.contains("Running"), "{wide}");

    // Another pod on the node fetches the page over the pod network.
    let url = format!("http://{ip}:8080/");
    s.ok(&["run", "client", &format!("--image={IMAGE}"), "--image-pull-policy=Never", "--restart=Never", "--", "wget", "-qO-", &url]);
    s.wait_for(Duration::from_secs(60), "client Succeeded", || phase(&s, "client") == "Succeeded");
    let page = s.ok(&["logs", "client"]);
    assert_eq!(page, "hello from rkube busybox\n");
    let c = s.pod("client");
    assert_eq!(c["status"]["containerStatuses"][0]["state"]["terminated"]["reason"], "Completed");
    assert_eq!(c["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"], 0);
    // A finished pod gives back its sandbox (IP, namespaces) but keeps its logs.
    let uid = c["metadata"]["uid"].as_str().unwrap().to_string();
    let sandbox = s.data_dir().join("agent/pods").join(&uid).join("sandbox.json");
    s.wait_for(Duration::from_secs(30), "the finished pod's sandbox released", || !sandbox.exists());
    assert_eq!(s.ok(&["logs", "client"]), "hello from rkube busybox\n");

    // httpd -v logs each response on stderr; `kubectl logs -f` streams new lines.
    let logs = s.ok(&["logs", "web"]);
    assert!(logs.contains("response:200"), "{logs}");
    let mut follow = std::process::Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(s.kubeconfig())
        .args(["logs", "-f", "web", "--tail=0"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(1));
    // Requests keep coming, so the stream has new lines whenever kubectl connects.
    let requests = format!("for i in $(seq 60); do wget -qO- {url}streamed; sleep 1; done");
    s.ok(&["run", "client2", &format!("--image={IMAGE}"), "--image-pull-policy=Never", "--restart=Never", "--", "sh", "-c", &requests]);
    let mut out = follow.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::Read;
        let mut buf = [0u8; 4096];
        let mut seen = String::new();
        while let Ok(n) = out.read(&mut buf) {
            if n == 0 {
                break;
            }
            seen.push_str(&String::from_utf8_lossy(&buf[..n]));
            if seen.contains("response:404") {
                let _ = tx.send(seen.clone());
                break;
            }
        }
    });
    let streamed = rx.recv_timeout(Duration::from_secs(60));
    let _ = follow.kill();
    let _ = follow.wait();
    assert!(streamed.is_ok(), "kubectl logs -f did not stream the new request");
}

#[test]
fn crashing_container_backs_off_and_keeps_previous_logs() {
    let s = server();
    s.ok(&["run", "crash", &format!("--image={IMAGE}"), "--image-pull-policy=Never", "--", "sh", "-c", "echo boom; exit 1"]);
    s.wait_for(Duration::from_secs(90), "CrashLoopBackOff after a restart", || {
        let p = s.pod("crash");
        let cs = &p["status"]["containerStatuses"][0];
        cs["state"]["waiting"]["reason"] == "CrashLoopBackOff" && cs["restartCount"].as_i64().unwrap_or(0) >= 1
    });
    let p = s.pod("crash");
    let cs = &p["status"]["containerStatuses"][0];
    assert_eq!(cs["lastState"]["terminated"]["exitCode"], 1, "{cs}");
    assert_eq!(cs["lastState"]["terminated"]["reason"], "Error", "{cs}");
    let prev = s.ok(&["logs", "crash", "--previous"]);
    assert_eq!(prev, "boom\n");
    let table = s.ok(&["get", "pod", "crash"]);
    assert!(table.contains("CrashLoopBackOff") || table.contains("Error"), "{table}");
    let d = s.describe("crash");
    assert!(d.contains("Back-off restarting failed container crash"), "{d}");
}

#[test]
fn memory_limit_ends_in_oom_killed() {
    let s = server();
    let manifest = format!(
        r#"{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"hog"}},"spec":{{"restartPolicy":"Never","containers":[{{"name":"hog","image":"{IMAGE}","imagePullPolicy":"Never","command":["sh","-c","head -c 200m /dev/zero | tail"],"resources":{{"limits":{{"memory":"20Mi"}}}}}}]}}}}"#
    );
    s.ok_stdin(&["apply", "-f", "-"], Some(&manifest));
    s.wait_for(Duration::from_secs(60), "hog terminated", || phase(&s, "hog") == "Failed");
    let p = s.pod("hog");
    let t = &p["status"]["containerStatuses"][0]["state"]["terminated"];
    assert_eq!(t["reason"], "OOMKilled", "{p}");
    assert_eq!(t["exitCode"], 137, "{p}");

    // activeDeadlineSeconds ends a pod that runs too long.
    let manifest = format!(
        r#"{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"late"}},"spec":{{"activeDeadlineSeconds":3,"terminationGracePeriodSeconds":1,"containers":[{{"name":"late","image":"{IMAGE}","imagePullPolicy":"Never","command":["sleep","3600"]}}]}}}}"#
    );
    s.ok_stdin(&["apply", "-f", "-"], Some(&manifest));
    s.wait_for(Duration::from_secs(60), "late Failed", || phase(&s, "late") == "Failed");
    let p = s.pod("late");
    assert_eq!(p["status"]["reason"], "DeadlineExceeded", "{p}");
    assert!(p["status"]["containerStatuses"][0]["state"]["terminated"].is_object(), "{p}");
}

#[test]
fn probes_init_containers_config_maps_and_graceful_deletion() {
    let s = server();
    s.ok(&["create", "configmap", "cfg", "--from-literal=greeting=hello"]);
    let manifest = format!(
        r#"
apiVersion: v1
kind: Pod
metadata:
  name: app
  labels: {{app: app}}
spec:
  terminationGracePeriodSeconds: 20
  initContainers:
  - name: first
    image: {IMAGE}
    imagePullPolicy: Never
    command: ["sh", "-c", "echo first > /work/order"]
    volumeMounts: [{{name: work, mountPath: /work}}]
  - name: second
    image: {IMAGE}
    imagePullPolicy: Never
    command: ["sh", "-c", "echo second >> /work/order"]
    volumeMounts: [{{name: work, mountPath: /work}}]
  containers:
  - name: app
    image: {IMAGE}
    imagePullPolicy: Never
    command: ["sh", "-c", "echo $GREETING; trap 'echo TERM > /work/term; exit 0' TERM; while true; do cat /cfg/greeting > /work/seen; sleep 1; done"]
    env:
    - name: GREETING
      valueFrom: {{configMapKeyRef: {{name: cfg, key: greeting}}}}
    readinessProbe:
      exec: {{command: ["test", "-f", "/work/ready"]}}
      periodSeconds: 1
    lifecycle:
      preStop:
        exec: {{command: ["sh", "-c", "echo prestop > /work/prestop"]}}
    volumeMounts:
    - {{name: work, mountPath: /work}}
    - {{name: cfg, mountPath: /cfg}}
  volumes:
  - name: work
    hostPath: {{path: {work}, type: DirectoryOrCreate}}
  - name: cfg
    configMap: {{name: cfg}}
"#,
        work = s.data_dir().join("work").display()
    );
    s.ok_stdin(&["apply", "-f", "-"], Some(&manifest));
    s.ok(&["expose", "pod", "app", "--port=80"]);
    s.wait_for(Duration::from_secs(60), "app Running", || phase(&s, "app") == "Running");
    let order = std::fs::read_to_string(s.data_dir().join("work/order")).unwrap();
    assert_eq!(order, "first\nsecond\n", "init containers run in order before the app");
    assert!(!ready(&s, "app"), "the readiness probe gates Ready");
    let eps = s.ok(&["get", "endpoints", "app", "-o", "jsonpath={.subsets[*].notReadyAddresses[*].ip}"]);
    assert!(!eps.is_empty(), "an unready pod is a not-ready endpoint");
    std::fs::write(s.data_dir().join("work/ready"), "").unwrap();
    s.wait_for(Duration::from_secs(30), "app Ready", || ready(&s, "app"));
    s.wait_for(Duration::from_secs(30), "a ready endpoint", || {
        !s.ok(&["get", "endpoints", "app", "-o", "jsonpath={.subsets[*].addresses[*].ip}"]).is_empty()
    });
    assert_eq!(s.ok(&["logs", "app", "-c", "app"]), "hello\n");
    let seen = || std::fs::read_to_string(s.data_dir().join("work/seen")).unwrap_or_default();
    s.wait_for(Duration::from_secs(10), "the configMap volume", || seen() == "hello");

    // A configMap update reaches the volume within a minute.
    s.ok_stdin(&["apply", "-f", "-"], Some(r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cfg"},"data":{"greeting":"updated"}}"#));
    s.wait_for(Duration::from_secs(70), "the volume to see the update", || seen() == "updated");

    // Deletion runs preStop, then sends TERM (the trap writes /work/term and exits, so
    // the pod goes without waiting for SIGKILL at the end of its grace period).
    s.ok(&["delete", "pod", "app", "--wait=true", "--timeout=60s"]);
    assert_eq!(std::fs::read_to_string(s.data_dir().join("work/prestop")).unwrap(), "prestop\n");
    assert_eq!(std::fs::read_to_string(s.data_dir().join("work/term")).unwrap(), "TERM\n");
}

#[test]
fn liveness_failure_restarts_the_container() {
    let s = server();
    let manifest = format!(
        r#"{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"live"}},"spec":{{"containers":[{{"name":"live","image":"{IMAGE}","imagePullPolicy":"Never","command":["sh","-c","touch /tmp/alive; sleep 3; rm /tmp/alive; sleep 3600"],"livenessProbe":{{"exec":{{"command":["cat","/tmp/alive"]}},"periodSeconds":1,"failureThreshold":2}}}}],"terminationGracePeriodSeconds":1}}}}"#
    );
    s.ok_stdin(&["apply", "-f", "-"], Some(&manifest));
    s.wait_for(Duration::from_secs(60), "a restart after liveness failed", || {
        s.pod("live")["status"]["containerStatuses"][0]["restartCount"].as_i64().unwrap_or(0) >= 1
    });
    let d = s.describe("live");
    assert!(d.contains("Liveness probe failed"), "{d}");
}

#[test]
fn containers_survive_a_server_restart_and_are_adopted() {
    let mut s = server();
    let manifest = format!(
        r#"{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"keep"}},"spec":{{"containers":[{{"name":"keep","image":"{IMAGE}","imagePullPolicy":"Never","command":["sh","-c","echo started; sleep 3600"],"readinessProbe":{{"exec":{{"command":["true"]}},"periodSeconds":1}}}}]}}}}"#
    );
    s.ok_stdin(&["apply", "-f", "-"], Some(&manifest));
    s.wait_for(Duration::from_secs(60), "keep Running and Ready", || phase(&s, "keep") == "Running" && ready(&s, "keep"));
    let before = s.pod("keep")["status"]["containerStatuses"][0].clone();
    s.restart();
    std::thread::sleep(Duration::from_secs(3));
    s.wait_for(Duration::from_secs(30), "keep still Running", || phase(&s, "keep") == "Running");
    let after = s.pod("keep")["status"]["containerStatuses"][0].clone();
    assert_eq!(after["containerID"], before["containerID"], "the same container, adopted");
    assert_eq!(after["restartCount"], 0);
    assert_eq!(after["state"]["running"]["startedAt"], before["state"]["running"]["startedAt"]);
    assert_eq!(s.ok(&["logs", "keep"]), "started\n");
    s.wait_for(Duration::from_secs(30), "keep Ready again (its probe runs again)", || ready(&s, "keep"));
}

#[test]
fn images_pull_from_a_registry_by_tag_and_digest() {
    let s = server();
    let registry = testkit::images::Registry::start();
    let archive = busybox_archive(s.data_dir(), "pulled/busybox:2", ArchiveFormat::Docker);
    let digest = registry.push(&archive, "pulled/busybox:2");
    let by_tag = format!("{}/pulled/busybox:2", registry.addr());
    let by_digest = format!("{}/pulled/busybox@{digest}", registry.addr());
    s.ok(&["run", "tag", &format!("--image={by_tag}"), "--restart=Never", "--", "echo", "by tag"]);
    s.ok(&["run", "digest", &format!("--image={by_digest}"), "--restart=Never", "--", "echo", "by digest"]);
    s.ok(&["run", "missing", &format!("--image={}/pulled/nope:1", registry.addr()), "--restart=Never"]);
    s.wait_for(Duration::from_secs(60), "both pulled pods Succeeded", || phase(&s, "tag") == "Succeeded" && phase(&s, "digest") == "Succeeded");
    assert_eq!(s.ok(&["logs", "tag"]), "by tag\n");
    assert_eq!(s.ok(&["logs", "digest"]), "by digest\n");
    let d = s.pod("digest");
    assert!(d["status"]["containerStatuses"][0]["imageID"].as_str().unwrap().contains(&digest), "{d}");
    s.wait_for(Duration::from_secs(60), "ErrImagePull or ImagePullBackOff", || {
        let r = s.pod("missing")["status"]["containerStatuses"][0]["state"]["waiting"]["reason"].as_str().unwrap_or("").to_string();
        r == "ErrImagePull" || r == "ImagePullBackOff"
    });
    let d = s.describe("tag");
    assert!(d.contains("Successfully pulled image"), "{d}");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("0.0.0.0:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn security_context_host_network_host_ports_sidecars_and_termination_messages() {
    let s = server();
    let host_port = free_port();
    let net_port = free_port();
    let manifest = format!(
        r#"
apiVersion: v1
kind: Pod
metadata: {{name: secure}}
spec:
  restartPolicy: Never
  securityContext: {{runAsUser: 1000, runAsGroup: 3000, supplementalGroups: [4000], seccompProfile: {{type: RuntimeDefault}}}}
  containers:
  - name: secure
    image: {IMAGE}
    imagePullPolicy: Never
    command: ["sh", "-c", "id; grep Seccomp: /proc/self/status; touch /x 2>/dev/null && echo writable || echo read-only; echo bye > /dev/termination-log; exit 3"]
    securityContext: {{readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: {{drop: [ALL]}}}}
---
apiVersion: v1
kind: Pod
metadata: {{name: hostnet}}
spec:
  hostNetwork: true
  containers:
  - name: web
    image: {IMAGE}
    imagePullPolicy: Never
    command: ["httpd", "-f", "-p", "{net_port}", "-h", "/var/www"]
---
apiVersion: v1
kind: Pod
metadata: {{name: ported}}
spec:
  initContainers:
  - name: sidecar
    image: {IMAGE}
    imagePullPolicy: Never
    restartPolicy: Always
    command: ["sh", "-c", "echo sidecar up; sleep 3600"]
  containers:
  - name: web
    image: {IMAGE}
    imagePullPolicy: Never
    command: ["httpd", "-f", "-p", "8080", "-h", "/var/www"]
    ports: [{{containerPort: 8080, hostPort: {host_port}}}]
  - name: deadline
    image: {IMAGE}
    imagePullPolicy: Never
    command: ["sh", "-c", "echo last words; exit 1"]
    terminationMessagePolicy: FallbackToLogsOnError
"#
    );
    s.ok_stdin(&["apply", "-f", "-"], Some(&manifest));
    s.wait_for(Duration::from_secs(60), "secure Failed", || phase(&s, "secure") == "Failed");
    let p = s.pod("secure");
    let t = &p["status"]["containerStatuses"][0]["state"]["terminated"];
    assert_eq!(t["exitCode"], 3, "{p}");
    assert_eq!(t["message"], "bye\n", "the termination log is the message");
    let out = s.ok(&["logs", "secure"]);
    assert!(out.contains("uid=1000 gid=3000 groups=3000,4000") || out.contains("uid=1000 gid=3000 groups=4000"), "{out}");
    assert!(out.contains("Seccomp:\t2"), "RuntimeDefault filters syscalls: {out}");
    assert!(out.contains("read-only"), "{out}");

    // hostNetwork: the pod listens on the node's own network and reports the node's IP.
    s.wait_for(Duration::from_secs(60), "hostnet Running", || phase(&s, "hostnet") == "Running");
    let p = s.pod("hostnet");
    assert_eq!(p["status"]["podIP"], p["status"]["hostIP"], "{p}");
    let page = http_get(&format!("127.0.0.1:{net_port}"));
    assert!(page.contains("hello from rkube busybox"), "{page}");

    // A sidecar starts before the app containers and keeps running; hostPort reaches the pod.
    s.wait_for(Duration::from_secs(60), "web running in ported", || {
        s.pod("ported")["status"]["containerStatuses"].as_array().into_iter().flatten().any(|c| c["name"] == "web" && c["state"]["running"].is_object())
    });
    let p = s.pod("ported");
    let sidecar = &p["status"]["initContainerStatuses"][0];
    assert!(sidecar["state"]["running"].is_object(), "{p}");
    assert_eq!(s.ok(&["logs", "ported", "-c", "sidecar"]), "sidecar up\n");
    let node_ip = local_ip();
    let page = http_get(&format!("{node_ip}:{host_port}"));
    assert!(page.contains("hello from rkube busybox"), "hostPort {host_port} on {node_ip}: {page}");
    s.wait_for(Duration::from_secs(60), "the failing container's message from its log", || {
        s.pod("ported")["status"]["containerStatuses"].as_array().into_iter().flatten().any(|c| {
            c["name"] == "deadline" && c["lastState"]["terminated"]["message"].as_str().is_some_and(|m| m.contains("last words"))
        })
    });
}

/// The machine's address on its default route (hostPort DNAT does not apply to loopback).
fn local_ip() -> String {
    let out = std::process::Command::new("ip").args(["-4", "-o", "addr", "show", "scope", "global"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    text.lines()
        .filter(|l| !l.contains(" rkt") && !l.contains(" cni") && !l.contains("veth"))
        .find_map(|l| l.split_whitespace().nth(3).and_then(|a| a.split('/').next()).map(str::to_string))
        .expect("a global IPv4 address")
}

fn http_get(addr: &str) -> String {
    use std::io::{Read, Write};
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(mut c) = std::net::TcpStream::connect(addr) {
            let _ = c.set_read_timeout(Some(Duration::from_secs(5)));
            let _ = c.write_all(b"GET / HTTP/1.0\r\n\r\n");
            let mut out = String::new();
            let _ = c.read_to_string(&mut out);
            if !out.is_empty() {
                return out;
            }
        }
        if Instant::now() > deadline {
            return String::new();
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn containers_share_a_process_namespace_when_asked() {
    let s = server();
    let manifest = format!(
        r#"{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"shared"}},"spec":{{"shareProcessNamespace":true,"containers":[
            {{"name":"sleeper","image":"{IMAGE}","imagePullPolicy":"Never","command":["sleep","3600"]}},
            {{"name":"looker","image":"{IMAGE}","imagePullPolicy":"Never","command":["sh","-c","sleep 2; ps; sleep 3600"]}}]}}}}"#
    );
    s.ok_stdin(&["apply", "-f", "-"], Some(&manifest));
    s.wait_for(Duration::from_secs(60), "the other container's process in ps", || {
        String::from_utf8_lossy(&s.kubectl(&["logs", "shared", "-c", "looker"]).stdout).contains("sleep 3600")
    });
    let ps = s.ok(&["logs", "shared", "-c", "looker"]);
    assert!(ps.contains("pause"), "the pod's PID 1 is visible: {ps}");
}
