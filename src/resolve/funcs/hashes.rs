//! Hashes and identifiers of strings: `md5`, `sha1`, `sha256`, `sha512` (hex),
//! `base64sha256`, `base64sha512`, `uuidv5`; and the ones whose result Powerpipe cannot
//! know before it runs, shown as unknown values rather than errors:
//!
//! - `uuid()` and `bcrypt(...)` are random each time Terraform's functions run (a random
//!   UUID, a random salt): no result is *the* value.
//! - `rsadecrypt(...)` decrypts with a private key: a secret that has no business in a mod's
//!   source, so modlens leaves the plain text unknown instead of decrypting it.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hcl::Value;
use hcl::eval::{FuncArgs, FuncDef};

use super::{R, fixed, int, num_param, runtime, str_param, text, variadic};

/// The definition of a function of this family.
pub(super) fn def(name: &str) -> Option<FuncDef> {
    let s = str_param;
    Some(match name {
        "base64sha256" => fixed(&[s()], |a| digest_b64::<sha2::Sha256>(&a)),
        "base64sha512" => fixed(&[s()], |a| digest_b64::<sha2::Sha512>(&a)),
        "bcrypt" => variadic(&[s()], num_param(), bcrypt),
        "md5" => fixed(&[s()], |a| digest_hex::<md5::Md5>(&a)),
        "rsadecrypt" => fixed(&[s(), s()], rsadecrypt),
        "sha1" => fixed(&[s()], |a| digest_hex::<sha1::Sha1>(&a)),
        "sha256" => fixed(&[s()], |a| digest_hex::<sha2::Sha256>(&a)),
        "sha512" => fixed(&[s()], |a| digest_hex::<sha2::Sha512>(&a)),
        "uuid" => fixed(&[], uuid),
        "uuidv5" => fixed(&[s(), s()], uuidv5),
        _ => return None,
    })
}

/// The hex digest of bytes.
pub(crate) fn hex<D: md5::Digest>(bytes: &[u8]) -> String {
    D::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The base64 digest of bytes.
pub(crate) fn b64<D: md5::Digest>(bytes: &[u8]) -> String {
    B64.encode(D::digest(bytes))
}

fn digest_hex<D: md5::Digest>(a: &FuncArgs) -> R {
    Ok(Value::String(hex::<D>(text(&a[0])?.as_bytes())))
}

fn digest_b64<D: md5::Digest>(a: &FuncArgs) -> R {
    Ok(Value::String(b64::<D>(text(&a[0])?.as_bytes())))
}

/// `bcrypt(s, cost)`: a salted hash with a random salt, different at every run.
fn bcrypt(a: FuncArgs) -> R {
    if a.len() > 2 {
        return Err("bcrypt takes a string and at most one cost".to_string());
    }
    if let Some(c) = a.get(1) {
        let cost = int(c)?;
        if !(4..=31).contains(&cost) {
            return Err(format!("bcrypt cost {cost} is outside the range 4 to 31"));
        }
    }
    Err(runtime("bcrypt() uses a random salt"))
}

/// `rsadecrypt(ciphertext, key)`: needs the private key, which modlens does not use.
fn rsadecrypt(a: FuncArgs) -> R {
    text(&a[0])?;
    text(&a[1])?;
    Err(runtime("rsadecrypt() needs the private key"))
}

/// `uuid()`: random, different at every run.
fn uuid(_: FuncArgs) -> R {
    Err(runtime("uuid() is random"))
}

/// `uuidv5(namespace, name)`: the namespace is `dns`, `url`, `oid`, `x500` or a UUID.
fn uuidv5(a: FuncArgs) -> R {
    let ns = text(&a[0])?;
    let namespace = match ns.as_str() {
        "dns" => uuid::Uuid::NAMESPACE_DNS,
        "url" => uuid::Uuid::NAMESPACE_URL,
        "oid" => uuid::Uuid::NAMESPACE_OID,
        "x500" => uuid::Uuid::NAMESPACE_X500,
        other => uuid::Uuid::parse_str(other)
            .map_err(|e| format!("uuidv5() doesn't support namespace prefix {other:?}: {e}"))?,
    };
    Ok(Value::String(
        uuid::Uuid::new_v5(&namespace, text(&a[1])?.as_bytes())
            .hyphenated()
            .to_string(),
    ))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;

    /// Examples from Terraform's documentation of each function.
    #[test]
    fn follow_terraform() {
        assert_eq!(
            ok(r#"md5("hello world")"#),
            "5eb63bbbe01eeed093cb22bb8f5acdc3"
        );
        assert_eq!(
            ok(r#"sha1("hello world")"#),
            "2aae6c35c94fcfb415dbe95f408b9ce91ee846ed"
        );
        assert_eq!(
            ok(r#"sha256("hello world")"#),
            "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"
        );
        assert_eq!(
            ok(r#"sha512("hello world")"#),
            "309ecc489c12d6eb4cc40f50c902f2b4d0ed77ee511a7c7a9bcd3ca86d4cd86f989dd35bc5ff499670da34255b45b0cfd830e81f605dcf7dc5542e93ae9cd76f"
        );
        assert_eq!(
            ok(r#"base64sha256("hello world")"#),
            "uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek="
        );
        assert_eq!(
            ok(r#"base64sha512("hello world")"#),
            "MJ7MSJwS1utMxA9QyQLytNDtd+5RGnx6m808qG1M2G+YndNbxf9JlnDaNCVbRbDP2DDoH2Bdz33FVC6TrpzXbw=="
        );
        assert_eq!(
            ok(r#"uuidv5("dns", "www.terraform.io")"#),
            "a5008fae-b28c-5ba5-96cd-82b4c53552d6"
        );
        assert_eq!(
            ok(r#"uuidv5("url", "https://www.terraform.io/")"#),
            "9db6f67c-dd95-5ea0-aa5b-e70e5c5f7cf5"
        );
        assert_eq!(
            ok(r#"uuidv5("oid", "1.3.6.1.4")"#),
            "af9d40a5-7a36-5c07-b23a-851cd99fbfa5"
        );
        assert_eq!(
            ok(r#"uuidv5("x500", "CN=Example,C=GB")"#),
            "84e09961-4aa4-57f8-95b7-03edb1073253"
        );
        assert_eq!(
            ok(r#"uuidv5("6ba7b810-9dad-11d1-80b4-00c04fd430c8", "www.terraform.io")"#),
            "a5008fae-b28c-5ba5-96cd-82b4c53552d6"
        );
        fails(r#"uuidv5("nope", "x")"#, "doesn't support namespace");
    }

    #[test]
    fn random_and_secret_results_are_known_only_at_run_time() {
        runtime_only("uuid()");
        runtime_only(r#"bcrypt("hello world")"#);
        runtime_only(r#"bcrypt("hello world", 10)"#);
        fails(r#"bcrypt("hello world", 3)"#, "outside the range");
        runtime_only(r#"rsadecrypt("eczGaDhXDbOFRZ...", "-----BEGIN RSA PRIVATE KEY-----")"#);
    }
}
