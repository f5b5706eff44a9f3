//! `workstream packet build|upload`: a contributor's packet from directory to admission.
//!
//! * `build <dir> -o packet.zip` zips the packet layout (`outputs/`, `evidence/`, ...)
//!   deterministically: entries sorted by path, fixed timestamps and modes, so the same
//!   files always make the same archive (the server recognises an unchanged packet by
//!   its hash). Symlinks and special files are refused, as the server would refuse them.
//! * `upload --task T <dir-or-zip>` builds the ZIP if given a directory, streams it to
//!   `POST /tasks/{T}/packets` with a progress bar, and prints the pre-submit result:
//!   each checker's status and its findings with the suggested fix, whether the packet
//!   was admitted or refused (`pre_submission_checker_failed`). With `--submit` the
//!   admission becomes the next submission (`POST /tasks/{T}/submissions`); a revision
//!   after a reviewer's `needs_revision` answers findings, which needs the API.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde_json::{Value, json};
use uuid::Uuid;
use workstream_api::auth::SubjectKind;
use workstream_domain::ErrorCode;
use zip::write::SimpleFileOptions;

use crate::client::{Client, Keys, Upload};
use crate::fixes::CliError;
use crate::progress::{self, Output};

/// `workstream packet ...`.
#[derive(Debug, Subcommand)]
pub enum PacketCommand {
    /// Zip a packet directory (deterministic: same files, same archive).
    Build {
        /// The packet directory (`outputs/`, `evidence/`).
        dir: PathBuf,
        /// The ZIP to write.
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Upload a packet for a task and print the pre-submit checks.
    Upload(UploadArgs),
}

/// Arguments of `workstream packet upload`.
#[derive(Debug, Args)]
pub struct UploadArgs {
    /// The task.
    #[arg(long)]
    task: Uuid,
    /// The packet: a directory (zipped first) or a `.zip`.
    packet: PathBuf,
    /// The summary of the work.
    #[arg(long)]
    summary: String,
    /// The attestation (what the packet does not hold).
    #[arg(long)]
    attestation: String,
    /// Submit the admitted packet as the task's next version.
    #[arg(long)]
    submit: bool,
    /// The server.
    #[arg(long, env = "WORKSTREAM_SERVER", default_value = crate::client::DEFAULT_SERVER)]
    server: String,
    /// The contributor's token; without it, `--as` is signed in with the local secret.
    #[arg(long, env = "WORKSTREAM_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// The local subject to act as (with the local secret of --data-dir).
    #[arg(long = "as")]
    subject: Option<String>,
    /// The local server's data directory (its token secret).
    #[arg(long, env = "WORKSTREAM_DATA_DIR", default_value = ".workstream")]
    data_dir: PathBuf,
}

/// Runs a `packet` subcommand.
pub async fn run(command: &PacketCommand) -> anyhow::Result<ExitCode> {
    match command {
        PacketCommand::Build { dir, output } => {
            let (files, bytes) = build(dir, output)?;
            println!(
                "{}: {files} files, {} bytes zipped",
                output.display(),
                fs::metadata(output).map_or(bytes, |m| m.len())
            );
            Ok(ExitCode::SUCCESS)
        }
        PacketCommand::Upload(args) => upload_command(args).await,
    }
}

/// Every regular file under `dir`, relative, sorted; refuses links and special files.
fn files_of(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
        for entry in fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
            let entry = entry?;
            let path = entry.path();
            let kind = entry.file_type()?;
            if kind.is_dir() {
                walk(root, &path, out)?;
            } else if kind.is_file() {
                out.push(path.strip_prefix(root).expect("under the root").to_owned());
            } else {
                bail!(
                    "{} is a link or a special file; a packet holds regular files only",
                    path.display()
                );
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out)?;
    out.sort();
    Ok(out)
}

/// Zips `dir` into `output`; returns (files, bytes before compression).
pub fn build(dir: &Path, output: &Path) -> anyhow::Result<(usize, u64)> {
    if !dir.is_dir() {
        return Err(CliError::new(
            "packet_layout_missing",
            format!("{} is not a directory", dir.display()),
        )
        .into());
    }
    let files = files_of(dir)?;
    if files.is_empty() {
        return Err(CliError::new(
            "packet_layout_missing",
            format!("{} holds no files", dir.display()),
        )
        .into());
    }
    let out = File::create(output).with_context(|| format!("creating {}", output.display()))?;
    let mut writer = zip::ZipWriter::new(io::BufWriter::new(out));
    let options = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default())
        .unix_permissions(0o644);
    let mut total = 0;
    for relative in &files {
        let name = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        writer.start_file(name, options)?;
        let mut file = File::open(dir.join(relative))?;
        total += io::copy(&mut file, &mut writer)?;
    }
    writer.finish()?.flush()?;
    Ok((files.len(), total))
}

