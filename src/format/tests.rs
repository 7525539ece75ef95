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
