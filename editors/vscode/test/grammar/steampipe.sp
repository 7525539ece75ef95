# SYNTAX TEST "source.steampipe" "the Steampipe grammar is the Powerpipe one under its own scope"

benchmark "cis_v150" {
# <--------- source.steampipe entity.name.type.block.steampipe
#          ^^^^^^^^ entity.name.label.steampipe
  children = [control.cis_v150_1_1]
# ^^^^^^^^ entity.other.attribute-name.steampipe
#             ^^^^^^^ support.type.resource.steampipe
}

query "q" {
  sql = <<-EOQ
    select '${var.x}'
#   ^^^^^^ meta.embedded.block.sql keyword.other.DML.sql
#             ^^^ meta.embedded.block.sql meta.interpolation.steampipe variable.language.steampipe
  EOQ
# ^^^ keyword.control.heredoc.steampipe
}
