//! Authorization as kube-apiserver does it with `--authorization-mode=Node,RBAC`: the
//! privileged `system:masters` group, the Node authorizer, then RBAC (roles, bindings
//! indexed by subject, escalation checks, ClusterRole aggregation, the bootstrap
//! policy). Pure: the API server feeds it objects and asks it questions.

pub mod bootstrap;
pub mod node;
mod aggregate;
mod compiled;
mod policy;
mod rules;

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

pub use aggregate::{aggregate_all, aggregated_rules};
pub use policy::{Binding, Grant, Kind, Policy, RoleRef, Subject};
pub use rules::{compact, go_string_list, rules_from_json, rules_to_json, uncovered, PolicyRule};

use crate::gofmt::quote;

pub const GROUP: &str = "rbac.authorization.k8s.io";
/// Members may do anything (upstream's `user.SystemPrivilegedGroup`).
pub const SYSTEM_MASTERS: &str = "system:masters";
pub const ALL_AUTHENTICATED: &str = "system:authenticated";
pub const ALL_UNAUTHENTICATED: &str = "system:unauthenticated";
pub const ANONYMOUS: &str = "system:anonymous";
pub const SERVICE_ACCOUNT_PREFIX: &str = "system:serviceaccount:";
pub const SERVICE_ACCOUNTS_GROUP: &str = "system:serviceaccounts";
pub const AUTOUPDATE_ANNOTATION: &str = "rbac.authorization.kubernetes.io/autoupdate";

/// An authenticated (or anonymous) caller, as upstream's `user.Info`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UserInfo {
    pub name: String,
    pub uid: String,
    pub groups: Vec<String>,
    pub extra: BTreeMap<String, Vec<String>>,
}

impl UserInfo {
    pub fn in_group(&self, group: &str) -> bool {
        self.groups.iter().any(|g| g == group)
    }

    /// The caller as authentication.k8s.io's UserInfo (`username`, `uid`, `groups`, `extra`).
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("username".into(), json!(self.name));
        if !self.uid.is_empty() {
            m.insert("uid".into(), json!(self.uid));
        }
        m.insert("groups".into(), json!(self.groups));
        if !self.extra.is_empty() {
            m.insert("extra".into(), json!(self.extra));
        }
        Value::Object(m)
    }
}

/// `system:serviceaccount:<ns>:<name>`.
pub fn service_account_username(namespace: &str, name: &str) -> String {
    format!("{SERVICE_ACCOUNT_PREFIX}{namespace}:{name}")
}

/// The namespace and name a service account's user name carries (upstream's `SplitUsername`).
pub fn split_service_account_username(user: &str) -> Option<(&str, &str)> {
    let (ns, name) = user.strip_prefix(SERVICE_ACCOUNT_PREFIX)?.split_once(':')?;
    let valid = |s: &str| !s.is_empty() && !s.contains(':');
    (valid(ns) && valid(name)).then_some((ns, name))
}

/// The groups every service account of a namespace is in.
pub fn service_account_groups(namespace: &str) -> Vec<String> {
    vec![SERVICE_ACCOUNTS_GROUP.to_string(), format!("{SERVICE_ACCOUNTS_GROUP}:{namespace}")]
}

/// What a request asks to do, as upstream's `authorizer.Attributes`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Attributes {
    pub verb: String,
    pub resource_request: bool,
    pub namespace: String,
    pub api_group: String,
    pub api_version: String,
    pub resource: String,
    pub subresource: String,
    pub name: String,
    /// The request path (what non-resource rules match).
    pub path: String,
    /// The raw `fieldSelector` of a list or watch (the Node authorizer reads `spec.nodeName`).
    pub field_selector: String,
}

/// Why a request was allowed.
#[derive(Debug, Clone)]
pub enum Why {
    /// A member of `system:masters`.
    Superuser,
    /// The Node authorizer.
    Node,
    Rbac(Grant),
}

