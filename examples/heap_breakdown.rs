//! Prints where the index's heap goes, per table, for a mod folder.
use std::mem::size_of;
fn main() {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "fixtures/basic_mod".into());
    let ws = match modlens::workspace::discover(std::path::Path::new(&dir)) {
        Ok(ws) => ws,
        Err(e) => {
            eprintln!("{e}");
            return;
        }
    };
    let (index, stats) = modlens::workspace::load(&ws);
    let (mut blocks, mut attrs, mut tags, mut refs, mut strings, mut nstr, mut ntext) =
        (0, 0, 0, 0, 0, 0, 0);
    let mut counts = (0, 0, 0, 0);
    for (_, f) in index.files() {
        let i = &f.index;
        blocks += i.blocks.capacity() * size_of::<modlens::syntax::Block>();
        attrs += i.attrs.capacity() * size_of::<modlens::syntax::Attr>();
        tags += i.tags.capacity() * size_of::<modlens::syntax::Tag>();
        refs += i.refs.capacity() * size_of::<modlens::syntax::Reference>();
        counts.0 += i.blocks.len();
        counts.1 += i.attrs.len();
        counts.2 += i.tags.len();
        counts.3 += i.refs.len();
        nstr += i.strings.len();
        ntext += i.strings.iter().map(|(_, s)| s.len()).sum::<usize>();
        strings += i.heap_bytes();
    }
    let tables = blocks + attrs + tags + refs;
    eprintln!("source bytes {}", stats.bytes);
    eprintln!(
        "blocks {} ({}x{}), attrs {} ({}x{}), tags {} ({}), refs {} ({}x{})",
        blocks,
        counts.0,
        size_of::<modlens::syntax::Block>(),
        attrs,
        counts.1,
        size_of::<modlens::syntax::Attr>(),
        tags,
        counts.2,
        refs,
        counts.3,
        size_of::<modlens::syntax::Reference>()
    );
    eprintln!(
        "interned strings {} text bytes {} (file heap incl. tables {}, strings part {})",
        nstr,
        ntext,
        strings,
        strings - tables
    );
    eprintln!("index total {}", index.heap_bytes());
    by_category(&index);
}

#[allow(dead_code)]
fn by_category(index: &modlens::index::Index) {
    use modlens::syntax::AttrValue;
    use std::collections::BTreeMap;
    let mut cat: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for (_, f) in index.files() {
        let i = &f.index;
        let mut seen = std::collections::HashSet::new();
        let mut add = |k: String, s: modlens::syntax::Sym| {
            if seen.insert(s) {
                let e = cat.entry(k).or_default();
                e.0 += 1;
                e.1 += i.str(s).len();
            }
        };
        for b in &i.blocks {
            add(
                format!("name:{}", if b.anonymous { "anon" } else { "label" }),
                b.name,
            );
            add("kind".into(), b.kind);
            for a in i.attrs_of(b) {
                match a.value() {
                    AttrValue::Str(s) => add(format!("str:{:?}", a.key), s),
                    AttrValue::Scalar(s) => add(format!("scalar:{:?}", a.key), s),
                    AttrValue::Expr(Some(s)) => add(format!("expr:{:?}", a.key), s),
                    _ => {}
                }
            }
        }
        for r in &i.refs {
            add("ref:name".into(), r.name);
            add("ref:kind".into(), r.kind);
        }
    }
    for (k, (n, b)) in cat {
        eprintln!("{k:<24} {n:>8} {b:>10}");
    }
}
