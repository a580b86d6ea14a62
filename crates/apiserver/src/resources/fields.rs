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
