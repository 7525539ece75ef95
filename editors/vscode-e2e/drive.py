#!/usr/bin/env python3
"""Drives the VS Code workbench that code-server serves, with Playwright and Debian's Chromium.

Two commands, both bounded by --timeout:

  test        opens the workbench with the extension-host test suite (suite/index.js) in its
              URL payload, waits for VS Code to report the suite's exit code through
              window.codeAutomationExit, and prints each test's result.
  screenshot  opens a file of the workspace, hovers a word with the mouse until VS Code's
              hover shows the expected text, and saves a screenshot of the window.

run.sh starts code-server and calls this; see README.md.
"""

import argparse
import json
import os
import sys
import time
import urllib.parse

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def log(msg):
    print(f"[drive] {msg}", flush=True)


def workbench_url(base, folder, payload):
    """The workbench URL opening `folder` with `payload` (pairs VS Code web reads)."""
    host = urllib.parse.urlparse(base).netloc
    pairs = [[k, v.replace("REMOTE:", f"vscode-remote://{host}")] for k, v in payload]
    query = urllib.parse.urlencode({"folder": folder, "payload": json.dumps(pairs)})
    return f"{base}/?{query}"


def launch(p, args):
    browser = p.chromium.launch(
        executable_path=args.chromium,
        headless=True,
        args=CHROMIUM_ARGS,
        timeout=60_000,
    )
    # Playwright launches Chromium with a fresh temporary profile, and a new context holds no
    # state: nothing is restored from an earlier window.
    context = browser.new_context(viewport={"width": args.width, "height": args.height})
    return browser, context


def cmd_test(args):
    deadline = time.monotonic() + args.timeout
    url = workbench_url(
        args.base,
        args.folder,
        [
            ["extensionDevelopmentPath", "REMOTE:" + args.suite],
            ["extensionTestsPath", "REMOTE:" + os.path.join(args.suite, "index.js")],
        ],
    )
    exit_code = {}
    with sync_playwright() as p:
        browser, context = launch(p, args)
        page = context.new_page()

        def on_exit(code, logs=None):
            exit_code["code"] = code
            if args.logs and logs:
                os.makedirs(args.logs, exist_ok=True)
                for entry in logs:
                    name = entry.get("relativePath", "log").replace("/", "_")
                    with open(os.path.join(args.logs, name), "w") as f:
                        f.write(entry.get("contents", ""))

        page.expose_function("__modlensAutomationExit", on_exit)
        page.add_init_script(
            "window.codeAutomationExit = (code, logs) => window.__modlensAutomationExit(code, logs || null);"
        )

        def on_console(msg):
            text = msg.text
            if "PASS " in text or "FAIL " in text or args.verbose or msg.type == "error":
                log(f"console.{msg.type}: {text[:2000]}")

        page.on("console", on_console)
        log(f"opening {url}")
        page.goto(url, timeout=60_000)
        while "code" not in exit_code:
            if time.monotonic() > deadline:
                log(f"no exit code from VS Code within {args.timeout} s")
                page.screenshot(path=os.path.join(args.logs or ".", "timeout.png"))
                browser.close()
                return 3
            try:
                page.wait_for_timeout(250)
            except PlaywrightError as e:
                log(f"the page failed: {e}")
                browser.close()
                return 3
        browser.close()
    log(f"VS Code reported exit code {exit_code['code']}")
    return 0 if exit_code["code"] == 0 else 1


# Finds `word` inside the first line showing `needle` in the visible editor and returns the
# centre of the word on the screen (Monaco draws spaces as no-break spaces).
FIND_WORD = """
([needle, word]) => {
  const lines = document.querySelectorAll('.monaco-editor .view-lines .view-line');
  for (const line of lines) {
    const text = line.textContent.replace(/\\u00a0/g, ' ');
    const i = text.indexOf(needle);
    if (i < 0) continue;
    const start = i + needle.indexOf(word) + Math.floor(word.length / 2);
    const walker = document.createTreeWalker(line, NodeFilter.SHOW_TEXT);
    let seen = 0;
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const n = node.textContent.length;
      if (start < seen + n) {
        const range = document.createRange();
        range.setStart(node, start - seen);
        range.setEnd(node, start - seen + 1);
        const r = range.getBoundingClientRect();
        return { x: r.left + r.width / 2, y: r.top + r.height / 2 };
      }
      seen += n;
    }
  }
  return null;
}
"""


