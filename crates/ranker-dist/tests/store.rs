//! The rendezvous store over real sockets: operations, token refusal, timeouts, barrier, last will, failure channel.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use ranker_dist::failure::{self, FailureRecord};
use ranker_dist::{DistError, StoreClient, StoreServer};

const T: Duration = Duration::from_secs(20);

fn server() -> (StoreServer, String) {
    let s = StoreServer::bind("127.0.0.1:0", "job-secret").unwrap();
    let addr = s.local_addr().to_string();
    (s, addr)
}

#[test]
fn basic_operations() {
    let (_s, addr) = server();
    let c = StoreClient::connect(&addr, "job-secret", T).unwrap();
    c.set("a", b"1").unwrap();
    assert_eq!(c.get("a").unwrap(), b"1");
    assert!(c.check(&["a"]).unwrap());
    assert!(!c.check(&["a", "b"]).unwrap());
    assert_eq!(c.add("n", 5).unwrap(), 5);
    assert_eq!(c.add("n", -2).unwrap(), 3);
    // compare_set: absent → set; wrong expectation → unchanged, returns current.
    assert_eq!(c.compare_set("cas", None, b"x").unwrap(), b"x");
    assert_eq!(c.compare_set("cas", None, b"y").unwrap(), b"x");
    assert_eq!(c.compare_set("cas", Some(b"x"), b"z").unwrap(), b"z");
    assert!(c.delete("cas").unwrap());
    assert!(!c.delete("cas").unwrap());
    assert_eq!(c.num_keys().unwrap(), 2);
    let err = c.add("a", 1).map(|_| ());
    assert!(err.is_ok(), "a holds \"1\", an integer");
    c.set("text", b"abc").unwrap();
    let err = c.add("text", 1).unwrap_err().to_string();
    assert!(
        err.contains("\"text\"") && err.contains("not an integer"),
        "{err}"
    );
}

#[test]
fn wait_is_woken_by_another_client() {
    let (_s, addr) = server();
    let waiter = StoreClient::connect(&addr, "job-secret", T).unwrap();
    let setter = StoreClient::connect(&addr, "job-secret", T).unwrap();
    let t = thread::spawn(move || {
        waiter.wait(&["x", "y"], T).unwrap();
        waiter.get("y").unwrap()
    });
    thread::sleep(Duration::from_millis(50));
    setter.set("x", b"1").unwrap();
    setter.set("y", b"2").unwrap();
    assert_eq!(t.join().unwrap(), b"2");
}

