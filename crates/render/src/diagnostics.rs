//! Template errors in the form comms staff and editors understand:
//! `file:line:col: message`, the offending line, and any hints.

use std::fmt;

use typst::WorldExt;
use typst::diag::SourceDiagnostic;

use super::world::ReportWorld;

/// One or more errors from compiling or exporting a template.
#[derive(Debug, Clone)]
pub struct TemplateError {
    pub diagnostics: Vec<Diagnostic>,
}

#[derive(Debug, Clone)]
pub struct Diagnostic {
    /// Path relative to the templates folder's parent, e.g. `report-templates/report.typ`.
    pub file: Option<String>,
    pub line: usize,
    pub column: usize,
    pub message: String,
    pub source_line: Option<String>,
    pub hints: Vec<String>,
}

impl TemplateError {
    /// An error found outside the compiler (e.g. a layout that forgot a marker).
    pub fn message(message: String) -> TemplateError {
        TemplateError {
            diagnostics: vec![Diagnostic {
                file: None,
                line: 0,
                column: 0,
                message,
                source_line: None,
                hints: vec![],
            }],
        }
    }

    pub(crate) fn from_diagnostics(
        world: &ReportWorld,
        errors: &[SourceDiagnostic],
    ) -> TemplateError {
        let diagnostics = errors
            .iter()
            .map(|d| {
                let mut out = Diagnostic {
                    file: None,
                    line: 0,
                    column: 0,
                    message: d.message.to_string(),
                    source_line: None,
                    // Hints about the typst CLI's flags mean nothing to template authors here.
                    hints: d
                        .hints
                        .iter()
                        .map(|h| h.v.to_string())
                        .filter(|h| !h.contains("--root"))
                        .collect(),
                };
                // Errors raised inside the standard library point at a call
                // site in the trace; prefer the first span in a template.
                let spans = std::iter::once(d.span).chain(d.trace.iter().map(|t| t.span.into()));
                for span in spans {
                    if let Some((file, line, column, text)) = locate(world, span) {
                        out.file = Some(file);
                        out.line = line;
                        out.column = column;
                        out.source_line = Some(text);
                        break;
                    }
                }
                out
            })
            .collect();
        TemplateError { diagnostics }
    }
}

fn locate(
    world: &ReportWorld,
    span: typst::syntax::DiagSpan,
) -> Option<(String, usize, usize, String)> {
    let id = span.id()?;
    let source = world.templates.source_of(id)?;
    let range = world.range(span)?;
    let (line, column) = source.lines().byte_to_line_column(range.start)?;
    let text = source
        .lines()
        .line_to_range(line)
        .map(|r| source.text()[r].trim_end().to_string())?;
    let dir = world.templates.root().display().to_string();
    let vpath = id.get().vpath().get_without_slash().to_string();
    let file = if dir.is_empty() || dir == "." {
        vpath
    } else {
        format!("{}/{vpath}", dir.trim_end_matches('/'))
    };
    Some((file, line + 1, column + 1, text))
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            match &d.file {
                Some(file) => write!(f, "{file}:{}:{}: error: {}", d.line, d.column, d.message)?,
                None => write!(f, "error: {}", d.message)?,
            }
            if let Some(text) = &d.source_line {
                write!(
                    f,
                    "\n    {text}\n    {}^",
                    " ".repeat(d.column.saturating_sub(1))
                )?;
            }
            for hint in &d.hints {
                write!(f, "\n  hint: {hint}")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for TemplateError {}
