//! Tasks through HTTP: the whole flow with every field compared, and bad input.

use reqwest::StatusCode;
use serde_json::json;

use crate::on_both;

on_both! {
    async fn task_flow(s) {
        let contact = s.contact(json!({"firstName": "Tasked"})).await;
        let base = format!("/contacts/{contact}/tasks");
        let (st, first) = s.post(&base, json!({"title": "First Task", "body": "loram ipsum", "dueDate": "2020-10-25T11:00:00Z", "completed": false, "assignedTo": "hxHGVRb1YJUscrCB8eXK"})).await;
        assert_eq!(st, StatusCode::CREATED, "{first}");
        let first_id = first["task"]["id"].as_str().unwrap().to_owned();
        assert_eq!(first["task"], json!({"id": first_id, "title": "First Task", "body": "loram ipsum", "assignedTo": "hxHGVRb1YJUscrCB8eXK",
            "dueDate": "2020-10-25T11:00:00.000Z", "completed": false, "contactId": contact}));
        let (st, second) = s.post(&base, json!({"title": "Second", "dueDate": "2030-01-02T04:04:05.5+01:00", "completed": true})).await;
        assert_eq!(st, StatusCode::CREATED, "{second}");
        let second_id = second["task"]["id"].as_str().unwrap().to_owned();
        assert_eq!(second["task"]["dueDate"], "2030-01-02T03:04:05.500Z");

        let (st, list) = s.get(&base).await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(list["tasks"], json!([first["task"], second["task"]]));
        let (_, limited) = s.get(&format!("{base}?limit=1&skip=1")).await;
        assert_eq!(limited["tasks"], json!([second["task"]]));

        let (st, got) = s.get(&format!("{base}/{first_id}")).await;
        assert_eq!((st, got["task"].clone()), (StatusCode::OK, first["task"].clone()));

        let (st, updated) = s.put(&format!("{base}/{first_id}"), json!({"title": "Renamed", "dueDate": "2021-01-01T00:00:00.000Z"})).await;
        assert_eq!(st, StatusCode::OK, "{updated}");
        assert_eq!(updated["task"], json!({"id": first_id, "title": "Renamed", "body": "loram ipsum", "assignedTo": "hxHGVRb1YJUscrCB8eXK",
            "dueDate": "2021-01-01T00:00:00.000Z", "completed": false, "contactId": contact}));

        let (st, done) = s.put(&format!("{base}/{first_id}/completed"), json!({"completed": true})).await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(done["task"]["completed"], true);
        // n8n's `status` field maps onto `completed`.
        let (_, undone) = s.put(&format!("{base}/{first_id}"), json!({"status": "incompleted"})).await;
        assert_eq!(undone["task"]["completed"], false);
        let (_, got) = s.get(&format!("{base}/{first_id}")).await;
        assert_eq!(got["task"]["completed"], false);

        let (st, deleted) = s.delete(&format!("{base}/{second_id}")).await;
        assert_eq!((st, deleted["succeded"].clone()), (StatusCode::OK, json!(true)));
        let (_, list) = s.get(&base).await;
        assert_eq!(list["tasks"].as_array().unwrap().len(), 1);
        let (st, _) = s.get(&format!("{base}/{second_id}")).await;
        assert_eq!(st.as_u16(), 400);
    }

    async fn bad_task_input(s) {
        let contact = s.contact(json!({"firstName": "T"})).await;
        let base = format!("/contacts/{contact}/tasks");
        let (_, task) = s.post(&base, json!({"title": "ok", "dueDate": "2030-01-01T00:00:00Z", "completed": false})).await;
        let task_id = task["task"]["id"].as_str().unwrap();
        let before = s.counts().await;
        for (body, messages) in [
            (json!({}), json!(["title should not be empty", "title must be a string", "dueDate should not be empty", "dueDate must be a valid ISO 8601 date string", "completed must be a boolean value"])),
            (json!({"title": "t", "dueDate": "tomorrow", "completed": false}), json!(["dueDate must be a valid ISO 8601 date string"])),
            (json!({"title": "t", "dueDate": "2030-01-01T00:00:00Z", "completed": "no"}), json!(["completed must be a boolean value"])),
            (json!({"title": "", "dueDate": "2030-01-01T00:00:00Z", "completed": false}), json!(["title should not be empty"])),
        ] {
            let (st, got) = s.post(&base, body.clone()).await;
            assert_eq!((st.as_u16(), got["message"].clone()), (422, messages), "{body}");
        }
        for (path, body, messages) in [
            (format!("{base}/{task_id}"), json!({"completed": 1}), json!(["completed must be a boolean value"])),
            (format!("{base}/{task_id}"), json!({"status": "done"}), json!(["status must be one of the following values: completed, incompleted"])),
            (format!("{base}/{task_id}/completed"), json!({}), json!(["completed must be a boolean value"])),
        ] {
            let (st, got) = s.put(&path, body.clone()).await;
            assert_eq!((st.as_u16(), got["message"].clone()), (422, messages), "{path} {body}");
        }
        assert_eq!(s.counts().await, before);
        let (_, got) = s.get(&format!("{base}/{task_id}")).await;
        assert_eq!(got["task"], task["task"]);
    }
}
