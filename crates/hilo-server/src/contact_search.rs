//! The request language of `POST /contacts/search` (dossier §4): a body is parsed into a typed
//! [`SearchQuery`] (or refused with the message HighLevel's would give), and the query renders
//! as SQL over the `contacts` table for either engine. Pure: no I/O, and no input makes it panic.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveTime, TimeZone};
use chrono_tz::Tz;
use serde_json::{Map, Value};

use crate::custom_fields::DataType;
use crate::db::Backend;
use crate::sql::{like_contains, SqlBuilder};

/// The most rows one page may ask for.
pub const MAX_PAGE_LIMIT: i64 = 500;
/// How deep `page` × `pageLimit` may reach; past it, `searchAfter` is the only way on.
pub const PAGE_WINDOW: i64 = 10_000;
/// The longest string a condition or `query` may carry.
const MAX_VALUE_CHARS: usize = 75;
const MAX_SORT_FIELDS: usize = 2;

/// Where rendered SQL runs: the engine, and the location every subquery is scoped to (so that
/// each can read its own index instead of being correlated with the contact row).
#[derive(Debug, Clone, Copy)]
pub struct SqlScope<'a> {
    pub backend: Backend,
    pub location_id: &'a str,
}

/// Why a body was refused: an unknown field is HighLevel's 400, anything else its 422.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchError {
    InvalidField(String),
    Invalid(Vec<String>),
}

/// What parsing needs to know of the location searched.
#[derive(Debug, Clone)]
pub struct SearchContext {
    pub backend: Backend,
    /// Date-only bounds are whole days here.
    pub timezone: Tz,
    /// Phones written without a country code are read in this country.
    pub country: String,
    /// The data types of the location's contact custom fields the body names, by id.
    pub custom_fields: HashMap<String, DataType>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    NotEq,
    Contains,
    NotContains,
    Exists,
    NotExists,
    Range,
}

impl Op {
    const ALL: [Op; 7] = [
        Op::Eq,
        Op::NotEq,
        Op::Contains,
        Op::NotContains,
        Op::Exists,
        Op::NotExists,
        Op::Range,
    ];

    fn name(self) -> &'static str {
        match self {
            Op::Eq => "eq",
            Op::NotEq => "not_eq",
            Op::Contains => "contains",
            Op::NotContains => "not_contains",
            Op::Exists => "exists",
            Op::NotExists => "not_exists",
            Op::Range => "range",
        }
    }

    fn parse(s: &str) -> Option<Op> {
        Op::ALL.into_iter().find(|op| op.name() == s)
    }
}

/// How a field is stored, which decides how each operator compares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Text compared case-insensitively; `lowered`: the column already holds it lower-cased.
    Text { expr: &'static str, lowered: bool },
    /// Text compared exactly (ids).
    Exact(&'static str),
    /// An E.164 phone: `eq` reads the value as a phone, `contains` matches its digits.
    Phone,
    /// A 0/1 column that always has a value.
    Bool(&'static str),
    /// Epoch milliseconds.
    Millis(&'static str),
    /// A `YYYY-MM-DD` date.
    Date(&'static str),
    /// Rows of a table under the contact (`tags`, `followers`, workflow enrolments): `eq`
    /// holds when one of them has the value, `not_eq` when none has.
    Members {
        table: &'static str,
        column: &'static str,
        fold_case: bool,
    },
    /// A DND channel's `status`, inside a JSON column.
    DndStatus {
        column: &'static str,
        channel: &'static str,
    },
    /// A field HighLevel has and hilo keeps no data for yet: no contact has a value.
    NoData,
    /// A custom field's value, in the contact's `custom_fields` JSON; which one is the
    /// condition's [`CustomTarget`].
    Custom(CustomShape),
}

/// How a custom field's values compare, by its data type (dossier §4.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomShape {
    /// TEXT, LARGE_TEXT, SINGLE_OPTIONS, RADIO, PHONE, EMAIL, and a TEXTBOX_LIST row.
    Text,
    /// CHECKBOX, MULTIPLE_OPTIONS: a list; `eq` holds when one element is the value.
    Options,
    /// NUMERICAL, MONETORY.
    Number,
    /// DATE: compared by its ISO day.
    Date,
    /// FILE_UPLOAD, and a TEXTBOX_LIST as a whole: only whether it has a value.
    Presence,
}

impl CustomShape {
    fn of(data_type: DataType) -> CustomShape {
        match data_type {
            DataType::Text
            | DataType::LargeText
            | DataType::SingleOptions
            | DataType::Radio
            | DataType::Phone
            | DataType::Email => CustomShape::Text,
            DataType::Checkbox | DataType::MultipleOptions => CustomShape::Options,
            DataType::Numerical | DataType::Monetory => CustomShape::Number,
            DataType::Date => CustomShape::Date,
            DataType::FileUpload | DataType::TextboxList => CustomShape::Presence,
        }
    }

    fn ops(self) -> &'static [Op] {
        match self {
            CustomShape::Text => TEXT_OPS,
            CustomShape::Options => EQ_OPS,
            CustomShape::Number => &[Op::Range, Op::Exists, Op::NotExists, Op::Eq, Op::NotEq],
            CustomShape::Date => DATE_OPS,
            CustomShape::Presence => &[Op::Exists, Op::NotExists],
        }
    }
}

/// The custom field a condition names: `customFields.{id}`, or `customFields.{id}.{rowId}` for
/// a row of a TEXTBOX_LIST field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomTarget {
    pub(crate) id: String,
    pub(crate) row: Option<String>,
}

/// `customFields.{id}[.{rowId}]`: the field's shape and target, if the location has it.
fn custom_field(name: &str, ctx: &SearchContext) -> Option<(CustomShape, CustomTarget)> {
    let rest = name.strip_prefix("customFields.")?;
    let (id, row) = match rest.split_once('.') {
        Some((id, row)) => (id, Some(row)),
        None => (rest, None),
    };
    let data_type = *ctx.custom_fields.get(id)?;
    let shape = match (data_type, row) {
        (_, None) => CustomShape::of(data_type),
        // Row ids are UUIDs: anything else cannot name a row (and never reaches a JSON path).
        (DataType::TextboxList, Some(row))
            if !row.is_empty() && row.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') =>
        {
            CustomShape::Text
        }
        _ => return None,
    };
    Some((
        shape,
        CustomTarget {
            id: id.to_owned(),
            row: row.map(str::to_owned),
        },
    ))
}

/// The custom field ids a search body names, so that their definitions can be loaded first.
pub fn custom_field_ids(body: &Map<String, Value>) -> Vec<String> {
    fn walk(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            Value::Object(object) => {
                if let Some(id) = object
                    .get("field")
                    .and_then(Value::as_str)
                    .and_then(|f| f.strip_prefix("customFields."))
                    .map(|rest| rest.split('.').next().unwrap_or(rest))
                {
                    if !out.iter().any(|known| known == id) {
                        out.push(id.to_owned());
                    }
                }
                if let Some(filters) = object.get("filters") {
                    walk(filters, out);
                }
            }
            _ => {}
        }
    }
    let mut ids = Vec::new();
    if let Some(filters) = body.get("filters") {
        walk(filters, &mut ids);
    }
    ids
}

struct FieldDef {
    name: &'static str,
    kind: Kind,
    ops: &'static [Op],
}

