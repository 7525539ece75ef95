//! On-demand resolve on the fixture mods: values and their precedence, locals, cycles,
//! unknown references, `base`, `file()`, dependency mods, the cache and invalidation.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use common::{check, fixture, fixtures, open, open_fixture};
use modlens::cache::Limits;
use modlens::resolve::{Resource, Val, ValueInputs, ValueSource, VarFile};

fn resolve(o: &common::Opened, name: &str) -> Arc<Resource> {
    o.resolver
        .resolve_name(&o.model, name)
        .unwrap_or_else(|| panic!("{name} exists"))
}

fn value(o: &common::Opened, var: &str) -> (Option<Val>, ValueSource) {
    let v = o
        .model
        .values
        .var(&o.model.index, modlens::index::ModId(0), var)
        .unwrap_or_else(|| panic!("var.{var} is declared"));
    (v.value.clone(), v.source.clone())
}

/// Every diagnostic of the model, every value evaluated first (values are lazy).
fn forced(o: &common::Opened) -> Vec<modlens::resolve::FileDiagnostic> {
    o.model.values.force(&o.model.index);
    o.model.diagnostics()
}

fn s(v: &str) -> Option<Val> {
    Some(Val::str(v))
}

fn name(f: &std::path::Path) -> String {
    f.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[test]
fn check_reports_nothing_on_valid_fixtures_and_the_expected_diagnostics_on_the_others() {
    let mut all: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for dir in fixtures() {
        let n = name(&dir);
        let o = open(&dir, &ValueInputs::default(), Limits::default());
        let lines = check(&o);
        let errors = lines.iter().filter(|l| l.contains(": error: ")).count();
        let invalid =
            n.starts_with("broken_") || n.starts_with("invalid_") || n == "duplicate_names";
        assert_eq!(errors > 0, invalid, "{n}: {lines:#?}");
        if !lines.is_empty() {
            all.insert(n, lines);
        }
    }
    insta::assert_yaml_snapshot!("check_diagnostics", all);
}

#[test]
fn every_precedence_level() {
    let inputs = ValueInputs {
        env: vec![
            ("PP_VAR_from_env".into(), "env".into()),
            ("PP_VAR_pp_over_sp".into(), "pp".into()),
            ("SP_VAR_pp_over_sp".into(), "sp".into()),
            ("PP_VAR_env_vs_ppvars".into(), "env".into()),
            ("PP_VAR_env_number".into(), "5".into()),
            ("PP_VAR_env_list".into(), r#"["a", "b"]"#.into()),
            ("UNRELATED".into(), "x".into()),
        ],
        var_files: vec![VarFile {
            name: "override.vars".into(),
            text: std::fs::read_to_string(fixture("variable_precedence/override.vars"))
                .expect("fixture file"),
        }],
        vars: vec!["from_var=cli".into()],
    };
    let o = open(&fixture("variable_precedence"), &inputs, Limits::default());
    assert_eq!(
        value(&o, "from_default"),
        (s("default"), ValueSource::Default)
    );
    assert_eq!(
        value(&o, "from_env"),
        (s("env"), ValueSource::Env("PP_VAR_from_env".into()))
    );
    assert_eq!(value(&o, "pp_over_sp").0, s("pp"));
    let file = |f: &str| ValueSource::File(f.into());
    assert_eq!(
        value(&o, "env_vs_ppvars"),
        (s("powerpipe.ppvars"), file("powerpipe.ppvars"))
    );
    // steampipe.spvars is not read while powerpipe.ppvars exists.
    assert_eq!(value(&o, "from_ppvars").0, s("powerpipe.ppvars"));
    assert_eq!(
        value(&o, "from_auto_a"),
        (s("a.auto.ppvars"), file("a.auto.ppvars"))
    );
    assert_eq!(
        value(&o, "from_auto_b"),
        (s("b.auto.ppvars"), file("b.auto.ppvars"))
    );
    assert_eq!(
        value(&o, "from_var_file"),
        (s("override.vars"), file("override.vars"))
    );
    assert_eq!(value(&o, "from_var"), (s("cli"), ValueSource::CommandLine));
    assert_eq!(
        value(&o, "env_number").0,
        Some(Val::Number(hcl::Number::from(5)))
    );
    assert_eq!(
        value(&o, "env_list")
            .0
            .as_ref()
            .and_then(|v| v.as_list().map(|l| l.to_vec())),
        Some(vec![Val::str("a"), Val::str("b")])
    );
    assert_eq!(value(&o, "required").0, s("powerpipe.ppvars"));
    let settings = value(&o, "settings").0.unwrap_or(Val::Null);
    assert_eq!(
        settings.get("retries"),
        Some(&Val::Number(hcl::Number::from(3)))
    );
    let c = resolve(&o, "control.uses_every_variable");
    assert_eq!(c.title.as_deref(), Some("From cli and env"));
    let sql = c.sql.as_ref().and_then(Val::as_str).unwrap_or("");
    assert!(sql.contains("'default' as a, 5 as n"), "{sql}");
    assert!(
        sql.contains("'a,b' as l, 'from a.auto.ppvars/3' as s"),
        "{sql}"
    );
    assert!(forced(&o).is_empty(), "{:?}", forced(&o));

    // Without the user's values: defaults, files, and nothing from the environment.
    let plain = open_fixture("variable_precedence");
    assert_eq!(value(&plain, "from_env").0, s("default"));
    assert_eq!(value(&plain, "from_var_file").0, s("b.auto.ppvars"));
}

#[test]
fn bad_values_are_diagnostics_on_their_variable_or_their_file() {
    let inputs = ValueInputs {
        env: vec![("PP_VAR_env_number".into(), "five".into())],
        var_files: vec![VarFile {
            name: "bad.vars".into(),
            text: "env_list = \"not a list\"\nundeclared = 1\nsettings = {}\n".into(),
        }],
        vars: vec!["no_equals_sign".into(), "nope=1".into()],
    };
    let o = open(&fixture("variable_precedence"), &inputs, Limits::default());
    let mut msgs: Vec<String> = forced(&o)
        .into_iter()
        .map(|d| {
            format!(
                "{}:{}:{}: {}",
                d.file, d.diagnostic.start.line, d.diagnostic.start.column, d.diagnostic.message
            )
        })
        .collect();
    msgs.sort();
    insta::assert_yaml_snapshot!("bad_values", msgs);
    // A variable whose value failed has none; the others are unaffected.
    assert_eq!(value(&o, "env_number").0, None);
    assert_eq!(value(&o, "from_env").0, s("default"));
}

#[test]
fn a_variable_without_any_value_is_a_diagnostic_on_it() {
    let dir = tempdir("novalue");
    std::fs::write(dir.join("mod.pp"), "mod \"m\" {}\n").expect("write");
    std::fs::write(
        dir.join("v.pp"),
        "variable \"needed\" {\n  type = string\n}\n\ncontrol \"c\" {\n  title = \"x ${var.needed}\"\n  sql = \"select '${var.needed}'\"\n}\n",
    )
    .expect("write");
    let o = open(&dir, &ValueInputs::default(), Limits::default());
    let lines = check(&o);
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(
        lines[0].starts_with("v.pp:1:11: error: variable `needed` has no value"),
        "{lines:#?}"
    );
    // The control still resolves; what needs the value is unknown, not an error.
    let c = resolve(&o, "control.c");
    assert!(matches!(c.sql, Some(Val::Unknown(_))), "{:?}", c.sql);
}

#[test]
fn locals_chain_across_files_and_cycles_are_one_diagnostic() {
    let o = open_fixture("locals_tags");
    let l5 = o
        .model
        .values
        .local(&o.model.index, modlens::index::ModId(0), "level_5_tags")
        .and_then(|l| l.value.clone())
        .unwrap_or(Val::Null);
    assert_eq!(l5.get("cis_version"), Some(&Val::str("v1.5.0")));
    assert_eq!(l5.get("plugin"), Some(&Val::str("aws")));

    let o = open_fixture("invalid_locals_cycle");
    let cycles: Vec<String> = forced(&o)
        .into_iter()
        .map(|d| d.diagnostic.message.clone())
        .collect();
    assert_eq!(
        cycles,
        vec![
            "local values form a cycle: local.a → local.b → local.c → local.a",
            "local values form a cycle: local.self_loop → local.self_loop",
        ]
    );
    let c = resolve(&o, "control.uses_locals");
    assert_eq!(c.title.as_deref(), Some("Uses fine"));
    assert!(matches!(c.sql, Some(Val::Unknown(_))));
    assert!(c.diagnostics.is_empty(), "{:?}", c.diagnostics);
}

#[test]
fn a_long_chain_of_locals_and_a_long_cycle_neither_hang_nor_overflow() {
    let dir = tempdir("longchain");
    let n = 5_000;
    let mut text = String::from("locals {\n  l0 = \"x\"\n");
    for i in 1..n {
        text.push_str(&format!("  l{i} = local.l{}\n", i - 1));
    }
    for i in 0..n {
        text.push_str(&format!("  c{i} = local.c{}\n", (i + 1) % n));
    }
    text.push_str("}\n");
    std::fs::write(dir.join("mod.pp"), "mod \"m\" {}\n").expect("write");
    std::fs::write(dir.join("locals.pp"), text).expect("write");
    let o = open(&dir, &ValueInputs::default(), Limits::default());
    let last = o
        .model
        .values
        .local(
            &o.model.index,
            modlens::index::ModId(0),
            &format!("l{}", n - 1),
        )
        .and_then(|l| l.value.clone());
    assert_eq!(last, s("x"));
    let d = forced(&o);
    assert_eq!(d.len(), 1, "one diagnostic for the whole cycle");
    assert!(
        d[0].diagnostic
            .message
            .starts_with("local values form a cycle: local.c0 → local.c1")
    );
}

#[test]
fn resource_cycles_are_reported_on_every_member_and_followed_by_nobody() {
    let o = open_fixture("invalid_resource_cycle");
    let q1 = resolve(&o, "query.q1");
    let q2 = resolve(&o, "query.q2");
    assert_eq!(q1.diagnostics.len(), 1);
    assert_eq!(
        q1.diagnostics[0].message,
        "reference cycle: query.q1 → query.q2 → query.q1"
    );
    assert_eq!(
        q2.diagnostics[0].message,
        "reference cycle: query.q2 → query.q1 → query.q2"
    );
    assert_eq!(q1.sql, None);
    // Outside the cycle: resolves, and knows nothing of q1's SQL.
    let user = resolve(&o, "control.uses_the_cycle");
    assert_eq!(
        user.query.as_deref(),
        Some("invalid_resource_cycle.query.q1")
    );
    assert!(user.diagnostics.is_empty());
    // Title cycles: the index cannot evaluate them, the resolver reports them.
    let a = o
        .model
        .index
        .lookup_qualified("control.titles_in_a_cycle_a")
        .expect("exists");
    assert!(matches!(
        o.resolver
            .field(&o.model, a, modlens::syntax::AttrKey::Title),
        modlens::resolve::Field::Unknown { .. }
    ));
    // Resolving in the other order gives the same results.
    let other = open_fixture("invalid_resource_cycle");
    assert_eq!(resolve(&other, "query.q2"), q2);
    assert_eq!(resolve(&other, "query.q1"), q1);
}

#[test]
fn base_inheritance_follows_powerpipe() {
    let o = open_fixture("base_inheritance");
    let d = resolve(&o, "control.derived");
    assert_eq!(d.title.as_deref(), Some("Derived title"));
    assert_eq!(d.description.as_deref(), Some("Base description"));
    let tags: Vec<(&str, &str)> = d.tags.iter().map(|(k, v)| (&**k, &**v)).collect();
    assert_eq!(
        tags,
        vec![("a", "base"), ("b", "derived"), ("c", "derived")]
    );
    assert_eq!(d.attribute("severity"), Some(&Val::str("high")));
    assert_eq!(
        d.attribute("documentation"),
        None,
        "documentation is not inherited"
    );
    assert!(
        d.sql
            .as_ref()
            .and_then(Val::as_str)
            .is_some_and(|s| s.contains("'x' as reason"))
    );
    assert_eq!(d.params.len(), 1);
    assert_eq!(
        d.base.as_deref(),
        Some("base_inheritance.control.base_control")
    );
    assert!(
        d.depends_on()
            .iter()
            .any(|n| &**n == "base_inheritance.control.base_control")
    );

    let ds = resolve(&o, "control.derived_sql");
    assert!(
        ds.sql
            .as_ref()
            .and_then(Val::as_str)
            .is_some_and(|s| s.contains("'y' as reason"))
    );
    assert_eq!(ds.params.len(), 1);

    let twice = resolve(&o, "control.derived_twice");
    assert_eq!(twice.title.as_deref(), Some("Derived title"));
    assert_eq!(twice.attribute("severity"), Some(&Val::str("low")));
    assert_eq!(twice.tags.len(), 3);

    let bench = resolve(&o, "benchmark.derived_bench");
    assert_eq!(
        bench.children,
        vec![Arc::from("base_inheritance.control.base_control")]
    );
    assert_eq!(bench.title.as_deref(), Some("Base bench"));

    let card = resolve(&o, "card.dashboard_cards_anonymous_card_0");
    assert_eq!(
        card.attribute("width"),
        Some(&Val::Number(hcl::Number::from(6)))
    );
    assert_eq!(card.attribute("type"), Some(&Val::str("info")));
    assert_eq!(card.title.as_deref(), Some("Base card"));
}

#[test]
fn file_reads_inside_the_mod_only() {
    let o = open_fixture("file_function");
    let m = resolve(&o, "mod.file_function");
    let doc = m
        .attribute("documentation")
        .and_then(Val::as_str)
        .unwrap_or("");
    assert!(doc.starts_with("# File function"), "{doc}");
    let c = resolve(&o, "control.documented");
    assert_eq!(
        c.attribute("documentation"),
        Some(&Val::str(
            "Control documentation, read without the leading ./\n"
        ))
    );
    assert_eq!(
        resolve(&o, "control.uses_a_local_read_from_a_file")
            .title
            .as_deref(),
        Some("Index has 3 lines")
    );

    let o = open_fixture("invalid_file_outside_root");
    assert!(resolve(&o, "control.reads_inside").diagnostics.is_empty());
    for (name, why) in [
        ("control.reads_outside", "leaves the mod folder"),
        ("control.reads_absolute", "must be relative"),
        ("control.reads_missing", "No such file"),
    ] {
        let r = resolve(&o, name);
        assert_eq!(r.diagnostics.len(), 1, "{name}");
        assert!(
            r.diagnostics[0].message.contains(why),
            "{name}: {}",
            r.diagnostics[0].message
        );
        assert_eq!(r.attribute("documentation"), None);
    }
}

#[cfg(unix)]
#[test]
fn file_refuses_a_symbolic_link_that_leaves_the_mod() {
    let dir = tempdir("symlink");
    let outside = tempdir("symlink-outside");
    std::fs::write(outside.join("secret.md"), "secret").expect("write");
    std::os::unix::fs::symlink(outside.join("secret.md"), dir.join("link.md")).expect("symlink");
    std::fs::write(
        dir.join("mod.pp"),
        "mod \"m\" {\n  documentation = file(\"./link.md\")\n}\n",
    )
    .expect("write");
    let o = open(&dir, &ValueInputs::default(), Limits::default());
    let m = resolve(&o, "mod.m");
    assert_eq!(m.attribute("documentation"), None);
    assert!(m.diagnostics[0].message.contains("leaves the mod folder"));
}

#[test]
fn dependency_mods_take_args_and_keep_their_locals_private() {
    let o = open_fixture("dependency_mod");
    let dep = o.model.index.mod_named("aws_insights").expect("installed");
    let limit = o
        .model
        .values
        .var(&o.model.index, dep, "insights_bucket_limit")
        .expect("declared");
    assert_eq!(limit.value, Some(Val::Number(hcl::Number::from(50))));
    assert_eq!(limit.source, ValueSource::Args("dependency_mod".into()));
    let region = o
        .model
        .values
        .var(&o.model.index, dep, "insights_default_region")
        .expect("declared");
    assert_eq!(region.value, s("eu-west-1"));
    // Cross-mod references resolve into the dependency.
    let c = resolve(&o, "control.local_control_using_dependency_query");
    assert_eq!(
        c.query.as_deref(),
        Some("aws_insights.query.s3_bucket_list")
    );
    assert!(c.diagnostics.is_empty(), "{:?}", c.diagnostics);
    let q = resolve(&o, "aws_insights.query.s3_bucket_list");
    assert!(q.diagnostics.is_empty(), "{:?}", q.diagnostics);
    // --var dep.name overrides args.
    let o2 = open(
        &fixture("dependency_mod"),
        &ValueInputs {
            vars: vec!["aws_insights.insights_bucket_limit=7".into()],
            ..Default::default()
        },
        Limits::default(),
    );
    let dep2 = o2.model.index.mod_named("aws_insights").expect("installed");
    assert_eq!(
        o2.model
            .values
            .var(&o2.model.index, dep2, "insights_bucket_limit")
            .and_then(|v| v.value.clone()),
        Some(Val::Number(hcl::Number::from(7)))
    );
}

#[test]
fn a_dependency_local_referenced_from_the_parent_is_an_error() {
    let dir = tempdir("privatelocals");
    let dep = dir.join(".powerpipe/mods/github.com/o/dep@v1.0.0");
    std::fs::create_dir_all(&dep).expect("mkdir");
    std::fs::write(dep.join("mod.pp"), "mod \"dep\" {}\n").expect("write");
    std::fs::write(
        dep.join("l.pp"),
        "locals {\n  secret = \"s\"\n}\nquery \"q\" {\n  sql = \"select '${local.secret}'\"\n}\n",
    )
    .expect("write");
    std::fs::write(
        dir.join("mod.pp"),
        "mod \"m\" {\n  require {\n    mod \"github.com/o/dep\" {\n      version = \"*\"\n    }\n  }\n}\n",
    )
    .expect("write");
    std::fs::write(dir.join("c.pp"), "control \"c\" {\n  title = \"t\"\n  sql = \"select '${dep.local.secret}' ${dep.query.q.sql}\"\n}\n").expect("write");
    let o = open(&dir, &ValueInputs::default(), Limits::default());
    let c = resolve(&o, "control.c");
    assert_eq!(c.diagnostics.len(), 1, "{:?}", c.diagnostics);
    assert!(
        c.diagnostics[0].message.contains("private"),
        "{}",
        c.diagnostics[0].message
    );
    let q = resolve(&o, "dep.query.q");
    assert_eq!(q.sql, s("select 's'"));
}

#[test]
fn missing_dependencies_are_diagnostics_on_the_require_line() {
    let o = open_fixture("invalid_missing_dependency");
    let d: Vec<String> = forced(&o)
        .into_iter()
        .map(|d| {
            format!(
                "{}:{}:{}",
                d.file, d.diagnostic.start.line, d.diagnostic.start.column
            )
        })
        .collect();
    assert_eq!(d, vec!["mod.pp:5:5", "mod.pp:10:5"]);
}

#[test]
fn resolving_twice_gives_the_same_resource_parsed_once() {
    let o = open_fixture("basic_mod");
    let a = resolve(&o, "control.s3_bucket_encryption_enabled");
    let resolved = o.resolver.stats().resolved;
    let b = resolve(&o, "control.s3_bucket_encryption_enabled");
    assert!(Arc::ptr_eq(&a, &b));
    assert_eq!(o.resolver.stats().resolved, resolved);
    // The same on a cold resolver.
    let cold = open_fixture("basic_mod");
    assert_eq!(*resolve(&cold, "control.s3_bucket_encryption_enabled"), *a);
}

#[test]
fn concurrent_requests_for_one_resource_parse_it_once() {
    let o = open_fixture("basic_mod");
    let id = o
        .model
        .index
        .lookup_qualified("dashboard.s3_overview")
        .expect("exists");
    let results: Vec<Arc<Resource>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| scope.spawn(|| o.resolver.resolve(&o.model, id)))
            .collect();
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    });
    assert_eq!(results.len(), 8);
    assert!(results.windows(2).all(|w| Arc::ptr_eq(&w[0], &w[1])));
    assert_eq!(
        o.resolver.stats().resolved,
        1,
        "one parse for eight requests"
    );
}

