//! Label and field selectors as k8s.io/apimachinery parses and matches them
//! (`pkg/labels/selector.go`, `pkg/fields/selector.go`), plus the per-kind field
//! labels the API server accepts (the `AddFieldLabelConversionFunc` funcs in
//! `pkg/apis/*/*/conversion.go`) and the values it matches them against (the
//! registry strategies' `GetAttrs` / `ToSelectableFields`).
//!
//! Error texts are upstream's, byte for byte, including Go's `%q` / `%#v` quoting.

use serde_json::{Map, Value};
use std::fmt;

// ---------------------------------------------------------------------------
// Go-compatible message formatting
// ---------------------------------------------------------------------------

/// Go's `strconv.Quote` (what `%q` prints).
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        push_go_escaped(&mut out, c);
    }
    out.push('"');
    out
}

fn push_go_escaped(out: &mut String, c: char) {
    match c {
        '"' => out.push_str("\\\""),
        '\\' => out.push_str("\\\\"),
        '\u{7}' => out.push_str("\\a"),
        '\u{8}' => out.push_str("\\b"),
        '\u{c}' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\u{b}' => out.push_str("\\v"),
        c if is_go_printable(c) => out.push(c),
        c if (c as u32) < 0x80 => out.push_str(&format!("\\x{:02x}", c as u32)),
        c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
        c => out.push_str(&format!("\\U{:08x}", c as u32)),
    }
}

/// Approximates Go's `strconv.IsPrint`: letters, marks, numbers, punctuation,
/// symbols and the ASCII space.
fn is_go_printable(c: char) -> bool {
    if c.is_ascii() {
        return c == ' ' || c.is_ascii_graphic();
    }
    let u = c as u32;
    let format_or_private = matches!(u,
        0xAD | 0x200B..=0x200F | 0x2028..=0x202E | 0x2060..=0x206F
        | 0xFEFF | 0xFFF9..=0xFFFB | 0xE000..=0xF8FF | 0xFFFE | 0xFFFF);
    !c.is_control() && !c.is_whitespace() && !format_or_private
}

/// Go's `%#v` of a `[]string`; an empty list is the nil slice upstream passes.
fn go_string_slice(values: &[String]) -> String {
    if values.is_empty() {
        return "[]string(nil)".to_string();
    }
    let quoted: Vec<String> = values.iter().map(|v| go_quote(v)).collect();
    format!("[]string{{{}}}", quoted.join(", "))
}

/// `field.Invalid(path, value, detail).Error()` for a string value.
fn invalid_value(path: &str, value: &str, detail: &str) -> String {
    format!("{}: Invalid value: {}: {}", path, go_quote(value), detail)
}

/// `field.Invalid(path, values, detail).Error()` for a `[]string` value.
fn invalid_values(path: &str, values: &[String], detail: &str) -> String {
    format!("{}: Invalid value: {}: {}", path, go_string_slice(values), detail)
}

