//! Code actions: quick fixes for the diagnostics the server publishes.
//!
//! * An unknown reference (`query.x`, `var.x`, `local.x`, `dep.control.x`): "did you mean"
//!   replacements by edit distance among the names of that type in the mod and its
//!   dependencies (the best one preferred); for a query, control or benchmark of the mod
//!   itself, a stub block appended to the file, or written to a new file named like its
//!   neighbours when the client can create files.
//! * A child listed twice in `children`: the second listing removed, with its comma.
//! * A variable with no value: a `default` typed from its `type`, or an entry in the mod's
//!   `powerpipe.ppvars` (or its `*.auto.ppvars`; `powerpipe.ppvars` created when there is
//!   none and the client can create files).
//!
//! Diagnostics are recognised by their message and checked against the index (a stale one
//! gets no action). Everything is computed from the index and the current text of the
//! files (an open document's unsaved text); positions are converted by [`super::text`].
//! Nothing here reads the disk except through the closures it is given. The names of a
//! kind in a mod are collected once per model generation ([`Names`], kept by the project)
//! and compared nearest lengths first.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tower_lsp_server::ls_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, CreateFile, Diagnostic,
    DocumentChangeOperation, DocumentChanges, OneOf, OptionalVersionedTextDocumentIdentifier,
    Range, ResourceOp, TextDocumentEdit, TextEdit, Uri, WorkspaceEdit,
};

use super::analysis;
use super::text::Lines;
use crate::index::{FileId, ModId};
use crate::resolve::Model;
use crate::resolve::types::Type;
use crate::syntax::{AttrKey, AttrValue, BlockRole, FileIndex, Span};

/// Most "did you mean" replacements offered for one reference.
pub const MAX_SUGGESTIONS: usize = 3;

/// What the client can take.
#[derive(Clone, Copy, Debug, Default)]
pub struct Caps {
    /// `workspace.workspaceEdit.resourceOperations` holds `create` (and document changes are
    /// taken): an action may create a file.
    pub create_files: bool,
}

/// What the actions of one request are computed from.
pub struct Context<'a> {
    /// The model (index and values).
    pub model: &'a Model,
    /// The file the actions are asked for.
    pub file: FileId,
    /// Its current text.
    pub lines: &'a Lines,
    /// Its URI, as the client names it.
    pub uri: &'a Uri,
    /// The current text of a file of the workspace (relative path), if it exists.
    pub read: &'a dyn Fn(&str) -> Option<Arc<[u8]>>,
    /// The URI of a path relative to the workspace root (existing or not).
    pub uri_of: &'a dyn Fn(&str) -> Option<Uri>,
    /// What the client can take.
    pub caps: Caps,
    /// The names of the model by mod and kind, kept across requests.
    pub names: &'a Names,
}

/// What a diagnostic of the server is about, from its message.
#[derive(Debug, PartialEq, Eq)]
enum Problem {
    UnknownReference,
    DuplicateChild,
    NoValue(String),
}

fn classify(message: &str) -> Option<Problem> {
    if message.starts_with("unknown reference `")
        || message.starts_with("unknown variable `")
        || message.starts_with("unknown local value `")
    {
        return Some(Problem::UnknownReference);
    }
    if message.starts_with("duplicate child ") {
        return Some(Problem::DuplicateChild);
    }
    let rest = message.strip_prefix("variable `")?;
    let (name, tail) = rest.split_once('`')?;
    tail.starts_with(" has no value and no default")
        .then(|| Problem::NoValue(name.to_string()))
}

/// The quick fixes for `diagnostics` (those the client sent with the request), in their
/// order.
pub fn code_actions(cx: &Context<'_>, diagnostics: &[Diagnostic]) -> Vec<CodeActionOrCommand> {
    let mut out = Vec::new();
    for d in diagnostics {
        if d.source.as_deref().is_some_and(|s| s != "modlens") {
            continue;
        }
        let Some(problem) = classify(&d.message) else {
            continue;
        };
        let start = cx.lines.offset(d.range.start) as u32;
        let end = cx.lines.offset(d.range.end) as u32;
        let found = match problem {
            Problem::UnknownReference => unknown_reference(cx, d, start),
            Problem::DuplicateChild => duplicate_child(cx, d, start, end),
            Problem::NoValue(name) => no_value(cx, d, &name, start),
        };
        out.extend(found.into_iter().map(CodeActionOrCommand::CodeAction));
    }
    out
}

fn quickfix(title: String, d: &Diagnostic, edit: WorkspaceEdit, preferred: bool) -> CodeAction {
    CodeAction {
        title,
        kind: Some(CodeActionKind::QUICKFIX),
        diagnostics: Some(vec![d.clone()]),
        edit: Some(edit),
        is_preferred: preferred.then_some(true),
        ..Default::default()
    }
}

/// An edit of one document.
fn change(uri: &Uri, edits: Vec<TextEdit>) -> WorkspaceEdit {
    WorkspaceEdit {
        changes: Some(HashMap::from([(uri.clone(), edits)])),
        ..Default::default()
    }
}

