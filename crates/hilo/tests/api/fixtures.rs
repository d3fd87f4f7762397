//! Fixtures over HTTP (`/hilo/admin/fixtures`) and the full reset (`/hilo/admin/reset` with
//! `all`): data made through the real API survives dump → full reset → load unchanged, bad
//! documents write nothing, tokens issued before a full reset stop working.

use hilo_server::api::{campaigns, workflows};
use std::time::{Duration, Instant};

use hilo_server::control;
use hilo_server::oauth::apps::Distribution;
use hilo_server::oauth::grants::InstallTarget;
use hilo_server::reset::{self, ResetTo};
use hilo_server::users;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::harness::{keys_without_trace, TestServer};
use crate::oauth::{app, authorize, exchange};
use crate::on_both;

/// A control-plane request with the admin key.
fn admin(s: &TestServer, key: &str, method: Method, path: &str) -> reqwest::RequestBuilder {
    s.client
        .request(method, format!("{}{path}", s.base))
        .bearer_auth(key)
}

async fn dump(s: &TestServer, key: &str, query: &str) -> Value {
    let (st, doc) = s
        .send(admin(
            s,
            key,
            Method::GET,
            &format!("/hilo/admin/fixtures{query}"),
        ))
        .await;
    assert_eq!(st, StatusCode::OK, "{doc}");
    assert!(doc.get("traceId").is_none(), "the bare document: {doc}");
    doc
}

async fn load(s: &TestServer, key: &str, query: &str, doc: &Value) -> (StatusCode, Value) {
    s.send(
        admin(
            s,
            key,
            Method::POST,
            &format!("/hilo/admin/fixtures{query}"),
        )
        .json(doc),
    )
    .await
}

