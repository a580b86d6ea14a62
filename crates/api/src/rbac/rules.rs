//! Policy rules: matching a request (upstream's `RuleAllows`), the escalation check
//! (`Covers`: every atomic piece of a rule must be held by one owner rule), and the
//! compact text upstream prints in escalation errors.

use serde_json::{json, Map, Value};

use super::Attributes;
use crate::gofmt::quote;

/// An `rbac.authorization.k8s.io/v1` PolicyRule.
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash, PartialOrd, Ord)]
pub struct PolicyRule {
    pub verbs: Vec<String>,
    pub api_groups: Vec<String>,
    pub resources: Vec<String>,
    pub resource_names: Vec<String>,
    pub non_resource_urls: Vec<String>,
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default()
}

fn sorted(list: &str) -> Vec<String> {
    let mut v: Vec<String> = list.split(',').map(str::to_string).collect();
    v.sort();
    v.dedup();
    v
}

impl PolicyRule {
    pub fn from_json(v: &Value) -> PolicyRule {
        PolicyRule {
            verbs: strings(v.get("verbs")),
            api_groups: strings(v.get("apiGroups")),
            resources: strings(v.get("resources")),
            resource_names: strings(v.get("resourceNames")),
            non_resource_urls: strings(v.get("nonResourceURLs")),
        }
    }

    /// The rule as JSON, fields in upstream's order (`verbs` is never omitted).
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("verbs".into(), json!(self.verbs));
        let mut opt = |k: &str, v: &Vec<String>| {
            if !v.is_empty() {
                m.insert(k.into(), json!(v));
            }
        };
        opt("apiGroups", &self.api_groups);
        opt("resources", &self.resources);
        opt("resourceNames", &self.resource_names);
        opt("nonResourceURLs", &self.non_resource_urls);
        Value::Object(m)
    }

    /// A resource rule from comma-separated lists (`""` is the core group), sorted as
    /// upstream's rule builder sorts them.
    pub fn resource(verbs: &str, groups: &str, resources: &str) -> PolicyRule {
        PolicyRule { verbs: sorted(verbs), api_groups: sorted(groups), resources: sorted(resources), ..Default::default() }
    }

    /// A non-resource rule from comma-separated lists.
    pub fn urls(verbs: &str, urls: &str) -> PolicyRule {
        PolicyRule { verbs: sorted(verbs), non_resource_urls: sorted(urls), ..Default::default() }
    }

    /// Restricts the rule to the named objects.
    pub fn names(mut self, names: &str) -> PolicyRule {
        self.resource_names = sorted(names);
        self
    }

    fn verb_matches(&self, verb: &str) -> bool {
        self.verbs.iter().any(|v| v == "*" || v == verb)
    }

    /// Whether this rule grants the request (upstream's `RuleAllows`).
    pub fn allows(&self, a: &Attributes) -> bool {
        if !a.resource_request {
            return self.verb_matches(&a.verb) && self.non_resource_urls.iter().any(|u| url_matches(u, &a.path));
        }
        self.verb_matches(&a.verb)
            && self.api_groups.iter().any(|g| g == "*" || *g == a.api_group)
            && self.resources.iter().any(|r| resource_matches(r, &a.resource, &a.subresource))
            && (self.resource_names.is_empty() || self.resource_names.contains(&a.name))
    }

    /// `rbacv1helpers.CompactString`: `{APIGroups:["apps"], Resources:["deployments"], Verbs:["get"]}`.
    pub fn compact_string(&self) -> String {
        let mut parts = Vec::new();
        for (label, v) in [
            ("APIGroups", &self.api_groups),
            ("Resources", &self.resources),
            ("NonResourceURLs", &self.non_resource_urls),
            ("ResourceNames", &self.resource_names),
            ("Verbs", &self.verbs),
        ] {
            if !v.is_empty() {
                parts.push(format!("{label}:{}", go_string_list(v)));
            }
        }
        format!("{{{}}}", parts.join(", "))
    }
}

/// Go's `%q` of a `[]string`: `["a" "b"]`.
pub fn go_string_list(v: &[String]) -> String {
    let quoted: Vec<String> = v.iter().map(|s| quote(s)).collect();
    format!("[{}]", quoted.join(" "))
}

/// Rules from a role's `rules` array (absent or null means none).
pub fn rules_from_json(v: Option<&Value>) -> Vec<PolicyRule> {
    v.and_then(Value::as_array).map(|a| a.iter().map(PolicyRule::from_json).collect()).unwrap_or_default()
}

