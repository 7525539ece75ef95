-- Commands of the modlens plugin; the language client starts with require('modlens').setup().
if vim.g.loaded_modlens then
  return
end
vim.g.loaded_modlens = true

vim.api.nvim_create_user_command('ModlensTree', function(args)
  require('modlens').tree(args.args)
end, { nargs = '?', desc = "modlens: a benchmark's or dashboard's hierarchy (default: under the cursor)" })

vim.api.nvim_create_user_command('ModlensStats', function()
  require('modlens').stats()
end, { nargs = 0, desc = "modlens: the server's load statistics" })

vim.api.nvim_create_user_command('ModlensRestart', function()
  require('modlens').restart()
end, { nargs = 0, desc = 'modlens: restart the language server' })
