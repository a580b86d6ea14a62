use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};

use super::*;

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2024-05-01T12:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

/// A timestamp `secs` seconds before now().
fn ago(secs: i64) -> String {
    (now() - Duration::seconds(secs)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn names(group: &str, kind: &str) -> Vec<&'static str> {
    columns(group, kind).iter().map(|c| c.name).collect()
}

fn row(group: &str, kind: &str, obj: &Value) -> Vec<Value> {
    let r = cells(group, kind, obj, now());
    assert_eq!(
        r.len(),
        columns(group, kind).len(),
        "{group}/{kind} cells vs columns"
    );
    r
}

fn meta(name: &str) -> Value {
    json!({"name": name, "namespace": "default", "creationTimestamp": ago(300)})
}

#[test]
fn human_age_formats() {
    let n = now();
    let cases = [
        (0, "0s"),
        (5, "5s"),
        (119, "119s"),
        (120, "2m"),
        (192, "3m12s"),
        (600, "10m"),
        (179 * 60, "179m"),
        (3 * 3600, "3h"),
        (3 * 3600 + 5 * 60, "3h5m"),
        (8 * 3600 + 59 * 60, "8h"),
        (47 * 3600, "47h"),
        (51 * 3600, "2d3h"),
        (3 * 86400, "3d"),
        (30 * 86400, "30d"),
        (800 * 86400, "2y70d"),
        (10 * 365 * 86400, "10y"),
    ];
    for (secs, want) in cases {
        assert_eq!(human_age(Some(&ago(secs)), n), want, "{secs}s");
    }
    assert_eq!(human_age(None, n), "<unknown>");
    assert_eq!(human_age(Some("0001-01-01T00:00:00Z"), n), "<unknown>");
    let future = (n + Duration::seconds(1)).to_rfc3339();
    assert_eq!(human_age(Some(&future), n), "0s");
    let far_future = (n + Duration::seconds(30)).to_rfc3339();
    assert_eq!(human_age(Some(&far_future), n), "<invalid>");
}

#[test]
fn column_json_shape() {
    let c = columns("", "Pod")[0];
    let j = column_json(&c);
    assert_eq!(j["name"], "Name");
    assert_eq!(j["type"], "string");
    assert_eq!(j["format"], "name");
    assert_eq!(j["priority"], 0);
    assert!(j["description"]
        .as_str()
        .unwrap()
        .starts_with("Name must be unique within a namespace."));
    let keys: Vec<&String> = j.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["name", "type", "format", "description", "priority"]);
}

#[test]
fn default_table() {
    let cols = columns("rbac.authorization.k8s.io", "Role");
    assert_eq!(cols.len(), 2);
    assert_eq!(
        (cols[0].name, cols[0].type_, cols[0].format),
        ("Name", "string", "name")
    );
    assert_eq!(
        (cols[1].name, cols[1].type_, cols[1].format),
        ("Created At", "date", "")
    );
    assert!(cols[1]
        .description
        .starts_with("CreationTimestamp is a timestamp"));
    let obj =
        json!({"metadata": {"name": "reader", "creationTimestamp": "2024-04-30T10:00:00+02:00"}});
    assert_eq!(
        row("rbac.authorization.k8s.io", "Role", &obj),
        vec![json!("reader"), json!("2024-04-30T08:00:00Z")]
    );
    assert!(!has_printer("example.com", "Widget"));
    assert_eq!(columns("example.com", "Widget"), columns("", "LimitRange"));
}

#[test]
fn every_printer_matches_its_columns() {
    let objects = [
        json!({}),
        json!({"metadata": meta("x"), "spec": {}, "status": {}}),
    ];
    for p in PRINTERS {
        for obj in &objects {
            let r = (p.cells)(obj, now());
            assert_eq!(r.len(), p.columns.len(), "{}/{}", p.group, p.kind);
        }
        let name_col = p
            .columns
            .iter()
            .find(|c| c.name == "Name")
            .expect("a Name column");
        assert_eq!(name_col.type_, "string", "{}", p.kind);
    }
}

