//! Schemas of the built-in types, generated from k8s-openapi's JSON schemas (upstream's
//! types and docs) and built once, on first use: the source for OpenAPI documents,
//! field validation and server-side apply.

pub mod extensions;

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::{json, Map, Value};

/// Where schema references point, as in OpenAPI v3 documents.
pub const REF_PREFIX: &str = "#/components/schemas/";

pub struct Schemas {
    /// Every definition, keyed by upstream's name (`io.k8s.api.apps.v1.Deployment`).
    pub defs: Map<String, Value>,
    roots: HashMap<(String, String, String), String>,
}

macro_rules! kinds {
    ($( ($g:expr, $v:expr, $k:expr, $t:path) ),* $(,)?) => {
        fn generate() -> Schemas {
            let mut generator = schemars::generate::SchemaSettings::openapi3().into_generator();
            let mut roots = HashMap::new();
            $(
                let root = generator.subschema_for::<$t>();
                let name = root.get("$ref").and_then(Value::as_str).unwrap_or_default().trim_start_matches(REF_PREFIX).to_string();
                roots.insert(($g.to_string(), $v.to_string(), $k.to_string()), name);
            )*
            let mut defs: Map<String, Value> = generator
                .take_definitions(true)
                .into_iter()
                .map(|(k, v)| (k, serde_json::to_value(v).unwrap_or_default()))
                .collect();
            annotate_roots(&mut defs, &roots);
            Schemas { defs, roots }
        }
    };
}

