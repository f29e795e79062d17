//! Questions asked at the terminal: lines as typed, passwords without echo, yes or no.

use std::io::{BufRead, IsTerminal, Write};

use super::Failure::{self, Refused};

/// The terminal the command runs at.
pub struct Terminal {
    input: std::io::StdinLock<'static>,
}

impl Terminal {
    /// # Errors
    /// When standard input is not a terminal (a script should pass `--no-input`).
    pub fn open() -> Result<Self, String> {
        let stdin = std::io::stdin();
        if !stdin.is_terminal() {
            return Err("this command asks questions, but standard input is not a terminal".into());
        }
        Ok(Self {
            input: stdin.lock(),
        })
    }

    pub fn say(&mut self, line: &str) {
        let _ = writeln!(std::io::stderr(), "{line}");
    }

    /// A line as typed, trimmed; asked again while empty.
    pub fn line(&mut self, question: &str) -> Result<String, Failure> {
        loop {
            let mut out = std::io::stdout().lock();
            let _ = write!(out, "{question}");
            let _ = out.flush();
            drop(out);
            let mut answer = String::new();
            match self.input.read_line(&mut answer) {
                Ok(0) => return Err(Refused("cancelled: no answer".to_string())),
                Ok(_) => {}
                Err(e) => return Err(Refused(format!("error reading the answer: {e}"))),
            }
            let answer = answer.trim();
            if answer.is_empty() {
                self.say("Error: This field cannot be blank.");
            } else {
                return Ok(answer.to_string());
            }
        }
    }

    /// A password, not echoed; asked again while empty.
    pub fn password(&mut self, question: &str) -> Result<String, Failure> {
        loop {
            let answer = rpassword::prompt_password(question)
                .map_err(|e| Refused(format!("error reading the password: {e}")))?;
            if answer.is_empty() {
                self.say("Error: Blank passwords aren't allowed.");
            } else {
                return Ok(answer);
            }
        }
    }

    /// Whether the answer is yes (`y` or `yes`); anything else is no.
    pub fn yes(&mut self, question: &str) -> Result<bool, Failure> {
        let mut out = std::io::stdout().lock();
        let _ = write!(out, "{question}");
        let _ = out.flush();
        drop(out);
        let mut answer = String::new();
        self.input
            .read_line(&mut answer)
            .map_err(|e| Refused(format!("error reading the answer: {e}")))?;
        Ok(matches!(answer.trim().to_lowercase().as_str(), "y" | "yes"))
    }
}
