use k8s_openapi::api::core::v1::Pod;

use super::*;
use crate::framework::Code;
use crate::testutil::*;

const NOT_MATCH: &str = ERR_REASON_CONSTRAINTS_NOT_MATCH;
const NO_LABEL: &str = ERR_REASON_NODE_LABEL_NOT_MATCH;

fn zoned(name: &str, zone: &str) -> k8s_openapi::api::core::v1::Node {
    node(name).label(ZONE, zone).build()
}

fn foo(name: &str, on: &str) -> Pod {
    pod(name).label("foo", "").on_node(on).build()
}

/// Nodes a, b in zone1 and x, y in zone2.
fn four_nodes(pods: Vec<Pod>) -> Snapshot {
    Snapshot::new(vec![zoned("a", "zone1"), zoned("b", "zone1"), zoned("x", "zone2"), zoned("y", "zone2")], pods)
}

fn passing(pl: &PodTopologySpread, p: &Pod, snap: &Snapshot) -> Vec<String> {
    let results = filter_all(pl, p, snap).expect("PreFilter ran");
    snap.nodes.iter().zip(results).filter(|(_, (msg, _))| msg.is_empty()).map(|(n, _)| n.name().to_string()).collect()
}

#[test]
fn no_hard_constraints_skips_filtering() {
    let snap = four_nodes(vec![]);
    let p = pod("p").label("foo", "").spread(spread(1, ZONE, SCHEDULE_ANYWAY, &[("foo", "")])).build();
    assert!(filter_all(&PodTopologySpread::default(), &p, &snap).is_none());
    // System defaults are soft: a controlled pod has nothing to filter either.
    assert!(filter_all(&PodTopologySpread::default(), &pod("q").owner("rs1").build(), &snap).is_none());
}

#[test]
fn zone_skew() {
    // zone1 holds 2 matching pods, zone2 holds 1: adding to zone1 makes the skew 2.
    let snap = four_nodes(vec![foo("p1", "a"), foo("p2", "b"), foo("p3", "x")]);
    let p = pod("p").label("foo", "").spread(spread(1, ZONE, DO_NOT_SCHEDULE, &[("foo", "")])).build();
    let pl = PodTopologySpread::default();
    assert_eq!(passing(&pl, &p, &snap), vec!["x", "y"]);
    let results = filter_all(&pl, &p, &snap).unwrap();
    assert_eq!(results[0], (NOT_MATCH.to_string(), Code::Unschedulable));
    // maxSkew 2 tolerates it.
    let p = pod("p").label("foo", "").spread(spread(2, ZONE, DO_NOT_SCHEDULE, &[("foo", "")])).build();
    assert_eq!(passing(&pl, &p, &snap), vec!["a", "b", "x", "y"]);
}

#[test]
fn hostname_skew_and_self_match() {
    let snap = four_nodes(vec![foo("p1", "a"), foo("p2", "b"), foo("p3", "x")]);
    let pl = PodTopologySpread::default();
    let p = pod("p").label("foo", "").spread(spread(1, HOSTNAME, DO_NOT_SCHEDULE, &[("foo", "")])).build();
    assert_eq!(passing(&pl, &p, &snap), vec!["y"]);
    // A pod its own selector does not match adds nothing to the skew.
    let p = pod("p").spread(spread(1, HOSTNAME, DO_NOT_SCHEDULE, &[("foo", "")])).build();
    assert_eq!(passing(&pl, &p, &snap), vec!["a", "b", "x", "y"]);
}

#[test]
fn two_constraints_must_both_hold() {
    // zone1: a=1, b=0; zone2: x=2, y=0.
    let snap = four_nodes(vec![foo("p1", "a"), foo("p2", "x"), foo("p3", "x")]);
    let p = pod("p")
        .label("foo", "")
        .spread(spread(1, ZONE, DO_NOT_SCHEDULE, &[("foo", "")]))
        .spread(spread(1, HOSTNAME, DO_NOT_SCHEDULE, &[("foo", "")]))
        .build();
    // zone: min 1 → zone2 (2) fails; hostname: min 0 → a (1) fails.
    assert_eq!(passing(&PodTopologySpread::default(), &p, &snap), vec!["b"]);
}

