//! A real Supabase app moving into its project: the starter of `fixtures/supabase_starter.sql`
//! (a signup trigger on auth.users filling `public.users`, tables referencing auth.users,
//! row-level security on auth.uid(), tables streamed through Realtime) is relocated with
//! `--all`, on staging then prod. Afterwards signups fill `<p>.users` through the project's
//! signup hook, nothing of the app is left in public, the API roles hold nothing in `<p>`,
//! Realtime still publishes the moved tables, and the app's policies still answer per user.

mod common;

use common::*;
use cotenant::platform::{Access, AccessOverride, PlatformConfig};
use cotenant::provision::ProjectSettings;
use cotenant::relocate::{
    BlockerKind, FunctionChoice, PublicationChoice, Relocation, Selection, SignupTriggerChoice,
};
use cotenant::secret::Login;
use cotenant::{Cotenant, ProjectName};
use cotenant_testkit::{Flavor, Pair, test_version};

const STARTER: &str = include_str!("fixtures/supabase_starter.sql");

/// Whether the shared pair is hosted Supabase (the test kit's default flavour); on the plain
/// flavour there is no auth schema for an app to live on, and the test says so.
fn supabase() -> bool {
    let flavor = Pair::shared().flavor();
    if flavor != Flavor::Supabase {
        eprintln!(
            "skipped: a Supabase app needs the Supabase flavour of the test kit, not {flavor:?}"
        );
    }
    flavor == Flavor::Supabase
}

fn with_access(cotenant: &Cotenant, p: &ProjectName, access: Access) -> Cotenant {
    let mut declared = AccessOverride::default();
    declared.auth = Some(access.auth);
    declared.extensions = Some(access.extensions);
    declared.realtime = Some(access.realtime);
    declared.signup_hook = access.signup_hook;
    cotenant
        .clone()
        .with_platform(PlatformConfig::default().with_project(p.clone(), declared))
}

/// The choices the starter needs: its trigger function becomes the hook, the bodies naming
/// `public.users` are qualified, and the catalogue keeps streaming.
fn starter_relocation() -> Relocation {
    Relocation::new(Selection::All)
        .signup_triggers(SignupTriggerChoice::Hook)
        .functions(FunctionChoice::Rewrite)
        .publications(PublicationChoice::Keep)
}

