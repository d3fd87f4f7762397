//! Polling done right. A flow's cursor holds a watermark on the item's time field, the ids
//! handled in the trigger's lag window behind it, and the API's own paging cursor; items are
//! handled oldest first and the cursor moves past each one in the transaction that records
//! its run, so a poll cut short anywhere resumes without losing or repeating an item.
//! Searches ask the API for what changed since the watermark less the lag, in time order;
//! other lists are read to their last page.

use std::collections::{BTreeMap, BTreeSet};

use hilo_sdk::{Client, Method};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::catalog::Item;
use crate::flow::PollTrigger;
use crate::request;
use crate::template::Templates;

/// A bound on one poll's pages, so a list that never ends cannot hold a flow forever.
const MAX_PAGES: usize = 1_000;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Cursor {
    /// The first poll has fixed where "new" starts.
    pub primed: bool,
    /// With a time field: the time (epoch ms) of the newest item handled.
    pub watermark: Option<i64>,
    /// With a time field: the ids handled in the trigger's lag window (from the watermark
    /// less the lag up to it), with the time each was handled at. Each poll looks at that
    /// window again, for items that reached the API after newer ones.
    pub recent: BTreeMap<String, i64>,
    /// Without a time field: every id handled.
    pub seen: BTreeSet<String>,
    /// The API's paging cursor after the last item handled (a search's `searchAfter`), so a
    /// poll cut short goes on from there.
    pub after: Option<Value>,
}

/// One item a poll found.
#[derive(Debug, Clone, PartialEq)]
pub struct Polled {
    pub id: String,
    /// Epoch ms of the item's time field, when the trigger has one.
    pub time: Option<i64>,
    /// What the item's run is keyed by: its id, and with a time field its time too, so that
    /// each change of an item runs once.
    pub key: String,
    pub item: Value,
    /// The paging cursor that follows this item.
    pub after: Option<Value>,
}

impl Cursor {
    /// Where a poll starts looking: the watermark less the lag.
    pub fn window_start(&self, lag_ms: i64) -> Option<i64> {
        self.watermark.map(|mark| mark.saturating_sub(lag_ms))
    }

    /// Whether `polled` is still to be handled: a time in the lag window or later, and not
    /// this time (or a later one) of an id handled already.
    pub fn is_new(&self, polled: &Polled, lag_ms: i64) -> bool {
        match (polled.time, self.window_start(lag_ms)) {
            (Some(time), Some(start)) => {
                time >= start && self.recent.get(&polled.id).is_none_or(|&seen| time > seen)
            }
            (Some(_), None) => true,
            (None, _) => !self.seen.contains(&polled.id),
        }
    }

    /// The cursor once `polled` is handled.
    pub fn advance(&mut self, polled: &Polled, lag_ms: i64) {
        match polled.time {
            Some(time) => {
                self.watermark = Some(self.watermark.map_or(time, |mark| mark.max(time)));
                self.recent.insert(polled.id.clone(), time);
                if let Some(start) = self.window_start(lag_ms) {
                    self.recent.retain(|_, seen| *seen >= start);
                }
            }
            None => {
                self.seen.insert(polled.id.clone());
            }
        }
        if polled.after.is_some() {
            self.after = polled.after.clone();
        }
    }
}

/// What one poll asks for.
pub struct PollRequest<'a> {
    pub trigger: &'a PollTrigger,
    pub location: Option<&'a str>,
    /// What the trigger's templates may name (`location`, `flow`).
    pub context: Value,
    pub page_size: usize,
}

