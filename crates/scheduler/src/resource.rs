//! Resource arithmetic as the scheduler sees it (upstream `framework.Resource` and
//! `resourcehelper.PodRequests`).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, Pod};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use crate::quantity::{milli_value, value};

pub const CPU: &str = "cpu";
pub const MEMORY: &str = "memory";
pub const PODS: &str = "pods";
pub const EPHEMERAL_STORAGE: &str = "ephemeral-storage";

/// Scoring default for a container that does not set a CPU request (100m).
pub const DEFAULT_MILLI_CPU_REQUEST: i64 = 100;
/// Scoring default for a container that does not set a memory request (200Mi).
pub const DEFAULT_MEMORY_REQUEST: i64 = 200 * 1024 * 1024;

/// Amounts of compute resources: CPU in millicores, the rest in whole units.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resource {
    pub milli_cpu: i64,
    pub memory: i64,
    pub ephemeral_storage: i64,
    pub allowed_pod_number: i64,
    /// Extended resources, hugepages and attachable volumes.
    pub scalar: BTreeMap<String, i64>,
}

/// A resource name with a domain prefix that is `kubernetes.io/` (or without any domain).
pub fn is_native_resource(name: &str) -> bool {
    !name.contains('/') || name.contains("kubernetes.io/")
}

/// Extended resources: domain-prefixed, not native, not a quota `requests.` name.
pub fn is_extended_resource(name: &str) -> bool {
    !is_native_resource(name) && !name.starts_with("requests.")
}

/// Names tracked in `Resource::scalar` (upstream `IsScalarResourceName`).
pub fn is_scalar_resource(name: &str) -> bool {
    is_extended_resource(name)
        || name.starts_with("hugepages-")
        || (name.contains('/') && name.starts_with("kubernetes.io/"))
        || name.starts_with("attachable-volumes-")
}

impl Resource {
    /// Builds a resource from a resource list (e.g. node allocatable).
    pub fn from_list(list: &BTreeMap<String, Quantity>) -> Resource {
        let mut r = Resource::default();
        r.add_list(list);
        r
    }

    pub fn add_list(&mut self, list: &BTreeMap<String, Quantity>) {
        for (name, q) in list {
            self.add_named(name, q);
        }
    }

    fn add_named(&mut self, name: &str, q: &Quantity) {
        match name {
            CPU => self.milli_cpu += milli_value(q),
            MEMORY => self.memory += value(q),
            PODS => self.allowed_pod_number += value(q),
            EPHEMERAL_STORAGE => self.ephemeral_storage += value(q),
            n if is_scalar_resource(n) => *self.scalar.entry(n.to_string()).or_default() += value(q),
            _ => {}
        }
    }

    pub fn add(&mut self, o: &Resource) {
        self.milli_cpu += o.milli_cpu;
        self.memory += o.memory;
        self.ephemeral_storage += o.ephemeral_storage;
        self.allowed_pod_number += o.allowed_pod_number;
        for (k, v) in &o.scalar {
            *self.scalar.entry(k.clone()).or_default() += v;
        }
    }

    pub fn sub(&mut self, o: &Resource) {
        self.milli_cpu -= o.milli_cpu;
        self.memory -= o.memory;
        self.ephemeral_storage -= o.ephemeral_storage;
        self.allowed_pod_number -= o.allowed_pod_number;
        for (k, v) in &o.scalar {
            *self.scalar.entry(k.clone()).or_default() -= v;
        }
    }

    fn max_with(&mut self, o: &Resource) {
        self.milli_cpu = self.milli_cpu.max(o.milli_cpu);
        self.memory = self.memory.max(o.memory);
        self.ephemeral_storage = self.ephemeral_storage.max(o.ephemeral_storage);
        self.allowed_pod_number = self.allowed_pod_number.max(o.allowed_pod_number);
        for (k, v) in &o.scalar {
            let e = self.scalar.entry(k.clone()).or_default();
            *e = (*e).max(*v);
        }
    }

