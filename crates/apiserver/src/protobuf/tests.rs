use serde_json::{json, Value};

use super::schema::Schema;
use super::{decode, go_duration, Decoder, MAGIC};

/// A tiny protobuf encoder for building test messages.
#[derive(Clone, Default)]
struct Msg(Vec<u8>);

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

impl Msg {
    fn new() -> Msg {
        Msg(Vec::new())
    }
    fn key(mut self, n: u32, wire: u8) -> Msg {
        put_varint(&mut self.0, (u64::from(n) << 3) | u64::from(wire));
        self
    }
    fn varint(self, n: u32, v: u64) -> Msg {
        let mut m = self.key(n, 0);
        put_varint(&mut m.0, v);
        m
    }
    fn int(self, n: u32, v: i64) -> Msg {
        self.varint(n, v as u64)
    }
    fn bool(self, n: u32, v: bool) -> Msg {
        self.varint(n, v as u64)
    }
    fn bytes(self, n: u32, b: &[u8]) -> Msg {
        let mut m = self.key(n, 2);
        put_varint(&mut m.0, b.len() as u64);
        m.0.extend_from_slice(b);
        m
    }
    fn str(self, n: u32, s: &str) -> Msg {
        self.bytes(n, s.as_bytes())
    }
    fn msg(self, n: u32, m: Msg) -> Msg {
        self.bytes(n, &m.0)
    }
    fn double(self, n: u32, f: f64) -> Msg {
        let mut m = self.key(n, 1);
        m.0.extend_from_slice(&f.to_bits().to_le_bytes());
        m
    }
    /// A map<string, string> entry.
    fn map_str(self, n: u32, k: &str, v: &str) -> Msg {
        self.msg(n, Msg::new().str(1, k).str(2, v))
    }
    fn map_bytes(self, n: u32, k: &str, v: &[u8]) -> Msg {
        self.msg(n, Msg::new().str(1, k).bytes(2, v))
    }
    fn map_msg(self, n: u32, k: &str, v: Msg) -> Msg {
        self.msg(n, Msg::new().str(1, k).msg(2, v))
    }
}

/// The envelope as Go writes it: magic, then runtime.Unknown.
fn envelope(api_version: &str, kind: &str, obj: Msg) -> Vec<u8> {
    let unknown = Msg::new()
        .msg(1, Msg::new().str(1, api_version).str(2, kind))
        .bytes(2, &obj.0)
        .str(3, "")
        .str(4, "");
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&unknown.0);
    out
}

/// ObjectMeta as Go's generated marshaler writes it: every non-pointer field,
/// even when empty, then `labels`.
fn object_meta(name: &str, namespace: &str, labels: &[(&str, &str)], created: Msg) -> Msg {
    let mut m = Msg::new()
        .str(1, name)
        .str(2, "")
        .str(3, namespace)
        .str(4, "")
        .str(5, "")
        .str(6, "")
        .int(7, 0)
        .msg(8, created);
    for (k, v) in labels {
        m = m.map_str(11, k, v);
    }
    m
}

fn quantity(s: &str) -> Msg {
    Msg::new().str(1, s)
}

/// Decodes `data` as the message type `name` (e.g. "corev1.PodSpec").
fn decode_as(name: &str, data: &Msg) -> Value {
    let schema = Schema::get();
    let t = schema.message(name).unwrap_or_else(|| panic!("no message {name}"));
    Decoder { schema }.message(t, &data.0, 0).unwrap()
}

fn keys(v: &Value) -> Vec<&str> {
    v.as_object().unwrap().keys().map(String::as_str).collect()
}

