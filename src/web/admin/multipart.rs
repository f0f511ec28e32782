//! Just enough `multipart/form-data` for the calendar upload form: text fields and one file,
//! from a body already read (and size-limited) by actix. No streaming, no nested parts.

/// One part of the form.
#[derive(Debug, PartialEq, Eq)]
pub struct Part {
    pub name: String,
    pub filename: Option<String>,
    pub data: Vec<u8>,
}

/// The boundary named in a `multipart/form-data` content type.
pub fn boundary(content_type: &str) -> Option<String> {
    let (mime, params) = content_type.split_once(';')?;
    if !mime.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.split(';').find_map(|p| {
        let (k, v) = p.split_once('=')?;
        let v = v.trim().trim_matches('"');
        (k.trim().eq_ignore_ascii_case("boundary") && !v.is_empty() && v.len() <= 200).then(|| v.to_string())
    })
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if from > hay.len() {
        return None;
    }
    hay[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

/// `name="x"; filename="y"` parameters of a Content-Disposition header.
fn disposition(value: &str) -> (Option<String>, Option<String>) {
    let (mut name, mut filename) = (None, None);
    for p in value.split(';').skip(1) {
        if let Some((k, v)) = p.split_once('=') {
            let v = v.trim().trim_matches('"').to_string();
            match k.trim().to_ascii_lowercase().as_str() {
                "name" => name = Some(v),
                "filename" => filename = Some(v),
                _ => {}
            }
        }
    }
    (name, filename)
}

/// Splits a form body into its parts.
pub fn parse(content_type: &str, body: &[u8]) -> Result<Vec<Part>, String> {
    let boundary = boundary(content_type).ok_or("the form must be sent as multipart/form-data")?;
    let delim = format!("--{boundary}").into_bytes();
    let next_delim = format!("\r\n--{boundary}").into_bytes();
    let mut at = find(body, &delim, 0).ok_or("no form parts in the body")? + delim.len();
    let mut parts = Vec::new();
    loop {
        if body[at..].starts_with(b"--") {
            return Ok(parts);
        }
        if !body[at..].starts_with(b"\r\n") {
            return Err("malformed multipart body".into());
        }
        at += 2;
        let head_end = find(body, b"\r\n\r\n", at).ok_or("malformed multipart part headers")?;
        let head = std::str::from_utf8(&body[at..head_end]).map_err(|_| "part headers are not UTF-8")?;
        let (mut name, mut filename) = (None, None);
        for line in head.split("\r\n") {
            if let Some((k, v)) = line.split_once(':')
                && k.trim().eq_ignore_ascii_case("content-disposition")
            {
                (name, filename) = disposition(v);
            }
        }
        let start = head_end + 4;
        let end = find(body, &next_delim, start).ok_or("the multipart body ends early")?;
        parts.push(Part {
            name: name.ok_or("a form part without a name")?,
            filename,
            data: body[start..end].to_vec(),
        });
        at = end + next_delim.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_and_a_file() {
        let ct = "multipart/form-data; boundary=----x1";
        let body = b"------x1\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\nabc\r\n------x1\r\n\
Content-Disposition: form-data; name=\"file\"; filename=\"libur.csv\"\r\nContent-Type: text/csv\r\n\r\n\
2026-12-25,Natal\r\n2026-12-31\r\n------x1--\r\n";
        let parts = parse(ct, body).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(
            (parts[0].name.as_str(), parts[0].data.as_slice()),
            ("csrf", &b"abc"[..])
        );
        assert_eq!(parts[1].filename.as_deref(), Some("libur.csv"));
        assert_eq!(parts[1].data, b"2026-12-25,Natal\r\n2026-12-31");
        assert_eq!(boundary("multipart/form-data; boundary=\"a b\""), Some("a b".into()));
        assert!(parse("application/x-www-form-urlencoded", body).is_err());
        assert!(
            parse(
                ct,
                b"------x1\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nno end"
            )
            .is_err()
        );
        assert!(parse(ct, b"nothing").is_err());
    }
}
