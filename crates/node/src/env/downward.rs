//! The downward API: values of pod fields (`fieldRef`) and container resources
//! (`resourceFieldRef`), shared by environment variables and downwardAPI volumes.
//! Upstream: pkg/fieldpath, pkg/api/v1/resource and kubelet's
//! podFieldSelectorRuntimeValue.

use k8s_openapi::api::core::v1::{Container, ObjectFieldSelector, Pod, ResourceFieldSelector};

use crate::PodFacts;

/// Value of `fieldRef` as a container environment variable sees it (upstream's
/// podFieldSelectorRuntimeValue): the metadata fields plus node and IP facts.
pub fn env_field_value(
    sel: &ObjectFieldSelector,
    pod: &Pod,
    facts: &PodFacts,
) -> Result<String, String> {
    let path = convert_field_label(sel)?;
    let spec = pod.spec.as_ref();
    let status = pod.status.as_ref();
    let pod_ips: Vec<String> = if facts.pod_ips.is_empty() {
        status
            .and_then(|s| s.pod_ips.as_ref())
            .map(|ips| ips.iter().map(|ip| ip.ip.clone()).collect())
            .unwrap_or_default()
    } else {
        facts.pod_ips.iter().map(|ip| ip.to_string()).collect()
    };
    let host_ips: Vec<String> = match facts.host_ip {
        Some(ip) => vec![ip.to_string()],
        None => status
            .and_then(|s| s.host_ip.clone())
            .into_iter()
            .collect(),
    };
    match path.as_str() {
        "spec.nodeName" => Ok(spec
            .and_then(|s| s.node_name.clone())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| facts.node_name.clone())),
        "spec.serviceAccountName" => Ok(spec
            .and_then(|s| s.service_account_name.clone())
            .unwrap_or_default()),
        "status.hostIP" => Ok(host_ips.first().cloned().unwrap_or_default()),
        "status.hostIPs" => Ok(host_ips.join(",")),
        "status.podIP" => Ok(pod_ips.first().cloned().unwrap_or_default()),
        "status.podIPs" => Ok(pod_ips.join(",")),
        _ => metadata_field_value(pod, &path),
    }
}

/// Value of `fieldRef` in a downwardAPI volume file (upstream's
/// fieldpath.ExtractFieldPathAsString: metadata only).
pub fn volume_field_value(sel: &ObjectFieldSelector, pod: &Pod) -> Result<String, String> {
    metadata_field_value(pod, &sel.field_path)
}

/// Upstream's ConvertDownwardAPIFieldLabel: checks the version and the label.
fn convert_field_label(sel: &ObjectFieldSelector) -> Result<String, String> {
    let version = sel.api_version.as_deref().unwrap_or("v1");
    let version = if version.is_empty() { "v1" } else { version };
    if version != "v1" {
        return Err(format!("unsupported pod version: {version}"));
    }
    let label = sel.field_path.as_str();
    if let Some((path, _)) = split_subscript(label) {
        return match path {
            "metadata.annotations" | "metadata.labels" => Ok(label.to_string()),
            _ => Err(format!("field label does not support subscript: {label}")),
        };
    }
    match label {
        "metadata.annotations" | "metadata.labels" | "metadata.name" | "metadata.namespace"
        | "metadata.uid" | "spec.nodeName" | "spec.restartPolicy" | "spec.serviceAccountName"
        | "spec.schedulerName" | "status.phase" | "status.hostIP" | "status.hostIPs"
        | "status.podIP" | "status.podIPs" => Ok(label.to_string()),
        "spec.host" => Ok("spec.nodeName".to_string()),
        _ => Err(format!("field label not supported: {label}")),
    }
}

/// `metadata.labels['key']` → `("metadata.labels", "key")`.
fn split_subscript(path: &str) -> Option<(&str, &str)> {
    let s = path.strip_suffix("']")?;
    let (head, key) = s.split_once("['")?;
    if head.is_empty() {
        return None;
    }
    Some((head, key))
}

fn metadata_field_value(pod: &Pod, path: &str) -> Result<String, String> {
    let meta = &pod.metadata;
    if let Some((head, key)) = split_subscript(path) {
        return match head {
            "metadata.annotations" => Ok(meta
                .annotations
                .as_ref()
                .and_then(|m| m.get(key).cloned())
                .unwrap_or_default()),
            "metadata.labels" => Ok(meta
                .labels
                .as_ref()
                .and_then(|m| m.get(key).cloned())
                .unwrap_or_default()),
            _ => Err(format!("fieldPath {} does not support subscript", go_quote(path))),
        };
    }
    match path {
        "metadata.annotations" => Ok(format_map(meta.annotations.as_ref())),
        "metadata.labels" => Ok(format_map(meta.labels.as_ref())),
        "metadata.name" => Ok(meta.name.clone().unwrap_or_default()),
        "metadata.namespace" => Ok(meta.namespace.clone().unwrap_or_default()),
        "metadata.uid" => Ok(meta.uid.clone().unwrap_or_default()),
        _ => Err(format!("unsupported fieldPath: {path}")),
    }
}

