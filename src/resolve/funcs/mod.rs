//! The functions mod files may call outside SQL, registered as hcl-rs functions: every
//! function Powerpipe registers (pipe-fittings' `funcs/context_functions.go`: go-cty's
//! standard library, Terraform's `lang/funcs`, HCL's `try`/`can`, go-cty-yaml and
//! pipe-fittings' own `env`, `is_error`, `error_message`), with Terraform's documented
//! behaviour. A function hcl-rs does not find is reported by the caller as an unknown
//! function, with the nearest registered name ([`suggest`]).
//!
//! One file per family: [`strings`], [`format`], [`numbers`], [`collections`], [`conversion`],
//! [`encoding`], [`hashes`], [`files`], [`net`], [`time`], [`pipes`] (pipe-fittings' own)
//! and [`lazy`] (`try` and `can`, which see their arguments' errors).
//!
//! Values known only when Powerpipe runs (`timestamp()`, `uuid()`, `bcrypt(...)`, ...) are
//! not errors: such a function fails with a [`runtime`] message, which the evaluator turns
//! into an unknown value ([`is_runtime`]).
//!
//! File functions read relative to the mod root through a [`ModFiles`] installed for the
//! duration of one evaluation ([`with_file_reader`]): hcl-rs functions are plain `fn`s, so
//! the reader travels in a thread-local, never in a global.
//!
//! No call can exhaust memory or time: every result is held to the [`limits`] (values,
//! bytes of text, nesting, the cost of a regular expression), checked before anything
//! larger is built, and a limit passed is an error naming it, shown at the call.

pub mod collections;
pub mod conversion;
pub mod encoding;
pub mod files;
pub mod format;
pub mod hashes;
pub mod lazy;
pub mod limits;
pub mod net;
pub mod numbers;
pub mod pipes;
pub mod strings;
pub mod time;

use hcl::Value;
use hcl::eval::{Context, FuncDef, ParamType};

pub use files::{FileReader, ModFiles, with_file_reader};

/// The names of every function registered by [`declare_all`], sorted.
pub const NAMES: &[&str] = &[
    "abs",
    "abspath",
    "alltrue",
    "anytrue",
    "base64decode",
    "base64encode",
    "base64gzip",
    "base64sha256",
    "base64sha512",
    "basename",
    "bcrypt",
    "can",
    "ceil",
    "chomp",
    "chunklist",
    "cidrhost",
    "cidrnetmask",
    "cidrsubnet",
    "cidrsubnets",
    "coalesce",
    "coalescelist",
    "compact",
    "concat",
    "contains",
    "csvdecode",
    "dirname",
    "distinct",
    "element",
    "endswith",
    "env",
    "error_message",
    "file",
    "filebase64",
    "filebase64sha256",
    "filebase64sha512",
    "fileexists",
    "filemd5",
    "fileset",
    "filesha1",
    "filesha256",
    "filesha512",
    "flatten",
    "floor",
    "format",
    "formatdate",
    "formatlist",
    "indent",
    "index",
    "is_error",
    "join",
    "jsondecode",
    "jsonencode",
    "keys",
    "length",
    "list",
    "log",
    "lookup",
    "lower",
    "map",
    "matchkeys",
    "max",
    "md5",
    "merge",
    "min",
    "nonsensitive",
    "one",
    "parseint",
    "pathexpand",
    "pow",
    "range",
    "regex",
    "regexall",
    "replace",
    "reverse",
    "rsadecrypt",
    "sensitive",
    "setintersection",
    "setproduct",
    "setsubtract",
    "setunion",
    "sha1",
    "sha256",
    "sha512",
    "signum",
    "slice",
    "sort",
    "split",
    "startswith",
    "strcontains",
    "strrev",
    "substr",
    "sum",
    "textdecodebase64",
    "textencodebase64",
    "timeadd",
    "timecmp",
    "timestamp",
    "title",
    "tobool",
    "tolist",
    "tomap",
    "tonumber",
    "toset",
    "tostring",
    "transpose",
    "trim",
    "trimprefix",
    "trimspace",
    "trimsuffix",
    "try",
    "upper",
    "urlencode",
    "uuid",
    "uuidv5",
    "values",
    "yamldecode",
    "yamlencode",
    "zipmap",
];

