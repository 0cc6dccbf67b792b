//! How a request is named and how the server refused it.

use core::fmt;

use crate::wire::{ControlFailureCode, PeripheralErrorCode, StatusCode};

/// A request's InvokeID: the number that ties a confirmation to its request. `Display` prints
/// the number, so that event texts read as the wire does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct InvokeId(pub u32);

impl InvokeId {
    /// The number on the wire.
    pub const fn value(self) -> u32 {
        self.0
    }
}

impl From<u32> for InvokeId {
    fn from(n: u32) -> Self {
        InvokeId(n)
    }
}

impl From<InvokeId> for u32 {
    fn from(id: InvokeId) -> u32 {
        id.0
    }
}

impl fmt::Display for InvokeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// How the server refused a request: FAILURE_CONF carries a status code, CONTROL_FAILURE_CONF
/// a failure code and the peripheral's (Unified CM's, through JTAPI) error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Refusal {
    /// FAILURE_CONF.
    Status(StatusCode),
    /// CONTROL_FAILURE_CONF.
    Control {
        /// FailureCode.
        failure: ControlFailureCode,
        /// PeripheralErrorCode (0, CCX_DEFAULT_ERROR_CODE, when the server sent none).
        peripheral_error: PeripheralErrorCode,
    },
}

impl Refusal {
    /// The status or failure code as a number (as event texts print it).
    pub const fn code(self) -> u32 {
        match self {
            Refusal::Status(status) => status.value(),
            Refusal::Control { failure, .. } => failure.value() as u32,
        }
    }

    /// The peripheral error code as a number: 0 for FAILURE_CONF.
    pub const fn peripheral_error_code(self) -> u32 {
        match self {
            Refusal::Status(_) => 0,
            Refusal::Control {
                peripheral_error, ..
            } => peripheral_error.value(),
        }
    }

    /// The code's name from the protocol table, if it has one.
    pub fn code_name(self) -> Option<&'static str> {
        match self {
            Refusal::Status(status) => status.name(),
            Refusal::Control { failure, .. } => failure.name(),
        }
    }

    /// The peripheral error's name, when there is a non-zero one the table names.
    pub fn peripheral_error_name(self) -> Option<&'static str> {
        match self {
            Refusal::Control {
                peripheral_error, ..
            } if peripheral_error.value() != 0 => peripheral_error.name(),
            _ => None,
        }
    }
}
