//! Stanzas: the top-level items of a config file, each parsed on its own so
//! that one bad object does not hide the others and every object knows the
//! line it starts on.
//!
//! serde_yaml keeps no positions once a document is a `Value`, so we find the
//! items in the text instead: in a block list, an item starts on a line whose
//! indentation is that of the list's first `-` and which begins with `- `.
//! Everything nested (mappings, block scalars, continuation lines) is indented
//! further, so such lines are exactly the item starts. We then parse each
//! item's lines as a one-item list and shift serde_yaml's line numbers by the
//! item's start. Only when an item is not YAML on its own (a syntax error, an
//! alias to another item's anchor), the file uses merge keys, or it breaks
//! lines where `str::lines` does not (lone CR, NEL, LS, PS) do we parse the
//! whole file first, so a syntax error is reported for the file as a whole.
//! When the text is not a plain block list (flow style, odd indentation, or a
//! count that does not match what serde_yaml parsed), we parse the whole file
//! at once: errors still carry lines, but objects then all claim line 1.

use serde::de::DeserializeOwned;

use crate::ConfigError;

/// One parsed top-level item and the 1-based line it starts on.
pub struct Located<T> {
    /// Line of the item's `-`.
    pub line: usize,
    /// The item.
    pub item: T,
}

/// Parses `text` as a YAML list of `T`. The outer error is a problem with the
/// file as a whole (syntax, not a list); the inner ones belong to single items.
pub fn parse_list<T: DeserializeOwned>(
    file: &str,
    text: &str,
) -> Result<Vec<Result<Located<T>, ConfigError>>, ConfigError> {
    match parse_items_alone(file, text) {
        Some(items) => Ok(items),
        None => parse_whole_first(file, text),
    }
}

/// For the fuzzers: panics when reading the items alone gives another answer
/// (items, lines or errors) than reading the whole file first.
pub(crate) fn assert_items_alone_read_as_the_whole(text: &str) {
    type Read = Result<Vec<Result<Located<serde_yaml::Value>, ConfigError>>, ConfigError>;
    let Some(alone) = parse_items_alone("f.yaml", text) else {
        return;
    };
    let whole: Read = parse_whole_first("f.yaml", text);
    // Debug text, as a `.nan` is not equal to itself.
    let shown = |read: &Read| match read {
        Ok(items) => format!("{:?}", items.iter().map(shown_item).collect::<Vec<_>>()),
        Err(e) => format!("file error {}: {}", e.line, e.message),
    };
    assert_eq!(shown(&Ok(alone)), shown(&whole), "for {text:?}");
}

fn shown_item(item: &Result<Located<serde_yaml::Value>, ConfigError>) -> String {
    match item {
        Ok(located) => format!("{}: {:?}", located.line, located.item),
        Err(e) => format!("error {}: {}", e.line, e.message),
    }
}

/// Parses the whole file, then each item from its lines where that is possible.
fn parse_whole_first<T: DeserializeOwned>(
    file: &str,
    text: &str,
) -> Result<Vec<Result<Located<T>, ConfigError>>, ConfigError> {
    let doc: serde_yaml::Value =
        serde_yaml::from_str(text).map_err(|e| ConfigError::from_yaml(file, &e))?;
    let items = match doc {
        serde_yaml::Value::Null => return Ok(Vec::new()),
        serde_yaml::Value::Sequence(items) => items,
        _ => {
            let line = first_content_line(text).map_or(1, |(i, _)| i + 1);
            return Err(ConfigError::in_file(file, line, "expected a list of items"));
        }
    };
    match item_starts(text).filter(|starts| starts.len() == items.len()) {
        Some(starts) => Ok(parse_each(file, text, &starts, items)),
        None => parse_whole(file, text),
    }
}

/// The common case read in one pass: each item parsed from its own lines,
/// without first parsing the whole file. `None` when that cannot stand for the
/// whole file (not a plain block list, merge keys, line breaks other than LF
/// and CRLF, or an item that is not YAML alone), so the caller parses the
/// whole file and reports as it does.
fn parse_items_alone<T: DeserializeOwned>(
    file: &str,
    text: &str,
) -> Option<Vec<Result<Located<T>, ConfigError>>> {
    if text.contains("<<") || has_other_line_breaks(text) {
        return None;
    }
    let starts = item_starts(text)?;
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::with_capacity(starts.len());
    for (i, &start) in starts.iter().enumerate() {
        let (from, slice) = item_lines(&lines, &starts, i);
        let item = parse_item(file, &slice, from)?;
        out.push(item.map(|item| Located {
            line: start + 1,
            item,
        }));
    }
    Some(out)
}