#[test]
fn wrong_token_is_refused_on_both_sides() {
    let refusals = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&refusals);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hook: ranker_dist::store::RefusalHook = Arc::new(move |_peer| {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    let s = StoreServer::from_listener(listener, "right", Some(hook)).unwrap();
    let addr = s.local_addr().to_string();
    let err = StoreClient::connect(&addr, "wrong", T).unwrap_err();
    assert!(matches!(err, DistError::TokenRefused { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!("store at {addr} refused the job token: RANKER_STORE_TOKEN differs from the one the store was started with")
    );
    assert_eq!(s.refused_count(), 1);
    assert_eq!(refusals.load(Ordering::SeqCst), 1);
    // The right token still works afterwards.
    StoreClient::connect(&addr, "right", T)
        .unwrap()
        .set("k", b"v")
        .unwrap();
}

#[test]
fn get_timeout_names_the_missing_key() {
    let (_s, addr) = server();
    let c = StoreClient::connect(&addr, "job-secret", T).unwrap();
    let err = c
        .get_timeout("never/there", Duration::from_millis(200))
        .unwrap_err();
    let msg = err.to_string();
    assert_eq!(
        msg,
        format!("store at {addr}: get timed out after 0.2s; missing keys [\"never/there\"]")
    );
    c.set("present", b"").unwrap();
    let err = c
        .wait(&["present", "absent"], Duration::from_millis(100))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("[\"absent\"]") && !err.contains("\"present\""),
        "{err}"
    );
    // The connection is still usable after a timeout.
    assert_eq!(c.get("present").unwrap(), b"");
}

#[test]
fn barrier_releases_all_and_reports_stragglers() {
    let (_s, addr) = server();
    let handles: Vec<_> = (0..3)
        .map(|_| {
            let addr = addr.clone();
            thread::spawn(move || {
                let c = StoreClient::connect(&addr, "job-secret", T).unwrap();
                c.barrier("b", 0, 3, T).unwrap();
                c.barrier("b", 1, 3, T).unwrap();
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let c = StoreClient::connect(&addr, "job-secret", T).unwrap();
    let err = c
        .barrier("lonely", 0, 2, Duration::from_millis(100))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "store barrier \"lonely/0/count\": only 1/2 ranks arrived within 0.1s"
    );
}

#[test]
fn last_will_applies_only_when_the_connection_dies() {
    let (s, addr) = server();
    let dying = StoreClient::connect(&addr, "job-secret", T).unwrap();
    dying.set_will("job/failed", b"node 3 lost").unwrap();
    drop(dying);
    let c = StoreClient::connect(&addr, "job-secret", T).unwrap();
    assert_eq!(c.get("job/failed").unwrap(), b"node 3 lost");

    let polite = StoreClient::connect(&addr, "job-secret", T).unwrap();
    polite.set_will("other", b"x").unwrap();
    polite.clear_will().unwrap();
    drop(polite);
    thread::sleep(Duration::from_millis(100));
    assert!(s.get_local("other").is_none());
}

#[test]
fn shutdown_unblocks_a_waiter() {
    let (_s, addr) = server();
    let c = Arc::new(StoreClient::connect(&addr, "job-secret", T).unwrap());
    let waiter = Arc::clone(&c);
    let t = thread::spawn(move || waiter.wait(&["never"], Duration::from_secs(60)));
    thread::sleep(Duration::from_millis(50));
    c.shutdown();
    let err = t.join().unwrap().unwrap_err();
    assert!(
        matches!(err, DistError::StoreIo { op: "wait", .. }),
        "{err:?}"
    );
}

#[test]
fn server_drop_fails_clients_fast() {
    let (s, addr) = server();
    let c = StoreClient::connect(&addr, "job-secret", T).unwrap();
    drop(s);
    let err = c.get_timeout("k", Duration::from_secs(30)).unwrap_err();
    assert!(
        matches!(
            err,
            DistError::StoreIo { .. } | DistError::StoreTimeout { .. }
        ),
        "{err:?}"
    );
}

#[test]
fn failure_channel_keeps_the_first_failure() {
    let (_s, addr) = server();
    let c = StoreClient::connect(&addr, "job-secret", T).unwrap();
    assert_eq!(
        failure::wait_failure(&c, 0, Duration::from_millis(50)).unwrap(),
        None
    );
    let first = FailureRecord {
        rank: Some(2),
        node: 0,
        host: "h".into(),
        pid: Some(10),
        exit: "exit code 1".into(),
        reason: String::new(),
    };
    let second = FailureRecord {
        rank: Some(0),
        exit: "signal SIGTERM".into(),
        ..first.clone()
    };
    assert_eq!(failure::publish_failure(&c, 0, &first).unwrap(), first);
    assert_eq!(failure::publish_failure(&c, 0, &second).unwrap(), first);
    assert_eq!(failure::wait_failure(&c, 0, T).unwrap(), Some(first));
    // Another attempt is a separate channel.
    assert_eq!(
        failure::wait_failure(&c, 1, Duration::from_millis(10)).unwrap(),
        None
    );
    failure::publish_heartbeat(&c, 0, 3, 17).unwrap();
    assert_eq!(
        failure::read_heartbeat(&c, 0, 3).unwrap().map(|(s, _)| s),
        Some(17)
    );
    assert_eq!(failure::read_heartbeat(&c, 0, 4).unwrap(), None);
}
