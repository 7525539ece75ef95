#!/usr/bin/env python3
"""Builds the fuzz targets' seed corpora under fuzz/corpus/TARGET/ from the fixtures and
fuzz/regressions/TARGET/.

Run from anywhere: `python3 fuzz/seed_corpora.py`. Existing corpus files are kept (a long
run's findings stay); seeds are named by their content's hash, so running it twice adds
nothing. The corpora are not committed (fuzz/.gitignore).
"""

import hashlib
import json
import random
from pathlib import Path

FUZZ = Path(__file__).resolve().parent
ROOT = FUZZ.parent
FIXTURES = ROOT / "fixtures"
CORPUS = FUZZ / "corpus"
# Inputs that once crashed a target (committed, a few bytes each): always in its corpus.
REGRESSIONS = FUZZ / "regressions"

SCANNED = {".pp", ".sp", ".fp", ".tp", ".ppvars", ".spvars"}
EVALUATED = {".pp", ".sp"}
VARS = {".ppvars", ".spvars", ".vars"}


def fixture_files(suffixes):
    return sorted(p for p in FIXTURES.rglob("*") if p.is_file() and p.suffix in suffixes)


def add(target, data: bytes):
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / hashlib.sha1(data).hexdigest()).write_bytes(data)


def frame(body: bytes) -> bytes:
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def message(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def lsp_messages(texts):
    """A client's typical messages, with fixture texts as documents."""
    uri = "file:///m/main.pp"
    out = [
        message({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                 "params": {"capabilities": {}, "rootUri": None}}),
        message({"jsonrpc": "2.0", "method": "initialized", "params": {}}),
        message({"jsonrpc": "2.0", "id": 2, "method": "textDocument/hover",
                 "params": {"textDocument": {"uri": uri},
                            "position": {"line": 3, "character": 7}}}),
        message({"jsonrpc": "2.0", "id": "a", "result": None}),
        message({"jsonrpc": "2.0", "id": 3, "error": {"code": -1, "message": "no"}}),
        message({"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": 2}}),
        message({"jsonrpc": "2.0", "id": 4, "method": "shutdown"}),
    ]
    for t in texts[:4]:
        out.append(message({"jsonrpc": "2.0", "method": "textDocument/didOpen",
                            "params": {"textDocument": {"uri": uri, "languageId": "powerpipe",
                                                        "version": 1, "text": t}}}))
        out.append(message({"jsonrpc": "2.0", "method": "textDocument/didChange",
                            "params": {"textDocument": {"uri": uri, "version": 2},
                                       "contentChanges": [{"range": {
                                           "start": {"line": 1, "character": 2},
                                           "end": {"line": 1, "character": 5}},
                                           "text": "x\u00e9\U0001F600"}]}}))
    return out


def main():
    rng = random.Random(0x6D6F646C656E73)
    scanned = fixture_files(SCANNED)
    for p in scanned:
        add("scan", p.read_bytes())
        add("fmt", p.read_bytes())
    for p in fixture_files(EVALUATED):
        add("resolve", p.read_bytes())
    for p in fixture_files(VARS):
        add("ppvars", p.read_bytes())

    small = [p.read_text(errors="replace") for p in scanned if p.stat().st_size < 2000]
    messages = lsp_messages(small)
    # frames: a chunk-size byte, then a stream of frames with a little damage.
    for i, m in enumerate(messages):
        add("frames", bytes([i * 37 % 256]) + frame(m))
    add("frames", b"\x03" + b"".join(frame(m) for m in messages))
    add("frames", b"\x01" + frame(messages[0]) + b"Content-Type: x\r\n\r\ngarbage" + frame(messages[1]))
    add("frames", b"\x02" + b"content-length: 2\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n{}")
    # guard: pieces separated by \xFF\xFE; `F` frames a piece.
    safe = [m for m in messages if b'"initialize' not in m]
    for m in safe:
        add("guard", b"F" + m)
    add("guard", b"\xFF\xFE".join([b"garbage\r\n\r\n", b"F{nope", b"F" + safe[0], b"x: y\r\n"]))
    add("guard", b"\xFF\xFE".join([b"F" + m for m in safe]))
    # did_change: a document, then \xFF\xFF and bytes the target decodes into edits.
    for t in small[:40]:
        add("did_change", t.encode() + b"\xFF\xFF" + bytes(rng.randrange(256) for _ in range(64)))
    for folder in sorted(p for p in REGRESSIONS.iterdir() if p.is_dir()):
        for p in sorted(folder.iterdir()):
            add(folder.name, p.read_bytes())
    print(f"seed corpora in {CORPUS}: " + ", ".join(
        f"{d.name} {sum(1 for _ in d.iterdir())}" for d in sorted(CORPUS.iterdir())))


if __name__ == "__main__":
    main()
