//! Unit tests of the formatter on small inline documents; the byte-for-byte comparison with
//! `hclwrite.Format` is `tests/fmt_differential.rs`.

use super::format;

#[test]
fn aligns_equals_and_normalises_spaces() {
    let src = "a=1\nbbb   =   2 # note\nblock  \"x\"{\n\tc= [1,2 ,3]\n}\n";
    assert_eq!(
        format(src).as_deref(),
        Ok("a   = 1\nbbb = 2 # note\nblock \"x\" {\n  c = [1, 2, 3]\n}\n")
    );
}

#[test]
fn refuses_a_syntax_error_with_its_position() {
    // hclsyntax's scanner reports the line break inside the string, before any parse error.
    let err = format("a = 1\nb = \"open\n").unwrap_err();
    assert_eq!((err.line, err.column), (2, 10), "{err}");
    assert!(format("block {\n  a = 1\n").is_err());
}

#[test]
fn leaves_heredoc_and_template_text_alone() {
    let src = "x = <<EOT\n  a  =  b ${ var.x }\nEOT\ny = \"  ${ a }  \"\n";
    assert_eq!(
        format(src).as_deref(),
        Ok("x = <<EOT\n  a  =  b ${var.x}\nEOT\ny = \"  ${a}  \"\n")
    );
}

#[test]
fn accepts_what_hclsyntax_accepts_but_hcl_edit_does_not() {
    // hclsyntax leaves repeated object keys to evaluation.
    assert_eq!(
        format("a = {k=1, k=2, (\"x\")=3, (\"x\")=4, \"q\"=5, \"q\"=6}\n").as_deref(),
        Ok("a = { k = 1, k = 2, (\"x\") = 3, (\"x\") = 4, \"q\" = 5, \"q\" = 6 }\n")
    );
    // An empty heredoc, then a block.
    assert_eq!(
        format("l=<<EOT\nEOT\nc {\nx=1\n}\n").as_deref(),
        Ok("l = <<EOT\nEOT\nc {\n  x = 1\n}\n")
    );
    // A byte-order mark is skipped (and, as hclwrite.Format does, dropped).
    assert_eq!(format("\u{feff}a=1\n").as_deref(), Ok("a = 1\n"));
    // Deeper than hcl-edit's 64 levels.
    let deep = format!("{}{}", "b {\n".repeat(70), "}\n".repeat(70));
    let formatted = format(&deep).expect("valid deep nesting");
    assert!(formatted.contains(&format!("{}b {{\n", "  ".repeat(69))));
}

#[test]
fn errors_after_a_renamed_key_keep_their_position() {
    let err = format("a = {k=1, k=2}\nb = )\n").unwrap_err();
    assert_eq!((err.line, err.column), (2, 5), "{err}");
}

proptest::proptest! {
    /// Whatever the text, no panic, and anything accepted is stable under a second format.
    #[test]
    fn never_panics(text in "(\\PC|[\"{}()\\[\\]$%<>#/*\\\\~\n\r\t -]){0,200}") {
        if let Ok(once) = format(&text) {
            proptest::prop_assert_eq!(format(&once), Ok(once.clone()));
        }
    }

    /// HCL-shaped noise: the characters templates, heredocs and comments are made of.
    #[test]
    fn never_panics_on_hcl_noise(parts in proptest::collection::vec(proptest::prop_oneof![
        proptest::strategy::Just("${"), proptest::strategy::Just("%{"),
        proptest::strategy::Just("}"), proptest::strategy::Just("\""),
        proptest::strategy::Just("<<EOT\n"), proptest::strategy::Just("<<-EOT\r\n"),
        proptest::strategy::Just("EOT\n"), proptest::strategy::Just("/*"),
        proptest::strategy::Just("*/"), proptest::strategy::Just("#"),
        proptest::strategy::Just("\n"), proptest::strategy::Just("a = "),
        proptest::strategy::Just("b {"), proptest::strategy::Just("~}"),
        proptest::strategy::Just("$${"), proptest::strategy::Just("1.e5"),
        proptest::strategy::Just("\u{feff}"), proptest::strategy::Just("é"),
    ], 0..40)) {
        let text = parts.concat();
        if let Ok(once) = format(&text) {
            proptest::prop_assert_eq!(format(&once), Ok(once.clone()));
        }
    }
}