pub fn rules_to_json(rules: &[PolicyRule]) -> Value {
    Value::Array(rules.iter().map(PolicyRule::to_json).collect())
}

fn resource_matches(rule: &str, resource: &str, sub: &str) -> bool {
    if rule == "*" {
        return true;
    }
    if sub.is_empty() {
        return rule == resource;
    }
    // `resource/subresource` exactly, or `*/subresource`.
    match rule.split_once('/') {
        Some((r, s)) => s == sub && (r == "*" || r == resource),
        None => false,
    }
}

fn url_matches(rule: &str, path: &str) -> bool {
    rule == "*" || rule == path || url_covers(rule, path)
}

/// `BreakdownRule`: one rule per group × resource × verb (× name), and per URL × verb.
pub fn breakdown(rule: &PolicyRule) -> Vec<PolicyRule> {
    let one = |s: &String| vec![s.clone()];
    let mut out = Vec::new();
    for g in &rule.api_groups {
        for r in &rule.resources {
            for v in &rule.verbs {
                let base = PolicyRule { api_groups: one(g), resources: one(r), verbs: one(v), ..Default::default() };
                if rule.resource_names.is_empty() {
                    out.push(base);
                } else {
                    for n in &rule.resource_names {
                        out.push(PolicyRule { resource_names: one(n), ..base.clone() });
                    }
                }
            }
        }
    }
    for u in &rule.non_resource_urls {
        for v in &rule.verbs {
            out.push(PolicyRule { non_resource_urls: one(u), verbs: one(v), ..Default::default() });
        }
    }
    out
}

fn has(set: &[String], s: &str) -> bool {
    set.iter().any(|x| x == s)
}

fn has_all(set: &[String], want: &[String]) -> bool {
    want.iter().all(|w| has(set, w))
}

/// Whether `owner` holds everything in `sub` (an atomic rule from `breakdown`).
fn rule_covers(owner: &PolicyRule, sub: &PolicyRule) -> bool {
    let verbs = has(&owner.verbs, "*") || has_all(&owner.verbs, &sub.verbs);
    let groups = has(&owner.api_groups, "*") || has_all(&owner.api_groups, &sub.api_groups);
    let resources = has(&owner.resources, "*")
        || sub.resources.iter().all(|r| {
            has(&owner.resources, r)
                || r.split_once('/').is_some_and(|(_, s)| has(&owner.resources, &format!("*/{s}")))
        });
    let urls = sub.non_resource_urls.iter().all(|p| owner.non_resource_urls.iter().any(|o| o == p || url_covers(o, p)));
    let names = owner.resource_names.is_empty() || (!sub.resource_names.is_empty() && has_all(&owner.resource_names, &sub.resource_names));
    verbs && groups && resources && urls && names
}

/// A `prefix*` URL rule holds every path under the prefix.
fn url_covers(owner: &str, path: &str) -> bool {
    owner.ends_with('*') && path.starts_with(owner.trim_end_matches('*'))
}

/// `Covers`: the atomic pieces of `servant` that no rule of `owner` holds (empty when
/// the owner's rules cover everything).
pub fn uncovered(owner: &[PolicyRule], servant: &[PolicyRule]) -> Vec<PolicyRule> {
    servant.iter().flat_map(breakdown).filter(|sub| !owner.iter().any(|o| rule_covers(o, sub))).collect()
}

