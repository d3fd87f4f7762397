//! Custom field values: what each data type accepts (dossier §2.4), refused in class-validator's
//! words naming the field, and the value stored. Pure: `api::custom_fields` loads the
//! definitions and stores the result.

use hilo_types::contacts::CustomFieldValue;
use serde_json::{Map, Number, Value};

use crate::time::parse_birth_date;

/// HighLevel's custom field data types (spec: `custom-fields.json` `dataType`; `MONETORY` sic).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataType {
    Text,
    LargeText,
    Numerical,
    Phone,
    Monetory,
    Checkbox,
    SingleOptions,
    MultipleOptions,
    Date,
    TextboxList,
    FileUpload,
    Radio,
    Email,
}

impl DataType {
    pub const ALL: [DataType; 13] = [
        DataType::Text,
        DataType::LargeText,
        DataType::Numerical,
        DataType::Phone,
        DataType::Monetory,
        DataType::Checkbox,
        DataType::SingleOptions,
        DataType::MultipleOptions,
        DataType::Date,
        DataType::TextboxList,
        DataType::FileUpload,
        DataType::Radio,
        DataType::Email,
    ];

    /// The names, in the order of [`DataType::ALL`], for the request field tables.
    pub const NAMES: &'static [&'static str] = &[
        "TEXT",
        "LARGE_TEXT",
        "NUMERICAL",
        "PHONE",
        "MONETORY",
        "CHECKBOX",
        "SINGLE_OPTIONS",
        "MULTIPLE_OPTIONS",
        "DATE",
        "TEXTBOX_LIST",
        "FILE_UPLOAD",
        "RADIO",
        "EMAIL",
    ];

    pub fn as_str(self) -> &'static str {
        let index = DataType::ALL
            .iter()
            .position(|t| *t == self)
            .unwrap_or_default();
        DataType::NAMES[index]
    }

    pub fn parse(s: &str) -> Option<DataType> {
        DataType::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// What a value is checked against: the parts of a definition that constrain it.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldDef {
    pub id: String,
    /// `contact.<key>`: how messages name the field.
    pub field_key: String,
    pub data_type: DataType,
    /// The choices of an option type; none means any string.
    pub options: Vec<String>,
    /// The row ids of a `TEXTBOX_LIST` field.
    pub rows: Vec<String>,
    pub multiple_files: bool,
    pub max_files: Option<i64>,
}

