//! The features answered from one file's index and text: document symbols, folding ranges,
//! semantic tokens, code lenses, `file()` links; and workspace symbols across every mod.

use std::sync::Arc;

use tower_lsp_server::ls_types::{
    CodeLens, Command, DocumentLink, DocumentSymbol, FoldingRange, FoldingRangeKind, Position,
    SemanticToken, SemanticTokenModifier, SemanticTokenType, SymbolKind,
};

use super::analysis::{self, Target};
use super::text::{Lines, utf16_len};
use crate::index::{BenchmarkType, FileId, Index, ModId, ResourceId};
use crate::resolve::{Model, Resolver};
use crate::syntax::{AttrKey, AttrValue, Block, BlockId, BlockRole, FileIndex, Span};

/// The symbol kind shown for a block type.
pub fn symbol_kind(kind: &str, role: BlockRole) -> SymbolKind {
    match (kind, role) {
        (_, BlockRole::Local) => SymbolKind::CONSTANT,
        (_, BlockRole::Locals) => SymbolKind::NAMESPACE,
        ("mod", _) => SymbolKind::MODULE,
        ("benchmark" | "detection_benchmark", _) => SymbolKind::PACKAGE,
        ("dashboard", _) => SymbolKind::NAMESPACE,
        ("control" | "detection", _) => SymbolKind::FUNCTION,
        ("query", _) => SymbolKind::METHOD,
        ("variable", _) => SymbolKind::VARIABLE,
        ("container", _) => SymbolKind::STRUCT,
        ("input", _) => SymbolKind::FIELD,
        ("with", _) => SymbolKind::PROPERTY,
        ("param", _) => SymbolKind::TYPE_PARAMETER,
        ("category", _) => SymbolKind::ENUM_MEMBER,
        (_, BlockRole::Resource) => SymbolKind::OBJECT,
        _ => SymbolKind::PROPERTY,
    }
}

/// A block's title as symbols show it: evaluated from the index (no resolve).
fn title(model: &Model, resolver: &Resolver, id: ResourceId) -> Option<String> {
    match resolver.index_field(model, id, AttrKey::Title) {
        crate::index::dump::FieldText::Text(t) => Some(t),
        _ => None,
    }
}

/// The hierarchical outline of a file: mod-level blocks, and inside them their nested
/// blocks (dashboards → containers → cards…, locals → each local, queries → params).
/// Anonymous member blocks (`opengraph`, `legend`, `x`) are left out, except `require`.
pub fn document_symbols(
    model: &Model,
    resolver: &Resolver,
    file: FileId,
    lines: &Lines,
) -> Vec<DocumentSymbol> {
    let Some(f) = model.index.file(file) else {
        return Vec::new();
    };
    let fi = &f.index;
    // Built bottom-up: blocks are in pre-order, so children come after their parent.
    let mut made: Vec<Option<DocumentSymbol>> = vec![None; fi.blocks.len()];
    let mut kids: Vec<Vec<usize>> = vec![Vec::new(); fi.blocks.len()];
    let shown =
        |b: &Block| !(b.role == BlockRole::Member && b.anonymous && fi.str(b.kind) != "require");
    for (i, b) in fi.blocks.iter().enumerate() {
        if !shown(b) {
            continue;
        }
        // The nearest shown ancestor.
        let mut p = b.parent;
        while let Some(pi) = p {
            match fi.block(pi) {
                Some(pb) if shown(pb) => break,
                Some(pb) => p = pb.parent,
                None => p = None,
            }
        }
        if let Some(pi) = p {
            kids[pi.index()].push(i);
        }
        let id = ResourceId {
            file,
            block: BlockId::new(i),
        };
        let kind = fi.str(b.kind);
        let name = match b.role {
            BlockRole::Local => format!("local.{}", fi.str(b.name)),
            BlockRole::Locals => "locals".to_string(),
            BlockRole::Member if b.anonymous => kind.to_string(),
            BlockRole::Member => format!("{kind} \"{}\"", fi.str(b.name)),
            BlockRole::Resource if b.anonymous => kind.to_string(),
            BlockRole::Resource => {
                format!("{}.{}", crate::index::reference_kind(kind), fi.str(b.name))
            }
        };
        let detail = match b.role {
            BlockRole::Resource if b.anonymous => title(model, resolver, id)
                .map(|t| format!("{t} ({})", fi.block_name(id.block)))
                .or_else(|| Some(fi.block_name(id.block).into_owned())),
            BlockRole::Resource => title(model, resolver, id),
            _ => None,
        };
        let range = lines.range(b.start.byte as usize, b.end.byte as usize);
        let ns = b.name_span();
        let mut selection = lines.range(ns.start as usize, ns.end as usize);
        if selection.start < range.start || selection.end > range.end {
            selection = range;
        }
        #[allow(deprecated)]
        let sym = DocumentSymbol {
            name: if name.is_empty() {
                kind.to_string()
            } else {
                name
            },
            detail,
            kind: symbol_kind(kind, b.role),
            tags: None,
            deprecated: None,
            range,
            selection_range: selection,
            children: None,
        };
        made[i] = Some(sym);
    }
    // Attach children, deepest first (pre-order reversed).
    for i in (0..fi.blocks.len()).rev() {
        if kids[i].is_empty() {
            continue;
        }
        let children: Vec<DocumentSymbol> =
            kids[i].iter().filter_map(|&k| made[k].take()).collect();
        if let Some(s) = made[i].as_mut() {
            s.children = Some(children);
        }
    }
    fi.blocks
        .iter()
        .enumerate()
        .filter(|(_, b)| b.parent.is_none())
        .filter_map(|(i, _)| made[i].take())
        .collect()
}

