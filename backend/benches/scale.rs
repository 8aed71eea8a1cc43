//! `bash scripts/bench-scale.sh` (or `cargo bench -p intake --bench scale` with `INTAKE_BENCH_POSTGRES_URL`):
//! the scale-out benchmarks and the fault run of the hardening issue, against real `intake serve` processes on
//! 127.0.0.1.
//!
//! 1. `throughput`: the same realistic bundles (about 1 MB, each from its own person) at the same concurrency to
//!    the bare read-and-fsync endpoint (`POST /bench/bare`), to `intake serve` on SQLite and to `intake serve` on
//!    PostgreSQL, in interleaved rounds (the machine is shared: compare within one run only).
//! 2. `fault`: two `intake serve` processes on one PostgreSQL database forwarding to one `intake
//!    sandbox-platform` process (with its journal); clients send bundles to both, retrying a failed request with
//!    the same Idempotency-Key on the other node; one node is SIGKILLed every few seconds and restarted. After the
//!    load, both nodes drain the queue; then every acknowledged submission must be in the platform's journal, and
//!    no person's submission may be delivered as new under two ids.
//! 3. `rss`: 200 concurrent slow uploads (each body trickled 48 KiB every 150 ms) to one `intake serve`; its peak
//!    RSS (VmHWM) against the 512 MB bound.
//!
//! Environment: `INTAKE_BENCH_POSTGRES_URL` (else `INTAKE_TEST_POSTGRES_URL`) names the database (required:
//! every phase uses it); `INTAKE_BENCH_QUICK=1` runs small counts (a smoke run); `INTAKE_BENCH_PHASES` picks
//! phases (comma-separated, default `throughput,fault,rss`). Every phase has fixed counts and timeouts. Exits
//! non-zero when the fault run loses or duplicates anything or the RSS bound is exceeded.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod common;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{
    Request, Workload, burst, clear_peak, files, free_addr, gather, pct, ready, start_idp, start_serve, status_kb,
};
use intake_sandbox::platform::Delivery;
use tokio::io::AsyncBufReadExt as _;
use tokio::process::{Child, Command};
use tokio::sync::Semaphore;

const BOUNDARY: &str = "----intake-scale-boundary";
const RSS_BOUND_MB: f64 = 512.0;

/// Person `i`'s birth date: a unique certificate number and subject for every `i` below 5 million.
fn birth(i: usize) -> String {
    let d = i / 500;
    format!("{}{:02}{:02}", 1960 + d / 336, 1 + (d / 28) % 12, 1 + d % 28)
}

fn submit(http: &reqwest::Client, base: &str, r: &Request) -> reqwest::RequestBuilder {
    http.post(format!("{base}/api/v1/submissions"))
        .header("authorization", format!("Bearer {}", r.token))
        .header("idempotency-key", &r.key)
        .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
}

// ---------------------------------------------------------------------------------------------------------------
// Processes

struct NodeConfig {
    addr: SocketAddr,
    store_url: String,
    platform: String,
    forwarding: bool,
    bench_dir: Option<PathBuf>,
}

fn write_config(path: &Path, n: &NodeConfig, issuer: &str) {
    let bench = n.bench_dir.as_ref().map(|d| format!("bench_dir = \"{}\"\n", d.display())).unwrap_or_default();
    let text = format!(
        "[server]\naddr = \"{}\"\nshutdown_grace_secs = 1\n{bench}\
         [store]\nurl = \"{}\"\n\
         [identity]\nissuer = \"{issuer}\"\naudience = \"intake-web\"\n\
         [platform]\nbase_url = \"{}\"\ntimeout_secs = 5\n\
         [forwarding]\nenabled = {}\npoll_interval_ms = 100\nlease_secs = 3\nbase_delay_ms = 200\nmax_delay_ms = 1000\n\
         [security]\nsubmissions_per_10_min = 0\nrequests_per_minute = 0\n\
         [limits]\nmax_uploads_per_address = 0\n",
        n.addr, n.store_url, n.platform, n.forwarding
    );
    std::fs::write(path, text).unwrap();
}

async fn wait_ready(http: &reqwest::Client, addr: SocketAddr) {
    if !ready(http, addr, 300).await {
        panic!("intake serve on {addr} did not become ready in 15 s");
    }
}

