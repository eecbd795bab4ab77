//! Links to neighbouring pages, as the original API's `next` and `previous`.

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
    #[test]
    fn links_encode_their_parameters() {
        assert_eq!(
            super::link(
                "/api/v1/user/",
                &[
                    ("search", Some("a b&c".into())),
                    ("page", Some("2".into())),
                    ("x", None)
                ]
            ),
            "/api/v1/user/?search=a+b%26c&page=2"
        );
        assert_eq!(super::link("/p", &[("x", None)]), "/p");
    }
}
