use telem::info;

fn main() {
    let (a, b) = (1, 2);
    info!("{} {}", a);
    info!("{}", a, b);
    info!("{2}", a, b);
    info!("{x}", y = a);
    info!("{x}", x = a, b);
    info!("{x}", x = a, x = b);
    info!("{}", %a);
    info!("text", k = 1);
}
