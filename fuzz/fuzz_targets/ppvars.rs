//! The variables-file reader: the input is `powerpipe.ppvars` of a mod declaring variables
//! of every kind of type, and also a `--var-file`. Values are computed and every variable
//! and resource that uses them is resolved. Never panics or hangs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modlens::resolve::{ValueInputs, VarFile};

const VARIABLES: &[u8] = br#"
variable "s" {
  type    = string
  default = "x"
}
variable "n" {
  type = number
}
variable "b" {
  type    = bool
  default = false
}
variable "l" {
  type    = list(string)
  default = []
}
variable "m" {
  type    = map(number)
  default = {}
}
variable "o" {
  type = object({ a = string, b = optional(list(number)) })
}
variable "any" {
  default = null
}
variable "untyped" {}
locals {
  all = [var.s, var.n, var.b, var.l, var.m, var.o, var.any, var.untyped]
}
query "q" {
  sql   = "select ${var.s}"
  title = "${var.s} ${var.n}"
  tags  = merge(var.m, { s = var.s })
}
"#;

fuzz_target!(|data: &[u8]| {
    let inputs = ValueInputs {
        env: Vec::new(),
        var_files: vec![VarFile {
            name: "fuzz.ppvars".into(),
            text: String::from_utf8_lossy(data).into_owned(),
        }],
        vars: Vec::new(),
    };
    let ws = modlens_fuzz::workspace(
        &[("variables.pp", VARIABLES), ("powerpipe.ppvars", data)],
        &inputs,
    );
    ws.model.values.force(&ws.model.index);
    let _ = ws.model.diagnostics();
    for name in ws.model.values.var_names(modlens_fuzz::ROOT) {
        let _ = ws
            .model
            .values
            .var(&ws.model.index, modlens_fuzz::ROOT, name);
    }
    let _ = modlens_fuzz::resolve_all(&ws, &ws.resolver, 32);
});