/// One workspace symbol found by a fuzzy query, before positions are converted.
#[derive(Clone, Debug)]
pub struct SymbolHit {
    /// `type.name` (`dep.type.name` in a dependency mod).
    pub name: String,
    /// The mod's name.
    pub module: String,
    /// Its literal title, if any.
    pub title: Option<String>,
    /// What kind.
    pub kind: SymbolKind,
    /// Where.
    pub id: ResourceId,
    /// Match score (higher is better).
    pub score: u32,
}

/// Every resource, variable and local of every mod that matches `query` fuzzily (by name,
/// or by literal title, which scores lower), best first, at most `limit`. An empty query
/// lists resources in index order.
pub fn workspace_symbols(index: &Index, query: &str, limit: usize) -> Vec<SymbolHit> {
    use nucleo_matcher::pattern::{CaseMatching, Normalization, Pattern};
    let mut matcher = nucleo_matcher::Matcher::new(nucleo_matcher::Config::DEFAULT);
    let pattern = Pattern::parse(query, CaseMatching::Smart, Normalization::Smart);
    let mut buf = Vec::new();
    let mut name = String::new();
    let mut hits: Vec<SymbolHit> = Vec::new();
    for (fid, f) in index.files() {
        // A cancelled request's answer is dropped: stop at the next file.
        if super::cancel::requested() {
            return Vec::new();
        }
        let fi = &f.index;
        let module = index
            .module(f.module)
            .map(|m| (m.name.as_str(), m.dependency))
            .unwrap_or(("local", false));
        for (i, b) in fi.blocks.iter().enumerate() {
            let named = match b.role {
                BlockRole::Local => true,
                BlockRole::Resource => !b.anonymous && fi.str(b.kind) != "mod",
                _ => false,
            };
            if !named {
                continue;
            }
            name.clear();
            if module.1 {
                name.push_str(module.0);
                name.push('.');
            }
            name.push_str(crate::index::reference_kind(fi.str(b.kind)));
            name.push('.');
            name.push_str(fi.str(b.name));
            let title = match fi.attr(b, AttrKey::Title).map(|a| a.value()) {
                Some(AttrValue::Str(s)) => Some(fi.str(s)),
                _ => None,
            };
            let score = if query.is_empty() {
                Some(0)
            } else {
                let by_name =
                    pattern.score(nucleo_matcher::Utf32Str::new(&name, &mut buf), &mut matcher);
                let by_title = title.and_then(|t| {
                    pattern
                        .score(nucleo_matcher::Utf32Str::new(t, &mut buf), &mut matcher)
                        .map(|s| s / 2)
                });
                by_name.max(by_title)
            };
            let Some(score) = score else { continue };
            hits.push(SymbolHit {
                name: name.clone(),
                module: module.0.to_string(),
                title: title.map(str::to_string),
                kind: symbol_kind(fi.str(b.kind), b.role),
                id: ResourceId {
                    file: fid,
                    block: BlockId::new(i),
                },
                score,
            });
            if query.is_empty() && hits.len() >= limit {
                return hits;
            }
        }
    }
    // Best first; ties: the root mod, then shorter, then by name.
    hits.sort_by(|a, b| {
        b.score
            .cmp(&a.score)
            .then(a.name.len().cmp(&b.name.len()))
            .then(a.name.cmp(&b.name))
    });
    hits.truncate(limit);
    hits
}

