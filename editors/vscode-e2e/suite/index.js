// Extension-host tests of the modlens VS Code extension, run inside a real VS Code (code-server)
// against the extension installed from its .vsix. VS Code loads this module because the
// workbench URL names it as `extensionTestsPath`, and calls `run()`: the extension host exits
// 0 when the promise resolves and 1 when it rejects.
//
// The workspace is a copy of fixtures/lsp_workspace. Each test waits for a condition with a
// deadline (the server starts and indexes in the background), never for a fixed time.
// Results go to the JSON file named by MODLENS_E2E_OUT, one {name, ok, ms, detail} a test.
'use strict';

const fs = require('fs');
const path = require('path');
const vscode = require('vscode');

const EXTENSION_ID = process.env.MODLENS_E2E_EXTENSION || 'modlens.modlens';
/** Longest wait for one condition (the first answer includes the server's start). */
const WAIT_MS = Number(process.env.MODLENS_E2E_WAIT_MS || 30000);
/** Longest time for one test. */
const TEST_MS = Number(process.env.MODLENS_E2E_TEST_MS || 90000);

const tests = [];
function test(name, fn) {
  tests.push({ name, fn });
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `fn` until it returns a truthy value (returned) or the deadline passes (throws, with
 * the last value or error seen). */
async function until(what, fn, ms = WAIT_MS) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
      last = v;
    } catch (e) {
      last = e && e.message ? e.message : String(e);
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${ms} ms waiting for ${what}; last: ${show(last)}`);
    }
    await sleep(100);
  }
}

function show(v) {
  try {
    const s = typeof v === 'string' ? v : JSON.stringify(v);
    return s === undefined ? String(v) : s.length > 1500 ? s.slice(0, 1500) + '…' : s;
  } catch (e) {
    return String(v);
  }
}

function assert(cond, message, detail) {
  if (!cond) throw new Error(detail === undefined ? message : `${message}: ${show(detail)}`);
}

const root = () => {
  const folders = vscode.workspace.workspaceFolders || [];
  assert(folders.length > 0, 'no workspace folder is open');
  return folders[0].uri;
};
const fileUri = (name) => vscode.Uri.joinPath(root(), name);

async function open(name) {
  const doc = await vscode.workspace.openTextDocument(fileUri(name));
  await vscode.window.showTextDocument(doc, { preview: false });
  return doc;
}

/** The position `offset` characters into the first occurrence of `needle` in `doc`. */
function at(doc, needle, offset = 0) {
  const i = doc.getText().indexOf(needle);
  assert(i >= 0, `"${needle}" not found in ${path.basename(doc.uri.path)}`);
  return doc.positionAt(i + offset);
}

function hoverText(hovers) {
  const parts = [];
  for (const h of hovers || []) {
    for (const c of h.contents || []) {
      parts.push(typeof c === 'string' ? c : c.value || '');
    }
  }
  return parts.join('\n');
}

async function hover(doc, pos) {
  return hoverText(await vscode.commands.executeCommand('vscode.executeHoverProvider', doc.uri, pos));
}

/** Waits until the hover at `pos` holds every string of `wanted`; returns its text. */
async function hoverWith(doc, pos, wanted, ms) {
  let text = '';
  await until(
    `a hover holding ${show(wanted)}`,
    async () => {
      text = await hover(doc, pos);
      if (wanted.every((w) => text.includes(w))) return text;
      // Not yet: the error is the last thing seen when the deadline passes.
      throw new Error(`hover is ${show(text)}`);
    },
    ms,
  );
  return text;
}

/** The pids of the modlens servers this extension host started (children of this process). */
function serverPids() {
  const pids = [];
  let entries = [];
  try {
    entries = fs.readdirSync('/proc');
  } catch (e) {
    return null;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== process.pid) continue;
      const argv = fs.readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0');
      if (path.basename(argv[0]).startsWith('modlens') && argv.includes('lsp')) pids.push(Number(e));
    } catch (err) {
      // The process ended while we looked.
    }
  }
  return pids;
}

async function extension() {
  const ext = vscode.extensions.getExtension(EXTENSION_ID);
  assert(ext, `extension ${EXTENSION_ID} is not installed`, vscode.extensions.all.map((e) => e.id));
  if (!ext.isActive) await ext.activate();
  return ext;
}

// ---------------------------------------------------------------------------------------------

test('extension installed from the .vsix and active', async () => {
  const ext = await extension();
  assert(ext.isActive, 'not active');
  assert(!ext.extensionPath.includes('modlens-e2e-suite'), 'the development extension is not the one under test');
  return ext.extensionPath;
});

test('language detection: .pp and .ppvars are powerpipe', async () => {
  const pp = await open('controls.pp');
  assert(pp.languageId === 'powerpipe', 'controls.pp', pp.languageId);
  const vars = await vscode.workspace.openTextDocument(fileUri('powerpipe.ppvars'));
  assert(vars.languageId === 'powerpipe', 'powerpipe.ppvars', vars.languageId);
  return [pp.languageId, vars.languageId];
});

test('hover on a control shows its title and SQL', async () => {
  const doc = await open('benchmarks.pp');
  const pos = at(doc, 'control.s3_versioning', 'control.'.length + 2);
  // The first answer waits for the server to start and index the workspace.
  return hoverWith(doc, pos, ['S3 buckets should have versioning enabled', 'versioning_enabled'], 2 * WAIT_MS);
});

test('hover on a query reference shows its title and SQL', async () => {
  const doc = await open('controls.pp');
  const pos = at(doc, 'query.bucket_versioning', 'query.'.length + 2);
  return hoverWith(doc, pos, ['Bucket versioning', 'versioning_enabled']);
});

test('go to definition of a query reference', async () => {
  const doc = await open('controls.pp');
  const pos = at(doc, 'query.bucket_versioning', 'query.'.length + 2);
  return until('a definition in queries.pp, line 1', async () => {
    const defs = await vscode.commands.executeCommand('vscode.executeDefinitionProvider', doc.uri, pos);
    const d = (defs || [])[0];
    if (!d) return false;
    const uri = d.targetUri || d.uri;
    const range = d.targetRange || d.range;
    assert(uri.path.endsWith('/queries.pp') && range.start.line === 0, 'wrong definition', {
      uri: uri.toString(),
      line: range.start.line,
    });
    return `${path.basename(uri.path)}:${range.start.line + 1}`;
  });
});

test('document symbols', async () => {
  const doc = await open('controls.pp');
  return until('three symbols in controls.pp', async () => {
    const syms = await vscode.commands.executeCommand('vscode.executeDocumentSymbolProvider', doc.uri);
    if (!syms || syms.length === 0) return false;
    const names = syms.map((s) => s.name);
    const want = ['s3_versioning', 's3_logging', 'iam_root'];
    assert(syms.length === 3 && want.every((w) => names.some((n) => n.includes(w))), 'symbols', names);
    return names;
  });
});

test('diagnostics appear after a broken reference, completion after `query.`, cleared after the fix', async () => {
  const doc = await open('controls.pp');
  const editor = vscode.window.activeTextEditor;
  assert(editor && editor.document === doc, 'controls.pp is not the active editor');
  const mentions = () => vscode.languages.getDiagnostics(doc.uri).filter((d) => d.message.includes('query.nope'));
  assert(mentions().length === 0, 'a diagnostic before the edit', vscode.languages.getDiagnostics(doc.uri));
  const end = doc.lineAt(doc.lineCount - 1).range.end;
  const added = '\ncontrol "broken" {\n  query = query.nope\n}\n';
  assert(await editor.edit((b) => b.insert(end, added)), 'the edit was refused');
  const diags = await until('a diagnostic naming query.nope', () => {
    const m = mentions();
    return m.length > 0 ? m.map((d) => `${d.range.start.line + 1}: ${d.message}`) : false;
  });

  // Completion right after `query.` on the broken line.
  const pos = at(doc, 'query = query.nope', 'query = query.'.length);
  // Word-based suggestions (kind Text) would offer the word too: the server's item has a kind.
  const labels = await until('completion offering the query bucket_versioning', async () => {
    const list = await vscode.commands.executeCommand('vscode.executeCompletionItemProvider', doc.uri, pos);
    const items = (list && list.items) || [];
    const label = (i) => (typeof i.label === 'string' ? i.label : i.label.label);
    const ls = items.map((i) => `${label(i)} (${vscode.CompletionItemKind[i.kind]})`);
    const found = items.some((i) => label(i) === 'bucket_versioning' && i.kind !== vscode.CompletionItemKind.Text);
    if (!found) throw new Error(`completion is ${show(ls)}`);
    return ls;
  });

  // The fix: remove the broken block again.
  const start = doc.positionAt(doc.getText().lastIndexOf(added));
  const stop = doc.positionAt(doc.getText().lastIndexOf(added) + added.length);
  assert(await editor.edit((b) => b.delete(new vscode.Range(start, stop))), 'the fix was refused');
  await until('the diagnostic to clear', () => mentions().length === 0);
  await doc.save();
  return { diagnostics: diags, completion: labels.slice(0, 10) };
});

test('Benchmarks tree: first levels', async () => {
  const ext = await extension();
  const api = ext.exports;
  let rootsOf;
  let childrenOf;
  let labelOf;
  if (api && typeof api.benchmarksTree === 'function') {
    // benchmarksTree(): Promise<[{ label, children: [...] }]>
    rootsOf = () => api.benchmarksTree();
    childrenOf = async (n) => n.children || [];
    labelOf = async (n) => n.label;
  } else {
    const provider = api && (api.benchmarks || api.benchmarksProvider || (api.views && api.views.benchmarks));
    assert(
      provider && typeof provider.getChildren === 'function' && typeof provider.getTreeItem === 'function',
      `extension ${EXTENSION_ID} exports no Benchmarks tree: export \`benchmarks\` (the TreeDataProvider behind ` +
        'the modlens.benchmarks view) or `benchmarksTree()` from activate()',
      api === undefined ? 'exports: undefined' : `exports: ${Object.keys(api || {})}`,
    );
    rootsOf = async () => (await provider.getChildren(undefined)) || [];
    childrenOf = async (n) => (await provider.getChildren(n)) || [];
    labelOf = async (n) => {
      const item = await provider.getTreeItem(n);
      const l = item.label;
      return typeof l === 'string' ? l : l && l.label;
    };
  }
  const describe = async (nodes, depth) => {
    const out = [];
    for (const n of nodes) {
      const label = String(await labelOf(n));
      out.push({ label, children: depth > 1 ? await describe(await childrenOf(n), depth - 1) : [] });
    }
    return out;
  };
  return until('the Benchmarks tree: Top benchmark → S3 → its controls', async () => {
    const tree = await describe(await rootsOf(), 3);
    const find = (nodes, text) => nodes.find((n) => n.label.includes(text));
    const top = find(tree, 'Top benchmark');
    const s3 = top && top.children.find((n) => n.label === 'S3' || /\bS3\b/.test(n.label) && !n.label.includes('should'));
    const ok =
      top &&
      s3 &&
      find(top.children, 'IAM root user should not be used') &&
      find(s3.children, 'S3 buckets should have versioning enabled') &&
      find(s3.children, 'S3 bucket logging should be enabled');
    if (!ok) throw new Error(`tree is ${show(tree)}`);
    return tree;
  });
});

