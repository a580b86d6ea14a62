#![allow(clippy::wildcard_imports)]
use super::*;

/// Drops the fields the kind's type does not have, as decoding into upstream's typed
/// objects does when validation is not Strict (so unknown fields are never stored).
pub fn prune(group: &str, version: &str, kind: &str, obj: &mut Value) {
    let s = schemas();
    if let Some(root) = s.root(group, version, kind).and_then(|n| s.def(n)) {
        prune_at(s, obj, Shape::Struct(root, true));
    }
}

fn prune_at(s: &Schemas, v: &mut Value, shape: Shape) {
    match (shape, v) {
        (Shape::Struct(schema, root), Value::Object(m)) => {
            let props = schema.get("properties");
            m.retain(|k, _| props.and_then(|p| p.get(k)).is_some() || (root && (k == "apiVersion" || k == "kind")));
            for (k, child) in m.iter_mut() {
                if let Some(p) = props.and_then(|p| p.get(k)) {
                    prune_at(s, child, shape_of(s, p));
                }
            }
        }
        (Shape::Map(Some(values)), Value::Object(m)) => {
            for child in m.values_mut() {
                prune_at(s, child, shape_of(s, values));
            }
        }
        (Shape::Array(items), Value::Array(a)) => {
            for child in a.iter_mut() {
                prune_at(s, child, shape_of(s, items));
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod prune_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn prune_drops_unknown_fields_only() {
        let mut d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "bogus": 1,
            "metadata": {"name": "x", "labels": {"any": "thing"}, "nope": true},
            "spec": {"replicas": 1, "extra": {}, "template": {"spec": {"containers": [{"name": "c", "image": "i", "junk": 2}]}}}});
        prune("apps", "v1", "Deployment", &mut d);
        assert_eq!(d, json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "x", "labels": {"any": "thing"}},
            "spec": {"replicas": 1, "template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}}}));
    }
}
