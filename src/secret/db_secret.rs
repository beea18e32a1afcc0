use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};

use super::SecretError;

/// A database credential in AWS's database-secret JSON.
///
/// ```json
/// {"engine": "postgres", "host": "db.example", "port": 5432,
///  "username": "reli_login", "password": "…", "dbname": "postgres"}
/// ```
///
/// Keys other than these six are kept in [`extra`](DbSecret::extra) and written back unchanged, so
/// a secret that other tools annotate (`dbInstanceIdentifier`, `proxy`…) survives a rotation.
///
/// The password is a [`SecretString`]: `Debug` shows `[redacted]` in its place (and only the names
/// of extra keys, not their values), and no error built from a secret quotes it.
///
/// ```
/// use cotenant::secret::DbSecret;
/// use secrecy::ExposeSecret;
///
/// let json = r#"{"engine":"postgres","host":"db.example","port":"5432",
///                "username":"reli_login","password":"hunter2","dbname":"postgres",
///                "dbInstanceIdentifier":"shared-1"}"#;
/// let secret = DbSecret::from_json("cotenant/prod/reli/app", json)?;
/// assert_eq!(secret.port, 5432); // a numeric string is accepted, as consoles write both
/// assert_eq!(secret.password.expose_secret(), "hunter2");
/// assert!(!format!("{secret:?}").contains("hunter2"));
/// assert_eq!(secret.extra["dbInstanceIdentifier"], "shared-1");
/// # Ok::<(), cotenant::secret::SecretError>(())
/// ```
#[derive(Clone)]
pub struct DbSecret {
    /// `engine`: `postgres` for what cotenant writes; not checked when reading.
    pub engine: String,
    /// `host`: where the server listens.
    pub host: String,
    /// `port`: written as a number; read from a number or a numeric string.
    pub port: u16,
    /// `username`: the login role.
    pub username: String,
    /// `password`: never shown by `Debug` or in errors.
    pub password: SecretString,
    /// `dbname`: the database to connect to.
    pub dbname: String,
    /// Every other key of the JSON object, kept as read.
    pub extra: Map<String, Value>,
}

/// The six keys of a database secret, in the order cotenant writes them.
const KEYS: [&str; 6] = ["engine", "host", "port", "username", "password", "dbname"];

impl DbSecret {
    /// A PostgreSQL credential (`engine` = `postgres`) with no extra keys.
    pub fn new(
        host: impl Into<String>,
        port: u16,
        username: impl Into<String>,
        password: impl Into<SecretString>,
        dbname: impl Into<String>,
    ) -> Self {
        DbSecret {
            engine: "postgres".to_owned(),
            host: host.into(),
            port,
            username: username.into(),
            password: password.into(),
            dbname: dbname.into(),
            extra: Map::new(),
        }
    }

    /// The same secret with another password: the next version during a rotation.
    pub fn with_password(&self, password: impl Into<SecretString>) -> Self {
        DbSecret {
            password: password.into(),
            ..self.clone()
        }
    }

    /// Parses the secret string stored under `id`.
    ///
    /// `id` only names the secret in errors. Errors say which key is missing or of which wrong type,
    /// or where the JSON breaks (line and column), and never quote the text.
    ///
    /// ```
    /// use cotenant::secret::{DbSecret, SecretError};
    /// let err = DbSecret::from_json("db/app", r#"{"host":"h","port":5432}"#).unwrap_err();
    /// assert!(matches!(err, SecretError::MissingKey { key: "engine", .. }));
    /// ```
    pub fn from_json(id: &str, json: &str) -> Result<Self, SecretError> {
        let value: Value = serde_json::from_str(json).map_err(|e| SecretError::Malformed {
            id: id.to_owned(),
            reason: describe_json_error(&e),
        })?;
        Self::from_value(id, value)
    }

