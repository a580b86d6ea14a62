//! ClusterRole aggregation (upstream's clusterrole-aggregation controller): a role with
//! an `aggregationRule` gets the rules of every ClusterRole its selectors match.

use serde_json::Value;

use super::rules::{rules_from_json, rules_to_json, PolicyRule};
use crate::selector::LabelSelector;

/// The rules an aggregated ClusterRole should have, given every ClusterRole; None when
/// `role` has no aggregationRule. Matching roles are taken by name, selector by
/// selector, and each rule appears once.
pub fn aggregated_rules(role: &Value, all: &[&Value]) -> Option<Vec<PolicyRule>> {
    let selectors = role.get("aggregationRule")?.get("clusterRoleSelectors")?.as_array()?;
    let name = role["metadata"]["name"].as_str().unwrap_or("");
    let mut sorted: Vec<&&Value> = all.iter().collect();
    sorted.sort_by_key(|r| r["metadata"]["name"].as_str().unwrap_or(""));
    let mut rules: Vec<PolicyRule> = Vec::new();
    for sel in selectors {
        let Ok(selector) = LabelSelector::from_label_selector(Some(sel)) else { continue };
        for other in &sorted {
            if other["metadata"]["name"].as_str() == Some(name) {
                continue;
            }
            if !selector.matches(other["metadata"]["labels"].as_object()) {
                continue;
            }
            for rule in rules_from_json(other.get("rules")) {
                if !rules.contains(&rule) {
                    rules.push(rule);
                }
            }
        }
    }
    Some(rules)
}

/// Aggregates every role of `roles` until nothing changes (aggregated roles may
/// aggregate others, as `admin` gathers `edit`); returns the indices that changed.
pub fn aggregate_all(roles: &mut [Value]) -> Vec<usize> {
    let mut changed = Vec::new();
    for _ in 0..8 {
        let mut round = false;
        for i in 0..roles.len() {
            let refs: Vec<&Value> = roles.iter().collect();
            let Some(rules) = aggregated_rules(refs[i], &refs) else { continue };
            if rules != rules_from_json(roles[i].get("rules")) {
                roles[i]["rules"] = rules_to_json(&rules);
                round = true;
                if !changed.contains(&i) {
                    changed.push(i);
                }
            }
        }
        if !round {
            break;
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn gathers_rules_of_matching_roles_once() {
        let edit = json!({"metadata": {"name": "edit"}, "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"agg": "edit"}}]}});
        let a = json!({"metadata": {"name": "b-role", "labels": {"agg": "edit"}}, "rules": [{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}]});
        let b = json!({"metadata": {"name": "a-role", "labels": {"agg": "edit"}}, "rules": [
            {"verbs": ["list"], "apiGroups": [""], "resources": ["pods"]},
            {"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}]});
        let other = json!({"metadata": {"name": "c", "labels": {"agg": "view"}}, "rules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}]});
        let rules = aggregated_rules(&edit, &[&edit, &a, &b, &other]).unwrap();
        let verbs: Vec<&str> = rules.iter().map(|r| r.verbs[0].as_str()).collect();
        assert_eq!(verbs, ["list", "get"]);
        assert!(aggregated_rules(&a, &[&a]).is_none());
    }
}
