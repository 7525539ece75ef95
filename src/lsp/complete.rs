//! Completion: what may be written at the cursor, from the index and the schema.
//!
//! * After `query.`, `control.`, `benchmark.`, `dashboard.` (any resource type): that
//!   type's resources in the file's mod; after `var.` / `local.`: its variables / locals;
//!   after `dep.` (an installed dependency mod): what it offers, then `dep.query.` its
//!   queries; after `self.input.`, `param.`, `with.`: the blocks in scope.
//! * Where an expression starts: `var`, `local`, resource types, the mod's dependencies' names,
//!   `self`, `param`, functions.
//! * At the start of a line in a block: the attributes and nested blocks valid there; at the
//!   top level: block types (as snippets when the client takes them); inside `tags = {`:
//!   tag keys already used in the mod.
//!
//! Long lists are filtered by what is typed and cut, marked incomplete so the client asks
//! again as the user types.

use tower_lsp_server::ls_types::{
    CompletionItem, CompletionItemKind, CompletionList, CompletionResponse, CompletionTextEdit,
    Documentation, InsertTextFormat, MarkupContent, MarkupKind, Range, TextEdit,
};

use super::schema;
use super::text::Lines;
use crate::index::{FileId, Index, ModId, ResourceId, reference_kind};
use crate::syntax::{AttrKey, AttrValue, BlockId, BlockRole, FileIndex};

/// Most items sent at once.
pub const MAX_ITEMS: usize = 500;

/// What the client can take.
#[derive(Clone, Copy, Debug, Default)]
pub struct Caps {
    /// Snippet syntax in insert texts.
    pub snippets: bool,
}

/// Where the cursor is, as far as completion cares.
#[derive(Debug, PartialEq, Eq)]
enum Context {
    /// After `a.b.` with `partial` typed: the traversal's leading parts.
    Member(Vec<String>),
    /// An expression starts here.
    Expression,
    /// A statement in a block (`None`: at the top level).
    Statement(Option<BlockId>),
    /// A key of the `tags` object.
    TagKey,
    /// Nothing to offer (a comment, a string, SQL).
    Nothing,
}

