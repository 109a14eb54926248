//! The SQL: the schema, the seed, and every statement the repository runs, parameterized
//! (what a span's `db.query.text` shows unless `BOOKSTORE_DB_QUERY_TEXT=false`: values
//! are bound, never written into the text).

/// The tables. A book's `keywords` is a JSON array of the lowercase words of its title
/// and author, what `?q=` matches whole (through SQLite's `json_each`).
pub(super) const SCHEMA: &str = "
CREATE TABLE books (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    author TEXT NOT NULL,
    genre TEXT NOT NULL CHECK (genre IN ('fiction', 'fantasy', 'science', 'history')),
    keywords TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE reviews (
    id INTEGER PRIMARY KEY,
    book_id INTEGER NOT NULL REFERENCES books (id),
    reviewer TEXT NOT NULL,
    stars INTEGER NOT NULL CHECK (stars BETWEEN 1 AND 5),
    text TEXT NOT NULL
);
CREATE INDEX reviews_by_book ON reviews (book_id);
CREATE TABLE stock (
    book_id INTEGER PRIMARY KEY REFERENCES books (id),
    copies INTEGER NOT NULL CHECK (copies >= 0)
);
";

/// The seeded books: title, author, genre, copies in stock (ids 1 to 4, in this order).
pub(super) const SEED_BOOKS: [(&str, &str, super::Genre, u32); 4] = [
    ("Dune", "Frank Herbert", super::Genre::Fiction, 12),
    ("The Hobbit", "J. R. R. Tolkien", super::Genre::Fantasy, 4),
    (
        "A Brief History of Time",
        "Stephen Hawking",
        super::Genre::Science,
        0,
    ),
    ("SPQR", "Mary Beard", super::Genre::History, 7),
];

/// The seeded reviews: book id, reviewer, stars, text.
pub(super) const SEED_REVIEWS: [(u64, &str, u8, &str); 3] = [
    (1, "ada", 5, "The spice must flow."),
    (1, "brian", 4, "Long, but worth it."),
    (2, "carol", 5, "There and back again, gladly."),
];

/// `Store::list`: `?1` the genre or NULL, `?2` the word or NULL.
pub(super) const SELECT_BOOKS: &str = "SELECT id, title, author, genre FROM books \
     WHERE (?1 IS NULL OR genre = ?1) \
     AND (?2 IS NULL OR EXISTS (SELECT 1 FROM json_each(books.keywords) WHERE value = ?2)) \
     ORDER BY id";

/// `Store::get`.
pub(super) const SELECT_BOOK: &str = "SELECT id, title, author, genre FROM books WHERE id = ?1";

/// `Store::recommendations`: up to three other books of the same genre.
pub(super) const SELECT_SIMILAR: &str = "SELECT id FROM books \
     WHERE genre = (SELECT genre FROM books WHERE id = ?1) AND id != ?1 \
     ORDER BY id LIMIT 3";

/// `Store::insert`, and the seed.
pub(super) const INSERT_BOOK: &str =
    "INSERT INTO books (title, author, genre, keywords) VALUES (?1, ?2, ?3, ?4) RETURNING id";

/// `Store::reindex`: the book's new keywords.
pub(super) const UPDATE_KEYWORDS: &str = "UPDATE books SET keywords = ?1 WHERE id = ?2";

/// `Store::reviews`.
pub(super) const SELECT_REVIEWS: &str =
    "SELECT reviewer, stars, text FROM reviews WHERE book_id = ?1 ORDER BY id";

/// `Store::stock`.
pub(super) const SELECT_STOCK: &str = "SELECT copies FROM stock WHERE book_id = ?1";

/// The seed.
pub(super) const INSERT_STOCK: &str = "INSERT INTO stock (book_id, copies) VALUES (?1, ?2)";

/// The seed.
pub(super) const INSERT_REVIEW: &str =
    "INSERT INTO reviews (book_id, reviewer, stars, text) VALUES (?1, ?2, ?3, ?4)";
