use telem::trace;

struct S;

impl S {
    #[trace(record(self, shelf, title))]
    fn list(&self, shelf: u32) -> u32 {
        shelf
    }
}

#[trace(record(self))]
fn free(x: u32) -> u32 {
    x
}

fn main() {
    S.list(1);
    free(1);
}
