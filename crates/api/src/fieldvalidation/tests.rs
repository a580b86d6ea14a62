use super::*;
use serde_json::json;

fn deployment(raw: &str) -> Vec<String> {
    let obj: Value = serde_json::from_str(raw).unwrap();
    problems("apps", "v1", "Deployment", raw.as_bytes(), &obj)
}

fn pod(raw: &str) -> Vec<String> {
    let obj: Value = serde_json::from_str(raw).unwrap();
    problems("", "v1", "Pod", raw.as_bytes(), &obj)
}

// Upstream's test/integration/apiserver/field_validation_test.go invalidBodyJSON.
const INVALID_DEPLOYMENT: &str = r#"
	{
		"apiVersion": "apps/v1",
		"kind": "Deployment",
		"metadata": {
			"name": "dupename",
			"name": "n",
			"labels": {"app": "nginx"},
			"unknownMeta": "metaVal"
		},
		"spec": {
			"unknown1": "val1",
			"unknownDupe": "valDupe",
			"unknownDupe": "valDupe2",
			"paused": true,
			"paused": false,
			"selector": {"matchLabels": {"app": "nginx"}},
			"template": {
				"metadata": {"labels": {"app": "nginx"}},
				"spec": {
					"containers": [{
						"name":  "nginx",
						"image": "nginx:latest",
						"unknownNested": "val1",
						"imagePullPolicy": "Always",
						"imagePullPolicy": "Never"
					}]
				}
			}
		}
	}"#;

#[test]
fn upstream_create_body_in_decode_order() {
    let got = deployment(INVALID_DEPLOYMENT);
    assert_eq!(
        strict_error_message(&got),
        r#"strict decoding error: duplicate field "metadata.name", unknown field "metadata.unknownMeta", unknown field "spec.unknown1", unknown field "spec.unknownDupe", duplicate field "spec.paused", unknown field "spec.template.spec.containers[0].unknownNested", duplicate field "spec.template.spec.containers[0].imagePullPolicy""#
    );
    assert_eq!(
        decode_error_message("Deployment", "v1", "Deployment", &got[..1]),
        r#"Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: duplicate field "metadata.name""#
    );
}

#[test]
fn valid_bodies_have_no_problems() {
    let raw = r#"{"apiVersion":"apps/v1","kind":"Deployment",
        "metadata":{"name":"d","labels":{"a":"b"},"annotations":{"x":"y"},
            "managedFields":[{"manager":"m","operation":"Apply","fieldsType":"FieldsV1","fieldsV1":{"f:metadata":{"f:labels":{".":{}}}}}],
            "ownerReferences":[{"apiVersion":"v1","kind":"X","name":"o","uid":"u"}]},
        "spec":{"replicas":2,"selector":{"matchLabels":{"a":"b"},"matchExpressions":[{"key":"k","operator":"In","values":["v"]}]},
            "strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":"25%","maxUnavailable":1}},
            "template":{"metadata":{"labels":{"a":"b"}},"spec":{"containers":[{"name":"c","image":"i",
                "ports":[{"containerPort":80}],
                "resources":{"limits":{"cpu":"1","memory":"1Gi"},"requests":{"cpu":0.5}},
                "livenessProbe":{"httpGet":{"port":"http","path":"/"}}}],
                "nodeSelector":{"disk":"ssd"}}}},
        "status":{"replicas":1,"conditions":[{"type":"Available","status":"True","lastUpdateTime":"2024-01-01T00:00:00Z"}]}}"#;
    assert_eq!(deployment(raw), Vec::<String>::new());
}

#[test]
fn unknown_top_level_and_nested_fields() {
    let raw = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","bogus":1},"foo":{"a":1},
        "spec":{"containers":[{"name":"a","image":"i"},{"name":"b","image":"i","imagee":"x",
            "env":[{"name":"E","value":"v","valueFrom2":{}}]}],"bar":true}}"#;
    assert_eq!(
        pod(raw),
        [
            r#"unknown field "metadata.bogus""#,
            r#"unknown field "foo""#,
            r#"unknown field "spec.containers[1].imagee""#,
            r#"unknown field "spec.containers[1].env[0].valueFrom2""#,
            r#"unknown field "spec.bar""#,
        ]
    );
}

