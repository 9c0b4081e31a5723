//! Tests of the limits, their overrides and their persistence.

use super::*;

#[test]
fn overrides_parse_and_every_problem_is_reported() {
    let config = parse_overrides(&[
        "global-ip=6000/5m".into(),
        " repo-write-hour = 20000/1h ".into(),
        "handle-cert-week=1/w".into(),
    ])
    .unwrap();
    assert_eq!(
        config.get(LimitId::GlobalIp),
        Limit {
            points: 6000,
            window_secs: 300
        }
    );
    assert_eq!(config.get(LimitId::RepoWriteHour).points, 20_000);
    assert_eq!(config.get(LimitId::HandleCertWeek).window_secs, WEEK);
    assert_eq!(
        config.get(LimitId::Login5m),
        LimitId::Login5m.default_limit()
    );
    let problems = parse_overrides(&[
        "nope=1/1m".into(),
        "login-5m=0/5m".into(),
        "login-day=30".into(),
        "signup=5/3y".into(),
    ])
    .unwrap_err();
    assert_eq!(problems.len(), 4, "{problems:?}");
}

#[test]
fn the_reference_numbers_are_the_defaults() {
    let check = |id: LimitId, points: u32, window: u64| {
        assert_eq!(
            id.default_limit(),
            Limit {
                points,
                window_secs: window
            },
            "{}",
            id.name()
        );
    };
    check(LimitId::GlobalIp, 3000, 300);
    check(LimitId::Login5m, 30, 300);
    check(LimitId::LoginDay, 300, DAY);
    check(LimitId::PasswordResetHour, 15, HOUR);
    check(LimitId::PasswordResetDay, 50, DAY);
    check(LimitId::Handle5m, 10, 300);
    check(LimitId::HandleDay, 50, DAY);
    check(LimitId::RepoWriteHour, 5000, HOUR);
    check(LimitId::RepoWriteDay, 35_000, DAY);
    let names: std::collections::HashSet<&str> = LimitId::ALL.iter().map(|i| i.name()).collect();
    assert_eq!(names.len(), LimitId::ALL.len(), "names are unique");
}

#[test]
fn ipv6_addresses_share_their_64() {
    assert_eq!(address_key("192.0.2.1".parse().unwrap()), "192.0.2.1");
    assert_eq!(
        address_key("::ffff:192.0.2.1".parse().unwrap()),
        "192.0.2.1"
    );
    assert_eq!(
        address_key("2001:db8:1:2:3:4:5:6".parse().unwrap()),
        address_key("2001:db8:1:2:ffff::1".parse().unwrap())
    );
    assert_ne!(
        address_key("2001:db8:1:2::1".parse().unwrap()),
        address_key("2001:db8:1:3::1".parse().unwrap())
    );
}

async fn open(dir: &std::path::Path, config: RateLimitConfig) -> (Store, RateLimits) {
    let store = Store::open(dir).unwrap();
    let limits = RateLimits::open(store.clone(), config).await.unwrap();
    (store, limits)
}

#[tokio::test]
async fn points_are_spent_refused_and_remembered_across_a_restart() {
    let dir = std::env::temp_dir().join(format!("skyhold-ratelimit-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let config =
        parse_overrides(&["repo-write-hour=10/1h".into(), "login-5m=2/5m".into()]).unwrap();
    let (store, limits) = open(&dir, config.clone()).await;
    let status = limits.consume(LimitId::RepoWriteHour, "did:a", 3).unwrap();
    assert_eq!((status.limit, status.remaining), (10, 7));
    assert_eq!(status.window_secs, HOUR);
    limits.consume(LimitId::RepoWriteHour, "did:a", 6).unwrap();
    let refused = limits
        .consume(LimitId::RepoWriteHour, "did:a", 3)
        .unwrap_err();
    assert_eq!(refused.0.remaining, 1, "a refusal spends nothing");
    limits.consume(LimitId::RepoWriteHour, "did:a", 1).unwrap();
    assert!(limits.consume(LimitId::RepoWriteHour, "did:b", 3).is_ok());
    limits.consume(LimitId::Login5m, "x", 2).unwrap();
    // Combined: the tightest status, or the refusal.
    let tightest = limits
        .consume_all(&[
            (LimitId::GlobalIp, "192.0.2.1", 1),
            (LimitId::RepoWriteHour, "did:b", 1),
        ])
        .unwrap()
        .unwrap();
    assert_eq!(tightest.remaining, 6);
    assert!(
        limits
            .consume_all(&[
                (LimitId::GlobalIp, "192.0.2.1", 1),
                (LimitId::Login5m, "x", 1)
            ])
            .is_err()
    );
    limits.admin().failed("192.0.2.9");
    limits.flush().await.unwrap();
    store.shutdown().await;
    drop((store, limits));

    let (store, limits) = open(&dir, config).await;
    assert!(
        limits.consume(LimitId::RepoWriteHour, "did:a", 1).is_err(),
        "an hour's window survives the restart"
    );
    assert!(
        limits.consume(LimitId::Login5m, "x", 1).is_ok(),
        "five minutes are not worth a write"
    );
    store.shutdown().await;
    drop((store, limits));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_full_limit_makes_room() {
    let mut map = HashMap::new();
    for n in 0..MAX_KEYS {
        map.insert(
            n.to_string(),
            Bucket {
                start: 100,
                used: 1,
                dirty: false,
            },
        );
    }
    make_room(&mut map, 200, 1000);
    assert_eq!(map.len(), MAX_KEYS - MAX_KEYS / 10);
    make_room(&mut map, 2000, 1000);
    assert!(map.is_empty(), "expired windows go first");
}
