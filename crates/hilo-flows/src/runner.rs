//! Runs flows: polls on a schedule (or takes webhook posts), then each new item's steps in
//! order, each step retried by its policy, every answer and outcome kept in the store. A run
//! cut short resumes at its first unfinished step; a finished run is never run again.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use hilo_sdk::webhooks::PublicKeys;
use hilo_sdk::Client;
use serde_json::{json, Map, Value};
use tokio::sync::Notify;

use crate::flow::{Flow, HttpSpec, PollTrigger, Signer, Step, StepKind, Trigger};
use crate::poll::{PollRequest, Polled};
use crate::request;
use crate::store::{Advance, OpenRun, RunStatus, StepRecord, Store};
use crate::template::Templates;
use crate::webhook;

/// What a poll or a dry run did.
#[derive(Debug, Default)]
pub struct Report {
    /// New items found.
    pub items: usize,
    /// Runs by outcome.
    pub done: usize,
    pub filtered: usize,
    pub failed: usize,
    /// A dry run's account of what would happen, line by line.
    pub lines: Vec<String>,
}

impl Report {
    fn count(&mut self, status: RunStatus) {
        match status {
            RunStatus::Done => self.done += 1,
            RunStatus::Filtered => self.filtered += 1,
            RunStatus::Failed => self.failed += 1,
        }
    }
}

pub struct Runner {
    client: Client,
    http: reqwest::Client,
    store: Store,
    templates: Templates,
    page_size: usize,
    stopping: AtomicBool,
    stop: Notify,
}

/// Why a step did not succeed.
enum StepError {
    /// Trying again cannot help (a 4xx other than 429, a bad template).
    Permanent(String),
    /// It may work next time (a connection error, a 5xx, a 429 after the SDK's own retries).
    Transient(String),
}

impl StepError {
    fn message(&self) -> &str {
        match self {
            StepError::Permanent(m) | StepError::Transient(m) => m,
        }
    }
}

impl From<hilo_sdk::Error> for StepError {
    fn from(error: hilo_sdk::Error) -> Self {
        let message = error.to_string();
        match (&error, error.status()) {
            (_, Some(status)) if status == 429 || status >= 500 => StepError::Transient(message),
            (hilo_sdk::Error::Transport(_), _) => StepError::Transient(message),
            _ => StepError::Permanent(message),
        }
    }
}

impl Runner {
    pub fn new(client: Client, store: Store) -> Runner {
        Runner {
            client,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap_or_default(),
            store,
            templates: Templates::new(),
            page_size: 100,
            stopping: AtomicBool::new(false),
            stop: Notify::new(),
        }
    }

    /// How many items a poll's page asks for (100 by default).
    pub fn with_page_size(mut self, page_size: usize) -> Runner {
        self.page_size = page_size.max(1);
        self
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Asks [`serve`](Runner::serve) and running polls to stop after the item at hand.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        self.stop.notify_waiters();
    }

    fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// One poll of a polling flow: every new item run, the cursor moved past each.
    pub async fn poll(&self, flow: &Flow) -> anyhow::Result<Report> {
        let Trigger::Poll(trigger) = &flow.trigger else {
            return self.drain_inbox(flow).await;
        };
        let mut cursor = self.store.cursor(&flow.name).await?;
        let (items, primed) = self
            .poll_request(flow, trigger)
            .fetch(&self.client, &self.templates, &cursor)
            .await?;
        if let Some(primed) = primed {
            cursor = primed;
            self.store.save_cursor(&flow.name, &cursor).await?;
        }
        let mut report = Report {
            items: items.len(),
            ..Report::default()
        };
        for polled in &items {
            if self.stopping() {
                return Ok(report);
            }
            let mut next = cursor.clone();
            next.advance(polled, trigger.lag_ms());
            let advance = Advance::Cursor {
                flow: &flow.name,
                cursor: &next,
            };
            if let Some(status) = self
                .run_item(flow, &polled.key, &polled.item, advance)
                .await?
            {
                report.count(status);
            }
            cursor = next;
        }
        // The paging cursor only resumes a poll cut short; the next poll starts from the
        // watermark, so that items changed meanwhile are found wherever they now sort.
        if cursor.after.is_some() {
            cursor.after = None;
            self.store.save_cursor(&flow.name, &cursor).await?;
        }
        Ok(report)
    }

