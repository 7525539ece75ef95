//! The server's settings, from `initializationOptions` and
//! `workspace/didChangeConfiguration` (either the object itself or under a `modlens` key):
//!
//! ```json
//! { "variables": { "region": "eu-west-1", "tags": { "env": "prod" } },
//!   "varFiles": ["prod.ppvars"],
//!   "cacheEntries": 20000, "cacheMb": 64,
//!   "workers": 3,
//!   "logLevel": "info",
//!   "inlayHints": { "titles": true, "values": true } }
//! ```
//!
//! Unknown keys are ignored and a value of the wrong type is ignored with a warning, so a
//! typo in an editor's configuration never stops the server.

use std::collections::BTreeMap;

use serde::Deserialize;

/// What the user configured.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Settings {
    /// Variable values, as `--var name=value` would set them (a string is taken as
    /// written; numbers, bools, lists and objects as their value).
    pub variables: BTreeMap<String, serde_json::Value>,
    /// Variable files, relative to each mod root unless absolute, in order.
    pub var_files: Vec<String>,
    /// Most resolved resources kept.
    pub cache_entries: Option<usize>,
    /// Most megabytes of resolved resources kept.
    pub cache_mb: Option<usize>,
    /// Worker threads for resolving (default: cores − 1, at least 1).
    pub workers: Option<usize>,
    /// `error`, `warn`, `info`, `debug`, `trace`, or a `tracing` filter.
    pub log_level: Option<String>,
    /// Which inlay hints are shown.
    pub inlay_hints: InlayHintSettings,
}

/// Which inlay hints the server sends (`inlayHints`: each kind on unless set to `false`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct InlayHintSettings {
    /// The referenced resource's title after `children`, `query` and `base` references.
    pub titles: bool,
    /// The evaluated value after `var.x` and `local.x`.
    pub values: bool,
}

impl Default for InlayHintSettings {
    fn default() -> Self {
        InlayHintSettings {
            titles: true,
            values: true,
        }
    }
}

impl Settings {
    /// Reads settings from a client's JSON; `None` (or not an object) gives the defaults.
    pub fn from_json(value: Option<&serde_json::Value>) -> Settings {
        let Some(v) = value else {
            return Settings::default();
        };
        let v = v.get("modlens").unwrap_or(v);
        if !v.is_object() {
            return Settings::default();
        }
        // Field by field, so one wrong value does not lose the others.
        let mut s = Settings::default();
        let field = |name: &str, apply: &mut dyn FnMut(&serde_json::Value) -> bool| {
            if let Some(x) = v.get(name).filter(|x| !x.is_null())
                && !apply(x)
            {
                tracing::warn!(setting = name, value = %x, "ignoring a setting of the wrong type");
            }
        };
        field("variables", &mut |x| {
            serde_json::from_value(x.clone())
                .map(|m| s.variables = m)
                .is_ok()
        });
        field("varFiles", &mut |x| {
            serde_json::from_value(x.clone())
                .map(|m| s.var_files = m)
                .is_ok()
        });
        field("cacheEntries", &mut |x| {
            x.as_u64()
                .map(|n| s.cache_entries = Some(n as usize))
                .is_some()
        });
        field("cacheMb", &mut |x| {
            x.as_u64().map(|n| s.cache_mb = Some(n as usize)).is_some()
        });
        field("workers", &mut |x| {
            x.as_u64().map(|n| s.workers = Some(n as usize)).is_some()
        });
        field("logLevel", &mut |x| {
            x.as_str()
                .map(|l| s.log_level = Some(l.to_string()))
                .is_some()
        });
        field("inlayHints", &mut |x| {
            serde_json::from_value(x.clone())
                .map(|h| s.inlay_hints = h)
                .is_ok()
        });
        s
    }

    /// The part of a configuration change meant for modlens: the object under `modlens`, or
    /// the object itself when it holds a setting of modlens's; `None` when it holds none
    /// (`null`, or another section's settings), which changes nothing.
    pub fn section(value: &serde_json::Value) -> Option<&serde_json::Value> {
        const KEYS: [&str; 7] = [
            "variables",
            "varFiles",
            "cacheEntries",
            "cacheMb",
            "workers",
            "logLevel",
            "inlayHints",
        ];
        match value.get("modlens") {
            Some(v) => v.is_object().then_some(v),
            None => value
                .as_object()
                .filter(|o| KEYS.iter().any(|k| o.contains_key(*k)))
                .map(|_| value),
        }
    }

    /// The variables as `--var name=value` arguments.
    pub fn var_args(&self) -> Vec<String> {
        self.variables
            .iter()
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => format!("{k}={s}"),
                // JSON arrays and objects are HCL expressions too (`:` is allowed in HCL
                // object constructors).
                other => format!("{k}={other}"),
            })
            .collect()
    }

    /// True when a change from `self` to `other` needs the projects opened again (cache
    /// limits and workers are fixed when a project opens).
    pub fn needs_reopen(&self, other: &Settings) -> bool {
        self.cache_entries != other.cache_entries
            || self.cache_mb != other.cache_mb
            || self.workers != other.workers
    }

    /// True when the values' inputs differ.
    pub fn inputs_differ(&self, other: &Settings) -> bool {
        self.variables != other.variables || self.var_files != other.var_files
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn inlay_hint_kinds_are_on_unless_turned_off() {
        let s = Settings::from_json(Some(&json!({"inlayHints": {"values": false}})));
        assert!(s.inlay_hints.titles);
        assert!(!s.inlay_hints.values);
        let wrong = Settings::from_json(Some(&json!({"inlayHints": {"titles": "no"}})));
        assert_eq!(wrong.inlay_hints, InlayHintSettings::default());
        assert!(Settings::section(&json!({"inlayHints": {"titles": false}})).is_some());
    }

    #[test]
    fn a_change_without_modlens_settings_is_no_section() {
        assert_eq!(Settings::section(&json!(null)), None);
        assert_eq!(Settings::section(&json!({"editor": {"tabSize": 2}})), None);
        assert_eq!(Settings::section(&json!({"modlens": null})), None);
        assert_eq!(
            Settings::section(&json!({"workers": 2})),
            Some(&json!({"workers": 2}))
        );
        assert_eq!(
            Settings::section(&json!({"modlens": {"workers": 2}})),
            Some(&json!({"workers": 2}))
        );
        assert_eq!(Settings::section(&json!({"modlens": {}})), Some(&json!({})));
    }

    #[test]
    fn reads_nested_or_flat_and_skips_wrong_types() {
        let s = Settings::from_json(Some(&json!({"modlens": {
            "variables": {"region": "eu", "n": 3, "l": ["a"]},
            "varFiles": ["a.ppvars"],
            "cacheEntries": "lots",
            "workers": 2,
            "logLevel": "debug",
            "unknown": true
        }})));
        assert_eq!(s.var_files, vec!["a.ppvars".to_string()]);
        assert_eq!(s.cache_entries, None);
        assert_eq!(s.workers, Some(2));
        assert_eq!(s.log_level.as_deref(), Some("debug"));
        assert_eq!(s.var_args(), vec!["l=[\"a\"]", "n=3", "region=eu"]);
        let flat = Settings::from_json(Some(&json!({"cacheMb": 8})));
        assert_eq!(flat.cache_mb, Some(8));
        assert_eq!(Settings::from_json(Some(&json!(3))), Settings::default());
        assert_eq!(flat.inlay_hints, InlayHintSettings::default());
        assert!(flat.needs_reopen(&Settings::default()));
        assert!(!s.needs_reopen(&Settings {
            variables: BTreeMap::new(),
            ..s.clone()
        }));
    }
}
