//! CIDR functions: `cidrhost`, `cidrnetmask`, `cidrsubnet`, `cidrsubnets`, for IPv4 and
//! IPv6 prefixes (addresses as 128-bit numbers). A prefix with host bits set stands for its
//! network, as Go's `ParseCIDR` reads it.
//!
//! Arithmetic on prefix lengths and addresses is checked: a whole IPv6 space has 2^128
//! addresses, one more than a `u128` holds, and a newbits of 1e19 is no prefix length.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use hcl::Value;
use hcl::eval::{FuncArgs, FuncDef};

use super::{R, fixed, int, num_param, str_param, text, variadic};

/// The definition of a function of this family.
pub(super) fn def(name: &str) -> Option<FuncDef> {
    let (s, n) = (str_param, num_param);
    Some(match name {
        "cidrhost" => fixed(&[s(), n()], cidrhost),
        "cidrnetmask" => fixed(&[s()], cidrnetmask),
        "cidrsubnet" => fixed(&[s(), n(), n()], cidrsubnet),
        "cidrsubnets" => variadic(&[s()], n(), cidrsubnets),
        _ => return None,
    })
}

/// A network: its first address, its prefix length and the address width (32 or 128).
#[derive(Clone, Copy)]
struct Net {
    base: u128,
    len: u32,
    width: u32,
}

impl Net {
    fn parse(s: &str) -> Result<Net, String> {
        let bad = |e: String| format!("invalid CIDR expression: {e}");
        let (addr, len) = s
            .split_once('/')
            .ok_or_else(|| bad(format!("{s:?} has no prefix length")))?;
        let ip: IpAddr = addr
            .parse()
            .map_err(|_| bad(format!("{addr:?} is not an IP address")))?;
        let (value, width) = match ip {
            IpAddr::V4(v4) => (u128::from(u32::from(v4)), 32),
            IpAddr::V6(v6) => (u128::from(v6), 128),
        };
        let len: u32 = len
            .parse()
            .ok()
            .filter(|l| *l <= width)
            .ok_or_else(|| bad(format!("{len:?} is not a prefix length for {s:?}")))?;
        let net = Net {
            base: 0,
            len,
            width,
        };
        Ok(Net {
            base: value & net.mask(),
            ..net
        })
    }

    /// The mask of the prefix, within the width.
    fn mask(&self) -> u128 {
        let all = if self.width == 128 {
            u128::MAX
        } else {
            (1u128 << self.width) - 1
        };
        let host = self.host_bits();
        if host >= 128 {
            0
        } else {
            all & !((1u128 << host) - 1)
        }
    }

    fn host_bits(&self) -> u32 {
        self.width - self.len
    }

    /// The offset of the last address: the number of addresses less one (a whole IPv6
    /// space has one more than a `u128` holds).
    fn last_offset(&self) -> u128 {
        let host = self.host_bits();
        if host >= 128 {
            u128::MAX
        } else {
            (1u128 << host) - 1
        }
    }

    fn last(&self) -> u128 {
        self.base | self.last_offset()
    }

    fn addr(&self, v: u128) -> String {
        if self.width == 32 {
            Ipv4Addr::from(v as u32).to_string()
        } else {
            Ipv6Addr::from(v).to_string()
        }
    }

    fn show(&self) -> String {
        format!("{}/{}", self.addr(self.base), self.len)
    }

    /// The subnet `num` of `newbits` more bits.
    fn subnet(&self, newbits: i64, num: i64) -> Result<Net, String> {
        if newbits < 0 {
            return Err("must extend prefix by at least one bit".to_string());
        }
        let new_len = i64::from(self.len)
            .checked_add(newbits)
            .filter(|l| *l <= i64::from(self.width));
        let Some(new_len) = new_len else {
            return Err(format!(
                "insufficient address space to extend prefix of {} by {newbits}",
                self.len
            ));
        };
        let count: u128 = if newbits >= 127 {
            u128::MAX
        } else {
            1u128 << newbits
        };
        if num < 0 || num as u128 >= count {
            return Err(format!(
                "prefix extension of {newbits} does not accommodate a subnet numbered {num}"
            ));
        }
        let sub = Net {
            base: 0,
            len: new_len as u32,
            width: self.width,
        };
        // Shifting by 128 (no new bits on a whole IPv6 space: `num` is 0) is no shift.
        Ok(Net {
            base: self.base | (num as u128).checked_shl(sub.host_bits()).unwrap_or(0),
            ..sub
        })
    }
}

