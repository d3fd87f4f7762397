//! Request validation as HighLevel's NestJS `ValidationPipe` does it (`whitelist` +
//! `forbidNonWhitelisted`): unknown properties are rejected, and every failed constraint becomes
//! one class-validator style message in a 422. Bodies and query strings are declared as field
//! tables, checked here, and only then deserialised into the typed DTOs of `hilo-types`.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

#[derive(Debug, Clone, Copy)]
pub enum Kind {
    String,
    Bool,
    /// A JSON number.
    Number,
    Email,
    /// An ISO 8601 date-time with a zone.
    DateTime,
    /// One of a fixed set of strings.
    OneOf(&'static [&'static str]),
    StringArray,
    /// An array of strings of at most this many elements (class-validator's `@ArrayMaxSize`).
    StringArrayMax(usize),
    /// A nested object, itself strictly whitelisted.
    Object(&'static [Field]),
    /// An array of nested objects.
    ObjectArray(&'static [Field]),
    /// Any JSON value (custom field values: their type depends on the field).
    Any,
    /// A query-string integer within bounds.
    QueryInt {
        min: i64,
        max: i64,
    },
}

#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub kind: Kind,
    pub required: bool,
}

pub const fn optional(name: &'static str, kind: Kind) -> Field {
    Field {
        name,
        kind,
        required: false,
    }
}

pub const fn required(name: &'static str, kind: Kind) -> Field {
    Field {
        name,
        kind,
        required: true,
    }
}

/// A request body or query string declared as a field table.
pub trait Schema: DeserializeOwned {
    const FIELDS: &'static [Field];
    /// Whether the input carries a `locationId` that must be the token's (403 otherwise).
    const HAS_LOCATION: bool = false;
}

/// Every constraint `object` fails, in HighLevel's words; empty when it is valid.
pub fn validate(object: &Map<String, Value>, fields: &[Field]) -> Vec<String> {
    let mut errors = Vec::new();
    check_object(object, fields, "", &mut errors);
    errors
}

fn check_object(
    object: &Map<String, Value>,
    fields: &[Field],
    prefix: &str,
    errors: &mut Vec<String>,
) {
    for key in object.keys() {
        if !fields.iter().any(|f| f.name == key) {
            errors.push(format!("{prefix}property {key} should not exist"));
        }
    }
    for field in fields {
        let name = format!("{prefix}{}", field.name);
        match object.get(field.name) {
            // class-validator's @IsOptional lets both undefined and null through.
            None | Some(Value::Null) if !field.required => {}
            None | Some(Value::Null) => {
                if !matches!(
                    field.kind,
                    Kind::Bool | Kind::StringArray | Kind::StringArrayMax(_) | Kind::Object(_)
                ) {
                    errors.push(format!("{name} should not be empty"));
                }
                errors.extend(type_messages(&name, field.kind));
            }
            Some(value) => check_value(value, field, &name, errors),
        }
    }
}

/// What a value of `kind` must be, said as class-validator says it.
fn type_messages(name: &str, kind: Kind) -> Vec<String> {
    match kind {
        Kind::String => vec![format!("{name} must be a string")],
        Kind::Bool => vec![format!("{name} must be a boolean value")],
        Kind::Number => vec![format!(
            "{name} must be a number conforming to the specified constraints"
        )],
        Kind::Email => vec![format!("{name} must be an email")],
        Kind::DateTime => vec![format!("{name} must be a valid ISO 8601 date string")],
        Kind::OneOf(values) => vec![format!(
            "{name} must be one of the following values: {}",
            values.join(", ")
        )],
        Kind::StringArray | Kind::StringArrayMax(_) => vec![
            format!("each value in {name} must be a string"),
            format!("{name} must be an array"),
        ],
        Kind::Object(_) => vec![format!("{name} must be an object")],
        Kind::ObjectArray(_) => vec![format!("{name} must be an array")],
        Kind::Any => vec![],
        Kind::QueryInt { .. } => vec![format!(
            "{name} must be a number conforming to the specified constraints"
        )],
    }
}