#[test]
fn a_tiny_cache_evicts_but_never_changes_an_answer() {
    let big = open_fixture("basic_mod");
    let tiny = open(
        &fixture("basic_mod"),
        &ValueInputs::default(),
        Limits {
            max_entries: 2,
            max_bytes: 4096,
        },
    );
    let ids: Vec<_> = big.model.index.resources().collect();
    for id in &ids {
        assert_eq!(
            *big.resolver.resolve(&big.model, *id),
            *tiny.resolver.resolve(&tiny.model, *id)
        );
    }
    let st = tiny.resolver.stats().cache;
    assert!(
        st.entries <= 2 && st.bytes <= 4096 && st.peak_bytes <= 4096,
        "{st:?}"
    );
    assert!(st.evictions > 0);
}

#[test]
fn editing_a_file_invalidates_exactly_its_resources_and_their_dependents() {
    let dir = tempdir("invalidate");
    copy_dir(&fixture("basic_mod"), &dir);
    let inputs = ValueInputs::default();
    let mut o = open(&dir, &inputs, Limits::default());
    let all: Vec<_> = o.model.index.resources().collect();
    for id in &all {
        o.resolver.resolve(&o.model, *id);
    }
    let cached = |o: &common::Opened| -> Vec<String> {
        let mut v: Vec<String> = o
            .model
            .index
            .resources()
            .filter(|id| o.resolver.cached(&o.model, *id).is_some())
            .filter_map(|id| o.model.index.qualified_name(id))
            .collect();
        v.sort();
        v
    };
    let before = cached(&o);
    assert_eq!(before.len(), all.len());
    // Edit one query's SQL.
    let path = dir.join("s3.pp");
    let text = std::fs::read_to_string(&path).expect("read");
    let edited = text.replacen("aws_s3_bucket;", "aws_s3_bucket where true;", 1);
    assert_ne!(text, edited);
    std::fs::write(&path, &edited).expect("write");
    o.sources.forget("s3.pp");
    let file = o.model.index.file_by_path("s3.pp").expect("indexed");
    let scan = modlens::syntax::scan(edited.as_bytes());
    let stale = o.model.replace_file(file, scan, &o.dyn_sources(), &inputs);
    let dropped = o.resolver.invalidate_stale(&stale);
    let after = cached(&o);
    // What is gone: the edited file's resources and what depends on them (the dashboard
    // cards that use its queries, through `query =`), nothing else.
    let gone: Vec<&String> = before.iter().filter(|n| !after.contains(n)).collect();
    assert!(
        gone.iter().all(|n| {
            n.contains(".s3_") || n.contains("dashboard") || n.starts_with("basic_mod.benchmark.s3")
        }),
        "{gone:#?}"
    );
    assert!(
        after.iter().any(|n| n.contains("iam")),
        "the IAM resources stay"
    );
    assert!(after.iter().all(|n| !n.contains("benchmark.s3")));
    assert_eq!(dropped.len(), gone.len());
    // The dependents that stayed are exactly those that do not depend on the file.
    for id in o.model.index.resources() {
        if let Some(r) = o.resolver.cached(&o.model, id) {
            assert!(
                !r.depends_on().iter().any(|d| stale.names.contains(d)),
                "{} is stale",
                r.name
            );
        }
    }
    // Resolving again gives what a fresh workspace gives.
    let fresh = open(&dir, &inputs, Limits::default());
    for id in o.model.index.resources() {
        let a = o.resolver.resolve(&o.model, id);
        let b = fresh.resolver.resolve(&fresh.model, id);
        assert_eq!(*a, *b);
    }

    // Editing a local invalidates everything that uses it, in any file.
    let locals = dir.join("locals.pp");
    let text = std::fs::read_to_string(&locals).expect("read");
    let edited = text.replace("\"AWS/IAM\"", "\"AWS/IAM2\"");
    std::fs::write(&locals, &edited).expect("write");
    o.sources.forget("locals.pp");
    for id in o.model.index.resources().collect::<Vec<_>>() {
        o.resolver.resolve(&o.model, id);
    }
    let file = o.model.index.file_by_path("locals.pp").expect("indexed");
    let stale = o.model.replace_file(
        file,
        modlens::syntax::scan(edited.as_bytes()),
        &o.dyn_sources(),
        &inputs,
    );
    assert_eq!(
        stale.names,
        vec![Arc::<str>::from("basic_mod.local.iam_common_tags")],
        "only the local whose value changed"
    );
    o.resolver.invalidate_stale(&stale);
    let iam = resolve(&o, "control.iam_root_mfa_enabled");
    assert!(
        iam.tags
            .iter()
            .any(|(k, v)| &**k == "service" && &**v == "AWS/IAM2"),
        "{:?}",
        iam.tags
    );
    let s3 = o
        .model
        .index
        .lookup_qualified("control.s3_bucket_versioning_enabled")
        .expect("exists");
    assert!(
        o.resolver.cached(&o.model, s3).is_some(),
        "S3 controls do not use the IAM local"
    );
}