test('a setting change (modlens.variables) reaches the server', async () => {
  const doc = await open('controls.pp');
  const pos = at(doc, 'var.region', 'var.'.length + 1);
  const config = () => vscode.workspace.getConfiguration('modlens');
  // powerpipe.ppvars sets region = "eu-west-1"; a variable from the settings wins over it.
  const before = await hoverWith(doc, pos, ['eu-west-1']);
  await config().update('variables', { region: 'ap-south-1' }, vscode.ConfigurationTarget.Global);
  try {
    const after = await hoverWith(doc, pos, ['ap-south-1']);
    return { before, after };
  } finally {
    await config().update('variables', undefined, vscode.ConfigurationTarget.Global);
    await hoverWith(doc, pos, ['eu-west-1']);
  }
});

test('modlens.restartServer starts a new server that answers', async () => {
  const doc = await open('controls.pp');
  const pos = at(doc, 'query.bucket_versioning', 'query.'.length + 2);
  await hoverWith(doc, pos, ['Bucket versioning']);
  const old = serverPids();
  assert(old === null || old.length === 1, 'servers started by this extension host before the restart', old);
  await vscode.commands.executeCommand('modlens.restartServer');
  let pids = null;
  if (old !== null) {
    pids = await until('a new server process, the old one gone', () => {
      const now = serverPids();
      return now.length === 1 && !now.includes(old[0]) ? now : false;
    });
  }
  const text = await hoverWith(doc, pos, ['Bucket versioning', 'versioning_enabled']);
  return { old, now: pids, hover: text.slice(0, 80) };
});

// ---------------------------------------------------------------------------------------------

function withTimeout(promise, ms, name) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`test "${name}" took longer than ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

async function run() {
  const only = process.env.MODLENS_E2E_ONLY ? new RegExp(process.env.MODLENS_E2E_ONLY) : null;
  const results = [];
  const out = process.env.MODLENS_E2E_OUT;
  const write = () => {
    if (out) fs.writeFileSync(out, JSON.stringify(results, null, 2));
  };
  write();
  for (const t of tests) {
    if (only && !only.test(t.name)) continue;
    const t0 = Date.now();
    let ok = true;
    let detail;
    try {
      detail = await withTimeout(Promise.resolve().then(t.fn), TEST_MS, t.name);
    } catch (e) {
      ok = false;
      detail = e && e.message ? e.message : String(e);
    }
    const ms = Date.now() - t0;
    results.push({ name: t.name, ok, ms, detail: show(detail) });
    console.log(`${ok ? 'PASS' : 'FAIL'} ${t.name} (${ms} ms)${ok ? '' : ': ' + show(detail)}`);
    write();
  }
  const failed = results.filter((r) => !r.ok);
  if (failed.length > 0) throw new Error(`${failed.length} of ${results.length} tests failed`);
}

module.exports = { run };
