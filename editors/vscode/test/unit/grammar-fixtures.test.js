// Tokenizes every mod file under the repository's fixtures/ with the extension's grammar
// and checks that nothing runs away: a well-formed file must end with the tokenizer back
// at the top level (no block, string, comment or heredoc left open), and a broken one
// must at least tokenize. A heredoc that never ended would leave its rule on the stack.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const vsctm = require('vscode-textmate');
const oniguruma = require('vscode-oniguruma');

const here = path.join(__dirname, '..', '..');
const fixtures = path.join(here, '..', '..', 'fixtures');
const grammars = {
  'source.powerpipe': path.join(here, 'syntaxes', 'powerpipe.tmLanguage.json'),
  'source.steampipe': path.join(here, 'syntaxes', 'steampipe.tmLanguage.json'),
  'source.flowpipe': path.join(here, 'syntaxes', 'flowpipe.tmLanguage.json'),
  'source.tailpipe': path.join(here, 'syntaxes', 'tailpipe.tmLanguage.json'),
  'source.sql': path.join(here, 'test', 'grammar', 'sql.stub.tmLanguage.json'),
};
const scopeFor = { '.pp': 'source.powerpipe', '.ppvars': 'source.powerpipe', '.sp': 'source.steampipe',
  '.spvars': 'source.steampipe', '.fp': 'source.flowpipe', '.tp': 'source.tailpipe' };

function registry() {
  const wasm = fs.readFileSync(require.resolve('vscode-oniguruma/release/onig.wasm'));
  const onigLib = oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength))
    .then(() => ({ createOnigScanner: (p) => new oniguruma.OnigScanner(p), createOnigString: (s) => new oniguruma.OnigString(s) }));
  return new vsctm.Registry({
    onigLib,
    loadGrammar: async (scope) => grammars[scope]
      ? vsctm.parseRawGrammar(fs.readFileSync(grammars[scope], 'utf8'), grammars[scope]) : null,
  });
}

function walk(dir, out = []) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (scopeFor[path.extname(e.name)]) out.push(p);
  }
  return out;
}

/** The rule stack's depth after the whole file (1: back at the top level). */
function depthAfter(grammar, text) {
  let stack = vsctm.INITIAL;
  for (const line of text.split(/\r?\n/)) stack = grammar.tokenizeLine(line, stack).ruleStack;
  return stack.depth;
}

test('fixtures tokenize and close every construct they open', { skip: !fs.existsSync(fixtures) && 'no fixtures/' }, async () => {
  const reg = registry();
  const files = walk(fixtures);
  assert.ok(files.length > 50, `found only ${files.length} fixture files`);
  const open = [];
  for (const file of files) {
    const grammar = await reg.loadGrammar(scopeFor[path.extname(file)]);
    const rel = path.relative(fixtures, file);
    const text = fs.readFileSync(file, 'latin1');
    const depth = depthAfter(grammar, text);
    if (!rel.startsWith('broken_') && depth !== 1) open.push(`${rel} (depth ${depth})`);
  }
  assert.deepStrictEqual(open, [], 'files left a construct open');
});

test('the sweep catches a heredoc that never ends', async () => {
  const grammar = await registry().loadGrammar('source.powerpipe');
  assert.strictEqual(depthAfter(grammar, 'query "q" {\n  sql = <<-EOQ\n  select 1\n  EOQ\n}\n'), 1);
  assert.ok(depthAfter(grammar, 'query "q" {\n  sql = <<-EOQ\n  select 1\n  EOX\n}\n') > 1);
});
