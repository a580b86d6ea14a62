use http::{header, Request};
use http_body_util::BodyExt;
use serde_json::{json, Value};

use super::*;

fn doc(key: &str) -> Value {
    serde_json::from_slice(&v3_doc(key).unwrap().bytes).unwrap()
}

fn get(uri: &str, headers: &[(&str, &str)]) -> (u16, http::HeaderMap, Bytes) {
    let mut b = Request::builder().uri(uri);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let req = b.body(()).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let reply = serve(&req).await;
        let status = reply.status().as_u16();
        let headers = reply.headers().clone();
        let body = reply.into_body().collect().await.unwrap().to_bytes();
        (status, headers, body)
    })
}

#[test]
fn index_lists_group_versions_groups_and_discovery_documents() {
    let index: Value = serde_json::from_slice(&v3_index().bytes).unwrap();
    let paths = index["paths"].as_object().unwrap();
    for key in ["api", "api/v1", "apis", "apis/apps", "apis/apps/v1", "apis/autoscaling/v2", "apis/rbac.authorization.k8s.io/v1", "version"] {
        let url = paths[key]["serverRelativeURL"].as_str().unwrap_or_else(|| panic!("{key} missing"));
        let hash = v3_doc(key).unwrap().hash.clone();
        assert_eq!(url, format!("/openapi/v3/{key}?hash={hash}"));
    }
}

