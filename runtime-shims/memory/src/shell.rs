//! Just enough of a shell to read the command lines tests give containers.
//!
//! The in-memory runtime runs no processes, so it reads a container's command line
//! (`sh -c 'echo ready; sleep 2; exit 3'`) to decide what the container "does". This
//! module splits a script into statements and each statement into words, honouring
//! single and double quotes and backslashes; it expands nothing.

/// One statement: its words, and whether it ended with `&` (runs in the background).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    pub words: Vec<String>,
    pub background: bool,
}

/// Splits `script` on `;`, `&&`, `||`, `&` and newlines into statements of words.
pub fn statements(script: &str) -> Vec<Statement> {
    let mut out = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = script.chars().peekable();
    let mut end = |words: &mut Vec<String>, word: &mut Option<String>, background: bool| {
        words.extend(word.take());
        if !words.is_empty() {
            out.push(Statement { words: std::mem::take(words), background });
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                w.extend(chars.by_ref().take_while(|&c| c != '\''));
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => w.extend(chars.next()),
                        c => w.push(c),
                    }
                }
            }
            '\\' => word.get_or_insert_with(String::new).extend(chars.next()),
            ';' | '\n' => end(&mut words, &mut word, false),
            '&' if word.as_deref().is_some_and(|w| w.ends_with('>')) => word.get_or_insert_with(String::new).push('&'),
            '&' if chars.peek() == Some(&'&') => {
                chars.next();
                end(&mut words, &mut word, false);
            }
            '&' => end(&mut words, &mut word, true),
            '|' if chars.peek() == Some(&'|') => {
                chars.next();
                end(&mut words, &mut word, false);
            }
            c if c.is_whitespace() => words.extend(word.take()),
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    end(&mut words, &mut word, false);
    out
}

/// The program's name without its directory: `/bin/sleep` is `sleep`.
pub fn program(words: &[String]) -> &str {
    words.first().map(|w| w.rsplit('/').next().unwrap_or(w)).unwrap_or_default()
}

/// Where a statement's standard output goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Stdout,
    Stderr,
    File,
}

/// The statement's arguments without output redirections, and where its output goes
/// (`>&2` to stderr, `> file` to a file).
pub fn redirect(words: &[String]) -> (Vec<&str>, Target) {
    let mut target = Target::Stdout;
    let mut args = Vec::new();
    let mut iter = words.iter().skip(1).map(String::as_str);
    while let Some(word) = iter.next() {
        match word {
            ">&2" | "1>&2" => target = Target::Stderr,
            ">" | ">>" | "1>" => {
                iter.next();
                target = Target::File;
            }
            w if w.starts_with('>') || w.starts_with("1>") => target = Target::File,
            w => args.push(w),
        }
    }
    (args, target)
}

/// The script of `sh -c SCRIPT` (or `bash`/`ash`), if `argv` is one.
pub fn shell_script(argv: &[String]) -> Option<&str> {
    match (program(argv), argv.get(1).map(String::as_str), argv.get(2)) {
        ("sh" | "bash" | "ash", Some("-c"), Some(script)) => Some(script),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &Statement) -> Vec<&str> {
        s.words.iter().map(String::as_str).collect()
    }

    #[test]
    fn splits_statements_and_honours_quotes() {
        let parsed = statements(r#"trap "exit 0" TERM; echo 'a  b' && sleep 1 & wait $!"#);
        assert_eq!(parsed.len(), 4);
        assert_eq!(words(&parsed[0]), ["trap", "exit 0", "TERM"]);
        assert_eq!(words(&parsed[1]), ["echo", "a  b"]);
        assert_eq!(words(&parsed[2]), ["sleep", "1"]);
        assert!(parsed[2].background);
        assert_eq!(words(&parsed[3]), ["wait", "$!"]);
    }

    #[test]
    fn empty_quotes_are_a_word() {
        let parsed = statements("trap '' TERM\nexit 3");
        assert_eq!(words(&parsed[0]), ["trap", "", "TERM"]);
        assert_eq!(words(&parsed[1]), ["exit", "3"]);
    }

    #[test]
    fn reads_redirections() {
        let words = |s: &str| statements(s).remove(0).words;
        assert_eq!(redirect(&words("echo oops >&2")), (vec!["oops"], Target::Stderr));
        assert_eq!(redirect(&words("echo hi > /www/index.html")), (vec!["hi"], Target::File));
        assert_eq!(redirect(&words("echo a b")), (vec!["a", "b"], Target::Stdout));
    }

    #[test]
    fn finds_the_program_and_the_script() {
        let argv: Vec<String> = ["/bin/sh", "-c", "exit 3"].map(String::from).into();
        assert_eq!(program(&argv), "sh");
        assert_eq!(shell_script(&argv), Some("exit 3"));
        assert_eq!(shell_script(&argv[2..]), None);
    }
}
