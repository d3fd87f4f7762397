//! The contract around every call, generated from the endpoint table so that a new endpoint is
//! covered as soon as it has a row: Version header, token, scope, location, query and body
//! hygiene, the spec's success status, and that a refused request writes nothing. Every row is
//! called with every kind of token, and the agency rows with too few scopes and with another
//! agency's tokens.

use std::sync::OnceLock;

use hilo_server::api::{campaigns, workflows};
use hilo_server::endpoints::{Access, Endpoint, Operation, Scope, TokenKind, ENDPOINTS};
use hilo_server::oauth::apps::Distribution;
use hilo_server::oauth::grants::InstallTarget;
use hilo_server::tenancy::{self, TokenOwner};
use hilo_server::users;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::harness::TestServer;
use crate::oauth::{app, authorize, authorize_scoped, exchange, TestApp};
use crate::on_both;

/// Every kind of bearer token HighLevel issues.
const TOKEN_KINDS: [TokenKind; 4] = [
    TokenKind::LocationPrivate,
    TokenKind::AgencyPrivate,
    TokenKind::LocationOAuth,
    TokenKind::CompanyOAuth,
];

const SCOPE_MISSING: &str = "The token is not authorized for this scope.";
const WRONG_COMPANY: &str = "The token does not have access to this company.";

/// The operations Sub-Account tokens call; the agency and marketplace operations are covered
/// by the token-kind, scope and cross-agency matrices below.
fn sub_account_endpoints() -> impl Iterator<Item = &'static Endpoint> {
    ENDPOINTS.iter().filter(|e| e.access == Access::SUB_ACCOUNT)
}

/// The operations an agency token (private or OAuth) may call.
fn agency_endpoints() -> impl Iterator<Item = &'static Endpoint> {
    ENDPOINTS.iter().filter(|e| {
        e.access.accepts(TokenKind::AgencyPrivate) || e.access.accepts(TokenKind::CompanyOAuth)
    })
}

/// Records of the main location that the sample requests point at, and an agency app holding
/// every scope (not installed until [`install`]).
struct Fixture {
    contact: String,
    task: String,
    note: String,
    business: String,
    custom_field: String,
    /// A user of the location, a campaign and a workflow of it.
    user: String,
    campaign: String,
    workflow: String,
    location: String,
    company: String,
    app: TestApp,
}

async fn fixture(s: &TestServer) -> Fixture {
    let contact = s.contact(json!({"firstName": "Fix", "email": format!("{}@example.com", uuid::Uuid::new_v4().simple()), "tags": ["a"]})).await;
    let (_, task) = s
        .post(
            &format!("/contacts/{contact}/tasks"),
            json!({"title": "t", "dueDate": "2030-01-01T00:00:00Z", "completed": false}),
        )
        .await;
    let (_, note) = s
        .post(&format!("/contacts/{contact}/notes"), json!({"body": "n"}))
        .await;
    let (_, business) = s
        .post("/businesses/", json!({"name": "B", "locationId": s.loc()}))
        .await;
    let field = s
        .custom_field(json!({"name": format!("Fix {contact}"), "dataType": "TEXT"}))
        .await;
    let every_scope: Vec<&str> = Scope::ALL.iter().map(|s| s.as_str()).collect();
    let email = format!("{}@example.com", uuid::Uuid::new_v4().simple());
    let user = users::create_location_user(&s.db, s.loc(), &email, None)
        .await
        .unwrap();
    let campaign = campaigns::create_campaign(&s.db, s.loc(), "C", "published")
        .await
        .unwrap();
    let workflow = workflows::create_workflow(&s.db, s.loc(), "W", "published")
        .await
        .unwrap();
    Fixture {
        custom_field: field["id"].as_str().unwrap().to_owned(),
        user: user.id,
        campaign: campaign.id,
        workflow: workflow.id,
        task: task["task"]["id"].as_str().unwrap().to_owned(),
        note: note["note"]["id"].as_str().unwrap().to_owned(),
        business: business["buiseness"]["id"].as_str().unwrap().to_owned(),
        contact,
        location: s.loc().to_owned(),
        company: s.location.company_id.clone(),
        app: app(s, &every_scope.join(" "), Distribution::Agency).await,
    }
}

