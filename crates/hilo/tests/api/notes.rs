//! Notes through HTTP: the whole flow with every field compared, and bad input.

use reqwest::StatusCode;
use serde_json::json;

use crate::on_both;

on_both! {
    async fn note_flow(s) {
        let contact = s.contact(json!({"firstName": "Noted"})).await;
        let base = format!("/contacts/{contact}/notes");
        let (st, created) = s.post(&base, json!({"body": "lorem ipsum", "userId": "GCs5KuzPqTls7vWclkEV", "title": "Follow-up summary", "color": "#FFAA00", "pinned": true})).await;
        assert_eq!(st, StatusCode::CREATED, "{created}");
        let note = created["note"].clone();
        let id = note["id"].as_str().unwrap().to_owned();
        let date_added = note["dateAdded"].as_str().unwrap().to_owned();
        assert!(date_added.ends_with('Z') && date_added.len() == 24);
        assert_eq!(note, json!({"id": id, "body": "lorem ipsum", "userId": "GCs5KuzPqTls7vWclkEV", "dateAdded": date_added,
            "contactId": contact, "title": "Follow-up summary", "color": "#FFAA00", "pinned": true}));

        let (_, plain) = s.post(&base, json!({"body": "second"})).await;
        assert_eq!(plain["note"]["pinned"], false);
        let (st, list) = s.get(&base).await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(list["notes"].as_array().unwrap().len(), 2);
        assert!(list["notes"].as_array().unwrap().contains(&note));

        let (st, got) = s.get(&format!("{base}/{id}")).await;
        assert_eq!((st, got["note"].clone()), (StatusCode::OK, note.clone()));

        let (st, updated) = s.put(&format!("{base}/{id}"), json!({"body": "changed", "pinned": false})).await;
        assert_eq!(st, StatusCode::OK, "{updated}");
        let mut want = note.clone();
        want["body"] = json!("changed");
        want["pinned"] = json!(false);
        assert_eq!(updated["note"], want);
        let (_, got) = s.get(&format!("{base}/{id}")).await;
        assert_eq!(got["note"], want);

        for note_id in [id, plain["note"]["id"].as_str().unwrap().to_owned()] {
            let (st, deleted) = s.delete(&format!("{base}/{note_id}")).await;
            assert_eq!((st, deleted["succeded"].clone()), (StatusCode::OK, json!(true)));
        }
        let (_, list) = s.get(&base).await;
        assert_eq!(list["notes"], json!([]));
    }

    async fn bad_note_input(s) {
        let contact = s.contact(json!({"firstName": "N"})).await;
        let base = format!("/contacts/{contact}/notes");
        let (_, note) = s.post(&base, json!({"body": "keep"})).await;
        let id = note["note"]["id"].as_str().unwrap();
        let before = s.counts().await;
        for (body, messages) in [
            (json!({}), json!(["body should not be empty", "body must be a string"])),
            (json!({"body": "x", "pinned": "yes"}), json!(["pinned must be a boolean value"])),
            (json!({"body": "x", "locationId": s.loc()}), json!(["property locationId should not exist"])),
        ] {
            let (st, got) = s.post(&base, body.clone()).await;
            assert_eq!((st.as_u16(), got["message"].clone()), (422, messages), "{body}");
        }
        let (st, got) = s.get(&format!("{base}?locationId={}", s.loc())).await;
        assert_eq!((st.as_u16(), got["message"].clone()), (422, json!(["property locationId should not exist"])));
        let (st, got) = s.put(&format!("{base}/{id}"), json!({"body": ""})).await;
        assert_eq!((st.as_u16(), got["message"].clone()), (422, json!(["body should not be empty"])));
        assert_eq!(s.counts().await, before);
        let (_, got) = s.get(&format!("{base}/{id}")).await;
        assert_eq!(got["note"], note["note"]);
    }
}