const TEXT_OPS: &[Op] = &[
    Op::Eq,
    Op::NotEq,
    Op::Contains,
    Op::NotContains,
    Op::Exists,
    Op::NotExists,
];
const EQ_OPS: &[Op] = &[Op::Eq, Op::NotEq, Op::Exists, Op::NotExists];
const DATE_OPS: &[Op] = &[Op::Range, Op::Exists, Op::NotExists];
const ID_OPS: &[Op] = &[Op::Eq, Op::NotEq];

/// The business a contact belongs to, by name (a macro so that `concat!` can build on it).
macro_rules! business_name {
    () => {
        "(SELECT b.name FROM businesses b WHERE b.id = contacts.business_id \
         AND b.location_id = contacts.location_id)"
    };
}
pub const BUSINESS_NAME: &str = business_name!();

const fn text(expr: &'static str) -> Kind {
    Kind::Text {
        expr,
        lowered: false,
    }
}

const fn lowered(expr: &'static str) -> Kind {
    Kind::Text {
        expr,
        lowered: true,
    }
}

const fn field(name: &'static str, kind: Kind, ops: &'static [Op]) -> FieldDef {
    FieldDef { name, kind, ops }
}

const TAGS: Kind = Kind::Members {
    table: "contact_tags",
    column: "tag",
    fold_case: true,
};
const FOLLOWERS: Kind = Kind::Members {
    table: "contact_followers",
    column: "user_id",
    fold_case: false,
};
const WORKFLOWS: Kind = Kind::Members {
    table: "contact_workflows",
    column: "workflow_id",
    fold_case: false,
};

/// The filterable fields of dossier §4.4, each with the operators HighLevel allows on it.
#[rustfmt::skip]
const FIELDS: &[FieldDef] = &[
    field("id", Kind::Exact("id"), ID_OPS),
    field("contactName", lowered("full_name_lower"), EQ_OPS),
    field("firstNameLowerCase", lowered("first_name_lower"), TEXT_OPS),
    field("lastNameLowerCase", lowered("last_name_lower"), TEXT_OPS),
    field("email", lowered("email_lower"), EQ_OPS),
    field("phone", Kind::Phone, TEXT_OPS),
    field("address", text("address1"), TEXT_OPS),
    field("city", text("city"), TEXT_OPS),
    field("state", text("state"), TEXT_OPS),
    field("postalCode", text("postal_code"), TEXT_OPS),
    field("businessName", text(BUSINESS_NAME), TEXT_OPS),
    field("companyName", text("company_name"), TEXT_OPS),
    field("source", text("source"), TEXT_OPS),
    field("country", text("country"), EQ_OPS),
    field("timezone", text("timezone"), EQ_OPS),
    field("type", text("contact_type"), EQ_OPS),
    field("assignedTo", Kind::Exact("assigned_to"), EQ_OPS),
    field("dnd", Kind::Bool("dnd"), EQ_OPS),
    field("validEmail", Kind::NoData, EQ_OPS),
    field("isValidWhatsapp", Kind::NoData, EQ_OPS),
    field("followers", FOLLOWERS, EQ_OPS),
    field("website", text("website"), EQ_OPS),
    field("tags", TAGS, TEXT_OPS),
    field("dateAdded", Kind::Millis("date_added"), DATE_OPS),
    field("dateUpdated", Kind::Millis("date_updated"), DATE_OPS),
    field("dateOfBirth", Kind::Date("date_of_birth"), DATE_OPS),
    field("lastEmailClickedDate", Kind::NoData, DATE_OPS),
    field("lastEmailOpenedDate", Kind::NoData, DATE_OPS),
    field("lastAppointment", Kind::NoData, DATE_OPS),
    // hilo's workflows do not run: every enrolment is active, none finished.
    field("activeWorkflows", WORKFLOWS, EQ_OPS),
    field("finishedWorkflows", Kind::NoData, EQ_OPS),
    field("dndSettings.Email.status", Kind::DndStatus { column: "dnd_settings", channel: "Email" }, ID_OPS),
    field("dndSettings.SMS.status", Kind::DndStatus { column: "dnd_settings", channel: "SMS" }, ID_OPS),
    field("dndSettings.Call.status", Kind::DndStatus { column: "dnd_settings", channel: "Call" }, ID_OPS),
    field("inboundDndSettings.all.status", Kind::DndStatus { column: "inbound_dnd_settings", channel: "all" }, ID_OPS),
];

/// The sub-fields of a nested `opportunities` condition.
const OPPORTUNITY_FIELDS: &[&str] = &["pipelineId", "pipelineStageId", "status"];

/// A value to compare with, already in the form the column stores.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Operand {
    Text(String),
    Int(i64),
    Float(f64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cmp {
    Gt,
    Gte,
    Lt,
    Lte,
}

impl Cmp {
    fn sql(self) -> &'static str {
        match self {
            Cmp::Gt => " > ",
            Cmp::Gte => " >= ",
            Cmp::Lt => " < ",
            Cmp::Lte => " <= ",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Test {
    Eq(Operand),
    NotEq(Operand),
    Contains(String),
    NotContains(String),
    Exists,
    NotExists,
    Range(Vec<(Cmp, Operand)>),
}

/// A parsed `filters` tree.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    All(Vec<Filter>),
    Any(Vec<Filter>),
    Condition(Condition),
    /// Matches no contact (a nested `opportunities` condition: hilo has no opportunities).
    Nothing,
}

/// A condition: the field's storage and the test on it.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub(crate) kind: Kind,
    pub(crate) test: Test,
    /// Which custom field, for [`Kind::Custom`].
    pub(crate) custom: Option<CustomTarget>,
}

/// A sortable field: an expression that is never NULL, so that rows order the same way on
/// both engines and cursors compare plainly.
#[derive(Debug)]
pub struct SortField {
    pub name: &'static str,
    pub expr: &'static str,
    /// Numeric cursors (epoch ms, 0/1) rather than text.
    pub numeric: bool,
}

#[rustfmt::skip]
const SORT_FIELDS: &[SortField] = &[
    SortField { name: "firstNameLowerCase", expr: "COALESCE(first_name_lower, '')", numeric: false },
    SortField { name: "lastNameLowerCase", expr: "COALESCE(last_name_lower, '')", numeric: false },
    SortField { name: "businessName", expr: concat!("COALESCE(", business_name!(), ", '')"), numeric: false },
    SortField { name: "dateAdded", expr: "date_added", numeric: true },
    SortField { name: "dateUpdated", expr: "date_updated", numeric: true },
    SortField { name: "email", expr: "COALESCE(email_lower, '')", numeric: false },
    SortField { name: "dnd", expr: "dnd", numeric: true },
    SortField { name: "source", expr: "COALESCE(lower(source), '')", numeric: false },
];

/// The default sort, newest first (dossier §4.5).
const DATE_ADDED: &SortField = &SORT_FIELDS[3];

#[derive(Debug, Clone, Copy)]
pub struct SortKey {
    pub field: &'static SortField,
    pub descending: bool,
}

/// A cursor value: one per sort key, then the contact id.
#[derive(Debug, Clone, PartialEq)]
pub enum CursorValue {
    Text(String),
    Int(i64),
}

/// A valid search.
#[derive(Debug, Clone)]
pub struct SearchQuery {
    /// 1-based; absent with `searchAfter`.
    pub page: i64,
    pub page_limit: i64,
    pub search_after: Option<Vec<CursorValue>>,
    pub filter: Filter,
    /// The requested keys (or `dateAdded desc`); the id follows them as the tiebreaker.
    pub sort: Vec<SortKey>,
    /// Free text matched across name, email, phone, company and tags.
    pub text: Option<String>,
}

/// Collects what is wrong with a body: an unknown field wins (400), else every message (422).
#[derive(Default)]
struct Problems {
    invalid_field: Option<String>,
    messages: Vec<String>,
}

impl Problems {
    fn say(&mut self, message: String) {
        self.messages.push(message);
    }
}

/// Parses the body of `POST /contacts/search` (its `locationId` already checked).
pub fn parse(body: &Map<String, Value>, ctx: &SearchContext) -> Result<SearchQuery, SearchError> {
    let mut problems = Problems::default();
    let page_limit = integer(
        body.get("pageLimit"),
        "pageLimit",
        1,
        MAX_PAGE_LIMIT,
        true,
        &mut problems,
    );
    let page = integer(body.get("page"), "page", 1, i64::MAX, false, &mut problems);
    let sort = parse_sort(body.get("sort"), &mut problems);
    let search_after = body
        .get("searchAfter")
        .filter(|v| !v.is_null())
        .and_then(|v| parse_cursor(v, &sort, &mut problems));
    if page.is_some() && body.get("searchAfter").is_some_and(|v| !v.is_null()) {
        problems.say("page and searchAfter cannot be used together".to_owned());
    }
    if let (Some(page), Some(limit)) = (page, page_limit) {
        if page.saturating_mul(limit) > PAGE_WINDOW {
            problems.say(format!(
                "page and pageLimit reach past the first {PAGE_WINDOW} records: use searchAfter \
                 to go further"
            ));
        }
    }
    let text = match body.get("query") {
        None | Some(Value::Null) => None,
        Some(Value::String(q)) if q.chars().count() > MAX_VALUE_CHARS => {
            problems.say(format!(
                "query must be shorter than or equal to {MAX_VALUE_CHARS} characters"
            ));
            None
        }
        Some(Value::String(q)) => Some(q.trim().to_owned()).filter(|q| !q.is_empty()),
        Some(_) => {
            problems.say("query must be a string".to_owned());
            None
        }
    };
    let filter = match body.get("filters") {
        None | Some(Value::Null) => Filter::All(Vec::new()),
        Some(Value::Array(items)) => Filter::All(
            items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| {
                    parse_item(item, &format!("filters.{i}"), ctx, &mut problems)
                })
                .collect(),
        ),
        Some(_) => {
            problems.say("filters must be an array".to_owned());
            Filter::All(Vec::new())
        }
    };
    if let Some(field) = problems.invalid_field {
        return Err(SearchError::InvalidField(field));
    }
    match page_limit {
        Some(page_limit) if problems.messages.is_empty() => Ok(SearchQuery {
            page: page.unwrap_or(1),
            page_limit,
            search_after,
            filter,
            sort,
            text,
        }),
        _ => Err(SearchError::Invalid(problems.messages)),
    }
}