/// A new file at `uri` holding `text`.
fn create(uri: &Uri, text: String) -> WorkspaceEdit {
    WorkspaceEdit {
        document_changes: Some(DocumentChanges::Operations(vec![
            DocumentChangeOperation::Op(ResourceOp::Create(CreateFile {
                uri: uri.clone(),
                options: None,
                annotation_id: None,
            })),
            DocumentChangeOperation::Edit(TextDocumentEdit {
                text_document: OptionalVersionedTextDocumentIdentifier {
                    uri: uri.clone(),
                    version: None,
                },
                edits: vec![OneOf::Left(TextEdit {
                    range: Range::default(),
                    new_text: text,
                })],
            }),
        ])),
        ..Default::default()
    }
}

/// An insertion of `block` at the end of `text` (`lines`), a blank line before it.
fn append(lines: &Lines, block: &str) -> TextEdit {
    let text = lines.text();
    let sep = if text.is_empty() || text.ends_with(b"\n\n") {
        ""
    } else if text.ends_with(b"\n") {
        "\n"
    } else {
        "\n\n"
    };
    let at = lines.position(text.len());
    TextEdit {
        range: Range::new(at, at),
        new_text: format!("{sep}{block}"),
    }
}

// ----- unknown references ---------------------------------------------------------------

fn unknown_reference(cx: &Context<'_>, d: &Diagnostic, start: u32) -> Vec<CodeAction> {
    let index = &cx.model.index;
    let Some(f) = index.file(cx.file) else {
        return Vec::new();
    };
    let fi = &f.index;
    // The reference the diagnostic is on: the one starting there.
    let Some((_, r)) = fi
        .refs
        .iter()
        .enumerate()
        .find(|(_, r)| r.span.start == start)
    else {
        return Vec::new();
    };
    let kind = fi.str(r.kind);
    let name = fi.str(r.name);
    let prefix = r.module.map(|m| fi.str(m));
    let module = f.module;
    // The mod the reference looks in, and whether it still names nothing there.
    let target = match prefix {
        Some(p) => match index.mod_for_prefix(module, p) {
            Some(m) => m,
            None => return Vec::new(),
        },
        None => module,
    };
    let exists = match kind {
        "var" => cx.model.values.has_var(target, name),
        "local" => cx.model.values.has_local(target, name),
        _ => !index.lookup(target, kind, name).is_empty(),
    };
    if exists {
        return Vec::new();
    }
    let name_span = analysis::name_span(fi, r);
    let whole = r.span;
    let mut nearest = Nearest::new(name);
    let mut lists = cx.names.lists(cx.model);
    let names = lists.get(cx.model, target, kind);
    nearest.offer(&names, &|n| n.to_string(), name_span);
    // From the mod itself, its dependencies' names too (`dep.kind.name`); a dependency's
    // locals are private to it.
    if prefix.is_none() && kind != "local" {
        for (i, m) in index.mods().iter().enumerate() {
            let dep = ModId(i as u32);
            if dep == module || index.mod_for_prefix(module, &m.name) != Some(dep) {
                continue;
            }
            let theirs = lists.get(cx.model, dep, kind);
            nearest.offer(&theirs, &|n| format!("{}.{kind}.{n}", m.name), whole);
        }
    }
    drop(lists);
    let mut out: Vec<CodeAction> = nearest
        .best
        .into_iter()
        .enumerate()
        .map(|(i, (_, text, span))| {
            let range = cx.lines.range(span.start as usize, span.end as usize);
            let shown = if span == whole {
                text.clone()
            } else {
                match prefix {
                    Some(p) => format!("{p}.{kind}.{text}"),
                    None => format!("{kind}.{text}"),
                }
            };
            quickfix(
                format!("Did you mean `{shown}`?"),
                d,
                change(cx.uri, vec![TextEdit::new(range, text)]),
                i == 0,
            )
        })
        .collect();
    // A stub of the missing resource, in this mod only (an installed dependency is not
    // edited).
    let own = prefix.is_none() || target == module;
    let dependency = index.module(module).is_some_and(|m| m.dependency);
    if let Some(block) = stub(kind, name)
        && own
        && !dependency
        && analysis::is_identifier(name)
    {
        let here = f.path.clone();
        out.push(quickfix(
            format!("Create {kind} `{name}` at the end of this file"),
            d,
            change(cx.uri, vec![append(cx.lines, &block)]),
            false,
        ));
        if cx.caps.create_files
            && let Some(path) = new_file_path(cx, &names, &here, name)
            && let Some(uri) = (cx.uri_of)(&path)
        {
            out.push(quickfix(
                format!("Create {kind} `{name}` in a new file {path}"),
                d,
                create(&uri, block),
                false,
            ));
        }
    }
    out
}