impl PollRequest<'_> {
    /// The new items, oldest first. A cursor not yet primed and no backfill: nothing is new,
    /// and the returned cursor marks where "new" starts.
    pub async fn fetch(
        &self,
        client: &Client,
        templates: &Templates,
        cursor: &Cursor,
    ) -> anyhow::Result<(Vec<Polled>, Option<Cursor>)> {
        let item = self.trigger.item;
        let with = self.with(templates)?;
        if !cursor.primed && !self.trigger.backfill {
            let mut all = if item.is_body_search() {
                self.search(client, &with, cursor, true).await?
            } else {
                self.read_all(client, &with).await?
            };
            all.sort_by(|a, b| (a.time, &a.id).cmp(&(b.time, &b.id)));
            let mut primed = Cursor {
                primed: true,
                ..Cursor::default()
            };
            let lag = self.trigger.lag_ms();
            all.iter().for_each(|p| primed.advance(p, lag));
            primed.after = None;
            return Ok((Vec::new(), Some(primed)));
        }
        let mut found = if item.is_body_search() {
            self.search(client, &with, cursor, false).await?
        } else {
            self.read_all(client, &with).await?
        };
        found.sort_by(|a, b| (a.time, &a.id).cmp(&(b.time, &b.id)));
        found.retain(|p| cursor.is_new(p, self.trigger.lag_ms()));
        let primed = (!cursor.primed).then(|| Cursor {
            primed: true,
            ..cursor.clone()
        });
        Ok((found, primed))
    }

    /// The newest item, as a sample for dry runs.
    pub async fn newest(
        &self,
        client: &Client,
        templates: &Templates,
    ) -> anyhow::Result<Option<Polled>> {
        let with = self.with(templates)?;
        let mut all = if self.trigger.item.is_body_search() {
            self.search(client, &with, &Cursor::default(), true).await?
        } else {
            self.read_all(client, &with).await?
        };
        all.sort_by(|a, b| (a.time, &a.id).cmp(&(b.time, &b.id)));
        Ok(all.pop())
    }

    fn with(&self, templates: &Templates) -> anyhow::Result<Map<String, Value>> {
        let rendered =
            templates.render(&Value::Object(self.trigger.with.clone()), &self.context)?;
        Ok(match rendered {
            Value::Object(map) => map,
            _ => Map::new(),
        })
    }

    /// A search in time order from the watermark on, page after page by `searchAfter`.
    /// `newest_only`: just the newest item, to prime a cursor.
    async fn search(
        &self,
        client: &Client,
        with: &Map<String, Value>,
        cursor: &Cursor,
        newest_only: bool,
    ) -> anyhow::Result<Vec<Polled>> {
        let item = self.trigger.item;
        let since = self.since();
        let mut body = match with.get("body") {
            Some(Value::Object(body)) => body.clone(),
            _ => Map::new(),
        };
        if let Some(location) = self.location {
            body.entry("locationId").or_insert_with(|| json!(location));
        }
        let direction = if newest_only { "desc" } else { "asc" };
        body.insert(
            "sort".into(),
            json!([{"field": since, "direction": direction}]),
        );
        body.remove("page");
        let limit = if newest_only { 1 } else { self.page_size };
        body.insert("pageLimit".into(), json!(limit));
        if let (Some(start), false) = (cursor.window_start(self.trigger.lag_ms()), newest_only) {
            let mut filters = match body.remove("filters") {
                Some(Value::Array(filters)) => filters,
                _ => Vec::new(),
            };
            filters.push(json!({"field": since, "operator": "range", "value": {"gte": start}}));
            body.insert("filters".into(), Value::Array(filters));
        }
        let mut after = if newest_only {
            None
        } else {
            cursor.after.clone()
        };
        let mut found = Vec::new();
        for _ in 0..MAX_PAGES {
            let mut page_body = body.clone();
            if let Some(after) = &after {
                page_body.insert("searchAfter".into(), after.clone());
            }
            let answer = client
                .request(Method::POST, &item.path)
                .json(&page_body)?
                .send()
                .await?;
            let rows = items_of(item, &answer);
            let count = rows.len();
            for row in rows {
                let polled = self.polled(row, Some(&since));
                after = polled.after.clone();
                found.push(polled);
            }
            if count < limit || newest_only || after.is_none() {
                break;
            }
        }
        Ok(found)
    }

    /// Every page of a list, following its paging parameters.
    async fn read_all(
        &self,
        client: &Client,
        with: &Map<String, Value>,
    ) -> anyhow::Result<Vec<Polled>> {
        let item = self.trigger.item;
        let paging = Paging::of(item, self.page_size);
        let since = self.trigger.since.clone();
        let mut found = Vec::new();
        let mut state = PageState::default();
        for _ in 0..MAX_PAGES {
            let mut with = with.clone();
            paging.apply(&mut with, &state);
            let answer = request::call(client, item, &with, self.location)?
                .send()
                .await?;
            let rows = items_of(item, &answer);
            let count = rows.len();
            found.extend(rows.into_iter().map(|r| self.polled(r, since.as_deref())));
            match paging.next(&state, count, &answer) {
                Some(next) => state = next,
                None => break,
            }
        }
        Ok(found)
    }

    fn since(&self) -> String {
        self.trigger
            .since
            .clone()
            .unwrap_or_else(|| "dateAdded".to_owned())
    }

    fn polled(&self, item: Value, since: Option<&str>) -> Polled {
        let key_field = self.trigger.item.dedupe_key.as_deref().unwrap_or("id");
        let id = match field(&item, key_field) {
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => item.to_string(),
        };
        let time = since.and_then(|f| field(&item, f)).and_then(epoch_ms);
        let key = match time {
            Some(time) => format!("{id}@{time}"),
            None => id.clone(),
        };
        let after = item.get("searchAfter").cloned();
        Polled {
            id,
            time,
            key,
            item,
            after,
        }
    }
}

