//! The order as a PDF, generated in the request from what the portal stored (the same
//! content as the order page: header, lines with their sections and notes, totals, terms),
//! with the portal's and the buying company's names, page numbers, and a footer saying when
//! it was printed and when Odoo last changed the order. Written with printpdf's standard
//! Helvetica (no font files; text outside Windows-1252 prints as `?`). Served by
//! [`download`], scoped like the order page: another supplier's order is not found.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDateTime;
use printpdf::{
    BuiltinFont, Color, Line, LinePoint, Mm, Op, PdfDocument, PdfFontHandle, PdfPage,
    PdfSaveOptions, Point, Pt, Rgb, TextItem,
};
use rust_decimal::Decimal;

use crate::server::auth::CurrentUser;
use crate::server::order_document::OrderHeader;
use crate::server::orders::Order;
use crate::server::problem::Problem;
use crate::server::time::UserClock;
use crate::server::AppState;

/// What the document names the portal as.
pub const PORTAL_NAME: &str = "Millrace supplier portal";

const PAGE_W: f32 = 210.0;
const PAGE_H: f32 = 297.0;
const LEFT: f32 = 15.0;
const RIGHT: f32 = 195.0;
const TOP: f32 = 282.0;
/// Content stops here; the footer lives below.
const BOTTOM: f32 = 22.0;
const BODY: f32 = 8.5;
const LINE: f32 = 4.0;

/// Approximate Helvetica advance widths (in em) for wrapping and right alignment; generous
/// so text never overruns a column.
fn char_em(c: char) -> f32 {
    match c {
        'i' | 'j' | 'l' | '.' | ',' | '\'' | '|' | '!' | ':' | ';' | 'I' | ' ' => 0.28,
        'f' | 't' | 'r' | '(' | ')' | '[' | ']' | '-' | '/' => 0.36,
        'm' | 'w' | 'M' | 'W' | '@' => 0.86,
        c if c.is_ascii_uppercase() => 0.70,
        c if c.is_ascii_digit() => 0.56,
        _ => 0.56,
    }
}

fn width_mm(s: &str, size: f32) -> f32 {
    s.chars().map(char_em).sum::<f32>() * size * 25.4 / 72.0
}

/// Greedy word wrap to `max` mm; words longer than a line are cut.
fn wrap(s: &str, max: f32, size: f32) -> Vec<String> {
    let mut out = Vec::new();
    for paragraph in s.lines() {
        let mut line = String::new();
        for word in paragraph.split_whitespace() {
            let candidate = if line.is_empty() {
                word.to_string()
            } else {
                format!("{line} {word}")
            };
            if width_mm(&candidate, size) <= max {
                line = candidate;
                continue;
            }
            if !line.is_empty() {
                out.push(std::mem::take(&mut line));
            }
            let mut rest = word.to_string();
            while width_mm(&rest, size) > max {
                let mut cut = String::new();
                for c in rest.chars() {
                    if width_mm(&format!("{cut}{c}"), size) > max {
                        break;
                    }
                    cut.push(c);
                }
                if cut.is_empty() {
                    break;
                }
                rest = rest[cut.len()..].to_string();
                out.push(cut);
            }
            line = rest;
        }
        out.push(line);
    }
    if out.is_empty() {
        out.push(String::new());
    }
    out
}

fn grey() -> Color {
    Color::Rgb(Rgb {
        r: 0.4,
        g: 0.4,
        b: 0.4,
        icc_profile: None,
    })
}

fn black() -> Color {
    Color::Rgb(Rgb {
        r: 0.0,
        g: 0.0,
        b: 0.0,
        icc_profile: None,
    })
}

/// Pages being written, top to bottom.
struct Pages {
    done: Vec<Vec<Op>>,
    ops: Vec<Op>,
    y: f32,
    /// Drawn again at the top of each new page while the lines table runs.
    table_header: bool,
}

impl Pages {
    fn new() -> Self {
        Self {
            done: Vec::new(),
            ops: Vec::new(),
            y: TOP,
            table_header: false,
        }
    }