/// `field.ErrorList.ToAggregate().Error()`: duplicates dropped, one error
/// printed bare, several as `[a, b]`.
fn aggregate(errors: Vec<String>) -> String {
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

const QUALIFIED_NAME_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const QUALIFIED_NAME_ERR_MSG: &str = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const QUALIFIED_NAME_MAX_LENGTH: usize = 63;
const LABEL_VALUE_FMT: &str = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
const LABEL_VALUE_ERR_MSG: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_MAX_LENGTH: usize = 63;
const DNS1123_SUBDOMAIN_FMT: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const DNS1123_SUBDOMAIN_ERR_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
const DNS1123_SUBDOMAIN_MAX_LENGTH: usize = 253;

/// `validation.RegexError`.
fn regex_error(msg: &str, fmt: &str, examples: &[&str]) -> String {
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

fn max_len_error(length: usize) -> String {
    format!("must be no more than {} characters", length)
}

fn qualified_name_regex_error() -> String {
    regex_error(QUALIFIED_NAME_ERR_MSG, QUALIFIED_NAME_FMT, &["MyName", "my.name", "123-abc"])
}

/// Matches `^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$`.
fn matches_qualified_name(s: &str) -> bool {
    let bytes = s.as_bytes();
    let (Some(first), Some(last)) = (bytes.first(), bytes.last()) else {
        return false;
    };
    let inner_ok = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.');
    first.is_ascii_alphanumeric() && last.is_ascii_alphanumeric() && bytes.iter().all(inner_ok)
}

/// Matches `^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`.
fn matches_dns1123_label(s: &str) -> bool {
    let bytes = s.as_bytes();
    let (Some(first), Some(last)) = (bytes.first(), bytes.last()) else {
        return false;
    };
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    alnum(first) && alnum(last) && bytes.iter().all(|b| alnum(b) || *b == b'-')
}

/// `validation.IsDNS1123Subdomain`.
fn dns1123_subdomain_errors(value: &str) -> Vec<String> {
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
fn qualified_name_errors(value: &str) -> Vec<String> {
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

fn prefix_part_errors(prefix: &str) -> Vec<String> {
    if prefix.is_empty() {
        return vec!["prefix part must be non-empty".to_string()];
    }
    dns1123_subdomain_errors(prefix).into_iter().map(|e| format!("prefix part {}", e)).collect()
}

fn name_part_errors(name: &str) -> Vec<String> {
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
fn label_value_errors(value: &str) -> Vec<String> {
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
fn label_key_error(key: &str, path: &str) -> Option<String> {
    let errors = qualified_name_errors(key);
    (!errors.is_empty()).then(|| invalid_value(path, key, &errors.join("; ")))
}

// ---------------------------------------------------------------------------
// Label requirements
// ---------------------------------------------------------------------------

/// `selection.Operator` as label selectors use it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operator {
    In,
    NotIn,
    Equals,
    DoubleEquals,
    NotEquals,
    GreaterThan,
    LessThan,
    Exists,
    DoesNotExist,
}

/// The binary operators in upstream's order, as its "expected:" message lists them.
const BINARY_OPERATORS: &str = "in, notin, =, ==, !=, gt, lt";

/// One `key op values` term of a label selector (`labels.Requirement`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Requirement {
    key: String,
    operator: Operator,
    values: Vec<String>,
}

impl Requirement {
    /// `labels.NewRequirement` (no field path): validates the key, the value
    /// count for the operator, integer values for Gt/Lt and every value as a label value.
    pub fn new(key: &str, operator: Operator, values: Vec<String>) -> Result<Requirement, String> {
        let mut errors: Vec<String> = label_key_error(key, "key").into_iter().collect();
        errors.extend(operator_value_errors(operator, &values));
        errors.extend(values_label_errors(key, &values));
        if !errors.is_empty() {
            return Err(aggregate(errors));
        }
        Ok(Requirement { key: key.to_string(), operator, values })
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    pub fn operator(&self) -> Operator {
        self.operator
    }

    pub fn values(&self) -> &[String] {
        &self.values
    }

    /// `Requirement.Matches`: `!=` and `notin` also match a missing label.
    pub fn matches(&self, labels: Option<&Map<String, Value>>) -> bool {
        let value = labels.and_then(|l| l.get(&self.key)).map(|v| v.as_str().unwrap_or(""));
        match (self.operator, value) {
            (Operator::Exists, found) => found.is_some(),
            (Operator::DoesNotExist, found) => found.is_none(),
            (Operator::NotIn | Operator::NotEquals, None) => true,
            (Operator::NotIn | Operator::NotEquals, Some(v)) => !self.has_value(v),
            (_, None) => false,
            (Operator::GreaterThan | Operator::LessThan, Some(v)) => self.compares(v),
            (_, Some(v)) => self.has_value(v),
        }
    }

    fn has_value(&self, value: &str) -> bool {
        self.values.iter().any(|v| v == value)
    }

    /// Gt/Lt: both sides must be base-10 int64s, else no match.
    fn compares(&self, label_value: &str) -> bool {
        let (Ok(actual), [wanted]) = (label_value.parse::<i64>(), self.values.as_slice()) else {
            return false;
        };
        let Ok(wanted) = wanted.parse::<i64>() else {
            return false;
        };
        match self.operator {
            Operator::GreaterThan => actual > wanted,
            _ => actual < wanted,
        }
    }
}

fn operator_value_errors(operator: Operator, values: &[String]) -> Vec<String> {
    let count_error = |detail: &str| vec![invalid_values("values", values, detail)];
    match operator {
        Operator::In | Operator::NotIn if values.is_empty() => {
            count_error("for 'in', 'notin' operators, values set can't be empty")
        }
        Operator::Equals | Operator::DoubleEquals | Operator::NotEquals if values.len() != 1 => {
            count_error("exact-match compatibility requires one single value")
        }
        Operator::Exists | Operator::DoesNotExist if !values.is_empty() => {
            count_error("values set must be empty for exists and does not exist")
        }
        Operator::GreaterThan | Operator::LessThan => integer_value_errors(values),
        _ => Vec::new(),
    }
}

fn integer_value_errors(values: &[String]) -> Vec<String> {
    let mut errors = Vec::new();
    if values.len() != 1 {
        errors.push(invalid_values("values", values, "for 'Gt', 'Lt' operators, exactly one value is required"));
    }
    for (i, value) in values.iter().enumerate() {
        if value.parse::<i64>().is_err() {
            let detail = "for 'Gt', 'Lt' operators, the value must be an integer";
            errors.push(invalid_value(&format!("values[{}]", i), value, detail));
        }
    }
    errors
}

fn values_label_errors(key: &str, values: &[String]) -> Vec<String> {
    let mut errors = Vec::new();
    for (i, value) in values.iter().enumerate() {
        let problems = label_value_errors(value);
        if !problems.is_empty() {
            errors.push(invalid_value(&format!("values[{}][{}]", i, key), value, &problems.join("; ")));
        }
    }
    errors
}

impl fmt::Display for Requirement {
    /// `Requirement.String()`; multiple values print sorted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut values = self.values.clone();
        values.sort();
        let joined = values.join(",");
        match self.operator {
            Operator::Exists => write!(f, "{}", self.key),
            Operator::DoesNotExist => write!(f, "!{}", self.key),
            Operator::Equals => write!(f, "{}={}", self.key, joined),
            Operator::DoubleEquals => write!(f, "{}=={}", self.key, joined),
            Operator::NotEquals => write!(f, "{}!={}", self.key, joined),
            Operator::GreaterThan => write!(f, "{}>{}", self.key, joined),
            Operator::LessThan => write!(f, "{}<{}", self.key, joined),
            Operator::In => write!(f, "{} in ({})", self.key, joined),
            Operator::NotIn => write!(f, "{} notin ({})", self.key, joined),
        }
    }
}

// ---------------------------------------------------------------------------
// Label selector lexer (a faithful port of upstream's byte-wise state machine)
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Token {
    Error,
    EndOfString,
    ClosedPar,
    Comma,
    DoesNotExist,
    DoubleEquals,
    Equals,
    GreaterThan,
    Identifier,
    In,
    LessThan,
    NotEquals,
    NotIn,
    OpenPar,
}

fn symbol_token(s: &str) -> Option<Token> {
    Some(match s {
        ")" => Token::ClosedPar,
        "," => Token::Comma,
        "!" => Token::DoesNotExist,
        "==" => Token::DoubleEquals,
        "=" => Token::Equals,
        ">" => Token::GreaterThan,
        "<" => Token::LessThan,
        "!=" => Token::NotEquals,
        "(" => Token::OpenPar,
        "in" => Token::In,
        "notin" => Token::NotIn,
        _ => return None,
    })
}

fn is_whitespace(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_special_symbol(b: u8) -> bool {
    matches!(b, b'=' | b'!' | b'(' | b')' | b',' | b'>' | b'<')
}

struct Lexer<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Lexer<'a> {
    /// The next byte, or 0 at the end (a NUL byte in the input reads the same, as upstream).
    fn read(&mut self) -> u8 {
        match self.s.as_bytes().get(self.pos) {
            Some(&b) => {
                self.pos += 1;
                b
            }
            None => 0,
        }
    }

    fn unread(&mut self) {
        self.pos -= 1;
    }

    fn lex(&mut self) -> (Token, String) {
        let mut ch = self.read();
        while is_whitespace(ch) {
            ch = self.read();
        }
        if ch == 0 {
            return (Token::EndOfString, String::new());
        }
        self.unread();
        if is_special_symbol(ch) {
            self.scan_special_symbol()
        } else {
            self.scan_id_or_keyword()
        }
    }

    fn scan_id_or_keyword(&mut self) -> (Token, String) {
        let start = self.pos;
        let mut end = self.pos;
        loop {
            let ch = self.read();
            if ch == 0 {
                break;
            }
            if is_special_symbol(ch) || is_whitespace(ch) {
                self.unread();
                break;
            }
            end = self.pos;
        }
        let literal = &self.s[start..end];
        (symbol_token(literal).unwrap_or(Token::Identifier), literal.to_string())
    }

    /// The longest operator made of special symbols (`!=`, `==`, else one symbol).
    fn scan_special_symbol(&mut self) -> (Token, String) {
        let start = self.pos;
        let mut last: Option<(Token, usize)> = None;
        loop {
            let ch = self.read();
            if ch == 0 {
                break;
            }
            if !is_special_symbol(ch) {
                self.unread();
                break;
            }
            match symbol_token(&self.s[start..self.pos]) {
                Some(token) => last = Some((token, self.pos)),
                None if last.is_some() => {
                    self.unread();
                    break;
                }
                None => {}
            }
        }
        match last {
            Some((token, end)) => (token, self.s[start..end].to_string()),
            None => {
                let buffer: String = self.s[start..self.pos].chars().filter(|c| *c != '\0').collect();
                (Token::Error, format!("error expected: keyword found '{}'", buffer))
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Label selector parser
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    KeyAndOperator,
    Values,
}

struct Parser {
    items: Vec<(Token, String)>,
    position: usize,
}

impl Parser {
    fn new(selector: &str) -> Parser {
        let mut lexer = Lexer { s: selector, pos: 0 };
        let mut items = Vec::new();
        loop {
            let item = lexer.lex();
            let done = item.0 == Token::EndOfString;
            items.push(item);
            if done {
                return Parser { items, position: 0 };
            }
        }
    }

    /// In a values context the keywords `in`/`notin` are plain identifiers.
    fn token_in(context: Context, token: Token) -> Token {
        match (context, token) {
            (Context::Values, Token::In | Token::NotIn) => Token::Identifier,
            _ => token,
        }
    }

    fn lookahead(&self, context: Context) -> (Token, String) {
        let (token, literal) = self.items.get(self.position).cloned().unwrap_or((Token::EndOfString, String::new()));
        (Self::token_in(context, token), literal)
    }

    fn consume(&mut self, context: Context) -> (Token, String) {
        let item = self.lookahead(context);
        self.position += 1;
        item
    }

    fn parse(&mut self) -> Result<Vec<Requirement>, String> {
        let mut requirements = Vec::new();
        loop {
            let (token, literal) = self.lookahead(Context::Values);
            match token {
                Token::Identifier | Token::DoesNotExist => {
                    let requirement = self.parse_requirement().map_err(|e| format!("unable to parse requirement: {}", e))?;
                    requirements.push(requirement);
                    if self.parse_separator()? {
                        return Ok(requirements);
                    }
                }
                Token::EndOfString => return Ok(requirements),
                _ => return Err(format!("found '{}', expected: !, identifier, or 'end of string'", literal)),
            }
        }
    }

    /// After a requirement: `Ok(true)` at the end, `Ok(false)` after a comma.
    fn parse_separator(&mut self) -> Result<bool, String> {
        let (token, literal) = self.consume(Context::Values);
        match token {
            Token::EndOfString => Ok(true),
            Token::Comma => {
                let (next, next_literal) = self.lookahead(Context::Values);
                if next != Token::Identifier && next != Token::DoesNotExist {
                    return Err(format!("found '{}', expected: identifier after ','", next_literal));
                }
                Ok(false)
            }
            _ => Err(format!("found '{}', expected: ',' or 'end of string'", literal)),
        }
    }

    fn parse_requirement(&mut self) -> Result<Requirement, String> {
        let (key, inferred) = self.parse_key_and_infer_operator()?;
        if let Some(operator) = inferred {
            return Requirement::new(&key, operator, Vec::new());
        }
        let operator = self.parse_operator()?;
        let values = match operator {
            Operator::In | Operator::NotIn => self.parse_values()?,
            _ => self.parse_exact_value()?,
        };
        Requirement::new(&key, operator, values)
    }

    /// The key, and `Exists`/`DoesNotExist` when no binary operator follows.
    fn parse_key_and_infer_operator(&mut self) -> Result<(String, Option<Operator>), String> {
        let (mut token, mut literal) = self.consume(Context::Values);
        let negated = token == Token::DoesNotExist;
        if negated {
            (token, literal) = self.consume(Context::Values);
        }
        if token != Token::Identifier {
            return Err(format!("found '{}', expected: identifier", literal));
        }
        if let Some(error) = label_key_error(&literal, "<nil>") {
            return Err(error);
        }
        if negated {
            return Ok((literal, Some(Operator::DoesNotExist)));
        }
        let (next, _) = self.lookahead(Context::Values);
        let ends = next == Token::EndOfString || next == Token::Comma;
        Ok((literal, ends.then_some(Operator::Exists)))
    }

    fn parse_operator(&mut self) -> Result<Operator, String> {
        let (token, literal) = self.consume(Context::KeyAndOperator);
        Ok(match token {
            Token::In => Operator::In,
            Token::Equals => Operator::Equals,
            Token::DoubleEquals => Operator::DoubleEquals,
            Token::GreaterThan => Operator::GreaterThan,
            Token::LessThan => Operator::LessThan,
            Token::NotIn => Operator::NotIn,
            Token::NotEquals => Operator::NotEquals,
            _ => return Err(format!("found '{}', expected: {}", literal, BINARY_OPERATORS)),
        })
    }

    /// `(a,b,...)`: a sorted set; `()` and empty slots mean the empty string.
    fn parse_values(&mut self) -> Result<Vec<String>, String> {
        let (token, literal) = self.consume(Context::Values);
        if token != Token::OpenPar {
            return Err(format!("found '{}' expected: '('", literal));
        }
        let (token, literal) = self.lookahead(Context::Values);
        match token {
            Token::Identifier | Token::Comma => {
                let values = self.parse_identifiers_list()?;
                if self.consume(Context::Values).0 != Token::ClosedPar {
                    return Err(format!("found '{}', expected: ')'", literal));
                }
                Ok(values)
            }
            Token::ClosedPar => {
                self.consume(Context::Values);
                Ok(vec![String::new()])
            }
            _ => Err(format!("found '{}', expected: ',', ')' or identifier", literal)),
        }
    }

    fn parse_identifiers_list(&mut self) -> Result<Vec<String>, String> {
        let mut values: Vec<String> = Vec::new();
        loop {
            let (token, literal) = self.consume(Context::Values);
            match token {
                Token::Identifier => {
                    values.push(literal);
                    let (next, next_literal) = self.lookahead(Context::Values);
                    match next {
                        Token::Comma => continue,
                        Token::ClosedPar => return Ok(sorted_set(values)),
                        _ => return Err(format!("found '{}', expected: ',' or ')'", next_literal)),
                    }
                }
                Token::Comma => {
                    if values.is_empty() {
                        values.push(String::new());
                    }
                    match self.lookahead(Context::Values).0 {
                        Token::ClosedPar => {
                            values.push(String::new());
                            return Ok(sorted_set(values));
                        }
                        Token::Comma => {
                            self.consume(Context::Values);
                            values.push(String::new());
                        }
                        _ => {}
                    }
                }
                _ => return Err(format!("found '{}', expected: ',', or identifier", literal)),
            }
        }
    }

    fn parse_exact_value(&mut self) -> Result<Vec<String>, String> {
        let (next, _) = self.lookahead(Context::Values);
        if next == Token::EndOfString || next == Token::Comma {
            return Ok(vec![String::new()]);
        }
        let (token, literal) = self.consume(Context::Values);
        if token == Token::Identifier {
            return Ok(vec![literal]);
        }
        Err(format!("found '{}', expected: identifier", literal))
    }
}

/// `sets.String.List()`: sorted, without duplicates.
fn sorted_set(mut values: Vec<String>) -> Vec<String> {
    values.sort();
    values.dedup();
    values
}

// ---------------------------------------------------------------------------
// LabelSelector
// ---------------------------------------------------------------------------

/// A parsed label selector string (`a=b,c!=d,e in (x,y),f notin (z),g,!h,i>3,i<5`),
/// or upstream's `Nothing()` selector.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct LabelSelector {
    requirements: Vec<Requirement>,
    nothing: bool,
}

impl LabelSelector {
    /// `labels.Parse`; the error text is upstream's (a LIST answers it as a 400 BadRequest).
    pub fn parse(s: &str) -> Result<LabelSelector, String> {
        let requirements = Parser::new(s).parse()?;
        Ok(Self::from_requirements(requirements))
    }

    /// Matches every object.
    pub fn everything() -> LabelSelector {
        LabelSelector::default()
    }

    /// Matches no object (`labels.Nothing()`: what a nil metav1.LabelSelector means).
    pub fn nothing() -> LabelSelector {
        LabelSelector { requirements: Vec::new(), nothing: true }
    }

    /// True when the selector does not restrict anything (false for `nothing()`).
    pub fn is_empty(&self) -> bool {
        !self.nothing && self.requirements.is_empty()
    }

    /// True for the `nothing()` selector.
    pub fn matches_nothing(&self) -> bool {
        self.nothing
    }

    pub fn requirements(&self) -> &[Requirement] {
        &self.requirements
    }

    /// `labels`: the object's metadata.labels (may be absent/null).
    pub fn matches(&self, labels: Option<&Map<String, Value>>) -> bool {
        !self.nothing && self.requirements.iter().all(|r| r.matches(labels))
    }

    /// `RequiresExactMatch`: the value a `key=v`, `key==v` or `key in (v)` term
    /// (the first term on that key) requires.
    pub fn exact(&self, key: &str) -> Option<&str> {
        let requirement = self.requirements.iter().find(|r| r.key == key)?;
        match (requirement.operator, requirement.values.as_slice()) {
            (Operator::Equals | Operator::DoubleEquals | Operator::In, [value]) => Some(value),
            _ => None,
        }
    }

    /// `metav1.LabelSelectorAsSelector` on a metav1.LabelSelector JSON object
    /// (`{matchLabels, matchExpressions}`): absent/null gives `nothing()`, an
    /// empty one `everything()`.
    pub fn from_label_selector(v: Option<&Value>) -> Result<LabelSelector, String> {
        let object = match v {
            None | Some(Value::Null) => return Ok(Self::nothing()),
            Some(Value::Object(object)) => object,
            Some(_) => return Err("label selector must be an object".to_string()),
        };
        let match_labels = json_object_field(object, "matchLabels")?;
        let expressions = json_array_field(object, "matchExpressions")?;
        let mut requirements = match_labels_requirements(match_labels)?;
        for expression in expressions {
            requirements.push(expression_requirement(expression)?);
        }
        Ok(Self::from_requirements(requirements))
    }

    /// Requirements sorted by key, as upstream keeps them.
    fn from_requirements(mut requirements: Vec<Requirement>) -> LabelSelector {
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        LabelSelector { requirements, nothing: false }
    }
}

impl fmt::Display for LabelSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let terms: Vec<String> = self.requirements.iter().map(|r| r.to_string()).collect();
        write!(f, "{}", terms.join(","))
    }
}

fn json_object_field<'a>(object: &'a Map<String, Value>, name: &str) -> Result<Option<&'a Map<String, Value>>, String> {
    match object.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) => Ok(Some(map)),
        Some(_) => Err(format!("label selector {} must be an object", name)),
    }
}