#[test]
fn matching_is_case_sensitive() {
    let raw = r#"{"apiVersion":"v1","kind":"ConfigMap","Metadata":{"name":"x"},"metadata":{"Name":"x"},"Data":{}}"#;
    let obj: Value = serde_json::from_str(raw).unwrap();
    assert_eq!(
        problems("", "v1", "ConfigMap", raw.as_bytes(), &obj),
        [r#"unknown field "Metadata""#, r#"unknown field "metadata.Name""#, r#"unknown field "Data""#]
    );
}

#[test]
fn maps_accept_any_key_but_report_duplicate_keys() {
    let raw = r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x","labels":{"a":"1","b":"2","a":"3"},
        "annotations":{"anything/goes":"v"}},"data":{"k":"v","k2":"v"},"binaryData":{"b":"AA=="}}"#;
    let obj: Value = serde_json::from_str(raw).unwrap();
    assert_eq!(problems("", "v1", "ConfigMap", raw.as_bytes(), &obj), [r#"duplicate field "metadata.labels.a""#]);
}

#[test]
fn duplicates_at_nested_paths_and_in_lists() {
    let raw = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},
        "spec":{"containers":[{"name":"a","image":"i"},{"name":"b","image":"i","ports":[{"containerPort":1,"containerPort":2}]}],
        "nodeSelector":{"x":"1","x":"2"}},
        "spec":{"restartPolicy":"Always"}}"#;
    assert_eq!(
        pod(raw),
        [
            r#"duplicate field "spec.containers[1].ports[0].containerPort""#,
            r#"duplicate field "spec.nodeSelector.x""#,
            r#"duplicate field "spec""#,
        ]
    );
}

#[test]
fn the_second_occurrence_is_reported_before_its_contents_and_findings_are_deduplicated() {
    let raw = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","foo":1},"metadata":{"foo":2,"bar":3},"baz":1,"baz":2}"#;
    assert_eq!(
        pod(raw),
        [
            r#"unknown field "metadata.foo""#,
            r#"duplicate field "metadata""#,
            r#"unknown field "metadata.bar""#,
            r#"unknown field "baz""#,
        ]
    );
}

#[test]
fn nothing_inside_an_unknown_field_is_reported() {
    let raw = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"extra":{"a":1,"a":2,"b":{"c":1}}}"#;
    assert_eq!(pod(raw), [r#"unknown field "extra""#]);
}

#[test]
fn int_or_string_and_quantity_fields_are_opaque() {
    let raw = r#"{"apiVersion":"v1","kind":"Service","metadata":{"name":"s"},
        "spec":{"ports":[{"port":80,"targetPort":"http"},{"port":81,"targetPort":8081},{"port":82,"targetPort":{"x":1,"x":2}}]}}"#;
    let obj: Value = serde_json::from_str(raw).unwrap();
    assert_eq!(problems("", "v1", "Service", raw.as_bytes(), &obj), Vec::<String>::new());
    let raw = r#"{"apiVersion":"v1","kind":"ResourceQuota","metadata":{"name":"q"},
        "spec":{"hard":{"cpu":"2","pods":10,"memory":{"weird":1}}}}"#;
    let obj: Value = serde_json::from_str(raw).unwrap();
    assert_eq!(problems("", "v1", "ResourceQuota", raw.as_bytes(), &obj), Vec::<String>::new());
}

#[test]
fn free_form_fields_are_not_checked() {
    let raw = r#"{"apiVersion":"apps/v1","kind":"ControllerRevision","metadata":{"name":"r"},"revision":1,
        "data":{"spec":{"anything":{"a":1,"a":2}},"whatever":[1,2]}}"#;
    let obj: Value = serde_json::from_str(raw).unwrap();
    assert_eq!(problems("apps", "v1", "ControllerRevision", raw.as_bytes(), &obj), Vec::<String>::new());
    let raw = r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c",
        "managedFields":[{"manager":"m","fieldsV1":{"f:data":{},"f:data":{}},"bogus":1}]}}"#;
    let obj: Value = serde_json::from_str(raw).unwrap();
    assert_eq!(
        problems("", "v1", "ConfigMap", raw.as_bytes(), &obj),
        [r#"unknown field "metadata.managedFields[0].bogus""#]
    );
}

