//! Variable type constraints (`string`, `list(string)`, `object({ a = optional(number, 1) })`,
//! ...) and the conversions Powerpipe applies to a value given for a typed variable, which
//! follow cty's rules: primitives convert between string, number and bool when the text
//! allows it; tuples become lists or sets; objects become maps or objects, optional
//! attributes take their defaults and extra attributes are dropped.

use std::sync::Arc;

use super::value::{Text, Val};

/// A type constraint.
#[derive(Clone, Debug, PartialEq)]
pub enum Type {
    /// `any`: no constraint.
    Any,
    /// `string`
    String,
    /// `number`
    Number,
    /// `bool`
    Bool,
    /// `list(T)`
    List(Box<Type>),
    /// `set(T)`
    Set(Box<Type>),
    /// `map(T)`
    Map(Box<Type>),
    /// `tuple([T, ...])`
    Tuple(Vec<Type>),
    /// `object({ name = T, ... })`
    Object(Vec<ObjectAttr>),
    /// `connection.steampipe`, `connection.postgres`, ...: a database connection defined in
    /// Powerpipe's configuration (its value is shown by name).
    Connection(String),
}

/// One attribute of an object type.
#[derive(Clone, Debug, PartialEq)]
pub struct ObjectAttr {
    /// Its name.
    pub name: String,
    /// Its type.
    pub ty: Type,
    /// True for `optional(T)` / `optional(T, default)`.
    pub optional: bool,
    /// The default of `optional(T, default)`.
    pub default: Option<Val>,
}

impl Type {
    /// Parses a type expression; the error says what is wrong.
    pub fn parse(expr: &hcl::Expression) -> Result<Type, String> {
        use hcl::Expression as E;
        match expr {
            E::Variable(v) => match v.as_str() {
                "any" => Ok(Type::Any),
                "string" => Ok(Type::String),
                "number" => Ok(Type::Number),
                "bool" => Ok(Type::Bool),
                other => Err(format!("unknown type `{other}`")),
            },
            E::FuncCall(call) => {
                let name = call.name.to_string();
                let one = |args: &[E]| -> Result<Box<Type>, String> {
                    match args {
                        [a] => Ok(Box::new(Type::parse(a)?)),
                        _ => Err(format!("`{name}(...)` takes one element type")),
                    }
                };
                match name.as_str() {
                    "list" => Ok(Type::List(one(&call.args)?)),
                    "set" => Ok(Type::Set(one(&call.args)?)),
                    "map" => Ok(Type::Map(one(&call.args)?)),
                    "tuple" => match call.args.as_slice() {
                        [E::Array(items)] => Ok(Type::Tuple(
                            items.iter().map(Type::parse).collect::<Result<_, _>>()?,
                        )),
                        _ => Err("`tuple(...)` takes a list of types".to_string()),
                    },
                    "object" => match call.args.as_slice() {
                        [E::Object(obj)] => {
                            let mut attrs = Vec::new();
                            for (key, value) in obj {
                                let name = object_key_name(key)
                                    .ok_or("object type attribute names must be identifiers")?;
                                attrs.push(object_attr(name, value)?);
                            }
                            attrs.sort_by(|a, b| a.name.cmp(&b.name));
                            Ok(Type::Object(attrs))
                        }
                        _ => Err("`object(...)` takes an object of attribute types".to_string()),
                    },
                    "optional" => Err(
                        "`optional(...)` is only allowed on an object type's attributes"
                            .to_string(),
                    ),
                    other => Err(format!("unknown type constructor `{other}`")),
                }
            }
            E::Parenthesis(inner) => Type::parse(inner),
            E::Traversal(t) => match (&t.expr, t.operators.as_slice()) {
                (E::Variable(root), [hcl::TraversalOperator::GetAttr(kind)])
                    if root.as_str() == "connection" =>
                {
                    Ok(Type::Connection(kind.to_string()))
                }
                _ => Err(format!("`{expr}` is not a type")),
            },
            _ => Err(format!("`{expr}` is not a type")),
        }
    }

