//! Flow files: a trigger, then steps. TOML, read with `toml`; the format's JSON Schema comes
//! from these types (`hilo flows schema`), and [`compile`] checks a parsed file against the
//! catalog before anything runs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::catalog::{Catalog, Item, Kind, ParamPlace};
use crate::template::Templates;

/// A flow file.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FlowFile {
    /// Unique among the flows of one runner; it keys the flow's cursor and history.
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// The location (sub-account) id, given to templates as `location` and filled into any
    /// `locationId` parameter the flow leaves out. May itself be a template over `env`:
    /// `"{{ env.HILO_LOCATION_ID }}"`.
    #[serde(default)]
    pub location: Option<String>,
    pub trigger: TriggerSpec,
    #[serde(default)]
    pub steps: Vec<StepSpec>,
}

/// Either a polling trigger from the catalog (`poll`) or a webhook received on the runner's
/// listener (`webhook`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TriggerSpec {
    /// A catalog trigger id, e.g. `contacts.search_contacts`.
    #[serde(default)]
    pub poll: Option<String>,
    /// How often to poll, 1 to 15 minutes: `"1m"`, `"90s"`, `"15m"`.
    #[serde(default)]
    pub every: Option<String>,
    /// The item field that tells when it changed (`dateUpdated`, `dateAdded`); defaults to
    /// the catalog's update key. With one, each change of an item is an item of its own;
    /// without, each id is seen once.
    #[serde(default)]
    pub since: Option<String>,
    /// Run the steps for what exists already on the first poll, instead of starting from now.
    #[serde(default)]
    pub backfill: bool,
    /// How far behind the newest item each poll looks again, for items that reached the API
    /// after newer ones (a slow write, a search index that lags): `"5s"` unless given, up to
    /// `"10m"`. Items seen before are not run again.
    #[serde(default)]
    pub lag: Option<String>,
    /// The trigger's parameters (path, query, `body`), templated with `location` and `flow`.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, Value>")]
    pub with: Map<String, Value>,
    /// A path on the runner's listener (`/hooks/leads`) that takes JSON posts as items.
    #[serde(default)]
    pub webhook: Option<String>,
    /// With `webhook`: only bodies whose `type` is this (`TaskComplete`, `ContactCreate`…).
    #[serde(default)]
    pub event: Option<String>,
    /// With `webhook`: refuse posts whose signature (`x-ghl-signature`, else `x-wh-signature`)
    /// does not verify against these keys.
    #[serde(default)]
    pub signed: Option<Signer>,
}

/// Whose keys sign a webhook flow's posts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Signer {
    /// HighLevel's published keys.
    Highlevel,
    /// The keys of the hilo server the flow calls (`GET /hilo/webhooks/keys`).
    Hilo,
}

/// One step: exactly one of `action`, `http` or `filter`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StepSpec {
    /// The name later steps read its answer by (`steps.ID`); defaults to `step1`, `step2`…
    #[serde(default)]
    pub id: Option<String>,
    /// A catalog item id: an action, or a trigger used as a read.
    #[serde(default)]
    pub action: Option<String>,
    /// The action's parameters (path, query, `body`), templated.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, Value>")]
    pub with: Map<String, Value>,
    /// A request to any other system.
    #[serde(default)]
    pub http: Option<HttpSpec>,
    /// An expression; when false the run stops here, as done.
    #[serde(default)]
    pub filter: Option<String>,
    #[serde(default)]
    pub retry: Option<RetrySpec>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpSpec {
    /// Defaults to POST.
    #[serde(default = "default_http_method")]
    pub method: String,
    pub url: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// A JSON body, templated.
    #[serde(default)]
    pub body: Option<Value>,
    /// The statuses that count as success; any 2xx when left out.
    #[serde(default)]
    pub expect: Vec<u16>,
}

