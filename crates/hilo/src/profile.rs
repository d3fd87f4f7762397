//! Stored connection profiles for `hilo api`: a base URL and how to authenticate (a private
//! token, or an OAuth app with its token pair), in a TOML file only its owner can read.
//! OAuth profiles are rewritten with each rotated pair, since the old refresh token stops
//! working once it has been used.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use hilo_sdk::{OAuthApp, OAuthTokens};
use serde::{Deserialize, Serialize};

/// The profile used when none is named.
pub const DEFAULT_PROFILE: &str = "default";

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Config {
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Profile {
    pub base_url: String,
    /// A private integration token (or any bearer token that is not refreshed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth: Option<OAuthProfile>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OAuthProfile {
    pub client_id: String,
    pub client_secret: String,
    pub tokens: OAuthTokens,
}

impl OAuthProfile {
    pub fn app(&self) -> OAuthApp {
        OAuthApp {
            client_id: self.client_id.clone(),
            client_secret: self.client_secret.clone(),
        }
    }
}

/// Where the profiles live: `HILO_CONFIG`, else `$XDG_CONFIG_HOME/hilo/config.toml`, else
/// `~/.config/hilo/config.toml`.
pub fn default_path() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("HILO_CONFIG").filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(path));
    }
    let base =
        match std::env::var_os("XDG_CONFIG_HOME").filter(|p| !p.is_empty()) {
            Some(dir) => PathBuf::from(dir),
            None => PathBuf::from(std::env::var_os("HOME").context(
                "neither HILO_CONFIG nor HOME is set: give the profile file with --config",
            )?)
            .join(".config"),
        };
    Ok(base.join("hilo").join("config.toml"))
}

impl Config {
    /// The file's profiles; none when it does not exist yet.
    pub fn load(path: &Path) -> anyhow::Result<Config> {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                toml::from_str(&text).with_context(|| format!("reading {}", path.display()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }

    /// Writes the file whole (a new file renamed over the old, so a crash leaves one or the
    /// other), readable and writable by its owner only: it holds secrets.
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
        if let Some(dir) = dir {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let text = toml::to_string_pretty(self)?;
        let partial = path.with_extension("toml.partial");
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options
            .open(&partial)
            .with_context(|| format!("writing {}", partial.display()))?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&partial, path).with_context(|| format!("writing {}", path.display()))
    }

    pub fn profile(&self, name: &str, path: &Path) -> anyhow::Result<&Profile> {
        self.profiles.get(name).with_context(|| {
            format!(
                "no profile {name:?} in {}: run `hilo login --profile {name} …` first",
                path.display()
            )
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn profiles_round_trip_through_an_owner_only_file() {
        let dir = std::env::temp_dir().join(format!("hilo-profile-{}", std::process::id()));
        let path = dir.join("nested").join("config.toml");
        let mut config = Config::default();
        config.profiles.insert(
            "local".into(),
            Profile {
                base_url: "http://127.0.0.1:8080".into(),
                token: Some("pit-abc".into()),
                oauth: None,
            },
        );
        config.save(&path).unwrap();
        let loaded = Config::load(&path).unwrap();
        assert_eq!(loaded.profiles, config.profiles);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(Config::load(&dir.join("missing.toml"))
            .unwrap()
            .profiles
            .is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
