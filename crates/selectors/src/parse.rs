//! The parser of Kubernetes' label selector string syntax.
//!
//! A user types these (`capstan get pods -l 'app=web,tier in (a,b)'`), so an
//! error names the unexpected token, its position (0-based, in characters)
//! and what was expected there, instead of "invalid selector".

use crate::label::{Operator, Requirement};
use crate::SelectorError;

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Eq,
    DoubleEq,
    NotEq,
    Bang,
    Open,
    Close,
    Comma,
    Gt,
    Lt,
    End,
}

impl Token {
    fn describe(&self) -> String {
        let text = match self {
            Token::Ident(s) => return format!("{s:?}"),
            Token::End => return "end of input".to_string(),
            Token::Eq => "=",
            Token::DoubleEq => "==",
            Token::NotEq => "!=",
            Token::Bang => "!",
            Token::Open => "(",
            Token::Close => ")",
            Token::Comma => ",",
            Token::Gt => ">",
            Token::Lt => "<",
        };
        format!("{text:?}")
    }
}

fn is_special(c: char) -> bool {
    matches!(c, '=' | '!' | '(' | ')' | ',' | '<' | '>')
}

/// Splits `input` into tokens with their character positions.
fn lex(input: &str) -> Vec<(Token, usize)> {
    let chars: Vec<char> = input.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let (token, len) = match c {
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            '=' if next == Some('=') => (Token::DoubleEq, 2),
            '=' => (Token::Eq, 1),
            '!' if next == Some('=') => (Token::NotEq, 2),
            '!' => (Token::Bang, 1),
            '(' => (Token::Open, 1),
            ')' => (Token::Close, 1),
            ',' => (Token::Comma, 1),
            '>' => (Token::Gt, 1),
            '<' => (Token::Lt, 1),
            _ => {
                let len = chars[i..].iter().take_while(|c| !c.is_whitespace() && !is_special(**c)).count();
                (Token::Ident(chars[i..i + len].iter().collect()), len)
            }
        };
        tokens.push((token, i));
        i += len;
    }
    tokens.push((Token::End, chars.len()));
    tokens
}

struct Parser<'a> {
    input: &'a str,
    tokens: Vec<(Token, usize)>,
    at: usize,
}

impl Parser<'_> {
    fn peek(&self) -> &Token {
        self.tokens.get(self.at).map(|(t, _)| t).unwrap_or(&Token::End)
    }

    fn next(&mut self) -> Token {
        let token = self.peek().clone();
        if self.at < self.tokens.len() {
            self.at += 1;
        }
        token
    }

    /// An error about the token at the cursor.
    fn unexpected(&self, expected: &str) -> SelectorError {
        let (token, position) = self.tokens.get(self.at).cloned().unwrap_or((Token::End, self.input.len()));
        SelectorError::Syntax {
            input: self.input.to_string(),
            position,
            found: token.describe(),
            expected: expected.to_string(),
        }
    }

    fn requirement(&mut self) -> Result<Requirement, SelectorError> {
        let key = match self.peek().clone() {
            Token::Bang => {
                self.next();
                let Token::Ident(key) = self.peek().clone() else {
                    return Err(self.unexpected("a label key after \"!\""));
                };
                self.next();
                return Requirement::new(&key, Operator::DoesNotExist, Vec::<String>::new());
            }
            Token::Ident(key) => key,
            _ => return Err(self.unexpected("a label key or \"!\"")),
        };
        self.next();
        let operator = match self.peek() {
            Token::Comma | Token::End => return Requirement::new(&key, Operator::Exists, Vec::<String>::new()),
            Token::Eq | Token::DoubleEq => Operator::Equals,
            Token::NotEq => Operator::NotEquals,
            Token::Gt => Operator::GreaterThan,
            Token::Lt => Operator::LessThan,
            Token::Ident(word) if word == "in" => Operator::In,
            Token::Ident(word) if word == "notin" => Operator::NotIn,
            _ => return Err(self.unexpected("an operator (=, ==, !=, in, notin), \",\" or end of input")),
        };
        let op_text = self.next().describe();
        let values = match operator {
            Operator::In | Operator::NotIn => self.set(&op_text)?,
            _ => vec![self.single_value(&op_text)?],
        };
        Requirement::new(&key, operator, values)
    }

    /// The value after `=`, `!=`, `>` or `<`; empty when none follows.
    fn single_value(&mut self, op_text: &str) -> Result<String, SelectorError> {
        match self.peek().clone() {
            Token::Ident(value) => {
                self.next();
                Ok(value)
            }
            Token::Comma | Token::End => Ok(String::new()),
            _ => Err(self.unexpected(&format!("a value after {op_text}"))),
        }
    }

    /// `(a, b, c)` after `in` or `notin`.
    fn set(&mut self, op_text: &str) -> Result<Vec<String>, SelectorError> {
        if self.peek() != &Token::Open {
            return Err(self.unexpected(&format!("\"(\" after {op_text}")));
        }
        self.next();
        let mut values = Vec::new();
        let mut want_value = true;
        loop {
            match self.peek().clone() {
                Token::Ident(value) if want_value => {
                    self.next();
                    values.push(value);
                    want_value = false;
                }
                Token::Comma => {
                    self.next();
                    if want_value {
                        values.push(String::new());
                    }
                    want_value = true;
                }
                Token::Close => {
                    self.next();
                    if want_value && !values.is_empty() {
                        values.push(String::new());
                    }
                    return Ok(values);
                }
                _ if want_value => return Err(self.unexpected("a value, \",\" or \")\"")),
                _ => return Err(self.unexpected("\",\" or \")\"")),
            }
        }
    }
}

/// Parses a whole selector into its requirements (unsorted).
pub(crate) fn parse(input: &str) -> Result<Vec<Requirement>, SelectorError> {
    let mut parser = Parser { input, tokens: lex(input), at: 0 };
    let mut requirements = Vec::new();
    if parser.peek() == &Token::End {
        return Ok(requirements);
    }
    loop {
        requirements.push(parser.requirement()?);
        match parser.peek() {
            Token::End => return Ok(requirements),
            Token::Comma => {
                parser.next();
            }
            _ => return Err(parser.unexpected("\",\" or end of input")),
        }
    }
}
