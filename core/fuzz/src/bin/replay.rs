//! Runs fuzz inputs through a target without libFuzzer:
//! `replay <target> <file or directory>...` (directories are read whole).
//! For reproducing a crash under a debugger, for checking a corpus on a
//! toolchain without sanitizer support, and for CI smoke runs.

use std::path::Path;

fn main() {
    let mut args = std::env::args().skip(1);
    let target = args.next().unwrap_or_default();
    let run: fn(&[u8]) = match target.as_str() {
        "reference_parse" => secretkit_fuzz::run_reference,
        "field_select" => secretkit_fuzz::run_field,
        "vault_response" => secretkit_fuzz::run_vault,
        "aws_response" => secretkit_fuzz::run_aws,
        "config" => secretkit_fuzz::run_config,
        _ => {
            eprintln!("usage: replay <reference_parse|field_select|vault_response|aws_response|config> <path>...");
            std::process::exit(2);
        }
    };
    let mut count = 0usize;
    for arg in args {
        let path = Path::new(&arg);
        let files: Vec<_> = if path.is_dir() {
            let mut v: Vec<_> = std::fs::read_dir(path)
                .expect("readable directory")
                .filter_map(|e| e.ok().map(|e| e.path()))
                .collect();
            v.sort();
            v
        } else {
            vec![path.to_path_buf()]
        };
        for file in files {
            let data = std::fs::read(&file).expect("readable input");
            eprintln!("{}", file.display());
            run(&data);
            count += 1;
        }
    }
    println!("replayed {count} inputs through {target}: no failure");
}
