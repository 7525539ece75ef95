//! The `--index-only` JSON dump (format 2): a public, versioned view of the index.
//! Deterministic: files sorted by path, resources by position.
//!
//! Everything comes from the index except the text the index deliberately does not keep
//! (literal descriptions, tag expressions): those are sliced from each file's source at their
//! span, through the `source` callback, read at most once per file and never parsed; and the
//! titles, descriptions and tags that are expressions, which the `fields` callback evaluates
//! (the resolver does, from just that expression's span). Format 2 shows them evaluated;
//! `title_expr`, `description_expr` and `tags_expr` remain only for values that cannot be
//! known without running something (or whose evaluation failed).

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

use rayon::prelude::*;
use serde::Serialize;

use super::{FileId, Index, ModId, ResourceId};
use crate::syntax::{AttrKey, AttrValue, Diagnostic, FileIndex, Pos, Span, decode_literal};

/// Reads a file's bytes by its workspace-relative path (`None` if it cannot be read).
pub type SourceReader<'a> = &'a dyn Fn(&str) -> Option<Vec<u8>>;

/// The dump's format version; raised whenever its shape changes.
pub const FORMAT: u32 = 2;

/// An index field (title, description, tags) as an evaluator gives it to the dump.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldText {
    /// Not set.
    Absent,
    /// A title or description.
    Text(String),
    /// Tags.
    Tags(BTreeMap<String, String>),
    /// Not known: the expression as written.
    Unknown(String),
}

/// Evaluates a resource's title, description or tags; `None` leaves the index's literal.
pub type FieldReader<'a> = &'a dyn Fn(ResourceId, AttrKey) -> Option<FieldText>;

/// The field reader of an index-only view: literals only, expressions shown as written.
pub fn literal_fields(_: ResourceId, _: AttrKey) -> Option<FieldText> {
    None
}

/// [`SourceReader`] that can be called from several threads.
pub type SyncSourceReader<'a> = &'a (dyn Fn(&str) -> Option<Vec<u8>> + Sync);

/// [`FieldReader`] that can be called from several threads.
pub type SyncFieldReader<'a> = &'a (dyn Fn(ResourceId, AttrKey) -> Option<FieldText> + Sync);

/// The whole dump.
#[derive(Debug, Serialize)]
pub struct Dump {
    /// [`FORMAT`].
    pub format: u32,
    /// The root mod.
    #[serde(rename = "mod")]
    pub root: ModDump,
    /// Installed dependency mods.
    pub dependencies: Vec<ModDump>,
    /// How many files were scanned.
    pub files_scanned: usize,
    /// Every resource, sorted by file then position.
    pub resources: Vec<ResourceDump>,
    /// Every diagnostic, sorted by file then position.
    pub diagnostics: Vec<DiagnosticDump>,
}

/// A mod.
#[derive(Debug, Serialize)]
pub struct ModDump {
    /// Its name.
    pub name: String,
    /// Its literal title.
    pub title: Option<String>,
    /// Its folder relative to the workspace root (`""` for the root mod).
    pub root: String,
}

/// One resource.
#[derive(Debug, Serialize)]
pub struct ResourceDump {
    /// Block type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short name.
    pub name: String,
    /// `mod.type.name`.
    pub qualified_name: String,
    /// Literal title.
    pub title: Option<String>,
    /// The title's expression text when it is not a literal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title_expr: Option<String>,
    /// Literal description.
    pub description: Option<String>,
    /// The description's expression text when it is not a literal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description_expr: Option<String>,
    /// Literal tags.
    pub tags: BTreeMap<String, String>,
    /// The tags' expression text when they are not a literal object.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags_expr: Option<String>,
    /// Children as qualified names, in order.
    pub children: Vec<String>,
    /// The children's expression text when they are not a list of references.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub children_expr: Option<String>,
    /// The parent's qualified name.
    pub parent: Option<String>,
    /// File relative to the workspace root.
    pub file: String,
    /// Where the block is.
    pub span: SpanDump,
}