#[test]
fn schema_loads() {
    let s = Schema::get();
    for name in [
        "corev1.Pod",
        "appsv1.Deployment",
        "batchv1.Job",
        "autoscalingv2.HorizontalPodAutoscaler",
        "rbacv1.ClusterRole",
        "networkingv1.Ingress",
        "policyv1.Eviction",
        "storagev1.StorageClass",
        "coordinationv1.Lease",
        "discoveryv1.EndpointSlice",
        "eventsv1.Event",
        "schedulingv1.PriorityClass",
        "nodev1.RuntimeClass",
        "admissionregistrationv1.ValidatingWebhookConfiguration",
        "certificatesv1.CertificateSigningRequest",
        "flowcontrolv1.FlowSchema",
        "authenticationv1.TokenReview",
        "authorizationv1.SubjectAccessReview",
        "apiextensionsv1.CustomResourceDefinition",
        "metav1.DeleteOptions",
        "runtime.RawExtension",
    ] {
        assert!(s.message(name).is_some(), "{name}");
    }
    assert_eq!(s.kind("apps/v1", "Deployment"), s.message("appsv1.Deployment"));
    assert_eq!(s.kind("v1", "Pod"), s.message("corev1.Pod"));
    assert_eq!(s.kind("policy/v1", "DeleteOptions"), s.message("metav1.DeleteOptions"));
    assert_eq!(s.kind("meta.k8s.io/v1", "DeleteOptions"), s.message("metav1.DeleteOptions"));
    assert_eq!(s.kind("apps/v1", "Nope"), None);
}

#[test]
fn configmap_with_data() {
    let cm = Msg::new()
        .msg(1, object_meta("cm1", "default", &[], Msg::new()))
        .map_str(2, "a", "1")
        .map_str(2, "b", "")
        .map_bytes(3, "bin", &[0, 1, 2, 255]);
    let v = decode(&envelope("v1", "ConfigMap", cm)).unwrap();
    assert_eq!(
        v,
        json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "cm1", "namespace": "default", "creationTimestamp": null},
            "data": {"a": "1", "b": ""},
            "binaryData": {"bin": "AAEC/w=="},
        })
    );
    assert_eq!(keys(&v), ["apiVersion", "kind", "metadata", "data", "binaryData"]);
    assert_eq!(keys(&v["metadata"]), ["name", "namespace", "creationTimestamp"]);
}

#[test]
fn configmap_pointer_zero_is_kept() {
    // `immutable` is a *bool: present on the wire means set, even to false.
    let cm = Msg::new().msg(1, object_meta("cm", "", &[], Msg::new())).bool(4, false);
    let v = decode(&envelope("v1", "ConfigMap", cm)).unwrap();
    assert_eq!(v["immutable"], json!(false));
    assert_eq!(v["metadata"], json!({"name": "cm", "creationTimestamp": null}));
}

#[test]
fn deployment_with_template() {
    let labels = [("app", "web")];
    let port = Msg::new().str(1, "").int(2, 0).int(3, 80).str(4, "TCP").str(5, "");
    let resources = Msg::new()
        .map_msg(1, "cpu", quantity("500m"))
        .map_msg(1, "memory", quantity("128Mi"))
        .map_msg(2, "cpu", quantity("100m"));
    let container = Msg::new()
        .str(1, "nginx")
        .str(2, "nginx:1.27")
        .str(3, "nginx")
        .str(3, "-g")
        .str(5, "")
        .msg(6, port)
        .msg(8, resources)
        .str(13, "")
        .str(14, "")
        .bool(16, false)
        .bool(17, false)
        .bool(18, false)
        .str(20, "");
    let pod_spec = Msg::new()
        .msg(2, container)
        .str(3, "")
        .str(6, "")
        .str(8, "")
        .str(9, "")
        .str(10, "")
        .bool(11, false)
        .bool(12, false)
        .bool(13, false)
        .str(16, "")
        .str(17, "")
        .str(19, "")
        .str(24, "");
    let template = Msg::new().msg(1, object_meta("", "", &labels, Msg::new())).msg(2, pod_spec);
    let selector = Msg::new().map_str(1, "app", "web");
    let spec = Msg::new()
        .int(1, 3)
        .msg(2, selector)
        .msg(3, template)
        .msg(4, Msg::new().str(1, ""))
        .int(5, 0)
        .bool(7, false);
    let status = Msg::new().int(1, 0).int(2, 0).int(3, 0).int(4, 0).int(5, 0);
    let dep = Msg::new().msg(1, object_meta("web", "prod", &labels, Msg::new())).msg(2, spec).msg(3, status);
    let v = decode(&envelope("apps/v1", "Deployment", dep)).unwrap();
    assert_eq!(
        v,
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {
                "name": "web",
                "namespace": "prod",
                "creationTimestamp": null,
                "labels": {"app": "web"}
            },
            "spec": {
                "replicas": 3,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"creationTimestamp": null, "labels": {"app": "web"}},
                    "spec": {
                        "containers": [{
                            "name": "nginx",
                            "image": "nginx:1.27",
                            "command": ["nginx", "-g"],
                            "ports": [{"containerPort": 80, "protocol": "TCP"}],
                            "resources": {
                                "limits": {"cpu": "500m", "memory": "128Mi"},
                                "requests": {"cpu": "100m"}
                            }
                        }]
                    }
                },
                "strategy": {}
            },
            "status": {}
        })
    );
    assert_eq!(keys(&v), ["apiVersion", "kind", "metadata", "spec", "status"]);
    assert_eq!(keys(&v["spec"]), ["replicas", "selector", "template", "strategy"]);
}

