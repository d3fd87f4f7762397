//! The OAuth consent page, `GET /oauth/chooselocation` (and `/v2/oauth/chooselocation`), as
//! HighLevel's install link opens it: an agency user signs in, sees the app and the scopes it
//! asks for, picks where to install it, and approves; the browser goes to the app's redirect URI
//! with a code (`?code=…[&state=…]`) or, on cancel, with `error=access_denied`.
//!
//! The request's app, redirect URI and scopes are checked before anything else, and a request
//! that fails is answered with a page that says why: hilo never redirects to a URI the app did
//! not register.

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use axum_extra::extract::cookie::Cookie;
use axum_extra::extract::CookieJar;
use maud::{html, Markup};
use serde::Deserialize;

use super::session::{self, Session, SIGN_IN_COOKIE};
use super::Page;
use crate::oauth::apps::{self, App, Distribution};
use crate::oauth::grants::{self, AuthorizeRequest, InstallTarget};
use crate::state::AppState;
use crate::tenancy;
use crate::trace::current_trace_id;
use crate::users;

pub fn routes(router: Router<AppState>) -> Router<AppState> {
    let mut router = router;
    for prefix in ["", "/v2"] {
        router = router
            .route(
                &format!("{prefix}/oauth/chooselocation"),
                get(show).post(approve),
            )
            .route(
                &format!("{prefix}/oauth/chooselocation/signin"),
                post(sign_in),
            )
            .route(
                &format!("{prefix}/oauth/chooselocation/signout"),
                post(sign_out),
            );
    }
    router
}

/// The install link's parameters, carried unchanged through the page's forms. Other
/// parameters (HighLevel's `loginWindowOpenMode`, say) are ignored: sign-in is always in place.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ConsentQuery {
    response_type: Option<String>,
    client_id: Option<String>,
    redirect_uri: Option<String>,
    scope: Option<String>,
    state: Option<String>,
}

/// A request whose app, redirect URI and scopes were found good.
struct ConsentRequest {
    app: App,
    redirect_uri: String,
    scopes: Vec<String>,
    state: Option<String>,
}

impl ConsentRequest {
    /// The parameters again, as the query of the page's own URL.
    fn query(&self) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        query
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.app.client_id)
            .append_pair("redirect_uri", &self.redirect_uri)
            .append_pair("scope", &self.scopes.join(" "));
        if let Some(state) = &self.state {
            query.append_pair("state", state);
        }
        query.finish()
    }

    /// The same parameters as hidden inputs of a form.
    fn hidden_fields(&self) -> Markup {
        html! {
            input type="hidden" name="response_type" value="code";
            input type="hidden" name="client_id" value=(self.app.client_id);
            input type="hidden" name="redirect_uri" value=(self.redirect_uri);
            input type="hidden" name="scope" value=(self.scopes.join(" "));
            @if let Some(state) = &self.state {
                input type="hidden" name="state" value=(state);
            }
        }
    }
}

/// Where the page is served from: HighLevel's links use `/v2/oauth/…`, older ones `/oauth/…`.
fn prefix(uri: &Uri) -> &'static str {
    if uri.path().starts_with("/v2/") {
        "/v2"
    } else {
        ""
    }
}

fn bad_link(message: &str) -> Page {
    Page::error(
        StatusCode::BAD_REQUEST,
        "This install link is not valid",
        message,
    )
}

/// A failure of hilo's own: logged with the request's trace id, which the page shows.
fn internal(error: impl std::fmt::Display) -> Page {
    let trace_id = current_trace_id();
    tracing::error!(%error, "consent page");
    Page::error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        &format!("hilo could not finish this step (trace id {trace_id})."),
    )
}

