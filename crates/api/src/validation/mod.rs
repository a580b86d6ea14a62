//! Defaulting and validation of built-in kinds (in progress).

use serde_json::Value;

use crate::errors::FieldError;

mod meta;
mod names;
pub mod quantity;
mod resources;
mod util;

pub fn default_object(_group: &str, _kind: &str, _obj: &mut Value) {}

pub fn validate_create(_group: &str, _kind: &str, namespaced: bool, obj: &Value) -> Vec<FieldError> {
    meta::validate_object_meta(obj, &meta::MetaOpts { namespaced, name_fn: names::name_is_dns_subdomain, kube_finalizers: false })
}

pub fn validate_update(_group: &str, _kind: &str, _namespaced: bool, new: &Value, old: &Value) -> Vec<FieldError> {
    meta::validate_object_meta_update(new, old, false)
}

pub fn validate_status_update(_group: &str, _kind: &str, _new: &Value, _old: &Value) -> Vec<FieldError> {
    Vec::new()
}