/// A fresh schema in the benchmark database and a store URL that works in it.
async fn fresh_schema(base: &str, name: &str) -> String {
    let (client, conn) = tokio_postgres::connect(base, tokio_postgres::NoTls).await.expect("connect to PostgreSQL");
    tokio::spawn(conn);
    client.batch_execute(&format!("DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}")).await.unwrap();
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}options=-c%20search_path%3D{name}")
}

async fn pg_query_counts(url: &str) -> Vec<(String, i64)> {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.expect("connect");
    tokio::spawn(conn);
    client
        .query("SELECT status, COUNT(*) FROM submissions GROUP BY status ORDER BY status", &[])
        .await
        .expect("count")
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

// ---------------------------------------------------------------------------------------------------------------
// Throughput

#[derive(Default)]
struct Tally {
    ok: usize,
    failed: usize,
    wall: Duration,
    latencies: Vec<Duration>,
    round_rates: Vec<f64>,
    peak_rss_kb: u64,
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    if v.is_empty() { f64::NAN } else { v[v.len() / 2] }
}

async fn throughput(w: &Workload, http: &reqwest::Client, pg: &str, dir: &Path, quick: bool) {
    let (rounds, per_round, concurrency) = if quick { (2, 12, 8) } else { (3, 60, 8) };
    let platform = format!("http://{}", free_addr()); // forwarding is off: nothing is sent there
    let sqlite_node = NodeConfig {
        addr: free_addr(),
        store_url: format!("sqlite://{}", dir.join("throughput.db").display()),
        platform: platform.clone(),
        forwarding: false,
        bench_dir: Some(dir.join("bare")),
    };
    let pg_node = NodeConfig {
        addr: free_addr(),
        store_url: fresh_schema(pg, "intake_bench_throughput").await,
        platform,
        forwarding: false,
        bench_dir: None,
    };
    std::fs::create_dir_all(dir.join("bare")).unwrap();
    write_config(&dir.join("sqlite.toml"), &sqlite_node, &w.issuer);
    write_config(&dir.join("pg.toml"), &pg_node, &w.issuer);
    let mut sqlite = start_serve(&dir.join("sqlite.toml")).await;
    let mut postgres = start_serve(&dir.join("pg.toml")).await;
    wait_ready(http, sqlite_node.addr).await;
    wait_ready(http, pg_node.addr).await;
    let targets = [
        ("bare read + fsync", format!("http://{}/bench/bare", sqlite_node.addr), sqlite.id().unwrap()),
        ("intake on SQLite", format!("http://{}/api/v1/submissions", sqlite_node.addr), sqlite.id().unwrap()),
        ("intake on PostgreSQL", format!("http://{}/api/v1/submissions", pg_node.addr), postgres.id().unwrap()),
    ];
    let mut next = 0;
    let mut take = |n: usize| {
        let reqs = w.requests(next, n);
        next += n;
        reqs
    };
    for (_, url, _) in &targets {
        let _ = burst(http, url, BOUNDARY, take(8), 4, reqwest::Body::from).await; // warm-up
    }
    let mut tallies: Vec<Tally> = targets.iter().map(|_| Tally::default()).collect();
    for round in 0..rounds {
        // A different order each round, so no target always runs first (or after the same one).
        for k in 0..targets.len() {
            let t = (k + round) % targets.len();
            let (_, url, pid) = &targets[t];
            clear_peak(*pid);
            let (ok, wall, lat) = burst(http, url, BOUNDARY, take(per_round), concurrency, reqwest::Body::from).await;
            let tally = &mut tallies[t];
            tally.ok += ok;
            tally.failed += per_round - ok;
            tally.wall += wall;
            tally.latencies.extend(lat);
            tally.round_rates.push(ok as f64 / wall.as_secs_f64());
            tally.peak_rss_kb = tally.peak_rss_kb.max(status_kb(*pid, "VmHWM:"));
        }
    }
    let _ = sqlite.kill().await;
    let _ = postgres.kill().await;
    let body_kb = w.request(0).body.len() as f64 / 1024.0;
    println!(
        "\n## throughput: {rounds} interleaved rounds x {per_round} requests per target, {concurrency} concurrent"
    );
    println!("body per request: {body_kb:.0} KB (bundle + photo + ID front + ID back + work certificate)\n");
    println!(
        "| target | ok / failed | throughput (all rounds) | per round (median, min–max) | p50 | p99 | server peak RSS |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    let rate = |t: &Tally| t.ok as f64 / t.wall.as_secs_f64();
    for ((name, _, _), t) in targets.iter().zip(&mut tallies) {
        t.latencies.sort();
        let (lo, hi) = t.round_rates.iter().fold((f64::MAX, 0.0f64), |(lo, hi), r| (lo.min(*r), hi.max(*r)));
        println!(
            "| {name} | {} / {} | {:.1} req/s | {:.1} ({lo:.1}–{hi:.1}) req/s | {:.0} ms | {:.0} ms | {:.0} MB |",
            t.ok,
            t.failed,
            rate(t),
            median(&t.round_rates),
            pct(&t.latencies, 0.5),
            pct(&t.latencies, 0.99),
            t.peak_rss_kb as f64 / 1024.0
        );
    }
    println!(
        "\nintake on SQLite / bare: {:.1} %; intake on PostgreSQL / bare: {:.1} %; PostgreSQL / SQLite: {:.0} %",
        100.0 * rate(&tallies[1]) / rate(&tallies[0]),
        100.0 * rate(&tallies[2]) / rate(&tallies[0]),
        100.0 * rate(&tallies[2]) / rate(&tallies[1])
    );
}

// ---------------------------------------------------------------------------------------------------------------
// Fault run

#[derive(Default)]
struct FaultCounts {
    acknowledged: Mutex<HashMap<String, String>>, // submission id -> certificate number
    first_try: AtomicUsize,
    after_retry: AtomicUsize,
    unanswered_attempts: AtomicUsize,
    refused: AtomicUsize,
    gave_up: AtomicUsize,
}

fn read_journal(path: &Path) -> Vec<Delivery> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<Delivery>(l).ok())
        .collect()
}

