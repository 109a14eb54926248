use telem::trace;

struct Opaque;

#[trace(record(opaque))]
fn f(opaque: Opaque) {
    let _ = opaque;
}

fn main() {
    f(Opaque);
}
