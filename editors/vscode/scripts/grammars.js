#!/usr/bin/env node
// Writes the Steampipe, Flowpipe and Tailpipe grammars from the Powerpipe one: the same
// rules under their own scope names, so each language keeps its own id inside VS Code's
// tokenizer (a grammar shared under one scope would report the first language's id).
// `--check` fails when a written grammar differs from what this script would write.
'use strict';
const fs = require('fs');
const path = require('path');

const dir = path.join(__dirname, '..', 'syntaxes');
const source = fs.readFileSync(path.join(dir, 'powerpipe.tmLanguage.json'), 'utf8');
const check = process.argv.includes('--check');
let stale = 0;
for (const [lang, title] of [['steampipe', 'Steampipe'], ['flowpipe', 'Flowpipe'], ['tailpipe', 'Tailpipe']]) {
  const text = source
    .replace(/\.powerpipe\b/g, `.${lang}`)
    .replace('"name": "Powerpipe"', `"name": "${title}"`)
    .replace(/"comment": "HCL as [^"]*"/, `"comment": "Generated from powerpipe.tmLanguage.json by scripts/grammars.js: do not edit."`);
  const file = path.join(dir, `${lang}.tmLanguage.json`);
  const old = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  if (old === text) continue;
  if (check) {
    console.error(`${path.relative(process.cwd(), file)} is stale: run \`npm run grammars\``);
    stale++;
  } else {
    fs.writeFileSync(file, text);
    console.log(`wrote ${path.relative(process.cwd(), file)}`);
  }
}
process.exit(stale ? 1 : 0);