    fn text_at(&mut self, x: f32, y: f32, size: f32, bold: bool, s: &str) {
        let font = if bold {
            BuiltinFont::HelveticaBold
        } else {
            BuiltinFont::Helvetica
        };
        self.ops.extend([
            Op::StartTextSection,
            Op::SetFont {
                font: PdfFontHandle::Builtin(font),
                size: Pt(size),
            },
            Op::SetTextCursor {
                pos: Point::new(Mm(x), Mm(y)),
            },
            Op::ShowText {
                items: vec![TextItem::Text(s.to_string())],
            },
            Op::EndTextSection,
        ]);
    }

    fn right_at(&mut self, right: f32, y: f32, size: f32, bold: bool, s: &str) {
        let x = right - width_mm(s, size);
        self.text_at(x, y, size, bold, s);
    }

    fn rule(&mut self, y: f32) {
        self.ops.extend([
            Op::SetOutlineColor { col: grey() },
            Op::SetOutlineThickness { pt: Pt(0.4) },
            Op::DrawLine {
                line: Line {
                    points: vec![
                        LinePoint {
                            p: Point::new(Mm(LEFT), Mm(y)),
                            bezier: false,
                        },
                        LinePoint {
                            p: Point::new(Mm(RIGHT), Mm(y)),
                            bezier: false,
                        },
                    ],
                    is_closed: false,
                },
            },
        ]);
    }

    /// Makes room for `height` mm, starting a new page if needed.
    fn room(&mut self, height: f32) {
        if self.y - height < BOTTOM {
            self.done.push(std::mem::take(&mut self.ops));
            self.y = TOP;
            if self.table_header {
                self.lines_header();
            }
        }
    }

    fn lines_header(&mut self) {
        let y = self.y;
        self.text_at(LEFT, y, BODY, true, "#");
        self.text_at(22.0, y, BODY, true, "Description");
        self.text_at(104.0, y, BODY, true, "Delivery");
        self.right_at(142.0, y, BODY, true, "Quantity");
        self.right_at(170.0, y, BODY, true, "Unit price");
        self.right_at(RIGHT, y, BODY, true, "Subtotal");
        self.rule(y - 1.5);
        self.y -= LINE + 1.5;
    }

    /// A labelled block of lines in one of two columns, returning the height it took.
    fn block(&mut self, x: f32, y: f32, width: f32, label: &str, lines: &[String]) -> f32 {
        self.text_at(x, y, 7.5, true, label);
        let mut h = LINE;
        for l in lines {
            for w in wrap(l, width, BODY) {
                self.text_at(x, y - h, BODY, false, &w);
                h += LINE;
            }
        }
        h
    }

    fn paragraph(&mut self, x: f32, width: f32, size: f32, bold: bool, text: &str) {
        for l in wrap(text, width, size) {
            self.room(LINE);
            self.text_at(x, self.y, size, bold, &l);
            self.y -= LINE;
        }
    }

    fn finish(mut self) -> Vec<Vec<Op>> {
        self.done.push(self.ops);
        self.done
    }
}

fn or_not_set(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "not set".to_string())
}

fn lines_of(v: &Option<String>) -> Vec<String> {
    v.as_deref()
        .map(|s| s.lines().map(String::from).collect())
        .unwrap_or_default()
}