/// A whole number within bounds, in class-validator's words when it is not.
fn integer(
    value: Option<&Value>,
    name: &str,
    min: i64,
    max: i64,
    required: bool,
    problems: &mut Problems,
) -> Option<i64> {
    match value {
        None | Some(Value::Null) => {
            if required {
                problems.say(format!(
                    "{name} must be a number conforming to the specified constraints"
                ));
            }
            None
        }
        Some(Value::Number(n)) => match n.as_i64() {
            Some(n) if n < min => {
                problems.say(format!("{name} must not be less than {min}"));
                None
            }
            Some(n) if n > max => {
                problems.say(format!("{name} must not be greater than {max}"));
                None
            }
            Some(n) => Some(n),
            None => {
                problems.say(format!("{name} must be an integer number"));
                None
            }
        },
        Some(_) => {
            problems.say(format!(
                "{name} must be a number conforming to the specified constraints"
            ));
            None
        }
    }
}

fn parse_sort(value: Option<&Value>, problems: &mut Problems) -> Vec<SortKey> {
    let default = || {
        vec![SortKey {
            field: DATE_ADDED,
            descending: true,
        }]
    };
    let items = match value {
        None | Some(Value::Null) => return default(),
        Some(Value::Array(items)) => items,
        Some(_) => {
            problems.say("sort must be an array".to_owned());
            return default();
        }
    };
    if items.len() > MAX_SORT_FIELDS {
        problems.say(format!(
            "sort must contain no more than {MAX_SORT_FIELDS} elements"
        ));
        return default();
    }
    let mut keys = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let Some(object) = item.as_object() else {
            problems.say(format!("sort.{i} must be an object"));
            continue;
        };
        for key in object
            .keys()
            .filter(|k| !matches!(k.as_str(), "field" | "direction"))
        {
            problems.say(format!("sort.{i}.property {key} should not exist"));
        }
        let field = object
            .get("field")
            .and_then(Value::as_str)
            .and_then(sort_field);
        let descending = match object.get("direction").and_then(Value::as_str) {
            Some(d) if d.eq_ignore_ascii_case("desc") => Some(true),
            Some(d) if d.eq_ignore_ascii_case("asc") => Some(false),
            None if object.get("direction").is_none() => Some(false),
            _ => None,
        };
        match (field, descending) {
            (Some(field), Some(descending)) => keys.push(SortKey { field, descending }),
            (None, _) => problems.say(format!(
                "sort.{i}.field must be one of the following values: {}",
                SORT_FIELDS
                    .iter()
                    .map(|f| f.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            (_, None) => problems.say(format!(
                "sort.{i}.direction must be one of the following values: asc, desc"
            )),
        }
    }
    if keys.is_empty() {
        default()
    } else {
        keys
    }
}

fn sort_field(name: &str) -> Option<&'static SortField> {
    SORT_FIELDS.iter().find(|f| f.name == name)
}

/// `searchAfter`: one value per sort key, of its type, then the contact id.
fn parse_cursor(
    value: &Value,
    sort: &[SortKey],
    problems: &mut Problems,
) -> Option<Vec<CursorValue>> {
    let message = || {
        format!(
            "searchAfter must hold {} values, as the searchAfter of a row of the same sort does",
            sort.len() + 1
        )
    };
    let Some(items) = value
        .as_array()
        .filter(|items| items.len() == sort.len() + 1)
    else {
        problems.say(message());
        return None;
    };
    let mut cursor = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let numeric = sort.get(i).is_some_and(|k| k.field.numeric);
        let parsed = match item {
            Value::Number(n) if numeric => n.as_i64().map(CursorValue::Int),
            Value::Bool(b) if numeric => Some(CursorValue::Int(i64::from(*b))),
            Value::String(s) if numeric => s.parse().ok().map(CursorValue::Int),
            Value::String(s) => Some(CursorValue::Text(s.clone())),
            _ => None,
        };
        match parsed {
            Some(value) => cursor.push(value),
            None => {
                problems.say(message());
                return None;
            }
        }
    }
    Some(cursor)
}

