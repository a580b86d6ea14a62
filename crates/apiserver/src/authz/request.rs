//! What a request asks to do, as upstream's RequestInfoFactory reads it from the method,
//! path and query: verb (get/list/watch/create/update/patch/delete/deletecollection),
//! API group, namespace, resource, subresource and name; other paths are
//! non-resource requests whose verb is the lower-cased method.

use api::rbac::Attributes;
use http::Method;

use crate::query::Query;

/// Namespace subresources: `/namespaces/<ns>/status` addresses the namespace itself.
const NAMESPACE_SUBRESOURCES: [&str; 2] = ["status", "finalize"];

pub fn attributes(method: &Method, path: &str, query: &Query) -> Attributes {
    let mut a = Attributes { path: path.to_string(), ..Default::default() };
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let rest: &[&str] = match parts.as_slice() {
        ["api", _, rest @ ..] if !rest.is_empty() => {
            a.api_version = parts[1].to_string();
            rest
        }
        ["apis", group, version, rest @ ..] if !rest.is_empty() => {
            a.api_group = group.to_string();
            a.api_version = version.to_string();
            rest
        }
        _ => {
            a.verb = method.as_str().to_ascii_lowercase();
            a.api_group.clear();
            return a;
        }
    };
    a.resource_request = true;
    let mut rest = rest;
    // `/watch/...` and `/proxy/...` carry their verb in the path.
    let mut verb = match *method {
        Method::POST => "create",
        Method::GET | Method::HEAD => "get",
        Method::PUT => "update",
        Method::PATCH => "patch",
        Method::DELETE => "delete",
        _ => "",
    };
    if matches!(rest[0], "watch" | "proxy") && rest.len() > 1 {
        verb = rest[0];
        rest = &rest[1..];
    }
    if rest[0] == "namespaces" && rest.len() > 1 {
        a.namespace = rest[1].to_string();
        if rest.len() > 2 && !NAMESPACE_SUBRESOURCES.contains(&rest[2]) {
            rest = &rest[2..];
        }
    }
    a.resource = rest[0].to_string();
    if let Some(name) = rest.get(1) {
        a.name = name.to_string();
    }
    if verb != "proxy" {
        if let Some(sub) = rest.get(2) {
            a.subresource = sub.to_string();
        }
    }
    a.verb = verb.to_string();
    if a.name.is_empty() && a.verb == "get" {
        a.verb = if query.flag("watch") { "watch" } else { "list" }.to_string();
        let selector = query.get("fieldSelector").unwrap_or("");
        a.field_selector = selector.to_string();
        // A list of one object by name authorizes as that object.
        if let Ok(sel) = api::selector::FieldSelector::parse(selector) {
            if let Some(name) = sel.exact("metadata.name").filter(|n| !n.is_empty() && !n.contains('/') && *n != "." && *n != "..") {
                a.name = name.to_string();
            }
        }
    } else if a.verb == "watch" {
        a.field_selector = query.get("fieldSelector").unwrap_or("").to_string();
    }
    if a.name.is_empty() && a.verb == "delete" {
        a.verb = "deletecollection".into();
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(method: Method, path_and_query: &str) -> Attributes {
        let (path, q) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
        attributes(&method, path, &Query::parse(Some(q)))
    }

    #[test]
    fn reads_request_info_like_upstream() {
        let a = attrs(Method::GET, "/apis/apps/v1/namespaces/prod/deployments");
        assert_eq!((a.verb.as_str(), a.api_group.as_str(), a.namespace.as_str(), a.resource.as_str()), ("list", "apps", "prod", "deployments"));
        assert!(a.resource_request);
        let a = attrs(Method::GET, "/api/v1/pods?watch=1&fieldSelector=spec.nodeName%3Dn1");
        assert_eq!((a.verb.as_str(), a.namespace.as_str(), a.field_selector.as_str()), ("watch", "", "spec.nodeName=n1"));
        let a = attrs(Method::GET, "/api/v1/namespaces/kube-system/secrets/x");
        assert_eq!((a.verb.as_str(), a.name.as_str()), ("get", "x"));
        let a = attrs(Method::GET, "/api/v1/namespaces/default/configmaps?fieldSelector=metadata.name%3Dcm");
        assert_eq!((a.verb.as_str(), a.name.as_str()), ("list", "cm"));
        let a = attrs(Method::DELETE, "/api/v1/namespaces/default/pods");
        assert_eq!(a.verb, "deletecollection");
        let a = attrs(Method::PUT, "/api/v1/namespaces/default/pods/p/status");
        assert_eq!((a.verb.as_str(), a.resource.as_str(), a.subresource.as_str()), ("update", "pods", "status"));
        // A namespace is in its own namespace.
        let a = attrs(Method::GET, "/api/v1/namespaces/foo");
        assert_eq!((a.resource.as_str(), a.name.as_str(), a.namespace.as_str()), ("namespaces", "foo", "foo"));
        let a = attrs(Method::PUT, "/api/v1/namespaces/foo/finalize");
        assert_eq!((a.resource.as_str(), a.subresource.as_str(), a.namespace.as_str()), ("namespaces", "finalize", "foo"));
        let a = attrs(Method::GET, "/api/v1/namespaces");
        assert_eq!((a.verb.as_str(), a.namespace.as_str()), ("list", ""));
        let a = attrs(Method::GET, "/api/v1/nodes/n1/proxy/metrics");
        assert_eq!((a.resource.as_str(), a.subresource.as_str()), ("nodes", "proxy"));
        for discovery in ["/api", "/api/v1", "/apis", "/apis/apps", "/apis/apps/v1", "/healthz", "/openapi/v2", "/version"] {
            let a = attrs(Method::GET, discovery);
            assert!(!a.resource_request, "{discovery}");
            assert_eq!(a.verb, "get");
        }
        assert_eq!(attrs(Method::POST, "/foo").verb, "post");
    }
}