/// A fresh folder for one test (removed when dropped).
fn tempdir(tag: &str) -> common::Scratch {
    common::scratch(&format!("test-{tag}"))
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    for e in std::fs::read_dir(from).expect("read dir").flatten() {
        let p = e.path();
        let t = to.join(e.file_name());
        if p.is_dir() {
            std::fs::create_dir_all(&t).expect("mkdir");
            copy_dir(&p, &t);
        } else {
            std::fs::copy(&p, &t).expect("copy");
        }
    }
}

#[test]
fn an_edit_elsewhere_in_a_file_moves_its_other_resources_instead_of_dropping_them() {
    let dir = tempdir("refine");
    copy_dir(&fixture("basic_mod"), &dir);
    let inputs = ValueInputs::default();
    let mut o = open(&dir, &inputs, Limits::default());
    for id in o.model.index.resources().collect::<Vec<_>>() {
        o.resolver.resolve(&o.model, id);
    }
    let path = dir.join("iam.pp");
    let text = std::fs::read_to_string(&path).expect("read");
    // Two lines above everything, and one control's title changed.
    let edited = format!("# a comment\n# another\n{text}").replacen(
        "\"IAM root user should have MFA enabled\"",
        "\"IAM root user MFA on\"",
        1,
    );
    assert!(edited.contains("MFA on"));
    std::fs::write(&path, &edited).expect("write");
    o.sources.forget("iam.pp");
    let file = o.model.index.file_by_path("iam.pp").expect("indexed");
    let stale = o.model.replace_file(
        file,
        modlens::syntax::scan(edited.as_bytes()),
        &o.dyn_sources(),
        &inputs,
    );
    let everything_in_the_file = stale.names.len();
    let stale = o.resolver.refine(&o.model, stale);
    assert!(stale.names.len() < everything_in_the_file, "{stale:?}");
    assert!(
        stale
            .names
            .iter()
            .all(|n| n.contains("iam_root") || !n.contains(".control.")),
        "only the edited control among the controls: {stale:?}"
    );
    o.resolver.invalidate_stale(&stale);
    // Every answer equals a fresh workspace's, positions included.
    let fresh = open(&dir, &inputs, Limits::default());
    for id in o.model.index.resources() {
        assert_eq!(
            *o.resolver.resolve(&o.model, id),
            *fresh.resolver.resolve(&fresh.model, id)
        );
    }
}