fn parse_each<T: DeserializeOwned>(
    file: &str,
    text: &str,
    starts: &[usize],
    items: Vec<serde_yaml::Value>,
) -> Vec<Result<Located<T>, ConfigError>> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, value) in items.into_iter().enumerate() {
        let (from, slice) = item_lines(&lines, starts, i);
        let line = starts[i] + 1;
        // YAML merge keys (`<<: *anchor`), which Zuul's loader applies but
        // serde_yaml leaves as a plain `<<` key unless asked.
        if slice.contains("<<") {
            out.push(merged(file, line, value).map(|item| Located { line, item }));
            continue;
        }
        let parsed = parse_item(file, &slice, from).unwrap_or_else(|| {
            // The slice alone is not YAML (an alias to an anchor in another
            // item): read the item from the whole document, at its start line.
            serde_yaml::from_value::<T>(value)
                .map_err(|e| ConfigError::in_file(file, line, item_error(file, &e).message))
        });
        out.push(parsed.map(|item| Located { line, item }));
    }
    out
}

/// True when `text` breaks lines where YAML does but `str::lines` does not:
/// a lone CR, NEL, LS or PS.
fn has_other_line_breaks(text: &str) -> bool {
    text.contains(['\u{85}', '\u{2028}', '\u{2029}'])
        || text.split('\r').skip(1).any(|rest| !rest.starts_with('\n'))
}

/// The lines of item `i`, up to the next item's, and the file's 0-based line
/// they start at. The first item takes the lines above it too (comments,
/// markers, directives), so that every line of the file is read.
fn item_lines(lines: &[&str], starts: &[usize], i: usize) -> (usize, String) {
    let from = if i == 0 { 0 } else { starts[i] };
    let end = starts.get(i + 1).copied().unwrap_or(lines.len());
    (from, lines[from..end].join("\n"))
}

/// One item parsed from its lines, which start at the file's 0-based line
/// `start`; `None` when those lines are not YAML on their own.
fn parse_item<T: DeserializeOwned>(
    file: &str,
    slice: &str,
    start: usize,
) -> Option<Result<T, ConfigError>> {
    match serde_yaml::from_str::<Vec<T>>(slice) {
        Ok(mut one) if one.len() == 1 => Some(Ok(one.remove(0))),
        Ok(_) => Some(Err(ConfigError::in_file(
            file,
            start + 1,
            "expected one item",
        ))),
        Err(e) if serde_yaml::from_str::<serde_yaml::Value>(slice).is_ok() => {
            Some(Err(item_error(file, &e).shifted(start)))
        }
        Err(_) => None,
    }
}

/// An item read from the whole document's value with merge keys applied; its
/// errors are placed at the item's start, as serde_yaml keeps no positions in a value.
fn merged<T: DeserializeOwned>(
    file: &str,
    line: usize,
    mut value: serde_yaml::Value,
) -> Result<T, ConfigError> {
    let at = |message: String| ConfigError::in_file(file, line, message);
    value
        .apply_merge()
        .map_err(|e| at(item_error(file, &e).message))?;
    serde_yaml::from_value::<T>(value).map_err(|e| at(item_error(file, &e).message))
}

fn parse_whole<T: DeserializeOwned>(
    file: &str,
    text: &str,
) -> Result<Vec<Result<Located<T>, ConfigError>>, ConfigError> {
    let items: Vec<T> = serde_yaml::from_str(text).map_err(|e| ConfigError::from_yaml(file, &e))?;
    Ok(items
        .into_iter()
        .map(|item| Ok(Located { line: 1, item }))
        .collect())
}

/// A serde_yaml error inside a one-item list, without the `[0].` path prefix.
fn item_error(file: &str, err: &serde_yaml::Error) -> ConfigError {
    let mut error = ConfigError::from_yaml(file, err);
    let message = error.message.strip_prefix('.').unwrap_or(&error.message);
    if let Some(rest) = message.strip_prefix("[0]") {
        let rest = rest.strip_prefix('.').unwrap_or(rest);
        error.message = rest.strip_prefix(": ").unwrap_or(rest).to_string();
    }
    error
}

/// 0-based indexes of the lines where top-level block list items start, or
/// `None` when the text is not laid out as a plain block list.
fn item_starts(text: &str) -> Option<Vec<usize>> {
    let (_, first) = first_content_line(text)?;
    let indent = indent_of(first);
    let mut starts = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if is_blank(line) || (starts.is_empty() && is_document_marker(line)) {
            continue;
        }
        let here = indent_of(line);
        if here > indent {
            continue;
        }
        let rest = &line[here..];
        if here < indent || !(rest == "-" || rest.starts_with("- ")) {
            return None;
        }
        starts.push(i);
    }
    Some(starts)
}