/// `CompactRules`: merges single group/resource rules that differ only by verb.
pub fn compact(rules: Vec<PolicyRule>) -> Vec<PolicyRule> {
    let mut out: Vec<PolicyRule> = Vec::new();
    let mut simple: Vec<PolicyRule> = Vec::new();
    for rule in rules {
        let is_simple = rule.resource_names.is_empty()
            && rule.non_resource_urls.is_empty()
            && rule.api_groups.len() == 1
            && rule.resources.len() == 1;
        if !is_simple {
            out.push(rule);
            continue;
        }
        match simple.iter_mut().find(|s| s.api_groups == rule.api_groups && s.resources == rule.resources) {
            Some(s) => s.verbs.extend(rule.verbs),
            None => simple.push(rule),
        }
    }
    out.extend(simple);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(verb: &str, group: &str, resource: &str, sub: &str, name: &str) -> Attributes {
        Attributes {
            verb: verb.into(),
            resource_request: true,
            api_group: group.into(),
            resource: resource.into(),
            subresource: sub.into(),
            name: name.into(),
            namespace: "ns".into(),
            ..Default::default()
        }
    }

    fn path(verb: &str, p: &str) -> Attributes {
        Attributes { verb: verb.into(), path: p.into(), ..Default::default() }
    }

    #[test]
    fn matches_verbs_groups_resources_and_names() {
        let r = PolicyRule::resource("get,list", "apps", "deployments");
        assert!(r.allows(&res("get", "apps", "deployments", "", "x")));
        assert!(!r.allows(&res("delete", "apps", "deployments", "", "x")));
        assert!(!r.allows(&res("get", "", "deployments", "", "x")));
        assert!(!r.allows(&res("get", "apps", "deployments", "scale", "x")));
        let star = PolicyRule::resource("*", "*", "*");
        assert!(star.allows(&res("escalate", "rbac.authorization.k8s.io", "roles", "", "")));
        assert!(star.allows(&res("get", "", "pods", "log", "p")));
        let sub = PolicyRule::resource("get", "", "pods/log");
        assert!(sub.allows(&res("get", "", "pods", "log", "p")));
        assert!(!sub.allows(&res("get", "", "pods", "", "p")));
        let any_scale = PolicyRule::resource("get", "*", "*/scale");
        assert!(any_scale.allows(&res("get", "apps", "deployments", "scale", "d")));
        assert!(!any_scale.allows(&res("get", "apps", "deployments", "status", "d")));
        assert!(!any_scale.allows(&res("get", "apps", "deployments", "", "d")));
        let named = PolicyRule::resource("get", "", "configmaps").names("a,b");
        assert!(named.allows(&res("get", "", "configmaps", "", "b")));
        assert!(!named.allows(&res("get", "", "configmaps", "", "c")));
        assert!(!named.allows(&res("list", "", "configmaps", "", "")));
        // A resource rule never grants a path, and the other way round.
        assert!(!star.allows(&path("get", "/healthz")));
        assert!(!PolicyRule::urls("get", "*").allows(&res("get", "", "pods", "", "")));
    }

    #[test]
    fn matches_non_resource_urls_with_star_suffix() {
        let r = PolicyRule::urls("get", "/api,/api/*,/healthz");
        assert!(r.allows(&path("get", "/api")));
        assert!(r.allows(&path("get", "/api/v1")));
        assert!(!r.allows(&path("get", "/apis")));
        assert!(!r.allows(&path("post", "/healthz")));
        assert!(PolicyRule::urls("*", "*").allows(&path("delete", "/anything")));
    }

    #[test]
    fn covers_breaks_rules_down() {
        let owner = vec![PolicyRule::resource("get,list,watch", "", "pods,secrets"), PolicyRule::resource("get", "*", "*/scale")];
        assert!(uncovered(&owner, &[PolicyRule::resource("get,list", "", "pods")]).is_empty());
        assert!(uncovered(&owner, &[PolicyRule::resource("get", "apps", "deployments/scale")]).is_empty());
        assert!(uncovered(&owner, &[PolicyRule::resource("get", "", "secrets").names("x")]).is_empty());
        let missing = uncovered(&owner, &[PolicyRule::resource("get,create,delete", "", "pods,configmaps")]);
        assert_eq!(missing.len(), 5);
        let compacted = compact(missing);
        let mut text: Vec<String> = compacted.iter().map(PolicyRule::compact_string).collect();
        text.sort();
        assert_eq!(
            text,
            [
                r#"{APIGroups:[""], Resources:["configmaps"], Verbs:["create" "delete" "get"]}"#,
                r#"{APIGroups:[""], Resources:["pods"], Verbs:["create" "delete"]}"#,
            ]
        );
        // Named owner rules cover only those names.
        let named = vec![PolicyRule::resource("get", "", "secrets").names("a")];
        assert_eq!(uncovered(&named, &[PolicyRule::resource("get", "", "secrets")]).len(), 1);
        let urls = vec![PolicyRule::urls("get", "/logs/*")];
        assert!(uncovered(&urls, &[PolicyRule::urls("get", "/logs/a,/logs/*")]).is_empty());
        assert_eq!(uncovered(&urls, &[PolicyRule::urls("get", "/metrics")]).len(), 1);
    }

    #[test]
    fn json_round_trip_keeps_upstream_field_order() {
        let r = PolicyRule::resource("get", "", "configmaps").names("x");
        assert_eq!(
            serde_json::to_string(&r.to_json()).unwrap(),
            r#"{"verbs":["get"],"apiGroups":[""],"resources":["configmaps"],"resourceNames":["x"]}"#
        );
        assert_eq!(PolicyRule::from_json(&r.to_json()), r);
    }
}
