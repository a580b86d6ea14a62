//! The OpenAPI v2 document in protobuf (`application/com.github.proto-openapi.spec.v2@v1.0+protobuf`),
//! the only form client-go's `OpenAPISchema()` reads (kubectl's v2 consumers:
//! `kubectl explain --output=plaintext-openapiv2`, and apply's fallback when v3 fails).
//!
//! The message is gnostic's `openapi.v2.Document` (OpenAPIv2.proto), encoded from the
//! same pieces as the JSON document: every path item and every definition is converted
//! on its own. Vendor extensions, defaults and examples are `Any{yaml}` values; JSON is
//! YAML, so they carry the value's JSON text.

use serde_json::Value;

use super::json as jw;
use super::{v2, v3};

/// A protobuf message under construction.
#[derive(Default)]
struct Msg(Vec<u8>);

impl Msg {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }

    fn tag(&mut self, field: u32, wire: u8) {
        self.varint(((field as u64) << 3) | wire as u64);
    }

    fn bytes(&mut self, field: u32, b: &[u8]) {
        self.tag(field, 2);
        self.varint(b.len() as u64);
        self.0.extend_from_slice(b);
    }

    /// A string field (proto3: empty strings are not written).
    fn string(&mut self, field: u32, s: &str) {
        if !s.is_empty() {
            self.bytes(field, s.as_bytes());
        }
    }

    fn msg(&mut self, field: u32, m: Msg) {
        self.bytes(field, &m.0);
    }

    fn boolean(&mut self, field: u32, b: bool) {
        if b {
            self.tag(field, 0);
            self.varint(1);
        }
    }

    fn int64(&mut self, field: u32, v: i64) {
        if v != 0 {
            self.tag(field, 0);
            self.varint(v as u64);
        }
    }

    fn double(&mut self, field: u32, v: f64) {
        if v != 0.0 {
            self.tag(field, 1);
            self.0.extend_from_slice(&v.to_le_bytes());
        }
    }

    fn string_field(&mut self, field: u32, v: &Value, key: &str) {
        if let Some(s) = v.get(key).and_then(Value::as_str) {
            self.string(field, s);
        }
    }

    fn strings(&mut self, field: u32, v: Option<&Value>) {
        for s in v.and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
            self.bytes(field, s.as_bytes());
        }
    }
}

/// `Any{yaml}` holding a JSON value (JSON text is YAML).
fn any(v: &Value) -> Msg {
    let mut m = Msg::default();
    m.string(2, &serde_json::to_string(v).unwrap_or_default());
    m
}

/// `repeated NamedAny vendor_extension`: the `x-` members of a JSON object.
fn vendor_extensions(m: &mut Msg, field: u32, v: &Value) {
    let Some(obj) = v.as_object() else { return };
    for (k, x) in obj.iter().filter(|(k, _)| k.starts_with("x-")) {
        let mut named = Msg::default();
        named.string(1, k);
        named.msg(2, any(x));
        m.msg(field, named);
    }
}

fn schema(v: &Value) -> Msg {
    let mut m = Msg::default();
    m.string_field(1, v, "$ref");
    m.string_field(2, v, "format");
    m.string_field(3, v, "title");
    m.string_field(4, v, "description");
    if let Some(d) = v.get("default") {
        m.msg(5, any(d));
    }
    let num = |k: &str| v.get(k).and_then(Value::as_f64).unwrap_or(0.0);
    let int = |k: &str| v.get(k).and_then(Value::as_i64).unwrap_or(0);
    let flag = |k: &str| v.get(k).and_then(Value::as_bool).unwrap_or(false);
    m.double(6, num("multipleOf"));
    m.double(7, num("maximum"));
    m.boolean(8, flag("exclusiveMaximum"));
    m.double(9, num("minimum"));
    m.boolean(10, flag("exclusiveMinimum"));
    m.int64(11, int("maxLength"));
    m.int64(12, int("minLength"));
    m.string_field(13, v, "pattern");
    m.int64(14, int("maxItems"));
    m.int64(15, int("minItems"));
    m.boolean(16, flag("uniqueItems"));
    m.int64(17, int("maxProperties"));
    m.int64(18, int("minProperties"));
    m.strings(19, v.get("required"));
    for e in v.get("enum").and_then(Value::as_array).into_iter().flatten() {
        m.msg(20, any(e));
    }
    match v.get("additionalProperties") {
        Some(Value::Bool(b)) => {
            let mut item = Msg::default();
            item.tag(2, 0);
            item.varint(*b as u64);
            m.msg(21, item);
        }
        Some(s @ Value::Object(_)) => {
            let mut item = Msg::default();
            item.msg(1, schema(s));
            m.msg(21, item);
        }
        _ => {}
    }
    match v.get("type") {
        Some(Value::String(t)) => {
            let mut ty = Msg::default();
            ty.string(1, t);
            m.msg(22, ty);
        }
        Some(Value::Array(ts)) => {
            let mut ty = Msg::default();
            ty.strings(1, Some(&Value::Array(ts.clone())));
            m.msg(22, ty);
        }
        _ => {}
    }
    if let Some(items) = v.get("items") {
        let mut it = Msg::default();
        match items {
            Value::Array(list) => list.iter().for_each(|s| it.msg(1, schema(s))),
            s => it.msg(1, schema(s)),
        }
        m.msg(23, it);
    }
    for s in v.get("allOf").and_then(Value::as_array).into_iter().flatten() {
        m.msg(24, schema(s));
    }
    if let Some(props) = v.get("properties").and_then(Value::as_object) {
        let mut p = Msg::default();
        for (name, s) in props {
            let mut named = Msg::default();
            named.string(1, name);
            named.msg(2, schema(s));
            p.msg(1, named);
        }
        m.msg(25, p);
    }
    m.string_field(26, v, "discriminator");
    m.boolean(27, flag("readOnly"));
    if let Some(e) = v.get("example") {
        m.msg(30, any(e));
    }
    vendor_extensions(&mut m, 31, v);
    m
}

