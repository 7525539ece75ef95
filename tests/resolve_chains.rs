//! Long reference chains: resources whose values use the next one's (`title =
//! query.next.title`, `sql = query.next.sql`, `base = control.next`), locals that wrap or
//! double the one before, cycles of thousands of members. Every walk over them must be
//! iterative (or bounded by the value limits) and linear.
//!
//! The chains are generated; the tests that would overflow a recursive walk run on a thread
//! with a small, known stack, so they fail the same way on every machine. Linearity is shown
//! by the resolver's work counters (resources built, resources and fields looked at), never
//! by timing; `benches/resolve.rs` prints the figures for 1,000 to 100,000 links.

mod common;

use std::path::Path;
use std::sync::Arc;

use common::{Scratch, open};
use modlens::cache::Limits;
use modlens::index::ModId;
use modlens::resolve::{Field, Resource, Val, ValueInputs};
use modlens::syntax::AttrKey;

/// The stack of the threads the chains are walked on: a debug build's recursive resolve
/// overflows it after a few hundred links; an iterative one never comes near it.
const STACK: usize = 1 << 20;

/// Runs `f` on a thread with a [`STACK`]-byte stack.
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(STACK)
        .spawn(f)
        .expect("a thread")
        .join()
        .unwrap_or_else(|p| std::panic::resume_unwind(p))
}

/// A fresh folder for one test (removed when dropped).
fn tempdir(tag: &str) -> Scratch {
    common::scratch(&format!("chains-{tag}"))
}

/// The shapes of chain the generator writes.
#[derive(Clone, Copy, Debug)]
enum Shape {
    /// `query "qK" { title = query.qK+1.title  sql = "select 1" }`, the last a literal.
    Title,
    /// `query "qK" { sql = query.qK+1.sql }`, the last `"select 1"`.
    Sql,
    /// `control "qK" { base = control.qK+1 }`, the last with a title and SQL.
    Base,
    /// `query "qK" { sql = query.qK+1.sql }` with the last pointing back at the first.
    Cycle,
}

impl Shape {
    fn kind(self) -> &'static str {
        match self {
            Shape::Base => "control",
            _ => "query",
        }
    }
}

/// One link of a chain of `n` (the `k`th).
fn link(shape: Shape, k: usize, n: usize) -> String {
    let next = k + 1;
    let last = next == n;
    match shape {
        Shape::Title if last => {
            format!("query \"q{k}\" {{\n  title = \"last\"\n  sql = \"select 1\"\n}}\n")
        }
        Shape::Title => {
            format!("query \"q{k}\" {{\n  title = query.q{next}.title\n  sql = \"select 1\"\n}}\n")
        }
        Shape::Sql if last => format!("query \"q{k}\" {{\n  sql = \"select 1\"\n}}\n"),
        Shape::Sql => format!("query \"q{k}\" {{\n  sql = query.q{next}.sql\n}}\n"),
        Shape::Base if last => {
            format!("control \"q{k}\" {{\n  title = \"last\"\n  sql = \"select 1\"\n}}\n")
        }
        Shape::Base => format!("control \"q{k}\" {{\n  base = control.q{next}\n}}\n"),
        Shape::Cycle => format!("query \"q{k}\" {{\n  sql = query.q{}.sql\n}}\n", next % n),
    }
}

/// Writes a mod holding a chain of `n` links in `chain.pp` (the last in `end.pp`, so an
/// edit there leaves the rest of the chain's text alone).
fn chain_mod(tag: &str, shape: Shape, n: usize) -> Scratch {
    let dir = tempdir(tag);
    std::fs::write(dir.join("mod.pp"), "mod \"m\" {}\n").expect("write");
    let mut text = String::new();
    for k in 0..n - 1 {
        text.push_str(&link(shape, k, n));
    }
    std::fs::write(dir.join("chain.pp"), text).expect("write");
    std::fs::write(dir.join("end.pp"), link(shape, n - 1, n)).expect("write");
    dir
}

fn opened(dir: &Path, limits: Limits) -> common::Opened {
    open(dir, &ValueInputs::default(), limits)
}

fn resolve(o: &common::Opened, name: &str) -> Arc<Resource> {
    o.resolver
        .resolve_name(&o.model, name)
        .unwrap_or_else(|| panic!("{name} exists"))
}

const N: usize = 3_000;

