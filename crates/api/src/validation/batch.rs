//! Job and CronJob.

use serde_json::Value;

use super::defaults_other::CONTROLLER_UID;
use super::meta::{selector_matches, validate_label_selector};
use super::names::is_qualified_name;
use super::util::{arr, boolean, each_invalid, get, immutable, int, nonneg, obj, opt_s, s, sem_eq, sv, Errs, Path};
use super::workloads::validate_pod_template_spec;
use super::Op;
use crate::errors::FieldError;

fn has_label(t: &Value, key: &str, want: &str, p: &Path) -> Errs {
    let labels = get(t, "metadata").and_then(|m| obj(m, "labels"));
    let lp = p.ch("labels").key(key);
    match labels.and_then(|l| l.get(key)) {
        None => vec![FieldError::required(lp, format!("must be '{want}'"))],
        Some(v) if v.as_str() != Some(want) => {
            vec![FieldError::invalid(lp, Value::Object(labels.cloned().unwrap_or_default()), format!("must be '{want}'"))]
        }
        _ => Vec::new(),
    }
}

/// `validateGeneratedSelector`: unless the selector is manual, the template carries the
/// generated labels and the selector selects them.
fn validate_generated_selector(o: &Value) -> Errs {
    let sp = get(o, "spec").cloned().unwrap_or_default();
    if boolean(&sp, "manualSelector") == Some(true) || get(&sp, "selector").is_none() {
        return Vec::new();
    }
    let meta = get(o, "metadata").cloned().unwrap_or_default();
    let (uid, name) = (s(&meta, "uid"), s(&meta, "name"));
    let mut errs = Vec::new();
    if uid.is_empty() {
        errs.push(FieldError::required(Path::new("metadata").ch("uid"), ""));
    }
    let t = get(&sp, "template").cloned().unwrap_or_default();
    let tp = Path::new("spec").ch("template").ch("metadata");
    for (k, v) in [("controller-uid", uid), ("job-name", name), (CONTROLLER_UID, uid), ("batch.kubernetes.io/job-name", name)] {
        errs.extend(has_label(&t, k, v, &tp));
    }
    let expected = serde_json::json!({ CONTROLLER_UID: uid, "batch.kubernetes.io/job-name": name, "controller-uid": uid, "job-name": name });
    if selector_matches(get(&sp, "selector"), Some(&expected)) == Some(false) {
        errs.push(FieldError::invalid(Path::new("spec").ch("selector"), sp["selector"].clone(), "`selector` not auto-generated"));
    }
    errs
}

/// `validateJobSpec` (everything but the selector).
fn validate_job_spec_common(sp: &Value, p: &Path) -> Errs {
    let mut errs = Vec::new();
    for f in ["parallelism", "completions", "activeDeadlineSeconds", "backoffLimit", "ttlSecondsAfterFinished", "backoffLimitPerIndex", "maxFailedIndexes"] {
        errs.extend(nonneg(int(sp, f), &p.ch(f)));
    }
    if get(sp, "maxFailedIndexes").is_some() && get(sp, "backoffLimitPerIndex").is_none() {
        errs.push(FieldError::required(p.ch("backoffLimitPerIndex"), "when maxFailedIndexes is specified"));
    }
    errs.extend(validate_completion_mode(sp, p));
    if let Some(pfp) = get(sp, "podFailurePolicy") {
        errs.extend(validate_pod_failure_policy(sp, pfp, &p.ch("podFailurePolicy")));
    }
    if let Some(sucp) = get(sp, "successPolicy") {
        if s(sp, "completionMode") != "Indexed" {
            errs.push(FieldError::invalid(p.ch("successPolicy"), sucp.clone(), "requires indexed completion mode"));
        } else if arr(sucp, "rules").is_empty() {
            errs.push(FieldError::required(p.ch("successPolicy").ch("rules"), "at least one rules must be specified when the successPolicy is specified"));
        }
    }
    if let Some(prp) = opt_s(sp, "podReplacementPolicy") {
        if get(sp, "podFailurePolicy").is_some() && prp != "Failed" {
            errs.push(FieldError::not_supported(p.ch("podReplacementPolicy"), sv(prp), &["Failed"]));
        } else if prp != "Failed" && prp != "TerminatingOrFailed" {
            errs.push(FieldError::not_supported(p.ch("podReplacementPolicy"), sv(prp), &["Failed", "TerminatingOrFailed"]));
        }
    }
    let t = get(sp, "template").cloned().unwrap_or_default();
    errs.extend(validate_pod_template_spec(&t, &p.ch("template")));
    let rp_path = p.ch("template").ch("spec").ch("restartPolicy");
    let rp = get(&t, "spec").map(|x| s(x, "restartPolicy")).unwrap_or("");
    match rp {
        "Always" | "" => errs.push(FieldError::required(rp_path, "valid values: \"OnFailure\", \"Never\"")),
        "OnFailure" | "Never" => {
            if get(sp, "podFailurePolicy").is_some() && rp != "Never" {
                errs.push(FieldError::invalid(rp_path, sv(rp), "only \"Never\" is supported when podFailurePolicy is specified"));
            }
        }
        x => errs.push(FieldError::not_supported(rp_path, sv(x), &["OnFailure", "Never"])),
    }
    errs
}

