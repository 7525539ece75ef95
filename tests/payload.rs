//! Evaluated index fields (titles, descriptions, tags) across edits, as the dashboards
//! payload meets them: an edit forgets exactly the fields it may have changed — those of the
//! edited file and those computed from a changed name, through other fields, `base` and
//! values — and keeps the rest (the payload after an edit then evaluates little again).
//! Every check compares with a workspace opened fresh on the edited files.

mod common;

use std::path::Path;

use common::{Opened, open};
use modlens::cache::Limits;
use modlens::index::dump::FieldText;
use modlens::resolve::ValueInputs;
use modlens::syntax::AttrKey;

const MOD: &str = r#"mod "m" {
  title = "M"
}
"#;

const OTHER: &str = r#"benchmark "other" {
  title    = "Other title"
  tags     = { service = "s3" }
  children = []
}

benchmark "lonely" {
  title    = "Lonely"
  children = []
}
"#;

const USES: &str = r#"benchmark "uses" {
  title    = benchmark.other.title
  tags     = merge(benchmark.other.tags, { extra = "x" })
  children = [benchmark.other]
}

benchmark "heir" {
  base = benchmark.other
}

benchmark "later" {
  title    = benchmark.not_yet.title
  children = []
}

dashboard "local_title" {
  title = local.dash_title
}
"#;

const LOCALS: &str = r#"locals {
  dash_title = "Dashboard ${local.suffix}"
  suffix     = "one"
}
"#;

const UNTOUCHED: &str = r#"benchmark "untouched" {
  title    = "Untouched ${local.suffix}"
  tags     = merge({ a = "b" }, { c = "d" })
  children = []
}

dashboard "quiet" {
  title = join(" ", ["a", "quiet", "dashboard"])
}
"#;

/// A fresh folder for one test (removed when dropped).
fn tempdir(tag: &str) -> common::Scratch {
    common::scratch(&format!("payload-{tag}"))
}

/// A mod of the files above in a fresh folder.
fn write_mod(tag: &str) -> common::Scratch {
    let dir = tempdir(tag);
    for (name, text) in [
        ("mod.pp", MOD),
        ("other.pp", OTHER),
        ("uses.pp", USES),
        ("locals.pp", LOCALS),
        ("untouched.pp", UNTOUCHED),
    ] {
        std::fs::write(dir.join(name), text).expect("write");
    }
    dir
}

const KEYS: [AttrKey; 3] = [AttrKey::Title, AttrKey::Description, AttrKey::Tags];

/// Every field of every resource, by qualified name.
fn all_fields(o: &Opened) -> Vec<(String, AttrKey, Option<FieldText>)> {
    let mut out = Vec::new();
    for id in o.model.index.resources().collect::<Vec<_>>() {
        let name = o.model.index.qualified_name(id).unwrap_or_default();
        for key in KEYS {
            out.push((name.clone(), key, o.resolver.dump_field(&o.model, id, key)));
        }
    }
    out.sort_by(|a, b| (&a.0, a.1.as_str()).cmp(&(&b.0, b.1.as_str())));
    out
}

fn field(o: &Opened, name: &str, key: AttrKey) -> Option<FieldText> {
    let id = o
        .model
        .index
        .lookup_qualified(name)
        .unwrap_or_else(|| panic!("{name} exists"));
    o.resolver.dump_field(&o.model, id, key)
}

fn title(o: &Opened, name: &str) -> Option<String> {
    match field(o, name, AttrKey::Title) {
        Some(FieldText::Text(t)) => Some(t),
        _ => None,
    }
}

/// Edits `file` as the language server takes an edit in: the file replaced in the model,
/// the stale narrowed to what changed, then invalidated.
fn edit(o: &mut Opened, dir: &Path, file: &str, from: &str, to: &str) {
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path).expect("read");
    let edited = text.replacen(from, to, 1);
    assert_ne!(text, edited, "{from:?} is in {file}");
    std::fs::write(&path, &edited).expect("write");
    o.sources.forget(file);
    let id = o.model.index.file_by_path(file).expect("indexed");
    let stale = o.model.replace_file(
        id,
        modlens::syntax::scan(edited.as_bytes()),
        &o.dyn_sources(),
        &ValueInputs::default(),
    );
    let stale = o.resolver.refine(&o.model, stale);
    o.resolver.invalidate_stale(&stale);
}

/// Every field as a workspace opened fresh on the folder computes it.
fn fresh_fields(dir: &Path) -> Vec<(String, AttrKey, Option<FieldText>)> {
    all_fields(&open(dir, &ValueInputs::default(), Limits::default()))
}

