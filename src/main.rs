//! The server binary: load settings, start logging, build and run the app. Thin on purpose.

/// mimalloc instead of glibc's malloc: a server-rendered page allocates thousands of small
/// objects, and malloc, free and realloc were a large share of its instructions
/// (measured in bench/README.md).
#[cfg(feature = "ssr")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[cfg(feature = "ssr")]
#[tokio::main]
async fn main() -> std::process::ExitCode {
    use clap::Parser;
    use latchkey::server::{
        cli::{self, Cli, Command},
        config::Settings,
        http::telemetry,
    };
    use std::process::ExitCode;

    let command = Cli::parse().command.unwrap_or(Command::Serve);
    if let Err(e) = dotenvy::dotenv()
        && !e.not_found()
    {
        eprintln!("configuration error: .env: {e}");
        return ExitCode::from(cli::BAD_USAGE);
    }
    if matches!(command, Command::Serve) {
        telemetry::init();
    } else {
        telemetry::init_for_command();
    }
    let settings = Settings::from_env().map_err(|e| e.to_string());
    match command {
        Command::Serve => match settings {
            Ok(settings) => serve(settings).await,
            Err(e) => {
                eprintln!("configuration error: {e}");
                ExitCode::from(cli::BAD_USAGE)
            }
        },
        other => cli::run(other, settings).await,
    }
}

/// Serves until Ctrl-C or SIGTERM.
#[cfg(feature = "ssr")]
async fn serve(settings: latchkey::server::config::Settings) -> std::process::ExitCode {
    use latchkey::server::{cli, startup::Application};
    use std::process::ExitCode;

    let app = match Application::build(settings).await {
        Ok(app) => app,
        Err(e) => {
            eprintln!("startup error: {e}");
            return ExitCode::from(cli::REFUSED);
        }
    };
    // Listening for the signals before saying the server listens: whoever sends SIGTERM as
    // soon as it reads that line must not meet the default action, which kills the process.
    let stop = shutdown_signal();
    tracing::info!("listening on http://{}", app.address());
    match app.run_until_stopped(stop).await {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("server error: {e}");
            ExitCode::from(cli::REFUSED)
        }
    }
}

/// Handles Ctrl-C and SIGTERM from the moment it is called; the future resolves on either.
#[cfg(feature = "ssr")]
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{Signal, SignalKind, signal};

    async fn received(signal: std::io::Result<Signal>) {
        match signal {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    }
    let interrupt = received(signal(SignalKind::interrupt()));
    let terminate = received(signal(SignalKind::terminate()));
    async {
        tokio::select! {
            () = interrupt => {},
            () = terminate => {},
        }
        tracing::info!("shutting down: finishing requests in flight");
    }
}

#[cfg(not(feature = "ssr"))]
fn main() {
    // The browser build has no binary: its entry point is `latchkey::hydrate`.
}
