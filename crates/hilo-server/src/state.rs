//! What every handler shares. Built once by `app()`; nothing process-global.

use crate::db::Db;

#[derive(Debug, Clone)]
pub struct AppState {
    pub db: Db,
}
