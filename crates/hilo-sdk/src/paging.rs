//! Streams over every page of a list, and the path segments of their requests.

use std::future::Future;

use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::Error;

/// The rows of every page. `fetch` takes a cursor and answers one page's rows and the cursor
/// of the next page (`None` after the last). An empty page ends the stream.
pub(crate) fn pages<C, T, F, Fut>(first: C, fetch: F) -> BoxStream<'static, Result<T, Error>>
where
    C: Send + 'static,
    T: Send + 'static,
    F: FnMut(C) -> Fut + Send + 'static,
    Fut: Future<Output = Result<(Vec<T>, Option<C>), Error>> + Send + 'static,
{
    stream::try_unfold((Some(first), fetch), |(cursor, mut fetch)| async move {
        let Some(cursor) = cursor else {
            return Ok(None);
        };
        let (rows, next) = fetch(cursor).await?;
        let next = if rows.is_empty() { None } else { next };
        Ok(Some((
            stream::iter(rows.into_iter().map(Ok)),
            (next, fetch),
        )))
    })
    .try_flatten()
    .boxed()
}

/// What a path segment may not hold as it is: all but RFC 3986's unreserved characters.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// A value made fit for one path segment (an id in `/contacts/{id}`): everything but unreserved
/// characters percent-encoded.
pub fn seg(value: &str) -> String {
    utf8_percent_encode(value, SEGMENT).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_encoded() {
        assert_eq!(seg("abc-DEF_1.2~"), "abc-DEF_1.2~");
        assert_eq!(seg("a/b c?"), "a%2Fb%20c%3F");
        assert_eq!(seg("é"), "%C3%A9");
    }

    #[tokio::test]
    async fn pages_follow_the_cursor_until_none() {
        let rows: Vec<Result<u32, Error>> = pages(0u32, |page| async move {
            let rows = vec![page * 2, page * 2 + 1];
            Ok((rows, (page < 2).then_some(page + 1)))
        })
        .collect()
        .await;
        let rows: Vec<u32> = rows.into_iter().map(|r| r.unwrap()).collect();
        assert_eq!(rows, [0, 1, 2, 3, 4, 5]);
    }
}
