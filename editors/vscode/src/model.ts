// Pure helpers (no `vscode` import, so unit tests run them under plain Node): the shapes of
// the server's custom requests, the tree nodes built from them, and the text renderings.

/** One entry of `modlens/dashboards`' `benchmarks` or `dashboards` maps (the fields used). */
export interface DashboardEntry {
  title?: string | null;
  full_name?: string;
  short_name?: string;
  benchmark_type?: string;
  is_top_level?: boolean;
  tags?: Record<string, string>;
  mod_full_name?: string;
}

/** `modlens/dashboards`: Powerpipe's `available_dashboards` payload. */
export interface DashboardsPayload {
  action?: string;
  dashboards?: Record<string, DashboardEntry>;
  benchmarks?: Record<string, DashboardEntry>;
}

/** `modlens/tree`: a resource with its children, recursively. */
export interface TreePayload {
  qualified_name: string;
  title?: string | null;
  children?: TreePayload[];
}

/** One project of `modlens/stats`. */
export interface StatsProject {
  root?: string;
  load?: { files?: number; bytes?: number; resources?: number; load_ms?: number };
  background?: { submitted?: number; total?: number; finished?: boolean };
}

/** `modlens/stats`. */
export interface StatsPayload {
  projects?: StatsProject[];
  rss_bytes?: number | null;
}

/** A resource name split: `mod.type.name` (or `type.name`). */
export interface ResourceName {
  mod?: string;
  type: string;
  name: string;
}

/** Splits `mod.type.name` / `type.name`; `undefined` when it has fewer than two parts. */
export function splitName(qualified: string): ResourceName | undefined {
  const parts = qualified.split('.');
  if (parts.length < 2) return undefined;
  const name = parts[parts.length - 1];
  const type = parts[parts.length - 2];
  const mod = parts.length > 2 ? parts.slice(0, parts.length - 2).join('.') : undefined;
  return { mod, type, name };
}

/** True for the names Powerpipe gives anonymous blocks (`..._anonymous_card_0`). */
export function isAnonymous(qualified: string): boolean {
  return /(^|_)anonymous_[A-Za-z]+_\d+$/.test(splitName(qualified)?.name ?? '');
}

/** A node of the Benchmarks or Dashboards view. */
export interface Node {
  /** Unique among siblings' paths: the chain of qualified names from the root. */
  id: string;
  qualifiedName: string;
  type: string;
  label: string;
  description?: string;
  /** Known children (from `modlens/tree`); `undefined`: not fetched yet. */
  children?: Node[];
  /** The project root (a path) the node belongs to. */
  root?: string;
}

function label(title: string | null | undefined, qualified: string): { label: string; description?: string } {
  const n = splitName(qualified);
  const short = n ? `${n.type}.${n.name}` : qualified;
  if (isAnonymous(qualified)) return { label: title || n?.type || qualified, description: title ? n?.type : undefined };
  return title ? { label: title, description: short } : { label: short };
}

/** The top-level entries of a `modlens/dashboards` map (benchmarks: `is_top_level` only), by title. */
export function rootNodes(map: Record<string, DashboardEntry> | undefined, topLevelOnly: boolean, root?: string): Node[] {
  const out: Node[] = [];
  for (const [qualified, e] of Object.entries(map ?? {})) {
    if (topLevelOnly && e.is_top_level === false) continue;
    const n = splitName(qualified);
    out.push({ id: `${root ?? ''}|${qualified}`, qualifiedName: qualified, type: n?.type ?? 'resource', ...label(e.title, qualified), root });
  }
  return out.sort((a, b) => a.label.localeCompare(b.label) || a.qualifiedName.localeCompare(b.qualifiedName));
}

/** The children of `parent` from a `modlens/tree` answer for it. */
export function treeChildren(parent: Node, tree: TreePayload): Node[] {
  return (tree.children ?? []).map((c) => fromTree(parent.id, c, parent.root));
}

