//! Permissions as Django names them (`app_label.codename`), and what a staff member holds.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

pub const VIEW_USER: &str = "accounts.view_user";
pub const ADD_USER: &str = "accounts.add_user";
pub const CHANGE_USER: &str = "accounts.change_user";
pub const DELETE_USER: &str = "accounts.delete_user";
pub const VIEW_GROUP: &str = "accounts.view_group";
pub const ADD_GROUP: &str = "accounts.add_group";
pub const CHANGE_GROUP: &str = "accounts.change_group";
pub const DELETE_GROUP: &str = "accounts.delete_group";
pub const VIEW_AUDIT_LOG: &str = "admin.view_logentry";

/// Every permission there is (the migrations store the same list, with names).
pub const ALL: [&str; 9] = [
    VIEW_USER,
    ADD_USER,
    CHANGE_USER,
    DELETE_USER,
    VIEW_GROUP,
    ADD_GROUP,
    CHANGE_GROUP,
    DELETE_GROUP,
    VIEW_AUDIT_LOG,
];

/// What one person may do: a superuser everything, anyone else the permissions given to
/// them and to their groups.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grants {
    pub superuser: bool,
    /// Codenames, held directly or through a group.
    pub permissions: BTreeSet<String>,
}

impl Grants {
    pub fn has(&self, codename: &str) -> bool {
        self.superuser || self.permissions.contains(codename)
    }

    /// Every codename held (all of them for a superuser), sorted.
    pub fn codenames(&self) -> Vec<String> {
        if self.superuser {
            ALL.iter().map(ToString::to_string).collect()
        } else {
            self.permissions.iter().cloned().collect()
        }
    }

    /// Whether holding `others` gives nothing beyond what these grants hold: nobody hands out
    /// a permission they lack (to a group, to a person, or by putting someone in a group).
    pub fn covers<'a>(&self, mut others: impl Iterator<Item = &'a str>) -> bool {
        others.all(|codename| self.has(codename))
    }
}

#[cfg(test)]
mod tests {
    use super::{ALL, CHANGE_USER, Grants, VIEW_USER};

    #[test]
    fn a_superuser_holds_everything_and_others_what_they_were_given() {
        let superuser = Grants {
            superuser: true,
            ..Grants::default()
        };
        assert!(ALL.iter().all(|p| superuser.has(p)));
        assert_eq!(superuser.codenames().len(), ALL.len());
        let viewer = Grants {
            superuser: false,
            permissions: [VIEW_USER.to_string()].into(),
        };
        assert!(viewer.has(VIEW_USER) && !viewer.has(CHANGE_USER));
        assert!(viewer.covers([VIEW_USER].into_iter()));
        assert!(!viewer.covers([VIEW_USER, CHANGE_USER].into_iter()));
    }
}
