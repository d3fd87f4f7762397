//! Campaigns and workflows through HTTP: the read-only lists with the spec's wrappers and
//! fields, enrolling and removing contacts, unknown ids and repeats, bad input, and isolation
//! between locations.

use hilo_server::api::{campaigns, workflows};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::harness::{keys_without_trace, spec_properties, TestServer};
use crate::on_both;

async fn enrolled(s: &TestServer, table: &str, column: &str, contact: &str) -> Vec<String> {
    sqlx::query_scalar(&format!(
        "SELECT {column} FROM {table} WHERE contact_id = $1 ORDER BY {column}"
    ))
    .bind(contact)
    .fetch_all(s.db.read())
    .await
    .unwrap()
}

async fn start_time(s: &TestServer, contact: &str, workflow: &str) -> Option<i64> {
    sqlx::query_scalar(
        "SELECT event_start_time FROM contact_workflows WHERE contact_id = $1 AND workflow_id = $2",
    )
    .bind(contact)
    .bind(workflow)
    .fetch_one(s.db.read())
    .await
    .unwrap()
}

fn without_trace(mut body: Value) -> Value {
    body.as_object_mut().unwrap().remove("traceId");
    body
}

fn bad_request(message: &str) -> Value {
    json!({"statusCode": 400, "message": message, "error": "Bad Request"})
}