async fn fault(w: &Workload, http: &reqwest::Client, pg: &str, dir: &Path, quick: bool) -> bool {
    let (total, concurrency, max_kills) = if quick { (24, 4, 4) } else { (500, 6, 40) };
    // The platform sandbox: its own process, with a journal of every delivery.
    let journal = dir.join("platform.jsonl");
    let mut platform = Command::new(env!("CARGO_BIN_EXE_intake"))
        .args(["sandbox-platform", "--addr", "127.0.0.1:0", "--journal", journal.to_str().unwrap()])
        .env("INTAKE_LOG", "error")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("intake sandbox-platform");
    let mut line = String::new();
    let mut out = tokio::io::BufReader::new(platform.stdout.take().unwrap());
    tokio::time::timeout(Duration::from_secs(15), out.read_line(&mut line)).await.expect("platform starts").unwrap();
    let platform_addr: serde_json::Value = serde_json::from_str(line.trim()).expect("{\"addr\": …}");
    let platform_url = format!("http://{}", platform_addr["addr"].as_str().unwrap());

    let store_url = fresh_schema(pg, "intake_bench_fault").await;
    let nodes: Vec<NodeConfig> = (0..2)
        .map(|_| NodeConfig {
            addr: free_addr(),
            store_url: store_url.clone(),
            platform: platform_url.clone(),
            forwarding: true,
            bench_dir: None,
        })
        .collect();
    let configs: Vec<PathBuf> = (0..2).map(|i| dir.join(format!("node{i}.toml"))).collect();
    let mut children = Vec::new();
    for (n, c) in nodes.iter().zip(&configs) {
        write_config(c, n, &w.issuer);
        children.push(start_serve(c).await);
    }
    for n in &nodes {
        wait_ready(http, n.addr).await;
    }
    let bases: Arc<Vec<String>> = Arc::new(nodes.iter().map(|n| format!("http://{}", n.addr)).collect());

    // The load: every submission from its own person, to node i % 2 first, retried (same key) on the other node.
    let counts = Arc::new(FaultCounts::default());
    let done = Arc::new(AtomicBool::new(false));
    let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
    let started = Instant::now();
    let load = {
        let counts = counts.clone();
        let bases = bases.clone();
        let reqs = w.requests(500_000, total);
        let done = done.clone();
        tokio::spawn(async move {
            let permits = Arc::new(Semaphore::new(concurrency));
            let mut handles = Vec::new();
            for (i, r) in reqs.into_iter().enumerate() {
                let permit = permits.clone().acquire_owned().await.unwrap();
                let (counts, bases, client) = (counts.clone(), bases.clone(), client.clone());
                handles.push(tokio::spawn(async move {
                    for attempt in 0..4 {
                        let base = &bases[(i + attempt) % 2];
                        match submit(&client, base, &r).body(r.body.clone()).send().await {
                            Ok(resp) if resp.status().is_success() => {
                                let v: serde_json::Value = resp.json().await.unwrap_or_default();
                                if let Some(id) = v["id"].as_str() {
                                    counts.acknowledged.lock().unwrap().insert(id.to_owned(), r.certificate_number);
                                    let which = if attempt == 0 { &counts.first_try } else { &counts.after_retry };
                                    which.fetch_add(1, Ordering::Relaxed);
                                    break;
                                }
                                counts.unanswered_attempts.fetch_add(1, Ordering::Relaxed);
                            }
                            Ok(resp) if resp.status().is_server_error() || resp.status().as_u16() == 408 => {
                                counts.unanswered_attempts.fetch_add(1, Ordering::Relaxed);
                            }
                            Ok(resp) => {
                                eprintln!(
                                    "fault run: refused {}: {}",
                                    resp.status(),
                                    resp.text().await.unwrap_or_default()
                                );
                                counts.refused.fetch_add(1, Ordering::Relaxed);
                                break;
                            }
                            Err(_) => {
                                counts.unanswered_attempts.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        if attempt == 3 {
                            counts.gave_up.fetch_add(1, Ordering::Relaxed);
                        }
                        tokio::time::sleep(Duration::from_millis(300)).await;
                    }
                    drop(permit);
                }));
            }
            for h in handles {
                let _ = h.await;
            }
            done.store(true, Ordering::Relaxed);
        })
    };

    // The killer: SIGKILL one node every 2–4 s (alternating), restart it 300 ms later.
    let kills = Arc::new(AtomicU64::new(0));
    let mut victim = 0;
    while !done.load(Ordering::Relaxed) && kills.load(Ordering::Relaxed) < max_kills {
        let pause = 2000 + (kills.load(Ordering::Relaxed) * 700) % 2000;
        let deadline = Instant::now() + Duration::from_millis(pause);
        while Instant::now() < deadline && !done.load(Ordering::Relaxed) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if done.load(Ordering::Relaxed) {
            break;
        }
        let child: &mut Child = &mut children[victim];
        child.kill().await.unwrap(); // SIGKILL
        kills.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(300)).await;
        children[victim] = start_serve(&configs[victim]).await;
        victim = 1 - victim;
    }
    tokio::time::timeout(Duration::from_secs(600), load).await.expect("the load finishes").unwrap();
    let load_secs = started.elapsed().as_secs_f64();
    for n in &nodes {
        wait_ready(http, n.addr).await;
    }

    // Drain: both nodes up, until every acknowledged submission is in the journal (bounded).
    let acknowledged = counts.acknowledged.lock().unwrap().clone();
    let drain_start = Instant::now();
    let mut journal_now = read_journal(&journal);
    while drain_start.elapsed() < Duration::from_secs(120) {
        let keys: HashSet<&str> = journal_now.iter().map(|d| d.key.as_str()).collect();
        let stored = pg_query_counts(&store_url).await;
        let pending: i64 = stored.iter().filter(|(s, _)| s == "received").map(|(_, n)| n).sum();
        if acknowledged.keys().all(|id| keys.contains(id.as_str())) && pending == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        journal_now = read_journal(&journal);
    }
    let drain_secs = drain_start.elapsed().as_secs_f64();
    for mut c in children {
        let _ = c.kill().await;
    }
    let _ = platform.kill().await;

    // Verify.
    let delivered = read_journal(&journal);
    let new_keys: HashSet<&str> = delivered.iter().filter(|d| !d.duplicate).map(|d| d.key.as_str()).collect();
    let lost: Vec<&String> = acknowledged.keys().filter(|id| !new_keys.contains(id.as_str())).collect();
    let mut new_per_key: HashMap<&str, usize> = HashMap::new();
    let mut keys_per_person: HashMap<String, HashSet<&str>> = HashMap::new();
    for d in delivered.iter().filter(|d| !d.duplicate) {
        *new_per_key.entry(d.key.as_str()).or_default() += 1;
        let person = d.identity["certificate_number"].as_str().unwrap_or_default().to_owned();
        keys_per_person.entry(person).or_default().insert(d.key.as_str());
    }
    let twice_as_new = new_per_key.values().filter(|n| **n > 1).count();
    let person_duplicates = keys_per_person.values().filter(|k| k.len() > 1).count();
    let redeliveries = delivered.iter().filter(|d| d.duplicate).count();
    let stored = pg_query_counts(&store_url).await;
    let stored_total: i64 = stored.iter().map(|(_, n)| n).sum();
    let undelivered: i64 = stored.iter().filter(|(s, _)| s != "forwarded" && s != "accepted").map(|(_, n)| n).sum();
    let kills = kills.load(Ordering::Relaxed);

    println!(
        "\n## fault run: 2 nodes on one PostgreSQL, {total} submissions, {concurrency} concurrent clients, one node SIGKILLed every 2–4 s"
    );
    println!("\n| measure | value |\n| --- | --- |");
    println!("| submissions sent (distinct people) | {total} |");
    println!("| SIGKILLs (each node restarted 300 ms later) | {kills} in {load_secs:.0} s of load |");
    println!(
        "| acknowledged (201/200) | {} ({} on the first try, {} after a retry on the other node) |",
        acknowledged.len(),
        counts.first_try.load(Ordering::Relaxed),
        counts.after_retry.load(Ordering::Relaxed)
    );
    println!(
        "| attempts without an answer (killed in flight, 5xx) | {} |",
        counts.unanswered_attempts.load(Ordering::Relaxed)
    );
    println!(
        "| gave up after 4 attempts / refused | {} / {} |",
        counts.gave_up.load(Ordering::Relaxed),
        counts.refused.load(Ordering::Relaxed)
    );
    println!(
        "| stored in PostgreSQL | {stored_total} ({}) |",
        stored.iter().map(|(s, n)| format!("{s} {n}")).collect::<Vec<_>>().join(", ")
    );
    println!("| delivered as new at the platform | {} |", new_keys.len());
    println!("| re-deliveries answered 409 (counted once) | {redeliveries} |");
    println!("| drain after the load | {drain_secs:.1} s |");
    println!("| **acknowledged but not delivered (lost)** | **{}** |", lost.len());
    println!(
        "| **delivered twice as new (same id / same person under two ids)** | **{twice_as_new} / {person_duplicates}** |"
    );
    println!("| stored but not delivered after the drain | {undelivered} |");
    let ok = lost.is_empty()
        && twice_as_new == 0
        && person_duplicates == 0
        && undelivered == 0
        && counts.refused.load(Ordering::Relaxed) == 0
        && !acknowledged.is_empty();
    if !ok {
        eprintln!(
            "fault run FAILED: lost {lost:?}, twice as new {twice_as_new}, person duplicates {person_duplicates}"
        );
    }
    ok
}

// ---------------------------------------------------------------------------------------------------------------
// RSS under slow uploads

/// A body sent `chunk` bytes every `every`.
fn trickle(body: Bytes, chunk: usize, every: Duration) -> reqwest::Body {
    let stream = futures_util::stream::unfold(0usize, move |at| {
        let body = body.clone();
        async move {
            if at >= body.len() {
                return None;
            }
            if at > 0 {
                tokio::time::sleep(every).await;
            }
            let end = (at + chunk).min(body.len());
            Some((Ok::<Bytes, std::io::Error>(body.slice(at..end)), end))
        }
    });
    reqwest::Body::wrap_stream(stream)
}

async fn rss(w: &Workload, http: &reqwest::Client, pg: &str, dir: &Path, quick: bool) -> bool {
    let (clients, chunk, every) =
        if quick { (20, 48 * 1024, Duration::from_millis(150)) } else { (200, 48 * 1024, Duration::from_millis(150)) };
    let stores = [
        ("SQLite", format!("sqlite://{}", dir.join("rss.db").display())),
        ("PostgreSQL", fresh_schema(pg, "intake_bench_rss").await),
    ];
    let mut rows = Vec::new();
    let mut within = true;
    for (s, (store_name, store_url)) in stores.iter().enumerate() {
        let node = NodeConfig {
            addr: free_addr(),
            store_url: store_url.clone(),
            platform: format!("http://{}", free_addr()),
            forwarding: false,
            bench_dir: None,
        };
        let config = dir.join(format!("rss-{s}.toml"));
        write_config(&config, &node, &w.issuer);
        let mut child = start_serve(&config).await;
        wait_ready(http, node.addr).await;
        let pid = child.id().unwrap();
        let base = format!("http://{}", node.addr);
        let client =
            reqwest::Client::builder().timeout(Duration::from_secs(300)).pool_max_idle_per_host(0).build().unwrap();
        let reqs = w.requests(800_000 + 10_000 * s, clients);
        clear_peak(pid);
        let sampling = Arc::new(AtomicBool::new(true));
        let sampler = {
            let sampling = sampling.clone();
            tokio::spawn(async move {
                let mut max = 0;
                while sampling.load(Ordering::Relaxed) {
                    max = max.max(status_kb(pid, "VmRSS:"));
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                max
            })
        };
        let start = Instant::now();
        let mut handles = Vec::new();
        for r in reqs {
            let (client, base) = (client.clone(), base.clone());
            handles.push(tokio::spawn(async move {
                let t = Instant::now();
                let len = r.body.len();
                let resp = submit(&client, &base, &r)
                    .header("content-length", len)
                    .body(trickle(r.body.clone(), chunk, every))
                    .send()
                    .await;
                (matches!(&resp, Ok(x) if x.status().as_u16() == 201), t.elapsed())
            }));
        }
        let (ok, mut latencies) = gather(handles).await;
        let wall = start.elapsed();
        sampling.store(false, Ordering::Relaxed);
        let sampled_kb = sampler.await.unwrap();
        let peak_kb = status_kb(pid, "VmHWM:").max(sampled_kb);
        let _ = child.kill().await;
        latencies.sort();
        let peak_mb = peak_kb as f64 / 1024.0;
        within &= peak_mb < RSS_BOUND_MB && ok == clients;
        rows.push(format!(
            "| intake on {store_name} | {clients} | {ok} / {} | {:.1} s | {:.1} s | {:.1} s | **{peak_mb:.0} MB** | {} |",
            clients - ok,
            pct(&latencies, 0.5) / 1000.0,
            pct(&latencies, 1.0) / 1000.0,
            wall.as_secs_f64(),
            if peak_mb < RSS_BOUND_MB { "yes" } else { "**no**" }
        ));
    }
    let body_kb = w.request(0).body.len() as f64 / 1024.0;
    println!(
        "\n## RSS: {clients} concurrent slow uploads ({body_kb:.0} KB each, {} KiB every {} ms, Content-Length set)",
        chunk / 1024,
        every.as_millis()
    );
    println!(
        "\n| server | concurrent uploads | ok / failed | p50 | slowest | wall | peak RSS (VmHWM) | under {RSS_BOUND_MB:.0} MB |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    for r in rows {
        println!("{r}");
    }
    within
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let pg = std::env::var("INTAKE_BENCH_POSTGRES_URL")
        .or_else(|_| std::env::var("INTAKE_TEST_POSTGRES_URL"))
        .unwrap_or_else(|_| {
            eprintln!(
                "INTAKE_BENCH_POSTGRES_URL (or INTAKE_TEST_POSTGRES_URL) is not set: run \
                 `bash scripts/bench-scale.sh`, which starts a throwaway PostgreSQL (durable settings) and sets it"
            );
            std::process::exit(2);
        });
    let quick = std::env::var_os("INTAKE_BENCH_QUICK").is_some();
    let phases = std::env::var("INTAKE_BENCH_PHASES").unwrap_or_else(|_| "throughput,fault,rss".into());
    let phases: Vec<&str> = phases.split(',').map(str::trim).collect();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = std::env::temp_dir().join(format!("intake-scale-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    let (idp, issuer) = start_idp();
    let w = Workload {
        idp,
        issuer,
        files: files(),
        boundary: BOUNDARY,
        prefix: "scale",
        birth,
        graduation_date: "1990-07-01",
    };
    let http = reqwest::Client::builder().timeout(Duration::from_secs(300)).pool_max_idle_per_host(64).build().unwrap();
    println!("# intake scale benchmarks{}", if quick { " (quick smoke run: small counts)" } else { "" });
    let mut ok = true;
    if phases.contains(&"throughput") {
        throughput(&w, &http, &pg, &dir, quick).await;
    }
    if phases.contains(&"fault") {
        ok &= fault(&w, &http, &pg, &dir, quick).await;
    }
    if phases.contains(&"rss") {
        ok &= rss(&w, &http, &pg, &dir, quick).await;
    }
    let _ = std::fs::remove_dir_all(&dir);
    if !ok {
        eprintln!("scale benchmark: a bound was violated (see above)");
        std::process::exit(1);
    }
}
