//! Differential test: the scanner (`modlens::syntax::scan`) against a full HCL parse by
//! hcl-rs (its `hcl-edit` parser, which keeps spans) as the oracle.
//!
//! Inputs: every `*.pp *.sp *.fp *.tp` file of every valid fixture (hidden directories
//! included), a generated mod (`modlens::generate`, size 0.2), hand-written edge cases
//! (`SNIPPETS`) and random valid HCL (`HclGen`, 300 files; `PROPTEST_CASES` raises it,
//! `DIFF_SEED=n` runs one seed and prints it, `DIFF_KEEP_GOING=1` lists every mismatch).
//!
//! Compared, block by block in source pre-order: type, labels (joined with `.`; none ⇔
//! `anonymous`), parent, role, start and end offsets; the scanner's `local` pseudo-blocks
//! against the attributes of `locals` blocks; the value span of every attribute the scanner
//! records (none for one set to `null`: Powerpipe's "not set"); the values of `title` and
//! `description` (literal text, scalar or expression), literal `tags`, `children` reference
//! lists and `query` / `base` references; and every reference of the file, in order, with
//! the block that holds it.
//!
//! Where hcl-rs 0.20 departs from HCL itself (noted where it matters), the scanner is held to
//! HCL's rule instead. Scanner bugs found this way keep a minimal regression test at the end.
//!
//! The broken fixtures are checked against the data in `fixtures/README.md`: diagnostics at the
//! listed positions and the blocks that must be indexed.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use hcl::edit::Span as _;
use hcl::edit::structure as hs;
use hcl::{Expression, ObjectKey, TraversalOperator};
use modlens::syntax::{self, AttrKey, AttrValue, BlockRole, FileIndex, Reference};

const EXTENSIONS: &[&str] = &["pp", "sp", "fp", "tp"];
const BOM: &[u8] = b"\xEF\xBB\xBF";

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// Every HCL file under `dir`, recursively (hidden directories included), sorted.
fn hcl_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).unwrap_or_else(|e| panic!("read {}: {e}", d.display()));
        for entry in entries {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| EXTENSIONS.contains(&e))
            {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The fixture directories, split into (valid, broken).
fn fixture_dirs() -> (Vec<PathBuf>, Vec<PathBuf>) {
    let mut valid = Vec::new();
    let mut broken = Vec::new();
    for entry in std::fs::read_dir(fixtures_dir()).expect("fixtures dir") {
        let path = entry.expect("dir entry").path();
        if !path.is_dir() {
            continue;
        }
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with("broken_") {
            broken.push(path);
        } else {
            valid.push(path);
        }
    }
    valid.sort();
    broken.sort();
    (valid, broken)
}

// ----- the oracle's classification --------------------------------------------------------
//
// The oracle keeps its own lists, written from Powerpipe's schema rather than taken from the
// scanner (a word dropped from the scanner's list must make this test fail, not change what
// it expects):
//
// * turbot/pipe-fittings `schema/block_type.go`: the block type constants, `ReferenceBlocks`
//   and `ValidResourceItemTypes` (the resource types a reference names: `query`, `control`,
//   `benchmark`, `dashboard`, `container`, `card`, `chart`, `flow`, `graph`, `hierarchy`,
//   `image`, `input`, `table`, `text`, `node`, `edge`, `category`, `with`; and `var`,
//   `local`, `param`, `pipeline`);
// * turbot/pipe-fittings `parse/schema.go`: `DashboardBlockSchema` and
//   `DashboardContainerBlockSchema`, the blocks a dashboard or container nests;
// * turbot/powerpipe `internal/parse/schema.go` (`GetResourceSchema`): Powerpipe adds
//   `dashboard`, `detection` and `detection_benchmark` to what a dashboard or container
//   nests (and the two detection types to a `detection_benchmark`), `category`, `node` and
//   `edge` to the node-and-edge providers (`flow`, `graph`, `hierarchy`) and `with` to the
//   with-providers.

/// Resource types, as a reference names them (`TYPE.NAME`): pipe-fittings's resource block
/// types and Powerpipe's two detection types.
const ORACLE_RESOURCE_TYPES: &[&str] = &[
    "benchmark",
    "card",
    "category",
    "chart",
    "container",
    "control",
    "dashboard",
    "detection",
    "detection_benchmark",
    "edge",
    "flow",
    "graph",
    "hierarchy",
    "image",
    "input",
    "node",
    "query",
    "table",
    "text",
    "with",
];

/// Block types that are resources of their own when nested in a resource (the schemas
/// above); any other nested block is a member of its parent.
///
/// One departure, kept on purpose and listed here so that it is visible: no schema above
/// lets a `query` block nest (Powerpipe rejects one as an unsupported block type), but the
/// scanner indexes a nested `query` as a resource (and `modlens check` does not report it).
const ORACLE_NESTED_RESOURCE_TYPES: &[&str] = &[
    "benchmark",
    "card",
    "category",
    "chart",
    "container",
    "control",
    "dashboard",
    "detection",
    "detection_benchmark",
    "edge",
    "flow",
    "graph",
    "hierarchy",
    "image",
    "input",
    "node",
    "query", // the departure above
    "table",
    "text",
    "with",
];

/// Names that start a reference besides a resource type: `var.x`, `local.x`, `param.x`,
/// `self.…` and Flowpipe's `pipeline.x` (pipe-fittings's `AttributeVar`, `AttributeLocal`,
/// `BlockTypeParam`, `BlockTypePipeline`).
const ORACLE_OTHER_ROOTS: &[&str] = &["var", "local", "self", "param", "pipeline"];

fn oracle_nested_resource(kind: &str) -> bool {
    ORACLE_NESTED_RESOURCE_TYPES.contains(&kind)
}

fn oracle_reference_root(word: &str) -> bool {
    ORACLE_OTHER_ROOTS.contains(&word) || ORACLE_RESOURCE_TYPES.contains(&word)
}

/// What may follow a dependency mod's name: its variables, its locals (an error the
/// resolver reports, but a reference all the same) and its resources.
fn oracle_module_member(word: &str) -> bool {
    matches!(word, "var" | "local") || ORACLE_RESOURCE_TYPES.contains(&word)
}

// ----- the oracle's view -------------------------------------------------------------------

/// One block (or local) of the hcl-rs parse, in pre-order.
struct OBlock<'a> {
    kind: String,
    /// Labels joined with `.`; `None` when there is none. The attribute name for a local.
    label: Option<String>,
    parent: Option<usize>,
    role: BlockRole,
    /// Raw-file offsets (the BOM included).
    start: usize,
    end: usize,
    /// Where go-to-definition lands: the first label (inside its quotes), else the type (or
    /// a local's name).
    name_span: (usize, usize),
    /// The block's attributes (empty for a local).
    attrs: Vec<&'a hs::Attribute>,
    /// For a local: its attribute.
    local: Option<&'a hs::Attribute>,
}

/// Flattens a body into `out` (pre-order) and its references into `refs` (source order,
/// each with the index of the block, or local, whose attribute holds it).
fn flatten<'a>(
    body: &'a hs::Body,
    parent: Option<usize>,
    base: usize,
    out: &mut Vec<OBlock<'a>>,
    refs: &mut Vec<(Option<usize>, Vec<String>)>,
) {
    let parent_role = parent.map(|p| out[p].role);
    let in_locals = parent_role == Some(BlockRole::Locals);
    for structure in body.iter() {
        match structure {
            hs::Structure::Block(block) => {
                let kind = block.ident.as_str().to_string();
                let label = if block.labels.is_empty() {
                    None
                } else {
                    Some(
                        block
                            .labels
                            .iter()
                            .map(|l| l.as_str())
                            .collect::<Vec<_>>()
                            .join("."),
                    )
                };
                let role = match parent_role {
                    None if kind == "locals" => BlockRole::Locals,
                    None if label.is_some() => BlockRole::Resource,
                    None => BlockRole::Member,
                    Some(BlockRole::Resource) if oracle_nested_resource(&kind) => {
                        BlockRole::Resource
                    }
                    Some(_) => BlockRole::Member,
                };
                let span = block.span().expect("parsed block has a span");
                let ident = block.ident.span().expect("parsed ident has a span");
                let name_span = match block.labels.first() {
                    Some(l @ hs::BlockLabel::String(_)) => {
                        let r = l.span().expect("parsed label has a span");
                        (base + r.start + 1, base + r.end - 1)
                    }
                    Some(l) => {
                        let r = l.span().expect("parsed label has a span");
                        (base + r.start, base + r.end)
                    }
                    None => (base + ident.start, base + ident.end),
                };
                let id = out.len();
                out.push(OBlock {
                    kind,
                    label,
                    parent,
                    role,
                    start: base + ident.start,
                    end: base + span.end,
                    name_span,
                    // A `locals` block's attributes are its locals, compared as such.
                    attrs: if role == BlockRole::Locals {
                        Vec::new()
                    } else {
                        block.body.attributes().collect()
                    },
                    local: None,
                });
                flatten(&block.body, Some(id), base, out, refs);
            }
            hs::Structure::Attribute(attr) if in_locals => {
                let key = attr.key.span().expect("parsed key has a span");
                let value = attr.value.span().expect("parsed value has a span");
                out.push(OBlock {
                    kind: "local".to_string(),
                    label: Some(attr.key.as_str().to_string()),
                    parent,
                    role: BlockRole::Local,
                    start: base + key.start,
                    end: base + value.end,
                    name_span: (base + key.start, base + key.end),
                    attrs: Vec::new(),
                    local: Some(attr),
                });
                attr_refs(attr, Some(out.len() - 1), refs);
            }
            hs::Structure::Attribute(attr) => attr_refs(attr, parent, refs),
        }
    }
}

fn attr_refs(
    attr: &hs::Attribute,
    owner: Option<usize>,
    refs: &mut Vec<(Option<usize>, Vec<String>)>,
) {
    let expr: Expression = attr.value.clone().into();
    let mut found = Vec::new();
    expr_refs(&expr, &mut found);
    refs.extend(found.into_iter().map(|r| (owner, r)));
}

// ----- expected values from the oracle -----------------------------------------------------

/// The text of a string literal, or of a template (quoted or heredoc) with no interpolation
/// and no directive, as evaluated.
fn literal_string(expr: &Expression) -> Option<String> {
    match expr {
        Expression::String(s) => Some(s.clone()),
        Expression::TemplateExpr(t) => {
            let template = hcl::Template::from_expr(t).ok()?;
            let mut text = String::new();
            for element in template.elements() {
                match element {
                    hcl::template::Element::Literal(s) => text.push_str(s),
                    _ => return None,
                }
            }
            // The scanner keeps a heredoc's CRLF line ends, as Go's HCL does
            // (`syntax::decode_heredoc`); hcl-rs 0.20 drops them for a `<<-` heredoc it
            // dedents and keeps them otherwise: compare modulo line ends (see `same_text`).
            if matches!(**t, hcl::TemplateExpr::Heredoc(_)) {
                text = text.replace("\r\n", "\n");
            }
            Some(text)
        }
        _ => None,
    }
}

