//! Businesses through HTTP, and the contacts that belong to them.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::on_both;

fn strip_times(business: &Value) -> Value {
    let mut b = business.clone();
    for key in ["createdAt", "updatedAt"] {
        let t = b[key].as_str().unwrap_or_default();
        assert!(t.len() == 24 && t.ends_with('Z'), "{key}: {business}");
        b.as_object_mut().unwrap().remove(key);
    }
    b
}

on_both! {
    async fn business_crud(s) {
        let body = json!({"name": "Microsoft", "locationId": s.loc(), "phone": "+18832327657", "email": "john@deo.com",
            "website": "www.xyz.com", "address": "street adress", "city": "new york", "postalCode": "12312312",
            "state": "new york", "country": "us", "description": "business description"});
        let (st, created) = s.post("/businesses/", body).await;
        assert_eq!(st, StatusCode::CREATED, "{created}");
        assert_eq!(created["success"], true);
        let business = created["buiseness"].clone();
        let id = business["id"].as_str().unwrap().to_owned();
        assert!(id.len() == 24 && id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
        assert_eq!(strip_times(&business), json!({"id": id, "name": "Microsoft", "phone": "+18832327657", "email": "john@deo.com",
            "website": "www.xyz.com", "address": "street adress", "city": "new york", "description": "business description",
            "state": "new york", "postalCode": "12312312", "country": "us", "locationId": s.loc()}));

        let (st, got) = s.get(&format!("/businesses/{id}")).await;
        assert_eq!((st, got["business"].clone()), (StatusCode::OK, business.clone()));

        let (st, updated) = s.put(&format!("/businesses/{id}"), json!({"name": "Contoso", "city": null})).await;
        assert_eq!(st, StatusCode::OK, "{updated}");
        assert_eq!(updated["success"], true);
        let mut want = strip_times(&business);
        want["name"] = json!("Contoso");
        want.as_object_mut().unwrap().remove("city");
        assert_eq!(strip_times(&updated["buiseness"]), want);

        let (_, second) = s.post("/businesses/", json!({"name": "Second", "locationId": s.loc()})).await;
        s.send(s.request_as(&s.other_token, reqwest::Method::POST, "/businesses/").json(&json!({"name": "Elsewhere", "locationId": s.other_location.id}))).await;
        let (st, list) = s.get(&format!("/businesses/?locationId={}", s.loc())).await;
        assert_eq!(st, StatusCode::OK);
        let names: Vec<&str> = list["businesses"].as_array().unwrap().iter().map(|b| b["name"].as_str().unwrap()).collect();
        assert_eq!(names, vec!["Contoso", "Second"]);
        let (_, paged) = s.get(&format!("/businesses/?locationId={}&limit=1&skip=1", s.loc())).await;
        assert_eq!(paged["businesses"], json!([second["buiseness"]]));

        let (st, deleted) = s.delete(&format!("/businesses/{id}")).await;
        assert_eq!((st, deleted["success"].clone()), (StatusCode::OK, json!(true)));
        let (st, _) = s.get(&format!("/businesses/{id}")).await;
        assert_eq!(st.as_u16(), 400);
    }

    async fn contacts_belong_to_a_business(s) {
        let (_, business) = s.post("/businesses/", json!({"name": "Acme", "locationId": s.loc()})).await;
        let business_id = business["buiseness"]["id"].as_str().unwrap().to_owned();
        let a = s.contact(json!({"firstName": "Alice", "email": "alice@acme.io"})).await;
        let b = s.contact(json!({"firstName": "Bob", "email": "bob@acme.io"})).await;
        let outsider = s.contact(json!({"firstName": "Carol"})).await;
        let (_, foreign) = s.send(s.request_as(&s.other_token, reqwest::Method::POST, "/contacts/").json(&json!({"locationId": s.other_location.id, "firstName": "Zed"}))).await;
        let foreign = foreign["contact"]["id"].as_str().unwrap().to_owned();

        let (st, assigned) = s.post("/contacts/bulk/business", json!({"locationId": s.loc(), "ids": [a, b, foreign, "NoSuchContact0000000"], "businessId": business_id})).await;
        assert_eq!(st, StatusCode::OK, "{assigned}");
        assert_eq!(assigned["success"], true);
        assert_eq!(assigned["ids"], json!([a, b]));

        let (_, got) = s.get(&format!("/contacts/{a}")).await;
        assert_eq!(got["contact"]["businessId"], json!(business_id));
        let (st, listed) = s.get(&format!("/contacts/business/{business_id}?locationId={}", s.loc())).await;
        assert_eq!(st, StatusCode::OK, "{listed}");
        assert_eq!(listed["count"], 2);
        let mut ids: Vec<&str> = listed["contacts"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
        ids.sort();
        let mut want = vec![a.as_str(), b.as_str()];
        want.sort();
        assert_eq!(ids, want);
        assert_eq!(listed["contacts"][0]["businessId"], json!(business_id));
        let (_, searched) = s.get(&format!("/contacts/business/{business_id}?locationId={}&query=bob", s.loc())).await;
        assert_eq!((searched["count"].clone(), searched["contacts"][0]["id"].clone()), (json!(1), json!(b)));
        let (_, paged) = s.get(&format!("/contacts/business/{business_id}?locationId={}&limit=1&skip=1", s.loc())).await;
        assert_eq!((paged["count"].clone(), paged["contacts"].as_array().unwrap().len()), (json!(2), 1));

        // null removes the association.
        let (_, cleared) = s.post("/contacts/bulk/business", json!({"locationId": s.loc(), "ids": [b], "businessId": null})).await;
        assert_eq!(cleared["ids"], json!([b]));
        let (_, got) = s.get(&format!("/contacts/{b}")).await;
        assert!(got["contact"].get("businessId").is_none());

        // Deleting the business detaches its contacts; the contacts stay.
        s.delete(&format!("/businesses/{business_id}")).await;
        let (st, got) = s.get(&format!("/contacts/{a}")).await;
        assert_eq!(st, StatusCode::OK);
        assert!(got["contact"].get("businessId").is_none());
        let (_, got) = s.get(&format!("/contacts/{outsider}")).await;
        assert_eq!(got["contact"]["firstName"], "Carol");

        let (st, got) = s.post("/contacts/bulk/business", json!({"locationId": s.loc(), "ids": [a], "businessId": "000000000000000000000000"})).await;
        assert_eq!((st.as_u16(), got["message"].clone()), (400, json!("Business not found for id:000000000000000000000000")));
        let too_many: Vec<String> = (0..51).map(|i| format!("id{i}")).collect();
        let (st, got) = s.post("/contacts/bulk/business", json!({"locationId": s.loc(), "ids": too_many, "businessId": null})).await;
        assert_eq!((st.as_u16(), got["message"].clone()), (422, json!(["ids must contain no more than 50 elements"])));
    }

    async fn bad_business_input(s) {
        let before = s.counts().await;
        for (body, messages) in [
            (json!({"locationId": s.loc()}), json!(["name should not be empty", "name must be a string"])),
            (json!({"name": "X", "locationId": s.loc(), "phone": 5}), json!(["phone must be a string"])),
            (json!({"name": "X", "locationId": s.loc(), "employees": 5}), json!(["property employees should not exist"])),
        ] {
            let (st, got) = s.post("/businesses/", body.clone()).await;
            assert_eq!((st.as_u16(), got["message"].clone()), (422, messages), "{body}");
        }
        let (st, got) = s.get("/businesses/").await;
        assert_eq!((st.as_u16(), got["message"].clone()), (422, json!(["locationId should not be empty", "locationId must be a string"])));
        assert_eq!(s.counts().await, before);
    }
}
