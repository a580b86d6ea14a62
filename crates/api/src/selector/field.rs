#![allow(clippy::wildcard_imports)]
use super::*;

// ---------------------------------------------------------------------------
// FieldSelector
// ---------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FieldTerm {
    field: String,
    value: String,
    negated: bool,
}

/// A parsed field selector (`metadata.name=x,status.phase!=Running`; operators
/// `=`, `==`, `!=`; `\,` `\=` `\\` escape the value as upstream).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct FieldSelector {
    terms: Vec<FieldTerm>,
}

impl FieldSelector {
    /// `fields.ParseSelector`. Terms are kept sorted by their raw text, as
    /// upstream; a term with an empty field and value (`=`) selects everything.
    pub fn parse(s: &str) -> Result<FieldSelector, String> {
        let mut parts = split_terms(s);
        parts.sort();
        let mut terms = Vec::new();
        for part in parts.into_iter().filter(|p| !p.is_empty()) {
            let term = parse_term(s, part)?;
            if !(term.field.is_empty() && term.value.is_empty()) {
                terms.push(term);
            }
        }
        Ok(FieldSelector { terms })
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// The field names used, to check them against what the resource supports.
    pub fn fields(&self) -> Vec<&str> {
        self.terms.iter().map(|t| t.field.as_str()).collect()
    }

    /// `get` returns the object's value for a field name (None = absent, read as "").
    pub fn matches(&self, get: &dyn Fn(&str) -> Option<String>) -> bool {
        self.terms.iter().all(|t| {
            let actual = get(&t.field).unwrap_or_default();
            (actual == t.value) != t.negated
        })
    }

    /// `RequiresExactMatch`: the value of the first `field=X` term on `field`.
    pub fn exact(&self, field: &str) -> Option<&str> {
        self.terms.iter().find(|t| !t.negated && t.field == field).map(|t| t.value.as_str())
    }

    /// What the API server does before matching (`Transform` through the kind's
    /// field label conversion): every field must be supported by the resource
    /// (else upstream's exact 400 message, for the first bad term), and legacy or
    /// version-specific spellings become their canonical label (pods `spec.host`
    /// → `spec.nodeName`; events.k8s.io `regarding.*` → `involvedObject.*`,
    /// `reportingController` → `reportingComponent`). `field_value` reads both spellings.
    pub fn for_resource(&self, group: &str, version: &str, resource: &str) -> Result<FieldSelector, String> {
        let mut terms = Vec::with_capacity(self.terms.len());
        for term in &self.terms {
            if let Some(message) = field_label_error(group, version, resource, &term.field) {
                return Err(message);
            }
            let field = canonical_field_label(group, resource, &term.field).to_string();
            terms.push(FieldTerm { field, ..term.clone() });
        }
        Ok(FieldSelector { terms })
    }
}

impl fmt::Display for FieldSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let terms: Vec<String> = self
            .terms
            .iter()
            .map(|t| format!("{}{}{}", t.field, if t.negated { "!=" } else { "=" }, escape_field_value(&t.value)))
            .collect();
        write!(f, "{}", terms.join(","))
    }
}

/// `fields.EscapeValue`.
pub fn escape_field_value(value: &str) -> String {
    value.replace('\\', "\\\\").replace(',', "\\,").replace('=', "\\=")
}

/// `fields.splitTerms`: split on commas not escaped by a backslash.
pub(crate) fn split_terms(selector: &str) -> Vec<&str> {
    if selector.is_empty() {
        return Vec::new();
    }
    let mut terms = Vec::new();
    let mut start = 0;
    let mut in_slash = false;
    for (i, c) in selector.char_indices() {
        if in_slash {
            in_slash = false;
        } else if c == '\\' {
            in_slash = true;
        } else if c == ',' {
            terms.push(&selector[start..i]);
            start = i + 1;
        }
    }
    terms.push(&selector[start..]);
    terms
}

/// `fields.splitTerm`: split at the first operator (`!=`, `==`, `=`, checked in that order).
pub(crate) fn split_term(term: &str) -> Option<(&str, &str, &str)> {
    for (i, _) in term.char_indices() {
        let rest = &term[i..];
        for op in ["!=", "==", "="] {
            if let Some(value) = rest.strip_prefix(op) {
                return Some((&term[..i], op, value));
            }
        }
    }
    None
}

pub(crate) fn parse_term(selector: &str, part: &str) -> Result<FieldTerm, String> {
    let Some((field, op, raw_value)) = split_term(part) else {
        return Err(format!("invalid selector: '{}'; can't understand '{}'", selector, part));
    };
    let value = unescape_field_value(raw_value)?;
    Ok(FieldTerm { field: field.to_string(), value, negated: op == "!=" })
}

/// `fields.UnescapeValue`: only `\\`, `\,` and `\=` are escapes; bare `,` and `=` are errors.
pub(crate) fn unescape_field_value(s: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut in_slash = false;
    for c in s.chars() {
        if in_slash {
            if !matches!(c, '\\' | ',' | '=') {
                return Err(format!("invalid field selector: invalid escape sequence: \\{}", c));
            }
            out.push(c);
            in_slash = false;
            continue;
        }
        match c {
            '\\' => in_slash = true,
            ',' | '=' => return Err(format!("invalid field selector: unescaped character in value: {}", c as u32)),
            _ => out.push(c),
        }
    }
    if in_slash {
        return Err("invalid field selector: invalid escape sequence: \\".to_string());
    }
    Ok(out)
}
