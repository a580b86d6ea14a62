//! Checks on writes that need the caller's permissions or identity: RBAC escalation
//! prevention (a Role or ClusterRole may only hold rules its author holds, unless the
//! author may `escalate`; a binding may only grant a role its author holds, unless the
//! author may `bind` it), and NodeRestriction (nodes write only their own objects).

use api::rbac::{self, node, Attributes, PolicyRule, RoleRef};
use serde_json::Value;

pub use api::rbac::node::Operation;

use super::Authz;
use crate::auth::User;
use crate::resources::Req;
use crate::status::{ApiError, ApiResult};

/// Admission for one write: `object` is what will be stored (create, update), `old`
/// the stored object (update, delete).
pub fn admit(req: &Req, op: Operation, object: Option<&Value>, old: Option<&Value>) -> ApiResult<()> {
    let def = req.def;
    let name = object.or(old).map(crate::objects::name).filter(|n| !n.is_empty()).unwrap_or(req.name()).to_string();
    if let Some(node_name) = node::node_identity(&req.user) {
        let write = node::Write {
            node: node_name,
            operation: op,
            api_group: def.group,
            resource: def.plural,
            subresource: req.subresource.as_deref().unwrap_or(""),
            name: &name,
            namespace: req.ns(),
            object,
            old,
        };
        if let Err(why) = node::admit(&write) {
            return Err(forbidden(def.group, def.plural, &name, &why));
        }
    }
    if def.group != rbac::GROUP || req.subresource.is_some() || op == Operation::Delete {
        return Ok(());
    }
    let Some(object) = object else { return Ok(()) };
    let authz = &req.srv.authz;
    if req.user.in_group(rbac::SYSTEM_MASTERS) {
        return Ok(());
    }
    let namespace = if def.namespaced { req.ns() } else { "" };
    match def.plural {
        "roles" | "clusterroles" => check_role(authz, &req.user, def.plural, namespace, &name, object, old),
        "rolebindings" | "clusterrolebindings" => check_binding(authz, &req.user, def.plural, namespace, &name, object, old),
        _ => Ok(()),
    }
}

fn forbidden(group: &str, resource: &str, name: &str, why: &str) -> ApiError {
    let mut details = serde_json::Map::new();
    if !name.is_empty() {
        details.insert("name".into(), name.into());
    }
    if !group.is_empty() {
        details.insert("group".into(), group.into());
    }
    details.insert("kind".into(), resource.into());
    ApiError::forbidden(rbac::forbidden(group, resource, name, why)).with_details(Value::Object(details))
}

fn allowed(authz: &Authz, user: &User, verb: &str, resource: &str, namespace: &str, name: &str) -> bool {
    let attrs = Attributes {
        verb: verb.into(),
        resource_request: true,
        api_group: rbac::GROUP.into(),
        api_version: "*".into(),
        resource: resource.into(),
        namespace: namespace.into(),
        name: name.into(),
        ..Default::default()
    };
    authz.authorize(user, &attrs).allowed()
}

/// `ConfirmNoEscalation`: Err(message) naming the rules the user does not hold.
fn confirm_no_escalation(authz: &Authz, user: &User, namespace: &str, rules: &[PolicyRule]) -> Result<(), String> {
    let (owner, errors) = authz.with_policy(|p| p.rules_for(user, namespace));
    let missing = rbac::uncovered(&owner, rules);
    if missing.is_empty() {
        return Ok(());
    }
    let mut described: Vec<String> = rbac::compact(missing).iter().map(PolicyRule::compact_string).collect();
    described.sort();
    described.dedup();
    let mut msg = format!(
        "user {} (groups={}) is attempting to grant RBAC permissions not currently held:\n{}",
        api::gofmt::quote(&user.name),
        rbac::go_string_list(&user.groups),
        described.join("\n")
    );
    if !errors.is_empty() {
        msg.push_str(&format!("; resolution errors: [{}]", errors.join(" ")));
    }
    Err(msg)
}

fn check_role(authz: &Authz, user: &User, resource: &str, namespace: &str, name: &str, obj: &Value, old: Option<&Value>) -> ApiResult<()> {
    if allowed(authz, user, "escalate", resource, namespace, name) {
        return Ok(());
    }
    let rules = rbac::rules_from_json(obj.get("rules"));
    confirm_no_escalation(authz, user, namespace, &rules).map_err(|m| forbidden(rbac::GROUP, resource, name, &m))?;
    // An aggregationRule can gather anything, so setting one takes full authority.
    let aggregation = |v: Option<&Value>| v.and_then(|v| v.get("aggregationRule")).filter(|a| !a.is_null()).cloned();
    if aggregation(Some(obj)).is_some() && aggregation(Some(obj)) != aggregation(old) {
        let full = [PolicyRule::resource("*", "*", "*"), PolicyRule::urls("*", "*")];
        if confirm_no_escalation(authz, user, namespace, &full).is_err() {
            return Err(forbidden(rbac::GROUP, resource, name, "must have cluster-admin privileges to use the aggregationRule"));
        }
    }
    Ok(())
}

/// Whether an update changes only what garbage collection changes.
fn only_gc_fields_change(obj: &Value, old: &Value) -> bool {
    let strip = |v: &Value| {
        let mut v = v.clone();
        if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
            for f in ["ownerReferences", "finalizers", "resourceVersion", "managedFields", "generation"] {
                m.remove(f);
            }
        }
        v
    };
    strip(obj) == strip(old)
}

fn check_binding(authz: &Authz, user: &User, resource: &str, namespace: &str, name: &str, obj: &Value, old: Option<&Value>) -> ApiResult<()> {
    if old.is_some_and(|old| only_gc_fields_change(obj, old)) {
        return Ok(());
    }
    let role_ref = RoleRef::from_json(&obj["roleRef"]);
    let role_resource = match role_ref.kind.as_str() {
        "ClusterRole" => "clusterroles",
        "Role" => "roles",
        _ => "",
    };
    if !role_resource.is_empty() && allowed(authz, user, "bind", role_resource, namespace, &role_ref.name) {
        return Ok(());
    }
    let rules = authz.with_policy(|p| p.role_ref_rules(&role_ref, namespace).map(|r| r.to_vec()));
    let rules = rules.map_err(|_| {
        let def = api::registry::find(rbac::GROUP, "v1", role_resource).unwrap_or(api::registry::find(rbac::GROUP, "v1", "clusterroles").unwrap());
        ApiError::not_found(def, &role_ref.name)
    })?;
    confirm_no_escalation(authz, user, namespace, &rules).map_err(|m| forbidden(rbac::GROUP, resource, name, &m))
}
