use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use super::*;
use crate::framework::Code;
use crate::labels::NamespaceLabels;
use crate::testutil::*;

const AFFINITY: &str = ERR_REASON_AFFINITY_RULES_NOT_MATCH;
const ANTI: &str = ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH;
const EXISTING: &str = ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH;

fn zoned(name: &str, zone: &str) -> Node {
    node(name).label(ZONE, zone).build()
}

fn app(name: &str, value: &str, on: &str) -> Pod {
    pod(name).label("app", value).on_node(on).build()
}

/// a, b in zone1; c in zone2; "bare" without a zone.
fn nodes() -> Vec<Node> {
    vec![zoned("a", "zone1"), zoned("b", "zone1"), zoned("c", "zone2"), node("bare").build()]
}

fn reasons(p: &Pod, snap: &Snapshot) -> Vec<String> {
    filter_all(&InterPodAffinity::default(), p, snap).expect("PreFilter ran").into_iter().map(|(m, _)| m).collect()
}

#[test]
fn no_terms_and_no_existing_anti_affinity_skips() {
    let snap = Snapshot::new(nodes(), vec![app("db", "db", "a")]);
    assert!(filter_all(&InterPodAffinity::default(), &pod("p").label("app", "web").build(), &snap).is_none());
}

#[test]
fn required_affinity_needs_a_match_in_the_domain() {
    let snap = Snapshot::new(nodes(), vec![app("db", "db", "a")]);
    let p = pod("p").pod_affinity(affinity_term(&[("app", "db")], ZONE)).build();
    assert_eq!(reasons(&p, &snap), vec!["", "", AFFINITY, AFFINITY]);
    let results = filter_all(&InterPodAffinity::default(), &p, &snap).unwrap();
    assert_eq!(results[2].1, Code::UnschedulableAndUnresolvable);
    // All terms must match the same pod.
    let p = pod("p")
        .pod_affinity(affinity_term(&[("app", "db")], ZONE))
        .pod_affinity(affinity_term(&[("role", "primary")], ZONE))
        .build();
    assert_eq!(reasons(&p, &snap), vec![AFFINITY, AFFINITY, AFFINITY, AFFINITY]);
}

#[test]
fn first_pod_of_a_self_affine_group() {
    let snap = Snapshot::new(nodes(), vec![app("db", "db", "a")]);
    let own = pod("p").label("app", "web").pod_affinity(affinity_term(&[("app", "web")], ZONE)).build();
    // Nothing matches anywhere but the pod matches itself: any node with the key fits.
    assert_eq!(reasons(&own, &snap), vec!["", "", "", AFFINITY]);
    // A pod that does not match its own term gets no such pass.
    let other = pod("p").pod_affinity(affinity_term(&[("app", "web")], ZONE)).build();
    assert_eq!(reasons(&other, &snap), vec![AFFINITY, AFFINITY, AFFINITY, AFFINITY]);
    // Once one matches, the group follows it.
    let snap = Snapshot::new(nodes(), vec![app("w1", "web", "c")]);
    assert_eq!(reasons(&own, &snap), vec![AFFINITY, AFFINITY, "", AFFINITY]);
}

#[test]
fn required_anti_affinity_avoids_the_domain() {
    let snap = Snapshot::new(nodes(), vec![app("web", "web", "a")]);
    let p = pod("p").pod_anti_affinity(affinity_term(&[("app", "web")], HOSTNAME)).build();
    assert_eq!(reasons(&p, &snap), vec![ANTI, "", "", ""]);
    let p = pod("p").pod_anti_affinity(affinity_term(&[("app", "web")], ZONE)).build();
    // Nodes without the key are not in any domain.
    assert_eq!(reasons(&p, &snap), vec![ANTI, ANTI, "", ""]);
    let results = filter_all(&InterPodAffinity::default(), &p, &snap).unwrap();
    assert_eq!(results[0].1, Code::Unschedulable);
}