#[test]
fn pod_columns() {
    assert_eq!(
        names("", "Pod"),
        [
            "Name",
            "Ready",
            "Status",
            "Restarts",
            "Age",
            "IP",
            "Node",
            "Nominated Node",
            "Readiness Gates"
        ]
    );
    let wide: Vec<i32> = columns("", "Pod").iter().map(|c| c.priority).collect();
    assert_eq!(wide, [0, 0, 0, 0, 0, 1, 1, 1, 1]);
    assert_eq!(columns("", "Pod")[3].type_, "string");
}

fn running(name: &str, ready: bool, restarts: i64) -> Value {
    json!({"name": name, "ready": ready, "restartCount": restarts, "state": {"running": {"startedAt": ago(100)}}})
}

#[test]
fn pod_running_with_restarts() {
    let mut second = running("sidecar", false, 3);
    second["lastState"] = json!({"terminated": {"exitCode": 1, "finishedAt": ago(300)}});
    let pod = json!({
        "metadata": meta("web-1"),
        "spec": {"nodeName": "node-a", "containers": [{"name": "app"}, {"name": "sidecar"}],
                 "readinessGates": [{"conditionType": "example.com/lb"}]},
        "status": {"phase": "Running", "podIP": "10.0.0.5", "podIPs": [{"ip": "10.0.0.5"}],
                   "conditions": [{"type": "Ready", "status": "False"}, {"type": "example.com/lb", "status": "True"}],
                   "containerStatuses": [running("app", true, 0), second]}
    });
    let r = row("", "Pod", &pod);
    assert_eq!(
        r,
        vec![
            json!("web-1"),
            json!("1/2"),
            json!("Running"),
            json!("3 (5m ago)"),
            json!("5m"),
            json!("10.0.0.5"),
            json!("node-a"),
            json!("<none>"),
            json!("1/1"),
        ]
    );
    assert_eq!(row_conditions("", "Pod", &pod), None);
}

