#![allow(dead_code)] // each user of this module uses part of it
//! The Go reference formatter (`main.go` beside this file): built once in a temporary
//! GOPATH against Debian's hcl v2 source, then run over many documents in one process.
//! Shared by `tests/fmt_differential.rs` and `benches/fmt.rs`.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Where Debian's `golang-github-hashicorp-hcl-v2-dev` installs the hcl source.
pub const GOCODE: &str = "/usr/share/gocode";

/// What the reference says of one document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// hclsyntax parses the document without an error.
    pub parses: bool,
    /// Line and column of hclsyntax's first error (0 when none).
    pub error_at: (u32, u32),
    /// `hclwrite.Format` of the document.
    pub formatted: Vec<u8>,
}

/// The built reference program (kept alive with its temporary directory).
pub struct Reference {
    _dir: tempfile::TempDir,
    exe: PathBuf,
}

/// Why the reference is unavailable (Go or the hcl source missing), or `Ok` once built.
pub fn build() -> Result<Reference, String> {
    let hcl = Path::new(GOCODE).join("src/github.com/hashicorp/hcl/v2/hclwrite/format.go");
    if !hcl.is_file() {
        return Err(format!(
            "{} is missing (apt-get install golang-github-hashicorp-hcl-v2-dev)",
            hcl.display()
        ));
    }
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fmt_reference/main.go");
    build_program(&source, "fmtref")
}

/// Builds the Go program `main_go` (one `package main` file using Debian's hcl v2 source) in
/// a temporary GOPATH, as `name`: why it is unavailable, or `Ok` once built.
pub fn build_program(main_go: &Path, name: &str) -> Result<Reference, String> {
    let hcl = Path::new(GOCODE).join("src/github.com/hashicorp/hcl/v2");
    if !hcl.is_dir() {
        return Err(format!(
            "{} is missing (apt-get install golang-github-hashicorp-hcl-v2-dev)",
            hcl.display()
        ));
    }
    let dir = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
    let pkg = dir.path().join("src").join(name);
    std::fs::create_dir_all(&pkg).map_err(|e| format!("{e}"))?;
    std::fs::copy(main_go, pkg.join("main.go")).map_err(|e| format!("{e}"))?;
    let exe = dir.path().join(name);
    let gopath = format!("{}:{GOCODE}", dir.path().display());
    let out = Command::new("go")
        .args(["build", "-o"])
        .arg(&exe)
        .arg(".")
        .current_dir(&pkg)
        .env("GOPATH", gopath)
        .env("GO111MODULE", "off")
        .env("GOFLAGS", "")
        .output()
        .map_err(|e| format!("go is not runnable ({e}); apt-get install golang-go"))?;
    if !out.status.success() {
        return Err(format!(
            "go build failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(Reference { _dir: dir, exe })
}

fn encode(docs: &[&[u8]]) -> Vec<u8> {
    let mut input = Vec::with_capacity(docs.iter().map(|d| d.len() + 4).sum());
    for d in docs {
        input.extend_from_slice(
            &u32::try_from(d.len())
                .expect("small document")
                .to_le_bytes(),
        );
        input.extend_from_slice(d);
    }
    input
}

fn run(exe: &Path, args: &[&str], input: Vec<u8>) -> Vec<u8> {
    let mut child = Command::new(exe)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the reference program runs");
    let mut stdin = child.stdin.take().expect("piped stdin");
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let mut output = Vec::new();
    child
        .stdout
        .take()
        .expect("piped stdout")
        .read_to_end(&mut output)
        .expect("reading the reference's output");
    writer
        .join()
        .expect("writer thread")
        .expect("writing the reference's input");
    assert!(child.wait().expect("reference exits").success());
    output
}

impl Reference {
    /// The built program.
    pub fn exe(&self) -> &Path {
        &self.exe
    }

    /// hclsyntax's verdict and `hclwrite.Format` of each document, in order.
    pub fn format_all(&self, docs: &[&[u8]]) -> Vec<Verdict> {
        let output = run(&self.exe, &[], encode(docs));
        let mut verdicts = Vec::with_capacity(docs.len());
        let mut rest = &output[..];
        let u32_at = |rest: &mut &[u8]| {
            let (head, tail) = rest.split_at(4);
            *rest = tail;
            u32::from_le_bytes([head[0], head[1], head[2], head[3]])
        };
        while !rest.is_empty() {
            let parses = rest[0] == 1;
            rest = &rest[1..];
            let line = u32_at(&mut rest);
            let column = u32_at(&mut rest);
            let len = u32_at(&mut rest) as usize;
            let (formatted, tail) = rest.split_at(len);
            rest = tail;
            verdicts.push(Verdict {
                parses,
                error_at: (line, column),
                formatted: formatted.to_vec(),
            });
        }
        assert_eq!(verdicts.len(), docs.len(), "one answer per document");
        verdicts
    }

    /// Nanoseconds `hclwrite.Format` took over all documents, timed inside the Go process
    /// (reading the input and starting the process excluded), and the bytes it wrote.
    pub fn bench(&self, docs: &[&[u8]]) -> (u64, u64) {
        let output = run(&self.exe, &["bench"], encode(docs));
        let text = String::from_utf8_lossy(&output);
        let mut parts = text
            .split_whitespace()
            .map(|p| p.parse::<u64>().unwrap_or(0));
        (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
    }
}

/// Every file under `dir` with an HCL extension of a mod, sorted.
pub fn hcl_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if matches!(
                p.extension().and_then(|x| x.to_str()),
                Some("pp" | "sp" | "ppvars" | "spvars" | "fp" | "tp" | "hcl")
            ) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}
