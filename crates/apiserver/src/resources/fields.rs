//! Field ownership on every write: who the field manager is, and the managedFields an
//! update leaves behind.

use api::apply::{Ctx, Managed, Writer};
use serde_json::{json, Value};

use super::Req;
use crate::objects::meta_mut;
use crate::status::{ApiError, ApiResult};

/// The field manager: `?fieldManager=`, else the User-Agent up to its first `/`.
pub fn manager(req: &Req) -> ApiResult<String> {
    let m = match req.query.value("fieldManager") {
        Some(m) => m.to_string(),
        None => req.user_agent.split('/').next().unwrap_or_default().chars().take(128).collect(),
    };
    if m.len() > 128 {
        return Err(invalid_patch_options("fieldManager", "Too long: may not be more than 128 bytes"));
    }
    Ok(m)
}

/// 422 for invalid PatchOptions/CreateOptions, as upstream words it.
pub fn invalid_patch_options(field: &str, detail: &str) -> ApiError {
    ApiError::new(422, "Invalid", format!("PatchOptions.meta.k8s.io \"\" is invalid: {field}: {detail}")).with_details(json!({
        "group": "meta.k8s.io",
        "kind": "PatchOptions",
        "causes": [{"reason": "FieldValueInvalid", "message": detail, "field": field}]
    }))
}

/// The typing context of an object in the version it is stored in.
pub fn ctx_for<'a>(req: &'a Req, obj: &Value) -> Ctx<'a> {
    let version = obj["apiVersion"].as_str().and_then(|v| v.rsplit('/').next()).unwrap_or(req.def.version);
    Ctx::new(req.def.group, version, req.def.kind)
}

pub fn set_managed(obj: &mut Value, managed: &Managed) {
    let list = managed.encode();
    let meta = meta_mut(obj);
    if list.as_array().is_some_and(|l| l.is_empty()) {
        meta.remove("managedFields");
    } else {
        meta.insert("managedFields".into(), list);
    }
}

/// Records a non-apply write from `old` (empty for a create) to `new` in `new`'s managedFields.
pub fn record_update(req: &Req, subresource: &str, old: &Value, new: &mut Value) -> ApiResult<()> {
    let manager = manager(req)?;
    let now = crate::objects::now_rfc3339();
    let api_version = req.def.api_version();
    let w = Writer { manager: &manager, api_version: &api_version, subresource, now: &now };
    let mut managed = Managed::decode(old);
    managed.update(&ctx_for(req, new), &w, old, new);
    set_managed(new, &managed);
    Ok(())
}

/// `?fieldValidation=`: what to do about unknown and duplicate fields.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum FieldValidation {
    Ignore,
    Warn,
    Strict,
}

/// The mode a request asks for (Warn when absent, as upstream); `options` names the
/// options kind in errors (CreateOptions, UpdateOptions, PatchOptions).
pub fn field_validation(req: &Req, options: &str) -> ApiResult<FieldValidation> {
    match req.query.get("fieldValidation").unwrap_or("") {
        "" | "Warn" => Ok(FieldValidation::Warn),
        "Ignore" => Ok(FieldValidation::Ignore),
        "Strict" => Ok(FieldValidation::Strict),
        other => {
            let detail = format!("Unsupported value: \"{other}\": supported values: \"\", \"Ignore\", \"Strict\", \"Warn\"");
            Err(ApiError::new(422, "Invalid", format!("{options}.meta.k8s.io \"\" is invalid: fieldValidation: {detail}")).with_details(json!({
                "group": "meta.k8s.io", "kind": options,
                "causes": [{"reason": "FieldValueNotSupported", "message": detail, "field": "fieldValidation"}]
            })))
        }
    }
}

fn report(req: &Req, mode: FieldValidation, problems: Vec<String>, strict: impl FnOnce(&[String]) -> ApiError) -> ApiResult<()> {
    match mode {
        _ if problems.is_empty() => Ok(()),
        FieldValidation::Strict => Err(strict(&problems)),
        FieldValidation::Warn => {
            req.warnings.lock().unwrap().extend(problems);
            Ok(())
        }
        FieldValidation::Ignore => Ok(()),
    }
}

/// Drops unknown fields (never stored), unless the check found none.
fn prune_if_needed(req: &Req, mode: FieldValidation, problems: &[String], obj: &mut Value) {
    if mode == FieldValidation::Ignore || problems.iter().any(|p| p.starts_with("unknown field")) {
        api::fieldvalidation::prune(req.def.group, req.def.version, req.def.kind, obj);
    }
}

/// Checks a create or update body for unknown and duplicate fields, and drops the
/// unknown ones when they are not an error.
pub fn check_body(req: &Req, options: &str, obj: &mut Value) -> ApiResult<()> {
    let mode = field_validation(req, options)?;
    if mode == FieldValidation::Ignore {
        prune_if_needed(req, mode, &[], obj);
        return Ok(());
    }
    let (g, v, k) = (req.def.group, req.def.version, req.def.kind);
    let ct = req.content_type.split(';').next().unwrap_or("").trim();
    let problems = match ct {
        "application/yaml" => api::fieldvalidation::yaml_problems(g, v, k, obj),
        "application/vnd.kubernetes.protobuf" => Vec::new(),
        _ => api::fieldvalidation::problems(g, v, k, &req.body, obj),
    };
    prune_if_needed(req, mode, &problems, obj);
    let body_kind = obj["kind"].as_str().unwrap_or(k).to_string();
    report(req, mode, problems, |p| ApiError::bad_request(api::fieldvalidation::decode_error_message(&body_kind, v, k, p)))
}

/// Checks a patch and its result for unknown and duplicate fields, and drops the
/// unknown ones when they are not an error.
pub fn check_patch(req: &Req, content_type: &str, patched: &mut Value) -> ApiResult<()> {
    use api::fieldvalidation::PatchType;
    let mode = field_validation(req, "PatchOptions")?;
    let patch_type = match content_type {
        "application/json-patch+json" => PatchType::Json,
        "application/merge-patch+json" => PatchType::Merge,
        "application/strategic-merge-patch+json" => PatchType::StrategicMerge,
        _ => return Ok(()),
    };
    if mode == FieldValidation::Ignore {
        prune_if_needed(req, mode, &[], patched);
        return Ok(());
    }
    let (g, v, k) = (req.def.group, req.def.version, req.def.kind);
    let problems = api::fieldvalidation::patch_problems(g, v, k, patch_type, &req.body, patched);
    let strict_err = (mode == FieldValidation::Strict && !problems.is_empty())
        .then(|| api::fieldvalidation::patch_strict_error(patch_type, &req.body, patched, &problems));
    prune_if_needed(req, mode, &problems, patched);
    report(req, mode, problems, |_| {
        let err = strict_err.expect("computed for Strict");
        ApiError::new(422, "Invalid", api::fieldvalidation::invalid_patch_message(&err)).with_details(json!({
            "causes": [{"reason": err.error_type.cause_type(), "message": err.body(), "field": err.field}]
        }))
    })
}

/// The `Warning` header value for one warning: `299 - "text"`.
pub fn warning_header(text: &str) -> String {
    format!("299 - \"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}
