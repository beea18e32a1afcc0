//! The configuration a test kit PgBouncer runs with: `pgbouncer.ini` and the `auth_file`.

use std::path::Path;

use secrecy::{ExposeSecret, SecretString};

/// The login PgBouncer runs `auth_query` as, whose own password is the only one in the
/// `auth_file`: hosted Supabase's `pgbouncer`.
pub(crate) const AUTH_USER: &str = "pgbouncer";

/// How PgBouncer asks the server for a client's password: hosted Supabase's function, which the
/// test kit creates on plain servers too (`plain_auth.sql`). It returns the role's
/// `rolpassword`, a SCRAM secret: PgBouncer authenticates the client against it and then logs in
/// to the server with the keys the client's SCRAM exchange proved (SCRAM pass-through, PgBouncer
/// 1.14+), so no plaintext password of a project's login is ever in a file.
const AUTH_QUERY: &str = "SELECT username, password FROM pgbouncer.get_auth($1)";

/// Where PgBouncer connects and how its pools are shaped.
pub(crate) struct Settings<'a> {
    /// The server behind it.
    pub(crate) server_host: &'a str,
    /// The server's port.
    pub(crate) server_port: u16,
    /// The one database clients may ask for: the server's.
    pub(crate) database: &'a str,
    /// Where PgBouncer listens (127.0.0.1).
    pub(crate) listen_port: u16,
    /// Server connections per (user, database) pool.
    pub(crate) pool_size: u16,
    /// The directory holding the files (and the unix socket).
    pub(crate) dir: &'a Path,
}

/// `pgbouncer.ini`.
///
/// - `pool_mode = transaction`: what hosted Supabase's pooler does on port 6543. A server
///   connection is a client's for one transaction, then any other client's *of the same user*:
///   PgBouncer keeps one pool per (user, database).
/// - `ignore_startup_parameters = extra_float_digits`: sqlx sends it at startup, and PgBouncer
///   1.18 refuses startup parameters it does not track unless told to ignore them.
/// - `admin_users`: the auth user may use the admin console (`SHOW POOLS`, `SHOW SERVERS`).
/// - No TLS either side: the server is on the loopback interface, like the pooler.
pub(crate) fn pgbouncer_ini(settings: &Settings<'_>) -> String {
    let dir = settings.dir.display();
    format!(
        "; Written by cotenant-testkit.\n\
         [databases]\n\
         {database} = host={host} port={port} dbname={database}\n\
         \n\
         [pgbouncer]\n\
         listen_addr = 127.0.0.1\n\
         listen_port = {listen_port}\n\
         unix_socket_dir = {dir}\n\
         pool_mode = transaction\n\
         default_pool_size = {pool_size}\n\
         max_client_conn = 1000\n\
         auth_type = scram-sha-256\n\
         auth_file = {dir}/userlist.txt\n\
         auth_user = {AUTH_USER}\n\
         auth_query = {AUTH_QUERY}\n\
         admin_users = {AUTH_USER}\n\
         ignore_startup_parameters = extra_float_digits\n\
         server_tls_sslmode = disable\n\
         client_tls_sslmode = disable\n",
        database = settings.database,
        host = settings.server_host,
        port = settings.server_port,
        listen_port = settings.listen_port,
        pool_size = settings.pool_size,
    )
}

/// The `auth_file`: the auth user's own password, in plain text (PgBouncer must log in to the
/// server with it to run `auth_query`; a SCRAM secret cannot be used to log in). Every other
/// password comes from the server.
pub(crate) fn userlist(password: &SecretString) -> SecretString {
    SecretString::from(format!(
        "\"{AUTH_USER}\" \"{}\"\n",
        password.expose_secret().replace('"', "\"\"")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pooler_runs_in_transaction_mode_with_auth_query() {
        let ini = pgbouncer_ini(&Settings {
            server_host: "127.0.0.1",
            server_port: 5432,
            database: "postgres",
            listen_port: 6543,
            pool_size: 4,
            dir: Path::new("/tmp/pooler"),
        });
        for line in [
            "postgres = host=127.0.0.1 port=5432 dbname=postgres",
            "listen_port = 6543",
            "pool_mode = transaction",
            "default_pool_size = 4",
            "auth_user = pgbouncer",
            "auth_query = SELECT username, password FROM pgbouncer.get_auth($1)",
            "auth_file = /tmp/pooler/userlist.txt",
        ] {
            assert!(ini.lines().any(|l| l == line), "{line:?} not in\n{ini}");
        }
        let users = userlist(&SecretString::from("pw"));
        assert_eq!(users.expose_secret(), "\"pgbouncer\" \"pw\"\n");
    }
}
