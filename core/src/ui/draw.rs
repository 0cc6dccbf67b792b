//! The [`Frame`] drawn with `embedded-graphics` on any `DrawTarget`: a 320x240 colour display
//! or a 128x64 monochrome one, in the crate's built-in mono fonts (no allocator).
//!
//! Layout, top to bottom: the state line with its timer, the body rows, the message line, the
//! four softkey labels.

use embedded_graphics::mono_font::ascii::{FONT_4X6, FONT_6X10};
use embedded_graphics::mono_font::{MonoFont, MonoTextStyle};
use embedded_graphics::pixelcolor::{BinaryColor, Rgb565};
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::{PrimitiveStyle, Rectangle};
use embedded_graphics::text::{Baseline, Text};

use super::{Frame, LineStyle};

/// The colours of a display.
pub trait Palette: PixelColor {
    /// Background.
    const BACKGROUND: Self;
    /// Text.
    const TEXT: Self;
    /// Headings and the state line's text.
    const TITLE: Self;
    /// Hints.
    const DIM: Self;
    /// The state line's and softkeys' background.
    const BAR: Self;
    /// Text on a bar.
    const BAR_TEXT: Self;
    /// The message line's text.
    const MESSAGE: Self;
}

impl Palette for Rgb565 {
    const BACKGROUND: Self = Rgb565::BLACK;
    const TEXT: Self = Rgb565::WHITE;
    const TITLE: Self = Rgb565::CYAN;
    const DIM: Self = Rgb565::new(16, 32, 16);
    const BAR: Self = Rgb565::new(4, 16, 12);
    const BAR_TEXT: Self = Rgb565::WHITE;
    const MESSAGE: Self = Rgb565::YELLOW;
}

impl Palette for BinaryColor {
    const BACKGROUND: Self = BinaryColor::Off;
    const TEXT: Self = BinaryColor::On;
    const TITLE: Self = BinaryColor::On;
    const DIM: Self = BinaryColor::On;
    const BAR: Self = BinaryColor::On;
    const BAR_TEXT: Self = BinaryColor::Off;
    const MESSAGE: Self = BinaryColor::On;
}

/// The font for a display `width` pixels wide: 6x10 from 240 pixels on, else 4x6.
pub fn font_for(width: u32) -> &'static MonoFont<'static> {
    if width >= 240 {
        &FONT_6X10
    } else {
        &FONT_4X6
    }
}

fn row_height(font: &MonoFont<'_>) -> u32 {
    font.character_size
        .height
        .saturating_add(if font.character_size.height >= 10 {
            4
        } else {
            0
        })
}

/// Body rows that fit a display of `size` (what [`super::Screen::new`] takes).
pub fn body_rows(size: Size) -> usize {
    let h = row_height(font_for(size.width));
    let rows = (size.height / h.max(1)).saturating_sub(3);
    usize::try_from(rows).unwrap_or(0)
}

/// Draw `frame` over the whole of `target`.
pub fn draw<D, C>(frame: &Frame, target: &mut D) -> Result<(), D::Error>
where
    D: DrawTarget<Color = C>,
    C: Palette,
{
    let area = target.bounding_box();
    let size = area.size;
    let font = font_for(size.width);
    let h = row_height(font);
    let hi = i32::try_from(h).unwrap_or(i32::MAX);
    let pad = hi.saturating_sub(i32::try_from(font.character_size.height).unwrap_or(0)) / 2;
    let top = area.top_left;
    target.clear(C::BACKGROUND)?;
    let bar = |y: i32| Rectangle::new(Point::new(top.x, y), Size::new(size.width, h));
    let style = |color: C| MonoTextStyle::new(font, color);
    let text_at = |t: &mut D, s: &str, x: i32, y: i32, color: C| {
        Text::with_baseline(
            s,
            Point::new(x, y.saturating_add(pad)),
            style(color),
            Baseline::Top,
        )
        .draw(t)
        .map(|_| ())
    };
    let char_w = i32::try_from(font.character_size.width).unwrap_or(1);
    let width = i32::try_from(size.width).unwrap_or(i32::MAX);
    // State line.
    bar(top.y)
        .into_styled(PrimitiveStyle::with_fill(C::BAR))
        .draw(target)?;
    text_at(
        target,
        &frame.status,
        top.x.saturating_add(2),
        top.y,
        C::BAR_TEXT,
    )?;
    let timer_len = i32::try_from(frame.timer.len()).unwrap_or(0);
    let timer_x = top
        .x
        .saturating_add(width)
        .saturating_sub(timer_len.saturating_mul(char_w))
        .saturating_sub(2);
    text_at(target, &frame.timer, timer_x, top.y, C::BAR_TEXT)?;
    // Body.
    let mut y = top.y.saturating_add(hi);
    for line in &frame.body {
        let color = match line.style {
            LineStyle::Title => C::TITLE,
            LineStyle::Text => C::TEXT,
            LineStyle::Dim => C::DIM,
            LineStyle::Selected => {
                bar(y)
                    .into_styled(PrimitiveStyle::with_fill(C::TEXT))
                    .draw(target)?;
                C::BACKGROUND
            }
        };
        text_at(target, &line.text, top.x.saturating_add(2), y, color)?;
        y = y.saturating_add(hi);
    }
    // Message and softkeys at the bottom.
    let bottom = top
        .y
        .saturating_add(i32::try_from(size.height).unwrap_or(0));
    let keys_y = bottom.saturating_sub(hi);
    let message_y = keys_y.saturating_sub(hi);
    text_at(
        target,
        &frame.message,
        top.x.saturating_add(2),
        message_y,
        C::MESSAGE,
    )?;
    bar(keys_y)
        .into_styled(PrimitiveStyle::with_fill(C::BAR))
        .draw(target)?;
    let quarter = width / 4;
    let mut x = top.x;
    for label in frame.softkeys {
        let len = i32::try_from(label.len())
            .unwrap_or(0)
            .saturating_mul(char_w);
        let start = x.saturating_add(quarter.saturating_sub(len) / 2);
        text_at(target, label, start, keys_y, C::BAR_TEXT)?;
        x = x.saturating_add(quarter);
    }
    Ok(())
}
