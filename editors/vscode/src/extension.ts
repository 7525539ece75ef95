// The modlens extension: starts `modlens lsp`, keeps its settings in sync, and adds the
// Benchmarks and Dashboards views, a status bar item and a few commands on top of plain LSP.
import * as vscode from 'vscode';
import {
  DidChangeConfigurationNotification,
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
  State,
  StaticFeature,
  TransportKind,
  WorkDoneProgress,
  WorkDoneProgressCreateRequest,
  WorkspaceSymbol,
  SymbolInformation,
  Location as LspLocation,
} from 'vscode-languageclient/node';
import {
  DashboardsPayload,
  Node,
  StatsPayload,
  TreePayload,
  isAnonymous,
  pickSymbol,
  renderTree,
  resourceAt,
  resourceCount,
  rootNodes,
  splitName,
  treeChildren,
} from './model';
import { findServer } from './server';

/** The languages the server serves. */
export const LANGUAGES = ['powerpipe', 'steampipe', 'flowpipe', 'tailpipe'];
const SCHEME = 'modlens';

/** What `modlens.*` settings the server reads, as its initializationOptions / didChangeConfiguration expect. */
export function serverSettings(): Record<string, unknown> {
  const c = vscode.workspace.getConfiguration('modlens');
  return {
    variables: c.get<Record<string, unknown>>('variables') ?? {},
    varFiles: c.get<string[]>('varFiles') ?? [],
    cacheEntries: c.get<number | null>('cacheEntries') ?? null,
    cacheMb: c.get<number | null>('cacheMb') ?? null,
    workers: c.get<number | null>('workers') ?? null,
    logLevel: c.get<string>('logLevel') ?? 'info',
    inlayHints: {
      titles: c.get<boolean>('inlayHints.titles') ?? true,
      values: c.get<boolean>('inlayHints.values') ?? true,
    },
  };
}

/** Read-only virtual documents (`modlens:/...`) for the stats and tree commands. */
class Documents implements vscode.TextDocumentContentProvider {
  private readonly texts = new Map<string, string>();
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;
  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.texts.get(uri.toString()) ?? '';
  }
  async show(path: string, text: string): Promise<void> {
    const uri = vscode.Uri.from({ scheme: SCHEME, path });
    this.texts.set(uri.toString(), text);
    this.changed.fire(uri);
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(doc, { preview: true, preserveFocus: false });
  }
}

/** The Benchmarks or Dashboards view. */
class ResourceTree implements vscode.TreeDataProvider<Node> {
  private readonly changed = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private roots: Promise<Node[]> | undefined;

  constructor(private readonly ext: Extension, private readonly kind: 'benchmarks' | 'dashboards') {}

  refresh(): void {
    this.roots = undefined;
    this.changed.fire(undefined);
  }

  getTreeItem(n: Node): vscode.TreeItem {
    const expandable = n.children === undefined ? true : n.children.length > 0;
    const item = new vscode.TreeItem(n.label, expandable ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None);
    item.id = n.id;
    item.description = n.description;
    item.tooltip = n.qualifiedName;
    item.contextValue = n.type;
    item.iconPath = new vscode.ThemeIcon(iconFor(n.type));
    if (!isAnonymous(n.qualifiedName) && n.type !== 'project') {
      item.command = { title: 'Go to definition', command: 'modlens.reveal', arguments: [n.qualifiedName, n.root] };
    }
    return item;
  }

  async getChildren(n?: Node): Promise<Node[]> {
    if (!n) {
      this.roots ??= this.loadRoots();
      const roots = await this.roots;
      // Nothing (no server yet, or it failed): ask again next time instead of keeping it.
      if (roots.length === 0) this.roots = undefined;
      return roots;
    }
    if (n.children) return n.children;
    const tree = await this.ext.request<TreePayload>('modlens/tree', { resource: n.qualifiedName, ...uriOf(n.root) });
    if (!tree) return [];
    n.children = treeChildren(n, tree);
    return n.children;
  }

