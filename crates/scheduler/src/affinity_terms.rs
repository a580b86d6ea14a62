//! A pod's inter-pod (anti-)affinity terms, parsed once when the pod enters the snapshot
//! (upstream `framework.AffinityTerm` and the term lists of `framework.PodInfo`).

use k8s_openapi::api::core::v1::{Pod, PodAffinityTerm, WeightedPodAffinityTerm};

use crate::labels::{NamespaceLabels, Selector};

/// One `PodAffinityTerm` with its selectors compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AffinityTerm {
    /// Namespaces listed in the term; the owning pod's namespace when the term names
    /// neither namespaces nor a namespaceSelector.
    pub namespaces: Vec<String>,
    /// `namespaceSelector` (nil matches no namespace, `{}` every namespace).
    pub namespace_selector: Selector,
    pub selector: Selector,
    pub topology_key: String,
}

impl AffinityTerm {
    pub fn new(owner: &Pod, term: &PodAffinityTerm) -> AffinityTerm {
        let own_ns = owner.metadata.namespace.clone().unwrap_or_default();
        let listed = term.namespaces.clone().unwrap_or_default();
        let namespaces = if listed.is_empty() && term.namespace_selector.is_none() { vec![own_ns] } else { listed };
        AffinityTerm {
            namespaces,
            namespace_selector: Selector::from_label_selector(term.namespace_selector.as_ref()),
            selector: Selector::from_label_selector(term.label_selector.as_ref()),
            topology_key: term.topology_key.clone(),
        }
    }

    /// Upstream `AffinityTerm.Matches`: the pod's namespace is listed or selected, and
    /// its labels match the label selector.
    pub fn matches(&self, pod: &Pod, ns_labels: &NamespaceLabels) -> bool {
        self.matches_namespace(pod.metadata.namespace.as_deref().unwrap_or(""), ns_labels)
            && self.selector.matches(pod.metadata.labels.as_ref())
    }

    /// Whether the term covers pods of this namespace.
    pub fn matches_namespace(&self, ns: &str, ns_labels: &NamespaceLabels) -> bool {
        self.namespaces.iter().any(|n| n == ns) || ns_labels.matches(&self.namespace_selector, ns)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeightedAffinityTerm {
    pub term: AffinityTerm,
    pub weight: i32,
}

/// All inter-pod affinity terms of one pod.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodAffinityTerms {
    pub required_affinity: Vec<AffinityTerm>,
    pub required_anti_affinity: Vec<AffinityTerm>,
    pub preferred_affinity: Vec<WeightedAffinityTerm>,
    pub preferred_anti_affinity: Vec<WeightedAffinityTerm>,
}

fn required(owner: &Pod, terms: Option<&Vec<PodAffinityTerm>>) -> Vec<AffinityTerm> {
    terms.into_iter().flatten().map(|t| AffinityTerm::new(owner, t)).collect()
}

fn preferred(owner: &Pod, terms: Option<&Vec<WeightedPodAffinityTerm>>) -> Vec<WeightedAffinityTerm> {
    terms
        .into_iter()
        .flatten()
        .map(|t| WeightedAffinityTerm { term: AffinityTerm::new(owner, &t.pod_affinity_term), weight: t.weight })
        .collect()
}

impl PodAffinityTerms {
    /// The pod's terms, or `None` when it has no podAffinity/podAntiAffinity at all.
    pub fn of(pod: &Pod) -> Option<PodAffinityTerms> {
        let affinity = pod.spec.as_ref()?.affinity.as_ref()?;
        let (aff, anti) = (affinity.pod_affinity.as_ref(), affinity.pod_anti_affinity.as_ref());
        if aff.is_none() && anti.is_none() {
            return None;
        }
        Some(PodAffinityTerms {
            required_affinity: required(pod, aff.and_then(|a| a.required_during_scheduling_ignored_during_execution.as_ref())),
            required_anti_affinity: required(
                pod,
                anti.and_then(|a| a.required_during_scheduling_ignored_during_execution.as_ref()),
            ),
            preferred_affinity: preferred(pod, aff.and_then(|a| a.preferred_during_scheduling_ignored_during_execution.as_ref())),
            preferred_anti_affinity: preferred(
                pod,
                anti.and_then(|a| a.preferred_during_scheduling_ignored_during_execution.as_ref()),
            ),
        })
    }

    pub fn has_required_anti_affinity(&self) -> bool {
        !self.required_anti_affinity.is_empty()
    }
}
