//! `kubectl exec` and `kubectl attach` against real containers (as root): stock kubectl
//! speaks WebSocket (v5.channel.k8s.io) to the API server, which splices it through to
//! the node agent, which runs `runc exec`.

use std::io::Read;
use std::process::{Command, Stdio};
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
    wait_for(&s, Duration::from_secs(30), "the node to be Ready", || {
        let out = s.kubectl(&["get", "nodes", "-o", "jsonpath={.items[0].status.conditions[?(@.type==\"Ready\")].status}"]);
        String::from_utf8_lossy(&out.stdout) == "True"
    });
    s
}

fn wait_for(s: &TestServer, timeout: Duration, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let pods = String::from_utf8_lossy(&s.kubectl(&["get", "pods", "-o", "yaml"]).stdout).to_string();
    let log = s.log();
    let tail: Vec<&str> = log.lines().rev().take(60).collect();
    panic!("timed out waiting for {what}\npods:\n{pods}\nserver log tail:\n{}", tail.into_iter().rev().collect::<Vec<_>>().join("\n"));
}

fn phase(s: &TestServer, name: &str) -> String {
    let out = s.kubectl(&["get", "pod", name, "-o", "json"]);
    let pod: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    pod["status"]["phase"].as_str().unwrap_or("").to_string()
}