fn default_http_method() -> String {
    "POST".to_owned()
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetrySpec {
    /// Tries in all, the first included (default 3).
    #[serde(default = "default_attempts")]
    pub attempts: u32,
    /// The wait before the second try, doubled for each next one (default `"1s"`).
    #[serde(default = "default_backoff")]
    pub backoff: String,
}

fn default_attempts() -> u32 {
    3
}

fn default_backoff() -> String {
    "1s".to_owned()
}

/// A flow checked against the catalog, ready to run.
#[derive(Debug, Clone)]
pub struct Flow {
    pub name: String,
    pub location: Option<String>,
    /// What templates see as `env`.
    pub env: Value,
    pub trigger: Trigger,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone)]
pub enum Trigger {
    Poll(PollTrigger),
    Webhook {
        path: String,
        event: Option<String>,
        signed: Option<Signer>,
    },
}

#[derive(Debug, Clone)]
pub struct PollTrigger {
    pub item: &'static Item,
    pub every: Duration,
    pub since: Option<String>,
    pub backfill: bool,
    pub lag: Duration,
    pub with: Map<String, Value>,
}

impl PollTrigger {
    pub fn lag_ms(&self) -> i64 {
        i64::try_from(self.lag.as_millis()).unwrap_or(i64::MAX)
    }
}

/// The lag a trigger leaves out: a few seconds cover a write committed late on one machine
/// and the refresh of a search index such as HighLevel's.
const DEFAULT_LAG: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
pub struct Step {
    pub id: String,
    pub kind: StepKind,
    pub retry: StepRetry,
}

#[derive(Debug, Clone)]
pub enum StepKind {
    Call {
        item: &'static Item,
        with: Map<String, Value>,
    },
    Http(HttpSpec),
    Filter(String),
}

#[derive(Debug, Clone, Copy)]
pub struct StepRetry {
    pub attempts: u32,
    pub backoff: Duration,
}

impl Default for StepRetry {
    fn default() -> Self {
        StepRetry {
            attempts: default_attempts(),
            backoff: Duration::from_secs(1),
        }
    }
}

impl Flow {
    /// Every scope the flow's calls need.
    pub fn scopes(&self) -> BTreeSet<String> {
        let trigger = match &self.trigger {
            Trigger::Poll(poll) => Some(poll.item),
            Trigger::Webhook { .. } => None,
        };
        let steps = self.steps.iter().filter_map(|s| match &s.kind {
            StepKind::Call { item, .. } => Some(*item),
            _ => None,
        });
        trigger
            .into_iter()
            .chain(steps)
            .flat_map(|i| i.scopes.iter().cloned())
            .collect()
    }
}

/// What is wrong with a flow file, each problem with where it is.
#[derive(Debug, thiserror::Error)]
#[error("{}", problems.join("\n"))]
pub struct Invalid {
    pub problems: Vec<String>,
}

/// Reads and checks a flow file; `env` is what its templates see as `env`.
pub fn load(path: &Path, env: &Value) -> anyhow::Result<Flow> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
    parse(&text, env).map_err(|e| anyhow::anyhow!("{}:\n{e}", path.display()))
}

pub fn parse(text: &str, env: &Value) -> Result<Flow, Invalid> {
    let file: FlowFile = toml::from_str(text).map_err(|e| Invalid {
        problems: vec![e.to_string()],
    })?;
    compile(&file, Catalog::builtin(), env)
}

/// The process's environment variables, as templates see them.
pub fn process_env() -> Value {
    Value::Object(
        std::env::vars()
            .map(|(k, v)| (k, Value::String(v)))
            .collect(),
    )
}