    /// The amount of one named resource (CPU in millicores).
    pub fn get(&self, name: &str) -> i64 {
        match name {
            CPU => self.milli_cpu,
            MEMORY => self.memory,
            PODS => self.allowed_pod_number,
            EPHEMERAL_STORAGE => self.ephemeral_storage,
            n => self.scalar.get(n).copied().unwrap_or(0),
        }
    }
}

/// How missing container requests are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Defaults {
    /// Missing requests count as zero (filtering, `Requested`).
    None,
    /// Missing CPU/memory requests count as 100m/200Mi (scoring, `NonZeroRequested`).
    NonZero,
}

fn container_requests(c: &Container, defaults: Defaults) -> Resource {
    let empty = BTreeMap::new();
    let list = c.resources.as_ref().and_then(|r| r.requests.as_ref()).unwrap_or(&empty);
    let mut r = Resource::from_list(list);
    if defaults == Defaults::NonZero {
        if !list.contains_key(CPU) {
            r.milli_cpu = DEFAULT_MILLI_CPU_REQUEST;
        }
        if !list.contains_key(MEMORY) {
            r.memory = DEFAULT_MEMORY_REQUEST;
        }
    }
    r
}

fn is_restartable(c: &Container) -> bool {
    c.restart_policy.as_deref() == Some("Always")
}

/// The pod's effective request: the sum of its containers (and sidecars), at least the
/// largest init container (plus the sidecars started before it), plus pod overhead.
pub fn pod_requests(pod: &Pod, defaults: Defaults) -> Resource {
    let Some(spec) = pod.spec.as_ref() else {
        return Resource::default();
    };
    let mut reqs = Resource::default();
    for c in &spec.containers {
        reqs.add(&container_requests(c, defaults));
    }
    let mut sidecars = Resource::default();
    let mut init_max = Resource::default();
    for c in spec.init_containers.iter().flatten() {
        let r = container_requests(c, defaults);
        if is_restartable(c) {
            reqs.add(&r);
            sidecars.add(&r);
            init_max.max_with(&sidecars);
        } else {
            let mut tmp = r;
            tmp.add(&sidecars);
            init_max.max_with(&tmp);
        }
    }
    reqs.max_with(&init_max);
    if let Some(overhead) = spec.overhead.as_ref() {
        reqs.add_list(overhead);
    }
    reqs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;

    #[test]
    fn sums_containers_and_overhead() {
        let mut p = pod("p").container(&[("cpu", "100m"), ("memory", "1Gi")]).container(&[("cpu", "200m")]).build();
        p.spec.as_mut().unwrap().overhead = Some(list(&[("cpu", "10m")]));
        let r = pod_requests(&p, Defaults::None);
        assert_eq!(r.milli_cpu, 310);
        assert_eq!(r.memory, 1 << 30);
    }

    #[test]
    fn init_containers_take_the_max() {
        let p = pod("p")
            .container(&[("cpu", "100m")])
            .init_container(&[("cpu", "500m"), ("memory", "10")], false)
            .build();
        let r = pod_requests(&p, Defaults::None);
        assert_eq!(r.milli_cpu, 500);
        assert_eq!(r.memory, 10);
    }

    #[test]
    fn sidecars_add_up() {
        let p = pod("p")
            .container(&[("cpu", "100m")])
            .init_container(&[("cpu", "200m")], true)
            .init_container(&[("cpu", "250m")], false)
            .build();
        // containers + sidecar = 300m; init phase = 250m + 200m sidecar = 450m.
        assert_eq!(pod_requests(&p, Defaults::None).milli_cpu, 450);
    }

    #[test]
    fn non_zero_defaults_only_for_missing() {
        let p = pod("p").container(&[]).container(&[("cpu", "0"), ("memory", "0")]).build();
        let r = pod_requests(&p, Defaults::NonZero);
        assert_eq!(r.milli_cpu, 100);
        assert_eq!(r.memory, DEFAULT_MEMORY_REQUEST);
        assert_eq!(pod_requests(&p, Defaults::None), Resource::default());
    }

    #[test]
    fn scalar_names() {
        assert!(is_scalar_resource("example.com/gpu"));
        assert!(is_scalar_resource("hugepages-2Mi"));
        assert!(!is_scalar_resource("cpu"));
        assert!(!is_scalar_resource("requests.example.com/x"));
    }
}
