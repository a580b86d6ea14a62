//! End-to-end tests of `schedule` with the default profile.

use crate::testutil::*;
use crate::*;

#[allow(clippy::result_large_err)]
fn run(p: &k8s_openapi::api::core::v1::Pod, snap: &Snapshot) -> Result<String, FitError> {
    schedule(p, snap, &default_profile(), 0)
}

fn err(p: &k8s_openapi::api::core::v1::Pod, snap: &Snapshot) -> String {
    run(p, snap).unwrap_err().to_string()
}

#[test]
fn insufficient_cpu_everywhere() {
    let snap = Snapshot::new(vec![node("a").build(), node("b").build(), node("c").build()], vec![]);
    let p = pod("p").container(&[("cpu", "5")]).build();
    assert_eq!(
        err(&p, &snap),
        "0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: \
         3 No preemption victims found for incoming pod.."
    );
}

#[test]
fn mixed_reasons_sorted_with_counts() {
    let nodes = vec![
        node("cp").taint("node-role.kubernetes.io/control-plane", "", "NoSchedule").build(),
        node("m1").alloc("memory", "1Gi").label("disk", "ssd").build(),
        node("m2").alloc("memory", "1Gi").label("disk", "ssd").build(),
        node("h1").build(),
        node("h2").build(),
    ];
    let snap = Snapshot::new(nodes, vec![]);
    let p = pod("p").container(&[("memory", "2Gi")]).node_selector(&[("disk", "ssd")]).build();
    assert_eq!(
        err(&p, &snap),
        "0/5 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, \
         2 Insufficient memory, 2 node(s) didn't match Pod's node affinity/selector. \
         preemption: 0/5 nodes are available: 2 No preemption victims found for incoming pod, \
         3 Preemption is not helpful for scheduling.."
    );
}

#[test]
fn no_nodes_at_all() {
    let p = pod("p").build();
    assert_eq!(err(&p, &Snapshot::default()), "no nodes available to schedule pods");
}

#[test]
fn least_allocated_node_wins() {
    let busy = pod("busy").container(&[("cpu", "3"), ("memory", "6Gi")]).on_node("a").build();
    let half = pod("half").container(&[("cpu", "2"), ("memory", "4Gi")]).on_node("b").build();
    let snap = Snapshot::new(vec![node("a").build(), node("b").build(), node("c").build()], vec![busy, half]);
    let p = pod("p").container(&[("cpu", "500m"), ("memory", "1Gi")]).build();
    for tie in 0..4 {
        assert_eq!(schedule(&p, &snap, &default_profile(), tie).unwrap(), "c");
    }
}

#[test]
fn best_effort_pods_count_default_requests() {
    // Two best-effort pods on "a" count as 200m/400Mi for scoring.
    let pods = vec![pod("x").container(&[]).on_node("a").build(), pod("y").container(&[]).on_node("a").build()];
    let snap = Snapshot::new(vec![node("a").build(), node("b").build()], pods);
    let p = pod("p").container(&[]).build();
    assert_eq!(run(&p, &snap).unwrap(), "b");
}

#[test]
fn ties_use_the_tie_break() {
    let snap = Snapshot::new(vec![node("a").build(), node("b").build(), node("c").build()], vec![]);
    let p = pod("p").container(&[("cpu", "1")]).build();
    let picks: Vec<String> = (0..3).map(|t| schedule(&p, &snap, &default_profile(), t).unwrap()).collect();
    assert_eq!(picks, vec!["a", "b", "c"]);
}

#[test]
fn too_many_pods() {
    let snap = Snapshot::new(vec![node("a").alloc("pods", "1").build()], vec![pod("x").on_node("a").build()]);
    assert!(err(&pod("p").build(), &snap).starts_with("0/1 nodes are available: 1 Too many pods."));
}

