//! `modlens fmt` and the language server's formatting: what they write, what they leave
//! alone, and their exit codes and errors. That the canonical text is `hclwrite.Format`'s,
//! byte for byte, is `tests/fmt_differential.rs`'s business; here the expected text is the
//! library's [`modlens::format::format`].

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::lsp::{Client, apply_edits, lsp_position, uri};
use serde_json::json;

const MESSY: &str = "query \"a\"{\ntitle=\"A\"\n  sql  = \"select 1\"   # one\n}\n\n\n\ncontrol \"c\" {\n    query = query.a\n  tags = {\n  x = \"1\"\n   yy = \"2\"\n  }\n}\n";
/// A string broken over two lines: hclsyntax's first error is the line break, at 3:16.
const BROKEN: &str = "query \"b\" {\n  title = \"B\"\n  sql = \"select\n}\n";

fn modlens(dir: &Path, args: &[&str], input: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_modlens"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the modlens binary runs");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin
            .write_all(input.unwrap_or("").as_bytes())
            .expect("write stdin");
    }
    child.wait_with_output().expect("modlens ends")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn canonical(s: &str) -> String {
    modlens::format::format(s).expect("formats")
}

/// A mod with two messy files in two folders, a formatted one, a broken one and files that
/// are not mod files or are hidden.
fn messy_mod(root: &Path) {
    let files = [
        ("mod.pp", "mod \"m\" {\n  title = \"M\"\n}\n"),
        ("a.pp", MESSY),
        ("sub/b.sp", MESSY),
        ("broken.pp", BROKEN),
        ("notes.txt", "a  =  1\n"),
        (".powerpipe/mods/dep/x.pp", MESSY),
    ];
    for (f, t) in files {
        let p = root.join(f);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, t).expect("write");
    }
}

fn read(root: &Path, f: &str) -> String {
    std::fs::read_to_string(root.join(f)).expect("read")
}

#[test]
fn the_messy_text_is_not_canonical() {
    // Every test below relies on MESSY changing when formatted, and BROKEN being refused.
    assert_ne!(canonical(MESSY), MESSY);
    assert!(modlens::format::format(BROKEN).is_err());
}

#[test]
fn check_writes_nothing_names_what_would_change_and_exits_1() {
    let tmp = tempfile::tempdir().expect("tmp");
    messy_mod(tmp.path());
    let out = modlens(tmp.path(), &["fmt", "--check", "."], None);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let listed: Vec<&str> = stdout.lines().collect();
    assert_eq!(listed, ["./a.pp", "./sub/b.sp"], "{stdout}");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("./broken.pp:3:16: error:") && stderr.contains("not formatted"),
        "{stderr}"
    );
    assert_eq!(read(tmp.path(), "a.pp"), MESSY);
    assert_eq!(read(tmp.path(), "sub/b.sp"), MESSY);
}

#[test]
fn fmt_rewrites_mod_files_in_place_and_leaves_everything_else() {
    let tmp = tempfile::tempdir().expect("tmp");
    let root = tmp.path();
    messy_mod(root);
    let out = modlens(root, &["fmt"], None);
    // The broken file is reported (exit 1) and left as it was; the others are formatted.
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "./a.pp\n./sub/b.sp\n");
    assert_eq!(read(root, "a.pp"), canonical(MESSY));
    assert_eq!(read(root, "sub/b.sp"), canonical(MESSY));
    assert_eq!(read(root, "broken.pp"), BROKEN);
    assert_eq!(read(root, "notes.txt"), "a  =  1\n");
    assert_eq!(read(root, ".powerpipe/mods/dep/x.pp"), MESSY);
    // Once formatted, there is nothing left to do.
    std::fs::remove_file(root.join("broken.pp")).expect("rm");
    let again = modlens(root, &["fmt", "--check"], None);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
    assert_eq!(text(&again.stdout), "");
}