/// The names nearest to a misspelt one, best first: at most [`MAX_SUGGESTIONS`], each
/// within an edit distance (a swap of neighbours counting one edit) of a third of the
/// longer name (at least 1), or containing the name or contained in it. A mod has
/// thousands of queries of similar length: a name is compared only when a cheap lower
/// bound of its distance (the difference of the two names' letter counts) leaves it a
/// chance against the limit and the worst of those kept.
struct Nearest<'a> {
    name: &'a str,
    letters: [i32; 64],
    len: usize,
    /// (distance, replacement text, span replaced), sorted.
    best: Vec<(usize, String, Span)>,
}

impl<'a> Nearest<'a> {
    fn new(name: &'a str) -> Nearest<'a> {
        Nearest {
            name,
            letters: letters(name),
            len: name.chars().count(),
            best: Vec::new(),
        }
    }

    #[cfg(test)]
    fn consider(&mut self, candidate: &str, text: &dyn Fn() -> String, span: Span) {
        let len = candidate.chars().count();
        self.consider_counted(candidate, len, &letters(candidate), text, span);
    }

    /// Considers the names of `list` (each replaced by `text` of it over `span`), nearest
    /// lengths first: those of a length the limit allows, the others only when one holds
    /// the other; it stops at the lengths too far off to beat the worst of three kept.
    fn offer(&mut self, list: &NameList, text: &dyn Fn(&str) -> String, span: Span) {
        let n = self.len;
        let names = &list.names;
        let longest = names.last().map_or(0, |c| c.len);
        for off in 0..=n.max(longest) {
            // Any name `off` characters longer or shorter is at least `off` edits away.
            let worst = (self.best.len() >= MAX_SUGGESTIONS)
                .then(|| self.best.last().map(|b| b.0))
                .flatten();
            if worst.is_some_and(|w| off > w) {
                return;
            }
            let shorter = n.checked_sub(off).filter(|_| off > 0);
            for len in [shorter, Some(n + off)].into_iter().flatten() {
                let within = off <= (n.max(len) / 3).max(1);
                let from = names.partition_point(|c| c.len < len);
                let to = names.partition_point(|c| c.len <= len);
                for c in &names[from..to] {
                    // Further off, only a name holding this one or held by it can be offered.
                    if within
                        || (n >= 3
                            && len >= 3
                            && (c.name.contains(self.name) || self.name.contains(&*c.name)))
                    {
                        self.consider_counted(&c.name, len, &c.letters, &|| text(&c.name), span);
                    }
                }
            }
        }
    }

    /// Considers `candidate`, of `len` characters and the `theirs` letter counts.
    fn consider_counted(
        &mut self,
        candidate: &str,
        len: usize,
        theirs: &[i32; 64],
        text: &dyn Fn() -> String,
        span: Span,
    ) {
        if candidate == self.name {
            return;
        }
        let limit = (self.len.max(len) / 3).max(1);
        let contains = self.len >= 3
            && len >= 3
            && (candidate.contains(self.name) || self.name.contains(candidate));
        let worst = (self.best.len() >= MAX_SUGGESTIONS)
            .then(|| self.best.last().map(|b| b.0))
            .flatten();
        // Letters added plus letters removed, halved: no more than the edits needed.
        let diff: i32 = self
            .letters
            .iter()
            .zip(theirs.iter())
            .map(|(a, b)| (a - b).abs())
            .sum();
        let bound = (diff as usize).div_ceil(2).max(self.len.abs_diff(len));
        if (bound > limit && !contains) || worst.is_some_and(|w| bound > w) {
            return;
        }
        let d = strsim::osa_distance(self.name, candidate);
        if d > limit && !contains {
            return;
        }
        let entry = (d, text(), span);
        if self.best.iter().any(|b| b.1 == entry.1 && b.2 == entry.2) {
            return;
        }
        let at = self
            .best
            .partition_point(|b| (b.0, &b.1) <= (entry.0, &entry.1));
        self.best.insert(at, entry);
        self.best.truncate(MAX_SUGGESTIONS);
    }
}

/// How many of each letter a name holds (letters folded into 64 buckets, which keeps the
/// difference of two counts a lower bound).
fn letters(s: &str) -> [i32; 64] {
    let mut out = [0; 64];
    for c in s.chars() {
        out[(c as usize) % 64] += 1;
    }
    out
}

/// A name a reference can take, with what [`Nearest`] compares first.
struct Candidate {
    name: Box<str>,
    /// Its length in characters.
    len: usize,
    letters: [i32; 64],
}

/// The names of one kind in one mod (a name defined twice, twice), by length, and the
/// files holding blocks of that kind.
#[derive(Default)]
pub struct NameList {
    names: Vec<Candidate>,
    /// Each file of the mod with top-level blocks of the kind (its path, how many), in
    /// the index's order.
    files: Vec<(String, usize)>,
}

impl NameList {
    fn collect(model: &Model, module: ModId, kind: &str) -> NameList {
        let mut names = Vec::new();
        each_name(model, module, kind, &mut |n| {
            names.push(Candidate {
                name: n.into(),
                len: n.chars().count(),
                letters: letters(n),
            })
        });
        names.sort_by_key(|c| c.len);
        let mut files = Vec::new();
        for (_, f) in model.index.files().filter(|(_, f)| f.module == module) {
            let fi = &f.index;
            let n = fi
                .blocks
                .iter()
                .filter(|b| b.parent.is_none() && fi.str(b.kind) == kind)
                .count();
            if n > 0 {
                files.push((f.path.clone(), n));
            }
        }
        NameList { names, files }
    }
}

/// The names of a model by mod and kind, each list collected on first need and kept until
/// the model's generation moves (a request then walks no block of the index).
#[derive(Default)]
pub struct Names {
    slot: Mutex<Generation>,
}

/// The lists of [`Names`] for one model generation, locked.
struct Lists<'a>(std::sync::MutexGuard<'a, Generation>);

