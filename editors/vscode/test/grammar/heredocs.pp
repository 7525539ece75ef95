# SYNTAX TEST "source.powerpipe" "heredocs: SQL embedded with templates, text heredocs, end markers"

query "interpolated" {
  sql = <<-EOQ
# ^^^ entity.other.attribute-name.powerpipe
#       ^^^ keyword.operator.heredoc.powerpipe
#          ^^^ keyword.control.heredoc.powerpipe
    select
#   ^^^^^^ meta.heredoc.sql.powerpipe meta.embedded.block.sql keyword.other.DML.sql
      name as resource,
#     ^^^^ meta.embedded.block.sql - string.unquoted.heredoc.powerpipe
      '${local.prefix}' || name as reason
#     ^ meta.embedded.block.sql string.quoted.single.sql
#      ^^ meta.embedded.block.sql string.quoted.single.sql meta.interpolation.powerpipe punctuation.section.interpolation.begin.powerpipe
#        ^^^^^ meta.embedded.block.sql meta.interpolation.powerpipe variable.language.powerpipe
#              ^^^^^^ meta.interpolation.powerpipe variable.other.member.powerpipe
#                    ^ meta.interpolation.powerpipe punctuation.section.interpolation.end.powerpipe
      ${local.common_dimensions_sql}
#     ^^ meta.embedded.block.sql meta.interpolation.powerpipe punctuation.section.interpolation.begin.powerpipe
#             ^^^^^^^^^^^^^^^^^^^^^ variable.other.member.powerpipe
    from
      ${local.bucket_table} -- a ${local.x} in a SQL comment is still a template
#                           ^^ comment.line.double-dash.sql
#                                  ^^^^^ comment.line.double-dash.sql meta.interpolation.powerpipe variable.language.powerpipe
    where region in (
    %{~ for i, r in var.regions ~}
#   ^^ meta.embedded.block.sql meta.interpolation.directive.powerpipe punctuation.section.directive.begin.powerpipe
#       ^^^ keyword.control.directive.powerpipe
#                   ^^^ variable.language.powerpipe
      %{ if i > 0 }, %{ endif }'${r}'
#        ^^ keyword.control.directive.powerpipe
#                       ^^^^^ keyword.control.directive.powerpipe
    %{~ endfor ~}
#       ^^^^^^ keyword.control.directive.powerpipe
    ) and '$${escaped}' = '%%{ escaped }'
#          ^^^ string.quoted.single.sql constant.character.escape.template.powerpipe
#                          ^^^ string.quoted.single.sql constant.character.escape.template.powerpipe
  EOQ
# ^^^ meta.heredoc.sql.powerpipe keyword.control.heredoc.powerpipe - meta.embedded.block.sql
  title = "after"
# ^^^^^ meta.block.powerpipe entity.other.attribute-name.powerpipe - meta.heredoc.sql.powerpipe
}

query "no_dash_marker" {
  sql = <<EOQ
#       ^^ keyword.operator.heredoc.powerpipe
select 1
# <------ meta.embedded.block.sql keyword.other.DML.sql
EOQ
# <--- keyword.control.heredoc.powerpipe
  title = "after"
# ^^^^^ entity.other.attribute-name.powerpipe - meta.heredoc.sql.powerpipe
}

query "other_marker_on_sql" {
  sql = <<-SELECT_IT
    select 'an odd quote
#   ^^^^^^ meta.embedded.block.sql keyword.other.DML.sql
  SELECT_IT
# ^^^^^^^^^ keyword.control.heredoc.powerpipe
  title = "after"
# ^^^^^ entity.other.attribute-name.powerpipe
}

query "odd_quote_guarded" {
  sql = <<-EOQ
    select 'it''s ok', 'unclosed
  EOQ
# ^^^ keyword.control.heredoc.powerpipe - string.quoted.single.sql
  title = "after the guard"
# ^^^^^ meta.block.powerpipe entity.other.attribute-name.powerpipe - meta.heredoc.sql.powerpipe
}

locals {
  common_dimensions_sql = <<-EOT
    , region
#     ^^^^^^ meta.embedded.block.sql
  EOT
  any_eoq = format("%s", <<-EOQ
    select 2
#   ^^^^^^ meta.embedded.block.sql keyword.other.DML.sql
  EOQ
  )
}

mod "m" {
  description = <<-EOT
# ^^^^^^^^^^^ entity.other.attribute-name.powerpipe
#                  ^^^ keyword.control.heredoc.powerpipe
    Text with ${var.who}, a "quote", # not a comment, select not SQL, and EOT inside a line.
#   ^^^^ string.unquoted.heredoc.powerpipe - meta.embedded.block.sql
#             ^^ string.unquoted.heredoc.powerpipe meta.interpolation.powerpipe
#               ^^^ variable.language.powerpipe
#                                    ^ string.unquoted.heredoc.powerpipe - comment
#                                                     ^^^^^^ string.unquoted.heredoc.powerpipe - keyword
    EOT
#   ^^^ keyword.control.heredoc.powerpipe - string.unquoted.heredoc.powerpipe
  title = "after"
# ^^^^^ entity.other.attribute-name.powerpipe
}