#[test]
fn extended_resources_and_ephemeral_storage() {
    let snap = Snapshot::new(vec![node("gpu").alloc("example.com/gpu", "2").build(), node("plain").build()], vec![]);
    let p = pod("p").container(&[("example.com/gpu", "1")]).build();
    assert_eq!(run(&p, &snap).unwrap(), "gpu");
    let p = pod("p").container(&[("example.com/gpu", "3"), ("ephemeral-storage", "200Gi")]).build();
    assert!(err(&p, &snap).starts_with(
        "0/2 nodes are available: 2 Insufficient ephemeral-storage, 2 Insufficient example.com/gpu."
    ));
}

#[test]
fn terminal_pods_free_their_resources() {
    let mut done = pod("done").container(&[("cpu", "4")]).on_node("a").build();
    done.status = Some(k8s_openapi::api::core::v1::PodStatus { phase: Some("Succeeded".into()), ..Default::default() });
    let snap = Snapshot::new(vec![node("a").build()], vec![done]);
    assert_eq!(run(&pod("p").container(&[("cpu", "4")]).build(), &snap).unwrap(), "a");
}

#[test]
fn node_name_and_unschedulable() {
    let snap = Snapshot::new(vec![node("a").build(), node("b").unschedulable().build()], vec![]);
    let p = pod("p").on_node("zzz").build();
    assert_eq!(
        err(&p, &snap),
        "0/2 nodes are available: 1 node(s) didn't match the requested node name, 1 node(s) were unschedulable. \
         preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.."
    );
    let only_b = Snapshot::new(vec![node("b").unschedulable().build()], vec![]);
    let tolerant = pod("p").toleration("node.kubernetes.io/unschedulable", "Exists", "", "NoSchedule").build();
    assert_eq!(run(&tolerant, &only_b).unwrap(), "b");
}

#[test]
fn taints_filter_and_score() {
    let nodes = vec![
        node("a").taint("dedicated", "gpu", "NoSchedule").build(),
        node("b").taint("soft", "x", "PreferNoSchedule").build(),
        node("c").taint("evict", "", "NoExecute").build(),
    ];
    let snap = Snapshot::new(nodes, vec![]);
    let p = pod("p").build();
    assert_eq!(run(&p, &snap).unwrap(), "b");
    let p = pod("p").toleration("dedicated", "Equal", "gpu", "NoSchedule").toleration("evict", "Exists", "", "").build();
    // a and c tolerated with no soft taints beat b's untolerated PreferNoSchedule.
    let picks: Vec<String> = (0..2).map(|t| schedule(&p, &snap, &default_profile(), t).unwrap()).collect();
    assert_eq!(picks, vec!["a", "c"]);
    let p = pod("p").toleration("soft", "Exists", "", "PreferNoSchedule").build();
    assert_eq!(run(&p, &snap).unwrap(), "b");
}

#[test]
fn untolerated_taint_message() {
    let snap = Snapshot::new(vec![node("a").taint("dedicated", "gpu", "NoSchedule").build()], vec![]);
    assert_eq!(
        err(&pod("p").build(), &snap),
        "0/1 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}. \
         preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.."
    );
}

#[test]
fn required_and_preferred_affinity() {
    let nodes = vec![
        node("a").label("zone", "z1").build(),
        node("b").label("zone", "z2").label("fast", "yes").build(),
        node("c").label("zone", "z2").build(),
        node("d").build(),
    ];
    let snap = Snapshot::new(nodes, vec![]);
    let p = pod("p")
        .required_terms(vec![term(vec![req("zone", "In", &["z2"])], vec![])])
        .preferred(10, term(vec![req("fast", "Exists", &[])], vec![]))
        .build();
    for t in 0..3 {
        assert_eq!(schedule(&p, &snap, &default_profile(), t).unwrap(), "b");
    }
    let p = pod("p").required_terms(vec![term(vec![req("zone", "In", &["z9"])], vec![])]).build();
    assert!(err(&p, &snap).starts_with("0/4 nodes are available: 4 node(s) didn't match Pod's node affinity/selector."));
}