#[test]
fn deployment_zero_replicas_is_kept() {
    let spec = Msg::new().int(1, 0).msg(4, Msg::new());
    let dep = Msg::new().msg(2, spec);
    let v = decode(&envelope("apps/v1", "Deployment", dep)).unwrap();
    assert_eq!(v, json!({"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"replicas": 0, "strategy": {}}}));
}

#[test]
fn secret_with_bytes_data() {
    let secret = Msg::new()
        .msg(1, object_meta("s", "default", &[], Msg::new()))
        .map_bytes(2, "password", b"s3cr\x00et")
        .map_bytes(2, "empty", b"")
        .str(3, "Opaque");
    let v = decode(&envelope("v1", "Secret", secret)).unwrap();
    assert_eq!(
        v,
        json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "s", "namespace": "default", "creationTimestamp": null},
            "data": {"password": "czNjcgBldA==", "empty": ""},
            "type": "Opaque"
        })
    );
}

#[test]
fn service_with_int_or_string_target_port() {
    let int_port = Msg::new().int(1, 0).int(2, 8080).str(3, "");
    let str_port = Msg::new().int(1, 1).int(2, 0).str(3, "metrics");
    let p1 = Msg::new().str(1, "http").str(2, "TCP").int(3, 80).msg(4, int_port).int(5, 0);
    let p2 = Msg::new().str(1, "metrics").str(2, "TCP").int(3, 9090).msg(4, str_port).int(5, 0);
    let spec = Msg::new()
        .msg(1, p1)
        .msg(1, p2)
        .map_str(2, "app", "web")
        .str(3, "")
        .str(4, "ClusterIP")
        .str(7, "")
        .str(8, "")
        .str(10, "")
        .str(11, "")
        .int(12, 0)
        .bool(13, false);
    let status = Msg::new().msg(1, Msg::new());
    let svc = Msg::new().msg(1, object_meta("web", "", &[], Msg::new())).msg(2, spec).msg(3, status);
    let v = decode(&envelope("v1", "Service", svc)).unwrap();
    assert_eq!(
        v,
        json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web", "creationTimestamp": null},
            "spec": {
                "ports": [
                    {"name": "http", "protocol": "TCP", "port": 80, "targetPort": 8080},
                    {"name": "metrics", "protocol": "TCP", "port": 9090, "targetPort": "metrics"}
                ],
                "selector": {"app": "web"},
                "type": "ClusterIP"
            },
            "status": {"loadBalancer": {}}
        })
    );
}

