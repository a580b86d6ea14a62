#![allow(clippy::wildcard_imports)]
use super::*;

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
pub(crate) const BINARY_OPERATORS: &str = "in, notin, =, ==, !=, gt, lt";

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

pub(crate) fn operator_value_errors(operator: Operator, values: &[String]) -> Vec<String> {
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

pub(crate) fn integer_value_errors(values: &[String]) -> Vec<String> {
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

pub(crate) fn values_label_errors(key: &str, values: &[String]) -> Vec<String> {
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
pub(crate) enum Token {
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

pub(crate) fn symbol_token(s: &str) -> Option<Token> {
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

pub(crate) fn is_whitespace(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

pub(crate) fn is_special_symbol(b: u8) -> bool {
    matches!(b, b'=' | b'!' | b'(' | b')' | b',' | b'>' | b'<')
}

pub(crate) struct Lexer<'a> {
    pub(crate) s: &'a str,
    pub(crate) pos: usize,
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

    pub(crate) fn lex(&mut self) -> (Token, String) {
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
pub(crate) enum Context {
    KeyAndOperator,
    Values,
}

pub(crate) struct Parser {
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
pub(crate) fn sorted_set(mut values: Vec<String>) -> Vec<String> {
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

pub(crate) fn json_object_field<'a>(object: &'a Map<String, Value>, name: &str) -> Result<Option<&'a Map<String, Value>>, String> {
    match object.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) => Ok(Some(map)),
        Some(_) => Err(format!("label selector {} must be an object", name)),
    }
}

pub(crate) fn json_array_field<'a>(object: &'a Map<String, Value>, name: &str) -> Result<&'a [Value], String> {
    match object.get(name) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(format!("label selector {} must be an array", name)),
    }
}

pub(crate) fn json_string<'a>(value: Option<&'a Value>, what: &str) -> Result<&'a str, String> {
    match value {
        None | Some(Value::Null) => Ok(""),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(format!("label selector {} must be a string", what)),
    }
}

pub(crate) fn match_labels_requirements(labels: Option<&Map<String, Value>>) -> Result<Vec<Requirement>, String> {
    let mut requirements = Vec::new();
    for (key, value) in labels.into_iter().flatten() {
        let value = json_string(Some(value), "matchLabels value")?;
        requirements.push(Requirement::new(key, Operator::Equals, vec![value.to_string()])?);
    }
    Ok(requirements)
}

pub(crate) fn expression_requirement(expression: &Value) -> Result<Requirement, String> {
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

pub(crate) fn expression_operator(operator: &str) -> Result<Operator, String> {
    match operator {
        "In" => Ok(Operator::In),
        "NotIn" => Ok(Operator::NotIn),
        "Exists" => Ok(Operator::Exists),
        "DoesNotExist" => Ok(Operator::DoesNotExist),
        other => Err(format!("{} is not a valid label selector operator", go_quote(other))),
    }
}