/// One item of a `filters` array: a condition, a group, or a nested `opportunities` condition.
fn parse_item(
    item: &Value,
    path: &str,
    ctx: &SearchContext,
    problems: &mut Problems,
) -> Option<Filter> {
    let Some(object) = item.as_object() else {
        problems.say(format!("{path} must be an object"));
        return None;
    };
    if let Some(group) = object.get("group") {
        return parse_group(object, group, path, ctx, problems);
    }
    for key in object
        .keys()
        .filter(|k| !matches!(k.as_str(), "field" | "operator" | "value" | "filters"))
    {
        problems.say(format!("{path}.property {key} should not exist"));
    }
    let Some(name) = object.get("field").and_then(Value::as_str) else {
        problems.say(format!("{path}.field must be a string"));
        return None;
    };
    let operator = object.get("operator").and_then(Value::as_str);
    if name == "opportunities" {
        return parse_nested(object, operator, path, problems);
    }
    if object.contains_key("filters") {
        problems.say(format!("{path}.property filters should not exist"));
    }
    let (kind, ops, custom) = match FIELDS.iter().find(|f| f.name == name) {
        Some(def) => (def.kind, def.ops, None),
        None => match custom_field(name, ctx) {
            Some((shape, target)) => (Kind::Custom(shape), shape.ops(), Some(target)),
            None => {
                problems
                    .invalid_field
                    .get_or_insert_with(|| name.to_owned());
                return None;
            }
        },
    };
    let Some(op) = operator.and_then(Op::parse) else {
        problems.say(format!(
            "{path}.operator must be one of the following values: {}",
            ops.iter().map(|o| o.name()).collect::<Vec<_>>().join(", ")
        ));
        return None;
    };
    if !ops.contains(&op) {
        problems.say(format!(
            "{path}.operator {} is not supported for field {name}",
            op.name()
        ));
        return None;
    }
    let test = parse_test(
        kind,
        op,
        object.get("value"),
        &format!("{path}.value"),
        ctx,
        problems,
    )?;
    Some(Filter::Condition(Condition { kind, test, custom }))
}

fn parse_group(
    object: &Map<String, Value>,
    group: &Value,
    path: &str,
    ctx: &SearchContext,
    problems: &mut Problems,
) -> Option<Filter> {
    for key in object
        .keys()
        .filter(|k| !matches!(k.as_str(), "group" | "filters"))
    {
        problems.say(format!("{path}.property {key} should not exist"));
    }
    let any = match group.as_str() {
        Some(g) if g.eq_ignore_ascii_case("and") => false,
        Some(g) if g.eq_ignore_ascii_case("or") => true,
        _ => {
            problems.say(format!(
                "{path}.group must be one of the following values: AND, OR"
            ));
            return None;
        }
    };
    let Some(items) = object.get("filters").and_then(Value::as_array) else {
        problems.say(format!("{path}.filters must be an array"));
        return None;
    };
    let filters = items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| parse_item(item, &format!("{path}.filters.{i}"), ctx, problems))
        .collect();
    Some(if any {
        Filter::Any(filters)
    } else {
        Filter::All(filters)
    })
}

/// `{"field": "opportunities", "operator": "nested", "filters": [...]}`: checked like any
/// condition; it matches nothing, as no contact has opportunities in hilo yet.
fn parse_nested(
    object: &Map<String, Value>,
    operator: Option<&str>,
    path: &str,
    problems: &mut Problems,
) -> Option<Filter> {
    if operator != Some("nested") {
        problems.say(format!(
            "{path}.operator must be nested for field opportunities"
        ));
        return None;
    }
    let Some(items) = object.get("filters").and_then(Value::as_array) else {
        problems.say(format!("{path}.filters must be an array"));
        return None;
    };
    for (i, item) in items.iter().enumerate() {
        let sub = format!("{path}.filters.{i}");
        let Some(condition) = item.as_object() else {
            problems.say(format!("{sub} must be an object"));
            continue;
        };
        match condition.get("field").and_then(Value::as_str) {
            Some(name) if OPPORTUNITY_FIELDS.contains(&name) => {}
            Some(name) => {
                problems
                    .invalid_field
                    .get_or_insert_with(|| format!("opportunities.{name}"));
            }
            None => problems.say(format!("{sub}.field must be a string")),
        }
        match condition
            .get("operator")
            .and_then(Value::as_str)
            .and_then(Op::parse)
        {
            Some(Op::Eq | Op::NotEq) => {
                if !condition.get("value").is_some_and(Value::is_string) {
                    problems.say(format!("{sub}.value must be a string"));
                }
            }
            Some(Op::Exists | Op::NotExists) => {}
            _ => problems.say(format!(
                "{sub}.operator must be one of the following values: eq, not_eq, exists, not_exists"
            )),
        }
    }
    Some(Filter::Nothing)
}

/// The test `op` makes with `value` on a field stored as `kind`.
fn parse_test(
    kind: Kind,
    op: Op,
    value: Option<&Value>,
    path: &str,
    ctx: &SearchContext,
    problems: &mut Problems,
) -> Option<Test> {
    let value = value.filter(|v| !v.is_null());
    match op {
        Op::Exists | Op::NotExists => {
            if value.is_some() {
                problems.say(format!("{path} must be omitted for {}", op.name()));
                return None;
            }
            return Some(if op == Op::Exists {
                Test::Exists
            } else {
                Test::NotExists
            });
        }
        Op::Range => return parse_range(kind, value, path, ctx, problems).map(Test::Range),
        Op::Eq | Op::NotEq | Op::Contains | Op::NotContains => {}
    }
    let Some(value) = value else {
        problems.say(format!("{path} should not be empty"));
        return None;
    };
    let operand = match kind {
        Kind::Custom(CustomShape::Number) => match number(value) {
            Some(x) => Operand::Float(x),
            None => {
                problems.say(format!("{path} must be a number"));
                return None;
            }
        },
        Kind::Bool(_) => match value {
            Value::Bool(b) => Operand::Int(i64::from(*b)),
            Value::String(s) if s == "true" || s == "false" => Operand::Int(i64::from(s == "true")),
            _ => {
                problems.say(format!("{path} must be a boolean value"));
                return None;
            }
        },
        _ => {
            let text = match value {
                Value::String(s) => s.trim().to_owned(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => {
                    problems.say(format!("{path} must be a string, a number or a boolean"));
                    return None;
                }
            };
            if text.chars().count() > MAX_VALUE_CHARS {
                problems.say(format!(
                    "{path} must be shorter than or equal to {MAX_VALUE_CHARS} characters"
                ));
                return None;
            }
            Operand::Text(stored_form(kind, op, text, ctx))
        }
    };
    Some(match (op, operand) {
        (Op::Eq, operand) => Test::Eq(operand),
        (Op::NotEq, operand) => Test::NotEq(operand),
        (Op::Contains, Operand::Text(t)) => Test::Contains(t),
        (Op::NotContains, Operand::Text(t)) => Test::NotContains(t),
        // Booleans allow only eq and not_eq, so nothing else reaches here.
        _ => Test::NotExists,
    })
}

/// A condition's text as the column stores it: lower-cased where the comparison ignores case,
/// an E.164 phone (or its digits, for `contains`).
fn stored_form(kind: Kind, op: Op, text: String, ctx: &SearchContext) -> String {
    match kind {
        Kind::Phone if matches!(op, Op::Contains | Op::NotContains) => {
            let digits: String = text.chars().filter(char::is_ascii_digit).collect();
            if digits.is_empty() {
                text
            } else {
                digits
            }
        }
        Kind::Phone => crate::api::contacts::to_e164(&text, &ctx.country).unwrap_or(text),
        Kind::Text { .. }
        | Kind::Custom(_)
        | Kind::Members {
            fold_case: true, ..
        } => text.to_lowercase(),
        _ => text,
    }
}

/// `{"gte": …, "lte": …}` (also `gt`, `lt`, and `low`/`high` for `gte`/`lte`): ISO dates,
/// ISO date-times or epoch milliseconds. A date alone is a whole day in the location's zone.
fn parse_range(
    kind: Kind,
    value: Option<&Value>,
    path: &str,
    ctx: &SearchContext,
    problems: &mut Problems,
) -> Option<Vec<(Cmp, Operand)>> {
    let Some(bounds) = value.and_then(Value::as_object).filter(|b| !b.is_empty()) else {
        problems.say(format!(
            "{path} must be an object with at least one of gt, gte, lt, lte"
        ));
        return None;
    };
    let mut out = Vec::new();
    for (key, bound) in bounds {
        let cmp = match key.as_str() {
            "gt" => Cmp::Gt,
            "gte" | "low" => Cmp::Gte,
            "lt" => Cmp::Lt,
            "lte" | "high" => Cmp::Lte,
            _ => {
                problems.say(format!("{path}.property {key} should not exist"));
                continue;
            }
        };
        match resolve_bound(kind, cmp, bound, ctx) {
            Some(resolved) => out.push(resolved),
            None => problems.say(format!(
                "{path}.{key} must be an ISO 8601 date, date-time or epoch milliseconds"
            )),
        }
    }
    (out.len() == bounds.len()).then_some(out)
}

/// A point in time a bound names: a date alone, a date-time or epoch milliseconds.
enum When {
    Day(NaiveDate),
    Instant(i64),
}

fn parse_when(bound: &Value) -> Option<When> {
    match bound {
        Value::Number(n) => n.as_i64().map(When::Instant),
        Value::String(s) => {
            let s = s.trim();
            if let Ok(day) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
                return Some(When::Day(day));
            }
            if let Ok(ms) = s.parse::<i64>() {
                return Some(When::Instant(ms));
            }
            crate::time::parse_datetime_ms(s).map(When::Instant)
        }
        _ => None,
    }
}

