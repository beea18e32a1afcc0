//! What `doctor` says about the extension allowlist: which allow-listed extensions are
//! installed, missing (provisioning installs them) or not installable.

use tokio_postgres::Client;

use crate::doctor::{Check, Verdict};

/// Whether the admin may give projects USAGE on schema `extensions`, then one check per
/// allow-listed extension: installed (ok), missing but installable (warn: provisioning installs
/// it), or not available / not trusted (fail: provisioning refuses).
///
/// ```no_run
/// # async fn run(client: tokio_postgres::Client) -> Result<(), tokio_postgres::Error> {
/// let allowlist = ["pg_trgm".to_owned()];
/// for check in cotenant::platform::examine_extensions(&client, &allowlist).await? {
///     println!("{:?} {}", check.verdict, check.detail);
/// }
/// # Ok(()) }
/// ```
pub async fn examine_extensions(
    client: &Client,
    allowlist: &[String],
) -> Result<Vec<Check>, tokio_postgres::Error> {
    let rows = client
        .query(
            include_str!("../../sql/platform/extensions.sql"),
            &[&allowlist],
        )
        .await?;
    let grantable = client
        .query_one(
            "SELECT n.nspname IS NOT NULL, coalesce(has_schema_privilege(n.oid, 'USAGE WITH GRANT OPTION'), false), current_user::text \
             FROM (SELECT 1) AS one LEFT JOIN pg_namespace n ON n.nspname = 'extensions'",
            &[],
        )
        .await?;
    let (exists, may_grant, admin): (bool, bool, String) =
        (grantable.get(0), grantable.get(1), grantable.get(2));
    let mut checks = Vec::new();
    if exists {
        checks.push(if may_grant {
            Check {
                name: "admin may grant USAGE on schema extensions",
                verdict: Verdict::Ok,
                detail: format!("`{admin}` can give projects `extensions` access"),
            }
        } else {
            Check {
                name: "admin may grant USAGE on schema extensions",
                verdict: Verdict::Warn,
                detail: format!(
                    "`{admin}` uses schema extensions without the grant option, so projects cannot get `extensions` access: as a superuser, run `GRANT USAGE ON SCHEMA extensions TO {admin} WITH GRANT OPTION`"
                ),
            }
        });
    }
    checks.extend(rows
        .iter()
        .map(|row| {
            let name: String = row.get(0);
            let installed_in: Option<String> = row.get(1);
            let (available, trusted): (bool, bool) = (row.get(2), row.get(3));
            let (verdict, detail) = match installed_in {
                Some(schema) if schema == "extensions" => {
                    (Verdict::Ok, format!("`{name}` is installed in schema extensions"))
                }
                Some(schema) => (
                    Verdict::Warn,
                    format!(
                        "`{name}` is installed in schema `{schema}`, not extensions: projects' `create extension if not exists {name} with schema extensions` passes, but its objects are in `{schema}`"
                    ),
                ),
                None if !available => (
                    Verdict::Fail,
                    format!(
                        "`{name}` is not available on the server: remove it from [platform.allow] extensions or install its files"
                    ),
                ),
                None if !trusted => (
                    Verdict::Fail,
                    format!(
                        "`{name}` is not trusted, so the admin cannot create it: remove it from [platform.allow] extensions or have a superuser create it in schema extensions"
                    ),
                ),
                None => (
                    Verdict::Warn,
                    format!("`{name}` is missing: provisioning installs it in schema extensions"),
                ),
            };
            Check {
                name: "allow-listed extension",
                verdict,
                detail,
            }
        }));
    Ok(checks)
}