#[test]
fn object_meta_timestamps_and_owners() {
    let secs = chrono::NaiveDate::from_ymd_opt(2024, 1, 2)
        .unwrap()
        .and_hms_opt(3, 4, 5)
        .unwrap()
        .and_utc()
        .timestamp();
    let owner = Msg::new()
        .str(1, "ReplicaSet")
        .str(3, "web-1")
        .str(4, "uid-1")
        .str(5, "apps/v1")
        .bool(6, true);
    let managed = Msg::new()
        .str(1, "kubectl")
        .str(2, "Update")
        .str(3, "v1")
        .msg(4, Msg::new().int(1, secs))
        .str(6, "FieldsV1")
        .msg(7, Msg::new().bytes(1, br#"{"f:data":{".":{}}}"#))
        .str(8, "");
    let meta = object_meta("m", "ns", &[("a", "b")], Msg::new().int(1, secs).int(2, 999))
        .int(7, 4)
        .msg(9, Msg::new().int(1, secs + 60))
        .int(10, 30)
        .map_str(12, "note", "x")
        .msg(13, owner)
        .str(14, "example.com/f1")
        .str(14, "example.com/f2")
        .msg(17, managed);
    let v = decode_as("metav1.ObjectMeta", &meta);
    assert_eq!(
        v,
        json!({
            "name": "m",
            "namespace": "ns",
            "generation": 4,
            "creationTimestamp": "2024-01-02T03:04:05Z",
            "deletionTimestamp": "2024-01-02T03:05:05Z",
            "deletionGracePeriodSeconds": 30,
            "labels": {"a": "b"},
            "annotations": {"note": "x"},
            "ownerReferences": [{
                "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-1", "uid": "uid-1", "controller": true
            }],
            "finalizers": ["example.com/f1", "example.com/f2"],
            "managedFields": [{
                "manager": "kubectl",
                "operation": "Update",
                "apiVersion": "v1",
                "time": "2024-01-02T03:04:05Z",
                "fieldsType": "FieldsV1",
                "fieldsV1": {"f:data": {".": {}}}
            }]
        })
    );
    // Go's zero time.Time, written explicitly, is null too.
    let zero = object_meta("z", "", &[], Msg::new().int(1, -62_135_596_800));
    assert_eq!(decode_as("metav1.ObjectMeta", &zero), json!({"name": "z", "creationTimestamp": null}));
}

#[test]
fn micro_time_and_inline_and_events() {
    let secs = 1_704_164_645; // 2024-01-02T03:04:05Z
    let regarding = Msg::new().str(1, "Pod").str(2, "default").str(3, "p").str(4, "").str(5, "v1").str(6, "").str(7, "");
    let ev = Msg::new()
        .msg(1, object_meta("e", "default", &[], Msg::new()))
        .msg(2, Msg::new().int(1, secs).int(2, 123_456_789))
        .str(4, "kubelet")
        .str(5, "")
        .str(6, "Pulling")
        .str(7, "Pulled")
        .msg(8, regarding)
        .str(10, "")
        .str(11, "Normal")
        .msg(12, Msg::new().str(1, "").str(2, ""))
        .msg(13, Msg::new())
        .msg(14, Msg::new())
        .int(15, 0);
    let v = decode(&envelope("events.k8s.io/v1", "Event", ev)).unwrap();
    assert_eq!(v["eventTime"], json!("2024-01-02T03:04:05.123456Z"));
    assert_eq!(v["regarding"], json!({"kind": "Pod", "namespace": "default", "name": "p", "apiVersion": "v1"}));
    assert_eq!(v["deprecatedFirstTimestamp"], Value::Null);
    assert!(v.as_object().unwrap().contains_key("deprecatedFirstTimestamp"));
    assert_eq!(v["deprecatedSource"], json!({}));
    assert!(v.get("deprecatedCount").is_none());
    assert!(v.get("note").is_none());

    let ev = Msg::new().msg(2, Msg::new().int(1, secs));
    let v = decode(&envelope("events.k8s.io/v1", "Event", ev)).unwrap();
    assert_eq!(v["eventTime"], json!("2024-01-02T03:04:05.000000Z"));
}

#[test]
fn inline_members_are_flattened() {
    let volume = Msg::new()
        .str(1, "cfg")
        .msg(2, Msg::new().msg(19, Msg::new().msg(1, Msg::new().str(1, "my-cm")).int(3, 0o644)));
    let http_get = Msg::new().str(1, "/healthz").msg(2, Msg::new().int(1, 1).str(3, "http")).str(3, "").str(4, "HTTP");
    let probe = Msg::new().msg(1, Msg::new().msg(2, http_get)).int(2, 5).int(3, 1).int(4, 10).int(5, 1).int(6, 3);
    let container = Msg::new().str(1, "c").msg(10, probe).msg(8, Msg::new());
    let spec = Msg::new().msg(1, volume).msg(2, container);
    assert_eq!(
        decode_as("corev1.PodSpec", &spec),
        json!({
            "volumes": [{"name": "cfg", "configMap": {"name": "my-cm", "defaultMode": 420}}],
            "containers": [{
                "name": "c",
                "resources": {},
                "livenessProbe": {
                    "httpGet": {"path": "/healthz", "port": "http", "scheme": "HTTP"},
                    "initialDelaySeconds": 5,
                    "timeoutSeconds": 1,
                    "periodSeconds": 10,
                    "successThreshold": 1,
                    "failureThreshold": 3
                }
            }]
        })
    );
}

#[test]
fn packed_and_unpacked_repeated_scalars() {
    // supplementalGroups: repeated int64, unpacked (as Go writes it) ...
    let unpacked = Msg::new().int(4, 1000).int(4, 2000).int(2, -1);
    assert_eq!(
        decode_as("corev1.PodSecurityContext", &unpacked),
        json!({"runAsUser": -1, "supplementalGroups": [1000, 2000]})
    );
    // ... and packed.
    let mut packed_body = Vec::new();
    for v in [1000u64, 2000, 3] {
        put_varint(&mut packed_body, v);
    }
    let packed = Msg::new().bytes(4, &packed_body).int(4, 7);
    assert_eq!(decode_as("corev1.PodSecurityContext", &packed), json!({"supplementalGroups": [1000, 2000, 3, 7]}));
}

#[test]
fn unknown_fields_are_skipped() {
    let cm = Msg::new()
        .msg(1, Msg::new().str(1, "x").str(999, "future"))
        .varint(77, 5)
        .double(78, 1.5)
        .map_str(2, "k", "v");
    let v = decode(&envelope("v1", "ConfigMap", cm)).unwrap();
    assert_eq!(v, json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"k": "v"}}));
}