fn validate_completion_mode(sp: &Value, p: &Path) -> Errs {
    let mut errs = Vec::new();
    let mode = opt_s(sp, "completionMode");
    match mode {
        Some("Indexed") => {
            if get(sp, "completions").is_none() {
                errs.push(FieldError::required(p.ch("completions"), "when completion mode is Indexed"));
            }
            if let Some(par) = int(sp, "parallelism").filter(|x| *x > 100_000) {
                errs.push(FieldError::invalid(p.ch("parallelism"), Value::from(par), "must be less than or equal to 100000 when completion mode is Indexed"));
            }
            if let (Some(c), Some(m)) = (int(sp, "completions"), int(sp, "maxFailedIndexes")) {
                if m > c {
                    errs.push(FieldError::invalid(p.ch("maxFailedIndexes"), Value::from(m), "must be less than or equal to completions"));
                }
            }
        }
        Some("NonIndexed") | None => {
            for f in ["backoffLimitPerIndex", "maxFailedIndexes"] {
                if let Some(v) = get(sp, f) {
                    errs.push(FieldError::invalid(p.ch(f), v.clone(), "requires indexed completion mode"));
                }
            }
        }
        Some(m) => errs.push(FieldError::not_supported(p.ch("completionMode"), sv(m), &["NonIndexed", "Indexed"])),
    }
    errs
}

fn validate_pod_failure_policy(sp: &Value, pfp: &Value, p: &Path) -> Errs {
    let rules = arr(pfp, "rules");
    let rp = p.ch("rules");
    let mut errs = Vec::new();
    if rules.len() > 20 {
        errs.push(FieldError { error_type: crate::errors::ErrorType::TooMany, field: rp.clone().into(), bad_value: Some(Value::from(rules.len())), detail: "must have at most 20 items".into() });
    }
    let actions = ["Count", "FailIndex", "FailJob", "Ignore"];
    for (i, r) in rules.iter().enumerate() {
        let ip = rp.ix(i);
        match s(r, "action") {
            "" => errs.push(FieldError::required(ip.ch("action"), "valid values: [\"Count\" \"FailIndex\" \"FailJob\" \"Ignore\"]")),
            "FailIndex" if get(sp, "backoffLimitPerIndex").is_none() => {
                errs.push(FieldError::invalid(ip.ch("action"), sv("FailIndex"), "requires the backoffLimitPerIndex to be set"))
            }
            a if !actions.contains(&a) => errs.push(FieldError::not_supported(ip.ch("action"), sv(a), &actions)),
            _ => {}
        }
        let (codes, conds) = (get(r, "onExitCodes"), arr(r, "onPodConditions"));
        for (j, c) in conds.iter().enumerate() {
            let t = s(c, "type");
            errs.extend(each_invalid(&ip.ch("onPodConditions").ix(j).ch("type"), t, is_qualified_name(t)));
        }
        if codes.is_some() && !conds.is_empty() {
            errs.push(FieldError::invalid(&ip, sv(""), "specifying both OnExitCodes and OnPodConditions is not supported"));
        }
        if codes.is_none() && conds.is_empty() {
            errs.push(FieldError::invalid(&ip, sv(""), "specifying one of OnExitCodes and OnPodConditions is required"));
        }
    }
    errs
}