#[test]
fn apps_document_has_upstream_paths_and_operations() {
    let d = doc("apis/apps/v1");
    assert_eq!(d["openapi"], "3.0.0");
    let paths = d["paths"].as_object().unwrap();
    for p in [
        "/apis/apps/v1/",
        "/apis/apps/v1/deployments",
        "/apis/apps/v1/namespaces/{namespace}/deployments",
        "/apis/apps/v1/namespaces/{namespace}/deployments/{name}",
        "/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale",
        "/apis/apps/v1/namespaces/{namespace}/deployments/{name}/status",
        "/apis/apps/v1/watch/deployments",
        "/apis/apps/v1/watch/namespaces/{namespace}/deployments",
        "/apis/apps/v1/watch/namespaces/{namespace}/deployments/{name}",
    ] {
        assert!(paths.contains_key(p), "{p} missing");
    }
    let coll = &paths["/apis/apps/v1/namespaces/{namespace}/deployments"];
    assert_eq!(coll["get"]["operationId"], "listAppsV1NamespacedDeployment");
    assert_eq!(coll["post"]["operationId"], "createAppsV1NamespacedDeployment");
    assert_eq!(coll["delete"]["operationId"], "deleteAppsV1CollectionNamespacedDeployment");
    assert_eq!(coll["delete"]["x-kubernetes-action"], "deletecollection");
    assert_eq!(coll["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/io.k8s.api.apps.v1.DeploymentList");

    let item = &paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"];
    let patch = &item["patch"];
    assert_eq!(patch["operationId"], "patchAppsV1NamespacedDeployment");
    assert_eq!(patch["description"], "partially update the specified Deployment");
    assert_eq!(patch["x-kubernetes-action"], "patch");
    assert_eq!(patch["x-kubernetes-group-version-kind"], json!({"group": "apps", "kind": "Deployment", "version": "v1"}));
    assert_eq!(patch["tags"], json!(["apps_v1"]));
    let names: Vec<&str> = patch["parameters"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["dryRun", "fieldManager", "fieldValidation", "force"]);
    assert!(patch["requestBody"]["content"]["application/strategic-merge-patch+json"].is_object());
    assert_eq!(patch["requestBody"]["content"]["application/apply-patch+yaml"]["schema"]["$ref"], "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.Patch");
    let path_params: Vec<&str> = item["parameters"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(path_params, ["name", "namespace", "pretty"]);
    assert_eq!(item["parameters"][0]["required"], true);
    assert_eq!(item["delete"]["requestBody"]["content"]["*/*"]["schema"]["$ref"], "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions");
    assert_eq!(item["put"]["operationId"], "replaceAppsV1NamespacedDeployment");
    assert_eq!(item["get"]["operationId"], "readAppsV1NamespacedDeployment");

    let scale = &paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"];
    assert_eq!(scale["patch"]["operationId"], "patchAppsV1NamespacedDeploymentScale");
    assert_eq!(scale["patch"]["x-kubernetes-group-version-kind"], json!({"group": "autoscaling", "kind": "Scale", "version": "v1"}));
    assert_eq!(scale["get"]["description"], "read scale of the specified Deployment");
    let status = &paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/status"];
    assert_eq!(status["put"]["operationId"], "replaceAppsV1NamespacedDeploymentStatus");

    let watch = &paths["/apis/apps/v1/watch/namespaces/{namespace}/deployments/{name}"]["get"];
    assert_eq!(watch["operationId"], "watchAppsV1NamespacedDeployment");
    assert_eq!(watch["x-kubernetes-action"], "watch");
    assert_eq!(
        watch["responses"]["200"]["content"]["application/json;stream=watch"]["schema"]["$ref"],
        "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent"
    );
    assert_eq!(paths["/apis/apps/v1/deployments"]["get"]["operationId"], "listAppsV1DeploymentForAllNamespaces");
    assert_eq!(paths["/apis/apps/v1/watch/deployments"]["get"]["operationId"], "watchAppsV1DeploymentListForAllNamespaces");
}

#[test]
fn apps_document_has_reachable_schemas_with_extensions() {
    let d = doc("apis/apps/v1");
    let schemas = d["components"]["schemas"].as_object().unwrap();
    for name in [
        "io.k8s.api.apps.v1.Deployment",
        "io.k8s.api.apps.v1.DeploymentList",
        "io.k8s.api.apps.v1.RollingUpdateDeployment",
        "io.k8s.api.autoscaling.v1.Scale",
        "io.k8s.api.core.v1.Container",
        "io.k8s.api.core.v1.PodSpec",
        "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions",
        "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta",
        "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
        "io.k8s.apimachinery.pkg.apis.meta.v1.Patch",
        "io.k8s.apimachinery.pkg.apis.meta.v1.Status",
        "io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent",
        "io.k8s.apimachinery.pkg.apis.meta.v1.APIResourceList",
        "io.k8s.apimachinery.pkg.util.intstr.IntOrString",
    ] {
        assert!(schemas.contains_key(name), "{name} missing");
    }
    assert!(!schemas.contains_key("io.k8s.api.rbac.v1.Role"));
    // Every reference resolves within the document.
    let mut missing = Vec::new();
    api::schema::extensions::for_each_reference(&d, &mut |r| {
        if !schemas.contains_key(r) {
            missing.push(r.to_string());
        }
    });
    assert!(missing.is_empty(), "{missing:?}");

    let deploy = &schemas["io.k8s.api.apps.v1.Deployment"];
    assert_eq!(deploy["x-kubernetes-group-version-kind"], json!([{"group": "apps", "kind": "Deployment", "version": "v1"}]));
    let containers = &schemas["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"];
    assert_eq!(containers["x-kubernetes-patch-merge-key"], "name");
    assert_eq!(containers["x-kubernetes-patch-strategy"], "merge");
    assert_eq!(containers["x-kubernetes-list-type"], "map");
    let ports = &schemas["io.k8s.api.core.v1.Container"]["properties"]["ports"];
    assert_eq!(ports["x-kubernetes-list-map-keys"], json!(["containerPort", "protocol"]));
    let max_surge = &schemas["io.k8s.api.apps.v1.RollingUpdateDeployment"]["properties"]["maxSurge"];
    assert!(max_surge["description"].as_str().unwrap().starts_with("The maximum number of pods that can be scheduled above the desired number of pods."));
}

#[test]
fn core_document_has_subresources_and_cluster_scoped_paths() {
    let d = doc("api/v1");
    let paths = d["paths"].as_object().unwrap();
    assert_eq!(paths["/api/v1/namespaces/{namespace}/pods/{name}/log"]["get"]["operationId"], "readCoreV1NamespacedPodLog");
    assert_eq!(paths["/api/v1/namespaces/{namespace}/pods/{name}/exec"]["post"]["operationId"], "connectCoreV1PostNamespacedPodExec");
    assert_eq!(paths["/api/v1/namespaces/{namespace}/pods/{name}/eviction"]["post"]["operationId"], "createCoreV1NamespacedPodEviction");
    assert_eq!(paths["/api/v1/namespaces/{namespace}/pods/{name}/proxy/{path}"]["get"]["operationId"], "connectCoreV1GetNamespacedPodProxyWithPath");
    assert_eq!(paths["/api/v1/namespaces/{name}/finalize"]["put"]["operationId"], "replaceCoreV1NamespaceFinalize");
    assert_eq!(paths["/api/v1/nodes/{name}"]["patch"]["operationId"], "patchCoreV1Node");
    assert_eq!(paths["/api/v1/watch/nodes/{name}"]["get"]["operationId"], "watchCoreV1Node");
    assert_eq!(paths["/api/v1/namespaces/{namespace}/endpoints"]["post"]["description"], "create Endpoints");
    assert_eq!(paths["/api/v1/namespaces/{namespace}/events/{name}"]["delete"]["description"], "delete an Event");
    assert!(!paths.contains_key("/api/v1/watch/componentstatuses"));
    assert_eq!(paths["/api/v1/namespaces/{namespace}/pods"]["get"]["tags"], json!(["core_v1"]));
    assert!(d["components"]["schemas"]["io.k8s.api.core.v1.PodList"].is_object());
    let rbac = doc("apis/rbac.authorization.k8s.io/v1");
    assert_eq!(rbac["paths"]["/apis/rbac.authorization.k8s.io/v1/clusterroles"]["post"]["operationId"], "createRbacAuthorizationV1ClusterRole");
    assert_eq!(rbac["paths"]["/apis/rbac.authorization.k8s.io/v1/clusterroles"]["post"]["tags"], json!(["rbacAuthorization_v1"]));
    let authn = doc("apis/authentication.k8s.io/v1");
    let tr = &authn["paths"]["/apis/authentication.k8s.io/v1/tokenreviews"];
    assert_eq!(tr["post"]["operationId"], "createAuthenticationV1TokenReview");
    assert!(tr.get("get").is_none());
}

#[test]
fn discovery_documents() {
    assert_eq!(doc("api")["paths"]["/api/"]["get"]["operationId"], "getCoreAPIVersions");
    assert_eq!(doc("apis")["paths"]["/apis/"]["get"]["operationId"], "getAPIVersions");
    let apps = doc("apis/apps");
    assert_eq!(apps["paths"]["/apis/apps/"]["get"]["operationId"], "getAppsAPIGroup");
    assert!(apps["components"]["schemas"]["io.k8s.apimachinery.pkg.apis.meta.v1.APIGroup"].is_object());
    assert_eq!(doc("version")["paths"]["/version/"]["get"]["operationId"], "getCodeVersion");
}

#[test]
fn swagger_v2_document() {
    let d: Value = serde_json::from_slice(&v2_json().bytes).unwrap();
    assert_eq!(d["swagger"], "2.0");
    let defs = d["definitions"].as_object().unwrap();
    let spec = &defs["io.k8s.api.apps.v1.Deployment"]["properties"]["spec"];
    assert_eq!(spec["$ref"], "#/definitions/io.k8s.api.apps.v1.DeploymentSpec");
    assert!(spec.get("allOf").is_none());
    assert_eq!(defs["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]["type"], "string");
    assert_eq!(defs["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]["format"], "int-or-string");
    assert!(defs["io.k8s.apimachinery.pkg.util.intstr.IntOrString"].get("oneOf").is_none());
    let patch = &d["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"];
    assert!(patch["consumes"].as_array().unwrap().contains(&json!("application/strategic-merge-patch+json")));
    assert_eq!(patch["parameters"][0]["in"], "body");
    assert_eq!(patch["parameters"][0]["schema"]["$ref"], "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.Patch");
    assert_eq!(patch["x-kubernetes-group-version-kind"]["kind"], "Deployment");
    assert_eq!(patch["responses"]["200"]["schema"]["$ref"], "#/definitions/io.k8s.api.apps.v1.Deployment");
    assert!(d["paths"]["/api/v1/namespaces/{namespace}/pods"].is_object());
    let text = String::from_utf8_lossy(&v2_json().bytes).into_owned();
    assert!(!text.contains("#/components/schemas/"));
    let mut missing = Vec::new();
    walk_refs(&d, &mut |r| {
        if let Some(n) = r.strip_prefix(v2::DEF_PREFIX) {
            if !defs.contains_key(n) {
                missing.push(n.to_string());
            }
        }
    });
    assert!(missing.is_empty(), "{missing:?}");
}

fn walk_refs(v: &Value, f: &mut impl FnMut(&str)) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if k == "$ref" {
                    f(x.as_str().unwrap_or_default());
                } else {
                    walk_refs(x, f);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| walk_refs(x, f)),
        _ => {}
    }
}

#[test]
fn documents_are_deterministic() {
    let a = v3::document_bytes("apis/apps/v1").unwrap();
    let b = v3::document_bytes("apis/apps/v1").unwrap();
    assert_eq!(content_hash(&a), content_hash(&b));
    assert_eq!(content_hash(&a), v3_doc("apis/apps/v1").unwrap().hash);
}

#[test]
fn serving_etags_304_and_immutable_urls() {
    let d = v3_doc("apis/apps/v1").unwrap();
    let etag = format!("\"{}\"", d.hash);

    let (status, headers, body) = get("/openapi/v3/apis/apps/v1", &[("accept", "application/json")]);
    assert_eq!(status, 200);
    assert_eq!(headers[header::ETAG], etag.as_str());
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    assert_eq!(body, d.bytes);
    assert_ne!(headers[header::CACHE_CONTROL], "public, immutable");

    let (status, headers, body) = get("/openapi/v3/apis/apps/v1", &[("if-none-match", &etag)]);
    assert_eq!(status, 304);
    assert_eq!(headers[header::ETAG], etag.as_str());
    assert!(body.is_empty());

    let (status, _, _) = get("/openapi/v3/apis/apps/v1", &[("if-none-match", "\"other\"")]);
    assert_eq!(status, 200);

    let url = format!("/openapi/v3/apis/apps/v1?hash={}", d.hash);
    let (status, headers, _) = get(&url, &[("accept", "application/json")]);
    assert_eq!(status, 200);
    assert_eq!(headers[header::CACHE_CONTROL], "public, immutable");
    assert!(headers.contains_key(header::EXPIRES));

    let (status, headers, _) = get("/openapi/v3/apis/apps/v1?hash=STALE", &[]);
    assert_eq!(status, 301);
    assert_eq!(headers[header::LOCATION], url.as_str());

    let (status, headers, _) = get("/openapi/v3", &[]);
    assert_eq!(status, 200);
    let (status, _, _) = get("/openapi/v3/", &[("if-none-match", headers[header::ETAG].to_str().unwrap())]);
    assert_eq!(status, 304);

    let (status, _, _) = get("/openapi/v3/apis/nope/v1", &[]);
    assert_eq!(status, 404);
    let (status, _, _) = get("/openapi/v3/apis/apps/v1", &[("accept", "application/com.github.proto-openapi.spec.v3@v1.0+protobuf")]);
    assert_eq!(status, 406);
}

#[test]
fn v2_negotiation() {
    let (status, headers, body) = get("/openapi/v2", &[("accept", "application/json")]);
    assert_eq!(status, 200);
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    assert!(body.starts_with(b"{"));
    let (status, _, _) = get("/openapi/v2", &[]);
    assert_eq!(status, 200);
    let (status, headers, body) = get("/openapi/v2", &[("accept", "application/com.github.proto-openapi.spec.v2@v1.0+protobuf")]);
    assert_eq!(status, 200);
    assert_eq!(headers[header::CONTENT_TYPE], "application/com.github.proto-openapi.spec.v2.v1.0+protobuf");
    assert_eq!(body[0], 0x0a, "field 1 (swagger), length-delimited");
    let (_, headers2, _) = get("/openapi/v2", &[("accept", "application/com.github.proto-openapi.spec.v2@v1.0+protobuf;q=0.5, application/json")]);
    assert_eq!(headers2[header::CONTENT_TYPE], "application/json");
    let (status, _, _) = get("/openapi/v2", &[("accept", "application/vnd.kubernetes.protobuf")]);
    assert_eq!(status, 406);
    let etag = headers[header::ETAG].to_str().unwrap().to_string();
    let proto = [("accept", "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"), ("if-none-match", etag.as_str())];
    let (status, _, _) = get("/openapi/v2", &proto);
    assert_eq!(status, 304);
    let (status, _, _) = get("/openapi/v2", &[("if-none-match", &etag)]);
    assert_eq!(status, 200, "the JSON document has its own ETag");
}

#[test]
fn accept_parsing() {
    assert_eq!(accepted(None), ["*/*"]);
    assert_eq!(accepted(Some("application/json;q=0.5, application/x;q=0.9")), ["application/x", "application/json"]);
    assert!(accepted(Some("application/json;q=0")).is_empty());
}

