//! HighLevel's webhook events that hilo emits: their names, the scope an app needs to receive
//! each (`docs/oauth/Scopes.md`, event column), and their payloads, field for field as the
//! event docs (`docs/webhook-events/*.md`) and the contacts dossier §6 give them.

use serde::Serialize;
use serde_json::{Map, Value};

/// An event kind, named as HighLevel names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    ContactCreate,
    ContactUpdate,
    ContactDelete,
    ContactTagUpdate,
    ContactDndUpdate,
    NoteCreate,
    NoteUpdate,
    NoteDelete,
    TaskCreate,
    TaskComplete,
    TaskDelete,
    AppInstall,
    AppUninstall,
    LocationCreate,
    LocationUpdate,
}

impl EventKind {
    pub const ALL: [EventKind; 15] = [
        EventKind::ContactCreate,
        EventKind::ContactUpdate,
        EventKind::ContactDelete,
        EventKind::ContactTagUpdate,
        EventKind::ContactDndUpdate,
        EventKind::NoteCreate,
        EventKind::NoteUpdate,
        EventKind::NoteDelete,
        EventKind::TaskCreate,
        EventKind::TaskComplete,
        EventKind::TaskDelete,
        EventKind::AppInstall,
        EventKind::AppUninstall,
        EventKind::LocationCreate,
        EventKind::LocationUpdate,
    ];

    /// The event's name, as in the docs' file names and Scopes.md.
    pub fn name(self) -> &'static str {
        match self {
            EventKind::ContactCreate => "ContactCreate",
            EventKind::ContactUpdate => "ContactUpdate",
            EventKind::ContactDelete => "ContactDelete",
            EventKind::ContactTagUpdate => "ContactTagUpdate",
            EventKind::ContactDndUpdate => "ContactDndUpdate",
            EventKind::NoteCreate => "NoteCreate",
            EventKind::NoteUpdate => "NoteUpdate",
            EventKind::NoteDelete => "NoteDelete",
            EventKind::TaskCreate => "TaskCreate",
            EventKind::TaskComplete => "TaskComplete",
            EventKind::TaskDelete => "TaskDelete",
            EventKind::AppInstall => "AppInstall",
            EventKind::AppUninstall => "AppUninstall",
            EventKind::LocationCreate => "LocationCreate",
            EventKind::LocationUpdate => "LocationUpdate",
        }
    }

    pub fn from_name(name: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The payload's `type`: the name, except for the app events, whose documented payloads
    /// say `INSTALL` and `UNINSTALL` (and the official SDK switches on those).
    pub fn wire_type(self) -> &'static str {
        match self {
            EventKind::AppInstall => "INSTALL",
            EventKind::AppUninstall => "UNINSTALL",
            other => other.name(),
        }
    }

    /// The scope an installed app needs to receive the event; `None` for the app events, which
    /// go to the app installed or uninstalled whatever its scopes.
    ///
    /// Scopes.md lists ContactCreate, ContactDelete, ContactDndUpdate, ContactTagUpdate,
    /// NoteCreate, NoteDelete, TaskCreate and TaskDelete under `contacts.readonly`, and
    /// LocationCreate and LocationUpdate under `locations.readonly`. It omits ContactUpdate,
    /// NoteUpdate and TaskComplete; they are the same resources' events, so the same scope.
    pub fn scope(self) -> Option<&'static str> {
        match self {
            EventKind::AppInstall | EventKind::AppUninstall => None,
            EventKind::LocationCreate | EventKind::LocationUpdate => Some("locations.readonly"),
            _ => Some("contacts.readonly"),
        }
    }

    /// Whether the payload carries `locationId` right after `type` (the location and app
    /// events name their location their own way, or not at all).
    fn has_location_field(self) -> bool {
        !matches!(
            self,
            EventKind::AppInstall
                | EventKind::AppUninstall
                | EventKind::LocationCreate
                | EventKind::LocationUpdate
        )
    }
}

/// Who receives an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    /// Every app installed on the location or on its agency whose scopes cover the event.
    Location(String),
    /// Every app installed on the agency itself whose scopes cover the event.
    Agency(String),
    /// One app (the app events).
    App(String),
}

/// An event to deliver: what happened, and to whom.
#[derive(Debug, Clone)]
pub struct Event {
    pub kind: EventKind,
    pub audience: Audience,
    /// The location the event is about (`None` for agency-level events).
    pub location_id: Option<String>,
    /// The payload without the delivery envelope (`appId`, `timestamp`, `webhookId`).
    pub payload: Map<String, Value>,
}

impl Event {
    /// An event of a location's resource (contact, note, task), for the location's apps.
    pub fn of_location(kind: EventKind, location_id: &str, fields: &impl Serialize) -> Event {
        Event {
            kind,
            audience: Audience::Location(location_id.to_owned()),
            location_id: Some(location_id.to_owned()),
            payload: payload(kind, Some(location_id), fields),
        }
    }

    /// An app event (`AppInstall`, `AppUninstall`), for that app alone.
    pub fn for_app(
        kind: EventKind,
        app_id: &str,
        location_id: Option<&str>,
        fields: &impl Serialize,
    ) -> Event {
        Event {
            kind,
            audience: Audience::App(app_id.to_owned()),
            location_id: location_id.map(str::to_owned),
            payload: payload(kind, None, fields),
        }
    }