/// A span with 1-based line and column and 0-based byte offsets.
#[derive(Debug, Serialize)]
pub struct SpanDump {
    /// Start.
    pub start: PosDump,
    /// End.
    pub end: PosDump,
}

/// A position.
#[derive(Debug, Serialize)]
pub struct PosDump {
    /// 1-based line.
    pub line: u32,
    /// 1-based column (characters).
    pub column: u32,
    /// 0-based byte offset.
    pub byte: u32,
}

/// One diagnostic.
#[derive(Debug, Serialize)]
pub struct DiagnosticDump {
    /// File relative to the workspace root.
    pub file: String,
    /// `error` or `warning`.
    pub severity: &'static str,
    /// What is wrong.
    pub message: String,
    /// Where.
    pub span: SpanDump,
}

impl From<Pos> for PosDump {
    fn from(p: Pos) -> Self {
        PosDump {
            line: p.line,
            column: p.column,
            byte: p.byte,
        }
    }
}

impl From<&super::ModInfo> for ModDump {
    fn from(m: &super::ModInfo) -> Self {
        ModDump {
            name: m.name.clone(),
            title: m.title.clone(),
            root: m.root.clone(),
        }
    }
}

/// Builds the dump of an index; `source` supplies the text the index keeps as spans only,
/// `fields` the evaluated titles, descriptions and tags. [`write`] prints the same document
/// without holding it.
pub fn dump(index: &Index, source: SourceReader<'_>, fields: FieldReader<'_>) -> Dump {
    let files = sorted_files(index);
    let listed_parent = listed_parents(index, &files);
    let mut resources = Vec::new();
    for &(file, path) in &files {
        resources.extend(file_resources(
            index,
            file,
            path,
            source,
            &listed_parent,
            fields,
        ));
    }
    Dump {
        format: FORMAT,
        root: root_mod(index),
        dependencies: index.mods().iter().skip(1).map(ModDump::from).collect(),
        files_scanned: files.len(),
        resources,
        diagnostics: diagnostics(index).collect(),
    }
}

/// How [`write`] produces the resources.
#[derive(Clone, Copy, Default)]
pub struct WriteOptions<'a> {
    /// Files whose resources are built at once, in parallel on rayon's pool (their fields
    /// evaluated there); 0 or 1: one file at a time on the calling thread. Whatever the
    /// value, the output is the same bytes.
    pub files_per_batch: usize,
    /// Called with the number of resources of each file once they are built.
    pub progress: Option<&'a (dyn Fn(u64) + Sync)>,
}

/// Writes the dump of an index as pretty JSON with a final newline, the same bytes as
/// `serde_json::to_writer_pretty` of [`dump`], but as it is produced: a file's resources are
/// built, written and dropped before the next file's (a batch of files', in parallel, with
/// [`WriteOptions::files_per_batch`]); each file's source is read at most once and dropped
/// after the file.
pub fn write<W: std::io::Write>(
    out: &mut W,
    index: &Index,
    source: SyncSourceReader<'_>,
    fields: SyncFieldReader<'_>,
    options: WriteOptions<'_>,
) -> std::io::Result<()> {
    let files = sorted_files(index);
    let listed_parent = listed_parents(index, &files);
    let listed_parent = &listed_parent;
    let per_file = move |&(file, path): &(FileId, &str)| {
        let built = file_resources(index, file, path, source, listed_parent, fields);
        if let Some(progress) = options.progress {
            progress(built.len() as u64);
        }
        built
    };
    let resources: Box<dyn Iterator<Item = ResourceDump> + '_> = if options.files_per_batch > 1 {
        Box::new(
            files
                .chunks(options.files_per_batch)
                .flat_map(move |batch| {
                    batch
                        .par_iter()
                        .map(&per_file)
                        .collect::<Vec<Vec<ResourceDump>>>()
                })
                .flatten(),
        )
    } else {
        Box::new(files.iter().flat_map(per_file))
    };
    let doc = Streamed {
        format: FORMAT,
        root: root_mod(index),
        dependencies: Seq::new(index.mods().iter().skip(1).map(ModDump::from)),
        files_scanned: files.len(),
        resources: Seq::new(resources),
        diagnostics: Seq::new(diagnostics(index)),
    };
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    out.write_all(b"\n")?;
    out.flush()
}