/// Upstream's FormatMap: `key="value"` lines in key order, values Go-quoted.
fn format_map(m: Option<&std::collections::BTreeMap<String, String>>) -> String {
    let Some(m) = m else { return String::new() };
    m.iter()
        .map(|(k, v)| format!("{k}={}", go_quote(v)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Go's `%q` (strconv.Quote), shared with the API server's messages.
pub use api::gofmt::quote as go_quote;

/// Value of `resourceFieldRef` (upstream's ExtractContainerResourceValue after
/// defaultPodLimitsForDownwardAPI): the named container of the pod, or `current` when
/// `containerName` is empty; unset (or zero) cpu/memory limits report the node's
/// allocatable from `facts`; the value is divided by the divisor and rounded up.
pub fn resource_field_value(
    sel: &ResourceFieldSelector,
    pod: &Pod,
    current: Option<&Container>,
    facts: &PodFacts,
) -> Result<String, String> {
    let name = sel.container_name.as_deref().unwrap_or("");
    let container = if name.is_empty() {
        match current {
            Some(c) => c,
            None => return Err(format!("container {name} not found")),
        }
    } else {
        find_container(pod, name).ok_or_else(|| format!("container {name} not found"))?
    };
    let divisor = match sel.divisor.as_ref().map(|q| q.0.as_str()) {
        None | Some("") => Rational::one(),
        Some(d) => {
            let q = Rational::parse(d).ok_or_else(|| format!("invalid divisor: {d}"))?;
            if q.is_zero() {
                Rational::one()
            } else {
                q
            }
        }
    };
    let (kind, resource) = sel
        .resource
        .split_once('.')
        .ok_or_else(|| format!("unsupported container resource : {}", sel.resource))?;
    let supported = matches!(resource, "cpu" | "memory" | "ephemeral-storage")
        || resource.starts_with("hugepages-");
    if !supported || !matches!(kind, "limits" | "requests") {
        return Err(format!("unsupported container resource : {}", sel.resource));
    }
    let resources = container.resources.as_ref();
    let list = if kind == "limits" {
        resources.and_then(|r| r.limits.as_ref())
    } else {
        resources.and_then(|r| r.requests.as_ref())
    };
    let mut value = list
        .and_then(|l| l.get(resource))
        .and_then(|q| Rational::parse(&q.0))
        .unwrap_or_else(Rational::zero);
    if kind == "limits" && value.is_zero() {
        value = match resource {
            "cpu" => Rational::from_cores(facts.node_allocatable_cpu),
            "memory" => Rational::int(facts.node_allocatable_memory as i128),
            _ => value,
        };
    }
    let result = if resource == "cpu" {
        let d = divisor.ceil_scaled(3).max(1);
        ceil_div(value.ceil_scaled(3), d)
    } else {
        let d = divisor.ceil_scaled(0).max(1);
        ceil_div(value.ceil_scaled(0), d)
    };
    Ok(result.to_string())
}

fn find_container<'a>(pod: &'a Pod, name: &str) -> Option<&'a Container> {
    let spec = pod.spec.as_ref()?;
    spec.containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
        .find(|c| c.name == name)
}

fn ceil_div(a: i128, b: i128) -> i128 {
    let q = a / b;
    if (a % b != 0) && ((a < 0) == (b < 0)) {
        q + 1
    } else {
        q
    }
}

/// An exact resource quantity (`num / den`), enough for the downward API's rounding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Rational {
    num: i128,
    den: i128,
}

impl Rational {
    fn one() -> Self {
        Rational { num: 1, den: 1 }
    }
    fn zero() -> Self {
        Rational { num: 0, den: 1 }
    }
    fn int(v: i128) -> Self {
        Rational { num: v, den: 1 }
    }
    fn from_cores(cores: f64) -> Self {
        Rational { num: (cores * 1000.0).ceil() as i128, den: 1000 }
    }
    fn is_zero(&self) -> bool {
        self.num == 0
    }

    /// `value * 10^scale`, rounded up (Go's Quantity.ScaledValue: MilliValue is
    /// scale 3, Value is scale 0).
    pub(crate) fn ceil_scaled(&self, scale: u32) -> i128 {
        ceil_div(self.num.saturating_mul(10i128.pow(scale)), self.den)
    }

