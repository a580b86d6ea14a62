use serde_json::{json, Value};

use super::*;

fn apply(doc: Value, patch: Value) -> Result<Value, PatchError> {
    json_patch(&doc, patch.to_string().as_bytes())
}

fn ok(doc: Value, patch: Value) -> Value {
    apply(doc, patch).expect("patch applies")
}

/// The underlying (library) error of a failed application: always a 422.
fn failure(doc: Value, patch: Value) -> String {
    let err = apply(doc, patch).expect_err("patch fails");
    assert_eq!(err.http_code(), 422, "{err:?}");
    assert_eq!(err.reason(), "Invalid");
    assert_eq!(err.message(), GENERIC_UNPROCESSABLE_MESSAGE);
    err.detail().to_string()
}

fn bad_request(patch: &str) -> String {
    let err = json_patch(&json!({}), patch.as_bytes()).expect_err("patch rejected");
    assert_eq!(err.http_code(), 400, "{err:?}");
    assert_eq!(err.reason(), "BadRequest");
    err.message()
}

fn bad_request_ignoring(patch: &str) -> String {
    let err = json_patch_with(&json!({}), patch.as_bytes(), FieldValidation::Ignore).unwrap_err();
    assert_eq!(err.http_code(), 400, "{err:?}");
    err.message()
}

// RFC 6902 appendix A.

#[test]
fn rfc_a1_add_object_member() {
    let out = ok(json!({"foo": "bar"}), json!([{"op": "add", "path": "/baz", "value": "qux"}]));
    assert_eq!(out, json!({"baz": "qux", "foo": "bar"}));
}

#[test]
fn rfc_a2_add_array_element() {
    let out = ok(json!({"foo": ["bar", "baz"]}), json!([{"op": "add", "path": "/foo/1", "value": "qux"}]));
    assert_eq!(out, json!({"foo": ["bar", "qux", "baz"]}));
}

#[test]
fn rfc_a3_a4_remove() {
    let doc = json!({"baz": "qux", "foo": "bar"});
    assert_eq!(ok(doc, json!([{"op": "remove", "path": "/baz"}])), json!({"foo": "bar"}));
    let doc = json!({"foo": ["bar", "qux", "baz"]});
    assert_eq!(ok(doc, json!([{"op": "remove", "path": "/foo/1"}])), json!({"foo": ["bar", "baz"]}));
}

#[test]
fn rfc_a5_replace() {
    let doc = json!({"baz": "qux", "foo": "bar"});
    let out = ok(doc, json!([{"op": "replace", "path": "/baz", "value": "boo"}]));
    assert_eq!(out, json!({"baz": "boo", "foo": "bar"}));
}

#[test]
fn rfc_a6_a7_move() {
    let doc = json!({"foo": {"bar": "baz", "waldo": "fred"}, "qux": {"corge": "grault"}});
    let out = ok(doc, json!([{"op": "move", "from": "/foo/waldo", "path": "/qux/thud"}]));
    assert_eq!(out, json!({"foo": {"bar": "baz"}, "qux": {"corge": "grault", "thud": "fred"}}));
    let doc = json!({"foo": ["all", "grass", "cows", "eat"]});
    let out = ok(doc, json!([{"op": "move", "from": "/foo/1", "path": "/foo/3"}]));
    assert_eq!(out, json!({"foo": ["all", "cows", "eat", "grass"]}));
}

#[test]
fn rfc_a8_test_success() {
    let doc = json!({"baz": "qux", "foo": ["a", 2, "c"]});
    let patch = json!([
        {"op": "test", "path": "/baz", "value": "qux"},
        {"op": "test", "path": "/foo/1", "value": 2}
    ]);
    assert_eq!(ok(doc.clone(), patch), doc);
}

#[test]
fn rfc_a9_test_failure_is_422_with_generic_message() {
    let detail = failure(json!({"baz": "qux"}), json!([{"op": "test", "path": "/baz", "value": "bar"}]));
    assert_eq!(detail, "testing value /baz failed: test failed");
    let err = apply(json!({"baz": "qux"}), json!([{"op": "test", "path": "/baz", "value": 1}])).unwrap_err();
    assert_eq!(
        err.to_status(),
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
               "message": GENERIC_UNPROCESSABLE_MESSAGE, "reason": "Invalid", "details": {}, "code": 422})
    );
}

#[test]
fn rfc_a10_add_nested_member() {
    let out = ok(json!({"foo": "bar"}), json!([{"op": "add", "path": "/child", "value": {"grandchild": {}}}]));
    assert_eq!(out, json!({"foo": "bar", "child": {"grandchild": {}}}));
}

#[test]
fn rfc_a11_ignores_unknown_members() {
    let patch = json!([{"op": "add", "path": "/baz", "value": "qux", "xyz": 123}]);
    assert_eq!(ok(json!({"foo": "bar"}), patch), json!({"foo": "bar", "baz": "qux"}));
}

