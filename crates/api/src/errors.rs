//! Field errors as upstream's `field.Error`, and their rendering into `Invalid` Status
//! causes and messages.

use serde_json::Value;

/// Upstream's `field.ErrorType`, rendered by `as_str` exactly as Go prints it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorType {
    NotFound,
    Required,
    Duplicate,
    Invalid,
    NotSupported,
    Forbidden,
    TooLong,
    TooMany,
    Internal,
    TypeInvalid,
}

impl ErrorType {
    /// The text Go's `ErrorType.String()` returns (used in messages).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorType::NotFound => "Not found",
            ErrorType::Required => "Required value",
            ErrorType::Duplicate => "Duplicate value",
            ErrorType::Invalid => "Invalid value",
            ErrorType::NotSupported => "Unsupported value",
            ErrorType::Forbidden => "Forbidden",
            ErrorType::TooLong => "Too long",
            ErrorType::TooMany => "Too many",
            ErrorType::Internal => "Internal error",
            ErrorType::TypeInvalid => "Invalid value",
        }
    }

    /// The `reason` of a StatusCause (`metav1.CauseType`).
    pub fn cause_type(self) -> &'static str {
        match self {
            ErrorType::NotFound => "FieldValueNotFound",
            ErrorType::Required => "FieldValueRequired",
            ErrorType::Duplicate => "FieldValueDuplicate",
            ErrorType::Invalid => "FieldValueInvalid",
            ErrorType::NotSupported => "FieldValueNotSupported",
            ErrorType::Forbidden => "FieldValueForbidden",
            ErrorType::TooLong => "FieldValueTooLong",
            ErrorType::TooMany => "FieldValueTooMany",
            ErrorType::Internal => "InternalError",
            ErrorType::TypeInvalid => "FieldValueTypeInvalid",
        }
    }
}

/// One validation failure at a field path such as `spec.containers[0].image`.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    pub error_type: ErrorType,
    pub field: String,
    /// The offending value, if upstream prints it (`Invalid value: "x": ...`).
    pub bad_value: Option<Value>,
    pub detail: String,
}

impl FieldError {
    pub fn required(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self { error_type: ErrorType::Required, field: field.into(), bad_value: None, detail: detail.into() }
    }
    pub fn invalid(field: impl Into<String>, value: Value, detail: impl Into<String>) -> Self {
        Self { error_type: ErrorType::Invalid, field: field.into(), bad_value: Some(value), detail: detail.into() }
    }
    pub fn forbidden(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self { error_type: ErrorType::Forbidden, field: field.into(), bad_value: None, detail: detail.into() }
    }
    pub fn duplicate(field: impl Into<String>, value: Value) -> Self {
        Self { error_type: ErrorType::Duplicate, field: field.into(), bad_value: Some(value), detail: String::new() }
    }
    pub fn not_found(field: impl Into<String>, value: Value) -> Self {
        Self { error_type: ErrorType::NotFound, field: field.into(), bad_value: Some(value), detail: String::new() }
    }
    pub fn too_long(field: impl Into<String>, value: Value, max: usize) -> Self {
        Self {
            error_type: ErrorType::TooLong,
            field: field.into(),
            bad_value: Some(value),
            detail: format!("must have at most {max} bytes"),
        }
    }
    /// `Unsupported value: "x": supported values: "a", "b"`.
    pub fn not_supported(field: impl Into<String>, value: Value, valid: &[&str]) -> Self {
        let detail = if valid.is_empty() {
            String::new()
        } else {
            let quoted: Vec<String> = valid.iter().map(|v| format!("\"{v}\"")).collect();
            format!("supported values: {}", quoted.join(", "))
        };
        Self { error_type: ErrorType::NotSupported, field: field.into(), bad_value: Some(value), detail }
    }

    /// The cause message, as Go's `(*field.Error).ErrorBody()` renders it.
    pub fn body(&self) -> String {
        let mut s = self.error_type.as_str().to_string();
        let omit_value = matches!(
            self.error_type,
            ErrorType::Required | ErrorType::Forbidden | ErrorType::TooLong | ErrorType::Internal
        );
        if let (false, Some(v)) = (omit_value, &self.bad_value) {
            s.push_str(": ");
            s.push_str(&go_value_string(v));
        }
        if !self.detail.is_empty() {
            s.push_str(": ");
            s.push_str(&self.detail);
        }
        s
    }

    /// `field: body`, as Go's `(*field.Error).Error()`.
    pub fn message(&self) -> String {
        format!("{}: {}", self.field, self.body())
    }
}

/// How Go's `%#v`-ish formatting in field errors shows a value: strings quoted, numbers
/// and booleans bare, anything else as JSON.
pub fn go_value_string(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}

/// Joins field errors the way `errors.NewInvalid` does for the Status message:
/// a single error bare, several in `[a, b]`.
pub fn aggregate_message(errs: &[FieldError]) -> String {
    let msgs: Vec<String> = errs.iter().map(|e| e.message()).collect();
    if msgs.len() == 1 {
        msgs[0].clone()
    } else {
        format!("[{}]", msgs.join(", "))
    }
}
