//! `modlens::format::format` against HCL's own `hclwrite.Format`, byte for byte.
//!
//! The Go reference (`tests/fmt_reference/main.go`) is built once against Debian's hcl v2
//! source and answers for many documents in one process: hclsyntax's parse verdict and
//! `hclwrite.Format`'s output. Over every fixture file, every file of the 10x generated mod
//! and 10,000 messy but valid documents from a proptest generator, this checks that we
//! refuse exactly what hclsyntax refuses and otherwise write the same bytes, that formatting
//! twice changes nothing, and that the formatted text indexes to the same blocks, names,
//! titles, tags and children. Skipped (with a message) when Go or the hcl source is
//! missing, unless `MODLENS_REQUIRE_GO=1`.

#[path = "fmt_reference/reference.rs"]
mod reference;

use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::time::Instant;

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

use modlens::format::format;
use modlens::syntax;

/// Generated documents compared with the reference.
const GENERATED_DOCS: usize = 10_000;

fn reference_or_skip() -> Option<reference::Reference> {
    match reference::build() {
        Ok(r) => Some(r),
        Err(why) => {
            assert!(
                std::env::var("MODLENS_REQUIRE_GO").as_deref() != Ok("1"),
                "MODLENS_REQUIRE_GO=1 but the Go reference is unavailable: {why}"
            );
            eprintln!("skipping the hclwrite.Format comparison: {why}");
            None
        }
    }
}

/// The first differing line of two texts with two lines of context, for a failure message.
fn line_diff(expected: &str, actual: &str) -> String {
    let e: Vec<&str> = expected.split_inclusive('\n').collect();
    let a: Vec<&str> = actual.split_inclusive('\n').collect();
    let first = (0..e.len().max(a.len()))
        .find(|&i| e.get(i) != a.get(i))
        .unwrap_or(0);
    let mut out = String::new();
    for i in first.saturating_sub(2)..(first + 3).min(e.len().max(a.len())) {
        match (e.get(i), a.get(i)) {
            (Some(x), Some(y)) if x == y => out += &format!("  {:>4} {x:?}\n", i + 1),
            (x, y) => {
                if let Some(x) = x {
                    out += &format!("- {:>4} {x:?}   (hclwrite)\n", i + 1);
                }
                if let Some(y) = y {
                    out += &format!("+ {:>4} {y:?}   (modlens)\n", i + 1);
                }
            }
        }
    }
    out
}

/// The index of a text with positions and spaces removed: what formatting must not change.
fn index_shape(text: &str) -> String {
    static POSITIONS: LazyLock<regex::Regex> = LazyLock::new(|| {
        regex::Regex::new(r"\d+:\d+(-\d+:\d+)?|@\d+\.\.\d+").expect("valid regex")
    });
    let rendered = syntax::render(&syntax::scan(text.as_bytes()));
    POSITIONS
        .replace_all(&rendered, "")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect()
}

/// Compares one document; `None` when it agrees, else what differs.
fn compare(r: &reference::Reference, doc: &str, verdict: &reference::Verdict) -> Option<String> {
    let ours = format(doc);
    match (&ours, verdict.parses) {
        (Err(_), false) => return None,
        (Ok(_), false) => {
            return Some(format!(
                "hclsyntax refuses it (error at {:?}) but modlens formats it",
                verdict.error_at
            ));
        }
        (Err(e), true) => return Some(format!("hclsyntax parses it but modlens refuses: {e}")),
        (Ok(_), true) => {}
    }
    let ours = ours.ok()?;
    let expected = String::from_utf8_lossy(&verdict.formatted);
    if ours.as_bytes() != verdict.formatted.as_slice() {
        return Some(format!(
            "output differs from hclwrite.Format:\n{}",
            line_diff(&expected, &ours)
        ));
    }
    match format(&ours) {
        Ok(again) if again == ours => {}
        Ok(again) => {
            return Some(format!(
                "formatting twice changes it:\n{}",
                line_diff(&ours, &again)
            ));
        }
        // hclwrite.Format can glue tokens into invalid HCL (`3.14 .0` becomes `3.14.0`);
        // then hclsyntax refuses its output too.
        Err(_) if !r.format_all(&[ours.as_bytes()])[0].parses => {}
        Err(e) => return Some(format!("the formatted text is refused: {e}")),
    }
    if index_shape(doc) != index_shape(&ours) {
        return Some("the formatted text indexes differently".to_string());
    }
    None
}