/// A model generation and the lists collected for it, by mod and kind.
type Generation = (u64, HashMap<(ModId, String), Arc<NameList>>);

impl Names {
    /// The lists for `model`'s generation (those of an older one dropped).
    fn lists(&self, model: &Model) -> Lists<'_> {
        let mut slot = self.slot.lock().unwrap_or_else(|p| p.into_inner());
        if slot.0 != model.generation {
            *slot = (model.generation, HashMap::new());
        }
        Lists(slot)
    }
}

impl Lists<'_> {
    /// The names of `kind` in `module`.
    fn get(&mut self, model: &Model, module: ModId, kind: &str) -> Arc<NameList> {
        if let Some(list) = self.0.1.get(&(module, kind.to_string())) {
            return list.clone();
        }
        let list = Arc::new(NameList::collect(model, module, kind));
        self.0.1.insert((module, kind.to_string()), list.clone());
        list
    }
}

/// Calls `f` with each name a reference of `kind` (as a reference spells it) can take in
/// `module` (a name defined twice, twice).
fn each_name(model: &Model, module: ModId, kind: &str, f: &mut dyn FnMut(&str)) {
    match kind {
        "var" => model.values.var_names(module).into_iter().for_each(f),
        "local" => model.values.local_names(module).into_iter().for_each(f),
        _ => {
            for (_, file) in model.index.files().filter(|(_, x)| x.module == module) {
                let fi = &file.index;
                for b in &fi.blocks {
                    if b.role == BlockRole::Resource
                        && !b.anonymous
                        && b.parent.is_none()
                        && fi.str(b.kind) == kind
                    {
                        f(fi.str(b.name));
                    }
                }
            }
        }
    }
}

/// A minimal block of `kind` named `name` that loads without a diagnostic (ends with a
/// newline).
fn stub(kind: &str, name: &str) -> Option<String> {
    Some(match kind {
        "query" => format!("query \"{name}\" {{\n  sql = <<-EOQ\n    select 1\n  EOQ\n}}\n"),
        "control" => format!(
            "control \"{name}\" {{\n  title = \"{name}\"\n  sql   = <<-EOQ\n    select 'TODO' as resource, 'info' as status, 'Not written yet' as reason\n  EOQ\n}}\n"
        ),
        "benchmark" => {
            format!("benchmark \"{name}\" {{\n  title    = \"{name}\"\n  children = []\n}}\n")
        }
        _ => return None,
    })
}

/// A new file for a `kind` named `name`, named like its neighbours: in the folder holding
/// most of the mod's blocks of that kind (else the referring file's), with the referring
/// file's extension, the name prefixed as every neighbour's is (`query_` in a folder of
/// `query_*.pp`). `None` when that file exists.
fn new_file_path(cx: &Context<'_>, list: &NameList, referrer: &str, name: &str) -> Option<String> {
    let index = &cx.model.index;
    let dir_of = |p: &str| {
        p.rsplit_once('/')
            .map(|(d, _)| d.to_string())
            .unwrap_or_default()
    };
    let ext = referrer
        .rsplit_once('.')
        .map(|(_, e)| e)
        .filter(|e| matches!(*e, "pp" | "sp"))
        .unwrap_or("pp");
    let mut by_dir: HashMap<String, usize> = HashMap::new();
    let mut neighbours: Vec<&str> = Vec::new();
    for (path, n) in &list.files {
        *by_dir.entry(dir_of(path)).or_default() += n;
    }
    let here = dir_of(referrer);
    let dir = by_dir
        .iter()
        .max_by(|a, b| {
            (a.1, *a.0 == here, std::cmp::Reverse(a.0)).cmp(&(
                b.1,
                *b.0 == here,
                std::cmp::Reverse(b.0),
            ))
        })
        .map(|(d, _)| d.clone())
        .unwrap_or(here);
    for (path, _) in &list.files {
        if dir_of(path) == dir && path.ends_with(&format!(".{ext}")) {
            neighbours.push(path);
        }
    }
    let stems: Vec<&str> = neighbours
        .iter()
        .filter_map(|p| p.rsplit('/').next())
        .filter_map(|n| n.strip_suffix(&format!(".{ext}")))
        .collect();
    let prefix = shared_prefix(&stems);
    let file = format!("{prefix}{name}.{ext}");
    let path = if dir.is_empty() {
        file
    } else {
        format!("{dir}/{file}")
    };
    if index.file_by_path(&path).is_some() || (cx.read)(&path).is_some() {
        return None;
    }
    Some(path)
}