/// [`Dump`] with its lists as iterators (the field names and order must stay [`Dump`]'s).
#[derive(Serialize)]
struct Streamed<D, R, G> {
    format: u32,
    #[serde(rename = "mod")]
    root: ModDump,
    dependencies: D,
    files_scanned: usize,
    resources: R,
    diagnostics: G,
}

/// A list serialized from an iterator, once.
struct Seq<I>(RefCell<Option<I>>);

impl<I> Seq<I> {
    fn new(items: I) -> Seq<I> {
        Seq(RefCell::new(Some(items)))
    }
}

impl<I> Serialize for Seq<I>
where
    I: Iterator,
    I::Item: Serialize,
{
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let items = self.0.borrow_mut().take();
        serializer.collect_seq(items.into_iter().flatten())
    }
}

/// The files by path.
fn sorted_files(index: &Index) -> Vec<(FileId, &str)> {
    let mut files: Vec<(FileId, &str)> =
        index.files().map(|(id, f)| (id, f.path.as_str())).collect();
    files.sort_by(|a, b| a.1.cmp(b.1));
    files
}

/// Parents through `children` lists: the first lister in dump order.
fn listed_parents(index: &Index, files: &[(FileId, &str)]) -> HashMap<ResourceId, ResourceId> {
    let mut listed_parent: HashMap<ResourceId, ResourceId> = HashMap::new();
    for &(file, _) in files {
        for id in index.resources_in_file(file) {
            for child in index.children(id) {
                listed_parent.entry(child).or_insert(id);
            }
        }
    }
    listed_parent
}

/// One file's resources in order, its source read at most once.
fn file_resources(
    index: &Index,
    file: FileId,
    path: &str,
    source: SourceReader<'_>,
    listed_parent: &HashMap<ResourceId, ResourceId>,
    fields: FieldReader<'_>,
) -> Vec<ResourceDump> {
    let Some(entry) = index.file(file) else {
        return Vec::new();
    };
    let mut text = SpanText {
        path,
        source,
        bytes: None,
    };
    index
        .resources_in_file(file)
        .filter_map(|id| resource(index, &entry.index, id, &mut text, listed_parent, fields))
        .collect()
}

/// Every diagnostic, sorted by file then position.
fn diagnostics(index: &Index) -> impl Iterator<Item = DiagnosticDump> + '_ {
    index
        .diagnostics()
        .into_iter()
        .map(|(file, d)| diagnostic(index, file, &d))
}

/// The root mod (`local` when the workspace has no `mod` block).
fn root_mod(index: &Index) -> ModDump {
    index
        .module(ModId(0))
        .map(ModDump::from)
        .unwrap_or(ModDump {
            name: "local".to_string(),
            title: None,
            root: String::new(),
        })
}

/// One file's source, read on first need.
struct SpanText<'a> {
    path: &'a str,
    source: SourceReader<'a>,
    bytes: Option<Option<Vec<u8>>>,
}

impl SpanText<'_> {
    fn slice(&mut self, span: Span) -> Option<&[u8]> {
        let (source, path) = (self.source, self.path);
        self.bytes
            .get_or_insert_with(|| source(path))
            .as_deref()
            .and_then(|b| b.get(span.range()))
    }

    /// The expression text at `span`.
    fn expr(&mut self, span: Span) -> Option<String> {
        self.slice(span)
            .map(|b| String::from_utf8_lossy(b).into_owned())
    }

    /// The decoded literal at `span`.
    fn literal(&mut self, span: Span) -> Option<String> {
        self.slice(span).map(decode_literal)
    }
}