    /// `LocationCreate` (agency apps only, as documented) or `LocationUpdate` (agency apps and
    /// the location's own).
    pub fn of_location_itself(kind: EventKind, fields: &LocationFields) -> Event {
        let audience = match kind {
            EventKind::LocationCreate => Audience::Agency(fields.company_id.clone()),
            _ => Audience::Location(fields.id.clone()),
        };
        Event {
            kind,
            audience,
            location_id: Some(fields.id.clone()),
            payload: payload(kind, None, fields),
        }
    }
}

/// `type`, then `locationId` (for the resource events), then the fields in their order.
fn payload(
    kind: EventKind,
    location_id: Option<&str>,
    fields: &impl Serialize,
) -> Map<String, Value> {
    let mut map = Map::new();
    map.insert("type".to_owned(), Value::from(kind.wire_type()));
    if let (true, Some(location_id)) = (kind.has_location_field(), location_id) {
        map.insert("locationId".to_owned(), Value::from(location_id));
    }
    if let Ok(Value::Object(fields)) = serde_json::to_value(fields) {
        map.extend(fields);
    }
    map
}

/// The contact events' fields (ContactCreate.md and its siblings), in the docs' order. Absent
/// values are left out, as in `GET /contacts/{id}`.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactFields {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address1: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    pub date_added: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_of_birth: Option<String>,
    pub dnd: bool,
    /// Only in ContactDndUpdate (and never `inboundDndSettings`: dossier §6.1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dnd_settings: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    pub tags: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    /// hilo stores no attachments; the docs always show the key.
    pub attachments: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assigned_to: Option<String>,
    pub custom_fields: Vec<Value>,
}

/// The note events' fields: a fixed allow-list (`userId`, `title` are not sent; dossier §6.2).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NoteFields {
    pub id: String,
    pub body: String,
    pub contact_id: String,
    pub date_added: String,
}

/// The task events' fields (dossier §6.3).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskFields {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assigned_to: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    pub contact_id: String,
    pub title: String,
    pub date_added: String,
    pub due_date: String,
}

/// `AppInstall` (AppInstall.md): location installs name the location; agency installs do not.
/// hilo has no plans, trials or white-labelling, so `planId` and `trial` are left out.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppInstallFields {
    pub app_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location_id: Option<String>,
    pub company_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    pub is_whitelabel_company: bool,
    pub company_name: String,
}

/// `AppUninstall` (AppUninstall.md): `locationId` for a location, `companyId` for an agency.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppUninstallFields {
    pub app_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location_id: Option<String>,
}

/// `LocationCreate`/`LocationUpdate` (hilo keeps no location email or Stripe product).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LocationFields {
    pub id: String,
    pub company_id: String,
    pub name: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (scope, event) for every event named in Scopes.md's event column.
    fn scopes_md_events() -> Vec<(String, String)> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/spec/highlevel/docs/oauth/Scopes.md"
        );
        let text = std::fs::read_to_string(path).expect("Scopes.md");
        let mut scope = String::new();
        let mut out = Vec::new();
        for line in text.lines().filter(|l| l.starts_with('|')) {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let (Some(first), Some(event)) = (cells.get(1), cells.get(3)) else {
                continue;
            };
            if first.contains('.') {
                scope = (*first).to_owned();
            }
            if !event.is_empty() && *event != "&nbsp;" && !event.starts_with('-') {
                out.push((scope.clone(), (*event).to_owned()));
            }
        }
        out
    }

    #[test]
    fn scopes_follow_scopes_md() {
        let listed = scopes_md_events();
        assert!(listed.len() > 10, "Scopes.md parsed: {listed:?}");
        for kind in EventKind::ALL {
            match listed.iter().find(|(_, event)| event == kind.name()) {
                Some((scope, _)) => assert_eq!(kind.scope(), Some(scope.as_str()), "{kind:?}"),
                // Not in Scopes.md: the events whose scope the code documents itself. Should
                // the table add one of them, this fails and the code follows the table.
                None => assert!(
                    matches!(
                        kind,
                        EventKind::ContactUpdate
                            | EventKind::NoteUpdate
                            | EventKind::TaskComplete
                            | EventKind::AppInstall
                            | EventKind::AppUninstall
                    ),
                    "{kind:?} is missing from Scopes.md"
                ),
            }
        }
    }

    #[test]
    fn names_round_trip_and_app_events_use_their_documented_type() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::from_name(kind.name()), Some(kind));
        }
        assert_eq!(EventKind::AppInstall.wire_type(), "INSTALL");
        assert_eq!(EventKind::AppUninstall.wire_type(), "UNINSTALL");
        assert_eq!(EventKind::NoteCreate.wire_type(), "NoteCreate");
    }

    #[test]
    fn payloads_start_with_type_and_location() {
        let note = NoteFields {
            id: "n".into(),
            body: "b".into(),
            contact_id: "c".into(),
            date_added: "2021-11-26T12:41:02.193Z".into(),
        };
        let event = Event::of_location(EventKind::NoteCreate, "loc", &note);
        let keys: Vec<&str> = event.payload.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            ["type", "locationId", "id", "body", "contactId", "dateAdded"]
        );
        let location = LocationFields {
            id: "loc".into(),
            company_id: "co".into(),
            name: "Main".into(),
        };
        let event = Event::of_location_itself(EventKind::LocationCreate, &location);
        assert_eq!(event.audience, Audience::Agency("co".into()));
        assert!(!event.payload.contains_key("locationId"));
    }
}