/// The prefix every one of at least two names shares, up to and including its last `_` or
/// `-` (`query_a`, `query_b` → `query_`); empty when there is none.
fn shared_prefix(stems: &[&str]) -> String {
    let [first, rest @ ..] = stems else {
        return String::new();
    };
    if rest.is_empty() {
        return String::new();
    }
    let mut len = first.len();
    for s in rest {
        len = first
            .bytes()
            .zip(s.bytes())
            .take(len)
            .take_while(|(a, b)| a == b)
            .count();
    }
    let common = &first[..len];
    match common.rfind(['_', '-']) {
        Some(i) => common[..=i].to_string(),
        None => String::new(),
    }
}

// ----- duplicate children ---------------------------------------------------------------

fn duplicate_child(cx: &Context<'_>, d: &Diagnostic, start: u32, end: u32) -> Vec<CodeAction> {
    let index = &cx.model.index;
    let Some(f) = index.file(cx.file) else {
        return Vec::new();
    };
    let fi = &f.index;
    // The `children` list holding the reference, and an earlier entry naming the same.
    let Some(i) = fi
        .refs
        .iter()
        .position(|r| r.span.start == start && r.span.end == end)
    else {
        return Vec::new();
    };
    let Some(block) = analysis::enclosing_block(fi, start).and_then(|b| fi.block(b)) else {
        return Vec::new();
    };
    let Some(AttrValue::RefList(list)) = fi.attr(block, AttrKey::Children).map(|a| a.value())
    else {
        return Vec::new();
    };
    let range = list.range();
    if !range.contains(&i) {
        return Vec::new();
    }
    let this = index.resolve_ref_first(cx.file, &fi.refs[i]);
    let repeated = this.is_some()
        && (range.start..i).any(|j| index.resolve_ref_first(cx.file, &fi.refs[j]) == this);
    if !repeated {
        return Vec::new();
    }
    let text: &[u8] = cx.lines.text();
    let (from, to) = removal(text, start as usize, end as usize);
    let shown = String::from_utf8_lossy(&text[start as usize..end as usize]).into_owned();
    vec![quickfix(
        format!("Remove the duplicate child `{shown}`"),
        d,
        change(
            cx.uri,
            vec![TextEdit::new(cx.lines.range(from, to), String::new())],
        ),
        true,
    )]
}

/// The bytes to delete to remove the list element at `start..end` with its comma: its whole
/// line when it stands alone on it; else it and the comma after it (and the spaces after
/// that); else, for the last element, the comma before it.
fn removal(text: &[u8], start: usize, end: usize) -> (usize, usize) {
    let blank = |c: u8| c == b' ' || c == b'\t';
    let mut after = end;
    while after < text.len() && blank(text[after]) {
        after += 1;
    }
    let comma_after = text.get(after) == Some(&b',');
    if comma_after {
        after += 1;
    }
    let line_start = text[..start]
        .iter()
        .rposition(|&c| c == b'\n')
        .map_or(0, |i| i + 1);
    let alone_before = text[line_start..start].iter().all(|&c| blank(c));
    let mut line_end = after;
    while line_end < text.len() && blank(text[line_end]) {
        line_end += 1;
    }
    let ends_line = line_end >= text.len() || text[line_end] == b'\n' || text[line_end] == b'\r';
    if alone_before && ends_line {
        // Up to and including the line break.
        let mut e = line_end;
        if text.get(e) == Some(&b'\r') {
            e += 1;
        }
        if text.get(e) == Some(&b'\n') {
            e += 1;
        }
        // Without a comma after, the one before (on an earlier line) goes too.
        if !comma_after
            && let Some(c) = text[..line_start]
                .iter()
                .rposition(|&c| !c.is_ascii_whitespace())
            && text[c] == b','
        {
            return (c, line_end);
        }
        return (line_start, e);
    }
    if comma_after {
        return (start, line_end);
    }
    match text[..start]
        .iter()
        .rposition(|&c| !c.is_ascii_whitespace())
    {
        Some(c) if text[c] == b',' => (c, end),
        _ => (start, end),
    }
}

// ----- variables without a value --------------------------------------------------------

