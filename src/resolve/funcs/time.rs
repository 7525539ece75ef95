//! Date and time functions on RFC 3339 timestamps: `formatdate` (go-cty's format syntax),
//! `timeadd` (Go durations), `timecmp`; and `timestamp()`, the time Powerpipe runs at: a
//! value known only then.

use chrono::{DateTime, Datelike, FixedOffset, Timelike};
use hcl::Value;
use hcl::eval::{FuncArgs, FuncDef};

use super::{R, fixed, number, runtime, str_param, text};

/// The definition of a function of this family.
pub(super) fn def(name: &str) -> Option<FuncDef> {
    let s = str_param;
    Some(match name {
        "formatdate" => fixed(&[s(), s()], formatdate),
        "timeadd" => fixed(&[s(), s()], timeadd),
        "timecmp" => fixed(&[s(), s()], timecmp),
        "timestamp" => fixed(&[], timestamp),
        _ => return None,
    })
}

fn timestamp(_: FuncArgs) -> R {
    Err(runtime("timestamp() is the time Powerpipe runs at"))
}

/// Reads an RFC 3339 timestamp (`2006-01-02T15:04:05Z`, an offset, optional fractions).
fn parse(ts: &str) -> Result<DateTime<FixedOffset>, String> {
    if ts.as_bytes().get(10).is_none_or(|b| *b != b'T') {
        return Err(format!(
            "not a valid RFC3339 timestamp: {ts:?} (the date and time are joined by 'T')"
        ));
    }
    DateTime::parse_from_rfc3339(ts)
        .map_err(|e| format!("not a valid RFC3339 timestamp: {ts:?}: {e}"))
}

/// Go's `time.RFC3339` layout: whole seconds, `Z` for UTC.
fn rfc3339(t: &DateTime<FixedOffset>) -> String {
    let offset = t.offset().local_minus_utc();
    let zone = if offset == 0 {
        "Z".to_string()
    } else {
        zone(offset, true)
    };
    format!("{}{zone}", t.format("%Y-%m-%dT%H:%M:%S"))
}

/// `+07:00` (with `colon`) or `+0700`.
fn zone(offset: i32, colon: bool) -> String {
    let sign = if offset < 0 { '-' } else { '+' };
    let m = offset.abs() / 60;
    if colon {
        format!("{sign}{:02}:{:02}", m / 60, m % 60)
    } else {
        format!("{sign}{:02}{:02}", m / 60, m % 60)
    }
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

const DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// `formatdate(spec, timestamp)`: runs of one letter are verbs (`YYYY`, `MMM`, `hh`, ...),
/// text in single quotes is literal (`''` is a quote), everything else is copied.
fn formatdate(a: FuncArgs) -> R {
    let spec = text(&a[0])?;
    let t = parse(&text(&a[1])?)?;
    let chars: Vec<char> = spec.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            if chars.get(i + 1) == Some(&'\'') {
                out.push('\'');
                i += 2;
                continue;
            }
            let mut j = i + 1;
            loop {
                match chars.get(j) {
                    None => return Err("unterminated literal '".to_string()),
                    Some('\'') if chars.get(j + 1) == Some(&'\'') => {
                        out.push('\'');
                        j += 2;
                    }
                    Some('\'') => break,
                    Some(x) => {
                        out.push(*x);
                        j += 1;
                    }
                }
            }
            i = j + 1;
            continue;
        }
        if !c.is_ascii_alphabetic() {
            out.push(c);
            i += 1;
            continue;
        }
        let mut n = 1;
        while chars.get(i + n) == Some(&c) {
            n += 1;
        }
        let tok: String = chars[i..i + n].iter().collect();
        let bad = |what: &str| format!("invalid date format verb {tok:?}: {what}");
        let pad = |v: u32, n: usize| {
            if n == 2 {
                format!("{v:02}")
            } else {
                v.to_string()
            }
        };
        let piece = match (c, n) {
            ('Y', 2) => format!("{:02}", t.year().rem_euclid(100)),
            ('Y', 4) => format!("{:04}", t.year()),
            ('Y', _) => return Err(bad("year must either be \"YY\" or \"YYYY\"")),
            ('M', 1 | 2) => pad(t.month(), n),
            ('M', 3) => MONTHS[t.month0() as usize][..3].to_string(),
            ('M', 4) => MONTHS[t.month0() as usize].to_string(),
            ('M', _) => return Err(bad("month must be \"M\", \"MM\", \"MMM\", or \"MMMM\"")),
            ('D', 1 | 2) => pad(t.day(), n),
            ('D', _) => return Err(bad("day of month must either be \"D\" or \"DD\"")),
            ('E', 3) => DAYS[t.weekday().num_days_from_monday() as usize][..3].to_string(),
            ('E', 4) => DAYS[t.weekday().num_days_from_monday() as usize].to_string(),
            ('E', _) => return Err(bad("day of week must either be \"EEE\" or \"EEEE\"")),
            ('h', 1 | 2) => pad(t.hour(), n),
            ('h', _) => return Err(bad("24-hour must either be \"h\" or \"hh\"")),
            ('H', 1 | 2) => pad(
                if t.hour() % 12 == 0 {
                    12
                } else {
                    t.hour() % 12
                },
                n,
            ),
            ('H', _) => return Err(bad("12-hour must either be \"H\" or \"HH\"")),
            ('A' | 'a', 2) => {
                let pm = t.hour() >= 12;
                match (c, pm) {
                    ('A', false) => "AM",
                    ('A', true) => "PM",
                    (_, false) => "am",
                    (_, true) => "pm",
                }
                .to_string()
            }
            ('A' | 'a', _) => return Err(bad(&format!("must be \"{c}{c}\""))),
            ('m', 1 | 2) => pad(t.minute(), n),
            ('m', _) => return Err(bad("minute must either be \"m\" or \"mm\"")),
            ('s', 1 | 2) => pad(t.second(), n),
            ('s', _) => return Err(bad("second must either be \"s\" or \"ss\"")),
            ('Z', _) => {
                let off = t.offset().local_minus_utc();
                match n {
                    1 if off == 0 => "Z".to_string(),
                    1 | 5 => zone(off, true),
                    3 if off == 0 => "UTC".to_string(),
                    3 | 4 => zone(off, false),
                    _ => return Err(bad("timezone must be Z, ZZZZ, or ZZZZZ")),
                }
            }
            _ => return Err(format!("invalid date format verb {tok:?}")),
        };
        out.push_str(&piece);
        i += n;
    }
    Ok(Value::String(out))
}