fn run_pod(s: &TestServer, name: &str, extra: &[&str], command: &[&str]) {
    let image = format!("--image={IMAGE}");
    let mut args = vec!["run", name, image.as_str(), "--image-pull-policy=Never"];
    args.extend_from_slice(extra);
    args.push("--");
    args.extend_from_slice(command);
    s.ok(&args);
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn kubectl_exec_runs_commands_in_the_container() {
    let s = server();
    run_pod(&s, "box", &[], &["sleep", "3600"]);
    wait_for(&s, Duration::from_secs(60), "box Running", || phase(&s, "box") == "Running");

    // Output, and the command runs in the container (its hostname is the pod's).
    assert_eq!(s.ok(&["exec", "box", "--", "echo", "hi"]), "hi\n");
    assert_eq!(s.ok(&["exec", "box", "--", "hostname"]), "box\n");

    // stderr apart from stdout, and kubectl exits with the command's code.
    let out = s.kubectl(&["exec", "box", "--", "sh", "-c", "echo out; echo err >&2; exit 3"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "out\n");
    let err = stderr(&out);
    assert!(err.contains("err\n") && err.contains("command terminated with exit code 3"), "{err}");

    // stdin reaches the command, and its end ends it (v5's close signal).
    assert_eq!(s.ok_stdin(&["exec", "-i", "box", "--", "cat"], Some("abc")), "abc");
    let big: String = (0..20000).map(|i| format!("line {i}\n")).collect();
    let counted = s.ok_stdin(&["exec", "-i", "box", "--", "wc", "-c"], Some(&big));
    assert_eq!(counted.trim(), big.len().to_string());

    // A command the runtime cannot start.
    let out = s.kubectl(&["exec", "box", "--", "no-such-command"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains(r#"exec: "no-such-command": executable file not found in $PATH"#), "{err}");

    // Upstream's refusals.
    let err = s.fails(&["exec", "box", "-c", "nope", "--", "true"], None);
    assert!(err.contains("container nope is not valid for pod box"), "{err}");
    let err = s.fails(&["exec", "missing", "--", "true"], None);
    assert!(err.contains(r#"pods "missing" not found"#), "{err}");
    // The API server's own checks, without kubectl's: a plain GET cannot be upgraded.
    let err = s.fails(&["get", "--raw", "/api/v1/namespaces/default/pods/box/exec?command=true"], None);
    assert!(err.contains("Upgrade request required"), "{err}");
    let err = s.fails(&["get", "--raw", "/api/v1/namespaces/default/pods/box/exec"], None);
    assert!(err.contains("you must specify at least one command for the container"), "{err}");

    // Authorization: exec is `pods/exec` (kubectl's WebSocket upgrade is a GET, which
    // Kubernetes 1.33 authorizes as `get`); `edit` may, `view` may not.
    let dave = s.user_kubeconfig("dave", &[]);
    let erin = s.user_kubeconfig("erin", &[]);
    s.ok(&["create", "rolebinding", "dave-edit", "--clusterrole=edit", "--user=dave"]);
    s.ok(&["create", "rolebinding", "erin-view", "--clusterrole=view", "--user=erin"]);
    let out = s.kubectl_with(&dave, &["exec", "box", "--", "echo", "as-dave"], None);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "as-dave\n", "{}", stderr(&out));
    let out = s.kubectl_with(&erin, &["exec", "box", "--", "true"], None);
    assert!(!out.status.success());
    assert!(stderr(&out).contains(r#"User "erin" cannot"#) && stderr(&out).contains(r#"resource "pods/exec""#), "{}", stderr(&out));
}

#[test]
fn the_api_server_picks_the_container_like_upstream() {
    let s = server();
    let pod = r#"{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "two"}, "spec": {"containers": [
        {"name": "a", "image": "rkube.test/busybox:1", "imagePullPolicy": "Never", "command": ["sleep", "3600"]},
        {"name": "b", "image": "rkube.test/busybox:1", "imagePullPolicy": "Never", "command": ["sleep", "3600"]}]}}"#;
    s.ok_stdin(&["apply", "-f", "-"], Some(pod));
    let err = s.fails(&["get", "--raw", "/api/v1/namespaces/default/pods/two/exec?command=true"], None);
    assert!(err.contains("a container name must be specified for pod two, choose one of: [a b]"), "{err}");
    wait_for(&s, Duration::from_secs(60), "two Running", || phase(&s, "two") == "Running");
    assert_eq!(s.ok(&["exec", "two", "-c", "b", "--", "hostname"]), "two\n");
    // kubectl picks the first container itself when none is named.
    let out = s.kubectl(&["exec", "two", "--", "echo", "first"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "first\n", "{}", stderr(&out));
}

#[test]
fn kubectl_exec_with_a_terminal() {
    let s = server();
    run_pod(&s, "term", &[], &["sleep", "3600"]);
    wait_for(&s, Duration::from_secs(60), "term Running", || phase(&s, "term") == "Running");
    // kubectl uses a TTY only when its stdin is a terminal: `script` gives it one.
    // (runc sizes the container's terminal just after the command starts, hence the
    // pause before `stty size`; upstream runtimes have the same race.)
    let kubectl = format!("kubectl --kubeconfig {} exec -i -t term -- sh -c 'tty; sleep 1; stty size'", s.kubeconfig().display());
    let out = Command::new("script")
        .args(["-qec", &format!("stty cols 120 rows 33; {kubectl}"), "/dev/null"])
        .stdin(Stdio::null())
        .output()
        .expect("run script");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}\n{}", stderr(&out));
    assert!(text.contains("/dev/pts/"), "{text}");
    assert!(text.contains("33 120"), "the terminal's size reaches the container: {text}");
    // An interactive shell: input is read through the terminal, and exit ends it.
    let out = Command::new("script")
        .args(["-qec", &format!("kubectl --kubeconfig {} exec -i -t term -- sh", s.kubeconfig().display()), "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            let mut input = c.stdin.take().unwrap();
            std::thread::sleep(Duration::from_secs(2));
            input.write_all(b"echo in-$((6*7))\r")?;
            std::thread::sleep(Duration::from_millis(500));
            input.write_all(b"exit 5\r")?;
            std::thread::sleep(Duration::from_secs(2));
            drop(input);
            c.wait_with_output()
        })
        .expect("run script");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("in-42"), "{text}");
    assert_eq!(out.status.code(), Some(5), "{text}");
}

#[test]
fn kubectl_attach_streams_output_and_completed_pods_refuse() {
    let s = server();
    run_pod(&s, "ticker", &[], &["sh", "-c", "i=0; while true; do echo tick $i; echo tock $i >&2; i=$((i+1)); sleep 1; done"]);
    run_pod(&s, "done", &["--restart=Never"], &["true"]);
    wait_for(&s, Duration::from_secs(60), "ticker Running", || phase(&s, "ticker") == "Running");

    let mut attach = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(s.kubeconfig())
        .args(["attach", "ticker"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = attach.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut seen = String::new();
        let mut buf = [0u8; 1024];
        while let Ok(n) = out.read(&mut buf) {
            if n == 0 {
                break;
            }
            seen.push_str(&String::from_utf8_lossy(&buf[..n]));
            if seen.matches("tick").count() >= 2 {
                let _ = tx.send(seen.clone());
                break;
            }
        }
    });
    let seen = rx.recv_timeout(Duration::from_secs(30));
    let _ = attach.kill();
    let _ = attach.wait();
    let seen = seen.expect("kubectl attach streamed the container's output");
    assert!(!seen.contains("tock"), "stderr stays on stderr: {seen}");

    // Standard input cannot be attached to (the container's stdio is its log).
    let out = s.kubectl(&["attach", "-i", "ticker"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("attaching to the standard input of a container is not supported"), "{}", stderr(&out));

    // A completed pod: kubectl says so first, and so does the API server.
    wait_for(&s, Duration::from_secs(60), "done Succeeded", || phase(&s, "done") == "Succeeded");
    let err = s.fails(&["exec", "done", "--", "true"], None);
    assert!(err.contains("cannot exec into a container in a completed pod; current phase is Succeeded"), "{err}");
    let err = s.fails(&["get", "--raw", "/api/v1/namespaces/default/pods/done/exec?command=true"], None);
    assert!(err.contains("cannot exec into a container in a completed pod; current phase is Succeeded"), "{err}");
    let err = s.fails(&["get", "--raw", "/api/v1/namespaces/default/pods/done/attach"], None);
    assert!(err.contains("cannot attach a container in a completed pod; current phase is Succeeded"), "{err}");
}