/// Declares every function in `ctx`.
pub fn declare_all(ctx: &mut Context<'_>) {
    for name in NAMES {
        if let Some(f) = def(name) {
            ctx.declare_func(*name, f);
        }
    }
}

/// Declares the functions that `text` calls (an identifier followed by `(`): declaring all
/// of them for every evaluation would cost more than most evaluations.
pub fn declare_used(ctx: &mut Context<'_>, text: &str) {
    let mut seen: Vec<&str> = Vec::new();
    for name in called(text) {
        if !seen.contains(&name) && NAMES.binary_search(&name).is_ok() {
            seen.push(name);
            if let Some(f) = def(name) {
                ctx.declare_func(name, f);
            }
        }
    }
}

/// The identifiers of `text` that are followed by `(`: the functions it calls.
pub fn called(text: &str) -> impl Iterator<Item = &str> {
    let b = text.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < b.len() {
            if b[i].is_ascii_alphabetic()
                && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_'))
            {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                    i += 1;
                }
                let mut j = i;
                while j < b.len() && (b[j] == b' ' || b[j] == b'\t') {
                    j += 1;
                }
                if b.get(j) == Some(&b'(') {
                    return text.get(start..i);
                }
            } else {
                i += 1;
            }
        }
        None
    })
}

/// The registered function nearest to an unknown name (`lowr` → `lower`), if one is close.
pub fn suggest(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    NAMES
        .iter()
        .map(|n| (strsim::damerau_levenshtein(&lower, n), *n))
        .filter(|(d, n)| *d <= (n.len() / 3).max(1))
        .min()
        .map(|(_, n)| n)
}

/// The definition of one function of [`NAMES`].
fn def(name: &str) -> Option<FuncDef> {
    strings::def(name)
        .or_else(|| format::def(name))
        .or_else(|| numbers::def(name))
        .or_else(|| collections::def(name))
        .or_else(|| conversion::def(name))
        .or_else(|| encoding::def(name))
        .or_else(|| hashes::def(name))
        .or_else(|| files::def(name))
        .or_else(|| net::def(name))
        .or_else(|| time::def(name))
        .or_else(|| pipes::def(name))
        .or_else(|| lazy::def(name))
}

// ----- what every family shares ------------------------------------------------------------

/// A function's result: the message of an error is shown to the user.
pub(crate) type R = Result<Value, String>;

/// A parameter converted to a string as cty converts primitives: strings, numbers, bools.
pub(crate) fn str_param() -> ParamType {
    ParamType::one_of([ParamType::String, ParamType::Number, ParamType::Bool])
}

/// A parameter converted to a number as cty converts: numbers, and strings that hold one.
pub(crate) fn num_param() -> ParamType {
    ParamType::one_of([ParamType::Number, ParamType::String])
}

/// A definition with fixed parameters.
pub(crate) fn fixed(params: &[ParamType], func: hcl::eval::Func) -> FuncDef {
    FuncDef::new(func, params.to_vec())
}

/// A definition with fixed parameters and a variadic one.
pub(crate) fn variadic(params: &[ParamType], rest: ParamType, func: hcl::eval::Func) -> FuncDef {
    FuncDef::builder()
        .params(params.to_vec())
        .variadic_param(rest)
        .build(func)
}

/// The marker of a value known only when Powerpipe runs (see [`runtime`]).
const RUNTIME: &str = "\u{1}known only when Powerpipe runs: ";

/// The error a function returns for a value known only when Powerpipe runs (a time, a
/// random number, the environment): the evaluator shows an unknown value, not an error.
pub(crate) fn runtime(why: &str) -> String {
    format!("{RUNTIME}{why}")
}

/// True for a [`runtime`] message.
pub fn is_runtime(message: &str) -> bool {
    message.starts_with(RUNTIME)
}

/// A primitive as text, the way cty converts it to a string (null is an error).
pub(crate) fn text(v: &Value) -> Result<String, String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(number_text(n)),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Null => Err("a string is required, not null".to_string()),
        other => Err(format!("a string is required, not {}", kind(other))),
    }
}

/// A number as cty writes it: integers without a fraction, others in their shortest form.
pub(crate) fn number_text(n: &hcl::Number) -> String {
    match n.as_f64() {
        Some(f) if f.fract() == 0.0 && f.abs() < 1e21 && !n.is_f64() => n.to_string(),
        Some(f) if f.fract() == 0.0 && f.abs() < 1e21 => format!("{}", f as i128),
        _ => n.to_string(),
    }
}

