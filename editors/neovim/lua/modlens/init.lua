-- modlens for Neovim (0.7 through 0.11+): starts `modlens lsp` for Powerpipe and Steampipe
-- mods (one client per mod root, the folder holding `mod.pp` or `mod.sp`) and adds
-- :ModlensTree, :ModlensStats and :ModlensRestart (defined in plugin/modlens.lua).
--
--   require('modlens').setup({
--     cmd = { 'modlens', 'lsp' },          -- the server
--     settings = { variables = { region = 'eu-west-1' }, varFiles = { 'prod.ppvars' } },
--     on_attach = function(client, bufnr) end,
--     filetypes = { 'powerpipe', 'steampipe' },
--   })
--
-- The client is started with vim.lsp.config + vim.lsp.enable where they exist (0.11+), else
-- vim.lsp.start (0.8+), else vim.lsp.start_client + vim.lsp.buf_attach_client (0.7).
local M = {}

local uv = vim.uv or vim.loop

--- The options setup() starts from.
M.defaults = {
  cmd = { 'modlens', 'lsp' },
  -- Sent as initializationOptions and with workspace/didChangeConfiguration (under `modlens`):
  -- variables, varFiles, cacheEntries, cacheMb, workers, logLevel.
  settings = {},
  on_attach = nil,
  capabilities = nil,
  filetypes = { 'powerpipe', 'steampipe' },
  root_markers = { 'mod.pp', 'mod.sp' },
}

--- The options in force (the defaults until setup() is called).
M.config = vim.deepcopy(M.defaults)

local NAME = 'modlens'
-- 0.7 only: mod root -> client id, so that one client serves every buffer of a mod.
local clients_by_root = {}
-- Tree buffers: bufnr -> { [line] = qualified name }, and the client that answered.
local tree_lines = {}

local function has(version)
  return vim.fn.has('nvim-' .. version) == 1
end

local function warn(msg)
  vim.notify('modlens: ' .. msg, vim.log.levels.WARN)
end

-- Methods of a client object: `client:request()` from 0.11 on, `client.request()` before.
local function client_call(client, method, ...)
  if has('0.11') then
    return client[method](client, ...)
  end
  return client[method](...)
end

--- The folder to serve for `path`: the nearest folder upward holding one of the root markers
--- (`mod.pp`, `mod.sp`). A file of an installed dependency (under `.powerpipe/mods/` or
--- `.steampipe/mods/`) belongs to the mod that installed it. Without a marker: the file's
--- folder.
function M.find_root(path)
  if path == nil or path == '' then
    return nil
  end
  path = vim.fn.fnamemodify(path, ':p')
  local dir
  local cut = path:find('/%.powerpipe/mods/') or path:find('/%.steampipe/mods/')
  if cut then
    dir = path:sub(1, cut - 1)
  else
    dir = vim.fn.fnamemodify(path, ':h')
  end
  local markers = M.config.root_markers
  if vim.fs and vim.fs.find then
    local found = vim.fs.find(markers, { path = dir, upward = true })[1]
    if found then
      return vim.fn.fnamemodify(found, ':h')
    end
  else
    -- Neovim 0.7 has no vim.fs.
    local d = dir
    while true do
      for _, m in ipairs(markers) do
        if uv.fs_stat(d .. '/' .. m) then
          return d
        end
      end
      local parent = vim.fn.fnamemodify(d, ':h')
      if parent == d then
        break
      end
      d = parent
    end
  end
  return dir
end

-- The root for a buffer, or nil when it is not a file.
local function buf_root(bufnr)
  if not vim.api.nvim_buf_is_valid(bufnr) or vim.bo[bufnr].buftype ~= '' then
    return nil
  end
  local name = vim.api.nvim_buf_get_name(bufnr)
  if name == '' or name:match('^%a[%w+.-]*://') then
    return nil
  end
  return M.find_root(name)
end

local function on_attach(client, bufnr)
  if M.config.on_attach then
    M.config.on_attach(client, bufnr)
  end
end

-- The settings as the server reads them from workspace/didChangeConfiguration.
local function wrapped_settings()
  return { modlens = M.config.settings }
end

-- A client configuration for one mod root (0.7 to 0.10).
local function client_config(root)
  return {
    name = NAME,
    cmd = M.config.cmd,
    root_dir = root,
    workspace_folders = { { uri = vim.uri_from_fname(root), name = vim.fn.fnamemodify(root, ':t') } },
    init_options = M.config.settings,
    settings = wrapped_settings(),
    capabilities = M.config.capabilities,
    on_attach = on_attach,
  }