#[test]
fn missing_topology_key_is_unresolvable() {
    let snap = Snapshot::new(vec![zoned("a", "zone1"), node("bare").build()], vec![]);
    let p = pod("p").label("foo", "").spread(spread(1, ZONE, DO_NOT_SCHEDULE, &[("foo", "")])).build();
    let results = filter_all(&PodTopologySpread::default(), &p, &snap).unwrap();
    assert_eq!(results[0], (String::new(), Code::Success));
    assert_eq!(results[1], (NO_LABEL.to_string(), Code::UnschedulableAndUnresolvable));
}

#[test]
fn min_domains_treats_the_global_minimum_as_zero() {
    let snap = Snapshot::new(vec![zoned("a", "zone1"), zoned("b", "zone2")], vec![foo("p1", "a"), foo("p2", "b")]);
    let pl = PodTopologySpread::default();
    let mut c = spread(1, ZONE, DO_NOT_SCHEDULE, &[("foo", "")]);
    let p = pod("p").label("foo", "").spread(c.clone()).build();
    assert_eq!(passing(&pl, &p, &snap), vec!["a", "b"]);
    // Only 2 of the 3 wanted domains exist: the minimum counts as 0, so 1+1-0 > 1.
    c.min_domains = Some(3);
    let p = pod("p").label("foo", "").spread(c.clone()).build();
    assert!(passing(&pl, &p, &snap).is_empty());
    c.min_domains = Some(2);
    let p = pod("p").label("foo", "").spread(c).build();
    assert_eq!(passing(&pl, &p, &snap), vec!["a", "b"]);
}

#[test]
fn node_inclusion_policies() {
    // zone3's node is excluded by the pod's node affinity (Honor) or its taint (Honor).
    let nodes = vec![
        zoned("a", "zone1"),
        zoned("b", "zone2"),
        node("c").label(ZONE, "zone3").label("tier", "spare").taint("spare", "", "NoSchedule").build(),
    ];
    let pods = vec![foo("p1", "a"), foo("p2", "b"), foo("p3", "b")];
    let snap = Snapshot::new(nodes, pods);
    let pl = PodTopologySpread::default();
    let base = spread(1, ZONE, DO_NOT_SCHEDULE, &[("foo", "")]);
    let not_spare = vec![term(vec![req("tier", "DoesNotExist", &[])], vec![])];

    // Honor (default): domains zone1=1, zone2=2 → min 1 → a passes.
    let p = pod("p").label("foo", "").required_terms(not_spare.clone()).spread(base.clone()).build();
    assert_eq!(passing(&pl, &p, &snap), vec!["a", "c"]);
    // Ignore: zone3 (0 pods) counts → min 0 → a fails too.
    let mut ignore = base.clone();
    ignore.node_affinity_policy = Some("Ignore".into());
    let p = pod("p").label("foo", "").required_terms(not_spare).spread(ignore).build();
    assert_eq!(passing(&pl, &p, &snap), vec!["c"]);
    // Taints are ignored by default: zone3 counts; Honor drops the tainted node.
    let p = pod("p").label("foo", "").spread(base.clone()).build();
    assert_eq!(passing(&pl, &p, &snap), vec!["c"]);
    let mut honor = base;
    honor.node_taints_policy = Some("Honor".into());
    let p = pod("p").label("foo", "").spread(honor).build();
    assert_eq!(passing(&pl, &p, &snap), vec!["a", "c"]);
}

#[test]
fn match_label_keys_count_only_the_same_revision() {
    let rev = |name: &str, hash: &str, on: &str| pod(name).label("app", "web").label("pod-template-hash", hash).on_node(on).build();
    let snap = Snapshot::new(vec![node("a").build(), node("b").build()], vec![rev("o1", "old", "b"), rev("o2", "old", "b")]);
    let mut c = spread(1, HOSTNAME, DO_NOT_SCHEDULE, &[("app", "web")]);
    let p = pod("p").label("app", "web").label("pod-template-hash", "new").spread(c.clone()).build();
    let pl = PodTopologySpread::default();
    assert_eq!(passing(&pl, &p, &snap), vec!["a"]);
    c.match_label_keys = Some(vec!["pod-template-hash".into()]);
    let p = pod("p").label("app", "web").label("pod-template-hash", "new").spread(c).build();
    assert_eq!(passing(&pl, &p, &snap), vec!["a", "b"]);
}