/// The completion at byte `offset` of `file`, whose current text `lines` holds.
#[allow(clippy::too_many_arguments)]
pub fn complete(
    index: &Index,
    file: FileId,
    lines: &Lines,
    offset: usize,
    caps: Caps,
    tag_keys: &dyn Fn() -> std::sync::Arc<Vec<String>>,
    uri: &str,
) -> Option<CompletionResponse> {
    let f = index.file(file)?;
    let fi = &f.index;
    let module = f.module;
    let src: &[u8] = lines.text();
    let line = lines.line_of(offset);
    let line_start = lines.line_range(line).start;
    let before = std::str::from_utf8(src.get(line_start..offset)?).ok()?;
    // The word being typed, with its traversal (`dep.query.x`).
    let word_start = before
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        .last()
        .map(|(i, _)| i)
        .unwrap_or(before.len());
    let word = &before[word_start..];
    let lead = &before[..word_start];
    let (parts, partial) = match word.rsplit_once('.') {
        Some((head, last)) => (head.split('.').map(str::to_string).collect(), last),
        None => (Vec::new(), word),
    };
    let replace = lines.range(offset - partial.len(), offset);
    let ctx = context(fi, offset as u32, lead, parts, src, line_start);
    let mut items: Vec<CompletionItem> = Vec::new();
    let mut push = |label: &str,
                    kind: CompletionItemKind,
                    detail: Option<String>,
                    doc: Option<String>,
                    snippet: Option<String>,
                    data: Option<serde_json::Value>| {
        let (text, format) = match snippet {
            Some(s) if caps.snippets => (s, Some(InsertTextFormat::SNIPPET)),
            _ => (label.to_string(), None),
        };
        items.push(CompletionItem {
            label: label.to_string(),
            kind: Some(kind),
            detail,
            documentation: doc.map(|d| {
                Documentation::MarkupContent(MarkupContent {
                    kind: MarkupKind::Markdown,
                    value: d,
                })
            }),
            insert_text_format: format,
            text_edit: Some(CompletionTextEdit::Edit(TextEdit {
                range: replace,
                new_text: text,
            })),
            data,
            ..Default::default()
        });
    };
    match ctx {
        Context::Nothing => return None,
        Context::TagKey => {
            for k in tag_keys().iter() {
                push(
                    k,
                    CompletionItemKind::PROPERTY,
                    Some("tag".into()),
                    None,
                    Some(format!("{k} = \"$1\"")),
                    None,
                );
            }
        }
        Context::Statement(None) => {
            for kind in schema::top_level() {
                let doc = schema::block(kind).map(|b| b.doc.to_string());
                push(
                    kind,
                    CompletionItemKind::KEYWORD,
                    Some("block".into()),
                    doc,
                    Some(schema::block_snippet(kind)),
                    None,
                );
            }
        }
        Context::Statement(Some(block)) => {
            let kind = fi.block(block).map(|b| fi.str(b.kind)).unwrap_or("");
            let parent = fi
                .block(block)
                .and_then(|b| b.parent)
                .and_then(|p| fi.block(p))
                .map(|b| fi.str(b.kind));
            let role = fi.block(block).map(|b| b.role);
            if role == Some(BlockRole::Locals) {
                return None;
            }
            let schema = match parent {
                Some(p) => schema::nested(p, kind).or_else(|| schema::block(kind)),
                None => schema::block(kind),
            };
            if let Some(s) = schema {
                for a in s.attributes {
                    push(
                        a.name,
                        CompletionItemKind::PROPERTY,
                        Some(format!("{kind} attribute")),
                        Some(a.doc.to_string()),
                        Some(a.snippet.to_string()),
                        None,
                    );
                }
                for nested in s.blocks {
                    let doc = schema::nested(kind, nested).map(|b| b.doc.to_string());
                    push(
                        nested,
                        CompletionItemKind::STRUCT,
                        Some(format!("block in {kind}")),
                        doc,
                        Some(schema::nested_snippet(kind, nested)),
                        None,
                    );
                }
            }
        }
        Context::Expression => {
            for root in ["var", "local", "self", "param"] {
                push(root, CompletionItemKind::KEYWORD, None, None, None, None);
            }
            for t in RESOURCE_TYPES {
                if index.resources_of_type(t).next().is_some() {
                    push(
                        t,
                        CompletionItemKind::MODULE,
                        Some("resource type".into()),
                        None,
                        None,
                        None,
                    );
                }
            }
            // The mod's own requires: what `dep.` can name here.
            for (m, info) in index.mods().iter().enumerate() {
                let m = ModId(m as u32);
                if m != module
                    && info.dependency
                    && index.mod_for_prefix(module, &info.name) == Some(m)
                {
                    push(
                        &info.name,
                        CompletionItemKind::MODULE,
                        Some("dependency mod".into()),
                        info.title.clone(),
                        None,
                        None,
                    );
                }
            }
            for func in schema::functions() {
                push(
                    func.name,
                    CompletionItemKind::FUNCTION,
                    Some(func.signature.to_string()),
                    Some(func.doc.to_string()),
                    Some(format!("{}($1)", func.name)),
                    None,
                );
            }
            for lit in ["true", "false", "null"] {
                push(lit, CompletionItemKind::CONSTANT, None, None, None, None);
            }
        }
        Context::Member(parts) => {
            let strs: Vec<&str> = parts.iter().map(String::as_str).collect();
            // One of the mod's own requires (what `dep.` can name).
            let dep = |name: &str| {
                index
                    .mod_for_prefix(module, name)
                    .filter(|m| *m != module && index.module(*m).is_some_and(|i| i.dependency))
            };
            let (target_mod, rest): (ModId, &[&str]) = match strs.as_slice() {
                [first, rest @ ..] if dep(first).is_some() => (dep(first).unwrap_or(module), rest),
                all => (module, all),
            };
            let in_dep = target_mod != module;
            match rest {
                [] if in_dep => {
                    push("var", CompletionItemKind::KEYWORD, None, None, None, None);
                    for t in RESOURCE_TYPES {
                        if index
                            .resources_of_type(t)
                            .any(|r| index.mod_of(r) == Some(target_mod))
                        {
                            push(
                                t,
                                CompletionItemKind::MODULE,
                                Some("resource type".into()),
                                None,
                                None,
                                None,
                            );
                        }
                    }
                }
                ["self"] => push("input", CompletionItemKind::KEYWORD, None, None, None, None),
                ["self", "input"] | ["param"] | ["with"] => {
                    let kind = match rest {
                        ["param"] => "param",
                        ["with"] => "with",
                        _ => "input",
                    };
                    let block = super::analysis::enclosing_block(fi, offset as u32);
                    for (name, b) in scoped_names(fi, block, kind) {
                        let id = ResourceId { file, block: b };
                        push(
                            &name,
                            CompletionItemKind::FIELD,
                            Some(kind.to_string()),
                            None,
                            None,
                            Some(data(uri, index, id)),
                        );
                    }
                }
                [kind] => {
                    let kind = if *kind == "var" { "variable" } else { *kind };
                    let is_local = kind == "local";
                    let mut n = 0;
                    let lower = partial.to_ascii_lowercase();
                    for (fid, f2) in index.files().filter(|(_, f2)| f2.module == target_mod) {
                        for (i, b) in f2.index.blocks.iter().enumerate() {
                            let ok = if is_local {
                                b.role == BlockRole::Local
                            } else {
                                b.role == BlockRole::Resource
                                    && !b.anonymous
                                    && b.parent.is_none()
                                    && f2.index.str(b.kind) == kind
                            };
                            if !ok || (is_local && in_dep) {
                                continue;
                            }
                            let name = f2.index.str(b.name);
                            if !lower.is_empty() && !subsequence(&lower, name) {
                                continue;
                            }
                            n += 1;
                            if n > MAX_ITEMS {
                                break;
                            }
                            let title = match f2.index.attr(b, AttrKey::Title).map(|a| a.value()) {
                                Some(AttrValue::Str(s)) => Some(f2.index.str(s).to_string()),
                                _ => None,
                            };
                            let id = ResourceId {
                                file: fid,
                                block: BlockId::new(i),
                            };
                            let item_kind = match kind {
                                "variable" => CompletionItemKind::VARIABLE,
                                "local" => CompletionItemKind::CONSTANT,
                                "query" => CompletionItemKind::METHOD,
                                "control" | "detection" => CompletionItemKind::FUNCTION,
                                _ => CompletionItemKind::CLASS,
                            };
                            push(
                                name,
                                item_kind,
                                title.or_else(|| Some(format!("{}.{name}", reference_kind(kind)))),
                                None,
                                None,
                                Some(data(uri, index, id)),
                            );
                        }
                    }
                    if n > MAX_ITEMS {
                        items.truncate(MAX_ITEMS);
                        return Some(CompletionResponse::List(CompletionList {
                            is_incomplete: true,
                            items,
                        }));
                    }
                }
                [kind, _name] => {
                    // `query.x.` → the attributes a reference can read.
                    if let Some(s) = schema::block(kind) {
                        for a in s.attributes {
                            push(
                                a.name,
                                CompletionItemKind::PROPERTY,
                                Some(format!("{kind} attribute")),
                                Some(a.doc.to_string()),
                                None,
                                None,
                            );
                        }
                    }
                }
                _ => {}
            }
        }
    }
    Some(CompletionResponse::List(CompletionList {
        is_incomplete: false,
        items,
    }))
}

