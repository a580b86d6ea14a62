//! Matching helpers shared by plugins: tolerations vs taints, node selectors, label
//! selectors.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{NodeSelectorRequirement, NodeSelectorTerm, Taint, Toleration};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

pub use controllers::pods::tolerates;

pub fn tolerations_tolerate(tolerations: &[Toleration], taint: &Taint) -> bool {
    tolerations.iter().any(|t| tolerates(t, taint))
}

/// The first taint passing `filter` that no toleration tolerates.
pub fn find_untolerated<'a>(
    taints: &'a [Taint],
    tolerations: &[Toleration],
    filter: impl Fn(&Taint) -> bool,
) -> Option<&'a Taint> {
    taints.iter().filter(|t| filter(t)).find(|t| !tolerations_tolerate(tolerations, t))
}

fn requirement_matches(r: &NodeSelectorRequirement, value: Option<&str>) -> bool {
    let values = r.values.as_deref().unwrap_or(&[]);
    match r.operator.as_str() {
        "In" => value.is_some_and(|v| values.iter().any(|x| x == v)),
        "NotIn" => !value.is_some_and(|v| values.iter().any(|x| x == v)),
        "Exists" => value.is_some(),
        "DoesNotExist" => value.is_none(),
        op @ ("Gt" | "Lt") => {
            let (Some(v), [bound]) = (value, values) else { return false };
            match (v.parse::<i64>(), bound.parse::<i64>()) {
                (Ok(v), Ok(b)) => if op == "Gt" { v > b } else { v < b },
                _ => false,
            }
        }
        _ => false,
    }
}

/// Whether a node (by labels and name) matches one NodeSelectorTerm. A term with no
/// requirements matches nothing; `matchFields` supports only `metadata.name`.
pub fn node_matches_term(term: &NodeSelectorTerm, labels: Option<&BTreeMap<String, String>>, node_name: &str) -> bool {
    let exprs = term.match_expressions.as_deref().unwrap_or(&[]);
    let fields = term.match_fields.as_deref().unwrap_or(&[]);
    if exprs.is_empty() && fields.is_empty() {
        return false;
    }
    let exprs_ok = exprs.iter().all(|r| requirement_matches(r, labels.and_then(|l| l.get(&r.key)).map(String::as_str)));
    let fields_ok = fields.iter().all(|r| {
        r.key == "metadata.name" && matches!(r.operator.as_str(), "In" | "NotIn") && requirement_matches(r, Some(node_name))
    });
    exprs_ok && fields_ok
}

/// Terms are ORed.
pub fn node_matches_terms(terms: &[NodeSelectorTerm], labels: Option<&BTreeMap<String, String>>, node_name: &str) -> bool {
    terms.iter().any(|t| node_matches_term(t, labels, node_name))
}

/// A metav1.LabelSelector against labels. `None` matches nothing, `{}` everything.
pub fn label_selector_matches(sel: Option<&LabelSelector>, labels: Option<&BTreeMap<String, String>>) -> bool {
    let Some(sel) = sel else { return false };
    let get = |k: &str| labels.and_then(|l| l.get(k)).map(String::as_str);
    let labels_ok = sel.match_labels.iter().flatten().all(|(k, v)| get(k) == Some(v.as_str()));
    let exprs_ok = sel.match_expressions.iter().flatten().all(|r| {
        let values = r.values.as_deref().unwrap_or(&[]);
        let v = get(&r.key);
        match r.operator.as_str() {
            "In" => v.is_some_and(|v| values.iter().any(|x| x == v)),
            "NotIn" => !v.is_some_and(|v| values.iter().any(|x| x == v)),
            "Exists" => v.is_some(),
            "DoesNotExist" => v.is_none(),
            _ => false,
        }
    });
    labels_ok && exprs_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn taint(k: &str, v: &str, e: &str) -> Taint {
        Taint { key: k.into(), value: Some(v.into()), effect: e.into(), time_added: None }
    }
    fn tol(k: &str, op: &str, v: &str, e: &str) -> Toleration {
        let s = |x: &str| if x.is_empty() { None } else { Some(x.to_string()) };
        Toleration { key: s(k), operator: s(op), value: s(v), effect: s(e), toleration_seconds: None }
    }

    #[test]
    fn toleration_semantics() {
        let t = taint("k", "v", "NoSchedule");
        assert!(tolerates(&tol("k", "Equal", "v", "NoSchedule"), &t));
        assert!(tolerates(&tol("k", "", "v", ""), &t));
        assert!(!tolerates(&tol("k", "Equal", "x", ""), &t));
        assert!(tolerates(&tol("k", "Exists", "", ""), &t));
        assert!(tolerates(&tol("", "Exists", "", ""), &t));
        assert!(!tolerates(&tol("k", "Exists", "", "NoExecute"), &t));
        assert!(!tolerates(&tol("other", "Exists", "", ""), &t));
    }

    fn req(k: &str, op: &str, vals: &[&str]) -> NodeSelectorRequirement {
        NodeSelectorRequirement { key: k.into(), operator: op.into(), values: Some(vals.iter().map(|s| s.to_string()).collect()) }
    }

    #[test]
    fn node_selector_terms() {
        let labels: BTreeMap<String, String> = [("zone".to_string(), "a".to_string()), ("n".to_string(), "5".to_string())].into();
        let l = Some(&labels);
        let term = |e: Vec<NodeSelectorRequirement>, f: Vec<NodeSelectorRequirement>| NodeSelectorTerm {
            match_expressions: Some(e),
            match_fields: Some(f),
        };
        assert!(node_matches_term(&term(vec![req("zone", "In", &["a", "b"])], vec![]), l, "n1"));
        assert!(!node_matches_term(&term(vec![req("zone", "NotIn", &["a"])], vec![]), l, "n1"));
        assert!(node_matches_term(&term(vec![req("n", "Gt", &["4"]), req("n", "Lt", &["6"])], vec![]), l, "n1"));
        assert!(node_matches_term(&term(vec![req("x", "DoesNotExist", &[])], vec![]), l, "n1"));
        assert!(node_matches_term(&term(vec![], vec![req("metadata.name", "In", &["n1"])]), l, "n1"));
        assert!(!node_matches_term(&term(vec![], vec![req("metadata.name", "In", &["n1"])]), l, "n2"));
        assert!(!node_matches_term(&term(vec![], vec![]), l, "n1"));
    }
}