#[test]
fn other_namespaces_and_terminating_pods_do_not_count() {
    let pods = vec![
        pod("t").label("foo", "").terminating().on_node("a").build(),
        pod("o").label("foo", "").namespace("other").on_node("a").build(),
    ];
    let snap = Snapshot::new(vec![node("a").build(), node("b").build()], pods);
    let p = pod("p").label("foo", "").spread(spread(1, HOSTNAME, DO_NOT_SCHEDULE, &[("foo", "")])).build();
    assert_eq!(passing(&PodTopologySpread::default(), &p, &snap), vec!["a", "b"]);
}

#[test]
fn assumed_pods_count_for_the_next_pod() {
    let mut snap = Snapshot::new(vec![node("a").build(), node("b").build(), node("c").build()], vec![]);
    let pods: Vec<Pod> = (0..6)
        .map(|i| pod(&format!("p{i}")).label("app", "web").spread(spread(1, HOSTNAME, DO_NOT_SCHEDULE, &[("app", "web")])).build())
        .collect();
    let mut placed = schedule_each(&mut snap, pods);
    placed.sort();
    assert_eq!(placed, vec!["a", "a", "b", "b", "c", "c"]);
}

#[test]
fn domain_counts_follow_preemption_updates() {
    let snap = four_nodes(vec![foo("p1", "a"), foo("p2", "x")]);
    let pl = PodTopologySpread::default();
    let p = pod("p").label("foo", "").spread(spread(1, HOSTNAME, DO_NOT_SCHEDULE, &[("foo", "")])).build();
    let mut state = CycleState::default();
    assert!(pl.pre_filter(&mut state, &p, &snap).1.is_success());
    let (a, y) = (&snap.nodes[0], &snap.nodes[3]);
    assert!(!pl.filter(&state, &p, a).is_success());
    // Removing a's pod makes a a zero domain; adding one to y keeps the minimum at 0 (b).
    let removed = a.pods[0].clone();
    assert!(pl.remove_pod(&mut state, &p, &removed, a).is_success());
    assert!(pl.filter(&state, &p, a).is_success());
    assert!(pl.add_pod(&mut state, &p, &PodInfo::new(foo("new", "y")), y).is_success());
    assert!(!pl.filter(&state, &p, y).is_success());
    assert!(pl.filter(&state, &p, a).is_success());
}

#[test]
fn soft_constraint_scores_fewer_matches_higher() {
    // a:2, b:1, c:0, d:0 matching pods; weight ln(4+2); raw a=round(2*1.79)=4, b=2, c=d=0.
    let nodes = vec![node("a").build(), node("b").build(), node("c").build(), node("d").build()];
    let snap = Snapshot::new(nodes, vec![foo("p1", "a"), foo("p2", "a"), foo("p3", "b")]);
    let p = pod("p").label("foo", "").spread(spread(1, HOSTNAME, SCHEDULE_ANYWAY, &[("foo", "")])).build();
    assert_eq!(score_all(&PodTopologySpread::default(), &p, &snap).unwrap(), vec![0, 50, 100, 100]);
}

#[test]
fn soft_zone_constraint_and_ignored_nodes() {
    // zone1 (a, b) holds 3 pods, zone2 (c) none; "bare" lacks the zone key and scores 0.
    let nodes = vec![zoned("a", "zone1"), zoned("b", "zone1"), zoned("c", "zone2"), node("bare").build()];
    let snap = Snapshot::new(nodes, vec![foo("p1", "a"), foo("p2", "a"), foo("p3", "b"), foo("p4", "bare")]);
    let p = pod("p").label("foo", "").spread(spread(5, ZONE, SCHEDULE_ANYWAY, &[("foo", "")])).build();
    // weight ln(2+2)=1.386; raw zone1 = 3*1.386+4 = 8.16 → 8, zone2 = 4; max 8 min 4.
    // normalized zone1 = 100*(8+4-8)/8 = 50, zone2 = 100*(8+4-4)/8 = 100.
    assert_eq!(score_all(&PodTopologySpread::default(), &p, &snap).unwrap(), vec![50, 50, 100, 0]);
}