fn first_content_line(text: &str) -> Option<(usize, &str)> {
    text.lines()
        .enumerate()
        .find(|(_, l)| !is_blank(l) && !is_document_marker(l))
}

fn is_blank(line: &str) -> bool {
    let t = line.trim_start();
    t.is_empty() || t.starts_with('#')
}

fn is_document_marker(line: &str) -> bool {
    line.starts_with("---") || line.starts_with("%")
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_starts_are_the_lines_of_the_outer_dashes() {
        let text = "# header\n---\n- job:\n    name: a\n    run: |\n      - not an item\n\n- job:\n    name: b\n";
        assert_eq!(item_starts(text), Some(vec![2, 7]));
    }

    #[test]
    fn a_flow_list_is_not_split() {
        assert_eq!(item_starts("[{job: {name: a}}]\n"), None);
    }

    #[test]
    fn an_empty_file_has_no_items() {
        let items = parse_list::<serde_yaml::Value>("f.yaml", "# nothing\n").unwrap();
        assert!(items.is_empty());
    }

    #[test]
    fn a_mapping_at_the_top_is_an_error_on_its_line() {
        let err = parse_list::<serde_yaml::Value>("f.yaml", "\n\njob: {}\n")
            .err()
            .unwrap();
        assert_eq!(
            (err.line, err.message.as_str()),
            (3, "expected a list of items")
        );
    }

    #[test]
    fn merge_keys_merge_as_in_zuuls_loader() {
        let text = "- {vars: &a {x: 1, y: 2}}\n- vars:\n    <<: *a\n    y: 3\n";
        let items = parse_list::<serde_yaml::Value>("f.yaml", text).unwrap();
        let second = items[1].as_ref().unwrap();
        assert_eq!(second.line, 2);
        let want: serde_yaml::Value = serde_yaml::from_str("{vars: {x: 1, y: 3}}").unwrap();
        assert_eq!(second.item, want);
    }

    #[test]
    fn an_alias_to_another_item_still_parses() {
        let text = "- &a {x: 1}\n- *a\n";
        let items = parse_list::<serde_yaml::Value>("f.yaml", text).unwrap();
        let second = items[1].as_ref().unwrap();
        assert_eq!(second.line, 2);
        assert_eq!(second.item["x"], serde_yaml::Value::from(1));
    }

    #[test]
    fn a_syntax_error_in_one_item_is_an_error_for_the_file_at_its_line() {
        let text = "- job:\n    name: a\n- job:\n    name: [b\n";
        let err = parse_list::<serde_yaml::Value>("f.yaml", text)
            .err()
            .unwrap();
        assert_eq!((err.file.as_str(), err.line), ("f.yaml", 5));
    }

    #[test]
    fn a_wrong_type_in_one_item_is_that_items_error_and_the_others_parse() {
        #[derive(serde::Deserialize)]
        struct Named {
            name: String,
        }
        let text = "- name: a\n# between\n- name: [1, 2]\n- name: c\n";
        let items = parse_list::<Named>("f.yaml", text).unwrap();
        let read: Vec<Result<(usize, &str), usize>> = items
            .iter()
            .map(|i| match i {
                Ok(i) => Ok((i.line, i.item.name.as_str())),
                Err(e) => Err(e.line),
            })
            .collect();
        assert_eq!(read, vec![Ok((1, "a")), Err(3), Ok((4, "c"))]);
    }

    #[test]
    fn a_bad_directive_before_the_items_is_an_error_for_the_file() {
        let text = "% job: {name: unit}\n- project:\n    check: {jobs: [unit]}\n";
        assert!(parse_list::<serde_yaml::Value>("f.yaml", text).is_err());
    }

    #[test]
    fn a_bad_character_above_the_items_is_an_error_for_the_file() {
        let text = "# demo\u{7f}\n- project:\n    check: {jobs: [unit]}\n";
        assert!(parse_list::<serde_yaml::Value>("f.yaml", text).is_err());
    }

    #[test]
    fn items_under_a_header_and_marker_keep_their_lines() {
        let text = "# header\n---\n- a: 1\n# between\n- b: [2\n    , 3]\n";
        let items = parse_list::<serde_yaml::Value>("f.yaml", text).unwrap();
        let lines: Vec<usize> = items.iter().map(|i| i.as_ref().unwrap().line).collect();
        assert_eq!(lines, vec![3, 5]);
    }

    #[test]
    fn a_lone_carriage_return_breaks_a_line_as_in_yaml() {
        let text = "- a: 1\n  \r- b: 2\n";
        let items = parse_list::<serde_yaml::Value>("f.yaml", text).unwrap();
        assert_eq!(items.len(), 2);
    }
}
