//! A catalog item and its rendered parameters, as an SDK request.

use hilo_sdk::{Client, Method, Request};
use serde_json::{Map, Value};

use crate::catalog::{Item, ParamPlace};

/// The request `item` makes with `with`; a `locationId` the flow leaves out is its location.
pub fn call(
    client: &Client,
    item: &Item,
    with: &Map<String, Value>,
    location: Option<&str>,
) -> anyhow::Result<Request> {
    let method = Method::from_bytes(item.method.as_bytes())?;
    let mut path = item.path.clone();
    let mut query = Vec::new();
    let mut body = None;
    for param in item.params() {
        let value = match (with.get(&param.name), location) {
            (Some(value), _) if !value.is_null() => value.clone(),
            (_, Some(location)) if param.name == "locationId" => Value::from(location),
            _ if param.required => {
                anyhow::bail!("{}: parameter {} is empty", item.id, param.name)
            }
            _ => continue,
        };
        match param.place {
            ParamPlace::Path => {
                let text = as_text(&value);
                if text.is_empty() || text.contains('/') {
                    anyhow::bail!("{}: path parameter {} is {text:?}", item.id, param.name);
                }
                path = path.replace(
                    &format!("{{{}}}", param.name),
                    &hilo_sdk::path_segment(&text),
                );
            }
            ParamPlace::Query => match &value {
                Value::Array(values) => {
                    query.extend(values.iter().map(|v| (param.name.clone(), as_text(v))))
                }
                _ => query.push((param.name.clone(), as_text(&value))),
            },
            ParamPlace::Body => body = Some(value),
        }
    }
    let mut request = client.request(method, &path).query_pairs(query);
    if let Some(body) = body {
        request = request.json(&body)?;
    }
    Ok(request)
}

/// What the request would be, for dry runs and logs: `POST /contacts/ {"…"}`.
pub fn describe(item: &Item, with: &Map<String, Value>) -> String {
    let mut text = format!("{} {}", item.method, item.path);
    for param in item.params() {
        if let Some(value) = with.get(&param.name) {
            match param.place {
                ParamPlace::Path => {
                    text = text.replace(&format!("{{{}}}", param.name), &as_text(value))
                }
                ParamPlace::Query => text.push_str(&format!(" {}={}", param.name, as_text(value))),
                ParamPlace::Body => text.push_str(&format!(" {value}")),
            }
        }
    }
    text
}

fn as_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use serde_json::json;

    #[test]
    fn described_with_its_parameters() {
        let item = Catalog::builtin()
            .get("contacts.create_contact_task")
            .unwrap();
        let with = json!({"contactId": "c 1", "body": {"title": "x"}});
        assert_eq!(
            describe(item, with.as_object().unwrap()),
            r#"POST /contacts/c 1/tasks {"title":"x"}"#
        );
        assert_eq!(hilo_sdk::path_segment("c 1é"), "c%201%C3%A9");
    }
}
