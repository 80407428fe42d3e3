//! The `custos` binary: parse arguments, run, print any error as one line.
#![forbid(unsafe_code)]

use clap::Parser;

fn main() {
    let cli = custos::cli::Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("custos: error: cannot start the runtime: {e}");
            std::process::exit(1);
        }
    };
    let code = match rt.block_on(custos::cli::run(cli)) {
        Ok(code) => code,
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            // The reader went away (`custos log | head`): not an error.
            0
        }
        Err(e) => {
            // One line: the error and those causes its message does not already include.
            let mut msg = String::new();
            for cause in e.chain() {
                let c = cause.to_string();
                if !msg.contains(&c) {
                    if !msg.is_empty() {
                        msg.push_str(": ");
                    }
                    msg.push_str(&c);
                }
            }
            eprintln!("custos: error: {}", msg.replace('\n', " "));
            1
        }
    };
    std::process::exit(code);
}
