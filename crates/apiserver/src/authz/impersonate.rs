//! Impersonation (`Impersonate-User`, `-Group`, `-Uid`, `-Extra-<key>` headers): each
//! requested identity piece must be granted to the caller by the `impersonate` verb on
//! users, groups, serviceaccounts, uids or userextras/<key>; then the request runs as
//! the impersonated user.

use api::rbac::{self, Attributes};
use http::HeaderMap;

use super::{forbidden_error, Authz};
use crate::auth::User;
use crate::query::decode_component;
use crate::status::ApiError;

const USER: &str = "impersonate-user";
const GROUP: &str = "impersonate-group";
const UID: &str = "impersonate-uid";
const EXTRA_PREFIX: &str = "impersonate-extra-";

/// One identity piece to impersonate, as the attributes its authorization checks.
fn request(resource: &str, group: &str, name: &str, namespace: &str, subresource: &str) -> Attributes {
    Attributes {
        verb: "impersonate".into(),
        resource_request: true,
        api_group: group.into(),
        resource: resource.into(),
        subresource: subresource.into(),
        name: name.into(),
        namespace: namespace.into(),
        ..Default::default()
    }
}

fn values<'a>(headers: &'a HeaderMap, name: &str) -> Vec<&'a str> {
    headers.get_all(name).iter().filter_map(|v| v.to_str().ok()).collect()
}

/// The user a request acts as: the caller, or whom it may impersonate.
pub fn impersonate(authz: &Authz, headers: &HeaderMap, caller: User) -> Result<User, ApiError> {
    let user = headers.get(USER).and_then(|v| v.to_str().ok()).unwrap_or("");
    let groups = values(headers, GROUP);
    let uid = headers.get(UID).and_then(|v| v.to_str().ok()).unwrap_or("");
    let mut extras: Vec<(String, &str)> = Vec::new();
    for (name, value) in headers {
        if let Some(key) = name.as_str().strip_prefix(EXTRA_PREFIX) {
            if let Ok(v) = value.to_str() {
                extras.push((decode_component(key).to_lowercase(), v));
            }
        }
    }
    if user.is_empty() && groups.is_empty() && uid.is_empty() && extras.is_empty() {
        return Ok(caller);
    }
    if user.is_empty() {
        return Err(ApiError::bad_request(format!(
            "requested {} without impersonating a user",
            describe(&groups, uid, &extras)
        )));
    }
    let mut checks = Vec::new();
    let mut target = User::default();
    match rbac::split_service_account_username(user) {
        Some((ns, name)) => {
            checks.push(request("serviceaccounts", "", name, ns, ""));
            target.name = user.to_string();
            if groups.is_empty() {
                target.groups = rbac::service_account_groups(ns);
            }
        }
        None => {
            checks.push(request("users", "", user, "", ""));
            target.name = user.to_string();
        }
    }
    for g in &groups {
        checks.push(request("groups", "", g, "", ""));
        target.groups.push(g.to_string());
    }
    for (key, value) in &extras {
        checks.push(request("userextras", "authentication.k8s.io", value, "", key));
        target.extra.entry(key.clone()).or_default().push(value.to_string());
    }
    if !uid.is_empty() {
        checks.push(request("uids", "authentication.k8s.io", uid, "", ""));
        target.uid = uid.to_string();
    }
    for attrs in &checks {
        let decision = authz.authorize(&caller, attrs);
        if !decision.allowed() {
            return Err(forbidden_error(&caller, attrs, &decision.reason()));
        }
    }
    // Anonymous stays unauthenticated; everyone else is authenticated unless told otherwise.
    let has = |g: &str| target.groups.iter().any(|x| x == g);
    if target.name == rbac::ANONYMOUS {
        if !has(rbac::ALL_UNAUTHENTICATED) {
            target.groups.push(rbac::ALL_UNAUTHENTICATED.into());
        }
    } else if !has(rbac::ALL_AUTHENTICATED) && !has(rbac::ALL_UNAUTHENTICATED) {
        target.groups.push(rbac::ALL_AUTHENTICATED.into());
    }
    Ok(target)
}

/// The requested pieces as upstream prints its ObjectReference list.
fn describe(groups: &[&str], uid: &str, extras: &[(String, &str)]) -> String {
    let mut parts: Vec<String> = groups.iter().map(|g| format!("{{Group  {g}   }}")).collect();
    parts.extend(extras.iter().map(|(k, v)| format!("{{UserExtra  {v}  authentication.k8s.io/v1  {k}}}")));
    if !uid.is_empty() {
        parts.push(format!("{{UID  {uid}  authentication.k8s.io/v1  }}"));
    }
    format!("[{}]", parts.join(" "))
}