/// Installs the fixture's app on its agency, approving its location, as an agency admin does.
async fn install(s: &TestServer, f: &Fixture) {
    let target = InstallTarget::Agency {
        company_id: f.company.clone(),
        locations: vec![f.location.clone()],
    };
    authorize(s, &f.app, target).await;
}

/// A token of `kind` holding `scopes`, for `location` of agency `company`. OAuth tokens come
/// from a headless install of `app` and the code exchange, as an integration gets them.
async fn token_of(
    s: &TestServer,
    kind: TokenKind,
    app: &TestApp,
    company: &str,
    location: &str,
    scopes: &[Scope],
) -> String {
    let names = Some(scopes.iter().map(|s| s.as_str().to_owned()).collect());
    let (target, user_type) = match kind {
        TokenKind::LocationPrivate | TokenKind::AgencyPrivate => {
            let owner = match kind {
                TokenKind::LocationPrivate => TokenOwner::Location(location),
                _ => TokenOwner::Agency(company),
            };
            return tenancy::create_token(&s.db, owner, scopes)
                .await
                .unwrap()
                .token;
        }
        TokenKind::LocationOAuth => (InstallTarget::Location(location.to_owned()), "Location"),
        TokenKind::CompanyOAuth => (
            InstallTarget::Agency {
                company_id: company.to_owned(),
                locations: vec![location.to_owned()],
            },
            "Company",
        ),
    };
    let code = authorize_scoped(s, app, target, names).await;
    let tokens = exchange(s, app, &code, user_type).await;
    tokens["access_token"].as_str().unwrap().to_owned()
}

/// One valid request of an operation.
struct Sample {
    method: Method,
    path: String,
    body: Option<Value>,
    /// Sent `application/x-www-form-urlencoded`, as the spec's request body is, not JSON.
    form: bool,
}

impl Sample {
    fn request(&self, s: &TestServer, token: &str) -> reqwest::RequestBuilder {
        let request = s.request_as(token, self.method.clone(), &self.path);
        match &self.body {
            Some(body) if self.form => request.form(body),
            Some(body) => request.json(body),
            None => request,
        }
    }

    /// Whether the request names `id` (a company or location), in its path or its body.
    fn names(&self, id: &str) -> bool {
        self.path.contains(id)
            || self
                .body
                .as_ref()
                .is_some_and(|b| b.to_string().contains(id))
    }
}

