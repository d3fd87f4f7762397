//! Custom fields through HTTP: the location's definitions field by field against the spec's
//! names (`locations.json`), every data type's values on contacts (accepted, or refused with a
//! 422 naming the field and nothing written), both input shapes, isolation between locations,
//! and what deleting a definition does to the values.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::harness::TestServer;
use crate::on_both;

fn fields_path(s: &TestServer) -> String {
    format!("/locations/{}/customFields", s.loc())
}

fn field_path(s: &TestServer, id: &str) -> String {
    format!("/locations/{}/customFields/{id}", s.loc())
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

/// The body of a request refused with a 422 and these messages.
fn unprocessable(messages: &[&str]) -> Value {
    json!({"statusCode": 422, "message": messages, "error": "Unprocessable Entity"})
}

fn bad_request(message: &str) -> Value {
    json!({"statusCode": 400, "message": message, "error": "Bad Request"})
}

/// The contact's `customFields`, as GET returns them.
async fn values_of(s: &TestServer, contact: &str) -> Value {
    let (st, body) = s.get(&format!("/contacts/{contact}")).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    body["contact"]["customFields"].clone()
}

/// A contact created with `customFields`, and the create response's contact.
async fn contact_with(s: &TestServer, custom_fields: Value) -> (String, Value) {
    let (st, body) = s
        .post(
            "/contacts/",
            json!({"locationId": s.loc(), "customFields": custom_fields}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{body}");
    (id_of(&body["contact"]), body["contact"].clone())
}

/// One data type: the definition's extra properties, a value it takes (given the definition)
/// and what is stored, a value it refuses, and the messages (given the field key).
struct Case {
    data_type: &'static str,
    extra: Value,
    good: fn(&Value) -> Value,
    stored: fn(&Value) -> Value,
    bad: Value,
    messages: fn(&str) -> Vec<String>,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            data_type: "TEXT",
            extra: json!({}),
            good: |_| json!("My Text"),
            stored: |_| json!("My Text"),
            bad: json!(5),
            messages: |k| vec![format!("{k} must be a string")],
        },
        Case {
            data_type: "LARGE_TEXT",
            extra: json!({}),
            good: |_| json!("line one\nline two"),
            stored: |_| json!("line one\nline two"),
            bad: json!({"text": "x"}),
            messages: |k| vec![format!("{k} must be a string")],
        },
        Case {
            data_type: "NUMERICAL",
            extra: json!({}),
            good: |_| json!(100),
            stored: |_| json!(100),
            bad: json!("a hundred"),
            messages: |k| vec![format!("{k} must be a number")],
        },
        Case {
            data_type: "PHONE",
            extra: json!({}),
            good: |_| json!("+1 202-555-0143"),
            stored: |_| json!("+1 202-555-0143"),
            bad: json!("call me maybe"),
            messages: |k| vec![format!("{k} must be a valid phone number")],
        },
        Case {
            data_type: "MONETORY",
            extra: json!({}),
            good: |_| json!("1,250.75"),
            stored: |_| json!(1250.75),
            bad: json!({"currency": "USD", "value": 100}),
            messages: |k| vec![format!("{k} must be a number")],
        },
        Case {
            data_type: "CHECKBOX",
            extra: json!({"options": ["Email", "SMS", "Call"]}),
            good: |_| json!(["SMS", "Email"]),
            stored: |_| json!(["SMS", "Email"]),
            bad: json!("SMS"),
            messages: |k| {
                vec![
                    format!("each value in {k} must be a string"),
                    format!("{k} must be an array"),
                ]
            },
        },
        Case {
            data_type: "SINGLE_OPTIONS",
            extra: json!({"options": ["S", "M", "L"]}),
            good: |_| json!("M"),
            stored: |_| json!("M"),
            bad: json!("XL"),
            messages: |k| vec![format!("{k} must be one of the following values: S, M, L")],
        },
        Case {
            data_type: "MULTIPLE_OPTIONS",
            extra: json!({"options": ["red", "green", "blue"]}),
            good: |_| json!(["blue", "red"]),
            stored: |_| json!(["blue", "red"]),
            bad: json!(["red", "purple"]),
            messages: |k| {
                vec![format!(
                    "each value in {k} must be one of the following values: red, green, blue"
                )]
            },
        },
        Case {
            data_type: "DATE",
            extra: json!({}),
            good: |_| json!("2024-03-01"),
            stored: |_| json!("2024-03-01"),
            bad: json!("next week"),
            messages: |k| vec![format!("{k} must be a valid ISO 8601 date string")],
        },
        Case {
            data_type: "TEXTBOX_LIST",
            extra: json!({"textBoxListOptions": [{"label": "First", "prefillValue": ""}, {"label": "Second", "prefillValue": "2"}]}),
            good: |def| {
                let rows = def["textBoxListOptions"].as_array().unwrap();
                json!({rows[0]["id"].as_str().unwrap(): "one", rows[1]["id"].as_str().unwrap(): "two", "not-a-row": "dropped"})
            },
            stored: |def| {
                let rows = def["textBoxListOptions"].as_array().unwrap();
                json!({rows[0]["id"].as_str().unwrap(): "one", rows[1]["id"].as_str().unwrap(): "two"})
            },
            bad: json!("one, two"),
            messages: |k| vec![format!("{k} must be an object")],
        },
        Case {
            data_type: "FILE_UPLOAD",
            extra: json!({"isMultipleFile": true, "maxNumberOfFiles": 2, "acceptedFormat": [".jpeg", ".pdf"]}),
            good: |_| {
                json!({"f31175d4-2b06-4fc6-b7bc-74cd814c68cb": {
                    "meta": {"fieldname": "1HeGizb13P0odwgOgKSs", "originalname": "IMG.jpg", "encoding": "7bit",
                             "mimetype": "image/jpeg", "size": 1786611, "uuid": "f31175d4-2b06-4fc6-b7bc-74cd814c68cb"},
                    "url": "https://services.leadconnectorhq.com/documents/download/w2M9qTZ0ZJz8rGt02jdJ",
                    "documentId": "w2M9qTZ0ZJz8rGt02jdJ"}})
            },
            stored: |_| {
                json!({"f31175d4-2b06-4fc6-b7bc-74cd814c68cb": {
                    "meta": {"fieldname": "1HeGizb13P0odwgOgKSs", "originalname": "IMG.jpg", "encoding": "7bit",
                             "mimetype": "image/jpeg", "size": 1786611, "uuid": "f31175d4-2b06-4fc6-b7bc-74cd814c68cb"},
                    "url": "https://services.leadconnectorhq.com/documents/download/w2M9qTZ0ZJz8rGt02jdJ",
                    "documentId": "w2M9qTZ0ZJz8rGt02jdJ"}})
            },
            bad: json!(["https://example.com/a.pdf"]),
            messages: |k| vec![format!("{k} must be an object")],
        },
        Case {
            data_type: "RADIO",
            extra: json!({"options": ["Yes", "No"]}),
            good: |_| json!("No"),
            stored: |_| json!("No"),
            bad: json!(true),
            messages: |k| vec![format!("{k} must be a string")],
        },
        Case {
            data_type: "EMAIL",
            extra: json!({}),
            good: |_| json!("ada@example.com"),
            stored: |_| json!("ada@example.com"),
            bad: json!("ada at example"),
            messages: |k| vec![format!("{k} must be an email")],
        },
    ]
}

on_both! {
    async fn definitions_round_trip_field_by_field(s) {
        let body = json!({"name": "Pin Code", "dataType": "TEXT", "placeholder": "Pin code", "position": 3, "model": "contact"});
        let (st, created) = s.post(&fields_path(s), body).await;
        assert_eq!(st, StatusCode::CREATED, "{created}");
        assert!(uuid::Uuid::parse_str(created["traceId"].as_str().unwrap()).is_ok());
        assert_eq!(created.as_object().unwrap().keys().collect::<Vec<_>>(), vec!["customField", "traceId"]);
        let field = created["customField"].clone();
        let id = id_of(&field);
        assert!(id.len() == 20 && id.bytes().all(|b| b.is_ascii_alphanumeric()), "{id}");
        let want = json!({
            "id": id, "name": "Pin Code", "fieldKey": "contact.pin_code", "placeholder": "Pin code",
            "dataType": "TEXT", "position": 3, "picklistOptions": [], "picklistImageOptions": [],
            "isAllowedCustomOption": false, "isMultiFileAllowed": false, "locationId": s.loc(), "model": "contact"
        });
        assert_eq!(field, want);

        // Get by id and by field key; the list wraps them in `customFields`.
        for key in [id.as_str(), "contact.pin_code"] {
            let (st, got) = s.get(&field_path(s, key)).await;
            assert_eq!(st, StatusCode::OK, "{got}");
            assert_eq!(got["customField"], want, "{key}");
        }
        let (st, list) = s.get(&fields_path(s)).await;
        assert_eq!(st, StatusCode::OK, "{list}");
        assert_eq!(list.as_object().unwrap().keys().collect::<Vec<_>>(), vec!["customFields", "traceId"]);
        assert_eq!(list["customFields"], json!([want]));

        // Update: name is required, the rest changes only when sent; the key stays.
        let (st, updated) = s.put(&field_path(s, &id), json!({"name": "Postal Code", "position": 1})).await;
        assert_eq!(st, StatusCode::OK, "{updated}");
        let mut want_updated = want.clone();
        want_updated["name"] = json!("Postal Code");
        want_updated["position"] = json!(1);
        assert_eq!(updated["customField"], want_updated);
        let (_, updated) = s.put(&field_path(s, &id), json!({"name": "Postal Code", "placeholder": null, "model": "contact"})).await;
        want_updated.as_object_mut().unwrap().remove("placeholder");
        assert_eq!(updated["customField"], want_updated);
        let (_, got) = s.get(&field_path(s, &id)).await;
        assert_eq!(got["customField"], want_updated);

        // Option, file and row settings.
        let options = s.custom_field(json!({"name": "T-Shirt Size", "dataType": "SINGLE_OPTIONS", "options": ["S", "M"]})).await;
        assert_eq!((options["fieldKey"].clone(), options["picklistOptions"].clone(), options["position"].clone()), (json!("contact.t_shirt_size"), json!(["S", "M"]), json!(0)));
        let (_, changed) = s.put(&field_path(s, &id_of(&options)), json!({"name": "T-Shirt Size", "options": ["S", "M", "L"]})).await;
        assert_eq!(changed["customField"]["picklistOptions"], json!(["S", "M", "L"]));
        let files = s.custom_field(json!({"name": "Documents", "dataType": "FILE_UPLOAD", "acceptedFormat": [".pdf", ".docx", ".jpeg"], "isMultipleFile": true, "maxNumberOfFiles": 2})).await;
        assert_eq!((files["isMultiFileAllowed"].clone(), files["maxFileLimit"].clone(), files["acceptedFormat"].clone()), (json!(true), json!(2), json!([".pdf", ".docx", ".jpeg"])));
        let rows = s.custom_field(json!({"name": "Children", "dataType": "TEXTBOX_LIST", "textBoxListOptions": [{"label": "First", "prefillValue": ""}, {"label": "Second", "prefillValue": "x"}]})).await;
        let got_rows = rows["textBoxListOptions"].as_array().unwrap().clone();
        assert_eq!(got_rows.iter().map(|r| (r["label"].clone(), r["prefillValue"].clone())).collect::<Vec<_>>(), vec![(json!("First"), json!("")), (json!("Second"), json!("x"))]);
        assert!(got_rows.iter().all(|r| uuid::Uuid::parse_str(r["id"].as_str().unwrap()).is_ok()));
        // Rows keep their ids through an update that names them or keeps their label.
        let (_, changed) = s.put(&field_path(s, &id_of(&rows)), json!({"name": "Children", "textBoxListOptions": [
            {"id": got_rows[1]["id"], "label": "Second child", "prefillValue": ""}, {"label": "First", "prefillValue": ""}, {"label": "Third", "prefillValue": ""}]})).await;
        let new_rows = changed["customField"]["textBoxListOptions"].as_array().unwrap().clone();
        assert_eq!((new_rows[0]["id"].clone(), new_rows[1]["id"].clone()), (got_rows[1]["id"].clone(), got_rows[0]["id"].clone()));
        assert_eq!(new_rows[2]["label"], "Third");

        // Keys: from the name, numbered when taken; or as asked, with or without the prefix.
        let again = s.custom_field(json!({"name": "pin-code!", "dataType": "NUMERICAL"})).await;
        assert_eq!(again["fieldKey"], "contact.pin_code_2");
        let asked = s.custom_field(json!({"name": "Anything", "dataType": "EMAIL", "fieldKey": "work_email", "description": "d", "parentId": "OBtitTvkSkS5SOneXRzL", "showInForms": true})).await;
        assert_eq!((asked["fieldKey"].clone(), asked["dataType"].clone(), asked["description"].clone(), asked["parentId"].clone()), (json!("contact.work_email"), json!("EMAIL"), json!("d"), json!("OBtitTvkSkS5SOneXRzL")));
        let deal = s.custom_field(json!({"name": "Deal Size", "dataType": "MONETORY", "model": "opportunity"})).await;
        assert_eq!((deal["fieldKey"].clone(), deal["model"].clone()), (json!("opportunity.deal_size"), json!("opportunity")));
        let before = s.counts().await;
        let (st, taken) = s.post(&fields_path(s), json!({"name": "Other", "dataType": "TEXT", "fieldKey": "contact.work_email"})).await;
        assert_eq!((st.as_u16(), taken), (400, bad_request("Custom field with key contact.work_email already exists")));
        let (st, moved) = s.put(&field_path(s, &id_of(&deal)), json!({"name": "Deal Size", "model": "contact"})).await;
        assert_eq!((st.as_u16(), moved), (400, bad_request("The model of a custom field cannot be changed")));
        assert_eq!(s.counts().await, before);
        let (_, got) = s.get(&field_path(s, &id_of(&deal))).await;
        assert_eq!(got["customField"], deal);
    }

    async fn the_list_is_by_model_and_position(s) {
        let later = s.custom_field(json!({"name": "Later", "dataType": "TEXT", "position": 5})).await;
        let first = s.custom_field(json!({"name": "First", "dataType": "TEXT", "position": 1})).await;
        let deal = s.custom_field(json!({"name": "Deal", "dataType": "NUMERICAL", "model": "opportunity"})).await;
        let ids = |list: &Value| list["customFields"].as_array().unwrap().iter().map(id_of).collect::<Vec<_>>();
        let (_, contact_fields) = s.get(&fields_path(s)).await;
        assert_eq!(ids(&contact_fields), vec![id_of(&first), id_of(&later)]);
        let (_, same) = s.get(&format!("{}?model=contact", fields_path(s))).await;
        assert_eq!(ids(&same), ids(&contact_fields));
        let (_, deals) = s.get(&format!("{}?model=opportunity", fields_path(s))).await;
        assert_eq!(ids(&deals), vec![id_of(&deal)]);
        let (_, all) = s.get(&format!("{}?model=all", fields_path(s))).await;
        assert_eq!(ids(&all), vec![id_of(&deal), id_of(&first), id_of(&later)]);
        let (st, bad) = s.get(&format!("{}?model=task", fields_path(s))).await;
        assert_eq!((st.as_u16(), bad), (422, unprocessable(&["model must be one of the following values: contact, opportunity, all"])));
        // Another location's fields never show.
        let (_, theirs) = s.send(s.request_as(&s.other_token, Method::GET, &format!("/locations/{}/customFields?model=all", s.other_location.id))).await;
        assert_eq!(theirs["customFields"], json!([]));
    }

    async fn bad_definitions_are_422s_and_write_nothing(s) {
        let field = s.custom_field(json!({"name": "Stable", "dataType": "TEXT"})).await;
        let before = s.counts().await;
        let types = "TEXT, LARGE_TEXT, NUMERICAL, PHONE, MONETORY, CHECKBOX, SINGLE_OPTIONS, MULTIPLE_OPTIONS, DATE, TEXTBOX_LIST, FILE_UPLOAD, RADIO, EMAIL";
        let one_of = format!("dataType must be one of the following values: {types}");
        for (body, messages) in [
            (json!({}), vec!["dataType should not be empty", one_of.as_str(), "name should not be empty", "name must be a string"]),
            (json!({"name": "x", "dataType": "COLOR"}), vec![one_of.as_str()]),
            (json!({"name": " ", "dataType": "TEXT"}), vec!["name should not be empty"]),
            (json!({"name": "x", "dataType": "TEXT", "model": "deal"}), vec!["model must be one of the following values: contact, opportunity"]),
            (json!({"name": "x", "dataType": "TEXT", "position": "1"}), vec!["position must be a number conforming to the specified constraints"]),
            (json!({"name": "x", "dataType": "TEXT", "options": "a,b"}), vec!["each value in options must be a string", "options must be an array"]),
            (json!({"name": "x", "dataType": "TEXT", "isMultipleFile": "yes"}), vec!["isMultipleFile must be a boolean value"]),
            (json!({"name": "x", "dataType": "TEXTBOX_LIST", "textBoxListOptions": [{"label": "a", "size": 1}]}), vec!["textBoxListOptions.0.property size should not exist"]),
            (json!({"name": "x", "dataType": "TEXT", "locationId": s.loc()}), vec!["property locationId should not exist"]),
        ] {
            let (st, got) = s.post(&fields_path(s), body.clone()).await;
            assert_eq!((st.as_u16(), got), (422, unprocessable(&messages)), "{body}");
        }
        for (body, messages) in [
            (json!({}), vec!["name should not be empty", "name must be a string"]),
            (json!({"name": "x", "dataType": "NUMERICAL"}), vec!["property dataType should not exist"]),
            (json!({"name": "x", "fieldKey": "contact.other"}), vec!["property fieldKey should not exist"]),
        ] {
            let (st, got) = s.put(&field_path(s, &id_of(&field)), body.clone()).await;
            assert_eq!((st.as_u16(), got), (422, unprocessable(&messages)), "{body}");
        }
        let missing = "AAAAAAAAAAAAAAAAAAAA";
        for (method, body) in [(Method::GET, None), (Method::PUT, Some(json!({"name": "x"}))), (Method::DELETE, None)] {
            let (st, got) = s.call(method.clone(), &field_path(s, missing), body).await;
            assert_eq!((st.as_u16(), got), (400, bad_request("Custom field not found")), "{method}");
        }
        assert_eq!(s.counts().await, before);
        let (_, got) = s.get(&field_path(s, &id_of(&field))).await;
        assert_eq!(got["customField"], field);
    }

    async fn every_data_type_takes_its_values_and_refuses_wrong_ones(s) {
        for case in cases() {
            let mut body = json!({"name": format!("Field {}", case.data_type), "dataType": case.data_type});
            for (k, v) in case.extra.as_object().unwrap() {
                body[k] = v.clone();
            }
            let def = s.custom_field(body).await;
            let (id, key) = (id_of(&def), def["fieldKey"].as_str().unwrap().to_owned());
            let ctx = case.data_type;
            assert_eq!(def["dataType"], case.data_type);

            // Accepted on create, returned by create and get.
            let good = (case.good)(&def);
            let stored = (case.stored)(&def);
            let (contact, created) = contact_with(s, json!([{"id": id, "field_value": good}])).await;
            assert_eq!(created["customFields"], json!([{"id": id, "value": stored}]), "{ctx}");
            assert_eq!(values_of(s, &contact).await, json!([{"id": id, "value": stored}]), "{ctx}");

            // Refused on create and on update, naming the field; nothing written.
            let before = s.counts().await;
            let (st, got) = s.post("/contacts/", json!({"locationId": s.loc(), "firstName": "No", "customFields": [{"id": id, "field_value": case.bad}]})).await;
            let messages = (case.messages)(&key);
            let messages: Vec<&str> = messages.iter().map(String::as_str).collect();
            assert_eq!((st.as_u16(), got), (422, unprocessable(&messages)), "{ctx} create");
            let (st, got) = s.put(&format!("/contacts/{contact}"), json!({"firstName": "Changed", "customFields": [{"id": id, "value": case.bad}]})).await;
            assert_eq!((st.as_u16(), got), (422, unprocessable(&messages)), "{ctx} update");
            assert_eq!(s.counts().await, before, "{ctx}");
            let (_, got) = s.get(&format!("/contacts/{contact}")).await;
            assert_eq!((got["contact"]["customFields"].clone(), got["contact"].get("firstName")), (json!([{"id": id, "value": stored}]), None), "{ctx}");

            // Accepted on update too, and cleared by null.
            let (st, got) = s.put(&format!("/contacts/{contact}"), json!({"customFields": [{"id": id, "value": good}]})).await;
            assert_eq!((st, got["contact"]["customFields"].clone()), (StatusCode::OK, json!([{"id": id, "value": stored}])), "{ctx}");
            let (_, got) = s.put(&format!("/contacts/{contact}"), json!({"customFields": [{"id": id, "field_value": null}]})).await;
            assert_eq!(got["contact"]["customFields"], json!([]), "{ctx}");
        }
    }

    async fn values_by_id_or_key_under_every_value_name(s) {
        let nickname = id_of(&s.custom_field(json!({"name": "Nickname", "dataType": "TEXT"})).await);
        let score = id_of(&s.custom_field(json!({"name": "Score", "dataType": "NUMERICAL"})).await);
        let colours = id_of(&s.custom_field(json!({"name": "Colours", "dataType": "MULTIPLE_OPTIONS", "options": ["red", "blue"]})).await);

        // By key without the prefix and by id; `field_value` (spec) and `value` (real clients).
        let (contact, created) = contact_with(s, json!([{"key": "nickname", "field_value": "Ada"}, {"id": score, "value": 7}])).await;
        let want = json!([{"id": nickname, "value": "Ada"}, {"id": score, "value": 7}]);
        assert_eq!(created["customFields"], want);
        assert_eq!(values_of(s, &contact).await, want);

        // By key with the prefix, `fieldValue` (v3); fields not named keep their values.
        let (st, updated) = s.put(&format!("/contacts/{contact}"), json!({"customFields": [{"key": "contact.colours", "fieldValue": ["blue"]}, {"id": nickname, "key": "ignored_when_an_id_is_given", "value": "Countess"}]})).await;
        assert_eq!(st, StatusCode::OK, "{updated}");
        let want = json!([{"id": nickname, "value": "Countess"}, {"id": score, "value": 7}, {"id": colours, "value": ["blue"]}]);
        assert_eq!(updated["contact"]["customFields"], want);
        assert_eq!(values_of(s, &contact).await, want);
        // An update without customFields leaves them; an empty string clears one.
        s.put(&format!("/contacts/{contact}"), json!({"firstName": "Ada"})).await;
        assert_eq!(values_of(s, &contact).await, want);
        let (_, updated) = s.put(&format!("/contacts/{contact}"), json!({"customFields": [{"id": score, "value": ""}]})).await;
        assert_eq!(updated["contact"]["customFields"], json!([{"id": nickname, "value": "Countess"}, {"id": colours, "value": ["blue"]}]));

        // The list rows carry them too.
        let (_, list) = s.get(&format!("/contacts/?locationId={}", s.loc())).await;
        let row = list["contacts"].as_array().unwrap().iter().find(|c| c["id"] == contact.as_str()).unwrap().clone();
        assert_eq!(row["customFields"], json!([{"id": nickname, "value": "Countess"}, {"id": colours, "value": ["blue"]}]));

        // Naming no field is a 422; a key the location lacks a 400; validation comes first.
        let before = s.counts().await;
        let (st, got) = s.post("/contacts/", json!({"locationId": s.loc(), "customFields": [{"value": "x"}]})).await;
        assert_eq!((st.as_u16(), got), (422, unprocessable(&["customFields.0.id should not be empty"])));
        let (st, got) = s.post("/contacts/", json!({"locationId": s.loc(), "customFields": [{"key": "shoe_size", "value": "x"}]})).await;
        assert_eq!((st.as_u16(), got), (400, bad_request("Custom field with key shoe_size not found")));
        let (st, got) = s.post("/contacts/", json!({"locationId": s.loc(), "phone": "nope", "customFields": [{"key": "shoe_size", "value": "x"}, {"id": score, "value": "many"}]})).await;
        assert_eq!((st.as_u16(), got), (422, unprocessable(&["phone must be a valid phone number", "contact.score must be a number"])));
        assert_eq!(s.counts().await, before);
    }

    async fn locations_never_see_each_others_fields(s) {
        let mine = s.custom_field(json!({"name": "Mine", "dataType": "TEXT"})).await;
        let (st, theirs) = s.send(s.request_as(&s.other_token, Method::POST, &format!("/locations/{}/customFields", s.other_location.id))
            .json(&json!({"name": "Theirs", "dataType": "TEXT"}))).await;
        assert_eq!(st, StatusCode::CREATED, "{theirs}");
        let theirs = theirs["customField"].clone();
        assert_eq!((theirs["locationId"].clone(), theirs["fieldKey"].clone()), (json!(s.other_location.id), json!("contact.theirs")));
        let before = s.counts().await;

        // Another location's token on this location's fields: 403, whatever the operation.
        let forbidden = json!({"statusCode": 403, "message": "The token does not have access to this location."});
        for (method, path, body) in [
            (Method::GET, fields_path(s), None),
            (Method::POST, fields_path(s), Some(json!({"name": "Intruder", "dataType": "TEXT"}))),
            (Method::GET, field_path(s, &id_of(&mine)), None),
            (Method::PUT, field_path(s, &id_of(&mine)), Some(json!({"name": "Hijacked"}))),
            (Method::DELETE, field_path(s, &id_of(&mine)), None),
        ] {
            let mut request = s.request_as(&s.other_token, method.clone(), &path);
            if let Some(body) = body {
                request = request.json(&body);
            }
            let (st, got) = s.send(request).await;
            assert_eq!((st.as_u16(), got), (403, forbidden.clone()), "{method} {path}");
        }
        // Another location's field under this location's path: not found.
        for key in [id_of(&theirs), "contact.theirs".to_owned()] {
            let (st, got) = s.get(&field_path(s, &key)).await;
            assert_eq!((st.as_u16(), got), (400, bad_request("Custom field not found")), "{key}");
        }
        let (st, _) = s.delete(&field_path(s, &id_of(&theirs))).await;
        assert_eq!(st.as_u16(), 400);

        // Another location's field on this location's contact: refused, nothing written.
        let contact = s.contact(json!({"firstName": "Local"})).await;
        let their_id = id_of(&theirs);
        let (st, got) = s.post("/contacts/", json!({"locationId": s.loc(), "customFields": [{"id": their_id, "value": "x"}]})).await;
        assert_eq!((st.as_u16(), got), (400, bad_request(&format!("Custom field with id {their_id} not found"))));
        let (st, got) = s.put(&format!("/contacts/{contact}"), json!({"customFields": [{"key": "theirs", "value": "x"}]})).await;
        assert_eq!((st.as_u16(), got), (400, bad_request("Custom field with key theirs not found")));
        // And an opportunity field is not a contact's.
        let deal = id_of(&s.custom_field(json!({"name": "Deal", "dataType": "TEXT", "model": "opportunity"})).await);
        let (st, got) = s.put(&format!("/contacts/{contact}"), json!({"customFields": [{"id": deal, "value": "x"}]})).await;
        assert_eq!((st.as_u16(), got), (400, bad_request(&format!("Custom field with id {deal} not found"))));
        let mut after = s.counts().await;
        for (table, n) in &mut after {
            if table == "contacts" || table == "custom_fields" {
                *n -= 1;
            }
        }
        assert_eq!(after, before);
        assert_eq!(values_of(s, &contact).await, json!([]));
        let (_, got) = s.get(&field_path(s, &id_of(&mine))).await;
        assert_eq!(got["customField"], mine);
    }

    async fn deleting_a_definition_removes_its_values(s) {
        let gone = id_of(&s.custom_field(json!({"name": "Gone", "dataType": "TEXT"})).await);
        let kept = id_of(&s.custom_field(json!({"name": "Kept", "dataType": "NUMERICAL"})).await);
        let (first, _) = contact_with(s, json!([{"id": gone, "value": "a"}, {"id": kept, "value": 1}])).await;
        let (second, _) = contact_with(s, json!([{"id": kept, "value": 2}])).await;
        // Another location's contact holding a value under the same id is not touched.
        let (st, _) = s.send(s.request_as(&s.other_token, Method::POST, "/contacts/").json(&json!({"locationId": s.other_location.id, "firstName": "Elsewhere"}))).await;
        assert_eq!(st, StatusCode::CREATED);

        let (st, body) = s.delete(&field_path(s, &gone)).await;
        assert_eq!(st, StatusCode::OK, "{body}");
        assert_eq!(body["succeded"], true);
        assert!(body["traceId"].is_string());
        let (st, got) = s.get(&field_path(s, &gone)).await;
        assert_eq!((st.as_u16(), got), (400, bad_request("Custom field not found")));
        assert_eq!(values_of(s, &first).await, json!([{"id": kept, "value": 1}]));
        assert_eq!(values_of(s, &second).await, json!([{"id": kept, "value": 2}]));
        let (_, list) = s.get(&fields_path(s)).await;
        assert_eq!(list["customFields"].as_array().unwrap().iter().map(id_of).collect::<Vec<_>>(), vec![kept.clone()]);
        // Its id no longer names a field, and deleting it again finds nothing.
        let (st, got) = s.put(&format!("/contacts/{first}"), json!({"customFields": [{"id": gone, "value": "b"}]})).await;
        assert_eq!((st.as_u16(), got), (400, bad_request(&format!("Custom field with id {gone} not found"))));
        let (st, _) = s.delete(&field_path(s, &gone)).await;
        assert_eq!(st.as_u16(), 400);
        // Deleting by field key works as the get does.
        let (st, _) = s.delete(&field_path(s, "contact.kept")).await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(values_of(s, &first).await, json!([]));
    }
}