    fn poll_request<'a>(&self, flow: &'a Flow, trigger: &'a PollTrigger) -> PollRequest<'a> {
        PollRequest {
            trigger,
            location: flow.location.as_deref(),
            context: json!({"location": flow.location, "flow": flow.name, "env": flow.env}),
            page_size: self.page_size,
        }
    }

    /// Runs a webhook flow's queued posts, oldest first.
    pub async fn drain_inbox(&self, flow: &Flow) -> anyhow::Result<Report> {
        let mut report = Report::default();
        loop {
            let queued = self.store.inbox(&flow.name).await?;
            if queued.is_empty() || self.stopping() {
                return Ok(report);
            }
            report.items += queued.len();
            for (id, body) in queued {
                if self.stopping() {
                    return Ok(report);
                }
                let key = format!("inbox:{id}");
                if let Some(status) = self
                    .run_item(flow, &key, &body, Advance::Inbox { id: &id })
                    .await?
                {
                    report.count(status);
                }
            }
        }
    }

    /// Runs one item's steps (resuming a run cut short) and records the outcome with
    /// `advance`; `None` when the item had run already.
    async fn run_item(
        &self,
        flow: &Flow,
        key: &str,
        item: &Value,
        advance: Advance<'_>,
    ) -> anyhow::Result<Option<RunStatus>> {
        let (run_id, mut done) = match self.store.open_run(&flow.name, key, item).await? {
            OpenRun::Finished => {
                // Seen before a restart: only the cursor still has to move.
                if let Advance::Cursor { flow, cursor } = advance {
                    self.store.save_cursor(flow, cursor).await?;
                }
                return Ok(None);
            }
            OpenRun::Pending { id, done } => (id, done),
        };
        let mut status = RunStatus::Done;
        let mut error = None;
        for (position, step) in flow.steps.iter().enumerate() {
            if done.contains_key(&step.id) {
                continue;
            }
            let context = run_context(flow, item, &done);
            let (outcome, attempts) = self.run_step(&run_id, step, &context).await;
            let (record_status, output, message) = match &outcome {
                Ok(StepOutcome::Answer(output)) => ("done", Some(output), None),
                Ok(StepOutcome::Stop) => ("filtered", None, None),
                Err(e) => ("failed", None, Some(e.message())),
            };
            self.store
                .record_step(
                    &run_id,
                    &StepRecord {
                        step: &step.id,
                        position,
                        status: record_status,
                        attempts,
                        output,
                        error: message,
                    },
                )
                .await?;
            match outcome {
                Ok(StepOutcome::Answer(output)) => {
                    done.insert(step.id.clone(), output);
                }
                Ok(StepOutcome::Stop) => {
                    status = RunStatus::Filtered;
                    break;
                }
                Err(e) => {
                    tracing::warn!(flow = %flow.name, step = %step.id, error = e.message(), "step failed");
                    status = RunStatus::Failed;
                    error = Some(format!("{}: {}", step.id, e.message()));
                    break;
                }
            }
        }
        self.store
            .finish_run(&run_id, status, error.as_deref(), advance)
            .await?;
        Ok(Some(status))
    }

    /// A step with its retries; the outcome and how many tries it took.
    async fn run_step(
        &self,
        run_id: &str,
        step: &Step,
        context: &Value,
    ) -> (Result<StepOutcome, StepError>, u32) {
        let mut wait = step.retry.backoff;
        for attempt in 1..=step.retry.attempts {
            match self.try_step(run_id, step, context).await {
                Err(StepError::Transient(message)) if attempt < step.retry.attempts => {
                    tracing::info!(step = %step.id, attempt, %message, "retrying step");
                    tokio::time::sleep(wait).await;
                    wait = wait.saturating_mul(2);
                }
                outcome => return (outcome, attempt),
            }
        }
        (Err(StepError::Permanent("no attempt made".into())), 0)
    }