/// Folding ranges: every block over more than one line, and every recorded multi-line
/// value (heredoc SQL, descriptions, tag objects, children lists).
pub fn folding_ranges(fi: &FileIndex, lines: &Lines) -> Vec<FoldingRange> {
    let mut out = Vec::new();
    let mut push = |start: usize, end: usize, kind: Option<FoldingRangeKind>| {
        let (a, b) = (lines.line_of(start), lines.line_of(end));
        if b > a {
            out.push(FoldingRange {
                start_line: a as u32,
                start_character: None,
                end_line: b as u32,
                end_character: None,
                kind,
                collapsed_text: None,
            });
        }
    };
    for b in &fi.blocks {
        if b.role == BlockRole::Local {
            // A local's span is its attribute: fold its value when it spans lines.
            push(b.start.byte as usize, b.end.byte as usize, None);
            continue;
        }
        push(
            b.start.byte as usize,
            b.end.byte.saturating_sub(1) as usize,
            Some(FoldingRangeKind::Region),
        );
        for a in fi.attrs_of(b) {
            push(
                a.span.start as usize,
                a.span.end.saturating_sub(1) as usize,
                None,
            );
        }
    }
    out.sort_by_key(|r| (r.start_line, std::cmp::Reverse(r.end_line)));
    out.dedup_by_key(|r| (r.start_line, r.end_line));
    out
}

/// The semantic token types, in legend order.
pub const TOKEN_TYPES: [SemanticTokenType; 8] = [
    SemanticTokenType::KEYWORD,
    SemanticTokenType::CLASS,
    SemanticTokenType::VARIABLE,
    SemanticTokenType::PARAMETER,
    SemanticTokenType::PROPERTY,
    SemanticTokenType::STRING,
    SemanticTokenType::NAMESPACE,
    SemanticTokenType::TYPE,
];

/// The semantic token modifiers, in legend order.
pub const TOKEN_MODIFIERS: [SemanticTokenModifier; 3] = [
    SemanticTokenModifier::DECLARATION,
    SemanticTokenModifier::READONLY,
    SemanticTokenModifier::DEFAULT_LIBRARY,
];

const T_KEYWORD: u32 = 0;
const T_CLASS: u32 = 1;
const T_VARIABLE: u32 = 2;
const T_PARAMETER: u32 = 3;
const T_PROPERTY: u32 = 4;
const T_STRING: u32 = 5;
const T_NAMESPACE: u32 = 6;
const T_TYPE: u32 = 7;
const M_DECLARATION: u32 = 1;

/// The token type of a name by what it is.
fn name_token(kind: &str) -> u32 {
    match kind {
        "var" | "variable" | "local" => T_VARIABLE,
        "param" => T_PARAMETER,
        "input" | "with" | "self" => T_PROPERTY,
        _ => T_CLASS,
    }
}