fn check_value(value: &Value, field: &Field, name: &str, errors: &mut Vec<String>) {
    let wrong_type = || type_messages(name, field.kind);
    match (field.kind, value) {
        (Kind::String, Value::String(s)) => {
            if field.required && s.trim().is_empty() {
                errors.push(format!("{name} should not be empty"));
            }
        }
        (Kind::Bool, Value::Bool(_)) | (Kind::Number, Value::Number(_)) | (Kind::Any, _) => {}
        (Kind::Email, Value::String(s)) => {
            if !is_email(s) {
                errors.push(format!("{name} must be an email"));
            }
        }
        (Kind::DateTime, Value::String(s)) => {
            if crate::time::parse_datetime_ms(s).is_none() {
                errors.extend(wrong_type());
            }
        }
        (Kind::OneOf(values), Value::String(s)) if values.contains(&s.as_str()) => {}
        (Kind::StringArray, Value::Array(items)) => {
            if items.iter().any(|v| !v.is_string()) {
                errors.push(format!("each value in {name} must be a string"));
            }
        }
        (Kind::StringArrayMax(max), Value::Array(items)) => {
            if items.len() > max {
                errors.push(format!("{name} must contain no more than {max} elements"));
            }
            if items.iter().any(|v| !v.is_string()) {
                errors.push(format!("each value in {name} must be a string"));
            }
        }
        (Kind::Object(fields), Value::Object(object)) => {
            check_object(object, fields, &format!("{name}."), errors);
        }
        (Kind::ObjectArray(fields), Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                match item {
                    Value::Object(object) => {
                        check_object(object, fields, &format!("{name}.{i}."), errors)
                    }
                    _ => errors.push(format!("each value in {name} must be an object")),
                }
            }
        }
        (Kind::QueryInt { min, max }, Value::String(s)) => match s.trim().parse::<i64>() {
            Ok(n) if n < min => errors.push(format!("{name} must not be less than {min}")),
            Ok(n) if n > max => errors.push(format!("{name} must not be greater than {max}")),
            Ok(_) => {}
            Err(_) => errors.extend(wrong_type()),
        },
        _ => errors.extend(wrong_type()),
    }
}

/// The shape check class-validator's `@IsEmail` makes, reduced to what matters here: one `@`,
/// a non-empty local part, and a dotted domain without spaces.
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && !local.contains(char::is_whitespace)
        && !local.contains('@')
        && !domain.contains(char::is_whitespace)
        && !domain.contains('@')
        && domain.split('.').count() >= 2
        && domain.split('.').all(|label| {
            !label.is_empty() && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
}

/// The body's bytes; one over the route's limit is HighLevel's JSON 413, anything else that
/// cannot be read a 400.
pub struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> ApiResult<Self> {
        Bytes::from_request(request, state)
            .await
            .map(RawBody)
            .map_err(|rejection| {
                if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::PayloadTooLarge
                } else {
                    ApiError::bad_request(rejection.body_text())
                }
            })
    }
}

/// A validated JSON body. An empty body counts as `{}`, as Express leaves it; a body that is not
/// JSON is a 400, as body-parser answers.
pub struct Body<T>(pub T);

impl<T: Schema> FromRequest<AppState> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> ApiResult<Self> {
        let auth = request.extensions().get::<Auth>().cloned();
        let RawBody(bytes) = RawBody::from_request(request, state).await?;
        let object = parse_object(&bytes)?;
        finish(object, auth.as_ref()).map(Body)
    }
}

/// A validated `application/x-www-form-urlencoded` body, as HighLevel's OAuth endpoints take;
/// a JSON body is read too, as a convenience for hand-written clients.
pub struct Form<T>(pub T);

impl<T: Schema> FromRequest<AppState> for Form<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> ApiResult<Self> {
        let is_json = request
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim_start().starts_with("application/json"));
        if is_json {
            return Body::<T>::from_request(request, state)
                .await
                .map(|Body(t)| Form(t));
        }
        let RawBody(bytes) = RawBody::from_request(request, state).await?;
        let object: Map<String, Value> = form_urlencoded::parse(&bytes)
            .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
            .collect();
        finish(object, None).map(Form)
    }
}

fn parse_object(bytes: &[u8]) -> ApiResult<Map<String, Value>> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(ApiError::bad_request("Request body must be a JSON object")),
        Err(e) => Err(ApiError::bad_request(format!(
            "Unexpected token in JSON at line {} column {}",
            e.line(),
            e.column()
        ))),
    }
}

/// Location guard, then validation, then the typed value.
fn finish<T: Schema>(object: Map<String, Value>, auth: Option<&Auth>) -> ApiResult<T> {
    if T::HAS_LOCATION {
        if let (Some(auth), Some(Value::String(location_id))) = (auth, object.get("locationId")) {
            auth.check_location(location_id)?;
        }
    }
    let errors = validate(&object, T::FIELDS);
    if !errors.is_empty() {
        return Err(ApiError::Unprocessable(errors));
    }
    let object = Value::Object(coerce_query_ints(object, T::FIELDS));
    serde_json::from_value(object).map_err(|e| ApiError::unprocessable(e.to_string()))
}

/// Query integers arrive as strings; once validated they become numbers for the typed struct.
fn coerce_query_ints(mut object: Map<String, Value>, fields: &[Field]) -> Map<String, Value> {
    for field in fields {
        if let Kind::QueryInt { .. } = field.kind {
            if let Some(Value::String(s)) = object.get(field.name) {
                if let Ok(n) = s.trim().parse::<i64>() {
                    object.insert(field.name.to_owned(), Value::from(n));
                }
            }
        }
    }
    object
}

