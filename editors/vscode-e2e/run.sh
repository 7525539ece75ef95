#!/usr/bin/env bash
# End-to-end test of the modlens VS Code extension in a real VS Code: code-server (VS Code's
# server build, from npm) with the extension installed from its .vsix, the extension-host test
# suite (suite/index.js) run through a headless Chromium driven by Playwright (drive.py), then a
# screenshot of VS Code hovering a control. See README.md.
#
#   run.sh [--screenshot PNG] [--server MODLENS_BIN] VSIX
#   run.sh --self-test [--screenshot PNG] --server MODLENS_BIN
#
# --self-test packages a minimal stand-in extension (standin/) instead of taking a .vsix: it
# proves the harness without the real extension. --server sets `modlens.server.path`; without
# it the extension finds its server itself (the binary bundled in the .vsix, else `modlens` on
# PATH), as it does for a user. The self-test's server defaults to $MODLENS_BIN.
#
# Prerequisites (Node 20, Chromium, ripgrep, libkrb5-dev, Python's playwright, code-server) are
# installed when missing; installs are cached in $MODLENS_E2E_CACHE (default
# ${XDG_CACHE_HOME:-~/.cache}/modlens-e2e). When one cannot be had, the test fails when
# MODLENS_REQUIRE_VSCODE=1 and is skipped (exit 0) otherwise. Every step has a time limit.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
CODE_SERVER_VERSION=4.100.3 # the last release whose engines accept Node 20
# The ripgrep that code-server's @vscode/ripgrep (pinned by its shrinkwrap) downloads from
# GitHub at install time; the download is served from a cache seeded with Debian's rg.
RIPGREP_NPM_VERSION=1.15.11
RIPGREP_RELEASE=v13.0.0-10
PLAYWRIGHT_SPEC='playwright>=1.40,<2'
TEST_TIMEOUT=${MODLENS_E2E_TIMEOUT:-420} # seconds for the whole extension-host suite
SHOT_TIMEOUT=${MODLENS_E2E_SHOT_TIMEOUT:-150}

CACHE="${MODLENS_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/modlens-e2e}"
SELF_TEST=0
SHOT=""
SERVER=""
VSIX=""
while [ $# -gt 0 ]; do
  case "$1" in
    --self-test) SELF_TEST=1 ;;
    --screenshot) SHOT="$2"; shift ;;
    --server) SERVER="$2"; shift ;;
    -h | --help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    *) VSIX="$1" ;;
  esac
  shift
done
if [ "$SELF_TEST" = 0 ] && [ -z "$VSIX" ]; then
  echo "usage: run.sh [--screenshot PNG] [--server MODLENS_BIN] VSIX | run.sh --self-test --server MODLENS_BIN" >&2
  exit 2
fi
[ "$SELF_TEST" = 1 ] && [ -z "$SERVER" ] && SERVER="${MODLENS_BIN:-}"
if [ "$SELF_TEST" = 1 ] && [ -z "$SERVER" ]; then
  echo "run.sh --self-test needs --server MODLENS_BIN (or MODLENS_BIN)" >&2
  exit 2
fi
abspath() { (cd "$(dirname "$1")" && echo "$PWD/$(basename "$1")"); }
[ -n "$VSIX" ] && { [ -f "$VSIX" ] || { echo "run.sh: no .vsix at $VSIX" >&2; exit 2; }; VSIX="$(abspath "$VSIX")"; }
[ -n "$SERVER" ] && { [ -x "$SERVER" ] || { echo "run.sh: $SERVER is not an executable" >&2; exit 2; }; SERVER="$(abspath "$SERVER")"; }
[ -n "$SHOT" ] && SHOT="$(mkdir -p "$(dirname "$SHOT")" && abspath "$SHOT")"

START=$(date +%s)
say() { echo "[vscode-e2e $(($(date +%s) - START))s] $*"; }

# A missing prerequisite: fail in CI (MODLENS_REQUIRE_VSCODE=1), else skip.
unavailable() {
  if [ "${MODLENS_REQUIRE_VSCODE:-}" = 1 ]; then
    echo "VS Code end-to-end: FAIL — $* (MODLENS_REQUIRE_VSCODE=1)" >&2
    exit 1
  fi
  echo "VS Code end-to-end: SKIPPED — $* (set MODLENS_REQUIRE_VSCODE=1 to make this an error)"
  exit 0
}

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
apt_install() {
  say "installing Debian packages: $*"
  { $SUDO apt-get install -y "$@" >/dev/null 2>&1 \
    || { $SUDO apt-get update >/dev/null 2>&1 && $SUDO apt-get install -y "$@" >/dev/null 2>&1; }; } \
    || unavailable "cannot install the Debian packages $*"
}