/// The value to store for `value`, or every constraint it fails. `Ok(None)` clears the field:
/// `null` and `""` do. `country` reads phone numbers without a `+` prefix.
pub fn check_value(
    def: &FieldDef,
    value: &Value,
    country: &str,
) -> Result<Option<Value>, Vec<String>> {
    let key = def.field_key.as_str();
    match value {
        Value::Null => return Ok(None),
        Value::String(s) if s.trim().is_empty() => return Ok(None),
        _ => {}
    }
    let one = |message: String| Err(vec![message]);
    match def.data_type {
        DataType::Text | DataType::LargeText => match value {
            Value::String(_) => Ok(Some(value.clone())),
            _ => one(format!("{key} must be a string")),
        },
        DataType::Email => match value {
            Value::String(s) if crate::validate::is_email(s.trim()) => {
                Ok(Some(Value::from(s.trim())))
            }
            _ => one(format!("{key} must be an email")),
        },
        DataType::Phone => match value {
            Value::String(s) if is_phone(s, country) => Ok(Some(Value::from(s.trim()))),
            _ => one(format!("{key} must be a valid phone number")),
        },
        DataType::Numerical => match number(value, false) {
            Some(n) => Ok(Some(n)),
            None => one(format!("{key} must be a number")),
        },
        // A bare number; thousands separators are dropped, as HighLevel does on save.
        DataType::Monetory => match number(value, true) {
            Some(n) => Ok(Some(n)),
            None => one(format!("{key} must be a number")),
        },
        DataType::SingleOptions | DataType::Radio => match value {
            Value::String(s) if is_option(def, s) => Ok(Some(value.clone())),
            Value::String(_) => one(format!(
                "{key} must be one of the following values: {}",
                def.options.join(", ")
            )),
            _ => one(format!("{key} must be a string")),
        },
        DataType::Checkbox | DataType::MultipleOptions => {
            let Value::Array(items) = value else {
                return Err(vec![
                    format!("each value in {key} must be a string"),
                    format!("{key} must be an array"),
                ]);
            };
            let mut chosen: Vec<Value> = Vec::new();
            let mut errors = Vec::new();
            for item in items {
                match item {
                    Value::String(s) if is_option(def, s) => {
                        if !chosen.contains(item) {
                            chosen.push(item.clone());
                        }
                    }
                    Value::String(_) => {
                        let message = format!(
                            "each value in {key} must be one of the following values: {}",
                            def.options.join(", ")
                        );
                        if !errors.contains(&message) {
                            errors.push(message);
                        }
                    }
                    _ => {
                        let message = format!("each value in {key} must be a string");
                        if !errors.contains(&message) {
                            errors.push(message);
                        }
                    }
                }
            }
            match (errors.is_empty(), chosen.is_empty()) {
                (false, _) => Err(errors),
                (true, true) => Ok(None),
                (true, false) => Ok(Some(Value::Array(chosen))),
            }
        }
        // Stored as written: an ISO date (or date-time) string, or epoch milliseconds.
        DataType::Date => match value {
            Value::String(s) if parse_birth_date(s).is_some() => Ok(Some(Value::from(s.trim()))),
            Value::Number(n) if n.is_i64() => Ok(Some(value.clone())),
            _ => one(format!("{key} must be a valid ISO 8601 date string")),
        },
        // Keyed by the field's row ids; other keys are dropped, as HighLevel ignores them.
        DataType::TextboxList => {
            let Value::Object(rows) = value else {
                return one(format!("{key} must be an object"));
            };
            if rows.values().any(|v| !v.is_string()) {
                return one(format!("each value in {key} must be a string"));
            }
            let kept: Map<String, Value> = rows
                .iter()
                .filter(|(id, _)| def.rows.contains(id))
                .map(|(id, v)| (id.clone(), v.clone()))
                .collect();
            Ok((!kept.is_empty()).then_some(Value::Object(kept)))
        }
        // One file `{url, meta}`, or files keyed by their UUIDs, each `{meta, url, documentId}`.
        DataType::FileUpload => {
            let Value::Object(files) = value else {
                return one(format!("{key} must be an object"));
            };
            let mut errors = Vec::new();
            let count = if files.contains_key("url") {
                if !files["url"].is_string() {
                    errors.push(format!("{key}.url must be a string"));
                }
                1
            } else {
                for (uuid, file) in files {
                    if !file.get("url").is_some_and(Value::is_string) {
                        errors.push(format!("{key}.{uuid}.url must be a string"));
                    }
                }
                files.len()
            };
            let limit = if def.multiple_files {
                def.max_files
            } else {
                Some(1)
            };
            if let Some(limit) = limit {
                if i64::try_from(count).unwrap_or(i64::MAX) > limit {
                    errors.push(format!("{key} must contain no more than {limit} elements"));
                }
            }
            if errors.is_empty() {
                Ok((count > 0).then(|| value.clone()))
            } else {
                Err(errors)
            }
        }
    }
}

fn is_option(def: &FieldDef, s: &str) -> bool {
    def.options.is_empty() || def.options.iter().any(|o| o == s)
}

/// A JSON number, or a string that reads as one (with `,` separators when `commas`).
fn number(value: &Value, commas: bool) -> Option<Value> {
    match value {
        Value::Number(_) => Some(value.clone()),
        Value::String(s) => {
            let s: String = s
                .trim()
                .chars()
                .filter(|c| !(commas && *c == ','))
                .collect();
            if let Ok(n) = s.parse::<i64>() {
                return Some(Value::from(n));
            }
            let f = s.parse::<f64>().ok().filter(|f| f.is_finite())?;
            Number::from_f64(f).map(Value::Number)
        }
        _ => None,
    }
}

/// Whether `s` parses as a phone number, read in `country` when it has no `+` prefix.
fn is_phone(s: &str, country: &str) -> bool {
    let country = country.trim().to_uppercase().parse().ok();
    phonenumber::parse(country, s.trim()).is_ok_and(|n| n.national().value() >= 1000)
}

/// The key part of a field key: lower case, runs of anything but letters and digits made one
/// `_` (`"Pin Code"` → `pin_code`).
pub fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.trim().to_lowercase().chars() {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
    }
    let out = out.trim_end_matches('_');
    if out.is_empty() {
        "field".to_owned()
    } else {
        out.to_owned()
    }
}

/// The field key of a new field of `model`: from `explicit` when given (with or without the
/// `model.` prefix), else from its name.
pub fn new_field_key(model: &str, explicit: Option<&str>, name: &str) -> String {
    let prefix = format!("{model}.");
    let base = match explicit.map(str::trim).filter(|k| !k.is_empty()) {
        Some(key) => key.strip_prefix(&prefix).unwrap_or(key),
        None => name,
    };
    format!("{prefix}{}", slug(base))
}

/// A `key` as a contact's custom field input gives it, as the field key it names: with or
/// without the `contact.` prefix.
pub fn contact_field_key(key: &str) -> String {
    let key = key.trim().to_lowercase();
    if key.starts_with("contact.") {
        key
    } else {
        format!("contact.{key}")
    }
}

