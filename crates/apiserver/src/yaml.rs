//! YAML request bodies (`application/yaml`, `application/apply-patch+yaml`) as JSON.

use serde_json::{Map, Number, Value};
use yaml_rust2::{Yaml, YamlLoader};

/// Parses a single YAML document (JSON is YAML too) into a JSON value.
pub fn parse(text: &str) -> Result<Value, String> {
    let docs = YamlLoader::load_from_str(text).map_err(|e| format!("error converting YAML to JSON: yaml: {e}"))?;
    match docs.len() {
        0 => Ok(Value::Null),
        1 => to_json(&docs[0]),
        _ => Err("error converting YAML to JSON: more than one document".into()),
    }
}

fn to_json(y: &Yaml) -> Result<Value, String> {
    Ok(match y {
        Yaml::Null => Value::Null,
        Yaml::Boolean(b) => Value::Bool(*b),
        Yaml::Integer(i) => Value::Number((*i).into()),
        Yaml::Real(r) => {
            let f: f64 = r.parse().map_err(|_| format!("error converting YAML to JSON: invalid number {r}"))?;
            Number::from_f64(f).map(Value::Number).unwrap_or(Value::Null)
        }
        Yaml::String(s) => Value::String(s.clone()),
        Yaml::Array(a) => Value::Array(a.iter().map(to_json).collect::<Result<_, _>>()?),
        Yaml::Hash(h) => {
            let mut m = Map::new();
            for (k, v) in h {
                let key = match k {
                    Yaml::String(s) => s.clone(),
                    Yaml::Integer(i) => i.to_string(),
                    Yaml::Boolean(b) => b.to_string(),
                    Yaml::Real(r) => r.clone(),
                    Yaml::Null => "null".into(),
                    _ => return Err("error converting YAML to JSON: unsupported map key".into()),
                };
                m.insert(key, to_json(v)?);
            }
            Value::Object(m)
        }
        Yaml::Alias(_) | Yaml::BadValue => return Err("error converting YAML to JSON: unsupported YAML value".into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn yaml_and_json_parse_alike() {
        let y = parse("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: \"1\"\n  b: true\nn: 3\nf: 1.5\n").unwrap();
        assert_eq!(y, json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"a": "1", "b": true}, "n": 3, "f": 1.5}));
        assert_eq!(parse("{\"a\": [1, 2]}").unwrap(), json!({"a": [1, 2]}));
        assert!(parse("a: [1,\n").is_err());
    }
}
