# SYNTAX TEST "source.powerpipe" "blocks, labels and attributes"

control "s3_bucket_versioning" {
# <------- entity.name.type.block.powerpipe
#       ^ punctuation.definition.string.begin.powerpipe
#        ^^^^^^^^^^^^^^^^^^^^ entity.name.label.powerpipe
#                              ^ punctuation.section.block.begin.powerpipe
  title       = "S3 bucket versioning"
# ^^^^^ entity.other.attribute-name.powerpipe
#             ^ keyword.operator.assignment.powerpipe
#               ^^^^^^^^^^^^^^^^^^^^^^ string.quoted.double.powerpipe
  query       = query.s3_bucket_versioning
# ^^^^^ entity.other.attribute-name.powerpipe
#               ^^^^^ support.type.resource.powerpipe
#                     ^^^^^^^^^^^^^^^^^^^^ variable.other.member.powerpipe
  tags = merge(local.common_tags, {
# ^^^^ entity.other.attribute-name.powerpipe
#        ^^^^^ support.function.powerpipe
    service = "AWS/S3"
#   ^^^^^^^ meta.braces.powerpipe entity.other.attribute-name.powerpipe
  })

  param "max-age" {
# ^^^^^ meta.block.powerpipe meta.block.powerpipe entity.name.type.block.powerpipe
#        ^^^^^^^ entity.name.label.powerpipe
    default = 90
#   ^^^^^^^ entity.other.attribute-name.powerpipe
#             ^^ constant.numeric.powerpipe
  }
}
# <- meta.block.powerpipe punctuation.section.block.end.powerpipe

locals {
# <------ entity.name.type.block.powerpipe
#      ^ punctuation.section.block.begin.powerpipe
  name-with-dashes = "ok"
# ^^^^^^^^^^^^^^^^ entity.other.attribute-name.powerpipe
}

trigger "schedule" "hourly-check" {
# <------- entity.name.type.block.powerpipe
#        ^^^^^^^^ entity.name.label.powerpipe
#                   ^^^^^^^^^^^^ entity.name.label.powerpipe
  schedule = "hourly"
}

integration slack ops { }
# <----------- entity.name.type.block.powerpipe
#           ^^^^^ entity.name.label.powerpipe
#                 ^^^ entity.name.label.powerpipe

query "one_line" { sql = "select 1" }
# <----- entity.name.type.block.powerpipe
#                  ^^^ entity.other.attribute-name.powerpipe
#                        ^^^^^^^^^^ string.quoted.double.powerpipe
#                                   ^ punctuation.section.block.end.powerpipe

dashboard "nested" {
  container {
# ^^^^^^^^^ entity.name.type.block.powerpipe
    card { width = 2 }
#   ^^^^ entity.name.type.block.powerpipe
#          ^^^^^ entity.other.attribute-name.powerpipe
#                  ^ constant.numeric.powerpipe
  }
}
# <- source.powerpipe meta.block.powerpipe punctuation.section.block.end.powerpipe