/// Resource types a reference may name.
const RESOURCE_TYPES: [&str; 20] = [
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

/// What `completionItem/resolve` needs to document an item: the file and the resource.
fn data(uri: &str, index: &Index, id: ResourceId) -> serde_json::Value {
    serde_json::json!({
        "uri": uri,
        "name": index.qualified_name(id).unwrap_or_default(),
    })
}

/// True when the characters of `needle` (lowercase) appear in order in `hay`.
fn subsequence(needle: &str, hay: &str) -> bool {
    let mut it = hay.chars().map(|c| c.to_ascii_lowercase());
    needle.chars().all(|n| it.any(|h| h == n))
}

/// The labelled blocks of `kind` visible from `block`: its own and its ancestors' children,
/// and for inputs and withs, any under the top-level block.
fn scoped_names(fi: &FileIndex, block: Option<BlockId>, kind: &str) -> Vec<(String, BlockId)> {
    let Some(block) = block else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let top = super::analysis::top_block(fi, block).unwrap_or(block);
    let scope: Vec<BlockId> = if kind == "param" {
        let mut v = Vec::new();
        let mut cur = Some(block);
        while let Some(c) = cur {
            v.extend(fi.child_blocks(c));
            cur = fi.block(c).and_then(|b| b.parent);
        }
        v
    } else {
        let end = fi.block(top).map(|b| b.end.byte).unwrap_or(0);
        (top.index() + 1..fi.blocks.len())
            .map(BlockId::new)
            .take_while(|id| fi.block(*id).is_some_and(|b| b.start.byte < end))
            .collect()
    };
    for id in scope {
        if let Some(b) = fi.block(id)
            && fi.str(b.kind) == kind
            && !b.anonymous
        {
            out.push((fi.str(b.name).to_string(), id));
        }
    }
    out.sort();
    out.dedup_by(|a, b| a.0 == b.0);
    out
}

/// Works out the context from the index (which block, which attribute) and the line's text
/// before the word.
fn context(
    fi: &FileIndex,
    offset: u32,
    lead: &str,
    parts: Vec<String>,
    src: &[u8],
    line_start: usize,
) -> Context {
    let block = super::analysis::enclosing_block(fi, offset);
    // Inside an interpolation `${ }` or a directive `%{ }` opened on this line.
    let in_template = {
        let open = lead.rfind("${").max(lead.rfind("%{"));
        open.is_some_and(|o| !lead[o..].contains('}'))
    };
    // Heredoc text (SQL, markdown, a `text` block's value) is not code, whatever attribute
    // holds it, except inside a `${ }` on the line.
    let from = block
        .and_then(|b| fi.block(b))
        .map_or(0, |b| b.start.byte as usize);
    if in_heredoc_text(src, from, line_start) {
        return if in_template && !parts.is_empty() {
            Context::Member(parts)
        } else if in_template {
            Context::Expression
        } else {
            Context::Nothing
        };
    }
    if in_comment(lead) {
        return Context::Nothing;
    }
    // Inside a recorded attribute's value?
    let attr = block.and_then(|b| fi.block(b)).and_then(|b| {
        fi.attrs_of(b)
            .iter()
            .find(|a| a.span.start < offset && offset <= a.span.end)
    });
    if let Some(a) = attr
        && !in_template
    {
        match a.key {
            AttrKey::Sql | AttrKey::Description | AttrKey::Title
                if matches!(a.value(), AttrValue::Str(_) | AttrValue::Text) =>
            {
                return Context::Nothing;
            }
            AttrKey::Tags if parts.is_empty() && statement_start(lead) => return Context::TagKey,
            _ => {}
        }
    }
    if in_string(lead) && !in_template {
        return Context::Nothing;
    }
    if !parts.is_empty() {
        return Context::Member(parts);
    }
    if statement_start(lead) && !in_template && attr.is_none() {
        // Inside a `locals` block, a statement is a local's name: nothing to offer.
        return Context::Statement(
            block.filter(|b| fi.block(*b).is_some_and(|x| x.role != BlockRole::Local)),
        );
    }
    Context::Expression
}

/// True when the line starting at `line_start` lies in the body of a heredoc opened at or
/// after `from` (the enclosing block's start): a line ending in `<<MARKER` or `<<-MARKER`
/// opens one, a line holding only the marker closes it. HCL strings cannot span lines, so a
/// line-by-line walk finds the bodies; a `<<` in a comment line is not an opener.
fn in_heredoc_text(src: &[u8], from: usize, line_start: usize) -> bool {
    let Some(text) = src.get(from.min(line_start)..line_start) else {
        return false;
    };
    let mut marker: Option<&[u8]> = None;
    for line in text.split(|&b| b == b'\n') {
        let trimmed = line.trim_ascii();
        match marker {
            Some(m) => {
                if trimmed == m {
                    marker = None;
                }
            }
            None => {
                if trimmed.starts_with(b"#") || trimmed.starts_with(b"//") {
                    continue;
                }
                if let Some(at) = trimmed.windows(2).rposition(|w| w == b"<<") {
                    let rest = &trimmed[at + 2..];
                    let rest = rest.strip_prefix(b"-").unwrap_or(rest);
                    let is_marker = !rest.is_empty()
                        && (rest[0].is_ascii_alphabetic() || rest[0] == b'_')
                        && rest
                            .iter()
                            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'));
                    if is_marker {
                        marker = Some(rest);
                    }
                }
            }
        }
    }
    marker.is_some()
}

/// True when only whitespace precedes the word on its line.
fn statement_start(lead: &str) -> bool {
    lead.trim().is_empty()
}

/// True when the line's text so far opens a comment outside a string.
fn in_comment(lead: &str) -> bool {
    let mut in_str = false;
    let mut prev = ' ';
    for c in lead.chars() {
        match c {
            '"' if prev != '\\' => in_str = !in_str,
            '#' if !in_str => return true,
            '/' if !in_str && prev == '/' => return true,
            _ => {}
        }
        prev = c;
    }
    false
}

/// True when the line's text so far leaves a quoted string open.
fn in_string(lead: &str) -> bool {
    let mut in_str = false;
    let mut prev = ' ';
    for c in lead.chars() {
        if c == '"' && prev != '\\' {
            in_str = !in_str;
        }
        prev = c;
    }
    in_str
}

/// An LSP range (for tests).
#[allow(dead_code)]
fn whole(lines: &Lines) -> Range {
    lines.range(0, lines.text().len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heredoc_bodies_are_found_line_by_line() {
        let src = b"text {\n  value = <<-EOT\n    a\n  EOT\n  b = 1\n  # c = <<EOT\n  d = 2\n}\n";
        let line = |n: usize| {
            src.split_inclusive(|&b| b == b'\n')
                .take(n)
                .map(<[u8]>::len)
                .sum::<usize>()
        };
        assert!(!in_heredoc_text(src, 0, line(1)), "the opener's own line");
        assert!(in_heredoc_text(src, 0, line(2)), "the body");
        assert!(in_heredoc_text(src, 0, line(3)), "the closing line");
        assert!(!in_heredoc_text(src, 0, line(4)), "after it");
        assert!(
            !in_heredoc_text(src, 0, line(6)),
            "a `<<` in a comment opens nothing"
        );
        // Not a marker: `a << b` in an expression.
        assert!(!in_heredoc_text(b"x = a << b\ny\n", 0, 11));
    }

    #[test]
    fn comments_and_strings_are_seen() {
        assert!(in_comment("  # a"));
        assert!(in_comment("x = 1 // c"));
        assert!(!in_comment("title = \"a # b"));
        assert!(in_string("title = \"abc"));
        assert!(!in_string("title = \"abc\" "));
        assert!(subsequence("sbv", "s3_bucket_versioning"));
        assert!(!subsequence("zz", "s3_bucket"));
    }
}
