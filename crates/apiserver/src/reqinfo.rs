//! Parses a request path into what it addresses, as upstream's RequestInfoFactory:
//! `/api/v1/namespaces/ns/pods/name/status`, `/apis/apps/v1/deployments`, ...

/// The resource a request addresses.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ResourcePath {
    pub group: String,
    pub version: String,
    pub namespace: Option<String>,
    pub resource: String,
    pub name: Option<String>,
    pub subresource: Option<String>,
}

/// What a path addresses: discovery documents or a resource.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// `/api` or `/apis`.
    Root { legacy: bool },
    /// `/apis/<group>`.
    Group(String),
    /// `/api/v1` or `/apis/<group>/<version>`.
    GroupVersion { group: String, version: String },
    Resource(ResourcePath),
}

pub fn parse(path: &str) -> Option<Target> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, version, rest) = match parts.as_slice() {
        ["api"] => return Some(Target::Root { legacy: true }),
        ["apis"] => return Some(Target::Root { legacy: false }),
        ["apis", g] => return Some(Target::Group(g.to_string())),
        ["api", v, rest @ ..] => ("", *v, rest),
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        _ => return None,
    };
    if rest.is_empty() {
        return Some(Target::GroupVersion { group: group.into(), version: version.into() });
    }
    if rest.iter().any(|p| p.is_empty()) {
        return None;
    }
    let mut rp = ResourcePath { group: group.into(), version: version.into(), ..Default::default() };
    let mut rest = rest;
    if rest[0] == "namespaces" && rest.len() > 1 {
        // `namespaces/<ns>` and `namespaces/<ns>/status|finalize` address the namespace itself.
        let is_namespace_itself = rest.len() == 2 || (rest.len() == 3 && matches!(rest[2], "status" | "finalize"));
        if !is_namespace_itself {
            rp.namespace = Some(rest[1].to_string());
            rest = &rest[2..];
        }
    }
    rp.resource = rest[0].to_string();
    match rest.len() {
        1 => {}
        2 => rp.name = Some(rest[1].to_string()),
        _ => {
            rp.name = Some(rest[1].to_string());
            rp.subresource = Some(rest[2..].join("/"));
        }
    }
    Some(Target::Resource(rp))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(path: &str) -> ResourcePath {
        match parse(path) {
            Some(Target::Resource(r)) => r,
            other => panic!("{path}: {other:?}"),
        }
    }

    #[test]
    fn parses_resource_paths() {
        let r = res("/api/v1/namespaces/default/pods/web/status");
        assert_eq!((r.namespace.as_deref(), r.resource.as_str()), (Some("default"), "pods"));
        assert_eq!((r.name.as_deref(), r.subresource.as_deref()), (Some("web"), Some("status")));
        let r = res("/apis/apps/v1/deployments");
        assert_eq!((r.group.as_str(), r.resource.as_str(), r.name), ("apps", "deployments", None));
        let r = res("/api/v1/namespaces/kube-system");
        assert_eq!((r.resource.as_str(), r.name.as_deref(), r.namespace), ("namespaces", Some("kube-system"), None));
        let r = res("/api/v1/namespaces/ns1/finalize");
        assert_eq!((r.name.as_deref(), r.subresource.as_deref()), (Some("ns1"), Some("finalize")));
        let r = res("/api/v1/nodes/n1/proxy/metrics/x");
        assert_eq!(r.subresource.as_deref(), Some("proxy/metrics/x"));
        assert_eq!(parse("/apis"), Some(Target::Root { legacy: false }));
        assert_eq!(parse("/apis/apps"), Some(Target::Group("apps".into())));
        assert_eq!(parse("/api/v1"), Some(Target::GroupVersion { group: "".into(), version: "v1".into() }));
        assert_eq!(parse("/foo"), None);
    }
}
