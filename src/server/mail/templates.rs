//! The mails latchkey sends, each written once and rendered twice: a plain-text part and an
//! HTML part from the same paragraphs and link, so the two never say different things.

/// A rendered mail, ready to be queued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// What mails say about the site they come from.
#[derive(Debug, Clone)]
pub struct Site {
    /// `SITE_NAME`.
    pub name: String,
    /// `SITE_URL`: the origin links point to.
    pub url: String,
}

/// A button in the HTML part, a line of its own in the text part.
struct Action {
    label: &'static str,
    url: String,
}

/// One mail's content: a greeting, paragraphs, at most one link, a closing line.
struct Letter<'a> {
    site: &'a Site,
    subject: String,
    paragraphs: Vec<String>,
    action: Option<Action>,
    /// Why the person got this mail and what to do if it was not them.
    footer: String,
    /// Whether the signature links to the site. Off for a notice that must carry no link at
    /// all (the old address of an email change), so it cannot be taken for the confirmation.
    site_link: bool,
}

impl Letter<'_> {
    fn render(self) -> Rendered {
        let mut text = String::from("Hello,\n\n");
        let mut html = format!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title></head>\n\
             <body style=\"font-family: system-ui, sans-serif; line-height: 1.5; color: #1a1a1a; max-width: 36rem; margin: 0 auto; padding: 1rem;\">\n\
             <p>Hello,</p>\n",
            escape(&self.subject)
        );
        for paragraph in &self.paragraphs {
            text.push_str(paragraph);
            text.push_str("\n\n");
            html.push_str(&format!("<p>{}</p>\n", escape(paragraph)));
        }
        if let Some(action) = &self.action {
            text.push_str(&format!("{}:\n{}\n\n", action.label, action.url));
            html.push_str(&format!(
                "<p><a href=\"{url}\" style=\"display: inline-block; padding: 0.6rem 1.2rem; background: #1d4ed8; color: #ffffff; text-decoration: none; border-radius: 0.4rem;\">{label}</a></p>\n\
                 <p style=\"font-size: 0.9rem;\">Or open this link: <a href=\"{url}\">{url}</a></p>\n",
                url = escape(&action.url),
                label = escape(action.label),
            ));
        }
        let (text_url, html_url) = if self.site_link {
            (
                format!("\n{}", self.site.url),
                format!(
                    " · <a href=\"{url}\">{url}</a>",
                    url = escape(&self.site.url)
                ),
            )
        } else {
            (String::new(), String::new())
        };
        text.push_str(&format!(
            "{}\n\n-- \n{}{text_url}\n",
            self.footer, self.site.name
        ));
        html.push_str(&format!(
            "<p style=\"font-size: 0.9rem; color: #555555;\">{}</p>\n\
             <p style=\"font-size: 0.9rem; color: #555555;\">{}{html_url}</p>\n</body></html>\n",
            escape(&self.footer),
            escape(&self.site.name),
        ));
        Rendered {
            subject: self.subject,
            text,
            html,
        }
    }
}

/// Escapes text for HTML element content and attribute values.
fn escape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Hours or minutes, as a person says them.
fn lifetime(seconds: u64) -> String {
    match seconds {
        s if s >= 7200 && s % 3600 == 0 => format!("{} hours", s / 3600),
        3600 => "1 hour".to_string(),
        s => format!("{} minutes", s.div_ceil(60)),
    }
}

/// Sent at sign-up (and on request): the link that proves the address is theirs.
pub fn verify_email(site: &Site, link: String, valid_for: u64) -> Rendered {
    Letter {
        site,
        subject: format!("Confirm your email address for {}", site.name),
        paragraphs: vec![
            format!(
                "Please confirm that this is your email address for your {} account.",
                site.name
            ),
            format!("The link works once, for {}.", lifetime(valid_for)),
        ],
        action: Some(Action {
            label: "Confirm your email address",
            url: link,
        }),
        footer: format!(
            "If you did not create a {} account, you can ignore this mail.",
            site.name
        ),
        site_link: true,
    }
    .render()
}

/// Sent to a new address someone asked to move their account to.
pub fn confirm_new_email(site: &Site, link: String, valid_for: u64) -> Rendered {
    Letter {
        site,
        subject: format!("Confirm your new email address for {}", site.name),
        paragraphs: vec![
            format!("You asked to use this address for your {} account.", site.name),
            format!(
                "Your account keeps its old address until you confirm. The link works once, for {}.",
                lifetime(valid_for)
            ),
        ],
        action: Some(Action { label: "Confirm your new address", url: link }),
        footer: "If you did not ask for this, ignore this mail: nothing changes.".to_string(),
        site_link: true,
    }
    .render()
}

/// Sent to the old address when a change is requested: a notice, never a link.
pub fn email_change_requested(site: &Site, new_email: &str) -> Rendered {
    Letter {
        site,
        subject: format!("Your {} email address is being changed", site.name),
        paragraphs: vec![
            format!(
                "Someone signed in to your {} account asked to change its email address to {new_email}.",
                site.name
            ),
            "The address changes only once the new one is confirmed.".to_string(),
        ],
        action: None,
        footer: "If this was not you, change your password now: someone else may know it."
            .to_string(),
        site_link: false,
    }
    .render()
}