  private async loadRoots(): Promise<Node[]> {
    const stats = await this.ext.request<StatsPayload>('modlens/stats', {});
    const roots = (stats?.projects ?? []).map((p) => p.root).filter((r): r is string => !!r);
    const per = await Promise.all((roots.length ? roots : [undefined]).map(async (root) => {
      const d = await this.ext.request<DashboardsPayload>('modlens/dashboards', uriOf(root));
      return { root, nodes: rootNodes(this.kind === 'benchmarks' ? d?.benchmarks : d?.dashboards, this.kind === 'benchmarks', root) };
    }));
    if (per.length === 1) return per[0].nodes;
    return per.filter((p) => p.nodes.length).map((p) => ({
      id: `project|${p.root}`, qualifiedName: p.root ?? '', type: 'project',
      label: vscode.workspace.asRelativePath(p.root ?? '', false) || (p.root ?? ''), children: p.nodes, root: p.root,
    }));
  }
}

function uriOf(root: string | undefined): { uri?: string } {
  return root ? { uri: vscode.Uri.file(root).toString() } : {};
}

function iconFor(type: string): string {
  switch (type) {
    case 'benchmark': return 'checklist';
    case 'control': return 'pass';
    case 'detection': return 'eye';
    case 'dashboard': return 'dashboard';
    case 'container': return 'layout';
    case 'chart': return 'graph';
    case 'table': return 'table';
    case 'card': return 'symbol-number';
    case 'input': return 'symbol-field';
    case 'query': return 'database';
    case 'text': return 'markdown';
    case 'project': return 'folder';
    default: return 'symbol-misc';
  }
}

