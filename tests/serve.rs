//! `ranker serve` as an RLHF trainer uses it: a real HTTP client (std `TcpStream`, HTTP/1.1) against the running
//! binary — answers equal the CLI's, concurrent clients share batches and all get right answers, every bad
//! input gets its status and a one-line JSON error naming the field, SIGTERM finishes in-flight requests.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

fn fixtures() -> PathBuf {
    common::repo().join("tests/fixtures")
}

const MODEL_ARGS: [&str; 6] = [
    "--source-max-len",
    "128",
    "--candidate-max-len",
    "64",
    "--base-model",
    "tests/fixtures/rankers/base",
];

struct Server {
    child: Child,
    addr: String,
}

impl Server {
    fn start(extra: &[&str]) -> Self {
        let mut child = Command::new(common::bin("ranker"))
            .args(["-q", "serve", "--port", "0", "--model"])
            .arg(fixtures().join("rankers/pairrm-tiny"))
            .args(MODEL_ARGS)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        Server { child, addr }
    }

    fn request(&self, method: &str, path: &str, body: &str) -> Response {
        http(&self.addr, method, path, &[], body)
    }

    fn post(&self, path: &str, body: &Value) -> Value {
        let r = self.request("POST", path, &body.to_string());
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        serde_json::from_str(&r.body).unwrap()
    }

    fn terminate(mut self) -> std::process::ExitStatus {
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        self.child.wait().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The error message; asserts the body is one line of JSON `{"error": …}`.
    fn error(&self) -> String {
        assert!(!self.body.trim_end().contains('\n'), "{}", self.body);
        let v: Value = serde_json::from_str(&self.body).unwrap_or_else(|_| panic!("{}", self.body));
        v["error"].as_str().unwrap().to_owned()
    }
}

/// One HTTP/1.1 request on its own connection.
fn http(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Response {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).unwrap();
    let mut raw = Vec::new();
    // The server may answer (413) and close before reading the whole body; what was answered is in `raw`.
    let _ = stream.read_to_end(&mut raw);
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("{text:?}"));
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Response {
        status,
        headers,
        body: body.to_owned(),
    }
}

fn blender_items() -> Vec<Value> {
    let text = std::fs::read_to_string(fixtures().join("reward/blender.json")).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| json!({"instruction": c["instruction"], "input": c["input"], "candidates": c["candidates"]}))
        .collect()
}

