//! A [`SearchQuery`] over a [`LocationIndex`], with the meaning its SQL has (`contact_search`):
//! the matching set, then the page in sort order after the cursor.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use memchr::memmem::Finder;
use roaring::RoaringBitmap;

use super::text::TextColumn;
use super::{keep, Hits, LocationIndex};
use crate::contact_search::{
    Cmp, Condition, CursorValue, CustomShape, Filter, Kind, Operand, SearchQuery, Test,
};

/// A sort key the index holds.
#[derive(Debug, Clone, Copy)]
enum SortColumn {
    DateAdded,
    DateUpdated,
    Dnd,
    FirstName,
    LastName,
    Email,
    Source,
}

impl SortColumn {
    fn of(name: &str) -> Option<SortColumn> {
        Some(match name {
            "dateAdded" => SortColumn::DateAdded,
            "dateUpdated" => SortColumn::DateUpdated,
            "dnd" => SortColumn::Dnd,
            "firstNameLowerCase" => SortColumn::FirstName,
            "lastNameLowerCase" => SortColumn::LastName,
            "email" => SortColumn::Email,
            "source" => SortColumn::Source,
            _ => return None,
        })
    }
}

/// Whether the index can order the search's pages.
pub(super) fn sortable(q: &SearchQuery) -> bool {
    q.sort
        .iter()
        .all(|key| SortColumn::of(key.field.name).is_some())
}

/// A sort value: numbers, or text where no value sorts as `''` (as `COALESCE` does in SQL).
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Key<'a> {
    Int(i64),
    Text(&'a [u8]),
}

/// How cheap a filter is per candidate: sets first, then number columns, then text, so that
/// each narrows the candidates of the next.
fn cost(filter: &Filter) -> u8 {
    match filter {
        Filter::Nothing => 0,
        Filter::All(items) | Filter::Any(items) => items.iter().map(cost).max().unwrap_or(0),
        Filter::Condition(c) => match c.kind {
            Kind::Members { .. } | Kind::Exact("id") | Kind::NoData => 0,
            Kind::Bool(_) | Kind::Millis(_) | Kind::Custom(_) => 1,
            _ => 2,
        },
    }
}

fn number(operand: &Operand) -> Option<f64> {
    match operand {
        Operand::Float(x) => Some(*x),
        Operand::Int(n) => Some(*n as f64),
        Operand::Text(_) => None,
    }
}

fn passes<T: PartialOrd>(value: T, bounds: &[(Cmp, T)]) -> bool {
    bounds.iter().all(|(cmp, bound)| match cmp {
        Cmp::Gt => value > *bound,
        Cmp::Gte => value >= *bound,
        Cmp::Lt => value < *bound,
        Cmp::Lte => value <= *bound,
    })
}

/// A text column's test, as `Condition::push_sql` renders it for a text column.
fn text_test(column: &TextColumn, test: &Test, within: &RoaringBitmap) -> Option<RoaringBitmap> {
    Some(match test {
        Test::Eq(Operand::Text(v)) => column.filter(within, |x| x == Some(v.as_bytes())),
        Test::NotEq(Operand::Text(v)) => column.filter(within, |x| x != Some(v.as_bytes())),
        Test::Contains(t) => column.containing(t.to_lowercase().as_bytes(), within),
        Test::NotContains(t) => within - column.containing(t.to_lowercase().as_bytes(), within),
        Test::Exists => column.filter(within, |x| x.is_some_and(|x| !x.is_empty())),
        Test::NotExists => column.filter(within, |x| x.is_none_or(<[u8]>::is_empty)),
        _ => return None,
    })
}

