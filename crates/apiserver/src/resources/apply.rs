//! Server-side apply (`PATCH` with `application/apply-patch+yaml`): merge the applied
//! configuration by field ownership, report conflicts with other managers, create the
//! object when it does not exist yet.

use api::apply::{conflict_message, Conflict, Managed, Writer};
use serde_json::{json, Value};

use super::fields::{self, ctx_for, invalid_patch_options, set_managed};
use super::write::{self, Ownership, Part};
use super::Req;
use crate::server::Reply;
use crate::status::{ApiError, ApiResult};

fn conflict_error(req: &Req, conflicts: &[Conflict]) -> ApiError {
    let causes: Vec<Value> = conflicts
        .iter()
        .map(|c| {
            json!({"reason": "FieldManagerConflict",
                   "message": format!("conflict with \"{}\" using {}", c.manager, c.api_version),
                   "field": api::apply::fieldset::path_string(&c.path)})
        })
        .collect();
    let mut details = json!({"name": req.name(), "kind": req.def.plural, "causes": causes});
    if !req.def.group.is_empty() {
        details["group"] = json!(req.def.group);
    }
    ApiError::new(409, "Conflict", conflict_message(conflicts)).with_details(details)
}

/// The applied configuration, checked against the request.
fn applied_config(req: &Req) -> ApiResult<Value> {
    // Clients mostly send JSON (which is YAML too); parse it as such first.
    let obj = match serde_json::from_slice::<Value>(&req.body) {
        Ok(v) => v,
        Err(_) => crate::yaml::parse(&String::from_utf8_lossy(&req.body)).map_err(ApiError::bad_request)?,
    };
    if !obj.is_object() {
        return Err(ApiError::bad_request("error decoding YAML: the applied configuration must be an object"));
    }
    let want = req.def.api_version();
    match obj.get("apiVersion").and_then(Value::as_str) {
        None | Some("") => return Err(ApiError::bad_request("apiVersion must be set in the applied configuration")),
        Some(v) if v != want => {
            return Err(ApiError::bad_request(format!(
                "the API version in the data ({v}) does not match the expected API version ({want})"
            )))
        }
        _ => {}
    }
    match obj.get("kind").and_then(Value::as_str) {
        None | Some("") => return Err(ApiError::bad_request("kind must be set in the applied configuration")),
        Some(k) if k != req.def.kind => {
            return Err(ApiError::bad_request(format!("the kind in the data ({k}) does not match the expected kind ({})", req.def.kind)))
        }
        _ => {}
    }
    let name = crate::objects::name(&obj);
    if name != req.name() {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({name}) does not match the name on the URL ({})",
            req.name()
        )));
    }
    let mut obj = obj;
    let (g, v, k) = (req.def.group, req.def.version, req.def.kind);
    let problems = api::fieldvalidation::problems(g, v, k, &[], &obj);
    if problems.iter().any(|p| p.starts_with("unknown field")) {
        api::fieldvalidation::prune(g, v, k, &mut obj);
    }
    req.warnings.lock().unwrap().extend(problems);
    Ok(crate::convert::to_storage(req.def, obj))
}

pub async fn apply(req: &Req, part: Part) -> ApiResult<Reply> {
    let Some(manager) = req.query.value("fieldManager").map(str::to_string) else {
        return Err(invalid_patch_options("fieldManager", "Required value: is required for apply patch"));
    };
    fields::manager(req)?;
    let applied = applied_config(req)?;
    let force = req.query.flag("force");
    let now = crate::objects::now_rfc3339();
    let api_version = req.def.api_version();
    let w = Writer { manager: &manager, api_version: &api_version, subresource: part.subresource(), now: &now };
    req.srv.cache.sync().await?;
    let exists = req.srv.cache.resource(req.def.storage).get(&req.key()).is_some();
    if !exists {
        if part == Part::Status {
            return Err(ApiError::not_found(req.def, req.name()));
        }
        let mut managed = Managed::default();
        let mut obj = managed.apply(&ctx_for(req, &applied), &w, &json!({}), &applied, force).map_err(|c| conflict_error(req, &c))?;
        obj["apiVersion"] = applied["apiVersion"].clone();
        obj["kind"] = applied["kind"].clone();
        set_managed(&mut obj, &managed);
        return write::create_object(req, obj, Ownership::Applied).await;
    }
    let new = write::update_loop(req, part, Ownership::Applied, |cur| {
        let mut managed = Managed::decode(cur);
        let mut merged = managed.apply(&ctx_for(req, cur), &w, cur, &applied, force).map_err(|c| conflict_error(req, &c))?;
        set_managed(&mut merged, &managed);
        // The precondition is the applied configuration's version, if it names one.
        let rv = crate::objects::resource_version(&applied).to_string();
        crate::objects::meta_mut(&mut merged).insert("resourceVersion".into(), json!(rv));
        Ok(merged)
    })
    .await?;
    Ok(new.reply(req, 200))
}