#[derive(Debug, Clone)]
pub enum Decision {
    Allow(Why),
    /// Not allowed; the reason upstream would give (often empty).
    Deny(String),
}

impl Decision {
    pub fn allowed(&self) -> bool {
        matches!(self, Decision::Allow(_))
    }

    /// The reason a SubjectAccessReview reports.
    pub fn reason(&self) -> String {
        match self {
            Decision::Allow(Why::Rbac(g)) => g.reason(),
            Decision::Allow(_) => String::new(),
            Decision::Deny(r) => r.clone(),
        }
    }
}

/// The union of the privileged group, the Node authorizer and RBAC, in that order.
pub fn authorize(policy: &Policy, graph: &dyn node::NodeGraph, user: &UserInfo, attrs: &Attributes) -> Decision {
    if user.in_group(SYSTEM_MASTERS) {
        return Decision::Allow(Why::Superuser);
    }
    let mut reasons = Vec::new();
    if let Some(node) = node::node_identity(user) {
        if node.is_empty() {
            reasons.push(format!("unknown node for user {}", quote(&user.name)));
        } else {
            match node::authorize(node, attrs, graph) {
                Ok(()) => return Decision::Allow(Why::Node),
                Err(r) if !r.is_empty() => reasons.push(r),
                Err(_) => {}
            }
        }
    }
    match policy.authorize(user, attrs) {
        Ok(grant) => Decision::Allow(Why::Rbac(grant)),
        Err(errors) => {
            if !errors.is_empty() {
                reasons.push(format!("RBAC: {}", aggregate_errors(&errors)));
            }
            Decision::Deny(reasons.join("\n"))
        }
    }
}

/// `utilerrors.NewAggregate(errs).Error()`: one message as is, several deduplicated in brackets.
pub fn aggregate_errors(errors: &[String]) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for e in errors {
        if !seen.contains(&e.as_str()) {
            seen.push(e);
        }
    }
    match seen.as_slice() {
        [one] => one.to_string(),
        many => format!("[{}]", many.join(", ")),
    }
}

/// The resource as upstream's `GroupResource.String()` names it: `deployments.apps`, `pods`.
pub fn group_resource(group: &str, resource: &str) -> String {
    if group.is_empty() {
        resource.to_string()
    } else {
        format!("{resource}.{group}")
    }
}

/// `NewForbidden`'s message around an inner error text.
pub fn forbidden(group: &str, resource: &str, name: &str, err: &str) -> String {
    if group.is_empty() && resource.is_empty() {
        format!("forbidden: {err}")
    } else if name.is_empty() {
        format!("{} is forbidden: {err}", group_resource(group, resource))
    } else {
        format!("{} {} is forbidden: {err}", group_resource(group, resource), quote(name))
    }
}

/// The message of an authorization denial (upstream's `responsewriters.Forbidden`).
pub fn forbidden_message(user: &str, a: &Attributes, reason: &str) -> String {
    let inner = if !a.resource_request {
        format!("User {} cannot {} path {}", quote(user), a.verb, quote(&a.path))
    } else {
        let mut resource = a.resource.clone();
        if !a.subresource.is_empty() {
            resource = format!("{resource}/{}", a.subresource);
        }
        let scope = if a.namespace.is_empty() {
            "at the cluster scope".to_string()
        } else {
            format!("in the namespace {}", quote(&a.namespace))
        };
        format!("User {} cannot {} resource {} in API group {} {scope}", quote(user), a.verb, quote(&resource), quote(&a.api_group))
    };
    // Upstream escapes what could read as HTML.
    let inner = inner.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    let inner = if reason.is_empty() { inner } else { format!("{inner}: {reason}") };
    if a.resource_request {
        forbidden(&a.api_group, &a.resource, &a.name, &inner)
    } else {
        forbidden("", "", "", &inner)
    }
}

#[cfg(test)]
mod tests;
