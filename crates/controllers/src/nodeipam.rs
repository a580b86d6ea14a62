//! Node IPAM: gives each Node without one a podCIDR (a /24 of the cluster CIDR, as
//! upstream's range allocator with its default mask size), which its agent's CNI
//! network hands out pod IPs from. Simulated nodes get none: they make up their IPs.

use std::collections::HashSet;
use std::net::Ipv4Addr;

use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;

use crate::runtime::{wait_any, Informer};

const SIMULATED_LABEL: &str = "rkube.io/simulated";

/// The cluster CIDR, split into per-node subnets.
#[derive(Clone, Debug, PartialEq)]
pub struct Ranges {
    base: u32,
    bits: u8,
    node_bits: u8,
}

impl Ranges {
    /// `cidr` like "10.42.0.0/16"; nodes get /24s (or the whole range if it is smaller).
    pub fn parse(cidr: &str) -> Option<Ranges> {
        let (ip, bits) = cidr.split_once('/')?;
        let ip: Ipv4Addr = ip.parse().ok()?;
        let bits: u8 = bits.parse().ok().filter(|b| *b <= 32)?;
        let mask = if bits == 0 { 0 } else { u32::MAX << (32 - bits) };
        Some(Ranges { base: u32::from(ip) & mask, bits, node_bits: bits.max(24) })
    }

    fn count(&self) -> u32 {
        1u32 << (self.node_bits - self.bits).min(31)
    }

    fn subnet(&self, i: u32) -> String {
        let net = self.base + (i << (32 - self.node_bits as u32));
        format!("{}/{}", Ipv4Addr::from(net), self.node_bits)
    }

    /// The first subnet not in `used`.
    pub fn next_free(&self, used: &HashSet<String>) -> Option<String> {
        (0..self.count()).map(|i| self.subnet(i)).find(|s| !used.contains(s))
    }
}

/// Nodes that need a podCIDR, and the CIDRs already taken.
pub fn plan(nodes: &[std::sync::Arc<Node>]) -> (Vec<String>, HashSet<String>) {
    let mut used = HashSet::new();
    let mut need = Vec::new();
    for n in nodes {
        let cidr = n.spec.as_ref().and_then(|s| s.pod_cidr.clone());
        let simulated = n.metadata.labels.as_ref().is_some_and(|l| l.get(SIMULATED_LABEL).map(String::as_str) == Some("true"));
        match cidr {
            Some(c) => {
                used.insert(c);
            }
            None if !simulated => need.push(n.metadata.name.clone().unwrap_or_default()),
            None => {}
        }
    }
    (need, used)
}

/// Runs the allocator until the process ends.
pub async fn run(client: kube::Client, nodes: Informer<Node>, ranges: Ranges) {
    let mut rxs = [nodes.subscribe()];
    nodes.ready().await;
    let api: Api<Node> = Api::all(client.clone());
    let recorder = crate::events::Recorder::new(client, "cidrAllocator");
    loop {
        let all = nodes.list();
        let (need, mut used) = plan(&all);
        for name in need {
            let Some(cidr) = ranges.next_free(&used) else {
                if let Some(n) = all.iter().find(|n| n.metadata.name.as_deref() == Some(&name)) {
                    let about = crate::events::Involved::of(n.as_ref());
                    recorder.normal(&about, "CIDRNotAvailable", format!("Node {name} status is now: CIDRNotAvailable")).await;
                }
                continue;
            };
            let patch = json!({"spec": {"podCIDR": cidr, "podCIDRs": [cidr]}});
            match api.patch(&name, &PatchParams::default(), &Patch::Merge(patch)).await {
                Ok(_) => {
                    used.insert(cidr);
                }
                Err(e) => tracing::warn!("allocating a podCIDR for node {name}: {e}"),
            }
        }
        wait_any(&mut rxs, std::time::Duration::from_secs(300), std::time::Duration::from_millis(50)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocates_the_first_free_subnet_and_skips_simulated_nodes() {
        let r = Ranges::parse("10.42.0.0/16").unwrap();
        let node = |name: &str, cidr: Option<&str>, sim: bool| {
            let mut v = json!({"metadata": {"name": name}, "spec": {}});
            if let Some(c) = cidr {
                v["spec"]["podCIDR"] = json!(c);
            }
            if sim {
                v["metadata"]["labels"] = json!({SIMULATED_LABEL: "true"});
            }
            std::sync::Arc::new(serde_json::from_value::<Node>(v).unwrap())
        };
        let nodes = vec![node("a", Some("10.42.0.0/24"), false), node("b", None, false), node("s", None, true)];
        let (need, used) = plan(&nodes);
        assert_eq!(need, vec!["b".to_string()]);
        assert_eq!(r.next_free(&used).as_deref(), Some("10.42.1.0/24"));
        let tiny = Ranges::parse("10.1.2.0/24").unwrap();
        assert_eq!(tiny.next_free(&HashSet::new()).as_deref(), Some("10.1.2.0/24"));
        assert_eq!(tiny.next_free(&HashSet::from(["10.1.2.0/24".to_string()])), None);
    }
}
