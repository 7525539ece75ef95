" Steampipe mods: the same language as Powerpipe's.
runtime! ftplugin/powerpipe.vim