    /// Reads a secret from already parsed JSON; see [`from_json`](DbSecret::from_json).
    pub(crate) fn from_value(id: &str, value: Value) -> Result<Self, SecretError> {
        let mut object = match value {
            Value::Object(object) => object,
            other => {
                return Err(SecretError::Malformed {
                    id: id.to_owned(),
                    reason: format!("expected a JSON object, found {}", json_kind(&other)),
                });
            }
        };
        let mut take_string = |key: &'static str| -> Result<String, SecretError> {
            match object.remove(key) {
                None => Err(SecretError::MissingKey {
                    id: id.to_owned(),
                    key,
                }),
                Some(Value::String(s)) if !s.is_empty() => Ok(s),
                Some(other) => Err(SecretError::InvalidKey {
                    id: id.to_owned(),
                    key,
                    expected: "a non-empty string",
                    found: json_kind(&other).to_owned(),
                }),
            }
        };
        let engine = take_string("engine")?;
        let host = take_string("host")?;
        let username = take_string("username")?;
        let password = SecretString::from(take_string("password")?);
        let dbname = take_string("dbname")?;
        let port = match object.remove("port") {
            None => {
                return Err(SecretError::MissingKey {
                    id: id.to_owned(),
                    key: "port",
                });
            }
            Some(port) => parse_port(&port).map_err(|found| SecretError::InvalidKey {
                id: id.to_owned(),
                key: "port",
                expected: "a port number from 1 to 65535 (a number or a numeric string)",
                found,
            })?,
        };
        Ok(DbSecret {
            engine,
            host,
            port,
            username,
            password,
            dbname,
            extra: object,
        })
    }

    /// The secret as the JSON text stored in the secret store, wrapped because it holds the password.
    ///
    /// The six keys come first, then the extra keys; an extra key that has one of the six names is
    /// left out.
    ///
    /// ```
    /// use cotenant::secret::DbSecret;
    /// use secrecy::ExposeSecret;
    ///
    /// let secret = DbSecret::new("db.example", 5432, "reli_login", "hunter2", "postgres");
    /// let json = secret.to_json();
    /// assert_eq!(DbSecret::from_json("x", json.expose_secret())?, secret);
    /// # Ok::<(), cotenant::secret::SecretError>(())
    /// ```
    pub fn to_json(&self) -> SecretString {
        SecretString::from(self.to_value().to_string())
    }

    /// The secret as a JSON value. Holds the password in clear: never log or `Debug` it.
    pub(crate) fn to_value(&self) -> Value {
        let mut object = Map::with_capacity(KEYS.len() + self.extra.len());
        object.insert("engine".into(), self.engine.clone().into());
        object.insert("host".into(), self.host.clone().into());
        object.insert("port".into(), self.port.into());
        object.insert("username".into(), self.username.clone().into());
        object.insert(
            "password".into(),
            self.password.expose_secret().to_owned().into(),
        );
        object.insert("dbname".into(), self.dbname.clone().into());
        for (key, value) in &self.extra {
            if !KEYS.contains(&key.as_str()) {
                object.insert(key.clone(), value.clone());
            }
        }
        Value::Object(object)
    }
}

