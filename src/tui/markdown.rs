//! Markdown (a stage's brief) to styled terminal text: headings, lists, emphasis, inline code
//! and code blocks with a style of their own.

use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span, Text};

use super::theme::Theme;

/// Renders Markdown into lines; wrapping is left to the paragraph that shows them.
pub fn render(markdown: &str, theme: &Theme) -> Text<'static> {
    let mut writer = Writer {
        theme,
        lines: Vec::new(),
        current: Vec::new(),
        styles: vec![Style::default()],
        lists: Vec::new(),
        in_code: false,
    };
    for event in Parser::new_ext(markdown, Options::ENABLE_STRIKETHROUGH) {
        writer.event(event);
    }
    writer.flush();
    Text::from(writer.lines)
}

struct Writer<'t> {
    theme: &'t Theme,
    lines: Vec<Line<'static>>,
    current: Vec<Span<'static>>,
    styles: Vec<Style>,
    /// The lists we are in: `None` for bullets, `Some(n)` for the next number.
    lists: Vec<Option<u64>>,
    in_code: bool,
}

impl Writer<'_> {
    fn style(&self) -> Style {
        self.styles.last().copied().unwrap_or_default()
    }

    fn push_style(&mut self, style: Style) {
        let merged = self.style().patch(style);
        self.styles.push(merged);
    }

    fn pop_style(&mut self) {
        if self.styles.len() > 1 {
            self.styles.pop();
        }
    }

    fn flush(&mut self) {
        if !self.current.is_empty() {
            self.lines
                .push(Line::from(std::mem::take(&mut self.current)));
        }
    }

    fn blank(&mut self) {
        self.flush();
        if self.lines.last().is_some_and(|l| !l.spans.is_empty()) {
            self.lines.push(Line::default());
        }
    }

    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end(tag),
            Event::Text(text) if self.in_code => {
                for line in text.lines() {
                    self.lines.push(Line::from(Span::styled(
                        format!("  {line}"),
                        self.theme.code_block,
                    )));
                }
            }
            Event::Text(text) => self
                .current
                .push(Span::styled(text.into_string(), self.style())),
            Event::Code(code) => self
                .current
                .push(Span::styled(code.into_string(), self.theme.code_inline)),
            Event::SoftBreak => self.current.push(Span::raw(" ")),
            Event::HardBreak => self.flush(),
            Event::Rule => {
                self.blank();
                self.lines
                    .push(Line::from(Span::styled("─".repeat(40), self.theme.dim)));
            }
            _ => {}
        }
    }

    fn start(&mut self, tag: Tag<'_>) {
        match tag {
            Tag::Heading { level, .. } => {
                self.blank();
                let style = if level == HeadingLevel::H1 {
                    self.theme.title
                } else {
                    self.theme.heading
                };
                self.push_style(style);
            }
            Tag::Paragraph if self.lists.is_empty() => {
                self.blank();
            }
            // The fence's language ("rust", "text") is for renderers, not for the learner.
            Tag::CodeBlock(_) => {
                self.blank();
                self.in_code = true;
            }
            Tag::List(start) => {
                if self.lists.is_empty() {
                    self.blank();
                } else {
                    self.flush();
                }
                self.lists.push(start);
            }
            Tag::Item => {
                self.flush();
                let depth = self.lists.len().saturating_sub(1);
                let marker = match self.lists.last_mut() {
                    Some(Some(n)) => {
                        let marker = format!("{n}. ");
                        *n += 1;
                        marker
                    }
                    _ => "• ".to_owned(),
                };
                self.current.push(Span::styled(
                    format!("{}{marker}", "  ".repeat(depth)),
                    self.theme.dim,
                ));
            }
            Tag::Emphasis => self.push_style(Style::default().add_modifier(Modifier::ITALIC)),
            Tag::Strong => self.push_style(Style::default().add_modifier(Modifier::BOLD)),
            Tag::Strikethrough => {
                self.push_style(Style::default().add_modifier(Modifier::CROSSED_OUT))
            }
            Tag::BlockQuote(_) => {
                self.blank();
                self.push_style(self.theme.dim);
            }
            _ => {}
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Heading(_) => {
                self.pop_style();
                self.flush();
            }
            TagEnd::Paragraph | TagEnd::Item => self.flush(),
            TagEnd::CodeBlock => {
                self.in_code = false;
                self.lines.push(Line::default());
            }
            TagEnd::List(_) => {
                self.flush();
                self.lists.pop();
            }
            TagEnd::Emphasis | TagEnd::Strong | TagEnd::Strikethrough | TagEnd::BlockQuote(_) => {
                self.pop_style()
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(text: &Text<'_>) -> Vec<String> {
        text.lines
            .iter()
            .map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect())
            .collect()
    }

    #[test]
    fn headings_lists_and_code_blocks_render_with_their_own_styles() {
        let theme = Theme::new(false);
        let md = "# Stage\n\n## Plan\n\nKeep *every* write.\n\n- one `set`\n- two\n\n1. first\n2. second\n\n```rust\nlet x = 1;\n```\n";
        let text = render(md, &theme);
        let lines = plain(&text);
        assert!(lines.contains(&"Plan".to_owned()), "{lines:#?}");
        assert!(
            lines.contains(&"Keep every write.".to_owned()),
            "{lines:#?}"
        );
        assert!(lines.contains(&"• one set".to_owned()), "{lines:#?}");
        assert!(lines.contains(&"2. second".to_owned()), "{lines:#?}");
        assert!(lines.contains(&"  let x = 1;".to_owned()), "{lines:#?}");
        assert!(
            !lines.iter().any(|l| l.trim() == "rust"),
            "the fence's label is not text: {lines:#?}"
        );
        let code = text
            .lines
            .iter()
            .find(|l| plain(&Text::from(vec![(*l).clone()]))[0] == "  let x = 1;")
            .unwrap();
        assert_eq!(code.spans[0].style, theme.code_block);
        let heading = text
            .lines
            .iter()
            .find(|l| l.spans.first().is_some_and(|s| s.content == "Plan"))
            .unwrap();
        assert_eq!(heading.spans[0].style, theme.heading);
    }

    #[test]
    fn without_colour_styles_keep_no_colours() {
        let theme = Theme::new(true);
        let text = render("## Plan\n\n`code`\n\n```\nblock\n```\n", &theme);
        for line in &text.lines {
            for span in &line.spans {
                assert_eq!((span.style.fg, span.style.bg), (None, None), "{span:?}");
            }
        }
    }
}