#[test]
fn rfc_a12_add_to_nonexistent_target() {
    let detail = failure(json!({"foo": "bar"}), json!([{"op": "add", "path": "/baz/bat", "value": "qux"}]));
    assert_eq!(detail, "add operation does not apply: doc is missing path: \"/baz/bat\": missing value");
}

#[test]
fn rfc_a14_a15_pointer_escaping() {
    let doc = json!({"/": 9, "~1": 10});
    assert_eq!(ok(doc.clone(), json!([{"op": "test", "path": "/~01", "value": 10}])), doc);
    let detail = failure(doc.clone(), json!([{"op": "test", "path": "/~01", "value": "10"}]));
    assert_eq!(detail, "testing value /~01 failed: test failed");
    let out = ok(doc, json!([{"op": "replace", "path": "/~1", "value": 1}]));
    assert_eq!(out, json!({"/": 1, "~1": 10}));
}

#[test]
fn rfc_a16_add_array_value_with_dash() {
    let out = ok(json!({"foo": ["bar"]}), json!([{"op": "add", "path": "/foo/-", "value": ["abc", "def"]}]));
    assert_eq!(out, json!({"foo": ["bar", ["abc", "def"]]}));
}

#[test]
fn copy_and_later_ops_see_earlier_results() {
    let doc = json!({"metadata": {"labels": {"a": "1"}}});
    let patch = json!([
        {"op": "copy", "from": "/metadata/labels", "path": "/metadata/annotations"},
        {"op": "add", "path": "/metadata/annotations/b", "value": "2"},
        {"op": "test", "path": "/metadata/labels", "value": {"a": "1"}}
    ]);
    let out = ok(doc, patch);
    assert_eq!(out, json!({"metadata": {"labels": {"a": "1"}, "annotations": {"a": "1", "b": "2"}}}));
}

#[test]
fn upstream_quirks() {
    // replace of a missing object member adds it
    let out = ok(json!({"a": 1}), json!([{"op": "replace", "path": "/b", "value": 2}]));
    assert_eq!(out, json!({"a": 1, "b": 2}));
    // a missing member tests equal to null
    ok(json!({}), json!([{"op": "test", "path": "/missing", "value": null}]));
    // negative indices count from the end
    let out = ok(json!({"l": [1, 2, 3]}), json!([{"op": "remove", "path": "/l/-1"}]));
    assert_eq!(out, json!({"l": [1, 2]}));
    let out = ok(json!({"l": [1, 2]}), json!([{"op": "add", "path": "/l/-1", "value": 9}]));
    assert_eq!(out, json!({"l": [1, 2, 9]}));
    // copying a missing member copies null
    let out = ok(json!({"a": 1}), json!([{"op": "copy", "from": "/zz", "path": "/b"}]));
    assert_eq!(out, json!({"a": 1, "b": null}));
    // replacing the whole document
    let out = ok(json!({"a": 1}), json!([{"op": "replace", "path": "", "value": {"b": 2}}]));
    assert_eq!(out, json!({"b": 2}));
    // a null patch is a no-op
    assert_eq!(json_patch(&json!({"a": 1}), b"null").unwrap(), json!({"a": 1}));
}

#[test]
fn application_errors_carry_upstream_texts() {
    let doc = json!({"foo": ["a"], "s": "x"});
    let cases = [
        (json!([{"op": "remove", "path": "/nope"}]), "error in remove for path: '/nope': Unable to remove nonexistent key: nope: missing value"),
        (json!([{"op": "add", "path": "/foo/5", "value": 1}]), "error in add for path: '/foo/5': Unable to access invalid index: 5: invalid index referenced"),
        (json!([{"op": "add", "path": "/foo/x", "value": 1}]), "error in add for path: '/foo/x': value was not a proper array index: 'x': strconv.Atoi: parsing \"x\": invalid syntax"),
        (json!([{"op": "replace", "path": "/foo/3", "value": 1}]), "replace operation does not apply: doc is missing key: /foo/3: missing value"),
        (json!([{"op": "remove", "path": "/s/x"}]), "remove operation does not apply: doc is missing path: \"/s/x\": missing value"),
        (json!([{"op": "move", "from": "/nope", "path": "/b"}]), "error in move for path: 'nope': Unable to remove nonexistent key: nope: missing value"),
        (json!([{"op": "copy", "from": "/foo/0", "path": "/x/y"}]), "copy operation does not apply: doc is missing destination path: /x/y: missing value"),
        (json!([{"op": "frob", "path": "/a"}]), "Unexpected kind: frob"),
        (json!([null]), "Unexpected kind: unknown"),
        (json!([{"op": "add", "value": 1}]), "add operation failed to decode path: missing value"),
        (json!([{"op": "move", "path": "/a"}]), "move operation failed to decode from: operation, missing from field: missing value"),
        (json!([{"op": "replace", "path": "", "value": 1}]), "replace operation value must be object or array: %!w(<nil>)"),
    ];
    for (patch, want) in cases {
        assert_eq!(failure(doc.clone(), patch), want);
    }
}

