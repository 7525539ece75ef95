//! Inputs built to hurt: very deep nesting, many broken files side by side, a file that is
//! all garbage. Nothing may panic, everything else must still be indexed.

use std::collections::HashSet;
use std::path::PathBuf;

use modlens::index::dump;
use modlens::workspace;

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("modlens-robust-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp folder");
        TempDir(dir)
    }

    fn write(&self, rel: &str, bytes: &[u8]) {
        std::fs::write(self.0.join(rel), bytes).expect("write temp file");
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Blocks nested far deeper than any mod: the first `MAX_BLOCK_DEPTH` levels are indexed
/// with Powerpipe's names, the rest is one diagnostic, and what follows the dashboard is
/// indexed as usual. The dump's size stays linear in the file (names at most 32 levels long).
#[test]
fn a_hundred_thousand_levels_of_nesting_index_and_dump() {
    let dir = TempDir::new("deep");
    dir.write("mod.pp", b"mod \"deep\" {}\n");
    let depth = 100_000;
    let mut src = String::from("dashboard \"d\" {\n");
    for _ in 0..depth {
        src.push_str("container {\n");
    }
    src.push_str("card \"leaf\" {}\n");
    for _ in 0..depth {
        src.push_str("}\n");
    }
    src.push_str("}\ncontrol \"after\" {}\n");
    dir.write("deep.pp", src.as_bytes());

    let ws = workspace::discover(&dir.0).expect("discovers");
    let (index, _) = workspace::load(&ws);
    let diagnostics = index.diagnostics();
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    let max = modlens::syntax::MAX_BLOCK_DEPTH;
    assert_eq!(diagnostics[0].1.start.line, max as u32 + 1);
    let d = dump::dump(&index, &|rel| ws.read(rel), &dump::literal_fields);
    // mod + dashboard + the containers down to the limit + control; not the leaf.
    assert_eq!(d.resources.len(), 3 + (max - 1));
    let names: HashSet<&str> = d
        .resources
        .iter()
        .map(|r| r.qualified_name.as_str())
        .collect();
    assert_eq!(
        names.len(),
        d.resources.len(),
        "generated names stay unique"
    );
    assert!(!names.iter().any(|n| n.contains("leaf")));
    let text = serde_json::to_string(&d).expect("serialises");
    assert!(text.len() < 200_000, "dump of {} bytes", text.len());
    assert!(index.lookup_qualified("deep.control.after").is_some());
    // The first levels keep Powerpipe's exact names.
    assert!(names.contains(
        "deep.container.container_dashboard_d_anonymous_container_0_anonymous_container_0"
    ));
}

#[test]
fn broken_files_do_not_hide_good_ones() {
    let dir = TempDir::new("mixed");
    dir.write("mod.pp", b"mod \"mixed\" {}\n");
    dir.write("good.pp", b"query \"q\" {\n  sql = \"select 1\"\n}\n");
    dir.write(
        "garbage.pp",
        &(0u8..=255).cycle().take(5000).collect::<Vec<u8>>(),
    );
    dir.write("latin1.pp", b"control \"c\" {\n  title = \"caf\xe9\"\n}\n");
    dir.write("unclosed.pp", b"control \"open\" {\n  title = \"x\"\n");
    dir.write("empty.pp", b"");
    let ws = workspace::discover(&dir.0).expect("discovers");
    let (index, _) = workspace::load(&ws);
    assert!(index.lookup_qualified("query.q").is_some());
    assert!(index.lookup_qualified("control.c").is_some());
    assert!(index.lookup_qualified("control.open").is_some());
    let files_with_errors: HashSet<String> = index
        .diagnostics()
        .into_iter()
        .filter_map(|(f, _)| index.file(f).map(|f| f.path.clone()))
        .collect();
    for f in ["garbage.pp", "latin1.pp", "unclosed.pp"] {
        assert!(files_with_errors.contains(f), "{f}: {files_with_errors:?}");
    }
    assert!(!files_with_errors.contains("good.pp"));
    assert!(!files_with_errors.contains("empty.pp"));
}