/// Semantic tokens of a file: block types (keyword), resource names where declared
/// (declaration) and referred to, the parts of references (mod, type, name), and heredoc
/// SQL (string, around the references templated into it). One token per line piece, no
/// overlaps, sorted.
pub fn semantic_tokens(fi: &FileIndex, lines: &Lines) -> Vec<SemanticToken> {
    let src: &[u8] = lines.text();
    // (start, end, type, modifiers), bytes.
    let mut marks: Vec<(u32, u32, u32, u32)> = Vec::new();
    let mut strings: Vec<(u32, u32)> = Vec::new();
    for b in &fi.blocks {
        let kind = fi.str(b.kind);
        let ks = b.start.byte;
        if b.role == BlockRole::Local {
            let ns = b.name_span();
            marks.push((ns.start, ns.end, T_VARIABLE, M_DECLARATION));
            continue;
        }
        marks.push((ks, ks + kind.len() as u32, T_KEYWORD, 0));
        if !b.anonymous {
            let ns = b.name_span();
            let t = match b.role {
                BlockRole::Member if kind == "param" => T_PARAMETER,
                BlockRole::Member => T_PROPERTY,
                _ => name_token(kind),
            };
            marks.push((ns.start, ns.end, t, M_DECLARATION));
        }
        for a in fi.attrs_of(b) {
            if a.key == AttrKey::Sql
                && src
                    .get(a.span.start as usize..)
                    .is_some_and(|s| s.starts_with(b"<<"))
            {
                strings.push((a.span.start, a.span.end));
            }
        }
    }
    for r in &fi.refs {
        let name = analysis::name_span(fi, r);
        let mut at = r.span.start;
        if let Some(m) = r.module {
            let end = at + fi.str(m).len() as u32;
            marks.push((at, end, T_NAMESPACE, 0));
            at = end + 1;
        }
        if at < name.start {
            // `query.`, `var.`, `self.input.`: the type part, with its dot.
            marks.push((at, name.start, T_TYPE, 0));
        }
        marks.push((name.start, name.end, name_token(fi.str(r.kind)), 0));
    }
    marks.sort_unstable();
    marks.dedup_by(|a, b| a.0 < b.1 && a.0 >= b.0);
    // Heredoc SQL: string pieces between the marks inside it.
    for (s, e) in strings {
        let mut at = s;
        let inner: Vec<(u32, u32)> = marks
            .iter()
            .filter(|m| m.0 >= s && m.1 <= e)
            .map(|m| (m.0, m.1))
            .collect();
        let mut pieces = Vec::new();
        for (ms, me) in inner {
            if ms > at {
                pieces.push((at, ms, T_STRING, 0));
            }
            at = at.max(me);
        }
        if e > at {
            pieces.push((at, e, T_STRING, 0));
        }
        marks.extend(pieces);
    }
    marks.sort_unstable();
    // Split at line ends and encode relative to the previous token.
    let mut out = Vec::with_capacity(marks.len());
    let (mut prev_line, mut prev_col) = (0u32, 0u32);
    let mut last_end = 0u32;
    for (s, e, t, m) in marks {
        if s < last_end || e <= s {
            continue;
        }
        last_end = e;
        let (first, last) = (lines.line_of(s as usize), lines.line_of(e as usize));
        for line in first..=last {
            let range = lines.line_range(line);
            let a = (s as usize).max(range.start);
            let b = (e as usize).min(range.end);
            if b <= a {
                continue;
            }
            let col = utf16_len(src.get(range.start..a).unwrap_or(&[])) as u32;
            let len = utf16_len(src.get(a..b).unwrap_or(&[])) as u32;
            // Leading indentation of a heredoc line is not part of the string token.
            let (col, len) = if t == T_STRING {
                let lead = src
                    .get(a..b)
                    .map(|x| x.iter().take_while(|c| **c == b' ' || **c == b'\t').count())
                    .unwrap_or(0) as u32;
                if lead >= len {
                    continue;
                }
                (col + lead, len - lead)
            } else {
                (col, len)
            };
            let line = line as u32;
            let delta_line = line - prev_line;
            let delta_start = if delta_line == 0 { col - prev_col } else { col };
            out.push(SemanticToken {
                delta_line,
                delta_start,
                length: len,
                token_type: t,
                token_modifiers_bitset: m,
            });
            prev_line = line;
            prev_col = col;
        }
    }
    out
}

