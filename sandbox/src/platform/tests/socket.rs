//! The platform sandbox over a real socket: the control API, `close` and `hang`.

use super::*;

fn client(timeout: Duration) -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().timeout(timeout).build().expect("client")
}

fn form() -> reqwest::multipart::Form {
    valid_parts().into_iter().fold(reqwest::multipart::Form::new(), |form, (name, content_type, data)| {
        let part = reqwest::multipart::Part::bytes(data);
        let part = match content_type {
            Some(ct) => part.mime_str(&ct).expect("mime"),
            None => part,
        };
        form.part(name, part)
    })
}

async fn start(sandbox: &PlatformSandbox) -> (String, tokio::sync::oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (addr, task) = sandbox
        .clone()
        .serve(SocketAddr::from(([127, 0, 0, 1], 0)), async move {
            let _ = stopped.await;
        })
        .await
        .expect("bind 127.0.0.1");
    assert!(addr.ip().is_loopback());
    (format!("http://{addr}"), stop, task)
}

async fn stop(stop: tokio::sync::oneshot::Sender<()>, task: tokio::task::JoinHandle<()>) {
    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(5), task).await.expect("server stops promptly").expect("server task");
}

#[tokio::test]
async fn served_over_http_with_the_control_api() {
    let sandbox = PlatformSandbox::new(None);
    let (base, stop_tx, task) = start(&sandbox).await;
    let http = client(Duration::from_secs(10));

    let response = http
        .post(format!("{base}/_sandbox/faults"))
        .json(&json!([{ "kind": "status", "status": 429, "retry_after": 2 }]))
        .send()
        .await
        .expect("push faults");
    assert_eq!(response.status(), 200);

    let response = http
        .post(format!("{base}/v1/collections"))
        .header("Idempotency-Key", "net-1")
        .multipart(form())
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers().get("retry-after").map(HeaderValue::as_bytes), Some(&b"2"[..]));

    let response = http
        .post(format!("{base}/v1/collections"))
        .header("Idempotency-Key", "net-1")
        .multipart(form())
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 201);
    assert_eq!(response.json::<Value>().await.expect("json"), json!({ "status": "accepted", "reference": "XMKJ-1" }));

    let response = http.post(format!("{base}/v1/collections")).multipart(form()).send().await.expect("send");
    assert_eq!(response.status(), 400);

    // A large upload is read in full before a fault answers, so the client gets the status.
    sandbox.push_faults(vec![Fault::Status { status: 500, retry_after: None }]);
    let big = reqwest::multipart::Part::bytes(vec![b'%'; 6 * 1024 * 1024]).mime_str("application/pdf").expect("mime");
    let response = http
        .post(format!("{base}/v1/collections"))
        .header("Idempotency-Key", "net-big")
        .multipart(form().part("supporting", big))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 500);

    let person = people::person("xiamen-holder").expect("person");
    let response = http
        .get(format!("{base}/v1/archives/{}/{}", person.certificate_type, person.certificate_number))
        .send()
        .await
        .expect("archive");
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.expect("json")["working_years"], 12);

    let received: Vec<Delivery> =
        http.get(format!("{base}/_sandbox/received")).send().await.expect("received").json().await.expect("json");
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].parts.len(), 3);
    assert!(received[0].parts[0].has_exif);
    let stats: SandboxStats =
        http.get(format!("{base}/_sandbox/stats")).send().await.expect("stats").json().await.expect("json");
    assert_eq!(
        stats,
        SandboxStats { distinct: 1, duplicates: 0, requests: 4, faults_pending: 0, faults_consumed: 2, invalid: 1 }
    );
    let response = http.delete(format!("{base}/_sandbox/faults")).send().await.expect("clear");
    assert_eq!(response.status(), 200);

    stop(stop_tx, task).await;
}