impl LocationIndex {
    fn text_column(&self, expr: &str) -> Option<&TextColumn> {
        Some(match expr {
            "first_name_lower" => &self.first_name,
            "last_name_lower" => &self.last_name,
            "full_name_lower" => &self.full_name,
            "email_lower" => &self.email,
            "company_name" => &self.company,
            "phone" => &self.phone,
            "assigned_to" => &self.assigned_to,
            "address1" => &self.address,
            "city" => &self.city,
            "state" => &self.state,
            "postal_code" => &self.postal_code,
            "source" => &self.source,
            "country" => &self.country,
            "timezone" => &self.timezone,
            "contact_type" => &self.contact_type,
            "website" => &self.website,
            "date_of_birth" => &self.date_of_birth,
            _ => return None,
        })
    }

    /// The contacts of the location that match, with their page; `None` when the search uses
    /// a field the index does not hold.
    pub(super) fn search(&self, q: &SearchQuery) -> Option<Hits> {
        let mut matches = self.matching(&q.filter, &self.live)?;
        if let Some(text) = &q.text {
            matches = self.text_query(text, &matches);
        }
        let skip = if q.search_after.is_some() {
            0
        } else {
            usize::try_from((q.page - 1).saturating_mul(q.page_limit)).ok()?
        };
        let limit = usize::try_from(q.page_limit).ok()?;
        let page = self.page(q, &matches, skip, limit)?;
        Some(Hits {
            total: matches.len(),
            ids: page
                .into_iter()
                .map(|o| self.ids[o as usize].to_string())
                .collect(),
        })
    }

    /// The contacts of `within` that pass the filter.
    fn matching(&self, filter: &Filter, within: &RoaringBitmap) -> Option<RoaringBitmap> {
        match filter {
            Filter::Nothing => Some(RoaringBitmap::new()),
            Filter::All(items) => {
                let mut items: Vec<&Filter> = items.iter().collect();
                items.sort_by_key(|f| cost(f));
                let mut left = within.clone();
                for item in items {
                    left = self.matching(item, &left)?;
                }
                Some(left)
            }
            Filter::Any(items) if items.is_empty() => Some(within.clone()),
            Filter::Any(items) => {
                let mut found = RoaringBitmap::new();
                for item in items {
                    found |= self.matching(item, within)?;
                }
                Some(found)
            }
            Filter::Condition(condition) => self.condition(condition, within),
        }
    }

    fn condition(&self, c: &Condition, within: &RoaringBitmap) -> Option<RoaringBitmap> {
        let everyone = || within.clone();
        let no_one = RoaringBitmap::new;
        match (c.kind, &c.test) {
            (Kind::NoData, Test::NotEq(_) | Test::NotContains(_) | Test::NotExists) => {
                Some(everyone())
            }
            (Kind::NoData, _) => Some(no_one()),
            (Kind::Exact("id"), Test::Eq(Operand::Text(id)) | Test::NotEq(Operand::Text(id))) => {
                let mut one = RoaringBitmap::new();
                if let Some(&ordinal) = self.ordinals.get(id.as_str()) {
                    one.insert(ordinal);
                }
                Some(if matches!(c.test, Test::Eq(_)) {
                    within & one
                } else {
                    within - one
                })
            }
            (Kind::Text { expr, .. } | Kind::Exact(expr), test) => {
                text_test(self.text_column(expr)?, test, within)
            }
            (Kind::Phone, test) => text_test(&self.phone, test, within),
            // `YYYY-MM-DD` text: bounds compare as text, as in SQL.
            (Kind::Date(expr), Test::Range(bounds)) => {
                let column = self.text_column(expr)?;
                let bounds = bounds
                    .iter()
                    .map(|(cmp, v)| match v {
                        Operand::Text(day) => Some((*cmp, day.as_bytes())),
                        _ => None,
                    })
                    .collect::<Option<Vec<_>>>()?;
                Some(column.filter(within, |x| x.is_some_and(|x| passes(x, &bounds))))
            }
            (Kind::Date(expr), Test::Exists | Test::NotExists) => {
                text_test(self.text_column(expr)?, &c.test, within)
            }
            (Kind::Bool("dnd"), Test::Eq(Operand::Int(b)) | Test::NotEq(Operand::Int(b))) => {
                let wanted = (*b != 0) == matches!(c.test, Test::Eq(_));
                Some(keep(within, self.dnd.len(), |o| {
                    self.dnd[o as usize] == wanted
                }))
            }
            (Kind::Bool("dnd") | Kind::Millis(_), Test::Exists) => Some(everyone()),
            (Kind::Bool("dnd") | Kind::Millis(_), Test::NotExists) => Some(no_one()),
            (Kind::Millis(expr), Test::Range(bounds)) => {
                let column = match expr {
                    "date_added" => &self.date_added,
                    "date_updated" => &self.date_updated,
                    _ => return None,
                };
                let bounds = bounds
                    .iter()
                    .map(|(cmp, v)| match v {
                        Operand::Int(ms) => Some((*cmp, *ms)),
                        _ => None,
                    })
                    .collect::<Option<Vec<_>>>()?;
                Some(keep(within, column.len(), |o| {
                    passes(column[o as usize], &bounds)
                }))
            }
            (Kind::Members { table, .. }, test) => self.members_test(table, test, within),
            (Kind::Custom(CustomShape::Number), _) => self.number_test(c, within),
            _ => None,
        }
    }