fn json_array_field<'a>(object: &'a Map<String, Value>, name: &str) -> Result<&'a [Value], String> {
    match object.get(name) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(format!("label selector {} must be an array", name)),
    }
}

fn json_string<'a>(value: Option<&'a Value>, what: &str) -> Result<&'a str, String> {
    match value {
        None | Some(Value::Null) => Ok(""),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(format!("label selector {} must be a string", what)),
    }
}

fn match_labels_requirements(labels: Option<&Map<String, Value>>) -> Result<Vec<Requirement>, String> {
    let mut requirements = Vec::new();
    for (key, value) in labels.into_iter().flatten() {
        let value = json_string(Some(value), "matchLabels value")?;
        requirements.push(Requirement::new(key, Operator::Equals, vec![value.to_string()])?);
    }
    Ok(requirements)
}

fn expression_requirement(expression: &Value) -> Result<Requirement, String> {
    let Value::Object(fields) = expression else {
        return Err("label selector matchExpressions items must be objects".to_string());
    };
    let key = json_string(fields.get("key"), "matchExpressions key")?;
    let operator = expression_operator(json_string(fields.get("operator"), "matchExpressions operator")?)?;
    let mut values = Vec::new();
    for value in json_array_field(fields, "values")? {
        values.push(json_string(Some(value), "matchExpressions value")?.to_string());
    }
    Requirement::new(key, operator, values)
}

fn expression_operator(operator: &str) -> Result<Operator, String> {
    match operator {
        "In" => Ok(Operator::In),
        "NotIn" => Ok(Operator::NotIn),
        "Exists" => Ok(Operator::Exists),
        "DoesNotExist" => Ok(Operator::DoesNotExist),
        other => Err(format!("{} is not a valid label selector operator", go_quote(other))),
    }
}

