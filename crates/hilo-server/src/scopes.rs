//! Every OAuth scope HighLevel defines: the rows of `docs/oauth/Scopes.md` and the scopes named
//! in the spec's per-operation `security`. Apps may ask for any of them, also for operations hilo
//! does not serve yet, so that an integration's real scope list installs unchanged.

#[rustfmt::skip]
pub const HIGHLEVEL_SCOPES: &[&str] = &[
    "associations.readonly",
    "associations.write",
    "associations/relation.readonly",
    "associations/relation.write",
    "blogs/author.readonly",
    "blogs/category.readonly",
    "blogs/check-slug.readonly",
    "blogs/list.readonly",
    "blogs/post-update.write",
    "blogs/post.write",
    "blogs/posts.readonly",
    "businesses.readonly",
    "businesses.write",
    "calendars.readonly",
    "calendars.write",
    "calendars/events.readonly",
    "calendars/events.write",
    "calendars/groups.readonly",
    "calendars/groups.write",
    "calendars/resources.readonly",
    "calendars/resources.write",
    "campaigns.readonly",
    "charges.readonly",
    "charges.write",
    "companies.readonly",
    "contacts.readonly",
    "contacts.write",
    "conversations.readonly",
    "conversations.write",
    "conversations/livechat.write",
    "conversations/message.readonly",
    "conversations/message.write",
    "courses.write",
    "emails/builder.readonly",
    "emails/builder.write",
    "emails/schedule.readonly",
    "forms.readonly",
    "funnels/funnel.readonly",
    "funnels/page.readonly",
    "funnels/pagecount.readonly",
    "funnels/redirect.readonly",
    "funnels/redirect.write",
    "invoices.readonly",
    "invoices.write",
    "invoices/schedule.readonly",
    "invoices/schedule.write",
    "invoices/template.readonly",
    "invoices/template.write",
    "links.readonly",
    "links.write",
    "locations.internal-access-only",
    "locations.readonly",
    "locations.write",
    "locations/customFields.readonly",
    "locations/customFields.write",
    "locations/customValues.readonly",
    "locations/customValues.write",
    "locations/tags.readonly",
    "locations/tags.write",
    "locations/tasks.readonly",
    "locations/templates.readonly",
    "marketplace-external-auth-migration.write",
    "marketplace-installer-details.readonly",
    "medias.readonly",
    "medias.write",
    "oauth.readonly",
    "oauth.write",
    "objects/record.readonly",
    "objects/record.write",
    "objects/schema.readonly",
    "objects/schema.write",
    "opportunities.readonly",
    "opportunities.write",
    "payments/integration.readonly",
    "payments/integration.write",
    "payments/orders.readonly",
    "payments/orders.write",
    "payments/subscriptions.readonly",
    "payments/transactions.readonly",
    "products.readonly",
    "products.write",
    "products/prices.readonly",
    "products/prices.write",
    "saas/company.write",
    "saas/location.read",
    "saas/location.write",
    "snapshots.readonly",
    "socialplanner/account.readonly",
    "socialplanner/account.write",
    "socialplanner/category.readonly",
    "socialplanner/csv.readonly",
    "socialplanner/csv.write",
    "socialplanner/oauth.readonly",
    "socialplanner/oauth.write",
    "socialplanner/post.readonly",
    "socialplanner/post.write",
    "socialplanner/tag.readonly",
    "surveys.readonly",
    "users.readonly",
    "users.write",
    "workflows.readonly",
];

/// Whether `scope` is one HighLevel defines.
pub fn is_known(scope: &str) -> bool {
    HIGHLEVEL_SCOPES.binary_search(&scope).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn shared(path: &str) -> String {
        let path = format!(
            "{}/../../../shared/spec/highlevel/{path}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn the_list_is_sorted_and_matches_the_spec() {
        assert!(
            HIGHLEVEL_SCOPES.windows(2).all(|w| w[0] < w[1]),
            "sorted, no duplicates"
        );
        let mut from_spec = BTreeSet::new();
        for line in shared("docs/oauth/Scopes.md").lines() {
            let first = line
                .trim_start_matches('|')
                .split('|')
                .next()
                .unwrap_or("")
                .trim();
            if first.contains('.') && !first.contains(' ') && !first.starts_with('-') {
                from_spec.insert(first.to_owned());
            }
        }
        let apps = format!(
            "{}/../../../shared/spec/highlevel/apps",
            env!("CARGO_MANIFEST_DIR")
        );
        for entry in std::fs::read_dir(apps).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            let spec: serde_json::Value = serde_json::from_str(&text).unwrap();
            for ops in spec["paths"].as_object().unwrap().values() {
                for op in ops.as_object().unwrap().values() {
                    for requirement in op["security"].as_array().into_iter().flatten() {
                        for scopes in requirement.as_object().unwrap().values() {
                            for scope in scopes.as_array().unwrap() {
                                from_spec.insert(scope.as_str().unwrap().to_owned());
                            }
                        }
                    }
                }
            }
        }
        let ours: BTreeSet<String> = HIGHLEVEL_SCOPES.iter().map(|s| (*s).to_owned()).collect();
        assert_eq!(ours, from_spec);
        assert!(is_known("contacts.write") && !is_known("contacts.delete"));
    }
}