    /// A member table's test: `eq` holds when one of the contact's rows has the value, `not_eq`
    /// when none has; `exists` when it has any.
    fn members_test(
        &self,
        table: &str,
        test: &Test,
        within: &RoaringBitmap,
    ) -> Option<RoaringBitmap> {
        let members = self.members.iter().find(|m| m.table == table)?;
        let holders = |pick: &dyn Fn(&str) -> bool| {
            let mut found = RoaringBitmap::new();
            for (value, holders) in &members.by_value {
                if pick(value) {
                    found |= holders;
                }
            }
            found
        };
        let (holding, negated) = match test {
            Test::Eq(Operand::Text(v)) | Test::NotEq(Operand::Text(v)) => (
                members
                    .by_value
                    .get(v.as_str())
                    .cloned()
                    .unwrap_or_default(),
                matches!(test, Test::NotEq(_)),
            ),
            Test::Contains(t) | Test::NotContains(t) => {
                // SQL's LIKE, which ignores the case of ASCII letters.
                let needle = t.to_lowercase();
                let finder = Finder::new(needle.as_bytes());
                let found =
                    holders(&|value| finder.find(value.to_ascii_lowercase().as_bytes()).is_some());
                (found, matches!(test, Test::NotContains(_)))
            }
            Test::Exists => (holders(&|_| true), false),
            Test::NotExists | Test::Range(_) => (holders(&|_| true), true),
            Test::Eq(_) | Test::NotEq(_) => return None,
        };
        Some(if negated {
            within - holding
        } else {
            within & holding
        })
    }

    /// A number custom field's test, over the values `contact_field_values` holds.
    fn number_test(&self, c: &Condition, within: &RoaringBitmap) -> Option<RoaringBitmap> {
        let (target, test) = (c.custom.as_ref()?, &c.test);
        let empty = Vec::new();
        let column = self.numbers.get(&target.id).unwrap_or(&empty);
        let value = |o: u32| column.get(o as usize).copied().unwrap_or(f64::NAN);
        match test {
            Test::Eq(v) | Test::NotEq(v) => {
                let v = number(v)?;
                let equal = keep(within, self.ids.len(), |o| value(o) == v);
                Some(if matches!(test, Test::Eq(_)) {
                    equal
                } else {
                    within - equal
                })
            }
            Test::Range(bounds) => {
                let bounds = bounds
                    .iter()
                    .map(|(cmp, v)| number(v).map(|v| (*cmp, v)))
                    .collect::<Option<Vec<_>>>()?;
                Some(keep(within, self.ids.len(), |o| passes(value(o), &bounds)))
            }
            _ => None,
        }
    }

