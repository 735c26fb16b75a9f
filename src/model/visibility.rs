//! TinyTables' view visibility: `personal` (only its creator sees it),
//! `shared` (everyone with table access), `locked` (shared; only its
//! creator changes its configuration). One notion with the `locked`
//! setting: a view is `locked` exactly when that setting is on, and the
//! setting keeps its contract (no `manage` on the view) for everyone but
//! the view's creator. `personal` and the creator are the [`ViewOwner`].

use std::fmt;

use serde::{Deserialize, Serialize};

use super::id::Id;
use super::settings::ViewSettings;

/// Who sees a view and who changes its configuration.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Only its creator sees it; anyone else is denied `personal_view`.
    Personal,
    /// Everyone with access to its table sees it (the default).
    #[default]
    Shared,
    /// Everyone with table access sees it; only its creator may `manage`
    /// it. Rows follow the view's and table's settings as before.
    Locked,
}

impl Visibility {
    /// Every visibility, in the order the documents name them.
    pub const ALL: [Visibility; 3] = [Visibility::Personal, Visibility::Shared, Visibility::Locked];

    /// Its word.
    pub const fn as_str(self) -> &'static str {
        match self {
            Visibility::Personal => "personal",
            Visibility::Shared => "shared",
            Visibility::Locked => "locked",
        }
    }

    /// The visibility a word names.
    pub fn from_word(word: &str) -> Option<Visibility> {
        Visibility::ALL.into_iter().find(|v| v.as_str() == word)
    }

    /// The visibility of a view with `settings` and `owner`.
    pub fn of(settings: &ViewSettings, owner: Option<&ViewOwner>) -> Visibility {
        if owner.is_some_and(|o| o.personal) {
            Visibility::Personal
        } else if settings.locked {
            Visibility::Locked
        } else {
            Visibility::Shared
        }
    }
}

impl fmt::Display for Visibility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// A view's creator and whether it is personal (the rest of its
/// visibility is the `locked` setting).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewOwner {
    /// The user who created the view, when recorded.
    #[serde(default)]
    pub creator: Option<Id>,
    /// Only the creator sees it.
    #[serde(default)]
    pub personal: bool,
}

impl ViewOwner {
    /// True when `user` (a member token's user, if any) is the recorded
    /// creator.
    pub fn is_creator(&self, user: Option<&Id>) -> bool {
        self.creator.is_some() && self.creator.as_ref() == user
    }

    /// True when a personal view hides itself from `user`.
    pub fn hides_from(&self, user: Option<&Id>) -> bool {
        self.personal && !self.is_creator(user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_locked_setting_is_the_locked_visibility_and_personal_wins() {
        let mut s = ViewSettings::default();
        assert_eq!(Visibility::of(&s, None), Visibility::Shared);
        s.locked = true;
        assert_eq!(Visibility::of(&s, None), Visibility::Locked);
        let u1 = Id::new("u_1").unwrap();
        let owner = ViewOwner {
            creator: Some(u1.clone()),
            personal: true,
        };
        assert_eq!(Visibility::of(&s, Some(&owner)), Visibility::Personal);
        assert!(!owner.hides_from(Some(&u1)));
        assert!(owner.hides_from(Some(&Id::new("u_2").unwrap())));
        assert!(owner.hides_from(None));
        assert!(!ViewOwner::default().is_creator(None));
        for v in Visibility::ALL {
            assert_eq!(Visibility::from_word(v.as_str()), Some(v));
        }
        assert_eq!(Visibility::from_word("secret"), None);
    }
}