/// A JSON number, or a string that reads as one.
fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok().filter(|x: &f64| x.is_finite()),
        _ => None,
    }
}

fn resolve_bound(
    kind: Kind,
    cmp: Cmp,
    bound: &Value,
    ctx: &SearchContext,
) -> Option<(Cmp, Operand)> {
    if kind == Kind::Custom(CustomShape::Number) {
        return number(bound).map(|x| (cmp, Operand::Float(x)));
    }
    let when = parse_when(bound)?;
    match kind {
        // Instants: a day's bound is its first or the next day's first millisecond.
        Kind::Millis(_) => Some(match when {
            When::Instant(ms) => (cmp, Operand::Int(ms)),
            When::Day(day) => {
                let start = |d: NaiveDate| start_of_day(d, ctx.timezone);
                let next = day.succ_opt()?;
                match cmp {
                    Cmp::Gte => (Cmp::Gte, Operand::Int(start(day)?)),
                    Cmp::Gt => (Cmp::Gte, Operand::Int(start(next)?)),
                    Cmp::Lte => (Cmp::Lt, Operand::Int(start(next)?)),
                    Cmp::Lt => (Cmp::Lt, Operand::Int(start(day)?)),
                }
            }
        }),
        // Dates: an instant's bound is its day in the location's zone.
        Kind::Date(_) | Kind::Custom(CustomShape::Date) => {
            let day = match when {
                When::Day(day) => day,
                When::Instant(ms) => ctx.timezone.timestamp_millis_opt(ms).single()?.date_naive(),
            };
            Some((cmp, Operand::Text(day.format("%Y-%m-%d").to_string())))
        }
        // Fields with no data take any well-formed bound.
        _ => Some((cmp, Operand::Int(0))),
    }
}

/// The first millisecond of `day` in `tz` (the first valid local time on a DST gap).
fn start_of_day(day: NaiveDate, tz: Tz) -> Option<i64> {
    let midnight = day.and_time(NaiveTime::MIN);
    tz.from_local_datetime(&midnight)
        .earliest()
        .or_else(|| {
            (1..=3).find_map(|h| {
                tz.from_local_datetime(&(midnight + chrono::Duration::hours(h)))
                    .earliest()
            })
        })
        .map(|t| t.timestamp_millis())
}

// ---- rendering ----

fn bind(sql: &mut SqlBuilder, operand: &Operand) {
    match operand {
        Operand::Text(t) => sql.bind_text(t.clone()),
        Operand::Int(n) => sql.bind_int(*n),
        Operand::Float(x) => sql.bind_float(*x),
    };
}

impl Filter {
    /// Appends the filter as one SQL condition over `contacts`.
    pub fn push_sql(&self, sql: &mut SqlBuilder, scope: SqlScope) {
        match self {
            Filter::All(items) | Filter::Any(items) if items.is_empty() => {
                sql.push("1 = 1");
            }
            Filter::All(items) | Filter::Any(items) => {
                let joiner = if matches!(self, Filter::Any(_)) {
                    " OR "
                } else {
                    " AND "
                };
                sql.push("(");
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        sql.push(joiner);
                    }
                    item.push_sql(sql, scope);
                }
                sql.push(")");
            }
            Filter::Condition(condition) => condition.push_sql(sql, scope),
            Filter::Nothing => {
                sql.push("1 = 0");
            }
        }
    }
}

impl Condition {
    fn push_sql(&self, sql: &mut SqlBuilder, scope: SqlScope) {
        let backend = scope.backend;
        let dnd_expr;
        let (expr, compared) = match self.kind {
            Kind::Text {
                expr,
                lowered: true,
            }
            | Kind::Exact(expr) => (expr, expr.to_owned()),
            Kind::Text {
                expr,
                lowered: false,
            } => (expr, format!("lower({expr})")),
            Kind::Phone => ("phone", "phone".to_owned()),
            Kind::Bool(expr) | Kind::Millis(expr) | Kind::Date(expr) => (expr, expr.to_owned()),
            Kind::DndStatus { column, channel } => {
                dnd_expr = match backend {
                    Backend::Sqlite => format!("json_extract({column}, '$.{channel}.status')"),
                    Backend::Postgres => format!("(({column})::jsonb #>> '{{{channel},status}}')"),
                };
                (dnd_expr.as_str(), dnd_expr.clone())
            }
            Kind::Members { table, column, .. } => {
                return self.push_members(sql, scope, table, column)
            }
            Kind::Custom(CustomShape::Number)
                if matches!(self.test, Test::Eq(_) | Test::NotEq(_) | Test::Range(_)) =>
            {
                return self.push_custom_number(sql, scope)
            }
            Kind::Custom(shape) => return self.push_custom(sql, backend, shape),
            Kind::NoData => {
                let matches = matches!(
                    self.test,
                    Test::NotEq(_) | Test::NotContains(_) | Test::NotExists
                );
                sql.push(if matches { "1 = 1" } else { "1 = 0" });
                return;
            }
        };
        let always_set = matches!(self.kind, Kind::Bool(_));
        match &self.test {
            Test::Eq(v) => {
                sql.push(&format!("{compared} = "));
                bind(sql, v);
            }
            Test::NotEq(v) => {
                sql.push(&format!("({expr} IS NULL OR {compared} <> "));
                bind(sql, v);
                sql.push(")");
            }
            Test::Contains(t) => {
                sql.push(&format!("{compared} LIKE "))
                    .bind_text(like_contains(t))
                    .push(" ESCAPE '\\'");
            }
            Test::NotContains(t) => {
                sql.push(&format!("({expr} IS NULL OR {compared} NOT LIKE "))
                    .bind_text(like_contains(t))
                    .push(" ESCAPE '\\')");
            }
            Test::Exists if always_set => {
                sql.push("1 = 1");
            }
            Test::NotExists if always_set => {
                sql.push("1 = 0");
            }
            Test::Exists if matches!(self.kind, Kind::Millis(_)) => {
                sql.push(&format!("{expr} IS NOT NULL"));
            }
            Test::NotExists if matches!(self.kind, Kind::Millis(_)) => {
                sql.push(&format!("{expr} IS NULL"));
            }
            Test::Exists => {
                sql.push(&format!("({expr} IS NOT NULL AND {expr} <> '')"));
            }
            Test::NotExists => {
                sql.push(&format!("({expr} IS NULL OR {expr} = '')"));
            }
            Test::Range(bounds) => {
                sql.push("(");
                for (i, (cmp, v)) in bounds.iter().enumerate() {
                    if i > 0 {
                        sql.push(" AND ");
                    }
                    sql.push(expr).push(cmp.sql());
                    bind(sql, v);
                }
                sql.push(")");
            }
        }
    }

