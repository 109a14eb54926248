//! What the store holds and answers: books, their genres, reviews, and the search filter.

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

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
    /// Every genre, in the order of the enum.
    pub const ALL: [Genre; 4] = [
        Genre::Fiction,
        Genre::Fantasy,
        Genre::Science,
        Genre::History,
    ];

    /// The genre as written in JSON, in metric labels and in the database.
    pub const fn as_str(self) -> &'static str {
        match self {
            Genre::Fiction => "fiction",
            Genre::Fantasy => "fantasy",
            Genre::Science => "science",
            Genre::History => "history",
        }
    }

    /// The genre written `text` (as [`Genre::as_str`] writes it), if there is one.
    pub fn from_name(text: &str) -> Option<Genre> {
        Genre::ALL.into_iter().find(|genre| genre.as_str() == text)
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

impl Book {
    /// The lowercase words of its title and author: what a `?q=` search matches.
    pub fn keywords(&self) -> BTreeSet<String> {
        keywords(&self.title, &self.author)
    }
}

/// The lowercase words of a title and an author.
pub(super) fn keywords(title: &str, author: &str) -> BTreeSet<String> {
    title
        .split(|c: char| !c.is_alphanumeric())
        .chain(author.split(|c: char| !c.is_alphanumeric()))
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn genres_read_back_from_their_names() {
        for genre in Genre::ALL {
            assert_eq!(Genre::from_name(genre.as_str()), Some(genre));
        }
        assert_eq!(Genre::from_name("Fiction"), None, "exactly as written");
        assert_eq!(Genre::from_name("poetry"), None);
    }

    #[test]
    fn keywords_are_the_lowercase_words_of_title_and_author() {
        let book = Book {
            id: 2,
            title: "The Hobbit".to_owned(),
            author: "J. R. R. Tolkien".to_owned(),
            genre: Genre::Fantasy,
        };
        let words: Vec<String> = book.keywords().into_iter().collect();
        assert_eq!(words, ["hobbit", "j", "r", "the", "tolkien"]);
    }
}