fn conversations() -> Vec<Value> {
    let text = std::fs::read_to_string(fixtures().join("reward/blender.json")).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    v["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| json!({"conversation_a": c["conversation_a"], "conversation_b": c["conversation_b"]}))
        .collect()
}

fn compare_items() -> Vec<Value> {
    blender_items()
        .iter()
        .map(|c| {
            json!({"instruction": c["instruction"], "input": c["input"],
                   "candidate_a": c["candidates"][0], "candidate_b": c["candidates"][2]})
        })
        .collect()
}

/// The CLI's output lines for `lines`.
fn cli(args: &[&str], lines: &[Value]) -> Vec<Value> {
    let input: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let out = common::with_stdin(
        Command::new(common::bin("ranker"))
            .arg("-q")
            .args(args)
            .arg("--model")
            .arg(fixtures().join("rankers/pairrm-tiny"))
            .args(MODEL_ARGS),
        &input,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Equal up to float noise of padding (an item's tokens never depend on its batch).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            (x.as_f64().unwrap() - y.as_f64().unwrap()).abs() <= 1e-6
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

fn assert_same(found: &Value, expected: &Value, what: &str) {
    assert!(
        same(found, expected),
        "{what}: server {found} vs CLI {expected}"
    );
}

#[test]
fn answers_equal_the_cli() {
    let server = Server::start(&["--max-wait-ms", "2"]);
    let items = blender_items();
    let cases: [(&str, &[&str], Vec<Value>); 6] = [
        ("/rank", &["rank"], items.clone()),
        ("/compare", &["compare"], compare_items()),
        (
            "/compare?order=ba",
            &["compare", "--order", "ba"],
            compare_items(),
        ),
        (
            "/compare-conversations?order=ab",
            &["compare-conversations", "--order", "ab"],
            conversations(),
        ),
        (
            "/best-of-n?mode=full&return_all=true",
            &["best-of-n", "--mode", "full", "--return-all"],
            items.clone(),
        ),
        (
            "/worst-of-n?return_all=true",
            &["worst-of-n", "--return-all"],
            items.clone(),
        ),
    ];
    for (path, args, lines) in cases {
        let expected = cli(args, &lines);
        let answer = server.post(path, &Value::Array(lines.clone()));
        assert_same(&answer, &Value::Array(expected.clone()), path);
        // One object in, one object out (bubble permutations follow the item's position in its request).
        let single = server.post(path, &lines[1]);
        assert_same(&single, &cli(args, &lines[1..2])[0], path);
    }
    let health = server.request("GET", "/health", "");
    assert_eq!(health.status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&health.body).unwrap()["ranker_type"],
        "pairranker"
    );
    assert!(server.terminate().success());
}

#[test]
fn concurrent_clients_share_batches_and_all_get_their_answers() {
    let server = Server::start(&["--max-wait-ms", "20", "--max-batch-pairs", "256"]);
    let items = blender_items();
    let expected = cli(&["rank"], &items);
    let addr = server.addr.clone();
    std::thread::scope(|scope| {
        for client in 0..32 {
            let (addr, items, expected) = (&addr, &items, &expected);
            scope.spawn(move || {
                for r in 0..20 {
                    let k = (client + r) % items.len();
                    let body = json!([items[k], items[(k + 1) % items.len()]]);
                    let response = http(addr, "POST", "/rank", &[], &body.to_string());
                    assert_eq!(response.status, 200, "{}", response.body);
                    let answer: Value = serde_json::from_str(&response.body).unwrap();
                    let want = json!([expected[k], expected[(k + 1) % items.len()]]);
                    assert_same(&answer, &want, &format!("client {client} request {r}"));
                }
            });
        }
    });
    let metrics = server.request("GET", "/metrics", "").body;
    assert!(
        metrics.contains("ranker_requests_total{endpoint=\"/rank\"} 640\n"),
        "{metrics}"
    );
    let batches: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("ranker_batch_requests_count "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        batches < 640,
        "no two requests shared a batch: {batches} batches for 640 requests"
    );
    assert!(metrics.contains("# TYPE ranker_request_duration_seconds histogram"));
    assert!(server.terminate().success());
}

#[test]
fn bad_input_is_answered_and_the_server_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "s3cret\n").unwrap();
    let server = Server::start(&[
        "--max-body-bytes",
        "4000",
        "--token-file",
        token_file.to_str().unwrap(),
    ]);
    let auth = [("Authorization", "Bearer s3cret")];
    let post = |path: &str, body: &str| http(&server.addr, "POST", path, &auth, body);
    let cases = [
        ("/rank", "{\"input\": ", 400, "body: malformed JSON"),
        ("/rank", "[]", 400, "body: an empty list"),
        (
            "/rank",
            r#"{"input": "q"}"#,
            400,
            "missing field `candidates`",
        ),
        (
            "/rank",
            r#"{"input": "q", "candidates": ["only"]}"#,
            400,
            "candidates: 1 candidate(s)",
        ),
        (
            "/rank",
            r#"{"input": "q", "candidates": "a, b"}"#,
            400,
            "candidates: invalid type",
        ),
        (
            "/rank",
            r#"[{"input": "q", "candidates": ["a", "b"]}, {"input": 7, "candidates": ["a", "b"]}]"#,
            400,
            "[1].input: invalid type",
        ),
        (
            "/rank?mode=full",
            r#"{"input": "q", "candidates": ["a", "b"]}"#,
            400,
            "query mode: unknown option",
        ),
        (
            "/compare",
            r#"{"input": "q", "candidate_a": "a"}"#,
            400,
            "missing field `candidate_b`",
        ),
        (
            "/compare?order=sideways",
            r#"{"input": "q", "candidate_a": "a", "candidate_b": "b"}"#,
            400,
            "query order",
        ),
        (
            "/best-of-n?mode=best",
            r#"{"input": "q", "candidates": ["a", "b"]}"#,
            400,
            "query mode",
        ),
        (
            "/compare-conversations",
            r#"{"conversation_a": [{"role": "user", "content": "q"}], "conversation_b": []}"#,
            400,
            "conversation_a: 1 turns",
        ),
        ("/nowhere", "{}", 404, "no such endpoint"),
    ];
    for (path, body, status, message) in cases {
        let r = post(path, body);
        assert_eq!(r.status, status, "{path} {body}: {}", r.body);
        let error = r.error();
        assert!(
            error.starts_with(message) || error.contains(message),
            "{path} {body}: {error}"
        );
    }
    let big = json!({"input": "x".repeat(5000), "candidates": ["a", "b"]}).to_string();
    let r = post("/rank", &big);
    assert_eq!(r.status, 413, "{}", r.body);
    assert!(r.error().starts_with("body: larger than"));
    // The token: missing or wrong is 401; /health needs none.
    let body = r#"{"input": "q", "candidates": ["a", "b"]}"#;
    assert_eq!(server.request("POST", "/rank", body).status, 401);
    assert_eq!(
        http(
            &server.addr,
            "POST",
            "/rank",
            &[("Authorization", "Bearer nope")],
            body
        )
        .status,
        401
    );
    assert_eq!(server.request("GET", "/metrics", "").status, 401);
    assert_eq!(server.request("GET", "/health", "").status, 200);
    // Still serving.
    let r = post("/rank", body);
    assert_eq!(r.status, 200, "{}", r.body);
    let metrics = http(&server.addr, "GET", "/metrics", &auth, "").body;
    assert!(
        metrics.contains("ranker_errors_total{endpoint=\"/rank\",status=\"400\"} 7\n"),
        "{metrics}"
    );
    assert!(server.terminate().success());
}

#[test]
fn a_full_queue_answers_503_with_retry_after() {
    let server = Server::start(&[
        "--queue-size",
        "1",
        "--max-batch-pairs",
        "1",
        "--max-wait-ms",
        "0",
    ]);
    let items = blender_items();
    let heavy = Value::Array((0..12).map(|i| items[i % items.len()].clone()).collect()).to_string();
    let statuses: Vec<(u16, Option<String>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..24)
            .map(|_| {
                let (addr, heavy) = (&server.addr, &heavy);
                scope.spawn(move || {
                    let r = http(addr, "POST", "/rank", &[], heavy);
                    if r.status == 503 {
                        assert!(r.error().starts_with("queue: full"));
                    }
                    (r.status, r.header("retry-after").map(str::to_owned))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(
        statuses.iter().all(|(s, _)| *s == 200 || *s == 503),
        "{statuses:?}"
    );
    assert!(
        statuses
            .iter()
            .any(|(s, retry)| *s == 503 && retry.as_deref() == Some("1")),
        "no 503 with Retry-After among {statuses:?}"
    );
    assert!(statuses.iter().any(|(s, _)| *s == 200));
    assert_eq!(server.request("GET", "/health", "").status, 200);
    assert!(server.terminate().success());
}

#[test]
fn sigterm_finishes_in_flight_requests_then_exits_zero() {
    // A request waits up to 400 ms for company before it runs; SIGTERM arrives while it waits.
    let server = Server::start(&["--max-wait-ms", "400"]);
    let items = blender_items();
    let expected = cli(&["rank"], &items);
    let addr = server.addr.clone();
    let in_flight = std::thread::spawn(move || {
        http(
            &addr,
            "POST",
            "/rank",
            &[],
            &Value::Array(items).to_string(),
        )
    });
    std::thread::sleep(Duration::from_millis(150));
    let status = server.terminate();
    let r = in_flight.join().unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    assert_same(
        &serde_json::from_str(&r.body).unwrap(),
        &Value::Array(expected),
        "in flight",
    );
    assert!(status.success(), "{status:?}");
}