/// Compares every file of `files` in one reference run; returns the failures.
fn compare_files(r: &reference::Reference, root: &Path, files: &[PathBuf]) -> Vec<String> {
    let texts: Vec<(PathBuf, Vec<u8>)> = files
        .iter()
        .map(|p| (p.clone(), std::fs::read(p).expect("readable file")))
        .collect();
    let docs: Vec<&[u8]> = texts.iter().map(|(_, t)| t.as_slice()).collect();
    let verdicts = r.format_all(&docs);
    let mut failures = Vec::new();
    for ((path, bytes), verdict) in texts.iter().zip(&verdicts) {
        let name = path
            .strip_prefix(root)
            .unwrap_or(path)
            .display()
            .to_string();
        let Ok(text) = std::str::from_utf8(bytes) else {
            // Not text: nothing modlens could be asked to format; hclsyntax must refuse it.
            if verdict.parses {
                failures.push(format!("{name}: not UTF-8 but hclsyntax parses it"));
            }
            continue;
        };
        if let Some(why) = compare(r, text, verdict) {
            failures.push(format!("{name}: {why}"));
        }
    }
    failures
}

#[test]
fn fixtures_format_like_hclwrite() {
    let Some(r) = reference_or_skip() else { return };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let files = reference::hcl_files(&root);
    assert!(files.len() > 100, "fixtures found: {}", files.len());
    let failures = compare_files(&r, &root, &files);
    for path in reference::hcl_files(&root.join("unformatted_mod")) {
        let text = std::fs::read_to_string(&path).expect("text fixture");
        let formatted = format(&text).expect("unformatted_mod is valid");
        assert_ne!(
            formatted,
            text,
            "{} is meant to need formatting",
            path.display()
        );
    }
    assert!(
        failures.is_empty(),
        "{} of {} fixture files:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}

#[test]
fn generated_10x_mod_formats_like_hclwrite() {
    let Some(r) = reference_or_skip() else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let opts = modlens::generate::GenerateOptions {
        size: 10.0,
        seed: 1,
    };
    modlens::generate::generate(&opts, dir.path()).expect("generated mod");
    let files = reference::hcl_files(dir.path());
    let started = Instant::now();
    let failures = compare_files(&r, dir.path(), &files);
    eprintln!(
        "10x mod: {} files compared in {:.1?}",
        files.len(),
        started.elapsed()
    );
    assert!(
        failures.is_empty(),
        "{} of {} generated files:\n{}",
        failures.len(),
        files.len(),
        failures
            .iter()
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

// ---- the generator of messy but valid HCL ----

mod hcl_gen {
    use proptest::prelude::*;

    /// Optional white space between tokens (spaces, tabs, an inline comment).
    pub fn ws() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => Just(""),
            4 => Just(" "),
            1 => Just("   "),
            1 => Just("\t"),
            1 => Just(" \t "),
            1 => Just(" /* c */ "),
            1 => Just("/*x*/"),
        ]
        .prop_map(str::to_string)
    }

    /// At least one space.
    pub fn ws1() -> impl Strategy<Value = String> {
        prop_oneof![
            6 => Just(" "),
            1 => Just("  "),
            1 => Just("\t"),
            1 => Just(" /* m\n  */ "),
        ]
        .prop_map(str::to_string)
    }

    /// Text at the end of a line: nothing, trailing spaces, or a comment.
    pub fn line_end() -> impl Strategy<Value = String> {
        prop_oneof![
            6 => Just(""),
            1 => Just("  "),
            1 => Just("\t"),
            1 => Just(" # note"),
            1 => Just("   // note  "),
            1 => Just("# x=1"),
            1 => Just(" /* tail */"),
        ]
        .prop_map(str::to_string)
    }

    fn leaf() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("0"),
            Just("42"),
            Just("3.14"),
            Just("1e3"),
            Just("2.5E-2"),
            Just("true"),
            Just("false"),
            Just("null"),
            Just("var.x"),
            Just("local.a_b.c"),
            Just("a[0]"),
            Just("a.*.b"),
            Just("a[*].id"),
            Just("x[\"k\"]"),
            Just("each.value"),
            Just("my-name"),
            Just("self.input.i.value"),
            Just("\"\""),
            Just("\"plain text\""),
            Just("\"esc \\\" \\n \\\\ \\t\""),
            Just("\"$${lit} %%{lit} $ % $x\""),
            Just("\"ünïcödé ✓ 日本\""),
        ]
        .prop_map(str::to_string)
    }

    /// A quoted template around expressions.
    fn template(e: BoxedStrategy<String>) -> impl Strategy<Value = String> {
        let part = prop_oneof![
            3 => "[a-z .,:/-]{0,8}".prop_map(|s| s),
            1 => (ws(), e.clone(), ws()).prop_map(|(a, x, b)| format!("${{{a}{x}{b}}}")),
            1 => e.clone().prop_map(|x| format!("${{~ {x} ~}}")),
            1 => (e.clone(), "[a-z ]{0,5}", "[a-z ]{0,5}")
                .prop_map(|(c, t, f)| format!("%{{ if {c} }}{t}%{{ else }}{f}%{{ endif }}")),
            1 => e.clone().prop_map(|x| format!("%{{for v in {x}~}}${{v}},%{{ endfor }}")),
        ];
        prop::collection::vec(part, 0..4).prop_map(|ps| format!("\"{}\"", ps.concat()))
    }

    /// An expression of any kind; `multi` allows line breaks inside brackets.
    pub fn expr() -> BoxedStrategy<String> {
        leaf()
            .prop_recursive(4, 24, 4, |inner| {
                let op = prop_oneof![
                    Just("+"),
                    Just("-"),
                    Just("*"),
                    Just("/"),
                    Just("%"),
                    Just("=="),
                    Just("!="),
                    Just("<"),
                    Just("<="),
                    Just(">"),
                    Just(">="),
                    Just("&&"),
                    Just("||"),
                ];
                let key = prop_oneof![
                    Just("k".to_string()),
                    Just("\"quoted key\"".to_string()),
                    Just("key-2".to_string()),
                    inner.clone().prop_map(|e| format!("({e})")),
                ];
                let item = (
                    key,
                    ws(),
                    prop_oneof![Just("="), Just(":")],
                    ws(),
                    inner.clone(),
                )
                    .prop_map(|(k, a, eq, b, v)| format!("{k}{a}{eq}{b}{v}"));
                prop_oneof![
                    (inner.clone(), ws(), op, ws1(), inner.clone())
                        .prop_map(|(l, a, o, b, r)| format!("{l}{a}{o}{b}{r}")),
                    (prop_oneof![Just("-"), Just("!")], inner.clone())
                        .prop_map(|(o, x)| format!("{o}({x})")),
                    Just("-1".to_string()),
                    (inner.clone(), ws(), inner.clone(), ws(), inner.clone())
                        .prop_map(|(c, a, t, b, f)| format!("{c}{a}?{a}{t}{b}:{b}{f}")),
                    (ws(), inner.clone(), ws()).prop_map(|(a, x, b)| format!("({a}{x}{b})")),
                    (
                        prop_oneof![Just("f"), Just("merge"), Just("lookup"), Just("jsonencode")],
                        prop::collection::vec(inner.clone(), 0..4),
                        ws(),
                        0..4usize
                    )
                        .prop_map(|(name, args, w, style)| call(name, &args, &w, style)),
                    (prop::collection::vec(inner.clone(), 0..5), ws(), 0..4usize)
                        .prop_map(|(xs, w, style)| tuple(&xs, &w, style)),
                    (prop::collection::vec(item, 0..4), ws(), 0..4usize)
                        .prop_map(|(xs, w, style)| object(&xs, &w, style)),
                    (inner.clone(), inner.clone(), any::<bool>()).prop_map(
                        |(c, v, cond)| if cond {
                            format!("[for x in {c} : {v} if x]")
                        } else {
                            format!("[for i, x in {c}: {v}]")
                        }
                    ),
                    (inner.clone(), inner.clone(), any::<bool>()).prop_map(|(c, v, group)| {
                        if group {
                            format!("{{for k, v in {c} : k => {v}...}}")
                        } else {
                            format!("{{ for k,v in {c}: k=>{v} if v != null }}")
                        }
                    }),
                    (ws(), inner.clone()).prop_map(|(w, x)| format!("({x}){w}[0]")),
                    inner.clone().prop_map(|x| format!("[{x}][0].a.*.b")),
                    template(inner.clone()),
                ]
            })
            .boxed()
    }

    fn call(name: &str, args: &[String], w: &str, style: usize) -> String {
        match style {
            0 | 1 if args.is_empty() => format!("{name}({w})"),
            0 => format!("{name}({w}{})", args.join(&format!(",{w}"))),
            1 => format!("{name}({}...)", args.join(", ")),
            2 => format!("{name}(\n{}\n)", args.join(",\n")),
            _ => format!("{name}(  # c\n  {},\n)", args.join(" ,\n\n  ")),
        }
    }

    fn tuple(xs: &[String], w: &str, style: usize) -> String {
        match style {
            0 => format!("[{w}{}{w}]", xs.join(&format!("{w},{w}"))),
            1 if !xs.is_empty() => format!("[{},]", xs.join(",")),
            2 => format!(
                "[\n{}\n]",
                xs.iter()
                    .map(|x| format!("  {x},  # e\n"))
                    .collect::<String>()
            ),
            _ => format!(
                "[\n\t// lead\n{}]",
                xs.iter().map(|x| format!("{x},\n\n")).collect::<String>()
            ),
        }
    }

    fn object(items: &[String], w: &str, style: usize) -> String {
        match style {
            0 => format!("{{{w}{}{w}}}", items.join(", ")),
            1 => format!("{{{}}}", items.join(",")),
            2 => format!(
                "{{\n{}}}",
                items
                    .iter()
                    .map(|i| format!("  {i}  # c\n"))
                    .collect::<String>()
            ),
            _ => format!(
                "{{\n\n{}\n}}",
                items.iter().map(|i| format!("{i},\n")).collect::<String>()
            ),
        }
    }

    /// A heredoc value (opener to closing marker, without the final line end).
    pub fn heredoc() -> impl Strategy<Value = String> {
        let line = prop_oneof![
            3 => "[a-zA-Z =:,.{}\\[\\]()\"#-]{0,20}".prop_map(|s| s),
            1 => Just("  select * from t where a = '${var.x}' and b = ${ local.y }".to_string()),
            1 => Just("$${not} %%{not} $ % 100%".to_string()),
            1 => Just("%{ if var.x }yes%{ else }no%{ endif }".to_string()),
            1 => Just("\t  indented\t ".to_string()),
            1 => Just("ends with $".to_string()),
            1 => Just("EOTX".to_string()),
        ];
        (prop::collection::vec(line, 0..5), any::<bool>()).prop_map(|(lines, indent)| {
            let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
            if indent {
                format!("<<-EOT\n{body}    EOT")
            } else {
                format!("<<EOT\n{body}EOT")
            }
        })
    }

    /// One body item before names are given: `{name}` is replaced by a unique name.
    #[derive(Clone, Debug)]
    pub enum Item {
        Attr(String, String, String, String),
        Block(String, Vec<Item>, String),
        OneLine(String, String),
        Raw(String),
    }

    pub fn items() -> impl Strategy<Value = Vec<Item>> {
        let attr = (
            ws(),
            ws(),
            prop_oneof![4 => expr(), 1 => heredoc()],
            line_end(),
        )
            .prop_map(|(a, b, e, end)| {
                // A heredoc ends its own line: nothing may follow its closing marker.
                let end = if e.starts_with("<<") {
                    String::new()
                } else {
                    end
                };
                Item::Attr(a, b, e, end)
            });
        let raw = prop_oneof![
            Just("\n"),
            Just("   \n"),
            Just("# a comment\n"),
            Just("  // another  \n"),
            Just("/* block\n   comment */\n"),
            Just("\t# tabbed\n"),
        ]
        .prop_map(|s| Item::Raw(s.to_string()));
        let leaf = prop_oneof![4 => attr, 2 => raw];
        leaf.prop_recursive(3, 30, 6, |inner| {
            let header = prop_oneof![
                Just("control \"c\""),
                Just("dashboard   d"),
                Just("container"),
                Just("input \"i\"\t\"j\""),
                Just("  card"),
            ];
            prop_oneof![
                (
                    header.clone(),
                    prop::collection::vec(inner, 0..6),
                    line_end()
                )
                    .prop_map(|(h, body, end)| Item::Block(
                        h.to_string(),
                        body,
                        end
                    )),
                (header.clone(), expr()).prop_map(|(h, e)| Item::OneLine(h.to_string(), e)),
                header.prop_map(|h| Item::Raw(format!("{h}   {{}}\n"))),
            ]
        })
        .prop_map(|i| vec![i])
        .prop_recursive(1, 8, 8, |v| {
            prop::collection::vec(v, 1..8).prop_map(|vs| vs.concat())
        })
    }

    /// Renders items with unique attribute names.
    pub fn render(items: &[Item], depth: usize, counter: &mut usize, out: &mut String) {
        for item in items {
            let indent = ["", "  ", "\t", "    ", " "][(*counter + depth) % 5];
            match item {
                Item::Attr(a, b, e, end) => {
                    *counter += 1;
                    let name = ["a", "long_name", "x-y", "b", "title"][*counter % 5];
                    out.push_str(&format!("{indent}{name}{}{a}={b}{e}{end}\n", *counter));
                }
                Item::Block(h, body, end) => {
                    out.push_str(&format!("{indent}{h} {{{end}\n"));
                    render(body, depth + 1, counter, out);
                    out.push_str(&format!("{indent}}}\n"));
                }
                Item::OneLine(h, e) => {
                    *counter += 1;
                    out.push_str(&format!("{indent}{h} {{ v{} = {e} }}\n", *counter));
                }
                Item::Raw(s) => out.push_str(s),
            }
        }
    }

    /// A whole document, sometimes with CRLF line ends or a byte-order mark.
    pub fn document() -> impl Strategy<Value = String> {
        (items(), 0..10usize).prop_map(|(items, variant)| {
            let mut out = String::new();
            let mut counter = 0;
            render(&items, 0, &mut counter, &mut out);
            match variant {
                0 => out.replace('\n', "\r\n"),
                1 => out.trim_end().to_string(),
                2 => format!("\u{feff}{out}"),
                3 => format!("\n\n{out}\n\n  "),
                _ => out,
            }
        })
    }
}