def show_view(page, name, deadline, levels=2):
    """Expands the Explorer's view `name` and its first `levels` collapsed rows, with their
    twisties (a click on a row may open its definition instead). Best effort: the
    extension-host tests check the view's content; this only shows it."""
    try:
        header = page.locator(".pane-header").filter(has_text=name).first
        header.wait_for(timeout=15_000)
        if header.get_attribute("aria-expanded") != "true":
            header.click()
        rows = page.locator(f'.pane:has(.pane-header[aria-label*="{name}" i]) .monaco-list-row')
        rows.first.wait_for(timeout=max(1, min(30, deadline - time.monotonic())) * 1000)
        for _ in range(levels):
            collapsed = rows.and_(page.locator('[aria-expanded="false"]')).first
            if collapsed.count() == 0:
                break
            collapsed.locator(".monaco-tl-twistie").click()
            page.wait_for_timeout(700)
    except PlaywrightError as e:
        log(f"could not show the {name} view: {str(e).splitlines()[0]}")


def grow_hover(page, pixels):
    """Drags the hover's bottom edge `pixels` down (best effort)."""
    if pixels <= 0:
        return
    try:
        # The visible hover's bottom edge is a resize sash (VS Code's resizable hover).
        sash = page.locator(".monaco-sash.horizontal.orthogonal-edge-south:not(.disabled)")
        box = next((b for b in (x.bounding_box() for x in sash.all()) if b and b["width"] > 50), None)
        if not box:
            log("the hover has no bottom sash to drag")
            return
        x = box["x"] + box["width"] / 2
        y = box["y"] + box["height"] / 2
        page.mouse.move(x, y - 30, steps=3)
        page.mouse.move(x, y, steps=3)
        page.wait_for_timeout(300)
        page.mouse.down()
        page.mouse.move(x, y + pixels, steps=8)
        page.mouse.up()
        page.wait_for_timeout(400)
    except PlaywrightError as e:
        log(f"could not resize the hover: {str(e).splitlines()[0]}")


def cmd_screenshot(args):
    deadline = time.monotonic() + args.timeout
    url = workbench_url(
        args.base, args.folder, [["openFile", "REMOTE:" + os.path.join(args.folder, args.file)]]
    )
    with sync_playwright() as p:
        browser, context = launch(p, args)
        page = context.new_page()
        log(f"opening {url}")
        page.goto(url, timeout=60_000)
        line = page.locator(".monaco-editor .view-lines .view-line").filter(has_text=args.needle)
        line.first.wait_for(timeout=max(1, deadline - time.monotonic()) * 1000)
        if args.view:
            show_view(page, args.view, deadline)
        hover = page.locator(".monaco-hover").filter(has_text=args.expect)
        shown = False
        # The first hovers may come before the server has indexed the workspace: move away and
        # back until the hover holds the expected text.
        while time.monotonic() < deadline:
            spot = page.evaluate(FIND_WORD, [args.needle, args.word])
            if spot:
                page.mouse.move(5, 5)
                page.mouse.move(spot["x"], spot["y"], steps=4)
                try:
                    hover.first.wait_for(state="visible", timeout=4000)
                    shown = True
                    break
                except PlaywrightError:
                    pass
            else:
                page.wait_for_timeout(500)
        if not shown:
            page.screenshot(path=args.path + ".failed.png")
            log(f"no hover holding {args.expect!r} within {args.timeout} s (see {args.path}.failed.png)")
            browser.close()
            return 1
        # Let the hover finish laying out (it grows as Markdown and code render), then make it
        # taller than VS Code's default so that the SQL shows too.
        page.wait_for_timeout(800)
        grow_hover(page, args.grow)
        os.makedirs(os.path.dirname(os.path.abspath(args.path)), exist_ok=True)
        page.screenshot(path=args.path)
        browser.close()
    log(f"screenshot saved to {args.path}")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", required=True, help="code-server's URL, e.g. http://127.0.0.1:8080")
    ap.add_argument("--folder", required=True, help="the workspace folder to open (absolute)")
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=800)
    ap.add_argument("--verbose", action="store_true", help="print every console message")
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("test", help="run the extension-host test suite")
    t.add_argument("--suite", required=True, help="the suite folder (absolute)")
    t.add_argument("--logs", help="folder for VS Code's logs")
    s = sub.add_parser("screenshot", help="hover a word and take a screenshot")
    s.add_argument("--file", required=True, help="the file to open, relative to the folder")
    s.add_argument("--needle", required=True, help="text on the line to hover")
    s.add_argument("--word", required=True, help="the word of the needle to hover")
    s.add_argument("--expect", required=True, help="text the hover must show")
    s.add_argument("--path", required=True, help="where to save the PNG")
    s.add_argument("--view", help="an Explorer view to expand first, e.g. Benchmarks")
    s.add_argument("--grow", type=int, default=0, help="pixels to make the hover taller")
    args = ap.parse_args()
    return cmd_test(args) if args.cmd == "test" else cmd_screenshot(args)


if __name__ == "__main__":
    sys.exit(main())
