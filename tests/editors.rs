//! The editor packages in `editors/` agree with the server: Helix's `languages.toml` starts
//! `modlens lsp`, gives every file extension modlens indexes (and no other) to a language that
//! names the server, marks mod roots by the files the server finds roots by, and ships
//! highlighting queries for each language; Neovim's plugin detects the same extensions and
//! finds roots by the same files.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// File extensions an editor might map: modlens's own, its cousins' and HCL's.
const CANDIDATES: &[&str] = &[
    "pp", "sp", "fp", "tp", "ppvars", "spvars", "hcl", "tf", "tfvars", "sql", "md", "json",
];

fn editors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("editors")
}

fn read(rel: &str) -> String {
    let path = editors().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The extensions modlens indexes, among the candidates.
fn indexed() -> BTreeSet<String> {
    let set: BTreeSet<String> = CANDIDATES
        .iter()
        .filter(|e| modlens::workspace::is_indexed_file(&format!("x.{e}")))
        .map(|e| e.to_string())
        .collect();
    assert!(set.contains("pp") && set.contains("ppvars"), "{set:?}");
    set
}

/// The files the server finds a mod root by, among `candidates`: those that make a folder
/// the root of a file below it.
fn server_root_markers(candidates: &[String]) -> BTreeSet<String> {
    candidates
        .iter()
        .filter(|m| {
            let tmp = tempfile::tempdir().expect("temp dir");
            let sub = tmp.path().join("a/b");
            std::fs::create_dir_all(&sub).expect("mkdir");
            std::fs::write(tmp.path().join("a").join(m), "").expect("marker");
            std::fs::write(sub.join("x.pp"), "").expect("file");
            let root = modlens::workspace::find_root(&sub.join("x.pp")).expect("a root");
            root == std::fs::canonicalize(tmp.path().join("a")).expect("canonical")
        })
        .cloned()
        .collect()
}

fn strings(v: &toml::Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn helix_languages_start_the_server_for_every_indexed_file() {
    let doc: toml::Table = read("helix/languages.toml")
        .parse()
        .expect("languages.toml is TOML");
    let server = &doc["language-server"]["modlens"];
    assert_eq!(server["command"].as_str(), Some("modlens"));
    assert_eq!(strings(&server["args"]), ["lsp"]);

    let languages = doc["language"].as_array().expect("[[language]] entries");
    let names: Vec<&str> = languages
        .iter()
        .filter_map(|l| l["name"].as_str())
        .collect();
    assert_eq!(names, ["powerpipe", "steampipe"]);

    let mut covered = BTreeSet::new();
    let mut globs = BTreeSet::new();
    for l in languages {
        let name = l["name"].as_str().unwrap_or_default();
        for t in l["file-types"].as_array().expect("file-types") {
            match t {
                toml::Value::String(ext) => {
                    assert!(covered.insert(ext.clone()), "{ext} mapped twice");
                }
                toml::Value::Table(g) => {
                    globs.insert(g["glob"].as_str().expect("a glob").to_string());
                }
                other => panic!("{name}: unexpected file type {other}"),
            }
        }
        let servers: Vec<&str> = l["language-servers"]
            .as_array()
            .expect("language-servers")
            .iter()
            .filter_map(|s| s.as_str().or_else(|| s.get("name")?.as_str()))
            .collect();
        assert_eq!(servers, ["modlens"], "{name}");
        assert_eq!(l["grammar"].as_str(), Some("hcl"), "{name}");
        assert_eq!(
            l["scope"].as_str(),
            Some(format!("source.{name}").as_str()),
            "{name}"
        );
        let comments = strings(&l["comment-tokens"]);
        assert!(comments.contains(&"#".to_string()) && comments.contains(&"//".to_string()));
        assert_eq!(l["block-comment-tokens"]["start"].as_str(), Some("/*"));
        assert_eq!(l["block-comment-tokens"]["end"].as_str(), Some("*/"));
        assert!(l["indent"]["unit"].as_str().is_some(), "{name}: indent");

        // Roots: exactly the files the server finds a mod root by.
        let roots = strings(&l["roots"]);
        let mut candidates = roots.clone();
        candidates.extend(["mod.fp", "mod.tp", "powerpipe.ppvars", "main.tf"].map(String::from));
        let server_roots = server_root_markers(&candidates);
        assert_eq!(
            roots.iter().cloned().collect::<BTreeSet<_>>(),
            server_roots,
            "{name}: roots"
        );

        // Helix reads queries by language name: each inherits the HCL grammar's.
        let highlights = read(&format!("helix/runtime/queries/{name}/highlights.scm"));
        assert!(highlights.contains("; inherits: hcl"), "{name}");
    }
    assert_eq!(
        covered,
        indexed(),
        "Helix file-types vs what modlens indexes"
    );
    assert!(globs.contains("*.auto.ppvars"), "{globs:?}");
}

#[test]
fn neovim_detects_every_indexed_file_and_finds_roots_like_the_server() {
    let ftdetect = read("neovim/ftdetect/modlens.lua");
    // Both branches: vim.filetype.add (0.8+) and the autocmds of Neovim 0.7.
    let added: BTreeSet<String> = CANDIDATES
        .iter()
        .filter(|e| {
            ftdetect.contains(&format!("      {e} = 'powerpipe'"))
                || ftdetect.contains(&format!("      {e} = 'steampipe'"))
        })
        .map(|e| e.to_string())
        .collect();
    assert_eq!(added, indexed(), "vim.filetype.add");
    let autocmd: BTreeSet<String> = CANDIDATES
        .iter()
        .filter(|e| {
            ftdetect.lines().any(|l| {
                l.trim_start().starts_with("autocmd BufNewFile,BufRead")
                    && l.split_whitespace()
                        .nth(2)
                        .is_some_and(|pats| pats.split(',').any(|p| p == format!("*.{e}")))
            })
        })
        .map(|e| e.to_string())
        .collect();
    assert_eq!(autocmd, indexed(), "the 0.7 autocmds");

    let init = read("neovim/lua/modlens/init.lua");
    let line = init
        .lines()
        .find(|l| l.trim_start().starts_with("root_markers = {"))
        .expect("root_markers default");
    let markers: Vec<String> = line
        .split('\'')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect();
    let mut candidates = markers.clone();
    candidates.extend(["mod.fp", "mod.tp", "powerpipe.ppvars"].map(String::from));
    assert_eq!(
        markers.iter().cloned().collect::<BTreeSet<_>>(),
        server_root_markers(&candidates)
    );
}