end

-- True once the client `id` has exited (or never existed).
local function stopped(id)
  return vim.lsp.get_client_by_id(id) == nil
end

--- Every running modlens client, or those attached to `bufnr` when given.
function M.clients(bufnr)
  if vim.lsp.get_clients then
    return vim.lsp.get_clients({ name = NAME, bufnr = bufnr })
  elseif has('0.8') then
    return vim.lsp.get_active_clients({ name = NAME, bufnr = bufnr })
  end
  local list = {}
  local all = bufnr and vim.lsp.buf_get_clients(bufnr) or vim.lsp.get_active_clients()
  for _, c in pairs(all) do
    if c.name == NAME then
      table.insert(list, c)
    end
  end
  return list
end

local function uses_enable()
  return vim.lsp.config ~= nil and vim.lsp.enable ~= nil and has('0.11')
end

--- Attaches `bufnr` (default: the current buffer) to its mod's client, starting it when
--- needed (on 0.11+ vim.lsp.enable does this by itself for buffers that open).
function M.attach(bufnr)
  if bufnr == nil or bufnr == 0 then
    bufnr = vim.api.nvim_get_current_buf()
  end
  local root = buf_root(bufnr)
  if not root then
    return
  end
  if vim.fn.executable(M.config.cmd[1]) ~= 1 then
    warn('cannot run `' .. tostring(M.config.cmd[1]) .. '`: set `cmd` in setup() or put modlens on PATH')
    return
  end
  if uses_enable() then
    -- The configuration vim.lsp.enable uses, so that the client it starts for later buffers
    -- (same name and root) is this one.
    local cfg = vim.deepcopy(vim.lsp.config[NAME])
    cfg.name = NAME
    cfg.root_dir = root
    vim.lsp.start(cfg, { bufnr = bufnr })
    return
  elseif has('0.8') then
    vim.lsp.start(client_config(root), { bufnr = bufnr })
    return
  end
  local id = clients_by_root[root]
  if id == nil or stopped(id) then
    id = vim.lsp.start_client(client_config(root))
    clients_by_root[root] = id
  end
  if id then
    vim.lsp.buf_attach_client(bufnr, id)
  end
end

local function is_ours(bufnr)
  return vim.tbl_contains(M.config.filetypes, vim.bo[bufnr].filetype)
end

-- Attaches every loaded buffer of ours (those open before setup, or after a restart).
local function attach_open_buffers()
  for _, b in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(b) and is_ours(b) then
      M.attach(b)
    end
  end
end

--- Configures the plugin and starts serving buffers of the configured filetypes (those
--- already open included). Calling it again applies the new options; a settings change
--- reaches running servers with workspace/didChangeConfiguration.
function M.setup(opts)
  local old_settings = M.config.settings
  opts = opts or {}
  M.config = vim.tbl_deep_extend('force', vim.deepcopy(M.defaults), opts)
  -- Lists and the settings object as given, not merged index by index into the defaults.
  for _, k in ipairs({ 'cmd', 'filetypes', 'root_markers', 'settings' }) do
    if opts[k] ~= nil then
      M.config[k] = opts[k]
    end
  end
  if uses_enable() then
    vim.lsp.config(NAME, {
      cmd = M.config.cmd,
      filetypes = M.config.filetypes,
      root_dir = function(bufnr, on_dir)
        local root = buf_root(bufnr)
        if root then
          on_dir(root)
        end
      end,
      init_options = M.config.settings,
      settings = wrapped_settings(),
      capabilities = M.config.capabilities,
      on_attach = on_attach,
    })
    vim.lsp.enable(NAME)
  else
    local group = vim.api.nvim_create_augroup('modlens', { clear = true })
    vim.api.nvim_create_autocmd('FileType', {
      group = group,
      pattern = M.config.filetypes,
      callback = function(args)
        M.attach(args.buf)
      end,
    })
    attach_open_buffers()
  end
  if not vim.deep_equal(old_settings, M.config.settings) then
    M.set_settings(M.config.settings)
  end
end

--- Replaces the settings and sends them to every running server.
function M.set_settings(settings)
  M.config.settings = settings or {}
  for _, c in ipairs(M.clients()) do
    c.config.settings = wrapped_settings()
    client_call(c, 'notify', 'workspace/didChangeConfiguration', { settings = wrapped_settings() })
  end
