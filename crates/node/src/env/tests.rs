use std::collections::BTreeMap;
use std::net::IpAddr;

use k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapEnvSource, ConfigMapKeySelector, ConfigMapVolumeSource, EnvVarSource,
    LocalObjectReference, ObjectFieldSelector, PodSpec, ProjectedVolumeSource, Secret,
    SecretKeySelector, SecretVolumeSource, ServicePort, ServiceSpec, VolumeProjection,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::ByteString;

use super::*;

fn var(name: &str, value: &str) -> EnvVar {
    EnvVar { name: name.into(), value: Some(value.into()), ..Default::default() }
}

fn var_from(name: &str, src: EnvVarSource) -> EnvVar {
    EnvVar { name: name.into(), value_from: Some(src), ..Default::default() }
}

fn pod(links: Option<bool>) -> Pod {
    Pod {
        metadata: ObjectMeta {
            name: Some("web".into()),
            namespace: Some("default".into()),
            uid: Some("uid-1".into()),
            labels: Some(BTreeMap::from([
                ("app".to_string(), "web".to_string()),
                ("tier".to_string(), "a\"b".to_string()),
            ])),
            ..Default::default()
        },
        spec: Some(PodSpec {
            enable_service_links: links,
            node_name: Some("node-1".into()),
            service_account_name: Some("default".into()),
            containers: vec![Container { name: "c".into(), ..Default::default() }],
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn service(ns: &str, name: &str, ip: &str, ports: &[(Option<&str>, i32, Option<&str>)]) -> Service {
    Service {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some(ns.into()),
            ..Default::default()
        },
        spec: Some(ServiceSpec {
            cluster_ip: Some(ip.into()),
            ports: Some(
                ports
                    .iter()
                    .map(|(n, p, proto)| ServicePort {
                        name: n.map(str::to_string),
                        port: *p,
                        protocol: proto.map(str::to_string),
                        ..Default::default()
                    })
                    .collect(),
            ),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn refs() -> PodRefs {
    let mut r = PodRefs::default();
    r.config_maps.insert(
        "cfg".into(),
        ConfigMap {
            data: Some(BTreeMap::from([
                ("k".to_string(), "v".to_string()),
                ("1bad=key".to_string(), "x".to_string()),
                ("mode".to_string(), "prod".to_string()),
            ])),
            ..Default::default()
        },
    );
    r.secrets.insert(
        "s".into(),
        Secret {
            data: Some(BTreeMap::from([("password".to_string(), ByteString(b"hunter2".to_vec()))])),
            ..Default::default()
        },
    );
    r.services = vec![
        service("default", "kubernetes", "10.43.0.1", &[(Some("https"), 443, Some("TCP"))]),
        service("default", "my-db", "10.43.0.9", &[(None, 5432, None), (Some("metrics"), 9187, Some("TCP"))]),
        service("default", "headless", "None", &[(None, 80, None)]),
    ];
    r
}

fn lookup<'a>(env: &'a [(String, String)], k: &str) -> Option<&'a str> {
    env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
}

#[test]
fn expansion_follows_upstream_cases() {
    let env: Vec<(String, String)> = [
        ("VAR_A", "A"),
        ("VAR_B", "B"),
        ("VAR_C", "C"),
        ("VAR_REF", "$(VAR_A)"),
        ("VAR_EMPTY", ""),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let cases = [
        ("$(VAR_A)", "A"),
        ("$(VAR_A)-$(VAR_A)", "A-A"),
        ("___$(VAR_B)___", "___B___"),
        ("$(VAR_A)_$(VAR_B)_$(VAR_C)", "A_B_C"),
        ("$$(VAR_B)_$(VAR_A)", "$(VAR_B)_A"),
        ("$$(VAR_A)_$$(VAR_B)", "$(VAR_A)_$(VAR_B)"),
        ("f000-$$VAR_A", "f000-$VAR_A"),
        ("foo\\$(VAR_C)bar", "foo\\Cbar"),
        ("$(VAR_A$(VAR_B))", "$(VAR_A$(VAR_B))"),
        ("$(VAR_A$(VAR_B)", "$(VAR_A$(VAR_B)"),
        ("$(VAR_REF)", "$(VAR_A)"),
        ("foo$(VAR_EMPTY)bar", "foobar"),
        ("foo$(VAR_Awhoops!", "foo$(VAR_Awhoops!"),
        ("$?_boo_$!", "$?_boo_$!"),
        ("$VAR_A", "$VAR_A"),
        ("$(VAR_DNE)", "$(VAR_DNE)"),
        ("$$$$$$(BIG_MONEY)", "$$$(BIG_MONEY)"),
        ("$$$$$$$(GOOD_ODDS)", "$$$$(GOOD_ODDS)"),
        ("$$$$$$$(VAR_A)", "$$$A"),
        ("${VAR_A}", "${VAR_A}"),
        ("$(VAR_B)_______$(A", "B_______$(A"),
        ("$(VAR_C)_______$(", "C_______$("),
        ("$(VAR_A)foobarzab$", "Afoobarzab$"),
        ("--$($($($($--", "--$($($($($--"),
        ("$($($($($--foo$(", "$($($($($--foo$("),
        ("$(foo$$var)", "$(foo$$var)"),
        ("\n", "\n"),
        ("héllo $(VAR_A) wörld", "héllo A wörld"),
    ];
    for (input, want) in cases {
        assert_eq!(expand(input, &env), want, "input {input:?}");
    }
}

#[test]
fn service_links_and_order() {
    let p = pod(None);
    let env = container_env(&p, &p.spec.as_ref().unwrap().containers[0], &refs(), &PodFacts::default())
        .unwrap();
    let names: Vec<&str> = env.iter().map(|(k, _)| k.as_str()).collect();
    // kubernetes first (sorted by service name), headless skipped.
    assert_eq!(names[0], "KUBERNETES_SERVICE_HOST");
    assert_eq!(lookup(&env, "KUBERNETES_SERVICE_PORT"), Some("443"));
    assert_eq!(lookup(&env, "KUBERNETES_SERVICE_PORT_HTTPS"), Some("443"));
    assert_eq!(lookup(&env, "KUBERNETES_PORT"), Some("tcp://10.43.0.1:443"));
    assert_eq!(lookup(&env, "KUBERNETES_PORT_443_TCP"), Some("tcp://10.43.0.1:443"));
    assert_eq!(lookup(&env, "KUBERNETES_PORT_443_TCP_PROTO"), Some("tcp"));
    assert_eq!(lookup(&env, "KUBERNETES_PORT_443_TCP_PORT"), Some("443"));
    assert_eq!(lookup(&env, "KUBERNETES_PORT_443_TCP_ADDR"), Some("10.43.0.1"));
    assert_eq!(lookup(&env, "MY_DB_SERVICE_HOST"), Some("10.43.0.9"));
    assert_eq!(lookup(&env, "MY_DB_SERVICE_PORT"), Some("5432"));
    assert_eq!(lookup(&env, "MY_DB_SERVICE_PORT_METRICS"), Some("9187"));
    assert_eq!(lookup(&env, "MY_DB_PORT_9187_TCP"), Some("tcp://10.43.0.9:9187"));
    assert!(!names.iter().any(|n| n.starts_with("HEADLESS")));

    // enableServiceLinks: false keeps only the master service.
    let p = pod(Some(false));
    let env = container_env(&p, &p.spec.as_ref().unwrap().containers[0], &refs(), &PodFacts::default())
        .unwrap();
    assert!(lookup(&env, "KUBERNETES_SERVICE_HOST").is_some());
    assert!(lookup(&env, "MY_DB_SERVICE_HOST").is_none());
}

#[test]
fn env_from_env_and_value_from() {
    let p = pod(Some(false));
    let c = Container {
        name: "c".into(),
        env_from: Some(vec![
            EnvFromSource {
                config_map_ref: Some(ConfigMapEnvSource { name: "cfg".into(), optional: None }),
                prefix: Some("CFG_".into()),
                ..Default::default()
            },
            EnvFromSource {
                config_map_ref: Some(ConfigMapEnvSource { name: "gone".into(), optional: Some(true) }),
                ..Default::default()
            },
        ]),
        env: Some(vec![
            var("A", "a"),
            var("B", "$(A)-$(CFG_k)-$(NOPE)-$$(A)"),
            var("CFG_mode", "override"),
            var_from(
                "PW",
                EnvVarSource {
                    secret_key_ref: Some(SecretKeySelector {
                        name: "s".into(),
                        key: "password".into(),
                        optional: None,
                    }),
                    ..Default::default()
                },
            ),
            var_from(
                "OPT",
                EnvVarSource {
                    config_map_key_ref: Some(ConfigMapKeySelector {
                        name: "cfg".into(),
                        key: "missing".into(),
                        optional: Some(true),
                    }),
                    ..Default::default()
                },
            ),
            var_from("NAME", field("metadata.name")),
            var_from("NS", field("metadata.namespace")),
            var_from("UID", field("metadata.uid")),
            var_from("APP", field("metadata.labels['app']")),
            var_from("LABELS", field("metadata.labels")),
            var_from("NODE", field("spec.nodeName")),
            var_from("SA", field("spec.serviceAccountName")),
            var_from("HOST_IP", field("status.hostIP")),
            var_from("POD_IP", field("status.podIP")),
            var_from("POD_IPS", field("status.podIPs")),
        ]),
        ..Default::default()
    };
    let facts = PodFacts {
        node_name: "node-1".into(),
        host_ip: Some("192.168.1.5".parse::<IpAddr>().unwrap()),
        pod_ips: vec!["10.42.0.5".parse().unwrap(), "fd00::5".parse().unwrap()],
        ..Default::default()
    };
    let env = container_env(&p, &c, &refs(), &facts).unwrap();
    assert_eq!(lookup(&env, "CFG_k"), Some("v"));
    assert_eq!(lookup(&env, "CFG_1bad=key"), None);
    assert_eq!(lookup(&env, "CFG_mode"), Some("override"));
    assert_eq!(lookup(&env, "B"), Some("a-v-$(NOPE)-$(A)"));
    assert_eq!(lookup(&env, "PW"), Some("hunter2"));
    assert_eq!(lookup(&env, "OPT"), None);
    assert_eq!(lookup(&env, "NAME"), Some("web"));
    assert_eq!(lookup(&env, "NS"), Some("default"));
    assert_eq!(lookup(&env, "UID"), Some("uid-1"));
    assert_eq!(lookup(&env, "APP"), Some("web"));
    assert_eq!(lookup(&env, "LABELS"), Some("app=\"web\"\ntier=\"a\\\"b\""));
    assert_eq!(lookup(&env, "NODE"), Some("node-1"));
    assert_eq!(lookup(&env, "SA"), Some("default"));
    assert_eq!(lookup(&env, "HOST_IP"), Some("192.168.1.5"));
    assert_eq!(lookup(&env, "POD_IP"), Some("10.42.0.5"));
    assert_eq!(lookup(&env, "POD_IPS"), Some("10.42.0.5,fd00::5"));
    // envFrom keys come before env, and CFG_mode keeps its envFrom position.
    let pos = |k: &str| env.iter().position(|(n, _)| n == k).unwrap();
    assert!(pos("CFG_mode") < pos("A"));
    assert!(pos("KUBERNETES_SERVICE_HOST") < pos("CFG_k"));
}

fn field(path: &str) -> EnvVarSource {
    EnvVarSource {
        field_ref: Some(ObjectFieldSelector { api_version: Some("v1".into()), field_path: path.into() }),
        ..Default::default()
    }
}

#[test]
fn errors_carry_upstream_text() {
    let p = pod(None);
    let with_env = |e: EnvVar| Container { name: "c".into(), env: Some(vec![e]), ..Default::default() };
    let err = |c: Container| container_env(&p, &c, &refs(), &PodFacts::default()).unwrap_err().to_string();
    let cm_key = |name: &str, key: &str| EnvVarSource {
        config_map_key_ref: Some(ConfigMapKeySelector { name: name.into(), key: key.into(), optional: None }),
        ..Default::default()
    };
    let secret_key = |name: &str, key: &str| EnvVarSource {
        secret_key_ref: Some(SecretKeySelector { name: name.into(), key: key.into(), optional: None }),
        ..Default::default()
    };
    assert_eq!(err(with_env(var_from("X", cm_key("nope", "k")))), "configmap \"nope\" not found");
    assert_eq!(
        err(with_env(var_from("X", cm_key("cfg", "nokey")))),
        "couldn't find key nokey in ConfigMap default/cfg"
    );
    assert_eq!(err(with_env(var_from("X", secret_key("nope", "k")))), "secret \"nope\" not found");
    assert_eq!(
        err(with_env(var_from("X", secret_key("s", "k")))),
        "couldn't find key k in Secret default/s"
    );
    assert_eq!(err(with_env(var_from("X", field("spec.bogus")))), "field label not supported: spec.bogus");
    let missing_from = Container {
        name: "c".into(),
        env_from: Some(vec![EnvFromSource {
            config_map_ref: Some(ConfigMapEnvSource { name: "gone".into(), optional: None }),
            ..Default::default()
        }]),
        ..Default::default()
    };
    assert_eq!(err(missing_from), "configmap \"gone\" not found");
}

#[test]
fn referenced_covers_env_volumes_and_pull_secrets() {
    let mut p = pod(None);
    let spec = p.spec.as_mut().unwrap();
    spec.init_containers = Some(vec![Container {
        name: "init".into(),
        env: Some(vec![var_from(
            "X",
            EnvVarSource {
                config_map_key_ref: Some(ConfigMapKeySelector {
                    name: "init-cm".into(),
                    key: "k".into(),
                    optional: Some(true),
                }),
                ..Default::default()
            },
        )]),
        ..Default::default()
    }]);
    spec.containers[0].env_from = Some(vec![EnvFromSource {
        secret_ref: Some(k8s_openapi::api::core::v1::SecretEnvSource { name: "env-secret".into(), optional: None }),
        ..Default::default()
    }]);
    spec.image_pull_secrets = Some(vec![LocalObjectReference { name: "regcred".into() }]);
    spec.volumes = Some(vec![
        Volume {
            name: "a".into(),
            config_map: Some(ConfigMapVolumeSource { name: "vol-cm".into(), ..Default::default() }),
            ..Default::default()
        },
        Volume {
            name: "b".into(),
            secret: Some(SecretVolumeSource { secret_name: Some("vol-secret".into()), ..Default::default() }),
            ..Default::default()
        },
        Volume {
            name: "c".into(),
            projected: Some(ProjectedVolumeSource {
                sources: Some(vec![
                    VolumeProjection {
                        config_map: Some(k8s_openapi::api::core::v1::ConfigMapProjection {
                            name: "proj-cm".into(),
                            ..Default::default()
                        }),
                        ..Default::default()
                    },
                    VolumeProjection {
                        secret: Some(k8s_openapi::api::core::v1::SecretProjection {
                            name: "proj-secret".into(),
                            ..Default::default()
                        }),
                        ..Default::default()
                    },
                ]),
                ..Default::default()
            }),
            ..Default::default()
        },
    ]);
    let (cms, secrets) = referenced(&p);
    assert_eq!(cms.into_iter().collect::<Vec<_>>(), ["init-cm", "proj-cm", "vol-cm"]);
    assert_eq!(
        secrets.into_iter().collect::<Vec<_>>(),
        ["env-secret", "proj-secret", "regcred", "vol-secret"]
    );
}
