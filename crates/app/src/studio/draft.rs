//! Drafts: wording and tip-rule edits held in memory, applied to the files'
//! text with `toml_edit` (comments, order and layout kept, so a saved file's
//! diff is the sentence changed and nothing else), and checked exactly as a
//! run checks the files before anything is written.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use toml_edit::{DocumentMut, Item, Table, Value};

use crate::model::Language;
use crate::target::letter::CampaignWording;
use crate::wording::{PLACEHOLDERS, Problem, Sources, TipRule, Wording, placeholders};

/// One sentence as edited in the form.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Edit {
    /// `en` or `es`.
    pub lang: String,
    /// Dotted key, e.g. `comparison.good.body`.
    pub key: String,
    pub value: String,
}

/// A problem shown beside the field it belongs to (or above the form).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FieldProblem {
    pub lang: Option<String>,
    pub key: Option<String>,
    /// `file:line:col: error: message`, as `check` prints it.
    pub message: String,
}

/// A short fingerprint of a file's content: the form remembers it, and a save
/// is refused when the file on disk no longer has it.
pub fn fingerprint(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// Set dotted keys of a TOML document to new strings. Existing values keep
/// their surrounding whitespace and comments; a key missing from the file
/// (a sentence not yet translated) is added to its table.
pub fn edit_toml(source: &str, edits: &[(&str, &str)]) -> anyhow::Result<String> {
    let mut doc: DocumentMut = source.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
    for (key, text) in edits {
        let parts: Vec<&str> = key.split('.').collect();
        let (last, tables) = parts
            .split_last()
            .ok_or_else(|| anyhow::anyhow!("empty key"))?;
        let mut table: &mut Table = doc.as_table_mut();
        for part in tables {
            let item = table.entry(part).or_insert_with(|| {
                let mut t = Table::new();
                t.set_implicit(true);
                Item::Table(t)
            });
            table = item
                .as_table_mut()
                .ok_or_else(|| anyhow::anyhow!("`{key}`: `{part}` is not a table"))?;
        }
        // `body[1]`: one paragraph of a list of paragraphs.
        if let Some((name, index)) = list_item(last) {
            let list = table
                .get_mut(name)
                .and_then(Item::as_array_mut)
                .ok_or_else(|| anyhow::anyhow!("`{key}`: `{name}` is not a list"))?;
            let value = list
                .get_mut(index)
                .filter(|v| v.is_str())
                .ok_or_else(|| anyhow::anyhow!("`{key}`: no such paragraph"))?;
            let decor = value.decor().clone();
            *value = Value::from(*text);
            *value.decor_mut() = decor;
            continue;
        }
        match table.get_mut(last).and_then(Item::as_value_mut) {
            Some(value) => {
                if !value.is_str() {
                    return Err(anyhow::anyhow!("`{key}` is not a sentence"));
                }
                let decor = value.decor().clone();
                *value = Value::from(*text);
                *value.decor_mut() = decor;
            }
            None => {
                table.insert(last, toml_edit::value(*text));
            }
        }
    }
    Ok(doc.to_string())
}

/// `name[3]` as (`name`, 3).
fn list_item(part: &str) -> Option<(&str, usize)> {
    let (name, rest) = part.split_once('[')?;
    Some((name, rest.strip_suffix(']')?.parse().ok()?))
}

/// The wording files and tip rules as on disk with `edits` applied.
pub fn apply(dir: &Path, edits: &[Edit]) -> Result<Sources, Vec<FieldProblem>> {
    let mut sources =
        Sources::read(dir).map_err(|p| p.iter().map(from_problem).collect::<Vec<_>>())?;
    let problems = edit_texts(&mut sources.texts, edits);
    if problems.is_empty() {
        Ok(sources)
    } else {
        Err(problems)
    }
}

/// Apply each language's edits to its file's text.
fn edit_texts(texts: &mut BTreeMap<Language, String>, edits: &[Edit]) -> Vec<FieldProblem> {
    let mut problems = Vec::new();
    for lang in Language::ALL {
        let mine: Vec<(&str, &str)> = edits
            .iter()
            .filter(|e| e.lang == lang.code())
            .map(|e| (e.key.as_str(), e.value.as_str()))
            .collect();
        if mine.is_empty() {
            continue;
        }
        let text = texts.get(&lang).cloned().unwrap_or_default();
        match edit_toml(&text, &mine) {
            Ok(edited) => {
                texts.insert(lang, edited);
            }
            Err(e) => problems.push(FieldProblem {
                lang: Some(lang.code().into()),
                key: None,
                message: format!("{e:#}"),
            }),
        }
    }
    for e in edits {
        if !Language::ALL.iter().any(|l| l.code() == e.lang) {
            problems.push(FieldProblem {
                lang: None,
                key: Some(e.key.clone()),
                message: format!("unknown language {:?}", e.lang),
            });
        }
    }
    problems
}

/// Each edited sentence on its own: known placeholders, not empty.
fn edit_problems(edits: &[Edit], known: &[&str]) -> Vec<FieldProblem> {
    let mut problems = Vec::new();
    for e in edits {
        for name in placeholders(&e.value) {
            if !known.contains(&name) {
                problems.push(FieldProblem {
                    lang: Some(e.lang.clone()),
                    key: Some(e.key.clone()),
                    message: format!("unknown placeholder {{{name}}}"),
                });
            }
        }
        if e.value.trim().is_empty() {
            problems.push(FieldProblem {
                lang: Some(e.lang.clone()),
                key: Some(e.key.clone()),
                message: "this sentence is empty".into(),
            });
        }
    }
    problems
}

/// File problems placed beside their fields: the key defined on that line.
fn place(
    found: &[Problem],
    file: impl Fn(Language) -> std::path::PathBuf,
    texts: &BTreeMap<Language, String>,
    problems: &mut Vec<FieldProblem>,
) {
    for p in found {
        let mut fp = from_problem(p);
        for lang in Language::ALL {
            if p.file == file(lang) {
                fp.lang = Some(lang.code().into());
                fp.key = texts.get(&lang).and_then(|t| key_at_line(t, p.line));
            }
        }
        if !problems.contains(&fp) {
            problems.push(fp);
        }
    }
}

/// Check edited sources: each edited sentence on its own (placeholders, not
/// empty), then the whole wording as `check` does (keys in every language,
/// tip texts), each problem placed beside its field where it has one.
pub fn check(dir: &Path, sources: &Sources, edits: &[Edit]) -> Result<Wording, Vec<FieldProblem>> {
    let known: Vec<&str> = PLACEHOLDERS.iter().map(|(k, _)| *k).collect();
    let mut problems = edit_problems(edits, &known);
    match Wording::parse(dir, sources) {
        Ok(w) if problems.is_empty() => Ok(w),
        Ok(_) => Err(problems),
        Err(found) => {
            place(
                &found,
                |lang| Sources::wording_file(dir, lang),
                &sources.texts,
                &mut problems,
            );
            Err(problems)
        }
    }
}

/// A campaign's wording files (in `folder`) with `edits` applied and checked
/// as `check` checks them.
pub fn campaign(
    folder: &Path,
    edits: &[Edit],
) -> Result<(BTreeMap<Language, String>, CampaignWording), Vec<FieldProblem>> {
    let mut texts = BTreeMap::new();
    for lang in Language::ALL {
        let file = CampaignWording::file(folder, lang);
        match std::fs::read_to_string(&file) {
            Ok(t) => {
                texts.insert(lang, t);
            }
            Err(e) => {
                return Err(vec![FieldProblem {
                    lang: Some(lang.code().into()),
                    key: None,
                    message: format!("cannot read {}: {e}", file.display()),
                }]);
            }
        }
    }
    let mut problems = edit_texts(&mut texts, edits);
    if !problems.is_empty() {
        return Err(problems);
    }
    problems = edit_problems(edits, &crate::target::letter::PLACEHOLDERS);
    match CampaignWording::parse(folder, &texts) {
        Ok(w) if problems.is_empty() => Ok((texts, w)),
        Ok(_) => Err(problems),
        Err(found) => {
            place(
                &found,
                |lang| CampaignWording::file(folder, lang),
                &texts,
                &mut problems,
            );
            Err(problems)
        }
    }
}

fn from_problem(p: &Problem) -> FieldProblem {
    FieldProblem {
        lang: None,
        key: None,
        message: p.to_string(),
    }
}

/// The dotted key defined on a line of a TOML file (1-based), if any.
fn key_at_line(source: &str, line: usize) -> Option<String> {
    let mut table = String::new();
    for (i, l) in source.lines().enumerate() {
        let t = l.trim();
        if t.starts_with('[') {
            table = t.trim_matches(|c| c == '[' || c == ']').trim().to_string();
        } else if i + 1 == line {
            let key = t.split('=').next()?.trim().trim_matches('"');
            if key.is_empty() || key.starts_with('#') {
                return None;
            }
            return Some(if table.is_empty() {
                key.to_string()
            } else {
                format!("{table}.{key}")
            });
        }
    }
    None
}

/// Every sentence of a language's file, by dotted key; a list's items as `key[i]`.
pub fn sentences(source: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if let Ok(table) = toml::from_str::<toml::Table>(source) {
        // Paragraphs in a list: each one is a sentence of its own, `body[1]`.
        crate::wording::walk_strings(&table, "", &mut |key, index, s| {
            let key = match index {
                Some(i) => format!("{key}[{i}]"),
                None => key.to_string(),
            };
            out.insert(key, s.to_string());
        });
    }
    out
}

/// A tip rule's conditions as the lines of its `[[tip]]` entry, `id` left out.
pub fn tip_conditions(tips_source: &str, id: &str) -> Option<String> {
    let doc: DocumentMut = tips_source.parse().ok()?;
    let rule = doc
        .get("tip")?
        .as_array_of_tables()?
        .iter()
        .find(|t| t.get("id").and_then(Item::as_str) == Some(id))?;
    Some(
        rule.iter()
            .filter(|(k, _)| *k != "id")
            .map(|(k, v)| format!("{k} = {}", v.to_string().trim()))
            .collect::<Vec<_>>()
            .join("\n"),
    )
}

/// Replace the conditions of tip `id` with `conditions` (TOML key/value
/// lines): checked as a rule first, then written into the rule's own entry,
/// the other entries and every comment untouched.
pub fn edit_tip(tips_source: &str, id: &str, conditions: &str) -> anyhow::Result<String> {
    let parsed: toml::Table =
        toml::from_str(conditions).map_err(|e| anyhow::anyhow!("conditions: {}", e.message()))?;
    if parsed.contains_key("id") {
        anyhow::bail!("conditions: the id names the tip's text and cannot change here");
    }
    let mut with_id = parsed.clone();
    with_id.insert("id".into(), toml::Value::String(id.into()));
    toml::Value::Table(with_id)
        .try_into::<TipRule>()
        .map_err(|e| anyhow::anyhow!("conditions: {}", e.message()))?;
    let new_items: DocumentMut = conditions
        .parse()
        .map_err(|e| anyhow::anyhow!("conditions: {e}"))?;
    let mut doc: DocumentMut = tips_source
        .parse()
        .map_err(|e| anyhow::anyhow!("tips.toml: {e}"))?;
    let rule = doc
        .get_mut("tip")
        .and_then(Item::as_array_of_tables_mut)
        .and_then(|a| {
            a.iter_mut()
                .find(|t| t.get("id").and_then(Item::as_str) == Some(id))
        })
        .ok_or_else(|| anyhow::anyhow!("no tip rule with id {id:?}"))?;
    // Keys left out are removed; changed values are replaced in place (the
    // comment above a key stays with it); new keys go at the end.
    let gone: Vec<String> = rule
        .iter()
        .map(|(k, _)| k.to_string())
        .filter(|k| k != "id" && !new_items.contains_key(k))
        .collect();
    for k in gone {
        rule.remove(&k);
    }
    for (k, v) in new_items.iter() {
        match rule.get_mut(k).and_then(Item::as_value_mut) {
            Some(old) => {
                let new = v
                    .as_value()
                    .cloned()
                    .ok_or_else(|| anyhow::anyhow!("conditions: values only"))?;
                if old.to_string().trim() != new.to_string().trim() {
                    let decor = old.decor().clone();
                    *old = new;
                    *old.decor_mut() = decor;
                }
            }
            None => {
                rule.insert(k, v.clone());
            }
        }
    }
    Ok(doc.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_edit_changes_one_line_and_keeps_comments() {
        let src = "# top\n[a]\n# about b\nb = \"old\" # trailing\nc = \"keep\"\n";
        let out = edit_toml(src, &[("a.b", "new \"quoted\"")]).unwrap();
        assert_eq!(
            out,
            // Quotes inside become a literal string: still TOML, still readable.
            "# top\n[a]\n# about b\nb = 'new \"quoted\"' # trailing\nc = \"keep\"\n"
        );
    }

    #[test]
    fn a_paragraph_of_a_list_is_edited_in_place() {
        let src = "body = [\n  \"one\",\n  \"two\",\n]\n";
        let out = edit_toml(src, &[("body[1]", "deux")]).unwrap();
        assert_eq!(out, "body = [\n  \"one\",\n  \"deux\",\n]\n");
        assert_eq!(sentences(&out)["body[1]"], "deux");
        assert!(edit_toml(src, &[("body[2]", "x")]).is_err());
    }

    #[test]
    fn a_missing_key_is_added_to_its_table() {
        let src = "[a]\nb = \"x\"\n";
        let out = edit_toml(src, &[("a.c", "y")]).unwrap();
        assert_eq!(
            toml::from_str::<toml::Table>(&out).unwrap()["a"]["c"].as_str(),
            Some("y")
        );
        assert!(out.starts_with("[a]\nb = \"x\"\n"));
    }

    #[test]
    fn keys_are_found_by_line() {
        let src = "title = \"t\"\n[x.y]\n# c\nz = \"v\"\n";
        assert_eq!(key_at_line(src, 1).as_deref(), Some("title"));
        assert_eq!(key_at_line(src, 4).as_deref(), Some("x.y.z"));
        assert_eq!(key_at_line(src, 3), None);
    }

    #[test]
    fn a_tip_rule_is_rewritten_in_place() {
        let src =
            "# rules\n\n[[tip]]\nid = \"a\"\npriority = 5\n\n[[tip]]\nid = \"b\"\nmonths = [1]\n";
        assert_eq!(tip_conditions(src, "b").unwrap(), "months = [1]");
        let out = edit_tip(src, "b", "months = [1, 2]\npriority = 3").unwrap();
        assert!(
            out.starts_with("# rules\n\n[[tip]]\nid = \"a\"\npriority = 5\n"),
            "{out}"
        );
        assert_eq!(
            tip_conditions(&out, "b").unwrap(),
            "months = [1, 2]\npriority = 3"
        );
        assert!(edit_tip(src, "b", "colour = \"red\"").is_err());
        assert!(edit_tip(src, "b", "id = \"c\"").is_err());
    }
}
