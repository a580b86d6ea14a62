//! Compiled label selectors (upstream `labels.Selector`) and namespace labels.
//!
//! Plugins evaluate the same selector against thousands of pods per cycle, so a
//! `metav1.LabelSelector` is converted once into a flat list of requirements.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

/// The label every namespace carries (set by the apiserver) with its own name.
pub const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    In,
    NotIn,
    Exists,
    DoesNotExist,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    pub key: String,
    pub op: Op,
    pub values: Vec<String>,
}

impl Requirement {
    fn matches(&self, value: Option<&str>) -> bool {
        match self.op {
            Op::In => value.is_some_and(|v| self.values.iter().any(|x| x == v)),
            Op::NotIn => !value.is_some_and(|v| self.values.iter().any(|x| x == v)),
            Op::Exists => value.is_some(),
            Op::DoesNotExist => value.is_none(),
        }
    }
}

/// A parsed selector. `nothing` is upstream's `labels.Nothing()` (what a nil
/// `*LabelSelector` converts to); no requirements is `labels.Everything()`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    pub requirements: Vec<Requirement>,
    pub nothing: bool,
}

impl Selector {
    pub fn nothing() -> Selector {
        Selector { requirements: Vec::new(), nothing: true }
    }

    pub fn everything() -> Selector {
        Selector { requirements: Vec::new(), nothing: false }
    }

    /// Upstream `metav1.LabelSelectorAsSelector`: nil matches nothing, `{}` everything.
    /// An unknown operator (rejected by API validation) makes the selector match nothing.
    pub fn from_label_selector(sel: Option<&LabelSelector>) -> Selector {
        let Some(sel) = sel else { return Selector::nothing() };
        let mut requirements = Vec::new();
        for (k, v) in sel.match_labels.iter().flatten() {
            requirements.push(Requirement { key: k.clone(), op: Op::In, values: vec![v.clone()] });
        }
        for r in sel.match_expressions.iter().flatten() {
            let op = match r.operator.as_str() {
                "In" => Op::In,
                "NotIn" => Op::NotIn,
                "Exists" => Op::Exists,
                "DoesNotExist" => Op::DoesNotExist,
                _ => return Selector::nothing(),
            };
            requirements.push(Requirement { key: r.key.clone(), op, values: r.values.clone().unwrap_or_default() });
        }
        Selector { requirements, nothing: false }
    }

    /// A selector requiring exactly these labels (upstream `SelectorFromSet`).
    pub fn from_set<'a>(set: impl IntoIterator<Item = (&'a String, &'a String)>) -> Selector {
        let requirements =
            set.into_iter().map(|(k, v)| Requirement { key: k.clone(), op: Op::In, values: vec![v.clone()] }).collect();
        Selector { requirements, nothing: false }
    }

    /// `matchLabelKeys` merging (upstream `mergeLabelSetWithSelector`): the set's
    /// requirements plus this selector's; a nil selector contributes no requirements.
    pub fn merged_with_set(&self, set: &BTreeMap<String, String>) -> Selector {
        let mut merged = Selector::from_set(set);
        if !self.nothing {
            merged.requirements.extend(self.requirements.iter().cloned());
        }
        merged
    }

    pub fn is_everything(&self) -> bool {
        !self.nothing && self.requirements.is_empty()
    }

    /// Whether labels satisfy every requirement.
    pub fn matches(&self, labels: Option<&BTreeMap<String, String>>) -> bool {
        self.matches_with(|k| labels.and_then(|l| l.get(k)).map(String::as_str))
    }

    /// Like [`Selector::matches`] with a label lookup function.
    pub fn matches_with<'a>(&self, get: impl Fn(&str) -> Option<&'a str>) -> bool {
        !self.nothing && self.requirements.iter().all(|r| r.matches(get(&r.key)))
    }

    /// Requirements that only pods carrying one of a few label values can satisfy
    /// (`In` and `Exists`); an index can enumerate those pods instead of all of them.
    pub fn indexable(&self) -> impl Iterator<Item = &Requirement> {
        self.requirements.iter().filter(|r| matches!(r.op, Op::In | Op::Exists))
    }
}

/// Labels of namespaces, for `namespaceSelector`. Upstream reads Namespace objects; our
/// snapshot holds what the caller provides. A namespace it does not know is treated as
/// carrying only `kubernetes.io/metadata.name: <name>`, the label the apiserver puts on
/// every namespace, so selecting namespaces by name works without Namespace objects.
#[derive(Debug, Clone, Default)]
pub struct NamespaceLabels(pub Arc<HashMap<String, BTreeMap<String, String>>>);

impl NamespaceLabels {
    /// Whether the namespace's labels satisfy the selector.
    pub fn matches(&self, selector: &Selector, namespace: &str) -> bool {
        if selector.nothing {
            return false;
        }
        match self.0.get(namespace) {
            Some(labels) => selector.matches(Some(labels)),
            None => selector.matches_with(|k| (k == NAMESPACE_NAME_LABEL).then_some(namespace)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;

    fn labels(items: &[(&str, &str)]) -> BTreeMap<String, String> {
        items.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn nil_empty_and_expressions() {
        let l = labels(&[("app", "web"), ("tier", "fe")]);
        assert!(!Selector::from_label_selector(None).matches(Some(&l)));
        assert!(Selector::from_label_selector(Some(&LabelSelector::default())).matches(Some(&l)));
        let sel = LabelSelector {
            match_labels: Some(labels(&[("app", "web")])),
            match_expressions: Some(vec![
                LabelSelectorRequirement { key: "tier".into(), operator: "NotIn".into(), values: Some(vec!["be".into()]) },
                LabelSelectorRequirement { key: "gone".into(), operator: "DoesNotExist".into(), values: None },
            ]),
        };
        let s = Selector::from_label_selector(Some(&sel));
        assert!(s.matches(Some(&l)));
        assert!(!s.matches(Some(&labels(&[("app", "db")]))));
        let bad = LabelSelector {
            match_expressions: Some(vec![LabelSelectorRequirement { key: "a".into(), operator: "Gt".into(), values: None }]),
            ..Default::default()
        };
        assert!(!Selector::from_label_selector(Some(&bad)).matches(Some(&l)));
    }

    #[test]
    fn merge_with_match_label_keys() {
        let set = labels(&[("pod-template-hash", "abc")]);
        let merged = Selector::nothing().merged_with_set(&set);
        assert!(merged.matches(Some(&labels(&[("pod-template-hash", "abc")]))));
        let base = Selector::from_set(&labels(&[("app", "web")]));
        let merged = base.merged_with_set(&set);
        assert!(!merged.matches(Some(&labels(&[("app", "web")]))));
        assert!(merged.matches(Some(&labels(&[("app", "web"), ("pod-template-hash", "abc")]))));
    }

    #[test]
    fn namespace_labels_fall_back_to_the_name_label() {
        let ns = NamespaceLabels(Arc::new([("team-a".to_string(), labels(&[("team", "a")]))].into()));
        let by_team = Selector::from_set(&labels(&[("team", "a")]));
        let by_name = Selector::from_set(&labels(&[(NAMESPACE_NAME_LABEL, "other")]));
        assert!(ns.matches(&by_team, "team-a"));
        assert!(!ns.matches(&by_team, "other"));
        assert!(ns.matches(&by_name, "other"));
        assert!(ns.matches(&Selector::everything(), "anything"));
        assert!(!ns.matches(&Selector::nothing(), "team-a"));
    }
}
