use telem::{error, info, log, warn};

fn main() {
    let message = String::from("m");
    info!(42);
    warn!(message.clone());
    error!(k = 1, format!("x {}", 1));
    info!(&message);
    log!("no level");
    log!();
    info!();
}