/// A validated query string: unknown parameters are rejected like unknown body properties.
pub struct QueryParams<T>(pub T);

impl<T: Schema> FromRequestParts<AppState> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &AppState) -> ApiResult<Self> {
        let query = parts.uri.query().unwrap_or("");
        let object: Map<String, Value> = form_urlencoded::parse(query.as_bytes())
            .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
            .collect();
        let auth = parts.extensions.get::<Auth>();
        finish(object, auth).map(QueryParams)
    }
}

/// For operations that take no query parameters: any parameter is a 422.
#[derive(serde::Deserialize)]
pub struct NoParams {}

impl Schema for NoParams {
    const FIELDS: &'static [Field] = &[];
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NESTED: &[Field] = &[required("status", Kind::OneOf(&["active", "inactive"]))];
    const FIELDS: &[Field] = &[
        required("title", Kind::String),
        optional("done", Kind::Bool),
        optional("email", Kind::Email),
        optional("tags", Kind::StringArray),
        optional("due", Kind::DateTime),
        optional("dnd", Kind::Object(NESTED)),
        optional("limit", Kind::QueryInt { min: 1, max: 100 }),
        optional("position", Kind::Number),
        optional("ids", Kind::StringArrayMax(2)),
    ];

    fn errors(v: Value) -> Vec<String> {
        validate(v.as_object().unwrap(), FIELDS)
    }

    #[test]
    fn valid_input_passes() {
        assert!(errors(
            json!({"title":"t","done":true,"email":"a@b.co","tags":["x"],
            "due":"2020-10-25T11:00:00Z","dnd":{"status":"active"},"limit":"5","position":1.5})
        )
        .is_empty());
        assert!(errors(json!({"title":"t","done":null,"email":null})).is_empty());
    }

    #[test]
    fn messages_are_class_validators() {
        assert_eq!(
            errors(json!({})),
            vec!["title should not be empty", "title must be a string"]
        );
        assert_eq!(
            errors(json!({"title":" "})),
            vec!["title should not be empty"]
        );
        assert_eq!(errors(json!({"title":1})), vec!["title must be a string"]);
        assert_eq!(
            errors(json!({"title":"t","x":1})),
            vec!["property x should not exist"]
        );
        assert_eq!(
            errors(json!({"title":"t","done":"yes"})),
            vec!["done must be a boolean value"]
        );
        assert_eq!(
            errors(json!({"title":"t","email":"nope"})),
            vec!["email must be an email"]
        );
        assert_eq!(
            errors(json!({"title":"t","tags":"a"})),
            vec![
                "each value in tags must be a string",
                "tags must be an array"
            ]
        );
        assert_eq!(
            errors(json!({"title":"t","tags":["a",1]})),
            vec!["each value in tags must be a string"]
        );
        assert_eq!(
            errors(json!({"title":"t","due":"soon"})),
            vec!["due must be a valid ISO 8601 date string"]
        );
        assert_eq!(
            errors(json!({"title":"t","dnd":{"status":"on","y":1}})),
            vec![
                "dnd.property y should not exist",
                "dnd.status must be one of the following values: active, inactive"
            ]
        );
        assert_eq!(
            errors(json!({"title":"t","limit":"500"})),
            vec!["limit must not be greater than 100"]
        );
        assert_eq!(
            errors(json!({"title":"t","position":"1"})),
            vec!["position must be a number conforming to the specified constraints"]
        );
        assert_eq!(
            errors(json!({"title":"t","ids":["a","b",3]})),
            vec![
                "ids must contain no more than 2 elements",
                "each value in ids must be a string"
            ]
        );
        assert!(errors(json!({"title":"t","ids":["a","b"]})).is_empty());
        assert_eq!(
            errors(json!({"title":"t","limit":"ten"})),
            vec!["limit must be a number conforming to the specified constraints"]
        );
    }

    #[test]
    fn emails() {
        for good in ["a@b.co", "first.last+tag@sub.example.com"] {
            assert!(is_email(good), "{good}");
        }
        for bad in [
            "", "a", "a@", "@b.co", "a@b", "a b@c.co", "a@b..co", "a@@b.co",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
    }

    #[test]
    fn bodies_must_be_json_objects() {
        assert!(parse_object(b"").unwrap().is_empty());
        assert!(parse_object(b"  \n").unwrap().is_empty());
        assert!(parse_object(b"{\"a\":1}").is_ok());
        assert!(matches!(
            parse_object(b"{bad"),
            Err(ApiError::BadRequest(_))
        ));
        assert!(matches!(parse_object(b"[1]"), Err(ApiError::BadRequest(_))));
    }
}