    /// `EXISTS` over the contact's entry for the custom field in its `custom_fields` JSON, with
    /// the test on the entry's value; the negated tests are `NOT EXISTS` of the plain ones, so
    /// they also hold for a contact without a value.
    fn push_custom(&self, sql: &mut SqlBuilder, backend: Backend, shape: CustomShape) {
        let Some(target) = &self.custom else {
            sql.push("1 = 0");
            return;
        };
        let negated = matches!(
            self.test,
            Test::NotEq(_) | Test::NotContains(_) | Test::NotExists
        );
        sql.push(if negated {
            "NOT EXISTS (SELECT 1 FROM "
        } else {
            "EXISTS (SELECT 1 FROM "
        });
        sql.push(match backend {
            Backend::Sqlite => {
                "json_each(contacts.custom_fields) j WHERE json_extract(j.value, '$.id') = "
            }
            Backend::Postgres => {
                "jsonb_array_elements(contacts.custom_fields::jsonb) j WHERE j->>'id' = "
            }
        });
        sql.bind_text(target.id.clone()).push(" AND ");
        // The value as SQL text (a TEXTBOX_LIST row's, or the field's).
        let push_value = |sql: &mut SqlBuilder| match (&target.row, backend) {
            (Some(row), Backend::Sqlite) => {
                sql.push("json_extract(j.value, '$.value.' || json_quote(")
                    .bind_text(row.clone())
                    .push("))");
            }
            (Some(row), Backend::Postgres) => {
                sql.push("(j->'value'->>").bind_text(row.clone()).push(")");
            }
            (None, Backend::Sqlite) => {
                sql.push("json_extract(j.value, '$.value')");
            }
            (None, Backend::Postgres) => {
                sql.push("(j->>'value')");
            }
        };
        let number = match backend {
            Backend::Sqlite => "CAST(json_extract(j.value, '$.value') AS REAL)",
            Backend::Postgres => {
                "(CASE WHEN jsonb_typeof(j->'value') = 'number' \
                 THEN (j->>'value')::double precision END)"
            }
        };
        let day = match backend {
            Backend::Sqlite => {
                "(CASE WHEN json_type(j.value, '$.value') IN ('integer', 'real') \
                 THEN date(json_extract(j.value, '$.value') / 1000, 'unixepoch') \
                 ELSE substr(json_extract(j.value, '$.value'), 1, 10) END)"
            }
            Backend::Postgres => {
                "(CASE WHEN jsonb_typeof(j->'value') = 'number' \
                 THEN to_char(to_timestamp((j->>'value')::double precision / 1000) \
                 AT TIME ZONE 'UTC', 'YYYY-MM-DD') ELSE left(j->>'value', 10) END)"
            }
        };
        match (&self.test, shape) {
            (Test::Eq(v) | Test::NotEq(v), CustomShape::Options) => {
                sql.push(match backend {
                    Backend::Sqlite => {
                        "EXISTS (SELECT 1 FROM json_each(j.value, '$.value') e WHERE lower(e.value) = "
                    }
                    Backend::Postgres => {
                        "EXISTS (SELECT 1 FROM jsonb_array_elements_text(CASE WHEN \
                         jsonb_typeof(j->'value') = 'array' THEN j->'value' \
                         ELSE jsonb_build_array(j->'value') END) e WHERE lower(e) = "
                    }
                });
                bind(sql, v);
                sql.push(")");
            }
            (Test::Eq(v) | Test::NotEq(v), CustomShape::Number) => {
                sql.push(number).push(" = ");
                bind(sql, v);
            }
            (Test::Eq(v) | Test::NotEq(v), _) => {
                sql.push("lower(");
                push_value(sql);
                sql.push(") = ");
                bind(sql, v);
            }
            (Test::Contains(t) | Test::NotContains(t), _) => {
                sql.push("lower(");
                push_value(sql);
                sql.push(") LIKE ")
                    .bind_text(like_contains(t))
                    .push(" ESCAPE '\\'");
            }
            (Test::Exists | Test::NotExists, _) if target.row.is_some() => {
                push_value(sql);
                sql.push(" <> ''");
            }
            (Test::Exists | Test::NotExists, _) => {
                sql.push("1 = 1");
            }
            (Test::Range(bounds), _) => {
                let expr = if shape == CustomShape::Date {
                    day
                } else {
                    number
                };
                for (i, (cmp, v)) in bounds.iter().enumerate() {
                    if i > 0 {
                        sql.push(" AND ");
                    }
                    sql.push(expr).push(cmp.sql());
                    bind(sql, v);
                }
            }
        }
        sql.push(")");
    }

    /// A number field's test, over the index of numeric values (`contact_field_values`, which
    /// triggers keep from the JSON): the contacts whose value passes; `not_eq` is the others.
    fn push_custom_number(&self, sql: &mut SqlBuilder, scope: SqlScope) {
        let Some(target) = &self.custom else {
            sql.push("1 = 0");
            return;
        };
        sql.push(if matches!(self.test, Test::NotEq(_)) {
            "contacts.id NOT IN ("
        } else {
            "contacts.id IN ("
        });
        sql.push("SELECT v.contact_id FROM contact_field_values v WHERE v.location_id = ")
            .bind_text(scope.location_id)
            .push(" AND v.field_id = ")
            .bind_text(target.id.clone());
        match &self.test {
            Test::Eq(v) | Test::NotEq(v) => {
                sql.push(" AND v.number = ");
                bind(sql, v);
            }
            Test::Range(bounds) => {
                for (cmp, v) in bounds {
                    sql.push(" AND v.number").push(cmp.sql());
                    bind(sql, v);
                }
            }
            _ => {}
        }
        sql.push(")");
    }

    /// The contacts that have a row of `table` (tags, followers, enrolments) passing the test:
    /// with `eq`, one whose `column` is the value; with `not_eq`, none. A set over the table's
    /// `(location_id, column)` index, which the engines can read first when it is small.
    fn push_members(&self, sql: &mut SqlBuilder, scope: SqlScope, table: &str, column: &str) {
        let negated = matches!(
            self.test,
            Test::NotEq(_) | Test::NotContains(_) | Test::NotExists | Test::Range(_)
        );
        sql.push(if negated {
            "contacts.id NOT IN ("
        } else {
            "contacts.id IN ("
        })
        .push(&format!(
            "SELECT m.contact_id FROM {table} m WHERE m.location_id = "
        ))
        .bind_text(scope.location_id);
        match &self.test {
            Test::Eq(v) | Test::NotEq(v) => {
                sql.push(&format!(" AND m.{column} = "));
                bind(sql, v);
            }
            Test::Contains(t) | Test::NotContains(t) => {
                sql.push(&format!(" AND m.{column} LIKE "))
                    .bind_text(like_contains(t))
                    .push(" ESCAPE '\\'");
            }
            Test::Exists | Test::NotExists | Test::Range(_) => {}
        }
        sql.push(")");
    }
}

