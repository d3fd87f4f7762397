//! A small builder for SQL whose shape depends on the request (optional filters, cursors),
//! rendering `$n` placeholders that both SQLite and PostgreSQL understand, or `?` for SQLite's
//! bulk statements.

use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::Any;

use crate::db::Backend;

#[derive(Debug, Clone)]
pub enum Arg {
    Text(String),
    /// Text or SQL NULL.
    MaybeText(Option<String>),
    Int(i64),
    /// An integer or SQL NULL.
    MaybeInt(Option<i64>),
    Float(f64),
}

#[derive(Debug, Default, Clone)]
pub struct SqlBuilder {
    text: String,
    args: Vec<Arg>,
    /// `?` instead of `$n`: SQLite resolves each `$n` by a linear search of the names seen so
    /// far, which makes a statement with thousands of parameters quadratic to prepare.
    positional: bool,
}

impl SqlBuilder {
    pub fn new(text: &str) -> Self {
        SqlBuilder {
            text: text.to_owned(),
            args: Vec::new(),
            positional: false,
        }
    }

    /// A builder for statements with many parameters (bulk inserts), in the placeholder style
    /// that `backend` prepares fastest. Its text must not also hold numbered placeholders.
    pub fn for_backend(backend: Backend, text: &str) -> Self {
        SqlBuilder {
            positional: backend == Backend::Sqlite,
            ..SqlBuilder::new(text)
        }
    }

    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder bound to `arg`.
    pub fn bind(&mut self, arg: Arg) -> &mut Self {
        self.args.push(arg);
        if self.positional {
            self.text.push('?');
        } else {
            self.text.push_str(&format!("${}", self.args.len()));
        }
        self
    }

    pub fn bind_text(&mut self, s: impl Into<String>) -> &mut Self {
        self.bind(Arg::Text(s.into()))
    }

    pub fn bind_maybe_text(&mut self, s: Option<String>) -> &mut Self {
        self.bind(Arg::MaybeText(s))
    }

    pub fn bind_float(&mut self, x: f64) -> &mut Self {
        self.bind(Arg::Float(x))
    }

    pub fn bind_int(&mut self, n: i64) -> &mut Self {
        self.bind(Arg::Int(n))
    }

    pub fn sql(&self) -> &str {
        &self.text
    }

    pub fn query(&self) -> Query<'_, Any, AnyArguments<'_>> {
        self.args
            .iter()
            .fold(sqlx::query(&self.text), |q, arg| match arg {
                Arg::Text(s) => q.bind(s.as_str()),
                Arg::MaybeText(s) => q.bind(s.as_deref()),
                Arg::Int(n) => q.bind(*n),
                Arg::MaybeInt(n) => q.bind(*n),
                Arg::Float(x) => q.bind(*x),
            })
    }

    pub fn query_as<T>(&self) -> sqlx::query::QueryAs<'_, Any, T, AnyArguments<'_>>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow>,
    {
        self.args
            .iter()
            .fold(sqlx::query_as(&self.text), |q, arg| match arg {
                Arg::Text(s) => q.bind(s.as_str()),
                Arg::MaybeText(s) => q.bind(s.as_deref()),
                Arg::Int(n) => q.bind(*n),
                Arg::MaybeInt(n) => q.bind(*n),
                Arg::Float(x) => q.bind(*x),
            })
    }

    pub fn query_scalar<T>(&self) -> sqlx::query::QueryScalar<'_, Any, T, AnyArguments<'_>>
    where
        (T,): for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow>,
    {
        self.args
            .iter()
            .fold(sqlx::query_scalar(&self.text), |q, arg| match arg {
                Arg::Text(s) => q.bind(s.as_str()),
                Arg::MaybeText(s) => q.bind(s.as_deref()),
                Arg::Int(n) => q.bind(*n),
                Arg::MaybeInt(n) => q.bind(*n),
                Arg::Float(x) => q.bind(*x),
            })
    }
}

/// `%term%` for a LIKE with `ESCAPE '\'`, lower-cased, with LIKE's wildcards taken literally.
pub fn like_contains(term: &str) -> String {
    let mut pattern = String::from("%");
    for c in term.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// `$1, $2, …` bound to `values`, for an `IN (…)` list.
pub fn bind_list(builder: &mut SqlBuilder, values: &[String]) {
    for (i, value) in values.iter().enumerate() {
        if i > 0 {
            builder.push(", ");
        }
        builder.bind_text(value.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_in_order() {
        let mut b = SqlBuilder::new("SELECT 1 WHERE a = ");
        b.bind_text("x").push(" AND b IN (");
        bind_list(&mut b, &["p".into(), "q".into()]);
        b.push(") AND c > ").bind_int(3);
        assert_eq!(
            b.sql(),
            "SELECT 1 WHERE a = $1 AND b IN ($2, $3) AND c > $4"
        );
    }

    #[test]
    fn bulk_statements_on_sqlite_use_positional_placeholders() {
        let mut b = SqlBuilder::for_backend(Backend::Sqlite, "VALUES (");
        b.bind_text("x").push(", ").bind_int(1).push(")");
        assert_eq!(b.sql(), "VALUES (?, ?)");
        let mut b = SqlBuilder::for_backend(Backend::Postgres, "VALUES (");
        b.bind_text("x").push(", ").bind_int(1).push(")");
        assert_eq!(b.sql(), "VALUES ($1, $2)");
    }

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_contains("Ab"), "%ab%");
        assert_eq!(like_contains("50%_off\\"), "%50\\%\\_off\\\\%");
    }
}