    /// Parses a Kubernetes quantity: `<signed decimal><suffix>`, suffix binary
    /// (Ki…Ei), decimal (n u m "" k M G T P E) or an exponent (`e3`, `E-2`).
    pub(crate) fn parse(s: &str) -> Option<Rational> {
        let s = s.trim();
        let (neg, rest) = match s.as_bytes().first()? {
            b'-' => (true, &s[1..]),
            b'+' => (false, &s[1..]),
            _ => (false, s),
        };
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (digits, suffix) = rest.split_at(num_end);
        if digits.is_empty() || digits == "." || digits.matches('.').count() > 1 {
            return None;
        }
        let (int_part, frac_part) = digits.split_once('.').unwrap_or((digits, ""));
        let mut num: i128 = 0;
        for c in int_part.chars().chain(frac_part.chars()) {
            num = num.checked_mul(10)?.checked_add(c.to_digit(10)? as i128)?;
        }
        let mut den: i128 = 10i128.checked_pow(frac_part.len() as u32)?;
        let (mul, div): (i128, i128) = match suffix {
            "" => (1, 1),
            "Ki" => (1 << 10, 1),
            "Mi" => (1 << 20, 1),
            "Gi" => (1 << 30, 1),
            "Ti" => (1 << 40, 1),
            "Pi" => (1 << 50, 1),
            "Ei" => (1 << 60, 1),
            "n" => (1, 1_000_000_000),
            "u" => (1, 1_000_000),
            "m" => (1, 1_000),
            "k" => (1_000, 1),
            "M" => (1_000_000, 1),
            "G" => (1_000_000_000, 1),
            "T" => (1_000_000_000_000, 1),
            "P" => (1_000_000_000_000_000, 1),
            "E" => (1_000_000_000_000_000_000, 1),
            _ => {
                let exp = suffix.strip_prefix(['e', 'E'])?;
                let e: i32 = exp.parse().ok()?;
                if e.unsigned_abs() > 30 {
                    return None;
                }
                let p = 10i128.pow(e.unsigned_abs());
                if e >= 0 {
                    (p, 1)
                } else {
                    (1, p)
                }
            }
        };
        num = num.checked_mul(mul)?;
        den = den.checked_mul(div)?;
        if neg {
            num = -num;
        }
        Some(Rational { num, den })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{PodSpec, ResourceRequirements};
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
    use std::collections::BTreeMap;

    #[test]
    fn quantity_rounding() {
        let q = |s: &str| Rational::parse(s).unwrap();
        assert_eq!(q("500m").ceil_scaled(3), 500);
        assert_eq!(q("500m").ceil_scaled(0), 1);
        assert_eq!(q("1.5").ceil_scaled(3), 1500);
        assert_eq!(q("1Gi").ceil_scaled(0), 1 << 30);
        assert_eq!(q("128974848").ceil_scaled(0), 128974848);
        assert_eq!(q("129M").ceil_scaled(0), 129_000_000);
        assert_eq!(q("1e3").ceil_scaled(0), 1000);
        assert_eq!(q("1n").ceil_scaled(3), 1);
        assert!(Rational::parse("abc").is_none());
        assert!(Rational::parse("1Xi").is_none());
    }

    fn pod_with(limits: &[(&str, &str)], requests: &[(&str, &str)]) -> Pod {
        let list = |v: &[(&str, &str)]| -> Option<BTreeMap<String, Quantity>> {
            Some(v.iter().map(|(k, q)| (k.to_string(), Quantity(q.to_string()))).collect())
        };
        Pod {
            spec: Some(PodSpec {
                containers: vec![Container {
                    name: "c".into(),
                    resources: Some(ResourceRequirements {
                        limits: list(limits),
                        requests: list(requests),
                        ..Default::default()
                    }),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn sel(resource: &str, divisor: Option<&str>) -> ResourceFieldSelector {
        ResourceFieldSelector {
            container_name: Some("c".into()),
            resource: resource.into(),
            divisor: divisor.map(|d| Quantity(d.into())),
        }
    }

    #[test]
    fn resources_with_divisor_and_allocatable() {
        let facts = PodFacts {
            node_allocatable_cpu: 2.5,
            node_allocatable_memory: 4 << 30,
            ..Default::default()
        };
        let pod = pod_with(&[("memory", "64Mi")], &[("cpu", "250m")]);
        let v = |r, d| resource_field_value(&sel(r, d), &pod, None, &facts).unwrap();
        assert_eq!(v("requests.cpu", None), "1");
        assert_eq!(v("requests.cpu", Some("1m")), "250");
        assert_eq!(v("limits.memory", None), (64u64 << 20).to_string());
        assert_eq!(v("limits.memory", Some("1Mi")), "64");
        assert_eq!(v("limits.cpu", None), "3");
        assert_eq!(v("limits.cpu", Some("1m")), "2500");
        assert_eq!(v("requests.memory", None), "0");
        assert_eq!(
            resource_field_value(&sel("limits.gpu", None), &pod, None, &facts).unwrap_err(),
            "unsupported container resource : limits.gpu"
        );
    }

    #[test]
    fn quoting_matches_go() {
        assert_eq!(go_quote("a\"b\\c\nd"), r#""a\"b\\c\nd""#);
        assert_eq!(go_quote("\u{1}é"), "\"\\x01é\"");
    }
}
