" Steampipe mods: the same highlighting as Powerpipe's.
if exists('b:current_syntax')
  finish
endif
runtime! syntax/powerpipe.vim
let b:current_syntax = 'steampipe'
