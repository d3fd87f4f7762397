//! Followers through HTTP: add and remove with the spec's bodies, followers on contact reads,
//! users of the location only, bad input refused whole, and isolation between locations.

use hilo_server::{tenancy, users};
use reqwest::StatusCode;
use serde_json::json;

use crate::harness::{keys_without_trace, spec_properties};
use crate::on_both;

on_both! {
    async fn add_and_remove_followers(s) {
        let u1 = users::create_location_user(&s.db, s.loc(), "one@example.com", Some("One")).await.unwrap().id;
        let u2 = users::create_location_user(&s.db, s.loc(), "two@example.com", None).await.unwrap().id;
        let u3 = users::create_location_user(&s.db, s.loc(), "three@example.com", None).await.unwrap().id;
        // An agency user of the location's agency follows its contacts too.
        let agency_user = users::create_agency_user(&s.db, &s.location.company_id, "boss@example.com", None, None).await.unwrap().id;
        let contact = s.contact(json!({"firstName": "Followed"})).await;
        let path = format!("/contacts/{contact}/followers");
        let (_, before) = s.get(&format!("/contacts/{contact}")).await;
        assert_eq!(before["contact"]["followers"], json!([]));

        let (st, added) = s.post(&path, json!({"followers": [u1, u1, agency_user]})).await;
        assert_eq!(st, StatusCode::CREATED, "{added}");
        assert_eq!(keys_without_trace(&added), spec_properties("contacts.json", "CreateAddFollowersSuccessfulResponseDto"));
        assert_eq!(added["followers"], json!([u1, agency_user]));
        assert_eq!(added["followersAdded"], json!([u1, agency_user]));
        assert!(uuid::Uuid::parse_str(added["traceId"].as_str().unwrap()).is_ok());

        // Adding again adds only the new ones, after the others.
        let (st, again) = s.post(&path, json!({"followers": [agency_user, u2]})).await;
        assert_eq!(st, StatusCode::CREATED, "{again}");
        assert_eq!(again["followers"], json!([u1, agency_user, u2]));
        assert_eq!(again["followersAdded"], json!([u2]));
        let (st, none) = s.post(&path, json!({"followers": []})).await;
        assert_eq!((st, none["followers"].clone(), none["followersAdded"].clone()), (StatusCode::CREATED, json!([u1, agency_user, u2]), json!([])));

        // Every read of the contact carries them.
        let (_, got) = s.get(&format!("/contacts/{contact}")).await;
        assert_eq!(got["contact"]["followers"], json!([u1, agency_user, u2]));
        assert!(got["contact"]["dateUpdated"].as_str().unwrap() >= before["contact"]["dateUpdated"].as_str().unwrap());
        let (_, listed) = s.get(&format!("/contacts/?locationId={}", s.loc())).await;
        let row = listed["contacts"].as_array().unwrap().iter().find(|c| c["id"] == contact.as_str()).unwrap().clone();
        assert_eq!(row["followers"], json!([u1, agency_user, u2]));
        let (_, updated) = s.put(&format!("/contacts/{contact}"), json!({"lastName": "Still"})).await;
        assert_eq!(updated["contact"]["followers"], json!([u1, agency_user, u2]));

        // Removing: ids that do not follow (or are no user at all) are not removed, not an error.
        let (st, removed) = s.delete_json(&path, json!({"followers": [agency_user, u3, "NoSuchUser", agency_user]})).await;
        assert_eq!(st, StatusCode::OK, "{removed}");
        assert_eq!(keys_without_trace(&removed), spec_properties("contacts.json", "DeleteFollowersSuccessfulResponseDto"));
        assert_eq!(removed["followers"], json!([u1, u2]));
        assert_eq!(removed["followersRemoved"], json!([agency_user]));
        let (_, got) = s.get(&format!("/contacts/{contact}")).await;
        assert_eq!(got["contact"]["followers"], json!([u1, u2]));

        // A contact's followers go with it.
        let (st, _) = s.delete(&format!("/contacts/{contact}")).await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(s.rows_of("contact_followers", &contact).await, 0);
    }

    async fn bad_follower_input_changes_nothing(s) {
        let u1 = users::create_location_user(&s.db, s.loc(), "one@example.com", None).await.unwrap().id;
        let other_user = users::create_location_user(&s.db, &s.other_location.id, "elsewhere@example.com", None).await.unwrap().id;
        let stranger = tenancy::create_company(&s.db, "Stranger Agency").await.unwrap();
        let stranger_user = users::create_agency_user(&s.db, &stranger.id, "stranger@example.com", None, None).await.unwrap().id;
        let contact = s.contact(json!({"firstName": "Guarded"})).await;
        let path = format!("/contacts/{contact}/followers");
        let (st, _) = s.post(&path, json!({"followers": [u1]})).await;
        assert_eq!(st, StatusCode::CREATED);
        let (_, before) = s.get(&format!("/contacts/{contact}")).await;
        let counts = s.counts().await;

        let array_messages = json!(["each value in followers must be a string", "followers must be an array"]);
        for (body, message) in [
            (json!({}), array_messages.clone()),
            (json!({"followers": "x"}), array_messages.clone()),
            (json!({"followers": null}), array_messages.clone()),
            (json!({"followers": [1]}), json!(["each value in followers must be a string"])),
            (json!({"followers": [u1], "locationId": s.loc()}), json!(["property locationId should not exist"])),
        ] {
            for (st, b) in [s.post(&path, body.clone()).await, s.delete_json(&path, body.clone()).await] {
                assert_eq!(st.as_u16(), 422, "{body}: {b}");
                assert_eq!(b, json!({"statusCode": 422, "message": message, "error": "Unprocessable Entity"}), "{body}");
            }
        }
        let (st, b) = s.delete(&path).await;
        assert_eq!((st.as_u16(), b["message"].clone()), (422, array_messages));

        // An id that is not a user of the location refuses the whole request: no follower added.
        for unknown in ["NoSuchUser".to_owned(), other_user.clone(), stranger_user.clone()] {
            let fresh = users::create_location_user(&s.db, s.loc(), &format!("{}@example.com", uuid::Uuid::new_v4().simple()), None).await.unwrap().id;
            let (st, b) = s.post(&path, json!({"followers": [fresh, unknown]})).await;
            assert_eq!((st.as_u16(), b), (400, json!({"statusCode": 400, "message": format!("User not found for id:{unknown}"), "error": "Bad Request"})));
            let (_, got) = s.get(&format!("/contacts/{contact}")).await;
            assert_eq!(got["contact"]["followers"], json!([u1]), "{unknown}");
        }

        let missing = "AAAAAAAAAAAAAAAAAAAA";
        for (st, b) in [
            s.post(&format!("/contacts/{missing}/followers"), json!({"followers": [u1]})).await,
            s.delete_json(&format!("/contacts/{missing}/followers"), json!({"followers": [u1]})).await,
        ] {
            assert_eq!((st.as_u16(), b["message"].clone()), (400, json!(format!("Contact not found for id:{missing}"))));
        }
        let (_, after) = s.get(&format!("/contacts/{contact}")).await;
        assert_eq!(after["contact"], before["contact"]);
        // Only the location users created above were written.
        let users_now: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(s.db.read()).await.unwrap();
        let mut want = counts.clone();
        for (table, n) in &mut want {
            if table == "users" {
                *n = users_now;
            }
        }
        assert_eq!(s.counts().await, want);
    }

    async fn concurrent_follower_adds_keep_every_follower(s) {
        let contact = s.contact(json!({"firstName": "Popular"})).await;
        let mut ids = Vec::new();
        for i in 0..8 {
            ids.push(users::create_location_user(&s.db, s.loc(), &format!("f{i}@example.com"), None).await.unwrap().id);
        }
        let path = format!("/contacts/{contact}/followers");
        let requests = ids.iter().map(|id| s.post(&path, json!({"followers": [id]})));
        for (st, body) in futures::future::join_all(requests).await {
            assert_eq!(st, StatusCode::CREATED, "{body}");
        }
        let (_, got) = s.get(&format!("/contacts/{contact}")).await;
        let mut followers: Vec<String> = got["contact"]["followers"].as_array().unwrap().iter().map(|f| f.as_str().unwrap().to_owned()).collect();
        followers.sort();
        ids.sort();
        assert_eq!(followers, ids);
    }

    async fn followers_stay_in_their_location(s) {
        let mine = users::create_location_user(&s.db, s.loc(), "mine@example.com", None).await.unwrap().id;
        let theirs = users::create_location_user(&s.db, &s.other_location.id, "theirs@example.com", None).await.unwrap().id;
        let contact = s.contact(json!({"firstName": "Mine"})).await;
        let path = format!("/contacts/{contact}/followers");
        s.post(&path, json!({"followers": [mine]})).await;

        // Another location's token reaches neither the contact nor its followers.
        for request in [
            s.request_as(&s.other_token, reqwest::Method::POST, &path).json(&json!({"followers": [theirs]})),
            s.request_as(&s.other_token, reqwest::Method::DELETE, &path).json(&json!({"followers": [mine]})),
        ] {
            let (st, b) = s.send(request).await;
            assert_eq!((st.as_u16(), b["message"].clone()), (403, json!("The token does not have access to this location.")));
        }
        // Their contact cannot be followed by this location's user.
        let (st, created) = s.send(s.request_as(&s.other_token, reqwest::Method::POST, "/contacts/").json(&json!({"locationId": s.other_location.id, "firstName": "Theirs"}))).await;
        assert_eq!(st, StatusCode::CREATED);
        let their_contact = created["contact"]["id"].as_str().unwrap().to_owned();
        let their_path = format!("/contacts/{their_contact}/followers");
        let (st, b) = s.send(s.request_as(&s.other_token, reqwest::Method::POST, &their_path).json(&json!({"followers": [mine]}))).await;
        assert_eq!((st.as_u16(), b["message"].clone()), (400, json!(format!("User not found for id:{mine}"))));
        let (st, b) = s.send(s.request_as(&s.other_token, reqwest::Method::POST, &their_path).json(&json!({"followers": [theirs]}))).await;
        assert_eq!((st, b["followers"].clone()), (StatusCode::CREATED, json!([theirs])));

        let (_, got) = s.get(&format!("/contacts/{contact}")).await;
        assert_eq!(got["contact"]["followers"], json!([mine]));
    }
}