/// `ValidateJobSpec` with the selector checks.
fn validate_job_spec(sp: &Value, p: &Path) -> Errs {
    let mut errs = validate_job_spec_common(sp, p);
    let sel = get(sp, "selector");
    match sel {
        None => errs.push(FieldError::required(p.ch("selector"), "")),
        Some(_) => errs.extend(validate_label_selector(sel, &p.ch("selector"))),
    }
    let t = get(sp, "template").cloned().unwrap_or_default();
    let labels = get(&t, "metadata").and_then(|m| get(m, "labels"));
    if selector_matches(sel, labels) == Some(false) {
        let path = p.ch("template").ch("metadata").ch("labels");
        errs.push(FieldError::invalid(path, labels.cloned().unwrap_or(Value::Null), "`selector` does not match template `labels`"));
    }
    errs
}

pub fn validate_job(o: &Value, op: Op) -> Errs {
    let sp = get(o, "spec").cloned().unwrap_or_default();
    let p = Path::new("spec");
    let mut errs = Vec::new();
    if matches!(op, Op::Create) {
        errs.extend(validate_generated_selector(o));
    }
    errs.extend(validate_job_spec(&sp, &p));
    if let Op::Update(old) = op {
        errs.extend(validate_job_spec_update(&sp, &get(old, "spec").cloned().unwrap_or_default(), old, &p));
        return errs;
    }
    if s(&sp, "completionMode") == "Indexed" {
        if let Some(c) = int(&sp, "completions").filter(|c| *c > 0) {
            let name = get(o, "metadata").map(|m| s(m, "name")).unwrap_or("");
            let host = format!("{name}-{}", c - 1);
            if !super::names::is_dns1123_label(&host).is_empty() {
                let msg = format!("will not able to create pod with invalid DNS label: {host}");
                errs.push(FieldError::invalid(Path::new("metadata").ch("name"), sv(name), msg));
            }
        }
    }
    errs
}

fn validate_job_spec_update(sp: &Value, old: &Value, old_job: &Value, p: &Path) -> Errs {
    let mut errs = Vec::new();
    let indexed = s(sp, "completionMode") == "Indexed";
    if !indexed {
        errs.extend(immutable(get(sp, "completions"), get(old, "completions"), &p.ch("completions")));
    } else if !sem_eq(get(sp, "completions"), get(old, "completions")) && get(sp, "completions").is_some() && int(sp, "completions") != int(sp, "parallelism") {
        errs.push(FieldError::invalid(p.ch("completions"), get(sp, "completions").cloned().unwrap_or_default(), "can only be modified in tandem with spec.parallelism"));
    }
    errs.extend(immutable(get(sp, "selector"), get(old, "selector"), &p.ch("selector")));
    errs.extend(validate_template_update(sp, old, old_job, p));
    for f in ["completionMode", "podFailurePolicy", "backoffLimitPerIndex", "managedBy", "successPolicy"] {
        errs.extend(immutable(get(sp, f), get(old, f), &p.ch(f)));
    }
    errs
}