#[test]
fn crd_schemas_are_checked_except_where_go_has_custom_unmarshalers() {
    let raw = r#"{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition","metadata":{"name":"foos.example.com"},
        "spec":{"group":"example.com","scope":"Namespaced","names":{"plural":"foos","kind":"Foo","bogusName":1},
          "versions":[{"name":"v1","served":true,"storage":true,
            "subresources":{"status":{"nope":1},"scale":{"specReplicasPath":".spec.r","statusReplicasPath":".status.r"}},
            "schema":{"openAPIV3Schema":{"type":"object","typo":1,
              "properties":{"spec":{"type":"object","x-kubernetes-preserve-unknown-fields":true,"bad":1,
                  "default":{"free":{"x":1,"x":2}}},
                "list":{"type":"array","items":{"type":"string","ignoredInsideItems":1}},
                "map":{"type":"object","additionalProperties":{"type":"string","ignoredToo":1}}}}}}]}}"#;
    let obj: Value = serde_json::from_str(raw).unwrap();
    assert_eq!(
        problems("apiextensions.k8s.io", "v1", "CustomResourceDefinition", raw.as_bytes(), &obj),
        [
            r#"unknown field "spec.names.bogusName""#,
            r#"unknown field "spec.versions[0].subresources.status.nope""#,
            r#"unknown field "spec.versions[0].schema.openAPIV3Schema.typo""#,
            r#"unknown field "spec.versions[0].schema.openAPIV3Schema.properties.spec.bad""#,
        ]
    );
}