/// How a list pages, from the catalog's paging parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Paging {
    /// `skip` or `offset`, with `limit`.
    Offset(&'static str, usize),
    /// `startAfterId` and `startAfter` from the answer's `meta`, with `limit`.
    StartAfter(usize),
    /// One answer holds everything.
    Single,
}

#[derive(Debug, Clone, Default)]
struct PageState {
    offset: usize,
    start_after: Option<(Value, Value)>,
}

impl Paging {
    fn of(item: &Item, limit: usize) -> Paging {
        let has = |p: &str| item.paging_params.iter().any(|q| q == p);
        if has("startAfterId") {
            Paging::StartAfter(limit)
        } else if has("skip") && has("limit") {
            Paging::Offset("skip", limit)
        } else if has("offset") && has("limit") {
            Paging::Offset("offset", limit)
        } else {
            Paging::Single
        }
    }

    fn apply(&self, with: &mut Map<String, Value>, state: &PageState) {
        match self {
            Paging::Offset(name, limit) => {
                with.insert("limit".into(), json!(limit));
                with.insert((*name).into(), json!(state.offset));
            }
            Paging::StartAfter(limit) => {
                with.insert("limit".into(), json!(limit));
                if let Some((id, at)) = &state.start_after {
                    with.insert("startAfterId".into(), id.clone());
                    with.insert("startAfter".into(), at.clone());
                }
            }
            Paging::Single => {}
        }
    }

    fn next(&self, state: &PageState, count: usize, answer: &Value) -> Option<PageState> {
        match self {
            Paging::Offset(_, limit) | Paging::StartAfter(limit) if count < *limit => None,
            Paging::Offset(..) => Some(PageState {
                offset: state.offset + count,
                start_after: None,
            }),
            Paging::StartAfter(_) => {
                let meta = answer.get("meta")?;
                let id = meta.get("startAfterId").filter(|v| !v.is_null())?;
                let at = meta.get("startAfter").filter(|v| !v.is_null())?;
                Some(PageState {
                    offset: 0,
                    start_after: Some((id.clone(), at.clone())),
                })
            }
            Paging::Single => None,
        }
    }
}

/// The items of an answer, where the catalog says they are.
pub fn items_of(item: &Item, answer: &Value) -> Vec<Value> {
    if let Some(list) = &item.list_field {
        if let Some(inner) = list.strip_prefix("*.") {
            // Lists under every key of an object (free slots by day).
            return answer
                .as_object()
                .into_iter()
                .flat_map(|o| o.values())
                .filter_map(|v| field(v, inner).and_then(Value::as_array))
                .flatten()
                .cloned()
                .collect();
        }
        return field(answer, list)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
    }
    match item.item_field.as_deref().map(|f| field(answer, f)) {
        Some(Some(one)) if !one.is_null() => vec![one.clone()],
        _ => Vec::new(),
    }
}

/// A dotted field of `value`; `$` is the value itself.
fn field<'v>(value: &'v Value, path: &str) -> Option<&'v Value> {
    if path == "$" {
        return Some(value);
    }
    path.split('.').try_fold(value, |v, key| v.get(key))
}