#[test]
fn a_local_that_uses_a_resource_is_unknown_not_an_error() {
    let dir = tempdir("deferredlocal");
    std::fs::write(dir.join("mod.pp"), "mod \"m\" {}\n").expect("write");
    std::fs::write(
        dir.join("a.pp"),
        "query \"q\" {\n  sql = \"select 1\"\n}\n\nlocals {\n  from_query = query.q.sql\n}\n\ncontrol \"c\" {\n  title = \"t\"\n  sql = \"${local.from_query} union select 2\"\n}\n",
    )
    .expect("write");
    let o = open(&dir, &ValueInputs::default(), Limits::default());
    assert!(check(&o).is_empty(), "{:?}", check(&o));
    let c = resolve(&o, "control.c");
    assert!(matches!(c.sql, Some(Val::Unknown(_))), "{:?}", c.sql);
}

#[test]
fn a_block_the_scanner_found_broken_gets_one_message() {
    // A `mod`, a `variable` and a `locals` block each missing its `}`: hcl-rs fails on each
    // of them too, and the variable then has no default; only the scanner's error is shown.
    let dir = tempfile::tempdir().expect("temp dir");
    let write = |name: &str, text: &str| {
        std::fs::write(dir.path().join(name), text).expect("write");
    };
    write(
        "mod.pp",
        "mod \"m\" {\n  require {\n    plugin \"aws\" {\n      min_version = \"0.1\"\n    }\n  }\n",
    );
    write("vars.pp", "variable \"v\" {\n  default = \"x\"\n");
    write("locals.pp", "locals {\n  a = \"x\"\n  b = [1,\n}\n");
    let o = open(dir.path(), &ValueInputs::default(), Limits::default());
    let lines = check(&o);
    let errors: Vec<&String> = lines.iter().filter(|l| l.contains(": error: ")).collect();
    for file in ["mod.pp", "vars.pp"] {
        let of_file: Vec<_> = errors.iter().filter(|l| l.starts_with(file)).collect();
        assert_eq!(of_file.len(), 1, "{file}: {lines:#?}");
        assert!(of_file[0].contains("is not closed"), "{lines:#?}");
    }
    assert!(
        errors.iter().all(|l| !l.contains("syntax error")),
        "{lines:#?}"
    );
    assert!(
        errors.iter().all(|l| !l.contains("no default")),
        "{lines:#?}"
    );
}

