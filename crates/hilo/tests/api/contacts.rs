//! Contacts through HTTP: every field of create, get, update, delete and the list, the
//! duplicate rule, and bad input.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::on_both;

fn is_timestamp(v: &Value) -> bool {
    let s = v.as_str().unwrap_or_default();
    s.len() == 24 && s.ends_with('Z') && chrono_like(s)
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`
fn chrono_like(s: &str) -> bool {
    let b = s.as_bytes();
    b[4] == b'-' && b[7] == b'-' && b[10] == b'T' && b[13] == b':' && b[16] == b':' && b[19] == b'.'
}

/// Custom fields of the main location that the full bodies use: a text, a number and a
/// multiple-options field.
struct Fields {
    text: String,
    number: String,
    multi: String,
}

async fn fields(s: &crate::harness::TestServer) -> Fields {
    let id = |field: Value| field["id"].as_str().unwrap().to_owned();
    Fields {
        text: id(s.custom_field(json!({"name": "Nickname", "dataType": "TEXT"})).await),
        number: id(s.custom_field(json!({"name": "Score", "dataType": "NUMERICAL"})).await),
        multi: id(s.custom_field(json!({"name": "Letters", "dataType": "MULTIPLE_OPTIONS", "options": ["a", "b", "c"]})).await),
    }
}

fn full_create_body(location: &str, f: &Fields) -> Value {
    json!({
        "locationId": location,
        "firstName": "Rosan",
        "lastName": "Deo",
        "name": "Rosan Deo",
        "email": "Rosan@Deos.com",
        "gender": "male",
        "phone": "+1 888-888-8888",
        "address1": "3535 1st St N",
        "city": "Dolomite",
        "state": "AL",
        "postalCode": "35061",
        "website": "https://www.tesla.com",
        "timezone": "America/Chihuahua",
        "dnd": true,
        "dndSettings": {"Call": {"status": "active", "message": "m", "code": "c"}, "Email": {"status": "inactive"}},
        "inboundDndSettings": {"all": {"status": "active", "message": "m"}},
        "tags": [" VIP ", "vip", "New Lead"],
        "customFields": [{"id": f.text, "field_value": "My Text"}, {"id": f.number, "value": 100}],
        "source": "public api",
        "dateOfBirth": "1990-09-25",
        "country": "US",
        "companyName": "DGS VolMAX",
        "assignedTo": "y0BeYjuRIlDwsDcOHOJo"
    })
}

/// The stored fields of the full create body, as HighLevel returns them.
fn expected_contact(id: &str, location: &str, f: &Fields) -> Value {
    json!({
        "id": id,
        "locationId": location,
        "name": "Rosan Deo",
        "firstName": "Rosan",
        "lastName": "Deo",
        "firstNameLowerCase": "rosan",
        "lastNameLowerCase": "deo",
        "fullNameLowerCase": "rosan deo",
        "email": "Rosan@Deos.com",
        "emailLowerCase": "rosan@deos.com",
        "phone": "+18888888888",
        "companyName": "DGS VolMAX",
        "timezone": "America/Chihuahua",
        "dnd": true,
        "dndSettings": {"Call": {"status": "active", "message": "m", "code": "c"}, "Email": {"status": "inactive"}},
        "inboundDndSettings": {"all": {"status": "active", "message": "m"}},
        "type": "lead",
        "source": "public api",
        "assignedTo": "y0BeYjuRIlDwsDcOHOJo",
        "address1": "3535 1st St N",
        "city": "Dolomite",
        "state": "AL",
        "country": "US",
        "postalCode": "35061",
        "website": "https://www.tesla.com",
        "gender": "male",
        "tags": ["vip", "new lead"],
        "dateOfBirth": "1990-09-25T00:00:00.000Z",
        "customFields": [{"id": f.text, "value": "My Text"}, {"id": f.number, "value": 100}],
        "additionalEmails": [],
        "followers": []
    })
}

/// Removes the fields whose values are generated, after checking their shape.
fn strip_generated(contact: &mut Value) {
    let c = contact.as_object_mut().unwrap();
    for key in ["dateAdded", "dateUpdated"] {
        assert!(is_timestamp(&c[key]), "{key}: {}", c[key]);
        c.remove(key);
    }
    let created_by = c.remove("createdBy").expect("createdBy");
    assert_eq!(created_by["source"], "INTEGRATION");
    assert!(is_timestamp(&created_by["timestamp"]));
}

on_both! {
    async fn create_then_get_returns_every_field(s) {
        let f = fields(s).await;
        let (st, body) = s.post("/contacts/", full_create_body(s.loc(), &f)).await;
        assert_eq!(st, StatusCode::CREATED, "{body}");
        assert!(body["traceId"].is_string());
        let mut created = body["contact"].clone();
        let id = created["id"].as_str().unwrap().to_owned();
        assert_eq!(id.len(), 20);
        assert!(id.bytes().all(|b| b.is_ascii_alphanumeric()));
        strip_generated(&mut created);
        let mut want = expected_contact(&id, s.loc(), &f);
        // The create response adds these (spec: CreateContactSchema).
        want["deleted"] = json!(false);
        want["birthMonth"] = json!(9);
        want["birthDay"] = json!(25);
        assert_eq!(created, want);

        let (st, body) = s.get(&format!("/contacts/{id}")).await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(body.as_object().unwrap().keys().collect::<Vec<_>>(), vec!["contact", "traceId"]);
        let mut got = body["contact"].clone();
        strip_generated(&mut got);
        assert_eq!(got, expected_contact(&id, s.loc(), &f));
    }

    async fn minimal_contact_omits_absent_fields(s) {
        let (st, body) = s.post("/contacts/", json!({"locationId": s.loc()})).await;
        assert_eq!(st, StatusCode::CREATED, "{body}");
        let mut c = body["contact"].clone();
        strip_generated(&mut c);
        let id = c["id"].clone();
        assert_eq!(c, json!({"id": id, "locationId": s.loc(), "dnd": false, "type": "lead", "tags": [], "customFields": [],
            "additionalEmails": [], "followers": [], "deleted": false}));
    }

    async fn name_alone_is_split(s) {
        let id = s.contact(json!({"name": "Ada King Lovelace"})).await;
        let (_, body) = s.get(&format!("/contacts/{id}")).await;
        let c = &body["contact"];
        assert_eq!((c["firstName"].clone(), c["lastName"].clone(), c["fullNameLowerCase"].clone()), (json!("Ada"), json!("King Lovelace"), json!("ada king lovelace")));
    }

    async fn update_changes_only_what_is_sent(s) {
        let f = fields(s).await;
        let (_, body) = s.post("/contacts/", full_create_body(s.loc(), &f)).await;
        let id = body["contact"]["id"].as_str().unwrap().to_owned();
        let date_added = body["contact"]["dateAdded"].clone();
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let change = json!({
            "firstName": "Ann", "city": null, "phone": "(202) 555-0143", "tags": ["Only"],
            "customFields": [{"id": f.text, "field_value": null}, {"id": f.multi, "fieldValue": ["a", "b"]}],
            "dndSettings": {"Email": {"status": "permanent"}},
            "companyName": "New Co", "dateOfBirth": "12/31/1985"
        });
        let (st, body) = s.put(&format!("/contacts/{id}"), change).await;
        assert_eq!(st, StatusCode::OK, "{body}");
        assert_eq!(body["succeded"], true);
        assert!(body["traceId"].is_string());
        let mut want = expected_contact(&id, s.loc(), &f);
        let w = want.as_object_mut().unwrap();
        w.insert("firstName".into(), json!("Ann"));
        w.insert("firstNameLowerCase".into(), json!("ann"));
        w.insert("name".into(), json!("Ann Deo"));
        w.insert("fullNameLowerCase".into(), json!("ann deo"));
        w.remove("city");
        w.insert("phone".into(), json!("+12025550143"));
        w.insert("tags".into(), json!(["only"]));
        w.insert("customFields".into(), json!([{"id": f.number, "value": 100}, {"id": f.multi, "value": ["a", "b"]}]));
        w.insert("dndSettings".into(), json!({"Call": {"status": "active", "message": "m", "code": "c"}, "Email": {"status": "permanent"}}));
        w.insert("companyName".into(), json!("New Co"));
        w.insert("dateOfBirth".into(), json!("1985-12-31T00:00:00.000Z"));
        let mut returned = body["contact"].clone();
        assert_eq!(returned["dateAdded"], date_added);
        assert_ne!(returned["dateUpdated"], date_added);
        strip_generated(&mut returned);
        assert_eq!(returned, want);
        let (_, fetched) = s.get(&format!("/contacts/{id}")).await;
        let mut fetched = fetched["contact"].clone();
        strip_generated(&mut fetched);
        assert_eq!(fetched, want);
    }

    async fn delete_removes_the_contact_and_everything_under_it(s) {
        let id = s.contact(json!({"firstName": "Gone", "tags": ["a", "b"]})).await;
        s.post(&format!("/contacts/{id}/tasks"), json!({"title": "t", "dueDate": "2030-01-01T00:00:00Z", "completed": false})).await;
        s.post(&format!("/contacts/{id}/notes"), json!({"body": "n"})).await;
        let keep = s.contact(json!({"firstName": "Kept", "tags": ["a"]})).await;
        s.post(&format!("/contacts/{keep}/notes"), json!({"body": "n"})).await;

        let (st, body) = s.delete(&format!("/contacts/{id}")).await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(body["succeded"], true);
        assert!(body["traceId"].is_string());
        let (st, body) = s.get(&format!("/contacts/{id}")).await;
        assert_eq!((st.as_u16(), body["message"].clone()), (400, json!(format!("Contact not found for id:{id}"))));
        let counts: std::collections::HashMap<String, i64> = s.counts().await.into_iter().collect();
        assert_eq!((counts["contacts"], counts["contact_tags"], counts["tasks"], counts["notes"]), (1, 1, 0, 1));
    }

    async fn phones_are_stored_in_e164(s) {
        for (input, country, want) in [("+1 888-888-8888", None, "+18888888888"), ("(888) 777-2222", None, "+18887772222"), ("06 12 34 56 78", Some("FR"), "+33612345678")] {
            let mut body = json!({"phone": input, "email": format!("{}@x.io", uuid::Uuid::new_v4().simple())});
            if let Some(country) = country { body["country"] = json!(country); }
            let id = s.contact(body).await;
            let (_, got) = s.get(&format!("/contacts/{id}")).await;
            assert_eq!(got["contact"]["phone"], want, "{input}");
        }
    }

    async fn duplicates_are_refused_unless_the_location_allows_them(s) {
        let first = s.contact(json!({"firstName": "Jane", "lastName": "Roe", "email": "jane@example.com", "phone": "+1 202 555 0101"})).await;
        let before = s.counts().await;
        let (st, body) = s.post("/contacts/", json!({"locationId": s.loc(), "email": "JANE@example.com"})).await;
        assert_eq!(st.as_u16(), 400);
        assert_eq!(body, json!({"statusCode": 400, "message": "This location does not allow duplicated contacts.",
            "meta": {"contactId": first, "contactName": "Jane Roe", "matchingField": "email"}}));
        let (st, body) = s.post("/contacts/", json!({"locationId": s.loc(), "email": "other@example.com", "phone": "(202) 555-0101"})).await;
        assert_eq!(st.as_u16(), 400);
        assert_eq!(body["meta"]["matchingField"], "phone");
        assert_eq!(s.counts().await, before, "a refused duplicate wrote nothing");

        hilo_server::tenancy::update_contact_settings(&s.db, s.loc(), Some(true), None).await.unwrap();
        let (st, _) = s.post("/contacts/", json!({"locationId": s.loc(), "email": "jane@example.com"})).await;
        assert_eq!(st, StatusCode::CREATED);
        // Another location's contacts never count as duplicates.
        let (st, _) = s.send(s.request_as(&s.other_token, reqwest::Method::POST, "/contacts/")
            .json(&json!({"locationId": s.other_location.id, "email": "jane@example.com"}))).await;
        assert_eq!(st, StatusCode::CREATED);
    }

    async fn bad_input_is_a_422_naming_the_field_and_writes_nothing(s) {
        let id = s.contact(json!({"firstName": "Stable"})).await;
        let before = s.counts().await;
        let cases = [
            (json!({"locationId": s.loc(), "firstName": 5}), vec!["firstName must be a string"]),
            (json!({"locationId": s.loc(), "email": "not-an-email"}), vec!["email must be an email"]),
            (json!({"locationId": s.loc(), "dnd": "yes"}), vec!["dnd must be a boolean value"]),
            (json!({"locationId": s.loc(), "tags": "vip"}), vec!["each value in tags must be a string", "tags must be an array"]),
            (json!({"locationId": s.loc(), "tags": ["ok", 3]}), vec!["each value in tags must be a string"]),
            (json!({"locationId": s.loc(), "additionalEmails": ["a@b.co"]}), vec!["property additionalEmails should not exist"]),
            (json!({"locationId": s.loc(), "type": "customer"}), vec!["property type should not exist"]),
            (json!({"locationId": s.loc(), "dndSettings": {"Email": {"status": "on"}}}), vec!["dndSettings.Email.status must be one of the following values: active, inactive, permanent"]),
            (json!({"locationId": s.loc(), "dndSettings": {"Fax": {"status": "active"}}}), vec!["dndSettings.property Fax should not exist"]),
            (json!({"locationId": s.loc(), "customFields": [{"id": "x", "colour": 1}]}), vec!["customFields.0.property colour should not exist"]),
            (json!({"locationId": s.loc(), "phone": "call me maybe"}), vec!["phone must be a valid phone number"]),
            (json!({"locationId": s.loc(), "dateOfBirth": "31st of May"}), vec!["dateOfBirth must be a date in one of the formats YYYY-MM-DD, MM-DD-YYYY, YYYY/MM/DD, MM/DD/YYYY, YYYY.MM.DD, MM.DD.YYYY, YYYY_MM_DD, MM_DD_YYYY"]),
            (json!({"firstName": "NoLocation"}), vec!["locationId should not be empty", "locationId must be a string"]),
        ];
        for (body, messages) in cases {
            let (st, got) = s.post("/contacts/", body.clone()).await;
            assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {got}");
            assert_eq!(got, json!({"statusCode": 422, "message": messages, "error": "Unprocessable Entity"}), "{body}");
        }
        for (body, messages) in [
            (json!({"locationId": s.loc()}), vec!["property locationId should not exist"]),
            (json!({"email": 1}), vec!["email must be an email"]),
            (json!({"additionalEmails": []}), vec!["property additionalEmails should not exist"]),
        ] {
            let (st, got) = s.put(&format!("/contacts/{id}"), body.clone()).await;
            assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {got}");
            assert_eq!(got["message"], json!(messages), "{body}");
        }
        let (st, got) = s.post("/contacts/", json!({"locationId": s.loc(), "customFields": [{"key": "nope", "field_value": 1}]})).await;
        assert_eq!((st.as_u16(), got["message"].clone()), (400, json!("Custom field with key nope not found")));
        // A location id the token does not hold is a 403, even if it does not exist.
        let (st, got) = s.post("/contacts/", json!({"locationId": "NoSuchLocation000000"})).await;
        assert_eq!((st.as_u16(), got["statusCode"].clone()), (403, json!(403)));
        assert_eq!(s.counts().await, before);
        let (_, got) = s.get(&format!("/contacts/{id}")).await;
        assert_eq!(got["contact"]["firstName"], "Stable");
    }

    async fn list_pages_with_cursors_and_query(s) {
        let mut ids = Vec::new();
        for i in 0..7 {
            ids.push(s.contact(json!({"firstName": format!("Person{i}"), "email": format!("p{i}@example.com"), "tags": if i == 3 { json!(["Special Tag"]) } else { json!([]) }})).await);
            tokio::time::sleep(std::time::Duration::from_millis(3)).await;
        }
        // Another location's contacts never show.
        s.send(s.request_as(&s.other_token, reqwest::Method::POST, "/contacts/").json(&json!({"locationId": s.other_location.id, "firstName": "Elsewhere"}))).await;
        let newest_first: Vec<String> = ids.iter().rev().cloned().collect();

        let (st, page1) = s.get(&format!("/contacts/?locationId={}&limit=3", s.loc())).await;
        assert_eq!(st, StatusCode::OK, "{page1}");
        let got: Vec<&str> = page1["contacts"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
        assert_eq!(got, newest_first[..3].iter().map(String::as_str).collect::<Vec<_>>());
        let meta = &page1["meta"];
        assert_eq!((meta["total"].clone(), page1["count"].clone(), meta["currentPage"].clone(), meta["nextPage"].clone(), meta["prevPage"].clone()), (json!(7), json!(7), json!(1), json!(2), Value::Null));
        assert_eq!(meta["startAfterId"], json!(newest_first[2]));
        let row = &page1["contacts"][0];
        assert_eq!(row["contactName"], "person6");
        assert_eq!(row["email"], "p6@example.com");
        assert_eq!(row["locationId"], s.loc());
        assert!(row["attributions"].is_array() && row["customFields"].is_array());

        let next = meta["nextPageUrl"].as_str().unwrap();
        let next_path = &next[next.find("/contacts").unwrap()..];
        let (_, page2) = s.get(next_path).await;
        let got: Vec<&str> = page2["contacts"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
        assert_eq!(got, newest_first[3..6].iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!((page2["meta"]["currentPage"].clone(), page2["meta"]["prevPage"].clone()), (json!(2), json!(1)));

        let (_, page3) = s.get(&format!("/contacts/?locationId={}&limit=3&startAfterId={}", s.loc(), page2["meta"]["startAfterId"].as_str().unwrap())).await;
        let got: Vec<&str> = page3["contacts"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
        assert_eq!(got, vec![newest_first[6].as_str()]);
        assert_eq!((page3["meta"]["nextPage"].clone(), page3["meta"]["nextPageUrl"].clone()), (Value::Null, Value::Null));

        let (_, oldest) = s.get(&format!("/contacts/?locationId={}&limit=2&order=asc", s.loc())).await;
        assert_eq!(oldest["contacts"][0]["id"], json!(ids[0]));

        for (query, want) in [("person5", vec![ids[5].clone()]), ("P2@EXAMPLE", vec![ids[2].clone()]), ("special", vec![ids[3].clone()]), ("nobody", vec![])] {
            let (_, found) = s.get(&format!("/contacts/?locationId={}&query={query}", s.loc())).await;
            let got: Vec<String> = found["contacts"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_owned()).collect();
            assert_eq!(got, want, "{query}");
            assert_eq!(found["meta"]["total"], json!(want.len()));
        }

        for (query, message) in [("limit=0", "limit must not be less than 1"), ("limit=101", "limit must not be greater than 100"), ("limit=x", "limit must be a number conforming to the specified constraints")] {
            let (st, got) = s.get(&format!("/contacts/?locationId={}&{query}", s.loc())).await;
            assert_eq!((st.as_u16(), got["message"].clone()), (422, json!([message])), "{query}");
        }
        let (st, got) = s.get("/contacts/").await;
        assert_eq!((st.as_u16(), got["message"].clone()), (422, json!(["locationId should not be empty", "locationId must be a string"])));
    }
}