#[test]
fn system_defaults_spread_by_controller() {
    let nodes = vec![node("a").build(), node("b").build(), node("c").build()];
    let snap = Snapshot::new(nodes, vec![pod("s1").owner("rs1").on_node("a").build(), pod("o").owner("rs2").on_node("b").build()]);
    let pl = PodTopologySpread::default();
    // Only the sibling on a counts (no zone labels: hostname spreading only).
    assert_eq!(score_all(&pl, &pod("p").owner("rs1").build(), &snap).unwrap(), vec![50, 100, 100]);
    // A pod without a controller gets no default constraints.
    assert!(score_all(&pl, &pod("p").build(), &snap).is_none());
    // Declared constraints replace the defaults (hard only: nothing to score).
    let hard = pod("p").owner("rs1").spread(spread(1, HOSTNAME, DO_NOT_SCHEDULE, &[("x", "y")])).build();
    assert!(score_all(&pl, &hard, &snap).is_none());
}

#[test]
fn default_spreading_counts_live_siblings_in_the_same_namespace() {
    let nodes = vec![zoned("a", "z1"), zoned("b", "z1"), zoned("c", "z2")];
    let pods = vec![
        pod("s1").owner("rs1").on_node("a").build(),
        pod("s2").owner("rs1").on_node("a").build(),
        pod("gone").owner("rs1").on_node("c").terminating().build(),
        pod("elsewhere").owner("rs1").namespace("other").on_node("c").build(),
    ];
    let snap = Snapshot::new(nodes, pods);
    // Two siblings on a (zone z1), none counted on c: c scores highest, a lowest.
    let scores = score_all(&PodTopologySpread::default(), &pod("p").owner("rs1").build(), &snap).unwrap();
    assert!(scores[2] > scores[1] && scores[1] > scores[0], "{scores:?}");
}

#[test]
fn replicas_of_a_deployment_land_on_different_nodes() {
    let mut snap = Snapshot::new(vec![node("a").build(), node("b").build(), node("c").build()], vec![]);
    let replicas: Vec<Pod> = (0..3).map(|i| pod(&format!("web-{i}")).label("app", "web").owner("rs-web").build()).collect();
    let mut placed = schedule_each(&mut snap, replicas);
    placed.sort();
    assert_eq!(placed, vec!["a", "b", "c"]);
}

#[test]
fn replicas_spread_over_zones_first() {
    // 2 nodes in zone1, 1 in zone2: the second replica goes to zone2.
    let nodes = vec![zoned("a1", "zone1"), zoned("a2", "zone1"), zoned("b1", "zone2")];
    let mut snap = Snapshot::new(nodes, vec![]);
    let replicas: Vec<Pod> = (0..2).map(|i| pod(&format!("web-{i}")).owner("rs-web").build()).collect();
    let placed = schedule_each(&mut snap, replicas);
    let zones: Vec<&str> = placed.iter().map(|n| snap.get(n).unwrap().label(ZONE).unwrap()).collect();
    assert_ne!(zones[0], zones[1], "{placed:?}");
}

#[test]
fn filter_failure_message() {
    let snap = four_nodes(vec![foo("p1", "a"), foo("p2", "b"), foo("p3", "x"), foo("p4", "y")]);
    let mut c = spread(1, ZONE, DO_NOT_SCHEDULE, &[("foo", "")]);
    c.min_domains = Some(3);
    let p = pod("p").label("foo", "").spread(c).build();
    let e = crate::schedule(&p, &snap, &crate::default_profile(), 0).unwrap_err();
    assert_eq!(
        e.to_string(),
        "0/4 nodes are available: 4 node(s) didn't match pod topology spread constraints. \
         preemption: 0/4 nodes are available: 4 No preemption victims found for incoming pod.."
    );
}
