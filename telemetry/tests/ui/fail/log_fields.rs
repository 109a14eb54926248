use telem::info;

fn main() {
    let (a, b) = (1, 2);
    info!(a = 1, a = 2, "m");
    info!(%a = b, "m");
    info!(level: "x", "m");
    info!(target: "a", target: "b", "m");
    info!(a = 1 b = 2);
    info!("k" => 1);
    info!(a + b c);
}
