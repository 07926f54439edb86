//! `secretkit`: the host agent (`secretkit agent`) and the operator CLI, one
//! binary on the core. See README.md, "Agent and CLI".

mod app;
mod audit;
mod aws_api;
mod cli;
mod config;
mod connections;
mod native_api;
mod server;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "secretkit",
    version,
    about = "Read secrets from AWS SSM, Secrets Manager and Vault / OpenBao"
)]
#[command(
    after_help = "Exit codes: 0 ok, 1 failed, 2 usage, 3 not found, 4 access denied, \
                        5 throttled / unavailable / timed out (try again), 6 invalid reference or \
                        configuration, 7 invalid answer from a backend"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve secrets to the processes on this host (AWS extension API and
    /// every secretkit reference), one cache and one set of leases for all.
    Agent {
        /// A TOML configuration file.
        #[arg(long, env = "SECRETKIT_AGENT_CONFIG")]
        config: Option<PathBuf>,
        /// Where to listen: 127.0.0.1:PORT or unix:///path (overrides the file).
        #[arg(long)]
        listen: Option<String>,
    },
    /// Read references; values are redacted unless --reveal.
    Get {
        /// References, e.g. ssm:/prod/app/db-password vault:secret/app#key
        #[arg(required = true)]
        references: Vec<String>,
        /// Print the values themselves.
        #[arg(long)]
        reveal: bool,
        /// One JSON array of {reference, version, value | error}.
        #[arg(long)]
        json: bool,
    },
    /// List the references under an ssm: or asm: prefix.
    Ls {
        /// ssm:/path/ or asm:prefix/
        prefix: String,
        /// Print one JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Rotate a Secrets Manager secret now (RotateSecret, with its
    /// configured rotation function).
    Rotate {
        /// asm:NAME
        reference: String,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a Vault lease, or every lease under a path.
    ///
    /// --prefix revokes every lease under a path (e.g. database/creds/app);
    /// each secrets engine revokes its credential first, and a failure stops
    /// the revocation. --force (with --prefix) removes the leases from Vault
    /// even when the engine cannot revoke the credentials (the database is
    /// gone): Vault forgets them, so they must then be removed by hand. It
    /// needs sudo on sys/leases/revoke-force.
    Revoke {
        /// A lease id, or with --prefix a path.
        target: String,
        /// Revoke every lease under the path TARGET.
        #[arg(long)]
        prefix: bool,
        /// Remove the leases even if the secrets engine cannot revoke them.
        #[arg(long, requires = "prefix")]
        force: bool,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Who read what, when: the audit trail's JSON-lines files, filtered.
    Audit {
        /// Audit trail files (JSON lines).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Only references starting with this (e.g. ssm:/prod/db).
        #[arg(long)]
        reference: Option<String>,
        /// Only records at or after this RFC 3339 time.
        #[arg(long)]
        since: Option<String>,
        /// Print one JSON array of the records.
        #[arg(long)]
        json: bool,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions { shell: clap_complete::Shell },
}

#[tokio::main]
async fn main() -> ExitCode {
    let code = match Cli::parse().command {
        Command::Agent { config, listen } => agent(config, listen).await,
        Command::Get {
            references,
            reveal,
            json,
        } => cli::get(&references, reveal, json).await,
        Command::Ls { prefix, json } => cli::ls(&prefix, json).await,
        Command::Rotate { reference, json } => cli::rotate(&reference, json).await,
        Command::Revoke {
            target,
            prefix,
            force,
            json,
        } => {
            let how = match (prefix, force) {
                (_, true) => secretkit::Revoke::Force,
                (true, false) => secretkit::Revoke::Prefix,
                (false, false) => secretkit::Revoke::Lease,
            };
            cli::revoke(&target, how, json).await
        }
        Command::Audit {
            files,
            reference,
            since,
            json,
        } => audit::audit(&files, reference.as_deref(), since.as_deref(), json),
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "secretkit",
                &mut std::io::stdout(),
            );
            cli::exit::OK
        }
    };
    ExitCode::from(code)
}

/// Configuration mistakes exit with `INVALID` before anything listens;
/// failures while serving with `FAILED`.
async fn agent(config: Option<PathBuf>, listen: Option<String>) -> u8 {
    let checked = async {
        let mut config = config::AgentConfig::load(config.as_deref())?;
        if let Some(listen) = listen {
            config.listen = listen;
        }
        let listen = config::Listen::parse(&config.listen)?;
        config.idle_timeout()?;
        config.socket_mode()?;
        let token = config.token()?;
        let client = server::build_client(&config).await?;
        Ok::<_, String>((config, listen, client, token))
    };
    let (config, listen, client, token) = match checked.await {
        Ok(parts) => parts,
        Err(message) => {
            eprintln!("secretkit agent: {message}");
            return cli::exit::INVALID;
        }
    };
    match server::run(&config, &listen, client, &token).await {
        Ok(_) => cli::exit::OK,
        Err(message) => {
            eprintln!("secretkit agent: {message}");
            cli::exit::FAILED
        }
    }
}