/// The order as PDF bytes, its times (`printed_at` and the stored ones, UTC) in `clock`'s zone.
pub fn render(h: &OrderHeader, d: &Order, clock: &UserClock, printed_at: NaiveDateTime) -> Vec<u8> {
    let printed_at = clock.at(printed_at);
    let odoo_changed_at = clock.at(h.odoo_changed_at);
    let mut p = Pages::new();
    let company = h.company_name.clone().unwrap_or_default();
    // Title and the two parties.
    p.text_at(
        LEFT,
        p.y,
        16.0,
        true,
        &format!("Purchase Order {}", h.order_name),
    );
    p.right_at(RIGHT, p.y, 8.0, false, PORTAL_NAME);
    p.y -= 9.0;
    let mut buyer = vec![company.clone()];
    buyer.extend(lines_of(&h.company_address));
    if let Some(vat) = &h.company_vat {
        buyer.push(format!("VAT {vat}"));
    }
    buyer.retain(|l| !l.is_empty());
    let mut ship = vec![or_not_set(&h.ship_to_name)];
    ship.extend(lines_of(&h.ship_to_address));
    let left = p.block(LEFT, p.y, 85.0, "ORDERED BY", &buyer);
    let right = p.block(110.0, p.y, 85.0, &h.ship_to_label().to_uppercase(), &ship);
    p.y -= left.max(right) + 3.0;
    let mut contact = vec![h.buyer_name.clone()];
    contact.extend(h.buyer_email.clone());
    contact.extend(h.buyer_phone.clone());
    let vendor = vec![
        d.supplier_name.clone(),
        format!("Your reference: {}", or_not_set(&h.partner_ref)),
    ];
    let left = p.block(LEFT, p.y, 85.0, "BUYER", &contact);
    let right = p.block(110.0, p.y, 85.0, "SUPPLIER", &vendor);
    p.y -= left.max(right) + 3.0;
    let incoterm = match (&h.incoterm, &h.incoterm_location) {
        (Some(i), Some(l)) => format!("{i}, {l}"),
        (Some(i), None) => i.clone(),
        (None, Some(l)) => format!("not set ({l})"),
        (None, None) => "not set".into(),
    };
    let terms = [
        ("Order date", clock.opt_at(d.date_order).unwrap_or_default()),
        ("Payment terms", or_not_set(&h.payment_terms)),
        ("Incoterm", incoterm),
        ("Currency", h.currency.clone()),
    ];
    for (i, (label, value)) in terms.iter().enumerate() {
        let x = LEFT + 45.0 * i as f32;
        p.text_at(x, p.y, 7.5, true, &label.to_uppercase());
        for (k, w) in wrap(value, 43.0, BODY).iter().enumerate().take(2) {
            p.text_at(x, p.y - LINE * (k + 1) as f32, BODY, false, w);
        }
    }
    p.y -= 3.0 * LINE + 3.0;

    // The lines, with section and note lines where Odoo puts them.
    p.room(3.0 * LINE);
    p.table_header = true;
    p.lines_header();
    let notes_after = |after: Option<i64>| {
        h.note_lines
            .iter()
            .filter(move |n| n.after_line == after)
            .collect::<Vec<_>>()
    };
    let write_notes = |p: &mut Pages, after: Option<i64>| {
        for n in notes_after(after) {
            let (x, bold) = if n.section {
                (LEFT, true)
            } else {
                (22.0, false)
            };
            p.paragraph(x, RIGHT - x, BODY, bold, &n.text);
        }
    };
    write_notes(&mut p, None);
    let mut untaxed = Decimal::ZERO;
    for (i, l) in d.lines.iter().filter(|l| !l.removed_in_odoo).enumerate() {
        let mut desc = wrap(&l.description, 80.0, BODY);
        if !l.vendor_code.is_empty() {
            desc.push(format!("Your code: {}", l.vendor_code));
        }
        p.room(LINE * desc.len() as f32 + 1.0);
        let y = p.y;
        let price = l.price_unit;
        let subtotal = (l.quantity * price).round_dp(2);
        untaxed += subtotal;
        p.text_at(LEFT, y, BODY, false, &(i + 1).to_string());
        for (k, w) in desc.iter().enumerate() {
            p.text_at(22.0, y - LINE * k as f32, BODY, false, w);
        }
        let day = l.date_planned.map(|d| clock.day(d)).unwrap_or_default();
        p.text_at(104.0, y, BODY, false, &day);
        p.right_at(
            142.0,
            y,
            BODY,
            false,
            &format!("{} {}", l.quantity.normalize(), l.uom),
        );
        p.right_at(170.0, y, BODY, false, &price.normalize().to_string());
        p.right_at(RIGHT, y, BODY, false, &format!("{subtotal:.2}"));
        p.y -= LINE * desc.len() as f32 + 1.0;
        write_notes(&mut p, Some(l.id));
    }
    p.table_header = false;

    // Totals.
    p.room(4.0 * LINE);
    p.rule(p.y + 2.0);
    p.y -= 1.0;
    let untaxed = h
        .amount_untaxed
        .map(|a| a.to_string())
        .unwrap_or_else(|| format!("{untaxed:.2}"));
    let mut totals = vec![("Untaxed amount", untaxed)];
    if let Some(tax) = h.amount_tax {
        totals.push(("Taxes", tax.to_string()));
    }
    totals.push(("Total", format!("{} {}", h.amount_total, h.currency)));
    for (label, value) in totals {
        let bold = label == "Total";
        p.right_at(165.0, p.y, BODY, bold, label);
        p.right_at(RIGHT, p.y, BODY, bold, &value);
        p.y -= LINE;
    }
    if let Some(notes) = &h.notes {
        p.y -= 3.0;
        p.room(2.0 * LINE);
        p.text_at(LEFT, p.y, 7.5, true, "TERMS AND CONDITIONS");
        p.y -= LINE;
        p.paragraph(LEFT, RIGHT - LEFT, BODY, false, notes);
    }

    let pages = p.finish();
    let count = pages.len();
    let footer_left = if company.is_empty() {
        PORTAL_NAME.to_string()
    } else {
        format!("{company} · {PORTAL_NAME}")
    };
    let pages: Vec<PdfPage> = pages
        .into_iter()
        .enumerate()
        .map(|(i, mut ops)| {
            let mut f = Pages::new();
            f.ops.push(Op::SetFillColor { col: grey() });
            f.text_at(LEFT, 12.0, 7.0, false, &footer_left);
            f.text_at(
                LEFT,
                8.5,
                7.0,
                false,
                &format!(
                    "{} · printed {printed_at} · last changed in Odoo {}",
                    h.order_name, odoo_changed_at
                ),
            );
            f.right_at(
                RIGHT,
                8.5,
                7.0,
                false,
                &format!("Page {} of {count}", i + 1),
            );
            f.ops.push(Op::SetFillColor { col: black() });
            ops.extend(f.ops);
            PdfPage::new(Mm(PAGE_W), Mm(PAGE_H), ops)
        })
        .collect();
    let mut warnings = Vec::new();
    PdfDocument::new(&format!("Purchase Order {}", h.order_name))
        .with_pages(pages)
        .save(&PdfSaveOptions::default(), &mut warnings)
}

