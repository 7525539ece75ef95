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
    let err = format("a = 1\nb = \"open\n").unwrap_err();
    assert_eq!((err.line, err.column), (2, 5), "{err}");
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
    let (tokens, error, searched) = super::lexer::lex_counting(&text);
    assert!(error.is_some());
    assert_eq!(tokens.len(), 40_001, "`/`, `*` per opener, then the end");
    assert!(
        searched <= text.len(),
        "searched {searched} bytes of {}",
        text.len()
    );
    assert!(format(&text).is_err());
}
