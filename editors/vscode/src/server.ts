// Finding the server binary (no `vscode` import, so unit tests run it under plain Node).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/** Where a server binary was found. */
export interface Found {
  path: string;
  source: 'setting' | 'bundled' | 'PATH';
}

/** The binary's file name on this platform. */
export function binaryName(platform: NodeJS.Platform = process.platform): string {
  return platform === 'win32' ? 'modlens.exe' : 'modlens';
}

function executable(p: string): boolean {
  try {
    if (!fs.statSync(p).isFile()) return false;
    fs.accessSync(p, process.platform === 'win32' ? fs.constants.F_OK : fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Restores the executable bit on the bundled binary if an unpacker dropped it. */
function makeExecutable(p: string): void {
  try {
    if (process.platform !== 'win32' && fs.statSync(p).isFile() && !executable(p)) fs.chmodSync(p, 0o755);
  } catch {
    // Absent or read-only: findServer moves on.
  }
}

/** `~/x` → home; relative → against `base` (the first workspace folder) when given. */
export function expandPath(p: string, base?: string): string {
  let out = p.trim();
  if (out === '~' || out.startsWith('~/')) out = path.join(os.homedir(), out.slice(1));
  if (!path.isAbsolute(out) && base) out = path.join(base, out);
  return out;
}

/**
 * The server to start: the `modlens.server.path` setting when set (an error when it points at
 * nothing runnable: a wrong setting must not silently fall back), else the binary bundled in
 * the extension at `server/modlens`, else `modlens` on `PATH`.
 */
export function findServer(opts: { setting?: string | null; extensionPath: string; envPath?: string; base?: string }):
  { found: Found } | { error: string } {
  const name = binaryName();
  if (opts.setting && opts.setting.trim()) {
    const p = expandPath(opts.setting, opts.base);
    return executable(p) ? { found: { path: p, source: 'setting' } }
      : { error: `modlens.server.path is set to "${opts.setting}", which is not an executable file.` };
  }
  const bundled = path.join(opts.extensionPath, 'server', name);
  makeExecutable(bundled);
  if (executable(bundled)) return { found: { path: bundled, source: 'bundled' } };
  for (const dir of (opts.envPath ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, name);
    if (executable(p)) return { found: { path: p, source: 'PATH' } };
  }
  return { error: 'The modlens language server was not found: it is not bundled with this extension, not on PATH, and modlens.server.path is not set.' };
}