/// Checks a parsed file against the catalog: known ids of the right kind, required
/// parameters present and no unknown ones, intervals in range, templates that parse.
pub fn compile(file: &FlowFile, catalog: &'static Catalog, env: &Value) -> Result<Flow, Invalid> {
    let mut problems = Vec::new();
    let templates = Templates::new();
    if file.name.trim().is_empty() {
        problems.push("name: must not be empty".to_owned());
    }
    let location = match &file.location {
        None => None,
        Some(template) => match templates.render(
            &Value::from(template.as_str()),
            &serde_json::json!({"env": env}),
        ) {
            Ok(Value::String(location)) if !location.trim().is_empty() => Some(location),
            Ok(_) => {
                problems.push(format!("location: {template:?} is empty"));
                None
            }
            Err(e) => {
                problems.push(format!("location: {e}"));
                None
            }
        },
    };
    let trigger = compile_trigger(&file.trigger, catalog, &templates, &mut problems);
    let mut ids = BTreeSet::new();
    let mut steps = Vec::new();
    for (n, spec) in file.steps.iter().enumerate() {
        let at = format!("steps[{n}]");
        let id = spec.id.clone().unwrap_or_else(|| format!("step{}", n + 1));
        if !ids.insert(id.clone()) {
            problems.push(format!("{at}.id: {id:?} is used twice"));
        }
        if let Some(step) = compile_step(&at, id, spec, catalog, &templates, &mut problems) {
            steps.push(step);
        }
    }
    match trigger {
        Some(trigger) if problems.is_empty() => Ok(Flow {
            name: file.name.clone(),
            location,
            env: env.clone(),
            trigger,
            steps,
        }),
        _ => Err(Invalid { problems }),
    }
}

fn compile_trigger(
    spec: &TriggerSpec,
    catalog: &'static Catalog,
    templates: &Templates,
    problems: &mut Vec<String>,
) -> Option<Trigger> {
    match (&spec.poll, &spec.webhook) {
        (Some(id), None) => {
            let Some(item) = catalog.get(id) else {
                problems.push(format!("trigger.poll: {id:?} is not in the catalog"));
                return None;
            };
            if item.kind != Kind::Trigger || item.list_field.is_none() && item.item_field.is_none()
            {
                problems.push(format!("trigger.poll: {id} is not a polling trigger"));
                return None;
            }
            let every = match spec.every.as_deref().map(parse_duration) {
                None => {
                    problems.push("trigger.every: required with poll (1m to 15m)".to_owned());
                    return None;
                }
                Some(Err(e)) => {
                    problems.push(format!("trigger.every: {e}"));
                    return None;
                }
                Some(Ok(d)) => d,
            };
            if !(60..=900).contains(&every.as_secs()) {
                problems.push(format!(
                    "trigger.every: {} is outside 1m to 15m",
                    spec.every.as_deref().unwrap_or_default()
                ));
            }
            for (field, set) in [
                ("event", spec.event.is_some()),
                ("signed", spec.signed.is_some()),
            ] {
                if set {
                    problems.push(format!("trigger.{field}: only with webhook"));
                }
            }
            let lag = match spec.lag.as_deref().map(parse_duration) {
                None => DEFAULT_LAG,
                Some(Ok(lag)) if lag <= Duration::from_secs(600) => lag,
                Some(Ok(_)) => {
                    problems.push("trigger.lag: at most 10m".to_owned());
                    DEFAULT_LAG
                }
                Some(Err(e)) => {
                    problems.push(format!("trigger.lag: {e}"));
                    DEFAULT_LAG
                }
            };
            check_params("trigger", item, &spec.with, templates, problems);
            let since = spec.since.clone().or_else(|| item.update_key.clone());
            Some(Trigger::Poll(PollTrigger {
                item,
                every,
                since,
                backfill: spec.backfill,
                lag,
                with: spec.with.clone(),
            }))
        }
        (None, Some(path)) => {
            if !path.starts_with('/') {
                problems.push(format!("trigger.webhook: {path:?} must start with /"));
            }
            for (field, set) in [
                ("every", spec.every.is_some()),
                ("since", spec.since.is_some()),
                ("backfill", spec.backfill),
                ("lag", spec.lag.is_some()),
                ("with", !spec.with.is_empty()),
            ] {
                if set {
                    problems.push(format!("trigger.{field}: only with poll"));
                }
            }
            Some(Trigger::Webhook {
                path: path.clone(),
                event: spec.event.clone(),
                signed: spec.signed,
            })
        }
        _ => {
            problems.push("trigger: give exactly one of poll or webhook".to_owned());
            None
        }
    }
}