/// Code lenses: on every mod-level resource, variable and local, how many references it
/// has; on benchmarks, also how many controls are below them.
pub fn code_lenses(model: &Model, file: FileId, lines: &Lines, uri: &str) -> Vec<CodeLens> {
    let index = &model.index;
    let Some(f) = index.file(file) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, b) in f.index.blocks.iter().enumerate() {
        let top = b.parent.is_none() || b.role == BlockRole::Local;
        if !top || b.anonymous || !matches!(b.role, BlockRole::Resource | BlockRole::Local) {
            continue;
        }
        let kind = f.index.str(b.kind);
        if kind == "mod" {
            continue;
        }
        let id = ResourceId {
            file,
            block: BlockId::new(i),
        };
        let ns = b.name_span();
        let range = lines.range(ns.start as usize, ns.end as usize);
        let n = analysis::references(index, Target::Resource(id)).len();
        out.push(CodeLens {
            range,
            command: Some(Command {
                title: plural(n, "reference", "references"),
                command: "modlens.showReferences".to_string(),
                arguments: Some(vec![
                    serde_json::Value::String(uri.to_string()),
                    serde_json::to_value(range.start).unwrap_or_default(),
                ]),
            }),
            data: None,
        });
        if let Some(bt) = index.benchmark_type(id) {
            let controls = analysis::controls_below(index, id);
            out.push(CodeLens {
                range,
                command: Some(Command {
                    title: match bt {
                        BenchmarkType::Detection => plural(controls, "detection", "detections"),
                        BenchmarkType::Control => plural(controls, "control", "controls"),
                    },
                    command: "modlens.showTree".to_string(),
                    arguments: Some(vec![serde_json::Value::String(
                        index.qualified_name(id).unwrap_or_default(),
                    )]),
                }),
                data: None,
            });
        }
    }
    out
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// `file("path")` calls of a file, found by parsing each mod-level block (a block that
/// does not parse has none): the span of the path's text and the path as written.
pub fn file_calls(fi: &FileIndex, src: &[u8]) -> Vec<(Span, String)> {
    use hcl::edit::Span as _;
    use hcl::edit::visit::{Visit, visit_func_call};
    struct Calls(Vec<(std::ops::Range<usize>, String)>);
    impl Visit for Calls {
        fn visit_func_call(&mut self, call: &hcl::edit::expr::FuncCall) {
            if call.name.namespace.is_empty()
                && call.name.name.value().as_str() == "file"
                && let Some(hcl::edit::expr::Expression::String(s)) = call.args.iter().next()
                && let Some(span) = s.span()
            {
                self.0.push((span, s.value().to_string()));
            }
            visit_func_call(self, call);
        }
    }
    let mut out = Vec::new();
    for b in fi.blocks.iter().filter(|b| b.parent.is_none()) {
        let range = b.start.byte as usize..b.end.byte as usize;
        let Some(text) = src
            .get(range.clone())
            .and_then(|t| std::str::from_utf8(t).ok())
        else {
            continue;
        };
        if !text.contains("file") {
            continue;
        }
        let Ok(body) = hcl::edit::parser::parse_body(text) else {
            continue;
        };
        let mut calls = Calls(Vec::new());
        calls.visit_body(&body);
        for (span, path) in calls.0 {
            // The span covers the quotes.
            let s = range.start + span.start + 1;
            let e = (range.start + span.end).saturating_sub(1).max(s);
            out.push((Span::new(s, e), path));
        }
    }
    out
}

/// Document links for `file()` paths that exist inside the mod's folder.
pub fn document_links(
    model: &Model,
    file: FileId,
    src: &Arc<[u8]>,
    lines: &Lines,
    root: &std::path::Path,
) -> Vec<DocumentLink> {
    let index = &model.index;
    let Some(f) = index.file(file) else {
        return Vec::new();
    };
    let mod_root = index
        .module(f.module)
        .map(|m| m.root.clone())
        .unwrap_or_default();
    let folder = if mod_root.is_empty() {
        root.to_path_buf()
    } else {
        root.join(&mod_root)
    };
    let Ok(base) = std::fs::canonicalize(&folder) else {
        return Vec::new();
    };
    file_calls(&f.index, src)
        .into_iter()
        .filter_map(|(span, path)| {
            let full = std::fs::canonicalize(folder.join(&path)).ok()?;
            if !full.starts_with(&base) || !full.is_file() {
                return None;
            }
            Some(DocumentLink {
                range: lines.range(span.start as usize, span.end as usize),
                target: tower_lsp_server::ls_types::Uri::from_file_path(&full),
                tooltip: Some(format!("open {path}")),
                data: None,
            })
        })
        .collect()
}

/// The position of a resource's name in its file.
pub fn name_position(index: &Index, id: ResourceId, lines: &Lines) -> Option<Position> {
    let b = index.block(id)?;
    Some(lines.position(b.name_span().start as usize))
}

/// The mod a file belongs to.
pub fn mod_of(index: &Index, file: FileId) -> ModId {
    index.mod_of_file(file).unwrap_or(ModId(0))
}