kinds! {
    ("", "v1", "Binding", k8s_openapi::api::core::v1::Binding),
    ("", "v1", "ComponentStatus", k8s_openapi::api::core::v1::ComponentStatus),
    ("", "v1", "ConfigMap", k8s_openapi::api::core::v1::ConfigMap),
    ("", "v1", "Endpoints", k8s_openapi::api::core::v1::Endpoints),
    ("", "v1", "Event", k8s_openapi::api::core::v1::Event),
    ("", "v1", "LimitRange", k8s_openapi::api::core::v1::LimitRange),
    ("", "v1", "Namespace", k8s_openapi::api::core::v1::Namespace),
    ("", "v1", "Node", k8s_openapi::api::core::v1::Node),
    ("", "v1", "PersistentVolume", k8s_openapi::api::core::v1::PersistentVolume),
    ("", "v1", "PersistentVolumeClaim", k8s_openapi::api::core::v1::PersistentVolumeClaim),
    ("", "v1", "Pod", k8s_openapi::api::core::v1::Pod),
    ("", "v1", "PodTemplate", k8s_openapi::api::core::v1::PodTemplate),
    ("", "v1", "ReplicationController", k8s_openapi::api::core::v1::ReplicationController),
    ("", "v1", "ResourceQuota", k8s_openapi::api::core::v1::ResourceQuota),
    ("", "v1", "Secret", k8s_openapi::api::core::v1::Secret),
    ("", "v1", "Service", k8s_openapi::api::core::v1::Service),
    ("", "v1", "ServiceAccount", k8s_openapi::api::core::v1::ServiceAccount),
    ("admissionregistration.k8s.io", "v1", "MutatingWebhookConfiguration", k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration),
    ("admissionregistration.k8s.io", "v1", "ValidatingAdmissionPolicy", k8s_openapi::api::admissionregistration::v1::ValidatingAdmissionPolicy),
    ("admissionregistration.k8s.io", "v1", "ValidatingAdmissionPolicyBinding", k8s_openapi::api::admissionregistration::v1::ValidatingAdmissionPolicyBinding),
    ("admissionregistration.k8s.io", "v1", "ValidatingWebhookConfiguration", k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration),
    ("apiextensions.k8s.io", "v1", "CustomResourceDefinition", k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition),
    ("apiregistration.k8s.io", "v1", "APIService", k8s_openapi::kube_aggregator::pkg::apis::apiregistration::v1::APIService),
    ("apps", "v1", "ControllerRevision", k8s_openapi::api::apps::v1::ControllerRevision),
    ("apps", "v1", "DaemonSet", k8s_openapi::api::apps::v1::DaemonSet),
    ("apps", "v1", "Deployment", k8s_openapi::api::apps::v1::Deployment),
    ("apps", "v1", "ReplicaSet", k8s_openapi::api::apps::v1::ReplicaSet),
    ("apps", "v1", "StatefulSet", k8s_openapi::api::apps::v1::StatefulSet),
    ("authentication.k8s.io", "v1", "SelfSubjectReview", k8s_openapi::api::authentication::v1::SelfSubjectReview),
    ("authentication.k8s.io", "v1", "TokenRequest", k8s_openapi::api::authentication::v1::TokenRequest),
    ("authentication.k8s.io", "v1", "TokenReview", k8s_openapi::api::authentication::v1::TokenReview),
    ("authorization.k8s.io", "v1", "LocalSubjectAccessReview", k8s_openapi::api::authorization::v1::LocalSubjectAccessReview),
    ("authorization.k8s.io", "v1", "SelfSubjectAccessReview", k8s_openapi::api::authorization::v1::SelfSubjectAccessReview),
    ("authorization.k8s.io", "v1", "SelfSubjectRulesReview", k8s_openapi::api::authorization::v1::SelfSubjectRulesReview),
    ("authorization.k8s.io", "v1", "SubjectAccessReview", k8s_openapi::api::authorization::v1::SubjectAccessReview),
    ("autoscaling", "v1", "HorizontalPodAutoscaler", k8s_openapi::api::autoscaling::v1::HorizontalPodAutoscaler),
    ("autoscaling", "v1", "Scale", k8s_openapi::api::autoscaling::v1::Scale),
    ("autoscaling", "v2", "HorizontalPodAutoscaler", k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler),
    ("batch", "v1", "CronJob", k8s_openapi::api::batch::v1::CronJob),
    ("batch", "v1", "Job", k8s_openapi::api::batch::v1::Job),
    ("certificates.k8s.io", "v1", "CertificateSigningRequest", k8s_openapi::api::certificates::v1::CertificateSigningRequest),
    ("coordination.k8s.io", "v1", "Lease", k8s_openapi::api::coordination::v1::Lease),
    ("discovery.k8s.io", "v1", "EndpointSlice", k8s_openapi::api::discovery::v1::EndpointSlice),
    ("events.k8s.io", "v1", "Event", k8s_openapi::api::events::v1::Event),
    ("flowcontrol.apiserver.k8s.io", "v1", "FlowSchema", k8s_openapi::api::flowcontrol::v1::FlowSchema),
    ("flowcontrol.apiserver.k8s.io", "v1", "PriorityLevelConfiguration", k8s_openapi::api::flowcontrol::v1::PriorityLevelConfiguration),
    ("networking.k8s.io", "v1", "IPAddress", k8s_openapi::api::networking::v1::IPAddress),
    ("networking.k8s.io", "v1", "Ingress", k8s_openapi::api::networking::v1::Ingress),
    ("networking.k8s.io", "v1", "IngressClass", k8s_openapi::api::networking::v1::IngressClass),
    ("networking.k8s.io", "v1", "NetworkPolicy", k8s_openapi::api::networking::v1::NetworkPolicy),
    ("networking.k8s.io", "v1", "ServiceCIDR", k8s_openapi::api::networking::v1::ServiceCIDR),
    ("node.k8s.io", "v1", "RuntimeClass", k8s_openapi::api::node::v1::RuntimeClass),
    ("policy", "v1", "Eviction", k8s_openapi::api::policy::v1::Eviction),
    ("policy", "v1", "PodDisruptionBudget", k8s_openapi::api::policy::v1::PodDisruptionBudget),
    ("rbac.authorization.k8s.io", "v1", "ClusterRole", k8s_openapi::api::rbac::v1::ClusterRole),
    ("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", k8s_openapi::api::rbac::v1::ClusterRoleBinding),
    ("rbac.authorization.k8s.io", "v1", "Role", k8s_openapi::api::rbac::v1::Role),
    ("rbac.authorization.k8s.io", "v1", "RoleBinding", k8s_openapi::api::rbac::v1::RoleBinding),
    ("scheduling.k8s.io", "v1", "PriorityClass", k8s_openapi::api::scheduling::v1::PriorityClass),
    ("storage.k8s.io", "v1", "CSIDriver", k8s_openapi::api::storage::v1::CSIDriver),
    ("storage.k8s.io", "v1", "CSINode", k8s_openapi::api::storage::v1::CSINode),
    ("storage.k8s.io", "v1", "CSIStorageCapacity", k8s_openapi::api::storage::v1::CSIStorageCapacity),
    ("storage.k8s.io", "v1", "StorageClass", k8s_openapi::api::storage::v1::StorageClass),
    ("storage.k8s.io", "v1", "VolumeAttachment", k8s_openapi::api::storage::v1::VolumeAttachment),
}

