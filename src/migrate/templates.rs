//! Migration sets that ship with cotenant, embedded at compile time from `sql/templates/`.

use super::Migrations;

/// An org-scoped app of twenty tables (organizations, members, invitations, companies, contacts,
/// pipelines, pipeline stages, deals, deal contacts, activities, notes, tasks, tags, contact
/// tags, files, products, invoices, invoice items, payments, audit log), as six migrations.
///
/// Every table has row-level security enabled, with policies comparing each row's `org_id`
/// with the `org_id` claim the request carries in `request.jwt.claims` (the shape hosted
/// Supabase apps use): a service sets the claims per transaction with
/// `set_config('request.jwt.claims', …, true)` and sees only its organization's rows. The last
/// migration is a `-- cotenant: no-transaction` file that builds indexes concurrently.
///
/// ```
/// let template = cotenant::migrate::templates::org_app();
/// assert_eq!(template.last_version(), 6);
/// assert!(!template.get(6).unwrap().runs_in_transaction());
/// ```
pub fn org_app() -> Migrations {
    Migrations::from_embedded(&[
        (
            "001_organizations.sql",
            include_str!("../../sql/templates/org_app/001_organizations.sql"),
        ),
        (
            "002_crm.sql",
            include_str!("../../sql/templates/org_app/002_crm.sql"),
        ),
        (
            "003_work.sql",
            include_str!("../../sql/templates/org_app/003_work.sql"),
        ),
        (
            "004_billing.sql",
            include_str!("../../sql/templates/org_app/004_billing.sql"),
        ),
        (
            "005_audit_log.sql",
            include_str!("../../sql/templates/org_app/005_audit_log.sql"),
        ),
        (
            "006_timeline_indexes.sql",
            include_str!("../../sql/templates/org_app/006_timeline_indexes.sql"),
        ),
    ])
    .expect("the embedded template is a valid migration set")
}
