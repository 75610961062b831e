//! Names as a letter prints them, from the way a billing system stores them
//! (`[mapping.customers] names` and `name_case`).
//!
//! Name-parsing crates (`human_name`) were tried and set aside: they parse
//! into given name and surname and print those back, which drops the rest
//! ("GARCIA, MARIA & JOSE" came back "Maria Garcia", "ACME PLUMBING LLC"
//! "Acme Plumbing"). A letter must not lose a word of the name on record,
//! so here words are only reordered at the comma and re-cased one by one.

use super::mapping::{NameCase, NameOrder};

/// The name as the letter prints it.
pub fn printed(raw: &str, order: NameOrder, case: NameCase) -> String {
    let ordered = match order {
        NameOrder::AsIs => raw.trim().to_string(),
        NameOrder::LastFirst => last_first(raw),
    };
    match case {
        NameCase::AsIs => ordered,
        NameCase::Proper => proper(&ordered),
    }
}

/// `LAST, FIRST` as `FIRST LAST`; a suffix after a second comma
/// (`SMITH, JOHN, JR`) stays last. A name without a comma is as written.
fn last_first(raw: &str) -> String {
    let mut parts = raw.splitn(3, ',').map(str::trim);
    let last = parts.next().unwrap_or("");
    match (parts.next(), parts.next()) {
        (Some(first), suffix) if !first.is_empty() => {
            let mut out = format!("{first} {last}");
            if let Some(s) = suffix.filter(|s| !s.is_empty()) {
                out.push_str(", ");
                out.push_str(s);
            }
            out
        }
        _ => raw.trim().trim_end_matches(',').trim().to_string(),
    }
}

/// Lowercase particles of Spanish, Portuguese, French, Italian, Dutch and
/// German surnames, when not the first word.
const PARTICLES: [&str; 16] = [
    "de", "del", "la", "las", "los", "y", "e", "da", "das", "do", "dos", "di", "du", "van", "der",
    "von",
];
/// Words that stay in capitals: generational suffixes and business forms.
const CAPITALS: [&str; 10] = [
    "ii", "iii", "iv", "vi", "llc", "lp", "llp", "hoa", "pc", "usa",
];

/// Re-case a name written all in capitals or all in lowercase; a name in
/// mixed case was written by someone who knew and is left alone.
fn proper(name: &str) -> String {
    let has_upper = name.chars().any(char::is_uppercase);
    let has_lower = name.chars().any(char::is_lowercase);
    if has_upper && has_lower {
        return name.to_string();
    }
    name.split(' ')
        .filter(|w| !w.is_empty())
        .enumerate()
        .map(|(i, w)| word(&w.to_lowercase(), i == 0))
        .collect::<Vec<_>>()
        .join(" ")
}

fn word(w: &str, first: bool) -> String {
    if !first && PARTICLES.contains(&w) {
        return w.to_string();
    }
    if CAPITALS.contains(&w.trim_end_matches(['.', ','])) {
        return w.to_uppercase();
    }
    // Each part of a hyphenated or apostrophed word gets its capital
    // (Johnson-Smith, O'Brien, D'Angelo).
    let mut out = String::with_capacity(w.len());
    let mut start = true;
    for c in w.chars() {
        if start {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        start = matches!(c, '-' | '\'' | '’' | '.');
    }
    mac(&out)
}

/// Surnames starting "Mac" that are not "Mac" + a name.
const NOT_MAC: [&str; 8] = [
    "Mackle",
    "Macklin",
    "Mackie",
    "Macevicius",
    "Maciulis",
    "Macias",
    "Macon",
    "Mackey",
];

/// McDonald, MacArthur; but not Mack, Macy, Macias, Machado (the rule of
/// thumb the name-casing libraries share: "Mac" + at least three letters,
/// not ending in a, c, i, o, z or j, and a list of exceptions).
fn mac(w: &str) -> String {
    let cap_after = |n: usize| {
        let (head, rest) = w.split_at(n);
        let mut r = rest.chars();
        r.next()
            .map(|c| format!("{head}{}{}", c.to_uppercase(), r.as_str()))
            .unwrap_or_else(|| w.to_string())
    };
    if w.starts_with("Mc") && w.chars().count() > 3 {
        return cap_after(2);
    }
    let rest = w.strip_prefix("Mac").unwrap_or("");
    let ends_ok = !rest.ends_with(['a', 'c', 'i', 'o', 'z', 'j']);
    if rest.chars().count() >= 3 && ends_ok && !w.starts_with("Mach") && !NOT_MAC.contains(&w) {
        return cap_after(3);
    }
    w.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(raw: &str) -> String {
        printed(raw, NameOrder::LastFirst, NameCase::Proper)
    }

    #[test]
    fn cis_names_print_as_people_write_them() {
        assert_eq!(p("GARCIA, MARIA"), "Maria Garcia");
        assert_eq!(
            p("DE LA CRUZ WASHINGTON, MARIA"),
            "Maria de la Cruz Washington"
        );
        assert_eq!(p("MCDONALD, RONALD J"), "Ronald J McDonald");
        assert_eq!(p("MACARTHUR, DOUGLAS"), "Douglas MacArthur");
        assert_eq!(p("MACK, ANN"), "Ann Mack");
        assert_eq!(p("MACIAS, LUIS"), "Luis Macias");
        assert_eq!(p("O'BRIEN, SEAN"), "Sean O'Brien");
        assert_eq!(p("JOHNSON-SMITH, ANNE"), "Anne Johnson-Smith");
        assert_eq!(p("SMITH, JOHN, III"), "John Smith, III");
        assert_eq!(p("ÁLVAREZ, JOSÉ"), "José Álvarez");
        assert_eq!(p("VAN DER BERG, ANNA"), "Anna van der Berg");
        // Nothing of the record is dropped.
        assert_eq!(p("GARCIA, MARIA & JOSE"), "Maria & Jose Garcia");
        assert_eq!(p("ACME PLUMBING LLC"), "Acme Plumbing LLC");
        // Mixed case was written on purpose.
        assert_eq!(p("deBoer, Anna"), "Anna deBoer");
        assert_eq!(
            printed("GARCIA, MARIA", NameOrder::AsIs, NameCase::AsIs),
            "GARCIA, MARIA"
        );
    }
}
