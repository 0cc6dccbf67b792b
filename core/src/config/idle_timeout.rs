//! The one rule for OPEN_REQ's IdleTimeout, shared by configuration validation (the phone) and
//! the simulator (the server side).
//!
//! Cisco's pages disagree: "how-a-session-is-maintained" asks for four times the heartbeat
//! interval; "open_req" asks for at least twice the interval and under 120 s, and the server
//! refuses anything under 20 s with E_CTI_INVALID_TIMEOUT (wire-session.md §4.2, §5.7). At a
//! 30 s heartbeat both cannot hold (4 × 30 is not under 120), so the hard bounds are the
//! open_req page's and four times the heartbeat is only advice.
//!
//! Sources: <https://developer.cisco.com/docs/contact-center-express/open_req>,
//! <https://developer.cisco.com/docs/contact-center-express/how-a-session-is-maintained>.

/// The smallest IdleTimeout a Unified CCX server accepts (E_CTI_INVALID_TIMEOUT below it).
pub const IDLE_TIMEOUT_MIN_SECS: u32 = 20;
/// IdleTimeout must be below this many seconds (open_req page).
pub const IDLE_TIMEOUT_LIMIT_SECS: u32 = 120;

/// Why an IdleTimeout cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum IdleTimeoutError {
    /// Below the server's 20 s minimum.
    BelowServerMinimum {
        /// The IdleTimeout asked for, in seconds.
        idle_timeout_secs: u32,
    },
    /// Less than twice the heartbeat interval: two late heartbeats would end the session.
    BelowTwiceHeartbeat {
        /// The IdleTimeout asked for, in seconds.
        idle_timeout_secs: u32,
        /// The heartbeat interval, in seconds.
        heartbeat_secs: u32,
    },
    /// 120 s or more.
    TooLong {
        /// The IdleTimeout asked for, in seconds.
        idle_timeout_secs: u32,
    },
}

impl core::fmt::Display for IdleTimeoutError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            Self::BelowServerMinimum { idle_timeout_secs } => write!(
                f,
                "IdleTimeout {idle_timeout_secs} s is below the server's minimum of \
                 {IDLE_TIMEOUT_MIN_SECS} s"
            ),
            Self::BelowTwiceHeartbeat {
                idle_timeout_secs,
                heartbeat_secs,
            } => write!(
                f,
                "IdleTimeout {idle_timeout_secs} s is less than twice the heartbeat interval \
                 ({heartbeat_secs} s); use at least {} s",
                heartbeat_secs.saturating_mul(2)
            ),
            Self::TooLong { idle_timeout_secs } => write!(
                f,
                "IdleTimeout {idle_timeout_secs} s is not under {IDLE_TIMEOUT_LIMIT_SECS} s"
            ),
        }
    }
}

impl core::error::Error for IdleTimeoutError {}

/// An IdleTimeout that is allowed but not what one page advises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct IdleTimeoutAdvice {
    /// Four times the heartbeat interval, capped below 120 s.
    pub recommended_secs: u32,
}

impl core::fmt::Display for IdleTimeoutAdvice {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "IdleTimeout is not four times the heartbeat interval; {} s is advised",
            self.recommended_secs
        )
    }
}

/// Checks an IdleTimeout against the heartbeat interval (`heartbeat_secs == 0`: no heartbeats,
/// only the server's bounds apply).
///
/// `Ok(None)`: fine. `Ok(Some(advice))`: allowed, but not four times the heartbeat.
pub fn check_idle_timeout(
    idle_timeout_secs: u32,
    heartbeat_secs: u32,
) -> Result<Option<IdleTimeoutAdvice>, IdleTimeoutError> {
    if idle_timeout_secs >= IDLE_TIMEOUT_LIMIT_SECS {
        return Err(IdleTimeoutError::TooLong { idle_timeout_secs });
    }
    if idle_timeout_secs < IDLE_TIMEOUT_MIN_SECS {
        return Err(IdleTimeoutError::BelowServerMinimum { idle_timeout_secs });
    }
    if heartbeat_secs == 0 {
        return Ok(None);
    }
    if idle_timeout_secs < heartbeat_secs.saturating_mul(2) {
        return Err(IdleTimeoutError::BelowTwiceHeartbeat {
            idle_timeout_secs,
            heartbeat_secs,
        });
    }
    let four_times = heartbeat_secs.saturating_mul(4);
    if idle_timeout_secs == four_times {
        return Ok(None);
    }
    Ok(Some(IdleTimeoutAdvice {
        recommended_secs: four_times.min(IDLE_TIMEOUT_LIMIT_SECS - 1),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_times_the_heartbeat_is_fine() {
        assert_eq!(check_idle_timeout(80, 20), Ok(None));
        assert_eq!(check_idle_timeout(20, 5), Ok(None));
    }

    #[test]
    fn twice_the_heartbeat_is_allowed_with_advice() {
        assert_eq!(
            check_idle_timeout(40, 20),
            Ok(Some(IdleTimeoutAdvice {
                recommended_secs: 80
            }))
        );
    }

    #[test]
    fn a_30_s_heartbeat_cannot_reach_four_times_and_is_advised_119() {
        assert_eq!(
            check_idle_timeout(60, 30),
            Ok(Some(IdleTimeoutAdvice {
                recommended_secs: 119
            }))
        );
    }

    #[test]
    fn below_twice_the_heartbeat_is_refused() {
        assert_eq!(
            check_idle_timeout(39, 20),
            Err(IdleTimeoutError::BelowTwiceHeartbeat {
                idle_timeout_secs: 39,
                heartbeat_secs: 20
            })
        );
    }

    #[test]
    fn the_120_s_bound_holds_with_and_without_heartbeats() {
        assert_eq!(
            check_idle_timeout(120, 0),
            Err(IdleTimeoutError::TooLong {
                idle_timeout_secs: 120
            })
        );
        assert_eq!(
            check_idle_timeout(120, 30),
            Err(IdleTimeoutError::TooLong {
                idle_timeout_secs: 120
            })
        );
        assert_eq!(check_idle_timeout(119, 0), Ok(None));
    }

    #[test]
    fn the_server_minimum_holds_without_heartbeats() {
        assert_eq!(
            check_idle_timeout(19, 0),
            Err(IdleTimeoutError::BelowServerMinimum {
                idle_timeout_secs: 19
            })
        );
    }
}