/// A `ParametersItem` from a v2 parameter object.
fn parameter(p: &Value) -> Msg {
    let mut param = Msg::default();
    let location = p.get("in").and_then(Value::as_str).unwrap_or_default();
    let required = p.get("required").and_then(Value::as_bool).unwrap_or(false);
    let unique = p.get("uniqueItems").and_then(Value::as_bool).unwrap_or(false);
    if location == "body" {
        let mut body = Msg::default();
        body.string_field(1, p, "description");
        body.string_field(2, p, "name");
        body.string(3, "body");
        body.boolean(4, required);
        if let Some(s) = p.get("schema") {
            body.msg(5, schema(s));
        }
        vendor_extensions(&mut body, 6, p);
        param.msg(1, body);
    } else {
        // Query (3) and path (4) sub-schemas; their type and uniqueItems fields differ.
        let (which, type_field, unique_field, ext_field) = if location == "path" { (4, 5, 19, 22) } else { (3, 6, 20, 23) };
        let mut sub = Msg::default();
        sub.boolean(1, required);
        sub.string(2, location);
        sub.string_field(3, p, "description");
        sub.string_field(4, p, "name");
        sub.string_field(type_field, p, "type");
        sub.boolean(unique_field, unique);
        vendor_extensions(&mut sub, ext_field, p);
        let mut non_body = Msg::default();
        non_body.msg(which, sub);
        param.msg(2, non_body);
    }
    let mut item = Msg::default();
    item.msg(1, param);
    item
}

fn operation(op: &Value) -> Msg {
    let mut m = Msg::default();
    m.strings(1, op.get("tags"));
    m.string_field(2, op, "summary");
    m.string_field(3, op, "description");
    m.string_field(5, op, "operationId");
    m.strings(6, op.get("produces"));
    m.strings(7, op.get("consumes"));
    for p in op.get("parameters").and_then(Value::as_array).into_iter().flatten() {
        m.msg(8, parameter(p));
    }
    if let Some(responses) = op.get("responses").and_then(Value::as_object) {
        let mut rs = Msg::default();
        for (code, r) in responses {
            let mut resp = Msg::default();
            resp.string_field(1, r, "description");
            if let Some(s) = r.get("schema") {
                let mut item = Msg::default();
                item.msg(1, schema(s));
                resp.msg(2, item);
            }
            vendor_extensions(&mut resp, 5, r);
            let mut value = Msg::default();
            value.msg(1, resp);
            let mut named = Msg::default();
            named.string(1, code);
            named.msg(2, value);
            rs.msg(1, named);
        }
        m.msg(9, rs);
    }
    m.strings(10, op.get("schemes"));
    m.boolean(11, op.get("deprecated").and_then(Value::as_bool).unwrap_or(false));
    vendor_extensions(&mut m, 13, op);
    m
}

fn path_item(item: &Value) -> Msg {
    let mut m = Msg::default();
    for (field, method) in [(2, "get"), (3, "put"), (4, "post"), (5, "delete"), (6, "options"), (7, "head"), (8, "patch")] {
        if let Some(op) = item.get(method) {
            m.msg(field, operation(op));
        }
    }
    for p in item.get("parameters").and_then(Value::as_array).into_iter().flatten() {
        m.msg(9, parameter(p));
    }
    vendor_extensions(&mut m, 10, item);
    m
}