/// A number argument (a number, or a string that holds one).
pub(crate) fn num(v: &Value) -> Result<f64, String> {
    match v {
        Value::Number(n) => n.as_f64().ok_or_else(|| "not a number".to_string()),
        Value::String(s) => super::types::parse_number(s.trim())
            .and_then(|n| n.as_f64())
            .ok_or_else(|| format!("a number is required, not the string {s:?}")),
        Value::Null => Err("a number is required, not null".to_string()),
        other => Err(format!("a number is required, not {}", kind(other))),
    }
}

/// A whole-number argument.
pub(crate) fn int(v: &Value) -> Result<i64, String> {
    let f = num(v)?;
    if f.fract() != 0.0 || !f.is_finite() {
        return Err(format!("a whole number is required, not {f}"));
    }
    Ok(f as i64)
}

/// A number value: integral values as integers, others as floats (NaN and infinities, which
/// HCL cannot hold, are errors at the caller).
pub(crate) fn number(f: f64) -> Value {
    if f.fract() == 0.0 && f.abs() < 9.0e15 {
        Value::Number(hcl::Number::from(f as i64))
    } else {
        hcl::Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or(Value::Null)
    }
}

/// A list (or tuple, or set) argument.
pub(crate) fn list<'a>(v: &'a Value, what: &str) -> Result<&'a Vec<Value>, String> {
    v.as_array()
        .ok_or_else(|| format!("{what} must be a list, not {}", kind(v)))
}

/// A map (or object) argument.
pub(crate) fn map<'a>(v: &'a Value, what: &str) -> Result<&'a hcl::Map<String, Value>, String> {
    v.as_object()
        .ok_or_else(|| format!("{what} must be a map, not {}", kind(v)))
}

