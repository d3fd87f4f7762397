//! The OAuth consent page as a browser uses it: the install link, the sign-in form (cookie and
//! CSRF token), the consent form, the redirect with a code, and every refusal, which answers a
//! page and never a redirect to an unregistered URI.

use std::collections::BTreeMap;

use hilo_server::oauth::apps::{self, Distribution};
use hilo_server::tenancy;
use hilo_server::users;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use reqwest::StatusCode;
use serde_json::Value;

use crate::harness::TestServer;
use crate::oauth::{app, exchange, TestApp};
use crate::on_both;

const EMAIL: &str = "admin@agency.example.com";
const PASSWORD: &str = "correct horse battery";

/// A browser of one user: it keeps cookies and follows no redirect, so each step is seen.
struct Browser<'a> {
    s: &'a TestServer,
    client: reqwest::Client,
    cookies: BTreeMap<String, String>,
}

struct PageSeen {
    status: StatusCode,
    headers: HeaderMap,
    html: String,
}

impl PageSeen {
    fn location(&self) -> Option<&str> {
        self.headers.get(LOCATION).and_then(|v| v.to_str().ok())
    }

    /// The value of the form's hidden `csrf_token`.
    fn csrf_token(&self) -> String {
        let marker = "name=\"csrf_token\" value=\"";
        let start = self.html.find(marker).expect("a csrf_token field") + marker.len();
        let end = self.html[start..].find('"').unwrap();
        self.html[start..start + end].to_owned()
    }
}