#[tokio::test]
async fn a_supabase_starter_moves_into_its_project_and_signups_reach_it() {
    if !supabase() {
        return;
    }
    let p = project("starter");
    let hook_only = Access::default()
        .with_auth(true)
        .with_signup_hook(Some("handle_new_user"));
    let cotenant = with_access(&deployment().await, &p, hook_only.clone());
    cotenant
        .provision(&p, &ProjectSettings::default())
        .await
        .expect("provisioning the starter's project");
    let neighbour = project("starter_neighbour");
    cotenant
        .provision(&neighbour, &ProjectSettings::default())
        .await
        .expect("provisioning a neighbour");
    for (_, cluster) in Pair::shared().environments() {
        admin(cluster).await.batch_execute(STARTER).await.unwrap();
    }
    // Realtime's tables are declared once they are the project's.
    let cotenant = with_access(
        &cotenant,
        &p,
        hook_only.with_realtime(["prices", "products"]),
    );

    // Without choices the dry run names what stands in the way, the signup trigger first.
    let plans = cotenant
        .plan_relocation(&p, &Relocation::new(Selection::All))
        .await
        .unwrap();
    let (_, blocked) = &plans[0];
    let trigger = blocked
        .blockers()
        .iter()
        .find(|b| b.kind() == BlockerKind::SignupTrigger)
        .unwrap_or_else(|| panic!("the signup trigger is a finding:\n{blocked}"));
    assert!(
        trigger.object().contains("handle_new_user") && !trigger.is_resolved(),
        "{trigger}"
    );
    assert!(trigger.reason().contains("every signup"), "{trigger}");
    assert!(
        trigger.remedy().contains("--signup-triggers hook"),
        "{trigger}"
    );

    let plans = cotenant
        .plan_relocation(&p, &starter_relocation())
        .await
        .unwrap();
    for (env, plan) in &plans {
        assert!(!plan.is_blocked(), "{env}:\n{plan}");
        assert!(plan.makes_signup_hook(), "{env}:\n{plan}");
        assert!(
            plan.moves()
                .iter()
                .any(|m| m.from() == "public.handle_new_user()"
                    && m.to() == "starter.handle_new_user(cotenant_platform.signup_user)"),
            "{env}:\n{plan}"
        );
    }
    cotenant
        .relocate(&p, &starter_relocation())
        .await
        .expect("relocating the starter");

    for (env, cluster) in Pair::shared().environments() {
        let su = superuser(cluster).await;
        // Nothing of the app is left in public, and no trigger of it on auth.users.
        let left = query_value::<i64>(
            &su,
            "SELECT (SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace
                       AND relname IN ('users', 'customers', 'products', 'prices', 'subscriptions'))
                  + (SELECT count(*) FROM pg_type WHERE typnamespace = 'public'::regnamespace
                       AND typname IN ('pricing_type', 'pricing_plan_interval', 'subscription_status'))
                  + (SELECT count(*) FROM pg_proc WHERE pronamespace = 'public'::regnamespace
                       AND proname = 'handle_new_user')
                  + (SELECT count(*) FROM pg_trigger WHERE tgrelid = 'auth.users'::regclass
                       AND tgname = 'on_auth_user_created')",
        )
        .await;
        assert_eq!(left, 0, "{env}: nothing of the starter is left in public");
        // The foreign keys to auth.users are kept.
        let keys = query_value::<i64>(
            &su,
            "SELECT count(*) FROM pg_constraint WHERE contype = 'f'
               AND connamespace = 'starter'::regnamespace AND confrelid = 'auth.users'::regclass",
        )
        .await;
        assert_eq!(
            keys, 3,
            "{env}: users, customers and subscriptions reference auth.users"
        );
        // Realtime still streams the catalogue, now from the project's schema.
        let published = query_value::<i64>(
            &su,
            "SELECT count(*) FROM pg_publication_tables WHERE pubname = 'supabase_realtime'
               AND schemaname = 'starter' AND tablename IN ('products', 'prices')",
        )
        .await;
        assert_eq!(
            published, 2,
            "{env}: products and prices are still published"
        );
        // The API roles hold nothing in the project.
        let api = query_value::<i64>(
            &su,
            "SELECT count(*) FROM pg_class c, unnest(ARRAY['anon', 'authenticated', 'service_role']) r
             WHERE c.relnamespace = 'starter'::regnamespace AND c.relkind IN ('r', 'S', 'v')
               AND (has_table_privilege(r, c.oid, 'SELECT, INSERT, UPDATE, DELETE')
                    OR has_schema_privilege(r, 'starter', 'USAGE'))",
        )
        .await;
        assert_eq!(
            api, 0,
            "{env}: anon, authenticated and service_role reach nothing"
        );

        // A signup now fills the project's users through its hook.
        let ada = signup(cluster, &format!("ada-{env}@example.com"), "Ada").await;
        let grace = signup(cluster, &format!("grace-{env}@example.com"), "Grace").await;
        let names = query_value::<i64>(
            &su,
            &format!(
                "SELECT count(*) FROM starter.users WHERE (id, full_name) IN
                   (('{ada}'::uuid, 'Ada'), ('{grace}'::uuid, 'Grace'))"
            ),
        )
        .await;
        assert_eq!(names, 2, "{env}: the signup hook filled starter.users");

        // The app's policies still answer per user, as the project's login.
        let app = login(&cotenant, env, &p, Login::App).await;
        app.batch_execute(&format!(
            "SELECT set_config('request.jwt.claims', '{{\"sub\": \"{ada}\", \"role\": \"authenticated\"}}', false)"
        ))
        .await
        .unwrap();
        assert_eq!(
            query_value::<i64>(&app, "SELECT count(*) FROM users").await,
            1,
            "{env}: Ada sees her row"
        );
        let mine: String = app
            .query_one("SELECT full_name FROM users", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(mine, "Ada");
        assert_eq!(
            query_value::<i64>(&app, "SELECT count(*) FROM prices").await,
            2,
            "{env}"
        );

        // The hook relocation made is the dispatcher's alone: neither the project's own login nor
        // another project's may call it (it runs as `starter_owner`).
        let forged = format!(
            "SELECT starter.handle_new_user(ROW('{ada}', 'x', 'x', 'x', NULL, NULL, NULL, NULL, NULL, now())::cotenant_platform.signup_user)"
        );
        assert_denied(&app, "starter_login", &forged).await;
        let other = login(&cotenant, env, &neighbour, Login::App).await;
        assert_denied(&other, "neighbour_login", &forged).await;
        assert_denied(
            &other,
            "neighbour_login",
            "SELECT count(*) FROM starter.users",
        )
        .await;
    }

    // Converged: nothing left to move, nothing left to provision.
    for (env, plan) in cotenant
        .plan_relocation(&p, &starter_relocation())
        .await
        .unwrap()
    {
        assert!(plan.is_empty(), "{env}:\n{plan}");
    }
    for (env, plan) in cotenant
        .plan(&p, &ProjectSettings::default())
        .await
        .unwrap()
    {
        assert!(plan.is_empty(), "{env}:\n{plan}");
    }
}

