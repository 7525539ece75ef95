//! End-to-end: headless Neovim loads the plugin in `editors/neovim` exactly as a user would
//! (runtimepath, filetype detection, `setup()`), and its built-in LSP client drives the modlens
//! binary on a fixture mod (filetype, attach with the mod's root, hover, definition, document
//! symbols, inlay hints, signature help, call hierarchy, completion, formatting, diagnostics
//! after an edit and after undoing it, a code action's quick fix, rename across files,
//! one client per root, `:ModlensTree` and its jump to a definition, `:ModlensStats`,
//! `:ModlensRestart`, shutdown). The steps are in `tests/nvim/e2e.lua`.
//!
//! Needs `nvim` on the PATH: `.ci/run` installs it (Debian's `neovim`) and sets
//! `MODLENS_REQUIRE_NVIM=1`, so in CI a missing Neovim fails the test instead of skipping
//! it. The binary is `$MODLENS_BIN` when set (`.ci/run` passes the release build), else the
//! one cargo built for the tests.

mod common;

use std::process::Command;

#[test]
fn neovim_drives_the_language_server() {
    // `$MODLENS_NVIM` picks another Neovim (e.g. a newer one) than the one on the PATH.
    let nvim = std::env::var("MODLENS_NVIM").unwrap_or_else(|_| "nvim".to_string());
    let have_nvim = Command::new(&nvim)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !have_nvim {
        assert!(
            std::env::var_os("MODLENS_REQUIRE_NVIM").is_none(),
            "MODLENS_REQUIRE_NVIM is set but nvim is not installed"
        );
        eprintln!("skipped: nvim is not installed (apt-get install neovim)");
        return;
    }
    let bin =
        std::env::var("MODLENS_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_modlens").to_string());
    let tmp = tempfile::tempdir().expect("temp dir");
    let ws = tmp.path().join("ws");
    common::copy_dir(&common::fixture("lsp_workspace"), &ws);
    let out = tmp.path().join("results.json");
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let script = repo.join("tests/nvim/e2e.lua");
    let status = Command::new(&nvim)
        .args(["--headless", "-u", "NONE", "-i", "NONE", "-n", "-c"])
        .arg(format!("luafile {}", script.display()))
        .env("MODLENS_WS", &ws)
        .env("MODLENS_BIN", &bin)
        .env("MODLENS_OUT", &out)
        .env("MODLENS_PLUGIN", repo.join("editors/neovim"))
        .env("MODLENS_LOG", "info")
        .status()
        .expect("nvim runs");
    assert!(status.success(), "nvim exited with {status}");
    let text = std::fs::read_to_string(&out).expect("the script wrote its results");
    let results: Vec<serde_json::Value> = serde_json::from_str(&text).expect("JSON results");
    let failed: Vec<String> = results
        .iter()
        .filter(|r| r["ok"] != true)
        .map(|r| format!("{}: {}", r["name"], r["detail"]))
        .collect();
    assert!(
        results.len() >= 35,
        "only {} checks ran: {text}",
        results.len()
    );
    assert!(failed.is_empty(), "failed checks:\n{}", failed.join("\n"));
}