end

--- Stops every modlens server and starts them again for the open buffers.
function M.restart()
  local clients = M.clients()
  for _, c in ipairs(clients) do
    client_call(c, 'stop')
  end
  clients_by_root = {}
  vim.wait(5000, function()
    for _, c in ipairs(clients) do
      if not stopped(c.id) then
        return false
      end
    end
    return true
  end, 20)
  attach_open_buffers()
end

-- The client to ask for `bufnr`: its own, the one that filled a tree buffer, or any.
local function pick_client(bufnr)
  local own = M.clients(bufnr)[1]
  if own then
    return own
  end
  local id = vim.b[bufnr].modlens_client
  if id then
    local c = vim.lsp.get_client_by_id(id)
    if c then
      return c
    end
  end
  return M.clients()[1]
end

local function buf_uri(bufnr)
  if buf_root(bufnr) then
    return vim.uri_from_bufnr(bufnr)
  end
  return nil
end

-- A scratch buffer named `name`, shown in a window (a split below unless already visible).
local function scratch(name, lines, filetype)
  local buf
  for _, b in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_get_name(b) == name then
      buf = b
    end
  end
  if not buf then
    buf = vim.api.nvim_create_buf(false, true)
    vim.api.nvim_buf_set_name(buf, name)
    vim.bo[buf].buftype = 'nofile'
    vim.bo[buf].bufhidden = 'hide'
    vim.bo[buf].swapfile = false
  end
  vim.bo[buf].modifiable = true
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.bo[buf].modifiable = false
  vim.bo[buf].filetype = filetype
  local win = vim.fn.bufwinid(buf)
  if win == -1 then
    vim.cmd('botright split')
    vim.api.nvim_win_set_buf(0, buf)
  else
    vim.api.nvim_set_current_win(win)
  end
  return buf
end

-- One line of text (a title can hold newlines, which buffer lines cannot).
local function one_line(s)
  return (tostring(s):gsub('[\r\n]+', ' '))
end

