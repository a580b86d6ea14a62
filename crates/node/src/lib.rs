//! The node agent (upstream's kubelet): turns the pods bound to this node into OCI
//! containers run by an OCI runtime binary (runc) through bundles, wires them into
//! CNI networks, and reports their truth in Node and Pod status.
//!
//! Why a runtime binary and not an embedded one: the container's monitor must outlive
//! the agent (containers keep running across restarts of `rkube server`, and their exit
//! codes must still be collected), so each container gets a small monitor process —
//! `rkube internal shim`, this same binary — that creates and starts it with runc,
//! writes the CRI log and records the exit status. runc 1.1 runs on both cgroup v1 (hybrid) and v2
//! hosts and keeps the build lean on two cores.

pub mod agent;
pub mod cleanup;
pub mod cni;
pub mod env;
pub mod logs;
pub mod node_status;
pub mod oci;
pub mod probes;
pub mod runtime;
pub mod sandbox;
pub mod server;
pub mod shim;
pub mod status;
pub mod streaming;
pub mod volumes;
pub mod websocket;
pub mod worker;

pub use agent::{run, AgentConfig};
pub use cleanup::killall;

use std::collections::BTreeMap;
use std::net::IpAddr;

use k8s_openapi::api::core::v1::{ConfigMap, Secret, Service};

/// What a pod's environment and volumes may refer to, fetched from the API by the pod
/// worker before it calls the pure functions in `env` and `volumes`.
#[derive(Clone, Debug, Default)]
pub struct PodRefs {
    /// ConfigMaps of the pod's namespace, by name (only those the pod refers to).
    pub config_maps: BTreeMap<String, ConfigMap>,
    /// Secrets of the pod's namespace, by name (only those the pod refers to).
    pub secrets: BTreeMap<String, Secret>,
    /// Services whose environment variables containers get (enableServiceLinks): those of
    /// the pod's namespace, plus `kubernetes` of `default`.
    pub services: Vec<Service>,
}

/// Facts about the node and the pod's sandbox that the downward API and defaults need.
#[derive(Clone, Debug, Default)]
pub struct PodFacts {
    pub node_name: String,
    pub host_ip: Option<IpAddr>,
    pub pod_ips: Vec<IpAddr>,
    /// Node allocatable cpu (cores, may be fractional) and memory (bytes): what a
    /// resourceFieldRef to an unset limit reports.
    pub node_allocatable_cpu: f64,
    pub node_allocatable_memory: u64,
}