/// Checks the link's parameters against the app, in the order a reader fixes them.
async fn check(state: &AppState, q: &ConsentQuery) -> Result<ConsentRequest, Page> {
    let client_id = q
        .client_id
        .as_deref()
        .filter(|c| !c.is_empty())
        .ok_or_else(|| {
            bad_link("The link has no client_id: it does not say which app to install.")
        })?;
    let app = apps::find_app(&state.db, client_id)
        .await
        .map_err(internal)?
        .filter(|app| app.client_id == client_id)
        .ok_or_else(|| bad_link(&format!("No app has the client id {client_id}.")))?;
    let redirect_uri = match q.redirect_uri.as_deref().filter(|u| !u.is_empty()) {
        Some(uri) if app.allows_redirect(uri) => uri.to_owned(),
        Some(uri) => {
            return Err(bad_link(&format!(
                "The redirect URI {uri} is not registered for {}, so hilo will not send you \
                 there.",
                app.name
            )))
        }
        None => app
            .redirect_uris
            .first()
            .cloned()
            .ok_or_else(|| bad_link(&format!("{} has no redirect URI.", app.name)))?,
    };
    if q.response_type.as_deref() != Some("code") {
        return Err(bad_link(
            "The link must ask for response_type=code: hilo offers the authorization code \
             flow only.",
        ));
    }
    let scopes: Vec<String> = match q.scope.as_deref().map(str::split_whitespace) {
        Some(requested) => requested.map(str::to_owned).collect(),
        None => Vec::new(),
    };
    if let Some(extra) = scopes.iter().find(|s| !app.scopes.contains(s)) {
        return Err(bad_link(&format!(
            "The link asks for the scope {extra}, which {} was not granted.",
            app.name
        )));
    }
    let scopes = if scopes.is_empty() {
        app.scopes.clone()
    } else {
        scopes
    };
    Ok(ConsentRequest {
        app,
        redirect_uri,
        scopes,
        state: q.state.clone(),
    })
}

/// `GET …/oauth/chooselocation`: the consent page, or the sign-in page before it.
async fn show(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    jar: CookieJar,
    query: Result<Query<ConsentQuery>, QueryRejection>,
) -> Response {
    let Ok(Query(q)) = query else {
        return bad_link("The link's parameters could not be read.").into_response();
    };
    let request = match check(&state, &q).await {
        Ok(request) => request,
        Err(page) => return page.into_response(),
    };
    match session::current(&state.db, &jar).await {
        Ok(Some(session)) => consent_page(&state, &uri, &request, &session, None)
            .await
            .into_response(),
        Ok(None) => sign_in_page(&uri, &headers, jar, &request, StatusCode::OK, None),
        Err(e) => internal(e).into_response(),
    }
}

/// The sign-in form, with a fresh CSRF token in its cookie and in the form.
fn sign_in_page(
    uri: &Uri,
    headers: &HeaderMap,
    jar: CookieJar,
    request: &ConsentRequest,
    status: StatusCode,
    error: Option<&str>,
) -> Response {
    let (csrf_token, cookie) = session::sign_in_token(headers);
    let action = format!("{}/oauth/chooselocation/signin", prefix(uri));
    let body = html! {
        h1 { "Sign in to install " (request.app.name) }
        p.muted { "Use your agency account." }
        @if let Some(error) = error { p.error role="alert" { (error) } }
        form method="post" action=(action) {
            input type="hidden" name="csrf_token" value=(csrf_token);
            (request.hidden_fields())
            label for="email" { "Email" }
            input #email type="email" name="email" autocomplete="username" required autofocus;
            label for="password" { "Password" }
            input #password type="password" name="password" autocomplete="current-password" required;
            div.actions { button.primary type="submit" { "Sign in" } }
        }
    };
    (jar.add(cookie), Page::new(status, "Sign in", body)).into_response()
}

/// Where the signed-in user may install the app: each location of their agency, and the agency
/// itself for an app distributed to agencies.
async fn consent_page(
    state: &AppState,
    uri: &Uri,
    request: &ConsentRequest,
    session: &Session,
    error: Option<&str>,
) -> Page {
    let company_id = &session.user.company_id;
    let (locations, company) = match tokio::try_join!(
        tenancy::list_company_locations(&state.db, company_id),
        tenancy::require_company(&state.db, company_id),
    ) {
        Ok(found) => found,
        Err(e) => return internal(e),
    };
    let app = &request.app;
    let agency = app.distribution == Distribution::Agency;
    let prefix = prefix(uri);
    let body = html! {
        h1 { "Install " (app.name) }
        @if let Some(error) = error { p.error role="alert" { (error) } }
        p { (app.name) " asks for access to:" }
        ul.scopes { @for scope in &request.scopes { li { (scope) } } }
        @if locations.is_empty() && !agency {
            p.error { "Your agency has no sub-account to install it on." }
        } @else {
            form method="post" action={ (prefix) "/oauth/chooselocation" } {
                input type="hidden" name="csrf_token" value=(session.csrf_token);
                (request.hidden_fields())
                fieldset {
                    legend { "Install on" }
                    @if agency {
                        label {
                            input type="radio" name="target" value="agency" checked;
                            " " (company.name) " (agency, all sub-accounts)"
                        }
                    }
                    @for (i, location) in locations.iter().enumerate() {
                        label {
                            input type="radio" name="target" value={ "location:" (location.id) }
                                checked[!agency && i == 0];
                            " " (location.name)
                        }
                    }
                }
                div.actions {
                    button.primary type="submit" name="decision" value="approve" { "Approve" }
                    button type="submit" name="decision" value="deny" { "Cancel" }
                }
            }
        }
        form method="post" action={ (prefix) "/oauth/chooselocation/signout" } {
            input type="hidden" name="csrf_token" value=(session.csrf_token);
            (request.hidden_fields())
            p.muted {
                "Signed in as " (session.user.email) " · "
                button.link type="submit" { "Sign out" }
            }
        }
    };
    Page::new(StatusCode::OK, format!("Install {}", app.name), body)
}

