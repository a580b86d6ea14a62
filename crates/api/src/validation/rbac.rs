//! Roles, ClusterRoles and their bindings.

use serde_json::Value;

use super::meta::{selector_matches, validate_label_selector};
use super::names::{is_path_segment_name, name_is_dns_subdomain};
use super::util::{arr, each_invalid, get, s, sem_eq, sv, Errs, Path};
use super::Op;
use crate::errors::FieldError;

const GROUP: &str = "rbac.authorization.k8s.io";

fn validate_rule(rule: &Value, namespaced: bool, p: &Path) -> Errs {
    let mut errs = Vec::new();
    if arr(rule, "verbs").is_empty() {
        errs.push(FieldError::required(p.ch("verbs"), "verbs must contain at least one value"));
    }
    let urls = arr(rule, "nonResourceURLs");
    if !urls.is_empty() {
        let shown = Value::Array(urls.to_vec());
        if namespaced {
            errs.push(FieldError::invalid(p.ch("nonResourceURLs"), shown.clone(), "namespaced rules cannot apply to non-resource URLs"));
        }
        if !arr(rule, "apiGroups").is_empty() || !arr(rule, "resources").is_empty() || !arr(rule, "resourceNames").is_empty() {
            errs.push(FieldError::invalid(p.ch("nonResourceURLs"), shown, "rules cannot apply to both regular resources and non-resource URLs"));
        }
        return errs;
    }
    if arr(rule, "apiGroups").is_empty() {
        errs.push(FieldError::required(p.ch("apiGroups"), "resource rules must supply at least one api group"));
    }
    if arr(rule, "resources").is_empty() {
        errs.push(FieldError::required(p.ch("resources"), "resource rules must supply at least one resource"));
    }
    if !arr(rule, "resourceNames").is_empty() && arr(rule, "resources").len() > 1 {
        errs.push(FieldError::required(p.ch("resourceNames"), "resource names cannot apply to multiple resources"));
    }
    errs
}

fn validate_rules(o: &Value, namespaced: bool) -> Errs {
    arr(o, "rules").iter().enumerate().flat_map(|(i, r)| validate_rule(r, namespaced, &Path::new("rules").ix(i))).collect()
}

pub fn validate_role(o: &Value, _op: Op) -> Errs {
    validate_rules(o, true)
}

pub fn validate_cluster_role(o: &Value, _op: Op) -> Errs {
    let mut errs = validate_rules(o, false);
    if let Some(agg) = get(o, "aggregationRule") {
        let p = Path::new("aggregationRule").ch("clusterRoleSelectors");
        let sels = arr(agg, "clusterRoleSelectors");
        if sels.is_empty() {
            errs.push(FieldError::required(&p, "at least one clusterRoleSelector required if aggregationRule is non-nil"));
        }
        for (i, sel) in sels.iter().enumerate() {
            errs.extend(validate_label_selector(Some(sel), &p.ix(i)));
            if selector_matches(Some(sel), None).is_none() {
                errs.push(FieldError::invalid(p.ix(i), sel.clone(), "invalid label selector."));
            }
        }
    }
    errs
}

fn validate_subject(sub: &Value, namespaced: bool, p: &Path) -> Errs {
    let (name, group) = (s(sub, "name"), s(sub, "apiGroup"));
    let mut errs = Vec::new();
    if name.is_empty() {
        errs.push(FieldError::required(p.ch("name"), ""));
    }
    match s(sub, "kind") {
        "ServiceAccount" => {
            if !name.is_empty() {
                errs.extend(each_invalid(&p.ch("name"), name, name_is_dns_subdomain(name, false)));
            }
            if !group.is_empty() {
                errs.push(FieldError::not_supported(p.ch("apiGroup"), sv(group), &[""]));
            }
            if !namespaced && s(sub, "namespace").is_empty() {
                errs.push(FieldError::required(p.ch("namespace"), ""));
            }
        }
        kind @ ("User" | "Group") => {
            if name.is_empty() {
                let what = if kind == "User" { "user" } else { "group" };
                errs.push(FieldError::invalid(p.ch("name"), sv(name), format!("{what} name cannot be empty")));
            }
            if group != GROUP {
                errs.push(FieldError::not_supported(p.ch("apiGroup"), sv(group), &[GROUP]));
            }
        }
        kind => errs.push(FieldError::not_supported(p.ch("kind"), sv(kind), &["ServiceAccount", "User", "Group"])),
    }
    errs
}