/// A packet ready to upload: the ZIP (built into a temporary directory for a
/// directory packet).
pub struct Zipped {
    /// The ZIP.
    pub path: PathBuf,
    _scratch: Option<tempfile::TempDir>,
}

/// The ZIP of `packet`: itself if it is a file, else a fresh build of the directory.
pub fn zipped(packet: &Path) -> anyhow::Result<Zipped> {
    if packet.is_file() {
        return Ok(Zipped {
            path: packet.to_owned(),
            _scratch: None,
        });
    }
    let scratch = tempfile::Builder::new()
        .prefix("workstream-packet")
        .tempdir()?;
    let path = scratch.path().join("packet.zip");
    build(packet, &path)?;
    Ok(Zipped {
        path,
        _scratch: Some(scratch),
    })
}

/// Uploads `zip` for `task` with a byte progress bar on `out`.
pub async fn upload(
    client: &Client,
    token: &str,
    upload: &Upload<'_>,
    key: Uuid,
    out: &mut Output,
) -> Result<Value, CliError> {
    out.set_bar(progress::bytes(0, "upload"));
    let bar = out.bar().clone();
    let answer = client.upload(token, upload, key, &bar).await;
    out.finish();
    answer
}

/// Lines describing a pre-submit report (`{route, results: [{checker, status, findings}]}`).
pub fn report_lines(report: &Value) -> Vec<String> {
    let mut lines = Vec::new();
    for result in report["results"].as_array().into_iter().flatten() {
        let findings = result["findings"].as_array().cloned().unwrap_or_default();
        lines.push(format!(
            "    {:<28} {}{}",
            result["checker"].as_str().unwrap_or("?"),
            result["status"].as_str().unwrap_or("?"),
            if findings.is_empty() {
                String::new()
            } else {
                format!(" ({} findings)", findings.len())
            }
        ));
        for finding in findings {
            let at = match (finding["path"].as_str(), finding["line"].as_u64()) {
                (Some(path), Some(line)) => format!(" at {path}:{line}"),
                (Some(path), None) => format!(" at {path}"),
                _ => String::new(),
            };
            lines.push(format!(
                "      {} {}{at}: {}",
                finding["level"].as_str().unwrap_or("?"),
                finding["code"].as_str().unwrap_or("?"),
                finding["message"].as_str().unwrap_or_default()
            ));
            if let Some(fix) = finding["suggested_fix"].as_str().filter(|f| !f.is_empty()) {
                lines.push(format!("        fix: {fix}"));
            }
        }
    }
    lines
}

async fn upload_command(args: &UploadArgs) -> anyhow::Result<ExitCode> {
    let client = Client::new(&args.server);
    let token = match (&args.token, &args.subject) {
        (Some(token), _) => token.clone(),
        (None, Some(subject)) => {
            crate::people::local_minter(&args.data_dir)?.token(subject, SubjectKind::Human)
        }
        (None, None) => {
            return Err(CliError::new(
                "missing_token",
                "pass --token, or --as SUBJECT to sign in with the local secret",
            )
            .into());
        }
    };
    let zip = zipped(&args.packet)?;
    let keys = Keys::new(Uuid::now_v7().to_string());
    let mut out = Output::new(false);
    let request = Upload {
        task: args.task,
        summary: &args.summary,
        attestation: &args.attestation,
        zip: &zip.path,
    };
    match upload(&client, &token, &request, keys.key("upload"), &mut out).await {
        Ok(admitted) => {
            println!(
                "admitted: {} ({} files, archive {})",
                admitted["admission_id"].as_str().unwrap_or("?"),
                admitted["file_count"],
                admitted["archive_sha256"].as_str().unwrap_or("?")
            );
            println!(
                "pre-submit checks: {}",
                admitted["pre_submit"]["route"].as_str().unwrap_or("?")
            );
            for line in report_lines(&admitted["pre_submit"]) {
                println!("{line}");
            }
            if args.submit {
                let submitted = client
                    .post(
                        &token,
                        &format!("/tasks/{}/submissions", args.task),
                        &json!({ "admission_id": admitted["admission_id"] }),
                        keys.key("submit"),
                    )
                    .await?;
                println!(
                    "submitted: version {}, task {}",
                    submitted["submission"]["version"],
                    submitted["task"]["status"].as_str().unwrap_or("?")
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(err) if err.is(ErrorCode::PreSubmissionCheckerFailed) => {
            println!("pre-submit checks: refused");
            for line in report_lines(&err.details) {
                println!("{line}");
            }
            Err(err.into())
        }
        Err(err) => Err(err.into()),
    }
}