on_both! {
    async fn campaigns_are_listed_per_location(s) {
        let welcome = campaigns::create_campaign(&s.db, s.loc(), "Welcome", "published").await.unwrap();
        let drip = campaigns::create_campaign(&s.db, s.loc(), "Drip", "draft").await.unwrap();
        campaigns::create_campaign(&s.db, &s.other_location.id, "Theirs", "published").await.unwrap();
        let (st, list) = s.get(&format!("/campaigns/?locationId={}", s.loc())).await;
        assert_eq!(st, StatusCode::OK, "{list}");
        assert_eq!(keys_without_trace(&list), spec_properties("campaigns.json", "CampaignsSuccessfulResponseDto"));
        // Both may carry the same millisecond, so their order is not the point here.
        let mut listed = list["campaigns"].as_array().unwrap().clone();
        listed.sort_by_key(|c| c["name"].as_str().unwrap().to_owned());
        assert_eq!(json!(listed), json!([
            {"id": drip.id, "name": "Drip", "status": "draft", "locationId": s.loc()},
            {"id": welcome.id, "name": "Welcome", "status": "published", "locationId": s.loc()},
        ]));
        assert_eq!(list.as_object().unwrap().len(), 2, "campaigns and traceId: {list}");
        let fields: std::collections::BTreeSet<String> = list["campaigns"][0].as_object().unwrap().keys().cloned().collect();
        assert_eq!(fields, spec_properties("campaigns.json", "campaignsSchema"));
        assert!(list["traceId"].is_string());

        let (_, drafts) = s.get(&format!("/campaigns?locationId={}&status=draft", s.loc())).await;
        assert_eq!(drafts["campaigns"], json!([{"id": drip.id, "name": "Drip", "status": "draft", "locationId": s.loc()}]));
        let (_, none) = s.get(&format!("/campaigns/?locationId={}&status=paused", s.loc())).await;
        assert_eq!(none["campaigns"], json!([]));

        // Another location's list is that location's token's to read.
        let (st, b) = s.get(&format!("/campaigns/?locationId={}", s.other_location.id)).await;
        assert_eq!((st.as_u16(), b["message"].clone()), (403, json!("The token does not have access to this location.")));
        let (st, theirs) = s.send(s.request_as(&s.other_token, Method::GET, &format!("/campaigns/?locationId={}", s.other_location.id))).await;
        assert_eq!((st, theirs["campaigns"].as_array().unwrap().len()), (StatusCode::OK, 1));
        assert_eq!(theirs["campaigns"][0]["name"], "Theirs");

        let (st, b) = s.get("/campaigns/").await;
        assert_eq!((st.as_u16(), b), (422, json!({"statusCode": 422, "message": ["locationId should not be empty", "locationId must be a string"], "error": "Unprocessable Entity"})));
        // campaigns.readonly is the scope: a contacts token is refused.
        let (st, b) = s.send(s.request_as(&s.contacts_only_token, Method::GET, &format!("/campaigns/?locationId={}", s.loc()))).await;
        assert_eq!((st.as_u16(), b["message"].clone()), (401, json!("The token is not authorized for this scope.")));
    }

    async fn workflows_are_listed_per_location(s) {
        let first = workflows::create_workflow(&s.db, s.loc(), "First Workflow", "draft").await.unwrap();
        let second = workflows::create_workflow(&s.db, s.loc(), "Second", "published").await.unwrap();
        workflows::create_workflow(&s.db, &s.other_location.id, "Theirs", "published").await.unwrap();
        let (st, list) = s.get(&format!("/workflows/?locationId={}", s.loc())).await;
        assert_eq!(st, StatusCode::OK, "{list}");
        assert_eq!(keys_without_trace(&list), spec_properties("workflows.json", "GetWorkflowSuccessfulResponseDto"));
        let rows = list["workflows"].as_array().unwrap();
        assert_eq!(rows.len(), 2);
        // Both may carry the same millisecond: find each by its id rather than by position.
        let row_of = |id: &str| rows.iter().find(|r| r["id"] == id).unwrap_or_else(|| panic!("{id} in {list}"));
        for (row, workflow, name, status) in [(row_of(&first.id), &first, "First Workflow", "draft"), (row_of(&second.id), &second, "Second", "published")] {
            let fields: std::collections::BTreeSet<String> = row.as_object().unwrap().keys().cloned().collect();
            assert_eq!(fields, spec_properties("workflows.json", "WorkflowSchema"));
            assert!(uuid::Uuid::parse_str(row["id"].as_str().unwrap()).is_ok(), "{row}");
            let created = row["createdAt"].as_str().unwrap();
            assert!(created.ends_with('Z') && created.len() == 24, "{created}");
            assert_eq!(row, &json!({"id": workflow.id, "name": name, "status": status, "version": 1,
                "createdAt": created, "updatedAt": created, "locationId": s.loc()}));
        }

        let (st, b) = s.get(&format!("/workflows/?locationId={}", s.other_location.id)).await;
        assert_eq!((st.as_u16(), b["message"].clone()), (403, json!("The token does not have access to this location.")));
        // The spec's list takes no status filter.
        let (st, b) = s.get(&format!("/workflows/?locationId={}&status=draft", s.loc())).await;
        assert_eq!((st.as_u16(), b["message"].clone()), (422, json!(["property status should not exist"])));
        let (st, b) = s.get("/workflows").await;
        assert_eq!((st.as_u16(), b["message"].clone()), (422, json!(["locationId should not be empty", "locationId must be a string"])));
        let (st, _) = s.send(s.request_as(&s.contacts_only_token, Method::GET, &format!("/workflows/?locationId={}", s.loc()))).await;
        assert_eq!(st.as_u16(), 401);
    }

    async fn contacts_join_and_leave_campaigns(s) {
        let a = campaigns::create_campaign(&s.db, s.loc(), "A", "published").await.unwrap().id;
        let b = campaigns::create_campaign(&s.db, s.loc(), "B", "draft").await.unwrap().id;
        let contact = s.contact(json!({"firstName": "Enrolled"})).await;
        let path = |campaign: &str| format!("/contacts/{contact}/campaigns/{campaign}");

        let (st, body) = s.post(&path(&a), json!({})).await;
        assert_eq!(st, StatusCode::CREATED, "{body}");
        assert_eq!(keys_without_trace(&body), spec_properties("contacts.json", "CreateDeleteCantactsCampaignsSuccessfulResponseDto"));
        assert_eq!(without_trace(body), json!({"succeded": true}));
        // Enrolling again changes nothing; an empty body is taken as `{}`.
        let (st, body) = s.send(s.request(Method::POST, &path(&a))).await;
        assert_eq!((st, without_trace(body)), (StatusCode::CREATED, json!({"succeded": true})));
        let (st, _) = s.post(&path(&b), json!({})).await;
        assert_eq!(st, StatusCode::CREATED);
        let mut both = vec![a.clone(), b.clone()];
        both.sort();
        assert_eq!(enrolled(s, "contact_campaigns", "campaign_id", &contact).await, both);

        let (st, body) = s.delete(&path(&a)).await;
        assert_eq!((st, without_trace(body)), (StatusCode::OK, json!({"succeded": true})));
        assert_eq!(enrolled(s, "contact_campaigns", "campaign_id", &contact).await, vec![b.clone()]);
        // Removing a contact that is not in the campaign succeeds too.
        let (st, body) = s.delete(&path(&a)).await;
        assert_eq!((st, without_trace(body)), (StatusCode::OK, json!({"succeded": true})));

        s.post(&path(&a), json!({})).await;
        let (st, body) = s.delete(&format!("/contacts/{contact}/campaigns/removeAll")).await;
        assert_eq!(st, StatusCode::OK, "{body}");
        assert_eq!(keys_without_trace(&body), spec_properties("contacts.json", "CreateDeleteCantactsCampaignsSuccessfulResponseDto"));
        assert_eq!(without_trace(body), json!({"succeded": true}));
        assert!(enrolled(s, "contact_campaigns", "campaign_id", &contact).await.is_empty());
        let (st, _) = s.delete(&format!("/contacts/{contact}/campaigns/removeAll/")).await;
        assert_eq!(st, StatusCode::OK);

        // Enrolments go with the contact.
        s.post(&path(&a), json!({})).await;
        s.delete(&format!("/contacts/{contact}")).await;
        assert_eq!(s.rows_of("contact_campaigns", &contact).await, 0);
    }

    async fn bad_campaign_calls_change_nothing(s) {
        let mine = campaigns::create_campaign(&s.db, s.loc(), "Mine", "published").await.unwrap().id;
        let theirs = campaigns::create_campaign(&s.db, &s.other_location.id, "Theirs", "published").await.unwrap().id;
        let contact = s.contact(json!({"firstName": "Careful"})).await;
        s.post(&format!("/contacts/{contact}/campaigns/{mine}"), json!({})).await;
        let before = s.counts().await;

        // Unknown campaigns, and another location's, are not found.
        for campaign in ["NoSuchCampaign00000", theirs.as_str()] {
            let path = format!("/contacts/{contact}/campaigns/{campaign}");
            let (st, b) = s.post(&path, json!({})).await;
            assert_eq!((st.as_u16(), b), (400, bad_request("Campaign not found")), "{campaign}");
            let (st, b) = s.delete(&path).await;
            assert_eq!((st.as_u16(), b), (400, bad_request("Campaign not found")), "{campaign}");
        }
        // The body is an empty object.
        let (st, b) = s.post(&format!("/contacts/{contact}/campaigns/{mine}"), json!({"status": "active"})).await;
        assert_eq!((st.as_u16(), b["message"].clone()), (422, json!(["property status should not exist"])));
        let missing = "AAAAAAAAAAAAAAAAAAAA";
        for (method, path) in [
            (Method::POST, format!("/contacts/{missing}/campaigns/{mine}")),
            (Method::DELETE, format!("/contacts/{missing}/campaigns/{mine}")),
            (Method::DELETE, format!("/contacts/{missing}/campaigns/removeAll")),
        ] {
            let (st, b) = s.call(method, &path, None).await;
            assert_eq!((st.as_u16(), b), (400, bad_request(&format!("Contact not found for id:{missing}"))), "{path}");
        }
        // Another location's token cannot touch this contact's enrolments.
        for (method, path) in [
            (Method::POST, format!("/contacts/{contact}/campaigns/{theirs}")),
            (Method::DELETE, format!("/contacts/{contact}/campaigns/{mine}")),
            (Method::DELETE, format!("/contacts/{contact}/campaigns/removeAll")),
        ] {
            let (st, b) = s.send(s.request_as(&s.other_token, method, &path)).await;
            assert_eq!((st.as_u16(), b["message"].clone()), (403, json!("The token does not have access to this location.")), "{path}");
        }
        assert_eq!(s.counts().await, before);
        assert_eq!(enrolled(s, "contact_campaigns", "campaign_id", &contact).await, vec![mine]);
    }

    async fn contacts_join_and_leave_workflows(s) {
        let workflow = workflows::create_workflow(&s.db, s.loc(), "Nurture", "published").await.unwrap().id;
        let other = workflows::create_workflow(&s.db, s.loc(), "Other", "draft").await.unwrap().id;
        let contact = s.contact(json!({"firstName": "Flowing"})).await;
        let path = |w: &str| format!("/contacts/{contact}/workflow/{w}");

        let (st, body) = s.post(&path(&workflow), json!({"eventStartTime": "2021-06-23T03:30:00+01:00"})).await;
        assert_eq!(st, StatusCode::OK, "{body}");
        assert_eq!(keys_without_trace(&body), spec_properties("contacts.json", "ContactsWorkflowSuccessfulResponseDto"));
        assert_eq!(without_trace(body), json!({"succeded": true}));
        // 2021-06-23T02:30:00Z
        assert_eq!(start_time(s, &contact, &workflow).await, Some(1_624_415_400_000));
        // Adding again keeps the first enrolment and its start time.
        let (st, body) = s.post(&path(&workflow), json!({"eventStartTime": "2030-01-01T00:00:00Z"})).await;
        assert_eq!((st, without_trace(body)), (StatusCode::OK, json!({"succeded": true})));
        assert_eq!(start_time(s, &contact, &workflow).await, Some(1_624_415_400_000));
        // Without a start time, and with an empty body, the run starts at once.
        let (st, _) = s.send(s.request(Method::POST, &path(&other))).await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(start_time(s, &contact, &other).await, None);

        let (st, body) = s.delete_json(&path(&workflow), json!({"eventStartTime": "2021-06-23T03:30:00+01:00"})).await;
        assert_eq!(st, StatusCode::OK, "{body}");
        assert_eq!(keys_without_trace(&body), spec_properties("contacts.json", "ContactsWorkflowSuccessfulResponseDto"));
        assert_eq!(without_trace(body), json!({"succeded": true}));
        assert_eq!(enrolled(s, "contact_workflows", "workflow_id", &contact).await, vec![other.clone()]);
        let (st, body) = s.delete(&path(&workflow)).await;
        assert_eq!((st, without_trace(body)), (StatusCode::OK, json!({"succeded": true})));

        s.delete(&format!("/contacts/{contact}")).await;
        assert_eq!(s.rows_of("contact_workflows", &contact).await, 0);
    }

    async fn bad_workflow_calls_change_nothing(s) {
        let mine = workflows::create_workflow(&s.db, s.loc(), "Mine", "published").await.unwrap().id;
        let theirs = workflows::create_workflow(&s.db, &s.other_location.id, "Theirs", "published").await.unwrap().id;
        let contact = s.contact(json!({"firstName": "Careful"})).await;
        let path = format!("/contacts/{contact}/workflow/{mine}");
        s.post(&path, json!({})).await;
        let before = s.counts().await;

        for (body, message) in [
            (json!({"eventStartTime": "tomorrow"}), json!(["eventStartTime must be a valid ISO 8601 date string"])),
            (json!({"eventStartTime": "2021-06-23"}), json!(["eventStartTime must be a valid ISO 8601 date string"])),
            (json!({"eventStartTime": 5}), json!(["eventStartTime must be a valid ISO 8601 date string"])),
            (json!({"startTime": "2021-06-23T03:30:00+01:00"}), json!(["property startTime should not exist"])),
        ] {
            for (st, b) in [s.post(&path, body.clone()).await, s.delete_json(&path, body.clone()).await] {
                assert_eq!((st.as_u16(), b), (422, json!({"statusCode": 422, "message": message, "error": "Unprocessable Entity"})), "{body}");
            }
        }
        for workflow in ["78559bb3-b920-461e-b010-7b2a2816d2a9", theirs.as_str()] {
            let path = format!("/contacts/{contact}/workflow/{workflow}");
            let (st, b) = s.post(&path, json!({})).await;
            assert_eq!((st.as_u16(), b), (400, bad_request("Workflow not found")), "{workflow}");
            let (st, b) = s.delete_json(&path, json!({})).await;
            assert_eq!((st.as_u16(), b), (400, bad_request("Workflow not found")), "{workflow}");
        }
        let missing = "AAAAAAAAAAAAAAAAAAAA";
        let (st, b) = s.post(&format!("/contacts/{missing}/workflow/{mine}"), json!({})).await;
        assert_eq!((st.as_u16(), b), (400, bad_request(&format!("Contact not found for id:{missing}"))));
        for method in [Method::POST, Method::DELETE] {
            let (st, b) = s.send(s.request_as(&s.other_token, method, &format!("/contacts/{contact}/workflow/{theirs}")).json(&json!({}))).await;
            assert_eq!((st.as_u16(), b["message"].clone()), (403, json!("The token does not have access to this location.")));
        }
        assert_eq!(s.counts().await, before);
        assert_eq!(enrolled(s, "contact_workflows", "workflow_id", &contact).await, vec![mine]);
    }
}