/// Literal texts compared modulo CRLF (see `literal_string`).
fn same_text(scanner: &str, oracle: &str) -> bool {
    scanner == oracle || scanner.replace("\r\n", "\n") == oracle.replace("\r\n", "\n")
}

/// A literal number or bool, as text. `null` is no literal: an attribute set to it is not
/// set (Powerpipe's gohcl decoding leaves the field nil), and a tag set to it is an error.
fn literal_scalar(expr: &Expression) -> Option<String> {
    match expr {
        Expression::Number(n) => Some(n.to_string()),
        Expression::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The segments of a plain traversal `a.b.c` (attribute access only), else `None`.
fn plain_traversal(expr: &Expression) -> Option<Vec<String>> {
    let Expression::Traversal(t) = expr else {
        return None;
    };
    let Expression::Variable(root) = &t.expr else {
        return None;
    };
    let mut segments = vec![root.as_str().to_string()];
    for op in &t.operators {
        match op {
            TraversalOperator::GetAttr(ident) => segments.push(ident.as_str().to_string()),
            _ => return None,
        }
    }
    Some(segments)
}

/// The segments of a traversal that is exactly one reference by Powerpipe's naming:
/// `TYPE.NAME` (`var.x`, `local.x`, `control.x`, ...), `MOD.TYPE.NAME` or `self.TYPE.NAME`.
/// `query.x.sql` and `foo.bar` are not.
fn plain_reference(expr: &Expression) -> Option<Vec<String>> {
    let segments = plain_traversal(expr)?;
    let shaped = match segments.as_slice() {
        [root, _] => root != "self" && oracle_reference_root(root),
        [root, kind, _] => {
            root == "self" || (!oracle_reference_root(root) && oracle_module_member(kind))
        }
        _ => false,
    };
    shaped.then_some(segments)
}

/// The reference a traversal starts with, as the scanner defines one (segments, `self`
/// first for a scoped one): `ROOT.NAME` for a reference root (`var`, `local`, `param`, `with`,
/// `pipeline`, a resource type), `self.KIND.NAME`, or `MOD.TYPE.NAME` for a dependency's
/// resource; what follows (`.sql`, `[0]`, ...) is not part of it.
fn leading_reference(t: &hcl::Traversal) -> Option<Vec<String>> {
    let Expression::Variable(root) = &t.expr else {
        return None;
    };
    let root = root.as_str();
    let attr = |i: usize| match t.operators.get(i) {
        Some(TraversalOperator::GetAttr(id)) => Some(id.as_str().to_string()),
        _ => None,
    };
    let second = attr(0)?;
    if root != "self" && oracle_reference_root(root) {
        return Some(vec![root.to_string(), second]);
    }
    if root == "self" || oracle_module_member(&second) {
        return Some(vec![root.to_string(), second, attr(1)?]);
    }
    None
}

/// Every reference in an expression, in source order.
fn expr_refs(expr: &Expression, out: &mut Vec<Vec<String>>) {
    match expr {
        Expression::Null
        | Expression::Bool(_)
        | Expression::Number(_)
        | Expression::String(_)
        | Expression::Variable(_) => {}
        Expression::Array(items) => items.iter().for_each(|e| expr_refs(e, out)),
        Expression::Object(object) => {
            for (key, value) in object {
                if let ObjectKey::Expression(k) = key {
                    expr_refs(k, out);
                }
                expr_refs(value, out);
            }
        }
        Expression::TemplateExpr(t) => {
            if let Ok(template) = hcl::Template::from_expr(t) {
                template_refs(&template, out);
            }
        }
        Expression::Traversal(t) => {
            match leading_reference(t) {
                Some(segments) => out.push(segments),
                None => expr_refs(&t.expr, out),
            }
            for op in &t.operators {
                if let TraversalOperator::Index(e) = op {
                    expr_refs(e, out);
                }
            }
        }
        Expression::FuncCall(f) => f.args.iter().for_each(|e| expr_refs(e, out)),
        Expression::Parenthesis(e) => expr_refs(e, out),
        Expression::Conditional(c) => {
            expr_refs(&c.cond_expr, out);
            expr_refs(&c.true_expr, out);
            expr_refs(&c.false_expr, out);
        }
        Expression::Operation(op) => match &**op {
            hcl::Operation::Unary(u) => expr_refs(&u.expr, out),
            hcl::Operation::Binary(b) => {
                expr_refs(&b.lhs_expr, out);
                expr_refs(&b.rhs_expr, out);
            }
        },
        Expression::ForExpr(f) => {
            expr_refs(&f.collection_expr, out);
            if let Some(k) = &f.key_expr {
                expr_refs(k, out);
            }
            expr_refs(&f.value_expr, out);
            if let Some(c) = &f.cond_expr {
                expr_refs(c, out);
            }
        }
        _ => {}
    }
}

fn template_refs(template: &hcl::Template, out: &mut Vec<Vec<String>>) {
    use hcl::template::{Directive, Element};
    for element in template.elements() {
        match element {
            Element::Literal(_) => {}
            Element::Interpolation(i) => expr_refs(&i.expr, out),
            Element::Directive(d) => match &**d {
                Directive::If(d) => {
                    expr_refs(&d.cond_expr, out);
                    template_refs(&d.true_template, out);
                    if let Some(f) = &d.false_template {
                        template_refs(f, out);
                    }
                }
                Directive::For(d) => {
                    expr_refs(&d.collection_expr, out);
                    template_refs(&d.template, out);
                }
            },
        }
    }
}

/// A scanner reference as traversal segments.
fn ref_segments(index: &FileIndex, r: &Reference) -> Vec<String> {
    let mut segments = Vec::new();
    if r.scoped() {
        segments.push("self".to_string());
    }
    if let Some(m) = r.module {
        segments.push(index.str(m).to_string());
    }
    segments.push(index.str(r.kind).to_string());
    segments.push(index.str(r.name).to_string());
    segments
}

/// Literal `{ key = "value", "k" : 1 }` pairs (value as text), else `None`.
fn literal_tags(expr: &Expression) -> Option<Vec<(String, String)>> {
    let Expression::Object(object) = expr else {
        return None;
    };
    let mut pairs = Vec::new();
    for (key, value) in object {
        let key = match key {
            ObjectKey::Identifier(id) => id.as_str().to_string(),
            ObjectKey::Expression(e) => literal_string(e)?,
            _ => return None,
        };
        let value = literal_string(value).or_else(|| literal_scalar(value))?;
        pairs.push((key, value));
    }
    Some(pairs)
}

/// Numbers compare by value (`1.50` as written vs `1.5` from hcl-rs), everything else as text.
fn same_scalar(scanner: &str, oracle: &str) -> bool {
    if scanner == oracle {
        return true;
    }
    match (scanner.parse::<f64>(), oracle.parse::<f64>()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

// ----- the comparison ----------------------------------------------------------------------

#[derive(Default, Debug)]
struct Summary {
    files: usize,
    blocks: usize,
    locals: usize,
    titles: usize,
    titles_literal: usize,
    descriptions: usize,
    children_lists: usize,
    children_refs: usize,
    tags: usize,
    query_base_refs: usize,
    attr_spans: usize,
    references: usize,
}

fn describe_value(index: &FileIndex, value: &AttrValue) -> String {
    match *value {
        AttrValue::Str(s) => format!("Str({:?})", index.str(s)),
        AttrValue::Scalar(s) => format!("Scalar({})", index.str(s)),
        AttrValue::Tags(_) => {
            let tags: Vec<String> = index
                .tag_list(value)
                .iter()
                .map(|t| format!("{:?}:{:?}", index.str(t.key), index.str(t.value)))
                .collect();
            format!("Tags{{{}}}", tags.join(", "))
        }
        AttrValue::RefList(_) | AttrValue::Ref(_) => {
            let refs: Vec<String> = index
                .ref_list(value)
                .iter()
                .map(|r| ref_segments(index, r).join("."))
                .collect();
            let kind = if matches!(value, AttrValue::Ref(_)) {
                "Ref"
            } else {
                "RefList"
            };
            format!("{kind}[{}]", refs.join(", "))
        }
        AttrValue::Expr(Some(s)) => format!("Expr({:?})", index.str(s)),
        AttrValue::Expr(None) => "Expr(<span>)".to_string(),
        AttrValue::Text => "Text(<span>)".to_string(),
    }
}

/// Compares one file's scan with its hcl-rs parse; returns every mismatch found.
fn compare_file(label: &str, raw: &[u8], summary: &mut Summary) -> Vec<String> {
    let mut errors = Vec::new();
    let index = syntax::scan(raw);
    let (text, base) = match raw.strip_prefix(BOM) {
        Some(rest) => (rest, BOM.len()),
        None => (raw, 0),
    };
    let Ok(text) = std::str::from_utf8(text) else {
        return vec![format!("{label}: not UTF-8, cannot be compared")];
    };
    let body = match hcl::edit::parser::parse_body(text) {
        Ok(body) => body,
        Err(e) => return vec![format!("{label}: hcl-rs does not parse it: {e}")],
    };
    let mut oracle = Vec::new();
    let mut oracle_refs = Vec::new();
    flatten(&body, None, base, &mut oracle, &mut oracle_refs);
    summary.files += 1;

    // Every reference, in order, with the block (or local) that holds it.
    let scanner_refs: Vec<(Option<usize>, Vec<String>)> = index
        .refs
        .iter()
        .map(|r| (r.block().map(|b| b.index()), ref_segments(&index, r)))
        .collect();
    summary.references += oracle_refs.len();
    if scanner_refs != oracle_refs {
        let at = scanner_refs
            .iter()
            .zip(&oracle_refs)
            .position(|(a, b)| a != b)
            .unwrap_or(scanner_refs.len().min(oracle_refs.len()));
        let show = |refs: &[(Option<usize>, Vec<String>)]| {
            refs.iter()
                .skip(at)
                .take(3)
                .map(|(b, r)| format!("{} in #{}", r.join("."), b.map_or(-1, |b| b as i64)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        errors.push(format!(
            "{label}: references differ from #{at} (hcl-rs {} refs, scanner {}): hcl-rs [{}] vs scanner [{}]",
            oracle_refs.len(),
            scanner_refs.len(),
            show(&oracle_refs),
            show(&scanner_refs)
        ));
    }

    if !index.diagnostics.is_empty() {
        for d in &index.diagnostics {
            errors.push(format!(
                "{label}:{}:{}: scanner diagnostic on a file hcl-rs accepts: {}",
                d.start.line, d.start.column, d.message
            ));
        }
    }

    let n = oracle.len().max(index.blocks.len());
    for i in 0..n {
        let (Some(o), Some(b)) = (oracle.get(i), index.blocks.get(i)) else {
            let extra: Vec<String> = if oracle.len() > index.blocks.len() {
                oracle[i..]
                    .iter()
                    .map(|o| format!("{} {:?} @{}", o.kind, o.label, o.start))
                    .collect()
            } else {
                index.blocks[i..]
                    .iter()
                    .map(|b| {
                        format!(
                            "{} {:?} @{}",
                            index.str(b.kind),
                            index.str(b.name),
                            b.start.byte
                        )
                    })
                    .collect()
            };
            errors.push(format!(
                "{label}: block count differs: hcl-rs {} vs scanner {}; extra from #{i}: {}",
                oracle.len(),
                index.blocks.len(),
                extra.join("; ")
            ));
            break;
        };
        summary.blocks += 1;
        let kind = index.str(b.kind);
        let scanner_label = (!b.anonymous).then(|| index.str(b.name).to_string());
        let at = format!(
            "{label}:{}:{}: block #{i} `{} {}`",
            b.start.line,
            b.start.column,
            o.kind,
            o.label.as_deref().unwrap_or("<no label>")
        );
        let mut field = |name: &str, oracle: String, scanner: String| {
            if oracle != scanner {
                errors.push(format!(
                    "{at}: {name} differs: hcl-rs {oracle} vs scanner {scanner}"
                ));
            }
        };
        field("type", format!("{:?}", o.kind), format!("{kind:?}"));
        field(
            "label",
            format!("{:?}", o.label),
            format!("{scanner_label:?}"),
        );
        field(
            "parent",
            format!("{:?}", o.parent),
            format!("{:?}", b.parent.map(|p| p.index())),
        );
        field("role", format!("{:?}", o.role), format!("{:?}", b.role));
        field("start byte", o.start.to_string(), b.start.byte.to_string());
        field("end byte", o.end.to_string(), b.end.byte.to_string());
        let ns = b.name_span();
        field(
            "name span",
            format!("{:?}", o.name_span),
            format!("{:?}", (ns.start as usize, ns.end as usize)),
        );
        if oracle.get(i).is_none_or(|o| o.kind != kind) {
            // The lists are out of step; what follows would only be noise.
            break;
        }

        if o.local.is_some() {
            // A local records no attribute: its value is read back from its span (which ends
            // where the value does, compared above as the end byte).
            summary.locals += 1;
            if !index.attrs_of(b).is_empty() {
                errors.push(format!("{at}: a local records attributes"));
            }
            continue;
        }

        // Every attribute the scanner recorded exists in hcl-rs, with the same value span.
        for a in index.attrs_of(b) {
            let Some(oa) = o.attrs.iter().find(|oa| oa.key.as_str() == a.key.as_str()) else {
                errors.push(format!(
                    "{at}: scanner records attribute `{}` that hcl-rs does not have",
                    a.key.as_str()
                ));
                continue;
            };
            summary.attr_spans += 1;
            let vs = oa.value.span().expect("value span");
            let want = (base + vs.start, base + vs.end);
            let got = (a.span.start as usize, a.span.end as usize);
            if want != got {
                errors.push(format!(
                    "{at}: `{}` value span differs: hcl-rs {want:?} {:?} vs scanner {got:?} {:?}",
                    a.key.as_str(),
                    String::from_utf8_lossy(raw.get(want.0..want.1).unwrap_or(&[])),
                    String::from_utf8_lossy(raw.get(got.0..got.1).unwrap_or(&[])),
                ));
            }
        }

        // Every attribute hcl-rs has that the scanner records is there, with the same value;
        // one set to `null` is not set (Powerpipe's rule), so not recorded.
        for oa in &o.attrs {
            let Some(key) = AttrKey::from_name(oa.key.as_str().as_bytes()) else {
                continue;
            };
            if matches!(Expression::from(oa.value.clone()), Expression::Null) {
                if index.attr(b, key).is_some() {
                    errors.push(format!(
                        "{at}: `{} = null` is recorded (null is not set)",
                        key.as_str()
                    ));
                }
                continue;
            }
            let Some(a) = index.attr(b, key) else {
                errors.push(format!(
                    "{at}: attribute `{}` missing from the scanner's attributes",
                    key.as_str()
                ));
                continue;
            };
            let expr: Expression = oa.value.clone().into();
            let got = describe_value(&index, &a.value());
            let mut mismatch = |want: String| {
                errors.push(format!(
                    "{at}: `{}` differs: hcl-rs {want} vs scanner {got}",
                    key.as_str()
                ));
            };
            match key {
                AttrKey::Title | AttrKey::Description => {
                    if key == AttrKey::Title {
                        summary.titles += 1;
                    } else {
                        summary.descriptions += 1;
                    }
                    if let Some(want) = literal_string(&expr) {
                        if key == AttrKey::Title {
                            summary.titles_literal += 1;
                        }
                        // A literal title is copied (`Str`); a literal description may be
                        // left in the source (`Text`, decoded from the span on demand).
                        match a.value() {
                            AttrValue::Str(s) if same_text(index.str(s), &want) => {}
                            AttrValue::Text
                                if key == AttrKey::Description
                                    && same_text(
                                        &syntax::decode_literal(&raw[a.span.range()]),
                                        &want,
                                    ) => {}
                            AttrValue::Text => mismatch(format!(
                                "Str({want:?}) (Text decodes to {:?})",
                                syntax::decode_literal(&raw[a.span.range()])
                            )),
                            _ => mismatch(format!("Str({want:?})")),
                        }
                    } else if let Some(want) = literal_scalar(&expr) {
                        match a.value() {
                            AttrValue::Scalar(s) if same_scalar(index.str(s), &want) => {}
                            _ => mismatch(format!("Scalar({want})")),
                        }
                    } else {
                        let vs = oa.value.span().expect("value span");
                        let text = String::from_utf8_lossy(&raw[base + vs.start..base + vs.end]);
                        // A non-literal title keeps its text; a description only its span
                        // (compared above).
                        match a.value() {
                            AttrValue::Expr(Some(s)) if index.str(s) == text => {}
                            AttrValue::Expr(None) if key == AttrKey::Description => {}
                            _ => mismatch(format!("Expr({text:?})")),
                        }
                    }
                }
                AttrKey::Children => {
                    summary.children_lists += 1;
                    let want: Option<Vec<Vec<String>>> = match &expr {
                        Expression::Array(items) => items.iter().map(plain_reference).collect(),
                        _ => None,
                    };
                    match (want, a.value()) {
                        (Some(want), AttrValue::RefList(_)) => {
                            let got_refs: Vec<Vec<String>> = index
                                .ref_list(&a.value())
                                .iter()
                                .map(|r| ref_segments(&index, r))
                                .collect();
                            summary.children_refs += want.len();
                            if got_refs != want {
                                mismatch(format!("{want:?}"));
                            }
                        }
                        (Some(want), _) => mismatch(format!("RefList{want:?}")),
                        (None, AttrValue::Expr(_)) => {}
                        (None, _) => mismatch(format!("Expr (not a list of references): {expr}")),
                    }
                }
                AttrKey::Tags => {
                    summary.tags += 1;
                    match (literal_tags(&expr), a.value()) {
                        (Some(want), AttrValue::Tags(_)) => {
                            let got_tags = index.tag_list(&a.value());
                            let same = got_tags.len() == want.len()
                                && got_tags.iter().zip(&want).all(|(t, (k, v))| {
                                    index.str(t.key) == k && same_scalar(index.str(t.value), v)
                                });
                            if !same {
                                mismatch(format!("Tags{want:?}"));
                            }
                        }
                        (Some(want), _) => mismatch(format!("Tags{want:?}")),
                        (None, AttrValue::Expr(_)) => {}
                        (None, _) => mismatch(format!("Expr (not literal tags): {expr}")),
                    }
                }
                AttrKey::Query | AttrKey::Base => match (plain_reference(&expr), a.value()) {
                    (Some(want), AttrValue::Ref(_)) => {
                        summary.query_base_refs += 1;
                        let got_refs: Vec<Vec<String>> = index
                            .ref_list(&a.value())
                            .iter()
                            .map(|r| ref_segments(&index, r))
                            .collect();
                        if got_refs != [want.clone()] {
                            mismatch(format!("Ref{want:?}"));
                        }
                    }
                    (Some(want), _) => mismatch(format!("Ref{want:?}")),
                    (None, AttrValue::Expr(_)) => {}
                    (None, _) => mismatch(format!("Expr (not a single reference): {expr}")),
                },
                _ => {}
            }
        }
    }
    errors
}

/// Runs the differential over every HCL file under `dir`; panics with every mismatch.
fn differential(name: &str, dirs: &[PathBuf], root: &Path) -> Summary {
    let mut summary = Summary::default();
    let mut errors = Vec::new();
    for dir in dirs {
        for file in hcl_files(dir) {
            let raw =
                std::fs::read(&file).unwrap_or_else(|e| panic!("read {}: {e}", file.display()));
            let label = file
                .strip_prefix(root)
                .unwrap_or(&file)
                .display()
                .to_string();
            errors.extend(compare_file(&label, &raw, &mut summary));
        }
    }
    println!(
        "differential[{name}]: {} files, {} blocks (incl. {} locals), {} titles ({} literal), \
         {} descriptions, {} children lists ({} refs), {} tags, {} query/base refs, {} attribute spans, \
         {} references",
        summary.files,
        summary.blocks,
        summary.locals,
        summary.titles,
        summary.titles_literal,
        summary.descriptions,
        summary.children_lists,
        summary.children_refs,
        summary.tags,
        summary.query_base_refs,
        summary.attr_spans,
        summary.references,
    );
    if !errors.is_empty() {
        let mut msg = format!(
            "{} mismatches between the scanner and hcl-rs:\n",
            errors.len()
        );
        for e in &errors {
            let _ = writeln!(msg, "  {e}");
        }
        panic!("{msg}");
    }
    summary
}

#[test]
fn fixtures_agree_with_hcl_rs() {
    let (valid, _) = fixture_dirs();
    assert!(
        valid.len() >= 20,
        "expected the valid fixtures, found {}",
        valid.len()
    );
    let summary = differential("fixtures", &valid, &fixtures_dir());
    // The walk must reach every file type and the hidden dependency directory.
    assert!(summary.files >= 80, "only {} files compared", summary.files);
    assert!(
        summary.blocks >= 350,
        "only {} blocks compared",
        summary.blocks
    );
    assert!(summary.titles_literal > 100 && summary.children_refs > 30);
}

#[test]
fn fixture_walk_includes_hidden_dirs_and_all_extensions() {
    let (valid, _) = fixture_dirs();
    let files: Vec<PathBuf> = valid.iter().flat_map(|d| hcl_files(d)).collect();
    let has = |needle: &str| {
        files
            .iter()
            .any(|f| f.to_string_lossy().replace('\\', "/").contains(needle))
    };
    assert!(has(
        ".powerpipe/mods/github.com/turbot/steampipe-mod-aws-insights@v1.2.0/s3/s3_bucket.pp"
    ));
    assert!(has("powerpipeignore/.hidden/hidden.pp"));
    for ext in EXTENSIONS {
        assert!(has(&format!(".{ext}")), "no .{ext} file in the fixtures");
    }
}

/// Every file of every valid fixture scans without a diagnostic (also checked inside the
/// differential, but stated on its own so a failure names it plainly).
#[test]
fn valid_fixtures_have_no_diagnostics() {
    let (valid, _) = fixture_dirs();
    let mut errors = Vec::new();
    for dir in &valid {
        for file in hcl_files(dir) {
            let raw = std::fs::read(&file).expect("read");
            let index = syntax::scan(&raw);
            for d in &index.diagnostics {
                errors.push(format!(
                    "{}:{}:{}: {}",
                    file.display(),
                    d.start.line,
                    d.start.column,
                    d.message
                ));
            }
        }
    }
    assert!(
        errors.is_empty(),
        "diagnostics on valid fixtures:\n{}",
        errors.join("\n")
    );
}

/// Every fixture file hcl-rs is told to accept does parse, and every broken one does not
/// (fixtures/README.md: "Every broken file fails to parse").
#[test]
fn fixture_files_parse_as_documented() {
    let (valid, broken) = fixture_dirs();
    for dir in &valid {
        for file in hcl_files(dir) {
            let raw = std::fs::read(&file).expect("read");
            let text = std::str::from_utf8(raw.strip_prefix(BOM).unwrap_or(&raw))
                .unwrap_or_else(|_| panic!("{} is not UTF-8", file.display()));
            if let Err(e) = hcl::edit::parser::parse_body(text) {
                panic!("{} does not parse: {e}", file.display());
            }
        }
    }
    for dir in &broken {
        let broken_file = ["controls.pp", "blob.pp"]
            .iter()
            .map(|f| dir.join(f))
            .find(|p| p.exists())
            .unwrap_or_else(|| panic!("{}: no broken file", dir.display()));
        let raw = std::fs::read(&broken_file).expect("read");
        let parses = std::str::from_utf8(&raw)
            .ok()
            .is_some_and(|t| hcl::edit::parser::parse_body(t).is_ok());
        assert!(
            !parses,
            "{} parses but should be broken",
            broken_file.display()
        );
    }
}

// ----- real mods ---------------------------------------------------------------------------

/// The same per-file differential over every `*.pp *.sp *.fp *.tp` file below the directory
/// named by `MODLENS_DIFF_DIR` (a real mod, or a tree of them); skipped when it is unset.
/// Files hcl-rs rejects are listed apart: they are not scanner mismatches.
///
/// `MODLENS_DIFF_DIR=path cargo test --release --test differential -- --nocapture real_mods`
#[test]
fn real_mods_agree_with_hcl_rs() {
    let Some(root) = std::env::var_os("MODLENS_DIFF_DIR").map(PathBuf::from) else {
        println!("real_mods_agree_with_hcl_rs: skipped (MODLENS_DIFF_DIR is unset)");
        return;
    };
    let mut summary = Summary::default();
    let (mut rejected, mut errors) = (Vec::new(), Vec::new());
    let files = hcl_files(&root);
    for file in &files {
        let raw = std::fs::read(file).unwrap_or_else(|e| panic!("read {}: {e}", file.display()));
        let label = file
            .strip_prefix(&root)
            .unwrap_or(file)
            .display()
            .to_string();
        let found = compare_file(&label, &raw, &mut summary);
        // `compare_file` answers a file hcl-rs cannot take with that one message.
        if let [only] = found.as_slice()
            && (only.contains(": hcl-rs does not parse it: ")
                || only.ends_with(": not UTF-8, cannot be compared"))
        {
            let index = syntax::scan(&raw);
            rejected.push(format!(
                "{only} (scanner: {} blocks, {} diagnostics)",
                index.blocks.len(),
                index.diagnostics.len()
            ));
        } else {
            errors.extend(found);
        }
    }
    println!(
        "differential[{}]: {} HCL files found, {} rejected by hcl-rs; {summary:?}",
        root.display(),
        files.len(),
        rejected.len()
    );
    for r in &rejected {
        println!("  rejected by hcl-rs: {r}");
    }
    assert!(
        errors.is_empty(),
        "{} mismatches between the scanner and hcl-rs:\n  {}",
        errors.len(),
        errors.join("\n  ")
    );
}

// ----- generated mods ----------------------------------------------------------------------

/// A unique temporary directory, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let path =
            std::env::temp_dir().join(format!("modlens-{tag}-{}-{nanos}", std::process::id()));
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The differential over a directory holding a generated mod.
fn generated_mod_agrees(dir: &Path) -> Summary {
    let summary = differential("generated", &[dir.to_path_buf()], dir);
    assert!(summary.files > 0, "no HCL file under {}", dir.display());
    summary
}

#[test]
fn generated_mod_agrees_with_hcl_rs() {
    let tmp = TempDir::new("differential");
    let report = modlens::generate::generate(
        &modlens::generate::GenerateOptions { size: 0.2, seed: 7 },
        &tmp.0,
    )
    .expect("generate");
    assert!(report.files > 0);
    let summary = generated_mod_agrees(&tmp.0);
    assert!(
        summary.blocks >= report.resources,
        "{summary:?} vs {report:?}"
    );
}

// ----- broken fixtures ---------------------------------------------------------------------

/// What fixtures/README.md says about one broken fixture.
struct Broken {
    fixture: &'static str,
    file: &'static str,
    /// Diagnostics that must be reported: (line, column, byte).
    diagnostics: &'static [(u32, u32, u32)],
    /// Resources that must be indexed from `file`: (type, name, line).
    must: &'static [(&'static str, &'static str, u32)],
    /// Resources that must be indexed from the other files of the fixture.
    must_elsewhere: &'static [(&'static str, &'static str, &'static str, u32)],
    /// Blocks of `file` that must not be indexed as named resources: (type, line).
    must_not: &'static [(&'static str, u32)],
}

fn check_broken(case: &Broken) {
    let dir = fixtures_dir().join(case.fixture);
    let raw = std::fs::read(dir.join(case.file)).expect("read broken file");
    let index = syntax::scan(&raw);
    let rendered = syntax::render(&index);
    let mut errors = Vec::new();
    for &(line, column, byte) in case.diagnostics {
        let found = index
            .diagnostics
            .iter()
            .any(|d| (d.start.line, d.start.column, d.start.byte) == (line, column, byte));
        if !found {
            errors.push(format!(
                "no diagnostic at {line}:{column} (byte {byte}); scanner has {:?}",
                index
                    .diagnostics
                    .iter()
                    .map(|d| format!(
                        "{}:{} (byte {}) {}",
                        d.start.line, d.start.column, d.start.byte, d.message
                    ))
                    .collect::<Vec<_>>()
            ));
        }
    }
    if !index.has_errors() {
        errors.push("no error diagnostic at all".to_string());
    }
    // The primary diagnostic is the first one (diagnostics are sorted by position).
    if let (Some(&(line, _, _)), Some(first)) =
        (case.diagnostics.first(), index.diagnostics.first())
        && first.start.line != line
    {
        errors.push(format!(
            "the first diagnostic is on line {}, the primary one is on line {line}",
            first.start.line
        ));
    }
    let indexed = |index: &FileIndex, kind: &str, name: &str, line: u32| {
        index.blocks.iter().any(|b| {
            b.role == BlockRole::Resource
                && !b.anonymous
                && index.str(b.kind) == kind
                && index.str(b.name) == name
                && b.start.line == line
        })
    };
    for &(kind, name, line) in case.must {
        if !indexed(&index, kind, name, line) {
            errors.push(format!(
                "{}: `{kind}.{name}` (line {line}) is not indexed as a Resource",
                case.file
            ));
        }
    }
    for &(file, kind, name, line) in case.must_elsewhere {
        let other = syntax::scan(&std::fs::read(dir.join(file)).expect("read"));
        if !other.diagnostics.is_empty() {
            errors.push(format!(
                "{file}: valid file beside a broken one has diagnostics"
            ));
        }
        if !indexed(&other, kind, name, line) {
            errors.push(format!(
                "{file}: `{kind}.{name}` (line {line}) is not indexed as a Resource"
            ));
        }
    }
    for &(kind, line) in case.must_not {
        if index.blocks.iter().any(|b| {
            b.role == BlockRole::Resource && index.str(b.kind) == kind && b.start.line == line
        }) {
            errors.push(format!(
                "`{kind}` at line {line} must not be indexed as a resource"
            ));
        }
    }
    // The fixture's mod.pp is valid.
    let mod_pp = syntax::scan(&std::fs::read(dir.join("mod.pp")).expect("read mod.pp"));
    if !mod_pp.diagnostics.is_empty()
        || mod_pp.blocks.first().map(|b| mod_pp.str(b.name)) != Some(case.fixture)
    {
        errors.push(format!(
            "mod.pp should declare `mod.{}` without diagnostics",
            case.fixture
        ));
    }
    assert!(
        errors.is_empty(),
        "{}/{}:\n  {}\nscanner output:\n{rendered}",
        case.fixture,
        case.file,
        errors.join("\n  ")
    );
}

#[test]
fn broken_unterminated_string() {
    check_broken(&Broken {
        fixture: "broken_unterminated_string",
        file: "controls.pp",
        diagnostics: &[(6, 11, 75)],
        must: &[
            ("query", "before", 1),
            ("control", "after", 10),
            ("query", "after_2", 15),
        ],
        must_elsewhere: &[],
        must_not: &[],
    });
}

#[test]
fn broken_deep_nesting() {
    check_broken(&Broken {
        fixture: "broken_deep_nesting",
        file: "controls.pp",
        diagnostics: &[(37, 3, 494)],
        must: &[
            ("query", "before", 1),
            ("dashboard", "deep", 5),
            ("control", "after", 143),
            ("query", "after_2", 148),
        ],
        must_elsewhere: &[],
        must_not: &[("card", 72)],
    });
}

#[test]
fn broken_unclosed_brackets() {
    check_broken(&Broken {
        fixture: "broken_unclosed_brackets",
        file: "controls.pp",
        diagnostics: &[(7, 16, 99), (16, 12, 216), (28, 1, 371)],
        must: &[
            ("query", "before", 1),
            ("control", "paren", 5),
            ("query", "after_paren", 11),
            ("control", "interp", 15),
            ("query", "after_interp", 20),
            ("control", "bracket", 24),
            ("query", "after_2", 30),
        ],
        must_elsewhere: &[],
        must_not: &[],
    });
}

#[test]
fn broken_unterminated_heredoc() {
    check_broken(&Broken {
        fixture: "broken_unterminated_heredoc",
        file: "controls.pp",
        diagnostics: &[(9, 11, 131)],
        must: &[
            ("query", "before", 1),
            ("control", "after", 17),
            ("query", "after_2", 22),
        ],
        must_elsewhere: &[],
        must_not: &[],
    });
}

#[test]
fn broken_unclosed_brace() {
    // README: the unclosed `{` is at 5:18 (byte 63) and the block's type identifier at 5:1
    // (byte 46); the scanner reports an unclosed block at its type identifier.
    check_broken(&Broken {
        fixture: "broken_unclosed_brace",
        file: "controls.pp",
        diagnostics: &[(5, 1, 46)],
        must: &[
            ("query", "before", 1),
            ("control", "after", 9),
            ("query", "after_2", 14),
        ],
        must_elsewhere: &[],
        must_not: &[],
    });
}

#[test]
fn broken_unterminated_block_comment() {
    check_broken(&Broken {
        fixture: "broken_unterminated_block_comment",
        file: "controls.pp",
        diagnostics: &[(7, 3, 129)],
        must: &[
            ("query", "before", 1),
            ("control", "after", 11),
            ("query", "after_2", 16),
        ],
        must_elsewhere: &[],
        must_not: &[],
    });
}

#[test]
fn broken_invalid_utf8() {
    check_broken(&Broken {
        fixture: "broken_invalid_utf8",
        file: "controls.pp",
        diagnostics: &[(5, 30, 75), (7, 15, 118)],
        must: &[
            ("query", "before", 1),
            ("control", "bad_bytes", 6),
            ("query", "after", 11),
        ],
        must_elsewhere: &[],
        must_not: &[],
    });
    // The title is decoded lossily.
    let raw = std::fs::read(fixtures_dir().join("broken_invalid_utf8/controls.pp")).expect("read");
    let index = syntax::scan(&raw);
    let bad = index
        .blocks
        .iter()
        .find(|b| index.str(b.name) == "bad_bytes")
        .expect("control.bad_bytes");
    let title = index
        .attr(bad, AttrKey::Title)
        .map(|a| describe_value(&index, &a.value()));
    assert_eq!(title.as_deref(), Some("Str(\"Caf\u{FFFD} latin-1 title\")"));
}

#[test]
fn broken_binary_file() {
    // The diagnostic position is checked in `broken_binary_file_diagnostic_position`.
    check_broken(&Broken {
        fixture: "broken_binary_file",
        file: "blob.pp",
        diagnostics: &[],
        must: &[],
        must_elsewhere: &[
            ("valid.pp", "control", "valid_beside_binary", 1),
            ("valid.pp", "query", "valid_query_beside_binary", 6),
        ],
        must_not: &[],
    });
    let raw = std::fs::read(fixtures_dir().join("broken_binary_file/blob.pp")).expect("read");
    let index = syntax::scan(&raw);
    assert!(
        index.blocks.iter().all(|b| b.role != BlockRole::Resource),
        "nothing may be indexed from blob.pp:\n{}",
        syntax::render(&index)
    );
}

/// README: the primary diagnostic is at 1:1, the first invalid UTF-8 byte `0x89` (byte 0);
/// the first NUL is at 1:2 (byte 1). The scanner reports one "binary file" diagnostic at the
/// NUL, and puts it at column 1 (a stray continuation byte counts as no column).
#[test]
fn broken_binary_file_diagnostic_position() {
    let raw = std::fs::read(fixtures_dir().join("broken_binary_file/blob.pp")).expect("read");
    let index = syntax::scan(&raw);
    let positions: Vec<(u32, u32, u32)> = index
        .diagnostics
        .iter()
        .map(|d| (d.start.line, d.start.column, d.start.byte))
        .collect();
    assert!(
        positions.contains(&(1, 1, 0)),
        "no diagnostic at 1:1 (byte 0): {positions:?}"
    );
    // Wherever the NUL is reported, its column counts the invalid byte before it.
    if let Some(d) = index.diagnostics.iter().find(|d| d.start.byte == 1) {
        assert_eq!((d.start.line, d.start.column), (1, 2));
    }
}

#[test]
fn broken_extra_closing_brace() {
    check_broken(&Broken {
        fixture: "broken_extra_closing_brace",
        file: "controls.pp",
        diagnostics: &[(4, 1, 45)],
        must: &[
            ("query", "before", 1),
            ("control", "after", 6),
            ("query", "after_2", 11),
        ],
        must_elsewhere: &[],
        must_not: &[],
    });
}

#[test]
fn broken_missing_label_and_equals() {
    check_broken(&Broken {
        fixture: "broken_missing_label_and_equals",
        file: "controls.pp",
        diagnostics: &[(5, 1, 46), (11, 3, 195)],
        must: &[
            ("query", "before", 1),
            ("control", "missing_equals", 10),
            ("query", "after", 15),
        ],
        must_elsewhere: &[],
        must_not: &[("control", 5)],
    });
}

/// Every broken fixture in the directory has a case above.
#[test]
fn every_broken_fixture_is_checked() {
    let (_, broken) = fixture_dirs();
    let known = [
        "broken_binary_file",
        "broken_deep_nesting",
        "broken_extra_closing_brace",
        "broken_invalid_utf8",
        "broken_missing_label_and_equals",
        "broken_unclosed_brace",
        "broken_unclosed_brackets",
        "broken_unterminated_block_comment",
        "broken_unterminated_heredoc",
        "broken_unterminated_string",
    ];
    let names: Vec<String> = broken
        .iter()
        .filter_map(|d| d.file_name().and_then(|n| n.to_str()).map(str::to_string))
        .collect();
    assert_eq!(
        names, known,
        "a broken fixture was added or removed: add a case for it"
    );
}

// ----- hand-written edge cases ---------------------------------------------------------------

/// Small inputs for corners the fixtures do not reach; each must agree with hcl-rs.
const SNIPPETS: &[(&str, &str)] = &[
    (
        "trailing comments",
        "control \"a\" {\n  title = \"x\" # c {\n  description = \"y\" /* } */\n  query = query.q // }\n}\n",
    ),
    (
        "heredoc plain",
        "control \"a\" {\n  description = <<EOT\n  keep\n    indent\nEOT\n}\n",
    ),
    (
        "heredoc flush blank lines",
        "control \"a\" {\n  description = <<-EOT\n    a\n\n      b\n    EOT\n}\n",
    ),
    (
        "heredoc flush tabs",
        "control \"a\" {\n\tdescription = <<-EOT\n\t\ta\n\t\t  b\n\t\tEOT\n}\n",
    ),
    (
        "heredoc crlf",
        "control \"a\" {\r\n  description = <<-EOT\r\n    a\r\n    b\r\n    EOT\r\n  title = \"t\"\r\n}\r\n",
    ),
    (
        "heredoc empty",
        "control \"a\" {\n  description = <<EOT\nEOT\n}\n",
    ),
    (
        "heredoc closing marker trailing blanks",
        "control \"a\" {\n  description = <<EOT\nx\nEOT   \n}\n",
    ),
    (
        "heredoc escapes",
        "control \"a\" {\n  description = <<EOT\n$${x} %%{y} $ % \\n\nEOT\n}\n",
    ),
    (
        "heredoc with interpolation",
        "control \"a\" {\n  description = <<-EOT\n    ${upper(\"}\")} x\n    EOT\n}\n",
    ),
    (
        "heredoc with directive",
        "control \"a\" {\n  description = <<EOT\n%{ if true }x%{ endif }\nEOT\n}\n",
    ),
    (
        "string escapes",
        "control \"a\" {\n  title = \"q\\\"b\\\\s\\n\\t\\u00e9\\U0001F600 $${x} %%{y} $ %\"\n}\n",
    ),
    (
        "string lone markers",
        "control \"a\" {\n  title = \"$\"\n  description = \"100%\"\n}\n",
    ),
    (
        "string with braces",
        "control \"a\" {\n  title = \"}\"\n  description = \"{\"\n}\n",
    ),
    (
        "interpolated title",
        "control \"a\" {\n  title = \"${\"x\"}\"\n  description = \"a ${var.x} b\"\n}\n",
    ),
    (
        "nested quotes in interp",
        "control \"a\" {\n  title = \"${ \"a${\"b\"}\" }\"\n  description = \"${ {a = \"}\"}.a }\"\n}\n",
    ),
    (
        "directive title",
        "control \"a\" {\n  title = \"%{ if true }x%{ endif }\"\n}\n",
    ),
    (
        "strip markers",
        "control \"a\" {\n  title = \"a ${~ var.x ~} b\"\n}\n",
    ),
    (
        "non-literal titles",
        "control \"a\" {\n  title = (\"x\")\n  description = \"a\" == \"b\" ? \"c\" : \"d\"\n}\n",
    ),
    (
        "function title",
        "control \"a\" {\n  title = format(\"%s\",\n    var.x)\n  description = var.x\n}\n",
    ),
    (
        "scalar titles",
        "control \"a\" {\n  title = 1.5e3\n  description = true\n}\ncontrol \"b\" {\n  title = -1\n  description = null\n}\n",
    ),
    (
        "tags multi-line",
        "control \"a\" {\n  tags = {\n    a = \"1\" # c\n    \"b-c\" : \"2\",\n    d-e = 3\n    f = true,\n    g = 1.50\n  }\n}\n",
    ),
    (
        "tags one line",
        "control \"a\" {\n  tags = { a = \"1\", b = \"2\" }\n}\n",
    ),
    (
        "tags empty",
        "control \"a\" {\n  tags = {}\n}\ncontrol \"b\" {\n  tags = {\n  }\n}\n",
    ),
    (
        "tags escaped key",
        "control \"a\" {\n  tags = { \"a\\\"b\" = \"x\\ty\", c = \"$${z}\" }\n}\n",
    ),
    (
        "tags heredoc value",
        "control \"a\" {\n  tags = {\n    a = <<EOT\nx\nEOT\n  }\n}\n",
    ),
    (
        "tags non-literal",
        "control \"a\" {\n  tags = { a = var.x }\n}\ncontrol \"b\" {\n  tags = merge(local.t, { a = \"b\" })\n}\ncontrol \"c\" {\n  tags = { a = \"${var.x}\" }\n}\n",
    ),
    (
        "tags nested object",
        "control \"a\" {\n  tags = { a = { b = \"c\" } }\n}\n",
    ),
    (
        "tags number key",
        "control \"a\" {\n  tags = { 1 = \"c\" }\n}\n",
    ),
    (
        "tags paren key",
        "control \"a\" {\n  tags = { (var.k) = \"c\" }\n}\n",
    ),
    (
        "children",
        "benchmark \"a\" {\n  children = [\n    control.a, # c\n    benchmark.b,\n    dep.control.c,\n  ]\n}\n",
    ),
    (
        "children one line",
        "benchmark \"a\" {\n  children = [control.a, control.b]\n}\n",
    ),
    (
        "children empty",
        "benchmark \"a\" {\n  children = []\n}\nbenchmark \"b\" {\n  children = [\n  ]\n}\n",
    ),
    (
        "children attribute access",
        "benchmark \"a\" {\n  children = [control.a.b]\n}\n",
    ),
    (
        "children index",
        "benchmark \"a\" {\n  children = [control.a[0]]\n}\n",
    ),
    (
        "children non-reference",
        "benchmark \"a\" {\n  children = [foo.bar]\n}\nbenchmark \"b\" {\n  children = concat([control.a], [control.b])\n}\n",
    ),
    (
        "children comment between",
        "benchmark \"a\" {\n  children = [\n    /* control.x, */ control.a,\n    // control.y,\n    control.b\n  ]\n}\n",
    ),
    (
        "query and base",
        "control \"a\" {\n  query = query.q\n}\ncard \"b\" {\n  base = dep.card.c\n}\ncontrol \"c\" {\n  query = query.q.sql\n}\n",
    ),
    (
        "query non-reference",
        "control \"a\" {\n  query = var.q\n}\ncontrol \"b\" {\n  query = local.q\n}\ncontrol \"c\" {\n  query = foo\n}\n",
    ),
    (
        "one-line blocks",
        "dashboard \"d\" {\n  card { width = 2 }\n  container {\n    card \"x\" { title = \"t\" }\n  }\n}\n",
    ),
    (
        "nested anonymous",
        "dashboard \"d\" {\n  container {\n    card {}\n    card {}\n    chart \"c\" {}\n  }\n  container {\n    text { value = \"}\" }\n  }\n}\n",
    ),
    (
        "member blocks",
        "query \"q\" {\n  param \"p\" {\n    description = \"d\"\n    default = 1\n  }\n  param \"r\" {}\n}\n",
    ),
    (
        "label escapes",
        "control \"a\\\"b\" {\n  title = \"t\"\n}\ncontrol \"日本\" {}\n",
    ),
    (
        "ident labels",
        "resource foo bar {\n  x = 1\n}\nintegration slack \"ops\" {}\n",
    ),
    ("label with dot", "control \"a.b\" {}\n"),
    (
        "comment in header",
        "control /* c { */ \"a\" { # }\n  title = \"t\"\n}\n",
    ),
    (
        "locals",
        "locals {\n  a = 1\n  b = {\n    c = \"}\"\n  }\n  title = \"t\"\n  d = [\n    1,\n  ]\n  e = <<EOT\nx\nEOT\n}\n",
    ),
    ("locals one line", "locals { a = 1 }\n"),
    (
        "nested locals block",
        "control \"a\" {\n  locals {\n    x = 1\n  }\n}\n",
    ),
    (
        "block in locals",
        "locals {\n  a = 1\n  foo {\n    b = 2\n  }\n  c = 3\n}\n",
    ),
    (
        "multi-line expressions",
        "control \"a\" {\n  args = {\n    a = [\n      1, 2,\n    ]\n    b = (\n      1 + 2\n    )\n  }\n  title = \"t\"\n}\n",
    ),
    (
        "for expressions",
        "control \"a\" {\n  args = { for k, v in var.m : k => v... if v != null }\n  x = [for s in var.l : upper(s)]\n  title = \"t\"\n}\n",
    ),
    (
        "splat and index",
        "control \"a\" {\n  x = var.l[*].id\n  y = var.l.*.id\n  z = var.m[\"k\"]\n  w = var.t.0\n  title = \"t\"\n}\n",
    ),
    ("no trailing newline", "control \"a\" {\n  title = \"t\"\n}"),
    (
        "empty body one line",
        "control \"a\" {}\nquery \"q\" {\n}\n",
    ),
    (
        "tabs and form feeds",
        "control\t\"a\"\t{\n\ttitle\t=\t\"t\"\n}\n",
    ),
    (
        "heredoc in interpolation",
        "control \"a\" {\n  description = \"${<<EOT\nx\nEOT\n}\"\n  title = \"t\"\n}\n",
    ),
    (
        "heredoc in function call",
        "control \"a\" {\n  description = trimspace(<<-EOT\n    x\n    EOT\n  )\n  title = \"t\"\n}\n",
    ),
    (
        "two heredocs in array",
        "control \"a\" {\n  x = [<<EOT\na\nEOT\n, <<EOT\nb\nEOT\n  ]\n  title = \"t\"\n}\n",
    ),
    (
        "heredoc marker as text",
        "control \"a\" {\n  description = <<-EOT\n    EOTX\n    -- EOT\n    EOT\n\n}\n",
    ),
    (
        "title in nested block",
        "dashboard \"d\" {\n  title = \"outer\"\n  card {\n    title = \"inner\"\n  }\n  input \"i\" {\n    option \"o\" {\n      label = \"l\"\n    }\n  }\n}\n",
    ),
    (
        "self reference",
        "dashboard \"d\" {\n  table {\n    query = query.q\n    args = { a = self.input.i.value }\n  }\n}\n",
    ),
    (
        "unicode title",
        "control \"a\" {\n  title = \"Café 日本語 🛡️\"\n}\n",
    ),
    (
        "windows title crlf",
        "control \"a\" {\r\n  title = \"t\"\r\n  tags = {\r\n    a = \"b\"\r\n  }\r\n  children = [\r\n    control.b,\r\n  ]\r\n}\r\n",
    ),
    ("bom", "\u{FEFF}control \"a\" {\n  title = \"t\"\n}\n"),
    (
        "comment before value",
        "control \"a\" {\n  title = /* c */ \"x\"\n  description = \"y\" /* multi\n  line } */\n  query = /* q */ query.q\n}\n",
    ),
    (
        "heredoc in heredoc",
        "control \"a\" {\n  description = <<EOT\n${<<EOX\nin\nEOX\n}\nEOT\n  title = \"t\"\n}\n",
    ),
    (
        "heredoc dashed marker",
        "control \"a\" {\n  description = <<-END-OF-DOC\n    x\n    END-OF-DOC\n}\n",
    ),
    (
        "heredoc marker in string",
        "control \"a\" {\n  title = \"<<EOT\"\n  description = \"x\"\n}\n",
    ),
    (
        "heredoc less indented line",
        "control \"a\" {\n  description = <<-EOT\n      a\n    b\n        EOT\n}\n",
    ),
    (
        "heredoc crlf plain",
        "control \"a\" {\r\n  description = <<EOT\r\n  x\r\nEOT\r\n}\r\n",
    ),
    (
        "heredoc escaped marker at line start",
        "control \"a\" {\n  description = <<-EOT\n    $${x}\n      y\n    EOT\n}\n",
    ),
    (
        "heredoc directive lines",
        "control \"a\" {\n  description = <<-EOT\n    %{ for x in [1, 2] }\n    ${x}\n    %{ endfor }\n    EOT\n  title = \"t\"\n}\n",
    ),
    (
        "string backslash before interp",
        "control \"a\" {\n  title = \"\\\\${var.x}\"\n  description = \"\\\\$${x}\"\n}\n",
    ),
    (
        "string dollar pairs",
        "control \"a\" {\n  title = \"$$ %% $$$ %%%{x}\"\n}\n",
    ),
    ("string tab", "control \"a\" {\n  title = \"a\tb\"\n}\n"),
    (
        "string comment chars",
        "control \"a\" {\n  title = \"# not // a /* comment\" // \"real\n}\n",
    ),
    (
        "tags compact",
        "control \"a\" {\n  tags = {\"a\"=\"b\",c=\"d\"}\n}\ncontrol \"b\" {\n  tags = { a = \"b\" /* c */ }\n}\ncontrol \"c\" {\n  tags = {\n    a = \"b\" }\n}\ncontrol \"d\" {\n  tags = { a = \"b\"\n  }\n}\n",
    ),
    (
        "tags with equals in key",
        "control \"a\" {\n  tags = { \"a=b\" = \"c:d\", \"}\" = \"{\" }\n}\n",
    ),
    (
        "children compact",
        "benchmark \"a\" {\n  children = [control.a,control.b]\n}\nbenchmark \"b\" {\n  children = [\n    control.a\n    ,control.b ]\n}\nbenchmark \"c\" {\n  children = [[control.a]]\n}\n",
    ),
    (
        "children trailing comment",
        "benchmark \"a\" {\n  children = [control.a, # ]\n    control.b # ,\n  ]\n}\n",
    ),
    (
        "keyword attribute names",
        "control \"a\" {\n  for = 1\n  in = 2\n  if = 3\n  title = \"t\"\n}\n",
    ),
    (
        "dashed block type",
        "my-block \"x\" {\n  title = \"t\"\n}\n",
    ),
    (
        "unicode identifiers",
        "control \"a\" {\n  título = \"x\"\n  title = \"t\"\n}\n",
    ),
    (
        "legacy index",
        "control \"a\" {\n  x = var.t.0.y\n  title = \"t\"\n}\n",
    ),
    (
        "one-line object in block",
        "locals { a = { b = 1 } }\ncard \"c\" { title = \"}\" }\n",
    ),
    (
        "conditional in parens",
        "control \"a\" {\n  x = (\n    var.a ?\n    1 :\n    2\n  )\n  title = \"t\"\n}\n",
    ),
    (
        "description nested interp braces",
        "control \"a\" {\n  description = \"${ { a = \"}\" }[\"a\"] } x\"\n  title = \"t\"\n}\n",
    ),
    (
        "empty string title",
        "control \"a\" {\n  title = \"\"\n  description = <<EOT\nEOT\n}\n",
    ),
    (
        "attribute after nested block",
        "dashboard \"d\" {\n  card {\n  }\n  title = \"t\"\n}\n",
    ),
    (
        "deep nesting",
        "dashboard \"d\" {\n  container {\n    container {\n      container {\n        container {\n          card {\n            title = \"deep\"\n          }\n        }\n      }\n    }\n  }\n}\n",
    ),
    ("blank lines and comments only", "# a\n\n// b\n/* c\n*/\n"),
    ("empty", ""),
];

#[test]
fn snippets_agree_with_hcl_rs() {
    let mut summary = Summary::default();
    let mut errors = Vec::new();
    for (name, src) in SNIPPETS {
        errors.extend(compare_file(name, src.as_bytes(), &mut summary));
    }
    println!(
        "differential[snippets]: {} snippets, {} blocks, {} titles, {} tags, {} children lists",
        summary.files, summary.blocks, summary.titles, summary.tags, summary.children_lists
    );
    assert!(
        errors.is_empty(),
        "{} mismatches between the scanner and hcl-rs:\n  {}",
        errors.len(),
        errors.join("\n  ")
    );
}

// ----- random valid HCL ----------------------------------------------------------------------

/// A small deterministic PRNG (xorshift64*), so a failing case is named by its seed.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// Writes random but valid HCL shaped like a Powerpipe mod, with the corners the scanner has to
/// get right: escapes, templates, heredocs of both kinds, comments everywhere, one-line blocks,
/// nested anonymous blocks, literal and non-literal tags / children / references.
struct HclGen {
    rng: Rng,
    out: String,
    /// Write `$${` / `%%{` escapes in block labels. Off in the default run while the scanner
    /// keeps them undecoded in a lone label (see `label_template_escapes_are_decoded`).
    label_escapes: bool,
}

const BLOCK_TYPES: &[&str] = &[
    "control",
    "benchmark",
    "query",
    "dashboard",
    "card",
    "container",
    "chart",
    "table",
    "input",
    "param",
    "option",
    "variable",
    "text",
    "node",
    "edge",
    "graph",
    "with",
    "category",
    "detection",
    "pipeline",
    "step",
    "notebook",
    "my-thing",
    "series",
];
const ATTR_NAMES: &[&str] = &[
    "title",
    "description",
    "tags",
    "children",
    "query",
    "base",
    "sql",
    "type",
    "default",
    "documentation",
    "args",
    "width",
    "value",
    "for_each",
    "x-y",
    "label",
];
const REF_TYPES: &[&str] = &["control", "benchmark", "query", "card", "detection", "node"];

impl HclGen {
    fn new(seed: u64, label_escapes: bool) -> HclGen {
        HclGen {
            rng: Rng::new(seed),
            out: String::new(),
            label_escapes,
        }
    }

    fn ident(&mut self) -> String {
        let heads = ["a", "b", "x", "s3", "my_name", "dash-ed", "_u", "é"];
        let mut s = self.rng.pick(&heads).to_string();
        if self.rng.chance(40) {
            s.push('_');
            s.push_str(&self.rng.below(100).to_string());
        }
        s
    }

    /// Text for a quoted string (without the quotes), valid HCL escapes only.
    fn string_text(&mut self, allow_template: bool) -> String {
        let pieces: &[&str] = &[
            "word",
            " ",
            "\\\"",
            "\\\\",
            "\\n",
            "\\t",
            "\\r",
            "\\u00e9",
            "\\U0001F600",
            "$${x}",
            "%%{y}",
            "$",
            "%",
            "100%",
            "é",
            "日本",
            "🛡️",
            "{",
            "}",
            "#",
            "//",
            "/*",
            "*/",
            "<<EOT",
            "'",
            ":",
            "=",
            ",",
            ".",
        ];
        let templates: &[&str] = &[
            "${var.x}",
            "${upper(\"}\")}",
            "${local.a[\"k\"]}",
            "%{ if true }y%{ endif }",
            "${~ var.x ~}",
            "${ \"a${\"b\"}\" }",
        ];
        let mut s = String::new();
        for _ in 0..self.rng.below(6) {
            let piece = if allow_template && self.rng.chance(8) {
                self.rng.pick(templates)
            } else {
                self.rng.pick(pieces)
            };
            // A lone `$` or `%` before the next piece could open (or escape) a template.
            if piece.starts_with(['{', '$', '%']) && (s.ends_with('$') || s.ends_with('%')) {
                s.push(' ');
            }
            s.push_str(piece);
        }
        s
    }

    fn heredoc(&mut self, indent: &str) -> String {
        let flush = self.rng.chance(60);
        let marker = self.rng.pick(&["EOT", "EOQ", "END-DOC", "X"]);
        let mut s = format!("<<{}{marker}\n", if flush { "-" } else { "" });
        let base = " ".repeat(self.rng.below(7));
        let lines: &[&str] = &[
            "select * from t",
            "{ } \" # // /* */",
            "$${not} %%{interp}",
            "EOTX",
            "-- EOT",
            "  deeper",
            "\tTabbed",
            "'quoted'",
            "$ and %",
            "é 日本",
            "EO",
            "xEOT EOQ",
            "END-DOCS",
            "  EOQ2",
            "<<EOT",
            "}",
            "control \"fake\" {",
        ];
        // At least one line: hcl-rs 0.20 misreads an empty heredoc followed by another
        // heredoc with the same marker (`<<EOQ\nEOQ\n  x = <<EOQ ...`).
        for _ in 0..1 + self.rng.below(4) {
            match self.rng.below(10) {
                0 => s.push('\n'),
                1 if self.rng.chance(30) => {
                    s.push_str(&base);
                    s.push_str("${var.x}\n");
                }
                _ => {
                    s.push_str(&base);
                    s.push_str(self.rng.pick(lines));
                    s.push('\n');
                }
            }
        }
        if flush {
            s.push_str(indent);
            s.push_str(&" ".repeat(self.rng.below(3)));
        } else if self.rng.chance(20) {
            // The closing marker may be indented in a plain heredoc too.
            s.push_str(if self.rng.chance(50) { "  " } else { "\t" });
        }
        s.push_str(marker);
        if self.rng.chance(10) {
            s.push_str("  ");
        }
        s
    }

    fn reference(&mut self) -> String {
        let kind = self.rng.pick(REF_TYPES);
        let name = self.ident();
        if self.rng.chance(15) {
            format!("dep.{kind}.{name}")
        } else {
            format!("{kind}.{name}")
        }
    }

    fn scalar(&mut self) -> String {
        let items: &[&str] = &["1", "0", "42", "1.5", "2e3", "true", "false", "null"];
        self.rng.pick(items).to_string()
    }

    fn comment(&mut self) -> String {
        let items: &[&str] = &[
            "# c { \"",
            "// c } <<EOT",
            "/* c { */",
            "/* multi\n line } \" */",
        ];
        self.rng.pick(items).to_string()
    }

    fn string_value(&mut self, indent: &str) -> String {
        match self.rng.below(12) {
            0..=5 => format!("\"{}\"", self.string_text(true)),
            6 | 7 => self.heredoc(indent),
            8 => self.reference(),
            9 => format!("format(\"%s\", {})", self.reference()),
            10 => self.scalar(),
            _ => format!("(\"{}\")", self.string_text(false)),
        }
    }

    fn tags_value(&mut self, indent: &str) -> String {
        match self.rng.below(10) {
            0 => "local.tags".to_string(),
            1 => "merge(local.tags, { a = \"b\" })".to_string(),
            _ => {
                let multi = self.rng.chance(50);
                let mut s = String::from("{");
                let n = self.rng.below(4);
                let mut keys = Vec::new();
                for i in 0..n {
                    let mut key = self.ident();
                    while keys.contains(&key) {
                        key.push('x');
                    }
                    keys.push(key.clone());
                    if multi {
                        s.push('\n');
                        s.push_str(indent);
                        s.push_str("  ");
                    } else {
                        s.push(' ');
                    }
                    if self.rng.chance(30) {
                        s.push_str(&format!("\"{key}\""));
                    } else {
                        s.push_str(&key);
                    }
                    s.push_str(if self.rng.chance(20) { ": " } else { " = " });
                    match self.rng.below(8) {
                        0 => s.push_str(&self.scalar()),
                        1 => s.push_str("var.v"),
                        2 => s.push_str(&format!("\"${{var.v}}{}\"", self.string_text(false))),
                        _ => s.push_str(&format!("\"{}\"", self.string_text(false))),
                    }
                    let last = i + 1 == n;
                    // One-line entries need their commas; elsewhere they are optional.
                    if (!multi && !last) || self.rng.chance(40) {
                        s.push(',');
                    }
                    if multi && self.rng.chance(20) {
                        s.push_str(" # c }");
                    }
                }
                if multi {
                    s.push('\n');
                    s.push_str(indent);
                } else if n > 0 {
                    s.push(' ');
                }
                s.push('}');
                s
            }
        }
    }

    fn children_value(&mut self, indent: &str) -> String {
        match self.rng.below(10) {
            0 => format!("concat([{}], [])", self.reference()),
            1 => format!("[{}.title]", self.reference()),
            _ => {
                let multi = self.rng.chance(50);
                let n = self.rng.below(5);
                let mut s = String::from("[");
                for i in 0..n {
                    if multi {
                        s.push('\n');
                        s.push_str(indent);
                        s.push_str("  ");
                    } else if i > 0 {
                        s.push(' ');
                    }
                    s.push_str(&self.reference());
                    if i + 1 < n || (multi && self.rng.chance(50)) {
                        s.push(',');
                    }
                    if multi && self.rng.chance(20) {
                        s.push_str(" // x ]");
                    }
                }
                if multi {
                    s.push('\n');
                    s.push_str(indent);
                }
                s.push(']');
                s
            }
        }
    }

    /// A reference-bearing expression of some depth.
    fn expr(&mut self, depth: usize) -> String {
        let leaf = |g: &mut HclGen| -> String {
            match g.rng.below(12) {
                0 => format!("var.{}", g.ident()),
                1 => format!("local.{}", g.ident()),
                2 => format!("param.{}", g.ident()),
                3 => format!("self.input.{}.value", g.ident()),
                4 => format!("with.{}.rows[*].arn", g.ident()),
                5 => format!("{}.sql", g.reference()),
                6 => format!("var.{}[0]", g.ident()),
                7 => format!("local.{}[\"k\"].x", g.ident()),
                8 => format!("step.query.{}.rows", g.ident()),
                9 => format!("each.value.{}", g.ident()),
                10 => g.scalar(),
                _ => g.reference(),
            }
        };
        if depth == 0 {
            return leaf(self);
        }
        let d = depth - 1;
        match self.rng.below(11) {
            0 => format!("{} ? {} : {}", self.expr(d), self.expr(d), self.expr(d)),
            1 => format!("[for s in {} : upper(s)]", self.expr(d)),
            2 => format!(
                "{{ for k, v in {} : k => {} if v != null }}",
                self.expr(d),
                self.expr(d)
            ),
            3 => format!("merge({}, {{ a = {} }})", self.expr(d), self.expr(d)),
            4 => format!(
                "\"x ${{{}}} %{{ if {} }}y%{{ endif }}\"",
                self.expr(d),
                self.expr(d)
            ),
            5 => format!("({} + {}) * -{}", self.expr(d), self.expr(d), self.expr(d)),
            6 => format!("[{}, {}]", self.expr(d), self.expr(d)),
            7 => format!("!{} || {}", self.expr(d), self.expr(d)),
            8 => format!("{}[{}]", leaf(self), self.expr(d)),
            9 => format!("{}.*.id", leaf(self)),
            _ => leaf(self),
        }
    }

    fn value(&mut self, name: &str, indent: &str) -> String {
        match name {
            "value" | "for_each" | "x-y" | "label" => {
                let depth = self.rng.below(3);
                self.expr(depth)
            }
            "tags" => self.tags_value(indent),
            "children" => self.children_value(indent),
            "query" | "base" => match self.rng.below(6) {
                0 => format!("{}.sql", self.reference()),
                1 => "var.q".to_string(),
                _ => self.reference(),
            },
            "args" => format!(
                "{{\n{indent}  a = {}\n{indent}  b = [1, 2]\n{indent}}}",
                self.reference()
            ),
            "width" | "default" => self.scalar(),
            _ => self.string_value(indent),
        }
    }

    fn body(&mut self, depth: usize, top_level_locals: bool, indent: &str) {
        let inner = format!("{indent}  ");
        let mut used: Vec<String> = Vec::new();
        for _ in 0..self.rng.below(5) {
            if self.rng.chance(15) {
                self.out.push_str(&inner);
                let c = self.comment();
                self.out.push_str(&c);
                self.out.push('\n');
            }
            if self.rng.chance(10) {
                self.out.push('\n');
            }
            if !top_level_locals && depth < 4 && self.rng.chance(30) {
                self.block(depth + 1, &inner);
                continue;
            }
            let mut name = self.rng.pick(ATTR_NAMES).to_string();
            if top_level_locals || used.contains(&name) {
                name = self.ident();
                if used.contains(&name) {
                    continue;
                }
            }
            used.push(name.clone());
            let value = self.value(&name, &inner);
            self.out.push_str(&inner);
            self.out.push_str(&name);
            self.out
                .push_str(if self.rng.chance(20) { "\t=\t" } else { " = " });
            self.out.push_str(&value);
            if self.rng.chance(15) && !value.contains("<<") {
                self.out.push(' ');
                let c = self.comment();
                // A trailing comment must not span lines after a value.
                self.out.push_str(&c.replace('\n', " "));
            }
            self.out.push('\n');
        }
    }

    fn block(&mut self, depth: usize, indent: &str) {
        let locals = depth == 0 && self.rng.chance(10);
        let kind = if locals {
            "locals"
        } else {
            self.rng.pick(BLOCK_TYPES)
        };
        self.out.push_str(indent);
        self.out.push_str(kind);
        let labels = if locals {
            0
        } else if depth == 0 {
            1 + usize::from(self.rng.chance(10))
        } else {
            self.rng.below(3)
        };
        for _ in 0..labels {
            self.out.push(' ');
            if self.rng.chance(15) {
                self.out.push_str("/* l */ ");
            }
            if self.rng.chance(20) {
                let id = self.ident();
                self.out.push_str(&id);
            } else {
                let mut text = self.string_text(false);
                if !self.label_escapes {
                    text = text.replace("$${", "$ {").replace("%%{", "% {");
                }
                self.out.push('"');
                self.out.push_str(&text);
                self.out.push('"');
            }
        }
        if self.rng.chance(15) {
            // One-line block: at most one attribute, no nested block.
            self.out.push_str(" {");
            if self.rng.chance(60) {
                let v = format!("\"{}\"", self.string_text(true));
                self.out.push_str(&format!(" title = {v} "));
            }
            self.out.push_str("}\n");
            return;
        }
        self.out.push_str(" {");
        if self.rng.chance(10) {
            self.out.push_str(" # {");
        }
        self.out.push('\n');
        self.body(depth, locals, indent);
        self.out.push_str(indent);
        self.out.push_str("}\n");
    }

    fn file(mut self) -> Vec<u8> {
        for _ in 0..1 + self.rng.below(4) {
            if self.rng.chance(20) {
                let c = self.comment();
                self.out.push_str(&c);
                self.out.push('\n');
            }
            self.block(0, "");
            if self.rng.chance(50) {
                self.out.push('\n');
            }
        }
        if self.rng.chance(10) {
            self.out.pop();
        }
        let mut text = self.out;
        if self.rng.chance(15) {
            text = text.replace('\n', "\r\n");
        }
        let mut bytes = Vec::new();
        if self.rng.chance(5) {
            bytes.extend_from_slice(BOM);
        }
        bytes.extend_from_slice(text.as_bytes());
        bytes
    }
}

fn case_count(default: u64) -> u64 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Random valid files, `$${` / `%%{` in labels included (see
/// `label_template_escapes_are_decoded`).
#[test]
fn random_valid_hcl_agrees_with_hcl_rs() {
    random_differential(true);
}

fn random_differential(label_escapes: bool) {
    let cases = case_count(300);
    let mut summary = Summary::default();
    let mut rejected = 0;
    let seeds = match std::env::var("DIFF_SEED")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
    {
        Some(seed) => seed..seed + 1,
        None => 0..cases,
    };
    for seed in seeds {
        let src = HclGen::new(seed, label_escapes).file();
        if std::env::var("DIFF_SEED").is_ok() {
            println!("{}", String::from_utf8_lossy(&src));
            println!("{}", syntax::render(&syntax::scan(&src)));
        }
        let text = std::str::from_utf8(src.strip_prefix(BOM).unwrap_or(&src)).expect("utf8");
        if let Err(e) = hcl::edit::parser::parse_body(text) {
            if std::env::var("DIFF_KEEP_GOING").is_ok() {
                let diags = syntax::scan(&src).diagnostics.len();
                println!(
                    "rejected seed {seed} (scanner: {diags} diagnostics): {}",
                    e.to_string().replace('\n', " | ")
                );
            }
            // The generator aims at valid HCL; what hcl-rs rejects is not compared.
            rejected += 1;
            continue;
        }
        let errors = compare_file(&format!("seed {seed}"), &src, &mut summary);
        if std::env::var("DIFF_KEEP_GOING").is_ok() {
            for e in &errors {
                println!("{e}");
            }
            continue;
        }
        assert!(
            errors.is_empty(),
            "seed {seed}: {} mismatches:\n  {}\ninput:\n{}",
            errors.len(),
            errors.join("\n  "),
            String::from_utf8_lossy(&src)
        );
    }
    println!(
        "differential[random]: {} files ({rejected} rejected by hcl-rs), {} blocks, {} references, {} titles, \
         {} tags, {} children lists",
        summary.files,
        summary.blocks,
        summary.references,
        summary.titles,
        summary.tags,
        summary.children_lists
    );
    assert!(
        rejected * 10 <= cases,
        "the generator writes too much invalid HCL: {rejected}/{cases}"
    );
}

// ----- known scanner bugs: minimal inputs ----------------------------------------------------

fn scan_str(src: &str) -> FileIndex {
    syntax::scan(src.as_bytes())
}

/// An attribute's value as `describe_value` shows it, with a `Text` value (a literal left in
/// the source) decoded and shown as the `Str` it stands for.
fn value_of(index: &FileIndex, src: &str, block: usize, key: AttrKey) -> Option<String> {
    let a = index.attr(&index.blocks[block], key)?;
    Some(match a.value() {
        AttrValue::Text => format!(
            "Str({:?})",
            syntax::decode_literal(&src.as_bytes()[a.span.range()])
        ),
        v => describe_value(index, &v),
    })
}

/// A lone quoted label is decoded like any HCL string: `$${` is `${`, `%%{` is `%{` (hcl-rs
/// and Go HCL agree). The scanner decodes a label only when it holds a backslash or when
/// there are several labels.
#[test]
fn label_template_escapes_are_decoded() {
    let index = scan_str("control \"a$${b}\" {}\nquery \"c%%{d}\" {}\n");
    let names: Vec<&str> = index.blocks.iter().map(|b| index.str(b.name)).collect();
    assert_eq!(names, ["a${b}", "c%{d}"]);
}

/// `tags = { a = -1 }` is a literal object (hcl-rs: `Number(-1)`); the scanner reads `-1` as
/// a literal for `default` but not inside tags.
#[test]
fn negative_number_in_tags_is_literal() {
    let index = scan_str("control \"a\" {\n  tags = { a = -1, b = \"x\" }\n}\n");
    let b = &index.blocks[0];
    let value = index
        .attr(b, AttrKey::Tags)
        .map(|a| describe_value(&index, &a.value()));
    assert_eq!(value.as_deref(), Some("Tags{\"a\":\"-1\", \"b\":\"x\"}"));
}

/// A stray UTF-8 continuation byte is one column, like every other invalid byte
/// (`text::count_chars` skips bytes `0x80..=0xBF` even when no lead byte precedes them).
#[test]
fn stray_continuation_byte_is_one_column() {
    let index = syntax::scan(b"a = \"\x80\" @\n");
    let positions: Vec<(u32, u32, u32)> = index
        .diagnostics
        .iter()
        .map(|d| (d.start.line, d.start.column, d.start.byte))
        .collect();
    // The bad byte is column 6 (byte 5); the `@` after it column 9 (byte 8).
    assert_eq!(
        positions,
        [(1, 6, 5), (1, 9, 8)],
        "{}",
        syntax::render(&index)
    );
}

/// Go HCL (what Powerpipe runs) ignores whitespace-only lines when it computes a `<<-`
/// heredoc's indentation and leaves those lines as they are (`flushHeredocTemplateParts`
/// only trims the lines it measured). hcl-rs 0.20 differs too (it measures them), so this is
/// checked against Go's rule, not the oracle.
#[test]
fn flush_heredoc_blank_lines_follow_go_hcl() {
    let src = "control \"a\" {\n  title = <<-EOT\n    a\n  \n    b\n    EOT\n  description = <<-EOT\n    a\n        \n    b\n    EOT\n}\n";
    let index = scan_str(src);
    let title = value_of(&index, src, 0, AttrKey::Title);
    let description = value_of(&index, src, 0, AttrKey::Description);
    assert_eq!(title.as_deref(), Some("Str(\"a\\n  \\nb\\n\")"));
    assert_eq!(description.as_deref(), Some("Str(\"a\\n        \\nb\\n\")"));
}

/// Where hcl-rs 0.20 itself departs from HCL, the scanner is checked against the HCL rule.
#[test]
fn heredoc_corners_where_hcl_rs_differs_from_hcl() {
    // A line holding the marker and more text does not close the heredoc (hcl-rs rejects it).
    let src = "control \"a\" {\n  title = <<EOT\nEOT EOT\nEOT\n}\n";
    let index = scan_str(src);
    assert!(index.diagnostics.is_empty(), "{}", syntax::render(&index));
    let title = value_of(&index, src, 0, AttrKey::Title);
    assert_eq!(title.as_deref(), Some("Str(\"EOT EOT\\n\")"));
    // An empty heredoc followed by another with the same marker (hcl-rs runs them together).
    let src = "control \"a\" {\n  title = <<EOQ\nEOQ\n  description = <<EOQ\nx\nEOQ\n}\n";
    let index = scan_str(src);
    assert!(index.diagnostics.is_empty(), "{}", syntax::render(&index));
    let title = value_of(&index, src, 0, AttrKey::Title);
    let description = value_of(&index, src, 0, AttrKey::Description);
    assert_eq!(title.as_deref(), Some("Str(\"\")"));
    assert_eq!(description.as_deref(), Some("Str(\"x\\n\")"));
}

/// fixtures/README.md lists the top-level blocks of every valid fixture file ("as parsed by
/// hcl-rs"): the scanner's top-level blocks match it, file by file, and every file is listed.
#[test]
fn readme_top_level_blocks_match() {
    let readme = std::fs::read_to_string(fixtures_dir().join("README.md")).expect("README.md");
    let section = readme
        .split("## Top-level blocks per file")
        .nth(1)
        .expect("README section `Top-level blocks per file`");
    let listing = section
        .split("```")
        .nth(1)
        .expect("a code block in the section");
    let mut listed = std::collections::BTreeMap::new();
    for line in listing.lines().filter(|l| !l.trim().is_empty()) {
        let (path, blocks) = line
            .split_once(": ")
            .unwrap_or((line.trim_end_matches(':'), ""));
        listed.insert(
            path.to_string(),
            blocks.split_whitespace().collect::<Vec<_>>().join(" "),
        );
    }
    let (valid, _) = fixture_dirs();
    let root = fixtures_dir();
    let mut errors = Vec::new();
    let mut seen = 0;
    for dir in &valid {
        for file in hcl_files(dir) {
            let rel = file
                .strip_prefix(&root)
                .unwrap_or(&file)
                .to_string_lossy()
                .replace('\\', "/");
            let index = syntax::scan(&std::fs::read(&file).expect("read"));
            let top: Vec<String> = index
                .blocks
                .iter()
                .filter(|b| b.parent.is_none())
                .map(|b| {
                    if b.anonymous {
                        index.str(b.kind).to_string()
                    } else {
                        format!("{}.{}", index.str(b.kind), index.str(b.name))
                    }
                })
                .collect();
            let top = top.join(" ");
            match listed.get(&rel) {
                Some(want) => {
                    seen += 1;
                    if *want != top {
                        errors.push(format!("{rel}: README lists `{want}`, scanner has `{top}`"));
                    }
                }
                None => errors.push(format!(
                    "{rel}: not listed in the README (scanner: `{top}`)"
                )),
            }
        }
    }
    if seen != listed.len() {
        errors.push(format!("README lists {} files, {seen} found", listed.len()));
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}
