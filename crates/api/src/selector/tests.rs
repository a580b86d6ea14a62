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
