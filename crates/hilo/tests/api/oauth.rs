//! The OAuth 2.0 flow over HTTP: headless installs (as `hilo admin oauth authorize` runs them),
//! the token endpoint, refresh rotation, agency tokens and location tokens, uninstall, and the
//! token kinds each operation accepts.

use std::time::Duration;

use base64::Engine;
use hilo_server::oauth::apps::{self, Distribution, NewApp};
use hilo_server::oauth::grants::{self, AuthorizeRequest, InstallTarget};
use hilo_server::oauth::{OAuth, OAuthSettings};
use hilo_server::{tenancy, users};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::harness::{Backend, TestServer, VERSION};
use crate::on_both;

const REDIRECT: &str = "https://app.example.com/oauth/callback";

pub(crate) struct TestApp {
    pub(crate) id: String,
    pub(crate) client_id: String,
    pub(crate) client_secret: String,
}

pub(crate) async fn app(s: &TestServer, scopes: &str, distribution: Distribution) -> TestApp {
    let created = apps::create_app(
        &s.db,
        NewApp {
            company_id: s.location.company_id.clone(),
            name: "Test App".to_owned(),
            redirect_uris: vec![REDIRECT.to_owned()],
            scopes: apps::parse_scope_list(scopes).unwrap(),
            webhook_url: None,
            distribution,
        },
    )
    .await
    .unwrap();
    TestApp {
        id: created.app.id,
        client_id: created.app.client_id,
        client_secret: created.client_secret,
    }
}

/// Approves an install the way `hilo admin oauth authorize` does; returns the code.
pub(crate) async fn authorize(s: &TestServer, app: &TestApp, target: InstallTarget) -> String {
    authorize_scoped(s, app, target, None).await
}

/// The same, granting only `scopes` of the app's (all of them when `None`). The target's agency
/// gets an agency user to approve the install if it has none.
pub(crate) async fn authorize_scoped(
    s: &TestServer,
    app: &TestApp,
    target: InstallTarget,
    scopes: Option<Vec<String>>,
) -> String {
    let company_id = match &target {
        InstallTarget::Location(id) => {
            tenancy::find_location(&s.db, id)
                .await
                .unwrap()
                .unwrap()
                .company_id
        }
        InstallTarget::Agency { company_id, .. } => company_id.clone(),
    };
    let users: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM users WHERE company_id = $1 AND location_id IS NULL",
    )
    .bind(&company_id)
    .fetch_one(s.db.read())
    .await
    .unwrap();
    if users == 0 {
        let email = if company_id == s.location.company_id {
            "owner@example.com".to_owned()
        } else {
            format!("owner-{}@example.com", company_id.to_lowercase())
        };
        users::create_agency_user(&s.db, &company_id, &email, None, None)
            .await
            .unwrap();
    }
    let found = apps::find_app(&s.db, &app.client_id)
        .await
        .unwrap()
        .unwrap();
    let oauth = OAuth::load(&s.db, OAuthSettings::default()).await.unwrap();
    let authorization = grants::authorize(
        &s.db,
        &oauth,
        AuthorizeRequest {
            app: found,
            target,
            scopes,
            redirect_uri: None,
            user_id: None,
            state: Some("xyz".to_owned()),
        },
    )
    .await
    .unwrap();
    assert_eq!(
        authorization.redirect_url,
        format!("{REDIRECT}?code={}&state=xyz", authorization.code)
    );
    authorization.code
}

async fn token_request(s: &TestServer, form: &[(&str, &str)]) -> (StatusCode, Value) {
    s.send(s.client.post(format!("{}/oauth/token", s.base)).form(form))
        .await
}