fn no_value(cx: &Context<'_>, d: &Diagnostic, name: &str, start: u32) -> Vec<CodeAction> {
    let index = &cx.model.index;
    let Some(f) = index.file(cx.file) else {
        return Vec::new();
    };
    let fi = &f.index;
    let module = f.module;
    let Some(var) = cx.model.values.var(index, module, name) else {
        return Vec::new();
    };
    if var.value.is_some() || var.resource.file != cx.file {
        return Vec::new();
    }
    let Some(block) = fi.block(var.resource.block) else {
        return Vec::new();
    };
    let ns = block.name_span();
    if !(ns.start..=ns.end).contains(&start) && block.start.byte != start {
        return Vec::new();
    }
    if index.module(module).is_none_or(|m| m.dependency) {
        return Vec::new();
    }
    let value = zero_value(var.ty.as_ref().unwrap_or(&Type::Any));
    let mut out = Vec::new();
    if let Some(edit) = default_edit(cx.lines, fi, block, &value) {
        out.push(quickfix(
            format!("Add `default = {value}` to variable `{name}`"),
            d,
            change(cx.uri, vec![edit]),
            true,
        ));
    }
    // A variable file Powerpipe reads by itself: powerpipe.ppvars, else an *.auto.ppvars.
    let root = index
        .module(module)
        .map(|m| m.root.clone())
        .unwrap_or_default();
    let steampipe = f.path.ends_with(".sp");
    let (main, auto) = if steampipe {
        ("steampipe.spvars", ".auto.spvars")
    } else {
        ("powerpipe.ppvars", ".auto.ppvars")
    };
    let in_root = |file: &str| {
        if root.is_empty() {
            file.to_string()
        } else {
            format!("{root}/{file}")
        }
    };
    let main_path = in_root(main);
    let mut autos: Vec<String> = index
        .files()
        .filter(|(_, x)| x.module == module)
        .map(|(_, x)| x.path.clone())
        .filter(|p| {
            p.strip_prefix(&in_root(""))
                .is_some_and(|n| !n.contains('/') && n.ends_with(auto))
        })
        .collect();
    autos.sort();
    let existing = if (cx.read)(&main_path).is_some() {
        Some(main_path.clone())
    } else {
        autos.into_iter().next()
    };
    let entry = format!("{name} = {value}\n");
    match existing {
        Some(path) => {
            if let (Some(text), Some(uri)) = ((cx.read)(&path), (cx.uri_of)(&path)) {
                let lines = Lines::new(text);
                let file = path.rsplit('/').next().unwrap_or(&path).to_string();
                let sep = if lines.text().is_empty() || lines.text().ends_with(b"\n") {
                    ""
                } else {
                    "\n"
                };
                let at = lines.position(lines.text().len());
                out.push(quickfix(
                    format!("Set `{name}` in {file}"),
                    d,
                    change(
                        &uri,
                        vec![TextEdit::new(Range::new(at, at), format!("{sep}{entry}"))],
                    ),
                    false,
                ));
            }
        }
        None if cx.caps.create_files => {
            if let Some(uri) = (cx.uri_of)(&main_path) {
                out.push(quickfix(
                    format!("Create {main} setting `{name}`"),
                    d,
                    create(&uri, entry),
                    false,
                ));
            }
        }
        None => {}
    }
    out
}

/// An insertion of `default = value` into a variable block: on the line after its `type`
/// (at its indentation), else first in the block; an empty one-line block is opened up.
fn default_edit(
    lines: &Lines,
    fi: &FileIndex,
    block: &crate::syntax::Block,
    value: &str,
) -> Option<TextEdit> {
    let text: &[u8] = lines.text();
    let (bstart, bend) = (
        block.start.byte as usize,
        (block.end.byte as usize).min(text.len()),
    );
    let header_end = block.name_span().end as usize;
    let open = header_end
        + text
            .get(header_end..bend)?
            .iter()
            .position(|&c| c == b'{')?;
    let line_of = |at: usize| {
        let s = text[..at]
            .iter()
            .rposition(|&c| c == b'\n')
            .map_or(0, |i| i + 1);
        let indent: String = text[s..]
            .iter()
            .take_while(|&&c| c == b' ' || c == b'\t')
            .map(|&c| c as char)
            .collect();
        indent
    };
    let block_indent = line_of(bstart);
    let after_line = |at: usize| -> Option<usize> {
        let nl = text.get(at..bend)?.iter().position(|&c| c == b'\n')?;
        Some(at + nl + 1)
    };
    // Where the type's line ends, or the line of `{`.
    let anchor = match fi.attr(block, AttrKey::Type) {
        Some(a) => {
            let indent = line_of(a.span.start as usize);
            after_line(a.span.end as usize).map(|at| (at, indent, a.span.start as usize))
        }
        None => None,
    };
    if let Some((at, indent, value_start)) = anchor {
        // Aligned as the type's `=` is (`type        = string`).
        let line_start = text[..value_start]
            .iter()
            .rposition(|&c| c == b'\n')
            .map_or(0, |i| i + 1);
        let key_width = text[line_start..value_start]
            .iter()
            .position(|&c| c == b'=')
            .map_or(0, |eq| eq.saturating_sub(indent.len()));
        let key = format!("{:<width$}", "default", width = key_width.max(8) - 1);
        let pos = lines.position(at);
        return Some(TextEdit::new(
            Range::new(pos, pos),
            format!("{indent}{key} = {value}\n"),
        ));
    }
    let inner_indent = format!("{block_indent}  ");
    match after_line(open) {
        Some(at) if at < bend => {
            // The indentation of the block's first line inside, when there is one.
            let indent = {
                let s: String = text[at..bend]
                    .iter()
                    .take_while(|&&c| c == b' ' || c == b'\t')
                    .map(|&c| c as char)
                    .collect();
                if text.get(at + s.len()) == Some(&b'}') || s.is_empty() {
                    inner_indent
                } else {
                    s
                }
            };
            let pos = lines.position(at);
            Some(TextEdit::new(
                Range::new(pos, pos),
                format!("{indent}default = {value}\n"),
            ))
        }
        _ => {
            // `variable "x" {}` on one line: opened up.
            let pos = lines.position(open + 1);
            let close = bend.saturating_sub(1);
            let only_space = text
                .get(open + 1..close)
                .is_some_and(|s| s.iter().all(|c| c.is_ascii_whitespace()));
            if only_space && text.get(close) == Some(&b'}') {
                return Some(TextEdit::new(
                    Range::new(pos, lines.position(close)),
                    format!("\n{inner_indent}default = {value}\n{block_indent}"),
                ));
            }
            // One attribute on the block's line: the block laid out on lines.
            let inner = std::str::from_utf8(text.get(open + 1..close)?).ok()?.trim();
            if text.get(close) != Some(&b'}') || inner.contains('\n') {
                return None;
            }
            Some(TextEdit::new(
                Range::new(lines.position(open), lines.position(close + 1)),
                format!(
                    "{{\n{inner_indent}{inner}\n{inner_indent}default = {value}\n{block_indent}}}"
                ),
            ))
        }
    }
}