/// Unclosed `/*` many times over: each must not search the rest of the text again (counted
/// in bytes searched, not timed).
#[test]
fn unterminated_block_comments_stay_linear() {
    let text = "/* ".repeat(20_000);
    let super::lexer::Lexed {
        tokens,
        unclosed,
        searched,
        ..
    } = super::lexer::lex(&text);
    assert!(unclosed.is_some());
    assert_eq!(tokens.len(), 40_001, "`/`, `*` per opener, then the end");
    assert!(
        searched <= text.len(),
        "searched {searched} bytes of {}",
        text.len()
    );
    assert!(format(&text).is_err());
}

/// One document per refusal class of hclsyntax's parser (and neighbours it accepts), with
/// the position of hclsyntax's first error as the Go reference (`tests/fmt_reference`)
/// reported it (`None`: hclsyntax parses it).
const HCLSYNTAX_VERDICTS: &[(&str, Option<(u32, u32)>)] = &[
    ("a = 1\nb = 2", None),
    ("a=1\na=2", Some((2, 1))), // Attribute redefined
    ("b {\n  a = 1\n}\nb {\n  a = 1\n}", None),
    ("\"a\" = 1", Some((1, 1))),    // Invalid argument name
    ("b {\n  a = 1", Some((1, 3))), // Unclosed configuration block
    ("= 1", Some((1, 1))),          // Argument or block definition required
    ("a", Some((1, 1))),            // Argument or block definition required
    ("a = 1, b = 2", Some((1, 6))), // Unexpected comma after argument
    ("a = 1 b", Some((1, 7))),      // Missing newline after argument
    ("b = {\n  a = 1, b = 2\n}", None),
    ("b = { a = 1 b = 2 }", Some((1, 13))), // Missing attribute separator
    ("b \"x\" = {}", Some((1, 7))),         // Invalid block definition
    ("b \"x\"\n{\n}", Some((1, 6))),        // Invalid block definition
    ("b \"x\" 1 {}", Some((1, 7))),         // Invalid block definition
    ("b \"x${y}\" {}", Some((1, 5))),       // Invalid string literal
    ("b \"x%{if a}y%{endif}\" {}", Some((1, 5))), // Invalid string literal
    ("b \"\\q\" {}", Some((1, 4))),         // Invalid escape sequence
    ("b { a = 1 }", None),
    ("b { a = 1, c = 2 }", Some((1, 10))), // Invalid single-argument block definition
    ("b { a = 1\n}", Some((1, 10))),       // Invalid single-argument block definition
    ("b { c {} }", Some((1, 5))),          // Argument definition required
    ("b { 1 }", Some((1, 5))),             // Argument or block definition required
    ("b {} c = 1", Some((1, 6))),          // Missing newline after block definition
    ("b { a = 1 } c", Some((1, 13))),      // Missing newline after block definition
    ("a = x.\n  y", Some((1, 7))),         // Invalid attribute name
    ("a = x.", Some((1, 7))),              // Invalid attribute name
    ("a = x.1.2", Some((1, 7))),           // Invalid legacy index syntax
    ("a = x.0", None),
    ("a = x.*.0.1", Some((1, 7))), // Invalid legacy index syntax
    ("a = x.*.*", Some((1, 9))),   // Nested splat expression not allowed
    ("a = x.*.[0]", Some((1, 7))), // Invalid attribute name
    ("a = x[*\n]", Some((2, 1))),  // Missing close bracket on splat index
    ("a = x[*.a]", Some((1, 10))), // Missing close bracket on splat index
    ("a = x[0", Some((1, 8))),     // Missing close bracket on index
    ("a = x[\n0\n]", None),
    ("a = (1\n+ 2)", None),
    ("a = 1 +\n2", Some((1, 8))), // Invalid expression
    ("a = 1\n+ 2", Some((2, 1))), // Argument or block definition required
    ("a = (1", Some((1, 7))),     // Unbalanced parentheses
    ("a = (1 2)", Some((1, 8))),  // Unbalanced parentheses
    ("a = f(1 2)", Some((1, 9))), // Missing argument separator
    ("a = f(1, 2...)", None),
    ("a = f(1... , 2)", Some((1, 8))), // Missing closing parenthesis
    ("a = f(1,", Some((1, 9))),        // Missing expression
    ("a = f(,)", Some((1, 7))),        // Invalid expression
    ("a = [1 2]", Some((1, 8))),       // Missing item separator
    ("a = [1,", Some((1, 8))),         // Missing expression
    ("a = [,]", Some((1, 6))),         // Invalid expression
    ("a = {a = 1 a = 2}", Some((1, 12))), // Missing attribute separator
    ("a = {a 1}", Some((1, 8))),       // Missing key/value separator
    ("a = {a\n}", Some((1, 7))),       // Missing attribute value
    ("a = {a = 1", Some((1, 5))),      // Unterminated object constructor expression
    ("a = {\"a\" = 1, (b) = 2, c: 3}", None),
    ("a = {k=1, k=2}", None),
    ("a = [for v in x: v]", None),
    ("a = [for v in x: k => v]", Some((1, 18))), // Invalid 'for' expression
    ("a = [for v in x: v...]", Some((1, 19))),   // Invalid 'for' expression
    ("a = {for v in x: v}", Some((1, 18))),      // Invalid 'for' expression
    ("a = {for k, v in x: k => v... if v}", None),
    ("a = [for 1 in x: v]", Some((1, 10))), // Invalid 'for' expression
    ("a = [for k, in x: v]", Some((1, 16))), // Invalid 'for' expression
    ("a = [for v innull: v]", Some((1, 12))), // Invalid 'for' expression
    ("a = [for v in x v]", Some((1, 17))),  // Invalid 'for' expression
    ("a = [for v in x: v if v x]", Some((1, 25))), // Invalid 'for' expression
    ("a = {for = 1}", Some((1, 10))),       // Invalid 'for' expression
    ("a = true ? 1", Some((1, 13))),        // Missing false expression in conditional
    ("a = true ? 1 : 2 ? 3 : 4", None),
    ("a = 1.2.3", Some((1, 5))), // Invalid number literal
    ("a = 1e5e6", Some((1, 5))), // Invalid number literal
    ("a = 0e99999999999999999999", Some((1, 5))), // Invalid number literal
    ("a = 1e-999999999", None),
    ("a = \"${a b}\"", Some((1, 10))), // Extra characters after interpolation expression
    ("a = \"${a\"", Some((1, 6))),     // Unclosed template interpolation sequence
    ("a = \"${a:b}\"", Some((1, 9))),  // Extra characters after interpolation expression
    ("a = \"%{ if a }x\"", Some((1, 16))), // Unexpected end of template
    (
        "a = \"%{ if a }x%{ else }y%{ else }z%{ endif }\"",
        Some((1, 26)),
    ), // Unexpected else directive
    ("a = \"%{ endif }\"", Some((1, 6))), // Unexpected endif directive
    ("a = \"%{ else }\"", Some((1, 6))), // Unexpected else directive
    ("a = \"%{ for x in y }%{ endif }\"", Some((1, 21))), // Unexpected endif directive
    ("a = \"%{ if x }%{ endfor }\"", Some((1, 15))), // Unexpected endfor directive
    ("a = \"%{ for x y }%{ endfor }\"", Some((1, 15))), // Invalid 'for' directive
    ("a = \"%{ for x, in y }%{ endfor }\"", Some((1, 19))), // Invalid 'for' directive
    ("a = \"%{ for 1 in y }%{ endfor }\"", Some((1, 13))), // Invalid 'for' directive
    ("a = \"%{ bogus }\"", Some((1, 9))), // Invalid template control keyword
    ("a = \"%{ 1 }\"", Some((1, 9))),  // Invalid template directive
    ("a = \"%{ if a b }%{ endif }\"", Some((1, 14))), // Extra characters in if marker
    ("a = \"%{ else }${1.2.3}\"", Some((1, 17))), // Invalid number literal
    ("a = \"%{ else }\\q\"", Some((1, 15))), // Invalid escape sequence
    ("a = \"\\u00g1\"", Some((1, 6))), // Invalid escape sequence
    ("a = \"\\u00e9 \\U0001F600 \\n\\r\\t\\\"\\\\\"", None),
    ("a = <<EOT\n%{ if a }\nEOT", Some((3, 4))), // Unterminated template string
    ("a = <<EOT\n\\q ${a}\nEOT", Some((3, 4))),  // Unterminated template string
    ("a = <<EOT\n${a b}\nEOT", Some((2, 5))),    // Extra characters after interpolation expression
    ("a = -", Some((1, 6))),                     // Missing expression
    ("a = !", Some((1, 6))),                     // Missing expression
    ("a = - - - !1", None),
    ("a = *", Some((1, 5))),    // Invalid expression
    ("a = 1 ==", Some((1, 9))), // Missing expression
    ("a =", Some((1, 4))),      // Missing expression
    ("a = )", Some((1, 5))),    // Invalid expression
    ("a = x.y[0].z[*].w.*.q", None),
    ("a = x # c\nb = 2 // d\nc = 3 /* e */", None),
    ("a = 1 /* e */ b = 2", Some((1, 15))), // Missing newline after argument
    ("b {\na = 1 # c\n}", None),
    ("b { # c\na = 1\n}", None),
    ("b { a = 1 # c\n}", Some((1, 11))), // Invalid single-argument block definition
    ("a = f(\n# c\n1, # d\n)", None),
    ("a = {\n# c\na = 1 # d\nb = 2\n}", None),
    ("a = [for v in x:\n v\n]", None),
    ("a = x ? y\n: z", Some((1, 10))), // Missing false expression in conditional
    ("a = x ?\ny : z", Some((1, 8))),  // Invalid expression
    ("a = x[0]\n[1]\n", Some((2, 1))), // Argument or block definition required
    ("a = <<EOT\n%{ if a }\nEOT\n", Some((3, 1))), // Unexpected end of template
    ("a = <<EOT\n\\q ${a}\nEOT\n", None),
    (
        "a = <<-EOT\n  %{ for x in y }${x}%{ endfor }\n  EOT\n",
        None,
    ),
    ("a = \"${\"", Some((1, 9))),      // Unterminated template string
    ("a = \"x\" \"y\"", Some((1, 9))), // Missing newline after argument
    ("a = x\n.y", Some((2, 1))),       // Argument or block definition required
    ("a = [\n  for v in x : v\n]", None),
    (
        "a = 100000000000000000000000000000000000001e-2147483600",
        None,
    ),
    ("a = f(\n  1,\n  2,\n)", None),
    ("a = f(1,2,)", None),
    ("b \"a\" \"b\" c {\n}", None),
    ("b \"a\\\"b\" {}", None),
    (
        "a = { for k, v in x : k => v if v == { a = 1 }[\"a\"] }",
        None,
    ),
    ("a = \"${ {a = 1} }\"", None),
    ("a = \"${ [for x in y : x] }\"", None),
    ("a = !true || -x.y[*].z > 3 && (a % 2) != 0", None),
    (
        "a = {\n  \"k\" = [\n    1, 2,\n    3\n  ]\n  (x) : y\n}\n",
        None,
    ),
];

