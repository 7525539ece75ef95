-- Filetypes for Powerpipe and Steampipe mods: `powerpipe` for *.pp and *.ppvars (which
-- covers *.auto.ppvars) and for Flowpipe's *.fp and Tailpipe's *.tp (the same language, which
-- modlens indexes too), `steampipe` for *.sp and *.spvars. Neovim takes *.pp for Puppet (or
-- Pascal): these rules win over that.
if vim.fn.has('nvim-0.8') == 1 and vim.g.do_legacy_filetype == nil then
  -- filetype.lua: user additions take precedence over the built-in extension table.
  vim.filetype.add({
    extension = {
      pp = 'powerpipe',
      ppvars = 'powerpipe',
      fp = 'powerpipe',
      tp = 'powerpipe',
      sp = 'steampipe',
      spvars = 'steampipe',
    },
  })
else
  -- Neovim 0.7's filetype.vim (this file is sourced inside its `filetypedetect` group, after
  -- its own rules): `set filetype=` overrides the Puppet/Pascal guess that `setf` made.
  vim.cmd([[
    autocmd BufNewFile,BufRead *.pp,*.ppvars,*.fp,*.tp set filetype=powerpipe
    autocmd BufNewFile,BufRead *.sp,*.spvars set filetype=steampipe
  ]])
end
