//! Paging, the same for every list and every edge: which page a request
//! asks for (checked once, here), what the domain found, and the wire page
//! with its links.

use crate::error::AppError;
use crate::wire::Page;

/// The highest page number any list accepts; beyond it there is nothing to find.
pub const MAX_PAGE: u64 = 1_000_000;

/// A checked request for page `number` (from 1) of `size` results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub number: u64,
    pub size: u64,
}

impl PageRequest {
    /// Page `number` (default 1) of `size` results (default `default`, at
    /// most `max`). Page 0 and out-of-range sizes are 400s; a page past
    /// [`MAX_PAGE`] is a 404, since nothing can be there.
    pub fn new(
        number: Option<u64>,
        size: Option<u64>,
        default: u64,
        max: u64,
    ) -> Result<Self, AppError> {
        let size = size.unwrap_or(default);
        if !(1..=max).contains(&size) {
            return Err(AppError::invalid(
                "page_size",
                format!("Choose a page size from 1 to {max}."),
            ));
        }
        match number.unwrap_or(1) {
            0 => Err(AppError::invalid("page", "Pages are numbered from 1.")),
            number if number > MAX_PAGE => Err(AppError::NotFound),
            number => Ok(Self { number, size }),
        }
    }

    /// How many results come before this page.
    pub fn offset(self) -> u64 {
        (self.number - 1).saturating_mul(self.size)
    }
}

/// What a list query found: one page's items, how many there are in all,
/// and whether more follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing<T> {
    pub items: Vec<T>,
    pub total: u64,
    pub has_more: bool,
}

/// A value read as of event `seq` of the reader's stream, so applying the
/// events after `seq` brings it up to date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot<T> {
    pub value: T,
    pub seq: i64,
}

impl<T> Listing<T> {
    /// Page `request` of a numbered list: `link(n)` is the address of page `n`.
    /// A page past the end of a non-empty list is a 404.
    pub fn into_numbered_page(
        self,
        request: PageRequest,
        link: impl Fn(u64) -> String,
    ) -> Result<Page<T>, AppError> {
        if request.number > 1 && self.items.is_empty() {
            return Err(AppError::NotFound);
        }
        Ok(Page {
            count: self.total,
            next: self.has_more.then(|| link(request.number + 1)),
            previous: (request.number > 1).then(|| link(request.number - 1)),
            results: self.items,
            seq: None,
        })
    }
}

/// `path?key=value&…`, skipping absent values.
pub fn link(path: &str, params: &[(&str, Option<String>)]) -> String {
    let present: Vec<(&str, &str)> = params
        .iter()
        .filter_map(|(key, value)| value.as_deref().map(|value| (*key, value)))
        .collect();
    match serde_urlencoded::to_string(&present) {
        Ok(query) if !query.is_empty() => format!("{path}?{query}"),
        _ => path.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_encode_their_parameters() {
        assert_eq!(
            link(
                "/api/v1/user/",
                &[
                    ("search", Some("a b&c".into())),
                    ("page", Some("2".into())),
                    ("x", None)
                ]
            ),
            "/api/v1/user/?search=a+b%26c&page=2"
        );
        assert_eq!(link("/p", &[("x", None)]), "/p");
    }

    #[test]
    fn page_requests_are_checked_once_for_every_edge() {
        assert_eq!(
            PageRequest::new(None, None, 50, 200).unwrap(),
            PageRequest {
                number: 1,
                size: 50
            }
        );
        assert!(matches!(
            PageRequest::new(Some(0), None, 50, 200),
            Err(AppError::Validation(fields)) if fields.contains_key("page")
        ));
        assert!(matches!(
            PageRequest::new(None, Some(201), 50, 200),
            Err(AppError::Validation(fields)) if fields.contains_key("page_size")
        ));
        assert_eq!(
            PageRequest::new(Some(MAX_PAGE + 1), None, 50, 200),
            Err(AppError::NotFound)
        );
        assert_eq!(
            PageRequest::new(Some(u64::MAX), Some(200), 50, 200),
            Err(AppError::NotFound)
        );
        assert_eq!(
            PageRequest::new(Some(3), Some(10), 50, 200)
                .unwrap()
                .offset(),
            20
        );
    }

    #[test]
    fn numbered_pages_link_to_their_neighbours() {
        let listing = Listing {
            items: vec![1, 2],
            total: 5,
            has_more: true,
        };
        let request = PageRequest { number: 2, size: 2 };
        let page = listing
            .into_numbered_page(request, |n| format!("/p?page={n}"))
            .unwrap();
        assert_eq!(page.next.as_deref(), Some("/p?page=3"));
        assert_eq!(page.previous.as_deref(), Some("/p?page=1"));
        assert_eq!(page.count, 5);
        let past_the_end = Listing::<i32> {
            items: vec![],
            total: 5,
            has_more: false,
        };
        assert_eq!(
            past_the_end.into_numbered_page(PageRequest { number: 9, size: 2 }, |n| n.to_string()),
            Err(AppError::NotFound)
        );
    }
}