#[tokio::test]
async fn a_signup_trigger_that_cannot_be_a_hook_is_named_and_nothing_changes() {
    if !supabase() {
        return;
    }
    // A pair of its own: the trigger fires for every signup while it exists.
    let pair = Pair::start(test_version()).expect("a pair");
    let p = project("badhook");
    let cotenant = deployment_on(&pair, "badhook").await;
    cotenant
        .provision(&p, &ProjectSettings::default())
        .await
        .unwrap();
    let staging = &pair.staging;
    admin(staging)
        .await
        .batch_execute(
            "CREATE TABLE public.badhook_profiles (id uuid PRIMARY KEY, op text, pw text);
             CREATE FUNCTION public.badhook_on_signup() RETURNS trigger LANGUAGE plpgsql
               SECURITY DEFINER SET search_path = '' AS
               $$ BEGIN
                    INSERT INTO public.badhook_profiles VALUES (NEW.id, TG_OP, NEW.encrypted_password);
                    RETURN NEW;
                  END $$;
             CREATE TRIGGER badhook_on_signup AFTER INSERT ON auth.users
               FOR EACH ROW EXECUTE FUNCTION public.badhook_on_signup();",
        )
        .await
        .unwrap();
    let relocation = Relocation::new(Selection::Prefix {
        prefix: "badhook_".into(),
        strip: false,
    })
    .signup_triggers(SignupTriggerChoice::Hook)
    .functions(FunctionChoice::Rewrite);
    let env = cotenant.environment("staging").unwrap();
    // Undeclared: the remedy says where to declare it, and what else is wrong.
    let plan = env.plan_relocation(&p, &relocation).await.unwrap();
    let finding = |plan: &cotenant::relocate::RelocationPlan| {
        plan.blockers()
            .iter()
            .find(|b| b.kind() == BlockerKind::SignupTrigger)
            .cloned()
            .unwrap_or_else(|| panic!("a signup trigger finding in:\n{plan}"))
    };
    let undeclared = finding(&plan);
    assert!(!undeclared.is_resolved());
    assert!(
        undeclared
            .remedy()
            .contains("signup_hook = \"badhook_on_signup\"")
            && undeclared.remedy().contains("[projects.badhook.platform]")
            && undeclared.remedy().contains("tg_op"),
        "{undeclared}"
    );
    // Declared, its body still reads what a hook does not get: TG_OP and the password hash.
    let declared = with_access(
        &cotenant,
        &p,
        Access::default()
            .with_auth(true)
            .with_signup_hook(Some("badhook_on_signup")),
    );
    let env = declared.environment("staging").unwrap();
    let plan = env.plan_relocation(&p, &relocation).await.unwrap();
    let unfit = finding(&plan);
    assert!(!unfit.is_resolved() && plan.is_blocked(), "{plan}");
    assert!(
        unfit.remedy().contains("tg_op")
            && unfit.remedy().contains("NEW.encrypted_password")
            && !unfit.remedy().contains("declare it"),
        "{unfit}"
    );
    let err = env.relocate(&p, &relocation).await.unwrap_err();
    assert!(err.to_string().contains("badhook_on_signup"), "{err}");
    // Nothing changed: the trigger still fires for every signup.
    let su = superuser(staging).await;
    let triggers = query_value::<i64>(
        &su,
        "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'auth.users'::regclass
           AND tgname = 'badhook_on_signup'",
    )
    .await;
    assert_eq!(triggers, 1);
}