/// A title, description or tags that fails to evaluate is an error at the expression, on
/// the resource that writes it (Powerpipe refuses to load such a mod), and only there: a
/// resource that inherits it or refers to it gets no second message.
#[test]
fn fields_that_fail_to_evaluate_are_errors_where_they_are_written() {
    let o = open_fixture("invalid_field_expressions");
    let diags = |name: &str| -> Vec<String> {
        resolve(&o, name)
            .diagnostics
            .iter()
            .map(|d| format!("{}:{}: {}", d.start.line, d.start.column, d.message))
            .collect()
    };
    assert_eq!(
        diags("control.unknown_function"),
        ["6:11: cannot evaluate `title`: unknown function `lowr`; did you mean `lower`?"]
    );
    assert_eq!(
        diags("control.wrong_arguments"),
        ["11:11: cannot evaluate `title`: in `upper(...)`: expected 1 positional arguments, got 2"]
    );
    let missing = diags("control.missing_file");
    assert_eq!(missing.len(), 1, "{missing:?}");
    assert!(
        missing[0].starts_with("16:17: cannot evaluate `description`: in `file(...)`:"),
        "{missing:?}"
    );
    assert_eq!(
        diags("control.bad_tags"),
        ["21:10: cannot evaluate `tags`: unknown function `nope`"]
    );
    assert_eq!(
        diags("control.tags_not_a_map"),
        ["26:10: cannot evaluate `tags`: tags must be a map of strings, not a list"]
    );
    assert_eq!(diags("control.inherits_a_bad_title"), Vec::<String>::new());
    assert_eq!(
        diags("benchmark.refers_to_a_bad_title"),
        Vec::<String>::new()
    );
    assert_eq!(resolve(&o, "control.unknown_function").title, None);
    // The variable's description is read with the values.
    let values: Vec<String> = forced(&o)
        .iter()
        .map(|fd| {
            format!(
                "{}:{}:{}: {}",
                fd.file,
                fd.diagnostic.start.line,
                fd.diagnostic.start.column,
                fd.diagnostic.message
            )
        })
        .collect();
    assert_eq!(
        values,
        ["controls.pp:41:17: cannot evaluate `description`: unknown function `nope`"]
    );
}