#[test]
fn refuses_what_hclsyntax_refuses_where_it_does() {
    let mut wrong = Vec::new();
    for &(doc, expected) in HCLSYNTAX_VERDICTS {
        let got = format(doc).err().map(|e| (e.line, e.column));
        if got != expected {
            wrong.push(format!(
                "{doc:?}: hclsyntax {expected:?}, modlens {got:?} ({:?})",
                format(doc).err()
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {}:\n{}",
        wrong.len(),
        HCLSYNTAX_VERDICTS.len(),
        wrong.join("\n")
    );
}

/// hclsyntax has no nesting limit: 100,000 levels of each kind of bracket are checked
/// and formatted without overflowing the stack, and one missing closer is still found.
/// (Nested blocks are only checked: their formatted indentation grows quadratically.)
#[test]
fn deep_nesting_answers() {
    const N: usize = 100_000;
    let expressions = [
        format!("a = {}{}\n", "[".repeat(N), "]".repeat(N)),
        format!("a = {}1{}\n", "(".repeat(N), ")".repeat(N)),
        format!("a = {}1{}\n", "{k = ".repeat(N), "}".repeat(N)),
        format!("a = {}1{}\n", "\"${".repeat(N), "}\"".repeat(N)),
    ];
    for doc in &expressions {
        let head: String = doc.chars().take(12).collect();
        assert!(format(doc).is_ok(), "{head:?}… is valid");
        let cut = &doc[..doc.len() - 2];
        let err = format(cut).expect_err("one closer missing");
        assert_eq!(err.line, 1, "{head:?}…: {err}");
    }
    let others = [
        format!("a = {}1\n", "-".repeat(N)),
        format!("a = {}1\n", "x ? y : ".repeat(N)),
        format!("a = {}1\n", "x ? ".repeat(N)),
        format!("{}{}", "b {\n".repeat(N), "}\n".repeat(N)),
        format!("{}{}", "b {\n".repeat(N), "}\n".repeat(N - 1)),
    ];
    let verdicts: Vec<bool> = others
        .iter()
        .map(|doc| {
            let lexed = super::lexer::lex(doc);
            assert!(lexed.error.is_none() && lexed.unclosed.is_none());
            super::parse::check(doc.as_bytes(), &lexed.tokens).is_none()
        })
        .collect();
    assert_eq!(verdicts, [true, true, false, true, false]);
}