fn annotate_roots(defs: &mut Map<String, Value>, roots: &HashMap<(String, String, String), String>) {
    let mut gvks: HashMap<&str, Vec<Value>> = HashMap::new();
    for ((g, v, k), name) in roots {
        gvks.entry(name.as_str()).or_default().push(json!({"group": g, "kind": k, "version": v}));
    }
    for (name, mut list) in gvks {
        list.sort_by_key(|v| v.to_string());
        if let Some(Value::Object(d)) = defs.get_mut(name) {
            d.insert("x-kubernetes-group-version-kind".into(), Value::Array(list));
        }
    }
}

pub fn schemas() -> &'static Schemas {
    static SCHEMAS: OnceLock<Schemas> = OnceLock::new();
    SCHEMAS.get_or_init(generate)
}

impl Schemas {
    /// The definition name of a kind's root type.
    pub fn root(&self, group: &str, version: &str, kind: &str) -> Option<&str> {
        self.roots.get(&(group.to_string(), version.to_string(), kind.to_string())).map(String::as_str)
    }

    pub fn def(&self, name: &str) -> Option<&Value> {
        self.defs.get(name)
    }

    /// Follows a `$ref` (also one wrapped in `allOf`) to its definition.
    pub fn resolve<'a>(&'a self, schema: &'a Value) -> &'a Value {
        let reference = schema
            .get("$ref")
            .or_else(|| schema.get("allOf").and_then(|a| a.get(0)).and_then(|s| s.get("$ref")))
            .and_then(Value::as_str);
        match reference.and_then(|r| r.strip_prefix(REF_PREFIX)).and_then(|n| self.defs.get(n)) {
            Some(def) => def,
            None => schema,
        }
    }

    /// The schema of a field of an object schema (resolved).
    pub fn property<'a>(&'a self, object: &'a Value, field: &str) -> Option<&'a Value> {
        let object = self.resolve(object);
        object.get("properties").and_then(|p| p.get(field)).map(|s| self.resolve(s))
    }

    /// The item schema of an array schema, or the value schema of a map (resolved).
    pub fn items<'a>(&'a self, schema: &'a Value) -> Option<&'a Value> {
        let schema = self.resolve(schema);
        schema.get("items").or_else(|| schema.get("additionalProperties").filter(|a| a.is_object())).map(|s| self.resolve(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_and_properties_resolve() {
        let s = schemas();
        let name = s.root("apps", "v1", "Deployment").unwrap();
        assert_eq!(name, "io.k8s.api.apps.v1.Deployment");
        let d = s.def(name).unwrap();
        assert_eq!(d["x-kubernetes-group-version-kind"][0]["kind"], "Deployment");
        let spec = s.property(d, "spec").unwrap();
        let template = s.property(spec, "template").unwrap();
        let pod_spec = s.property(template, "spec").unwrap();
        let containers = s.property(pod_spec, "containers").unwrap();
        let container = s.items(containers).unwrap();
        assert!(s.property(container, "image").is_some());
        assert!(s.property(container, "bogus").is_none());
        let hpa = s.root("autoscaling", "v2", "HorizontalPodAutoscaler").unwrap();
        assert_ne!(hpa, s.root("autoscaling", "v1", "HorizontalPodAutoscaler").unwrap());
    }
}