/// A value of type `ty` to start from, as HCL source: empty strings, zero, false, empty
/// collections, every required attribute of an object.
pub fn zero_value(ty: &Type) -> String {
    match ty {
        Type::Any | Type::String => "\"\"".to_string(),
        Type::Number => "0".to_string(),
        Type::Bool => "false".to_string(),
        Type::List(_) | Type::Set(_) => "[]".to_string(),
        Type::Map(_) => "{}".to_string(),
        Type::Tuple(items) => format!(
            "[{}]",
            items.iter().map(zero_value).collect::<Vec<_>>().join(", ")
        ),
        Type::Object(attrs) => {
            let inner: Vec<String> = attrs
                .iter()
                .filter(|a| !a.optional)
                .map(|a| format!("{} = {}", a.name, zero_value(&a.ty)))
                .collect();
            if inner.is_empty() {
                "{}".to_string()
            } else {
                format!("{{ {} }}", inner.join(", "))
            }
        }
        Type::Connection(kind) => format!("connection.{kind}.default"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remove(text: &str, needle: &str, nth: usize) -> String {
        let start = text.match_indices(needle).nth(nth).map(|(i, _)| i).unwrap();
        let (a, b) = removal(text.as_bytes(), start, start + needle.len());
        format!("{}{}", &text[..a], &text[b..])
    }

    #[test]
    fn removes_an_element_and_its_comma() {
        assert_eq!(remove("[a.b, c.d, a.b]", "a.b", 1), "[a.b, c.d]");
        assert_eq!(remove("[a.b, a.b, c.d]", "a.b", 1), "[a.b, c.d]");
        assert_eq!(
            remove("[\n  a.b,\n  c.d,\n  a.b,\n]\n", "a.b", 1),
            "[\n  a.b,\n  c.d,\n]\n"
        );
        assert_eq!(
            remove("[\n  a.b,\n  c.d,\n  a.b\n]\n", "a.b", 1),
            "[\n  a.b,\n  c.d\n]\n"
        );
        assert_eq!(
            remove("[\r\n  a.b,\r\n  a.b,\r\n]", "a.b", 1),
            "[\r\n  a.b,\r\n]"
        );
    }

    fn with_default(src: &str) -> String {
        let fi = crate::syntax::scan(src.as_bytes());
        let block = fi.blocks.first().expect("a block");
        let lines = Lines::new(Arc::from(src.as_bytes()));
        let edit = default_edit(&lines, &fi, block, "\"\"").expect("an edit");
        let (a, b) = (lines.offset(edit.range.start), lines.offset(edit.range.end));
        format!("{}{}{}", &src[..a], edit.new_text, &src[b..])
    }

    #[test]
    fn a_default_goes_after_the_type_or_first_in_the_block() {
        assert_eq!(
            with_default("variable \"a\" {\n  type        = string\n  description = \"d\"\n}\n"),
            "variable \"a\" {\n  type        = string\n  default     = \"\"\n  description = \"d\"\n}\n"
        );
        assert_eq!(
            with_default("variable \"a\" {\n    description = \"d\"\n}\n"),
            "variable \"a\" {\n    default = \"\"\n    description = \"d\"\n}\n"
        );
        assert_eq!(
            with_default("variable \"a\" {}\n"),
            "variable \"a\" {\n  default = \"\"\n}\n"
        );
        assert_eq!(
            with_default("variable \"a\" { type = string }\n"),
            "variable \"a\" {\n  type = string\n  default = \"\"\n}\n"
        );
        assert_eq!(
            with_default("variable \"a\" {\n}\n"),
            "variable \"a\" {\n  default = \"\"\n}\n"
        );
    }

    #[test]
    fn zero_values_follow_the_type() {
        use crate::resolve::types::ObjectAttr;
        let obj = Type::Object(vec![
            ObjectAttr {
                name: "a".into(),
                ty: Type::Number,
                optional: false,
                default: None,
            },
            ObjectAttr {
                name: "b".into(),
                ty: Type::String,
                optional: true,
                default: None,
            },
        ]);
        assert_eq!(zero_value(&obj), "{ a = 0 }");
        assert_eq!(
            zero_value(&Type::Tuple(vec![
                Type::Bool,
                Type::List(Box::new(Type::Any))
            ])),
            "[false, []]"
        );
    }

    #[test]
    fn names_get_the_prefix_their_neighbours_share() {
        assert_eq!(shared_prefix(&["query_a", "query_b2"]), "query_");
        assert_eq!(shared_prefix(&["ec2", "s3"]), "");
        assert_eq!(shared_prefix(&["controls"]), "");
    }

    fn nearest(name: &str, names: &[&str]) -> Vec<(usize, String)> {
        let mut n = Nearest::new(name);
        for c in names {
            n.consider(c, &|| c.to_string(), Span { start: 0, end: 0 });
        }
        n.best.into_iter().map(|(d, t, _)| (d, t)).collect()
    }

    /// The nearest names through a [`NameList`] (lengths first).
    fn offered(name: &str, names: &[&str]) -> Vec<(usize, String)> {
        let mut list: Vec<Candidate> = names
            .iter()
            .map(|n| Candidate {
                name: (*n).into(),
                len: n.chars().count(),
                letters: letters(n),
            })
            .collect();
        list.sort_by_key(|c| c.len);
        let mut n = Nearest::new(name);
        n.offer(
            &NameList {
                names: list,
                files: Vec::new(),
            },
            &|c| c.to_string(),
            Span { start: 0, end: 0 },
        );
        n.best.into_iter().map(|(d, t, _)| (d, t)).collect()
    }

    #[test]
    fn names_by_length_give_the_nearest_of_all() {
        let mut names: Vec<String> = (0..300).map(|i| format!("query_{i:03}")).collect();
        names.extend(
            [
                "q",
                "qu",
                "que",
                "quer",
                "query",
                "query_",
                "s3",
                "s3_bucket",
                "users",
                "users_by_region",
                "all_users_by_region_and_account",
                "sers",
                "user",
                "query_05_with_a_long_tail",
                "query_0",
                "uery_05",
                "ab",
                "ba",
                "a",
            ]
            .map(String::from),
        );
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let probes = [
            "query_05",
            "users",
            "s3_buckt",
            "ab",
            "a",
            "q",
            "que",
            "query",
            "user",
            "query_0500",
            "all_users",
            "users_by_region_and_account",
            "xyz",
            "query_1234567",
        ];
        for probe in probes {
            assert_eq!(offered(probe, &refs), nearest(probe, &refs), "{probe}");
        }
    }

    #[test]
    fn suggestions_are_the_nearest_names() {
        assert_eq!(nearest("nope", &["nope", "xyzw"]), []);
        assert_eq!(
            nearest(
                "s3_buckt",
                &["s3_bucket", "abc", "s3_bukcet", "buckets_all", "s3_bucket"]
            ),
            [(1, "s3_bucket".into()), (2, "s3_bukcet".into())]
        );
        assert_eq!(nearest("ab", &["ba"]), [(1, "ba".into())]);
        // Containing the name: far, yet offered.
        assert_eq!(
            nearest("users", &["users_by_region"]),
            [(10, "users_by_region".into())]
        );
        // The best three of many, ties by name, whatever the order they come in.
        let many: Vec<String> = (0..200).map(|i| format!("query_{i:03}")).collect();
        let mut refs: Vec<&str> = many.iter().map(String::as_str).collect();
        refs.reverse();
        assert_eq!(
            nearest("query_05", &refs),
            [
                (1, "query_005".into()),
                (1, "query_015".into()),
                (1, "query_025".into())
            ]
        );
    }

    #[test]
    fn messages_are_recognised() {
        assert_eq!(
            classify("variable `x` has no value and no default: set it"),
            Some(Problem::NoValue("x".into()))
        );
        assert_eq!(
            classify("unknown reference `query.nope`: no query"),
            Some(Problem::UnknownReference)
        );
        assert_eq!(classify("reference cycle: a"), None);
    }
}