    async fn try_step(
        &self,
        run_id: &str,
        step: &Step,
        context: &Value,
    ) -> Result<StepOutcome, StepError> {
        let render = |v: &Value| {
            self.templates
                .render(v, context)
                .map_err(|e| StepError::Permanent(e.to_string()))
        };
        match &step.kind {
            StepKind::Filter(expression) => {
                let holds = self
                    .templates
                    .holds(expression, context)
                    .map_err(|e| StepError::Permanent(e.to_string()))?;
                Ok(if holds {
                    StepOutcome::Answer(json!({"passed": true}))
                } else {
                    StepOutcome::Stop
                })
            }
            StepKind::Call { item, with } => {
                let with = as_map(render(&Value::Object(with.clone()))?);
                let location = context["location"].as_str();
                let request = request::call(&self.client, item, &with, location)
                    .map_err(|e| StepError::Permanent(e.to_string()))?;
                Ok(StepOutcome::Answer(request.send().await?))
            }
            StepKind::Http(http) => {
                let rendered =
                    render(&json!({"url": http.url, "headers": http.headers, "body": http.body}))?;
                self.http_step(run_id, step, http, &rendered)
                    .await
                    .map(StepOutcome::Answer)
            }
        }
    }

    /// An `http` step. Each carries `Idempotency-Key: RUN:STEP`, the same when a run cut short
    /// redoes the step, so receivers can drop the repeat.
    async fn http_step(
        &self,
        run_id: &str,
        step: &Step,
        spec: &HttpSpec,
        rendered: &Value,
    ) -> Result<Value, StepError> {
        let method = reqwest::Method::from_bytes(spec.method.as_bytes())
            .map_err(|e| StepError::Permanent(e.to_string()))?;
        let url = rendered["url"].as_str().unwrap_or_default();
        let mut request = self
            .http
            .request(method, url)
            .header("Idempotency-Key", format!("{run_id}:{}", step.id));
        if let Some(headers) = rendered["headers"].as_object() {
            for (name, value) in headers {
                request = request.header(name.as_str(), value.as_str().unwrap_or_default());
            }
        }
        if !rendered["body"].is_null() {
            request = request.json(&rendered["body"]);
        }
        let response = request
            .send()
            .await
            .map_err(|e| StepError::Transient(format!("{url}: {e}")))?;
        let status = response.status().as_u16();
        let text = response
            .text()
            .await
            .map_err(|e| StepError::Transient(format!("{url}: {e}")))?;
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        let expected = if spec.expect.is_empty() {
            (200..300).contains(&status)
        } else {
            spec.expect.contains(&status)
        };
        match status {
            _ if expected => Ok(json!({"status": status, "body": body})),
            429 | 500.. => Err(StepError::Transient(format!("{url} answered {status}"))),
            _ => Err(StepError::Permanent(format!(
                "{url} answered {status}: {body}"
            ))),
        }
    }

    /// A dry run: the trigger is read (the items the next poll would take, or the newest one
    /// as a sample), steps that read are made, and writes are only described. Nothing is
    /// stored.
    pub async fn test(&self, flow: &Flow, sample: Option<Value>) -> anyhow::Result<Report> {
        let mut report = Report::default();
        let items = match (&flow.trigger, sample) {
            (_, Some(sample)) => vec![sample],
            (Trigger::Webhook { path, .. }, None) => {
                report.lines.push(format!(
                    "webhook {path}: no sample body given (--sample FILE)"
                ));
                return Ok(report);
            }
            (Trigger::Poll(trigger), None) => {
                let cursor = self.store.cursor(&flow.name).await?;
                let request = self.poll_request(flow, trigger);
                let (mut new, _) = if cursor.primed {
                    request
                        .fetch(&self.client, &self.templates, &cursor)
                        .await?
                } else {
                    (Vec::new(), None)
                };
                report.lines.push(format!(
                    "trigger {}: {} new item(s)",
                    trigger.item.id,
                    new.len()
                ));
                if new.is_empty() {
                    new.extend(request.newest(&self.client, &self.templates).await?);
                    if let Some(p) = new.first() {
                        report
                            .lines
                            .push(format!("  sample: the newest item, {}", p.id));
                    }
                }
                new.truncate(5);
                new.into_iter().map(|p: Polled| p.item).collect()
            }
        };
        report.items = items.len();
        for item in items {
            self.test_item(flow, &item, &mut report).await;
        }
        Ok(report)
    }