#[tokio::test]
async fn close_drops_the_connection_without_a_response() {
    let sandbox = PlatformSandbox::new(None);
    let (base, stop_tx, task) = start(&sandbox).await;
    let http = client(Duration::from_secs(10));
    let url = format!("{base}/v1/collections");

    // A first delivery leaves a pooled keep-alive connection for the next request to reuse.
    let response = http.post(&url).header("Idempotency-Key", "c-0").multipart(form()).send().await.expect("send");
    assert_eq!(response.status(), 201);

    sandbox.push_faults(vec![Fault::Close]);
    let error = http
        .post(&url)
        .header("Idempotency-Key", "c-1")
        .multipart(form())
        .send()
        .await
        .expect_err("the connection is dropped");
    assert!(error.status().is_none(), "no HTTP status: {error:?}");
    assert!(!error.is_timeout(), "dropped, not timed out: {error:?}");
    assert!(error.is_request() || error.is_connect(), "a connection error: {error:?}");

    // On a fresh client (a new connection) too.
    sandbox.push_faults(vec![Fault::Close]);
    let error = client(Duration::from_secs(10))
        .post(&url)
        .header("Idempotency-Key", "c-1")
        .multipart(form())
        .send()
        .await
        .expect_err("the connection is dropped");
    assert!(error.status().is_none(), "no HTTP status: {error:?}");

    let stats = sandbox.stats();
    assert_eq!((stats.requests, stats.distinct, stats.faults_pending), (3, 1, 0), "no silent retry");
    assert_eq!(sandbox.received().len(), 1, "the closed requests are not recorded");

    // At the socket level: the complete request is read, then the connection closes with no byte sent.
    sandbox.push_faults(vec![Fault::Close]);
    let body = multipart(&valid_parts());
    let mut raw = format!(
        "POST /v1/collections HTTP/1.1\r\nHost: sandbox\r\nIdempotency-Key: c-raw\r\n\
         Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    raw.extend_from_slice(&body);
    let mut socket = tokio::net::TcpStream::connect(base.trim_start_matches("http://")).await.expect("connect");
    tokio::io::AsyncWriteExt::write_all(&mut socket, &raw).await.expect("write request");
    let mut answer = Vec::new();
    let read =
        tokio::time::timeout(Duration::from_secs(5), tokio::io::AsyncReadExt::read_to_end(&mut socket, &mut answer))
            .await
            .expect("closed promptly");
    assert!(read.is_ok() || answer.is_empty(), "{read:?}");
    assert!(answer.is_empty(), "no response bytes: {:?}", String::from_utf8_lossy(&answer));
    assert_eq!(sandbox.stats().requests, 4);

    // The server carries on: the retry is delivered.
    let response = http.post(&url).header("Idempotency-Key", "c-1").multipart(form()).send().await.expect("send");
    assert_eq!(response.status(), 201);
    assert_eq!(response.json::<Value>().await.expect("json")["reference"], "XMKJ-2");

    stop(stop_tx, task).await;
}

#[tokio::test]
async fn hang_outlasts_a_client_timeout_and_shutdown_cuts_it_short() {
    let sandbox = PlatformSandbox::new(None);
    let (base, stop_tx, task) = start(&sandbox).await;
    let url = format!("{base}/v1/collections");

    // A short hang answers 503 once it is over.
    sandbox.push_faults(vec![Fault::Hang { ms: 200 }]);
    let started = Instant::now();
    let response = client(Duration::from_secs(10))
        .post(&url)
        .header("Idempotency-Key", "h-0")
        .multipart(form())
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 503);
    assert!(started.elapsed() >= Duration::from_millis(200));

    // A long one: the client gives up first.
    sandbox.push_faults(vec![Fault::Hang { ms: 30_000 }]);
    let started = Instant::now();
    let error = client(Duration::from_millis(500))
        .post(&url)
        .header("Idempotency-Key", "h-1")
        .multipart(form())
        .send()
        .await
        .expect_err("times out");
    assert!(error.is_timeout(), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(sandbox.received().is_empty());

    // Another long hang still in progress when the server stops: shutdown does not wait 30 s.
    sandbox.push_faults(vec![Fault::Hang { ms: 30_000 }]);
    let pending = tokio::spawn(
        client(Duration::from_secs(20)).post(&url).header("Idempotency-Key", "h-2").multipart(form()).send(),
    );
    for _ in 0..100 {
        if sandbox.stats().faults_pending == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(sandbox.stats().faults_pending, 0, "the hang has started");
    let started = Instant::now();
    stop(stop_tx, task).await;
    assert!(started.elapsed() < Duration::from_secs(5));
    let answer = tokio::time::timeout(Duration::from_secs(5), pending).await.expect("answered").expect("task");
    assert_eq!(answer.expect("a response").status(), 503);
}