/// `KEY = null`, or a value that is null, is not set (pipe-fittings decodes with gohcl: a
/// null leaves the field nil, `HclResourceImpl.setBaseProperties` / `QueryProviderImpl`'s /
/// `DashboardCard.setBaseProperties` then fill a nil field from `base`): absent without a
/// base, the base's with one.
#[test]
fn null_attributes_are_not_set_and_a_base_gives_them() {
    let o = open_fixture("null_attributes");
    assert_eq!(check(&o), Vec::<String>::new());
    // Variables and locals that are null are values: null.
    assert_eq!(value(&o, "maybe_null").0, Some(Val::Null));
    let nothing = resolve(&o, "local.nothing");
    assert_eq!(nothing.attribute("value"), Some(&Val::Null));
    let c = resolve(&o, "control.null_title");
    assert_eq!(
        (c.title.as_deref(), c.description.as_deref(), c.tags.len()),
        (None, Some("5"), 0)
    );
    let v = resolve(&o, "control.null_from_values");
    assert_eq!((v.title.as_deref(), v.description.as_deref()), (None, None));
    let base_tags = [("level", "base"), ("service", "s3")];
    for name in ["control.derived_nulls", "control.derived_from_values"] {
        let d = resolve(&o, name);
        assert_eq!(d.title.as_deref(), Some("Base control"), "{name}");
        assert_eq!(
            d.description.as_deref(),
            Some("Base description."),
            "{name}"
        );
        let tags: Vec<(&str, &str)> = d.tags.iter().map(|(k, v)| (&**k, &**v)).collect();
        assert_eq!(tags, base_tags, "{name}");
        assert_eq!(
            d.query.as_deref(),
            Some("null_attributes.query.buckets"),
            "{name}"
        );
        assert_eq!(d.attribute("query"), None, "{name}");
    }
    let card = resolve(&o, "card.dashboard_cards_anonymous_card_0");
    assert_eq!(card.title.as_deref(), Some("Base card"));
    assert_eq!(card.sql, Some(Val::str("select 1 as value")));
    assert_eq!(card.attribute("width"), Some(&Val::Number(4.into())));
    assert_eq!(card.attribute("type"), Some(&Val::str("info")));
    // With no base, a null stays null: referring to it gives null, not an error.
    let alone = resolve(&o, "card.dashboard_cards_anonymous_card_1");
    assert_eq!(
        (alone.title.as_deref(), alone.attribute("width")),
        (None, Some(&Val::Null))
    );
    let refers = resolve(&o, "card.refers_to_a_null");
    assert_eq!(refers.attribute("width"), Some(&Val::Null));
    assert_eq!(refers.diagnostics, []);
    let bench = resolve(&o, "benchmark.derived_bench");
    assert_eq!(bench.title.as_deref(), Some("Base benchmark"));
    assert_eq!(
        bench.children.iter().map(|c| &**c).collect::<Vec<_>>(),
        [
            "null_attributes.control.null_title",
            "null_attributes.control.null_from_values"
        ]
    );
    assert!(resolve(&o, "benchmark.empty_bench").children.is_empty());
}

