//! The catalog of triggers and actions, compiled in as data: each item names one API
//! operation, the scopes it needs, its parameters, where its items are in the answer and what
//! identifies them. The runner has no per-operation code: it reads everything from here.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

/// The catalog file, as mapped from the HighLevel operations catalog to the v2 spec.
const CATALOG_JSON: &str = include_str!("../catalog.json");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A read that can be polled (and also used as a step).
    Trigger,
    /// An operation a step performs.
    Action,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Item {
    pub id: String,
    pub name: String,
    pub description: String,
    pub kind: Kind,
    pub category: String,
    pub method: String,
    pub path: String,
    pub scopes: Vec<String>,
    #[serde(default)]
    pub deprecated: bool,
    /// `path:contactId`, `query:locationId`, `body`.
    pub required_params: Vec<String>,
    pub optional_params: Vec<String>,
    /// Where a list trigger's items are: a dotted field, `$` for an answer that is the list,
    /// `*.slots` for the lists under every key of an object.
    #[serde(default)]
    pub list_field: Option<String>,
    /// Where a single-object trigger's item is (`$`: the answer itself).
    #[serde(default)]
    pub item_field: Option<String>,
    #[serde(default)]
    pub dedupe_key: Option<String>,
    /// The item's time of last change, when it has one.
    #[serde(default)]
    pub update_key: Option<String>,
    #[serde(default)]
    pub paging_params: Vec<String>,
}

/// Where a parameter goes in the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamPlace {
    Path,
    Query,
    Body,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    pub place: ParamPlace,
    /// `body` for the request body.
    pub name: String,
    pub required: bool,
}

impl Item {
    /// Every parameter, required ones first. A `{name}` of the path is a required parameter
    /// even where the catalog's lists leave it out (bulk tags' `{type}`).
    pub fn params(&self) -> Vec<Param> {
        let required = self.required_params.iter().map(|p| (p, true));
        let optional = self.optional_params.iter().map(|p| (p, false));
        let mut params: Vec<Param> = required
            .chain(optional)
            .map(|(spec, required)| {
                let (place, name) = match spec.split_once(':') {
                    Some(("path", name)) => (ParamPlace::Path, name),
                    Some((_, name)) => (ParamPlace::Query, name),
                    None => (ParamPlace::Body, "body"),
                };
                Param {
                    place,
                    name: name.to_owned(),
                    required,
                }
            })
            .collect();
        let unlisted: Vec<Param> = self
            .path
            .split('/')
            .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
            .filter(|name| !params.iter().any(|p| p.name == *name))
            .map(|name| Param {
                place: ParamPlace::Path,
                name: name.to_owned(),
                required: true,
            })
            .collect();
        params.splice(0..0, unlisted);
        params
    }

    pub fn param(&self, name: &str) -> Option<Param> {
        self.params().into_iter().find(|p| p.name == name)
    }

    /// Whether calling it changes nothing: GETs, and POSTs that only search.
    pub fn is_read(&self) -> bool {
        self.kind == Kind::Trigger || self.method == "GET"
    }

    /// Whether the item's answer holds a list (as opposed to one object).
    pub fn is_list(&self) -> bool {
        self.list_field.is_some()
    }

    /// Whether it is a search that takes HighLevel's filter language in its body
    /// (`POST …/search` with `filters`, `sort`, `searchAfter`).
    pub fn is_body_search(&self) -> bool {
        self.method == "POST" && self.path.ends_with("/search") && self.is_list()
    }
}

/// All items, by id.
pub struct Catalog {
    items: BTreeMap<String, Item>,
}

impl Catalog {
    /// The catalog compiled into hilo.
    pub fn builtin() -> &'static Catalog {
        static CATALOG: OnceLock<Catalog> = OnceLock::new();
        CATALOG.get_or_init(|| {
            // The file is part of the crate and checked by its tests.
            #[allow(clippy::expect_used)]
            let items: Vec<Item> =
                serde_json::from_str(CATALOG_JSON).expect("the compiled-in catalog parses");
            Catalog {
                items: items.into_iter().map(|i| (i.id.clone(), i)).collect(),
            }
        })
    }

    pub fn get(&self, id: &str) -> Option<&Item> {
        self.items.get(id)
    }

    pub fn items(&self) -> impl Iterator<Item = &Item> {
        self.items.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalog_holds_its_124_items() {
        let catalog = Catalog::builtin();
        assert_eq!(catalog.items().count(), 124);
        let contacts: Vec<_> = catalog
            .items()
            .filter(|i| i.category == "Contacts")
            .collect();
        assert_eq!(contacts.len(), 28);
        assert_eq!(
            contacts.iter().filter(|i| i.kind == Kind::Trigger).count(),
            10
        );
    }

    #[test]
    fn parameters_are_placed() {
        let item = Catalog::builtin()
            .get("contacts.get_contacts_by_business")
            .unwrap();
        let params = item.params();
        assert_eq!(
            params[0],
            Param {
                place: ParamPlace::Path,
                name: "businessId".into(),
                required: true
            }
        );
        assert_eq!(item.param("skip").unwrap().place, ParamPlace::Query);
        assert!(!item.param("skip").unwrap().required);
        let create = Catalog::builtin().get("contacts.create_contact").unwrap();
        assert_eq!(create.param("body").unwrap().place, ParamPlace::Body);
        assert!(!create.is_read());
        assert!(Catalog::builtin()
            .get("contacts.search_contacts")
            .unwrap()
            .is_body_search());
    }

    #[test]
    fn a_path_placeholder_the_lists_leave_out_is_a_required_parameter() {
        let bulk = Catalog::builtin()
            .get("contacts.bulk_update_contact_tags")
            .unwrap();
        let names: Vec<_> = bulk
            .params()
            .into_iter()
            .map(|p| (p.name, p.required))
            .collect();
        assert_eq!(
            names,
            [("type".to_owned(), true), ("body".to_owned(), true)]
        );
        assert_eq!(bulk.param("type").unwrap().place, ParamPlace::Path);
    }
}
