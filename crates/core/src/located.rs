//! Where in a file something is. Every error about a file's content names
//! its place as `file:line:column` (1-based), as a compiler does, so an
//! editor can jump to it: the config's, the wording's and the letters'
//! share this one way of finding it.

use std::path::{Path, PathBuf};

/// A place in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
}

impl Located {
    /// The place of byte `offset` of `text`, the contents of `file`. The
    /// column counts bytes, as TOML's spans do.
    pub fn at(file: &Path, text: &str, offset: usize) -> Located {
        let offset = offset.min(text.len());
        let before = &text[..offset];
        Located {
            file: file.to_path_buf(),
            line: before.matches('\n').count() + 1,
            column: offset - before.rfind('\n').map_or(0, |i| i + 1) + 1,
        }
    }

    /// Where a TOML parse error points (the start of the file when it
    /// points nowhere).
    pub fn of_toml(file: &Path, text: &str, e: &toml::de::Error) -> Located {
        Located::at(file, text, e.span().map_or(0, |s| s.start))
    }

    /// Where the key at `path` (`["cohort", "min_size"]`) is written in
    /// `text`, a TOML file: the key itself, or the deepest table on its
    /// path that is written (a setting left at its default has no line of
    /// its own), or the start of the file.
    pub fn of_key(file: &Path, text: &str, path: &[String]) -> Located {
        use toml::de::{DeTable, DeValue};
        let mut offset = 0;
        if let Ok(root) = DeTable::parse(text) {
            let mut table = root.get_ref();
            for part in path {
                let Some((k, v)) = table.iter().find(|(k, _)| k.get_ref() == part) else {
                    break;
                };
                offset = k.span().start;
                match v.get_ref() {
                    DeValue::Table(t) => table = t,
                    _ => break,
                }
            }
        }
        Located::at(file, text, offset)
    }

    /// The text of the line this points at.
    pub fn source_line<'t>(&self, text: &'t str) -> &'t str {
        text.lines().nth(self.line - 1).unwrap_or("")
    }
}

impl std::fmt::Display for Located {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
    }
}

/// A message about a place in a file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{at}: {message}")]
pub struct LocatedError {
    pub at: Located,
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_become_lines_and_columns() {
        let text = "a = 1\nbb = [2,\n  x]\n";
        let file = Path::new("c.toml");
        let at = |o| {
            let l = Located::at(file, text, o);
            (l.line, l.column)
        };
        assert_eq!(at(0), (1, 1));
        assert_eq!(at(6), (2, 1));
        assert_eq!(at(text.find('x').unwrap()), (3, 3));
        assert_eq!(at(10_000), (4, 1));
        assert_eq!(Located::at(file, text, 6).to_string(), "c.toml:2:1");
        assert_eq!(Located::at(file, text, 6).source_line(text), "bb = [2,");
        let path = ["a", "b", "c"].map(String::from);
        let key = Located::of_key(file, "[a]\nb.c = 1\n", &path);
        assert_eq!((key.line, key.column), (2, 3));
    }
}
