use telem::info;

fn main() {
    let (a, b) = (1, 2);
    info!("unterminated {", a);
    info!("unmatched } brace");
    info!("{a b}");
    info!("{a.b}");
    info!("{r#type}");
    info!("{_}", b);
    info!("{type}");
}
