// ---------------------------------------------------------------------------
// Go-compatible message formatting
// ---------------------------------------------------------------------------

pub(crate) use crate::gofmt::quote as go_quote;

/// Go's `%#v` of a `[]string`; an empty list is the nil slice upstream passes.
pub(crate) fn go_string_slice(values: &[String]) -> String {
    if values.is_empty() {
        return "[]string(nil)".to_string();
    }
    let quoted: Vec<String> = values.iter().map(|v| go_quote(v)).collect();
    format!("[]string{{{}}}", quoted.join(", "))
}

/// `field.Invalid(path, value, detail).Error()` for a string value.
pub(crate) fn invalid_value(path: &str, value: &str, detail: &str) -> String {
    format!("{}: Invalid value: {}: {}", path, go_quote(value), detail)
}

/// `field.Invalid(path, values, detail).Error()` for a `[]string` value.
pub(crate) fn invalid_values(path: &str, values: &[String], detail: &str) -> String {
    format!("{}: Invalid value: {}: {}", path, go_string_slice(values), detail)
}

/// `field.ErrorList.ToAggregate().Error()`: duplicates dropped, one error
/// printed bare, several as `[a, b]`.
pub(crate) fn aggregate(errors: Vec<String>) -> String {
    let mut unique: Vec<String> = Vec::new();
    for e in errors {
        if !unique.contains(&e) {
            unique.push(e);
        }
    }
    if unique.len() == 1 {
        return unique.remove(0);
    }
    format!("[{}]", unique.join(", "))
}

// ---------------------------------------------------------------------------
// Name validation (k8s.io/apimachinery/pkg/util/validation)
// ---------------------------------------------------------------------------

pub(crate) const QUALIFIED_NAME_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
pub(crate) const QUALIFIED_NAME_ERR_MSG: &str = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
pub(crate) const QUALIFIED_NAME_MAX_LENGTH: usize = 63;
pub(crate) const LABEL_VALUE_FMT: &str = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
pub(crate) const LABEL_VALUE_ERR_MSG: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
pub(crate) const LABEL_VALUE_MAX_LENGTH: usize = 63;
pub(crate) const DNS1123_SUBDOMAIN_FMT: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
pub(crate) const DNS1123_SUBDOMAIN_ERR_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
pub(crate) const DNS1123_SUBDOMAIN_MAX_LENGTH: usize = 253;

/// `validation.RegexError`.
pub(crate) fn regex_error(msg: &str, fmt: &str, examples: &[&str]) -> String {
    if examples.is_empty() {
        return format!("{} (regex used for validation is '{}')", msg, fmt);
    }
    let mut out = format!("{} (e.g. ", msg);
    for (i, example) in examples.iter().enumerate() {
        if i > 0 {
            out.push_str(" or ");
        }
        out.push_str(&format!("'{}', ", example));
    }
    out.push_str(&format!("regex used for validation is '{}')", fmt));
    out
}

pub(crate) fn max_len_error(length: usize) -> String {
    format!("must be no more than {} characters", length)
}

pub(crate) fn qualified_name_regex_error() -> String {
    regex_error(QUALIFIED_NAME_ERR_MSG, QUALIFIED_NAME_FMT, &["MyName", "my.name", "123-abc"])
}

/// Matches `^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$`.
pub(crate) fn matches_qualified_name(s: &str) -> bool {
    let bytes = s.as_bytes();
    let (Some(first), Some(last)) = (bytes.first(), bytes.last()) else {
        return false;
    };
    let inner_ok = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.');
    first.is_ascii_alphanumeric() && last.is_ascii_alphanumeric() && bytes.iter().all(inner_ok)
}

/// Matches `^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`.
pub(crate) fn matches_dns1123_label(s: &str) -> bool {
    let bytes = s.as_bytes();
    let (Some(first), Some(last)) = (bytes.first(), bytes.last()) else {
        return false;
    };
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    alnum(first) && alnum(last) && bytes.iter().all(|b| alnum(b) || *b == b'-')
}

/// `validation.IsDNS1123Subdomain`.
pub(crate) fn dns1123_subdomain_errors(value: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if value.len() > DNS1123_SUBDOMAIN_MAX_LENGTH {
        errors.push(max_len_error(DNS1123_SUBDOMAIN_MAX_LENGTH));
    }
    if !value.split('.').all(matches_dns1123_label) {
        errors.push(regex_error(DNS1123_SUBDOMAIN_ERR_MSG, DNS1123_SUBDOMAIN_FMT, &["example.com"]));
    }
    errors
}

/// `validation.IsQualifiedName`.
pub(crate) fn qualified_name_errors(value: &str) -> Vec<String> {
    let parts: Vec<&str> = value.split('/').collect();
    let (prefix, name) = match parts.as_slice() {
        [name] => (None, *name),
        [prefix, name] => (Some(*prefix), *name),
        _ => {
            return vec![format!(
                "a qualified name {} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
                qualified_name_regex_error()
            )]
        }
    };
    let mut errors = prefix.map(prefix_part_errors).unwrap_or_default();
    errors.extend(name_part_errors(name));
    errors
}

pub(crate) fn prefix_part_errors(prefix: &str) -> Vec<String> {
    if prefix.is_empty() {
        return vec!["prefix part must be non-empty".to_string()];
    }
    dns1123_subdomain_errors(prefix).into_iter().map(|e| format!("prefix part {}", e)).collect()
}

pub(crate) fn name_part_errors(name: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if name.is_empty() {
        errors.push("name part must be non-empty".to_string());
    } else if name.len() > QUALIFIED_NAME_MAX_LENGTH {
        errors.push(format!("name part {}", max_len_error(QUALIFIED_NAME_MAX_LENGTH)));
    }
    if !matches_qualified_name(name) {
        errors.push(format!("name part {}", qualified_name_regex_error()));
    }
    errors
}

/// `validation.IsValidLabelValue`.
pub(crate) fn label_value_errors(value: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if value.len() > LABEL_VALUE_MAX_LENGTH {
        errors.push(max_len_error(LABEL_VALUE_MAX_LENGTH));
    }
    if !value.is_empty() && !matches_qualified_name(value) {
        errors.push(regex_error(LABEL_VALUE_ERR_MSG, LABEL_VALUE_FMT, &["MyValue", "my_value", "12345"]));
    }
    errors
}

/// `labels.validateLabelKey`: one field error at `path`, or none.
pub(crate) fn label_key_error(key: &str, path: &str) -> Option<String> {
    let errors = qualified_name_errors(key);
    (!errors.is_empty()).then(|| invalid_value(path, key, &errors.join("; ")))
}