/// A tag set to null is an error where it is written: gohcl cannot decode a null into a
/// `map[string]string` entry (go-cty `gocty.FromCtyValue`: "null value is not allowed"), so
/// Powerpipe refuses the resource. The tags are then no literal for the index either.
#[test]
fn a_null_tag_is_an_error_where_it_is_written() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("mod.pp"),
        "mod \"m\" {}\n\nlocals {\n  nothing = null\n}\n\ncontrol \"literal\" {\n  tags = { a = null, b = \"x\" }\n  sql  = \"select 1\"\n}\n\ncontrol \"computed\" {\n  tags = merge({ a = \"1\" }, { b = local.nothing })\n  sql  = \"select 1\"\n}\n",
    )
    .expect("write");
    let o = open(dir.path(), &ValueInputs::default(), Limits::default());
    assert_eq!(
        check(&o),
        [
            "mod.pp:8:10: error: cannot evaluate `tags`: tags must be a map of strings: tag `a` is null",
            "mod.pp:13:10: error: cannot evaluate `tags`: tags must be a map of strings: tag `b` is null",
        ]
    );
    let id = o
        .model
        .index
        .lookup_qualified("control.literal")
        .expect("exists");
    assert!(
        !o.model
            .index
            .field_is_literal(id, modlens::syntax::AttrKey::Tags)
    );
}

/// Sources that count the reads of workspace files.
struct CountingSources {
    inner: Arc<dyn modlens::resolve::Sources>,
    reads: std::sync::atomic::AtomicUsize,
}

impl modlens::resolve::Sources for CountingSources {
    fn read(&self, path: &str) -> Option<Arc<[u8]>> {
        self.reads
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.inner.read(path)
    }
    fn read_in_mod(&self, mod_root: &str, path: &str) -> Result<String, String> {
        self.inner.read_in_mod(mod_root, path)
    }
    fn file_reader(&self, mod_root: &str) -> modlens::resolve::funcs::FileReader {
        self.inner.file_reader(mod_root)
    }
}

