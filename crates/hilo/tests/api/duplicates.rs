//! A location's contacts by their unique identifiers: `GET /contacts/search/duplicate`,
//! `POST /contacts/upsert` and the duplicate rule on `PUT /contacts/{id}` (dossier §5), with the
//! location's `allowDuplicateContact` and `contactUniqueIdentifiers` settings.

use hilo_server::tenancy::{self, ContactIdentifier};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::harness::TestServer;
use crate::on_both;

async fn settings(s: &TestServer, allow: bool, identifiers: &[ContactIdentifier]) {
    tenancy::update_contact_settings(&s.db, s.loc(), Some(allow), Some(identifiers))
        .await
        .unwrap();
}

async fn duplicate(s: &TestServer, query: &str) -> (StatusCode, Value) {
    s.get(&format!(
        "/contacts/search/duplicate?locationId={}&{query}",
        s.loc()
    ))
    .await
}

async fn upsert(s: &TestServer, body: Value) -> (StatusCode, Value) {
    let mut body = body;
    body["locationId"] = json!(s.loc());
    s.post("/contacts/upsert", body).await
}

fn id_of(body: &Value) -> &str {
    body["contact"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
}

on_both! {
    async fn duplicate_lookup_by_email_and_number(s) {
        let jane = s.contact(json!({"firstName": "Jane", "email": "Jane@Example.com", "phone": "+1 202 555 0101", "tags": ["vip"]})).await;
        let (st, body) = duplicate(s, "email=JANE%40example.com").await;
        assert_eq!(st, StatusCode::OK, "{body}");
        assert_eq!(body["contact"]["id"], jane.as_str());
        assert_eq!(body["contact"]["email"], "Jane@Example.com", "as it was given");
        assert_eq!(body["contact"]["tags"], json!(["vip"]));
        assert!(body["traceId"].is_string());
        // The spec's `number`, URL-encoded, and other spellings of the same phone.
        for number in ["%2B12025550101", "(202)%20555-0101", "2025550101"] {
            let (_, body) = duplicate(s, &format!("number={number}")).await;
            assert_eq!(body["contact"]["id"], jane.as_str(), "{number}");
        }
        // Nothing matches: `contact` is null, not absent.
        let (st, body) = duplicate(s, "email=nobody%40example.com&number=%2B12025550199").await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(body.as_object().unwrap().get("contact"), Some(&Value::Null), "{body}");
        let (_, body) = duplicate(s, "number=not-a-phone").await;
        assert_eq!(body["contact"], Value::Null);

        // Neither, or only blanks: a 422.
        for query in ["", "email=&number=%20"] {
            let (st, body) = duplicate(s, query).await;
            assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {body}");
            assert_eq!(body["message"], json!(["either email or number should not be empty"]));
        }
        let (st, body) = s.get("/contacts/search/duplicate?email=jane%40example.com").await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        // Another location's contacts are not found, and its id is not this token's.
        let r = s.request_as(&s.other_token, Method::GET, &format!("/contacts/search/duplicate?locationId={}&email=jane%40example.com", s.other_location.id));
        let (st, body) = s.send(r).await;
        assert_eq!((st, body["contact"].clone()), (StatusCode::OK, Value::Null));
        let (st, _) = s.get(&format!("/contacts/search/duplicate?locationId={}&email=jane%40example.com", s.other_location.id)).await;
        assert_eq!(st, StatusCode::FORBIDDEN);
    }

    async fn duplicate_lookup_follows_the_location_settings(s) {
        let by_email = s.contact(json!({"email": "a@example.com"})).await;
        let by_phone = s.contact(json!({"email": "b@example.com", "phone": "+12025550102"})).await;
        let both = "email=a%40example.com&number=%2B12025550102";
        // Duplicates forbidden: the configured identifiers, in their order.
        settings(s, false, &[ContactIdentifier::Phone, ContactIdentifier::Email]).await;
        assert_eq!(id_of(&duplicate(s, both).await.1), by_phone);
        settings(s, false, &[ContactIdentifier::Phone]).await;
        assert_eq!(duplicate(s, "email=a%40example.com").await.1["contact"], Value::Null, "email is not an identifier here");
        // Duplicates allowed: email first, then phone, whatever is configured.
        settings(s, true, &[ContactIdentifier::Phone]).await;
        assert_eq!(id_of(&duplicate(s, both).await.1), by_email);
        assert_eq!(id_of(&duplicate(s, "number=%2B12025550102").await.1), by_phone);
    }

    async fn upsert_creates_then_updates_the_same_contact(s) {
        let (st, created) = upsert(s, json!({"firstName": "Ada", "email": "ada@example.com", "tags": ["one"], "companyName": "Engines"})).await;
        assert_eq!(st, StatusCode::OK, "{created}");
        assert_eq!(created["new"], true);
        assert_eq!(created["succeded"], true);
        assert!(created["traceId"].is_string());
        let id = id_of(&created).to_owned();
        assert_eq!(created["contact"]["firstName"], "Ada");
        assert_eq!(created["contact"]["email"], "ada@example.com");
        assert_eq!(created["contact"]["locationId"], s.loc());
        assert_eq!(created["contact"]["tags"], json!(["one"]));

        // The same email, spelled otherwise: the same contact, changed; tags replaced.
        let (st, updated) = upsert(s, json!({"lastName": "Lovelace", "email": "ADA@example.com", "phone": "+1 202 555 0103", "tags": ["two"]})).await;
        assert_eq!(st, StatusCode::OK, "{updated}");
        assert_eq!(updated["new"], false);
        assert_eq!(id_of(&updated), id);
        let (_, fetched) = s.get(&format!("/contacts/{id}")).await;
        assert_eq!(fetched["contact"]["firstName"], "Ada");
        assert_eq!(fetched["contact"]["lastName"], "Lovelace");
        assert_eq!(fetched["contact"]["phone"], "+12025550103");
        assert_eq!(fetched["contact"]["tags"], json!(["two"]));
        assert_eq!(fetched["contact"]["companyName"], "Engines");
        assert_eq!(updated["contact"], fetched["contact"], "the answer is the stored contact");

        // Matched by phone alone.
        let (_, by_phone) = upsert(s, json!({"phone": "(202) 555-0103", "city": "London"})).await;
        assert_eq!((by_phone["new"].clone(), id_of(&by_phone)), (json!(false), id.as_str()));
        assert_eq!(by_phone["contact"]["city"], "London");

        // Neither email nor phone: a new contact each time.
        let (_, first) = upsert(s, json!({"firstName": "Nobody"})).await;
        let (_, second) = upsert(s, json!({"firstName": "Nobody"})).await;
        assert_eq!((first["new"].clone(), second["new"].clone()), (json!(true), json!(true)));
        assert_ne!(id_of(&first), id_of(&second));
    }

    async fn upsert_never_makes_a_duplicate(s) {
        // Email matches one contact, phone another: the first identifier's contact is updated,
        // and the phone is not written to it (dossier §5 rule 3).
        let email_only = s.contact(json!({"firstName": "E", "email": "e@example.com"})).await;
        let phone_only = s.contact(json!({"firstName": "P", "phone": "+12025550104"})).await;
        let (_, body) = upsert(s, json!({"email": "e@example.com", "phone": "+12025550104", "lastName": "Merged"})).await;
        assert_eq!((body["new"].clone(), id_of(&body)), (json!(false), email_only.as_str()), "{body}");
        let (_, e) = s.get(&format!("/contacts/{email_only}")).await;
        assert_eq!(e["contact"]["lastName"], "Merged");
        assert!(e["contact"].get("phone").is_none(), "the phone stays with its own contact: {e}");
        let (_, p) = s.get(&format!("/contacts/{phone_only}")).await;
        assert!(p["contact"].get("lastName").is_none());

        // With phone first in the location's order, the phone's contact wins instead.
        settings(s, false, &[ContactIdentifier::Phone, ContactIdentifier::Email]).await;
        let (_, body) = upsert(s, json!({"email": "e@example.com", "phone": "+12025550104", "city": "Paris"})).await;
        assert_eq!(id_of(&body), phone_only);
        assert!(body["contact"].get("email").is_none(), "{body}");
    }

    async fn create_new_if_duplicate_allowed(s) {
        let existing = s.contact(json!({"email": "dup@example.com"})).await;
        // The location forbids duplicates: the flag is ignored.
        let (_, body) = upsert(s, json!({"email": "dup@example.com", "createNewIfDuplicateAllowed": true})).await;
        assert_eq!((body["new"].clone(), id_of(&body)), (json!(false), existing.as_str()));
        // It allows them: the flag creates without matching; without it, matching as usual.
        settings(s, true, &[ContactIdentifier::Email, ContactIdentifier::Phone]).await;
        let (_, body) = upsert(s, json!({"email": "dup@example.com", "createNewIfDuplicateAllowed": true})).await;
        assert_eq!(body["new"], true);
        assert_ne!(id_of(&body), existing);
        // The twin may share the original's millisecond: make it plainly the younger one.
        sqlx::query("UPDATE contacts SET date_added = date_added + 1000 WHERE id = $1")
            .bind(id_of(&body))
            .execute(s.db.write())
            .await
            .unwrap();
        let (_, body) = upsert(s, json!({"email": "dup@example.com", "createNewIfDuplicateAllowed": false})).await;
        assert_eq!((body["new"].clone(), id_of(&body)), (json!(false), existing.as_str()), "the oldest match");
    }

    async fn upsert_bad_input_writes_nothing(s) {
        let before = s.counts().await;
        let cases = [
            (json!({"locationId": s.loc(), "email": "not-an-email"}), json!(["email must be an email"])),
            (json!({"locationId": s.loc(), "createNewIfDuplicateAllowed": "yes"}), json!(["createNewIfDuplicateAllowed must be a boolean value"])),
            (json!({"locationId": s.loc(), "surprise": 1}), json!(["property surprise should not exist"])),
            (json!({"email": "a@example.com"}), json!(["locationId should not be empty", "locationId must be a string"])),
        ];
        for (body, message) in cases {
            let (st, answer) = s.post("/contacts/upsert", body.clone()).await;
            assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {answer}");
            assert_eq!(answer["message"], message, "{body}");
        }
        let (st, _) = s.post("/contacts/upsert", json!({"locationId": s.other_location.id, "email": "a@example.com"})).await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        assert_eq!(s.counts().await, before);
    }

    async fn update_keeps_the_duplicate_rule(s) {
        let first = s.contact(json!({"firstName": "First", "email": "first@example.com", "phone": "+12025550105"})).await;
        let second = s.contact(json!({"firstName": "Second", "email": "second@example.com"})).await;
        let (st, body) = s.put(&format!("/contacts/{second}"), json!({"email": "FIRST@example.com"})).await;
        assert_eq!(st.as_u16(), 400, "{body}");
        assert_eq!(body, json!({"statusCode": 400, "message": "This location does not allow duplicated contacts.",
            "meta": {"contactId": first, "contactName": "First", "matchingField": "email"}}));
        let (st, body) = s.put(&format!("/contacts/{second}"), json!({"phone": "202-555-0105"})).await;
        assert_eq!((st.as_u16(), body["meta"]["matchingField"].clone()), (400, json!("phone")));
        let (_, kept) = s.get(&format!("/contacts/{second}")).await;
        assert_eq!(kept["contact"]["email"], "second@example.com");
        assert!(kept["contact"].get("phone").is_none());

        // A contact may keep its own email, and duplicates made while they were allowed do not
        // block edits of other fields.
        let (st, _) = s.put(&format!("/contacts/{first}"), json!({"email": "first@example.com", "city": "Rome"})).await;
        assert_eq!(st, StatusCode::OK);
        settings(s, true, &[ContactIdentifier::Email, ContactIdentifier::Phone]).await;
        let twin = s.contact(json!({"email": "first@example.com"})).await;
        settings(s, false, &[ContactIdentifier::Email, ContactIdentifier::Phone]).await;
        let (st, body) = s.put(&format!("/contacts/{twin}"), json!({"firstName": "Twin"})).await;
        assert_eq!(st, StatusCode::OK, "{body}");
    }
}