/// The password-reset link.
pub fn reset_password(site: &Site, link: String, valid_for: u64) -> Rendered {
    Letter {
        site,
        subject: format!("Reset your {} password", site.name),
        paragraphs: vec![
            format!(
                "Someone asked to reset the password of your {} account.",
                site.name
            ),
            format!(
                "The link works once, for {}; a newer request replaces it.",
                lifetime(valid_for)
            ),
        ],
        action: Some(Action {
            label: "Choose a new password",
            url: link,
        }),
        footer: "If you did not ask for this, ignore this mail: your password stays as it is."
            .to_string(),
        site_link: true,
    }
    .render()
}

/// A reset asked for an address no account has (so a person who forgot which address they
/// used learns it, and the request does the same work as for a real account).
pub fn reset_unknown_account(site: &Site) -> Rendered {
    Letter {
        site,
        subject: format!("Password reset requested on {}", site.name),
        paragraphs: vec![
            format!(
                "Someone asked to reset the password of a {} account with this email address, but no account has it.",
                site.name
            ),
            "If it was you, you may have signed up with another address.".to_string(),
        ],
        action: Some(Action {
            label: "Create an account",
            url: format!("{}/signup", site.url),
        }),
        footer: "If you did not ask for this, ignore this mail.".to_string(),
        site_link: true,
    }
    .render()
}

/// Sent after the password changed, by any path.
pub fn password_changed(site: &Site) -> Rendered {
    Letter {
        site,
        subject: format!("Your {} password was changed", site.name),
        paragraphs: vec![
            format!(
                "The password of your {} account was just changed.",
                site.name
            ),
            "Every other session of your account was signed out.".to_string(),
        ],
        action: Some(Action {
            label: "Reset your password",
            url: format!("{}/forgot-password", site.url),
        }),
        footer: "If this was not you, reset your password at once with the link above.".to_string(),
        site_link: true,
    }
    .render()
}

/// What happened to an account's second factors, for [`factor_changed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactorChange {
    /// The person turned their authenticator app on.
    AppTurnedOn,
    /// The person turned it off.
    AppTurnedOff,
    /// Staff removed every second factor (a lost phone).
    RemovedByStaff,
    /// The person added a passkey.
    PasskeyAdded,
    /// The person removed a passkey.
    PasskeyRemoved,
}

/// Sent when the account's second factors change, by the person or by staff.
pub fn factor_changed(site: &Site, change: FactorChange) -> Rendered {
    let (subject, what) = match change {
        FactorChange::AppTurnedOn => (
            "Two-factor authentication turned on",
            "An authenticator app was set up as a second factor: log-ins now ask for its code after the password.",
        ),
        FactorChange::AppTurnedOff => (
            "Two-factor authentication turned off",
            "The authenticator app was removed from your account: log-ins no longer ask for a code.",
        ),
        FactorChange::RemovedByStaff => (
            "Your second factors were removed",
            "At your request, staff removed the second factors and passkeys of your account: log-ins no longer ask for a code. Set up a new authenticator app or passkey from your profile.",
        ),
        FactorChange::PasskeyAdded => (
            "A passkey was added",
            "A passkey was added to your account: it signs in without your password.",
        ),
        FactorChange::PasskeyRemoved => (
            "A passkey was removed",
            "A passkey was removed from your account: it no longer signs in.",
        ),
    };
    Letter {
        site,
        subject: format!("{}: {subject}", site.name),
        paragraphs: vec![what.to_string()],
        action: Some(Action {
            label: "Review your account",
            url: format!("{}/profile", site.url),
        }),
        footer:
            "If this was not you, reset your password at once and review your account's activity."
                .to_string(),
        site_link: true,
    }
    .render()
}

/// The last mail to a deleted account's address.
pub fn account_deleted(site: &Site) -> Rendered {
    Letter {
        site,
        subject: format!("Your {} account was deleted", site.name),
        paragraphs: vec![
            format!(
                "Your {} account and everything stored with it were deleted, as you asked.",
                site.name
            ),
            "This is the last mail you get from us about it.".to_string(),
        ],
        action: None,
        footer: "If you did not ask for this, someone knew your password: contact us.".to_string(),
        site_link: true,
    }
    .render()
}

#[cfg(test)]
mod tests {
    use super::{Site, email_change_requested, escape, lifetime, verify_email};

    fn site() -> Site {
        Site {
            name: "Ex <ample>".to_string(),
            url: "https://auth.example.com".to_string(),
        }
    }

    #[test]
    fn both_parts_carry_the_same_link_and_the_site() {
        let link = "https://auth.example.com/verify-email?key=abc&x=1".to_string();
        let mail = verify_email(&site(), link.clone(), 86_400);
        assert!(mail.text.contains(&link), "{}", mail.text);
        assert!(mail.html.contains("key=abc&amp;x=1"), "{}", mail.html);
        assert!(mail.text.contains("24 hours"), "{}", mail.text);
        assert!(
            mail.html.contains("Ex &lt;ample&gt;"),
            "the site name is escaped"
        );
        assert!(mail.text.contains("https://auth.example.com"));
        assert!(mail.subject.contains("Ex <ample>"));
    }

    #[test]
    fn the_notice_to_the_old_address_carries_no_link() {
        let mail = email_change_requested(&site(), "new@example.org");
        assert!(!mail.text.contains("://"), "{}", mail.text);
        assert!(!mail.html.contains("href"), "{}", mail.html);
        assert!(mail.text.contains("new@example.org"));
    }

    #[test]
    fn lifetimes_read_naturally() {
        assert_eq!(lifetime(86_400), "24 hours");
        assert_eq!(lifetime(3600), "1 hour");
        assert_eq!(lifetime(1800), "30 minutes");
        assert_eq!(lifetime(90), "2 minutes");
        assert_eq!(escape("a\"'&"), "a&quot;&#39;&amp;");
    }
}
