-- End-to-end test of the Neovim plugin in editors/neovim (Neovim 0.7+) with Neovim's built-in
-- LSP client: the plugin detects the filetype and attaches modlens to a fixture mod, then
-- hover, go to definition, complete, a quick fix, rename, format, watch diagnostics appear after
-- an edit and go when
-- it is undone, and the plugin's :ModlensTree, :ModlensStats and :ModlensRestart. Results go
-- to $MODLENS_OUT as JSON; tests/nvim.rs runs this and asserts on them.
local ws = os.getenv('MODLENS_WS')
local bin = os.getenv('MODLENS_BIN')
local out = os.getenv('MODLENS_OUT')
local plugin = os.getenv('MODLENS_PLUGIN')
local results = {}

local function check(name, ok, detail)
  table.insert(results, { name = name, ok = ok and true or false, detail = vim.inspect(detail) })
end

-- Waits until a diagnostic of `buf` mentions `text`.
local function wait_diagnostic(buf, text)
  return vim.wait(20000, function()
    for _, d in ipairs(vim.diagnostic.get(buf)) do
      if d.message:find(text, 1, true) then return true end
    end
    return false
  end, 50)
end

-- Waits until `buf` has no diagnostics.
local function wait_clean(buf)
  return vim.wait(20000, function() return #vim.diagnostic.get(buf) == 0 end, 50)
end

local function finish()
  local f = io.open(out, 'w')
  f:write(vim.fn.json_encode(results))
  f:close()
  vim.cmd('qa!')
end

-- The buffer named `name`, if any.
local function buffer_named(name)
  for _, b in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_get_name(b) == name then return b end
  end
  return nil
end

-- Waits for the buffer `name` to hold `lines`; returns whether it did and what it holds.
local function wait_lines(name, lines)
  local got
  local ok = vim.wait(20000, function()
    local b = buffer_named(name)
    got = b and vim.api.nvim_buf_get_lines(b, 0, -1, false)
    return got ~= nil and vim.deep_equal(got, lines)
  end, 50)
  return ok, got
end

local ok, err = pcall(function()
  -- Load the plugin as a plugin manager would: on the runtimepath, then filetype detection
  -- (ftdetect/), plugin/ and setup().
  vim.opt.runtimepath:prepend(plugin)
  vim.cmd('filetype plugin on')
  vim.cmd('runtime! plugin/modlens.lua')
  local modlens = require('modlens')
  modlens.setup({ cmd = { bin, 'lsp' } })

  vim.cmd('edit ' .. ws .. '/controls.pp')
  local buf = vim.api.nvim_get_current_buf()
  check('a .pp file is powerpipe', vim.bo[buf].filetype == 'powerpipe', vim.bo[buf].filetype)

  local client
  local attached = vim.wait(20000, function()
    client = modlens.clients(buf)[1]
    return client ~= nil and client.initialized
  end, 50)
  check('client started', client ~= nil, client and client.id)
  check('attached', attached, client ~= nil)
  local client_id = client.id
  local root = vim.fn.fnamemodify(ws, ':p'):gsub('/$', '')
  check('root is the mod folder', client.config.root_dir == root,
    { root_dir = client.config.root_dir, workspace_folders = client.workspace_folders })

  local function request(method, params)
    local res = vim.lsp.buf_request_sync(buf, method, params, 30000)
    if not res or not res[client_id] then
      return nil, 'no answer'
    end
    return res[client_id].result, res[client_id].err
  end

  -- Cursor on the `bucket_versioning` of `query = query.bucket_versioning`.
  vim.api.nvim_win_set_cursor(0, { 1, 0 })
  vim.fn.search('query\\.bucket_versioning')
  local row, col = unpack(vim.api.nvim_win_get_cursor(0))
  vim.api.nvim_win_set_cursor(0, { row, col + 8 })

  local hover = request('textDocument/hover', vim.lsp.util.make_position_params())
  local text = hover and hover.contents and hover.contents.value or ''
  check('hover shows the query title and SQL',
    text:find('Bucket versioning', 1, true) and text:find('versioning_enabled', 1, true), text)

  local def = request('textDocument/definition', vim.lsp.util.make_position_params())
  if def and def[1] then def = def[1] end
  check('definition is the query block',
    def and def.uri and def.uri:match('queries%.pp$') and def.range.start.line == 0, def)

  local symbols = request('textDocument/documentSymbol', { textDocument = vim.lsp.util.make_text_document_params() })
  check('document symbols', symbols and #symbols == 3, symbols and #symbols)

  -- Inlay hints over the file: the query's title after `query.bucket_versioning`, the
  -- variable's value (set by powerpipe.ppvars) after `var.region`.
  local hints = request('textDocument/inlayHint', {
    textDocument = vim.lsp.util.make_text_document_params(),
    range = { start = { line = 0, character = 0 }, ['end'] = { line = vim.api.nvim_buf_line_count(buf), character = 0 } },
  })
  local hint_labels = {}
  for _, h in ipairs(hints or {}) do table.insert(hint_labels, h.label) end
  check('inlay hints show a title and a value',
    vim.tbl_contains(hint_labels, 'Bucket versioning') and vim.tbl_contains(hint_labels, '= "eu-west-1"'), hint_labels)

  -- Signature help inside `file(` of `documentation = file("docs/iam_root.md")`.
  vim.api.nvim_win_set_cursor(0, { 1, 0 })
  vim.fn.search('file(')
  local frow, fcol = unpack(vim.api.nvim_win_get_cursor(0))
  vim.api.nvim_win_set_cursor(0, { frow, fcol + 6 })
  local sig = request('textDocument/signatureHelp', vim.lsp.util.make_position_params())
  local sig_label = sig and sig.signatures and sig.signatures[1] and sig.signatures[1].label
  check('signature help for file()', sig_label == 'file(path) -> string' and sig.activeParameter == 0, sig)

  -- Call hierarchy from the query reference: the query, used by the control and the input.
  vim.api.nvim_win_set_cursor(0, { row, col + 8 })
  local prepared = request('textDocument/prepareCallHierarchy', vim.lsp.util.make_position_params())
  local incoming = prepared and prepared[1] and request('callHierarchy/incomingCalls', { item = prepared[1] })
  local callers = {}
  for _, call in ipairs(incoming or {}) do table.insert(callers, call.from.name) end
  check('call hierarchy: who uses the query',
    prepared and prepared[1] and prepared[1].name == 'query.bucket_versioning'
      and vim.tbl_contains(callers, 'control.s3_versioning') and vim.tbl_contains(callers, 'input.bucket_arn'),
    { prepared = prepared, callers = callers })

  -- An edit that breaks a reference: a diagnostic appears, then goes when undone.
  local n = vim.api.nvim_buf_line_count(buf)
  vim.api.nvim_buf_set_lines(buf, n, n, false, { 'control "broken" {', '  query = query.nope', '}' })
  local got = wait_diagnostic(buf, 'query.nope')
  check('diagnostic after an edit', got, vim.diagnostic.get(buf))

  -- Completion after `query.` on the broken line.
  vim.api.nvim_win_set_cursor(0, { n + 2, 16 })
  local items = request('textDocument/completion', vim.lsp.util.make_position_params())
  local labels = {}
  for _, it in ipairs((items and (items.items or items)) or {}) do table.insert(labels, it.label) end
  check('completion lists queries', vim.tbl_contains(labels, 'bucket_versioning'), labels)

  vim.api.nvim_buf_set_lines(buf, n, n + 3, false, {})
  local cleared = wait_clean(buf)
  check('diagnostics cleared when fixed', cleared, vim.diagnostic.get(buf))

  -- A quick fix: a misspelt reference, mended by the preferred code action.
  n = vim.api.nvim_buf_line_count(buf)
  vim.api.nvim_buf_set_lines(buf, n, n, false,
    { 'control "typo" {', '  query = query.bucket_versionin', '}' })
  check('diagnostic for a misspelt reference', wait_diagnostic(buf, 'query.bucket_versionin'),
    vim.diagnostic.get(buf))
  local diags = {}
  for _, d in ipairs(vim.diagnostic.get(buf)) do
    if d.message:find('bucket_versionin', 1, true) then
      table.insert(diags, {
        range = {
          start = { line = d.lnum, character = d.col },
          ['end'] = { line = d.end_lnum or d.lnum, character = d.end_col or d.col },
        },
        message = d.message,
        severity = d.severity,
        source = d.source,
      })
    end
  end
  local actions = diags[1] and request('textDocument/codeAction', {
    textDocument = vim.lsp.util.make_text_document_params(),
    range = diags[1].range,
    context = { diagnostics = diags },
  })
  local preferred
  for _, a in ipairs(actions or {}) do
    if a.isPreferred then preferred = a end
  end
  check('code action offers the near name',
    preferred and preferred.title == 'Did you mean `query.bucket_versioning`?', actions)
  if preferred then
    vim.lsp.util.apply_workspace_edit(preferred.edit, client.offset_encoding or 'utf-16')
    local fixed = vim.api.nvim_buf_get_lines(buf, n + 1, n + 2, false)[1]
    check('the code action mended the reference', fixed == '  query = query.bucket_versioning', fixed)
    local mended = vim.wait(20000, function()
      for _, d in ipairs(vim.diagnostic.get(buf)) do
        if d.message:find('bucket_versionin', 1, true) then return false end
      end
      return true
    end, 50)
    check('no diagnostic after the quick fix', mended, vim.diagnostic.get(buf))
  end
  vim.api.nvim_buf_set_lines(buf, n, n + 3, false, {})
  -- The buffer was clean before the deletion too: the server is asked whether it has it.
  local after = request('textDocument/documentSymbol', { textDocument = vim.lsp.util.make_text_document_params() })
  check('the server has the deletion', after and #after == 3, after and #after)
  check('diagnostics clean again', wait_clean(buf), vim.diagnostic.get(buf))

  -- Rename the query from its reference; the edit touches both files.
  vim.api.nvim_win_set_cursor(0, { row, col + 8 })
  local params = vim.lsp.util.make_position_params()
  params.newName = 'versioning_status'
  local edit, rerr = request('textDocument/rename', params)
  check('rename answers', edit ~= nil, rerr)
  if edit then
    vim.lsp.util.apply_workspace_edit(edit, client.offset_encoding or 'utf-16')
    local line = vim.api.nvim_buf_get_lines(buf, row - 1, row, false)[1]
    check('rename edited the reference', line:find('query.versioning_status', 1, true), line)
    local qbuf = vim.fn.bufnr(ws .. '/queries.pp')
    local qline = vim.api.nvim_buf_get_lines(qbuf, 0, 1, false)[1]
    check('rename edited the declaration', qline == 'query "versioning_status" {', qline)
    -- The plugin attached the declaration's buffer when the edit loaded it (its filetype is
    -- detected on load), so the server has both edits: the reference resolves.
    local qclients = vim.wait(20000, function() return modlens.clients(qbuf)[1] ~= nil end, 50)
    check('the plugin attached the buffer the rename opened', qclients, vim.bo[qbuf].filetype)
    -- The buffer's diagnostics were clean before the rename: the server is asked whether
    -- the renamed reference resolves. Not at once: Neovim sends the other buffer's change
    -- after its debounce (150 ms), and a request flushes only its own buffer's.
    local renamed
    local resolves = vim.wait(20000, function()
      renamed = request('textDocument/definition', vim.lsp.util.make_position_params())
      if renamed and renamed[1] then renamed = renamed[1] end
      return renamed ~= nil and renamed.uri ~= nil and renamed.uri:match('queries%.pp$') ~= nil
        and renamed.range.start.line == 0
    end, 50)
    check('the renamed reference goes to the renamed query', resolves, renamed)
    local clean = wait_clean(buf)
    check('no diagnostics after the rename', clean, vim.diagnostic.get(buf))
  end

  -- Formatting: a messy new file of the mod (not on disk yet) becomes canonical.
  vim.cmd('edit ' .. ws .. '/fmt_probe.pp')
  local fbuf = vim.api.nvim_get_current_buf()
  vim.wait(20000, function() return modlens.clients(fbuf)[1] ~= nil end, 50)
  vim.api.nvim_buf_set_lines(fbuf, 0, -1, false,
    { 'control "fmt_probe"{', 'title="Probe"', '  sql   =   "select 1"', '}' })
  local fres = vim.lsp.buf_request_sync(fbuf, 'textDocument/formatting', {
    textDocument = vim.lsp.util.make_text_document_params(fbuf),
    options = { tabSize = 2, insertSpaces = true },
  }, 30000)
  local fedits = fres and fres[client_id] and fres[client_id].result
  if fedits then vim.lsp.util.apply_text_edits(fedits, fbuf, 'utf-16') end
  local flines = vim.api.nvim_buf_get_lines(fbuf, 0, -1, false)
  check('formatting makes the buffer canonical', vim.deep_equal(flines,
    { 'control "fmt_probe" {', '  title = "Probe"', '  sql   = "select 1"', '}' }),
    { lines = flines, answer = fres })

  -- Another file of the mod is served by the same client.
  vim.cmd('edit ' .. ws .. '/benchmarks.pp')
  local bbuf = vim.api.nvim_get_current_buf()
  local same = vim.wait(20000, function() return modlens.clients(bbuf)[1] ~= nil end, 50)
  local ids = {}
  for _, c in ipairs(modlens.clients()) do table.insert(ids, c.id) end
  check('one client per mod root', same and #ids == 1 and ids[1] == client_id, ids)

  -- :ModlensTree with a name, then for the benchmark around the cursor.
  vim.cmd('ModlensTree top')
  local tree_ok, tree = wait_lines('modlens://tree/benchmark.top', {
    'lsp_workspace.benchmark.top — Top benchmark',
    '  lsp_workspace.benchmark.s3 — S3',
    '    lsp_workspace.control.s3_versioning — S3 buckets should have versioning enabled',
    '    lsp_workspace.control.s3_logging — S3 bucket logging should be enabled in eu-west-1',
    '  lsp_workspace.control.iam_root — IAM root user should not be used',
  })
  check(':ModlensTree top shows the hierarchy', tree_ok, tree)
  vim.cmd('wincmd p')
  vim.fn.search('children = \\[control')
  vim.cmd('ModlensTree')
  local s3_ok, s3 = wait_lines('modlens://tree/benchmark.s3', {
    'lsp_workspace.benchmark.s3 — S3',
    '  lsp_workspace.control.s3_versioning — S3 buckets should have versioning enabled',
    '  lsp_workspace.control.s3_logging — S3 bucket logging should be enabled in eu-west-1',
  })
  check(':ModlensTree takes the benchmark under the cursor', s3_ok, s3)

  -- <CR> on a line of the tree opens that resource's definition.
  vim.api.nvim_win_set_cursor(0, { 3, 0 })
  vim.cmd('execute "normal \\<CR>"')
  local jumped = vim.wait(20000, function()
    return vim.api.nvim_buf_get_name(0) == root .. '/controls.pp'
      and vim.api.nvim_win_get_cursor(0)[1] == 10
  end, 50)
  check('<CR> in the tree goes to the definition', jumped,
    { vim.api.nvim_buf_get_name(0), vim.api.nvim_win_get_cursor(0) })

  vim.cmd('ModlensStats')
  local stats
  local stats_ok = vim.wait(20000, function()
    local b = buffer_named('modlens://stats')
    stats = b and table.concat(vim.api.nvim_buf_get_lines(b, 0, -1, false), '\n')
    return stats ~= nil and stats:find('"projects"', 1, true) ~= nil
  end, 50)
  check(':ModlensStats shows the load statistics', stats_ok and stats:find(root, 1, true), stats)

  -- :ModlensRestart: a new client serves the open buffers and answers.
  vim.cmd('ModlensRestart')
  local new
  local restarted = vim.wait(20000, function()
    new = modlens.clients(buf)[1]
    return new ~= nil and new.id ~= client_id and new.initialized
  end, 50)
  check(':ModlensRestart starts a new client', restarted, new and new.id)
  if restarted then
    vim.cmd('buffer ' .. buf)
    vim.api.nvim_win_set_cursor(0, { row, col + 8 })
    local res = vim.lsp.buf_request_sync(buf, 'textDocument/hover', vim.lsp.util.make_position_params(), 30000)
    local h = res and res[new.id] and res[new.id].result
    local htext = h and h.contents and h.contents.value or ''
    check('the restarted server answers', htext:find('Bucket versioning', 1, true), htext)
    client_id = new.id
  end

  -- A new file of the mod, not on disk yet (`:e`): the mod's client serves it, completion
  -- after `query.` offers the mod's queries, an unknown reference gets a diagnostic.
  vim.cmd('edit ' .. ws .. '/drafted.pp')
  local nbuf = vim.api.nvim_get_current_buf()
  local nattached = vim.wait(20000, function()
    local c = modlens.clients(nbuf)[1]
    return c ~= nil and c.id == client_id
  end, 50)
  check('a new file of the mod is served by its client', nattached,
    { exists = vim.fn.filereadable(ws .. '/drafted.pp'), filetype = vim.bo[nbuf].filetype })
  vim.api.nvim_buf_set_lines(nbuf, 0, -1, false, { 'control "drafted" {', '  query = query.nope_draft', '}' })
  -- Just after `query.` (the cursor is on the `n`).
  vim.api.nvim_win_set_cursor(0, { 2, 16 })
  local nres = vim.lsp.buf_request_sync(nbuf, 'textDocument/completion', vim.lsp.util.make_position_params(), 30000)
  local nitems = nres and nres[client_id] and nres[client_id].result
  local nlabels = {}
  for _, it in ipairs((nitems and (nitems.items or nitems)) or {}) do table.insert(nlabels, it.label) end
  -- The query is `bucket_versioning`, or `versioning_status` after the rename above.
  check('completion after query. in a new file lists the queries',
    vim.tbl_contains(nlabels, 'bucket_versioning') or vim.tbl_contains(nlabels, 'versioning_status'), nlabels)
  check('diagnostic in a new file', wait_diagnostic(nbuf, 'query.nope_draft'), vim.diagnostic.get(nbuf))

  vim.lsp.stop_client(client_id)
  local stopped = vim.wait(10000, function() return vim.lsp.get_client_by_id(client_id) == nil end, 50)
  check('server stopped on shutdown', stopped, nil)
end)
if not ok then
  check('script ran', false, err)
end
finish()