impl<'a> Browser<'a> {
    fn new(s: &'a TestServer) -> Browser<'a> {
        Browser {
            s,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: BTreeMap::new(),
        }
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> PageSeen {
        let cookie = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let request = if cookie.is_empty() {
            request
        } else {
            request.header("Cookie", cookie)
        };
        let response = request.send().await.unwrap();
        for set in response.headers().get_all(SET_COOKIE) {
            let set = set.to_str().unwrap();
            let (pair, attributes) = set.split_once(';').unwrap_or((set, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() || attributes.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        PageSeen {
            status: response.status(),
            headers: response.headers().clone(),
            html: response.text().await.unwrap(),
        }
    }

    async fn get(&mut self, path_and_query: &str) -> PageSeen {
        let url = format!("{}{path_and_query}", self.s.base);
        self.send(self.client.get(url)).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> PageSeen {
        let url = format!("{}{path}", self.s.base);
        self.send(self.client.post(url).form(form)).await
    }
}

/// The link parameters an app's install button carries.
fn link(app: &TestApp, redirect_uri: &str, scope: &str) -> Vec<(String, String)> {
    vec![
        ("response_type".into(), "code".into()),
        ("client_id".into(), app.client_id.clone()),
        ("redirect_uri".into(), redirect_uri.into()),
        ("scope".into(), scope.into()),
        ("state".into(), "st-42".into()),
    ]
}

fn query(params: &[(String, String)]) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        q.append_pair(k, v);
    }
    q.finish()
}

/// The link's parameters plus the form's own fields.
fn form<'p>(
    params: &'p [(String, String)],
    extra: &[(&'p str, &'p str)],
) -> Vec<(&'p str, &'p str)> {
    let mut fields: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    fields.extend_from_slice(extra);
    fields
}

async fn redirect_uri(s: &TestServer, app: &TestApp) -> String {
    apps::find_app(&s.db, &app.client_id)
        .await
        .unwrap()
        .unwrap()
        .redirect_uris[0]
        .clone()
}

async fn user(s: &TestServer) -> users::User {
    users::create_agency_user(
        &s.db,
        &s.location.company_id,
        EMAIL,
        Some("Agency Admin"),
        Some(PASSWORD),
    )
    .await
    .unwrap()
}

async fn count(s: &TestServer, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
        .fetch_one(s.db.read())
        .await
        .unwrap()
}

/// Signs in through the form; returns the consent page the browser lands on.
async fn sign_in(b: &mut Browser<'_>, prefix: &str, params: &[(String, String)]) -> PageSeen {
    let page = b
        .get(&format!("{prefix}/oauth/chooselocation?{}", query(params)))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    let csrf = page.csrf_token();
    let signed_in = b
        .post(
            &format!("{prefix}/oauth/chooselocation/signin"),
            &form(
                params,
                &[
                    ("csrf_token", &csrf),
                    ("email", EMAIL),
                    ("password", PASSWORD),
                ],
            ),
        )
        .await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_in.html
    );
    let back = signed_in.location().unwrap().to_owned();
    assert!(
        back.starts_with(&format!("{prefix}/oauth/chooselocation?")),
        "{back}"
    );
    let consent = b.get(&back).await;
    assert_eq!(consent.status, StatusCode::OK, "{}", consent.html);
    consent
}

fn code_of(location: &str, redirect_uri: &str) -> String {
    let query = location
        .strip_prefix(&format!("{redirect_uri}?"))
        .unwrap_or_else(|| panic!("{location}"));
    let pairs: BTreeMap<String, String> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    assert_eq!(
        pairs.get("state").map(String::as_str),
        Some("st-42"),
        "{location}"
    );
    pairs["code"].clone()
}

on_both! {
    async fn sign_in_approve_and_exchange_the_code(s) {
        let user = user(s).await;
        let app = app(s, "contacts.readonly contacts.write", Distribution::Location).await;
        let redirect = redirect_uri(s, &app).await;
        let params = link(&app, &redirect, "contacts.readonly");
        let mut b = Browser::new(s);

        // Not signed in: the sign-in form, its CSRF twin in an HttpOnly, SameSite cookie.
        let page = b.get(&format!("/v2/oauth/chooselocation?{}&loginWindowOpenMode=self", query(&params))).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.html.contains("Sign in to install Test App"), "{}", page.html);
        let set_cookie = page.headers.get(SET_COOKIE).unwrap().to_str().unwrap();
        assert!(set_cookie.starts_with("hilo_sign_in="), "{set_cookie}");
        assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"), "{set_cookie}");
        assert_eq!(page.headers["content-type"], "text/html; charset=utf-8");
        assert_eq!(page.headers["x-frame-options"], "DENY");
        assert_eq!(page.headers["cache-control"], "no-store");
        assert!(page.headers["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"));
        let csrf = page.csrf_token();

        // Wrong password, then a forged form: refused, no session.
        let wrong = b.post("/v2/oauth/chooselocation/signin", &form(&params, &[("csrf_token", &csrf), ("email", EMAIL), ("password", "not the password")])).await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
        assert!(wrong.html.contains("Wrong email or password."), "{}", wrong.html);
        let csrf = wrong.csrf_token();
        let forged = b.post("/v2/oauth/chooselocation/signin", &form(&params, &[("csrf_token", "forged"), ("email", EMAIL), ("password", PASSWORD)])).await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN);
        assert_eq!(count(s, "user_sessions").await, 0);

        // Signed in: a session cookie, and the page shows the app, its scopes and the locations.
        let signed_in = b.post("/v2/oauth/chooselocation/signin", &form(&params, &[("csrf_token", &forged.csrf_token()), ("email", EMAIL), ("password", PASSWORD)])).await;
        assert_eq!(signed_in.status, StatusCode::SEE_OTHER, "{}", signed_in.html);
        assert!(b.cookies.contains_key("hilo_session"));
        assert!(!b.cookies.contains_key("hilo_sign_in"));
        assert_ne!(csrf, "");
        let consent = b.get(signed_in.location().unwrap()).await;
        assert_eq!(consent.status, StatusCode::OK, "{}", consent.html);
        for text in ["Install Test App", "<li>contacts.readonly</li>", "Main", "Other", EMAIL] {
            assert!(consent.html.contains(text), "{text}: {}", consent.html);
        }
        assert!(!consent.html.contains("<li>contacts.write</li>"), "only the requested scopes");
        let csrf = consent.csrf_token();

        // The approval needs the session's CSRF token.
        let target = format!("location:{}", s.other_location.id);
        let forged = b.post("/v2/oauth/chooselocation", &form(&params, &[("csrf_token", "forged"), ("target", &target), ("decision", "approve")])).await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN);
        assert!(forged.location().is_none());
        assert_eq!(count(s, "oauth_codes").await, 0);

