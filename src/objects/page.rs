//! Orb's list envelope: `{"data": [...], "pagination_metadata": {...}}`.

use serde::Serialize;
use utoipa::ToSchema;

/// One page of a list endpoint's results.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Page<T: Serialize> {
    pub data: Vec<T>,
    pub pagination_metadata: PaginationMetadata,
}

impl<T: Serialize> Page<T> {
    /// A page of `data`; `next_cursor` is the cursor for the following page, `None` on the last
    /// one. `has_more` follows from it, so the two can never disagree.
    pub fn new(data: Vec<T>, next_cursor: Option<String>) -> Self {
        Self {
            data,
            pagination_metadata: PaginationMetadata {
                has_more: next_cursor.is_some(),
                next_cursor,
            },
        }
    }
}

/// Orb's `PaginationMetadata`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct PaginationMetadata {
    pub has_more: bool,
    pub next_cursor: Option<String>,
}