/// What each of the page's forms posts: its CSRF token, the link's parameters again, and its
/// own fields.
#[derive(Deserialize)]
struct ConsentForm<T> {
    csrf_token: Option<String>,
    #[serde(flatten)]
    request: ConsentQuery,
    #[serde(flatten)]
    fields: T,
}

/// A posted form whose link parameters were checked, or the page that says why not.
struct CheckedForm<T> {
    csrf_token: Option<String>,
    request: ConsentRequest,
    fields: T,
}

async fn read_form<T>(
    state: &AppState,
    form: Result<Form<ConsentForm<T>>, FormRejection>,
) -> Result<CheckedForm<T>, Response> {
    let Ok(Form(form)) = form else {
        return Err(bad_link("The form could not be read.").into_response());
    };
    let request = check(state, &form.request)
        .await
        .map_err(IntoResponse::into_response)?;
    Ok(CheckedForm {
        csrf_token: form.csrf_token,
        request,
        fields: form.fields,
    })
}

#[derive(Deserialize)]
struct SignInFields {
    email: Option<String>,
    password: Option<String>,
}

/// `POST …/oauth/chooselocation/signin`: on success, back to the consent page signed in.
async fn sign_in(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    jar: CookieJar,
    form: Result<Form<ConsentForm<SignInFields>>, FormRejection>,
) -> Response {
    let (csrf_token, form, request) = match read_form(&state, form).await {
        Ok(form) => (form.csrf_token, form.fields, form.request),
        Err(page) => return page,
    };
    let expected = jar.get(SIGN_IN_COOKIE).map(Cookie::value);
    if !session::tokens_match(expected, csrf_token.as_deref()) {
        let message = "The sign-in form expired or did not come from this page. Try again.";
        return sign_in_page(
            &uri,
            &headers,
            jar,
            &request,
            StatusCode::FORBIDDEN,
            Some(message),
        );
    }
    let (email, password) = (
        form.email.unwrap_or_default(),
        form.password.unwrap_or_default(),
    );
    let user = match users::sign_in(&state.db, &email, &password).await {
        Ok(Some(user)) => user,
        Ok(None) => {
            let message = "Wrong email or password.";
            return sign_in_page(
                &uri,
                &headers,
                jar,
                &request,
                StatusCode::UNAUTHORIZED,
                Some(message),
            );
        }
        Err(e) => return internal(e).into_response(),
    };
    let cookie = match session::start(&state.db, user, &headers).await {
        Ok((_, cookie)) => cookie,
        Err(e) => return internal(e).into_response(),
    };
    let jar = jar
        .remove(Cookie::build(SIGN_IN_COOKIE).path("/"))
        .add(cookie);
    let back = format!("{}/oauth/chooselocation?{}", prefix(&uri), request.query());
    (jar, Redirect::to(&back)).into_response()
}

/// The sign-out form has no fields of its own.
#[derive(Deserialize)]
struct NoFields {}

