use serde_json::{json, Value};

use super::*;

fn apply(doc: Value, patch: &str) -> Result<Value, PatchError> {
    merge_patch(&doc, patch.as_bytes())
}

fn apply_ignoring(doc: Value, patch: &str) -> Result<Value, PatchError> {
    merge_patch_with(&doc, patch.as_bytes(), FieldValidation::Ignore).map(|p| p.object)
}

#[test]
fn rfc7386_appendix_a() {
    let cases = [
        (json!({"a": "b"}), r#"{"a":"c"}"#, json!({"a": "c"})),
        (json!({"a": "b"}), r#"{"b":"c"}"#, json!({"a": "b", "b": "c"})),
        (json!({"a": "b"}), r#"{"a":null}"#, json!({})),
        (json!({"a": "b", "b": "c"}), r#"{"a":null}"#, json!({"b": "c"})),
        (json!({"a": ["b"]}), r#"{"a":"c"}"#, json!({"a": "c"})),
        (json!({"a": "c"}), r#"{"a":["b"]}"#, json!({"a": ["b"]})),
        (json!({"a": {"b": "c"}}), r#"{"a":{"b":"d","c":null}}"#, json!({"a": {"b": "d"}})),
        (json!({"a": [{"b": "c"}]}), r#"{"a":[1]}"#, json!({"a": [1]})),
        (json!(["a", "b"]), r#"["c","d"]"#, json!(["c", "d"])),
        (json!({"a": "b"}), r#"["c"]"#, json!(["c"])),
        (json!({"e": null}), r#"{"a":1}"#, json!({"e": null, "a": 1})),
        (json!([1, 2]), r#"{"a":"b","c":null}"#, json!({"a": "b"})),
        (json!({}), r#"{"a":{"bb":{"ccc":null}}}"#, json!({"a": {"bb": {}}})),
    ];
    for (doc, patch, want) in cases {
        assert_eq!(apply_ignoring(doc.clone(), patch).unwrap(), want, "{doc} + {patch}");
        if !patch.starts_with('[') {
            assert_eq!(apply(doc.clone(), patch).unwrap(), want, "{doc} + {patch}");
        }
    }
}

#[test]
fn non_object_patches_are_bad_requests() {
    // RFC 7386 would replace the document; upstream rejects these.
    let cases = [
        ("null", "Invalid JSON Patch"),
        (r#""bar""#, "error decoding patch: json: cannot unmarshal string into Go value of type map[string]interface {}"),
        ("1", "error decoding patch: json: cannot unmarshal number into Go value of type map[string]interface {}"),
        ("[1]", "error decoding patch: json: cannot unmarshal array into Go value of type map[string]interface {}"),
        ("{", "error decoding patch: unexpected end of JSON input"),
        ("{\"a\":}", "error decoding patch: invalid character '}' looking for beginning of value"),
    ];
    for (patch, msg) in cases {
        let err = apply(json!({"a": "foo"}), patch).unwrap_err();
        assert_eq!((err.http_code(), err.reason(), err.message().as_str()), (400, "BadRequest", msg));
        if !patch.starts_with('[') {
            let err = apply_ignoring(json!({"a": "foo"}), patch).unwrap_err();
            assert_eq!((err.http_code(), err.message().as_str()), (400, "Invalid JSON Patch"));
        }
    }
}

#[test]
fn duplicate_fields_are_strict_errors() {
    let patch = br#"{"metadata":{"labels":{"a":"1","a":"2"}},"spec":{"x":1},"spec":{"y":2}}"#;
    let out = merge_patch_with(&json!({}), patch, FieldValidation::Warn).unwrap();
    assert_eq!(out.object, json!({"metadata": {"labels": {"a": "2"}}, "spec": {"y": 2}}));
    assert_eq!(out.strict_errors, ["duplicate field \"metadata.labels.a\"", "duplicate field \"spec\""]);
    let out = strategic_merge_patch_with("", "Pod", &json!({}), patch, FieldValidation::Strict).unwrap();
    assert_eq!(out.strict_errors.len(), 2);
}

#[test]
fn merges_kubernetes_objects() {
    let doc = json!({
        "metadata": {"name": "p", "labels": {"app": "a", "tier": "web"}},
        "spec": {"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]}
    });
    let patch = r#"{"metadata":{"labels":{"tier":null,"new":"1"}},"spec":{"containers":[{"name":"a","image":"z"}]}}"#;
    let out = apply(doc, patch).unwrap();
    assert_eq!(
        out,
        json!({
            "metadata": {"name": "p", "labels": {"app": "a", "new": "1"}},
            "spec": {"containers": [{"name": "a", "image": "z"}]}
        })
    );
}

#[test]
fn null_pruning_follows_upstream() {
    // New values lose their null members, also inside arrays (null elements stay).
    let out = apply(json!({}), r#"{"a":[{"x":null,"y":1},null]}"#).unwrap();
    assert_eq!(out, json!({"a": [{"y": 1}, null]}));
    // Replacing an object by a non-object keeps the patch value verbatim.
    let out = apply(json!({"a": {"k": 1}}), r#"{"a":[{"x":null}]}"#).unwrap();
    assert_eq!(out, json!({"a": [{"x": null}]}));
    // A null current value is replaced like a missing one.
    let out = apply(json!({"a": null}), r#"{"a":{"b":null,"c":1}}"#).unwrap();
    assert_eq!(out, json!({"a": {"c": 1}}));
}

#[test]
fn key_order_is_preserved() {
    let out = apply(json!({"a": 1, "b": 2, "c": 3}), r#"{"b":null,"d":4,"a":0}"#).unwrap();
    let keys: Vec<&String> = out.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["a", "c", "d"]);
}
