//! xlvsadm: the ipvsadm-compatible admin CLI. It talks to xlvsd over the
//! control socket, which arrives with the daemon; until then it says so
//! instead of pretending.

use std::process::ExitCode;

fn main() -> ExitCode {
    eprintln!(
        "xlvsadm: the xlvsd control socket is not available in this build \
         (xlvsd does not run services yet); nothing was changed"
    );
    ExitCode::from(2)
}
