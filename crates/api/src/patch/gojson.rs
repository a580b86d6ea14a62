//! Go-compatible renderings needed for upstream's error texts: the syntax errors of
//! `encoding/json` (whose scanner validates a document before decoding it), the
//! `UnmarshalTypeError` names of JSON values, `fmt`'s `%v` of decoded values and
//! the `reflect` type names of `map[string]interface{}` trees.

use serde_json::Value;

/// Message of Go's `SyntaxError` when the input stops early.
pub const UNEXPECTED_END: &str = "unexpected end of JSON input";

/// Validates `data` the way Go's `json.Unmarshal` does before decoding, returning
/// the exact Go error message on failure.
pub fn check_syntax(data: &[u8]) -> Result<(), String> {
    let mut s = Scanner { data, pos: 0 };
    s.value()?;
    s.skip_ws();
    match s.peek() {
        None => Ok(()),
        Some(c) => Err(invalid(c, "after top-level value")),
    }
}

/// Decodes `data` as Go would accept it: syntax errors carry Go's message.
pub fn parse(data: &[u8]) -> Result<Value, String> {
    check_syntax(data)?;
    serde_json::from_slice(data).map_err(|e| e.to_string())
}

fn invalid(c: u8, context: &str) -> String {
    format!("invalid character {} {}", quote_char(c), context)
}

/// Go's `quoteChar` (encoding/json/scanner.go).
fn quote_char(c: u8) -> String {
    match c {
        b'\'' => "'\\''".to_string(),
        b'"' => "'\"'".to_string(),
        _ => format!("'{}'", go_quote_rune(c as char)),
    }
}

/// The inside of `strconv.Quote(string(r))`.
fn go_quote_rune(r: char) -> String {
    let mut s = String::new();
    crate::gofmt::push_escaped(&mut s, r);
    s
}

struct Scanner<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.data.get(self.pos).copied()
    }

    fn next(&mut self) -> Result<u8, String> {
        let c = self.peek().ok_or_else(|| UNEXPECTED_END.to_string())?;
        self.pos += 1;
        Ok(c)
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn next_non_ws(&mut self) -> Result<u8, String> {
        self.skip_ws();
        self.next()
    }

    fn value(&mut self) -> Result<(), String> {
        let c = self.next_non_ws()?;
        self.value_from(c)
    }

    fn value_from(&mut self, c: u8) -> Result<(), String> {
        match c {
            b'{' => self.object(),
            b'[' => self.array(),
            b'"' => self.string(),
            b'-' | b'0'..=b'9' => self.number(c),
            b't' => self.literal(b"rue", "true"),
            b'f' => self.literal(b"alse", "false"),
            b'n' => self.literal(b"ull", "null"),
            _ => Err(invalid(c, "looking for beginning of value")),
        }
    }

    fn object(&mut self) -> Result<(), String> {
        let mut c = self.next_non_ws()?;
        if c == b'}' {
            return Ok(());
        }
        loop {
            if c != b'"' {
                return Err(invalid(c, "looking for beginning of object key string"));
            }
            self.string()?;
            let colon = self.next_non_ws()?;
            if colon != b':' {
                return Err(invalid(colon, "after object key"));
            }
            self.value()?;
            match self.next_non_ws()? {
                b',' => c = self.next_non_ws()?,
                b'}' => return Ok(()),
                other => return Err(invalid(other, "after object key:value pair")),
            }
        }
    }

    fn array(&mut self) -> Result<(), String> {
        let c = self.next_non_ws()?;
        if c == b']' {
            return Ok(());
        }
        self.value_from(c)?;
        loop {
            match self.next_non_ws()? {
                b',' => self.value()?,
                b']' => return Ok(()),
                other => return Err(invalid(other, "after array element")),
            }
        }
    }

    fn string(&mut self) -> Result<(), String> {
        loop {
            match self.next()? {
                b'"' => return Ok(()),
                b'\\' => self.escape()?,
                c if c < 0x20 => return Err(invalid(c, "in string literal")),
                _ => {}
            }
        }
    }

    fn escape(&mut self) -> Result<(), String> {
        match self.next()? {
            b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => Ok(()),
            b'u' => {
                for _ in 0..4 {
                    let h = self.next()?;
                    if !h.is_ascii_hexdigit() {
                        return Err(invalid(h, "in \\u hexadecimal character escape"));
                    }
                }
                Ok(())
            }
            c => Err(invalid(c, "in string escape code")),
        }
    }

    fn digits(&mut self) {
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
    }

    fn number(&mut self, first: u8) -> Result<(), String> {
        let lead = if first == b'-' { self.next()? } else { first };
        match lead {
            b'0' => {}
            b'1'..=b'9' => self.digits(),
            c => return Err(invalid(c, "in numeric literal")),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            let c = self.next()?;
            if !c.is_ascii_digit() {
                return Err(invalid(c, "after decimal point in numeric literal"));
            }
            self.digits();
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            let mut c = self.next()?;
            if c == b'+' || c == b'-' {
                c = self.next()?;
            }
            if !c.is_ascii_digit() {
                return Err(invalid(c, "in exponent of numeric literal"));
            }
            self.digits();
        }
        Ok(())
    }

    fn literal(&mut self, rest: &[u8], word: &str) -> Result<(), String> {
        for &want in rest {
            let c = self.next()?;
            if c != want {
                let ctx = format!("in literal {word} (expecting {})", quote_char(want));
                return Err(invalid(c, &ctx));
            }
        }
        Ok(())
    }
}