/// A valid request for each operation, against the fixture.
fn sample(operation: Operation, f: &Fixture) -> Sample {
    let (c, location, company, app) = (&f.contact, &f.location, &f.company, &f.app.id);
    let (path, body) = match operation {
        Operation::CreateContact => {
            // Unique per fixture: the location refuses duplicate emails.
            let email = format!("new-{}@example.com", c.to_lowercase());
            (
                "/contacts/".to_owned(),
                Some(json!({"locationId": location, "firstName": "New", "email": email})),
            )
        }
        Operation::ListContacts => (format!("/contacts/?locationId={location}"), None),
        Operation::SearchContacts => (
            "/contacts/search".to_owned(),
            Some(
                json!({"locationId": location, "pageLimit": 10, "filters": [{"field": "tags", "operator": "eq", "value": "a"}]}),
            ),
        ),
        Operation::DuplicateContact => (
            format!("/contacts/search/duplicate?locationId={location}&email=someone%40example.com"),
            None,
        ),
        Operation::UpsertContact => {
            let email = format!("upsert-{}@example.com", c.to_lowercase());
            (
                "/contacts/upsert".to_owned(),
                Some(json!({"locationId": location, "firstName": "Up", "email": email})),
            )
        }
        Operation::GetContact | Operation::DeleteContact => (format!("/contacts/{c}"), None),
        Operation::UpdateContact => (
            format!("/contacts/{c}"),
            Some(json!({"firstName": "Changed"})),
        ),
        Operation::ContactsByBusiness => (
            format!("/contacts/business/{}?locationId={location}", f.business),
            None,
        ),
        Operation::BulkBusiness => (
            "/contacts/bulk/business".to_owned(),
            Some(json!({"locationId": location, "ids": [c], "businessId": f.business})),
        ),
        Operation::ListTasks => (format!("/contacts/{c}/tasks"), None),
        Operation::CreateTask => (
            format!("/contacts/{c}/tasks"),
            Some(json!({"title": "x", "dueDate": "2030-01-01T00:00:00Z", "completed": false})),
        ),
        Operation::GetTask | Operation::DeleteTask => {
            (format!("/contacts/{c}/tasks/{}", f.task), None)
        }
        Operation::UpdateTask => (
            format!("/contacts/{c}/tasks/{}", f.task),
            Some(json!({"title": "y"})),
        ),
        Operation::CompleteTask => (
            format!("/contacts/{c}/tasks/{}/completed", f.task),
            Some(json!({"completed": true})),
        ),
        Operation::ContactAppointments => (format!("/contacts/{c}/appointments"), None),
        Operation::AddTags => (format!("/contacts/{c}/tags"), Some(json!({"tags": ["b"]}))),
        Operation::RemoveTags => (format!("/contacts/{c}/tags"), Some(json!({"tags": ["a"]}))),
        Operation::ListNotes => (format!("/contacts/{c}/notes"), None),
        Operation::CreateNote => (
            format!("/contacts/{c}/notes"),
            Some(json!({"body": "hello"})),
        ),
        Operation::GetNote | Operation::DeleteNote => {
            (format!("/contacts/{c}/notes/{}", f.note), None)
        }
        Operation::UpdateNote => (
            format!("/contacts/{c}/notes/{}", f.note),
            Some(json!({"body": "changed"})),
        ),
        Operation::BulkTags => (
            "/contacts/bulk/tags/update/add".to_owned(),
            Some(json!({"locationId": location, "contacts": [c], "tags": ["b"]})),
        ),
        Operation::AddFollowers | Operation::RemoveFollowers => (
            format!("/contacts/{c}/followers"),
            Some(json!({"followers": [f.user]})),
        ),
        Operation::AddToCampaign => (
            format!("/contacts/{c}/campaigns/{}", f.campaign),
            Some(json!({})),
        ),
        Operation::RemoveFromCampaign => (format!("/contacts/{c}/campaigns/{}", f.campaign), None),
        Operation::RemoveFromAllCampaigns => (format!("/contacts/{c}/campaigns/removeAll"), None),
        Operation::AddToWorkflow => (
            format!("/contacts/{c}/workflow/{}", f.workflow),
            Some(json!({"eventStartTime": "2030-01-01T09:00:00+01:00"})),
        ),
        Operation::RemoveFromWorkflow => (
            format!("/contacts/{c}/workflow/{}", f.workflow),
            Some(json!({})),
        ),
        Operation::ListCampaigns => (format!("/campaigns/?locationId={location}"), None),
        Operation::ListWorkflows => (format!("/workflows/?locationId={location}"), None),
        Operation::CreateBusiness => (
            "/businesses/".to_owned(),
            Some(json!({"name": "Acme", "locationId": location})),
        ),
        Operation::ListBusinesses => (format!("/businesses/?locationId={location}"), None),
        Operation::GetBusiness | Operation::DeleteBusiness => {
            (format!("/businesses/{}", f.business), None)
        }
        Operation::UpdateBusiness => (
            format!("/businesses/{}", f.business),
            Some(json!({"name": "Renamed"})),
        ),
        Operation::ListCustomFields => (
            format!("/locations/{location}/customFields?model=contact"),
            None,
        ),
        Operation::CreateCustomField => (
            format!("/locations/{location}/customFields"),
            Some(json!({"name": "Size", "dataType": "SINGLE_OPTIONS", "options": ["S", "M"]})),
        ),
        Operation::GetCustomField | Operation::DeleteCustomField => (
            format!("/locations/{location}/customFields/{}", f.custom_field),
            None,
        ),
        Operation::UpdateCustomField => (
            format!("/locations/{location}/customFields/{}", f.custom_field),
            Some(json!({"name": "Renamed field", "placeholder": "p"})),
        ),
        Operation::LocationToken => (
            "/oauth/locationToken".to_owned(),
            Some(json!({"companyId": company, "locationId": location})),
        ),
        Operation::InstalledLocations => (
            format!("/oauth/installedLocations?companyId={company}&appId={app}"),
            None,
        ),
        Operation::Uninstall => (
            format!("/marketplace/app/{app}/installations"),
            Some(json!({"companyId": company, "locationId": location})),
        ),
        Operation::InstallerDetails => (format!("/marketplace/app/{app}/installations"), None),
    };
    Sample {
        method: operation.endpoint().method(),
        path,
        body,
        form: operation == Operation::LocationToken,
    }
}

