// A minimal modlens client, only to prove the end-to-end harness (run.sh --self-test): starts
// `modlens lsp` with vscode-languageclient, sends the `modlens` settings, restarts on
// command, and exports the Benchmarks tree's data provider as the real extension should.
'use strict';

const vscode = require('vscode');
const { LanguageClient } = require('vscode-languageclient/node');

let client;

/** The `modlens` settings the server reads. */
function settings() {
  const c = vscode.workspace.getConfiguration('modlens');
  return { variables: c.get('variables') || {}, logLevel: c.get('logLevel') };
}

/** The Benchmarks view: top-level benchmarks from `modlens/dashboards`, then `modlens/tree`. */
class Benchmarks {
  constructor() {
    this.changed = new vscode.EventEmitter();
    this.onDidChangeTreeData = this.changed.event;
  }
  async getChildren(node) {
    if (node) return node.children || [];
    const payload = await client.sendRequest('modlens/dashboards', {});
    const tops = Object.values(payload.benchmarks || {}).filter((b) => b.is_top_level);
    return Promise.all(tops.map((b) => client.sendRequest('modlens/tree', { resource: b.full_name })));
  }
  getTreeItem(node) {
    const state = node.children && node.children.length > 0
      ? vscode.TreeItemCollapsibleState.Collapsed
      : vscode.TreeItemCollapsibleState.None;
    return new vscode.TreeItem(node.title || node.qualified_name, state);
  }
}

async function activate(context) {
  const config = vscode.workspace.getConfiguration('modlens');
  const command = config.get('server.path') || 'modlens';
  client = new LanguageClient(
    'modlens',
    'modlens',
    { command, args: ['lsp'] },
    {
      documentSelector: [{ scheme: 'file', language: 'powerpipe' }],
      initializationOptions: settings(),
      // The server registers for didChangeConfiguration without a section, so the library
      // would send `settings: null`: send the settings ourselves instead.
      middleware: { workspace: { didChangeConfiguration: async () => undefined } },
    },
  );
  await client.start();
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('modlens')) {
        client.sendNotification('workspace/didChangeConfiguration', { settings: settings() });
      }
    }),
  );
  const benchmarks = new Benchmarks();
  context.subscriptions.push(
    vscode.window.registerTreeDataProvider('modlens.benchmarks', benchmarks),
    vscode.commands.registerCommand('modlens.restartServer', async () => {
      await client.restart();
    }),
    { dispose: () => client && client.stop() },
  );
  return { benchmarks };
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
