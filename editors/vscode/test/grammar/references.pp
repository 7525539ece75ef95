# SYNTAX TEST "source.powerpipe" "references and function calls"

control "refs" {
  query = dep.aws_compliance.query.x
#         ^^^ variable.language.powerpipe
#            ^ punctuation.accessor.powerpipe
#             ^^^^^^^^^^^^^^ variable.other.member.powerpipe
#                            ^^^^^ variable.other.member.powerpipe
#                                  ^ variable.other.member.powerpipe
  args = {
    region = var.region
#            ^^^ variable.language.powerpipe
#                ^^^^^^ variable.other.member.powerpipe
    tags   = local.common_tags
#            ^^^^^ variable.language.powerpipe
#                  ^^^^^^^^^^^ variable.other.member.powerpipe
    arn    = self.input.bucket_arn.value
#            ^^^^ variable.language.powerpipe
#                 ^^^^^ variable.other.member.powerpipe
#                       ^^^^^^^^^^ variable.other.member.powerpipe
    id     = param.id
#            ^^^^^ variable.language.powerpipe
#                  ^^ variable.other.member.powerpipe
    dashed = query.single-line
#            ^^^^^ support.type.resource.powerpipe
#                  ^^^^^^^^^^^ variable.other.member.powerpipe
  }
  children = [
    control.a,
#   ^^^^^^^ meta.brackets.powerpipe support.type.resource.powerpipe
#            ^ punctuation.separator.powerpipe
    benchmark.b
#   ^^^^^^^^^ support.type.resource.powerpipe
  ]
  title = upper(replace(var.name, "-", "_"))
#         ^^^^^ support.function.powerpipe
#               ^^^^^^^ meta.function-call.powerpipe meta.function-call.powerpipe support.function.powerpipe
#                       ^^^ variable.language.powerpipe
  width = length(var.xs) > 2 ? 6 : 12
#                        ^ keyword.operator.powerpipe
#                            ^ keyword.operator.powerpipe
#                                ^ keyword.operator.powerpipe
  list = [for x in var.xs : upper(x) if x != ""]
#         ^^^ keyword.control.powerpipe
#               ^^ keyword.control.powerpipe
#                                    ^^ keyword.control.powerpipe
#                                         ^^ keyword.operator.powerpipe
}
