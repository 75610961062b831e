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

    /// The first line of `text` that starts with `needle` (after its
    /// indentation), for a check made on parsed values, which have no span
    /// of their own; line 1 when none does.
    pub fn line_starting(file: &Path, text: &str, needle: &str) -> Located {
        let line = text
            .lines()
            .position(|l| l.trim_start().starts_with(needle))
            .map_or(1, |i| i + 1);
        Located {
            file: file.to_path_buf(),
            line,
            column: 1,
        }
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
        let needle = Located::line_starting(file, text, "x]");
        assert_eq!((needle.line, needle.source_line(text)), (3, "  x]"));
    }
}
