//! Scanner tests on inline sources: one behaviour each, the expectation as a rendering.

use super::{BlockId, render, scan};

fn r(src: &str) -> String {
    render(&scan(src.as_bytes()))
}

#[test]
fn control_with_literal_title_tags_and_query() {
    let out = r(r#"control "c1" {
  title       = "S3 \"buckets\""
  description = "d"
  query       = query.q1
  tags = {
    service = "AWS/S3"
    "type": "x",
  }
}
"#);
    insta::assert_snapshot!(out);
}

#[test]
fn anonymous_names_follow_powerpipe() {
    let out = r(r#"dashboard "d" {
  card "a" { width = 2 }
  card { width = 3 }
  container {
    chart {
      series "s" { point "p" { color = "ok" } }
    }
    chart "named" {}
    chart {}
  }
  input "i" {
    option "o" {}
  }
}
"#);
    insta::assert_snapshot!(out);
}

#[test]
fn references_everywhere() {
    let out = r(r#"control "c" {
  title = benchmark.b.title
  sql = <<-EOQ
    select '${local.x}' as a, '%{ for v in var.list ~}${v}%{ endfor ~}'
    from t where x = '${replace(local.y, "}", "{")}' -- # */ '*/*' { }
  EOQ
  args = { arn = self.input.arn.value, p = param.p, w = with.w.rows[0].x }
  base = dep.control.other
  children = [ control.a, benchmark.b ]
}
"#);
    insta::assert_snapshot!(out);
}