/// The template is immutable, except scheduling directives of a suspended Job that has
/// never started.
fn validate_template_update(sp: &Value, old: &Value, old_job: &Value, p: &Path) -> Errs {
    let (t, mut ot) = (get(sp, "template").cloned().unwrap_or_default(), get(old, "template").cloned().unwrap_or_default());
    let never_started = get(old_job, "status").and_then(|st| get(st, "startTime")).is_none();
    if boolean(sp, "suspend") == Some(true) && never_started {
        for (outer, key) in [("metadata", "labels"), ("metadata", "annotations"), ("spec", "nodeSelector"), ("spec", "tolerations"), ("spec", "schedulingGates")] {
            let v = get(&t, outer).and_then(|x| get(x, key)).cloned();
            if let Some(m) = super::util::ensure_obj(&mut ot, outer).as_object_mut() {
                match v {
                    Some(v) => m.insert(key.to_string(), v),
                    None => m.remove(key),
                };
            }
        }
        let na = get(&t, "spec").and_then(|x| get(x, "affinity")).and_then(|a| get(a, "nodeAffinity")).cloned();
        let ospec = super::util::ensure_obj(&mut ot, "spec");
        let aff = super::util::ensure_obj(ospec, "affinity");
        if let Some(m) = aff.as_object_mut() {
            match na {
                Some(v) => m.insert("nodeAffinity".to_string(), v),
                None => m.remove("nodeAffinity"),
            };
        }
    }
    immutable(Some(&t), Some(&ot), &p.ch("template"))
}

/// Job status updates (a subset of upstream's transition rules).
pub fn validate_job_status(new: &Value, old: &Value) -> Errs {
    let (st, ost) = (get(new, "status").cloned().unwrap_or_default(), get(old, "status").cloned().unwrap_or_default());
    let p = Path::new("status");
    let mut errs = Vec::new();
    for f in ["active", "succeeded", "failed", "ready", "terminating"] {
        errs.extend(nonneg(int(&st, f), &p.ch(f)));
    }
    if let (Some(ready), active) = (int(&st, "ready"), int(&st, "active").unwrap_or(0)) {
        if ready > active {
            errs.push(FieldError::invalid(p.ch("ready"), Value::from(ready), "cannot set more ready pods than active"));
        }
    }
    for (f, what) in [("failed", "failed"), ("succeeded", "succeeded")] {
        let (n, o) = (int(&st, f).unwrap_or(0), int(&ost, f).unwrap_or(0));
        if n < o {
            errs.push(FieldError::invalid(p.ch(f), Value::from(n), format!("cannot decrease the {what} counter")));
        }
    }
    errs
}

pub fn validate_cron_job(o: &Value, op: Op) -> Errs {
    let sp = get(o, "spec").cloned().unwrap_or_default();
    let p = Path::new("spec");
    let mut errs = Vec::new();
    let schedule = s(&sp, "schedule");
    let old_tz = match op {
        Op::Update(old) => get(old, "spec").is_some_and(|x| s(x, "schedule").contains("TZ")),
        Op::Create => false,
    };
    if schedule.is_empty() {
        errs.push(FieldError::required(p.ch("schedule"), ""));
    } else {
        if let Err(e) = super::cron::parse_standard(schedule) {
            errs.push(FieldError::invalid(p.ch("schedule"), sv(schedule), e));
        }
        if old_tz && schedule.contains("TZ") && get(&sp, "timeZone").is_some() {
            errs.push(FieldError::invalid(p.ch("schedule"), sv(schedule), "cannot use both timeZone field and TZ or CRON_TZ in schedule"));
        } else if !old_tz && schedule.contains("TZ") {
            errs.push(FieldError::invalid(p.ch("schedule"), sv(schedule), "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"));
        }
    }
    errs.extend(nonneg(int(&sp, "startingDeadlineSeconds"), &p.ch("startingDeadlineSeconds")));
    errs.extend(validate_time_zone(&sp, &p.ch("timeZone")));
    errs.extend(super::container::enum_field(&sp, "concurrencyPolicy", &["Allow", "Forbid", "Replace"], &p));
    errs.extend(validate_job_template(&sp, &p.ch("jobTemplate")));
    for f in ["successfulJobsHistoryLimit", "failedJobsHistoryLimit"] {
        errs.extend(nonneg(int(&sp, f), &p.ch(f)));
    }
    if matches!(op, Op::Create) {
        let name = get(o, "metadata").map(|m| s(m, "name")).unwrap_or("");
        if name.len() > 52 {
            errs.push(FieldError::invalid(Path::new("metadata").ch("name"), sv(name), "must be no more than 52 characters"));
        }
    }
    errs
}