/** The extension's state: one language client at a time, views, status bar. */
class Extension implements vscode.Disposable {
  client: LanguageClient | undefined;
  readonly output = vscode.window.createOutputChannel('modlens');
  readonly status = vscode.window.createStatusBarItem('modlens.status', vscode.StatusBarAlignment.Right, 100);
  readonly docs = new Documents();
  readonly benchmarks = new ResourceTree(this, 'benchmarks');
  readonly dashboards = new ResourceTree(this, 'dashboards');
  private refreshTimer: NodeJS.Timeout | undefined;
  private starting: Promise<void> | undefined;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly context: vscode.ExtensionContext) {
    this.status.name = 'modlens';
    this.status.command = 'modlens.showStats';
    this.setStatus('$(sync~spin) modlens', 'Starting the modlens server');
    this.status.show();
  }

  setStatus(text: string, tooltip: string, error = false): void {
    this.status.text = text;
    this.status.tooltip = tooltip;
    this.status.backgroundColor = error ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
  }

  /** Starts the server (a no-op while a start is in flight). */
  start(): Promise<void> {
    this.starting ??= this.doStart().finally(() => (this.starting = undefined));
    return this.starting;
  }

  private async doStart(): Promise<void> {
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    const located = findServer({
      setting: vscode.workspace.getConfiguration('modlens').get<string | null>('server.path'),
      extensionPath: this.context.extensionPath,
      envPath: process.env.PATH,
      base: folder,
    });
    if ('error' in located) {
      this.setStatus('$(error) modlens', located.error, true);
      this.output.appendLine(located.error);
      void vscode.window.showErrorMessage(located.error, 'Open settings', 'Show output').then((pick) => {
        if (pick === 'Open settings') void vscode.commands.executeCommand('workbench.action.openSettings', 'modlens.server.path');
        if (pick === 'Show output') this.output.show();
      });
      return;
    }
    this.output.appendLine(`Starting ${located.found.path} lsp (${located.found.source})`);
    const run = { command: located.found.path, args: ['lsp'], transport: TransportKind.stdio };
    const serverOptions: ServerOptions = { run, debug: run };
    const clientOptions: LanguageClientOptions = {
      documentSelector: LANGUAGES.map((language) => ({ scheme: 'file', language })),
      initializationOptions: serverSettings(),
      outputChannel: this.output,
      middleware: {
        workspace: {
          // The server registers for configuration changes without a section, which makes
          // the client send `{ settings: null }`; this extension sends the settings itself.
          didChangeConfiguration: async () => undefined,
        },
      },
    };
    const client = new LanguageClient('modlens', 'modlens', serverOptions, clientOptions);
    client.registerFeature(new ProgressWatcher(this, client));
    client.onDidChangeState((e) => {
      if (e.newState === State.Running && this.client === client && !this.starting) {
        // Back after the client restarted a crashed server by itself.
        void vscode.commands.executeCommand('setContext', 'modlens.active', true);
        void this.updateCount();
        this.refreshViews();
      }
      if (e.newState === State.Stopped && this.client === client) {
        this.setStatus('$(error) modlens', 'The modlens server stopped: click for details, or run "modlens: Restart server"', true);
        void vscode.commands.executeCommand('setContext', 'modlens.active', false);
      }
    });
    this.client = client;
    try {
      await client.start();
    } catch (e) {
      this.setStatus('$(error) modlens', `The modlens server failed to start: ${String(e)}`, true);
      this.output.appendLine(`Failed to start: ${String(e)}`);
      void vscode.window.showErrorMessage(`modlens: the server failed to start (${String(e)}).`, 'Open settings', 'Show output').then((pick) => {
        if (pick === 'Open settings') void vscode.commands.executeCommand('workbench.action.openSettings', 'modlens.server');
        if (pick === 'Show output') this.output.show();
      });
      return;
    }
    void vscode.commands.executeCommand('setContext', 'modlens.active', true);
    this.setStatus('$(sync~spin) modlens: indexing', 'modlens is indexing the workspace');
    // Whether or not the server reports progress, its stats answer once it is ready.
    void this.updateCount();
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client) {
      try {
        if (client.isRunning()) await client.stop(5000);
      } catch (e) {
        this.output.appendLine(`Stopping the server: ${String(e)}`);
      }
      await client.dispose().catch(() => undefined);
    }
  }

  async restart(): Promise<void> {
    await this.stop();
    this.setStatus('$(sync~spin) modlens', 'Restarting the modlens server');
    await this.start();
    this.refreshViews();
  }

  /** A custom request, or `undefined` (logged) when there is no server or it fails. */
  async request<T>(method: string, params: unknown): Promise<T | undefined> {
    if (this.starting) await this.starting;
    const client = this.client;
    if (!client || !client.isRunning()) return undefined;
    try {
      return await client.sendRequest<T>(method, params);
    } catch (e) {
      this.output.appendLine(`${method} failed: ${e instanceof Error ? e.message : String(e)}`);
      return undefined;
    }
  }

  async updateCount(): Promise<void> {
    const stats = await this.request<StatsPayload>('modlens/stats', {});
    if (!stats) return;
    const n = resourceCount(stats);
    const busy = (stats.projects ?? []).some((p) => p.background && p.background.finished === false);
    if (busy && this.status.text.includes('sync~spin')) return; // progress still shows
    this.setStatus(`$(check) modlens: ${n} resources`, `${n} resources in ${(stats.projects ?? []).length} project(s): click for load stats`);
  }

  refreshViews(): void {
    this.benchmarks.refresh();
    this.dashboards.refresh();
  }

  /** Refreshes the views soon (edits come in bursts). */
  scheduleRefresh(ms = 1500): void {
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => this.refreshViews(), ms);
  }

  async showStats(): Promise<StatsPayload | undefined> {
    const stats = await this.request<StatsPayload>('modlens/stats', {});
    if (!stats) {
      // No server (or it failed): its log says why.
      this.output.show(true);
      void vscode.window.showWarningMessage('modlens: the server is not running or did not answer (see the modlens output).');
      return undefined;
    }
    await this.docs.show('/load-stats.json', JSON.stringify(stats, null, 2) + '\n');
    return stats;
  }

  async showTree(resource?: string, root?: string): Promise<TreePayload | undefined> {
    const editor = vscode.window.activeTextEditor;
    if (!resource && editor) {
      const lines = editor.document.getText().split(/\r?\n/);
      resource = resourceAt(lines, editor.selection.active.line, editor.selection.active.character);
    }
    if (!resource) {
      void vscode.window.showInformationMessage('modlens: put the cursor in a benchmark or dashboard (or on a reference to one).');
      return undefined;
    }
    const uri = root ? vscode.Uri.file(root).toString()
      : editor?.document.uri.scheme === 'file' ? editor.document.uri.toString() : undefined;
    const tree = await this.request<TreePayload>('modlens/tree', uri ? { resource, uri } : { resource });
    if (!tree) {
      void vscode.window.showWarningMessage(`modlens: no tree for ${resource} (see the modlens output).`);
      return undefined;
    }
    await this.docs.show(`/tree/${resource}.txt`, renderTree(tree));
    return tree;
  }

  /** Opens the definition of a resource named `mod.type.name` (from a view). */
  async reveal(qualified: string, root?: string): Promise<boolean> {
    const n = splitName(qualified);
    const client = this.client;
    if (!n || !client) return false;
    const found = await this.request<(SymbolInformation | WorkspaceSymbol)[] | null>('workspace/symbol', { query: `${n.type}.${n.name}` });
    const best = pickSymbol(found ?? [], qualified, root ? vscode.Uri.file(root).toString() : undefined);
    if (!best || !('range' in best.location)) {
      void vscode.window.showInformationMessage(`modlens: no definition found for ${qualified}.`);
      return false;
    }
    const location = client.protocol2CodeConverter.asLocation(best.location as LspLocation);
    await vscode.window.showTextDocument(location.uri, { selection: location.range, preview: true });
    return true;
  }

  register(...d: vscode.Disposable[]): void {
    this.disposables.push(...d);
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
    this.output.dispose();
    this.status.dispose();
  }
}