/// The spec files of the operations in the table, read once.
fn specs() -> &'static [Value] {
    static SPECS: OnceLock<Vec<Value>> = OnceLock::new();
    SPECS.get_or_init(|| {
        [
            "contacts.json",
            "businesses.json",
            "locations.json",
            "oauth.json",
            "marketplace.json",
            "campaigns.json",
            "workflows.json",
        ]
        .iter()
        .map(|file| {
            let path = format!(
                "{}/../../../shared/spec/highlevel/apps/{file}",
                env!("CARGO_MANIFEST_DIR")
            );
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
        })
        .collect()
    })
}

/// The success status the spec gives the operation. Operation ids repeat across spec files
/// (`create-association`), so the method and path name the operation too.
fn spec_success_status(endpoint: &Endpoint) -> u16 {
    for spec in specs() {
        for (path, ops) in spec["paths"].as_object().unwrap() {
            if path.trim_end_matches('/') != endpoint.path {
                continue;
            }
            for (method, op) in ops.as_object().unwrap() {
                if op["operationId"] == endpoint.operation_id
                    && method.eq_ignore_ascii_case(endpoint.method)
                {
                    let code = op["responses"]
                        .as_object()
                        .unwrap()
                        .keys()
                        .find(|k| k.starts_with('2'))
                        .unwrap();
                    return code.parse().unwrap();
                }
            }
        }
    }
    panic!("{} not in the spec", endpoint.operation_id)
}

/// What a client can see of the main location's data, plus the row counts of every table and
/// how many installations, grants, tokens and codes are live.
async fn snapshot(s: &TestServer, f: &Fixture) -> Vec<Value> {
    let mut seen = Vec::new();
    for path in [
        format!("/contacts/{}", f.contact),
        format!("/contacts/{}/tasks", f.contact),
        format!("/contacts/{}/notes", f.contact),
        format!("/contacts/?locationId={}", s.loc()),
        format!("/businesses/?locationId={}", s.loc()),
        format!("/locations/{}/customFields?model=all", s.loc()),
    ] {
        let (_, mut body) = s.get(&path).await;
        body.as_object_mut().unwrap().remove("traceId");
        seen.push(body);
    }
    seen.push(json!(s.counts().await));
    for sql in [
        "SELECT COUNT(*) FROM app_installations WHERE uninstalled_at IS NULL",
        "SELECT COUNT(*) FROM oauth_grants WHERE revoked_at IS NULL",
        "SELECT COUNT(*) FROM oauth_codes WHERE used_at IS NULL",
        "SELECT COUNT(*) FROM api_tokens WHERE revoked_at IS NULL",
    ] {
        let n: i64 = sqlx::query_scalar(sql)
            .fetch_one(s.db.read())
            .await
            .unwrap();
        seen.push(json!([sql, n]));
    }
    seen
}

fn assert_error(
    status: StatusCode,
    body: &Value,
    want_status: u16,
    want_message: &str,
    context: &str,
) {
    assert_eq!(status.as_u16(), want_status, "{context}: {body}");
    assert_eq!(body["statusCode"], want_status, "{context}: {body}");
    assert_eq!(body["message"], want_message, "{context}: {body}");
    assert!(
        body.get("traceId").is_none(),
        "{context}: error bodies carry no traceId"
    );
}

/// `sample` sent with `token` is refused with `status` and `message`, and changes nothing.
async fn assert_refused(
    s: &TestServer,
    f: &Fixture,
    sample: &Sample,
    token: &str,
    (status, message): (u16, &str),
    context: &str,
) {
    let before = snapshot(s, f).await;
    let (st, b) = s.send(sample.request(s, token)).await;
    assert_error(st, &b, status, message, context);
    assert_eq!(
        snapshot(s, f).await,
        before,
        "{context}: a refused request changed data"
    );
}

/// `sample` sent with `token` succeeds with the spec's status; returns the body.
async fn assert_accepted(
    s: &TestServer,
    endpoint: &Endpoint,
    sample: &Sample,
    token: &str,
    context: &str,
) -> Value {
    let (st, b) = s.send(sample.request(s, token)).await;
    assert_eq!(st.as_u16(), spec_success_status(endpoint), "{context}: {b}");
    b
}