/// A time as epoch milliseconds: a number of them, or an ISO 8601 date-time.
pub fn epoch_ms(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse::<i64>().ok().or_else(|| {
            chrono::DateTime::parse_from_rfc3339(s)
                .ok()
                .map(|t| t.timestamp_millis())
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;

    fn polled(id: &str, time: Option<i64>) -> Polled {
        Polled {
            id: id.into(),
            time,
            key: id.into(),
            item: Value::Null,
            after: None,
        }
    }

    #[test]
    fn the_watermark_and_the_ids_at_it_decide_what_is_new() {
        let mut cursor = Cursor::default();
        assert!(cursor.is_new(&polled("a", Some(10)), 0));
        cursor.advance(&polled("a", Some(10)), 0);
        assert!(!cursor.is_new(&polled("a", Some(10)), 0));
        assert!(
            cursor.is_new(&polled("b", Some(10)), 0),
            "same time, other id"
        );
        assert!(!cursor.is_new(&polled("z", Some(9)), 0));
        cursor.advance(&polled("b", Some(10)), 0);
        assert_eq!(cursor.recent.len(), 2);
        cursor.advance(&polled("a", Some(11)), 0);
        assert_eq!(cursor.watermark, Some(11));
        assert_eq!(cursor.recent, BTreeMap::from([("a".to_owned(), 11)]));
        assert!(cursor.is_new(&polled("b", Some(12)), 0), "a later change");
    }

    #[test]
    fn items_that_arrive_late_inside_the_lag_are_new_once() {
        let mut cursor = Cursor::default();
        cursor.advance(&polled("a", Some(1_000)), 300);
        cursor.advance(&polled("c", Some(2_000)), 300);
        assert_eq!(cursor.window_start(300), Some(1_700));
        assert_eq!(cursor.recent.len(), 1, "a is out of the window");
        assert!(
            cursor.is_new(&polled("b", Some(1_800)), 300),
            "stored late, behind c"
        );
        assert!(
            !cursor.is_new(&polled("b", Some(1_600)), 300),
            "later than the lag"
        );
        assert!(
            !cursor.is_new(&polled("c", Some(2_000)), 300),
            "seen again in the window"
        );
        cursor.advance(&polled("b", Some(1_800)), 300);
        assert_eq!(
            cursor.watermark,
            Some(2_000),
            "a late item does not move it back"
        );
        assert!(!cursor.is_new(&polled("b", Some(1_800)), 300));
        assert!(
            cursor.is_new(&polled("b", Some(1_900)), 300),
            "its next change"
        );
    }

    #[test]
    fn without_a_time_each_id_is_new_once() {
        let mut cursor = Cursor::default();
        cursor.advance(&polled("a", None), 0);
        assert!(!cursor.is_new(&polled("a", None), 0));
        assert!(cursor.is_new(&polled("b", None), 0));
    }

    #[test]
    fn items_are_found_where_the_catalog_says() {
        let catalog = Catalog::builtin();
        let search = catalog.get("contacts.search_contacts").unwrap();
        assert_eq!(
            items_of(
                search,
                &json!({"contacts": [{"id": 1}, {"id": 2}], "total": 2})
            )
            .len(),
            2
        );
        let get = catalog.get("contacts.get_contact").unwrap();
        assert_eq!(
            items_of(get, &json!({"contact": {"id": "x"}})),
            [json!({"id": "x"})]
        );
        assert!(items_of(get, &json!({})).is_empty());
        let slots = catalog.get("calendars.get_free_slots").unwrap();
        assert_eq!(
            items_of(
                slots,
                &json!({"2026-01-01": {"slots": ["a", "b"]}, "2026-01-02": {"slots": ["c"]}})
            )
            .len(),
            3
        );
        let messages = catalog
            .get("conversations.get_messages_by_conversation")
            .unwrap();
        assert_eq!(
            items_of(messages, &json!({"messages": {"messages": [1]}})),
            [json!(1)]
        );
    }

    #[test]
    fn paging_follows_the_catalog() {
        let catalog = Catalog::builtin();
        let of = |id: &str| Paging::of(catalog.get(id).unwrap(), 100);
        assert_eq!(
            of("contacts.list_contacts_deprecated"),
            Paging::StartAfter(100)
        );
        assert_eq!(
            of("contacts.get_contacts_by_business"),
            Paging::Offset("skip", 100)
        );
        assert_eq!(of("other.get_blog_posts"), Paging::Offset("offset", 100));
        assert_eq!(of("contacts.get_contact_tasks"), Paging::Single);
        let offset = Paging::Offset("skip", 100);
        assert!(offset
            .next(&PageState::default(), 99, &Value::Null)
            .is_none());
        assert_eq!(
            offset
                .next(&PageState::default(), 100, &Value::Null)
                .unwrap()
                .offset,
            100
        );
        let meta = json!({"meta": {"startAfterId": "x", "startAfter": 5}});
        assert!(Paging::StartAfter(100)
            .next(&PageState::default(), 100, &meta)
            .is_some());
        assert!(Paging::StartAfter(100)
            .next(&PageState::default(), 100, &json!({"meta": {}}))
            .is_none());
    }

    #[test]
    fn times_read_as_epoch_ms() {
        assert_eq!(epoch_ms(&json!(1764003536678_i64)), Some(1764003536678));
        assert_eq!(
            epoch_ms(&json!("2026-01-01T00:00:00.005Z")),
            Some(1767225600005)
        );
        assert_eq!(epoch_ms(&json!("yesterday")), None);
    }
}