    async fn test_item(&self, flow: &Flow, item: &Value, report: &mut Report) {
        let mut done = Map::new();
        // Writes a dry run describes instead of making: later steps cannot see their answers.
        let mut unmade: Vec<String> = Vec::new();
        report.lines.push(format!("item {}", compact(item)));
        for step in &flow.steps {
            let context = run_context(flow, item, &done);
            let line = match &step.kind {
                StepKind::Call { item: action, with } if !action.is_read() => {
                    let templates = Value::Object(with.clone());
                    let rendered = self.templates.render(&templates, &context).map(as_map);
                    let line = match rendered {
                        Ok(with) => format!("would call {}", request::describe(action, &with)),
                        Err(e) => match awaits_unmade(&templates, &unmade) {
                            Some(ids) => format!(
                                "would call {} {} with inputs from {ids}, whose answer only a real run has",
                                action.method, action.path
                            ),
                            None => format!("fails: {e}"),
                        },
                    };
                    unmade.push(step.id.clone());
                    line
                }
                StepKind::Http(http) => {
                    let rendered = self
                        .templates
                        .render(&json!({"url": http.url, "body": http.body}), &context);
                    let line = match rendered {
                        Ok(r) => format!(
                            "would send {} {} {}",
                            http.method,
                            r["url"].as_str().unwrap_or_default(),
                            compact(&r["body"])
                        ),
                        Err(e) => match awaits_unmade(&json!([http.url, http.body]), &unmade) {
                            Some(ids) => format!(
                                "would send {} {} with inputs from {ids}, whose answer only a real run has",
                                http.method, http.url
                            ),
                            None => format!("fails: {e}"),
                        },
                    };
                    unmade.push(step.id.clone());
                    line
                }
                _ => match self.try_step("dry-run", step, &context).await {
                    Ok(StepOutcome::Answer(answer)) => {
                        let line = format!("ok: {}", compact(&answer));
                        done.insert(step.id.clone(), answer);
                        line
                    }
                    Ok(StepOutcome::Stop) => {
                        report
                            .lines
                            .push(format!("  {}: filter is false, the run stops", step.id));
                        report.filtered += 1;
                        return;
                    }
                    Err(e) => {
                        report
                            .lines
                            .push(format!("  {}: fails: {}", step.id, e.message()));
                        report.failed += 1;
                        return;
                    }
                },
            };
            report.lines.push(format!("  {}: {line}", step.id));
        }
        report.done += 1;
    }

    /// The keys a `signed` webhook flow checks its posts against.
    async fn signing_keys(&self, signer: Signer) -> anyhow::Result<PublicKeys> {
        Ok(match signer {
            Signer::Highlevel => PublicKeys::highlevel()?,
            Signer::Hilo => self
                .client
                .webhook_keys()
                .await
                .context("reading the server's webhook keys (GET /hilo/webhooks/keys)")?,
        })
    }

    /// The daemon: each polling flow on its interval, spread so that the flows of one
    /// location do not poll together, webhook flows fed from `listener`, until
    /// [`stop`](Runner::stop).
    pub async fn serve(
        self: Arc<Self>,
        flows: Vec<Flow>,
        listener: Option<tokio::net::TcpListener>,
    ) -> anyhow::Result<()> {
        let mut tasks = tokio::task::JoinSet::new();
        let mut hooks = BTreeMap::new();
        for (flow, offset) in spread(&flows) {
            let runner = self.clone();
            match &flow.trigger {
                Trigger::Poll(trigger) => {
                    let every = trigger.every;
                    tasks.spawn(async move { runner.poll_loop(flow, offset, every).await });
                }
                Trigger::Webhook {
                    path,
                    event,
                    signed,
                } => {
                    let keys = match signed {
                        None => None,
                        Some(signer) => Some(self.signing_keys(*signer).await?),
                    };
                    let arrived = Arc::new(Notify::new());
                    hooks.insert(
                        path.clone(),
                        webhook::Hook {
                            flow: flow.name.clone(),
                            event: event.clone(),
                            keys,
                            arrived: arrived.clone(),
                        },
                    );
                    tasks.spawn(async move { runner.inbox_loop(flow, arrived).await });
                }
            }
        }
        if !hooks.is_empty() {
            let Some(listener) = listener else {
                anyhow::bail!("webhook flows need a listener");
            };
            tracing::info!(address = %listener.local_addr()?, "taking webhooks");
            let runner = self.clone();
            let app = webhook::router(self.store.clone(), hooks);
            tasks.spawn(async move {
                let stopped = async move { runner.stopped().await };
                axum::serve(listener, app)
                    .with_graceful_shutdown(stopped)
                    .await?;
                Ok(())
            });
        }
        while let Some(result) = tasks.join_next().await {
            result??;
        }
        Ok(())
    }

