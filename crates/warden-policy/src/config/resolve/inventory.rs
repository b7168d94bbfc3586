//! `[inventory]`: where the live entities come from, and how often they are refreshed.

use super::Resolver;
use crate::config::raw::RawInventory;
use crate::inventory::{InventorySettings, InventorySource};
use std::time::Duration;
use toml::Spanned;

impl Resolver<'_> {
    /// `[inventory]`: exactly one source; paths against the config's folder, `{config_dir}`
    /// expanded as in `[servers]`; a maximum age longer than the refresh interval.
    pub(super) fn inventory(&mut self, raw: &Spanned<RawInventory>) -> Option<InventorySettings> {
        let before = self.errors.len();
        let table = raw.span();
        let raw = raw.get_ref();
        let dir = self.base.display().to_string();
        let dir = if dir.is_empty() { ".".to_string() } else { dir };
        let expand = |v: &str| v.replace("{config_dir}", &dir);
        let source = match (&raw.file, &raw.command, &raw.url) {
            (Some(file), None, None) => Some(InventorySource::File(self.path(&expand(file)))),
            (None, Some(command), None) => match command.get_ref().split_first() {
                Some((program, args)) if !program.trim().is_empty() => {
                    Some(InventorySource::Command {
                        program: expand(program),
                        args: args.iter().map(|a| expand(a)).collect(),
                    })
                }
                _ => {
                    self.error(
                        command.span(),
                        "inventory.command",
                        "`command` names no program: give `[\"program\", \"arg\", …]`",
                    );
                    None
                }
            },
            (None, None, Some(url)) => {
                let text = url.get_ref();
                if !(text.starts_with("http://") || text.starts_with("https://")) {
                    self.error(
                        url.span(),
                        "inventory.url",
                        format!("`url`: `{text}` is not an http(s) URL"),
                    );
                }
                Some(InventorySource::Url(text.clone()))
            }
            _ => {
                self.error(
                    table.clone(),
                    "inventory",
                    "give exactly one of `file`, `command` or `url` as the inventory's source",
                );
                None
            }
        };
        let mut secs = |key: &str, value: &Option<Spanned<u64>>, default: u64| {
            let v = value.as_ref().map_or(default, |v| *v.get_ref());
            if v == 0 {
                self.error(
                    value.as_ref().map(Spanned::span),
                    &format!("inventory.{key}"),
                    format!("`{key}` must be at least one second"),
                );
            }
            Duration::from_secs(v)
        };
        let refresh = secs(
            "refresh_secs",
            &raw.refresh_secs,
            crate::inventory::DEFAULT_REFRESH_SECS,
        );
        let max_age = secs(
            "max_age_secs",
            &raw.max_age_secs,
            crate::inventory::DEFAULT_MAX_AGE_SECS,
        );
        let timeout = secs(
            "timeout_secs",
            &raw.timeout_secs,
            crate::inventory::DEFAULT_TIMEOUT_SECS,
        );
        if !max_age.is_zero() && !refresh.is_zero() && max_age <= refresh {
            // At the one of the two that is written (`max_age_secs` first), else the table.
            let (key, span) = match (&raw.max_age_secs, &raw.refresh_secs) {
                (Some(m), _) => ("inventory.max_age_secs", m.span()),
                (None, Some(r)) => ("inventory.refresh_secs", r.span()),
                (None, None) => ("inventory", table),
            };
            self.error(
                span,
                key,
                format!(
                    "`max_age_secs = {}` must be longer than `refresh_secs = {}`, or the inventory goes stale between two refreshes",
                    max_age.as_secs(),
                    refresh.as_secs()
                ),
            );
        }
        let source = source?;
        (self.errors.len() == before).then_some(InventorySettings {
            source,
            refresh,
            max_age,
            timeout,
        })
    }
}