#[test]
fn comments_hide_blocks_and_heredocs() {
    let out = r(r#"# control "x" { sql = <<-EOQ
// benchmark "y" {
/* query "z" {
  sql = <<-EOQ
*/
query "real" {
  sql = "select 1" # { trailing
}
"#);
    insta::assert_snapshot!(out);
}

#[test]
fn locals_are_entries() {
    let out = r(r#"locals {
  a = { x = "1" }
  b = merge(local.a, { y = "2" })
}
locals {
  c = local.b
}
"#);
    insta::assert_snapshot!(out);
}

#[test]
fn unterminated_string_ends_at_line_end() {
    let out =
        r("control \"a\" {\n  title = \"oops\n  description = \"fine\"\n}\ncontrol \"b\" {}\n");
    insta::assert_snapshot!(out);
}

#[test]
fn unterminated_heredoc_recovers_at_next_block() {
    let out =
        r("query \"a\" {\n  sql = <<-EOQ\n    select 1\n}\n\nquery \"b\" {\n  sql = \"x\"\n}\n");
    insta::assert_snapshot!(out);
}

#[test]
fn unclosed_brace_recovers_at_next_block() {
    let out = r("control \"a\" {\n  title = \"x\"\n\ncontrol \"b\" {\n  title = \"y\"\n}\n");
    insta::assert_snapshot!(out);
}

#[test]
fn unterminated_block_comment_recovers() {
    let out = r("query \"a\" {}\n/* never closed\nquery \"b\" {}\n");
    insta::assert_snapshot!(out);
}

#[test]
fn crlf_bom_and_utf8_positions() {
    let out = r("\u{feff}control \"é\" {\r\n  title = \"日本\"\r\n}\r\ncontrol \"b\" {}\r\n");
    insta::assert_snapshot!(out);
}

#[test]
fn heredoc_literal_title_is_decoded() {
    let out = r(
        "benchmark \"b\" {\n  description = <<-EOT\n    line one\n      two\n    EOT\n  title = <<EOT\nraw\nEOT\n}\n",
    );
    insta::assert_snapshot!(out);
}

#[test]
fn garbage_never_panics() {
    for src in [
        "",
        "{",
        "}",
        "\"",
        "<<-",
        "<<-EOQ",
        "${",
        "a = ${",
        "a {",
        "a \"",
        "a = [",
        "/*",
        "#",
        "a = \"${\"",
        "a = <<-E\n${",
        "x \"y\" { z = \"${ \"",
        "\u{feff}",
        "\u{feff}\u{feff}",
        "a = -",
        "a=b.c.d.e.f",
        "self.",
        "a = self.input",
        "local.",
        "a = local.",
    ] {
        let _ = scan(src.as_bytes());
    }
}

#[test]
fn deep_nesting_does_not_overflow() {
    let depth = 10_000;
    let mut src = String::from("dashboard \"d\" {\n");
    for _ in 0..depth {
        src.push_str("container {\n");
    }
    for _ in 0..depth {
        src.push_str("}\n");
    }
    src.push_str("}\nquery \"after\" {\n  title = query.x.title\n}\n");
    let index = scan(src.as_bytes());
    // Blocks nest at most MAX_BLOCK_DEPTH deep: the rest is read (its braces matched), not
    // recorded, and said once; what follows is indexed as usual.
    let max = crate::syntax::MAX_BLOCK_DEPTH;
    assert_eq!(index.blocks.len(), max + 1);
    assert_eq!(index.diagnostics.len(), 1, "{:?}", index.diagnostics);
    let d = &index.diagnostics[0];
    assert_eq!((d.start.line, d.start.column), (max as u32 + 1, 1));
    assert!(
        d.message.contains("nest more than 32 deep"),
        "{}",
        d.message
    );
    let after = index.blocks.last().expect("a block");
    assert_eq!(index.str(after.name), "after");
    assert_eq!(after.parent, None);
    assert_eq!(index.refs.len(), 1);
    // The deepest indexed block still has its full generated name.
    let deepest = crate::syntax::BlockId::new(max - 1);
    assert!(
        index
            .block_name(deepest)
            .ends_with("_anonymous_container_0")
    );
    assert_eq!(
        index.block_name(deepest).matches("anonymous").count(),
        max - 1
    );
    let mut deep = String::from("a = ");
    for _ in 0..depth {
        deep.push_str("[\"${");
    }
    let index = scan(deep.as_bytes());
    assert!(!index.diagnostics.is_empty());
}

/// Found by fuzzing: `benchmark.` left unfinished at the end of a line, above a block header,
/// took the header's type as its name (`benchmark.query`, a reference running past the end
/// of the block it belongs to). The header starts the next block instead.
#[test]
fn a_traversal_left_unfinished_above_a_block_header_does_not_take_its_type() {
    let src = b"control \"c\" {\n  x = [benchmark.\nquery \"q\" {\n}\n";
    let index = scan(src);
    let names: Vec<(&str, &str, Option<BlockId>)> = index
        .blocks
        .iter()
        .map(|b| (index.str(b.kind), index.str(b.name), b.parent))
        .collect();
    assert_eq!(names, [("control", "c", None), ("query", "q", None)]);
    for r in &index.refs {
        let owner = r.block().and_then(|b| index.block(b)).expect("an owner");
        assert!(
            r.span.end <= owner.end.byte,
            "reference {:?} runs past its block",
            r.span
        );
    }
    assert!(index.refs.is_empty(), "{:?}", index.refs);
    assert!(index.has_errors());
}

/// `KEY = null` is Powerpipe's "not set" (gohcl decodes a null into a nil field, and
/// `setBaseProperties` then fills it from `base`): no recorded attribute says otherwise. A
/// `null` inside a value is no literal: `(null)` is an expression to evaluate, and a tag set
/// to `null` makes the tags an expression (Powerpipe refuses it when it decodes them).
#[test]
fn null_attributes_are_not_set() {
    let out = r(r#"control "c" {
  title       = null
  description = null # a comment
  tags        = null
  sql         = null
  query       = null
  base        = null
  children    = null
  type        = null
  width       = null
}
control "d" {
  title       = (null)
  tags        = { a = null, b = "x" }
  description = "kept"
  query       = query.q
}
benchmark "b" {
  title    = "t"
  children = [null]
}
"#);
    insta::assert_snapshot!(out);
}

/// A scratch that keeps text gives literal descriptions and the text of tag and description
/// expressions; with `list_refs_only` it records only the references of `children`, `query`
/// and `base`. The blocks, names, literals and spans are those of a plain scan.
#[test]
fn keeping_text_keeps_what_the_dump_shows_and_only_list_references() {
    let src = r#"locals {
  t = merge(local.base, { a = "b" })
}
control "c" {
  title       = "T ${var.x}"
  description = "Line\none \"quoted\""
  tags        = merge(local.t, { x = var.y })
  query       = query.q
  sql         = "select ${local.s}"
}
control "d" {
  description = local.d
  base        = control.c
}
benchmark "b" {
  children = [control.c, dep.control.e]
}
"#;
    let plain = scan(src.as_bytes());
    let mut scratch = super::Scratch::default();
    scratch.keep_text(true);
    let all_refs = super::scan_with(src.as_bytes(), &mut scratch);
    scratch.list_refs_only(true);
    let kept = super::scan_with(src.as_bytes(), &mut scratch);
    let find = |f: &super::FileIndex, name: &str| {
        f.blocks
            .iter()
            .find(|b| f.str(b.kind) == "control" && f.str(b.name) == name)
            .cloned()
            .expect("control")
    };
    let c = &find(&kept, "c");
    let attr = |b, key| kept.attr(b, key).map(|a| a.value());
    use super::{AttrKey, AttrValue};
    let Some(AttrValue::Str(d)) = attr(c, AttrKey::Description) else {
        panic!("description: {:?}", attr(c, AttrKey::Description));
    };
    assert_eq!(kept.str(d), "Line\none \"quoted\"");
    let Some(AttrValue::Expr(Some(t))) = attr(c, AttrKey::Tags) else {
        panic!("tags: {:?}", attr(c, AttrKey::Tags));
    };
    assert_eq!(kept.str(t), r#"merge(local.t, { x = var.y })"#);
    assert_eq!(attr(c, AttrKey::Sql), Some(AttrValue::Expr(None)));
    let d = &find(&kept, "d");
    let Some(AttrValue::Expr(Some(e))) = attr(d, AttrKey::Description) else {
        panic!("description expression");
    };
    assert_eq!(kept.str(e), "local.d");
    let names = |f: &super::FileIndex| -> Vec<(String, super::Span)> {
        f.refs
            .iter()
            .map(|r| (format!("{}.{}", f.str(r.kind), f.str(r.name)), r.span))
            .collect()
    };
    let listed: Vec<String> = names(&kept).into_iter().map(|(n, _)| n).collect();
    assert_eq!(listed, ["query.q", "control.c", "control.c", "control.e"]);
    // Keeping text alone keeps every reference.
    assert_eq!(names(&all_refs), names(&plain));
    assert_eq!(
        all_refs
            .attr(&find(&all_refs, "c"), AttrKey::Description)
            .map(|a| a.value())
            .map(|v| matches!(v, AttrValue::Str(_))),
        Some(true)
    );
    // Everything else is the plain scan's.
    let shape = |f: &super::FileIndex| {
        f.blocks
            .iter()
            .map(|b| {
                (
                    f.str(b.kind).to_owned(),
                    f.str(b.name).to_owned(),
                    b.start,
                    b.end,
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(shape(&kept), shape(&plain));
    assert_eq!(kept.diagnostics, plain.diagnostics);
    assert!(plain.refs.len() > kept.refs.len() + 5, "{:?}", plain.refs);
    let Some(AttrValue::Text) = plain
        .attr(&find(&plain, "c"), AttrKey::Description)
        .map(|a| a.value())
    else {
        panic!("a plain scan leaves descriptions as spans");
    };
}
