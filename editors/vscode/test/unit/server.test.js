// Talks to a real `modlens lsp` the way the extension does (initializationOptions,
// didChangeConfiguration, the custom requests) and feeds the answers to the extension's
// model code: the payload shapes the views rely on are checked against the server itself.
// Needs the binary: MODLENS_BIN, else ../../target/release/modlens; skips without it
// unless MODLENS_REQUIRE_SERVER is set.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const cp = require('child_process');
const rpc = require('vscode-jsonrpc/node');
const { pathToFileURL } = require('url');
const load = require('./load');

const model = load('model');
const here = path.join(__dirname, '..', '..');
const bin = path.resolve(here, process.env.MODLENS_BIN || '../../target/release/modlens');
const fixture = path.resolve(here, '..', '..', 'fixtures', 'benchmark_hierarchy');
const missing = !fs.existsSync(bin) && `no server binary at ${bin} (set MODLENS_BIN)`;
if (missing && process.env.MODLENS_REQUIRE_SERVER) throw new Error(missing);

test('the views, reveal and stats work on the server\'s real answers', { skip: missing, timeout: 60000 }, async () => {
  const proc = cp.spawn(bin, ['lsp'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => (stderr += d));
  const conn = rpc.createMessageConnection(new rpc.StreamMessageReader(proc.stdout), new rpc.StreamMessageWriter(proc.stdin));
  const progressEnded = new Promise((resolve) => {
    conn.onRequest('window/workDoneProgress/create', ({ token }) => {
      conn.onProgress(new rpc.ProgressType(), token, (v) => v.kind === 'end' && resolve(v));
      return null;
    });
  });
  conn.onRequest('client/registerCapability', () => null);
  conn.onRequest('workspace/configuration', (p) => p.items.map(() => null));
  conn.listen();
  try {
    const rootUri = pathToFileURL(fixture).toString();
    await conn.sendRequest('initialize', {
      processId: process.pid, rootUri, workspaceFolders: [{ uri: rootUri, name: 'f' }],
      capabilities: { window: { workDoneProgress: true }, workspace: { didChangeConfiguration: { dynamicRegistration: true } } },
      initializationOptions: { variables: {}, varFiles: [], cacheEntries: null, cacheMb: null, workers: 1, logLevel: 'info' },
    });
    await conn.sendNotification('initialized', {});
    await progressEnded;

    const stats = await conn.sendRequest('modlens/stats', {});
    assert.ok(model.resourceCount(stats) > 5, JSON.stringify(stats));
    assert.strictEqual(stats.projects[0].root, fixture);

    const d = await conn.sendRequest('modlens/dashboards', { uri: pathToFileURL(stats.projects[0].root).toString() });
    const roots = model.rootNodes(d.benchmarks, true, stats.projects[0].root);
    const level1 = roots.find((n) => n.qualifiedName === 'benchmark_hierarchy.benchmark.level_1');
    assert.ok(level1, JSON.stringify(roots.map((n) => n.qualifiedName)));
    assert.strictEqual(level1.label, 'Level 1 (root)');
    assert.ok(!roots.some((n) => n.qualifiedName.endsWith('level_2_a')), 'child benchmarks are not roots');

    const tree = await conn.sendRequest('modlens/tree', { resource: level1.qualifiedName, uri: rootUri });
    const kids = model.treeChildren(level1, tree);
    assert.deepStrictEqual(kids.map((k) => k.label), ['Level 2 A', 'Level 3']);
    assert.ok(kids[1].children.some((k) => k.type === 'control' && k.label === 'Shared control'));
    assert.match(model.renderTree(tree), /└─ Level 5 control A {2}\(control\.level_5_control_b\)/);

    for (const qn of ['benchmark_hierarchy.benchmark.level_3', 'benchmark_hierarchy.control.shared_control']) {
      const n = model.splitName(qn);
      const syms = await conn.sendRequest('workspace/symbol', { query: `${n.type}.${n.name}` });
      const best = model.pickSymbol(syms, qn, rootUri);
      assert.ok(best, `${qn}: ${JSON.stringify(syms)}`);
      assert.ok(best.location.uri.startsWith(rootUri));
      const text = fs.readFileSync(new URL(best.location.uri), 'utf8').split('\n')[best.location.range.start.line];
      assert.ok(text.includes(`"${n.name}"`), `${qn} revealed at: ${text}`);
    }

    // A settings change as the extension sends it: every key, directly (no `modlens` wrapper).
    await conn.sendNotification('workspace/didChangeConfiguration', {
      settings: { variables: { x: '1' }, varFiles: [], cacheEntries: null, cacheMb: null, workers: 1, logLevel: 'debug' },
    });
    const after = await conn.sendRequest('modlens/stats', {});
    assert.strictEqual(model.resourceCount(after), model.resourceCount(stats), JSON.stringify(after));
    await conn.sendRequest('shutdown');
    await conn.sendNotification('exit');
  } finally {
    conn.dispose();
    proc.kill();
  }
  assert.doesNotMatch(stderr, /panicked/);
});
