//! What a state-changing action answers when it succeeds: done now, or found done already
//! (a repeat of an answer already recorded changes nothing and says so).

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// True when nothing was done because the same thing was recorded before.
    pub already: bool,
    /// A sentence for the user.
    pub message: String,
}

impl Outcome {
    pub fn done(message: impl Into<String>) -> Self {
        Outcome {
            already: false,
            message: message.into(),
        }
    }

    pub fn already(message: impl Into<String>) -> Self {
        Outcome {
            already: true,
            message: message.into(),
        }
    }
}