impl fmt::Debug for DbSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DbSecret")
            .field("engine", &self.engine)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("username", &self.username)
            .field("password", &"[redacted]")
            .field("dbname", &self.dbname)
            .field("extra_keys", &self.extra.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Compares every field, the password included.
impl PartialEq for DbSecret {
    fn eq(&self, other: &Self) -> bool {
        self.engine == other.engine
            && self.host == other.host
            && self.port == other.port
            && self.username == other.username
            && self.password.expose_secret() == other.password.expose_secret()
            && self.dbname == other.dbname
            && self.extra == other.extra
    }
}

impl Eq for DbSecret {}

/// A port from a JSON number or numeric string; `Err` describes what was found.
fn parse_port(value: &Value) -> Result<u16, String> {
    match value {
        Value::Number(n) => match n.as_u64() {
            Some(port @ 1..=65535) => Ok(port as u16),
            _ => Err(format!("the number {n}")),
        },
        Value::String(s) => match s.trim().parse::<u16>() {
            Ok(port) if port > 0 => Ok(port),
            _ => Err("a string that is not a port number".to_owned()),
        },
        other => Err(json_kind(other).to_owned()),
    }
}

/// The kind of a JSON value, for errors that must not quote it.
pub(crate) fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(s) if s.is_empty() => "an empty string",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Describes a JSON parse error by category and position only.
///
/// serde_json's own message can quote a fragment of the input (an unknown variant, an invalid
/// escape), and the input here holds a password: never use its `Display`.
pub(crate) fn describe_json_error(error: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let what = match error.classify() {
        Category::Eof if error.line() == 1 && error.column() == 0 => {
            return "the value is empty, not JSON".to_owned();
        }
        Category::Eof => "JSON that ends early",
        Category::Syntax => "not valid JSON",
        Category::Data => "JSON of the wrong shape",
        Category::Io => "unreadable",
    };
    format!("{what} (line {}, column {})", error.line(), error.column())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWORD: &str = "pa\"ss}wo\\rd-Ünïcode";

    fn full() -> Value {
        serde_json::json!({
            "engine": "postgres", "host": "h", "port": 5432, "username": "u",
            "password": PASSWORD, "dbname": "d", "proxy": {"a": [1, 2]}
        })
    }

    #[test]
    fn round_trip_keeps_extra_keys() {
        let secret = DbSecret::from_value("x", full()).unwrap();
        assert_eq!(secret.password.expose_secret(), PASSWORD);
        assert_eq!(secret.to_value(), full());
        let again = DbSecret::from_json("x", secret.to_json().expose_secret()).unwrap();
        assert_eq!(again, secret);
    }

    #[test]
    fn port_as_string_or_number() {
        let mut v = full();
        v["port"] = "6543".into();
        assert_eq!(DbSecret::from_value("x", v).unwrap().port, 6543);
        for bad in [
            Value::from(0),
            Value::from(70000),
            Value::from(-1),
            Value::from(5432.5),
            Value::from("54x"),
            Value::Null,
        ] {
            let mut v = full();
            v["port"] = bad.clone();
            let err = DbSecret::from_value("x", v).unwrap_err();
            assert!(
                matches!(err, SecretError::InvalidKey { key: "port", .. }),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn wrong_type_names_the_key_not_the_value() {
        let mut v = full();
        v["password"] = 12345.into();
        let err = DbSecret::from_value("db/app", v).unwrap_err();
        assert_eq!(
            err.to_string(),
            "secret `db/app`: key `password` must be a non-empty string, found a number"
        );
    }

    #[test]
    fn json_errors_never_quote_the_input() {
        for text in [
            format!("{{\"password\": \"{PASSWORD}\" trailing"),
            format!("{{\"password\": \"{PASSWORD}\\x\"}}"),
            format!("password={PASSWORD}"),
            String::new(),
            format!("{{\"password\": \"{PASSWORD}"),
        ] {
            let err = DbSecret::from_json("db/app", &text).unwrap_err();
            let shown = format!("{err} {err:?}");
            assert!(!shown.contains("pa\\\"ss"), "{shown}");
            assert!(!shown.contains("wo\\\\rd"), "{shown}");
            assert!(!shown.contains("cod"), "{shown}");
            assert!(matches!(err, SecretError::Malformed { .. }), "{shown}");
        }
        let err = DbSecret::from_json("db/app", "").unwrap_err();
        assert!(err.to_string().contains("empty"), "{err}");
        let err = DbSecret::from_json("db/app", "[1]").unwrap_err();
        assert!(
            err.to_string()
                .contains("expected a JSON object, found an array"),
            "{err}"
        );
    }

    #[test]
    fn debug_redacts_password_and_extra_values() {
        let mut v = full();
        v["proxy_password"] = "also-secret".into();
        let secret = DbSecret::from_value("x", v).unwrap();
        let shown = format!("{secret:?} {secret:#?}");
        assert!(
            !shown.contains("wo\\rd") && !shown.contains("Ünïcode"),
            "{shown}"
        );
        assert!(!shown.contains("also-secret"), "{shown}");
        assert!(shown.contains("password: \"[redacted]\""), "{shown}");
        assert!(shown.contains("proxy_password"), "{shown}");
    }

    #[test]
    fn extra_keys_never_shadow_the_six() {
        let mut secret = DbSecret::new("h", 1, "u", "p", "d");
        secret.extra.insert("password".into(), "other".into());
        assert_eq!(secret.to_value()["password"], "p");
    }
}
