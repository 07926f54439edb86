//! Rotation against the real moto (Secrets Manager) and the private
//! PostgreSQL (scram-sha-256) of `tests/servers.py start --vault-lifecycle`,
//! driven as the service drives it: moto cannot invoke a Lambda here (no
//! Docker), but `RotateSecret` naming an unknown function still registers
//! the new version as AWSPENDING before failing to call it, which is the
//! state the service leaves before calling the function; the test then
//! sends the four events, each twice (the service retries steps).

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use secretkit::{AwsApi, AwsService, ErrorKind};
use secretkit_rotation::{rotate_with, Event, Settings, Step, Store, Strategy};
use serde_json::json;
use tokio_postgres::NoTls;

const FAKE_FUNCTION: &str =
    "arn:aws:lambda:us-east-1:123456789012:function:secretkit-rotation-test";
const STEPS: [Step; 4] = [Step::Create, Step::Set, Step::Test, Step::Finish];

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run through scripts/test.sh, or source the env file of `tests/servers.py start --vault-lifecycle`")
    })
}

fn unique(label: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{label}_{:x}{}",
        nanos % 0xffff_ffff,
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// The tests' own Secrets Manager calls (create secrets, start rotations,
/// look at stages), on secretkit's protocol layer like the code under test.
struct Sm(AwsApi);

impl Sm {
    async fn call(&self, operation: &str, input: serde_json::Value) -> serde_json::Value {
        self.try_call(operation, input).await.unwrap()
    }

    async fn try_call(
        &self,
        operation: &str,
        input: serde_json::Value,
    ) -> secretkit::Result<serde_json::Value> {
        self.0
            .call(AwsService::SecretsManager, operation, &input)
            .await
    }

    /// Version id -> staging labels.
    async fn stages(&self, id: &str) -> serde_json::Map<String, serde_json::Value> {
        let described = self.call("DescribeSecret", json!({ "SecretId": id })).await;
        described["VersionIdsToStages"]
            .as_object()
            .cloned()
            .unwrap_or_default()
    }
}

async fn sm() -> Sm {
    let rt = secretkit::runtime::native::runtime(Duration::from_secs(10)).unwrap();
    Sm(AwsApi::from_env(&rt, Duration::from_secs(10)).await)
}

fn labels(stages: &serde_json::Map<String, serde_json::Value>, version: &str) -> Vec<String> {
    stages
        .get(version)
        .and_then(|l| l.as_array())
        .map(|l| {
            l.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn pg_config(user: &str, password: &str) -> tokio_postgres::Config {
    let mut c = tokio_postgres::Config::new();
    c.host(var("SK_PG_HOST"))
        .port(var("SK_PG_PORT").parse().unwrap())
        .dbname(var("SK_PG_DB"))
        .user(user)
        .password(password)
        .connect_timeout(Duration::from_secs(5));
    c
}

async fn pg(user: &str, password: &str) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let (client, connection) = pg_config(user, password).connect(NoTls).await?;
    tokio::spawn(connection);
    Ok(client)
}

async fn admin() -> tokio_postgres::Client {
    pg(&var("SK_PG_ADMIN_USER"), &var("SK_PG_ADMIN_PASSWORD"))
        .await
        .unwrap()
}

async fn logs_in(user: &str, password: &str) -> bool {
    match pg(user, password).await {
        Ok(client) => client.simple_query("SELECT 1").await.is_ok(),
        Err(_) => false,
    }
}

fn secret_json(user: &str, password: &str, extra: serde_json::Value) -> String {
    let mut v = json!({
        "engine": "postgres",
        "host": var("SK_PG_HOST"),
        "port": var("SK_PG_PORT").parse::<u16>().unwrap(),
        "username": user,
        "password": password,
        "dbname": var("SK_PG_DB"),
    });
    if let serde_json::Value::Object(extra) = extra {
        v.as_object_mut().unwrap().extend(extra);
    }
    v.to_string()
}

/// A login role with a known password.
async fn make_role(user: &str, password: &str) {
    let sql = admin()
        .await
        .query_one(
            "SELECT format('CREATE ROLE %I WITH LOGIN PASSWORD %L', $1::text, $2::text)",
            &[&user, &password],
        )
        .await
        .unwrap()
        .get::<_, String>(0);
    admin().await.batch_execute(&sql).await.unwrap();
}

async fn create_secret(sm: &Sm, name: &str, value: String) -> String {
    let created = sm
        .call(
            "CreateSecret",
            json!({ "Name": name, "SecretString": value }),
        )
        .await;
    created["ARN"].as_str().unwrap().to_owned()
}

/// What the service does when a rotation starts: a new version id,
/// registered as AWSPENDING (and rotation turned on, the first time).
async fn start_rotation(sm: &Sm, id: &str) -> String {
    let token = format!("{}-{}", unique("token"), "0123456789abcdef0123");
    let started = sm
        .try_call(
            "RotateSecret",
            json!({
                "SecretId": id,
                "ClientRequestToken": token,
                "RotationLambdaARN": FAKE_FUNCTION,
                "RotationRules": { "AutomaticallyAfterDays": 30 },
            }),
        )
        .await;
    assert!(started.is_err(), "moto invoked a Lambda it does not have?");
    assert_eq!(
        labels(&sm.stages(id).await, &token),
        ["AWSPENDING"],
        "moto no longer registers the version before invoking"
    );
    token
}

fn event(id: &str, token: &str, step: Step) -> Event {
    let name = match step {
        Step::Create => "createSecret",
        Step::Set => "setSecret",
        Step::Test => "testSecret",
        Step::Finish => "finishSecret",
    };
    Event::from_json(
        &json!({"SecretId": id, "ClientRequestToken": token, "Step": name}).to_string(),
    )
    .unwrap()
}

/// Each step twice, as a service retry would repeat it; after a finished
/// rotation the service takes AWSPENDING off the new version, as the test
/// does here (moto then accepts the next RotateSecret).
async fn run_steps(store: &Store, id: &str, token: &str, strategy: Strategy, steps: &[Step]) {
    for &step in steps {
        for attempt in 1..=2 {
            rotate_with(
                store,
                &event(id, token, step),
                strategy,
                &Settings::default(),
            )
            .await
            .unwrap_or_else(|e| panic!("{step:?} (attempt {attempt}): {e}"));
        }
        if step == Step::Finish {
            end_rotation(id, token).await;
        }
    }
}

async fn end_rotation(id: &str, token: &str) {
    let sm = sm().await;
    if labels(&sm.stages(id).await, token)
        .iter()
        .any(|l| l == "AWSPENDING")
    {
        let input = json!({
            "SecretId": id,
            "VersionStage": "AWSPENDING",
            "RemoveFromVersionId": token,
        });
        sm.call("UpdateSecretVersionStage", input).await;
    }
}

async fn stage_value(sm: &Sm, id: &str, stage: &str) -> (String, serde_json::Value) {
    let out = sm
        .call(
            "GetSecretValue",
            json!({ "SecretId": id, "VersionStage": stage }),
        )
        .await;
    (
        out["VersionId"].as_str().unwrap().to_owned(),
        serde_json::from_str(out["SecretString"].as_str().unwrap()).unwrap(),
    )
}

fn login(v: &serde_json::Value) -> (String, String) {
    (
        v["username"].as_str().unwrap().to_owned(),
        v["password"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn single_user_a_new_password_logs_in_the_old_one_does_not_and_stages_move() {
    let (sm, user) = (sm().await, unique("rot_single"));
    make_role(&user, "first-Passw0rd").await;
    let id = create_secret(&sm, &user, secret_json(&user, "first-Passw0rd", json!({}))).await;
    let store = Store::from_env(Duration::from_secs(10)).await.unwrap();
    for round in 1..=2 {
        let (old_version, old) = stage_value(&sm, &id, "AWSCURRENT").await;
        let token = start_rotation(&sm, &id).await;
        let started = std::time::Instant::now();
        run_steps(&store, &id, &token, Strategy::SingleUser, &STEPS).await;
        println!(
            "single-user rotation {round}: the 4 steps, each sent twice, in {} ms",
            started.elapsed().as_millis()
        );

        let (current_version, current) = stage_value(&sm, &id, "AWSCURRENT").await;
        assert_eq!(current_version, token, "round {round}");
        assert_eq!(stage_value(&sm, &id, "AWSPREVIOUS").await.0, old_version);
        let ((u, new_password), (_, old_password)) = (login(&current), login(&old));
        assert_eq!(u, user);
        assert_ne!(new_password, old_password);
        assert!(
            logs_in(&user, &new_password).await,
            "round {round}: the new password logs in"
        );
        assert!(
            !logs_in(&user, &old_password).await,
            "round {round}: the old one does not"
        );
        assert_eq!(
            current["engine"], "postgres",
            "the rest of the secret is kept"
        );
        // Finished: every step of this token is now a no-op.
        run_steps(&store, &id, &token, Strategy::SingleUser, &STEPS).await;
        assert_eq!(stage_value(&sm, &id, "AWSCURRENT").await.0, token);
    }
}

#[tokio::test]
async fn alternating_users_both_log_in_during_the_cycle_and_take_turns() {
    let sm = sm().await;
    let (base, group, table) = (
        unique("rot_alt"),
        unique("rot_readers"),
        unique("rot_items"),
    );
    let db = admin().await;
    db.batch_execute(&format!(
        "CREATE TABLE {table} (id int); INSERT INTO {table} VALUES (7);
         CREATE ROLE {group}; GRANT SELECT ON {table} TO {group};"
    ))
    .await
    .unwrap();
    make_role(&base, "alt-Passw0rd").await;
    db.batch_execute(&format!(
        "GRANT {group} TO {base}; GRANT INSERT ON {table} TO {base};"
    ))
    .await
    .unwrap();
    let master = create_secret(
        &sm,
        &unique("rot_master"),
        secret_json(
            &var("SK_PG_ADMIN_USER"),
            &var("SK_PG_ADMIN_PASSWORD"),
            json!({}),
        ),
    )
    .await;
    let id = create_secret(
        &sm,
        &base,
        secret_json(&base, "alt-Passw0rd", json!({ "masterarn": master })),
    )
    .await;
    let store = Store::from_env(Duration::from_secs(10)).await.unwrap();

    let mut users = Vec::new();
    for cycle in 1..=2 {
        let (_, before) = stage_value(&sm, &id, "AWSCURRENT").await;
        let token = start_rotation(&sm, &id).await;
        run_steps(
            &store,
            &id,
            &token,
            Strategy::AlternatingUsers,
            &[Step::Create, Step::Set, Step::Test],
        )
        .await;
        // Mid-cycle: the current login and the pending one both work.
        let (_, pending) = stage_value(&sm, &id, "AWSPENDING").await;
        let (cur_user, cur_pw) = login(&before);
        let (new_user, new_pw) = login(&pending);
        assert_ne!(
            cur_user, new_user,
            "cycle {cycle}: the pending version names the other user"
        );
        assert!(
            logs_in(&cur_user, &cur_pw).await,
            "cycle {cycle}: current still logs in"
        );
        assert!(
            logs_in(&new_user, &new_pw).await,
            "cycle {cycle}: pending logs in"
        );
        run_steps(
            &store,
            &id,
            &token,
            Strategy::AlternatingUsers,
            &[Step::Finish],
        )
        .await;
        // The new user has the original's grants (membership and table).
        let as_new = pg(&new_user, &new_pw).await.unwrap();
        let row = as_new
            .query_one(&format!("SELECT id FROM {table} WHERE id = 7"), &[])
            .await
            .unwrap();
        assert_eq!(row.get::<_, i32>(0), 7);
        as_new
            .batch_execute(&format!("INSERT INTO {table} VALUES ({cycle})"))
            .await
            .unwrap();
        assert!(
            logs_in(&cur_user, &cur_pw).await,
            "cycle {cycle}: the previous user keeps working"
        );
        users.push(new_user);
    }
    assert_eq!(
        users,
        [format!("{base}_clone"), base.clone()],
        "after two cycles the original is current again"
    );
    let (_, now) = stage_value(&sm, &id, "AWSCURRENT").await;
    assert_ne!(login(&now).1, "alt-Passw0rd", "with a new password");
}

#[tokio::test]
async fn a_failing_step_leaves_awscurrent_and_the_app_as_they_were() {
    let (sm, user) = (sm().await, unique("rot_fail"));
    make_role(&user, "stay-Passw0rd").await;
    let id = create_secret(&sm, &user, secret_json(&user, "stay-Passw0rd", json!({}))).await;
    let store = Store::from_env(Duration::from_secs(10)).await.unwrap();
    let (current_version, _) = stage_value(&sm, &id, "AWSCURRENT").await;
    let token = start_rotation(&sm, &id).await;
    run_steps(&store, &id, &token, Strategy::SingleUser, &[Step::Create]).await;
    // setSecret did not run (a failure between steps): the database refuses
    // the pending password, so testSecret fails and finishSecret is never sent.
    let refused = rotate_with(
        &store,
        &event(&id, &token, Step::Test),
        Strategy::SingleUser,
        &Settings::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Auth, "{refused}");
    let (pending_version, pending) = stage_value(&sm, &id, "AWSPENDING").await;
    assert_eq!(pending_version, token);
    assert!(!refused
        .to_string()
        .contains(pending["password"].as_str().unwrap()));
    assert_eq!(stage_value(&sm, &id, "AWSCURRENT").await.0, current_version);
    assert!(
        logs_in(&user, "stay-Passw0rd").await,
        "the app's login still works"
    );

    // The service's next try of the same rotation picks up where it failed.
    run_steps(&store, &id, &token, Strategy::SingleUser, &STEPS).await;
    assert_eq!(stage_value(&sm, &id, "AWSCURRENT").await.0, token);
    assert!(logs_in(&user, pending["password"].as_str().unwrap()).await);
}

#[tokio::test]
async fn the_services_pre_checks_are_made() {
    let (sm, user) = (sm().await, unique("rot_checks"));
    let id = create_secret(&sm, &user, secret_json(&user, "x-Passw0rd", json!({}))).await;
    let store = Store::from_env(Duration::from_secs(10)).await.unwrap();
    let run = |token: &str, step| {
        let (store, event) = (store.clone(), event(&id, token, step));
        async move { rotate_with(&store, &event, Strategy::SingleUser, &Settings::default()).await }
    };
    let not_enabled = run("a-token-that-is-long-enough-0000000000", Step::Create)
        .await
        .unwrap_err();
    assert!(
        not_enabled.to_string().contains("rotation is not enabled"),
        "{not_enabled}"
    );
    let token = start_rotation(&sm, &id).await;
    let unknown = run("no-such-version-0000000000000000000000", Step::Create)
        .await
        .unwrap_err();
    assert!(
        unknown.to_string().contains("is not a version"),
        "{unknown}"
    );
    let (current, _) = stage_value(&sm, &id, "AWSCURRENT").await;
    // The current version is "already rotated": nothing to do.
    run(&current, Step::Finish).await.unwrap();
    assert_eq!(stage_value(&sm, &id, "AWSCURRENT").await.0, current);
    assert_eq!(
        run(&token, Step::Test).await.unwrap_err().kind(),
        ErrorKind::NotFound,
        "no pending value yet"
    );
}
