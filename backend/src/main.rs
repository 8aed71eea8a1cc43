//! `intake`: the backend's one binary (api.md, "Command line").

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use intake::config::Config;
use intake::identity::Verifier;
use intake::{app, forwarder};
use intake_sandbox::idp::SandboxIdp;
use intake_sandbox::platform::PlatformSandbox;
use warp::Filter;

mod check;

#[derive(Debug, Parser)]
#[command(
    name = "intake",
    version,
    about = "Xiamen accounting personnel information collection: checks, backend, demo"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the backend, configured from a file and the environment.
    Serve {
        /// TOML configuration (see config/intake.example.toml); defaults when absent.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Listen address (overrides the configuration).
        #[arg(long)]
        addr: Option<SocketAddr>,
    },
    /// The embedded default: SQLite under ./data, sandbox identity provider and platform, the page from www/.
    Demo {
        /// Listen address.
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: SocketAddr,
    },
    /// Run the widget's checks on a file: exit 0 when it passes, 1 when it does not, 2 when it cannot be read.
    Check(check::CheckArgs),
    /// Operators' view of forwarding.
    Outbox {
        /// TOML configuration (for the store URL); defaults when absent.
        #[arg(long)]
        config: Option<PathBuf>,
        #[command(subcommand)]
        action: OutboxAction,
    },
    /// Run the platform sandbox alone (tests and demos): prints {"addr": …} when listening.
    SandboxPlatform {
        /// Listen address.
        #[arg(long, default_value = "127.0.0.1:9090")]
        addr: SocketAddr,
        /// Append every delivery to this JSON-lines file.
        #[arg(long)]
        journal: Option<PathBuf>,
    },
    /// Print every problem code (Markdown table, the source of docs/codes.md).
    Codes,
    /// List the photo spec profiles (JSON).
    Profiles,
}

#[derive(Debug, Subcommand)]
enum OutboxAction {
    /// Submissions not yet delivered (waiting or needing attention).
    List,
    /// Submissions needing attention, with the platform's reason.
    Dead,
    /// Put a submission back in the queue, due now.
    Retry {
        /// Submission number.
        id: String,
    },
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("INTAKE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().json().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check(args) => check::run(&args),
        Command::Codes => check::emit(&intake_rules::catalog::markdown()),
        Command::Profiles => {
            let set = intake_rules::profile::ProfileSet::embedded();
            check::emit(&serde_json::to_string_pretty(set).unwrap_or_default())
        }
        command => {
            init_logging();
            let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
                Ok(r) => r,
                Err(e) => return fail(&format!("cannot start the runtime: {e}")),
            };
            runtime.block_on(run_async(command))
        }
    }
}

fn fail(message: &str) -> ExitCode {
    tracing::error!("{message}");
    let _ = check::emit_err(&format!("intake: {message}"));
    ExitCode::from(2)
}

async fn run_async(command: Command) -> ExitCode {
    match command {
        Command::Serve { config, addr } => serve(config.as_deref(), addr).await,
        Command::Demo { addr } => demo(addr).await,
        Command::Outbox { config, action } => outbox(config.as_deref(), action).await,
        Command::SandboxPlatform { addr, journal } => {
            let sandbox = PlatformSandbox::new(journal);
            match sandbox.serve(addr, app::shutdown_signal()).await {
                Ok((bound, handle)) => {
                    let _ = check::emit(&serde_json::json!({ "addr": bound.to_string() }).to_string());
                    let _ = handle.await;
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&format!("cannot listen on {addr}: {e}")),
            }
        }
        Command::Check(_) | Command::Codes | Command::Profiles => ExitCode::SUCCESS,
    }
}

