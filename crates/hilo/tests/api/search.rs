//! `POST /contacts/search` over HTTP: rows and totals checked against an independent evaluation
//! of each filter over the same contacts, every page reached through `searchAfter` cursors and
//! `page`, the row shape of dossier §3.1, and refusals.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::harness::TestServer;
use crate::on_both;

/// What the test knows of each contact it made.
#[derive(Debug, Clone)]
struct Model {
    id: String,
    first: String,
    last: String,
    email: String,
    phone: Option<String>,
    city: Option<String>,
    tags: Vec<String>,
    dnd: bool,
    date_added: i64,
    birth: Option<String>,
    followed: bool,
    enrolled: bool,
}

const FIRST: &[&str] = &["ada", "grace", "alan", "edsger", "barbara", "donald"];
const LAST: &[&str] = &[
    "lovelace", "hopper", "turing", "dijkstra", "liskov", "knuth",
];
const CITIES: &[&str] = &["London", "New York", "Austin"];
const TAGS: &[&str] = &["lead", "vip", "booked call", "cold"];
/// 2026-01-01T00:00:00Z; contacts are spread a few hours apart from there.
const START_MS: i64 = 1_767_225_600_000;

/// A small deterministic generator, so every run sees the same data.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        usize::try_from(self.0 >> 33).unwrap() % n
    }
}