--- The lines showing a `modlens/tree` answer, and the qualified name of each line.
function M.render_tree(node)
  local lines, names = {}, {}
  local function walk(n, depth)
    local text = string.rep('  ', depth) .. one_line(n.qualified_name or '?')
    if n.title and n.title ~= vim.NIL then
      text = text .. ' — ' .. one_line(n.title)
    end
    if n.note and n.note ~= vim.NIL then
      text = text .. '  [' .. one_line(n.note) .. ']'
    end
    table.insert(lines, text)
    names[#lines] = n.qualified_name
    for _, child in ipairs(n.children or {}) do
      walk(child, depth + 1)
    end
  end
  walk(node, 0)
  return lines, names
end

-- The benchmark or dashboard the cursor is on: a `benchmark.x` reference under it, else the
-- top-level block around it.
local function resource_at_cursor()
  local word = vim.fn.expand('<cWORD>')
  local ref = word:match('(benchmark%.[%w_-]+)') or word:match('(dashboard%.[%w_-]+)')
  if ref then
    return ref
  end
  local row = vim.api.nvim_win_get_cursor(0)[1]
  local lines = vim.api.nvim_buf_get_lines(0, 0, row, false)
  for i = #lines, 1, -1 do
    local kind, name = lines[i]:match('^(%a[%w_]*)%s+"([^"]+)"')
    if kind then
      if kind == 'benchmark' or kind == 'dashboard' then
        return kind .. '.' .. name
      end
      return nil
    end
  end
  return nil
end

--- Shows the hierarchy under a benchmark or dashboard in a scratch buffer
--- (`modlens://tree/<resource>`). `name`: `x` (a benchmark), `benchmark.x`, `dashboard.x` or
--- `mod.benchmark.x`; default: the one under the cursor. `<CR>` on a line opens its
--- definition, `q` closes the window.
function M.tree(name)
  local src = vim.api.nvim_get_current_buf()
  local resource = name
  if resource == nil or resource == '' then
    resource = resource_at_cursor()
    if not resource then
      warn('no benchmark or dashboard under the cursor: give one, e.g. :ModlensTree benchmark.x')
      return
    end
  elseif not resource:find('.', 1, true) then
    resource = 'benchmark.' .. resource
  end
  local client = pick_client(src)
  if not client then
    warn('no modlens server is running (open a .pp or .sp file of a mod first)')
    return
  end
  local origin = vim.api.nvim_get_current_win()
  local params = { resource = resource, uri = buf_uri(src) }
  client_call(client, 'request', 'modlens/tree', params, function(err, result)
    if err or not result then
      warn('tree of ' .. resource .. ': ' .. (err and err.message or 'no answer'))
      return
    end
    local lines, names = M.render_tree(result)
    local buf = scratch('modlens://tree/' .. resource, lines, 'modlenstree')
    tree_lines[buf] = names
    vim.b[buf].modlens_client = client.id
    vim.b[buf].modlens_origin = origin
    vim.keymap.set('n', '<CR>', function()
      M.tree_jump()
    end, { buffer = buf, desc = 'modlens: go to the definition' })
    vim.keymap.set('n', 'q', '<cmd>close<CR>', { buffer = buf, desc = 'modlens: close' })
  end, src)
end

-- Moves to `loc` (an LSP Location) in the window `win`.
local function jump(win, loc)
  if win and vim.api.nvim_win_is_valid(win) then
    vim.api.nvim_set_current_win(win)
  else
    vim.cmd('wincmd p')
  end
  vim.cmd('edit ' .. vim.fn.fnameescape(vim.uri_to_fname(loc.uri)))
  local line = loc.range.start.line + 1
  local last = vim.api.nvim_buf_line_count(0)
  vim.api.nvim_win_set_cursor(0, { math.min(line, last), loc.range.start.character })
end

--- In a tree buffer: opens the definition of the resource on the cursor's line (found with
--- workspace/symbol).
function M.tree_jump()
  local buf = vim.api.nvim_get_current_buf()
  local names = tree_lines[buf] or {}
  local qualified = names[vim.api.nvim_win_get_cursor(0)[1]]
  if not qualified then
    return
  end
  local client = pick_client(buf)
  if not client then
    warn('no modlens server is running')
    return
  end
  -- `mod.type.name`: workspace/symbol names a resource of the root mod `type.name` and one of
  -- a dependency `mod.type.name`.
  local short = qualified:match('([^.]+%.[^.]+)$') or qualified
  local origin = vim.b[buf].modlens_origin
  client_call(client, 'request', 'workspace/symbol', { query = short }, function(err, result)
    if err or type(result) ~= 'table' then
      warn('no definition of ' .. qualified)
      return
    end
    local best
    for _, s in ipairs(result) do
      if s.name == qualified then
        best = s
        break
      end
      if s.name == short and not best then
        best = s
      end
    end
    if not best or not best.location or not best.location.uri then
      warn('no definition of ' .. qualified)
      return
    end
    jump(origin, best.location)
  end, buf)
end

-- Compact, readable JSON with sorted keys (vim.json.encode has no indentation before 0.11).
local function pretty(value, indent)
  indent = indent or ''
  local inner = indent .. '  '
  local encode = vim.json and vim.json.encode or vim.fn.json_encode
  if value == vim.NIL or value == nil then
    return 'null'
  elseif type(value) ~= 'table' then
    -- cjson writes `/` as `\/`: valid JSON, but paths read better without.
    return (encode(value):gsub('\\/', '/'))
  elseif (vim.islist or vim.tbl_islist)(value) and #value > 0 then
    local parts = {}
    for _, v in ipairs(value) do
      table.insert(parts, inner .. pretty(v, inner))
    end
    return '[\n' .. table.concat(parts, ',\n') .. '\n' .. indent .. ']'
  end
  local keys = vim.tbl_keys(value)
  if #keys == 0 then
    return '{}'
  end
  table.sort(keys, function(a, b)
    return tostring(a) < tostring(b)
  end)
  local parts = {}
  for _, k in ipairs(keys) do
    table.insert(parts, inner .. encode(tostring(k)) .. ': ' .. pretty(value[k], inner))
  end
  return '{\n' .. table.concat(parts, ',\n') .. '\n' .. indent .. '}'
end

--- Shows the server's load statistics (`modlens/stats`) as JSON in a scratch buffer.
function M.stats()
  local client = pick_client(vim.api.nvim_get_current_buf())
  if not client then
    warn('no modlens server is running')
    return
  end
  client_call(client, 'request', 'modlens/stats', vim.empty_dict(), function(err, result)
    if err then
      warn('stats: ' .. err.message)
      return
    end
    scratch('modlens://stats', vim.split(pretty(result), '\n'), 'json')
  end)
end

return M