#[test]
fn resource_chains_resolve_without_recursion_each_link_built_once() {
    on_small_stack(|| {
        for shape in [Shape::Title, Shape::Sql, Shape::Base] {
            let dir = chain_mod(&format!("{shape:?}"), shape, N);
            let o = opened(&dir, Limits::default());
            let kind = shape.kind();
            let head = resolve(&o, &format!("{kind}.q0"));
            assert!(
                head.diagnostics.is_empty(),
                "{shape:?}: {:?}",
                head.diagnostics
            );
            match shape {
                Shape::Title | Shape::Base => {
                    assert_eq!(head.title.as_deref(), Some("last"), "{shape:?}")
                }
                _ => {}
            }
            if matches!(shape, Shape::Sql | Shape::Base) {
                assert_eq!(head.sql, Some(Val::str("select 1")), "{shape:?}");
            }
            // Every link built once, each looked at once.
            let stats = o.resolver.stats();
            assert_eq!(stats.resolved, N as u64, "{shape:?}");
            assert_eq!(stats.explored, N as u64, "{shape:?}");
            // Its dependencies are the whole chain, transitively.
            let deps = head.depends_on();
            assert_eq!(deps.len(), N - 1, "{shape:?}");
            assert!(deps.iter().any(|d| **d == format!("m.{kind}.q{}", N - 1)));
            // Every other link is cached now: asking for each builds and explores nothing.
            for k in 1..N {
                let r = resolve(&o, &format!("{kind}.q{k}"));
                if k % 500 == 0 {
                    assert_eq!(r.depends_on().len(), N - 1 - k);
                }
            }
            let again = o.resolver.stats();
            assert_eq!(
                (again.resolved, again.explored),
                (stats.resolved, stats.explored)
            );
            // Memory is linear in the chain: no entry copies its dependencies' lists (3,000
            // links copying theirs would hold 4.5 million names).
            assert!(
                again.cache.bytes < (N as u64) * 4096,
                "{shape:?}: {} bytes cached for {N} links",
                again.cache.bytes
            );
        }
    })
}

#[test]
fn a_chain_resolved_from_its_tail_up_looks_at_each_link_once_or_twice() {
    on_small_stack(|| {
        let dir = chain_mod("tail", Shape::Sql, N);
        let o = opened(&dir, Limits::default());
        for k in (0..N).rev() {
            let r = resolve(&o, &format!("query.q{k}"));
            assert_eq!(r.sql, Some(Val::str("select 1")));
        }
        let stats = o.resolver.stats();
        assert_eq!(stats.resolved, N as u64);
        // Each resolve looks at its own link and the cached one below it.
        assert_eq!(stats.explored, 2 * N as u64 - 1);
    })
}

#[test]
fn index_fields_follow_title_and_base_chains_without_recursion() {
    on_small_stack(|| {
        for shape in [Shape::Title, Shape::Base] {
            let dir = chain_mod(&format!("fields-{shape:?}"), shape, N);
            let o = opened(&dir, Limits::default());
            let id = o
                .model
                .index
                .lookup_qualified(&format!("{}.q0", shape.kind()))
                .expect("the head exists");
            let title = o.resolver.field(&o.model, id, AttrKey::Title);
            assert_eq!(title, Field::Value(Val::str("last")), "{shape:?}");
            let stats = o.resolver.stats();
            assert_eq!(stats.fields_explored, N as u64, "{shape:?}");
        }
    })
}

#[test]
fn every_field_of_a_base_chain_in_file_order_is_computed_once() {
    on_small_stack(|| {
        // As a dump asks: title, description and tags of each link, head first. Three
        // chains of inheritance at once; a cache that fits them by bytes must keep them
        // whatever its count of resources (here 100).
        let n = 1_000;
        let dir = chain_mod("dump-order", Shape::Base, n);
        let limits = Limits {
            max_entries: 100,
            ..Limits::default()
        };
        let o = opened(&dir, limits);
        for k in 0..n {
            let id = o
                .model
                .index
                .lookup_qualified(&format!("control.q{k}"))
                .expect("exists");
            for key in [AttrKey::Title, AttrKey::Description, AttrKey::Tags] {
                o.resolver.field(&o.model, id, key);
            }
            let title = o.resolver.field(&o.model, id, AttrKey::Title);
            assert_eq!(title, Field::Value(Val::str("last")));
        }
        assert_eq!(o.resolver.stats().fields_explored, 3 * n as u64);
    })
}

#[test]
fn a_chain_resolved_from_several_threads_at_once_is_built_once() {
    let dir = chain_mod("threads", Shape::Sql, N);
    let o = Arc::new(opened(&dir, Limits::default()));
    let start = Arc::new(std::sync::Barrier::new(4));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let (o, start) = (o.clone(), start.clone());
            std::thread::Builder::new()
                .stack_size(STACK)
                .spawn(move || {
                    start.wait();
                    // Two threads start at the head, two in the middle.
                    let k = if t % 2 == 0 { 0 } else { N / 2 };
                    o.resolver
                        .resolve_name(&o.model, &format!("query.q{k}"))
                        .map(|r| r.sql.clone())
                })
                .expect("a thread")
        })
        .collect();
    for t in threads {
        let sql = t.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
        assert_eq!(sql, Some(Some(Val::str("select 1"))));
    }
    assert_eq!(o.resolver.stats().resolved, N as u64);
}

