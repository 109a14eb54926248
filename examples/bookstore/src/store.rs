//! The in-process store: books, their reviews and stock in a `RwLock`, seeded with a few.
//!
//! The two "remote" lookups (`reviews`, `stock`) and the background `reindex` are
//! instrumented with `#[telem::trace]`; the quick in-memory reads are not.
//!
//! Each lookup and reindex leaves a `debug` record (`book lookup`, `book search`,
//! `reviews lookup`, `stock lookup`, `book reindexed`), target `bookstore::store`:
//! hidden at the default level (`info`), shown with `RUST_LOG=info,bookstore::store=debug`.
//! A reindex that fails logs an `error` inside its span.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

/// Simulated latency of the reviews service, so concurrent calls show in the spans.
const REVIEWS_LATENCY: Duration = Duration::from_millis(8);
/// Simulated latency of the warehouse (stock) service.
const STOCK_LATENCY: Duration = Duration::from_millis(5);
/// Longest accepted title or author, in characters.
pub const MAX_TEXT_LEN: usize = 200;

/// A book's genre: a closed set, so it is safe as a metric label.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Genre {
    /// Novels and short stories.
    Fiction,
    /// Dragons and wizards.
    Fantasy,
    /// Popular science.
    Science,
    /// History.
    History,
}

impl Genre {
    /// The genre as written in JSON and in metric labels.
    pub const fn as_str(self) -> &'static str {
        match self {
            Genre::Fiction => "fiction",
            Genre::Fantasy => "fantasy",
            Genre::Science => "science",
            Genre::History => "history",
        }
    }
}

/// A book in the store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Book {
    /// Its id, assigned by the store.
    pub id: u64,
    /// Title.
    pub title: String,
    /// Author.
    pub author: String,
    /// Genre.
    pub genre: Genre,
}

/// The body of `POST /books`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewBook {
    /// Title: 1 to 200 characters, not only spaces.
    pub title: String,
    /// Author: 1 to 200 characters, not only spaces.
    pub author: String,
    /// Genre.
    pub genre: Genre,
}

impl NewBook {
    /// Checks the fields, trimming surrounding spaces; the error says which field is wrong.
    pub fn validate(self) -> Result<NewBook, String> {
        fn text(field: &str, value: &str) -> Result<String, String> {
            let value = value.trim();
            let len = value.chars().count();
            if (1..=MAX_TEXT_LEN).contains(&len) {
                Ok(value.to_owned())
            } else {
                Err(format!(
                    "`{field}` must be 1 to {MAX_TEXT_LEN} characters (not only spaces), got {len}"
                ))
            }
        }
        Ok(NewBook {
            title: text("title", &self.title)?,
            author: text("author", &self.author)?,
            genre: self.genre,
        })
    }
}

/// A reader's review.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    /// Who wrote it.
    pub reviewer: String,
    /// 1 to 5 stars.
    pub stars: u8,
    /// What they said.
    pub text: String,
}

/// What `GET /books` can filter on (its query string).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    /// Only books of this genre.
    pub genre: Option<Genre>,
    /// Only books with this word in the title or author (case-insensitive).
    pub q: Option<String>,
}

/// The books, shared by every handler (cloning shares the same store).
#[derive(Clone, Debug, Default)]
pub struct Store {
    inner: Arc<RwLock<Inner>>,
}

#[derive(Debug, Default)]
struct Inner {
    books: BTreeMap<u64, Book>,
    /// Lowercase words of each book's title and author, for `?q=` searches.
    keywords: BTreeMap<u64, BTreeSet<String>>,
    reviews: BTreeMap<u64, Vec<Review>>,
    stock: BTreeMap<u64, u32>,
    next_id: u64,
}

fn keywords(book: &Book) -> BTreeSet<String> {
    format!("{} {}", book.title, book.author)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
        .collect()
}

