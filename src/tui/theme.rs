//! The TUI's styles, with a colourless variant for `NO_COLOR`.

use ratatui::style::{Color, Modifier, Style};

/// Every style the view uses, in one place so `NO_COLOR` can take the colours out of all of them.
#[derive(Debug, Clone)]
pub struct Theme {
    pub title: Style,
    pub heading: Style,
    pub dim: Style,
    pub code_inline: Style,
    pub code_block: Style,
    pub pass: Style,
    pub fail: Style,
    pub warn: Style,
    pub key: Style,
    pub selected: Style,
    pub gauge: Style,
    pub border_focus: Style,
}

impl Theme {
    pub fn new(no_color: bool) -> Self {
        let colour = |style: Style, fg: Color| if no_color { style } else { style.fg(fg) };
        Self {
            title: colour(Style::default().add_modifier(Modifier::BOLD), Color::Cyan),
            heading: colour(Style::default().add_modifier(Modifier::BOLD), Color::Yellow),
            dim: colour(Style::default().add_modifier(Modifier::DIM), Color::Gray),
            code_inline: colour(
                Style::default().add_modifier(Modifier::BOLD),
                Color::LightMagenta,
            ),
            code_block: colour(Style::default(), Color::LightGreen),
            pass: colour(Style::default().add_modifier(Modifier::BOLD), Color::Green),
            fail: colour(Style::default().add_modifier(Modifier::BOLD), Color::Red),
            warn: colour(Style::default(), Color::Yellow),
            key: colour(Style::default().add_modifier(Modifier::BOLD), Color::Cyan),
            selected: Style::default().add_modifier(Modifier::REVERSED),
            gauge: colour(Style::default(), Color::Green),
            border_focus: colour(Style::default().add_modifier(Modifier::BOLD), Color::Cyan),
        }
    }
}