#[test]
fn an_edit_at_the_end_of_a_chain_reaches_its_head_through_evicted_links() {
    on_small_stack(|| {
        let n = 200;
        let dir = chain_mod("evicted", Shape::Title, n);
        let limits = Limits {
            max_entries: 8,
            ..Limits::default()
        };
        let mut o = opened(&dir, limits);
        assert_eq!(resolve(&o, "query.q0").title.as_deref(), Some("last"));
        let head = o.model.index.lookup_qualified("query.q0").expect("exists");
        let middle = o
            .model
            .index
            .lookup_qualified("query.q100")
            .expect("exists");
        assert!(o.resolver.cached(&o.model, head).is_some());
        assert!(o.resolver.cached(&o.model, middle).is_none(), "evicted");
        // The last link's title changes: the head, which reaches it only through evicted
        // links, is stale.
        let edited = link(Shape::Title, n - 1, n).replace("\"last\"", "\"edited\"");
        std::fs::write(dir.join("end.pp"), &edited).expect("write");
        o.sources.forget("end.pp");
        let file = o.model.index.file_by_path("end.pp").expect("indexed");
        let inputs = ValueInputs::default();
        let sources = o.dyn_sources();
        let stale = o.model.replace_file(
            file,
            modlens::syntax::scan(edited.as_bytes()),
            &sources,
            &inputs,
        );
        let gone = o.resolver.invalidate_stale(&stale);
        assert!(gone.iter().any(|g| &**g == "m.query.q0"), "{gone:?}");
        assert_eq!(resolve(&o, "query.q0").title.as_deref(), Some("edited"));
    })
}

#[test]
fn breaking_a_cycle_clears_the_cycle_error_of_every_member() {
    let dir = tempdir("cycle-edit");
    std::fs::write(dir.join("mod.pp"), "mod \"m\" {}\n").expect("write");
    std::fs::write(dir.join("a.pp"), "query \"a\" {\n  sql = query.b.sql\n}\n").expect("write");
    let b = "query \"b\" {\n  sql = query.a.sql\n}\n";
    std::fs::write(dir.join("b.pp"), b).expect("write");
    let mut o = opened(&dir, Limits::default());
    let a = resolve(&o, "query.a");
    assert!(a.diagnostics[0].message.starts_with("reference cycle"));
    assert!(resolve(&o, "query.b").has_errors());
    // b no longer uses a: a's cycle error must go with it.
    let edited = "query \"b\" {\n  sql = \"select 1\"\n}\n";
    std::fs::write(dir.join("b.pp"), edited).expect("write");
    o.sources.forget("b.pp");
    let file = o.model.index.file_by_path("b.pp").expect("indexed");
    let (inputs, sources) = (ValueInputs::default(), o.dyn_sources());
    let stale = o.model.replace_file(
        file,
        modlens::syntax::scan(edited.as_bytes()),
        &sources,
        &inputs,
    );
    o.resolver.invalidate_stale(&stale);
    let a = resolve(&o, "query.a");
    assert!(a.diagnostics.is_empty(), "{:?}", a.diagnostics);
    assert_eq!(a.sql, Some(Val::str("select 1")));
}

#[test]
fn a_long_resource_cycle_is_reported_on_every_member_and_built_in_one_pass() {
    on_small_stack(|| {
        let n = 1_000;
        let dir = chain_mod("long-cycle", Shape::Cycle, n);
        let o = opened(&dir, Limits::default());
        for k in 0..n {
            let r = resolve(&o, &format!("query.q{k}"));
            assert_eq!(r.diagnostics.len(), 1, "q{k}");
            assert_eq!(
                r.diagnostics[0].message,
                format!(
                    "reference cycle: query.q{k} → query.q{} → … → query.q{k} ({n} resources in the cycle)",
                    (k + 1) % n
                )
            );
        }
        // The first request looked at the cycle once and built every member.
        let stats = o.resolver.stats();
        assert_eq!((stats.resolved, stats.explored), (n as u64, n as u64));
    })
}

/// A mod with one `locals` block: `l0 = 1` and each next one `l{k} = <body of k - 1>`.
fn locals_mod(tag: &str, n: usize, body: impl Fn(usize) -> String) -> Scratch {
    let dir = tempdir(tag);
    std::fs::write(dir.join("mod.pp"), "mod \"m\" {}\n").expect("write");
    let mut text = String::from("locals {\n  l0 = 1\n");
    for k in 1..n {
        text.push_str(&format!("  l{k} = {}\n", body(k - 1)));
    }
    text.push_str("}\n");
    text.push_str(&format!(
        "query \"uses_the_last\" {{\n  sql = \"select 1\"\n  value = local.l{}\n}}\n",
        n - 1
    ));
    std::fs::write(dir.join("locals.pp"), text).expect("write");
    dir
}