    /// `query`: the contacts whose name, email or company holds the text, whose phone holds
    /// its digits, or who hold a tag that holds it.
    fn text_query(&self, text: &str, within: &RoaringBitmap) -> RoaringBitmap {
        let needle = text.to_lowercase();
        let digits: String = text.chars().filter(char::is_ascii_digit).collect();
        // Two scans of the four on another core.
        let (mut found, others) = std::thread::scope(|scope| {
            let names = scope.spawn(|| {
                self.full_name.containing(needle.as_bytes(), within)
                    | self.email.containing(needle.as_bytes(), within)
            });
            let mut others = self.company.containing(needle.as_bytes(), within);
            if !digits.is_empty() {
                others |= self.phone.containing(digits.as_bytes(), within);
            }
            // A panic in the scan is the scan's to report.
            let names = names
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (names, others)
        });
        found |= others;
        if let Some(tagged) = self.members_test("contact_tags", &Test::Contains(needle), within) {
            found |= tagged;
        }
        found
    }

    fn key(&self, column: SortColumn, ordinal: u32) -> Key<'_> {
        let o = ordinal as usize;
        fn text(column: &TextColumn, ordinal: u32) -> Key<'_> {
            Key::Text(column.get(ordinal).unwrap_or_default())
        }
        match column {
            SortColumn::DateAdded => Key::Int(self.date_added[o]),
            SortColumn::DateUpdated => Key::Int(self.date_updated[o]),
            SortColumn::Dnd => Key::Int(i64::from(self.dnd[o])),
            SortColumn::FirstName => text(&self.first_name, ordinal),
            SortColumn::LastName => text(&self.last_name, ordinal),
            SortColumn::Email => text(&self.email, ordinal),
            SortColumn::Source => text(&self.source, ordinal),
        }
    }

    /// The page: the first `skip + limit` matches after the cursor in sort order, less `skip`.
    fn page(
        &self,
        q: &SearchQuery,
        matches: &RoaringBitmap,
        skip: usize,
        limit: usize,
    ) -> Option<Vec<u32>> {
        let order = Order {
            index: self,
            keys: q
                .sort
                .iter()
                .map(|key| Some((SortColumn::of(key.field.name)?, key.descending)))
                .collect::<Option<Vec<_>>>()?,
            id_descending: q.id_descending(),
        };
        let keep = skip.saturating_add(limit);
        // The first key as a number that grows along the order, when it is one: most rows are
        // placed by it alone, without the full comparison.
        let primary = order.keys.first().and_then(|&(column, descending)| {
            let directed = move |n: i64| if descending { !n } else { n };
            let values: Box<dyn Fn(u32) -> i64 + '_> = match column {
                SortColumn::DateAdded => Box::new(move |o| directed(self.date_added[o as usize])),
                SortColumn::DateUpdated => {
                    Box::new(move |o| directed(self.date_updated[o as usize]))
                }
                SortColumn::Dnd => Box::new(move |o| directed(i64::from(self.dnd[o as usize]))),
                _ => return None,
            };
            Some((values, directed))
        });
        let cursor_primary = match (&primary, q.search_after.as_ref().and_then(|c| c.first())) {
            (Some((_, directed)), Some(CursorValue::Int(n))) => Some(directed(*n)),
            _ => None,
        };
        let mut best: BinaryHeap<Ranked> = BinaryHeap::with_capacity(keep.min(1 << 16) + 1);
        // The first key of the worst row kept, once the page is full.
        let mut worst: Option<i64> = None;
        // Many matches and a number first: walk the ordinals, which most rows leave at their
        // first key, and ask the (slower) bitmap only of the rows that would make the page.
        let dense = primary.is_some() && matches.len().saturating_mul(4) >= self.ids.len() as u64;
        let universe = u32::try_from(self.ids.len()).unwrap_or(u32::MAX);
        let candidates: Box<dyn Iterator<Item = u32>> = if dense {
            Box::new(0..universe)
        } else {
            Box::new(matches.iter())
        };
        for ordinal in candidates {
            let first = primary.as_ref().map(|(values, _)| values(ordinal));
            if let Some(cursor) = &q.search_after {
                match (first, cursor_primary) {
                    (Some(first), Some(after)) if first < after => continue,
                    (Some(first), Some(after)) if first > after => {}
                    _ if order.against_cursor(ordinal, cursor) != Ordering::Greater => continue,
                    _ => {}
                }
            }
            if best.len() == keep {
                // The worst kept is on top: a row behind it cannot make the page.
                let ahead = match (first, worst) {
                    (Some(first), Some(worst)) if first != worst => first < worst,
                    _ => best
                        .peek()
                        .is_some_and(|w| order.compare(ordinal, w.ordinal) == Ordering::Less),
                };
                if !ahead {
                    continue;
                }
            }
            if dense && !matches.contains(ordinal) {
                continue;
            }
            if best.len() == keep {
                best.pop();
            }
            best.push(Ranked {
                ordinal,
                order: &order,
            });
            if best.len() == keep {
                worst = primary
                    .as_ref()
                    .zip(best.peek())
                    .map(|((values, _), w)| values(w.ordinal));
            }
        }
        let ranked = best.into_sorted_vec();
        Some(ranked.into_iter().skip(skip).map(|r| r.ordinal).collect())
    }
}