        let approved = b.post("/v2/oauth/chooselocation", &form(&params, &[("csrf_token", &csrf), ("target", &target), ("decision", "approve")])).await;
        assert_eq!(approved.status, StatusCode::SEE_OTHER, "{}", approved.html);
        let code = code_of(approved.location().unwrap(), &redirect);

        // The code is a real one: it installs the chosen location, as the signed-in user.
        let token = exchange(s, &app, &code, "Location").await;
        assert_eq!(token["locationId"], s.other_location.id.as_str());
        assert_eq!(token["userId"], user.id.as_str());
        assert_eq!(token["scope"], "contacts.readonly");
        let (st, body) = s.send(s.request_as(token["access_token"].as_str().unwrap(), reqwest::Method::GET, &format!("/contacts/?locationId={}", s.other_location.id))).await;
        assert_eq!(st, StatusCode::OK, "{body}");
    }

    async fn agency_apps_install_on_the_agency(s) {
        user(s).await;
        let app = app(s, "contacts.readonly oauth.readonly oauth.write", Distribution::Agency).await;
        let redirect = redirect_uri(s, &app).await;
        let params = link(&app, &redirect, "oauth.readonly oauth.write");
        let mut b = Browser::new(s);
        let consent = sign_in(&mut b, "", &params).await;
        assert!(consent.html.contains("Test Agency (agency, all sub-accounts)"), "{}", consent.html);
        let approved = b.post("/oauth/chooselocation", &form(&params, &[("csrf_token", &consent.csrf_token()), ("target", "agency"), ("decision", "approve")])).await;
        assert_eq!(approved.status, StatusCode::SEE_OTHER, "{}", approved.html);
        let token = exchange(s, &app, &code_of(approved.location().unwrap(), &redirect), "Company").await;
        assert_eq!(token["userType"], "Company");
        assert_eq!(token["companyId"], s.location.company_id.as_str());
    }

    async fn cancel_wrong_targets_and_sign_out(s) {
        user(s).await;
        let app = app(s, "contacts.readonly", Distribution::Location).await;
        let redirect = redirect_uri(s, &app).await;
        let params = link(&app, &redirect, "contacts.readonly");
        let mut b = Browser::new(s);
        let consent = sign_in(&mut b, "", &params).await;
        let csrf = consent.csrf_token();
        assert!(!consent.html.contains("agency, all sub-accounts"), "a location app installs on locations only");

        // Cancel: back to the app with RFC 6749's access_denied, and no code.
        let cancelled = b.post("/oauth/chooselocation", &form(&params, &[("csrf_token", &csrf), ("decision", "deny")])).await;
        assert_eq!(cancelled.status, StatusCode::SEE_OTHER);
        let to = cancelled.location().unwrap();
        assert!(to.starts_with(&format!("{redirect}?error=access_denied&")) && to.ends_with("&state=st-42"), "{to}");

        // Targets the user may not pick: none, the agency (a location app), another agency's
        // location, garbage. Each re-asks, and nothing is written.
        let stranger_agency = tenancy::create_company(&s.db, "Stranger").await.unwrap();
        let stranger = tenancy::create_location(&s.db, Some(&stranger_agency.id), "Theirs").await.unwrap();
        let stranger_target = format!("location:{}", stranger.id);
        for target in [None, Some("agency"), Some(stranger_target.as_str()), Some("location:nope"), Some("x")] {
            let mut fields = form(&params, &[("csrf_token", &csrf), ("decision", "approve")]);
            if let Some(target) = target {
                fields.push(("target", target));
            }
            let page = b.post("/oauth/chooselocation", &fields).await;
            assert_eq!(page.status, StatusCode::BAD_REQUEST, "{target:?}");
            assert!(page.html.contains("Choose where to install the app."), "{target:?}");
        }
        assert_eq!(count(s, "oauth_codes").await, 0);
        assert_eq!(count(s, "app_installations").await, 0);

        // Sign out ends the session: the next visit asks to sign in again.
        let out = b.post("/oauth/chooselocation/signout", &form(&params, &[("csrf_token", &csrf)])).await;
        assert_eq!(out.status, StatusCode::SEE_OTHER);
        assert_eq!(count(s, "user_sessions").await, 0);
        let page = b.get(out.location().unwrap()).await;
        assert!(page.html.contains("Sign in to install"), "{}", page.html);
        // And the old session's forms no longer approve anything.
        let late = b.post("/oauth/chooselocation", &form(&params, &[("csrf_token", &csrf), ("target", &format!("location:{}", s.loc())), ("decision", "approve")])).await;
        assert_eq!(late.status, StatusCode::UNAUTHORIZED);
        assert!(late.location().is_none());
        assert_eq!(count(s, "oauth_codes").await, 0);
    }

    async fn bad_links_answer_a_page_and_never_redirect(s) {
        user(s).await;
        let app = app(s, "contacts.readonly", Distribution::Location).await;
        let redirect = redirect_uri(s, &app).await;
        let good = link(&app, &redirect, "contacts.readonly");
        let with = |key: &str, value: Option<&str>| -> Vec<(String, String)> {
            let mut params: Vec<(String, String)> = good.iter().filter(|(k, _)| k != key).cloned().collect();
            if let Some(value) = value {
                params.push((key.to_owned(), value.to_owned()));
            }
            params
        };
        let cases = [
            (with("client_id", Some("no-such-client")), "No app has the client id no-such-client."),
            (with("client_id", None), "The link has no client_id"),
            (with("redirect_uri", Some("https://evil.example.com/cb")), "is not registered for Test App"),
            (with("redirect_uri", Some(&format!("{redirect}/extra"))), "is not registered for Test App"),
            (with("scope", Some("contacts.readonly contacts.write")), "asks for the scope contacts.write, which Test App was not granted"),
            (with("response_type", Some("token")), "response_type=code"),
            (with("response_type", None), "response_type=code"),
        ];
        let mut b = Browser::new(s);
        for (params, message) in &cases {
            let page = b.get(&format!("/oauth/chooselocation?{}", query(params))).await;
            assert_eq!(page.status, StatusCode::BAD_REQUEST, "{params:?}");
            assert!(page.location().is_none(), "{params:?}");
            assert!(page.html.contains("This install link is not valid"), "{params:?}");
            assert!(page.html.contains(message), "{message}: {}", page.html);
        }
        // The same checks guard the forms, signed in or not.
        let consent = sign_in(&mut b, "", &good).await;
        let csrf = consent.csrf_token();
        for (params, message) in &cases {
            let page = b.post("/oauth/chooselocation", &form(params, &[("csrf_token", &csrf), ("target", &format!("location:{}", s.loc())), ("decision", "approve")])).await;
            assert_eq!(page.status, StatusCode::BAD_REQUEST, "{params:?}");
            assert!(page.location().is_none(), "{params:?}");
            assert!(page.html.contains(message), "{message}");
        }
        // A body that is not a form is refused the same way, and writes nothing.
        for path in ["/oauth/chooselocation", "/oauth/chooselocation/signin", "/oauth/chooselocation/signout"] {
            let request = b.client.post(format!("{}{path}", s.base)).header("Content-Type", "application/json").body("{}");
            let page = b.send(request).await;
            assert_eq!(page.status, StatusCode::BAD_REQUEST, "{path}");
            assert!(page.html.contains("The form could not be read."), "{path}: {}", page.html);
        }
                // A deleted app's link is dead too.
        assert!(apps::delete_app(&s.db, &app.client_id).await.unwrap());
        let page = b.get(&format!("/oauth/chooselocation?{}", query(&good))).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST);
        assert_eq!(count(s, "oauth_codes").await, 0);

        // Markup in parameters is shown as text, not run.
        let page = b.get("/oauth/chooselocation?response_type=code&client_id=%3Cscript%3Ealert(1)%3C/script%3E").await;
        assert!(!page.html.contains("<script>"), "{}", page.html);
        assert!(page.html.contains("&lt;script&gt;"), "{}", page.html);
        let json: Result<Value, _> = serde_json::from_str(&page.html);
        assert!(json.is_err(), "pages are HTML");
    }
}