async fn seed(s: &TestServer, count: usize) -> Vec<Model> {
    let mut rng = Lcg(7);
    let mut models = Vec::new();
    for i in 0..count {
        let first = FIRST[rng.next(FIRST.len())];
        let last = LAST[rng.next(LAST.len())];
        let email = format!("{first}.{last}.{i}@example.com");
        let phone = (rng.next(3) > 0).then(|| format!("+1202555{:04}", 1000 + i));
        let city = (rng.next(4) > 0).then(|| CITIES[rng.next(CITIES.len())].to_owned());
        let tags: Vec<String> = TAGS
            .iter()
            .filter(|_| rng.next(3) == 0)
            .map(|t| (*t).to_owned())
            .collect();
        let dnd = rng.next(4) == 0;
        let birth = (rng.next(2) == 0).then(|| {
            format!(
                "19{:02}-0{}-1{}",
                50 + rng.next(40),
                1 + rng.next(9),
                rng.next(9)
            )
        });
        let mut body = json!({"firstName": capitalise(first), "lastName": capitalise(last), "email": email, "tags": tags, "dnd": dnd});
        if let Some(phone) = &phone {
            body["phone"] = json!(phone);
        }
        if let Some(city) = &city {
            body["city"] = json!(city);
        }
        if let Some(birth) = &birth {
            body["dateOfBirth"] = json!(birth);
        }
        let id = s.contact(body).await;
        // Spread the creation times so date ranges and the default sort have something to do.
        let date_added = START_MS + i64::try_from(i).unwrap() * 5 * 3_600_000;
        sqlx::query("UPDATE contacts SET date_added = $1 WHERE id = $2")
            .bind(date_added)
            .bind(&id)
            .execute(s.db.write())
            .await
            .unwrap();
        models.push(Model {
            id,
            first: first.into(),
            last: last.into(),
            email,
            phone,
            city,
            tags,
            dnd,
            date_added,
            birth,
            followed: false,
            enrolled: false,
        });
    }
    models
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

async fn search(s: &TestServer, body: Value) -> (StatusCode, Value) {
    let mut body = body;
    body["locationId"] = json!(s.loc());
    s.post("/contacts/search", body).await
}

/// Every contact the filter matches, walking the cursor pages; checks `total` on each page.
async fn all_matches(s: &TestServer, filters: &Value, page_limit: usize) -> Vec<String> {
    let mut ids = Vec::new();
    let mut after: Option<Value> = None;
    loop {
        let mut body = json!({"pageLimit": page_limit, "filters": filters});
        if let Some(after) = &after {
            body["searchAfter"] = after.clone();
        }
        let (st, page) = search(s, body).await;
        assert_eq!(st, StatusCode::OK, "{filters}: {page}");
        let rows = page["contacts"].as_array().unwrap();
        ids.extend(rows.iter().map(|r| r["id"].as_str().unwrap().to_owned()));
        let total = usize::try_from(page["total"].as_u64().unwrap()).unwrap();
        if rows.len() < page_limit {
            assert_eq!(ids.len(), total, "{filters}: the pages add up to total");
            return ids;
        }
        after = Some(rows.last().unwrap()["searchAfter"].clone());
    }
}

/// A follower for every third contact, a workflow enrolment for every fourth; returns the
/// user's and the workflow's ids.
async fn follow_and_enrol(s: &TestServer, models: &mut [Model]) -> (String, String) {
    let user =
        hilo_server::users::create_location_user(&s.db, s.loc(), "follower@example.com", None)
            .await
            .unwrap();
    let workflow =
        hilo_server::api::workflows::create_workflow(&s.db, s.loc(), "Nurture", "published")
            .await
            .unwrap();
    for (i, m) in models.iter_mut().enumerate() {
        if i % 3 == 0 {
            let (st, body) = s
                .post(
                    &format!("/contacts/{}/followers", m.id),
                    json!({"followers": [user.id]}),
                )
                .await;
            assert!(st.is_success(), "{body}");
            m.followed = true;
        }
        if i % 4 == 0 {
            let (st, body) = s
                .post(
                    &format!("/contacts/{}/workflow/{}", m.id, workflow.id),
                    json!({}),
                )
                .await;
            assert!(st.is_success(), "{body}");
            m.enrolled = true;
        }
    }
    (user.id, workflow.id)
}

/// Each filter with the same question asked of the model.
#[allow(clippy::type_complexity)]
fn cases(user: &str, workflow: &str) -> Vec<(Value, Box<dyn Fn(&Model) -> bool>)> {
    // 2026-01-03 in New York (the location's zone): 05:00Z that day to 05:00Z the next.
    let jan3 = START_MS + 2 * 86_400_000 + 5 * 3_600_000;
    vec![
        (
            json!([{"field": "tags", "operator": "eq", "value": "VIP"}]),
            Box::new(|m: &Model| m.tags.iter().any(|t| t == "vip")),
        ),
        (
            json!([{"field": "tags", "operator": "not_eq", "value": "vip"}]),
            Box::new(|m: &Model| !m.tags.iter().any(|t| t == "vip")),
        ),
        (
            json!([{"field": "tags", "operator": "contains", "value": "call"}]),
            Box::new(|m: &Model| m.tags.iter().any(|t| t.contains("call"))),
        ),
        (
            json!([{"field": "tags", "operator": "not_exists"}]),
            Box::new(|m: &Model| m.tags.is_empty()),
        ),
        (
            json!([{"field": "firstNameLowerCase", "operator": "eq", "value": "ada"}]),
            Box::new(|m: &Model| m.first == "ada"),
        ),
        (
            json!([{"field": "firstNameLowerCase", "operator": "contains", "value": "AR"}]),
            Box::new(|m: &Model| m.first.contains("ar")),
        ),
        (
            json!([{"field": "lastNameLowerCase", "operator": "not_contains", "value": "o"}]),
            Box::new(|m: &Model| !m.last.contains('o')),
        ),
        (
            json!([{"field": "contactName", "operator": "eq", "value": "Grace Hopper"}]),
            Box::new(|m: &Model| m.first == "grace" && m.last == "hopper"),
        ),
        (
            json!([{"field": "email", "operator": "eq", "value": "ADA.LOVELACE.0@EXAMPLE.COM"}]),
            Box::new(|m: &Model| m.email == "ada.lovelace.0@example.com"),
        ),
        (
            json!([{"field": "phone", "operator": "exists"}]),
            Box::new(|m: &Model| m.phone.is_some()),
        ),
        (
            json!([{"field": "phone", "operator": "eq", "value": "(202) 555-1003"}]),
            Box::new(|m: &Model| m.phone.as_deref() == Some("+12025551003")),
        ),
        (
            json!([{"field": "phone", "operator": "contains", "value": "555-101"}]),
            Box::new(|m: &Model| m.phone.as_deref().is_some_and(|p| p.contains("555101"))),
        ),
        (
            json!([{"field": "city", "operator": "eq", "value": "new york"}]),
            Box::new(|m: &Model| m.city.as_deref() == Some("New York")),
        ),
        (
            json!([{"field": "city", "operator": "not_eq", "value": "London"}]),
            Box::new(|m: &Model| m.city.as_deref() != Some("London")),
        ),
        (
            json!([{"field": "city", "operator": "not_exists"}]),
            Box::new(|m: &Model| m.city.is_none()),
        ),
        (
            json!([{"field": "dnd", "operator": "eq", "value": true}]),
            Box::new(|m: &Model| m.dnd),
        ),
        (
            json!([{"field": "dnd", "operator": "not_eq", "value": true}]),
            Box::new(|m: &Model| !m.dnd),
        ),
        (
            json!([{"field": "dateAdded", "operator": "range", "value": {"gte": "2026-01-03", "lte": "2026-01-03"}}]),
            Box::new(move |m: &Model| m.date_added >= jan3 && m.date_added < jan3 + 86_400_000),
        ),
        (
            json!([{"field": "dateAdded", "operator": "range", "value": {"gt": START_MS + 40 * 3_600_000}}]),
            Box::new(|m: &Model| m.date_added > START_MS + 40 * 3_600_000),
        ),
        (
            json!([{"field": "dateAdded", "operator": "range", "value": {"low": "2026-01-02T00:00:00Z", "high": "2026-01-04T00:00:00.000Z"}}]),
            Box::new(|m: &Model| {
                m.date_added >= START_MS + 86_400_000 && m.date_added <= START_MS + 3 * 86_400_000
            }),
        ),
        (
            json!([{"field": "dateOfBirth", "operator": "range", "value": {"lt": "1970-01-01"}}]),
            Box::new(|m: &Model| m.birth.as_deref().is_some_and(|b| b < "1970-01-01")),
        ),
        (
            json!([{"field": "dateOfBirth", "operator": "exists"}]),
            Box::new(|m: &Model| m.birth.is_some()),
        ),
        (
            json!([{"group": "OR", "filters": [
                {"field": "firstNameLowerCase", "operator": "eq", "value": "alan"},
                {"group": "AND", "filters": [{"field": "tags", "operator": "eq", "value": "lead"}, {"field": "dnd", "operator": "eq", "value": false}]}]},
               {"field": "city", "operator": "exists"}]),
            Box::new(|m: &Model| {
                (m.first == "alan" || (m.tags.iter().any(|t| t == "lead") && !m.dnd))
                    && m.city.is_some()
            }),
        ),
        (
            json!([{"field": "opportunities", "operator": "nested", "filters": [{"field": "status", "operator": "eq", "value": "open"}]}]),
            Box::new(|_: &Model| false),
        ),
        (
            json!([{"field": "validEmail", "operator": "not_exists"}]),
            Box::new(|_: &Model| true),
        ),
        (
            json!([{"field": "followers", "operator": "eq", "value": user}]),
            Box::new(|m: &Model| m.followed),
        ),
        (
            json!([{"field": "followers", "operator": "not_exists"}]),
            Box::new(|m: &Model| !m.followed),
        ),
        (
            json!([{"field": "activeWorkflows", "operator": "not_eq", "value": workflow}]),
            Box::new(|m: &Model| !m.enrolled),
        ),
        (
            json!([{"field": "finishedWorkflows", "operator": "exists"}]),
            Box::new(|_: &Model| false),
        ),
        (json!([]), Box::new(|_: &Model| true)),
    ]
}

on_both! {
    async fn filters_match_an_independent_evaluation(s) {
        let mut models = seed(s, 48).await;
        let (user, workflow) = follow_and_enrol(s, &mut models).await;
        // Another location's contacts never show.
        s.send(s.request_as(&s.other_token, Method::POST, "/contacts/").json(&json!({"locationId": s.other_location.id, "firstName": "Ada", "tags": ["vip"]}))).await;
        for (filters, expected) in cases(&user, &workflow) {
            let want: BTreeSet<String> = models.iter().filter(|m| expected(m)).map(|m| m.id.clone()).collect();
            let got = all_matches(s, &filters, 7).await;
            let got_set: BTreeSet<String> = got.iter().cloned().collect();
            assert_eq!(got.len(), got_set.len(), "{filters}: no row twice across pages");
            assert_eq!(got_set, want, "{filters}");
        }
    }

    async fn sorting_paging_and_the_row_shape(s) {
        let models = seed(s, 12).await;
        // Default: newest first.
        let (_, page) = search(s, json!({"pageLimit": 5})).await;
        let newest: Vec<&str> = page["contacts"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
        let mut by_date = models.clone();
        by_date.sort_by_key(|m| std::cmp::Reverse(m.date_added));
        assert_eq!(newest, by_date.iter().take(5).map(|m| m.id.as_str()).collect::<Vec<_>>());
        assert_eq!(page["total"], 12);
        let first = &page["contacts"][0];
        assert_eq!(first["searchAfter"], json!([by_date[0].date_added, by_date[0].id]));

        // `page` reaches the same rows as the cursor.
        let (_, second) = search(s, json!({"pageLimit": 5, "page": 2})).await;
        let (_, after) = search(s, json!({"pageLimit": 5, "searchAfter": page["contacts"][4]["searchAfter"]})).await;
        assert_eq!(second["contacts"], after["contacts"]);
        let (_, past) = search(s, json!({"pageLimit": 5, "page": 4})).await;
        assert_eq!((past["contacts"].clone(), past["total"].clone()), (json!([]), json!(12)));

        // Two sort keys: first name ascending, then newest first; cursors carry both.
        let (_, sorted) = search(s, json!({"pageLimit": 50, "sort": [{"field": "firstNameLowerCase", "direction": "asc"}, {"field": "dateAdded", "direction": "desc"}]})).await;
        let mut want = models.clone();
        want.sort_by(|a, b| a.first.cmp(&b.first).then(b.date_added.cmp(&a.date_added)));
        let got: Vec<&str> = sorted["contacts"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
        assert_eq!(got, want.iter().map(|m| m.id.as_str()).collect::<Vec<_>>());
        assert_eq!(sorted["contacts"][0]["searchAfter"], json!([want[0].first, want[0].date_added, want[0].id]));

        // The row: every key of dossier §3.1, null where empty; names lower-cased with `…Raw`.
        let ada = &models[0];
        let (_, found) = search(s, json!({"pageLimit": 1, "filters": [{"field": "id", "operator": "eq", "value": ada.id}]})).await;
        let row = &found["contacts"][0];
        let keys: BTreeSet<&str> = row.as_object().unwrap().keys().map(String::as_str).collect();
        let want_keys: BTreeSet<&str> = ["id", "locationId", "contactName", "firstName", "lastName", "firstNameRaw", "lastNameRaw",
            "firstNameLowerCase", "lastNameLowerCase", "email", "phone", "phoneLabel", "additionalEmails", "additionalPhones",
            "companyName", "businessName", "businessId", "address", "city", "state", "postalCode", "country", "website",
            "timezone", "source", "type", "assignedTo", "followers", "tags", "customFields", "dnd", "dndSettings",
            "inboundDndSettings", "validEmail", "dateOfBirth", "dateAdded", "dateUpdated", "opportunities", "searchAfter"].into();
        assert_eq!(keys, want_keys);
        assert_eq!(row["firstName"], ada.first.as_str());
        assert_eq!(row["firstNameRaw"], capitalise(&ada.first));
        assert_eq!(row["contactName"], format!("{} {}", ada.first, ada.last));
        assert_eq!(row["email"], ada.email.as_str());
        assert_eq!(row["locationId"], s.loc());
        assert_eq!(row["type"], "lead");
        assert_eq!(row["companyName"], Value::Null);
        assert_eq!(row["tags"], json!(ada.tags));
        assert_eq!(row["dateAdded"], "2026-01-01T00:00:00.000Z");
        assert!(found["traceId"].is_string());
        assert!(found.get("count").is_none() && found.get("meta").is_none());

        // Free text across name, email, phone and company.
        let (_, text) = search(s, json!({"pageLimit": 50, "query": ada.first.to_uppercase()})).await;
        let want: BTreeSet<&str> = models.iter().filter(|m| m.first == ada.first || m.email.contains(&ada.first) || m.last.contains(&ada.first)).map(|m| m.id.as_str()).collect();
        let got: BTreeSet<&str> = text["contacts"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
        assert_eq!(got, want);
    }

    async fn refusals_name_the_problem(s) {
        let before = s.counts().await;
        let (st, body) = search(s, json!({"pageLimit": 5, "filters": [{"field": "customFields.Relationship Number", "operator": "eq", "value": "x"}]})).await;
        assert_eq!((st.as_u16(), body), (400, json!({"statusCode": 400, "message": "Invalid field: customFields.Relationship Number", "error": "Bad Request"})));
        let cases = [
            (json!({}), json!(["pageLimit must be a number conforming to the specified constraints"])),
            (json!({"pageLimit": 501}), json!(["pageLimit must not be greater than 500"])),
            (json!({"pageLimit": 500, "page": 21}), json!(["page and pageLimit reach past the first 10000 records: use searchAfter to go further"])),
            (json!({"pageLimit": 5, "query": "x".repeat(76)}), json!(["query must be shorter than or equal to 75 characters"])),
            (json!({"pageLimit": 5, "filters": [{"field": "email", "operator": "contains", "value": "x"}]}), json!(["filters.0.operator contains is not supported for field email"])),
            (json!({"pageLimit": 5, "sort": [{"field": "email"}, {"field": "dnd"}, {"field": "source"}]}), json!(["sort must contain no more than 2 elements"])),
            (json!({"pageLimit": 5, "searchAfter": "x"}), json!(["searchAfter must hold 2 values, as the searchAfter of a row of the same sort does"])),
            (json!({"pageLimit": 5, "everything": true}), json!(["property everything should not exist"])),
        ];
        for (body, message) in cases {
            let (st, answer) = search(s, body.clone()).await;
            assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {answer}");
            assert_eq!(answer["message"], message, "{body}");
        }
        let (st, _) = s.post("/contacts/search", json!({"locationId": s.other_location.id, "pageLimit": 5})).await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        assert_eq!(s.counts().await, before);
    }
}

on_both! {
    async fn custom_fields_are_searchable_by_id(s) {
        let id = |v: Value| v["id"].as_str().unwrap().to_owned();
        let text = id(s.custom_field(json!({"name": "Nickname", "dataType": "TEXT"})).await);
        let score = id(s.custom_field(json!({"name": "Score", "dataType": "NUMERICAL"})).await);
        let colours = id(s.custom_field(json!({"name": "Colours", "dataType": "MULTIPLE_OPTIONS", "options": ["red", "green", "blue"]})).await);
        let renewal = id(s.custom_field(json!({"name": "Renewal", "dataType": "DATE"})).await);
        let kids = s.custom_field(json!({"name": "Kids", "dataType": "TEXTBOX_LIST", "textBoxListOptions": [{"label": "First", "prefillValue": ""}]})).await;
        let kids_row = kids["textBoxListOptions"][0]["id"].as_str().unwrap().to_owned();
        let kids = id(kids);
        // (nickname, score, colours, renewal, first kid)
        type Row<'a> = (Option<&'a str>, Option<f64>, Option<Value>, Option<Value>, Option<&'a str>);
        let rows: [Row; 5] = [
            (Some("Ace"), Some(10.0), Some(json!(["red"])), Some(json!("2026-03-01")), Some("Tom")),
            (Some("Bee"), Some(25.5), Some(json!(["green", "blue"])), Some(json!("2026-03-15T10:00:00Z")), None),
            (None, Some(40.0), None, Some(json!(1_775_001_600_000i64)), Some("Tim")), // 2026-04-01
            (Some("ace of spades"), None, Some(json!(["blue"])), None, None),
            (None, None, None, None, None),
        ];
        let mut ids = Vec::new();
        for (nick, points, colour, date, kid) in &rows {
            let mut fields = Vec::new();
            if let Some(nick) = nick { fields.push(json!({"id": text, "field_value": nick})); }
            if let Some(points) = points { fields.push(json!({"id": score, "field_value": points})); }
            if let Some(colour) = colour { fields.push(json!({"id": colours, "field_value": colour})); }
            if let Some(date) = date { fields.push(json!({"id": renewal, "field_value": date})); }
            if let Some(kid) = kid { fields.push(json!({"id": kids, "field_value": {kids_row.as_str(): kid}})); }
            ids.push(s.contact(json!({"firstName": "Custom", "customFields": fields})).await);
        }
        let want = |picked: &[usize]| -> BTreeSet<String> { picked.iter().map(|i| ids[*i].clone()).collect() };
        let cases = [
            (json!([{"field": format!("customFields.{text}"), "operator": "eq", "value": "ACE"}]), want(&[0])),
            (json!([{"field": format!("customFields.{text}"), "operator": "contains", "value": "ace"}]), want(&[0, 3])),
            (json!([{"field": format!("customFields.{text}"), "operator": "not_eq", "value": "ace"}]), want(&[1, 2, 3, 4])),
            (json!([{"field": format!("customFields.{text}"), "operator": "not_exists"}]), want(&[2, 4])),
            (json!([{"field": format!("customFields.{score}"), "operator": "range", "value": {"gte": 20, "lt": "40"}}]), want(&[1])),
            (json!([{"field": format!("customFields.{score}"), "operator": "eq", "value": 40}]), want(&[2])),
            (json!([{"field": format!("customFields.{score}"), "operator": "exists"}]), want(&[0, 1, 2])),
            (json!([{"field": format!("customFields.{colours}"), "operator": "eq", "value": "blue"}]), want(&[1, 3])),
            (json!([{"field": format!("customFields.{colours}"), "operator": "not_eq", "value": "blue"}]), want(&[0, 2, 4])),
            (json!([{"field": format!("customFields.{renewal}"), "operator": "range", "value": {"gte": "2026-03-10", "lte": "2026-04-01"}}]), want(&[1, 2])),
            (json!([{"field": format!("customFields.{kids}.{kids_row}"), "operator": "eq", "value": "tim"}]), want(&[2])),
            (json!([{"field": format!("customFields.{kids}.{kids_row}"), "operator": "exists"}]), want(&[0, 2])),
            (json!([{"field": format!("customFields.{kids}"), "operator": "not_exists"}]), want(&[1, 3, 4])),
        ];
        for (filters, expected) in cases {
            let got: BTreeSet<String> = all_matches(s, &filters, 2).await.into_iter().collect();
            assert_eq!(got, expected, "{filters}");
        }
        // Operators the type does not take, and fields the location does not have.
        let (st, body) = search(s, json!({"pageLimit": 5, "filters": [{"field": format!("customFields.{score}"), "operator": "contains", "value": "1"}]})).await;
        assert_eq!((st.as_u16(), body["message"].clone()), (422, json!([format!("filters.0.operator contains is not supported for field customFields.{score}")])));
        let (st, body) = search(s, json!({"pageLimit": 5, "filters": [{"field": format!("customFields.{score}"), "operator": "eq", "value": "many"}]})).await;
        assert_eq!((st.as_u16(), body["message"].clone()), (422, json!(["filters.0.value must be a number"])));
        for field in [format!("customFields.{text}.{kids_row}"), "customFields.nope".to_owned(), format!("customFields.{kids}.not\"a-row")] {
            let (st, body) = search(s, json!({"pageLimit": 5, "filters": [{"field": field, "operator": "exists"}]})).await;
            assert_eq!((st.as_u16(), body["message"].clone()), (400, json!(format!("Invalid field: {field}"))), "{field}");
        }
        // Another location's field is unknown here.
        let r = s.request_as(&s.other_token, Method::POST, &format!("/locations/{}/customFields", s.other_location.id)).json(&json!({"name": "Theirs", "dataType": "TEXT"}));
        let (_, theirs) = s.send(r).await;
        let theirs = theirs["customField"]["id"].as_str().unwrap().to_owned();
        let (st, _) = search(s, json!({"pageLimit": 5, "filters": [{"field": format!("customFields.{theirs}"), "operator": "exists"}]})).await;
        assert_eq!(st.as_u16(), 400);
    }

    async fn free_text_matches_an_independent_evaluation(s) {
        // (first, last, email, phone, company, tags): punctuation that means something to
        // FTS5 or LIKE, short and long fragments, digits and tags.
        type Person<'a> = (&'a str, &'a str, &'a str, Option<&'a str>, Option<&'a str>, &'a [&'a str]);
        let people: [Person; 7] = [
            ("Ada", "Lovelace", "ada@example.com", Some("+12025550143"), Some("Analytical Engines"), &["vip"]),
            ("Grace", "Hopper", "grace.hopper@navy.example", Some("+12025550199"), Some("Say \"Hi\" *Corp*"), &["booked call"]),
            ("Alan", "Turing", "alan_turing@bletchley.example", None, Some("50% off: AND/OR"), &["cold", "lead"]),
            ("Edsger", "Dijkstra", "ewd@example.org", Some("+31205550100"), None, &[]),
            ("Zoë", "Ólafsdóttir", "zoe@example.is", None, None, &["vip"]),
            ("Barbara", "Liskov", "barbara@mit.example", Some("+16175550123"), Some("Adaptive"), &["partner"]),
            ("Ada", "Other", "other@example.net", None, None, &["hot lead"]),
        ];
        let mut ids = Vec::new();
        for (first, last, email, phone, company, tags) in &people {
            let mut body = json!({"firstName": first, "lastName": last, "email": email, "tags": tags});
            if let Some(phone) = phone { body["phone"] = json!(phone); }
            if let Some(company) = company { body["companyName"] = json!(company); }
            ids.push(s.contact(body).await);
        }
        // Another location's Ada never shows.
        s.send(s.request_as(&s.other_token, Method::POST, "/contacts/").json(&json!({"locationId": s.other_location.id, "firstName": "Ada", "lastName": "Lovelace"}))).await;
        let expected = |query: &str| -> BTreeSet<String> {
            let q = query.to_lowercase();
            let digits: String = query.chars().filter(char::is_ascii_digit).collect();
            people.iter().zip(&ids).filter(|((first, last, email, phone, company, tags), _)| {
                format!("{first} {last}").to_lowercase().contains(&q)
                    || email.to_lowercase().contains(&q)
                    || company.is_some_and(|c| c.to_lowercase().contains(&q))
                    || (!digits.is_empty() && phone.is_some_and(|p| p.contains(&digits)))
                    || tags.iter().any(|t| t.contains(&q))
            }).map(|(_, id)| id.clone()).collect()
        };
        let queries = ["ada", "ADA", "a", "ad", "ove", "lovelace", "ada lovelace", "example.org", "@", "_tur",
            "202", "(202) 555-01", "0143", "55", "vip", "ooked", "lead", "\"hi\"", "*corp", "50%", "off: and/or",
            "ólaf", "zoë", "nobody", "ada\"", "\"", "e*", "(", "near/2"];
        for query in queries {
            let want = expected(query);
            let (st, found) = search(s, json!({"pageLimit": 50, "query": query})).await;
            assert_eq!(st, StatusCode::OK, "{query}: {found}");
            let got: BTreeSet<String> = found["contacts"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect();
            assert_eq!(got, want, "search {query:?}");
            assert_eq!(found["total"], want.len(), "search {query:?} total");
            // The contact list's `query` is the same text match.
            let path = format!("/contacts/?locationId={}&limit=100&query={}", s.loc(), urlencode(query));
            let (st, listed) = s.get(&path).await;
            assert_eq!(st, StatusCode::OK, "{query}: {listed}");
            let got: BTreeSet<String> = listed["contacts"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect();
            assert_eq!(got, want, "list {query:?}");
        }
    }

    async fn the_search_indexes_follow_updates_and_deletes(s) {
        let score = s.custom_field(json!({"name": "Score", "dataType": "NUMERICAL"})).await["id"].as_str().unwrap().to_owned();
        let a = s.contact(json!({"firstName": "Ada", "lastName": "Lovelace", "customFields": [{"id": score, "field_value": 10}]})).await;
        let b = s.contact(json!({"firstName": "Grace", "lastName": "Hopper", "customFields": [{"id": score, "field_value": 20}]})).await;
        let found = |body: Value| async move {
            let (st, page) = search(s, body).await;
            assert_eq!(st, StatusCode::OK, "{page}");
            page["contacts"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect::<BTreeSet<String>>()
        };
        let range = |low: i64, high: i64| json!({"pageLimit": 10, "filters": [{"field": format!("customFields.{score}"), "operator": "range", "value": {"gte": low, "lte": high}}]});
        assert_eq!(found(range(5, 15)).await, [a.clone()].into());
        assert_eq!(found(json!({"pageLimit": 10, "query": "lovel"})).await, [a.clone()].into());

        // A new name and a new value replace the old ones in the indexes.
        let (st, _) = s.put(&format!("/contacts/{a}"), json!({"lastName": "Byron", "customFields": [{"id": score, "field_value": 30}]})).await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(found(json!({"pageLimit": 10, "query": "lovel"})).await, BTreeSet::new());
        assert_eq!(found(json!({"pageLimit": 10, "query": "byro"})).await, [a.clone()].into());
        assert_eq!(found(range(5, 15)).await, BTreeSet::new());
        assert_eq!(found(range(25, 35)).await, [a.clone()].into());
        // A cleared value leaves the index; `not_eq` holds for a contact without one.
        let (st, _) = s.put(&format!("/contacts/{b}"), json!({"customFields": [{"id": score, "field_value": null}]})).await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(found(range(0, 100)).await, [a.clone()].into());
        let not_30 = json!({"pageLimit": 10, "filters": [{"field": format!("customFields.{score}"), "operator": "not_eq", "value": 30}]});
        assert_eq!(found(not_30).await, [b.clone()].into());

        // A deleted contact is in neither index.
        let (st, _) = s.delete(&format!("/contacts/{a}")).await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(found(json!({"pageLimit": 10, "query": "byro"})).await, BTreeSet::new());
        assert_eq!(found(range(0, 100)).await, BTreeSet::new());
        let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM contact_field_values WHERE contact_id = $1").bind(&a).fetch_one(s.db.read()).await.unwrap();
        assert_eq!(left, 0);
    }
}

/// A second server on the same database whose searches all run as SQL: what the index must
/// agree with, and another process's writes. Stops when the sender drops.
async fn sql_only_server(s: &TestServer) -> (String, tokio::sync::oneshot::Sender<()>) {
    let state =
        hilo_server::AppState::new(s.db.clone(), hilo_server::oauth::OAuthSettings::default())
            .await
            .unwrap()
            .with_rate_limiter(hilo_server::ratelimit::RateLimiter::off())
            .without_contact_index();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let app = hilo_server::app(state, 64 * 1024);
    tokio::spawn(hilo_server::serve(listener, app, async {
        rx.await.ok();
    }));
    (base, tx)
}

/// A name the data has, or `word`, which may be part of one.
fn name_or(rng: &mut Lcg, names: &[&str], word: &str) -> Value {
    json!(if rng.next(2) == 0 {
        names[rng.next(names.len())]
    } else {
        word
    })
}

/// A random `filters` array: conditions on most fields with each operator they take, and groups
/// up to `depth` deep.
fn random_filters(rng: &mut Lcg, user: &str, workflow: &str, score: &str, depth: usize) -> Value {
    const TEXT: &[&str] = &[
        "eq",
        "not_eq",
        "contains",
        "not_contains",
        "exists",
        "not_exists",
    ];
    const EQ: &[&str] = &["eq", "not_eq", "exists", "not_exists"];
    let words = ["ada", "ur", "lee", "", "LOVE", "hopper", "x", "5"];
    let score_field = format!("customFields.{score}");
    let mut items = Vec::new();
    for _ in 0..1 + rng.next(3) {
        if depth > 0 && rng.next(5) == 0 {
            let group = if rng.next(2) == 0 { "AND" } else { "OR" };
            let filters = random_filters(rng, user, workflow, score, depth - 1);
            items.push(json!({"group": group, "filters": filters}));
            continue;
        }
        let word = words[rng.next(words.len())];
        let (field, ops, value): (&str, &[&str], Value) = match rng.next(15) {
            0 => ("tags", TEXT, json!(TAGS[rng.next(TAGS.len())])),
            1 => ("firstNameLowerCase", TEXT, name_or(rng, FIRST, word)),
            2 => ("lastNameLowerCase", TEXT, name_or(rng, LAST, word)),
            3 => ("email", EQ, json!(word)),
            4 => (
                "phone",
                TEXT,
                json!(["555", "+12025551003", "202", "x"][rng.next(4)]),
            ),
            5 => (
                "companyName",
                TEXT,
                json!(["acme 1", "Acme", "ACME 2", "me"][rng.next(4)]),
            ),
            6 => {
                let full = format!(
                    "{} {}",
                    FIRST[rng.next(FIRST.len())],
                    LAST[rng.next(LAST.len())]
                );
                ("contactName", EQ, json!(full))
            }
            7 => ("assignedTo", EQ, json!(user)),
            8 => ("dnd", &["eq", "not_eq"], json!(rng.next(2) == 0)),
            9 => ("followers", EQ, json!(user)),
            10 => ("activeWorkflows", &["eq", "not_eq"], json!(workflow)),
            11 => (
                [
                    "city",
                    "state",
                    "postalCode",
                    "address",
                    "source",
                    "website",
                ][rng.next(6)],
                TEXT,
                json!(["new york", "tx", "78701", "main", "web", "API", "example"][rng.next(7)]),
            ),
            12 => (
                ["type", "country", "timezone"][rng.next(3)],
                EQ,
                json!(["lead", "US", "America/New_York", "customer"][rng.next(4)]),
            ),
            13 => {
                let day = format!(
                    "19{}-0{}-1{}",
                    50 + rng.next(40),
                    1 + rng.next(9),
                    rng.next(9)
                );
                (
                    "dateOfBirth",
                    &["range", "exists", "not_exists"],
                    json!(day),
                )
            }
            _ => (
                score_field.as_str(),
                &["eq", "not_eq", "range", "range"],
                json!(rng.next(7)),
            ),
        };
        let op = ops[rng.next(ops.len())];
        items.push(match op {
            "exists" | "not_exists" => json!({"field": field, "operator": op}),
            "range" if field == "dateOfBirth" => {
                json!({"field": field, "operator": op, "value": {"gte": value, "lt": "1975-06-01"}})
            }
            "range" => {
                let (low, high) = (rng.next(4), 2 + rng.next(5));
                json!({"field": field, "operator": op, "value": {"gte": low, "lte": high}})
            }
            _ => json!({"field": field, "operator": op, "value": value}),
        });
        if rng.next(6) == 0 {
            let from = START_MS + i64::try_from(rng.next(200)).unwrap() * 3_600_000;
            let until = from + 100 * 3_600_000;
            items.push(json!({"field": "dateAdded", "operator": "range", "value": {"gt": from, "lte": until}}));
        }
    }
    Value::Array(items)
}

/// The search on the server at `base`, without its trace id.
async fn search_at(s: &TestServer, base: &str, body: &Value) -> (StatusCode, Value) {
    let mut body = body.clone();
    body["locationId"] = json!(s.loc());
    let request = s
        .client
        .post(format!("{base}/contacts/search"))
        .bearer_auth(&s.token)
        .header("Version", "2021-07-28")
        .json(&body);
    let response = request.send().await.unwrap();
    let status = response.status();
    let mut answer: Value = response.json().await.unwrap();
    if let Some(object) = answer.as_object_mut() {
        object.remove("traceId");
    }
    (status, answer)
}

const SOURCES: [&str; 3] = ["Web form", "API", "Ads"];

on_both! {
    async fn the_index_answers_as_sql_does(s) {
        let mut models = seed(s, 60).await;
        let (user, workflow) = follow_and_enrol(s, &mut models).await;
        let score = s.custom_field(json!({"name": "Score", "dataType": "NUMERICAL"})).await["id"].as_str().unwrap().to_owned();
        for (i, m) in models.iter().enumerate().step_by(2) {
            let (st, body) = s.put(&format!("/contacts/{}", m.id), json!({"customFields": [{"id": score, "field_value": i % 7}], "companyName": format!("Acme {}", i % 3), "assignedTo": if i % 4 == 0 { Some(user.clone()) } else { None }, "source": SOURCES[i % 3], "postalCode": format!("7870{}", i % 5), "address1": format!("{i} Main St"), "state": if i % 4 == 2 { "TX" } else { "NY" }, "website": if i % 6 == 0 { "https://example.com" } else { "" }})).await;
            assert!(st.is_success(), "{body}");
        }
        let (sql, _stop) = sql_only_server(s).await;
        let sorts = [
            json!(null),
            json!([{"field": "firstNameLowerCase", "direction": "asc"}, {"field": "dateAdded", "direction": "desc"}]),
            json!([{"field": "lastNameLowerCase", "direction": "desc"}, {"field": "email", "direction": "asc"}]),
            json!([{"field": "dnd", "direction": "desc"}, {"field": "dateUpdated", "direction": "asc"}]),
            // Ties, which the id breaks.
            json!([{"field": "firstNameLowerCase", "direction": "desc"}]),
            json!([{"field": "dnd", "direction": "asc"}]),
            json!([{"field": "source", "direction": "asc"}, {"field": "email", "direction": "desc"}]),
            // Not held by the index: SQL on both.
            json!([{"field": "businessName"}]),
        ];
        let mut filters: Vec<Value> = cases(&user, &workflow).into_iter().map(|(f, _)| f).collect();
        filters.extend([
            json!([{"field": format!("customFields.{score}"), "operator": "range", "value": {"gte": 2, "lt": 5}}]),
            json!([{"field": format!("customFields.{score}"), "operator": "not_eq", "value": 3}]),
            json!([{"field": "companyName", "operator": "contains", "value": "ACME 1"}]),
            json!([{"field": "assignedTo", "operator": "eq", "value": user}]),
            json!([{"field": "assignedTo", "operator": "not_exists"}]),
            json!([{"field": "id", "operator": "not_eq", "value": models[3].id}]),
            json!([{"group": "OR", "filters": [{"field": "tags", "operator": "eq", "value": "cold"}, {"field": "lastNameLowerCase", "operator": "contains", "value": "ur"}]}, {"field": "dnd", "operator": "eq", "value": false}]),
        ]);
        let queries = [json!(null), json!("ada"), json!("LOVE"), json!("202555"), json!("example.com"), json!("call"), json!("acme"), json!("zz")];
        let mut bodies = Vec::new();
        for (i, filter) in filters.iter().enumerate() {
            bodies.push(json!({"pageLimit": 7, "filters": filter, "sort": sorts[i % sorts.len()]}));
            bodies.push(json!({"pageLimit": 4, "page": 3, "filters": filter, "query": queries[i % queries.len()]}));
        }
        for query in &queries {
            bodies.push(json!({"pageLimit": 100, "query": query}));
        }
        for body in &bodies {
            let mut body = body.clone();
            if body["sort"].is_null() {
                body.as_object_mut().unwrap().remove("sort");
            }
            // Every page through the cursors, on both.
            loop {
                let indexed = search_at(s, &s.base, &body).await;
                let plain = search_at(s, &sql, &body).await;
                assert_eq!(indexed, plain, "{body}");
                let rows = indexed.1["contacts"].as_array().cloned().unwrap_or_default();
                if rows.is_empty() || body.get("page").is_some() {
                    break;
                }
                body["searchAfter"] = rows.last().unwrap()["searchAfter"].clone();
            }
        }
        // And random ones, over the fields the index holds and some it does not.
        let mut rng = Lcg(11);
        let mut answered = 0;
        for _ in 0..150 {
            let mut body = json!({"pageLimit": 1 + rng.next(9), "filters": random_filters(&mut rng, &user, &workflow, &score, 2)});
            if rng.next(3) == 0 {
                body["query"] = json!(["ada", "ur", "555", "acme 2", "call", "e"][rng.next(6)]);
            }
            if rng.next(2) == 0 {
                body["sort"] = sorts[rng.next(sorts.len() - 1) + 1].clone();
            }
            let indexed = search_at(s, &s.base, &body).await;
            assert_eq!(indexed, search_at(s, &sql, &body).await, "{body}");
            answered += usize::from(indexed.0 == StatusCode::OK && indexed.1["total"] != 0);
            if let Some(last) = indexed.1["contacts"].as_array().and_then(|rows| rows.last()) {
                body["searchAfter"] = last["searchAfter"].clone();
                assert_eq!(search_at(s, &s.base, &body).await, search_at(s, &sql, &body).await, "{body}");
            }
        }
        // Most find someone: the comparisons are of rows, not of refusals or empty pages.
        assert!(answered > 75, "{answered} of 150 found contacts");
    }

    async fn the_index_sees_what_other_processes_write(s) {
        let models = seed(s, 10).await;
        let (other, _stop) = sql_only_server(s).await;
        let tagged = json!({"pageLimit": 20, "filters": [{"field": "tags", "operator": "eq", "value": "fresh"}]});
        let ids = |answer: &Value| -> Vec<String> { answer["contacts"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect() };
        assert_eq!(search_at(s, &s.base, &tagged).await.1["total"], 0);

        // A tag, a name and a new contact, written by the other server.
        let call = |method: Method, path: String, body: Value| s.client.request(method, format!("{other}{path}")).bearer_auth(&s.token).header("Version", "2021-07-28").json(&body).send();
        let response = call(Method::POST, format!("/contacts/{}/tags", models[2].id), json!({"tags": ["fresh"]})).await.unwrap();
        assert!(response.status().is_success());
        let (_, found) = search_at(s, &s.base, &tagged).await;
        assert_eq!(ids(&found), [models[2].id.clone()]);
        let response = call(Method::PUT, format!("/contacts/{}", models[5].id), json!({"lastName": "Zyxwv"})).await.unwrap();
        assert!(response.status().is_success());
        let renamed = json!({"pageLimit": 20, "filters": [{"field": "lastNameLowerCase", "operator": "contains", "value": "yxw"}]});
        assert_eq!(ids(&search_at(s, &s.base, &renamed).await.1), [models[5].id.clone()]);
        let response = call(Method::POST, "/contacts/".to_owned(), json!({"locationId": s.loc(), "firstName": "Newcomer", "tags": ["fresh"]})).await.unwrap();
        let created: Value = response.json().await.unwrap();
        let newcomer = created["contact"]["id"].as_str().unwrap().to_owned();
        let (_, found) = search_at(s, &s.base, &tagged).await;
        assert_eq!((found["total"].clone(), ids(&found).contains(&newcomer)), (json!(2), true));

        // Written straight to the database, as a process of another version might.
        sqlx::query("DELETE FROM contact_tags WHERE contact_id = $1").bind(&models[2].id).execute(s.db.write()).await.unwrap();
        assert_eq!(ids(&search_at(s, &s.base, &tagged).await.1), std::slice::from_ref(&newcomer));

        // Deleted by the other server: gone from the total and the rows.
        let response = call(Method::DELETE, format!("/contacts/{newcomer}"), json!({})).await.unwrap();
        assert!(response.status().is_success());
        let (_, found) = search_at(s, &s.base, &tagged).await;
        assert_eq!((found["total"].clone(), found["contacts"].clone()), (json!(0), json!([])));
        let (_, everyone) = search_at(s, &s.base, &json!({"pageLimit": 50})).await;
        assert_eq!(everyone["total"], 10);
        assert_eq!(search_at(s, &s.base, &json!({"pageLimit": 50})).await, search_at(s, &other, &json!({"pageLimit": 50})).await);
    }
}

on_both! {
    async fn large_locations_load_in_the_background(s) {
        let models = seed(s, 5).await;
        // Every location past two contacts is large here.
        let indexes = hilo_server::contact_index::ContactIndexes::loading_inline_upto(2);
        let ctx = hilo_server::contact_search::SearchContext {
            backend: s.db.backend,
            timezone: chrono_tz::UTC,
            country: "US".to_owned(),
            custom_fields: Default::default(),
        };
        let body = json!({"pageLimit": 3});
        let q = hilo_server::contact_search::parse(body.as_object().unwrap(), &ctx).unwrap();
        // The first search starts the load, and SQL answers it.
        assert_eq!(indexes.search(&s.db, s.loc(), &q).await.unwrap(), None);
        let mut hits = None;
        for _ in 0..500 {
            hits = indexes.search(&s.db, s.loc(), &q).await.unwrap();
            if hits.is_some() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        let hits = hits.expect("the location loaded within 5 s");
        let mut newest = models.clone();
        newest.sort_by_key(|m| std::cmp::Reverse(m.date_added));
        assert_eq!(hits.total, 5);
        assert_eq!(hits.ids, newest.iter().take(3).map(|m| m.id.clone()).collect::<Vec<_>>());
    }
}