/// The search's order: its keys, then the id (downwards when the last key is).
struct Order<'a> {
    index: &'a LocationIndex,
    keys: Vec<(SortColumn, bool)>,
    id_descending: bool,
}

fn directed(ordering: Ordering, descending: bool) -> Ordering {
    if descending {
        ordering.reverse()
    } else {
        ordering
    }
}

impl Order<'_> {
    fn compare(&self, a: u32, b: u32) -> Ordering {
        for &(column, descending) in &self.keys {
            let ordering = self.index.key(column, a).cmp(&self.index.key(column, b));
            if ordering != Ordering::Equal {
                return directed(ordering, descending);
            }
        }
        let id = |o: u32| self.index.ids[o as usize].as_bytes();
        directed(id(a).cmp(id(b)), self.id_descending)
    }

    /// Where the row stands against a `searchAfter` cursor: `Greater` when it comes after.
    fn against_cursor(&self, ordinal: u32, cursor: &[CursorValue]) -> Ordering {
        for (&(column, descending), value) in self.keys.iter().zip(cursor) {
            let ordering = match (self.index.key(column, ordinal), value) {
                (Key::Int(n), CursorValue::Int(c)) => n.cmp(c),
                (Key::Text(t), CursorValue::Text(c)) => t.cmp(c.as_bytes()),
                // A cursor of the other type (parsing gives each key its own).
                (Key::Int(_), CursorValue::Text(_)) => Ordering::Less,
                (Key::Text(_), CursorValue::Int(_)) => Ordering::Greater,
            };
            if ordering != Ordering::Equal {
                return directed(ordering, descending);
            }
        }
        let id = match cursor.get(self.keys.len()) {
            Some(CursorValue::Text(id)) => id.clone(),
            Some(CursorValue::Int(n)) => n.to_string(),
            None => String::new(),
        };
        let ordering = self.index.ids[ordinal as usize]
            .as_bytes()
            .cmp(id.as_bytes());
        directed(ordering, self.id_descending)
    }
}

/// A kept row, ordered as the search orders rows.
struct Ranked<'a> {
    ordinal: u32,
    order: &'a Order<'a>,
}

impl PartialEq for Ranked<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.ordinal == other.ordinal
    }
}

impl Eq for Ranked<'_> {}

impl PartialOrd for Ranked<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Ranked<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.order.compare(self.ordinal, other.ordinal)
    }
}
