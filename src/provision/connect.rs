//! The connect role: how project logins get `CONNECT` on the database on PostgreSQL 16+.
//!
//! Granting `CONNECT` to each login puts two entries per project into the database's ACL, which
//! PostgreSQL keeps compressed in one value: every grant decompresses, rewrites, recompresses and
//! diffs it against `pg_shdepend`, and every check of a database privilege (the catalog read's,
//! `CREATE SCHEMA`'s) decompresses it — about 45 ms of a provisioning at 10,000 projects, against
//! 5 at 1,000 (BENCHMARKS.md). On 16+ a membership can be inherited per grant, so `CONNECT` is
//! granted once, to `cotenant_connect` (NOLOGIN, holding nothing else), and a new project's
//! logins are made members of it with `INHERIT TRUE, SET FALSE`: a login still holds nothing but
//! `CONNECT`, and cannot become the role. The grant is made by the project's sub-steward, which
//! holds `ADMIN` on the role (from its steward, which holds it from the admin), so no check walks
//! more than the sub-steward's projects. On 15 a login is NOINHERIT as a whole and keeps a
//! `CONNECT` of its own; so do logins that already have one (a re-run plans nothing for them).

/// The role project logins connect through on 16+. Project names never start with `cotenant`.
pub(crate) const CONNECT_ROLE: &str = "cotenant_connect";
