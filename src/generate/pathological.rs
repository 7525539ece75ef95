//! Pathological inputs: files shaped to make a scanner or an index walk do more than linear
//! work (unterminated heredocs and comments, brackets never closed, deep nesting, huge
//! lines, ...), each grown to a requested size. The scan-shapes benchmark
//! (`benches/scan_shapes.rs`) times every shape against [`NORMAL`] of the same size, and
//! `tests/scanner_props.rs` holds the scanner's work on each to a fixed multiple of its bytes.
//!
//! Architecture invariant: pure functions from a size to bytes; the same size always gives
//! the same bytes.

/// One shape: its name, and the file of about `size` bytes it makes.
#[derive(Clone, Copy)]
pub struct Shape {
    /// A short name (a column of the benchmark's table).
    pub name: &'static str,
    /// Writes a file of at least `size` bytes (a little more: whole units).
    pub make: fn(usize) -> Vec<u8>,
}

/// The name of the well-formed reference shape.
pub const NORMAL: &str = "normal";

/// Repeats `unit` (with `{i}` replaced by a counter) until `size` bytes, after `head`.
fn repeat(size: usize, head: &str, unit: &str, tail: &str) -> Vec<u8> {
    let mut out = String::with_capacity(size + unit.len() + head.len() + tail.len());
    out.push_str(head);
    let mut i = 0u64;
    while out.len() < size {
        out.push_str(&unit.replace("{i}", &i.to_string()));
        i += 1;
    }
    out.push_str(tail);
    out.into_bytes()
}

/// `n` copies of `open`, then `n` of `close`, sized to `size`, inside `head`/`tail`.
fn nested(size: usize, head: &str, open: &str, close: &str, tail: &str) -> Vec<u8> {
    let n = size.div_ceil((open.len() + close.len()).max(1));
    let mut out = String::with_capacity(size + head.len() + tail.len());
    out.push_str(head);
    for _ in 0..n {
        out.push_str(open);
    }
    for _ in 0..n {
        out.push_str(close);
    }
    out.push_str(tail);
    out.into_bytes()
}

/// A well-formed file like the public mods': queries with titles, tags and SQL heredocs.
fn normal(size: usize) -> Vec<u8> {
    repeat(
        size,
        "locals {\n  common_tags = { service = \"AWS/S3\" }\n}\n\n",
        "query \"q{i}\" {\n  title       = \"Query {i}\"\n  description = \"Checks thing {i}.\"\n  tags        = merge(local.common_tags, { id = \"{i}\" })\n  sql = <<-EOQ\n    select arn as resource, 'ok' as status\n    from aws_s3_bucket where region = '${var.region}';\n  EOQ\n}\n\ncontrol \"c{i}\" {\n  title = \"Control {i}\"\n  query = query.q{i}\n}\n\n",
        "",
    )
}

fn bytes(size: usize, fill: &[u8]) -> Vec<u8> {
    fill.iter().copied().cycle().take(size).collect()
}

