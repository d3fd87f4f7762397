//! Tags through HTTP: add and remove, normalisation, the replace-all of create/update.

use reqwest::StatusCode;
use serde_json::json;

use crate::on_both;

on_both! {
    async fn add_and_remove_tags(s) {
        let contact = s.contact(json!({"firstName": "Tagged", "tags": ["Existing"]})).await;
        let path = format!("/contacts/{contact}/tags");
        let (st, added) = s.post(&path, json!({"tags": ["  VIP ", "vip", "", "existing", "Hot Lead"]})).await;
        assert_eq!(st, StatusCode::CREATED, "{added}");
        assert_eq!(added["tags"], json!(["existing", "vip", "hot lead"]));
        assert_eq!(added["tagsAdded"], json!(["vip", "hot lead"]));
        assert!(added["traceId"].is_string());

        let (st, removed) = s.delete_json(&path, json!({"tags": ["VIP", "not-there"]})).await;
        assert_eq!(st, StatusCode::OK, "{removed}");
        assert_eq!(removed["tags"], json!(["existing", "hot lead"]));
        assert_eq!(removed["tagsRemoved"], json!(["vip"]));

        let (_, got) = s.get(&format!("/contacts/{contact}")).await;
        assert_eq!(got["contact"]["tags"], json!(["existing", "hot lead"]));

        // Tags in an update replace the whole set.
        s.put(&format!("/contacts/{contact}"), json!({"tags": ["Fresh"]})).await;
        let (_, got) = s.get(&format!("/contacts/{contact}")).await;
        assert_eq!(got["contact"]["tags"], json!(["fresh"]));
    }

    async fn concurrent_tag_adds_keep_every_tag(s) {
        let contact = s.contact(json!({"firstName": "Busy"})).await;
        let path = format!("/contacts/{contact}/tags");
        let requests = (0..10).map(|i| s.post(&path, json!({"tags": [format!("t{i}")]})));
        for (st, body) in futures::future::join_all(requests).await {
            assert_eq!(st, StatusCode::CREATED, "{body}");
        }
        let (_, got) = s.get(&format!("/contacts/{contact}")).await;
        let mut tags: Vec<String> = got["contact"]["tags"].as_array().unwrap().iter().map(|t| t.as_str().unwrap().to_owned()).collect();
        tags.sort();
        let mut want: Vec<String> = (0..10).map(|i| format!("t{i}")).collect();
        want.sort();
        assert_eq!(tags, want);
    }

    async fn bad_tag_input(s) {
        let contact = s.contact(json!({"firstName": "T", "tags": ["keep"]})).await;
        let path = format!("/contacts/{contact}/tags");
        let before = s.counts().await;
        for body in [json!({}), json!({"tags": "x"}), json!({"tags": [1]}), json!({"tags": ["a"], "locationId": s.loc()})] {
            let (st, _) = s.post(&path, body.clone()).await;
            assert_eq!(st.as_u16(), 422, "{body}");
            let (st, _) = s.delete_json(&path, body.clone()).await;
            assert_eq!(st.as_u16(), 422, "{body}");
        }
        // DELETE without its JSON body is a validation error too.
        let (st, got) = s.delete(&path).await;
        assert_eq!((st.as_u16(), got["message"].clone()), (422, json!(["each value in tags must be a string", "tags must be an array"])));
        assert_eq!(s.counts().await, before);
    }
}
