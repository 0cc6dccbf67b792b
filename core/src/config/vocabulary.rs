//! The agent's vocabulary: the Not Ready, Logout and wrap-up reasons an administrator
//! configured (code + label, as Unified CCX and Finesse administrators define them), so that a
//! screen shows "Lunch" rather than 12.
//! Unified CCX's own reasons (32760, AGT_LOGON) show by their words without a label here; a
//! label for one of their codes replaces those words (a site's wording or language).
//!
//! It is not part of [`super::PhoneConfig`]: the phone's RAM budget must not grow with the
//! list. The application owns a [`Vocabulary`] of the capacity it chooses (there is no fixed
//! cap such as Finesse IP Phone Agent's 100) and lends it to whatever shows labels.

use heapless::{String, Vec};
use serde::{Deserialize, Serialize};

/// Default bytes of a label: Finesse allows 40 characters, and this leaves room for accents.
pub const DEFAULT_LABEL_BYTES: usize = 64;

/// Which list a reason belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ReasonKind {
    /// A reason for going Not Ready (SET_AGENT_STATE_REQ EventReasonCode).
    NotReady,
    /// A reason for logging out.
    Logout,
    /// A wrap-up reason, chosen after a call.
    WrapUp,
}

impl ReasonKind {
    /// The kind's name in the configuration file's words.
    pub const fn name(self) -> &'static str {
        match self {
            Self::NotReady => "not_ready_reasons",
            Self::Logout => "logout_reasons",
            Self::WrapUp => "wrap_up_reasons",
        }
    }
}

/// One reason: its code and label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Reason<const LABEL: usize = DEFAULT_LABEL_BYTES> {
    /// Which list.
    pub kind: ReasonKind,
    /// The code (1..=65535; 0 means "no reason" on the wire).
    pub code: u16,
    /// The label the agent sees.
    pub label: String<LABEL>,
}

/// Why a reason could not be added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum VocabularyError {
    /// The vocabulary holds its capacity already.
    Full {
        /// Its capacity.
        capacity: usize,
    },
    /// The label does not fit.
    LabelTooLong {
        /// Which list.
        kind: ReasonKind,
        /// The code.
        code: u16,
        /// The label's length in bytes.
        length: usize,
        /// The most bytes a label holds.
        max: usize,
    },
    /// Code 0 means "no reason" and cannot carry a label.
    CodeZero {
        /// Which list.
        kind: ReasonKind,
    },
    /// The code is in the list already.
    Duplicate {
        /// Which list.
        kind: ReasonKind,
        /// The code.
        code: u16,
    },
}

impl core::fmt::Display for VocabularyError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            Self::Full { capacity } => {
                write!(f, "the vocabulary holds at most {capacity} reasons")
            }
            Self::LabelTooLong {
                kind,
                code,
                length,
                max,
            } => write!(
                f,
                "{} code {code}: the label is {length} bytes long; at most {max} fit",
                kind.name()
            ),
            Self::CodeZero { kind } => write!(
                f,
                "{}: code 0 means no reason; codes run from 1 to 65535",
                kind.name()
            ),
            Self::Duplicate { kind, code } => {
                write!(f, "{} code {code} is given twice", kind.name())
            }
        }
    }
}

impl core::error::Error for VocabularyError {}

/// Up to `N` reasons of all kinds, labels of up to `LABEL` bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Vocabulary<const N: usize, const LABEL: usize = DEFAULT_LABEL_BYTES> {
    reasons: Vec<Reason<LABEL>, N>,
}

impl<const N: usize, const LABEL: usize> Default for Vocabulary<N, LABEL> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize, const LABEL: usize> Vocabulary<N, LABEL> {
    /// An empty vocabulary (`const`: it can live in a `static`).
    pub const fn new() -> Self {
        Vocabulary {
            reasons: Vec::new(),
        }
    }

    /// Add a reason. Refused (and nothing changed) when full, the label is too long, the
    /// code is 0 or already in the same list.
    pub fn add(&mut self, kind: ReasonKind, code: u16, label: &str) -> Result<(), VocabularyError> {
        if code == 0 {
            return Err(VocabularyError::CodeZero { kind });
        }
        if self.label(kind, code).is_some() {
            return Err(VocabularyError::Duplicate { kind, code });
        }
        let mut text = String::new();
        text.push_str(label)
            .map_err(|_| VocabularyError::LabelTooLong {
                kind,
                code,
                length: label.len(),
                max: LABEL,
            })?;
        self.reasons
            .push(Reason {
                kind,
                code,
                label: text,
            })
            .map_err(|_| VocabularyError::Full { capacity: N })
    }

    /// The label of `code` in the `kind` list.
    pub fn label(&self, kind: ReasonKind, code: u16) -> Option<&str> {
        self.reasons
            .iter()
            .find(|r| r.kind == kind && r.code == code)
            .map(|r| r.label.as_str())
    }

    /// The reasons of one list, in the order they were added (for a menu).
    pub fn reasons(&self, kind: ReasonKind) -> impl Iterator<Item = &Reason<LABEL>> {
        self.reasons.iter().filter(move |r| r.kind == kind)
    }

    /// Reasons held, all lists together.
    pub fn len(&self) -> usize {
        self.reasons.len()
    }

    /// Whether no reason is held.
    pub fn is_empty(&self) -> bool {
        self.reasons.is_empty()
    }

    /// The most reasons it holds.
    pub const fn capacity(&self) -> usize {
        N
    }
}