#[test]
fn decode_errors_are_400_with_go_messages() {
    // Syntax errors: `error decoding patch: ` unless fieldValidation=Ignore.
    let cases = [
        ("[{", "unexpected end of JSON input"),
        ("", "unexpected end of JSON input"),
        ("\n", "unexpected end of JSON input"),
        ("[{}x", "invalid character 'x' after array element"),
        ("[{'op'", "invalid character '\\'' looking for beginning of object key string"),
        (r#"[{"op" 1}]"#, "invalid character '1' after object key"),
        (r#"[{"a":1 "b":2}]"#, "invalid character '\"' after object key:value pair"),
        ("[tru]", "invalid character ']' in literal true (expecting 'e')"),
        ("[-]", "invalid character ']' in numeric literal"),
        ("[1.]", "invalid character ']' after decimal point in numeric literal"),
        ("[] []", "invalid character '[' after top-level value"),
        ("[\"\u{1}\"]", "invalid character '\\x01' in string literal"),
    ];
    for (patch, msg) in cases {
        assert_eq!(bad_request(patch), format!("error decoding patch: {msg}"));
        assert_eq!(bad_request_ignoring(patch), msg);
    }
    // Type errors name the decoding target of each mode.
    let cases = [
        (r#"{"op":"add"}"#, "[]handlers.jsonPatchOp", "jsonpatch.Patch"),
        ("[1]", "handlers.jsonPatchOp", "jsonpatch.Operation"),
    ];
    for (patch, strict_type, plain_type) in cases {
        let kind = if patch.starts_with('{') { "object" } else { "number" };
        assert_eq!(
            bad_request(patch),
            format!("error decoding patch: json: cannot unmarshal {kind} into Go value of type {strict_type}")
        );
        assert_eq!(bad_request_ignoring(patch), format!("json: cannot unmarshal {kind} into Go value of type {plain_type}"));
    }
    let patch = r#"[{"op":"test","path":5}]"#;
    assert_eq!(
        bad_request(patch),
        "error decoding patch: json: cannot unmarshal number into Go struct field jsonPatchOp.path of type string"
    );
    let err = json_patch_with(&json!({}), patch.as_bytes(), FieldValidation::Ignore).unwrap_err();
    assert_eq!(
        (err.http_code(), err.detail()),
        (422, "test operation failed to decode path: json: cannot unmarshal number into Go value of type string")
    );
}

#[test]
fn strict_decoding_errors_are_reported() {
    let patch = br#"[{"op":"add","path":"/a","value":{"x":1,"x":2},"xyz":1},{"op":"remove","path":"/b","path":"/b"}]"#;
    let doc = json!({"b": 1});
    let out = json_patch_with(&doc, patch, FieldValidation::Strict).unwrap();
    assert_eq!(out.object, json!({"a": {"x": 2}}));
    assert_eq!(
        out.strict_errors,
        [
            "json patch duplicate field \"[0].value.x\"",
            "json patch unknown field \"[0].xyz\"",
            "json patch duplicate field \"[1].path\""
        ]
    );
    assert!(json_patch_with(&doc, patch, FieldValidation::Ignore).unwrap().strict_errors.is_empty());
    assert_eq!(FieldValidation::parse(""), Some(FieldValidation::Warn));
    assert_eq!(FieldValidation::parse("Strict"), Some(FieldValidation::Strict));
    assert_eq!(FieldValidation::parse("strict"), None);
}

#[test]
fn too_many_operations_is_413() {
    let ops: Vec<Value> = (0..10001).map(|_| json!({"op": "test", "path": "/a", "value": 1})).collect();
    let err = apply(json!({"a": 1}), Value::Array(ops)).unwrap_err();
    assert_eq!(err.http_code(), 413);
    assert_eq!(err.reason(), "RequestEntityTooLarge");
    assert_eq!(
        err.message(),
        "Request entity too large: The allowed maximum operations in a JSON patch is 10000, got 10001"
    );
}

#[test]
fn accumulated_copy_limit() {
    let big = "x".repeat(1024 * 1024);
    let patch: Vec<Value> = (0..4)
        .map(|i| json!({"op": "copy", "from": "/big", "path": format!("/c{i}")}))
        .collect();
    let detail = failure(json!({"big": big}), Value::Array(patch));
    assert!(detail.starts_with("Unable to complete the copy, the accumulated size increase of copy is 3145734, exceeding the limit 3145728"), "{detail}");
}