/// A file name for the order: its number, with anything but letters, digits, `-`, `_` and
/// `.` replaced.
pub fn file_name(order_name: &str) -> String {
    let safe: String = order_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{safe}.pdf")
}

/// `GET /orders/{id}/pdf`: the order as a PDF download, for its supplier and staff.
pub async fn download(
    State(state): State<AppState>,
    Path(id): Path<String>,
    user: Option<axum::Extension<CurrentUser>>,
) -> Response {
    let Some(axum::Extension(user)) = user else {
        return Redirect::to("/login").into_response();
    };
    let not_found = || Problem::not_found("No such order among yours.").into_response();
    let Ok(id) = id.parse::<i64>() else {
        return not_found();
    };
    let header = crate::server::order_document::header(&state.db, &user, id, false).await;
    let detail =
        crate::server::orders::detail(&state.db, &user, id, state.settings.tolerance).await;
    let (h, d) = match (header, detail) {
        (Ok(Some(h)), Ok(Some(d))) => (h, d),
        (Ok(_), Ok(_)) => return not_found(),
        (Err(e), _) | (_, Err(e)) => {
            return Problem::internal(format_args!("order pdf: {e}")).into_response()
        }
    };
    let clock = user.clock();
    let printed_at = chrono::Utc::now().naive_utc();
    let name = file_name(&h.order_name);
    let bytes = match tokio::task::spawn_blocking(move || render(&h, &d, &clock, printed_at)).await
    {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, "order pdf rendering panicked");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    (
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
            (header::CACHE_CONTROL, "private, no-store".to_string()),
        ],
        Body::from(bytes),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_keeps_every_word_and_fits_the_width() {
        let text = "Oak Panel 18mm for the reception desk, cut to size, edges banded white";
        let lines = wrap(text, 30.0, BODY);
        assert!(lines.len() > 1);
        assert!(lines.iter().all(|l| width_mm(l, BODY) <= 30.0));
        assert_eq!(lines.join(" "), text);
        let long = wrap(&"X".repeat(80), 20.0, BODY);
        assert_eq!(long.concat(), "X".repeat(80));
    }

    #[test]
    fn file_names_are_the_order_number() {
        assert_eq!(file_name("P00012"), "P00012.pdf");
        assert_eq!(file_name("PO/2026\"1"), "PO_2026_1.pdf");
    }
}
