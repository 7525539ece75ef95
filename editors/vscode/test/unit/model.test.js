'use strict';
const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const load = require('./load');

const model = load('model');
const server = load('server');

test('splitName and anonymous names', () => {
  assert.deepStrictEqual(model.splitName('m.benchmark.b'), { mod: 'm', type: 'benchmark', name: 'b' });
  assert.deepStrictEqual(model.splitName('control.c'), { mod: undefined, type: 'control', name: 'c' });
  assert.strictEqual(model.splitName('x'), undefined);
  assert.ok(model.isAnonymous('m.card.container_dashboard_x_anonymous_container_0_anonymous_card_1'));
  assert.ok(!model.isAnonymous('m.control.anonymous_access'));
});

test('rootNodes keeps top-level benchmarks, sorted by title', () => {
  const nodes = model.rootNodes({
    'm.benchmark.z': { title: 'A first', is_top_level: true },
    'm.benchmark.child': { title: 'Child', is_top_level: false },
    'm.benchmark.a': { title: null, is_top_level: true },
  }, true, '/r');
  assert.deepStrictEqual(nodes.map((n) => [n.label, n.description, n.type]), [
    ['A first', 'benchmark.z', 'benchmark'], ['benchmark.a', undefined, 'benchmark']]);
  assert.strictEqual(model.rootNodes({ 'm.benchmark.child': { is_top_level: false } }, false).length, 1);
});

test('treeChildren gives unique ids to a control shared by two parents', () => {
  const parent = { id: '|m.benchmark.root', qualifiedName: 'm.benchmark.root', type: 'benchmark', label: 'Root' };
  const shared = { qualified_name: 'm.control.shared', title: 'Shared', children: [] };
  const kids = model.treeChildren(parent, { qualified_name: 'm.benchmark.root', children: [
    { qualified_name: 'm.benchmark.a', title: 'A', children: [shared] },
    { qualified_name: 'm.benchmark.b', title: 'B', children: [shared] },
  ] });
  const ids = [kids[0].children[0].id, kids[1].children[0].id];
  assert.notStrictEqual(ids[0], ids[1]);
  assert.deepStrictEqual(kids[0].children[0].children, []);
  assert.strictEqual(kids[0].children[0].label, 'Shared');
});

test('renderTree draws the hierarchy', () => {
  const text = model.renderTree({ qualified_name: 'm.benchmark.r', title: 'R', children: [
    { qualified_name: 'm.benchmark.a', title: 'A', children: [{ qualified_name: 'm.control.c', title: null, children: [] }] },
    { qualified_name: 'm.control.d', title: 'D', children: [] },
  ] });
  assert.strictEqual(text, 'R  (benchmark.r)\n├─ A  (benchmark.a)\n│  └─ control.c\n└─ D  (control.d)\n');
});

test('resourceAt finds a reference under the cursor, else the enclosing top-level block', () => {
  const lines = [
    'benchmark "top" {',
    '  title = "Top"',
    '  children = [benchmark.child, aws.control.c1]',
    '}',
    'query "q" {',
    '  sql = "select 1"',
    '}',
  ];
  assert.strictEqual(model.resourceAt(lines, 1, 4), 'benchmark.top');
  assert.strictEqual(model.resourceAt(lines, 2, 20), 'benchmark.child');
  assert.strictEqual(model.resourceAt(lines, 2, 36), 'aws.control.c1');
  assert.strictEqual(model.resourceAt(lines, 0, 0), 'benchmark.top');
  assert.strictEqual(model.resourceAt(lines, 5, 3), 'query.q');
  assert.strictEqual(model.resourceAt(['locals {', '  a = 1', '}'], 1, 2), undefined);
});

test('resourceCount sums the projects', () => {
  assert.strictEqual(model.resourceCount({ projects: [{ load: { resources: 3 } }, { load: { resources: 4 } }, {}] }), 7);
  assert.strictEqual(model.resourceCount({}), 0);
});

test('findServer: setting, then bundled, then PATH', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modlens-find-'));
  const exe = (p) => { fs.mkdirSync(path.dirname(p), { recursive: true }); fs.writeFileSync(p, '#!/bin/sh\n'); fs.chmodSync(p, 0o755); return p; };
  const onPath = exe(path.join(dir, 'bin', 'modlens'));
  const ext = path.join(dir, 'ext');
  fs.mkdirSync(ext);
  assert.deepStrictEqual(server.findServer({ extensionPath: ext, envPath: path.join(dir, 'bin') }), { found: { path: onPath, source: 'PATH' } });
  const bundled = exe(path.join(ext, 'server', 'modlens'));
  assert.deepStrictEqual(server.findServer({ extensionPath: ext, envPath: path.join(dir, 'bin') }), { found: { path: bundled, source: 'bundled' } });
  const custom = exe(path.join(dir, 'custom', 'modlens'));
  assert.deepStrictEqual(server.findServer({ setting: 'custom/modlens', base: dir, extensionPath: ext }), { found: { path: custom, source: 'setting' } });
  assert.ok('error' in server.findServer({ setting: path.join(dir, 'nope'), extensionPath: ext, envPath: path.join(dir, 'bin') }));
  fs.writeFileSync(path.join(dir, 'plain'), '');
  assert.ok('error' in server.findServer({ extensionPath: path.join(dir, 'none'), envPath: dir }), 'a non-executable file is not a server');
  fs.rmSync(dir, { recursive: true, force: true });
});