/// The kind of a value, for messages.
pub(crate) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a bool",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    //! Evaluating an expression with every function declared, for the families' tests.
    use super::*;

    /// Evaluates `src` (an HCL expression) with every function declared.
    pub(crate) fn eval(src: &str) -> Result<Value, String> {
        let body: hcl::Body = hcl::parse(&format!("x = {src}\n")).map_err(|e| e.to_string())?;
        let expr = body
            .attributes()
            .next()
            .map(|a| a.expr.clone())
            .ok_or("no attribute")?;
        let mut ctx = Context::new();
        declare_all(&mut ctx);
        lazy::evaluate(&expr, &ctx).map_err(|f| match f {
            lazy::Failure::Eval(e) => match e.kind() {
                hcl::eval::ErrorKind::FuncCall(_, m) => m.clone(),
                _ => e.to_string(),
            },
            lazy::Failure::Call(_, m) => m,
        })
    }

    /// The result as text: a string as-is, anything else as HCL, an error as `ERR message`.
    pub(crate) fn ok(src: &str) -> String {
        match eval(src) {
            Ok(Value::String(s)) => s,
            Ok(v) => hcl::format::to_string(&v).unwrap_or_default(),
            Err(e) => format!("ERR {e}"),
        }
    }

    /// Asserts that `a` and `b` evaluate to the same value.
    #[track_caller]
    pub(crate) fn same(a: &str, b: &str) {
        let (x, y) = (eval(a), eval(b));
        assert!(
            x == y,
            "{}: {} != {}",
            clip(a),
            clip(&format!("{x:?}")),
            clip(&format!("{y:?}"))
        );
    }

    /// Asserts that `src` fails with a message containing `part`.
    #[track_caller]
    pub(crate) fn fails(src: &str, part: &str) {
        match eval(src) {
            Err(e) => assert!(e.contains(part), "{}: {e}", clip(src)),
            Ok(v) => panic!(
                "{}: expected an error containing {part:?}, got {}",
                clip(src),
                clip(&format!("{v:?}"))
            ),
        }
    }

    /// At most 200 characters of `s`, for messages about large values.
    fn clip(s: &str) -> String {
        match s.char_indices().nth(200) {
            Some((at, _)) => format!("{}... ({} bytes)", &s[..at], s.len()),
            None => s.to_string(),
        }
    }

    /// Asserts that `src` is known only when Powerpipe runs.
    #[track_caller]
    pub(crate) fn runtime_only(src: &str) {
        match eval(src) {
            Err(e) => assert!(is_runtime(&e), "{src}: {e}"),
            Ok(v) => panic!("{src}: expected a run-time value, got {v:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;

    #[test]
    fn names_are_sorted_and_each_has_a_definition() {
        assert!(
            NAMES.windows(2).all(|w| w[0] < w[1]),
            "NAMES must stay sorted"
        );
        for name in NAMES {
            assert!(def(name).is_some(), "{name} has no definition");
        }
    }

    /// The list of pipe-fittings' `funcs/context_functions.go`: every one is registered,
    /// and nothing else.
    #[test]
    fn every_function_powerpipe_registers_is_registered() {
        let powerpipe = "abs abspath alltrue anytrue basename base64decode base64encode \
            base64gzip base64sha256 base64sha512 bcrypt can ceil chomp chunklist cidrhost \
            cidrnetmask cidrsubnet cidrsubnets coalesce coalescelist compact concat contains \
            csvdecode dirname distinct element endswith env error_message file filebase64 \
            filebase64sha256 filebase64sha512 fileexists filemd5 fileset filesha1 filesha256 \
            filesha512 flatten floor format formatdate formatlist indent index is_error join \
            jsondecode jsonencode keys length list log lookup lower map matchkeys max md5 \
            merge min nonsensitive one parseint pathexpand pow range regex regexall replace \
            reverse rsadecrypt sensitive setintersection setproduct setsubtract setunion sha1 \
            sha256 sha512 signum slice sort split startswith strcontains strrev substr sum \
            textdecodebase64 textencodebase64 timeadd timecmp timestamp title tobool tolist \
            tomap tonumber toset tostring transpose trim trimprefix trimspace trimsuffix try \
            upper urlencode uuid uuidv5 values yamldecode yamlencode zipmap";
        let mut expected: Vec<&str> = powerpipe.split_whitespace().collect();
        expected.sort_unstable();
        assert_eq!(NAMES, expected.as_slice());
    }

    #[test]
    fn used_functions_are_declared_and_only_those() {
        let body: hcl::Body = hcl::parse("x = upper(lower (\"A\")) \n").unwrap_or_default();
        let expr = body
            .attributes()
            .next()
            .map(|a| a.expr.clone())
            .unwrap_or(hcl::Expression::Null);
        let mut ctx = Context::new();
        declare_used(&mut ctx, "upper(lower (\"A\"))");
        use hcl::eval::Evaluate;
        assert_eq!(expr.evaluate(&ctx).ok(), Some(Value::from("A")));
        let mut ctx = Context::new();
        declare_used(&mut ctx, "upper(x) + lowered + lower");
        let e2: hcl::Expression = "lower(\"A\")".parse().unwrap_or(hcl::Expression::Null);
        assert!(
            e2.evaluate(&ctx).is_err(),
            "only what the text calls is declared"
        );
    }

    #[test]
    fn unknown_names_get_the_nearest_registered_one() {
        assert_eq!(suggest("lowr"), Some("lower"));
        assert_eq!(suggest("filebase46"), Some("filebase64"));
        assert_eq!(suggest("Upper"), Some("upper"));
        assert_eq!(suggest("frobnicate"), None);
        assert_eq!(suggest("x"), None);
    }

    #[test]
    fn arguments_convert_like_cty() {
        // A number or bool where a string is wanted, a numeric string where a number is.
        assert_eq!(ok("upper(12)"), "12");
        assert_eq!(ok("tostring(true)"), "true");
        assert_eq!(ok(r#"abs("-3")"#), "3");
        assert_eq!(ok("tostring(1.5)"), "1.5");
        fails("upper(null)", "");
        fails(r#"abs("x")"#, "a number is required");
    }

    /// Arguments for the no-panic sweeps, as HCL: numbers at the edges of every integer
    /// type and of floats, strings each function family finds awkward, nulls, collections,
    /// and a value known only when Powerpipe runs.
    const ARGS: &[&str] = &[
        "null",
        "true",
        "0",
        "-0",
        "1",
        "-1",
        "0.5",
        "-2.5",
        "1e-300",
        "255",
        "4294967296",
        "1e19",
        "-1e19",
        "9223372036854775807",
        "-9223372036854775808",
        "18446744073709551615",
        "1e308",
        "-1e308",
        r#""""#,
        r#""a""#,
        r#""-1""#,
        r#""1e999""#,
        r#""NaN""#,
        r#""☃🤔é""#,
        "\"a\\nb\\r\\n\"",
        r#""%""#,
        r#""%[0]d %-+# 0d %.q %[99999999999999999999]s""#,
        r#""%099999999999999999999d""#,
        r#""/(a)|(?P<n>b)/""#,
        r#""$1$${n}$$""#,
        r#""[""#,
        r#""10.0.0.0/8""#,
        r#""::/0""#,
        r#""2017-11-22T00:00:00Z""#,
        r#""9999-12-31T23:59:59+14:00""#,
        r#""YYYY 'x EEE ZZZZZ aa hh""#,
        r#""-9999999999999999999h""#,
        "\"a: &a [1]\\nb: *a\"",
        "\"a,b\\n1,2\"",
        r#""UTF-16""#,
        r#""dns""#,
        r#""**/*""#,
        "[]",
        "{}",
        r#"[1, "a", null]"#,
        "[[1], [2, 3]]",
        r#"{ a = 1, b = ["x"] }"#,
        "{ errors = [{ error = { detail = 1 } }] }",
        "timestamp()",
    ];

    /// Evaluates `name(args...)` with every function declared and a reader of one file
    /// (`a.txt`); a panic is an `Err` naming the call.
    fn call_survives(ctx: &Context<'_>, name: &str, args: &[&str]) -> Result<(), String> {
        let call = format!("{name}({})", args.join(", "));
        let expr: hcl::Expression = match call.parse() {
            Ok(e) => e,
            Err(e) => return Err(format!("{call} does not parse: {e}")),
        };
        let reader: FileReader = std::sync::Arc::new(|p: &str| match p {
            "a.txt" => Ok("hello".to_string()),
            other => Err(format!("no file {other:?}")),
        });
        let run = std::panic::AssertUnwindSafe(|| {
            with_file_reader(reader, || {
                let _ = lazy::evaluate(&expr, ctx);
            })
        });
        std::panic::catch_unwind(run).map_err(|_| format!("{call} panicked"))
    }

    /// Every function with no argument, each argument and each pair of arguments (about
    /// 300,000 calls): none panics, overflows or hangs.
    #[test]
    fn no_function_panics_on_any_pair_of_arguments() {
        let mut ctx = Context::new();
        declare_all(&mut ctx);
        let mut panicked = Vec::new();
        for name in NAMES {
            let mut calls: Vec<Vec<&str>> = vec![vec![]];
            for a in ARGS {
                calls.push(vec![a]);
                for b in ARGS {
                    calls.push(vec![a, b]);
                }
            }
            for args in calls {
                if let Err(e) = call_survives(&ctx, name, &args) {
                    panicked.push(e);
                }
            }
        }
        assert!(panicked.is_empty(), "{}", panicked.join("\n"));
    }

    /// An HCL expression for a random value: any number, any short string, lists and
    /// objects of those, or one of [`ARGS`].
    fn arb_arg() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            proptest::sample::select(ARGS).prop_map(str::to_string),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(|f| format!("{f:e}")),
            any::<i64>().prop_map(|i| i.to_string()),
            "\\PC{0,8}".prop_map(|s| {
                serde_json::to_string(&s)
                    .unwrap_or_default()
                    .replace("${", "$${")
                    .replace("%{", "%%{")
            }),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4)
                    .prop_map(|l| format!("[{}]", l.join(", "))),
                proptest::collection::btree_map("[a-z]{1,3}", inner, 0..4).prop_map(|l| {
                    // Keys quoted: a bare `for` or `if` would start a for expression, and the
                    // call would not parse (a fault of the generator, not of a function).
                    let e: Vec<String> = l.iter().map(|(k, v)| format!("\"{k}\" = {v}")).collect();
                    format!("{{ {} }}", e.join(", "))
                }),
            ]
        })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]

        /// Random functions with up to four random arguments: none panics.
        #[test]
        fn no_function_panics_on_random_arguments(
            name in proptest::sample::select(NAMES),
            args in proptest::collection::vec(arb_arg(), 0..5),
        ) {
            let mut ctx = Context::new();
            declare_all(&mut ctx);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let survived = call_survives(&ctx, name, &args);
            proptest::prop_assert!(survived.is_ok(), "{:?}", survived);
        }
    }
}