/**
 * Follows the server's work-done progress into the status bar (instead of a notification),
 * and refreshes the views and the resource count when it ends. Registered after the
 * client's own progress feature, so its `window/workDoneProgress/create` handler wins.
 */
class ProgressWatcher implements StaticFeature {
  constructor(private readonly ext: Extension, private readonly client: LanguageClient) {}
  fillClientCapabilities(): void {}
  getState(): { kind: 'static' } {
    return { kind: 'static' };
  }
  clear(): void {}
  initialize(): void {
    this.client.onRequest(WorkDoneProgressCreateRequest.type, ({ token }) => {
      let title = 'modlens';
      const sub = this.client.onProgress(WorkDoneProgress.type, token, (v) => {
        if (this.ext.client !== this.client) return;
        if (v.kind === 'begin') title = v.title;
        if (v.kind === 'begin' || v.kind === 'report') {
          const pct = v.percentage !== undefined ? ` ${v.percentage}%` : '';
          const msg = v.message ? ` ${v.message}` : '';
          this.ext.setStatus(`$(sync~spin) modlens:${msg || pct}`, `${title}${msg}${pct}`);
        } else {
          sub.dispose();
          this.ext.setStatus('$(check) modlens', 'modlens is ready');
          void this.ext.updateCount();
          this.ext.refreshViews();
        }
      });
    });
  }
}

let ext: Extension | undefined;

/** Called by VS Code when a mod file opens or a workspace holds `mod.pp` / `mod.sp`. */
export async function activate(context: vscode.ExtensionContext) {
  const e = new Extension(context);
  ext = e;
  context.subscriptions.push(e);
  e.register(
    vscode.workspace.registerTextDocumentContentProvider(SCHEME, e.docs),
    vscode.window.createTreeView('modlens.benchmarks', { treeDataProvider: e.benchmarks, showCollapseAll: true }),
    vscode.window.createTreeView('modlens.dashboards', { treeDataProvider: e.dashboards, showCollapseAll: true }),
    vscode.commands.registerCommand('modlens.restartServer', () => e.restart()),
    vscode.commands.registerCommand('modlens.showOutput', () => e.output.show(true)),
    vscode.commands.registerCommand('modlens.showStats', () => e.showStats()),
    vscode.commands.registerCommand('modlens.showTree', (arg?: string | Node) =>
      e.showTree(typeof arg === 'string' ? arg : arg?.qualifiedName, typeof arg === 'object' ? arg.root : undefined)),
    vscode.commands.registerCommand('modlens.refreshViews', () => e.refreshViews()),
    vscode.commands.registerCommand('modlens.reveal', (qualified: string, root?: string) => e.reveal(qualified, root)),
    vscode.workspace.onDidChangeConfiguration(async (c) => {
      if (!c.affectsConfiguration('modlens')) return;
      if (c.affectsConfiguration('modlens.server.path')) {
        await e.restart();
        return;
      }
      const client = e.client;
      if (client?.isRunning()) {
        await client.sendNotification(DidChangeConfigurationNotification.type, { settings: serverSettings() });
        e.scheduleRefresh(500);
      }
    }),
    vscode.workspace.onDidSaveTextDocument((d) => {
      if (LANGUAGES.includes(d.languageId)) e.scheduleRefresh(300);
    }),
    vscode.workspace.onDidChangeTextDocument((c) => {
      if (LANGUAGES.includes(c.document.languageId) && c.contentChanges.length) e.scheduleRefresh();
    }),
  );
  await e.start();
  // For tests and other extensions: the running client and the views' providers.
  return {
    get client() {
      return e.client;
    },
    serverSettings,
    benchmarks: e.benchmarks,
    dashboards: e.dashboards,
  };
}

/** Stops the server. */
export async function deactivate(): Promise<void> {
  await ext?.stop();
  ext = undefined;
}