/// The same family's scope at the other access level (`oauth.write` for `oauth.readonly`).
fn other_level(scope: Scope) -> Option<Scope> {
    let name = scope.as_str();
    let other = match name.strip_suffix(".readonly") {
        Some(family) => format!("{family}.write"),
        None => format!("{}.readonly", name.strip_suffix(".write")?),
    };
    Scope::parse(&other)
}

fn context(endpoint: &Endpoint, kind: TokenKind, what: &str) -> String {
    format!(
        "{} {} ({}) with a {kind:?} token {what}",
        endpoint.method, endpoint.path, endpoint.operation_id
    )
}

on_both! {
    async fn every_endpoint_refuses_bad_calls_and_writes_nothing(s) {
        for endpoint in sub_account_endpoints() {
            let f = fixture(s).await;
            let Sample { method, path, body, .. } = sample(endpoint.operation, &f);
            let ctx = |what: &str| format!("{} {} ({}): {what}", endpoint.method, path, endpoint.operation_id);
            let url = format!("{}{path}", s.base);
            let with_body = |r: reqwest::RequestBuilder| match &body { Some(b) => r.json(b), None => r };
            let before = snapshot(s, &f).await;

            // The Version header comes first.
            let (st, b) = s.send(with_body(s.client.request(method.clone(), &url).bearer_auth(&s.token))).await;
            assert_error(st, &b, 401, "version header was not found.", &ctx("no Version"));

            let anonymous = || with_body(s.client.request(method.clone(), &url).header("Version", "2021-07-28"));
            let (st, b) = s.send(anonymous()).await;
            assert_error(st, &b, 401, "No Authorization header found for authentication!", &ctx("no token"));
            for (token, what) in [("pit-00000000-0000-0000-0000-000000000000", "unknown token"), (s.revoked_token.as_str(), "revoked token")] {
                let (st, b) = s.send(anonymous().bearer_auth(token)).await;
                assert_error(st, &b, 401, "Invalid JWT", &ctx(what));
            }
            let (st, b) = s.send(anonymous().header("Authorization", "Basic abc")).await;
            assert_error(st, &b, 401, "Invalid JWT", &ctx("not a bearer token"));

            // Scope: a token for the other resource family, and the wrong access level.
            let other_family = match endpoint.scope {
                Scope::ContactsReadonly | Scope::ContactsWrite => &s.businesses_only_token,
                _ => &s.contacts_only_token,
            };
            let wrong_level = if endpoint.scope.as_str().ends_with(".readonly") {
                &s.write_only_token
            } else {
                &s.readonly_token
            };
            for (token, what) in [(other_family, "other scope family"), (wrong_level, "wrong access level")] {
                let (st, b) = s.send(anonymous().bearer_auth(token)).await;
                assert_error(st, &b, 401, "The token is not authorized for this scope.", &ctx(what));
            }

            // A valid token of another location, on this location's data.
            let (st, b) = s.send(anonymous().bearer_auth(&s.other_token)).await;
            assert_error(st, &b, 403, "The token does not have access to this location.", &ctx("other location"));

            // Unknown query parameters are rejected like unknown body properties.
            let sep = if path.contains('?') { '&' } else { '?' };
            let (st, b) = s.send(with_body(s.request(method.clone(), &format!("{path}{sep}bogus=1")))).await;
            assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{}: {b}", ctx("unknown query parameter"));
            assert_eq!(b["message"], json!(["property bogus should not exist"]), "{}", ctx("unknown query parameter"));
            assert_eq!(b["error"], "Unprocessable Entity");

            if let Some(valid) = &body {
                let raw = |payload: String| s.request(method.clone(), &path).header("Content-Type", "application/json").body(payload);
                let (st, b) = s.send(raw("{\"broken\": ".to_owned())).await;
                assert_eq!(st, StatusCode::BAD_REQUEST, "{}: {b}", ctx("malformed JSON"));
                assert_eq!(b["error"], "Bad Request");
                let (st, b) = s.send(raw("[1, 2]".to_owned())).await;
                assert_eq!(st, StatusCode::BAD_REQUEST, "{}: {b}", ctx("JSON that is not an object"));

                let mut unknown = valid.clone();
                unknown["notAField"] = json!(1);
                let (st, b) = s.send(s.request(method.clone(), &path).json(&unknown)).await;
                assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{}: {b}", ctx("unknown property"));
                assert_eq!(b["message"], json!(["property notAField should not exist"]), "{}", ctx("unknown property"));

                let mut oversized = valid.clone();
                oversized["padding"] = json!("x".repeat(70 * 1024));
                let (st, b) = s.send(s.request(method.clone(), &path).json(&oversized)).await;
                assert_eq!(st, StatusCode::PAYLOAD_TOO_LARGE, "{}: {b}", ctx("oversized body"));
                assert_eq!(b["statusCode"], 413);
            }

            assert_eq!(snapshot(s, &f).await, before, "{}", ctx("a refused request changed data"));

            // And the valid request succeeds with the spec's status, JSON and a traceId.
            let (st, b) = s.send(with_body(s.request(method.clone(), &path))).await;
            assert_eq!(st.as_u16(), spec_success_status(endpoint), "{}: {b}", ctx("valid request"));
            let trace_id = b["traceId"].as_str().unwrap_or_default();
            assert!(uuid::Uuid::parse_str(trace_id).is_ok(), "{}: traceId {b}", ctx("valid request"));
        }
    }

    async fn every_endpoint_takes_exactly_its_token_kinds(s) {
        for endpoint in ENDPOINTS {
            for kind in TOKEN_KINDS {
                // A fresh fixture and install for each call: an accepted call may delete or
                // uninstall what the sample names.
                let f = fixture(s).await;
                install(s, &f).await;
                let token = token_of(s, kind, &f.app, &f.company, &f.location, &Scope::ALL).await;
                let sample = sample(endpoint.operation, &f);
                let ctx = context(endpoint, kind, "holding every scope");
                if endpoint.access.accepts(kind) {
                    assert_accepted(s, endpoint, &sample, &token, &ctx).await;
                } else {
                    assert_refused(s, &f, &sample, &token, (401, SCOPE_MISSING), &ctx).await;
                }
            }
        }
    }

    async fn agency_endpoints_need_their_scope_at_its_level(s) {
        for endpoint in agency_endpoints() {
            let scope = endpoint.scope;
            let mut refused = vec![("holding every scope but the operation's", Scope::ALL.into_iter().filter(|s| *s != scope).collect::<Vec<_>>())];
            if let Some(other) = other_level(scope) {
                refused.push(("holding the other access level only", vec![other]));
            }
            for kind in TOKEN_KINDS.into_iter().filter(|k| endpoint.access.accepts(*k)) {
                for (what, scopes) in &refused {
                    let f = fixture(s).await;
                    install(s, &f).await;
                    let token = token_of(s, kind, &f.app, &f.company, &f.location, scopes).await;
                    let ctx = context(endpoint, kind, what);
                    assert_refused(s, &f, &sample(endpoint.operation, &f), &token, (401, SCOPE_MISSING), &ctx).await;
                }
                // The operation's scope alone is enough.
                let f = fixture(s).await;
                install(s, &f).await;
                let token = token_of(s, kind, &f.app, &f.company, &f.location, &[scope]).await;
                let ctx = context(endpoint, kind, "holding only the operation's scope");
                assert_accepted(s, endpoint, &sample(endpoint.operation, &f), &token, &ctx).await;
            }
        }
    }

    async fn agency_endpoints_refuse_another_agencys_tokens(s) {
        let stranger = tenancy::create_company(&s.db, "Stranger Agency").await.unwrap();
        let stranger_location = tenancy::create_location(&s.db, Some(&stranger.id), "Stranger HQ").await.unwrap();
        let agency_kinds = [TokenKind::AgencyPrivate, TokenKind::CompanyOAuth];
        for endpoint in agency_endpoints() {
            for kind in agency_kinds.into_iter().filter(|k| endpoint.access.accepts(*k)) {
                let f = fixture(s).await;
                install(s, &f).await;
                // The same app installed on the other agency: only the agency differs.
                let token = token_of(s, kind, &f.app, &stranger.id, &stranger_location.id, &Scope::ALL).await;
                let sample = sample(endpoint.operation, &f);
                let ctx = context(endpoint, kind, "of another agency");
                if sample.names(&f.company) {
                    assert_refused(s, &f, &sample, &token, (403, WRONG_COMPANY), &ctx).await;
                } else {
                    // An operation that names no agency answers for the caller's own.
                    let b = assert_accepted(s, endpoint, &sample, &token, &ctx).await;
                    let text = b.to_string();
                    assert!(text.contains(&stranger.id), "{ctx}: {b}");
                    assert!(!text.contains(&f.company) && !text.contains(&f.location), "{ctx}: {b}");
                }
            }
        }
    }

    async fn unknown_ids_are_highlevels_400s(s) {
        let missing = "AAAAAAAAAAAAAAAAAAAA";
        let (st, b) = s.get(&format!("/contacts/{missing}")).await;
        assert_eq!((st.as_u16(), b), (400, json!({"statusCode": 400, "message": format!("Contact not found for id:{missing}"), "error": "Bad Request"})));
        // A path segment that is not an id, as HighLevel words it.
        let (st, b) = s.get("/contacts/lookup").await;
        assert_eq!((st.as_u16(), b["message"].clone()), (400, json!("Contact with id lookup not found")));
        for path in [format!("/contacts/{missing}/tasks"), format!("/contacts/{missing}/notes"), format!("/contacts/{missing}/appointments")] {
            let (st, b) = s.get(&path).await;
            assert_eq!((st.as_u16(), b["message"].clone()), (400, json!(format!("Contact not found for id:{missing}"))), "{path}");
        }
        let contact = s.contact(json!({"firstName": "X"})).await;
        let (st, b) = s.get(&format!("/contacts/{contact}/tasks/{missing}")).await;
        assert_eq!((st.as_u16(), b), (400, json!({"statusCode": 400, "message": "Task not found", "error": "Bad Request"})));
        let (st, b) = s.get(&format!("/contacts/{contact}/notes/{missing}")).await;
        assert_eq!((st.as_u16(), b), (400, json!({"statusCode": 400, "message": "Note not found", "error": "Bad Request"})));
        let (st, b) = s.delete(&format!("/businesses/{missing}")).await;
        assert_eq!((st.as_u16(), b["message"].clone()), (400, json!(format!("Business not found for id:{missing}"))));
        // A task or note is found only under its own contact.
        let other = s.contact(json!({"firstName": "Y"})).await;
        let (_, task) = s.post(&format!("/contacts/{contact}/tasks"), json!({"title": "t", "dueDate": "2030-01-01T00:00:00Z", "completed": false})).await;
        let (st, _) = s.get(&format!("/contacts/{other}/tasks/{}", task["task"]["id"].as_str().unwrap())).await;
        assert_eq!(st.as_u16(), 400);
    }

    async fn routes_versions_and_slashes(s) {
        let contact = s.contact(json!({"firstName": "Slash"})).await;
        for path in [format!("/contacts/{contact}"), format!("/contacts/{contact}/")] {
            let (st, b) = s.get(&path).await;
            assert_eq!(st, StatusCode::OK, "{path}: {b}");
        }
        let (st, _) = s.get(&format!("/contacts?locationId={}", s.loc())).await;
        assert_eq!(st, StatusCode::OK);

        for version in ["2021-07-28", "2021-04-15", "2023-02-21"] {
            let r = s.client.get(format!("{}/contacts/{contact}", s.base)).bearer_auth(&s.token).header("Version", version);
            assert_eq!(s.send(r).await.0, StatusCode::OK, "{version}");
        }
        let r = s.client.get(format!("{}/contacts/{contact}", s.base)).bearer_auth(&s.token).header("Version", "1999-01-01");
        let (st, b) = s.send(r).await;
        assert_eq!((st.as_u16(), b["statusCode"].clone()), (400, json!(400)));

        // Auth schemes are case-insensitive.
        let r = s.client.get(format!("{}/contacts/{contact}", s.base)).header("Version", "2021-07-28").header("Authorization", format!("bearer {}", s.token));
        assert_eq!(s.send(r).await.0, StatusCode::OK);

        let (st, b) = s.get("/no/such/route").await;
        assert_eq!((st.as_u16(), b), (404, json!({"statusCode": 404, "message": "Cannot GET /no/such/route", "error": "Not Found"})));
        let (st, b) = s.call(Method::PATCH, &format!("/contacts/{contact}"), None).await;
        assert_eq!((st.as_u16(), b["message"].clone()), (404, json!(format!("Cannot PATCH /contacts/{contact}"))));

        let response = s.client.get(format!("{}/healthz", s.base)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.json::<Value>().await.unwrap(), json!({"status": "ok"}));
    }
}