    async fn stopped(&self) {
        while !self.stopping() {
            let notified = self.stop.notified();
            if self.stopping() {
                break;
            }
            let _ = tokio::time::timeout(Duration::from_millis(500), notified).await;
        }
    }

    async fn poll_loop(&self, flow: Flow, offset: Duration, every: Duration) -> anyhow::Result<()> {
        let mut next = tokio::time::Instant::now() + offset;
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(next) => {}
                _ = self.stopped() => return Ok(()),
            }
            next += every;
            match self.poll(&flow).await {
                Ok(report) if report.items > 0 => {
                    tracing::info!(flow = %flow.name, items = report.items, done = report.done, failed = report.failed, "polled")
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(flow = %flow.name, error = %e, "poll failed; trying again at the next interval")
                }
            }
            if self.stopping() {
                return Ok(());
            }
        }
    }

    async fn inbox_loop(&self, flow: Flow, arrived: Arc<Notify>) -> anyhow::Result<()> {
        loop {
            if let Err(e) = self.drain_inbox(&flow).await {
                tracing::warn!(flow = %flow.name, error = %e, "webhook run failed");
            }
            tokio::select! {
                _ = arrived.notified() => {}
                _ = tokio::time::sleep(Duration::from_secs(5)) => {}
                _ = self.stopped() => return Ok(()),
            }
        }
    }
}

enum StepOutcome {
    Answer(Value),
    /// A filter that did not hold.
    Stop,
}

/// Each flow with the delay of its first poll: the polling flows of one location start
/// evenly across their interval instead of together, so they share its rate budget.
fn spread(flows: &[Flow]) -> Vec<(Flow, Duration)> {
    let mut by_location: BTreeMap<Option<&str>, usize> = BTreeMap::new();
    for flow in flows {
        *by_location.entry(flow.location.as_deref()).or_default() += 1;
    }
    let mut seen: BTreeMap<Option<&str>, usize> = BTreeMap::new();
    flows
        .iter()
        .map(|flow| {
            let location = flow.location.as_deref();
            let index = seen.entry(location).or_default();
            let offset = match &flow.trigger {
                Trigger::Poll(p) => p
                    .every
                    .mul_f64(*index as f64 / by_location[&location] as f64),
                Trigger::Webhook { .. } => Duration::ZERO,
            };
            *index += 1;
            (flow.clone(), offset)
        })
        .collect()
}

/// The unmade steps (`a`, `b`) whose answers `templates` read, if any.
fn awaits_unmade(templates: &Value, unmade: &[String]) -> Option<String> {
    let text = templates.to_string();
    let reads = |id: &str| {
        let dotted = format!("steps.{id}");
        let indexed = format!("steps[\\\"{id}\\\"]");
        text.contains(&indexed)
            || text.match_indices(&dotted).any(|(at, _)| {
                !text[at + dotted.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_')
            })
    };
    let ids: Vec<String> = unmade
        .iter()
        .filter(|id| reads(id))
        .map(|id| format!("`{id}`"))
        .collect();
    (!ids.is_empty()).then(|| ids.join(", "))
}

fn run_context(flow: &Flow, item: &Value, done: &Map<String, Value>) -> Value {
    json!({"trigger": item, "steps": done, "location": flow.location, "flow": flow.name, "env": flow.env})
}

fn as_map(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// A JSON value on one line, cut to a readable length.
fn compact(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(160) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flows_of_one_location_are_spread_over_their_interval() {
        let flow = |name: &str, location: &str| {
            crate::flow::parse(
                &format!(
                "name = \"{name}\"\nlocation = \"{location}\"\n[trigger]\npoll = \"contacts.search_contacts\"\nevery = \"4m\""
            ),
                &Value::Null,
            )
            .unwrap()
        };
        let flows = [
            flow("a", "L1"),
            flow("b", "L1"),
            flow("c", "L2"),
            flow("d", "L1"),
            flow("e", "L1"),
        ];
        let offsets: Vec<u64> = spread(&flows).iter().map(|(_, d)| d.as_secs()).collect();
        assert_eq!(offsets, [0, 60, 0, 120, 180]);
    }

    #[test]
    fn compact_cuts_long_values() {
        let long = Value::String("x".repeat(500));
        assert!(compact(&long).ends_with('…'));
        assert_eq!(compact(&json!({"a": 1})), r#"{"a":1}"#);
    }
}
