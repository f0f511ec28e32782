//! The display text of a reply: the citizen's new words without the quoted history or the
//! signature. The full original is stored separately; this only decides what agents read first.
//!
//! Cut points, earliest wins: our own "reply above this line" marker (quoted or not), an
//! attribution line (`On … wrote:`, Gmail's Indonesian `Pada … menulis:`, also wrapped over two
//! lines), Outlook's `-----Original Message-----` / `-----Pesan Asli-----` and its header block
//! (`From:`/`Dari:` followed by `Sent:`/`Dikirim:`), and the `-- ` signature delimiter. A trailing
//! block of `>`-quoted lines goes too.

/// Our separators, in every template language; mail clients quote them back.
pub const SEPARATORS: &[&str] = &[
    "##- Mohon balas di atas baris ini -##",
    "##- Please reply above this line -##",
];

fn unquoted(line: &str) -> &str {
    line.trim_start_matches(['>', ' ']).trim_end()
}

fn is_attribution(line: &str) -> bool {
    let l = line.trim();
    let lower = l.to_lowercase();
    (lower.starts_with("on ") && lower.ends_with("wrote:"))
        || (lower.starts_with("pada ") && lower.ends_with("menulis:"))
        || (lower.starts_with("le ") && lower.ends_with("a écrit :"))
}

fn starts_attribution(line: &str) -> bool {
    let lower = line.trim().to_lowercase();
    lower.starts_with("on ") || lower.starts_with("pada ")
}

fn ends_attribution(line: &str) -> bool {
    let lower = line.trim().to_lowercase();
    lower.ends_with("wrote:") || lower.ends_with("menulis:")
}

fn is_header_line(line: &str, names: &[&str]) -> bool {
    let lower = line.trim().to_lowercase();
    names.iter().any(|n| lower.starts_with(n))
}

/// Index of the first line that starts quoted history, if any.
fn cut_index(lines: &[&str]) -> Option<usize> {
    for (i, line) in lines.iter().enumerate() {
        let plain = unquoted(line);
        if SEPARATORS.iter().any(|s| plain.contains(s)) {
            return Some(i);
        }
        if is_attribution(line) {
            return Some(i);
        }
        // Gmail wraps a long attribution: "Pada Kam, 13 Agu 2026 pukul 10.05 Nama <" / "x@y> menulis:".
        if starts_attribution(line) && lines.get(i + 1).is_some_and(|next| ends_attribution(next)) {
            return Some(i);
        }
        let t = line.trim();
        if t.starts_with("-----Original Message-----")
            || t.starts_with("-----Pesan Asli-----")
            || t.starts_with("-----Pesan Asli -----")
        {
            return Some(i);
        }
        // Outlook's reply header block: From/Dari, then Sent/Dikirim within a few lines.
        if is_header_line(line, &["from:", "dari:"])
            && lines[i + 1..]
                .iter()
                .take(3)
                .any(|l| is_header_line(l, &["sent:", "dikirim:", "date:", "tanggal:"]))
        {
            let start = if i > 0 && lines[i - 1].trim().starts_with("____") {
                i - 1
            } else {
                i
            };
            return Some(start);
        }
        if *line == "-- " || *line == "--" {
            return Some(i);
        }
    }
    None
}

/// The text to show: the new part of the message. Falls back to the whole text when stripping
/// would leave nothing (a mail that is all quote is still shown).
pub fn strip(text: &str) -> String {
    let normalized = text.replace("\r\n", "\n");
    let lines: Vec<&str> = normalized.lines().collect();
    let mut end = cut_index(&lines).unwrap_or(lines.len());
    // Drop a trailing `>`-quoted block (and the blank lines around it).
    loop {
        while end > 0 && lines[end - 1].trim().is_empty() {
            end -= 1;
        }
        if end > 0 && lines[end - 1].trim_start().starts_with('>') {
            while end > 0 && lines[end - 1].trim_start().starts_with('>') {
                end -= 1;
            }
            continue;
        }
        break;
    }
    let kept = lines[..end].join("\n");
    let kept = kept.trim();
    if kept.is_empty() {
        normalized.trim().to_string()
    } else {
        kept.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::strip;

    #[test]
    fn indonesian_gmail_wrapped_attribution() {
        let text = "Terima kasih.\n\nSalam,\nSiti\n\nPada Kam, 13 Agu 2026 pukul 10.05 Layanan <\npengaduan@pemkot.example> menulis:\n\n> ##- Mohon balas di atas baris ini -##\n> Yth. Ibu Siti\n";
        assert_eq!(strip(text), "Terima kasih.\n\nSalam,\nSiti");
    }

    #[test]
    fn english_outlook_and_signature() {
        assert_eq!(strip("Thanks!\n\nOn Mon, 1 Jan 2026, X <x@y> wrote:\n> old"), "Thanks!");
        assert_eq!(
            strip("Baik.\r\n\r\n-----Original Message-----\r\nFrom: a\r\nSent: b\r\n"),
            "Baik."
        );
        assert_eq!(
            strip("Oke.\n________________________________\nDari: Layanan\nDikirim: Senin\nKepada: Siti\n"),
            "Oke."
        );
        assert_eq!(strip("Laporan saya.\n\n-- \nSiti Rahmawati\nRT 03"), "Laporan saya.");
        assert_eq!(
            strip("new text\n\n##- Please reply above this line -##\nold"),
            "new text"
        );
    }

    #[test]
    fn trailing_quote_goes_but_inline_answers_stay() {
        assert_eq!(strip("> question?\nanswer\n\n> old\n> more\n"), "> question?\nanswer");
        assert_eq!(strip("> only a quote"), "> only a quote");
    }
}