fn resource(
    index: &Index,
    file: &FileIndex,
    id: ResourceId,
    src: &mut SpanText<'_>,
    listed_parent: &HashMap<ResourceId, ResourceId>,
    fields: FieldReader<'_>,
) -> Option<ResourceDump> {
    let b = file.block(id.block)?;
    let mut text = |key: AttrKey| -> (Option<String>, Option<String>) {
        let Some(attr) = file.attr(b, key) else {
            return (None, None);
        };
        match attr.value() {
            AttrValue::Str(s) | AttrValue::Scalar(s) => (Some(file.str(s).to_string()), None),
            AttrValue::Text => (src.literal(attr.span), None),
            AttrValue::Expr(Some(s)) => (None, Some(file.str(s).to_string())),
            AttrValue::Expr(None) => (None, src.expr(attr.span)),
            _ => (None, None),
        }
    };
    let mut evaluated = |key: AttrKey| match fields(id, key) {
        Some(FieldText::Text(t)) => (Some(t), None),
        Some(FieldText::Unknown(e)) => (None, Some(e)),
        Some(FieldText::Absent) => (None, None),
        Some(FieldText::Tags(_)) | None => text(key),
    };
    let (title, title_expr) = evaluated(AttrKey::Title);
    let (description, description_expr) = evaluated(AttrKey::Description);
    let literal_tags = match file.attr(b, AttrKey::Tags) {
        Some(a) => match a.value() {
            AttrValue::Tags(_) => (
                file.tag_list(&a.value())
                    .iter()
                    .map(|t| (file.str(t.key).to_string(), file.str(t.value).to_string()))
                    .collect(),
                None,
            ),
            AttrValue::Expr(Some(s)) => (BTreeMap::new(), Some(file.str(s).to_string())),
            AttrValue::Expr(None) => (BTreeMap::new(), src.expr(a.span)),
            _ => (BTreeMap::new(), None),
        },
        None => (BTreeMap::new(), None),
    };
    let (tags, tags_expr) = match fields(id, AttrKey::Tags) {
        Some(FieldText::Tags(t)) => (t, None),
        Some(FieldText::Unknown(e)) => (BTreeMap::new(), Some(e)),
        Some(FieldText::Absent) => (BTreeMap::new(), None),
        Some(FieldText::Text(_)) | None => literal_tags,
    };
    let (children, children_expr) = match index.child_names(id) {
        Some(names) => (names, None),
        None => (
            Vec::new(),
            file.attr(b, AttrKey::Children)
                .and_then(|a| match a.value() {
                    AttrValue::Expr(Some(s)) => Some(file.str(s).to_string()),
                    _ => None,
                }),
        ),
    };
    // A nested block's parent encloses it; a top-level one's is its first lister, already
    // found above (asking the index would build its reverse-reference map for nothing).
    let parent = if b.parent.is_some() {
        index.parent(id)
    } else {
        listed_parent.get(&id).copied()
    }
    .and_then(|p| index.qualified_name(p));
    Some(ResourceDump {
        kind: file.str(b.kind).to_string(),
        name: file.block_name(id.block).into_owned(),
        qualified_name: index.qualified_name(id)?,
        title,
        title_expr,
        description,
        description_expr,
        tags,
        tags_expr,
        children,
        children_expr,
        parent,
        file: src.path.to_string(),
        span: SpanDump {
            start: b.start.into(),
            end: b.end.into(),
        },
    })
}

fn diagnostic(index: &Index, file: FileId, d: &Diagnostic) -> DiagnosticDump {
    DiagnosticDump {
        file: index.file(file).map(|f| f.path.clone()).unwrap_or_default(),
        severity: d.severity.as_str(),
        message: d.message.clone(),
        span: SpanDump {
            start: d.start.into(),
            end: d.end.into(),
        },
    }
}