#[test]
fn without_raw_the_object_is_walked() {
    let obj = json!({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","zz":1},"spec":{"containers":[{"name":"c","q":1}]}});
    assert_eq!(
        problems("", "v1", "Pod", b"", &obj),
        [r#"unknown field "metadata.zz""#, r#"unknown field "spec.containers[0].q""#]
    );
    // A body that is not JSON (e.g. protobuf) falls back to the object as well.
    assert_eq!(problems("", "v1", "Pod", b"k8s\0\x0a", &obj).len(), 2);
}

#[test]
fn kinds_without_a_schema_have_no_problems() {
    let raw = r#"{"apiVersion":"example.com/v1","kind":"Foo","spec":{"a":1,"a":2}}"#;
    let obj: Value = serde_json::from_str(raw).unwrap();
    assert!(problems("example.com", "v1", "Foo", raw.as_bytes(), &obj).is_empty());
    assert!(problems("apps", "v9", "Deployment", raw.as_bytes(), &obj).is_empty());
    assert_eq!(duplicate_fields(raw.as_bytes()), [r#"duplicate field "spec.a""#]);
}

#[test]
fn duplicate_fields_of_untyped_documents() {
    let raw = br#"{"a":1,"a":2,"b":{"c":[{"d":1,"d":2}],"c":3},"e":{"":{"f":1,"f":1}}}"#;
    assert_eq!(
        duplicate_fields(raw),
        [
            r#"duplicate field "a""#,
            r#"duplicate field "b.c[0].d""#,
            r#"duplicate field "b.c""#,
            r#"duplicate field "e..f""#,
        ]
    );
}

#[test]
fn findings_stop_at_one_hundred() {
    let fields: Vec<String> = (0..150).map(|i| format!("\"f{i}\":1")).collect();
    let raw = format!(r#"{{"apiVersion":"v1","kind":"Pod",{}}}"#, fields.join(","));
    let got = pod(&raw);
    assert_eq!(got.len(), 100);
    assert_eq!(got[99], r#"unknown field "f99""#);
}

#[test]
fn paths_are_quoted_as_go_does() {
    let raw = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"a\"b":1,"tab\tnew\nline":1,"ü":1,"\u0001":1}"#;
    assert_eq!(
        pod(raw),
        [
            r#"unknown field "a\"b""#,
            r#"unknown field "tab\tnew\nline""#,
            r#"unknown field "ü""#,
            r#"unknown field "\x01""#,
        ]
    );
}

#[test]
fn root_type_meta_is_always_known_and_yaml_bodies_are_sorted() {
    let obj = json!({"kind":"Pod","apiVersion":"v1","zeta":1,"metadata":{"name":"p"},"alpha":1});
    assert_eq!(problems("", "v1", "Pod", b"", &obj), [r#"unknown field "zeta""#, r#"unknown field "alpha""#]);
    assert_eq!(yaml_problems("", "v1", "Pod", &obj), [r#"unknown field "alpha""#, r#"unknown field "zeta""#]);
}

fn patched_deployment() -> Value {
    json!({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d","labels":{"app":"nginx"}},
        "spec":{"unknown1":"val1","unknownDupe":"valDupe2","paused":false,"replicas":2,
          "selector":{"matchLabels":{"app":"nginx"}},
          "template":{"metadata":{"labels":{"app":"nginx"}},"spec":{"containers":[
            {"name":"nginx","image":"nginx:latest","unknownNested":"val1","imagePullPolicy":"Never"}]}}}})
}

#[test]
fn merge_patch_like_upstream() {
    let patch = br#"{"spec":{"unknown1":"val1","unknownDupe":"valDupe","unknownDupe":"valDupe2","paused":true,"paused":false,
        "template":{"spec":{"containers":[{"name":"nginx","image":"nginx:latest","unknownNested":"val1",
        "imagePullPolicy":"Always","imagePullPolicy":"Never"}]}}}}"#;
    let got = patch_problems("apps", "v1", "Deployment", PatchType::Merge, patch, &patched_deployment());
    assert_eq!(
        strict_error_message(&got),
        r#"strict decoding error: duplicate field "spec.unknownDupe", duplicate field "spec.paused", duplicate field "spec.template.spec.containers[0].imagePullPolicy", unknown field "spec.template.spec.containers[0].unknownNested", unknown field "spec.unknown1", unknown field "spec.unknownDupe""#
    );
}

#[test]
fn json_patch_like_upstream() {
    let patch = br#"[
        {"op": "add", "path": "/spec/unknown1", "value": "val1", "foo":"bar"},
        {"op": "add", "path": "/spec/unknown2", "path": "/spec/unknown3", "value": "val1"},
        {"op": "add", "path": "/spec/unknownDupe", "value": "valDupe"},
        {"op": "add", "path": "/spec/unknownDupe", "value": "valDupe2"},
        {"op": "add", "path": "/spec/template/spec/containers/0/unknownNested", "value": "val1"},
        {"op": "add", "path": "/x", "value": {"k": 1, "k": 2}}
    ]"#;
    let mut patched = patched_deployment();
    patched["spec"]["unknown3"] = json!("val1");
    let got = patch_problems("apps", "v1", "Deployment", PatchType::Json, patch, &patched);
    assert_eq!(
        got,
        [
            r#"json patch unknown field "[0].foo""#,
            r#"json patch duplicate field "[1].path""#,
            r#"json patch duplicate field "[5].value.k""#,
            r#"unknown field "spec.template.spec.containers[0].unknownNested""#,
            r#"unknown field "spec.unknown1""#,
            r#"unknown field "spec.unknown3""#,
            r#"unknown field "spec.unknownDupe""#,
        ]
    );
}

#[test]
fn strategic_merge_patch_like_upstream() {
    let patch = br#"{"spec":{"unknown1":"val1","unknownDupe":"valDupe","unknownDupe":"valDupe2","paused":true,"paused":false,
        "template":{"spec":{"containers":[{"name":"nginx","unknownNested":"val1","imagePullPolicy":"Always","imagePullPolicy":"Never"}]}}}}"#;
    let got = patch_problems("apps", "v1", "Deployment", PatchType::StrategicMerge, patch, &patched_deployment());
    assert_eq!(
        got,
        [
            r#"duplicate field "spec.unknownDupe""#,
            r#"duplicate field "spec.paused""#,
            r#"duplicate field "spec.template.spec.containers[0].imagePullPolicy""#,
            r#"unknown field "spec.template.spec.containers[0].unknownNested""#,
            r#"unknown field "spec.unknown1""#,
            r#"unknown field "spec.unknownDupe""#,
        ]
    );
}

#[test]
fn strategic_merge_patch_paths_skip_map_keys_and_sort_as_strings() {
    let patched = json!({"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition","metadata":{"name":"x"},
        "spec":{"group":"g","names":{"plural":"p","kind":"K"},"scope":"Cluster","versions":[{"name":"v1","served":true,"storage":true,
          "schema":{"openAPIV3Schema":{"type":"object","properties":{"spec":{"type":"object","bad":1}}}}}]},
        "a-b":1,"a":{"x":1}});
    let got = patch_problems("apiextensions.k8s.io", "v1", "CustomResourceDefinition", PatchType::StrategicMerge, b"{}", &patched);
    assert_eq!(
        got,
        [r#"unknown field "a""#, r#"unknown field "a-b""#, r#"unknown field "spec.versions[0].schema.openAPIV3Schema.properties.bad""#]
    );
    // The JSON patch path keeps map keys and visits keys in sorted order.
    let got = patch_problems("apiextensions.k8s.io", "v1", "CustomResourceDefinition", PatchType::Json, b"[]", &patched);
    assert_eq!(
        got,
        [r#"unknown field "a""#, r#"unknown field "a-b""#, r#"unknown field "spec.versions[0].schema.openAPIV3Schema.properties.spec.bad""#]
    );
}

#[test]
fn patch_documents_are_checked_whatever_the_kind() {
    let got = patch_problems("example.com", "v1", "Foo", PatchType::Merge, br#"{"a":1,"a":2}"#, &json!({"a":2}));
    assert_eq!(got, [r#"duplicate field "a""#]);
    // Not an object / not a list: a decode error upstream, not a strict one.
    assert!(patch_problems("", "v1", "Pod", PatchType::Merge, b"[1]", &json!({})).is_empty());
    assert!(patch_problems("", "v1", "Pod", PatchType::Json, br#"{"op":"add"}"#, &json!({})).is_empty());
}

#[test]
fn patch_strict_errors_are_invalid_on_the_patch_field() {
    let problems = vec![r#"unknown field "spec.x""#.to_string()];
    let patched = json!({"spec":{"x":"<&>"},"kind":"Pod"});
    let err = patch_strict_error(PatchType::Merge, b"", &patched, &problems);
    assert_eq!(err.field, "patch");
    assert_eq!(err.bad_value, Some(json!(r#"{"kind":"Pod","spec":{"x":"\u003c\u0026\u003e"}}"#)));
    assert_eq!(
        invalid_patch_message(&err),
        r#" "" is invalid: patch: Invalid value: "{\"kind\":\"Pod\",\"spec\":{\"x\":\"\\u003c\\u0026\\u003e\"}}": strict decoding error: unknown field "spec.x""#
    );
    let patch = br#"{"spec":{"replicas":3,"b":[1.5,"s",null,true],"a":{"z":1e6,"y":0.0001,"w":1e-5,"v":123456.0}}}"#;
    let err = patch_strict_error(PatchType::StrategicMerge, patch, &json!({}), &problems);
    assert_eq!(err.bad_value, Some(json!("map[spec:map[a:map[v:123456 w:1e-05 y:0.0001 z:1e+06] b:[1.5 s <nil> true] replicas:3]]")));
}

#[test]
fn go_float_formatting() {
    assert_eq!(go_float(0.0), "0");
    assert_eq!(go_float(1.0), "1");
    assert_eq!(go_float(-2.5), "-2.5");
    assert_eq!(go_float(1234567.0), "1.234567e+06");
    assert_eq!(go_float(100000.0), "100000");
    assert_eq!(go_float(0.00012), "0.00012");
    assert_eq!(go_float(1.5e-7), "1.5e-07");
    assert_eq!(go_float(1e21), "1e+21");
    assert_eq!(go_float(1.8446744073709552e19), "1.8446744073709552e+19");
}