#[test]
fn existing_pods_anti_affinity_is_symmetric() {
    let guard = pod("guard").pod_anti_affinity(affinity_term(&[("app", "web")], ZONE)).on_node("a").build();
    let snap = Snapshot::new(nodes(), vec![guard]);
    assert_eq!(reasons(&pod("p").label("app", "web").build(), &snap), vec![EXISTING, EXISTING, "", ""]);
    // Pods it does not select have nothing to check, nor have pods in other namespaces
    // (the term covers only its own namespace).
    let pl = InterPodAffinity::default();
    assert!(filter_all(&pl, &pod("p").label("app", "db").build(), &snap).is_none());
    assert!(filter_all(&pl, &pod("p").label("app", "web").namespace("other").build(), &snap).is_none());
}

#[test]
fn namespaces_and_namespace_selectors() {
    let snap = Snapshot::new(nodes(), vec![pod("db").label("app", "db").namespace("data").on_node("c").build()]);
    let mut t = affinity_term(&[("app", "db")], ZONE);
    // Own namespace only by default: no db there.
    let p = pod("p").pod_affinity(t.clone()).build();
    assert_eq!(reasons(&p, &snap), vec![AFFINITY, AFFINITY, AFFINITY, AFFINITY]);
    t.namespaces = Some(vec!["data".into()]);
    assert_eq!(reasons(&pod("p").pod_affinity(t.clone()).build(), &snap), vec![AFFINITY, AFFINITY, "", AFFINITY]);
    // namespaceSelector {} selects every namespace.
    t.namespaces = None;
    t.namespace_selector = Some(LabelSelector::default());
    assert_eq!(reasons(&pod("p").pod_affinity(t.clone()).build(), &snap), vec![AFFINITY, AFFINITY, "", AFFINITY]);
    // By the namespace name label, without Namespace objects...
    t.namespace_selector = Some(selector(&[("kubernetes.io/metadata.name", "data")]));
    assert_eq!(reasons(&pod("p").pod_affinity(t.clone()).build(), &snap), vec![AFFINITY, AFFINITY, "", AFFINITY]);
    // ...and by other labels when the snapshot knows the namespace's labels.
    t.namespace_selector = Some(selector(&[("team", "storage")]));
    assert_eq!(reasons(&pod("p").pod_affinity(t.clone()).build(), &snap), vec![AFFINITY; 4]);
    let mut snap = snap;
    snap.namespace_labels = NamespaceLabels(Arc::new([("data".to_string(), labels(&[("team", "storage")]))].into()));
    assert_eq!(reasons(&pod("p").pod_affinity(t).build(), &snap), vec![AFFINITY, AFFINITY, "", AFFINITY]);
}

#[test]
fn preferred_terms_score() {
    // db on a (zone1), web on c (zone2).
    let snap = Snapshot::new(nodes(), vec![app("db", "db", "a"), app("web", "web", "c")]);
    let pl = InterPodAffinity::default();
    let p = pod("p")
        .preferred_pod_affinity(5, affinity_term(&[("app", "db")], ZONE))
        .preferred_pod_anti_affinity(3, affinity_term(&[("app", "web")], HOSTNAME))
        .build();
    // raw: a=5, b=5, c=-3, bare=0 → min-max over [-3, 5].
    assert_eq!(score_all(&pl, &p, &snap).unwrap(), vec![100, 100, 0, 37]);
    assert!(score_all(&pl, &pod("p").build(), &snap).is_none());
}

#[test]
fn existing_pods_terms_score_the_incoming_pod() {
    let fan = pod("fan").preferred_pod_affinity(10, affinity_term(&[("app", "web")], ZONE)).on_node("c").build();
    let hater = pod("hater").preferred_pod_anti_affinity(4, affinity_term(&[("app", "web")], HOSTNAME)).on_node("a").build();
    let needy = pod("needy").pod_affinity(affinity_term(&[("app", "web")], HOSTNAME)).on_node("b").build();
    let snap = Snapshot::new(nodes(), vec![fan, hater, needy]);
    let p = pod("p").label("app", "web").build();
    // raw: a=-4, b=+1 (hard affinity weight), c=+10, bare=0 → over [-4, 10].
    assert_eq!(score_all(&InterPodAffinity::default(), &p, &snap).unwrap(), vec![0, 35, 100, 28]);
    let ignore = InterPodAffinity { ignore_preferred_terms_of_existing_pods: true, ..Default::default() };
    assert!(score_all(&ignore, &p, &snap).is_none());
}

