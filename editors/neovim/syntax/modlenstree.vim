" :ModlensTree buffers: `mod.type.name — Title  [note]`.
if exists('b:current_syntax')
  finish
endif
syn match modlensTreeName /^\s*\S\+/
syn match modlensTreeNote /\[[^\]]*\]$/
hi def link modlensTreeName Identifier
hi def link modlensTreeNote WarningMsg
let b:current_syntax = 'modlenstree'