/// An index that kept its expressions' text (`load_with_text`) lets the resolver evaluate a
/// field without reading its file; a failing one reads it for the error's position, which
/// is the one a plain index gives.
#[test]
fn a_field_whose_text_the_index_kept_is_evaluated_without_reading_the_file() {
    use modlens::resolve::{Field, Model, Resolver};
    use modlens::syntax::AttrKey;
    let tmp = tempfile::tempdir().expect("temp dir");
    std::fs::write(tmp.path().join("mod.pp"), "mod \"m\" {\n}\n").expect("write");
    std::fs::write(
        tmp.path().join("c.pp"),
        "control \"ok\" {\n  title       = \"A ${upper(\"b\")}\"\n  description = \"Plain\"\n  tags        = merge({ a = \"1\" }, { b = \"2\" })\n  sql         = \"select 1\"\n}\n\ncontrol \"bad\" {\n  title = 1 + \"x\"\n  sql   = \"select 1\"\n}\n",
    )
    .expect("write");
    let ws = modlens::workspace::discover(tmp.path()).expect("discovers");
    let field = |kept: bool, name: &str, key: AttrKey| {
        let (index, _, basis) = if kept {
            modlens::workspace::load_with_text(&ws)
        } else {
            modlens::workspace::load_with_basis(&ws)
        };
        let counting = Arc::new(CountingSources {
            inner: Arc::new(modlens::workspace::DiskSources::with_basis(
                ws.root.clone(),
                0,
                basis,
            )),
            reads: Default::default(),
        });
        let sources: Arc<dyn modlens::resolve::Sources> = counting.clone();
        let model = Model::new(index, &sources, &ValueInputs::default());
        let resolver = Resolver::new(sources, Limits::default());
        let before = counting.reads.load(std::sync::atomic::Ordering::Relaxed);
        let id = model
            .index
            .lookup(modlens::index::ModId(0), "control", name)[0];
        let f = resolver.field(&model, id, key);
        let reads = counting.reads.load(std::sync::atomic::Ordering::Relaxed) - before;
        (f, reads)
    };
    for key in [AttrKey::Title, AttrKey::Description, AttrKey::Tags] {
        let (kept, reads) = field(true, "ok", key);
        let (plain, _) = field(false, "ok", key);
        assert_eq!(kept, plain, "{key:?}");
        assert!(matches!(kept, Field::Value(_)), "{key:?}: {kept:?}");
        assert_eq!(reads, 0, "{key:?}: files read");
    }
    let (kept, reads) = field(true, "bad", AttrKey::Title);
    let (plain, _) = field(false, "bad", AttrKey::Title);
    assert!(kept.error().is_some(), "{kept:?}");
    assert_eq!(kept.error(), plain.error());
    assert_eq!(reads, 1, "read for the error's position");
}

#[test]
fn a_change_to_a_file_read_with_file_drops_its_readers_and_no_other_change_does() {
    let dir = tempdir("filereads");
    std::fs::write(dir.join("mod.pp"), "mod \"m\" {}\n").expect("write");
    std::fs::create_dir_all(dir.join("docs")).expect("mkdir");
    std::fs::write(dir.join("docs/a.md"), "First").expect("write");
    std::fs::write(
        dir.join("c.pp"),
        "control \"reads\" {\n  sql           = \"select 1\"\n  documentation = file(\"./docs/a.md\")\n}\n\n\
         control \"uses\" {\n  sql         = \"select 1\"\n  description = control.reads.documentation\n}\n\n\
         control \"plain\" {\n  sql = \"select 2\"\n}\n",
    )
    .expect("write");
    let o = open(&dir, &ValueInputs::default(), Limits::default());
    let doc = |o: &common::Opened| {
        resolve(o, "control.reads")
            .attribute("documentation")
            .cloned()
    };
    assert_eq!(doc(&o), s("First"));
    assert_eq!(
        resolve(&o, "control.uses").description.as_deref(),
        Some("First")
    );
    resolve(&o, "control.plain");
    let cached = |o: &common::Opened, name: &str| {
        let id = o.model.index.lookup_qualified(name).expect("exists");
        o.resolver.cached(&o.model, id).is_some()
    };
    // Paths nothing read: an editor's swap file, a sibling, a folder elsewhere.
    for other in [".c.pp.swp", "docs/b.md", "docs/a.md.bak", "doc"] {
        assert!(
            !o.resolver.file_change_matters(&[other.to_string()]),
            "{other}"
        );
        assert!(
            !o.resolver.invalidate_file_readers(&[other.to_string()]),
            "{other}"
        );
    }
    assert!(cached(&o, "control.reads") && cached(&o, "control.uses"));
    // The file read, or the folder holding it: the reader and what uses its value go; the
    // control that reads nothing stays.
    for changed in ["docs/a.md", "docs"] {
        resolve(&o, "control.uses");
        assert!(
            o.resolver.invalidate_file_readers(&[changed.to_string()]),
            "{changed}"
        );
        assert!(!cached(&o, "control.reads"), "{changed}");
        assert!(!cached(&o, "control.uses"), "{changed}");
        assert!(cached(&o, "control.plain"), "{changed}");
    }
    std::fs::write(dir.join("docs/a.md"), "Second").expect("write");
    assert!(
        o.resolver
            .invalidate_file_readers(&["docs/a.md".to_string()])
    );
    assert_eq!(doc(&o), s("Second"));
    assert_eq!(
        resolve(&o, "control.uses").description.as_deref(),
        Some("Second")
    );
}
