//! `secretkit audit FILE...`: who read a reference, and when, from the
//! JSON-lines audit trail the clients write (`audit_file`, README "Audit
//! trail and metrics"): the blast radius of a leaked secret. Records never
//! hold values, so neither does this output.

use std::io::BufRead;

use serde_json::Value;

use crate::cli::exit;

/// Prints the records whose reference starts with `prefix` (all without
/// one), at or after `since` (RFC 3339, compared as the trail writes it),
/// oldest first as the files hold them, then who read them. Exit code 3
/// when nothing matched; unreadable files and malformed lines are reported
/// and skipped.
pub fn audit(
    files: &[std::path::PathBuf],
    prefix: Option<&str>,
    since: Option<&str>,
    as_json: bool,
) -> u8 {
    let mut matched: Vec<Value> = Vec::new();
    let mut malformed = 0usize;
    let mut code = exit::OK;
    for file in files {
        let reader = match std::fs::File::open(file) {
            Ok(f) => std::io::BufReader::new(f),
            Err(e) => {
                eprintln!("secretkit: {}: {e}", file.display());
                code = exit::FAILED;
                continue;
            }
        };
        for line in reader.lines() {
            let Ok(line) = line else {
                malformed += 1;
                continue;
            };
            if line.trim().is_empty() {
                continue;
            }
            let Ok(record) = serde_json::from_str::<Value>(&line) else {
                malformed += 1;
                continue;
            };
            let field = |name: &str| record.get(name).and_then(Value::as_str).unwrap_or("");
            if prefix.is_some_and(|p| !field("reference").starts_with(p)) {
                continue;
            }
            if since.is_some_and(|s| field("last") < s) {
                continue;
            }
            matched.push(record);
        }
    }
    if malformed > 0 {
        eprintln!("secretkit: {malformed} line(s) were not audit records and were skipped");
    }
    if as_json {
        println!("{}", Value::from(matched.clone()));
    } else {
        for r in &matched {
            let text = |name: &str| {
                r.get(name)
                    .and_then(Value::as_str)
                    .unwrap_or("-")
                    .to_owned()
            };
            println!(
                "{}  {:<8} {:>6}  {}  {}",
                text("last"),
                text("outcome"),
                r.get("count").and_then(Value::as_u64).unwrap_or(1),
                text("reference"),
                identity(r),
            );
        }
        let mut readers: Vec<String> = matched.iter().map(identity).collect();
        readers.sort();
        readers.dedup();
        if !matched.is_empty() {
            println!("read by: {}", readers.join(", "));
        }
    }
    if matched.is_empty() && code == exit::OK {
        eprintln!("secretkit: no audit record matched");
        code = exit::NOT_FOUND;
    }
    code
}

/// `service=billing user=42`, or `-` without an identity.
fn identity(record: &Value) -> String {
    match record.get("identity").and_then(Value::as_object) {
        Some(fields) if !fields.is_empty() => fields
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
            .collect::<Vec<_>>()
            .join(" "),
        _ => "-".to_owned(),
    }
}