#[cfg(unix)]
#[test]
fn a_rewritten_file_keeps_its_permissions_and_a_linked_file_stays_linked() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().expect("tmp");
    let root = tmp.path();
    std::fs::write(root.join("a.pp"), MESSY).expect("write");
    std::fs::set_permissions(root.join("a.pp"), std::fs::Permissions::from_mode(0o640))
        .expect("chmod");
    std::fs::write(root.join("target.pp"), MESSY).expect("write");
    std::os::unix::fs::symlink("target.pp", root.join("link.pp")).expect("symlink");
    let out = modlens(root, &["fmt", "a.pp", "link.pp"], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let mode = std::fs::metadata(root.join("a.pp"))
        .expect("meta")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o640);
    assert!(
        std::fs::symlink_metadata(root.join("link.pp"))
            .expect("meta")
            .file_type()
            .is_symlink()
    );
    assert_eq!(read(root, "target.pp"), canonical(MESSY));
}

#[test]
fn diff_prints_a_unified_diff() {
    let tmp = tempfile::tempdir().expect("tmp");
    std::fs::write(tmp.path().join("a.pp"), MESSY).expect("write");
    let out = modlens(tmp.path(), &["fmt", "--check", "--diff", "a.pp"], None);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with("--- a/a.pp\n+++ b/a.pp\n@@ "),
        "{stdout}"
    );
    assert!(stdout.contains("\n-title=\"A\"\n"), "{stdout}");
    assert_eq!(read(tmp.path(), "a.pp"), MESSY);
}

#[test]
fn dash_reads_standard_input_and_writes_standard_output() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = modlens(tmp.path(), &["fmt", "-"], Some(MESSY));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), canonical(MESSY));
    let check = modlens(tmp.path(), &["fmt", "--check", "-"], Some(MESSY));
    assert_eq!(check.status.code(), Some(1));
    assert_eq!(text(&check.stdout), "");
    let clean = modlens(
        tmp.path(),
        &["fmt", "--check", "-"],
        Some(&canonical(MESSY)),
    );
    assert_eq!(clean.status.code(), Some(0));
    let broken = modlens(tmp.path(), &["fmt", "-"], Some(BROKEN));
    assert_eq!(broken.status.code(), Some(1));
    assert_eq!(text(&broken.stdout), "");
    assert!(
        text(&broken.stderr).starts_with("<stdin>:3:16: error:"),
        "{}",
        text(&broken.stderr)
    );
}

#[test]
fn a_missing_path_is_an_error_and_the_others_are_still_formatted() {
    let tmp = tempfile::tempdir().expect("tmp");
    std::fs::write(tmp.path().join("a.pp"), MESSY).expect("write");
    let out = modlens(tmp.path(), &["fmt", "nope", "a.pp"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("cannot read nope"));
    assert_eq!(read(tmp.path(), "a.pp"), canonical(MESSY));
}

#[test]
fn a_file_that_is_not_utf8_is_refused_with_its_position() {
    let tmp = tempfile::tempdir().expect("tmp");
    std::fs::write(tmp.path().join("a.pp"), b"locals {\n  x = \"\xff\"\n}\n").expect("write");
    let out = modlens(tmp.path(), &["fmt", "a.pp"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).starts_with("a.pp:2:8: error: the file is not UTF-8"),
        "{}",
        text(&out.stderr)
    );
}

// ----- the language server -------------------------------------------------------------

async fn server(root: &Path) -> Client {
    let (client, init) = Client::initialized(&[root], common::lsp::editor_capabilities()).await;
    assert_eq!(
        init["capabilities"]["documentFormattingProvider"],
        json!(true)
    );
    assert_eq!(
        init["capabilities"]["documentRangeFormattingProvider"],
        json!(true)
    );
    client.wait_loaded().await;
    client
}

async fn open_text(client: &Client, path: &Path, text: &str) -> String {
    let u = uri(path);
    client
        .notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": u, "languageId": "powerpipe", "version": 1, "text": text}}),
        )
        .await;
    u
}