function fromTree(parentId: string, t: TreePayload, root?: string): Node {
  const n = splitName(t.qualified_name);
  const id = `${parentId}/${t.qualified_name}`;
  return {
    id,
    qualifiedName: t.qualified_name,
    type: n?.type ?? 'resource',
    ...label(t.title, t.qualified_name),
    children: (t.children ?? []).map((c) => fromTree(id, c, root)),
    root,
  };
}

/** The resource count of a `modlens/stats` answer (all projects). */
export function resourceCount(stats: StatsPayload): number {
  return (stats.projects ?? []).reduce((sum, p) => sum + (p.load?.resources ?? 0), 0);
}

/** A `modlens/tree` answer as indented text, one resource a line. */
export function renderTree(tree: TreePayload): string {
  const lines: string[] = [];
  const line = (t: TreePayload, prefix: string, branch: string) => {
    const n = splitName(t.qualified_name);
    const short = n ? `${n.type}.${n.name}` : t.qualified_name;
    lines.push(`${prefix}${branch}${t.title ? `${t.title}  (${short})` : short}`);
  };
  const walk = (t: TreePayload, prefix: string) => {
    const kids = t.children ?? [];
    kids.forEach((c, i) => {
      const last = i === kids.length - 1;
      line(c, prefix, last ? '└─ ' : '├─ ');
      walk(c, prefix + (last ? '   ' : '│  '));
    });
  };
  line(tree, '', '');
  walk(tree, '');
  return lines.join('\n') + '\n';
}

/** Block types whose hierarchy `modlens/tree` shows. */
const TREE_TYPES = 'benchmark|dashboard|control|detection|container|card|chart|flow|graph|hierarchy|image|input|table|text|query|node|edge|category|with';

/**
 * The resource `modlens.showTree` should show for the cursor at `line`/`character` of `lines`:
 * a reference under the cursor (`benchmark.x`, `mod.benchmark.x`), else the top-level block
 * the cursor is in (`benchmark "x" {` at column 0, searching upwards), as `type.name`
 * (`mod.type.name` for a reference that names its mod).
 */
export function resourceAt(lines: string[], line: number, character: number): string | undefined {
  const text = lines[line] ?? '';
  const ref = new RegExp(`(?:[A-Za-z_][\\w-]*\\.)?(?:${TREE_TYPES})\\.[A-Za-z_][\\w-]*`, 'g');
  for (let m = ref.exec(text); m; m = ref.exec(text)) {
    if (character >= m.index && character <= m.index + m[0].length) return m[0];
  }
  const header = new RegExp(`^(${TREE_TYPES})\\s+"([^"]+)"`);
  for (let i = Math.min(line, lines.length - 1); i >= 0; i--) {
    const m = header.exec(lines[i]);
    if (m) return `${m[1]}.${m[2]}`;
    // A top-level block that cannot be shown ends the search.
    if (i < line && /^[A-Za-z_][\w-]*(\s+"[^"]*")*\s*\{/.test(lines[i])) return undefined;
  }
  return undefined;
}

/** The part of an LSP workspace symbol `pickSymbol` reads. */
export interface SymbolLike {
  name: string;
  containerName?: string;
  location: { uri: string; range?: unknown };
}

/**
 * Which `workspace/symbol` answer (for the query `type.name`) is the definition of the
 * resource `mod.type.name`: the server names a dependency mod's resources `mod.type.name`
 * and the root mod's `type.name` with the mod in `containerName` (`mod — title`).
 */
export function pickSymbol<T extends SymbolLike>(symbols: T[], qualified: string, rootUri?: string): T | undefined {
  const n = splitName(qualified);
  if (!n) return undefined;
  const short = `${n.type}.${n.name}`;
  const withRange = symbols.filter((s) => s.location.range !== undefined && (s.name === qualified || s.name === short));
  return withRange.find((s) => s.name === qualified)
    ?? withRange.find((s) => n.mod !== undefined && (s.containerName ?? '').split(' — ')[0] === n.mod)
    ?? withRange.find((s) => !rootUri || s.location.uri.startsWith(rootUri))
    ?? withRange[0];
}