fn compile_step(
    at: &str,
    id: String,
    spec: &StepSpec,
    catalog: &'static Catalog,
    templates: &Templates,
    problems: &mut Vec<String>,
) -> Option<Step> {
    let retry = match &spec.retry {
        None => StepRetry::default(),
        Some(r) => match parse_duration(&r.backoff) {
            Ok(backoff) if r.attempts >= 1 => StepRetry {
                attempts: r.attempts,
                backoff,
            },
            Ok(_) => {
                problems.push(format!("{at}.retry.attempts: at least 1"));
                return None;
            }
            Err(e) => {
                problems.push(format!("{at}.retry.backoff: {e}"));
                return None;
            }
        },
    };
    let kind = match (&spec.action, &spec.http, &spec.filter) {
        (Some(action), None, None) => {
            let Some(item) = catalog.get(action) else {
                problems.push(format!("{at}.action: {action:?} is not in the catalog"));
                return None;
            };
            check_params(at, item, &spec.with, templates, problems);
            StepKind::Call {
                item,
                with: spec.with.clone(),
            }
        }
        (None, Some(http), None) => {
            if let Err(e) = reqwest::Method::from_bytes(http.method.as_bytes()) {
                problems.push(format!("{at}.http.method: {e}"));
            }
            let templated =
                serde_json::json!({"url": http.url, "headers": http.headers, "body": http.body});
            if let Err(e) = templates.check(&templated) {
                problems.push(format!("{at}.http: {e}"));
            }
            if !spec.with.is_empty() {
                problems.push(format!("{at}.with: only with action"));
            }
            StepKind::Http(http.clone())
        }
        (None, None, Some(expression)) => {
            if let Err(e) = templates.check_expression(expression) {
                problems.push(format!("{at}.filter: {e}"));
            }
            StepKind::Filter(expression.clone())
        }
        _ => {
            problems.push(format!("{at}: give exactly one of action, http or filter"));
            return None;
        }
    };
    Some(Step { id, kind, retry })
}

/// Required parameters present (a missing `locationId` is filled from the flow's location),
/// no unknown ones, and templates that parse.
fn check_params(
    at: &str,
    item: &Item,
    with: &Map<String, Value>,
    templates: &Templates,
    problems: &mut Vec<String>,
) {
    let params = item.params();
    for name in with.keys() {
        if !params.iter().any(|p| &p.name == name) {
            let known: Vec<_> = params.iter().map(|p| p.name.as_str()).collect();
            problems.push(format!(
                "{at}.with.{name}: {} takes no such parameter (it takes: {})",
                item.id,
                known.join(", ")
            ));
        }
    }
    for param in params.iter().filter(|p| p.required) {
        let filled = param.name == "locationId" && param.place == ParamPlace::Query;
        // A search's body is built by the poller when the flow gives none.
        let built = param.place == ParamPlace::Body && item.is_body_search();
        if !with.contains_key(&param.name) && !filled && !built {
            problems.push(format!("{at}.with.{}: required by {}", param.name, item.id));
        }
    }
    if let Err(e) = templates.check(&Value::Object(with.clone())) {
        problems.push(format!("{at}.with: {e}"));
    }
}

/// `90s`, `5m`, `1h`, `500ms`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 90s or 5m"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        "h" => Ok(Duration::from_secs(n * 3600)),
        _ => Err(format!("{text:?} is not a duration like 90s or 5m")),
    }
}

