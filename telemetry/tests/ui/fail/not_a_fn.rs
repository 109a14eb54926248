use telem::trace;

#[trace]
struct Library;

#[trace]
pub(crate) const SHELVES: u32 = 3;

#[trace]
impl Library {
    fn open() {}
}

fn main() {
    let _ = (Library, SHELVES);
    Library::open();
}
