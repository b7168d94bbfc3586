//! `[review]`: how often each category's decisions are sampled for review, and what happens
//! when a review falls behind.

use super::{Resolver, parse_duration};
use crate::config::raw::RawReview;
use crate::config::resolved::{CategoryReview, ReviewSettings};
use std::collections::BTreeMap;
use std::time::Duration;
use toml::Spanned;

impl Resolver<'_> {
    pub(super) fn review(
        &mut self,
        raw: &RawReview,
        owners: &BTreeMap<String, String>,
    ) -> ReviewSettings {
        let every =
            |this: &mut Self, key: &str, text: &Option<Spanned<String>>, default: Duration| {
                let Some(t) = text else { return default };
                parse_duration(t.get_ref())
                    .filter(|d| !d.is_zero())
                    .unwrap_or_else(|| {
                        this.error(
                            t.span(),
                            key,
                            format!(
                                "`{}` is not a duration such as `7d`, `12h` or `30m`",
                                t.get_ref()
                            ),
                        );
                        default
                    })
            };
        let tolerance = |this: &mut Self, key: &str, t: &Option<Spanned<f64>>, default: f64| {
            let Some(t) = t else { return default };
            match *t.get_ref() {
                v if v > 0.0 && v < 1.0 => v,
                v => {
                    this.error(
                        t.span(),
                        key,
                        format!("tolerance {v} must be between 0 and 1"),
                    );
                    default
                }
            }
        };
        let default_every = every(
            self,
            "review.every",
            &raw.every,
            Duration::from_secs(7 * 86_400),
        );
        let default_tolerance = tolerance(self, "review.tolerance", &raw.tolerance, 0.05);
        if let Some(r) = &raw.rate
            && !(*r.get_ref() > 0.0 && *r.get_ref() <= 1.0)
        {
            self.error(
                r.span(),
                "review.rate",
                format!("rate {} must be in (0, 1]", r.get_ref()),
            );
        }
        if let Some(size) = &raw.size
            && *size.get_ref() == 0
        {
            self.error(size.span(), "review.size", "size must be at least 1");
        }
        let mut categories = BTreeMap::new();
        for (c, r) in &raw.categories {
            let key = format!("review.categories.{c}");
            let table = r.span();
            let r = r.get_ref();
            if !owners.contains_key(c) {
                self.error(table, &key, format!("category `{c}` is not in [owners]"));
            }
            let fallback_approval = match &r.fallback {
                None => false,
                Some(f) => match f.get_ref().as_str() {
                    "none" => false,
                    "approval" => true,
                    other => {
                        self.error(
                            f.span(),
                            &key,
                            format!("fallback `{other}` must be `approval` or `none`"),
                        );
                        false
                    }
                },
            };
            categories.insert(
                c.clone(),
                CategoryReview {
                    every: every(self, &key, &r.every, default_every),
                    tolerance: tolerance(self, &key, &r.tolerance, default_tolerance),
                    fallback_approval,
                },
            );
        }
        ReviewSettings {
            size: raw.size.as_ref().map_or(5, |s| *s.get_ref()).max(1),
            rate: raw.rate.as_ref().map(|r| *r.get_ref()),
            default: CategoryReview {
                every: default_every,
                tolerance: default_tolerance,
                fallback_approval: false,
            },
            categories,
        }
    }
}