async fn serve(path: Option<&Path>, addr: Option<SocketAddr>) -> ExitCode {
    let mut config = match Config::load(path) {
        Ok(c) => c,
        Err(e) => return fail(&format!("configuration: {e}")),
    };
    if let Some(a) = addr {
        config.server.addr = a;
    }
    let store = match app::open_configured_store(&config.store).await {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    let hint = pages_hint(&config);
    if !hint.is_empty() {
        tracing::warn!("{}", hint.trim());
    }
    let state = app::state(config, store, None);
    match app::serve(state, None, app::shutdown_signal()).await {
        Ok(running) => {
            tracing::info!(addr = %running.addr, "intake serving");
            let _ = running.done.await;
            ExitCode::SUCCESS
        }
        Err(e) => fail(&format!("cannot listen: {e}")),
    }
}

async fn demo(addr: SocketAddr) -> ExitCode {
    // A concrete port is needed for the issuer URL; port 0 picks a free one.
    let addr = if addr.port() == 0 {
        match std::net::TcpListener::bind(addr).and_then(|l| l.local_addr()) {
            Ok(a) => a,
            Err(e) => return fail(&format!("cannot find a free port: {e}")),
        }
    } else {
        addr
    };
    let data = PathBuf::from("data");
    if let Err(e) = std::fs::create_dir_all(&data) {
        return fail(&format!("cannot create ./data: {e}"));
    }
    let sandbox = PlatformSandbox::new(Some(data.join("sandbox-platform.jsonl")));
    let (platform_addr, _platform) =
        match sandbox.serve(SocketAddr::from(([127, 0, 0, 1], 0)), std::future::pending()).await {
            Ok(p) => p,
            Err(e) => return fail(&format!("cannot start the platform sandbox: {e}")),
        };
    let mut config = Config::default();
    config.server.addr = addr;
    config.store.url = format!("sqlite://{}", data.join("intake.db").display());
    config.platform.base_url = format!("http://{platform_addr}");
    config.identity.issuer = format!("http://{addr}/sandbox/idp");
    config.forwarding.base_delay_ms = 1000;
    // Encrypted at rest like a configured `serve`, under a demo key kept next to the database.
    match app::demo_master_key(&data.join("demo-master-key.txt")) {
        Ok(key) => {
            config.store.encryption = Some(intake::config::EncryptionConfig {
                active_key_id: "demo".into(),
                keys: std::collections::HashMap::from([("demo".to_owned(), key)]),
            });
        }
        Err(e) => return fail(&format!("the demo master key: {e}")),
    }
    // Host pages on other origins (an embed test page) may be allowed here too, and the pages moved.
    if let Err(e) = config.apply_env(|k| {
        if matches!(k, "INTAKE_CORS_ORIGINS" | "INTAKE_FRAME_ANCESTORS" | "INTAKE_WWW_DIR") {
            std::env::var(k).ok()
        } else {
            None
        }
    }) {
        return fail(&e);
    }
    let pages_hint = pages_hint(&config);
    if let Err(e) = config.validate() {
        return fail(&e);
    }
    let idp = SandboxIdp::new(&config.identity.issuer, &config.identity.audience);
    let verifier = Verifier::with_jwks(config.identity.clone(), &idp.signer().jwks());
    let store = match app::open_configured_store(&config.store).await {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    let extra = warp::path("sandbox").and(warp::path("idp")).and(idp.routes()).boxed();
    let state = app::state(config, store, Some(verifier));
    let running = match app::serve(state, Some(extra), app::shutdown_signal()).await {
        Ok(r) => r,
        Err(e) => return fail(&format!("cannot listen on {addr}: {e}")),
    };
    let a = running.addr;
    let text = format!(
        "\nIntake demo (SANDBOX identity provider and platform, sample people only)\n\n\
         page:            http://{a}/\n\
         embed demo:      http://{a}/embed-demo.html  (an iXiamen-like host page with the widget embedded)\n\
         sign in:         http://{a}/sandbox/idp/authorize  (the page does this for you)\n\
         API config:      http://{a}/api/v1/config\n\
         platform sandbox http://{platform_addr}/_sandbox/received\n\
         data:            ./data (SQLite: ./data/intake.db, encrypted at rest with the DEMO key ./data/demo-master-key.txt)\n\n\
         With curl, as a sample person (xiamen-holder, elsewhere-holder, new-applicant, rare-name, passport-holder):\n\
         TOKEN=$(curl -s http://{a}/sandbox/idp/token/xiamen-holder | sed 's/.*\"token\":\"\\([^\"]*\\)\".*/\\1/')\n\
         curl -H \"Authorization: Bearer $TOKEN\" http://{a}/api/v1/archive\n\
         (see README.md for a complete submission with curl)\n{pages_hint}\nCtrl-C stops it.\n"
    );
    let _ = check::emit(&text);
    let _ = running.done.await;
    ExitCode::SUCCESS
}

/// Empty when the pages and the built widget are in place; otherwise what to do about it.
fn pages_hint(config: &Config) -> String {
    let Some(dir) = &config.server.www_dir else { return String::new() };
    if !dir.join("index.html").is_file() {
        format!(
            "\nNOTE: no pages in {}/ (index.html missing): run intake from the repository root, or set \
             server.www_dir / INTAKE_WWW_DIR.\n",
            dir.display()
        )
    } else if !dir.join("pkg").join("intake_widget.js").is_file() {
        format!(
            "\nNOTE: the widget is not built ({}/pkg is missing): run `npm run build` (or start with `npm start`, \
             which builds it first).\n",
            dir.display()
        )
    } else {
        String::new()
    }
}

async fn outbox(path: Option<&Path>, action: OutboxAction) -> ExitCode {
    let config = match Config::load(path) {
        Ok(c) => c,
        Err(e) => return fail(&format!("configuration: {e}")),
    };
    let store: Arc<dyn intake::store::Store> = match app::open_configured_store(&config.store).await {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    match action {
        OutboxAction::List | OutboxAction::Dead => match store.outbox(matches!(action, OutboxAction::Dead)).await {
            Ok(rows) => {
                let _ = check::emit(&serde_json::to_string_pretty(&rows).unwrap_or_default());
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e.to_string()),
        },
        OutboxAction::Retry { id } => match store.retry_now(&id, forwarder::now_ms()).await {
            Ok(true) => {
                let _ = check::emit(&format!("{id}: queued for delivery now"));
                ExitCode::SUCCESS
            }
            Ok(false) => fail(&format!("{id}: unknown, or already delivered")),
            Err(e) => fail(&e.to_string()),
        },
    }
}