#[tokio::test]
async fn formatting_edits_turn_the_open_text_into_the_canonical_one() {
    let tmp = tempfile::tempdir().expect("tmp");
    let root = tmp.path();
    std::fs::write(root.join("mod.pp"), "mod \"m\" {\n}\n").expect("write");
    std::fs::write(root.join("a.pp"), "# on disk\n").expect("write");
    let mut client = server(root).await;
    // The open text, not the disk's, is what is formatted; edited after opening too.
    let u = open_text(&client, &root.join("a.pp"), "x = 1\n").await;
    client
        .notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": u, "version": 2},
                   "contentChanges": [{"text": format!("# é ☃ 𝄞\n{MESSY}")}]}),
        )
        .await;
    let doc = format!("# é ☃ 𝄞\n{MESSY}");
    let edits = client
        .request(
            "textDocument/formatting",
            json!({"textDocument": {"uri": u}, "options": {"tabSize": 8, "insertSpaces": false}}),
        )
        .await
        .expect("formatting answers");
    let edits = edits.as_array().expect("edits").clone();
    assert!(!edits.is_empty());
    assert_eq!(apply_edits(&doc, &edits), canonical(&doc));
    // The first line needs no change, so no edit touches it.
    assert!(
        edits
            .iter()
            .all(|e| e["range"]["start"]["line"].as_u64() > Some(0)),
        "{edits:?}"
    );
    // Once formatted, nothing to do.
    client
        .notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": u, "version": 3},
                   "contentChanges": [{"text": canonical(&doc)}]}),
        )
        .await;
    let none = client
        .request(
            "textDocument/formatting",
            json!({"textDocument": {"uri": u}, "options": {"tabSize": 2, "insertSpaces": true}}),
        )
        .await
        .expect("formatting answers");
    assert_eq!(none, json!([]));
    client.stop().await;
}

#[tokio::test]
async fn range_formatting_changes_only_the_lines_around_the_range() {
    let tmp = tempfile::tempdir().expect("tmp");
    let root = tmp.path();
    std::fs::write(root.join("mod.pp"), "mod \"m\" {\n}\n").expect("write");
    let mut client = server(root).await;
    let u = open_text(&client, &root.join("a.pp"), MESSY).await;
    // The range covers the control only: the query's lines are left as they are.
    let start = MESSY.find("control").expect("control");
    let edits = client
        .request(
            "textDocument/rangeFormatting",
            json!({"textDocument": {"uri": u},
                   "range": {"start": lsp_position(MESSY, start), "end": lsp_position(MESSY, MESSY.len())},
                   "options": {"tabSize": 2, "insertSpaces": true}}),
        )
        .await
        .expect("range formatting answers");
    let edits = edits.as_array().expect("edits").clone();
    let got = apply_edits(MESSY, &edits);
    assert!(got.starts_with("query \"a\"{\ntitle=\"A\"\n"), "{got}");
    let canon = canonical(MESSY);
    let control_at = canon.find("control").expect("control");
    assert!(got.ends_with(&canon[control_at..]), "{got}");
    client.stop().await;
}

#[tokio::test]
async fn a_document_with_a_syntax_error_is_not_formatted_and_the_error_says_where() {
    let tmp = tempfile::tempdir().expect("tmp");
    let root = tmp.path();
    std::fs::write(root.join("mod.pp"), "mod \"m\" {\n}\n").expect("write");
    let mut client = server(root).await;
    let u = open_text(&client, &root.join("b.pp"), BROKEN).await;
    let err = client
        .request(
            "textDocument/formatting",
            json!({"textDocument": {"uri": u}, "options": {"tabSize": 2, "insertSpaces": true}}),
        )
        .await
        .expect_err("a syntax error is refused");
    assert_eq!(err["code"], json!(-32803));
    let message = err["message"].as_str().unwrap_or_default();
    assert!(message.contains("line 3, column 16"), "{message}");
    // A document that is not open has nothing to format against.
    let other = client
        .request(
            "textDocument/formatting",
            json!({"textDocument": {"uri": uri(&root.join("mod.pp"))}, "options": {"tabSize": 2, "insertSpaces": true}}),
        )
        .await
        .expect_err("not open");
    assert_eq!(other["code"], json!(-32803));
    client.stop().await;
}
