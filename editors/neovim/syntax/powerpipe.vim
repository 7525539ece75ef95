" Basic highlighting for Powerpipe/Steampipe mods (HCL): block types and labels, attributes,
" references, literals, strings with ${ } / %{ } templates, heredocs and comments. The language
" server's semantic tokens (Neovim 0.9+) refine it.
if exists('b:current_syntax')
  finish
endif

syn case match

syn keyword ppBlock mod require variable locals query control benchmark dashboard container
      \ card chart flow graph hierarchy image input table text category node edge with param
      \ detection detection_benchmark pipeline step trigger connection notifier integration
      \ credential credential_import connection_import
syn match ppAttribute /\<[A-Za-z_][A-Za-z0-9_-]*\>\ze\s*=[^=]/
syn match ppReference /\<\(var\|local\|self\|param\|dep\|query\|control\|benchmark\|dashboard\|input\)\.[A-Za-z0-9_.-]\+/
syn keyword ppConstant true false null
syn match ppNumber /\<\d\+\(\.\d\+\)\=\([eE][+-]\=\d\+\)\=\>/
syn match ppEscape /\\\([\\"nrt]\|u\x\{4}\|U\x\{8}\)/ contained
syn region ppTemplate matchgroup=ppTemplateDelim start=/[$%]{/ end=/}/ contained contains=ppReference,ppConstant,ppNumber,ppString
syn region ppString start=/"/ skip=/\\\\\|\\"/ end=/"/ contains=ppEscape,ppTemplate
syn region ppHeredoc matchgroup=ppHeredocDelim start=/<<-\=\z([A-Za-z_][A-Za-z0-9_]*\)\s*$/ end=/^\s*\z1\s*$/ contains=ppTemplate
syn region ppComment start=+/\*+ end=+\*/+ contains=@Spell
syn match ppComment /\(#\|\/\/\).*$/ contains=@Spell

hi def link ppBlock Structure
hi def link ppAttribute Identifier
hi def link ppReference Type
hi def link ppConstant Constant
hi def link ppNumber Number
hi def link ppEscape SpecialChar
hi def link ppTemplateDelim Delimiter
hi def link ppString String
hi def link ppHeredoc String
hi def link ppHeredocDelim Delimiter
hi def link ppComment Comment

let b:current_syntax = 'powerpipe'