/// Shrinks a failing generated document with proptest's value tree, one reference run
/// per candidate; returns the smallest failing text found and why it fails.
fn shrink(
    r: &reference::Reference,
    mut tree: impl ValueTree<Value = String>,
    mut why: String,
) -> (String, String) {
    let mut best = tree.current();
    for _ in 0..400 {
        if !tree.simplify() {
            break;
        }
        let candidate = tree.current();
        let verdict = &r.format_all(&[candidate.as_bytes()])[0];
        match compare(r, &candidate, verdict) {
            Some(w) => {
                best = candidate;
                why = w;
            }
            None => {
                if !tree.complicate() {
                    break;
                }
            }
        }
    }
    (best, why)
}

#[test]
fn generated_documents_format_like_hclwrite() {
    let Some(r) = reference_or_skip() else { return };
    let strategy = hcl_gen::document();
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    );
    // MODLENS_FMT_DOCS overrides the count (to iterate quickly, or to search longer).
    let count = std::env::var("MODLENS_FMT_DOCS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(GENERATED_DOCS);
    let docs: Vec<String> = (0..count)
        .map(|_| {
            strategy
                .new_tree(&mut runner)
                .expect("a generated document")
                .current()
        })
        .collect();
    let bytes: usize = docs.iter().map(String::len).sum();
    let started = Instant::now();
    let refs: Vec<&[u8]> = docs.iter().map(|d| d.as_bytes()).collect();
    let verdicts = r.format_all(&refs);
    let refused = verdicts.iter().filter(|v| !v.parses).count();
    let failures: Vec<usize> = (0..docs.len())
        .filter(|&i| compare(&r, &docs[i], &verdicts[i]).is_some())
        .collect();
    eprintln!(
        "{} generated documents ({bytes} bytes, {refused} refused by hclsyntax) compared in {:.1?}",
        docs.len(),
        started.elapsed()
    );
    assert!(
        refused * 20 < docs.len(),
        "the generator should make valid HCL, but hclsyntax refuses {refused}"
    );
    if let Some(&first) = failures.first() {
        // Regenerate the first failing document's tree (same seed, same order) to shrink it.
        let mut runner = TestRunner::new_with_rng(
            Config::default(),
            TestRng::deterministic_rng(RngAlgorithm::ChaCha),
        );
        let mut tree = None;
        for _ in 0..=first {
            tree = Some(
                strategy
                    .new_tree(&mut runner)
                    .expect("a generated document"),
            );
        }
        let why = compare(&r, &docs[first], &verdicts[first]).unwrap_or_default();
        let (small, why) = match tree {
            Some(t) => shrink(&r, t, why),
            None => (docs[first].clone(), why),
        };
        panic!(
            "{} of {} generated documents differ; the first, shrunk:\n{small:?}\n{why}",
            failures.len(),
            docs.len()
        );
    }
}