impl SearchQuery {
    /// The columns that carry each row's sort values, `sort_0`, `sort_1`, …
    pub fn sort_columns(&self) -> String {
        self.sort
            .iter()
            .enumerate()
            .map(|(i, key)| format!(", {} AS sort_{i}", key.field.expr))
            .collect()
    }

    /// Whether the id, the last tiebreaker, runs downwards: it follows the last sort key, so
    /// that `dateAdded desc` reads the `(location_id, date_added, id)` index backwards exactly,
    /// with no sort of the matches.
    pub(crate) fn id_descending(&self) -> bool {
        self.sort.last().is_some_and(|key| key.descending)
    }

    /// `ORDER BY` the sort keys, then the id.
    pub fn order_by(&self) -> String {
        let direction = |descending: bool| if descending { "DESC" } else { "ASC" };
        let keys: Vec<String> = self
            .sort
            .iter()
            .enumerate()
            .map(|(i, key)| format!("sort_{i} {}", direction(key.descending)))
            .collect();
        format!(
            " ORDER BY {}, id {}",
            keys.join(", "),
            direction(self.id_descending())
        )
    }

    /// The rows after the cursor, in the order of [`SearchQuery::order_by`]. When every key runs
    /// the same way, a row comparison `(k0, k1, id) > (v0, v1, id0)`, which both engines read as
    /// one index range; otherwise `k0 > v0 OR (k0 = v0 AND (k1 < v1 OR (k1 = v1 AND id < id0)))`.
    pub fn push_after_cursor(&self, sql: &mut SqlBuilder, cursor: &[CursorValue]) {
        let descending = self.id_descending();
        let after = |descending: bool| if descending { " < " } else { " > " };
        let id = |sql: &mut SqlBuilder| {
            sql.bind_text(match cursor.get(self.sort.len()) {
                Some(CursorValue::Text(id)) => id.clone(),
                Some(CursorValue::Int(n)) => n.to_string(),
                None => String::new(),
            });
        };
        let uniform = self.sort.iter().all(|key| key.descending == descending);
        if uniform && cursor.len() > self.sort.len() {
            sql.push("(");
            for key in &self.sort {
                sql.push(key.field.expr).push(", ");
            }
            sql.push("id)").push(after(descending)).push("(");
            for value in &cursor[..self.sort.len()] {
                bind_cursor(sql, value);
                sql.push(", ");
            }
            id(sql);
            sql.push(")");
            return;
        }
        let mut closing = String::new();
        for (i, key) in self.sort.iter().enumerate() {
            let Some(value) = cursor.get(i) else { return };
            sql.push("(")
                .push(key.field.expr)
                .push(after(key.descending));
            bind_cursor(sql, value);
            sql.push(" OR (").push(key.field.expr).push(" = ");
            bind_cursor(sql, value);
            sql.push(" AND ");
            closing.push_str("))");
        }
        sql.push("id").push(after(descending));
        id(sql);
        sql.push(&closing);
    }
}