# --- Prerequisites -------------------------------------------------------------------------
command -v node >/dev/null 2>&1 || apt_install nodejs npm
command -v npm >/dev/null 2>&1 || apt_install npm
NODE_MAJOR="$(node -p 'process.versions.node.split(".")[0]')"
[ "$NODE_MAJOR" = 20 ] || unavailable "code-server $CODE_SERVER_VERSION needs Node 20, found $(node --version)"
CHROMIUM="${MODLENS_E2E_CHROMIUM:-$(command -v chromium || true)}"
[ -n "$CHROMIUM" ] || { apt_install chromium; CHROMIUM="$(command -v chromium)"; }

mkdir -p "$CACHE"
CS_DIR="$CACHE/code-server-$CODE_SERVER_VERSION-node$NODE_MAJOR"
CODE_SERVER="$CS_DIR/node_modules/.bin/code-server"
if [ ! -f "$CS_DIR/.complete" ]; then
  command -v rg >/dev/null 2>&1 || apt_install ripgrep
  command -v krb5-config >/dev/null 2>&1 || apt_install libkrb5-dev
  command -v make >/dev/null 2>&1 && command -v g++ >/dev/null 2>&1 || apt_install build-essential
  case "$(uname -m)" in
    x86_64) RG_TARGET=x86_64-unknown-linux-musl ;;
    aarch64) RG_TARGET=aarch64-unknown-linux-musl ;;
    *) unavailable "no ripgrep target for $(uname -m)" ;;
  esac
  # @vscode/ripgrep's postinstall looks for the release in os.tmpdir()/vscode-ripgrep-cache-V/
  # before downloading it: give it Debian's rg there, as a tarball holding `rg`.
  INSTALL_TMP="$CACHE/tmp"
  RG_CACHE="$INSTALL_TMP/vscode-ripgrep-cache-$RIPGREP_NPM_VERSION"
  mkdir -p "$RG_CACHE" "$INSTALL_TMP/rg"
  cp "$(command -v rg)" "$INSTALL_TMP/rg/rg"
  tar czf "$RG_CACHE/ripgrep-$RIPGREP_RELEASE-$RG_TARGET.tar.gz" -C "$INSTALL_TMP/rg" rg
  rm -rf "$CS_DIR.partial"
  mkdir -p "$CS_DIR.partial"
  say "installing code-server $CODE_SERVER_VERSION into $CS_DIR (a few minutes, once; log: $CACHE/code-server-install.log)"
  # Root needs unsafe-perm for code-server's postinstall; npm 11 runs dependencies' install
  # scripts only when allowed (code-server's own postinstall runs npm in lib/vscode, whose
  # native modules must build); node-pty's build asks a question that `yes` answers.
  if ! (cd "$CS_DIR.partial" && echo '{"private":true}' >package.json \
    && TMPDIR="$INSTALL_TMP" npm_config_yes=true npm_config_unsafe_perm=true \
      npm_config_dangerously_allow_all_scripts=true npm_config_update_notifier=false \
      timeout 1500 npm install --no-audit --no-fund --omit=dev "code-server@$CODE_SERVER_VERSION") \
    >"$CACHE/code-server-install.log" 2>&1; then
    tail -30 "$CACHE/code-server-install.log" >&2
    unavailable "npm install code-server@$CODE_SERVER_VERSION failed (log above, in full at $CACHE/code-server-install.log)"
  fi
  [ -x "$CS_DIR.partial/node_modules/code-server/lib/vscode/node_modules/@vscode/ripgrep/bin/rg" ] \
    || unavailable "code-server installed without its ripgrep (see $CACHE/code-server-install.log)"
  touch "$CS_DIR.partial/.complete"
  rm -rf "$CS_DIR"
  mv "$CS_DIR.partial" "$CS_DIR"
fi