#[test]
fn daemonset_style_node_name_affinity() {
    let snap = Snapshot::new(vec![node("a").build(), node("b").build(), node("c").alloc("cpu", "100m").build()], vec![]);
    let pinned = |n: &str| pod("ds").container(&[("cpu", "1")]).required_terms(vec![term(vec![], vec![req("metadata.name", "In", &[n])])]).build();
    assert_eq!(run(&pinned("b"), &snap).unwrap(), "b");
    assert!(err(&pinned("c"), &snap).starts_with(
        "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't satisfy plugin(s) [NodeAffinity]."
    ));
    let conflict = pod("p").required_terms(vec![term(vec![], vec![req("metadata.name", "In", &["a"]), req("metadata.name", "In", &["b"])])]).build();
    assert_eq!(
        err(&conflict, &snap),
        "0/3 nodes are available: pod affinity terms conflict. \
         preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.."
    );
}

#[test]
fn host_ports() {
    let used = pod("web").host_port(80, "TCP", "").on_node("a").build();
    let snap = Snapshot::new(vec![node("a").build(), node("b").build()], vec![used]);
    assert_eq!(run(&pod("p").host_port(80, "TCP", "").build(), &snap).unwrap(), "b");
    assert_eq!(run(&pod("p").host_port(80, "UDP", "").build(), &Snapshot::new(vec![node("a").build()], vec![pod("web").host_port(80, "TCP", "").on_node("a").build()])).unwrap(), "a");
    let only_a = Snapshot::new(vec![node("a").build()], vec![pod("web").host_port(80, "TCP", "10.0.0.1").on_node("a").build()]);
    assert_eq!(run(&pod("p").host_port(80, "TCP", "10.0.0.2").build(), &only_a).unwrap(), "a");
    assert!(err(&pod("p").host_port(80, "TCP", "").build(), &only_a)
        .starts_with("0/1 nodes are available: 1 node(s) didn't have free ports for the requested pod ports."));
}

#[test]
fn balanced_allocation_prefers_even_usage() {
    // Node a is cpu-heavy, node b balanced; LeastAllocated ties, balance decides.
    let cpu_heavy = pod("x").container(&[("cpu", "2"), ("memory", "0")]).on_node("a").build();
    let balanced = pod("y").container(&[("cpu", "1"), ("memory", "2Gi")]).on_node("b").build();
    let snap = Snapshot::new(vec![node("a").build(), node("b").build()], vec![cpu_heavy, balanced]);
    let p = pod("p").container(&[("cpu", "1"), ("memory", "2Gi")]).build();
    let mut state = CycleState::default();
    let profile = default_profile();
    let (feasible, _) = find_nodes_that_fit(&mut state, &p, &snap, &profile);
    let scores = prioritize_nodes(&mut state, &p, &snap, &feasible, &profile);
    // a: cpu 3/4, mem 2/8 -> least (25+75)/2=50, balance 1-|.75-.25|/2=75 -> 50+75+300(taint)
    // b: cpu 2/4, mem 4/8 -> least (50+50)/2=50, balance 100
    assert_eq!(scores[0].score, 50 + 75 + 300);
    assert_eq!(scores[1].score, 50 + 100 + 300);
    assert_eq!(select_host(&scores, 0), "b");
}

#[test]
fn preemption_nominates_and_names_victims() {
    let low = pod("low").container(&[("cpu", "3")]).priority(1).on_node("a").build();
    let high = pod("high").container(&[("cpu", "3")]).priority(100).on_node("b").build();
    let snap = Snapshot::new(vec![node("a").build(), node("b").build()], vec![low, high]);
    let p = pod("p").container(&[("cpu", "2")]).priority(50).build();
    let e = run(&p, &snap).unwrap_err();
    assert_eq!(e.to_string(), "0/2 nodes are available: 2 Insufficient cpu.");
    let r = e.post_filter_result.unwrap();
    assert_eq!(r.nominated_node_name.as_deref(), Some("a"));
    assert_eq!(r.victims, vec!["default/low".to_string()]);

    let never = pod("p").container(&[("cpu", "2")]).priority(50).preemption_policy("Never").build();
    assert_eq!(
        err(&never, &snap),
        "0/2 nodes are available: 2 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never.."
    );
}