/// Applies `changes` (field id, new value or `None` to clear) to `current`: a changed field keeps
/// its place, a new one goes last, and the fields not named keep their values.
pub fn merge(
    mut current: Vec<CustomFieldValue>,
    changes: Vec<(String, Option<Value>)>,
) -> Vec<CustomFieldValue> {
    for (id, value) in changes {
        match (current.iter().position(|f| f.id == id), value) {
            (Some(i), Some(value)) => current[i].value = value,
            (Some(i), None) => {
                current.remove(i);
            }
            (None, Some(value)) => current.push(CustomFieldValue { id, value }),
            (None, None) => {}
        }
    }
    current
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn def(data_type: DataType) -> FieldDef {
        FieldDef {
            id: "f".into(),
            field_key: "contact.f".into(),
            data_type,
            options: Vec::new(),
            rows: Vec::new(),
            multiple_files: false,
            max_files: None,
        }
    }

    fn with_options(data_type: DataType) -> FieldDef {
        FieldDef {
            options: vec!["Red".into(), "Blue".into()],
            ..def(data_type)
        }
    }

    fn ok(d: &FieldDef, v: Value) -> Value {
        check_value(d, &v, "US")
            .unwrap_or_else(|e| panic!("{v}: {e:?}"))
            .unwrap_or(Value::Null)
    }

    fn err(d: &FieldDef, v: Value) -> Vec<String> {
        check_value(d, &v, "US").expect_err(&v.to_string())
    }

    #[test]
    fn names_round_trip() {
        for t in DataType::ALL {
            assert_eq!(DataType::parse(t.as_str()), Some(t));
        }
        assert_eq!(DataType::parse("MONETARY"), None);
        assert_eq!(DataType::Monetory.as_str(), "MONETORY");
    }

    #[test]
    fn text_types_take_strings() {
        for t in [DataType::Text, DataType::LargeText] {
            assert_eq!(ok(&def(t), json!("My Text")), json!("My Text"));
            assert_eq!(err(&def(t), json!(5)), vec!["contact.f must be a string"]);
            assert_eq!(
                err(&def(t), json!(["a"])),
                vec!["contact.f must be a string"]
            );
        }
    }

    #[test]
    fn null_and_empty_clear() {
        for t in DataType::ALL {
            assert_eq!(check_value(&def(t), &Value::Null, "US"), Ok(None));
            assert_eq!(check_value(&def(t), &json!(" "), "US"), Ok(None));
        }
    }

    #[test]
    fn numbers() {
        let n = def(DataType::Numerical);
        assert_eq!(ok(&n, json!(100)), json!(100));
        assert_eq!(ok(&n, json!(2.5)), json!(2.5));
        assert_eq!(ok(&n, json!(" 42 ")), json!(42));
        assert_eq!(err(&n, json!("1,000")), vec!["contact.f must be a number"]);
        assert_eq!(err(&n, json!(true)), vec!["contact.f must be a number"]);
        let m = def(DataType::Monetory);
        assert_eq!(ok(&m, json!(100.5)), json!(100.5));
        assert_eq!(ok(&m, json!("1,234.50")), json!(1234.5));
        assert_eq!(
            err(&m, json!({"currency": "USD", "value": 1})),
            vec!["contact.f must be a number"]
        );
        assert_eq!(err(&m, json!("NaN")), vec!["contact.f must be a number"]);
    }

    #[test]
    fn phones_and_emails() {
        let p = def(DataType::Phone);
        assert_eq!(ok(&p, json!("+1 202-555-0143")), json!("+1 202-555-0143"));
        assert_eq!(ok(&p, json!("(202) 555-0143")), json!("(202) 555-0143"));
        assert_eq!(
            err(&p, json!("call me")),
            vec!["contact.f must be a valid phone number"]
        );
        assert_eq!(
            err(&p, json!(2025550143)),
            vec!["contact.f must be a valid phone number"]
        );
        let e = def(DataType::Email);
        assert_eq!(ok(&e, json!(" a@b.co ")), json!("a@b.co"));
        assert_eq!(err(&e, json!("nope")), vec!["contact.f must be an email"]);
    }

    #[test]
    fn single_choices() {
        for t in [DataType::SingleOptions, DataType::Radio] {
            let d = with_options(t);
            assert_eq!(ok(&d, json!("Red")), json!("Red"));
            assert_eq!(
                err(&d, json!("Green")),
                vec!["contact.f must be one of the following values: Red, Blue"]
            );
            assert_eq!(err(&d, json!(1)), vec!["contact.f must be a string"]);
            // Without options, any string.
            assert_eq!(ok(&def(t), json!("Anything")), json!("Anything"));
        }
    }

    #[test]
    fn multiple_choices() {
        for t in [DataType::Checkbox, DataType::MultipleOptions] {
            let d = with_options(t);
            assert_eq!(
                ok(&d, json!(["Blue", "Red", "Blue"])),
                json!(["Blue", "Red"])
            );
            assert_eq!(check_value(&d, &json!([]), "US"), Ok(None));
            assert_eq!(
                err(&d, json!("Red")),
                vec![
                    "each value in contact.f must be a string",
                    "contact.f must be an array"
                ]
            );
            assert_eq!(
                err(&d, json!(["Red", 1, "Green"])),
                vec![
                    "each value in contact.f must be a string",
                    "each value in contact.f must be one of the following values: Red, Blue"
                ]
            );
        }
    }

    #[test]
    fn dates_are_kept_as_written() {
        let d = def(DataType::Date);
        assert_eq!(ok(&d, json!("2024-02-29")), json!("2024-02-29"));
        assert_eq!(
            ok(&d, json!("2024-02-29T10:00:00.000Z")),
            json!("2024-02-29T10:00:00.000Z")
        );
        assert_eq!(
            ok(&d, json!(1_709_164_800_000_i64)),
            json!(1_709_164_800_000_i64)
        );
        for bad in [json!("2023-02-29"), json!("soon"), json!(1.5), json!(true)] {
            assert_eq!(
                err(&d, bad),
                vec!["contact.f must be a valid ISO 8601 date string"]
            );
        }
    }

    #[test]
    fn textbox_lists_keep_known_rows() {
        let d = FieldDef {
            rows: vec!["r1".into(), "r2".into()],
            ..def(DataType::TextboxList)
        };
        assert_eq!(
            ok(&d, json!({"r1": "a", "zz": "ignored"})),
            json!({"r1": "a"})
        );
        assert_eq!(check_value(&d, &json!({"zz": "x"}), "US"), Ok(None));
        assert_eq!(err(&d, json!("a")), vec!["contact.f must be an object"]);
        assert_eq!(
            err(&d, json!({"r1": 1})),
            vec!["each value in contact.f must be a string"]
        );
    }

    #[test]
    fn files() {
        let file = |n: u32| json!({"meta": {"originalname": format!("f{n}.pdf")}, "url": format!("https://x/{n}"), "documentId": "d"});
        let single = def(DataType::FileUpload);
        let bare = json!({"url": "https://x/1", "meta": {}});
        assert_eq!(ok(&single, bare.clone()), bare);
        let one = json!({"u1": file(1)});
        assert_eq!(ok(&single, one.clone()), one);
        assert_eq!(
            err(&single, json!({"u1": file(1), "u2": file(2)})),
            vec!["contact.f must contain no more than 1 elements"]
        );
        let multi = FieldDef {
            multiple_files: true,
            max_files: Some(2),
            ..def(DataType::FileUpload)
        };
        assert_eq!(
            ok(&multi, json!({"u1": file(1), "u2": file(2)})),
            json!({"u1": file(1), "u2": file(2)})
        );
        assert_eq!(
            err(&multi, json!({"u1": file(1), "u2": file(2), "u3": file(3)})),
            vec!["contact.f must contain no more than 2 elements"]
        );
        assert_eq!(
            err(&multi, json!({"u1": {"meta": {}}})),
            vec!["contact.f.u1.url must be a string"]
        );
        assert_eq!(
            err(&multi, json!(["https://x"])),
            vec!["contact.f must be an object"]
        );
    }

    #[test]
    fn field_keys() {
        assert_eq!(slug("Pin Code"), "pin_code");
        assert_eq!(slug("  Über -- Größe! "), "über_größe");
        assert_eq!(slug("!!!"), "field");
        assert_eq!(
            new_field_key("contact", None, "Pin Code"),
            "contact.pin_code"
        );
        assert_eq!(
            new_field_key("opportunity", Some("deal_size"), "x"),
            "opportunity.deal_size"
        );
        assert_eq!(
            new_field_key("contact", Some("contact.Test Field"), "x"),
            "contact.test_field"
        );
        assert_eq!(contact_field_key("my_field"), "contact.my_field");
        assert_eq!(contact_field_key("Contact.My_Field"), "contact.my_field");
    }

    #[test]
    fn merge_keeps_unnamed_fields_and_places() {
        let v = |id: &str, value: Value| CustomFieldValue {
            id: id.into(),
            value,
        };
        let current = vec![v("a", json!("1")), v("b", json!("2")), v("c", json!(3))];
        let merged = merge(
            current,
            vec![
                ("b".into(), Some(json!("two"))),
                ("a".into(), None),
                ("d".into(), Some(json!(["x"]))),
                ("e".into(), None),
            ],
        );
        assert_eq!(
            merged,
            vec![v("b", json!("two")), v("c", json!(3)), v("d", json!(["x"]))]
        );
    }
}