#[test]
fn a_field_using_another_resources_title_is_recomputed_when_that_title_changes() {
    let dir = write_mod("other-title");
    let mut o = open(&dir, &ValueInputs::default(), Limits::default());
    all_fields(&o);
    assert_eq!(
        title(&o, "m.benchmark.uses").as_deref(),
        Some("Other title")
    );
    assert_eq!(
        title(&o, "m.benchmark.heir").as_deref(),
        Some("Other title")
    );
    edit(&mut o, &dir, "other.pp", "Other title", "Renamed");
    assert_eq!(title(&o, "m.benchmark.uses").as_deref(), Some("Renamed"));
    assert_eq!(
        title(&o, "m.benchmark.heir").as_deref(),
        Some("Renamed"),
        "inherited through base"
    );
    edit(
        &mut o,
        &dir,
        "other.pp",
        "service = \"s3\"",
        "service = \"ec2\"",
    );
    match field(&o, "m.benchmark.uses", AttrKey::Tags) {
        Some(FieldText::Tags(t)) => {
            assert_eq!(t.get("service").map(String::as_str), Some("ec2"), "{t:?}");
            assert_eq!(t.get("extra").map(String::as_str), Some("x"), "{t:?}");
        }
        other => panic!("tags: {other:?}"),
    }
    assert_eq!(all_fields(&o), fresh_fields(&dir));
}

#[test]
fn a_field_naming_a_resource_that_an_edit_defines_is_recomputed() {
    let dir = write_mod("defined-later");
    let mut o = open(&dir, &ValueInputs::default(), Limits::default());
    all_fields(&o);
    assert_eq!(title(&o, "m.benchmark.later"), None, "not defined yet");
    edit(
        &mut o,
        &dir,
        "other.pp",
        "benchmark \"lonely\"",
        "benchmark \"not_yet\" {\n  title = \"Now here\"\n}\n\nbenchmark \"lonely\"",
    );
    assert_eq!(title(&o, "m.benchmark.later").as_deref(), Some("Now here"));
    assert_eq!(all_fields(&o), fresh_fields(&dir));
}

#[test]
fn a_field_using_a_local_is_recomputed_when_the_local_changes() {
    let dir = write_mod("local");
    let mut o = open(&dir, &ValueInputs::default(), Limits::default());
    all_fields(&o);
    assert_eq!(
        title(&o, "m.dashboard.local_title").as_deref(),
        Some("Dashboard one")
    );
    // Through a chain of locals, into a field of another file.
    edit(&mut o, &dir, "locals.pp", "\"one\"", "\"two\"");
    assert_eq!(
        title(&o, "m.dashboard.local_title").as_deref(),
        Some("Dashboard two")
    );
    assert_eq!(
        title(&o, "m.benchmark.untouched").as_deref(),
        Some("Untouched two")
    );
    assert_eq!(all_fields(&o), fresh_fields(&dir));
}

#[test]
fn an_edit_keeps_the_fields_of_files_it_cannot_have_changed() {
    let dir = write_mod("kept");
    let mut o = open(&dir, &ValueInputs::default(), Limits::default());
    all_fields(&o);
    let evaluated = |o: &Opened| o.resolver.stats().fields_evaluated;
    let before = evaluated(&o);
    // Nothing uses `lonely`: only its own file's expressions (none) are evaluated again.
    edit(&mut o, &dir, "other.pp", "\"Lonely\"", "\"Lonelier\"");
    for name in [
        "m.benchmark.untouched",
        "m.dashboard.quiet",
        "m.dashboard.local_title",
    ] {
        for key in KEYS {
            field(&o, name, key);
        }
    }
    assert_eq!(
        evaluated(&o),
        before,
        "the fields of files the edit cannot have changed are kept"
    );
    // `uses` names `other`, whose block is in the edited file: computed again.
    field(&o, "m.benchmark.uses", AttrKey::Title);
    assert!(evaluated(&o) > before);
    assert_eq!(all_fields(&o), fresh_fields(&dir));
    // Editing the file with the expressions evaluates them again, and them only.
    let before = evaluated(&o);
    edit(&mut o, &dir, "untouched.pp", "\"quiet\"", "\"calm\"");
    all_fields(&o);
    assert_eq!(
        evaluated(&o) - before,
        3,
        "the untouched file's title and tags and the quiet dashboard's title"
    );
    assert_eq!(all_fields(&o), fresh_fields(&dir));
}
