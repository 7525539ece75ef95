#!/usr/bin/env node
// Copies the release binary into server/modlens for the linux-x64 .vsix
// (`MODLENS_BIN`, default ../../target/release/modlens, relative to editors/vscode), stripped
// of its symbols when `strip` is on PATH (78 MB -> 12 MB; MODLENS_STRIP=0 keeps them).
'use strict';
const cp = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const src = path.resolve(root, process.env.MODLENS_BIN || '../../target/release/modlens');
if (!fs.existsSync(src)) {
  console.error(`no server binary at ${src}: build it (cargo build --release --bin modlens) or set MODLENS_BIN`);
  process.exit(1);
}
const dest = path.join(root, 'server', 'modlens');
fs.mkdirSync(path.dirname(dest), { recursive: true });
fs.copyFileSync(src, dest);
fs.chmodSync(dest, 0o755);
if (process.env.MODLENS_STRIP !== '0') {
  const r = cp.spawnSync('strip', [dest], { stdio: 'inherit' });
  if (r.error || r.status !== 0) console.warn('strip failed or is missing: the binary keeps its symbols');
}
console.log(`bundled ${src} (${(fs.statSync(dest).size / 1048576).toFixed(1)} MB) as server/modlens`);