// ---------------------------------------------------------------------------
// FieldSelector
// ---------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Eq)]
struct FieldTerm {
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
fn split_terms(selector: &str) -> Vec<&str> {
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
fn split_term(term: &str) -> Option<(&str, &str, &str)> {
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

fn parse_term(selector: &str, part: &str) -> Result<FieldTerm, String> {
    let Some((field, op, raw_value)) = split_term(part) else {
        return Err(format!("invalid selector: '{}'; can't understand '{}'", selector, part));
    };
    let value = unescape_field_value(raw_value)?;
    Ok(FieldTerm { field: field.to_string(), value, negated: op == "!=" })
}

/// `fields.UnescapeValue`: only `\\`, `\,` and `\=` are escapes; bare `,` and `=` are errors.
fn unescape_field_value(s: &str) -> Result<String, String> {
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

// ---------------------------------------------------------------------------
// Per-kind field labels (conversion funcs) and values (GetAttrs)
// ---------------------------------------------------------------------------

/// How a kind's conversion func words its rejection of a field label.
#[derive(Clone, Copy)]
enum Rejection {
    /// `runtime.DefaultMetaV1FieldSelectorConversion` (kinds with no conversion func).
    DefaultMeta,
    /// `field label not supported: X` (most conversion funcs, and custom resources).
    NotSupported,
    /// batch/v1 Job: `field label "X" not supported for Job`.
    Job,
    /// resource.k8s.io: `field label not supported for <group>/<version>, Kind=<kind>: X`.
    WithGroupVersionKind(&'static str),
}

struct KindFieldLabels {
    group: &'static str,
    resource: &'static str,
    accepted: &'static [&'static str],
    rejection: Rejection,
}

const DEFAULT_FIELD_LABELS: &[&str] = &["metadata.name", "metadata.namespace"];

/// Every built-in kind with its own field label conversion func in 1.33
/// (everything else, apps/v1 included, gets `DEFAULT_FIELD_LABELS`).
const KIND_FIELD_LABELS: &[KindFieldLabels] = &[
    KindFieldLabels {
        group: "",
        resource: "pods",
        accepted: &[
            "metadata.name",
            "metadata.namespace",
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.podIPs",
            "status.nominatedNodeName",
            "spec.host",
        ],
        rejection: Rejection::NotSupported,
    },
    KindFieldLabels {
        group: "",
        resource: "nodes",
        accepted: &["metadata.name", "spec.unschedulable"],
        rejection: Rejection::NotSupported,
    },
    KindFieldLabels {
        group: "",
        resource: "replicationcontrollers",
        accepted: &["metadata.name", "metadata.namespace", "status.replicas"],
        rejection: Rejection::NotSupported,
    },
    KindFieldLabels {
        group: "",
        resource: "events",
        accepted: &[
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
            "metadata.namespace",
            "metadata.name",
        ],
        rejection: Rejection::NotSupported,
    },
    KindFieldLabels {
        group: "",
        resource: "namespaces",
        accepted: &["status.phase", "metadata.name"],
        rejection: Rejection::NotSupported,
    },
    KindFieldLabels {
        group: "",
        resource: "secrets",
        accepted: &["type", "metadata.namespace", "metadata.name"],
        rejection: Rejection::NotSupported,
    },
    KindFieldLabels {
        group: "",
        resource: "services",
        accepted: &["metadata.namespace", "metadata.name", "spec.clusterIP", "spec.type"],
        rejection: Rejection::NotSupported,
    },
    KindFieldLabels {
        group: "batch",
        resource: "jobs",
        accepted: &["metadata.name", "metadata.namespace", "status.successful"],
        rejection: Rejection::Job,
    },
    KindFieldLabels {
        group: "certificates.k8s.io",
        resource: "certificatesigningrequests",
        accepted: &["metadata.name", "spec.signerName"],
        rejection: Rejection::NotSupported,
    },
    KindFieldLabels {
        group: "certificates.k8s.io",
        resource: "clustertrustbundles",
        accepted: &["metadata.name", "spec.signerName"],
        rejection: Rejection::NotSupported,
    },
    KindFieldLabels {
        group: "events.k8s.io",
        resource: "events",
        accepted: &[
            "reason",
            "regarding.kind",
            "regarding.namespace",
            "regarding.name",
            "regarding.uid",
            "regarding.apiVersion",
            "regarding.resourceVersion",
            "regarding.fieldPath",
            "reportingController",
            "source",
            "type",
            "metadata.namespace",
            "metadata.name",
        ],
        rejection: Rejection::NotSupported,
    },
    KindFieldLabels {
        group: "resource.k8s.io",
        resource: "resourceslices",
        accepted: &["metadata.name", "spec.nodeName", "spec.driver"],
        rejection: Rejection::WithGroupVersionKind("ResourceSlice"),
    },
];

fn kind_field_labels(group: &str, resource: &str) -> Option<&'static KindFieldLabels> {
    KIND_FIELD_LABELS.iter().find(|k| k.group == group && k.resource == resource)
}

/// Every field label the resource accepts in a field selector — the complete
/// list, `metadata.name` and (where accepted) `metadata.namespace` included.
/// Kinds without their own conversion func accept exactly those two (cluster-scoped
/// ones too: upstream then matches `metadata.namespace` against ""); nodes,
/// namespaces, CSRs, ClusterTrustBundles and ResourceSlices reject `metadata.namespace`.
/// Custom resources are not covered: see `custom_resource_field_error`.
pub fn supported_fields(group: &str, resource: &str) -> &'static [&'static str] {
    kind_field_labels(group, resource).map_or(DEFAULT_FIELD_LABELS, |k| k.accepted)
}

/// `None` if the built-in resource accepts `field`, else the exact message of
/// upstream's 400 for it (the text depends on the kind's conversion func;
/// `version` only shows in resource.k8s.io's).
pub fn field_label_error(group: &str, version: &str, resource: &str, field: &str) -> Option<String> {
    let kind = kind_field_labels(group, resource);
    let accepted = kind.map_or(DEFAULT_FIELD_LABELS, |k| k.accepted);
    if accepted.contains(&field) {
        return None;
    }
    let rejection = kind.map_or(Rejection::DefaultMeta, |k| k.rejection);
    Some(rejection_message(rejection, group, version, field))
}

fn rejection_message(rejection: Rejection, group: &str, version: &str, field: &str) -> String {
    match rejection {
        Rejection::DefaultMeta => format!(
            "{} is not a known field selector: only \"metadata.name\", \"metadata.namespace\"",
            go_quote(field)
        ),
        Rejection::NotSupported => unsupported_field_message(field),
        Rejection::Job => format!("field label {} not supported for Job", go_quote(field)),
        Rejection::WithGroupVersionKind(kind) => {
            format!("field label not supported for {}/{}, Kind={}: {}", group, version, kind, field)
        }
    }
}

/// `field label not supported: <field>` — the text of most built-in kinds'
/// conversion funcs and of every custom resource. For a built-in resource use
/// `field_label_error`, whose text varies by kind as upstream's does.
pub fn unsupported_field_message(field: &str) -> String {
    format!("field label not supported: {}", field)
}

/// Upstream's custom-resource rule (apiextensions `crConverter.ConvertFieldLabel`):
/// `metadata.name`, `metadata.namespace` if namespaced, and the CRD version's
/// `selectableFields` paths; anything else is `field label not supported: X`.
pub fn custom_resource_field_error(namespaced: bool, selectable_fields: &[&str], field: &str) -> Option<String> {
    let accepted = field == "metadata.name"
        || (namespaced && field == "metadata.namespace")
        || selectable_fields.contains(&field);
    (!accepted).then(|| unsupported_field_message(field))
}

/// The label upstream matches after conversion (legacy/version-specific spellings
/// renamed); any other label is returned unchanged.
pub fn canonical_field_label<'a>(group: &str, resource: &str, field: &'a str) -> &'a str {
    match (group, resource, field) {
        ("", "pods", "spec.host") => "spec.nodeName",
        ("events.k8s.io", "events", "reportingController") => "reportingComponent",
        ("events.k8s.io", "events", f) if f.starts_with("regarding.") => match f {
            "regarding.kind" => "involvedObject.kind",
            "regarding.namespace" => "involvedObject.namespace",
            "regarding.name" => "involvedObject.name",
            "regarding.uid" => "involvedObject.uid",
            "regarding.apiVersion" => "involvedObject.apiVersion",
            "regarding.resourceVersion" => "involvedObject.resourceVersion",
            "regarding.fieldPath" => "involvedObject.fieldPath",
            other => other,
        },
        _ => field,
    }
}

/// The value upstream's `GetAttrs` gives a supported field of an object (JSON as
/// served), e.g. pods `spec.hostNetwork` as "true"/"false", counts as decimal.
/// Accepts both the client spelling and the canonical label. `None` for fields
/// the kind does not set (read as "" when matching) — including pods
/// `status.podIPs`, which upstream accepts but never sets.
pub fn field_value(group: &str, resource: &str, obj: &Value, field: &str) -> Option<String> {
    if field == "metadata.name" || field == "metadata.namespace" {
        return string_at(obj, field);
    }
    match (group, resource) {
        ("", "pods") => pod_field_value(obj, field),
        ("", "nodes") => node_field_value(obj, field),
        ("", "replicationcontrollers") => (field == "status.replicas").then(|| int_at(obj, field)),
        ("", "events") | ("events.k8s.io", "events") => event_field_value(obj, field),
        ("", "namespaces") => pick(obj, field, &["status.phase"]),
        ("", "secrets") => pick(obj, field, &["type"]),
        ("", "services") => pick(obj, field, &["spec.clusterIP", "spec.type"]),
        ("batch", "jobs") => (field == "status.successful").then(|| int_at(obj, "status.succeeded")),
        ("certificates.k8s.io", "certificatesigningrequests" | "clustertrustbundles") => {
            pick(obj, field, &["spec.signerName"])
        }
        ("resource.k8s.io", "resourceslices") => pick(obj, field, &["spec.nodeName", "spec.driver"]),
        _ => None,
    }
}

/// The value at a dotted path, if it is one of `allowed`.
fn pick(obj: &Value, field: &str, allowed: &[&str]) -> Option<String> {
    allowed.contains(&field).then(|| string_at(obj, field)).flatten()
}

fn value_at<'a>(obj: &'a Value, dotted: &str) -> Option<&'a Value> {
    dotted.split('.').try_fold(obj, |v, key| v.get(key))
}

