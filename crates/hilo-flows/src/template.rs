//! Step inputs are JSON with templates in their strings, in minijinja's syntax:
//! `"{{ trigger.email }}"`. A string that is one `{{ … }}` and nothing else keeps the type of
//! what it names (a number stays a number, an object an object); any other string is rendered
//! as text. The names in scope are `trigger` (the item), `steps` (earlier steps' answers by
//! id), `location`, `flow` and `env` (the runner's environment variables); the function
//! `days_from_now(n)` gives an ISO 8601 time n days from now (negative: ago).

use minijinja::Environment;
use serde_json::Value;

#[derive(Debug, thiserror::Error)]
#[error("template {template:?}: {message}")]
pub struct TemplateError {
    pub template: String,
    pub message: String,
}

pub struct Templates {
    env: Environment<'static>,
}

impl Default for Templates {
    fn default() -> Self {
        Templates::new()
    }
}

impl Templates {
    pub fn new() -> Templates {
        let mut env = Environment::new();
        // Inputs are JSON, not HTML: nothing is escaped.
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
        env.add_function("days_from_now", days_from_now);
        Templates { env }
    }

    /// `value` with every template in it filled from `context`.
    pub fn render(&self, value: &Value, context: &Value) -> Result<Value, TemplateError> {
        match value {
            Value::String(s) => self.render_str(s, context),
            Value::Array(items) => items.iter().map(|v| self.render(v, context)).collect(),
            Value::Object(map) => map
                .iter()
                .map(|(k, v)| Ok((k.clone(), self.render(v, context)?)))
                .collect::<Result<serde_json::Map<_, _>, _>>()
                .map(Value::Object),
            other => Ok(other.clone()),
        }
    }

    fn render_str(&self, template: &str, context: &Value) -> Result<Value, TemplateError> {
        let fail = |e: minijinja::Error| TemplateError {
            template: template.to_owned(),
            message: describe(&e),
        };
        let ctx = minijinja::Value::from_serialize(context);
        if let Some(expr) = whole_expression(template) {
            let value = self
                .env
                .compile_expression(expr)
                .map_err(fail)?
                .eval(ctx)
                .map_err(fail)?;
            if value.is_undefined() {
                return Ok(Value::Null);
            }
            return serde_json::to_value(&value).map_err(|e| TemplateError {
                template: template.to_owned(),
                message: e.to_string(),
            });
        }
        if !template.contains("{{") && !template.contains("{%") {
            return Ok(Value::String(template.to_owned()));
        }
        self.env
            .render_str(template, ctx)
            .map(Value::String)
            .map_err(fail)
    }

    /// Whether a filter expression (`trigger.completed and trigger.title != ""`) holds.
    pub fn holds(&self, expression: &str, context: &Value) -> Result<bool, TemplateError> {
        let fail = |e: minijinja::Error| TemplateError {
            template: expression.to_owned(),
            message: describe(&e),
        };
        let ctx = minijinja::Value::from_serialize(context);
        let value = self
            .env
            .compile_expression(expression)
            .map_err(fail)?
            .eval(ctx)
            .map_err(fail)?;
        Ok(value.is_true())
    }

    /// Syntax errors in any template of `value`, found without data.
    pub fn check(&self, value: &Value) -> Result<(), TemplateError> {
        match value {
            Value::String(s) => match whole_expression(s) {
                Some(expr) => self.check_expression(expr),
                None => self
                    .env
                    .template_from_str(s)
                    .map(|_| ())
                    .map_err(|e| TemplateError {
                        template: s.clone(),
                        message: describe(&e),
                    }),
            },
            Value::Array(items) => items.iter().try_for_each(|v| self.check(v)),
            Value::Object(map) => map.values().try_for_each(|v| self.check(v)),
            _ => Ok(()),
        }
    }

    pub fn check_expression(&self, expression: &str) -> Result<(), TemplateError> {
        self.env
            .compile_expression(expression)
            .map(|_| ())
            .map_err(|e| TemplateError {
                template: expression.to_owned(),
                message: describe(&e),
            })
    }
}

fn days_from_now(days: f64) -> String {
    let delta = chrono::Duration::milliseconds((days * 86_400_000.0) as i64);
    (chrono::Utc::now() + delta).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The expression of a string that is a single `{{ … }}`.
fn whole_expression(template: &str) -> Option<&str> {
    let inner = template
        .trim()
        .strip_prefix("{{")?
        .strip_suffix("}}")?
        .trim();
    (!inner.contains("{{") && !inner.contains("}}")).then_some(inner)
}

fn describe(error: &minijinja::Error) -> String {
    match error.detail() {
        Some(detail) => format!("{}: {detail}", error.kind()),
        None => error.kind().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn render(template: Value, context: Value) -> Value {
        Templates::new().render(&template, &context).unwrap()
    }

    #[test]
    fn a_whole_expression_keeps_its_type() {
        let ctx = json!({"trigger": {"n": 5, "tags": ["a", "b"], "o": {"x": 1}}});
        assert_eq!(render(json!("{{ trigger.n }}"), ctx.clone()), json!(5));
        assert_eq!(
            render(json!("{{trigger.tags}}"), ctx.clone()),
            json!(["a", "b"])
        );
        assert_eq!(
            render(json!(" {{ trigger.o }} "), ctx.clone()),
            json!({"x": 1})
        );
        assert_eq!(render(json!("{{ trigger.missing }}"), ctx), Value::Null);
    }

    #[test]
    fn other_strings_render_as_text_and_structures_recurse() {
        let ctx = json!({"trigger": {"first": "Ada", "n": 2}, "steps": {"s": {"id": "x"}}});
        assert_eq!(
            render(
                json!({"title": "Call {{ trigger.first }} ({{ trigger.n + 1 }})", "list": ["{{ steps.s.id }}", 3, true], "plain": "<b>&"}),
                ctx
            ),
            json!({"title": "Call Ada (3)", "list": ["x", 3, true], "plain": "<b>&"})
        );
    }

    #[test]
    fn filters_and_errors() {
        let t = Templates::new();
        let ctx = json!({"trigger": {"completed": true, "title": "x"}});
        assert!(t
            .holds("trigger.completed and trigger.title == 'x'", &ctx)
            .unwrap());
        assert!(!t.holds("trigger.missing", &ctx).unwrap());
        assert!(t.check_expression("trigger.(").is_err());
        let due = t.render(&json!("{{ days_from_now(1) }}"), &ctx).unwrap();
        let due = chrono::DateTime::parse_from_rfc3339(due.as_str().unwrap()).unwrap();
        let hours = (due.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_hours();
        assert!((23..=24).contains(&hours), "{hours}");
        assert!(t.check(&json!({"a": ["{{ oops( }}"]})).is_err());
        assert!(t
            .check(&json!({"a": "{{ trigger.x }} and {% if x %}y{% endif %}"}))
            .is_ok());
    }
}