/// Mutated documents (one character deleted or one piece of syntax inserted).
const MUTATED_DOCS: usize = 6_000;

#[test]
fn mutated_documents_are_refused_like_hclsyntax() {
    let Some(r) = reference_or_skip() else { return };
    let strategy = hcl_gen::document();
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    );
    // Brackets, strings, comments, and the grammar's corners: template directives,
    // operators, traversals, splats, `for` parts, escapes, numbers.
    let inserts = [
        "{",
        "}",
        "\"",
        "(",
        "]",
        "=",
        "\n",
        "${",
        "#",
        ",",
        "<<EOT\n",
        "/*",
        "%{ if x }",
        "%{ endif }",
        "%{ else }",
        "%{ for v in x }",
        "%{ endfor }",
        "%{",
        "~}",
        "?",
        ":",
        "[",
        ")",
        ".",
        ".*",
        "[*]",
        ".0",
        ".0.1",
        "...",
        "=>",
        "for ",
        " in ",
        " if ",
        "\\q",
        "\\u12",
        "1.2.3",
        "+",
        "-",
        "!",
        "==",
        "&&",
        " ",
        "x",
        "1e99999999999999999999",
    ];
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move |n: usize| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((seed >> 33) as usize) % n.max(1)
    };
    let docs: Vec<String> = (0..MUTATED_DOCS)
        .map(|_| {
            let mut doc = strategy
                .new_tree(&mut runner)
                .expect("a generated document")
                .current();
            let bounds: Vec<usize> = doc.char_indices().map(|(i, _)| i).collect();
            if bounds.is_empty() {
                return doc;
            }
            let at = bounds[next(bounds.len())];
            if next(2) == 0 {
                doc.remove(at);
            } else {
                doc.insert_str(at, inserts[next(inserts.len())]);
            }
            doc
        })
        .collect();
    let refs: Vec<&[u8]> = docs.iter().map(|d| d.as_bytes()).collect();
    let verdicts = r.format_all(&refs);
    let refused = verdicts.iter().filter(|v| !v.parses).count();
    let failures: Vec<String> = docs
        .iter()
        .zip(&verdicts)
        .filter_map(|(d, v)| compare(&r, d, v).map(|why| format!("{d:?}\n{why}")))
        .collect();
    // Where both refuse: is the error where hclsyntax's first error is?
    let (mut same_place, mut same_line, mut both) = (0, 0, 0);
    for (d, v) in docs.iter().zip(&verdicts) {
        if let (Err(e), false) = (format(d), v.parses) {
            both += 1;
            same_line += usize::from(e.line == v.error_at.0);
            same_place += usize::from((e.line, e.column) == v.error_at);
            if (e.line, e.column) != v.error_at
                && std::env::var_os("MODLENS_FMT_POSITIONS").is_some()
            {
                eprintln!("{d:?}\n  hclsyntax {:?}, modlens {e}", v.error_at);
            }
        }
    }
    eprintln!(
        "{} mutated documents, {refused} refused by hclsyntax, {} disagreements; of the \
         refused, the error is at hclsyntax's position in {same_place}, on its line in \
         {same_line}",
        docs.len(),
        failures.len()
    );
    assert!(
        same_line * 100 >= both * 95,
        "errors on hclsyntax's line in only {same_line} of {both} refused documents"
    );
    assert!(
        failures.is_empty(),
        "{} of {} mutated documents; the first three:\n{}",
        failures.len(),
        docs.len(),
        failures
            .iter()
            .take(3)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n\n")
    );
}