/// A scalar at a dotted path, as text (numbers in decimal, booleans as true/false).
fn string_at(obj: &Value, dotted: &str) -> Option<String> {
    match value_at(obj, dotted)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// `strconv.FormatBool` of a bool field that defaults to false.
fn bool_at(obj: &Value, dotted: &str) -> String {
    value_at(obj, dotted).and_then(Value::as_bool).unwrap_or(false).to_string()
}

/// `strconv.Itoa` of an integer field that defaults to 0.
fn int_at(obj: &Value, dotted: &str) -> String {
    value_at(obj, dotted).and_then(Value::as_i64).unwrap_or(0).to_string()
}

fn non_empty_string_at(obj: &Value, dotted: &str) -> Option<String> {
    string_at(obj, dotted).filter(|s| !s.is_empty())
}

fn pod_field_value(obj: &Value, field: &str) -> Option<String> {
    match field {
        "spec.nodeName" | "spec.host" => string_at(obj, "spec.nodeName"),
        "spec.hostNetwork" => Some(bool_at(obj, "spec.hostNetwork")),
        "status.podIP" => Some(pod_primary_ip(obj)),
        "spec.restartPolicy" | "spec.schedulerName" | "spec.serviceAccountName" | "status.phase"
        | "status.nominatedNodeName" => string_at(obj, field),
        _ => None,
    }
}

/// Upstream reads `status.podIPs[0].ip` (the served `status.podIP` mirrors it).
fn pod_primary_ip(obj: &Value) -> String {
    let first = value_at(obj, "status.podIPs").and_then(|ips| ips.get(0)).and_then(|ip| ip.get("ip"));
    match first.and_then(Value::as_str) {
        Some(ip) => ip.to_string(),
        None => string_at(obj, "status.podIP").unwrap_or_default(),
    }
}

fn node_field_value(obj: &Value, field: &str) -> Option<String> {
    (field == "spec.unschedulable").then(|| bool_at(obj, field))
}

/// Events: reads both the core/v1 shape (`involvedObject`, `reportingComponent`,
/// `source`) and the events.k8s.io/v1 one (`regarding`, `reportingController`,
/// `deprecatedSource`), since both groups serve the same objects.
fn event_field_value(obj: &Value, field: &str) -> Option<String> {
    let field = canonical_field_label("events.k8s.io", "events", field);
    if let Some(attribute) = field.strip_prefix("involvedObject.") {
        return first_string(obj, &[&format!("involvedObject.{}", attribute), &format!("regarding.{}", attribute)]);
    }
    match field {
        "reason" | "type" => string_at(obj, field),
        "reportingComponent" => Some(event_reporting_component(obj)),
        "source" => Some(event_source(obj)),
        _ => None,
    }
}

fn first_string(obj: &Value, paths: &[&str]) -> Option<String> {
    paths.iter().find_map(|p| non_empty_string_at(obj, p)).or_else(|| string_at(obj, paths[0]))
}

fn event_reporting_component(obj: &Value) -> String {
    first_string(obj, &["reportingComponent", "reportingController"]).unwrap_or_default()
}

/// `source.component`, falling back to the reporting controller.
fn event_source(obj: &Value) -> String {
    non_empty_string_at(obj, "source.component")
        .or_else(|| non_empty_string_at(obj, "deprecatedSource.component"))
        .unwrap_or_else(|| event_reporting_component(obj))
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labels(pairs: &[(&str, &str)]) -> Map<String, Value> {
        pairs.iter().map(|(k, v)| (k.to_string(), Value::String(v.to_string()))).collect()
    }

    fn matches(selector: &str, pairs: &[(&str, &str)]) -> bool {
        let sel = LabelSelector::parse(selector).unwrap_or_else(|e| panic!("{selector}: {e}"));
        sel.matches(Some(&labels(pairs)))
    }

    fn parse_err(selector: &str) -> String {
        LabelSelector::parse(selector).expect_err(selector)
    }

    fn tokens(s: &str) -> Vec<Token> {
        let mut lexer = Lexer { s, pos: 0 };
        let mut out = Vec::new();
        loop {
            let (token, _) = lexer.lex();
            if token == Token::EndOfString {
                return out;
            }
            out.push(token);
        }
    }

    const NAME_PART_REGEX: &str = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
    const LABEL_VALUE_REGEX: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

    // --- lexer ---

    #[test]
    fn selector_lexer_single_tokens() {
        let cases = [
            ("", Token::EndOfString),
            (",", Token::Comma),
            ("notin", Token::NotIn),
            ("in", Token::In),
            ("=", Token::Equals),
            ("==", Token::DoubleEquals),
            (">", Token::GreaterThan),
            ("<", Token::LessThan),
            ("!", Token::DoesNotExist),
            ("!=", Token::NotEquals),
            ("(", Token::OpenPar),
            (")", Token::ClosedPar),
            ("~", Token::Identifier),
            ("||", Token::Identifier),
        ];
        for (s, want) in cases {
            let (token, literal) = Lexer { s, pos: 0 }.lex();
            assert_eq!(token, want, "{s:?}");
            assert_eq!(literal, s, "{s:?}");
        }
    }

    #[test]
    fn selector_lexer_sequences() {
        use Token::*;
        assert_eq!(tokens("key in ( value1, value2 )"), [Identifier, In, OpenPar, Identifier, Comma, Identifier, ClosedPar]);
        assert_eq!(tokens("!key"), [DoesNotExist, Identifier]);
        assert_eq!(tokens("x in (),y"), [Identifier, In, OpenPar, ClosedPar, Comma, Identifier]);
        assert_eq!(tokens("== != (), = notin"), [DoubleEquals, NotEquals, OpenPar, ClosedPar, Comma, Equals, NotIn]);
        assert_eq!(tokens("key>2"), [Identifier, GreaterThan, Identifier]);
        assert_eq!(tokens("a=!b"), [Identifier, Equals, DoesNotExist, Identifier]);
        assert_eq!(tokens("a===b"), [Identifier, DoubleEquals, Equals, Identifier]);
    }

    // --- label parsing ---

    #[test]
    fn selector_label_good_strings_round_trip() {
        for s in ["x=a,y=b,z=c", "", "x!=a,y=b", "x=", "x= ", "x=,z= ", "x= ,z= ", "!x", "x>1", "x>1,z<5"] {
            let sel = LabelSelector::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"));
            assert_eq!(sel.to_string(), s.replace(' ', ""), "{s}");
        }
    }

    #[test]
    fn selector_label_bad_strings() {
        for s in ["x=a||y=b", "x==a==b", "!x=a", "x<a", "x,,y", ",x,y", "x nott in (y)", "a in (xyz),",
            "a in (xyz)b notin ()", "a in (xyz abc)", "a notin(", "a (", "(", "x=(a)"] {
            assert!(LabelSelector::parse(s).is_err(), "{s} should fail");
        }
    }

    #[test]
    fn selector_label_set_parsing() {
        let cases = [
            ("\rx", "x"),
            ("this-is-a-dns.domain.com/key-with-dash", "this-is-a-dns.domain.com/key-with-dash"),
            ("0.1.2.domain/99 notin (10.10.100.1, tick.tack.clock)", "0.1.2.domain/99 notin (10.10.100.1,tick.tack.clock)"),
            ("foo  in\t (abc)", "foo in (abc)"),
            ("x notin\n (abc)", "x notin (abc)"),
            ("x in (abc,)", "x in (,abc)"),
            ("x in ()", "x in ()"),
            ("x notin (abc,,def),bar,z in (),w", "bar,w,x notin (,abc,def),z in ()"),
            ("x notin ( )", "x notin ()"),
            ("x notin (, a)", "x notin (,a)"),
            ("a ", "a"),
            ("a in (x,y,notin, z,in)", "a in (in,notin,x,y,z)"),
            ("notin=in", "notin=in"),
            ("x in (b,a,b)", "x in (a,b)"),
        ];
        for (input, want) in cases {
            let sel = LabelSelector::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
            assert_eq!(sel.to_string(), want, "{input:?}");
        }
    }

    #[test]
    fn selector_label_nul_byte_behaves_like_upstream() {
        // Upstream's lexer reads a NUL byte as its end-of-input marker.
        assert!(LabelSelector::parse("\0a=b").unwrap().is_empty());
        assert_eq!(LabelSelector::parse("a\0").unwrap().to_string(), "a");
        assert_eq!(parse_err("a\0b"), "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt");
    }

    #[test]
    fn selector_label_parse_is_deterministic() {
        let a = LabelSelector::parse("x=a,a=x").unwrap();
        let b = LabelSelector::parse("a=x,x=a").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.to_string(), "a=x,x=a");
    }

    #[test]
    fn selector_label_empty_selects_everything() {
        for s in ["", "   ", "\t\n"] {
            let sel = LabelSelector::parse(s).unwrap();
            assert!(sel.is_empty());
            assert!(sel.matches(None));
            assert!(sel.matches(Some(&labels(&[("x", "y")]))));
        }
    }

    #[test]
    fn selector_label_structural_errors() {
        assert_eq!(parse_err("a,"), "found '', expected: identifier after ','");
        assert_eq!(parse_err(",a"), "found ',', expected: !, identifier, or 'end of string'");
        assert_eq!(parse_err("x=a=b"), "found '=', expected: ',' or 'end of string'");
        // The value is validated (inside the requirement) before the stray '=' is seen.
        assert_eq!(
            parse_err("x=a||y=b"),
            format!("unable to parse requirement: values[0][x]: Invalid value: \"a||y\": {LABEL_VALUE_REGEX}")
        );
        assert_eq!(parse_err("!x=a"), "found '=', expected: ',' or 'end of string'");
        assert_eq!(parse_err("a in (xyz)b"), "found 'b', expected: ',' or 'end of string'");
        assert_eq!(parse_err("!"), "unable to parse requirement: found '', expected: identifier");
        assert_eq!(parse_err("a b"), "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt");
        assert_eq!(parse_err("a !"), "unable to parse requirement: found '!', expected: in, notin, =, ==, !=, gt, lt");
        assert_eq!(parse_err("a in x"), "unable to parse requirement: found 'x' expected: '('");
        assert_eq!(parse_err("a in ("), "unable to parse requirement: found '', expected: ',', ')' or identifier");
        assert_eq!(parse_err("a in (x y)"), "unable to parse requirement: found 'y', expected: ',' or ')'");
        assert_eq!(parse_err("a in (x,="), "unable to parse requirement: found '=', expected: ',', or identifier");
        assert_eq!(parse_err("x=(a)"), "unable to parse requirement: found '(', expected: identifier");
    }

    #[test]
    fn selector_label_key_errors() {
        assert_eq!(
            parse_err("a@b=c"),
            format!("unable to parse requirement: <nil>: Invalid value: \"a@b\": {NAME_PART_REGEX}")
        );
        assert_eq!(
            parse_err("/a"),
            "unable to parse requirement: <nil>: Invalid value: \"/a\": prefix part must be non-empty"
        );
        assert_eq!(
            parse_err("Foo.com/a"),
            "unable to parse requirement: <nil>: Invalid value: \"Foo.com/a\": prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
        );
        assert_eq!(
            parse_err("a/b/c"),
            "unable to parse requirement: <nil>: Invalid value: \"a/b/c\": a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        );
        assert_eq!(
            parse_err("example.com/"),
            format!("unable to parse requirement: <nil>: Invalid value: \"example.com/\": name part must be non-empty; {NAME_PART_REGEX}")
        );
        let long = "a".repeat(64);
        assert_eq!(
            parse_err(&long),
            format!("unable to parse requirement: <nil>: Invalid value: \"{long}\": name part must be no more than 63 characters")
        );
        assert!(LabelSelector::parse(&"a".repeat(63)).is_ok());
        assert!(LabelSelector::parse(&format!("{}/a", "b".repeat(253))).is_ok());
        assert!(parse_err(&format!("{}/a", "b".repeat(254))).contains("prefix part must be no more than 253 characters"));
    }

    #[test]
    fn selector_label_value_errors() {
        assert_eq!(
            parse_err("x=a@b"),
            format!("unable to parse requirement: values[0][x]: Invalid value: \"a@b\": {LABEL_VALUE_REGEX}")
        );
        let long = "v".repeat(64);
        assert_eq!(
            parse_err(&format!("x={long}")),
            format!("unable to parse requirement: values[0][x]: Invalid value: \"{long}\": must be no more than 63 characters")
        );
        assert!(LabelSelector::parse(&format!("x={}", "v".repeat(63))).is_ok());
        // Values are sorted before validation, so the index is the sorted position.
        assert_eq!(
            parse_err("x in (b,-a)"),
            format!("unable to parse requirement: values[0][x]: Invalid value: \"-a\": {LABEL_VALUE_REGEX}")
        );
        assert_eq!(
            parse_err("x in (a,b-)"),
            format!("unable to parse requirement: values[1][x]: Invalid value: \"b-\": {LABEL_VALUE_REGEX}")
        );
    }

    #[test]
    fn selector_label_gt_lt_need_integers() {
        assert_eq!(
            parse_err("x<a"),
            "unable to parse requirement: values[0]: Invalid value: \"a\": for 'Gt', 'Lt' operators, the value must be an integer"
        );
        assert_eq!(
            parse_err("x>"),
            "unable to parse requirement: values[0]: Invalid value: \"\": for 'Gt', 'Lt' operators, the value must be an integer"
        );
        // A negative number fails label-value validation ('-' cannot start a value).
        assert_eq!(
            parse_err("x>-1"),
            format!("unable to parse requirement: values[0][x]: Invalid value: \"-1\": {LABEL_VALUE_REGEX}")
        );
        assert_eq!(
            parse_err("x>a.b-"),
            format!("unable to parse requirement: [values[0]: Invalid value: \"a.b-\": for 'Gt', 'Lt' operators, the value must be an integer, values[0][x]: Invalid value: \"a.b-\": {LABEL_VALUE_REGEX}]")
        );
        assert!(LabelSelector::parse("x>99999999999999999999").is_err());
        assert!(LabelSelector::parse("x>9223372036854775807").is_ok());
    }

    #[test]
    fn selector_label_go_quoting_in_errors() {
        assert_eq!(
            parse_err("a\"b"),
            format!("unable to parse requirement: <nil>: Invalid value: \"a\\\"b\": {NAME_PART_REGEX}")
        );
        assert_eq!(
            parse_err("a\u{1}b"),
            format!("unable to parse requirement: <nil>: Invalid value: \"a\\x01b\": {NAME_PART_REGEX}")
        );
        assert_eq!(
            parse_err("é"),
            format!("unable to parse requirement: <nil>: Invalid value: \"é\": {NAME_PART_REGEX}")
        );
    }

    // --- label matching ---

    #[test]
    fn selector_label_matching() {
        assert!(matches("", &[("x", "y")]));
        assert!(matches("x=y", &[("x", "y")]));
        assert!(matches("x==y", &[("x", "y")]));
        assert!(matches("x=y,z=w", &[("x", "y"), ("z", "w")]));
        assert!(matches("x!=y,z!=w", &[("x", "z"), ("z", "a")]));
        assert!(matches("notin=in", &[("notin", "in")]));
        assert!(matches("x", &[("x", "z")]));
        assert!(matches("!x", &[("y", "z")]));
        assert!(matches("x>1", &[("x", "2")]));
        assert!(matches("x<1", &[("x", "0")]));
        assert!(matches("x<1", &[("x", "-5")]));
        assert!(!matches("x=z", &[]));
        assert!(!matches("x=y", &[("x", "z")]));
        assert!(!matches("x=y,z=w", &[("x", "w"), ("z", "w")]));
        assert!(!matches("x!=y,z!=w", &[("x", "z"), ("z", "w")]));
        assert!(!matches("x", &[("y", "z")]));
        assert!(!matches("!x", &[("x", "z")]));
        assert!(!matches("x>1", &[("x", "0")]));
        assert!(!matches("x<1", &[("x", "2")]));
        assert!(!matches("x>1", &[("x", "v2")]));
        assert!(!matches("x>1", &[]));
        assert!(!matches("x<1", &[]));
    }

    #[test]
    fn selector_label_set_matching() {
        assert!(matches("x in (foo),y notin (alpha)", &[("x", "foo"), ("y", "baz")]));
        assert!(!matches("x in (foo),y in (alpha)", &[("x", "foo"), ("y", "baz")]));
        assert!(matches("x notin (),y", &[("y", "")]));
        assert!(matches("!x,y", &[("y", "")]));
        assert!(!matches("x notin (),!y", &[("y", "")]));
        assert!(!matches("x in ()", &[("y", "baz")]));
        assert!(matches("x in ()", &[("x", "")]));
        assert!(matches("x=", &[("x", "")]));
        assert!(!matches("x=", &[]));
        assert!(matches("x!=", &[]));
    }

    #[test]
    fn selector_label_negations_match_missing_labels() {
        assert!(matches("env!=prod", &[]));
        assert!(matches("env notin (prod,dev)", &[("app", "x")]));
        let sel = LabelSelector::parse("env!=prod").unwrap();
        assert!(sel.matches(None));
        assert!(!LabelSelector::parse("env=prod").unwrap().matches(None));
    }

    #[test]
    fn selector_label_exact_match() {
        let sel = LabelSelector::parse("a in (x),b=y,c==z,d!=w,e in (p,q)").unwrap();
        assert_eq!(sel.exact("a"), Some("x"));
        assert_eq!(sel.exact("b"), Some("y"));
        assert_eq!(sel.exact("c"), Some("z"));
        assert_eq!(sel.exact("d"), None);
        assert_eq!(sel.exact("e"), None);
        assert_eq!(sel.exact("f"), None);
    }

    // --- metav1.LabelSelector ---

    #[test]
    fn selector_from_label_selector_nil_and_empty() {
        let nothing = LabelSelector::from_label_selector(None).unwrap();
        assert!(!nothing.is_empty());
        assert!(nothing.matches_nothing());
        assert!(!nothing.matches(Some(&labels(&[("a", "b")]))));
        assert!(!nothing.matches(None));
        let null = LabelSelector::from_label_selector(Some(&Value::Null)).unwrap();
        assert!(null.matches_nothing());
        let empty = LabelSelector::from_label_selector(Some(&json!({}))).unwrap();
        assert!(empty.is_empty());
        assert!(empty.matches(None));
        let empty_parts = json!({"matchLabels": {}, "matchExpressions": []});
        assert!(LabelSelector::from_label_selector(Some(&empty_parts)).unwrap().is_empty());
    }

    #[test]
    fn selector_from_label_selector_matching() {
        let v = json!({
            "matchLabels": {"app": "web"},
            "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["fe", "be"]},
                {"key": "env", "operator": "NotIn", "values": ["prod"]},
                {"key": "team", "operator": "Exists"},
                {"key": "legacy", "operator": "DoesNotExist", "values": []}
            ]
        });
        let sel = LabelSelector::from_label_selector(Some(&v)).unwrap();
        assert_eq!(sel.to_string(), "app=web,env notin (prod),!legacy,team,tier in (be,fe)");
        assert!(sel.matches(Some(&labels(&[("app", "web"), ("tier", "fe"), ("team", "a")]))));
        assert!(!sel.matches(Some(&labels(&[("app", "web"), ("tier", "fe"), ("team", "a"), ("env", "prod")]))));
        assert!(!sel.matches(Some(&labels(&[("app", "web"), ("tier", "fe"), ("team", "a"), ("legacy", "")]))));
        assert!(!sel.matches(Some(&labels(&[("app", "web"), ("tier", "x"), ("team", "a")]))));
    }

    #[test]
    fn selector_from_label_selector_errors() {
        let err = |v: Value| LabelSelector::from_label_selector(Some(&v)).unwrap_err();
        assert_eq!(
            err(json!({"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]})),
            "\"Gt\" is not a valid label selector operator"
        );
        assert_eq!(
            err(json!({"matchExpressions": [{"key": "a", "operator": "In"}]})),
            "values: Invalid value: []string(nil): for 'in', 'notin' operators, values set can't be empty"
        );
        assert_eq!(
            err(json!({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x", "y"]}]})),
            "values: Invalid value: []string{\"x\", \"y\"}: values set must be empty for exists and does not exist"
        );
        assert_eq!(
            err(json!({"matchLabels": {"a b": "c"}})),
            format!("key: Invalid value: \"a b\": {NAME_PART_REGEX}")
        );
        assert_eq!(
            err(json!({"matchLabels": {"a": "c d"}})),
            format!("values[0][a]: Invalid value: \"c d\": {LABEL_VALUE_REGEX}")
        );
        assert_eq!(
            err(json!({"matchExpressions": [{"key": "-k", "operator": "In", "values": ["ok", "-bad"]}]})),
            format!("[key: Invalid value: \"-k\": {NAME_PART_REGEX}, values[1][-k]: Invalid value: \"-bad\": {LABEL_VALUE_REGEX}]")
        );
        assert!(LabelSelector::from_label_selector(Some(&json!("x"))).is_err());
        assert!(LabelSelector::from_label_selector(Some(&json!({"matchLabels": {"a": 1}}))).is_err());
    }

    #[test]
    fn selector_requirement_constructor() {
        assert!(Requirement::new("x3", Operator::In, vec!["foo".into()]).is_ok());
        assert!(Requirement::new("x6", Operator::Exists, vec![]).is_ok());
        assert_eq!(
            Requirement::new("x5", Operator::Equals, vec!["bar".into(), "foo".into()]).unwrap_err(),
            "values: Invalid value: []string{\"bar\", \"foo\"}: exact-match compatibility requires one single value"
        );
        assert_eq!(
            Requirement::new("x13", Operator::GreaterThan, vec![]).unwrap_err(),
            "values: Invalid value: []string(nil): for 'Gt', 'Lt' operators, exactly one value is required"
        );
    }

    // --- field selectors ---

    fn field_get<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |f: &str| pairs.iter().find(|(k, _)| *k == f).map(|(_, v)| v.to_string())
    }

    fn field_matches(selector: &str, pairs: &[(&str, &str)]) -> bool {
        FieldSelector::parse(selector).unwrap().matches(&field_get(pairs))
    }

    #[test]
    fn selector_field_split_terms() {
        assert_eq!(split_terms("a"), ["a"]);
        assert_eq!(split_terms("a=avalue,b==bvalue,c!=cvalue"), ["a=avalue", "b==bvalue", "c!=cvalue"]);
        assert!(split_terms("").is_empty());
        assert_eq!(split_terms("a=a,"), ["a=a", ""]);
        assert_eq!(split_terms(",a=a"), ["", "a=a"]);
        assert_eq!(split_terms(r"k=\,,k2=v2"), [r"k=\,", "k2=v2"]);
        assert_eq!(split_terms(r"k=\\,k2=v2"), [r"k=\\", "k2=v2"]);
        assert_eq!(split_terms(r"k=\\\,,k2=v2"), [r"k=\\\,", "k2=v2"]);
        assert_eq!(split_terms(r"k=\a\b\"), [r"k=\a\b\"]);
        assert_eq!(split_terms("함=수,목=록"), ["함=수", "목=록"]);
    }

    #[test]
    fn selector_field_split_term() {
        assert_eq!(split_term("a=value"), Some(("a", "=", "value")));
        assert_eq!(split_term("b==value"), Some(("b", "==", "value")));
        assert_eq!(split_term("c!=value"), Some(("c", "!=", "value")));
        assert_eq!(split_term(""), None);
        assert_eq!(split_term("a"), None);
        assert_eq!(split_term(r"k=\\\a\b\=\,\"), Some(("k", "=", r"\\\a\b\=\,\")));
        assert_eq!(split_term("함=수"), Some(("함", "=", "수")));
    }

    #[test]
    fn selector_field_escaping() {
        for (raw, escaped) in [("", ""), ("a", "a"), ("=", r"\="), (",", r"\,"), ("\\", r"\\"), (r"\=\,\", r"\\\=\\\,\\")] {
            assert_eq!(escape_field_value(raw), escaped);
            assert_eq!(unescape_field_value(escaped).unwrap(), raw);
        }
        assert_eq!(unescape_field_value(r"\").unwrap_err(), r"invalid field selector: invalid escape sequence: \");
        assert_eq!(unescape_field_value(r"\\\").unwrap_err(), r"invalid field selector: invalid escape sequence: \");
        assert_eq!(unescape_field_value(r"\a").unwrap_err(), r"invalid field selector: invalid escape sequence: \a");
    }

    #[test]
    fn selector_field_parse_round_trip() {
        for s in ["x=a,y=b,z=c", "", "x!=a,y=b", r"x=a||y\=b", r"x=a\=\=b"] {
            assert_eq!(FieldSelector::parse(s).unwrap().to_string(), s);
        }
        let a = FieldSelector::parse("x=a,a=x").unwrap();
        assert_eq!(a, FieldSelector::parse("a=x,x=a").unwrap());
        assert_eq!(a.to_string(), "a=x,x=a");
        assert_eq!(FieldSelector::parse("x==a").unwrap().to_string(), "x=a");
    }

    #[test]
    fn selector_field_parse_errors() {
        let err = |s: &str| FieldSelector::parse(s).unwrap_err();
        assert_eq!(err("x=a||y=b"), "invalid field selector: unescaped character in value: 61");
        assert_eq!(err("x==a==b"), "invalid field selector: unescaped character in value: 61");
        assert_eq!(err("x=a,b"), "invalid selector: 'x=a,b'; can't understand 'b'");
        assert_eq!(err("x in (a)"), "invalid selector: 'x in (a)'; can't understand 'x in (a)'");
        assert_eq!(err("x"), "invalid selector: 'x'; can't understand 'x'");
        assert_eq!(err(r"x=a\b"), r"invalid field selector: invalid escape sequence: \b");
        // Terms are checked in sorted order.
        assert_eq!(err("b,a"), "invalid selector: 'b,a'; can't understand 'a'");
    }

    #[test]
    fn selector_field_empty_and_degenerate() {
        for s in ["", ",", "=", ",,=,"] {
            let sel = FieldSelector::parse(s).unwrap();
            assert!(sel.is_empty(), "{s:?}");
            assert!(sel.matches(&|_| None));
        }
        let sel = FieldSelector::parse("=x").unwrap();
        assert_eq!(sel.fields(), [""]);
        // Whitespace is not trimmed: it is part of the field name and the value.
        let sel = FieldSelector::parse(" metadata.name = a ").unwrap();
        assert_eq!(sel.fields(), [" metadata.name "]);
        assert_eq!(sel.exact(" metadata.name "), Some(" a "));
    }

    #[test]
    fn selector_field_matching() {
        assert!(field_matches("", &[("x", "y")]));
        assert!(field_matches("x=y", &[("x", "y")]));
        assert!(field_matches("x==y", &[("x", "y")]));
        assert!(field_matches("x=y,z=w", &[("x", "y"), ("z", "w")]));
        assert!(field_matches("x!=y,z!=w", &[("x", "z"), ("z", "a")]));
        assert!(!field_matches("x=y", &[("x", "z")]));
        assert!(!field_matches("x=y,z=w", &[("x", "w"), ("z", "w")]));
        assert!(!field_matches("x!=y,z!=w", &[("x", "z"), ("z", "w")]));
        assert!(field_matches("x=", &[]));
        assert!(field_matches("x!=y", &[]));
        assert!(!field_matches("x=y", &[]));
        assert!(field_matches(r"x=a\,b", &[("x", "a,b")]));
    }

    #[test]
    fn selector_field_exact_and_fields() {
        let sel = FieldSelector::parse("metadata.name=b,metadata.namespace=ns,status.phase!=Running").unwrap();
        assert_eq!(sel.exact("metadata.name"), Some("b"));
        assert_eq!(sel.exact("metadata.namespace"), Some("ns"));
        assert_eq!(sel.exact("status.phase"), None);
        assert_eq!(sel.fields(), ["metadata.name", "metadata.namespace", "status.phase"]);
        let twice = FieldSelector::parse("metadata.name=z,metadata.name=a").unwrap();
        assert_eq!(twice.exact("metadata.name"), Some("a"));
    }

    // --- field labels per kind ---

    #[test]
    fn selector_supported_fields() {
        let pods = supported_fields("", "pods");
        for f in ["metadata.name", "metadata.namespace", "spec.nodeName", "spec.host", "status.podIPs", "spec.hostNetwork"] {
            assert!(pods.contains(&f), "{f}");
        }
        assert_eq!(supported_fields("", "nodes"), ["metadata.name", "spec.unschedulable"]);
        assert_eq!(supported_fields("apps", "replicasets"), ["metadata.name", "metadata.namespace"]);
        assert_eq!(supported_fields("", "configmaps"), ["metadata.name", "metadata.namespace"]);
        assert!(supported_fields("batch", "jobs").contains(&"status.successful"));
        assert!(!supported_fields("", "namespaces").contains(&"metadata.namespace"));
        assert!(supported_fields("", "services").contains(&"spec.type"));
    }

    #[test]
    fn selector_field_label_errors() {
        assert_eq!(field_label_error("", "v1", "pods", "spec.nodeName"), None);
        assert_eq!(field_label_error("", "v1", "pods", "foo").unwrap(), "field label not supported: foo");
        assert_eq!(field_label_error("", "v1", "nodes", "metadata.namespace").unwrap(), "field label not supported: metadata.namespace");
        assert_eq!(
            field_label_error("", "v1", "configmaps", "foo").unwrap(),
            "\"foo\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\""
        );
        assert_eq!(
            field_label_error("apps", "v1", "replicasets", "status.replicas").unwrap(),
            "\"status.replicas\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\""
        );
        assert_eq!(field_label_error("", "v1", "persistentvolumes", "metadata.namespace"), None);
        assert_eq!(
            field_label_error("batch", "v1", "jobs", "spec.x").unwrap(),
            "field label \"spec.x\" not supported for Job"
        );
        assert_eq!(
            field_label_error("resource.k8s.io", "v1beta1", "resourceslices", "spec.pool").unwrap(),
            "field label not supported for resource.k8s.io/v1beta1, Kind=ResourceSlice: spec.pool"
        );
        assert_eq!(field_label_error("events.k8s.io", "v1", "events", "regarding.name"), None);
        assert!(field_label_error("events.k8s.io", "v1", "events", "involvedObject.name").is_some());
        assert_eq!(unsupported_field_message("foo"), "field label not supported: foo");
    }

    #[test]
    fn selector_custom_resource_field_errors() {
        assert_eq!(custom_resource_field_error(true, &[], "metadata.namespace"), None);
        assert_eq!(
            custom_resource_field_error(false, &[], "metadata.namespace").unwrap(),
            "field label not supported: metadata.namespace"
        );
        assert_eq!(custom_resource_field_error(true, &["spec.color"], "spec.color"), None);
        assert_eq!(custom_resource_field_error(true, &[], "spec.color").unwrap(), "field label not supported: spec.color");
    }

    #[test]
    fn selector_for_resource_validates_and_canonicalizes() {
        let sel = FieldSelector::parse("spec.host=n1,status.phase=Running").unwrap();
        let converted = sel.for_resource("", "v1", "pods").unwrap();
        assert_eq!(converted.fields(), ["spec.nodeName", "status.phase"]);
        assert_eq!(converted.exact("spec.nodeName"), Some("n1"));
        let bad = FieldSelector::parse("zzz=1,aaa=2,metadata.name=x").unwrap();
        assert_eq!(bad.for_resource("", "v1", "pods").unwrap_err(), "field label not supported: aaa");
        let empty_field = FieldSelector::parse("=x").unwrap();
        assert_eq!(empty_field.for_resource("", "v1", "pods").unwrap_err(), "field label not supported: ");
        let events = FieldSelector::parse("regarding.kind=Pod,reportingController=kubelet").unwrap();
        let converted = events.for_resource("events.k8s.io", "v1", "events").unwrap();
        assert_eq!(converted.fields(), ["involvedObject.kind", "reportingComponent"]);
    }

    #[test]
    fn selector_pod_field_values() {
        let pod = json!({
            "metadata": {"name": "p", "namespace": "ns"},
            "spec": {"nodeName": "n1", "restartPolicy": "Always", "schedulerName": "default-scheduler",
                     "serviceAccountName": "sa", "hostNetwork": true},
            "status": {"phase": "Running", "podIP": "10.0.0.1", "podIPs": [{"ip": "10.0.0.1"}, {"ip": "fd00::1"}],
                       "nominatedNodeName": "n2"}
        });
        let value = |f: &str| field_value("", "pods", &pod, f);
        assert_eq!(value("metadata.name").as_deref(), Some("p"));
        assert_eq!(value("metadata.namespace").as_deref(), Some("ns"));
        assert_eq!(value("spec.nodeName").as_deref(), Some("n1"));
        assert_eq!(value("spec.host").as_deref(), Some("n1"));
        assert_eq!(value("spec.hostNetwork").as_deref(), Some("true"));
        assert_eq!(value("spec.restartPolicy").as_deref(), Some("Always"));
        assert_eq!(value("spec.schedulerName").as_deref(), Some("default-scheduler"));
        assert_eq!(value("spec.serviceAccountName").as_deref(), Some("sa"));
        assert_eq!(value("status.phase").as_deref(), Some("Running"));
        assert_eq!(value("status.podIP").as_deref(), Some("10.0.0.1"));
        assert_eq!(value("status.nominatedNodeName").as_deref(), Some("n2"));
        assert_eq!(value("status.podIPs"), None);
        assert_eq!(value("spec.unknown"), None);

        let bare = json!({"metadata": {"name": "q"}});
        assert_eq!(field_value("", "pods", &bare, "spec.hostNetwork").as_deref(), Some("false"));
        assert_eq!(field_value("", "pods", &bare, "status.podIP").as_deref(), Some(""));
        let sel = FieldSelector::parse("spec.nodeName=").unwrap();
        assert!(sel.matches(&|f| field_value("", "pods", &bare, f)));
    }

    #[test]
    fn selector_other_kind_field_values() {
        let node = json!({"metadata": {"name": "n"}, "spec": {"unschedulable": true}});
        assert_eq!(field_value("", "nodes", &node, "spec.unschedulable").as_deref(), Some("true"));
        assert_eq!(field_value("", "nodes", &json!({}), "spec.unschedulable").as_deref(), Some("false"));
        let rc = json!({"status": {"replicas": 3}});
        assert_eq!(field_value("", "replicationcontrollers", &rc, "status.replicas").as_deref(), Some("3"));
        assert_eq!(field_value("", "replicationcontrollers", &json!({}), "status.replicas").as_deref(), Some("0"));
        let job = json!({"status": {"succeeded": 2}});
        assert_eq!(field_value("batch", "jobs", &job, "status.successful").as_deref(), Some("2"));
        assert_eq!(field_value("batch", "jobs", &json!({}), "status.successful").as_deref(), Some("0"));
        let secret = json!({"type": "Opaque"});
        assert_eq!(field_value("", "secrets", &secret, "type").as_deref(), Some("Opaque"));
        let ns = json!({"status": {"phase": "Active"}});
        assert_eq!(field_value("", "namespaces", &ns, "status.phase").as_deref(), Some("Active"));
        let svc = json!({"spec": {"clusterIP": "None", "type": "ClusterIP"}});
        assert_eq!(field_value("", "services", &svc, "spec.clusterIP").as_deref(), Some("None"));
        assert_eq!(field_value("", "services", &svc, "spec.type").as_deref(), Some("ClusterIP"));
        let csr = json!({"spec": {"signerName": "kubernetes.io/kubelet-serving"}});
        let signer = field_value("certificates.k8s.io", "certificatesigningrequests", &csr, "spec.signerName");
        assert_eq!(signer.as_deref(), Some("kubernetes.io/kubelet-serving"));
        let slice = json!({"spec": {"driver": "gpu.example.com", "nodeName": "n1"}});
        assert_eq!(field_value("resource.k8s.io", "resourceslices", &slice, "spec.driver").as_deref(), Some("gpu.example.com"));
        assert_eq!(field_value("resource.k8s.io", "resourceslices", &slice, "spec.nodeName").as_deref(), Some("n1"));
        assert_eq!(field_value("apps", "replicasets", &rc, "status.replicas"), None);
    }

    #[test]
    fn selector_event_field_values() {
        let core = json!({
            "involvedObject": {"kind": "Pod", "name": "p", "namespace": "ns", "uid": "u1", "apiVersion": "v1",
                               "resourceVersion": "7", "fieldPath": "spec.containers{c}"},
            "reason": "Pulled", "type": "Normal", "source": {"component": "kubelet"}, "reportingComponent": "kubelet-r"
        });
        let value = |f: &str| field_value("", "events", &core, f);
        assert_eq!(value("involvedObject.kind").as_deref(), Some("Pod"));
        assert_eq!(value("involvedObject.uid").as_deref(), Some("u1"));
        assert_eq!(value("involvedObject.fieldPath").as_deref(), Some("spec.containers{c}"));
        assert_eq!(value("reason").as_deref(), Some("Pulled"));
        assert_eq!(value("type").as_deref(), Some("Normal"));
        assert_eq!(value("source").as_deref(), Some("kubelet"));
        assert_eq!(value("reportingComponent").as_deref(), Some("kubelet-r"));

        let new = json!({"regarding": {"kind": "Node", "name": "n"}, "reportingController": "ctrl", "reason": "R"});
        let value = |f: &str| field_value("events.k8s.io", "events", &new, f);
        assert_eq!(value("regarding.kind").as_deref(), Some("Node"));
        assert_eq!(value("involvedObject.kind").as_deref(), Some("Node"));
        assert_eq!(value("reportingController").as_deref(), Some("ctrl"));
        assert_eq!(value("reportingComponent").as_deref(), Some("ctrl"));
        // source falls back to the reporting controller.
        assert_eq!(value("source").as_deref(), Some("ctrl"));
        assert_eq!(value("regarding.uid"), None);

        let sel = FieldSelector::parse("regarding.kind=Node,source=ctrl").unwrap();
        let sel = sel.for_resource("events.k8s.io", "v1", "events").unwrap();
        assert!(sel.matches(&|f| field_value("events.k8s.io", "events", &new, f)));
    }

    #[test]
    fn selector_go_quote() {
        assert_eq!(go_quote("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(go_quote("\n\t\u{7f}\u{1}"), r#""\n\t\x7f\x01""#);
        assert_eq!(go_quote("ü\u{a0}"), "\"ü\\u00a0\"");
        assert_eq!(go_string_slice(&[]), "[]string(nil)");
        assert_eq!(go_string_slice(&["a".into(), "b\"".into()]), r#"[]string{"a", "b\""}"#);
    }
}