impl Store {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// A store with four books (ids 1 to 4), some reviews and stock.
    pub fn seeded() -> Self {
        let store = Self::new();
        let seed = [
            ("Dune", "Frank Herbert", Genre::Fiction, 12),
            ("The Hobbit", "J. R. R. Tolkien", Genre::Fantasy, 4),
            (
                "A Brief History of Time",
                "Stephen Hawking",
                Genre::Science,
                0,
            ),
            ("SPQR", "Mary Beard", Genre::History, 7),
        ];
        for (title, author, genre, stock) in seed {
            let book = store.insert(NewBook {
                title: title.to_owned(),
                author: author.to_owned(),
                genre,
            });
            store.write().stock.insert(book.id, stock);
        }
        let mut inner = store.write();
        inner.reviews.insert(
            1,
            vec![
                Review {
                    reviewer: "ada".to_owned(),
                    stars: 5,
                    text: "The spice must flow.".to_owned(),
                },
                Review {
                    reviewer: "brian".to_owned(),
                    stars: 4,
                    text: "Long, but worth it.".to_owned(),
                },
            ],
        );
        inner.reviews.insert(
            2,
            vec![Review {
                reviewer: "carol".to_owned(),
                stars: 5,
                text: "There and back again, gladly.".to_owned(),
            }],
        );
        drop(inner);
        store
    }

    // A panic while holding the lock cannot leave a half-written book (every write is
    // one insert), so a poisoned lock is still consistent: use it.
    fn read(&self) -> RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// The books matching `filter`, by id.
    pub fn list(&self, filter: &Filter) -> Vec<Book> {
        let word = filter.q.as_deref().map(str::to_lowercase);
        let inner = self.read();
        let books: Vec<Book> = inner
            .books
            .values()
            .filter(|book| filter.genre.is_none_or(|genre| book.genre == genre))
            .filter(|book| {
                word.as_ref().is_none_or(|word| {
                    inner
                        .keywords
                        .get(&book.id)
                        .is_some_and(|words| words.contains(word))
                })
            })
            .cloned()
            .collect();
        drop(inner);
        telem::debug!(
            bookstore.genre = filter.genre.map_or("", Genre::as_str),
            bookstore.query = filter.q.as_deref().unwrap_or(""),
            bookstore.results = books.len(),
            "book search"
        );
        books
    }

    /// The book `id`, if there is one.
    pub fn get(&self, id: u64) -> Option<Book> {
        let book = self.read().books.get(&id).cloned();
        telem::debug!(book.id = id, found = book.is_some(), "book lookup");
        book
    }

    /// Adds a book (already validated) and returns it with its new id.
    pub fn insert(&self, new: NewBook) -> Book {
        let mut inner = self.write();
        inner.next_id += 1;
        let book = Book {
            id: inner.next_id,
            title: new.title,
            author: new.author,
            genre: new.genre,
        };
        inner.keywords.insert(book.id, keywords(&book));
        inner.books.insert(book.id, book.clone());
        book
    }

    /// The book's reviews, from the (simulated) reviews service.
    #[telem::trace(kind = client, record(id))]
    pub async fn reviews(&self, id: u64) -> Vec<Review> {
        tokio::time::sleep(REVIEWS_LATENCY).await;
        let reviews = self.read().reviews.get(&id).cloned().unwrap_or_default();
        telem::debug!(book.id = id, reviews = reviews.len(), "reviews lookup");
        reviews
    }

    /// Copies of the book in stock, from the (simulated) warehouse service.
    #[telem::trace(kind = client, record(id))]
    pub async fn stock(&self, id: u64) -> u32 {
        tokio::time::sleep(STOCK_LATENCY).await;
        let in_stock = self.read().stock.get(&id).copied().unwrap_or(0);
        telem::debug!(book.id = id, in_stock, "stock lookup");
        in_stock
    }