#[test]
fn preemption_keeps_pods_it_does_not_need_to_evict() {
    let pods = vec![
        pod("l1").container(&[("cpu", "1")]).priority(1).on_node("a").build(),
        pod("l2").container(&[("cpu", "1")]).priority(2).on_node("a").build(),
        pod("l3").container(&[("cpu", "2")]).priority(3).on_node("a").build(),
    ];
    let snap = Snapshot::new(vec![node("a").build()], pods);
    let p = pod("p").container(&[("cpu", "1")]).priority(10).build();
    let r = run(&p, &snap).unwrap_err().post_filter_result.unwrap();
    assert_eq!(r.nominated_node_name.as_deref(), Some("a"));
    // l3 (highest) is reprieved first, then l2; l1 must go.
    assert_eq!(r.victims, vec!["default/l1".to_string()]);
}

#[test]
fn responsibility_predicates() {
    let mine = pod("p").build();
    let other = pod("p").scheduler_name("my-scheduler").build();
    assert!(responsible_for(&mine, DEFAULT_SCHEDULER_NAME));
    assert!(!responsible_for(&other, DEFAULT_SCHEDULER_NAME));
    assert!(responsible_for(&other, "my-scheduler"));
    assert!(needs_scheduling(&mine, DEFAULT_SCHEDULER_NAME));
    assert!(!needs_scheduling(&pod("p").on_node("a").build(), DEFAULT_SCHEDULER_NAME));
}

#[test]
fn sidecar_and_overhead_counted_on_node() {
    let mut p = pod("x").container(&[("cpu", "1")]).init_container(&[("cpu", "1")], true).on_node("a").build();
    p.spec.as_mut().unwrap().overhead = Some(list(&[("cpu", "1")]));
    let snap = Snapshot::new(vec![node("a").build()], vec![p]);
    assert_eq!(snap.nodes[0].requested.milli_cpu, 3000);
    assert_eq!(run(&pod("q").container(&[("cpu", "1")]).build(), &snap).unwrap(), "a");
    assert!(run(&pod("q").container(&[("cpu", "1001m")]).build(), &snap).is_err());
}

#[test]
fn large_clusters_search_a_rotating_sample() {
    use crate::framework::num_feasible_nodes_to_find;
    assert_eq!(num_feasible_nodes_to_find(0, 99), 99);
    assert_eq!(num_feasible_nodes_to_find(0, 150), 100);
    assert_eq!(num_feasible_nodes_to_find(0, 1000), 420);
    assert_eq!(num_feasible_nodes_to_find(0, 5000), 500);
    assert_eq!(num_feasible_nodes_to_find(0, 10000), 500);
    assert_eq!(num_feasible_nodes_to_find(30, 5000), 1500);
    let nodes = (0..200).map(|i| node(&format!("n{i:03}")).build()).collect();
    let snap = Snapshot::new(nodes, vec![]);
    let profile = default_profile();
    let p = pod("p").build();
    let mut state = CycleState::default();
    let (feasible, _) = find_nodes_that_fit(&mut state, &p, &snap, &profile);
    assert_eq!((feasible.len(), feasible[0].name()), (100, "n000"));
    // The next cycle starts where this one stopped.
    let (feasible, _) = find_nodes_that_fit(&mut CycleState::default(), &p, &snap, &profile);
    assert_eq!(feasible[0].name(), "n100");
}

