use std::collections::BTreeMap;
use std::fs as stdfs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapProjection, ConfigMapVolumeSource, DownwardAPIVolumeFile,
    DownwardAPIVolumeSource, KeyToPath, ObjectFieldSelector, PodSecurityContext, PodSpec,
    ProjectedVolumeSource, ResourceFieldSelector, Secret, SecretProjection, SecretVolumeSource,
    ServiceAccountTokenProjection, VolumeMount, VolumeProjection,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::ByteString;

use super::*;

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

fn pod(volumes: Vec<Volume>) -> Pod {
    Pod {
        metadata: ObjectMeta {
            name: Some("web".into()),
            namespace: Some("default".into()),
            uid: Some("uid-1".into()),
            labels: Some(BTreeMap::from([("app".to_string(), "web".to_string())])),
            ..Default::default()
        },
        spec: Some(PodSpec {
            containers: vec![Container { name: "c".into(), ..Default::default() }],
            volumes: Some(volumes),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn cm_volume(name: &str, cm: &str, items: Option<Vec<KeyToPath>>, optional: Option<bool>) -> Volume {
    Volume {
        name: name.into(),
        config_map: Some(ConfigMapVolumeSource {
            name: cm.into(),
            items,
            optional,
            default_mode: Some(0o644),
        }),
        ..Default::default()
    }
}

fn refs_with_cm(data: &[(&str, &str)]) -> PodRefs {
    let mut r = PodRefs::default();
    r.config_maps.insert(
        "cfg".into(),
        ConfigMap {
            data: Some(data.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()),
            ..Default::default()
        },
    );
    r
}

fn data_target(dir: &Path) -> String {
    stdfs::read_link(dir.join("..data")).unwrap().to_string_lossy().into_owned()
}

fn mode(p: &Path) -> u32 {
    stdfs::metadata(p).unwrap().permissions().mode() & 0o7777
}

#[test]
fn config_map_atomic_layout_update_and_idempotence() {
    let tmp = tempfile::tempdir().unwrap();
    let p = pod(vec![cm_volume("cfg", "cfg", None, None)]);
    let facts = PodFacts::default();
    setup(tmp.path(), &p, &refs_with_cm(&[("a", "1"), ("b", "2")]), &facts).unwrap();
    let dir = tmp.path().join("volumes/kubernetes.io~configmap/cfg");
    let ts = data_target(&dir);
    assert!(ts.starts_with(".."), "{ts}");
    // `..YYYY_MM_DD_HH_MM_SS.nnnnnnnnn`
    assert_eq!(ts.len(), "..2026_11_23_18_25_38.123456789".len(), "{ts}");
    assert_eq!(stdfs::read_link(dir.join("a")).unwrap(), Path::new("..data/a"));
    assert_eq!(stdfs::read_to_string(dir.join("a")).unwrap(), "1");
    assert_eq!(mode(&dir.join(&ts).join("a")), 0o644);
    assert_eq!(mode(&dir), 0o777);

    // Unchanged: nothing rewritten.
    setup(tmp.path(), &p, &refs_with_cm(&[("a", "1"), ("b", "2")]), &facts).unwrap();
    assert_eq!(data_target(&dir), ts);

    // Changed: new timestamped dir, old one gone, removed key's link gone.
    setup(tmp.path(), &p, &refs_with_cm(&[("a", "10")]), &facts).unwrap();
    let ts2 = data_target(&dir);
    assert_ne!(ts2, ts);
    assert!(!dir.join(&ts).exists());
    assert_eq!(stdfs::read_to_string(dir.join("a")).unwrap(), "10");
    assert!(stdfs::symlink_metadata(dir.join("b")).is_err());
    let names: Vec<String> = stdfs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 3, "{names:?}"); // ..data, ..<ts>, a
}

#[test]
fn config_map_items_modes_and_missing() {
    let tmp = tempfile::tempdir().unwrap();
    let items = vec![KeyToPath { key: "a".into(), path: "sub/dir/file.conf".into(), mode: Some(0o600) }];
    let p = pod(vec![cm_volume("cfg", "cfg", Some(items.clone()), None)]);
    setup(tmp.path(), &p, &refs_with_cm(&[("a", "1"), ("b", "2")]), &PodFacts::default()).unwrap();
    let dir = tmp.path().join("volumes/kubernetes.io~configmap/cfg");
    assert_eq!(stdfs::read_link(dir.join("sub")).unwrap(), Path::new("..data/sub"));
    assert_eq!(stdfs::read_to_string(dir.join("sub/dir/file.conf")).unwrap(), "1");
    assert_eq!(mode(&dir.join("sub/dir/file.conf")), 0o600);
    assert!(stdfs::symlink_metadata(dir.join("b")).is_err());

    // Missing key.
    let bad = vec![KeyToPath { key: "zz".into(), path: "x".into(), mode: None }];
    let p = pod(vec![cm_volume("cfg", "cfg", Some(bad), None)]);
    let err = setup(tmp.path(), &p, &refs_with_cm(&[("a", "1")]), &PodFacts::default()).unwrap_err();
    assert_eq!(err.message(), "configmap references non-existent config key: zz");

    // Missing ConfigMap: upstream text; FailedMount event text as Display.
    let p = pod(vec![cm_volume("other", "nope", None, None)]);
    let err = setup(tmp.path(), &p, &PodRefs::default(), &PodFacts::default()).unwrap_err();
    assert_eq!(err.message(), "configmap \"nope\" not found");
    assert_eq!(
        err.to_string(),
        "MountVolume.SetUp failed for volume \"other\" : configmap \"nope\" not found"
    );

    // Optional: an empty volume.
    let p = pod(vec![cm_volume("opt", "nope", None, Some(true))]);
    setup(tmp.path(), &p, &PodRefs::default(), &PodFacts::default()).unwrap();
    assert!(tmp.path().join("volumes/kubernetes.io~configmap/opt/..data").exists());
}

#[test]
fn secret_on_tmpfs_with_fs_group() {
    if !is_root() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let mut p = pod(vec![Volume {
        name: "creds".into(),
        secret: Some(SecretVolumeSource {
            secret_name: Some("s".into()),
            default_mode: Some(0o400),
            ..Default::default()
        }),
        ..Default::default()
    }]);
    p.spec.as_mut().unwrap().security_context = Some(PodSecurityContext { fs_group: Some(2345), ..Default::default() });
    let mut refs = PodRefs::default();
    refs.secrets.insert(
        "s".into(),
        Secret {
            data: Some(BTreeMap::from([("password".to_string(), ByteString(b"hunter2".to_vec()))])),
            ..Default::default()
        },
    );
    setup(tmp.path(), &p, &refs, &PodFacts::default()).unwrap();
    let dir = tmp.path().join("volumes/kubernetes.io~secret/creds");
    assert!(fs::is_mountpoint(&dir).unwrap());
    let file = dir.join("password");
    assert_eq!(stdfs::read(&file).unwrap(), b"hunter2");
    assert_eq!(mode(&file), 0o440);
    assert_eq!(stdfs::metadata(&file).unwrap().gid(), 2345);
    let ts = data_target(&dir);
    // Idempotent with ownership applied.
    setup(tmp.path(), &p, &refs, &PodFacts::default()).unwrap();
    assert_eq!(data_target(&dir), ts);
    assert_eq!(fs::mounts_under(&stdfs::canonicalize(tmp.path()).unwrap()).unwrap().len(), 1);

    teardown(tmp.path()).unwrap();
    assert!(!tmp.path().exists());
}

#[test]
fn downward_api_and_projected() {
    let tmp = tempfile::tempdir().unwrap();
    let field = |path: &str, f: &str| DownwardAPIVolumeFile {
        path: path.into(),
        field_ref: Some(ObjectFieldSelector { api_version: Some("v1".into()), field_path: f.into() }),
        ..Default::default()
    };
    let mut p = pod(vec![
        Volume {
            name: "podinfo".into(),
            downward_api: Some(DownwardAPIVolumeSource {
                items: Some(vec![
                    field("labels", "metadata.labels"),
                    field("name", "metadata.name"),
                    DownwardAPIVolumeFile {
                        path: "mem".into(),
                        resource_field_ref: Some(ResourceFieldSelector {
                            container_name: Some("c".into()),
                            resource: "limits.memory".into(),
                            divisor: Some(Quantity("1Mi".into())),
                        }),
                        ..Default::default()
                    },
                ]),
                default_mode: None,
            }),
            ..Default::default()
        },
        Volume {
            name: "all".into(),
            projected: Some(ProjectedVolumeSource {
                default_mode: Some(0o640),
                sources: Some(vec![
                    VolumeProjection {
                        config_map: Some(ConfigMapProjection {
                            name: "cfg".into(),
                            items: Some(vec![KeyToPath { key: "a".into(), path: "cfg-a".into(), mode: None }]),
                            optional: None,
                        }),
                        ..Default::default()
                    },
                    VolumeProjection {
                        secret: Some(SecretProjection { name: "missing".into(), items: None, optional: Some(true) }),
                        ..Default::default()
                    },
                    VolumeProjection {
                        service_account_token: Some(ServiceAccountTokenProjection {
                            path: "token".into(),
                            ..Default::default()
                        }),
                        ..Default::default()
                    },
                    VolumeProjection {
                        downward_api: Some(k8s_openapi::api::core::v1::DownwardAPIProjection {
                            items: Some(vec![field("ns", "metadata.namespace")]),
                        }),
                        ..Default::default()
                    },
                ]),
            }),
            ..Default::default()
        },
    ]);
    p.spec.as_mut().unwrap().containers[0].resources = Some(k8s_openapi::api::core::v1::ResourceRequirements {
        limits: Some(BTreeMap::from([("memory".to_string(), Quantity("64Mi".into()))])),
        ..Default::default()
    });
    setup(tmp.path(), &p, &refs_with_cm(&[("a", "1")]), &PodFacts::default()).unwrap();
    let d = tmp.path().join("volumes/kubernetes.io~downward-api/podinfo");
    assert_eq!(stdfs::read_to_string(d.join("labels")).unwrap(), "app=\"web\"");
    assert_eq!(stdfs::read_to_string(d.join("name")).unwrap(), "web");
    assert_eq!(stdfs::read_to_string(d.join("mem")).unwrap(), "64");
    let pr = tmp.path().join("volumes/kubernetes.io~projected/all");
    assert_eq!(stdfs::read_to_string(pr.join("cfg-a")).unwrap(), "1");
    assert_eq!(mode(&pr.join("cfg-a")), 0o640);
    assert_eq!(stdfs::read_to_string(pr.join("ns")).unwrap(), "default");
    assert!(!pr.join("token").exists());

    // Labels change → file updated on the next sync.
    p.metadata.labels = Some(BTreeMap::from([("app".to_string(), "api".to_string())]));
    setup(tmp.path(), &p, &refs_with_cm(&[("a", "1")]), &PodFacts::default()).unwrap();
    assert_eq!(stdfs::read_to_string(d.join("labels")).unwrap(), "app=\"api\"");

    // A projected source's missing ConfigMap.
    let err = setup(tmp.path(), &p, &PodRefs::default(), &PodFacts::default()).unwrap_err();
    assert_eq!(err.to_string(), "MountVolume.SetUp failed for volume \"all\" : configmap \"cfg\" not found");
    if is_root() {
        teardown(tmp.path()).unwrap();
    }
}

#[test]
fn empty_dir_disk_and_memory() {
    let tmp = tempfile::tempdir().unwrap();
    let mut vols = vec![Volume {
        name: "scratch".into(),
        empty_dir: Some(EmptyDirVolumeSource::default()),
        ..Default::default()
    }];
    if is_root() {
        vols.push(Volume {
            name: "shm".into(),
            empty_dir: Some(EmptyDirVolumeSource {
                medium: Some("Memory".into()),
                size_limit: Some(Quantity("1Mi".into())),
            }),
            ..Default::default()
        });
    }
    let p = pod(vols);
    let facts = PodFacts { node_allocatable_memory: 8 << 30, ..Default::default() };
    setup(tmp.path(), &p, &PodRefs::default(), &facts).unwrap();
    let disk = tmp.path().join("volumes/kubernetes.io~empty-dir/scratch");
    assert!(disk.is_dir());
    assert_eq!(mode(&disk), 0o777);
    stdfs::write(disk.join("keep"), "x").unwrap();
    setup(tmp.path(), &p, &PodRefs::default(), &facts).unwrap();
    assert!(disk.join("keep").exists());
    if !is_root() {
        return;
    }
    let shm = tmp.path().join("volumes/kubernetes.io~empty-dir/shm");
    assert!(fs::is_mountpoint(&shm).unwrap());
    let st = rustix::fs::statfs(&shm).unwrap();
    assert_eq!(st.f_blocks as u64 * st.f_bsize as u64, 1 << 20);
    stdfs::write(shm.join("f"), "y").unwrap();
    // Mounted once only, content survives a resync.
    setup(tmp.path(), &p, &PodRefs::default(), &facts).unwrap();
    let root = stdfs::canonicalize(tmp.path()).unwrap();
    assert_eq!(fs::mounts_under(&root).unwrap().len(), 1);
    assert!(shm.join("f").exists());
    teardown(tmp.path()).unwrap();
    assert!(!tmp.path().exists());
    assert!(fs::mounts_under(&root).unwrap().is_empty());
    // Tearing down twice is fine.
    teardown(tmp.path()).unwrap();
}

#[test]
fn host_path_type_checks() {
    let tmp = tempfile::tempdir().unwrap();
    let hp = |path: &Path, ty: &str| {
        host_path(&HostPathVolumeSource {
            path: path.to_string_lossy().into_owned(),
            type_: Some(ty.into()),
        })
    };
    let d = tmp.path().join("made/deep");
    hp(&d, "DirectoryOrCreate").unwrap();
    assert!(d.is_dir());
    hp(&d, "Directory").unwrap();
    let f = tmp.path().join("file");
    hp(&f, "FileOrCreate").unwrap();
    assert!(f.is_file());
    hp(&f, "File").unwrap();
    assert_eq!(hp(&f, "Directory").unwrap_err(), format!("hostPath type check failed: {} is not a directory", f.display()));
    assert_eq!(hp(&d, "File").unwrap_err(), format!("hostPath type check failed: {} is not a file", d.display()));
    assert_eq!(hp(&f, "Socket").unwrap_err(), format!("hostPath type check failed: {} is not a socket file", f.display()));
    assert_eq!(
        hp(&f, "CharDevice").unwrap_err(),
        format!("hostPath type check failed: {} is not a character device", f.display())
    );
    hp(Path::new("/dev/null"), "CharDevice").unwrap();
    assert_eq!(
        hp(&f, "BlockDevice").unwrap_err(),
        format!("hostPath type check failed: {} is not a block device", f.display())
    );
    assert_eq!(hp(&f, "Weird").unwrap_err(), "Weird is an invalid volume type");
    assert_eq!(
        hp(Path::new("/a/../b"), "").unwrap_err(),
        "invalid HostPath `/a/../b`: must not contain '..'"
    );
    let missing = tmp.path().join("nope");
    assert_eq!(
        hp(&missing, "Directory").unwrap_err(),
        format!("hostPath type check failed: {} is not a directory", missing.display())
    );
    let sock_path = tmp.path().join("sock");
    let _l = std::os::unix::net::UnixListener::bind(&sock_path).unwrap();
    hp(&sock_path, "Socket").unwrap();
}

fn mount(name: &str, path: &str) -> VolumeMount {
    VolumeMount { name: name.into(), mount_path: path.into(), ..Default::default() }
}

#[test]
fn container_mounts_sub_paths_and_flags() {
    let tmp = tempfile::tempdir().unwrap();
    let host = tmp.path().join("host");
    stdfs::create_dir(&host).unwrap();
    let p = pod(vec![
        Volume { name: "data".into(), empty_dir: Some(EmptyDirVolumeSource::default()), ..Default::default() },
        Volume {
            name: "h".into(),
            host_path: Some(HostPathVolumeSource { path: host.to_string_lossy().into_owned(), type_: None }),
            ..Default::default()
        },
        cm_volume("cfg", "cfg", None, None),
    ]);
    let refs = refs_with_cm(&[("app.conf", "x=1")]);
    setup(tmp.path(), &p, &refs, &PodFacts::default()).unwrap();
    let c = Container {
        name: "c".into(),
        volume_mounts: Some(vec![
            VolumeMount { sub_path: Some("logs/app".into()), ..mount("data", "/var/log/app") },
            VolumeMount {
                read_only: Some(true),
                mount_propagation: Some("HostToContainer".into()),
                ..mount("h", "/host")
            },
            mount("cfg", "etc/cfg"),
            VolumeMount { sub_path: Some("app.conf".into()), ..mount("cfg", "/etc/app.conf") },
            VolumeMount { sub_path_expr: Some("$(POD_NAME)/x".into()), ..mount("data", "/per-pod") },
        ]),
        ..Default::default()
    };
    let env = vec![("POD_NAME".to_string(), "web".to_string())];
    let mounts = container_mounts_with_env(tmp.path(), &p, &c, &env).unwrap();
    let data = stdfs::canonicalize(tmp.path().join("volumes/kubernetes.io~empty-dir/data")).unwrap();
    assert_eq!(mounts[0].source, data.join("logs/app"));
    assert!(mounts[0].source.is_dir());
    assert_eq!(mode(&mounts[0].source), 0o777);
    assert!(!mounts[0].read_only);
    assert_eq!(mounts[1].source, host);
    assert!(mounts[1].read_only);
    assert_eq!(mounts[1].propagation.as_deref(), Some("rslave"));
    assert_eq!(mounts[2].destination, "/etc/cfg");
    assert!(mounts[2].read_only);
    assert_eq!(stdfs::read_to_string(&mounts[3].source).unwrap(), "x=1");
    assert!(mounts[3].read_only);
    assert_eq!(mounts[4].source, data.join("web/x"));

    let err = |m: VolumeMount| {
        let c = Container { name: "c".into(), volume_mounts: Some(vec![m]), ..Default::default() };
        container_mounts(tmp.path(), &p, &c).unwrap_err().to_string()
    };
    assert_eq!(
        err(VolumeMount { sub_path: Some("/abs".into()), ..mount("data", "/d") }),
        "error SubPath `/abs` must not be an absolute path"
    );
    assert_eq!(
        err(VolumeMount { sub_path: Some("a/../../b".into()), ..mount("data", "/d") }),
        "unable to provision SubPath `a/../../b`: must not contain '..'"
    );
    assert_eq!(
        err(VolumeMount { sub_path_expr: Some("$(POD_NAME)".into()), ..mount("data", "/d") }),
        "missing value for POD_NAME"
    );
    assert_eq!(err(mount("nope", "/d")), "cannot find volume \"nope\" to mount into container \"c\"");
    assert_eq!(
        err(VolumeMount { mount_propagation: Some("Sideways".into()), ..mount("data", "/d") }),
        "invalid MountPropagation mode: \"Sideways\""
    );
    // A symlink leading out of the volume is refused.
    std::os::unix::fs::symlink("/etc", data.join("escape")).unwrap();
    assert_eq!(
        err(VolumeMount { sub_path: Some("escape".into()), ..mount("data", "/d") }),
        "failed to prepare subPath for volumeMount \"data\" of container \"c\""
    );
}

#[test]
fn payload_path_validation() {
    let tmp = tempfile::tempdir().unwrap();
    let mut payload = atomic::Payload::new();
    payload.insert("../x".into(), atomic::FileProjection { data: vec![], mode: 0o644 });
    let e = atomic::write(tmp.path(), &payload, None).unwrap_err();
    assert_eq!(e.to_string(), "invalid path: must not contain '..': ../x");
    let mut payload = atomic::Payload::new();
    payload.insert("..data2".into(), atomic::FileProjection { data: vec![], mode: 0o644 });
    let e = atomic::write(tmp.path(), &payload, None).unwrap_err();
    assert_eq!(e.to_string(), "invalid path: must not start with '..': ..data2");
}