/// The JSON Schema of the flow file format.
pub fn json_schema() -> Value {
    serde_json::to_value(schemars::schema_for!(FlowFile)).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
        name = "contact-digest"
        location = "{{ env.LOC }}"
        [trigger]
        poll = "contacts.search_contacts"
        every = "5m"
        [[steps]]
        id = "tasks"
        action = "contacts.get_contact_tasks"
        with = { contactId = "{{ trigger.id }}" }
        [[steps]]
        filter = "trigger.email"
        [[steps]]
        http = { url = "http://example.test/in", body = { contact = "{{ trigger }}" } }
        retry = { attempts = 5, backoff = "2s" }
    "#;

    #[test]
    fn a_good_flow_compiles() {
        let flow = parse(GOOD, &serde_json::json!({"LOC": "loc1"})).unwrap();
        assert_eq!(flow.location.as_deref(), Some("loc1"));
        assert_eq!(flow.steps.len(), 3);
        assert_eq!(flow.steps[1].id, "step2");
        assert_eq!(flow.steps[2].retry.attempts, 5);
        let Trigger::Poll(poll) = &flow.trigger else {
            panic!("a poll trigger")
        };
        assert_eq!(poll.every, Duration::from_secs(300));
        assert_eq!(
            flow.scopes().into_iter().collect::<Vec<_>>(),
            ["contacts.readonly"]
        );
    }

    fn problems(text: &str) -> String {
        parse(text, &Value::Null).unwrap_err().to_string()
    }

    #[test]
    fn problems_name_where_they_are() {
        let bad = r#"
            name = "x"
            [trigger]
            poll = "contacts.create_contact"
            every = "5m"
        "#;
        assert!(problems(bad)
            .contains("trigger.poll: contacts.create_contact is not a polling trigger"));
        let bad = r#"
            name = "x"
            [trigger]
            poll = "contacts.search_contacts"
            every = "20m"
            [[steps]]
            action = "contacts.create_contact_task"
            with = { contactid = "1" }
            [[steps]]
            action = "contacts.nope"
            [[steps]]
            filter = "a ==="
            [[steps]]
            http = { url = "x" }
            filter = "y"
        "#;
        let p = problems(bad);
        for expected in [
            "trigger.every: 20m is outside 1m to 15m",
            "steps[0].with.contactid: contacts.create_contact_task takes no such parameter (it takes: contactId, body)",
            "steps[0].with.contactId: required by contacts.create_contact_task",
            "steps[0].with.body: required by contacts.create_contact_task",
            "steps[1].action: \"contacts.nope\" is not in the catalog",
            "steps[2].filter:",
            "steps[3]: give exactly one of action, http or filter",
        ] {
            assert!(p.contains(expected), "{expected:?} not in:\n{p}");
        }
        assert!(
            problems("name = \"x\"\n[trigger]\nwebhook = \"/in\"\nevery = \"1m\"")
                .contains("trigger.every: only with poll")
        );
        assert!(problems(
            "name = \"x\"\n[trigger]\npoll = \"contacts.search_contacts\"\nevery = \"1m\"\nsigned = \"hilo\""
        )
        .contains("trigger.signed: only with webhook"));
        assert!(
            problems("name = \"x\"\n[trigger]\nwebhook = \"/in\"\nsigned = \"me\"")
                .contains("unknown variant")
        );
        assert!(
            problems("name = \"x\"\nsurprise = 1\n[trigger]\nwebhook = \"/in\"")
                .contains("unknown field `surprise`")
        );
        assert!(problems("name = \"x\"\n[trigger]\n").contains("exactly one of poll or webhook"));
        assert!(problems(GOOD).contains("location: \"{{ env.LOC }}\" is empty"));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("15m").unwrap(), Duration::from_secs(900));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert!(parse_duration("5 minutes").is_err());
        assert!(parse_duration("m").is_err());
    }

    #[test]
    fn the_schema_names_the_fields() {
        let schema = json_schema().to_string();
        for field in [
            "trigger", "steps", "poll", "webhook", "signed", "every", "http", "filter", "retry",
        ] {
            assert!(schema.contains(&format!("\"{field}\"")), "{field}");
        }
    }
}