/// The word Go's `UnmarshalTypeError` uses for a JSON value.
pub fn unmarshal_kind(v: &Value) -> &'static str {
    match v {
        Value::Object(_) => "object",
        Value::Array(_) => "array",
        Value::String(_) => "string",
        Value::Number(_) => "number",
        Value::Bool(_) => "bool",
        Value::Null => "null",
    }
}

/// `json: cannot unmarshal <kind> into Go value of type <ty>`.
pub fn type_error(v: &Value, go_type: &str) -> String {
    format!("json: cannot unmarshal {} into Go value of type {go_type}", unmarshal_kind(v))
}

/// Whether a number decodes to `int64` under `UnmarshalCaseSensitivePreserveInts`.
pub fn is_go_int(v: &Value) -> bool {
    v.is_i64() || v.is_u64()
}

/// `reflect.TypeOf(v)` as `%s` prints it for a decoded JSON value.
pub fn go_type_name(v: &Value) -> &'static str {
    match v {
        Value::Object(_) => "map[string]interface {}",
        Value::Array(_) => "[]interface {}",
        Value::String(_) => "string",
        Value::Number(_) if is_go_int(v) => "int64",
        Value::Number(_) => "float64",
        Value::Bool(_) => "bool",
        Value::Null => "%!s(<nil>)",
    }
}

/// Whether two decoded values have the same Go dynamic type.
pub fn same_go_type(a: &Value, b: &Value) -> bool {
    go_type_name(a) == go_type_name(b)
}

/// `fmt.Sprintf("%v", v)` of a decoded JSON value.
pub fn fmt_v(v: &Value) -> String {
    let mut out = String::new();
    write_v(&mut out, v);
    out
}

/// `%v` of a `[]interface{}`.
pub fn fmt_v_list(items: &[Value]) -> String {
    let mut out = String::from("[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        write_v(&mut out, item);
    }
    out.push(']');
    out
}

fn write_v(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("<nil>"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::String(s) => out.push_str(s),
        Value::Number(n) if is_go_int(v) => out.push_str(&n.to_string()),
        Value::Number(n) => out.push_str(&go_float(n.as_f64().unwrap_or(0.0))),
        Value::Array(items) => out.push_str(&fmt_v_list(items)),
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push_str("map[");
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(k);
                out.push(':');
                write_v(out, &map[k.as_str()]);
            }
            out.push(']');
        }
    }
}

pub use crate::gofmt::format_float as go_float;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn formats_like_go() {
        let v = json!({"b": [1, 2.5, "x", null, true], "a": {"k": 1e21}});
        assert_eq!(fmt_v(&v), "map[a:map[k:1e+21] b:[1 2.5 x <nil> true]]");
        assert_eq!(go_float(1_000_000.0), "1e+06");
        assert_eq!(go_float(123_456.0), "123456");
        assert_eq!(go_float(0.0001), "0.0001");
        assert_eq!(go_float(0.00001), "1e-05");
        assert_eq!(go_type_name(&json!(1)), "int64");
        assert_eq!(go_type_name(&json!(1.5)), "float64");
    }

    #[test]
    fn syntax_messages() {
        assert_eq!(check_syntax(b"{\"a\":1}"), Ok(()));
        assert_eq!(check_syntax(b" [1, {\"b\": [true, false, null]}] "), Ok(()));
        let err = |s: &[u8]| check_syntax(s).unwrap_err();
        assert_eq!(err(b"{\"a\":1,}"), "invalid character '}' looking for beginning of object key string");
        assert_eq!(err(b"[1,]"), "invalid character ']' looking for beginning of value");
        assert_eq!(err(b"\"\\x\""), "invalid character 'x' in string escape code");
        assert_eq!(err(b"\"\\u12g4\""), "invalid character 'g' in \\u hexadecimal character escape");
        assert_eq!(err(b"1e+"), UNEXPECTED_END);
        assert_eq!(err(b"1ex"), "invalid character 'x' in exponent of numeric literal");
        assert_eq!(err(b"01"), "invalid character '1' after top-level value");
        assert_eq!(err(b"nul"), UNEXPECTED_END);
        assert_eq!(err("\u{feff}{}".as_bytes()), "invalid character 'ï' looking for beginning of value");
    }
}