#[test]
fn renamed_json_fields() {
    // authentication/v1 UserInfo.uid is `uID` in the proto, and extra is a list wrapper.
    let user = Msg::new()
        .str(1, "alice")
        .str(2, "u-1")
        .str(3, "devs")
        .map_msg(4, "scopes", Msg::new().str(1, "a").str(1, "b"))
        .map_msg(4, "none", Msg::new());
    assert_eq!(
        decode_as("authenticationv1.UserInfo", &user),
        json!({"username": "alice", "uid": "u-1", "groups": ["devs"], "extra": {"scopes": ["a", "b"], "none": []}})
    );
    // networking/v1 IngressClassParametersReference.apiGroup is `aPIGroup` in the proto.
    let r = Msg::new().str(1, "example.com").str(2, "Params").str(3, "p");
    assert_eq!(
        decode_as("networkingv1.IngressClassParametersReference", &r),
        json!({"apiGroup": "example.com", "kind": "Params", "name": "p"})
    );
}

#[test]
fn crd_schema_json_fields() {
    let replicas = Msg::new()
        .str(5, "integer")
        .msg(8, Msg::new().bytes(1, b"1"))
        .double(11, 1.0)
        .bool(12, false)
        .double(9, 2.5);
    let spec = Msg::new().str(5, "object").bool(38, true);
    let item = Msg::new().str(5, "string").msg(20, Msg::new().bytes(1, br#""a""#)).msg(20, Msg::new().bytes(1, br#""b""#));
    let list = Msg::new().str(5, "array").msg(24, Msg::new().msg(1, item)).str(42, "set");
    let schema = Msg::new()
        .str(1, "")
        .str(2, "")
        .str(3, "#/definitions/x")
        .str(5, "object")
        .map_msg(29, "replicas", replicas)
        .map_msg(29, "spec", spec)
        .map_msg(29, "list", list)
        .msg(30, Msg::new().bool(1, true))
        .map_msg(32, "a", Msg::new().str(2, "b").str(2, "c"))
        .str(23, "spec");
    let v = decode_as("apiextensionsv1.JSONSchemaProps", &schema);
    assert_eq!(
        v,
        json!({
            "$ref": "#/definitions/x",
            "type": "object",
            "required": ["spec"],
            "properties": {
                "replicas": {"type": "integer", "default": 1, "maximum": 2.5, "minimum": 1},
                "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                "list": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}, "x-kubernetes-list-type": "set"}
            },
            "additionalProperties": true,
            "dependencies": {"a": ["b", "c"]}
        })
    );
    let or_bool = Msg::new().bool(1, false).msg(2, Msg::new().str(5, "string"));
    assert_eq!(decode_as("apiextensionsv1.JSONSchemaPropsOrBool", &or_bool), json!({"type": "string"}));
    assert_eq!(decode_as("apiextensionsv1.JSONSchemaPropsOrBool", &Msg::new().bool(1, false)), json!(false));
    let or_array = Msg::new().msg(2, Msg::new().str(5, "string")).msg(2, Msg::new().str(5, "integer"));
    assert_eq!(
        decode_as("apiextensionsv1.JSONSchemaPropsOrArray", &or_array),
        json!([{"type": "string"}, {"type": "integer"}])
    );
}

#[test]
fn raw_extension_and_embedded_objects() {
    let rev = Msg::new()
        .msg(1, object_meta("r", "", &[], Msg::new()))
        .msg(2, Msg::new().bytes(1, br#"{"spec":{"x":1}}"#))
        .int(3, 2);
    let v = decode(&envelope("apps/v1", "ControllerRevision", rev)).unwrap();
    assert_eq!(v["data"], json!({"spec": {"x": 1}}));
    assert_eq!(v["revision"], json!(2));

    // A RawExtension holding a protobuf-encoded object.
    let inner = envelope("v1", "ConfigMap", Msg::new().map_str(2, "k", "v"));
    let rev = Msg::new().msg(2, Msg::new().bytes(1, &inner)).int(3, 0);
    let v = decode(&envelope("apps/v1", "ControllerRevision", rev)).unwrap();
    assert_eq!(v["data"], json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"k": "v"}}));
    assert_eq!(v["revision"], json!(0));
}

#[test]
fn eviction_and_delete_options() {
    let opts = Msg::new().int(1, 0).str(4, "Foreground").str(5, "All");
    let ev = Msg::new()
        .msg(1, object_meta("p", "default", &[], Msg::new()))
        .msg(2, opts.clone());
    let v = decode(&envelope("policy/v1", "Eviction", ev)).unwrap();
    assert_eq!(
        v,
        json!({
            "apiVersion": "policy/v1",
            "kind": "Eviction",
            "metadata": {"name": "p", "namespace": "default", "creationTimestamp": null},
            "deleteOptions": {"gracePeriodSeconds": 0, "propagationPolicy": "Foreground", "dryRun": ["All"]}
        })
    );
    let v = decode(&envelope("v1", "DeleteOptions", opts)).unwrap();
    assert_eq!(v["kind"], "DeleteOptions");
    assert_eq!(v["gracePeriodSeconds"], 0);
}

#[test]
fn durations() {
    const S: i64 = 1_000_000_000;
    assert_eq!(go_duration(0), "0s");
    assert_eq!(go_duration(90 * S), "1m30s");
    assert_eq!(go_duration(3600 * S), "1h0m0s");
    assert_eq!(go_duration(3 * S / 2), "1.5s");
    assert_eq!(go_duration(1_500_000), "1.5ms");
    assert_eq!(go_duration(1_000), "1µs");
    assert_eq!(go_duration(100), "100ns");
    assert_eq!(go_duration(-2 * S), "-2s");
    assert_eq!(go_duration(26 * 3600 * S + 184 * S + 5_000_000), "26h3m4.005s");
    let d = Msg::new().int(1, 90 * S);
    assert_eq!(decode_as("metav1.Duration", &d), json!("1m30s"));
}

#[test]
fn errors() {
    assert!(decode(b"{}").is_err());
    assert!(decode(b"k8s\0").is_err()); // no apiVersion/kind
    assert!(decode(&envelope("v1", "NoSuchKind", Msg::new())).is_err());
    assert!(decode(&envelope("example.com/v1", "Widget", Msg::new())).is_err());
    // Truncated object message.
    let mut obj = Msg::new().map_str(2, "k", "v");
    obj.0.pop();
    assert!(decode(&envelope("v1", "ConfigMap", obj)).is_err());
    let mut body = envelope("v1", "ConfigMap", Msg::new());
    body.truncate(body.len() - 1);
    assert!(decode(&body).is_err());
    // A string field sent as a varint.
    assert!(decode(&envelope("v1", "ConfigMap", Msg::new().msg(1, Msg::new().int(1, 5)))).is_err());
    // Deep nesting is refused rather than overflowing the stack.
    let mut m = Msg::new().str(5, "object");
    for _ in 0..300 {
        m = Msg::new().msg(28, m);
    }
    let crd = Schema::get().message("apiextensionsv1.JSONSchemaProps").unwrap();
    assert!(Decoder { schema: Schema::get() }.message(crd, &m.0, 0).is_err());
}

#[test]
fn empty_object_body() {
    let v = decode(&envelope("v1", "Namespace", Msg::new())).unwrap();
    assert_eq!(v, json!({"apiVersion": "v1", "kind": "Namespace"}));
}

/// Key order of every object, apart from the envelope's apiVersion and kind.
fn key_order(v: &Value, path: &str, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            let ks: Vec<&str> =
                m.keys().map(String::as_str).filter(|k| !path.is_empty() || !matches!(*k, "apiVersion" | "kind")).collect();
            out.push(format!("{path}: {}", ks.join(",")));
            for (k, v) in m {
                key_order(v, &format!("{path}/{k}"), out);
            }
        }
        Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                key_order(v, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// Bodies that kubectl v1.32 sent for `kubectl create ...` (see testdata/README.md),
/// against the JSON that `kubectl create ... --dry-run=client -o json` prints for
/// the same object (less the `null`s Go prints for absent nil fields).
#[test]
fn real_kubectl_bodies() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/protobuf/testdata/kubectl");
    let mut bodies: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pb"))
        .collect();
    bodies.sort();
    assert!(bodies.len() >= 19, "{}", bodies.len());
    for pb in bodies {
        let got = decode(&std::fs::read(&pb).unwrap()).unwrap_or_else(|e| panic!("{}: {e}", pb.display()));
        let want: Value = serde_json::from_slice(&std::fs::read(pb.with_extension("json")).unwrap()).unwrap();
        assert_eq!(got, want, "{}", pb.display());
        assert_eq!(keys(&got)[..2], ["apiVersion", "kind"]);
        let (mut a, mut b) = (Vec::new(), Vec::new());
        key_order(&got, "", &mut a);
        key_order(&want, "", &mut b);
        assert_eq!(a, b, "{}", pb.display());
    }
}