/// `POST …/oauth/chooselocation/signout`: ends the session and shows the sign-in page again.
async fn sign_out(
    State(state): State<AppState>,
    uri: Uri,
    jar: CookieJar,
    form: Result<Form<ConsentForm<NoFields>>, FormRejection>,
) -> Response {
    let (csrf_token, request) = match read_form(&state, form).await {
        Ok(form) => (form.csrf_token, form.request),
        Err(page) => return page,
    };
    let jar = match session::current(&state.db, &jar).await {
        Ok(Some(session))
            if !session::tokens_match(Some(&session.csrf_token), csrf_token.as_deref()) =>
        {
            return Page::error(
                StatusCode::FORBIDDEN,
                "Not signed out",
                "This form expired or did not come from this page.",
            )
            .into_response()
        }
        Ok(_) => match session::end(&state.db, jar).await {
            Ok(jar) => jar,
            Err(e) => return internal(e).into_response(),
        },
        Err(e) => return internal(e).into_response(),
    };
    let back = format!("{}/oauth/chooselocation?{}", prefix(&uri), request.query());
    (jar, Redirect::to(&back)).into_response()
}

#[derive(Deserialize)]
struct DecisionFields {
    /// `agency`, or `location:ID`.
    target: Option<String>,
    /// `approve` or `deny`.
    decision: Option<String>,
}

/// `POST …/oauth/chooselocation`: the user approved (a code for the chosen target) or
/// cancelled (`error=access_denied`); either way the browser goes to the redirect URI.
async fn approve(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    jar: CookieJar,
    form: Result<Form<ConsentForm<DecisionFields>>, FormRejection>,
) -> Response {
    let (csrf_token, form, request) = match read_form(&state, form).await {
        Ok(form) => (form.csrf_token, form.fields, form.request),
        Err(page) => return page,
    };
    let session = match session::current(&state.db, &jar).await {
        Ok(Some(session)) => session,
        Ok(None) => {
            let message = "Your sign-in has expired. Sign in again to continue.";
            return sign_in_page(
                &uri,
                &headers,
                jar,
                &request,
                StatusCode::UNAUTHORIZED,
                Some(message),
            );
        }
        Err(e) => return internal(e).into_response(),
    };
    if !session::tokens_match(Some(&session.csrf_token), csrf_token.as_deref()) {
        let message = "This form expired or did not come from this page. Choose again.";
        return with_status(
            consent_page(&state, &uri, &request, &session, Some(message)).await,
            StatusCode::FORBIDDEN,
        );
    }
    if form.decision.as_deref() == Some("deny") {
        return Redirect::to(&denied_url(&request)).into_response();
    }
    let target = match install_target(&state, &request, &session, form.target.as_deref()).await {
        Ok(Some(target)) => target,
        Ok(None) => {
            let message = "Choose where to install the app.";
            return with_status(
                consent_page(&state, &uri, &request, &session, Some(message)).await,
                StatusCode::BAD_REQUEST,
            );
        }
        Err(e) => return internal(e).into_response(),
    };
    let authorization = grants::authorize(
        &state.db,
        &state.oauth,
        AuthorizeRequest {
            scopes: Some(request.scopes.clone()),
            redirect_uri: Some(request.redirect_uri.clone()),
            user_id: Some(session.user.id.clone()),
            state: request.state.clone(),
            app: request.app,
            target,
        },
    )
    .await;
    match authorization {
        Ok(authorization) => Redirect::to(&authorization.redirect_url).into_response(),
        Err(e) => internal(e).into_response(),
    }
}

fn with_status(mut page: Page, status: StatusCode) -> Response {
    if page.status.is_success() {
        page.status = status;
    }
    page.into_response()
}

/// The chosen target, if it is one this user may install this app on.
async fn install_target(
    state: &AppState,
    request: &ConsentRequest,
    session: &Session,
    target: Option<&str>,
) -> anyhow::Result<Option<InstallTarget>> {
    let company_id = &session.user.company_id;
    match target {
        Some("agency") if request.app.distribution == Distribution::Agency => {
            Ok(Some(InstallTarget::Agency {
                company_id: company_id.clone(),
                locations: Vec::new(),
            }))
        }
        Some(target) => {
            let Some(id) = target.strip_prefix("location:") else {
                return Ok(None);
            };
            let location = tenancy::find_location(&state.db, id).await?;
            Ok(location
                .filter(|l| &l.company_id == company_id)
                .map(|l| InstallTarget::Location(l.id)))
        }
        None => Ok(None),
    }
}

/// `redirect_uri?error=access_denied[&state=…]` (RFC 6749 §4.1.2.1).
fn denied_url(request: &ConsentRequest) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("error", "access_denied");
    query.append_pair("error_description", "The user cancelled the install.");
    if let Some(state) = &request.state {
        query.append_pair("state", state);
    }
    let uri = &request.redirect_uri;
    let sep = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{sep}{}", query.finish())
}