    /// Rebuilds the search keywords of book `id` and returns how many words it has.
    /// Runs in the background (`POST /books/{id}/reindex` spawns it), so nobody waits
    /// for the result: a failure is logged here, as an `error` inside the reindex span
    /// (which gets an error status), in the trace of the request that asked for it.
    ///
    /// It fails when there is no book `id`. The route checks the book exists before it
    /// spawns the reindex, so through HTTP that only happens if the book is gone by the
    /// time the reindex runs; calling this directly for an unknown id fails at once.
    #[telem::trace(record(id), err)]
    pub async fn reindex(self, id: u64) -> Result<usize, ReindexError> {
        // Let the request that asked for it answer first, as a real indexer would.
        tokio::task::yield_now().await;
        let mut inner = self.write();
        let Some(words) = inner.books.get(&id).map(keywords) else {
            drop(inner);
            let error = ReindexError::NoSuchBook(id);
            telem::error!(
                book.id = id,
                "error.type" = error.error_type(),
                "reindex failed: {error}"
            );
            return Err(error);
        };
        let count = words.len();
        inner.keywords.insert(id, words);
        drop(inner);
        telem::debug!(book.id = id, words = count, "book reindexed");
        Ok(count)
    }
}

/// Why [`Store::reindex`] failed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReindexError {
    /// There is no book with this id (any more).
    NoSuchBook(u64),
}

impl ReindexError {
    /// A short, stable name for the kind of failure: the `error.type` of its log record.
    pub const fn error_type(&self) -> &'static str {
        match self {
            ReindexError::NoSuchBook(_) => "book_not_found",
        }
    }
}

impl fmt::Display for ReindexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReindexError::NoSuchBook(id) => write!(f, "no book with id {id}"),
        }
    }
}

impl std::error::Error for ReindexError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seeded_store_lists_its_books_by_id() {
        let store = Store::seeded();
        let ids: Vec<u64> = store
            .list(&Filter::default())
            .iter()
            .map(|b| b.id)
            .collect();
        assert_eq!(ids, [1, 2, 3, 4]);
        assert_eq!(store.get(2).map(|b| b.title), Some("The Hobbit".to_owned()));
        assert_eq!(store.get(99), None);
    }

    #[test]
    fn search_matches_whole_words_of_title_or_author_in_any_case() {
        let store = Store::seeded();
        let find = |q: &str| -> Vec<u64> {
            let filter = Filter {
                q: Some(q.to_owned()),
                ..Filter::default()
            };
            store.list(&filter).iter().map(|b| b.id).collect()
        };
        assert_eq!(find("HOBBIT"), [2]);
        assert_eq!(find("beard"), [4]);
        assert_eq!(find("hob"), Vec::<u64>::new(), "whole words only");
        let fantasy = Filter {
            genre: Some(Genre::Fantasy),
            ..Filter::default()
        };
        assert_eq!(store.list(&fantasy).len(), 1);
    }

    #[test]
    fn new_books_are_trimmed_and_checked_field_by_field() {
        let new = |title: &str, author: &str| NewBook {
            title: title.to_owned(),
            author: author.to_owned(),
            genre: Genre::Science,
        };
        assert_eq!(
            new("  Cosmos ", "Carl Sagan").validate(),
            Ok(new("Cosmos", "Carl Sagan"))
        );
        assert_eq!(
            new("   ", "Carl Sagan").validate(),
            Err("`title` must be 1 to 200 characters (not only spaces), got 0".to_owned())
        );
        let long = "x".repeat(MAX_TEXT_LEN + 1);
        assert_eq!(
            new("Cosmos", &long).validate(),
            Err("`author` must be 1 to 200 characters (not only spaces), got 201".to_owned())
        );
    }

    #[tokio::test]
    async fn inserted_books_get_the_next_id_and_are_searchable() {
        let store = Store::seeded();
        let book = store.insert(NewBook {
            title: "Cosmos".to_owned(),
            author: "Carl Sagan".to_owned(),
            genre: Genre::Science,
        });
        assert_eq!(book.id, 5);
        let filter = Filter {
            q: Some("sagan".to_owned()),
            ..Filter::default()
        };
        assert_eq!(store.list(&filter), [book]);
        assert_eq!(store.stock(5).await, 0, "new books are not in stock yet");
        assert_eq!(store.clone().reindex(5).await, Ok(3), "cosmos, carl, sagan");
        assert_eq!(store.reindex(42).await, Err(ReindexError::NoSuchBook(42)));
    }
}