    /// The type as written.
    pub fn describe(&self) -> String {
        match self {
            Type::Any => "any".into(),
            Type::String => "string".into(),
            Type::Number => "number".into(),
            Type::Bool => "bool".into(),
            Type::Connection(k) => format!("connection.{k}"),
            Type::List(t) => format!("list({})", t.describe()),
            Type::Set(t) => format!("set({})", t.describe()),
            Type::Map(t) => format!("map({})", t.describe()),
            Type::Tuple(ts) => format!(
                "tuple([{}])",
                ts.iter().map(Type::describe).collect::<Vec<_>>().join(", ")
            ),
            Type::Object(attrs) => format!(
                "object({{{}}})",
                attrs
                    .iter()
                    .map(|a| if a.optional {
                        format!("{} = optional({})", a.name, a.ty.describe())
                    } else {
                        format!("{} = {}", a.name, a.ty.describe())
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    /// True for `string`, which takes `--var` and environment values as raw text.
    pub fn is_string(&self) -> bool {
        matches!(self, Type::String)
    }

    /// True for the types whose values come from text literally (string, number, bool and
    /// connections, given as connection strings).
    pub fn takes_literal_text(&self) -> bool {
        matches!(
            self,
            Type::String | Type::Number | Type::Bool | Type::Connection(_)
        )
    }

    /// Converts `v` to this type, or says why it cannot be (`at` names the place inside the
    /// value, for nested errors).
    pub fn convert(&self, v: &Val) -> Result<Val, String> {
        self.convert_at(v, "")
    }

    fn convert_at(&self, v: &Val, at: &str) -> Result<Val, String> {
        let here = |msg: String| {
            if at.is_empty() {
                msg
            } else {
                format!("{at}: {msg}")
            }
        };
        if matches!(v, Val::Null | Val::Unknown(_)) || matches!(self, Type::Any) {
            return Ok(v.clone());
        }
        match self {
            Type::Any => Ok(v.clone()),
            Type::Connection(kind) => match v {
                Val::Str(_) | Val::Object(_) => Ok(v.clone()),
                _ => Err(here(format!(
                    "a connection.{kind} (or a connection string) is required, found a {}",
                    v.type_name()
                ))),
            },
            Type::String => match v {
                Val::Str(_) => Ok(v.clone()),
                Val::Number(n) => Ok(Val::Str(Arc::from(n.to_string()))),
                Val::Bool(b) => Ok(Val::Str(Arc::from(b.to_string()))),
                _ => Err(here(format!(
                    "a string is required, found a {}",
                    v.type_name()
                ))),
            },
            Type::Number => match v {
                Val::Number(_) => Ok(v.clone()),
                Val::Str(s) => parse_number(s.trim())
                    .map(Val::Number)
                    .ok_or_else(|| here(format!("a number is required, found the string {s:?}"))),
                _ => Err(here(format!(
                    "a number is required, found a {}",
                    v.type_name()
                ))),
            },
            Type::Bool => match v {
                Val::Bool(_) => Ok(v.clone()),
                Val::Str(s) if &**s == "true" => Ok(Val::Bool(true)),
                Val::Str(s) if &**s == "false" => Ok(Val::Bool(false)),
                _ => Err(here(format!("a bool is required, found {}", describe(v)))),
            },
            Type::List(t) | Type::Set(t) => {
                let Val::List(items) = v else {
                    return Err(here(format!(
                        "a list is required, found a {}",
                        v.type_name()
                    )));
                };
                let mut out: Vec<Val> = Vec::with_capacity(items.len());
                // A set keeps the first of equal elements; equal elements are found by a
                // hash of their value (a linear search was quadratic in the set's size).
                let mut seen: std::collections::HashMap<u64, Vec<usize>> =
                    std::collections::HashMap::new();
                for (i, item) in items.iter().enumerate() {
                    let c = t.convert_at(item, &format!("{at}[{i}]"))?;
                    if matches!(self, Type::Set(_)) {
                        let same = seen.entry(value_hash(&c)).or_default();
                        if same.iter().any(|&k| out[k] == c) {
                            continue;
                        }
                        same.push(out.len());
                    }
                    out.push(c);
                }
                Ok(Val::List(out.into()))
            }
            Type::Map(t) => {
                let Val::Object(entries) = v else {
                    return Err(here(format!(
                        "a map is required, found a {}",
                        v.type_name()
                    )));
                };
                let out: Result<Vec<(Text, Val)>, String> = entries
                    .iter()
                    .map(|(k, x)| Ok((k.clone(), t.convert_at(x, &format!("{at}[{k:?}]"))?)))
                    .collect();
                Ok(Val::Object(out?.into()))
            }
            Type::Tuple(ts) => {
                let Val::List(items) = v else {
                    return Err(here(format!(
                        "a tuple is required, found a {}",
                        v.type_name()
                    )));
                };
                if items.len() != ts.len() {
                    return Err(here(format!(
                        "a tuple of {} elements is required, found {}",
                        ts.len(),
                        items.len()
                    )));
                }
                let out: Result<Vec<Val>, String> = ts
                    .iter()
                    .zip(items.iter())
                    .enumerate()
                    .map(|(i, (t, x))| t.convert_at(x, &format!("{at}[{i}]")))
                    .collect();
                Ok(Val::List(out?.into()))
            }
            Type::Object(attrs) => {
                let Val::Object(_) = v else {
                    return Err(here(format!(
                        "an object is required, found a {}",
                        v.type_name()
                    )));
                };
                let mut out = Vec::with_capacity(attrs.len());
                for a in attrs {
                    let path = if at.is_empty() {
                        a.name.clone()
                    } else {
                        format!("{at}.{}", a.name)
                    };
                    match v.get(&a.name) {
                        Some(x) if !matches!(x, Val::Null) || !a.optional => {
                            out.push((Text::from(a.name.as_str()), a.ty.convert_at(x, &path)?));
                        }
                        _ if a.optional => {
                            let d = match &a.default {
                                Some(d) => a.ty.convert_at(d, &path)?,
                                None => Val::Null,
                            };
                            out.push((Text::from(a.name.as_str()), d));
                        }
                        _ => return Err(format!("attribute `{path}` is required")),
                    }
                }
                Ok(Val::object(out))
            }
        }
    }
}

/// A hash that equal values share (numbers by their `f64` value: `1` equals `1.0`).
fn value_hash(v: &Val) -> u64 {
    use std::hash::{Hash, Hasher};
    fn walk(v: &Val, h: &mut impl Hasher) {
        std::mem::discriminant(v).hash(h);
        match v {
            Val::Null => {}
            Val::Bool(b) => b.hash(h),
            Val::Number(n) => {
                let f = n.as_f64().unwrap_or(0.0);
                (if f == 0.0 { 0.0f64 } else { f }).to_bits().hash(h)
            }
            Val::Str(s) | Val::Unknown(s) => s.hash(h),
            Val::List(l) => {
                l.len().hash(h);
                l.iter().for_each(|x| walk(x, h));
            }
            Val::Object(o) => {
                o.len().hash(h);
                o.iter().for_each(|(k, x)| {
                    k.hash(h);
                    walk(x, h)
                });
            }
        }
    }
    let mut h = std::collections::hash_map::DefaultHasher::new();
    walk(v, &mut h);
    h.finish()
}

fn describe(v: &Val) -> String {
    match v {
        Val::Str(s) => format!("the string {s:?}"),
        other => format!("a {}", other.type_name()),
    }
}

fn object_key_name(key: &hcl::ObjectKey) -> Option<String> {
    match key {
        hcl::ObjectKey::Identifier(i) => Some(i.to_string()),
        hcl::ObjectKey::Expression(hcl::Expression::Variable(v)) => Some(v.to_string()),
        hcl::ObjectKey::Expression(hcl::Expression::String(s)) => Some(s.clone()),
        _ => None,
    }
}

fn object_attr(name: String, value: &hcl::Expression) -> Result<ObjectAttr, String> {
    if let hcl::Expression::FuncCall(call) = value
        && call.name.to_string() == "optional"
    {
        let (ty, default) = match call.args.as_slice() {
            [t] => (Type::parse(t)?, None),
            [t, d] => (Type::parse(t)?, Some(constant(d)?)),
            _ => return Err("`optional(...)` takes a type and an optional default".to_string()),
        };
        return Ok(ObjectAttr {
            name,
            ty,
            optional: true,
            default,
        });
    }
    Ok(ObjectAttr {
        name,
        ty: Type::parse(value)?,
        optional: false,
        default: None,
    })
}

/// Evaluates an expression that may not refer to anything (a default).
fn constant(expr: &hcl::Expression) -> Result<Val, String> {
    use hcl::eval::Evaluate;
    let ctx = hcl::eval::Context::new();
    expr.evaluate(&ctx)
        .map(|v| super::value::Interner::new(64).from_hcl(&v))
        .map_err(|e| e.to_string())
}

/// Parses a number as cty does from a string: decimal, optionally signed, with a fraction
/// and an exponent.
pub fn parse_number(s: &str) -> Option<hcl::Number> {
    if s.is_empty() || s.starts_with('+') {
        return None;
    }
    if let Ok(i) = s.parse::<i64>() {
        return Some(hcl::Number::from(i));
    }
    let f: f64 = s.parse().ok()?;
    if !f.is_finite() || s.contains(['i', 'I', 'n', 'N']) {
        return None;
    }
    hcl::Number::from_f64(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ty(src: &str) -> Type {
        let body: hcl::Body = hcl::parse(&format!("t = {src}\n")).unwrap_or_default();
        let expr = body
            .attributes()
            .next()
            .map(|a| a.expr.clone())
            .unwrap_or(hcl::Expression::Null);
        Type::parse(&expr).unwrap_or(Type::Any)
    }

    fn val(src: &str) -> Val {
        let v: hcl::Value = hcl::from_str(&format!("v = {src}\n")).unwrap_or(hcl::Value::Null);
        let i = crate::resolve::value::Interner::default();
        i.from_hcl(&v).get("v").cloned().unwrap_or(Val::Null)
    }

    #[test]
    fn primitives_convert_like_cty() {
        assert_eq!(ty("number").convert(&val("\"5\"")), Ok(val("5")));
        assert_eq!(ty("string").convert(&val("5")), Ok(val("\"5\"")));
        assert_eq!(ty("string").convert(&val("true")), Ok(val("\"true\"")));
        assert_eq!(ty("bool").convert(&val("\"false\"")), Ok(val("false")));
        assert!(ty("number").convert(&val("\"five\"")).is_err());
        assert!(ty("bool").convert(&val("1")).is_err());
        assert!(ty("string").convert(&val("[1]")).is_err());
    }

    #[test]
    fn collections_and_objects() {
        assert_eq!(
            ty("list(string)").convert(&val("[1, \"a\"]")),
            Ok(val("[\"1\", \"a\"]"))
        );
        assert_eq!(
            ty("set(number)").convert(&val("[1, 1, 2]")),
            Ok(val("[1, 2]"))
        );
        assert_eq!(
            ty("set(number)").convert(&val("[1, 1.0, \"1\", 2]")),
            Ok(val("[1, 2]"))
        );
        // 100,000 elements: a linear search for each made 5 x 10^9 comparisons.
        let many: Vec<Val> = (0..100_000)
            .map(|i| Val::str(&format!("x{}", i % 50_000)))
            .collect();
        let set = ty("set(string)").convert(&Val::List(many.into()));
        assert_eq!(
            set.ok().and_then(|s| s.as_list().map(|l| l.len())),
            Some(50_000)
        );
        assert_eq!(
            ty("map(number)").convert(&val("{ a = \"1\" }")),
            Ok(val("{ a = 1 }"))
        );
        let t = ty(
            "object({ name = string, owner = optional(string, \"platform\"), n = optional(number) })",
        );
        assert_eq!(
            t.convert(&val("{ name = \"x\", extra = 1 }")),
            Ok(val("{ name = \"x\", owner = \"platform\", n = null }"))
        );
        let err = t
            .convert(&val("{ owner = \"y\" }"))
            .err()
            .unwrap_or_default();
        assert!(err.contains("`name` is required"), "{err}");
        let err = ty("list(number)")
            .convert(&val("[1, \"x\"]"))
            .err()
            .unwrap_or_default();
        assert!(err.starts_with("[1]: a number is required"), "{err}");
        assert!(
            ty("tuple([string, number])")
                .convert(&val("[\"a\"]"))
                .is_err()
        );
        assert_eq!(
            ty("map(object({ id = string }))").describe(),
            "map(object({id = string}))"
        );
    }

    #[test]
    fn connection_types_take_connections_and_connection_strings() {
        let t = ty("connection.steampipe");
        assert_eq!(t, Type::Connection("steampipe".into()));
        assert_eq!(t.describe(), "connection.steampipe");
        assert_eq!(
            t.convert(&val("\"postgres://x\"")),
            Ok(val("\"postgres://x\""))
        );
        assert!(t.convert(&val("1")).is_err());
        assert!(t.takes_literal_text());
    }

    #[test]
    fn bad_types_are_errors() {
        let body: hcl::Body = hcl::parse("t = strin\n").unwrap_or_default();
        let e = body
            .attributes()
            .next()
            .map(|a| a.expr.clone())
            .unwrap_or(hcl::Expression::Null);
        assert_eq!(Type::parse(&e), Err("unknown type `strin`".to_string()));
    }
}
