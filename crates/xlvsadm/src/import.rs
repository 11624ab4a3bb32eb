//! `xlvsadm import-keepalived FILE [--node-template FILE]`: the TOML on
//! stdout, what could not be carried over on stderr; the result is checked
//! by the file's rules, as `xlvsd --check-config` checks them (schedulers
//! the data plane refuses are warnings here).

use std::io::Read;
use std::path::Path;
use std::process::ExitCode;
use xlvsadm::keepalived::{self, NodeTemplate};

pub fn run(file: &Path, template: Option<&Path>) -> ExitCode {
    match convert(file, template) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("xlvsadm: {e}");
            ExitCode::FAILURE
        }
    }
}

fn convert(file: &Path, template: Option<&Path>) -> Result<ExitCode, String> {
    let text = if file == Path::new("-") {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| format!("stdin: {e}"))?;
        s
    } else {
        std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?
    };
    let template_text = template
        .map(|t| std::fs::read_to_string(t).map_err(|e| format!("{}: {e}", t.display())))
        .transpose()?;
    let origin = template.map(|t| t.display().to_string());
    let node = match (&template_text, &origin) {
        (Some(text), Some(origin)) => Some(NodeTemplate { origin, text }),
        _ => None,
    };
    let result = keepalived::import(&text, node).map_err(|e| format!("{}: {e}", file.display()))?;
    print!("{}", result.toml);
    for n in &result.notes.not_carried {
        eprintln!("not carried over: {n}");
    }
    for w in &result.notes.warnings {
        eprintln!("warning: {w}");
    }
    // The output must be a valid node config; say so now rather than when
    // xlvsd starts.
    match xlvs_config::parse(&result.toml, "<converted>") {
        Ok(_) => Ok(ExitCode::SUCCESS),
        Err(errors) => {
            eprintln!("xlvsadm: the converted config does not validate:\n{errors}");
            Ok(ExitCode::FAILURE)
        }
    }
}