/// A Go duration (`1h30m`, `-2.5s`, `300ms`, `1us`) in nanoseconds.
fn duration(s: &str) -> Result<i128, String> {
    let bad = || format!("time: invalid duration {s:?}");
    let (negative, mut rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(bad());
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("time: missing unit in duration {s:?}"))?;
        let value: f64 = rest[..n].parse().map_err(|_| bad())?;
        rest = &rest[n..];
        let u = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = match &rest[..u] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            other => return Err(format!("time: unknown unit {other:?} in duration {s:?}")),
        };
        total += value * unit;
        rest = &rest[u..];
    }
    let ns = total.round() as i128;
    Ok(if negative { -ns } else { ns })
}

fn timeadd(a: FuncArgs) -> R {
    let t = parse(&text(&a[0])?)?;
    let ns = duration(&text(&a[1])?)?;
    let d = chrono::Duration::nanoseconds(
        i64::try_from(ns).map_err(|_| "the duration is too long".to_string())?,
    );
    let out = t
        .checked_add_signed(d)
        .ok_or_else(|| "the result is out of range".to_string())?;
    Ok(Value::String(rfc3339(&out)))
}

fn timecmp(a: FuncArgs) -> R {
    let x = parse(&text(&a[0])?)?;
    let y = parse(&text(&a[1])?)?;
    Ok(number(match x.cmp(&y) {
        std::cmp::Ordering::Less => -1.0,
        std::cmp::Ordering::Equal => 0.0,
        std::cmp::Ordering::Greater => 1.0,
    }))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;

    /// Examples from Terraform's documentation and go-cty's tests.
    #[test]
    fn formatdate_follows_go_cty() {
        let t = r#""2018-01-02T23:12:01Z""#;
        let f = |spec: &str| ok(&format!("formatdate({spec:?}, {t})"));
        assert_eq!(f("DD MMM YYYY hh:mm ZZZ"), "02 Jan 2018 23:12 UTC");
        assert_eq!(
            f("EEEE, DD-MMM-YY hh:mm:ss ZZZ"),
            "Tuesday, 02-Jan-18 23:12:01 UTC"
        );
        assert_eq!(
            f("EEE, DD MMM YYYY hh:mm:ss ZZZ"),
            "Tue, 02 Jan 2018 23:12:01 UTC"
        );
        assert_eq!(f("MMM DD, YYYY"), "Jan 02, 2018");
        assert_eq!(f("HH:mmaa"), "11:12pm");
        assert_eq!(f("H:m:s AA M/D"), "11:12:1 PM 1/2");
        assert_eq!(f("YYYY-MM-DD'T'hh:mm:ssZ"), "2018-01-02T23:12:01Z");
        assert_eq!(f("'It''s' MMMM"), "It's January");
        assert_eq!(f("''"), "'");
        assert_eq!(
            ok(r#"formatdate("Z ZZZ ZZZZ ZZZZZ", "2018-01-02T23:12:01-08:00")"#),
            "-08:00 -0800 -0800 -08:00"
        );
        fails(&format!("formatdate(\"YYY\", {t})"), "year must either be");
        fails(
            &format!("formatdate(\"Q\", {t})"),
            "invalid date format verb",
        );
        fails(
            &format!("formatdate(\"'abc\", {t})"),
            "unterminated literal",
        );
        fails(
            r#"formatdate("YYYY", "2018-01-02")"#,
            "not a valid RFC3339 timestamp",
        );
    }

    #[test]
    fn timeadd_timecmp_and_timestamp() {
        assert_eq!(
            ok(r#"timeadd("2017-11-22T00:00:00Z", "10m")"#),
            "2017-11-22T00:10:00Z"
        );
        assert_eq!(
            ok(r#"timeadd("2017-11-22T00:00:00Z", "-1h30m")"#),
            "2017-11-21T22:30:00Z"
        );
        assert_eq!(
            ok(r#"timeadd("2017-11-22T00:00:00+01:00", "1.5h")"#),
            "2017-11-22T01:30:00+01:00"
        );
        fails(r#"timeadd("2017-11-22T00:00:00Z", "10")"#, "missing unit");
        fails(r#"timeadd("2017-11-22T00:00:00Z", "10y")"#, "unknown unit");
        same(
            r#"timecmp("2017-11-22T00:00:00Z", "2017-11-22T00:00:00Z")"#,
            "0",
        );
        same(
            r#"timecmp("2017-11-22T00:00:00Z", "2017-11-22T01:00:00Z")"#,
            "-1",
        );
        same(
            r#"timecmp("2017-11-22T01:00:00Z", "2017-11-22T01:00:00+01:00")"#,
            "1",
        );
        runtime_only("timestamp()");
    }
}