#[test]
fn placed_pods_count_like_full_ones() {
    // Placing the trimmed copy (what the shell keeps) and the full pod give the same
    // decisions for the next pods: same requests, ports, labels, owner and anti-affinity.
    let existing = pod("e")
        .container(&[("cpu", "3")])
        .host_port(8080, "TCP", "")
        .label("app", "web")
        .owner("rs-1")
        .pod_anti_affinity(affinity_term(&[("app", "web")], HOSTNAME))
        .build();
    let nodes = || vec![node("a").build(), node("b").build()];
    let mut full = Snapshot::new(nodes(), vec![]);
    full.assume(existing.clone(), "a");
    let mut trimmed = Snapshot::new(nodes(), vec![]);
    let info = PodInfo::placed(&existing, "a");
    assert!(info.pod.spec.as_ref().unwrap().containers.is_empty());
    assert_eq!(info.pod.spec.as_ref().unwrap().node_name.as_deref(), Some("a"));
    assert!(trimmed.place(info, "a"));
    for s in [&full, &trimmed] {
        let a = s.get("a").unwrap();
        assert_eq!((a.requested.milli_cpu, a.used_ports.len(), a.pods_with_required_anti_affinity.len()), (3000, 1, 1));
    }
    let next = [
        pod("cpu").container(&[("cpu", "2")]).build(),
        pod("port").host_port(8080, "TCP", "").build(),
        pod("web").label("app", "web").build(),
        pod("web2").label("app", "web").owner("rs-1").build(),
    ];
    for p in &next {
        assert_eq!(run(p, &full).ok(), run(p, &trimmed).ok(), "{:?}", p.metadata.name);
        assert_eq!(run(p, &trimmed).ok().as_deref(), Some("b"));
    }
}

#[test]
fn batch_scoring_matches_per_node_scoring() {
    use crate::framework::ScorePlugin;
    use crate::plugins::resource_allocation::ResourceSpec;
    use crate::plugins::{BalancedAllocation, Fit};
    let resources = vec![
        ResourceSpec { name: "cpu".into(), weight: 1 },
        ResourceSpec { name: "memory".into(), weight: 2 },
        ResourceSpec { name: "ephemeral-storage".into(), weight: 1 },
        ResourceSpec { name: "example.com/gpu".into(), weight: 3 },
        ResourceSpec { name: "example.com/fpga".into(), weight: 1 },
    ];
    let nodes = vec![
        node("a").build(),
        node("b").alloc("example.com/gpu", "4").alloc("memory", "2Gi").build(),
        node("c").alloc("cpu", "0").alloc("example.com/gpu", "1").build(),
    ];
    let placed = vec![pod("x").container(&[("cpu", "1"), ("example.com/gpu", "1")]).on_node("b").build()];
    let snap = Snapshot::new(nodes, placed);
    let pods = [
        pod("p").container(&[("cpu", "500m"), ("memory", "1Gi"), ("example.com/gpu", "1")]).build(),
        pod("q").container(&[]).build(),
        pod("r").container(&[("ephemeral-storage", "10Gi")]).build(),
    ];
    let fit = Fit { resources: resources.clone() };
    let balanced = BalancedAllocation { resources };
    let plugins: [&dyn ScorePlugin; 2] = [&fit, &balanced];
    let nodes: Vec<&NodeInfo> = snap.nodes.iter().collect();
    for p in &pods {
        for pl in plugins {
            let mut state = CycleState::default();
            if pl.pre_score(&mut state, p, &nodes, &snap).is_skip() {
                continue;
            }
            let each: Vec<i64> = nodes.iter().map(|n| pl.score(&state, p, n).unwrap()).collect();
            let mut batch: Vec<NodeScore> = nodes.iter().map(|n| NodeScore { name: n.name().into(), score: -1 }).collect();
            pl.score_nodes(&state, p, &nodes, &mut batch);
            assert_eq!(batch.iter().map(|s| s.score).collect::<Vec<_>>(), each, "{} {:?}", pl.name(), p.metadata.name);
        }
    }
}