/// Every shape, [`NORMAL`] first.
pub fn shapes() -> Vec<Shape> {
    macro_rules! shape {
        ($name:expr, $make:expr) => {
            Shape {
                name: $name,
                make: $make,
            }
        };
    }
    vec![
        shape!(NORMAL, normal),
        // Heredocs.
        shape!("heredoc_unterminated", |n| repeat(
            n,
            "",
            "query \"q{i}\" {\n  sql = <<-EOQ{i}\n    select 1\n",
            ""
        )),
        shape!("heredoc_unterminated_same_marker", |n| repeat(
            n,
            "",
            "query \"q{i}\" {\n  sql = <<-EOQ\n    select 1\n  EOQX\n",
            ""
        )),
        shape!("heredoc_markers_on_one_line", |n| {
            let mut v = b"x = <<EOQ\n".to_vec();
            v.extend(bytes(n, b"EOQx"));
            v
        }),
        shape!("heredoc_marker_then_text", |n| repeat(
            n,
            "x = <<EOQ\n",
            "EOQ and more {i}\n",
            ""
        )),
        shape!("heredoc_nested_in_interpolations", |n| nested(
            n,
            "",
            "x = <<A\n${",
            "}\nA\n",
            ""
        )),
        shape!("heredoc_many_interpolations", |n| repeat(
            n,
            "query \"q\" {\n  sql = <<-EOQ\n",
            "    select ${local.a{i}} from ${var.t}\n",
            "  EOQ\n}\n"
        )),
        shape!("heredoc_no_newline_after_marker", |n| repeat(
            n,
            "",
            "x{i} = <<EOT",
            ""
        )),
        // Comments.
        shape!("block_comment_unterminated", |n| repeat(
            n,
            "",
            "/*\nquery \"q{i}\" {\n",
            ""
        )),
        shape!("block_comments_small", |n| repeat(
            n,
            "",
            "/* a {i} */ x{i} = 1 /* b */\n",
            ""
        )),
        shape!("line_comments", |n| repeat(
            n,
            "",
            "# comment {i} { <<EOQ \"\n",
            ""
        )),
        shape!("comment_markers_in_strings", |n| repeat(
            n,
            "",
            "x{i} = \"/* not a comment {i}\"\n",
            ""
        )),
        // Brackets and interpolations never closed.
        shape!("paren_unclosed_per_block", |n| repeat(
            n,
            "",
            "query \"q{i}\" {\n  x = ((\n}\n",
            ""
        )),
        shape!("bracket_unclosed_per_block", |n| repeat(
            n,
            "",
            "query \"q{i}\" {\n  x = [[\n}\n",
            ""
        )),
        shape!("brace_unclosed_in_value", |n| repeat(
            n,
            "",
            "query \"q{i}\" {\n  tags = merge(local.t, {\n}\n",
            ""
        )),
        shape!("interpolation_unclosed_per_block", |n| repeat(
            n,
            "",
            "query \"q{i}\" {\n  x = \"${\n",
            ""
        )),
        shape!("mismatched_closers", |n| repeat(n, "x = ", "(]{)[}", "\n")),
        // Nesting.
        shape!("deep_blocks", |n| nested(
            n,
            "dashboard \"d\" {\n",
            "container {\n",
            "}\n",
            "}\n"
        )),
        shape!("deep_blocks_labelled", |n| nested(
            n,
            "dashboard \"d\" {\n",
            "input \"i\" {\n",
            "}\n",
            "}\n"
        )),
        shape!("deep_brackets", |n| nested(n, "x = ", "(", ")", "\n")),
        shape!("deep_brackets_unclosed", |n| {
            let mut v = b"x = ".to_vec();
            v.extend(bytes(n, b"(["));
            v
        }),
        shape!("deep_interpolations", |n| nested(
            n, "x = ", "\"${", "}\"", "\n"
        )),
        shape!("blocks_never_closed", |n| repeat(
            n,
            "",
            "query \"q{i}\" {\n",
            ""
        )),
        shape!("closing_braces_only", |n| bytes(n, b"}\n")),
        shape!("opening_braces_only", |n| bytes(n, b"{\n")),
        // Long lines and tokens.
        shape!("one_long_line_of_tokens", |n| repeat(
            n,
            "x = ",
            "1 + a.b[0] * ",
            "1\n"
        )),
        shape!("long_string", |n| {
            let mut v = b"x = \"".to_vec();
            v.extend(bytes(n, b"abc "));
            v.extend(b"\"\n");
            v
        }),
        shape!("long_string_unterminated", |n| {
            let mut v = b"x = \"".to_vec();
            v.extend(bytes(n, b"abc "));
            v
        }),
        shape!("long_identifier", |n| {
            let mut v = b"x = ".to_vec();
            v.extend(bytes(n, b"abcd"));
            v.push(b'\n');
            v
        }),
        shape!("long_traversal", |n| repeat(n, "x = query", ".a", "\n")),
        shape!("many_labels", |n| repeat(
            n,
            "query",
            " \"l{i}\"",
            " {\n}\n"
        )),
        shape!("escapes", |n| repeat(
            n,
            "x = \"",
            "$${a} %%{b} \\\" \\u0041",
            "\"\n"
        )),
        shape!("unterminated_label", |n| repeat(
            n,
            "",
            "query \"q{i} {\n",
            ""
        )),
        shape!("labels_without_brace", |n| repeat(
            n,
            "",
            "query \"q{i}\"\n",
            ""
        )),
        shape!("attributes_without_value", |n| repeat(
            n,
            "query \"q\" {\n",
            "  a{i} =\n",
            "}\n"
        )),
        // Many small things.
        shape!("many_references", |n| repeat(
            n,
            "query \"q\" {\n  x = [",
            "query.q{i}.title, ",
            "]\n}\n"
        )),
        shape!("many_children", |n| repeat(
            n,
            "benchmark \"b\" {\n  children = [\n",
            "    control.c{i},\n",
            "  ]\n}\n"
        )),
        shape!("many_tags", |n| repeat(
            n,
            "query \"q\" {\n  tags = {\n",
            "    k{i} = \"v{i}\"\n",
            "  }\n}\n"
        )),
        shape!("many_locals", |n| repeat(
            n,
            "locals {\n",
            "  l{i} = local.x\n",
            "}\n"
        )),
        shape!("many_anonymous_siblings", |n| repeat(
            n,
            "dashboard \"d\" {\n",
            "  card { width = 2 }\n",
            "}\n"
        )),
        shape!("crlf", |n| repeat(
            n,
            "",
            "query \"q{i}\" {\r\n  title = \"t\"\r\n  sql = <<-EOQ\r\n    select 1\r\n  EOQ\r\n}\r\n",
            ""
        )),
        shape!("invalid_utf8", |n| bytes(n, b"x = \"\xff\xfe\"\n")),
        shape!("only_newlines", |n| bytes(n, b"\n")),
        shape!("printable_noise", |n| {
            // A fixed pseudo-random stream of HCL's punctuation and words.
            const PIECES: &[&str] = &[
                "{", "}", "(", ")", "[", "]", "\"", "${", "%{", "<<EOQ\n", "EOQ\n", "/*", "*/",
                "#", "\n", " ", "a", "query", "=", ".", ",", "\\", "~", ":", "?", "1",
            ];
            let mut out = Vec::with_capacity(n + 8);
            let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
            while out.len() < n {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                out.extend_from_slice(PIECES[(x % PIECES.len() as u64) as usize].as_bytes());
            }
            out
        }),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shape_reaches_its_size_and_is_deterministic() {
        for s in shapes() {
            let a = (s.make)(10_000);
            assert!(a.len() >= 10_000, "{} made {} bytes", s.name, a.len());
            assert!(a.len() < 20_000, "{} made {} bytes", s.name, a.len());
            assert_eq!(a, (s.make)(10_000), "{}", s.name);
        }
        let names: std::collections::HashSet<_> = shapes().iter().map(|s| s.name).collect();
        assert_eq!(names.len(), shapes().len(), "shape names are unique");
    }
}
