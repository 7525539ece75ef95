-- End-to-end test with Neovim's built-in LSP client (Neovim 0.7+): attach modlens to a
-- fixture mod, then hover, go to definition, complete, rename, and watch diagnostics
-- appear after an edit and go when it is undone. Results go to $MODLENS_OUT as JSON;
-- tests/nvim.rs runs this and asserts on them.
local ws = os.getenv('MODLENS_WS')
local bin = os.getenv('MODLENS_BIN')
local out = os.getenv('MODLENS_OUT')
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

local ok, err = pcall(function()
  local client_id = vim.lsp.start_client({
    name = 'modlens',
    cmd = { bin, 'lsp' },
    root_dir = ws,
    workspace_folders = { { uri = vim.uri_from_fname(ws), name = 'ws' } },
  })
  check('client started', client_id ~= nil, client_id)

  vim.cmd('edit ' .. ws .. '/controls.pp')
  local buf = vim.api.nvim_get_current_buf()
  vim.lsp.buf_attach_client(buf, client_id)
  local attached = vim.wait(20000, function()
    local c = vim.lsp.get_client_by_id(client_id)
    return c ~= nil and c.initialized
  end, 50)
  check('attached', attached, vim.lsp.get_client_by_id(client_id) ~= nil)
  local client = vim.lsp.get_client_by_id(client_id)

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
    -- The server has the edited reference but not yet the edited declaration (that buffer
    -- is not attached): the reference dangles until it is.
    local dangling = wait_diagnostic(buf, 'versioning_status')
    check('a dangling reference is reported', dangling, vim.diagnostic.get(buf))
    vim.lsp.buf_attach_client(qbuf, client_id)
    local clean = wait_clean(buf)
    check('no diagnostics after the rename', clean, vim.diagnostic.get(buf))
  end

  vim.lsp.stop_client(client_id)
  local stopped = vim.wait(10000, function() return vim.lsp.client_is_stopped(client_id) end, 50)
  check('server stopped on shutdown', stopped, nil)
end)
if not ok then
  check('script ran', false, err)
end
finish()
