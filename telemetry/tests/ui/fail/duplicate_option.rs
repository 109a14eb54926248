use telem::trace;

#[trace(kind = server, err, kind = client)]
fn f() -> Result<(), String> {
    Ok(())
}

#[trace("a", name = "b")]
fn g() {}

fn main() {
    let _ = f();
    g();
}
