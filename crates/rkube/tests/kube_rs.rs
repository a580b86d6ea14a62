//! The API server through kube-rs, the Rust client: typed CRUD, patches, the scale
//! subresource, and its watcher/reflector in both list-then-watch and streaming-list modes.

use std::time::Duration;

use futures_util::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::{reflector, watcher, WatchStreamExt};
use serde_json::json;
use testkit::TestServer;

const BIN: &str = env!("CARGO_BIN_EXE_rkube");

async fn client(s: &TestServer) -> kube::Client {
    let kc = Kubeconfig::read_from(s.kubeconfig()).unwrap();
    let cfg = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default()).await.unwrap();
    kube::Client::try_from(cfg).unwrap()
}

fn cm(name: &str) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name, "labels": {"app": "k"}}, "data": {"k": "v"}})).unwrap()
}

#[tokio::test]
async fn typed_crud_patch_and_scale() {
    let s = TestServer::start(BIN);
    let c = client(&s).await;
    let version = c.apiserver_version().await.unwrap();
    assert_eq!((version.major.as_str(), version.minor.as_str()), ("1", "33"));
    let cms: Api<ConfigMap> = Api::namespaced(c.clone(), "default");
    let created = cms.create(&PostParams::default(), &cm("a")).await.unwrap();
    assert!(created.metadata.uid.is_some() && created.metadata.resource_version.is_some());
    let err = cms.create(&PostParams::default(), &cm("a")).await.unwrap_err();
    match err {
        kube::Error::Api(s) => assert_eq!((s.code, s.reason.as_str()), (409, "AlreadyExists")),
        other => panic!("{other:?}"),
    }
    let patched = cms
        .patch("a", &PatchParams::default(), &Patch::Merge(json!({"data": {"k2": "v2"}})))
        .await
        .unwrap();
    assert_eq!(patched.data.unwrap()["k2"], "v2");
    let patched = cms
        .patch("a", &PatchParams::default(), &Patch::Strategic(json!({"metadata": {"labels": {"x": "y"}}})))
        .await
        .unwrap();
    assert_eq!(patched.metadata.labels.unwrap()["x"], "y");
    let listed = cms.list(&ListParams::default().labels("app=k")).await.unwrap();
    assert_eq!(listed.items.len(), 1);
    cms.delete("a", &DeleteParams::default()).await.unwrap();
    assert!(cms.get_opt("a").await.unwrap().is_none());

    let deploys: Api<Deployment> = Api::namespaced(c, "default");
    let d: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "web"},
        "spec": {"selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "busybox"}]}}}
    }))
    .unwrap();
    let d = deploys.create(&PostParams::default(), &d).await.unwrap();
    assert_eq!(d.spec.as_ref().unwrap().replicas, Some(1), "defaulted");
    let scale = deploys
        .patch_scale("web", &PatchParams::default(), &Patch::Merge(json!({"spec": {"replicas": 4}})))
        .await
        .unwrap();
    assert_eq!(scale.spec.unwrap().replicas, Some(4));
    assert_eq!(deploys.get("web").await.unwrap().spec.unwrap().replicas, Some(4));
}

async fn reflector_sees_all(streaming: bool) {
    let s = TestServer::start(BIN);
    let c = client(&s).await;
    let cms: Api<ConfigMap> = Api::namespaced(c, "default");
    cms.create(&PostParams::default(), &cm("before")).await.unwrap();
    let (reader, writer) = reflector::store::<ConfigMap>();
    let cfg = if streaming { watcher::Config::default().streaming_lists() } else { watcher::Config::default() };
    let stream = reflector(writer, watcher(cms.clone(), cfg.labels("app=k"))).applied_objects();
    let task = tokio::spawn(async move { stream.try_for_each(|_| async { Ok(()) }).await });
    reader.wait_until_ready().await.unwrap();
    for i in 0..5 {
        cms.create(&PostParams::default(), &cm(&format!("after-{i}"))).await.unwrap();
    }
    cms.delete("before", &DeleteParams::default()).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let mut names: Vec<String> = reader.state().iter().map(|o| o.metadata.name.clone().unwrap()).collect();
        names.sort();
        if names == ["after-0", "after-1", "after-2", "after-3", "after-4"] {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "reflector state: {names:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    task.abort();
}

#[tokio::test]
async fn watcher_list_then_watch() {
    reflector_sees_all(false).await;
}

#[tokio::test]
async fn watcher_streaming_list() {
    reflector_sees_all(true).await;
}

#[tokio::test]
async fn watch_events_arrive_in_order() {
    let s = TestServer::start(BIN);
    let c = client(&s).await;
    let cms: Api<ConfigMap> = Api::namespaced(c, "default");
    let mut events = watcher(cms.clone(), watcher::Config::default()).touched_objects().boxed();
    let _first = tokio::time::timeout(Duration::from_secs(5), events.next()).await;
    for i in 0..3 {
        cms.create(&PostParams::default(), &cm(&format!("o{i}"))).await.unwrap();
    }
    let mut seen = Vec::new();
    while seen.len() < 3 {
        let obj = tokio::time::timeout(Duration::from_secs(5), events.next()).await.unwrap().unwrap().unwrap();
        let name = obj.metadata.name.unwrap();
        if name.starts_with('o') {
            seen.push(name);
        }
    }
    assert_eq!(seen, ["o0", "o1", "o2"]);
}