async fn full_reset(s: &TestServer, key: &str, to: &str) -> Value {
    let (st, answer) = s
        .send(
            admin(s, key, Method::POST, "/hilo/admin/reset").json(&json!({"all": true, "to": to})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{answer}");
    answer
}

/// `GET /contacts/{id}` with `token`: its status.
async fn contact_status(s: &TestServer, token: &str, id: &str) -> StatusCode {
    s.send(s.request_as(token, Method::GET, &format!("/contacts/{id}")))
        .await
        .0
}

/// A location with a bit of everything, made through the API; returns the richest contact.
async fn populate(s: &TestServer) -> String {
    let text = s
        .custom_field(json!({"name": "Nickname", "dataType": "TEXT"}))
        .await;
    let size = s
        .custom_field(
            json!({"name": "Size", "dataType": "SINGLE_OPTIONS", "options": ["S", "M", "L"]}),
        )
        .await;
    let money = s
        .custom_field(json!({"name": "Budget", "dataType": "MONETORY"}))
        .await;
    let kids = s
        .custom_field(json!({"name": "Kids", "dataType": "TEXTBOX_LIST",
            "textBoxListOptions": [{"label": "First", "prefillValue": ""}, {"label": "Second", "prefillValue": "2"}]}))
        .await;
    let rows = kids["textBoxListOptions"].as_array().unwrap();
    let (st, business) = s
        .post(
            "/businesses/",
            json!({"name": "Acme", "locationId": s.loc(), "city": "Austin"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{business}");
    let business_id = business["buiseness"]["id"].as_str().unwrap().to_owned();
    let follower = users::create_location_user(&s.db, s.loc(), "follower@example.com", Some("F"))
        .await
        .unwrap()
        .id;
    let boss = users::create_agency_user(
        &s.db,
        &s.location.company_id,
        "boss@example.com",
        None,
        Some("a good password"),
    )
    .await
    .unwrap()
    .id;
    let contact = s
        .contact(json!({
            "firstName": "Ada", "lastName": "Lovelace", "email": "Ada@Example.com",
            "phone": "+1 202-555-0143", "address1": "1 Main St", "city": "London", "state": "LDN",
            "postalCode": "12345", "website": "https://ada.example", "timezone": "Europe/London",
            "dnd": true, "dndSettings": {"Call": {"status": "active", "message": "m", "code": "c"}, "Email": {"status": "inactive"}},
            "inboundDndSettings": {"all": {"status": "active", "message": "no"}},
            "tags": ["VIP", "newsletter"], "source": "fixtures test", "dateOfBirth": "1815-12-10",
            "country": "GB", "companyName": "Analytical Engines", "gender": "female",
            "customFields": [
                {"id": text["id"], "field_value": "Countess"},
                {"id": size["id"], "field_value": "M"},
                {"id": money["id"], "field_value": "1,200.50"},
                {"id": kids["id"], "field_value": {rows[0]["id"].as_str().unwrap(): "one", rows[1]["id"].as_str().unwrap(): "two"}},
            ],
        }))
        .await;
    let (st, b) = s
        .post(
            "/contacts/bulk/business",
            json!({"locationId": s.loc(), "ids": [contact], "businessId": business_id}),
        )
        .await;
    assert!(st.is_success(), "{b}");
    let (st, b) = s
        .post(
            &format!("/contacts/{contact}/followers"),
            json!({"followers": [follower, boss]}),
        )
        .await;
    assert!(st.is_success(), "{b}");
    for (path, body) in [
        (
            "tasks",
            json!({"title": "Write the notes", "body": "on the engine", "dueDate": "2030-01-01T00:00:00Z", "completed": false}),
        ),
        (
            "tasks",
            json!({"title": "Done", "dueDate": "2020-01-01T00:00:00Z", "completed": true}),
        ),
        ("notes", json!({"body": "First programmer"})),
    ] {
        let (st, b) = s.post(&format!("/contacts/{contact}/{path}"), body).await;
        assert!(st.is_success(), "{path}: {b}");
    }
    let campaign = campaigns::create_campaign(&s.db, s.loc(), "Spring", "published")
        .await
        .unwrap();
    let workflow = workflows::create_workflow(&s.db, s.loc(), "Onboarding", "draft")
        .await
        .unwrap();
    let (st, b) = s
        .post(
            &format!("/contacts/{contact}/campaigns/{}", campaign.id),
            json!({}),
        )
        .await;
    assert!(st.is_success(), "{b}");
    let (st, b) = s
        .post(
            &format!("/contacts/{contact}/workflow/{}", workflow.id),
            json!({"eventStartTime": "2030-02-01T10:00:00Z"}),
        )
        .await;
    assert!(st.is_success(), "{b}");
    s.contact(json!({"firstName": "Plain"})).await;
    let gone = s
        .contact(json!({"firstName": "Deleted", "email": "gone@example.com"}))
        .await;
    let (st, _) = s.delete(&format!("/contacts/{gone}")).await;
    assert_eq!(st, StatusCode::OK);
    let other = serde_json::json!({"locationId": s.other_location.id, "firstName": "Elsewhere", "tags": ["x"]});
    let (st, b) = s
        .send(
            s.request_as(&s.other_token, Method::POST, "/contacts/")
                .json(&other),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    contact
}

/// The agency's location named `id` in a document.
fn location<'a>(doc: &'a Value, id: &str) -> &'a Value {
    doc["agencies"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|a| a["locations"].as_array().unwrap())
        .find(|l| l["id"] == id)
        .unwrap_or_else(|| panic!("location {id} in {doc}"))
}

on_both! {
    async fn fixtures_round_trip_through_a_full_reset(s) {
        let key = control::ensure_admin_key(&s.db).await.unwrap().unwrap();
        let contact = populate(s).await;
        let test_app = app(s, "contacts.readonly", Distribution::Location).await;
        let code = authorize(s, &test_app, InstallTarget::Location(s.loc().to_owned())).await;
        let oauth_token = exchange(s, &test_app, &code, "Location").await["access_token"].as_str().unwrap().to_owned();
        assert_eq!(contact_status(s, &oauth_token, &contact).await, StatusCode::OK);
        let (st, before) = s.get(&format!("/contacts/{contact}")).await;
        assert_eq!(st, StatusCode::OK);

        let first = dump(s, &key, "").await;
        assert_eq!(first["hiloFixtures"], 1);
        let text = first.to_string();
        assert!(!text.contains(&test_app.client_secret) && !text.contains(&s.token), "no secret in clear");
        let main = location(&first, s.loc());
        let dumped = main["contacts"].as_array().unwrap().iter().find(|c| c["id"] == contact.as_str()).unwrap();
        assert_eq!(dumped["tags"], json!(["vip", "newsletter"]));
        assert_eq!(dumped["followers"].as_array().unwrap().len(), 2);
        assert_eq!(dumped["tasks"].as_array().unwrap().len(), 2);
        assert_eq!(dumped["phone"], "+12025550143");
        assert_eq!(main["deletedContacts"].as_array().unwrap().len(), 1);

        let reset = full_reset(s, &key, "empty").await;
        assert_eq!(reset["removed"]["contacts"], 3, "{reset}");
        assert_eq!(reset["demo"], Value::Null);
        // Nothing issued before the reset works: the grant rows are gone, and the signing key
        // changed, so the old JWT does not verify; the location's private token is gone too.
        assert_eq!(contact_status(s, &oauth_token, &contact).await, StatusCode::UNAUTHORIZED);
        assert_eq!(contact_status(s, &s.token, &contact).await, StatusCode::UNAUTHORIZED);
        assert_eq!(dump(s, &key, "").await, json!({"hiloFixtures": 1, "agencies": []}));

        let (st, loaded) = load(s, &key, "", &first).await;
        assert_eq!(st, StatusCode::OK, "{loaded}");
        assert_eq!(loaded["loaded"]["contacts"], 3, "{loaded}");
        assert_eq!(dump(s, &key, "").await, first, "dump → reset → load → dump is the same document");
        // The private token came back from its digest; the contact reads the same.
        let (st, after) = s.get(&format!("/contacts/{contact}")).await;
        assert_eq!(st, StatusCode::OK, "{after}");
        assert_eq!(after["contact"], before["contact"]);
        assert_eq!(keys_without_trace(&after), keys_without_trace(&before));
        // The app is back with its client secret, but the old access token still fails.
        assert_eq!(contact_status(s, &oauth_token, &contact).await, StatusCode::UNAUTHORIZED);
        let code = authorize(s, &test_app, InstallTarget::Location(s.loc().to_owned())).await;
        let fresh = exchange(s, &test_app, &code, "Location").await["access_token"].as_str().unwrap().to_owned();
        assert_eq!(contact_status(s, &fresh, &contact).await, StatusCode::OK);

        // Loading it again conflicts; with replace, a location's dump puts its data back.
        let (st, conflict) = load(s, &key, "", &first).await;
        assert_eq!(st, StatusCode::CONFLICT, "{conflict}");
        assert!(conflict["message"].as_str().unwrap().contains(&format!("contact {contact} already exists")), "{conflict}");
        let one = dump(s, &key, &format!("?locationId={}", s.loc())).await;
        assert_eq!(one["agencies"].as_array().unwrap().len(), 1);
        assert_eq!(one["agencies"][0]["locations"].as_array().unwrap().len(), 1);
        s.contact(json!({"firstName": "Added later"})).await;
        let (st, _) = s.delete(&format!("/contacts/{contact}")).await;
        assert_eq!(st, StatusCode::OK);
        let (st, b) = load(s, &key, "?replace=true", &one).await;
        assert_eq!(st, StatusCode::OK, "{b}");
        assert_eq!(dump(s, &key, "").await, first, "the location is the dump's again, the rest untouched");
    }

    async fn documents_larger_than_the_api_body_limit_load_over_http(s) {
        let key = control::ensure_admin_key(&s.db).await.unwrap().unwrap();
        populate(s).await;
        let doc = dump(s, &key, "").await;
        full_reset(s, &key, "empty").await;
        // Past the API's 1 MiB limit by whitespace alone, which JSON allows.
        let padded = format!("{doc}{}", " ".repeat(hilo_server::DEFAULT_BODY_LIMIT + 1));
        let request = admin(s, &key, Method::POST, "/hilo/admin/fixtures").header("Content-Type", "application/json");
        let (st, answer) = s.send(request.body(padded)).await;
        assert_eq!(st, StatusCode::OK, "{answer}");
        assert_eq!(dump(s, &key, "").await, doc);
        // The API's own bodies keep their limit, refused in HighLevel's shape; so do the other
        // control-plane bodies.
        let oversized = json!({"firstName": "x".repeat(hilo_server::DEFAULT_BODY_LIMIT)});
        let (st, answer) = s.post("/contacts/", oversized.clone()).await;
        assert_eq!((st, answer["statusCode"].clone()), (StatusCode::PAYLOAD_TOO_LARGE, json!(413)), "{answer}");
        let (st, answer) = s.send(admin(s, &key, Method::POST, "/hilo/admin/clock").json(&oversized)).await;
        assert_eq!((st, answer["statusCode"].clone()), (StatusCode::PAYLOAD_TOO_LARGE, json!(413)), "{answer}");
    }

    async fn bad_fixture_documents_write_nothing(s) {
        let key = control::ensure_admin_key(&s.db).await.unwrap().unwrap();
        s.contact(json!({"firstName": "Existing"})).await;
        let base = |location: Value| json!({"hiloFixtures": 1, "agencies": [{"id": "agency-1", "name": "A", "locations": [location]}]});
        let field = json!({"id": "field-1", "name": "Size", "fieldKey": "contact.size", "dataType": "SINGLE_OPTIONS", "picklistOptions": ["S", "M"]});
        let cases: Vec<(Value, &str)> = vec![
            (base(json!({"id": "loc-1", "name": "L", "customFields": [{"id": "f", "name": "F", "fieldKey": "contact.f", "dataType": "COLOUR"}]})),
                "agencies[0].locations[0].customFields[0]: unknown dataType \"COLOUR\""),
            (base(json!({"id": "loc-1", "name": "L", "contacts": [{"id": "c1", "followers": ["nobody"]}]})),
                "agencies[0].locations[0].contacts[0]: followers: nobody is no user of this location"),
            (base(json!({"id": "loc-1", "name": "L", "contacts": [{"id": "c1", "businessId": "b-elsewhere"}]})),
                "businessId b-elsewhere is no business of this location"),
            (base(json!({"id": "loc-1", "name": "L", "contacts": [{"id": "c1"}, {"id": "c1"}]})),
                "agencies[0].locations[0].contacts[1]: duplicate contact id c1"),
            (base(json!({"id": "loc-1", "name": "L", "contacts": [{"id": "c1", "dnd": "yes"}]})),
                "agencies[0].locations[0].contacts[0].dnd: invalid type: string \"yes\", expected a boolean"),
            (base(json!({"id": "loc-1", "name": "L", "contacts": [{"id": "c1", "nickname": "x"}]})),
                "agencies[0].locations[0].contacts[0].nickname: unknown field `nickname`"),
            (base(json!({"id": "loc-1", "name": "L", "customFields": [field], "contacts": [{"id": "c1", "customFields": [{"id": "field-1", "value": "XL"}]}]})),
                "agencies[0].locations[0].contacts[0].customFields[0]: "),
            (base(json!({"id": "loc-1", "name": "L", "contacts": [{"id": "c1", "dateAdded": "yesterday"}]})),
                "\"yesterday\" is not an ISO 8601 date-time"),
            (base(json!({"id": "loc-1", "name": "L", "tokens": [{"id": "t", "token": "secret", "scopes": ["contacts.readonly"]}]})),
                "token must start with pit-"),
            (json!({"hiloFixtures": 2, "agencies": []}), "hiloFixtures: must be 1"),
            (json!({"hiloFixtures": 1, "agencies": [{"id": "a", "name": "A", "apps": [{"id": "app", "name": "App", "clientId": "c", "redirectUris": ["https://x.example/cb"], "scopes": ["contacts.readonly"]}]}]}),
                "give exactly one of clientSecret and clientSecretSha256"),
        ];
        let before = s.counts().await;
        for (doc, message) in cases {
            let (st, body) = load(s, &key, "", &doc).await;
            assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{doc}: {body}");
            assert_eq!(body["error"], "Unprocessable Entity");
            assert_eq!(body["statusCode"], 422);
            let messages = body["message"].as_array().unwrap_or_else(|| panic!("{body}"));
            assert!(messages.iter().any(|m| m.as_str().unwrap().contains(message)), "{message:?} in {body}");
        }
        // A good agency next to a bad one: nothing of either is written.
        let mixed = json!({"hiloFixtures": 1, "agencies": [
            {"id": "good", "name": "Good", "locations": [{"id": "good-loc", "name": "G", "contacts": [{"id": "good-c"}]}]},
            {"id": "bad", "name": "", "locations": []},
        ]});
        let (st, body) = load(s, &key, "", &mixed).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let (st, body) = s
            .send(admin(s, &key, Method::POST, "/hilo/admin/fixtures").body("{\"hiloFixtures\": 1,"))
            .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let (st, body) = s
            .send(admin(s, &key, Method::POST, "/hilo/admin/fixtures").body(vec![0xff_u8, 0xfe]))
            .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        // A location of the document whose contact id exists in another location: 409 even
        // with replace, and nothing written.
        let taken = sqlx::query_scalar::<_, String>("SELECT id FROM contacts LIMIT 1").fetch_one(s.db.read()).await.unwrap();
        let clash = base(json!({"id": "loc-new", "name": "N", "contacts": [{"id": taken}]}));
        let (st, body) = load(s, &key, "?replace=true", &clash).await;
        assert_eq!(st, StatusCode::CONFLICT, "{body}");
        assert_eq!(body["error"], "Conflict");
        assert_eq!(s.counts().await, before, "a refused load writes nothing");
        let (st, _) = load(s, "hak-wrong", "", &mixed).await;
        assert_eq!(st, StatusCode::UNAUTHORIZED);
    }

    async fn a_full_reset_to_the_demo_seeds_it_again(s) {
        let key = control::ensure_admin_key(&s.db).await.unwrap().unwrap();
        let contact = s.contact(json!({"firstName": "Before"})).await;
        let answer = full_reset(s, &key, "demo").await;
        let demo = &answer["demo"];
        let token = demo["token"].as_str().unwrap();
        assert!(token.starts_with("pit-"), "{answer}");
        assert_eq!(contact_status(s, &s.token, &contact).await, StatusCode::UNAUTHORIZED);
        let (st, listed) = s
            .send(s.request_as(token, Method::GET, &format!("/contacts/?locationId={}", demo["locationId"].as_str().unwrap())))
            .await;
        assert_eq!((st, listed["contacts"].clone()), (StatusCode::OK, json!([])), "{listed}");
        let doc = dump(s, &key, "").await;
        let agencies = doc["agencies"].as_array().unwrap();
        assert_eq!(agencies.len(), 1, "{doc}");
        assert_eq!(agencies[0]["name"], "Demo Agency");
        assert_eq!(agencies[0]["users"][0]["email"], "admin@demo.hilo.local");
        assert_eq!(agencies[0]["locations"][0]["name"], "Demo Location");
        assert_eq!(agencies[0]["locations"][0]["tokens"].as_array().unwrap().len(), 1);
        // The admin key outlives the reset; a bad body is a 422.
        let (st, _) = s
            .send(admin(s, &key, Method::POST, "/hilo/admin/reset").json(&json!({"all": true, "locationId": "x"})))
            .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    }

    async fn a_full_reset_made_elsewhere_reaches_the_server_within_a_poll(s) {
        let test_app = app(s, "contacts.readonly", Distribution::Location).await;
        let code = authorize(s, &test_app, InstallTarget::Location(s.loc().to_owned())).await;
        let oauth_token = exchange(s, &test_app, &code, "Location").await["access_token"].as_str().unwrap().to_owned();
        let list = format!("/contacts/?locationId={}", s.loc());
        let status = || async { s.send(s.request_as(&oauth_token, Method::GET, &list)).await.0 };
        assert_eq!(status().await, StatusCode::OK);
        // As `hilo admin reset --all` does it: on the database, not through this server.
        reset::reset_everything(&s.db, ResetTo::Empty).await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while status().await != StatusCode::UNAUTHORIZED {
            assert!(Instant::now() < deadline, "the old token still works 5 s after the reset");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