#[test]
fn pod_pending_and_waiting() {
    let pending = json!({"metadata": meta("p"), "spec": {"containers": [{"name": "a"}]}, "status": {"phase": "Pending"}});
    let r = row("", "Pod", &pending);
    assert_eq!(
        (&r[1], &r[2], &r[3]),
        (&json!("0/1"), &json!("Pending"), &json!("0"))
    );
    assert_eq!(
        (&r[5], &r[6], &r[7], &r[8]),
        (
            &json!("<none>"),
            &json!("<none>"),
            &json!("<none>"),
            &json!("<none>")
        )
    );

    let waiting = json!({"metadata": meta("p"), "spec": {"containers": [{"name": "a"}]},
        "status": {"phase": "Pending", "containerStatuses": [
            {"name": "a", "ready": false, "restartCount": 0, "state": {"waiting": {"reason": "ContainerCreating"}}}]}});
    assert_eq!(row("", "Pod", &waiting)[2], "ContainerCreating");

    let crash = json!({"metadata": meta("p"), "spec": {"containers": [{"name": "a"}]},
        "status": {"phase": "Running", "containerStatuses": [
            {"name": "a", "ready": false, "restartCount": 4, "state": {"waiting": {"reason": "CrashLoopBackOff"}},
             "lastState": {"terminated": {"exitCode": 2, "finishedAt": ago(42)}}}]}});
    let r = row("", "Pod", &crash);
    assert_eq!(
        (&r[2], &r[3]),
        (&json!("CrashLoopBackOff"), &json!("4 (42s ago)"))
    );

    let gated = json!({"metadata": meta("p"), "spec": {"containers": [{"name": "a"}]},
        "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]}});
    assert_eq!(row("", "Pod", &gated)[2], "SchedulingGated");
}

#[test]
fn pod_init_containers() {
    let pod = json!({"metadata": meta("p"),
        "spec": {"initContainers": [{"name": "i1"}, {"name": "i2"}], "containers": [{"name": "a"}]},
        "status": {"phase": "Pending", "initContainerStatuses": [
            {"name": "i1", "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
            {"name": "i2", "restartCount": 0, "state": {"running": {}}}],
            "containerStatuses": [{"name": "a", "restartCount": 0, "state": {"waiting": {"reason": "PodInitializing"}}}]}});
    assert_eq!(row("", "Pod", &pod)[2], "Init:1/2");

    let failing = json!({"metadata": meta("p"), "spec": {"initContainers": [{"name": "i1"}], "containers": [{"name": "a"}]},
        "status": {"phase": "Pending", "initContainerStatuses": [
            {"name": "i1", "restartCount": 2, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}});
    let r = row("", "Pod", &failing);
    assert_eq!(
        (&r[2], &r[3]),
        (&json!("Init:CrashLoopBackOff"), &json!("2"))
    );

    let sidecar = json!({"metadata": meta("p"),
        "spec": {"initContainers": [{"name": "proxy", "restartPolicy": "Always"}], "containers": [{"name": "a"}]},
        "status": {"phase": "Running", "conditions": [{"type": "Initialized", "status": "True"}],
            "initContainerStatuses": [{"name": "proxy", "started": true, "ready": true, "restartCount": 1, "state": {"running": {}}}],
            "containerStatuses": [running("a", true, 0)]}});
    let r = row("", "Pod", &sidecar);
    assert_eq!(
        (&r[1], &r[2], &r[3]),
        (&json!("2/2"), &json!("Running"), &json!("1"))
    );
}

#[test]
fn pod_terminating_and_completed() {
    let mut term = json!({"metadata": meta("p"), "spec": {"containers": [{"name": "a"}]},
        "status": {"phase": "Running", "containerStatuses": [running("a", true, 0)]}});
    term["metadata"]["deletionTimestamp"] = json!(ago(1));
    assert_eq!(row("", "Pod", &term)[2], "Terminating");
    term["status"]["reason"] = json!("NodeLost");
    assert_eq!(row("", "Pod", &term)[2], "Unknown");

    let done = json!({"metadata": meta("job-x"), "spec": {"containers": [{"name": "a"}]},
        "status": {"phase": "Succeeded", "containerStatuses": [
            {"name": "a", "ready": false, "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}});
    let r = row("", "Pod", &done);
    assert_eq!((&r[1], &r[2]), (&json!("0/1"), &json!("Completed")));
    let conds = row_conditions("", "Pod", &done).unwrap();
    assert_eq!(conds[0]["type"], "Completed");
    assert_eq!(conds[0]["reason"], "Succeeded");

    let killed = json!({"metadata": meta("p"), "spec": {"containers": [{"name": "a"}]},
        "status": {"phase": "Failed", "containerStatuses": [
            {"name": "a", "restartCount": 0, "state": {"terminated": {"exitCode": 137, "signal": 9}}}]}});
    assert_eq!(row("", "Pod", &killed)[2], "Signal:9");
}

#[test]
fn deployment_row() {
    assert_eq!(
        names("apps", "Deployment"),
        [
            "Name",
            "Ready",
            "Up-to-date",
            "Available",
            "Age",
            "Containers",
            "Images",
            "Selector"
        ]
    );
    let d = json!({"metadata": meta("web"),
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web", "tier": "fe"},
                 "matchExpressions": [{"key": "env", "operator": "In", "values": ["prod", "dev"]}]},
                 "template": {"spec": {"containers": [{"name": "nginx", "image": "nginx:1.25"}, {"name": "log", "image": "busybox"}]}}},
        "status": {"replicas": 3, "readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}});
    assert_eq!(
        row("apps", "Deployment", &d),
        vec![
            json!("web"),
            json!("2/3"),
            json!(3),
            json!(2),
            json!("5m"),
            json!("nginx,log"),
            json!("nginx:1.25,busybox"),
            json!("app=web,env in (dev,prod),tier=fe"),
        ]
    );
}

#[test]
fn service_rows() {
    assert_eq!(
        names("", "Service"),
        [
            "Name",
            "Type",
            "Cluster-IP",
            "External-IP",
            "Port(s)",
            "Age",
            "Selector"
        ]
    );
    let cip = json!({"metadata": meta("api"),
        "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"],
                 "ports": [{"port": 80, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}], "selector": {"app": "api"}}});
    assert_eq!(
        row("", "Service", &cip),
        vec![
            json!("api"),
            json!("ClusterIP"),
            json!("10.96.0.10"),
            json!("<none>"),
            json!("80/TCP,53/UDP"),
            json!("5m"),
            json!("app=api"),
        ]
    );
    let np = json!({"metadata": meta("web"),
        "spec": {"type": "NodePort", "clusterIP": "10.96.3.4", "externalIPs": ["1.2.3.4"],
                 "ports": [{"port": 80, "protocol": "TCP", "nodePort": 30080}, {"port": 443, "protocol": "TCP", "nodePort": 30001}]}});
    let r = row("", "Service", &np);
    assert_eq!(
        (&r[2], &r[3], &r[4], &r[6]),
        (
            &json!("10.96.3.4"),
            &json!("1.2.3.4"),
            &json!("80:30080/TCP,443:30001/TCP"),
            &json!("<none>")
        )
    );
    let lb = json!({"metadata": meta("lb"), "spec": {"type": "LoadBalancer", "ports": []}});
    let r = row("", "Service", &lb);
    assert_eq!(
        (&r[2], &r[3], &r[4]),
        (&json!("<none>"), &json!("<pending>"), &json!("<none>"))
    );
    let lb_ready = json!({"metadata": meta("lb"), "spec": {"type": "LoadBalancer"},
        "status": {"loadBalancer": {"ingress": [{"ip": "5.6.7.8"}, {"hostname": "a.example.com"}]}}});
    assert_eq!(row("", "Service", &lb_ready)[3], "5.6.7.8,a.example.com");
    let ext = json!({"metadata": meta("x"), "spec": {"type": "ExternalName", "externalName": "db.example.com"}});
    assert_eq!(row("", "Service", &ext)[3], "db.example.com");
}

#[test]
fn node_row() {
    assert_eq!(
        names("", "Node"),
        [
            "Name",
            "Status",
            "Roles",
            "Age",
            "Version",
            "Internal-IP",
            "External-IP",
            "OS-Image",
            "Kernel-Version",
            "Container-Runtime"
        ]
    );
    let n = json!({"metadata": {"name": "cp-1", "creationTimestamp": ago(3 * 86400),
            "labels": {"node-role.kubernetes.io/control-plane": "", "node-role.kubernetes.io/etcd": "", "kubernetes.io/role": "master"}},
        "spec": {"unschedulable": true},
        "status": {"conditions": [{"type": "MemoryPressure", "status": "False"}, {"type": "Ready", "status": "True"}],
                   "addresses": [{"type": "InternalIP", "address": "192.168.1.10"}, {"type": "Hostname", "address": "cp-1"}],
                   "nodeInfo": {"kubeletVersion": "v1.33.0", "osImage": "Debian 12", "kernelVersion": "6.1.0", "containerRuntimeVersion": ""}}});
    assert_eq!(
        row("", "Node", &n),
        vec![
            json!("cp-1"),
            json!("Ready,SchedulingDisabled"),
            json!("control-plane,etcd,master"),
            json!("3d"),
            json!("v1.33.0"),
            json!("192.168.1.10"),
            json!("<none>"),
            json!("Debian 12"),
            json!("6.1.0"),
            json!("<unknown>"),
        ]
    );
    let bare = json!({"metadata": {"name": "w"}, "status": {"conditions": [{"type": "Ready", "status": "Unknown"}]}});
    let r = row("", "Node", &bare);
    assert_eq!(
        (&r[1], &r[2], &r[3]),
        (&json!("NotReady"), &json!("<none>"), &json!("<unknown>"))
    );
    assert_eq!(
        row("", "Node", &json!({"metadata": {"name": "w"}}))[1],
        "Unknown"
    );
}

#[test]
fn event_rows_both_apis() {
    let cols = columns("", "Event");
    assert_eq!(cols[0].name, "Last Seen");
    assert_eq!(
        cols.iter()
            .filter(|c| c.priority == 0)
            .map(|c| c.name)
            .collect::<Vec<_>>(),
        ["Last Seen", "Type", "Reason", "Object", "Message"]
    );
    let core = json!({"metadata": meta("web.17a"), "type": "Normal", "reason": "Scheduled", "message": " Assigned \n",
        "involvedObject": {"kind": "Pod", "name": "web", "fieldPath": "spec.containers{a}"},
        "source": {"component": "default-scheduler"}, "firstTimestamp": ago(600), "lastTimestamp": ago(60), "count": 3});
    assert_eq!(
        row("", "Event", &core),
        vec![
            json!("60s"),
            json!("Normal"),
            json!("Scheduled"),
            json!("pod/web"),
            json!("spec.containers{a}"),
            json!("default-scheduler"),
            json!("Assigned"),
            json!("10m"),
            json!(3),
            json!("web.17a"),
        ]
    );
    let new = json!({"metadata": meta("e2"), "type": "Warning", "reason": "BackOff", "note": "Back-off",
        "regarding": {"kind": "Pod", "name": "web"}, "eventTime": "2024-05-01T11:59:00.000000Z",
        "reportingController": "kubelet", "reportingInstance": "node-a",
        "series": {"count": 7, "lastObservedTime": "2024-05-01T11:59:50.000000Z"}});
    let r = row("events.k8s.io", "Event", &new);
    assert_eq!(r[0], "10s");
    assert_eq!(
        (&r[3], &r[5], &r[6], &r[7], &r[8]),
        (
            &json!("pod/web"),
            &json!("kubelet, node-a"),
            &json!("Back-off"),
            &json!("60s"),
            &json!(7)
        )
    );
}

#[test]
fn jobs_and_cronjobs() {
    assert_eq!(
        names("batch", "Job")[..5],
        ["Name", "Status", "Completions", "Duration", "Age"]
    );
    let j = json!({"metadata": meta("pi"), "spec": {"completions": 3, "parallelism": 1, "selector": {"matchLabels": {"job": "pi"}},
            "template": {"spec": {"containers": [{"name": "pi", "image": "perl"}]}}},
        "status": {"succeeded": 3, "startTime": ago(200), "completionTime": ago(50),
                   "conditions": [{"type": "Complete", "status": "True"}]}});
    assert_eq!(
        row("batch", "Job", &j),
        vec![
            json!("pi"),
            json!("Complete"),
            json!("3/3"),
            json!("2m30s"),
            json!("5m"),
            json!("pi"),
            json!("perl"),
            json!("job=pi"),
        ]
    );
    let running = json!({"metadata": meta("r"), "spec": {"parallelism": 2}, "status": {"startTime": ago(30)}});
    let r = row("batch", "Job", &running);
    assert_eq!(
        (&r[1], &r[2], &r[3]),
        (&json!("Running"), &json!("0/1 of 2"), &json!("30s"))
    );

    assert_eq!(
        names("batch", "CronJob")[..7],
        [
            "Name",
            "Schedule",
            "Timezone",
            "Suspend",
            "Active",
            "Last Schedule",
            "Age"
        ]
    );
    let cj = json!({"metadata": meta("nightly"), "spec": {"schedule": "0 3 * * *", "suspend": false,
            "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "b", "image": "backup"}]}}}}},
        "status": {"active": [{"name": "nightly-1"}], "lastScheduleTime": ago(90)}});
    assert_eq!(
        row("batch", "CronJob", &cj),
        vec![
            json!("nightly"),
            json!("0 3 * * *"),
            json!("<none>"),
            json!("False"),
            json!(1),
            json!("90s"),
            json!("5m"),
            json!("b"),
            json!("backup"),
            json!("<none>"),
        ]
    );
}

#[test]
fn hpa_targets() {
    let v2 = json!({"metadata": meta("web"), "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "minReplicas": 1, "maxReplicas": 5,
            "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}},
                        {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "500Mi"}}},
                        {"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {"type": "AverageValue", "averageValue": "10"}}}]},
        "status": {"currentReplicas": 2, "currentMetrics": [{"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 50}}}]}});
    assert_eq!(
        row("autoscaling", "HorizontalPodAutoscaler", &v2),
        vec![
            json!("web"),
            json!("Deployment/web"),
            json!("cpu: 50%/80%, memory: <unknown>/500Mi + 1 more..."),
            json!("1"),
            json!(5),
            json!(2),
            json!("5m"),
        ]
    );
    let v1 = json!({"metadata": meta("old"), "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "old"}, "maxReplicas": 3,
        "targetCPUUtilizationPercentage": 60}, "status": {"currentReplicas": 1}});
    let r = row("autoscaling", "HorizontalPodAutoscaler", &v1);
    assert_eq!(
        (&r[2], &r[3]),
        (&json!("cpu: <unknown>/60%"), &json!("<unset>"))
    );
}

#[test]
fn assorted_kinds() {
    let sts = json!({"metadata": meta("db"), "spec": {"replicas": 3, "template": {"spec": {"containers": [{"name": "pg", "image": "postgres"}]}}},
        "status": {"readyReplicas": 1}});
    assert_eq!(
        row("apps", "StatefulSet", &sts),
        vec![
            json!("db"),
            json!("1/3"),
            json!("5m"),
            json!("pg"),
            json!("postgres")
        ]
    );

    let pvc = json!({"metadata": meta("data"), "spec": {"volumeName": "pv-1", "storageClassName": "standard", "volumeMode": "Filesystem"},
        "status": {"phase": "Bound", "capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce", "ReadWriteMany"]}});
    assert_eq!(
        row("", "PersistentVolumeClaim", &pvc),
        vec![
            json!("data"),
            json!("Bound"),
            json!("pv-1"),
            json!("1Gi"),
            json!("RWO,RWX"),
            json!("standard"),
            json!("<unset>"),
            json!("5m"),
            json!("Filesystem"),
        ]
    );

    let sc = json!({"metadata": {"name": "standard", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
        "provisioner": "rancher.io/local-path", "volumeBindingMode": "WaitForFirstConsumer"});
    let r = row("storage.k8s.io", "StorageClass", &sc);
    assert_eq!(
        &r[..5],
        &[
            json!("standard (default)"),
            json!("rancher.io/local-path"),
            json!("Delete"),
            json!("WaitForFirstConsumer"),
            json!(false)
        ]
    );

    let rb = json!({"metadata": meta("rb"), "roleRef": {"kind": "ClusterRole", "name": "view"},
        "subjects": [{"kind": "User", "name": "alice"}, {"kind": "ServiceAccount", "name": "sa", "namespace": "ns"}, {"kind": "User", "name": "bob"}]});
    assert_eq!(
        row("rbac.authorization.k8s.io", "RoleBinding", &rb),
        vec![
            json!("rb"),
            json!("ClusterRole/view"),
            json!("5m"),
            json!("alice, bob"),
            json!(""),
            json!("ns/sa"),
        ]
    );

    let ep = json!({"metadata": meta("svc"), "subsets": [{"addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}, {"ip": "fd00::1"}, {"ip": "10.0.0.4"}],
        "ports": [{"port": 8080}]}]});
    assert_eq!(
        row("", "Endpoints", &ep)[1],
        "10.0.0.1:8080,10.0.0.2:8080,[fd00::1]:8080 + 1 more..."
    );
    assert_eq!(
        row("", "Endpoints", &json!({"metadata": meta("e")}))[1],
        "<none>"
    );

    let ns = json!({"metadata": meta("kube-system"), "status": {"phase": "Active"}});
    assert_eq!(
        row("", "Namespace", &ns),
        vec![json!("kube-system"), json!("Active"), json!("5m")]
    );

    let cm =
        json!({"metadata": meta("cfg"), "data": {"a": "1", "b": "2"}, "binaryData": {"c": "AA=="}});
    assert_eq!(row("", "ConfigMap", &cm)[1], 3);

    let rq = json!({"metadata": meta("q"), "status": {"hard": {"requests.cpu": "2", "limits.memory": "4Gi", "pods": "10"},
        "used": {"requests.cpu": "500m", "pods": "3"}}});
    let r = row("", "ResourceQuota", &rq);
    assert_eq!(
        (&r[1], &r[2]),
        (
            &json!("pods: 3/10, requests.cpu: 500m/2"),
            &json!("limits.memory: 0/4Gi")
        )
    );

    let cr = json!({"metadata": {"name": "ds-7f", "ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "ds", "controller": true}]},
        "revision": 2});
    assert_eq!(
        &row("apps", "ControllerRevision", &cr)[..3],
        &[json!("ds-7f"), json!("daemonset.apps/ds"), json!(2)]
    );

    let ing = json!({"metadata": meta("ing"), "spec": {"ingressClassName": "nginx", "tls": [{}],
        "rules": [{"host": "a.com"}, {"host": ""}, {"host": "b.com"}, {"host": "c.com"}, {"host": "d.com"}]}});
    let r = row("networking.k8s.io", "Ingress", &ing);
    assert_eq!(
        &r[1..5],
        &[
            json!("nginx"),
            json!("a.com,b.com,c.com + 2 more..."),
            json!(""),
            json!("80, 443")
        ]
    );

    let csr = json!({"metadata": meta("c"), "spec": {"signerName": "kubernetes.io/kube-apiserver-client", "username": "alice", "expirationSeconds": 86400},
        "status": {"conditions": [{"type": "Approved"}], "certificate": "LS0t"}});
    assert_eq!(
        &row("certificates.k8s.io", "CertificateSigningRequest", &csr)[2..],
        &[
            json!("kubernetes.io/kube-apiserver-client"),
            json!("alice"),
            json!("24h"),
            json!("Approved,Issued"),
        ]
    );

    let pdb = json!({"metadata": meta("pdb"), "spec": {"minAvailable": "50%"}, "status": {"disruptionsAllowed": 1}});
    assert_eq!(
        &row("policy", "PodDisruptionBudget", &pdb)[1..4],
        &[json!("50%"), json!("N/A"), json!(1)]
    );
}

#[test]
fn selector_formats() {
    use super::util::{format_labels, format_selector};
    assert_eq!(format_selector(None), "<none>");
    assert_eq!(format_selector(Some(&json!({}))), "<none>");
    let sel = json!({"matchExpressions": [{"key": "b", "operator": "DoesNotExist"}, {"key": "a", "operator": "Exists"},
        {"key": "c", "operator": "NotIn", "values": ["z", "y"]}]});
    assert_eq!(format_selector(Some(&sel)), "a,!b,c notin (y,z)");
    assert_eq!(
        format_selector(Some(
            &json!({"matchExpressions": [{"key": "a", "operator": "Bogus"}]})
        )),
        "<error>"
    );
    assert_eq!(format_labels(Some(&json!({"z": "1", "a": "2"}))), "a=2,z=1");
    assert_eq!(format_labels(None), "<none>");
}
