# SYNTAX TEST "source.powerpipe" "comments, and commented-out blocks holding heredocs"

# a hash comment with { and "
# <- comment.line.number-sign.powerpipe punctuation.definition.comment.powerpipe
// a slash comment
# <-- comment.line.double-slash.powerpipe
/* a block comment
   control "inside_comment" {
#  ^^^^^^^ comment.block.powerpipe
*/
# <-- comment.block.powerpipe

# control "hash_commented" {
#   sql = <<-EOQ
#     select 1
# }
// query "slash_commented" {
//   sql = <<-EOQ
//     select 1
/*
control "block_commented" {
  sql   = <<-EOQ
#            ^^^ comment.block.powerpipe - keyword.control.heredoc.powerpipe
    select '}' as close
  EOQ
}
*/

query "active" {
# <----- entity.name.type.block.powerpipe - comment
#      ^^^^^^ entity.name.label.powerpipe
  title = /* inline */ "Active"
#         ^^^^^^^^^^^^ meta.block.powerpipe comment.block.powerpipe
#                      ^^^^^^^^ string.quoted.double.powerpipe
  sql   = "select 2" // trailing }
#                    ^^^^^^^^^^^^^ comment.line.double-slash.powerpipe
  # trailing {
# ^^^^^^^^^^^^ comment.line.number-sign.powerpipe
}
# <- source.powerpipe meta.block.powerpipe punctuation.section.block.end.powerpipe

control "hash_in_strings" {
  title = "Issue #42 // not /* a comment"
#                ^^^^^^^^^^^^^^^^^^^^^^^ string.quoted.double.powerpipe - comment
}
# <- punctuation.section.block.end.powerpipe