#[test]
fn anti_affine_replicas_spread_then_fail() {
    let mut snap = Snapshot::new(vec![node("a").build(), node("b").build(), node("c").build()], vec![]);
    let replica = |i: usize| {
        pod(&format!("web-{i}")).label("app", "web").pod_anti_affinity(affinity_term(&[("app", "web")], HOSTNAME)).build()
    };
    let mut placed = schedule_each(&mut snap, (0..3).map(replica).collect());
    placed.sort();
    assert_eq!(placed, vec!["a", "b", "c"]);
    let e = crate::schedule(&replica(3), &snap, &crate::default_profile(), 0).unwrap_err();
    assert_eq!(
        e.to_string(),
        "0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules. \
         preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.."
    );
}

#[test]
fn preferred_affinity_places_next_to_the_match() {
    let snap = Snapshot::new(nodes(), vec![app("cache", "cache", "c")]);
    let p = pod("p").preferred_pod_affinity(50, affinity_term(&[("app", "cache")], HOSTNAME)).build();
    for tie in 0..4 {
        assert_eq!(crate::schedule(&p, &snap, &crate::default_profile(), tie).unwrap(), "c");
    }
}

#[test]
fn preemption_removes_the_pod_the_anti_affinity_forbids() {
    let low = pod("low").label("app", "web").priority(1).on_node("a").build();
    let snap = Snapshot::new(vec![node("a").build()], vec![low]);
    let p = pod("p").priority(100).pod_anti_affinity(affinity_term(&[("app", "web")], HOSTNAME)).build();
    let e = crate::schedule(&p, &snap, &crate::default_profile(), 0).unwrap_err();
    let r = e.post_filter_result.unwrap();
    assert_eq!(r.nominated_node_name.as_deref(), Some("a"));
    assert_eq!(r.victims, vec!["default/low".to_string()]);
}

#[test]
fn preemption_removes_an_existing_pod_whose_anti_affinity_forbids() {
    let guard = pod("guard").priority(1).pod_anti_affinity(affinity_term(&[("app", "web")], HOSTNAME)).on_node("a").build();
    let bystander = pod("bystander").priority(2).on_node("a").build();
    let snap = Snapshot::new(vec![node("a").build()], vec![guard, bystander]);
    let p = pod("p").label("app", "web").priority(100).build();
    let r = crate::schedule(&p, &snap, &crate::default_profile(), 0).unwrap_err().post_filter_result.unwrap();
    assert_eq!(r.nominated_node_name.as_deref(), Some("a"));
    // The bystander is reprieved once the guard is gone.
    assert_eq!(r.victims, vec!["default/guard".to_string()]);
}

#[test]
fn required_affinity_failure_is_not_preemptible() {
    let snap = Snapshot::new(vec![node("a").build()], vec![pod("x").priority(1).on_node("a").build()]);
    let p = pod("p").priority(100).pod_affinity(affinity_term(&[("app", "db")], HOSTNAME)).build();
    assert_eq!(
        crate::schedule(&p, &snap, &crate::default_profile(), 0).unwrap_err().to_string(),
        "0/1 nodes are available: 1 node(s) didn't match pod affinity rules. \
         preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.."
    );
}

#[test]
fn topology_counts_track_non_zero_pairs() {
    let snap = Snapshot::new(vec![zoned("a", "zone1"), node("bare").build()], vec![]);
    let mut c = TopologyCounts::default();
    c.add_at(&snap, 0, ZONE, 1);
    assert_eq!(c.get(ZONE, "zone1"), 1);
    assert!(c.any_on_node(&snap.nodes[0]));
    assert!(!c.any_on_node(&snap.nodes[1]));
    c.add_to_node(&snap.nodes[0], ZONE, -1);
    assert!(c.is_empty());
    // A node without the key belongs to no pair.
    c.add_at(&snap, 1, ZONE, 1);
    assert!(c.is_empty());
}