fn local(o: &common::Opened, name: &str) -> Option<Val> {
    o.model
        .values
        .local(&o.model.index, ModId(0), name)
        .and_then(|l| l.value.clone())
}

#[test]
fn locals_that_nest_through_references_stop_at_the_depth_limit() {
    on_small_stack(|| {
        let dir = locals_mod("nested", 3_000, |p| format!("[local.l{p}]"));
        let o = opened(&dir, Limits::default());
        o.model.values.force(&o.model.index);
        let d = o.model.diagnostics();
        assert_eq!(d.len(), 1, "{d:#?}");
        // `l129` is the first nested deeper than 128 lists.
        assert_eq!(d[0].diagnostic.start.line, 131);
        assert!(
            d[0].diagnostic
                .message
                .starts_with("cannot evaluate `local.l129`: value too deeply nested"),
            "{}",
            d[0].diagnostic.message
        );
        assert!(local(&o, "l128").is_some());
        assert!(local(&o, "l129").is_none() && local(&o, "l2999").is_none());
        // What uses them resolves (the value unknown), on the same small stack.
        let r = resolve(&o, "query.uses_the_last");
        assert!(matches!(r.attribute("value"), Some(Val::Unknown(_))));
    })
}

#[test]
fn locals_that_double_through_references_stop_at_the_size_limit() {
    on_small_stack(|| {
        let dir = locals_mod("doubling", 40, |p| format!("[local.l{p}, local.l{p}]"));
        let o = opened(&dir, Limits::default());
        o.model.values.force(&o.model.index);
        let d = o.model.diagnostics();
        assert_eq!(d.len(), 1, "{d:#?}");
        // l18 holds 2^19 - 1 elements; l19 would copy it twice: over 1,000,000.
        assert!(
            d[0].diagnostic
                .message
                .starts_with("cannot evaluate `local.l19`: value too large"),
            "{}",
            d[0].diagnostic.message
        );
        assert!(local(&o, "l18").is_some() && local(&o, "l19").is_none());
        assert!(local(&o, "l39").is_none());
    })
}

#[test]
fn resources_that_double_through_references_stop_at_the_size_limit() {
    on_small_stack(|| {
        let dir = tempdir("doubling-resources");
        std::fs::write(dir.join("mod.pp"), "mod \"m\" {}\n").expect("write");
        let mut text = String::from("query \"q0\" {\n  sql = \"select 1\"\n  items = [1]\n}\n");
        for k in 1..40 {
            let p = k - 1;
            text.push_str(&format!(
                "query \"q{k}\" {{\n  sql = \"select 1\"\n  items = [query.q{p}.items, query.q{p}.items]\n}}\n"
            ));
        }
        std::fs::write(dir.join("q.pp"), text).expect("write");
        let o = opened(&dir, Limits::default());
        // q18's items hold 3 * 2^18 - 1 elements; q19 would copy them twice.
        let last = resolve(&o, "query.q39");
        assert_eq!(last.attribute("items"), None);
        // Reported at the reference that tips it over.
        let over = resolve(&o, "query.q19");
        assert_eq!(over.diagnostics.len(), 1, "{:?}", over.diagnostics);
        assert!(
            over.diagnostics[0].message.starts_with("value too large"),
            "{:?}",
            over.diagnostics
        );
        assert_eq!(over.diagnostics[0].start.column, 29);
        assert_eq!(over.attribute("items"), None);
        let below = resolve(&o, "query.q18");
        assert!(below.diagnostics.is_empty(), "{:?}", below.diagnostics);
        assert!(below.attribute("items").is_some());
    })
}

#[test]
fn what_an_edit_affects_follows_every_use_of_a_long_chain_of_locals() {
    let n = 5_000;
    let dir = locals_mod("affected", n, |p| format!("local.l{p} + 1"));
    let o = opened(&dir, Limits::default());
    let values = &o.model.values;
    let all = values.affected(&[(ModId(0), false, "l0".into())]);
    assert_eq!(all.len(), n);
    let half = values.affected(&[(ModId(0), false, format!("l{}", n / 2))]);
    assert_eq!(half.len(), n - n / 2);
    assert!(half.iter().any(|h| **h == format!("m.local.l{}", n - 1)));
    assert!(
        !half
            .iter()
            .any(|h| **h == format!("m.local.l{}", n / 2 - 1))
    );
    assert_eq!(
        local(&o, &format!("l{}", n - 1)),
        Some(Val::Number(hcl::Number::from(n as u64)))
    );
}