fn validate_binding(o: &Value, op: Op, namespaced: bool) -> Errs {
    let rr = get(o, "roleRef").cloned().unwrap_or_default();
    let p = Path::new("roleRef");
    let mut errs = Vec::new();
    if s(&rr, "apiGroup") != GROUP {
        errs.push(FieldError::not_supported(p.ch("apiGroup"), sv(s(&rr, "apiGroup")), &[GROUP]));
    }
    let kinds: &[&str] = if namespaced { &["Role", "ClusterRole"] } else { &["ClusterRole"] };
    if !kinds.contains(&s(&rr, "kind")) {
        errs.push(FieldError::not_supported(p.ch("kind"), sv(s(&rr, "kind")), kinds));
    }
    let name = s(&rr, "name");
    if name.is_empty() {
        errs.push(FieldError::required(p.ch("name"), ""));
    } else {
        errs.extend(each_invalid(&p.ch("name"), name, is_path_segment_name(name)));
    }
    for (i, sub) in arr(o, "subjects").iter().enumerate() {
        errs.extend(validate_subject(sub, namespaced, &Path::new("subjects").ix(i)));
    }
    if let Op::Update(old) = op {
        if !sem_eq(get(o, "roleRef"), get(old, "roleRef")) {
            errs.push(FieldError::invalid(p, rr.clone(), "cannot change roleRef"));
        }
    }
    errs
}

pub fn validate_role_binding(o: &Value, op: Op) -> Errs {
    validate_binding(o, op, true)
}

pub fn validate_cluster_role_binding(o: &Value, op: Op) -> Errs {
    validate_binding(o, op, false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    use crate::validation::util::msgs;

    #[test]
    fn rules() {
        let r = json!({"rules": [{"verbs": []}, {"verbs": ["get"], "nonResourceURLs": ["/healthz"]}]});
        assert_eq!(msgs(validate_role(&r, Op::Create)), vec![
            "rules[0].verbs: Required value: verbs must contain at least one value",
            "rules[0].apiGroups: Required value: resource rules must supply at least one api group",
            "rules[0].resources: Required value: resource rules must supply at least one resource",
            "rules[1].nonResourceURLs: Invalid value: [\"/healthz\"]: namespaced rules cannot apply to non-resource URLs",
        ]);
        assert!(validate_cluster_role(&json!({"rules": [{"verbs": ["get"], "nonResourceURLs": ["/x"]}]}), Op::Create).is_empty());
    }

    #[test]
    fn bindings() {
        let b = json!({"roleRef": {"apiGroup": GROUP, "kind": "Role", "name": "r"}, "subjects": [{"kind": "Robot", "name": "x"}, {"kind": "ServiceAccount", "name": "sa"}]});
        assert_eq!(msgs(validate_cluster_role_binding(&b, Op::Create)), vec![
            "roleRef.kind: Unsupported value: \"Role\": supported values: \"ClusterRole\"",
            "subjects[0].kind: Unsupported value: \"Robot\": supported values: \"ServiceAccount\", \"User\", \"Group\"",
            "subjects[1].namespace: Required value",
        ]);
        let old = json!({"roleRef": {"apiGroup": GROUP, "kind": "Role", "name": "r"}});
        let new = json!({"roleRef": {"apiGroup": GROUP, "kind": "Role", "name": "r2"}});
        assert_eq!(msgs(validate_role_binding(&new, Op::Update(&old))), vec!["roleRef: Invalid value: {\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":\"Role\",\"name\":\"r2\"}: cannot change roleRef"]);
    }
}