/// The serialized `openapi.v2.Document`.
pub fn document_bytes() -> Vec<u8> {
    let routes = v2::all_routes();
    let mut doc = Msg::default();
    doc.string(1, "2.0");
    let mut info = Msg::default();
    info.string(1, "Kubernetes");
    info.string(2, &v3::version_string());
    doc.msg(2, info);

    let mut paths = Msg::default();
    for r in &routes {
        let mut named = Msg::default();
        named.string(1, &r.path);
        named.msg(2, path_item(&v2::path_item(r)));
        paths.msg(2, named);
    }
    doc.msg(8, paths);

    let mut defs = Msg::default();
    for (name, json) in jw::definitions(v3::root_definitions(&routes), |name, def| v2::to_v2(Some(name), def)) {
        let def: Value = serde_json::from_slice(&json).unwrap_or_default();
        let mut named = Msg::default();
        named.string(1, &name);
        named.msg(2, schema(&def));
        defs.msg(1, named);
    }
    doc.msg(9, defs);

    // security: [{BearerToken: []}]
    let mut req = Msg::default();
    let mut named = Msg::default();
    named.string(1, "BearerToken");
    named.msg(2, Msg::default());
    req.msg(1, named);
    doc.msg(12, req);

    // securityDefinitions: {BearerToken: apiKey in header "authorization"}
    let mut key = Msg::default();
    key.string(1, "apiKey");
    key.string(2, "authorization");
    key.string(3, "header");
    key.string(4, "Bearer Token authentication");
    let mut item = Msg::default();
    item.msg(2, key);
    let mut named = Msg::default();
    named.string(1, "BearerToken");
    named.msg(2, item);
    let mut sec = Msg::default();
    sec.msg(1, named);
    doc.msg(13, sec);
    doc.0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal wire-format reader: (field, wire type, payload) triples.
    fn fields(mut b: &[u8]) -> Vec<(u32, u8, Vec<u8>)> {
        fn varint(b: &mut &[u8]) -> u64 {
            let mut v = 0u64;
            let mut shift = 0;
            loop {
                let byte = b[0];
                *b = &b[1..];
                v |= ((byte & 0x7f) as u64) << shift;
                if byte < 0x80 {
                    return v;
                }
                shift += 7;
            }
        }
        let mut out = Vec::new();
        while !b.is_empty() {
            let key = varint(&mut b);
            let (field, wire) = ((key >> 3) as u32, (key & 7) as u8);
            let payload = match wire {
                0 => varint(&mut b).to_le_bytes().to_vec(),
                1 => {
                    let p = b[..8].to_vec();
                    b = &b[8..];
                    p
                }
                2 => {
                    let len = varint(&mut b) as usize;
                    let p = b[..len].to_vec();
                    b = &b[len..];
                    p
                }
                w => panic!("wire type {w}"),
            };
            out.push((field, wire, payload));
        }
        out
    }

    fn field(b: &[u8], n: u32) -> Vec<Vec<u8>> {
        fields(b).into_iter().filter(|f| f.0 == n).map(|f| f.2).collect()
    }

    fn string(b: &[u8], n: u32) -> String {
        field(b, n).first().map(|v| String::from_utf8(v.clone()).unwrap()).unwrap_or_default()
    }

    #[test]
    fn document_decodes_to_the_swagger_structure() {
        let doc = document_bytes();
        assert_eq!(string(&doc, 1), "2.0");
        let defs = &field(&doc, 9)[0];
        let named: Vec<Vec<u8>> = field(defs, 1);
        let deploy = named.iter().find(|n| string(n, 1) == "io.k8s.api.apps.v1.Deployment").expect("Deployment");
        let schema = &field(deploy, 2)[0];
        assert!(string(schema, 4).starts_with("Deployment enables declarative updates"));
        let ty = &field(schema, 22)[0];
        assert_eq!(string(ty, 1), "object");
        let exts = field(schema, 31);
        let gvk = exts.iter().find(|e| string(e, 1) == "x-kubernetes-group-version-kind").unwrap();
        let yaml = string(&field(gvk, 2)[0], 2);
        assert_eq!(yaml, r#"[{"group":"apps","kind":"Deployment","version":"v1"}]"#);
        let props = &field(schema, 25)[0];
        let spec = field(props, 1).into_iter().find(|p| string(p, 1) == "spec").unwrap();
        assert_eq!(string(&field(&spec, 2)[0], 1), "#/definitions/io.k8s.api.apps.v1.DeploymentSpec");

        let paths = &field(&doc, 8)[0];
        let item = field(paths, 2).into_iter().find(|p| string(p, 1) == "/apis/apps/v1/namespaces/{namespace}/deployments/{name}").unwrap();
        let patch = &field(&field(&item, 2)[0], 8)[0];
        assert_eq!(string(patch, 5), "patchAppsV1NamespacedDeployment");
        let consumes: Vec<String> = field(patch, 7).into_iter().map(|c| String::from_utf8(c).unwrap()).collect();
        assert!(consumes.contains(&"application/strategic-merge-patch+json".to_string()));
        // The first parameter is the body, then query parameters (NonBodyParameter.query).
        let params = field(patch, 8);
        let body = &field(&field(&params[0], 1)[0], 1)[0];
        assert_eq!(string(body, 2), "body");
        let query = &field(&field(&field(&params[1], 1)[0], 2)[0], 3)[0];
        assert_eq!(string(query, 4), "dryRun");
        assert_eq!(string(query, 6), "string");
        let path_params = field(&field(&item, 2)[0], 9);
        let name = &field(&field(&field(&path_params[0], 1)[0], 2)[0], 4)[0];
        assert_eq!(string(name, 4), "name");
    }
}
