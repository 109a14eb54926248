use telem::{info, log, Level};

struct Opaque;

fn main() {
    info!("{}", Opaque);
    info!(%Opaque, "m");
    info!(k = ?Opaque);
    info!(k = Opaque);
    let level = Level::Info;
    log!(level, "m");
}