fn cidrhost(a: FuncArgs) -> R {
    let net = Net::parse(&text(&a[0])?)?;
    let host = int(&a[1])?;
    let last = net.last_offset();
    // A negative host counts back from the last address (-1).
    let offset = if host >= 0 {
        Some(host as u128).filter(|o| *o <= last)
    } else {
        last.checked_sub(u128::from(host.unsigned_abs()) - 1)
    };
    let Some(offset) = offset else {
        return Err(format!(
            "prefix of {} bits cannot accommodate a host numbered {host}",
            net.len
        ));
    };
    Ok(Value::String(net.addr(net.base | offset)))
}

fn cidrnetmask(a: FuncArgs) -> R {
    let net = Net::parse(&text(&a[0])?)?;
    if net.width != 32 {
        return Err("only IPv4 networks are supported".to_string());
    }
    Ok(Value::String(net.addr(net.mask())))
}

fn cidrsubnet(a: FuncArgs) -> R {
    let net = Net::parse(&text(&a[0])?)?;
    Ok(Value::String(net.subnet(int(&a[1])?, int(&a[2])?)?.show()))
}

/// `cidrsubnets(prefix, newbits...)`: consecutive subnets, each at the first boundary of its
/// size after the previous one.
fn cidrsubnets(a: FuncArgs) -> R {
    let net = Net::parse(&text(&a[0])?)?;
    let mut next = net.base;
    let mut exhausted = false;
    let mut out = Vec::new();
    for (i, nb) in a[1..].iter().enumerate() {
        let nb = int(nb)?;
        if nb < 1 {
            return Err(format!(
                "argument {}: must extend prefix by at least one bit",
                i + 2
            ));
        }
        if nb > i64::from(net.width - net.len) {
            return Err(format!(
                "argument {}: would extend prefix to {} bits, which is too long for an IPv{} address",
                i + 2,
                i128::from(net.len) + i128::from(nb),
                if net.width == 32 { 4 } else { 6 }
            ));
        }
        let sub = Net {
            base: 0,
            len: net.len + nb as u32,
            width: net.width,
        };
        // At least one new bit: the subnet's size fits a `u128`.
        let size = sub.last_offset() + 1;
        let start = next.div_ceil(size).checked_mul(size);
        let fits = start.is_some_and(|s| {
            !exhausted && s >= net.base && s.checked_add(size - 1).is_some_and(|e| e <= net.last())
        });
        let Some(start) = start.filter(|_| fits) else {
            return Err(format!(
                "not enough remaining address space for a subnet with a prefix of {} bits after {}",
                sub.len,
                out.last()
                    .and_then(|v: &Value| v.as_str().map(str::to_string))
                    .unwrap_or_else(|| net.show())
            ));
        };
        let s = Net { base: start, ..sub };
        match s.last().checked_add(1) {
            Some(n) => next = n,
            None => exhausted = true,
        }
        out.push(Value::String(s.show()));
    }
    Ok(Value::Array(out))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;

    /// Examples from Terraform's documentation of each function.
    #[test]
    fn follow_terraform() {
        assert_eq!(ok(r#"cidrhost("10.12.112.0/20", 16)"#), "10.12.112.16");
        assert_eq!(ok(r#"cidrhost("10.12.112.0/20", 268)"#), "10.12.113.12");
        assert_eq!(ok(r#"cidrhost("10.12.112.0/20", -1)"#), "10.12.127.255");
        assert_eq!(
            ok(r#"cidrhost("fd00:fd12:3456:7890:00a2::/72", 34)"#),
            "fd00:fd12:3456:7890::22"
        );
        fails(
            r#"cidrhost("10.0.0.0/30", 4)"#,
            "cannot accommodate a host numbered 4",
        );
        assert_eq!(ok(r#"cidrnetmask("172.16.0.0/12")"#), "255.240.0.0");
        fails(r#"cidrnetmask("fd00::/8")"#, "only IPv4");
        assert_eq!(ok(r#"cidrsubnet("172.16.0.0/12", 4, 2)"#), "172.18.0.0/16");
        assert_eq!(ok(r#"cidrsubnet("10.1.2.0/24", 4, 15)"#), "10.1.2.240/28");
        assert_eq!(
            ok(r#"cidrsubnet("fd00:fd12:3456:7890::/56", 16, 162)"#),
            "fd00:fd12:3456:7800:a200::/72"
        );
        assert_eq!(ok(r#"cidrsubnet("10.1.2.3/24", 0, 0)"#), "10.1.2.0/24");
        fails(
            r#"cidrsubnet("10.1.2.0/24", 4, 16)"#,
            "does not accommodate a subnet numbered 16",
        );
        fails(
            r#"cidrsubnet("10.1.2.0/24", 9, 0)"#,
            "insufficient address space",
        );
        fails(r#"cidrsubnet("10.1.2.0", 4, 0)"#, "invalid CIDR expression");
        same(
            r#"cidrsubnets("10.1.0.0/16", 4, 4, 8, 4)"#,
            r#"["10.1.0.0/20", "10.1.16.0/20", "10.1.32.0/24", "10.1.48.0/20"]"#,
        );
        same(
            r#"cidrsubnets("fd00:fd12:3456:7890::/56", 16, 16, 16, 32)"#,
            r#"["fd00:fd12:3456:7800::/72", "fd00:fd12:3456:7800:100::/72", "fd00:fd12:3456:7800:200::/72", "fd00:fd12:3456:7800:300::/88"]"#,
        );
        fails(
            r#"cidrsubnets("10.0.0.0/30", 1, 1, 1)"#,
            "not enough remaining address space",
        );
        fails(
            r#"cidrsubnets("10.0.0.0/30", 3)"#,
            "too long for an IPv4 address",
        );
    }

    /// Huge and edge-of-range arguments are errors or results, never overflows.
    #[test]
    fn huge_arguments_do_not_overflow() {
        fails(
            r#"cidrsubnet("10.0.0.0/8", 1e19, 0)"#,
            "insufficient address space",
        );
        fails(r#"cidrsubnet("10.0.0.0/8", -1e19, 0)"#, "at least one bit");
        fails(r#"cidrsubnets("10.0.0.0/8", 1e19)"#, "too long");
        assert_eq!(ok(r#"cidrsubnet("::/0", 0, 0)"#), "::/0");
        assert_eq!(ok(r#"cidrsubnet("0.0.0.0/0", 0, 0)"#), "0.0.0.0/0");
        assert_eq!(ok(r#"cidrsubnet("::/0", 1, 1)"#), "8000::/1");
        fails(r#"cidrhost("10.0.0.0/8", 1e30)"#, "cannot accommodate");
        fails(r#"cidrhost("10.0.0.0/8", -1e30)"#, "cannot accommodate");
        assert_eq!(
            ok(r#"cidrhost("::/0", -1)"#),
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
        );
        assert_eq!(ok(r#"cidrhost("::/0", 1)"#), "::1");
        assert_eq!(ok(r#"cidrhost("10.0.0.0/8", -16777216)"#), "10.0.0.0");
        fails(r#"cidrhost("10.0.0.0/8", -16777217)"#, "cannot accommodate");
        same(r#"cidrsubnets("::/0", 1, 1)"#, r#"["::/1", "8000::/1"]"#);
        fails(r#"cidrsubnets("::/0", 1, 1, 1)"#, "not enough remaining");
    }
}
