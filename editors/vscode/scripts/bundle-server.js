#!/usr/bin/env node
// Copies the release binary into server/modlens for the linux-x64 .vsix
// (`MODLENS_BIN`, default ../../target/release/modlens, relative to editors/vscode).
'use strict';
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
console.log(`bundled ${src} (${(fs.statSync(dest).size / 1048576).toFixed(1)} MB) as server/modlens`);