fn bind_cursor(sql: &mut SqlBuilder, value: &CursorValue) {
    match value {
        CursorValue::Text(t) => sql.bind_text(t.clone()),
        CursorValue::Int(n) => sql.bind_int(*n),
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn ctx() -> SearchContext {
        SearchContext {
            backend: Backend::Sqlite,
            timezone: chrono_tz::America::New_York,
            country: "US".into(),
            custom_fields: [
                ("score".to_owned(), DataType::Numerical),
                ("colours".to_owned(), DataType::MultipleOptions),
                ("list".to_owned(), DataType::TextboxList),
            ]
            .into(),
        }
    }

    fn parse_json(body: Value) -> Result<SearchQuery, SearchError> {
        parse(body.as_object().unwrap(), &ctx())
    }

    fn where_sql(body: Value) -> (String, usize) {
        let q = parse_json(body).unwrap();
        let mut sql = SqlBuilder::new("");
        q.filter.push_sql(
            &mut sql,
            SqlScope {
                backend: Backend::Sqlite,
                location_id: "loc",
            },
        );
        let n = sql.sql().matches('$').count();
        (sql.sql().to_owned(), n)
    }

    #[test]
    fn the_dossier_examples_parse() {
        let (sql, _) = where_sql(json!({"pageLimit": 20, "page": 1,
            "filters": [{"field": "dnd", "operator": "eq", "value": true},
                {"group": "OR", "filters": [
                    {"field": "firstNameLowerCase", "operator": "eq", "value": "alex"},
                    {"field": "lastNameLowerCase", "operator": "eq", "value": "peter"}]}],
            "sort": [{"field": "firstNameLowerCase", "direction": "desc"}], "query": "tom"}));
        assert_eq!(
            sql,
            "(dnd = $1 AND (first_name_lower = $2 OR last_name_lower = $3))"
        );
        let q = parse_json(json!({"pageLimit": 100,
            "filters": [{"field": "dateAdded", "operator": "range", "value": {"gte": "2026-01-01", "lte": "2026-06-30"}},
                {"field": "tags", "operator": "eq", "value": "booked call"}],
            "sort": [{"field": "dateAdded", "direction": "desc"}],
            "searchAfter": [1764003536678i64, "abc123DEFghiJKL456"]})).unwrap();
        assert_eq!(
            q.search_after,
            Some(vec![
                CursorValue::Int(1_764_003_536_678),
                CursorValue::Text("abc123DEFghiJKL456".into())
            ])
        );
        let q = parse_json(json!({"pageLimit": 1, "filters": [
            {"field": "opportunities", "operator": "nested", "filters": [
                {"field": "pipelineId", "operator": "eq", "value": "p"},
                {"field": "status", "operator": "eq", "value": "open"}]}]}))
        .unwrap();
        assert_eq!(q.filter, Filter::All(vec![Filter::Nothing]));
    }

    #[test]
    fn date_only_bounds_are_whole_days_in_the_location_zone() {
        let q = parse_json(json!({"pageLimit": 1, "filters": [
            {"field": "dateAdded", "operator": "range", "value": {"gte": "2026-01-01", "lte": "2026-01-01"}}]})).unwrap();
        let Filter::All(items) = q.filter else {
            panic!()
        };
        let Filter::Condition(c) = &items[0] else {
            panic!()
        };
        // New York is UTC-5 in January: the day runs 05:00Z to 05:00Z.
        let jan1 = 1_767_243_600_000; // 2026-01-01T05:00:00Z
        assert_eq!(
            c.test,
            Test::Range(vec![
                (Cmp::Gte, Operand::Int(jan1)),
                (Cmp::Lt, Operand::Int(jan1 + 86_400_000))
            ])
        );
        let q = parse_json(json!({"pageLimit": 1, "filters": [
            {"field": "dateOfBirth", "operator": "range", "value": {"gt": 1_767_243_600_000i64 - 1}}]})).unwrap();
        let Filter::All(items) = q.filter else {
            panic!()
        };
        let Filter::Condition(c) = &items[0] else {
            panic!()
        };
        assert_eq!(
            c.test,
            Test::Range(vec![(Cmp::Gt, Operand::Text("2025-12-31".into()))])
        );
    }

    #[test]
    fn unknown_fields_are_400_and_other_faults_422() {
        assert_eq!(parse_json(json!({"pageLimit": 1, "filters": [{"field": "customFields.Relationship Number", "operator": "eq", "value": "x"}]})).unwrap_err(),
            SearchError::InvalidField("customFields.Relationship Number".into()));
        assert_eq!(parse_json(json!({"pageLimit": 1, "filters": [{"field": "dnd_settings.Email.status", "operator": "eq", "value": "x"}]})).unwrap_err(),
            SearchError::InvalidField("dnd_settings.Email.status".into()));
        let invalid = |body: Value| match parse_json(body) {
            Err(SearchError::Invalid(messages)) => messages,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            invalid(json!({})),
            vec!["pageLimit must be a number conforming to the specified constraints"]
        );
        assert_eq!(
            invalid(json!({"pageLimit": 501})),
            vec!["pageLimit must not be greater than 500"]
        );
        assert_eq!(
            invalid(json!({"pageLimit": 0})),
            vec!["pageLimit must not be less than 1"]
        );
        assert_eq!(invalid(json!({"pageLimit": 500, "page": 21})), vec!["page and pageLimit reach past the first 10000 records: use searchAfter to go further"]);
        assert!(parse_json(json!({"pageLimit": 500, "page": 20})).is_ok());
        assert_eq!(
            invalid(json!({"pageLimit": 5, "page": 2, "searchAfter": [1, "x"]})),
            vec!["page and searchAfter cannot be used together"]
        );
        assert_eq!(
            invalid(json!({"pageLimit": 5, "searchAfter": ["x"]})),
            vec![
                "searchAfter must hold 2 values, as the searchAfter of a row of the same sort does"
            ]
        );
        assert_eq!(
            invalid(json!({"pageLimit": 5, "query": "q".repeat(76)})),
            vec!["query must be shorter than or equal to 75 characters"]
        );
        assert_eq!(
            invalid(
                json!({"pageLimit": 5, "filters": [{"field": "email", "operator": "contains", "value": "x"}]})
            ),
            vec!["filters.0.operator contains is not supported for field email"]
        );
        assert_eq!(
            invalid(
                json!({"pageLimit": 5, "filters": [{"field": "dateAdded", "operator": "range", "value": {"gte": "soon"}}]})
            ),
            vec!["filters.0.value.gte must be an ISO 8601 date, date-time or epoch milliseconds"]
        );
        assert_eq!(
            invalid(
                json!({"pageLimit": 5, "filters": [{"group": "OR", "filters": [{"field": "dnd", "operator": "eq", "value": "maybe"}]}]})
            ),
            vec!["filters.0.filters.0.value must be a boolean value"]
        );
        assert_eq!(
            invalid(
                json!({"pageLimit": 5, "filters": [{"field": "tags", "operator": "eq", "value": "t".repeat(76)}]})
            ),
            vec!["filters.0.value must be shorter than or equal to 75 characters"]
        );
        assert_eq!(
            invalid(
                json!({"pageLimit": 5, "sort": [{"field": "email"}, {"field": "dnd"}, {"field": "source"}]})
            ),
            vec!["sort must contain no more than 2 elements"]
        );
        assert_eq!(
            invalid(json!({"pageLimit": 5, "sort": [{"field": "phone", "direction": "up"}]})).len(),
            1
        );
    }

    #[test]
    fn custom_fields_are_found_wherever_the_filters_name_them() {
        let body = json!({"filters": [{"field": "customFields.a", "operator": "exists"},
            {"group": "OR", "filters": [{"field": "customFields.b.row-1", "operator": "eq", "value": "x"},
                {"field": "customFields.a", "operator": "exists"}, {"field": "tags", "operator": "exists"}]}]});
        assert_eq!(custom_field_ids(body.as_object().unwrap()), vec!["a", "b"]);
        // Known ids take their type's operators; unknown ones, or rows of other types, are 400s.
        assert!(parse_json(json!({"pageLimit": 1, "filters": [{"field": "customFields.score", "operator": "range", "value": {"gt": 1.5}}]})).is_ok());
        assert!(parse_json(json!({"pageLimit": 1, "filters": [{"field": "customFields.list.0b1c-2", "operator": "contains", "value": "x"}]})).is_ok());
        for field in [
            "customFields.other",
            "customFields.score.row",
            "customFields.list.bad'row",
            "customFields.",
        ] {
            assert_eq!(
                parse_json(
                    json!({"pageLimit": 1, "filters": [{"field": field, "operator": "exists"}]})
                )
                .unwrap_err(),
                SearchError::InvalidField(field.to_owned()),
                "{field}"
            );
        }
    }

    #[test]
    fn cursors_continue_after_the_last_row() {
        let q = parse_json(json!({"pageLimit": 5, "sort": [{"field": "email", "direction": "asc"}, {"field": "dateAdded", "direction": "desc"}], "searchAfter": ["a@x.co", 5, "ID"]})).unwrap();
        let mut sql = SqlBuilder::new("");
        q.push_after_cursor(&mut sql, q.search_after.as_deref().unwrap());
        assert_eq!(sql.sql(), "(COALESCE(email_lower, '') > $1 OR (COALESCE(email_lower, '') = $2 AND (date_added < $3 OR (date_added = $4 AND id < $5))))");
        assert_eq!(q.order_by(), " ORDER BY sort_0 ASC, sort_1 DESC, id DESC");
        // Keys that all run one way: one row comparison.
        let q = parse_json(json!({"pageLimit": 5, "searchAfter": [5, "ID"]})).unwrap();
        let mut sql = SqlBuilder::new("");
        q.push_after_cursor(&mut sql, q.search_after.as_deref().unwrap());
        assert_eq!(sql.sql(), "(date_added, id) < ($1, $2)");
        assert_eq!(q.order_by(), " ORDER BY sort_0 DESC, id DESC");
    }

    /// Any JSON at all: parsing answers, and rendering what it accepts never panics.
    fn arbitrary_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            any::<f64>().prop_map(|f| json!(f)),
            "[a-zA-Z_.]{0,12}".prop_map(Value::String),
            prop_oneof![
                Just("eq"),
                Just("not_eq"),
                Just("contains"),
                Just("range"),
                Just("exists"),
                Just("nested"),
                Just("OR"),
                Just("AND"),
                Just("tags"),
                Just("dateAdded"),
                Just("dnd"),
                Just("phone"),
                Just("opportunities"),
                Just("2026-01-01")
            ]
            .prop_map(|s| Value::String(s.to_owned())),
        ];
        leaf.prop_recursive(5, 64, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec(
                    (
                        prop_oneof![
                            Just("field"),
                            Just("operator"),
                            Just("value"),
                            Just("group"),
                            Just("filters"),
                            Just("gte"),
                            Just("lt"),
                            Just("low"),
                            Just("direction"),
                            Just("x")
                        ],
                        inner
                    ),
                    0..5
                )
                .prop_map(|kv| Value::Object(
                    kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
                )),
            ]
        })
    }

    proptest! {
        #[test]
        fn no_input_makes_it_panic(filters in arbitrary_json(), sort in arbitrary_json(), after in arbitrary_json(), limit in any::<i64>()) {
            let body = json!({"pageLimit": limit.rem_euclid(600), "filters": filters, "sort": sort, "searchAfter": after});
            if let Ok(q) = parse(body.as_object().unwrap(), &ctx()) {
                let mut sql = SqlBuilder::new("");
                q.filter.push_sql(&mut sql, SqlScope { backend: Backend::Postgres, location_id: "loc" });
                if let Some(cursor) = &q.search_after {
                    q.push_after_cursor(&mut sql, cursor);
                }
            }
        }
    }
}
