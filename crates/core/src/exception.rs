//! Why a household did not get a report.
//!
//! Every input household ends either in the manifest or in `exceptions.csv`
//! with one of these reasons; the codes are stable because analysts filter on them.

use std::fmt;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Reason {
    /// The CSV row could not be parsed at all (wrong number of fields, bad UTF-8).
    MalformedRow,
    MissingField,
    BadZip,
    BadValue,
    DuplicateAccount,
    BadDate,
    EndBeforeStart,
    BadQuantity,
    UnknownUnit,
    /// A read in a unit of the other service (kWh on a water account).
    UnitMismatch,
    /// Usage rows name an account that the customer file does not have.
    UnknownAccount,
    /// A Green Button file that is not well-formed XML (or not ESPI).
    MalformedXml,
    /// Two intervals of one meter start at the same instant.
    DuplicateInterval,
    /// An interval starts before the previous one of its meter ends.
    OverlappingInterval,
    /// The period's intervals cover too little of the month to compare.
    LowCoverage,
    /// A read far outside the household's own history, or physically absurd.
    ImplausibleRead,
    /// A cumulative register reading below the one before it on the same
    /// meter, with no rollover or meter exchange to explain it.
    ReadingBackwards,
    Vacant,
    Closed,
    DoNotMail,
    Suppressed,
    OptedOut,
    NoBillForPeriod,
    /// Billed every two or three months, and no bill ends in this period:
    /// its report comes with its next bill.
    OffCycle,
    InsufficientHistory,
    /// The household is in the control group that receives nothing, so savings can be measured.
    ControlGroup,
    /// Held back from a campaign (its holdout share) to measure the letter.
    Holdout,
    /// A campaign letter already went to this household in an earlier run.
    AlreadySent,
    /// The name or address does not fit the envelope window: never cut.
    AddressTooLong,
    RenderFailed,
    /// An e-mail the relay refused or could not take.
    NotDelivered,
}

impl Reason {
    pub fn code(self) -> &'static str {
        match self {
            Reason::MalformedRow => "malformed-row",
            Reason::MissingField => "missing-field",
            Reason::BadZip => "bad-zip",
            Reason::BadValue => "bad-value",
            Reason::DuplicateAccount => "duplicate-account",
            Reason::BadDate => "bad-date",
            Reason::EndBeforeStart => "end-before-start",
            Reason::BadQuantity => "bad-quantity",
            Reason::UnknownUnit => "unknown-unit",
            Reason::UnitMismatch => "unit-mismatch",
            Reason::UnknownAccount => "unknown-account",
            Reason::MalformedXml => "malformed-xml",
            Reason::DuplicateInterval => "duplicate-interval",
            Reason::OverlappingInterval => "overlapping-interval",
            Reason::LowCoverage => "low-coverage",
            Reason::ImplausibleRead => "implausible-read",
            Reason::ReadingBackwards => "reading-backwards",
            Reason::Vacant => "vacant",
            Reason::Closed => "closed",
            Reason::DoNotMail => "do-not-mail",
            Reason::Suppressed => "suppressed",
            Reason::OptedOut => "opted-out",
            Reason::NoBillForPeriod => "no-bill-for-period",
            Reason::OffCycle => "off-cycle",
            Reason::InsufficientHistory => "insufficient-history",
            Reason::ControlGroup => "control-group",
            Reason::AddressTooLong => "address-too-long",
            Reason::Holdout => "holdout",
            Reason::AlreadySent => "already-sent",
            Reason::RenderFailed => "render-failed",
            Reason::NotDelivered => "not-delivered",
        }
    }

    /// Data problems (as opposed to deliberate suppression) that an analyst should fix.
    pub fn is_data_error(self) -> bool {
        matches!(
            self,
            Reason::MalformedRow
                | Reason::MissingField
                | Reason::BadZip
                | Reason::BadValue
                | Reason::DuplicateAccount
                | Reason::BadDate
                | Reason::EndBeforeStart
                | Reason::BadQuantity
                | Reason::UnknownUnit
                | Reason::UnitMismatch
                | Reason::UnknownAccount
                | Reason::MalformedXml
                | Reason::DuplicateInterval
                | Reason::OverlappingInterval
                | Reason::LowCoverage
                | Reason::ImplausibleRead
                | Reason::AddressTooLong
                | Reason::ReadingBackwards
        )
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// One household that gets no report this run, with the reason and where to look.
#[derive(Debug, Clone, PartialEq)]
pub struct Exception {
    pub account_id: String,
    pub reason: Reason,
    /// Human-readable detail; for data errors it starts with `file:line:`.
    pub detail: String,
}

impl Exception {
    pub fn new(account_id: impl Into<String>, reason: Reason, detail: impl Into<String>) -> Self {
        Exception {
            account_id: account_id.into(),
            reason,
            detail: detail.into(),
        }
    }
}