PY=python3
if ! $PY -c 'import playwright.sync_api' >/dev/null 2>&1; then
  VENV="$CACHE/venv"
  if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import playwright.sync_api' >/dev/null 2>&1; then
    say "installing Python's playwright into $VENV"
    python3 -m venv "$VENV" >/dev/null 2>&1 || { apt_install python3-venv; python3 -m venv "$VENV"; } \
      || unavailable "cannot make a Python venv"
    timeout 600 "$VENV/bin/python" -m pip install --quiet "$PLAYWRIGHT_SPEC" \
      || unavailable "cannot install Python's playwright"
  fi
  PY="$VENV/bin/python"
fi

# --- The run -------------------------------------------------------------------------------
T="$(mktemp -d "${TMPDIR:-/tmp}/modlens-vscode-e2e.XXXXXX")"
CS_PID=""
cleanup() {
  if [ -n "$CS_PID" ]; then
    kill -TERM -- "-$CS_PID" 2>/dev/null || true
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 -- "-$CS_PID" 2>/dev/null || break; sleep 0.5; done
    kill -KILL -- "-$CS_PID" 2>/dev/null || true
  fi
  if [ "${MODLENS_E2E_KEEP:-}" = 1 ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT

mkdir -p "$T/home" "$T/data/User" "$T/ext" "$T/logs"
cp -a "$REPO/fixtures/lsp_workspace" "$T/ws"
cp -a "$HERE/suite" "$T/suite"
# code-server and Chromium see a temporary HOME: nothing read from or left in the user's
# (npm keeps the user's download cache).
export npm_config_cache="${npm_config_cache:-$HOME/.npm}"
export HOME="$T/home" XDG_CONFIG_HOME="$T/home/.config" XDG_DATA_HOME="$T/home/.local/share"

if [ "$SELF_TEST" = 1 ]; then
  VSCE_DIR="$CACHE/vsce-3"
  if [ ! -x "$VSCE_DIR/node_modules/.bin/vsce" ]; then
    say "installing @vscode/vsce@3 into $VSCE_DIR"
    mkdir -p "$VSCE_DIR" && echo '{"private":true}' >"$VSCE_DIR/package.json"
    (cd "$VSCE_DIR" && timeout 600 npm install --no-audit --no-fund @vscode/vsce@3) \
      >"$CACHE/vsce-install.log" 2>&1 \
      || { tail -20 "$CACHE/vsce-install.log" >&2; unavailable "cannot install @vscode/vsce@3"; }
  fi
  say "packaging the stand-in extension"
  cp -a "$HERE/standin" "$T/standin"
  echo "A stand-in modlens client for the end-to-end harness's self-test." >"$T/standin/README.md"
  (cd "$T/standin" && timeout 300 npm install --no-audit --no-fund --omit=dev >/dev/null \
    && timeout 300 "$VSCE_DIR/node_modules/.bin/vsce" package --allow-missing-repository \
      --skip-license -o "$T/standin.vsix") >"$T/standin.log" 2>&1 \
    || { cat "$T/standin.log" >&2; echo "VS Code end-to-end: FAIL — packaging the stand-in failed" >&2; exit 1; }
  VSIX="$T/standin.vsix"
fi

# Settings: no welcome page, tips or telemetry; the server binary when one is given.
$PY - "$T/data/User/settings.json" "$SERVER" <<'EOF'
import json, sys
settings = {
    "workbench.startupEditor": "none",
    "workbench.tips.enabled": False,
    "workbench.enableExperiments": False,
    "telemetry.telemetryLevel": "off",
    "extensions.autoCheckUpdates": False,
    "extensions.autoUpdate": False,
    "update.mode": "none",
    "security.workspace.trust.enabled": False,
    "chat.commandCenter.enabled": False,
    "workbench.secondarySideBar.defaultVisibility": "hidden",
    "git.enabled": False,
    "editor.minimap.enabled": False,
    "extensions.ignoreRecommendations": True,
    # The tests edit without saving (the server must see edits, not files), and the
    # completion test wants the server's items only.
    "files.autoSave": "off",
    "editor.wordBasedSuggestions": "off",
    # The screenshot: a fixed theme, and the hover below the line, where it has the room to
    # show the control's SQL.
    "workbench.colorTheme": "Default Light Modern",
    "editor.hover.above": False,
}
if sys.argv[2]:
    settings["modlens.server.path"] = sys.argv[2]
json.dump(settings, open(sys.argv[1], "w"), indent=2)
EOF

say "installing $(basename "$VSIX")"
timeout 180 "$CODE_SERVER" --extensions-dir "$T/ext" --user-data-dir "$T/data" \
  --install-extension "$VSIX" --force >"$T/install.log" 2>&1 \
  || { cat "$T/install.log" >&2; echo "VS Code end-to-end: FAIL — cannot install $VSIX" >&2; exit 1; }
ls -d "$T"/ext/modlens.modlens-* >/dev/null 2>&1 \
  || { cat "$T/install.log" >&2; echo "VS Code end-to-end: FAIL — $VSIX did not install as modlens.modlens" >&2; exit 1; }

PORT="$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
BASE="http://127.0.0.1:$PORT"
: >"$T/config.yaml"
say "starting code-server on $BASE"
MODLENS_E2E_OUT="$T/results.json" setsid "$CODE_SERVER" --config "$T/config.yaml" --auth none \
  --bind-addr "127.0.0.1:$PORT" --disable-telemetry --disable-update-check --disable-workspace-trust \
  --disable-getting-started-override --extensions-dir "$T/ext" --user-data-dir "$T/data" \
  "$T/ws" >"$T/code-server.log" 2>&1 &
CS_PID=$!
for i in $(seq 1 120); do
  if $PY -c "import urllib.request,sys; urllib.request.urlopen('$BASE/healthz', timeout=2)" 2>/dev/null; then break; fi
  kill -0 "$CS_PID" 2>/dev/null || { cat "$T/code-server.log" >&2; echo "VS Code end-to-end: FAIL — code-server exited" >&2; exit 1; }
  [ "$i" = 120 ] && { cat "$T/code-server.log" >&2; echo "VS Code end-to-end: FAIL — code-server did not answer within 60 s" >&2; exit 1; }
  sleep 0.5
done

FAILED=()
say "running the extension-host tests"
if ! timeout $((TEST_TIMEOUT + 60)) "$PY" "$HERE/drive.py" --base "$BASE" --folder "$T/ws" \
  --chromium "$CHROMIUM" --timeout "$TEST_TIMEOUT" test --suite "$T/suite" --logs "$T/logs"; then
  FAILED+=("extension-host tests")
fi
$PY - "$T/results.json" <<'EOF' || FAILED+=("test results")
import json, sys
try:
    results = json.load(open(sys.argv[1]))
except (OSError, ValueError) as e:
    print(f"no test results ({e})")
    sys.exit(1)
print(f"extension-host tests: {sum(r['ok'] for r in results)} of {len(results)} passed")
for r in results:
    line = f"  {'PASS' if r['ok'] else 'FAIL'} {r['name']} ({r['ms']} ms)"
    print(line if r["ok"] else f"{line}\n       {r['detail']}")
sys.exit(0 if results and all(r["ok"] for r in results) else 1)
EOF

say "hovering a control for the screenshot"
SHOT_PATH="${SHOT:-$CACHE/vscode-hover.png}"
if ! timeout $((SHOT_TIMEOUT + 60)) "$PY" "$HERE/drive.py" --base "$BASE" --folder "$T/ws" \
  --chromium "$CHROMIUM" --timeout "$SHOT_TIMEOUT" screenshot --file benchmarks.pp \
  --needle control.s3_versioning --word s3_versioning \
  --expect "S3 buckets should have versioning enabled" --view Benchmarks --grow 150 \
  --path "$SHOT_PATH"; then
  FAILED+=("hover screenshot")
fi

if [ ${#FAILED[@]} -gt 0 ]; then
  echo "--- code-server log (last 40 lines) ---"
  tail -40 "$T/code-server.log"
  # The extension hosts' logs (exthost1: the test run) and the modlens output channels.
  find "$T/data/logs" -type f \( -name remoteexthost.log -o -name '*modlens*.log' \) 2>/dev/null \
    | sort | while read -r f; do
      echo "--- ${f#"$T"/} (last 40 lines) ---"
      tail -40 "$f"
    done
  echo "(MODLENS_E2E_KEEP=1 keeps every log, the workspace and the settings)"
  say "VS Code end-to-end: FAIL — $(IFS=,; echo "${FAILED[*]}" | sed 's/,/, /g')"
  exit 1
fi
say "VS Code end-to-end: PASS (screenshot: $SHOT_PATH)"