pub(crate) async fn exchange(s: &TestServer, app: &TestApp, code: &str, user_type: &str) -> Value {
    let (st, body) = token_request(
        s,
        &[
            ("client_id", &app.client_id),
            ("client_secret", &app.client_secret),
            ("grant_type", "authorization_code"),
            ("code", code),
            ("user_type", user_type),
            ("redirect_uri", REDIRECT),
        ],
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    body
}

async fn refresh(s: &TestServer, app: &TestApp, refresh_token: &str) -> (StatusCode, Value) {
    token_request(
        s,
        &[
            ("client_id", &app.client_id),
            ("client_secret", &app.client_secret),
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("user_type", "Location"),
        ],
    )
    .await
}

fn claims(access_token: &str) -> Value {
    let payload = access_token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

async fn get_with(s: &TestServer, token: &str, path: &str) -> (StatusCode, Value) {
    s.send(
        s.client
            .get(format!("{}{path}", s.base))
            .bearer_auth(token)
            .header("Version", VERSION),
    )
    .await
}

fn assert_oauth_error(st: StatusCode, body: &Value, status: u16, error: &str) {
    assert_eq!(st.as_u16(), status, "{body}");
    assert_eq!(body["error"], error, "{body}");
    assert_eq!(body["statusCode"], status, "{body}");
    assert_eq!(body["message"], body["error_description"], "{body}");
}

on_both! {
    async fn location_install_exchange_call_and_refresh(s) {
        let app = app(s, "contacts.readonly contacts.write", Distribution::Location).await;
        let contact = s.contact(json!({"firstName": "Ada"})).await;
        let code = authorize(s, &app, InstallTarget::Location(s.loc().to_owned())).await;
        let tokens = exchange(s, &app, &code, "Location").await;

        assert_eq!(tokens["token_type"], "Bearer");
        assert_eq!(tokens["expires_in"], 86399);
        assert_eq!(tokens["scope"], "contacts.readonly contacts.write");
        assert_eq!(tokens["userType"], "Location");
        assert_eq!(tokens["locationId"], s.loc());
        assert_eq!(tokens["companyId"], s.location.company_id.as_str());
        assert!(tokens["userId"].as_str().is_some_and(|u| !u.is_empty()));
        let access = tokens["access_token"].as_str().unwrap();
        let refresh_token = tokens["refresh_token"].as_str().unwrap();

        let c = claims(access);
        assert_eq!(c["authClass"], "Location");
        assert_eq!(c["authClassId"], s.loc());
        assert_eq!(c["primaryAuthClassId"], s.loc());
        assert_eq!(c["source"], "INTEGRATION");
        assert_eq!(c["sourceId"], app.client_id.as_str());
        assert_eq!(c["channel"], "OAUTH");
        assert_eq!(c["oauthMeta"]["scopes"], json!(["contacts.readonly", "contacts.write"]));
        assert_eq!(c["oauthMeta"]["client"], app.id.as_str());
        assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 86399);

        let (st, body) = get_with(s, access, &format!("/contacts/{contact}")).await;
        assert_eq!(st, StatusCode::OK, "{body}");
        assert_eq!(body["contact"]["firstName"], "Ada");
        // Location isolation holds for OAuth tokens too.
        let other = s.send(s.client.post(format!("{}/contacts/", s.base)).bearer_auth(&s.other_token).header("Version", VERSION).json(&json!({"locationId": s.other_location.id, "firstName": "B"}))).await.1;
        let (st, body) = get_with(s, access, &format!("/contacts/{}", other["contact"]["id"].as_str().unwrap())).await;
        assert_eq!((st.as_u16(), body["message"].clone()), (403, json!("The token does not have access to this location.")));
        // Scope: businesses were not granted.
        let (st, body) = get_with(s, access, &format!("/businesses/?locationId={}", s.loc())).await;
        assert_eq!((st.as_u16(), body["message"].clone()), (401, json!("The token is not authorized for this scope.")));

        // Refresh rotates: the new pair works, the old refresh token is refused.
        let (st, rotated) = refresh(s, &app, refresh_token).await;
        assert_eq!(st, StatusCode::OK, "{rotated}");
        assert_ne!(rotated["refresh_token"], tokens["refresh_token"]);
        assert_eq!(rotated["userType"], "Location");
        let (st, _) = get_with(s, rotated["access_token"].as_str().unwrap(), &format!("/contacts/{contact}")).await;
        assert_eq!(st, StatusCode::OK);
        let (st, body) = refresh(s, &app, refresh_token).await;
        assert_oauth_error(st, &body, 400, "invalid_grant");
        assert_eq!(body["message"], "Invalid grant: refresh token is invalid");
        // The rotated one still works once.
        let (st, again) = refresh(s, &app, rotated["refresh_token"].as_str().unwrap()).await;
        assert_eq!(st, StatusCode::OK, "{again}");
    }

    async fn token_endpoint_refusals(s) {
        let app = app(s, "contacts.readonly", Distribution::Location).await;
        let code = authorize(s, &app, InstallTarget::Location(s.loc().to_owned())).await;
        let before = s.counts().await;
        let base = |secret: &'static str, code: &'static str| -> Vec<(&'static str, String)> {
            vec![("client_secret", secret.to_owned()), ("grant_type", "authorization_code".to_owned()), ("code", code.to_owned())]
        };
        let send = |mut form: Vec<(&'static str, String)>| {
            form.push(("client_id", app.client_id.clone()));
            async move { s.send(s.client.post(format!("{}/oauth/token", s.base)).form(&form)).await }
        };
        let (st, body) = send(base("wrong-secret", "x")).await;
        assert_oauth_error(st, &body, 401, "invalid_client");
        let mut form = base("", "x");
        form[0].1.clone_from(&app.client_secret);
        let (st, body) = send(form.clone()).await;
        assert_oauth_error(st, &body, 400, "invalid_grant");
        assert_eq!(body["message"], "Invalid grant: authorization code is invalid");
        form[2].1.clone_from(&code);
        let mut wrong_redirect = form.clone();
        wrong_redirect.push(("redirect_uri", "https://evil.example/cb".to_owned()));
        let (st, body) = send(wrong_redirect).await;
        assert_oauth_error(st, &body, 400, "invalid_grant");
        let mut wrong_type = form.clone();
        wrong_type.push(("user_type", "Company".to_owned()));
        let (st, body) = send(wrong_type).await;
        assert_oauth_error(st, &body, 400, "invalid_request");
        let mut no_code = form.clone();
        no_code.remove(2);
        let (st, body) = send(no_code).await;
        assert_oauth_error(st, &body, 400, "invalid_request");
        assert_eq!(s.counts().await, before, "refused exchanges write nothing");

        // Validation of the form itself, in HighLevel's 422 words.
        let (st, body) = token_request(s, &[("client_id", "x"), ("grant_type", "password"), ("extra", "1")]).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let messages: Vec<&str> = body["message"].as_array().unwrap().iter().map(|m| m.as_str().unwrap()).collect();
        assert!(messages.contains(&"property extra should not exist"), "{body}");
        assert!(messages.contains(&"client_secret should not be empty"), "{body}");
        assert!(messages.iter().any(|m| m.starts_with("grant_type must be one of the following values")), "{body}");
        let (st, body) = token_request(s, &[("client_id", &app.client_id), ("client_secret", &app.client_secret), ("grant_type", "client_credentials")]).await;
        assert_oauth_error(st, &body, 400, "unsupported_grant_type");

        // The valid exchange works once; a replay is refused and revokes what the code issued.
        let (st, tokens) = send(form.clone()).await;
        assert_eq!(st, StatusCode::OK, "{tokens}");
        let contact = s.contact(json!({"firstName": "R"})).await;
        let access = tokens["access_token"].as_str().unwrap();
        assert_eq!(get_with(s, access, &format!("/contacts/{contact}")).await.0, StatusCode::OK);
        let (st, body) = send(form).await;
        assert_oauth_error(st, &body, 400, "invalid_grant");
        let (st, body) = get_with(s, access, &format!("/contacts/{contact}")).await;
        assert_eq!((st.as_u16(), body["message"].clone()), (401, json!("Invalid JWT")));
        let (st, body) = refresh(s, &app, tokens["refresh_token"].as_str().unwrap()).await;
        assert_oauth_error(st, &body, 400, "invalid_grant");

        // JSON bodies are read too.
        let code = authorize(s, &app, InstallTarget::Location(s.loc().to_owned())).await;
        let (st, body) = s.send(s.client.post(format!("{}/oauth/token", s.base)).json(&json!({"client_id": app.client_id, "client_secret": app.client_secret, "grant_type": "authorization_code", "code": code}))).await;
        assert_eq!(st, StatusCode::OK, "{body}");
        // A forged token signed with another key is just an invalid JWT.
        let forged = format!("{}.{}.c2lnbmF0dXJl", access.split('.').next().unwrap(), access.split('.').nth(1).unwrap());
        assert_eq!(get_with(s, &forged, &format!("/contacts/{contact}")).await.1["message"], "Invalid JWT");
    }

    async fn agency_install_company_token_and_location_tokens(s) {
        let app = app(s, "contacts.readonly oauth.readonly oauth.write", Distribution::Agency).await;
        let contact = s.contact(json!({"firstName": "Agency"})).await;
        let company_id = s.location.company_id.clone();
        let code = authorize(s, &app, InstallTarget::Agency { company_id: company_id.clone(), locations: vec![s.loc().to_owned()] }).await;
        let tokens = exchange(s, &app, &code, "Company").await;
        assert_eq!(tokens["userType"], "Company");
        assert_eq!(tokens["companyId"], company_id.as_str());
        assert_eq!(tokens["approvedLocations"], json!([s.loc()]));
        assert!(tokens.get("locationId").is_none(), "{tokens}");
        let company = tokens["access_token"].as_str().unwrap();
        assert_eq!(claims(company)["authClass"], "Company");
        assert_eq!(claims(company)["authClassId"], company_id.as_str());

        // A Company token cannot call Sub-Account operations.
        let (st, body) = get_with(s, company, &format!("/contacts/{contact}")).await;
        assert_eq!((st.as_u16(), body["message"].clone()), (401, json!("The token is not authorized for this scope.")));
        // A private Sub-Account token cannot call agency operations.
        let (st, body) = get_with(s, &s.token, &format!("/oauth/installedLocations?companyId={company_id}&appId={}", app.id)).await;
        assert_eq!((st.as_u16(), body["message"].clone()), (401, json!("The token is not authorized for this scope.")));

        let (st, listed) = get_with(s, company, &format!("/oauth/installedLocations?companyId={company_id}&appId={}", app.id)).await;
        assert_eq!(st, StatusCode::OK, "{listed}");
        assert_eq!(listed["count"], 2);
        let main = listed["locations"].as_array().unwrap().iter().find(|l| l["_id"] == s.loc()).unwrap();
        assert_eq!(main["isInstalled"], true);
        assert_eq!(main["name"], "Main");
        let (_, only) = get_with(s, company, &format!("/oauth/installedLocations?companyId={company_id}&appId={}&isInstalled=false", app.id)).await;
        assert_eq!(only["locations"][0]["_id"], s.other_location.id.as_str());
        // Another app's installs are not this token's to see.
        let other_app = self::app(s, "oauth.readonly", Distribution::Agency).await;
        let (st, body) = get_with(s, company, &format!("/oauth/installedLocations?companyId={company_id}&appId={}", other_app.id)).await;
        assert_eq!((st.as_u16(), body["message"].clone()), (403, json!("The token does not belong to this app.")));

        let location_token = |location: String| {
            let form = [("companyId", company_id.clone()), ("locationId", location)];
            async move { s.send(s.client.post(format!("{}/oauth/locationToken", s.base)).bearer_auth(company).header("Version", VERSION).form(&form)).await }
        };
        let (st, body) = location_token(s.loc().to_owned()).await;
        assert_eq!(st, StatusCode::OK, "{body}");
        assert_eq!(body["locationId"], s.loc());
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["appId"], app.id.as_str());
        assert!(body.get("refresh_token").is_none(), "{body}");
        let location_access = body["access_token"].as_str().unwrap().to_owned();
        let (st, fetched) = get_with(s, &location_access, &format!("/contacts/{contact}")).await;
        assert_eq!(st, StatusCode::OK, "{fetched}");
        // Not installed on the other location.
        let (st, body) = location_token(s.other_location.id.clone()).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{body}");
        // A Location token cannot ask for location tokens.
        let form = [("companyId", company_id.clone()), ("locationId", s.loc().to_owned())];
        let (st, body) = s.send(s.client.post(format!("{}/oauth/locationToken", s.base)).bearer_auth(&location_access).header("Version", VERSION).form(&form)).await;
        assert_eq!((st.as_u16(), body["message"].clone()), (401, json!("The token is not authorized for this scope.")));

        // Uninstalling from the location revokes the location token, not the agency's.
        let (st, body) = s.send(s.client.delete(format!("{}/marketplace/app/{}/installations", s.base, app.id)).bearer_auth(company).header("Version", VERSION).json(&json!({"companyId": company_id, "locationId": s.loc()}))).await;
        assert_eq!((st, body["success"].clone()), (StatusCode::OK, json!(true)), "{body}");
        assert_eq!(get_with(s, &location_access, &format!("/contacts/{contact}")).await.1["message"], "Invalid JWT");
        let (st, _) = get_with(s, company, &format!("/oauth/installedLocations?companyId={company_id}&appId={}", app.id)).await;
        assert_eq!(st, StatusCode::OK);
        // Uninstalling from the agency revokes the Company token and its refresh token.
        let (st, _) = s.send(s.client.delete(format!("{}/marketplace/app/{}/installations", s.base, app.id)).bearer_auth(company).header("Version", VERSION).json(&json!({"companyId": company_id}))).await;
        assert_eq!(st, StatusCode::OK);
        let (st, body) = get_with(s, company, &format!("/oauth/installedLocations?companyId={company_id}&appId={}", app.id)).await;
        assert_eq!((st.as_u16(), body["message"].clone()), (401, json!("Invalid JWT")));
        let (st, body) = token_request(s, &[("client_id", &app.client_id), ("client_secret", &app.client_secret), ("grant_type", "refresh_token"), ("refresh_token", tokens["refresh_token"].as_str().unwrap())]).await;
        assert_oauth_error(st, &body, 400, "invalid_grant");
    }

    async fn deleting_the_app_revokes_its_tokens_on_the_running_server(s) {
        let app = app(s, "contacts.readonly", Distribution::Location).await;
        let code = authorize(s, &app, InstallTarget::Location(s.loc().to_owned())).await;
        let tokens = exchange(s, &app, &code, "Location").await;
        let access = tokens["access_token"].as_str().unwrap();
        let contact = s.contact(json!({"firstName": "D"})).await;
        assert_eq!(get_with(s, access, &format!("/contacts/{contact}")).await.0, StatusCode::OK);
        // Deleted through the database, as `hilo admin app delete` does from another process:
        // the server learns it from its revocation poll.
        assert!(apps::delete_app(&s.db, &app.client_id).await.unwrap());
        assert!(apps::find_app(&s.db, &app.client_id).await.unwrap().is_none());
        let mut refused = false;
        for _ in 0..50 {
            if get_with(s, access, &format!("/contacts/{contact}")).await.0 == StatusCode::UNAUTHORIZED {
                refused = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(refused, "the deleted app's access token still works");
        let (st, body) = refresh(s, &app, tokens["refresh_token"].as_str().unwrap()).await;
        assert_oauth_error(st, &body, 401, "invalid_client");
    }

    async fn location_token_uninstalls_itself(s) {
        let app = app(s, "contacts.readonly oauth.write", Distribution::Location).await;
        let code = authorize(s, &app, InstallTarget::Location(s.loc().to_owned())).await;
        let tokens = exchange(s, &app, &code, "Location").await;
        let access = tokens["access_token"].as_str().unwrap();
        let url = format!("{}/marketplace/app/{}/installations", s.base, app.id);
        let uninstall = |body: Value, token: String| {
            let request = s.client.delete(&url).bearer_auth(token).header("Version", VERSION).json(&body);
            s.send(request)
        };
        let (st, _) = uninstall(json!({"locationId": s.other_location.id}), access.to_owned()).await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        let (st, body) = uninstall(json!({"locationId": s.loc(), "bogus": 1}), access.to_owned()).await;
        assert_eq!((st, body["message"].clone()), (StatusCode::UNPROCESSABLE_ENTITY, json!(["property bogus should not exist"])));
        // Private tokens are not Location-Access-Only.
        let (st, _) = uninstall(json!({"locationId": s.loc()}), s.token.clone()).await;
        assert_eq!(st, StatusCode::UNAUTHORIZED);
        let (st, body) = uninstall(json!({"locationId": s.loc()}), access.to_owned()).await;
        assert_eq!((st, body["success"].clone()), (StatusCode::OK, json!(true)), "{body}");
        let (st, body) = get_with(s, access, &format!("/marketplace/app/{}/installations", app.id)).await;
        assert_eq!((st.as_u16(), body["message"].clone()), (401, json!("Invalid JWT")));
    }
}

/// Expiry needs short lifetimes; these run on each engine explicitly.
async fn expiry(backend: Backend) {
    let settings = OAuthSettings {
        access_token_ttl: Duration::from_secs(1),
        ..OAuthSettings::default()
    };
    let Some(s) = TestServer::start_with(backend, settings).await else {
        return;
    };
    let s = &s;
    let app = app(s, "contacts.readonly", Distribution::Location).await;
    // Codes from `authorize` above live the default ten minutes; make one expired by hand.
    let code = authorize(s, &app, InstallTarget::Location(s.loc().to_owned())).await;
    sqlx::query("UPDATE oauth_codes SET expires_at = 0")
        .execute(s.db.write())
        .await
        .unwrap();
    let (st, body) = token_request(
        s,
        &[
            ("client_id", &app.client_id),
            ("client_secret", &app.client_secret),
            ("grant_type", "authorization_code"),
            ("code", &code),
        ],
    )
    .await;
    assert_oauth_error(st, &body, 400, "invalid_grant");
    assert_eq!(
        body["message"],
        "Invalid grant: authorization code has expired"
    );

    let code = authorize(s, &app, InstallTarget::Location(s.loc().to_owned())).await;
    let tokens = exchange(s, &app, &code, "Location").await;
    assert_eq!(tokens["expires_in"], 1);
    let contact = s.contact(json!({"firstName": "E"})).await;
    let access = tokens["access_token"].as_str().unwrap();
    // The token's `exp` is whole seconds: wait until it has passed.
    let exp = claims(access)["exp"].as_i64().unwrap();
    while chrono_now_secs() < exp {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (st, body) = get_with(s, access, &format!("/contacts/{contact}")).await;
    assert_eq!(
        (st.as_u16(), body["message"].clone()),
        (401, json!("Invalid JWT"))
    );
    // The refresh token outlives it.
    let (st, body) = refresh(s, &app, tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(st, StatusCode::OK, "{body}");
}

fn chrono_now_secs() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiry_sqlite() {
    expiry(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiry_postgres() {
    expiry(Backend::Postgres).await;
}
