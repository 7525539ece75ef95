# SYNTAX TEST "source.powerpipe" "numbers, constants, strings and templates"

variable "v" {
  default   = 1.5e3
#             ^^^^^ constant.numeric.powerpipe
  sensitive = false
#             ^^^^^ constant.language.boolean.powerpipe
  nullable  = true
#             ^^^^ constant.language.boolean.powerpipe
  type      = null
#             ^^^^ constant.language.null.powerpipe
  neg       = -42
#             ^ keyword.operator.powerpipe
#              ^^ constant.numeric.powerpipe
}

locals {
  escapes = "a \"quoted\" tab\t back\\ \u00e9 \U0001F600 bad\q"
#           ^ string.quoted.double.powerpipe punctuation.definition.string.begin.powerpipe
#              ^^ constant.character.escape.powerpipe
#                            ^^ constant.character.escape.powerpipe
#                                   ^^ constant.character.escape.powerpipe
#                                      ^^^^^^ constant.character.escape.powerpipe
#                                             ^^^^^^^^^^ constant.character.escape.powerpipe
#                                                           ^^ invalid.illegal.escape.powerpipe
#                                                             ^ punctuation.definition.string.end.powerpipe
  interp = "Hello ${var.name}!"
#                 ^^ string.quoted.double.powerpipe meta.interpolation.powerpipe punctuation.section.interpolation.begin.powerpipe
#                   ^^^ meta.interpolation.powerpipe variable.language.powerpipe
#                           ^ punctuation.section.interpolation.end.powerpipe
#                            ^ string.quoted.double.powerpipe - meta.interpolation.powerpipe
  strip  = "${~ upper("}") ~}"
#             ^ keyword.operator.template.strip.powerpipe
#                     ^^^ meta.interpolation.powerpipe string.quoted.double.powerpipe
#                          ^ keyword.operator.template.strip.powerpipe
#                           ^ punctuation.section.interpolation.end.powerpipe
  dir    = "%{ if var.on }on%{ else }off%{ endif }"
#           ^^ meta.interpolation.directive.powerpipe punctuation.section.directive.begin.powerpipe
#              ^^ keyword.control.directive.powerpipe
#                 ^^^ variable.language.powerpipe
#                         ^^^^ string.quoted.double.powerpipe
#                              ^^^^ keyword.control.directive.powerpipe
#                                          ^^^^^ keyword.control.directive.powerpipe
  forin  = "%{~ for k, v in var.m ~}${k}%{~ endfor ~}"
#               ^^^ keyword.control.directive.powerpipe
#                        ^^ keyword.control.directive.powerpipe
#                                           ^^^^^^ keyword.control.directive.powerpipe
  literal = "$${not_interpolated} %%{ not_a_directive }"
#            ^^^ constant.character.escape.template.powerpipe
#               ^^^^^^^^^^^^^^^^^^^^ string.quoted.double.powerpipe - meta.interpolation.powerpipe
#                                 ^^^ constant.character.escape.template.powerpipe
}
