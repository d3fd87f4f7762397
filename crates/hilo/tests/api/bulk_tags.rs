//! `POST /contacts/bulk/tags/update/{type}` through HTTP: one row per contact in the spec's
//! words, another location's contacts never touched, the limits, and bad input refused whole.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::harness::{keys_without_trace, spec_properties, TestServer};
use crate::on_both;

const ADD: &str = "/contacts/bulk/tags/update/add";
const REMOVE: &str = "/contacts/bulk/tags/update/remove";

async fn contact_of(s: &TestServer, token: &str, id: &str) -> Value {
    let (st, got) = s
        .send(s.request_as(token, Method::GET, &format!("/contacts/{id}")))
        .await;
    assert_eq!(st, StatusCode::OK, "{got}");
    got["contact"].clone()
}

fn success(id: &str, old: Value, added: Value, removed: Value) -> Value {
    json!({"contactId": id, "message": "Tags updated", "type": "success", "oldTags": old, "tagsAdded": added, "tagsRemoved": removed})
}

fn error(id: &str, message: &str) -> Value {
    json!({"contactId": id, "message": message, "type": "error"})
}

on_both! {
    async fn bulk_add_and_remove(s) {
        let a = s.contact(json!({"firstName": "A", "tags": ["x"]})).await;
        let b = s.contact(json!({"firstName": "B"})).await;
        let gone = s.contact(json!({"firstName": "Gone"})).await;
        s.delete(&format!("/contacts/{gone}")).await;
        let (st, created) = s.send(s.request_as(&s.other_token, Method::POST, "/contacts/").json(&json!({"locationId": s.other_location.id, "firstName": "Theirs", "tags": ["keep"]}))).await;
        assert_eq!(st, StatusCode::CREATED);
        let theirs = created["contact"]["id"].as_str().unwrap().to_owned();
        let their_before = contact_of(s, &s.other_token, &theirs).await;
        let unknown = "AAAAAAAAAAAAAAAAAAAA";

        let (st, body) = s.post(ADD, json!({"locationId": s.loc(), "contacts": [a, "abcdef", b, theirs, gone, unknown, a], "tags": [" New ", "x", "NEW"]})).await;
        assert_eq!(st, StatusCode::CREATED, "{body}");
        assert_eq!(keys_without_trace(&body), spec_properties("contacts.json", "UpdateTagsResponseDTO"));
        assert!(body["traceId"].is_string());
        assert_eq!(body["succeded"], true);
        assert_eq!(body["errorCount"], 4);
        assert_eq!(body["responses"], json!([
            success(&a, json!(["x"]), json!(["new"]), json!([])),
            error("abcdef", "contact id is not a valid firebase id"),
            success(&b, json!([]), json!(["new", "x"]), json!([])),
            error(&theirs, "contact does not belong to location"),
            error(&gone, "contact is deleted"),
            error(unknown, "contact not found"),
        ]));
        assert_eq!(contact_of(s, &s.token, &a).await["tags"], json!(["x", "new"]));
        assert_eq!(contact_of(s, &s.token, &b).await["tags"], json!(["new", "x"]));
        // Another location's contact is named, and left exactly as it was.
        assert_eq!(contact_of(s, &s.other_token, &theirs).await, their_before);

        // Removing: only the tags a contact has are removed, matched case-insensitively.
        let a_before = contact_of(s, &s.token, &a).await;
        let (st, body) = s.post(REMOVE, json!({"locationId": s.loc(), "contacts": [a, b, theirs], "tags": ["X", "missing"]})).await;
        assert_eq!(st, StatusCode::CREATED, "{body}");
        assert_eq!(body["errorCount"], 1);
        assert_eq!(body["responses"], json!([
            success(&a, json!(["x", "new"]), json!([]), json!(["x"])),
            success(&b, json!(["new", "x"]), json!([]), json!(["x"])),
            error(&theirs, "contact does not belong to location"),
        ]));
        let a_after = contact_of(s, &s.token, &a).await;
        assert_eq!(a_after["tags"], json!(["new"]));
        assert!(a_after["dateUpdated"].as_str().unwrap() >= a_before["dateUpdated"].as_str().unwrap());

        // A contact the call does not change keeps its dateUpdated.
        let b_before = contact_of(s, &s.token, &b).await;
        let (_, body) = s.post(ADD, json!({"locationId": s.loc(), "contacts": [b], "tags": ["new"]})).await;
        assert_eq!(body["responses"], json!([success(&b, json!(["new"]), json!([]), json!([]))]));
        assert_eq!(contact_of(s, &s.token, &b).await, b_before);

        // removeAllTags takes every tag off, whatever `tags` lists.
        s.post(&format!("/contacts/{b}/tags"), json!({"tags": ["one", "two"]})).await;
        let (st, body) = s.post(REMOVE, json!({"locationId": s.loc(), "contacts": [b, theirs], "tags": [], "removeAllTags": true})).await;
        assert_eq!(st, StatusCode::CREATED, "{body}");
        assert_eq!(body["responses"], json!([
            success(&b, json!(["new", "one", "two"]), json!([]), json!(["new", "one", "two"])),
            error(&theirs, "contact does not belong to location"),
        ]));
        assert_eq!(contact_of(s, &s.token, &b).await["tags"], json!([]));
        assert_eq!(contact_of(s, &s.other_token, &theirs).await, their_before);
        // `removeAllTags: false` is the plain remove; with add it is allowed and means nothing.
        let (st, _) = s.post(ADD, json!({"locationId": s.loc(), "contacts": [b], "tags": ["z"], "removeAllTags": false})).await;
        assert_eq!(st, StatusCode::CREATED);
        let (_, body) = s.post(REMOVE, json!({"locationId": s.loc(), "contacts": [b], "tags": ["nope"], "removeAllTags": false})).await;
        assert_eq!(body["responses"], json!([success(&b, json!(["z"]), json!([]), json!([]))]));

        // Nothing to do is still an answer.
        let (st, body) = s.post(ADD, json!({"locationId": s.loc(), "contacts": [], "tags": ["a"]})).await;
        assert_eq!((st, body["errorCount"].clone(), body["responses"].clone()), (StatusCode::CREATED, json!(0), json!([])));
    }

    async fn bulk_limits(s) {
        let a = s.contact(json!({"firstName": "A"})).await;
        // 500 contacts and 50 tags are allowed.
        let mut contacts: Vec<String> = (0..499).map(|i| format!("Missing{i:013}")).collect();
        contacts.push(a.clone());
        let tags: Vec<String> = (0..50).map(|i| format!("t{i}")).collect();
        let (st, body) = s.post(ADD, json!({"locationId": s.loc(), "contacts": contacts, "tags": tags})).await;
        assert_eq!(st, StatusCode::CREATED, "{body}");
        assert_eq!(body["responses"].as_array().unwrap().len(), 500);
        assert_eq!(body["errorCount"], 499);
        assert_eq!(body["responses"][499]["tagsAdded"].as_array().unwrap().len(), 50);
        assert_eq!(contact_of(s, &s.token, &a).await["tags"].as_array().unwrap().len(), 50);

        let before = s.counts().await;
        let a_before = contact_of(s, &s.token, &a).await;
        let mut too_many = contacts.clone();
        too_many.push("Missing0000000000999".to_owned());
        let mut too_many_tags = tags.clone();
        too_many_tags.push("t50".to_owned());
        for (body, message) in [
            (json!({"locationId": s.loc(), "contacts": too_many, "tags": ["a"]}), json!(["contacts must contain no more than 500 elements"])),
            (json!({"locationId": s.loc(), "contacts": [a], "tags": too_many_tags}), json!(["tags must contain no more than 50 elements"])),
            (json!({"locationId": s.loc(), "contacts": too_many, "tags": too_many_tags}), json!(["contacts must contain no more than 500 elements", "tags must contain no more than 50 elements"])),
        ] {
            let (st, b) = s.post(REMOVE, body).await;
            assert_eq!((st.as_u16(), b), (422, json!({"statusCode": 422, "message": message, "error": "Unprocessable Entity"})));
        }
        assert_eq!(s.counts().await, before);
        assert_eq!(contact_of(s, &s.token, &a).await, a_before);
    }

    async fn bad_bulk_input_changes_nothing(s) {
        let a = s.contact(json!({"firstName": "A", "tags": ["keep"]})).await;
        let before = s.counts().await;
        let a_before = contact_of(s, &s.token, &a).await;
        let loc = s.loc().to_owned();
        let cases: Vec<(&str, Value, Value)> = vec![
            (ADD, json!({}), json!([
                "each value in contacts must be a string", "contacts must be an array",
                "each value in tags must be a string", "tags must be an array",
                "locationId should not be empty", "locationId must be a string",
            ])),
            (ADD, json!({"locationId": loc, "contacts": a, "tags": ["x"]}), json!(["each value in contacts must be a string", "contacts must be an array"])),
            (ADD, json!({"locationId": loc, "contacts": [a, 7], "tags": ["x"]}), json!(["each value in contacts must be a string"])),
            (ADD, json!({"locationId": loc, "contacts": [a], "tags": [true]}), json!(["each value in tags must be a string"])),
            (ADD, json!({"locationId": loc, "contacts": [a]}), json!(["each value in tags must be a string", "tags must be an array"])),
            (REMOVE, json!({"locationId": loc, "contacts": [a], "tags": [], "removeAllTags": "yes"}), json!(["removeAllTags must be a boolean value"])),
            (ADD, json!({"locationId": loc, "contacts": [a], "tags": ["x"], "removeAllTags": true}), json!(["removeAllTags can only be used with remove type"])),
            (ADD, json!({"locationId": loc, "contacts": [a], "tags": ["x"], "type": "add"}), json!(["property type should not exist"])),
            ("/contacts/bulk/tags/update/replace", json!({"locationId": loc, "contacts": [a], "tags": ["x"]}), json!(["type must be one of the following values: add, remove"])),
            ("/contacts/bulk/tags/update/ADD", json!({"locationId": loc, "contacts": [a], "tags": ["x"]}), json!(["type must be one of the following values: add, remove"])),
        ];
        for (path, body, message) in cases {
            let (st, b) = s.post(path, body.clone()).await;
            assert_eq!((st.as_u16(), b), (422, json!({"statusCode": 422, "message": message, "error": "Unprocessable Entity"})), "{path} {body}");
        }
        // The token's location only; the spec's `locationId` cannot point elsewhere.
        for location in [s.other_location.id.as_str(), ""] {
            let (st, b) = s.post(ADD, json!({"locationId": location, "contacts": [a], "tags": ["x"]})).await;
            assert_eq!((st.as_u16(), b), (403, json!({"statusCode": 403, "message": "The token does not have access to this location."})));
        }
        let (st, b) = s.send(s.request_as(&s.other_token, Method::POST, ADD).json(&json!({"locationId": s.loc(), "contacts": [a], "tags": ["x"]}))).await;
        assert_eq!((st.as_u16(), b["message"].clone()), (403, json!("The token does not have access to this location.")));
        // contacts.write is the scope (the spec declares none).
        let (st, b) = s.send(s.request_as(&s.readonly_token, Method::POST, ADD).json(&json!({"locationId": s.loc(), "contacts": [a], "tags": ["x"]}))).await;
        assert_eq!((st.as_u16(), b["message"].clone()), (401, json!("The token is not authorized for this scope.")));
        // Only POST exists.
        let (st, _) = s.call(Method::DELETE, ADD, Some(json!({}))).await;
        assert_eq!(st.as_u16(), 404);

        assert_eq!(s.counts().await, before);
        assert_eq!(contact_of(s, &s.token, &a).await, a_before);
    }
}
