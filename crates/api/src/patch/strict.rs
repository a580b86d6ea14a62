//! The strict-decoding errors of `sigs.k8s.io/json.UnmarshalStrict` (duplicate and
//! unknown fields), which the apiserver computes on patch bodies when
//! `fieldValidation` is `Warn` (the default) or `Strict`.
//!
//! Paths are rendered as kjson does: keys joined with `.`, list indices as `[i]`
//! (`spec.containers[0].name`, `[1].xyz` for JSON patch operations). Errors are
//! deduplicated and capped at 100, in document order.

use serde_json::Value;

const MAX_ERRORS: usize = 100;

/// The fields of upstream's `jsonPatchOp` struct (matched case-sensitively).
const OP_FIELDS: [&str; 4] = ["op", "path", "from", "value"];

/// Duplicate-field errors of a document decoded into `interface{}`/maps.
/// `data` must be syntactically valid JSON.
pub fn duplicate_fields(data: &[u8]) -> Vec<String> {
    let mut w = Walker::new(data);
    w.value(&mut Vec::new());
    w.errors
}

/// Strict errors of a JSON patch decoded into `[]jsonPatchOp`: unknown or
/// duplicated operation fields, and duplicates inside `value`s.
pub fn json_patch_fields(data: &[u8]) -> Vec<String> {
    let mut w = Walker::new(data);
    w.skip_ws();
    if w.peek() == Some(b'[') {
        w.pos += 1;
        let mut index = 0;
        while w.next_item(b']') {
            let mut path = vec![format!("[{index}]")];
            if w.peek() == Some(b'{') {
                w.op_object(&mut path);
            } else {
                w.value(&mut path);
            }
            index += 1;
        }
    }
    w.errors
}

struct Walker<'a> {
    data: &'a [u8],
    pos: usize,
    errors: Vec<String>,
}

impl<'a> Walker<'a> {
    fn new(data: &'a [u8]) -> Self {
        Walker { data, pos: 0, errors: Vec::new() }
    }

    fn peek(&self) -> Option<u8> {
        self.data.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    /// Steps over a `,` (or the opening bracket); false at the closing `end`.
    fn next_item(&mut self, end: u8) -> bool {
        self.skip_ws();
        if self.peek() == Some(b',') {
            self.pos += 1;
            self.skip_ws();
        }
        if self.peek() == Some(end) || self.peek().is_none() {
            self.pos += 1;
            return false;
        }
        true
    }

    fn save(&mut self, kind: &str, path: &[String], field: &str) {
        let mut full = path.concat();
        if !full.is_empty() {
            full.push('.');
        }
        full.push_str(field);
        let msg = format!("{kind} {}", Value::String(full));
        if self.errors.len() < MAX_ERRORS && !self.errors.contains(&msg) {
            self.errors.push(msg);
        }
    }

    /// Reads an object key and the following `:`.
    fn key(&mut self) -> String {
        let start = self.pos;
        self.string();
        let key = serde_json::from_slice::<String>(&self.data[start..self.pos]).unwrap_or_default();
        self.skip_ws();
        self.pos += 1; // ':'
        self.skip_ws();
        key
    }

    fn value(&mut self, path: &mut Vec<String>) {
        self.skip_ws();
        match self.peek() {
            Some(b'{') => self.object(path),
            Some(b'[') => self.array(path),
            Some(b'"') => self.string(),
            _ => self.scalar(),
        }
    }

    fn object(&mut self, path: &mut Vec<String>) {
        self.pos += 1;
        let mut seen: Vec<String> = Vec::new();
        while self.next_item(b'}') {
            let key = self.key();
            if seen.contains(&key) {
                self.save("duplicate field", path, &key);
            } else {
                seen.push(key.clone());
            }
            self.nested(path, &key);
        }
    }

    /// Walks the value of `key` with `key` pushed on the path.
    fn nested(&mut self, path: &mut Vec<String>, key: &str) {
        path.push(if path.is_empty() { key.to_string() } else { format!(".{key}") });
        self.value(path);
        path.pop();
    }

    fn op_object(&mut self, path: &mut Vec<String>) {
        self.pos += 1;
        let mut seen: Vec<String> = Vec::new();
        while self.next_item(b'}') {
            let key = self.key();
            if !OP_FIELDS.contains(&key.as_str()) {
                self.save("unknown field", path, &key);
                // The value of an unknown field is skipped, not inspected.
                let saved = self.errors.len();
                self.value(&mut Vec::new());
                self.errors.truncate(saved);
                continue;
            }
            if seen.contains(&key) {
                self.save("duplicate field", path, &key);
            } else {
                seen.push(key.clone());
            }
            self.nested(path, &key);
        }
    }

    fn array(&mut self, path: &mut Vec<String>) {
        self.pos += 1;
        let mut index = 0;
        while self.next_item(b']') {
            path.push(format!("[{index}]"));
            self.value(path);
            path.pop();
            index += 1;
        }
    }

    fn string(&mut self) {
        self.pos += 1;
        while let Some(c) = self.peek() {
            self.pos += 1;
            match c {
                b'"' => return,
                b'\\' => self.pos += 1,
                _ => {}
            }
        }
    }

    fn scalar(&mut self) {
        while matches!(self.peek(), Some(c) if !matches!(c, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_with_paths() {
        let data = br#"{"a":1,"a":2,"m":{"x":[{"k":1,"k":2}],"x":0},"l":[{"n":1},{"n":2,"n":3}]}"#;
        assert_eq!(
            duplicate_fields(data),
            ["duplicate field \"a\"", "duplicate field \"m.x[0].k\"", "duplicate field \"m.x\"", "duplicate field \"l[1].n\""]
        );
        assert!(duplicate_fields(br#"{"a":"}\"{","b":[1,2,{}]}"#).is_empty());
    }

    #[test]
    fn json_patch_ops() {
        let data = br#"[{"op":"add","op":"add","xyz":{"a":1,"a":2},"value":{"b":1,"b":2}},null,{"OP":1}]"#;
        assert_eq!(
            json_patch_fields(data),
            [
                "duplicate field \"[0].op\"",
                "unknown field \"[0].xyz\"",
                "duplicate field \"[0].value.b\"",
                "unknown field \"[2].OP\""
            ]
        );
    }
}