fn validate_time_zone(sp: &Value, p: &Path) -> Errs {
    let Some(tz) = opt_s(sp, "timeZone") else { return Vec::new() };
    if tz.is_empty() {
        return vec![FieldError::invalid(p, sv(tz), "timeZone must be nil or non-empty string")];
    }
    let part_ok = |x: &str| {
        x != "." && x != ".." && !x.starts_with('-') && (1..=14).contains(&x.len())
            && x.chars().all(|c| c.is_ascii_alphanumeric() || "._-+".contains(c))
    };
    if !tz.split('/').all(part_ok) {
        return vec![FieldError::invalid(p, sv(tz), format!("unknown time zone {tz}"))];
    }
    if tz.eq_ignore_ascii_case("local") {
        return vec![FieldError::invalid(p, sv(tz), "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones")];
    }
    Vec::new()
}

fn validate_job_template(sp: &Value, p: &Path) -> Errs {
    let jt = get(sp, "jobTemplate").cloned().unwrap_or_default();
    let js = get(&jt, "spec").cloned().unwrap_or_default();
    let mut errs = validate_job_spec_common(&js, &p.ch("spec"));
    if let Some(sel) = get(&js, "selector") {
        errs.push(FieldError::invalid(p.ch("spec").ch("selector"), sel.clone(), "`selector` will be auto-generated"));
    }
    if boolean(&js, "manualSelector") == Some(true) {
        errs.push(FieldError::not_supported(p.ch("spec").ch("manualSelector"), Value::Bool(true), &["nil", "false"]));
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::super::defaults_other::{default_cron_job, default_job};
    use super::*;
    use serde_json::json;

    use crate::validation::util::msgs;

    fn job() -> Value {
        let mut j = json!({"metadata": {"name": "pi", "uid": "u-1"}, "spec": {"template": {"spec": {
            "containers": [{"name": "pi", "image": "perl:5"}], "restartPolicy": "Never"}}}});
        default_job(&mut j);
        j
    }

    #[test]
    fn generated_selector_job_is_valid() {
        assert_eq!(msgs(validate_job(&job(), Op::Create)), Vec::<String>::new());
    }

    #[test]
    fn restart_policy_and_template_immutability() {
        let mut j = job();
        j["spec"]["template"]["spec"]["restartPolicy"] = json!("Always");
        assert_eq!(msgs(validate_job(&j, Op::Create)), vec!["spec.template.spec.restartPolicy: Required value: valid values: \"OnFailure\", \"Never\""]);
        let old = job();
        let mut new = job();
        new["spec"]["template"]["spec"]["containers"][0]["image"] = json!("perl:6");
        assert!(msgs(validate_job(&new, Op::Update(&old)))[0].starts_with("spec.template: Invalid value:"));
        let mut susp_old = job();
        susp_old["spec"]["suspend"] = json!(true);
        let mut susp_new = susp_old.clone();
        susp_new["spec"]["template"]["spec"]["nodeSelector"] = json!({"zone": "a"});
        assert!(validate_job(&susp_new, Op::Update(&susp_old)).is_empty());
    }

    #[test]
    fn cron_jobs() {
        let mut cj = json!({"metadata": {"name": "c"}, "spec": {"schedule": "61 * * * *", "jobTemplate": {"spec": {"template": {"spec": {
            "containers": [{"name": "c", "image": "busybox"}], "restartPolicy": "OnFailure"}}}}}});
        default_cron_job(&mut cj);
        assert_eq!(msgs(validate_cron_job(&cj, Op::Create)), vec!["spec.schedule: Invalid value: \"61 * * * *\": end of range (61) above maximum (59): 61"]);
        cj["spec"]["schedule"] = json!("");
        assert_eq!(msgs(validate_cron_job(&cj, Op::Create)), vec!["spec.schedule: Required value"]);
    }
}
